"""ipclab_results - load an ipclab result folder and summarize it.

Shared by plot.py, report.py and compare.py.  Python 3 standard library only.

A result folder (results/HOST/YYYYmmddTHHMMSSZ/) holds bench.json, Google
Benchmark's JSON output.  Each case (SCENARIO/IMPL/WAIT/PLACEMENT/size:N/
pool:N, plus Google Benchmark's suffixes such as /manual_time) appears once
per repetition ("run_type": "iteration") and then as aggregates (_mean,
_median, _stddev, _cv).  Medians and spreads are computed here from the
repetitions themselves; the aggregates are used only when the repetitions are
absent (--benchmark_report_aggregates_only).

Unknown keys are ignored, unknown context keys are kept and listed, and a
benchmark whose name is not an ipclab case name is kept under its raw name.
"""

import json
import math
import os
import re
import statistics

SCENARIOS = ("pingpong", "stream", "pairs", "fanout", "fanin")
MECHANISMS = ("pipe", "fifo", "mqueue", "shmring", "unix-stream",
	      "unix-dgram", "unix-seqpacket", "tcp")
WAITS = ("block", "spin", "hybrid")
PLACEMENTS = ("none", "compact", "scatter", "smt", "cross-cache",
	      "cross-numa", "cpus")
# Scenarios with more than one process pair; their figures go against pool.
POOL_SCENARIOS = ("pairs", "fanout", "fanin")
# pingpong times a message there and back; every other scenario one way.
ROUND_TRIP = ("pingpong",)

# Latency counters, in ns, in percentile order (for the spectrum).
PERCENTILES = (("p50_ns", "p50"), ("p90_ns", "p90"), ("p99_ns", "p99"),
	       ("p999_ns", "p99.9"), ("p9999_ns", "p99.99"), ("max_ns", "max"))
COUNTERS = ("msgs_per_s", "bytes_per_s", "p50_ns", "p90_ns", "p99_ns",
	    "p999_ns", "p9999_ns", "max_ns", "min_ns", "mean_ns", "samples",
	    "oversubscribed")
# Per-repetition values kept from an entry besides the counters.
TIMES = ("real_time", "cpu_time", "iterations")

# Suffixes Google Benchmark appends to a registered name.
_GB_SUFFIX = re.compile(r"/(manual_time|real_time|process_time|"
			r"iterations:\d+|repeats:\d+|min_time:[0-9.]+s?|"
			r"min_warmup_time:[0-9.]+s?|threads:\d+)$")
_AGGREGATES = ("mean", "median", "stddev", "cv")
_CASE = re.compile(r"^(?P<scenario>[^/]+)/(?P<impl>[^/]+)/(?P<wait>[^/]+)/"
		   r"(?P<placement>[^/]+)/size:(?P<size>\d+)/pool:(?P<pool>\d+)$")
_TIME_UNIT_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


class LoadError(Exception):
	"""A result folder that cannot be read; str() is one line naming it."""

	def __init__(self, path, problem):
		super().__init__("%s: %s" % (path, problem))
		self.path = path
		self.problem = problem


class Stat:
	"""Median and spread of one metric over a case's repetitions.

	lo/hi are the minimum and maximum, q1/q3 the quartiles (inclusive
	method; equal to the median for one repetition).  When only Google
	Benchmark's aggregates were available, samples is empty, lo/hi/q1/q3
	are None and sd holds the reported standard deviation.
	"""

	def __init__(self, samples=(), median=None, sd=None, n=None):
		self.samples = sorted(samples)
		if self.samples:
			self.n = len(self.samples)
			self.median = statistics.median(self.samples)
			self.lo, self.hi = self.samples[0], self.samples[-1]
			if self.n >= 2:
				q = statistics.quantiles(self.samples, n=4,
							 method="inclusive")
				self.q1, self.q3 = q[0], q[2]
			else:
				self.q1 = self.q3 = self.median
			self.sd = (statistics.stdev(self.samples)
				   if self.n >= 2 else 0.0)
		else:
			self.n = n or 0
			self.median = median
			self.lo = self.hi = self.q1 = self.q3 = None
			self.sd = sd

	@property
	def from_aggregates(self):
		return not self.samples


