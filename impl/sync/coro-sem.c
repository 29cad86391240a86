/* coro-sem - a counting semaphore whose wait yields to the other
 * coroutines of its thread (coroutine.h) instead of blocking it: under
 * --workers=coroutine a hand-off is two user-space context switches and no
 * system call, the counterpart of gevent's Semaphore.  Outside a running
 * coroutine scheduler (forked processes, threads) the same object is a
 * futex semaphore: block sleeps in futex(2) on the count, spin polls it in
 * the bounded spin of sync_impl.h; so one row compares the three backends.
 *
 * post adds one and makes a system call only when a waiter outside a
 * coroutine announced itself (waiters, Dekker-style: see atomics.h); a
 * coroutine that waits is parked by its scheduler on the count word, which
 * the scheduler reads itself, so it never needs a wake.  The workers of
 * one case are all coroutines of one thread or all not, never mixed. */
#include <errno.h>
#include <limits.h>

#include "coroutine.h"
#include "sync_impl.h"

/* Largest count: a signed int's, as SEM_VALUE_MAX. */
#define CORO_SEM_MAX ((unsigned)INT_MAX)

struct csem_obj {
	struct sync_hdr hdr;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t count;
	_Atomic uint32_t waiters; /* sleepers in futex(2), not coroutines */
};

static int csem_create(const struct sync_params *p, void **obj, char *err);
static int csem_post(void *h);
static int csem_wait(void *h);

const struct sync_ops sync_coro_sem_ops = {
	.name = "coro-sem",
	.summary = "counting semaphore whose wait yields to the peer coroutine (a futex semaphore "
		   "outside coroutines)",
	.caps = {
		.ops = SYNC_OP_SEM,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED | SYNC_YIELDS,
		.owner_death = SYNC_DEATH_NA,
		.max_count = CORO_SEM_MAX,
	},
	.create = csem_create,
	.attach = sync_attach_self,
	.post = csem_post,
	.wait = csem_wait,
	.detach = sync_detach_none,
	.destroy = sync_obj_free,
};

static int csem_create(const struct sync_params *p, void **obj, char *err)
{
	int rc = sync_obj_new(&sync_coro_sem_ops, p, sizeof(struct csem_obj), obj, err);

	if (rc == 0)
		atomic_store(&((struct csem_obj *)*obj)->count, p->initial);
	return rc;
}

static int csem_post(void *h)
{
	struct csem_obj *o = h;
	uint32_t c = ipc_load_relaxed(&o->count);

	do {
		if (c >= CORO_SEM_MAX)
			return -EOVERFLOW;
	} while (!ipc_cas(&o->count, &c, c + 1));
	ipc_fence_full();
	if (ipc_load_relaxed(&o->waiters)) {
		int rc = sync_futex_wake(&o->count, 1, 0);

		return rc < 0 ? rc : 0;
	}
	return 0;
}

/* Take one if there is one. */
static bool csem_take(struct csem_obj *o)
{
	uint32_t c = ipc_load_acquire(&o->count);

	while (c > 0)
		if (ipc_cas(&o->count, &c, c - 1))
			return true;
	return false;
}

static int csem_wait(void *h)
{
	struct csem_obj *o = h;
	struct sync_spin s;

	if (coro_active()) {
		/* Parked until the count is not 0; another coroutine may take
		 * it first, so take again. */
		while (!csem_take(o))
			coro_wait_until(&o->count, 0, false, 0);
		return 0;
	}
	if (o->hdr.params.wait == IPC_WAIT_SPIN) {
		sync_spin_init(&s, &o->hdr);
		while (!csem_take(o))
			sync_spin_pause(&s);
		return 0;
	}
	while (!csem_take(o)) {
		int rc;

		ipc_fetch_add(&o->waiters, 1);
		rc = ipc_load_acquire(&o->count) == 0 ? sync_futex_wait(&o->count, 0, 0) : 0;
		ipc_fetch_sub(&o->waiters, 1);
		if (rc < 0 && rc != -EAGAIN && rc != -EINTR)
			return rc;
	}
	return 0;
}
