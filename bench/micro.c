/* micro.c - the micro benchmarks (--scenario=micro) and the physical floor.
 *
 *   micro/IMPL/WAIT/none/size:N/pool:1   one send + one receive of N bytes,
 *                                        both ends in this one process
 *   micro/clock/none/none/size:0/pool:1  one clk_now_ns()
 *   micro/hist/none/none/size:0/pool:1   one hist_record()
 *   micro/harness/none/none/size:0/pool:1  the harness's cost per message:
 *                                        one timestamp + one hist_record()
 *   micro/memcpy/none/none/size:N/pool:1  memcpy of N bytes between two
 *                                        buffers (this machine's copy bandwidth:
 *                                        the bar for shmring's large messages)
 *   micro/cacheline/spin/PLACEMENT/size:64/pool:1  the floor: two processes
 *                                        bounce one cache line through shared
 *                                        memory; a sample is one round trip,
 *                                        timed exactly like pingpong's
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "clock.h"
#include "gbench.h"
#include "hist.h"
#include "pool.h"
#include "result.h"
#include "sig.h"
#include "suite.h"

enum micro_kind { MK_IPC, MK_CLOCK, MK_HIST, MK_HARNESS, MK_CACHELINE, MK_MEMCPY };

#define MICRO_DEFAULT_SIZE 64
#define MEMCPY_DEFAULT_SIZE 65536 /* shmring's 64 KiB stream target */
#define MICRO_WARMUP 1000
#define CACHELINE 64
#define FLOOR_TIMEOUT_MS 10000u

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
		c->spec.kind = SC_PINGPONG;
		c->spec.ops = ops;
		c->spec.wait = w;
		c->spec.size = size;
		c->spec.pool = 1;
		c->spec.placement = pl;
	}
	++*n;
	return 0;
}

/* The placements of the floor probe: the selection's, bound ones only. */
static const struct placement floor_compact = { .kind = PLACE_COMPACT };

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
			op = sel->impls[i];
		} else if (!(op = ipc_registry[i]))
			break;
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
	/* The floor, on the selection's --cpus if given, else compact. */
	if (sel->have_cpus)
		add(cases, max, &n, MK_CACHELINE, "micro/cacheline/spin/cpus/size:64/pool:1",
		    NULL, IPC_WAIT_SPIN, CACHELINE, &sel->cpus);
	else
		add(cases, max, &n, MK_CACHELINE, "micro/cacheline/spin/compact/size:64/pool:1",
		    NULL, IPC_WAIT_SPIN, CACHELINE, &floor_compact);
	return (int)n;
}

/* Report the counters every case carries. */
static void put_counter(const char *name, double value, void *st)
{
	gb_counter(st, name, value, GB_COUNTER_DEFAULT);
}

void suite_report(struct gb_state *st, const struct result *res)
{
	result_foreach(res, put_counter, st);
	if (res->label[0])
		gb_set_label(st, res->label);
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
	const struct ipc_ops *ops = c->spec.ops;
	struct ipc_params p = { .max_msg = c->spec.size, .senders = 1, .receivers = 1,
				.wait = c->spec.wait, .timeout_ms = FLOOR_TIMEOUT_MS };
	char err[IPC_ERRLEN] = "", msg[SUITE_ERRLEN];
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
		snprintf(msg, sizeof(msg), "skipped: size %zu exceeds %s's largest message on this machine (%zu bytes)",
			 size, ops->name, caps.max_msg);
		goto out_skip;
	}
	if (rc == 0 && !(caps.waits & IPC_WAIT_BIT(c->spec.wait))) {
		snprintf(msg, sizeof(msg), "skipped: %s has no %s wait", ops->name, ipc_wait_name(c->spec.wait));
		goto out_skip;
	}
	if (rc == 0)
		rc = ops->create(&p, &chan, err);
	if (rc == 0 && (rc = ops->attach(chan, IPC_SEND, &tx, err)) == 0)
		rc = ops->attach(chan, IPC_RECV, &rx, err);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s%s: %s", rc == -EMSGSIZE || rc == -ENOTSUP ? "skipped: " : "failed: ",
			 ops->name, err[0] ? err : strerror(-rc));
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
		snprintf(msg, sizeof(msg), "failed: %s: send/receive: %s", ops->name, strerror(-rc));
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

