/* channel.c - the channel family: its registry walk, and the engine that runs
 * any channel workload's graph (the role loops are written once, here).
 *
 * Every message carries a sequence number, its sender and a send timestamp;
 * loss, duplication, reordering or a wrong length fails the case with a
 * reason.
 *
 * Why this file is long: the four role loops and the parent side share the
 * message format and the channel plan; together they are the channel
 * family's engine (with its part of --workers=mpi: a channel created on
 * the rank that receives on it, exported, imported by the others).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "clock.h"
#include "load.h"

/* Sequence word: low 48 bits sequence, high 16 bits sender id. */
#define SEQ_BITS 48
#define SEQ_MASK ((UINT64_C(1) << SEQ_BITS) - 1)
#define SENDER_STOP 0xffffu          /* a stop message (end of a round) */
#define MAX_SENDERS (SENDER_STOP - 1)
#define TAIL_MAGIC UINT64_C(0x6970636c61625f74) /* "ipclab_t" */
/* The tail word is stamped only where it does not overlap the header. */
#define TAIL_MIN_SIZE (SCENARIO_MIN_SIZE + sizeof(uint64_t))

struct msg_hdr {
	uint64_t seq; /* sender << SEQ_BITS | sequence */
	uint64_t t_send;
};

/* The parent's state of an open channel case (case_run.fam). */
struct chan_state {
	const struct ipc_ops *ops;
	const struct chan_graph *graph;
	struct ipc_caps caps;
	unsigned nch;
	void **chans;
	struct chan_plan *plans;
};

/* A worker's private state after attach. */
struct wstate {
	void **send_ends;
	void *recv_end;
	uint8_t *buf;
	uint64_t *next_seq;     /* receiver: next sequence expected per sender */
	uint64_t last_seq;      /* shared receiver: last sequence seen */
	bool seen_any;
	/* Open loop (load.h): senders in the case, senders on this worker's
	 * channel (a sender's phase), and the round's schedule. */
	unsigned load_senders, load_chan_senders;
	struct load_sched sched;
};

/* ---- the family -------------------------------------------------------- */

static const void *chan_member(unsigned i)
{
	const struct ipc_ops *op;
	unsigned k = 0;

	ipc_for_each(op)
		if (k++ == i)
			return op;
	return NULL;
}

static const char *chan_member_name(const void *t)
{
	return ((const struct ipc_ops *)t)->name;
}

static const char *chan_member_summary(const void *t)
{
	return ((const struct ipc_ops *)t)->summary;
}

static unsigned chan_member_waits(const void *t)
{
	struct ipc_caps caps;
	char err[IPC_ERRLEN];

	return ((const struct ipc_ops *)t)->caps(&caps, err) == 0 ? caps.waits : 0;
}

static bool chan_member_yields(const void *t)
{
	return ((const struct ipc_ops *)t)->yields;
}

const struct family family_channel = {
	.name = "channel",
	.summary = "move whole messages between processes (impl/ipc.h: pipe, sockets, mqueue, shared memory, ...)",
	.member = chan_member,
	.member_name = chan_member_name,
	.member_summary = chan_member_summary,
	.member_waits = chan_member_waits,
	.member_yields = chan_member_yields,
};

/* i-th share of n split over parts: sizes differ by at most one. */
static uint64_t share(uint64_t n, unsigned parts, unsigned i)
{
	return n / parts + (i < n % parts ? 1 : 0);
}

static uint64_t quota(const struct case_run *r, const struct chan_plan *pl, uint64_t n)
{
	return pl->quota == CHAN_SHARE ? share(n, r->spec.pool, pl->group) : n;
}

/* ---- message contents ---------------------------------------------------- */

static inline uint8_t pattern_byte(uint64_t seq, size_t i)
{
	return (uint8_t)(seq * 131u + i * 7u + 1u);
}

