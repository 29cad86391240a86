/*
 * udp.c - UDP over loopback (127.0.0.1), one datagram per message, with
 * credit-based flow control.
 *
 * UDP drops a datagram when the receiver's buffer is full, and a flat-out
 * stream fills it at once; a benchmark that lost messages would measure the
 * drops.  So the channel does flow control, not loss counting: the sender
 * holds `depth` credits, spends one per datagram and, out of credits,
 * waits for a credit datagram; the receiver returns credits in batches of
 * depth/2 (at least 1) on the same socket pair.  The receive buffer is
 * sized for depth datagrams of max_msg (SO_RCVBUF, at most
 * net.core.rmem_max), so as long as that sizing holds nothing is dropped;
 * a drop would show as a lost message (the harness fails the case, it never
 * hides it).
 *
 * Two sockets, each bound to 127.0.0.1 on a port the kernel picks and
 * connected to the other: data flows send -> receive, credits receive ->
 * send; a connected socket takes datagrams from its peer only.  One sender
 * and one receiver per channel (credits are per sender).
 *
 * Every datagram starts with an 8-byte header (kind, sequence) sent and
 * received from its own iovec, so the payload is not copied twice: the
 * receiver checks the sequence (a lost or reordered datagram is -EPROTO,
 * never hidden), and the sender's detach sends an end-of-stream record
 * carrying how many it sent (a receiver says -EPIPE once it has them all).
 *
 * One message costs one sendmsg(2) and one recvmsg(2), plus one credit
 * datagram (a send and a recv) per depth/2 messages.
 *
 * Spin: O_NONBLOCK sockets in a loop that calls sched_yield() between
 * tries.  Loopback delivery runs as softirq work; when both CPUs of this
 * machine spin, the kernel defers it to ksoftirqd, which a pure busy loop
 * starves: 100 000 messages took 13.4 s without the yield, 1.6 s with it.
 *
 * Limits read from the machine, never clamped: a message over 65499 bytes
 * (the IPv4 datagram payload less the header) is refused; depth x udp_truesize(size)
 * must fit 2 x net.core.rmem_max (the kernel doubles SO_RCVBUF), else it is
 * refused with the sysctl to raise.  depth 0: as many as UDP_DEFAULT_DEPTH,
 * fewer when the buffer allows fewer.
 *
 * Dead peers: UDP has no connection, so the channel carries fdio's liveness
 * pipes (fdio.h); blocking sockets sleep in SO_RCVTIMEO slices and look at
 * them (the hot path pays nothing), spinning ones every FDIO_SPIN_CHECK
 * tries.  A send to a port whose socket is closed may also see
 * ECONNREFUSED (reported as -EPIPE).  A receiver whose sender is gone
 * without an end-of-stream (SIGKILL) takes what is still in flight for
 * UDP_EOS_GRACE_MS, then says -EPIPE.
 *
 * Exported (ipc_params.exported: ranks of an MPI job, maybe on several
 * hosts, issue 17): the creator (the receiving rank) binds its socket to
 * this host's address (IPCLAB_TCP_HOST, else the host name's first IPv4
 * address: sockend.h, as tcp) on a port the kernel picks, and publishes
 * host, port, depth and a random nonce.  An importer's attach connects a
 * socket to that address (the kernel picks its source address and port)
 * and sends one hello datagram carrying the nonce; the creator's attach
 * waits (within the timeout) for that hello, ignoring any other datagram,
 * and connects its socket to the hello's source, so from then on it takes
 * datagrams from that sender only, and credits go back to it.  The data
 * path does not change, and neither do its rules across a network: a
 * lost or reordered data datagram is -EPROTO (the case fails, never
 * hidden); a lost hello is a timeout of the creator's attach.  No
 * liveness pipes cross ranks (a dead rank ends the job), so an exported
 * end relies on the timeout and the end-of-stream record.  Nothing has a
 * name: nothing can be left behind.
 *
 * Why this file is long: one mechanism with its own flow control (credits,
 * their batching and the receive-buffer sizing that keeps a datagram from
 * being dropped) and its export step between MPI ranks (bind on the host
 * address, the hello datagram with its nonce that pairs the two ends).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <sched.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdio.h"
#include "sockend.h"

#define UDP_NAME "udp"
/* Largest message: the IPv4 UDP payload, 65535 - 20 (IP header) - 8 (UDP
 * header), less our 8-byte header. */
