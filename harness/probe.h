/* probe.h - short probes of how fast the machine moves data between two
 * CPUs right now: one cache line bounced between them, and a blocking
 * wake-up (a one-byte pipe ping-pong).  Each takes a few milliseconds; the
 * sentinel around every case (bench/sentinel.c) and the cache-line floor
 * use them.  Two threads of this process, each pinned to one of the CPUs;
 * SIGINT/SIGTERM stay with the calling thread.  Measurement code: never
 * prints. */
#ifndef IPCLAB_PROBE_H
#define IPCLAB_PROBE_H

#include <stdint.h>

/* Round trips of each probe at most (the first tenth of those taken is
 * warm-up, not counted), and the time each may take: on a busy machine a
 * probe stops past PROBE_BUDGET_NS as soon as it has PROBE_MIN_SAMPLES after
 * the warm-up, so the sentinel costs about the same there as on a quiet
 * one, and still measures. */
#define PROBE_LINE_TRIPS 1000u
#define PROBE_WAKE_TRIPS 40u
#define PROBE_BUDGET_NS 2000000ull
#define PROBE_MIN_SAMPLES 10u

/* The median round trip (ns) of a cache line bounced between cpu_a and
 * cpu_b (a CPU < 0: not pinned) over trips round trips (fewer when the
 * budget ran out).  0, or -errno
 * (-ETIMEDOUT when the other thread left one trip unanswered for a second;
 * -ENODATA with fewer than PROBE_MIN_SAMPLES after the warm-up). */
int probe_cacheline(int cpu_a, int cpu_b, unsigned trips, uint64_t *p50_ns);

/* The median round trip (ns) of one byte through two pipes between a
 * thread on cpu_a and one on cpu_b, both blocking in read().  0 or -errno. */
int probe_wake(int cpu_a, int cpu_b, unsigned trips, uint64_t *p50_ns);

#endif
