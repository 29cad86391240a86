"""handoff: the driver wakes the worker and the worker wakes it back
(post/wait, set/wait, notify/wait, two barrier crossings); one sample is
that round trip, timed by the driver, to stand beside a channel's
pingpong."""

from ipclab_py import waits
from ipclab_py.workloads.base import Round, State, Workload

now_ns = waits.now_ns


class HandOff(Workload):
	name = "handoff"
	family = "sync"
	latency = "round trip"
	placed_like = "pingpong"

	def open(self, case):
		mine, theirs = case.subject.handoff_pair(case)
		return State(side=mine), [State(side=theirs)]

	def worker_round(self, w, index, n):
		go = w.side.go
		for _ in range(n):
			go()
		return None

	def driver_round(self, case, d, n):
		go = d.side.go
		samples = [0] * n
		t_start = t = now_ns()
		for i in range(n):
			go()
			t1 = now_ns()
			samples[i] = t1 - t
			t = t1
		return Round(n, n, 0, t - t_start, samples)

	def finish(self, case, d, n, mine, theirs):
		return mine


WORKLOAD = HandOff()
