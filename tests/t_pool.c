/* t_pool.c - TAP tests for harness/pool: rounds and result slots, binding,
 * pool_sync, and every way a pool can go wrong (a worker killed, hung,
 * failing setup or a round, SIGINT/SIGTERM to the parent, the parent
 * killed), each checked for zombies and leftovers.
 *
 * Why this file is long: one suite for the pool life cycle, its watchdogs
 * and its failure paths.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "pool.h"
#include "sig.h"
#include "topo.h"
#include "lib/conformance_util.h"
#include "lib/testutil.h"

/* Private namespaces as root: leak checks see only this test's objects. */
static struct conf_env env;

/* Every test is bounded: if one hangs, SIGALRM ends the executable (prove
 * reports the missing tests) instead of hanging the suite. */
#define TEST_ALARM_S 60
/* Rounds run by the result test: enough to see persistent workers reused
 * and every slot rewritten many times. */
#define TEST_ROUNDS 25
/* Round watchdog for the healthy tests: far above any real round here. */
#define TEST_ROUND_MS 10000
/* Watchdog for the hang tests: short so the suite stays quick; the hung
 * worker never finishes, so no length is too short to be honest. */
#define TEST_HANG_MS 300
/* pool_stop's stall limit in the teardown tests, and how long the busy
 * teardown runs: over the limit, well under POOL_STOP_STRETCH times it. */
#define TEST_STOP_MS 500
#define TEST_BUSY_MS 1500
/* Stagger of worker arrival in the pool_sync test, per worker id: makes an
 * early leaver (a broken barrier) see an incomplete count. */
#define TEST_STAGGER_NS 3000000ull
/* How long the driver's long round may last before its own watchdog: the
 * signal tests interrupt it long before. */
#define DRIVER_ROUND_MS 20000
/* How long the test waits for a process to finish (driver, orphaned
 * workers): generous on a loaded 2-core VM, still bounded. */
#define TEST_WAIT_MS 15000
#define WORKERS_MAX 8
#define NS_PER_MS 1000000ull

/* Driver exit statuses other than 128+signal: which check failed. */
enum {
	DRIVER_START_FAILED = 3,
	DRIVER_WRONG_RC = 4,
	DRIVER_WRONG_REASON = 5,
	DRIVER_ZOMBIES = 6,
	DRIVER_WORKER_ALIVE = 7,
	DRIVER_NO_SIGNAL = 8,
};

enum mode {
	MODE_BASIC,
	MODE_SYNC,
	MODE_SELF_KILL,     /* victim raises SIGKILL in round 1 */
	MODE_SELF_STOP,     /* victim raises SIGSTOP */
	MODE_SPIN,          /* victim loops forever */
	MODE_SETUP_FAIL,    /* victim's setup fails */
	MODE_SETUP_HANG,    /* victim's setup never returns */
	MODE_ROUND_FAIL,    /* victim's round fails in round 1 */
	MODE_LONG,          /* every worker blocks in the round until killed */
	MODE_TEARDOWN_HANG, /* victim's teardown never returns (blocked) */
	MODE_TEARDOWN_BUSY, /* victim's teardown uses CPU for TEST_BUSY_MS */
};

/* Shared between the test, its drivers and the workers. */
struct shared {
	atomic_uint setups;
	atomic_uint teardowns;
	atomic_uint in_round;
	atomic_uint arrived;
	atomic_int pids[WORKERS_MAX];
};

struct targ {
	enum mode mode;
	unsigned victim;
	struct shared *sh;
};

struct tcmd {
	unsigned round;
	uint64_t salt;
};

struct tres {
	unsigned id;
	unsigned round;
	uint64_t value;
	int pid;
	unsigned rounds_seen;
	int cpu;
	unsigned seen[2];
};

/* ---- worker callbacks ---------------------------------------------------- */

static int w_setup(struct pool_worker *w)
{
	const struct targ *a = w->arg;
	unsigned *count;

	atomic_store(&a->sh->pids[w->id], (int)getpid());
	atomic_fetch_add(&a->sh->setups, 1);
	if (w->id == a->victim && a->mode == MODE_SETUP_FAIL) {
		snprintf(w->err, POOL_ERRLEN, "test: cannot attach channel %u", w->id);
		return -EADDRINUSE;
	}
	if (w->id == a->victim && a->mode == MODE_SETUP_HANG)
		for (;;)
			pause();
	count = calloc(1, sizeof(*count));
	if (!count)
		return -ENOMEM;
	w->priv = count;
	return 0;
}

