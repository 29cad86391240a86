/* fdio.c - descriptor channels, stream framing and waits (see fdio.h).
 *
 * Why this file is long: every descriptor mechanism shares it (the framing,
 * the block/spin/hybrid waits, the liveness pipes that tell a dead peer, the
 * abort check); splitting it would split one wait loop across files. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"

/* Scratch for throwing away a payload longer than the caller's buffer. */
#define FDIO_DRAIN_CHUNK 4096u

int fdio_read_ulong(const char *path, unsigned long *out)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (fscanf(f, "%lu", out) != 1)
		ret = -EIO;
	fclose(f);
	return ret;
}

int fdio_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	if (fcntl(fd, F_SETFL, fl) < 0)
		return -errno;
	return 0;
}

uint64_t fdio_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int fdio_spin_wait(struct fdio_spin *s, unsigned timeout_ms)
{
	if (!timeout_ms)
		return 0;
	if (!s->deadline_ns) {
		s->deadline_ns = fdio_now_ns() + (uint64_t)timeout_ms * 1000000u;
		return 0;
	}
	if (++s->tries % FDIO_SPIN_CHECK)
		return 0;
	return fdio_now_ns() >= s->deadline_ns ? -ETIMEDOUT : 0;
}

void fdio_alive_reset(struct fdio_alive *a)
{
	a->r[0] = a->r[1] = a->w[0] = a->w[1] = -1;
}

int fdio_alive_open(struct fdio_alive *a)
{
	int p[2];

	for (int r = IPC_SEND; r <= IPC_RECV; r++) {
		if (pipe2(p, O_CLOEXEC))
			return -errno;
		a->r[r] = p[0];
		a->w[r] = p[1];
	}
	return 0;
}

int fdio_alive_attach(struct fdio_alive *a, enum ipc_role role, int child,
		      int *alive_w, int *peer_r)
{
	int other = role == IPC_SEND ? IPC_RECV : IPC_SEND;

	*alive_w = -1;
	*peer_r = -1;
	/* Threads of one process share the alive pipes: the other side's end
	 * belongs to a peer thread, not to a copy this child inherited. */
	if (ipc_in_shared_process())
		child = 0;
	if (a->r[other] >= 0) {
		*peer_r = fcntl(a->r[other], F_DUPFD_CLOEXEC, 0);
		if (*peer_r < 0)
			return -errno;
	}
	*alive_w = a->w[role];
	a->w[role] = -1;
	if (child && a->w[other] >= 0) {
		close(a->w[other]);
		a->w[other] = -1;
	}
	return 0;
}

void fdio_alive_close(struct fdio_alive *a)
{
	for (int r = IPC_SEND; r <= IPC_RECV; r++) {
		if (a->r[r] >= 0)
			close(a->r[r]);
		if (a->w[r] >= 0)
			close(a->w[r]);
	}
	fdio_alive_reset(a);
}

int fdio_peer_gone(int peer_r)
{
	struct pollfd pf = { .fd = peer_r, .events = POLLIN };

	if (peer_r < 0)
		return 0;
	return poll(&pf, 1, 0) == 1 && (pf.revents & POLLHUP);
}

unsigned fdio_alive_slice(unsigned timeout_ms)
{
	return timeout_ms && timeout_ms < FDIO_ALIVE_SLICE_MS ? timeout_ms : FDIO_ALIVE_SLICE_MS;
}

int fdio_wait_step(struct fdio_wait *w, int spin, unsigned timeout_ms,
		   unsigned slice_ms, int peer_r)
{
	uint64_t now;

	w->n++;
	if ((!spin || w->n % FDIO_SPIN_CHECK == 0) && fdio_peer_gone(peer_r))
		return 1;
	/* Told to stop (an MPI rank on mpirun's SIGTERM: an exported channel
	 * has no liveness pipes between ranks). */
	if ((!spin || w->n % FDIO_SPIN_CHECK == 0) && ipc_abort_requested())
		return -EINTR;
	if (spin)
		return fdio_spin_wait(&w->sp, timeout_ms);
	if (!timeout_ms)
		return 0;
	/* One slice is already slept when we first get here. */
	now = fdio_now_ns();
	if (!w->sp.deadline_ns) {
		if (timeout_ms <= slice_ms)
			return -ETIMEDOUT;
		w->sp.deadline_ns = now + (uint64_t)(timeout_ms - slice_ms) * 1000000u;
		return 0;
	}
	return now >= w->sp.deadline_ns ? -ETIMEDOUT : 0;
}

