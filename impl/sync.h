/*
 * sync.h - the second family: synchronization primitives across workers.
 *
 * A channel (ipc.h) moves messages; a primitive moves no data, it orders
 * workers: a lock, a semaphore, an event, a notification, a barrier.  Each
 * primitive is one file under impl/sync/ exporting one const struct
 * sync_ops; impl/sync/registry.c lists them.  Nothing here knows the
 * harness.
 *
 * Life cycle (the harness drives it):
 *
 *   parent:  ops->create(&params, &obj, err)  before the workers start; the
 *            object lives in MAP_SHARED memory (or the kernel), so forked
 *            workers and threads reach the same one
 *   worker:  ops->attach(obj, &h, err)        in the worker (process or
 *            thread); file locks open their own file description here,
 *            named objects are opened by name
 *   parent:  ops->seal(obj)                   optional, after every worker
 *            attached: removes names nobody needs any more (the object
 *            lives on in those who hold it), so a later SIGKILL leaves less
 *   worker:  the operations in ops (below), on h
 *   worker:  ops->detach(h)
 *   parent:  ops->destroy(obj)                removes every name and kernel
 *            object it created, also after a worker died
 *
 * A worker that holds an object and is SIGKILLed leaves it in the state
 * caps.owner_death says.  Objects that outlive a SIGKILL of the creating
 * process (named semaphores, SysV semaphores, lock files) carry the
 * creator's pid; sync_stale_scan() finds those whose creator is gone.
 *
 * Errors are negative errno values; create and attach also write one line
 * into err (SYNC_ERRLEN bytes, may be NULL).  No function prints.
 */
#ifndef IPCLAB_SYNC_H
#define IPCLAB_SYNC_H

#include <stddef.h>
#include <stdint.h>

#include "ipc.h" /* enum ipc_wait, IPC_WAIT_BIT: the same wait strategies */

#define SYNC_ERRLEN 256

/* Operation groups a primitive has (sync_caps.ops). */
enum {
	SYNC_OP_LOCK = 1u << 0,    /* lock / unlock: mutual exclusion */
	SYNC_OP_SEM = 1u << 1,     /* post / wait: a counting semaphore */
	SYNC_OP_EVENT = 1u << 2,   /* set / wait_set / reset: a level flag */
	SYNC_OP_NOTIFY = 1u << 3,  /* notify / await: a generation count */
	SYNC_OP_BARRIER = 1u << 4, /* barrier_wait: params.parties at a time */
};

/* What a lock does when its owner is SIGKILLed inside the critical
 * section (sync_caps.owner_death; the conformance suite checks it). */
enum sync_owner_death {
	SYNC_DEATH_NA = 0,        /* no lock operations */
	SYNC_DEATH_HANGS,         /* stays locked: the next locker waits forever */
	SYNC_DEATH_RELEASED,      /* the kernel releases it (file lock, SEM_UNDO) */
	SYNC_DEATH_OWNERDEAD,     /* the next locker gets it with -EOWNERDEAD */
};

/* Flags (sync_caps.flags). */
enum {
	SYNC_PROCESS_SHARED = 1u << 0, /* works between processes; without it
					  the primitive is thread-only */
	SYNC_NAMED = 1u << 1,          /* creates a name in the system (file,
					  /dev/shm entry, SysV key) that could
					  outlive a SIGKILL of its creator */
	SYNC_KERNEL_ONLY = 1u << 2,    /* every operation is a system call (no
					  user-space fast path) */
	SYNC_YIELDS = 1u << 3,         /* a wait inside a coroutine yields to the
					  other coroutines of its thread
					  (coroutine.h) instead of blocking it:
					  runs under --workers=coroutine */
};

struct sync_caps {
	unsigned ops;            /* SYNC_OP_* */
	unsigned waits;          /* IPC_WAIT_BIT() of every supported wait */
	unsigned flags;          /* SYNC_PROCESS_SHARED, SYNC_NAMED, ... */
	enum sync_owner_death owner_death;
	unsigned max_count;      /* SEM: largest value (SEM_VALUE_MAX, SEMVMX) */
};

