/* scenario.h - the workloads, each written once against ipc_ops.
 *
 *   pingpong  one pair; a sample is one round trip (worker 0 sends, worker 1
 *             echoes).  Pool size is always 1.
 *   stream    one sender, one receiver; one-way latency from the send
 *             timestamp carried in the message.  Pool size is always 1.
 *   pairs     N independent sender/receiver pairs at once.
 *   fanout    one producer, N consumers: a worker pool's task queue (Python's
 *             Pool.apply_async over a Queue).  When the mechanism cannot share
 *             one channel among receivers, one channel per consumer, dealt
 *             round-robin (the result says so).
 *   fanin     N producers, one consumer (a Queue with many putters).
 *
 * A case is opened once (channels created, workers forked, placed, attached
 * and warmed up, all outside any timed region), then runs timed rounds of n
 * messages (n round trips for pingpong), then is closed.  Every message
 * carries a sequence number, its sender and a send timestamp; loss,
 * duplication, reordering or a wrong length fails the case with a reason.
 */
#ifndef IPCLAB_SCENARIO_H
#define IPCLAB_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "ipc.h"
#include "topo.h"

#define SCENARIO_ERRLEN 512
#define SCENARIO_LABELLEN 512
/* Every message starts with a 16-byte header: sequence and sender (8 bytes)
 * and the send timestamp (8 bytes).  Smaller messages cannot be checked. */
#define SCENARIO_MIN_SIZE 16

enum scenario_kind {
	SC_PINGPONG = 0,
	SC_STREAM,
	SC_PAIRS,
	SC_FANOUT,
	SC_FANIN,
	SC_COUNT
};

/* How much of each message the receiver checks (it always receives, i.e.
 * copies, every byte). */
enum verify_mode {
	VERIFY_SAMPLE = 0, /* length, sequence, sender, and a tail word stamped
			      with the sequence: catches loss, duplication,
			      reordering and truncation at no measurable cost */
	VERIFY_FULL = 1,   /* additionally every payload byte (a pattern that
			      depends on the sequence; sender and receiver pay
			      for it inside the timed region) */
};

const char *scenario_name(enum scenario_kind k);
int scenario_parse(const char *s, enum scenario_kind *out); /* 0 or -EINVAL */
/* Worker processes a case needs for pool size n (pingpong/stream: 2). */
unsigned scenario_procs(enum scenario_kind k, unsigned pool);
/* Is latency a round trip (pingpong) rather than one way? */
bool scenario_round_trip(enum scenario_kind k);

struct case_spec {
	enum scenario_kind kind;
	const struct ipc_ops *ops;
	enum ipc_wait wait;
	size_t size;                   /* bytes per message, header included */
	unsigned pool;                 /* 1 for pingpong and stream */
	const struct placement *placement;
	const struct topo *topo;
	enum verify_mode verify;
	unsigned depth;                /* channel depth; 0: mechanism default */
	unsigned timeout_ms;           /* channel timeout and watchdog floor */
};

/* What one round measured (merged over the pool). */
struct case_round {
	uint64_t n;                /* iterations: messages, or round trips */
	uint64_t delivered;        /* messages received and checked */
	uint64_t bytes;            /* payload bytes received and checked */
	uint64_t elapsed_ns;       /* first worker start .. last worker end */
	struct hist lat;           /* per-message samples, ns */
};

/* A case that is open: channels and a running pool. */
struct case_run;

/*
 * Open a case: check it against the mechanism's caps, place, create the
 * channels, fork and attach the workers, warm up.  Returns 0; -ENOTSUP when
 * the case cannot run on this mechanism or machine (why: "skipped: ..."
 * reason, the case is skipped, not failed); another -errno when it failed
 * (why says so).  On error nothing is left behind.
 */
int case_open(struct case_run **out, const struct case_spec *spec, char *why);

/* One timed round of n iterations.  0, or -errno with why; after an error
 * the case is dead (its pool killed) and only case_close() may follow.
 * -EINTR when the user interrupted (sig_pending()). */
int case_round(struct case_run *r, uint64_t n, struct case_round *out, char *why);

/* A warm-up round whose results are dropped. */
int case_warmup(struct case_run *r, uint64_t n, char *why);

/* The label: "cpus=0,1 class=same-package" (+ " fanout=per-worker"). */
const char *case_label(const struct case_run *r);
bool case_oversubscribed(const struct case_run *r);
bool case_per_worker_channels(const struct case_run *r);
unsigned case_procs(const struct case_run *r);

/* Stop the workers, reap them, destroy every channel.  0 or -errno with why
 * (why may be NULL) when a worker had to be killed. */
int case_close(struct case_run *r, char *why);

#endif