static void stamp(uint8_t *buf, size_t size, uint64_t seqword, enum verify_mode v)
{
	struct msg_hdr *h = (struct msg_hdr *)buf;

	h->seq = seqword;
	if (v == VERIFY_FULL) {
		size_t end = size >= TAIL_MIN_SIZE ? size - sizeof(uint64_t) : size;

		for (size_t i = SCENARIO_MIN_SIZE; i < end; i++)
			buf[i] = pattern_byte(seqword, i);
	}
	if (size >= TAIL_MIN_SIZE) {
		uint64_t tail = seqword ^ TAIL_MAGIC;
		memcpy(buf + size - sizeof(tail), &tail, sizeof(tail));
	}
}

/* 0, or -EPROTO with why, when the body does not match its sequence word. */
static int check_body(const uint8_t *buf, size_t size, uint64_t seqword,
		      enum verify_mode v, char *why)
{
	if (size >= TAIL_MIN_SIZE) {
		uint64_t tail;

		memcpy(&tail, buf + size - sizeof(tail), sizeof(tail));
		if (tail != (seqword ^ TAIL_MAGIC)) {
			snprintf(why, POOL_ERRLEN, "message %" PRIu64 " from sender %u: tail word corrupt (truncated or mixed message)",
				 seqword & SEQ_MASK, (unsigned)(seqword >> SEQ_BITS));
			return -EPROTO;
		}
	}
	if (v == VERIFY_FULL) {
		size_t end = size >= TAIL_MIN_SIZE ? size - sizeof(uint64_t) : size;

		for (size_t i = SCENARIO_MIN_SIZE; i < end; i++)
			if (buf[i] != pattern_byte(seqword, i)) {
				snprintf(why, POOL_ERRLEN, "message %" PRIu64 ": payload byte %zu is 0x%02x, expected 0x%02x",
					 seqword & SEQ_MASK, i, buf[i], pattern_byte(seqword, i));
				return -EPROTO;
			}
	}
	return 0;
}

/* ---- worker side ---------------------------------------------------------- */

static int fail(struct pool_worker *w, int rc, const char *what)
{
	snprintf(w->err, POOL_ERRLEN, "%s: %s", what, strerror(-rc));
	return rc;
}

static int chan_setup(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	const struct chan_state *cs = r->fam;
	const struct chan_plan *pl = &cs->plans[w->id];
	const struct ipc_ops *ops = cs->ops;
	struct wstate *s = calloc(1, sizeof(*s));
	char err[IPC_ERRLEN] = "";
	int rc = -ENOMEM;

	if (!s)
		goto fail_nomem;
	s->buf = aligned_alloc(64, (r->spec.size + 63) / 64 * 64);
	s->send_ends = calloc(pl->send_nch ? pl->send_nch : 1, sizeof(void *));
	s->next_seq = calloc(pl->nupstream ? pl->nupstream : 1, sizeof(uint64_t));
	w->priv = s;
	if (!s->buf || !s->send_ends || !s->next_seq)
		goto fail_nomem;
	memset(s->buf, 0, r->spec.size);
	for (unsigned i = 0; i < r->nprocs; i++)
		if (cs->plans[i].role == CHAN_SEND) {
			s->load_senders++;
			s->load_chan_senders += pl->role == CHAN_SEND && cs->plans[i].send_ch == pl->send_ch;
		}
	if (pl->role == CHAN_RECV)
		s->load_chan_senders = pl->nupstream;

	/* Ranks (--workers=mpi) attach every send end first: a receive end
	 * may wait for its sender to connect (tcp accepts). */
	for (unsigned k = 0; k < (r->spec.workers == POOL_MPI ? 2u : 1u); k++)
	for (unsigned c = 0; c < cs->nch; c++) {
		bool sends = pl->send_ch >= 0 && c >= (unsigned)pl->send_ch &&
			     c < (unsigned)pl->send_ch + pl->send_nch;
		bool recvs = pl->recv_ch >= 0 && c == (unsigned)pl->recv_ch;

		if (r->spec.workers == POOL_MPI && (k == 0 ? !sends : sends))
			continue;
		if (r->spec.workers == POOL_MPI && !sends && !recvs)
			continue; /* never imported: nothing to forget */
		if (!cs->chans[c]) { /* ranks: a line missing from the table */
			snprintf(w->err, POOL_ERRLEN, "%s: channel %u was not exported to this rank", ops->name, c);
			return -EPROTO;
		}
		if (sends)
			rc = ops->attach(cs->chans[c], IPC_SEND, &s->send_ends[c - (unsigned)pl->send_ch], err);
		else if (recvs)
			rc = ops->attach(cs->chans[c], IPC_RECV, &s->recv_end, err);
		else {
			/* Threads share one copy of the channel: what this
			 * worker does not use, its peers may. */
			if (!pool_backend_shares_memory(r->spec.workers))
				ops->forget(cs->chans[c]);
			continue;
		}
		if (rc < 0) {
			snprintf(w->err, POOL_ERRLEN, "%s: attach to channel %u failed: %s",
				 ops->name, c, err[0] ? err : strerror(-rc));
			return rc;
		}
	}
	return 0;

fail_nomem:
	snprintf(w->err, POOL_ERRLEN, "worker %u: out of memory", w->id);
	return rc;
}

