/* futex-event - a minimal event and notification on shared futex words.
 * set/notify make a system call only when a waiter announced itself
 * (waiters count, Dekker-style: see atomics.h).  Spin wait: poll the word
 * in a bounded spin. */
#include <errno.h>
#include <limits.h>

#include "sync_impl.h"

struct fevent_obj {
	struct sync_hdr hdr;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t flag; /* EVENT: 0 or 1 */
	_Atomic uint32_t flag_waiters;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t gen;  /* NOTIFY: generation */
	_Atomic uint32_t gen_waiters;
};

static int fevent_create(const struct sync_params *p, void **obj, char *err);
static int fevent_set(void *h);
static int fevent_wait_set(void *h);
static int fevent_reset(void *h);
static int fevent_notify(void *h);
static int fevent_await(void *h, uint32_t *seen);

const struct sync_ops sync_futex_event_ops = {
	.name = "futex-event",
	.summary = "event and notification on shared futex words",
	.caps = {
		.ops = SYNC_OP_EVENT | SYNC_OP_NOTIFY,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_NA,
	},
	.create = fevent_create,
	.attach = sync_attach_self,
	.set = fevent_set,
	.wait_set = fevent_wait_set,
	.reset = fevent_reset,
	.notify = fevent_notify,
	.await = fevent_await,
	.detach = sync_detach_none,
	.destroy = sync_obj_free,
};

static int fevent_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_obj_new(&sync_futex_event_ops, p, sizeof(struct fevent_obj), obj, err);
}

/* Publish *word = v, then wake whoever announced itself in *waiters. */
static int publish(_Atomic uint32_t *word, _Atomic uint32_t *waiters)
{
	ipc_fence_full();
	if (ipc_load_relaxed(waiters)) {
		int rc = sync_futex_wake(word, INT_MAX, 0);

		return rc < 0 ? rc : 0;
	}
	return 0;
}

/* Wait while *word == old (spin or sleep per the object's wait). */
static int wait_while(struct fevent_obj *o, _Atomic uint32_t *word, _Atomic uint32_t *waiters,
		      uint32_t old)
{
	struct sync_spin s;

	if (o->hdr.params.wait == IPC_WAIT_SPIN) {
		sync_spin_init(&s, &o->hdr);
		while (ipc_load_acquire(word) == old)
			sync_spin_pause(&s);
		return 0;
	}
	while (ipc_load_acquire(word) == old) {
		int rc;

		ipc_fetch_add(waiters, 1);
		rc = ipc_load_acquire(word) == old ? sync_futex_wait(word, old, 0) : 0;
		ipc_fetch_sub(waiters, 1);
		if (rc < 0 && rc != -EAGAIN && rc != -EINTR)
			return rc;
	}
	return 0;
}

static int fevent_set(void *h)
{
	struct fevent_obj *o = h;

	ipc_store_release(&o->flag, 1);
	return publish(&o->flag, &o->flag_waiters);
}

static int fevent_wait_set(void *h)
{
	struct fevent_obj *o = h;

	return wait_while(o, &o->flag, &o->flag_waiters, 0);
}

static int fevent_reset(void *h)
{
	ipc_store_release(&((struct fevent_obj *)h)->flag, 0);
	return 0;
}

static int fevent_notify(void *h)
{
	struct fevent_obj *o = h;

	ipc_fetch_add(&o->gen, 1);
	return publish(&o->gen, &o->gen_waiters);
}

static int fevent_await(void *h, uint32_t *seen)
{
	struct fevent_obj *o = h;
	int rc = wait_while(o, &o->gen, &o->gen_waiters, *seen);

	*seen = ipc_load_acquire(&o->gen);
	return rc;
}
