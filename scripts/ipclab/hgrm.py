"""Full latency distributions: the .hgrm files in hist/ of a result folder,
and the figures that overlay them.

build/ipclab writes one file per kept repetition of every case that times
latency samples: hist/<case>.rep<N>.hgrm, the case name with '/' written
'_' and ':' written '=', N Google Benchmark's repetition_index (0 when the
run has one repetition).  The text is HdrHistogram's percentile
distribution (what its outputPercentileDistribution writes and its plotter
reads): Value in microseconds, Percentile as a fraction, TotalCount,
1/(1-Percentile), a last row at 1.0 and a "#[Mean ...]" footer.

figures(run, chosen) plans one overlay per workload and wait (the cases
that the percentile-spectrum figure shows: the run's main placement, the
smallest pool, 64-byte messages or the smallest size) and, when chosen (a
regular expression over case names) is given, one figure of every case it
matches.  Latency is on a log axis against 1/(1-percentile), so 90%, 99%,
99.9% ... are equally spaced, as in HdrHistogram's own plots.
"""

import os
import re

from . import fmt as F
from . import plot

SUBDIR = "hist"
_FILE = re.compile(r"^(?P<case>[A-Za-z0-9_=-]+)\.rep(?P<rep>\d+)\.hgrm$")
_FOOT = re.compile(r"^#\[(?P<a>\w+)\s*=\s*(?P<av>[-0-9.naif]+),\s*"
		   r"(?P<b>[\w ]+?)\s*=\s*(?P<bv>[-0-9.naif]+)\]$")
# Percentile tics of the overlay: 1/(1-p) and its label.
# (No '%' in a label: gnuplot reads tic labels as formats.)
TICS = ((1, "p0"), (2, "p50"), (10, "p90"), (100, "p99"), (1e3, "p99.9"),
	(1e4, "p99.99"), (1e5, "p99.999"), (1e6, "p99.9999"))


class HgrmError(Exception):
	pass


def file_name(case, rep):
	"""The file name build/ipclab gives repetition rep of case."""
	return "%s.rep%d.hgrm" % (case.replace("/", "_").replace(":", "="),
				  rep)


def case_of(fname):
	"""(case name, repetition) of a hist/ file name, or None."""
	m = _FILE.match(fname)
	if not m:
		return None
	return (m.group("case").replace("_", "/").replace("=", ":"),
		int(m.group("rep")))


class Distribution:
	"""One .hgrm file: rows (value_us, fraction, total_count) in file order
	(the last at fraction 1.0), and the footer's numbers."""

	def __init__(self, rows, footer):
		self.rows = rows
		self.footer = footer

	@property
	def total(self):
		return int(self.footer.get("Total count", 0))

	def value_at(self, fraction):
		"""The value (us) of the row at exactly this fraction, or None."""
		for v, p, _ in self.rows:
			if abs(p - fraction) < 1e-12:
				return v
		return None


def parse(path):
	"""Read one .hgrm file.  Raises HgrmError naming the line at fault."""
	try:
		with open(path, encoding="ascii") as f:
			lines = f.read().splitlines()
	except (OSError, UnicodeDecodeError) as e:
		raise HgrmError("%s: cannot read: %s" % (path, e)) from None
	if not lines or lines[0].split() != ["Value", "Percentile",
					     "TotalCount", "1/(1-Percentile)"]:
		raise HgrmError("%s: not an HdrHistogram percentile distribution "
				"(no header line)" % path)
	rows, footer = [], {}
	for no, line in enumerate(lines[1:], 2):
		if not line.strip():
			continue
		if line.startswith("#["):
			m = _FOOT.match(line.strip())
			if not m:
				raise HgrmError("%s:%d: bad footer line" % (path, no))
			footer[m.group("a")] = float(m.group("av"))
			footer[m.group("b")] = float(m.group("bv"))
			continue
		cols = line.split()
		try:
			v, p, n = float(cols[0]), float(cols[1]), int(cols[2])
		except (IndexError, ValueError):
			raise HgrmError("%s:%d: bad row" % (path, no)) from None
		if rows and (p < rows[-1][1] or v < rows[-1][0] or
			     n < rows[-1][2]):
			raise HgrmError("%s:%d: not ascending" % (path, no))
		rows.append((v, p, n))
	if rows and rows[-1][1] != 1.0:
		raise HgrmError("%s: no last row at 1.0" % path)
	if "Total count" not in footer:
		raise HgrmError("%s: no footer" % path)
	return Distribution(rows, footer)


