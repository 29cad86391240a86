"""pools.py - the worker-pool and life-cycle sections of the report
(issue 13), appended to report.md and report.tex by one call:

  add_to_report(folder)   "Task pool scaling" (taskpool: tasks/s and the
                          speed-up against pool 1 of the same run, beside
                          Python's py-pool; the Universal Scalability Law
                          fitted where there are enough pool sizes) and
                          "Starting a worker" (spawn: start to reaped
                          against the spawner's resident size, fork over
                          posix_spawn), "Servers" (server: connections/s
                          of each model against the pre-forked pool) and
                          "Processes, threads and coroutines" (the same
                          hand-off under each --workers backend); each with
                          its figure under plots/.

Sections whose workload is not in the folder are left out.  Needs numpy
and scipy only for the USL fit (Debian's /usr/bin/python3 has them); the
section says so when they are missing.
"""

import os
import shutil
import subprocess
import tempfile

from . import fmt as R

GNUPLOT_TIMEOUT_S = 60
# The USL has three parameters (X(1), sigma, kappa): fit it with at least
# one pool size more than that.
USL_MIN_POOLS = 4
TP_FIGURE = "taskpool-scaling"
SPAWN_FIGURE = "spawn-rss"
SERVER_FIGURE = "server-models"
BACKEND_FIGURE = "handoff-backends"
BACKENDS = ("process", "thread", "coroutine", "coroutine-ucontext")
MIB = 1024.0 * 1024.0


def _tps(c):
	"""Tasks per second: the C counter, or a Python row's msgs_per_s."""
	v = c.median("tasks_per_s")
	return v if v is not None else c.median("msgs_per_s")


def _series_key(c):
	"""Everything but the pool: the cases of one scaling line."""
	return (c.impl, c.wait, c.placement, c.size,
		tuple(sorted(c.axes.items())))


def _series_name(key):
	impl, wait, placement, size, axes = key
	extra = " ".join("%s:%s" % kv for kv in axes)
	return " ".join(x for x in (impl, wait, placement, "size:%d" % size, extra) if x)


def taskpool_series(run):
	"""{series key: {pool: case}} of the taskpool cases that ran."""
	out = {}
	for c in run.cases.values():
		if c.parsed and c.ok and c.scenario == "taskpool" and _tps(c):
			out.setdefault(_series_key(c), {})[c.pool] = c
	return out


def usl_fit(points):
	"""Fit X(N) = X1 N / (1 + s (N-1) + k N (N-1)) to [(N, X)].  Returns
	(X1, sigma, kappa) or a string saying why there is no fit."""
	pools = sorted({n for n, _ in points})
	if len(pools) < USL_MIN_POOLS:
		return ("not fitted: %d pool size%s (%s); the USL needs at least %d"
			% (len(pools), "" if len(pools) == 1 else "s",
			   ", ".join("k=%d" % n for n in pools), USL_MIN_POOLS))
	try:
		import numpy as np
		from scipy.optimize import curve_fit
	except ImportError:
		return "not fitted: numpy/scipy missing (run under /usr/bin/python3)"
	n = np.array([p[0] for p in points], dtype=float)
	x = np.array([p[1] for p in points], dtype=float)
	x1 = float(np.median(x[n == n.min()]) / n.min())

	def usl(nn, a, s, k):
		return a * nn / (1 + s * (nn - 1) + k * nn * (nn - 1))
	try:
		p, _ = curve_fit(usl, n, x, p0=[x1, 0.05, 0.001],
				 bounds=([0, 0, 0], [np.inf, 1, 1]), maxfev=20000)
	except (RuntimeError, ValueError) as e:
		return "not fitted: %s" % e
	return tuple(float(v) for v in p)


