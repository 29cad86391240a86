/*
 * t_conformance.c - one conformance suite, run against every table in
 * ipc_registry (liburing's FOR_ALL_TEST_CONFIGS idea): a mechanism is tested
 * the moment it is listed in impl/registry.c.
 *
 * main() builds the cmocka test array at run time, one entry per
 * mechanism x check x wait strategy, and runs it as ONE TAP group.  A check
 * the mechanism's caps rule out is a skip whose TAP line says why.
 *
 * Every channel is used by forked children only: the parent creates it,
 * forks, forget()s it and destroys it at the end.  (In the creating process
 * fdio's attach keeps the other end open for in-process use, and shmring's
 * forget unmaps; so a parent that used one end could not portably close the
 * other, and a receiver would never see the sender leave.)
 *
 * Data tests end with an end marker (see kid_sender), not with end-of-stream;
 * the eof test checks -EPIPE after a clean sender exit on its own, so a
 * mechanism without it fails one test per wait, not all of them.
 *
 * Every test runs under alarm(CONF_ALARM_S): a hang fails that test (the
 * handler fails it through cmocka) and the teardown kills and reaps every
 * child and destroys every channel the test created.  Children never use
 * cmocka: they _exit(0), or write one line into shared memory and _exit(1).
 * Every test ends by checking that nothing is left (conformance_util.h: in
 * a private namespace when root) and that no child is a zombie.
 *
 * Why this file is long: it is the one conformance suite written once over
 * every table; splitting its checks apart would split their shared fixtures.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "testutil.h"
#include "conformance_util.h"

/* Every message starts with struct conf_hdr; it is the smallest we send. */
#define CONF_HDR_SIZE 16
/* Issue 2: 100 000 messages, small so the test stays fast. */
#define CONF_ORDER_MSGS 100000
#define CONF_ORDER_SIZE CONF_HDR_SIZE
/* Messages per size test: enough to see order, few enough for 8 x 64 KiB. */
#define CONF_SIZE_MSGS 8
/* Messages the export check moves through a re-opened channel, one at a
 * time in one process (each fits any buffer). */
#define CONF_EXPORT_MSGS 100
#define CONF_EXPORT_SIZE 64
/* Messages at caps.max_msg, which may be MiBs. */
#define CONF_MAXSIZE_MSGS 3
/* The largest caps.max_msg the suite allocates and sends (3 x this). */
#define CONF_MAX_TESTED ((size_t)64 << 20)
/* 4 senders x 4 receivers (issue 2). */
#define CONF_MANY 4
/* Per sender; spinning pools are 4x oversubscribed on 2 cores, so fewer. */
#define CONF_MANY_MSGS 2000
#define CONF_MANY_MSGS_SPIN 300
#define CONF_MANY_SIZE 64
/* Messages that must pass before the SIGKILL, so it lands mid-stream. */
#define CONF_KILL_AFTER 10
#define CONF_KILL_SIZE 64
/* params.timeout_ms in the kill and eof tests: long enough for any wake-up
 * here, short so a mechanism that only times out costs little. */
#define CONF_KILL_TIMEOUT_MS 1000
/* params.timeout_ms elsewhere: a stalled channel fails with -ETIMEDOUT,
 * with a message, before the alarm fires. */
#define CONF_DATA_TIMEOUT_MS 5000
/* Per test in the parent: a hang becomes a failure, not a stuck prove.
 * The alarm is a stall limit: when it fires and messages moved since the
 * last time (a loaded machine, a spinning pair sharing a CPU with a hog),
 * it is set again, at most CONF_ALARM_MORE times; a test that made no
 * progress for CONF_ALARM_S seconds, or ran CONF_ALARM_S x (1 + that),
 * hangs. */
#define CONF_ALARM_S 20
#define CONF_ALARM_MORE 11
/* Hangs after which a mechanism's remaining tests fail at once: keeps a
 * broken mechanism from costing CONF_ALARM_S per test. */
#define CONF_HANGS_MAX 2
/* How often the parent looks at the kill tests' progress. */
#define CONF_POLL_NS 1000000
/* A child that outlives its test (parent stuck) dies on its own: only after
 * the parent's own limit (a fixed 90 s child alarm killed spinning pairs
 * that were still moving at load 15-20, before the parent's stall limit). */
#define CONF_CHILD_ALARM_S (CONF_ALARM_S * (1 + CONF_ALARM_MORE) + 30)
/* Messages per channel in the two-channel test. */
#define CONF_TWO_MSGS 200
/* 4 senders + 4 receivers. */
#define CONF_MAX_KIDS (2 * CONF_MANY)
/* One line of why a child failed. */
#define CONF_KID_MSG 200

static const size_t conf_sizes[] = { 16, 17, 64, 4095, 4096, 4097, 65536 };

struct conf_hdr {
	uint32_t seq; /* per sender, from 0 */
	uint32_t src; /* sender index, or channel tag */
	uint32_t len; /* whole message */
	uint32_t sum; /* FNV-1a of the whole message with this field 0 */
};
_Static_assert(sizeof(struct conf_hdr) == CONF_HDR_SIZE, "header is 16 bytes");

enum conf_kind {
	K_REGISTRY,
	K_CAPS,
	K_SIZE,
	K_ORDER,
	K_EOF,
	K_MANY,
	K_KILL_RECV,
	K_KILL_SEND,
	K_REFUSE,
	K_CREATE,
	K_TWO,
	K_EXPORT,     /* a table with an export step: re-opened from its line */
	K_RANKS,      /* a ranks_only table: what can be checked without MPI */
	K_RANKS_SKIP, /* its data and dead-peer checks: a skip saying why */
};

/* Per mechanism, across its tests: after CONF_HANGS_MAX hangs the rest of
 * its tests fail at once instead of waiting CONF_ALARM_S each. */
struct conf_mech {
	unsigned hangs;
};

struct conf_case {
	const struct conf_env *env;
	const struct ipc_ops *ops;
	enum conf_kind kind;
	enum ipc_wait wait;
	size_t size;                 /* K_SIZE: bytes, 0 = caps.max_msg */
	unsigned senders, receivers; /* K_MANY */
	struct conf_mech *mech;
	char *name;
};

/* Shared with the children (MAP_SHARED | MAP_ANONYMOUS). */
struct conf_shared {
	atomic_uint received;            /* kill tests: messages the receiver took */
	atomic_int kill_sent;            /* kill tests: set before the SIGKILL */
	atomic_uint senders_done;        /* senders through their messages */
	atomic_ulong moved;              /* messages sent or received: the alarm's sign of life */
	int rc[4];                       /* what a child's calls returned */
	unsigned after;                  /* kill tests: calls that worked after it */
	double t_fail_ms;                /* kill tests: when the survivor failed */
	char kid_msg[CONF_MAX_KIDS][CONF_KID_MSG];
	atomic_uchar seen[];             /* many: [sender][seq] times received */
};

/* What a test holds, so the teardown can undo it after a failure. */
struct conf_run {
	const struct conf_case *c;
	const struct ipc_ops *ops;
	struct ipc_caps caps;
	struct leak_snap *before;
	void *chan[2];
	bool destroyed[2];
	pid_t pid[CONF_MAX_KIDS];  /* 0 once reaped */
	unsigned npid;
	struct conf_shared *sh;
	size_t shlen;
	double t_start;
	/* For the children (copied by fork). */
	size_t msg_size;
	unsigned msg_count;
	bool eof;                /* receiver then waits for -EPIPE */
	struct ipc_params params;
	char err[IPC_ERRLEN];
};

/* ---- messages ------------------------------------------------------------ */

#define FNV_OFFSET 2166136261u
#define FNV_PRIME 16777619u

static uint32_t fnv(uint32_t h, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * FNV_PRIME;
	return h;
}

