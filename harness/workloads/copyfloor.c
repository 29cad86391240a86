/* copyfloor.c - the copy floor for large messages: one worker copies each
 * message from its private buffer into a slot of shared memory, the other
 * copies it out into its own private buffer, so every byte is written by
 * one CPU and read by the other, as in any shared-memory channel, with
 * nothing else (no header, no index check, no wait strategy).  Slots as a
 * shmring of the same message size has records (COPYFLOOR_SLOTS), a
 * sample is one message's send stamp to its receipt (queueing delay), and
 * bytes/s is the bar for shmring's stream at that size.  Listed with the
 * micro benchmarks as micro/copyfloor/spin/PLACEMENT/size:65536/pool:1. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "atomics.h"
#include "clock.h"
#include "workload.h"

extern const struct family family_yardstick; /* cacheline.c: the micro cases' family */

/* The size the floor is measured at: shmring's 64 KiB stream target. */
#define COPYFLOOR_SIZE (64u << 10)
/* Messages in flight: shmring's default ring holds 8 largest records. */
#define COPYFLOOR_SLOTS 8u
/* Waiting as shmring's spin does: after COPYFLOOR_NAP_AFTER_NS without
 * progress the other side is not running (a loaded machine), and further
 * spinning only delays it, so nap COPYFLOOR_NAP_NS between polls; the
 * clock is read once per COPYFLOOR_SPINS_PER_CLOCK polls.  Without it the
 * floor fell to a tenth of shmring's 64 KiB stream on a loaded 2-CPU VM
 * (433 MB/s against 4.3 GB/s, same run). */
#define COPYFLOOR_NAP_AFTER_NS 200000ull
#define COPYFLOOR_NAP_NS 20000ull
#define COPYFLOOR_SPINS_PER_CLOCK 256u

struct copy_shared {
	_Alignas(IPC_CACHELINE) _Atomic uint64_t written; /* messages in slots */
	_Alignas(IPC_CACHELINE) _Atomic uint64_t read;    /* messages copied out */
	_Alignas(IPC_CACHELINE) unsigned char slots[];    /* SLOTS x size */
};

static size_t shared_len(size_t size)
{
	return sizeof(struct copy_shared) + (size_t)COPYFLOOR_SLOTS * size;
}

static unsigned copy_procs(unsigned pool)
{
	(void)pool;
	return 2;
}

static uint64_t copy_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n;
}

static int copy_prepare(struct case_run *r, char *why)
{
	struct copy_shared *sh;

	if (r->spec.size < sizeof(uint64_t)) {
		return case_why(why, -ENOTSUP, "copyfloor needs at least %zu bytes", sizeof(uint64_t));
	}
	sh = mmap(NULL, shared_len(r->spec.size), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return case_why(why, -ENOMEM, "mmap of %zu bytes of slots", shared_len(r->spec.size));
	r->fam = sh;
	return 0;
}

static void copy_destroy(struct case_run *r)
{
	if (r->fam)
		munmap(r->fam, shared_len(r->spec.size));
	r->fam = NULL;
}

static bool copy_talks(const struct case_run *r, unsigned from, unsigned to)
{
	(void)r;
	return from == 0 && to == 1;
}

/* Spin until *idx reaches want. */
static void copy_wait(_Atomic uint64_t *idx, uint64_t want)
{
	uint64_t start = 0;

	for (unsigned i = 1; ipc_load_acquire(idx) < want; i++) {
		cpu_relax();
		if (i % COPYFLOOR_SPINS_PER_CLOCK)
			continue;
		if (!start)
			start = clk_now_ns();
		else if (clk_now_ns() - start >= COPYFLOOR_NAP_AFTER_NS)
			clk_sleep_ns(COPYFLOOR_NAP_NS);
	}
}

static int copy_round(struct pool_worker *w, const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct case_run *r = w->arg;
	struct copy_shared *sh = r->fam;
	size_t size = r->spec.size;
	unsigned char *mine = malloc(size);

	if (!mine) {
		snprintf(w->err, POOL_ERRLEN, "out of memory (%zu bytes)", size);
		return -ENOMEM;
	}
	memset(mine, 0x5a, size);
	if (w->id == 0) {
		ipc_store_relaxed(&sh->written, 0);
		ipc_store_relaxed(&sh->read, 0);
	}
	pool_sync(w); /* the indices are reset before anyone looks at them */
	for (uint64_t k = 0; k < cmd->n; k++) {
		unsigned char *slot = sh->slots + (size_t)(k % COPYFLOOR_SLOTS) * size;

		if (w->id == 0) {
			uint64_t t = clk_now_ns();

			if (k >= COPYFLOOR_SLOTS) /* slot k % SLOTS read out */
				copy_wait(&sh->read, k - COPYFLOOR_SLOTS + 1);
			memcpy(mine, &t, sizeof(t)); /* the send stamp, like a message's */
			memcpy(slot, mine, size);
			ipc_store_release(&sh->written, k + 1);
		} else {
			uint64_t t;

			copy_wait(&sh->written, k + 1);
			memcpy(mine, slot, size);
			ipc_store_release(&sh->read, k + 1);
			memcpy(&t, mine, sizeof(t));
			hist_record(&out->lat, clk_now_ns() - t);
			out->received++;
			out->bytes += size;
		}
		wl_tick(out, k + 1);
	}
	free(mine);
	return 0;
}

static const struct wl_engine copy_engine = {
	.prepare = copy_prepare,
	.destroy = copy_destroy,
	.talks = copy_talks,
	.round = copy_round,
};

const struct workload wl_copyfloor = {
	.name = "copyfloor",
	.summary = "the copy floor: one worker copies 64 KiB messages into shared slots, the other copies them out",
	.family = &family_yardstick,
	.latency = WL_LAT_QUEUEING,
	.pool_axis = false,
	.procs_text = "2",
	.procs = copy_procs,
	.roles = "0: copies each message into a slot; 1: copies it out and times it",
	.delivered = copy_delivered,
	.sizes = WL_SIZES_FIXED,
	.fixed_size = COPYFLOOR_SIZE,
	.listed_under = "micro",
	.fixed_wait = IPC_WAIT_SPIN,
	.engine = &copy_engine,
};
