#!/usr/bin/python3
# hist_export.t - every kept repetition's histogram lands in hist/ of the
# results folder as HdrHistogram .hgrm text: one file per case and
# repetition, no temporary file left, each parses, and its p50/p90/p99/
# p99.9/p99.99 rows, max and total count agree with the case's counters in
# bench.json; the report overlays them (make report HIST=REGEX).
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import tap  # noqa: E402

sys.path.insert(0, tap.SCRIPTS)
from ipclab import hgrm  # noqa: E402

BUILD = os.environ.get("IPCLAB_BUILD", os.path.join(tap.REPO, "build"))
IPCLAB = os.path.join(BUILD, "ipclab")
T = tap.Tap()
W = tap.workdir()
OUT = os.path.join(W, "run")
REPS = 2
# Counter -> the .hgrm row (fraction) that must carry its value.
ROWS = {"p50_ns": 0.5, "p90_ns": 0.9, "p99_ns": 0.99, "p999_ns": 0.999, "p9999_ns": 0.9999}
state = {}


@T.test("hist: ipclab --out writes hist/ with one .hgrm per case and repetition")
def _():
	r = subprocess.run([IPCLAB, "--impl=pipe,shmring", "--scenario=pingpong,stream", "--size=64",
			    "--wait=spin", "--no-perf", "--no-sentinel",
			    "--benchmark_min_time=0.01", "--benchmark_repetitions=%d" % REPS, "--out=" + OUT],
			   capture_output=True, text=True, timeout=tap.CHILD_TIMEOUT_S)
	assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr[-2000:])
	with open(os.path.join(OUT, "bench.json")) as f:
		doc = json.load(f)
	runs = [e for e in doc["benchmarks"] if e.get("run_type") == "iteration" and not e.get("error_occurred")]
	assert len(runs) == 4 * REPS, len(runs)
	state["runs"] = runs
	names = sorted(os.listdir(os.path.join(OUT, "hist")))
	want = sorted(hgrm.file_name(e["run_name"].rsplit("/manual_time", 1)[0], e["repetition_index"])
		      for e in runs)
	assert names == want, (names, want)


@T.test("hist: every .hgrm parses and agrees with its repetition's counters")
def _():
	for e in state["runs"]:
		case = e["run_name"].rsplit("/manual_time", 1)[0]
		d = hgrm.parse(os.path.join(OUT, "hist", hgrm.file_name(case, e["repetition_index"])))
		assert d.total == e["samples"], (case, d.total, e["samples"])
		for counter, frac in ROWS.items():
			v = d.value_at(frac)
			assert v is not None, (case, "no row at", frac)
			assert round(v * 1000) == e[counter], (case, counter, v, e[counter])
		assert round(d.rows[-1][0] * 1000) == e["max_ns"], (case, d.rows[-1], e["max_ns"])
		assert d.rows[-1][2] == e["samples"]


@T.test("hist: the file names map back to the case names")
def _():
	for e in state["runs"]:
		case = e["run_name"].rsplit("/manual_time", 1)[0]
		assert hgrm.case_of(hgrm.file_name(case, e["repetition_index"])) == (case, e["repetition_index"])
	assert set(hgrm.files(OUT)) == {e["run_name"].rsplit("/manual_time", 1)[0] for e in state["runs"]}


@T.test("hist: a cut or unordered file is refused with the line at fault")
def _():
	src = os.path.join(OUT, "hist", sorted(os.listdir(os.path.join(OUT, "hist")))[0])
	lines = tap.read(src).splitlines()
	bad = os.path.join(W, "cut.hgrm")
	with open(bad, "w") as f:
		f.write("\n".join(lines[:5]) + "\n")
	for text in ("\n".join(lines[:5]) + "\n",
		     "\n".join(lines[:3] + [lines[4], lines[3]] + lines[5:]) + "\n"):
		with open(bad, "w") as f:
			f.write(text)
		try:
			hgrm.parse(bad)
		except hgrm.HgrmError as err:
			assert "cut.hgrm" in str(err)
		else:
			raise AssertionError("accepted: %r" % text[:200])


@T.test("hist: report --hist=REGEX overlays the chosen cases; default overlays per workload")
def _():
	rc, out, err = tap.run("report.py", "--hist=^pingpong/", OUT)
	assert rc == 0 or "pdflatex" in err, "rc %d: %s" % (rc, err)
	for name in ("dist-chosen", "dist-pingpong-spin", "dist-stream-spin"):
		for ext in (".png", ".pdf"):
			tap.check_magic(os.path.join(OUT, "plots", name + ext))
	gp = tap.read(os.path.join(OUT, "plots", "gp", "dist-chosen.gp"))
	assert "pingpong/pipe/spin" in gp and "stream/" not in gp.split("plot ")[1], "wrong cases chosen"
	assert "set logscale x 10" in gp
	# two chosen cases of one mechanism: two lines that do not look alike
	rc, out, err = tap.run("report.py", "--hist=/pipe/spin/", OUT)
	assert rc == 0 or "pdflatex" in err, "rc %d: %s" % (rc, err)
	gp = tap.read(os.path.join(OUT, "plots", "gp", "dist-chosen.gp"))
	plot = gp.split("\nplot ")[1].split("\nset output")[0]
	looks = [re.search(r"(lc rgb \S+ pt \d+ ps \S+ dt \S+)", s).group(1) for s in plot.split(", \\\n")]
	assert len(looks) == 2 and looks[0] != looks[1], looks


@T.test("hist: report refuses a bad --hist with exit 2")
def _():
	rc, out, err = tap.run("report.py", "--hist=", OUT)
	assert rc == 2, (rc, err)


if __name__ == "__main__":
	rc = T.run()
	subprocess.run(["rm", "-rf", W])
	sys.exit(rc)
