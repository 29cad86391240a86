#!/usr/bin/python3
# compare.t - TAP tests of scripts/compare.py and of the Mann-Whitney U test
# (scripts/ipclab/stats.py, scipy.stats.mannwhitneyu), on the fixtures in
# tests/fixtures/.  The U test is checked against hand-computed values and
# against the hand-rolled test the scripts had before scipy
# (tests/fixtures/mwu_oracle.py).
import glob
import itertools
import math
import os
import random
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True	# no __pycache__ in the tree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fixtures"))
import tap  # noqa: E402

sys.path.insert(0, tap.SCRIPTS)
import mwu_oracle  # noqa: E402
from ipclab import results  # noqa: E402
from ipclab import stats as R  # noqa: E402

T = tap.Tap()
W = tap.workdir()
OUT = os.path.join(W, "cmp")
state = {}
PIPE64 = "pingpong/pipe/block/compact/size:64/pool:1"


@T.test("compare: mann-whitney exact p of two disjoint samples is "
	"2/C(n1+n2, n1)")
def _():
	# Every x below every y: U = 0, the most extreme of C(18,9)
	# equally likely arrangements at each tail.
	u, p, how = R.mann_whitney_u(list(range(1, 10)), list(range(10, 19)))
	assert how == "exact" and u == 0, (u, how)
	assert abs(p - 2.0 / math.comb(18, 9)) < 1e-15, p
	# textbook: n1 = n2 = 3 fully separated, p = 2/20
	_, p, _ = R.mann_whitney_u([4, 5, 6], [1, 2, 3])
	assert abs(p - 0.1) < 1e-15, p


@T.test("compare: mann-whitney exact p matches scipy on a hand-made "
	"sample")
def _():
	# scipy.stats.mannwhitneyu(x, y, method="exact") (scipy 1.10.1):
	# statistic 4.0, pvalue 0.05194805194805195
	x = [1.1, 3.4, 2.2, 5.9, 4.0]
	y = [6.3, 2.9, 7.7, 8.1, 5.2, 9.4]
	u, p, how = R.mann_whitney_u(x, y)
	assert how == "exact" and u == 4.0, (u, how)
	assert abs(p - 0.05194805194805195) < 1e-12, p


@T.test("compare: mann-whitney with ties uses the tie-corrected normal "
	"approximation, as scipy")
def _():
	# The fixture's shmring/spin 64 B p50 samples; scipy 1.10.1
	# mannwhitneyu(b, a, alternative="two-sided") -> statistic 10.5,
	# pvalue 0.008939117904341874 (asymptotic: there are ties).
	a = [560, 548, 571, 555, 563, 552, 566, 558, 560]
	b = [541, 552, 548, 560, 537, 545, 555, 549, 543]
	u, p, how = R.mann_whitney_u(b, a)
	assert how == "normal" and u == 10.5, (u, how)
	assert abs(p - 0.008939117904341874) < 1e-12, p


def same_as_oracle(x, y):
	u0, p0, how0 = mwu_oracle.mann_whitney_u(x, y)
	u1, p1, how1 = R.mann_whitney_u(x, y)
	assert (u0, how0) == (u1, how1), (x, y, u0, how0, u1, how1)
	assert abs(p1 - p0) <= 1e-12 * p0, (x, y, p0, p1)
	return how1


@T.test("compare: the scipy U test gives the old hand-rolled test's U, p "
	"and method on the fixtures: every metric of every case that two "
	"folders share, and every pair of p50 samples")
def _():
	runs = [results.load(d) for d in (tap.ALPHA, tap.BETA, tap.GAMMA,
					  tap.DELTA)]
	seen = {"exact": 0, "normal": 0}
	for ra, rb in itertools.combinations(runs, 2):
		for name in sorted(set(ra.cases) & set(rb.cases)):
			a, b = ra.cases[name], rb.cases[name]
			for m in sorted(set().union(*a.reps, *b.reps)):
				x, y = a.values(m), b.values(m)
				if x and y:
					seen[same_as_oracle(x, y)] += 1
	p50 = [c.values("p50_ns") for r in runs for c in r.cases.values()
	       if c.values("p50_ns")]
	for x, y in itertools.combinations(p50, 2):
		seen[same_as_oracle(x, y)] += 1
	# both methods were exercised
	assert seen["exact"] > 1000 and seen["normal"] > 200, seen


@T.test("compare: the scipy U test gives the old test's results on seeded "
	"random samples (ties or none, 1 to 30 per side)")
