/* pthread-barrier - a process-shared pthread barrier for params.parties
 * workers. */
#include <pthread.h>
#include <string.h>

#include "sync_impl.h"

struct pbarrier_obj {
	struct sync_hdr hdr;
	pthread_barrier_t b;
};

static int pbarrier_create(const struct sync_params *p, void **obj, char *err);
static int pbarrier_wait(void *h);
static void pbarrier_destroy(void *obj);

const struct sync_ops sync_pthread_barrier_ops = {
	.name = "pthread-barrier",
	.summary = "pthread barrier, process-shared",
	.caps = {
		.ops = SYNC_OP_BARRIER,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK),
		.flags = SYNC_PROCESS_SHARED,
		.owner_death = SYNC_DEATH_NA,
	},
	.create = pbarrier_create,
	.attach = sync_attach_self,
	.barrier_wait = pbarrier_wait,
	.detach = sync_detach_none,
	.destroy = pbarrier_destroy,
};

static int pbarrier_create(const struct sync_params *p, void **obj, char *err)
{
	pthread_barrierattr_t a;
	struct pbarrier_obj *o;
	int rc = sync_obj_new(&sync_pthread_barrier_ops, p, sizeof(*o), obj, err);

	if (rc < 0)
		return rc;
	o = *obj;
	pthread_barrierattr_init(&a);
	rc = pthread_barrierattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
	if (!rc)
		rc = pthread_barrier_init(&o->b, &a, p->parties);
	pthread_barrierattr_destroy(&a);
	if (rc) {
		sync_err(err, "pthread-barrier: pthread_barrier_init(%u): %s", p->parties,
			 strerror(rc));
		sync_obj_free(o);
		*obj = NULL;
		return -rc;
	}
	return 0;
}

static int pbarrier_wait(void *h)
{
	int rc = pthread_barrier_wait(&((struct pbarrier_obj *)h)->b);

	if (rc == PTHREAD_BARRIER_SERIAL_THREAD)
		return 1;
	return -rc;
}

static void pbarrier_destroy(void *obj)
{
	/* No pthread_barrier_destroy: glibc's waits until every worker left
	 * the current crossing, which never happens after a worker died in
	 * it.  A process-shared barrier holds no kernel resource; unmapping
	 * the memory is the whole cleanup. */
	sync_obj_free(obj);
}
