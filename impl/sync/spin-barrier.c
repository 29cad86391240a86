/* spin-barrier - a sense-reversing centralized barrier: each crossing
 * flips the worker's own sense; the last to arrive resets the count and
 * publishes the new sense, the others spin (bounded, sync_impl.h) until
 * they see it. */
#include <errno.h>
#include <stdlib.h>

#include "sync_impl.h"

struct sbar_obj {
	struct sync_hdr hdr;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t arrived;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t sense;
};

struct sbar_handle {
	struct sbar_obj *o;
	uint32_t sense; /* this worker's, flipped per crossing */
};

static int sbar_create(const struct sync_params *p, void **obj, char *err);
static int sbar_attach(void *obj, void **h, char *err);
static int sbar_wait(void *h);
static void sbar_detach(void *h);

const struct sync_ops sync_spin_barrier_ops = {
	.name = "spin-barrier",
	.summary = "sense-reversing spin barrier",
	.caps = {
		.ops = SYNC_OP_BARRIER,
		.waits = IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_NA,
	},
	.create = sbar_create,
	.attach = sbar_attach,
	.barrier_wait = sbar_wait,
	.detach = sbar_detach,
	.destroy = sync_obj_free,
};

static int sbar_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_obj_new(&sync_spin_barrier_ops, p, sizeof(struct sbar_obj), obj, err);
}

static int sbar_attach(void *obj, void **h, char *err)
{
	struct sbar_handle *b = malloc(sizeof(*b));

	if (!b) {
		sync_err(err, "out of memory");
		return -ENOMEM;
	}
	b->o = obj;
	b->sense = ipc_load_acquire(&b->o->sense);
	*h = b;
	return 0;
}

static int sbar_wait(void *h)
{
	struct sbar_handle *b = h;
	struct sbar_obj *o = b->o;
	struct sync_spin s;

	b->sense ^= 1;
	if (ipc_fetch_add(&o->arrived, 1) + 1 == o->hdr.params.parties) {
		ipc_store_relaxed(&o->arrived, 0);
		ipc_store_release(&o->sense, b->sense);
		return 1;
	}
	sync_spin_init(&s, &o->hdr);
	while (ipc_load_acquire(&o->sense) != b->sense)
		sync_spin_pause(&s);
	return 0;
}

static void sbar_detach(void *h)
{
	free(h);
}
