"""Core-to-core heatmaps of the `matrix` workload.

A result folder of a run with the matrix workload holds, per mechanism and
wait, matrix-MECH-WAIT-p50.csv and matrix-MECH-WAIT-p99.csv (first column
the sender's PU, the other columns the receivers; round-trip latency in ns,
each cell the median over the case's kept repetitions of that pair's p50 or
p99, empty on the diagonal and for pairs a sample left out) and
matrix-classes.csv (the same shape: the hwloc class of each pair).  Here
each value matrix becomes a heatmap, plots/matrix-MECH-WAIT-p50 (and p99),
as PNG, PDF and cairolatex, with the borders between pair classes (SMT
siblings, shared L2/L3, package, NUMA node) drawn over the cells.
"""

import csv
import math
import os
import re
import shutil
import subprocess
import tempfile

from . import plot

_NAME = re.compile(r"^matrix-(?P<mech>.+)-(?P<wait>block|spin|hybrid)-"
		   r"(?P<stat>p50|p99)\.csv$")
CLASSES = "matrix-classes.csv"
# Up to this many PUs each cell shows its value.
LABEL_MAX_PUS = 16


class MatrixError(Exception):
	pass


def read(path):
	"""(pus, rows): pus the column PUs, rows [(sender, [cell or None])];
	cells are floats for a value file, strings for the classes."""
	try:
		with open(path, newline="", encoding="ascii") as f:
			table = list(csv.reader(f))
	except (OSError, UnicodeDecodeError) as e:
		raise MatrixError("%s: cannot read: %s" % (path, e)) from None
	if not table or table[0][0] != "sender":
		raise MatrixError("%s: no 'sender' header" % path)
	try:
		pus = [int(x) for x in table[0][1:]]
		rows = []
		for r in table[1:]:
			if len(r) != len(pus) + 1:
				raise MatrixError("%s: row %s has %d cells, want %d" %
						  (path, r[:1], len(r), len(pus) + 1))
			rows.append((int(r[0]), [c if c == "" else c for c in r[1:]]))
	except ValueError as e:
		raise MatrixError("%s: %s" % (path, e)) from None
	return pus, rows


def values(path):
	pus, rows = read(path)
	try:
		return pus, [(s, [float(c) if c != "" else None for c in cells])
			     for s, cells in rows]
	except ValueError as e:
		raise MatrixError("%s: %s" % (path, e)) from None


def files(folder):
	"""[(mech, wait, stat, path)] of the folder's matrix CSVs, sorted."""
	out = []
	for name in sorted(os.listdir(folder)):
		m = _NAME.match(name)
		if m:
			out.append((m.group("mech"), m.group("wait"), m.group("stat"),
				    os.path.join(folder, name)))
	return out


def class_edges(classes):
	"""Segments (x0, y0, x1, y1) in cell coordinates (cell (i, j) spans
	i-0.5 .. i+0.5) between neighbouring cells of different classes; the
	diagonal counts as its own class."""
	n = len(classes)
	edges = []
	for i in range(n):
		for j in range(n):
			here = classes[i][j]
			if j + 1 < n and classes[i][j + 1] != here:
				edges.append((j + 0.5, i - 0.5, j + 0.5, i + 0.5))
			if i + 1 < n and classes[i + 1][j] != here:
				edges.append((j - 0.5, i + 0.5, j + 0.5, i + 0.5))
	return edges


