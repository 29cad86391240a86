/* micro.c - the in-process micro benchmarks (--scenario=micro).
 *
 *   micro/IMPL/WAIT/none/size:N/pool:1   one send + one receive of N bytes,
 *                                        both ends in this one process
 *   micro/clock/none/none/size:0/pool:1  one clk_now_ns() (mean_ns), and
 *                                        the median cost of clock_gettime and
 *                                        of a fenced TSC read (counters)
 *   micro/hist/none/none/size:0/pool:1   one hist_record()
 *   micro/harness/none/none/size:0/pool:1  the harness's cost per message:
 *                                        one timestamp + one hist_record()
 *   micro/memcpy/none/none/size:N/pool:1  memcpy of N bytes between two
 *                                        buffers (this machine's copy bandwidth:
 *                                        the bar for shmring's large messages)
 *
 * The floor (micro/cacheline/...) is a registry workload listed under micro
 * (harness/workloads/cacheline.c); the counters every case carries are
 * reported by bench/report.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "clock.h"
#include "gbench.h"
#include "histout.h"
#include "hist.h"
#include "result.h"
#include "suite.h"

const char micro_summary[] = "in-process micro benchmarks: one send + one receive of a mechanism in one "
	"process, one clock read, one histogram record, the harness's cost per message, a memcpy";

enum micro_kind { MK_IPC, MK_CLOCK, MK_HIST, MK_HARNESS, MK_MEMCPY };

#define MICRO_DEFAULT_SIZE 64
#define MEMCPY_DEFAULT_SIZE 65536 /* shmring's 64 KiB stream target */
#define MICRO_WARMUP 1000
#define CACHELINE 64
#define MICRO_TIMEOUT_MS 10000u

static int add(struct suite_case *cases, unsigned max, unsigned *n, int kind,
	       const char *name, const struct ipc_ops *ops, enum ipc_wait w,
	       size_t size, const struct placement *pl)
{
	if (cases && *n < max) {
		struct suite_case *c = &cases[*n];

		memset(c, 0, sizeof(*c));
		c->micro = true;
		c->micro_kind = kind;
		snprintf(c->name, sizeof(c->name), "%s", name);
		if (ops)
			c->spec.subject = (struct subject){ .family = &family_channel, .table = ops };
		c->spec.wait = w;
		c->spec.size = size;
		c->spec.pool = 1;
		c->spec.placement = pl;
	}
	++*n;
	return 0;
}

int micro_expand(const struct selection *sel, struct suite_case *cases, unsigned max)
{
	const struct ipc_ops *op;
	unsigned n = 0;
	char name[160];
	enum ipc_wait waits[SUITE_MAX_ITEMS];
	unsigned nw = 0;

	if (sel->nwaits)
		memcpy(waits, sel->waits, sel->nwaits * sizeof(*waits)), nw = sel->nwaits;
	else
		waits[nw++] = IPC_WAIT_BLOCK, waits[nw++] = IPC_WAIT_SPIN;

	for (unsigned i = 0; ; i++) {
		if (sel->nimpls) {
			if (i >= sel->nimpls)
				break;
			if (sel->impls[i].family != &family_channel)
				continue; /* one send + one receive: channels only */
			op = sel->impls[i].table;
		} else if (!(op = ipc_registry[i]))
			break;
		if (sel->profile == PROFILE_QUICK && !sel->nscenarios && op->quick == IPC_QUICK_SMALL)
			continue; /* ipc.h: pingpong and stream only */
		for (unsigned w = 0; w < nw; w++) {
			unsigned nsz = sel->nsizes ? sel->nsizes : 1;

			for (unsigned z = 0; z < nsz; z++) {
				size_t size = sel->nsizes ? sel->sizes[z] : MICRO_DEFAULT_SIZE;

				snprintf(name, sizeof(name), "micro/%s/%s/none/size:%zu/pool:1",
					 op->name, ipc_wait_name(waits[w]), size);
				add(cases, max, &n, MK_IPC, name, op, waits[w], size, NULL);
			}
		}
	}
	add(cases, max, &n, MK_CLOCK, "micro/clock/none/none/size:0/pool:1", NULL, IPC_WAIT_SPIN, 0, NULL);
	add(cases, max, &n, MK_HIST, "micro/hist/none/none/size:0/pool:1", NULL, IPC_WAIT_SPIN, 0, NULL);
	add(cases, max, &n, MK_HARNESS, "micro/harness/none/none/size:0/pool:1", NULL, IPC_WAIT_SPIN, 0, NULL);
	{
		unsigned nsz = sel->nsizes ? sel->nsizes : 1;

		for (unsigned z = 0; z < nsz; z++) {
			size_t size = sel->nsizes ? sel->sizes[z] : MEMCPY_DEFAULT_SIZE;

			snprintf(name, sizeof(name), "micro/memcpy/none/none/size:%zu/pool:1", size);
			add(cases, max, &n, MK_MEMCPY, name, NULL, IPC_WAIT_SPIN, size, NULL);
		}
	}
	return (int)n;
}

