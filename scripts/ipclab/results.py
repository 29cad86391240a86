"""Load an ipclab result folder: bench.json read through the folder's own
description (describe.py).

A result folder (results/HOST/YYYYmmddTHHMMSSZ/) holds bench.json, Google
Benchmark's JSON output, and (since `ipclab --describe`) describe.json.
Each case (WORKLOAD/SUBJECT/WAIT/PLACEMENT/size:N/pool:N, then extra axes
as /key:value, then Google Benchmark's suffixes such as /manual_time)
appears once per repetition ("run_type": "iteration") and then as
aggregates (_mean, _median, _stddev, _cv).  Medians and spreads are
computed here from the repetitions themselves; the aggregates are used only
when the repetitions are absent (--benchmark_report_aggregates_only).

Unknown keys are ignored, unknown context keys are kept, and a benchmark
whose name is not an ipclab case name, or whose workload the folder's
description does not know, is kept under its raw name as an "other" case.
"""

import json
import math
import os
import re

from . import describe, python_rows
from .errors import LoadError
from .stats import Stat

# Suffixes Google Benchmark appends to a registered name.
_GB_SUFFIX = re.compile(r"/(manual_time|real_time|process_time|"
			r"iterations:\d+|repeats:\d+|min_time:[0-9.]+s?|"
			r"min_warmup_time:[0-9.]+s?|threads:\d+)$")
_AGGREGATES = ("mean", "median", "stddev", "cv")
_CASE = re.compile(r"^(?P<scenario>[^/]+)/(?P<impl>[^/]+)/(?P<wait>[^/]+)/"
		   r"(?P<placement>[^/]+)/size:(?P<size>\d+)/pool:(?P<pool>\d+)"
		   r"(?P<axes>(/[^/:]+:[^/]+)*)$")
_TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# The outcome prefixes of error_message (CONTRACTS.md: Outcome).
OUTCOMES = ("skipped", "failed", "interrupted")


class Case:
	"""One benchmark case with its repetitions."""

	def __init__(self, name, desc):
		self.name = name
		self.desc = desc
		m = _CASE.match(name)
		self.parsed = m is not None
		self.axes = {}		# extra /key:value segments, in name order
		if m:
			self.scenario = m.group("scenario")
			self.impl = m.group("impl")
			self.wait = m.group("wait")
			self.placement = m.group("placement")
			self.size = int(m.group("size"))
			self.pool = int(m.group("pool"))
			for seg in m.group("axes").split("/")[1:]:
				k, v = seg.split(":", 1)
				self.axes[k] = v
		else:
			self.scenario = self.impl = self.wait = None
			self.placement = None
			self.size = self.pool = None
		self.reps = []		# dict per good repetition
		self.aggregates = {}	# aggregate name -> dict
		self.errors = []	# error messages, one per failed repetition
		self.label = None

	@property
	def known(self):
		"""A case name whose workload the folder's description has."""
		return self.parsed and self.desc.knows(self.scenario)

	@property
	def kind(self):
		"""What the case's latency is ('round trip', ...), or None."""
		return self.desc.latency(self.scenario) if self.known else None

	@property
	def variant(self):
		"""The subject and its non-default axes: one line of a figure."""
		return " ".join([self.impl] + ["%s:%s" % kv
					       for kv in self.axes.items()])

	@property
	def axes_text(self):
		return " ".join("%s:%s" % kv for kv in self.axes.items())

	@property
	def ok(self):
		return bool(self.reps) or "median" in self.aggregates or \
			"mean" in self.aggregates

	@property
	def status(self):
		"""'ok', 'skipped', 'interrupted' or 'failed'."""
		if self.ok:
			return "ok"
		for what in ("skipped", "interrupted"):
			if self.errors and all(e.startswith(what)
					       for e in self.errors):
				return what
		return "failed"

	@property
	def error(self):
		return self.errors[0] if self.errors else None

	@property
	def repetitions(self):
		if self.reps:
			return len(self.reps)
		for a in self.aggregates.values():
			if isinstance(a.get("repetitions"), (int, float)):
				return int(a["repetitions"])
		return 0

	def values(self, metric):
		"""The metric of every repetition that has it."""
		return [r[metric] for r in self.reps if metric in r]

	def stat(self, metric):
		"""Stat of metric over the repetitions, or None if absent."""
		vals = self.values(metric)
		if vals:
			return Stat(vals)
		med = self.aggregates.get("median", {}).get(metric)
		if med is None:
			med = self.aggregates.get("mean", {}).get(metric)
		if med is None:
			return None
		sd = self.aggregates.get("stddev", {}).get(metric)
		return Stat(median=med, sd=sd, n=self.repetitions)

	def median(self, metric):
		s = self.stat(metric)
		return None if s is None else s.median

	def sort_key(self):
		if not self.known:
			return (1, self.name)
		d = self.desc
		return (0, d.order("workloads", self.scenario),
			d.order("subjects", self.impl), d.order("waits", self.wait),
			d.order("placements", self.placement), self.size,
			self.pool, [(d.order("axes", k), d.order(k, v))
				    for k, v in self.axes.items()])


def sort_cases(cases):
	return sorted(cases, key=lambda c: c.sort_key())


