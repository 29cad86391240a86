/* t_hist.c - the latency histogram: bucket arithmetic, edges, overflow,
 * percentiles against the exact ones of sorted samples, merge, record_n. */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hist.h"
#include "testutil.h"

/* Samples per distribution: enough that p99.99 is 20 samples deep, small
 * enough that sorting them under ASan stays well under a second. */
#define NSAMPLES 200000u
/* The whole executable must finish well within this (seconds). */
#define TEST_ALARM_S 120
/* Fixed seed: a failure reproduces. */
#define SEED 0x1b873593c2b2ae35ull
/* Above 2047 a counter spans < 1/1024 of its lowest value (hist.h). */
#define REL_PRECISION (1.0 / 1024)

static const double pcts[] = {
	0.001, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 99.999, 100,
};

/* splitmix64: small, good enough, our own state per test. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rnd01(uint64_t *s)
{
	return (double)(rnd(s) >> 11) / (double)(1ull << 53);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

static struct hist *hist_new(void)
{
	struct hist *h = malloc(sizeof(*h));

	assert_non_null(h);
	hist_init(h);
	return h;
}

/* Exact percentile of n sorted values by hist.h's definition: the smallest
 * v with at least p% of the values <= v.  Computed independently of
 * hist.c: count how many values are needed with integer arithmetic on p
 * given in millionths of a percent. */
static uint64_t exact_pct(const uint64_t *sorted, uint64_t n, double p)
{
	/* p as an integer number of 1e-6 %, so rank = ceil(p6 * n / 1e8). */
	unsigned __int128 p6 = (unsigned __int128)llround(p * 1e6);
	unsigned __int128 num = p6 * n, den = 100000000u;
	uint64_t rank = (uint64_t)((num + den - 1) / den);

	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return sorted[rank - 1];
}

/* Record samples, then check every percentile, min, max, mean, count. */
static void check_against_sorted(uint64_t *v, uint64_t n)
{
	struct hist *h = hist_new();
	long double sum = 0;
	uint64_t over = 0;

	for (uint64_t i = 0; i < n; i++) {
		hist_record(h, v[i]);
		sum += v[i];
		over += v[i] > HIST_MAX_NS;
	}
	qsort(v, n, sizeof(v[0]), cmp_u64);

	assert_int_equal(h->count, n);
	assert_int_equal(h->overflow, over);
	assert_int_equal(h->min, v[0]);
	assert_int_equal(h->max, v[n - 1]);
	assert_true(fabsl((long double)hist_mean(h) - sum / n) <= 1e-9L * (sum / n));

	for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++) {
		uint64_t exact = exact_pct(v, n, pcts[k]);
		uint64_t got = hist_percentile(h, pcts[k]);
		uint64_t want = exact > HIST_MAX_NS ? h->max :
			hist_highest_equiv(exact) < h->max ?
			hist_highest_equiv(exact) : h->max;

		/* Never below the truth, and within the stated precision. */
		if (got < exact || (exact < 2048 && got != exact) ||
		    (double)(got - exact) > REL_PRECISION * (double)exact ||
		    got != want) {
			print_error("p%g: got %llu, exact %llu, expected %llu\n",
				    pcts[k], (unsigned long long)got,
				    (unsigned long long)exact,
				    (unsigned long long)want);
			fail();
		}
	}
	free(h);
}

static void test_empty(void **state)
{
	struct hist *h = hist_new();

	(void)state;
	assert_int_equal(h->count, 0);
	assert_int_equal(h->overflow, 0);
	assert_int_equal(h->min, UINT64_MAX);
	assert_int_equal(h->max, 0);
	assert_int_equal(hist_percentile(h, 50), 0);
	assert_int_equal(hist_percentile(h, 100), 0);
	assert_true(hist_mean(h) == 0.0);
	for (unsigned i = 0; i < HIST_COUNTS; i++)
		assert_int_equal(h->counts[i], 0);
	free(h);
}

/* One value alone: counted once, kept exactly in min/max, reported as
 * itself at every percentile. */
static void check_single(uint64_t v)
{
	struct hist *h = hist_new();
	bool over = v > HIST_MAX_NS;
	uint64_t total = 0;

	hist_record(h, v);
	assert_int_equal(h->count, 1);
	assert_int_equal(h->overflow, over ? 1 : 0);
	assert_int_equal(h->min, v);
	assert_int_equal(h->max, v);
	assert_int_equal(hist_percentile(h, 0.001), v);
	assert_int_equal(hist_percentile(h, 50), v);
	assert_int_equal(hist_percentile(h, 100), v);
	assert_true(hist_mean(h) == (double)v);
	for (unsigned i = 0; i < HIST_COUNTS; i++)
		total += h->counts[i];
	assert_int_equal(total, over ? 0 : 1);
	if (over) {
		assert_int_equal(hist_index(v), HIST_COUNTS);
	} else {
		assert_true(hist_index(v) < HIST_COUNTS);
		assert_int_equal(h->counts[hist_index(v)], 1);
	}
	free(h);
}

