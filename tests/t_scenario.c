/* t_scenario.c - every registry workload x every subject of its family x
 * pool 1 and 2 (when the pool is an axis) runs a tiny case whose counts add
 * up; fake mechanisms that reorder, drop or corrupt messages are caught.
 * A workload added to the registry is tested here with no change.  As root
 * it runs in private namespaces (conformance_util.h), so its leak checks
 * see only what its own cases left, never another run on the machine. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "conformance_util.h"
#include "sig.h"
#include "testutil.h"
#include "workload.h"

#define TINY_ROUND 500       /* messages per round: enough to wrap small rings */
#define TEST_TIMEOUT_MS 5000 /* channel timeout: a broken case fails, never hangs */
#define ALARM_S 120

struct tcase {
	const struct workload *wl;
	struct subject subject;
	enum ipc_wait wait;
	unsigned pool;
	size_t size;
	enum pool_backend workers;
};

static struct topo *topo;
static struct conf_env env;
static const struct placement compact = { .kind = PLACE_COMPACT };

static struct case_round *round_buf(void)
{
	static struct case_round *r;

	if (!r)
		r = malloc(sizeof(*r));
	assert_non_null(r);
	return r;
}

/* Open, run two rounds, close: the counts must add up. */
static void run_case(void **state)
{
	const struct tcase *t = *state;
	struct case_spec spec = {
		.workload = t->wl, .subject = t->subject, .wait = t->wait, .size = t->size,
		.pool = t->pool, .placement = &compact, .topo = topo,
		.verify = VERIFY_FULL, .timeout_ms = TEST_TIMEOUT_MS, .workers = t->workers,
	};
	struct case_run *run = NULL;
	struct case_round *r = round_buf();
	struct leak_snap *before = malloc(sizeof(*before));

	/* The workload's own axes at their defaults. */
	for (unsigned i = 0; t->wl->axes && i < WL_MAX_AXES && t->wl->axes[i]; i++)
		spec.axis[i] = t->wl->axes[i]->def;
	char why[SCENARIO_ERRLEN] = "", leaks[1024];
	int rc;

	assert_non_null(before);
	conf_snapshot(&env, before);
	alarm(ALARM_S);
	rc = case_open(&run, &spec, why);
	if (rc == -ENOTSUP) {
		free(before);
		alarm(0);
		tap_skip("%s", why);
	}
	if (rc < 0)
		fail_msg("case_open: %s", why);
	for (int round = 0; round < 2; round++) {
		uint64_t n = (t->wl->tiny_round ? t->wl->tiny_round : TINY_ROUND) + (uint64_t)round; /* odd and even */
		uint64_t want = t->wl->delivered(t->pool, n);

		rc = case_round(run, n, r, why);
		if (rc < 0)
			fail_msg("round %d: %s", round, why);
		assert_int_equal(r->n, n);
		assert_int_equal(r->delivered, want);
		assert_int_equal(r->bytes, want * t->size);
		/* One latency sample per round trip, or per message one way;
		 * per operation where each worker times its own (barrier:
		 * every release). */
		assert_int_equal(r->lat.count, t->wl->latency == WL_LAT_OPERATION ? want : n);
		assert_true(r->elapsed_ns > 0);
		assert_true(hist_percentile(&r->lat, 50) <= r->lat.max);
	}
	assert_true(strstr(case_label(run), "cpus=") != NULL);
	/* The backend really ran: threads of one host process (not this
	 * one), or one process per worker. */
	for (unsigned i = 1; i < case_procs(run); i++) {
		pid_t a = pool_worker_pid(run->pool, 0), b = pool_worker_pid(run->pool, i);

		assert_true(a != getpid() && b != getpid());
		if (t->workers != POOL_PROCESS) /* threads or coroutines of one host */
			assert_int_equal(a, b);
		else
			assert_int_not_equal(a, b);
	}
	assert_true((strstr(case_label(run), "workers=thread") != NULL) == (t->workers == POOL_THREAD));
	if (case_close(run, why) != 0)
		fail_msg("close: %s", why);
	alarm(0);
	assert_int_equal(zombie_children(), 0);
	if (conf_leak_check(&env, before, leaks, sizeof(leaks)))
		fail_msg("left behind: %s", leaks);
	free(before);
}

