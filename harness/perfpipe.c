/* perfpipe.c - `perf bench sched pipe`, pinned to two CPUs. */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "perfpipe.h"
#include "sig.h"

/* How long perf may take to fork its worker before it runs unpinned. */
#define PERFPIPE_FIND_CHILD_MS 2000
#define PERFPIPE_OUT_MAX 4096

static int pin_pid(pid_t pid, int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(pid, sizeof(set), &set) < 0 ? -errno : 0;
}

/* perf's worker: the first child the kernel lists for pid, or 0. */
static pid_t child_of(pid_t pid)
{
	char path[64], buf[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid, (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (pid_t)atoi(buf);
}

int perfpipe_run(unsigned loops, int cpu_a, int cpu_b, double *ns)
{
	char loops_s[24], out[PERFPIPE_OUT_MAX], *p;
	int fds[2], status, rc = 0;
	size_t len = 0;
	ssize_t k;
	pid_t pid, worker = 0;

	snprintf(loops_s, sizeof(loops_s), "%u", loops);
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* perf's worker is our grandchild: when perf is killed (a signal),
	 * the worker is re-parented to us, not to init (which may never reap
	 * it), so we reap it.  Only while perf runs: no other child exists. */
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(fds[0]);
		close(fds[1]);
		prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
		return rc;
	}
	if (pid == 0) {
		char *argv[] = { "perf", "bench", "sched", "pipe", "-l", loops_s, NULL };
		int devnull = open("/dev/null", O_RDONLY);

		sig_child_reset();
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		/* A group of its own: perf and its worker are ended together
		 * (kill(-pid)); the worker would otherwise block forever on
		 * its pipe once perf is gone. */
		setpgid(0, 0);
		if (pin_pid(0, cpu_a) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0 ||
		    (devnull >= 0 && dup2(devnull, 0) < 0))
			_exit(126);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (unsigned ms = 0; ms < PERFPIPE_FIND_CHILD_MS && !worker; ms++) {
		worker = child_of(pid);
		if (!worker) {
			if (waitpid(pid, &status, WNOHANG) == pid) {
				pid = 0; /* ended (no perf?) before forking */
				break;
			}
			nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
		}
	}
	if (worker)
		pin_pid(worker, cpu_b); /* it may have ended already */
	while ((k = read(fds[0], out + len, sizeof(out) - 1 - len)) != 0) {
		if (k < 0) {
			if (errno == EINTR && !sig_pending())
				continue;
			if (errno != EINTR)
				rc = -errno;
			break;
		}
		len += (size_t)k;
		if (len == sizeof(out) - 1)
			break;
	}
	close(fds[0]);
	out[len] = '\0';
	if (pid > 0) {
		bool killed = sig_pending() || rc < 0;

		if (killed)
			kill(-pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		/* Its worker, re-parented here if perf did not reap it. */
		for (unsigned tries = 0; tries < 100; tries++) {
			pid_t w = waitpid(-1, NULL, killed ? 0 : WNOHANG);

			if (w > 0)
				continue;
			if (w < 0 && errno == EINTR)
				continue;
			break;
		}
	}
	prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0);
	if (sig_pending())
		return -EINTR;
	if (rc < 0)
		return rc;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return WIFEXITED(status) && WEXITSTATUS(status) == 127 ? -ENOENT : -EIO;
	p = strstr(out, "usecs/op");
	if (!p)
		return -ENOENT;
	/* "      44.166000 usecs/op": the number before it. */
	while (p > out && p[-1] == ' ')
		p--;
	while (p > out && ((p[-1] >= '0' && p[-1] <= '9') || p[-1] == '.'))
		p--;
	*ns = strtod(p, NULL) * 1000.0;
	return *ns > 0 ? 0 : -EIO;
}

int perfpipe_trip(int cpu_a, int cpu_b, double *ns)
{
	double short_ns, long_ns, trips_ns;
	int rc;

	rc = perfpipe_run(PERFPIPE_LOOPS_SHORT, cpu_a, cpu_b, &short_ns);
	if (rc == 0)
		rc = perfpipe_run(PERFPIPE_LOOPS, cpu_a, cpu_b, &long_ns);
	if (rc < 0)
		return rc;
	trips_ns = long_ns * PERFPIPE_LOOPS - short_ns * PERFPIPE_LOOPS_SHORT;
	if (trips_ns <= 0)
		return -ERANGE;
	*ns = trips_ns / (PERFPIPE_LOOPS - PERFPIPE_LOOPS_SHORT);
	return 0;
}