static void chan_teardown(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	const struct chan_state *cs = r->fam;
	const struct chan_plan *pl = &cs->plans[w->id];
	struct wstate *s = w->priv;

	if (!s)
		return;
	for (unsigned i = 0; i < pl->send_nch && s->send_ends; i++)
		if (s->send_ends[i])
			cs->ops->detach(s->send_ends[i]);
	if (s->recv_end)
		cs->ops->detach(s->recv_end);
	free(s->buf);
	free(s->send_ends);
	free(s->next_seq);
	free(s);
	w->priv = NULL;
}

/* Receive one message, check its length, and split its header. */
static int recv_one(struct pool_worker *w, const struct case_run *r, const struct ipc_ops *ops,
		    struct wstate *s, uint64_t *seqword, uint64_t *t_recv)
{
	ssize_t got = ipc_recv(ops, s->recv_end, s->buf, r->spec.size);

	if (got < 0)
		return fail(w, (int)got, "receive");
	*t_recv = clk_now_ns();
	if ((size_t)got != r->spec.size) {
		snprintf(w->err, POOL_ERRLEN, "received %zd bytes, expected %zu (a message was cut or merged)",
			 got, r->spec.size);
		return -EPROTO;
	}
	*seqword = ((const struct msg_hdr *)s->buf)->seq;
	return 0;
}

static int run_init(struct pool_worker *w, const struct case_run *r, const struct ipc_ops *ops,
		    struct wstate *s, const struct wl_cmd *cmd, struct wl_slot *out)
{
	size_t size = r->spec.size;

	for (uint64_t k = 0; k < cmd->n; k++) {
		uint64_t t0, t1, echoed;
		int rc;

		stamp(s->buf, size, k, (enum verify_mode)cmd->verify);
		t0 = clk_now_ns();
		((struct msg_hdr *)s->buf)->t_send = t0;
		rc = ipc_send(ops, s->send_ends[0], s->buf, size);
		if (rc < 0)
			return fail(w, rc, "send");
		rc = recv_one(w, r, ops, s, &echoed, &t1);
		if (rc < 0)
			return rc;
		if (echoed != k) {
			snprintf(w->err, POOL_ERRLEN, "round trip %" PRIu64 " came back as %" PRIu64 " (lost or reordered)",
				 k, echoed & SEQ_MASK);
			return -EPROTO;
		}
		rc = check_body(s->buf, size, k, (enum verify_mode)cmd->verify, w->err);
		if (rc < 0)
			return rc;
		hist_record(&out->lat, t1 - t0);
		out->received++;
		out->bytes += size;
		wl_tick(out, out->received);
	}
	return 0;
}

