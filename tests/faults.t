#!/usr/bin/env python3
"""faults.t - the fault campaign of issue 6, as TAP.

Drives build/ipclab (and an ASan+UBSan build of it for the argv fuzzer) and
injects faults: SIGKILL of a worker, SIGINT/SIGTERM to ipclab, a stopped
worker, hostile argument vectors, broken results folders, two runs at once
and tight resource limits.  After every fault it checks:

  - no hang: every subprocess runs under a timeout (its process group is
    killed and the test fails when it expires);
  - no zombie and no stray process: this script is a child subreaper, so any
    process ipclab leaves behind is re-parented here and seen;
  - no leftover: nothing new in /dev/shm or /dev/mqueue whose name carries
    the pid of an ipclab we started, and nothing in the private TMPDIR every
    ipclab here runs with ($TMPDIR/ipclab-* of its own);
  - every finished case's result is in a valid bench.json (never a half
    written one, never a temporary file left in the folder).

What an interrupted run leaves (issue 10, checked below): an ipclab
interrupted once its flags were found valid writes a whole bench.json in
which every case that finished has its results (an empty benchmarks list
when none had), an unfinished case is left out (never reported as
interrupted), and exits 130 (SIGINT) or 143 (SIGTERM).  tests/interrupt.t
interrupts at many random moments, also twice.

Hostile shared memory is tests/t_hostile.c (build/tests/hostile, its own
TAP test, run by prove next to this one and in the ASan build).

Environment: IPCLAB_BUILD (default <repo>/build), IPCLAB_ASAN_BUILD (default
IPCLAB_BUILD when it is a sanitizer build, else <repo>/build-asan, built here
when missing), FAULTS_SEED (random seed; printed), FAULTS_FUZZ (argument
vectors, default 1000).

Why this file is long: it is the whole fault campaign (signals, dying
workers, broken result folders, fuzzed argv); each fault shares the
run-and-check helpers at its top.
"""
import ctypes
import glob
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
from signal_at import signal_unless_exiting  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(os.environ.get("IPCLAB_BUILD", os.path.join(ROOT, "build")))
IPCLAB = os.path.join(BUILD, "ipclab")

# Tiny cases: the campaign must finish in well under 3 minutes on 2 cores.
TINY = ["--benchmark_min_time=0.02", "--benchmark_repetitions=1"]
# A case long enough to be hit while it runs (a kill lands in its rounds).
LONGER = ["--benchmark_min_time=0.2", "--benchmark_repetitions=1"]
# Longest any single ipclab run here may take before it counts as a hang.
RUN_TIMEOUT_S = 30
# Seconds a stopped worker may hold a case: --timeout=2 plus the pool's
# SIGTERM/SIGKILL grace plus a noisy machine.
STOP_TIMEOUT_S = 2
STOP_BOUND_S = 15
PR_SET_CHILD_SUBREAPER = 36
# The RLIMIT_NPROC test runs ipclab as a uid of its own from this range
# (no passwd entry needed), one no other process uses.
NPROC_UID_BASE = 61000
NPROC_UID_SPAN = 4000
NAME_PID = re.compile(r"^ipclab-[a-z-]+?-(\d+)-")
PROGRESS = re.compile(r"^\[(\d+)/(\d+)\] (\S+)")

T0 = time.monotonic()
SEED = int(os.environ.get("FAULTS_SEED", str(int(time.time() * 1000) % 1000000)))
rng = random.Random(SEED)

# ---- TAP -----------------------------------------------------------------

ntests = 0
nfailed = 0
stats = {"kill": 0, "signal": 0, "stop": 0, "fuzz": 0, "folder": 0,
	 "concurrent": 0, "rlimit": 0, "hangs": 0, "leaks": 0, "lost": 0}


def diag(msg):
	for line in str(msg).splitlines() or [""]:
		print("# " + line)
	sys.stdout.flush()


def ok(cond, name, why=""):
	global ntests, nfailed
	ntests += 1
	if not cond:
		nfailed += 1
	print("%sok %d - faults: %s" % ("" if cond else "not ", ntests, name))
	if not cond and why:
		diag(why)
		# prove shows a test's stderr but not its diagnostics: a
		# failure in a soak or CI log must carry its reason.
		sys.stderr.write("faults: test %d (%s) failed (seed %d): %s\n" % (
			ntests, name, SEED, str(why)[:4000]))
		sys.stderr.flush()
	sys.stdout.flush()
	return cond


def skip(name, reason):
	global ntests
	ntests += 1
	print("ok %d - faults: %s # SKIP %s" % (ntests, name, reason))
	sys.stdout.flush()


# ---- processes -----------------------------------------------------------

libc = ctypes.CDLL(None, use_errno=True)
SUBREAPER = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
WORK = tempfile.mkdtemp(prefix="faults-")
# Every ipclab here makes its private socket/fifo folders in here.
PRIVATE_TMP = os.path.join(WORK, "tmp")
os.mkdir(PRIVATE_TMP)
os.chmod(WORK, 0o755)
os.chmod(PRIVATE_TMP, 0o1777)
started_pids = set()
known_children = set()  # processes this script started and still waits for


def ipclab_env(extra=None):
	env = dict(os.environ)
	env["TMPDIR"] = PRIVATE_TMP
	env.pop("BENCHMARK_FILTER", None)
	if extra:
		env.update(extra)
	return env


def default_signals():
	"""In a child before exec: SIGINT and SIGTERM at their default
	disposition, as a terminal's shell starts a program.  A test suite run
	as a background job of a shell without job control inherits SIGINT
	ignored, and an ignored SIGINT sent before ipclab's main() is lost
	(seen: "SIGINT at exec: exit 0, want 130")."""
	signal.signal(signal.SIGINT, signal.SIG_DFL)
	signal.signal(signal.SIGTERM, signal.SIG_DFL)


class Run:
	"""One ipclab (or other) process, its stderr read line by line with
	the time each line arrived, under a timeout."""

	def __init__(self, argv, env=None, timeout=RUN_TIMEOUT_S, preexec=None,
		     cwd=None):
		self.argv = argv
		self.timeout = timeout
		self.names_before = ipc_names()
		self.t0 = time.monotonic()
		def child_setup():
			default_signals()
			if preexec:
				preexec()

		self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
					  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
					  env=env if env is not None else ipclab_env(),
					  start_new_session=True, preexec_fn=child_setup, cwd=cwd)
		self.pid = self.p.pid
		started_pids.add(self.pid)
		known_children.add(self.pid)
		self.err_lines = []  # (seconds since start, line)
		self.out = b""
		self.lock = threading.Lock()
		self.t_err = threading.Thread(target=self._read_err, daemon=True)
		self.t_out = threading.Thread(target=self._read_out, daemon=True)
		self.t_err.start()
		self.t_out.start()
		self.hung = False
		self.rc = None

	def _read_err(self):
		for raw in self.p.stderr:
			line = raw.decode("utf-8", "replace").rstrip("\n")
			with self.lock:
				self.err_lines.append((time.monotonic() - self.t0, line))

	def _read_out(self):
		self.out = self.p.stdout.read()

	def lines(self):
		with self.lock:
			return [l for _, l in self.err_lines]

	def progress(self):
		"""[(index, total, name)] of every case announced so far."""
		res = []
		for l in self.lines():
			m = PROGRESS.match(l)
			if m:
				res.append((int(m.group(1)), int(m.group(2)), m.group(3)))
		return res

	def wait(self):
		left = self.timeout - (time.monotonic() - self.t0)
		try:
			self.rc = self.p.wait(timeout=max(left, 0.1))
		except subprocess.TimeoutExpired:
			self.hung = True
			stats["hangs"] += 1
			try:
				os.killpg(self.pid, signal.SIGKILL)
			except ProcessLookupError:
				pass
			self.rc = self.p.wait()
		self.t_err.join(5)
		self.t_out.join(5)
		self.elapsed = time.monotonic() - self.t0
		known_children.discard(self.pid)
		return self.rc

	def stderr(self):
		return "\n".join(self.lines())


