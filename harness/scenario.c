/* scenario.c - the workloads, written once against ipc_ops.
 *
 * A case is a small graph of one-way channels and a pool of workers, each
 * with one role: INIT and ECHO (pingpong), SEND and RECV (stream, pairs,
 * fanout, fanin).  Roles and channels are decided in the parent before fork
 * (struct plan); after fork each worker attaches the ends it uses, forgets
 * the channels it does not, and runs rounds on command.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pool.h"
#include "scenario.h"
#include "sig.h"

/* Sequence word: low 48 bits sequence, high 16 bits sender id. */
#define SEQ_BITS 48
#define SEQ_MASK ((UINT64_C(1) << SEQ_BITS) - 1)
#define SENDER_STOP 0xffffu          /* a stop message (fanout end of round) */
#define MAX_SENDERS (SENDER_STOP - 1)
#define TAIL_MAGIC UINT64_C(0x6970636c61625f74) /* "ipclab_t" */
/* The tail word is stamped only where it does not overlap the header. */
#define TAIL_MIN_SIZE (SCENARIO_MIN_SIZE + sizeof(uint64_t))

/* The round watchdog is a stall limit (spec.timeout_ms without any worker
 * making progress, see pool_cfg.progress): a slow but live round, such as
 * spinning on an oversubscribed machine, runs to its end; a hang does not. */
#define STOP_TIMEOUT_MS 2000u

enum role { ROLE_INIT, ROLE_ECHO, ROLE_SEND, ROLE_RECV };

struct msg_hdr {
	uint64_t seq; /* sender << SEQ_BITS | sequence */
	uint64_t t_send;
};

/* One worker's part in the case (decided in the parent). */
struct plan {
	enum role role;
	int send_ch;         /* first channel it sends on, -1 none */
	unsigned send_nch;   /* channels it deals over, round-robin */
	int recv_ch;         /* channel it receives on, -1 none */
	unsigned sender_id;  /* its id among the senders of its channel */
	unsigned group;      /* pairs/fanin/fanout: index among its peers */
	unsigned nupstream;  /* receiver: senders that feed it */
	bool shared_recv;    /* receiver shares its channel with others */
};

struct round_cmd {
	uint64_t n;        /* iterations this round, for the whole pool */
	uint32_t verify;
	uint32_t pad;
};

/* What a worker reports after a round (its pool slot). */
struct wslot {
	uint64_t progress;        /* messages handled so far (relaxed atomic) */
	uint64_t t_start, t_end;
	uint64_t received, bytes; /* checked messages (stops not counted) */
	uint64_t sum, sumsq;      /* of received sequence numbers, mod 2^64 */
	struct hist lat;
};

struct case_run {
	struct case_spec spec;
	struct ipc_caps caps;
	unsigned nprocs, nch;
	void **chans;
	struct plan *plans;
	int *cpus;
	bool oversubscribed, per_worker, dead;
	struct pool *pool;
	char label[SCENARIO_LABELLEN];
};

/* A worker's private state after attach. */
struct wstate {
	void **send_ends;
	void *recv_end;
	uint8_t *buf;
	uint64_t *next_seq;     /* receiver: next sequence expected per sender */
	uint64_t last_seq;      /* shared receiver: last sequence seen */
	bool seen_any;
};

static const char *const sc_names[SC_COUNT] = {
	[SC_PINGPONG] = "pingpong",
	[SC_STREAM] = "stream",
	[SC_PAIRS] = "pairs",
	[SC_FANOUT] = "fanout",
	[SC_FANIN] = "fanin",
};

const char *scenario_name(enum scenario_kind k)
{
	return (unsigned)k < SC_COUNT ? sc_names[k] : "?";
}

int scenario_parse(const char *s, enum scenario_kind *out)
{
	for (unsigned i = 0; i < SC_COUNT; i++)
		if (strcmp(s, sc_names[i]) == 0) {
			*out = (enum scenario_kind)i;
			return 0;
		}
	return -EINVAL;
}