int fdio_check_params(const char *name, const struct ipc_caps *caps,
		      const struct ipc_params *p, char *err)
{
	if (p->max_msg < 1 || p->max_msg > caps->max_msg) {
		fdio_err(err, "%s: message size %zu out of range 1..%zu", name,
			 p->max_msg, caps->max_msg);
		return p->max_msg < 1 ? -EINVAL : -EMSGSIZE;
	}
	if (p->senders < 1 || p->receivers < 1) {
		fdio_err(err, "%s: need at least one sender and one receiver (got %u and %u)",
			 name, p->senders, p->receivers);
		return -EINVAL;
	}
	if (p->senders > 1 && p->max_msg > caps->max_shared_send) {
		if (caps->max_shared_send)
			fdio_err(err, "%s: %u senders share a channel only for messages up to %zu bytes, not %zu",
				 name, p->senders, caps->max_shared_send, p->max_msg);
		else
			fdio_err(err, "%s: one sender per channel (asked for %u)", name, p->senders);
		return -ENOTSUP;
	}
	if (p->receivers > 1 && p->max_msg > caps->max_shared_recv) {
		if (caps->max_shared_recv)
			fdio_err(err, "%s: %u receivers share a channel only for messages up to %zu bytes, not %zu",
				 name, p->receivers, caps->max_shared_recv, p->max_msg);
		else
			fdio_err(err, "%s: one receiver per channel (asked for %u)", name, p->receivers);
		return -ENOTSUP;
	}
	if (caps->max_depth && p->depth > caps->max_depth) {
		fdio_err(err, "%s: depth %u over the limit %u", name, p->depth, caps->max_depth);
		return -EINVAL;
	}
	if ((unsigned)p->wait >= IPC_WAIT_COUNT || !(caps->waits & IPC_WAIT_BIT(p->wait))) {
		fdio_err(err, "%s: wait '%s' not supported", name, ipc_wait_name(p->wait));
		return -ENOTSUP;
	}
	return 0;
}

int fdio_chan_new(const struct ipc_params *p, int sock, struct fdio_chan **out)
{
	struct fdio_chan *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->fd[IPC_SEND] = -1;
	c->fd[IPC_RECV] = -1;
	c->creator = getpid();
	c->sock = sock;
	c->wait = p->wait;
	c->timeout_ms = p->timeout_ms;
	c->max_msg = p->max_msg;
	fdio_alive_reset(&c->alive);
	*out = c;
	return 0;
}

static int set_timeo(int fd, int opt, unsigned ms)
{
	struct timeval tv = {
		.tv_sec = ms / 1000,
		.tv_usec = (suseconds_t)(ms % 1000) * 1000,
	};

	return setsockopt(fd, SOL_SOCKET, opt, &tv, sizeof(tv)) ? -errno : 0;
}

int fdio_chan_apply_wait(struct fdio_chan *c, const char *name, char *err)
{
	int ret;

	for (int r = IPC_SEND; r <= IPC_RECV; r++) {
		ret = fdio_set_nonblock(c->fd[r], c->wait == IPC_WAIT_SPIN);
		if (ret) {
			fdio_err(err, "%s: fcntl(O_NONBLOCK): %s", name, strerror(-ret));
			return ret;
		}
	}
	if (c->sock && c->wait == IPC_WAIT_BLOCK && (c->timeout_ms || c->use_alive)) {
		unsigned ms = c->use_alive ? fdio_alive_slice(c->timeout_ms) : c->timeout_ms;

		ret = set_timeo(c->fd[IPC_SEND], SO_SNDTIMEO, ms);
		if (!ret)
			ret = set_timeo(c->fd[IPC_RECV], SO_RCVTIMEO, ms);
		if (ret) {
			fdio_err(err, "%s: setsockopt(SO_SNDTIMEO/SO_RCVTIMEO): %s", name,
				 strerror(-ret));
			return ret;
		}
	}
	return 0;
}