def taskpool_rows(run):
	rows, lines, notes = [], [], []
	for key, by_pool in sorted(taskpool_series(run).items(), key=lambda kv: _series_name(kv[0])):
		base = by_pool.get(1)
		base_tps = _tps(base) if base else None
		pts = []
		for pool in sorted(by_pool):
			c = by_pool[pool]
			tps = _tps(c)
			sp = tps / base_tps if base_tps else None
			share = c.median("task_share")
			rows.append([_series_name(key), str(pool), R.fmt_sig(tps),
				     ("%.2f" % sp) if sp else "-",
				     ("%.2f" % share) if share is not None else "-",
				     R.fmt_sig(c.median("p50_ns") / 1e3) if c.median("p50_ns") else "-"])
			pts += [(pool, v) for v in (c.values("tasks_per_s") or c.values("msgs_per_s") or [tps])]
		fit = usl_fit(pts)
		if isinstance(fit, tuple):
			x1, s, k = fit
			peak = ((1 - s) / k) ** 0.5 if k > 0 else float("inf")
			notes.append("%s: USL X(1)=%s tasks/s, sigma=%.3g, kappa=%.3g, peak near k=%.1f"
				     % (_series_name(key), R.fmt_sig(x1), s, k, peak))
		else:
			notes.append("%s: USL %s" % (_series_name(key), fit))
		lines.append((_series_name(key), [(p, _tps(by_pool[p])) for p in sorted(by_pool)]))
	return rows, lines, notes


TP_COLUMNS = [("Series", "l"), ("Pool k", "r"), ("tasks/s", "r"),
	      ("Speed-up vs k=1", "r"), ("Task share", "r"), ("p50 submit to result µs", "r")]
TP_NOTE = ("taskpool: a driver hands n tasks (a calibrated CPU loop of task:US, "
	   "10 µs unless named) in chunks to k workers and takes the results back "
	   "(Pool.map in C); py-pool is Python's multiprocessing.Pool.map_async "
	   "with 10 µs tasks. tasks/s is the median over the repetitions; the "
	   "speed-up divides by the k=1 case of the same series in the same run "
	   "(chunk:auto is the same rule, ceil(n/(4k)), not the same chunk). "
	   "Task share: the workers' CPU time inside tasks over their time in "
	   "the round. On a machine with C CPUs a pool above C-1 shares CPUs "
	   "with the driver (marked oversubscribed).")


def spawn_rows(run):
	rows, lines = [], {}
	cases = [c for c in run.cases.values()
		 if c.parsed and c.ok and c.scenario == "spawn" and c.median("p50_ns")]
	by = {}
	for c in cases:
		others = tuple(sorted((k, v) for k, v in c.axes.items() if k != "rss"))
		by[(c.impl, c.wait, c.placement, others, c.axes.get("rss", "0"))] = c
	for (impl, wait, placement, others, rss), c in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][3], int(kv[0][4]))):
		ps = by.get(("posix-spawn", wait, placement, others, rss))
		ratio = (c.median("p50_ns") / ps.median("p50_ns")) if ps and ps.median("p50_ns") else None
		term = c.median("terminate_p50_ns")
		rows.append([impl + "".join(" %s:%s" % kv for kv in others), wait, placement,
			     R.fmt_sig(int(rss) / MIB), R.fmt_sig((c.median("rss_bytes") or 0) / MIB),
			     R.fmt_sig(c.median("p50_ns") / 1e3),
			     R.fmt_sig(c.median("first_p50_ns") / 1e3) if c.median("first_p50_ns") else "-",
			     R.fmt_sig(term / 1e3) if term else "n/a",
			     ("%.2f" % ratio) if ratio else "-"])
		name = impl + "".join(" %s:%s" % kv for kv in others)
		lines.setdefault(name, []).append(((c.median("rss_bytes") or 0) / MIB, c.median("p50_ns") / 1e3))
	return rows, sorted(lines.items())


SPAWN_COLUMNS = [("Method", "l"), ("Wait", "l"), ("Placement", "l"), ("rss axis MiB", "r"),
		 ("resident MiB", "r"), ("p50 start to reaped µs", "r"),
		 ("p50 start to first statement µs", "r"), ("p50 SIGTERM to reaped µs", "r"),
		 ("p50 / posix-spawn", "r")]
SPAWN_NOTE = ("spawn: one child started and reaped per iteration, after the "
	      "spawner touched rss bytes of private memory (resident: its measured "
	      "resident set; transparent huge pages as the label says). First "
	      "statement: a CLOCK_MONOTONIC stamp the child writes into a shared "
	      "page. SIGTERM to reaped: a running child terminated (n/a: vfork and "
	      "clone-vfork suspend the parent until the child leaves; a thread "
	      "cannot be terminated). p50 / posix-spawn: the method's median over "
	      "posix_spawn's at the same rss, same run.")


