"""Figures, report.md and report.tex for one ipclab result folder.

  scripts/report.py RESULTS_DIR

Writes RESULTS_DIR/plots/ (see plot.py), RESULTS_DIR/report.md (tables and
the PNG figures) and RESULTS_DIR/report.tex (booktabs tables, the cairolatex
figures and a Methodology section filled from the run's context), and
RESULTS_DIR/report.pdf when pdflatex is installed.  Every file is written
under a temporary name and renamed.  Exit status: 0 done, 1 a tool failed
(gnuplot, pdflatex), 2 bad arguments or a missing or malformed bench.json
or describe.json.

Sections follow the folder's description: one latency table per kind of
latency its workloads have (round trip, one way, queueing delay at
saturation, lap, ...), in the description's order, never ranked by value.
Where the cases carry sentinel readings, each row shows them beside its
figures and drifted rows are marked.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

from . import fmt as F
from . import hgrm, load as L, matrix as M, plot, python_rows, sync_report
from . import sentinel as S
from . import pools  # issue 13: task pools, start-up, servers, coroutines
from . import fleet  # issue 17: a fleet folder (build/ipclab --fleet)
from .describe import LATENCY_NOTE
from .results import load, LoadError

PDFLATEX_HINT = ("pdflatex not found: report.pdf not built (Debian: apt-get "
		 "install texlive-latex-base texlive-latex-recommended, or "
		 "texlive-latex-extra for everything)")
# pdflatex gets this long per pass before it is considered hung.
PDFLATEX_TIMEOUT_S = 120

SPREAD_NOTE = ("Each value is the median over the repetitions, with the "
	       "smallest and largest repetition in parentheses; \"±\" marks a "
	       "standard deviation taken from Google Benchmark's aggregates "
	       "when the file holds no individual repetitions.")
SENTINEL_COLUMNS_NOTE = (
	"Sentinel columns: the medians over repetitions of the probes run on "
	"the case's own CPUs right before and right after it (before→after): "
	"a cache-line round trip in ns and a blocking wake-up round trip in "
	"µs. Drift: repetitions marked drifted / repetitions. A drifted row "
	"says as much about the host as about the mechanism; rows are in the "
	"description's order, never ranked.")


class Table:
	"""Columns (header, align 'l'/'r') and rows of cell strings."""

	def __init__(self, columns, rows):
		self.columns = columns
		self.rows = rows

	def markdown(self):
		head = "| " + " | ".join(F.md_escape(h)
					  for h, _ in self.columns) + " |"
		rule = "|" + "|".join("---:" if a == "r" else "---"
				      for _, a in self.columns) + "|"
		body = ["| " + " | ".join(F.md_escape(c) for c in r) + " |"
			for r in self.rows]
		return "\n".join([head, rule] + body) + "\n"

	def latex(self, caption, label):
		spec = "".join(a for _, a in self.columns)
		head = " & ".join(F.tex_escape(h) for h, _ in self.columns)
		out = ["{\\small",
		       "\\begin{longtable}{@{}%s@{}}" % spec,
		       "\\caption{%s}\\label{%s}\\\\" % (caption, label),
		       "\\toprule", head + " \\\\", "\\midrule",
		       "\\endfirsthead",
		       "\\toprule", head + " \\\\", "\\midrule",
		       "\\endhead",
		       "\\bottomrule", "\\endlastfoot"]
		for r in self.rows:
			out.append(" & ".join(F.tex_escape(c) for c in r) +
				   " \\\\")
		out += ["\\end{longtable}", "}"]
		return "\n".join(out) + "\n"


def _pool_cell(c):
	o = c.median("oversubscribed")
	return "%d%s" % (c.pool, "*" if o and o >= 0.5 else "")


def _axes_columns(cases):
	return [("Axes", "l")] if any(c.axes for c in cases) else []


def _sentinel_columns(cases):
	if not any(S.has_sentinels(c) for c in cases):
		return [], lambda c: []
	cols = [("Line ns", "r"), ("Wake µs", "r"), ("Drift", "r")]

	def cells(c):
		return [S.probe_cell(c, "line", 1.0),
			S.probe_cell(c, "wake", 1000.0), S.drift_cell(c)]
	return cols, cells


def _case_columns(cases):
	"""The columns that name a case, and a function giving its cells."""
	axes = bool(_axes_columns(cases))
	cols = [("Scenario", "l"), ("Mechanism", "l")] + \
		_axes_columns(cases) + [("Wait", "l"), ("Placement", "l"),
					("Size (B)", "r"), ("Pool", "r")]

	def cells(c):
		return [c.scenario, c.impl] + ([c.axes_text] if axes else []) + \
			[c.wait, c.placement, str(c.size), _pool_cell(c)]
	return cols, cells


def latency_table(cases):
	name_cols, name_cells = _case_columns(cases)
	sent_cols, sent_cells = _sentinel_columns(cases)
	cols = name_cols + [("p50 µs", "r"), ("p99 µs", "r"),
			    ("Reps", "r")] + sent_cols
	rows = []
	for c in cases:
		rows.append(name_cells(c) + [
			F.fmt_stat(c.stat("p50_ns"), 1000.0),
			F.fmt_stat(c.stat("p99_ns"), 1000.0),
			str(c.repetitions)] + sent_cells(c))
	return Table(cols, rows)


def throughput_table(cases):
	name_cols, name_cells = _case_columns(cases)
	sent_cols, sent_cells = _sentinel_columns(cases)
	cols = name_cols + [("messages/s", "r"), ("MB/s", "r"),
			    ("Reps", "r")] + sent_cols
	rows = []
	for c in cases:
		rows.append(name_cells(c) + [
			F.fmt_stat(c.stat("msgs_per_s"), 1.0, F.fmt_si),
			F.fmt_stat(c.stat("bytes_per_s"), 1e6),
			str(c.repetitions)] + sent_cells(c))
	return Table(cols, rows)


def other_table(cases):
	"""Cases shown by Google Benchmark's time per iteration."""
	sent_cols, sent_cells = _sentinel_columns(cases)
	return Table([("Case", "l"), ("ns per iteration", "r"),
		      ("Reps", "r")] + sent_cols,
		     [[c.name, F.fmt_stat(c.stat("real_time")),
		       str(c.repetitions)] + sent_cells(c) for c in cases])


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


