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
 *
 * Exported (ipc_params.exported: ranks of an MPI job, issue 17): no pair,
 * but an address in Linux's abstract namespace ("@ipclab-unix-PID-SEQ-RANDOM",
 * no file: nothing is ever left behind, even by a SIGKILLed rank, and the
 * kernel frees the name with the last socket).  The creator (the
 * receiving rank) listens on it (stream, seqpacket) or binds its receive
 * socket to it (dgram); export_chan publishes the host name and the
 * address.  An importer on another host (another host name) is refused
 * with that reason: a Unix socket is reached on its creator's host only.
 * The ends are shared with tcp (sockend.h): the creator's attach accepts
 * one connection within the timeout and closes the listener, an
 * importer's attach connects.  An abstract name has no file permissions,
 * so a stream or seqpacket end refuses a peer of another user
 * (SO_PEERCRED); a unix-dgram receiver takes what any process of the
 * host's network namespace sends to the name (it is listed in
 * /proc/net/unix).  One sender (stream, seqpacket: one accepted
 * connection) or several (dgram) and one receiver per exported channel;
 * an imported dgram end has no liveness pipes (a dead rank ends the job).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fdio.h"
#include "sockend.h"

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

/* Size both buffers of the n record sockets in sv for p (a socketpair, or
 * one end of an exported channel); refuse a record the send buffer of
 * sv[0] cannot take.  0 or -errno with err. */
static int size_record_bufs(const char *name, const int *sv, int n, const struct ipc_params *p, char *err)
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
	for (int i = 0; i < n && !ret; i++) {
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

/* What every channel of type must satisfy, exported or not.  0 or -errno
 * with err. */
static int unix_check(const char *name, int type, const struct ipc_params *p, char *err)
{
	struct ipc_caps caps;
	int ret;

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
	if (p->exported && (p->receivers > 1 || (type != SOCK_DGRAM && p->senders > 1))) {
		fdio_err(err, "%s: an exported channel has one receiver%s (asked: %u senders, %u receivers)",
			 name, type != SOCK_DGRAM ? " and one sender (it accepts one connection)" : "",
			 p->senders, p->receivers);
		return -ENOTSUP;
	}
	return 0;
}

/* A socketpair, for the forked pools.  0 or -errno; on error nothing is
 * left. */
static int unix_pair_create(const char *name, int type, const struct ipc_params *p,
			    struct fdio_chan **chan, char *err)
{
	struct fdio_chan *c;
	int sv[2], ret;

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
		ret = size_record_bufs(name, sv, 2, p, err);
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

/* An end of an exported channel, accepted or connected: only a peer of
 * this user (the name has no permissions), and buffers as a pair's. */
static int unix_ready(const struct sockend_chan *sc, int fd, enum ipc_role role, char *err)
{
	struct ipc_params p = { .max_msg = sc->fc->max_msg, .depth = sc->depth };
	struct ucred cred;
	socklen_t l = sizeof(cred);

	(void)role;
	if (sc->type != SOCK_DGRAM) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &l)) {
			fdio_err(err, "%s: getsockopt(SO_PEERCRED): %s", sc->name, strerror(errno));
			return -EPERM;
		}
		if (cred.uid != geteuid()) {
			fdio_err(err, "%s: the peer on %s is user %u (pid %d), not this user (%u): refused",
				 sc->name, sc->where, (unsigned)cred.uid, (int)cred.pid, (unsigned)geteuid());
			return -EPERM;
		}
	}
	if (sc->type == SOCK_STREAM) {
		fdio_grow_stream_sock(fd, fd, &p);
		return 0;
	}
	return size_record_bufs(sc->name, &fd, 1, &p, err);
}

/* sc's address: the abstract name (without a leading '/'). */
static void unix_set_addr(struct sockend_chan *sc, int type, const char *abstract)
{
	struct sockaddr_un *sa = (struct sockaddr_un *)&sc->addr;
	size_t n = strlen(abstract);

	if (n > sizeof(sa->sun_path) - 1)
		n = sizeof(sa->sun_path) - 1; /* callers pass at most IPC_NAME_MAX */
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path + 1, abstract, n);
	sc->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
	sc->family = AF_UNIX;
	sc->type = type;
	snprintf(sc->where, sizeof(sc->where), "@%.*s", (int)n, abstract);
	sc->ready = unix_ready;
}

/* An exported channel: a listener (stream, seqpacket) or the bound
 * receive socket (dgram) on a fresh abstract name.  0 or -errno. */
static int unix_export_create(const char *name, int type, const struct ipc_params *p,
			      struct sockend_chan *sc, char *err)
{
	char uniq[IPC_NAME_MAX];
	socklen_t sl;
	int fd, ret;