/* ---- fake mechanisms over a real one ------------------------------------ */

enum fault { FAULT_REORDER, FAULT_DROP, FAULT_CORRUPT };

struct fake_end {
	void *real;
	unsigned char held[256];
	size_t held_len;
	uint64_t count;
};

static const struct ipc_ops *base_ops; /* the real mechanism under the fake */
static enum fault fault_kind;

static int fake_caps(struct ipc_caps *c, char *err)
{
	int rc = base_ops->caps(c, err);

	c->max_msg = sizeof(((struct fake_end *)0)->held);
	return rc;
}

static int fake_create(const struct ipc_params *p, void **chan, char *err)
{
	return base_ops->create(p, chan, err);
}

static int fake_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct fake_end *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	rc = base_ops->attach(chan, role, &e->real, err);
	if (rc < 0) {
		free(e);
		return rc;
	}
	*end = e;
	return 0;
}

static int fake_send(void *end, const void *buf, size_t len)
{
	struct fake_end *e = end;
	unsigned char tmp[256];
	int rc;

	e->count++;
	switch (fault_kind) {
	case FAULT_REORDER: /* swap messages 2k and 2k+1 */
		if (!e->held_len) {
			memcpy(e->held, buf, len);
			e->held_len = len;
			return 0;
		}
		rc = base_ops->send(e->real, buf, len);
		if (rc == 0)
			rc = base_ops->send(e->real, e->held, e->held_len);
		e->held_len = 0;
		return rc;
	case FAULT_DROP: /* lose message 100 */
		if (e->count == 100)
			return 0;
		return base_ops->send(e->real, buf, len);
	case FAULT_CORRUPT: /* flip one payload byte of message 50 */
		memcpy(tmp, buf, len);
		if (e->count == 50)
			tmp[len - 1] ^= 0x40;
		return base_ops->send(e->real, tmp, len);
	}
	return -EINVAL;
}

static ssize_t fake_recv(void *end, void *buf, size_t cap)
{
	return base_ops->recv(((struct fake_end *)end)->real, buf, cap);
}

static void fake_detach(void *end)
{
	base_ops->detach(((struct fake_end *)end)->real);
	free(end);
}

static void fake_forget(void *chan)
{
	base_ops->forget(chan);
}

static void fake_destroy(void *chan)
{
	base_ops->destroy(chan);
}

static const struct ipc_ops fake_ops = {
	.name = "fake",
	.summary = "a real mechanism with a fault injected by the sender",
	.caps = fake_caps, .create = fake_create, .attach = fake_attach,
	.send = fake_send, .recv = fake_recv, .detach = fake_detach,
	.forget = fake_forget, .destroy = fake_destroy,
};

static void caught(enum fault f, const char *workload, const char *expect)
{
	struct case_spec spec = {
		.workload = wl_find(workload), .subject = { &family_channel, &fake_ops }, .wait = IPC_WAIT_BLOCK, .size = 64,
		.pool = 1, .placement = &compact, .topo = topo,
		.verify = VERIFY_SAMPLE, .timeout_ms = 2000,
	};
	struct case_run *run = NULL;
	char why[SCENARIO_ERRLEN] = "";
	int rc;

	base_ops = ipc_find("pipe") ? ipc_find("pipe") : ipc_registry[0];
	assert_non_null(base_ops);
	fault_kind = f;
	alarm(ALARM_S);
	rc = case_open(&run, &spec, why);
	if (rc < 0)
		fail_msg("case_open: %s", why);
	rc = case_round(run, TINY_ROUND, round_buf(), why);
	assert_int_not_equal(rc, 0);
	if (!strstr(why, expect))
		fail_msg("reason '%s' does not say '%s'", why, expect);
	case_close(run, NULL);
	alarm(0);
	assert_int_equal(zombie_children(), 0);
}

