/* testutil.c - leak and zombie checks shared by the tests. */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* The pid in an IPC name "ipclab-KIND-PID-..." (KIND: lower case letters
 * and dashes), or -1. */
static long name_pid(const char *n)
{
	const char *p = n + 6;

	if (strncmp(n, "ipclab-", 7) != 0)
		return -1;
	/* The first "-DIGITS-" after the prefix. */
	while ((p = strchr(p, '-')) != NULL) {
		char *end;
		long v = strtol(p + 1, &end, 10);

		if (end > p + 1 && *end == '-' && v > 0)
			return v;
		p++;
	}
	return -1;
}

/* The parent of pid, from /proc (-1 when it is gone). */
static long parent_of(long pid)
{
	char path[64], buf[512], *r;
	FILE *f;
	long ppid = -1;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, sizeof(buf), f) && (r = strrchr(buf, ')')) != NULL)
		sscanf(r + 1, " %*c %ld", &ppid);
	fclose(f);
	return ppid;
}

/* Is an object made by pid one this test may have made: by this process,
 * by a descendant, or by a process that is gone (a child that leaked and
 * exited)?  Objects of other live processes belong to other runs on the
 * machine (another test, a benchmark) and are none of this test's
 * business: counting them made leak checks fail under concurrent runs. */
static bool ours(long pid)
{
	long self = (long)getpid();

	for (int depth = 0; pid > 1 && depth < 64; depth++) {
		if (pid == self)
			return true;
		pid = parent_of(pid);
		if (pid < 0)
			return depth == 0; /* gone */
	}
	return false;
}

static void snap_dir(struct leak_snap *s, const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)) != NULL && s->n < 512) {
		long pid = name_pid(e->d_name);

		/* Every name ipclab makes carries its maker's pid
		 * (impl/names.c): one without is another program's. */
		if (strncmp(e->d_name, "ipclab", 6) != 0 || pid <= 0 || !ours(pid))
			continue;
		snprintf(s->names[s->n++], sizeof(s->names[0]), "%s/%s", dir, e->d_name);
	}
	closedir(d);
}

/* SysV objects of one kind: "sysv-KIND:ID" for every line of
 * /proc/sysvipc/KIND, which shows this IPC namespace's objects. */
static void snap_sysv(struct leak_snap *s, const char *kind)
{
	char path[64], line[512];
	FILE *f;
	long key, id;

	snprintf(path, sizeof(path), "/proc/sysvipc/%s", kind);
	f = fopen(path, "re");
	if (!f)
		return;
	if (!fgets(line, sizeof(line), f)) { /* the header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) && s->n < 512)
		if (sscanf(line, "%ld %ld", &key, &id) == 2)
			snprintf(s->names[s->n++], sizeof(s->names[0]), "sysv-%s:%ld", kind, id);
	fclose(f);
}

void leak_snapshot(struct leak_snap *s)
{
	const char *tmp = getenv("TMPDIR");

	s->n = 0;
	snap_dir(s, "/dev/shm");
	snap_dir(s, "/dev/mqueue");
	snap_dir(s, tmp && *tmp ? tmp : "/tmp");
}

void leak_snapshot_sysv(struct leak_snap *s)
{
	snap_sysv(s, "msg");
	snap_sysv(s, "sem");
	snap_sysv(s, "shm");
}

unsigned leak_new(const struct leak_snap *before, const struct leak_snap *now,
		  char *out, size_t len)
{
	unsigned found = 0;
	size_t used = 0;

	if (len)
		out[0] = '\0';
	for (unsigned i = 0; i < now->n; i++) {
		bool old = false;

		for (unsigned j = 0; j < before->n && !old; j++)
			old = strcmp(now->names[i], before->names[j]) == 0;
		if (old)
			continue;
		found++;
		if (used < len) {
			int k = snprintf(out + used, len - used, "%s%s",
					 used ? " " : "", now->names[i]);
			if (k > 0)
				used += (size_t)k;
		}
	}
	return found;
}

unsigned leak_check(const struct leak_snap *before, char *out, size_t len)
{
	struct leak_snap *now = malloc(sizeof(*now));
	unsigned n;

	if (!now)
		abort();
	leak_snapshot(now);
	n = leak_new(before, now, out, len);
	free(now);
	return n;
}

bool mqueue_listable(void)
{
	FILE *f = fopen("/proc/mounts", "r");
	char line[512];
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " /dev/mqueue mqueue ") != NULL;
	fclose(f);
	return found;
}

unsigned zombie_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	unsigned n = 0;
	pid_t me = getpid();

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[300], buf[512], *p;
		FILE *f;
		char state;
		long ppid;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (!p || !(p = strrchr(buf, ')')))
			continue;
		if (sscanf(p + 1, " %c %ld", &state, &ppid) == 2 && state == 'Z' && ppid == me)
			n++;
	}
	closedir(d);
	return n;
}

void tap_skip(const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	reason[strcspn(reason, "\n")] = '\0';
	printf(TAP_SKIP_REASON "%s\n", reason);
	fflush(stdout);
	skip();
}

static int run_group(const char *group, const struct CMUnitTest *tests, size_t n)
{
	cmocka_set_message_output(CM_OUTPUT_TAP);
	return _cmocka_run_group_tests(group, tests, n, NULL, NULL);
}

/*
 * cmocka 1.1.5 prints a skipped test as "not ok N # SKIP NAME", which prove
 * counts as a failure (TAP wants "ok N - NAME # SKIP reason").  Run the
 * group in a child with stdout through a pipe and rewrite those lines,
 * putting the reason from the TAP_SKIP_REASON comment (tap_skip) into the
 * directive.  Every other line passes through; the status is the child's.
 */
int tap_run(const char *group, const struct CMUnitTest *tests, size_t n)
{
	char line[2048], reason[sizeof(line)] = "";
	int fd[2], status;
	FILE *in;
	pid_t pid;

	fflush(NULL);
	if (pipe(fd) != 0)
		return run_group(group, tests, n);
	pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return run_group(group, tests, n);
	}
	if (pid == 0) {
		int rc;

		close(fd[0]);
		if (dup2(fd[1], STDOUT_FILENO) < 0)
			_exit(1);
		close(fd[1]);
		rc = run_group(group, tests, n);
		fflush(stdout);
		exit(rc == 0 ? 0 : 1); /* exit(), not _exit(): let sanitizers report */
	}
	close(fd[1]);
	in = fdopen(fd[0], "r");
	if (!in) {
		close(fd[0]);
		waitpid(pid, &status, 0);
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		unsigned num;
		int off = 0;

		if (strncmp(line, TAP_SKIP_REASON, strlen(TAP_SKIP_REASON)) == 0) {
			snprintf(reason, sizeof(reason), "%s", line + strlen(TAP_SKIP_REASON));
			reason[strcspn(reason, "\n")] = '\0';
			continue;
		}
		if (sscanf(line, "not ok %u # SKIP %n", &num, &off) == 1 && off > 0) {
			char *name = line + off;

			name[strcspn(name, "\n")] = '\0';
			printf("ok %u - %s # SKIP %s\n", num, name, reason[0] ? reason : "no reason given");
			reason[0] = '\0';
		} else {
			fputs(line, stdout);
		}
		fflush(stdout);
	}
	fclose(in);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status)) {
		printf("# %s: tests killed by signal %d\n", group, WTERMSIG(status));
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
