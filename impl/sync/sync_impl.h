/*
 * sync_impl.h - what the primitive files of impl/sync/ share: the object
 * header in shared memory, parameter checks, the bounded spin, lock files,
 * and the bodies that several rows use with one difference (the pthread
 * mutex with its attributes, the futex lock shared or private).
 * Nothing outside impl/sync/ includes this.
 */
#ifndef IPCLAB_SYNC_IMPL_H
#define IPCLAB_SYNC_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "atomics.h"
#include "sync.h"

/*
 * Spinning waits, in one place.  A spinning waiter pauses (cpu_relax) and
 * reads the clock every SYNC_SPINS_PER_CLOCK pauses.  After its spin limit
 * without success it naps SYNC_NAP_NS between attempts: the holder is not
 * running, and every further spin only keeps it off the CPU.  A nap, not
 * sched_yield(): under CFS a yield rarely hands the CPU to the preempted
 * holder, and an oversubscribed convoy then advances one scheduler tick per
 * hand-off (shmring saw the same).
 *
 * The limit is SYNC_SPIN_LIMIT_NS when the workers fit on the CPUs this
 * process may use (far above any hand-off between running workers, so spin
 * stays spin), and SYNC_SPIN_LIMIT_OVERSUB_NS when there are more workers
 * than CPUs (params.parties > CPUs): then a holder that is not on a CPU is
 * likely, and a few microseconds cover a hand-off to a running one.
 */
#define SYNC_SPINS_PER_CLOCK 64u
#define SYNC_SPIN_LIMIT_NS 200000ull
#define SYNC_SPIN_LIMIT_OVERSUB_NS 5000ull
#define SYNC_NAP_NS 20000l

/* At the start of every object (first member): what every row needs. */
struct sync_hdr {
	size_t map_len;            /* the whole mapping, for munmap */
	struct sync_params params; /* as created */
	uint64_t spin_limit_ns;    /* see above */
};

struct sync_spin {
	uint64_t limit_ns;
	uint64_t start_ns; /* 0 until the first clock read */
	unsigned spins;
};

static inline void sync_spin_init(struct sync_spin *s, const struct sync_hdr *h)
{
	s->limit_ns = h->spin_limit_ns;
	s->start_ns = 0;
	s->spins = 0;
}

/* One step of a spinning wait (see above): pause, now and then a nap. */
void sync_spin_pause(struct sync_spin *s);

/* CLOCK_MONOTONIC in ns. */
uint64_t sync_now_ns(void);

/* One line into err (may be NULL). */
void sync_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Check params against ops->caps (parties >= 1, wait supported, processes
 * for a thread-only row, initial <= max_count), then map `size` bytes of
 * shared memory (zeroed, MAP_SHARED | MAP_ANONYMOUS: reached by forked
 * workers and threads alike) starting with a filled struct sync_hdr.
 * 0 or -errno (line in err); nothing left on error.
 */
int sync_obj_new(const struct sync_ops *ops, const struct sync_params *p, size_t size,
		 void **obj, char *err);
void sync_obj_free(void *obj);

/* attach for rows whose handle is the object itself. */
int sync_attach_self(void *obj, void **h, char *err);
void sync_detach_none(void *h);

/* pthread's positive error numbers as -errno. */
static inline int sync_pth(int rc)
{
	return -rc;
}

/* ---- pthread mutex rows (pthread-mutex, -robust, -private) ---------------- */
int sync_pmutex_create(const struct sync_ops *ops, const struct sync_params *p, void **obj,
		       char *err);
int sync_pmutex_lock(void *h);
int sync_pmutex_unlock(void *h);
int sync_pmutex_consistent(void *h);
void sync_pmutex_destroy(void *obj);

/* ---- futex lock rows (futex-lock, futex-lock-private) --------------------- */
struct sync_futex_lock {
	struct sync_hdr hdr;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t word; /* 0 free, 1 held, 2 held + waiters */
	int private_futex;
};
int sync_futex_lock_create(const struct sync_ops *ops, const struct sync_params *p,
			   void **obj, char *err);
int sync_futex_lock_lock(void *h);
int sync_futex_lock_unlock(void *h);

/* futex(2) WAIT/WAKE with or without FUTEX_PRIVATE_FLAG (a private futex
 * is keyed by the address space: threads only).  As futex.h. */
int sync_futex_wait(_Atomic uint32_t *word, uint32_t expected, int private_futex);
int sync_futex_wake(_Atomic uint32_t *word, int n, int private_futex);

/* ---- lock files (ofd-lock, flock) ----------------------------------------- */
/* A file $TMPDIR/ipclab-synclock-PID-SEQ-RANDOM, created O_EXCL 0600; each
 * worker opens it itself (its own open file description: a description
 * inherited through fork or shared by threads never conflicts with itself). */
struct sync_lockfile {
	struct sync_hdr hdr;
	char path[256];
	_Atomic int sealed; /* path unlinked */
};
int sync_lockfile_create(const struct sync_ops *ops, const struct sync_params *p, void **obj,
			 char *err);
/* *h is a heap int holding the worker's own descriptor. */
int sync_lockfile_attach(void *obj, void **h, char *err);
void sync_lockfile_seal(void *obj);
void sync_lockfile_detach(void *h);
void sync_lockfile_destroy(void *obj);
static inline int sync_lockfile_fd(void *h)
{
	return *(int *)h;
}

/* Names: KIND parts of ipc_unique_name() for objects that outlive a
 * SIGKILL (sync_stale_scan parses the pid after them). */
#define SYNC_SEM_KIND "syncsem"
#define SYNC_LOCK_KIND "synclock"
/* SysV semaphore sets: key = SYNC_SYSV_MAGIC << 24 | 24 random bits, and
 * SYNC_SYSV_NSEMS semaphores: [0] post/wait, [1] the lock, [2] and [3] the
 * creator's pid in 15-bit halves (semaphore values stop at 32767). */
#define SYNC_SYSV_MAGIC 0x1cu
#define SYNC_SYSV_NSEMS 4
#define SYNC_SYSV_SEM 0
#define SYNC_SYSV_LOCK 1
#define SYNC_SYSV_PID_LO 2
#define SYNC_SYSV_PID_HI 3
#define SYNC_SYSV_PID_BITS 15

#endif
