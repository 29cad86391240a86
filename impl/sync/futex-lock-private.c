/* futex-lock-private - futex-lock with FUTEX_PRIVATE_FLAG: the kernel keys
 * the futex by address space, so a wake from another process never finds
 * the sleeper: a thread-only row. */
#include "sync_impl.h"

static int futex_lock_private_create(const struct sync_params *p, void **obj, char *err);

const struct sync_ops sync_futex_lock_private_ops = {
	.name = "futex-lock-private",
	.summary = "futex mutex with FUTEX_PRIVATE_FLAG (threads only)",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = 0,
		.owner_death = SYNC_DEATH_HANGS,
	},
	.create = futex_lock_private_create,
	.attach = sync_attach_self,
	.lock = sync_futex_lock_lock,
	.unlock = sync_futex_lock_unlock,
	.detach = sync_detach_none,
	.destroy = sync_obj_free,
};

static int futex_lock_private_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_futex_lock_create(&sync_futex_lock_private_ops, p, obj, err);
}
