/*
 * t_sync_conformance.c - one conformance suite over every synchronization
 * primitive in sync_registry: a primitive is tested the moment it is
 * listed in impl/sync/registry.c.  One TAP row per check, named
 * "ROW: what it checks"; a check the row's caps rule out is not listed, a
 * check its worker kind rules out is a skip that says why.
 *
 * Why this file is long: it carries its own small worker runner (forked
 * workers for process-shared rows, threads inside one forked host for
 * thread-only rows, coroutines of one thread inside one forked host for
 * rows whose waits yield, on either context switch, a progress watchdog
 * that kills instead of waiting) and eight checks, each written once for
 * every table.
 *
 * Workers never use cmocka: they return 0, or write one line into shared
 * memory and return 1.  The parent watches their progress counters: no
 * progress for SC_STALL_MS is a hang (a lost wake-up, a lock that never
 * comes free); the parent then SIGKILLs every worker and fails the check
 * with the counters, so a hang costs seconds, never the run.  Every check
 * ends with: every worker reaped, the objects destroyed, nothing left
 * (ipclab-* in /dev/shm and $TMPDIR, named semaphores, SysV sets: in a
 * private namespace when root, see conformance_util.h), no zombie.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "coroutine.h"
#include "sync.h"
#include "testutil.h"
#include "conformance_util.h"
#include "leftovers.h"
#include "names.h"

/* Workers contending for a lock or crossing a barrier: 4 on this project's
 * 2 CPUs, so spinning rows are oversubscribed (their bounded spin is tested
 * too). */
#define SC_WORKERS 4
/* Critical sections per worker in the mutual-exclusion check. */
#define SC_MUTEX_ITERS 2000
/* Pauses inside a critical section: widens the window a broken lock would
 * let a second worker into. */
#define SC_CS_PAUSES 32
/* Round trips in the hand-off check. */
#define SC_HANDOFF_ROUNDS 2000
/* Crossings in the barrier check. */
#define SC_BARRIER_ROUNDS 500
/* No worker progress for this long is a hang (far above any hand-off,
 * nap or wake-up here, even oversubscribed). */
#define SC_STALL_MS 5000
/* Owner-death check: a next locker that has not got the lock this long
 * after trying is hung (the declared outcome of a non-robust lock). */
#define SC_HUNG_MS 500
/* Kill check: progress the workers make before one is SIGKILLed. */
#define SC_KILL_AFTER 50
/* Backstop per check: the parent itself stuck. */
#define SC_ALARM_S 60
/* A worker that outlives its check (parent stuck) dies on its own. */
#define SC_CHILD_ALARM_S 120
#define SC_POLL_NS 1000000l
#define SC_MSG 200
#define SC_LIST 4096

/* The rows of issue 12, exactly, and issue 13's semaphore that yields to
 * the peer coroutine. */
static const char *const sc_rows[] = {
	"pthread-mutex", "pthread-mutex-robust", "pthread-rwlock", "pthread-cond",
	"pthread-barrier", "posix-sem", "posix-sem-named", "sysv-sem", "futex-lock",
	"futex-event", "eventfd-sem", "ofd-lock", "flock", "spinlock-ttas",
	"spinlock-ticket", "spin-barrier", "pthread-mutex-private", "futex-lock-private",
	"coro-sem",
};
#define SC_NROWS (sizeof(sc_rows) / sizeof(sc_rows[0]))

enum sc_kind {
	K_REGISTRY,
	K_TABLE,
	K_REFUSE,
	K_MUTEX,
	K_HANDOFF,
	K_BARRIER,
	K_OWNER_DEATH,
	K_KILL,
	K_STALE,
};

struct sc_case {
	const struct conf_env *env;
	const struct sync_ops *ops;
	enum sc_kind kind;
	enum ipc_wait wait;
	enum sync_workers workers;
	/* Coroutines of one thread in one forked host (workers is then
	 * SYNC_WORKERS_THREAD): 0 no, else the switch + 1. */
	unsigned coro;
	char *name;
};

/* Shared with the workers (MAP_SHARED | MAP_ANONYMOUS). */
struct sc_shared {
	atomic_uint ready;          /* workers attached */
	atomic_uint go;             /* parent: start */
	atomic_uint started;        /* workers past go */
	atomic_uint proceed;        /* owner death: the owner is dead, lock now */
	atomic_uint inside;         /* owner death: the owner holds the lock */
	atomic_uint trying;         /* owner death: the next locker calls lock */
	atomic_int next_rc;         /* owner death: what lock returned */
	atomic_uint next_done;      /* owner death: the next locker is through */
	atomic_uint occupancy;      /* workers inside the critical section */
	atomic_uint max_occupancy;
	unsigned long plain;        /* incremented under the lock, not atomic */
	atomic_uint turn;           /* hand-off: last step taken */
	atomic_ulong progress[SC_WORKERS];
	atomic_uint arrived[SC_BARRIER_ROUNDS];
	atomic_uint serial[SC_BARRIER_ROUNDS];
	char msg[SC_WORKERS][SC_MSG];
};

struct sc_run;
typedef int (*sc_body)(struct sc_run *r, unsigned idx, void *h[2]);