static void w_teardown(struct pool_worker *w)
{
	const struct targ *a = w->arg;

	if (w->id == a->victim && a->mode == MODE_TEARDOWN_HANG)
		for (;;)
			pause();
	if (w->id == a->victim && a->mode == MODE_TEARDOWN_BUSY) {
		uint64_t end = clk_now_ns() + (uint64_t)TEST_BUSY_MS * NS_PER_MS;
		volatile unsigned long spins = 0;

		while (clk_now_ns() < end)
			spins++;
	}
	free(w->priv);
	atomic_fetch_add(&a->sh->teardowns, 1);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static int w_round(struct pool_worker *w)
{
	const struct targ *a = w->arg;
	const struct tcmd *c = w->cmd;
	struct tres *r = w->slot;
	bool victim = w->id == a->victim;

	r->id = w->id;
	r->round = c->round;
	r->value = c->salt * (w->id + 1) + c->round;
	r->pid = (int)getpid();
	r->rounds_seen = ++*(unsigned *)w->priv;
	r->cpu = sched_getcpu();

	switch (a->mode) {
	case MODE_SYNC:
		/* Two phases per round, each: arrive, barrier, look, barrier
		 * (so nobody arrives in the next phase before all looked). */
		for (unsigned ph = 0; ph < 2; ph++) {
			if (ph == 0)
				sleep_ns(TEST_STAGGER_NS * w->id);
			atomic_fetch_add(&a->sh->arrived, 1);
			pool_sync(w);
			r->seen[ph] = atomic_load(&a->sh->arrived);
			pool_sync(w);
		}
		break;
	case MODE_SELF_KILL:
		if (victim && c->round == 1)
			raise(SIGKILL);
		break;
	case MODE_SELF_STOP:
		if (victim && c->round == 1)
			raise(SIGSTOP);
		break;
	case MODE_SPIN:
		if (victim && c->round == 1)
			for (volatile unsigned long i = 0;; i++)
				;
		break;
	case MODE_ROUND_FAIL:
		if (victim && c->round == 1) {
			snprintf(w->err, POOL_ERRLEN, "test: sequence gap at %u", 7u);
			return -EPROTO;
		}
		break;
	case MODE_LONG:
		atomic_fetch_add(&a->sh->in_round, 1);
		for (;;)
			pause();
	default:
		break;
	}
	return 0;
}

/* ---- helpers ------------------------------------------------------------- */

static struct shared *shared_new(void)
{
	struct shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				 MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(sh != MAP_FAILED);
	memset(sh, 0, sizeof(*sh));
	return sh;
}

static void shared_free(struct shared *sh)
{
	munmap(sh, sizeof(*sh));
}

/* The backend the tests' pools use (the thread tests switch it). */
static enum pool_backend backend = POOL_PROCESS;

static struct pool_cfg cfg_for(const struct targ *a, unsigned n)
{
	struct pool_cfg cfg = {
		.backend = backend,
		.nworkers = n,
		.slot_size = sizeof(struct tres),
		.cmd_size = sizeof(struct tcmd),
		.setup = w_setup,
		.round = w_round,
		.teardown = w_teardown,
		.arg = (void *)a,
	};

	return cfg;
}

static void begin(void)
{
	alarm(TEST_ALARM_S);
}

/* No zombie child, no IPC object left, alarm off. */
static void end(const struct leak_snap *before)
{
	char names[512];

	assert_int_equal(zombie_children(), 0);
	if (before) {
		unsigned leaked = conf_leak_check(&env, before, names, sizeof(names));

		if (leaked)
			print_error("left behind: %s\n", names);
		assert_int_equal(leaked, 0);
	}
	alarm(0);
}

static bool pid_gone(pid_t pid)
{
	return kill(pid, 0) == -1 && errno == ESRCH;
}

/* waitpid with a bound: true and *status when pid finished in time. */
static bool wait_bounded(pid_t pid, int *status, unsigned ms)
{
	uint64_t end_ns = clk_now_ns() + ms * NS_PER_MS;

	do {
		pid_t r = waitpid(pid, status, WNOHANG);

		if (r == pid)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
		sleep_ns(NS_PER_MS);
	} while (clk_now_ns() < end_ns);
	return false;
}

static bool wait_count(atomic_uint *v, unsigned want, unsigned ms)
{
	uint64_t end_ns = clk_now_ns() + ms * NS_PER_MS;

	while (atomic_load(v) < want) {
		if (clk_now_ns() >= end_ns)
			return false;
		sleep_ns(NS_PER_MS);
	}
	return true;
}

/* ---- rounds and results -------------------------------------------------- */

static void run_rounds(unsigned n)
{
	struct shared *sh = shared_new();
	struct targ a = { .mode = MODE_BASIC, .victim = ~0u, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, n);
	struct pool *p;
	char reason[POOL_ERRLEN] = "";
	pid_t pids[WORKERS_MAX];
	int rc;

	begin();
	rc = pool_start(&p, &cfg, reason);
	if (rc)
		print_error("pool_start: %s\n", reason);
	assert_int_equal(rc, 0);
	assert_int_equal(pool_size(p), n);
	assert_int_equal(atomic_load(&sh->setups), n);
	for (unsigned i = 0; i < n; i++) {
		pids[i] = pool_worker_pid(p, i);
		assert_true(pids[i] > 0);
		assert_int_equal(pids[i], atomic_load(&sh->pids[i]));
		assert_true(pool_worker_ran_on(p, i) >= 0);
		/* threads of one host process (not this one), or one each */
		assert_int_not_equal(pids[i], getpid());
		if (backend == POOL_THREAD)
			assert_int_equal(pids[i], pids[0]);
		else if (i)
			assert_int_not_equal(pids[i], pids[i - 1]);
	}
	for (unsigned k = 0; k < TEST_ROUNDS; k++) {
		struct tcmd *c = pool_cmd(p);

		c->round = k;
		c->salt = 1000003ull * (k + 7);
		rc = pool_round(p, TEST_ROUND_MS, reason);
		if (rc)
			print_error("round %u: %s\n", k, reason);
		assert_int_equal(rc, 0);
		for (unsigned i = 0; i < n; i++) {
			const struct tres *r = pool_slot(p, i);

			assert_non_null(r);
			assert_int_equal(r->id, i);
			assert_int_equal(r->round, k);
			assert_int_equal(r->value, 1000003ull * (k + 7) * (i + 1) + k);
			/* the same process every round: workers persist */
			assert_int_equal(r->pid, pids[i]);
			assert_int_equal(r->rounds_seen, k + 1);
		}
	}
	assert_null(pool_slot(p, n));
	rc = pool_stop(p, 0, reason);
	if (rc)
		print_error("pool_stop: %s\n", reason);
	assert_int_equal(rc, 0);
	assert_int_equal(atomic_load(&sh->teardowns), n);
	for (unsigned i = 0; i < n; i++)
		assert_true(pid_gone(pids[i]));
	end(NULL);
	shared_free(sh);
}

static void test_rounds_1(void **state)
{
	(void)state;
	run_rounds(1);
}

static void test_rounds_2(void **state)
{
	(void)state;
	run_rounds(2);
}

static void test_rounds_4(void **state)
{
	(void)state;
	run_rounds(4);
}

/* ---- binding ------------------------------------------------------------- */

static void check_bound(const struct topo *t, const int *cpus, unsigned n)
{
	struct shared *sh = shared_new();
	struct targ a = { .mode = MODE_BASIC, .victim = ~0u, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, n);
	struct pool *p;
	char reason[POOL_ERRLEN] = "";
	int rc;

	cfg.cpus = cpus;
	cfg.topo = t;
	rc = pool_start(&p, &cfg, reason);
	if (rc)
		print_error("pool_start: %s\n", reason);
	assert_int_equal(rc, 0);
	((struct tcmd *)pool_cmd(p))->round = 0;
	rc = pool_round(p, TEST_ROUND_MS, reason);
	assert_int_equal(rc, 0);
	for (unsigned i = 0; i < n; i++) {
		const struct tres *r = pool_slot(p, i);

		assert_int_equal(pool_worker_ran_on(p, i), cpus[i]);
		assert_int_equal(r->cpu, cpus[i]); /* still there in the round */
	}
	assert_int_equal(pool_stop(p, 0, reason), 0);
	shared_free(sh);
}

static void test_bound(void **state)
{
	struct topo *t;
	char err[TOPO_ERRLEN];
	int cpus[WORKERS_MAX];
	unsigned nall;

	(void)state;
	begin();
	assert_int_equal(topo_open(&t, err), 0);
	nall = topo_allowed_count(t);
	assert_true(nall >= 1);
	/* one worker on each allowed CPU in turn */
	for (unsigned i = 0; i < nall; i++) {
		cpus[0] = topo_allowed_cpu(t, i);
		check_bound(t, cpus, 1);
	}
	/* one pool spread over all of them (capped at WORKERS_MAX) */
	if (nall > WORKERS_MAX)
		nall = WORKERS_MAX;
	for (unsigned i = 0; i < nall; i++)
		cpus[i] = topo_allowed_cpu(t, nall - 1 - i);
	check_bound(t, cpus, nall);
	topo_close(t);
	end(NULL);
}

static void test_bind_refused(void **state)
{
	struct shared *sh = shared_new();
	struct targ a = { .mode = MODE_BASIC, .victim = ~0u, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, 2);
	struct topo *t;
	struct pool *p = (struct pool *)&a;
	char err[TOPO_ERRLEN], reason[POOL_ERRLEN] = "";
	int cpus[2] = { -1, TOPO_MAX_CPUS - 1 };
	int rc;

	(void)state;
	begin();
	assert_int_equal(topo_open(&t, err), 0);
	if (topo_cpu_allowed(t, cpus[1])) {
		topo_close(t);
		skip();
	}
	cfg.cpus = cpus;
	cfg.topo = t;
	rc = pool_start(&p, &cfg, reason);
	assert_true(rc < 0);
	assert_null(p);
	assert_non_null(strstr(reason, "worker 1 (cpu 1023"));
	assert_non_null(strstr(reason, "1023"));
	assert_non_null(strstr(reason, "bind"));
	topo_close(t);
	end(NULL);
	shared_free(sh);
}

/* ---- pool_sync ----------------------------------------------------------- */

static void run_sync(unsigned n)
{
	struct shared *sh = shared_new();
	struct targ a = { .mode = MODE_SYNC, .victim = ~0u, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, n);
	struct pool *p;
	char reason[POOL_ERRLEN] = "";
	const unsigned rounds = 4;

	begin();
	assert_int_equal(pool_start(&p, &cfg, reason), 0);
	for (unsigned k = 0; k < rounds; k++) {
		((struct tcmd *)pool_cmd(p))->round = k;
		assert_int_equal(pool_round(p, TEST_ROUND_MS, reason), 0);
		for (unsigned i = 0; i < n; i++) {
			const struct tres *r = pool_slot(p, i);

			/* after each barrier every worker of this phase has
			 * arrived, and none of the next phase yet */
			assert_int_equal(r->seen[0], n * (2 * k + 1));
			assert_int_equal(r->seen[1], n * (2 * k + 2));
		}
	}
	assert_int_equal(pool_stop(p, 0, reason), 0);
	end(NULL);
	shared_free(sh);
}

static void test_sync_2(void **state)
{
	(void)state;
	run_sync(2);
}

static void test_sync_4(void **state)
{
	(void)state;
	run_sync(4);
}

/* ---- workers that fail --------------------------------------------------- */

/* Start a pool of n, run round 0 (healthy) and round 1 (the victim
 * misbehaves); return round 1's rc and reason, and the pids. */
static int run_victim(enum mode mode, unsigned n, unsigned victim,
		      unsigned timeout_ms, char *reason, pid_t *pids,
		      uint64_t *elapsed_ns, struct shared *sh)
{
	struct targ a = { .mode = mode, .victim = victim, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, n);
	struct pool *p;
	char stop_reason[POOL_ERRLEN] = "";
	uint64_t t0;
	int rc;

	assert_int_equal(pool_start(&p, &cfg, reason), 0);
	for (unsigned i = 0; i < n; i++)
		pids[i] = pool_worker_pid(p, i);
	((struct tcmd *)pool_cmd(p))->round = 0;
	assert_int_equal(pool_round(p, TEST_ROUND_MS, reason), 0);
	((struct tcmd *)pool_cmd(p))->round = 1;
	t0 = clk_now_ns();
	rc = pool_round(p, timeout_ms, reason);
	*elapsed_ns = clk_now_ns() - t0;
	/* only pool_stop after an error; it must work */
	assert_int_equal(pool_round(p, TEST_ROUND_MS, stop_reason), -EINVAL);
	assert_int_equal(pool_stop(p, 0, stop_reason), 0);
	return rc;
}

static void test_kill(void **state)
{
	struct shared *sh = shared_new();
	struct leak_snap *before = malloc(sizeof(*before));
	const unsigned timeout_ms = 5000;
	char reason[POOL_ERRLEN] = "";
	pid_t pids[2];
	uint64_t el;
	int rc;

	(void)state;
	begin();
	assert_non_null(before);
	conf_snapshot(&env, before);
	rc = run_victim(MODE_SELF_KILL, 2, 1, timeout_ms, reason, pids, &el, sh);
	assert_int_equal(rc, -ECHILD);
	assert_non_null(strstr(reason, "worker 1"));
	assert_non_null(strstr(reason, "killed by signal 9"));
	assert_non_null(strstr(reason, "Killed"));
	assert_true(el < timeout_ms * NS_PER_MS); /* not the watchdog: the death */
	for (unsigned i = 0; i < 2; i++)
		assert_true(pid_gone(pids[i]));
	end(before);
	free(before);
	shared_free(sh);
}

static void test_thread_rounds(void **state)
{
	(void)state;
	backend = POOL_THREAD;
	run_rounds(3);
	backend = POOL_PROCESS;
}

/* A worker thread that dies takes its host, and so the pool, with it: the
 * round fails with the reason, everything is reaped. */
static void test_thread_kill(void **state)
{
	struct shared *sh = shared_new();
	struct leak_snap *before = malloc(sizeof(*before));
	char reason[POOL_ERRLEN] = "";
	pid_t pids[2];
	uint64_t el;
	int rc;

	(void)state;
	begin();
	assert_non_null(before);
	conf_snapshot(&env, before);
	backend = POOL_THREAD;
	rc = run_victim(MODE_SELF_KILL, 2, 1, 5000, reason, pids, &el, sh);
	backend = POOL_PROCESS;
	assert_int_equal(rc, -ECHILD);
	assert_non_null(strstr(reason, "killed by signal 9"));
	assert_int_equal(pids[0], pids[1]);
	assert_true(pid_gone(pids[0]));
	end(before);
	free(before);
	shared_free(sh);
}

static void run_hang(enum mode mode)
{
	struct shared *sh = shared_new();
	char reason[POOL_ERRLEN] = "";
	pid_t pids[3];
	uint64_t el;
	int rc;

	begin();
	rc = run_victim(mode, 3, 1, TEST_HANG_MS, reason, pids, &el, sh);
	assert_int_equal(rc, -ETIMEDOUT);
	assert_non_null(strstr(reason, "watchdog: round did not finish in 300 ms"));
	assert_non_null(strstr(reason, "workers 1 still running (unbound, pid"));
	assert_true(el >= TEST_HANG_MS * NS_PER_MS);
	for (unsigned i = 0; i < 3; i++)
		assert_true(pid_gone(pids[i]));
	end(NULL);
	shared_free(sh);
}

static void test_hang_stop(void **state)
{
	(void)state;
	run_hang(MODE_SELF_STOP);
}

static void test_hang_spin(void **state)
{
	(void)state;
	run_hang(MODE_SPIN);
}

static void test_round_fail(void **state)
{
	struct shared *sh = shared_new();
	char reason[POOL_ERRLEN] = "";
	pid_t pids[2];
	uint64_t el;
	int rc;

	(void)state;
	begin();
	rc = run_victim(MODE_ROUND_FAIL, 2, 0, TEST_ROUND_MS, reason, pids, &el, sh);
	assert_int_equal(rc, -EPROTO);
	assert_non_null(strstr(reason, "worker 0"));
	assert_non_null(strstr(reason, "test: sequence gap at 7"));
	/* a failed round ends the round for everyone at once (a peer may be
	 * blocked on the failed worker): the pool is killed, no teardown */
	assert_int_equal(atomic_load(&sh->teardowns), 0);
	for (unsigned i = 0; i < 2; i++)
		assert_true(pid_gone(pids[i]));
	end(NULL);
	shared_free(sh);
}

static void test_setup_fail(void **state)
{
	struct shared *sh = shared_new();
	struct targ a = { .mode = MODE_SETUP_FAIL, .victim = 1, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, 3);
	struct pool *p = (struct pool *)&a;
	char reason[POOL_ERRLEN] = "";
	int rc;

	(void)state;
	begin();
	rc = pool_start(&p, &cfg, reason);
	assert_int_equal(rc, -EADDRINUSE);
	assert_null(p);
	assert_non_null(strstr(reason, "worker 1"));
	assert_non_null(strstr(reason, "test: cannot attach channel 1"));
	for (unsigned i = 0; i < 3; i++) {
		pid_t pid = atomic_load(&sh->pids[i]);

		if (pid > 0)
			assert_true(pid_gone(pid));
	}
	end(NULL);
	shared_free(sh);
}

static void test_setup_hang(void **state)
{
	struct shared *sh = shared_new();
	struct targ a = { .mode = MODE_SETUP_HANG, .victim = 0, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, 2);
	struct pool *p;
	char reason[POOL_ERRLEN] = "";
	int rc;

	(void)state;
	begin();
	cfg.start_timeout_ms = TEST_HANG_MS;
	rc = pool_start(&p, &cfg, reason);
	assert_int_equal(rc, -ETIMEDOUT);
	assert_null(p);
	assert_non_null(strstr(reason, "watchdog: start did not finish in 300 ms"));
	assert_non_null(strstr(reason, "workers 0 not ready"));
	for (unsigned i = 0; i < 2; i++) {
		pid_t pid = atomic_load(&sh->pids[i]);

		if (pid > 0)
			assert_true(pid_gone(pid));
	}
	end(NULL);
	shared_free(sh);
}

static void test_bad_cfg(void **state)
{
	struct shared *sh = shared_new();
	struct targ a = { .mode = MODE_BASIC, .victim = ~0u, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, 0);
	struct pool *p;
	char reason[POOL_ERRLEN] = "";
	int cpus[1] = { 0 };

	(void)state;
	begin();
	assert_int_equal(pool_start(&p, &cfg, reason), -EINVAL);
	assert_non_null(strstr(reason, "0 workers, accepted 1..1024"));
	cfg.nworkers = POOL_MAX_WORKERS + 1;
	assert_int_equal(pool_start(&p, &cfg, reason), -EINVAL);
	assert_non_null(strstr(reason, "1025 workers"));
	cfg.nworkers = 1;
	cfg.cpus = cpus; /* a CPU but no topology to bind with */
	assert_int_equal(pool_start(&p, &cfg, reason), -EINVAL);
	assert_non_null(strstr(reason, "no topology"));
	assert_null(p);
	assert_int_equal(pool_stop(NULL, 0, reason), 0);
	end(NULL);
	shared_free(sh);
}

/* ---- the parent interrupted or killed ------------------------------------ */

/* A forked driver: installs the signal handlers, starts a pool of 2 whose
 * round blocks, and checks what it gets when interrupted.  Never returns. */
static void __attribute__((noreturn)) driver(struct shared *sh, int expect_sig)
{
	struct targ a = { .mode = MODE_LONG, .victim = ~0u, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, 2);
	struct pool *p;
	char reason[POOL_ERRLEN] = "";
	const char *want = expect_sig == SIGINT ? "interrupted by SIGINT" :
		"interrupted by SIGTERM";
	int rc;

	if (sig_install() || pool_start(&p, &cfg, reason))
		_exit(DRIVER_START_FAILED);
	((struct tcmd *)pool_cmd(p))->round = 0;
	rc = pool_round(p, DRIVER_ROUND_MS, reason);
	pool_stop(p, 0, NULL);
	if (rc != -EINTR)
		_exit(DRIVER_WRONG_RC);
	if (!strstr(reason, want))
		_exit(DRIVER_WRONG_REASON);
	if (zombie_children())
		_exit(DRIVER_ZOMBIES);
	for (unsigned i = 0; i < 2; i++)
		if (!pid_gone(atomic_load(&sh->pids[i])))
			_exit(DRIVER_WORKER_ALIVE);
	if (!sig_exit_status())
		_exit(DRIVER_NO_SIGNAL);
	_exit(sig_exit_status());
}

static pid_t spawn_driver(struct shared *sh, int expect_sig)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		driver(sh, expect_sig);
	/* both workers are inside the long round */
	if (!wait_count(&sh->in_round, 2, TEST_WAIT_MS)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		fail_msg("driver's workers never entered the round");
	}
	return pid;
}