#define UDP_MAX_PAYLOAD (65507u - 8u)
/* What the kernel charges a receive buffer per datagram (its truesize):
 * the buffer, rounded up to a power of two, plus sk_buff and shared info.
 * Measured on loopback: 835 bytes for 16 and 64, 8601 for 4096, 66666 for
 * 65507; the estimate below is above each, and doubled: at 4096 bytes
 * the receive buffer still overflowed twice under load (RcvbufErrors) with
 * the plain estimate. */
#define UDP_TRUESIZE_MARGIN 2u
static size_t udp_truesize(size_t len)
{
	size_t p = 1;

	while (p < len + 512)
		p <<= 1;
	return UDP_TRUESIZE_MARGIN * (p + 1024);
}
#define UDP_DEFAULT_DEPTH 64u
#ifndef UDP_SPIN_YIELD
#define UDP_SPIN_YIELD 1
#endif
/* After the peers are gone, how long a receiver still takes datagrams in
 * flight before -EPIPE (when no end-of-stream datagram came: a SIGKILL). */
#define UDP_EOS_GRACE_MS 100u
#define UDP_CREDIT_MAGIC 0x44524355u /* "UCRD" */

/* Every datagram starts with this (sent from its own iovec: no copy). */
struct udp_hdr {
	uint32_t kind;
	uint32_t seq;  /* data: per sender from 0; end-of-stream: how many */
};
#define UDP_KIND_DATA 0x41544144u /* "DATA" */
#define UDP_KIND_EOS 0x20534f45u  /* "EOS " */
#define UDP_KIND_HELLO 0x4f4c4548u /* "HELO": an exported channel's sender; seq: the nonce */

struct udp_credit {
	uint32_t magic;
	uint32_t count;
};

struct udp_chan {
	struct fdio_chan *fc;
	unsigned depth;
	/* Exported channels only (else exported 0): */
	int exported;           /* 1: the creator (waits for a hello), 2: an importer */
	struct sockaddr_in addr; /* the creator's bound address */
	uint32_t nonce;         /* what the sender's hello carries */
};

struct udp_end {
	struct fdio_end *fe;
	unsigned credits;  /* sender: datagrams it may send now */
	unsigned owed;     /* receiver: taken since the last credit */
	unsigned batch;    /* receiver: credits per credit datagram */
	unsigned depth;
	int is_recv;
	uint32_t seq;      /* data datagrams sent / taken */
	int eos;           /* receiver: the end-of-stream datagram came */
	uint32_t eos_count; /* ... saying this many were sent */
};

/* Messages of max_msg the largest receive buffer holds. */
static unsigned long udp_fits(size_t max_msg, unsigned long rmem_max)
{
	return 2 * rmem_max / udp_truesize(max_msg + sizeof(struct udp_hdr));
}

static int udp_caps(struct ipc_caps *caps, char *err)
{
	unsigned long rmem_max;
	int ret;

	memset(caps, 0, sizeof(*caps));
	ret = fdio_read_ulong("/proc/sys/net/core/rmem_max", &rmem_max);
	if (ret) {
		fdio_err(err, UDP_NAME ": cannot read net.core.rmem_max: %s", strerror(-ret));
		return ret;
	}
	caps->max_msg = UDP_MAX_PAYLOAD;
	while (caps->max_msg > 0 && udp_fits(caps->max_msg, rmem_max) < 1)
		caps->max_msg /= 2;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
	return 0;
}

/* A socket bound to host (network order) on a port the kernel picks, its
 * address into addr: the descriptor or -errno. */