int fdio_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct fdio_chan *c = chan;
	struct fdio_end *e;
	int other = role == IPC_SEND ? IPC_RECV : IPC_SEND;

	if (role != IPC_SEND && role != IPC_RECV) {
		fdio_err(err, "attach: bad role %d", (int)role);
		return -EINVAL;
	}
	if (c->fd[role] < 0) {
		fdio_err(err, "attach: %s end already attached or forgotten in this process",
			 role == IPC_SEND ? "send" : "receive");
		return -EBADF;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fdio_err(err, "attach: out of memory");
		return -ENOMEM;
	}
	/* Threads of one process: each end gets its own descriptor and the
	 * channel keeps one for the next thread that attaches this side. */
	e->fd = ipc_in_shared_process() ? fcntl(c->fd[role], F_DUPFD_CLOEXEC, 0) : c->fd[role];
	if (e->fd < 0) {
		fdio_err(err, "attach: dup: %s", strerror(errno));
		free(e);
		return -errno;
	}
	if (c->use_alive) {
		int ret = fdio_alive_attach(&c->alive, role, ipc_attach_closes_other_ends(c->creator),
					    &e->alive_w, &e->peer_r);
		if (ret) {
			fdio_err(err, "attach: dup: %s", strerror(-ret));
			if (e->fd != c->fd[role])
				close(e->fd);
			free(e);
			return ret;
		}
	} else {
		e->alive_w = -1;
		e->peer_r = -1;
	}
	e->slice_ms = c->use_alive ? fdio_alive_slice(c->timeout_ms) : c->timeout_ms;
	e->sock = c->sock;
	e->spin = c->wait == IPC_WAIT_SPIN;
	e->timeout_ms = c->timeout_ms;
	e->max_msg = c->max_msg;
	if (!ipc_in_shared_process())
		c->fd[role] = -1;
	if (ipc_attach_closes_other_ends(c->creator) && c->fd[other] >= 0) {
		close(c->fd[other]);
		c->fd[other] = -1;
	}
	*end = e;
	return 0;
}

void fdio_detach(void *end)
{
	struct fdio_end *e = end;

	if (!e)
		return;
	if (e->fd >= 0)
		close(e->fd);
	if (e->alive_w >= 0)
		close(e->alive_w);
	if (e->peer_r >= 0)
		close(e->peer_r);
	free(e->rx);
	free(e);
}

void fdio_forget(void *chan)
{
	struct fdio_chan *c = chan;

	if (!c)
		return;
	for (int r = IPC_SEND; r <= IPC_RECV; r++) {
		if (c->fd[r] >= 0)
			close(c->fd[r]);
		c->fd[r] = -1;
	}
	fdio_alive_close(&c->alive);
}

void fdio_destroy(void *chan)
{
	struct fdio_chan *c = chan;

	if (!c)
		return;
	fdio_forget(c);
	if (c->path[0])
		unlink(c->path);
	if (c->dir[0])
		rmdir(c->dir);
	free(c);
}

/* Default pipe capacity (16 pages); F_SETPIPE_SZ only when more is wanted. */
#define FDIO_PIPE_DEFAULT_SZ (64u << 10)

void fdio_grow_pipe(int fd, const struct ipc_params *p)
{
	unsigned long max_sz, want;
	unsigned depth = p->depth ? p->depth : 1;

	if (fdio_read_ulong("/proc/sys/fs/pipe-max-size", &max_sz))
		return;
	want = (unsigned long)depth * (p->max_msg + FDIO_HDR_LEN);
	if (want / depth != p->max_msg + FDIO_HDR_LEN || want > max_sz)
		want = max_sz;
	if (want > FDIO_PIPE_DEFAULT_SZ && want <= INT_MAX)
		(void)fcntl(fd, F_SETPIPE_SZ, (int)want);
}