def server_rows(run):
	rows, lines = [], {}
	cases = [c for c in run.cases.values()
		 if c.parsed and c.ok and c.scenario == "server" and c.median("connections_per_s")]
	by = {}
	for c in cases:
		by[(c.impl, c.wait, c.placement, c.size, c.pool, tuple(sorted(c.axes.items())))] = c
	for key, c in sorted(by.items(), key=lambda kv: (kv[0][5], kv[0][0], kv[0][4])):
		impl, wait, placement, size, pool, axes = key
		pf = by.get(("prefork", wait, placement, size, pool, axes))
		cps = c.median("connections_per_s")
		ratio = cps / pf.median("connections_per_s") if pf and pf.median("connections_per_s") else None
		extra = " ".join("%s:%s" % kv for kv in axes)
		rows.append([impl, extra or "transport:unix-stream", str(pool), R.fmt_sig(cps),
			     R.fmt_sig(c.median("p50_ns") / 1e3) if c.median("p50_ns") else "-",
			     R.fmt_sig(c.median("server_cpu_ns_per_req") / 1e3) if c.median("server_cpu_ns_per_req") else "-",
			     ("%.2f" % ratio) if ratio else "-"])
		lines.setdefault(" ".join(x for x in (impl, extra) if x), []).append((pool, cps))
	return rows, sorted(lines.items())


SERVER_COLUMNS = [("Model", "l"), ("Axes", "l"), ("Clients", "r"), ("connections/s", "r"),
		  ("p50 request µs", "r"), ("server CPU µs/request", "r"), ("/ prefork", "r")]
SERVER_NOTE = ("server: N clients each open connections to one server and make "
	       "req:R echo requests of size bytes on each (10 unless named); an "
	       "iteration (p50) is one request. "
	       "connections/s is the median over the repetitions; server CPU counts "
	       "the server and every child or thread serving a connection; / prefork "
	       "divides by the pre-forked pool's connections/s with the same clients "
	       "and axes, same run.")


def backend_rows(run):
	"""The same hand-off (pingpong, handoff) under each worker backend:
	rows of p50 per backend ('skipped' where the case was skipped, '-'
	where it is not in the folder), the ratios process / coroutine and
	ucontext / own switch, and the plot's points."""
	by = {}
	for c in run.cases.values():
		if not (c.parsed and c.scenario in ("pingpong", "handoff")):
			continue
		if not ((c.ok and c.median("p50_ns")) or c.status == "skipped"):
			continue
		axes = tuple(sorted((k, v) for k, v in c.axes.items() if k != "workers"))
		key = (c.scenario, c.impl, c.wait, c.placement, c.size, axes)
		by.setdefault(key, {})[c.axes.get("workers", "process")] = c
	rows, points = [], []
	for key, got in sorted(by.items()):
		p50 = [got[b].median("p50_ns") if b in got and got[b].ok else None for b in BACKENDS]
		if len(got) < 2 or not any(p50):
			continue	# nothing to set beside it
		scen, impl, wait, placement, size, axes = key
		name = " ".join([scen, impl, wait, placement, "size:%d" % size] + ["%s:%s" % kv for kv in axes])
		proc, coro, ucx = p50[0], p50[2], p50[3]
		rows.append([name] + [R.fmt_sig(v) if v else ("skipped" if b in got else "-")
				      for b, v in zip(BACKENDS, p50)] +
			    [("%.1f" % (proc / coro)) if proc and coro else "-",
			     ("%.2f" % (ucx / coro)) if ucx and coro else "-"])
		points.append((name, p50))
	return rows, points


BACKEND_COLUMNS = ([("Case", "l")] + [("p50 ns, %s" % b, "r") for b in BACKENDS] +
		   [("process / coroutine", "r"), ("ucontext / own switch", "r")])