class Run:
	"""A loaded result folder."""

	def __init__(self, folder, path, context, cases, desc):
		self.folder = folder
		self.path = path
		self.context = context
		self.cases = cases	# name -> Case, in file order
		self.desc = desc

	@property
	def host(self):
		return str(self.context.get("ipclab_host") or
			   self.context.get("host_name") or
			   os.path.basename(os.path.dirname(
				   os.path.abspath(self.folder))) or "unknown")

	@property
	def date(self):
		"""The run's date as YYYY-mm-dd HH:MM (UTC or as recorded)."""
		d = str(self.context.get("date", ""))
		m = re.match(r"(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d)", d)
		if m:
			return "%s %s" % (m.group(1), m.group(2))
		base = os.path.basename(os.path.abspath(self.folder))
		m = re.match(r"(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)", base)
		if m:
			return "%s-%s-%s %s:%s" % m.groups()
		return d or "unknown date"

	def ok_cases(self):
		"""Successful cases of workloads the description knows."""
		return [c for c in sort_cases(self.cases.values())
			if c.ok and c.known]

	def other_cases(self):
		"""Successful cases outside the description's workloads."""
		return [c for c in sort_cases(self.cases.values())
			if c.ok and not c.known]

	def bad_cases(self):
		return [c for c in sort_cases(self.cases.values()) if not c.ok]

	def partial_cases(self):
		"""Cases with results but some repetitions failed."""
		return [c for c in sort_cases(self.cases.values())
			if c.ok and c.errors]


def _base_name(entry):
	"""The case name without Google Benchmark suffixes or aggregate tag."""
	name = entry.get("run_name")
	if not isinstance(name, str):
		name = entry["name"]
		agg = entry.get("aggregate_name")
		if entry.get("run_type") == "aggregate" and \
		   isinstance(agg, str) and name.endswith("_" + agg):
			name = name[:-len(agg) - 1]
	while True:
		stripped = _GB_SUFFIX.sub("", name)
		if stripped == name:
			return name
		name = stripped


def _number(v):
	return isinstance(v, (int, float)) and not isinstance(v, bool) and \
		math.isfinite(v)


def _values(entry, path, index):
	"""The numeric values of one entry, times converted to ns."""
	vals = {}
	unit = entry.get("time_unit", "ns")
	if unit not in _TIME_UNIT_NS:
		raise LoadError(path, "benchmarks[%d]: unknown time_unit %r"
				% (index, unit))
	for k, v in entry.items():
		if not _number(v) or k in ("family_index", "repetitions",
					   "repetition_index", "threads",
					   "per_family_instance_index"):
			continue
		if k in ("real_time", "cpu_time"):
			v = v * _TIME_UNIT_NS[unit]
		vals[k] = float(v)
	return vals


def resolve(arg):
	"""(folder, bench.json path) for a folder or a bench.json argument."""
	if os.path.isdir(arg):
		return arg, os.path.join(arg, "bench.json")
	if arg.endswith(".json"):
		return os.path.dirname(arg) or ".", arg
	return arg, os.path.join(arg, "bench.json")


def _read_json(path):
	try:
		with open(path, encoding="utf-8") as f:
			text = f.read()
	except FileNotFoundError:
		raise LoadError(path, "missing (no such file)") from None
	except (OSError, UnicodeDecodeError) as e:
		raise LoadError(path, "cannot read: %s" %
				(getattr(e, "strerror", None) or e)) from None
	try:
		return json.loads(text)
	except json.JSONDecodeError as e:
		raise LoadError(path, "not valid JSON: %s at line %d column %d"
				% (e.msg, e.lineno, e.colno)) from None


def load(arg):
	"""Load a result folder (or its bench.json).  Raises LoadError."""
	folder, path = resolve(arg)
	doc = _read_json(path)
	if not isinstance(doc, dict):
		raise LoadError(path, "not a Google Benchmark JSON object")
	context = doc.get("context", {})
	if not isinstance(context, dict):
		raise LoadError(path, "\"context\" is not an object")
	bench = doc.get("benchmarks")
	if not isinstance(bench, list):
		raise LoadError(path, "no \"benchmarks\" list")
	bench = bench + python_rows.entries(folder)  # python.json beside it
	desc = describe.for_folder(folder)
	cases = {}
	for i, e in enumerate(bench):
		if not isinstance(e, dict) or not isinstance(e.get("name"), str):
			raise LoadError(path, "benchmarks[%d] is not an object "
					"with a \"name\"" % i)
		name = _base_name(e)
		c = cases.get(name)
		if c is None:
			c = cases[name] = Case(name, desc)
		if isinstance(e.get("label"), str) and e["label"]:
			c.label = e["label"]
		if e.get("error_occurred"):
			c.errors.append(str(e.get("error_message") or
					    "failed: no message"))
			continue
		vals = _values(e, path, i)
		if e.get("run_type") == "aggregate":
			agg = e.get("aggregate_name")
			if agg in _AGGREGATES:
				vals["repetitions"] = e.get("repetitions")
				c.aggregates[agg] = vals
			continue
		c.reps.append(vals)
	return Run(folder, path, context, cases, desc)


def main_placement(cases, desc):
	"""The placement most cases use (ties: earliest in the description)."""
	count = {}
	for c in cases:
		count[c.placement] = count.get(c.placement, 0) + 1
	if not count:
		return None
	return min(count, key=lambda p: (-count[p],
					 desc.order("placements", p)))
