/* t_shmring.c - the shared-memory ring beyond conformance: wrap-around with
 * variable sizes, SPSC and MPMC across processes under every wait strategy,
 * peer death, timeouts, and corruption of the shared area (bad indices, bad
 * lengths, random bytes) which must give -EPROTO, never an out-of-bounds
 * read and never a hang.  No timing threshold anywhere.
 *
 * Why this file is long: each corruption and wrap-around case needs its own
 * setup of the shared area; they share one set of ring fixtures. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc.h"
#include "shmring.h"
#include "testutil.h"

extern const struct ipc_ops ipc_shmring_ops;
#define R (&ipc_shmring_ops)

/* One test must finish within this (seconds); SIGALRM kills a hang. */
#define TEST_ALARM_S 120
/* A forked child gives up after this (alarm is not inherited by fork). */
#define CHILD_ALARM_S 100
/* Messages of the cross-process SPSC runs (the conformance size). */
#define SPSC_MSGS 100000u
/* Messages per sender in the MPMC runs: 8 processes on 2 CPUs in spin mode
 * make progress at timeslice pace, so fewer there. */
#define MPMC_MSGS 20000u
#define MPMC_MSGS_SPIN 3000u
#define MPMC_MAX_SENDERS 4u
/* Largest message of the small-message runs (several laps of a 64 KiB ring). */
#define SMALL_MAX 512u
/* Trials of the random-bytes corruption tests (fixed seeds: reproducible). */
#define RANDOM_TRIALS 200u
/* Short timeout for tests that expect -ETIMEDOUT (ms). */
#define SHORT_TIMEOUT_MS 30u

struct guard {
	struct leak_snap before;
};

static int guard_setup(void **state)
{
	struct guard *g = malloc(sizeof(*g));

	if (!g)
		return -1;
	leak_snapshot(&g->before);
	alarm(TEST_ALARM_S);
	*state = g;
	return 0;
}

/*
 * New ipclab objects that this executable made.  Every channel here is
 * created by the test process itself, so its names carry our pid
 * ("/ipclab-shmring-PID-..."); other suites running at the same time on a
 * shared machine create objects too, and those are not ours to report.
 */
static unsigned own_leaks(const struct leak_snap *before, char *out, size_t len)
{
	char all[4096], mine[64], *tok, *save = NULL;
	unsigned n = 0;
	size_t used = 0;

	snprintf(mine, sizeof(mine), "ipclab-shmring-%ld-", (long)getpid());
	out[0] = '\0';
	if (!leak_check(before, all, sizeof(all)))
		return 0;
	for (tok = strtok_r(all, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strstr(tok, mine))
			continue;
		n++;
		if (used < len) {
			int k = snprintf(out + used, len - used, "%s%s", used ? " " : "", tok);

			if (k > 0)
				used += (size_t)k;
		}
	}
	return n;
}

static int guard_teardown(void **state)
{
	struct guard *g = *state;
	char names[4096];
	unsigned leaked = own_leaks(&g->before, names, sizeof(names));
	unsigned zombies = zombie_children();

	alarm(0);
	free(g);
	if (leaked)
		print_error("left behind: %s\n", names);
	if (zombies) {
		print_error("%u zombie children\n", zombies);
		/* Reap them so one failure does not fail every later test. */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
	}
	return leaked || zombies ? -1 : 0;
}

/* ---- messages that check themselves ------------------------------------ */

static uint8_t pat(uint32_t id, uint32_t seq, size_t i)
{
	return (uint8_t)(id * 131u + seq * 31u + i * 7u + (i >> 8));
}

/* len >= 8: id and seq in the first 8 bytes, a pattern after. */
static void fill(uint8_t *b, size_t len, uint32_t id, uint32_t seq)
{
	size_t i = 0;

	if (len >= 8) {
		memcpy(b, &id, 4);
		memcpy(b + 4, &seq, 4);
		i = 8;
	}
	for (; i < len; i++)
		b[i] = pat(id, seq, i);
}

static bool check(const uint8_t *b, size_t len, uint32_t *id, uint32_t *seq)
{
	size_t i = 0;

	if (len >= 8) {
		memcpy(id, b, 4);
		memcpy(seq, b + 4, 4);
		i = 8;
	}
	for (; i < len; i++)
		if (b[i] != pat(*id, *seq, i))
			return false;
	return true;
}

/* A size in [lo, hi] that varies with seq. */
static size_t size_for(uint32_t seq, size_t lo, size_t hi)
{
	return lo + (size_t)((seq * 2654435761u) % (uint32_t)(hi - lo + 1));
}

/* ---- processes ----------------------------------------------------------- */

typedef int (*child_fn)(void *arg);

static pid_t spawn(child_fn fn, void *arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(CHILD_ALARM_S);
		_exit(fn(arg));
	}
	return pid;
}

/* Exit status, or 128 + signal. */
static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static struct shmring_ctl *ctl_of(void *chan, unsigned char **data, size_t *data_len)
{
	void *base;
	size_t len;

	assert_int_equal(shmring_debug_area(chan, &base, &len), 0);
	if (data)
		*data = (unsigned char *)base + SHMRING_DATA_OFFSET;
	if (data_len)
		*data_len = len - SHMRING_DATA_OFFSET;
	return base;
}

static void *make(size_t max_msg, unsigned depth, unsigned s, unsigned r,
		  enum ipc_wait w, unsigned timeout_ms)
{
	struct ipc_params p = {
		.max_msg = max_msg, .depth = depth, .senders = s, .receivers = r,
		.wait = w, .timeout_ms = timeout_ms,
	};
	char err[IPC_ERRLEN] = "";
	void *ch = NULL;
	int rc = R->create(&p, &ch, err);

	if (rc)
		print_error("create: %d %s\n", rc, err);
	assert_int_equal(rc, 0);
	return ch;
}

static void *end_of(void *ch, enum ipc_role role)
{
	char err[IPC_ERRLEN] = "";
	void *e = NULL;
	int rc = R->attach(ch, role, &e, err);

	if (rc)
		print_error("attach: %d %s\n", rc, err);
	assert_int_equal(rc, 0);
	return e;
}

/* ---- caps and parameters ------------------------------------------------- */

static void test_caps(void **state)
{
	struct ipc_caps c;

	(void)state;
	assert_int_equal(R->caps(&c, NULL), 0);
	assert_int_equal(c.max_msg, 1u << 20);
	assert_int_equal(c.max_shared_send, c.max_msg);
	assert_int_equal(c.max_shared_recv, c.max_msg);
	assert_int_equal(c.waits, IPC_WAIT_BIT(IPC_WAIT_SPIN) | IPC_WAIT_BIT(IPC_WAIT_BLOCK) |
			 IPC_WAIT_BIT(IPC_WAIT_HYBRID));
	assert_string_equal(R->name, "shmring");
}

