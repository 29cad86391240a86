#!/usr/bin/env python3
# hosts.t - Open MPI across two hosts (issue 17), emulated on this machine
# by scripts/netns-hosts.sh: each host has its own network namespace and
# address (a veth on a bridge), its own host name, its own SysV/POSIX
# queues (IPC namespace), its own /tmp and /dev/shm and its own CPU; the
# file system (build, results) is shared as a cluster's home is.  mpirun
# runs on the first host and starts its daemon on the second through
# scripts/netns-agent.sh (--mca plm_rsh_agent) instead of ssh.  Checked:
#   - netns-hosts.sh itself: refuses bad input and non-root with one line
#     and exit 2, creating nothing; up is idempotent; the hosts have their
#     names and addresses; down removes every namespace, mount and veth;
#   - ranks as the suite's workers, one on each host (--workers=mpi):
#     pingpong over tcp (each rank listens on its host name's address,
#     from /etc/hosts) and over the mpi mechanism (Open MPI's tcp
#     transport: the ranks are on two nodes for it), every byte checked;
#     fifo and mqueue, which reach their creator's host only, fail their
#     cases with that reason, and the run goes on;
#   - fleet mode with one rank per host: DIR/HOST/bench.json for both
#     host names, each written from that host;
#   - after every job: no process left on the hosts, nothing in their
#     /tmp, /dev/shm or message queues, nothing of the ranks in this
#     machine's /dev/shm or /dev/mqueue; at the end no namespace, mount or
#     veth of the run.
# Skipped, saying why, when not root, when `ip netns` cannot make a
# namespace here, or when Open MPI (mpirun, or an ipclab built with it) is
# absent.
#
# What it does not prove: the hosts share one kernel, one clock and two
# CPUs, and a veth is not a NIC (no wire, no NIC queues or offloads), so
# its round trips are a software path, not a network's.
#
# Root: the namespaces need it, and Open MPI refuses to start as root
# unless told; --allow-run-as-root is passed here, only to these test jobs,
# for that reason alone.
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures"))
import tap  # noqa: E402

BUILD = os.environ.get("IPCLAB_BUILD", os.path.join(tap.REPO, "build"))
IPCLAB = os.path.join(BUILD, "ipclab")
HOSTS = os.path.join(tap.SCRIPTS, "netns-hosts.sh")
AGENT = os.path.join(tap.SCRIPTS, "netns-agent.sh")
MPIRUN = shutil.which("mpirun")
STATE = "/run/ipclab-hosts"
# A job here takes 2-4 s quiet; a hang must not hold make test.
JOB_TIMEOUT_S = 120
TERM_GRACE_S = 10
# After mpirun returns, its daemon on the other host may take a moment.
REAP_GRACE_S = 10
# This run's id (netns-hosts.sh: letters and digits): our pid, so runs of
# the suite beside each other never share a host.
RUN = "t%d" % os.getpid()
T = tap.Tap()


def sh(*cmd, timeout=60, **kw):
	return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
			      stdin=subprocess.DEVNULL, **kw)


def why_no_hosts():
	if "why" not in NO_HOSTS:
		NO_HOSTS["why"] = probe_hosts()
	return NO_HOSTS["why"]


NO_HOSTS = {}


def probe_hosts():
	if os.geteuid() != 0:
		return "needs root (network namespaces and mounts); uid %d" % os.geteuid()
	if not shutil.which("ip"):
		return "no ip (iproute2 is optional: make deps installs it)"
	for tool in ("unshare", "nsenter", "taskset"):
		if not shutil.which(tool):
			return "no %s (util-linux)" % tool
	# A namespace with a bridge and a veth in it, as netns-hosts.sh makes
	# (named with this run's id, removed at once).
	probe = "ipclab-hosts-%sprobe-sw" % RUN
	r = sh("ip", "netns", "add", probe)
	if r.returncode != 0:
		return "ip netns cannot make a namespace here: %s" % r.stderr.strip()
	try:
		for what in (["bridge"], ["veth", "peer", "name", "p1"]):
			r = sh("ip", "-n", probe, "link", "add", "x0", "type", *what)
			if r.returncode != 0:
				return "ip cannot make a %s in a namespace here: %s" % (what[0], r.stderr.strip())
			sh("ip", "-n", probe, "link", "del", "x0")
	finally:
		sh("ip", "netns", "del", probe)
	return None


