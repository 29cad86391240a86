/* sysv-sem - a System V semaphore set (semget/semop).  Post/wait use
 * semaphore 0 without SEM_UNDO (a hand-off would pile up undo values);
 * the lock is semaphore 1 with SEM_UNDO, as a careful user takes a SysV
 * lock: the kernel releases it when its owner dies.  A set outlives a
 * SIGKILL of its creator, so its key carries SYNC_SYSV_MAGIC and the set
 * carries the creator's pid (sync_impl.h) for sync_stale_scan. */
#include <errno.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/random.h>
#include <sys/sem.h>
#include <unistd.h>

#include "names.h"
#include "sync_impl.h"

/* SEMVMX: the largest semaphore value (fixed by the kernel). */
#define SYSV_SEMVMX 32767u
/* Random keys tried before giving up (a clash is one in 16 M per set). */
#define SYSV_KEY_TRIES 16

struct sysv_obj {
	struct sync_hdr hdr;
	int id;
};

static int sysv_create(const struct sync_params *p, void **obj, char *err);
static int sysv_post(void *h);
static int sysv_wait(void *h);
static int sysv_lock(void *h);
static int sysv_unlock(void *h);
static void sysv_destroy(void *obj);

const struct sync_ops sync_sysv_sem_ops = {
	.name = "sysv-sem",
	.summary = "System V semaphore (semop; the lock with SEM_UNDO)",
	.caps = {
		.ops = SYNC_OP_SEM | SYNC_OP_LOCK,
		.waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK),
		.flags = SYNC_PROCESS_SHARED | SYNC_NAMED | SYNC_KERNEL_ONLY,
		.owner_death = SYNC_DEATH_RELEASED,
		.max_count = SYSV_SEMVMX,
	},
	.create = sysv_create,
	.attach = sync_attach_self,
	.lock = sysv_lock,
	.unlock = sysv_unlock,
	.post = sysv_post,
	.wait = sysv_wait,
	.detach = sync_detach_none,
	.destroy = sysv_destroy,
};

static int sysv_create(const struct sync_params *p, void **obj, char *err)
{
	unsigned short vals[SYNC_SYSV_NSEMS];
	struct sysv_obj *o;
	unsigned pid = (unsigned)getpid();
	int rc = sync_obj_new(&sync_sysv_sem_ops, p, sizeof(*o), obj, err);

	if (rc < 0)
		return rc;
	o = *obj;
	o->id = -1;
	for (int i = 0; i < SYSV_KEY_TRIES && o->id < 0; i++) {
		uint32_t r = 0;

		if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
			r = (uint32_t)sync_now_ns() ^ pid << 8;
		key_t key = (key_t)(SYNC_SYSV_MAGIC << 24 | (r & 0xffffffu));

		o->id = semget(key, SYNC_SYSV_NSEMS, IPC_CREAT | IPC_EXCL | 0600);
		ipc_sysv_track(IPC_SYSV_SEM, o->id);
		if (o->id < 0 && errno != EEXIST)
			break;
	}
	if (o->id < 0) {
		rc = -errno;
		sync_err(err, "sysv-sem: semget: %s", strerror(-rc));
		goto err;
	}
	vals[SYNC_SYSV_SEM] = (unsigned short)p->initial;
	vals[SYNC_SYSV_LOCK] = 1;
	vals[SYNC_SYSV_PID_LO] = (unsigned short)(pid & ((1u << SYNC_SYSV_PID_BITS) - 1));
	vals[SYNC_SYSV_PID_HI] = (unsigned short)(pid >> SYNC_SYSV_PID_BITS);
	if (semctl(o->id, 0, SETALL, vals) != 0) {
		rc = -errno;
		sync_err(err, "sysv-sem: semctl SETALL: %s", strerror(-rc));
		semctl(o->id, 0, IPC_RMID);
		ipc_sysv_untrack(IPC_SYSV_SEM, o->id);
		goto err;
	}
	return 0;
err:
	sync_obj_free(o);
	*obj = NULL;
	return rc;
}

static int sysv_op(void *h, unsigned short num, short delta, short flags)
{
	struct sembuf b = { .sem_num = num, .sem_op = delta, .sem_flg = flags };

	while (semop(((struct sysv_obj *)h)->id, &b, 1) != 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static int sysv_post(void *h)
{
	return sysv_op(h, SYNC_SYSV_SEM, 1, 0);
}

static int sysv_wait(void *h)
{
	return sysv_op(h, SYNC_SYSV_SEM, -1, 0);
}

static int sysv_lock(void *h)
{
	return sysv_op(h, SYNC_SYSV_LOCK, -1, SEM_UNDO);
}

static int sysv_unlock(void *h)
{
	return sysv_op(h, SYNC_SYSV_LOCK, 1, SEM_UNDO);
}

static void sysv_destroy(void *obj)
{
	struct sysv_obj *o = obj;

	if (!o)
		return;
	semctl(o->id, 0, IPC_RMID);
	ipc_sysv_untrack(IPC_SYSV_SEM, o->id);
	sync_obj_free(o);
}