/* What a check holds, so the teardown can undo it after a failure. */
struct sc_run {
	const struct sc_case *c;
	const struct sync_ops *ops;
	struct sync_params params;
	struct leak_snap *before;
	char sync_before[SC_LIST];
	void *obj[2];
	unsigned nobj;
	pid_t pid[SC_WORKERS]; /* 0 once reaped; thread mode: pid[0] is the host */
	unsigned npid;
	unsigned nworkers;
	unsigned rounds;       /* per worker; UINT_MAX: until killed */
	sc_body body;
	struct sc_shared *sh;
};

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static const char *rc_name(int rc)
{
	return rc >= 0 ? "success" : strerror(-rc);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void nap(void)
{
	const struct timespec t = { 0, SC_POLL_NS };

	nanosleep(&t, NULL);
}

/* ---- workers --------------------------------------------------------------- */

static int kid_fail(struct sc_run *r, unsigned idx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int kid_fail(struct sc_run *r, unsigned idx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->sh->msg[idx], SC_MSG, fmt, ap);
	va_end(ap);
	return 1;
}

/* Attach every object, report ready, wait for go, run the body, detach. */
static int sc_worker(struct sc_run *r, unsigned idx)
{
	void *h[2] = { NULL, NULL };
	char err[SYNC_ERRLEN] = "";
	int rc = 0;

	for (unsigned i = 0; i < r->nobj; i++) {
		int a = r->ops->attach(r->obj[i], &h[i], err);

		if (a < 0) {
			rc = kid_fail(r, idx, "attach: %s: %s", rc_name(a), err);
			break;
		}
	}
	atomic_fetch_add(&r->sh->ready, 1);
	while (!rc && !atomic_load(&r->sh->go)) {
		if (coro_active()) /* let the other coroutines attach */
			coro_wait_until(&r->sh->go, 0, false, 0);
		else
			nap();
	}
	/* Leave together (the 1 ms naps above start workers up to 1 ms
	 * apart; a check must not run its workers one after the other). */
	atomic_fetch_add(&r->sh->started, 1);
	while (!rc && atomic_load(&r->sh->started) < r->nworkers)
		coro_yield(); /* sched_yield(), or the other coroutines */
	if (!rc)
		rc = r->body(r, idx, h);
	for (unsigned i = 0; i < r->nobj; i++)
		if (h[i])
			r->ops->detach(h[i]);
	return rc;
}

struct sc_thread {
	struct sc_run *r;
	unsigned idx;
	int rc;
};

static void *sc_thread_main(void *arg)
{
	struct sc_thread *t = arg;

	t->rc = sc_worker(t->r, t->idx);
	return NULL;
}

static void sc_coro_main(void *arg)
{
	sc_thread_main(arg);
}

/* Coroutine mode: one thread runs every worker as a coroutine; the host
 * exits 0 only when every coroutine returned and the scheduler ended. */
static int sc_coro_host(struct sc_run *r)
{
	struct sc_thread t[SC_WORKERS];
	int rc = 0;

	if (coro_set_switch((enum coro_switch)(r->c->coro - 1)) < 0)
		return kid_fail(r, 0, "coro_set_switch failed");
	for (unsigned i = 0; i < r->nworkers; i++) {
		t[i] = (struct sc_thread){ .r = r, .idx = i, .rc = -1 };
		if (coro_spawn(sc_coro_main, &t[i]) < 0)
			return kid_fail(r, i, "coro_spawn failed");
	}
	coro_run();
	for (unsigned i = 0; i < r->nworkers; i++) {
		if (t[i].rc < 0)
			return kid_fail(r, i, "coroutine %u never finished", i);
		rc |= t[i].rc;
	}
	return rc;
}

/* Thread mode: one forked host runs every worker as a thread. */
static int sc_host(struct sc_run *r)
{
	struct sc_thread t[SC_WORKERS];
	pthread_t tid[SC_WORKERS];
	int rc = 0;

	if (r->c->coro)
		return sc_coro_host(r);
	for (unsigned i = 0; i < r->nworkers; i++) {
		t[i] = (struct sc_thread){ .r = r, .idx = i };
		if (pthread_create(&tid[i], NULL, sc_thread_main, &t[i]) != 0)
			return kid_fail(r, i, "pthread_create failed");
	}
	for (unsigned i = 0; i < r->nworkers; i++) {
		pthread_join(tid[i], NULL);
		rc |= t[i].rc;
	}
	return rc;
}

static void sc_fork(struct sc_run *r, unsigned idx, bool host)
{
	pid_t parent = getpid(), pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		alarm(SC_CHILD_ALARM_S);
		_exit(host ? sc_host(r) : sc_worker(r, idx));
	}
	r->pid[r->npid++] = pid;
}

/* SIGKILL and reap child i, if it is still there (never kill(0, ...):
 * that is the whole process group). */
static void sc_kill_one(struct sc_run *r, unsigned i)
{
	if (i >= r->npid || r->pid[i] <= 0)
		return;
	kill(r->pid[i], SIGKILL);
	while (waitpid(r->pid[i], NULL, 0) < 0 && errno == EINTR)
		;
	r->pid[i] = 0;
}

static void sc_kill_all(struct sc_run *r)
{
	for (unsigned i = 0; i < r->npid; i++)
		sc_kill_one(r, i);
}

/* The first message a worker left, or a placeholder. */
static const char *sc_msg(const struct sc_run *r)
{
	for (unsigned i = 0; i < r->nworkers; i++)
		if (r->sh->msg[i][0])
			return r->sh->msg[i];
	return "(no message)";
}

static unsigned long sc_progress(const struct sc_run *r, char *out, size_t len)
{
	unsigned long sum = 0;
	size_t used = 0;

	for (unsigned i = 0; i < r->nworkers; i++) {
		unsigned long p = atomic_load(&r->sh->progress[i]);

		sum += p;
		if (out && used < len) {
			int n = snprintf(out + used, len - used, "%s%lu", i ? " " : "", p);

			used += n > 0 ? (size_t)n : 0;
		}
	}
	return sum;
}

/*
 * Reap children as they end; a child that ends badly fails the check at
 * once (the others are killed).  Returns when every child ended, or when
 * until() says so.  No progress for SC_STALL_MS fails the check.
 */