def children_of(pid):
	kids = []
	for f in glob.glob("/proc/%d/task/*/children" % pid):
		try:
			with open(f) as fh:
				kids += [int(x) for x in fh.read().split()]
		except OSError:
			pass
	return kids


def proc_wchan(pid):
	try:
		with open("/proc/%d/wchan" % pid) as f:
			return f.read() or "-"
	except OSError:
		return None


def proc_state(pid):
	try:
		with open("/proc/%d/stat" % pid) as f:
			s = f.read()
		return s[s.rindex(")") + 2]
	except (OSError, ValueError):
		return None


def stray_children():
	"""Processes re-parented to this script (subreaper) or children it did
	not start on purpose: what an ipclab left behind."""
	return [k for k in children_of(os.getpid()) if k not in known_children]


def reap_strays(grace=1.0):
	"""Give just-killed processes a moment, then kill and reap whatever
	ipclab left behind; returns the list of [pid, state] found."""
	end = time.monotonic() + grace
	strays = stray_children()
	while strays and time.monotonic() < end:
		time.sleep(0.05)
		strays = stray_children()
	found = [(k, proc_state(k)) for k in strays]
	for k, _ in found:
		try:
			os.kill(k, signal.SIGKILL)
		except ProcessLookupError:
			pass
		try:
			os.waitpid(k, 0)
		except ChildProcessError:
			pass
	return found


# ---- leftovers -----------------------------------------------------------

MQUEUE_MOUNTED = False
with open("/proc/mounts") as f:
	for line in f:
		parts = line.split()
		if len(parts) > 2 and parts[1] == "/dev/mqueue" and parts[2] == "mqueue":
			MQUEUE_MOUNTED = True


def ipc_names():
	names = set()
	for d in ["/dev/shm"] + (["/dev/mqueue"] if MQUEUE_MOUNTED else []):
		try:
			names.update(os.path.join(d, n) for n in os.listdir(d))
		except OSError:
			pass
	return names


def leftovers(before):
	"""Objects of ipclab runs started here that still exist and did not
	exist before (pids are reused: another test's leftovers may carry one
	of our pids)."""
	left = []
	dirs = ["/dev/shm"] + (["/dev/mqueue"] if MQUEUE_MOUNTED else [])
	for d in dirs:
		try:
			names = os.listdir(d)
		except OSError:
			continue
		for n in names:
			m = NAME_PID.match(n)
			if m and int(m.group(1)) in started_pids and os.path.join(d, n) not in before:
				left.append(os.path.join(d, n))
	left += glob.glob(os.path.join(PRIVATE_TMP, "*"))
	return left


def clean_check(name, run=None, extra_dirs=(), before=None):
	"""After a fault: no hang, no stray process, nothing left behind (since
	the run started, or since before)."""
	why = []
	if before is None:
		before = run.names_before if run is not None else set()
	if run is not None and run.hung:
		why.append("hang: %s did not finish in %ds (killed)" % (" ".join(run.argv), run.timeout))
	strays = reap_strays()
	if strays:
		why.append("stray processes (pid, state): %s" % strays)
	left = leftovers(before)
	for d in extra_dirs:
		left += [p for p in glob.glob(os.path.join(d, ".*")) if p.endswith(".tmp")]
	if left:
		stats["leaks"] += 1
		why.append("left behind: %s" % left)
		for p in left:
			try:
				if os.path.isdir(p):
					shutil.rmtree(p, ignore_errors=True)
				elif p.startswith("/dev/mqueue/") or p.startswith("/dev/shm/"):
					os.unlink(p)
				else:
					os.unlink(p)
			except OSError:
				pass
	return ok(not why, name + ": no hang, no stray process, nothing left", "\n".join(why))


# ---- results -------------------------------------------------------------

def load_results(folder):
	"""(data or None, problem or None)."""
	path = os.path.join(folder, "bench.json")
	if not os.path.exists(path):
		return None, None
	try:
		with open(path) as f:
			data = json.load(f)
	except (OSError, ValueError) as e:
		return None, "bench.json is not valid JSON: %s" % e
	if not isinstance(data, dict) or "benchmarks" not in data or "context" not in data:
		return None, "bench.json has no context or benchmarks"
	return data, None


def case_of(entry):
	"""Case name of a bench.json entry (Google Benchmark's suffixes off)."""
	n = entry.get("run_name") or entry.get("name", "")
	return n[:-len("/manual_time")] if n.endswith("/manual_time") else n


def by_case(data):
	res = {}
	for b in data["benchmarks"]:
		if b.get("run_type", "iteration") != "iteration":
			continue
		res.setdefault(case_of(b), []).append(b)
	return res


def finished_ok(entries):
	return bool(entries) and all(not e.get("error_occurred") and "msgs_per_s" in e for e in entries)


def skipped(entries):
	return bool(entries) and all(e.get("error_occurred") and
				     str(e.get("error_message", "")).startswith("skipped:") for e in entries)


def failed_with_reason(entries):
	return bool(entries) and any(e.get("error_occurred") and e.get("error_message") for e in entries)


def list_cases(args):
	r = Run([IPCLAB, "--list"] + args)
	r.wait()
	if r.rc != 0:
		return None
	return r.out.decode().split()


def out_dir(tag):
	return os.path.join(WORK, "%s-%d" % (tag, rng.randrange(1 << 30)))


def ipclab_argv(sel, out=None, timing=TINY):
	# Sequential: a fault aimed at the Nth case announced must hit the case
	# the selection lists Nth.
	# No perf baseline: its processes are not the case's workers.
	argv = [IPCLAB] + sel + timing + ["--order=sequential", "--no-perf"]
	if out:
		argv.append("--out=" + out)
	return argv


# ---- class 1: SIGKILL of a worker ---------------------------------------

def wait_for(pred, timeout, step=0.005):
	end = time.monotonic() + timeout
	while time.monotonic() < end:
		v = pred()
		if v:
			return v
		time.sleep(step)
	return None


