/* pool.c - persistent workers (forked processes, or threads of one forked
 * host process), released together, watched, reaped.
 *
 * One shared anonymous mapping holds everything the parent and the workers
 * share:
 *
 *   struct pool_ctl     generation word (start barrier, futex), op, done
 *                       counter (futex), pool_sync() barrier
 *   struct pool_wstate  one per worker: done generation, ready, ran_on,
 *                       pid, round result, error message
 *   command area        cfg->cmd_size bytes, written by the parent
 *   result slots        cfg->slot_size bytes per worker, each on its own
 *                       cache lines
 *
 * A round: the parent writes the command, sets done = 0, bumps the
 * generation and wakes sleeping workers.  Each worker spins briefly on the
 * generation, then sleeps on it (futex); runs cfg->round; writes its result;
 * increments done, and the last one wakes the parent if it sleeps.  The
 * parent spins briefly on done, then sleeps on it in short slices so that it
 * also notices a dead child (waitpid WNOHANG), its watchdog and
 * sig_pending().
 *
 * Functions return 0 or -errno; reasons go to the caller's buffer.  Nothing
 * here prints.  Worker processes (and the thread host) leave with _exit.
 *
 * Why this file is long: the pool is one life cycle (start, rounds, stop,
 * kill, reap) that both backends share; split, its invariants would be
 * read in several places.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "clock.h"
#include "coroutine.h"
#include "errline.h"
#include "futex.h"
#include "ipc.h"
#include "pool.h"
#include "pool_mpi.h"
#include "procstat.h"
#include "sig.h"
#include "topo.h"

/* Shared words each get their own line so a worker spinning on one does not
 * steal the line another is writing.  64 bytes on x86-64 and most arm64
 * cores; a larger real line only costs some false sharing. */
#define POOL_CACHELINE 64

/* Default watchdogs (ms) when a caller passes 0: generous enough for fork +
 * setup (or a round, or teardown) on a loaded 2-core VM, short enough that
 * a hung case does not stall a run for long. */
#define POOL_START_TIMEOUT_MS 10000u
#define POOL_ROUND_TIMEOUT_MS 10000u
#define POOL_STOP_TIMEOUT_MS 5000u

/* How long the parent sleeps on the done counter before it looks at its
 * children, the watchdog and sig_pending() again: a worker that dies is
 * noticed within this, and an idle wait wakes only 100 times a second. */
#define POOL_POLL_MS 10u

/* A wait on the done counter that comes back this much later than asked
 * (or a quarter of the stall limit, when less) means the parent itself got
 * no CPU: a starved session (on the 2-CPU VMs here a process at nice -20
 * waited up to 7 s for a CPU beside the soak's hog and tests; each session
 * is a scheduling group, sched_autogroup).  The workers likely got none
 * either, and the parent must not judge them on time it could not look:
 * the stall limit starts again when the parent runs again, within the
 * limit in all (POOL_STALL_STRETCH). */
#define POOL_LATE_MS 100u

/* Grace between SIGTERM and SIGKILL.  Workers ignore SIGTERM by default
 * (sig_child_reset), so this is for round code that handles it; short, so
 * killing a pool stays quick. */
#define POOL_TERM_GRACE_MS 100u

/* How often the parent polls waitpid(WNOHANG) while it waits for workers to
 * exit (grace period, pool_stop). */
#define POOL_REAP_POLL_NS 1000000ull

/* pool_stop's limit in all, in stop timeouts: a teardown that keeps using
 * CPU gets this long before it counts as spinning for good.  On a 2-CPU
 * machine at load 20 a worker gets about a tenth of a CPU, so a teardown
 * of 0.2 s of CPU takes 2 s: the engine's 2 s stop timeout alone killed
 * such a worker once (t_scenario, fanout/fifo/block, pool 2, threads). */
#define POOL_STOP_STRETCH 8u

/* How often pool_stop looks at the CPU time of the workers still running. */
#define POOL_STOP_CPU_POLL_NS 50000000ull

/* How long a waiter (worker on the generation, parent on the done counter)
 * spins before it sleeps on the futex: long enough to catch the next release
 * or the last worker of a short round without a syscall and a cross-CPU
 * wake-up (tens of us on a VM), short enough that an idle pool soon stops
 * burning CPU.  The spin yields every POOL_SYNC_SPIN pauses, so a waiter
 * sharing its CPU with the process it waits for lets that one run. */
#define POOL_SPIN_NS 50000ull

/* Pauses between sched_yield() calls in every spin (pool_sync and the
 * waits above): about 3 us of pause on current x86, so a waiter that shares
 * its CPU with a late process gives it the CPU soon, and a yield (a
 * syscall) costs little when nothing else is runnable. */
#define POOL_SYNC_SPIN 64u

#define NS_PER_MS 1000000ull

/* The internal command a generation carries. */
enum pool_op {
	POOL_OP_ROUND = 1,
	POOL_OP_STOP = 2,
};

/* Exit statuses of a worker (the parent reads the reason from the worker's
 * state first; these only tell the paths apart). */
enum {
	WORKER_EXIT_OK = 0,
	WORKER_EXIT_ORPHAN = 111, /* the parent died before we set PDEATHSIG */
	WORKER_EXIT_SETUP = 112,  /* prctl, binding or cfg->setup failed */
};

