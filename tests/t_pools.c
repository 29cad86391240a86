/* t_pools.c - the worker-pool and life-cycle workloads (taskpool, spawn,
 * server) beyond "counts add up" (t_scenario): every request echoed under
 * every server model and transport, chunking (auto included) hands out
 * every task once, a process killed mid-round fails its case and leaves no
 * process behind (this test is the subreaper: orphans come here), and the
 * workload axes parse only what they accept.  Correctness only. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "coroutine.h"
#include "testutil.h"
#include "workload.h"

#define TEST_TIMEOUT_MS 5000
#define ALARM_S 120
/* How long what a case started may take to die and be reaped here. */
#define ORPHAN_WAIT_NS 3000000000ull

static struct topo *topo;
static const struct placement compact = { .kind = PLACE_COMPACT };

static const struct wl_axis *axis_of(const struct workload *wl, const char *key, unsigned *idx)
{
	for (unsigned i = 0; wl->axes && wl->axes[i]; i++)
		if (strcmp(wl->axes[i]->key, key) == 0) {
			*idx = i;
			return wl->axes[i];
		}
	fail_msg("%s has no axis %s", wl->name, key);
	return NULL;
}

static struct case_spec spec_of(const char *workload, const char *subject, unsigned pool, size_t size)
{
	struct case_spec sp = {
		.workload = wl_find(workload), .wait = IPC_WAIT_BLOCK, .size = size, .pool = pool,
		.placement = &compact, .topo = topo, .verify = VERIFY_SAMPLE, .timeout_ms = TEST_TIMEOUT_MS,
	};

	assert_non_null(sp.workload);
	/* Orphans of a killed worker come here, so nothing_survives() sees
	 * them (not inherited: set in the process that runs the tests). */
	assert_int_equal(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	if (subject_find(subject, &sp.subject) < 0)
		fail_msg("no subject %s", subject);
	for (unsigned i = 0; sp.workload->axes && sp.workload->axes[i]; i++)
		sp.axis[i] = sp.workload->axes[i]->def;
	return sp;
}

static double counter(const struct case_round *r, const char *name)
{
	for (unsigned i = 0; i < r->nextra; i++)
		if (strcmp(r->extra[i].name, name) == 0)
			return r->extra[i].value;
	fail_msg("counter %s not reported", name);
	return 0;
}

/* SIGKILL every child of this process (found in /proc); how many. */
static unsigned kill_children(void)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	unsigned n = 0;

	while (d && (e = readdir(d)) != NULL) {
		char path[300], buf[512], *p;
		long ppid;
		char st;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || !(f = fopen(path, "r")))
			continue;
		p = fgets(buf, sizeof(buf), f);
		fclose(f);
		if (p && (p = strrchr(buf, ')')) && sscanf(p + 1, " %c %ld", &st, &ppid) == 2 &&
		    ppid == getpid() && st != 'Z') {
			kill((pid_t)atol(e->d_name), SIGKILL);
			n++;
		}
	}
	if (d)
		closedir(d);
	return n;
}

/* Reap whatever is left to this subreaper; fail if anything is still
 * alive after ORPHAN_WAIT_NS (killing it first, so that it cannot hold
 * the test's output open). */
static void nothing_survives(void)
{
	uint64_t end = clk_now_ns() + ORPHAN_WAIT_NS;

	for (;;) {
		pid_t p = waitpid(-1, NULL, WNOHANG);

		if (p < 0 && errno == ECHILD)
			return;
		if (p == 0 && clk_now_ns() > end) {
			unsigned n = kill_children();

			while (waitpid(-1, NULL, 0) > 0)
				;
			fail_msg("%u process%s that the case started still alive", n, n == 1 ? " was" : "es were");
		}
		if (p == 0)
			clk_sleep_ns(10000000);
	}
}

static struct case_round *round_buf(void)
{
	static struct case_round *r;

	if (!r)
		r = malloc(sizeof(*r));
	assert_non_null(r);
	return r;
}

