"""What every workload shares."""

import collections

Round = collections.namedtuple(
	"Round", "n delivered bytes elapsed_ns samples")


class Workload:
	pool_axis = False
	min_n = 16		# fewest iterations in a timed round
	max_n = 200000
	warmup_max = 10000

	def procs(self, pool):
		return 2

	def attach(self, wstate, index):
		for e in getattr(wstate, "ends", ()):
			e.attach()
		return wstate

	def detach(self, wstate, index):
		for e in getattr(wstate, "ends", ()):
			e.detach()

	def close(self, case, dstate):
		for c in dstate.closers:
			c.close()


def pool_round(n, theirs):
	"""The round of a pool whose workers each report (samples, t_start,
	t_end): every sample, first start to last end (contend, counter)."""
	samples = [s for r in theirs for s in r[0]]
	t0 = min(r[1] for r in theirs)
	t1 = max(r[2] for r in theirs)
	return Round(n, n, 0, t1 - t0, samples)


class State:
	"""A bag of attributes: what one process of a case holds."""

	def __init__(self, **kw):
		self.__dict__.update(kw)
		self.__dict__.setdefault("closers", [])
		self.__dict__.setdefault("ends", [])
