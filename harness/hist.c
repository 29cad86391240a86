/* hist.c - the log-linear (HDR-style) latency histogram of hist.h.
 *
 * Layout (our own arithmetic, same idea as HdrHistogram):
 *   SUB = 2^HIST_SUB_BITS = 2048 sub-buckets, HALF = SUB / 2 = 1024.
 *   Bucket 0 holds 0 .. SUB-1 one value per counter (exact).
 *   Bucket b >= 1 holds [HALF << b, SUB << b) in HALF counters of width 2^b,
 *   so a counter's width is at most 1/HALF = 1/1024 of its lowest value:
 *   3 significant decimal digits (1024 >= 10^3).
 *   The counter of v is (b << (HIST_SUB_BITS - 1)) + (v >> b), where b is
 *   0 for v < SUB and otherwise the number of bits of v above HIST_SUB_BITS.
 *   Both come from one count-leading-zeros and one shift: constant time.
 *
 * Values above HIST_MAX_NS are not kept in a counter: they go to `overflow`
 * (and to count, sum and max), and their "bucket" is the range
 * HIST_MAX_NS+1 .. UINT64_MAX, whose index is HIST_COUNTS (one past the end).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hist.h"

#define SUB_COUNT (1ull << HIST_SUB_BITS)          /* 2048 */
#define SUB_MASK (SUB_COUNT - 1)
#define HALF_SHIFT (HIST_SUB_BITS - 1)             /* log2(1024) */

_Static_assert(((SUB_COUNT << (HIST_BUCKETS - 1)) - 1) >= HIST_MAX_NS,
	       "HIST_BUCKETS too small for HIST_MAX_NS");
_Static_assert(((SUB_COUNT << (HIST_BUCKETS - 2)) - 1) < HIST_MAX_NS,
	       "HIST_BUCKETS larger than HIST_MAX_NS needs");
_Static_assert(HIST_COUNTS == (HIST_BUCKETS + 1) * (SUB_COUNT / 2),
	       "HIST_COUNTS does not match the layout");
_Static_assert((1ull << HALF_SHIFT) >= 1000, "fewer than 3 significant digits");

/* Bucket of v: 0 for v < SUB_COUNT, else how many bits v has beyond
 * HIST_SUB_BITS.  v | SUB_MASK is never 0, so __builtin_clzll is defined. */
static inline unsigned bucket_of(uint64_t v)
{
	return (unsigned)(64 - __builtin_clzll(v | SUB_MASK)) - HIST_SUB_BITS;
}

static inline unsigned index_of(uint64_t v)
{
	unsigned b = bucket_of(v);

	return (b << HALF_SHIFT) + (unsigned)(v >> b);
}

/* Lowest value of counter i (i < HIST_COUNTS).  i = (b << HALF_SHIFT) + s
 * with s = v >> b in HALF .. SUB-1 (or in 0 .. SUB-1 for b = 0), so for
 * i >= HALF: b = (i >> HALF_SHIFT) - 1 and s = HALF + (i mod HALF). */
static uint64_t value_at(unsigned i)
{
	const unsigned half = 1u << HALF_SHIFT;

	if (i < half)
		return i;
	return (uint64_t)((i & (half - 1)) + half) << ((i >> HALF_SHIFT) - 1);
}

void hist_init(struct hist *h)
{
	memset(h, 0, sizeof(*h));
	h->min = UINT64_MAX;
}

void hist_record(struct hist *h, uint64_t ns)
{
	h->count++;
	h->sum += (double)ns;
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
	if (ns > HIST_MAX_NS) {
		h->overflow++;
		return;
	}
	h->counts[index_of(ns)]++;
}

void hist_record_n(struct hist *h, uint64_t ns, uint64_t n)
{
	if (n == 0)
		return;
	h->count += n;
	h->sum += (double)ns * (double)n;
	if (ns < h->min)
		h->min = ns;
	if (ns > h->max)
		h->max = ns;
	if (ns > HIST_MAX_NS) {
		h->overflow += n;
		return;
	}
	h->counts[index_of(ns)] += n;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
	if (src->count == 0)
		return;
	for (unsigned i = 0; i < HIST_COUNTS; i++)
		dst->counts[i] += src->counts[i];
	dst->count += src->count;
	dst->overflow += src->overflow;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
}

/* Rank (1-based) of the value at percentile p among count values: the
 * smallest r with r >= p% of count.  The tiny slack absorbs binary rounding
 * of p (99.9 * 1000 / 100 must be rank 999, not 1000). */
static uint64_t rank_of(double p, uint64_t count)
{
	double t;
	uint64_t r;

	if (!(p > 0.0))     /* also NaN: the smallest value */
		return 1;
	if (p >= 100.0)
		return count;
	t = p * (double)count / 100.0;
	t = ceil(t - t * 1e-12);
	r = (uint64_t)t;
	if (r < 1)
		r = 1;
	if (r > count)
		r = count;
	return r;
}