static void sc_watch(struct sc_run *r, bool (*until)(struct sc_run *r))
{
	unsigned long last = sc_progress(r, NULL, 0);
	double t_last = now_ms();

	for (;;) {
		unsigned alive = 0;
		unsigned long p;

		for (unsigned i = 0; i < r->npid; i++) {
			int st;

			if (r->pid[i] <= 0)
				continue;
			if (waitpid(r->pid[i], &st, WNOHANG) != r->pid[i]) {
				alive++;
				continue;
			}
			r->pid[i] = 0;
			if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
				continue;
			sc_kill_all(r);
			if (WIFSIGNALED(st))
				fail_msg("worker killed by signal %d (%s): %s", WTERMSIG(st),
					 strsignal(WTERMSIG(st)), sc_msg(r));
			fail_msg("worker failed: %s", sc_msg(r));
		}
		if (!alive || (until && until(r)))
			return;
		p = sc_progress(r, NULL, 0);
		if (p != last) {
			last = p;
			t_last = now_ms();
		} else if (now_ms() - t_last > SC_STALL_MS) {
			char per[200];

			sc_progress(r, per, sizeof(per));
			sc_kill_all(r);
			fail_msg("hung: no progress for %d ms (lost wake-up or a lock never freed); "
				 "progress per worker: %s", SC_STALL_MS, per);
		}
		nap();
	}
}

static bool sc_all_ready(struct sc_run *r)
{
	return atomic_load(&r->sh->ready) == r->nworkers;
}

/* Start nworkers running body: forked workers, or threads of one host.
 * Once all attached, seal the objects and release the workers. */
static void sc_start(struct sc_run *r, unsigned nworkers, sc_body body)
{
	r->nworkers = nworkers;
	r->body = body;
	if (r->c->workers == SYNC_WORKERS_THREAD)
		sc_fork(r, 0, true);
	else
		for (unsigned i = 0; i < nworkers; i++)
			sc_fork(r, i, false);
	sc_watch(r, sc_all_ready);
	if (!sc_all_ready(r))
		fail_msg("workers ended before all attached: %s", sc_msg(r));
	for (unsigned i = 0; i < r->nobj; i++)
		if (r->ops->seal)
			r->ops->seal(r->obj[i]);
	atomic_store(&r->sh->go, 1);
}

/* ---- setup, teardown, the end of every check ----------------------------- */

static void sc_on_alarm(int sig)
{
	(void)sig;
	fail_msg("timed out after %d s: the test itself is stuck", SC_ALARM_S);
}

