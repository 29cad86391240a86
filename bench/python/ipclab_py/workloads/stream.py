"""stream: the driver sends n messages one way as fast as the channel takes
them; the worker receives and checks them.  A sample is a message's one-way
time from its send timestamp, which under a full buffer is queueing delay
(the C side's stream, labelled the same way)."""

from ipclab_py import waits
from ipclab_py.errors import CaseFailed
from ipclab_py.workloads.base import Round, State, Workload

HEADER, now_ns = waits.HEADER, waits.now_ns


def receive(recv, n, size, first_seq, step, who):
	"""Receive n messages with sequences first_seq, +step, ...; return
	(samples, end time)."""
	samples = [0] * n
	expect = first_seq
	for i in range(n):
		m = recv()
		t = now_ns()
		seq, t0 = HEADER.unpack_from(m)
		if seq != expect or len(m) != size:
			raise CaseFailed("%s: message %d has sequence %d and %d bytes, "
					 "expected %d and %d" % (who, i, seq, len(m), expect, size))
		samples[i] = t - t0
		expect += step
	return samples, now_ns()


class Stream(Workload):
	name = "stream"
	family = "channel"
	latency = "one way"
	placed_like = "stream"

	def open(self, case):
		ch = case.subject.channel(case, 1, 1)
		return State(tx=ch.tx, chans=[ch], closers=[ch]), \
			[State(rx=ch.rx, ends=[ch.rx], size=case.size)]

	def worker_round(self, w, index, n):
		return receive(w.rx.recv, n, w.size, 0, 1, "receiver")

	def driver_round(self, case, d, n):
		send, size, message = d.tx.send, case.size, waits.message
		t_start = now_ns()
		for i in range(n):
			send(message(i, size))
		return t_start

	def finish(self, case, d, n, t_start, theirs):
		samples, t_end = theirs[0]
		return Round(n, n, n * case.size, t_end - t_start, samples)


WORKLOAD = Stream()
