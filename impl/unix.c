/*
 * unix.c - Unix domain sockets: three tables, one socketpair per channel.
 *
 *   unix-stream     SOCK_STREAM, framed (fdio.h); one sender, one receiver
 *                   (a large stream write is queued in pieces that two
 *                   writers could interleave).
 *   unix-dgram      SOCK_DGRAM and
 *   unix-seqpacket  SOCK_SEQPACKET: the kernel keeps boundaries and moves
 *                   each record whole, so several processes may send on the
 *                   send end and several may receive on the receive end.
 *
 * sv[0] is the send end, sv[1] the receive end; children inherit them.
 *
 * Record size: a Unix record must fit the sender's buffer (the kernel
 * refuses len > sk_sndbuf - UNIX_SKB_RESERVE with EMSGSIZE).  SO_SNDBUF can
 * reach 2 x net.core.wmem_max (the kernel doubles the value asked), so
 * max_msg is that minus the reserve, and at most UNIX_RECORD_CAP.  create
 * sizes SO_SNDBUF (and SO_RCVBUF, from net.core.rmem_max) for the wanted
 * depth of records and refuses a size the buffer cannot take.
 *
 * Peer death: stream and seqpacket see EOF / EPIPE.  A dgram receiver is
 * not told by the kernel that every sender is gone, so unix-dgram channels
 * carry fdio's liveness pipes (fdio.h) and a waiting receiver says -EPIPE
 * once no sender is left and nothing is queued; a dgram sender whose
 * receivers are gone gets ECONNREFUSED, reported as -EPIPE.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"

/* Bytes of sk_sndbuf a record may not use (net/unix/af_unix.c: len >
 * sk->sk_sndbuf - 32 is EMSGSIZE). */
#define UNIX_SKB_RESERVE 32u
/*
 * Largest record we offer even when wmem_max allows more: the kernel puts
 * all but ~68 KiB of a record in one physically contiguous buffer, and
 * allocations above order 8 (1 MiB) fail now and then with ENOBUFS on a
 * machine that has run a while.  1 MiB also matches fs.pipe-max-size.
 */
#define UNIX_RECORD_CAP (1u << 20)
/* Per-record accounting beyond the payload (struct sk_buff and its shared
 * info, rounded up), used only to size buffers for a depth. */
#define UNIX_SKB_TRUESIZE 1024u
/* Records in flight a buffer is sized for when params.depth is 0. */
#define UNIX_DEFAULT_DEPTH 16u

static int unix_record_caps(struct ipc_caps *caps, char *err)
{
	unsigned long wmem_max;
	int ret;

	memset(caps, 0, sizeof(*caps));
	ret = fdio_read_ulong("/proc/sys/net/core/wmem_max", &wmem_max);
	if (ret) {
		fdio_err(err, "unix: cannot read net.core.wmem_max: %s", strerror(-ret));
		return ret;
	}
	caps->max_msg = 2 * wmem_max > UNIX_SKB_RESERVE ? 2 * wmem_max - UNIX_SKB_RESERVE : 0;
	if (caps->max_msg > UNIX_RECORD_CAP)
		caps->max_msg = UNIX_RECORD_CAP;
	caps->max_shared_send = caps->max_msg;
	caps->max_shared_recv = caps->max_msg;
	caps->max_depth = 0;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
	return 0;
}

static int unix_stream_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = FDIO_STREAM_MAX_MSG;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 0;
	return 0;
}

/* Grow one socket buffer (never shrink it) to hold want bytes, asking at
 * most max (the sysctl); 0 or -errno. */
static int grow_buf(int fd, int opt, unsigned long want, unsigned long max)
{
	int cur, ask;
	socklen_t l = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, opt, &cur, &l))
		return -errno;
	if ((unsigned long)cur >= want)
		return 0;
	want = (want + 1) / 2; /* the kernel doubles what it is asked */
	if (want > max)
		want = max;
	ask = want > (unsigned long)(INT32_MAX / 2) ? INT32_MAX / 2 : (int)want;
	return setsockopt(fd, SOL_SOCKET, opt, &ask, sizeof(ask)) ? -errno : 0;
}

/* Size both buffers of a record socketpair for p; refuse a record the send
 * buffer cannot take.  0 or -errno with err. */
