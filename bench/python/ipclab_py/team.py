"""team.py - the worker processes of one case.

Process 0 of every case is the driver itself (pinned to the case's first
CPU while the case runs); processes 1..N are workers started here with the
case's context, each pinned to its CPU before it touches the subject, made
to die with the driver (PR_SET_PDEATHSIG), and driven by commands over a
private control pipe.  While the driver takes part in a round, a watchdog
(SIGALRM every WATCH_SLICE_S) fails the round as soon as a worker has died
or the round has run past its timeout, so no blocking call of the driver
can hang a run; every wait a worker makes has the case's timeout.
"""

import ctypes
import os
import re
import signal
import time

from ipclab_py.errors import CaseFailed

PR_SET_PDEATHSIG = 1
# How often the driver's watchdog looks at its workers and its deadline.
WATCH_SLICE_S = 0.2
# A worker gives up waiting for its next command after this many timeouts
# (the driver between two rounds only computes percentiles).
IDLE_TIMEOUTS = 3
# Environment variable "kill-worker:REGEX": worker 1 of every case whose
# name REGEX matches kills itself with SIGKILL when its second round starts
# (tests/python.t uses it).
FAULT_ENV = "IPCLAB_PY_FAULT"


def pin(cpu, tid=0):
	"""Bind thread or process tid (0: the calling thread) to one CPU;
	cpu None or -1 (placement none) leaves it where it is."""
	if cpu is not None and cpu >= 0:
		os.sched_setaffinity(tid, {cpu})


def die_with_parent(parent_pid):
	libc = ctypes.CDLL(None, use_errno=True)
	if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
		raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")
	if os.getppid() != parent_pid:	# the parent died before prctl
		os._exit(1)


def describe_exit(code):
	if code is None:
		return "still running"
	if code < 0:
		try:
			return "killed by %s" % signal.Signals(-code).name
		except ValueError:
			return "killed by signal %d" % -code
	return "exited with status %d" % code


def _fault_here(case_name):
	want = os.environ.get(FAULT_ENV, "")
	return want.startswith("kill-worker:") and \
		re.search(want[len("kill-worker:"):], case_name) is not None


def _worker_main(index, cpu, ctl, workload, wstate, case_name, timeout_s,
		 parent_pid):
	signal.signal(signal.SIGALRM, signal.SIG_DFL)
	signal.signal(signal.SIGINT, signal.SIG_IGN)	# the driver decides
	die_with_parent(parent_pid)
	try:
		pin(cpu)
		wstate = workload.attach(wstate, index)
	except Exception as e:	# noqa: BLE001 - reported to the driver
		ctl.send(("error", "worker %d: attach: %s" % (index, e)))
		return
	ctl.send(("ready", os.getpid()))
	rounds = 0
	fault = index == 1 and _fault_here(case_name)
	try:
		while ctl.poll(timeout_s * IDLE_TIMEOUTS):
			cmd = ctl.recv()
			if cmd[0] != "round":
				break
			rounds += 1
			if fault and rounds == 2:
				os.kill(os.getpid(), signal.SIGKILL)
			try:
				res = workload.worker_round(wstate, index, cmd[1])
			except Exception as e:	# noqa: BLE001
				ctl.send(("error", "worker %d: %s" % (index, e)))
				return
			ctl.send(("done", res))
	finally:
		workload.detach(wstate, index)


class Team:
	"""Workers 1..len(wstates) of a case (wstates[i] belongs to worker i+1)."""

	def __init__(self, ctx, case_name, cpus, workload, wstates, timeout_s):
		self.ctx = ctx
		self.case_name = case_name
		self.cpus = cpus
		self.workload = workload
		self.wstates = wstates
		self.timeout_s = timeout_s
		self.procs = []
		self.ctls = []
		self._deadline = None

	def start(self):
		me = os.getpid()
		for i, ws in enumerate(self.wstates, 1):
			ours, theirs = self.ctx.Pipe()
			p = self.ctx.Process(
				target=_worker_main, daemon=True,
				name="ipclab-py worker %d" % i,
				args=(i, self.cpus[i], theirs, self.workload, ws,
				      self.case_name, self.timeout_s, me))
			p.start()
			theirs.close()
			self.procs.append(p)
			self.ctls.append(ours)
		for i in range(len(self.procs)):
			self._reply(i, "ready")

	def dead(self):
		"""(index, process) of the first worker that is gone, or None."""
		for i, p in enumerate(self.procs, 1):
			if not p.is_alive():
				return i, p
		return None

	def _died(self, i, p):
		return CaseFailed("worker %d (pid %d) %s" %
				  (i, p.pid, describe_exit(p.exitcode)))

	def _reply(self, k, want):
		"""Wait for worker k+1's reply; return its payload."""
		c, p = self.ctls[k], self.procs[k]
		deadline = time.monotonic() + self.timeout_s
		while True:
			try:
				if c.poll(WATCH_SLICE_S):
					msg = c.recv()
					break
			except (EOFError, OSError):
				p.join(WATCH_SLICE_S)
				raise self._died(k + 1, p) from None
			if not p.is_alive():
				raise self._died(k + 1, p)
			if time.monotonic() > deadline:
				raise CaseFailed("worker %d did not answer within %gs"
						 % (k + 1, self.timeout_s))
		if msg[0] == "error":
			raise CaseFailed(msg[1])
		if msg[0] != want:
			raise CaseFailed("worker %d answered %r, not %r"
					 % (k + 1, msg[0], want))
		return msg[1]

	def begin_round(self, n):
		for c in self.ctls:
			c.send(("round", n))

	def collect(self):
		return [self._reply(k, "done") for k in range(len(self.ctls))]

	# --- the driver's watchdog while it takes part in a round ---

	def _alarm(self, signum, frame):
		d = self.dead()
		if d is not None:
			raise self._died(*d)
		if time.monotonic() > self._deadline:
			raise CaseFailed("round made no progress within %gs"
					 % self.timeout_s)

	def watch(self):
		self._deadline = time.monotonic() + self.timeout_s
		signal.signal(signal.SIGALRM, self._alarm)
		signal.setitimer(signal.ITIMER_REAL, WATCH_SLICE_S, WATCH_SLICE_S)

	def unwatch(self):
		signal.setitimer(signal.ITIMER_REAL, 0, 0)
		# SIG_IGN, not SIG_DFL: an alarm already pending must not kill us.
		signal.signal(signal.SIGALRM, signal.SIG_IGN)

	# --- the end ---

	def stop(self):
		"""Ask every worker to leave, then reap; kill what does not."""
		for c in self.ctls:
			try:
				c.send(("stop",))
			except OSError:
				pass
		for p in self.procs:
			p.join(self.timeout_s)
		self.kill()

	def kill(self):
		for p in self.procs:
			if p.is_alive():
				p.kill()
		for p in self.procs:
			p.join()
		for c in self.ctls:
			c.close()
		for p in self.procs:
			p.close()
		self.procs, self.ctls = [], []
