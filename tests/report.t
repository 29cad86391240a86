#!/usr/bin/python3
# report.t - TAP tests of scripts/report.py (and plot.py) on the fixture
# result folders in tests/fixtures/ (see make_fixtures.py there): alpha and
# beta predate describe.json, gamma has one, sentinels and perf counters.
import glob
import json
import os
import re
import shutil
import sys

sys.dont_write_bytecode = True	# no __pycache__ in the tree

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
				"fixtures"))
import tap  # noqa: E402

sys.path.insert(0, tap.SCRIPTS)

T = tap.Tap()
W = tap.workdir()
A = tap.copy_fixture(tap.ALPHA, W)
B = tap.copy_fixture(tap.BETA, W)
G = tap.copy_fixture(tap.GAMMA, W)
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
	row = tap.row_of(sec, "pingpong", "pipe", "block", "compact", "64", "1")
	assert row[6] == want50, row
	assert row[7] == want99, row
	assert row[8] == "9", row


@T.test("report: the old flat-out workloads (stream, pairs, fanout) share "
	"the queueing-delay table; pingpong is not in it")
def _():
	sec = tap.section(state["md"], "Queueing delay at saturation (stream, "
			  "pairs, fanout)")
	row = tap.row_of(sec, "pairs", "shmring", "4")
	es = entries(A, "pairs/shmring/block/compact/size:64/pool:4")
	want = "%.1f" % (tap.median([e["p50_ns"] for e in es]) / 1e3)
	assert row[6].startswith(want + " ("), (row, want)
	assert tap.row_of(sec, "fanout", "pipe", "2")
	assert "| pingpong |" not in sec
	assert "## One-way latency" not in state["md"]


def stream_words(folder, md):
	"""Every place the flat-out stream's latency is named."""
	sec = tap.section(md, "Queueing delay at saturation (stream")
	assert "not the mechanism's one-way latency" in sec, sec
	for n in ("lat-stream-block", "spectrum-stream-block"):
		gp = tap.read(os.path.join(folder, "plots", "gp", n + ".gp"))
		assert "queueing delay at saturation (µs)" in gp, n
		assert "one-way" not in gp, n
	cap = [ln for ln in md.splitlines() if ln.startswith("*stream")]
	assert cap and all("queueing delay at saturation" in ln or
			   "throughput" in ln for ln in cap), cap
	assert not any("one-way" in ln for ln in cap), cap
	tex = tap.read(os.path.join(folder, "report.tex"))
	assert "Queueing delay at saturation (stream" in tex
	assert re.search(r"\\texttt\{stream\}(, \\texttt\{\w+\})* gives "
			 r"queueing delay at saturation", tex)
	return sec


@T.test("report: the flat-out stream's latency is 'queueing delay at "
	"saturation' in tables, figures and text, never one-way latency")
def _():
	sec = stream_words(A, state["md"])
	es = entries(A, "stream/pipe/block/compact/size:64/pool:1")
	p50 = [e["p50_ns"] for e in es]
	row = tap.row_of(sec, "stream", "pipe", "block", "64")
	assert row[6] == "%.1f (%.1f–%.1f)" % (
		tap.median(p50) / 1e3, min(p50) / 1e3, max(p50) / 1e3), row


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
		  "0.1 s or 1000 messages",
		  "\\texttt{pingpong} gives round-trip latency: a sample is a "
		  "message to the partner and its reply back",
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
	sec = tap.section(md, "Queueing delay at saturation")
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


# --- folders that describe themselves (describe.json), sentinels, perf ---

def gamma_md():
	if "gmd" not in state:
		rc, out, err = tap.run("report.py", G)
		assert rc == 0, "rc %d: %s" % (rc, err)
		state["gmd"] = tap.read(os.path.join(G, "report.md"))
	return state["gmd"]


def plan(folder):
	"""report.md's text and the names of the figures it would draw, from
	the package in this process (no gnuplot: fast)."""
	from ipclab import plot, report, results
	run = results.load(folder)
	figs, skipped = plot.figures(run)
	return report.markdown(run, figs, skipped, ""), [f.name for f in figs]


def set_describe(folder, edit):
	p = os.path.join(folder, "describe.json")
	with open(p) as f:
		doc = json.load(f)
	edit(doc)
	with open(p, "w") as f:
		json.dump(doc, f)


@T.test("report: a folder with describe.json is read through it: its own "
	"workload (ring, a lap) gets a table and a figure")
