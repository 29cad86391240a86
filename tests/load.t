#!/usr/bin/python3
# load.t - build/ipclab --load: case names (/load:F, /rate:N after pool:N,
# nothing at the default), bad values refused with one line and exit 2 and
# nothing created, the describe axes, the open-loop counters in bench.json,
# the label's word for the latency (queueing delay at saturation flat out),
# and the report's open-loop table and hockey-stick figures.
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import tap  # noqa: E402

BUILD = os.environ.get("IPCLAB_BUILD", os.path.join(tap.REPO, "build"))
IPCLAB = os.path.join(BUILD, "ipclab")
T = tap.Tap()
W = tap.workdir()
OUT = os.path.join(W, "run")
COUNTERS = ("offered_msgs_per_s", "late_sends", "intended_p50_ns", "intended_p90_ns", "intended_p99_ns",
	    "intended_p999_ns", "intended_max_ns", "service_p50_ns", "service_p90_ns", "service_p99_ns",
	    "service_p999_ns", "service_max_ns")
state = {}


def ipclab(*args, timeout=tap.CHILD_TIMEOUT_S):
	return subprocess.run([IPCLAB] + list(args), capture_output=True, text=True, timeout=timeout,
			      errors="replace")


@T.test("load: --load names cases /load:F and /rate:N after pool:N, closed loop unnamed")
def _():
	r = ipclab("--list", "--impl=pipe", "--scenario=stream,fanin,pingpong", "--size=64", "--wait=block",
		   "--pool=1,2", "--load=0.5,20k,closed")
	assert r.returncode == 0, r.stderr
	names = r.stdout.split()
	assert "stream/pipe/block/compact/size:64/pool:1/load:0.5" in names, names
	assert "stream/pipe/block/compact/size:64/pool:1/rate:20000" in names, names
	assert "stream/pipe/block/compact/size:64/pool:1" in names, names
	assert "fanin/pipe/block/compact/size:64/pool:2/load:0.5" in names, names
	# pingpong has no load axis: its case is as it always was
	assert [n for n in names if n.startswith("pingpong/")] == ["pingpong/pipe/block/compact/size:64/pool:1"], names
	# no --load: no name changes
	r = ipclab("--list", "--impl=pipe", "--scenario=stream", "--size=64", "--wait=block")
	assert r.stdout.split() == ["stream/pipe/block/compact/size:64/pool:1"], r.stdout


@T.test("load: the quick profile's open-loop share is stream, pipe and shmring, 64 B")
def _():
	r = ipclab("--list")
	assert r.returncode == 0, r.stderr
	loaded = [n for n in r.stdout.split() if "/load:" in n or "/rate:" in n]
	assert loaded and all(n.split("/")[0] == "stream" and n.split("/")[1] in ("pipe", "shmring") and
			      "/size:64/" in n for n in loaded), loaded
	assert len(loaded) == 12, loaded


@T.test("load: bad --load values get one line naming them, exit 2, nothing created")
def _():
	for bad in ("1.5", "0", "-1", "20K", "fast", "2G", "0.5,0.5", ""):
		out = os.path.join(W, "bad")
		r = ipclab("--impl=pipe", "--scenario=stream", "--load=" + bad, "--out=" + out)
		assert r.returncode == 2, (bad, r.returncode, r.stderr)
		lines = r.stderr.strip().splitlines()
		assert len(lines) == 1 and "--load" in lines[0], (bad, r.stderr)
		if bad not in ("", "0.5,0.5"):
			assert "'%s'" % bad in lines[0], (bad, lines)
		assert not os.path.exists(out), bad
	r = ipclab("--impl=pipe", "--scenario=pingpong", "--load=0.5")
	assert r.returncode == 2 and "stream" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


@T.test("load: describe lists the load and rate axes with closed loop as default")
def _():
	d = json.loads(ipclab("--describe").stdout)
	axes = {a["name"]: a for a in d["axes"]}
	assert axes["load"]["default"] == "closed" and {"0.1", "0.5", "0.9"} <= set(axes["load"]["values"])
	assert axes["rate"]["default"] == "closed"
	names = {c["name"] for c in d["counters"]}
	assert set(COUNTERS) <= names and "saturation_msgs_per_s" in names


@T.test("load: a run writes the open-loop counters; a fraction carries its saturation")
def _():
	r = ipclab("--impl=pipe,shmring", "--scenario=stream", "--size=64", "--wait=block",
		   "--load=0.1,0.5,closed", "--no-perf", "--no-sentinel", "--benchmark_min_time=0.02",
		   "--benchmark_repetitions=1", "--out=" + OUT, timeout=200)
	assert r.returncode == 0, r.stderr[-2000:]
	with open(os.path.join(OUT, "bench.json")) as f:
		runs = [e for e in json.load(f)["benchmarks"] if e.get("run_type") == "iteration"]
	assert len(runs) == 6, [e["name"] for e in runs]
	for e in runs:
		assert not e.get("error_occurred"), e
		if "/load:" in e["name"]:
			for c in COUNTERS + ("saturation_msgs_per_s",):
				assert c in e, (e["name"], c)
			frac = float(e["name"].split("/load:")[1].split("/")[0])
			assert abs(e["offered_msgs_per_s"] - frac * e["saturation_msgs_per_s"]) <= 1e-6 * e["offered_msgs_per_s"]
			assert e["intended_p99_ns"] >= e["service_p99_ns"], e
			assert e["p99_ns"] == e["intended_p99_ns"], e
			assert e["late_sends"] <= e["samples"], e
			assert 0 <= e["sender_cpu_wait_share"] <= 1, e
		else:
			assert not any(c in e for c in COUNTERS + ("sender_cpu_wait_share",)), e["name"]
		# the label says what the latency is: flat out, queueing delay
		want = "latency: from the intended send time, open loop" if "/load:" in e["name"] else \
		       "latency: queueing delay at saturation"
		assert e["label"].startswith("cpus=") and e["label"].endswith(" " + want), (e["name"], e["label"])


@T.test("load: the report has the open-loop table with the 10x column and the hockey-stick figure")
def _():
	rc, out, err = tap.run("report.py", OUT)
	assert rc == 0 or "pdflatex" in err, (rc, err)
	md = tap.read(os.path.join(OUT, "report.md"))
	sec = tap.section(md, "Latency under open-loop load")
	row = tap.row_of(sec, "stream", "pipe", "0.1")
	assert row[-1].startswith(("not reached", "0.5", "only flat out")), row
	assert tap.row_of(sec, "stream", "shmring", "flat out")
	# the senders' share of the round spent waiting for a CPU, in percent
	head = tap.row_of(sec, "Late %")
	assert 0 <= float(row[head.index("CPU wait %")]) <= 100, row
	for ext in (".png", ".pdf"):
		tap.check_magic(os.path.join(OUT, "plots", "load-stream-block" + ext))
	# open-loop rows are not in the queueing-delay table
	q = tap.section(md, "Queueing delay at saturation")
	assert "0.1" not in [c.strip() for line in q.splitlines() for c in line.split("|")]


if __name__ == "__main__":
	rc = T.run()
	subprocess.run(["rm", "-rf", W])
	sys.exit(rc)
