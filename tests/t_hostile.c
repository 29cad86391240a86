/* t_hostile.c - a hostile peer on a live shared-memory ring (issue 6).
 *
 * A third process that shares the ring's mapping writes random bytes over
 * its control and data areas while a sender and a receiver (each its own
 * process) exchange messages.  Whatever it writes, every receive returns a
 * whole message no longer than the buffer (the buffer is an exact-size heap
 * block, so ASan sees any overrun), or an error; the receiver reports the
 * corruption (-EPROTO) or a timeout and stops; nothing loops forever (every
 * process is under alarm() and the ring's own timeout); nothing is left.
 * Build it with -DIPCLAB_SANITIZE=ON to run the same under ASan+UBSan.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "shmring.h"
#include "testutil.h"

extern const struct ipc_ops ipc_shmring_ops;
#define R (&ipc_shmring_ops)

/* Whole test bound (seconds); a hang is killed by SIGALRM. */
#define TEST_ALARM_S 60
/* A child's own bound (alarm is not inherited across fork). */
#define CHILD_ALARM_S 30
/* Ring timeout: a stalled send/recv gives up after this (ms). */
#define RING_TIMEOUT_MS 200u
/* Largest message; messages vary 16 .. MAX_MSG so records move about. */
#define MAX_MSG 256u
#define MIN_MSG 16u
/* Messages the sender tries; the scribbler usually stops them earlier. */
#define SEND_MSGS 200000u
/* Random writes by the hostile peer, each 1..8 bytes, a few us apart. */
#define SCRIBBLES 3000u
#define SCRIBBLE_GAP_US 20u
/* Runs per configuration (seeded: reproducible). */
#define TRIALS 4u

/* Receiver exit codes: how it stopped. */
enum { RX_PROTO = 10, RX_TIMEDOUT, RX_PIPE, RX_ALL, RX_BAD = 1 };
/* Sender exit codes. */
enum { TX_OK = 0, TX_STOPPED = 20, TX_BAD = 2 };

struct cfg {
	enum ipc_wait wait;
	unsigned senders, receivers;
};

static uint64_t rnd(uint64_t *s)
{
	/* xorshift64*: fast and seedable, no libc state shared with others */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static void child_init(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(CHILD_ALARM_S);
}

static void run_sender(void *chan, unsigned id)
{
	unsigned char buf[MAX_MSG];
	uint64_t s = 0x5eed0000u + id;
	void *end;
	int rc;

	child_init();
	if (R->attach(chan, IPC_SEND, &end, NULL) < 0)
		_exit(TX_STOPPED); /* attach may see the corruption already */
	for (uint32_t i = 0; i < SEND_MSGS; i++) {
		size_t len = MIN_MSG + rnd(&s) % (MAX_MSG - MIN_MSG + 1);

		memset(buf, (int)(i & 0xff), len);
		memcpy(buf, &i, sizeof(i));
		rc = R->send(end, buf, len);
		if (rc == -EPROTO || rc == -ETIMEDOUT || rc == -EPIPE)
			_exit(TX_STOPPED);
		if (rc < 0)
			_exit(TX_BAD);
	}
	R->detach(end);
	_exit(TX_OK);
}

static void run_receiver(void *chan)
{
	/* Exactly cap bytes on the heap: an overrun is an ASan report. */
	unsigned char *buf = malloc(MAX_MSG);
	void *end;
	ssize_t n;

	child_init();
	if (!buf)
		_exit(RX_BAD);
	if (R->attach(chan, IPC_RECV, &end, NULL) < 0)
		_exit(RX_PROTO);
	for (;;) {
		n = R->recv(end, buf, MAX_MSG);
		if (n > 0 && (size_t)n <= MAX_MSG)
			continue;
		if (n == -EPROTO)
			_exit(RX_PROTO);
		if (n == -ETIMEDOUT)
			_exit(RX_TIMEDOUT);
		if (n == -EPIPE)
			_exit(RX_PIPE);
		_exit(RX_BAD); /* 0, a length over cap, or another error */
	}
}

/*
 * A smarter lie: a record header with a valid check word (shmring.h says
 * how it is made) at the consumer's next index, but a length no honest
 * sender writes: 0, over the ring's max_msg, past the end of the data area,
 * or a wrap marker where none fits.  Only the reader's bounds checks stand
 * between these and an out-of-bounds copy.
 */
static void forge_header(void *base, size_t len, uint64_t *s)
{
	struct shmring_ctl *c = base;
	uint64_t size = len - SHMRING_DATA_OFFSET;
	uint64_t idx = atomic_load_explicit(&c->cons_tail, memory_order_relaxed);
	uint64_t off = idx & (size - 1) & ~(uint64_t)(SHMRING_ALIGN - 1);
	uint32_t lies[] = {
		0, MAX_MSG + 1, MAX_MSG + 1 + (uint32_t)(rnd(s) % 4096),
		(uint32_t)(size - off), (uint32_t)size, 0xfffffff0u, SHMRING_WRAP,
	};
	uint32_t l = lies[rnd(s) % (sizeof(lies) / sizeof(lies[0]))];

	idx = (idx & ~(size - 1)) | off;
	atomic_store_explicit((_Atomic uint64_t *)((unsigned char *)base + SHMRING_DATA_OFFSET + off),
			      shmring_hdr(l, idx), memory_order_relaxed);
}

static void run_scribbler(void *chan, uint64_t seed)
{
	void *base;
	size_t len;
	uint64_t s = seed | 1;
	struct timespec gap = { 0, SCRIBBLE_GAP_US * 1000L };

	child_init();
	if (shmring_debug_area(chan, &base, &len) < 0 || len == 0)
		_exit(1);
	for (unsigned i = 0; i < SCRIBBLES; i++) {
		uint64_t r = rnd(&s);

		if (r % 4 == 0) {
			forge_header(base, len, &s);
			nanosleep(&gap, NULL);
			continue;
		}
		/* Half the writes on the control area (indices, futex words,
		 * pids), half anywhere (record headers, payload). */
		size_t span = (r & 1) ? len : SHMRING_DATA_OFFSET;
		size_t off = (size_t)(rnd(&s) % span);
		size_t k = 1 + (size_t)(r >> 8) % 8;

		for (size_t j = 0; j < k && off + j < len; j++)
			((volatile unsigned char *)base)[off + j] = (unsigned char)rnd(&s);
		nanosleep(&gap, NULL);
	}
	_exit(0);
}

static pid_t spawn(void (*fn)(void *, uint64_t), void *chan, uint64_t arg)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0)
		fn(chan, arg);
	return pid;
}

