/* fanout.c - one producer, N consumers: a worker pool's task queue (Python's
 * Pool.apply_async over a Queue).  Shared ch0: 0 -> 1..N; when the mechanism
 * cannot share one channel among receivers at this size, one channel per
 * consumer, dealt round-robin (consumer i then sees sequences i, i+N, ...;
 * the label says so).  Each round ends with one stop message per consumer. */
#include "channel.h"

static unsigned fanout_procs(unsigned pool)
{
	return pool + 1;
}

static uint64_t fanout_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n;
}

static bool fanout_per_worker(const struct case_spec *sp, const struct ipc_caps *caps)
{
	return sp->pool > 1 && caps->max_shared_recv < sp->size;
}

static unsigned fanout_plan(struct chan_plan *p, unsigned nprocs, unsigned pool, bool per_worker)
{
	unsigned nch = per_worker ? pool : 1;

	(void)nprocs;
	p[0] = (struct chan_plan){ .role = CHAN_SEND, .send_ch = 0, .send_nch = nch, .recv_ch = -1,
				   .nupstream = 1, .stops = pool };
	for (unsigned i = 0; i < pool; i++)
		p[i + 1] = (struct chan_plan){ .role = CHAN_RECV, .send_ch = -1,
					       .recv_ch = per_worker ? (int)i : 0, .group = i,
					       .nupstream = 1, .shared_recv = !per_worker && pool > 1,
					       .quota = CHAN_UNTIL_STOP,
					       .seq_first = per_worker ? i : 0,
					       .seq_stride = per_worker ? pool : 1 };
	return nch;
}

static const struct chan_graph fanout_graph = {
	.plan = fanout_plan,
	.per_worker = fanout_per_worker,
	.check_union = true,
};

const struct workload wl_fanout = {
	.name = "fanout",
	.summary = "one producer feeds N consumers: a worker pool's task queue",
	.family = &family_channel,
	.latency = WL_LAT_ONE_WAY,
	.pool_axis = true,
	.procs_text = "N+1",
	.procs = fanout_procs,
	.roles = "0: produces; 1..N: consume, check and time what they take",
	.delivered = fanout_delivered,
	.sizes = WL_SIZES_POOL,
	.engine = &channel_engine,
	.graph = &fanout_graph,
	.load_axis = true,
};
