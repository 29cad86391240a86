"""gbjson.py - Google Benchmark's JSON, as build/ipclab writes it: a
context object and a benchmarks list with one "iteration" entry per
repetition and the mean/median/stddev/cv aggregates; failed cases carry
error_occurred and an error_message starting "failed: " or "skipped: ".
Written to a temporary name in the same folder and renamed."""

import datetime
import json
import math
import os
import platform
import statistics
import sys
import time

# Google Benchmark names a case registered with manual time like this.
SUFFIX = "/manual_time"
# Context keys of bench.json that describe the machine, not the run: a
# python.json beside a bench.json takes them from it.
RUN_KEYS = ("ipclab_command", "ipclab_argv", "ipclab_profile",
	    "ipclab_repetitions", "ipclab_min_time_s", "ipclab_timeout_ms",
	    "ipclab_warmup", "ipclab_time", "ipclab_latency", "ipclab_clock",
	    "ipclab_clock_read_ns", "ipclab_clock_resolution_ns",
	    "ipclab_verify", "ipclab_order", "ipclab_sentinel",
	    "ipclab_drift_factor", "ipclab_perf_pipe")


def _read(path):
	try:
		with open(path, encoding="utf-8") as f:
			return f.read().strip()
	except OSError:
		return None


def _caches():
	out = []
	base = "/sys/devices/system/cpu/cpu0/cache"
	try:
		idx = sorted(d for d in os.listdir(base) if d.startswith("index"))
	except OSError:
		return out
	for d in idx:
		p = os.path.join(base, d)
		size = _read(os.path.join(p, "size")) or "0K"
		mult = {"K": 1024, "M": 1 << 20}.get(size[-1], 1)
		shared = _read(os.path.join(p, "shared_cpu_list")) or "0"
		n = 0
		for part in shared.split(","):
			a, _, b = part.partition("-")
			n += int(b or a) - int(a) + 1
		out.append({"type": _read(os.path.join(p, "type")) or "Unknown",
			    "level": int(_read(os.path.join(p, "level")) or 0),
			    "size": int(size.rstrip("KM")) * mult,
			    "num_sharing": n})
	return out


def _cpu_model():
	for line in (_read("/proc/cpuinfo") or "").splitlines():
		if line.startswith("model name"):
			return line.split(":", 1)[1].strip()
	return "unknown"


def _clock_read_ns():
	n = 20000
	t0 = time.perf_counter_ns()
	for _ in range(n):
		time.monotonic_ns()
	return (time.perf_counter_ns() - t0) / n


def context(run_keys, bench_json):
	"""The context of python.json: Google Benchmark's machine keys, the
	machine's ipclab_* keys (from bench_json when it exists), then this
	run's keys."""
	u = os.uname()
	la = os.getloadavg()
	mhz = 0
	for line in (_read("/proc/cpuinfo") or "").splitlines():
		if line.startswith("cpu MHz"):
			mhz = int(float(line.split(":", 1)[1]))
			break
	ctx = {
		"date": datetime.datetime.now(datetime.timezone.utc)
		.replace(microsecond=0).isoformat(),
		"host_name": u.nodename,
		"executable": "%s -m ipclab_py" % sys.executable,
		"num_cpus": os.cpu_count(),
		"mhz_per_cpu": mhz,
		"cpu_scaling_enabled": False,
		"caches": _caches(),
		"load_avg": list(la),
		"library_build_type": "none (Python driver)",
		"ipclab_hostname": u.nodename,
		"ipclab_kernel": "%s %s %s %s" % (u.sysname, u.release, u.version, u.machine),
		"ipclab_cpu_model": _cpu_model(),
		"ipclab_pus": str(os.cpu_count()),
		"ipclab_allowed_pus": str(len(os.sched_getaffinity(0))),
		"ipclab_clocksource": _read("/sys/devices/system/clocksource/"
					    "clocksource0/current_clocksource") or "unknown",
		"ipclab_loadavg": "%.2f %.2f %.2f" % la,
	}
	try:
		with open(bench_json, encoding="utf-8") as f:
			theirs = json.load(f).get("context", {})
		for k, v in theirs.items():
			if k.startswith("ipclab_") and k not in RUN_KEYS and k not in ctx:
				ctx[k] = v
		ctx["ipclab_bench_json_date"] = str(theirs.get("date", "unknown"))
	except (OSError, ValueError, AttributeError):
		pass
	ctx.update({
		"ipclab_clock": "time.monotonic_ns (CLOCK_MONOTONIC, one clock for every CPU)",
		"ipclab_clock_read_ns": "%.1f" % _clock_read_ns(),
		"ipclab_clock_resolution_ns": "%d" % round(time.get_clock_info("monotonic").resolution * 1e9),
		"python_version": platform.python_version(),
		"python_implementation": platform.python_implementation(),
		"python_executable": sys.executable,
		"ipclab_sentinel": "none: the Python driver runs no sentinel probes",
		"ipclab_order": "sequential",
	})
	ctx.update(run_keys)
	return ctx