def files(folder):
	"""{case name: {repetition: path}} of a result folder's hist/."""
	out = {}
	d = os.path.join(folder, SUBDIR)
	if not os.path.isdir(d):
		return out
	for fname in sorted(os.listdir(d)):
		cr = case_of(fname)
		if cr:
			out.setdefault(cr[0], {})[cr[1]] = os.path.join(d, fname)
	return out


def _median_rep(paths):
	"""The Distribution of the repetition whose p99 is the median one
	(the lower middle for an even count); None when none parses."""
	dists = []
	for rep in sorted(paths):
		try:
			d = parse(paths[rep])
		except HgrmError:
			continue
		if d.rows:
			dists.append(((d.value_at(0.99) or 0.0, rep), d))
	if not dists:
		return None
	dists.sort(key=lambda x: x[0])
	return dists[(len(dists) - 1) // 2][1]


def _series(cases, hists, run, label=None):
	"""One Series per case that has a histogram; label(case) names it
	(default: its variant and wait).  Chosen cases (label given) of one
	mechanism keep its colour and differ by dash type and open points,
	as machines do in an overlay, so no two lines look alike."""
	out = []
	seen = {}
	for c in cases:
		d = _median_rep(hists.get(c.name, {}))
		if d is None:
			continue
		pts = [(1.0 / (1.0 - p), v, None, None)
		       for v, p, _ in d.rows if p < 1.0 and v > 0]
		if pts:
			k = seen.get(c.impl, 0) if label else 0
			seen[c.impl] = k + 1
			out.append(plot.Series(label(c) if label else
					       "%s %s" % (c.variant, c.wait),
					       c.impl, pts, desc=run.desc,
					       axes=bool(c.axes) and not k,
					       machine=k))
	return out


def _panel(series, ylab):
	top = max(x for s in series for x, _, _, _ in s.points)
	tics = [(x, lab) for x, lab in TICS if x <= top * 10]
	return plot.Panel("percentile", ylab, series, logx=10, xtics=tics,
			  ylabel_tex=plot._tex_unit(ylab))


def figures(run, chosen=None):
	"""(figures, skipped) of the distribution overlays of one run."""
	figs, skipped = [], []
	hists = files(run.folder)
	if not hists:
		return figs, ["distribution overlays: no hist/ in the folder "
			      "(written by ipclab since .hgrm export)"]
	desc = run.desc
	ok = run.ok_cases()
	waits = desc.present([c.wait for c in ok], "waits")
	for scen in plot._figured(desc):
		if desc.pool_axis(scen):
			continue
		word = desc.latency_label(scen)
		for wait in waits:
			cs, place, pool = plot._select(run, scen, wait)
			if not cs:
				continue
			sizes = sorted({c.size for c in cs})
			size = 64 if 64 in sizes else sizes[0]
			cs = [c for c in cs if c.size == size]
			series = _series(cs, hists, run)
			if not series:
				continue
			ylab = "%s (µs)" % word
			figs.append(plot.Figure(
				"dist-%s-%s" % (scen, wait),
				plot._title(run, "%s %s distribution, %s wait, %s B"
					    % (scen, word, wait,
					       F.fmt_size(size))),
				[_panel(series, ylab)],
				"%s %s distribution at %d-byte messages, %s wait, "
				"placement %s, pool %d, from hist/*.hgrm: of each "
				"case the repetition with the median p99, every "
				"percentile row against 1/(1-percentile)." %
				(scen, word, size, wait, place, pool)))
	if chosen:
		try:
			rx = re.compile(chosen)
		except re.error as e:
			skipped.append("dist-chosen: bad regular expression %r "
				       "(%s)" % (chosen, e))
			return figs, skipped
		cs = [c for c in ok if rx.search(c.name)]
		series = _series(cs, hists, run, label=lambda c: c.name)
		if series:
			figs.append(plot.Figure(
				"dist-chosen",
				plot._title(run, "latency distributions"),
				[_panel(series, "latency (µs)")],
				"Latency distributions of the cases matching %s "
				"(each in its own workload's sense of latency), "
				"from hist/*.hgrm: of each case the repetition "
				"with the median p99." % chosen))
		else:
			skipped.append("dist-chosen: no case with a histogram "
				       "matches %r" % chosen)
	return figs, skipped