def kill_worker_case(scenario, impls, target_idx, sig=signal.SIGKILL, extra=()):
	"""Run the cases of scenario over impls, and send sig to a random worker
	of case number target_idx (1-based) while it runs.  Returns (run, cases,
	target name, folder, pid signalled, time signalled)."""
	sel = ["--scenario=" + scenario, "--impl=" + ",".join(impls), "--size=64",
	       "--wait=block", "--placement=compact"]
	if scenario in ("fanout", "fanin"):
		sel.append("--pool=2")
	sel += list(extra)
	cases = list_cases(sel)
	if not cases or len(cases) < target_idx:
		return None, cases, None, None, None, None
	target = cases[target_idx - 1]
	out = out_dir("kill")
	timing = LONGER
	r = Run(ipclab_argv(sel, out, timing))

	def target_workers():
		pr = r.progress()
		if not pr or pr[-1][0] != target_idx:
			return None
		return children_of(r.pid) or None

	kids = wait_for(target_workers, 20)
	victim, when = None, None
	if kids:
		time.sleep(rng.uniform(0.0, 0.08))
		# Each repetition (and each sizing call) of a case has a pool
		# of its own: a worker seen a moment ago may have finished, so
		# aim again until a live worker of the target case is hit.
		end = time.monotonic() + 20
		while victim is None and time.monotonic() < end and r.p.poll() is None:
			live = [k for k in (target_workers() or []) if proc_state(k) not in (None, "Z")]
			if not live:
				time.sleep(0.001)
				continue
			pick = rng.choice(live)
			seen_at = (proc_state(pick), proc_wchan(pick), r.progress()[-1:])
			try:
				os.kill(pick, sig)
				victim, when = pick, time.monotonic() - r.t0
				r.kill_note = "killed pid %d at %.3f s (state %s, wchan %s, last progress %s)" % (
					(pick, when) + seen_at)
			except ProcessLookupError:
				pass
	r.wait()
	return r, cases, target, out, victim, when


# Tries at hitting a worker of the target case: under heavy load this
# script can see the case only after it ended, which tests nothing.
AIM_TRIES = 3


def aimed_case(tag_of, scenario, impls, target_idx, **kw):
	"""kill_worker_case, again (up to AIM_TRIES) while no worker of the
	target case was hit; every missed try is checked for leftovers too."""
	for attempt in range(1, AIM_TRIES + 1):
		res = kill_worker_case(scenario, impls, target_idx, **kw)
		r, victim = res[0], res[4]
		if r is None or victim is not None or attempt == AIM_TRIES:
			return res
		tag = tag_of(res[2] or scenario)
		diag("%s: try %d ended before a worker of the target case was hit; again" % (tag, attempt))
		clean_check("%s (try %d, missed)" % (tag, attempt), r)
	return res


def class_kill():
	plans = [
		("pingpong", ["pipe", "unix-stream", "tcp"]),
		("pingpong", ["fifo", "mqueue", "shmring"]),
		("stream", ["pipe", "shmring", "unix-seqpacket"]),
		("stream", ["mqueue", "unix-dgram", "tcp"]),
		("fanout", ["pipe", "mqueue", "shmring"]),
		("fanout", ["fifo", "unix-dgram", "unix-stream"]),
		("fanin", ["pipe", "shmring", "unix-seqpacket"]),
		("fanin", ["mqueue", "unix-dgram", "fifo"]),
	]
	for scenario, impls in plans:
		r, cases, target, out, victim, when = aimed_case(
			lambda t: "SIGKILL worker of %s" % t, scenario, impls, 2)
		tag = "SIGKILL worker of %s" % (target or scenario)
		if r is None:
			ok(False, tag, "could not list cases: %s" % cases)
			continue
		stats["kill"] += 1
		data, problem = load_results(out)
		why = []
		if victim is None:
			why.append("no worker of the target case was seen to kill")
		if r.rc != 0 and r.rc != 1:
			why.append("exit %s (want 0, or 1 for a failed case)" % r.rc)
		if problem or data is None:
			why.append(problem or "no bench.json")
		else:
			got = by_case(data)
			for c in cases:
				if c == target:
					if not failed_with_reason(got.get(c)):
						why.append("%s: killed worker but no error_message: %s" % (c, got.get(c)))
				elif not finished_ok(got.get(c)) and not skipped(got.get(c)):
					stats["lost"] += 1
					why.append("%s lost or failed: %s" % (c, got.get(c)))
			if failed_with_reason(got.get(target)):
				diag("%s: %s" % (target, [e.get("error_message") for e in got[target]]))
		ok(not why, tag + ": that case fails with a reason, the others are in bench.json",
		   "\n".join(why + [getattr(r, "kill_note", "nothing killed"),
				     "stderr: " + " | ".join("%.3f %s" % tl for tl in r.err_lines)]))
		clean_check(tag, r)


# ---- class 2: SIGINT / SIGTERM to ipclab ---------------------------------

SIG_SEL = ["--scenario=pingpong,stream", "--impl=pipe,mqueue,shmring", "--size=64",
	   "--wait=block", "--placement=compact"]


def signal_run(sig, delay=None, after_line=None, group=False, after_file=None, then=(0, 0.03)):
	"""Send sig after delay seconds, when a stderr line matching after_line
	appears, or when a file matching after_file (a glob in the results
	folder) appears; then after a random delay in then."""
	out = out_dir("sig")
	cases = list_cases(SIG_SEL)
	r = Run(ipclab_argv(SIG_SEL, out))
	if after_file is not None:
		wait_for(lambda: glob.glob(os.path.join(out, after_file)), 20, 0.0005)
	elif after_line is not None:
		wait_for(lambda: any(re.search(after_line, l) for l in r.lines()), 20, 0.001)
		time.sleep(rng.uniform(*then))
	else:
		time.sleep(delay)
	seen = r.progress()
	lines_at = r.lines()
	# A run already in the kernel's exit has its status (0) decided; one
	# anywhere before it ends 128+signal (bench/main.c: sig_finished).
	# Held stopped while that is decided (signal_at.py: a look and a
	# kill one after the other raced with the exit once).
	try:
		sent = r.p.poll() is None and signal_unless_exiting(r.pid, sig, group)
	except ProcessLookupError:
		sent = False
	r.wait()
	return r, cases, out, seen, lines_at, sent


def moment(lines_at):
	if any(l.startswith("ipclab: results in") or l.startswith("ipclab: ") and "cases," in l for l in lines_at):
		return "teardown"
	if any(PROGRESS.match(l) for l in lines_at):
		return "measurement"
	return "setup"


def check_signal_run(tag, sig, r, cases, out, seen, lines_at, sent):
	want = 128 + sig
	why = []
	when = moment(lines_at)
	data, problem = load_results(out)
	if not sent or r.rc == 0 and when == "teardown":
		# It finished before the signal arrived: a normal run.
		if r.rc != 0:
			why.append("exit %s" % r.rc)
	elif r.rc == -sig and when == "setup" and not os.path.exists(out):
		# Delivered before main() could install its handler: the
		# default action, and nothing was made yet.
		diag("%s: the signal came before main(); nothing was made" % tag)
	elif r.rc != want:
		why.append("exit %s, want %d (moment: %s)" % (r.rc, want, when))
	if problem:
		why.append(problem)
	finished = [n for (i, _, n) in seen if any(j > i for (j, _, _) in seen)]
	if when == "teardown":
		finished = cases
	if data is None and not problem:
		if finished:
			stats["lost"] += 1
			why.append("no bench.json, but %d cases had finished: %s" % (len(finished), finished))
	elif data is not None:
		got = by_case(data)
		for c in cases:
			if c in finished and not finished_ok(got.get(c)):
				stats["lost"] += 1
				why.append("finished case %s lost: %s" % (c, got.get(c)))
			elif c not in got:
				pass  # unfinished: left out
			elif not finished_ok(got[c]) and not failed_with_reason(got[c]):
				why.append("case %s neither has results nor an error_message" % c)
	temps = [p for p in glob.glob(os.path.join(out, ".*")) if "tmp" in p]
	if temps:
		why.append("temporary files left: %s" % temps)
	diag("%s: moment %s, %d cases announced, exit %s, bench.json %s" % (
		tag, when, len(seen), r.rc, "none" if data is None else "%d entries" % len(data["benchmarks"])))
	ok(not why, tag + ": exit %d, finished results kept, bench.json whole or absent" % want,
	   "\n".join(why + ["stderr tail: " + " | ".join(r.lines()[-5:])]))
	clean_check(tag, r)


