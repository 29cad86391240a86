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
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"

static int tcp_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = FDIO_STREAM_MAX_MSG;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 0;
	return 0;
}

/* 0 or -errno; on error nothing is left. */
static int tcp_create(const struct ipc_params *p, void **chan, char *err)
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

const struct ipc_ops ipc_tcp_ops =
	FDIO_OPS("tcp",
		 "TCP over 127.0.0.1 with TCP_NODELAY, length-framed (reference row)",
		 tcp_caps, tcp_create, stream);