class Case:
	"""One benchmark case with its repetitions."""

	def __init__(self, name):
		self.name = name
		m = _CASE.match(name)
		self.parsed = m is not None
		if m:
			self.scenario = m.group("scenario")
			self.impl = m.group("impl")
			self.wait = m.group("wait")
			self.placement = m.group("placement")
			self.size = int(m.group("size"))
			self.pool = int(m.group("pool"))
		else:
			self.scenario = self.impl = self.wait = None
			self.placement = None
			self.size = self.pool = None
		self.reps = []		# dict per good repetition
		self.aggregates = {}	# aggregate name -> dict
		self.errors = []	# error messages, one per failed repetition
		self.label = None

	@property
	def ok(self):
		return bool(self.reps) or "median" in self.aggregates or \
			"mean" in self.aggregates

	@property
	def status(self):
		"""'ok', 'skipped' or 'failed'."""
		if self.ok:
			return "ok"
		if self.errors and all(e.startswith("skipped")
				       for e in self.errors):
			return "skipped"
		return "failed"

	@property
	def error(self):
		return self.errors[0] if self.errors else None

	@property
	def round_trip(self):
		return self.scenario in ROUND_TRIP

	@property
	def repetitions(self):
		if self.reps:
			return len(self.reps)
		for a in self.aggregates.values():
			if isinstance(a.get("repetitions"), (int, float)):
				return int(a["repetitions"])
		return 0

	def stat(self, metric):
		"""Stat of metric over the repetitions, or None if absent."""
		vals = [r[metric] for r in self.reps if metric in r]
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
		if not self.parsed:
			return (1, self.name)
		return (0, _order(SCENARIOS, self.scenario),
			_order(MECHANISMS, self.impl), _order(WAITS, self.wait),
			_order(PLACEMENTS, self.placement), self.size, self.pool)


def _order(table, value):
	"""Position of value in a fixed table; unknown values sort after."""
	try:
		return (table.index(value), "")
	except ValueError:
		return (len(table), value)


def sort_cases(cases):
	return sorted(cases, key=lambda c: c.sort_key())


class Run:
	"""A loaded result folder."""

	def __init__(self, folder, path, context, cases):
		self.folder = folder
		self.path = path
		self.context = context
		self.cases = cases	# name -> Case, in file order

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
		return [c for c in sort_cases(self.cases.values())
			if c.ok and c.parsed]

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


def load(arg):
	"""Load a result folder (or its bench.json).  Raises LoadError."""
	folder, path = resolve(arg)
	try:
		with open(path, encoding="utf-8") as f:
			text = f.read()
	except FileNotFoundError:
		raise LoadError(path, "missing (no such file)") from None
	except (OSError, UnicodeDecodeError) as e:
		raise LoadError(path, "cannot read: %s" %
				(getattr(e, "strerror", None) or e)) from None
	try:
		doc = json.loads(text)
	except json.JSONDecodeError as e:
		raise LoadError(path, "not valid JSON: %s at line %d column %d"
				% (e.msg, e.lineno, e.colno)) from None
	if not isinstance(doc, dict):
		raise LoadError(path, "not a Google Benchmark JSON object")
	context = doc.get("context", {})
	if not isinstance(context, dict):
		raise LoadError(path, "\"context\" is not an object")
	bench = doc.get("benchmarks")
	if not isinstance(bench, list):
		raise LoadError(path, "no \"benchmarks\" list")
	cases = {}
	for i, e in enumerate(bench):
		if not isinstance(e, dict) or not isinstance(e.get("name"), str):
			raise LoadError(path, "benchmarks[%d] is not an object "
					"with a \"name\"" % i)
		name = _base_name(e)
		c = cases.get(name)
		if c is None:
			c = cases[name] = Case(name)
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
	return Run(folder, path, context, cases)


# --- grouping helpers for figures and tables ---

def main_placement(cases):
	"""The placement most cases use (ties: earliest in PLACEMENTS)."""
	count = {}
	for c in cases:
		count[c.placement] = count.get(c.placement, 0) + 1
	if not count:
		return None
	return min(count, key=lambda p: (-count[p], _order(PLACEMENTS, p)))


def present(values, table):
	"""The distinct values, in the order of a fixed table."""
	return sorted(set(values), key=lambda v: _order(table, v))


# --- Mann-Whitney U ---

# Largest sample size for which the exact null distribution is computed
# (only when there are no ties): the count polynomial has n1*n2+1 terms and
# costs O(n1*n2*(n1+n2)) to build, well under a millisecond at 25 x 25.
MWU_EXACT_MAX = 25


def _u_counts(n1, n2):
	"""counts[u] = number of arrangements of n1 x's and n2 y's with U = u.

	Gaussian binomial coefficient [n1+n2 choose n1]_q, built row by row
	with the recurrence f(i, j) = f(i-1, j) * q^j + f(i, j-1).
	"""
	# row[j] = polynomial f(i, j) for the current i
	row = [[1] for _ in range(n2 + 1)]	# f(0, j) = 1
	for i in range(1, n1 + 1):
		new = [[1]]			# f(i, 0) = 1
		for j in range(1, n2 + 1):
			a = row[j]		# f(i-1, j), shifted by j
			b = new[j - 1]		# f(i, j-1)
			size = max(len(a) + j, len(b))
			p = [0] * size
			for k, v in enumerate(a):
				p[k + j] += v
			for k, v in enumerate(b):
				p[k] += v
			new.append(p)
		row = new
	return row[n2]