def class_signal():
	# How long the selection runs, to spread the signals over it.
	out = out_dir("sigref")
	ref = Run(ipclab_argv(SIG_SEL, out))
	ref.wait()
	total = ref.elapsed
	data, problem = load_results(out)
	ok(ref.rc == 0 and data is not None, "reference run for the signal tests (%.2fs)" % total,
	   problem or ref.stderr()[-800:])
	clean_check("reference run", ref)
	# From the last case's announcement to the exit: its rounds, the pool's
	# teardown and the writing of bench.json.
	t_last = [t for t, l in ref.err_lines if l.startswith("[6/")]
	tail = max(ref.elapsed - t_last[0], 0.01) if t_last else 0.1
	plans = [
		("at exec", signal.SIGINT, dict(delay=0.0)),
		("setup, results folder just made", signal.SIGINT, dict(after_file=".bench.json.*", then=(0, 0))),
		("setup, results folder just made", signal.SIGTERM, dict(after_file=".bench.json.*", then=(0, 0.01))),
		("at exec", signal.SIGTERM, dict(delay=0.0)),
		("during setup", signal.SIGINT, dict(delay=rng.uniform(0.005, 0.05))),
		("first case", signal.SIGTERM, dict(after_line=r"^\[1/")),
		("second case", signal.SIGINT, dict(after_line=r"^\[2/")),
		("second case, Ctrl-C to the group", signal.SIGINT, dict(after_line=r"^\[2/", group=True)),
		("last case", signal.SIGTERM, dict(after_line=r"^\[6/")),
	]
	for i in range(3):
		plans.append(("last case to exit (teardown, writing results)", rng.choice([signal.SIGINT, signal.SIGTERM]),
			      dict(after_line=r"^\[6/", then=(tail * 0.5, tail * 1.1))))
	for i in range(4):
		plans.append(("random moment", rng.choice([signal.SIGINT, signal.SIGTERM]),
			      dict(delay=rng.uniform(0, total * 1.05))))
	for what, sig, kw in plans:
		stats["signal"] += 1
		r, cases, out, seen, lines_at, sent = signal_run(sig, **kw)
		tag = "%s %s" % (signal.Signals(sig).name, what)
		check_signal_run(tag, sig, r, cases, out, seen, lines_at, sent)


# ---- class 3: a stopped worker ------------------------------------------

def class_stop():
	plans = [("pingpong", ["pipe", "shmring", "unix-stream"]),
		 ("fanin", ["fifo", "mqueue", "unix-dgram"])]
	for scenario, impls in plans:
		stats["stop"] += 1
		r, cases, target, out, victim, when = aimed_case(
			lambda t: "SIGSTOP worker of %s" % t, scenario, impls, 2,
			sig=signal.SIGSTOP, extra=["--timeout=%d" % STOP_TIMEOUT_S])
		tag = "SIGSTOP worker of %s" % (target or scenario)
		if r is None:
			ok(False, tag, "could not list cases")
			continue
		why = []
		if victim is None:
			why.append("no worker seen to stop")
		data, problem = load_results(out)
		if problem or data is None:
			why.append(problem or "no bench.json")
		else:
			got = by_case(data)
			if not failed_with_reason(got.get(target)):
				why.append("stopped worker, yet %s did not fail: %s" % (target, got.get(target)))
			else:
				diag("%s: %s" % (target, [e.get("error_message") for e in got[target]]))
			for c in cases:
				if c != target and not finished_ok(got.get(c)) and not skipped(got.get(c)):
					stats["lost"] += 1
					why.append("%s lost: %s" % (c, got.get(c)))
		# From the stop to the next case (or the end): bounded.
		t_next = None
		for t, l in r.err_lines:
			if t > (when or 0) and (l.startswith("[3/") or l.startswith("ipclab: results")):
				t_next = t
				break
		if when is not None and (t_next is None or t_next - when > STOP_BOUND_S):
			why.append("the stopped case held the run %s s (bound %d s)" % (
				"forever" if t_next is None else "%.1f" % (t_next - when), STOP_BOUND_S))
		elif when is not None:
			diag("%s: watchdog freed the run %.2f s after the stop" % (tag, t_next - when))
		ok(not why, tag + ": the watchdog fails the case in bounded time", "\n".join(why))
		clean_check(tag, r)


# ---- class 4: argv fuzzing against the ASan/UBSan build -----------------

def asan_build():
	env_dir = os.environ.get("IPCLAB_ASAN_BUILD")
	if env_dir:
		d = os.path.abspath(env_dir)
	else:
		d = None
		cache = os.path.join(BUILD, "CMakeCache.txt")
		try:
			with open(cache) as f:
				if re.search(r"^IPCLAB_SANITIZE:BOOL=ON", f.read(), re.M):
					d = BUILD
		except OSError:
			pass
		if d is None:
			d = os.path.join(ROOT, "build-asan")
	exe = os.path.join(d, "ipclab")
	t = time.monotonic()
	cmds = []
	if not os.path.exists(os.path.join(d, "CMakeCache.txt")):
		cmds.append(["cmake", "-S", ROOT, "-B", d, "-G", "Ninja", "-DIPCLAB_SANITIZE=ON"])
	cmds.append(["cmake", "--build", d, "--target", "ipclab"])
	for c in cmds:
		p = subprocess.run(c, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=900)
		if p.returncode != 0:
			return None, "%s failed: %s" % (" ".join(c), p.stdout.decode()[-600:])
	diag("ASan+UBSan ipclab in %s (configure/build check took %.1f s)" % (d, time.monotonic() - t))
	return exe, None


