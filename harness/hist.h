/* hist.h - a log-linear (HDR-style) latency histogram in nanoseconds.
 *
 * Fixed size, no pointers: a struct hist can live in shared memory and be
 * copied or merged between processes.  Values 1 ns .. HIST_MAX_NS are kept
 * with HIST_SIGDIGITS significant decimal digits: values below 2048 exactly,
 * above that a counter spans less than 1/1024 of its lowest value, so a
 * reported percentile (its counter's highest value) is at most 1/1024
 * (< 0.1%) above the true one; 0 counts as 0.  A value above HIST_MAX_NS is
 * counted in `overflow` (and in count, sum and max), never dropped silently.
 */
#ifndef IPCLAB_HIST_H
#define IPCLAB_HIST_H

#include <stdint.h>
#include <stdio.h>

#define HIST_SIGDIGITS 3
#define HIST_SUB_BITS 11                       /* 2048 sub-buckets >= 2*10^3 */
#define HIST_MAX_NS (128ull * 1000000000ull)  /* 128 s: "at least 100 s" */
/* Buckets so that (2^HIST_SUB_BITS << (HIST_BUCKETS-1)) > HIST_MAX_NS. */
#define HIST_BUCKETS 27
#define HIST_COUNTS ((HIST_BUCKETS + 1) << (HIST_SUB_BITS - 1))

struct hist {
	uint64_t count;    /* every value recorded, overflow included */
	uint64_t overflow; /* values > HIST_MAX_NS */
	uint64_t min, max; /* exact; min is UINT64_MAX when empty */
	double sum;        /* for the mean */
	uint64_t counts[HIST_COUNTS];
};

void hist_init(struct hist *h);
void hist_record(struct hist *h, uint64_t ns);  /* constant time */
void hist_record_n(struct hist *h, uint64_t ns, uint64_t n);
void hist_merge(struct hist *dst, const struct hist *src);

/* Value at percentile p (0 < p <= 100): the smallest recorded value v such
 * that at least p% of values are <= v, reported as the highest value
 * equivalent to v's bucket (clamped to max).  0 when empty.  Overflowed
 * values report as max. */
uint64_t hist_percentile(const struct hist *h, double p);
double hist_mean(const struct hist *h);

/* Bucket arithmetic, exposed for tests: the index of v, and the lowest and
 * highest values sharing that index.  A value above HIST_MAX_NS has index
 * HIST_COUNTS (the overflow, which spans HIST_MAX_NS+1 .. UINT64_MAX). */
unsigned hist_index(uint64_t v);
uint64_t hist_lowest_equiv(uint64_t v);
uint64_t hist_highest_equiv(uint64_t v);

/* Write h in HdrHistogram's percentile-distribution text format (.hgrm,
 * what HdrHistogram's outputPercentileDistribution and hdr_percentiles_print
 * write, and what its plotter reads): a header line, one row per
 * percentile level (Value, Percentile as a fraction, TotalCount,
 * 1/(1-Percentile)), a last row at 1.0, and the #[Mean ...] footer.
 * Values are in microseconds with 3 decimals (ns / 1000, exact).  Levels
 * are HdrHistogram's (5 ticks per half distance to 100%), and also every
 * level the counters report (HIST_HGRM_LEVELS), so each counter has a row
 * with its own value.  A row's Value is hist_percentile() of its level.
 * 0, or -errno when writing failed (ferror). */
#define HIST_HGRM_LEVELS { 50.0, 90.0, 99.0, 99.9, 99.99 }
int hist_print_hgrm(const struct hist *h, FILE *f);

#endif