static void run_signal(int sig, int want_status)
{
	struct shared *sh = shared_new();
	struct leak_snap *before = malloc(sizeof(*before));
	pid_t drv;
	int st = 0;

	begin();
	assert_non_null(before);
	conf_snapshot(&env, before);
	drv = spawn_driver(sh, sig);
	assert_int_equal(kill(drv, sig), 0);
	if (!wait_bounded(drv, &st, TEST_WAIT_MS)) {
		kill(drv, SIGKILL);
		waitpid(drv, NULL, 0);
		fail_msg("driver did not exit after the signal");
	}
	if (!WIFEXITED(st))
		fail_msg("driver died by signal %d", WTERMSIG(st));
	assert_int_equal(WEXITSTATUS(st), want_status);
	for (unsigned i = 0; i < 2; i++)
		assert_true(pid_gone(atomic_load(&sh->pids[i])));
	end(before);
	free(before);
	shared_free(sh);
}

static void test_sigint(void **state)
{
	(void)state;
	run_signal(SIGINT, 130);
}

static void test_sigterm(void **state)
{
	(void)state;
	run_signal(SIGTERM, 143);
}

static void test_parent_killed(void **state)
{
	struct shared *sh = shared_new();
	pid_t drv, pids[2];
	int st = 0, wst[2] = { 0, 0 };
	bool done[2];

	(void)state;
	begin();
	/* Orphaned workers come to us instead of init, so we can see how
	 * they ended (and reap them). */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	drv = spawn_driver(sh, SIGINT);
	for (unsigned i = 0; i < 2; i++)
		pids[i] = atomic_load(&sh->pids[i]);
	assert_int_equal(kill(drv, SIGKILL), 0);
	assert_true(wait_bounded(drv, &st, TEST_WAIT_MS));
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	for (unsigned i = 0; i < 2; i++) {
		done[i] = wait_bounded(pids[i], &wst[i], TEST_WAIT_MS);
		if (!done[i]) { /* leave nothing behind, then fail */
			kill(pids[i], SIGKILL);
			waitpid(pids[i], NULL, 0);
		}
	}
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 0), 0);
	for (unsigned i = 0; i < 2; i++) {
		assert_true(done[i]);
		assert_true(WIFSIGNALED(wst[i]));
		assert_int_equal(WTERMSIG(wst[i]), SIGKILL);
	}
	end(NULL);
	shared_free(sh);
}