static void expect_refused(struct ipc_params p, int want, const char *needle)
{
	char err[IPC_ERRLEN] = "";
	void *ch = NULL;

	assert_int_equal(R->create(&p, &ch, err), want);
	assert_null(ch);
	if (!strstr(err, needle)) {
		print_error("error line \"%s\" does not name \"%s\"\n", err, needle);
		fail();
	}
}

static void test_create_refuses(void **state)
{
	struct ipc_params ok = { .max_msg = 64, .senders = 1, .receivers = 1,
				 .wait = IPC_WAIT_SPIN, .timeout_ms = 1000 };
	struct ipc_params p;

	(void)state;
	p = ok, p.max_msg = 0;
	expect_refused(p, -EINVAL, "max_msg 0");
	p = ok, p.max_msg = (1u << 20) + 1;
	expect_refused(p, -EMSGSIZE, "1048576");
	p = ok, p.senders = 0;
	expect_refused(p, -EINVAL, "1..1024");
	p = ok, p.receivers = SHMRING_MAX_PEERS + 1;
	expect_refused(p, -EINVAL, "1..1024");
	p = ok, p.wait = (enum ipc_wait)7;
	expect_refused(p, -EINVAL, "wait");
	p = ok, p.max_msg = 1u << 20, p.depth = 100000;
	expect_refused(p, -EINVAL, "ring limit");
}

/* The shm name is unlinked in create: nothing to leak even before destroy. */
static void test_no_name_left(void **state)
{
	struct guard *g = *state;
	char names[4096];
	void *a = make(64, 0, 1, 1, IPC_WAIT_SPIN, 1000);
	void *b = make(64, 0, 1, 1, IPC_WAIT_SPIN, 1000);

	assert_int_equal(own_leaks(&g->before, names, sizeof(names)), 0);
	R->destroy(a);
	R->destroy(b);
}

static bool shm_exists(const char *name)
{
	char path[IPC_ERRLEN + 16];

	snprintf(path, sizeof(path), "/dev/shm%s", name);
	return access(path, F_OK) == 0;
}

/*
 * Exported (MPI ranks): the name lives until the last of senders +
 * receivers attached, then goes before destroy; an importer whose line
 * does not match the object, or cannot be read, is refused; a channel
 * destroyed before everyone attached leaves nothing either (the guard).
 */
static void test_exported_name(void **state)
{
	struct ipc_params p = { .max_msg = 100, .senders = 1, .receivers = 1, .wait = IPC_WAIT_SPIN,
				.timeout_ms = 1000, .exported = 1 };
	char err[IPC_ERRLEN] = "", line[IPC_ERRLEN], bad[IPC_ERRLEN], name[IPC_ERRLEN];
	unsigned long long max = 0, data = 0;
	void *ch, *im, *s, *r, *x = NULL, *unused;
	const char *at;
	uint8_t buf[100];
	uint32_t id = 0, seq = 0;

	(void)state;
	assert_int_equal(R->create(&p, &ch, err), 0);
	assert_int_equal(R->export_chan(ch, line, sizeof(line), err), 0);
	at = strstr(line, " name=/");
	assert_non_null(at);
	snprintf(name, sizeof(name), "%s", at + 6);
	assert_true(shm_exists(name));
	assert_int_equal(sscanf(line, "max=%llu data=%llu", &max, &data), 2);
	snprintf(bad, sizeof(bad), "max=%llu data=%llu%s", max, data * 2, strstr(line, " senders="));
	assert_int_equal(R->import_chan(bad, &x, err), -EPROTO);
	snprintf(bad, sizeof(bad), "max=%llu data=%llu%s", max, data + 8, strstr(line, " senders="));
	assert_int_equal(R->import_chan(bad, &x, err), -EINVAL);
	assert_int_equal(R->import_chan("max=100 nonsense", &x, err), -EINVAL);
	assert_null(x);
	assert_int_equal(R->import_chan(line, &im, err), 0);
	assert_int_equal(R->attach(ch, IPC_RECV, &r, err), 0);
	assert_true(shm_exists(name)); /* the sender has not attached yet */
	assert_int_equal(R->attach(im, IPC_SEND, &s, err), 0);
	assert_false(shm_exists(name)); /* every end attached: gone before destroy */
	fill(buf, 100, 3, 4);
	assert_int_equal(R->send(s, buf, 100), 0);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(R->recv(r, buf, sizeof(buf)), 100);
	assert_true(check(buf, 100, &id, &seq));
	assert_int_equal(id, 3);
	assert_int_equal(seq, 4);
	R->detach(s);
	R->detach(r);
	R->destroy(im);
	R->destroy(ch);
	/* Exported and destroyed with nobody attached: the guard sees no name. */
	assert_int_equal(R->create(&p, &unused, err), 0);
	R->destroy(unused);
}

static void test_send_sizes(void **state)
{
	void *ch = make(100, 0, 1, 1, IPC_WAIT_SPIN, 1000);
	void *s = end_of(ch, IPC_SEND), *r = end_of(ch, IPC_RECV);
	uint8_t buf[101] = { 0 };
	uint8_t *small = malloc(99); /* exactly 99: ASan catches an overrun */

	(void)state;
	assert_int_equal(R->send(s, buf, 0), -EINVAL);
	assert_int_equal(R->send(s, buf, 101), -EMSGSIZE);
	fill(buf, 100, 1, 2);
	assert_int_equal(R->send(s, buf, 100), 0);
	/* Too small a buffer: refused, and the message stays queued. */
	assert_int_equal(R->recv(r, small, 99), -EMSGSIZE);
	memset(buf, 0, sizeof(buf));
	assert_int_equal(R->recv(r, buf, sizeof(buf)), 100);
	{
		uint32_t id = 0, seq = 0;

		assert_true(check(buf, 100, &id, &seq));
		assert_int_equal(id, 1);
		assert_int_equal(seq, 2);
	}
	free(small);
	R->detach(s);
	R->detach(r);
	R->destroy(ch);
}

/* A second sender on an SPSC channel would break it: refused. */
static void test_spsc_one_sender(void **state)
{
	void *ch = make(64, 0, 1, 1, IPC_WAIT_SPIN, 1000);
	void *s = end_of(ch, IPC_SEND), *s2 = NULL;
	char err[IPC_ERRLEN] = "";

	(void)state;
	assert_int_equal(R->attach(ch, IPC_SEND, &s2, err), -EBUSY);
	assert_non_null(strstr(err, "one sender"));
	R->detach(s);
	/* After the first left, another may come. */
	s2 = end_of(ch, IPC_SEND);
	R->detach(s2);
	R->destroy(ch);
}

