#!/usr/bin/env python3
# suite.t - TAP tests of build/ipclab itself: the quick profile end to end
# with a tiny time budget (JSON parsed and checked), one test per class of
# bad flag, and stable --list output.
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
				"fixtures"))
import tap  # noqa: E402

BUILD = os.environ.get("IPCLAB_BUILD", os.path.join(tap.REPO, "build"))
IPCLAB = os.path.join(BUILD, "ipclab")
T = tap.Tap()
W = tap.workdir()
SMOKE = os.path.join(W, "smoke")
state = {}

def _workloads():
	"""Scenario names, from the registry (ipclab --describe)."""
	r = subprocess.run([IPCLAB, "--describe"], capture_output=True, text=True,
			   timeout=tap.CHILD_TIMEOUT_S)
	return [w["name"] for w in json.loads(r.stdout)["workloads"]]


# SCENARIO/IMPL/WAIT/PLACEMENT/size:N/pool:N, then /key:value per axis away
# from its default.
NAME_RE = re.compile(r"^(%s)/[a-z0-9_-]+/" % "|".join(map(re.escape, _workloads())) +
		     r"(block|spin|hybrid|none)/"
		     r"(none|compact|scatter|smt|cross-cache|cross-numa|cpus)/"
		     r"size:\d+/pool:\d+(/[a-z_]+:[a-z0-9_.-]+)*$")
COUNTERS = ["msgs_per_s", "bytes_per_s", "p50_ns", "p90_ns", "p99_ns",
	    "p999_ns", "max_ns", "samples", "oversubscribed"]
CONTEXT = ["ipclab_kernel", "ipclab_clock", "ipclab_clock_read_ns",
	   "ipclab_clock_resolution_ns", "ipclab_clocksource", "ipclab_cpu_model",
	   "ipclab_pus", "ipclab_cores", "ipclab_packages", "ipclab_numa_nodes",
	   "ipclab_caches", "ipclab_smt", "ipclab_virtualized", "ipclab_commit",
	   "ipclab_compiler", "ipclab_profile", "ipclab_repetitions",
	   "ipclab_cpu_mitigations", "ipclab_cpufreq_governor",
	   "library_build_type"]


# An IPC name carries the pid of the ipclab that made it (impl/names.c).
NAME_PID = re.compile(r"^ipclab-[a-z-]+?-(\d+)-")


def leftovers_of(pid, tmp):
	"""What the ipclab with this pid left: its IPC objects (by the pid in
	their names) and anything in its private TMPDIR.  Only its own: other
	runs on the machine (another test, another user's benchmark) may hold
	ipclab objects at the same moment."""
	found = set()
	for d in ("/dev/shm", "/dev/mqueue"):
		try:
			found |= {os.path.join(d, n) for n in os.listdir(d)
				  if (m := NAME_PID.match(n)) and int(m.group(1)) == pid}
		except OSError:
			pass
	return found | {os.path.join(tmp, n) for n in os.listdir(tmp)}


def ipclab(*args, timeout=tap.CHILD_TIMEOUT_S):
	"""Run ipclab with a private TMPDIR; .left is what it left behind."""
	tmp = tempfile.mkdtemp(dir=W, prefix="tmp-")
	env = dict(os.environ, TMPDIR=tmp)
	p = subprocess.Popen([IPCLAB] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
			     text=True, errors="replace", env=env)
	try:
		so, se = p.communicate(timeout=timeout)
	except BaseException:
		# Timed out, or the watchdog fired: SIGTERM first, so that
		# ipclab removes what it made; SIGKILL if it does not end.
		p.terminate()
		try:
			p.communicate(timeout=30)
		except subprocess.TimeoutExpired:
			p.kill()
			p.communicate()
		raise
	r = subprocess.CompletedProcess(p.args, p.returncode, so, se)
	r.left = sorted(leftovers_of(p.pid, tmp))
	shutil.rmtree(tmp, ignore_errors=True)
	return r


def listed(*args):
	r = ipclab("--list", *args)
	assert r.returncode == 0, r.stderr
	return r.stdout.splitlines()


