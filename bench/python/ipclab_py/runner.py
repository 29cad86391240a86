"""runner.py - one Python case from start to end: place the driver, open
the subject, start the pinned workers, calibrate, warm up and time each
repetition, and always leave nothing behind (workers reaped or killed,
queues closed, shared memory unlinked, manager shut down, the driver's
own CPU mask restored)."""

import multiprocessing
import os
import time

from ipclab_py import stats, team
from ipclab_py.errors import CaseFailed, CaseSkipped

# A warm-up round before each timed round: a tenth of it, at least
# WARMUP_MIN iterations (the C side's rule), at most the workload's max.
WARMUP_MIN = 16
# The first round only measures how long an iteration takes.
CALIBRATION_N = 64
# The second calibration round: this fraction of a timed round.
CALIBRATION_SHARE = 4


class Case:
	def __init__(self, subject, workload, wait, placement, size, pool, chunk):
		self.subject, self.workload, self.wait = subject, workload, wait
		self.placement, self.size, self.pool, self.chunk = placement, size, pool, chunk
		self.name = "%s/%s/%s/%s/size:%d/pool:%d" % (
			workload.name, subject.name, wait, placement, size, pool)
		if workload.name == "taskpool" and chunk != 1:
			self.name += "/chunk:%d" % chunk
		self.cpus, self.oversubscribed, self.pair_class = None, False, "unbound"
		self.skip = subject.skip_reason(workload.name, wait, pool)
		self.timeout_s = 10.0
		self.ctx = multiprocessing.get_context("fork")
		self.resources = {}

	@property
	def label(self):
		if not self.cpus or self.cpus[0] < 0:
			return "cpus=none"
		return "cpus=%s class=%s" % (",".join(str(c) for c in self.cpus),
					     self.pair_class)


class Result:
	"""A finished case: reps (real_ns, cpu_ns, iterations, counters) or
	an error line starting "failed: " or "skipped: "."""

	def __init__(self, reps=None, error=None):
		self.reps, self.error = reps or [], error


def _round(case, d, tm, n):
	w = case.workload
	if tm is not None:
		tm.begin_round(n)
		tm.watch()
	try:
		mine = w.driver_round(case, d, n)
	finally:
		if tm is not None:
			tm.unwatch()
	theirs = tm.collect() if tm is not None else []
	return w.finish(case, d, n, mine, theirs)


def _measure(case, d, tm, reps, min_time_s):
	w = case.workload
	first = w.min_n if w.min_n < WARMUP_MIN else CALIBRATION_N
	r = _round(case, d, tm, first)
	per_iter = max(r.elapsed_ns, 1) / r.n
	# The first round carries the cold start (first pickles, first
	# wake-ups) and overestimates an iteration: estimate again from a
	# round of about a quarter of the target.
	again = int(min_time_s * 1e9 / per_iter / CALIBRATION_SHARE)
	if again > first:
		r = _round(case, d, tm, min(again, w.max_n))
		per_iter = max(r.elapsed_ns, 1) / r.n
	n = int(min_time_s * 1e9 / per_iter)
	n = max(w.min_n, min(w.max_n, n))
	warm = max(min(WARMUP_MIN, w.warmup_max), min(w.warmup_max, n // 10))
	out = []
	procs = w.procs(case.pool)
	for _ in range(reps):
		_round(case, d, tm, warm)
		c0 = time.process_time_ns()
		r = _round(case, d, tm, n)
		cpu = time.process_time_ns() - c0
		out.append((r.elapsed_ns / r.n, cpu / r.n, r.n,
			    stats.counters(r, case.oversubscribed, procs)))
	return out


def run(case, reps, min_time_s):
	if case.skip:
		return Result(error="skipped: " + case.skip)
	saved = os.sched_getaffinity(0)
	d, tm, failed = None, None, True
	w = case.workload
	try:
		team.pin(case.cpus[0])
		d, wstates = w.open(case)
		if wstates:
			tm = team.Team(case.ctx, case.name, case.cpus, w, wstates, case.timeout_s)
			tm.start()
			hook = getattr(case.subject, "workers_attached", None)
			if hook is not None:
				hook(getattr(d, "chans", []))
		reps_out = _measure(case, d, tm, reps, min_time_s)
		failed = False
		return Result(reps=reps_out)
	except CaseSkipped as e:
		return Result(error="skipped: %s" % e)
	except CaseFailed as e:
		return Result(error="failed: %s" % e)
	except (OSError, ValueError, RuntimeError, EOFError, AssertionError) as e:
		return Result(error="failed: %s: %s" % (type(e).__name__, e))
	finally:
		if tm is not None:
			tm.kill() if failed else tm.stop()
		if d is not None:
			w.close(case, d)
		for res in case.resources.values():
			res.close()
		case.resources.clear()
		os.sched_setaffinity(0, saved)
