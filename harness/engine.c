/* engine.c - opens, runs and closes any case (subject x workload): places
 * the workers, starts the pool, releases timed rounds, merges what every
 * worker reported and checks that the counts add up.  The family's engine
 * (struct wl_engine) does the rest; nothing here names a workload. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "load.h"
#include "pool.h"
#include "sig.h"
#include "workload.h"

/* The round watchdog is a stall limit (spec.timeout_ms without any worker
 * making progress, see pool_cfg.progress): a slow but live round, such as
 * spinning on an oversubscribed machine, runs to its end; a hang does not. */
#define STOP_TIMEOUT_MS 2000u
/* Distinct CPU classes the label lists. */
#define LABEL_MAX_CLASSES 8

static const char *const latency_names[WL_LAT_COUNT] = {
	[WL_LAT_ROUND_TRIP] = "round trip",
	[WL_LAT_ONE_WAY] = "one way",
	[WL_LAT_QUEUEING] = "queueing delay",
	[WL_LAT_OPERATION] = "operation",
	[WL_LAT_LAP] = "lap",
};

static const char *const outcome_names[CASE_OUTCOME_COUNT] = {
	[CASE_OK] = "ok",
	[CASE_SKIPPED] = "skipped",
	[CASE_FAILED] = "failed",
	[CASE_INTERRUPTED] = "interrupted",
};

enum case_outcome case_outcome_of(int rc)
{
	return rc == 0 ? CASE_OK : rc == -ENOTSUP ? CASE_SKIPPED : rc == -EINTR ? CASE_INTERRUPTED : CASE_FAILED;
}

const char *case_outcome_name(enum case_outcome o)
{
	return (unsigned)o < CASE_OUTCOME_COUNT ? outcome_names[o] : "?";
}

int case_why(char *why, int rc, const char *fmt, ...)
{
	int o = snprintf(why, SCENARIO_ERRLEN, "%s: ", case_outcome_name(case_outcome_of(rc)));
	va_list ap;

	va_start(ap, fmt);
	if (o > 0 && o < SCENARIO_ERRLEN)
		vsnprintf(why + o, SCENARIO_ERRLEN - (size_t)o, fmt, ap);
	va_end(ap);
	return rc;
}

const char *wl_latency_name(enum wl_latency l)
{
	return (unsigned)l < WL_LAT_COUNT ? latency_names[l] : "?";
}

unsigned wl_pool(const struct workload *wl, unsigned pool)
{
	return wl->pool_axis ? pool : 1;
}

static uint64_t slot_progress(const void *slot)
{
	return __atomic_load_n(&((const struct wl_slot *)slot)->progress, __ATOMIC_RELAXED);
}

static int worker_setup(struct pool_worker *w)
{
	const struct case_run *r = w->arg;

	return r->spec.workload->engine->setup ? r->spec.workload->engine->setup(w) : 0;
}

static void worker_teardown(struct pool_worker *w)
{
	const struct case_run *r = w->arg;

	if (r->spec.workload->engine->teardown)
		r->spec.workload->engine->teardown(w);
}

static int worker_round(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	struct wl_slot *out = w->slot;
	int rc;

	memset(out, 0, offsetof(struct wl_slot, lat));
	hist_init(&out->lat);
	pool_sync(w); /* everyone attached, reset and ready: go together */
	out->t_start = clk_now_ns();
	rc = r->spec.workload->engine->round(w, w->cmd, out);
	out->t_end = clk_now_ns();
	return rc;
}

void case_pool_callbacks(struct case_run *r, struct pool_cfg *cfg)
{
	cfg->slot_size = sizeof(struct wl_slot);
	cfg->cmd_size = sizeof(struct wl_cmd);
	cfg->setup = worker_setup;
	cfg->round = worker_round;
	cfg->teardown = worker_teardown;
	cfg->arg = r;
	cfg->progress = slot_progress;
}