/* Grow one socket buffer (never shrink it) to hold want bytes, asking at
 * most max (the sysctl).  The kernel doubles what it is asked (half is
 * bookkeeping), so asking want/2 yields want. */
static void grow_sockbuf(int fd, int opt, unsigned long want, unsigned long max)
{
	int cur, ask;
	socklen_t l = sizeof(cur);

	if (getsockopt(fd, SOL_SOCKET, opt, &cur, &l) || (unsigned long)cur >= want)
		return;
	want = (want + 1) / 2;
	if (want > max)
		want = max;
	ask = want > (unsigned long)(INT_MAX / 2) ? INT_MAX / 2 : (int)want;
	(void)setsockopt(fd, SOL_SOCKET, opt, &ask, sizeof(ask));
}

void fdio_grow_stream_sock(int snd, int rcv, const struct ipc_params *p)
{
	unsigned long wmem_max, rmem_max, want;
	unsigned depth = p->depth ? p->depth : 1;

	if (fdio_read_ulong("/proc/sys/net/core/wmem_max", &wmem_max) ||
	    fdio_read_ulong("/proc/sys/net/core/rmem_max", &rmem_max))
		return;
	want = (unsigned long)depth * (p->max_msg + FDIO_HDR_LEN);
	if (want / depth != p->max_msg + FDIO_HDR_LEN)
		want = ULONG_MAX;
	grow_sockbuf(snd, SO_SNDBUF, want, wmem_max);
	grow_sockbuf(rcv, SO_RCVBUF, want, rmem_max);
}

void fdio_describe_buffers(char *buf, size_t len)
{
	unsigned long pmax = 0, wmax = 0, rmax = 0;

	(void)fdio_read_ulong("/proc/sys/fs/pipe-max-size", &pmax);
	(void)fdio_read_ulong("/proc/sys/net/core/wmem_max", &wmax);
	(void)fdio_read_ulong("/proc/sys/net/core/rmem_max", &rmax);
	snprintf(buf, len,
		 "pipe, fifo: F_SETPIPE_SZ to depth (default 1) x (size + %zu) bytes when over the %u-byte default, "
		 "at most fs.pipe-max-size=%lu; unix-stream: SO_SNDBUF/SO_RCVBUF grown to depth (default 1) x (size + %zu), "
		 "at most net.core.wmem_max=%lu / rmem_max=%lu; unix-dgram, unix-seqpacket: both buffers for depth "
		 "(default 16) records, a record the send buffer cannot take refused; tcp: the kernel's autotuning "
		 "(net.ipv4.tcp_wmem/tcp_rmem), TCP_NODELAY; stream receivers read into a %u-byte buffer",
		 FDIO_HDR_LEN, FDIO_PIPE_DEFAULT_SZ, pmax, FDIO_HDR_LEN, wmax, rmax, FDIO_RX_BUF);
}

void fdio_pipe_caps(struct ipc_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = FDIO_STREAM_MAX_MSG;
	caps->max_shared_send = PIPE_BUF - FDIO_HDR_LEN;
	caps->max_shared_recv = 0;
	caps->max_depth = 0;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 0;
}

/* errno of a failed send to a peer that is gone, as the interface says it. */
static int peer_errno(int e)
{
	switch (e) {
	case EPIPE:
	case ECONNRESET:
	case ECONNREFUSED:
	case ENOTCONN:
		return -EPIPE;
	default:
		return -e;
	}
}

