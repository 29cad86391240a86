/* fanin.c - N producers, one consumer (a Queue with many putters); the
 * round's n messages are shared among the producers.  Shared ch0: 1..N -> 0. */
#include "channel.h"

static unsigned fanin_procs(unsigned pool)
{
	return pool + 1;
}

static uint64_t fanin_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n;
}

static unsigned fanin_plan(struct chan_plan *p, unsigned nprocs, unsigned pool, bool per_worker)
{
	(void)nprocs, (void)per_worker;
	p[0] = (struct chan_plan){ .role = CHAN_RECV, .send_ch = -1, .recv_ch = 0, .nupstream = pool };
	for (unsigned i = 0; i < pool; i++)
		p[i + 1] = (struct chan_plan){ .role = CHAN_SEND, .send_ch = 0, .send_nch = 1, .recv_ch = -1,
					       .sender_id = i, .group = i, .nupstream = 1, .quota = CHAN_SHARE };
	return 1;
}

static const struct chan_graph fanin_graph = {
	.plan = fanin_plan,
	.fits = chan_fits_shared_send,
};

const struct workload wl_fanin = {
	.name = "fanin",
	.summary = "N producers feed one consumer over one shared channel",
	.family = &family_channel,
	.latency = WL_LAT_ONE_WAY,
	.pool_axis = true,
	.procs_text = "N+1",
	.procs = fanin_procs,
	.roles = "0: consumes, checks and times; 1..N: produce their share",
	.delivered = fanin_delivered,
	.sizes = WL_SIZES_POOL,
	.engine = &channel_engine,
	.graph = &fanin_graph,
	.load_axis = true,
};
