"""Figures for workloads whose cases have one message size: round trips of
several workloads side by side (a primitive's hand-off beside a channel's
ping-pong, the cache-line floor and Python's rows), and the operation
workloads (a lock contended, a barrier crossed, a counter guarded) against
the pool size.

plot.figures() calls both; like plot.py, nothing here names a workload or
a subject: which workloads qualify comes from the folder's description
(latency kind, pool axis), which counters to draw from the cases
themselves.  Python's rows (py- subjects, python.json) are cases of the
same run and land on the same axes.
"""

from . import fmt as F
from .plot import (Figure, LOOKS, Panel, Series, _drift_note, _series_vs,
		   _tex_unit, _title)
from .results import main_placement

# Prefix of the subjects Python's driver measures (issue 14's py- rows).
PY_PREFIX = "py-"
# The message size a round trip is shown at when a subject has several.
PREFERRED_SIZE = 64
# Counters of a lock workload, drawn when its cases carry them.
ACQUIRE_RATE = "acquisitions_per_s"
FAIRNESS = "fair_jain"


class GroupSeries(Series):
	"""A series standing for a group of subjects (one workload, C or
	Python): its look is given, not taken from one subject."""

	def __init__(self, label, points, look, whiskers=True):
		Series.__init__(self, label, label, points, whiskers=whiskers,
				lines=False)
		self._look = look

	def look(self):
		return self._look


def _at_preferred_size(cases):
	"""Per variant, the cases at PREFERRED_SIZE, or at its smallest size."""
	by = {}
	for c in cases:
		by.setdefault(c.variant, []).append(c)
	out = []
	for v, cs in by.items():
		sizes = {c.size for c in cs}
		size = PREFERRED_SIZE if PREFERRED_SIZE in sizes else min(sizes)
		out += [c for c in cs if c.size == size]
	return out


def _round_trip_workloads(desc):
	return [w for w in desc.workload_names
		if desc.latency(w) == "round trip" and not desc.pool_axis(w)]


def round_trips_side_by_side(run, waits, skipped):
	"""One figure per wait: p50 (whisker to p99) of every subject of every
	round-trip workload at pool 1, one category each, grouped by workload
	and by C or Python.  Drawn where it says something the figures against
	message size cannot: two round-trip workloads, or one measured at a
	single message size (a primitive's hand-off moves no payload)."""
	desc = run.desc
	ws = _round_trip_workloads(desc)
	ok = [c for c in run.ok_cases() if c.scenario in ws]
	figs = []
	for wait in waits:
		cs = [c for c in ok if c.wait == wait and c.pool == 1]
		present = [w for w in ws if any(c.scenario == w for c in cs)]
		single = [w for w in present
			  if len({c.size for c in cs if c.scenario == w}) < 2]
		if len(present) < 2 and not single:
			continue
		place = main_placement(cs, desc)
		cs = _at_preferred_size([c for c in cs if c.placement == place])
		series, tics, x = [], [], 0
		for w in present:
			for python in (False, True):
				group = sorted((c for c in cs if c.scenario == w and
						c.impl.startswith(PY_PREFIX) == python),
					       key=lambda c: c.sort_key())
				pts = []
				for c in group:
					p50, p99 = c.median("p50_ns"), c.median("p99_ns")
					if not p50:
						continue
					x += 1
					pts.append((x, p50 / 1e3, p50 / 1e3,
						    (p99 or p50) / 1e3))
					tics.append((x, c.variant))
				if not pts:
					continue
				sizes = sorted({c.size for c in group})
				label = "%s%s%s" % (w, " (Python)" if python else "",
						    ", %s B" % F.fmt_size(sizes[0])
						    if sizes[0] else "")
				col, pt, _ = LOOKS[len(series) % len(LOOKS)]
				series.append(GroupSeries(label, pts, (col, pt, 1)))
		# a round-trip workload's own case listed under another one
		# (the cache-line floor under micro): the floor of the figure
		for c in sorted((c for c in run.cases.values()
				 if c.ok and c.parsed and c.impl in ws and
				 c.wait == wait and c.pool == 1 and
				 c.placement == place and c.median("p50_ns")),
				key=lambda c: c.name):
			p50, p99 = c.median("p50_ns"), c.median("p99_ns")
			x += 1
			tics.append((x, c.impl))
			col, pt, _ = LOOKS[len(series) % len(LOOKS)]
			series.append(GroupSeries("%s (floor)" % c.impl, [(
				x, p50 / 1e3, p50 / 1e3, (p99 or p50) / 1e3)],
				(col, pt, 1)))
		if not series:
			continue
		ylab = "round trip (µs)"
		panel = Panel("", ylab, series, logx=0, xtics=tics,
			      ylabel_tex=_tex_unit(ylab))
		panel.xtics_rotated = True
		figs.append(Figure(
			"roundtrip-%s" % wait,
			_title(run, "round trips side by side, %s wait" % wait),
			[panel],
			"Round trips at pool 1 side by side, %s wait, placement "
			"%s: %s; one point per subject at the median p50 over "
			"repetitions, whisker to the median p99, at %d-byte "
			"messages where a subject has that size (else its "
			"smallest).%s" % (wait, place, "; ".join(
				"%s: a sample is %s" % (w, desc.latency_label(w))
				for w in present), PREFERRED_SIZE, _drift_note(cs)),
			wide=True))
	return figs


