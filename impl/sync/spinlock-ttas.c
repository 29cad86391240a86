/* spinlock-ttas - test-and-test-and-set spinlock with exponential backoff:
 * read until free (the line stays shared while held), then one exchange;
 * after a lost race wait 1, 2, 4 ... SPIN_TTAS_BACKOFF_MAX pauses.  Every
 * pause goes through sync_spin_pause, so a waiter that spun past its limit
 * naps (sync_impl.h: 200 us, or 5 us with more workers than CPUs). */
#include "sync_impl.h"

/* Pauses after a lost race, at most: ~a microsecond of pause on x86, about
 * one hand-off between running CPUs, so backoff never hides a free lock
 * for long. */
#define SPIN_TTAS_BACKOFF_MAX 64u

struct ttas_obj {
	struct sync_hdr hdr;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t held;
};

static int ttas_create(const struct sync_params *p, void **obj, char *err);
static int ttas_lock(void *h);
static int ttas_unlock(void *h);

const struct sync_ops sync_spinlock_ttas_ops = {
	.name = "spinlock-ttas",
	.summary = "test-and-test-and-set spinlock with exponential backoff",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_HANGS,
	},
	.create = ttas_create,
	.attach = sync_attach_self,
	.lock = ttas_lock,
	.unlock = ttas_unlock,
	.detach = sync_detach_none,
	.destroy = sync_obj_free,
};

static int ttas_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_obj_new(&sync_spinlock_ttas_ops, p, sizeof(struct ttas_obj), obj, err);
}

static int ttas_lock(void *h)
{
	struct ttas_obj *o = h;
	struct sync_spin s;
	unsigned backoff = 1;

	sync_spin_init(&s, &o->hdr);
	for (;;) {
		while (ipc_load_relaxed(&o->held))
			sync_spin_pause(&s);
		if (atomic_exchange_explicit(&o->held, 1, memory_order_acquire) == 0)
			return 0;
		for (unsigned i = 0; i < backoff; i++)
			sync_spin_pause(&s);
		if (backoff < SPIN_TTAS_BACKOFF_MAX)
			backoff *= 2;
	}
}

static int ttas_unlock(void *h)
{
	ipc_store_release(&((struct ttas_obj *)h)->held, 0);
	return 0;
}