def why_skipped():
	why = why_no_hosts()
	if why:
		return why
	if not MPIRUN:
		return "no mpirun (Open MPI is optional: make deps installs openmpi-bin and libopenmpi-dev)"
	if not os.path.exists(IPCLAB):
		return "%s is not built" % IPCLAB
	env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_"))}
	r = sh(IPCLAB, "--fleet", "--out=/nonexistent/ipclab-hosts-probe", env=env)
	if "built with Open MPI" in r.stderr:
		return "ipclab was built without MPI (CMake did not find Open MPI; make deps installs libopenmpi-dev)"
	return None


def host(run, k):
	return "ipclab-%s-h%d" % (run, k)


def ours(run):
	"""What run has on this machine: its namespaces, mounts, state folder
	and veths in this namespace (there should be none ever)."""
	left = [n.split()[0] for n in sh("ip", "netns", "list").stdout.splitlines()
		if n.startswith("ipclab-hosts-%s-" % run)]
	mine = os.path.join(STATE, run)
	with open("/proc/self/mountinfo") as f:
		left += [m for m in (l.split()[4] for l in f) if m == mine or m.startswith(mine + "/")]
	if os.path.exists(mine):
		left.append(mine)
	left += [l for l in sh("ip", "-o", "link", "show", "type", "veth").stdout.splitlines()
		 if "ipclab" in l]
	return left


class Hosts:
	"""Two emulated hosts of run id RUN, removed by down()."""

	def __init__(self, n=2, run=RUN):
		self.run = run
		self.n = n
		self.dir = os.path.join(STATE, run)
		try:
			r = sh(HOSTS, "up", str(n), run)
		except BaseException:
			# Stopped in the middle (a signal, the watchdog): up was
			# killed with what it had made so far.
			sh(HOSTS, "down", run)
			raise
		if r.returncode != 0:
			self.down()
			raise AssertionError("netns-hosts.sh up %d %s: exit %d: %s" % (n, run, r.returncode, r.stderr))
		self.hostfile = os.path.join(self.dir, "hostfile")
		# A folder every host sees (up makes it; each host's /tmp is
		# its own).
		self.shared = os.path.join(self.dir, "shared")
		assert os.path.isdir(self.shared), "up made no %s" % self.shared

	def down(self):
		r = sh(HOSTS, "down", self.run)
		assert r.returncode == 0, "netns-hosts.sh down %s: %s" % (self.run, r.stderr)
		left = ours(self.run)
		assert not left, "left after down: %s" % left

	def pids(self):
		return [p for p in sh(HOSTS, "pids", self.run).stdout.split() if p.isdigit()]

	def files(self, k):
		"""What host k holds in its /tmp, /dev/shm and message queues
		(files only: empty folders of Open MPI's session are fine)."""
		found = []
		for sub in ("tmp", "shm", "mq"):
			for d, _, fs in os.walk(os.path.join(self.dir, "h%d" % k, sub)):
				found += [os.path.join(d, f) for f in fs]
		return found

	def mpirun(self, *args, ppn="node"):
		"""mpirun on host 1, one rank per host (rank k-1 on host k); each
		rank writes its pid and host name into the shared folder first.
		(rc, output, {rank: (pid, host)})."""
		root = ["--allow-run-as-root"]  # see the top of this file
		cmd = [HOSTS, "exec", host(self.run, 1), MPIRUN] + root + [
			"--hostfile", self.hostfile, "-n", str(self.n), "--map-by", ppn, "--bind-to", "none",
			"--mca", "plm_rsh_agent", AGENT, "--mca", "plm_rsh_no_tree_spawn", "1",
			"--mca", "btl", "self,vader,tcp",
			"/bin/sh", "-c", 'echo "$$ $(hostname)" > "%s/rank$OMPI_COMM_WORLD_RANK"; exec "$@"' % self.shared,
			"sh"] + list(args)
		# (IPCLAB_TCP_HOST out too: each rank's tcp listens on its own
		# host name's address, which one value for both cannot be.)
		env = {k: v for k, v in os.environ.items()
		       if not k.startswith(("OMPI_", "PMIX_", "TMPDIR", "IPCLAB_TCP_HOST"))}
		# Open MPI 4.1.4 leaks inside the components it dlopens (see mpi.t).
		env["ASAN_OPTIONS"] = ":".join(filter(None, [os.environ.get("ASAN_OPTIONS", ""), "detect_leaks=0"]))
		before = (set(os.listdir("/dev/shm")), listing("/dev/mqueue"))
		p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
				     stdin=subprocess.DEVNULL)
		try:
			out, _ = p.communicate(timeout=JOB_TIMEOUT_S)
		except subprocess.TimeoutExpired:
			p.terminate()
			try:
				p.communicate(timeout=TERM_GRACE_S)
			except subprocess.TimeoutExpired:
				p.kill()
				p.communicate()
			raise AssertionError("mpirun did not end within %d s" % JOB_TIMEOUT_S)
		ranks = {}
		for r in range(self.n):
			try:
				with open(os.path.join(self.shared, "rank%d" % r)) as f:
					pid, name = f.read().split()
				ranks[r] = (int(pid), name)
				os.unlink(os.path.join(self.shared, "rank%d" % r))
			except (OSError, ValueError):
				pass
		bad = [l for l in out.splitlines() if "ERROR: AddressSanitizer" in l or "runtime error:" in l]
		assert not bad, "sanitizer: %s" % bad[:3]
		self.check_nothing_left(before, ranks)
		return p.returncode, out, ranks

	def check_nothing_left(self, before, ranks):
		deadline = time.monotonic() + REAP_GRACE_S
		while self.pids() and time.monotonic() < deadline:
			time.sleep(0.1)
		assert not self.pids(), "processes left on the hosts: %s" % self.pids()
		for k in range(1, self.n + 1):
			assert not self.files(k), "left on %s: %s" % (host(self.run, k), self.files(k)[:5])
		# This machine's own: nothing named after a rank (ipclab's names
		# carry their creator's pid; the ranks' own IPC lives on their
		# hosts, so nothing should appear here at all).
		pids = ["-%d-" % pid for pid, _ in ranks.values()]
		new = [n for n in set(os.listdir("/dev/shm")) - before[0] if any(p in n for p in pids)]
		newq = [n for n in listing("/dev/mqueue") - before[1] if any(p in n for p in pids)]
		assert not new and not newq, "left on this machine: %s %s" % (new, newq)


