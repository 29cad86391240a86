/* channel.h - the channel family (impl/ipc.h tables) and its engine.
 *
 * A channel workload is a small graph of one-way channels and one role per
 * worker; the roles' loops live once in channel.c:
 *   INIT  sends message k, waits for it to come back, times the round trip
 *   ECHO  receives message k and sends it on (to its next hop)
 *   SEND  sends its quota of messages, each stamped with the send time
 *   RECV  receives and checks; one-way latency from the send timestamp
 * A workload file only declares its graph (struct chan_graph): who sends to
 * whom over which channel, and what each receiver expects.
 */
#ifndef IPCLAB_WORKLOAD_CHANNEL_H
#define IPCLAB_WORKLOAD_CHANNEL_H

#include "workload.h"

extern const struct family family_channel;
extern const struct wl_engine channel_engine;

enum chan_role { CHAN_INIT, CHAN_ECHO, CHAN_SEND, CHAN_RECV };

/* How many messages a sender sends, or a receiver expects, per round. */
enum chan_quota {
	CHAN_ALL = 0,    /* all n of the round */
	CHAN_SHARE,      /* its share of n over the pool, by its group */
	CHAN_UNTIL_STOP, /* receiver: until a stop message */
};

/* One worker's part in the case (decided in the parent before fork). */
struct chan_plan {
	enum chan_role role;
	int send_ch;         /* first channel it sends on, -1 none */
	unsigned send_nch;   /* channels it deals over, round-robin */
	int recv_ch;         /* channel it receives on, -1 none */
	unsigned sender_id;  /* its id among the senders of its channel */
	unsigned group;      /* index among its peers (its share of n) */
	unsigned nupstream;  /* receiver: senders that feed it */
	bool shared_recv;    /* receiver shares its channel with others */
	enum chan_quota quota;
	uint64_t seq_first;  /* receiver: first sequence due from each sender */
	uint64_t seq_stride; /* ... and the step between them (0 means 1) */
	unsigned stops;      /* sender: stop messages after its quota, one per
				channel it deals over (each consumer leaves once) */
};

struct chan_graph {
	/* Fill the plans of nprocs workers for pool size `pool`; return the
	 * number of channels (never more than nprocs). */
	unsigned (*plan)(struct chan_plan *p, unsigned nprocs, unsigned pool, bool per_worker);
	/* Optional: can this mechanism carry the graph?  0, or -ENOTSUP with
	 * a "skipped: " reason. */
	int (*fits)(const struct case_spec *sp, const struct ipc_caps *caps, char *why);
	/* Optional: give each receiver its own channel (the mechanism cannot
	 * share one among receivers at this size). */
	bool (*per_worker)(const struct case_spec *sp, const struct ipc_caps *caps);
	/* Receivers share what was sent: the parent checks that together they
	 * saw every sequence exactly once (sums of sequence numbers). */
	bool check_union;
};

/* Shared by graph files: a mechanism's words when several senders cannot
 * share one channel at this size. */
int chan_fits_shared_send(const struct case_spec *sp, const struct ipc_caps *caps, char *why);

#endif
