"""The report's section on synchronization primitives (the sync family):
hand-off round trips beside the channels' best ping-pong, and one table per
operation workload against the pool size (a contended lock with its
fairness, a barrier's release latency, a guarded counter).

report.py calls markdown(run) and latex(run); both return "" when the run
has no case of the family.  Which workloads belong to the family, what
their latency is and which counters are their own comes from the folder's
description; Python's rows (py- subjects from python.json) are cases of
the same run and appear in the same tables.
"""

from . import fmt as F

# The family this section is about, and the one its round trips are set
# against (names of describe.json's families).
FAMILY = "sync"
REFERENCE_FAMILY = "channel"
# The family of the cache-line floor (a round trip of one cache line).
FLOOR_FAMILY = "yardstick"
PY_PREFIX = "py-"
# The channel message size the hand-off is compared with (a hand-off moves
# no payload; the smallest message is the fair comparison).
REFERENCE_SIZE = 64
# Counters every case carries (not a workload's own).
COMMON = ("msgs_per_s", "bytes_per_s", "p50_ns", "p90_ns", "p99_ns",
	  "p999_ns", "p9999_ns", "max_ns", "min_ns", "mean_ns", "samples",
	  "oversubscribed", "procs")
HANDOFF_NOTE = (
	"A hand-off is A waking B and B waking A through the primitive "
	"(post/wait, set/wait, notify/await, or unlock/lock through three "
	"locks): one sample is that round trip, so it reads beside a "
	"channel's ping-pong of the smallest message. \"× best channel\" "
	"divides a row's median p50 by the smallest median p50 of the "
	"channels' %d-byte ping-pong with the same wait in this run (%s); "
	"\"× cache line\" divides it by the p50 of one cache line's round trip "
	"between the same CPUs (the floor of a spinning hand-off; no such "
	"floor exists for a blocking wait). Both are ratios within one run, "
	"the only way timings compare on a machine whose CPUs move.")
POOL_NOTE = (
	"%s against the pool size: %s. Operations/s count the whole pool "
	"(an iteration of the workload); latencies are medians over "
	"repetitions of the per-operation percentiles. Columns after those "
	"are the workload's own counters (see the Counters table).")


def _family_workloads(desc, family):
	return [w for w in desc.workload_names
		if desc.workloads[w].get("family") == family]


def Table(columns, rows):
	"""report.py's Table (imported here: report imports this module)."""
	from .report import Table as ReportTable
	return ReportTable(columns, rows)


def _pool_cell(c):
	o = c.median("oversubscribed")
	return "%d%s" % (c.pool, "*" if o and o >= 0.5 else "")


def best_reference(run, wait):
	"""The reference family's round-trip case with the smallest median p50
	at REFERENCE_SIZE, pool 1 and this wait (Python's rows left out), or
	None."""
	desc = run.desc
	ws = [w for w in _family_workloads(desc, REFERENCE_FAMILY)
	      if desc.latency(w) == "round trip" and not desc.pool_axis(w)]
	cs = [c for c in run.ok_cases() if c.scenario in ws and
	      c.wait == wait and c.pool == 1 and c.size == REFERENCE_SIZE and
	      not c.impl.startswith(PY_PREFIX) and c.median("p50_ns")]
	return min(cs, key=lambda c: c.median("p50_ns")) if cs else None


def floor_case(run, wait):
	"""The cache-line floor with this wait: a case whose subject is a
	round-trip workload of the yardstick family (its cases are listed
	under the micro workload), or None."""
	desc = run.desc
	floors = [w for w in _family_workloads(desc, FLOOR_FAMILY)
		  if desc.latency(w) == "round trip"]
	cs = [c for c in run.cases.values() if c.ok and c.parsed and
	      c.impl in floors and c.wait == wait and c.median("p50_ns")]
	return min(cs, key=lambda c: c.size) if cs else None


def _ratio_cell(v, ref):
	return "%.2f" % (v / ref) if v and ref else "-"


