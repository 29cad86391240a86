#!/usr/bin/env python3
# fleet.t - fleet mode (build/ipclab --fleet, issue 17) with two "hosts" on
# this one host: `mpirun -n 2 --oversubscribe` starts two ranks, each runs
# the same small selection with its own forked pools, and rank 0 writes
# both into DIR/HOST-rank0/ and DIR/HOST-rank1/ (the ranks share a host
# name).  Checked: each folder's bench.json is whole JSON with exactly the
# selected cases and repetitions, the fleet report has a host column, a
# second run into the same DIR is refused, and nothing is left behind; a
# rank SIGKILLed mid-run ends the job, leaves no process or IPC object,
# and every repetition gathered before is kept.  A selection with a
# matrix case: each host's folder holds the same files as a plain run's
# --out (its CSVs included), and rank 0 wrote each repetition into
# bench.json once (under 3 x the final size, not about 9 x).  Without
# mpirun: exit 2 with how to launch.  Skipped, saying why, when MPI was not
# built.
#
# Root: make test runs as root on the project's machines, and Open MPI
# refuses to start as root unless told; --allow-run-as-root is passed here,
# only to these test jobs, for that reason alone.
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import tap  # noqa: E402

BUILD = os.environ.get("IPCLAB_BUILD", os.path.join(tap.REPO, "build"))
IPCLAB = os.path.join(BUILD, "ipclab")
MPIRUN = shutil.which("mpirun")
PYTHON = "/usr/bin/python3"  # the scripts need Debian's numpy/scipy
# Small: two mechanisms without named objects left after their setup
# (pipe; shmring unlinks its segment once mapped), so a SIGKILLed rank
# cannot leave one behind whatever moment it dies at.
SELECTION = ["--impl=pipe,shmring", "--scenario=pingpong", "--size=64", "--wait=spin",
	     "--no-perf"]
REPS = 2
# A quiet job takes ~2 s; a loaded machine several times that.  A hang
# must not hold make test.
JOB_TIMEOUT_S = 120
TERM_GRACE_S = 10
REAP_GRACE_S = 10
T = tap.Tap()


