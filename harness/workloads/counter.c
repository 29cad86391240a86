/* counter.c - N workers each add 1 to one shared integer, guarded by the
 * primitive (Python's `with v.get_lock(): v.value += 1`); the final value
 * is checked exactly after every round, and a wrong count fails the case
 * with the numbers.  A sample is one guarded increment. */
#include <inttypes.h>

#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "sync_family.h"

static unsigned counter_procs(unsigned pool)
{
	return pool;
}

static uint64_t counter_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n; /* increments */
}

static int counter_round(struct pool_worker *w, struct sync_case *sc, struct sync_worker *me,
			 const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct sync_ops *o = sc->ops;
	uint64_t share = sync_share(cmd->n, w->id, w->n);
	volatile uint64_t *value = &sc->sh->value;
	int rc;

	for (uint64_t k = 0; k < share; k++) {
		uint64_t t0 = clk_now_ns();

		if ((rc = sync_acquire(o, me->h[0])) < 0)
			goto fail;
		*value = *value + 1; /* a plain read-modify-write: the lock's job */
		if ((rc = sync_release(o, me->h[0])) < 0)
			goto fail;
		hist_record(&out->lat, clk_now_ns() - t0);
		out->received++;
		wl_tick(out, k + 1);
	}
	return 0;
fail:
	snprintf(w->err, POOL_ERRLEN, "%s: worker %u: %s", o->name, w->id, strerror(-rc));
	return rc;
}

static int counter_check(const struct case_run *r, struct sync_case *sc, uint64_t n, char *why)
{
	uint64_t got = sc->sh->value;

	sc->sh->value = 0; /* workers are idle between rounds */
	if (got == n)
		return 0;
	snprintf(why, SCENARIO_ERRLEN, "failed: counter is %" PRIu64 " after %" PRIu64
		 " increments by %u workers under %s (%" PRId64 " lost)", got, n, r->nprocs,
		 sc->ops->name, (int64_t)(n - got));
	return -EPROTO;
}

static const struct sync_graph counter_graph = {
	.ops_any = SYNC_OP_LOCK | SYNC_OP_SEM,
	.needs = "lock/unlock or post/wait",
	.nobj = 1,
	.sem_initial = 1, /* a semaphore guards as a lock */
	.round = counter_round,
	.check = counter_check,
};

/* The quick profile's subset (make bench stays under 10 minutes). */
static const char *const quick[] = { "posix-sem-named", NULL };

const struct workload wl_counter = {
	.name = "counter",
	.summary = "N workers add 1 to one shared integer under the primitive; total checked",
	.family = &family_sync,
	.latency = WL_LAT_OPERATION,
	.pool_axis = true,
	.procs_text = "N",
	.procs = counter_procs,
	.roles = "each: its share of n guarded increments",
	.delivered = counter_delivered,
	.sizes = WL_SIZES_FIXED,
	.fixed_size = 0,
	.engine = &sync_engine,
	.quick_subjects = quick,
	.quick_max_pool = 2,
	.graph = &counter_graph,
};
