"""Sync subjects: multiprocessing's locks, semaphores, events, conditions,
barriers and shared values.

handoff_pair(case) gives two sides: the driver's initiate() wakes the
worker and waits to be woken back, the worker's respond() does the
reverse (one round trip).  lock(case) gives acquire/release for contend;
counter(case) gives add() (one guarded increment) and value() for counter.
"""

from ipclab_py import waits

SYNC_WAITS = ("block", "spin")


def acquirer(lk, case, what):
	t = case.timeout_s
	if case.wait == "spin":
		return lambda: waits.spin_acquire(lk, t, what)
	acq = lk.acquire

	def block():
		if not acq(True, t):
			raise waits.timed_out(what, t)
	return block


class Side:
	def __init__(self, go):
		self.go = go


class Guard:
	"""acquire()/release() of a lock under the case's wait."""

	def __init__(self, lk, case, what):
		self.acquire = acquirer(lk, case, what)
		self.release = lk.release


class Counter:
	"""One shared integer and the lock that guards it."""

	def __init__(self, case, lk, cell, what):
		g = Guard(lk, case, what)
		acq, rel = g.acquire, g.release
		self.cell = cell

		def add():
			acq()
			cell.value += 1
			rel()
		self.add = add

	def value(self):
		return self.cell.value


class SyncSubject:
	family = "sync"
	waits = SYNC_WAITS
	workloads = ()
	no_spin = ()		# workloads without a non-blocking form

	def skip_reason(self, workload, wait, pool):
		if workload not in self.workloads:
			return "%s does not run %s" % (self.name, workload)
		if wait not in self.waits or (wait == "spin" and
					      workload in self.no_spin):
			return "%s has no non-blocking form for %s" % (
				self.name, workload)
		return None

	def lock(self, case):
		return Guard(self.make_lock(case), case, "%s.acquire" % self.name)

	def counter(self, case):
		return Counter(case, self.make_lock(case),
			       case.ctx.RawValue("q", 0),
			       "%s.acquire" % self.name)


def _binary_pair(case, make, what):
	"""Handoff over two binary semaphores a (0 -> 1) and b (1 -> 0)."""
	a, b = make(), make()
	ta, tb = acquirer(a, case, what), acquirer(b, case, what)
	post_a, post_b = a.release, b.release

	def initiate():
		post_a()
		tb()

	def respond():
		ta()
		post_b()
	return Side(initiate), Side(respond)


class PyLock(SyncSubject):
	name = "py-lock"
	summary = "multiprocessing.Lock (a POSIX named semaphore of value 1, " \
		  "unlinked at once under fork)"
	workloads = ("handoff", "contend", "counter")

	def make_lock(self, case):
		return case.ctx.Lock()

	def handoff_pair(self, case):
		def held():
			lk = case.ctx.Lock()
			lk.acquire()	# a Lock is released by any process
			return lk
		return _binary_pair(case, held, "Lock.acquire")


class PyRLock(SyncSubject):
	name = "py-rlock"
	summary = "multiprocessing.RLock (owner-checked: no hand-off)"
	workloads = ("contend", "counter")

	def make_lock(self, case):
		return case.ctx.RLock()


class PySemaphore(SyncSubject):
	name = "py-semaphore"
	summary = "multiprocessing.Semaphore: post/wait hand-off; value 1 as a " \
		  "lock"
	workloads = ("handoff", "contend", "counter")

	def make_lock(self, case):
		return case.ctx.Semaphore(1)

	def handoff_pair(self, case):
		return _binary_pair(case, lambda: case.ctx.Semaphore(0),
				    "Semaphore.acquire")


class PyEvent(SyncSubject):
	name = "py-event"
	summary = "multiprocessing.Event: set / wait / clear, two events " \
		  "(spin: is_set loop)"
	workloads = ("handoff",)

	def handoff_pair(self, case):
		t = case.timeout_s
		a, b = case.ctx.Event(), case.ctx.Event()

		def waiter(e):
			if case.wait == "spin":
				is_set = e.is_set

				def spin():
					if not is_set():
						waits.spin_call(
							lambda: True if is_set() else None,
							t, "Event.is_set")
				return spin

			def block():
				if not e.wait(t):
					raise waits.timed_out("Event.wait", t)
			return block
		wa, wb = waiter(a), waiter(b)

		def initiate():
			a.set()
			wb()
			b.clear()

		def respond():
			wa()
			a.clear()
			b.set()
		return Side(initiate), Side(respond)


class PyCondition(SyncSubject):
	name = "py-condition"
	summary = "multiprocessing.Condition: notify / wait_for on a shared " \
		  "turn; its lock for contend"
	workloads = ("handoff", "contend", "counter")
	no_spin = ("handoff",)

	def make_lock(self, case):
		return case.ctx.Condition()

	def handoff_pair(self, case):
		t = case.timeout_s
		cond = case.ctx.Condition()
		turn = case.ctx.RawValue("i", 0)

		def pass_to(me, other):
			def go():
				with cond:
					turn.value = other
					cond.notify()
					if not cond.wait_for(lambda: turn.value == me, t):
						raise waits.timed_out("Condition.wait", t)
			return go

		def respond():
			with cond:
				if not cond.wait_for(lambda: turn.value == 1, t):
					raise waits.timed_out("Condition.wait", t)
				turn.value = 0
				cond.notify()
		return Side(pass_to(0, 1)), Side(respond)


class PyBarrier(SyncSubject):
	name = "py-barrier"
	summary = "multiprocessing.Barrier(2): one hand-off sample is two " \
		  "crossings (each wakes the side that arrived first)"
	workloads = ("handoff",)
	no_spin = ("handoff",)

	def handoff_pair(self, case):
		t = case.timeout_s
		bar = case.ctx.Barrier(2, timeout=t)

		def cross_twice():
			try:
				bar.wait()
				bar.wait()
			except Exception as e:	# BrokenBarrierError
				raise waits.timed_out("Barrier.wait (%s)" %
						      type(e).__name__, t) from None
		return Side(cross_twice), Side(cross_twice)


class PyValue(SyncSubject):
	name = "py-value"
	summary = "multiprocessing.Value('q', lock=True): " \
		  "with v.get_lock(): v.value += 1"
	workloads = ("contend", "counter")

	def make_lock(self, case):
		return case.ctx.Value("q", 0).get_lock()

	def counter(self, case):
		v = case.ctx.Value("q", 0)
		return Counter(case, v.get_lock(), v, "Value.get_lock().acquire")


SUBJECTS = [PyLock(), PyRLock(), PySemaphore(), PyEvent(), PyCondition(),
	    PyBarrier(), PyValue()]
