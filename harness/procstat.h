/* procstat.h - what the kernel says a process is doing: its state, the
 * kernel function it sleeps in, and its CPU time and time spent waiting for
 * a CPU (/proc/PID/stat, stack, syscall, schedstat).  For the watchdogs: a
 * round that made no progress is a hang when its workers sleep or spin, and
 * the machine's doing when they were runnable but got no CPU. */
#ifndef IPCLAB_PROCSTAT_H
#define IPCLAB_PROCSTAT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

struct proc_sched {
	char state;        /* R, S, D, T, t, Z, ...; '?' when unreadable */
	bool have_times;   /* cpu_ns and wait_ns were read */
	uint64_t cpu_ns;   /* on a CPU, in all (schedstat) */
	uint64_t wait_ns;  /* runnable, waiting for a CPU, in all (schedstat) */
	char where[48];    /* top kernel frame ("pipe_read"), else "syscall N" */
};

/* Fill s for pid (its main thread).  0, or -errno when the process is gone
 * (then s->state is '?'). */
int proc_sched_read(pid_t pid, struct proc_sched *s);

/* Over an interval of span_ns between two readings of one process: it was
 * starved when it ran for at most a tenth of the interval and was runnable
 * but waiting for a CPU for at least half of it (or runnable at both
 * readings: the kernel counts a wait only once it ends).  False when the
 * times could not be read. */
bool proc_sched_starved(const struct proc_sched *before, const struct proc_sched *after,
			uint64_t span_ns);

#endif
