/* spinlock-ticket - a FIFO ticket spinlock: take a ticket (fetch-add on
 * next), spin until serving reaches it.  Fair by construction; with more
 * workers than CPUs a preempted next-in-line stalls everyone behind it,
 * which the bounded spin (sync_impl.h) turns into naps instead of burnt
 * time slices.  A worker that dies holding OR waiting for a ticket leaves
 * the lock stuck. */
#include "sync_impl.h"

struct ticket_obj {
	struct sync_hdr hdr;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t next;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t serving;
};

static int ticket_create(const struct sync_params *p, void **obj, char *err);
static int ticket_lock(void *h);
static int ticket_unlock(void *h);

const struct sync_ops sync_spinlock_ticket_ops = {
	.name = "spinlock-ticket",
	.summary = "FIFO ticket spinlock",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_HANGS,
	},
	.create = ticket_create,
	.attach = sync_attach_self,
	.lock = ticket_lock,
	.unlock = ticket_unlock,
	.detach = sync_detach_none,
	.destroy = sync_obj_free,
};

static int ticket_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_obj_new(&sync_spinlock_ticket_ops, p, sizeof(struct ticket_obj), obj, err);
}

static int ticket_lock(void *h)
{
	struct ticket_obj *o = h;
	uint32_t t = atomic_fetch_add_explicit(&o->next, 1, memory_order_relaxed);
	struct sync_spin s;

	sync_spin_init(&s, &o->hdr);
	while (ipc_load_acquire(&o->serving) != t)
		sync_spin_pause(&s);
	return 0;
}

static int ticket_unlock(void *h)
{
	struct ticket_obj *o = h;

	/* Only the holder writes serving. */
	ipc_store_release(&o->serving, ipc_load_relaxed(&o->serving) + 1);
	return 0;
}
