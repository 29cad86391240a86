/* t_matrix.c - the matrix workload's pair choice, time bound and CSVs on
 * synthetic hwloc topologies (HWLOC_SYNTHETIC: nothing can be bound to
 * their PUs, so the measurements are injected). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "matrix.h"
#include "testutil.h"
#include "topo.h"

#define SYNTH_16 "pack:2 [numa] core:4 pu:2" /* 16 PUs: SMT pairs, 2 packages, a NUMA node each */
#define SYNTH_128 "pack:2 core:64 pu:1" /* 128 cores */

static struct topo *open_synthetic(const char *desc)
{
	char err[TOPO_ERRLEN] = "";
	struct topo *t = NULL;
	int rc;

	assert_int_equal(setenv("HWLOC_SYNTHETIC", desc, 1), 0);
	rc = topo_open(&t, err);
	unsetenv("HWLOC_SYNTHETIC");
	if (rc != 0)
		fail_msg("synthetic '%s': %s", desc, err);
	return t;
}

/* Every ordered pair of distinct PUs once, in sender-then-receiver order. */
static void test_all_pairs(void **state)
{
	struct topo *t = open_synthetic(SYNTH_16);
	int pus[TOPO_MAX_CPUS];
	unsigned npus = matrix_pus(t, NULL, pus, TOPO_MAX_CPUS), n, total;
	struct matrix_pair *p;
	bool seen[16][16] = { { false } };

	(void)state;
	assert_int_equal(npus, 16);
	assert_int_equal(matrix_pairs(pus, npus, 1000, MATRIX_SEED, &p, &n, &total), 0);
	assert_int_equal(total, 16 * 15);
	assert_int_equal(n, total);
	for (unsigned k = 0; k < n; k++) {
		assert_true(p[k].sender != p[k].receiver);
		assert_true(p[k].sender >= 0 && p[k].sender < 16 && p[k].receiver >= 0 && p[k].receiver < 16);
		assert_false(seen[p[k].sender][p[k].receiver]);
		seen[p[k].sender][p[k].receiver] = true;
		if (k)
			assert_true(p[k - 1].sender < p[k].sender ||
				    (p[k - 1].sender == p[k].sender && p[k - 1].receiver < p[k].receiver));
	}
	free(p);
	/* --cpus: only those PUs, in their order */
	{
		struct placement pl = { .kind = PLACE_CPUS, .ncpus = 3, .cpus = { 5, 1, 9 } };

		npus = matrix_pus(t, &pl, pus, TOPO_MAX_CPUS);
		assert_int_equal(npus, 3);
		assert_int_equal(matrix_pairs(pus, npus, 1000, MATRIX_SEED, &p, &n, &total), 0);
		assert_int_equal(n, 6);
		assert_int_equal(p[0].sender, 5);
		assert_int_equal(p[0].receiver, 1);
		free(p);
	}
	assert_int_equal(matrix_pairs(pus, 1, 1000, MATRIX_SEED, &p, &n, &total), -EINVAL);
	topo_close(t);
}

/* Above the cap: a sample of exactly max pairs, distinct, a subset, the
 * same for the same seed and another for another seed. */
static void test_sample(void **state)
{
	struct topo *t = open_synthetic(SYNTH_128);
	int pus[TOPO_MAX_CPUS];
	unsigned npus = matrix_pus(t, NULL, pus, TOPO_MAX_CPUS), n, n2, total;
	struct matrix_pair *a, *b, *c;

	(void)state;
	assert_int_equal(npus, 128);
	assert_int_equal(matrix_pairs(pus, npus, MATRIX_DEFAULT_MAX_PAIRS, MATRIX_SEED, &a, &n, &total), 0);
	assert_int_equal(total, 128 * 127);
	assert_int_equal(n, MATRIX_DEFAULT_MAX_PAIRS);
	for (unsigned k = 0; k < n; k++) {
		assert_true(a[k].sender != a[k].receiver);
		if (k)
			assert_true(a[k - 1].sender < a[k].sender ||
				    (a[k - 1].sender == a[k].sender && a[k - 1].receiver < a[k].receiver));
	}
	assert_int_equal(matrix_pairs(pus, npus, MATRIX_DEFAULT_MAX_PAIRS, MATRIX_SEED, &b, &n2, &total), 0);
	assert_int_equal(n2, n);
	assert_memory_equal(a, b, n * sizeof(*a));
	assert_int_equal(matrix_pairs(pus, npus, MATRIX_DEFAULT_MAX_PAIRS, MATRIX_SEED + 1, &c, &n2, &total), 0);
	assert_true(memcmp(a, c, n * sizeof(*a)) != 0);
	/* spread over the machine, not the first senders only */
	assert_true(a[n - 1].sender > 64);
	free(a);
	free(b);
	free(c);
	topo_close(t);
}