def perf_table(run):
	"""perf bench sched pipe before and after the pipe block 64 B
	ping-pong, and ipclab's mean round trip over it."""
	rows = []
	for c in S.perf_cases(run):
		before = c.median(S.PERF_BEFORE)
		after = c.median(S.PERF_AFTER)
		mean = c.median("real_time")

		def ratio(perf):
			if not perf or mean is None:
				return "-"
			return "%.2f" % (mean / perf)
		rows.append([c.name, F.fmt_sig(before and before / 1e3),
			     F.fmt_sig(after and after / 1e3),
			     F.fmt_sig(mean and mean / 1e3),
			     ratio(before), ratio(after)])
	return Table([("Case", "l"), ("perf before µs", "r"),
		      ("perf after µs", "r"), ("ipclab mean µs", "r"),
		      ("ipclab/perf before", "r"), ("ipclab/perf after", "r")],
		     rows)


PERF_NOTE = ("`perf bench sched pipe` (the kernel's own pipe ping-pong) "
	     "ran pinned to the same two CPUs right before and right after "
	     "the case; its figure is one round trip (perf's own usecs/op "
	     "also counts the fork, exit and wait of its worker; runs since "
	     "session 10 take the difference of two lengths, which leaves "
	     "those out), as is ipclab's mean "
	     "(Google Benchmark's real_time per iteration, medians over "
	     "repetitions). A ratio near 1 says ipclab adds little to what "
	     "the kernel costs. Command: %s.")


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
		("Run", "profile %s; repetitions: %s; warm-up: %s; order: %s" % (
			ctx(run, "ipclab_profile"),
			ctx(run, "ipclab_repetitions"),
			ctx(run, "ipclab_warmup"), ctx(run, "ipclab_order"))),
		("Layout", run.desc.what()),
	]


class Sections:
	"""The run's cases grouped the way the report shows them."""

	def __init__(self, run):
		desc = run.desc
		ok = run.ok_cases()
		self.latency = []	# (kind, heading, workloads, cases)
		for kind in desc.kinds():
			if kind == "operation":
				continue
			ws = desc.workloads_of(kind)
			# open-loop cases have a table of their own (load.py)
			cs = [c for c in ok if c.scenario in ws and not L.is_open(c)]
			if cs:
				present = [w for w in ws
					   if any(c.scenario == w for c in cs)]
				self.latency.append((kind, desc.latency_label(
					ws[0]), present, cs))
		self.throughput = [c for c in ok if c.kind != "operation" and
				   c.stat("msgs_per_s") is not None]
		self.operation = [c for c in ok if c.kind == "operation"]
		self.other = run.other_cases()
		self.ok = ok


def _heading(label, workloads):
	return "%s%s (%s)" % (label[0].upper(), label[1:], ", ".join(workloads))


