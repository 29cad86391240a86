"""pingpong: one pair; the driver sends, the worker echoes; one sample is
one round trip, timed by the driver."""

from ipclab_py import waits
from ipclab_py.errors import CaseFailed
from ipclab_py.workloads.base import Round, State, Workload

HEADER, now_ns = waits.HEADER, waits.now_ns


class PingPong(Workload):
	name = "pingpong"
	family = "channel"
	latency = "round trip"
	placed_like = "pingpong"

	def open(self, case):
		(e0, e1), chans = case.subject.pair(case)
		return State(end=e0, chans=chans, closers=chans), \
			[State(end=e1, ends=[e1])]

	def worker_round(self, w, index, n):
		recv, send = w.end.recv, w.end.send
		for i in range(n):
			m = recv()
			seq = HEADER.unpack_from(m)[0]
			if seq != i:
				raise CaseFailed("echo got sequence %d, expected %d" % (seq, i))
			send(m)
		return None

	def driver_round(self, case, d, n):
		send, recv, size = d.end.send, d.end.recv, case.size
		message = waits.message
		samples = [0] * n
		t_start = now_ns()
		for i in range(n):
			m = message(i, size)
			send(m)
			r = recv()
			t = now_ns()
			seq, t0 = HEADER.unpack_from(r)
			if seq != i or len(r) != size:
				raise CaseFailed("reply %d: sequence %d, %d bytes (sent %d)"
						 % (i, seq, len(r), size))
			samples[i] = t - t0
		return Round(n, n, n * size, now_ns() - t_start, samples)

	def finish(self, case, d, n, mine, theirs):
		return mine


WORKLOAD = PingPong()