def _aggregate(name, reps, vals, kind):
	if kind == "mean":
		return statistics.fmean(vals)
	if kind == "median":
		return statistics.median(vals)
	sd = statistics.stdev(vals) if len(vals) > 1 else 0.0
	if kind == "stddev":
		return sd
	m = statistics.fmean(vals)
	return sd / m if m else 0.0


def entries(index, case_name, repetitions, results, error, label):
	"""Entries of one case: results is a list of (real_ns, cpu_ns,
	iterations, counters) per repetition; error a message or None."""
	name = case_name + SUFFIX
	base = {"family_index": index, "per_family_instance_index": 0,
		"run_name": name, "run_type": "iteration",
		"repetitions": repetitions}
	out = []
	if error is not None:
		for r in range(repetitions):
			out.append(dict(base, name=name, repetition_index=r, threads=1,
					error_occurred=True, error_message=error,
					iterations=0, real_time=0.0, cpu_time=0.0,
					time_unit="ns"))
		return out
	for r, (real, cpu, iters, ctr) in enumerate(results):
		e = dict(base, name=name, repetition_index=r, threads=1,
			 iterations=iters, real_time=real, cpu_time=cpu, time_unit="ns")
		e.update(sorted(ctr.items()))
		e["label"] = label
		out.append(e)
	if len(results) < 2:
		return out
	keys = sorted(set.intersection(*(set(r[3]) for r in results)))
	for kind in ("mean", "median", "stddev", "cv"):
		e = dict(base, name="%s_%s" % (name, kind), run_type="aggregate",
			 threads=1, aggregate_name=kind,
			 aggregate_unit="percentage" if kind == "cv" else "time",
			 iterations=len(results),
			 real_time=_aggregate(name, results, [r[0] for r in results], kind),
			 cpu_time=_aggregate(name, results, [r[1] for r in results], kind),
			 time_unit="ns")
		for k in keys:
			v = _aggregate(name, results, [r[3][k] for r in results], kind)
			e[k] = v if math.isfinite(v) else 0.0
		e["label"] = label
		out.append(e)
	return out


def write(path, ctx, benchmarks):
	"""Write the whole file under a temporary name, then rename it."""
	text = json.dumps({"context": ctx, "benchmarks": benchmarks}, indent=2,
			  allow_nan=False)
	tmp = "%s/.%s.%d.tmp" % (os.path.dirname(path) or ".",
				 os.path.basename(path), os.getpid())
	try:
		with open(tmp, "w", encoding="utf-8") as f:
			f.write(text + "\n")
			f.flush()
			os.fsync(f.fileno())
		os.replace(tmp, path)
	except BaseException:
		try:
			os.unlink(tmp)
		except OSError:
			pass
		raise
