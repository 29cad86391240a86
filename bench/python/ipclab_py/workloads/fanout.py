"""fanout: the driver produces n messages into one shared channel, N
workers consume (a worker pool's task queue); each consumer stops at its
end-of-round marker (one per consumer).  A sample is a message's one-way
time from its send timestamp.  Checked: every sequence 0..n-1 arrives
exactly once, in order within each consumer."""

from ipclab_py import waits
from ipclab_py.errors import CaseFailed
from ipclab_py.workloads.base import Round, State, Workload

HEADER, now_ns, END_SEQ = waits.HEADER, waits.now_ns, waits.END_SEQ


class FanOut(Workload):
	name = "fanout"
	family = "channel"
	latency = "one way"
	placed_like = "fanout"
	pool_axis = True

	def procs(self, pool):
		return pool + 1

	def open(self, case):
		ch = case.subject.channel(case, 1, case.pool)
		return State(tx=ch.tx, chans=[ch], closers=[ch]), \
			[State(rx=ch.rx, ends=[ch.rx], size=case.size)
			 for _ in range(case.pool)]

	def worker_round(self, w, index, n):
		recv, size = w.rx.recv, w.size
		samples = []
		last, total = -1, 0
		while True:
			m = recv()
			t = now_ns()
			seq, t0 = HEADER.unpack_from(m)
			if seq == END_SEQ:
				break
			if seq <= last or seq >= n or len(m) != size:
				raise CaseFailed("consumer %d: sequence %d after %d, %d bytes"
						 % (index, seq, last, len(m)))
			last = seq
			total += seq
			samples.append(t - t0)
		return samples, total, now_ns()

	def driver_round(self, case, d, n):
		send, size, message = d.tx.send, case.size, waits.message
		t_start = now_ns()
		for i in range(n):
			send(message(i, size))
		for _ in range(case.pool):
			send(message(END_SEQ, size))
		return t_start

	def finish(self, case, d, n, t_start, theirs):
		samples, total, t_end = [], 0, t_start
		for s, tot, end in theirs:
			samples += s
			total += tot
			t_end = max(t_end, end)
		if len(samples) != n or total != n * (n - 1) // 2:
			raise CaseFailed("consumers got %d messages (sequence sum %d), "
					 "%d were sent" % (len(samples), total, n))
		return Round(n, n, n * case.size, t_end - t_start, samples)


WORKLOAD = FanOut()