def listing(d):
	try:
		return set(os.listdir(d))
	except OSError:
		return set()


def show(text):
	"""ipclab's own lines of the job and each case's error, as TAP comments."""
	for l in text.splitlines():
		l = re.sub(r"\x1b\[[0-9;]*m", "", l).strip()
		if l.startswith(("ipclab:", "mpirun", "netns-")) or "ERROR OCCURRED" in l:
			print("# " + l)


@T.test("hosts: netns-hosts.sh refuses bad input and non-root with one line, exit 2, nothing made")
def test_script_refuses():
	why = why_no_hosts()
	if why:
		raise tap.Skip(why)
	run = RUN + "x"
	# (Every up names this test's run id, so that whatever a wrong
	# acceptance made is found and removed.)
	cases = [["up", "0", run], ["up", "x", run], ["up", "201", run], ["up", "2", "a-b"], ["up", "2", "a" * 13],
		 ["down"], ["bogus"], ["exec", "ipclab-%s-h1" % run, "true"], ["exec", "localhost", "true"]]
	try:
		for args in cases:
			r = sh(HOSTS, *args)
			lines = r.stderr.strip().splitlines()
			assert r.returncode == 2 and len(lines) == 1 and lines[0].startswith("netns-hosts: "), \
				"%s: exit %d, %r" % (args, r.returncode, r.stderr)
			assert not ours(run), "%s made: %s" % (args, ours(run))
		if shutil.which("setpriv"):
			r = sh("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", HOSTS, "up", "2", run)
			assert r.returncode == 2 and "root" in r.stderr and len(r.stderr.strip().splitlines()) == 1, \
				"as uid 65534: exit %d, %r" % (r.returncode, r.stderr)
			assert not ours(run), "made: %s" % ours(run)
	finally:
		sh(HOSTS, "down", run)


