/* load.h - open-loop load: a case's senders follow a schedule of intended
 * send times at an offered rate instead of sending flat out.
 *
 * The offered rate is either a fraction of the case's own saturation
 * throughput (load:F; measured by load_arm() with the case's own processes
 * and channels, closed loop, right before its first open-loop round) or an
 * absolute rate (rate:N messages per second).  Message k of a sender is due
 * at  origin + phase + k x interval  (its sequence number gives it, so the
 * message header does not grow): a receiver times the intended-time
 * latency (receipt minus due time: what a user waits, coordinated omission
 * included) and the service latency (receipt minus the actual send).
 * Senders pace on the clock: a wait under 200 us spins; a longer one
 * sleeps with the timer slack lowered to 1 ns (PR_SET_TIMERSLACK: the
 * default 50 us would overshoot) until 100 us before the due time and
 * spins from there (a sleeping sender keeps its CPU share on a busy
 * machine; a spinning one loses it to the receiver).  A sender that reaches a message
 * after its due time (the previous send blocked or ran long) sends at once
 * and counts it late; it never skips a message.
 */
#ifndef IPCLAB_LOAD_H
#define IPCLAB_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The highest rate accepted: one message per nanosecond. */
#define LOAD_MAX_RATE 1000000000ull
/* Fractions of saturation are taken in (0, LOAD_MAX_FRACTION]. */
#define LOAD_MAX_FRACTION 1.0

/* What a case offers: both 0 is closed loop (flat out, the default). */
struct load_spec {
	double fraction;  /* of the case's measured saturation, (0, 1] */
	uint64_t rate;    /* messages per second, all senders together */
};

static inline bool load_open(const struct load_spec *l)
{
	return l->fraction > 0 || l->rate > 0;
}

/* One --load item: a fraction written with a decimal point (0.1, 0.5,
 * 1.0), a whole rate in messages per second with an optional decimal
 * suffix k, M or G (20000, 20k, 1.5M: k is 1000), or "closed" (flat out).
 * 0, or -EINVAL. */
int load_parse(const char *s, struct load_spec *out);

/* The case-name segment: "/load:0.5", "/rate:20000", or "" when closed.
 * Returns what snprintf returns. */
int load_name(const struct load_spec *l, char *buf, size_t len);

/* The schedule a worker follows in one round (from the round's command). */
struct load_sched {
	uint64_t origin_ns;  /* the round's time 0 (after every worker woke) */
	double interval_ns;  /* between two messages of one sender */
	double phase_ns;     /* this sender's offset (several share a channel) */
};

/* Due time of message k of a sender with this phase. */
static inline uint64_t load_due(const struct load_sched *s, uint64_t k, double phase_ns)
{
	return s->origin_ns + (uint64_t)(phase_ns + (double)k * s->interval_ns);
}

/* Sender, once per round before pacing: timer slack 1 ns for this
 * thread (best effort). */
void load_pacing_begin(void);

/* Sender: wait for message k's due time (see above).  Returns
 * true when it was already past due (a late send), false when it waited. */
bool load_wait(const struct load_sched *s, uint64_t k);

/* This thread's scheduler statistics so far (/proc/thread-self/schedstat):
 * time on a CPU, and time runnable but waiting for one (run_delay: the
 * machine's other work ahead of it).  0, or -errno when they cannot be
 * read (a kernel without CONFIG_SCHED_INFO). */
int load_thread_sched(uint64_t *run_ns, uint64_t *wait_ns);

struct case_run;
struct case_round;
struct wl_cmd;

/* Parent, before each round of a case: the schedule into cmd (closed loop
 * when the case has no load, or while its saturation is being measured).
 * A load:F case first measures its saturation: closed-loop rounds of its
 * own, from LOAD_SAT_FIRST messages doubling until one lasts
 * LOAD_SAT_MIN_NS; the last one's messages per second.  0, or the -errno
 * of a failed round with why. */
int load_arm(struct case_run *r, struct wl_cmd *cmd, char *why);

/* Parent, after an open-loop round: its counters into out
 * (offered_msgs_per_s, saturation_msgs_per_s, late_sends, intended_* and
 * service_*, sender_cpu_wait_share). */
void load_counters(const struct case_run *r, struct case_round *out);

#endif
