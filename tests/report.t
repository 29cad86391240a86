#!/usr/bin/env python3
# report.t - TAP tests of scripts/report.py (and plot.py) on the fixture
# result folders in tests/fixtures/ (see make_fixtures.py there).
import glob
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True	# no __pycache__ in the tree

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
				"fixtures"))
import tap  # noqa: E402

T = tap.Tap()
W = tap.workdir()
A = tap.copy_fixture(tap.ALPHA, W)
B = tap.copy_fixture(tap.BETA, W)
state = {}


def entries(folder, case, run_type="iteration"):
	with open(os.path.join(folder, "bench.json")) as f:
		doc = json.load(f)
	return [e for e in doc["benchmarks"]
		if e.get("run_name") == case + "/manual_time"
		and e.get("run_type") == run_type
		and not e.get("error_occurred")]


@T.test("report: runs on the alpha fixture, exit 0, names its outputs")
def _():
	rc, out, err = tap.run("report.py", A)
	assert rc == 0, "rc %d: %s" % (rc, err)
	assert os.path.join(A, "report.md") in out.splitlines(), out
	with open(os.path.join(A, "report.md")) as f:
		state["md"] = f.read()
	with open(os.path.join(A, "report.tex")) as f:
		state["tex"] = f.read()


@T.test("report: p50 and p99 RTT are the medians of the repetitions, "
	"with min-max")
def _():
	case = "pingpong/pipe/block/compact/size:64/pool:1"
	es = entries(A, case)
	assert len(es) == 9
	p50 = [e["p50_ns"] for e in es]
	p99 = [e["p99_ns"] for e in es]
	# 21600 ns -> 21.6 us; 21.2-22.1 us
	want50 = "%.1f (%.1f–%.1f)" % (tap.median(p50) / 1e3, min(p50) / 1e3,
				       max(p50) / 1e3)
	want99 = "%.1f (%.1f–%.1f)" % (tap.median(p99) / 1e3, min(p99) / 1e3,
				       max(p99) / 1e3)
	assert want50 == "21.6 (21.2–22.1)", want50
	md = state["md"]
	sec = md.split("## Round-trip latency")[1].split("##")[0]
	row = tap.row_of(sec, "pipe", "block", "compact", "64", "1")
	assert row[5] == want50, row
	assert row[6] == want99, row
	assert row[7] == "9", row


@T.test("report: one-way table lists stream and pairs, not pingpong")
def _():
	sec = state["md"].split("## One-way latency")[1].split("## ")[0]
	row = tap.row_of(sec, "pairs", "shmring", "4")
	es = entries(A, "pairs/shmring/block/compact/size:64/pool:4")
	want = "%.1f" % (tap.median([e["p50_ns"] for e in es]) / 1e3)
	assert row[6].startswith(want + " ("), (row, want)
	assert "pingpong" not in sec


@T.test("report: throughput is the median messages/s and MB/s of the "
	"repetitions")
def _():
	case = "pingpong/shmring/block/compact/size:4096/pool:1"
	es = entries(A, case)
	m = tap.median([e["msgs_per_s"] for e in es])
	b = tap.median([e["bytes_per_s"] for e in es])
	sec = state["md"].split("## Throughput")[1].split("## ")[0]
	row = tap.row_of(sec, "pingpong", "shmring", "block", "4096")
	assert row[6].startswith("%.3gk (" % (m / 1e3)), (row, m)
	assert row[7].startswith("%.3g (" % (b / 1e6)), (row, b)


@T.test("report: skipped and failed cases are listed with their reasons")
def _():
	sec = state["md"].split("## Skipped and failed")[1].split("## ")[0]
	row = tap.row_of(sec, "pingpong/mqueue/block/compact/size:65536/pool:1")
	assert row[1] == "skipped" and "msgsize_max 8192" in row[2], row
	row = tap.row_of(sec, "stream/unix-stream/block/compact/size:65536/pool:1")
	assert row[1] == "failed" and "signal 9" in row[2], row
	# and a failed case is in no results table
	assert state["md"].count("| stream | unix-stream | block | compact "
				 "| 65536") == 0


@T.test("report: every figure exists as PDF, PNG and cairolatex, with "
	"the right magic bytes")
