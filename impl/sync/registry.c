/* registry.c - every synchronization primitive's table, and the scan for
 * objects a SIGKILLed run left behind.  Adding a primitive: one file in
 * impl/sync/ and one line here. */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sem.h>
#include <time.h>
#include <unistd.h>

#include "leftovers.h"
#include "names.h"
#include "sync_impl.h"

extern const struct sync_ops sync_pthread_mutex_ops;
extern const struct sync_ops sync_pthread_mutex_robust_ops;
extern const struct sync_ops sync_pthread_rwlock_ops;
extern const struct sync_ops sync_pthread_cond_ops;
extern const struct sync_ops sync_pthread_barrier_ops;
extern const struct sync_ops sync_posix_sem_ops;
extern const struct sync_ops sync_posix_sem_named_ops;
extern const struct sync_ops sync_sysv_sem_ops;
extern const struct sync_ops sync_futex_lock_ops;
extern const struct sync_ops sync_futex_event_ops;
extern const struct sync_ops sync_eventfd_sem_ops;
extern const struct sync_ops sync_ofd_lock_ops;
extern const struct sync_ops sync_flock_ops;
extern const struct sync_ops sync_spinlock_ttas_ops;
extern const struct sync_ops sync_spinlock_ticket_ops;
extern const struct sync_ops sync_spin_barrier_ops;
extern const struct sync_ops sync_pthread_mutex_private_ops;
extern const struct sync_ops sync_futex_lock_private_ops;
extern const struct sync_ops sync_coro_sem_ops;

const struct sync_ops *const sync_registry[] = {
	/* SYNC_REGISTRY_BEGIN (one line per primitive, in report order) */
	&sync_pthread_mutex_ops,
	&sync_pthread_mutex_robust_ops,
	&sync_pthread_rwlock_ops,
	&sync_pthread_cond_ops,
	&sync_pthread_barrier_ops,
	&sync_posix_sem_ops,
	&sync_posix_sem_named_ops,
	&sync_sysv_sem_ops,
	&sync_futex_lock_ops,
	&sync_futex_event_ops,
	&sync_eventfd_sem_ops,
	&sync_ofd_lock_ops,
	&sync_flock_ops,
	&sync_spinlock_ttas_ops,
	&sync_spinlock_ticket_ops,
	&sync_spin_barrier_ops,
	&sync_pthread_mutex_private_ops,
	&sync_futex_lock_private_ops,
	&sync_coro_sem_ops,
	/* SYNC_REGISTRY_END */
	NULL,
};

const struct sync_ops *sync_find(const char *name)
{
	const struct sync_ops *op;

	sync_for_each(op)
		if (strcmp(op->name, name) == 0)
			return op;
	return NULL;
}

const char *sync_owner_death_name(enum sync_owner_death d)
{
	switch (d) {
	case SYNC_DEATH_NA:
		return "n/a";
	case SYNC_DEATH_HANGS:
		return "hangs";
	case SYNC_DEATH_RELEASED:
		return "released";
	case SYNC_DEATH_OWNERDEAD:
		return "ownerdead";
	}
	return "?";
}

/* ---- leftovers ------------------------------------------------------------- */

/* A SysV set whose pid halves still read 0 was SIGKILLed between semget and
 * SETALL, or is being created right now by another run: stale only when
 * older than this. */
#define SYNC_STALE_UNSTAMPED_S 10

/* One SysV set that may outlive its creator (named objects: leftovers.h). */
struct leftover {
	char what[96];                /* as reported */
	int semid;
	long pid;                     /* creator, 0 unknown */
	int stale;                    /* creator gone */
};

struct scan {
	int only_stale, remove;
	char *out;
	size_t len, used;
	int found;
};

static int pid_gone(long pid)
{
	return pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

static void scan_take(struct scan *s, struct leftover *l)
{
	if (s->only_stale && !l->stale)
		return;
	s->found++;
	if (s->remove)
		semctl(l->semid, 0, IPC_RMID);
	if (s->out && s->used < s->len) {
		int n = snprintf(s->out + s->used, s->len - s->used, "%s%s", s->used ? " " : "",
				 l->what);

		if (n > 0)
			s->used += (size_t)n;
		if (s->used >= s->len)
			s->used = s->len;
	}
}

static int sysv_val(int id, int num)
{
	int v = semctl(id, num, GETVAL);

	return v < 0 ? 0 : v;
}

/* /proc/sysvipc/sem: key semid perms nsems uid gid cuid cgid otime ctime. */
static int scan_sysv(struct scan *s)
{
	FILE *f = fopen("/proc/sysvipc/sem", "r");
	char line[512];
	uid_t me = geteuid();

	if (!f)
		return errno == ENOENT ? 0 : -errno;
	if (!fgets(line, sizeof(line), f)) { /* header */
		fclose(f);
		return 0;
	}
	while (fgets(line, sizeof(line), f)) {
		struct leftover l = { .semid = -1 };
		long long key, ctime_s;
		unsigned long nsems, uid;
		unsigned perms;

		if (sscanf(line, "%lld %d %o %lu %lu %*u %*u %*u %*d %lld", &key, &l.semid, &perms,
			   &nsems, &uid, &ctime_s) != 6)
			continue;
		if (((unsigned long long)key >> 24) != SYNC_SYSV_MAGIC || nsems != SYNC_SYSV_NSEMS ||
		    uid != me)
			continue;
		l.pid = sysv_val(l.semid, SYNC_SYSV_PID_LO) |
			(long)sysv_val(l.semid, SYNC_SYSV_PID_HI) << SYNC_SYSV_PID_BITS;
		if (l.pid)
			l.stale = pid_gone(l.pid);
		else
			l.stale = time(NULL) - (time_t)ctime_s > SYNC_STALE_UNSTAMPED_S;
		snprintf(l.what, sizeof(l.what), "sysv-sem:key=0x%llx,semid=%d,creator=%ld", key,
			 l.semid, l.pid);
		scan_take(s, &l);
	}
	fclose(f);
	return 0;
}

static int scan_all(struct scan *s)
{
	unsigned flags = (s->only_stale ? IPC_LEFT_STALE : 0) | (s->remove ? IPC_LEFT_REMOVE : 0);
	int rc, first = 0;

	if (s->out && s->len)
		s->out[0] = '\0';
	/* Named semaphores and lock files: named as every object is. */
	rc = ipc_leftovers_scan(SYNC_SEM_KIND, flags, s->out, s->len);
	s->found += rc > 0 ? rc : 0;
	first = first ? first : rc;
	rc = ipc_leftovers_scan(SYNC_LOCK_KIND, flags, s->out, s->len);
	s->found += rc > 0 ? rc : 0;
	first = first ? first : rc;
	s->used = s->out && s->len ? strlen(s->out) : 0;
	rc = scan_sysv(s);
	first = first ? first : rc;
	return first < 0 ? first : s->found;
}

int sync_stale_scan(int remove, char *out, size_t len)
{
	struct scan s = { .only_stale = 1, .remove = remove, .out = out, .len = len };

	return scan_all(&s);
}

int sync_objects_list(char *out, size_t len)
{
	struct scan s = { .only_stale = 0, .remove = 0, .out = out, .len = len };

	return scan_all(&s);
}
