"""cli.py - the Python driver's command line.

  /usr/bin/python3 -m ipclab_py [--impl=LIST] [--scenario=LIST] [--size=LIST]
      [--pool=LIST] [--chunk=LIST] [--placement=LIST | --cpus=LIST]
      [--wait=LIST] [--profile=quick|full] [--repetitions=N] [--min-time=SEC]
      [--timeout=SEC] [--out=DIR] [--ipclab=PATH] [--list] [--help]

Every flag is checked before anything is created; a bad one gets one line
naming the value and what is accepted, and exit status 2.  --out=DIR writes
DIR/python.json (beside ipclab's bench.json).
"""

import json
import os
import sys

from ipclab_py import gbjson, runner, subjects, waits, where, workloads

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130
# quick: spin only where a pair runs (on 2 CPUs a spinning pool of 2 plus its
# producer is oversubscribed and measures the scheduler).
QUICK = {"waits": ["block", "spin"], "pool_waits": ["block"], "sizes": [64],
	 "pools": [2], "chunks": [1, 16], "repetitions": 3, "min_time": 0.1}
FULL = {"waits": ["block", "spin"], "pool_waits": ["block", "spin"],
	"sizes": [64, 4096, 65536],
	"pools": [1, 2, 4], "chunks": [1, 4, 16, 64], "repetitions": 10,
	"min_time": 0.5}
# Workloads whose messages have a size axis; the others run at size 64.
SIZED = ("pingpong", "stream", "fanout", "fanin", "taskpool")
FIXED_SIZE = 64
MAX_SIZE = 1 << 20
MAX_POOL = 64
MAX_CHUNK = 1 << 16
MAX_REPETITIONS = 1000
MAX_SECONDS = 3600
DEFAULT_TIMEOUT_S = 10
WAITS = ("block", "spin")


class Usage(Exception):
	"""A bad flag: str() is the one line."""


def _repo_root():
	here = os.path.abspath(__file__)	# bench/python/ipclab_py/cli.py
	for _ in range(4):
		here = os.path.dirname(here)
	return here


def default_ipclab():
	b = os.environ.get("IPCLAB_BUILD")
	return os.path.join(b if b else os.path.join(_repo_root(), "build"), "ipclab")


def _shown(v):
	s = "".join(c if " " <= c <= "~" else "\\x%02x" % (ord(c) & 0xff) for c in v[:80])
	return s + ("..." if len(v) > 80 else "")


def _items(flag, v):
	if not v:
		raise Usage("%s is empty: give a comma-separated list" % flag)
	items = v.split(",")
	for i, it in enumerate(items):
		if not it:
			raise Usage("%s has an empty item: remove the extra comma" % flag)
		if it in items[:i]:
			raise Usage("'%s' appears twice in %s" % (_shown(it), flag))
	return items


def _size(flag, s, lo, hi, what):
	mul = 1
	t = s
	if t[-1:] in ("k", "K"):
		mul, t = 1024, t[:-1]
	elif t[-1:] == "M":
		mul, t = 1 << 20, t[:-1]
	if not t.isdigit() or not t.isascii() or not lo <= int(t) * mul <= hi:
		raise Usage("%s '%s' in %s: accepted %d .. %d%s" % (
			what, _shown(s), flag, lo, hi,
			" bytes, with an optional k or M suffix" if what == "size" else ""))
	return int(t) * mul


def _seconds(flag, s, lo_open):
	try:
		v = float(s)
	except ValueError:
		v = None
	if v is None or not s[:1].isdigit() or v != v or v > MAX_SECONDS or \
	   (v <= 0 if lo_open else v < 1):
		raise Usage("seconds '%s' in %s: accepted a plain number, %s and at most %d"
			    % (_shown(s), flag, "over 0" if lo_open else "1", MAX_SECONDS))
	return v


