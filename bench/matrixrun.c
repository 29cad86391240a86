/* matrixrun.c - a `matrix` case (harness/workloads/matrix.h): one
 * ping-pong case of the subject per ordered pair of PUs, each opened on
 * its two PUs, warmed up, timed and closed in turn; the case's counters
 * are over every pair's round trips together.  After each kept repetition
 * (matrix_kept, called by the runner between repetitions) the matrices
 * of each pair's p50 and p99, each cell the median over the kept
 * repetitions so far, go to the results folder (through a temporary name
 * and a rename; nothing is printed), or in fleet mode to rank 0 with the
 * repetition (suite_case.keep_file). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gbench.h"
#include "histout.h"
#include "matrix.h"
#include "result.h"
#include "suite.h"

/* Round trips per pair and call: the call's iterations shared out, at
 * least this many (Google Benchmark's first call asks for 1). */
#define MATRIX_MIN_ROUND_TRIPS 200u
#define MATRIX_WARMUP 50u

/* Write one CSV (what(f) fills it) as dir/name through a temporary file. */
static int write_file(const char *dir, const char *name, int (*what)(FILE *, const void *), const void *arg)
{
	char path[4400], tmp[4450];
	FILE *f;
	int fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, name, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "w");
	if (!f) {
		rc = -errno;
		close(fd);
		unlink(tmp);
		return rc;
	}
	rc = what(f, arg);
	if (fclose(f) != 0 && rc == 0)
		rc = -EIO;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* One CSV of case c: into its results folder, or (fleet mode) to
 * c->keep_file as text. */
static int put_file(const struct suite_case *c, const char *name, int (*what)(FILE *, const void *),
		    const void *arg)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m;
	int rc;

	if (!c->keep_file)
		return write_file(c->out_dir, name, what, arg);
	m = open_memstream(&text, &len);
	if (!m)
		return -ENOMEM;
	rc = what(m, arg);
	if (fclose(m) != 0 && rc == 0)
		rc = -ENOMEM;
	if (rc == 0)
		rc = c->keep_file(c->keep_file_arg, name, text);
	free(text);
	return rc;
}

struct csv_arg {
	const int *pus;
	unsigned npus;
	const struct matrix_pair *pairs;
	unsigned npairs;
	const double *value;
	const struct topo *topo;
};

static int csv_values(FILE *f, const void *arg)
{
	const struct csv_arg *a = arg;

	return matrix_write_csv(f, a->pus, a->npus, a->pairs, a->npairs, a->value);
}

static int csv_classes(FILE *f, const void *arg)
{
	const struct csv_arg *a = arg;

	return matrix_write_classes(f, a->topo, a->pus, a->npus);
}

/* A matrix case's state across its calls (suite_case.matrix): its PUs and
 * pairs (the same on every call) and the values of its repetitions. */
struct matrix_case {
	int pus[TOPO_MAX_CPUS];
	unsigned npus, npairs, total;
	struct matrix_pair *pairs;
	struct matrix_reps reps;
};

void matrix_forget(struct suite_case *c)
{
	if (!c->matrix)
		return;
	matrix_reps_free(&c->matrix->reps);
	free(c->matrix->pairs);
	free(c->matrix);
	c->matrix = NULL;
}

/* The case's pairs, chosen at its first call.  0, -EINVAL (fewer than 2
 * PUs), or -ENOMEM. */