def handoff_rows(run):
	"""Rows of the hand-off table: every round-trip case of the family,
	then the best channel of each wait and the cache-line floor as the
	references."""
	desc = run.desc
	ws = [w for w in _family_workloads(desc, FAMILY)
	      if desc.latency(w) == "round trip"]
	cs = [c for c in run.ok_cases() if c.scenario in ws]
	rows, refs = [], []
	for wait in desc.present([c.wait for c in cs], "waits"):
		ref = best_reference(run, wait)
		floor = floor_case(run, wait)
		ref_p50 = ref.median("p50_ns") if ref else None
		floor_p50 = floor.median("p50_ns") if floor else None
		if ref:
			refs.append("%s %s %s" % (ref.scenario, ref.impl, wait))
		extra = [c for c in (ref, floor) if c is not None]
		for c in [c for c in cs if c.wait == wait] + extra:
			p50 = c.median("p50_ns")
			rows.append([c.scenario if c is not floor else
				     "%s (floor)" % c.impl, c.variant, c.wait,
				     c.placement,
				     F.fmt_stat(c.stat("p50_ns"), 1000.0),
				     F.fmt_stat(c.stat("p99_ns"), 1000.0),
				     _ratio_cell(p50, ref_p50),
				     _ratio_cell(p50, floor_p50),
				     str(c.repetitions)])
	return rows, refs


HANDOFF_COLUMNS = [("Workload", "l"), ("Subject", "l"), ("Wait", "l"),
		   ("Placement", "l"), ("p50 µs", "r"), ("p99 µs", "r"),
		   ("× best channel", "r"), ("× cache line", "r"),
		   ("Reps", "r")]


def own_counters(run, workload, cases):
	"""The counters of the description that are this workload's own
	(its name opens their meaning) and that its cases carry."""
	d = run.desc
	out = []
	for n in d.counter_names:
		if n in COMMON:
			continue
		meaning = str(d.counters[n].get("meaning", ""))
		if meaning.startswith(workload + ":") and \
		   any(c.median(n) is not None for c in cases):
			out.append(n)
	return out


def _counter_cell(c, n):
	v = c.median(n)
	if v is None:
		return "-"
	if n.endswith("_ns"):
		return F.fmt_sig(v)
	if v >= 1000:
		return F.fmt_si(v)
	return F.fmt_sig(v)


def pool_table(run, workload):
	cs = [c for c in run.ok_cases() if c.scenario == workload]
	own = own_counters(run, workload, cs)
	cols = [("Subject", "l"), ("Wait", "l"), ("Placement", "l"),
		("Pool", "r"), ("ops/s", "r"), ("p50 ns", "r"),
		("p99 ns", "r")] + [(n, "r") for n in own] + [("Reps", "r")]
	rows = []
	for c in cs:
		rows.append([c.variant, c.wait, c.placement, _pool_cell(c),
			     F.fmt_stat(c.stat("msgs_per_s"), 1.0, F.fmt_si),
			     F.fmt_stat(c.stat("p50_ns")),
			     F.fmt_stat(c.stat("p99_ns"))] +
			    [_counter_cell(c, n) for n in own] +
			    [str(c.repetitions)])
	return Table(cols, rows)


def _pool_workloads(run):
	desc = run.desc
	present = {c.scenario for c in run.ok_cases()}
	return [w for w in _family_workloads(desc, FAMILY)
		if desc.pool_axis(w) and w in present]


def markdown(run):
	rows, refs = handoff_rows(run)
	pools = _pool_workloads(run)
	if not rows and not pools:
		return ""
	out = ["\n## Synchronization primitives\n"]
	if rows:
		out.append("### Hand-off round trip beside the channels' "
			   "ping-pong\n")
		out.append(HANDOFF_NOTE % (REFERENCE_SIZE, ", ".join(refs) or
					   "no channel ping-pong in this run")
			   + "\n")
		out.append(Table(HANDOFF_COLUMNS, rows).markdown())
	for w in pools:
		out.append("\n### %s against the pool size\n" % w)
		out.append(POOL_NOTE % (w, run.desc.workloads[w].get(
			"summary", "")) + "\n")
		out.append(pool_table(run, w).markdown())
	return "\n".join(out) + "\n"


def latex(run):
	rows, refs = handoff_rows(run)
	pools = _pool_workloads(run)
	if not rows and not pools:
		return ""
	t = F.tex_escape
	out = ["\\section{Synchronization primitives}"]
	if rows:
		out.append(Table(HANDOFF_COLUMNS, rows).latex(
			t("Hand-off round trip beside the channels' ping-pong. " +
			  HANDOFF_NOTE % (REFERENCE_SIZE, ", ".join(refs) or
					  "no channel ping-pong in this run")),
			"tab:sync-handoff"))
	for w in pools:
		out.append(pool_table(run, w).latex(
			t(POOL_NOTE % (w, run.desc.workloads[w].get("summary",
								    ""))),
			"tab:sync-%s" % w))
	return "\n".join(out) + "\n"