/* Who the workers are. */
enum sync_workers {
	SYNC_WORKERS_PROCESS = 0, /* forked processes (the default) */
	SYNC_WORKERS_THREAD = 1,  /* threads of one process */
};

struct sync_params {
	unsigned parties;          /* workers that will attach (>= 1); the
				      barrier's count; more than the CPUs
				      this process may use makes spinning
				      waits give up their CPU sooner */
	enum ipc_wait wait;        /* block or spin (caps.waits) */
	enum sync_workers workers; /* a thread-only primitive refuses
				      SYNC_WORKERS_PROCESS (-ENOTSUP) */
	unsigned initial;          /* SEM: initial value (<= caps.max_count) */
};

struct sync_ops {
	const char *name;    /* as in case names: "futex-lock", ... */
	const char *summary; /* one line for --list and the report */
	struct sync_caps caps;

	/*
	 * Create one object for params (names unique, O_EXCL, mode 0600).
	 * Refuses what it cannot honour (parties 0, an unsupported wait,
	 * processes for a thread-only primitive, initial over max_count)
	 * with -EINVAL or -ENOTSUP and a line in err; on error nothing is
	 * left behind.  0 or -errno.
	 */
	int (*create)(const struct sync_params *p, void **obj, char *err);
	/* In the worker.  0 or -errno (line in err). */
	int (*attach)(void *obj, void **h, char *err);
	/* Optional (NULL): every worker has attached; drop names. */
	void (*seal)(void *obj);

	/* SYNC_OP_LOCK.  lock: 0; -EOWNERDEAD when the previous owner died
	 * inside (the caller holds the lock and must call consistent() before
	 * unlock, or the lock becomes unusable); other -errno. */
	int (*lock)(void *h);
	int (*unlock)(void *h);
	/* Robust locks only (owner_death SYNC_DEATH_OWNERDEAD), else NULL:
	 * mark the protected state recovered.  0 or -errno. */
	int (*consistent)(void *h);

	/* SYNC_OP_SEM: post adds one, wait takes one (sleeping or spinning
	 * while it is 0). */
	int (*post)(void *h);
	int (*wait)(void *h);

	/* SYNC_OP_EVENT: set raises the flag and wakes every waiter; wait_set
	 * returns once it is raised; reset lowers it. */
	int (*set)(void *h);
	int (*wait_set)(void *h);
	int (*reset)(void *h);

	/* SYNC_OP_NOTIFY: notify advances the generation and wakes every
	 * waiter; await returns once the generation differs from *seen and
	 * stores the one it saw there.  A notify between reading *seen and
	 * await is never lost. */
	int (*notify)(void *h);
	int (*await)(void *h, uint32_t *seen);

	/* SYNC_OP_BARRIER: returns once params.parties workers called it;
	 * 1 in exactly one of them per crossing, 0 in the others; -errno. */
	int (*barrier_wait)(void *h);

	void (*detach)(void *h);
	void (*destroy)(void *obj);
};

/* impl/sync/registry.c */
extern const struct sync_ops *const sync_registry[]; /* NULL-terminated */
#define sync_for_each(op) \
	for (const struct sync_ops *const *op##_it = sync_registry; ((op) = *op##_it) != NULL; op##_it++)

const struct sync_ops *sync_find(const char *name);
const char *sync_owner_death_name(enum sync_owner_death d);

/*
 * Objects of ipclab sync primitives whose creating process is gone (it was
 * SIGKILLed before destroy): named semaphores in /dev/shm, lock files in
 * $TMPDIR, SysV semaphore sets of this user.  Names (space separated, cut
 * at len) into out; with remove, each is removed as well.  Returns how many
 * were found, or -errno when a place could not be read.
 */
int sync_stale_scan(int remove, char *out, size_t len);

/*
 * Every ipclab sync object present now, dead creator or not (the same
 * places as sync_stale_scan).  For leak checks.  Count or -errno.
 */
int sync_objects_list(char *out, size_t len);

#endif