def _():
	want = ["lat-pingpong-block", "lat-pingpong-spin", "lat-stream-block",
		"tput-pingpong-block", "tput-pingpong-spin",
		"tput-stream-block", "pool-pairs-block", "pool-fanout-block",
		"spectrum-pingpong-block", "spectrum-pingpong-spin",
		"spectrum-stream-block",
		"placement-pingpong-block", "placement-pingpong-spin"]
	pl = os.path.join(A, "plots")
	for n in want:
		tap.check_magic(os.path.join(pl, n + ".pdf"))
		tap.check_magic(os.path.join(pl, n + ".png"))
		tap.check_magic(os.path.join(pl, "latex", n + ".pdf"))
		with open(os.path.join(pl, "latex", n + ".tex")) as f:
			t = f.read()
		assert "plots/latex/%s" % n in t, n
		assert "](plots/%s.png)" % n in state["md"], n
		assert "\\input{plots/latex/%s.tex}" % n in state["tex"], n
	got = sorted(os.path.basename(p)[:-4]
		     for p in glob.glob(os.path.join(pl, "*.png")))
	assert got == sorted(want), got


@T.test("report: a figure without data is not drawn and the report says so")
def _():
	assert not glob.glob(os.path.join(A, "plots", "pool-fanin*"))
	assert "fanin against pool size: no fanin case" in state["md"]


@T.test("report: report.tex has booktabs tables and a Methodology from "
	"the context")
def _():
	tex = state["tex"]
	for s in ("\\usepackage{graphicx,xcolor,booktabs,longtable}",
		  "\\toprule", "\\midrule", "\\bottomrule",
		  "\\section{Methodology}", "CLOCK\\_MONOTONIC",
		  "kvm-clock", "about 21\\,ns", "``debug''",
		  "0.1 s or 1000 messages", "\\emph{round trip}",
		  "ipclab\\_mitigations"):
		assert s in tex, s
	assert "21.6 (21.2--22.1)" in tex


@T.test("report: the aggregates-only case uses the median aggregate and "
	"its standard deviation")
def _():
	rc, out, err = tap.run("report.py", B)
	assert rc == 0, err
	with open(os.path.join(B, "report.md")) as f:
		md = f.read()
	case = "stream/pipe/block/compact/size:4096/pool:1"
	assert entries(B, case) == []
	med = entries(B, case, "aggregate")
	med = {e["aggregate_name"]: e for e in med}
	want = "%.3g (±%.3f)" % (med["median"]["p50_ns"] / 1e3,
				  med["stddev"]["p50_ns"] / 1e3)
	sec = md.split("## One-way latency")[1].split("## ")[0]
	row = tap.row_of(sec, "stream", "pipe", "block", "4096")
	assert row[6] == want, (row, want)


@T.test("report: report.tex compiles to report.pdf with pdflatex")
def _():
	if shutil.which("pdflatex") is None:
		raise tap.Skip("pdflatex not installed (apt-get install "
			       "texlive-latex-base texlive-latex-recommended)")
	tap.check_magic(os.path.join(A, "report.pdf"))
	tap.check_magic(os.path.join(B, "report.pdf"))


@T.test("report: leaves no temporary file in the result folder")
def _():
	for root, dirs, files in os.walk(A):
		for n in dirs + files:
			assert "tmp" not in n, os.path.join(root, n)
	assert not os.path.exists(os.path.join(A, "report.log"))


def one_line_error(args, path):
	rc, out, err = tap.run("report.py", *args)
	assert rc == 2, "rc %d" % rc
	lines = err.strip().splitlines()
	assert len(lines) == 1, err
	assert lines[0].startswith(path + ": "), (lines, path)
	return lines[0]


@T.test("report: missing bench.json gives one line naming it, exit 2")
def _():
	d = os.path.join(W, "empty", "20260101T000000Z")
	os.makedirs(d)
	one_line_error([d], os.path.join(d, "bench.json"))
	assert os.listdir(d) == [], "created files: %r" % os.listdir(d)


@T.test("report: malformed bench.json gives one line naming it, exit 2")
def _():
	d = os.path.join(W, "bad", "20260101T000000Z")
	os.makedirs(d)
	p = os.path.join(d, "bench.json")
	with open(os.path.join(A, "bench.json")) as f:
		text = f.read()
	with open(p, "w") as f:
		f.write(text[:len(text) // 2])	# truncated
	line = one_line_error([d], p)
	assert "not valid JSON" in line, line
	with open(p, "w") as f:
		f.write('{"context": {}, "benchmarks": 3}')
	line = one_line_error([d], p)
	assert "benchmarks" in line, line
	with open(p, "w") as f:
		f.write('{"benchmarks": [{"name": "x", "time_unit": "ns", '
			'"real_time": 1, "time_unit": "parsec"}]}')
	one_line_error([d], p)
	assert sorted(os.listdir(d)) == ["bench.json"], os.listdir(d)


@T.test("report: no argument gives a one-line usage, exit 2")
def _():
	rc, out, err = tap.run("report.py")
	assert rc == 2 and len(err.strip().splitlines()) == 1, (rc, err)
	assert err.startswith("usage:"), err


try:
	rc = T.run()
finally:
	shutil.rmtree(W, ignore_errors=True)
sys.exit(rc)
