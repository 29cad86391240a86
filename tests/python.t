#!/usr/bin/python3
# python.t - TAP tests of the Python driver (bench/python/ipclab_py), run by
# Debian's /usr/bin/python3 like the driver itself: valid Google Benchmark
# JSON for a small selection, a worker killed mid-case fails only its case
# and leaves nothing behind, bad flags get one line and exit 2.
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("IPCLAB_BUILD", os.path.join(ROOT, "build"))
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "bench", "python"),
	   IPCLAB_BUILD=BUILD, PYTHONDONTWRITEBYTECODE="1")
ENV.pop("IPCLAB_PY_FAULT", None)
COUNTERS = ("msgs_per_s", "bytes_per_s", "p50_ns", "p90_ns", "p99_ns",
	    "p999_ns", "p9999_ns", "max_ns", "min_ns", "mean_ns", "samples",
	    "oversubscribed", "procs")
# Names Python gives what it creates in /dev/shm: SharedMemory segments and
# (under forkserver/spawn) SemLocks.
PY_SHM = re.compile(r"^(psm_|sem\.mp-)")
QUICK = ["--repetitions=2", "--min-time=0.01", "--timeout=5", "--wait=block",
	 "--placement=compact"]
TESTS = []


def test(name):
	def add(fn):
		TESTS.append((name, fn))
		return fn
	return add


def driver(args, extra_env=None, timeout=300):
	"""(status, stdout, stderr, pid) of one driver run in its own session.
	Output goes to files, not pipes: a process the driver left behind
	would hold a pipe open and hide itself by delaying our read."""
	env = dict(ENV, **(extra_env or {}))
	with tempfile.TemporaryFile("w+") as so, tempfile.TemporaryFile("w+") as se:
		p = subprocess.Popen([sys.executable, "-m", "ipclab_py"] + args, env=env,
				     stdout=so, stderr=se, text=True,
				     start_new_session=True)
		p.wait(timeout=timeout)
		so.seek(0)
		se.seek(0)
		return p.returncode, so.read(), se.read(), p.pid


def py_shm():
	return {n for n in os.listdir("/dev/shm") if PY_SHM.match(n)}


def session_members(sid):
	left = []
	for d in os.listdir("/proc"):
		if not d.isdigit():
			continue
		try:
			with open("/proc/%s/stat" % d) as f:
				st = f.read()
		except OSError:
			continue
		fields = st.rsplit(")", 1)[1].split()
		# Field 6 is the session.  A zombie has ended: once its parent
		# is gone it is init's to reap (this container's init is slow).
		if int(fields[3]) == sid and fields[0] != "Z":
			left.append("%s %s" % (d, st.split(" ", 2)[1]))
	return left


def load(folder):
	with open(os.path.join(folder, "python.json")) as f:
		return json.load(f)


def by_case(doc):
	out = {}
	for e in doc["benchmarks"]:
		out.setdefault(e["run_name"][:-len("/manual_time")], []).append(e)
	return out


W = tempfile.mkdtemp(prefix="ipclab-python-t.")