def parse(argv):
	sel = {"impl": None, "scenario": None, "size": None, "pool": None,
	       "chunk": None, "wait": None, "profile": "quick",
	       "repetitions": None, "min_time": None, "timeout": DEFAULT_TIMEOUT_S,
	       "out": None, "ipclab": None, "list": False, "help": False,
	       "placement_flags": []}
	seen = set()
	for a in argv:
		if a in ("--list", "--help", "-h"):
			sel["help" if a != "--list" else "list"] = True
			continue
		name, eq, v = a.partition("=")
		key = name[2:].replace("-", "_") if name.startswith("--") else None
		if key not in ("placement", "cpus") and (
				not eq or key not in sel or
				key in ("list", "help", "placement_flags")):
			raise Usage("unknown argument '%s'; see --help for the accepted flags"
				    % _shown(a))
		if key in seen:
			raise Usage("%s is given twice: give it once, with a comma list" % name)
		seen.add(key)
		if key == "impl":
			sel["impl"] = []
			for it in _items(name, v):
				s = subjects.find(it)
				if s is None:
					raise Usage("unknown subject '%s' in --impl; accepted: %s" % (
						_shown(it), ", ".join(x.name for x in subjects.SUBJECTS)))
				sel["impl"].append(s)
		elif key == "scenario":
			sel["scenario"] = []
			for it in _items(name, v):
				w = workloads.find(it)
				if w is None:
					raise Usage("unknown scenario '%s' in --scenario; accepted: %s" % (
						_shown(it), ", ".join(x.name for x in workloads.WORKLOADS)))
				sel["scenario"].append(w)
		elif key == "size":
			sel["size"] = [_size(name, it, waits.HEADER_SIZE, MAX_SIZE, "size")
				       for it in _items(name, v)]
		elif key == "pool":
			sel["pool"] = [_size(name, it, 1, MAX_POOL, "pool") for it in _items(name, v)]
		elif key == "chunk":
			sel["chunk"] = [_size(name, it, 1, MAX_CHUNK, "chunk") for it in _items(name, v)]
		elif key == "wait":
			sel["wait"] = _items(name, v)
			for it in sel["wait"]:
				if it not in WAITS:
					raise Usage("unknown wait '%s' in --wait; accepted: %s"
						    % (_shown(it), ", ".join(WAITS)))
		elif key == "profile":
			if v not in ("quick", "full"):
				raise Usage("unknown profile '%s' in --profile; accepted: quick, full" % _shown(v))
			sel["profile"] = v
		elif key == "repetitions":
			sel["repetitions"] = _size(name, v, 1, MAX_REPETITIONS, "repetitions")
		elif key == "min_time":
			sel["min_time"] = _seconds(name, v, True)
		elif key == "timeout":
			sel["timeout"] = _seconds(name, v, False)
		elif key in ("out", "ipclab"):
			if not v:
				raise Usage("%s is empty: give a %s" % (
					name, "folder for python.json" if key == "out" else "path to build/ipclab"))
			sel[key] = v
		elif key in ("placement", "cpus"):
			sel["placement_flags"].append(a)	# ipclab checks these
	return sel


def usage_text():
	return __doc__.split("\n\n")[1] + "\n" + \
		"subjects: " + ", ".join(s.name for s in subjects.SUBJECTS) + "\n" + \
		"scenarios: " + ", ".join(w.name for w in workloads.WORKLOADS) + "\n" + \
		"(--placement and --cpus are ipclab's, checked and resolved by " \
		"build/ipclab --where)\n"


def expand(sel):
	prof = QUICK if sel["profile"] == "quick" else FULL
	subs = sel["impl"] or subjects.SUBJECTS
	wls = sel["scenario"] or workloads.WORKLOADS
	ws = sel["wait"] or prof["waits"]
	sizes = sel["size"] or prof["sizes"]
	pools = sel["pool"] or prof["pools"]
	chunks = sel["chunk"] or prof["chunks"]
	# Pairwise workloads run at pool 1 only (as on the C side).
	pair_pools = [1] if not sel["pool"] or 1 in sel["pool"] else []
	shapes = []
	for w in wls:
		for s in subs:
			if w.name not in s.workloads:
				continue
			for wait in ws:
				if not sel["wait"] and (
						(w.pool_axis and wait not in prof["pool_waits"]) or
						s.skip_reason(w.name, wait, 1)):
					continue	# the profile's waits: only those it has
				for size in (sizes if w.name in SIZED else [FIXED_SIZE]):
					for pool in (pools if w.pool_axis else pair_pools):
						for chunk in (chunks if w.name == "taskpool" else [1]):
							shapes.append((s, w, wait, size, pool, chunk))
	return shapes


def cases_for(shapes, table):
	placements = []
	for (_, _, pl) in table:
		if pl not in placements:
			placements.append(pl)
	out = []
	for (s, w, wait, size, pool, chunk) in shapes:
		for pl in placements:
			c = runner.Case(s, w, wait, pl, size, pool, chunk)
			if c.skip is None:
				try:
					c.cpus, c.oversubscribed, c.pair_class = where.place(table, w, pool, pl)
				except where.CaseSkipped as e:
					c.skip = str(e)
			out.append(c)
	return out


