"""Gnuplot figures for one or more ipclab result folders.

Every figure is written three ways: plots/NAME.pdf (pdfcairo), plots/NAME.png
(pngcairo) and plots/latex/NAME.tex + NAME.pdf (cairolatex, text set by
LaTeX; \\input it from the folder that holds plots/).  The gnuplot script of
each figure, data inline, is kept as plots/gp/NAME.gp.  Files are rendered
in a temporary folder and renamed into place.

figures() plans the figures of one run, overlays() those of several,
render() draws them.  Which workloads go against size and which against
pool, and what their latency is called, come from each folder's
description (describe.py); nothing here names a workload or a mechanism.

Why this file is long: one figure function per family of plots, all
sharing the gnuplot styling that keeps a mechanism one colour and point.
"""

import math
import os
import shutil
import subprocess
import sys
import tempfile

from . import fmt as F
from . import sentinel as S
from .results import load, LoadError, main_placement

# One look per subject, the same in every figure of a folder: colour, point
# type and dash type, so a figure stays readable in black and white.  A
# subject takes the look at its position in the description's subject list
# (colours: the Okabe-Ito palette, safe for colour-blind readers, and
# black); past the end of the list, looks repeat with other dash types.
LOOKS = (("#000000", 5, 1),		# filled square, solid
	 ("#E69F00", 4, 2),		# open square, dashed
	 ("#56B4E9", 9, 3),		# filled triangle up
	 ("#009E73", 7, 4),		# filled circle
	 ("#D55E00", 13, 5),		# filled diamond
	 ("#0072B2", 12, "(8,3,2,3,2,3)"),	# open diamond
	 ("#CC79A7", 11, "(12,4)"),	# filled triangle down
	 ("#7F7F7F", 6, "(2,4)"),	# open circle
	 ("#8C564B", 1, 1), ("#BCBD22", 2, 2), ("#17BECF", 3, 3))
# A case with a non-default axis (workers:thread, ...) keeps its subject's
# colour with open points and this dash type.
AXIS_DT = "(4,2)"
# Machines in an overlay differ by dash type, in this order.
MACHINE_DT = (1, 2, "(2,3)", "(8,3,2,3)", "(12,4)")
OPEN_PT = {5: 4, 7: 6, 9: 8, 13: 12, 11: 10}

# Sizes: inches for PDF and cairolatex, pixels for PNG (100 px per inch).
SINGLE = (5.0, 3.4)
DOUBLE = (9.0, 3.4)
PNG_DPI = 110
# cairolatex figures are set at the size they take on an A4 page with 2 cm
# margins (text width 17 cm = 6.7 in), so their text matches the document.
SINGLE_TEX = (4.6, 3.1)
DOUBLE_TEX = (6.7, 2.9)
# Spread markers of different mechanisms at the same x are shifted by this
# factor per mechanism so the whiskers do not hide one another.
X_NUDGE = 1.06


