/* sig.c - SIGINT/SIGTERM handling for the parent: the first signal is only
 * recorded (the harness stops at its next safe point, keeps what finished
 * and removes what it made); a second one ends the process at once, from
 * the handler, still removing every IPC object and the temporary results
 * file, and killing and reaping every child. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "names.h"
#include "sig.h"

static volatile sig_atomic_t caught;
static volatile sig_atomic_t owner;   /* the pid whose handler acts */
static volatile sig_atomic_t finished; /* sig_finished(): exit at once */
/* Each published by its first byte (the handler reads them). */
static char tmpfile_path[SIG_TMP_SLOTS][4200];

/* Decimal digits of v into buf (async-signal-safe); returns the length. */
static size_t utoa(unsigned long v, char *buf)
{
	char tmp[24];
	size_t n = 0, k = 0;

	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) && n < sizeof(tmp));
	while (n)
		buf[k++] = tmp[--n];
	buf[k] = '\0';
	return k;
}

/* SIGKILL every child of this process and reap it.  The kernel lists the
 * children of each thread in /proc/self/task/TID/children; only the main
 * thread forks here. */
static bool kill_children_once(void)
{
	char path[64] = "/proc/self/task/", buf[4096];
	size_t o = strlen(path);
	ssize_t n;
	int fd;

	o += utoa((unsigned long)getpid(), path + o);
	memcpy(path + o, "/children", sizeof("/children"));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	for (char *p = buf; *p;) {
		long pid = 0;

		while (*p == ' ' || *p == '\n')
			p++;
		while (*p >= '0' && *p <= '9')
			pid = pid * 10 + (*p++ - '0');
		if (pid > 0) {
			/* Its group too, when it leads one (perf and its
			 * worker, harness/perfpipe.c); ESRCH otherwise. */
			kill((pid_t)-pid, SIGKILL);
			kill((pid_t)pid, SIGKILL);
			while (waitpid((pid_t)pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
		if (*p && *p != ' ' && *p != '\n')
			break;
	}
	return true;
}

/* Until none is left: a killed child's own child may be re-parented here
 * (perf's worker, harness/perfpipe.c) after the first pass. */
static void kill_children(void)
{
	for (int pass = 0; pass < 4 && kill_children_once(); pass++)
		;
}

static void on_signal(int sig)
{
	int saved = errno;

	if (owner && getpid() != (pid_t)owner) {
		/* A child between fork and sig_child_reset: not ours to act. */
		errno = saved;
		return;
	}
	if (!caught) {
		caught = sig;
		if (finished)
			_exit(128 + sig);
		errno = saved;
		return;
	}
	/* The second signal: end now, leaving nothing behind. */
	kill_children();
	ipc_names_sweep();
	for (unsigned i = 0; i < SIG_TMP_SLOTS; i++)
		if (tmpfile_path[i][0])
			unlink(tmpfile_path[i]);
	_exit(128 + caught);
}

void sig_finished(void)
{
	finished = 1;
}

int sig_install(void)
{
	struct sigaction sa;

	owner = (sig_atomic_t)getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sa.sa_flags = 0; /* no SA_RESTART: a blocking wait returns EINTR */
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int sig_pending(void)
{
	return caught;
}

int sig_exit_status(void)
{
	return caught ? 128 + caught : 0;
}

void sig_set_tmpfile_at(enum sig_tmp_slot slot, const char *path)
{
	size_t n = path ? strlen(path) : 0;
	char *t;

	if ((unsigned)slot >= SIG_TMP_SLOTS)
		return;
	t = tmpfile_path[slot];
	t[0] = '\0';
	atomic_signal_fence(memory_order_seq_cst);
	if (n == 0 || n >= sizeof(tmpfile_path[slot]))
		return;
	memcpy(t + 1, path + 1, n);
	atomic_signal_fence(memory_order_seq_cst);
	t[0] = path[0];
}

void sig_set_tmpfile(const char *path)
{
	sig_set_tmpfile_at(SIG_TMP_RESULTS, path);
}

void sig_child_reset(void)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	caught = 0;
	owner = 0;
}