/* Two channels with the same parameters: separate rings. */
static void test_two_channels(void **state)
{
	void *a = make(64, 0, 1, 1, IPC_WAIT_SPIN, 1000);
	void *b = make(64, 0, 1, 1, IPC_WAIT_SPIN, 1000);
	void *as = end_of(a, IPC_SEND), *ar = end_of(a, IPC_RECV);
	void *bs = end_of(b, IPC_SEND), *br = end_of(b, IPC_RECV);
	uint8_t m[64];
	uint32_t id = 0, seq = 0;

	(void)state;
	assert_ptr_not_equal(ctl_of(a, NULL, NULL), ctl_of(b, NULL, NULL));
	fill(m, 64, 1, 0);
	assert_int_equal(R->send(as, m, 64), 0);
	fill(m, 40, 2, 0);
	assert_int_equal(R->send(bs, m, 40), 0);
	assert_int_equal(R->recv(br, m, 64), 40);
	assert_true(check(m, 40, &id, &seq));
	assert_int_equal(id, 2);
	assert_int_equal(R->recv(ar, m, 64), 64);
	assert_true(check(m, 64, &id, &seq));
	assert_int_equal(id, 1);
	R->detach(as), R->detach(ar), R->detach(bs), R->detach(br);
	R->destroy(a);
	R->destroy(b);
}

/* ---- wrap-around ----------------------------------------------------------- */

/* In one process: bursts of 1..8 messages of 1..1000 bytes, sent then
 * received, until the ring wrapped 20 times; every byte checked. */
static void test_wrap_variable(void **state)
{
	const size_t maxm = 1000;
	void *ch = make(maxm, 2, 1, 1, IPC_WAIT_SPIN, 1000);
	struct shmring_ctl *c = ctl_of(ch, NULL, NULL);
	void *s = end_of(ch, IPC_SEND), *r = end_of(ch, IPC_RECV);
	uint8_t *out = malloc(maxm), *in = malloc(maxm);
	uint32_t seq = 0, rseq = 0, burst = 0;
	uint64_t size = c->data_size;

	(void)state;
	while (atomic_load(&c->prod_tail) < 20 * size) {
		unsigned k = 1 + burst++ % 8;

		for (unsigned i = 0; i < k; i++, seq++) {
			size_t len = size_for(seq, 1, maxm);

			fill(out, len, 7, seq);
			assert_int_equal(R->send(s, out, len), 0);
		}
		for (unsigned i = 0; i < k; i++, rseq++) {
			size_t len = size_for(rseq, 1, maxm);
			ssize_t n = R->recv(r, in, maxm);
			uint32_t id = 7, sq = rseq;

			assert_int_equal(n, (ssize_t)len);
			assert_true(check(in, len, &id, &sq));
			if (len >= 8) {
				assert_int_equal(id, 7);
				assert_int_equal(sq, rseq);
			}
		}
	}
	assert_int_equal(atomic_load(&c->cons_tail), atomic_load(&c->prod_tail));
	free(out);
	free(in);
	R->detach(s);
	R->detach(r);
	R->destroy(ch);
}

/* Fill the ring until send times out, then drain: all in order. */
static void test_full_ring(void **state)
{
	for (enum ipc_wait w = 0; w < IPC_WAIT_COUNT; w++) {
		void *ch = make(200, 2, 1, 1, w, SHORT_TIMEOUT_MS);
		void *s = end_of(ch, IPC_SEND), *r = end_of(ch, IPC_RECV);
		uint8_t m[200];
		uint32_t n = 0, id = 0, seq = 0;
		int rc;

		(void)state;
		for (;;) {
			fill(m, size_for(n, 8, 200), 3, n);
			rc = R->send(s, m, size_for(n, 8, 200));
			if (rc)
				break;
			n++;
		}
		assert_int_equal(rc, -ETIMEDOUT);
		assert_true(n > 100); /* 64 KiB of ring, records <= 208 bytes */
		for (uint32_t i = 0; i < n; i++) {
			assert_int_equal(R->recv(r, m, sizeof(m)), (ssize_t)size_for(i, 8, 200));
			assert_true(check(m, size_for(i, 8, 200), &id, &seq));
			assert_int_equal(seq, i);
		}
		assert_int_equal(R->recv(r, m, sizeof(m)), -ETIMEDOUT);
		R->detach(s);
		R->detach(r);
		R->destroy(ch);
	}
}

static void test_recv_timeout(void **state)
{
	(void)state;
	for (enum ipc_wait w = 0; w < IPC_WAIT_COUNT; w++) {
		void *ch = make(64, 0, 1, 1, w, SHORT_TIMEOUT_MS);
		void *s = end_of(ch, IPC_SEND), *r = end_of(ch, IPC_RECV);
		uint8_t m[64];

		/* A sender is attached and alive: a timeout, not -EPIPE. */
		assert_int_equal(R->recv(r, m, sizeof(m)), -ETIMEDOUT);
		R->detach(s);
		R->detach(r);
		R->destroy(ch);
	}
}

/* ---- SPSC across processes ------------------------------------------------ */

struct stream_arg {
	void *ch;
	uint32_t id;
	uint32_t count;
	size_t lo, hi;
};

static int sender_child(void *arg)
{
	struct stream_arg *a = arg;
	uint8_t *m = malloc(a->hi);
	char err[IPC_ERRLEN];
	void *s;

	if (!m || R->attach(a->ch, IPC_SEND, &s, err))
		return 10;
	for (uint32_t i = 0; i < a->count; i++) {
		size_t len = size_for(i + a->id, a->lo, a->hi);

		fill(m, len, a->id, i);
		if (R->send(s, m, len))
			return 11;
	}
	R->detach(s);
	free(m);
	return 0;
}

static void spsc_run(enum ipc_wait w, size_t lo, size_t hi, uint32_t count)
{
	void *ch = make(hi, 0, 1, 1, w, 0);
	struct stream_arg a = { .ch = ch, .id = 5, .count = count, .lo = lo, .hi = hi };
	uint8_t *m = malloc(hi);
	pid_t pid = spawn(sender_child, &a);
	void *r = end_of(ch, IPC_RECV);
	ssize_t n;

	assert_true(pid > 0);
	for (uint32_t i = 0; i < count; i++) {
		uint32_t id = 0, seq = 0;

		n = R->recv(r, m, hi);
		if (n != (ssize_t)size_for(i + 5, lo, hi) || !check(m, (size_t)n, &id, &seq) ||
		    id != 5 || seq != i) {
			print_error("message %u: got %zd bytes, id %u seq %u\n", i, n, id, seq);
			kill(pid, SIGKILL);
			reap(pid);
			fail();
		}
	}
	/* The sender detached and exited: nothing queued -> -EPIPE, even with
	 * timeout 0 (wait forever). */
	assert_int_equal(R->recv(r, m, hi), -EPIPE);
	assert_int_equal(reap(pid), 0);
	free(m);
	R->detach(r);
	R->destroy(ch);
}