static int run_echo(struct pool_worker *w, const struct case_run *r, const struct ipc_ops *ops,
		    struct wstate *s, const struct wl_cmd *cmd, struct wl_slot *out)
{
	for (uint64_t k = 0; k < cmd->n; k++) {
		uint64_t seq, t;
		int rc = recv_one(w, r, ops, s, &seq, &t);

		if (rc < 0)
			return rc;
		if (seq != k) {
			snprintf(w->err, POOL_ERRLEN, "echo expected message %" PRIu64 ", got %" PRIu64,
				 k, seq & SEQ_MASK);
			return -EPROTO;
		}
		rc = ipc_send(ops, s->send_ends[0], s->buf, r->spec.size);
		if (rc < 0)
			return fail(w, rc, "send");
		out->received++;
		out->bytes += r->spec.size;
		wl_tick(out, out->received);
	}
	return 0;
}

static int run_send(struct pool_worker *w, const struct case_run *r, const struct ipc_ops *ops,
		    const struct chan_plan *pl, struct wstate *s, const struct wl_cmd *cmd,
		    struct wl_slot *out)
{
	size_t size = r->spec.size;
	uint64_t count = quota(r, pl, cmd->n);
	uint64_t id = (uint64_t)pl->sender_id << SEQ_BITS;
	int rc;
	bool paced = cmd->load_rate > 0;
	uint64_t run0, wait0, t0 = clk_now_ns();
	bool sched = paced && load_thread_sched(&run0, &wait0) == 0;

	/* Open loop: senders sharing a channel spread over the interval. */
	s->sched.phase_ns = paced && s->load_chan_senders > 1 ?
			    s->sched.interval_ns * pl->sender_id / s->load_chan_senders : 0;
	for (uint64_t k = 0; k < count; k++) {
		unsigned c = pl->send_nch > 1 ? (unsigned)(k % pl->send_nch) : 0;

		if (paced && load_wait(&s->sched, k))
			out->late++;
		stamp(s->buf, size, id | k, (enum verify_mode)cmd->verify);
		((struct msg_hdr *)s->buf)->t_send = clk_now_ns();
		rc = ipc_send(ops, s->send_ends[c], s->buf, size);
		if (rc < 0)
			return fail(w, rc, "send");
		wl_tick(out, k + 1);
	}
	if (sched) { /* how much of its round the sender waited for a CPU */
		uint64_t run1, wait1;

		if (load_thread_sched(&run1, &wait1) == 0) {
			out->send_ns = clk_now_ns() - t0;
			out->send_cpu_wait_ns = wait1 - wait0;
		}
	}
	/* One stop message per consumer, so each leaves exactly once. */
	for (unsigned c = 0; c < pl->stops; c++) {
		uint64_t stopword = (uint64_t)SENDER_STOP << SEQ_BITS;

		stamp(s->buf, size, stopword, VERIFY_SAMPLE);
		rc = ipc_send(ops, s->send_ends[pl->send_nch > 1 ? c : 0], s->buf, size);
		if (rc < 0)
			return fail(w, rc, "send stop");
	}
	return 0;
}

static int run_recv(struct pool_worker *w, const struct case_run *r, const struct ipc_ops *ops,
		    const struct chan_plan *pl, struct wstate *s, const struct wl_cmd *cmd,
		    struct wl_slot *out)
{
	bool until_stop = pl->quota == CHAN_UNTIL_STOP;
	uint64_t expect = until_stop ? 0 : quota(r, pl, cmd->n);
	uint64_t stride = pl->seq_stride ? pl->seq_stride : 1;

	for (unsigned i = 0; i < (pl->nupstream ? pl->nupstream : 1); i++)
		s->next_seq[i] = pl->seq_first;
	s->seen_any = false;

