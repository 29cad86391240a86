/*
 * zmq.c - "zmq-ipc": ZeroMQ 4.3 (libzmq, Debian's libzmq3-dev) over
 * ipc://, built only when CMake finds libzmq.  The topology, liveness and
 * end-of-stream rules are msglib's (msglib.h): one ZMQ_PAIR per channel,
 * the receiver binds, the sender connects.
 *
 * The context is the process's, made by the first attach in a process
 * (after fork) with ZMQ_IO_THREADS = ZMQIPC_IO_THREADS and terminated by
 * its last detach; the summary line names the I/O threads so every result
 * records them.  Waits are what ZeroMQ offers: block is a blocking
 * zmq_send/zmq_recv bounded by ZMQ_SNDTIMEO/ZMQ_RCVTIMEO slices (for the
 * liveness checks); spin is ZMQ_DONTWAIT in a loop.  A hybrid wait is not
 * offered (the case is skipped with that reason).
 *
 * One message: zmq_send copies it into a message and hands it to the I/O
 * thread through a lock-free pipe, waking it through the context's mailbox
 * (an eventfd write when the thread sleeps); the I/O thread writes it to
 * the Unix socket; the receiving I/O thread reads it (batched when several
 * are queued) and wakes the application thread (eventfd); zmq_recv copies
 * it out.  So a blocking ping-pong costs about six system calls and two
 * thread wake-ups per message and direction, against one write and one
 * read for a pipe.
 *
 * Limits: messages up to MSGLIB_MAX_MSG (ZMQ_MAXMSGSIZE on receivers);
 * ZMQ_SNDHWM / ZMQ_RCVHWM = depth (MSGLIB_DEFAULT_DEPTH when 0).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "msglib.h"

#define ZMQIPC_NAME "zmq-ipc"
#define ZMQIPC_IO_THREADS 1
/* ZMQ_MAXMSGSIZE also bounds ZMTP's own handshake commands (READY carries
 * the socket type as metadata, ~30 bytes): a limit of a 16-byte message
 * made every handshake fail and the peers reconnect forever. */
#define ZMQIPC_CMD_ROOM 1024

/* The process's ZeroMQ context: a library context is per process by
 * ZeroMQ's design; pid tells an inherited copy (never used) from ours. */
static struct {
	pthread_mutex_t lock;
	pid_t pid;
	void *ctx;
	unsigned refs;
} zmqipc_proc = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct zmqipc_end {
	struct msglib_end m;
	void *sock;
};

static int set_int(void *sock, int opt, int v);

static int zmqipc_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	msglib_caps(caps);
	return 0;
}

static void *ctx_get(void)
{
	void *ctx;

	pthread_mutex_lock(&zmqipc_proc.lock);
	if (zmqipc_proc.pid != getpid()) {
		zmqipc_proc.pid = getpid();
		zmqipc_proc.ctx = NULL;
		zmqipc_proc.refs = 0;
	}
	if (!zmqipc_proc.ctx) {
		zmqipc_proc.ctx = zmq_ctx_new();
		if (zmqipc_proc.ctx)
			zmq_ctx_set(zmqipc_proc.ctx, ZMQ_IO_THREADS, ZMQIPC_IO_THREADS);
	}
	ctx = zmqipc_proc.ctx;
	if (ctx)
		zmqipc_proc.refs++;
	pthread_mutex_unlock(&zmqipc_proc.lock);
	return ctx;
}

static void ctx_put(void)
{
	void *ctx = NULL;

	pthread_mutex_lock(&zmqipc_proc.lock);
	if (zmqipc_proc.pid == getpid() && zmqipc_proc.refs && --zmqipc_proc.refs == 0) {
		ctx = zmqipc_proc.ctx;
		zmqipc_proc.ctx = NULL;
	}
	pthread_mutex_unlock(&zmqipc_proc.lock);
	if (ctx)
		while (zmq_ctx_term(ctx) < 0 && errno == EINTR)
			;
}

static int zmqipc_create(const struct ipc_params *p, void **chan, char *err)
{
	return msglib_create(ZMQIPC_NAME, p, (struct msglib_chan **)chan, err);
}

static void zmqipc_forget(void *chan)
{
	msglib_forget(chan);
}

static void zmqipc_destroy(void *chan)
{
	msglib_destroy(chan);
}

static void zmqipc_detach(void *end)
{
	struct zmqipc_end *e = end;

	if (!e)
		return;
	if (e->sock) {
		if (!e->m.is_recv) { /* end-of-stream: an empty message */
			(void)zmq_send(e->sock, "", 0, ZMQ_DONTWAIT);
			/* What is still queued is delivered before the context
			 * ends (the linger), unless the receiver is gone. */
			set_int(e->sock, ZMQ_LINGER, fdio_peer_gone(e->m.peer_r) ? 0 : MSGLIB_LINGER_MS);
		}
		zmq_close(e->sock);
		ctx_put();
	}
	msglib_detach(&e->m);
	free(e);
}

static int set_int(void *sock, int opt, int v)
{
	return zmq_setsockopt(sock, opt, &v, sizeof(v));
}