static void test_spsc_spin(void **state)
{
	(void)state;
	spsc_run(IPC_WAIT_SPIN, 8, SMALL_MAX, SPSC_MSGS);
}

static void test_spsc_block(void **state)
{
	(void)state;
	spsc_run(IPC_WAIT_BLOCK, 8, SMALL_MAX, SPSC_MSGS);
}

static void test_spsc_hybrid(void **state)
{
	(void)state;
	spsc_run(IPC_WAIT_HYBRID, 8, SMALL_MAX, SPSC_MSGS);
}

/* Bursts then silence (block, hybrid): a sender may defer the wake-up of
 * a receiver that sleeps short while it streams; the last messages of a
 * burst must still arrive while the sender sits idle (attached, silent
 * until the receiver acknowledges the whole burst).  A stranded message
 * shows as -ETIMEDOUT. */
#define BURSTS 30u
#define BURST_MSGS 400u
#define BURST_TIMEOUT_MS 3000u

struct burst_arg {
	void *ch;
	int ack_r; /* one byte per burst received whole */
};

static int burst_sender(void *arg)
{
	struct burst_arg *a = arg;
	uint8_t m[64];
	char err[IPC_ERRLEN], b;
	void *s;

	if (R->attach(a->ch, IPC_SEND, &s, err))
		return 10;
	for (uint32_t k = 0; k < BURSTS; k++) {
		for (uint32_t i = 0; i < BURST_MSGS; i++) {
			fill(m, sizeof(m), 7, k * BURST_MSGS + i);
			if (R->send(s, m, sizeof(m)))
				return 11;
		}
		if (read(a->ack_r, &b, 1) != 1)
			return 12;
	}
	R->detach(s);
	return 0;
}

static void bursts_run(enum ipc_wait w)
{
	void *ch = make(64, BURST_MSGS, 1, 1, w, BURST_TIMEOUT_MS);
	int ack[2];
	struct burst_arg a = { .ch = ch };
	uint8_t m[64];
	pid_t pid;
	void *r;

	assert_int_equal(pipe(ack), 0);
	a.ack_r = ack[0];
	pid = spawn(burst_sender, &a);
	assert_true(pid > 0);
	close(ack[0]);
	r = end_of(ch, IPC_RECV);
	for (uint32_t k = 0; k < BURSTS; k++) {
		for (uint32_t i = 0; i < BURST_MSGS; i++) {
			uint32_t id = 0, seq = 0;
			ssize_t n = R->recv(r, m, sizeof(m));

			if (n != (ssize_t)sizeof(m) || !check(m, (size_t)n, &id, &seq) ||
			    id != 7 || seq != k * BURST_MSGS + i) {
				print_error("burst %u message %u: got %zd, id %u seq %u\n", k, i, n, id, seq);
				kill(pid, SIGKILL);
				reap(pid);
				fail();
			}
		}
		assert_int_equal(write(ack[1], "k", 1), 1);
	}
	assert_int_equal(R->recv(r, m, sizeof(m)), -EPIPE);
	assert_int_equal(reap(pid), 0);
	close(ack[1]);
	R->detach(r);
	R->destroy(ch);
}

static void test_bursts_block(void **s)  { (void)s; bursts_run(IPC_WAIT_BLOCK); }
static void test_bursts_hybrid(void **s) { (void)s; bursts_run(IPC_WAIT_HYBRID); }

/* The conformance sizes and the maximum, 1 MiB, across processes. */
static void test_big(void **state)
{
	static const size_t sizes[] = { 16, 17, 64, 4095, 4096, 4097, 65536, 1u << 20 };
	const size_t nsz = sizeof(sizes) / sizeof(sizes[0]);
	const size_t max = 1u << 20;
	void *ch = make(max, 0, 1, 1, IPC_WAIT_HYBRID, 0);
	uint8_t *m = malloc(max);
	void *r;
	pid_t pid;

	(void)state;
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char err[IPC_ERRLEN];
		void *s;

		alarm(CHILD_ALARM_S);
		if (R->attach(ch, IPC_SEND, &s, err))
			_exit(10);
		for (uint32_t i = 0; i < 4 * nsz; i++) {
			fill(m, sizes[i % nsz], 9, i);
			if (R->send(s, m, sizes[i % nsz]))
				_exit(11);
		}
		R->detach(s);
		_exit(0);
	}
	r = end_of(ch, IPC_RECV);
	for (uint32_t i = 0; i < 4 * nsz; i++) {
		uint32_t id = 0, seq = 0;

		memset(m, 0, sizes[i % nsz]);
		assert_int_equal(R->recv(r, m, max), (ssize_t)sizes[i % nsz]);
		assert_true(check(m, sizes[i % nsz], &id, &seq));
		assert_int_equal(seq, i);
	}
	assert_int_equal(R->recv(r, m, max), -EPIPE);
	assert_int_equal(reap(pid), 0);
	free(m);
	R->detach(r);
	R->destroy(ch);
}

/* ---- MPMC across processes ------------------------------------------------ */

struct mpmc_seen {
	_Atomic uint32_t count[MPMC_MAX_SENDERS][MPMC_MSGS];
	_Atomic uint32_t bad;
};

struct recv_arg {
	void *ch;
	struct mpmc_seen *seen;
	uint32_t senders;
};

static int receiver_child(void *arg)
{
	struct recv_arg *a = arg;
	uint8_t *m = malloc(SMALL_MAX);
	int64_t last[MPMC_MAX_SENDERS];
	char err[IPC_ERRLEN];
	ssize_t n;
	void *r;

	if (!m || R->attach(a->ch, IPC_RECV, &r, err))
		return 10;
	for (unsigned i = 0; i < MPMC_MAX_SENDERS; i++)
		last[i] = -1;
	while ((n = R->recv(r, m, SMALL_MAX)) > 0) {
		uint32_t id = 0, seq = 0;

		if (!check(m, (size_t)n, &id, &seq) || id >= a->senders || seq >= MPMC_MSGS ||
		    n != (ssize_t)size_for(seq + id, 8, SMALL_MAX) || (int64_t)seq <= last[id]) {
			atomic_fetch_add(&a->seen->bad, 1); /* also: out of order */
			continue;
		}
		last[id] = seq;
		atomic_fetch_add(&a->seen->count[id][seq], 1);
	}
	R->detach(r);
	free(m);
	return n == -EPIPE ? 0 : 12;
}

