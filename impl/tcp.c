/*
 * tcp.c - TCP over loopback, the reference row: what two processes pay
 * when they talk through the network stack.
 *
 * create listens on 127.0.0.1 port 0 (the kernel picks a free port),
 * connects, accepts, and closes the listener, so no port stays bound and
 * nothing has a name to clean up.  The connecting socket is the send end,
 * the accepted one the receive end; TCP_NODELAY on both so a small message
 * leaves at once (no Nagle delay).  Buffers keep the kernel's autotuning.
 * Framed (fdio.h); one sender, one receiver.
 *
 * Exported (ipc_params.exported: ranks of an MPI job, maybe on several
 * hosts): create makes no pair but listens on this host's address
 * (IPCLAB_TCP_HOST, else the first IPv4 address the host name resolves
 * to) on a port the kernel picks; export_chan publishes host:port.  The
 * creator's attach accepts one connection and closes the listener; an
 * importer's attach connects.  Either role may be on either side (a TCP
 * connection carries both ways).  The ends are then the same framed
 * stream as above: the send and receive paths do not change.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"

/* The channel: a connected pair (fc->fd), or for an exported channel a
 * listener (the creator) or an address to connect to (an importer). */
struct tcp_chan {
	struct fdio_chan *fc;
	int lfd;                     /* creator's listener until its attach, else -1 */
	char host[INET_ADDRSTRLEN];  /* exported: the listener's address, "" if not */
	unsigned port;
};

/* The environment variable that names this host's address for exported
 * channels (a host with several networks, or whose name resolves to a
 * loopback address). */
#define TCP_HOST_ENV "IPCLAB_TCP_HOST"

static int tcp_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = FDIO_STREAM_MAX_MSG;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 0;
	return 0;
}

/* A connected pair on loopback.  0 or -errno; on error nothing is left. */
static int tcp_pair_create(const struct ipc_params *p, struct fdio_chan **chan, char *err)
{
	struct ipc_caps caps;
	struct fdio_chan *c;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	const char *what;
	int lfd = -1, one = 1, ret;

	tcp_caps(&caps, err);
	ret = fdio_check_params("tcp", &caps, p, err);
	if (ret)
		return ret;
	ret = fdio_chan_new(p, 1, &c);
	if (ret) {
		fdio_err(err, "tcp: out of memory");
		return ret;
	}
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	what = "socket";
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		goto sys_err;
	what = "bind 127.0.0.1:0";
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)))
		goto sys_err;
	what = "listen";
	if (listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&sa, &sl))
		goto sys_err;
	what = "socket";
	c->fd[IPC_SEND] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd[IPC_SEND] < 0)
		goto sys_err;
	what = "connect";
	if (connect(c->fd[IPC_SEND], (struct sockaddr *)&sa, sizeof(sa)))
		goto sys_err;
	what = "accept";
	c->fd[IPC_RECV] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	if (c->fd[IPC_RECV] < 0)
		goto sys_err;
	close(lfd);
	lfd = -1;
	what = "setsockopt(TCP_NODELAY)";
	if (setsockopt(c->fd[IPC_SEND], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) ||
	    setsockopt(c->fd[IPC_RECV], IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)))
		goto sys_err;
	ret = fdio_chan_apply_wait(c, "tcp", err);
	if (ret)
		goto err;
	*chan = c;
	return 0;
sys_err:
	ret = -errno;
	fdio_err(err, "tcp: %s: %s", what, strerror(errno));
err:
	if (lfd >= 0)
		close(lfd);
	fdio_destroy(c);
	return ret;
}