static void make_label(struct case_run *r)
{
	const struct wl_engine *e = r->spec.workload->engine;
	size_t used = 0, len = sizeof(r->label);
	const char *classes[LABEL_MAX_CLASSES];
	unsigned nclasses = 0;

	used += (size_t)snprintf(r->label, len, "cpus=");
	for (unsigned i = 0; i < r->nprocs && used < len; i++) {
		int cpu = r->pool ? pool_worker_ran_on(r->pool, i) : -1;

		used += (size_t)snprintf(r->label + used, len - used, "%s%d", i ? "," : "", cpu);
	}
	/* Classes of every communicating pair (sender's CPU, receiver's CPU). */
	for (unsigned i = 0; i < r->nprocs; i++)
		for (unsigned j = 0; j < r->nprocs; j++) {
			const char *cls;
			bool seen = false;

			if (!e->talks(r, j, i))
				continue;
			cls = topo_pair_class(r->spec.topo, r->cpus[i], r->cpus[j]);
			for (unsigned k = 0; k < nclasses; k++)
				seen |= strcmp(classes[k], cls) == 0;
			if (!seen && nclasses < LABEL_MAX_CLASSES)
				classes[nclasses++] = cls;
		}
	if (used < len)
		used += (size_t)snprintf(r->label + used, len - used, " class=");
	for (unsigned k = 0; k < nclasses && used < len; k++)
		used += (size_t)snprintf(r->label + used, len - used, "%s%s", k ? "," : "", classes[k]);
	if (r->note[0] && used < len)
		used += (size_t)snprintf(r->label + used, len - used, "%s", r->note);
	if (r->spec.workers != POOL_PROCESS && used < len) /* the default is left out */
		used += (size_t)snprintf(r->label + used, len - used, " workers=%s", pool_backend_name(r->spec.workers));
	/* What the latency is, where a reader could take it for one way: a
	 * flat-out stream (pairs, fanout, fanin) times its full buffer. */
	if (r->spec.workload->latency == WL_LAT_QUEUEING && used < len)
		snprintf(r->label + used, len - used, "%s", load_open(&r->spec.load) ?
			 " latency: from the intended send time, open loop" : " latency: queueing delay at saturation");
}

static void free_run(struct case_run *r)
{
	if (!r)
		return;
	if (r->fam)
		r->spec.workload->engine->destroy(r);
	free(r->cpus);
	free(r);
}

int case_open(struct case_run **out, const struct case_spec *spec, char *why)
{
	const struct workload *wl = spec->workload;
	struct case_run *r = calloc(1, sizeof(*r));
	char err[TOPO_ERRLEN] = "";
	char reason[POOL_ERRLEN] = "";
	int rc;

	*out = NULL;
	why[0] = '\0';
	if (!r)
		return -ENOMEM;
	r->spec = *spec;
	r->spec.pool = wl_pool(wl, spec->pool);
	if (r->spec.pool == 0) {
		case_why(why, -EINVAL, "pool 0: a pool has at least 1 worker");
		free(r);
		return -EINVAL;
	}
	if (wl->family && spec->subject.family != wl->family) {
		case_why(why, -ENOTSUP, "%s drives the %s family; %s is a %s",
			 wl->name, wl->family->name, subject_name(&spec->subject),
			 spec->subject.family ? spec->subject.family->name : "nothing");
		free(r);
		return -ENOTSUP;
	}
	r->nprocs = wl->procs(r->spec.pool);
	if (r->nprocs > POOL_MAX_WORKERS) {
		case_why(why, -EINVAL, "pool %u is too large (at most %u processes)", r->spec.pool, POOL_MAX_WORKERS);
		free(r);
		return -EINVAL;
	}
	if (pool_backend_is_coroutine(spec->workers) && r->nprocs > 1 &&
	    !(wl->family->member_yields && spec->subject.table && wl->family->member_yields(spec->subject.table))) {
		case_why(why, -ENOTSUP, "%s would block the only thread of --workers=%s (its waits do not yield; the coro channel's and coro-sem's do)",
			 spec->subject.table ? subject_name(&spec->subject) : wl->name, pool_backend_name(spec->workers));
		free(r);
		return -ENOTSUP;
	}
	r->cpus = calloc(r->nprocs, sizeof(*r->cpus));
	if (!r->cpus) {
		free(r);
		return -ENOMEM;
	}
	rc = wl->engine->prepare(r, why);
	if (rc < 0) {
		free_run(r);
		return rc;
	}
	rc = topo_place(spec->topo, spec->placement, r->nprocs, r->cpus, &r->oversubscribed, err);
	if (rc < 0) {
		case_why(why, rc, "%s", err);
		free_run(r);
		return rc;
	}
	struct pool_cfg cfg = {
		.nworkers = r->nprocs,
		.cpus = r->cpus,
		.topo = spec->topo,
		.start_timeout_ms = spec->timeout_ms + STOP_TIMEOUT_MS,
		.backend = spec->workers,
	};
	case_pool_callbacks(r, &cfg);
	if (spec->workers == POOL_MPI) /* ranks: worker 0's part here, the rest described */
		rc = case_mpi_describe(r, &cfg, why);
	else
		rc = wl->engine->create ? wl->engine->create(r, why) : 0;
	if (rc < 0) {
		case_mpi_free(&cfg);
		free_run(r);
		return rc;
	}
	rc = pool_start(&r->pool, &cfg, reason);
	case_mpi_free(&cfg);
	if (rc < 0) {
		r->pool = NULL;
		if (rc == -ENOTSUP) /* a worker's own -ENOTSUP fails the case: it started */
			rc = -EIO;
		case_why(why, rc, "%s", reason);
		free_run(r);
		return rc;
	}
	if (wl->engine->started && spec->workers != POOL_MPI) /* rank 0 is worker 0 */
		wl->engine->started(r);
	make_label(r);
	*out = r;
	return 0;
}

