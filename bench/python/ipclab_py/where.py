"""where.py - ask build/ipclab where each process of a case runs.

`ipclab --where` prints, for each case of a selection, the CPU of each
process as ipclab's own placement code (harness/topo.c) resolves it.  A
Python case asks for the C case its workload is placed like (same number
of processes in the same role order), so there is one topology code.
"""

import json
import subprocess

from ipclab_py.errors import CaseSkipped


class WhereError(Exception):
	"""ipclab refused the query (str(): its one line) or could not run."""

	def __init__(self, line, usage):
		super().__init__(line)
		self.usage = usage


def query(ipclab, scenarios, pools, placement_flags):
	"""{(scenario, pool, placement): entry} for every case of the
	selection.  placement_flags: the user's --placement=/--cpus= flags,
	passed through (ipclab validates them)."""
	argv = [ipclab, "--where", "--impl=pipe", "--size=64", "--wait=block",
		"--scenario=" + ",".join(sorted(scenarios)),
		"--pool=" + ",".join(str(p) for p in sorted(pools))] + \
		list(placement_flags)
	try:
		r = subprocess.run(argv, capture_output=True, text=True, timeout=60)
	except (OSError, subprocess.TimeoutExpired) as e:
		raise WhereError("cannot run %s --where: %s" % (ipclab, e), False) from None
	if r.returncode != 0:
		line = (r.stderr.strip().splitlines() or ["exit status %d" % r.returncode])[-1]
		if line.startswith("ipclab: "):
			line = line[len("ipclab: "):]
		raise WhereError(line, r.returncode == 2)
	try:
		doc = json.loads(r.stdout)
		cases = doc["cases"]
	except (ValueError, KeyError, TypeError) as e:
		raise WhereError("%s --where printed no placement JSON (%s)" % (ipclab, e), False) from None
	return {(c["scenario"], c["pool"], c["placement"]): c for c in cases}


def place(table, workload, pool, placement):
	"""(cpus, oversubscribed, class) of process 0..N of a Python case, or
	CaseSkipped with ipclab's reason."""
	c = table.get((workload.placed_like, pool, placement))
	if c is None:
		raise CaseSkipped("ipclab --where gave no placement for %s pool %d %s"
				  % (workload.placed_like, pool, placement))
	if "skipped" in c:
		reason = c["skipped"]
		raise CaseSkipped(reason[len("skipped: "):] if reason.startswith("skipped: ") else reason)
	if c["procs"] != workload.procs(pool):
		raise CaseSkipped("%s pool %d has %d processes, ipclab's %s has %d"
				  % (workload.name, pool, workload.procs(pool),
				     workload.placed_like, c["procs"]))
	return c["cpus"], bool(c["oversubscribed"]), c.get("class", "unbound")