@T.test("suite: --list gives the same well-formed, unique names twice")
def list_stable():
	a, b = listed(), listed()
	assert a == b, "two --list runs differ"
	assert len(a) > 100, "quick profile has only %d cases" % len(a)
	assert len(set(a)) == len(a), "duplicate case names"
	host = os.uname().nodename
	for n in a:
		assert NAME_RE.match(n), "malformed case name %r" % n
		# Whole segments: a host called "vm" must not flag "vmsplice".
		assert host not in re.split(r"[/:]", n), "machine-specific name %r" % n
	state["names"] = a


@T.test("suite: --list honours the selection flags")
def list_selection():
	names = listed("--impl=pipe", "--scenario=fanout", "--pool=2,3",
		       "--size=1k", "--wait=spin", "--placement=scatter")
	assert names == ["fanout/pipe/spin/scatter/size:1024/pool:2",
			 "fanout/pipe/spin/scatter/size:1024/pool:3"], names
	assert listed("--cpus=0", "--scenario=pingpong", "--impl=pipe",
		      "--size=64", "--wait=block") == \
		["pingpong/pipe/block/cpus/size:64/pool:1"]


@T.test("suite: every quick-profile case runs or is skipped with a reason")
def smoke():
	r = ipclab("--benchmark_min_time=0.01", "--benchmark_repetitions=1",
		   "--out=" + SMOKE, timeout=400)
	assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr[-2000:])
	with open(os.path.join(SMOKE, "bench.json")) as f:
		doc = json.load(f)
	state["doc"] = doc
	assert not r.left, "left behind: %s" % r.left
	assert not glob.glob(os.path.join(SMOKE, ".*tmp")), "temporary file left"
	# The progress line names every case.
	assert re.search(r"^\[1/\d+\] ", r.stderr, re.M), "no progress line"


@T.test("suite: the smoke run's JSON has every case, counters and reasons")
def smoke_json():
	doc = state["doc"]
	runs = {}
	for b in doc["benchmarks"]:
		assert b["run_type"] == "iteration", b["name"]
		name = b["run_name"]
		assert name.endswith("/manual_time"), name
		runs.setdefault(name[:-len("/manual_time")], []).append(b)
	missing = [n for n in state["names"] if n not in runs]
	assert not missing, "cases missing from bench.json: %s" % missing[:5]
	ran = skipped = 0
	for name, entries in runs.items():
		assert len(entries) == 1, name
		b = entries[0]
		if b.get("error_occurred"):
			msg = b.get("error_message", "")
			assert msg.startswith("skipped: "), "%s failed: %s" % (name, msg)
			assert len(msg) > len("skipped: ") + 10, "empty reason: " + name
			skipped += 1
			continue
		ran += 1
		assert b["iterations"] > 0 and b["real_time"] > 0, name
		if name.startswith("micro/") and not name.startswith("micro/cacheline") \
		   and "/size:0/" in name:
			assert b["mean_ns"] > 0, name
			continue
		for c in COUNTERS:
			assert c in b, "%s lacks counter %s" % (name, c)
		# size:0: a case that moves no payload (a sync primitive).
		assert b["msgs_per_s"] > 0 and (b["bytes_per_s"] > 0 or "/size:0/" in name), name
		assert b["samples"] > 0, name
		assert 0 < b["p50_ns"] <= b["p90_ns"] <= b["p99_ns"] <= b["p999_ns"] <= b["max_ns"], name
		assert b["oversubscribed"] in (0, 1), name
		size = int(re.search(r"size:(\d+)", name).group(1))
		# Throughput counts payload bytes: bytes/s = msgs/s x size.
		assert abs(b["bytes_per_s"] - b["msgs_per_s"] * size) <= 1e-6 * b["bytes_per_s"], name
		if not name.startswith("micro/") or name.startswith("micro/cacheline"):
			if not name.startswith("micro/"):
				assert b.get("label", "").startswith("cpus="), name
	assert ran > 100 and skipped < ran, "ran %d, skipped %d" % (ran, skipped)
	# mqueue's 64 KiB case is over this machine's msgsize_max: skipped,
	# naming the limit, never clamped.
	mq = runs.get("pingpong/mqueue/block/compact/size:65536/pool:1")
	with open("/proc/sys/fs/mqueue/msgsize_max") as f:
		if mq and int(f.read()) < 65536:
			assert mq[0].get("error_occurred"), "mqueue 64 KiB was not skipped"
			assert "8192" in mq[0]["error_message"] or "largest" in mq[0]["error_message"]


