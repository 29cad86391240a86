#!/usr/bin/env python3
# pools.t - the report's "Processes, threads and coroutines" (scripts/
# ipclab/pools.py) on a real run: the same pingpong and handoff under the
# four worker backends, each measured row with a p50 per backend, 'skipped'
# where a kernel primitive cannot run under coroutines, the ratios process
# / coroutine and ucontext / own switch computed from the medians in the
# folder, and the figure drawn.  Correctness only: no timing is compared.
import json
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import tap  # noqa: E402

BUILD = os.environ.get("IPCLAB_BUILD", os.path.join(tap.REPO, "build"))
IPCLAB = os.path.join(BUILD, "ipclab")
BACKENDS = ("process", "thread", "coroutine", "coroutine-ucontext")
T = tap.Tap()
W = tap.workdir()
OUT = os.path.join(W, "run")


def medians(folder):
	"""{case name without /manual_time: p50 median} and the skipped names."""
	with open(os.path.join(folder, "bench.json")) as f:
		d = json.load(f)
	p50, skipped = {}, set()
	for b in d["benchmarks"]:
		name = b.get("run_name", b["name"]).replace("/manual_time", "")
		if b.get("aggregate_name") == "median":
			p50[name] = b["p50_ns"]
		elif str(b.get("error_message", "")).startswith("skipped: "):
			skipped.add(name)
	return p50, skipped


@T.test("pools: a run under the four backends: pingpong/coro and handoff/coro-sem everywhere, "
	"handoff/futex-event skipped under coroutines with the reason")
def run():
	r = subprocess.run([IPCLAB, "--cpus=0", "--scenario=pingpong,handoff", "--impl=coro,coro-sem,futex-event",
			    "--wait=block", "--workers=" + ",".join(BACKENDS), "--no-sentinel", "--no-perf",
			    "--benchmark_repetitions=2", "--benchmark_min_time=0.01", "--out=" + OUT],
			   capture_output=True, text=True, timeout=tap.CHILD_TIMEOUT_S, errors="replace")
	assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr[-2000:])
	p50, skipped = medians(OUT)
	for b in BACKENDS:
		sfx = "" if b == "process" else "/workers:" + b
		for case in ("pingpong/coro/block/cpus/size:64/pool:1", "handoff/coro-sem/block/cpus/size:0/pool:1"):
			assert p50.get(case + sfx, 0) > 0, "%s%s has no p50 median" % (case, sfx)
		kernel = "handoff/futex-event/block/cpus/size:0/pool:1" + sfx
		if b.startswith("coroutine"):
			assert kernel in skipped, "%s not skipped" % kernel
		else:
			assert p50.get(kernel, 0) > 0, "%s has no p50 median" % kernel


@T.test("pools: the report sets each hand-off side by side per backend, with the ratios of the folder's medians")
def report():
	if not os.path.exists(os.path.join(OUT, "bench.json")):
		raise tap.Skip("the run above failed")
	rc, out, err = tap.run("report.py", OUT)
	assert rc == 0, "report.py exit %d: %s" % (rc, err[-2000:])
	text = tap.section(tap.read(os.path.join(OUT, "report.md")), "Processes, threads and coroutines")
	head = [c.strip() for c in text.split("\n| Case |")[1].splitlines()[0].strip("|").split("|")]
	want = ["p50 ns, %s" % b for b in BACKENDS] + ["process / coroutine", "ucontext / own switch"]
	assert head == want, "columns %s" % head
	p50, _ = medians(OUT)
	for scen, impl, size in (("pingpong", "coro", 64), ("handoff", "coro-sem", 0)):
		row = tap.row_of(text, "%s %s block cpus size:%d" % (scen, impl, size))
		base = "%s/%s/block/cpus/size:%d/pool:1" % (scen, impl, size)
		got = [p50[base + ("" if b == "process" else "/workers:" + b)] for b in BACKENDS]
		for cell, v in zip(row[1:5], got):
			assert cell not in ("-", "skipped"), row
			assert abs(float(cell) - v) <= 0.01 * v + 1, "cell %s for median %g: %s" % (cell, v, row)
		assert abs(float(row[5]) - got[0] / got[2]) <= 0.06 * got[0] / got[2] + 0.1, \
			"process / coroutine %s, medians give %.3g" % (row[5], got[0] / got[2])
		assert abs(float(row[6]) - got[3] / got[2]) <= 0.01 * got[3] / got[2] + 0.01, \
			"ucontext / own %s, medians give %.3g" % (row[6], got[3] / got[2])
	row = tap.row_of(text, "handoff futex-event block cpus size:0")
	assert row[3:7] == ["skipped", "skipped", "-", "-"], row
	if shutil.which("gnuplot"):
		for ext in ("png", "pdf"):
			tap.check_magic(os.path.join(OUT, "plots", "handoff-backends." + ext))


try:
	rc = T.run()
finally:
	shutil.rmtree(W, ignore_errors=True)
sys.exit(rc)