/* Checksum of a message as it should be: its sum field counted as 0. */
static uint32_t msg_sum(const unsigned char *b, size_t len)
{
	static const unsigned char zero[4];
	uint32_t h = fnv(FNV_OFFSET, b, offsetof(struct conf_hdr, sum));

	h = fnv(h, zero, sizeof(zero));
	return fnv(h, b + CONF_HDR_SIZE, len - CONF_HDR_SIZE);
}

/* A message whose every byte depends on (src, seq) and its position. */
static void msg_fill(unsigned char *b, size_t len, uint32_t src, uint32_t seq)
{
	struct conf_hdr h = { .seq = seq, .src = src, .len = (uint32_t)len };
	uint32_t x = seq * 0x9E3779B1u ^ src * 0x85EBCA77u;

	for (size_t i = CONF_HDR_SIZE; i < len; i++)
		b[i] = (unsigned char)(x + i * 131u + (i >> 8) * 7u);
	memcpy(b, &h, sizeof(h));
	h.sum = msg_sum(b, len);
	memcpy(b, &h, sizeof(h));
}

/*
 * Check a received message: length, header, checksum and a full compare
 * against the pattern regenerated into scratch.  want_src/want_seq < 0:
 * any (but src < nsrc, seq < nseq).  0, or -1 with why filled.
 */
static int msg_check(const unsigned char *got, ssize_t n, size_t want_len,
		     long want_src, long want_seq, uint32_t nsrc, uint32_t nseq,
		     unsigned char *scratch, struct conf_hdr *out, char *why, size_t wlen)
{
	struct conf_hdr h;

	if (n < 0) {
		snprintf(why, wlen, "recv returned %zd (%s)", n, strerror((int)-n));
		return -1;
	}
	if ((size_t)n < CONF_HDR_SIZE || (want_len && (size_t)n != want_len)) {
		snprintf(why, wlen, "recv returned %zd bytes, want %zu", n, want_len);
		return -1;
	}
	memcpy(&h, got, sizeof(h));
	if (out)
		*out = h;
	if (h.len != (size_t)n) {
		snprintf(why, wlen, "header says %u bytes, recv returned %zd (garbage?)", h.len, n);
		return -1;
	}
	if ((want_src >= 0 && h.src != want_src) || h.src >= nsrc) {
		snprintf(why, wlen, "message from sender %u, want %ld", h.src, want_src);
		return -1;
	}
	if ((want_seq >= 0 && h.seq != want_seq) || h.seq >= nseq) {
		snprintf(why, wlen, "sender %u: got message #%u, want #%ld (lost, duplicated or out of order)",
			 h.src, h.seq, want_seq);
		return -1;
	}
	if (msg_sum(got, (size_t)n) != h.sum) {
		snprintf(why, wlen, "sender %u message #%u (%zd bytes): checksum mismatch", h.src, h.seq, n);
		return -1;
	}
	msg_fill(scratch, (size_t)n, h.src, h.seq);
	if (memcmp(scratch, got, (size_t)n) != 0) {
		size_t i = 0;

		while (scratch[i] == got[i])
			i++;
		snprintf(why, wlen, "sender %u message #%u: byte %zu is 0x%02x, want 0x%02x",
			 h.src, h.seq, i, got[i], scratch[i]);
		return -1;
	}
	return 0;
}

