"""Task subjects: multiprocessing.Pool (taskpool) and starting a Process
under each start method (spawn)."""

import multiprocessing
import multiprocessing.forkserver

from ipclab_py import team


class TaskSubject:
	family = "task"
	waits = ("block",)

	def skip_reason(self, workload, wait, pool):
		if workload not in self.workloads:
			return "%s does not run %s" % (self.name, workload)
		if wait not in self.waits:
			return "%s has no %s wait (Pool.map and Process.join " \
				"block)" % (self.name, wait)
		return None


class PyPool(TaskSubject):
	name = "py-pool"
	summary = "multiprocessing.Pool(N).map_async(task, ..., chunksize=K)" \
		  ".get(T); its three handler threads live in the driver"
	workloads = ("taskpool",)


class PyProcess(TaskSubject):
	workloads = ("spawn",)

	def __init__(self, method):
		self.method = method
		self.name = "py-process-" + method
		self.summary = "Process(target=noop).start() + join() under " \
			       "the %s start method" % method

	def context(self, case):
		ctx = multiprocessing.get_context(self.method)
		if self.method == "forkserver":
			# The fork server is the driver's helper: start it now,
			# outside the timed rounds, and pin it beside the driver.
			multiprocessing.forkserver.ensure_running()
			pid = multiprocessing.forkserver._forkserver._forkserver_pid
			team.pin(case.cpus[0], pid)
		return ctx


SUBJECTS = [PyPool(), PyProcess("fork"), PyProcess("forkserver"),
	    PyProcess("spawn")]
