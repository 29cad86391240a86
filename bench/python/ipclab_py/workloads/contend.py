"""contend: N workers acquire and release one lock around a critical
section that writes a shared cache line; worker k does its share of the
round's n acquisitions.  A sample is one acquire's latency.  Checked: an
occupancy counter inside the critical section never exceeds 1.  The driver
only starts the round and collects (placed like fanin: N + 1 processes)."""

from ipclab_py import waits
from ipclab_py.errors import CaseFailed
from ipclab_py.workloads.base import State, Workload, pool_round
from ipclab_py.workloads.fanin import share

now_ns = waits.now_ns
# The shared cache line written inside the critical section (8 x 8 bytes).
LINE_WORDS = 8


class Contend(Workload):
	name = "contend"
	family = "sync"
	latency = "operation"
	placed_like = "fanin"
	pool_axis = True

	def procs(self, pool):
		return pool + 1

	def open(self, case):
		guard = case.subject.lock(case)
		occ = case.ctx.RawValue("i", 0)
		line = case.ctx.RawArray("q", LINE_WORDS)
		return State(), [State(guard=guard, occ=occ, line=line, pool=case.pool)
				 for _ in range(case.pool)]

	def worker_round(self, w, index, n):
		acq, rel, occ, line = w.guard.acquire, w.guard.release, w.occ, w.line
		k = share(n, w.pool, index - 1)
		samples = [0] * k
		t_start = now_ns()
		for i in range(k):
			t0 = now_ns()
			acq()
			samples[i] = now_ns() - t0
			occ.value += 1
			if occ.value != 1:
				rel()
				raise CaseFailed("mutual exclusion broken: %d holders" % occ.value)
			line[i % LINE_WORDS] += 1
			occ.value -= 1
			rel()
		return samples, t_start, now_ns()

	def driver_round(self, case, d, n):
		return None

	def finish(self, case, d, n, mine, theirs):
		return pool_round(n, theirs)


WORKLOAD = Contend()
