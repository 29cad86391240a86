/* sync_family.h - the sync family (impl/sync.h tables) and its engine.
 *
 * A sync workload is one loop per worker over the operations of one or two
 * objects of the case's primitive; the engine (sync_family.c) creates the
 * objects before the pool starts, attaches them in every worker, seals them
 * once all attached (named objects lose their names), and destroys them.
 * A workload file declares what it needs (struct sync_graph) and its loop.
 */
#ifndef IPCLAB_WORKLOAD_SYNC_FAMILY_H
#define IPCLAB_WORKLOAD_SYNC_FAMILY_H

#include <errno.h>

#include "atomics.h"
#include "sync.h"
#include "workload.h"

extern const struct family family_sync;
extern const struct wl_engine sync_engine;

#define SYNC_CASE_MAX_OBJ 3
/* Barrier: arrival-time slots, reused in turn (see barrier.c). */
#define SYNC_BARRIER_SLOTS 4

/* What the workers of a case share besides the objects (MAP_SHARED). */
struct sync_shared {
	_Alignas(IPC_CACHELINE) uint64_t value;        /* counter: under the lock */
	_Alignas(IPC_CACHELINE) uint64_t line[IPC_CACHELINE / 8]; /* contend: written inside */
	_Alignas(IPC_CACHELINE) _Atomic uint64_t released_ns; /* contend: last release */
	_Atomic uint64_t taken;                        /* contend: acquisitions this round */
	_Alignas(IPC_CACHELINE) _Atomic uint64_t arrived_ns[SYNC_BARRIER_SLOTS];
	/* contend, per worker: time the lock sat free before this worker,
	 * already waiting, got it, and how many such hand-offs. */
	_Alignas(IPC_CACHELINE) uint64_t idle_ns[POOL_MAX_WORKERS];
	uint64_t handoffs[POOL_MAX_WORKERS];
	/* handoff through locks: the last step worker 1 took, written while
	 * it holds a lock worker 0 takes next (see handoff.c). */
	_Alignas(IPC_CACHELINE) _Atomic uint64_t lock_step;
	_Atomic unsigned primed; /* handoff through locks: workers holding their first locks */
};

/* The engine's state of one case (case_run.fam). */
struct sync_case {
	const struct sync_ops *ops;
	void *obj[SYNC_CASE_MAX_OBJ];
	unsigned nobj;
	struct sync_shared *sh;
};

/* A worker's own handles (pool_worker.priv). */
struct sync_worker {
	void *h[SYNC_CASE_MAX_OBJ];
	uint32_t seen[SYNC_CASE_MAX_OBJ]; /* notify: generation last seen */
	unsigned held;                    /* locks held across rounds (bit i: object i);
					     released before detach */
	uint64_t step;                    /* iterations done across rounds */
};

struct sync_graph {
	/* The subject needs at least one of these operation groups. */
	unsigned ops_any;
	const char *needs;        /* for the skip line: "post/wait, set/wait or notify" */
	unsigned nobj;            /* objects of the primitive the case uses */
	/* Objects when the subject has lock/unlock only (0: nobj). */
	unsigned nobj_lock_only;
	unsigned sem_initial;     /* their initial value (SEM) */
	/* One round (see wl_engine.round). */
	int (*round)(struct pool_worker *w, struct sync_case *sc, struct sync_worker *me,
		     const struct wl_cmd *cmd, struct wl_slot *out);
	/* Parent, after the round: check and reset what the workers share
	 * (NULL: nothing).  0 or -EPROTO with why. */
	int (*check)(const struct case_run *r, struct sync_case *sc, uint64_t n, char *why);
	/* Parent, after the round: the workload's own counters (NULL: none). */
	void (*counters)(const struct case_run *r, struct case_round *out);
};

/* The share of n iterations that worker id of nprocs does. */
static inline uint64_t sync_share(uint64_t n, unsigned id, unsigned nprocs)
{
	return n / nprocs + (id < n % nprocs);
}

/* Acquire/release: the lock, or a semaphore of initial 1 (a Python Lock
 * is a semaphore). */
static inline int sync_acquire(const struct sync_ops *o, void *h)
{
	if (o->caps.ops & SYNC_OP_LOCK) {
		int rc = o->lock(h);

		/* A robust lock whose owner died: recover it (the engine's
		 * counters cannot tell; the case fails only if recovery does). */
		if (rc == -EOWNERDEAD && o->consistent)
			rc = o->consistent(h);
		return rc;
	}
	return o->wait(h);
}

static inline int sync_release(const struct sync_ops *o, void *h)
{
	return (o->caps.ops & SYNC_OP_LOCK) ? o->unlock(h) : o->post(h);
}

/* A primitive whose only way to wake another worker is unlock. */
static inline bool sync_lock_only(const struct sync_ops *o)
{
	return (o->caps.ops & SYNC_OP_LOCK) &&
	       !(o->caps.ops & (SYNC_OP_SEM | SYNC_OP_EVENT | SYNC_OP_NOTIFY));
}

/* Objects a case of graph g makes for primitive o. */
static inline unsigned sync_graph_nobj(const struct sync_graph *g, const struct sync_ops *o)
{
	return g->nobj_lock_only && sync_lock_only(o) ? g->nobj_lock_only : g->nobj;
}

#endif
