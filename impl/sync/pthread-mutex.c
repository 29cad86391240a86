/* pthread-mutex - a PTHREAD_PROCESS_SHARED mutex in shared memory (not
 * robust: an owner that dies inside leaves it locked).  Spin wait:
 * pthread_mutex_trylock in a bounded spin (sync_impl.h). */
#include "sync_impl.h"

static int pmutex_create(const struct sync_params *p, void **obj, char *err);

const struct sync_ops sync_pthread_mutex_ops = {
	.name = "pthread-mutex",
	.summary = "pthread mutex, PTHREAD_PROCESS_SHARED, in shared memory",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_HANGS,
	},
	.create = pmutex_create,
	.attach = sync_attach_self,
	.lock = sync_pmutex_lock,
	.unlock = sync_pmutex_unlock,
	.detach = sync_detach_none,
	.destroy = sync_pmutex_destroy,
};

static int pmutex_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_pmutex_create(&sync_pthread_mutex_ops, p, obj, err);
}