@T.test("suite: a pool larger than the allowed CPUs is marked oversubscribed")
def oversubscribed():
	doc = state["doc"]
	pus = len(os.sched_getaffinity(0))
	seen = 0
	for b in doc["benchmarks"]:
		if b.get("error_occurred"):
			continue
		m = re.match(r"(pairs|fanout|fanin)/.*/pool:(\d+)/manual_time$", b["run_name"])
		if not m:
			continue
		pool = int(m.group(2))
		procs = 2 * pool if m.group(1) == "pairs" else pool + 1
		assert b["procs"] == procs, b["name"]
		assert b["oversubscribed"] == (1 if procs > pus else 0), b["name"]
		seen += 1
	assert seen > 10


@T.test("suite: the context and topology.xml describe the machine")
def context():
	ctx = state["doc"]["context"]
	for k in CONTEXT:
		assert k in ctx and str(ctx[k]) != "", "context lacks " + k
	with open("/proc/sys/kernel/osrelease") as f:
		assert f.read().strip() in ctx["ipclab_kernel"]
	assert int(ctx["ipclab_pus"]) >= len(os.sched_getaffinity(0))
	with open(os.path.join(SMOKE, "topology.xml")) as f:
		xml = f.read()
	assert xml.startswith("<?xml") and "<topology" in xml


# ---- bad input: one line, exit 2, nothing created -------------------------

BAD = [
	("unknown mechanism", ["--impl=nosuch"], "nosuch"),
	("size 0", ["--size=0"], "'0'"),
	("unparsable size", ["--size=12q"], "12q"),
	("size over every mechanism's limit", ["--size=2G"], "2G"),
	("size below the message header", ["--size=8"], "'8'"),
	("pool 0", ["--pool=0"], "'0'"),
	("absurd pool", ["--pool=100000"], "100000"),
	("unknown placement", ["--placement=diagonal"], "diagonal"),
	("CPU not allowed", ["--cpus=1000"], "1000"),
	("malformed CPU list", ["--cpus=3-1"], "3-1"),
	("unknown wait", ["--wait=sleepy"], "sleepy"),
	("unknown profile", ["--profile=huge"], "huge"),
	("unknown scenario", ["--scenario=pingping"], "pingping"),
	("unknown flag", ["--frobnicate"], "frobnicate"),
	("unknown Google Benchmark flag", ["--benchmark_frobnicate=1"], "frobnicate"),
	("repeated flag", ["--impl=pipe", "--impl=fifo"], "--impl"),
	("empty list item", ["--impl=pipe,,fifo"], "--impl"),
	("bad timeout", ["--timeout=-1"], "-1"),
	("invalid filter regex", ["--benchmark_filter=["], "regular expression"),
	("filter that selects nothing", ["--benchmark_filter=^nosuchcase$"], "selects none"),
]


def bad_case(label, args, needle):
	def run():
		out = os.path.join(W, "never-" + re.sub(r"\W", "_", label))
		r = ipclab(*(args + ["--out=" + out]))
		assert r.returncode == 2, "exit %d for %s" % (r.returncode, args)
		lines = r.stderr.strip("\n").split("\n")
		assert len(lines) == 1, "stderr has %d lines: %r" % (len(lines), r.stderr)
		assert needle in lines[0], "%r does not name %r" % (lines[0], needle)
		assert r.stdout == "", "stdout: %r" % r.stdout[:200]
		assert not os.path.exists(out), "--out folder was created"
		assert not r.left, "IPC objects created: %s" % r.left
	return run


for label, args, needle in BAD:
	T.test("suite: bad input (%s) gets one line and exit 2" % label)(bad_case(label, args, needle))


@T.test("suite: an --out folder that holds bench.json is refused before measuring")
def existing_out():
	r = ipclab("--impl=pipe", "--scenario=stream", "--size=64",
		   "--out=" + SMOKE)
	assert r.returncode == 2, r.returncode
	assert len(r.stderr.strip().split("\n")) == 1, r.stderr
	assert "exists" in r.stderr
	with open(os.path.join(SMOKE, "bench.json")) as f:
		assert json.load(f) == state["doc"], "existing results changed"


@T.test("suite: --help names every selection flag and exits 0")
def help_text():
	r = ipclab("--help")
	assert r.returncode == 0
	for flag in ("--impl=", "--scenario=", "--size=", "--pool=", "--placement=",
		     "--cpus=", "--wait=", "--profile=", "--out=", "--list"):
		assert flag in r.stdout, flag