static const char *rc_name(long rc)
{
	return rc >= 0 ? "success" : strerror((int)-rc);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A "#" line in the TAP stream. */
static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* ---- children ------------------------------------------------------------ */

static void kid_fail(struct conf_run *r, unsigned idx, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
static void kid_fail(struct conf_run *r, unsigned idx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->sh->kid_msg[idx], CONF_KID_MSG, fmt, ap);
	va_end(ap);
	_exit(1);
}

typedef void (*conf_kid_fn)(struct conf_run *r, unsigned idx);

static pid_t conf_fork(struct conf_run *r, unsigned idx, conf_kid_fn fn)
{
	pid_t parent = getpid(), pid;

	assert_true(r->npid < CONF_MAX_KIDS);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		fail_msg("fork: %s", strerror(errno));
	if (pid == 0) {
		signal(SIGALRM, SIG_DFL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		alarm(CONF_CHILD_ALARM_S);
		fn(r, idx);
		_exit(1); /* fn leaves with _exit; never back into cmocka */
	}
	r->pid[r->npid++] = pid;
	return pid;
}

static void kid_attach(struct conf_run *r, unsigned idx, unsigned ch, enum ipc_role role, void **end)
{
	char err[IPC_ERRLEN] = "";
	int rc = r->ops->attach(r->chan[ch], role, end, err);

	if (rc < 0)
		kid_fail(r, idx, "attach(%s): %s: %s", role == IPC_SEND ? "send" : "recv",
			 rc_name(rc), err);
}

/*
 * Sends r->msg_count messages of r->msg_size bytes as sender idx.  The last
 * sender to finish then sends one end marker per receiver: a message with
 * seq msg_count + k.  In a FIFO channel they come after every data message,
 * so a receiver that takes one knows it has all its share (the suite does
 * not rely on end-of-stream detection; the eof test checks that alone).
 */
static void kid_sender(struct conf_run *r, unsigned idx)
{
	unsigned char *b = malloc(r->msg_size);
	uint32_t n = r->msg_count;
	void *end;
	int rc;

	if (!b)
		kid_fail(r, idx, "out of memory");
	kid_attach(r, idx, 0, IPC_SEND, &end);
	for (uint32_t seq = 0; seq < n; seq++) {
		msg_fill(b, r->msg_size, idx, seq);
		rc = ipc_send(r->ops, end, b, r->msg_size);
		if (rc < 0)
			kid_fail(r, idx, "sender %u: send #%u of %zu bytes: %s", idx, seq,
				 r->msg_size, rc_name(rc));
		atomic_fetch_add_explicit(&r->sh->moved, 1, memory_order_relaxed);
	}
	if (atomic_fetch_add(&r->sh->senders_done, 1) + 1 == r->params.senders)
		for (uint32_t k = 0; k < r->params.receivers; k++) {
			msg_fill(b, r->msg_size, idx, n + k);
			rc = ipc_send(r->ops, end, b, r->msg_size);
			if (rc < 0)
				kid_fail(r, idx, "sender %u: end marker %u: %s", idx, k, rc_name(rc));
		}
	r->ops->detach(end);
	_exit(0);
}

/* The sender is gone and everything was received: recv must say -EPIPE. */
static void kid_expect_eof(struct conf_run *r, unsigned idx, void *end, unsigned char *b,
			   size_t cap, const char *after)
{
	ssize_t n = ipc_recv(r->ops, end, b, cap);

	if (n != -EPIPE)
		kid_fail(r, idx, "receiver: after %s and the sender's exit, recv returned %zd (%s), want -EPIPE",
			 after, n, n >= 0 ? "an extra message: duplicate or garbage" : rc_name(n));
}

/* Receives r->msg_count messages of r->msg_size bytes from sender 0, in
 * order, byte-exact, then the end marker: nothing lost, duplicated or
 * extra.  With r->eof, then -EPIPE, as the sender has left. */
static void kid_receiver(struct conf_run *r, unsigned idx)
{
	unsigned char *b = malloc(r->msg_size), *scratch = malloc(r->msg_size);
	char why[300];
	void *end;

	if (!b || !scratch)
		kid_fail(r, idx, "out of memory");
	kid_attach(r, idx, 0, IPC_RECV, &end);
	for (uint32_t seq = 0; seq <= r->msg_count; seq++) {
		ssize_t n = ipc_recv(r->ops, end, b, r->msg_size);

		atomic_fetch_add_explicit(&r->sh->moved, 1, memory_order_relaxed);
		if (msg_check(b, n, r->msg_size, 0, seq, 1, r->msg_count + 1, scratch, NULL, why,
			      sizeof(why)))
			kid_fail(r, idx, "receiver, %s %u of %zu bytes: %s",
				 seq < r->msg_count ? "message" : "end marker after message", seq,
				 r->msg_size, why);
	}
	if (r->eof)
		kid_expect_eof(r, idx, end, b, r->msg_size, "the last message");
	r->ops->detach(end);
	_exit(0);
}

/* ---- setup, teardown, the end of every test ------------------------------ */

/* The running test, for its alarm: how many messages had moved when the
 * alarm last fired, how often it was set again, whether it failed. */
static struct conf_run *conf_alarm_run;
static unsigned long conf_alarm_moved;
static unsigned conf_alarm_more;
static volatile sig_atomic_t conf_alarm_failed;

static void conf_on_alarm(int sig)
{
	struct conf_run *r = conf_alarm_run;

	(void)sig;
	if (r && r->sh && conf_alarm_more < CONF_ALARM_MORE) {
		unsigned long m = atomic_load(&r->sh->moved);

		if (m != conf_alarm_moved) { /* slow, not stuck */
			conf_alarm_moved = m;
			conf_alarm_more++;
			alarm(CONF_ALARM_S);
			return;
		}
	}
	conf_alarm_failed = 1;
	if (conf_alarm_more < CONF_ALARM_MORE)
		fail_msg("timed out: no message moved for %d s: a send, receive or child hangs",
			 CONF_ALARM_S);
	fail_msg("timed out after %d s (messages still moving): a send, receive or child is far too slow",
		 CONF_ALARM_S * (1 + CONF_ALARM_MORE));
}

static int conf_setup(void **state)
{
	const struct conf_case *c = *state;
	struct conf_run *r = calloc(1, sizeof(*r));
	struct sigaction sa = { .sa_handler = conf_on_alarm, .sa_flags = SA_NODEFER };

	if (!r || !(r->before = malloc(sizeof(*r->before))))
		return -1;
	r->c = c;
	r->ops = c->ops;
	conf_snapshot(c->env, r->before);
	r->t_start = now_ms();
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	conf_alarm_run = r;
	conf_alarm_moved = 0;
	conf_alarm_more = 0;
	conf_alarm_failed = 0;
	alarm(CONF_ALARM_S);
	*state = r;
	return 0;
}

static void conf_kill_kids(struct conf_run *r)
{
	for (unsigned i = 0; i < r->npid; i++) {
		if (r->pid[i] <= 0)
			continue;
		kill(r->pid[i], SIGKILL);
		while (waitpid(r->pid[i], NULL, 0) < 0 && errno == EINTR)
			;
		r->pid[i] = 0;
	}
}

/* Undo whatever the test still holds; safe to call twice. */
static void conf_release(struct conf_run *r)
{
	conf_kill_kids(r);
	for (unsigned i = 0; i < 2; i++) {
		if (r->chan[i] && !r->destroyed[i])
			r->ops->destroy(r->chan[i]);
		r->chan[i] = NULL;
	}
	if (r->sh)
		munmap(r->sh, r->shlen);
	r->sh = NULL;
}

static int conf_teardown(void **state)
{
	struct conf_run *r = *state;

	alarm(0);
	conf_alarm_run = NULL;
	if (r->c->mech && conf_alarm_failed)
		r->c->mech->hangs++;
	conf_release(r);
	signal(SIGALRM, SIG_DFL);
	*state = (void *)r->c;
	free(r->before);
	free(r);
	return 0;
}

static void conf_map(struct conf_run *r, size_t seen)
{
	r->shlen = sizeof(*r->sh) + seen;
	r->sh = mmap(NULL, r->shlen, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r->sh == MAP_FAILED) {
		r->sh = NULL;
		fail_msg("mmap %zu bytes: %s", r->shlen, strerror(errno));
	}
}

static void conf_caps(struct conf_run *r)
{
	char err[IPC_ERRLEN] = "";
	int rc = r->ops->caps(&r->caps, err);

	if (rc < 0)
		fail_msg("%s: caps(): %s: %s", r->ops->name, rc_name(rc), err);
}

static void conf_params(struct conf_run *r, size_t max_msg, unsigned ns, unsigned nr,
			enum ipc_wait w, unsigned timeout_ms)
{
	r->params = (struct ipc_params){ .max_msg = max_msg, .senders = ns, .receivers = nr,
					 .wait = w, .timeout_ms = timeout_ms };
}

static void conf_create(struct conf_run *r, unsigned ch)
{
	int rc;

	r->err[0] = '\0';
	rc = r->ops->create(&r->params, &r->chan[ch], r->err);
	if (rc < 0) {
		r->chan[ch] = NULL;
		fail_msg("create(max_msg %zu, %u senders, %u receivers, %s): %s: %s",
			 r->params.max_msg, r->params.senders, r->params.receivers,
			 ipc_wait_name(r->params.wait), rc_name(rc), r->err);
	}
}

/* After forking every child: the parent uses no end of any channel. */
static void conf_forget(struct conf_run *r)
{
	for (unsigned i = 0; i < 2; i++)
		if (r->chan[i])
			r->ops->forget(r->chan[i]);
}

/* Why child i did not exit 0, into why; false if it did. */
static bool kid_bad(const struct conf_run *r, unsigned i, int st, char *why, size_t len)
{
	const char *msg = r->sh && r->sh->kid_msg[i][0] ? r->sh->kid_msg[i] : "(no message)";

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return false;
	if (WIFSIGNALED(st))
		snprintf(why, len, "child %u killed by signal %d (%s): %s", i, WTERMSIG(st),
			 strsignal(WTERMSIG(st)), msg);
	else
		snprintf(why, len, "child %u failed: %s", i, msg);
	return true;
}

/* Wait for every child still running; each must exit 0.  All are reaped
 * before the first failure is reported (usually the cause; the others
 * then saw a dead peer). */
static void conf_reap_ok(struct conf_run *r)
{
	char why[CONF_MAX_KIDS][CONF_KID_MSG + 64], all[sizeof(why)];
	unsigned nbad = 0;

	for (unsigned i = 0; i < r->npid; i++) {
		int st;

		why[i][0] = '\0';
		if (r->pid[i] <= 0)
			continue;
		while (waitpid(r->pid[i], &st, 0) < 0)
			if (errno != EINTR)
				fail_msg("waitpid: %s", strerror(errno));
		r->pid[i] = 0;
		nbad += kid_bad(r, i, st, why[i], sizeof(why[i]));
	}
	if (!nbad)
		return;
	all[0] = '\0';
	for (unsigned i = 0; i < r->npid; i++)
		if (why[i][0] && strlen(all) + strlen(why[i]) + 3 < sizeof(all))
			strcat(strcat(all, all[0] ? "; " : ""), why[i]);
	fail_msg("%s", all);
}

/* Kill tests: wait until the receiver took CONF_KILL_AFTER messages; a
 * child that ends before is a failure (the others are killed). */
static void conf_wait_received(struct conf_run *r)
{
	const struct timespec tick = { 0, CONF_POLL_NS };

	while (atomic_load(&r->sh->received) < CONF_KILL_AFTER) {
		for (unsigned i = 0; i < r->npid; i++) {
			char why[CONF_KID_MSG + 64];
			int st;

			if (waitpid(r->pid[i], &st, WNOHANG) != r->pid[i])
				continue;
			r->pid[i] = 0;
			if (!kid_bad(r, i, st, why, sizeof(why)))
				snprintf(why, sizeof(why), "child %u exited", i);
			conf_kill_kids(r);
			fail_msg("before the SIGKILL (%u messages through): %s",
				 atomic_load(&r->sh->received), why);
		}
		nanosleep(&tick, NULL);
	}
}

/* The end of every test: children done, channels destroyed, nothing left. */
static void conf_finish(struct conf_run *r)
{
	char names[1024];
	unsigned n;

	conf_reap_ok(r);
	for (unsigned i = 0; i < 2; i++) {
		if (r->chan[i] && !r->destroyed[i]) {
			r->ops->destroy(r->chan[i]);
			r->destroyed[i] = true;
		}
	}
	n = conf_leak_check(r->c->env, r->before, names, sizeof(names));
	if (n)
		fail_msg("%u object(s) left after destroy: %s", n, names);
	n = zombie_children();
	if (n)
		fail_msg("%u zombie child(ren) left", n);
}

/* A check the caps rule out: skipped, the reason in the TAP line. */
static void conf_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void conf_skip(const char *fmt, ...)
{
	char why[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	tap_skip("%s", why);
}

static bool wait_supported(const struct conf_run *r)
{
	return r->caps.waits & IPC_WAIT_BIT(r->c->wait);
}

/* ---- the checks ---------------------------------------------------------- */

static bool name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

/* registry: names unique and usable in case names, ipc_find, wait names. */
static void check_registry(struct conf_run *r)
{
	const struct ipc_ops *op, *other;
	unsigned n = 0;

	(void)r;
	ipc_for_each(op) {
		unsigned same = 0;

		n++;
		if (!name_ok(op->name))
			fail_msg("registry entry %u: name \"%s\" is not [a-z0-9-]+", n,
				 op->name ? op->name : "(null)");
		if (ipc_find(op->name) != op)
			fail_msg("ipc_find(\"%s\") does not return its table", op->name);
		ipc_for_each(other)
			same += strcmp(other->name, op->name) == 0;
		if (same != 1)
			fail_msg("%u registry entries are named \"%s\"", same, op->name);
	}
	if (n == 0)
		diag("registry: no mechanism registered yet");
	assert_null(ipc_find("no-such-mechanism"));
	assert_null(ipc_find(""));
	for (unsigned w = 0; w < IPC_WAIT_COUNT; w++) {
		enum ipc_wait back;

		assert_int_equal(ipc_wait_parse(ipc_wait_name((enum ipc_wait)w), &back), 0);
		assert_int_equal(back, w);
	}
	assert_int_equal(ipc_wait_parse("sleepy", &(enum ipc_wait){ 0 }), -EINVAL);
}

/* A table whose ends are MPI ranks (ranks_only): complete, with export
 * and import; outside an MPI job create() refuses with -ENOTSUP and a line
 * that starts with its name (so the suite skips its cases with it). */
static void check_ranks_only(struct conf_run *r)
{
	const struct ipc_ops *o = r->ops;
	struct ipc_params p = { .max_msg = 64, .senders = 1, .receivers = 1, .wait = IPC_WAIT_SPIN,
				.send_rank = 0, .recv_rank = 1 };
	char err[IPC_ERRLEN] = "";
	void *chan = NULL;
	int rc;

	if (!o->summary || !*o->summary || !o->caps || !o->create || !o->attach || !o->send ||
	    !o->recv || !o->detach || !o->forget || !o->destroy || !o->export_chan || !o->import_chan)
		fail_msg("a function pointer or the summary is missing");
	conf_caps(r);
	if (!(r->caps.waits & IPC_WAIT_BIT(IPC_WAIT_SPIN)) || r->caps.max_msg < CONF_HDR_SIZE)
		fail_msg("caps: waits 0x%x, max_msg %zu", r->caps.waits, r->caps.max_msg);
	rc = o->create(&p, &chan, err);
	if (rc != -ENOTSUP || strncmp(err, o->name, strlen(o->name)) != 0)
		fail_msg("create outside an MPI job returned %d (err '%s'), want -ENOTSUP and a line starting '%s'",
			 rc, err, o->name);
}

/*
 * A table with an export step (export_chan): a channel created to be
 * exported is written as one line and re-opened from it (import_chan), as
 * another MPI rank does (tests/mpi.t runs that); here one process holds
 * both copies and moves messages from an end of the imported one to an end
 * of the original, byte-exact and in order.  A line it cannot read is
 * refused with a line starting with its name, and nothing made.  Both
 * copies destroyed leave nothing.  An exported channel this machine cannot
 * make (tcp with no host address) is a skip with the reason.
 */
static void check_export(struct conf_run *r)
{
	unsigned char msg[CONF_EXPORT_SIZE], got[CONF_EXPORT_SIZE], scratch[CONF_EXPORT_SIZE];
	char line[IPC_ERRLEN], why[200];
	void *s = NULL, *rv = NULL, *bad = NULL;
	ssize_t n;
	int rc;

	if (!r->ops->export_chan || !r->ops->import_chan)
		fail_msg("export_chan and import_chan: set both or neither");
	conf_params(r, CONF_EXPORT_SIZE, 1, 1, IPC_WAIT_SPIN, CONF_DATA_TIMEOUT_MS);
	r->params.exported = 1;
	r->err[0] = '\0';
	rc = r->ops->create(&r->params, &r->chan[0], r->err);
	if (rc < 0) {
		r->chan[0] = NULL;
		conf_skip("no exported channel on this machine: %s", r->err[0] ? r->err : rc_name(rc));
		return;
	}
	rc = r->ops->export_chan(r->chan[0], line, sizeof(line), r->err);
	if (rc < 0 || !memchr(line, '\0', sizeof(line)) || strchr(line, '\n'))
		fail_msg("export: %s: %s", rc_name(rc), r->err);
	r->err[0] = '\0';
	rc = r->ops->import_chan("no such line", &bad, r->err);
	if (rc >= 0 || bad || strncmp(r->err, r->ops->name, strlen(r->ops->name)) != 0)
		fail_msg("import of a line it cannot read returned %s (err '%s'), want an error and a line starting '%s'",
			 rc_name(rc), r->err, r->ops->name);
	rc = r->ops->import_chan(line, &r->chan[1], r->err);
	if (rc < 0) {
		r->chan[1] = NULL;
		fail_msg("import of its own line '%s': %s: %s", line, rc_name(rc), r->err);
	}
	/* Send ends first, as ranks do (tcp's receiving end accepts). */
	rc = r->ops->attach(r->chan[1], IPC_SEND, &s, r->err);
	if (rc < 0)
		fail_msg("attach the sender to the imported copy: %s: %s", rc_name(rc), r->err);
	rc = r->ops->attach(r->chan[0], IPC_RECV, &rv, r->err);
	if (rc < 0) {
		r->ops->detach(s);
		fail_msg("attach the receiver to the original: %s: %s", rc_name(rc), r->err);
	}
	for (uint32_t i = 0; i < CONF_EXPORT_MSGS; i++) {
		msg_fill(msg, sizeof(msg), 0, i);
		rc = r->ops->send(s, msg, sizeof(msg));
		n = rc < 0 ? rc : r->ops->recv(rv, got, sizeof(got));
		if (msg_check(got, n, sizeof(msg), 0, i, 1, CONF_EXPORT_MSGS, scratch, NULL, why, sizeof(why))) {
			r->ops->detach(s);
			r->ops->detach(rv);
			fail_msg("message #%u through the re-opened channel: %s", i, why);
		}
	}
	r->ops->detach(s);
	r->ops->detach(rv);
	r->ops->destroy(r->chan[1]); /* the importer's first, as a rank may */
	r->destroyed[1] = true;
	conf_finish(r);
}

/* Every function pointer set; caps() succeeds, is stable and sane. */
static void check_caps(struct conf_run *r)
{
	const struct ipc_ops *o = r->ops;
	struct ipc_caps again;
	char err[IPC_ERRLEN] = "";
	void *chan = NULL;
	int rc;

	if (!o->summary || !*o->summary)
		fail_msg("no summary line");
	if (!o->caps || !o->create || !o->attach || !o->send || !o->recv ||
	    !o->detach || !o->forget || !o->destroy)
		fail_msg("a function pointer is NULL");
	conf_caps(r);
	assert_int_equal(o->caps(&again, err), 0);
	if (memcmp(&again, &r->caps, sizeof(again)) != 0)
		fail_msg("caps() differ between two calls");
	if (r->caps.max_msg < CONF_HDR_SIZE)
		fail_msg("caps.max_msg %zu is below %d", r->caps.max_msg, CONF_HDR_SIZE);
	if (r->caps.max_shared_send > r->caps.max_msg || r->caps.max_shared_recv > r->caps.max_msg)
		fail_msg("max_shared_send %zu / max_shared_recv %zu over max_msg %zu",
			 r->caps.max_shared_send, r->caps.max_shared_recv, r->caps.max_msg);
	if (r->caps.waits & ~(IPC_WAIT_BIT(IPC_WAIT_COUNT) - 1))
		fail_msg("caps.waits 0x%x has unknown bits", r->caps.waits);
	if (!(r->caps.waits & IPC_WAIT_BIT(IPC_WAIT_BLOCK)) ||
	    !(r->caps.waits & IPC_WAIT_BIT(IPC_WAIT_SPIN)))
		fail_msg("caps.waits 0x%x lacks block or spin", r->caps.waits);
	if (r->caps.keeps_boundaries != 0 && r->caps.keeps_boundaries != 1)
		fail_msg("caps.keeps_boundaries is %d", r->caps.keeps_boundaries);
	if (r->caps.max_msg >= 65536)
		return;
	/* Below 64 KiB only where the system says so: then a 64 KiB channel
	 * must be refused with a line naming the limit. */
	conf_params(r, 65536, 1, 1, IPC_WAIT_BLOCK, 0);
	rc = o->create(&r->params, &chan, err);
	if (rc == 0) {
		o->destroy(chan);
		fail_msg("caps.max_msg is %zu but create(max_msg 65536) succeeds", r->caps.max_msg);
	}
	if (!err[0])
		fail_msg("caps.max_msg %zu < 65536 and create(65536) gives no reason", r->caps.max_msg);
	diag("%s: caps.max_msg %zu (below 64 KiB); create(65536) says: %s", o->name,
	     r->caps.max_msg, err);
}

static size_t case_size(const struct conf_run *r)
{
	return r->c->size ? r->c->size : r->caps.max_msg;
}

/* Sizes: byte-exact and in order across fork (sender and receiver children). */
static void check_size(struct conf_run *r)
{
	size_t size = case_size(r);

	if (!wait_supported(r))
		conf_skip("wait %s not in caps.waits", ipc_wait_name(r->c->wait));
	if (size > r->caps.max_msg)
		conf_skip("size %zu is over caps.max_msg %zu", size, r->caps.max_msg);
	if (size > CONF_MAX_TESTED)
		conf_skip("caps.max_msg %zu is over the %zu bytes this suite sends", size,
			  CONF_MAX_TESTED);
	conf_map(r, 0);
	conf_params(r, size, 1, 1, r->c->wait, CONF_DATA_TIMEOUT_MS);
	conf_create(r, 0);
	r->msg_size = size;
	r->msg_count = r->c->size ? CONF_SIZE_MSGS : CONF_MAXSIZE_MSGS;
	conf_fork(r, 0, kid_sender);
	conf_fork(r, 1, kid_receiver);
	conf_forget(r);
	conf_finish(r);
}

/* A sender that detached and exited: once its messages are taken, recv
 * says -EPIPE (ipc.h: no sender left and nothing queued). */
static void check_eof(struct conf_run *r)
{
	if (!wait_supported(r))
		conf_skip("wait %s not in caps.waits", ipc_wait_name(r->c->wait));
	conf_map(r, 0);
	conf_params(r, CONF_MANY_SIZE, 1, 1, r->c->wait, CONF_KILL_TIMEOUT_MS);
	conf_create(r, 0);
	r->msg_size = CONF_MANY_SIZE;
	r->msg_count = CONF_KILL_AFTER;
	r->eof = true;
	conf_fork(r, 0, kid_sender);
	conf_fork(r, 1, kid_receiver);
	conf_forget(r);
	conf_finish(r);
}

/* 100 000 small messages: none lost, none duplicated, in order. */
static void check_order(struct conf_run *r)
{
	double t0;

	if (!wait_supported(r))
		conf_skip("wait %s not in caps.waits", ipc_wait_name(r->c->wait));
	conf_map(r, 0);
	conf_params(r, CONF_ORDER_SIZE, 1, 1, r->c->wait, CONF_DATA_TIMEOUT_MS);
	conf_create(r, 0);
	r->msg_size = CONF_ORDER_SIZE;
	r->msg_count = CONF_ORDER_MSGS;
	t0 = now_ms();
	conf_fork(r, 0, kid_sender);
	conf_fork(r, 1, kid_receiver);
	conf_forget(r);
	conf_reap_ok(r);
	diag("%s: %d messages of %d bytes in %.0f ms (%s, fork included; not a benchmark)",
	     r->ops->name, CONF_ORDER_MSGS, CONF_ORDER_SIZE, now_ms() - t0,
	     ipc_wait_name(r->c->wait));
	conf_finish(r);
}

/* A receiver of the many test: counts what it sees into the shared bitmap. */
static void kid_many_receiver(struct conf_run *r, unsigned idx)
{
	unsigned ns = r->c->senders, nmsg = r->msg_count;
	unsigned char *b = malloc(r->msg_size), *scratch = malloc(r->msg_size);
	long last[CONF_MANY];
	char why[300];
	void *end;

	if (!b || !scratch)
		kid_fail(r, idx, "out of memory");
	for (unsigned i = 0; i < CONF_MANY; i++)
		last[i] = -1;
	kid_attach(r, idx, 0, IPC_RECV, &end);
	for (;;) {
		ssize_t n = ipc_recv(r->ops, end, b, r->msg_size);
		struct conf_hdr h;

		atomic_fetch_add_explicit(&r->sh->moved, 1, memory_order_relaxed);

		if (msg_check(b, n, r->msg_size, -1, -1, ns, nmsg + r->params.receivers, scratch, &h,
			      why, sizeof(why)))
			kid_fail(r, idx, "receiver %u: %s", idx - ns, why);
		/* A FIFO channel: each receiver sees each sender's messages in
		 * increasing order, whatever the others take. */
		if ((long)h.seq <= last[h.src])
			kid_fail(r, idx, "receiver %u: sender %u's #%u after #%ld", idx - ns,
				 h.src, h.seq, last[h.src]);
		last[h.src] = h.seq;
		if (h.seq >= nmsg)
			break; /* an end marker: every data message is taken */
		atomic_fetch_add(&r->sh->seen[(size_t)h.src * nmsg + h.seq], 1);
	}
	r->ops->detach(end);
	_exit(0);
}

static void kid_many_sender(struct conf_run *r, unsigned idx)
{
	kid_sender(r, idx);
}

/* S senders x R receivers on one channel: every message exactly once. */
static void check_many(struct conf_run *r)
{
	unsigned ns = r->c->senders, nr = r->c->receivers;
	unsigned nmsg = r->c->wait == IPC_WAIT_SPIN ? CONF_MANY_MSGS_SPIN : CONF_MANY_MSGS;
	unsigned lost = 0, dup = 0, first_bad = 0;
	bool any_bad = false;

	if (!wait_supported(r))
		conf_skip("wait %s not in caps.waits", ipc_wait_name(r->c->wait));
	if (ns > 1 && r->caps.max_shared_send < CONF_MANY_SIZE)
		conf_skip("caps.max_shared_send is %zu: %s", r->caps.max_shared_send,
			  r->caps.max_shared_send ? "below the 64-byte messages" : "one sender only");
	if (nr > 1 && r->caps.max_shared_recv < CONF_MANY_SIZE)
		conf_skip("caps.max_shared_recv is %zu: %s", r->caps.max_shared_recv,
			  r->caps.max_shared_recv ? "below the 64-byte messages" : "one receiver only");
	conf_map(r, (size_t)ns * nmsg);
	conf_params(r, CONF_MANY_SIZE, ns, nr, r->c->wait, CONF_DATA_TIMEOUT_MS);
	conf_create(r, 0);
	r->msg_size = CONF_MANY_SIZE;
	r->msg_count = nmsg;
	/* Kid indices: senders 0..ns-1, receivers ns..ns+nr-1. */
	for (unsigned i = 0; i < ns; i++)
		conf_fork(r, i, kid_many_sender);
	for (unsigned i = 0; i < nr; i++)
		conf_fork(r, ns + i, kid_many_receiver);
	r->ops->forget(r->chan[0]);
	conf_reap_ok(r);
	for (size_t i = 0; i < (size_t)ns * nmsg; i++) {
		unsigned char k = atomic_load(&r->sh->seen[i]);

		if (k == 1)
			continue;
		if (!any_bad)
			first_bad = (unsigned)i;
		any_bad = true;
		lost += k == 0;
		dup += k > 1;
	}
	if (any_bad)
		fail_msg("%u of %u messages lost, %u duplicated (first: sender %u #%u)", lost,
			 ns * nmsg, dup, first_bad / nmsg, first_bad % nmsg);
	conf_finish(r);
}

/*
 * Kill tests: two children, the parent SIGKILLs one mid-stream (after the
 * receiver took CONF_KILL_AFTER messages); the survivor must fail with
 * -EPIPE or -ETIMEDOUT and exit 0 if it did.
 */

/* Receiver: in order; counts into sh->received.  As the victim it is
 * killed in this loop; as the survivor it leaves when recv fails. */
static void kid_kill_receiver(struct conf_run *r, unsigned idx)
{
	unsigned char b[CONF_KILL_SIZE], scratch[CONF_KILL_SIZE];
	unsigned after = 0;
	char why[300];
	void *end;
	ssize_t n;

	kid_attach(r, idx, 0, IPC_RECV, &end);
	for (uint32_t seq = 0;; seq++) {
		n = ipc_recv(r->ops, end, b, sizeof(b));
		if (n < 0)
			break;
		if (msg_check(b, n, sizeof(b), 0, seq, 1, UINT32_MAX, scratch, NULL, why, sizeof(why)))
			kid_fail(r, idx, "receiver, message %u: %s", seq, why);
		after += atomic_load(&r->sh->kill_sent) != 0;
		atomic_fetch_add(&r->sh->received, 1);
	}
	r->sh->t_fail_ms = now_ms();
	r->sh->after = after;
	r->sh->rc[0] = (int)n;
	if (!atomic_load(&r->sh->kill_sent))
		kid_fail(r, idx, "recv failed before the sender was killed: %zd (%s)", n, rc_name(n));
	if (n != -EPIPE && n != -ETIMEDOUT)
		kid_fail(r, idx, "after the sender's SIGKILL recv returned %zd (%s), want -EPIPE or -ETIMEDOUT",
			 n, rc_name(n));
	r->ops->detach(end);
	_exit(0);
}

/* Sender: sends until send fails (survivor) or it is killed (victim). */
static void kid_kill_sender(struct conf_run *r, unsigned idx)
{
	unsigned char b[CONF_KILL_SIZE];
	unsigned after = 0;
	void *end;
	int rc;

	kid_attach(r, idx, 0, IPC_SEND, &end);
	for (uint32_t seq = 0;; seq++) {
		bool killed = atomic_load(&r->sh->kill_sent) != 0;

		msg_fill(b, sizeof(b), 0, seq);
		rc = ipc_send(r->ops, end, b, sizeof(b));
		if (rc < 0)
			break;
		after += killed;
	}
	r->sh->t_fail_ms = now_ms();
	r->sh->after = after;
	r->sh->rc[0] = rc;
	if (!atomic_load(&r->sh->kill_sent))
		kid_fail(r, idx, "send failed before the receiver was killed: %d (%s)", rc, rc_name(rc));
	if (rc != -EPIPE && rc != -ETIMEDOUT)
		kid_fail(r, idx, "after the receiver's SIGKILL send returned %d (%s), want -EPIPE or -ETIMEDOUT",
			 rc, rc_name(rc));
	r->ops->detach(end);
	_exit(0);
}

/* Kid 0 sends, kid 1 receives; victim is the one killed. */
static void check_kill(struct conf_run *r, unsigned victim)
{
	const char *side = victim ? "receiver" : "sender";
	double t_kill;
	int st;

	if (!wait_supported(r))
		conf_skip("wait %s not in caps.waits", ipc_wait_name(r->c->wait));
	conf_map(r, 0);
	conf_params(r, CONF_KILL_SIZE, 1, 1, r->c->wait, CONF_KILL_TIMEOUT_MS);
	conf_create(r, 0);
	conf_fork(r, 0, kid_kill_sender);
	conf_fork(r, 1, kid_kill_receiver);
	conf_forget(r);
	conf_wait_received(r);
	atomic_store(&r->sh->kill_sent, 1);
	t_kill = now_ms();
	kill(r->pid[victim], SIGKILL);
	while (waitpid(r->pid[victim], &st, 0) < 0)
		if (errno != EINTR)
			fail_msg("waitpid: %s", strerror(errno));
	r->pid[victim] = 0;
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGKILL)
		fail_msg("the %s ended before the SIGKILL: %s", side,
			 r->sh->kid_msg[victim][0] ? r->sh->kid_msg[victim] : "(no message)");
	conf_reap_ok(r);
	diag("%s: %s got %s %.1f ms after the %s's SIGKILL (%u %s still worked)", r->ops->name,
	     victim ? "sender" : "receiver", r->sh->rc[0] == -EPIPE ? "-EPIPE" : "-ETIMEDOUT",
	     r->sh->t_fail_ms - t_kill, side, r->sh->after, victim ? "sends" : "receives");
	conf_finish(r);
}

/* Refused sends: size 0 and max_msg + 1; nothing sent. */
static void kid_refuse(struct conf_run *r, unsigned idx)
{
	size_t max = r->params.max_msg, small = CONF_MANY_SIZE < max ? CONF_MANY_SIZE : max;
	unsigned char *b = calloc(1, max + 1);
	void *end;
	int rc;

	if (!b)
		kid_fail(r, idx, "out of memory");
	kid_attach(r, idx, 0, IPC_SEND, &end);
	r->sh->rc[0] = ipc_send(r->ops, end, b, 0);
	memset(b, 0xa5, max + 1);
	r->sh->rc[1] = ipc_send(r->ops, end, b, max + 1);
	msg_fill(b, small, 0, 0);
	rc = ipc_send(r->ops, end, b, small);
	if (rc < 0)
		kid_fail(r, idx, "valid send of %zu bytes after the refused ones: %s", small, rc_name(rc));
	msg_fill(b, max, 0, 1);
	rc = ipc_send(r->ops, end, b, max);
	if (rc < 0)
		kid_fail(r, idx, "valid send of max_msg %zu bytes after the refused ones: %s", max,
			 rc_name(rc));
	r->ops->detach(end);
	_exit(0);
}

/* The next message after the refused ones is the valid one, not garbage. */
static void kid_refuse_receiver(struct conf_run *r, unsigned idx)
{
	size_t max = r->params.max_msg, small = CONF_MANY_SIZE < max ? CONF_MANY_SIZE : max;
	unsigned char *b = malloc(max + 1), *scratch = malloc(max + 1);
	char why[300];
	void *end;
	ssize_t n;

	if (!b || !scratch)
		kid_fail(r, idx, "out of memory");
	kid_attach(r, idx, 0, IPC_RECV, &end);
	n = ipc_recv(r->ops, end, b, max + 1);
	if (msg_check(b, n, small, 0, 0, 1, 2, scratch, NULL, why, sizeof(why)))
		kid_fail(r, idx, "first message after the refused sends: %s", why);
	n = ipc_recv(r->ops, end, b, max + 1);
	if (msg_check(b, n, max, 0, 1, 1, 2, scratch, NULL, why, sizeof(why)))
		kid_fail(r, idx, "second message (max_msg %zu bytes): %s", max, why);
	r->ops->detach(end);
	_exit(0);
}

static void check_refuse(struct conf_run *r)
{
	size_t max = r->caps.max_msg < CONF_MAX_TESTED ? r->caps.max_msg : CONF_MAX_TESTED;

	conf_map(r, 0);
	conf_params(r, max, 1, 1, IPC_WAIT_BLOCK, CONF_DATA_TIMEOUT_MS);
	conf_create(r, 0);
	conf_fork(r, 0, kid_refuse);
	conf_fork(r, 1, kid_refuse_receiver);
	conf_forget(r);
	conf_reap_ok(r);
	if (r->sh->rc[0] != -EINVAL)
		fail_msg("send of 0 bytes returned %d (%s), want -EINVAL", r->sh->rc[0],
			 rc_name(r->sh->rc[0]));
	if (r->sh->rc[1] != -EMSGSIZE)
		fail_msg("send of max_msg + 1 = %zu bytes returned %d (%s), want -EMSGSIZE", max + 1,
			 r->sh->rc[1], rc_name(r->sh->rc[1]));
	conf_finish(r);
}

/* One create() that must be refused: an error, a reason, nothing left. */
static void refuse_create(struct conf_run *r, const char *what)
{
	char names[1024];
	char err[IPC_ERRLEN] = "";
	void *chan = NULL;
	int rc = r->ops->create(&r->params, &chan, err);

	if (rc == 0) {
		r->ops->destroy(chan);
		fail_msg("create(%s) succeeded; it cannot be honoured", what);
	}
	if (!err[0])
		fail_msg("create(%s) returned %d (%s) with an empty err line", what, rc, rc_name(rc));
	if (rc != -EINVAL && rc != -EMSGSIZE && rc != -ENOTSUP)
		fail_msg("create(%s) returned %d (%s), want -EINVAL, -EMSGSIZE or -ENOTSUP (err: %s)",
			 what, rc, rc_name(rc), err);
	if (conf_leak_check(r->c->env, r->before, names, sizeof(names)))
		fail_msg("refused create(%s) left %s", what, names);
}

static void check_create(struct conf_run *r)
{
	const struct ipc_caps *k = &r->caps;
	char what[128];

	if (k->max_msg < SIZE_MAX) {
		snprintf(what, sizeof(what), "max_msg %zu = caps.max_msg + 1", k->max_msg + 1);
		conf_params(r, k->max_msg + 1, 1, 1, IPC_WAIT_BLOCK, 0);
		refuse_create(r, what);
	}
	conf_params(r, 0, 1, 1, IPC_WAIT_BLOCK, 0);
	refuse_create(r, "max_msg 0");
	if (k->max_shared_send == 0) {
		conf_params(r, CONF_MANY_SIZE, CONF_MANY, 1, IPC_WAIT_BLOCK, 0);
		refuse_create(r, "4 senders; caps.max_shared_send is 0");
	} else if (k->max_shared_send < k->max_msg) {
		snprintf(what, sizeof(what), "4 senders, max_msg %zu = caps.max_shared_send + 1",
			 k->max_shared_send + 1);
		conf_params(r, k->max_shared_send + 1, CONF_MANY, 1, IPC_WAIT_BLOCK, 0);
		refuse_create(r, what);
	}
	if (k->max_shared_recv == 0) {
		conf_params(r, CONF_MANY_SIZE, 1, CONF_MANY, IPC_WAIT_BLOCK, 0);
		refuse_create(r, "4 receivers; caps.max_shared_recv is 0");
	} else if (k->max_shared_recv < k->max_msg) {
		snprintf(what, sizeof(what), "4 receivers, max_msg %zu = caps.max_shared_recv + 1",
			 k->max_shared_recv + 1);
		conf_params(r, k->max_shared_recv + 1, 1, CONF_MANY, IPC_WAIT_BLOCK, 0);
		refuse_create(r, what);
	}
	for (unsigned w = 0; w <= IPC_WAIT_COUNT; w++) {
		if (w < IPC_WAIT_COUNT && (k->waits & IPC_WAIT_BIT(w)))
			continue;
		snprintf(what, sizeof(what), "wait %u (%s), not in caps.waits", w,
			 ipc_wait_name((enum ipc_wait)w));
		conf_params(r, CONF_MANY_SIZE, 1, 1, (enum ipc_wait)w, 0);
		refuse_create(r, what);
	}
	conf_finish(r);
}

/* Two channels with the same params at once: separate objects, 0600/0700,
 * messages do not cross. */
static void kid_two(struct conf_run *r, unsigned idx)
{
	unsigned char b[CONF_MANY_SIZE];
	void *end[2];

	kid_attach(r, idx, 0, IPC_SEND, &end[0]);
	kid_attach(r, idx, 1, IPC_SEND, &end[1]);
	for (uint32_t seq = 0; seq < CONF_TWO_MSGS; seq++)
		for (uint32_t ch = 0; ch < 2; ch++) {
			int rc;

			msg_fill(b, sizeof(b), ch, seq);
			rc = ipc_send(r->ops, end[ch], b, sizeof(b));
			if (rc < 0)
				kid_fail(r, idx, "channel %u send #%u: %s", ch, seq, rc_name(rc));
		}
	r->ops->detach(end[0]);
	r->ops->detach(end[1]);
	_exit(0);
}

/* Objects in now that were not in before must be private to their owner:
 * mode 0600 (0700 for a directory).  0, or -1 with why filled. */
static int check_modes(const struct leak_snap *before, const struct leak_snap *now,
		       char *why, size_t wlen)
{
	for (unsigned i = 0; i < now->n; i++) {
		bool old = false;
		struct stat st;
		unsigned want;

		for (unsigned j = 0; j < before->n && !old; j++)
			old = strcmp(now->names[i], before->names[j]) == 0;
		if (old || stat(now->names[i], &st) < 0)
			continue; /* not ours, or already unlinked after open: fine */
		want = S_ISDIR(st.st_mode) ? 0700 : 0600;
		if ((st.st_mode & 0777) != want) {
			snprintf(why, wlen, "%s has mode %03o, want %03o", now->names[i],
				 (unsigned)st.st_mode & 0777, want);
			return -1;
		}
	}
	return 0;
}

/* Receives both channels alternately: each carries only its own tag. */
static void kid_two_receiver(struct conf_run *r, unsigned idx)
{
	unsigned char b[CONF_MANY_SIZE], scratch[CONF_MANY_SIZE];
	char why[300];
	void *end[2];

	kid_attach(r, idx, 0, IPC_RECV, &end[0]);
	kid_attach(r, idx, 1, IPC_RECV, &end[1]);
	for (uint32_t seq = 0; seq < CONF_TWO_MSGS; seq++)
		for (uint32_t ch = 0; ch < 2; ch++) {
			ssize_t n = ipc_recv(r->ops, end[ch], b, sizeof(b));

			if (msg_check(b, n, sizeof(b), ch, seq, 2, CONF_TWO_MSGS, scratch, NULL, why,
				      sizeof(why)))
				kid_fail(r, idx, "channel %u, message %u: %s", ch, seq, why);
		}
	r->ops->detach(end[0]);
	r->ops->detach(end[1]);
	_exit(0);
}

static void check_two(struct conf_run *r)
{
	struct leak_snap *now = malloc(sizeof(*now));
	char why[300];
	int bad;

	if (!now)
		fail_msg("out of memory");
	conf_map(r, 0);
	conf_params(r, CONF_MANY_SIZE, 1, 1, IPC_WAIT_BLOCK, CONF_DATA_TIMEOUT_MS);
	conf_create(r, 0);
	conf_create(r, 1);
	conf_snapshot(r->c->env, now);
	bad = check_modes(r->before, now, why, sizeof(why));
	free(now);
	if (bad)
		fail_msg("%s", why);
	conf_fork(r, 0, kid_two);
	conf_fork(r, 1, kid_two_receiver);
	conf_forget(r);
	conf_finish(r);
}

static void conf_test(void **state)
{
	struct conf_run *r = *state;

	if (r->c->kind == K_REGISTRY) {
		check_registry(r);
		return;
	}
	if (r->c->kind == K_CAPS) {
		check_caps(r);
		return;
	}
	if (r->c->kind == K_RANKS) {
		check_ranks_only(r);
		return;
	}
	if (r->c->kind == K_RANKS_SKIP) {
		conf_skip("its ends are MPI ranks, not forked children: tests/mpi.t checks it under mpirun; the dead-peer checks do not apply (Open MPI's default error handler ends the whole job when a peer dies)");
		return;
	}
	if (r->c->mech && r->c->mech->hangs >= CONF_HANGS_MAX)
		fail_msg("not run: %u earlier tests of %s hung until the %d s alarm",
			 r->c->mech->hangs, r->ops->name, CONF_ALARM_S);
	conf_caps(r);
	switch (r->c->kind) {
	case K_SIZE:
		check_size(r);
		break;
	case K_ORDER:
		check_order(r);
		break;
	case K_EOF:
		check_eof(r);
		break;
	case K_MANY:
		check_many(r);
		break;
	case K_KILL_RECV:
		check_kill(r, 1);
		break;
	case K_KILL_SEND:
		check_kill(r, 0);
		break;
	case K_REFUSE:
		check_refuse(r);
		break;
	case K_CREATE:
		check_create(r);
		break;
	case K_TWO:
		check_two(r);
		break;
	case K_EXPORT:
		check_export(r);
		break;
	default:
		fail_msg("unknown check %d", r->c->kind);
	}
}

/* ---- the test list ------------------------------------------------------- */

struct conf_list {
	struct conf_case *cases;
	size_t n, cap;
	struct conf_mech *mechs; /* one per registered table */
	size_t nmech;
};

static void add_case(struct conf_list *l, const struct conf_case *proto, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_case(struct conf_list *l, const struct conf_case *proto, const char *fmt, ...)
{
	struct conf_case *c;
	va_list ap;

	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 64;
		l->cases = realloc(l->cases, l->cap * sizeof(*l->cases));
		if (!l->cases)
			abort();
	}
	c = &l->cases[l->n++];
	*c = *proto;
	va_start(ap, fmt);
	if (vasprintf(&c->name, fmt, ap) < 0)
		abort();
	va_end(ap);
}

static void add_mechanism(struct conf_list *l, const struct conf_env *env, const struct ipc_ops *op)
{
	static const struct { unsigned s, r; } many[] = { { 4, 4 }, { 4, 1 }, { 1, 4 } };
	struct ipc_caps caps = { 0 };
	char err[IPC_ERRLEN] = "";
	struct conf_case p = { .env = env, .ops = op, .mech = &l->mechs[l->nmech++] };
	unsigned waits;
	bool max_listed = false;

	if (op->ranks_only) {
		p.kind = K_RANKS;
		add_case(l, &p, "%s: table complete with export/import, create refused outside an MPI job", op->name);
		p.kind = K_RANKS_SKIP;
		add_case(l, &p, "%s: data and dead-peer checks between forked children", op->name);
		return;
	}
	if (op->caps && op->caps(&caps, err) == 0) {
		waits = caps.waits & (IPC_WAIT_BIT(IPC_WAIT_COUNT) - 1);
	} else {
		waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK); /* the caps test says why */
		caps.max_msg = 0;
	}
	p.kind = K_CAPS;
	add_case(l, &p, "%s: table complete, caps sane", op->name);
	for (size_t i = 0; i < sizeof(conf_sizes) / sizeof(conf_sizes[0]); i++)
		max_listed |= conf_sizes[i] == caps.max_msg;
	/* Block and spin always (a missing one is a skip that says so). */
	waits |= IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	for (unsigned w = 0; w < IPC_WAIT_COUNT; w++) {
		const char *wn = ipc_wait_name((enum ipc_wait)w);

		if (!(waits & IPC_WAIT_BIT(w)))
			continue;
		p.wait = (enum ipc_wait)w;
		p.kind = K_SIZE;
		for (size_t i = 0; i < sizeof(conf_sizes) / sizeof(conf_sizes[0]); i++) {
			p.size = conf_sizes[i];
			add_case(l, &p, "%s: size %zu byte-exact, in order (%s)", op->name, p.size, wn);
		}
		if (!max_listed) {
			p.size = 0;
			add_case(l, &p, "%s: size caps.max_msg (%zu) byte-exact, in order (%s)",
				 op->name, caps.max_msg, wn);
		}
		p.kind = K_ORDER;
		add_case(l, &p, "%s: %d messages in order, none lost or duplicated (%s)", op->name,
			 CONF_ORDER_MSGS, wn);
		p.kind = K_EOF;
		add_case(l, &p, "%s: recv says -EPIPE after the sender detached and exited (%s)",
			 op->name, wn);
		p.kind = K_MANY;
		for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
			p.senders = many[i].s;
			p.receivers = many[i].r;
			add_case(l, &p, "%s: %u sender%s x %u receiver%s, every message once (%s)",
				 op->name, p.senders, p.senders > 1 ? "s" : "", p.receivers,
				 p.receivers > 1 ? "s" : "", wn);
		}
		p.kind = K_KILL_RECV;
		add_case(l, &p, "%s: receiver SIGKILLed mid-stream, send fails, nothing left (%s)",
			 op->name, wn);
		p.kind = K_KILL_SEND;
		add_case(l, &p, "%s: sender SIGKILLed mid-stream, recv fails, nothing left (%s)",
			 op->name, wn);
	}
	p.wait = IPC_WAIT_BLOCK;
	p.kind = K_REFUSE;
	add_case(l, &p, "%s: send of size 0 and max_msg+1 refused, nothing sent", op->name);
	p.kind = K_CREATE;
	add_case(l, &p, "%s: create refuses params it cannot honour, with a reason, leaving nothing",
		 op->name);
	p.kind = K_TWO;
	add_case(l, &p, "%s: two channels with the same params do not collide", op->name);
	if (op->export_chan || op->import_chan) {
		p.kind = K_EXPORT;
		add_case(l, &p, "%s: exported, re-opened from its line, %d messages byte-exact in order; a bad line refused; nothing left",
			 op->name, CONF_EXPORT_MSGS);
	}
}