def script(name, title, pus, rows, classes, term, out):
	"""gnuplot commands drawing one heatmap on term ('pdf', 'png',
	'latex')."""
	n = len(pus)
	side = max(3.0, min(9.0, 1.2 + 0.25 * n))
	if term == "pdf":
		t = "set terminal pdfcairo noenhanced size %gin,%gin font 'Sans,9'" \
		    % (side + 1.2, side)
	elif term == "png":
		t = "set terminal pngcairo noenhanced size %d,%d font 'Sans,9'" \
		    % ((side + 1.2) * plot.PNG_DPI, side * plot.PNG_DPI)
	else:
		t = "set terminal cairolatex pdf input size %gin,%gin" % \
		    (min(side + 1.2, 6.7), min(side, 5.5))
	lines = [t, "set output %s" % plot._q(out), "reset",
		 "set title %s" % plot._q(plot._tex(title) if term == "latex"
					  else title),
		 "set xlabel 'receiver PU'", "set ylabel 'sender PU'",
		 "set cblabel 'round trip (µs)'" if term != "latex" else
		 "set cblabel 'round trip ($\\mu$s)'",
		 "set xrange [-0.5:%g]" % (n - 0.5),
		 "set yrange [%g:-0.5]" % (n - 0.5),
		 "set palette defined (0 '#fff5eb', 0.5 '#fdae6b', 1 '#e6550d')",
		 "set logscale cb", "set size ratio -1", "unset key"]
	vs = [v / 1000.0 for _, cells in rows for v in cells if v]
	if vs:	# at least a factor of 2 from end to end of the colour bar
		lo, hi = min(vs) / 1.42, max(vs) * 1.42
		lines.append("set cbrange [%r:%r]" % (lo, hi))
		lines.append("set cbtics (%s)" % ", ".join(
			"'%.3g' %r" % (v, v) for v in
			(lo, math.sqrt(lo * hi), hi)))
	step = max(1, n // 16)
	tics = ", ".join("'%d' %d" % (pus[i], i) for i in range(0, n, step))
	lines += ["set xtics (%s)" % tics, "set ytics (%s)" % tics]
	for x0, y0, x1, y1 in class_edges(classes):
		lines.append("set arrow from %g,%g to %g,%g nohead front "
			     "lw 2 lc rgb '#000000'" % (x0, y0, x1, y1))
	lines.append("$m << EOD")
	for i, (_, cells) in enumerate(rows):
		for j, v in enumerate(cells):
			if v is None or v <= 0:
				lines.append('%d %d NaN ""' % (j, i))
			else:
				lines.append('%d %d %r "%.3g"' % (j, i, v / 1000.0,
								  v / 1000.0))
		lines.append("")
	lines.append("EOD")
	# NaN cells (diagonal, pairs a sample left out) stay blank; small
	# matrices carry their values as text.
	plots = "$m u 1:2:3 with image"
	if n <= LABEL_MAX_PUS:
		plots += ", $m u 1:2:4 with labels font ',8'"
	lines.append("plot " + plots)
	lines.append("set output")
	return lines


class Heatmap:
	"""What the report lists of a heatmap (like plot.Figure)."""

	def __init__(self, name, caption):
		self.name = name
		self.caption = caption


def figures(run):
	"""Draw every heatmap of the folder into plots/.  Returns (heatmaps,
	skipped).  Raises plot.PlotError when gnuplot fails."""
	folder = run.folder
	found = files(folder)
	if not found:
		return [], []
	cpath = os.path.join(folder, CLASSES)
	try:
		cpus, crows = read(cpath)
		classes = [[c if c else "self" for c in cells] for _, cells in crows]
	except MatrixError as e:
		return [], ["matrix heatmaps: %s" % e]
	if shutil.which("gnuplot") is None:
		raise plot.PlotError("gnuplot not found (Debian: apt-get install "
				     "gnuplot-nox)")
	maps, skipped = [], []
	tmp = tempfile.mkdtemp(prefix=".matrix-tmp-", dir=folder)
	try:
		for sub in ("plots", "plots/latex", "plots/gp"):
			os.makedirs(os.path.join(tmp, sub), exist_ok=True)
			os.makedirs(os.path.join(folder, sub), exist_ok=True)
		for mech, wait, stat, path in found:
			try:
				pus, rows = values(path)
			except MatrixError as e:
				skipped.append("matrix heatmap: %s" % e)
				continue
			if pus != cpus:
				skipped.append("matrix heatmap %s: its PUs differ from "
					       "%s" % (os.path.basename(path), CLASSES))
				continue
			name = "matrix-%s-%s-%s" % (mech, wait, stat)
			title = "%s %s wait: %s round trip, sender to receiver - %s" \
				% (mech, wait, stat, run.host)
			gp = []
			for term, out in (("pdf", "plots/%s.pdf" % name),
					  ("png", "plots/%s.png" % name),
					  ("latex", "plots/latex/%s.tex" % name)):
				gp += script(name, title, pus, rows, classes, term, out)
			with open(os.path.join(tmp, "plots/gp/%s.gp" % name), "w",
				  encoding="utf-8") as f:
				f.write("\n".join(gp) + "\n")
			r = subprocess.run(["gnuplot", "plots/gp/%s.gp" % name],
					   cwd=tmp, capture_output=True, text=True,
					   timeout=60)
			if r.returncode != 0:
				raise plot.PlotError("gnuplot failed on %s: %s" % (
					name, (r.stderr.strip().splitlines() or
					       ["?"])[-1]))
			measured = sum(v is not None for _, c in rows for v in c)
			maps.append(Heatmap(name, (
				"%s round trip of %s (%s wait), the median over the "
				"kept repetitions, from each sender PU "
				"(row) to each receiver PU (column), %d of %d ordered "
				"pairs measured, from %s; black lines separate pair "
				"classes (SMT siblings, shared L2/L3, package, NUMA "
				"node, from %s)." % (stat, mech, wait, measured,
						    len(pus) * (len(pus) - 1),
						    os.path.basename(path), CLASSES))))
		for sub in ("plots", "plots/latex", "plots/gp"):
			for name in sorted(os.listdir(os.path.join(tmp, sub))):
				src = os.path.join(tmp, sub, name)
				if os.path.isfile(src):
					os.replace(src, os.path.join(folder, sub, name))
	finally:
		shutil.rmtree(tmp, ignore_errors=True)
	return maps, skipped


def log_span(rows):
	"""Decades the measured values span (for captions and tests)."""
	vs = [v for _, c in rows for v in c if v]
	return math.log10(max(vs) / min(vs)) if vs else 0.0