static int size_record_bufs(const char *name, int sv[2], const struct ipc_params *p, char *err)
{
	unsigned long wmem_max, rmem_max, want;
	unsigned depth = p->depth ? p->depth : UNIX_DEFAULT_DEPTH;
	int sndbuf, ret;
	socklen_t l = sizeof(sndbuf);

	ret = fdio_read_ulong("/proc/sys/net/core/wmem_max", &wmem_max);
	if (!ret)
		ret = fdio_read_ulong("/proc/sys/net/core/rmem_max", &rmem_max);
	if (ret) {
		fdio_err(err, "%s: cannot read net.core.{w,r}mem_max: %s", name, strerror(-ret));
		return ret;
	}
	want = (unsigned long)depth * (p->max_msg + UNIX_SKB_TRUESIZE);
	for (int i = 0; i < 2 && !ret; i++) {
		ret = grow_buf(sv[i], SO_SNDBUF, want, wmem_max);
		if (!ret)
			ret = grow_buf(sv[i], SO_RCVBUF, want, rmem_max);
	}
	if (!ret && getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, &l))
		ret = -errno;
	if (ret) {
		fdio_err(err, "%s: socket buffer size: %s", name, strerror(-ret));
		return ret;
	}
	if ((unsigned long)sndbuf < p->max_msg + UNIX_SKB_RESERVE) {
		fdio_err(err, "%s: message size %zu exceeds the send buffer (%d bytes, "
			 "net.core.wmem_max = %lu); raise it with: sysctl -w net.core.wmem_max=%zu",
			 name, p->max_msg, sndbuf, wmem_max, p->max_msg + UNIX_SKB_RESERVE);
		return -EMSGSIZE;
	}
	return 0;
}

/* 0 or -errno; on error nothing is left. */
static int unix_create(const char *name, int type, const struct ipc_params *p,
		       void **chan, char *err)
{
	struct ipc_caps caps;
	struct fdio_chan *c;
	int sv[2], ret;

	ret = type == SOCK_STREAM ? unix_stream_caps(&caps, err) : unix_record_caps(&caps, err);
	if (ret)
		return ret;
	if (type != SOCK_STREAM && p->max_msg > caps.max_msg) {
		fdio_err(err, "%s: message size %zu over the largest record %zu "
			 "(min of 2 x net.core.wmem_max - %u and %u: bigger records need "
			 "high-order kernel allocations that fail under fragmentation)",
			 name, p->max_msg, caps.max_msg, UNIX_SKB_RESERVE, UNIX_RECORD_CAP);
		return -EMSGSIZE;
	}
	ret = fdio_check_params(name, &caps, p, err);
	if (ret)
		return ret;
	ret = fdio_chan_new(p, 1, &c);
	if (ret) {
		fdio_err(err, "%s: out of memory", name);
		return ret;
	}
	if (socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv)) {
		ret = -errno;
		fdio_err(err, "%s: socketpair: %s", name, strerror(errno));
		goto err;
	}
	c->fd[IPC_SEND] = sv[0];
	c->fd[IPC_RECV] = sv[1];
	if (type == SOCK_DGRAM) {
		c->use_alive = 1;
		ret = fdio_alive_open(&c->alive);
		if (ret) {
			fdio_err(err, "%s: pipe: %s", name, strerror(-ret));
			goto err;
		}
	}
	if (type != SOCK_STREAM) {
		ret = size_record_bufs(name, sv, p, err);
		if (ret)
			goto err;
	} else {
		fdio_grow_stream_sock(sv[0], sv[1], p);
	}
	ret = fdio_chan_apply_wait(c, name, err);
	if (ret)
		goto err;
	*chan = c;
	return 0;
err:
	fdio_destroy(c);
	return ret;
}

static int unix_stream_create(const struct ipc_params *p, void **chan, char *err)
{
	return unix_create("unix-stream", SOCK_STREAM, p, chan, err);
}

static int unix_dgram_create(const struct ipc_params *p, void **chan, char *err)
{
	return unix_create("unix-dgram", SOCK_DGRAM, p, chan, err);
}

static int unix_seqpacket_create(const struct ipc_params *p, void **chan, char *err)
{
	return unix_create("unix-seqpacket", SOCK_SEQPACKET, p, chan, err);
}

const struct ipc_ops ipc_unix_stream_ops =
	FDIO_OPS("unix-stream",
		 "Unix stream socketpair, length-framed",
		 unix_stream_caps, unix_stream_create, stream);

const struct ipc_ops ipc_unix_dgram_ops =
	FDIO_OPS("unix-dgram",
		 "Unix datagram socketpair, one record per message",
		 unix_record_caps, unix_dgram_create, dgram);

const struct ipc_ops ipc_unix_seqpacket_ops =
	FDIO_OPS("unix-seqpacket",
		 "Unix seqpacket socketpair, one record per message",
		 unix_record_caps, unix_seqpacket_create, dgram);
