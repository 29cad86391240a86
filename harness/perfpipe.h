/* perfpipe.h - the kernel's own pipe ping-pong as a yardstick: `perf bench
 * sched pipe` with its two processes pinned to two CPUs, the way
 * scripts/perf-pipe-baseline.sh runs it.  Measurement code: never prints. */
#ifndef IPCLAB_PERFPIPE_H
#define IPCLAB_PERFPIPE_H

#include <stddef.h>

/* Loops of one baseline: a few tens of ms at this VM's 15-40 us a trip. */
#define PERFPIPE_LOOPS 2000u
/* The shorter run of perfpipe_trip(): perf's usecs/op is its whole time,
 * fork, exit and wait of its worker included (perf 6.1: ~3 ms quiet, ~25 ms
 * under a CPU hog, against 58 ms for 2000 trips), over the loops; the
 * difference of two lengths leaves the trips alone. */
#define PERFPIPE_LOOPS_SHORT 400u

/* Run it: perf starts pinned to cpu_a, its worker process is moved to
 * cpu_b as soon as it exists.  *ns = perf's usecs/op * 1000: one round trip
 * (write, read back).  0; -ENOENT when perf is not installed or cannot run
 * its bench; -EINTR on a signal; other -errno. */
int perfpipe_run(unsigned loops, int cpu_a, int cpu_b, double *ns);

/* One round trip of perf's ping-pong without perf's fixed costs:
 * perfpipe_run() with PERFPIPE_LOOPS_SHORT and PERFPIPE_LOOPS loops, and
 * *ns = (total(LOOPS) - total(SHORT)) / (LOOPS - SHORT).  0; -ERANGE when
 * the longer run took no longer than the shorter (the machine moved
 * between them); else perfpipe_run()'s error. */
int perfpipe_trip(int cpu_a, int cpu_b, double *ns);

#endif
