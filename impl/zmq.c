/*
 * zmq.c - "zmq-ipc": ZeroMQ 4.3 (libzmq, Debian's libzmq3-dev) over
 * ipc://, built only when CMake finds libzmq.  The topology, liveness and
 * end-of-stream handshake are msglib's (msglib.h): one ZMQ_PAIR per end,
 * the receiver binds, the sender connects.
 *
 * The context is the process's, made by the first attach in a process
 * (after fork) with ZMQ_IO_THREADS = ZMQIPC_IO_THREADS (ZeroMQ adds its
 * reaper thread: 2 threads besides the caller's, counted in /proc/self/task),
 * and terminated by its last detach; the summary line names them, so every
 * result's describe.json records them.  Waits are what ZeroMQ offers: block
 * is a blocking zmq_send/zmq_recv bounded by ZMQ_SNDTIMEO/ZMQ_RCVTIMEO
 * slices (to look at the peer's liveness between them); spin is
 * ZMQ_DONTWAIT in a loop.  ZeroMQ has no spin-then-sleep wait: hybrid is
 * refused, and its cases are skipped with that reason.
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
 * Exported to other ranks (--workers=mpi, issue 17): an abstract ipc://@
 * endpoint on one host, see msglib.h.
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
#define ZMQIPC_STR_(x) #x
#define ZMQIPC_STR(x) ZMQIPC_STR_(x)
/* ZMQ_MAXMSGSIZE also bounds ZMTP's own handshake commands (READY carries
 * the socket type as metadata, ~30 bytes): a limit of a 16-byte message
 * made every handshake fail and the peers reconnect forever. */
#define ZMQIPC_CMD_ROOM 1024

/* The process's ZeroMQ context: one per process by ZeroMQ's design; pid
 * tells a copy inherited through fork (never used) from ours. */
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

static int zmqipc_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	msglib_caps(caps, 0);
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
		if (zmqipc_proc.ctx && zmq_ctx_set(zmqipc_proc.ctx, ZMQ_IO_THREADS, ZMQIPC_IO_THREADS) < 0) {
			zmq_ctx_term(zmqipc_proc.ctx);
			zmqipc_proc.ctx = NULL;
		}
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

static int set_int(void *sock, int opt, int v)
{
	return zmq_setsockopt(sock, opt, &v, sizeof(v));
}

static int zmqipc_create(const struct ipc_params *p, void **chan, char *err)
{
	return msglib_create(ZMQIPC_NAME, p, 0, (struct msglib_chan **)chan, err);
}

static int zmqipc_export(void *chan, char *text, size_t cap, char *err)
{
	return msglib_export(chan, ZMQIPC_NAME, text, cap, err);
}

static int zmqipc_import(const char *text, void **chan, char *err)
{
	return msglib_import(ZMQIPC_NAME, text, (struct msglib_chan **)chan, err);
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
		if (!e->m.is_recv) {
			msglib_publish(&e->m);
			/* End of stream: an empty message, never waiting for
			 * room (a full queue: the receiver sees the published
			 * count instead). */
			(void)zmq_send(e->sock, "", 0, ZMQ_DONTWAIT);
			msglib_drain(&e->m);
		}
		zmq_close(e->sock); /* linger 0: nothing of ours is queued */
		ctx_put();
	}
	msglib_detach(&e->m);
	free(e);
}

