/* matrix.h - the `matrix` workload: a mechanism's ping-pong between every
 * ordered pair of distinct PUs (or a seeded sample of them), as a CSV
 * matrix per mechanism and wait.  The pairs are chosen here (testable on a
 * synthetic hwloc topology); bench/matrixrun.c runs one ping-pong case per
 * pair.  Pairs never appear in case names (they differ between machines). */
#ifndef IPCLAB_WORKLOAD_MATRIX_H
#define IPCLAB_WORKLOAD_MATRIX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "topo.h"

/* Ordered pairs measured when --matrix-max-pairs is absent: every pair of
 * a machine with up to 16 PUs (16 x 15); a sample above. */
#define MATRIX_DEFAULT_MAX_PAIRS 240u
#define MATRIX_MAX_PAIRS 1000000u
/* The sample's seed: the same pairs on every run of one machine. */
#define MATRIX_SEED UINT64_C(0x16a7e5c0ffee)

struct matrix_pair {
	int sender, receiver; /* OS indices of PUs */
};

/* The PUs a matrix spans: cpus (PLACE_CPUS, in its order) when given,
 * else every PU this process may use.  Fills pus (at most max); returns
 * how many. */
unsigned matrix_pus(const struct topo *t, const struct placement *cpus, int *pus, unsigned max);

/* Every ordered pair of distinct PUs of pus, in sender-then-receiver order;
 * when there are more than max_pairs, a sample of max_pairs of them drawn
 * with splitmix64 from seed (a partial Fisher-Yates shuffle), then put back
 * in that order.  *out is malloc'ed (free it); *total is how many pairs
 * there are.  0, -EINVAL (fewer than 2 PUs, max_pairs 0), or -ENOMEM. */
int matrix_pairs(const int *pus, unsigned npus, unsigned max_pairs, uint64_t seed,
		 struct matrix_pair **out, unsigned *npairs, unsigned *total);

/* How long a matrix of npairs takes: per pair, setup_ns (processes and
 * channels opened, warmed up, closed) and round_trips of rtt_ns. */
static inline uint64_t matrix_estimate_ns(uint64_t npairs, uint64_t setup_ns, uint64_t round_trips, uint64_t rtt_ns)
{
	return npairs * (setup_ns + round_trips * rtt_ns);
}

/* A matrix as CSV: a header "sender,<pu>,<pu>...", then one row per sender
 * PU: its number, then one cell per receiver PU: value[k] of the pair
 * (sender, receiver) when measured (printf %.0f), empty on the diagonal
 * and for pairs left out of a sample.  0 or -EIO. */
int matrix_write_csv(FILE *f, const int *pus, unsigned npus, const struct matrix_pair *pairs,
		     unsigned npairs, const double *value);
/* The same shape with every pair's hwloc class (topo_pair_class: same-core
 * for SMT siblings, shared-L2, shared-L3, same-package, same-numa,
 * machine), empty on the diagonal. */
int matrix_write_classes(FILE *f, const struct topo *t, const int *pus, unsigned npus);

/*
 * A matrix over repetitions: each cell of matrix-MECH-WAIT-p50.csv (p99)
 * is the median, over the kept repetitions of the case, of that pair's p50
 * (p99) round trip (an even count: the mean of the two middle values).
 * A call of the case (one repetition, or one of the first repetition's
 * sizing calls) leaves its values pending: a later call replaces them,
 * matrix_reps_keep() counts them once the repetition is kept, and
 * matrix_reps_drop() forgets them (a repetition that failed or was
 * interrupted is never counted).
 */
enum matrix_stat { MATRIX_P50 = 0, MATRIX_P99 = 1 };

struct matrix_reps {
	unsigned npairs;   /* values per repetition and statistic */
	unsigned kept;     /* repetitions kept */
	unsigned cap;      /* repetitions kept[] has room for */
	bool pending_set;  /* pending holds a call's values */
	double *pending;   /* [stat][pair]: the last call's values */
	double *kept_v;    /* [repetition][stat][pair] */
};

/* 0 or -ENOMEM (nothing to free then).  npairs at least 1. */
int matrix_reps_init(struct matrix_reps *r, unsigned npairs);
void matrix_reps_free(struct matrix_reps *r);
/* A call's values (npairs each), replacing what was pending. */
void matrix_reps_pending(struct matrix_reps *r, const double *p50, const double *p99);
/* Count the pending values as one more kept repetition.  0, -ENOENT
 * (nothing pending), or -ENOMEM (not counted; still pending). */
int matrix_reps_keep(struct matrix_reps *r);
void matrix_reps_drop(struct matrix_reps *r);
/* out[pair] = the median over the kept repetitions of stat; 0, -ENOENT
 * when none is kept, or -ENOMEM (out untouched on either). */
int matrix_reps_median(const struct matrix_reps *r, enum matrix_stat stat, double *out);

#endif
