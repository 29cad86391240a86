/* barrier.c - N workers cross a barrier n times; a sample is, for each
 * worker and crossing, the time from the last arrival to its release.
 * Each worker records its arrival time as a running maximum in slot
 * k % SYNC_BARRIER_SLOTS before it waits; once released it reads the slot:
 * nobody can arrive at crossing k + SYNC_BARRIER_SLOTS before everyone has
 * left crossing k, and arrivals only grow, so the slot then holds crossing
 * k's last arrival. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "sync_family.h"

static unsigned barrier_procs(unsigned pool)
{
	return pool;
}

static uint64_t barrier_delivered(unsigned pool, uint64_t n)
{
	return (uint64_t)pool * n; /* releases */
}

static void max_store(_Atomic uint64_t *slot, uint64_t v)
{
	uint64_t cur = ipc_load_relaxed(slot);

	while (cur < v && !atomic_compare_exchange_weak(slot, &cur, v))
		;
}

static int barrier_round(struct pool_worker *w, struct sync_case *sc, struct sync_worker *me,
			 const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct sync_ops *o = sc->ops;

	for (uint64_t k = 0; k < cmd->n; k++) {
		_Atomic uint64_t *slot = &sc->sh->arrived_ns[k % SYNC_BARRIER_SLOTS];
		uint64_t left, last;
		int rc;

		max_store(slot, clk_now_ns());
		rc = o->barrier_wait(me->h[0]);
		left = clk_now_ns();
		if (rc < 0) {
			snprintf(w->err, POOL_ERRLEN, "%s: worker %u: barrier_wait: %s", o->name,
				 w->id, strerror(-rc));
			return rc;
		}
		last = ipc_load_acquire(slot);
		hist_record(&out->lat, left > last ? left - last : 0);
		out->received++;
		wl_tick(out, k + 1);
	}
	return 0;
}

static const struct sync_graph barrier_graph = {
	.ops_any = SYNC_OP_BARRIER,
	.needs = "barrier_wait",
	.nobj = 1,
	.round = barrier_round,
};

/* The quick profile's subset (make bench stays under 10 minutes). */
static const char *const quick[] = { "pthread-barrier", "spin-barrier", NULL };

const struct workload wl_barrier = {
	.name = "barrier",
	.summary = "N workers cross a barrier repeatedly; latency from the last arrival to each release",
	.family = &family_sync,
	.latency = WL_LAT_OPERATION,
	.pool_axis = true,
	.procs_text = "N",
	.procs = barrier_procs,
	.roles = "each: arrives, waits, times its release from the last arrival",
	.delivered = barrier_delivered,
	.sizes = WL_SIZES_FIXED,
	.fixed_size = 0,
	.engine = &sync_engine,
	.quick_subjects = quick,
	.quick_max_pool = 2,
	.graph = &barrier_graph,
};
