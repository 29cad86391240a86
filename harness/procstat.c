/* procstat.c - see procstat.h. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

/* The start of /proc/PID/NAME into buf (NUL-terminated).  Bytes read, or
 * -errno. */
static ssize_t read_proc(pid_t pid, const char *name, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%ld/%s", (long)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

/* The first frame of /proc/PID/stack ("[<0>] pipe_read+0x2e/0x4a0"): the
 * function name.  False when the stack cannot be read (not root, or no
 * CONFIG_STACKTRACE). */
static bool top_frame(pid_t pid, char *out, size_t len)
{
	char buf[512];
	const char *s;
	size_t k = 0;

	if (read_proc(pid, "stack", buf, sizeof(buf)) <= 0)
		return false;
	s = strchr(buf, ']');
	if (!s)
		return false;
	for (s++; *s == ' '; s++)
		;
	while (s[k] && s[k] != '+' && s[k] != '\n' && k + 1 < len)
		k++;
	if (!k)
		return false;
	memcpy(out, s, k);
	out[k] = '\0';
	return true;
}

int proc_sched_read(pid_t pid, struct proc_sched *s)
{
	char buf[512];
	const char *p;
	long nr;
	ssize_t n;

	memset(s, 0, sizeof(*s));
	s->state = '?';
	n = read_proc(pid, "stat", buf, sizeof(buf));
	if (n < 0)
		return (int)n;
	/* After the command name's ')': the state. */
	p = strrchr(buf, ')');
	if (!p || !p[1] || !p[2])
		return -EINVAL;
	s->state = p[2];
	if (read_proc(pid, "schedstat", buf, sizeof(buf)) > 0 &&
	    sscanf(buf, "%" SCNu64 " %" SCNu64, &s->cpu_ns, &s->wait_ns) == 2)
		s->have_times = true;
	if (s->state == 'R' || !top_frame(pid, s->where, sizeof(s->where))) {
		/* "running", or the system call number and its arguments. */
		if (read_proc(pid, "syscall", buf, sizeof(buf)) > 0 && sscanf(buf, "%ld", &nr) == 1)
			snprintf(s->where, sizeof(s->where), "syscall %ld", nr);
		else if (!strncmp(buf, "running", 7))
			snprintf(s->where, sizeof(s->where), "user space");
	}
	return 0;
}

bool proc_sched_starved(const struct proc_sched *before, const struct proc_sched *after,
			uint64_t span_ns)
{
	uint64_t ran, waited;

	if (!before->have_times || !after->have_times || !span_ns ||
	    after->cpu_ns < before->cpu_ns || after->wait_ns < before->wait_ns)
		return false;
	ran = after->cpu_ns - before->cpu_ns;
	waited = after->wait_ns - before->wait_ns;
	if (ran * 10 > span_ns)
		return false; /* it ran: spinning, or slow but moving */
	/* The kernel adds a wait to run_delay only once the task runs, so one
	 * runnable at both readings that never got the CPU shows no wait yet. */
	return waited * 2 >= span_ns || (before->state == 'R' && after->state == 'R');
}