def mann_whitney_u(x, y):
	"""Two-sided Mann-Whitney U test of samples x and y.

	Returns (U, p, method), U being the statistic of x (the number of
	pairs with x > y, ties counted one half).  method is "exact" (no ties
	and both samples at most MWU_EXACT_MAX: the exact null distribution,
	p = 2 * min(P(U <= u), P(U >= u)) capped at 1) or "normal" (the normal
	approximation with tie correction and a continuity correction of 1/2,
	as scipy.stats.mannwhitneyu(method="asymptotic") computes it).
	"""
	n1, n2 = len(x), len(y)
	if n1 == 0 or n2 == 0:
		raise ValueError("mann_whitney_u: empty sample")
	allv = sorted([(v, 0) for v in x] + [(v, 1) for v in y])
	ranks = [0.0] * len(allv)
	ties = []
	i = 0
	while i < len(allv):
		j = i
		while j + 1 < len(allv) and allv[j + 1][0] == allv[i][0]:
			j += 1
		r = (i + j) / 2.0 + 1.0
		for k in range(i, j + 1):
			ranks[k] = r
		if j > i:
			ties.append(j - i + 1)
		i = j + 1
	r1 = sum(r for r, (_, side) in zip(ranks, allv) if side == 0)
	u1 = r1 - n1 * (n1 + 1) / 2.0
	if not ties and n1 <= MWU_EXACT_MAX and n2 <= MWU_EXACT_MAX:
		counts = _u_counts(n1, n2)
		total = sum(counts)
		u = int(round(u1))
		lower = sum(counts[:u + 1]) / total
		upper = sum(counts[u:]) / total
		return u1, min(1.0, 2.0 * min(lower, upper)), "exact"
	n = n1 + n2
	mu = n1 * n2 / 2.0
	tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
	var = n1 * n2 / 12.0 * ((n + 1) - tie_term)
	if var <= 0:
		return u1, 1.0, "normal"
	z = (abs(u1 - mu) - 0.5) / math.sqrt(var)
	z = max(z, 0.0)
	p = math.erfc(z / math.sqrt(2.0))
	return u1, min(1.0, p), "normal"


# Fewest repetitions per side for a U test worth printing.
MWU_MIN_REPS = 9


# --- formatting ---

def fmt_sig(v, digits=3):
	"""v with `digits` significant digits, never in exponent form."""
	if v is None:
		return "-"
	if v == 0:
		return "0"
	mag = int(math.floor(math.log10(abs(v))))
	dec = max(0, digits - 1 - mag)
	if dec == 0:
		return "%d" % round(v, digits - 1 - mag)
	return "%.*f" % (dec, v)


def fmt_si(v, digits=3):
	"""v with an SI prefix (k, M, G): 47.2k, 1.23M."""
	if v is None:
		return "-"
	for div, pfx in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
		if abs(v) >= div:
			return fmt_sig(v / div, digits) + pfx
	return fmt_sig(v, digits)


def fmt_size(n):
	"""Bytes with binary suffixes where exact: 64, 4k, 64k, 1M."""
	for div, pfx in ((1 << 30, "G"), (1 << 20, "M"), (1 << 10, "k")):
		if n >= div and n % div == 0:
			return "%d%s" % (n // div, pfx)
	return "%d" % n


def fmt_stat(s, scale=1.0, fmt=fmt_sig):
	"""'median (min-max)', or 'median (±sd)' from aggregates."""
	if s is None:
		return "-"
	med = fmt(s.median / scale)
	if s.from_aggregates:
		if s.sd is None:
			return med
		return "%s (±%s)" % (med, fmt(s.sd / scale))
	if s.n < 2:
		return med
	return "%s (%s–%s)" % (med, fmt(s.lo / scale), fmt(s.hi / scale))


def tex_escape(s):
	s = str(s)
	out = []
	for ch in s:
		if ch in "&%$#_{}":
			out.append("\\" + ch)
		elif ch == "\\":
			out.append("\\textbackslash{}")
		elif ch == "~":
			out.append("\\textasciitilde{}")
		elif ch == "^":
			out.append("\\textasciicircum{}")
		elif ch == "–":
			out.append("--")
		elif ch == "±":
			out.append("$\\pm$")
		elif ch == "µ":
			out.append("$\\mu$")
		elif ch in "<>|":
			out.append("$%s$" % ("\\vert" if ch == "|" else ch))
		elif ord(ch) > 126:
			out.append("?")
		else:
			out.append(ch)
	return "".join(out)


def md_escape(s):
	return str(s).replace("|", "\\|")


def write_atomic(path, text):
	"""Write text to path through a temporary name and a rename."""
	tmp = "%s.tmp.%d" % (path, os.getpid())
	try:
		with open(tmp, "w", encoding="utf-8") as f:
			f.write(text)
		os.replace(tmp, path)
	except BaseException:
		try:
			os.unlink(tmp)
		except OSError:
			pass
		raise