@test("python: JSON for a small selection is Google Benchmark's, every case with its repetitions, aggregates and counters")
def _():
	sel = ["--scenario=pingpong,fanout,handoff,counter", "--impl=py-pipe,py-queue,py-lock",
	       "--pool=1,2"] + QUICK
	rc, listed, err, _ = driver(sel + ["--list"])
	assert rc == 0, err
	names = listed.split()
	want = {"pingpong/py-pipe/block/compact/size:64/pool:1",
		"pingpong/py-queue/block/compact/size:64/pool:1",
		"fanout/py-queue/block/compact/size:64/pool:1",
		"fanout/py-queue/block/compact/size:64/pool:2",
		"handoff/py-lock/block/compact/size:64/pool:1",
		"counter/py-lock/block/compact/size:64/pool:1",
		"counter/py-lock/block/compact/size:64/pool:2"}
	assert set(names) == want, names
	out = os.path.join(W, "small")
	rc, _, err, _ = driver(sel + ["--out=" + out])
	assert rc == 0, err
	assert sorted(os.listdir(out)) == ["python.json"], os.listdir(out)
	doc = load(out)
	ctx = doc["context"]
	for k in ("date", "host_name", "num_cpus", "caches", "python_version",
		  "ipclab_py_start_method", "ipclab_repetitions", "ipclab_clock"):
		assert k in ctx, k
	cases = by_case(doc)
	assert set(cases) == want, sorted(cases)
	for name, es in cases.items():
		its = [e for e in es if e["run_type"] == "iteration"]
		aggs = sorted(e["aggregate_name"] for e in es if e["run_type"] == "aggregate")
		assert len(its) == 2 and aggs == ["cv", "mean", "median", "stddev"], (name, es)
		for e in its:
			assert not e.get("error_occurred"), (name, e.get("error_message"))
			assert e["repetitions"] == 2 and e["time_unit"] == "ns", e
			assert e["real_time"] > 0 and e["iterations"] > 0, e
			for c in COUNTERS:
				assert isinstance(e.get(c), float), (name, c)
			assert e["samples"] == e["iterations"], e
			assert e["p50_ns"] <= e["p99_ns"] <= e["max_ns"], e
			assert e["label"].startswith("cpus="), e
		procs = its[0]["procs"]
		assert procs == (3 if name.endswith("pool:2") else 2), (name, procs)


@test("python: a worker killed mid-case fails only its case; no process or shared memory is left")
def _():
	before = py_shm()
	out = os.path.join(W, "kill")
	killed = r"^(pingpong/py-(queue|shm|manager-queue)|fanout/py-queue|counter/py-value)/"
	rc, _, err, sid = driver(
		["--scenario=pingpong,fanout,counter",
		 "--impl=py-pipe,py-queue,py-shm,py-manager-queue,py-value,py-lock",
		 "--pool=1,2"] + QUICK + ["--out=" + out],
		extra_env={"IPCLAB_PY_FAULT": "kill-worker:" + killed})
	assert rc == 0, err
	cases = by_case(load(out))
	assert len(cases) == 12, sorted(cases)
	for name, es in cases.items():
		errs = [e.get("error_message") for e in es if e.get("error_occurred")]
		if re.search(killed, name):
			assert errs and all(m.startswith("failed: worker 1 ") and "SIGKILL" in m
					    for m in errs), (name, errs)
			assert not [e for e in es if not e.get("error_occurred")], name
		else:
			assert not errs, (name, errs)
	# The resource tracker and the manager's server leave when the
	# driver has gone: give them a moment (less than --timeout, so a
	# worker left waiting on a dead case would still be seen).
	deadline = time.monotonic() + 2
	while session_members(sid) and time.monotonic() < deadline:
		time.sleep(0.1)
	assert not session_members(sid), session_members(sid)
	assert py_shm() - before == set(), py_shm() - before


def median(xs):
	xs = sorted(xs)
	n = len(xs)
	return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