/* IPCLAB_CONFORMANCE_ONLY=a,b: only these mechanisms (a developer's loop
 * while writing one); unset or empty: every registered table. */
static bool mech_selected(const char *name)
{
	const char *only = getenv("IPCLAB_CONFORMANCE_ONLY");
	size_t n = strlen(name);

	if (!only || !*only)
		return true;
	for (const char *p = only; *p;) {
		size_t k = strcspn(p, ",");

		if (k == n && strncmp(p, name, n) == 0)
			return true;
		p += k + (p[k] == ',');
	}
	return false;
}

int main(void)
{
	struct conf_env env;
	struct conf_list l = { 0 };
	struct conf_case reg = { .env = &env, .kind = K_REGISTRY };
	struct CMUnitTest *tests;
	const struct ipc_ops *op;
	int rc;

	conf_env_setup(&env);
	diag("conformance: %s", env.note);
	signal(SIGPIPE, SIG_IGN);
	add_case(&l, &reg, "registry: names unique, ipc_find finds each, wait names round-trip");
	ipc_for_each(op)
		l.nmech++;
	l.mechs = calloc(l.nmech + 1, sizeof(*l.mechs));
	if (!l.mechs)
		abort();
	l.nmech = 0;
	ipc_for_each(op)
		if (mech_selected(op->name))
			add_mechanism(&l, &env, op);
	tests = calloc(l.n, sizeof(*tests));
	if (!tests)
		abort();
	for (size_t i = 0; i < l.n; i++)
		tests[i] = (struct CMUnitTest){ .name = l.cases[i].name, .test_func = conf_test,
						.setup_func = conf_setup,
						.teardown_func = conf_teardown,
						.initial_state = &l.cases[i] };
	rc = tap_run("conformance", tests, l.n);
	for (size_t i = 0; i < l.n; i++)
		free(l.cases[i].name);
	free(l.cases);
	free(l.mechs);
	free(tests);
	return rc;
}