uint64_t hist_percentile(const struct hist *h, double p)
{
	uint64_t want, seen = 0;

	if (h->count == 0)
		return 0;
	want = rank_of(p, h->count);
	for (unsigned i = 0; i < HIST_COUNTS; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			uint64_t v = hist_highest_equiv(value_at(i));

			return v < h->max ? v : h->max;
		}
	}
	return h->max; /* the rank falls among the overflowed values */
}

double hist_mean(const struct hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}

unsigned hist_index(uint64_t v)
{
	return v > HIST_MAX_NS ? HIST_COUNTS : index_of(v);
}

uint64_t hist_lowest_equiv(uint64_t v)
{
	unsigned b;

	if (v > HIST_MAX_NS)
		return HIST_MAX_NS + 1;
	b = bucket_of(v);
	return (v >> b) << b;
}

uint64_t hist_highest_equiv(uint64_t v)
{
	uint64_t hi;

	if (v > HIST_MAX_NS)
		return UINT64_MAX;
	hi = hist_lowest_equiv(v) + (1ull << bucket_of(v)) - 1;
	/* The last counter ends at HIST_MAX_NS: above it is overflow. */
	return hi < HIST_MAX_NS ? hi : HIST_MAX_NS;
}

/* ---- .hgrm export (output kept apart from recording) ------------------ */

/* HdrHistogram's percentile iteration: 5 reporting ticks per half of the
 * distance left to 100% (its default ticks_per_half_distance). */
#define HGRM_TICKS_PER_HALF 5
#define HGRM_NS_PER_US 1000.0

/* The level after p in HdrHistogram's iteration. */
static double hgrm_next_level(double p)
{
	double half = pow(2.0, floor(log2(100.0 / (100.0 - p))) + 1.0);

	return p + 100.0 / (HGRM_TICKS_PER_HALF * half);
}

/* Counts up to and including the counter that holds value v (v a value
 * hist_percentile returned); count when v is the max of overflowed values. */
static uint64_t cumulative_to(const struct hist *h, uint64_t v)
{
	uint64_t seen = 0;
	unsigned last = v > HIST_MAX_NS ? HIST_COUNTS : index_of(v);

	if (last >= HIST_COUNTS)
		return h->count;
	for (unsigned i = 0; i <= last; i++)
		seen += h->counts[i];
	return seen;
}

static void hgrm_row(FILE *f, const struct hist *h, double level)
{
	uint64_t v = hist_percentile(h, level);

	fprintf(f, "%12.3f %2.12f %10" PRIu64 " %14.2f\n", (double)v / HGRM_NS_PER_US, level / 100.0,
		cumulative_to(h, v), 1.0 / (1.0 - level / 100.0));
}

/* Standard deviation of the recorded values, from their counters' middle
 * values (as HdrHistogram computes it); overflowed values count as max. */
static double hgrm_stddev(const struct hist *h)
{
	double mean = hist_mean(h), acc = 0;

	if (h->count == 0)
		return 0;
	for (unsigned i = 0; i < HIST_COUNTS; i++)
		if (h->counts[i]) {
			uint64_t lo = value_at(i);
			double mid = ((double)lo + (double)hist_highest_equiv(lo)) / 2.0 - mean;

			acc += mid * mid * (double)h->counts[i];
		}
	acc += ((double)h->max - mean) * ((double)h->max - mean) * (double)h->overflow;
	return sqrt(acc / (double)h->count);
}

int hist_print_hgrm(const struct hist *h, FILE *f)
{
	static const double counter_levels[] = HIST_HGRM_LEVELS;
	const unsigned nlevels = sizeof(counter_levels) / sizeof(counter_levels[0]);
	double tick = 0.0;
	unsigned k = 0;
	bool reached_end = false;

	fprintf(f, "%12s %14s %10s %14s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
	if (h->count) {
		/* Merge the ticks and the counters' levels in order; the ticks
		 * stop once a row reached the largest value (as HdrHistogram's
		 * iteration does), the counters' levels never. */
		while (k < nlevels || !reached_end) {
			double level;

			if (!reached_end && (k >= nlevels || tick < counter_levels[k] - 1e-9)) {
				level = tick;
				tick = hgrm_next_level(tick);
			} else {
				level = counter_levels[k++];
				if (!reached_end && fabs(tick - level) < 1e-9)
					tick = hgrm_next_level(tick); /* the same level once */
			}
			hgrm_row(f, h, level);
			reached_end = reached_end || cumulative_to(h, hist_percentile(h, level)) >= h->count;
		}
		fprintf(f, "%12.3f %2.12f %10" PRIu64 "\n", (double)h->max / HGRM_NS_PER_US, 1.0, h->count);
	}
	fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", hist_mean(h) / HGRM_NS_PER_US,
		hgrm_stddev(h) / HGRM_NS_PER_US);
	fprintf(f, "#[Max     = %12.3f, Total count    = %12" PRIu64 "]\n",
		(double)(h->count ? h->max : 0) / HGRM_NS_PER_US, h->count);
	fprintf(f, "#[Buckets = %12d, SubBuckets     = %12llu]\n", HIST_BUCKETS, SUB_COUNT);
	return ferror(f) ? -EIO : 0;
}