/* Open, two rounds of n, close; the round's counters go to *last. */
static void run_ok(struct case_spec *sp, uint64_t n)
{
	struct case_run *run = NULL;
	struct case_round *r = round_buf();
	char why[SCENARIO_ERRLEN] = "";

	alarm(ALARM_S);
	if (case_open(&run, sp, why) < 0)
		fail_msg("case_open: %s", why);
	for (int k = 0; k < 2; k++) {
		if (case_round(run, n + (uint64_t)k, r, why) < 0)
			fail_msg("round %d: %s", k, why);
		assert_int_equal(r->delivered, sp->workload->delivered(sp->pool, n + (uint64_t)k));
	}
	assert_int_equal(case_close(run, why), 0);
	alarm(0);
	nothing_survives();
}

/* ---- server ----------------------------------------------------------- */

static const char *const server_models[] = { "fork-per-conn", "prefork", "thread-per-conn", "epoll" };

static void server_echo(void **state)
{
	(void)state;
	for (unsigned m = 0; m < 4; m++)
		for (uint64_t tr = 0; tr < 2; tr++)
			for (unsigned b = 0; b < POOL_COROUTINE; b++) { /* coroutines: skipped */
				struct case_spec sp = spec_of("server", server_models[m], 2, 4096);
				unsigned ti = 0, ri = 0;

				axis_of(sp.workload, "transport", &ti);
				axis_of(sp.workload, "req", &ri);
				sp.axis[ti] = tr;
				sp.axis[ri] = 3;
				sp.workers = (enum pool_backend)b;
				run_ok(&sp, 40);
				/* Every request timed: the echo path ran. */
				assert_true(counter(round_buf(), "conn_p50_ns") > 0);
				assert_true(counter(round_buf(), "server_cpu_ns_per_req") > 0);
				assert_int_equal(round_buf()->bytes, 41 * 4096);
				assert_int_equal(round_buf()->lat.count, 41); /* one sample per request */
			}
}

struct killer {
	struct case_run *run;
	unsigned victim;  /* worker index */
	unsigned watch;   /* the worker whose progress says the round moves */
	volatile int done;
};

/* Kill the victim once the round is moving. */
static void *kill_when_moving(void *arg)
{
	struct killer *k = arg;
	uint64_t end = clk_now_ns() + 10000000000ull;

	while (!k->done && clk_now_ns() < end) {
		const struct wl_slot *s = pool_slot(k->run->pool, k->watch);

		if (__atomic_load_n(&s->progress, __ATOMIC_RELAXED) > 2) {
			kill(pool_worker_pid(k->run->pool, k->victim), SIGKILL);
			return NULL;
		}
		clk_sleep_ns(1000000);
	}
	return NULL;
}

/* A worker killed mid-round fails the case; nothing it started survives. */
static void killed_mid_round(struct case_spec *sp, unsigned victim, unsigned watch, uint64_t n)
{
	struct case_run *run = NULL;
	char why[SCENARIO_ERRLEN] = "";
	struct killer k = { 0 };
	pthread_t t;
	int rc;

	alarm(ALARM_S);
	if (case_open(&run, sp, why) < 0)
		fail_msg("case_open: %s", why);
	k.run = run;
	k.victim = victim;
	k.watch = watch;
	assert_int_equal(pthread_create(&t, NULL, kill_when_moving, &k), 0);
	rc = case_round(run, n, round_buf(), why);
	k.done = 1;
	pthread_join(t, NULL);
	if (rc == 0)
		fail_msg("the round succeeded although worker %u was killed", victim);
	assert_true(strncmp(why, "failed: ", 8) == 0);
	case_close(run, NULL);
	alarm(0);
	nothing_survives(); /* orphans came here and were reaped */
	assert_int_equal(zombie_children(), 0);
}

static void server_client_killed(void **state)
{
	(void)state;
	for (unsigned m = 0; m < 4; m++) {
		struct case_spec sp = spec_of("server", server_models[m], 2, 64);

		killed_mid_round(&sp, 1, 1, 2000000); /* a client */
	}
}

