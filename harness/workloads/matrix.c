/* matrix.c - the `matrix` workload (matrix.h): ping-pong over every
 * ordered pair of PUs.  Its case is a ping-pong (the graph below) that
 * bench/matrixrun.c opens once per pair, on those two PUs. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "matrix.h"

static unsigned matrix_procs(unsigned pool)
{
	(void)pool;
	return 2;
}

static uint64_t matrix_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return 2 * n; /* there and back */
}

/* A ping-pong between the pair: ch0 0 -> 1, ch1 1 -> 0. */
static unsigned matrix_plan(struct chan_plan *p, unsigned nprocs, unsigned pool, bool per_worker)
{
	(void)nprocs, (void)pool, (void)per_worker;
	p[0] = (struct chan_plan){ .role = CHAN_INIT, .send_ch = 0, .send_nch = 1, .recv_ch = 1, .nupstream = 1 };
	p[1] = (struct chan_plan){ .role = CHAN_ECHO, .send_ch = 1, .send_nch = 1, .recv_ch = 0, .nupstream = 1 };
	return 2;
}

static const struct chan_graph matrix_graph = {
	.plan = matrix_plan,
};

static const char *const quick_subjects[] = { "pipe", "shmring", NULL };

const struct workload wl_matrix = {
	.name = "matrix",
	.summary = "ping-pong round trip between every ordered pair of PUs (a seeded sample above --matrix-max-pairs): matrix-MECH-WAIT-p50.csv, -p99.csv",
	.family = &family_channel,
	.latency = WL_LAT_ROUND_TRIP,
	.pool_axis = false,
	.procs_text = "2 (per pair)",
	.procs = matrix_procs,
	.roles = "0: on the sender PU, sends and times the round trip; 1: on the receiver PU, echoes",
	.delivered = matrix_delivered,
	.sizes = WL_SIZES_FIXED,
	.fixed_size = 64,
	.engine = &channel_engine,
	.graph = &matrix_graph,
	.quick_subjects = quick_subjects,
	.pair_matrix = true,
};

unsigned matrix_pus(const struct topo *t, const struct placement *cpus, int *pus, unsigned max)
{
	unsigned n = 0;

	if (cpus && cpus->kind == PLACE_CPUS) {
		for (unsigned i = 0; i < cpus->ncpus && n < max; i++)
			pus[n++] = cpus->cpus[i];
		return n;
	}
	for (unsigned i = 0; i < topo_allowed_count(t) && n < max; i++)
		pus[n++] = topo_allowed_cpu(t, i);
	return n;
}

/* splitmix64 (the runner's interleaving uses the same generator). */
static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

int matrix_pairs(const int *pus, unsigned npus, unsigned max_pairs, uint64_t seed,
		 struct matrix_pair **out, unsigned *npairs, unsigned *total)
{
	uint64_t all, take, *idx;
	struct matrix_pair *p;

	*out = NULL;
	*npairs = *total = 0;
	if (npus < 2 || max_pairs == 0)
		return -EINVAL;
	all = (uint64_t)npus * (npus - 1);
	take = all < max_pairs ? all : max_pairs;
	/* Pair k: sender k / (npus-1), receiver the (k mod (npus-1))-th of
	 * the others.  Sampling shuffles the indices, never the PUs. */
	idx = malloc(all * sizeof(*idx));
	p = malloc(take * sizeof(*p));
	if (!idx || !p) {
		free(idx);
		free(p);
		return -ENOMEM;
	}
	for (uint64_t k = 0; k < all; k++)
		idx[k] = k;
	if (take < all) {
		for (uint64_t k = 0; k < take; k++) {
			uint64_t j = k + next_random(&seed) % (all - k), tmp = idx[k];

			idx[k] = idx[j];
			idx[j] = tmp;
		}
		qsort(idx, take, sizeof(*idx), cmp_u64);
	}
	for (uint64_t k = 0; k < take; k++) {
		unsigned s = (unsigned)(idx[k] / (npus - 1)), r = (unsigned)(idx[k] % (npus - 1));

		p[k].sender = pus[s];
		p[k].receiver = pus[r >= s ? r + 1 : r];
	}
	free(idx);
	*out = p;
	*npairs = (unsigned)take;
	*total = (unsigned)all;
	return 0;
}