/* This host's address for an exported channel, into host. */
static int tcp_host_addr(char *host, char *err)
{
	const char *env = getenv(TCP_HOST_ENV);
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct in_addr a;
	char name[256];
	int rc;

	if (env && *env) {
		if (inet_pton(AF_INET, env, &a) != 1) {
			fdio_err(err, "tcp: %s='%.60s' is not an IPv4 address (accepted: a.b.c.d of this host)",
				 TCP_HOST_ENV, env);
			return -EINVAL;
		}
		snprintf(host, INET_ADDRSTRLEN, "%s", env);
		return 0;
	}
	if (gethostname(name, sizeof(name)) != 0) {
		fdio_err(err, "tcp: gethostname: %s (set %s=IP)", strerror(errno), TCP_HOST_ENV);
		return -errno;
	}
	name[sizeof(name) - 1] = '\0';
	rc = getaddrinfo(name, NULL, &hints, &ai);
	if (rc != 0 || !ai) {
		fdio_err(err, "tcp: host name '%.60s' has no IPv4 address (%s): set %s=IP", name,
			 gai_strerror(rc), TCP_HOST_ENV);
		return -EADDRNOTAVAIL;
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, host, INET_ADDRSTRLEN);
	freeaddrinfo(ai);
	return 0;
}

