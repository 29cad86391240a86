/* handoff.c - A wakes B and B wakes A through two objects of the primitive
 * (post/wait, set/wait/reset, or notify/await); a sample is one round trip,
 * timed by worker 0, so it reads beside a channel's pingpong. */
#include <stdio.h>
#include <string.h>

#include "clock.h"
#include "sync_family.h"

static unsigned handoff_procs(unsigned pool)
{
	(void)pool;
	return 2;
}

static uint64_t handoff_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return 2 * n; /* one wake-up each way */
}

static int wake(const struct sync_ops *o, void *h)
{
	if (o->caps.ops & SYNC_OP_SEM)
		return o->post(h);
	if (o->caps.ops & SYNC_OP_EVENT)
		return o->set(h);
	return o->notify(h);
}

static int await_wake(const struct sync_ops *o, void *h, uint32_t *seen)
{
	int rc;

	if (o->caps.ops & SYNC_OP_SEM)
		return o->wait(h);
	if (o->caps.ops & SYNC_OP_EVENT) {
		rc = o->wait_set(h);
		return rc < 0 ? rc : o->reset(h);
	}
	return o->await(h, seen);
}

/* Object i wakes worker i. */
static int handoff_round(struct pool_worker *w, struct sync_case *sc, struct sync_worker *me,
			 const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct sync_ops *o = sc->ops;
	unsigned id = w->id, peer = !id;
	int rc;

	for (uint64_t k = 0; k < cmd->n; k++) {
		uint64_t t0 = clk_now_ns();

		if (id == 0 && (rc = wake(o, me->h[peer])) < 0)
			goto fail;
		if ((rc = await_wake(o, me->h[id], &me->seen[id])) < 0)
			goto fail;
		if (id == 1 && (rc = wake(o, me->h[peer])) < 0)
			goto fail;
		if (id == 0)
			hist_record(&out->lat, clk_now_ns() - t0);
		out->received++;
		wl_tick(out, k + 1);
	}
	return 0;
fail:
	snprintf(w->err, POOL_ERRLEN, "%s: worker %u: %s", o->name, id, strerror(-rc));
	return rc;
}

static const struct sync_graph handoff_graph = {
	.ops_any = SYNC_OP_SEM | SYNC_OP_EVENT | SYNC_OP_NOTIFY,
	.needs = "post/wait, set/wait/reset or notify/await",
	.nobj = 2,
	.sem_initial = 0,
	.round = handoff_round,
};

/* The quick profile's subset (make bench stays under 10 minutes). */
static const char *const quick[] = { "futex-event", "posix-sem", NULL };

const struct workload wl_handoff = {
	.name = "handoff",
	.summary = "A wakes B, B wakes A through a sync primitive (post/wait, set/wait, notify)",
	.family = &family_sync,
	.latency = WL_LAT_ROUND_TRIP,
	.pool_axis = false,
	.procs_text = "2",
	.procs = handoff_procs,
	.roles = "0: wakes 1 and times until 1 wakes it back; 1: waits, then wakes 0",
	.delivered = handoff_delivered,
	.sizes = WL_SIZES_FIXED,
	.fixed_size = 0,
	.engine = &sync_engine,
	.quick_subjects = quick,
	.graph = &handoff_graph,
};