static void server_killed(void **state)
{
	(void)state;
	for (unsigned m = 0; m < 2; m++) { /* the models with children */
		struct case_spec sp = spec_of("server", server_models[m], 2, 64);

		killed_mid_round(&sp, 0, 1, 2000000); /* the server itself */
	}
}

/* ---- taskpool ------------------------------------------------------- */

static void taskpool_chunks(void **state)
{
	static const char *const subjects[] = { "pipe", "shmring", "unix-dgram", "mqueue" };
	static const uint64_t chunks[] = { 1, 7, 0 /* auto */ };

	(void)state;
	for (unsigned s = 0; s < 4; s++)
		for (unsigned c = 0; c < 3; c++) {
			struct case_spec sp = spec_of("taskpool", subjects[s], 2, 64);
			unsigned ci = 0, ti = 0;

			axis_of(sp.workload, "chunk", &ci);
			axis_of(sp.workload, "task", &ti);
			sp.axis[ci] = chunks[c];
			sp.axis[ti] = 1;
			run_ok(&sp, 333);
			/* auto: Python's ceil(n / (4k)) for the round's n (334) */
			assert_int_equal((uint64_t)counter(round_buf(), "chunk_tasks"),
					 chunks[c] ? chunks[c] : (334 + 7) / 8);
			assert_true(counter(round_buf(), "task_cpu_ns") > 0);
			assert_int_equal(round_buf()->lat.count, 334);
		}
}

static void taskpool_worker_killed(void **state)
{
	struct case_spec sp = spec_of("taskpool", "pipe", 2, 64);

	(void)state;
	killed_mid_round(&sp, 2, 2, 5000000);
}

/* ---- spawn ---------------------------------------------------------- */

static void spawn_every_method(void **state)
{
	static const char *const methods[] = { "fork", "vfork", "posix-spawn", "fork-exec", "clone-vfork", "pthread" };

	(void)state;
	for (unsigned m = 0; m < 6; m++) {
		struct case_spec sp = spec_of("spawn", methods[m], 1, 0);
		unsigned ri = 0;

		axis_of(sp.workload, "rss", &ri);
		sp.axis[ri] = 8u << 20;
		run_ok(&sp, 8);
		assert_true(counter(round_buf(), "first_p50_ns") > 0);
		assert_true(counter(round_buf(), "rss_bytes") >= (double)(8u << 20));
		/* terminate() only where a running child can exist */
		if (m == 0 || m == 2 || m == 3)
			assert_true(counter(round_buf(), "terminate_p50_ns") > 0);
	}
}

static void spawn_spawner_killed(void **state)
{
	static const char *const methods[] = { "fork", "posix-spawn", "fork-exec" };

	(void)state;
	for (unsigned m = 0; m < 3; m++) {
		struct case_spec sp = spec_of("spawn", methods[m], 1, 0);

		killed_mid_round(&sp, 0, 0, 1000000);
	}
}

/* ---- coroutines ------------------------------------------------------ */

static void coroutine_backend(void **state)
{
	struct case_spec sp = spec_of("pingpong", "coro", 1, 64);
	struct case_run *run = NULL;
	char why[SCENARIO_ERRLEN] = "";

	(void)state;
	sp.workers = POOL_COROUTINE;
	run_ok(&sp, 1000);
	/* A pool of coroutines over per-worker coro channels. */
	sp = spec_of("taskpool", "coro", 2, 64);
	sp.workers = POOL_COROUTINE;
	run_ok(&sp, 100);
	/* A kernel mechanism would block the only thread: skipped, with why. */
	sp = spec_of("pingpong", "pipe", 1, 64);
	sp.workers = POOL_COROUTINE;
	assert_int_equal(case_open(&run, &sp, why), -ENOTSUP);
	assert_null(run);
	if (!strstr(why, "skipped: ") || !strstr(why, "would block the only thread"))
		fail_msg("reason: %s", why);
	/* A lone worker blocks nobody: spawn runs under coroutines too. */
	sp = spec_of("spawn", "fork", 1, 0);
	sp.workers = POOL_COROUTINE;
	run_ok(&sp, 4);
}