static void mpmc_run(enum ipc_wait w, unsigned ns, unsigned nr)
{
	uint32_t per = w == IPC_WAIT_SPIN ? MPMC_MSGS_SPIN : MPMC_MSGS;
	void *ch = make(SMALL_MAX, 0, ns, nr, w, 0);
	struct mpmc_seen *seen = mmap(NULL, sizeof(*seen), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	struct stream_arg sa[MPMC_MAX_SENDERS];
	struct recv_arg ra = { .ch = ch, .seen = seen, .senders = ns };
	pid_t pids[2 * MPMC_MAX_SENDERS];
	unsigned np = 0, failed = 0;

	assert_true(seen != MAP_FAILED);
	for (unsigned i = 0; i < nr; i++)
		pids[np++] = spawn(receiver_child, &ra);
	for (unsigned i = 0; i < ns; i++) {
		sa[i] = (struct stream_arg){ .ch = ch, .id = i, .count = per, .lo = 8, .hi = SMALL_MAX };
		pids[np++] = spawn(sender_child, &sa[i]);
	}
	R->forget(ch); /* the parent does not use it */
	for (unsigned i = 0; i < np; i++) {
		int st = reap(pids[i]);

		if (st) {
			print_error("child %u exited %d\n", i, st);
			failed++;
		}
	}
	assert_int_equal(failed, 0);
	assert_int_equal(atomic_load(&seen->bad), 0);
	for (unsigned id = 0; id < ns; id++)
		for (uint32_t s = 0; s < per; s++)
			if (atomic_load(&seen->count[id][s]) != 1) {
				print_error("sender %u msg %u seen %u times\n", id, s,
					    atomic_load(&seen->count[id][s]));
				fail();
			}
	munmap(seen, sizeof(*seen));
	R->destroy(ch);
}

static void test_fanin_spin(void **s)   { (void)s; mpmc_run(IPC_WAIT_SPIN, 4, 1); }
static void test_fanin_block(void **s)  { (void)s; mpmc_run(IPC_WAIT_BLOCK, 4, 1); }
static void test_fanin_hybrid(void **s) { (void)s; mpmc_run(IPC_WAIT_HYBRID, 4, 1); }
static void test_fanout_spin(void **s)  { (void)s; mpmc_run(IPC_WAIT_SPIN, 1, 4); }
static void test_fanout_block(void **s) { (void)s; mpmc_run(IPC_WAIT_BLOCK, 1, 4); }
static void test_fanout_hybrid(void **s) { (void)s; mpmc_run(IPC_WAIT_HYBRID, 1, 4); }
static void test_mpmc_spin(void **s)    { (void)s; mpmc_run(IPC_WAIT_SPIN, 4, 4); }
static void test_mpmc_block(void **s)   { (void)s; mpmc_run(IPC_WAIT_BLOCK, 4, 4); }
static void test_mpmc_hybrid(void **s)  { (void)s; mpmc_run(IPC_WAIT_HYBRID, 4, 4); }

/* Races made likely: two processes start together (shared go flag) on the
 * same side of a big ring, with nothing else to wait for.  Receivers drain
 * a ring prefilled by the parent; senders fill an empty ring that the
 * parent drains afterwards.  Every message exactly once, per-sender order. */
#define RACE_ROUNDS 10u
#define RACE_MSGS 10000u   /* of 64 bytes: fits the ring (depth RACE_MSGS) */
#define RACE_SIZE 64u

struct race_shared {
	_Atomic uint32_t ready;
	_Atomic uint32_t bad;
	_Atomic uint32_t count[2][RACE_MSGS];
};

struct race_arg {
	struct race_shared *sh;
	void *ch;
	uint32_t id;
};

/* Both children leave together. */
static void race_go(struct race_shared *sh)
{
	atomic_fetch_add(&sh->ready, 1);
	while (atomic_load(&sh->ready) < 2)
		;
}

/* Drain e until an error; count what arrived.  The error. */
static ssize_t race_drain(struct race_shared *sh, void *e)
{
	int64_t last[2] = { -1, -1 };
	uint8_t m[RACE_SIZE];
	ssize_t n;

	while ((n = R->recv(e, m, sizeof(m))) > 0) {
		uint32_t id = 0, seq = 0;

		if (n != RACE_SIZE || !check(m, RACE_SIZE, &id, &seq) || id > 1 ||
		    seq >= RACE_MSGS || (int64_t)seq <= last[id]) {
			atomic_fetch_add(&sh->bad, 1); /* also: out of order */
			continue;
		}
		last[id] = seq;
		atomic_fetch_add(&sh->count[id][seq], 1);
	}
	return n;
}

static int race_receiver(void *arg)
{
	struct race_arg *a = arg;
	char err[IPC_ERRLEN];
	ssize_t n;
	void *r;

	if (R->attach(a->ch, IPC_RECV, &r, err))
		return 10;
	race_go(a->sh);
	n = race_drain(a->sh, r);
	R->detach(r);
	return n == -EPIPE ? 0 : 12;
}

static int race_sender(void *arg)
{
	struct race_arg *a = arg;
	uint8_t m[RACE_SIZE];
	char err[IPC_ERRLEN];
	void *s;

	if (R->attach(a->ch, IPC_SEND, &s, err))
		return 10;
	race_go(a->sh);
	for (uint32_t i = 0; i < RACE_MSGS; i++) {
		fill(m, RACE_SIZE, a->id, i);
		if (R->send(s, m, RACE_SIZE))
			return 11;
	}
	R->detach(s);
	return 0;
}

static void race_round(struct race_shared *sh, bool senders_race)
{
	struct race_arg a[2];
	unsigned nid = senders_race ? 2 : 1;
	uint8_t m[RACE_SIZE];
	pid_t p[2];
	void *ch, *e;

	memset(sh, 0, sizeof(*sh));
	/* depth 2x: the whole run fits, nobody waits for space. */
	ch = make(RACE_SIZE, RACE_MSGS * 2, senders_race ? 2 : 1, senders_race ? 1 : 2,
		  IPC_WAIT_SPIN, 0);
	for (unsigned i = 0; i < 2; i++)
		a[i] = (struct race_arg){ .sh = sh, .ch = ch, .id = i };
	if (senders_race) {
		p[0] = spawn(race_sender, &a[0]);
		p[1] = spawn(race_sender, &a[1]);
		assert_int_equal(reap(p[0]), 0);
		assert_int_equal(reap(p[1]), 0);
		e = end_of(ch, IPC_RECV);
		assert_int_equal(race_drain(sh, e), -EPIPE);
		R->detach(e);
	} else {
		e = end_of(ch, IPC_SEND);
		for (uint32_t i = 0; i < RACE_MSGS; i++) {
			fill(m, RACE_SIZE, 0, i);
			assert_int_equal(R->send(e, m, RACE_SIZE), 0);
		}
		R->detach(e); /* no sender left: receivers end with -EPIPE */
		p[0] = spawn(race_receiver, &a[0]);
		p[1] = spawn(race_receiver, &a[1]);
		assert_int_equal(reap(p[0]), 0);
		assert_int_equal(reap(p[1]), 0);
	}
	assert_int_equal(atomic_load(&sh->bad), 0);
	for (unsigned id = 0; id < nid; id++)
		for (uint32_t i = 0; i < RACE_MSGS; i++)
			if (atomic_load(&sh->count[id][i]) != 1) {
				print_error("sender %u msg %u seen %u times\n", id, i,
					    atomic_load(&sh->count[id][i]));
				fail();
			}
	R->destroy(ch);
}

static void race_test(bool senders_race)
{
	struct race_shared *sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
				      MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	assert_true(sh != MAP_FAILED);
	for (unsigned r = 0; r < RACE_ROUNDS; r++)
		race_round(sh, senders_race);
	munmap(sh, sizeof(*sh));
}

static void test_race_receivers(void **s) { (void)s; race_test(false); }
static void test_race_senders(void **s)   { (void)s; race_test(true); }

/* ---- peer death ------------------------------------------------------------- */

static int endless_sender(void *arg)
{
	struct stream_arg a = *(struct stream_arg *)arg;

	a.count = UINT32_MAX;
	return sender_child(&a);
}

/* Sender SIGKILLed mid-stream: the receiver drains what was queued, then
 * gets -EPIPE although timeout_ms is 0 (wait forever). */
static void sender_killed(enum ipc_wait w)
{
	void *ch = make(SMALL_MAX, 0, 1, 1, w, 0);
	struct stream_arg a = { .ch = ch, .id = 1, .lo = 8, .hi = SMALL_MAX };
	uint8_t m[SMALL_MAX];
	pid_t pid = spawn(endless_sender, &a);
	void *r = end_of(ch, IPC_RECV);
	uint32_t got = 0, id = 0, seq = 0;
	ssize_t n;

	for (; got < 1000; got++)
		assert_true(R->recv(r, m, sizeof(m)) > 0);
	kill(pid, SIGKILL);
	while ((n = R->recv(r, m, sizeof(m))) > 0) {
		assert_true(check(m, (size_t)n, &id, &seq));
		assert_int_equal(seq, got);
		got++;
	}
	assert_int_equal(n, -EPIPE);
	assert_int_equal(reap(pid), 128 + SIGKILL);
	R->detach(r);
	R->destroy(ch);
}

static void test_sender_killed_spin(void **s)  { (void)s; sender_killed(IPC_WAIT_SPIN); }
static void test_sender_killed_block(void **s) { (void)s; sender_killed(IPC_WAIT_BLOCK); }

static int idle_receiver(void *arg)
{
	char err[IPC_ERRLEN];
	void *r;

	if (R->attach(arg, IPC_RECV, &r, err))
		return 10;
	pause();
	return 0;
}

/* Receivers SIGKILLed (not reaped yet: zombies): the sender fills the ring
 * and then gets -EPIPE, with timeout_ms 0. */
static void receivers_killed(enum ipc_wait w, unsigned nr)
{
	void *ch = make(SMALL_MAX, 0, nr > 1 ? 2 : 1, nr, w, 0);
	struct shmring_ctl *c = ctl_of(ch, NULL, NULL);
	uint8_t m[SMALL_MAX];
	pid_t pids[4];
	void *s;
	int rc;

	for (unsigned i = 0; i < nr; i++)
		pids[i] = spawn(idle_receiver, ch);
	s = end_of(ch, IPC_SEND);
	while (atomic_load(&c->attached_ever[SHMRING_SIDE_RECV]) < nr)
		usleep(1000);
	for (unsigned i = 0; i < nr; i++)
		kill(pids[i], SIGKILL);
	fill(m, sizeof(m), 0, 0);
	while ((rc = R->send(s, m, sizeof(m))) == 0)
		;
	assert_int_equal(rc, -EPIPE);
	for (unsigned i = 0; i < nr; i++)
		assert_int_equal(reap(pids[i]), 128 + SIGKILL);
	R->detach(s);
	R->destroy(ch);
}

static void test_receiver_killed_spin(void **s)  { (void)s; receivers_killed(IPC_WAIT_SPIN, 1); }
static void test_receiver_killed_block(void **s) { (void)s; receivers_killed(IPC_WAIT_BLOCK, 1); }
static void test_receivers_killed_mpmc(void **s) { (void)s; receivers_killed(IPC_WAIT_HYBRID, 3); }

/* ---- corruption --------------------------------------------------------------- */

/* A channel with both ends attached in this process. */
struct rig {
	void *ch, *s, *r;
	struct shmring_ctl *c;
	unsigned char *data;
	size_t data_len;
	uint8_t *buf;       /* exactly max bytes: ASan sees any overrun */
	size_t max;
};

static void rig_open(struct rig *g, bool mpmc, uint64_t start)
{
	g->max = 1000;
	g->ch = make(g->max, 2, mpmc ? 2 : 1, mpmc ? 2 : 1, IPC_WAIT_SPIN, 200);
	g->c = ctl_of(g->ch, &g->data, &g->data_len);
	/* Indices may start anywhere: ends load them at attach. */
	atomic_store(&g->c->prod_head, start);
	atomic_store(&g->c->prod_tail, start);
	atomic_store(&g->c->cons_head, start);
	atomic_store(&g->c->cons_tail, start);
	g->s = end_of(g->ch, IPC_SEND);
	g->r = end_of(g->ch, IPC_RECV);
	g->buf = malloc(g->max);
	assert_int_equal(g->data_len, g->c->data_size);
}

static void rig_close(struct rig *g)
{
	free(g->buf);
	R->detach(g->s);
	R->detach(g->r);
	R->destroy(g->ch);
}

static void rig_send(struct rig *g, size_t len, uint32_t seq)
{
	uint8_t m[1000];

	fill(m, len, 4, seq);
	assert_int_equal(R->send(g->s, m, len), 0);
}

static void rig_expect_eproto(struct rig *g)
{
	assert_int_equal(R->recv(g->r, g->buf, g->max), -EPROTO);
}

static void test_corrupt_head(void **state)
{
	(void)state;
	for (int mpmc = 0; mpmc < 2; mpmc++) {
		struct rig g;
		uint64_t t;

		/* Producer index more than a ring ahead of the consumer. */
		rig_open(&g, mpmc, 0);
		rig_send(&g, 100, 0);
		atomic_store(&g.c->prod_tail, g.data_len + 8 + 8);
		rig_expect_eproto(&g);
		rig_close(&g);

		/* Producer index behind the consumer. */
		rig_open(&g, mpmc, 4096);
		atomic_store(&g.c->prod_tail, 4096 - 8);
		rig_expect_eproto(&g);
		rig_close(&g);

		/* Misaligned producer index. */
		rig_open(&g, mpmc, 0);
		rig_send(&g, 100, 0);
		t = atomic_load(&g.c->prod_tail);
		atomic_store(&g.c->prod_tail, t + 3);
		rig_expect_eproto(&g);
		rig_close(&g);

		/* Published index inside the first record (record past it). */
		rig_open(&g, mpmc, 0);
		rig_send(&g, 100, 0);
		atomic_store(&g.c->prod_tail, 16);
		rig_expect_eproto(&g);
		rig_close(&g);
	}
}

static void test_corrupt_tail(void **state)
{
	(void)state;
	for (int mpmc = 0; mpmc < 2; mpmc++) {
		struct rig g;
		int rc;

		/* Consumer index beyond the producer: a sender must notice as
		 * soon as it reads it (at the latest when it looks full). */
		rig_open(&g, mpmc, 0);
		atomic_store(&g.c->cons_tail, 1u << 30);
		for (unsigned i = 0; i < 1000 && (rc = R->send(g.s, g.buf, 900)) == 0; i++)
			;
		assert_int_equal(rc, -EPROTO);
		rig_close(&g);

		/* Consumer index more than a ring behind. */
		rig_open(&g, mpmc, 1u << 20);
		atomic_store(&g.c->cons_tail, 8);
		for (unsigned i = 0; i < 1000 && (rc = R->send(g.s, g.buf, 900)) == 0; i++)
			;
		assert_int_equal(rc, -EPROTO);
		rig_close(&g);
	}
}

static void test_corrupt_length(void **state)
{
	(void)state;
	for (int mpmc = 0; mpmc < 2; mpmc++) {
		static const uint32_t bad[] = { 0, 1001, 0x7fffffffu };
		struct rig g;

		/* Lengths 0, max_msg + 1, huge: with a valid check word, so
		 * only the length check can catch them. */
		for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			rig_open(&g, mpmc, 0);
			/* Two records published: the bad length still lies
			 * inside what was published and inside the area. */
			rig_send(&g, 1000, 0);
			rig_send(&g, 1000, 1);
			atomic_store((_Atomic uint64_t *)(void *)g.data, shmring_hdr(bad[i], 0));
			rig_expect_eproto(&g);
			rig_close(&g);
		}

		/* Check word wrong. */
		rig_open(&g, mpmc, 0);
		rig_send(&g, 100, 0);
		g.data[5] ^= 1;
		rig_expect_eproto(&g);
		rig_close(&g);

		/* Length longer than what was published. */
		rig_open(&g, mpmc, 0);
		rig_send(&g, 100, 0);
		atomic_store((_Atomic uint64_t *)(void *)g.data, shmring_hdr(900, 0));
		rig_expect_eproto(&g);
		rig_close(&g);
	}
}

