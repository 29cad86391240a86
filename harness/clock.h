/* clock.h - the one clock of the harness, shared by all cores, so a
 * timestamp taken in one process can be subtracted from one taken in
 * another (one-way latency).
 *
 * Two sources, chosen once by clk_init() in the parent before any fork
 * (children inherit the choice and its calibration):
 *   - the TSC, when CPUID says it is invariant and either the kernel uses it
 *     as its clocksource or a cross-CPU check finds it monotonic between
 *     every pair (first allowed CPU, other allowed CPU); it is calibrated
 *     against CLOCK_MONOTONIC at start and checked against it later
 *     (clk_check), so a drift is found and reported;
 *   - CLOCK_MONOTONIC (clock_gettime, vDSO) otherwise, or when the
 *     environment says IPCLAB_CLOCK=monotonic.
 * Fencing of a TSC read: RDTSCP (waits until every earlier instruction has
 * executed) when CPUID 80000001H:EDX[27] lists it, else LFENCE; RDTSC
 * (LFENCE lets RDTSC start only once earlier instructions are done: the
 * load that saw a message is complete before the receive stamp is taken).
 * No trailing fence: later instructions may start early, which only ever
 * makes an interval longer by their overlap, never shorter.
 */
#ifndef IPCLAB_CLOCK_H
#define IPCLAB_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define CLK_NAME "CLOCK_MONOTONIC"
#define CLK_NAME_TSC "tsc"

/*
 * The process-wide clock choice.  Mutable state at file scope on purpose:
 * every timestamp in every process must come from one source with one
 * calibration, read inline without an argument (like the vDSO's own data
 * page).  Written only by clk_init() before fork; read-only afterwards.
 */
struct clk_state {
	bool tsc;               /* false: CLOCK_MONOTONIC */
	bool rdtscp;            /* RDTSCP listed by CPUID */
	uint64_t tsc0;          /* calibration point: TSC ... */
	uint64_t ns0;           /* ... and CLOCK_MONOTONIC at that moment */
	uint64_t mult;          /* ns = ns0 + (tsc - tsc0) * mult >> CLK_SHIFT */
};
#define CLK_SHIFT 32

extern struct clk_state clk_state;

/* CLOCK_MONOTONIC in ns, whatever the harness clock is. */
static inline uint64_t clk_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#if defined(__x86_64__)
static inline uint64_t clk_tsc_read(bool rdtscp)
{
	uint32_t lo, hi, aux;

	if (rdtscp)
		__asm__ __volatile__("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux) :: "memory");
	else
		__asm__ __volatile__("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return (uint64_t)hi << 32 | lo;
}
#else
static inline uint64_t clk_tsc_read(bool rdtscp)
{
	(void)rdtscp;
	return 0;
}
#endif

/* The harness clock, in ns (an arbitrary but shared origin). */
static inline uint64_t clk_now_ns(void)
{
	if (clk_state.tsc) {
		uint64_t d = clk_tsc_read(clk_state.rdtscp) - clk_state.tsc0;

		return clk_state.ns0 + (uint64_t)(((unsigned __int128)d * clk_state.mult) >> CLK_SHIFT);
	}
	return clk_mono_ns();
}

/* What clk_init() decided and why (for the context and the tests). */
struct clk_choice {
	bool tsc;
	bool invariant;         /* CPUID 80000007H:EDX[8] */
	bool rdtscp;            /* CPUID 80000001H:EDX[27] */
	bool kernel_tsc;        /* the kernel's clocksource is tsc */
	bool cross_cpu_ok;      /* the cross-CPU check ran and passed */
	double tsc_mhz;         /* calibrated against CLOCK_MONOTONIC */
	char why[400];          /* one line: the source and the reason */
};

/*
 * Choose the clock (see the top of this file) and calibrate it: ~20 ms,
 * more with the cross-CPU check.  Call once, before any fork and before
 * any timestamp is taken.  IPCLAB_CLOCK=monotonic forces CLOCK_MONOTONIC,
 * IPCLAB_CLOCK=tsc skips the trust checks (not the CPUID ones).  Always
 * succeeds (falls back); out may be NULL.
 */
void clk_init(struct clk_choice *out);

/* The one-line description of the clock in use ("tsc (...)" or
 * "CLOCK_MONOTONIC (...)"), valid after clk_init(). */
const char *clk_describe(void);

/* A check of the TSC against CLOCK_MONOTONIC since calibration. */
struct clk_drift {
	double elapsed_s;       /* since calibration */
	double offset_ns;       /* TSC-derived minus CLOCK_MONOTONIC */
	double ppm;             /* offset / elapsed */
	bool drifted;           /* beyond CLK_DRIFT_PPM and CLK_DRIFT_MIN_NS */
};

/* Compare now.  0, or -ENOTSUP when the clock is CLOCK_MONOTONIC (nothing
 * to drift; *out zeroed). */
int clk_check(struct clk_drift *out);

/* Cross-CPU monotonicity of the TSC between CPU a and CPU b: rounds of a
 * stamp handed from one to the other and back.  1 monotonic, 0 not, or
 * -errno (a CPU cannot be used, threads cannot start). */
int clk_tsc_cross_check(int a, int b, unsigned rounds);

struct clk_info {
	const char *name;       /* CLK_NAME or CLK_NAME_TSC */
	double read_cost_ns;    /* median cost of one clk_now_ns() */
	uint64_t resolution_ns; /* clock_getres(), and the smallest step seen */
	uint64_t min_step_ns;   /* smallest non-zero difference observed */
	char source[64];        /* /sys/.../clocksource0/current_clocksource */
};

/* Measure read cost and resolution (a few ms).  0 or -errno. */
int clk_calibrate(struct clk_info *out);

/* Median cost of one clock_gettime(CLOCK_MONOTONIC), and of one TSC read
 * as the harness fences it (0 where there is no TSC), in ns. */
double clk_mono_cost_ns(void);
double clk_tsc_cost_ns(void);

/* Sleep for ns nanoseconds (restarts after signals). */
void clk_sleep_ns(uint64_t ns);

#endif