static void reorder_stream(void **state)
{
	(void)state;
	caught(FAULT_REORDER, "stream", "reordered");
}

static void reorder_pingpong(void **state)
{
	(void)state;
	/* pingpong sends one message and waits: the held message never
	 * leaves, so the round trip times out instead of reordering. */
	caught(FAULT_REORDER, "pingpong", "failed");
}

static void drop_stream(void **state)
{
	(void)state;
	caught(FAULT_DROP, "stream", "lost");
}

static void corrupt_stream(void **state)
{
	(void)state;
	caught(FAULT_CORRUPT, "stream", "corrupt");
}

static void bad_size(void **state)
{
	struct case_spec spec = {
		.workload = wl_find("stream"), .subject = { &family_channel, ipc_registry[0] },
		.wait = IPC_WAIT_BLOCK,
		.size = SCENARIO_MIN_SIZE - 1, .pool = 1, .placement = &compact,
		.topo = topo, .timeout_ms = 1000,
	};
	struct case_run *run = NULL;
	char why[SCENARIO_ERRLEN] = "";

	(void)state;
	assert_int_equal(case_open(&run, &spec, why), -ENOTSUP);
	assert_null(run);
	assert_true(strncmp(why, "skipped:", 8) == 0);
	spec.size = 64;
	spec.pool = 0;
	spec.workload = wl_find("pairs");
	assert_int_equal(case_open(&run, &spec, why), -EINVAL);
}

/* One test per workload x subject x pool x size; a workload of a family
 * without members (the floor) runs once at its own size. */
static size_t add_cases(struct CMUnitTest *tests, struct tcase *tc, size_t n, size_t cap)
{
	static const size_t sizes[] = { 64, 4096 };
	const struct workload *wl;

	wl_for_each(wl) {
		const void *t = wl->family->member(0);

		for (unsigned m = 0; t || m == 0; t = wl->family->member(++m))
		for (unsigned b = 0; b < POOL_BACKEND_COUNT; b++)
			if (b != POOL_COROUTINE_UCONTEXT && b != POOL_MPI) /* tests/t_pools.c, tests/mpi.t */
			for (unsigned pool = 1; pool <= (wl->pool_axis ? 2u : 1u); pool++)
				for (unsigned z = 0; z < (wl->sizes == WL_SIZES_FIXED ? 1u : 2u); z++) {
					struct subject sub = { wl->family, t };
					size_t size = wl->sizes == WL_SIZES_FIXED ? wl->fixed_size : sizes[z];
					enum ipc_wait wait = wl->sizes == WL_SIZES_FIXED ? wl->fixed_wait : IPC_WAIT_BLOCK;
					char *name;

					if (n + 8 >= cap)
						return n;
					tc[n] = (struct tcase){ wl, sub, wait, pool, size, (enum pool_backend)b };
					if (asprintf(&name, "scenario: %s/%s/%s size %zu pool %u workers %s counts add up",
						     wl->name, subject_name(&sub), ipc_wait_name(wait), size, pool,
						     pool_backend_name((enum pool_backend)b)) < 0)
						return n;
					tests[n] = (struct CMUnitTest){ .name = name, .test_func = run_case,
									.initial_state = &tc[n] };
					n++;
					if (!t && z + 1 >= (wl->sizes == WL_SIZES_FIXED ? 1u : 2u) &&
					    pool >= (wl->pool_axis ? 2u : 1u) && b == POOL_COROUTINE) /* the last one here */
						goto next;
				}
next:;
	}
	return n;
}

/* Every case add_cases() makes, at most (today ~1800: workloads x subjects x
 * backends x pools x sizes). */