	while (until_stop || out->received < expect) {
		uint64_t seqword, t, seq;
		unsigned sender;
		int rc = recv_one(w, r, ops, s, &seqword, &t);

		if (rc < 0)
			return rc;
		sender = (unsigned)(seqword >> SEQ_BITS);
		seq = seqword & SEQ_MASK;
		if (sender == SENDER_STOP && until_stop)
			break;
		if (sender >= pl->nupstream) {
			snprintf(w->err, POOL_ERRLEN, "message from unknown sender %u (of %u): corrupt header",
				 sender, pl->nupstream);
			return -EPROTO;
		}
		if (pl->shared_recv) {
			/* Several receivers share the channel: each sees a
			 * strictly increasing subsequence; the parent checks
			 * the union (count and sums). */
			if (s->seen_any && seq <= s->last_seq) {
				snprintf(w->err, POOL_ERRLEN, "message %" PRIu64 " after %" PRIu64 ": duplicated or reordered",
					 seq, s->last_seq);
				return -EPROTO;
			}
			s->last_seq = seq;
			s->seen_any = true;
		} else if (seq != s->next_seq[sender]) {
			snprintf(w->err, POOL_ERRLEN, "sender %u: message %" PRIu64 " where %" PRIu64 " was due (%s)",
				 sender, seq, s->next_seq[sender],
				 seq > s->next_seq[sender] ? "lost or reordered" : "duplicated or reordered");
			return -EPROTO;
		} else {
			s->next_seq[sender] = seq + stride;
		}
		rc = check_body(s->buf, r->spec.size, seqword, (enum verify_mode)cmd->verify, w->err);
		if (rc < 0)
			return rc;
		if (cmd->load_rate > 0) {
			/* Open loop: from the due time, and from the send. */
			double phase = s->load_chan_senders > 1 ?
				       s->sched.interval_ns * sender / s->load_chan_senders : 0;
			uint64_t due = load_due(&s->sched, seq, phase);

			hist_record(&out->lat, t > due ? t - due : 0);
			hist_record(&out->lat_service, t - ((const struct msg_hdr *)s->buf)->t_send);
		} else
			hist_record(&out->lat, t - ((const struct msg_hdr *)s->buf)->t_send);
		out->received++;
		out->bytes += r->spec.size;
		out->sum += seq;
		out->sumsq += seq * seq;
		wl_tick(out, out->received);
	}
	return 0;
}

static int chan_round(struct pool_worker *w, const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct case_run *r = w->arg;
	const struct chan_state *cs = r->fam;
	const struct chan_plan *pl = &cs->plans[w->id];
	struct wstate *s = w->priv;

	out->late = 0;
	out->send_ns = out->send_cpu_wait_ns = 0;
	if (cmd->load_rate > 0) { /* open loop: the round's schedule */
		hist_init(&out->lat_service);
		s->sched.origin_ns = cmd->load_origin_ns;
		s->sched.interval_ns = (double)s->load_senders * 1e9 / cmd->load_rate;
		out->t_start = cmd->load_origin_ns; /* the round begins at time 0 */
		if (pl->role == CHAN_SEND)
			load_pacing_begin();
	}
	switch (pl->role) {
	case CHAN_INIT:
		return run_init(w, r, cs->ops, s, cmd, out);
	case CHAN_ECHO:
		return run_echo(w, r, cs->ops, s, cmd, out);
	case CHAN_SEND:
		return run_send(w, r, cs->ops, pl, s, cmd, out);
	case CHAN_RECV:
		return run_recv(w, r, cs->ops, pl, s, cmd, out);
	}
	return -EINVAL;
}

/* ---- parent side ---------------------------------------------------------- */

static bool sends_on(const struct chan_plan *pl, unsigned c)
{
	return pl->send_ch >= 0 && c >= (unsigned)pl->send_ch && c < (unsigned)pl->send_ch + pl->send_nch;
}

static bool chan_talks(const struct case_run *r, unsigned from, unsigned to)
{
	const struct chan_state *cs = r->fam;
	const struct chan_plan *rx = &cs->plans[to];

	return rx->recv_ch >= 0 && sends_on(&cs->plans[from], (unsigned)rx->recv_ch);
}

