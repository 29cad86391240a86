"""stats.py - a finished round as the C side's counters."""

import math


def percentile(sorted_samples, q):
	"""Nearest-rank percentile of sorted samples (q in 0..100)."""
	n = len(sorted_samples)
	k = max(1, math.ceil(q / 100.0 * n))
	return sorted_samples[min(k, n) - 1]


def counters(rnd, oversubscribed, procs):
	s = sorted(rnd.samples)
	secs = max(rnd.elapsed_ns, 1) / 1e9
	c = {
		"msgs_per_s": rnd.delivered / secs,
		"bytes_per_s": rnd.bytes / secs,
		"samples": float(len(s)),
		"oversubscribed": 1.0 if oversubscribed else 0.0,
		"procs": float(procs),
	}
	if s:
		for key, q in (("p50_ns", 50), ("p90_ns", 90), ("p99_ns", 99),
			       ("p999_ns", 99.9), ("p9999_ns", 99.99)):
			c[key] = float(percentile(s, q))
		c["max_ns"] = float(s[-1])
		c["min_ns"] = float(s[0])
		c["mean_ns"] = sum(s) / len(s)
	return c
