/* handoff.c - A wakes B and B wakes A through two objects of the primitive
 * (post/wait, set/wait/reset, or notify/await), or through three locks of a
 * primitive that has only lock/unlock; a sample is one round trip, timed by
 * worker 0, so it reads beside a channel's pingpong.
 *
 * Through locks (each unlocked by its owner, as every lock requires): A
 * starts holding locks 0 and 1, B holding lock 2.  At step k, A unlocks
 * k % 3, which B is waiting to lock, and locks (k + 2) % 3, which B holds;
 * B, once it has k % 3, unlocks (k + 2) % 3 and so wakes A.  Each side
 * then holds the lock the other needs next, so the steps continue from
 * round to round; each lock has one waiter at a time, so any lock, fair or
 * not, hands over.  B writes its step while it holds the lock A takes
 * next; A checks it, so a lock that let A through early fails the case. */
#include <sched.h>
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

/* Locks of the three-lock hand-off: whom each worker holds at the start. */
#define LOCKS 3
#define HELD_BY_A ((1u << 0) | (1u << 1))
#define HELD_BY_B (1u << 2)

static int take(const struct sync_ops *o, struct sync_worker *me, unsigned i)
{
	int rc = sync_acquire(o, me->h[i]);

	if (rc == 0)
		me->held |= 1u << i;
	return rc;
}

static int give(const struct sync_ops *o, struct sync_worker *me, unsigned i)
{
	me->held &= ~(1u << i);
	return o->unlock(me->h[i]);
}

/* First round: each worker takes its starting locks, then waits until the
 * other has its own (a lock taken too late would let the peer through). */
static int prime_locks(const struct sync_ops *o, struct sync_shared *sh, struct sync_worker *me,
		       unsigned id)
{
	unsigned want = id == 0 ? HELD_BY_A : HELD_BY_B;
	int rc;

	for (unsigned i = 0; i < LOCKS; i++)
		if ((want & (1u << i)) && (rc = take(o, me, i)) < 0)
			return rc;
	atomic_fetch_add(&sh->primed, 1);
	while (atomic_load(&sh->primed) < 2) /* the pool's watchdog bounds this */
		sched_yield();
	return 0;
}

static int handoff_locks_round(struct pool_worker *w, struct sync_case *sc, struct sync_worker *me,
			       const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct sync_ops *o = sc->ops;
	struct sync_shared *sh = sc->sh;
	unsigned id = w->id;
	int rc = 0;

	if (!me->held && me->step == 0 && (rc = prime_locks(o, sh, me, id)) < 0)
		goto fail;
	for (uint64_t k = 0; k < cmd->n; k++, me->step++) {
		unsigned now = me->step % LOCKS, then = (me->step + 2) % LOCKS;
		uint64_t t0 = clk_now_ns();

		if (id == 0) {
			if ((rc = give(o, me, now)) < 0 || (rc = take(o, me, then)) < 0)
				goto fail;
			hist_record(&out->lat, clk_now_ns() - t0);
			uint64_t said = ipc_load_relaxed(&sh->lock_step); /* ordered by the lock */

			if (said != me->step + 1) {
				snprintf(w->err, POOL_ERRLEN, "%s: worker 0 got lock %u at step %llu "
					 "before worker 1 released it (it says step %llu)", o->name,
					 then, (unsigned long long)me->step, (unsigned long long)said);
				return -EPROTO;
			}
		} else {
			if ((rc = take(o, me, now)) < 0)
				goto fail;
			ipc_store_relaxed(&sh->lock_step, me->step + 1);
			if ((rc = give(o, me, then)) < 0)
				goto fail;
		}
		out->received++;
		wl_tick(out, k + 1);
	}
	return 0;
fail:
	snprintf(w->err, POOL_ERRLEN, "%s: worker %u: %s", o->name, id, strerror(-rc));
	return rc;
}

/* Object i wakes worker i. */
static int handoff_round(struct pool_worker *w, struct sync_case *sc, struct sync_worker *me,
			 const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct sync_ops *o = sc->ops;
	unsigned id = w->id, peer = !id;
	int rc;

	if (sync_lock_only(o))
		return handoff_locks_round(w, sc, me, cmd, out);
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
	.ops_any = SYNC_OP_SEM | SYNC_OP_EVENT | SYNC_OP_NOTIFY | SYNC_OP_LOCK,
	.needs = "post/wait, set/wait/reset, notify/await or lock/unlock",
	.nobj = 2,
	.nobj_lock_only = LOCKS,
	.sem_initial = 0,
	.round = handoff_round,
};

/* The quick profile's subset (make bench stays under 10 minutes). */
static const char *const quick[] = { "futex-event", "posix-sem", "posix-sem-named", "futex-lock",
				     NULL };

const struct workload wl_handoff = {
	.name = "handoff",
	.summary = "A wakes B, B wakes A through a sync primitive (post/wait, set/wait, notify, "
		   "or unlock/lock through three locks)",
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