FLAG_VALUES = {
	"--impl=": ["pipe", "fifo", "mqueue", "shmring", "unix-stream", "unix-dgram",
		    "unix-seqpacket", "tcp", "PIPE", "pipe,pipe", "pipe,,tcp", ",", ",pipe", "pipe,"],
	"--scenario=": ["pingpong", "stream", "pairs", "fanout", "fanin", "micro",
			"pingpong,micro", "ping", "stream,stream"],
	"--size=": ["16", "15", "64", "4k", "64k", "1M", "1G", "0", "-1", "1K", "2M", "8192",
		    "18446744073709551615", "18446744073709551616", "99999999999999999999999",
		    "17179869184k", "17592186044416M", "1k1", "k", "M", "0x10", "1e3", " 64",
		    "64 ", "+64", "64,64", "16,4k,64k"],
	"--pool=": ["1", "2", "3", "8", "512", "513", "0", "-1", "4294967297",
		    "18446744073709551617", "1,2", "2,2", "01", "1.5"],
	"--placement=": ["none", "compact", "scatter", "smt", "cross-cache", "cross-numa",
			 "cpus", "Compact", "none,compact", "none,none"],
	"--cpus=": ["0", "1", "0,1", "0-1", "1-0", "0-", "-1", "2", "99999", "4294967296",
		    "0,0", "0-1,1", "0--1", "a", "0-99999999999", "18446744073709551616"],
	"--wait=": ["block", "spin", "hybrid", "block,spin", "sleep", "spin,spin"],
	"--profile=": ["quick", "full", "fast", "Quick"],
	"--verify=": ["sample", "full", "every"],
	"--timeout=": ["1", "2", "3600", "3601", "0", "-1", "4294967297", "1.5",
		       "18446744073709551617"],
	"--out=": ["o1", "o2/deeper", "./o3", "/dev/null/x", "/proc/1/nope"],
	"--benchmark_repetitions=": ["1", "2", "0", "-1", "-5", "2147483648",
				     "99999999999999999999", "", "x", "1e2", "3 "],
	"--benchmark_min_time=": ["0.01", "0", "-1", "1e999", "-1e999", "nan", "inf", "-inf",
				  "abc", "", "0.5s", "1e-300", "1e9", "0x1p-3", "1,5"],
	"--benchmark_min_warmup_time=": ["0", "0.01", "-1", "nan", "inf", "x"],
	"--benchmark_filter=": ["pipe", ".", "[", "(", "*", "", "\\", "pingpong/pipe", "a{999999}"],
	"--benchmark_format=": ["console", "json", "csv", "xml", "", "tabular"],
	"--benchmark_out_format=": ["json", "csv", "console", "yaml", ""],
	"--benchmark_out=": ["bo.json", "", "/dev/null/bo.json"],
	"--benchmark_color=": ["auto", "true", "false", "", "maybe"],
	"--benchmark_counters_tabular=": ["true", "false", "", "zz"],
	"--benchmark_report_aggregates_only=": ["true", "false", "x"],
	"--benchmark_display_aggregates_only=": ["true", "false", "x"],
	"--benchmark_enable_random_interleaving=": ["true", "false", "2"],
	"--benchmark_time_unit=": ["ns", "us", "ms", "s", "xs", "", "min"],
	"--benchmark_context=": ["a=b", "a=b,c=d", "a", "a=b=c", "=", "", "a=b,a=c", ",", "a=,b="],
	"--benchmark_perf_counters=": ["", "CYCLES", "nope"],
	"--benchmark_list_tests=": ["true", "false", "x"],
}
BARE = ["--list", "--help", "-h", "--", "-", "", "--impl", "--size", "--out", "--nope",
	"--benchmark_", "--benchmark_nope=1", "--benchmark_list_tests", "--v=1", "--v=-9",
	"--impl=pipe --size=64", "pipe", "--IMPL=pipe", "--impl==pipe", "---impl=pipe",
	"--benchmark_min_time", "--benchmark_repetitions"]
HOSTILE = ["", "-", "\u00e9", "\U0001f4a5", "\x01", "\x7f", "%s%n%x", "\\", "'", "\"",
	   "x" * 300, "9" * 200, ",,,", "a,b,c,d,e,f,g,h", "\u202e", "\ufeff64"]


def fuzz_vector(r):
	argv = []
	for _ in range(r.randint(1, 5)):
		k = r.random()
		if k < 0.55:
			flag = r.choice(list(FLAG_VALUES))
			v = r.choice(FLAG_VALUES[flag])
			argv.append(flag + v)
		elif k < 0.7:
			argv.append(r.choice(BARE))
		elif k < 0.85:
			flag = r.choice(list(FLAG_VALUES))
			argv.append(flag + r.choice(HOSTILE))
		elif k < 0.93:
			# comma games: lists of good and bad items
			flag = r.choice(["--impl=", "--size=", "--pool=", "--scenario=", "--wait=", "--placement="])
			items = [r.choice(FLAG_VALUES[flag] + HOSTILE + [""]) for _ in range(r.randint(1, 70))]
			argv.append(flag + ",".join(items))
		else:
			# a huge repeated value
			flag = r.choice(list(FLAG_VALUES))
			argv.append(flag + r.choice(["9", "x", ",", "1,", "\u00e9"]) * r.randint(100, 5000))
	return argv


SANITIZER = re.compile(r"(AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:|"
		       r"ERROR: |SUMMARY: )")
# A selection small and fast enough to run (not only list) under ASan.
FUZZ_RUN_SEL = ["--impl=pipe", "--scenario=pingpong", "--size=64", "--wait=block",
		"--placement=compact", "--timeout=5"]


def fuzz_one(exe, argv, cwd):
	"""(problem or None, accepted?)"""
	env = ipclab_env({"ASAN_OPTIONS": "abort_on_error=0:exitcode=99:detect_leaks=1",
			  "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1:exitcode=98"})
	p = subprocess.Popen([exe] + argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
			     stderr=subprocess.PIPE, env=env, cwd=cwd, start_new_session=True)
	started_pids.add(p.pid)
	try:
		_, err = p.communicate(timeout=RUN_TIMEOUT_S)
	except subprocess.TimeoutExpired:
		stats["hangs"] += 1
		os.killpg(p.pid, signal.SIGKILL)
		p.communicate()
		return "hang (over %ds)" % RUN_TIMEOUT_S, False
	err = err.decode("utf-8", "replace")
	if SANITIZER.search(err):
		return "sanitizer report (exit %d): %s" % (p.returncode, err[-1500:]), False
	if p.returncode == 2:
		lines = err.splitlines()
		if len(lines) != 1 or not lines[0].strip():
			return "rejected with %d stderr lines (want exactly 1): %r" % (len(lines), err[-600:]), False
		return None, False
	if p.returncode == 0:
		return None, True
	if p.returncode == 1 and "--list" not in argv and "--help" not in argv:
		# A run whose case failed: allowed, but it must say why.
		if "failed" in err:
			return None, True
	return "exit %d (want 0 or 2): %r" % (p.returncode, err[-600:]), False