def style(impl, desc):
	"""(colour, point type, dash type) of a subject in a description."""
	try:
		i = desc.subject_names.index(impl)
	except ValueError:
		i = len(desc.subject_names) + sum(map(ord, impl)) % 3
	col, pt, dt = LOOKS[i % len(LOOKS)]
	if i >= len(LOOKS):
		dt = MACHINE_DT[(i // len(LOOKS)) % len(MACHINE_DT)]
	return col, pt, dt


class Series:
	"""One line: points (x, y, ylo, yhi); ylo/yhi None for no whisker."""

	def __init__(self, label, impl, points, machine=0, whiskers=False,
		     lines=True, desc=None, axes=False):
		self.lines = lines
		self.label = label
		self.impl = impl
		self.points = sorted(points)
		self.machine = machine
		self.whiskers = whiskers
		self.desc = desc
		self.axes = axes	# a non-default axis: open points, dashed

	def look(self):
		col, pt, dt = style(self.impl, self.desc)
		if self.axes:
			dt, pt = AXIS_DT, OPEN_PT.get(pt, pt)
		if self.machine:
			dt = MACHINE_DT[self.machine % len(MACHINE_DT)]
			pt = OPEN_PT.get(pt, pt)
		return col, pt, dt


class Panel:
	def __init__(self, xlabel, ylabel, series, logx=2, logy=10,
		     xtics=None, ylabel_tex=None):
		self.xlabel = xlabel
		self.ylabel = ylabel
		self.ylabel_tex = ylabel_tex or ylabel
		self.series = series
		self.logx = logx
		self.logy = logy
		self.xtics = xtics	# [(x, label)] or None
		self.format_y = None
		self.xtics_rotated = False	# category names: slanted tics
		self.yrange = None	# (lo, hi) of a linear y axis, or autoscale


class Figure:
	def __init__(self, name, title, panels, caption, wide=False):
		self.name = name
		self.title = title
		self.panels = panels
		self.caption = caption	# one sentence: what the figure shows
		self.wide = wide	# one panel at the width of two


# --- planning figures from runs ---

def _size_tics(cases):
	sizes = sorted({c.size for c in cases})
	return [(s, F.fmt_size(s)) for s in sizes]


def _nudge(i, n):
	return X_NUDGE ** (i - (n - 1) / 2.0)


def _groups(cases, key):
	out = {}
	for c in cases:
		out.setdefault(key(c), []).append(c)
	return out


def _variants(cases):
	"""{variant: cases} and the variants in the description's order."""
	by = _groups(cases, lambda c: c.variant)
	order = sorted(by, key=lambda v: by[v][0].sort_key())
	return by, order


def _tex_unit(text):
	return text.replace("(µs)", "($\\mu$s)")


def _drift_note(cases):
	"""A sentence on the machine's movement under the cases of a figure,
	or '' when they carry no sentinel readings."""
	n, of = S.drift_count(cases)
	if not of:
		return ""
	return (" Sentinels: %d of %d cases in this figure drifted (the "
		"machine moved between the probes before and after them); see "
		"the tables before ranking mechanisms." % (n, of))


def _open_loop(case):
	"""An open-loop case (load:F, rate:N): its own figures (load.py)."""
	return "load" in case.axes or "rate" in case.axes


def _select(run, scenario, wait):
	"""Cases of one workload and wait at the run's main placement and
	smallest pool: the ones that go against message size."""
	cs = [c for c in run.ok_cases()
	      if c.scenario == scenario and c.wait == wait and not _open_loop(c)]
	if not cs:
		return [], None, None
	pool = min(c.pool for c in cs)
	cs = [c for c in cs if c.pool == pool]
	place = main_placement(cs, run.desc)
	return [c for c in cs if c.placement == place], place, pool


def _series_vs(cases, xkey, metric, whisker_metric=None, machine=0,
	       label_suffix="", scale=1.0):
	"""One Series per variant: x = xkey(case), y = median of metric."""
	out = []
	by, order = _variants(cases)
	for i, v in enumerate(order):
		pts = []
		f = _nudge(i, len(order)) if whisker_metric else 1.0
		for c in by[v]:
			s = c.stat(metric)
			if s is None or s.median is None or s.median <= 0:
				continue
			hi = None
			if whisker_metric:
				h = c.median(whisker_metric)
				hi = h / scale if h else None
			pts.append((xkey(c) * f, s.median / scale,
				    s.median / scale if hi else None, hi))
		if pts:
			c0 = by[v][0]
			out.append(Series("%s %s%s" % (v, c0.wait, label_suffix),
					  c0.impl, pts, machine,
					  whiskers=bool(whisker_metric),
					  desc=c0.desc, axes=bool(c0.axes)))
	return out


def _title(run, what):
	return "%s - %s, %s" % (what, run.host, run.date)


def _figured(desc):
	"""Workloads that get figures: every workload of the description
	whose latency is not one operation of the measuring process."""
	return [w for w in desc.workload_names
		if desc.latency(w) != "operation"]


def _drawable(figs, skipped):
	"""Keep the figures whose every panel has data to draw; gnuplot fails
	on an empty plot command (e.g. payload bytes of a sync workload,
	which moves no payload).  The others are listed as skipped."""
	keep = []
	for fig in figs:
		empty = [p for p in fig.panels
			 if not any(s.points for s in p.series)]
		if empty:
			skipped.append("%s: no data for %s" %
				       (fig.name, ", ".join(p.ylabel for p in empty)))
		else:
			keep.append(fig)
	return keep, skipped


def figures(run):
	"""Plan the figures of one run.  Returns (figures, skipped), skipped
	being one line per figure not drawn and why."""
	figs, skipped = [], []
	desc = run.desc
	ok = [c for c in run.ok_cases() if not _open_loop(c)]
	waits = desc.present([c.wait for c in ok], "waits")
	workloads = _figured(desc)
	by_size = [w for w in workloads if not desc.pool_axis(w)]
	by_pool = [w for w in workloads if desc.pool_axis(w)]
	present_scen = {c.scenario for c in ok}
	# 1. latency vs size, 2. throughput vs size.
	for scen in by_size:
		word = desc.latency_label(scen)
		for wait in waits:
			cs, place, pool = _select(run, scen, wait)
			# size 0: no payload (a primitive's hand-off), nothing
			# to put on a log size axis
			cs = [c for c in cs if c.size > 0]
			if not cs:
				continue
			if len({c.size for c in cs}) < 2:
				skipped.append("%s/%s %s and throughput vs "
					       "size: only one message size" %
					       (scen, wait, word))
				continue
			lat = _series_vs(cs, lambda c: c.size, "p50_ns", "p99_ns",
					 scale=1000.0)
			ylab = "%s (µs)" % word
			figs.append(Figure(
				"lat-%s-%s" % (scen, wait),
				_title(run, "%s %s, %s wait" % (scen, word, wait)),
				[Panel("message size (bytes)", ylab,
				       lat, xtics=_size_tics(cs),
				       ylabel_tex=_tex_unit(ylab))],
				"%s %s against message size, %s wait, "
				"placement %s, pool %d: the line is the median p50 "
				"over repetitions, the whisker reaches the median "
				"p99.%s" % (scen, word, wait, place, pool,
					     _drift_note(cs))))
			msgs = _series_vs(cs, lambda c: c.size, "msgs_per_s")
			mbs = _series_vs(cs, lambda c: c.size, "bytes_per_s",
					 scale=1e6)
			figs.append(Figure(
				"tput-%s-%s" % (scen, wait),
				_title(run, "%s throughput, %s wait" % (scen, wait)),
				[Panel("message size (bytes)", "messages/s", msgs,
				       xtics=_size_tics(cs)),
				 Panel("message size (bytes)", "payload MB/s", mbs,
				       xtics=_size_tics(cs))],
				"%s throughput against message size, %s wait, "
				"placement %s, pool %d: messages per second (left) "
				"and payload megabytes (10^6 B) per second "
				"(right), medians over repetitions.%s" %
				(scen, wait, place, pool, _drift_note(cs))))
		if scen not in present_scen:
			skipped.append("%s figures: no %s case in the results" %
				       (scen, scen))
	# 3. throughput and p99 vs pool size.
	for scen in by_pool:
		word = desc.latency_label(scen)
		for wait in waits:
			cs = [c for c in ok
			      if c.scenario == scen and c.wait == wait]
			if not cs:
				continue
			place = main_placement(cs, desc)
			cs = [c for c in cs if c.placement == place]
			# the size with the most pool sizes measured
			sizes = _groups(cs, lambda c: c.size)
			size = min(sizes, key=lambda s: (
				-len({c.pool for c in sizes[s]}), s))
			cs = sizes[size]
			if len({c.pool for c in cs}) < 2:
				skipped.append("%s/%s against pool size: only one "
					       "pool size" % (scen, wait))
				continue
			pools = sorted({c.pool for c in cs})
			tics = [(p, str(p)) for p in pools]
			msgs = _series_vs(cs, lambda c: c.pool, "msgs_per_s")
			p99 = _series_vs(cs, lambda c: c.pool, "p99_ns",
					 scale=1000.0)
			ylab = "%s p99 (µs)" % word
			figs.append(Figure(
				"pool-%s-%s" % (scen, wait),
				_title(run, "%s, %s wait, %s B" %
				       (scen, wait, F.fmt_size(size))),
				[Panel("pool size", "messages/s (all receivers)",
				       msgs, xtics=tics),
				 Panel("pool size", ylab, p99, xtics=tics,
				       ylabel_tex=_tex_unit(ylab))],
				"%s against pool size (%s processes for pool N), %s "
				"wait, %s-byte messages, placement %s: total "
				"messages per second (left) and median p99 %s "
				"(right).%s" % (scen, desc.workloads[scen].get(
					"procs", "?"), wait, size, place, word,
					_drift_note(cs))))
		if scen not in present_scen:
			skipped.append("%s against pool size: no %s case in the "
				       "results" % (scen, scen))
	# 4. percentile spectrum at one size.
	percentiles = desc.percentiles()
	for scen in by_size:
		word = desc.latency_label(scen)
		for wait in waits:
			cs, place, pool = _select(run, scen, wait)
			if not cs:
				continue
			sizes = sorted({c.size for c in cs})
			size = 64 if 64 in sizes else sizes[0]
			cs = [c for c in cs if c.size == size]
			series = []
			for c in sorted(cs, key=lambda c: c.sort_key()):
				pts = []
				for i, (m, _) in enumerate(percentiles):
					v = c.median(m)
					if v:
						pts.append((i + 1, v / 1000.0,
							    None, None))
				if pts:
					series.append(Series(
						"%s %s" % (c.variant, c.wait),
						c.impl, pts, desc=desc,
						axes=bool(c.axes)))
			if not series:
				continue
			tics = [(i + 1, lab)
				for i, (_, lab) in enumerate(percentiles)]
			ylab = "%s (µs)" % word
			figs.append(Figure(
				"spectrum-%s-%s" % (scen, wait),
				_title(run, "%s %s percentiles, %s wait, %s B" %
				       (scen, word, wait, F.fmt_size(size))),
				[Panel("percentile", ylab, series, logx=0,
				       xtics=tics, ylabel_tex=_tex_unit(ylab))],
				"%s %s percentiles at %d-byte messages, "
				"%s wait, placement %s, pool %d: median over "
				"repetitions of each percentile, up to the "
				"largest sample.%s" % (scen, word, size, wait,
						       place, pool,
						       _drift_note(cs))))
	# 5. placement classes side by side.
	for scen in workloads:
		word = desc.latency_label(scen)
		for wait in waits:
			cs = [c for c in ok
			      if c.scenario == scen and c.wait == wait]
			if not cs:
				continue
			pool = min(c.pool for c in cs)
			cs = [c for c in cs if c.pool == pool]
			# the smallest size measured under more than one
			# placement
			sizes = _groups(cs, lambda c: c.size)
			multi = [s for s in sorted(sizes)
				 if len({c.placement for c in sizes[s]}) > 1]
			if not multi:
				continue
			size = multi[0]
			cs = sizes[size]
			places = desc.present([c.placement for c in cs],
					      "placements")
			idx = {p: i + 1 for i, p in enumerate(places)}
			series = []
			by, order = _variants(cs)
			for i, v in enumerate(order):
				off = 0.12 * (i - (len(order) - 1) / 2.0)
				pts = []
				for c in by[v]:
					p50 = c.median("p50_ns")
					p99 = c.median("p99_ns")
					if p50:
						pts.append((idx[c.placement] + off,
							    p50 / 1e3, p50 / 1e3,
							    (p99 or p50) / 1e3))
				if pts:
					c0 = by[v][0]
					series.append(Series(
						"%s %s" % (v, wait), c0.impl, pts,
						whiskers=True, lines=False,
						desc=desc, axes=bool(c0.axes)))
			ylab = "%s (µs)" % word
			figs.append(Figure(
				"placement-%s-%s" % (scen, wait),
				_title(run, "%s by placement, %s wait, %s B" %
				       (scen, wait, F.fmt_size(size))),
				[Panel("placement", ylab, series, logx=0,
				       xtics=[(idx[p], p) for p in places],
				       ylabel_tex=_tex_unit(ylab))],
				"%s %s by placement class at %d-byte "
				"messages, %s wait, pool %d: point at the median "
				"p50, whisker to the median p99.%s" %
				(scen, word, size, wait, pool, _drift_note(cs))))
	if not any(f.name.startswith("placement-") for f in figs):
		skipped.append("placement classes side by side: every case "
			       "ran under one placement")
	# 6. round trips of different workloads side by side, 7. the
	# operation workloads (locks, barriers) against pool size.
	from . import sync_figures	# it builds on this module's classes
	figs += sync_figures.round_trips_side_by_side(run, waits, skipped)
	figs += sync_figures.operations_by_pool(run, waits, skipped)
	return _drawable(figs, skipped)


def overlays(runs, labels):
	"""Overlay figures of several machines: latency and messages/s
	against size for the workloads that go against size, one figure per
	wait.  The first run's description names the workloads; a workload
	must mean the same on every side to share a figure."""
	figs, skipped = [], []
	desc = runs[0].desc
	waits = desc.present([c.wait for r in runs for c in r.ok_cases()],
			     "waits")
	who = ", ".join("%s = %s %s" % (lab, r.host, r.date)
			for lab, r in zip(labels, runs))
	for scen in _figured(desc):
		if desc.pool_axis(scen):
			continue
		word = desc.latency_label(scen)
		for wait in waits:
			lat, msgs, allcs = [], [], []
			for m, run in enumerate(runs):
				if run.desc.latency(scen) != desc.latency(scen):
					continue
				cs, _, _ = _select(run, scen, wait)
				cs = [c for c in cs if c.size > 0]	# as in figures()
				allcs += cs
				sfx = " (%s)" % labels[m]
				for s in _series_vs(cs, lambda c: c.size,
						    "p50_ns", machine=m,
						    label_suffix=sfx,
						    scale=1000.0):
					s.desc = desc
					lat.append(s)
				for s in _series_vs(cs, lambda c: c.size,
						    "msgs_per_s", machine=m,
						    label_suffix=sfx):
					s.desc = desc
					msgs.append(s)
			if not allcs:
				continue
			machines = {s.machine for s in lat}
			if len(machines) < 2:
				skipped.append("%s/%s overlay: fewer than two "
					       "machines have these cases" %
					       (scen, wait))
				continue
			tics = _size_tics(allcs)
			ylab = "%s p50 (µs)" % word
			figs.append(Figure(
				"overlay-%s-%s" % (scen, wait),
				"%s, %s wait: %s" % (scen, wait, who),
				[Panel("message size (bytes)", ylab, lat,
				       xtics=tics, ylabel_tex=_tex_unit(ylab)),
				 Panel("message size (bytes)", "messages/s", msgs,
				       xtics=tics)],
				"%s on each machine, %s wait: median p50 %s "
				"(left) and messages per second (right) "
				"against message size; the mechanism sets colour "
				"and point, the machine the dash pattern (%s).%s" %
				(scen, wait, word, who, _drift_note(allcs))))
	return _drawable(figs, skipped)


# --- rendering ---

def _q(s):
	"""A gnuplot single-quoted string."""
	return "'" + str(s).replace("'", "''") + "'"


def _tex(s):
	"""Label text for the cairolatex terminal."""
	return F.tex_escape(s)


def _script(fig, term):
	"""The gnuplot commands that draw fig on the current terminal."""
	tex = term == "latex"
	lines = ["reset", "set encoding utf8", "set grid xtics ytics lc '#d0d0d0'",
		 "set key top left Left reverse samplen 3 spacing 1.1 "
		 "box lc '#c0c0c0' opaque"]
	if len(fig.panels) > 1:
		lines.append("set multiplot layout 1,%d title %s" %
			     (len(fig.panels),
			      _q(_tex(fig.title) if tex else fig.title)))
	else:
		lines.append("set title %s" %
			     _q(_tex(fig.title) if tex else fig.title))
	for pi, p in enumerate(fig.panels):
		if pi:
			lines.append("unset key")
		lines.append("unset logscale")
		if p.logx:
			lines.append("set logscale x %d" % p.logx)
		if p.logy:
			lines.append("set logscale y %d" % p.logy)
			lines += _log_ytics(p)
		else:	# a log panel before it set its own range and tics
			lines += ["set yrange [%s:%s]" % (p.yrange or ("*", "*")),
				  "set ytics autofreq", "set mytics default"]
		xs = [pt[0] for s in p.series for pt in s.points]
		if p.xtics:
			lines.append("set xtics (%s)" % ", ".join(
				"%s %r" % (_q(_tex(lab) if tex else lab), x)
				for x, lab in p.xtics))
			if p.xtics_rotated:
				lines.append("set xtics rotate by -40 left")
			lo = min([x for x, _ in p.xtics] + xs)
			hi = max([x for x, _ in p.xtics] + xs)
			if p.logx:
				lines.append("set xrange [%r:%r]" %
					     (lo / 1.4, hi * 1.4))
			else:
				lines.append("set xrange [%r:%r]" %
					     (lo - 0.5, hi + 0.5))
		lines.append("set xlabel %s" %
			     _q(_tex(p.xlabel) if tex else p.xlabel))
		lines.append("set ylabel %s" %
			     _q(p.ylabel_tex if tex else p.ylabel))
		plots = []
		for si, s in enumerate(p.series):
			col, pt, dt = s.look()
			block = "$d%d_%d" % (pi, si)
			lines.append("%s << EOD" % block)
			for x, y, lo, hi in s.points:
				lines.append("%r %r %r %r" %
					     (x, y, lo if lo is not None else y,
					      hi if hi is not None else y))
			lines.append("EOD")
			lab = _tex(s.label) if tex else s.label
			common = ("lc rgb %s pt %d ps 0.9 dt %s lw 1.5" %
				  (_q(col), pt, dt))
			if s.whiskers:
				w = "yerrorlines" if s.lines else "yerrorbars"
				plots.append("%s u 1:2:3:4 w %s %s t %s" %
					     (block, w, common, _q(lab)))
			else:
				w = "linespoints" if s.lines else "points"
				plots.append("%s u 1:2 w %s %s t %s" %
					     (block, w, common, _q(lab)))
		lines.append("plot " + ", \\\n  ".join(plots))
	if len(fig.panels) > 1:
		lines.append("unset multiplot")
	return lines


# Headroom above the data for the key, as a fraction of the log range per
# key line (a key line is about 6% of the plot height).
KEY_LINE = 0.07


def _tic(v):
	"""A tic label: 0.2, 5, 20, 500, 2k, 1M."""
	for div, pfx in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
		if v >= div:
			return "%g%s" % (round(v / div, 6), pfx)
	return "%g" % round(v, 9)


def _log_ytics(p):
	"""yrange and labelled tics for a log y axis: decades, plus 2 and 5
	times a decade when the data span less than three decades."""
	ys = [v for s in p.series for pt in s.points for v in pt[1:]
	      if v is not None and v > 0]
	if not ys:
		return []
	lo, hi = min(ys) / 1.3, max(ys) * 1.3
	span = math.log10(hi / lo)
	hi = hi * 10 ** (span * KEY_LINE * (len(p.series) + 1))
	steps = (1, 2, 5) if span < 3 else (1,)
	tics = []
	for e in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
		for m in steps:
			v = m * 10.0 ** e
			if lo <= v <= hi:
				tics.append(v)
	out = ["set yrange [%r:%r]" % (lo, hi), "set mytics 10"]
	if tics:
		out.append("set ytics (%s)" % ", ".join(
			"'%s' %r" % (_tic(v), v) for v in tics))
	return out


def _terminal(fig, term, out):
	wide = len(fig.panels) > 1 or fig.wide
	w, h = DOUBLE if wide else SINGLE
	if term == "pdf":
		t = "set terminal pdfcairo noenhanced size %gin,%gin " \
		    "font 'Sans,9'" % (w, h)
	elif term == "png":
		t = "set terminal pngcairo noenhanced size %d,%d " \
		    "font 'Sans,9'" % (w * PNG_DPI, h * PNG_DPI)
	else:
		w, h = DOUBLE_TEX if wide else SINGLE_TEX
		t = "set terminal cairolatex pdf input " \
		    "size %gin,%gin" % (w, h)
	return [t, "set output %s" % _q(out)]


def gp_text(fig):
	"""The whole gnuplot script of a figure: PDF, PNG and cairolatex."""
	out = ["# %s" % fig.caption.replace("\n", " "),
	       "# run: cd to the folder that holds plots/, then "
	       "gnuplot plots/gp/%s.gp" % fig.name]
	for term, path in (("pdf", "plots/%s.pdf" % fig.name),
			   ("png", "plots/%s.png" % fig.name),
			   ("latex", "plots/latex/%s.tex" % fig.name)):
		out += _terminal(fig, term, path)
		out += _script(fig, term)
		out.append("set output")
	return "\n".join(out) + "\n"


class PlotError(Exception):
	pass


def render(figs, folder):
	"""Draw every figure into folder/plots/.  Returns the list of files
	written (relative to folder).  Raises PlotError when gnuplot fails."""
	if not figs:
		return []
	if shutil.which("gnuplot") is None:
		raise PlotError("gnuplot not found (Debian: apt-get install "
				"gnuplot-nox)")
	tmp = tempfile.mkdtemp(prefix=".plots-tmp-", dir=folder)
	written = []
	try:
		for sub in ("plots", "plots/latex", "plots/gp"):
			os.makedirs(os.path.join(tmp, sub), exist_ok=True)
			os.makedirs(os.path.join(folder, sub), exist_ok=True)
		for fig in figs:
			gp = "plots/gp/%s.gp" % fig.name
			with open(os.path.join(tmp, gp), "w",
				  encoding="utf-8") as f:
				f.write(gp_text(fig))
			r = subprocess.run(["gnuplot", gp], cwd=tmp,
					   capture_output=True, text=True,
					   timeout=60)
			if r.returncode != 0:
				msg = (r.stderr.strip().splitlines() or ["?"])
				raise PlotError("gnuplot failed on %s: %s" %
						(gp, msg[-1]))
		for sub in ("plots", "plots/latex", "plots/gp"):
			for name in sorted(os.listdir(os.path.join(tmp, sub))):
				src = os.path.join(tmp, sub, name)
				if os.path.isfile(src):
					os.replace(src, os.path.join(
						folder, sub, name))
					written.append(os.path.join(sub, name))
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	return written


def main(argv):
	import argparse
	ap = argparse.ArgumentParser(prog="plot.py",
				     description=__doc__.split("\n")[0])
	ap.add_argument("--out", help="folder for overlay figures")
	ap.add_argument("results", nargs="*")
	a = ap.parse_args(argv)
	if not a.results:
		print("usage: plot.py RESULTS_DIR | plot.py --out DIR A B "
		      "[C ...]", file=sys.stderr)
		return 2
	try:
		runs = [load(d) for d in a.results]
	except LoadError as e:
		print(e, file=sys.stderr)
		return 2
	if len(runs) == 1 and not a.out:
		figs, skipped = figures(runs[0])
		folder = runs[0].folder
	else:
		labels = [chr(ord("A") + i) for i in range(len(runs))]
		figs, skipped = overlays(runs, labels)
		folder = a.out or "."
		os.makedirs(folder, exist_ok=True)
	try:
		written = render(figs, folder)
	except PlotError as e:
		print("plot.py: %s" % e, file=sys.stderr)
		return 1
	try:
		for f in written:
			print(os.path.join(folder, f))
		sys.stdout.flush()
	except BrokenPipeError:
		# stdout closed early (| head): the figures are written.
		os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
	for s in skipped:
		print("not drawn: %s" % s, file=sys.stderr)
	return 0

