/* ofd-lock - an open-file-description lock (fcntl F_OFD_SETLKW, write lock
 * on the whole file).  Each worker opens the lock file itself in attach:
 * the lock belongs to the open file description, so a descriptor inherited
 * through fork or shared by threads would never conflict with itself.  The
 * kernel drops the lock when its owner dies. */
#include <errno.h>
#include <fcntl.h>

#include "sync_impl.h"

static int ofd_create(const struct sync_params *p, void **obj, char *err);
static int ofd_lock(void *h);
static int ofd_unlock(void *h);

const struct sync_ops sync_ofd_lock_ops = {
	.name = "ofd-lock",
	.summary = "open file description lock (fcntl F_OFD_SETLKW) on a lock file",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK),
		.flags = SYNC_PROCESS_SHARED | SYNC_NAMED | SYNC_KERNEL_ONLY,
		.owner_death = SYNC_DEATH_RELEASED,
	},
	.create = ofd_create,
	.attach = sync_lockfile_attach,
	.seal = sync_lockfile_seal,
	.lock = ofd_lock,
	.unlock = ofd_unlock,
	.detach = sync_lockfile_detach,
	.destroy = sync_lockfile_destroy,
};

static int ofd_create(const struct sync_params *p, void **obj, char *err)
{
	return sync_lockfile_create(&sync_ofd_lock_ops, p, obj, err);
}

static int ofd_set(void *h, short type)
{
	/* F_OFD_* want l_pid 0; l_len 0 is the whole file. */
	struct flock fl = { .l_type = type, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0 };

	while (fcntl(sync_lockfile_fd(h), F_OFD_SETLKW, &fl) != 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int ofd_lock(void *h)
{
	return ofd_set(h, F_WRLCK);
}

static int ofd_unlock(void *h)
{
	return ofd_set(h, F_UNLCK);
}