struct pool_ctl {
	_Alignas(POOL_CACHELINE) atomic_uint gen;  /* futex: bumped to release */
	atomic_uint op;                            /* enum pool_op for gen */
	atomic_uint gen_sleepers;                  /* workers in futex on gen */
	_Alignas(POOL_CACHELINE) atomic_uint done; /* futex: workers finished */
	atomic_uint parent_sleeps;                 /* parent in futex on done */
	_Alignas(POOL_CACHELINE) atomic_uint sync_count;
	atomic_uint sync_sense;
};

struct pool_wstate {
	_Alignas(POOL_CACHELINE) atomic_uint done_gen; /* last generation done */
	atomic_int ready;   /* setup finished (1) */
	int ran_on;         /* sched_getcpu() after binding */
	pid_t pid;
	int rc;             /* setup or last round: 0 or -errno */
	char err[POOL_ERRLEN];
};

struct pool_proc {
	pid_t pid;
	bool reaped;
	int status;         /* from waitpid, when reaped */
};

struct pool {
	void *map;
	size_t map_len;
	struct pool_ctl *ctl;
	struct pool_wstate *ws;
	unsigned char *cmd;
	unsigned char *slots;
	size_t slot_stride;
	struct pool_cfg cfg;
	unsigned n;
	unsigned nproc;     /* processes: n (process backend) or 1 (thread host) */
	unsigned gen;       /* parent's copy of ctl->gen */
	pid_t parent;
	bool broken;        /* an error happened: only pool_stop() */
	bool killed;        /* every worker killed and reaped */
	int *cpus;          /* n entries, copied from cfg */
	struct pool_mpi *mpi; /* POOL_MPI: the ranks (pool_mpi.c); no process forked */
	struct pool_proc proc[];
};

/* The worker's view: what cfg callbacks get, plus what pool_sync needs. */
struct pool_wctx {
	struct pool_worker w;
	struct pool *p;
	unsigned sense;
	pthread_mutex_t *setup_lock; /* thread backend: setups one at a time */
};

static const char *const backend_names[POOL_BACKEND_COUNT] = {
	[POOL_PROCESS] = "process",
	[POOL_THREAD] = "thread",
	[POOL_COROUTINE] = "coroutine",
	[POOL_COROUTINE_UCONTEXT] = "coroutine-ucontext",
	[POOL_MPI] = "mpi",
};

const char *pool_backend_name(enum pool_backend b)
{
	return (unsigned)b < POOL_BACKEND_COUNT ? backend_names[b] : "?";
}

int pool_backend_parse(const char *s, enum pool_backend *out)
{
	for (unsigned i = 0; i < POOL_BACKEND_COUNT; i++)
		if (strcmp(s, backend_names[i]) == 0) {
			*out = (enum pool_backend)i;
			return 0;
		}
	return -EINVAL;
}

bool pool_backend_is_coroutine(enum pool_backend b)
{
	return b == POOL_COROUTINE || b == POOL_COROUTINE_UCONTEXT;
}

bool pool_backend_shares_memory(enum pool_backend b)
{
	return b == POOL_THREAD || pool_backend_is_coroutine(b); /* of one process */
}

/* The process that runs worker i. */
static unsigned proc_of(const struct pool *p, unsigned i)
{
	return pool_backend_shares_memory(p->cfg.backend) ? 0 : i;
}

/* Spin (yielding now and then) for up to POOL_SPIN_NS until
 * (*word == val) == equal.  true when it happened. */
static bool spin_until(atomic_uint *word, unsigned val, bool equal)
{
	uint64_t end = 0;

	if (coro_active()) /* a coroutine never blocks its thread: it yields */
		return coro_wait_until(word, val, equal, 0) == 0;

	for (;;) {
		for (unsigned i = 0; i < POOL_SYNC_SPIN; i++) {
			if ((atomic_load(word) == val) == equal)
				return true;
			cpu_relax();
		}
		if (!end)
			end = clk_now_ns() + POOL_SPIN_NS;
		else if (clk_now_ns() >= end)
			return false;
		sched_yield();
	}
}

static size_t round_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000ull),
		.tv_nsec = (long)(ns % 1000000000ull),
	};

	nanosleep(&ts, NULL); /* an early return on a signal is fine */
}

/* "worker 1 (cpu 1, pid 1234)" */
static void worker_name(const struct pool *p, unsigned i, char *buf, size_t len)
{
	if (p->cpus[i] >= 0)
		snprintf(buf, len, "worker %u (cpu %d, pid %ld)", i, p->cpus[i],
			 (long)p->proc[proc_of(p, i)].pid);
	else
		snprintf(buf, len, "worker %u (unbound, pid %ld)", i,
			 (long)p->proc[proc_of(p, i)].pid);
}

/* ---- the worker --------------------------------------------------------- */

static void worker_done(struct pool *p, struct pool_wstate *ws, unsigned gen)
{
	struct pool_ctl *c = p->ctl;

	atomic_store(&ws->done_gen, gen);
	/* The last one wakes the parent; so does a failure, which ends the
	 * round for everyone (peers may be blocked on the failed worker). */
	if ((atomic_fetch_add(&c->done, 1) + 1 == p->n || ws->rc) &&
	    atomic_load(&c->parent_sleeps))
		futex_wake(&c->done, INT_MAX);
}

/* Wait until the generation moves past seen; return the new one. */
static unsigned worker_wait(struct pool_ctl *c, unsigned seen)
{
	unsigned g;

	if (spin_until(&c->gen, seen, false))
		return atomic_load(&c->gen);
	/* Announce the sleep, then re-check: the parent bumps gen before it
	 * reads gen_sleepers, so one of us sees the other (seq_cst). */
	atomic_fetch_add(&c->gen_sleepers, 1);
	while ((g = atomic_load(&c->gen)) == seen)
		futex_wait(&c->gen, seen, 0);
	atomic_fetch_sub(&c->gen_sleepers, 1);
	return g;
}