def operations_by_pool(run, waits, skipped):
	"""One figure per pool-axis workload whose latency is an operation,
	per wait: operations per second (acquisitions where the cases count
	them) against the pool size, beside Jain's fairness index where the
	cases carry it, else the p50 with a whisker to the p99."""
	desc = run.desc
	figs = []
	for w in desc.workload_names:
		if not (desc.pool_axis(w) and desc.latency(w) == "operation"):
			continue
		for wait in waits:
			cs = [c for c in run.ok_cases()
			      if c.scenario == w and c.wait == wait]
			if not cs:
				continue
			place = main_placement(cs, desc)
			cs = [c for c in cs if c.placement == place]
			by_size = {}
			for c in cs:
				by_size.setdefault(c.variant, set()).add(c.size)
			cs = [c for c in cs if c.size == min(by_size[c.variant])]
			if len({c.pool for c in cs}) < 2:
				skipped.append("%s/%s against pool size: only one "
					       "pool size" % (w, wait))
				continue
			tics = [(p, str(p)) for p in sorted({c.pool for c in cs})]
			rate = ACQUIRE_RATE if any(c.median(ACQUIRE_RATE)
						   for c in cs) else "msgs_per_s"
			# a case without the acquisitions counter (Python's)
			# counts its operations in msgs_per_s
			counted = [c for c in cs if c.median(rate)]
			left = _series_vs(counted, lambda c: c.pool, rate) + \
				_series_vs([c for c in cs if c not in counted],
					   lambda c: c.pool, "msgs_per_s")
			rate_label = ("acquisitions/s (whole pool)"
				      if rate == ACQUIRE_RATE else
				      "operations/s (whole pool)")
			panels = [Panel("pool size", rate_label, left, xtics=tics)]
			if any(c.median(FAIRNESS) for c in cs):
				fair = _series_vs([c for c in cs
						   if c.median(FAIRNESS)],
						  lambda c: c.pool, FAIRNESS)
				jain = Panel("pool size",
					     "Jain's fairness index (1: equal)",
					     fair, logy=0, xtics=tics)
				jain.yrange = (0, 1.05)
				panels.append(jain)
				right = ("Jain's index of the acquisitions per "
					 "worker (right; 1 is equal shares)")
			else:
				lat = _series_vs(cs, lambda c: c.pool, "p50_ns",
						 "p99_ns", scale=1000.0)
				ylab = "sample p50 (µs)"
				panels.append(Panel("pool size", ylab, lat,
						    xtics=tics,
						    ylabel_tex=_tex_unit(ylab)))
				right = ("the median p50 of the workload's "
					 "samples with a whisker to the median "
					 "p99 (right)")
			figs.append(Figure(
				"pool-%s-%s" % (w, wait),
				_title(run, "%s against pool size, %s wait" %
				       (w, wait)),
				panels,
				"%s against pool size (%s processes for pool N), "
				"%s wait, placement %s: %s (left) and %s; medians "
				"over repetitions, one line per subject and axis "
				"value.%s" % (w, desc.workloads[w].get("procs", "?"),
					      wait, place, rate_label, right,
					      _drift_note(cs))))
	return figs
