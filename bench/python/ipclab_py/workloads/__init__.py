"""The workloads the Python driver runs, one module each, with the same
names and meanings as the C side's where the semantics match.

A workload is a table: name, family, what its latency means, whether the
pool is an axis, which C scenario places its processes the same way
(placed_like: ipclab --where is asked for that case, so process i of a
Python case sits where process i of the C case would), and the functions
the runner calls: open (driver, before the workers fork), attach/detach
and worker_round (each worker), driver_round and finish (driver), close.
"""

from ipclab_py.workloads import (contend, counter, fanin, fanout, handoff,
				 pingpong, spawn, stream, taskpool)

WORKLOADS = [pingpong.WORKLOAD, stream.WORKLOAD, fanout.WORKLOAD,
	     fanin.WORKLOAD, handoff.WORKLOAD, contend.WORKLOAD,
	     counter.WORKLOAD, taskpool.WORKLOAD, spawn.WORKLOAD]


def find(name):
	for w in WORKLOADS:
		if w.name == name:
			return w
	return None
