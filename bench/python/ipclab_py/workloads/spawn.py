"""spawn: start a Process and join it, one sample per process, under the
subject's start method (fork, forkserver, spawn).  The child pins itself
to the case's second CPU and returns at once; the driver (and the fork
server, its helper) sit on the first."""

from ipclab_py import team, waits
from ipclab_py.errors import CaseFailed
from ipclab_py.workloads.base import Round, State, Workload

now_ns = waits.now_ns


def child(cpu):
	team.pin(cpu)


class Spawn(Workload):
	name = "spawn"
	family = "task"
	latency = "operation"
	placed_like = "pingpong"
	min_n = 3
	max_n = 2000
	warmup_max = 3

	def open(self, case):
		return State(ctx=case.subject.context(case)), []

	def driver_round(self, case, d, n):
		samples = [0] * n
		cpu = case.cpus[1]
		t_start = now_ns()
		for i in range(n):
			t0 = now_ns()
			p = d.ctx.Process(target=child, args=(cpu,), daemon=True)
			p.start()
			p.join(case.timeout_s)
			if p.exitcode is None:
				p.kill()
				p.join()
				raise CaseFailed("child not done within %gs" % case.timeout_s)
			if p.exitcode != 0:
				raise CaseFailed("child %s" % team.describe_exit(p.exitcode))
			p.close()
			samples[i] = now_ns() - t0
		return Round(n, n, 0, now_ns() - t_start, samples)

	def finish(self, case, d, n, mine, theirs):
		return mine

	def close(self, case, d):
		pass


WORKLOAD = Spawn()
