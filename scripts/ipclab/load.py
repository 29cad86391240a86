"""Latency under open-loop load: the cases named .../load:F or .../rate:N.

Such a case's senders follow a schedule (build/ipclab --load): p50_ns ...
are its intended-time latency (receipt minus the due time of the message,
coordinated omission included), also as intended_p50_ns ...; service_*
time from the actual send; late_sends counts messages sent after their due
time, and sender_cpu_wait_share the share of the senders' round spent
runnable but waiting for a CPU (the machine's other work: it tells a late
send of a busy machine from one of the mechanism); offered_msgs_per_s is the rate offered and, for load:F,
saturation_msgs_per_s the case's own closed-loop throughput it is a
fraction of.

Here: which cases are open loop, the report's table, the load at which p99
first exceeds KNEE_FACTOR times its low-load value, and the hockey-stick
figures (latency against offered load, per mechanism).
"""

from . import fmt as F
from . import plot
from .results import main_placement

AXES = ("load", "rate")
# "The load at which p99 first exceeds 10x its low-load value."
KNEE_FACTOR = 10.0
# Where the flat-out (closed-loop) case sits on a load axis.
FLAT_OUT_X = 1.1


def is_open(case):
	return any(a in case.axes for a in AXES)


def offered(case):
	"""('load', fraction) or ('rate', msgs/s) of an open-loop case."""
	if "load" in case.axes:
		return "load", float(case.axes["load"])
	return "rate", float(case.axes["rate"])


def _key(c):
	"""The closed-loop case an open-loop case is a point of."""
	rest = {k: v for k, v in c.axes.items() if k not in AXES}
	return (c.scenario, c.impl, c.wait, c.placement, c.size, c.pool,
		tuple(sorted(rest.items())))


def groups(run):
	"""[(key, kind, [(x, case)] ascending, closed-loop case or None)]: one
	curve per case without its load, per kind (load, rate)."""
	ok = run.ok_cases()
	closed = {_key(c): c for c in ok if not is_open(c)}
	out = {}
	for c in ok:
		if is_open(c):
			kind, x = offered(c)
			out.setdefault((_key(c), kind), []).append((x, c))
	res = []
	for (key, kind), pts in out.items():
		pts.sort(key=lambda p: p[0])
		res.append((key, kind, pts, closed.get(key)))
	res.sort(key=lambda g: (g[2][0][1].sort_key(), g[1]))
	return res


def _fmt_x(kind, x):
	return ("%g" % x) if kind == "load" else F.fmt_si(x) + "/s"


def knee(kind, pts, closed):
	"""One phrase: the first offered load whose median intended p99 exceeds
	KNEE_FACTOR x the p99 at the lowest load measured."""
	base = pts[0][1].median("p99_ns")
	if not base:
		return "no p99"
	for x, c in pts[1:]:
		p = c.median("p99_ns")
		if p and p > KNEE_FACTOR * base:
			return "%s (p99 %s µs vs %s µs at %s)" % (
				_fmt_x(kind, x), F.fmt_sig(p / 1e3),
				F.fmt_sig(base / 1e3), _fmt_x(kind, pts[0][0]))
	if closed is not None:
		p = closed.median("p99_ns")
		if p and p > KNEE_FACTOR * base:
			return "only flat out (up to %s: below %gx)" % (
				_fmt_x(kind, pts[-1][0]), KNEE_FACTOR)
	return "not reached (up to %s%s)" % (
		_fmt_x(kind, pts[-1][0]), " and flat out" if closed else "")


def table(run):
	"""(columns, rows) of the open-loop table, or None without such cases:
	each open-loop case, then its flat-out case, with the knee."""
	gs = groups(run)
	if not gs:
		return None
	cols = [("Scenario", "l"), ("Mechanism", "l"), ("Wait", "l"),
		("Size (B)", "r"), ("Pool", "r"), ("Offered", "l"),
		("msgs/s", "r"), ("Late %", "r"), ("CPU wait %", "r"),
		("p50 µs", "r"),
		("p99 µs", "r"), ("service p50 µs", "r"),
		("service p99 µs", "r"), ("p99 > 10x low-load at", "l")]
	rows = []
	for key, kind, pts, closed in gs:
		k = knee(kind, pts, closed)
		for i, (x, c) in enumerate(pts):
			late = c.median("late_sends")
			msgs = c.median("samples")
			wait = c.median("sender_cpu_wait_share")
			rows.append([c.scenario, c.impl, c.wait, str(c.size),
				     str(c.pool), _fmt_x(kind, x),
				     F.fmt_stat(c.stat("msgs_per_s")),
				     F.fmt_sig(100.0 * late / msgs) if
				     late is not None and msgs else "–",
				     F.fmt_sig(100.0 * wait) if wait is not None
				     else "–",
				     F.fmt_stat(c.stat("p50_ns"), 1000.0),
				     F.fmt_stat(c.stat("p99_ns"), 1000.0),
				     F.fmt_stat(c.stat("service_p50_ns"), 1000.0),
				     F.fmt_stat(c.stat("service_p99_ns"), 1000.0),
				     k if i == 0 else ""])
		if closed is not None:
			c = closed
			rows.append([c.scenario, c.impl, c.wait, str(c.size),
				     str(c.pool), "flat out",
				     F.fmt_stat(c.stat("msgs_per_s")), "–", "–",
				     F.fmt_stat(c.stat("p50_ns"), 1000.0),
				     F.fmt_stat(c.stat("p99_ns"), 1000.0),
				     "–", "–", ""])
	return cols, rows


