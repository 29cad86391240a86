#!/usr/bin/env python3
# describe.t - `ipclab --describe` prints the registries in the contract's
# schema (CONTRACTS.md), every case --list makes is described, and every
# result folder keeps the same document as describe.json.
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
T = tap.Tap()
W = tap.workdir()

SCHEMA = {
	"families": {"name", "summary"},
	"subjects": {"name", "family", "summary", "waits"},
	"workloads": {"name", "family", "summary", "latency", "pool_axis", "procs"},
	"axes": {"name", "default", "values"},
	"counters": {"name", "unit", "meaning"},
}
TOP = {"ipclab_describe", "waits", "placements"} | set(SCHEMA)
LATENCIES = {"round trip", "one way", "queueing delay", "operation", "lap"}


def ipclab(*args, timeout=tap.CHILD_TIMEOUT_S):
	return subprocess.run([IPCLAB] + list(args), capture_output=True, text=True,
			      timeout=timeout, errors="replace")


def describe():
	r = ipclab("--describe")
	assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr)
	return r.stdout, json.loads(r.stdout)


@T.test("describe: --describe is JSON in exactly the contract's schema")
def schema():
	_, d = describe()
	assert set(d) == TOP, "top-level keys %s" % sorted(d)
	assert d["ipclab_describe"] == 1
	for section, keys in SCHEMA.items():
		assert d[section], "%s is empty" % section
		for e in d[section]:
			assert set(e) == keys, "%s entry %r has keys %s" % (section, e.get("name"), sorted(e))
			for k in keys - {"waits", "values", "pool_axis"}:
				assert isinstance(e[k], str) and e[k], "%s %r: %s empty" % (section, e.get("name"), k)
	for w in d["workloads"]:
		assert w["latency"] in LATENCIES, "%s latency %r" % (w["name"], w["latency"])
		assert isinstance(w["pool_axis"], bool)
	fams = {f["name"] for f in d["families"]}
	for e in d["subjects"] + d["workloads"]:
		assert e["family"] in fams, "%s: unknown family %s" % (e["name"], e["family"])
	for s in d["subjects"]:
		assert set(s["waits"]) <= set(d["waits"]), s
	for a in d["axes"]:
		assert a["default"] in a["values"], a
	assert "cpus" in d["placements"] and "block" in d["waits"]
	names = [c["name"] for c in d["counters"]]
	for c in ("msgs_per_s", "bytes_per_s", "p50_ns", "p99_ns", "max_ns", "samples", "oversubscribed"):
		assert c in names, "counter %s not described" % c


@T.test("describe: every case of the quick and full profiles names a described workload and subject")
def cases_described():
	_, d = describe()
	workloads = {w["name"] for w in d["workloads"]}
	subjects = {s["name"] for s in d["subjects"]}
	axes = {a["name"]: set(a["values"]) for a in d["axes"]}
	for prof in ("quick", "full"):
		r = ipclab("--list", "--profile=" + prof, "--workers=" + ",".join(sorted(axes["workers"])))
		assert r.returncode == 0, r.stderr
		for name in r.stdout.split():
			seg = name.split("/")
			assert seg[0] in workloads, "%s: scenario not described" % name
			assert seg[0] == "micro" or seg[1] in subjects, "%s: subject not described" % name
			for extra in seg[6:]:
				key, _, value = extra.partition(":")
				assert key in axes and value in axes[key], "%s: axis %s not described" % (name, extra)
				assert value != next(a["default"] for a in d["axes"] if a["name"] == key), \
					"%s: axis at its default is named" % name


@T.test("describe: a result folder keeps describe.json, the same document as --describe")
def folder():
	text, _ = describe()
	out = os.path.join(W, "run")
	r = ipclab("--impl=pipe", "--scenario=pingpong", "--size=64", "--wait=block",
		   "--benchmark_min_time=0.01", "--benchmark_repetitions=1", "--out=" + out, timeout=300)
	assert r.returncode == 0, "exit %d: %s" % (r.returncode, r.stderr[-2000:])
	with open(os.path.join(out, "describe.json")) as f:
		assert f.read() == text, "describe.json differs from --describe"
	assert sorted(os.listdir(out)) == ["bench.json", "describe.json", "hist", "topology.xml"], os.listdir(out)


try:
	rc = T.run()
finally:
	shutil.rmtree(W, ignore_errors=True)
sys.exit(rc)
