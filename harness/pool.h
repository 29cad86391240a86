/* pool.h - a pool of forked worker processes, reused across rounds.
 *
 * The multiprocessing life cycle done right in C:
 *   pool_start()  forks N workers; each sets PR_SET_PDEATHSIG(SIGKILL), ignores
 *                 SIGINT/SIGTERM (the parent decides), binds to its CPU, runs
 *                 cfg->setup (attach channels), then reports ready.
 *   pool_round()  the parent fills pool_cmd(), then releases every worker at
 *                 once; each runs cfg->round and writes its result into its
 *                 slot in shared memory; the parent waits for all, under a
 *                 watchdog.  Workers never print.
 *   pool_stop()   workers run cfg->teardown and _exit; every child is reaped.
 *
 * With cfg->backend == POOL_THREAD the pool forks one host process that runs
 * every worker as a thread (bound to its CPU, setups one at a time); a
 * worker that dies takes the host, and so the whole pool, with it.
 *
 * If a worker dies, a round's watchdog expires, or the parent is
 * interrupted (sig_pending()), the parent sends SIGTERM then SIGKILL to the
 * whole pool, reaps every child, and the call returns an error with a reason
 * such as "worker 1 (cpu 1) killed by signal 9 (Killed)".  After an error
 * only pool_stop() may be called.  No zombies, ever.
 */
#ifndef IPCLAB_POOL_H
#define IPCLAB_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define POOL_ERRLEN 256
#define POOL_MAX_WORKERS 1024

struct topo;

/* Where the workers run (--workers=).  Both run the same callbacks and
 * fill the same slots; only the launch differs. */
enum pool_backend {
	POOL_PROCESS = 0, /* one forked process per worker (the default) */
	POOL_THREAD,      /* threads of one forked host process, each bound
			     to its CPU: they share the address space and
			     the descriptor table */
	POOL_COROUTINE,   /* coroutines of one thread of one forked host
			     process (impl/coroutine.h), bound to worker 0's
			     CPU: a wait must yield, never block */
	POOL_COROUTINE_UCONTEXT, /* as POOL_COROUTINE, switching with glibc's
				    swapcontext instead of our own switch (an
				    rt_sigprocmask system call per switch):
				    the ucontext row beside ours */
	POOL_MPI,         /* ranks of an MPI job (pool_mpi.h): worker i is
			     rank i, rank 0 runs worker 0 and coordinates;
			     nothing is shared but what a channel exports */
	POOL_BACKEND_COUNT
};
const char *pool_backend_name(enum pool_backend b); /* "process", "thread" */
int pool_backend_parse(const char *s, enum pool_backend *out); /* 0 or -EINVAL */
/* Coroutines of one thread (either switch)? */
bool pool_backend_is_coroutine(enum pool_backend b);
/* Do the workers of this backend share one address space (and descriptors)? */
bool pool_backend_shares_memory(enum pool_backend b);

struct pool_worker {
	unsigned id;        /* 0 .. n-1 */
	unsigned n;         /* workers in the pool */
	int cpu;            /* CPU asked for, -1: unbound */
	void *arg;          /* cfg->arg */
	const void *cmd;    /* the parent's command for this round (cmd_size) */
	void *slot;         /* this worker's result slot (slot_size bytes) */
	char *err;          /* POOL_ERRLEN bytes: why setup/round failed */
	void *priv;         /* the worker's own state, set in setup */
	enum pool_backend backend; /* where it runs (pool_sync asks) */
};

