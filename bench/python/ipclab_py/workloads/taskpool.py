"""taskpool: Pool(N).map_async(task, n arguments of size bytes,
chunksize=K).get(T), each task a TASK_NS busy loop.  Throughput is tasks
per second; a sample is a task's time from the map call to its end in the
worker (queueing delay: the position in the map counts).  Pool workers
are pinned to the case's CPUs 1..N by their initializer; the pool's
handler threads run in the driver, on CPU 0."""

import multiprocessing

from ipclab_py import team, waits
from ipclab_py.errors import CaseFailed
from ipclab_py.workloads.base import Round, State, Workload

now_ns = waits.now_ns
# Work per task, busy (the hand measurement used 10 us tasks).
TASK_NS = 10000


def task(payload):
	end = now_ns() + TASK_NS
	while now_ns() < end:
		pass
	return now_ns()


def pool_worker_init(cpus, claimed, parent_pid):
	team.die_with_parent(parent_pid)
	with claimed.get_lock():
		k = claimed.value
		claimed.value += 1
	team.pin(cpus[1 + k % (len(cpus) - 1)])


class TaskPool(Workload):
	name = "taskpool"
	family = "task"
	latency = "queueing delay"
	placed_like = "fanout"
	pool_axis = True
	min_n = 64

	def procs(self, pool):
		return pool + 1

	def open(self, case):
		import os
		claimed = case.ctx.Value("i", 0)
		pool = case.ctx.Pool(case.pool, initializer=pool_worker_init,
				     initargs=(case.cpus, claimed, os.getpid()))
		return State(pool=pool, payload=bytes(case.size)), []

	def driver_round(self, case, d, n):
		args = [d.payload] * n
		t0 = now_ns()
		res = d.pool.map_async(task, args, chunksize=case.chunk)
		try:
			ends = res.get(case.timeout_s)
		except multiprocessing.TimeoutError:
			raise CaseFailed("Pool.map of %d tasks not done within %gs "
					 "(a worker died or hung)" % (n, case.timeout_s)) from None
		t1 = now_ns()
		if len(ends) != n:
			raise CaseFailed("Pool.map returned %d results for %d tasks"
					 % (len(ends), n))
		return Round(n, n, n * case.size, t1 - t0, [e - t0 for e in ends])

	def finish(self, case, d, n, mine, theirs):
		return mine

	def close(self, case, d):
		d.pool.terminate()
		d.pool.join()


WORKLOAD = TaskPool()