static void sender_fn(void *chan, uint64_t id)
{
	run_sender(chan, (unsigned)id);
}

static void receiver_fn(void *chan, uint64_t unused)
{
	(void)unused;
	run_receiver(chan);
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 1000 + WTERMSIG(status);
}

/* One trial: returns how many receivers reported -EPROTO (and asserts
 * everything else). */
static unsigned trial(const struct cfg *c, uint64_t seed)
{
	struct ipc_params p = {
		.max_msg = MAX_MSG, .depth = 64, .senders = c->senders,
		.receivers = c->receivers, .wait = c->wait, .timeout_ms = RING_TIMEOUT_MS,
	};
	char err[IPC_ERRLEN] = "";
	pid_t tx[4], rx[4], hostile;
	unsigned proto = 0;
	void *chan;
	int st;

	assert_int_equal(R->create(&p, &chan, err), 0);
	for (unsigned i = 0; i < c->receivers; i++)
		assert_true((rx[i] = spawn(receiver_fn, chan, 0)) > 0);
	for (unsigned i = 0; i < c->senders; i++)
		assert_true((tx[i] = spawn(sender_fn, chan, seed + i)) > 0);
	assert_true((hostile = spawn(run_scribbler, chan, seed)) > 0);

	assert_int_equal(waitpid(hostile, &st, 0), hostile);
	assert_int_equal(exit_code(st), 0);
	for (unsigned i = 0; i < c->receivers; i++) {
		int code;

		assert_int_equal(waitpid(rx[i], &st, 0), rx[i]);
		code = exit_code(st);
		if (code != RX_PROTO && code != RX_TIMEDOUT && code != RX_PIPE && code != RX_ALL)
			fail_msg("receiver %u stopped with code %d (want -EPROTO, -ETIMEDOUT or -EPIPE)",
				 i, code);
		proto += code == RX_PROTO;
	}
	for (unsigned i = 0; i < c->senders; i++) {
		int code;

		assert_int_equal(waitpid(tx[i], &st, 0), tx[i]);
		code = exit_code(st);
		/* A sender may also be killed by its alarm if every receiver
		 * left and a corrupt ring still looks like it has room:
		 * that would be a hang, so it must not happen. */
		if (code != TX_OK && code != TX_STOPPED)
			fail_msg("sender %u stopped with code %d", i, code);
	}
	R->destroy(chan);
	return proto;
}