/* Senders and receivers attached to channel c. */
static void channel_ends(const struct case_run *r, unsigned c, unsigned *senders, unsigned *receivers)
{
	const struct chan_state *cs = r->fam;

	*senders = *receivers = 0;
	for (unsigned i = 0; i < r->nprocs; i++) {
		const struct chan_plan *pl = &cs->plans[i];

		if (sends_on(pl, c))
			++*senders;
		if (pl->recv_ch >= 0 && c == (unsigned)pl->recv_ch)
			++*receivers;
	}
}

int chan_fits_shared_send(const struct case_spec *sp, const struct ipc_caps *caps, char *why)
{
	const char *name = subject_name(&sp->subject);

	if (sp->pool <= 1 || caps->max_shared_send >= sp->size)
		return 0;
	if (caps->max_shared_send)
		case_why(why, -ENOTSUP, "%s lets several senders share a channel only for messages up to %zu bytes, not %zu",
			 name, caps->max_shared_send, sp->size);
	else
		case_why(why, -ENOTSUP, "%s cannot share a channel among several senders", name);
	return -ENOTSUP;
}

/* Check the case against the mechanism.  0, or -ENOTSUP with a reason. */
static int check_caps(const struct case_run *r, const struct chan_state *cs, char *why)
{
	const struct case_spec *sp = &r->spec;
	const char *name = cs->ops->name;
	size_t size = sp->size;

	if (size < SCENARIO_MIN_SIZE) {
		case_why(why, -ENOTSUP, "size %zu is below the %d-byte message header (sequence, sender, timestamp)",
			 size, SCENARIO_MIN_SIZE);
		return -ENOTSUP;
	}
	if (size > cs->caps.max_msg) {
		case_why(why, -ENOTSUP, "size %zu exceeds %s's largest message on this machine (%zu bytes)",
			 size, name, cs->caps.max_msg);
		return -ENOTSUP;
	}
	if (cs->ops->ranks_only && sp->workers != POOL_MPI) {
		case_why(why, -ENOTSUP, "%s's ends are MPI ranks, not forked processes or threads: run it with --workers=mpi under mpirun",
			 name);
		return -ENOTSUP;
	}
	if (!(cs->caps.waits & IPC_WAIT_BIT(sp->wait))) {
		case_why(why, -ENOTSUP, "%s has no %s wait", name, ipc_wait_name(sp->wait));
		return -ENOTSUP;
	}
	if (cs->graph->fits)
		return cs->graph->fits(sp, &cs->caps, why);
	return 0;
}

static void chan_destroy(struct case_run *r)
{
	struct chan_state *cs = r->fam;

	if (!cs)
		return;
	for (unsigned c = 0; c < cs->nch && cs->chans; c++)
		if (cs->chans[c])
			cs->ops->destroy(cs->chans[c]);
	free(cs->chans);
	free(cs->plans);
	free(cs);
	r->fam = NULL;
}

static int chan_prepare(struct case_run *r, char *why)
{
	const struct case_spec *spec = &r->spec;
	struct chan_state *cs = calloc(1, sizeof(*cs));
	char err[IPC_ERRLEN] = "";
	int rc;

	if (!cs)
		return -ENOMEM;
	r->fam = cs;
	cs->ops = spec->subject.table;
	cs->graph = spec->workload->graph;
	if (r->spec.pool > MAX_SENDERS) {
		case_why(why, -EINVAL, "pool %u is too large (at most %u senders)", r->spec.pool, MAX_SENDERS);
		chan_destroy(r);
		return -EINVAL;
	}
	rc = cs->ops->caps(&cs->caps, err);
	if (rc < 0) {
		case_why(why, rc, "%s: %s", cs->ops->name, err[0] ? err : strerror(-rc));
		chan_destroy(r);
		return rc;
	}
	if (r->spec.workers == POOL_MPI) { /* exported channels (ipc.h) */
		if (cs->ops->export_one_receiver)
			cs->caps.max_shared_recv = 0;
		if (cs->ops->export_one_sender)
			cs->caps.max_shared_send = 0;
	}
	rc = check_caps(r, cs, why);
	if (rc < 0) {
		chan_destroy(r);
		return rc;
	}
	r->per_worker = cs->graph->per_worker && cs->graph->per_worker(spec, &cs->caps);
	if (r->per_worker)
		snprintf(r->note, sizeof(r->note), " fanout=per-worker-channels");
	cs->plans = calloc(r->nprocs, sizeof(*cs->plans));
	cs->chans = calloc(r->nprocs, sizeof(*cs->chans)); /* never more channels than processes */
	if (!cs->plans || !cs->chans) {
		chan_destroy(r);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < r->nprocs; i++)
		cs->plans[i] = (struct chan_plan){ .send_ch = -1, .recv_ch = -1, .nupstream = 1 };
	cs->nch = cs->graph->plan(cs->plans, r->nprocs, r->spec.pool, r->per_worker);
	return 0;
}

