/* posix-sem-named - a named POSIX semaphore (sem_open), what Python's
 * multiprocessing SemLock is.  The creator makes it O_EXCL 0600 under a
 * unique name (/dev/shm/sem.ipclab-syncsem-PID-...); each worker opens it
 * by name in attach; seal unlinks the name once every worker holds it, so
 * from then on nothing can outlive the run. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "names.h"
#include "sync_impl.h"

struct nsem_obj {
	struct sync_hdr hdr;
	char name[IPC_NAME_MAX];
	_Atomic int sealed; /* name unlinked */
	sem_t *creator;     /* the creator's handle (valid in its process) */
};

struct nsem_handle {
	struct nsem_obj *o;
	sem_t *s;
};

static int nsem_create(const struct sync_params *p, void **obj, char *err);
static int nsem_attach(void *obj, void **h, char *err);
static void nsem_seal(void *obj);
static int nsem_post(void *h);
static int nsem_wait(void *h);
static void nsem_detach(void *h);
static void nsem_destroy(void *obj);

const struct sync_ops sync_posix_sem_named_ops = {
	.name = "posix-sem-named",
	.summary = "named POSIX semaphore (sem_open; Python's SemLock)",
	.caps = {
		.ops = SYNC_OP_SEM,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN),
		.flags = SYNC_PROCESS_SHARED | SYNC_NAMED,
		.owner_death = SYNC_DEATH_NA,
		.max_count = SEM_VALUE_MAX,
	},
	.create = nsem_create,
	.attach = nsem_attach,
	.seal = nsem_seal,
	.post = nsem_post,
	.wait = nsem_wait,
	.detach = nsem_detach,
	.destroy = nsem_destroy,
};

static int nsem_create(const struct sync_params *p, void **obj, char *err)
{
	struct nsem_obj *o;
	int rc = sync_obj_new(&sync_posix_sem_named_ops, p, sizeof(*o), obj, err);

	if (rc < 0)
		return rc;
	o = *obj;
	rc = ipc_unique_name(o->name, sizeof(o->name), SYNC_SEM_KIND);
	if (rc == 0) {
		o->creator = sem_open(o->name, O_CREAT | O_EXCL, 0600, p->initial);
		if (o->creator == SEM_FAILED)
			rc = -errno;
	}
	if (rc < 0) {
		sync_err(err, "posix-sem-named: sem_open %s: %s", o->name, strerror(-rc));
		sync_obj_free(o);
		*obj = NULL;
	}
	return rc;
}

static int nsem_attach(void *obj, void **h, char *err)
{
	struct nsem_obj *o = obj;
	struct nsem_handle *n = malloc(sizeof(*n));

	if (!n) {
		sync_err(err, "out of memory");
		return -ENOMEM;
	}
	n->o = o;
	n->s = sem_open(o->name, 0);
	if (n->s == SEM_FAILED) {
		int e = errno;

		sync_err(err, "posix-sem-named: sem_open %s: %s%s", o->name, strerror(e),
			 atomic_load(&o->sealed) ? " (already sealed: attach before seal)" : "");
		free(n);
		return -e;
	}
	*h = n;
	return 0;
}

static void nsem_seal(void *obj)
{
	struct nsem_obj *o = obj;

	if (atomic_exchange(&o->sealed, 1) == 0)
		sem_unlink(o->name);
}

static int nsem_post(void *h)
{
	return sem_post(((struct nsem_handle *)h)->s) == 0 ? 0 : -errno;
}

static int nsem_wait(void *h)
{
	struct nsem_handle *n = h;
	struct sync_spin s;

	if (n->o->hdr.params.wait == IPC_WAIT_SPIN) {
		sync_spin_init(&s, &n->o->hdr);
		while (sem_trywait(n->s) != 0) {
			if (errno != EAGAIN && errno != EINTR)
				return -errno;
			sync_spin_pause(&s);
		}
		return 0;
	}
	while (sem_wait(n->s) != 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void nsem_detach(void *h)
{
	struct nsem_handle *n = h;

	if (!n)
		return;
	sem_close(n->s);
	free(n);
}

static void nsem_destroy(void *obj)
{
	struct nsem_obj *o = obj;

	if (!o)
		return;
	nsem_seal(o);
	sem_close(o->creator);
	sync_obj_free(o);
}