@test("python: the report puts py-pipe pingpong beside unix-stream and py-lock handoff beside posix-sem-named with Python overhead = py / raw, and Python's points in the figures")
def _():
	folder = os.path.join(W, "small")	# python.json from the first test
	assert os.path.exists(os.path.join(folder, "python.json")), "first test made no python.json"
	r = subprocess.run([os.path.join(BUILD, "ipclab"), "--impl=unix-stream,posix-sem-named",
			    "--scenario=pingpong,handoff",
			    "--size=64", "--wait=block", "--placement=compact",
			    "--benchmark_min_time=0.01", "--benchmark_repetitions=2",
			    "--out=" + folder], capture_output=True, text=True, timeout=120)
	assert r.returncode == 0, r.stderr
	r = subprocess.run([os.path.join(ROOT, "scripts", "report.py"), folder],
			   capture_output=True, text=True, timeout=300, env=ENV)
	assert os.path.exists(os.path.join(folder, "report.md")), r.stderr

	def times(name, doc):
		return [e["real_time"] for e in doc["benchmarks"]
			if e["run_name"] == name + "/manual_time" and e["run_type"] == "iteration"]
	py = times("pingpong/py-pipe/block/compact/size:64/pool:1", load(folder))
	with open(os.path.join(folder, "bench.json")) as f:
		raw = times("pingpong/unix-stream/block/compact/size:64/pool:1", json.load(f))
	assert len(py) == 2 and len(raw) == 2, (py, raw)
	want = "%.2f" % (median(py) / median(raw))
	with open(os.path.join(folder, "report.md")) as f:
		md = f.read()
	sec = md.split("## Python beside the raw mechanisms")[1]
	head = [ln for ln in sec.splitlines() if ln.startswith("| Scenario |")]
	assert head, sec[:2000]
	head = [c.strip() for c in head[0].split("|")]
	assert "Python overhead = py / raw" in head, head
	col = head.index("Python overhead = py / raw")
	row = [ln for ln in sec.splitlines() if ln.startswith("| pingpong | py-pipe | unix-stream |")]
	assert len(row) == 1, sec[:2000]
	cells = [c.strip() for c in row[0].split("|")]
	assert cells[col] == want, (cells, col, want)
	# the hand-off: Python's Lock is a named POSIX semaphore (size 0 on the C side)
	py = times("handoff/py-lock/block/compact/size:64/pool:1", load(folder))
	with open(os.path.join(folder, "bench.json")) as f:
		doc = json.load(f)
	# a lock moves no payload: whatever size the C case carries
	raw = [e["real_time"] for e in doc["benchmarks"]
	       if re.match(r"handoff/posix-sem-named/block/compact/size:\d+/pool:1/manual_time$",
			   e["run_name"]) and e["run_type"] == "iteration"]
	assert len(py) == 2 and len(raw) == 2, (py, raw)
	row = [ln for ln in sec.splitlines() if ln.startswith("| handoff | py-lock | posix-sem-named |")]
	assert len(row) == 1, sec[:2000]
	cells = [c.strip() for c in row[0].split("|")]
	assert cells[col] == "%.2f" % (median(py) / median(raw)), (cells, py, raw)
	with open(os.path.join(folder, "report.tex")) as f:
		assert "Python beside the raw mechanisms" in f.read()
	if shutil.which("gnuplot"):
		assert os.path.exists(os.path.join(folder, "plots", "python-overhead.png"))
		# Python's points on the C rows' axes: every round trip side by side
		with open(os.path.join(folder, "plots", "gp", "roundtrip-block.gp")) as f:
			gp = f.read()
		for name in ("'unix-stream'", "'posix-sem-named'", "'py-pipe'", "'py-lock'"):
			assert name in gp, name


BAD = [
	(["--pool=0"], "pool '0'"),
	(["--impl=py-nope"], "py-nope"),
	(["--wait=hybrid"], "hybrid"),
	(["--bogus"], "--bogus"),
	(["--cpus=99999"], "99999"),
	(["--placement=everywhere"], "everywhere"),
	(["--size=8"], "size '8'"),
	(["--timeout=0"], "'0'"),
	(["--min-time=nan"], "nan"),
	(["--profile=slow"], "slow"),
	(["--scenario=pingpong", "--pool=2"], "no case"),
	(["--impl=py-pipe", "--impl=py-queue"], "twice"),
]


@test("python: bad flags get one line naming the value, exit 2, and create nothing")
def _():
	for i, (args, word) in enumerate(BAD):
		out = os.path.join(W, "bad%d" % i)
		rc, so, se, _ = driver(args + ["--out=" + out])
		lines = se.splitlines()
		assert rc == 2, (args, rc, se)
		assert len(lines) == 1 and word in lines[0], (args, se)
		assert so == "", (args, so)
		assert not os.path.exists(out), (args, "created", out)


def main():
	print("1..%d" % len(TESTS))
	bad = 0
	for i, (name, fn) in enumerate(TESTS, 1):
		try:
			fn()
			print("ok %d - %s" % (i, name))
		except Exception as e:	# noqa: BLE001 - every failure is a not ok
			bad += 1
			print("not ok %d - %s" % (i, name))
			for line in ("%s: %s" % (type(e).__name__, e)).splitlines():
				print("# " + line)
		sys.stdout.flush()
	shutil.rmtree(W, ignore_errors=True)
	return 1 if bad else 0


if __name__ == "__main__":
	sys.exit(main())
