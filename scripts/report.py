#!/usr/bin/env python3
"""report.py - figures, report.md and report.tex for one ipclab result folder.

  scripts/report.py RESULTS_DIR

Writes RESULTS_DIR/plots/ (see plot.py), RESULTS_DIR/report.md (tables and
the PNG figures) and RESULTS_DIR/report.tex (booktabs tables, the cairolatex
figures and a Methodology section filled from the run's context), and
RESULTS_DIR/report.pdf when pdflatex is installed.  Every file is written
under a temporary name and renamed.  Exit status: 0 done, 1 a tool failed
(gnuplot, pdflatex), 2 bad arguments or a missing or malformed bench.json.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True	# keep scripts/ free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipclab_results as R  # noqa: E402
import plot  # noqa: E402

PDFLATEX_HINT = ("pdflatex not found: report.pdf not built (Debian: apt-get "
		 "install texlive-latex-base texlive-latex-recommended, or "
		 "texlive-latex-extra for everything)")
# pdflatex gets this long per pass before it is considered hung.
PDFLATEX_TIMEOUT_S = 120

SPREAD_NOTE = ("Each value is the median over the repetitions, with the "
	       "smallest and largest repetition in parentheses; \"±\" marks a "
	       "standard deviation taken from Google Benchmark's aggregates "
	       "when the file holds no individual repetitions.")


class Table:
	"""Columns (header, align 'l'/'r') and rows of cell strings."""

	def __init__(self, columns, rows):
		self.columns = columns
		self.rows = rows

	def markdown(self):
		head = "| " + " | ".join(R.md_escape(h)
					  for h, _ in self.columns) + " |"
		rule = "|" + "|".join("---:" if a == "r" else "---"
				      for _, a in self.columns) + "|"
		body = ["| " + " | ".join(R.md_escape(c) for c in r) + " |"
			for r in self.rows]
		return "\n".join([head, rule] + body) + "\n"

	def latex(self, caption, label):
		spec = "".join(a for _, a in self.columns)
		head = " & ".join(R.tex_escape(h) for h, _ in self.columns)
		out = ["{\\small",
		       "\\begin{longtable}{@{}%s@{}}" % spec,
		       "\\caption{%s}\\label{%s}\\\\" % (caption, label),
		       "\\toprule", head + " \\\\", "\\midrule",
		       "\\endfirsthead",
		       "\\toprule", head + " \\\\", "\\midrule",
		       "\\endhead",
		       "\\bottomrule", "\\endlastfoot"]
		for r in self.rows:
			out.append(" & ".join(R.tex_escape(c) for c in r) +
				   " \\\\")
		out += ["\\end{longtable}", "}"]
		return "\n".join(out) + "\n"


def _pool_cell(c):
	o = c.median("oversubscribed")
	return "%d%s" % (c.pool, "*" if o and o >= 0.5 else "")


def latency_table(cases, with_scenario):
	cols = ([("Scenario", "l")] if with_scenario else []) + [
		("Mechanism", "l"), ("Wait", "l"), ("Placement", "l"),
		("Size (B)", "r"), ("Pool", "r"), ("p50 µs", "r"),
		("p99 µs", "r"), ("Reps", "r")]
	rows = []
	for c in cases:
		rows.append(([c.scenario] if with_scenario else []) + [
			c.impl, c.wait, c.placement, str(c.size),
			_pool_cell(c),
			R.fmt_stat(c.stat("p50_ns"), 1000.0),
			R.fmt_stat(c.stat("p99_ns"), 1000.0),
			str(c.repetitions)])
	return Table(cols, rows)


def throughput_table(cases):
	cols = [("Scenario", "l"), ("Mechanism", "l"), ("Wait", "l"),
		("Placement", "l"), ("Size (B)", "r"), ("Pool", "r"),
		("messages/s", "r"), ("MB/s", "r"), ("Reps", "r")]
	rows = []
	for c in cases:
		rows.append([c.scenario, c.impl, c.wait, c.placement,
			     str(c.size), _pool_cell(c),
			     R.fmt_stat(c.stat("msgs_per_s"), 1.0, R.fmt_si),
			     R.fmt_stat(c.stat("bytes_per_s"), 1e6),
			     str(c.repetitions)])
	return Table(cols, rows)


def problem_table(run):
	rows = []
	for c in run.bad_cases():
		rows.append([c.name, c.status, c.error or ""])
	for c in run.partial_cases():
		rows.append([c.name, "partial",
			     "%d of %d repetitions failed: %s" %
			     (len(c.errors), len(c.errors) + len(c.reps),
			      c.error)])
	return Table([("Case", "l"), ("Status", "l"), ("Reason", "l")], rows)


def ctx(run, key, default="not recorded"):
	v = run.context.get(key)
	if v is None or v == "":
		return default
	if isinstance(v, (list, dict)):
		return json.dumps(v)
	return str(v)


def machine_lines(run):
	"""The machine in a few lines: (label, value)."""
	c = run.context
	cpus = "%s cores, %s PUs, %s NUMA node(s), SMT %s" % (
		ctx(run, "ipclab_cores", str(c.get("num_cpus", "?"))),
		ctx(run, "ipclab_pus", str(c.get("num_cpus", "?"))),
		ctx(run, "ipclab_numa_nodes", "?"), ctx(run, "ipclab_smt", "?"))
	return [
		("Host", run.host),
		("Date", run.date),
		("CPU", "%s (%s MHz)" % (ctx(run, "ipclab_cpu_model"),
					 ctx(run, "mhz_per_cpu", "?"))),
		("Topology", cpus),
		("Caches", ctx(run, "ipclab_caches")),
		("Virtualized", ctx(run, "ipclab_virtualized")),
		("Kernel", ctx(run, "ipclab_kernel")),
		("Clock", "%s, clocksource %s, read %s ns, resolution %s ns" % (
			ctx(run, "ipclab_clock"), ctx(run, "ipclab_clocksource"),
			ctx(run, "ipclab_clock_read_ns", "?"),
			ctx(run, "ipclab_clock_resolution_ns", "?"))),
		("Build", "ipclab %s, %s, %s build; Google Benchmark library "
		 "%s build" % (ctx(run, "ipclab_commit"),
			       ctx(run, "ipclab_compiler"),
			       ctx(run, "ipclab_build_type"),
			       ctx(run, "library_build_type"))),
		("Run", "profile %s; repetitions: %s; warm-up: %s" % (
			ctx(run, "ipclab_profile"),
			ctx(run, "ipclab_repetitions"),
			ctx(run, "ipclab_warmup"))),
	]


def split_cases(run):
	"""(the five scenarios' cases, round trip, one way, other cases such
	as micro-benchmarks)."""
	every = run.ok_cases()
	ok = [c for c in every if c.scenario in R.SCENARIOS]
	rtt = [c for c in ok if c.round_trip]
	oneway = [c for c in ok if not c.round_trip]
	other = [c for c in every if c.scenario not in R.SCENARIOS]
	return ok, rtt, oneway, other


def other_table(cases):
	return Table([("Case", "l"), ("ns per iteration", "r"),
		      ("Reps", "r")],
		     [[c.name, R.fmt_stat(c.stat("real_time")),
		       str(c.repetitions)] for c in cases])


def markdown(run, figs, skipped, pdf_note):
	ok, rtt, oneway, other = split_cases(run)
	out = ["# ipclab report: %s, %s\n" % (run.host, run.date)]
	for k, v in machine_lines(run):
		out.append("- **%s**: %s" % (k, R.md_escape(v)))
	out.append("\nLatencies come from per-message histograms: **round "
		   "trip** for pingpong (a message there and its reply back), "
		   "**one way** for stream, pairs, fanout and fanin (send "
		   "timestamp carried in the message to its receipt). " +
		   SPREAD_NOTE + " A pool marked * ran with more processes "
		   "than usable CPUs (oversubscribed).\n")
	out.append("## Round-trip latency (pingpong)\n")
	out.append(latency_table(rtt, False).markdown() if rtt else
		   "No pingpong case in these results.\n")
	out.append("\n## One-way latency (stream, pairs, fanout, fanin)\n")
	out.append(latency_table(oneway, True).markdown() if oneway else
		   "No one-way case in these results.\n")
	out.append("\n## Throughput\n")
	out.append("Messages per second and payload megabytes (10^6 B) per "
		   "second that arrived and were checked, summed over every "
		   "receiver of the case.\n")
	out.append(throughput_table(ok).markdown() if ok else
		   "No successful case in these results.\n")
	if other:
		out.append("\n## Other cases\n")
		out.append("Cases outside the five scenarios (such as "
			   "micro-benchmarks of the harness): Google Benchmark's "
			   "manual time per iteration.\n")
		out.append(other_table(other).markdown())
	out.append("\n## Skipped and failed cases\n")
	pt = problem_table(run)
	out.append(pt.markdown() if pt.rows else "None.\n")
	out.append("\n## Figures\n")
	for f in figs:
		out.append("![%s](plots/%s.png)\n\n*%s*\n" %
			   (f.name, f.name, R.md_escape(f.caption)))
	if skipped:
		out.append("Figures not drawn:\n")
		out += ["- %s" % s for s in skipped]
		out.append("")
	out.append("\nVector versions: `plots/*.pdf`; for LaTeX "
		   "`plots/latex/*.tex`; gnuplot sources `plots/gp/*.gp`. "
		   "%s\n" % pdf_note)
	return "\n".join(out)


def methodology(run):
	t = R.tex_escape
	placements = R.present([c.placement for c in run.ok_cases()],
			       R.PLACEMENTS)
	waits = R.present([c.wait for c in run.ok_cases()], R.WAITS)
	p = []
	p.append("\\section{Methodology}")
	p.append("\\paragraph{Machine and topology.} %s (%s), %s. Caches: %s. "
		 "Virtualized: %s. CPU frequency governor: %s. Kernel: %s; "
		 "mitigations: %s. The hwloc topology of the run is in "
		 "\\texttt{topology.xml} next to the results." % (
			 t(ctx(run, "ipclab_cpu_model")), t(run.host),
			 t(machine_lines(run)[3][1]),
			 t(ctx(run, "ipclab_caches")),
			 t(ctx(run, "ipclab_virtualized")),
			 t(ctx(run, "ipclab_governor")),
			 t(ctx(run, "ipclab_kernel")),
			 t(ctx(run, "ipclab_mitigations"))))
	p.append("\\paragraph{Clock.} Every timestamp is read from %s "
		 "(clocksource %s), a monotonic clock shared by all cores. "
		 "Reading it costs about %s\\,ns and its resolution is %s\\,ns; "
		 "latencies below a few times the read cost are dominated by "
		 "the clock itself." % (
			 t(ctx(run, "ipclab_clock")),
			 t(ctx(run, "ipclab_clocksource")),
			 t(ctx(run, "ipclab_clock_read_ns", "?")),
			 t(ctx(run, "ipclab_clock_resolution_ns", "?"))))
	p.append("\\paragraph{Placement.} Each process of a case is pinned to "
		 "one processing unit chosen from the topology by the "
		 "placement policy named in the case (%s here): "
		 "\\texttt{compact} fills neighbouring cores, \\texttt{scatter} "
		 "spreads over packages and caches, \\texttt{smt} shares a "
		 "core's hardware threads, \\texttt{cross-cache} and "
		 "\\texttt{cross-numa} force the named boundary between "
		 "partners, \\texttt{cpus} is an explicit CPU list and "
		 "\\texttt{none} leaves it to the scheduler. The label of each "
		 "case records the CPUs the processes really ran on. A pool "
		 "larger than the usable CPUs runs oversubscribed and is "
		 "marked so." % t(", ".join(placements) or "none"))
	p.append("\\paragraph{Wait strategies.} A receiver either blocks in "
		 "the kernel (\\texttt{block}), polls without sleeping "
		 "(\\texttt{spin}) or polls for a while and then blocks "
		 "(\\texttt{hybrid}); this run used %s. They are different "
		 "experiments (spinning avoids the wake-up and can be tens of "
		 "times faster), so figures never mix them on one line." %
		 t(", ".join(waits) or "none"))
	p.append("\\paragraph{Warm-up and repetitions.} Each case is warmed "
		 "up (%s) before it is measured, then repeated %s times "
		 "(profile %s). Tables give the median over repetitions with "
		 "the minimum and maximum; figures plot medians." % (
			 t(ctx(run, "ipclab_warmup")),
			 t(ctx(run, "ipclab_repetitions")),
			 t(ctx(run, "ipclab_profile"))))
	p.append("\\paragraph{What a latency is.} Latencies are percentiles "
		 "of per-message samples recorded in a log-linear histogram "
		 "(three significant digits), not total time divided by a "
		 "count. For \\texttt{pingpong} a sample is a \\emph{round "
		 "trip}: a message to the partner and its reply back. For "
		 "\\texttt{stream}, \\texttt{pairs}, \\texttt{fanout} and "
		 "\\texttt{fanin} a sample is \\emph{one way}: from the send "
		 "timestamp carried in the message to its receipt. Throughput "
		 "counts payload bytes that arrived and were checked.")
	p.append("\\paragraph{Google Benchmark.} Cases run under Google "
		 "Benchmark with manual timing: the suite measures each batch "
		 "itself with the clock above and hands the time to the "
		 "library, which only sizes iterations, repeats and writes the "
		 "JSON. The library reports its own build type as ``%s''; that "
		 "matters only for timings the library takes itself, and here "
		 "it takes none, so a debug build of the library does not "
		 "change any number in this report. ipclab itself was built as "
		 "%s with %s." % (t(ctx(run, "library_build_type")),
				   t(ctx(run, "ipclab_build_type")),
				   t(ctx(run, "ipclab_compiler"))))
	rows = []
	for k in sorted(run.context):
		v = run.context[k]
		if isinstance(v, (list, dict)):
			v = json.dumps(v, separators=(",", ":"))
			if len(v) > 60:
				v = v[:57] + "..."
		rows.append([k, str(v)])
	p.append("\\paragraph{Run context.} Every key Google Benchmark and "
		 "ipclab recorded in the context of \\texttt{bench.json}:")
	p.append(Table([("Key", "l"), ("Value", "p{0.6\\textwidth}")],
		       rows).latex("Run context.", "tab:context"))
	return "\n\n".join(p) + "\n"


def latex(run, figs, skipped):
	t = R.tex_escape
	ok, rtt, oneway, other = split_cases(run)
	out = ["\\documentclass[10pt]{article}",
	       "\\usepackage[margin=2cm]{geometry}",
	       "\\usepackage{graphicx,xcolor,booktabs,longtable}",
	       "\\title{ipclab: %s, %s}" % (t(run.host), t(run.date)),
	       "\\date{}",
	       "\\begin{document}", "\\maketitle"]
	out.append("\\section{Machine}")
	out.append("\\begin{tabular}{@{}ll@{}}\\toprule")
	for k, v in machine_lines(run):
		out.append("%s & %s \\\\" % (t(k), t(v)))
	out.append("\\bottomrule\\end{tabular}\n")
	out.append(methodology(run))
	out.append("\\section{Results}")
	out.append(t(SPREAD_NOTE) + " Latencies in microseconds; a pool "
		   "marked * ran oversubscribed.\n")
	if rtt:
		out.append(latency_table(rtt, False).latex(
			"Round-trip latency (pingpong), $\\mu$s.", "tab:rtt"))
	if oneway:
		out.append(latency_table(oneway, True).latex(
			"One-way latency, $\\mu$s.", "tab:oneway"))
	if ok:
		out.append(throughput_table(ok).latex(
			"Throughput: messages and payload megabytes "
			"($10^6$\\,B) per second, all receivers.", "tab:tput"))
	if other:
		out.append(other_table(other).latex(
			"Other cases: manual time per iteration, ns.",
			"tab:other"))
	pt = problem_table(run)
	if pt.rows:
		out.append(pt.latex("Skipped and failed cases.", "tab:bad"))
	for f in figs:
		out.append("\\begin{figure}[htbp]\\centering")
		out.append("\\input{plots/latex/%s.tex}" % f.name)
		out.append("\\caption{%s}\\label{fig:%s}" % (t(f.caption),
							     f.name))
		out.append("\\end{figure}\n")
	if skipped:
		out.append("\\paragraph{Figures not drawn.}")
		out.append("\\begin{itemize}")
		out += ["\\item %s" % t(s) for s in skipped]
		out.append("\\end{itemize}")
	out.append("\\end{document}")
	return "\n".join(out) + "\n"


def build_pdf(folder):
	"""Run pdflatex on folder/report.tex.  Returns (ok, message)."""
	exe = shutil.which("pdflatex")
	if exe is None:
		return True, PDFLATEX_HINT
	tmp = tempfile.mkdtemp(prefix=".latex-tmp-", dir=folder)
	try:
		for _ in range(2):	# second pass: references, longtable
			r = subprocess.run(
				[exe, "-interaction=nonstopmode", "-halt-on-error",
				 "-output-directory", os.path.basename(tmp),
				 "report.tex"], cwd=folder, capture_output=True,
				text=True, timeout=PDFLATEX_TIMEOUT_S,
				stdin=subprocess.DEVNULL)
			if r.returncode != 0:
				log = os.path.join(folder, "report.log")
				shutil.copyfile(os.path.join(tmp, "report.log"),
						log)
				err = [line for line in r.stdout.splitlines()
				       if line.startswith("!")]
				return False, "pdflatex failed on %s: %s (see %s)" \
					% (os.path.join(folder, "report.tex"),
					   err[0] if err else "?", log)
		os.replace(os.path.join(tmp, "report.pdf"),
			   os.path.join(folder, "report.pdf"))
		return True, "report.pdf built with pdflatex."
	finally:
		shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
	if len(argv) != 1 or argv[0].startswith("-") or not argv[0]:
		print("usage: report.py RESULTS_DIR (or: make report "
		      "RESULTS=DIR)", file=sys.stderr)
		return 2
	try:
		run = R.load(argv[0])
	except R.LoadError as e:
		print(e, file=sys.stderr)
		return 2
	folder = run.folder
	figs, skipped = plot.figures(run)
	try:
		plot.render(figs, folder)
	except plot.PlotError as e:
		print("report.py: %s" % e, file=sys.stderr)
		return 1
	pdf_note = ("report.pdf is built when pdflatex is installed."
		    if shutil.which("pdflatex") else PDFLATEX_HINT + ".")
	R.write_atomic(os.path.join(folder, "report.md"),
		       markdown(run, figs, skipped, pdf_note))
	R.write_atomic(os.path.join(folder, "report.tex"),
		       latex(run, figs, skipped))
	ok, msg = build_pdf(folder)
	print(os.path.join(folder, "report.md"))
	print(os.path.join(folder, "report.tex"))
	if not ok:
		print("report.py: %s" % msg, file=sys.stderr)
		return 1
	if shutil.which("pdflatex"):
		print(os.path.join(folder, "report.pdf"))
	else:
		print("report.py: %s" % msg, file=sys.stderr)
	return 0


if __name__ == "__main__":
	sys.exit(main(sys.argv[1:]))
