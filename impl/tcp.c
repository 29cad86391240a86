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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"
#include "sockend.h"

/* The channel (sockend.h): a connected pair (fc->fd), or for an exported
 * channel a listener (the creator) or an address to connect to (an
 * importer). */

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

/* Every end of an exported channel: no Nagle delay, as a pair's ends. */
static int tcp_ready(const struct sockend_chan *sc, int fd, enum ipc_role role, char *err)
{
	int one = 1, ret = 0;

	(void)sc;
	(void)role;
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one))) {
		ret = -errno;
		fdio_err(err, "tcp: setsockopt(TCP_NODELAY): %s", strerror(-ret));
	}
	return ret;
}

/* The exported channel's address sa as sc's (connect to it, name it). */
static void tcp_set_addr(struct sockend_chan *sc, const struct sockaddr_in *sa)
{
	char host[INET_ADDRSTRLEN];

	sc->family = AF_INET;
	sc->type = SOCK_STREAM;
	memcpy(&sc->addr, sa, sizeof(*sa));
	sc->addrlen = sizeof(*sa);
	inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
	snprintf(sc->where, sizeof(sc->where), "%s:%u", host, (unsigned)ntohs(sa->sin_port));
	sc->ready = tcp_ready;
}

/* An exported channel: a listener on this host's address. */
static int tcp_listen_create(const struct ipc_params *p, struct sockend_chan *sc, char *err)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	char host[INET_ADDRSTRLEN];
	int ret;

	ret = fdio_chan_new(p, 1, &sc->fc);
	if (ret) {
		fdio_err(err, "tcp: out of memory");
		return ret;
	}
	ret = sockend_host_addr("tcp", host, err);
	if (ret)
		return ret;
	inet_pton(AF_INET, host, &sa.sin_addr);
	ret = sockend_listen(AF_INET, SOCK_STREAM, (struct sockaddr *)&sa, &sl, &sc->lfd);
	if (ret) {
		fdio_err(err, "tcp: listen on %s:0: %s", host, strerror(-ret));
		return ret;
	}
	tcp_set_addr(sc, &sa);
	return 0;
}

/* 0 or -errno; on error nothing is left. */
static int tcp_create(const struct ipc_params *p, void **chan, char *err)
{
	struct sockend_chan *sc = sockend_chan_new("tcp", NULL);
	struct ipc_caps caps;
	int ret;

	if (!sc) {
		fdio_err(err, "tcp: out of memory");
		return -ENOMEM;
	}
	if (p->exported) {
		tcp_caps(&caps, err);
		ret = fdio_check_params("tcp", &caps, p, err);
		if (!ret)
			ret = tcp_listen_create(p, sc, err);
	} else
		ret = tcp_pair_create(p, &sc->fc, err);
	if (ret) {
		sockend_destroy(sc);
		return ret;
	}
	*chan = sc;
	return 0;
}

static int tcp_export(void *chan, char *text, size_t cap, char *err)
{
	const struct sockend_chan *sc = chan;
	const struct sockaddr_in *sa = (const struct sockaddr_in *)&sc->addr;
	char host[INET_ADDRSTRLEN];
	int n;

	if (!sc->where[0] || sc->lfd < 0) {
		fdio_err(err, "tcp: only a channel created for export (listening) can be exported");
		return -EINVAL;
	}
	inet_ntop(AF_INET, &sa->sin_addr, host, sizeof(host));
	n = snprintf(text, cap, "host=%s port=%u max=%zu wait=%s timeout=%u", host, (unsigned)ntohs(sa->sin_port),
		     sc->fc->max_msg, ipc_wait_name(sc->fc->wait), sc->fc->timeout_ms);
	if (n < 0 || (size_t)n >= cap) {
		fdio_err(err, "tcp: export needs %d bytes, have %zu", n, cap);
		return -ENOSPC;
	}
	return 0;
}

static int tcp_import(const char *text, void **chan, char *err)
{
	struct ipc_params p = { .senders = 1, .receivers = 1 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct sockend_chan *sc;
	char host[INET_ADDRSTRLEN + 1], wait[16];
	unsigned port;
	int ret;

	if (sscanf(text, "host=%16s port=%u max=%zu wait=%15s timeout=%u", host, &port, &p.max_msg,
		   wait, &p.timeout_ms) != 5 || inet_pton(AF_INET, host, &sa.sin_addr) != 1 || !port ||
	    port > 65535 || ipc_wait_parse(wait, &p.wait)) {
		fdio_err(err, "tcp: cannot import '%.80s' (want host=IPV4 port=N max=BYTES wait=W timeout=MS)", text);
		return -EINVAL;
	}
	sa.sin_port = htons((uint16_t)port);
	sc = sockend_chan_new("tcp", NULL);
	ret = sc ? fdio_chan_new(&p, 1, &sc->fc) : -ENOMEM;
	if (ret) {
		fdio_err(err, "tcp: out of memory");
		sockend_destroy(sc);
		return ret;
	}
	tcp_set_addr(sc, &sa);
	*chan = sc;
	return 0;
}

const struct ipc_ops ipc_tcp_ops = {
	.name = "tcp",
	.summary = "TCP over 127.0.0.1 with TCP_NODELAY, length-framed (reference row)",
	.caps = tcp_caps,
	.create = tcp_create,
	.attach = sockend_attach,
	.send = fdio_stream_send,
	.recv = fdio_stream_recv,
	.detach = fdio_detach,
	.forget = sockend_forget,
	.destroy = sockend_destroy,
	.export_chan = tcp_export,
	.import_chan = tcp_import,
};