static int udp_socket(struct sockaddr_in *addr, in_addr_t host, char *err)
{
	socklen_t l = sizeof(*addr);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	char text[INET_ADDRSTRLEN];

	memset(addr, 0, sizeof(*addr));
	addr->sin_family = AF_INET;
	addr->sin_addr.s_addr = host;
	if (fd < 0 || bind(fd, (struct sockaddr *)addr, sizeof(*addr)) ||
	    getsockname(fd, (struct sockaddr *)addr, &l)) {
		int e = errno;

		inet_ntop(AF_INET, &host, text, sizeof(text));
		fdio_err(err, UDP_NAME ": socket/bind %s: %s", text, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	return fd;
}

/* The receive buffer for depth datagrams: depth 0 picks the default. */
static int udp_depth(const struct ipc_params *p, unsigned long rmem_max, unsigned *depth, char *err)
{
	unsigned long fits = udp_fits(p->max_msg, rmem_max);

	if (p->depth && p->depth > fits) {
		fdio_err(err, UDP_NAME ": depth %u x %zu-byte datagrams needs a receive buffer of "
			 "%llu bytes, over 2 x net.core.rmem_max = %lu; raise it with: sysctl -w "
			 "net.core.rmem_max=%llu", p->depth, p->max_msg,
			 (unsigned long long)p->depth * udp_truesize(p->max_msg + sizeof(struct udp_hdr)),
			 2 * rmem_max,
			 (unsigned long long)p->depth * udp_truesize(p->max_msg + sizeof(struct udp_hdr)) / 2 + 1);
		return -EINVAL;
	}
	*depth = p->depth ? p->depth : (fits < UDP_DEFAULT_DEPTH ? (unsigned)fits : UDP_DEFAULT_DEPTH);
	return 0;
}

/* What every channel must satisfy; the depth it gets.  0 or -errno with
 * err. */
static int udp_check(const struct ipc_params *p, unsigned *depth, char *err)
{
	unsigned long rmem_max;
	struct ipc_caps caps;
	int ret;

	ret = udp_caps(&caps, err);
	if (!ret && p->max_msg > caps.max_msg) {
		fdio_err(err, UDP_NAME ": message size %zu over %zu (the IPv4 datagram payload, or "
			 "one datagram in 2 x net.core.rmem_max)", p->max_msg, caps.max_msg);
		return -EMSGSIZE;
	}
	if (!ret)
		ret = fdio_check_params(UDP_NAME, &caps, p, err);
	if (!ret)
		ret = fdio_read_ulong("/proc/sys/net/core/rmem_max", &rmem_max);
	if (!ret)
		ret = udp_depth(p, rmem_max, depth, err);
	return ret;
}

/* A receive buffer for depth datagrams of max_msg.  0 or -errno. */
static int udp_size_rcvbuf(int fd, unsigned depth, size_t max_msg, char *err)
{
	int buf = (int)((unsigned long long)depth * udp_truesize(max_msg + sizeof(struct udp_hdr)) / 2 + 1);

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf))) {
		fdio_err(err, UDP_NAME ": SO_RCVBUF %d: %s", buf, strerror(errno));
		return -errno;
	}
	return 0;
}

/* Two sockets on loopback, connected to each other, for the forked
 * pools.  0 or -errno; on error nothing is left. */
