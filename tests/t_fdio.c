/*
 * t_fdio.c - the framed byte stream of the descriptor mechanisms
 * (impl/fdio.c), beyond what the conformance suite sees:
 *
 *   fdio: a receive reads what is there (one read drains a pipe of frames)
 *   fdio: frames cut anywhere by the writer are put back together
 *   fdio: a frame too long for the caller among buffered ones, rest intact
 *   fdio: a bad header breaks the stream for good (-EPROTO)
 *   fdio: end of stream inside a frame is -EPIPE, then -EPROTO
 *   fdio: the pipe is sized for a large message (F_SETPIPE_SZ)
 *   fdio: unix-stream buffers are sized for a large message
 *
 * Correctness only; no timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fdio.h"
#include "testutil.h"

extern const struct ipc_ops ipc_pipe_ops;
extern const struct ipc_ops ipc_unix_stream_ops;

#define TEST_ALARM_S 60
#define SMALL 64u
#define NFRAMES 300u       /* 300 x 72 bytes: fits a default 64 KiB pipe */
#define CAP 1000u

struct rig {
	const struct ipc_ops *ops;
	void *ch, *s, *r;
};

static void rig_open(struct rig *g, const struct ipc_ops *ops, size_t max, enum ipc_wait w)
{
	struct ipc_params p = { .max_msg = max, .senders = 1, .receivers = 1,
				.wait = w, .timeout_ms = 2000 };
	char err[IPC_ERRLEN] = "";

	g->ops = ops;
	assert_int_equal(ops->create(&p, &g->ch, err), 0);
	assert_int_equal(ops->attach(g->ch, IPC_SEND, &g->s, err), 0);
	assert_int_equal(ops->attach(g->ch, IPC_RECV, &g->r, err), 0);
}

static void rig_close(struct rig *g)
{
	if (g->s)
		g->ops->detach(g->s);
	if (g->r)
		g->ops->detach(g->r);
	g->ops->destroy(g->ch);
}

static int fd_of(void *end)
{
	return ((struct fdio_end *)end)->fd;
}

static void fill(unsigned char *m, size_t n, unsigned seq)
{
	for (size_t i = 0; i < n; i++)
		m[i] = (unsigned char)(seq * 31u + i * 7u + 1u);
}

static void expect_frame(struct rig *g, size_t n, unsigned seq)
{
	unsigned char want[CAP], got[CAP];

	fill(want, n, seq);
	assert_int_equal(g->ops->recv(g->r, got, CAP), (ssize_t)n);
	assert_memory_equal(got, want, n);
}

/* A raw frame (header + payload) into buf; its length. */
static size_t raw_frame(unsigned char *buf, size_t n, unsigned seq)
{
	struct fdio_hdr h = { .magic = FDIO_MAGIC, .len = (uint32_t)n };

	memcpy(buf, &h, sizeof(h));
	fill(buf + sizeof(h), n, seq);
	return sizeof(h) + n;
}

static void test_reads_ahead(void **state)
{
	struct rig g;
	unsigned char m[SMALL];
	int queued = -1;

	(void)state;
	rig_open(&g, &ipc_pipe_ops, SMALL, IPC_WAIT_BLOCK);
	for (unsigned i = 0; i < NFRAMES; i++) {
		fill(m, SMALL, i);
		assert_int_equal(g.ops->send(g.s, m, SMALL), 0);
	}
	expect_frame(&g, SMALL, 0);
	/* Header-then-body reads would have left 299 frames in the pipe. */
	assert_int_equal(ioctl(fd_of(g.r), FIONREAD, &queued), 0);
	assert_int_equal(queued, 0);
	for (unsigned i = 1; i < NFRAMES; i++)
		expect_frame(&g, SMALL, i);
	rig_close(&g);
}

/* A child writes frames of several sizes in pieces cut at every offset
 * (1, 2, 3, ... bytes, then the rest), pausing between pieces. */
static void test_split_frames(void **state)
{
	static const size_t sizes[] = { 1, 7, 8, 9, 63, 64, 65, 999, 1000 };
	const unsigned nsizes = sizeof(sizes) / sizeof(sizes[0]);
	struct rig g;
	int status;
	pid_t pid;

	(void)state;
	rig_open(&g, &ipc_pipe_ops, CAP, IPC_WAIT_BLOCK);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		unsigned char buf[CAP + FDIO_HDR_LEN];
		int fd = fd_of(g.s);

		for (unsigned k = 0; k < 3 * nsizes; k++) {
			size_t len = raw_frame(buf, sizes[k % nsizes], k), off = 0, piece = 1 + k % 11;

			while (off < len) {
				size_t n = len - off < piece ? len - off : piece;

				if (write(fd, buf + off, n) != (ssize_t)n)
					_exit(1);
				off += n;
				usleep(100);
			}
		}
		_exit(0);
	}
	g.ops->detach(g.s);
	g.s = NULL;
	for (unsigned k = 0; k < 3 * nsizes; k++)
		expect_frame(&g, sizes[k % nsizes], k);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Writer gone, nothing left: end of stream. */
	{
		unsigned char b[CAP];

		assert_int_equal(g.ops->recv(g.r, b, CAP), -EPIPE);
	}
	rig_close(&g);
	assert_int_equal(zombie_children(), 0);
}

static void test_too_long_among_buffered(void **state)
{
	struct rig g;
	unsigned char m[3 * CAP], small[CAP];

	(void)state;
	rig_open(&g, &ipc_pipe_ops, 3 * CAP, IPC_WAIT_SPIN);
	fill(m, SMALL, 0);
	assert_int_equal(g.ops->send(g.s, m, SMALL), 0);
	fill(m, 3 * CAP, 1);
	assert_int_equal(g.ops->send(g.s, m, 3 * CAP), 0);
	fill(m, SMALL, 2);
	assert_int_equal(g.ops->send(g.s, m, SMALL), 0);
	expect_frame(&g, SMALL, 0);
	assert_int_equal(g.ops->recv(g.r, small, CAP), -EMSGSIZE);
	expect_frame(&g, SMALL, 2);
	rig_close(&g);
}