/* The record of an in-process measurement (or the floor probe). */
static void report_hist(struct gb_state *st, const struct hist *h, uint64_t msgs,
			uint64_t bytes, double seconds, bool oversub, unsigned procs)
{
	struct result res;

	result_from_hist(&res, h, msgs, bytes, seconds);
	res.oversubscribed = oversub;
	res.procs = procs;
	suite_report(st, &res);
}

static void finish(struct gb_state *st, uint64_t n, uint64_t t0, uint64_t t1)
{
	double s = (double)(t1 - t0) / 1e9;

	while (gb_keep_running_batch(st, n))
		gb_set_iteration_time(st, s > 0 ? s : 1e-9);
}

/* One send and one receive in this process. */
static void run_ipc(struct gb_state *st, struct suite_case *c, struct hist *h)
{
	const struct ipc_ops *ops = c->spec.subject.table;
	struct ipc_params p = { .max_msg = c->spec.size, .senders = 1, .receivers = 1,
				.wait = c->spec.wait, .timeout_ms = MICRO_TIMEOUT_MS };
	char err[IPC_ERRLEN] = "", msg[SCENARIO_ERRLEN];
	void *chan = NULL, *tx = NULL, *rx = NULL;
	uint64_t n = gb_max_iterations(st), t0 = 0, t1 = 0;
	size_t size = c->spec.size;
	unsigned char *buf = malloc(size ? size : 1);
	struct ipc_caps caps;
	int rc;

	if (!buf) {
		gb_skip_with_error(st, "failed: out of memory");
		return;
	}
	memset(buf, 0xa5, size);
	rc = ops->caps(&caps, err);
	if (rc == 0 && size > caps.max_msg) {
		case_why(msg, -ENOTSUP, "size %zu exceeds %s's largest message on this machine (%zu bytes)",
			 size, ops->name, caps.max_msg);
		goto out_skip;
	}
	if (rc == 0 && !(caps.waits & IPC_WAIT_BIT(c->spec.wait))) {
		case_why(msg, -ENOTSUP, "%s has no %s wait", ops->name, ipc_wait_name(c->spec.wait));
		goto out_skip;
	}
	if (rc == 0)
		rc = ops->create(&p, &chan, err);
	if (rc == 0 && (rc = ops->attach(chan, IPC_SEND, &tx, err)) == 0)
		rc = ops->attach(chan, IPC_RECV, &rx, err);
	if (rc < 0) {
		case_why(msg, rc == -EMSGSIZE ? -ENOTSUP : rc, "%s: %s", ops->name, err[0] ? err : strerror(-rc));
		goto out_skip;
	}
	for (uint64_t k = 0; k < n + MICRO_WARMUP && rc >= 0; k++) {
		uint64_t a = clk_now_ns();
		ssize_t got;

		if (k == MICRO_WARMUP)
			t0 = a;
		rc = ops->send(tx, buf, size);
		if (rc == 0 && (got = ops->recv(rx, buf, size)) != (ssize_t)size)
			rc = got < 0 ? (int)got : -EPROTO;
		if (k >= MICRO_WARMUP)
			hist_record(h, clk_now_ns() - a);
	}
	t1 = clk_now_ns();
	if (rc < 0) {
		case_why(msg, rc == -ENOTSUP ? -EIO : rc, "%s: send/receive: %s", ops->name, strerror(-rc));
		goto out_skip;
	}
	finish(st, n, t0, t1);
	report_hist(st, h, n, n * size, (double)(t1 - t0) / 1e9, false, 0);
	goto out;

out_skip:
	gb_skip_with_error(st, msg);
out:
	if (rx)
		ops->detach(rx);
	if (tx)
		ops->detach(tx);
	if (chan)
		ops->destroy(chan);
	free(buf);
}

