/* eventfd-sem - an eventfd in EFD_SEMAPHORE mode: write(1) posts, read
 * takes one.  The descriptor is created before the workers start, so
 * forked workers inherit it and threads share it. */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sync_impl.h"

struct efd_obj {
	struct sync_hdr hdr;
	int fd;
};

static int efd_create(const struct sync_params *p, void **obj, char *err);
static int efd_post(void *h);
static int efd_wait(void *h);
static void efd_destroy(void *obj);

const struct sync_ops sync_eventfd_sem_ops = {
	.name = "eventfd-sem",
	.summary = "eventfd with EFD_SEMAPHORE (write posts, read takes one)",
	.caps = {
		.ops = SYNC_OP_SEM,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK),
		.flags = SYNC_PROCESS_SHARED | SYNC_KERNEL_ONLY,
		.owner_death = SYNC_DEATH_NA,
		.max_count = UINT_MAX,
	},
	.create = efd_create,
	.attach = sync_attach_self,
	.post = efd_post,
	.wait = efd_wait,
	.detach = sync_detach_none,
	.destroy = efd_destroy,
};

static int efd_create(const struct sync_params *p, void **obj, char *err)
{
	struct efd_obj *o;
	int rc = sync_obj_new(&sync_eventfd_sem_ops, p, sizeof(*o), obj, err);

	if (rc < 0)
		return rc;
	o = *obj;
	o->fd = eventfd(p->initial, EFD_SEMAPHORE | EFD_CLOEXEC);
	if (o->fd < 0) {
		rc = -errno;
		sync_err(err, "eventfd-sem: eventfd: %s", strerror(-rc));
		sync_obj_free(o);
		*obj = NULL;
	}
	return rc;
}

static int efd_post(void *h)
{
	uint64_t one = 1;
	ssize_t n;

	while ((n = write(((struct efd_obj *)h)->fd, &one, sizeof(one))) < 0)
		if (errno != EINTR)
			return -errno;
	return n == (ssize_t)sizeof(one) ? 0 : -EIO;
}

static int efd_wait(void *h)
{
	uint64_t v;
	ssize_t n;

	while ((n = read(((struct efd_obj *)h)->fd, &v, sizeof(v))) < 0)
		if (errno != EINTR)
			return -errno;
	return n == (ssize_t)sizeof(v) ? 0 : -EIO;
}

static void efd_destroy(void *obj)
{
	struct efd_obj *o = obj;

	if (!o)
		return;
	close(o->fd);
	sync_obj_free(o);
}