/* Write every byte of iov[0..cnt); iov is consumed.  0 or -errno. */
static int write_all(struct fdio_end *e, struct iovec *iov, int cnt)
{
	struct fdio_spin sp = { 0 };
	int progress = 0, ret;
	ssize_t n;

	while (cnt > 0) {
		if (e->sock) {
			struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };

			n = sendmsg(e->fd, &mh, MSG_NOSIGNAL);
		} else {
			n = writev(e->fd, iov, cnt);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				ret = e->spin ? fdio_spin_wait(&sp, e->timeout_ms) : -ETIMEDOUT;
				if (!ret)
					continue;
			} else {
				ret = peer_errno(errno);
			}
			if (progress)
				e->broken = 1;
			return ret;
		}
		progress = 1;
		while (cnt > 0 && (size_t)n >= iov->iov_len) {
			n -= (ssize_t)iov->iov_len;
			iov++;
			cnt--;
		}
		if (cnt > 0) {
			iov->iov_base = (char *)iov->iov_base + n;
			iov->iov_len -= (size_t)n;
		}
	}
	return 0;
}

int fdio_stream_send(void *end, const void *buf, size_t len)
{
	struct fdio_end *e = end;
	struct fdio_hdr h;
	struct iovec iov[2];

	if (len == 0)
		return -EINVAL;
	if (len > e->max_msg)
		return -EMSGSIZE;
	if (e->broken)
		return -EPROTO;
	h.magic = FDIO_MAGIC;
	h.len = (uint32_t)len;
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)buf;
	iov[1].iov_len = len;
	return write_all(e, iov, 2);
}

/*
 * One read into up to two places: first dst[0..dlen) (the caller's buffer,
 * so a payload is read where it belongs), then the free tail of the
 * receive buffer (whatever of the next frames is already there: in a
 * stream of small messages one read fetches hundreds).  Bytes read, or
 * -EPIPE (end of stream), -ETIMEDOUT, -errno; an error when mid is set
 * breaks the end.
 */
static ssize_t read_some(struct fdio_end *e, void *dst, size_t dlen, int mid)
{
	struct fdio_spin sp = { 0 };
	struct iovec iov[2];
	int cnt = 0, ret;
	ssize_t n;

	if (dlen) {
		iov[cnt].iov_base = dst;
		iov[cnt++].iov_len = dlen;
	}
	if (e->rx_tail < e->rx_cap) {
		iov[cnt].iov_base = e->rx + e->rx_tail;
		iov[cnt++].iov_len = e->rx_cap - e->rx_tail;
	}
	for (;;) {
		n = readv(e->fd, iov, cnt);
		if (n > 0)
			return n;
		if (n == 0) {
			ret = -EPIPE;
		} else if (errno == EINTR) {
			continue;
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			ret = e->spin ? fdio_spin_wait(&sp, e->timeout_ms) : -ETIMEDOUT;
			if (!ret)
				continue;
		} else {
			ret = errno == ECONNRESET ? -EPIPE : -errno;
		}
		if (mid)
			e->broken = 1;
		return ret;
	}
}

/* Account n bytes read by read_some(e, dst, dlen, ...): those beyond dlen
 * went to the receive buffer.  Returns the bytes that went to dst. */
static size_t took(struct fdio_end *e, size_t dlen, ssize_t n)
{
	size_t to_dst = (size_t)n < dlen ? (size_t)n : dlen;

	e->rx_tail += (size_t)n - to_dst;
	return to_dst;
}

/* Move what is buffered to the start of the receive buffer. */
static void rx_compact(struct fdio_end *e)
{
	size_t have = e->rx_tail - e->rx_head;

	if (e->rx_head && have)
		memmove(e->rx, e->rx + e->rx_head, have);
	e->rx_head = 0;
	e->rx_tail = have;
}

/* Throw away skip bytes of the stream (a frame too long for the caller).
 * 0 or -errno (the end is then broken). */
static int rx_skip(struct fdio_end *e, size_t skip)
{
	while (skip) {
		size_t have = e->rx_tail - e->rx_head, d;
		ssize_t n;

		if (!have) {
			e->rx_head = e->rx_tail = 0;
			n = read_some(e, NULL, 0, 1);
			if (n < 0)
				return (int)n;
			e->rx_tail = (size_t)n;
			continue;
		}
		d = have < skip ? have : skip;
		e->rx_head += d;
		skip -= d;
	}
	return 0;
}

