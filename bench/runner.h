/* runner.h - build/ipclab's run: every selected case's repetitions in an
 * order of our own (sequential, or interleaved and seeded), one
 * repetition per call of the case, each call opening and closing the case's
 * processes and channels; every finished repetition is kept, whatever
 * happens later. */
#ifndef IPCLAB_RUNNER_H
#define IPCLAB_RUNNER_H

#include <stdbool.h>
#include <stdint.h>

#include "gbench.h"
#include "hist.h"
#include "suite.h"
#include "topo.h"

enum run_order { ORDER_INTERLEAVED = 0, ORDER_SEQUENTIAL };

struct runner_cfg {
	enum run_order order;
	uint64_t seed;          /* interleaved: the shuffle's seed */
	unsigned repetitions;   /* of every case */
	bool sentinel;          /* probes around every repetition */
	bool perf;              /* perf bench sched pipe around the pipe case */
	const char *hist_dir;   /* results folder: each kept repetition's
				   histogram into its hist/ (NULL: none) */
	/* Called after every kept repetition, when it was shown (fleet mode:
	 * gather it, then wait for the other hosts), with its latency
	 * histogram when it kept one (else NULL); a negative return stops the
	 * run.  NULL: none. */
	int (*after_rep)(void *arg, struct gb_bench *b, const struct hist *h);
	void *after_rep_arg;
};

struct runner_stats {
	unsigned cases;         /* selected */
	unsigned ran;           /* cases with a kept repetition */
	unsigned skipped, failed, drifted;
	bool interrupted;
	uint64_t sentinel_ns;   /* time spent in the sentinel's probes */
	uint64_t run_ns;        /* the whole run, probes included */
};

/* Register every case of the suite with gbench (manual time, ns).  0 or
 * -ENOMEM. */
int runner_register(struct suite *suite);

/* Run the cases --benchmark_filter selects and report them (gbench's
 * reporters: the display, and the file when one is set).  Stops at the
 * first signal (sig.h) with every finished repetition kept.  0, or -EIO
 * when the file report could not be written. */
int runner_run(const struct runner_cfg *cfg, struct suite *suite, const struct topo *topo,
	       struct runner_stats *stats);

/* The context keys of the sentinel and the perf baseline
 * (ipclab_sentinel, ipclab_drift_factor, ipclab_perf_pipe). */
void runner_context(const struct runner_cfg *cfg);

/* The order's one-line description for the context: "interleaved seed=N"
 * or "sequential". */
void runner_order_text(const struct runner_cfg *cfg, char *buf, size_t len);

#endif