/* ---- the cache-line floor ---------------------------------------------- */

struct floor_shared {
	_Alignas(CACHELINE) _Atomic uint64_t line;
};

struct floor_slot {
	uint64_t t_start, t_end;
	struct hist lat;
};

static int floor_round(struct pool_worker *w)
{
	struct floor_shared *sh = w->arg;
	const uint64_t *n = w->cmd;
	struct floor_slot *out = w->slot;

	hist_init(&out->lat);
	if (w->id == 0)
		atomic_store_explicit(&sh->line, 0, memory_order_relaxed);
	pool_sync(w);
	out->t_start = clk_now_ns();
	for (uint64_t k = 0; k < *n; k++) {
		uint64_t mine = 2 * k + (w->id == 0 ? 1 : 2), theirs = mine - 1;

		if (w->id == 0) {
			uint64_t t0 = clk_now_ns();

			atomic_store_explicit(&sh->line, mine, memory_order_release);
			while (atomic_load_explicit(&sh->line, memory_order_acquire) != mine + 1)
				__builtin_ia32_pause();
			hist_record(&out->lat, clk_now_ns() - t0);
		} else {
			while (atomic_load_explicit(&sh->line, memory_order_acquire) != theirs)
				__builtin_ia32_pause();
			atomic_store_explicit(&sh->line, mine, memory_order_release);
		}
	}
	out->t_end = clk_now_ns();
	return 0;
}

static void run_cacheline(struct gb_state *st, struct suite_case *c, const struct topo *topo)
{
	struct floor_shared *sh;
	struct pool *pool = NULL;
	int cpus[2];
	bool oversub = false;
	char err[TOPO_ERRLEN] = "", reason[POOL_ERRLEN] = "", msg[SUITE_ERRLEN];
	uint64_t n = gb_max_iterations(st);
	int rc;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		gb_skip_with_error(st, "failed: mmap of the shared cache line");
		return;
	}
	rc = topo_place(topo, c->spec.placement, 2, cpus, &oversub, err);
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s%s", rc == -ENOTSUP ? "skipped: " : "failed: ", err);
		gb_skip_with_error(st, msg);
		munmap(sh, sizeof(*sh));
		return;
	}
	struct pool_cfg cfg = {
		.nworkers = 2, .cpus = cpus, .topo = topo,
		.slot_size = sizeof(struct floor_slot), .cmd_size = sizeof(uint64_t),
		.round = floor_round, .arg = sh,
	};
	rc = pool_start(&pool, &cfg, reason);
	if (rc == 0) {
		*(uint64_t *)pool_cmd(pool) = MICRO_WARMUP;
		rc = pool_round(pool, FLOOR_TIMEOUT_MS, reason);
	}
	if (rc == 0) {
		*(uint64_t *)pool_cmd(pool) = n;
		rc = pool_round(pool, FLOOR_TIMEOUT_MS + (unsigned)(n / 1000), reason);
	}
	if (rc < 0) {
		snprintf(msg, sizeof(msg), "%s: %s", rc == -EINTR ? "interrupted" : "failed", reason);
		gb_skip_with_error(st, msg);
	} else {
		const struct floor_slot *s0 = pool_slot(pool, 0);
		double secs = (double)(s0->t_end - s0->t_start) / 1e9;
		char label[128];

		finish(st, n, s0->t_start, s0->t_end);
		report_hist(st, &s0->lat, 2 * n, 2 * n * CACHELINE, secs, oversub, 2);
		snprintf(label, sizeof(label), "cpus=%d,%d class=%s", pool_worker_ran_on(pool, 0),
			 pool_worker_ran_on(pool, 1), topo_pair_class(topo, cpus[0], cpus[1]));
		gb_set_label(st, label);
	}
	if (pool)
		pool_stop(pool, FLOOR_TIMEOUT_MS, reason);
	munmap(sh, sizeof(*sh));
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
	case MK_CACHELINE:
		run_cacheline(st, c, c->spec.topo);
		break;
	case MK_MEMCPY:
		run_memcpy(st, c, h);
		break;
	}
	(void)sink;
	free(h);
}