def _():
	md = gamma_md()
	assert "**Layout**: read with its own describe.json" in md
	sec = tap.section(md, "Lap time (ring)")
	assert "A sample is one full lap of a token around the ring." in sec
	es = entries(G, "ring/pipe/block/cpus/size:64/pool:2")
	p50 = [e["p50_ns"] for e in es]
	assert sorted(p50) == [39600, 40000, 40400], p50
	row = tap.row_of(sec, "ring", "pipe", "block", "cpus", "64", "2")
	assert row[6] == "40.0 (39.6–40.4)", row
	tap.check_magic(os.path.join(G, "plots", "pool-ring-block.png"))
	gp = tap.read(os.path.join(G, "plots", "gp", "pool-ring-block.gp"))
	assert "lap time p99 (µs)" in gp
	stream_words(G, md)


@T.test("report: what a latency is comes from the folder's description, "
	"not from the scripts")
def _():
	d = tap.copy_fixture(tap.GAMMA, os.path.join(W, "described"))

	def edit(doc):
		for w in doc["workloads"]:
			if w["name"] == "stream":
				w["latency"] = "one way"
		doc["workloads"] = [w for w in doc["workloads"]
				    if w["name"] != "ring"]
	set_describe(d, edit)
	md, figs = plan(d)
	sec = tap.section(md, "One-way latency (stream, pairs)")
	assert tap.row_of(sec, "stream", "pipe", "4096")
	assert "Queueing delay" not in md and "## Lap time" not in md
	sec = tap.section(md, "Other cases")
	assert tap.row_of(sec, "ring/pipe/block/cpus/size:64/pool:3")
	assert "pool-ring-block" not in figs, figs
	assert "lat-stream-block" in figs, figs


@T.test("report: a folder without describe.json is read with the frozen "
	"pre-describe layout, which knows no later workload")
def _():
	assert "**Layout**: no describe.json: read with the frozen " \
		"description" in state["md"]
	frozen = json.loads(tap.read(os.path.join(
		tap.SCRIPTS, "ipclab", "pre_describe.json")))
	assert [w["name"] for w in frozen["workloads"]] == [
		"pingpong", "stream", "pairs", "fanout", "fanin", "micro"]
	assert [s["name"] for s in frozen["subjects"]][:8] == [
		"pipe", "fifo", "mqueue", "shmring", "unix-stream", "unix-dgram",
		"unix-seqpacket", "tcp"]
	# an old folder holding a ring case: ring is not in the old layout
	d = tap.copy_fixture(tap.ALPHA, os.path.join(W, "old-ring"))
	p = os.path.join(d, "bench.json")
	doc = json.loads(tap.read(p))
	ring = [e for e in json.loads(tap.read(os.path.join(
		tap.GAMMA, "bench.json")))["benchmarks"]
		if e["name"].startswith("ring/")]
	doc["benchmarks"] += ring
	with open(p, "w") as f:
		json.dump(doc, f)
	md, figs = plan(d)
	assert "## Lap time" not in md and "pool-ring-block" not in figs
	sec = tap.section(md, "Other cases")
	assert tap.row_of(sec, "ring/pipe/block/cpus/size:64/pool:2")


@T.test("report: a malformed describe.json gives one line naming it, "
	"exit 2, nothing written")
def _():
	d = tap.copy_fixture(tap.GAMMA, os.path.join(W, "bad-describe"))
	p = os.path.join(d, "describe.json")
	before = sorted(os.listdir(d))
	with open(p, "w") as f:
		f.write('{"ipclab_describe": 1, "families": [')
	line = one_line_error([d], p)
	assert "not valid JSON" in line, line
	set_describe_raw = {"ipclab_describe": 2, "families": []}
	with open(p, "w") as f:
		json.dump(set_describe_raw, f)
	line = one_line_error([d], p)
	assert "version 1" in line, line
	good = json.loads(tap.read(os.path.join(tap.GAMMA, "describe.json")))
	del good["workloads"]
	with open(p, "w") as f:
		json.dump(good, f)
	line = one_line_error([d], p)
	assert "\"workloads\"" in line, line
	assert sorted(os.listdir(d)) == before, os.listdir(d)


@T.test("report: drifted rows are marked, counted, and every row shows "
	"its sentinels beside its figures")
def _():
	md = gamma_md()
	sec = tap.section(md, "Sentinels and drift")
	# only shmring's repetition 0 moved more than the factor 1.5
	assert sec.strip().startswith("1 of 9 cases drifted"), sec
	assert "factor of 1.5" in sec
	sec = tap.section(md, "Round-trip latency (pingpong)")
	head = [ln for ln in sec.splitlines() if ln.startswith("|")][0]
	head = [c.strip() for c in head.strip("|").split("|")]
	assert head[-3:] == ["Line ns", "Wake µs", "Drift"], head
	row = tap.row_of(sec, "pingpong", "shmring", "spin")
	# line before 150,150,152 -> median 150; after 480,155,150 -> 155
	assert row[-3:] == ["150→155", "20.0→20.5", "1/3"], row
	row = tap.row_of(sec, "pingpong", "pipe", "block", "")
	assert row[-3:] == ["150→160", "20.0→22.0", "0/9"], row
	sec = tap.section(md, "Throughput")
	assert tap.row_of(sec, "pingpong", "shmring", "1/3")
	assert "*spectrum-pingpong-spin*" not in md
	cap = [ln for ln in md.splitlines()
	       if ln.startswith("*pingpong round-trip latency percentiles") and
	       "spin wait" in ln]
	assert len(cap) == 1 and "1 of 1 cases in this figure drifted" in \
		cap[0], cap
	tex = tap.read(os.path.join(G, "report.tex"))
	assert "150$\\rightarrow$155" in tex


