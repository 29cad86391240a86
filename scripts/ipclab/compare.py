"""Compare ipclab result folders (machines, or runs).

  scripts/compare.py [--out DIR] A B [C ...]

The first folder (A) is the baseline.  For every case present in A and in
another folder, per metric (p50 and p99 latency, messages/s): each side's
median over repetitions with its spread (min-max), the ratio of medians
(B/A, C/A, ...) and a two-sided Mann-Whitney U p-value over the repetitions
when both sides have at least 9 of them ("n/a (<9 reps)" otherwise).
Where either side carries sentinel readings, a difference is labelled
"within drift" when it is smaller than the larger relative move of the
sentinels (before vs after the case) on either side.  Cases present on
one side only are listed.  Each folder is read through its own
description (describe.json, or the frozen pre-describe layout).

Markdown and LaTeX tables go to stdout and, with overlay figures of the
machines, into the output folder: --out DIR, or by default
results/compare-YYYYmmddTHHMMSSZ/ under the repository (compare.md,
compare.tex, plots/).  Exit status: 0 done, 1 gnuplot failed, 2 bad
arguments, a missing or malformed bench.json or describe.json, or no scipy.
"""

import os
import sys
import time

from . import fmt as F
from . import plot
from . import sentinel as S
from . import stats
from .results import load, LoadError, sort_cases

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
	os.path.abspath(__file__))))
# (counter, heading, scale, formatter)
METRICS = (("p50_ns", "p50 latency (µs)", 1000.0, F.fmt_sig),
	   ("p99_ns", "p99 latency (µs)", 1000.0, F.fmt_sig),
	   ("msgs_per_s", "messages/s", 1.0, F.fmt_si))
USAGE = "usage: compare.py [--out DIR] A B [C ...] " \
	"(or: make compare A=DIR B=DIR [C=DIR ...])"


def side(c, metric, scale, fmt):
	s = c.stat(metric) if c is not None else None
	if s is None:
		return "-"
	return "%s n=%d" % (F.fmt_stat(s, scale, fmt), s.n)


def pvalue(a, b, metric):
	"""The U test p-value cell for one metric of two cases."""
	sa, sb = a.stat(metric), b.stat(metric)
	if sa is None or sb is None:
		return "-"
	if len(sa.samples) < stats.MWU_MIN_REPS or \
	   len(sb.samples) < stats.MWU_MIN_REPS:
		return "n/a (<%d reps)" % stats.MWU_MIN_REPS
	_, p, _ = stats.mann_whitney_u(sa.samples, sb.samples)
	return "%.3g" % p


def ratio(a, b, metric):
	ma, mb = a.median(metric), b.median(metric)
	if not ma or mb is None:
		return "-"
	return "%.3f" % (mb / ma)


def drift(a, b, metric):
	"""The drift cell: is the difference within the sentinels' move?"""
	v = S.versus(a, b, metric)
	if v is None:
		return "-"
	verdict, diff, bound = v
	return "%s (%s %s %s)" % (verdict, _pct(diff),
				  "<" if verdict == "within drift" else ">=",
				  _pct(bound))


def _pct(x):
	return "%s%%" % F.fmt_sig(100.0 * x, 2)