static int zmqipc_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct msglib_chan *c = chan;
	struct zmqipc_end *e = calloc(1, sizeof(*e));
	char ep[IPC_PATH_MAX + 16] = "";
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
		ret = errno ? -errno : -ENOMEM;
		fdio_err(err, ZMQIPC_NAME ": zmq_ctx_new: %s", zmq_strerror(-ret));
		goto err_end;
	}
	e->sock = zmq_socket(ctx, ZMQ_PAIR);
	if (!e->sock) {
		ret = -errno;
		fdio_err(err, ZMQIPC_NAME ": zmq_socket: %s", zmq_strerror(errno));
		ctx_put();
		goto err_end;
	}
	timeo = e->m.spin ? -1 : (int)e->m.slice_ms;
	/* Linger 0: msglib's drain saw every message taken; an exported
	 * sender cannot see that (msglib.h): its end of stream may linger. */
	if (set_int(e->sock, ZMQ_LINGER, c->exported && role == IPC_SEND ? MSGLIB_EXPORT_LINGER_MS : 0) ||
	    set_int(e->sock, ZMQ_SNDHWM, (int)c->depth) ||
	    set_int(e->sock, ZMQ_RCVHWM, (int)c->depth) ||
	    set_int(e->sock, ZMQ_SNDTIMEO, timeo) || set_int(e->sock, ZMQ_RCVTIMEO, timeo) ||
	    (role == IPC_SEND && set_int(e->sock, ZMQ_RECONNECT_IVL, MSGLIB_RECONNECT_MS))) {
		ret = -errno;
		fdio_err(err, ZMQIPC_NAME ": zmq_setsockopt: %s", zmq_strerror(errno));
		goto err;
	}
	ret = msglib_endpoint(c, ep, sizeof(ep));
	if (ret) {
		fdio_err(err, ZMQIPC_NAME ": endpoint name too long");
		goto err;
	}
	if (role == IPC_RECV) {
		int64_t max = (int64_t)(c->max_msg + ZMQIPC_CMD_ROOM);

		if (zmq_setsockopt(e->sock, ZMQ_MAXMSGSIZE, &max, sizeof(max)) < 0 ||
		    zmq_bind(e->sock, ep) < 0) {
			ret = -errno;
			fdio_err(err, ZMQIPC_NAME ": bind %s: %s", ep, zmq_strerror(errno));
			goto err;
		}
	} else if (zmq_connect(e->sock, ep) < 0) {
		/* ipc:// connects even before the receiver has bound: ZeroMQ
		 * retries every ZMQ_RECONNECT_IVL and queues meanwhile. */
		ret = -errno;
		fdio_err(err, ZMQIPC_NAME ": connect %s: %s", ep, zmq_strerror(errno));
		goto err;
	}
	*end = e;
	return 0;
err:
	zmq_close(e->sock);
	ctx_put();
err_end:
	msglib_detach(&e->m);
	free(e);
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
		if (zmq_send(e->sock, buf, len, e->m.spin ? ZMQ_DONTWAIT : 0) == (int)len) {
			e->m.count++;
			return 0;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		ret = msglib_wait(&e->m);
		if (ret)
			return ret < 0 ? ret : -EPIPE;
	}
}

static ssize_t zmqipc_recv(void *end, void *buf, size_t cap)
{
	struct zmqipc_end *e = end;
	int n, ret, last = 0;

	if (!e->m.is_recv)
		return -EBADF;
	if (e->m.eos || msglib_sender_finished(&e->m)) {
		e->m.eos = 1;
		return -EPIPE;
	}
	msglib_wait_reset(&e->m);
	for (;;) {
		n = zmq_recv(e->sock, buf, cap, e->m.spin || last ? ZMQ_DONTWAIT : 0);
		if (n > 0) {
			msglib_took(&e->m);
			return (size_t)n > cap ? -EMSGSIZE : n;
		}
		if (n == 0) { /* the in-band end of stream */
			e->m.eos = 1;
			return -EPIPE;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		if (last || msglib_sender_finished(&e->m)) {
			e->m.eos = 1;
			return -EPIPE;
		}
		ret = msglib_wait(&e->m);
		if (ret < 0)
			return ret;
		last = ret;
	}
}

const struct ipc_ops ipc_zmq_ipc_ops = {
	.name = ZMQIPC_NAME,
	.summary = "ZeroMQ 4.3 ipc:// PAIR sockets; per process " ZMQIPC_STR(ZMQIPC_IO_THREADS)
		   " I/O thread (ZMQ_IO_THREADS) and ZeroMQ's reaper thread besides the caller's",
	.quick = IPC_QUICK_SMALL,
	.caps = zmqipc_caps,
	.create = zmqipc_create,
	.attach = zmqipc_attach,
	.send = zmqipc_send,
	.recv = zmqipc_recv,
	.detach = zmqipc_detach,
	.forget = zmqipc_forget,
	.destroy = zmqipc_destroy,
	.export_chan = zmqipc_export,
	.import_chan = zmqipc_import,
};
