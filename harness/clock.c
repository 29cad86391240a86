/* clock.c - the harness clock: the choice between the TSC and
 * CLOCK_MONOTONIC (clk_init, see clock.h for the rules), its calibration
 * and later check against CLOCK_MONOTONIC, and what the harness knows about
 * it: the cost of one clk_now_ns(), its resolution, the smallest step it
 * was seen to take, and the kernel clocksource behind it. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

#include "clock.h"

struct clk_state clk_state; /* see clock.h: written by clk_init only */
static char clk_why[400] = CLK_NAME " (clk_init not called)";

/* Calibration: two (TSC, CLOCK_MONOTONIC) pairs this far apart.  A pair is
 * read as TSC, clock, TSC; the tightest of CLK_PAIR_TRIES brackets is kept
 * (~50-100 ns here), so 20 ms give a rate good to a few ppm. */
#define CLK_CALIB_NS (20 * 1000 * 1000ull)
#define CLK_PAIR_TRIES 64
/* A drift worth marking: the TSC and CLOCK_MONOTONIC disagree by more than
 * this rate (NTP slews CLOCK_MONOTONIC by up to 500 ppm; a TSC that stopped,
 * jumped or runs at another rate is far beyond) and more than this many ns
 * (the read noise of two pairs). */
#define CLK_DRIFT_PPM 1000.0
#define CLK_DRIFT_MIN_NS 20000.0
/* Cross-CPU check: hand-offs per pair of CPUs, and a bound on the whole
 * check (a loaded machine may deschedule a spinning thread; then the check
 * is abandoned and the TSC not used). */
#define CLK_CROSS_ROUNDS 20000u
#define CLK_CROSS_BUDGET_NS (2000 * 1000 * 1000ull)

/*
 * Read cost: one read is ~20-60 ns, close to the clock's own granularity on
 * some clocksources, so we time CLK_BATCH_READS back-to-back reads at once
 * and divide.  CLK_BATCHES such batches give a distribution whose median
 * ignores preemptions and hypervisor exits (a 2-vCPU VM has many).  1001
 * batches x 100 reads ~ 100k reads, 2-6 ms in all; odd, so the median is
 * one batch.
 */
#define CLK_BATCH_READS 100
#define CLK_BATCHES 1001

/*
 * Smallest step: read back to back until CLK_STEP_SAMPLES non-zero steps
 * were seen (enough to catch the smallest of a fine clock), or until
 * CLK_STEP_BUDGET_NS passed (a coarse clock steps only every few ms).
 */
#define CLK_STEP_SAMPLES 10000
#define CLK_STEP_BUDGET_NS (20 * 1000 * 1000ull)
/* ... and never more reads than this, should the clock not move at all
 * (at ~25 ns a read, a tenth of a second). */
#define CLK_STEP_MAX_READS (4u * 1000 * 1000)

#define CLK_SOURCE_PATH "/sys/devices/system/clocksource/clocksource0/current_clocksource"
#define NS_PER_S 1000000000ull

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median_read_cost(void)
{
	const unsigned n = CLK_BATCHES;
	double cost[CLK_BATCHES];
	volatile uint64_t sink = 0; /* keep every read */

	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = clk_now_ns(), t1;

		for (unsigned j = 0; j < CLK_BATCH_READS; j++)
			sink += clk_now_ns();
		t1 = clk_now_ns();
		/* The closing read belongs to the batch too. */
		cost[i] = (double)(t1 - t0) / (CLK_BATCH_READS + 1);
	}
	(void)sink;
	qsort(cost, n, sizeof(cost[0]), cmp_double);
	return cost[n / 2];
}

/* 0 when the clock never moved. */
static uint64_t smallest_step(void)
{
	uint64_t start = clk_now_ns(), prev = start, best = UINT64_MAX;
	unsigned steps = 0;

	for (unsigned reads = 0; reads < CLK_STEP_MAX_READS &&
	     steps < CLK_STEP_SAMPLES; reads++) {
		uint64_t now = clk_now_ns();

		if (now != prev) {
			if (now - prev < best)
				best = now - prev;
			steps++;
			prev = now;
			if (now - start > CLK_STEP_BUDGET_NS)
				break;
		}
	}
	return steps ? best : 0;
}