/* The time a matrix takes is bounded by its pairs, whatever the machine. */
static void test_time_bound(void **state)
{
	(void)state;
	assert_true(matrix_estimate_ns(MATRIX_DEFAULT_MAX_PAIRS, 20000000, 2000, 10000) ==
		    (uint64_t)MATRIX_DEFAULT_MAX_PAIRS * (20000000 + 2000 * 10000));
	/* 128 cores, every pair: 16256 pairs */
	assert_true(matrix_estimate_ns(128 * 127, 20000000, 2000, 10000) ==
		    (uint64_t)128 * 127 * 40000000);
}

/* Parse a CSV written by matrix_write_csv back: cells[i][j] of the row of
 * pus[i] and column pus[j]; -1 for an empty cell. */
static void read_back(FILE *f, const int *pus, unsigned npus, double cells[16][16])
{
	char line[4096], *tok, *save;
	unsigned row = 0;

	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	tok = strtok_r(line, ",\n", &save);
	assert_string_equal(tok, "sender");
	for (unsigned j = 0; j < npus; j++) {
		tok = strtok_r(NULL, ",\n", &save);
		assert_non_null(tok);
		assert_int_equal(atoi(tok), pus[j]);
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *comma;

		assert_true(row < npus);
		assert_int_equal(atoi(p), pus[row]);
		for (unsigned j = 0; j < npus; j++) {
			comma = strchr(p, ',');
			assert_non_null(comma);
			p = comma + 1;
			cells[row][j] = (*p == ',' || *p == '\n' || *p == '\0') ? -1 : atof(p);
		}
		assert_true(strchr(p, ',') == NULL); /* npus cells, no more */
		row++;
	}
	assert_int_equal(row, npus);
}

static void test_csv(void **state)
{
	struct topo *t = open_synthetic(SYNTH_16);
	int pus[TOPO_MAX_CPUS];
	unsigned npus = matrix_pus(t, NULL, pus, TOPO_MAX_CPUS), n, total;
	struct matrix_pair *p;
	double *v, cells[16][16];
	FILE *f = tmpfile();
	char line[4096];

	(void)state;
	assert_non_null(f);
	/* a sample, so some cells stay empty */
	assert_int_equal(matrix_pairs(pus, npus, 100, MATRIX_SEED, &p, &n, &total), 0);
	v = calloc(n, sizeof(*v));
	assert_non_null(v);
	for (unsigned k = 0; k < n; k++)
		v[k] = 1000.0 * p[k].sender + p[k].receiver + 1; /* injected */
	assert_int_equal(matrix_write_csv(f, pus, npus, p, n, v), 0);
	read_back(f, pus, npus, cells);
	{
		unsigned filled = 0;

		for (unsigned i = 0; i < npus; i++)
			for (unsigned j = 0; j < npus; j++) {
				if (i == j) {
					assert_true(cells[i][j] == -1);
					continue;
				}
				if (cells[i][j] >= 0) {
					assert_true(cells[i][j] == 1000.0 * pus[i] + pus[j] + 1);
					filled++;
				}
			}
		assert_int_equal(filled, n);
	}
	fclose(f);
	/* the classes: SMT siblings share a core, one package, two packages */
	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(matrix_write_classes(f, t, pus, npus), 0);
	rewind(f);
	assert_non_null(fgets(line, sizeof(line), f));
	assert_non_null(fgets(line, sizeof(line), f)); /* the row of PU 0 */
	assert_true(strncmp(line, "0,,same-core,same-package,", 26) == 0);
	assert_non_null(strstr(line, ",machine"));
	fclose(f);
	free(v);
	free(p);
	topo_close(t);
}