def _():
	seed = 20261202
	rng = random.Random(seed)
	seen = {"exact": 0, "normal": 0}
	for _ in range(400):
		span = rng.choice((6, 50, 10 ** 6))
		x = [rng.randint(0, span) for _ in range(rng.randint(1, 30))]
		y = [rng.randint(0, span) + rng.choice((0, 4))
		     for _ in range(rng.randint(1, 30))]
		seen[same_as_oracle(x, y)] += 1
	# 25 per side is still exact without ties, 26 is not
	a, b = list(range(25)), list(range(100, 125))
	assert same_as_oracle(a, b) == "exact"
	assert same_as_oracle(a + [-1], b) == "normal"
	assert seen["exact"] > 20 and seen["normal"] > 20, (seed, seen)


@T.test("compare: runs on two machines, exit 0, tables on stdout and in "
	"the folder")
def _():
	rc, out, err = tap.run("compare.py", "--out", OUT, tap.ALPHA, tap.BETA)
	assert rc == 0, "rc %d: %s" % (rc, err)
	state["out"] = out
	with open(os.path.join(OUT, "compare.md")) as f:
		md = f.read()
	assert md in out, "stdout lacks the Markdown tables"
	with open(os.path.join(OUT, "compare-tables.tex")) as f:
		tex = f.read()
	assert tex in out, "stdout lacks the LaTeX tables"
	assert "\\toprule" in tex and "\\begin{longtable}" in tex
	state["md"] = md


@T.test("compare: ratio of medians, each side's spread and the U p-value "
	"for a 9-repetition case")
def _():
	a = [21400, 21800, 21500, 22100, 21300, 21600, 21700, 21200, 21900]
	b = [14300, 14700, 14000, 14500, 14800, 14100, 14400, 14600, 14200]
	ma, mb = tap.median(a), tap.median(b)
	sec = state["md"].split("## p50 latency")[1].split("## ")[0]
	row = tap.row_of(sec, PIPE64)
	assert row[1] == "%.1f (%.1f–%.1f) n=9" % (ma / 1e3, min(a) / 1e3,
						   max(a) / 1e3), row
	assert row[2] == "%.1f (%.1f–%.1f) n=9" % (mb / 1e3, min(b) / 1e3,
						   max(b) / 1e3), row
	assert row[3] == "%.3f" % (mb / ma) == "0.667", row
	assert row[4] == "%.3g" % (2.0 / math.comb(18, 9)) == "4.11e-05", row
	sec = state["md"].split("## p99 latency")[1].split("## ")[0]
	tap.row_of(sec, PIPE64)
	sec = state["md"].split("## messages/s")[1].split("## ")[0]
	row = tap.row_of(sec, PIPE64)
	assert row[4] != "n/a (<9 reps)", row


@T.test("compare: cases with fewer than 9 repetitions get no p-value")
def _():
	sec = state["md"].split("## p50 latency")[1].split("## ")[0]
	row = tap.row_of(sec, "pingpong/pipe/block/compact/size:4096/pool:1")
	assert row[4] == "n/a (<9 reps)", row
	assert "n=3" in row[1] and "n=3" in row[2], row


@T.test("compare: cases on one side only are listed with their side")
def _():
	sec = state["md"].split("## Cases on one side only")[1].split("## ")[0]
	assert tap.row_of(sec, "fanout/pipe/block/compact/size:64/pool:2",
			  "A")
	assert tap.row_of(sec, "pingpong/tcp/block/compact/size:64/pool:1",
			  "B")
	sec = state["md"].split("## p50 latency")[1].split("## ")[0]
	assert "fanout/" not in sec and "/tcp/" not in sec
	# a case skipped on both sides is neither compared nor "one side"
	assert "pingpong/mqueue" not in sec
	sec = state["md"].split("## Skipped and failed")[1].split("## ")[0]
	assert tap.row_of(sec, "A", "pingpong/mqueue/block/compact/"
			  "size:65536/pool:1")


@T.test("compare: overlay figures are PDF, PNG and cairolatex with the "
	"right magic bytes")
def _():
	pl = os.path.join(OUT, "plots")
	for n in ("overlay-pingpong-block", "overlay-pingpong-spin",
		  "overlay-stream-block"):
		tap.check_magic(os.path.join(pl, n + ".pdf"))
		tap.check_magic(os.path.join(pl, n + ".png"))
		tap.check_magic(os.path.join(pl, "latex", n + ".pdf"))
		assert os.path.getsize(os.path.join(pl, "latex", n + ".tex")) > 0
		assert "](plots/%s.png)" % n in state["md"]


