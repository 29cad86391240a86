/* clock.h - the one clock of the harness: CLOCK_MONOTONIC, shared by all
 * cores, so a timestamp taken in one process can be subtracted from one taken
 * in another (one-way latency). */
#ifndef IPCLAB_CLOCK_H
#define IPCLAB_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CLK_NAME "CLOCK_MONOTONIC"

static inline uint64_t clk_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct clk_info {
	const char *name;       /* CLK_NAME */
	double read_cost_ns;    /* median cost of one clk_now_ns() */
	uint64_t resolution_ns; /* clock_getres(), and the smallest step seen */
	uint64_t min_step_ns;   /* smallest non-zero difference observed */
	char source[64];        /* /sys/.../clocksource0/current_clocksource */
};

/* Measure read cost and resolution (a few ms).  0 or -errno. */
int clk_calibrate(struct clk_info *out);

/* Sleep for ns nanoseconds (restarts after signals). */
void clk_sleep_ns(uint64_t ns);

#endif
