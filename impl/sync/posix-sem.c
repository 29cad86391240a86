/* posix-sem - an unnamed POSIX semaphore (sem_init with pshared 1) in
 * shared memory.  Spin wait: sem_trywait in a bounded spin. */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <string.h>

#include "sync_impl.h"

struct psem_obj {
	struct sync_hdr hdr;
	sem_t s;
};

static int psem_create(const struct sync_params *p, void **obj, char *err);
static int psem_post(void *h);
static int psem_wait(void *h);
static void psem_destroy(void *obj);

const struct sync_ops sync_posix_sem_ops = {
	.name = "posix-sem",
	.summary = "unnamed POSIX semaphore (sem_init pshared) in shared memory",
	.caps = {
		.ops = SYNC_OP_SEM,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_NA,
		.max_count = SEM_VALUE_MAX,
	},
	.create = psem_create,
	.attach = sync_attach_self,
	.post = psem_post,
	.wait = psem_wait,
	.detach = sync_detach_none,
	.destroy = psem_destroy,
};

static int psem_create(const struct sync_params *p, void **obj, char *err)
{
	struct psem_obj *o;
	int rc = sync_obj_new(&sync_posix_sem_ops, p, sizeof(*o), obj, err);

	if (rc < 0)
		return rc;
	o = *obj;
	if (sem_init(&o->s, 1, p->initial) != 0) {
		rc = -errno;
		sync_err(err, "posix-sem: sem_init: %s", strerror(-rc));
		sync_obj_free(o);
		*obj = NULL;
	}
	return rc;
}

static int psem_post(void *h)
{
	return sem_post(&((struct psem_obj *)h)->s) == 0 ? 0 : -errno;
}

static int psem_wait(void *h)
{
	struct psem_obj *o = h;
	struct sync_spin s;

	if (o->hdr.params.wait == IPC_WAIT_SPIN) {
		sync_spin_init(&s, &o->hdr);
		while (sem_trywait(&o->s) != 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			sync_spin_pause(&s);
		}
		return 0;
	}
	while (sem_wait(&o->s) != 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void psem_destroy(void *obj)
{
	struct psem_obj *o = obj;

	if (!o)
		return;
	sem_destroy(&o->s);
	sync_obj_free(o);
}
