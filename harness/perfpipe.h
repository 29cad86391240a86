/* perfpipe.h - the kernel's own pipe ping-pong as a yardstick: `perf bench
 * sched pipe` with its two processes pinned to two CPUs, the way
 * scripts/perf-pipe-baseline.sh runs it.  Measurement code: never prints. */
#ifndef IPCLAB_PERFPIPE_H
#define IPCLAB_PERFPIPE_H

#include <stddef.h>

/* Loops of one baseline: a few tens of ms at this VM's 15-40 us a trip. */
#define PERFPIPE_LOOPS 2000u

/* The exact command run (for the context), with loops and the CPUs. */
void perfpipe_command(unsigned loops, int cpu_a, int cpu_b, char *buf, size_t len);

/* Run it: perf starts pinned to cpu_a, its worker process is moved to
 * cpu_b as soon as it exists.  *ns = perf's usecs/op * 1000: one round trip
 * (write, read back).  0; -ENOENT when perf is not installed or cannot run
 * its bench; -EINTR on a signal; other -errno. */
int perfpipe_run(unsigned loops, int cpu_a, int cpu_b, double *ns);

#endif