/* Coroutines switching by hand, on each switch: every coroutine runs in
 * turn (round-robin order), keeps its locals across switches (values the
 * compiler keeps in callee-saved registers), hands a token back and forth
 * through coro_wait_until without losing one, and ends; the scheduler then
 * ends too and the thread is outside any coroutine again. */
#define SW_CORO 3
#define SW_YIELDS 500
#define SW_TOKENS 2000
/* Our own switch exists on x86-64; elsewhere "own" is ucontext too. */
#if defined(__x86_64__)
#define OWN_SWITCH_KEEPS_MASK 1
#else
#define OWN_SWITCH_KEEPS_MASK 0
#endif

struct sw_state {
	unsigned log[SW_CORO * (SW_YIELDS + 1)];
	unsigned nlog;
	uint64_t sums[SW_CORO];
	_Atomic uint32_t token;  /* whose turn in the hand-off: 0 or 1 */
	uint64_t handed[2];      /* tokens each side took */
	unsigned early;          /* woken without the token */
	int mask_set;            /* coroutine 0 blocked SIGUSR2 */
	int saw_blocked;         /* coroutine 1 saw it blocked in its own mask */
	unsigned done;
};

struct sw_arg {
	struct sw_state *st;
	unsigned id;
};

/* Coroutine 0 blocks SIGUSR2 and yields; coroutine 1 looks at its own
 * mask.  ucontext switches the signal mask with the context (so 1 still
 * has SIGUSR2 open), our switch leaves it to the thread (so 1 sees it
 * blocked): which switch ran, seen from inside. */
static void sw_mask(struct sw_state *st, unsigned id)
{
	sigset_t set, old;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	if (id == 0) {
		pthread_sigmask(SIG_BLOCK, &set, &old);
		st->mask_set = 1;
		coro_yield();
		coro_yield();
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	} else if (id == 1) {
		coro_yield(); /* after 0 blocked it */
		pthread_sigmask(SIG_BLOCK, NULL, &old);
		st->saw_blocked = st->mask_set ? sigismember(&old, SIGUSR2) : -1;
		coro_yield();
	} else {
		coro_yield();
		coro_yield();
	}
}

static void sw_yielder(void *arg)
{
	struct sw_arg *a = arg;
	struct sw_state *st = a->st;
	/* Live across every switch: a switch that loses a callee-saved
	 * register changes one of these. */
	uint64_t x = a->id + 1, y = 0x9e3779b97f4a7c15ull * (a->id + 1), z = 0;

	sw_mask(st, a->id); /* three yields each, in step */
	for (unsigned k = 0; k < SW_YIELDS; k++) {
		st->log[st->nlog++] = a->id;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		y ^= x >> 7;
		z += x ^ y;
		coro_yield();
	}
	st->log[st->nlog++] = a->id;
	st->sums[a->id] = x + y + z;
	st->done++;
}

/* The same arithmetic without switches. */
static uint64_t sw_expected(unsigned id)
{
	uint64_t x = id + 1, y = 0x9e3779b97f4a7c15ull * (id + 1), z = 0;

	for (unsigned k = 0; k < SW_YIELDS; k++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		y ^= x >> 7;
		z += x ^ y;
	}
	return x + y + z;
}

/* Side a waits for the token to be a, takes it, gives it to the other. */
static void sw_handoff(void *arg)
{
	struct sw_arg *a = arg;
	struct sw_state *st = a->st;
	unsigned me = a->id - SW_CORO;

	for (unsigned k = 0; k < SW_TOKENS; k++) {
		coro_wait_until(&st->token, me, true, 0);
		if (atomic_load(&st->token) != me)
			st->early++; /* checked outside: never fail on a coroutine's stack */
		st->handed[me]++;
		atomic_store(&st->token, !me);
	}
	st->done++;
}

