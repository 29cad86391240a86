/* sentinel.h - the probes around every repetition of a case (issue 10):
 * a cache-line round trip and a blocking wake-up between the case's first
 * communicating pair of CPUs, right before and right after, stored as the
 * counters sentinel_{line,wake}_{before,after}_ns and drift (1 when a
 * probe moved by more than SENTINEL_DRIFT_FACTOR between the two). */
#ifndef IPCLAB_SENTINEL_H
#define IPCLAB_SENTINEL_H

#include <stdbool.h>
#include <stdint.h>

#include "suite.h"
#include "topo.h"

/* See README, "Sentinel": the probes' own spread back to back on a quiet
 * machine of this project's kind stays well inside it. */
#define SENTINEL_DRIFT_FACTOR 1.5
#define SENTINEL_DRIFT_FACTOR_TEXT "1.5"

struct sentinel {
	uint64_t line_ns, wake_ns; /* p50 round trips; 0: probe failed */
};

/* The pair of CPUs a case's sentinel runs on: the CPUs of its first two
 * processes as placed, or (one process, placement none, one CPU for both)
 * the first two CPUs this process may use. */
void sentinel_cpus(const struct suite_case *c, const struct topo *topo, int *a, int *b);
void sentinel_probe(int a, int b, struct sentinel *s);
/* Did either probe move by more than the factor from before to after? */
bool sentinel_drift(const struct sentinel *before, const struct sentinel *after);
/* One line for the context key ipclab_sentinel. */
const char *sentinel_description(void);

#endif