/* A record near the end of the data area whose length runs past it: the
 * area ends the mapping, so reading on would fault. */
static void test_corrupt_past_end(void **state)
{
	(void)state;
	for (int mpmc = 0; mpmc < 2; mpmc++) {
		struct rig g;
		uint64_t pos;

		rig_open(&g, mpmc, 0);
		pos = g.data_len - 64;
		atomic_store(&g.c->prod_head, pos);
		atomic_store(&g.c->prod_tail, pos + 8 + 1000);
		atomic_store(&g.c->cons_head, pos);
		atomic_store(&g.c->cons_tail, pos);
		R->detach(g.r);
		g.r = end_of(g.ch, IPC_RECV); /* SPSC: picks up cons_tail */
		atomic_store((_Atomic uint64_t *)(void *)(g.data + pos), shmring_hdr(1000, pos));
		rig_expect_eproto(&g);
		rig_close(&g);
	}
}

/* Wrap markers: at offset 0 (never written there), or followed by junk. */
static void test_corrupt_wrap(void **state)
{
	(void)state;
	for (int mpmc = 0; mpmc < 2; mpmc++) {
		struct rig g;
		uint64_t pos;

		rig_open(&g, mpmc, 0);
		rig_send(&g, 100, 0);
		atomic_store((_Atomic uint64_t *)(void *)g.data, shmring_hdr(SHMRING_WRAP, 0));
		rig_expect_eproto(&g);
		rig_close(&g);

		/* A genuine wrap, then the record after it is corrupted. */
		rig_open(&g, mpmc, 0);
		pos = g.data_len - 64;
		atomic_store(&g.c->prod_head, pos);
		atomic_store(&g.c->prod_tail, pos);
		atomic_store(&g.c->cons_head, pos);
		atomic_store(&g.c->cons_tail, pos);
		R->detach(g.s);
		R->detach(g.r);
		g.s = end_of(g.ch, IPC_SEND);
		g.r = end_of(g.ch, IPC_RECV);
		rig_send(&g, 500, 0); /* does not fit in 64: wraps */
		assert_int_equal(atomic_load(&g.c->prod_tail), g.data_len + 8 + 504);
		g.data[0] ^= 0x80; /* its length */
		rig_expect_eproto(&g);
		rig_close(&g);

		/* A wrap marker whose record was not published. */
		rig_open(&g, mpmc, 0);
		pos = g.data_len - 64;
		atomic_store(&g.c->prod_head, pos + 64);
		atomic_store(&g.c->prod_tail, pos + 64);
		atomic_store(&g.c->cons_head, pos);
		atomic_store(&g.c->cons_tail, pos);
		R->detach(g.r);
		g.r = end_of(g.ch, IPC_RECV);
		atomic_store((_Atomic uint64_t *)(void *)(g.data + pos), shmring_hdr(SHMRING_WRAP, pos));
		rig_expect_eproto(&g);
		rig_close(&g);
	}
}