static void coroutine_switch(void **state)
{
	(void)state;
	for (unsigned sw = 0; sw < CORO_SWITCH_COUNT; sw++) {
		struct sw_state *st = calloc(1, sizeof(*st));
		struct sw_arg args[SW_CORO + 2];

		assert_non_null(st);
		assert_false(coro_active());
		assert_int_equal(coro_set_switch((enum coro_switch)sw), 0);
		for (unsigned i = 0; i < SW_CORO + 2; i++) {
			args[i] = (struct sw_arg){ st, i };
			assert_int_equal(coro_spawn(i < SW_CORO ? sw_yielder : sw_handoff, &args[i]), 0);
		}
		/* The switch is the scheduler's: fixed once it has coroutines. */
		assert_int_equal(coro_set_switch(CORO_SWITCH_OWN), -EBUSY);
		alarm(ALARM_S);
		coro_run();
		alarm(0);
		assert_false(coro_active());
		assert_int_equal(st->done, SW_CORO + 2);
		/* Round-robin: entry j of the yielders' log is coroutine j % 3. */
		assert_int_equal(st->nlog, SW_CORO * (SW_YIELDS + 1));
		for (unsigned j = 0; j < st->nlog; j++)
			if (st->log[j] != j % SW_CORO)
				fail_msg("%s switch: log entry %u is coroutine %u, want %u",
					 coro_switch_name((enum coro_switch)sw), j, st->log[j], j % SW_CORO);
		for (unsigned i = 0; i < SW_CORO; i++)
			if (st->sums[i] != sw_expected(i))
				fail_msg("%s switch: coroutine %u lost a register across switches",
					 coro_switch_name((enum coro_switch)sw), i);
		/* The switch chosen is the one that ran. */
		if (st->saw_blocked != (sw == CORO_SWITCH_UCONTEXT ? 0 : OWN_SWITCH_KEEPS_MASK))
			fail_msg("%s switch: coroutine 1 saw SIGUSR2 %s after coroutine 0 blocked it "
				 "(ucontext switches the mask, ours does not)",
				 coro_switch_name((enum coro_switch)sw),
				 st->saw_blocked < 0 ? "(not yet blocked)" : st->saw_blocked ? "blocked" : "open");
		assert_int_equal(st->early, 0);
		assert_int_equal(st->handed[0], SW_TOKENS);
		assert_int_equal(st->handed[1], SW_TOKENS);
		free(st);
	}
	assert_int_equal(coro_set_switch(CORO_SWITCH_OWN), 0);
	assert_int_equal(coro_set_switch(CORO_SWITCH_COUNT), -EINVAL);
}

/* The sync family's hand-off under coroutines: coro-sem yields, on either
 * switch; a kernel primitive would block the only thread and is skipped;
 * the coro channel runs on the ucontext switch too. */
static void coroutine_handoff(void **state)
{
	static const enum pool_backend coro_backends[] = { POOL_COROUTINE, POOL_COROUTINE_UCONTEXT };
	struct case_run *run = NULL;
	char why[SCENARIO_ERRLEN] = "";
	struct case_spec sp;

	(void)state;
	for (unsigned b = 0; b < 2; b++)
		for (unsigned w = 0; w < 2; w++) {
			sp = spec_of("handoff", "coro-sem", 1, 0);
			sp.workers = coro_backends[b];
			sp.wait = w ? IPC_WAIT_SPIN : IPC_WAIT_BLOCK;
			run_ok(&sp, 1000);
			assert_int_equal(round_buf()->lat.count, 1001);
			sp = spec_of("pingpong", "coro", 1, 64);
			sp.workers = coro_backends[b];
			sp.wait = w ? IPC_WAIT_SPIN : IPC_WAIT_BLOCK;
			run_ok(&sp, 1000);
		}
	/* The same primitive between processes and threads: a futex semaphore. */
	for (unsigned b = 0; b < 2; b++) {
		sp = spec_of("handoff", "coro-sem", 1, 0);
		sp.workers = b ? POOL_THREAD : POOL_PROCESS;
		run_ok(&sp, 500);
	}
	/* A kernel primitive blocks: skipped, with the reason, on both. */
	for (unsigned b = 0; b < 2; b++) {
		sp = spec_of("handoff", "futex-event", 1, 0);
		sp.workers = coro_backends[b];
		assert_int_equal(case_open(&run, &sp, why), -ENOTSUP);
		assert_null(run);
		if (!strstr(why, "skipped: ") || !strstr(why, "would block the only thread") ||
		    !strstr(why, pool_backend_name(coro_backends[b])))
			fail_msg("reason: %s", why);
	}
}