static void test_edges(void **state)
{
	static const uint64_t edges[] = {
		0, 1, 2047, 2048, HIST_MAX_NS, HIST_MAX_NS + 1, UINT64_MAX,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		check_single(edges[i]);

	/* Below 2048 every value has its own counter. */
	assert_int_equal(hist_lowest_equiv(2047), 2047);
	assert_int_equal(hist_highest_equiv(2047), 2047);
	assert_int_equal(hist_index(0), 0);
	assert_int_equal(hist_index(1), 1);
	/* 2048 starts counters of width 2. */
	assert_true(hist_index(2048) != hist_index(2047));
	assert_int_equal(hist_index(2048), hist_index(2049));
	assert_true(hist_index(2050) != hist_index(2049));
	assert_int_equal(hist_highest_equiv(2048), 2049);
	/* The last counter stops at HIST_MAX_NS; the overflow follows. */
	assert_int_equal(hist_highest_equiv(HIST_MAX_NS), HIST_MAX_NS);
	assert_int_equal(hist_lowest_equiv(HIST_MAX_NS + 1), HIST_MAX_NS + 1);
	assert_int_equal(hist_highest_equiv(UINT64_MAX), UINT64_MAX);
	assert_true(HIST_MAX_NS >= 100ull * 1000000000ull);
}

/* Overflow is counted (count, overflow, max, mean), never dropped, and a
 * percentile that falls among overflowed values reports the exact max. */
static void test_overflow(void **state)
{
	struct hist *h = hist_new();

	(void)state;
	for (int i = 0; i < 9; i++)
		hist_record(h, 1000);
	hist_record(h, HIST_MAX_NS + 7);
	assert_int_equal(h->count, 10);
	assert_int_equal(h->overflow, 1);
	assert_int_equal(h->max, HIST_MAX_NS + 7);
	assert_int_equal(hist_percentile(h, 90), 1000);
	assert_int_equal(hist_percentile(h, 90.1), HIST_MAX_NS + 7);
	assert_int_equal(hist_percentile(h, 100), HIST_MAX_NS + 7);
	assert_true(fabs(hist_mean(h) - (9 * 1000.0 + (double)(HIST_MAX_NS + 7)) / 10) < 1.0);
	free(h);
}

/* The definition at small counts, where a rounding slip shows. */
static void test_small_counts(void **state)
{
	struct hist *h = hist_new();

	(void)state;
	for (uint64_t v = 1; v <= 1000; v++)
		hist_record(h, v);
	assert_int_equal(hist_percentile(h, 0.1), 1);
	assert_int_equal(hist_percentile(h, 0.15), 2);
	assert_int_equal(hist_percentile(h, 50), 500);
	assert_int_equal(hist_percentile(h, 50.01), 501);
	assert_int_equal(hist_percentile(h, 99), 990);
	assert_int_equal(hist_percentile(h, 99.9), 999);
	assert_int_equal(hist_percentile(h, 99.95), 1000);
	assert_int_equal(hist_percentile(h, 100), 1000);
	/* Out-of-range p: the smallest and the largest value. */
	assert_int_equal(hist_percentile(h, 0), 1);
	assert_int_equal(hist_percentile(h, 150), 1000);

	/* Exactly 99.9% of 41000 values are 100, but in binary
	 * 99.9 * 41000 / 100 = 40959.00000000001: p99.9 must still be 100. */
	hist_init(h);
	hist_record_n(h, 100, 40959);
	hist_record_n(h, 200, 41);
	assert_int_equal(hist_percentile(h, 99.9), 100);
	assert_int_equal(hist_percentile(h, 99.91), 200);
	free(h);
}

static void test_equiv_brackets(void **state)
{
	uint64_t s = SEED;

	(void)state;
	for (unsigned i = 0; i < 200000; i++) {
		/* Every power of two and its neighbours, then log-uniform. */
		uint64_t v = i < 64 * 3 ? (1ull << (i / 3)) + (i % 3) - 1 :
			(uint64_t)exp(rnd01(&s) * log((double)HIST_MAX_NS));
		uint64_t lo, hi;

		if (v > HIST_MAX_NS)
			continue;
		lo = hist_lowest_equiv(v);
		hi = hist_highest_equiv(v);
		if (!(lo <= v && v <= hi) ||
		    hist_index(lo) != hist_index(v) ||
		    hist_index(hi) != hist_index(v) ||
		    (lo > 0 && hist_index(lo - 1) != hist_index(v) - 1) ||
		    (hi < HIST_MAX_NS && hist_index(hi + 1) != hist_index(v) + 1) ||
		    (double)(hi - lo) > REL_PRECISION * (double)lo) {
			print_error("v %llu: lo %llu hi %llu index %u\n",
				    (unsigned long long)v,
				    (unsigned long long)lo,
				    (unsigned long long)hi, hist_index(v));
			fail();
		}
	}
	assert_true(hist_index(HIST_MAX_NS) < HIST_COUNTS);
}

static void test_uniform(void **state)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	uint64_t s = SEED ^ 1;

	(void)state;
	assert_non_null(v);
	/* Uniform 0 .. 100 us: dense, many values per counter. */
	for (unsigned i = 0; i < NSAMPLES; i++)
		v[i] = rnd(&s) % 100001;
	check_against_sorted(v, NSAMPLES);
	free(v);
}

