/* result.h - a finished measurement as a plain record: the counters every
 * case carries (DESIGN.md, "What users see"), computed once here from a
 * histogram and the counts of what arrived.  Measurement code never prints;
 * bench/ turns a record into Google Benchmark counters and a label. */
#ifndef IPCLAB_RESULT_H
#define IPCLAB_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"

struct case_run;
struct case_round;

/* A workload's own counter (contend's fairness, ...), by name. */
#define RESULT_EXTRA_MAX 16
struct result_extra {
	const char *name;
	double value;
};

struct result {
	double msgs_per_s;     /* messages that arrived and were checked, per s */
	double bytes_per_s;    /* their payload bytes, per s */
	uint64_t p50_ns, p90_ns, p99_ns, p999_ns, p9999_ns;
	uint64_t min_ns, max_ns;
	double mean_ns;
	uint64_t samples;      /* latency samples in the histogram */
	bool oversubscribed;   /* more processes than allowed CPUs */
	unsigned procs;        /* processes of the case (0: in-process) */
	bool per_worker_channels;
	unsigned hops;         /* hops one sample spans; 0: not a multi-hop sample */
	const char *label;     /* "cpus=0,1 class=shared-L3"; "" if none */
	struct result_extra extra[RESULT_EXTRA_MAX]; /* after the others */
	unsigned nextra;
};

/* From a histogram and counts over seconds (seconds <= 0: rates are 0). */
void result_from_hist(struct result *res, const struct hist *lat,
		      uint64_t msgs, uint64_t bytes, double seconds);

/* From one timed round of an open case (scenario.h). */
void result_from_round(struct result *res, const struct case_round *round,
		       const struct case_run *run);

/* Every counter a case can carry: name, unit and meaning (--describe). */
struct result_counter {
	const char *name;
	const char *unit;
	const char *meaning;
};
extern const struct result_counter result_counters[]; /* NULL name ends it */

/* Every counter as (name, value), in a fixed order, for a reporter. */
void result_foreach(const struct result *res,
		    void (*fn)(const char *name, double value, void *arg), void *arg);

/* Is the file at path one whole JSON value (brackets balanced outside
 * strings, nothing after the outermost one)?  1 yes, 0 no (cut short by a
 * full disk or a write error), -errno when it cannot be read.  A results
 * file is checked with it before it is renamed into place. */
int result_json_whole(const char *path);

#endif