/* ---- progress: the round watchdog as a stall limit ---------------------- */

#define PROGRESS_STEPS 12
#define PROGRESS_STEP_MS 50   /* the round takes 600 ms ... */
#define PROGRESS_LIMIT_MS 200 /* ... three times the stall limit */

static uint64_t slot_progress(const void *slot)
{
	return __atomic_load_n((const uint64_t *)slot, __ATOMIC_RELAXED);
}

/* cmd: 0 = tick every step; 1 = tick once, then stall */
static int slow_round(struct pool_worker *w)
{
	unsigned stall = *(const unsigned *)w->cmd;

	for (uint64_t k = 1; k <= PROGRESS_STEPS; k++) {
		if (!stall || k == 1)
			__atomic_store_n((uint64_t *)w->slot, k, __ATOMIC_RELAXED);
		clk_sleep_ns((uint64_t)PROGRESS_STEP_MS * 1000000u);
	}
	return 0;
}

static int progress_round(bool with_progress, unsigned stall, char *reason)
{
	struct pool *p = NULL;
	struct pool_cfg cfg = {
		.nworkers = 2, .slot_size = sizeof(uint64_t), .cmd_size = sizeof(unsigned),
		.round = slow_round, .progress = with_progress ? slot_progress : NULL,
	};
	int rc;

	assert_int_equal(pool_start(&p, &cfg, reason), 0);
	*(unsigned *)pool_cmd(p) = stall;
	rc = pool_round(p, PROGRESS_LIMIT_MS, reason);
	pool_stop(p, 0, NULL);
	return rc;
}