static void random_fill(unsigned char *p, size_t n, unsigned *seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)rand_r(seed);
}

/* Random bytes over the indices, futex words and pid table. */
static void test_random_control(void **state)
{
	(void)state;
	for (unsigned t = 0; t < RANDOM_TRIALS; t++) {
		unsigned seed = 1000 + t;
		struct rig g;
		size_t from = offsetof(struct shmring_ctl, prod_head);

		rig_open(&g, t & 1, 0);
		random_fill((unsigned char *)g.c + from, sizeof(*g.c) - from, &seed);
		rig_expect_eproto(&g);
		rig_close(&g);
	}
}

/* Random bytes over the whole data area with messages queued. */
static void test_random_data(void **state)
{
	(void)state;
	for (unsigned t = 0; t < RANDOM_TRIALS; t++) {
		unsigned seed = 5000 + t;
		struct rig g;

		rig_open(&g, t & 1, (uint64_t)t * 4096);
		for (uint32_t i = 0; i < 5; i++)
			rig_send(&g, size_for(i + t, 8, 1000), i);
		random_fill(g.data, g.data_len, &seed);
		rig_expect_eproto(&g);
		rig_close(&g);
	}
}

/* Random bytes over everything (control and data) in a cross-process run:
 * the receiver returns an error (-EPROTO, or -EPIPE/-ETIMEDOUT once the
 * sender gave up) and never crashes or hangs. */