def class_fuzz():
	t = time.monotonic()
	names_before = ipc_names()
	exe, problem = asan_build()
	if exe is None:
		ok(False, "argv fuzzing: the ASan/UBSan build", problem)
		return
	n = int(os.environ.get("FAULTS_FUZZ", "1000"))
	cwd = os.path.join(WORK, "fuzz")
	os.mkdir(cwd)
	vectors = []
	for i in range(n):
		v = fuzz_vector(rng)
		if "--help" in v or "-h" in v:
			pass
		elif rng.random() < 0.12:
			# Really run it: a one-case selection, with the vector's
			# Google Benchmark flags and oddities (its selection
			# flags could ask for a pool of 512 under ASan).
			odd = [a for a in v if not a.startswith(tuple(FLAG_VALUES)) or a.startswith("--benchmark_")]
			odd = [a for a in odd if a != "--list" and not a.startswith("--benchmark_out=")]
			v = FUZZ_RUN_SEL + odd
			if not any(a.startswith("--benchmark_min_time=") for a in v):
				v.append("--benchmark_min_time=0.005")
		else:
			v = v + ["--list"]
		vectors.append(v)
	problems = []
	accepted = 0
	lock = threading.Lock()
	it = iter(enumerate(vectors))

	def worker():
		nonlocal accepted
		while True:
			with lock:
				try:
					i, v = next(it)
				except StopIteration:
					return
			prob, acc = fuzz_one(exe, v, cwd)
			with lock:
				stats["fuzz"] += 1
				if prob:
					problems.append((v, prob))
				if acc:
					accepted += 1

	threads = [threading.Thread(target=worker) for _ in range(2)]
	for th in threads:
		th.start()
	for th in threads:
		th.join()
	shown = {}
	for v, prob in problems:
		key = (prob[:40], tuple(sorted(a.split("=")[0] for a in v if a.startswith("--benchmark_"))))
		if key not in shown and len(shown) < 12:
			shown[key] = (v, prob)
	ok(not problems, "argv fuzzing: %d vectors (%d accepted, %d rejected), no crash, no sanitizer report, "
	   "every rejection exit 2 with one line" % (len(vectors), accepted, len(vectors) - accepted),
	   "%d bad vectors; one of each kind:\n%s" % (len(problems), "\n".join(
		   "%r -> %s" % (v, p) for v, p in shown.values())))
	diag("argv fuzzing took %.1f s (seed %d)" % (time.monotonic() - t, SEED))
	shutil.rmtree(cwd, ignore_errors=True)
	clean_check("argv fuzzing", before=names_before)


# ---- class 5: results folder problems -----------------------------------

FOLDER_SEL = ["--scenario=pingpong", "--impl=pipe,unix-stream,shmring", "--size=64",
	      "--wait=block", "--placement=compact"]


def measured(r):
	"""Did this run start measuring?"""
	return any(PROGRESS.match(l) for l in r.lines()) or b"manual_time" in r.out


def can_mount():
	return os.geteuid() == 0 and shutil.which("mount") is not None


