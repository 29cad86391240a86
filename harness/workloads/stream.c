/* stream.c - one sender, one receiver, flat out; one-way latency from the
 * send timestamp carried in the message (so it includes time queued).
 * Channel: ch0 0 -> 1. */
#include "channel.h"

static unsigned stream_procs(unsigned pool)
{
	(void)pool;
	return 2;
}

static uint64_t stream_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n;
}

static unsigned stream_plan(struct chan_plan *p, unsigned nprocs, unsigned pool, bool per_worker)
{
	(void)nprocs, (void)pool, (void)per_worker;
	p[0] = (struct chan_plan){ .role = CHAN_SEND, .send_ch = 0, .send_nch = 1, .recv_ch = -1, .nupstream = 1 };
	p[1] = (struct chan_plan){ .role = CHAN_RECV, .send_ch = -1, .recv_ch = 0, .nupstream = 1 };
	return 1;
}

/* The quick profile's share of open-loop runs (64 B, loads 0.1, 0.5, 0.9). */
static const char *const quick_load_subjects[] = { "pipe", "shmring", NULL };

static const struct chan_graph stream_graph = {
	.plan = stream_plan,
};

const struct workload wl_stream = {
	.name = "stream",
	.summary = "one sender streams flat out to one receiver",
	.family = &family_channel,
	.latency = WL_LAT_QUEUEING,
	.pool_axis = false,
	.procs_text = "2",
	.procs = stream_procs,
	.roles = "0: sends; 1: receives, checks and times each message",
	.delivered = stream_delivered,
	.sizes = WL_SIZES_PAIR,
	.engine = &channel_engine,
	.graph = &stream_graph,
	.load_axis = true,
	.quick_load_subjects = quick_load_subjects,
};