/*
 * A frame: header, then payload.  The end keeps a receive buffer (rx); a
 * read takes whatever the kernel has, up to what fits, so the system
 * calls per message are one read per batch of small messages in a stream
 * and one read per message in a ping-pong (never header-then-body).  The
 * payload of the frame being read goes straight into the caller's buffer;
 * only bytes beyond it pass through rx.
 */
ssize_t fdio_stream_recv(void *end, void *buf, size_t cap)
{
	struct fdio_end *e = end;
	struct fdio_hdr h;
	size_t have, got, take;
	ssize_t n;

	if (e->broken)
		return -EPROTO;
	if (!e->rx) { /* first receive on this end */
		e->rx = malloc(FDIO_RX_BUF);
		if (!e->rx)
			return -ENOMEM;
		e->rx_cap = FDIO_RX_BUF;
	}
	/* The header, whole, at rx_head. */
	while (e->rx_tail - e->rx_head < FDIO_HDR_LEN) {
		int mid = e->rx_tail != e->rx_head;

		rx_compact(e);
		n = read_some(e, NULL, 0, mid);
		if (n < 0)
			return n;
		e->rx_tail += (size_t)n;
	}
	memcpy(&h, e->rx + e->rx_head, sizeof(h));
	if (h.magic != FDIO_MAGIC || h.len < 1 || h.len > e->max_msg) {
		e->broken = 1;
		return -EPROTO;
	}
	e->rx_head += FDIO_HDR_LEN;
	if (h.len > cap) {
		/* Too long for the caller: consume it so the next frame lines up. */
		int ret = rx_skip(e, h.len);

		return ret ? ret : -EMSGSIZE;
	}
	have = e->rx_tail - e->rx_head;
	take = have < h.len ? have : h.len;
	memcpy(buf, e->rx + e->rx_head, take);
	e->rx_head += take;
	if (e->rx_head == e->rx_tail)
		e->rx_head = e->rx_tail = 0;
	for (got = take; got < h.len; got += took(e, h.len - got, n)) {
		/* rx is empty here: the rest of the payload is read in place,
		 * and what follows it (next frames) into rx. */
		n = read_some(e, (char *)buf + got, h.len - got, 1);
		if (n < 0)
			return n;
	}
	return (ssize_t)h.len;
}

int fdio_dgram_send(void *end, const void *buf, size_t len)
{
	struct fdio_end *e = end;
	struct fdio_wait w = { 0 };
	int last = 0, ret;
	ssize_t n;

	if (len == 0)
		return -EINVAL;
	if (len > e->max_msg)
		return -EMSGSIZE;
	for (;;) {
		n = send(e->fd, buf, len, MSG_NOSIGNAL | (last ? MSG_DONTWAIT : 0));
		if (n == (ssize_t)len)
			return 0;
		if (n >= 0)
			return -EPROTO; /* a record socket never sends part */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return peer_errno(errno);
		if (last)
			return -EPIPE;
		ret = fdio_wait_step(&w, e->spin, e->timeout_ms, e->slice_ms, e->peer_r);
		if (ret < 0)
			return ret;
		last = ret;
	}
}

ssize_t fdio_dgram_recv(void *end, void *buf, size_t cap)
{
	struct fdio_end *e = end;
	struct fdio_wait w = { 0 };
	int last = 0, ret;
	ssize_t n;

	for (;;) {
		/* MSG_TRUNC: the record's real length; a longer one is gone. */
		n = recv(e->fd, buf, cap, MSG_TRUNC | (last ? MSG_DONTWAIT : 0));
		if (n > 0)
			return (size_t)n > cap ? -EMSGSIZE : n;
		if (n == 0)
			return -EPIPE; /* seqpacket end of stream; we never send 0 */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return errno == ECONNRESET ? -EPIPE : -errno;
		if (last)
			return -EPIPE;
		ret = fdio_wait_step(&w, e->spin, e->timeout_ms, e->slice_ms, e->peer_r);
		if (ret < 0)
			return ret;
		last = ret;
	}
}
