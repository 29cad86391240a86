"""How much the machine moved around each case (issue 10).

Per repetition (one Google Benchmark call) ipclab stores short probes on
the case's own CPUs right before and right after it:
sentinel_line_before_ns / _after_ns (a cache-line round trip) and
sentinel_wake_before_ns / _after_ns (a blocking wake-up round trip), each
the p50 of a short probe, plus drift (1 when before and after differ by
more than the factor in the context key ipclab_drift_factor).  On the pipe
block 64 B ping-pong case, perf_pipe_before_ns / _after_ns hold
`perf bench sched pipe`'s round trip measured right before and after it.

A move is symmetric: max(before, after) / min(before, after) - 1, so a
probe that doubles and one that halves have both moved 100 %.
"""

# (probe, what it is, unit scale for tables (ns per shown unit), unit)
PROBES = (("line", "cache-line round trip", 1.0, "ns"),
	  ("wake", "blocking wake-up round trip", 1000.0, "µs"))
PERF_BEFORE = "perf_pipe_before_ns"
PERF_AFTER = "perf_pipe_after_ns"


def counter(probe, when):
	return "sentinel_%s_%s_ns" % (probe, when)


def move(before, after):
	"""max/min - 1 of two positive readings; None when either is not."""
	if not before or not after or before <= 0 or after <= 0:
		return None
	return max(before, after) / min(before, after) - 1.0


def has_sentinels(case):
	return any(counter(p, "before") in r for r in case.reps
		   for p, _, _, _ in PROBES)


def run_has_sentinels(run):
	return any(has_sentinels(c) for c in run.cases.values())


def case_move(case):
	"""The largest move of either probe over the case's repetitions, or
	None when the case has no sentinel readings."""
	best = None
	for r in case.reps:
		for p, _, _, _ in PROBES:
			m = move(r.get(counter(p, "before")),
				 r.get(counter(p, "after")))
			if m is not None and (best is None or m > best):
				best = m
	return best


def drifted(case):
	"""(repetitions marked drift = 1, repetitions that carry drift)."""
	vals = case.values("drift")
	return sum(1 for v in vals if v >= 0.5), len(vals)


def probe_cell(case, probe, scale):
	"""'before→after' medians of one probe over the repetitions."""
	from .fmt import fmt_sig
	b = case.median(counter(probe, "before"))
	a = case.median(counter(probe, "after"))
	if b is None and a is None:
		return "-"
	return "%s→%s" % (fmt_sig(b / scale if b is not None else None),
			  fmt_sig(a / scale if a is not None else None))


def drift_cell(case):
	n, of = drifted(case)
	if not of:
		return "-"
	return "%d/%d" % (n, of)


def drift_count(cases):
	"""(cases with at least one drifted repetition, cases that carry
	drift)."""
	marked = [drifted(c) for c in cases]
	return (sum(1 for n, of in marked if n),
		sum(1 for _, of in marked if of))


def versus(a, b, metric):
	"""Is the difference of two cases' medians within the machine's
	movement?  Returns (verdict, difference, bound) with verdict
	"within drift" or "beyond drift", or None when neither side has
	sentinel readings or a median is missing.  The difference is
	max/min - 1 of the two medians, the bound the larger case_move of
	the two sides; within means difference < bound."""
	ma, mb = a.median(metric), b.median(metric)
	moves = [m for m in (case_move(a), case_move(b)) if m is not None]
	if not moves or not ma or not mb or ma <= 0 or mb <= 0:
		return None
	diff = max(ma, mb) / min(ma, mb) - 1.0
	bound = max(moves)
	return ("within drift" if diff < bound else "beyond drift"), diff, bound


def perf_cases(run):
	"""Cases that carry perf bench's yardstick, in the run's order."""
	return [c for c in run.ok_cases()
		if c.median(PERF_BEFORE) is not None or
		c.median(PERF_AFTER) is not None]