def mount_tmpfs(path, opts):
	os.makedirs(path, exist_ok=True)
	p = subprocess.run(["mount", "-t", "tmpfs", "-o", opts, "faults", path],
			   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
	return p.returncode == 0, p.stdout.decode().strip()


def umount(path):
	subprocess.run(["umount", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def class_folder():
	# (a) an existing bench.json: refused before measuring, left intact.
	stats["folder"] += 1
	out = out_dir("exists")
	os.makedirs(out)
	keep = b'{"context": {}, "benchmarks": []}\n'
	with open(os.path.join(out, "bench.json"), "wb") as f:
		f.write(keep)
	r = Run(ipclab_argv(FOLDER_SEL, out))
	r.wait()
	with open(os.path.join(out, "bench.json"), "rb") as f:
		same = f.read() == keep
	lines = r.lines()
	ok(r.rc == 2 and len(lines) == 1 and "exists" in lines[0] and same and not measured(r),
	   "existing bench.json: exit 2, one line, before measuring, file intact",
	   "exit %s, intact %s, stderr %r" % (r.rc, same, lines[-5:]))
	clean_check("existing bench.json", r, [out])

	# (b) an unwritable folder.
	stats["folder"] += 1
	ro = os.path.join(WORK, "readonly")
	mounted = False
	if can_mount():
		mounted, msg = mount_tmpfs(ro, "ro,size=64k")
	if not mounted:
		os.makedirs(ro, exist_ok=True)
		os.chmod(ro, 0o555)
	if not mounted and os.geteuid() == 0:
		skip("unwritable folder", "root ignores mode bits and a read-only tmpfs could not be mounted")
	else:
		out = os.path.join(ro, "run")
		r = Run(ipclab_argv(FOLDER_SEL, out))
		r.wait()
		lines = r.lines()
		ok(r.rc == 2 and len(lines) == 1 and not measured(r) and not os.path.exists(out),
		   "unwritable folder: exit 2, one line, before measuring",
		   "exit %s, stderr %r" % (r.rc, lines[-5:]))
		diag("unwritable folder: %s" % (lines[-1] if lines else ""))
		clean_check("unwritable folder", r)
	if mounted:
		umount(ro)

	# (c) --out names a file, not a folder.
	stats["folder"] += 1
	f_out = os.path.join(WORK, "a-file")
	with open(f_out, "w") as f:
		f.write("x")
	r = Run(ipclab_argv(FOLDER_SEL, f_out))
	r.wait()
	lines = r.lines()
	ok(r.rc == 2 and len(lines) == 1 and not measured(r),
	   "--out names a file: exit 2, one line, before measuring", "exit %s, stderr %r" % (r.rc, lines[-5:]))
	clean_check("--out names a file", r)

	# (d) a full filesystem: no room for the results from the start (a
	# clear error before measuring), or filled up during the run (a clear
	# error, no bench.json, no temporary file).
	if not can_mount():
		skip("full filesystem", "mounting a tiny tmpfs needs root")
		return
	for fill_left, during in ((512, False), (3000, False), (None, True)):
		stats["folder"] += 1
		full = os.path.join(WORK, "full-%s" % fill_left)
		mounted, msg = mount_tmpfs(full, "size=64k")
		if not mounted:
			skip("full filesystem", "mount tmpfs failed: %s" % msg)
			return
		try:
			def fill(left):
				st = os.statvfs(full)
				free = st.f_bavail * st.f_frsize
				try:
					with open(os.path.join(full, "filler-%d" % left), "wb") as f:
						f.write(b"\0" * max(free - left, 0))
				except OSError:
					pass
			if not during:
				fill(fill_left)
			out = os.path.join(full, "run")
			r = Run(ipclab_argv(FOLDER_SEL, out))
			if during:
				wait_for(lambda: r.progress(), 20)
				fill(0)
			r.wait()
			data, problem = load_results(out)
			temps = glob.glob(os.path.join(out, ".*"))
			lines = r.lines()
			why = []
			if problem:
				why.append(problem)
			if temps:
				why.append("temporary files left: %s" % temps)
			if not during and (r.rc != 2 or measured(r) or len(lines) != 1):
				why.append("no room from the start: want exit 2 and one line before measuring, "
					   "got exit %s, measured %s, stderr %r" % (r.rc, measured(r), lines[-4:]))
			if during and data is None and (r.rc != 1 or not any("incomplete" in l or "write" in l for l in lines)):
				why.append("filled during the run: want exit 1 and a line saying so, got exit %s, %r" % (
					r.rc, lines[-3:]))
			tag = "full filesystem (%s)" % ("filled during the run" if during else "%d bytes free" % fill_left)
			diag("%s: exit %s, %s" % (tag, r.rc, "bench.json kept" if data else (lines or [""])[-1]))
			ok(not why, tag + ": a clear error, never half a bench.json", "\n".join(why))
			clean_check(tag, r)
		finally:
			umount(full)


# ---- class 6: two runs at once -------------------------------------------

def class_concurrent():
	sel = ["--scenario=pingpong,fanin", "--impl=fifo,mqueue,shmring,unix-dgram", "--size=64",
	       "--wait=block", "--placement=compact", "--pool=2"]
	cases = list_cases(sel)
	outs = [out_dir("twin"), out_dir("twin")]
	stats["concurrent"] += 1
	runs = [Run(ipclab_argv(sel, o)) for o in outs]
	for r in runs:
		r.wait()
	why = []
	for r, o in zip(runs, outs):
		data, problem = load_results(o)
		if r.rc != 0:
			why.append("run %d: exit %s: %s" % (r.pid, r.rc, r.lines()[-3:]))
		if data is None:
			why.append("run %d: %s" % (r.pid, problem or "no bench.json"))
			continue
		got = by_case(data)
		for c in cases or []:
			if not finished_ok(got.get(c)):
				stats["lost"] += 1
				why.append("run %d: %s: %s" % (r.pid, c, got.get(c)))
	ok(cases and not why, "two runs at once: both complete, every case in each bench.json", "\n".join(why))
	for r in runs:
		clean_check("two runs at once", r, before=runs[0].names_before)


# ---- class 7: resource limits --------------------------------------------


def closed_to_others(path):
	"""The first folder on the way to path (or path itself) that a user who
	is neither its owner nor in its group may not enter or run; None."""
	p = os.path.abspath(path)
	while True:
		if not os.stat(p).st_mode & 0o001:
			return p
		parent = os.path.dirname(p)
		if parent == p:
			return None
		p = parent

def class_rlimit():
	# RLIMIT_MSGQUEUE too small for one queue.
	stats["rlimit"] += 1
	sel = ["--scenario=pingpong", "--impl=pipe,mqueue", "--size=64", "--wait=block",
	       "--placement=compact"]
	cases = list_cases(sel)
	out = out_dir("mqlimit")
	small = 1024  # bytes: less than one queue of 10 x 64-byte messages costs

	def low_mq():
		resource.setrlimit(resource.RLIMIT_MSGQUEUE, (small, small))

	r = Run(ipclab_argv(sel, out), preexec=low_mq)
	r.wait()
	data, problem = load_results(out)
	why = []
	if data is None:
		why.append(problem or "no bench.json (exit %s): %s" % (r.rc, r.lines()[-3:]))
	else:
		got = by_case(data)
		for c in cases or []:
			if "/mqueue/" in c:
				msgs = [e.get("error_message", "") for e in got.get(c, [])]
				if not failed_with_reason(got.get(c)) or not any("RLIMIT_MSGQUEUE" in m for m in msgs):
					why.append("%s: want an error naming RLIMIT_MSGQUEUE, got %s" % (c, msgs))
				else:
					diag("%s: %s" % (c, msgs[0]))
			elif not finished_ok(got.get(c)):
				why.append("%s lost: %s" % (c, got.get(c)))
	ok(not why, "RLIMIT_MSGQUEUE too small: the mqueue case fails naming the limit, the rest runs",
	   "\n".join(why))
	clean_check("RLIMIT_MSGQUEUE too small", r)

	# RLIMIT_NPROC too small for the pool: root is exempt, so run as nobody.
	setpriv = shutil.which("setpriv")
	if os.geteuid() != 0:
		skip("RLIMIT_NPROC too small", "needs root to run ipclab as an unprivileged user of its own")
		return
	if not setpriv:
		skip("RLIMIT_NPROC too small", "setpriv not found (root ignores RLIMIT_NPROC)")
		return
	# That user reaches ipclab and the output folder only through folders
	# others may enter (a checkout in a private folder, such as one made
	# by mktemp -d, cannot be run as another user: prlimit said
	# "Permission denied", exit 126, in a soak).
	for need in (IPCLAB, WORK):
		blocked = closed_to_others(need)
		if blocked:
			skip("RLIMIT_NPROC too small", "another user cannot enter %s (mode %o), on the way to %s" %
			     (blocked, os.stat(blocked).st_mode & 0o777, need))
			return
	stats["rlimit"] += 1
	# A user of this run's own, with no process yet: RLIMIT_NPROC counts
	# every process and thread of the real uid, so with a shared one
	# ("nobody") a second test suite running beside this one would eat
	# the limit and make ipclab fail elsewhere (seen in a loaded soak).
	busy = set()
	for st in glob.glob("/proc/[0-9]*/status"):
		try:
			with open(st) as f:
				for l in f:
					if l.startswith("Uid:"):
						busy.add(int(l.split()[1]))
						break
		except OSError:
			pass
	uid = NPROC_UID_BASE + os.getpid() % NPROC_UID_SPAN
	while uid in busy:
		uid = NPROC_UID_BASE + (uid - NPROC_UID_BASE + 1) % NPROC_UID_SPAN
	nproc_now = 0
	limit = nproc_now + 3  # ipclab itself plus 2 workers; a pool of 6 needs 7
	sel = ["--scenario=fanout", "--impl=pipe", "--size=64", "--wait=block", "--placement=compact",
	       "--pool=6"]
	nobody_out = os.path.join(WORK, "nobody")
	os.mkdir(nobody_out)
	os.chmod(nobody_out, 0o777)
	out = os.path.join(nobody_out, "run")
	argv = [setpriv, "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups",
		"prlimit", "--nproc=%d" % limit, "--"] + ipclab_argv(sel, out)
	# prlimit may not exist; then set the limit from python before setpriv.
	if not shutil.which("prlimit"):
		argv = [setpriv, "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups"] + ipclab_argv(sel, out)

	def low_nproc():
		resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))

	r = Run(argv, preexec=low_nproc, cwd=nobody_out)
	r.wait()
	data, problem = load_results(out)
	text = r.stderr()
	msgs = []
	if data is not None:
		msgs = [e.get("error_message", "") for e in data["benchmarks"]]
	named = any("RLIMIT_NPROC" in m for m in msgs) or "RLIMIT_NPROC" in text
	diag("RLIMIT_NPROC=%d for uid %d (%d processes already): exit %s, %s" % (
		limit, uid, nproc_now, r.rc, msgs or r.lines()[-2:]))
	ok(named and r.rc in (0, 1, 2) and not problem,
	   "RLIMIT_NPROC too small for the pool: a clear error naming the limit",
	   "exit %s, problem %s, errors %s, stderr tail %s" % (r.rc, problem, msgs, r.lines()[-3:]))
	clean_check("RLIMIT_NPROC too small", r)


# ---- class 8: hostile shared memory (a C TAP test) -----------------------

def class_hostile():
	"""The hostile writer is tests/t_hostile.c (build/tests/hostile), run by
	prove on its own; here only say where it is."""
	exe = os.path.join(BUILD, "tests", "hostile")
	if os.path.exists(exe):
		diag("hostile shared memory: %s (its own TAP test)" % exe)
	else:
		diag("hostile shared memory: %s not built" % exe)


# ---- class 9: SIGKILL of ipclab itself -----------------------------------

# Mechanisms whose objects outlive a SIGKILL of the process that made them:
# a named queue, a private fifo folder, a SysV queue, a SysV semaphore set.
KILLED_IMPLS = ["mqueue", "fifo", "sysv-msg", "sysv-shm"]
STALE_LINE = re.compile(r"^ipclab: removed (\d+) object\(s\) left by an earlier run that was killed: (.*)$")


def objects_of(pid):
	"""Names of the objects a run made ("ipclab-KIND-PID-..." in /dev/shm,
	/dev/mqueue and the private TMPDIR) and the SysV ids its ledger lists."""
	names, ids = [], []
	for d in ["/dev/shm"] + (["/dev/mqueue"] if MQUEUE_MOUNTED else []) + [PRIVATE_TMP]:
		try:
			entries = os.listdir(d)
		except OSError:
			continue
		for n in entries:
			base = n[4:] if n.startswith("sem.") else n
			m = NAME_PID.match(base)
			if m and int(m.group(1)) == pid:
				names.append(os.path.join(d, n))
	for path in names:
		if os.path.basename(path).startswith("ipclab-sysv-") and os.path.isfile(path):
			with open(path) as f:
				ids += [tuple(l.split()) for l in f if len(l.split()) == 2]
	return names, ids


def sysv_ids_now():
	"""{(kind, id)} of every SysV queue, semaphore set and segment now."""
	now = set()
	for kind in ("msg", "sem", "shm"):
		try:
			with open("/proc/sysvipc/" + kind) as f:
				next(f)
				now.update((kind, l.split()[1]) for l in f if len(l.split()) > 1)
		except OSError:
			pass
	return now


def class_killed():
	"""ipclab SIGKILLed in a case leaves that case's objects (nothing can
	remove them then); the next ipclab removes them, says which on stderr
	and in bench.json, and touches nothing of a run still going."""
	why, left = [], []
	# A queue can be listed (and so found) only where /dev/mqueue is mounted.
	impls = [i for i in KILLED_IMPLS if MQUEUE_MOUNTED or i != "mqueue"]

	def start(impl, seconds):
		sel = ["--impl=" + impl, "--scenario=pingpong", "--size=64", "--wait=block",
		       "--placement=compact", "--no-sentinel"]
		r = Run(ipclab_argv(sel, out_dir("killed"), timing=[
			"--benchmark_min_time=%d" % seconds, "--benchmark_repetitions=1"]))
		# In its case: a progress line, then objects of its pid.
		return r, wait_for(lambda: r.progress() and objects_of(r.pid)[0], 20, 0.02)

	# First a run that goes on through all of this (its case lasts 10 s or
	# more), then one run per mechanism, all in their case at once (so no
	# start of one removes what another left), SIGKILLed together.
	live, live_names = start("fifo", 10)
	killed = [(impl,) + start(impl, 10) for impl in impls]
	for impl, r, seen in killed:
		try:
			os.killpg(r.pid, signal.SIGKILL)
		except ProcessLookupError:
			pass
	for impl, r, seen in killed:
		r.wait()
		names, ids = objects_of(r.pid)
		if not seen or not names:
			why.append("%s: no object of run %d seen (premise: a SIGKILLed run leaves some): %s" % (
				impl, r.pid, r.lines()[-3:]))
		if impl.startswith("sysv-") and not ids:
			why.append("%s: SIGKILLed run %d left no SysV ledger listing an id: %s" % (impl, r.pid, names))
		left.append((impl, r.pid, names, ids))
	reap_strays()
	# A ledger lists every id its run made; those it removed itself (a
	# sysv-shm segment goes at once) are not left.
	ids_left = sysv_ids_now()
	left = [(impl, pid, names, [i for i in ids if i in ids_left]) for impl, pid, names, ids in left]
	out = out_dir("after-killed")
	r = Run(ipclab_argv(["--impl=pipe", "--scenario=pingpong", "--size=64"], out))
	r.wait()
	line = [m for m in map(STALE_LINE.match, r.lines()) if m]
	said = line[0].group(2).split() if line else []
	data, problem = load_results(out)
	ctx = (data or {}).get("context", {}).get("ipclab_stale_removed", "").split()
	if r.rc != 0 or data is None:
		why.append("the run after: exit %s, %s: %s" % (r.rc, problem or "bench.json", r.lines()[-3:]))
	ids_now = sysv_ids_now()
	for impl, pid, names, ids in left:
		for n in names:
			if os.path.lexists(n):
				why.append("%s: %s of the killed run %d is still there" % (impl, n, pid))
			if n not in said or n not in ctx:
				why.append("%s: %s not named on stderr (%s) or in ipclab_stale_removed (%s)" % (
					impl, n, said, ctx))
		for kind, i in ids:
			if (kind, i) in ids_now:
				why.append("%s: SysV %s id %s of the killed run %d is still there" % (impl, kind, i, pid))
			if "sysv-%s:id=%s" % (kind, i) not in said:
				why.append("%s: SysV %s id %s not named on stderr: %s" % (impl, kind, i, said))
	gone = [n for n in (live_names or []) if not os.path.lexists(n)]
	if not live_names:
		why.append("no object of the run still going (%d) seen: %s" % (live.pid, live.lines()[-3:]))
	elif live.p.poll() is None and gone:
		why.append("the next run removed objects of a run still going: %s" % gone)
	elif live.p.poll() is not None:
		why.append("the run still going (%d) ended early: exit %s" % (live.pid, live.p.poll()))
	try:
		os.kill(live.pid, signal.SIGTERM)
	except ProcessLookupError:
		pass
	if live.wait() != 128 + signal.SIGTERM:
		why.append("the run still going (%d), sent SIGTERM, ended %s: %s" % (
			live.pid, live.rc, live.lines()[-3:]))
	ok(not why, "ipclab SIGKILLed in a case (%s): the next run removes what it left, names each, "
	   "and leaves a running run's objects alone" % ", ".join(impls), "\n".join(why))
	clean_check("after SIGKILLed runs", live, before=set())


def main():
	diag("seed %d (FAULTS_SEED=%d reproduces), ipclab %s" % (SEED, SEED, IPCLAB))
	if not SUBREAPER:
		diag("could not become a child subreaper: stray processes are found only as our children")
	if not MQUEUE_MOUNTED:
		diag("/dev/mqueue is not mounted: leftover message queues cannot be listed "
		     "(scripts/test-env.sh mounts it as root); queue leaks are not checked")
	if not os.access(IPCLAB, os.X_OK):
		print("1..0 # SKIP %s not built (IPCLAB_BUILD=%s)" % (IPCLAB, BUILD))
		return 0
	only = os.environ.get("FAULTS_ONLY", "").split(",") if os.environ.get("FAULTS_ONLY") else None
	classes = [("kill", class_kill), ("signal", class_signal), ("stop", class_stop),
		   ("folder", class_folder), ("concurrent", class_concurrent),
		   ("rlimit", class_rlimit), ("fuzz", class_fuzz), ("hostile", class_hostile),
		   ("killed", class_killed)]
	try:
		for name, fn in classes:
			if only and name not in only:
				continue
			t = time.monotonic()
			fn()
			diag("class %s: %.1f s" % (name, time.monotonic() - t))
	finally:
		reap_strays(0)
		shutil.rmtree(WORK, ignore_errors=True)
	diag("faults injected: kill %(kill)d, signal %(signal)d, stop %(stop)d, fuzz vectors %(fuzz)d, "
	     "folder %(folder)d, concurrent %(concurrent)d, rlimit %(rlimit)d" % stats)
	diag("hangs %(hangs)d, leaks %(leaks)d, results lost %(lost)d" % stats)
	diag("campaign took %.1f s" % (time.monotonic() - T0))
	print("1..%d" % ntests)
	return 1 if nfailed else 0


if __name__ == "__main__":
	sys.exit(main())
