/* t_load.c - open-loop load (harness/load.h): the --load values, and
 * tiny open-loop cases of every workload with a load axis whose counts add
 * up, whose senders never run ahead of the schedule, and whose receivers
 * time every message from a due time no later than its actual send (so
 * intended-time latency is never below service latency: a sender and its
 * receiver agree on the schedule). */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "channel.h"
#include "clock.h"
#include "load.h"
#include "testutil.h"
#include "workload.h"

#define ROUND_MSGS 300        /* messages per round */
#define RATE 30000u           /* offered msgs/s: a round lasts ~10 ms */
#define TEST_TIMEOUT_MS 5000
#define ALARM_S 240
/* Mechanisms every load workload runs with, at both waits and pools 1, 2
 * (every mechanism runs stream at pool 1, block). */
static const char *const both_ways[] = { "pipe", "shmring" };

static struct topo *topo;
static const struct placement compact = { .kind = PLACE_COMPACT };

static void test_parse(void **state)
{
	static const struct { const char *in; double fraction; uint64_t rate; } good[] = {
		{ "0.1", 0.1, 0 }, { "0.5", 0.5, 0 }, { "1.0", 1.0, 0 }, { ".25", 0.25, 0 },
		{ "20000", 0, 20000 }, { "20k", 0, 20000 }, { "1M", 0, 1000000 }, { "1.5M", 0, 1500000 },
		{ "1G", 0, 1000000000ull }, { "1", 0, 1 }, { "closed", 0, 0 },
	};
	static const char *const bad[] = {
		"", "0", "0.0", "1.5", "-0.5", "-20k", "20K", "20kk", "2.5k7", "1.0001M1", "nan", "inf",
		"2G", "0.0001k", " 0.5", "0.5 ", "1e3", "abc", "20k/s",
	};
	struct load_spec l;
	char name[64];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (load_parse(good[i].in, &l) != 0)
			fail_msg("'%s' refused", good[i].in);
		assert_true(l.fraction == good[i].fraction);
		assert_true(l.rate == good[i].rate);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (load_parse(bad[i], &l) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	/* Names: the segment after pool:N, nothing when closed. */
	load_parse("0.5", &l);
	load_name(&l, name, sizeof(name));
	assert_string_equal(name, "/load:0.5");
	load_parse("20k", &l);
	load_name(&l, name, sizeof(name));
	assert_string_equal(name, "/rate:20000");
	load_parse("closed", &l);
	load_name(&l, name, sizeof(name));
	assert_string_equal(name, "");
}

static double counter(const struct case_round *r, const char *name)
{
	for (unsigned i = 0; i < r->nextra; i++)
		if (strcmp(r->extra[i].name, name) == 0)
			return r->extra[i].value;
	fail_msg("no counter %s", name);
	return -1;
}

/* Senders of a case, and the messages the busiest one sends per round. */
static unsigned senders(const struct workload *wl, unsigned pool)
{
	return strcmp(wl->name, "pairs") == 0 || strcmp(wl->name, "fanin") == 0 ? pool : 1;
}

static int run_one(const struct workload *wl, const struct ipc_ops *ops, enum ipc_wait wait, unsigned pool,
		   struct load_spec load)
{
	struct case_spec spec = {
		.workload = wl, .subject = { &family_channel, ops }, .wait = wait, .size = 64,
		.pool = pool, .placement = &compact, .topo = topo, .verify = VERIFY_FULL,
		.timeout_ms = TEST_TIMEOUT_MS, .load = load,
	};
	struct case_round *r = malloc(sizeof(*r));
	struct case_run *run = NULL;
	char why[SCENARIO_ERRLEN] = "";
	unsigned s = senders(wl, pool);
	int rc;

	assert_non_null(r);
	rc = case_open(&run, &spec, why);
	if (rc == -ENOTSUP) {
		free(r);
		return rc;
	}
	if (rc < 0)
		fail_msg("%s/%s/%s pool %u: case_open: %s", wl->name, ops->name, ipc_wait_name(wait), pool, why);
	for (int round = 0; round < 2; round++) {
		uint64_t n = ROUND_MSGS + (uint64_t)round, share = (n + s - 1) / s;
		double rate;

		rc = case_round(run, n, r, why);
		if (rc < 0)
			fail_msg("%s/%s/%s pool %u round %d: %s", wl->name, ops->name, ipc_wait_name(wait), pool, round,
				 why);
		assert_int_equal(r->delivered, n);
		rate = counter(r, "offered_msgs_per_s");
		if (load.rate)
			assert_true(rate == (double)load.rate);
		else {
			double sat = counter(r, "saturation_msgs_per_s");

			assert_true(sat > 0);
			assert_true(fabs(rate - load.fraction * sat) <= 1e-9 * rate);
		}
		/* Never ahead of the schedule: the last message of the busiest
		 * sender is due (share-1) intervals after time 0. */
		if (r->elapsed_ns + 1 < (uint64_t)((double)(share - 1) * s * 1e9 / rate))
			fail_msg("%s/%s: %llu messages in %llu ns at %.0f/s: ahead of the schedule", wl->name, ops->name,
				 (unsigned long long)n, (unsigned long long)r->elapsed_ns, rate);
		assert_true(counter(r, "late_sends") <= (double)n);
		{ /* a share of the senders' time in the round */
			double w = counter(r, "sender_cpu_wait_share");

			assert_true(w >= 0 && w <= 1);
		}
		/* Each message's due time is at or before its send. */
		assert_true(counter(r, "intended_p50_ns") >= counter(r, "service_p50_ns"));
		assert_true(counter(r, "intended_p90_ns") >= counter(r, "service_p90_ns"));
		assert_true(counter(r, "intended_p99_ns") >= counter(r, "service_p99_ns"));
		assert_true(counter(r, "intended_max_ns") >= counter(r, "service_max_ns"));
		assert_true(counter(r, "intended_p50_ns") == (double)hist_percentile(&r->lat, 50));
		assert_int_equal(r->lat.count, n);
	}
	assert_int_equal(case_close(run, why), 0);
	assert_int_equal(zombie_children(), 0);
	free(r);
	return 0;
}

static void test_every_workload(void **state)
{
	const struct workload *wl;
	struct load_spec rate = { .rate = RATE };
	unsigned ran = 0;

	(void)state;
	alarm(ALARM_S);
	wl_for_each(wl) {
		if (!wl->load_axis)
			continue;
		for (size_t m = 0; m < sizeof(both_ways) / sizeof(both_ways[0]); m++)
			for (int w = IPC_WAIT_BLOCK; w <= IPC_WAIT_SPIN; w++)
				for (unsigned pool = 1; pool <= (wl->pool_axis ? 2u : 1u); pool++)
					ran += run_one(wl, ipc_find(both_ways[m]), (enum ipc_wait)w, pool, rate) == 0;
	}
	assert_true(ran >= 8);
	alarm(0);
}

static void test_every_mechanism(void **state)
{
	const struct ipc_ops *op;
	struct load_spec rate = { .rate = RATE };
	unsigned ran = 0;

	(void)state;
	alarm(ALARM_S);
	ipc_for_each(op)
		ran += run_one(wl_find("stream"), op, IPC_WAIT_BLOCK, 1, rate) == 0;
	assert_true(ran >= 3);
	alarm(0);
}

static void test_fraction(void **state)
{
	struct load_spec half = { .fraction = 0.5 };

	(void)state;
	alarm(ALARM_S);
	assert_int_equal(run_one(wl_find("fanin"), ipc_find("pipe"), IPC_WAIT_BLOCK, 2, half), 0);
	alarm(0);
}

/* A closed-loop case carries none of the open-loop counters. */
static void test_closed(void **state)
{
	struct case_spec spec = {
		.workload = wl_find("stream"), .subject = { &family_channel, ipc_find("pipe") },
		.wait = IPC_WAIT_BLOCK, .size = 64, .pool = 1, .placement = &compact, .topo = topo,
		.timeout_ms = TEST_TIMEOUT_MS,
	};
	struct case_round *r = malloc(sizeof(*r));
	struct case_run *run = NULL;
	char why[SCENARIO_ERRLEN] = "";

	(void)state;
	assert_non_null(r);
	assert_int_equal(case_open(&run, &spec, why), 0);
	assert_int_equal(case_round(run, ROUND_MSGS, r, why), 0);
	for (unsigned i = 0; i < r->nextra; i++)
		assert_true(strstr(r->extra[i].name, "intended") == NULL && strstr(r->extra[i].name, "late") == NULL &&
			    strstr(r->extra[i].name, "sender_cpu_wait") == NULL);
	assert_int_equal(case_close(run, why), 0);
	free(r);
}

/* load_thread_sched: a thread that never sleeps is either on its CPU or
 * waiting for it, so over a window its run and wait times add up to the
 * window (give or take the scheduler's accounting of the slice running at
 * each read); two such threads pinned to one CPU both wait. */
#define SCHED_WINDOW_NS 300000000ull

struct spinner {
	int cpu;
	uint64_t run, wait, elapsed;
	int rc;
};

static void *spin_window(void *arg)
{
	struct spinner *s = arg;
	uint64_t run0, wait0, t0, t;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(s->cpu, &set);
	s->rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set) ? -EINVAL : 0;
	if (s->rc == 0)
		s->rc = load_thread_sched(&run0, &wait0);
	if (s->rc < 0)
		return NULL;
	t0 = clk_now_ns();
	while ((t = clk_now_ns()) - t0 < SCHED_WINDOW_NS)
		;
	s->rc = load_thread_sched(&s->run, &s->wait);
	s->elapsed = clk_now_ns() - t0;
	s->run -= run0;
	s->wait -= wait0;
	return NULL;
}