int case_round(struct case_run *r, uint64_t n, struct case_round *out, char *why)
{
	const struct workload *wl = r->spec.workload;
	struct wl_cmd *cmd = pool_cmd(r->pool);
	char reason[POOL_ERRLEN] = "";
	uint64_t t0 = UINT64_MAX, t1 = 0, sum = 0, sumsq = 0, want;
	int rc;

	why[0] = '\0';
	if (r->dead) {
		return case_why(why, -ECHILD, "the case's pool is gone after an earlier error");
	}
	if (n == 0)
		n = 1;
	rc = load_arm(r, cmd, why); /* open loop: the schedule (saturation first) */
	if (rc < 0)
		return rc;
	cmd->n = n;
	cmd->verify = r->spec.verify;
	rc = pool_round(r->pool, r->spec.timeout_ms, reason);
	if (rc < 0) {
		r->dead = true;
		if (rc == -ENOTSUP) /* a worker's own -ENOTSUP fails the round */
			rc = -EIO;
		case_why(why, rc, "%s", reason);
		return rc;
	}

	memset(out, 0, offsetof(struct case_round, lat));
	hist_init(&out->lat);
	out->n = n;
	for (unsigned i = 0; i < r->nprocs; i++) {
		const struct wl_slot *s = pool_slot(r->pool, i);

		if (s->t_start < t0)
			t0 = s->t_start;
		if (s->t_end > t1)
			t1 = s->t_end;
		out->delivered += s->received;
		out->bytes += s->bytes;
		sum += s->sum;
		sumsq += s->sumsq;
		hist_merge(&out->lat, &s->lat); /* roles that time nothing add nothing */
	}
	out->elapsed_ns = t1 > t0 ? t1 - t0 : 1;

	/* Every message arrived exactly once. */
	want = wl->delivered(r->spec.pool, n);
	if (out->delivered != want) {
		case_why(why, -EPROTO, "%" PRIu64 " messages arrived, %" PRIu64 " were sent", out->delivered, want);
		r->dead = true;
		return -EPROTO;
	}
	if (wl->engine->counters)
		wl->engine->counters(r, out);
	load_counters(r, out);
	if (wl->engine->check_round && (rc = wl->engine->check_round(r, n, sum, sumsq, why)) < 0) {
		r->dead = true;
		return rc;
	}
	return 0;
}

int case_warmup(struct case_run *r, uint64_t n, char *why)
{
	struct case_round *tmp = malloc(sizeof(*tmp));
	int rc;

	if (!tmp)
		return -ENOMEM;
	rc = case_round(r, n, tmp, why);
	free(tmp);
	return rc;
}

const char *case_label(const struct case_run *r)
{
	return r->label;
}

bool case_oversubscribed(const struct case_run *r)
{
	return r->oversubscribed;
}

bool case_per_worker_channels(const struct case_run *r)
{
	return r->per_worker;
}

unsigned case_procs(const struct case_run *r)
{
	return r->nprocs;
}

unsigned case_hops(const struct case_run *r)
{
	return r->spec.workload->hops ? r->spec.workload->hops(r->spec.pool) : 0;
}

int case_close(struct case_run *r, char *why)
{
	char reason[POOL_ERRLEN] = "";
	int rc = 0;

	if (!r)
		return 0;
	if (r->pool) {
		rc = pool_stop(r->pool, STOP_TIMEOUT_MS, reason);
		if (rc < 0 && why)
			snprintf(why, SCENARIO_ERRLEN, "%s", reason);
	}
	free_run(r);
	return rc;
}