static int sc_setup(void **state)
{
	const struct sc_case *c = *state;
	struct sc_run *r = calloc(1, sizeof(*r));
	struct sigaction sa = { .sa_handler = sc_on_alarm, .sa_flags = SA_NODEFER };

	if (!r || !(r->before = malloc(sizeof(*r->before))))
		return -1;
	r->c = c;
	r->ops = c->ops;
	conf_snapshot(c->env, r->before);
	sync_objects_list(r->sync_before, sizeof(r->sync_before));
	r->sh = mmap(NULL, sizeof(*r->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (r->sh == MAP_FAILED)
		return -1;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	alarm(SC_ALARM_S);
	*state = r;
	return 0;
}

static void sc_destroy_all(struct sc_run *r)
{
	for (unsigned i = 0; i < r->nobj; i++) {
		if (r->obj[i])
			r->ops->destroy(r->obj[i]);
		r->obj[i] = NULL;
	}
	r->nobj = 0;
}

static int sc_teardown(void **state)
{
	struct sc_run *r = *state;

	alarm(0);
	sc_kill_all(r);
	sc_destroy_all(r);
	signal(SIGALRM, SIG_DFL);
	munmap(r->sh, sizeof(*r->sh));
	*state = (void *)r->c;
	free(r->before);
	free(r);
	return 0;
}

/* Names in list `now` (space separated) not in `before`, into out. */
static unsigned sc_new_names(const char *before, const char *now, char *out, size_t len)
{
	char *copy = strdup(now), *save = NULL;
	unsigned n = 0;

	if (!copy)
		abort();
	out[0] = '\0';
	for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		char *hit = strstr(before, t);
		size_t tl = strlen(t);

		if (hit && (hit[tl] == ' ' || hit[tl] == '\0'))
			continue;
		n++;
		if (strlen(out) + tl + 2 < len)
			strcat(strcat(out, out[0] ? " " : ""), t);
	}
	free(copy);
	return n;
}

/* Objects destroyed, then nothing may be left and no zombie. */
static void sc_finish(struct sc_run *r)
{
	char names[1024], now[SC_LIST];
	unsigned n;

	sc_kill_all(r);
	sc_destroy_all(r);
	n = conf_leak_check(r->c->env, r->before, names, sizeof(names));
	if (n)
		fail_msg("%u object(s) left after destroy: %s", n, names);
	if (sync_objects_list(now, sizeof(now)) < 0)
		fail_msg("cannot list sync objects (/dev/shm, $TMPDIR, /proc/sysvipc/sem)");
	n = sc_new_names(r->sync_before, now, names, sizeof(names));
	if (n)
		fail_msg("%u sync object(s) left after destroy: %s", n, names);
	n = zombie_children();
	if (n)
		fail_msg("%u zombie child(ren) left", n);
}

static void sc_params(struct sc_run *r, unsigned parties, enum ipc_wait w, unsigned initial)
{
	r->params = (struct sync_params){ .parties = parties, .wait = w,
					  .workers = r->c->workers, .initial = initial };
}

static void sc_create(struct sc_run *r)
{
	char err[SYNC_ERRLEN] = "";
	int rc = r->ops->create(&r->params, &r->obj[r->nobj], err);

	if (rc < 0) {
		r->obj[r->nobj] = NULL;
		fail_msg("create(parties %u, %s, %s, initial %u): %s: %s", r->params.parties,
			 ipc_wait_name(r->params.wait),
			 r->params.workers == SYNC_WORKERS_THREAD ? "threads" : "processes",
			 r->params.initial, rc_name(rc), err);
	}
	r->nobj++;
}

static bool has(const struct sync_ops *o, unsigned op)
{
	return (o->caps.ops & op) != 0;
}

/* ---- the checks: tables ---------------------------------------------------- */

static bool name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* Exactly the rows of issue 12, each found by sync_find, names unique. */
static void check_registry(struct sc_run *r)
{
	const struct sync_ops *op;
	unsigned n = 0;

	(void)r;
	sync_for_each(op) {
		bool listed = false;

		if (!name_ok(op->name))
			fail_msg("entry %u: name \"%s\" is not [a-z0-9-]+", n,
				 op->name ? op->name : "(null)");
		for (size_t i = 0; i < SC_NROWS; i++)
			listed |= strcmp(sc_rows[i], op->name) == 0;
		if (!listed)
			fail_msg("\"%s\" is not a row of issue 12", op->name);
		if (sync_find(op->name) != op)
			fail_msg("sync_find(\"%s\") does not return its table (a duplicate name?)",
				 op->name);
		n++;
	}
	for (size_t i = 0; i < SC_NROWS; i++)
		if (!sync_find(sc_rows[i]))
			fail_msg("row \"%s\" is missing", sc_rows[i]);
	if (n != SC_NROWS)
		fail_msg("%u tables for %zu rows", n, SC_NROWS);
	assert_null(sync_find("no-such-primitive"));
}

/* Every operation of caps.ops has its functions and no other does. */
static void check_table(struct sc_run *r)
{
	const struct sync_ops *o = r->ops;
	const struct sync_caps *c = &o->caps;
	const struct {
		unsigned bit;
		bool fns, none;
		const char *what;
	} groups[] = {
		{ SYNC_OP_LOCK, o->lock && o->unlock, !o->lock && !o->unlock, "lock/unlock" },
		{ SYNC_OP_SEM, o->post && o->wait, !o->post && !o->wait, "post/wait" },
		{ SYNC_OP_EVENT, o->set && o->wait_set && o->reset,
		  !o->set && !o->wait_set && !o->reset, "set/wait_set/reset" },
		{ SYNC_OP_NOTIFY, o->notify && o->await, !o->notify && !o->await, "notify/await" },
		{ SYNC_OP_BARRIER, o->barrier_wait != NULL, o->barrier_wait == NULL, "barrier_wait" },
	};
	unsigned known = SYNC_OP_LOCK | SYNC_OP_SEM | SYNC_OP_EVENT | SYNC_OP_NOTIFY |
			 SYNC_OP_BARRIER;

	if (!o->summary || !*o->summary)
		fail_msg("no summary line");
	if (!o->create || !o->attach || !o->detach || !o->destroy)
		fail_msg("create, attach, detach or destroy is NULL");
	if (!c->ops || (c->ops & ~known))
		fail_msg("caps.ops 0x%x: empty or unknown bits", c->ops);
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if ((c->ops & groups[i].bit) && !groups[i].fns)
			fail_msg("caps.ops has %s but a function is NULL", groups[i].what);
		if (!(c->ops & groups[i].bit) && !groups[i].none)
			fail_msg("%s set but not in caps.ops", groups[i].what);
	}
	if (!c->waits || (c->waits & ~(IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN))))
		fail_msg("caps.waits 0x%x: empty, or not block/spin", c->waits);
	if ((c->ops & SYNC_OP_LOCK) != (c->owner_death != SYNC_DEATH_NA))
		fail_msg("owner_death %s does not fit caps.ops 0x%x",
			 sync_owner_death_name(c->owner_death), c->ops);
	if ((c->owner_death == SYNC_DEATH_OWNERDEAD) != (o->consistent != NULL))
		fail_msg("consistent() is for robust locks (owner_death ownerdead) only");
	if ((c->ops & SYNC_OP_SEM) && c->max_count < 1)
		fail_msg("a semaphore with max_count 0");
	if ((c->flags & SYNC_NAMED) && !(c->flags & SYNC_PROCESS_SHARED))
		fail_msg("named but not process-shared");
}

/* Creation refuses what it cannot honour, with a line, leaving nothing. */
static void refuse_one(struct sc_run *r, const struct sync_params *p, int want, const char *what)
{
	char err[SYNC_ERRLEN] = "";
	void *obj = (void *)&err; /* must come back NULL */
	int rc = r->ops->create(p, &obj, err);

	if (rc >= 0) {
		r->obj[r->nobj++] = obj;
		fail_msg("create accepted %s", what);
	}
	if (rc != want)
		fail_msg("create with %s: %s, want %s", what, rc_name(rc), rc_name(want));
	if (!err[0] || strlen(err) >= SYNC_ERRLEN || strchr(err, '\n'))
		fail_msg("create with %s: no one-line reason", what);
	if (obj)
		fail_msg("create with %s failed but left *obj set", what);
}

static void check_refuse(struct sc_run *r)
{
	const struct sync_caps *c = &r->ops->caps;
	enum ipc_wait any = (c->waits & IPC_WAIT_BIT(IPC_WAIT_BLOCK)) ? IPC_WAIT_BLOCK : IPC_WAIT_SPIN;
	enum sync_workers ok_workers = (c->flags & SYNC_PROCESS_SHARED) ? SYNC_WORKERS_PROCESS
								    : SYNC_WORKERS_THREAD;
	struct sync_params p = { .parties = 2, .wait = any, .workers = ok_workers };

	p.parties = 0;
	refuse_one(r, &p, -EINVAL, "parties 0");
	p.parties = 2;
	for (unsigned w = 0; w < IPC_WAIT_COUNT; w++) {
		char what[64];

		if (c->waits & IPC_WAIT_BIT(w))
			continue;
		p.wait = (enum ipc_wait)w;
		snprintf(what, sizeof(what), "wait %s", ipc_wait_name(p.wait));
		refuse_one(r, &p, -ENOTSUP, what);
	}
	p.wait = any;
	if (!(c->flags & SYNC_PROCESS_SHARED)) {
		p.workers = SYNC_WORKERS_PROCESS;
		refuse_one(r, &p, -ENOTSUP, "workers=process (thread-only row)");
		p.workers = ok_workers;
	}
	if ((c->ops & SYNC_OP_SEM) && c->max_count < UINT32_MAX) {
		p.initial = c->max_count + 1;
		refuse_one(r, &p, -EINVAL, "initial over max_count");
	}
	sc_finish(r);
}