# A filter with spaces in it: ipclab_command (joined with spaces) cannot
# give it back, ipclab_argv must.
RERUN_ARGS = ["--impl=pipe,shmring", "--scenario=pingpong", "--size=64", "--wait=block",
	      "--benchmark_min_time=0.01", "--benchmark_repetitions=2", "--no-perf",
	      "--benchmark_filter=pipe/block|no such case| shmring/block"]


def load(folder):
	with open(os.path.join(folder, "bench.json")) as f:
		return json.load(f)


@T.test("suite: ipclab_argv is the exact argv; order and selection are in the context")
def exact_argv():
	a = os.path.join(W, "rerun-a")
	r = ipclab(*(RERUN_ARGS + ["--out=" + a]))
	assert r.returncode == 0, r.stderr[-1000:]
	ctx = load(a)["context"]
	assert json.loads(ctx["ipclab_argv"]) == [IPCLAB] + RERUN_ARGS + ["--out=" + a], ctx["ipclab_argv"]
	assert re.match(r"^interleaved seed=\d+$", ctx["ipclab_order"]), ctx["ipclab_order"]
	assert "impl=pipe,shmring" in ctx["ipclab_selection"], ctx["ipclab_selection"]
	# The sentinel rides on every repetition that measured.
	assert float(ctx["ipclab_drift_factor"]) > 1 and ctx["ipclab_sentinel"], ctx
	runs = [b for b in load(a)["benchmarks"] if b["run_type"] == "iteration" and not b.get("error_occurred")]
	assert runs, "nothing measured"
	# A probe that failed (its peer thread not scheduled for a second on a
	# crowded machine) leaves its counter out; one that is there is a
	# measured round trip, never 0; and each probe measured somewhere.
	keys = ("sentinel_line_before_ns", "sentinel_line_after_ns",
		"sentinel_wake_before_ns", "sentinel_wake_after_ns")
	for b in runs:
		for k in keys:
			assert k not in b or b[k] > 0, (b["name"], k, b[k])
		assert b.get("drift") in (0, 1), (b["name"], b.get("drift"))
	for k in keys:
		assert any(k in b for b in runs), (k, "in no repetition")
	state["rerun-a"] = a


@T.test("suite: --rerun=DIR --out=NEW runs the same cases with the same flags and order")
def rerun():
	a = state["rerun-a"]
	b = os.path.join(W, "rerun-b")
	r = ipclab("--rerun=" + a, "--out=" + b)
	assert r.returncode == 0, r.stderr[-1000:]
	da, db = load(a), load(b)
	names = lambda d: sorted(x["name"] for x in d["benchmarks"])
	assert names(da) == names(db) and names(da), (names(da), names(db))
	argv_b = json.loads(db["context"]["ipclab_argv"])
	assert RERUN_ARGS[-1] in argv_b, argv_b
	assert db["context"]["ipclab_order"] == da["context"]["ipclab_order"]
	assert argv_b[-1] == "--out=" + b, argv_b


@T.test("suite: --rerun of a missing or non-ipclab folder: one line, exit 2, nothing made")
def rerun_bad():
	plain = os.path.join(W, "not-a-result")
	os.mkdir(plain)
	with open(os.path.join(plain, "bench.json"), "w") as f:
		json.dump({"context": {"date": "x"}, "benchmarks": []}, f)
	for d in (os.path.join(W, "no-such-folder"), plain, os.path.join(W, "empty-folder")):
		os.makedirs(os.path.join(W, "empty-folder"), exist_ok=True)
		out = os.path.join(W, "rerun-never")
		r = ipclab("--rerun=" + d, "--out=" + out)
		assert r.returncode == 2, (d, r.returncode, r.stderr)
		lines = r.stderr.strip("\n").split("\n")
		assert len(lines) == 1 and d in lines[0], r.stderr
		assert not os.path.exists(out), "created " + out
	r = ipclab("--rerun=" + state["rerun-a"], "--impl=pipe")
	assert r.returncode == 2 and len(r.stderr.strip().split("\n")) == 1, r.stderr


if __name__ == "__main__":
	if not os.access(IPCLAB, os.X_OK):
		print("1..0 # SKIP %s is not built" % IPCLAB)
		sys.exit(0)
	try:
		rc = T.run()
	finally:
		shutil.rmtree(W, ignore_errors=True)
	sys.exit(rc)
