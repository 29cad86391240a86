/* t_clock.c - the harness clock: monotonic, shared across processes,
 * calibrated, and a sleep that never comes back early.  No upper timing
 * bound anywhere: machines here are shared and noisy. */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
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
	assert_string_equal(ci.name, clk_state.tsc ? CLK_NAME_TSC : CLK_NAME);
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

/* The clock chosen by clk_init() follows CLOCK_MONOTONIC: over a sleep,
 * both advance by the same amount (within 1%, far beyond calibration error
 * and far below a wrong rate), and the drift check agrees. */
static void test_choice_tracks_monotonic(void **state)
{
	uint64_t m0, c0, m1, c1;
	double dm, dc;
	struct clk_drift d;

	(void)state;
	m0 = clk_mono_ns();
	c0 = clk_now_ns();
	clk_sleep_ns(50 * 1000 * 1000);
	c1 = clk_now_ns();
	m1 = clk_mono_ns();
	dm = (double)(m1 - m0);
	dc = (double)(c1 - c0);
	if (dc < dm * 0.99 || dc > dm * 1.01) {
		print_error("%s: clock advanced %.0f ns while CLOCK_MONOTONIC advanced %.0f ns\n",
			    clk_describe(), dc, dm);
		fail();
	}
	if (clk_state.tsc) {
		assert_int_equal(clk_check(&d), 0);
		assert_true(d.elapsed_s > 0);
		if (d.drifted) {
			print_error("%s: drift %.1f ppm (%.0f ns) right after calibration\n",
				    clk_describe(), d.ppm, d.offset_ns);
			fail();
		}
	} else {
		assert_int_equal(clk_check(&d), -ENOTSUP);
		assert_false(d.drifted);
	}
}

/* A TSC whose rate is off by 2% is found by clk_check() within 30 ms. */
static void test_drift_found(void **state)
{
	struct clk_state saved = clk_state;
	struct clk_drift d;

	(void)state;
	if (!clk_state.tsc) {
		print_message("# clock: no TSC clock here (%s): drift check not exercised\n", clk_describe());
		skip();
	}
	clk_state.mult += clk_state.mult / 50;
	clk_sleep_ns(30 * 1000 * 1000);
	assert_int_equal(clk_check(&d), 0);
	clk_state = saved;
	if (!d.drifted) {
		print_error("a 2%% rate error was not flagged: %.1f ppm, %.0f ns over %.3f s\n",
			    d.ppm, d.offset_ns, d.elapsed_s);
		fail();
	}
	assert_true(d.ppm > 10000);
}

/* IPCLAB_CLOCK=monotonic forces the fallback, and says so; the default
 * choice is restored afterwards for the other tests. */
static void test_forced_monotonic(void **state)
{
	struct clk_choice ch;
	char saved[400];

	(void)state;
	snprintf(saved, sizeof(saved), "%s", clk_describe());
	setenv("IPCLAB_CLOCK", "monotonic", 1);
	clk_init(&ch);
	unsetenv("IPCLAB_CLOCK");
	assert_false(ch.tsc);
	assert_false(clk_state.tsc);
	assert_non_null(strstr(clk_describe(), "IPCLAB_CLOCK=monotonic"));
	assert_int_equal(strncmp(clk_describe(), CLK_NAME, strlen(CLK_NAME)), 0);
	clk_init(&ch);
	assert_string_equal(clk_describe(), ch.why);
	assert_int_equal(ch.tsc, clk_state.tsc);
	if (ch.tsc) {
		assert_true(ch.invariant);
		assert_true(ch.kernel_tsc || ch.cross_cpu_ok);
		assert_true(ch.tsc_mhz > 1.0);
	}
	(void)saved;
}

/* The cross-CPU check between the first two allowed CPUs passes on a
 * machine whose kernel or whose check already trusted the TSC. */
static void test_cross_check(void **state)
{
	cpu_set_t set;
	int cpus[2], n = 0, rc;

	(void)state;
	assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
	for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
		if (CPU_ISSET(c, &set))
			cpus[n++] = c;
	if (n < 2 || !clk_state.tsc) {
		print_message("# clock: %s: cross-CPU check not exercised\n",
			      n < 2 ? "one CPU" : clk_describe());
		skip();
	}
	rc = clk_tsc_cross_check(cpus[0], cpus[1], 2000);
	if (rc == -ETIMEDOUT) {
		print_message("# clock: cross-CPU check ran out of time (loaded machine)\n");
		skip();
	}
	assert_int_equal(rc, 1);
	/* The check refuses what it cannot do. */
	assert_true(clk_tsc_cross_check(-1, cpus[1], 10) < 0);
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
		T("clock: the chosen clock tracks CLOCK_MONOTONIC", test_choice_tracks_monotonic),
		T("clock: a TSC at a wrong rate is flagged as drift", test_drift_found),
		T("clock: IPCLAB_CLOCK=monotonic forces the fallback", test_forced_monotonic),
		T("clock: cross-CPU TSC check passes where the TSC is used", test_cross_check),
	};

	alarm(TEST_ALARM_S);
	clk_init(NULL); /* as ipclab does: every test runs on the chosen clock */
	return tap_run("clock", tests, sizeof(tests) / sizeof(tests[0]));
}