/* ---- axes ----------------------------------------------------------- */

static void axes_parse(void **state)
{
	const struct workload *tp = wl_find("taskpool"), *sp = wl_find("spawn"), *sv = wl_find("server");
	const struct wl_axis *chunk, *rss, *tr;
	unsigned i;
	uint64_t v = 99;
	char buf[32];

	(void)state;
	chunk = axis_of(tp, "chunk", &i);
	rss = axis_of(sp, "rss", &i);
	tr = axis_of(sv, "transport", &i);
	assert_int_equal(wl_axis_parse(chunk, "auto", &v), 0);
	assert_int_equal(v, 0);
	assert_string_equal(wl_axis_format(chunk, 0, buf, sizeof(buf)), "auto");
	assert_int_equal(wl_axis_parse(chunk, "16", &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(wl_axis_parse(chunk, "16k", &v), -EINVAL); /* no suffixes */
	assert_int_equal(wl_axis_parse(chunk, "x", &v), -EINVAL);
	assert_int_equal(wl_axis_parse(chunk, "", &v), -EINVAL);
	assert_int_equal(wl_axis_parse(rss, "1G", &v), 0);
	assert_int_equal(v, 1ull << 30);
	assert_int_equal(wl_axis_parse(rss, "16M", &v), 0);
	assert_int_equal(v, 16ull << 20);
	assert_int_equal(wl_axis_parse(rss, "99999G", &v), -ERANGE);
	assert_int_equal(wl_axis_parse(tr, "tcp", &v), 0);
	assert_int_equal(v, 1);
	assert_string_equal(wl_axis_format(tr, 0, buf, sizeof(buf)), "unix-stream");
	assert_int_equal(wl_axis_parse(tr, "1", &v), -EINVAL); /* words only */
	assert_true(wl_axis_find("chunk", 5) == chunk);
	assert_null(wl_axis_find("nosuch", 6));
}

int main(void)
{
	static const struct CMUnitTest tests[] = {
		{ "pools: axes: words, suffixes and auto parse; the rest is refused", axes_parse, NULL, NULL, NULL },
		{ "pools: server: every model x transport x backend echoes every request", server_echo, NULL, NULL, NULL },
		{ "pools: server: a client killed mid-connection fails the case, nothing survives",
		  server_client_killed, NULL, NULL, NULL },
		{ "pools: server: a killed server takes its children with it", server_killed, NULL, NULL, NULL },
		{ "pools: taskpool: chunks 1, 7 and auto hand out every task once", taskpool_chunks, NULL, NULL, NULL },
		{ "pools: taskpool: a worker killed mid-map fails the case", taskpool_worker_killed, NULL, NULL, NULL },
		{ "pools: spawn: every method starts, stamps and reaps its children", spawn_every_method, NULL, NULL,
		  NULL },
		{ "pools: spawn: a killed spawner leaves no child behind", spawn_spawner_killed, NULL, NULL, NULL },
		{ "pools: coroutine: the coro channel hands off between coroutines; a blocking mechanism is skipped",
		  coroutine_backend, NULL, NULL, NULL },
		{ "pools: coroutine switch (own, ucontext): round-robin order, registers kept, no lost hand-off, "
		  "every coroutine and the scheduler end", coroutine_switch, NULL, NULL, NULL },
		{ "pools: coroutine: handoff over coro-sem on both switches (and as a futex semaphore between "
		  "processes, threads); a kernel primitive is skipped", coroutine_handoff, NULL, NULL, NULL },
	};
	char terr[TOPO_ERRLEN];

	signal(SIGPIPE, SIG_IGN);
	if (topo_open(&topo, terr) < 0) {
		printf("1..0 # SKIP hwloc: %s\n", terr);
		return 0;
	}
	return tap_run("pools", tests, sizeof(tests) / sizeof(tests[0]));
}