	ret = fdio_chan_new(p, 1, &sc->fc);
	if (ret) {
		fdio_err(err, "%s: out of memory", name);
		return ret;
	}
	sc->depth = p->depth;
	ret = ipc_unique_name(uniq, sizeof(uniq), "unix");
	if (ret) {
		fdio_err(err, "%s: name: %s", name, strerror(-ret));
		return ret;
	}
	unix_set_addr(sc, type, uniq + 1);
	sl = sc->addrlen;
	if (type != SOCK_DGRAM) {
		ret = sockend_listen(AF_UNIX, type, (struct sockaddr *)&sc->addr, &sl, &sc->lfd);
		if (ret)
			fdio_err(err, "%s: listen on %s: %s", name, sc->where, strerror(-ret));
		return ret;
	}
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sc->addr, sl)) {
		ret = -errno;
		fdio_err(err, "%s: bind %s: %s", name, sc->where, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	ret = size_record_bufs(name, &fd, 1, p, err);
	if (ret) {
		close(fd);
		return ret;
	}
	return sockend_install(sc->fc, IPC_RECV, fd, name, err);
}

/* 0 or -errno; on error nothing is left. */
static int unix_create(const char *name, int type, const struct ipc_params *p,
		       void **chan, char *err)
{
	struct sockend_chan *sc;
	int ret;

	ret = unix_check(name, type, p, err);
	if (ret)
		return ret;
	sc = sockend_chan_new(name, NULL);
	if (!sc) {
		fdio_err(err, "%s: out of memory", name);
		return -ENOMEM;
	}
	ret = p->exported ? unix_export_create(name, type, p, sc, err) : unix_pair_create(name, type, p, &sc->fc, err);
	if (ret) {
		sockend_destroy(sc);
		return ret;
	}
	*chan = sc;
	return 0;
}

static int unix_export(void *chan, char *text, size_t cap, char *err)
{
	const struct sockend_chan *sc = chan;
	char host[SOCKEND_HOSTNAME_MAX + 1];
	int n, ret;

	if (!sc->where[0] || (sc->lfd < 0 && sc->fc->fd[IPC_RECV] < 0)) {
		fdio_err(err, "%s: only a channel created for export, by its receiver, can be exported", sc->name);
		return -EINVAL;
	}
	ret = sockend_host_name(sc->name, host, err);
	if (ret)
		return ret;
	n = snprintf(text, cap, "host=%s addr=%s max=%zu depth=%u wait=%s timeout=%u", host, sc->where,
		     sc->fc->max_msg, sc->depth, ipc_wait_name(sc->fc->wait), sc->fc->timeout_ms);
	if (n < 0 || (size_t)n >= cap) {
		fdio_err(err, "%s: export needs %d bytes, have %zu", sc->name, n, cap);
		return -ENOSPC;
	}
	return 0;
}

/* An end to connect to the creator's address, on the creator's host
 * only. */
static int unix_import(const char *name, int type, const char *text, void **chan, char *err)
{
	struct ipc_params p = { .senders = 1, .receivers = 1 };
	char host[SOCKEND_HOSTNAME_MAX + 1], addr[IPC_NAME_MAX], wait[16];
	struct sockend_chan *sc;
	int ret;

	if (sscanf(text, "host=%64s addr=@%95s max=%zu depth=%u wait=%15s timeout=%u", host, addr, &p.max_msg,
		   &p.depth, wait, &p.timeout_ms) != 6 || ipc_wait_parse(wait, &p.wait) || !p.max_msg) {
		fdio_err(err, "%s: cannot import '%.80s' (want host=NAME addr=@NAME max=BYTES depth=N wait=W timeout=MS)",
			 name, text);
		return -EINVAL;
	}
	ret = sockend_same_host(name, host, err);
	if (ret)
		return ret;
	sc = sockend_chan_new(name, NULL);
	ret = sc ? fdio_chan_new(&p, 1, &sc->fc) : -ENOMEM;
	if (ret) {
		fdio_err(err, "%s: out of memory", name);
		sockend_destroy(sc);
		return ret;
	}
	sc->depth = p.depth;
	unix_set_addr(sc, type, addr);
	*chan = sc;
	return 0;
}

/* The three tables: one creator and one importer each. */
#define UNIX_MECH(ID, NAME, TYPE)								\
	static int unix_##ID##_create(const struct ipc_params *p, void **chan, char *err)	\
	{											\
		return unix_create(NAME, TYPE, p, chan, err);					\
	}											\
	static int unix_##ID##_import(const char *text, void **chan, char *err)		\
	{											\
		return unix_import(NAME, TYPE, text, chan, err);				\
	}

UNIX_MECH(stream, "unix-stream", SOCK_STREAM)
UNIX_MECH(dgram, "unix-dgram", SOCK_DGRAM)
UNIX_MECH(seqpacket, "unix-seqpacket", SOCK_SEQPACKET)

#define UNIX_OPS(ID, NAME, SUMMARY, CAPS, FRAMING, ONE_SENDER) {	\
	.name = (NAME),					\
	.summary = (SUMMARY),				\
	.caps = (CAPS),					\
	.create = unix_##ID##_create,			\
	.attach = sockend_attach,			\
	.send = fdio_##FRAMING##_send,			\
	.recv = fdio_##FRAMING##_recv,			\
	.detach = fdio_detach,				\
	.forget = sockend_forget,			\
	.destroy = sockend_destroy,			\
	.export_chan = unix_export,			\
	.import_chan = unix_##ID##_import,		\
	.export_one_receiver = 1,			\
	.export_one_sender = (ONE_SENDER),		\
}

const struct ipc_ops ipc_unix_stream_ops =
	UNIX_OPS(stream, "unix-stream", "Unix stream socketpair, length-framed", unix_stream_caps, stream, 1);

const struct ipc_ops ipc_unix_dgram_ops =
	UNIX_OPS(dgram, "unix-dgram", "Unix datagram socketpair, one record per message", unix_record_caps, dgram, 0);

const struct ipc_ops ipc_unix_seqpacket_ops =
	UNIX_OPS(seqpacket, "unix-seqpacket", "Unix seqpacket socketpair, one record per message",
		 unix_record_caps, dgram, 1);