static void test_progress(void **state)
{
	char reason[POOL_ERRLEN] = "";

	(void)state;
	begin();
	/* Slow but moving: finishes although it takes 3x the limit. */
	assert_int_equal(progress_round(true, 0, reason), 0);
	/* Moving, but nobody reads the progress: the limit is the round's. */
	assert_int_equal(progress_round(false, 0, reason), -ETIMEDOUT);
	/* Stalled after one step: the stall limit fires, and says what the
	 * kernel saw of each worker: asleep (S) in its nanosleep, or, on a
	 * busy machine, runnable (R) right after one of its 50 ms naps. */
	assert_int_equal(progress_round(true, 1, reason), -ETIMEDOUT);
	if (!strstr(reason, "no progress") || (!strstr(reason, ": S ") && !strstr(reason, ": R ")))
		fprintf(stderr, "# stalled round: %s\n", reason);
	assert_non_null(strstr(reason, "no progress"));
	assert_true(strstr(reason, ": S ") || strstr(reason, ": R "));
	assert_non_null(strstr(reason, " waited "));
	end(NULL);
}

/* ---- starved: no progress because a worker gets no CPU -------------------- */

#define STARVE_LIMIT_MS 200
#define STARVE_HOG_MS 700 /* well inside the stall limit in all (8 x 200 ms) */