/* Other tests run at the same time on this machine: only names carrying
 * this process's pid (the channels are created here) are ours. */
static bool ours(const char *names)
{
	char tag[32];

	snprintf(tag, sizeof(tag), "-%ld-", (long)getpid());
	return strstr(names, tag) != NULL;
}

static void run_config(const struct cfg *c)
{
	struct leak_snap before;
	char left[1024];
	unsigned proto = 0;

	leak_snapshot(&before);
	alarm(TEST_ALARM_S);
	for (unsigned t = 0; t < TRIALS; t++)
		proto += trial(c, 0x1234567ull * (t + 1) + c->senders * 7 + c->wait);
	alarm(0);
	/* The scribbler destroys record headers and indices thousands of
	 * times: at least one receiver must have said so. */
	if (proto == 0)
		fail_msg("no receiver reported -EPROTO in %u trials", TRIALS);
	assert_int_equal(zombie_children(), 0);
	if (leak_check(&before, left, sizeof(left)) && ours(left))
		fail_msg("left behind: %s", left);
}

static void test_spsc_block(void **state)
{
	struct cfg c = { IPC_WAIT_BLOCK, 1, 1 };

	(void)state;
	run_config(&c);
}

static void test_spsc_spin(void **state)
{
	struct cfg c = { IPC_WAIT_SPIN, 1, 1 };

	(void)state;
	run_config(&c);
}

static void test_mpmc_block(void **state)
{
	struct cfg c = { IPC_WAIT_BLOCK, 2, 2 };

	(void)state;
	run_config(&c);
}

static void test_mpmc_hybrid(void **state)
{
	struct cfg c = { IPC_WAIT_HYBRID, 2, 2 };

	(void)state;
	run_config(&c);
}

/* A ring whose every byte was overwritten, then a reader: -EPROTO, and it
 * stays stopped (a second call does not return data either). */
static void test_scribbled_then_read(void **state)
{
	struct ipc_params p = {
		.max_msg = MAX_MSG, .senders = 1, .receivers = 1,
		.wait = IPC_WAIT_SPIN, .timeout_ms = RING_TIMEOUT_MS,
	};
	unsigned char *buf = malloc(MAX_MSG);
	uint64_t s = 0xfeedfaceull;
	void *chan, *rx, *tx, *base;
	size_t len;
	char err[IPC_ERRLEN] = "";

	(void)state;
	assert_non_null(buf);
	alarm(TEST_ALARM_S);
	assert_int_equal(R->create(&p, &chan, err), 0);
	assert_int_equal(R->attach(chan, IPC_SEND, &tx, err), 0);
	assert_int_equal(R->attach(chan, IPC_RECV, &rx, err), 0);
	memset(buf, 0x5a, MAX_MSG);
	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(R->send(tx, buf, 100), 0);
	assert_int_equal(shmring_debug_area(chan, &base, &len), 0);
	/* Every byte: indices, futex words, pids, record headers, payload. */
	for (size_t off = 0; off < len; off++)
		((unsigned char *)base)[off] = (unsigned char)rnd(&s);
	assert_int_equal(R->recv(rx, buf, MAX_MSG), -EPROTO);
	assert_int_equal(R->recv(rx, buf, MAX_MSG), -EPROTO);
	R->detach(tx);
	R->detach(rx);
	R->destroy(chan);
	free(buf);
	alarm(0);
}

#define NT(name, fn) { name, fn, NULL, NULL, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		NT("hostile: every byte of a ring overwritten -> recv -EPROTO, and again", test_scribbled_then_read),
		NT("hostile: a peer scribbling on a live SPSC ring (block): -EPROTO or timeout, no overrun", test_spsc_block),
		NT("hostile: a peer scribbling on a live SPSC ring (spin): -EPROTO or timeout, no overrun", test_spsc_spin),
		NT("hostile: a peer scribbling on a live 2x2 MPMC ring (block): -EPROTO or timeout, no overrun", test_mpmc_block),
		NT("hostile: a peer scribbling on a live 2x2 MPMC ring (hybrid): -EPROTO or timeout, no overrun", test_mpmc_hybrid),
	};

	return tap_run("hostile", tests, sizeof(tests) / sizeof(tests[0]));
}