#define ALL_CASES_MAX 8192

/* More cases than a test run can afford (the cap, ~1 min quiet): a sample,
 * the same share of every workload, drawn with SCENARIO_SEED (printed; a
 * new one each run, so that runs together cover every case).  A cap that
 * cut the list's tail instead left out every workload after the channel
 * ones (handoff, contend, barrier, counter, spawn, taskpool, server).
 * Keeps tests[] and tc[] paired (each test's state points into tc[]). */
static size_t sample_cases(struct CMUnitTest *tests, struct tcase *tc, size_t n, size_t keep)
{
	const char *seed_env = getenv("SCENARIO_SEED");
	unsigned seed = seed_env ? (unsigned)strtoul(seed_env, NULL, 10) : (unsigned)time(NULL) % 1000000u;
	size_t kept = 0;

	printf("# %zu cases made; ", n);
	if (n <= keep) {
		printf("all run\n");
		return n;
	}
	srand(seed);
	/* Selection sampling (Knuth's algorithm S): each case kept with
	 * probability (still needed) / (still left), so exactly keep, in order. */
	for (size_t i = 0; i < n; i++) {
		if ((size_t)rand() % (n - i) < keep - kept) {
			tc[kept] = tc[i];
			tests[kept] = tests[i];
			tests[kept].initial_state = &tc[kept];
			kept++;
		} else
			free((char *)tests[i].name);
	}
	printf("%zu run, sampled with SCENARIO_SEED=%u (set it to repeat this sample)\n", kept, seed);
	return kept;
}

int main(void)
{
	char terr[TOPO_ERRLEN];
	static struct CMUnitTest *tests; /* static: reachable until exit */
	static struct tcase *tc;
	const struct ipc_ops *op;
	size_t n = 0, cap = 1024;

	signal(SIGPIPE, SIG_IGN);
	conf_env_setup(&env);
	printf("# %s\n", env.note);
	if (topo_open(&topo, terr) < 0) {
		printf("1..0 # SKIP hwloc: %s\n", terr);
		return 0;
	}
	tests = calloc(ALL_CASES_MAX, sizeof(*tests));
	tc = calloc(ALL_CASES_MAX, sizeof(*tc));
	if (!tests || !tc)
		return 1;
	n = add_cases(tests, tc, n, ALL_CASES_MAX);
	if (n + 8 >= ALL_CASES_MAX) {
		printf("Bail out! more than %d scenario cases: raise ALL_CASES_MAX\n", ALL_CASES_MAX);
		return 1;
	}
	n = sample_cases(tests, tc, n, cap - 64);
	/* Spin waits: one pair per mechanism. */
	ipc_for_each(op) {
		char *name;

		if (n + 8 >= cap)
			break;
		tc[n] = (struct tcase){ wl_find("pingpong"), { &family_channel, op }, IPC_WAIT_SPIN, 1, 64, POOL_PROCESS };
		if (asprintf(&name, "scenario: pingpong/%s/spin size 64 counts add up", op->name) < 0)
			return 1;
		tests[n] = (struct CMUnitTest){ .name = name, .test_func = run_case, .initial_state = &tc[n] };
		n++;
	}
	tests[n++] = (struct CMUnitTest){ .name = "scenario: a reordering mechanism is caught (stream)", .test_func = reorder_stream };
	tests[n++] = (struct CMUnitTest){ .name = "scenario: a message held back fails pingpong", .test_func = reorder_pingpong };
	tests[n++] = (struct CMUnitTest){ .name = "scenario: a lost message is caught (stream)", .test_func = drop_stream };
	tests[n++] = (struct CMUnitTest){ .name = "scenario: a corrupted message is caught (stream)", .test_func = corrupt_stream };
	tests[n++] = (struct CMUnitTest){ .name = "scenario: size below the header is skipped, pool 0 refused", .test_func = bad_size };
	return tap_run("scenario", tests, n);
}
