/* flock - a BSD flock(LOCK_EX) on a lock file.  Like ofd-lock, the lock
 * belongs to the open file description: each worker opens the file itself
 * in attach.  The kernel drops the lock when its owner dies. */
#include <errno.h>
#include <sys/file.h>

#include "sync_impl.h"

static int flock_create(const struct sync_params *p, void **obj, char *err);
static int flock_lock(void *h);
static int flock_unlock(void *h);

const struct sync_ops sync_flock_ops = {
	.name = "flock",
	.summary = "BSD flock(LOCK_EX) on a lock file",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK),
		.flags = SYNC_PROCESS_SHARED | SYNC_NAMED | SYNC_KERNEL_ONLY,
		.owner_death = SYNC_DEATH_RELEASED,
	},
	.create = flock_create,
	.attach = sync_lockfile_attach,
	.seal = sync_lockfile_seal,
	.lock = flock_lock,
	.unlock = flock_unlock,
	.detach = sync_lockfile_detach,
	.destroy = sync_lockfile_destroy,
};

static int flock_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_lockfile_create(&sync_flock_ops, p, obj, err);
}

static int flock_op(void *h, int op)
{
	while (flock(sync_lockfile_fd(h), op) != 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int flock_lock(void *h)
{
	return flock_op(h, LOCK_EX);
}

static int flock_unlock(void *h)
{
	return flock_op(h, LOCK_UN);
}
