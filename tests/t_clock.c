/* t_clock.c - the harness clock: monotonic, shared across processes,
 * calibrated, and a sleep that never comes back early.  No upper timing
 * bound anywhere: machines here are shared and noisy. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "testutil.h"

/* The whole executable must finish well within this (seconds). */
#define TEST_ALARM_S 60
/* Back-to-back reads checked for monotonicity: ~25 ms at ~25 ns a read,
 * long enough to cross timer interrupts and migrations between CPUs. */
#define MONO_READS 1000000u
/* Forked children, each stamping once between two parent stamps. */
#define FORK_ROUNDS 20
#define SOURCE_PATH "/sys/devices/system/clocksource/clocksource0/current_clocksource"

static void test_monotonic(void **state)
{
	uint64_t prev = clk_now_ns();

	(void)state;
	assert_true(prev > 0);
	for (unsigned i = 0; i < MONO_READS; i++) {
		uint64_t now = clk_now_ns();

		if (now < prev) {
			print_error("read %u went back: %llu after %llu\n", i,
				    (unsigned long long)now,
				    (unsigned long long)prev);
			fail();
		}
		prev = now;
	}
}

/* A timestamp taken in a child lies between the parent's stamp before the
 * fork and its stamp after reading the child's: one clock for all. */
static void test_fork_between(void **state)
{
	(void)state;
	for (int r = 0; r < FORK_ROUNDS; r++) {
		int fd[2], status;
		uint64_t before, child = 0, after;
		ssize_t got;
		pid_t pid;

		assert_int_equal(pipe(fd), 0);
		fflush(NULL);
		before = clk_now_ns();
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			uint64_t t = clk_now_ns();

			close(fd[0]);
			_exit(write(fd[1], &t, sizeof(t)) == sizeof(t) ? 0 : 1);
		}
		close(fd[1]);
		do
			got = read(fd[0], &child, sizeof(child));
		while (got < 0 && errno == EINTR);
		after = clk_now_ns();
		close(fd[0]);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
		assert_int_equal(got, sizeof(child));
		if (!(before <= child && child <= after)) {
			print_error("child %llu not in [%llu, %llu]\n",
				    (unsigned long long)child,
				    (unsigned long long)before,
				    (unsigned long long)after);
			fail();
		}
	}
	assert_int_equal(zombie_children(), 0);
}

static void test_calibrate(void **state)
{
	struct clk_info ci;
	char src[64] = "";
	FILE *f;

	(void)state;
	memset(&ci, 0xa5, sizeof(ci)); /* garbage that must be overwritten */
	assert_int_equal(clk_calibrate(&ci), 0);
	assert_non_null(ci.name);
	assert_string_equal(ci.name, CLK_NAME);
	assert_true(isfinite(ci.read_cost_ns) && ci.read_cost_ns > 0);
	assert_true(ci.resolution_ns >= 1);
	assert_true(ci.min_step_ns >= 1);
	assert_non_null(memchr(ci.source, '\0', sizeof(ci.source)));
	assert_true(ci.source[0] != '\0');
	assert_null(strchr(ci.source, '\n'));
	/* The clocksource is the kernel's, where sysfs shows it. */
	f = fopen(SOURCE_PATH, "r");
	if (f) {
		if (fgets(src, sizeof(src), f))
			src[strcspn(src, "\n")] = '\0';
		fclose(f);
		assert_string_equal(ci.source, src);
	} else {
		assert_string_equal(ci.source, "unknown");
	}
	assert_int_equal(clk_calibrate(NULL), -EINVAL);
}

static void test_sleep_lower_bound(void **state)
{
	static const uint64_t asks[] = {
		0, 1, 1000, 50 * 1000, 1000 * 1000, 20 * 1000 * 1000,
	};

	(void)state;
	for (size_t i = 0; i < sizeof(asks) / sizeof(asks[0]); i++) {
		uint64_t t0 = clk_now_ns(), t1;

		clk_sleep_ns(asks[i]);
		t1 = clk_now_ns();
		if (t1 - t0 < asks[i]) {
			print_error("asked %llu ns, slept %llu ns\n",
				    (unsigned long long)asks[i],
				    (unsigned long long)(t1 - t0));
			fail();
		}
	}
}

/* Signals seen by on_tick: a handler can only talk through a static. */
static volatile sig_atomic_t ticks;

static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

/* A signal (handler installed without SA_RESTART) interrupts the sleep
 * several times; the sleep still lasts at least what was asked. */
static void test_sleep_signals(void **state)
{
	/* A tick every 2 ms against a 30 ms sleep: ~15 interruptions. */
	const uint64_t ask = 30 * 1000 * 1000;
	const long tick_ns = 2 * 1000 * 1000;
	struct itimerspec its = { { 0, tick_ns }, { 0, tick_ns } };
	struct sigevent sev;
	struct sigaction sa, old;
	timer_t tm;
	uint64_t t0, t1;

	(void)state;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_tick;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGUSR1;
	assert_int_equal(timer_create(CLOCK_MONOTONIC, &sev, &tm), 0);
	assert_int_equal(timer_settime(tm, 0, &its, NULL), 0);
	ticks = 0;
	t0 = clk_now_ns();
	clk_sleep_ns(ask);
	t1 = clk_now_ns();
	timer_delete(tm);
	assert_true(ticks > 0); /* the sleep really was interrupted */
	sigaction(SIGUSR1, &old, NULL);
	if (t1 - t0 < ask) {
		print_error("asked %llu ns, slept %llu ns\n",
			    (unsigned long long)ask,
			    (unsigned long long)(t1 - t0));
		fail();
	}
}

/* cmocka names a test after its function; ours start with "clock: ". */
#define T(name, fn) { name, fn, NULL, NULL, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("clock: monotonic across many reads", test_monotonic),
		T("clock: forked child's stamp lies between parent's", test_fork_between),
		T("clock: calibrate fills every field", test_calibrate),
		T("clock: sleep lasts at least the asked time", test_sleep_lower_bound),
		T("clock: sleep restarts after signals", test_sleep_signals),
	};

	alarm(TEST_ALARM_S);
	return tap_run("clock", tests, sizeof(tests) / sizeof(tests[0]));
}