def main(argv):
	try:
		sel = parse(argv)
	except Usage as e:
		print("ipclab_py: %s" % e, file=sys.stderr)
		return EXIT_USAGE
	if sel["help"]:
		sys.stdout.write(usage_text())
		return 0
	prof = QUICK if sel["profile"] == "quick" else FULL
	shapes = expand(sel)
	if not shapes:
		print("ipclab_py: the selection makes no case (pingpong, stream, handoff "
		      "and spawn run at pool 1 only: add 1 to --pool; see --help for "
		      "which subject runs which scenario)", file=sys.stderr)
		return EXIT_USAGE
	ipclab = sel["ipclab"] or default_ipclab()
	scen = {w.placed_like for (_, w, _, _, _, _) in shapes}
	pools = {p for (_, _, _, _, p, _) in shapes} | {1}
	try:
		table = where.query(ipclab, scen, pools,
				    ["--profile=" + sel["profile"]] + sel["placement_flags"])
	except where.WhereError as e:
		print("ipclab_py: %s" % e, file=sys.stderr)
		return EXIT_USAGE if e.usage else 1
	cases = cases_for(shapes, table)
	if sel["list"]:
		for c in cases:
			print(c.name)
		return 0
	reps = sel["repetitions"] or prof["repetitions"]
	min_time = sel["min_time"] or prof["min_time"]
	out_path = None
	if sel["out"]:
		try:
			os.makedirs(sel["out"], exist_ok=True)
		except OSError as e:
			print("ipclab_py: cannot create folder '%s': %s" % (_shown(sel["out"]), e.strerror),
			      file=sys.stderr)
			return EXIT_USAGE
		out_path = os.path.join(sel["out"], "python.json")
	return run(cases, sel, reps, min_time, argv, out_path)


def run(cases, sel, reps, min_time, argv, out_path):
	bench, done, failed, skipped = [], 0, 0, 0
	status = 0
	t0 = waits.now_ns()
	for i, c in enumerate(cases):
		c.timeout_s = sel["timeout"]
		el = (waits.now_ns() - t0) // 10**9
		print("[%d/%d] %s  elapsed %dm%02ds" % (i + 1, len(cases), c.name, el // 60, el % 60),
		      file=sys.stderr, flush=True)
		try:
			r = runner.run(c, reps, min_time)
		except KeyboardInterrupt:
			bench += gbjson.entries(i, c.name, reps, [], "interrupted: not run", c.label)
			status = EXIT_INTERRUPTED
			break
		if r.error:
			failed += r.error.startswith("failed")
			skipped += r.error.startswith("skipped")
			print("  %s" % r.error, file=sys.stderr)
		else:
			done += 1
		bench += gbjson.entries(i, c.name, reps, r.reps, r.error, c.label)
	run_keys = {
		"ipclab_command": " ".join([sys.executable, "-m", "ipclab_py"] + argv),
		"ipclab_argv": json.dumps([sys.executable, "-m", "ipclab_py"] + argv),
		"ipclab_profile": sel["profile"],
		"ipclab_repetitions": str(reps),
		"ipclab_min_time_s": "%g" % min_time,
		"ipclab_timeout_ms": "%d" % round(sel["timeout"] * 1000),
		"ipclab_warmup": "one untimed round before every timed round: a tenth "
				 "of its iterations, %d .. the workload's maximum" % runner.WARMUP_MIN,
		"ipclab_time": "manual: time.monotonic_ns around each timed round, per "
			       "iteration (round trip, message, operation, task or process)",
		"ipclab_latency": "; ".join("%s: %s" % (w.name, w.latency) for w in workloads.WORKLOADS),
		"ipclab_verify": "length and sequence of every message; counters checked "
				 "exactly; occupancy inside every critical section",
		"ipclab_py_start_method": "fork (py-process-forkserver and "
					  "py-process-spawn start their children "
					  "with their own method)",
		"ipclab_placement_source": "build/ipclab --where (harness/topo.c)",
	}
	if out_path:
		ctx = gbjson.context(run_keys, os.path.join(os.path.dirname(out_path), "bench.json"))
		gbjson.write(out_path, ctx, bench)
		print("ipclab_py: results in %s" % out_path, file=sys.stderr)
	else:
		ctx = gbjson.context(run_keys, "")
		json.dump({"context": ctx, "benchmarks": bench}, sys.stdout, indent=2)
		sys.stdout.write("\n")
	print("ipclab_py: %d of %d cases run, %d skipped, %d failed%s" % (
		done, len(cases), skipped, failed,
		", interrupted" if status == EXIT_INTERRUPTED else ""), file=sys.stderr)
	return status