@T.test("hosts: up 2 makes two hosts with their own names, addresses, /tmp, /dev/shm and CPUs that reach each other; up again is the same; down leaves no namespace, mount or veth, twice")
def test_up_down():
	why = why_no_hosts()
	if why:
		raise tap.Skip(why)
	run = RUN + "u"
	h = Hosts(run=run)
	try:
		again = sh(HOSTS, "up", "2", run)
		with open(h.hostfile) as f:
			assert again.returncode == 0 and again.stdout == f.read(), again.stderr
		names = [l.split()[0] for l in again.stdout.splitlines() if not l.startswith("#")]
		assert names == [host(run, 1), host(run, 2)], names
		# Each host: its name, its address (from its /etc/hosts) and the
		# other's, its CPUs.
		probe = ("import os, socket\n"
			 "me = socket.gethostname(); other = os.environ['OTHER']\n"
			 "print(me, socket.gethostbyname(me), socket.gethostbyname(other), sorted(os.sched_getaffinity(0)))\n")
		seen = []
		for k, other in ((1, 2), (2, 1)):
			r = sh(HOSTS, "exec", host(run, k), "env", "OTHER=" + host(run, other), sys.executable, "-c", probe)
			assert r.returncode == 0, r.stderr
			seen.append(r.stdout.split(None, 3))
			print("# " + r.stdout.strip())
		assert [s[0] for s in seen] == names, seen
		assert seen[0][1] == seen[1][2] != seen[1][1] == seen[0][2], "addresses: %s" % seen
		assert seen[0][1].startswith("10.251.0."), seen
		cpus = os.sched_getaffinity(0)
		if len(cpus) >= 2:
			assert seen[0][3] != seen[1][3], "the hosts share their CPUs: %s" % seen
		# One host's listener reached from the other over the veths.
		srv = subprocess.Popen([HOSTS, "exec", host(run, 2), sys.executable, "-c",
					"import socket\nl = socket.create_server(('', 5555))\nprint('up', flush=True)\n"
					"c, _ = l.accept()\nc.sendall(socket.gethostname().encode())\n"],
				       stdout=subprocess.PIPE, text=True)
		try:
			assert srv.stdout.readline().strip() == "up"
			r = sh(HOSTS, "exec", host(run, 1), sys.executable, "-c",
			       "import socket\nprint(socket.create_connection(('%s', 5555), timeout=10).recv(64).decode())"
			       % host(run, 2))
			assert r.returncode == 0 and r.stdout.strip() == host(run, 2), (r.stdout, r.stderr)
		finally:
			srv.wait(timeout=30)
		# What host 1 puts in /tmp and /dev/shm is host 1's alone.
		r = sh(HOSTS, "exec", host(run, 1), "sh", "-c", "touch /tmp/mine /dev/shm/mine")
		assert r.returncode == 0, r.stderr
		assert h.files(1) and not h.files(2), (h.files(1), h.files(2))
		assert not os.path.exists("/tmp/mine") and not os.path.exists("/dev/shm/mine"), "host 1 wrote into this machine's /tmp or /dev/shm"
	finally:
		h.down()
	r = sh(HOSTS, "down", run)
	assert r.returncode == 0 and not ours(run), (r.stderr, ours(run))


WORKERS = ["--workers=mpi", "--scenario=pingpong", "--size=64,64k", "--placement=none", "--verify=full",
	   "--no-sentinel", "--no-perf", "--order=sequential", "--benchmark_repetitions=1",
	   "--benchmark_min_time=0.01"]