NOTE = ("Open loop (cases named load:F or rate:N): the senders follow a "
	"schedule at the offered rate (load:F is F times the case's own "
	"closed-loop throughput, measured right before it with the same "
	"processes and channels), pacing by spinning on the clock; p50 and "
	"p99 are receipt minus the intended send time (coordinated omission "
	"included), service p50/p99 receipt minus the actual send, Late %% "
	"the messages sent after their due time, CPU wait %% the share of "
	"the senders' time they were runnable but waiting for a CPU (the "
	"machine's other work ahead of them: late sends beside a high CPU "
	"wait are the machine's, not the mechanism's).  \"flat out\" is the "
	"closed-loop case: queueing delay at saturation, timed from the "
	"actual send.  The last column is the first offered load whose "
	"median p99 exceeds %gx the p99 at the lowest load measured." %
	KNEE_FACTOR)


def figures(run):
	"""(figures, skipped): per workload, wait and kind (load, rate), the
	median intended p50 (left) and p99 (right) against offered load, one
	line per mechanism, at the main placement, smallest pool and most
	common size; the flat-out case at the right end."""
	figs, skipped = [], []
	gs = groups(run)
	if not gs:
		return figs, skipped
	by = {}
	for g in gs:
		c0 = g[2][0][1]
		by.setdefault((c0.scenario, c0.wait, g[1]), []).append(g)
	for (scen, wait, kind), glist in by.items():
		cases = [g[2][0][1] for g in glist]
		place = main_placement(cases, run.desc)
		glist = [g for g in glist if g[2][0][1].placement == place]
		pool = min(g[2][0][1].pool for g in glist)
		sizes = {}
		for g in glist:
			if g[2][0][1].pool == pool:
				sizes.setdefault(g[2][0][1].size, []).append(g)
		size = max(sizes, key=lambda s: (len(sizes[s]), -s))
		glist = sizes[size]
		panels = []
		xs = sorted({x for g in glist for x, _ in g[2]})
		has_closed = kind == "load" and any(g[3] for g in glist)
		for metric, what in (("p50_ns", "p50"), ("p99_ns", "p99")):
			series = []
			for key, _, pts, closed in glist:
				c0 = pts[0][1]
				p = [(x, c.median(metric) / 1e3, None, None)
				     for x, c in pts if c.median(metric)]
				if has_closed and closed is not None and \
				   closed.median(metric):
					p.append((FLAT_OUT_X,
						  closed.median(metric) / 1e3,
						  None, None))
				if p:
					series.append(plot.Series(
						"%s %s" % (c0.variant.split(" ")[0], wait),
						c0.impl, p, desc=run.desc))
			tics = [(x, _fmt_x(kind, x)) for x in xs]
			if has_closed:
				tics.append((FLAT_OUT_X, "flat out"))
			ylab = "%s (µs)" % what
			panels.append(plot.Panel(
				"offered load (fraction of saturation)" if
				kind == "load" else "offered rate (msgs/s)",
				ylab, series, logx=0 if kind == "load" else 10,
				xtics=tics, ylabel_tex=plot._tex_unit(ylab)))
		figs.append(plot.Figure(
			"%s-%s-%s" % (kind, scen, wait),
			plot._title(run, "%s under open-loop load, %s wait, %s B"
				    % (scen, wait, F.fmt_size(size))),
			panels,
			"%s latency from the intended send time against offered "
			"%s, %s wait, %d-byte messages, placement %s, pool %d: "
			"median p50 (left) and p99 (right) over repetitions%s." %
			(scen, "load" if kind == "load" else "rate", wait, size,
			 place, pool, "; at the right end the flat-out "
			 "(closed-loop) case, timed from the actual send"
			 if has_closed else "")))
	return plot._drawable(figs, skipped)