struct starve {
	_Atomic int released; /* the worker may finish its round */
	int cpu;              /* where the worker and the hog run */
	int busy;             /* the worker progresses whenever it runs */
};

/* Pin to s->cpu, tick once, spin until released, tick.  A busy worker
 * ticks all the while it runs (only a CPU it cannot get stops it), an idle
 * one never (a hang).  A SCHED_FIFO hog does not hold a CPU whole: since
 * Linux 6.12 a deadline server runs normal tasks 50 ms a second there, and
 * a worker that spins without progress in that time is a hang by the
 * watchdog's rule (seen: "ran 24 ms, waited 23 ms of the last 100"). */
static int starve_round(struct pool_worker *w)
{
	struct starve *s = w->arg;
	uint64_t tick = 1;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	__atomic_store_n((uint64_t *)w->slot, tick, __ATOMIC_RELAXED);
	while (!atomic_load(&s->released))
		if (s->busy)
			__atomic_store_n((uint64_t *)w->slot, ++tick, __ATOMIC_RELAXED);
	__atomic_store_n((uint64_t *)w->slot, ++tick, __ATOMIC_RELAXED);
	return 0;
}

/* A child on s->cpu at SCHED_FIFO: it spins STARVE_HOG_MS, so no normal
 * task gets that CPU meanwhile, then releases the worker.  -EPERM when
 * real-time scheduling is not allowed here. */
