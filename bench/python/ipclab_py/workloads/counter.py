"""counter: N workers each add 1 to one shared integer, guarded by the
primitive (`with v.get_lock(): v.value += 1`), their share of the round's
n times.  A sample is one guarded increment.  Checked: the final value is
exactly n more than before the round."""

from ipclab_py import waits
from ipclab_py.errors import CaseFailed
from ipclab_py.workloads.base import State, Workload, pool_round
from ipclab_py.workloads.fanin import share

now_ns = waits.now_ns


class CounterWorkload(Workload):
	name = "counter"
	family = "sync"
	latency = "operation"
	placed_like = "fanin"
	pool_axis = True

	def procs(self, pool):
		return pool + 1

	def open(self, case):
		c = case.subject.counter(case)
		return State(counter=c, before=0), [State(counter=c, pool=case.pool)
					  for _ in range(case.pool)]

	def worker_round(self, w, index, n):
		add = w.counter.add
		k = share(n, w.pool, index - 1)
		samples = [0] * k
		t_start = t = now_ns()
		for i in range(k):
			add()
			t1 = now_ns()
			samples[i] = t1 - t
			t = t1
		return samples, t_start, t

	def driver_round(self, case, d, n):
		return None

	def finish(self, case, d, n, mine, theirs):
		now = d.counter.value()
		got, d.before = now - d.before, now
		if got != n:
			raise CaseFailed("counter grew by %d, expected %d (lost updates)"
					 % (got, n))
		return pool_round(n, theirs)


WORKLOAD = CounterWorkload()