static void test_random_live(void **state)
{
	(void)state;
	for (unsigned t = 0; t < 20; t++) {
		void *ch = make(SMALL_MAX, 0, 1, 1, IPC_WAIT_HYBRID, 500);
		struct stream_arg a = { .ch = ch, .id = 2, .count = UINT32_MAX, .lo = 8, .hi = SMALL_MAX };
		struct shmring_ctl *c = ctl_of(ch, NULL, NULL);
		unsigned char *data;
		size_t dlen;
		unsigned seed = 9000 + t;
		uint8_t *m = malloc(SMALL_MAX);
		pid_t pid = spawn(endless_sender, &a);
		void *r = end_of(ch, IPC_RECV);
		size_t from = offsetof(struct shmring_ctl, prod_head);
		ssize_t n;

		ctl_of(ch, &data, &dlen);
		for (int i = 0; i < 100; i++)
			assert_true(R->recv(r, m, SMALL_MAX) > 0);
		random_fill(data, dlen, &seed);
		random_fill((unsigned char *)c + from, sizeof(*c) - from, &seed);
		while ((n = R->recv(r, m, SMALL_MAX)) > 0)
			;
		assert_true(n == -EPROTO || n == -EPIPE || n == -ETIMEDOUT);
		kill(pid, SIGKILL);
		reap(pid);
		free(m);
		R->detach(r);
		R->destroy(ch);
	}
}

#define NT(name, fn) { name, fn, guard_setup, guard_teardown, NULL }

int main(void)
{
	static const struct CMUnitTest tests[] = {
		NT("shmring: caps report 1 MiB, every wait, boundaries", test_caps),
		NT("shmring: create refuses bad params with a line naming the limit", test_create_refuses),
		NT("shmring: shm name unlinked at create, nothing to leak", test_no_name_left),
		NT("shmring: exported: name kept until every end attached, then gone; a line that does not match refused", test_exported_name),
		NT("shmring: send refuses 0 and over max; recv -EMSGSIZE keeps the message", test_send_sizes),
		NT("shmring: SPSC refuses a second live sender", test_spsc_one_sender),
		NT("shmring: two channels with the same params do not collide", test_two_channels),
		NT("shmring: wrap-around 20 laps, sizes 1..1000, byte-exact", test_wrap_variable),
		NT("shmring: full ring send -ETIMEDOUT then drains in order (every wait)", test_full_ring),
		NT("shmring: recv with a live idle sender -ETIMEDOUT (every wait)", test_recv_timeout),
		NT("shmring: SPSC 100000 msgs across processes, spin", test_spsc_spin),
		NT("shmring: SPSC 100000 msgs across processes, block", test_spsc_block),
		NT("shmring: SPSC 100000 msgs across processes, hybrid", test_spsc_hybrid),
		NT("shmring: bursts then silence, none stranded by deferred wakes, block", test_bursts_block),
		NT("shmring: bursts then silence, none stranded by deferred wakes, hybrid", test_bursts_hybrid),
		NT("shmring: sizes 16..4097, 65536, 1 MiB across processes byte-exact", test_big),
		NT("shmring: fan-in 4x1 exactly once, spin", test_fanin_spin),
		NT("shmring: fan-in 4x1 exactly once, block", test_fanin_block),
		NT("shmring: fan-in 4x1 exactly once, hybrid", test_fanin_hybrid),
		NT("shmring: fan-out 1x4 exactly once, spin", test_fanout_spin),
		NT("shmring: fan-out 1x4 exactly once, block", test_fanout_block),
		NT("shmring: fan-out 1x4 exactly once, hybrid", test_fanout_hybrid),
		NT("shmring: MPMC 4x4 exactly once, spin", test_mpmc_spin),
		NT("shmring: MPMC 4x4 exactly once, block", test_mpmc_block),
		NT("shmring: MPMC 4x4 exactly once, hybrid", test_mpmc_hybrid),
		NT("shmring: MPMC 2 receivers race on a prefilled ring, exactly once", test_race_receivers),
		NT("shmring: MPMC 2 senders race into an empty ring, exactly once", test_race_senders),
		NT("shmring: sender SIGKILLed, recv drains then -EPIPE, spin", test_sender_killed_spin),
		NT("shmring: sender SIGKILLed, recv drains then -EPIPE, block", test_sender_killed_block),
		NT("shmring: receiver SIGKILLed, send -EPIPE, spin", test_receiver_killed_spin),
		NT("shmring: receiver SIGKILLed, send -EPIPE, block", test_receiver_killed_block),
		NT("shmring: MPMC receivers SIGKILLed, send -EPIPE", test_receivers_killed_mpmc),
		NT("shmring: corrupt producer index -> recv -EPROTO", test_corrupt_head),
		NT("shmring: corrupt consumer index -> send -EPROTO", test_corrupt_tail),
		NT("shmring: corrupt length header -> recv -EPROTO", test_corrupt_length),
		NT("shmring: length past the data area -> recv -EPROTO", test_corrupt_past_end),
		NT("shmring: corrupt wrap marker -> recv -EPROTO", test_corrupt_wrap),
		NT("shmring: random bytes over the control area -> recv -EPROTO", test_random_control),
		NT("shmring: random bytes over the data area -> recv -EPROTO", test_random_data),
		NT("shmring: random bytes over a live channel -> error, no crash or hang", test_random_live),
	};

	return tap_run("shmring", tests, sizeof(tests) / sizeof(tests[0]));
}
