"""What a result folder's cases are: the description it was written with.

A folder written by an ipclab that has `--describe` keeps that output as
describe.json: its families, subjects, workloads (with what their latency
means and whether the pool is an axis), extra name axes, waits,
placements and counters.  The scripts read a folder only through its own
description, so an old or foreign folder reads the way it was written,
never through the tables of the build at hand.

A folder without describe.json was written before describe existed; it is
read with ONE frozen description of that layout, pre_describe.json next to
this file (the tuples the scripts used to hold, kept as data).
"""

import json
import os
import re

from .errors import LoadError

FROZEN_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
			   "pre_describe.json")
VERSION = 1

# What a workload's latency means (the contract's words) -> how figures
# and tables name it.  A kind not listed here is shown as written.
LATENCY_LABEL = {
	"round trip": "round-trip latency",
	"one way": "one-way latency",
	"queueing delay": "queueing delay at saturation",
	"operation": "time per operation",
	"lap": "lap time",
}
LATENCY_NOTE = {
	"round trip": "a message to the partner and its reply back",
	"one way": "the time from the send timestamp carried in the message "
		   "to its receipt",
	"queueing delay": "the time from send to receipt with the senders "
			  "running flat out (closed loop): they outrun the "
			  "receivers, so it is mostly time spent waiting in a "
			  "full buffer, not the mechanism's one-way latency",
	"operation": "one operation in the measuring process",
	"lap": "one full lap of a token around the ring",
}
# Spectrum counters: pDIGITS_ns is the 0.DIGITS quantile (p999 = 99.9 %).
_PCT = re.compile(r"^p(\d+)_ns$")


class Description:
	"""The registries a result folder was written with."""

	def __init__(self, doc, source, path):
		self.doc = doc
		self.source = source	# "describe.json" or "frozen"
		self.path = path
		self.families = [f["name"] for f in doc["families"]]
		self.subjects = {s["name"]: s for s in doc["subjects"]}
		self.subject_names = [s["name"] for s in doc["subjects"]]
		self.workloads = {w["name"]: w for w in doc["workloads"]}
		self.workload_names = [w["name"] for w in doc["workloads"]]
		self.axes = {a["name"]: a for a in doc["axes"]}
		self.axis_names = [a["name"] for a in doc["axes"]]
		self.waits = list(doc["waits"])
		self.placements = list(doc["placements"])
		self.counters = {c["name"]: c for c in doc["counters"]}
		self.counter_names = [c["name"] for c in doc["counters"]]

	@property
	def frozen(self):
		return self.source == "frozen"

	def what(self):
		"""One line: where this description comes from."""
		if self.frozen:
			return ("no describe.json: read with the frozen "
				"description of the layout before describe "
				"existed (scripts/ipclab/pre_describe.json)")
		return "read with its own describe.json"

	# --- workloads ---

	def knows(self, workload):
		return workload in self.workloads

	def latency(self, workload):
		"""The latency kind of a workload ('round trip', ...), or None."""
		w = self.workloads.get(workload)
		return w.get("latency") if w else None

	def latency_label(self, workload):
		kind = self.latency(workload)
		return LATENCY_LABEL.get(kind, kind or "latency")

	def pool_axis(self, workload):
		w = self.workloads.get(workload)
		return bool(w and w.get("pool_axis"))

	def kinds(self):
		"""Latency kinds in the order their first workload appears."""
		out = []
		for n in self.workload_names:
			k = self.workloads[n].get("latency")
			if k not in out:
				out.append(k)
		return out

	def workloads_of(self, kind):
		return [n for n in self.workload_names
			if self.workloads[n].get("latency") == kind]

	# --- counters ---

	def percentiles(self):
		"""[(counter, label)] of the latency spectrum, in percentile
		order and ending with the largest sample where there is one."""
		pct = []
		for n in self.counter_names:
			m = _PCT.match(n)
			if m:
				q = float("0." + m.group(1)) * 100.0
				pct.append((q, n, "p%s" % ("%.4f" % q).rstrip(
					"0").rstrip(".")))
		out = [(n, lab) for _, n, lab in sorted(pct)]
		if "max_ns" in self.counters:
			out.append(("max_ns", "max"))
		return out

	def counter_meaning(self, name):
		c = self.counters.get(name)
		return c.get("meaning", "") if c else ""

	# --- ordering ---

	def order(self, table, value):
		"""Sort key of value by its position in one of the description's
		lists ('workloads', 'subjects', 'waits', 'placements', 'axes',
		or an axis name for its values); unknown values sort after, by name."""
		if table == "workloads":
			seq = self.workload_names
		elif table == "subjects":
			seq = self.subject_names
		elif table == "waits":
			seq = self.waits
		elif table == "placements":
			seq = self.placements
		elif table == "axes":
			seq = self.axis_names
		else:
			seq = [str(v) for v in
			       self.axes.get(table, {}).get("values", [])]
		try:
			return (seq.index(value), "")
		except ValueError:
			return (len(seq), str(value))

	def present(self, values, table):
		"""The distinct values, in the description's order."""
		return sorted(set(values), key=lambda v: self.order(table, v))

	def axis_default(self, name):
		a = self.axes.get(name)
		return None if a is None else str(a.get("default"))


def _check(doc, path):
	"""Raise LoadError unless doc has the contract's shape."""
	if not isinstance(doc, dict):
		raise LoadError(path, "not a JSON object")
	v = doc.get("ipclab_describe")
	if v != VERSION:
		raise LoadError(path, "\"ipclab_describe\" is %r; these scripts "
				"read version %d" % (v, VERSION))
	named = ("families", "subjects", "workloads", "axes", "counters")
	for key in named + ("waits", "placements"):
		if not isinstance(doc.get(key), list):
			raise LoadError(path, "no \"%s\" list" % key)
	for key in named:
		for i, item in enumerate(doc[key]):
			if not isinstance(item, dict) or \
			   not isinstance(item.get("name"), str):
				raise LoadError(path, "%s[%d] is not an object with "
						"a \"name\"" % (key, i))
	for key in ("waits", "placements"):
		if not all(isinstance(x, str) for x in doc[key]):
			raise LoadError(path, "\"%s\" holds a non-string" % key)


def _read(path):
	try:
		with open(path, encoding="utf-8") as f:
			doc = json.load(f)
	except (OSError, UnicodeDecodeError) as e:
		raise LoadError(path, "cannot read: %s" %
				(getattr(e, "strerror", None) or e)) from None
	except json.JSONDecodeError as e:
		raise LoadError(path, "not valid JSON: %s at line %d column %d"
				% (e.msg, e.lineno, e.colno)) from None
	_check(doc, path)
	return doc


_frozen = None


def frozen():
	"""The frozen description of the pre-describe layout."""
	global _frozen
	if _frozen is None:
		_frozen = Description(_read(FROZEN_PATH), "frozen", FROZEN_PATH)
	return _frozen


def for_folder(folder):
	"""The description a result folder was written with."""
	path = os.path.join(folder, "describe.json")
	if not os.path.exists(path):
		return frozen()
	return Description(_read(path), "describe.json", path)