/* Several repetitions of a matrix, injected: each cell is the median of the
 * kept repetitions' values of its pair, never the last repetition's; a
 * sizing call's values are replaced by the repetition's own; a dropped
 * (failed or interrupted) repetition is not counted. */
static void test_repetitions(void **state)
{
	static const int pus[] = { 0, 1, 2 };
	unsigned npus = 3, n, total;
	struct matrix_pair *p;
	struct matrix_reps reps;
	double p50[6], p99[6], med[6], cells[16][16];
	FILE *f;

	(void)state;
	assert_int_equal(matrix_pairs(pus, npus, 1000, MATRIX_SEED, &p, &n, &total), 0);
	assert_int_equal(n, 6);
	assert_int_equal(matrix_reps_init(&reps, n), 0);
	assert_int_equal(matrix_reps_keep(&reps), -ENOENT);
	assert_int_equal(matrix_reps_median(&reps, MATRIX_P50, med), -ENOENT);
/* Pair k of one call: p50 base + k, p99 ten times that. */
#define CALL(base)                                        \
	do {                                              \
		for (unsigned k = 0; k < n; k++) {        \
			p50[k] = (base) + k;              \
			p99[k] = 10.0 * ((base) + k);     \
		}                                         \
		matrix_reps_pending(&reps, p50, p99);     \
	} while (0)
	CALL(999); /* the first repetition's sizing call */
	CALL(300);
	assert_int_equal(matrix_reps_keep(&reps), 0);
	assert_int_equal(matrix_reps_keep(&reps), -ENOENT); /* counted once */
	CALL(200);
	assert_int_equal(matrix_reps_keep(&reps), 0);
	CALL(50); /* interrupted or failed */
	matrix_reps_drop(&reps);
	CALL(100); /* the last repetition */
	assert_int_equal(matrix_reps_keep(&reps), 0);
	assert_int_equal(reps.kept, 3);
	/* 300, 200, 100 kept: the median is the second repetition's */
	assert_int_equal(matrix_reps_median(&reps, MATRIX_P50, med), 0);
	for (unsigned k = 0; k < n; k++)
		assert_true(med[k] == 200.0 + k);
	assert_int_equal(matrix_reps_median(&reps, MATRIX_P99, med), 0);
	for (unsigned k = 0; k < n; k++)
		assert_true(med[k] == 10.0 * (200.0 + k));
	/* as a CSV: every cell the median of its pair */
	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(matrix_write_csv(f, pus, npus, p, n, med), 0);
	read_back(f, pus, npus, cells);
	for (unsigned k = 0; k < n; k++)
		assert_true(cells[p[k].sender][p[k].receiver] == 10.0 * (200.0 + k));
	fclose(f);
	/* an even count: the mean of the two middle values (200 and 300) */
	CALL(400);
	assert_int_equal(matrix_reps_keep(&reps), 0);
	assert_int_equal(matrix_reps_median(&reps, MATRIX_P50, med), 0);
	for (unsigned k = 0; k < n; k++)
		assert_true(med[k] == 250.0 + k);
#undef CALL
	matrix_reps_free(&reps);
	free(p);
}

#define T(name, fn) { name, fn, NULL, NULL, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("matrix: every ordered pair of a synthetic pack:2 [numa] core:4 pu:2, once", test_all_pairs),
		T("matrix: above --matrix-max-pairs a seeded sample of 128 cores", test_sample),
		T("matrix: the time bound follows the pairs", test_time_bound),
		T("matrix: CSV of injected measurements and the pair classes", test_csv),
		T("matrix: each cell the median over kept repetitions, injected", test_repetitions),
	};

	return tap_run("matrix", tests, sizeof(tests) / sizeof(tests[0]));
}