static int zmqipc_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct msglib_chan *c = chan;
	struct zmqipc_end *e = calloc(1, sizeof(*e));
	char ep[IPC_PATH_MAX + 32];
	void *ctx;
	int ret, timeo;

	if (!e) {
		fdio_err(err, ZMQIPC_NAME ": out of memory");
		return -ENOMEM;
	}
	ret = msglib_attach(c, ZMQIPC_NAME, role, &e->m, err);
	if (ret) {
		msglib_detach(&e->m);
		free(e);
		return ret;
	}
	ctx = ctx_get();
	if (!ctx) {
		ret = -errno;
		fdio_err(err, ZMQIPC_NAME ": zmq_ctx_new: %s", zmq_strerror(errno));
		goto err;
	}
	e->sock = zmq_socket(ctx, ZMQ_PAIR);
	if (!e->sock) {
		ret = -errno;
		fdio_err(err, ZMQIPC_NAME ": zmq_socket: %s", zmq_strerror(errno));
		ctx_put();
		goto err;
	}
	timeo = e->m.spin ? -1 : (int)e->m.slice_ms;
	if (set_int(e->sock, ZMQ_LINGER, 0) ||
	    set_int(e->sock, ZMQ_SNDHWM, (int)c->depth) ||
	    set_int(e->sock, ZMQ_RCVHWM, (int)c->depth) ||
	    set_int(e->sock, ZMQ_SNDTIMEO, timeo) || set_int(e->sock, ZMQ_RCVTIMEO, timeo)) {
		ret = -errno;
		fdio_err(err, ZMQIPC_NAME ": zmq_setsockopt: %s", zmq_strerror(errno));
		goto err;
	}
	/* ZMQ_IMMEDIATE: queue only to completed connections.  Without it a
	 * sender that sends before its receiver has bound, then closes,
	 * loses everything (closing ends the reconnect attempts, whatever
	 * the linger): with it, send waits (and watches the receiver's
	 * liveness) until the connection is there. */
	if (role == IPC_SEND && (set_int(e->sock, ZMQ_IMMEDIATE, 1) ||
				 set_int(e->sock, ZMQ_RECONNECT_IVL, MSGLIB_RECONNECT_MS))) {
		ret = -errno;
		fdio_err(err, ZMQIPC_NAME ": ZMQ_IMMEDIATE/ZMQ_RECONNECT_IVL: %s", zmq_strerror(errno));
		goto err;
	}
	if (role == IPC_RECV) {
		int64_t max = (int64_t)(c->max_msg + ZMQIPC_CMD_ROOM);

		ret = zmq_setsockopt(e->sock, ZMQ_MAXMSGSIZE, &max, sizeof(max));
		if (!ret)
			ret = msglib_endpoint(c, e->m.recv_idx, ep, sizeof(ep));
		if (!ret && zmq_bind(e->sock, ep) < 0)
			ret = -1;
		if (ret) {
			ret = errno ? -errno : -EINVAL;
			fdio_err(err, ZMQIPC_NAME ": bind %s: %s", ep, zmq_strerror(errno));
			goto err;
		}
	} else {
		for (unsigned n = 0; n < c->receivers; n++) {
			if (msglib_endpoint(c, n, ep, sizeof(ep)) || zmq_connect(e->sock, ep) < 0) {
				ret = errno ? -errno : -EINVAL;
				fdio_err(err, ZMQIPC_NAME ": connect %s: %s", ep, zmq_strerror(errno));
				goto err;
			}
		}
	}
	*end = e;
	return 0;
err:
	e->m.is_recv = 1; /* no end-of-stream from a half-made end */
	zmqipc_detach(e);
	return ret;
}

static int zmqipc_send(void *end, const void *buf, size_t len)
{
	struct zmqipc_end *e = end;
	int ret;

	if (len == 0)
		return -EINVAL;
	if (len > e->m.max_msg)
		return -EMSGSIZE;
	if (e->m.is_recv)
		return -EBADF;
	msglib_wait_reset(&e->m);
	for (;;) {
		if (zmq_send(e->sock, buf, len, e->m.spin ? ZMQ_DONTWAIT : 0) == (int)len)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ret = msglib_wait(&e->m);
		if (ret)
			return ret;
	}
}

static ssize_t zmqipc_recv(void *end, void *buf, size_t cap)
{
	struct zmqipc_end *e = end;
	int n, ret;

	if (!e->m.is_recv)
		return -EBADF;
	if (e->m.eos)
		return -EPIPE;
	msglib_wait_reset(&e->m);
	for (;;) {
		n = zmq_recv(e->sock, buf, cap, e->m.spin ? ZMQ_DONTWAIT : 0);
		if (n == 0) {
			e->m.eos = 1;
			return -EPIPE;
		}
		if (n > 0)
			return (size_t)n > cap ? -EMSGSIZE : n;
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			return -errno;
		ret = msglib_wait(&e->m);
		if (ret)
			return ret;
	}
}

const struct ipc_ops ipc_zmq_ipc_ops = {
	.name = ZMQIPC_NAME,
	.summary = "ZeroMQ 4.3 ipc:// PAIR sockets, one I/O thread per process",
	.quick = IPC_QUICK_SMALL,
	.caps = zmqipc_caps,
	.create = zmqipc_create,
	.attach = zmqipc_attach,
	.send = zmqipc_send,
	.recv = zmqipc_recv,
	.detach = zmqipc_detach,
	.forget = zmqipc_forget,
	.destroy = zmqipc_destroy,
};