def _sentinel_summary(run):
	"""Sentences on drift, or None when no case carries sentinels."""
	cases = [c for c in run.cases.values() if c.ok]
	n, of = S.drift_count(cases)
	if not of and not any(S.has_sentinels(c) for c in cases):
		return None
	return ("%d of %d cases drifted: in at least one repetition the "
		"sentinel probes before and after the case differed by more "
		"than a factor of %s (ipclab_drift_factor). Probes: %s. "
		% (n, of, ctx(run, "ipclab_drift_factor", "?"),
		   ctx(run, "ipclab_sentinel")) + SENTINEL_COLUMNS_NOTE)


def counters_table(run):
	"""The description's counters that this run's cases carry."""
	seen = set()
	for c in run.cases.values():
		for r in c.reps:
			seen.update(r)
		for a in c.aggregates.values():
			seen.update(a)
	d = run.desc
	return Table([("Counter", "l"), ("Unit", "l"), ("Meaning", "l")],
		     [[n, str(d.counters[n].get("unit", "")),
		       str(d.counters[n].get("meaning", ""))]
		      for n in d.counter_names if n in seen])


def markdown(run, figs, skipped, pdf_note):
	sec = Sections(run)
	out = ["# ipclab report: %s, %s\n" % (run.host, run.date)]
	for k, v in machine_lines(run):
		out.append("- **%s**: %s" % (k, F.md_escape(v)))
	out.append("\nLatencies come from per-message histograms; what a "
		   "sample is depends on the workload (see each table). " +
		   SPREAD_NOTE + " A pool marked * ran with more processes "
		   "than usable CPUs (oversubscribed).\n")
	drift = _sentinel_summary(run)
	if drift:
		out.append("## Sentinels and drift\n")
		out.append(drift + "\n")
	for kind, label, ws, cs in sec.latency:
		out.append("## %s\n" % _heading(label, ws))
		out.append("A sample is %s.\n" % LATENCY_NOTE.get(kind, kind))
		out.append(latency_table(cs).markdown())
	if not sec.latency:
		out.append("No latency case in these results.\n")
	lt = L.table(run)
	if lt:
		out.append("## Latency under open-loop load\n")
		out.append(L.NOTE + "\n")
		out.append(Table(*lt).markdown())
	out.append("## Throughput\n")
	out.append("Messages per second and payload megabytes (10^6 B) per "
		   "second that arrived and were checked, summed over every "
		   "receiver of the case.\n")
	out.append(throughput_table(sec.throughput).markdown()
		   if sec.throughput else
		   "No successful case in these results.\n")
	if sec.operation:
		ws = run.desc.present([c.scenario for c in sec.operation],
				      "workloads")
		out.append("\n## %s\n" % _heading(
			run.desc.latency_label(ws[0]), ws))
		out.append("Yardsticks of the harness and the hardware: "
			   "Google Benchmark's manual time per iteration.\n")
		out.append(other_table(sec.operation).markdown())
	out.append(sync_report.markdown(run))
	if sec.other:
		out.append("\n## Other cases\n")
		out.append("Cases outside the workloads of this folder's "
			   "description: Google Benchmark's manual time per "
			   "iteration.\n")
		out.append(other_table(sec.other).markdown())
	perf = perf_table(run)
	if perf.rows:
		out.append("\n## Checked against perf bench\n")
		out.append(PERF_NOTE % ctx(run, "ipclab_perf_pipe") + "\n")
		out.append(perf.markdown())
	out.append("\n## Skipped and failed cases\n")
	pt = problem_table(run)
	out.append(pt.markdown() if pt.rows else "None.\n")
	ct = counters_table(run)
	if ct.rows:
		out.append("\n## Counters\n")
		out.append(ct.markdown())
	out.append("\n## Figures\n")
	for f in figs:
		out.append("![%s](plots/%s.png)\n\n*%s*\n" %
			   (f.name, f.name, F.md_escape(f.caption)))
	if skipped:
		out.append("Figures not drawn:\n")
		out += ["- %s" % s for s in skipped]
		out.append("")
	out.append("\nVector versions: `plots/*.pdf`; for LaTeX "
		   "`plots/latex/*.tex`; gnuplot sources `plots/gp/*.gp`. "
		   "%s\n" % pdf_note)
	return "\n".join(out)