/* Index of the pair (s, r) in pairs (sorted as matrix_pairs leaves them,
 * so a scan is enough for a CSV), or -1. */
static long find_pair(const struct matrix_pair *pairs, unsigned npairs, int s, int r)
{
	for (unsigned k = 0; k < npairs; k++)
		if (pairs[k].sender == s && pairs[k].receiver == r)
			return (long)k;
	return -1;
}

static void header(FILE *f, const int *pus, unsigned npus)
{
	fputs("sender", f);
	for (unsigned j = 0; j < npus; j++)
		fprintf(f, ",%d", pus[j]);
	fputc('\n', f);
}

int matrix_write_csv(FILE *f, const int *pus, unsigned npus, const struct matrix_pair *pairs,
		     unsigned npairs, const double *value)
{
	header(f, pus, npus);
	for (unsigned i = 0; i < npus; i++) {
		fprintf(f, "%d", pus[i]);
		for (unsigned j = 0; j < npus; j++) {
			long k = i == j ? -1 : find_pair(pairs, npairs, pus[i], pus[j]);

			if (k >= 0)
				fprintf(f, ",%.0f", value[k]);
			else
				fputc(',', f);
		}
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

int matrix_write_classes(FILE *f, const struct topo *t, const int *pus, unsigned npus)
{
	header(f, pus, npus);
	for (unsigned i = 0; i < npus; i++) {
		fprintf(f, "%d", pus[i]);
		for (unsigned j = 0; j < npus; j++)
			fprintf(f, ",%s", i == j ? "" : topo_pair_class(t, pus[i], pus[j]));
		fputc('\n', f);
	}
	return ferror(f) ? -EIO : 0;
}

int matrix_reps_init(struct matrix_reps *r, unsigned npairs)
{
	memset(r, 0, sizeof(*r));
	if (npairs == 0)
		return -EINVAL;
	r->pending = calloc(2 * (size_t)npairs, sizeof(*r->pending));
	if (!r->pending)
		return -ENOMEM;
	r->npairs = npairs;
	return 0;
}

void matrix_reps_free(struct matrix_reps *r)
{
	free(r->pending);
	free(r->kept_v);
	memset(r, 0, sizeof(*r));
}

void matrix_reps_pending(struct matrix_reps *r, const double *p50, const double *p99)
{
	memcpy(r->pending, p50, r->npairs * sizeof(*p50));
	memcpy(r->pending + r->npairs, p99, r->npairs * sizeof(*p99));
	r->pending_set = true;
}

int matrix_reps_keep(struct matrix_reps *r)
{
	size_t per = 2 * (size_t)r->npairs;

	if (!r->pending_set)
		return -ENOENT;
	if (r->kept == r->cap) {
		unsigned cap = r->cap ? 2 * r->cap : 4;
		double *v = realloc(r->kept_v, cap * per * sizeof(*v));

		if (!v)
			return -ENOMEM;
		r->kept_v = v;
		r->cap = cap;
	}
	memcpy(r->kept_v + r->kept * per, r->pending, per * sizeof(*r->pending));
	r->kept++;
	r->pending_set = false;
	return 0;
}

void matrix_reps_drop(struct matrix_reps *r)
{
	r->pending_set = false;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int matrix_reps_median(const struct matrix_reps *r, enum matrix_stat stat, double *out)
{
	size_t per = 2 * (size_t)r->npairs;
	unsigned n = r->kept;
	double *col;

	if (n == 0)
		return -ENOENT;
	col = malloc(n * sizeof(*col));
	if (!col)
		return -ENOMEM;
	for (unsigned k = 0; k < r->npairs; k++) {
		for (unsigned i = 0; i < n; i++)
			col[i] = r->kept_v[i * per + (size_t)stat * r->npairs + k];
		qsort(col, n, sizeof(*col), cmp_double);
		out[k] = n % 2 ? col[n / 2] : (col[n / 2 - 1] + col[n / 2]) / 2;
	}
	free(col);
	return 0;
}