/* memcpy between two buffers, each copy timed like a message. */
static void run_memcpy(struct gb_state *st, struct suite_case *c, struct hist *h)
{
	size_t size = c->spec.size;
	unsigned char *a = aligned_alloc(CACHELINE, (size + CACHELINE - 1) / CACHELINE * CACHELINE);
	unsigned char *b = aligned_alloc(CACHELINE, (size + CACHELINE - 1) / CACHELINE * CACHELINE);
	uint64_t n = gb_max_iterations(st), t0, t1;

	if (!a || !b) {
		free(a);
		free(b);
		gb_skip_with_error(st, "failed: out of memory");
		return;
	}
	memset(a, 0x5a, size);
	memset(b, 0, size);
	for (unsigned k = 0; k < MICRO_WARMUP / 10; k++)
		memcpy(b, a, size);
	t0 = clk_now_ns();
	for (uint64_t k = 0; k < n; k++) {
		uint64_t s0 = clk_now_ns();

		a[k % size] = (unsigned char)k; /* a new message each time */
		memcpy(b, a, size);
		__asm__ volatile("" : : "r"(b) : "memory"); /* keep the copy */
		hist_record(h, clk_now_ns() - s0);
	}
	t1 = clk_now_ns();
	finish(st, n, t0, t1);
	report_hist(st, h, n, n * size, (double)(t1 - t0) / 1e9, false, 0);
	free(a);
	free(b);
}

void micro_run(struct gb_state *st, struct suite_case *c)
{
	struct hist *h = malloc(sizeof(*h));
	uint64_t n = gb_max_iterations(st), t0, t1;
	volatile uint64_t sink = 0;

	if (!h) {
		gb_skip_with_error(st, "failed: out of memory");
		return;
	}
	hist_init(h);
	switch (c->micro_kind) {
	case MK_IPC:
		run_ipc(st, c, h);
		break;
	case MK_CLOCK:
		t0 = clk_now_ns();
		for (uint64_t k = 0; k < n; k++)
			sink += clk_now_ns();
		t1 = clk_now_ns();
		finish(st, n, t0, t1);
		gb_counter(st, "mean_ns", (double)(t1 - t0) / (double)n, GB_COUNTER_DEFAULT);
		gb_counter(st, "samples", (double)n, GB_COUNTER_DEFAULT);
		/* Both candidate sources, whichever the harness uses. */
		gb_counter(st, "clock_gettime_ns", clk_mono_cost_ns(), GB_COUNTER_DEFAULT);
		if (clk_tsc_cost_ns() > 0)
			gb_counter(st, "tsc_read_ns", clk_tsc_cost_ns(), GB_COUNTER_DEFAULT);
		break;
	case MK_HIST:
		t0 = clk_now_ns();
		for (uint64_t k = 0; k < n; k++)
			hist_record(h, (k * 2654435761u) & 0xfffff); /* spread over buckets */
		t1 = clk_now_ns();
		finish(st, n, t0, t1);
		gb_counter(st, "mean_ns", (double)(t1 - t0) / (double)n, GB_COUNTER_DEFAULT);
		gb_counter(st, "samples", (double)h->count, GB_COUNTER_DEFAULT);
		break;
	case MK_HARNESS: {
		uint64_t prev = clk_now_ns();

		t0 = prev;
		for (uint64_t k = 0; k < n; k++) {
			uint64_t now = clk_now_ns();

			hist_record(h, now - prev);
			prev = now;
		}
		t1 = clk_now_ns();
		finish(st, n, t0, t1);
		gb_counter(st, "mean_ns", (double)(t1 - t0) / (double)n, GB_COUNTER_DEFAULT);
		gb_counter(st, "samples", (double)h->count, GB_COUNTER_DEFAULT);
		break;
	}
	case MK_MEMCPY:
		run_memcpy(st, c, h);
		break;
	}
	(void)sink;
	if (c->micro_kind == MK_IPC || c->micro_kind == MK_MEMCPY) /* their samples are latencies */
		suite_keep_hist(c, h);
	free(h);
}