static int udp_pair_create(const struct ipc_params *p, unsigned depth, struct fdio_chan **out, char *err)
{
	struct sockaddr_in a_tx, a_rx;
	struct fdio_chan *c;
	int ret;

	ret = fdio_chan_new(p, 1, &c);
	if (ret) {
		fdio_err(err, UDP_NAME ": out of memory");
		return ret;
	}
	c->fd[IPC_SEND] = udp_socket(&a_tx, htonl(INADDR_LOOPBACK), err);
	if (c->fd[IPC_SEND] < 0) {
		ret = c->fd[IPC_SEND];
		c->fd[IPC_SEND] = -1;
		goto err;
	}
	c->fd[IPC_RECV] = udp_socket(&a_rx, htonl(INADDR_LOOPBACK), err);
	if (c->fd[IPC_RECV] < 0) {
		ret = c->fd[IPC_RECV];
		c->fd[IPC_RECV] = -1;
		goto err;
	}
	if (connect(c->fd[IPC_SEND], (struct sockaddr *)&a_rx, sizeof(a_rx)) ||
	    connect(c->fd[IPC_RECV], (struct sockaddr *)&a_tx, sizeof(a_tx))) {
		ret = -errno;
		fdio_err(err, UDP_NAME ": connect: %s", strerror(errno));
		goto err;
	}
	ret = udp_size_rcvbuf(c->fd[IPC_RECV], depth, p->max_msg, err);
	if (ret)
		goto err;
	c->use_alive = 1;
	ret = fdio_alive_open(&c->alive);
	if (ret) {
		fdio_err(err, UDP_NAME ": pipe: %s", strerror(-ret));
		goto err;
	}
	ret = fdio_chan_apply_wait(c, UDP_NAME, err);
	if (ret)
		goto err;
	if (p->wait == IPC_WAIT_BLOCK) {
		/* The sender also receives (credits): the same slices. */
		unsigned ms = fdio_alive_slice(p->timeout_ms);
		struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000 };

		if (setsockopt(c->fd[IPC_SEND], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
			ret = -errno;
			fdio_err(err, UDP_NAME ": SO_RCVTIMEO: %s", strerror(errno));
			goto err;
		}
	}
	*out = c;
	return 0;
err:
	fdio_destroy(c);
	return ret;
}

/* An exported channel: the receive socket bound to this host's address.
 * 0 or -errno. */
static int udp_export_create(const struct ipc_params *p, struct udp_chan *u, char *err)
{
	char host[INET_ADDRSTRLEN];
	struct in_addr a;
	int fd, ret;

	ret = fdio_chan_new(p, 1, &u->fc);
	if (ret) {
		fdio_err(err, UDP_NAME ": out of memory");
		return ret;
	}
	ret = sockend_host_addr(UDP_NAME, host, err);
	if (ret)
		return ret;
	inet_pton(AF_INET, host, &a);
	fd = udp_socket(&u->addr, a.s_addr, err);
	if (fd < 0)
		return fd;
	ret = udp_size_rcvbuf(fd, u->depth, p->max_msg, err);
	if (ret) {
		close(fd);
		return ret;
	}
	if (getrandom(&u->nonce, sizeof(u->nonce), GRND_NONBLOCK) != (ssize_t)sizeof(u->nonce))
		u->nonce = (uint32_t)fdio_now_ns() ^ (uint32_t)getpid();
	u->exported = 1;
	return sockend_install(u->fc, IPC_RECV, fd, UDP_NAME, err);
}

/* 0 or -errno; on error nothing is left. */
static int udp_create(const struct ipc_params *p, void **chan, char *err)
{
	struct udp_chan *u;
	unsigned depth;
	int ret;

	ret = udp_check(p, &depth, err);
	if (ret)
		return ret;
	u = calloc(1, sizeof(*u));
	if (!u) {
		fdio_err(err, UDP_NAME ": out of memory");
		return -ENOMEM;
	}
	u->depth = depth;
	ret = p->exported ? udp_export_create(p, u, err) : udp_pair_create(p, depth, &u->fc, err);
	if (ret) {
		fdio_destroy(u->fc);
		free(u);
		return ret;
	}
	*chan = u;
	return 0;
}

static int udp_export(void *chan, char *text, size_t cap, char *err)
{
	const struct udp_chan *u = chan;
	char host[INET_ADDRSTRLEN];
	int n;

	if (u->exported != 1 || u->fc->fd[IPC_RECV] < 0) {
		fdio_err(err, UDP_NAME ": only a channel created for export, by its receiver, can be exported");
		return -EINVAL;
	}
	inet_ntop(AF_INET, &u->addr.sin_addr, host, sizeof(host));
	n = snprintf(text, cap, "host=%s port=%u max=%zu depth=%u wait=%s timeout=%u nonce=%08x", host,
		     (unsigned)ntohs(u->addr.sin_port), u->fc->max_msg, u->depth, ipc_wait_name(u->fc->wait),
		     u->fc->timeout_ms, (unsigned)u->nonce);
	if (n < 0 || (size_t)n >= cap) {
		fdio_err(err, UDP_NAME ": export needs %d bytes, have %zu", n, cap);
		return -ENOSPC;
	}
	return 0;
}