class Comparison:
	def __init__(self, runs, labels):
		self.runs = runs
		self.labels = labels
		names = [set(n for n, c in r.cases.items() if c.ok and c.parsed)
			 for r in runs]
		base = names[0]
		others = set().union(*names[1:])
		self.common = sort_cases(
			[runs[0].cases[n] for n in base & others])
		self.only = []	# (case name, labels that have it)
		for n in sorted(set().union(*names) - (base & others)):
			have = [lab for lab, ns in zip(labels, names) if n in ns]
			self.only.append((n, have))
		self.bad = []	# (label, case) skipped or failed
		for lab, r in zip(labels, runs):
			for c in r.bad_cases():
				self.bad.append((lab, c))
		self.sentinels = any(S.run_has_sentinels(r) for r in runs)

	def table(self, metric, heading, scale, fmt):
		cols = [("Case", "l")]
		for lab in self.labels:
			cols.append(("%s %s" % (lab, heading), "r"))
		for lab in self.labels[1:]:
			cols.append(("%s/%s" % (lab, self.labels[0]), "r"))
			cols.append(("p (U, %s vs %s)" % (lab, self.labels[0]),
				     "r"))
			if self.sentinels:
				cols.append(("drift (%s vs %s)" %
					     (lab, self.labels[0]), "l"))
		rows = []
		for a in self.common:
			cs = [r.cases.get(a.name) for r in self.runs]
			cs = [c if c is not None and c.ok else None for c in cs]
			row = [a.name]
			row += [side(c, metric, scale, fmt) for c in cs]
			for c in cs[1:]:
				if c is None:
					row += ["-", "-"]
				else:
					row += [ratio(a, c, metric),
						pvalue(a, c, metric)]
				if self.sentinels:
					row.append("-" if c is None else
						   drift(a, c, metric))
			rows.append(row)
		return cols, rows

	def latency_note(self):
		"""What each compared workload's latency is, by the first
		folder's description, and where a later folder differs."""
		first = self.runs[0].desc
		out = []
		for w in first.present([c.scenario for c in self.common
					if c.known], "workloads"):
			text = "%s: %s" % (w, first.latency_label(w))
			for lab, r in zip(self.labels[1:], self.runs[1:]):
				if r.desc.latency(w) != first.latency(w):
					text += " (%s says %s)" % (
						lab, r.desc.latency_label(w))
			out.append(text)
		return "; ".join(out)


def md_table(cols, rows):
	out = ["| " + " | ".join(F.md_escape(h) for h, _ in cols) + " |",
	       "|" + "|".join("---:" if a == "r" else "---"
			      for _, a in cols) + "|"]
	out += ["| " + " | ".join(F.md_escape(c) for c in r) + " |"
		for r in rows]
	return "\n".join(out) + "\n"


def tex_table(cols, rows, caption):
	spec = "".join(a for _, a in cols)
	head = " & ".join(F.tex_escape(h) for h, _ in cols)
	out = ["{\\scriptsize", "\\begin{longtable}{@{}%s@{}}" % spec,
	       "\\caption{%s}\\\\" % caption, "\\toprule", head + " \\\\",
	       "\\midrule", "\\endfirsthead", "\\toprule", head + " \\\\",
	       "\\midrule", "\\endhead", "\\bottomrule", "\\endlastfoot"]
	out += [" & ".join(F.tex_escape(c) for c in r) + " \\\\"
		for r in rows]
	out += ["\\end{longtable}", "}"]
	return "\n".join(out) + "\n"


def machines(cmp):
	out = []
	for lab, r in zip(cmp.labels, cmp.runs):
		text = "%s, %s (%s); %s" % (r.host, r.date, r.folder,
					    r.desc.what())
		n, of = S.drift_count([c for c in r.cases.values() if c.ok])
		if of:
			text += "; %d of %d cases drifted" % (n, of)
		out.append((lab, text))
	return out


NOTE = ("Medians over repetitions with (min–max) and the number of "
	"repetitions n; ratios are medians of the later machine over A's "
	"(below 1: lower latency or fewer messages/s than A). p: two-sided "
	"Mann-Whitney U test over the repetitions (scipy.stats.mannwhitneyu), "
	"exact when there are no ties and both sides have at most %d "
	"repetitions, normal approximation with tie and continuity "
	"correction otherwise; only when both sides have at least %d "
	"repetitions." % (stats.MWU_EXACT_MAX, stats.MWU_MIN_REPS))
DRIFT_NOTE = (" drift: the difference max/min - 1 of the two medians "
	      "against the larger move max/min - 1 of any sentinel probe "
	      "(before vs after one repetition of the case) on either side; "
	      "\"within drift\" when the difference is smaller, so the "
	      "machine moved more than the case did.")


def note(cmp):
	text = NOTE
	if cmp.sentinels:
		text += DRIFT_NOTE
	lat = cmp.latency_note()
	if lat:
		text += " Latency by workload: %s." % lat
	return text