/* ---- the checks: behaviour -------------------------------------------------- */

/* Acquire/release: the lock operations, or a semaphore of initial 1. */
static int sc_acquire(const struct sync_ops *o, void *h)
{
	return has(o, SYNC_OP_LOCK) ? o->lock(h) : o->wait(h);
}

static int sc_release(const struct sync_ops *o, void *h)
{
	return has(o, SYNC_OP_LOCK) ? o->unlock(h) : o->post(h);
}

static int body_mutex(struct sc_run *r, unsigned idx, void *h[2])
{
	struct sc_shared *sh = r->sh;

	for (unsigned i = 0; i < r->rounds; i++) {
		unsigned occ, max;
		int rc = sc_acquire(r->ops, h[0]);

		if (rc < 0)
			return kid_fail(r, idx, "acquire #%u: %s", i, rc_name(rc));
		occ = atomic_fetch_add(&sh->occupancy, 1) + 1;
		max = atomic_load(&sh->max_occupancy);
		while (occ > max && !atomic_compare_exchange_weak(&sh->max_occupancy, &max, occ))
			;
		/* A read-modify-write stretched over the pauses: a second
		 * worker inside loses an update. */
		unsigned long v = *(volatile unsigned long *)&sh->plain;

		for (unsigned k = 0; k < SC_CS_PAUSES; k++)
			cpu_relax();
		if (coro_active()) /* the others run now, and must stay out */
			coro_yield();
		*(volatile unsigned long *)&sh->plain = v + 1;
		atomic_fetch_sub(&sh->occupancy, 1);
		rc = sc_release(r->ops, h[0]);
		if (rc < 0)
			return kid_fail(r, idx, "release #%u: %s", i, rc_name(rc));
		atomic_fetch_add_explicit(&sh->progress[idx], 1, memory_order_relaxed);
	}
	return 0;
}

static void check_mutex(struct sc_run *r)
{
	unsigned long want = (unsigned long)SC_WORKERS * SC_MUTEX_ITERS;

	if (r->c->workers == SYNC_WORKERS_PROCESS && !(r->ops->caps.flags & SYNC_PROCESS_SHARED))
		tap_skip("thread-only row: its %s is keyed to one address space, not shared "
			 "between processes", has(r->ops, SYNC_OP_LOCK) ? "lock" : "object");
	sc_params(r, SC_WORKERS, r->c->wait, 1);
	sc_create(r);
	r->rounds = SC_MUTEX_ITERS;
	sc_start(r, SC_WORKERS, body_mutex);
	sc_watch(r, NULL);
	if (atomic_load(&r->sh->max_occupancy) != 1)
		fail_msg("occupancy of the critical section reached %u (want 1)",
			 atomic_load(&r->sh->max_occupancy));
	if (r->sh->plain != want)
		fail_msg("counter under the lock is %lu, want %lu", r->sh->plain, want);
	sc_finish(r);
}

/*
 * A wakes B, B wakes A, SC_HANDOFF_ROUNDS times, on two objects.  turn
 * says which step was taken last; a wait that returns before its wake-up
 * sees the wrong turn.  A lost wake-up stops progress (the watchdog).
 */
static int handoff_signal(const struct sync_ops *o, void *h)
{
	if (has(o, SYNC_OP_SEM))
		return o->post(h);
	if (has(o, SYNC_OP_EVENT))
		return o->set(h);
	return o->notify(h);
}

static int handoff_wait(const struct sync_ops *o, void *h, uint32_t *seen)
{
	int rc;

	if (has(o, SYNC_OP_SEM))
		return o->wait(h);
	if (has(o, SYNC_OP_EVENT)) {
		rc = o->wait_set(h);
		return rc < 0 ? rc : o->reset(h);
	}
	return o->await(h, seen);
}

static int body_handoff(struct sc_run *r, unsigned idx, void *h[2])
{
	struct sc_shared *sh = r->sh;
	uint32_t seen = 0;
	void *mine = h[idx], *peer = h[!idx];

	for (unsigned i = 0; i < r->rounds; i++) {
		unsigned step = 2 * i + idx; /* A takes even steps, B odd */
		int rc;

		if (idx == 1) {
			rc = handoff_wait(r->ops, mine, &seen);
			if (rc < 0)
				return kid_fail(r, idx, "wait #%u: %s", i, rc_name(rc));
			if (atomic_load(&sh->turn) != step)
				return kid_fail(r, idx, "round %u: woke at turn %u, want %u "
						"(a wait returned before its wake-up)",
						i, atomic_load(&sh->turn), step);
		}
		atomic_store(&sh->turn, step + 1);
		rc = handoff_signal(r->ops, peer);
		if (rc < 0)
			return kid_fail(r, idx, "wake #%u: %s", i, rc_name(rc));
		if (idx == 0) {
			rc = handoff_wait(r->ops, mine, &seen);
			if (rc < 0)
				return kid_fail(r, idx, "wait #%u: %s", i, rc_name(rc));
			if (atomic_load(&sh->turn) != step + 2)
				return kid_fail(r, idx, "round %u: woke at turn %u, want %u "
						"(a wait returned before its wake-up)",
						i, atomic_load(&sh->turn), step + 2);
		}
		atomic_fetch_add_explicit(&sh->progress[idx], 1, memory_order_relaxed);
	}
	return 0;
}