static int udp_import(const char *text, void **chan, char *err)
{
	struct ipc_params p = { .senders = 1, .receivers = 1 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char host[INET_ADDRSTRLEN + 1], wait[16];
	unsigned port, depth, nonce;
	struct udp_chan *u;
	int ret;

	if (sscanf(text, "host=%16s port=%u max=%zu depth=%u wait=%15s timeout=%u nonce=%8x", host, &port,
		   &p.max_msg, &depth, wait, &p.timeout_ms, &nonce) != 7 ||
	    inet_pton(AF_INET, host, &sa.sin_addr) != 1 || !port || port > 65535 || !depth || !p.max_msg ||
	    ipc_wait_parse(wait, &p.wait)) {
		fdio_err(err, UDP_NAME ": cannot import '%.80s' (want host=IPV4 port=N max=BYTES depth=N wait=W "
			 "timeout=MS nonce=HEX)", text);
		return -EINVAL;
	}
	sa.sin_port = htons((uint16_t)port);
	u = calloc(1, sizeof(*u));
	ret = u ? fdio_chan_new(&p, 1, &u->fc) : -ENOMEM;
	if (ret) {
		fdio_err(err, UDP_NAME ": out of memory");
		free(u);
		return ret;
	}
	u->depth = depth;
	u->addr = sa;
	u->nonce = nonce;
	u->exported = 2;
	*chan = u;
	return 0;
}

/* An importer's send end: a socket connected to the creator's address,
 * which says hello.  0 or -errno. */
static int udp_open_sender(struct udp_chan *u, char *err)
{
	struct udp_hdr h = { .kind = UDP_KIND_HELLO, .seq = u->nonce };
	char host[INET_ADDRSTRLEN];
	int fd, ret;

	inet_ntop(AF_INET, &u->addr.sin_addr, host, sizeof(host));
	fd = sockend_connect(AF_INET, SOCK_DGRAM, (struct sockaddr *)&u->addr, sizeof(u->addr));
	if (fd < 0) {
		fdio_err(err, UDP_NAME ": connect %s:%u: %s", host, (unsigned)ntohs(u->addr.sin_port), strerror(-fd));
		return fd;
	}
	if (send(fd, &h, sizeof(h), MSG_NOSIGNAL) != (ssize_t)sizeof(h)) {
		ret = -errno;
		fdio_err(err, UDP_NAME ": hello to %s:%u: %s", host, (unsigned)ntohs(u->addr.sin_port), strerror(errno));
		close(fd);
		return ret;
	}
	return sockend_install(u->fc, IPC_SEND, fd, UDP_NAME, err);
}

/* The creator's receive end: wait for the sender's hello (any other
 * datagram is not ours: dropped), then take datagrams from it only.
 * 0 or -errno. */
static int udp_await_sender(struct udp_chan *u, char *err)
{
	int fd = u->fc->fd[IPC_RECV];
	uint64_t deadline = u->fc->timeout_ms ? fdio_now_ns() + (uint64_t)u->fc->timeout_ms * 1000000u : 0;

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		struct udp_hdr h;
		uint64_t now = fdio_now_ns();
		int ms = deadline ? (now >= deadline ? 0 : (int)((deadline - now) / 1000000u) + 1) : -1;
		ssize_t n;

		if (poll(&pf, 1, ms) == 0) {
			fdio_err(err, UDP_NAME ": no hello from a sender on port %u in %u ms (one datagram: lost?)",
				 (unsigned)ntohs(u->addr.sin_port), u->fc->timeout_ms);
			return -ETIMEDOUT;
		}
		n = recvfrom(fd, &h, sizeof(h), MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNREFUSED) {
			fdio_err(err, UDP_NAME ": waiting for the sender's hello: %s", strerror(errno));
			return -errno;
		}
		if (n != (ssize_t)sizeof(h) || h.kind != UDP_KIND_HELLO || h.seq != u->nonce)
			continue;
		if (connect(fd, (struct sockaddr *)&from, fl)) {
			fdio_err(err, UDP_NAME ": connect to the sender: %s", strerror(errno));
			return -errno;
		}
		u->exported = 0; /* connected: an ordinary receive end */
		return 0;
	}
}