unsigned scenario_procs(enum scenario_kind k, unsigned pool)
{
	switch (k) {
	case SC_PINGPONG:
	case SC_STREAM:
		return 2;
	case SC_PAIRS:
		return 2 * pool;
	case SC_FANOUT:
	case SC_FANIN:
		return pool + 1;
	default:
		return 0;
	}
}

bool scenario_round_trip(enum scenario_kind k)
{
	return k == SC_PINGPONG;
}

/* i-th share of n split over parts: sizes differ by at most one. */
static uint64_t share(uint64_t n, unsigned parts, unsigned i)
{
	return n / parts + (i < n % parts ? 1 : 0);
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

/* Tell the parent's watchdog this worker is moving (one plain store to its
 * own slot line). */
static inline void tick(struct wslot *out, uint64_t v)
{
	__atomic_store_n(&out->progress, v, __ATOMIC_RELAXED);
}

static uint64_t slot_progress(const void *slot)
{
	return __atomic_load_n(&((const struct wslot *)slot)->progress, __ATOMIC_RELAXED);
}

static int fail(struct pool_worker *w, int rc, const char *what)
{
	snprintf(w->err, POOL_ERRLEN, "%s: %s", what, strerror(-rc));
	return rc;
}

static int worker_setup(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	const struct plan *pl = &r->plans[w->id];
	const struct ipc_ops *ops = r->spec.ops;
	struct wstate *s = calloc(1, sizeof(*s));
	char err[IPC_ERRLEN] = "";
	int rc = -ENOMEM;

	if (!s)
		goto fail_nomem;
	s->buf = aligned_alloc(64, (r->spec.size + 63) / 64 * 64);
	s->send_ends = calloc(pl->send_nch ? pl->send_nch : 1, sizeof(void *));
	s->next_seq = calloc(pl->nupstream ? pl->nupstream : 1, sizeof(uint64_t));
	if (!s->buf || !s->send_ends || !s->next_seq)
		goto fail_nomem;
	memset(s->buf, 0, r->spec.size);
	w->priv = s;

	for (unsigned c = 0; c < r->nch; c++) {
		bool sends = pl->send_ch >= 0 && c >= (unsigned)pl->send_ch &&
			     c < (unsigned)pl->send_ch + pl->send_nch;
		bool recvs = pl->recv_ch >= 0 && c == (unsigned)pl->recv_ch;

		if (sends)
			rc = ops->attach(r->chans[c], IPC_SEND, &s->send_ends[c - (unsigned)pl->send_ch], err);
		else if (recvs)
			rc = ops->attach(r->chans[c], IPC_RECV, &s->recv_end, err);
		else {
			ops->forget(r->chans[c]);
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

static void worker_teardown(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	const struct plan *pl = &r->plans[w->id];
	struct wstate *s = w->priv;

	if (!s)
		return;
	for (unsigned i = 0; i < pl->send_nch; i++)
		if (s->send_ends[i])
			r->spec.ops->detach(s->send_ends[i]);
	if (s->recv_end)
		r->spec.ops->detach(s->recv_end);
	free(s->buf);
	free(s->send_ends);
	free(s->next_seq);
	free(s);
	w->priv = NULL;
}

/* Receive one message, check its length, and split its header. */
static int recv_one(struct pool_worker *w, const struct case_run *r, struct wstate *s,
		    uint64_t *seqword, uint64_t *t_recv)
{
	ssize_t got = ipc_recv(r->spec.ops, s->recv_end, s->buf, r->spec.size);

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

static int run_init(struct pool_worker *w, const struct case_run *r, struct wstate *s,
		    const struct round_cmd *cmd, struct wslot *out)
{
	const struct ipc_ops *ops = r->spec.ops;
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
		rc = recv_one(w, r, s, &echoed, &t1);
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
		tick(out, out->received);
	}
	return 0;
}

static int run_echo(struct pool_worker *w, const struct case_run *r, struct wstate *s,
		    const struct round_cmd *cmd, struct wslot *out)
{
	for (uint64_t k = 0; k < cmd->n; k++) {
		uint64_t seq, t;
		int rc = recv_one(w, r, s, &seq, &t);

		if (rc < 0)
			return rc;
		if (seq != k) {
			snprintf(w->err, POOL_ERRLEN, "echo expected message %" PRIu64 ", got %" PRIu64,
				 k, seq & SEQ_MASK);
			return -EPROTO;
		}
		rc = ipc_send(r->spec.ops, s->send_ends[0], s->buf, r->spec.size);
		if (rc < 0)
			return fail(w, rc, "send");
		out->received++;
		out->bytes += r->spec.size;
		tick(out, out->received);
	}
	return 0;
}

/* Messages a sender sends this round. */
static uint64_t send_count(const struct case_run *r, const struct plan *pl, uint64_t n)
{
	switch (r->spec.kind) {
	case SC_PAIRS:
	case SC_FANIN:
		return share(n, r->spec.pool, pl->group);
	default:
		return n;
	}
}

static int run_send(struct pool_worker *w, const struct case_run *r, struct wstate *s,
		    const struct round_cmd *cmd, struct wslot *out)
{
	const struct ipc_ops *ops = r->spec.ops;
	const struct plan *pl = &r->plans[w->id];
	size_t size = r->spec.size;
	uint64_t count = send_count(r, pl, cmd->n);
	uint64_t id = (uint64_t)pl->sender_id << SEQ_BITS;
	int rc;

	for (uint64_t k = 0; k < count; k++) {
		unsigned c = pl->send_nch > 1 ? (unsigned)(k % pl->send_nch) : 0;

		stamp(s->buf, size, id | k, (enum verify_mode)cmd->verify);
		((struct msg_hdr *)s->buf)->t_send = clk_now_ns();
		rc = ipc_send(ops, s->send_ends[c], s->buf, size);
		if (rc < 0)
			return fail(w, rc, "send");
		tick(out, k + 1);
	}
	/* fanout: one stop message per consumer, so each leaves exactly once. */
	if (r->spec.kind == SC_FANOUT) {
		uint64_t stopword = (uint64_t)SENDER_STOP << SEQ_BITS;

		for (unsigned c = 0; c < r->spec.pool; c++) {
			stamp(s->buf, size, stopword, VERIFY_SAMPLE);
			rc = ipc_send(ops, s->send_ends[pl->send_nch > 1 ? c : 0], s->buf, size);
			if (rc < 0)
				return fail(w, rc, "send stop");
		}
	}
	return 0;
}

static int run_recv(struct pool_worker *w, const struct case_run *r, struct wstate *s,
		    const struct round_cmd *cmd, struct wslot *out)
{
	const struct plan *pl = &r->plans[w->id];
	bool until_stop = r->spec.kind == SC_FANOUT;
	uint64_t expect = 0;

	if (r->spec.kind == SC_PAIRS)
		expect = share(cmd->n, r->spec.pool, pl->group);
	else if (!until_stop)
		expect = cmd->n;
	memset(s->next_seq, 0, (pl->nupstream ? pl->nupstream : 1) * sizeof(uint64_t));
	if (r->spec.kind == SC_FANOUT && r->per_worker)
		s->next_seq[0] = pl->group; /* dealt round-robin: group, group+n, ... */
	s->seen_any = false;

	while (until_stop || out->received < expect) {
		uint64_t seqword, t, seq;
		unsigned sender;
		int rc = recv_one(w, r, s, &seqword, &t);

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
			s->next_seq[sender] = seq + (r->spec.kind == SC_FANOUT && r->per_worker ? r->spec.pool : 1);
		}
		rc = check_body(s->buf, r->spec.size, seqword, (enum verify_mode)cmd->verify, w->err);
		if (rc < 0)
			return rc;
		hist_record(&out->lat, t - ((const struct msg_hdr *)s->buf)->t_send);
		out->received++;
		out->bytes += r->spec.size;
		out->sum += seq;
		out->sumsq += seq * seq;
		tick(out, out->received);
	}
	return 0;
}

static int worker_round(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	const struct plan *pl = &r->plans[w->id];
	const struct round_cmd *cmd = w->cmd;
	struct wstate *s = w->priv;
	struct wslot *out = w->slot;
	int rc = 0;

	memset(out, 0, offsetof(struct wslot, lat));
	hist_init(&out->lat);
	pool_sync(w); /* everyone attached, reset and ready: go together */
	out->t_start = clk_now_ns();
	switch (pl->role) {
	case ROLE_INIT:
		rc = run_init(w, r, s, cmd, out);
		break;
	case ROLE_ECHO:
		rc = run_echo(w, r, s, cmd, out);
		break;
	case ROLE_SEND:
		rc = run_send(w, r, s, cmd, out);
		break;
	case ROLE_RECV:
		rc = run_recv(w, r, s, cmd, out);
		break;
	}
	out->t_end = clk_now_ns();
	return rc;
}

/* ---- parent side ---------------------------------------------------------- */

/* Decide channels and roles.  Returns the number of channels. */
static unsigned make_plan(struct case_run *r)
{
	unsigned n = r->spec.pool, nch = 0;
	struct plan *p = r->plans;

	for (unsigned i = 0; i < r->nprocs; i++)
		p[i] = (struct plan){ .send_ch = -1, .recv_ch = -1, .nupstream = 1 };

	switch (r->spec.kind) {
	case SC_PINGPONG: /* ch0: 0 -> 1, ch1: 1 -> 0 */
		p[0].role = ROLE_INIT, p[0].send_ch = 0, p[0].send_nch = 1, p[0].recv_ch = 1;
		p[1].role = ROLE_ECHO, p[1].send_ch = 1, p[1].send_nch = 1, p[1].recv_ch = 0;
		nch = 2;
		break;
	case SC_STREAM: /* ch0: 0 -> 1 */
	case SC_PAIRS:  /* ch i: 2i -> 2i+1 */
		for (unsigned i = 0; i < r->nprocs / 2; i++) {
			p[2 * i] = (struct plan){ .role = ROLE_SEND, .send_ch = (int)i, .send_nch = 1,
						  .recv_ch = -1, .group = i, .nupstream = 1 };
			p[2 * i + 1] = (struct plan){ .role = ROLE_RECV, .send_ch = -1, .recv_ch = (int)i,
						      .group = i, .nupstream = 1 };
		}
		nch = r->nprocs / 2;
		break;
	case SC_FANOUT: /* shared ch0: 0 -> 1..n, or ch i: 0 -> i+1 (consumer i
			 * then sees sequences i, i+n, i+2n, ...: its group) */
		nch = r->per_worker ? n : 1;
		p[0] = (struct plan){ .role = ROLE_SEND, .send_ch = 0, .send_nch = nch, .recv_ch = -1,
				      .nupstream = 1 };
		for (unsigned i = 0; i < n; i++)
			p[i + 1] = (struct plan){ .role = ROLE_RECV, .send_ch = -1,
						  .recv_ch = r->per_worker ? (int)i : 0, .group = i,
						  .nupstream = 1, .shared_recv = !r->per_worker && n > 1 };
		break;
	case SC_FANIN: /* shared ch0: 1..n -> 0 */
		p[0] = (struct plan){ .role = ROLE_RECV, .send_ch = -1, .recv_ch = 0, .nupstream = n };
		for (unsigned i = 0; i < n; i++)
			p[i + 1] = (struct plan){ .role = ROLE_SEND, .send_ch = 0, .send_nch = 1,
						  .recv_ch = -1, .sender_id = i, .group = i, .nupstream = 1 };
		nch = 1;
		break;
	default:
		break;
	}
	return nch;
}

/* Senders and receivers attached to channel c. */
static void channel_ends(const struct case_run *r, unsigned c, unsigned *senders, unsigned *receivers)
{
	*senders = *receivers = 0;
	for (unsigned i = 0; i < r->nprocs; i++) {
		const struct plan *pl = &r->plans[i];

		if (pl->send_ch >= 0 && c >= (unsigned)pl->send_ch && c < (unsigned)pl->send_ch + pl->send_nch)
			++*senders;
		if (pl->recv_ch >= 0 && c == (unsigned)pl->recv_ch)
			++*receivers;
	}
}

/* Check the case against the mechanism.  0, or -ENOTSUP with a reason. */
static int check_caps(struct case_run *r, char *why)
{
	const struct case_spec *sp = &r->spec;
	const char *name = sp->ops->name;
	size_t size = sp->size;

	if (size < SCENARIO_MIN_SIZE) {
		snprintf(why, SCENARIO_ERRLEN, "skipped: size %zu is below the %d-byte message header (sequence, sender, timestamp)",
			 size, SCENARIO_MIN_SIZE);
		return -ENOTSUP;
	}
	if (size > r->caps.max_msg) {
		snprintf(why, SCENARIO_ERRLEN, "skipped: size %zu exceeds %s's largest message on this machine (%zu bytes)",
			 size, name, r->caps.max_msg);
		return -ENOTSUP;
	}
	if (!(r->caps.waits & IPC_WAIT_BIT(sp->wait))) {
		snprintf(why, SCENARIO_ERRLEN, "skipped: %s has no %s wait", name, ipc_wait_name(sp->wait));
		return -ENOTSUP;
	}
	if (sp->kind == SC_FANIN && sp->pool > 1 && r->caps.max_shared_send < size) {
		if (r->caps.max_shared_send)
			snprintf(why, SCENARIO_ERRLEN, "skipped: %s lets several senders share a channel only for messages up to %zu bytes, not %zu",
				 name, r->caps.max_shared_send, size);
		else
			snprintf(why, SCENARIO_ERRLEN, "skipped: %s cannot share a channel among several senders", name);
		return -ENOTSUP;
	}
	if (sp->pool > MAX_SENDERS || scenario_procs(sp->kind, sp->pool) > POOL_MAX_WORKERS) {
		snprintf(why, SCENARIO_ERRLEN, "pool %u is too large (at most %u processes)", sp->pool, POOL_MAX_WORKERS);
		return -EINVAL;
	}
	return 0;
}

static void make_label(struct case_run *r)
{
	size_t used = 0, len = sizeof(r->label);
	const char *classes[8];
	unsigned nclasses = 0;

	used += (size_t)snprintf(r->label, len, "cpus=");
	for (unsigned i = 0; i < r->nprocs && used < len; i++) {
		int cpu = r->pool ? pool_worker_ran_on(r->pool, i) : -1;

		used += (size_t)snprintf(r->label + used, len - used, "%s%d", i ? "," : "", cpu);
	}
	/* Classes of every communicating pair (sender's CPU, receiver's CPU). */
	for (unsigned i = 0; i < r->nprocs; i++) {
		const struct plan *pl = &r->plans[i];

		if (pl->recv_ch < 0)
			continue;
		for (unsigned j = 0; j < r->nprocs; j++) {
			const struct plan *q = &r->plans[j];
			const char *cls;
			bool seen = false;

			if (q->send_ch < 0 || (unsigned)pl->recv_ch < (unsigned)q->send_ch ||
			    (unsigned)pl->recv_ch >= (unsigned)q->send_ch + q->send_nch)
				continue;
			cls = topo_pair_class(r->spec.topo, r->cpus[i], r->cpus[j]);
			for (unsigned k = 0; k < nclasses; k++)
				seen |= strcmp(classes[k], cls) == 0;
			if (!seen && nclasses < 8)
				classes[nclasses++] = cls;
		}
	}
	if (used < len)
		used += (size_t)snprintf(r->label + used, len - used, " class=");
	for (unsigned k = 0; k < nclasses && used < len; k++)
		used += (size_t)snprintf(r->label + used, len - used, "%s%s", k ? "," : "", classes[k]);
	if (r->per_worker && used < len)
		snprintf(r->label + used, len - used, " fanout=per-worker-channels");
}

static void destroy_channels(struct case_run *r)
{
	for (unsigned c = 0; c < r->nch; c++)
		if (r->chans[c]) {
			r->spec.ops->destroy(r->chans[c]);
			r->chans[c] = NULL;
		}
}

static void free_run(struct case_run *r)
{
	if (!r)
		return;
	destroy_channels(r);
	free(r->chans);
	free(r->plans);
	free(r->cpus);
	free(r);
}

int case_open(struct case_run **out, const struct case_spec *spec, char *why)
{
	struct case_run *r = calloc(1, sizeof(*r));
	char err[IPC_ERRLEN > TOPO_ERRLEN ? IPC_ERRLEN : TOPO_ERRLEN] = "";
	char reason[POOL_ERRLEN] = "";
	int rc;

	*out = NULL;
	why[0] = '\0';
	if (!r)
		return -ENOMEM;
	r->spec = *spec;
	if (spec->kind == SC_PINGPONG || spec->kind == SC_STREAM)
		r->spec.pool = 1;
	if (r->spec.pool == 0) {
		snprintf(why, SCENARIO_ERRLEN, "pool 0: a pool has at least 1 worker");
		free(r);
		return -EINVAL;
	}
	rc = spec->ops->caps(&r->caps, err);
	if (rc < 0) {
		snprintf(why, SCENARIO_ERRLEN, "%s: %s", spec->ops->name, err[0] ? err : strerror(-rc));
		free(r);
		return rc;
	}
	rc = check_caps(r, why);
	if (rc < 0) {
		free(r);
		return rc;
	}
	r->per_worker = spec->kind == SC_FANOUT && r->spec.pool > 1 && r->caps.max_shared_recv < spec->size;
	r->nprocs = scenario_procs(spec->kind, r->spec.pool);
	r->plans = calloc(r->nprocs, sizeof(*r->plans));
	r->cpus = calloc(r->nprocs, sizeof(*r->cpus));
	r->chans = calloc(r->nprocs, sizeof(*r->chans)); /* never more channels than processes */
	if (!r->plans || !r->cpus || !r->chans) {
		free_run(r);
		return -ENOMEM;
	}
	r->nch = make_plan(r);

	rc = topo_place(spec->topo, spec->placement, r->nprocs, r->cpus, &r->oversubscribed, err);
	if (rc < 0) {
		snprintf(why, SCENARIO_ERRLEN, "%s%s", rc == -ENOTSUP ? "skipped: " : "", err);
		free_run(r);
		return rc;
	}

	for (unsigned c = 0; c < r->nch; c++) {
		struct ipc_params p = {
			.max_msg = spec->size,
			.depth = spec->depth,
			.wait = spec->wait,
			.timeout_ms = spec->timeout_ms,
		};

		channel_ends(r, c, &p.senders, &p.receivers);
		err[0] = '\0';
		rc = spec->ops->create(&p, &r->chans[c], err);
		if (rc < 0) {
			r->chans[c] = NULL;
			/* A limit of this machine (size, depth, sharing) is a
			 * skip with the mechanism's own words; anything else
			 * fails the case. */
			/* Mechanisms start their own lines with their name. */
			bool named = strncmp(err, spec->ops->name, strlen(spec->ops->name)) == 0;

			snprintf(why, SCENARIO_ERRLEN, "%s%s%s%s",
				 (rc == -EMSGSIZE || rc == -ENOTSUP || rc == -EINVAL) ? "skipped: " : "failed: ",
				 named ? "" : spec->ops->name, named ? "" : ": ",
				 err[0] ? err : strerror(-rc));
			if (rc == -EMSGSIZE || rc == -EINVAL)
				rc = -ENOTSUP;
			free_run(r);
			return rc;
		}
	}

	struct pool_cfg cfg = {
		.nworkers = r->nprocs,
		.cpus = r->cpus,
		.topo = spec->topo,
		.slot_size = sizeof(struct wslot),
		.cmd_size = sizeof(struct round_cmd),
		.setup = worker_setup,
		.round = worker_round,
		.teardown = worker_teardown,
		.arg = r,
		.start_timeout_ms = spec->timeout_ms + STOP_TIMEOUT_MS,
		.progress = slot_progress,
	};
	rc = pool_start(&r->pool, &cfg, reason);
	if (rc < 0) {
		r->pool = NULL;
		snprintf(why, SCENARIO_ERRLEN, "failed: %s", reason);
		free_run(r);
		return rc;
	}
	/* The parent uses no end: close what it holds so a dead worker is seen
	 * as EOF/EPIPE by its peer. */
	for (unsigned c = 0; c < r->nch; c++)
		spec->ops->forget(r->chans[c]);
	make_label(r);
	*out = r;
	return 0;
}

int case_round(struct case_run *r, uint64_t n, struct case_round *out, char *why)
{
	struct round_cmd *cmd = pool_cmd(r->pool);
	char reason[POOL_ERRLEN] = "";
	uint64_t t0 = UINT64_MAX, t1 = 0, sum = 0, sumsq = 0;
	int rc;

	why[0] = '\0';
	if (r->dead) {
		snprintf(why, SCENARIO_ERRLEN, "failed: the case's pool is gone after an earlier error");
		return -ECHILD;
	}
	if (n == 0)
		n = 1;
	cmd->n = n;
	cmd->verify = r->spec.verify;
	rc = pool_round(r->pool, r->spec.timeout_ms, reason);
	if (rc < 0) {
		r->dead = true;
		snprintf(why, SCENARIO_ERRLEN, "%s: %s", rc == -EINTR ? "interrupted" : "failed", reason);
		return rc;
	}

	memset(out, 0, offsetof(struct case_round, lat));
	hist_init(&out->lat);
	out->n = n;
	for (unsigned i = 0; i < r->nprocs; i++) {
		const struct wslot *s = pool_slot(r->pool, i);
		enum role role = r->plans[i].role;

		if (s->t_start < t0)
			t0 = s->t_start;
		if (s->t_end > t1)
			t1 = s->t_end;
		if (role == ROLE_SEND)
			continue;
		out->delivered += s->received;
		out->bytes += s->bytes;
		sum += s->sum;
		sumsq += s->sumsq;
		if (role != ROLE_ECHO) /* INIT's round trips, RECV's one-way */
			hist_merge(&out->lat, &s->lat);
	}
	out->elapsed_ns = t1 > t0 ? t1 - t0 : 1;

	/* Every message arrived exactly once. */
	uint64_t want = scenario_round_trip(r->spec.kind) ? 2 * n : n;
	if (out->delivered != want) {
		snprintf(why, SCENARIO_ERRLEN, "failed: %" PRIu64 " messages arrived, %" PRIu64 " were sent", out->delivered, want);
		r->dead = true;
		return -EPROTO;
	}
	if (r->spec.kind == SC_FANOUT) {
		uint64_t esum = 0, esumsq = 0;

		for (uint64_t k = 0; k < n; k++)
			esum += k, esumsq += k * k;
		if (esum != sum || esumsq != sumsq) {
			snprintf(why, SCENARIO_ERRLEN, "failed: consumers together did not see every message exactly once");
			r->dead = true;
			return -EPROTO;
		}
	}
	return 0;
}

int case_warmup(struct case_run *r, uint64_t n, char *why)
{
	struct case_round *tmp = malloc(sizeof(*tmp));
	int rc;

	if (!tmp)
		return -ENOMEM;
	rc = case_round(r, n, tmp, why);
	free(tmp);
	return rc;
}

const char *case_label(const struct case_run *r)
{
	return r->label;
}

bool case_oversubscribed(const struct case_run *r)
{
	return r->oversubscribed;
}

bool case_per_worker_channels(const struct case_run *r)
{
	return r->per_worker;
}

unsigned case_procs(const struct case_run *r)
{
	return r->nprocs;
}

int case_close(struct case_run *r, char *why)
{
	char reason[POOL_ERRLEN] = "";
	int rc = 0;

	if (!r)
		return 0;
	if (r->pool) {
		rc = pool_stop(r->pool, STOP_TIMEOUT_MS, reason);
		if (rc < 0 && why)
			snprintf(why, SCENARIO_ERRLEN, "%s", reason);
	}
	free_run(r);
	return rc;
}