static void check_handoff(struct sc_run *r)
{
	sc_params(r, 2, r->c->wait, 0);
	sc_create(r);
	sc_create(r);
	r->rounds = SC_HANDOFF_ROUNDS;
	sc_start(r, 2, body_handoff);
	sc_watch(r, NULL);
	if (atomic_load(&r->sh->turn) != 2 * SC_HANDOFF_ROUNDS)
		fail_msg("ended at turn %u, want %u", atomic_load(&r->sh->turn),
			 2 * SC_HANDOFF_ROUNDS);
	sc_finish(r);
}

/* Nobody leaves crossing k before all arrived; one serial worker each. */
static int body_barrier(struct sc_run *r, unsigned idx, void *h[2])
{
	struct sc_shared *sh = r->sh;

	for (unsigned k = 0; k < r->rounds; k++) {
		/* Slot k % SC_BARRIER_ROUNDS counts every lap of the array. */
		unsigned slot = k % SC_BARRIER_ROUNDS, lap = k / SC_BARRIER_ROUNDS;
		int rc;

		atomic_fetch_add(&sh->arrived[slot], 1);
		rc = r->ops->barrier_wait(h[0]);
		if (rc < 0)
			return kid_fail(r, idx, "barrier_wait #%u: %s", k, rc_name(rc));
		if (atomic_load(&sh->arrived[slot]) < r->nworkers * (lap + 1))
			return kid_fail(r, idx, "left crossing %u when %u of %u had arrived", k,
					atomic_load(&sh->arrived[slot]) - r->nworkers * lap,
					r->nworkers);
		if (rc == 1)
			atomic_fetch_add(&sh->serial[slot], 1);
		atomic_fetch_add_explicit(&sh->progress[idx], 1, memory_order_relaxed);
	}
	return 0;
}

static void check_barrier(struct sc_run *r)
{
	sc_params(r, SC_WORKERS, r->c->wait, 0);
	sc_create(r);
	r->rounds = SC_BARRIER_ROUNDS;
	sc_start(r, SC_WORKERS, body_barrier);
	sc_watch(r, NULL);
	for (unsigned k = 0; k < SC_BARRIER_ROUNDS; k++)
		if (atomic_load(&r->sh->serial[k]) != 1)
			fail_msg("crossing %u had %u serial workers, want 1", k,
				 atomic_load(&r->sh->serial[k]));
	sc_finish(r);
}

/*
 * Worker 0 takes the lock and stays inside until SIGKILLed; worker 1 then
 * locks.  What it sees must be what caps.owner_death declares: -EOWNERDEAD
 * (then consistent(), unlock, and the lock works again), the lock free
 * (the kernel released it), or nothing for SC_HUNG_MS (hung: it is killed,
 * never waited on forever).
 */
static int body_owner_death(struct sc_run *r, unsigned idx, void *h[2])
{
	const struct sync_ops *o = r->ops;
	struct sc_shared *sh = r->sh;
	int rc;

	if (idx == 0) {
		rc = o->lock(h[0]);
		if (rc < 0)
			return kid_fail(r, idx, "owner: lock: %s", rc_name(rc));
		atomic_store(&sh->inside, 1);
		for (;;)
			pause();
	}
	while (!atomic_load(&sh->proceed))
		nap();
	atomic_store(&sh->trying, 1);
	rc = o->lock(h[0]);
	atomic_store(&sh->next_rc, rc);
	if (rc == -EOWNERDEAD) {
		if (!o->consistent)
			return kid_fail(r, idx, "-EOWNERDEAD from a lock without consistent()");
		rc = o->consistent(h[0]);
		if (rc < 0)
			return kid_fail(r, idx, "consistent: %s", rc_name(rc));
	} else if (rc < 0) {
		return kid_fail(r, idx, "next locker: lock: %s", rc_name(rc));
	}
	rc = o->unlock(h[0]);
	if (rc < 0)
		return kid_fail(r, idx, "unlock after the owner's death: %s", rc_name(rc));
	rc = o->lock(h[0]);
	if (rc < 0)
		return kid_fail(r, idx, "lock again after recovery: %s", rc_name(rc));
	rc = o->unlock(h[0]);
	if (rc < 0)
		return kid_fail(r, idx, "unlock again: %s", rc_name(rc));
	atomic_store(&sh->next_done, 1);
	return 0;
}

static bool sc_owner_inside(struct sc_run *r)
{
	return atomic_load(&r->sh->inside) != 0;
}

static bool sc_next_done(struct sc_run *r)
{
	return atomic_load(&r->sh->next_done) != 0;
}

static void check_owner_death(struct sc_run *r)
{
	enum sync_owner_death d = r->ops->caps.owner_death;
	double t0;

	if (!(r->ops->caps.flags & SYNC_PROCESS_SHARED))
		tap_skip("thread-only row: a thread cannot be SIGKILLed alone");
	sc_params(r, 2, r->c->wait, 0);
	sc_create(r);
	sc_start(r, 2, body_owner_death);
	sc_watch(r, sc_owner_inside);
	if (!sc_owner_inside(r))
		fail_msg("the owner never got the lock: %s", sc_msg(r));
	sc_kill_one(r, 0);
	atomic_store(&r->sh->proceed, 1);
	while (!atomic_load(&r->sh->trying))
		nap();
	t0 = now_ms();
	while (!sc_next_done(r) && now_ms() - t0 < SC_HUNG_MS) {
		int st1;

		if (waitpid(r->pid[1], &st1, WNOHANG) == r->pid[1]) {
			r->pid[1] = 0;
			if (!(WIFEXITED(st1) && WEXITSTATUS(st1) == 0))
				fail_msg("next locker failed: %s", sc_msg(r));
			break;
		}
		nap();
	}
	if (!sc_next_done(r)) {
		if (d != SYNC_DEATH_HANGS)
			fail_msg("next locker still waits %d ms after the owner's death; "
				 "caps say %s", SC_HUNG_MS, sync_owner_death_name(d));
		sc_kill_all(r);
		diag("%s: owner SIGKILLed inside: next locker hung as declared, killed after %d ms",
		     r->ops->name, SC_HUNG_MS);
		sc_finish(r);
		return;
	}
	sc_watch(r, NULL);
	if (d == SYNC_DEATH_HANGS)
		fail_msg("the lock came free after its owner died (lock returned %s); caps say hangs",
			 rc_name(atomic_load(&r->sh->next_rc)));
	if (d == SYNC_DEATH_OWNERDEAD && atomic_load(&r->sh->next_rc) != -EOWNERDEAD)
		fail_msg("next locker got %s, want EOWNERDEAD",
			 rc_name(atomic_load(&r->sh->next_rc)));
	if (d == SYNC_DEATH_RELEASED && atomic_load(&r->sh->next_rc) != 0)
		fail_msg("next locker got %s, want the lock (released by the kernel)",
			 rc_name(atomic_load(&r->sh->next_rc)));
	diag("%s: owner SIGKILLed inside: next locker got %s%s", r->ops->name,
	     d == SYNC_DEATH_OWNERDEAD ? "EOWNERDEAD" : "the lock (released by the kernel)",
	     d == SYNC_DEATH_OWNERDEAD ? ", recovered with consistent(), locked again" : "");
	sc_finish(r);
}