BACKEND_NOTE = ("The same hand-off under each worker backend (--workers): forked "
		"processes, threads of one process, coroutines of one thread on our "
		"own context switch (coroutine) and on glibc's swapcontext "
		"(coroutine-ucontext: an rt_sigprocmask system call per switch). "
		"The coro channel and the coro-sem semaphore yield to the peer "
		"coroutine (between processes and threads coro-sem is a futex "
		"semaphore and coro a ring polled with sched_yield); a kernel "
		"mechanism or primitive would block the only thread and is skipped "
		"there. p50 of the round trip (pingpong) or hand-off, median over "
		"the repetitions, same run; the ratios divide two of these medians.")


def _backend_plot(folder, points):
	if not points:
		return "no case ran under two backends"
	vals = [v for _, p50 in points for v in p50 if v]
	body = ["set logscale y", "set grid ytics", "set ylabel 'p50 (ns)'",
		"set xtics rotate by -30 font ',8'", "set key top right", "set bmargin 10",
		"set xrange [-0.5:%g]" % (len(points) - 0.5),
		"set yrange [%g:%g]" % (min(vals) / 2, max(vals) * 4), "$d << EOD"]
	for name, p50 in points:
		body.append("\"%s\" %s" % (name.replace("\"", "'"), " ".join("%g" % v if v else "NaN" for v in p50)))
	body.append("EOD")
	body.append("plot " + ", ".join("$d using ($0+%g):%d%s with points pt %d ps 1.4 title '%s'"
					% ((i - (len(BACKENDS) - 1) / 2.0) * 0.1, i + 2, ":xtic(1)" if i == 0 else "", 5 + 2 * i, b)
					for i, b in enumerate(BACKENDS)))
	return _gnuplot(folder, BACKEND_FIGURE, body)


def _gnuplot(folder, name, body):
	"""Draw plots/NAME.{png,pdf} from gnuplot lines; None or why not."""
	if shutil.which("gnuplot") is None:
		return "gnuplot not found (Debian: apt-get install gnuplot-nox)"
	plots = os.path.join(folder, "plots")
	os.makedirs(os.path.join(plots, "gp"), exist_ok=True)
	plot_at = max(i for i, line in enumerate(body) if line.startswith("plot "))
	script = "\n".join(["set terminal pngcairo size 1000,560",
			    "set output 'plots/%s.png'" % name] + body +
			   ["set terminal pdfcairo size 7in,4in",
			    "set output 'plots/%s.pdf'" % name] + body[plot_at:] + ["unset output"])
	tmpdir = tempfile.mkdtemp(prefix=".pools.", dir=plots)
	try:
		with open(os.path.join(tmpdir, "s.gp"), "w", encoding="utf-8") as f:
			f.write(script.replace("plots/", tmpdir + "/") + "\n")
		r = subprocess.run(["gnuplot", os.path.join(tmpdir, "s.gp")], capture_output=True,
				   text=True, timeout=GNUPLOT_TIMEOUT_S)
		if r.returncode != 0:
			return "gnuplot failed: %s" % (r.stderr.strip().splitlines() or ["?"])[-1]
		for ext in ("png", "pdf"):
			os.replace(os.path.join(tmpdir, "%s.%s" % (name, ext)),
				   os.path.join(plots, "%s.%s" % (name, ext)))
		R.write_atomic(os.path.join(plots, "gp", name + ".gp"), script + "\n")
	except (OSError, subprocess.TimeoutExpired) as e:
		return "gnuplot: %s" % e
	finally:
		shutil.rmtree(tmpdir, ignore_errors=True)
	return None


def _lines_plot(folder, name, lines, xlabel, ylabel, logx, logy):
	if not lines:
		return "nothing to draw"
	body = ["set grid", "set key outside right top font ',8'",
		"set xlabel '%s'" % xlabel, "set ylabel '%s'" % ylabel]
	if logx:
		body.append("set logscale x")
	if logy:
		body.append("set logscale y")
	plots = []
	for i, (title, pts) in enumerate(lines):
		body += ["$d%d << EOD" % i] + ["%g %g" % p for p in sorted(pts) if p[1]] + ["EOD"]
		plots.append("$d%d using 1:2 with linespoints title '%s'" % (i, title.replace("'", "")))
	body.append("plot " + ", ".join(plots))
	return _gnuplot(folder, name, body)