@T.test("compare: compare.tex compiles with pdflatex")
def _():
	exe = shutil.which("pdflatex")
	if exe is None:
		raise tap.Skip("pdflatex not installed (apt-get install "
			       "texlive-latex-base texlive-latex-recommended)")
	r = subprocess.run([exe, "-interaction=nonstopmode", "-halt-on-error",
			    "compare.tex"], cwd=OUT, capture_output=True,
			   text=True, timeout=tap.CHILD_TIMEOUT_S,
			   stdin=subprocess.DEVNULL)
	assert r.returncode == 0, r.stdout[-2000:]
	tap.check_magic(os.path.join(OUT, "compare.pdf"))


@T.test("compare: three folders give ratios and p-values against A")
def _():
	out3 = os.path.join(W, "cmp3")
	rc, out, err = tap.run("compare.py", "--out", out3, tap.ALPHA,
			       tap.BETA, tap.ALPHA)
	assert rc == 0, err
	sec = out.split("## p50 latency")[1].split("## ")[0]
	head = [ln for ln in sec.splitlines() if ln.startswith("|")][0]
	for h in ("B/A", "C/A", "p (U, C vs A)"):
		assert h in head, head
	row = tap.row_of(sec, PIPE64)
	# C is A again: ratio 1, p = 1
	assert row[6] == "1.000" and row[7] == "1", row
	assert "drift" not in head, head	# no sentinels: no drift column


def one_line_error(args, path=None):
	rc, out, err = tap.run("compare.py", *args)
	assert rc == 2, "rc %d" % rc
	lines = err.strip().splitlines()
	assert len(lines) == 1, err
	if path:
		assert lines[0].startswith(path + ": "), (lines, path)
	else:
		assert lines[0].startswith("usage:"), lines
	assert out == "", out


@T.test("compare: a missing B gives a one-line usage, exit 2")
def _():
	one_line_error([tap.ALPHA])
	one_line_error([])
	one_line_error(["--bogus", tap.ALPHA, tap.BETA])


@T.test("compare: missing or malformed bench.json gives one line naming "
	"it, exit 2")
def _():
	d = os.path.join(W, "nothing", "20260101T000000Z")
	os.makedirs(d)
	one_line_error(["--out", os.path.join(W, "o1"), tap.ALPHA, d],
		       os.path.join(d, "bench.json"))
	with open(os.path.join(d, "bench.json"), "w") as f:
		f.write('{"context": {}, "benchmarks": [1, 2]}')
	one_line_error(["--out", os.path.join(W, "o1"), d, tap.BETA],
		       os.path.join(d, "bench.json"))
	assert not os.path.exists(os.path.join(W, "o1"))


@T.test("compare: leaves no temporary file in its output folder")
def _():
	for root, dirs, files in os.walk(OUT):
		for n in dirs + files:
			assert "tmp" not in n, os.path.join(root, n)
	assert not glob.glob(os.path.join(tap.FIXTURES, "*", "*", "plots"))


# --- sentinels: "within drift" (gamma and delta carry sentinel readings) ---

def gd():
	if "gd" not in state:
		out = os.path.join(W, "gd")
		rc, text, err = tap.run("compare.py", "--out", out, tap.GAMMA,
					tap.DELTA)
		assert rc == 0, "rc %d: %s" % (rc, err)
		state["gd"] = tap.read(os.path.join(out, "compare.md"))
		state["gdtex"] = tap.read(os.path.join(out, "compare-tables.tex"))
	return state["gd"]


@T.test("compare: a difference smaller than the larger sentinel move of "
	"either side is within drift, a larger one beyond")
def _():
	sec = tap.section(gd(), "p50 latency")
	head = [ln for ln in sec.splitlines() if ln.startswith("|")][0]
	assert "| drift (B vs A) |" in head, head
	# medians 20100 vs 21105: 5 %; gamma's wake probe 20000 -> 22000: 10 %
	row = tap.row_of(sec, "pingpong/pipe/block/cpus/size:64/pool:1")
	assert row[5] == "within drift (5.0% < 10%)", row
	# 505 vs 800: 58 %; gamma's drifted repetition: line 150 -> 480, 220 %
	row = tap.row_of(sec, "pingpong/shmring/spin/cpus/size:64/pool:1")
	assert row[5] == "within drift (58% < 220%)", row
	# 100000 vs 110000: 10 %; the sentinels moved 1 % at most
	row = tap.row_of(sec, "stream/pipe/block/cpus/size:64/pool:1")
	assert row[5] == "beyond drift (10% >= 1.0%)", row
	sec = tap.section(gd(), "messages/s")
	row = tap.row_of(sec, "stream/pipe/block/cpus/size:64/pool:1")
	assert row[5].startswith("beyond drift ("), row
	assert "within drift" in state["gdtex"]


