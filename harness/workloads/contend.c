/* contend.c - N workers acquire and release one lock around a critical
 * section that writes a shared cache line, for cs:NS inside and outside:NS
 * outside (axes of the case name).  A sample is one acquire (request to
 * grant).  Besides the usual counters: acquisitions per second, fairness
 * (each worker's share of the acquisitions: min, max and Jain's index) and
 * the hand-off idle time (how long the lock sat free while a worker that
 * was already waiting had not yet got it). */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "sync_family.h"

static unsigned contend_procs(unsigned pool)
{
	return pool;
}

static uint64_t contend_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n; /* acquisitions */
}

/* Busy work for ns (at least one pass); inside the lock each pass writes
 * the shared line. */
static void work(uint64_t ns, uint64_t *line)
{
	uint64_t end = ns ? clk_now_ns() + ns : 0;

	do {
		if (line)
			line[0]++;
		else
			cpu_relax();
	} while (ns && clk_now_ns() < end);
}

static int contend_round(struct pool_worker *w, struct sync_case *sc, struct sync_worker *me,
			 const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct case_run *r = w->arg;
	const struct sync_ops *o = sc->ops;
	struct sync_shared *sh = sc->sh;
	int rc;

	for (;;) {
		uint64_t t_req = clk_now_ns(), t_acq, rel, t;

		if ((rc = sync_acquire(o, me->h[0])) < 0)
			goto fail;
		t_acq = clk_now_ns();
		t = ipc_load_relaxed(&sh->taken); /* written under the lock only */
		if (t >= cmd->n) {
			if ((rc = sync_release(o, me->h[0])) < 0)
				goto fail;
			return 0;
		}
		ipc_store_relaxed(&sh->taken, t + 1);
		rel = ipc_load_relaxed(&sh->released_ns);
		if (rel > t_req) { /* it came free while we waited */
			sh->idle_ns[w->id] += t_acq - rel;
			sh->handoffs[w->id]++;
		}
		work(r->spec.cs_ns, sh->line);
		ipc_store_relaxed(&sh->released_ns, clk_now_ns());
		if ((rc = sync_release(o, me->h[0])) < 0)
			goto fail;
		hist_record(&out->lat, t_acq - t_req);
		out->received++;
		wl_tick(out, out->received);
		work(r->spec.outside_ns, NULL);
	}
fail:
	snprintf(w->err, POOL_ERRLEN, "%s: worker %u: %s", o->name, w->id, strerror(-rc));
	return rc;
}

static void contend_counters(const struct case_run *r, struct case_round *out)
{
	const struct sync_shared *sh = ((const struct sync_case *)r->fam)->sh;
	double sum = 0, sumsq = 0, lo = 0, hi = 0, idle = 0, handoffs = 0;

	for (unsigned i = 0; i < r->nprocs; i++) {
		double x = (double)((const struct wl_slot *)pool_slot(r->pool, i))->received;

		sum += x;
		sumsq += x * x;
		lo = i == 0 || x < lo ? x : lo;
		hi = x > hi ? x : hi;
		idle += (double)sh->idle_ns[i];
		handoffs += (double)sh->handoffs[i];
	}
	case_round_counter(out, "acquisitions_per_s",
			   out->elapsed_ns ? sum * 1e9 / (double)out->elapsed_ns : 0);
	case_round_counter(out, "fair_min_share", sum > 0 ? lo / sum : 0);
	case_round_counter(out, "fair_max_share", sum > 0 ? hi / sum : 0);
	case_round_counter(out, "fair_jain", sumsq > 0 ? sum * sum / (r->nprocs * sumsq) : 0);
	case_round_counter(out, "handoff_idle_ns", handoffs > 0 ? idle / handoffs : 0);
	case_round_counter(out, "handoffs", handoffs);
}

/* Between rounds (workers idle): start the next one from zero. */
static int contend_check(const struct case_run *r, struct sync_case *sc, uint64_t n, char *why)
{
	struct sync_shared *sh = sc->sh;

	(void)n, (void)why;
	ipc_store_relaxed(&sh->taken, 0);
	ipc_store_relaxed(&sh->released_ns, 0);
	memset(sh->idle_ns, 0, sizeof(sh->idle_ns[0]) * r->nprocs);
	memset(sh->handoffs, 0, sizeof(sh->handoffs[0]) * r->nprocs);
	return 0;
}

static const struct sync_graph contend_graph = {
	.ops_any = SYNC_OP_LOCK | SYNC_OP_SEM,
	.needs = "lock/unlock or post/wait",
	.nobj = 1,
	.sem_initial = 1, /* a semaphore guards as a lock */
	.round = contend_round,
	.check = contend_check,
	.counters = contend_counters,
};

/* The quick profile's subset (make bench stays under 10 minutes). */
static const char *const quick[] = { "futex-lock", NULL };

const struct workload wl_contend = {
	.name = "contend",
	.summary = "N workers take one lock around a critical section (axes cs:NS, outside:NS)",
	.family = &family_sync,
	.latency = WL_LAT_OPERATION,
	.pool_axis = true,
	.procs_text = "N",
	.procs = contend_procs,
	.roles = "each: acquire, write the shared line for cs ns, release, work outside ns",
	.delivered = contend_delivered,
	.sizes = WL_SIZES_FIXED,
	.fixed_size = 0,
	.engine = &sync_engine,
	.quick_subjects = quick,
	.quick_max_pool = 2,
	.graph = &contend_graph,
	.lock_axes = true,
};
