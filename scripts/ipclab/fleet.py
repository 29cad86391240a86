"""The report of a fleet folder (build/ipclab --fleet under mpirun).

  scripts/report.py DIR        (make report RESULTS=DIR)

A fleet folder holds fleet.json (the hosts, their folders, how far each
got: written by rank 0) and one ordinary result folder per host
(DIR/FOLDER/bench.json, topology.xml, describe.json), FOLDER being the
host's name, or HOST-rankN where ranks shared a host name.  This writes
DIR/report.md: the hosts, then every case with one row per host (a host
column), the medians over that host's repetitions, and each host's p50
against the first host's.  Each host folder is also an ordinary result
folder: `make report RESULTS=DIR/FOLDER` draws its figures, and
`make compare A=DIR/FOLDER1 B=DIR/FOLDER2` compares two hosts.

A job that ended early (mpirun ends every rank when one dies) leaves every
repetition gathered before; fleet.json says how many, and the report says
which hosts' reports are not whole.
"""

import json
import os
import sys

from . import fmt as F
from .errors import LoadError
from .results import load, sort_cases

MANIFEST = "fleet.json"


def is_fleet(folder):
	return os.path.isfile(os.path.join(folder, MANIFEST))


def read_manifest(folder):
	path = os.path.join(folder, MANIFEST)
	try:
		with open(path, encoding="utf-8") as f:
			doc = json.load(f)
	except (OSError, ValueError) as e:
		raise LoadError(path, "cannot read: %s" % e) from None
	hosts = doc.get("hosts") if isinstance(doc, dict) else None
	if doc.get("ipclab_fleet") != 1 or not isinstance(hosts, list) or \
	   not all(isinstance(h, dict) and isinstance(h.get("folder"), str)
		   for h in hosts):
		raise LoadError(path, "not an ipclab fleet manifest "
				"(ipclab_fleet 1 and a hosts list with folders)")
	for h in hosts:
		f = h["folder"]
		if not f or f in (".", "..") or "/" in f:
			raise LoadError(path, "host folder %r is not a plain name" % f)
	return doc


def load_fleet(folder):
	"""(manifest, [(host entry, Run)]): every host folder loaded."""
	doc = read_manifest(folder)
	runs = []
	for h in doc["hosts"]:
		runs.append((h, load(os.path.join(folder, h["folder"]))))
	return doc, runs


def _md_table(cols, rows):
	head = "| " + " | ".join(F.md_escape(h) for h, _ in cols) + " |"
	rule = "|" + "|".join("---:" if a == "r" else "---" for _, a in cols) + "|"
	body = ["| " + " | ".join(F.md_escape(c) for c in r) + " |" for r in rows]
	return "\n".join([head, rule] + body) + "\n"


def _ctx(run, key):
	v = run.context.get(key)
	return "not recorded" if v in (None, "") else str(v)


def hosts_table(doc, runs):
	cols = [("Folder", "l"), ("Host", "l"), ("Rank", "r"), ("CPU", "l"),
		("Kernel", "l"), ("Repetitions", "r"), ("Whole report", "l")]
	rows = []
	for h, run in runs:
		rows.append([h["folder"], str(h.get("host", "?")),
			     str(h.get("rank", "?")), _ctx(run, "ipclab_cpu_model"),
			     _ctx(run, "ipclab_kernel"),
			     "%s of %s" % (h.get("repetitions", "?"),
					   doc.get("repetitions_per_host", "?")),
			     "yes" if h.get("whole") else
			     "no: the repetitions gathered before the job ended"])
	return _md_table(cols, rows)


def cases_table(runs):
	"""One row per case and host, cases in the description's order."""
	first = {}
	for _, run in runs:
		for name, c in run.cases.items():
			first.setdefault(name, c)
	base = runs[0][0]["folder"] if runs else "?"
	cols = [("Case", "l"), ("Host", "l"), ("p50 µs", "r"), ("p99 µs", "r"),
		("msgs/s", "r"), ("p50 / %s" % base, "r"), ("Reps", "r"),
		("Outcome", "l")]
	rows = []
	for c0 in sort_cases(first.values()):
		ref = None
		for h, run in runs:
			c = run.cases.get(c0.name)
			if c is None:
				rows.append([c0.name, h["folder"], "", "", "", "", "0",
					     "not run on this host (yet)"])
				continue
			p50 = c.median("p50_ns")
			if ref is None and c.status == "ok" and p50:
				ref = p50
				ratio = "1"
			else:
				ratio = F.fmt_sig(p50 / ref) if ref and p50 else ""
			rows.append([c0.name, h["folder"],
				     F.fmt_stat(c.stat("p50_ns"), 1000.0),
				     F.fmt_stat(c.stat("p99_ns"), 1000.0),
				     F.fmt_si(c.median("msgs_per_s"))
				     if c.median("msgs_per_s") is not None else "",
				     ratio, str(c.repetitions),
				     c.status if c.status == "ok" else
				     "%s: %s" % (c.status, c.error or "")])
	return _md_table(cols, rows)


def markdown(folder, doc, runs):
	n = len(runs)
	lines = ["# ipclab fleet: %d host%s" % (n, "" if n == 1 else "s"), "",
		 "One rank per host ran the same selection with its own forked "
		 "pools, every host starting each repetition together (an MPI "
		 "barrier in between); rank 0 gathered every repetition. "
		 "State: **%s**; repetitions gathered per host: %s of %s." % (
			 doc.get("state", "?"), doc.get("repetitions_gathered", "?"),
			 doc.get("repetitions_per_host", "?")), "",
		 "Each row is one host's own measurement between its own CPUs "
		 "(the local suite); the host column says where it ran. Rows of "
		 "different hosts differ by their machines, not by the network. "
		 "Values are medians over the repetitions, smallest and largest "
		 "in parentheses; p50 / %s is each host's median p50 against "
		 "the first host that has the case." % (
			 runs[0][0]["folder"] if runs else "?"), "",
		 "## Hosts", "", hosts_table(doc, runs),
		 "Figures of one host: `make report RESULTS=%s/FOLDER`; two hosts "
		 "side by side (ratios, spread, Mann-Whitney U): `make compare "
		 "A=%s/FOLDER1 B=%s/FOLDER2`." % (folder, folder, folder), "",
		 "## Every case on every host", "", cases_table(runs)]
	return "\n".join(lines)


def main(folder):
	try:
		doc, runs = load_fleet(folder)
	except LoadError as e:
		print(e, file=sys.stderr)
		return 2
	path = os.path.join(folder, "report.md")
	F.write_atomic(path, markdown(folder, doc, runs))
	print(path)
	return 0