/* The row's own workload, one worker SIGKILLed mid-run: destroy must still
 * leave nothing. */
static bool sc_some_progress(struct sc_run *r)
{
	return sc_progress(r, NULL, 0) >= SC_KILL_AFTER;
}

static void check_kill(struct sc_run *r)
{
	const struct sync_ops *o = r->ops;

	r->rounds = UINT_MAX; /* until killed */
	if (has(o, SYNC_OP_SEM | SYNC_OP_EVENT | SYNC_OP_NOTIFY)) {
		sc_params(r, 2, r->c->wait, 0);
		sc_create(r);
		sc_create(r);
		sc_start(r, 2, body_handoff);
	} else if (has(o, SYNC_OP_BARRIER)) {
		sc_params(r, 2, r->c->wait, 0);
		sc_create(r);
		sc_start(r, 2, body_barrier);
	} else {
		sc_params(r, 2, r->c->wait, 1);
		sc_create(r);
		sc_start(r, 2, body_mutex);
	}
	sc_watch(r, sc_some_progress);
	if (!sc_some_progress(r))
		fail_msg("workers ended before %d steps", SC_KILL_AFTER);
	sc_kill_one(r, 0);
	sc_kill_all(r);
	sc_finish(r);
}

/*
 * A creator SIGKILLed before destroy (ipclab itself killed): its named
 * object outlives it.  sync_stale_scan must find it (and not a live one),
 * and remove it.
 */
static void check_stale(struct sc_run *r)
{
	char list[SC_LIST], names[1024];
	pid_t pid;
	int st, n;

	sc_params(r, 1, r->c->wait, 0);
	sc_create(r); /* a live one: the scan must leave it alone */
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		char err[SYNC_ERRLEN];
		void *obj, *h;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(SC_CHILD_ALARM_S);
		if (r->ops->create(&r->params, &obj, err) < 0 || r->ops->attach(obj, &h, err) < 0)
			_exit(1);
		raise(SIGKILL);
		_exit(1);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!WIFSIGNALED(st))
		fail_msg("the creator did not create and attach (exit %d)", WEXITSTATUS(st));
	n = sync_stale_scan(0, list, sizeof(list));
	if (n < 1)
		fail_msg("sync_stale_scan found %d objects of the dead creator (%s)", n,
			 n < 0 ? rc_name(n) : "none");
	diag("%s: stale after a SIGKILLed creator: %s", r->ops->name, list);
	n = sync_stale_scan(1, list, sizeof(list));
	if (n < 1)
		fail_msg("sync_stale_scan(remove) found %d", n);
	n = sync_stale_scan(0, list, sizeof(list));
	if (n != 0)
		fail_msg("still stale after removal: %s", list);
	/* A SysV set is also listed in its maker's ledger (names.h), a file
	 * the house's scan removes as ipclab's start does (bench/main.c). */
	list[0] = '\0';
	ipc_leftovers_scan(IPC_SYSV_LEDGER_KIND, IPC_LEFT_STALE | IPC_LEFT_REMOVE, list, sizeof(list));
	/* The live one is still there and still works. */
	if (sync_objects_list(list, sizeof(list)) < 0)
		fail_msg("cannot list sync objects");
	if (sc_new_names(r->sync_before, list, names, sizeof(names)) != 1)
		fail_msg("after removal, want exactly the live object, have: %s", names);
	sc_finish(r);
}

static void sc_test(void **state)
{
	struct sc_run *r = *state;

	switch (r->c->kind) {
	case K_REGISTRY:
		check_registry(r);
		break;
	case K_TABLE:
		check_table(r);
		break;
	case K_REFUSE:
		check_refuse(r);
		break;
	case K_MUTEX:
		check_mutex(r);
		break;
	case K_HANDOFF:
		check_handoff(r);
		break;
	case K_BARRIER:
		check_barrier(r);
		break;
	case K_OWNER_DEATH:
		check_owner_death(r);
		break;
	case K_KILL:
		check_kill(r);
		break;
	case K_STALE:
		check_stale(r);
		break;
	}
}

/* ---- the test list ------------------------------------------------------- */

struct sc_list {
	struct sc_case *cases;
	size_t n, cap;
};

static void add_case(struct sc_list *l, const struct sc_case *proto, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_case(struct sc_list *l, const struct sc_case *proto, const char *fmt, ...)
{
	struct sc_case *c;
	va_list ap;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->cases = realloc(l->cases, l->cap * sizeof(*l->cases));
		if (!l->cases)
			abort();
	}
	c = &l->cases[l->n++];
	*c = *proto;
	va_start(ap, fmt);
	if (vasprintf(&c->name, fmt, ap) < 0)
		abort();
	va_end(ap);
}