struct pool_cfg {
	unsigned nworkers;          /* 1 .. POOL_MAX_WORKERS */
	const int *cpus;            /* nworkers CPUs (-1 unbound); NULL: none */
	const struct topo *topo;    /* used to bind; may be NULL if unbound */
	size_t slot_size;           /* result bytes per worker (shared) */
	size_t cmd_size;            /* command bytes (shared, parent writes) */
	/* In the child, after binding: attach what it uses, forget what it
	 * inherited but does not use.  0 or -errno (message in w->err). */
	int (*setup)(struct pool_worker *w);
	/* One round.  0 or -errno (message in w->err). */
	int (*round)(struct pool_worker *w);
	/* In the child before it exits (also after a failed round). */
	void (*teardown)(struct pool_worker *w);
	void *arg;
	unsigned start_timeout_ms;  /* watchdog for fork + setup; 0: 10 s */
	/* Optional: a worker's progress, read by the parent from its slot
	 * while a round runs (e.g. messages handled so far; the worker stores
	 * it with a relaxed atomic).  With it, a round's timeout_ms is a stall
	 * limit: the watchdog fires only when no worker made progress for that
	 * long, so a slow but live round (oversubscribed spinning) finishes. */
	uint64_t (*progress)(const void *slot);
	enum pool_backend backend;
	/* POOL_MPI only (pool_mpi.h): the case as bytes for the other ranks
	 * (mpi_case_len bytes), this rank's lines of the channel table
	 * (worker 0's exports), and how a rank imports the joined table
	 * (every worker's lines) before its setup.  0 or -errno with err. */
	const void *mpi_case;
	size_t mpi_case_len;
	const char *mpi_lines;
	int (*mpi_import)(void *arg, unsigned worker, const char *table, char *err);
};

struct pool;

/* --workers=mpi (pool_mpi.c), while an MPI worker runs a round: wl_tick
 * (workload.h) calls this every POOL_BEAT_TICKS ticks with the worker's
 * progress, so that the worker's rank can tell rank 0 it is moving (a
 * heartbeat: a rank cannot be read from another host's memory).  NULL in
 * every other process and outside those rounds.  Per process by nature
 * (one MPI worker per rank, on the thread that calls MPI), so a global. */
#define POOL_BEAT_TICKS 64u
extern void (*pool_beat)(uint64_t progress);

/* 0 or -errno with reason (POOL_ERRLEN).  On error nothing is left: every
 * child forked is killed and reaped. */
int pool_start(struct pool **out, const struct pool_cfg *cfg, char *reason);

/* The command area (cfg->cmd_size bytes) the parent fills before a round. */
void *pool_cmd(struct pool *p);

/* A round's stall limit in all, in timeouts: a round that makes no progress
 * while one of its workers gets no CPU (runnable but waiting, procstat.h;
 * the others may wait for it) is the machine's doing, not a hang, and gets
 * up to this long.  A worker's own wait for one message (a channel's
 * timeout_ms) is this long too, so it does not end such a round first. */
#define POOL_STALL_STRETCH 8u

/* Release every worker at once and wait until all finish the round.
 * 0; -ETIMEDOUT (watchdog after timeout_ms, or timeout_ms without progress
 * when cfg->progress is set, longer while a worker is starved of CPU, see
 * POOL_STALL_STRETCH; pool killed); -ECHILD (a worker
 * died, pool killed); -EINTR (sig_pending(), pool killed); or the first
 * worker's -errno from cfg->round (reason carries its w->err). */
int pool_round(struct pool *p, unsigned timeout_ms, char *reason);

const void *pool_slot(const struct pool *p, unsigned i);
/* CPU the worker reported after binding (sched_getcpu()), -1 unknown. */
int pool_worker_ran_on(const struct pool *p, unsigned i);
pid_t pool_worker_pid(const struct pool *p, unsigned i);
unsigned pool_size(const struct pool *p);
/* The pool's backend, and whether its workers share one address space:
 * then a worker must not close or unmap what its peers use. */
enum pool_backend pool_backend(const struct pool *p);
bool pool_shares_memory(const struct pool *p);

/* Inside cfg->round: wait until every worker of the pool reached this call,
 * then all leave together (a spin barrier that yields, so an oversubscribed
 * pool still makes progress).  Use it after warm-up, before timing. */
void pool_sync(struct pool_worker *w);

/* Ask workers to tear down and exit; reap all.  A stall limit, as for
 * rounds: a worker is killed once the workers still running used no CPU
 * for timeout_ms (a teardown blocked for good), or after
 * POOL_STOP_STRETCH x timeout_ms in all (one that spins for good); a slow
 * teardown on a loaded machine runs to its end.  Frees everything.  0, or
 * -errno when a worker had to be killed or exited non-zero (reason says
 * which). */
int pool_stop(struct pool *p, unsigned timeout_ms, char *reason);

#endif
