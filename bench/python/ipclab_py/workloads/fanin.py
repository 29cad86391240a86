"""fanin: N workers produce into one shared channel, the driver consumes
(a Queue with many putters).  Worker k sends its share of the round's n
messages.  A sample is a message's one-way time from its send timestamp.
Checked: each producer's sequences arrive in order, none lost."""

from ipclab_py import waits
from ipclab_py.errors import CaseFailed
from ipclab_py.workloads.base import Round, State, Workload

HEADER, now_ns = waits.HEADER, waits.now_ns
SHIFT, MASK = waits.SENDER_SHIFT, waits.SEQ_MASK


def share(n, pool, k):
	"""Messages producer k (0-based) sends of a round of n."""
	return n // pool + (1 if k < n % pool else 0)


class FanIn(Workload):
	name = "fanin"
	family = "channel"
	latency = "one way"
	placed_like = "fanin"
	pool_axis = True

	def procs(self, pool):
		return pool + 1

	def open(self, case):
		ch = case.subject.channel(case, case.pool, 1)
		return State(rx=ch.rx, chans=[ch], closers=[ch]), \
			[State(tx=ch.tx, ends=[ch.tx], size=case.size, pool=case.pool)
			 for _ in range(case.pool)]

	def worker_round(self, w, index, n):
		send, size, message = w.tx.send, w.size, waits.message
		base = (index - 1) << SHIFT
		for i in range(share(n, w.pool, index - 1)):
			send(message(base | i, size))
		return None

	def driver_round(self, case, d, n):
		recv, size, pool = d.rx.recv, case.size, case.pool
		samples = [0] * n
		nxt = [0] * pool
		t_start = now_ns()
		for i in range(n):
			m = recv()
			t = now_ns()
			tag, t0 = HEADER.unpack_from(m)
			k, seq = tag >> SHIFT, tag & MASK
			if k >= pool or seq != nxt[k] or len(m) != size:
				raise CaseFailed("message from producer %d: sequence %d, "
						 "%d bytes, expected %d" % (k, seq, len(m),
									 nxt[k] if k < pool else -1))
			nxt[k] += 1
			samples[i] = t - t0
		return Round(n, n, n * size, now_ns() - t_start, samples)

	def finish(self, case, d, n, mine, theirs):
		return mine


WORKLOAD = FanIn()