static void worker_fail_start(struct pool *p, struct pool_wstate *ws, int rc)
{
	ws->rc = rc < 0 ? rc : -EIO;
	if (!ws->err[0])
		snprintf(ws->err, sizeof(ws->err), "%s", strerror(-ws->rc));
	worker_done(p, ws, 0);
	_exit(WORKER_EXIT_SETUP);
}

/* What a worker process (or the thread backend's host) does first: die
 * with the parent, leave signals to the parent. */
static void child_start(struct pool *p, struct pool_wstate *ws)
{
	int rc;

	/* Die with the parent; the parent may already be gone (then we were
	 * re-parented before prctl took effect). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) {
		rc = -errno;
		snprintf(ws->err, sizeof(ws->err), "prctl(PR_SET_PDEATHSIG): %s",
			 strerror(errno));
		worker_fail_start(p, ws, rc);
	}
	if (getppid() != p->parent)
		_exit(WORKER_EXIT_ORPHAN);
	sig_child_reset();
}

/* One worker, in its process or its thread: bind, set up, then run rounds
 * until told to stop.  Returns after teardown. */
static void worker_body(struct pool *p, unsigned id, pthread_mutex_t *setup_lock)
{
	struct pool_ctl *c = p->ctl;
	struct pool_wstate *ws = &p->ws[id];
	struct pool_wctx x;
	unsigned seen = 0;
	int rc;

	ws->pid = getpid();
	memset(&x, 0, sizeof(x));
	x.p = p;
	x.setup_lock = setup_lock;
	x.w.id = id;
	x.w.n = p->n;
	x.w.cpu = p->cpus[id];
	x.w.arg = p->cfg.arg;
	x.w.cmd = p->cmd;
	x.w.slot = p->slot_stride ? p->slots + (size_t)id * p->slot_stride : NULL;
	x.w.err = ws->err;

	/* Coroutines share one thread: worker 0 binds it for all. */
	if (x.w.cpu >= 0 && (id == 0 || !coro_active())) {
		rc = setup_lock ? topo_bind_thread(p->cfg.topo, x.w.cpu, ws->err) :
				  topo_bind_self(p->cfg.topo, x.w.cpu, ws->err);
		if (rc)
			worker_fail_start(p, ws, rc);
	}
	ws->ran_on = sched_getcpu();
	if (p->cfg.setup) {
		if (setup_lock)
			pthread_mutex_lock(setup_lock);
		rc = p->cfg.setup(&x.w);
		if (setup_lock)
			pthread_mutex_unlock(setup_lock);
		if (rc)
			worker_fail_start(p, ws, rc);
	}
	atomic_store(&ws->ready, 1);
	worker_done(p, ws, 0);

	for (;;) {
		seen = worker_wait(c, seen);
		if (atomic_load(&c->op) == POOL_OP_STOP)
			break;
		ws->err[0] = '\0';
		rc = p->cfg.round(&x.w);
		if (rc && !ws->err[0])
			snprintf(ws->err, sizeof(ws->err), "%s",
				 strerror(rc < 0 ? -rc : EIO));
		ws->rc = rc > 0 ? -rc : rc;
		worker_done(p, ws, seen);
	}
	if (p->cfg.teardown) {
		if (setup_lock)
			pthread_mutex_lock(setup_lock);
		p->cfg.teardown(&x.w);
		if (setup_lock)
			pthread_mutex_unlock(setup_lock);
	}
}

static void __attribute__((noreturn)) worker_main(struct pool *p, unsigned id)
{
	child_start(p, &p->ws[id]);
	worker_body(p, id, NULL);
	_exit(WORKER_EXIT_OK);
}

/* The thread backend's host process: one thread per worker. */
struct pool_thread_arg {
	struct pool *p;
	unsigned id;
	pthread_mutex_t *setup_lock;
};

static void *worker_thread(void *arg)
{
	struct pool_thread_arg *a = arg;

	worker_body(a->p, a->id, a->setup_lock);
	return NULL;
}

static void worker_coroutine(void *arg)
{
	worker_thread(arg);
}

static void __attribute__((noreturn)) host_main(struct pool *p)
{
	pthread_mutex_t setup_lock = PTHREAD_MUTEX_INITIALIZER;
	struct pool_thread_arg *args = calloc(p->n, sizeof(*args));
	pthread_t *tids = calloc(p->n, sizeof(*tids));
	unsigned started = 0;

	child_start(p, &p->ws[0]);
	if (!args || !tids) {
		snprintf(p->ws[0].err, sizeof(p->ws[0].err), "thread host: out of memory");
		worker_fail_start(p, &p->ws[0], -ENOMEM);
	}
	/* Threads attach ends of one channel in one process: attach must
	 * leave the ends it does not take to the threads that do. */
	ipc_set_shared_process();
	if (pool_backend_is_coroutine(p->cfg.backend) &&
	    coro_set_switch(p->cfg.backend == POOL_COROUTINE_UCONTEXT ? CORO_SWITCH_UCONTEXT : CORO_SWITCH_OWN) < 0) {
		snprintf(p->ws[0].err, sizeof(p->ws[0].err), "coroutine host: cannot choose the context switch");
		worker_fail_start(p, &p->ws[0], -EBUSY);
	}
	for (; started < p->n; started++) {
		int e;

		args[started] = (struct pool_thread_arg){ p, started, &setup_lock };
		if (pool_backend_is_coroutine(p->cfg.backend))
			e = -coro_spawn(worker_coroutine, &args[started]);
		else
			e = pthread_create(&tids[started], NULL, worker_thread, &args[started]);
		if (e) {
			snprintf(p->ws[started].err, sizeof(p->ws[started].err),
				 "thread host: pthread_create: %s", strerror(e));
			worker_fail_start(p, &p->ws[started], -e);
		}
	}
	if (pool_backend_is_coroutine(p->cfg.backend))
		coro_run(); /* every worker, until each has torn down */
	for (unsigned i = 0; i < started && !pool_backend_is_coroutine(p->cfg.backend); i++)
		pthread_join(tids[i], NULL);
	_exit(WORKER_EXIT_OK);
}

void pool_sync(struct pool_worker *w)
{
	struct pool_wctx *x = (struct pool_wctx *)((char *)w -
						   offsetof(struct pool_wctx, w));
	struct pool_ctl *c;
	unsigned sense;

	if (w->backend == POOL_MPI) { /* ranks: a barrier over MPI (no pool_wctx) */
		pool_mpi_sync(w);
		return;
	}
	c = x->p->ctl;
	sense = !x->sense;
	x->sense = sense;
	if (atomic_fetch_add(&c->sync_count, 1) + 1 == x->p->n) {
		atomic_store(&c->sync_count, 0);
		atomic_store(&c->sync_sense, sense);
		return;
	}
	for (;;) {
		for (unsigned i = 0; i < POOL_SYNC_SPIN; i++) {
			if (atomic_load(&c->sync_sense) == sense)
				return;
			cpu_relax();
		}
		coro_yield(); /* sched_yield(), or the other coroutines */
	}
}

/* ---- the parent ---------------------------------------------------------- */

/* Reap worker i if it has exited.  true when it is (now) reaped. */
static bool reap_nohang(struct pool *p, unsigned i)
{
	struct pool_proc *pr = &p->proc[i];
	pid_t r;

	if (pr->reaped || pr->pid <= 0)
		return true;
	do
		r = waitpid(pr->pid, &pr->status, WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == pr->pid || (r < 0 && errno == ECHILD)) {
		pr->reaped = true;
		return true;
	}
	return false;
}

static void reap_block(struct pool *p, unsigned i)
{
	struct pool_proc *pr = &p->proc[i];
	pid_t r;

	if (pr->reaped || pr->pid <= 0)
		return;
	do
		r = waitpid(pr->pid, &pr->status, 0);
	while (r < 0 && errno == EINTR);
	pr->reaped = true;
}

static bool all_reaped_nohang(struct pool *p)
{
	bool all = true;

	for (unsigned i = 0; i < p->nproc; i++)
		if (!reap_nohang(p, i))
			all = false;
	return all;
}

static void signal_live(struct pool *p, int sig)
{
	for (unsigned i = 0; i < p->nproc; i++)
		if (!p->proc[i].reaped && p->proc[i].pid > 0)
			kill(p->proc[i].pid, sig);
}

/* SIGTERM to every live worker, a short grace, SIGKILL, reap all. */
static void kill_all(struct pool *p)
{
	uint64_t end = clk_now_ns() + POOL_TERM_GRACE_MS * NS_PER_MS;

	p->broken = true;
	if (p->killed)
		return;
	signal_live(p, SIGTERM);
	while (!all_reaped_nohang(p) && clk_now_ns() < end)
		sleep_ns(POOL_REAP_POLL_NS);
	signal_live(p, SIGKILL);
	for (unsigned i = 0; i < p->nproc; i++)
		reap_block(p, i);
	p->killed = true;
}

/* Why worker i is gone, from its status (the worker's own message first). */
static void dead_reason(const struct pool *p, unsigned i, char *reason)
{
	const struct pool_wstate *ws = &p->ws[i];
	int st = p->proc[proc_of(p, i)].status;
	char who[96];

	worker_name(p, i, who, sizeof(who));
	if (ws->rc && ws->err[0])
		err_line(reason, POOL_ERRLEN, "%s: %s", who, ws->err);
	else if (WIFSIGNALED(st))
		err_line(reason, POOL_ERRLEN, "%s killed by signal %d (%s)", who, WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	else if (WIFEXITED(st))
		err_line(reason, POOL_ERRLEN, "%s exited with status %d", who, WEXITSTATUS(st));
	else
		err_line(reason, POOL_ERRLEN, "%s is gone (wait status 0x%x)", who, (unsigned)st);
}

/* The worker to blame for process i's death: itself, or in a thread host
 * the first worker that reported an error (else worker 0). */
static unsigned culprit(const struct pool *p, unsigned i)
{
	if (p->cfg.backend == POOL_PROCESS)
		return i;
	for (unsigned w = 0; w < p->n; w++)
		if (p->ws[w].rc)
			return w;
	return 0;
}

/* List the workers whose done_gen is not gen (or not ready when starting):
 * "workers 1, 3 still running (cpu 1, pid 12; unbound, pid 14)". */
static void late_list(const struct pool *p, bool starting, char *buf, size_t len)
{
	size_t used = 0, cut;
	unsigned late = 0;
	char tail[POOL_ERRLEN];
	size_t tused = 0;

	buf[0] = '\0';
	tail[0] = '\0';
	used += (size_t)snprintf(buf, len, "workers");
	for (unsigned i = 0; i < p->n && used < len && tused < sizeof(tail); i++) {
		bool is_late = starting ? !atomic_load(&p->ws[i].ready) :
			atomic_load(&p->ws[i].done_gen) != p->gen;

		if (!is_late)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s %u",
					 late ? "," : "", i);
		if (p->cpus[i] >= 0)
			tused += (size_t)snprintf(tail + tused, sizeof(tail) - tused,
						  "%scpu %d, pid %ld", late ? "; " : "",
						  p->cpus[i], (long)p->proc[proc_of(p, i)].pid);
		else
			tused += (size_t)snprintf(tail + tused, sizeof(tail) - tused,
						  "%sunbound, pid %ld", late ? "; " : "",
						  (long)p->proc[proc_of(p, i)].pid);
		late++;
	}
	cut = used < len ? used : len;
	snprintf(buf + cut, len - cut, " %s (%s)",
		 starting ? "not ready" : "still running", tail);
}

/* The kernel's view of each worker process still in the round, at one
 * moment (process backend only: there one worker is one process). */
struct stall_look {
	uint64_t at;
	struct proc_sched *ps; /* n entries */
};

static bool late_worker(const struct pool *p, unsigned i)
{
	return atomic_load(&p->ws[i].done_gen) != p->gen;
}

/* Every worker has stored done_gen for this round. */
static bool all_reported(const struct pool *p)
{
	for (unsigned i = 0; i < p->n; i++)
		if (late_worker(p, i))
			return false;
	return true;
}

/* The looks' buffers, on the first stall of a process-backend round.  False
 * when there is no look to take: the plain stall limit then. */
static bool stall_look_alloc(const struct pool *p, struct stall_look *a, struct stall_look *b)
{
	if (p->nproc != p->n)
		return false;
	if (!a->ps)
		a->ps = calloc(p->n, sizeof(*a->ps));
	if (!b->ps)
		b->ps = calloc(p->n, sizeof(*b->ps));
	return a->ps && b->ps;
}

static void stall_look_take(const struct pool *p, struct stall_look *l, uint64_t now)
{
	l->at = now;
	for (unsigned i = 0; i < p->n; i++)
		if (late_worker(p, i))
			proc_sched_read(p->proc[i].pid, &l->ps[i]);
}

/* A late worker was starved between the looks a and b (runnable, no CPU):
 * the others may be waiting for it.  A hang has every late worker asleep,
 * stopped, or running without progress. */
static bool stall_starved(const struct pool *p, const struct stall_look *a,
			  const struct stall_look *b)
{
	for (unsigned i = 0; i < p->n; i++)
		if (late_worker(p, i) && proc_sched_starved(&a->ps[i], &b->ps[i], b->at - a->at))
			return true;
	return false;
}

/* "; pid 12277: S pipe_read, ran 0 ms, waited 2 ms of the last 5000" for
 * each late worker, between the looks a and b; appended to buf. */
static void stall_detail(const struct pool *p, const struct stall_look *a,
			 const struct stall_look *b, char *buf, size_t len)
{
	size_t used = strlen(buf);

	for (unsigned i = 0; i < p->n && used + 1 < len; i++) {
		const struct proc_sched *x = &a->ps[i], *y = &b->ps[i];
		const char *where = y->where[0] ? y->where : "?";

		if (!late_worker(p, i))
			continue;
		if (x->have_times && y->have_times && y->cpu_ns >= x->cpu_ns && y->wait_ns >= x->wait_ns)
			used += (size_t)snprintf(buf + used, len - used,
				"; pid %ld: %c %s, ran %llu ms, waited %llu ms of the last %llu",
				(long)p->proc[i].pid, y->state, where,
				(unsigned long long)((y->cpu_ns - x->cpu_ns) / NS_PER_MS),
				(unsigned long long)((y->wait_ns - x->wait_ns) / NS_PER_MS),
				(unsigned long long)((b->at - a->at) / NS_PER_MS));
		else
			used += (size_t)snprintf(buf + used, len - used, "; pid %ld: %c %s",
						 (long)p->proc[i].pid, y->state, where);
	}
}

/*
 * Wait until ctl->done reaches p->n, watching children, the deadline and
 * sig_pending().  0 when all are done; else the pool is killed and reaped
 * and the reason is set: -ECHILD, -ETIMEDOUT, -EINTR.
 */
static int wait_all_done_looking(struct pool *p, unsigned timeout_ms, bool starting,
				 char *reason, struct stall_look *look, struct stall_look *cur)
{
	struct pool_ctl *c = p->ctl;
	uint64_t deadline = clk_now_ns() + (uint64_t)timeout_ms * NS_PER_MS;
	uint64_t hard = deadline + (uint64_t)timeout_ms * (POOL_STALL_STRETCH - 1) * NS_PER_MS;
	uint64_t half = (uint64_t)timeout_ms * NS_PER_MS / 2;
	/* Late: POOL_LATE_MS, or a quarter of the limit when that is less. */
	uint64_t late_ns = (uint64_t)POOL_LATE_MS * NS_PER_MS < half / 2 ?
			   (uint64_t)POOL_LATE_MS * NS_PER_MS : half / 2;
	uint64_t seen = 0;
	bool track = !starting && p->cfg.progress;
	bool looked = false;
	unsigned d;

	if (spin_until(&c->done, p->n, true))
		return 0;
	for (;;) {
		uint64_t now, left, slept, woke;
		int sig;

		d = atomic_load(&c->done);
		if (d == p->n)
			return 0;
		sig = sig_pending();
		if (sig) {
			kill_all(p);
			err_line(reason, POOL_ERRLEN, "interrupted by %s", sig == SIGINT ? "SIGINT" :
			    sig == SIGTERM ? "SIGTERM" : strsignal(sig));
			return -EINTR;
		}
		/* A worker that failed its round: its peers may wait for it
		 * forever, so the round ends now with its reason. */
		for (unsigned i = 0; i < p->n && !starting; i++) {
			char who[96];

			if (atomic_load(&p->ws[i].done_gen) != p->gen || !p->ws[i].rc)
				continue;
			worker_name(p, i, who, sizeof(who));
			err_line(reason, POOL_ERRLEN, "%s: %s", who, p->ws[i].err);
			kill_all(p);
			return p->ws[i].rc;
		}
		for (unsigned i = 0; i < p->nproc; i++) {
			unsigned w;

			if (!reap_nohang(p, i))
				continue;
			/* A worker that failed setup reports and exits: the
			 * others may all be ready, and we must say why. */
			w = culprit(p, i);
			dead_reason(p, w, reason);
			kill_all(p);
			return p->ws[w].rc && starting ? p->ws[w].rc : -ECHILD;
		}
		now = clk_now_ns();
		if (track) {
			uint64_t sum = 0;

			for (unsigned i = 0; i < p->n; i++)
				sum += p->cfg.progress(pool_slot(p, i));
			if (sum != seen) { /* alive and moving: not a hang */
				seen = sum;
				deadline = now + (uint64_t)timeout_ms * NS_PER_MS;
				hard = now + (uint64_t)timeout_ms * POOL_STALL_STRETCH * NS_PER_MS;
				looked = false;
			} else if (!looked && now + half >= deadline && stall_look_alloc(p, look, cur)) {
				stall_look_take(p, look, now);
				looked = true;
			}
		}
		if (now >= deadline && track && !looked && now < hard &&
		    stall_look_alloc(p, look, cur)) {
			/* No look half a limit old (the parent itself ran
			 * late): a hang is judged on two looks, so look now
			 * and judge half a limit later. */
			stall_look_take(p, look, now);
			looked = true;
			deadline = now + half;
		}
		if (now >= deadline && looked) {
			stall_look_take(p, cur, now);
			if (now < hard && stall_starved(p, look, cur)) {
				/* Runnable, no CPU: the machine, not a hang. */
				deadline = now + half;
				*look = (struct stall_look){ cur->at, look->ps };
				memcpy(look->ps, cur->ps, p->n * sizeof(*cur->ps));
			}
		}
		if (now >= deadline && !starting && all_reported(p)) {
			/* Every worker has said it is done and the count
			 * follows at once (worker_done: done_gen first): a
			 * round finishing, not a hang.  Seen when a starved
			 * worker ran again right at the verdict: "no progress
			 * for 200 ms; workers still running ()". */
			deadline = now + (uint64_t)POOL_POLL_MS * NS_PER_MS;
			hard = hard > deadline ? hard : deadline;
		}
		if (now >= deadline) {
			char late[POOL_ERRLEN];

			late_list(p, starting, late, sizeof(late));
			if (looked)
				stall_detail(p, look, cur, late, sizeof(late));
			kill_all(p);
			if (track)
				err_line(reason, POOL_ERRLEN, "watchdog: round made no progress for %u ms; %s",
				    timeout_ms, late);
			else
				err_line(reason, POOL_ERRLEN, "watchdog: %s did not finish in %u ms; %s",
				    starting ? "start" : "round", timeout_ms, late);
			return -ETIMEDOUT;
		}
		left = deadline - now;
		if (left > POOL_POLL_MS * NS_PER_MS)
			left = POOL_POLL_MS * NS_PER_MS;
		atomic_store(&c->parent_sleeps, 1);
		slept = clk_now_ns();
		if (atomic_load(&c->done) != p->n)
			futex_wait(&c->done, d, left);
		atomic_store(&c->parent_sleeps, 0);
		woke = clk_now_ns();
		if (woke - slept > left + late_ns) {
			/* The parent was not run, and the workers likely not
			 * either: the stall limit starts again from here. */
			deadline = woke + (uint64_t)timeout_ms * NS_PER_MS;
			deadline = deadline < hard ? deadline : hard;
			looked = false;
		}
	}
}

static int wait_all_done(struct pool *p, unsigned timeout_ms, bool starting, char *reason)
{
	struct stall_look look = { 0 }, cur = { 0 };
	int rc;

	rc = wait_all_done_looking(p, timeout_ms, starting, reason, &look, &cur);
	free(look.ps);
	free(cur.ps);
	return rc;
}

static void release(struct pool *p, enum pool_op op)
{
	struct pool_ctl *c = p->ctl;

	atomic_store(&c->done, 0);
	atomic_store(&c->op, op);
	p->gen++;
	atomic_store(&c->gen, p->gen);
	if (atomic_load(&c->gen_sleepers))
		futex_wake(&c->gen, INT_MAX);
}

static void pool_free(struct pool *p)
{
	if (p->map && p->map != MAP_FAILED)
		munmap(p->map, p->map_len);
	free(p->cpus);
	free(p);
}

/* The MPI backend's start: ranks instead of forked children. */
static int pool_start_mpi(struct pool *p, struct pool **out, char *reason)
{
	int *ran_on = calloc(p->n, sizeof(*ran_on));
	pid_t *pid = calloc(p->n, sizeof(*pid));
	int rc = ran_on && pid ? 0 : -ENOMEM;

	if (rc)
		err_line(reason, POOL_ERRLEN, "pool: out of memory");
	else
		rc = pool_mpi_start(&p->mpi, &p->cfg, p->cmd, p->slots, p->slot_stride, ran_on, pid, reason);
	for (unsigned i = 0; !rc && i < p->n; i++) {
		p->ws[i].ran_on = ran_on[i];
		p->proc[i] = (struct pool_proc){ .pid = pid[i], .reaped = true };
	}
	free(ran_on);
	free(pid);
	if (rc) {
		pool_free(p);
		return rc;
	}
	p->killed = true; /* nothing to kill or reap here */
	*out = p;
	return 0;
}

int pool_start(struct pool **out, const struct pool_cfg *cfg, char *reason)
{
	size_t ws_off, cmd_off, slot_off, len, stride;
	unsigned n = cfg ? cfg->nworkers : 0;
	struct pool *p;
	int rc;

	*out = NULL;
	if (cfg && (unsigned)cfg->backend >= POOL_BACKEND_COUNT) {
		err_line(reason, POOL_ERRLEN, "pool: backend %d, accepted process or thread", (int)cfg->backend);
		return -EINVAL;
	}
	if (!cfg || n < 1 || n > POOL_MAX_WORKERS) {
		err_line(reason, POOL_ERRLEN, "pool: %u workers, accepted 1..%u", n, POOL_MAX_WORKERS);
		return -EINVAL;
	}
	if (!cfg->round) {
		err_line(reason, POOL_ERRLEN, "pool: no round function");
		return -EINVAL;
	}
	/* Bound the shared sizes so the layout arithmetic cannot overflow. */
	if (cfg->slot_size > SIZE_MAX / 4 / POOL_MAX_WORKERS ||
	    cfg->cmd_size > SIZE_MAX / 4) {
		err_line(reason, POOL_ERRLEN, "pool: slot_size %zu or cmd_size %zu too large",
		    cfg->slot_size, cfg->cmd_size);
		return -EINVAL;
	}
	for (unsigned i = 0; cfg->cpus && i < n; i++) {
		if (cfg->cpus[i] >= 0 && !cfg->topo) {
			err_line(reason, POOL_ERRLEN, "pool: worker %u asks for cpu %d but no topology was given",
			    i, cfg->cpus[i]);
			return -EINVAL;
		}
	}

	p = calloc(1, sizeof(*p) + n * sizeof(p->proc[0]));
	if (!p) {
		err_line(reason, POOL_ERRLEN, "pool: out of memory");
		return -ENOMEM;
	}
	p->cpus = malloc(n * sizeof(*p->cpus));
	if (!p->cpus) {
		free(p);
		err_line(reason, POOL_ERRLEN, "pool: out of memory");
		return -ENOMEM;
	}
	for (unsigned i = 0; i < n; i++)
		p->cpus[i] = cfg->cpus ? cfg->cpus[i] : -1;
	p->cfg = *cfg;
	p->cfg.cpus = p->cpus;
	p->n = n;
	p->nproc = cfg->backend == POOL_MPI ? 0 : cfg->backend != POOL_PROCESS ? 1 : n;
	p->parent = getpid();

	stride = round_up(cfg->slot_size, POOL_CACHELINE);
	ws_off = round_up(sizeof(struct pool_ctl), POOL_CACHELINE);
	cmd_off = ws_off + n * sizeof(struct pool_wstate);
	slot_off = cmd_off + round_up(cfg->cmd_size, POOL_CACHELINE);
	len = slot_off + n * stride;
	p->map = mmap(NULL, len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->map == MAP_FAILED) {
		rc = -errno;
		err_line(reason, POOL_ERRLEN, "pool: mmap %zu bytes: %s", len, strerror(errno));
		pool_free(p);
		return rc;
	}
	p->map_len = len;
	p->ctl = p->map;
	p->ws = (struct pool_wstate *)((char *)p->map + ws_off);
	p->cmd = (unsigned char *)p->map + cmd_off;
	p->slots = (unsigned char *)p->map + slot_off;
	p->slot_stride = stride;
	for (unsigned i = 0; i < n; i++)
		p->ws[i].ran_on = -1;
	if (cfg->backend == POOL_MPI)
		return pool_start_mpi(p, out, reason);

	fflush(NULL); /* children must not flush the parent's buffers again */
	for (unsigned i = 0; i < p->nproc; i++) {
		pid_t pid = fork();

		if (pid == 0 && cfg->backend != POOL_PROCESS)
			host_main(p);
		if (pid == 0)
			worker_main(p, i);
		if (pid < 0) {
			struct rlimit rl;

			rc = -errno;
			if (rc == -EAGAIN && getrlimit(RLIMIT_NPROC, &rl) == 0 &&
			    rl.rlim_cur != RLIM_INFINITY)
				err_line(reason, POOL_ERRLEN, "pool: fork worker %u of %u: %s: over RLIMIT_NPROC = %llu "
				    "processes for this user (raise it with: ulimit -u)", i, n,
				    strerror(-rc), (unsigned long long)rl.rlim_cur);
			else
				err_line(reason, POOL_ERRLEN, "pool: fork worker %u of %u: %s", i, n,
				    strerror(-rc));
			kill_all(p);
			pool_free(p);
			return rc;
		}
		p->proc[i].pid = pid;
	}

	rc = wait_all_done(p, cfg->start_timeout_ms ? cfg->start_timeout_ms :
			   POOL_START_TIMEOUT_MS, true, reason);
	if (rc == 0) {
		/* Every worker counted in: one that failed setup counted too. */
		for (unsigned i = 0; i < n; i++) {
			if (atomic_load(&p->ws[i].ready))
				continue;
			rc = p->ws[i].rc ? p->ws[i].rc : -EIO;
			kill_all(p);
			dead_reason(p, i, reason);
			break;
		}
	}
	if (rc) {
		kill_all(p);
		pool_free(p);
		return rc;
	}
	*out = p;
	return 0;
}

void *pool_cmd(struct pool *p)
{
	return p->cfg.cmd_size ? p->cmd : NULL;
}

int pool_round(struct pool *p, unsigned timeout_ms, char *reason)
{
	int rc;

	if (!p || p->broken) {
		err_line(reason, POOL_ERRLEN, "pool: not usable after an error (only pool_stop)");
		return -EINVAL;
	}
	if (!timeout_ms)
		timeout_ms = POOL_ROUND_TIMEOUT_MS;
	if (p->mpi) {
		rc = pool_mpi_round(p->mpi, timeout_ms, reason);
		p->broken = rc != 0;
		return rc;
	}
	release(p, POOL_OP_ROUND);
	rc = wait_all_done(p, timeout_ms, false, reason);
	if (rc)
		return rc;
	for (unsigned i = 0; i < p->n; i++) {
		char who[96];

		if (!p->ws[i].rc)
			continue;
		worker_name(p, i, who, sizeof(who));
		err_line(reason, POOL_ERRLEN, "%s: %s", who, p->ws[i].err);
		kill_all(p); /* as when the failure is seen mid-round */
		return p->ws[i].rc;
	}
	return 0;
}

const void *pool_slot(const struct pool *p, unsigned i)
{
	if (!p || i >= p->n || !p->slot_stride)
		return NULL;
	return p->slots + (size_t)i * p->slot_stride;
}

int pool_worker_ran_on(const struct pool *p, unsigned i)
{
	return p && i < p->n ? p->ws[i].ran_on : -1;
}

pid_t pool_worker_pid(const struct pool *p, unsigned i)
{
	return p && i < p->n ? p->proc[proc_of(p, i)].pid : -1;
}

enum pool_backend pool_backend(const struct pool *p)
{
	return p->cfg.backend;
}

bool pool_shares_memory(const struct pool *p)
{
	return pool_backend_shares_memory(p->cfg.backend);
}

unsigned pool_size(const struct pool *p)
{
	return p ? p->n : 0;
}

/* CPU time (clock ticks, user + system) the unreaped worker processes
 * used so far, threads included (/proc/PID/stat); a process that cannot be
 * read (gone meanwhile) adds nothing. */
static unsigned long long live_cpu_ticks(struct pool *p)
{
	unsigned long long sum = 0;

	for (unsigned i = 0; i < p->nproc; i++) {
		char path[64], buf[1024];
		unsigned long long ut, st;
		const char *s;
		ssize_t n;
		int fd;

		if (p->proc[i].reaped || p->proc[i].pid <= 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)p->proc[i].pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		/* After the command name's ')': state is field 3, utime 14, stime 15. */
		s = strrchr(buf, ')');
		if (s && sscanf(s + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) == 2)
			sum += ut + st;
	}
	return sum;
}

int pool_stop(struct pool *p, unsigned timeout_ms, char *reason)
{
	uint64_t t0, deadline, hard, look;
	unsigned long long cpu, now_cpu;
	int rc = 0;

	if (!p)
		return 0;
	if (!timeout_ms)
		timeout_ms = POOL_STOP_TIMEOUT_MS;
	if (p->mpi)
		rc = pool_mpi_stop(p->mpi, timeout_ms, reason);
	if (!p->killed) {
		release(p, POOL_OP_STOP);
		t0 = look = clk_now_ns();
		deadline = look + (uint64_t)timeout_ms * NS_PER_MS;
		hard = look + (uint64_t)timeout_ms * POOL_STOP_STRETCH * NS_PER_MS;
		cpu = live_cpu_ticks(p);
		while (!all_reaped_nohang(p) && clk_now_ns() < deadline) {
			sleep_ns(POOL_REAP_POLL_NS);
			if (clk_now_ns() - look < POOL_STOP_CPU_POLL_NS)
				continue;
			look = clk_now_ns();
			now_cpu = live_cpu_ticks(p);
			if (now_cpu != cpu) { /* still tearing down: a stall limit */
				cpu = now_cpu;
				deadline = look + (uint64_t)timeout_ms * NS_PER_MS;
				if (deadline > hard)
					deadline = hard;
			}
		}
		if (!all_reaped_nohang(p)) {
			char late[POOL_ERRLEN];
			size_t used = (size_t)snprintf(late, sizeof(late), "workers");
			unsigned k = 0;

			for (unsigned i = 0; i < p->n && used < sizeof(late); i++)
				if (!p->proc[proc_of(p, i)].reaped)
					used += (size_t)snprintf(late + used, sizeof(late) - used,
								 "%s %u", k++ ? "," : "", i);
			kill_all(p);
			err_line(reason, POOL_ERRLEN, "pool_stop: %s did not exit in %u ms "
			    "(no CPU used for %u ms, or %u ms in all); killed", late,
			    (unsigned)((clk_now_ns() - t0) / NS_PER_MS),
			    timeout_ms, timeout_ms * POOL_STOP_STRETCH);
			rc = -ETIMEDOUT;
		} else {
			for (unsigned i = 0; i < p->nproc; i++) {
				int st = p->proc[i].status;

				if (WIFEXITED(st) && WEXITSTATUS(st) == WORKER_EXIT_OK)
					continue;
				dead_reason(p, culprit(p, i), reason);
				rc = -ECHILD;
				break;
			}
		}
	}
	pool_free(p);
	return rc;
}
