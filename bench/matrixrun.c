/* matrixrun.c - a `matrix` case (harness/workloads/matrix.h): one
 * ping-pong case of the subject per ordered pair of PUs, each opened on
 * its two PUs, warmed up, timed and closed in turn; the case's counters
 * are over every pair's round trips together, and the matrices of each
 * pair's p50 and p99 go to the results folder (between calls, through a
 * temporary name and a rename; nothing is printed). */
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

void matrix_run(struct gb_state *st, struct suite_case *c)
{
	const struct topo *topo = c->spec.topo;
	unsigned max = c->spec.matrix_max_pairs ? c->spec.matrix_max_pairs : MATRIX_DEFAULT_MAX_PAIRS;
	int *pus = calloc(TOPO_MAX_CPUS, sizeof(*pus));
	struct hist *all = malloc(sizeof(*all));
	struct case_round *round = malloc(sizeof(*round));
	double *p50 = NULL, *p99 = NULL;
	struct matrix_pair *pairs = NULL;
	unsigned npus, npairs = 0, total = 0;
	uint64_t n = gb_max_iterations(st), per_pair, elapsed = 0, delivered = 0, bytes = 0;
	char why[SCENARIO_ERRLEN] = "", msg[SCENARIO_ERRLEN], label[SCENARIO_LABELLEN];
	struct result res;
	int rc = -ENOMEM;

	if (!pus || !all || !round)
		goto fail;
	hist_init(all);
	npus = matrix_pus(topo, c->spec.placement, pus, TOPO_MAX_CPUS);
	rc = matrix_pairs(pus, npus, max, MATRIX_SEED, &pairs, &npairs, &total);
	if (rc == -EINVAL) {
		gb_skip_with_error(st, "skipped: a matrix needs at least 2 PUs");
		goto out;
	}
	p50 = calloc(npairs ? npairs : 1, sizeof(*p50));
	p99 = calloc(npairs ? npairs : 1, sizeof(*p99));
	if (rc < 0 || !p50 || !p99)
		goto fail;
	per_pair = n / npairs > MATRIX_MIN_ROUND_TRIPS ? n / npairs : MATRIX_MIN_ROUND_TRIPS;
	for (unsigned k = 0; k < npairs; k++) {
		struct placement pl = { .kind = PLACE_CPUS, .ncpus = 2, .cpus = { pairs[k].sender, pairs[k].receiver } };
		struct case_spec spec = c->spec;
		struct case_run *run = NULL;

		spec.placement = &pl;
		rc = case_open(&run, &spec, why);
		if (rc == 0 && (rc = case_warmup(run, MATRIX_WARMUP, why)) == 0)
			rc = case_round(run, per_pair, round, why);
		if (run)
			case_close(run, NULL);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "%s (pair %d -> %d)", why, pairs[k].sender, pairs[k].receiver);
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

		for (unsigned i = 0; i < npus && o < sizeof(label); i++)
			o += (size_t)snprintf(label + o, sizeof(label) - o, "%s%d", i ? "," : "", pus[i]);
		if (o < sizeof(label))
			snprintf(label + o, sizeof(label) - o, " pairs=%u of %u", npairs, total);
	}
	res.label = label;
	res.extra[res.nextra++] = (struct result_extra){ "pairs", npairs };
	res.extra[res.nextra++] = (struct result_extra){ "pairs_total", total };
	suite_report(st, &res);
	suite_keep_hist(c, all);
	if (c->out_dir) {
		const char *mech = subject_name(&c->spec.subject), *wait = ipc_wait_name(c->spec.wait);
		struct csv_arg a = { pus, npus, pairs, npairs, p50, topo };
		char name[256];

		snprintf(name, sizeof(name), "matrix-%s-%s-p50.csv", mech, wait);
		rc = write_file(c->out_dir, name, csv_values, &a);
		a.value = p99;
		snprintf(name, sizeof(name), "matrix-%s-%s-p99.csv", mech, wait);
		if (rc == 0)
			rc = write_file(c->out_dir, name, csv_values, &a);
		if (rc == 0)
			rc = write_file(c->out_dir, "matrix-classes.csv", csv_classes, &a);
		if (rc < 0) {
			snprintf(msg, sizeof(msg), "failed: writing %.100s in %.200s: %.100s", name, c->out_dir,
				 strerror(-rc));
			gb_skip_with_error(st, msg);
		}
	}
	goto out;
fail:
	gb_skip_with_error(st, "failed: out of memory");
out:
	free(pus);
	free(all);
	free(round);
	free(p50);
	free(p99);
	free(pairs);
}