/* A failed create (or export): a limit of this machine (size, depth,
 * sharing) is a skip with the mechanism's own words; anything else fails
 * the case.  Mechanisms start their own lines with their name. */
static int create_failed(const struct chan_state *cs, int rc, const char *err, char *why)
{
	bool named = strncmp(err, cs->ops->name, strlen(cs->ops->name)) == 0;

	if (rc == -EMSGSIZE || rc == -EINVAL)
		rc = -ENOTSUP;
	return case_why(why, rc, "%s%s%s", named ? "" : cs->ops->name, named ? "" : ": ",
			err[0] ? err : strerror(-rc));
}

/* What channel c of the case asks of its mechanism. */
static struct ipc_params chan_params(const struct case_run *r, unsigned c)
{
	struct ipc_params p = {
		.max_msg = r->spec.size,
		.depth = r->spec.depth,
		.wait = r->spec.wait,
		/* The round's watchdog judges hangs at spec.timeout_ms; a
		 * message's wait only stops one the watchdog let go on. */
		.timeout_ms = r->spec.timeout_ms * POOL_STALL_STRETCH,
	};

	channel_ends(r, c, &p.senders, &p.receivers);
	return p;
}

static int chan_create(struct case_run *r, char *why)
{
	struct chan_state *cs = r->fam;
	char err[IPC_ERRLEN] = "";
	int rc;

	for (unsigned c = 0; c < cs->nch; c++) {
		struct ipc_params p = chan_params(r, c);

		err[0] = '\0';
		rc = cs->ops->create(&p, &cs->chans[c], err);
		if (rc < 0) {
			cs->chans[c] = NULL;
			rc = create_failed(cs, rc, err, why);
			chan_destroy(r);
			return rc;
		}
	}
	return 0;
}

/* The worker receiving on channel c (the first, when several share it),
 * and the first sending on it; -1 when none. */
static int chan_receiver(const struct case_run *r, unsigned c)
{
	const struct chan_state *cs = r->fam;

	for (unsigned i = 0; i < r->nprocs; i++)
		if (cs->plans[i].recv_ch >= 0 && c == (unsigned)cs->plans[i].recv_ch)
			return (int)i;
	return -1;
}

static int chan_sender(const struct case_run *r, unsigned c)
{
	const struct chan_state *cs = r->fam;

	for (unsigned i = 0; i < r->nprocs; i++)
		if (sends_on(&cs->plans[i], c))
			return (int)i;
	return -1;
}

/* --workers=mpi: worker w's rank creates the channels w receives on (a
 * listener or a name lives where it is read) and exports each as a line
 * "C TEXT". */
