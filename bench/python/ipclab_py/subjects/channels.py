"""Channel subjects: multiprocessing's message carriers.

Every subject gives endpoints with send(bytes) and recv() -> bytes for the
channel workloads (pingpong, stream, fanout, fanin).  Objects are created
by the driver before its workers fork; attach()/detach() run in a worker.
"""

import queue as queue_mod

from multiprocessing import resource_tracker, shared_memory

from ipclab_py import team, waits
from ipclab_py.errors import CaseFailed

CHANNEL_WORKLOADS = ("pingpong", "stream", "fanout", "fanin")


class Endpoint:
	"""One process's end of a channel."""

	def attach(self):
		pass

	def detach(self):
		pass


class ChannelSubject:
	family = "channel"
	waits = ("block", "spin")
	workloads = CHANNEL_WORKLOADS
	shared = True		# several senders / receivers on one channel

	def skip_reason(self, workload, wait, pool):
		if workload not in self.workloads:
			return "%s does not run %s" % (self.name, workload)
		if wait not in self.waits:
			return "%s has no %s wait" % (self.name, wait)
		if not self.shared and workload in ("fanout", "fanin"):
			return "%s has one sender and one receiver per channel" \
				% self.name
		return None

	def pair(self, case):
		"""Two endpoints: process 0's and process 1's (a round trip)."""
		a = self.channel(case, 1, 1)
		b = self.channel(case, 1, 1)
		return (Joined(a.tx, b.rx), Joined(b.tx, a.rx)), [a, b]

	def workers_attached(self, chans):
		"""Called by the driver once every worker has attached."""


class Joined(Endpoint):
	"""Send on one channel, receive on another (pingpong over one-way
	channels)."""

	def __init__(self, tx, rx):
		self.tx, self.rx = tx, rx
		self.send = tx.send
		self.recv = rx.recv

	def attach(self):
		self.tx.attach()
		self.rx.attach()
		self.send, self.recv = self.tx.send, self.rx.recv

	def detach(self):
		self.tx.detach()
		self.rx.detach()


# --- py-pipe: mp.Pipe (duplex: a socketpair; one-way: os.pipe) ---

class ConnEnd(Endpoint):
	def __init__(self, conn, case):
		self.conn = conn
		self.send = conn.send_bytes
		t = case.timeout_s
		poll, recv = conn.poll, conn.recv_bytes
		if case.wait == "spin":
			def once():
				return True if poll(0) else None

			def rx():
				if not poll(0):
					waits.spin_call(once, t, "Connection.poll(0)")
				return recv()
		else:
			def rx():
				if not poll(t):
					raise waits.timed_out("Connection.recv_bytes", t)
				return recv()
		self.recv = rx


class PipeChan:
	def __init__(self, case, duplex):
		a, b = case.ctx.Pipe(duplex)
		self.conns = (a, b)
		# Pipe(False) gives (reader, writer).
		self.rx, self.tx = ConnEnd(a, case), ConnEnd(b, case)

	def close(self):
		for c in self.conns:
			c.close()


class PyPipe(ChannelSubject):
	name = "py-pipe"
	summary = "multiprocessing.Pipe: duplex (socketpair) for pingpong, " \
		  "duplex=False (os.pipe) for stream; send_bytes/recv_bytes"
	workloads = ("pingpong", "stream")
	shared = False

	def channel(self, case, senders, receivers):
		return PipeChan(case, False)

	def pair(self, case):
		ch = PipeChan(case, True)
		return (ch.rx, ch.tx), [ch]


# --- the queues ---

class QueueEnd(Endpoint):
	def __init__(self, q, case, task_done=False):
		t = case.timeout_s
		self.send = q.put
		if case.wait == "spin":
			def rx():
				return waits.queue_get_spin(q, t, "get_nowait")
		else:
			def rx():
				return waits.queue_get_block(q, t, "get")
		if task_done:
			inner, done = rx, q.task_done

			def rx():	# noqa: F811 - wraps the one above
				m = inner()
				done()
				return m
		self.recv = rx


class QueueChan:
	def __init__(self, q, case, task_done=False):
		self.q = q
		self.tx = self.rx = QueueEnd(q, case, task_done)

	def close(self):
		q = self.q
		if hasattr(q, "cancel_join_thread"):
			q.cancel_join_thread()	# a dead reader must not hang us
		if hasattr(q, "close"):
			q.close()


class PyQueue(ChannelSubject):
	name = "py-queue"
	summary = "multiprocessing.Queue: put/get (block: get(True, T); spin: " \
		  "get_nowait); a feeder thread pickles and writes an os.pipe"

	def channel(self, case, senders, receivers):
		return QueueChan(case.ctx.Queue(), case)


class PyJoinableQueue(ChannelSubject):
	name = "py-joinablequeue"
	summary = "multiprocessing.JoinableQueue: Queue plus task_done() " \
		  "after every get"

	def channel(self, case, senders, receivers):
		return QueueChan(case.ctx.JoinableQueue(), case, task_done=True)


class SimpleEnd(Endpoint):
	def __init__(self, q):
		self.send = q.put
		self.recv = q.get	# no timeout: the driver's watchdog guards it