/* An exported channel: a listener on this host's address. */
static int tcp_listen_create(const struct ipc_params *p, struct tcp_chan *tc, char *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int ret;

	ret = fdio_chan_new(p, 1, &tc->fc);
	if (ret) {
		fdio_err(err, "tcp: out of memory");
		return ret;
	}
	ret = tcp_host_addr(tc->host, err);
	if (ret)
		return ret;
	inet_pton(AF_INET, tc->host, &sa.sin_addr);
	tc->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (tc->lfd < 0 || bind(tc->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(tc->lfd, 1) || getsockname(tc->lfd, (struct sockaddr *)&sa, &sl)) {
		ret = -errno;
		fdio_err(err, "tcp: listen on %s:0: %s", tc->host, strerror(errno));
		return ret;
	}
	tc->port = ntohs(sa.sin_port);
	return 0;
}

static void tcp_destroy(void *chan)
{
	struct tcp_chan *tc = chan;

	if (!tc)
		return;
	if (tc->lfd >= 0)
		close(tc->lfd);
	fdio_destroy(tc->fc);
	free(tc);
}

/* 0 or -errno; on error nothing is left. */
static int tcp_create(const struct ipc_params *p, void **chan, char *err)
{
	struct tcp_chan *tc = calloc(1, sizeof(*tc));
	struct ipc_caps caps;
	int ret;

	if (!tc) {
		fdio_err(err, "tcp: out of memory");
		return -ENOMEM;
	}
	tc->lfd = -1;
	if (p->exported) {
		tcp_caps(&caps, err);
		ret = fdio_check_params("tcp", &caps, p, err);
		if (!ret)
			ret = tcp_listen_create(p, tc, err);
	} else
		ret = tcp_pair_create(p, &tc->fc, err);
	if (ret) {
		tcp_destroy(tc);
		return ret;
	}
	*chan = tc;
	return 0;
}

static int tcp_export(void *chan, char *text, size_t cap, char *err)
{
	const struct tcp_chan *tc = chan;
	int n;

	if (!tc->host[0] || tc->lfd < 0) {
		fdio_err(err, "tcp: only a channel created for export (listening) can be exported");
		return -EINVAL;
	}
	n = snprintf(text, cap, "host=%s port=%u max=%zu wait=%s timeout=%u", tc->host, tc->port,
		     tc->fc->max_msg, ipc_wait_name(tc->fc->wait), tc->fc->timeout_ms);
	if (n < 0 || (size_t)n >= cap) {
		fdio_err(err, "tcp: export needs %d bytes, have %zu", n, cap);
		return -ENOSPC;
	}
	return 0;
}

static int tcp_import(const char *text, void **chan, char *err)
{
	struct ipc_params p = { .senders = 1, .receivers = 1 };
	struct tcp_chan *tc = calloc(1, sizeof(*tc));
	char host[INET_ADDRSTRLEN + 1], wait[16];
	struct in_addr a;
	int ret;

	if (!tc) {
		fdio_err(err, "tcp: out of memory");
		return -ENOMEM;
	}
	tc->lfd = -1;
	if (sscanf(text, "host=%16s port=%u max=%zu wait=%15s timeout=%u", host, &tc->port, &p.max_msg,
		   wait, &p.timeout_ms) != 5 || inet_pton(AF_INET, host, &a) != 1 || !tc->port ||
	    tc->port > 65535 || ipc_wait_parse(wait, &p.wait)) {
		fdio_err(err, "tcp: cannot import '%.80s' (want host=IPV4 port=N max=BYTES wait=W timeout=MS)", text);
		free(tc);
		return -EINVAL;
	}
	memcpy(tc->host, host, sizeof(tc->host) - 1); /* inet_pton took it: it fits */
	ret = fdio_chan_new(&p, 1, &tc->fc);
	if (ret) {
		fdio_err(err, "tcp: out of memory");
		free(tc);
		return ret;
	}
	*chan = tc;
	return 0;
}

/* An exported channel's end: accept (the creator) or connect (an
 * importer), then the same settings as a pair's ends. */
static int tcp_connect_end(struct tcp_chan *tc, enum ipc_role role, char *err)
{
	struct fdio_chan *c = tc->fc;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)tc->port) };
	int other = role == IPC_SEND ? IPC_RECV : IPC_SEND, fd, one = 1, ret;
	const char *what;

	if (tc->lfd >= 0) {
		struct pollfd pf = { .fd = tc->lfd, .events = POLLIN };

		what = "accept";
		ret = poll(&pf, 1, c->timeout_ms ? (int)c->timeout_ms : -1);
		if (ret == 0) {
			fdio_err(err, "tcp: no peer connected to %s:%u in %u ms", tc->host, tc->port, c->timeout_ms);
			return -ETIMEDOUT;
		}
		fd = ret < 0 ? -1 : accept4(tc->lfd, NULL, NULL, SOCK_CLOEXEC);
		close(tc->lfd);
		tc->lfd = -1;
	} else {
		what = "connect";
		inet_pton(AF_INET, tc->host, &sa.sin_addr);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
			ret = errno;
			close(fd);
			fd = -1;
			errno = ret;
		}
	}
	if (fd < 0) {
		ret = -errno;
		fdio_err(err, "tcp: %s %s:%u: %s", what, tc->host, tc->port, strerror(errno));
		return ret;
	}
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
		ret = -errno;
		fdio_err(err, "tcp: setsockopt(TCP_NODELAY): %s", strerror(errno));
		close(fd);
		return ret;
	}
	/* fdio sets both ends' waits: let both name this one socket. */
	c->fd[role] = c->fd[other] = fd;
	ret = fdio_chan_apply_wait(c, "tcp", err);
	c->fd[other] = -1;
	if (ret) {
		close(fd);
		c->fd[role] = -1;
	}
	return ret;
}

static int tcp_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct tcp_chan *tc = chan;
	int ret;

	if (tc->host[0] && (role == IPC_SEND || role == IPC_RECV) && tc->fc->fd[role] < 0) {
		ret = tcp_connect_end(tc, role, err);
		if (ret)
			return ret;
	}
	return fdio_attach(tc->fc, role, end, err);
}

static void tcp_forget(void *chan)
{
	struct tcp_chan *tc = chan;

	fdio_forget(tc->fc);
	if (tc->lfd >= 0)
		close(tc->lfd);
	tc->lfd = -1;
}

const struct ipc_ops ipc_tcp_ops = {
	.name = "tcp",
	.summary = "TCP over 127.0.0.1 with TCP_NODELAY, length-framed (reference row)",
	.caps = tcp_caps,
	.create = tcp_create,
	.attach = tcp_attach,
	.send = fdio_stream_send,
	.recv = fdio_stream_recv,
	.detach = fdio_detach,
	.forget = tcp_forget,
	.destroy = tcp_destroy,
	.export_chan = tcp_export,
	.import_chan = tcp_import,
};