@T.test("compare: a side without sentinel readings leaves the other side's "
	"move as the bound")
def _():
	sec = tap.section(gd(), "p50 latency")
	# 120000 vs 121200: 1 %; only gamma has readings, wake moved 3 %
	row = tap.row_of(sec, "stream/pipe/block/cpus/size:4096/pool:1")
	assert row[5] == "within drift (1.0% < 3.0%)", row


@T.test("compare: each side says how it was read and how many of its "
	"cases drifted; latency words come from the descriptions")
def _():
	md = gd()
	assert "- **A**: gamma" in md and "read with its own describe.json; " \
		"1 of 9 cases drifted" in md, md[:600]
	assert "0 of 8 cases drifted" in md
	assert "stream: queueing delay at saturation" in md
	assert "ring: lap time" in md
	cmp_ab = tap.read(os.path.join(OUT, "compare.md"))
	assert "no describe.json: read with the frozen description" in cmp_ab
	assert "stream: queueing delay at saturation" in cmp_ab
	assert "one way" not in cmp_ab and "one-way latency" not in \
		cmp_ab.split("stream: ")[1].split(";")[0]


@T.test("compare: without scipy, one line saying what to install, exit 2, "
	"nothing written")
def _():
	fake = os.path.join(W, "noscipy", "scipy")
	os.makedirs(fake)
	with open(os.path.join(fake, "__init__.py"), "w") as f:
		f.write("raise ImportError('no scipy in this test')\n")
	env = dict(os.environ, PYTHONPATH=os.path.dirname(fake))
	out = os.path.join(W, "o-noscipy")
	rc, text, err = tap.run("compare.py", "--out", out, tap.ALPHA,
				tap.BETA, env=env)
	assert rc == 2, (rc, err)
	lines = err.strip().splitlines()
	assert len(lines) == 1 and "python3-scipy" in lines[0] and \
		"/usr/bin/python3" in lines[0], lines
	assert text == "" and not os.path.exists(out)


@T.test("compare: Python's rows (python.json) of two folders are compared "
	"like the C rows, and a Python case on one side only is listed")
def _():
	import json
	a = tap.copy_fixture(tap.EPSILON, os.path.join(W, "py-a"))
	b = tap.copy_fixture(tap.EPSILON, os.path.join(W, "py-b"))
	p = os.path.join(b, "python.json")
	doc = json.loads(tap.read(p))
	lock = "handoff/py-lock/block/cpus/size:64/pool:1/manual_time"
	gone = "contend/py-lock/block/cpus/size:64/pool:2/manual_time"
	keep = []
	for e in doc["benchmarks"]:
		if e["run_name"] == gone:
			continue
		if e["run_name"] == lock and e["run_type"] == "iteration":
			e["p50_ns"] *= 1.5	# 42000 -> 63000
		keep.append(e)
	doc["benchmarks"] = keep
	with open(p, "w") as f:
		json.dump(doc, f)
	rc, out, err = tap.run("compare.py", "--out", os.path.join(W, "py-cmp"),
			       a, b)
	assert rc == 0, err
	sec = out.split("## p50 latency")[1].split("## ")[0]
	row = tap.row_of(sec, lock[:-len("/manual_time")])
	assert row[1] == "42.0 (41.6–42.4) n=3", row
	assert row[2] == "63.0 (62.4–63.6) n=3" and row[3] == "1.500", row
	# a C row of the same folders, unchanged
	assert tap.row_of(sec, "handoff/futex-event/block/cpus/size:0/pool:1"
			  )[3] == "1.000"
	sec = out.split("## Cases on one side only")[1].split("## ")[0]
	assert tap.row_of(sec, gone[:-len("/manual_time")], "A"), sec
	# without python.json on B, every Python case is A's only
	os.remove(p)
	rc, out, err = tap.run("compare.py", "--out", os.path.join(W, "py-cmp2"),
			       a, b)
	assert rc == 0, err
	sec = out.split("## Cases on one side only")[1].split("## ")[0]
	assert tap.row_of(sec, lock[:-len("/manual_time")], "A"), sec
	assert "py-" not in out.split("## p50 latency")[1].split("## ")[0]


try:
	rc = T.run()
finally:
	shutil.rmtree(W, ignore_errors=True)
sys.exit(rc)
