/*
 * iouring.c - "io-uring": the unix-seqpacket traffic (a socketpair of
 * records, as impl/unix.c), each send and receive submitted through an
 * io_uring of the end's own (liburing; built only when CMake finds it).
 *
 * A ring is made by attach, in the process that uses the end (a ring must
 * not cross a fork), with IO_URING_ENTRIES entries.  Per message:
 *   block  one IORING_OP_SEND or IORING_OP_RECV, submitted and waited for
 *          with one io_uring_enter(2) (io_uring_submit_and_wait): the same
 *          one system call as send(2)/recv(2), the kernel's poll-arming
 *          instead of a blocking socket call.
 *   spin   the operation is submitted (one io_uring_enter) without
 *          MSG_DONTWAIT, and completion is polled in the completion ring
 *          from user space (io_uring_peek_cqe): the kernel completes it
 *          from task work when the socket becomes ready.  The ring is set
 *          up with IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG:
 *          the waker only raises IORING_SQ_TASKRUN in the ring, and the
 *          poll loop, seeing it, enters the kernel once (liburing's peek
 *          does) to run the task work.  Without them the kernel forces a
 *          spinning task into the kernel with an IPI and a reschedule,
 *          which on the 2-vCPU VMs here cost as much as a blocking wake-up:
 *          pingpong 64 B p50 110-128 us with the IPI, 14-16 us with the
 *          flag (unix-seqpacket spin: 8.4 us, same run).  Kernels before
 *          5.19 refuse the flags (EINVAL): the ring is then made without.
 * Batching: a message is one record and one operation; ipc_ops' send
 * returns only once its message is in the socket (per-message semantics:
 * an error belongs to that message), so operations are not held back to
 * be submitted together.  What io_uring saves here is the separate
 * wake-up path, not calls; a batch API (several messages per call) would
 * save calls and is left for a workload that can use it.
 *
 * Records keep boundaries and go whole to one receiver, so several senders
 * and receivers may share a channel.  Limits: as unix-seqpacket, a record
 * within 2 x net.core.wmem_max - 32 and at most IO_URING_RECORD_CAP; the
 * kernel must offer io_uring (io_uring_queue_init fails with ENOSYS or
 * EPERM when kernel.io_uring_disabled says so: reported).  Dead peers:
 * the socket's EOF / EPIPE.  Block does not honour timeout_ms (as pipes);
 * spin does, cancelling the operation in flight (IORING_OP_ASYNC_CANCEL)
 * before it returns -ETIMEDOUT, so no late completion writes into a buffer
 * the caller took back.
 */
#include <errno.h>
#include <liburing.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "atomics.h"
#include "fdio.h"

#define URING_NAME "io-uring"
/* Submission queue entries per end: one operation (plus its cancel) is in
 * flight at a time. */
#define IO_URING_ENTRIES 4u
/* Largest record, as unix-seqpacket (impl/unix.c says why). */
#define IO_URING_RECORD_CAP ((size_t)1 << 20)
#define URING_SKB_RESERVE 32u
/* Records a socket buffer is sized for when depth is 0. */
#define URING_DEFAULT_DEPTH 16u
#define URING_SKB_TRUESIZE 1024u

struct uring_end {
	struct fdio_end *fe;
	struct io_uring ring;
	int ring_ok;
};

static int uring_caps(struct ipc_caps *caps, char *err)
{
	unsigned long wmem_max;
	int ret;

	memset(caps, 0, sizeof(*caps));
	ret = fdio_read_ulong("/proc/sys/net/core/wmem_max", &wmem_max);
	if (ret) {
		fdio_err(err, URING_NAME ": cannot read net.core.wmem_max: %s", strerror(-ret));
		return ret;
	}
	caps->max_msg = 2 * wmem_max > URING_SKB_RESERVE ? 2 * wmem_max - URING_SKB_RESERVE : 0;
	if (caps->max_msg > IO_URING_RECORD_CAP)
		caps->max_msg = IO_URING_RECORD_CAP;
	caps->max_shared_send = caps->max_msg;
	caps->max_shared_recv = caps->max_msg;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
	return 0;
}

/* Grow a socket buffer to want bytes (the kernel doubles what it is
 * asked), at most max.  0 or -errno. */
