/* ring.c - N+1 processes pass one token around a ring of channels (lmbench's
 * lat_ctx without its overhead subtraction).  Worker 0 sends the token and
 * times its return; workers 1..N each receive it and send it on.  One
 * sample is one full lap; hop_p50_ns gives the median lap over its hops.
 * Channel i: i -> i+1, and channel N: N -> 0.  Pool 1 is a ring of two
 * (the same graph as pingpong).  Quick profile: pools 1 and 2. */
#include "channel.h"

static unsigned ring_procs(unsigned pool)
{
	return pool + 1;
}

static unsigned ring_hops(unsigned pool)
{
	return pool + 1;
}

static uint64_t ring_delivered(unsigned pool, uint64_t n)
{
	return (uint64_t)(pool + 1) * n; /* every hop of every lap */
}

static unsigned ring_plan(struct chan_plan *p, unsigned nprocs, unsigned pool, bool per_worker)
{
	(void)pool, (void)per_worker;
	for (unsigned i = 0; i < nprocs; i++)
		p[i] = (struct chan_plan){ .role = i ? CHAN_ECHO : CHAN_INIT, .send_ch = (int)i, .send_nch = 1,
					   .recv_ch = (int)((i + nprocs - 1) % nprocs), .nupstream = 1 };
	return nprocs;
}

static const struct chan_graph ring_graph = {
	.plan = ring_plan,
};

const struct workload wl_ring = {
	.name = "ring",
	.summary = "N+1 workers pass one token around a ring of channels",
	.family = &family_channel,
	.latency = WL_LAT_LAP,
	.pool_axis = true,
	.procs_text = "N+1",
	.procs = ring_procs,
	.hops = ring_hops,
	.roles = "0: sends the token and times each lap; 1..N: receive it and pass it on",
	.delivered = ring_delivered,
	.sizes = WL_SIZES_POOL,
	.quick_max_pool = 2, /* a ring of three; longer rings in the full profile */
	.engine = &channel_engine,
	.graph = &ring_graph,
};