static void test_thread_sched(void **state)
{
	struct spinner s[2];
	pthread_t th[2];
	int cpu = sched_getcpu();

	(void)state;
	assert_true(cpu >= 0);
	for (int i = 0; i < 2; i++) {
		s[i] = (struct spinner){ .cpu = cpu };
		assert_int_equal(pthread_create(&th[i], NULL, spin_window, &s[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		double sum;

		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(s[i].rc, 0);
		sum = (double)(s[i].run + s[i].wait);
		if (sum < 0.75 * (double)s[i].elapsed || sum > 1.25 * (double)s[i].elapsed)
			fail_msg("thread %d: on cpu %llu ns + waiting %llu ns over a window of %llu ns", i,
				 (unsigned long long)s[i].run, (unsigned long long)s[i].wait,
				 (unsigned long long)s[i].elapsed);
		assert_true(s[i].wait > 0);
	}
}

#define T(name, fn) { name, fn, NULL, NULL, NULL }

int main(void)
{
	char err[TOPO_ERRLEN];
	const struct CMUnitTest tests[] = {
		T("load: --load values parse and name the case", test_parse),
		T("load: every load workload, pipe and shmring, block and spin, pools 1 and 2", test_every_workload),
		T("load: stream at a rate over every mechanism", test_every_mechanism),
		T("load: a fraction is of the saturation measured in the same case", test_fraction),
		T("load: a closed-loop case has no open-loop counters", test_closed),
		T("load: a spinning thread's time on its CPU and waiting for it add up to the window", test_thread_sched),
	};

	if (topo_open(&topo, err) < 0) {
		fprintf(stderr, "topo: %s\n", err);
		return 1;
	}
	return tap_run("load", tests, sizeof(tests) / sizeof(tests[0]));
}