static int grow(int fd, int opt, unsigned long want, unsigned long max)
{
	int cur, ask;
	socklen_t l = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, opt, &cur, &l))
		return -errno;
	if ((unsigned long)cur >= want)
		return 0;
	want = (want + 1) / 2;
	ask = (int)(want > max ? max : want);
	return setsockopt(fd, SOL_SOCKET, opt, &ask, sizeof(ask)) ? -errno : 0;
}

/* 0 or -errno; on error nothing is left. */
static int uring_create(const struct ipc_params *p, void **chan, char *err)
{
	unsigned long wmem_max, rmem_max, want;
	unsigned depth = p->depth ? p->depth : URING_DEFAULT_DEPTH;
	struct ipc_caps caps;
	struct fdio_chan *c;
	struct io_uring probe;
	int sv[2], ret, sndbuf;
	socklen_t l = sizeof(sndbuf);

	ret = uring_caps(&caps, err);
	if (!ret && p->max_msg > caps.max_msg) {
		fdio_err(err, URING_NAME ": message size %zu over the largest record %zu (min of "
			 "2 x net.core.wmem_max - %u and %zu)", p->max_msg, caps.max_msg,
			 URING_SKB_RESERVE, IO_URING_RECORD_CAP);
		return -EMSGSIZE;
	}
	if (!ret)
		ret = fdio_check_params(URING_NAME, &caps, p, err);
	if (ret)
		return ret;
	/* Is io_uring there at all?  (A ring per end comes at attach.) */
	ret = io_uring_queue_init(1, &probe, 0);
	if (ret < 0) {
		fdio_err(err, URING_NAME ": io_uring_queue_init: %s (see kernel.io_uring_disabled)",
			 strerror(-ret));
		return -ENOTSUP;
	}
	io_uring_queue_exit(&probe);
	ret = fdio_read_ulong("/proc/sys/net/core/wmem_max", &wmem_max);
	if (!ret)
		ret = fdio_read_ulong("/proc/sys/net/core/rmem_max", &rmem_max);
	if (ret) {
		fdio_err(err, URING_NAME ": cannot read net.core.{w,r}mem_max: %s", strerror(-ret));
		return ret;
	}
	ret = fdio_chan_new(p, 1, &c);
	if (ret) {
		fdio_err(err, URING_NAME ": out of memory");
		return ret;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		fdio_err(err, URING_NAME ": socketpair: %s", strerror(errno));
		goto err;
	}
	c->fd[IPC_SEND] = sv[0];
	c->fd[IPC_RECV] = sv[1];
	want = (unsigned long)depth * (p->max_msg + URING_SKB_TRUESIZE);
	for (int i = 0; i < 2 && !ret; i++) {
		ret = grow(sv[i], SO_SNDBUF, want, wmem_max);
		if (!ret)
			ret = grow(sv[i], SO_RCVBUF, want, rmem_max);
	}
	if (!ret && getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &l))
		ret = -errno;
	if (ret) {
		fdio_err(err, URING_NAME ": socket buffer size: %s", strerror(-ret));
		goto err;
	}
	if ((unsigned long)sndbuf < p->max_msg + URING_SKB_RESERVE) {
		fdio_err(err, URING_NAME ": message size %zu exceeds the send buffer (%d bytes, "
			 "net.core.wmem_max = %lu); raise it with: sysctl -w net.core.wmem_max=%zu",
			 p->max_msg, sndbuf, wmem_max, p->max_msg + URING_SKB_RESERVE);
		ret = -EMSGSIZE;
		goto err;
	}
	/* Both waits use blocking sockets: a spinning end polls the ring. */
	*chan = c;
	return 0;
err:
	fdio_destroy(c);
	return ret;
}

static void uring_detach(void *end)
{
	struct uring_end *e = end;

	if (!e)
		return;
	if (e->ring_ok)
		io_uring_queue_exit(&e->ring);
	fdio_detach(e->fe);
	free(e);
}

