/* pairs.c - N independent sender/receiver pairs at once; the round's n
 * messages are shared among the pairs.  Channel i: 2i -> 2i+1. */
#include "channel.h"

static unsigned pairs_procs(unsigned pool)
{
	return 2 * pool;
}

static uint64_t pairs_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n;
}

static unsigned pairs_plan(struct chan_plan *p, unsigned nprocs, unsigned pool, bool per_worker)
{
	(void)per_worker;
	for (unsigned i = 0; i < nprocs / 2 && i < pool; i++) {
		p[2 * i] = (struct chan_plan){ .role = CHAN_SEND, .send_ch = (int)i, .send_nch = 1, .recv_ch = -1,
					       .group = i, .nupstream = 1, .quota = CHAN_SHARE };
		p[2 * i + 1] = (struct chan_plan){ .role = CHAN_RECV, .send_ch = -1, .recv_ch = (int)i,
						   .group = i, .nupstream = 1, .quota = CHAN_SHARE };
	}
	return pool;
}

static const struct chan_graph pairs_graph = {
	.plan = pairs_plan,
};

const struct workload wl_pairs = {
	.name = "pairs",
	.summary = "N independent sender/receiver pairs stream at once",
	.family = &family_channel,
	.latency = WL_LAT_ONE_WAY,
	.pool_axis = true,
	.procs_text = "2N",
	.procs = pairs_procs,
	.roles = "2i: sends its share; 2i+1: receives, checks and times it",
	.delivered = pairs_delivered,
	.sizes = WL_SIZES_POOL,
	.engine = &channel_engine,
	.graph = &pairs_graph,
	.load_axis = true,
};
