/* sync_impl.c - the helpers every primitive file shares (sync_impl.h). */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "names.h"
#include "sync_impl.h"

uint64_t sync_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void sync_spin_pause(struct sync_spin *s)
{
	uint64_t now;

	cpu_relax();
	if (++s->spins % SYNC_SPINS_PER_CLOCK)
		return;
	now = sync_now_ns();
	if (!s->start_ns) {
		s->start_ns = now;
		return;
	}
	if (now - s->start_ns >= s->limit_ns) {
		struct timespec nap = { 0, SYNC_NAP_NS };

		nanosleep(&nap, NULL);
	}
}

void sync_err(char *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	va_start(ap, fmt);
	vsnprintf(err, SYNC_ERRLEN, fmt, ap);
	va_end(ap);
}

static unsigned usable_cpus(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		return 1;
	return (unsigned)CPU_COUNT(&set);
}

int sync_obj_new(const struct sync_ops *ops, const struct sync_params *p, size_t size,
		 void **obj, char *err)
{
	const struct sync_caps *c = &ops->caps;
	struct sync_hdr *h;

	*obj = NULL;
	if (p->parties < 1) {
		sync_err(err, "%s: parties 0: at least 1 worker", ops->name);
		return -EINVAL;
	}
	if ((unsigned)p->wait >= IPC_WAIT_COUNT || !(c->waits & IPC_WAIT_BIT(p->wait))) {
		sync_err(err, "%s: wait %s not supported (it has%s%s)", ops->name,
			 ipc_wait_name(p->wait),
			 c->waits & IPC_WAIT_BIT(IPC_WAIT_BLOCK) ? " block" : "",
			 c->waits & IPC_WAIT_BIT(IPC_WAIT_SPIN) ? " spin" : "");
		return -ENOTSUP;
	}
	if (p->workers != SYNC_WORKERS_PROCESS && p->workers != SYNC_WORKERS_THREAD) {
		sync_err(err, "%s: workers %d: process or thread", ops->name, (int)p->workers);
		return -EINVAL;
	}
	if (p->workers == SYNC_WORKERS_PROCESS && !(c->flags & SYNC_PROCESS_SHARED)) {
		sync_err(err, "%s is thread-only (keyed to one address space): not between processes",
			 ops->name);
		return -ENOTSUP;
	}
	if ((c->ops & SYNC_OP_SEM) && p->initial > c->max_count) {
		sync_err(err, "%s: initial value %u over its limit %u", ops->name, p->initial,
			 c->max_count);
		return -EINVAL;
	}
	if (size < sizeof(*h))
		size = sizeof(*h);
	h = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED) {
		int e = errno;

		sync_err(err, "%s: mmap %zu shared bytes: %s", ops->name, size, strerror(e));
		return -e;
	}
	h->map_len = size;
	h->params = *p;
	h->spin_limit_ns = p->parties > usable_cpus() ? SYNC_SPIN_LIMIT_OVERSUB_NS
						      : SYNC_SPIN_LIMIT_NS;
	*obj = h;
	return 0;
}

void sync_obj_free(void *obj)
{
	struct sync_hdr *h = obj;

	if (h)
		munmap(h, h->map_len);
}

int sync_attach_self(void *obj, void **h, char *err)
{
	(void)err;
	*h = obj;
	return 0;
}

void sync_detach_none(void *h)
{
	(void)h;
}

/* ---- pthread mutex rows ---------------------------------------------------- */

struct sync_pmutex {
	struct sync_hdr hdr;
	pthread_mutex_t m;
};

int sync_pmutex_create(const struct sync_ops *ops, const struct sync_params *p, void **obj,
		       char *err)
{
	pthread_mutexattr_t a;
	struct sync_pmutex *o;
	int rc = sync_obj_new(ops, p, sizeof(*o), obj, err);

	if (rc < 0)
		return rc;
	o = *obj;
	pthread_mutexattr_init(&a);
	rc = pthread_mutexattr_setpshared(&a, (ops->caps.flags & SYNC_PROCESS_SHARED)
					  ? PTHREAD_PROCESS_SHARED : PTHREAD_PROCESS_PRIVATE);
	if (!rc && ops->caps.owner_death == SYNC_DEATH_OWNERDEAD)
		rc = pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	if (!rc)
		rc = pthread_mutex_init(&o->m, &a);
	pthread_mutexattr_destroy(&a);
	if (rc) {
		sync_err(err, "%s: pthread_mutex_init: %s", ops->name, strerror(rc));
		sync_obj_free(o);
		*obj = NULL;
		return -rc;
	}
	return 0;
}

int sync_pmutex_lock(void *h)
{
	struct sync_pmutex *o = h;
	struct sync_spin s;
	int rc;

	if (o->hdr.params.wait != IPC_WAIT_SPIN)
		return sync_pth(pthread_mutex_lock(&o->m));
	sync_spin_init(&s, &o->hdr);
	while ((rc = pthread_mutex_trylock(&o->m)) == EBUSY)
		sync_spin_pause(&s);
	return sync_pth(rc);
}

int sync_pmutex_unlock(void *h)
{
	return sync_pth(pthread_mutex_unlock(&((struct sync_pmutex *)h)->m));
}

