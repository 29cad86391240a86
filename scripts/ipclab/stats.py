"""Medians and spreads over repetitions; the Mann-Whitney U test."""

import statistics
import warnings

# Largest sample size (each side) for which the exact null distribution is
# used, and only when there are no ties; the normal approximation with tie
# and continuity correction otherwise.  This is the rule the scripts always
# had; scipy's own "auto" rule differs (exact with no ties and n <= 8 in
# scipy 1.10), so the method is always passed explicitly.
MWU_EXACT_MAX = 25
# Fewest repetitions per side for a U test worth printing.
MWU_MIN_REPS = 9
SCIPY_HINT = ("the U test needs scipy: run the scripts with Debian's "
	      "/usr/bin/python3 and install python3-scipy (make deps)")


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


def have_scipy():
	try:
		import scipy.stats  # noqa: F401
	except ImportError:
		return False
	return True


def mwu_method(x, y):
	"""'exact' when neither sample exceeds MWU_EXACT_MAX and no value
	occurs twice in the pooled samples; 'asymptotic' otherwise."""
	pooled = list(x) + list(y)
	if len(x) <= MWU_EXACT_MAX and len(y) <= MWU_EXACT_MAX and \
	   len(set(pooled)) == len(pooled):
		return "exact"
	return "asymptotic"


def mann_whitney_u(x, y):
	"""Two-sided Mann-Whitney U test of samples x and y, by
	scipy.stats.mannwhitneyu with the method chosen by mwu_method().

	Returns (U, p, how): U is the statistic of x (pairs with x > y, ties
	counted one half), how is "exact" or "normal" (the normal
	approximation with tie correction and a continuity correction of 1/2).
	When every value is the same there is nothing to rank: p = 1.
	"""
	from scipy.stats import mannwhitneyu
	if not x or not y:
		raise ValueError("mann_whitney_u: empty sample")
	method = mwu_method(x, y)
	how = "exact" if method == "exact" else "normal"
	if len(set(x) | set(y)) == 1:
		return len(x) * len(y) / 2.0, 1.0, how
	with warnings.catch_warnings():
		warnings.simplefilter("error")	# never a silent NaN
		r = mannwhitneyu(x, y, use_continuity=True,
				 alternative="two-sided", method=method)
	return float(r.statistic), min(1.0, float(r.pvalue)), how