static void test_log_uniform(void **state)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	uint64_t s = SEED ^ 2;
	const double top = log(10e9); /* 10 s */

	(void)state;
	assert_non_null(v);
	/* 1 ns .. 10 s, every decade equally likely: every bucket used. */
	for (unsigned i = 0; i < NSAMPLES; i++)
		v[i] = (uint64_t)exp(rnd01(&s) * top);
	check_against_sorted(v, NSAMPLES);
	free(v);
}

static void test_heavy_tail(void **state)
{
	uint64_t *v = malloc(NSAMPLES * sizeof(*v));
	uint64_t s = SEED ^ 3;

	(void)state;
	assert_non_null(v);
	/* A tight body near 20 us (a pipe round trip) plus a few outliers:
	 * ms scheduler hiccups, a 5 s stall, and two beyond HIST_MAX_NS. */
	for (unsigned i = 0; i < NSAMPLES; i++)
		v[i] = 20000 + rnd(&s) % 2000;
	for (unsigned i = 0; i < 30; i++)
		v[rnd(&s) % NSAMPLES] = 1000000 + rnd(&s) % 9000000;
	v[7] = 5000000000ull;
	v[11] = HIST_MAX_NS + 1;
	v[13] = 300ull * 1000000000ull;
	check_against_sorted(v, NSAMPLES);
	free(v);
}

static void assert_hist_equal(const struct hist *a, const struct hist *b)
{
	assert_int_equal(a->count, b->count);
	assert_int_equal(a->overflow, b->overflow);
	assert_int_equal(a->min, b->min);
	assert_int_equal(a->max, b->max);
	/* Sums added in another order may differ in the last bits. */
	assert_true(fabs(a->sum - b->sum) <= 1e-12 * fabs(b->sum));
	for (unsigned i = 0; i < HIST_COUNTS; i++)
		if (a->counts[i] != b->counts[i]) {
			print_error("counter %u: %llu != %llu\n", i,
				    (unsigned long long)a->counts[i],
				    (unsigned long long)b->counts[i]);
			fail();
		}
}

static void test_merge(void **state)
{
	struct hist *all = hist_new(), *a = hist_new(), *b = hist_new();
	struct hist *e = hist_new();
	uint64_t s = SEED ^ 4;

	(void)state;
	for (unsigned i = 0; i < NSAMPLES; i++) {
		uint64_t v = (uint64_t)exp(rnd01(&s) * log(1e12));

		hist_record(all, v);
		/* Uneven split: a gets the small values more often. */
		hist_record(rnd(&s) % 3 ? a : b, v);
	}
	hist_record(all, 0);               /* min (and counter 0) only in b */
	hist_record(b, 0);
	hist_record(all, HIST_MAX_NS + 9); /* overflow only in a */
	hist_record(a, HIST_MAX_NS + 9);

	hist_merge(a, b);
	assert_hist_equal(a, all);
	for (size_t k = 0; k < sizeof(pcts) / sizeof(pcts[0]); k++)
		assert_int_equal(hist_percentile(a, pcts[k]),
				 hist_percentile(all, pcts[k]));

	/* Merging an empty one changes nothing; into an empty one copies. */
	hist_merge(a, e);
	assert_hist_equal(a, all);
	hist_merge(e, all);
	assert_hist_equal(e, all);
	hist_init(b);
	hist_init(e);
	hist_record(b, 5);
	hist_merge(b, e);
	assert_int_equal(b->count, 1);
	assert_int_equal(b->min, 5);
	assert_int_equal(b->max, 5);
	free(all);
	free(a);
	free(b);
	free(e);
}