static void udp_forget(void *chan)
{
	struct udp_chan *u = chan;

	if (u)
		fdio_forget(u->fc);
}

static void udp_destroy(void *chan)
{
	struct udp_chan *u = chan;

	if (!u)
		return;
	fdio_destroy(u->fc);
	free(u);
}

static int udp_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct udp_chan *u = chan;
	struct udp_end *e = calloc(1, sizeof(*e));
	void *fe;
	int ret;

	if (!e) {
		fdio_err(err, UDP_NAME ": out of memory");
		return -ENOMEM;
	}
	ret = 0;
	if (u->exported == 2 && role == IPC_SEND && u->fc->fd[IPC_SEND] < 0)
		ret = udp_open_sender(u, err);
	else if (u->exported == 1 && role == IPC_RECV)
		ret = udp_await_sender(u, err);
	if (!ret)
		ret = fdio_attach(u->fc, role, &fe, err);
	if (ret) {
		free(e);
		return ret;
	}
	e->fe = fe;
	e->is_recv = role == IPC_RECV;
	e->depth = u->depth;
	e->credits = u->depth;
	e->batch = u->depth / 2 ? u->depth / 2 : 1;
	*end = e;
	return 0;
}

static void udp_detach(void *end)
{
	struct udp_end *e = end;

	if (!e)
		return;
	if (!e->is_recv) { /* end-of-stream, with the count sent */
		struct udp_hdr h = { .kind = UDP_KIND_EOS, .seq = e->seq };

		(void)send(e->fe->fd, &h, sizeof(h), MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	fdio_detach(e->fe);
	free(e);
}

/* Sender out of credits: wait for a credit datagram.  0 or -errno. */
static int udp_wait_credit(struct udp_end *e)
{
	struct fdio_end *fe = e->fe;
	struct fdio_wait w = { 0 };
	struct udp_credit cr;
	int ret, last = 0;
	ssize_t n;

	for (;;) {
		n = recv(fe->fd, &cr, sizeof(cr), MSG_TRUNC | (last ? MSG_DONTWAIT : 0));
		if (n == (ssize_t)sizeof(cr)) {
			if (cr.magic != UDP_CREDIT_MAGIC || cr.count < 1 || cr.count > e->depth - e->credits)
				return -EPROTO;
			e->credits += cr.count;
			return 0;
		}
		if (n >= 0)
			return -EPROTO;
		if (errno == EINTR)
			continue;
		if (errno == ECONNREFUSED)
			return -EPIPE;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (last)
			return -EPIPE;
		if (fe->spin && UDP_SPIN_YIELD)
			sched_yield();
		ret = fdio_wait_step(&w, fe->spin, fe->timeout_ms, fe->slice_ms, fe->peer_r);
		if (ret < 0)
			return ret;
		last = ret;
	}
}

/* One datagram: header + payload in one sendmsg.  0 or -errno. */
static int udp_put(struct udp_end *e, uint32_t kind, uint32_t seq, const void *buf, size_t len)
{
	struct fdio_end *fe = e->fe;
	struct udp_hdr h = { .kind = kind, .seq = seq };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)buf, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	struct fdio_wait w = { 0 };
	int ret;

	for (;;) {
		ssize_t n = sendmsg(fe->fd, &mh, MSG_NOSIGNAL);

		if (n == (ssize_t)(sizeof(h) + len))
			return 0;
		if (n >= 0)
			return -EPROTO;
		if (errno == EINTR)
			continue;
		if (errno == ECONNREFUSED)
			return -EPIPE;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		ret = fdio_wait_step(&w, fe->spin, fe->timeout_ms, fe->slice_ms, fe->peer_r);
		if (ret)
			return ret < 0 ? ret : -EPIPE;
	}
}

static int udp_send(void *end, const void *buf, size_t len)
{
	struct udp_end *e = end;
	int ret;

	if (len == 0)
		return -EINVAL;
	if (len > e->fe->max_msg)
		return -EMSGSIZE;
	if (e->is_recv)
		return -EBADF;
	if (!e->credits) {
		ret = udp_wait_credit(e);
		if (ret)
			return ret;
	}
	ret = udp_put(e, UDP_KIND_DATA, e->seq, buf, len);
	if (!ret) {
		e->credits--;
		e->seq++;
	}
	return ret;
}

/*
 * One datagram.  The end-of-stream record carries the number of data
 * datagrams sent: a receiver says -EPIPE once it has taken that many (it
 * may come first: loopback delivers from per-CPU queues, so a sender that
 * moved CPUs can overtake itself).  Peers found gone without one (SIGKILL)
 * start a grace of UDP_EOS_GRACE_MS for datagrams still in flight, then
 * -EPIPE.  A data datagram out of sequence is -EPROTO (lost or reordered:
 * never hidden).  A spinning end yields the CPU between tries (see the top).
 */
static ssize_t udp_recv_one(struct udp_end *e, void *buf, size_t cap)
{
	struct fdio_end *fe = e->fe;
	struct fdio_wait w = { 0 };
	struct udp_hdr h;
	struct iovec iov[2] = { { &h, sizeof(h) }, { buf, cap } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	uint64_t grace_end = 0;
	int ret;
	ssize_t n;

	for (;;) {
		if (e->eos && e->seq == e->eos_count)
			return -EPIPE;
		n = recvmsg(fe->fd, &mh, MSG_TRUNC);
		if (n >= (ssize_t)sizeof(h)) {
			if (h.kind == UDP_KIND_EOS && n == (ssize_t)sizeof(h)) {
				e->eos = 1;
				e->eos_count = h.seq;
				continue;
			}
			if (h.kind != UDP_KIND_DATA || n == (ssize_t)sizeof(h) || h.seq != e->seq)
				return -EPROTO;
			e->seq++;
			n -= (ssize_t)sizeof(h);
			return (size_t)n > cap ? -EMSGSIZE : n;
		}
		if (n >= 0)
			return -EPROTO;
		/* ECONNREFUSED: a credit went to a sender that is gone, and
		 * the kernel reports the ICMP error before the datagrams still
		 * queued; reading it cleared it, the queue decides. */
		if (errno == EINTR || errno == ECONNREFUSED)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if (fe->spin && UDP_SPIN_YIELD)
			sched_yield();
		ret = fdio_wait_step(&w, fe->spin, fe->timeout_ms, fe->slice_ms, fe->peer_r);
		if (ret < 0)
			return ret;
		if (ret == 1 && !grace_end)
			grace_end = fdio_now_ns() + (uint64_t)UDP_EOS_GRACE_MS * 1000000u;
		else if (ret == 1 && fdio_now_ns() >= grace_end)
			return -EPIPE;
	}
}

static ssize_t udp_recv(void *end, void *buf, size_t cap)
{
	struct udp_end *e = end;
	ssize_t n;

	if (!e->is_recv)
		return -EBADF;
	n = udp_recv_one(e, buf, cap);
	if ((n > 0 || n == -EMSGSIZE) && ++e->owed >= e->batch) {
		struct udp_credit cr = { .magic = UDP_CREDIT_MAGIC, .count = e->owed };

		/* A sender that is gone does not need it: errors are its. */
		(void)send(e->fe->fd, &cr, sizeof(cr), MSG_NOSIGNAL | MSG_DONTWAIT);
		e->owed = 0;
	}
	return n;
}

const struct ipc_ops ipc_udp_ops = {
	.name = UDP_NAME,
	.summary = "UDP datagrams over 127.0.0.1 with credit flow control (no drops)",
	.quick = IPC_QUICK_SMALL,
	.caps = udp_caps,
	.create = udp_create,
	.attach = udp_attach,
	.send = udp_send,
	.recv = udp_recv,
	.detach = udp_detach,
	.forget = udp_forget,
	.destroy = udp_destroy,
	.export_chan = udp_export,
	.import_chan = udp_import,
};