def why_skipped():
	if not os.path.exists(IPCLAB):
		return "%s is not built" % IPCLAB
	env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_"))}
	r = subprocess.run([IPCLAB, "--fleet", "--out=/nonexistent/ipclab-fleet-probe"], env=env,
			   capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
	if "built with Open MPI" in r.stderr:
		return "ipclab was built without MPI (CMake did not find Open MPI; make deps installs libopenmpi-dev)"
	if not MPIRUN:
		return "no mpirun (Open MPI is optional: make deps installs openmpi-bin)"
	return None


def host_folder():
	"""The folder name rank 0 gives this host (fleet.c's safe_host)."""
	h = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "host"
	return "host" if h in (".", "..") else h


class Job:
	"""One mpirun job with a private session folder (TMPDIR: Open MPI's
	session files and ipclab's private directories); each rank writes its
	pid to the session folder before it execs ipclab."""

	def __init__(self, out, *args, min_time="0.01", reps=REPS, selection=SELECTION):
		self.session = tempfile.mkdtemp(prefix="ipclab-fleet-test-")
		self.out = out
		env = dict(os.environ, TMPDIR=self.session, OMPI_MCA_btl="self,vader,tcp")
		# Open MPI 4.1.4 leaks inside the components it dlopens (see mpi.t).
		env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0"]))
		cmd = [MPIRUN, "-n", "2", "--oversubscribe", "--bind-to", "none"]
		if os.geteuid() == 0:
			cmd.append("--allow-run-as-root")  # see the top of this file
		wrap = ['/bin/sh', '-c', 'echo $$ > "$TMPDIR/rank$OMPI_COMM_WORLD_RANK.pid"; exec "$@"', 'sh']
		self.shm_before = set(os.listdir("/dev/shm"))
		self.p = subprocess.Popen(cmd + wrap + [IPCLAB, "--fleet"] + selection + [
			"--benchmark_min_time=%s" % min_time, "--benchmark_repetitions=%d" % reps,
			"--out=%s" % out] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
			text=True, env=env, stdin=subprocess.DEVNULL)
		self.t0 = time.monotonic()

	def wait(self):
		try:
			out, _ = self.p.communicate(timeout=JOB_TIMEOUT_S)
		except subprocess.TimeoutExpired:
			# SIGTERM lets mpirun end its ranks and remove their segments.
			self.p.terminate()
			try:
				self.p.communicate(timeout=TERM_GRACE_S)
			except subprocess.TimeoutExpired:
				self.p.kill()
				self.p.communicate()
			raise AssertionError("mpirun did not end within %d s" % JOB_TIMEOUT_S)
		self.seconds = time.monotonic() - self.t0
		# Under make test SANITIZE=1: a report of ASan or UBSan in any
		# rank fails the test, whatever mpirun's exit status.
		bad = [l for l in out.splitlines() if "ERROR: AddressSanitizer" in l or "runtime error:" in l]
		assert not bad, "sanitizer: %s" % bad[:3]
		return self.p.returncode, out

	def rank_pid(self, rank, timeout=JOB_TIMEOUT_S):
		path = os.path.join(self.session, "rank%d.pid" % rank)
		deadline = time.monotonic() + timeout
		while time.monotonic() < deadline:
			try:
				with open(path) as f:
					return int(f.read())
			except (OSError, ValueError):
				time.sleep(0.05)
		raise AssertionError("rank %d never started" % rank)

	def alive(self):
		"""Processes of this job still there (zombies included): every
		process whose environment has this job's session folder."""
		mine = ("TMPDIR=%s" % self.session).encode()
		found = []
		for pid in os.listdir("/proc"):
			if not pid.isdigit():
				continue
			try:
				with open("/proc/%s/environ" % pid, "rb") as f:
					if mine in f.read().split(b"\0"):
						found.append(pid)
			except OSError:
				continue
		return found

	def check_nothing_left(self, pids):
		deadline = time.monotonic() + REAP_GRACE_S
		while self.alive() and time.monotonic() < deadline:
			time.sleep(0.1)
		assert not self.alive(), "processes of the job left: %s" % self.alive()
		new = set(os.listdir("/dev/shm")) - self.shm_before
		# Ours only: ipclab names carry their creator's pid (names.h).
		# (Open MPI's own segments are mpi.t's; other suites' jobs may
		# run beside this one.)
		ours = [n for n in new if any("-%d-" % p in n for p in pids)]
		assert not ours, "left in /dev/shm: %s" % sorted(ours)
		if os.path.isdir("/dev/mqueue"):
			q = [n for n in os.listdir("/dev/mqueue") if any("-%d-" % p in n for p in pids)]
			assert not q, "left in /dev/mqueue: %s" % q
		left = [os.path.join(d, f) for d, _, fs in os.walk(self.session) for f in fs
			if not f.endswith(".pid")]
		assert not left, "session files left: %s" % left[:5]
		tmp = [os.path.join(d, f) for d, _, fs in os.walk(self.out) for f in fs if f.endswith(".tmp")]
		assert not tmp, "temporary files left in the fleet folder: %s" % tmp

	def cleanup(self):
		shutil.rmtree(self.session, ignore_errors=True)


def selected_cases():
	r = subprocess.run([IPCLAB, "--list"] + SELECTION, capture_output=True, text=True, timeout=60,
			   stdin=subprocess.DEVNULL)
	assert r.returncode == 0, r.stderr
	names = sorted(l for l in r.stdout.splitlines() if l.strip())
	assert names, "the selection lists no case"
	return names


def runs_of(path):
	"""{case name: repetitions} of a bench.json (iteration entries)."""
	with open(path) as f:
		doc = json.load(f)
	reps = {}
	for b in doc["benchmarks"]:
		if b.get("run_type") == "iteration":
			name = b["run_name"].replace("/manual_time", "")
			reps[name] = reps.get(name, 0) + 1
	return doc, reps


@T.test("fleet: --fleet without mpirun exits 2 with one line saying how to launch it, nothing created")
def test_not_launched():
	if not os.path.exists(IPCLAB):
		raise tap.Skip("%s is not built" % IPCLAB)
	work = tempfile.mkdtemp(prefix="ipclab-fleet-test-")
	try:
		out = os.path.join(work, "out")
		env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_"))}
		r = subprocess.run([IPCLAB, "--fleet"] + SELECTION + ["--out=%s" % out], env=env,
				   capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
		lines = r.stderr.strip().splitlines()
		assert r.returncode == 2, "exit %d, want 2: %s" % (r.returncode, r.stderr)
		assert len(lines) == 1 and "mpirun" in lines[0] and "--fleet" in lines[0], \
			"want one line naming how to launch: %r" % r.stderr
		assert not os.path.exists(out), "--out folder created"
	finally:
		shutil.rmtree(work, ignore_errors=True)


@T.test("fleet: two hosts on localhost (mpirun -n 2): HOST-rank0/ and HOST-rank1/, each bench.json whole with the selected cases, report with a host column, the two compared, nothing left")
def test_two_hosts():
	why = why_skipped()
	if why:
		raise tap.Skip(why)
	work = tempfile.mkdtemp(prefix="ipclab-fleet-test-")
	out = os.path.join(work, "fleet")
	job = Job(out)
	try:
		pids = [job.rank_pid(0), job.rank_pid(1)]
		rc, log = job.wait()
		for l in log.splitlines():
			if l.startswith(("ipclab:", "mpirun")):
				print("# " + l)
		print("# the job took %.1f s" % job.seconds)
		assert rc == 0, "mpirun exited %d" % rc
		want = selected_cases()
		folders = ["%s-rank0" % host_folder(), "%s-rank1" % host_folder()]
		assert sorted(os.listdir(out)) == sorted(folders + ["fleet.json"]), \
			"fleet folder holds %s" % sorted(os.listdir(out))
		with open(os.path.join(out, "fleet.json")) as f:
			man = json.load(f)
		assert man["state"] == "complete", man
		assert [h["folder"] for h in man["hosts"]] == folders, man
		assert all(h["whole"] for h in man["hosts"]), man
		for rank, folder in enumerate(folders):
			d = os.path.join(out, folder)
			assert sorted(os.listdir(d)) == ["bench.json", "describe.json", "hist", "topology.xml"], os.listdir(d)
			doc, reps = runs_of(os.path.join(d, "bench.json"))
			# Each repetition's histogram, named as a plain run names it.
			hgrm = sorted(os.listdir(os.path.join(d, "hist")))
			assert hgrm == sorted("%s.rep%d.hgrm" % (c.replace("/", "_").replace(":", "="), r)
					      for c in want for r in range(REPS)), "%s/hist: %s" % (folder, hgrm)
			assert sorted(reps) == want, "%s: cases %s, want %s" % (folder, sorted(reps), want)
			assert all(n == REPS for n in reps.values()), "%s: repetitions %s" % (folder, reps)
			assert any(b.get("run_type") == "aggregate" for b in doc["benchmarks"]), \
				"%s: no aggregates (not the host's whole report)" % folder
			assert doc["context"]["ipclab_fleet"].startswith("rank %d of 2" % rank), doc["context"]
			with open(os.path.join(d, "topology.xml")) as f:
				assert "<topology" in f.read()
		r = subprocess.run([PYTHON, os.path.join(tap.SCRIPTS, "report.py"), out], capture_output=True,
				   text=True, timeout=tap.CHILD_TIMEOUT_S, stdin=subprocess.DEVNULL)
		assert r.returncode == 0, r.stderr
		with open(os.path.join(out, "report.md")) as f:
			md = f.read()
		head = [l for l in md.splitlines() if l.startswith("| Case |")]
		assert head and "| Host |" in head[0], "no host column: %s" % head
		for case in want:
			for folder in folders:
				assert "| %s | %s |" % (case, folder) in md, "no row for %s on %s" % (case, folder)
		# Two hosts of one fleet compare like two machines (make compare
		# A=DIR/HOST1 B=DIR/HOST2).
		cmp = os.path.join(work, "cmp")
		r = subprocess.run([PYTHON, os.path.join(tap.SCRIPTS, "compare.py"), "--out", cmp] +
				   [os.path.join(out, f) for f in folders], capture_output=True, text=True,
				   timeout=tap.CHILD_TIMEOUT_S, stdin=subprocess.DEVNULL)
		assert r.returncode == 0, r.stderr
		with open(os.path.join(cmp, "compare.md")) as f:
			cmd = f.read()
		for case in want:
			assert "| %s |" % case in cmd, "compare.md has no row for %s" % case
		job.check_nothing_left(pids)
		# Bad input: the same DIR again is refused (exit 2), nothing touched.
		before = {f: os.path.getmtime(os.path.join(out, f, "bench.json")) for f in folders}
		again = Job(out)
		try:
			rc2, log2 = again.wait()
			assert rc2 != 0 and "already exists" in log2, "second run into %s: exit %d: %s" % (out, rc2, log2)
			assert before == {f: os.path.getmtime(os.path.join(out, f, "bench.json")) for f in folders}
			again.check_nothing_left([])
		finally:
			again.cleanup()
	finally:
		job.cleanup()
		shutil.rmtree(work, ignore_errors=True)


# A selection with a matrix case (it writes CSVs into the results folder
# besides bench.json, topology.xml, describe.json and hist/), and enough
# repetitions that rewriting bench.json whole after each would write
# several times its final size.
MATRIX_SELECTION = ["--impl=pipe", "--scenario=matrix,pingpong", "--size=64", "--wait=spin",
		    "--no-perf", "--no-sentinel", "--seed=7"]
MATRIX_REPS = 8
_matrix_job = {}


def files_under(d):
	return sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)


def matrix_job():
	"""One plain run and one fleet run (2 ranks) of MATRIX_SELECTION, made
	once for the tests that read them: {work, plain, out, folders, log}."""
	if _matrix_job:
		return _matrix_job
	work = tempfile.mkdtemp(prefix="ipclab-fleet-test-")
	plain, out = os.path.join(work, "plain"), os.path.join(work, "fleet")
	r = subprocess.run([IPCLAB] + MATRIX_SELECTION + ["--benchmark_min_time=0.01",
			   "--benchmark_repetitions=%d" % MATRIX_REPS, "--out=%s" % plain], capture_output=True,
			   text=True, timeout=JOB_TIMEOUT_S, stdin=subprocess.DEVNULL)
	assert r.returncode == 0, "plain run: exit %d: %s" % (r.returncode, r.stderr)
	job = Job(out, reps=MATRIX_REPS, selection=MATRIX_SELECTION)
	try:
		pids = [job.rank_pid(0), job.rank_pid(1)]
		rc, log = job.wait()
		for l in log.splitlines():
			if l.startswith(("ipclab:", "mpirun")):
				print("# " + l)
		assert rc == 0, "mpirun exited %d" % rc
		job.check_nothing_left(pids)
	finally:
		job.cleanup()
	_matrix_job.update(work=work, plain=plain, out=out, log=log,
			   folders=["%s-rank0" % host_folder(), "%s-rank1" % host_folder()])
	return _matrix_job


@T.test("fleet: each host's folder holds every file a plain run of the same selection writes into --out (bench.json, topology.xml, describe.json, hist/, a matrix case's CSVs)")
def test_same_files_as_plain():
	why = why_skipped()
	if why:
		raise tap.Skip(why)
	j = matrix_job()
	want = files_under(j["plain"])
	assert any(f.startswith("matrix-") and f.endswith(".csv") for f in want), "the plain run wrote no CSV: %s" % want
	for folder in j["folders"]:
		d = os.path.join(j["out"], folder)
		got = files_under(d)
		assert got == want, "%s holds %s, a plain run %s" % (folder, got, want)
		for f in want:
			if not f.endswith(".csv"):
				continue
			with open(os.path.join(j["plain"], f)) as a, open(os.path.join(d, f)) as b:
				pa, pb = a.read().splitlines(), b.read().splitlines()
			# The same rows and columns (the values are each host's own).
			assert [l.split(",")[0] for l in pa] == [l.split(",")[0] for l in pb] and pa[0] == pb[0], \
				"%s/%s: %s, plain: %s" % (folder, f, pb, pa)
		_, reps = runs_of(os.path.join(d, "bench.json"))
		assert all(n == MATRIX_REPS for n in reps.values()) and len(reps) == 2, "%s: %s" % (folder, reps)


@T.test("fleet: rank 0 writes each gathered repetition into bench.json once (its ending rewritten in place), not the whole file after every repetition")
def test_bench_json_bytes():
	why = why_skipped()
	if why:
		raise tap.Skip(why)
	j = matrix_job()
	m = re.search(r"rank 0: .*; (\d+) bytes written into the hosts' bench.json", j["log"])
	assert m, "rank 0 did not say how many bytes it wrote into bench.json"
	wrote = int(m.group(1))
	final = sum(os.path.getsize(os.path.join(j["out"], f, "bench.json")) for f in j["folders"])
	print("# %d bytes written for %d bytes of bench.json at the end (%.2f x)" % (wrote, final, wrote / final))
	# Each host's file is written: its opening and ending once, every
	# repetition once, then its own whole report (aggregates included)
	# once: under 3 x the final size.  Rewriting the gathered file after
	# each of the 2 x MATRIX_REPS repetitions writes about 9 x.
	assert wrote < 3 * final, "%d bytes written for %d bytes of bench.json (%.1f x)" % (wrote, final, wrote / final)


@T.test("fleet: ranks that select other cases: exit 2, one line naming the rank that differs, nothing created")
def test_other_selection():
	why = why_skipped()
	if why:
		raise tap.Skip(why)
	work = tempfile.mkdtemp(prefix="ipclab-fleet-test-")
	session = tempfile.mkdtemp(prefix="ipclab-fleet-test-")
	out = os.path.join(work, "fleet")
	try:
		env = dict(os.environ, TMPDIR=session, OMPI_MCA_btl="self,vader,tcp")
		env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0"]))
		root = ["--allow-run-as-root"] if os.geteuid() == 0 else []  # see the top of this file
		# MPMD: rank 0 and rank 1 are given different selections.
		one = [IPCLAB, "--fleet"] + SELECTION + ["--out=%s" % out]
		other = [IPCLAB, "--fleet"] + [a if not a.startswith("--impl=") else "--impl=pipe"
					       for a in SELECTION] + ["--out=%s" % out]
		r = subprocess.run([MPIRUN, "--oversubscribe", "--bind-to", "none"] + root + ["-n", "1"] + one +
				   [":", "-n", "1"] + other, capture_output=True, text=True, env=env,
				   timeout=JOB_TIMEOUT_S, stdin=subprocess.DEVNULL)
		mine = [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("ipclab:")]
		bad = [l for l in (r.stdout + r.stderr).splitlines()
		       if "ERROR: AddressSanitizer" in l or "runtime error:" in l]
		assert not bad, "sanitizer: %s" % bad[:3]
		assert r.returncode == 2, "exit %d, want 2: %s" % (r.returncode, r.stdout + r.stderr)
		assert len(mine) == 1 and "rank 1" in mine[0] and "other cases" in mine[0], \
			"want one line naming rank 1: %s" % mine
		assert not os.path.exists(out), "--out folder created"
	finally:
		shutil.rmtree(session, ignore_errors=True)
		shutil.rmtree(work, ignore_errors=True)


@T.test("fleet: a rank SIGKILLed mid-run ends the job; no process or IPC object is left; every repetition gathered before is kept")
def test_rank_killed():
	why = why_skipped()
	if why:
		raise tap.Skip(why)
	work = tempfile.mkdtemp(prefix="ipclab-fleet-test-")
	out = os.path.join(work, "fleet")
	# Long enough repetitions that the kill lands inside one.
	job = Job(out, min_time="0.2", reps=5)
	killed = False
	try:
		pids = [job.rank_pid(0), job.rank_pid(1)]
		manifest = os.path.join(out, "fleet.json")
		deadline = time.monotonic() + JOB_TIMEOUT_S
		gathered = 0
		while time.monotonic() < deadline and job.p.poll() is None:
			try:
				with open(manifest) as f:
					gathered = json.load(f)["repetitions_gathered"]
			except (OSError, ValueError, KeyError):
				pass
			if gathered >= 2:
				break
			time.sleep(0.05)
		assert gathered >= 2, "rank 0 never gathered 2 repetitions"
		os.kill(pids[1], signal.SIGKILL)
		killed = True
		rc, log = job.wait()
		for l in log.splitlines():
			if l.startswith(("ipclab:", "mpirun")):
				print("# " + l)
		print("# the job took %.1f s" % job.seconds)
		assert rc != 0, "mpirun exited 0 after a rank was killed"
		job.check_nothing_left(pids)
		with open(manifest) as f:
			man = json.load(f)
		assert man["state"] != "complete", man
		assert man["repetitions_gathered"] >= gathered, man
		h1 = man["hosts"][1]
		assert not h1["whole"] and h1["repetitions"] >= gathered, man
		doc, reps = runs_of(os.path.join(out, h1["folder"], "bench.json"))
		assert sum(reps.values()) == h1["repetitions"] >= gathered, \
			"%s keeps %s, fleet.json says %d" % (h1["folder"], reps, h1["repetitions"])
		doc0, reps0 = runs_of(os.path.join(out, man["hosts"][0]["folder"], "bench.json"))
		assert sum(reps0.values()) >= gathered, "rank 0's own host lost repetitions: %s" % reps0
	finally:
		if not killed and job.p.poll() is None:
			job.p.terminate()
			job.p.communicate()
		job.cleanup()
		shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
	try:
		sys.exit(T.run())
	finally:
		if _matrix_job:
			shutil.rmtree(_matrix_job["work"], ignore_errors=True)
