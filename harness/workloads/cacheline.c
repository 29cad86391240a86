/* cacheline.c - the floor: two workers bounce one cache line through shared
 * memory; a sample is one round trip, timed exactly like pingpong's.  It is
 * the least round trip that moves 64 bytes between the same two CPUs, the
 * bar every shared-memory channel is read against (DESIGN.md).  No
 * mechanism: it is listed with the micro benchmarks as
 * micro/cacheline/spin/PLACEMENT/size:64/pool:1. */
#include <errno.h>
#include <stdio.h>
#include <sys/mman.h>

#include "atomics.h"
#include "clock.h"
#include "workload.h"

struct floor_shared {
	_Alignas(IPC_CACHELINE) _Atomic uint64_t line;
};

static const void *yardstick_member(unsigned i)
{
	(void)i;
	return NULL; /* no subjects: the workload is its own yardstick */
}

/* The yardsticks: no mechanism, costs of the harness itself and hardware
 * floors (listed with the micro cases). */
const struct family family_yardstick = {
	.name = "yardstick",
	.summary = "costs of the harness itself and hardware floors (micro cases)",
	.member = yardstick_member,
};

static unsigned floor_procs(unsigned pool)
{
	(void)pool;
	return 2;
}

static uint64_t floor_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return 2 * n; /* the line went there and back */
}

static int floor_prepare(struct case_run *r, char *why)
{
	struct floor_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (sh == MAP_FAILED) {
		return case_why(why, -ENOMEM, "mmap of the shared cache line");
	}
	r->fam = sh;
	return 0;
}

static void floor_destroy(struct case_run *r)
{
	munmap(r->fam, sizeof(struct floor_shared));
	r->fam = NULL;
}

static bool floor_talks(const struct case_run *r, unsigned from, unsigned to)
{
	(void)r;
	return from != to;
}

static int floor_round(struct pool_worker *w, const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct case_run *r = w->arg;
	struct floor_shared *sh = r->fam;

	if (w->id == 0)
		ipc_store_relaxed(&sh->line, 0);
	pool_sync(w); /* the line is reset before anyone looks at it */
	for (uint64_t k = 0; k < cmd->n; k++) {
		uint64_t mine = 2 * k + (w->id == 0 ? 1 : 2), theirs = mine - 1;

		if (w->id == 0) {
			uint64_t t0 = clk_now_ns();

			ipc_store_release(&sh->line, mine);
			while (ipc_load_acquire(&sh->line) != mine + 1)
				cpu_relax();
			hist_record(&out->lat, clk_now_ns() - t0);
		} else {
			while (ipc_load_acquire(&sh->line) != theirs)
				cpu_relax();
			ipc_store_release(&sh->line, mine);
		}
		out->received++;
		out->bytes += IPC_CACHELINE;
		wl_tick(out, k + 1);
	}
	return 0;
}

static const struct wl_engine floor_engine = {
	.prepare = floor_prepare,
	.destroy = floor_destroy,
	.talks = floor_talks,
	.round = floor_round,
};

const struct workload wl_cacheline = {
	.name = "cacheline",
	.summary = "the floor: two workers bounce one cache line through shared memory",
	.family = &family_yardstick,
	.latency = WL_LAT_ROUND_TRIP,
	.pool_axis = false,
	.procs_text = "2",
	.procs = floor_procs,
	.roles = "0: writes the line and times its return; 1: answers",
	.delivered = floor_delivered,
	.sizes = WL_SIZES_FIXED,
	.fixed_size = IPC_CACHELINE,
	.listed_under = "micro",
	.fixed_wait = IPC_WAIT_SPIN,
	.engine = &floor_engine,
};