@T.test("hosts: ranks on two hosts as workers: pingpong over tcp (host name's address) and mpi (spin, hybrid), 64 B and 64 KiB, every byte checked; fifo and mqueue fail with 'creator's host only', pipe skipped; nothing left")
def test_workers():
	why = why_skipped()
	if why:
		raise tap.Skip(why)
	h = Hosts()
	try:
		out = os.path.join(h.shared, "out")
		rc, text, ranks = h.mpirun(IPCLAB, *WORKERS, "--impl=tcp,mpi,fifo,mqueue,pipe", "--wait=spin,hybrid",
					   "--out=" + out)
		show(text)
		assert rc == 0, "mpirun exited %d" % rc
		assert [ranks.get(r, (0, ""))[1] for r in (0, 1)] == [host(h.run, 1), host(h.run, 2)], \
			"ranks ran on %s" % ranks
		with open(os.path.join(out, "bench.json")) as f:
			doc = json.load(f)
		rows = {b["name"].replace("/manual_time", ""): b for b in doc["benchmarks"]
			if b.get("run_type") == "iteration"}
		name = "pingpong/%s/%s/none/size:%s/pool:1/workers:mpi"
		for m, w in (("tcp", "spin"), ("mpi", "spin"), ("mpi", "hybrid")):
			for s in ("64", "65536"):
				b = rows.get(name % (m, w, s))
				assert b, "case %s missing (have %s)" % (name % (m, w, s), sorted(rows))
				assert "error_message" not in b, "%s: %s" % (b["name"], b["error_message"])
				for c in ("p50_ns", "msgs_per_s", "samples"):
					assert b.get(c, 0) > 0, "%s: %s is %s" % (b["name"], c, b.get(c))
		for m, s in (("fifo", "64"), ("fifo", "65536"), ("mqueue", "64")):
			err = rows.get(name % (m, "spin", s), {}).get("error_message", "")
			assert err.startswith("failed: ") and "creator's host only" in err, "%s %s: %r" % (m, s, err)
		err = rows.get(name % ("pipe", "spin", "64"), {}).get("error_message", "")
		assert err.startswith("skipped: ") and "export" in err, "pipe: %r" % err
	finally:
		h.down()


FLEET = ["--fleet", "--impl=pipe,shmring", "--scenario=pingpong", "--size=64", "--wait=block", "--no-perf",
	 "--benchmark_min_time=0.01", "--benchmark_repetitions=2"]


@T.test("hosts: fleet with one rank on each of two hosts: DIR/HOST/bench.json for both host names, each written from its host; nothing left")
def test_fleet():
	why = why_skipped()
	if why:
		raise tap.Skip(why)
	h = Hosts()
	try:
		out = os.path.join(h.shared, "fleet")
		rc, text, ranks = h.mpirun(IPCLAB, *FLEET, "--out=" + out, ppn="ppr:1:node")
		show(text)
		assert rc == 0, "mpirun exited %d" % rc
		names = [host(h.run, 1), host(h.run, 2)]
		assert [ranks.get(r, (0, ""))[1] for r in (0, 1)] == names, "ranks ran on %s" % ranks
		assert sorted(os.listdir(out)) == sorted(names + ["fleet.json"]), sorted(os.listdir(out))
		with open(os.path.join(out, "fleet.json")) as f:
			man = json.load(f)
		assert man["state"] == "complete", man
		assert [x["folder"] for x in man["hosts"]] == names, man
		for rank, name in enumerate(names):
			with open(os.path.join(out, name, "bench.json")) as f:
				doc = json.load(f)
			ctx = doc["context"]
			assert ctx.get("host_name") == name, "%s/bench.json: host_name %s" % (name, ctx.get("host_name"))
			assert ctx["ipclab_fleet"].startswith("rank %d of 2" % rank), ctx["ipclab_fleet"]
			runs = [b for b in doc["benchmarks"] if b.get("run_type") == "iteration"]
			assert len(runs) == 4 and not [b for b in runs if "error_message" in b], \
				"%s: %s" % (name, [(b["name"], b.get("error_message")) for b in runs])
	finally:
		h.down()


def sweep_stale():
	"""Remove runs an earlier hosts.t left when it was killed (SIGKILL
	skips every finally): ids t<PID>[ux] whose PID no longer runs
	hosts.t.  Nothing else is touched."""
	try:
		runs = os.listdir(STATE)
	except OSError:
		return
	for run in runs:
		m = re.fullmatch(r"t([0-9]+)[ux]?", run)
		if not m or int(m.group(1)) == os.getpid():
			continue
		try:
			with open("/proc/%s/cmdline" % m.group(1), "rb") as f:
				if b"hosts.t" in f.read():
					continue
		except OSError:
			pass
		print("# removing run %s left by a hosts.t that is gone" % run)
		sh(HOSTS, "down", run)


if __name__ == "__main__":
	# SIGTERM (a suite interrupted) ends the test in the middle like
	# Ctrl-C does, so that its finally removes the hosts.
	signal.signal(signal.SIGTERM, lambda sig, frame: sys.exit(128 + sig))
	if os.geteuid() == 0 and os.path.exists(HOSTS):
		sweep_stale()
	sys.exit(T.run())