static pid_t starve_hog(struct starve *s)
{
	int ready[2];
	pid_t pid;
	int ok = 0;

	assert_int_equal(pipe(ready), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sched_param sp = { .sched_priority = 1 };
		cpu_set_t set;
		uint64_t end;

		close(ready[0]);
		CPU_ZERO(&set);
		CPU_SET(s->cpu, &set);
		ok = sched_setaffinity(0, sizeof(set), &set) == 0 &&
		     sched_setscheduler(0, SCHED_FIFO, &sp) == 0;
		if (write(ready[1], &ok, sizeof(ok)) != (ssize_t)sizeof(ok) || !ok)
			_exit(1);
		end = clk_now_ns() + (uint64_t)STARVE_HOG_MS * NS_PER_MS;
		while (clk_now_ns() < end)
			;
		atomic_store(&s->released, 1);
		_exit(0);
	}
	close(ready[1]);
	if (read(ready[0], &ok, sizeof(ok)) != (ssize_t)sizeof(ok))
		ok = 0;
	close(ready[0]);
	if (!ok) {
		waitpid(pid, NULL, 0);
		return -EPERM;
	}
	return pid;
}

/* One worker that spins without progress on a CPU a SCHED_FIFO hog holds
 * (runnable, no CPU: the machine's doing) gets more time and finishes once
 * the hog ends; the same worker spinning on a CPU of its own without
 * progress (a hang) fails at the stall limit, or at the limit in all when
 * the machine starves it too.  Red when starved rounds fail like hangs. */
static void test_starved(void **state)
{
	struct starve *s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct pool_cfg cfg = {
		.nworkers = 1, .slot_size = sizeof(uint64_t), .round = starve_round,
		.progress = slot_progress,
	};
	char reason[POOL_ERRLEN] = "";
	struct pool *p = NULL;
	cpu_set_t allowed;
	pid_t hog;
	int rc;

	(void)state;
	assert_true(s != MAP_FAILED);
	assert_int_equal(sched_getaffinity(0, sizeof(allowed), &allowed), 0);
	if (CPU_COUNT(&allowed) < 2) {
		munmap(s, sizeof(*s));
		skip(); /* the parent needs a CPU the hog does not hold */
	}
	for (s->cpu = CPU_SETSIZE - 1; !CPU_ISSET(s->cpu, &allowed); s->cpu--)
		;
	begin();
	cfg.arg = s;
	/* Starved: the hog holds the worker's CPU for 3.5 limits. */
	atomic_store(&s->released, 0);
	s->busy = 1;
	assert_int_equal(pool_start(&p, &cfg, reason), 0);
	hog = starve_hog(s);
	if (hog == -EPERM) {
		pool_stop(p, 0, NULL);
		munmap(s, sizeof(*s));
		alarm(0);
		skip(); /* no SCHED_FIFO here (not root, or no RT budget) */
	}
	rc = pool_round(p, STARVE_LIMIT_MS, reason);
	/* Reap the hog and stop the pool before judging: a failure here
	 * must not leave children that fail the tests after it.  The reason
	 * goes to stderr, which prove shows (a soak or CI log keeps it). */
	if (rc)
		fprintf(stderr, "# starved round: %s\n", reason);
	assert_int_equal(waitpid(hog, NULL, 0), hog);
	atomic_store(&s->released, 1);
	if (pool_stop(p, 0, reason) != 0)
		fprintf(stderr, "# starved pool_stop: %s\n", reason);
	assert_int_equal(rc, 0);
	/* A hang: spinning on its own CPU without progress, never released. */
	atomic_store(&s->released, 0);
	s->busy = 0;
	assert_int_equal(pool_start(&p, &cfg, reason), 0);
	rc = pool_round(p, STARVE_LIMIT_MS, reason);
	if (rc != -ETIMEDOUT || !strstr(reason, "no progress") || !strstr(reason, ": R "))
		fprintf(stderr, "# spinning hang: %d, %s\n", rc, reason);
	atomic_store(&s->released, 1);
	pool_stop(p, 0, NULL);
	assert_int_equal(rc, -ETIMEDOUT);
	assert_non_null(strstr(reason, "no progress"));
	assert_non_null(strstr(reason, ": R "));
	end(NULL);
	munmap(s, sizeof(*s));
}

/* ---- a late parent: the whole pool got no CPU ------------------------------ */

/* A child that stops the pool's workers and then its parent for
 * LATE_STOP_MS, as a starved session is stopped; it lets the parent go on
 * first and the workers LATE_GAP_MS later, or never (hang). */
#define LATE_LIMIT_MS 400
#define LATE_STOP_MS (3 * LATE_LIMIT_MS)
#define LATE_GAP_MS 150

static pid_t late_stopper(struct pool *p, unsigned n, bool hang)
{
	pid_t parent = getpid();
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid)
		return pid;
	clk_sleep_ns((uint64_t)2 * PROGRESS_STEP_MS * NS_PER_MS); /* the round runs */
	for (unsigned i = 0; i < n; i++)
		kill(pool_worker_pid(p, i), SIGSTOP);
	kill(parent, SIGSTOP);
	clk_sleep_ns((uint64_t)LATE_STOP_MS * NS_PER_MS);
	kill(parent, SIGCONT);
	clk_sleep_ns((uint64_t)LATE_GAP_MS * NS_PER_MS);
	for (unsigned i = 0; i < n && !hang; i++)
		kill(pool_worker_pid(p, i), SIGCONT);
	_exit(0);
}

/* The parent and its workers get no CPU for 3 stall limits (stopped), then
 * the parent runs first: the round goes on once the workers move again,
 * since the time the parent could not look is not held against them.  Red
 * when the parent judges at once (no progress for 3 limits: -ETIMEDOUT).
 * Workers that never move again still fail the round. */