@T.test("report: a folder without sentinels has no drift section, "
	"sentinel columns or perf section")
def _():
	md = state["md"]
	for s in ("## Sentinels", "Line ns", "| Drift", "drifted",
		  "## Checked against perf"):
		assert s not in md, s


@T.test("report: perf bench's figure before and after the pipe ping-pong, "
	"and ipclab's mean over it")
def _():
	md = gamma_md()
	sec = tap.section(md, "Checked against perf bench")
	assert "perf bench sched pipe -l 20000" in sec
	es = entries(G, "pingpong/pipe/block/cpus/size:64/pool:1")
	mean = tap.median([e["real_time"] for e in es])
	assert mean == 21708, mean	# 20100 ns p50 * 1.08
	row = tap.row_of(sec, "pingpong/pipe/block/cpus/size:64/pool:1")
	# 21708 / 19000 = 1.1425, 21708 / 21000 = 1.0337
	assert row[1:] == ["19.0", "21.0", "21.7", "1.14", "1.03"], row
	assert len([ln for ln in sec.splitlines()
		    if ln.startswith("| pingpong")]) == 1


@T.test("report: a case with a non-default axis is its own row and its "
	"own line in the figures")
def _():
	md = gamma_md()
	sec = tap.section(md, "Round-trip latency (pingpong)")
	row = tap.row_of(sec, "pingpong", "pipe", "workers:thread")
	assert row[7] == "18.0 (17.9–18.3)", row
	gp = tap.read(os.path.join(G, "plots", "gp",
				   "spectrum-pingpong-block.gp"))
	assert "'pipe workers:thread block'" in gp and "'pipe block'" in gp


@T.test("report: an interrupted case is listed as interrupted with its "
	"reason")
def _():
	sec = tap.section(gamma_md(), "Skipped and failed cases")
	row = tap.row_of(sec, "pingpong/unix-stream/block/cpus/size:64/pool:1")
	assert row[1] == "interrupted" and "SIGINT" in row[2], row



# --- the sync family (epsilon: handoff, contend, barrier, Python's rows) ---

def epsilon_md():
	if "emd" not in state:
		state["E"] = tap.copy_fixture(tap.EPSILON, W)
		rc, out, err = tap.run("report.py", state["E"])
		assert rc == 0, "rc %d: %s" % (rc, err)
		state["emd"] = tap.read(os.path.join(state["E"], "report.md"))
	return state["emd"]


def gp_of(name):
	epsilon_md()
	return tap.read(os.path.join(state["E"], "plots", "gp", name + ".gp"))


def gp_points(gp, label):
	"""The data of the series titled label in a figure's gnuplot script
	(the first terminal's): [[x, y, ylo, yhi], ...]."""
	script = gp.split("set output")[1]
	for block, title in re.findall(r"(\$d\d+_\d+) u [^\n]* t '([^']*)'",
				       script):
		if title == label:
			data = script.split(block + " << EOD\n")[1].split("EOD")[0]
			return [[float(v) for v in ln.split()]
				for ln in data.strip().splitlines()]
	raise AssertionError("no series %r" % label)


@T.test("report: sync: each hand-off is a row beside the best channel's "
	"64 B ping-pong, with its ratio to it and to the cache line")
def _():
	sec = tap.section(epsilon_md(), "Synchronization primitives")
	assert "(pingpong pipe block)" in sec, sec
	row = tap.row_of(sec, "handoff", "futex-event", "block")
	# 19000 / 20000 (pipe beats unix-stream's 26000)
	assert row[4:8] == ["19.0 (18.8–19.2)", "30.4 (30.1–30.7)", "0.95",
			    "-"], row
	assert tap.row_of(sec, "handoff", "futex-lock", "block")[6] == "1.50"
	assert tap.row_of(sec, "handoff", "py-lock", "block")[6] == "2.10"
	row = tap.row_of(sec, "pingpong", "pipe", "block")
	assert row[6] == "1.00", row
	assert not [ln for ln in sec.splitlines() if "| unix-stream |" in ln]
	# spin: no channel to compare with; the floor is the cache line
	row = tap.row_of(sec, "handoff", "futex-event", "spin")
	assert row[6:8] == ["-", "0.80"], row
	assert tap.row_of(sec, "cacheline (floor)", "spin")[7] == "1.00"


