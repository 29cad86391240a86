/* pthread-rwlock - a process-shared pthread rwlock, taken for writing (the
 * lock operations are exclusive).  Spin wait: pthread_rwlock_trywrlock in
 * a bounded spin. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "sync_impl.h"

struct rwlock_obj {
	struct sync_hdr hdr;
	pthread_rwlock_t rw;
};

static int rwlock_create(const struct sync_params *p, void **obj, char *err);
static int rwlock_lock(void *h);
static int rwlock_unlock(void *h);
static void rwlock_destroy(void *obj);

const struct sync_ops sync_pthread_rwlock_ops = {
	.name = "pthread-rwlock",
	.summary = "pthread rwlock, process-shared, write-locked",
	.caps = {
		.ops = SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_HANGS,
	},
	.create = rwlock_create,
	.attach = sync_attach_self,
	.lock = rwlock_lock,
	.unlock = rwlock_unlock,
	.detach = sync_detach_none,
	.destroy = rwlock_destroy,
};

static int rwlock_create(const struct sync_params *p, void **obj, char *err)
{
	pthread_rwlockattr_t a;
	struct rwlock_obj *o;
	int rc = sync_obj_new(&sync_pthread_rwlock_ops, p, sizeof(*o), obj, err);

	if (rc < 0)
		return rc;
	o = *obj;
	pthread_rwlockattr_init(&a);
	rc = pthread_rwlockattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!rc)
		rc = pthread_rwlock_init(&o->rw, &a);
	pthread_rwlockattr_destroy(&a);
	if (rc) {
		sync_err(err, "pthread-rwlock: pthread_rwlock_init: %s", strerror(rc));
		sync_obj_free(o);
		*obj = NULL;
		return -rc;
	}
	return 0;
}

static int rwlock_lock(void *h)
{
	struct rwlock_obj *o = h;
	struct sync_spin s;
	int rc;

	if (o->hdr.params.wait != IPC_WAIT_SPIN)
		return sync_pth(pthread_rwlock_wrlock(&o->rw));
	sync_spin_init(&s, &o->hdr);
	while ((rc = pthread_rwlock_trywrlock(&o->rw)) == EBUSY)
		sync_spin_pause(&s);
	return sync_pth(rc);
}

static int rwlock_unlock(void *h)
{
	return sync_pth(pthread_rwlock_unlock(&((struct rwlock_obj *)h)->rw));
}

static void rwlock_destroy(void *obj)
{
	struct rwlock_obj *o = obj;

	if (!o)
		return;
	pthread_rwlock_destroy(&o->rw);
	sync_obj_free(o);
}
