/* futex-lock - the smallest futex mutex between processes (Drepper's
 * mutex #3: 0 free, 1 held, 2 held with waiters; unlock makes a system
 * call only when someone may sleep).  Spin wait: CAS in a bounded spin. */
#include "sync_impl.h"

static int futex_lock_create(const struct sync_params *p, void **obj, char *err);

const struct sync_ops sync_futex_lock_ops = {
	.name = "futex-lock",
	.summary = "futex mutex on a shared word (FUTEX_WAIT/WAKE, not private)",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_HANGS,
	},
	.create = futex_lock_create,
	.attach = sync_attach_self,
	.lock = sync_futex_lock_lock,
	.unlock = sync_futex_lock_unlock,
	.detach = sync_detach_none,
	.destroy = sync_obj_free,
};

static int futex_lock_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_futex_lock_create(&sync_futex_lock_ops, p, obj, err);
}