def markdown(cmp, figs, skipped):
	out = ["# ipclab comparison\n"]
	out += ["- **%s**: %s" % (lab, F.md_escape(m))
		for lab, m in machines(cmp)]
	out.append("\n" + note(cmp) + "\n")
	for metric, heading, scale, fmt in METRICS:
		cols, rows = cmp.table(metric, heading, scale, fmt)
		out.append("## %s\n" % heading)
		out.append(md_table(cols, rows) if rows else
			   "No case present on both sides.\n")
	out.append("## Cases on one side only\n")
	if cmp.only:
		out.append(md_table([("Case", "l"), ("Present in", "l")],
				    [[n, ", ".join(h)] for n, h in cmp.only]))
	else:
		out.append("None.\n")
	out.append("## Skipped and failed cases\n")
	if cmp.bad:
		out.append(md_table([("Side", "l"), ("Case", "l"),
				     ("Reason", "l")],
				    [[lab, c.name, c.error or c.status]
				     for lab, c in cmp.bad]))
	else:
		out.append("None.\n")
	if figs or skipped:
		out.append("## Figures\n")
	for f in figs:
		out.append("![%s](plots/%s.png)\n\n*%s*\n" %
			   (f.name, f.name, F.md_escape(f.caption)))
	out += ["- not drawn: %s" % s for s in skipped]
	return "\n".join(out) + "\n"


def latex(cmp, figs):
	"""A LaTeX fragment: \\input it into a document that loads booktabs,
	longtable and graphicx (compare.tex is also a complete document
	when compiled alone: see latex_document)."""
	t = F.tex_escape
	out = ["%% ipclab comparison: %s" % "; ".join(
		"%s = %s" % (lab, m) for lab, m in machines(cmp))]
	out.append("\\noindent " + "\\\\\n".join(
		"%s: %s" % (t(lab), t(m)) for lab, m in machines(cmp)) + "\n")
	out.append(t(note(cmp)) + "\n")
	for metric, heading, scale, fmt in METRICS:
		cols, rows = cmp.table(metric, heading, scale, fmt)
		if rows:
			out.append(tex_table(cols, rows, t(heading)))
	if cmp.only:
		out.append(tex_table([("Case", "l"), ("Present in", "l")],
				     [[n, ", ".join(h)] for n, h in cmp.only],
				     "Cases on one side only"))
	for f in figs:
		out.append("\\begin{figure}[htbp]\\centering")
		out.append("\\input{plots/latex/%s.tex}" % f.name)
		out.append("\\caption{%s}" % t(f.caption))
		out.append("\\end{figure}\n")
	return "\n".join(out)


def latex_document(body):
	return "\n".join([
		"\\documentclass[10pt]{article}",
		"\\usepackage[margin=1.5cm,landscape]{geometry}",
		"\\usepackage{graphicx,xcolor,booktabs,longtable}",
		"\\begin{document}", body, "\\end{document}", ""])


def parse(argv):
	out, dirs = None, []
	i = 0
	while i < len(argv):
		a = argv[i]
		if a == "--out" and i + 1 < len(argv):
			out = argv[i + 1]
			i += 2
			continue
		if a.startswith("--out="):
			out = a[len("--out="):]
		elif a.startswith("-"):
			return None, None
		elif a:
			dirs.append(a)
		i += 1
	return out, dirs


def main(argv):
	out, dirs = parse(argv)
	if dirs is None or len(dirs) < 2:
		print(USAGE, file=sys.stderr)
		return 2
	if not stats.have_scipy():
		print("compare.py: %s" % stats.SCIPY_HINT, file=sys.stderr)
		return 2
	try:
		runs = [load(d) for d in dirs]
	except LoadError as e:
		print(e, file=sys.stderr)
		return 2
	labels = [chr(ord("A") + i) for i in range(len(runs))]
	cmp = Comparison(runs, labels)
	if not out:
		out = os.path.join(REPO, "results", "compare-" + time.strftime(
			"%Y%m%dT%H%M%SZ", time.gmtime()))
	os.makedirs(out, exist_ok=True)
	figs, skipped = plot.overlays(runs, labels)
	try:
		plot.render(figs, out)
	except plot.PlotError as e:
		print("compare.py: %s" % e, file=sys.stderr)
		return 1
	md = markdown(cmp, figs, skipped)
	tex = latex(cmp, figs)
	F.write_atomic(os.path.join(out, "compare.md"), md)
	F.write_atomic(os.path.join(out, "compare-tables.tex"), tex)
	F.write_atomic(os.path.join(out, "compare.tex"), latex_document(tex))
	try:
		sys.stdout.write(md)
		sys.stdout.write("\n")
		sys.stdout.write(tex)
		sys.stdout.write("\n%% written: %s\n" %
				 os.path.join(out, "compare.md"))
		sys.stdout.flush()
	except BrokenPipeError:
		# stdout closed early (| head): the files are written.
		os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
	return 0

