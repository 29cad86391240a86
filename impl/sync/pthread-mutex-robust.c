/* pthread-mutex-robust - a process-shared PTHREAD_MUTEX_ROBUST mutex: when
 * its owner dies inside, the next locker gets EOWNERDEAD (holding the
 * lock) and calls consistent() to recover it. */
#include "sync_impl.h"

static int rmutex_create(const struct sync_params *p, void **obj, char *err);

const struct sync_ops sync_pthread_mutex_robust_ops = {
	.name = "pthread-mutex-robust",
	.summary = "pthread mutex, process-shared and robust (EOWNERDEAD after an owner's death)",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_OWNERDEAD,
	},
	.create = rmutex_create,
	.attach = sync_attach_self,
	.lock = sync_pmutex_lock,
	.unlock = sync_pmutex_unlock,
	.consistent = sync_pmutex_consistent,
	.detach = sync_detach_none,
	.destroy = sync_pmutex_destroy,
};

static int rmutex_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_pmutex_create(&sync_pthread_mutex_robust_ops, p, obj, err);
}
