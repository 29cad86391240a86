/* pthread-cond - a process-shared condition variable with its mutex, as
 * an event (a flag under the mutex: what Python's multiprocessing.Event is
 * built on) and as a notification (a generation count under the mutex). */
#include <pthread.h>
#include <string.h>

#include "sync_impl.h"

struct cond_obj {
	struct sync_hdr hdr;
	pthread_mutex_t m;
	pthread_cond_t cv;
	unsigned flag;  /* EVENT, under m */
	uint32_t gen;   /* NOTIFY, under m */
};

static int cond_create(const struct sync_params *p, void **obj, char *err);
static int cond_set(void *h);
static int cond_wait_set(void *h);
static int cond_reset(void *h);
static int cond_notify(void *h);
static int cond_await(void *h, uint32_t *seen);
static void cond_destroy(void *obj);

const struct sync_ops sync_pthread_cond_ops = {
	.name = "pthread-cond",
	.summary = "pthread condition variable + mutex, process-shared (event, notify)",
	.caps = {
		.ops = SYNC_OP_EVENT | SYNC_OP_NOTIFY,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_NA,
	},
	.create = cond_create,
	.attach = sync_attach_self,
	.set = cond_set,
	.wait_set = cond_wait_set,
	.reset = cond_reset,
	.notify = cond_notify,
	.await = cond_await,
	.detach = sync_detach_none,
	.destroy = cond_destroy,
};

static int cond_create(const struct sync_params *p, void **obj, char *err)
{
	pthread_mutexattr_t ma;
	pthread_condattr_t ca;
	struct cond_obj *o;
	int rc = sync_obj_new(&sync_pthread_cond_ops, p, sizeof(*o), obj, err);

	if (rc < 0)
		return rc;
	o = *obj;
	pthread_mutexattr_init(&ma);
	pthread_condattr_init(&ca);
	rc = pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	if (!rc)
		rc = pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
	if (!rc)
		rc = pthread_mutex_init(&o->m, &ma);
	if (!rc) {
		rc = pthread_cond_init(&o->cv, &ca);
		if (rc)
			pthread_mutex_destroy(&o->m);
	}
	pthread_mutexattr_destroy(&ma);
	pthread_condattr_destroy(&ca);
	if (rc) {
		sync_err(err, "pthread-cond: init: %s", strerror(rc));
		sync_obj_free(o);
		*obj = NULL;
		return -rc;
	}
	return 0;
}

static int cond_set(void *h)
{
	struct cond_obj *o = h;
	int rc = pthread_mutex_lock(&o->m);

	if (rc)
		return -rc;
	o->flag = 1;
	rc = pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->m);
	return -rc;
}

static int cond_wait_set(void *h)
{
	struct cond_obj *o = h;
	int rc = pthread_mutex_lock(&o->m);

	if (rc)
		return -rc;
	while (!o->flag && !rc)
		rc = pthread_cond_wait(&o->cv, &o->m);
	pthread_mutex_unlock(&o->m);
	return -rc;
}

static int cond_reset(void *h)
{
	struct cond_obj *o = h;
	int rc = pthread_mutex_lock(&o->m);

	if (rc)
		return -rc;
	o->flag = 0;
	pthread_mutex_unlock(&o->m);
	return 0;
}

static int cond_notify(void *h)
{
	struct cond_obj *o = h;
	int rc = pthread_mutex_lock(&o->m);

	if (rc)
		return -rc;
	o->gen++;
	rc = pthread_cond_broadcast(&o->cv);
	pthread_mutex_unlock(&o->m);
	return -rc;
}

static int cond_await(void *h, uint32_t *seen)
{
	struct cond_obj *o = h;
	int rc = pthread_mutex_lock(&o->m);

	if (rc)
		return -rc;
	while (o->gen == *seen && !rc)
		rc = pthread_cond_wait(&o->cv, &o->m);
	*seen = o->gen;
	pthread_mutex_unlock(&o->m);
	return -rc;
}

static void cond_destroy(void *obj)
{
	/* No pthread_cond_destroy: glibc's waits for the wake-ups of every
	 * waiter to be confirmed, which never happens after a waiter died.
	 * A process-shared condition variable and mutex hold no kernel
	 * resource; unmapping the memory is the whole cleanup. */
	sync_obj_free(obj);
}