static void test_bad_header(void **state)
{
	struct rig g;
	unsigned char buf[SMALL + FDIO_HDR_LEN], b[CAP];
	size_t len;

	(void)state;
	rig_open(&g, &ipc_pipe_ops, SMALL, IPC_WAIT_SPIN);
	len = raw_frame(buf, SMALL, 0);
	assert_int_equal(write(fd_of(g.s), buf, len), (ssize_t)len);
	len = raw_frame(buf, SMALL, 1);
	buf[0] ^= 0xff; /* magic */
	assert_int_equal(write(fd_of(g.s), buf, len), (ssize_t)len);
	len = raw_frame(buf, SMALL, 2);
	assert_int_equal(write(fd_of(g.s), buf, len), (ssize_t)len);
	expect_frame(&g, SMALL, 0);
	assert_int_equal(g.ops->recv(g.r, b, CAP), -EPROTO);
	assert_int_equal(g.ops->recv(g.r, b, CAP), -EPROTO); /* for good */
	rig_close(&g);

	/* A length over the channel's max_msg is as bad as a bad magic. */
	rig_open(&g, &ipc_pipe_ops, SMALL, IPC_WAIT_SPIN);
	len = raw_frame(buf, SMALL, 0);
	((struct fdio_hdr *)(void *)buf)->len = SMALL + 1;
	assert_int_equal(write(fd_of(g.s), buf, len), (ssize_t)len);
	assert_int_equal(g.ops->recv(g.r, b, CAP), -EPROTO);
	rig_close(&g);
}

static void test_eof_inside_frame(void **state)
{
	struct rig g;
	unsigned char buf[SMALL + FDIO_HDR_LEN], b[CAP];
	size_t len;

	(void)state;
	for (size_t cut = 1; cut < SMALL + FDIO_HDR_LEN; cut += 9) {
		rig_open(&g, &ipc_pipe_ops, SMALL, IPC_WAIT_BLOCK);
		len = raw_frame(buf, SMALL, 0);
		assert_int_equal(write(fd_of(g.s), buf, len), (ssize_t)len);
		assert_int_equal(write(fd_of(g.s), buf, cut), (ssize_t)cut);
		g.ops->detach(g.s);
		g.s = NULL;
		expect_frame(&g, SMALL, 0);
		assert_int_equal(g.ops->recv(g.r, b, CAP), -EPIPE);
		assert_int_equal(g.ops->recv(g.r, b, CAP), -EPROTO);
		rig_close(&g);
	}
}

static void test_pipe_sized(void **state)
{
	const size_t big = 256u << 10;
	unsigned long pmax = 0;
	struct rig g;
	int sz;

	(void)state;
	assert_int_equal(fdio_read_ulong("/proc/sys/fs/pipe-max-size", &pmax), 0);
	rig_open(&g, &ipc_pipe_ops, big, IPC_WAIT_BLOCK);
	sz = fcntl(fd_of(g.s), F_GETPIPE_SZ);
	assert_true(sz > 0);
	if (pmax >= big + FDIO_HDR_LEN)
		assert_true((size_t)sz >= big + FDIO_HDR_LEN);
	else
		assert_true((unsigned long)sz >= pmax / 2);
	rig_close(&g);
}

static void test_unix_stream_sized(void **state)
{
	const size_t big = 1u << 20;
	unsigned long wmax = 0, rmax = 0;
	struct rig g;
	int snd = 0, rcv = 0;
	socklen_t l = sizeof(int);

	(void)state;
	assert_int_equal(fdio_read_ulong("/proc/sys/net/core/wmem_max", &wmax), 0);
	assert_int_equal(fdio_read_ulong("/proc/sys/net/core/rmem_max", &rmax), 0);
	rig_open(&g, &ipc_unix_stream_ops, big, IPC_WAIT_BLOCK);
	assert_int_equal(getsockopt(fd_of(g.s), SOL_SOCKET, SO_SNDBUF, &snd, &l), 0);
	assert_int_equal(getsockopt(fd_of(g.r), SOL_SOCKET, SO_RCVBUF, &rcv, &l), 0);
	/* Grown to the frame, or as far as the sysctl allows (doubled). */
	assert_true((size_t)snd >= big + FDIO_HDR_LEN || (unsigned long)snd >= 2 * wmax);
	assert_true((size_t)rcv >= big + FDIO_HDR_LEN || (unsigned long)rcv >= 2 * rmax);
	rig_close(&g);
}

#define T(name, fn) { name, fn, NULL, NULL, NULL }

int main(void)
{
	const struct CMUnitTest tests[] = {
		T("fdio: a receive reads what is there (one read drains a pipe of frames)", test_reads_ahead),
		T("fdio: frames cut anywhere by the writer are put back together", test_split_frames),
		T("fdio: a frame too long for the caller among buffered ones, rest intact", test_too_long_among_buffered),
		T("fdio: a bad header breaks the stream for good (-EPROTO)", test_bad_header),
		T("fdio: end of stream inside a frame is -EPIPE, then -EPROTO", test_eof_inside_frame),
		T("fdio: the pipe is sized for a large message (F_SETPIPE_SZ)", test_pipe_sized),
		T("fdio: unix-stream buffers are sized for a large message", test_unix_stream_sized),
	};

	signal(SIGPIPE, SIG_IGN);
	alarm(TEST_ALARM_S);
	return tap_run("fdio", tests, sizeof(tests) / sizeof(tests[0]));
}