class SimpleChan:
	def __init__(self, q):
		self.q = q
		self.tx = self.rx = SimpleEnd(q)

	def close(self):
		self.q.close()


class PySimpleQueue(ChannelSubject):
	name = "py-simplequeue"
	summary = "multiprocessing.SimpleQueue: put/get straight on an os.pipe " \
		  "under a lock, no feeder thread (get has no timeout: the " \
		  "driver's watchdog and the parent-death signal guard it)"
	waits = ("block",)

	def channel(self, case, senders, receivers):
		return SimpleChan(case.ctx.SimpleQueue())


class ManagerChan(QueueChan):
	def __init__(self, manager, case):
		super().__init__(manager.Queue(), case)

	def close(self):
		pass	# the proxy goes with its manager


class ManagerHolder:
	"""The manager of a case: started by the driver (beside it), shut down
	when the case closes."""

	def __init__(self, case):
		self.manager = case.ctx.Manager()
		team.pin(case.cpus[0], self.manager._process.pid)

	def close(self):
		self.manager.shutdown()


class PyManagerQueue(ChannelSubject):
	name = "py-manager-queue"
	summary = "multiprocessing.Manager().Queue(): a proxy; every put and " \
		  "get is an RPC to the manager's server process"

	def channel(self, case, senders, receivers):
		holder = case.resources.get("manager")
		if holder is None:
			holder = case.resources["manager"] = ManagerHolder(case)
		return ManagerChan(holder.manager, case)


# --- py-shm: SharedMemory ring plus a token ---

SHM_SLOTS = 8


class ShmEnd(Endpoint):
	"""One end of a ring of SHM_SLOTS message slots in a SharedMemory
	segment; the tokens are two semaphores (filled and free slots)."""

	def __init__(self, chan, case, sending):
		self.chan, self.case, self.sending = chan, case, sending
		self.shm = None
		self._bind(chan.shm)

	def _bind(self, shm):
		self.shm = shm
		buf, size, t = shm.buf, self.case.size, self.case.timeout_s
		take = self.chan.free if self.sending else self.chan.filled
		give = self.chan.filled if self.sending else self.chan.free
		if self.case.wait == "spin":
			def wait(what):
				waits.spin_acquire(take, t, what)
		else:
			def wait(what):
				waits.block_acquire(take, t, what)
		pos = [0]

		def send(m):
			wait("free slot")
			off = (pos[0] % SHM_SLOTS) * size
			buf[off:off + size] = m
			pos[0] += 1
			give.release()

		def recv():
			wait("filled slot")
			off = (pos[0] % SHM_SLOTS) * size
			m = bytes(buf[off:off + size])
			pos[0] += 1
			give.release()
			return m
		self.send, self.recv = send, recv

	def attach(self):
		# Attach by name like any other process would.  Python 3.11
		# registers every attaching process with the resource tracker
		# (which would unlink the segment when this worker exits):
		# unregister; the driver that created it unlinks it.
		shm = shared_memory.SharedMemory(name=self.chan.shm.name)
		resource_tracker.unregister(shm._name, "shared_memory")
		self._bind(shm)

	def detach(self):
		if self.shm is not self.chan.shm:
			self.send = self.recv = None
			self.shm.close()


class ShmChan:
	def __init__(self, case):
		self.shm = shared_memory.SharedMemory(create=True,
						      size=SHM_SLOTS * case.size)
		self.filled = case.ctx.Semaphore(0)
		self.free = case.ctx.Semaphore(SHM_SLOTS)
		self.tx = ShmEnd(self, case, True)
		self.rx = ShmEnd(self, case, False)

	def close(self):
		self.tx.send = self.tx.recv = self.rx.send = self.rx.recv = None
		self.tx._bind = self.rx._bind = None
		self.shm.close()
		self.shm.unlink()


class PyShm(ChannelSubject):
	name = "py-shm"
	summary = "multiprocessing.shared_memory.SharedMemory: a ring of %d " \
		  "slots, each message copied in and out, a Semaphore post as " \
		  "the token (spin: acquire(False) loop)" % SHM_SLOTS
	workloads = ("pingpong", "stream")
	shared = False

	def channel(self, case, senders, receivers):
		ch = ShmChan(case)
		# The resource tracker (started by the first SharedMemory) runs
		# beside the driver that owns the segment.
		team.pin(case.cpus[0], resource_tracker._resource_tracker._pid)
		return ch

	def workers_attached(self, chans):
		# Forked workers share the driver's tracker: their register was a
		# no-op and their unregister removed the driver's entry.  Register
		# it again (the tracker reads one pipe in order) so that the
		# driver's unlink, or the tracker after a SIGKILL of the driver,
		# removes the segment.
		for ch in chans:
			resource_tracker.register(ch.shm._name, "shared_memory")


def check_header(m, size, expect_seq, what="message"):
	if len(m) != size:
		raise CaseFailed("%s %d: %d bytes, not %d" %
				 (what, expect_seq, len(m), size))


SUBJECTS = [PyPipe(), PyQueue(), PySimpleQueue(), PyJoinableQueue(),
	    PyManagerQueue(), PyShm()]