/* The kernel's clocksource name, or "unknown" where sysfs is not there. */
static void read_source(char *buf, size_t len)
{
	FILE *f = fopen(CLK_SOURCE_PATH, "r");

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	if (fgets(buf, (int)len, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		if (!buf[0])
			snprintf(buf, len, "unknown");
	} else {
		snprintf(buf, len, "unknown");
	}
	fclose(f);
}

/* Fill *out: 0, or -errno when clock_getres fails (out is still filled
 * with what was measured; resolution is then the smallest step seen). */
int clk_calibrate(struct clk_info *out)
{
	struct timespec res;
	int ret = 0;

	if (!out)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->name = clk_state.tsc ? CLK_NAME_TSC : CLK_NAME;
	read_source(out->source, sizeof(out->source));
	out->read_cost_ns = median_read_cost();
	out->min_step_ns = smallest_step();
	if (clk_state.tsc) {
		/* One tick, in ns: below 1 ns on any TSC of our time. */
		out->resolution_ns = out->min_step_ns;
	} else if (clock_getres(CLOCK_MONOTONIC, &res) == 0) {
		out->resolution_ns = (uint64_t)res.tv_sec * NS_PER_S +
				     (uint64_t)res.tv_nsec;
	} else {
		ret = -errno;
		out->resolution_ns = out->min_step_ns;
	}
	if (out->resolution_ns == 0)
		out->resolution_ns = 1; /* nothing is finer than 1 ns */
	return ret;
}

void clk_sleep_ns(uint64_t ns)
{
	struct timespec until;
	uint64_t end;

	if (ns == 0)
		return;
	/* An absolute deadline: a restart after a signal sleeps only what is
	 * left, and the sum is never shorter than asked. */
	end = clk_mono_ns(); /* the sleep's own clock, whatever clk_now_ns() is */
	end = ns > UINT64_MAX - end ? UINT64_MAX : end + ns;
	until.tv_sec = (time_t)(end / NS_PER_S);
	until.tv_nsec = (long)(end % NS_PER_S);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}

/* ---- the TSC ------------------------------------------------------------ */

struct cpuid_bits {
	bool invariant, rdtscp;
};

static struct cpuid_bits read_cpuid(void)
{
	struct cpuid_bits b = { false, false };
#if defined(__x86_64__)
	unsigned a, bx, c, d;

	if (__get_cpuid(0x80000000u, &a, &bx, &c, &d) && a >= 0x80000007u) {
		if (__get_cpuid(0x80000001u, &a, &bx, &c, &d))
			b.rdtscp = (d >> 27) & 1;
		if (__get_cpuid(0x80000007u, &a, &bx, &c, &d))
			b.invariant = (d >> 8) & 1;
	}
#endif
	return b;
}

/* One (TSC, CLOCK_MONOTONIC) pair: the TSC is taken as the middle of the
 * tightest TSC bracket around a clock read. */
static void read_pair(bool rdtscp, uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;

	*tsc = *ns = 0; /* set by the first try; -O3 cannot tell */
	for (unsigned i = 0; i < CLK_PAIR_TRIES; i++) {
		uint64_t a = clk_tsc_read(rdtscp), m = clk_mono_ns(), b = clk_tsc_read(rdtscp);

		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			*ns = m;
		}
	}
}

struct cross_arg {
	_Atomic uint64_t turn;  /* round whose owner may stamp now */
	_Atomic uint64_t stamp; /* the previous owner's TSC */
	_Atomic int bad;
	_Atomic int gone;       /* abandoned: budget spent, or no pinning */
	int cpu;
	unsigned rounds;
	bool rdtscp;
	uint64_t deadline_ns;
};