static void test_parent_late(void **state)
{
	struct pool_cfg cfg = {
		.nworkers = 2, .slot_size = sizeof(uint64_t), .cmd_size = sizeof(unsigned),
		.round = slow_round, .progress = slot_progress,
	};
	char reason[POOL_ERRLEN] = "";
	struct pool *p = NULL;
	pid_t stopper;
	int rc;

	(void)state;
	begin();
	for (int hang = 0; hang <= 1; hang++) {
		assert_int_equal(pool_start(&p, &cfg, reason), 0);
		*(unsigned *)pool_cmd(p) = 0; /* a tick every step */
		stopper = late_stopper(p, cfg.nworkers, hang);
		rc = pool_round(p, LATE_LIMIT_MS, reason);
		assert_int_equal(waitpid(stopper, NULL, 0), stopper);
		if (rc != (hang ? -ETIMEDOUT : 0))
			print_message("# late parent, hang %d: %d %s\n", hang, rc, reason);
		assert_int_equal(rc, hang ? -ETIMEDOUT : 0);
		if (hang) {
			assert_non_null(strstr(reason, "no progress"));
			assert_non_null(strstr(reason, ": T "));
		}
		pool_stop(p, 0, NULL);
		p = NULL;
	}
	end(NULL);
}

/* A round, then pool_stop(TEST_STOP_MS) with worker 1 of 2 tearing down
 * in mode: pool_stop's result, its reason in reason, both pids gone. */
static int stop_with(enum mode mode, char *reason)
{
	struct shared *sh = shared_new();
	struct targ a = { .mode = mode, .victim = 1, .sh = sh };
	struct pool_cfg cfg = cfg_for(&a, 2);
	struct pool *p;
	pid_t pids[2];
	int rc;

	begin();
	assert_int_equal(pool_start(&p, &cfg, reason), 0);
	for (unsigned i = 0; i < 2; i++)
		pids[i] = pool_worker_pid(p, i);
	((struct tcmd *)pool_cmd(p))->round = 0;
	assert_int_equal(pool_round(p, TEST_ROUND_MS, reason), 0);
	rc = pool_stop(p, TEST_STOP_MS, reason);
	for (unsigned i = 0; i < 2; i++)
		assert_true(pid_gone(pids[i]));
	end(NULL);
	shared_free(sh);
	return rc;
}

/* pool_stop's limit is a stall limit: a teardown blocked for good is
 * killed, one that keeps using CPU past the limit (a loaded machine) is
 * waited for. */
static void test_stop_stall(void **state)
{
	char reason[POOL_ERRLEN] = "";

	(void)state;
	assert_int_equal(stop_with(MODE_TEARDOWN_HANG, reason), -ETIMEDOUT);
	assert_non_null(strstr(reason, "pool_stop: workers 1 did not exit in "));
	reason[0] = '\0';
	if (stop_with(MODE_TEARDOWN_BUSY, reason) != 0)
		fail_msg("a teardown using CPU for %d ms was killed under a %d ms stall limit: %s",
			 TEST_BUSY_MS, TEST_STOP_MS, reason);
}

/* cmocka names a test after its function; ours start with "pool: ". */
#define TEST(name, fn) { name, fn, NULL, NULL, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST("pool: bad configurations are refused with a reason", test_bad_cfg),
		TEST("pool: 1 worker runs rounds and returns results through its slot", test_rounds_1),
		TEST("pool: 2 workers run rounds and return results through their slots", test_rounds_2),
		TEST("pool: 4 workers (oversubscribed on a 2-CPU machine) run rounds and return results", test_rounds_4),
		TEST("pool: workers run on the CPU they were bound to, for each allowed CPU", test_bound),
		TEST("pool: a CPU the process may not use fails pool_start with the binding message", test_bind_refused),
		TEST("pool: pool_sync lets nobody through before all 2 workers arrive", test_sync_2),
		TEST("pool: pool_sync lets nobody through before all 4 workers arrive (oversubscribed on 2 CPUs)", test_sync_4),
		TEST("pool: a worker that kills itself with SIGKILL fails the round within the watchdog", test_kill),
		TEST("pool: a worker that stops itself (SIGSTOP) trips the watchdog, all reaped", test_hang_stop),
		TEST("pool: a worker in an endless loop trips the watchdog, all reaped", test_hang_spin),
		TEST("pool: a failing round returns the worker error and message", test_round_fail),
		TEST("pool: a setup failure fails pool_start with the worker message", test_setup_fail),
		TEST("pool: a setup that hangs trips the start watchdog", test_setup_hang),
		TEST("pool: SIGINT to a running pool exits 130 with no leftovers", test_sigint),
		TEST("pool: SIGTERM to a running pool exits 143 with no leftovers", test_sigterm),
		TEST("pool: killing the parent with SIGKILL takes its workers with it (PDEATHSIG)", test_parent_killed),
		TEST("pool: with progress, the watchdog stops a stalled round but not a slow one", test_progress),
		TEST("pool: pool_stop kills a teardown blocked for good but waits for one still using CPU", test_stop_stall),
		TEST("pool: a round stalled because a worker gets no CPU (a SCHED_FIFO hog) is given more time; a spinning hang still fails", test_starved),
		TEST("pool: a parent that got no CPU with its workers (all stopped 3 limits) does not count that time against them; workers that never move again still fail", test_parent_late),
		TEST("pool: thread backend: 3 workers are threads of one host process, rounds return results through their slots", test_thread_rounds),
		TEST("pool: thread backend: a worker thread killed with SIGKILL fails the round, the host is reaped", test_thread_kill),
	};

	conf_env_setup(&env);
	printf("# %s\n", env.note);
	return tap_run("pool", tests, sizeof(tests) / sizeof(tests[0]));
}
