#!/usr/bin/env python3
# compare.t - TAP tests of scripts/compare.py and of the Mann-Whitney U test
# in scripts/ipclab_results.py, on the fixtures in tests/fixtures/.
import glob
import math
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True	# no __pycache__ in the tree

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "fixtures"))
import tap  # noqa: E402

sys.path.insert(0, tap.SCRIPTS)
import ipclab_results as R  # noqa: E402

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


try:
	rc = T.run()
finally:
	shutil.rmtree(W, ignore_errors=True)
sys.exit(rc)