static int pin_self(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/*
 * Round r belongs to the thread whose parity is r & 1: it waits for its
 * turn, reads its TSC, requires it to be no less than the stamp the other
 * thread took just before handing over (the hand-over is a release/acquire
 * pair, so the other stamp really was taken first), stores its own stamp
 * and hands over.  A TSC that is behind on either CPU shows up within a
 * few rounds in one direction or the other.
 */
static void cross_turns(struct cross_arg *x, unsigned parity)
{
	for (unsigned r = parity; r < x->rounds; r += 2) {
		unsigned spins = 0;
		uint64_t t;

		while (atomic_load_explicit(&x->turn, memory_order_acquire) != r) {
			if (atomic_load_explicit(&x->gone, memory_order_relaxed))
				return;
			if (++spins % 4096 == 0 && clk_mono_ns() > x->deadline_ns) {
				atomic_store(&x->gone, 1);
				return;
			}
		}
		t = clk_tsc_read(x->rdtscp);
		if (r > 0 && t < atomic_load_explicit(&x->stamp, memory_order_relaxed))
			atomic_store(&x->bad, 1);
		atomic_store_explicit(&x->stamp, t, memory_order_relaxed);
		atomic_store_explicit(&x->turn, r + 1, memory_order_release);
	}
}

static void *cross_peer(void *p)
{
	struct cross_arg *x = p;

	if (pin_self(x->cpu) != 0) {
		atomic_store(&x->gone, 1);
		return NULL;
	}
	cross_turns(x, 1);
	return NULL;
}

int clk_tsc_cross_check(int a, int b, unsigned rounds)
{
	struct cross_arg x = { .cpu = b, .rounds = rounds };
	sigset_t all, mask;
	cpu_set_t old;
	pthread_t th;
	int rc;

	if (!read_cpuid().invariant || a < 0 || b < 0 || a >= CPU_SETSIZE || b >= CPU_SETSIZE)
		return -ENOTSUP;
	x.rdtscp = read_cpuid().rdtscp;
	x.deadline_ns = clk_mono_ns() + CLK_CROSS_BUDGET_NS;
	if (pthread_getaffinity_np(pthread_self(), sizeof(old), &old) != 0)
		return -EINVAL;
	rc = pin_self(a);
	if (rc != 0)
		return -rc;
	/* The peer thread starts with every blockable signal blocked:
	 * signals of the process (SIGINT, SIGTERM: harness/sig.c) belong to
	 * the main thread, whose blocking calls they must interrupt. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &mask);
	rc = pthread_create(&th, NULL, cross_peer, &x);
	pthread_sigmask(SIG_SETMASK, &mask, NULL);
	if (rc != 0) {
		pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
		return -rc;
	}
	cross_turns(&x, 0);
	pthread_join(th, NULL);
	pthread_setaffinity_np(pthread_self(), sizeof(old), &old);
	if (atomic_load(&x.gone))
		return -ETIMEDOUT;
	return atomic_load(&x.bad) ? 0 : 1;
}

/* The kernel's clocksource is the TSC. */
static bool kernel_uses_tsc(void)
{
	char src[64];

	read_source(src, sizeof(src));
	return strcmp(src, "tsc") == 0;
}

/* Check every allowed CPU against the first.  1 all monotonic, 0 not,
 * -errno when the check could not run; *why says which. */
static int cross_all(char *why, size_t len)
{
	cpu_set_t set;
	int first = -1, rc = 1, n = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0) {
		snprintf(why, len, "cannot read the allowed CPUs");
		return -errno;
	}
	for (int c = 0; c < CPU_SETSIZE && rc == 1; c++) {
		if (!CPU_ISSET(c, &set))
			continue;
		if (first < 0) {
			first = c;
			continue;
		}
		rc = clk_tsc_cross_check(first, c, CLK_CROSS_ROUNDS);
		n++;
		if (rc == 0)
			snprintf(why, len, "TSC went back between CPUs %d and %d", first, c);
		else if (rc < 0)
			snprintf(why, len, "cross-CPU check between CPUs %d and %d could not finish (%s)",
				 first, c, strerror(-rc));
	}
	if (rc == 1)
		snprintf(why, len, "cross-CPU check passed on %d CPU pair%s", n, n == 1 ? "" : "s");
	return rc;
}

void clk_init(struct clk_choice *out)
{
	struct clk_choice ch;
	struct cpuid_bits cb = read_cpuid();
	const char *env = getenv("IPCLAB_CLOCK");
	char src[64], trust[256] = "";
	uint64_t t1, n1, t2, n2;
	bool force = false;

	memset(&ch, 0, sizeof(ch));
	memset(&clk_state, 0, sizeof(clk_state));
	ch.invariant = cb.invariant;
	ch.rdtscp = cb.rdtscp;
	read_source(src, sizeof(src));
	ch.kernel_tsc = strcmp(src, "tsc") == 0;
	if (env && strcmp(env, "monotonic") == 0) {
		snprintf(ch.why, sizeof(ch.why), CLK_NAME " (IPCLAB_CLOCK=monotonic)");
		goto fallback;
	}
	force = env && strcmp(env, "tsc") == 0;
	if (!cb.invariant) {
		snprintf(ch.why, sizeof(ch.why), CLK_NAME " (no invariant TSC: CPUID 80000007H:EDX[8] clear%s)",
#if defined(__x86_64__)
			 ""
#else
			 ", not x86-64"
#endif
			 );
		goto fallback;
	}
	if (force) {
		snprintf(trust, sizeof(trust), "IPCLAB_CLOCK=tsc, trust checks skipped");
	} else if (kernel_uses_tsc()) {
		snprintf(trust, sizeof(trust), "kernel clocksource tsc");
	} else {
		char why[120];
		int rc = cross_all(why, sizeof(why));

		if (rc != 1) {
			snprintf(ch.why, sizeof(ch.why), CLK_NAME " (invariant TSC not used: kernel clocksource %s, %s)",
				 src, why);
			goto fallback;
		}
		ch.cross_cpu_ok = true;
		snprintf(trust, sizeof(trust), "kernel clocksource %s, %s", src, why);
	}
	read_pair(cb.rdtscp, &t1, &n1);
	clk_sleep_ns(CLK_CALIB_NS);
	read_pair(cb.rdtscp, &t2, &n2);
	if (t2 <= t1 || n2 <= n1) {
		snprintf(ch.why, sizeof(ch.why), CLK_NAME " (TSC did not advance during calibration)");
		goto fallback;
	}
	clk_state.rdtscp = cb.rdtscp;
	clk_state.tsc0 = t2;
	clk_state.ns0 = n2;
	clk_state.mult = (uint64_t)(((unsigned __int128)(n2 - n1) << CLK_SHIFT) / (t2 - t1));
	clk_state.tsc = true;
	ch.tsc = true;
	ch.tsc_mhz = (double)(t2 - t1) * 1e3 / (double)(n2 - n1);
	snprintf(ch.why, sizeof(ch.why), CLK_NAME_TSC " (invariant, %s, %.3f MHz calibrated against " CLK_NAME "; %s)",
		 cb.rdtscp ? "RDTSCP" : "LFENCE;RDTSC", ch.tsc_mhz, trust);
	goto done;
fallback:
	memset(&clk_state, 0, sizeof(clk_state));
done:
	snprintf(clk_why, sizeof(clk_why), "%s", ch.why);
	if (out)
		*out = ch;
}

const char *clk_describe(void)
{
	return clk_why;
}

int clk_check(struct clk_drift *out)
{
	struct clk_drift d;
	uint64_t t, n, est;

	memset(&d, 0, sizeof(d));
	if (!clk_state.tsc) {
		if (out)
			*out = d;
		return -ENOTSUP;
	}
	read_pair(clk_state.rdtscp, &t, &n);
	est = clk_state.ns0 + (uint64_t)(((unsigned __int128)(t - clk_state.tsc0) * clk_state.mult) >> CLK_SHIFT);
	d.elapsed_s = (double)(n - clk_state.ns0) / 1e9;
	d.offset_ns = (double)est - (double)n;
	d.ppm = d.elapsed_s > 0 ? d.offset_ns / (d.elapsed_s * 1e3) : 0;
	d.drifted = (d.offset_ns > CLK_DRIFT_MIN_NS || d.offset_ns < -CLK_DRIFT_MIN_NS) &&
		    (d.ppm > CLK_DRIFT_PPM || d.ppm < -CLK_DRIFT_PPM);
	if (out)
		*out = d;
	return 0;
}

/* Median over batches, as median_read_cost() (same reasons). */
static double median_cost(int which)
{
	const unsigned n = CLK_BATCHES;
	double cost[CLK_BATCHES];
	volatile uint64_t sink = 0;
	bool rdtscp = read_cpuid().rdtscp;

	for (unsigned i = 0; i < n; i++) {
		uint64_t t0 = clk_mono_ns(), t1;

		for (unsigned j = 0; j < CLK_BATCH_READS; j++)
			sink += which ? clk_tsc_read(rdtscp) : clk_mono_ns();
		t1 = clk_mono_ns();
		cost[i] = (double)(t1 - t0) / (CLK_BATCH_READS + (which ? 0 : 1));
	}
	(void)sink;
	qsort(cost, n, sizeof(cost[0]), cmp_double);
	return cost[n / 2];
}

double clk_mono_cost_ns(void)
{
	return median_cost(0);
}

double clk_tsc_cost_ns(void)
{
#if defined(__x86_64__)
	return median_cost(1);
#else
	return 0;
#endif
}