static void test_record_n(void **state)
{
	static const uint64_t vals[] = { 0, 5, 2048, 123456789, HIST_MAX_NS,
					 HIST_MAX_NS + 1 };
	struct hist *one = hist_new(), *many = hist_new();

	(void)state;
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		uint64_t n = 1 + 37 * i;

		hist_record_n(many, vals[i], n);
		for (uint64_t k = 0; k < n; k++)
			hist_record(one, vals[i]);
	}
	assert_hist_equal(many, one);
	/* n = 0 records nothing, not even min/max. */
	hist_record_n(many, 1, 0);
	hist_record_n(many, UINT64_MAX, 0);
	assert_hist_equal(many, one);
	free(one);
	free(many);
}

/* Parse hist_print_hgrm's rows of h and check them against h: the header,
 * every row's Value is hist_percentile() of its level (us, 3 decimals) and
 * TotalCount the values up to its counter, rows ascend, each counter level
 * has its row, the last row is 1.0 with max and count, the footer. */
static void check_hgrm(const struct hist *h)
{
	static const double levels[] = HIST_HGRM_LEVELS;
	bool seen[sizeof(levels) / sizeof(levels[0])] = { false };
	char line[256], head[4][32];
	double last_p = -1, last_v = -1, maxv, total;
	unsigned rows = 0;
	bool ended = false;
	FILE *f = tmpfile();

	assert_non_null(f);
	assert_int_equal(hist_print_hgrm(h, f), 0);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(sscanf(line, "%31s %31s %31s %31s", head[0], head[1], head[2], head[3]), 4);
	assert_string_equal(head[0], "Value");
	assert_string_equal(head[3], "1/(1-Percentile)");
	while (fgets(line, sizeof(line), f)) {
		double v, p, inv;
		unsigned long long n;
		int got;

		if (line[0] == '\n')
			continue;
		if (line[0] == '#')
			break;
		assert_false(ended); /* nothing after the 1.0 row */
		got = sscanf(line, "%lf %lf %llu %lf", &v, &p, &n, &inv);
		assert_true(got == 4 || (got == 3 && p == 1.0));
		assert_true(p >= last_p && v >= last_v);
		if (got == 3) {
			ended = true;
			assert_true(fabs(v * 1000 - (double)h->max) < 0.5);
			assert_int_equal(n, h->count);
			continue;
		}
		assert_true(fabs(v * 1000 - (double)hist_percentile(h, p * 100)) < 0.5);
		for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
			if (fabs(p * 100 - levels[i]) < 1e-9) {
				seen[i] = true;
				/* the counter's own value */
				assert_true(fabs(v * 1000 - (double)hist_percentile(h, levels[i])) < 0.5);
			}
		last_p = p, last_v = v, rows++;
	}
	assert_true(ended);
	assert_true(rows > 5);
	for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++)
		assert_true(seen[i]);
	assert_int_equal(sscanf(line, "#[Mean = %lf", &maxv), 1);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_int_equal(sscanf(line, "#[Max = %lf, Total count = %lf", &maxv, &total), 2);
	assert_true(fabs(maxv * 1000 - (double)h->max) < 0.5);
	assert_true(total == (double)h->count);
	fclose(f);
}

static void test_hgrm(void **state)
{
	struct hist *h = hist_new();
	uint64_t s = SEED;

	(void)state;
	/* log-uniform 100 ns .. 10 ms, plus a few overflowed values */
	for (unsigned i = 0; i < 20000; i++)
		hist_record(h, (uint64_t)(100.0 * pow(1e5, rnd01(&s))));
	check_hgrm(h);
	hist_record_n(h, HIST_MAX_NS + 5, 3);
	check_hgrm(h);
	/* every value in one counter: the counter levels still have rows */
	hist_init(h);
	hist_record_n(h, 5000, 10);
	check_hgrm(h);
	free(h);
}

/* cmocka names a test after its function; ours start with "hist: ". */
#define T(name, fn) { name, fn, NULL, NULL, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("hist: empty histogram reports zeros", test_empty),
		T("hist: edges 0 1 2047 2048 max max+1 UINT64_MAX", test_edges),
		T("hist: overflow counted not dropped", test_overflow),
		T("hist: percentile definition at small counts", test_small_counts),
		T("hist: lowest/highest equivalents bracket the value", test_equiv_brackets),
		T("hist: percentiles of uniform samples", test_uniform),
		T("hist: percentiles of log-uniform samples 1 ns..10 s", test_log_uniform),
		T("hist: percentiles with heavy-tail outliers", test_heavy_tail),
		T("hist: merge equals recording all in one", test_merge),
		T("hist: record_n equals n records", test_record_n),
		T("hist: .hgrm export rows agree with the percentiles", test_hgrm),
	};

	alarm(TEST_ALARM_S);
	return tap_run("hist", tests, sizeof(tests) / sizeof(tests[0]));
}