def methodology(run):
	t = F.tex_escape
	d = run.desc
	placements = d.present([c.placement for c in run.ok_cases()],
			       "placements")
	waits = d.present([c.wait for c in run.ok_cases()], "waits")
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
		 "(profile %s; order of the repetitions: %s). Tables give the "
		 "median over repetitions with the minimum and maximum; "
		 "figures plot medians." % (
			 t(ctx(run, "ipclab_warmup")),
			 t(ctx(run, "ipclab_repetitions")),
			 t(ctx(run, "ipclab_profile")),
			 t(ctx(run, "ipclab_order"))))
	kinds = []
	for kind in d.kinds():
		ws = d.workloads_of(kind)
		kinds.append("%s gives %s: a sample is %s" % (
			", ".join("\\texttt{%s}" % t(w) for w in ws),
			t(d.latency_label(ws[0])), t(LATENCY_NOTE.get(kind, kind))))
	p.append("\\paragraph{What a latency is.} Latencies are percentiles "
		 "of per-message samples recorded in a log-linear histogram "
		 "(three significant digits), not total time divided by a "
		 "count; %s. Throughput counts payload bytes that arrived and "
		 "were checked. The workloads and what they measure are read "
		 "from the folder itself (%s)." % ("; ".join(kinds),
						   t(d.what())))
	drift = _sentinel_summary(run)
	if drift:
		p.append("\\paragraph{Sentinels.} " + t(drift))
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
		v = str(v)
		if len(v) > 60:
			v = v[:57] + "..."
		rows.append([k, v])
	p.append("\\paragraph{Run context.} Every key Google Benchmark and "
		 "ipclab recorded in the context of \\texttt{bench.json}:")
	p.append(Table([("Key", "l"), ("Value", "p{0.6\\textwidth}")],
		       rows).latex("Run context.", "tab:context"))
	return "\n\n".join(p) + "\n"


def latex(run, figs, skipped):
	t = F.tex_escape
	sec = Sections(run)
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
	for kind, label, ws, cs in sec.latency:
		out.append(latency_table(cs).latex(
			"%s, $\\mu$s: a sample is %s." % (
				t(_heading(label, ws)),
				t(LATENCY_NOTE.get(kind, kind))),
			"tab:lat-%s" % kind.replace(" ", "-")))
	lt = L.table(run)
	if lt:
		out.append(Table(*lt).latex(t("Latency under open-loop load, "
					      "µs. " + L.NOTE).replace("µ", "$\\mu$"),
					    "tab:load"))
	if sec.throughput:
		out.append(throughput_table(sec.throughput).latex(
			"Throughput: messages and payload megabytes "
			"($10^6$\\,B) per second, all receivers.", "tab:tput"))
	if sec.operation:
		out.append(other_table(sec.operation).latex(
			"Yardsticks: manual time per iteration, ns.",
			"tab:operation"))
	out.append(sync_report.latex(run))
	if sec.other:
		out.append(other_table(sec.other).latex(
			"Other cases: manual time per iteration, ns.",
			"tab:other"))
	perf = perf_table(run)
	if perf.rows:
		note = PERF_NOTE.replace("`", "") % ctx(run, "ipclab_perf_pipe")
		out.append(perf.latex(t("Checked against perf bench: " + note),
				      "tab:perf"))
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
	# --hist=REGEX: also overlay the distributions of these cases (hgrm.py)
	chosen = [a[7:] for a in argv if a.startswith("--hist=")]
	argv = [a for a in argv if not a.startswith("--hist=")]
	if len(argv) != 1 or argv[0].startswith("-") or not argv[0] or \
	   len(chosen) > 1 or (chosen and not chosen[0]):
		print("usage: report.py [--hist=CASE_REGEX] RESULTS_DIR (or: make "
		      "report RESULTS=DIR [HIST=CASE_REGEX])", file=sys.stderr)
		return 2
	if fleet.is_fleet(argv[0]) and not chosen:
		return fleet.main(argv[0])  # every host's rows, a host column
	try:
		run = load(argv[0])
	except LoadError as e:
		print(e, file=sys.stderr)
		return 2
	folder = run.folder
	figs, skipped = plot.figures(run)
	more, why = hgrm.figures(run, chosen[0] if chosen else None)
	figs, skipped = figs + more, skipped + why
	more, why = L.figures(run)
	figs, skipped = figs + more, skipped + why
	try:
		plot.render(figs, folder)
		more, why = M.figures(run)
		figs, skipped = figs + more, skipped + why
	except plot.PlotError as e:
		print("report.py: %s" % e, file=sys.stderr)
		return 1
	pdf_note = ("report.pdf is built when pdflatex is installed."
		    if shutil.which("pdflatex") else PDFLATEX_HINT + ".")
	F.write_atomic(os.path.join(folder, "report.md"),
		       markdown(run, figs, skipped, pdf_note))
	F.write_atomic(os.path.join(folder, "report.tex"),
		       latex(run, figs, skipped))
	python_rows.add_to_report(folder)  # Python beside the raw rows
	pools.add_to_report(folder)  # task pools and worker start-up (issue 13)
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