@T.test("report: sync: contend's table has acquisitions/s and fairness per "
	"pool and cs; barrier's its latency per pool; Python's rows in them")
def _():
	md = epsilon_md()
	sec = md.split("### contend against the pool size")[1].split("###")[0]
	head = [c.strip() for c in [ln for ln in sec.splitlines()
				    if ln.startswith("| Subject")][0]
		.strip("|").split("|")]
	assert head[7:10] == ["acquisitions_per_s", "fair_min_share",
			      "fair_jain"], head
	row = tap.row_of(sec, "futex-lock", "block", "2")
	assert row[4] == "3.00M (3.00M–3.00M)" and row[7] == "3.00M", row
	assert row[8:10] == ["0.400", "0.960"], row
	row = tap.row_of(sec, "futex-lock cs:100", "2")
	assert row[9] == "0.990", row
	row = tap.row_of(sec, "py-lock", "2")
	assert row[4] == "1.00M (1.00M–1.00M)" and row[7:10] == ["-"] * 3, row
	sec = md.split("### barrier against the pool size")[1].split("##")[0]
	row = tap.row_of(sec, "pthread-barrier", "block", "2")
	assert row[5] == "90000 (89000–91000)", row
	tex = tap.read(os.path.join(state["E"], "report.tex"))
	assert "\\section{Synchronization primitives}" in tex
	assert "tab:sync-contend" in tex and "tab:sync-handoff" in tex


@T.test("report: sync: the round-trip figure puts every hand-off, the "
	"channels' 64 B ping-pong and Python's rows on one axis")
def _():
	gp = gp_of("roundtrip-block")
	tics = gp.split("set output")[1].split("set xtics (")[1].split(")\n")[0]
	names = re.findall(r"'([^']+)' [0-9]", tics)
	assert names == ["pipe", "unix-stream", "py-pipe", "posix-sem-named",
			 "futex-lock", "futex-event", "py-lock"], names
	# pipe at 64 B only (its 4096 B case is 50 us): p50, whisker to p99
	assert gp_points(gp, "pingpong, 64 B")[0] == [1, 20.0, 20.0, 32.0]
	assert gp_points(gp, "handoff (Python), 64 B") == [[7, 42.0, 42.0,
							   67.2]]
	assert [p[1] for p in gp_points(gp, "handoff")] == [23.0, 30.0, 19.0]
	# spin: the hand-off beside the cache-line floor (micro/cacheline)
	gp = gp_of("roundtrip-spin")
	assert gp_points(gp, "handoff") == [[1, 0.4, 0.4, 0.64]]
	assert gp_points(gp, "cacheline (floor)") == [[2, 0.5, 0.5, 0.8]]
	md = epsilon_md()
	assert "](plots/roundtrip-block.png)" in md
	assert "](plots/roundtrip-spin.png)" in md
	for ext in (".png", ".pdf"):
		tap.check_magic(os.path.join(state["E"], "plots",
					     "roundtrip-block" + ext))
	# a run of one round-trip workload at many sizes has none (alpha)
	assert not glob.glob(os.path.join(A, "plots", "roundtrip-*"))


@T.test("report: sync: contend's acquisitions/s and Jain's index, and the "
	"barrier's latency, are drawn against the pool size")
def _():
	gp = gp_of("pool-contend-block")
	assert "acquisitions/s (whole pool)" in gp and "Jain''s fairness" in gp
	assert gp_points(gp, "futex-lock block") == [[1, 5e6, 5e6, 5e6],
						     [2, 3e6, 3e6, 3e6]]
	assert gp_points(gp, "py-lock block") == [[1, 1.9e6, 1.9e6, 1.9e6],
						  [2, 1e6, 1e6, 1e6]]
	assert "set yrange [0:1.05]" in gp
	gp = gp_of("pool-barrier-block")
	assert "sample p50 (µs)" in gp
	# the right panel (second data block): p50 90 us, whisker to p99
	lat = gp.split("set output")[1].split("$d1_0 << EOD\n")[1]
	got = [float(v) for v in lat.split("EOD")[0].split()]
	assert got == [1, 0.1, 0.1, 0.16, 2, 90.0, 90.0, 144.0], got
	tap.check_magic(os.path.join(state["E"], "plots",
				     "pool-barrier-block.png"))
	# no payload: nothing is drawn against message size at size 0
	assert not glob.glob(os.path.join(state["E"], "plots",
					  "lat-handoff-*"))


try:
	rc = T.run()
finally:
	shutil.rmtree(W, ignore_errors=True)
sys.exit(rc)
