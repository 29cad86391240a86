#!/usr/bin/python3
# matrix.t - the matrix workload end to end: one case per mechanism (no
# pair in its name), matrix-MECH-WAIT-p50/p99.csv and matrix-classes.csv
# in the results folder (2x2 here, empty diagonal; each cell the median over
# the kept repetitions), --matrix-max-pairs
# (bad values exit 2), and the heatmaps with pair-class borders, drawn from
# injected CSVs of a 16-PU machine.
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import tap  # noqa: E402

sys.path.insert(0, tap.SCRIPTS)
from ipclab import matrix  # noqa: E402

BUILD = os.environ.get("IPCLAB_BUILD", os.path.join(tap.REPO, "build"))
IPCLAB = os.path.join(BUILD, "ipclab")
T = tap.Tap()
W = tap.workdir()
OUT = os.path.join(W, "run")
state = {}


def ipclab(*args, timeout=tap.CHILD_TIMEOUT_S):
	return subprocess.run([IPCLAB] + list(args), capture_output=True, text=True, timeout=timeout,
			      errors="replace")


@T.test("matrix: one case per mechanism and wait, no pair in the name")
def _():
	r = ipclab("--list", "--scenario=matrix", "--impl=pipe,shmring", "--wait=block,spin",
		   "--placement=compact,scatter")
	assert r.returncode == 0, r.stderr
	assert r.stdout.split() == ["matrix/pipe/block/none/size:64/pool:1", "matrix/pipe/spin/none/size:64/pool:1",
				    "matrix/shmring/block/none/size:64/pool:1",
				    "matrix/shmring/spin/none/size:64/pool:1"], r.stdout


@T.test("matrix: a run writes every pair's p50 and p99 as CSV matrices")
def _():
	r = ipclab("--scenario=matrix", "--impl=pipe", "--wait=block", "--no-perf", "--no-sentinel",
		   "--benchmark_min_time=0.01", "--benchmark_repetitions=1", "--out=" + OUT, timeout=200)
	assert r.returncode == 0, r.stderr[-2000:]
	n = int(subprocess.check_output(["nproc"]).decode())
	for stat in ("p50", "p99"):
		pus, rows = matrix.values(os.path.join(OUT, "matrix-pipe-block-%s.csv" % stat))
		assert len(pus) == n and [s for s, _ in rows] == pus, (pus, rows)
		for i, (s, cells) in enumerate(rows):
			for j, v in enumerate(cells):
				assert (v is None) == (i == j), (stat, s, j, v)
				assert v is None or v > 0
	cpus, crows = matrix.read(os.path.join(OUT, "matrix-classes.csv"))
	assert cpus == pus and crows[0][1][0] == ""
	with open(os.path.join(OUT, "bench.json")) as f:
		e = [x for x in json.load(f)["benchmarks"] if x.get("run_type") == "iteration"][0]
	assert e["pairs"] == n * (n - 1) and e["pairs_total"] == n * (n - 1), e
	assert e["samples"] >= e["pairs"] * 200, e


@T.test("matrix: --matrix-max-pairs=1 measures one pair; bad values exit 2")
def _():
	out = os.path.join(W, "one")
	r = ipclab("--scenario=matrix", "--impl=pipe", "--wait=spin", "--matrix-max-pairs=1", "--no-perf",
		   "--no-sentinel", "--benchmark_min_time=0.01", "--benchmark_repetitions=1", "--out=" + out, timeout=200)
	assert r.returncode == 0, r.stderr[-2000:]
	_, rows = matrix.values(os.path.join(out, "matrix-pipe-spin-p50.csv"))
	assert sum(v is not None for _, c in rows for v in c) == 1, rows
	for bad in ("0", "x", "-1", "99999999999"):
		r = ipclab("--scenario=matrix", "--matrix-max-pairs=" + bad, "--out=" + os.path.join(W, "bad"))
		assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and bad in r.stderr, (bad, r.stderr)
		assert not os.path.exists(os.path.join(W, "bad"))


@T.test("matrix: each CSV cell is the median over the kept repetitions (bench.json's p50_ns, p99_ns)")
def _():
	# One pair: each repetition's p50_ns and p99_ns are that pair's.
	out = os.path.join(W, "reps")
	r = ipclab("--scenario=matrix", "--impl=shmring", "--wait=spin", "--matrix-max-pairs=1", "--no-perf",
		   "--no-sentinel", "--benchmark_min_time=0.01", "--benchmark_repetitions=3", "--out=" + out,
		   timeout=200)
	assert r.returncode == 0, r.stderr[-2000:]
	with open(os.path.join(out, "bench.json")) as f:
		reps = [x for x in json.load(f)["benchmarks"] if x.get("run_type") == "iteration"]
	assert len(reps) == 3 and all(not x.get("error_occurred") for x in reps), reps
	for stat in ("p50", "p99"):
		_, rows = matrix.values(os.path.join(out, "matrix-shmring-spin-%s.csv" % stat))
		cells = [v for _, c in rows for v in c if v is not None]
		want = sorted(x[stat + "_ns"] for x in reps)[1]
		assert cells == [want], (stat, cells, [x[stat + "_ns"] for x in reps])