static int matrix_case_get(struct suite_case *c, struct matrix_case **out)
{
	unsigned max = c->spec.matrix_max_pairs ? c->spec.matrix_max_pairs : MATRIX_DEFAULT_MAX_PAIRS;
	struct matrix_case *m = c->matrix;
	int rc;

	if (m) {
		*out = m;
		return 0;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->npus = matrix_pus(c->spec.topo, c->spec.placement, m->pus, TOPO_MAX_CPUS);
	rc = matrix_pairs(m->pus, m->npus, max, MATRIX_SEED, &m->pairs, &m->npairs, &m->total);
	if (rc == 0)
		rc = matrix_reps_init(&m->reps, m->npairs);
	if (rc < 0) {
		free(m->pairs);
		free(m);
		return rc;
	}
	c->matrix = m;
	*out = m;
	return 0;
}

void matrix_run(struct gb_state *st, struct suite_case *c)
{
	struct hist *all = malloc(sizeof(*all));
	struct case_round *round = malloc(sizeof(*round));
	double *p50 = NULL, *p99 = NULL;
	struct matrix_case *m = NULL;
	uint64_t n = gb_max_iterations(st), per_pair, elapsed = 0, delivered = 0, bytes = 0;
	char why[SCENARIO_ERRLEN] = "", msg[SCENARIO_ERRLEN], label[SCENARIO_LABELLEN];
	struct result res;
	int rc = -ENOMEM;

	if (!all || !round)
		goto fail;
	hist_init(all);
	rc = matrix_case_get(c, &m);
	if (rc == -EINVAL) {
		gb_skip_with_error(st, "skipped: a matrix needs at least 2 PUs");
		goto out;
	}
	if (rc < 0)
		goto fail;
	matrix_reps_drop(&m->reps); /* this call's values replace any earlier call's */
	p50 = calloc(m->npairs, sizeof(*p50));
	p99 = calloc(m->npairs, sizeof(*p99));
	if (!p50 || !p99)
		goto fail;
	per_pair = n / m->npairs > MATRIX_MIN_ROUND_TRIPS ? n / m->npairs : MATRIX_MIN_ROUND_TRIPS;
	for (unsigned k = 0; k < m->npairs; k++) {
		const struct matrix_pair *pr = &m->pairs[k];
		struct placement pl = { .kind = PLACE_CPUS, .ncpus = 2, .cpus = { pr->sender, pr->receiver } };
		struct case_spec spec = c->spec;
		struct case_run *run = NULL;

		spec.placement = &pl;
		rc = case_open(&run, &spec, why);
		if (rc == 0 && (rc = case_warmup(run, MATRIX_WARMUP, why)) == 0)
			rc = case_round(run, per_pair, round, why);
		if (run)
			case_close(run, NULL);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "%s (pair %d -> %d)", why, pr->sender, pr->receiver);
			gb_skip_with_error(st, msg);
			goto out;
		}
		p50[k] = (double)hist_percentile(&round->lat, 50);
		p99[k] = (double)hist_percentile(&round->lat, 99);
		hist_merge(all, &round->lat);
		elapsed += round->elapsed_ns;
		delivered += round->delivered;
		bytes += round->bytes;
	}
	while (gb_keep_running_batch(st, n))
		gb_set_iteration_time(st, (double)elapsed / 1e9);
	result_from_hist(&res, all, delivered, bytes, (double)elapsed / 1e9);
	res.procs = 2;
	/* The label: the PUs it spans and how many of their pairs it measured. */
	{
		size_t o = (size_t)snprintf(label, sizeof(label), "cpus=");

		for (unsigned i = 0; i < m->npus && o < sizeof(label); i++)
			o += (size_t)snprintf(label + o, sizeof(label) - o, "%s%d", i ? "," : "", m->pus[i]);
		if (o < sizeof(label))
			snprintf(label + o, sizeof(label) - o, " pairs=%u of %u", m->npairs, m->total);
	}
	res.label = label;
	res.extra[res.nextra++] = (struct result_extra){ "pairs", m->npairs };
	res.extra[res.nextra++] = (struct result_extra){ "pairs_total", m->total };
	suite_report(st, &res);
	suite_keep_hist(c, all);
	/* Counted only when the runner keeps this repetition (matrix_kept). */
	matrix_reps_pending(&m->reps, p50, p99);
	goto out;
fail:
	gb_skip_with_error(st, "failed: out of memory");
out:
	free(all);
	free(round);
	free(p50);
	free(p99);
}

void matrix_kept(struct suite_case *c, struct gb_bench *b)
{
	struct matrix_case *m = c->matrix;
	double *v;
	char name[256] = "", msg[SCENARIO_ERRLEN];
	int rc;

	if (!m)
		return;
	if (gb_last_error(b)) {
		matrix_reps_drop(&m->reps);
		return;
	}
	if (matrix_reps_keep(&m->reps) < 0 || (!c->out_dir && !c->keep_file))
		return;
	/* Every kept repetition rewrites the CSVs: the medians so far. */
	v = malloc(2 * (size_t)m->npairs * sizeof(*v));
	rc = v ? 0 : -ENOMEM;
	for (unsigned s = 0; s < 2 && rc == 0; s++) {
		struct csv_arg a = { m->pus, m->npus, m->pairs, m->npairs, v + s * m->npairs, c->spec.topo };

		snprintf(name, sizeof(name), "matrix-%s-%s-%s.csv", subject_name(&c->spec.subject),
			 ipc_wait_name(c->spec.wait), s == MATRIX_P50 ? "p50" : "p99");
		rc = matrix_reps_median(&m->reps, (enum matrix_stat)s, v + s * m->npairs);
		if (rc == 0)
			rc = put_file(c, name, csv_values, &a);
	}
	if (rc == 0) {
		struct csv_arg a = { .pus = m->pus, .npus = m->npus, .topo = c->spec.topo };

		snprintf(name, sizeof(name), "matrix-classes.csv");
		rc = put_file(c, name, csv_classes, &a);
	}
	free(v);
	if (rc < 0) {
		/* The repetition fails: it is not counted either. */
		m->reps.kept--;
		snprintf(msg, sizeof(msg), "failed: writing %.100s in %.200s: %.100s", name,
			 c->out_dir ? c->out_dir : "the fleet folder", strerror(-rc));
		gb_last_fail(b, msg);
	}
}