def _md_table(columns, rows):
	out = ["| " + " | ".join(h for h, _ in columns) + " |",
	       "|" + "|".join("---:" if a == "r" else "---" for _, a in columns) + "|"]
	out += ["| " + " | ".join(R.md_escape(x) for x in r) + " |" for r in rows]
	return out


def _tex_table(columns, rows):
	t = R.tex_escape
	out = ["{\\scriptsize", "\\begin{longtable}{@{}%s@{}}" % "".join(a for _, a in columns),
	       "\\toprule", " & ".join(t(h) for h, _ in columns) + " \\\\", "\\midrule"]
	out += [" & ".join(t(x) for x in r) + " \\\\" for r in rows]
	return out + ["\\bottomrule", "\\end{longtable}", "}"]


def _section(title, note, columns, rows, notes, figure, why, caption):
	md = ["\n## %s\n" % title, note + "\n"] + _md_table(columns, rows)
	tex = ["\\section{%s}" % R.tex_escape(title), R.tex_escape(note) + "\n"] + _tex_table(columns, rows)
	for n in notes:
		md.append("\n- %s" % n)
		tex.append(R.tex_escape(n) + "\n")
	if why:
		md.append("\nFigure not drawn: %s.\n" % why)
		tex.append("Figure not drawn: %s.\n" % R.tex_escape(why))
	else:
		md.append("\n![%s](plots/%s.png)\n\n*%s*\n" % (figure, figure, caption))
		tex += ["\\begin{figure}[htbp]\\centering",
			"\\includegraphics[width=\\linewidth]{plots/%s.pdf}" % figure,
			"\\caption{%s}\\label{fig:%s}" % (R.tex_escape(caption), figure), "\\end{figure}"]
	return "\n".join(md) + "\n", "\n".join(tex) + "\n"


def sections(run, folder):
	"""[(markdown, latex)] of the sections this folder has cases for."""
	out = []
	rows, lines, notes = taskpool_rows(run)
	if rows:
		why = _lines_plot(folder, TP_FIGURE, lines, "pool size k (workers)",
				  "tasks per second (median)", False, True)
		out.append(_section("Task pool scaling", TP_NOTE, TP_COLUMNS, rows, notes, TP_FIGURE, why,
				    "Tasks per second against the pool size, one line per series "
				    "(subject, wait, placement, size, axes); py- lines are Python's."))
	rows, lines = spawn_rows(run)
	if rows:
		why = _lines_plot(folder, SPAWN_FIGURE, lines, "spawner resident size (MiB)",
				  "p50 start to reaped (us)", True, True)
		out.append(_section("Starting a worker", SPAWN_NOTE, SPAWN_COLUMNS, rows, [], SPAWN_FIGURE, why,
				    "Median start-to-reaped time of each way to start a worker "
				    "against the spawner's resident size."))
	rows, lines = server_rows(run)
	if rows:
		why = _lines_plot(folder, SERVER_FIGURE, lines, "clients", "connections per second (median)",
				  False, True)
		out.append(_section("Servers", SERVER_NOTE, SERVER_COLUMNS, rows, [], SERVER_FIGURE, why,
				    "Connections per second of each server model against the clients."))
	rows, points = backend_rows(run)
	if rows:
		why = _backend_plot(folder, points)
		out.append(_section("Processes, threads and coroutines", BACKEND_NOTE, BACKEND_COLUMNS, rows, [],
				    BACKEND_FIGURE, why, "The same hand-off's p50 under each worker backend."))
	return out


def add_to_report(folder):
	"""Append the sections to folder/report.md and report.tex (both already
	written); nothing when the folder has none of these workloads."""
	from .results import load
	run = load(folder)
	parts = sections(run, folder)
	if not parts:
		return
	md_path = os.path.join(folder, "report.md")
	tex_path = os.path.join(folder, "report.tex")
	with open(md_path, encoding="utf-8") as f:
		md = f.read()
	R.write_atomic(md_path, md.rstrip("\n") + "\n" + "".join(m for m, _ in parts))
	with open(tex_path, encoding="utf-8") as f:
		tex = f.read()
	end = tex.rfind("\\end{document}")
	if end >= 0:
		R.write_atomic(tex_path, tex[:end] + "".join(t for _, t in parts) + tex[end:])
