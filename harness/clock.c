/* clock.c - what the harness knows about its clock: the cost of one
 * clk_now_ns(), its resolution, the smallest step it was seen to take, and
 * the kernel clocksource behind it. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

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
	out->name = CLK_NAME;
	read_source(out->source, sizeof(out->source));
	out->read_cost_ns = median_read_cost();
	out->min_step_ns = smallest_step();
	if (clock_getres(CLOCK_MONOTONIC, &res) == 0) {
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
	end = clk_now_ns();
	end = ns > UINT64_MAX - end ? UINT64_MAX : end + ns;
	until.tv_sec = (time_t)(end / NS_PER_S);
	until.tv_nsec = (long)(end % NS_PER_S);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) == EINTR)
		;
}
