"""python_rows.py - Python's rows (python.json, written by bench/python) in
the report, beside the raw mechanisms under them.

Two entry points, each called with one line by the scripts:
  entries(folder)        the benchmarks of FOLDER/python.json ([] when there
                         is none), so that loading a result folder reads the
                         Python rows like the C rows (tables, plots, compare);
  add_to_report(folder)  appends "Python beside the raw mechanisms" to
                         report.md and report.tex: each Python row next to
                         the raw mechanism under it with the column
                         "Python overhead = py / raw", and the figure
                         plots/python-overhead.{png,pdf} (both on one axis).
Python 3 standard library only.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

PY_JSON = "python.json"
FIGURE = "python-overhead"
GNUPLOT_TIMEOUT_S = 60

# The raw mechanism under each Python subject, per workload (issue 14):
# mp.Pipe() duplex is a Unix stream socketpair, Pipe(duplex=False) an
# os.pipe; the queues write an os.pipe; the manager's proxies talk over a
# Unix stream socket; py-shm is shared memory; every multiprocessing lock,
# semaphore, event, condition and value is a POSIX named semaphore.
CHANNEL_RAW = {"py-pipe": {"pingpong": "unix-stream", "stream": "pipe"},
	       "py-queue": "pipe", "py-simplequeue": "pipe",
	       "py-joinablequeue": "pipe", "py-manager-queue": "unix-stream",
	       "py-shm": "shmring"}
SYNC_RAW = "posix-sem-named"
# A Python case name, extra axes (such as /chunk:16) allowed.
PY_CASE = re.compile(r"^(?P<scenario>[^/]+)/(?P<impl>py-[^/]+)/(?P<wait>[^/]+)/"
		     r"(?P<placement>[^/]+)/size:(?P<size>\d+)/pool:(?P<pool>\d+)"
		     r"(?P<extra>(/[^/]+:[^/]+)*)$")
SYNC_SUBJECTS = ("py-lock", "py-rlock", "py-semaphore", "py-event",
		 "py-condition", "py-barrier", "py-value")


def raw_of(subject, scenario):
	if subject in SYNC_SUBJECTS:
		return SYNC_RAW
	r = CHANNEL_RAW.get(subject)
	if isinstance(r, dict):
		return r.get(scenario)
	return r


def entries(folder):
	"""The benchmarks list of folder/python.json; [] when there is none.
	A python.json that cannot be read is reported on stderr and left out
	(the C rows are still reported)."""
	path = os.path.join(folder, PY_JSON)
	if not os.path.exists(path):
		return []
	try:
		with open(path, encoding="utf-8") as f:
			doc = json.load(f)
		bench = doc["benchmarks"]
		if not isinstance(bench, list):
			raise TypeError("\"benchmarks\" is not a list")
	except (OSError, ValueError, KeyError, TypeError) as e:
		print("%s: left out, cannot be read: %s" % (path, e), file=sys.stderr)
		return []
	return bench


def pairs(run):
	"""[(python case, raw case or None)] for every successful Python row."""
	out = []
	cases = list(run.cases.values())
	by_key = {}
	for c in cases:
		if c.parsed and c.ok and not c.impl.startswith("py-"):
			by_key[(c.scenario, c.impl, c.wait, c.placement, c.size, c.pool)] = c
	for c in cases:
		m = PY_CASE.match(c.name)
		if not (m and c.ok):
			continue
		if not c.parsed:	# a Python axis the loader does not know
			c.scenario, c.impl, c.wait, c.placement = \
				m.group("scenario"), m.group("impl"), m.group("wait"), m.group("placement")
			c.size, c.pool = int(m.group("size")), int(m.group("pool"))
		c.extra = m.group("extra").replace("/", " ")
		raw = raw_of(c.impl, c.scenario)
		r = by_key.get((c.scenario, raw, c.wait, c.placement, c.size, c.pool))
		if r is None and c.scenario in ("handoff", "contend", "counter"):
			# locks: the C side's size may differ; any size will do.
			cand = [v for k, v in by_key.items()
				if k[0] == c.scenario and k[1] == raw and k[2] == c.wait
				and k[3] == c.placement and k[5] == c.pool]
			r = min(cand, key=lambda v: v.size) if cand else None
		out.append((c, r))
	return out


def _ratio(a, b):
	return a / b if a is not None and b else None


def rows(run):
	"""Table rows: strings, and the numbers behind the figure."""
	from . import fmt as R
	out, points = [], []
	for c, r in sorted(pairs(run), key=lambda p: (p[0].scenario, p[0].impl, p[0].name)):
		py_t, py_p50 = c.median("real_time"), c.median("p50_ns")
		raw_t = r.median("real_time") if r else None
		raw_p50 = r.median("p50_ns") if r else None
		over = _ratio(py_t, raw_t)
		want = raw_of(c.impl, c.scenario)
		raw_name = r.impl if r else ("%s (not run)" % want if want else "-")
		out.append([c.scenario + c.extra, c.impl, raw_name,
			    c.wait, c.placement, str(c.size), str(c.pool),
			    R.fmt_sig(py_t / 1e3) if py_t else "-",
			    R.fmt_sig(raw_t / 1e3) if raw_t else "-",
			    R.fmt_sig(py_p50 / 1e3) if py_p50 else "-",
			    R.fmt_sig(raw_p50 / 1e3) if raw_p50 else "-",
			    ("%.2f" % over) if over else "-",
			    ("%.2f" % _ratio(py_p50, raw_p50)) if _ratio(py_p50, raw_p50) else "-"])
		if over:
			points.append(("%s %s/%s" % (c.scenario, c.impl, r.impl), raw_t / 1e3, py_t / 1e3))
	return out, points


COLUMNS = [("Scenario", "l"), ("Python", "l"), ("Raw", "l"), ("Wait", "l"),
	   ("Placement", "l"), ("Size (B)", "r"), ("Pool", "r"),
	   ("py µs/msg", "r"), ("raw µs/msg", "r"), ("py p50 µs", "r"),
	   ("raw p50 µs", "r"), ("Python overhead = py / raw", "r"),
	   ("p50 py / raw", "r")]
NOTE = ("Each Python row (bench/python, python.json) beside the raw "
	"mechanism under it, same scenario, wait, placement, size and pool, "
	"same run folder. µs/msg is the median over the repetitions of the "
	"time per iteration (a round trip for pingpong and handoff, a message "
	"for stream, fanout and fanin, an operation for contend and counter): "
	"\"Python overhead = py / raw\" is its ratio; p50 py / raw compares the "
	"latency medians. Raw: mp.Pipe() duplex is a unix-stream socketpair and "
	"Pipe(duplex=False) a pipe; the queues write a pipe; the manager's "
	"proxies use a unix-stream socket; py-shm is shared memory (shmring); "
	"every multiprocessing lock, semaphore, event, condition and value is a "
	"POSIX named semaphore (posix-sem-named). \"(not run)\": that raw row is "
	"not in this folder.")


def _gnuplot(folder, points):
	"""Draw plots/FIGURE.{png,pdf}; returns None or why it was not drawn."""
	if not points:
		return "no Python row has its raw mechanism in this folder"
	if shutil.which("gnuplot") is None:
		return "gnuplot not found (Debian: apt-get install gnuplot-nox)"
	plots = os.path.join(folder, "plots")
	os.makedirs(os.path.join(plots, "gp"), exist_ok=True)
	data = "\n".join("\"%s\" %g %g" % (n.replace("\"", "'"), raw, py)
			 for n, raw, py in points)
	body = ["set logscale y", "set grid ytics",
		"set ylabel 'time per iteration (us), median of repetitions'",
		"set xtics rotate by -35 font ',8'", "set key top right",
		"set rmargin 14", "set bmargin 12",
		"set xrange [-0.5:%g]" % (len(points) - 0.5),
		"$d << EOD", data, "EOD",
		"plot $d using 0:2:xtic(1) with points pt 7 ps 1.3 title 'raw mechanism', "
		"$d using 0:3 with points pt 9 ps 1.5 title 'Python (py-)'"]
	script = "\n".join(["set terminal pngcairo size 1000,560",
			    "set output 'plots/%s.png'" % FIGURE] + body +
			   ["set terminal pdfcairo size 7in,4in",
			    "set output 'plots/%s.pdf'" % FIGURE] + body[-1:] +
			   ["unset output"])
	gp = os.path.join(plots, "gp", FIGURE + ".gp")
	tmpdir = tempfile.mkdtemp(prefix=".pyrows.", dir=plots)
	try:
		with open(os.path.join(tmpdir, "s.gp"), "w", encoding="utf-8") as f:
			f.write(script.replace("plots/", tmpdir + "/") + "\n")
		r = subprocess.run(["gnuplot", os.path.join(tmpdir, "s.gp")], capture_output=True,
				   text=True, timeout=GNUPLOT_TIMEOUT_S)
		if r.returncode != 0:
			return "gnuplot failed: %s" % (r.stderr.strip().splitlines() or ["?"])[-1]
		for ext in ("png", "pdf"):
			os.replace(os.path.join(tmpdir, "%s.%s" % (FIGURE, ext)),
				   os.path.join(plots, "%s.%s" % (FIGURE, ext)))
		_write(gp, script + "\n")
	except (OSError, subprocess.TimeoutExpired) as e:
		return "gnuplot: %s" % e
	finally:
		shutil.rmtree(tmpdir, ignore_errors=True)
	return None


def _write(path, text):
	tmp = "%s.tmp.%d" % (path, os.getpid())
	with open(tmp, "w", encoding="utf-8") as f:
		f.write(text)
	os.replace(tmp, path)


def _md(table, why_no_fig):
	from . import fmt as R
	out = ["\n## Python beside the raw mechanisms\n", NOTE + "\n"]
	out.append("| " + " | ".join(h for h, _ in COLUMNS) + " |")
	out.append("|" + "|".join("---:" if a == "r" else "---" for _, a in COLUMNS) + "|")
	out += ["| " + " | ".join(R.md_escape(x) for x in r) + " |" for r in table]
	if why_no_fig:
		out.append("\nFigure not drawn: %s.\n" % why_no_fig)
	else:
		out.append("\n![%s](plots/%s.png)\n\n*Time per iteration of each Python "
			   "row and of the raw mechanism under it, on one axis.*\n" % (FIGURE, FIGURE))
	return "\n".join(out) + "\n"


def _tex(table, why_no_fig):
	from . import fmt as R
	t = R.tex_escape
	spec = "".join(a for _, a in COLUMNS)
	out = ["\\section{Python beside the raw mechanisms}", t(NOTE) + "\n",
	       "{\\scriptsize", "\\begin{longtable}{@{}%s@{}}" % spec,
	       "\\toprule", " & ".join(t(h) for h, _ in COLUMNS) + " \\\\", "\\midrule"]
	out += [" & ".join(t(x) for x in r) + " \\\\" for r in table]
	out += ["\\bottomrule", "\\end{longtable}", "}"]
	if why_no_fig:
		out.append("Figure not drawn: %s.\n" % t(why_no_fig))
	else:
		out += ["\\begin{figure}[htbp]\\centering",
			"\\includegraphics[width=\\linewidth]{plots/%s.pdf}" % FIGURE,
			"\\caption{Time per iteration of each Python row and of the raw "
			"mechanism under it.}\\label{fig:%s}" % FIGURE, "\\end{figure}"]
	return "\n".join(out) + "\n"


def add_to_report(folder):
	"""Append the Python section to folder/report.md and report.tex (both
	already written); nothing when the folder has no python.json."""
	if not os.path.exists(os.path.join(folder, PY_JSON)):
		return
	from .results import load
	run = load(folder)
	table, points = rows(run)
	why = _gnuplot(folder, points)
	md_path = os.path.join(folder, "report.md")
	tex_path = os.path.join(folder, "report.tex")
	with open(md_path, encoding="utf-8") as f:
		md = f.read()
	_write(md_path, md.rstrip("\n") + "\n" + _md(table, why))
	with open(tex_path, encoding="utf-8") as f:
		tex = f.read()
	end = tex.rfind("\\end{document}")
	if end >= 0:
		tex = tex[:end] + _tex(table, why) + tex[end:]
		_write(tex_path, tex)