int sync_pmutex_consistent(void *h)
{
	return sync_pth(pthread_mutex_consistent(&((struct sync_pmutex *)h)->m));
}

void sync_pmutex_destroy(void *obj)
{
	struct sync_pmutex *o = obj;

	if (!o)
		return;
	/* A mutex a dead worker still holds cannot be destroyed (EBUSY); the
	 * memory goes either way. */
	pthread_mutex_destroy(&o->m);
	sync_obj_free(o);
}

/* ---- futex ---------------------------------------------------------------- */

int sync_futex_wait(_Atomic uint32_t *word, uint32_t expected, int private_futex)
{
	int op = FUTEX_WAIT | (private_futex ? FUTEX_PRIVATE_FLAG : 0);

	if (syscall(SYS_futex, (uint32_t *)word, op, expected, NULL, NULL, 0) == 0)
		return 0;
	return -errno;
}

int sync_futex_wake(_Atomic uint32_t *word, int n, int private_futex)
{
	int op = FUTEX_WAKE | (private_futex ? FUTEX_PRIVATE_FLAG : 0);
	long r = syscall(SYS_futex, (uint32_t *)word, op, n, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

/* Drepper, "Futexes Are Tricky", mutex #3: 0 free, 1 held, 2 held and
 * maybe waiters; unlock wakes only from 2. */
int sync_futex_lock_create(const struct sync_ops *ops, const struct sync_params *p,
			   void **obj, char *err)
{
	int rc = sync_obj_new(ops, p, sizeof(struct sync_futex_lock), obj, err);

	if (rc == 0)
		((struct sync_futex_lock *)*obj)->private_futex =
			!(ops->caps.flags & SYNC_PROCESS_SHARED);
	return rc;
}

int sync_futex_lock_lock(void *h)
{
	struct sync_futex_lock *o = h;
	uint32_t c = 0;

	if (ipc_cas(&o->word, &c, 1))
		return 0;
	if (o->hdr.params.wait == IPC_WAIT_SPIN) {
		struct sync_spin s;

		sync_spin_init(&s, &o->hdr);
		for (;;) {
			sync_spin_pause(&s);
			c = 0;
			if (ipc_load_relaxed(&o->word) == 0 && ipc_cas(&o->word, &c, 1))
				return 0;
		}
	}
	if (c != 2)
		c = atomic_exchange(&o->word, 2);
	while (c != 0) {
		int rc = sync_futex_wait(&o->word, 2, o->private_futex);

		if (rc < 0 && rc != -EAGAIN && rc != -EINTR)
			return rc;
		c = atomic_exchange(&o->word, 2);
	}
	return 0;
}

int sync_futex_lock_unlock(void *h)
{
	struct sync_futex_lock *o = h;

	if (ipc_fetch_sub(&o->word, 1) != 1) {
		ipc_store_release(&o->word, 0);
		int rc = sync_futex_wake(&o->word, 1, o->private_futex);

		return rc < 0 ? rc : 0;
	}
	return 0;
}

/* ---- lock files ------------------------------------------------------------ */

int sync_lockfile_create(const struct sync_ops *ops, const struct sync_params *p, void **obj,
			 char *err)
{
	const char *tmp = getenv("TMPDIR");
	char name[IPC_NAME_MAX];
	struct sync_lockfile *o;
	int rc, fd, n;

	rc = sync_obj_new(ops, p, sizeof(*o), obj, err);
	if (rc < 0)
		return rc;
	o = *obj;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	rc = ipc_unique_name(name, sizeof(name), SYNC_LOCK_KIND);
	n = snprintf(o->path, sizeof(o->path), "%s%s", tmp, name);
	if (rc < 0 || n < 0 || (size_t)n >= sizeof(o->path)) {
		sync_err(err, "%s: lock file name under %s too long", ops->name, tmp);
		rc = -ENAMETOOLONG;
		goto err;
	}
	fd = open(o->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		sync_err(err, "%s: create %s: %s", ops->name, o->path, strerror(-rc));
		goto err;
	}
	close(fd); /* every worker opens its own */
	return 0;
err:
	sync_obj_free(o);
	*obj = NULL;
	return rc;
}

int sync_lockfile_attach(void *obj, void **h, char *err)
{
	struct sync_lockfile *o = obj;
	int *fd = malloc(sizeof(*fd));

	if (!fd) {
		sync_err(err, "out of memory");
		return -ENOMEM;
	}
	*fd = open(o->path, O_RDWR | O_CLOEXEC);
	if (*fd < 0) {
		int e = errno;

		sync_err(err, "open lock file %s: %s%s", o->path, strerror(e),
			 atomic_load(&o->sealed) ? " (already sealed: attach before seal)" : "");
		free(fd);
		return -e;
	}
	*h = fd;
	return 0;
}

void sync_lockfile_seal(void *obj)
{
	struct sync_lockfile *o = obj;

	if (atomic_exchange(&o->sealed, 1) == 0)
		unlink(o->path);
}

void sync_lockfile_detach(void *h)
{
	if (!h)
		return;
	close(*(int *)h);
	free(h);
}

void sync_lockfile_destroy(void *obj)
{
	if (!obj)
		return;
	sync_lockfile_seal(obj);
	sync_obj_free(obj);
}