static int uring_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct uring_end *e = calloc(1, sizeof(*e));
	void *fe;
	int ret;

	if (!e) {
		fdio_err(err, URING_NAME ": out of memory");
		return -ENOMEM;
	}
	ret = fdio_attach(chan, role, &fe, err);
	if (ret) {
		free(e);
		return ret;
	}
	e->fe = fe;
	/* Spin: cooperative task running with the flag (see the top). */
	ret = -EINVAL;
	if (e->fe->spin)
		ret = io_uring_queue_init(IO_URING_ENTRIES, &e->ring,
					  IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG);
	if (ret == -EINVAL) /* block, or a kernel before 5.19 */
		ret = io_uring_queue_init(IO_URING_ENTRIES, &e->ring, 0);
	if (ret < 0) {
		fdio_err(err, URING_NAME ": io_uring_queue_init: %s", strerror(-ret));
		uring_detach(e);
		return ret;
	}
	e->ring_ok = 1;
	*end = e;
	return 0;
}

/* Spin: cancel the operation in flight and reap it (and the cancel). */
static void uring_cancel(struct uring_end *e)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
	struct io_uring_cqe *cqe;
	unsigned left = 2;

	if (!sqe)
		return;
	io_uring_prep_cancel64(sqe, 1, 0);
	io_uring_sqe_set_data64(sqe, 2);
	io_uring_submit(&e->ring);
	while (left && io_uring_wait_cqe(&e->ring, &cqe) == 0) {
		io_uring_cqe_seen(&e->ring, cqe);
		left--;
	}
}

/* Submit the prepared operation and wait for its completion: its result
 * (bytes, or -errno). */
static int uring_run(struct uring_end *e, struct io_uring_sqe *sqe)
{
	struct io_uring_cqe *cqe;
	struct fdio_spin sp = { 0 };
	int ret;

	io_uring_sqe_set_data64(sqe, 1);
	if (!e->fe->spin) {
		do
			ret = io_uring_submit_and_wait(&e->ring, 1);
		while (ret == -EINTR);
		if (ret < 0)
			return ret;
		do
			ret = io_uring_wait_cqe(&e->ring, &cqe);
		while (ret == -EINTR);
		if (ret < 0)
			return ret;
	} else {
		ret = io_uring_submit(&e->ring);
		if (ret < 0)
			return ret;
		while (io_uring_peek_cqe(&e->ring, &cqe) != 0) {
			cpu_relax();
			ret = fdio_spin_wait(&sp, e->fe->timeout_ms);
			if (ret) {
				uring_cancel(e);
				return ret;
			}
		}
	}
	ret = cqe->res;
	io_uring_cqe_seen(&e->ring, cqe);
	return ret;
}

static int uring_send(void *end, const void *buf, size_t len)
{
	struct uring_end *e = end;
	struct io_uring_sqe *sqe;
	int n;

	if (len == 0)
		return -EINVAL;
	if (len > e->fe->max_msg)
		return -EMSGSIZE;
	sqe = io_uring_get_sqe(&e->ring);
	if (!sqe)
		return -EBUSY;
	io_uring_prep_send(sqe, e->fe->fd, buf, len, MSG_NOSIGNAL);
	n = uring_run(e, sqe);
	if (n == (int)len)
		return 0;
	if (n >= 0)
		return -EPROTO; /* a record socket never sends part */
	return n == -ECONNRESET || n == -ENOTCONN ? -EPIPE : n;
}

static ssize_t uring_recv(void *end, void *buf, size_t cap)
{
	struct uring_end *e = end;
	struct io_uring_sqe *sqe = io_uring_get_sqe(&e->ring);
	int n;

	if (!sqe)
		return -EBUSY;
	io_uring_prep_recv(sqe, e->fe->fd, buf, cap, MSG_TRUNC);
	n = uring_run(e, sqe);
	if (n > 0)
		return (size_t)n > cap ? -EMSGSIZE : n;
	if (n == 0)
		return -EPIPE; /* end of stream: every sender closed */
	return n == -ECONNRESET ? -EPIPE : n;
}

const struct ipc_ops ipc_io_uring_ops = {
	.name = URING_NAME,
	.summary = "unix seqpacket records, each send/recv submitted through an io_uring (liburing)",
	.quick = IPC_QUICK_SMALL,
	.caps = uring_caps,
	.create = uring_create,
	.attach = uring_attach,
	.send = uring_send,
	.recv = uring_recv,
	.detach = uring_detach,
	.forget = fdio_forget,
	.destroy = fdio_destroy,
};