static void add_primitive(struct sc_list *l, const struct conf_env *env, const struct sync_ops *op)
{
	const struct sync_caps *c = &op->caps;
	bool shared = c->flags & SYNC_PROCESS_SHARED;
	enum sync_workers home = shared ? SYNC_WORKERS_PROCESS : SYNC_WORKERS_THREAD;
	enum ipc_wait first = (c->waits & IPC_WAIT_BIT(IPC_WAIT_BLOCK)) ? IPC_WAIT_BLOCK
									: IPC_WAIT_SPIN;
	struct sc_case p = { .env = env, .ops = op, .workers = home, .wait = first };
	const char *n = op->name;

	p.kind = K_TABLE;
	add_case(l, &p, "%s: table complete, caps consistent", n);
	p.kind = K_REFUSE;
	add_case(l, &p, "%s: create refuses what it cannot honour, with a reason, leaving nothing", n);
	for (unsigned w = 0; w < IPC_WAIT_COUNT; w++) {
		const char *wn = ipc_wait_name((enum ipc_wait)w);

		if (!(c->waits & IPC_WAIT_BIT(w)))
			continue;
		p.wait = (enum ipc_wait)w;
		if (c->ops & (SYNC_OP_LOCK | SYNC_OP_SEM)) {
			p.kind = K_MUTEX;
			for (unsigned k = 0; k < 2; k++) {
				p.workers = k ? SYNC_WORKERS_THREAD : SYNC_WORKERS_PROCESS;
				add_case(l, &p, "%s: mutual exclusion%s, %d %s, occupancy never above 1 (%s)",
					 n, c->ops & SYNC_OP_LOCK ? "" : " (as a lock: initial 1)",
					 SC_WORKERS, k ? "threads" : "processes", wn);
			}
			p.workers = home;
		}
		if (c->ops & (SYNC_OP_SEM | SYNC_OP_EVENT | SYNC_OP_NOTIFY)) {
			p.kind = K_HANDOFF;
			add_case(l, &p, "%s: %d hand-offs by %s, none early, no lost wake-up (%s)", n,
				 SC_HANDOFF_ROUNDS,
				 c->ops & SYNC_OP_SEM ? "post/wait" :
				 c->ops & SYNC_OP_EVENT ? "set/wait/reset" : "notify/await", wn);
		}
		if (c->ops & SYNC_OP_BARRIER) {
			p.kind = K_BARRIER;
			add_case(l, &p, "%s: %d crossings by %d, none leaves early, one serial (%s)", n,
				 SC_BARRIER_ROUNDS, SC_WORKERS, wn);
		}
		/* A row whose waits yield: the same checks with the workers as
		 * coroutines of one thread, on each context switch (a wait that
		 * blocked would stop the only thread: the watchdog sees a hang). */
		for (unsigned sw = 0; (c->flags & SYNC_YIELDS) && sw < CORO_SWITCH_COUNT; sw++) {
			struct sc_case q = p;

			q.workers = SYNC_WORKERS_THREAD;
			q.coro = sw + 1;
			if (c->ops & (SYNC_OP_LOCK | SYNC_OP_SEM)) {
				q.kind = K_MUTEX;
				add_case(l, &q, "%s: mutual exclusion, %d coroutines (%s switch) yielding "
					 "inside, occupancy never above 1 (%s)", n, SC_WORKERS,
					 coro_switch_name((enum coro_switch)sw), wn);
			}
			if (c->ops & (SYNC_OP_SEM | SYNC_OP_EVENT | SYNC_OP_NOTIFY)) {
				q.kind = K_HANDOFF;
				add_case(l, &q, "%s: %d hand-offs between coroutines (%s switch), none "
					 "early, no lost wake-up, every coroutine ends (%s)", n,
					 SC_HANDOFF_ROUNDS, coro_switch_name((enum coro_switch)sw), wn);
			}
		}
	}
	p.wait = first;
	if (c->ops & SYNC_OP_LOCK) {
		p.kind = K_OWNER_DEATH;
		add_case(l, &p, "%s: owner SIGKILLed inside the critical section: %s", n,
			 c->owner_death == SYNC_DEATH_OWNERDEAD ?
			 "EOWNERDEAD to the next locker, recovered with consistent" :
			 c->owner_death == SYNC_DEATH_RELEASED ?
			 "released by the kernel to the next locker" :
			 "next locker reported hung, not waited on");
	}
	if (shared) {
		p.kind = K_KILL;
		add_case(l, &p, "%s: worker SIGKILLed mid-run, destroy leaves nothing", n);
	}
	if (c->flags & SYNC_NAMED) {
		p.kind = K_STALE;
		add_case(l, &p, "%s: left by a SIGKILLed creator, found and removed by sync_stale_scan", n);
	}
}

int main(void)
{
	struct conf_env env;
	struct sc_list l = { 0 };
	struct sc_case reg = { .env = &env, .kind = K_REGISTRY };
	struct CMUnitTest *tests;
	const struct sync_ops *op;
	int rc;

	conf_env_setup(&env);
	diag("sync conformance: %s", env.note);
	add_case(&l, &reg, "registry: exactly the rows of issue 12 and coro-sem, names unique, sync_find finds each");
	sync_for_each(op)
		add_primitive(&l, &env, op);
	tests = calloc(l.n, sizeof(*tests));
	if (!tests)
		abort();
	for (size_t i = 0; i < l.n; i++)
		tests[i] = (struct CMUnitTest){ .name = l.cases[i].name, .test_func = sc_test,
						.setup_func = sc_setup,
						.teardown_func = sc_teardown,
						.initial_state = &l.cases[i] };
	rc = tap_run("sync_conformance", tests, l.n);
	for (size_t i = 0; i < l.n; i++)
		free(l.cases[i].name);
	free(l.cases);
	free(tests);
	return rc;
}
