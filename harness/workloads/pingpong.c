/* pingpong.c - one pair; a sample is one round trip (worker 0 sends,
 * worker 1 echoes).  Channels: ch0 0 -> 1, ch1 1 -> 0. */
#include "channel.h"

static unsigned pingpong_procs(unsigned pool)
{
	(void)pool;
	return 2;
}

static uint64_t pingpong_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return 2 * n; /* there and back */
}

static unsigned pingpong_plan(struct chan_plan *p, unsigned nprocs, unsigned pool, bool per_worker)
{
	(void)nprocs, (void)pool, (void)per_worker;
	p[0].role = CHAN_INIT, p[0].send_ch = 0, p[0].send_nch = 1, p[0].recv_ch = 1;
	p[1].role = CHAN_ECHO, p[1].send_ch = 1, p[1].send_nch = 1, p[1].recv_ch = 0;
	return 2;
}

static const struct chan_graph pingpong_graph = {
	.plan = pingpong_plan,
};

const struct workload wl_pingpong = {
	.name = "pingpong",
	.summary = "one pair: worker 0 sends a message, worker 1 echoes it back",
	.family = &family_channel,
	.latency = WL_LAT_ROUND_TRIP,
	.pool_axis = false,
	.procs_text = "2",
	.procs = pingpong_procs,
	.roles = "0: sends and times the round trip; 1: echoes",
	.delivered = pingpong_delivered,
	.sizes = WL_SIZES_PAIR,
	.engine = &channel_engine,
	.graph = &pingpong_graph,
};