static int chan_rank_create(struct case_run *r, unsigned worker, char *text, size_t cap, char *why)
{
	struct chan_state *cs = r->fam;
	char err[IPC_ERRLEN] = "", line[IPC_ERRLEN];
	size_t used = 0;
	int rc, n;

	text[0] = '\0';
	if (!cs->ops->export_chan || !cs->ops->import_chan)
		return case_why(why, -ENOTSUP, "%s has no export step (%s)", cs->ops->name, cs->ops->no_export_why ? cs->ops->no_export_why :
				"its channel is an inherited descriptor or an anonymous mapping, which another rank cannot re-open");
	for (unsigned c = 0; c < cs->nch; c++) {
		struct ipc_params p = chan_params(r, c);

		p.send_rank = chan_sender(r, c);
		p.recv_rank = chan_receiver(r, c);
		p.exported = 1;
		if (p.recv_rank != (int)worker)
			continue;
		err[0] = '\0';
		rc = cs->ops->create(&p, &cs->chans[c], err);
		if (rc == 0)
			rc = cs->ops->export_chan(cs->chans[c], line, sizeof(line), err);
		if (rc < 0)
			return create_failed(cs, rc, err, why); /* destroy removes what was made */
		n = snprintf(text + used, cap - used, "%u %s\n", c, line);
		if (n < 0 || (size_t)n >= cap - used)
			return case_why(why, -ENOSPC, "the channel table is over %zu bytes", cap);
		used += (size_t)n;
	}
	return 0;
}

/* --workers=mpi: import every channel worker w uses and did not create. */
static int chan_rank_import(struct case_run *r, unsigned worker, const char *table, char *err)
{
	struct chan_state *cs = r->fam;
	const struct chan_plan *pl = &cs->plans[worker];
	const char *p = table;

	while (*p) {
		const char *eol = strchr(p, '\n');
		char line[IPC_ERRLEN], ierr[IPC_ERRLEN] = "";
		size_t len = eol ? (size_t)(eol - p) : strlen(p);
		unsigned c;
		int off = 0, rc;

		if (len >= sizeof(line) || sscanf(p, "%u %n", &c, &off) != 1 || off <= 0 || c >= cs->nch) {
			snprintf(err, POOL_ERRLEN, "%s: a channel table line '%.60s' this build cannot read",
				 cs->ops->name, p);
			return -EPROTO;
		}
		memcpy(line, p + off, len - (size_t)off);
		line[len - (size_t)off] = '\0';
		p += len + (eol ? 1 : 0);
		if (cs->chans[c] || !(sends_on(pl, c) || (pl->recv_ch >= 0 && c == (unsigned)pl->recv_ch)))
			continue; /* its own, or not its business */
		rc = cs->ops->import_chan(line, &cs->chans[c], ierr);
		if (rc < 0) {
			cs->chans[c] = NULL;
			snprintf(err, POOL_ERRLEN, "%s", ierr[0] ? ierr : strerror(-rc));
			return rc;
		}
	}
	return 0;
}

/* The parent uses no end: close what it holds so a dead worker is seen as
 * EOF/EPIPE by its peer.  (Threads share the parent's descriptors: the
 * host process closes what it holds after its threads attached.) */
static void chan_started(struct case_run *r)
{
	struct chan_state *cs = r->fam;

	for (unsigned c = 0; c < cs->nch; c++)
		cs->ops->forget(cs->chans[c]);
}

static int chan_check_round(const struct case_run *r, uint64_t n, uint64_t sum, uint64_t sumsq, char *why)
{
	const struct chan_state *cs = r->fam;
	uint64_t esum = 0, esumsq = 0;

	if (!cs->graph->check_union)
		return 0;
	for (uint64_t k = 0; k < n; k++)
		esum += k, esumsq += k * k;
	if (esum != sum || esumsq != sumsq) {
		return case_why(why, -EPROTO, "consumers together did not see every message exactly once");
	}
	return 0;
}

const struct wl_engine channel_engine = {
	.prepare = chan_prepare,
	.create = chan_create,
	.started = chan_started,
	.destroy = chan_destroy,
	.talks = chan_talks,
	.setup = chan_setup,
	.round = chan_round,
	.teardown = chan_teardown,
	.check_round = chan_check_round,
	.rank_create = chan_rank_create,
	.rank_import = chan_rank_import,
};
