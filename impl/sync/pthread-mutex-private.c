/* pthread-mutex-private - a PTHREAD_PROCESS_PRIVATE mutex: its futex is
 * private (keyed to one address space), so it is a thread-only row. */
#include "sync_impl.h"

static int pmutex_private_create(const struct sync_params *p, void **obj, char *err);

const struct sync_ops sync_pthread_mutex_private_ops = {
	.name = "pthread-mutex-private",
	.summary = "pthread mutex, PTHREAD_PROCESS_PRIVATE (threads only)",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = 0,
		.owner_death = SYNC_DEATH_HANGS,
	},
	.create = pmutex_private_create,
	.attach = sync_attach_self,
	.lock = sync_pmutex_lock,
	.unlock = sync_pmutex_unlock,
	.detach = sync_detach_none,
	.destroy = sync_pmutex_destroy,
};

static int pmutex_private_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_pmutex_create(&sync_pthread_mutex_private_ops, p, obj, err);
}