@T.test("matrix: an interrupted repetition is not counted: the CSVs hold the medians of the kept ones")
def _():
	out = os.path.join(W, "interrupted")
	p = subprocess.Popen([IPCLAB, "--scenario=matrix", "--impl=pipe", "--wait=block", "--matrix-max-pairs=1",
			      "--no-perf", "--no-sentinel", "--benchmark_min_time=0.2", "--benchmark_repetitions=4",
			      "--out=" + out], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
			     errors="replace", preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
	try:
		for line in p.stderr:	# the progress line comes right before the repetition
			if "repetition 3/4" in line:
				time.sleep(0.05)
				p.send_signal(signal.SIGINT)
				break
		p.stderr.read()
		rc = p.wait(timeout=tap.CHILD_TIMEOUT_S)
	finally:
		if p.poll() is None:
			p.kill()
			p.wait()
	assert rc == 130, rc
	with open(os.path.join(out, "bench.json")) as f:
		reps = [x for x in json.load(f)["benchmarks"] if x.get("run_type") == "iteration"]
	assert 2 <= len(reps) <= 3 and not any(x.get("error_occurred") for x in reps), reps
	for stat in ("p50", "p99"):
		_, rows = matrix.values(os.path.join(out, "matrix-pipe-block-%s.csv" % stat))
		cells = [v for _, c in rows for v in c if v is not None]
		want = statistics.median(x[stat + "_ns"] for x in reps)
		assert len(cells) == 1 and abs(cells[0] - want) <= 0.5, (stat, cells, [x[stat + "_ns"] for x in reps])


def synthetic_folder():
	"""A folder with injected CSVs of pack:2 core:4 pu:2 (16 PUs): pairs
	on one core 1 us, one package 5 us, across packages 20 us."""
	d = os.path.join(W, "synthetic")
	os.makedirs(d, exist_ok=True)
	pus = list(range(16))

	def cls(a, b):
		return "" if a == b else "same-core" if a // 2 == b // 2 else \
			"same-package" if a // 8 == b // 8 else "machine"
	us = {"same-core": 1000, "same-package": 5000, "machine": 20000}
	with open(os.path.join(d, "matrix-classes.csv"), "w") as f:
		f.write("sender," + ",".join(map(str, pus)) + "\n")
		for a in pus:
			f.write("%d,%s\n" % (a, ",".join(cls(a, b) for b in pus)))
	for stat, k in (("p50", 1), ("p99", 3)):
		with open(os.path.join(d, "matrix-shmring-spin-%s.csv" % stat), "w") as f:
			f.write("sender," + ",".join(map(str, pus)) + "\n")
			for a in pus:
				f.write("%d,%s\n" % (a, ",".join("" if a == b else str(k * us[cls(a, b)]) for b in pus)))
	return d


class FakeRun:
	def __init__(self, folder):
		self.folder = folder
		self.host = "synthetic"


@T.test("matrix: class borders fall between pair classes")
def _():
	# 4 PUs, 2 cores of 2: borders around the two 2x2 core blocks and the diagonal
	c = [["self", "same-core", "machine", "machine"],
	     ["same-core", "self", "machine", "machine"],
	     ["machine", "machine", "self", "same-core"],
	     ["machine", "machine", "same-core", "self"]]
	edges = set(matrix.class_edges(c))
	assert (1.5, -0.5, 1.5, 0.5) in edges and (-0.5, 1.5, 0.5, 1.5) in edges
	assert (0.5, -0.5, 0.5, 0.5) in edges      # diagonal cell | same-core
	assert (2.5, 0.5, 2.5, 1.5) not in edges   # machine | machine
	assert len(edges) == 16, sorted(edges)


@T.test("matrix: heatmaps (PNG, PDF, LaTeX) of injected 16-PU measurements")
def _():
	d = synthetic_folder()
	maps, skipped = matrix.figures(FakeRun(d))
	assert not skipped, skipped
	assert [m.name for m in maps] == ["matrix-shmring-spin-p50", "matrix-shmring-spin-p99"]
	for m in maps:
		for ext in (".png", ".pdf"):
			tap.check_magic(os.path.join(d, "plots", m.name + ext))
		assert os.path.exists(os.path.join(d, "plots", "latex", m.name + ".tex"))
		assert "240 of 240" in m.caption
	gp = tap.read(os.path.join(d, "plots", "gp", "matrix-shmring-spin-p50.gp"))
	assert gp.count("set arrow") == 3 * len(matrix.class_edges(
		[[c or "self" for c in cells] for _, cells in matrix.read(os.path.join(d, "matrix-classes.csv"))[1]]))
	assert not [n for n in os.listdir(d) if n.startswith(".")], os.listdir(d)


@T.test("matrix: make report draws the heatmaps of a real run")
def _():
	rc, out, err = tap.run("report.py", OUT)
	assert rc == 0 or "pdflatex" in err, (rc, err)
	tap.check_magic(os.path.join(OUT, "plots", "matrix-pipe-block-p50.png"))
	assert "matrix-pipe-block-p99" in tap.read(os.path.join(OUT, "report.md"))


if __name__ == "__main__":
	rc = T.run()
	shutil.rmtree(W, ignore_errors=True)
	sys.exit(rc)
