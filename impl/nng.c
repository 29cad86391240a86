/*
 * nng.c - "nng-ipc": nng 1.5 (Debian's libnng-dev) over ipc://, built only
 * when CMake finds nng.  Topology, liveness and end-of-stream rules are
 * msglib's (msglib.h): one pair1 socket per end, the receiver listens, the
 * sender dials (non-blocking: nng retries until the listener is there) and
 * sends only once the connection is up (nng_pipe_notify).
 *
 * nng keeps one process-wide state (its task-queue, timer and poller
 * threads, started with the first socket and sized by the library, about
 * two per CPU); it is made after fork by the first attach of a process and
 * shut down with nng_fini() by its last detach.  A process that used nng
 * and forks later breaks its children's nng even after nng_fini (they
 * abort), so attach refuses the process that made the channel (the one
 * that forks the workers): no in-process micro benchmark for nng-ipc.  Waits are what nng offers: block is nng_send/nng_recvmsg
 * bounded by NNG_OPT_SENDTIMEO/NNG_OPT_RECVTIMEO slices (for the liveness
 * checks); spin is NNG_FLAG_NONBLOCK in a loop.  No hybrid wait.
 *
 * One message: nng_send copies it into a message that an aio hands to the
 * pipe's writer (task-queue threads do the write(2) on the Unix socket);
 * the receiving poller thread reads it and completes the waiting receive
 * (a condition variable: futex); nng_recvmsg hands over the message and we
 * copy it out.  Roughly the same thread hops as ZeroMQ.
 *
 * Limits: messages up to MSGLIB_MAX_MSG (NNG_OPT_RECVMAXSZ on receivers);
 * NNG_OPT_SENDBUF / NNG_OPT_RECVBUF = depth, which nng accepts up to 8192
 * (a larger depth is refused at attach with nng's error).
 */
#include <errno.h>
#include <stdatomic.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <nng/supplemental/util/platform.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msglib.h"

#define NNGIPC_NAME "nng-ipc"
/* NNG_OPT_RECVMAXSZ bounds the transport's frame, which carries the
 * protocol's header (pair1: a 4-byte hop count) besides the message. */
#define NNGIPC_HDR_ROOM 64u
/* A sender's detach waits this long after its last message before
 * nng_close (nng 1.5 has no linger option; its documentation says a close
 * during transmission loses data).  Paid once per sending end. */
#define NNGIPC_FLUSH_MS 50

/* Ends alive in this process: the last detach shuts nng down. */
static struct {
	pthread_mutex_t lock;
	pid_t pid;
	unsigned refs;
} nngipc_proc = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct nngipc_end {
	struct msglib_end m;
	nng_socket sock;
	int open;
	atomic_int pipes;  /* connections up (nng's pipe callbacks) */
};

/* nng calls this from its own threads as connections come and go. */
static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct nngipc_end *e = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&e->pipes, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&e->pipes, 1);
}

static int nngipc_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	msglib_caps(caps);
	return 0;
}

static void proc_get(void)
{
	pthread_mutex_lock(&nngipc_proc.lock);
	if (nngipc_proc.pid != getpid()) {
		nngipc_proc.pid = getpid();
		nngipc_proc.refs = 0;
	}
	nngipc_proc.refs++;
	pthread_mutex_unlock(&nngipc_proc.lock);
}

static void proc_put(void)
{
	int last;

	pthread_mutex_lock(&nngipc_proc.lock);
	last = nngipc_proc.pid == getpid() && nngipc_proc.refs && --nngipc_proc.refs == 0;
	pthread_mutex_unlock(&nngipc_proc.lock);
	if (last)
		nng_fini();
}

/* nng's errors as errno values. */
static int nng_errno(int rv)
{
	switch (rv) {
	case NNG_EAGAIN:
		return -EAGAIN;
	case NNG_ETIMEDOUT:
		return -ETIMEDOUT;
	case NNG_ECLOSED:
		return -EPIPE;
	case NNG_ENOMEM:
		return -ENOMEM;
	case NNG_EINVAL:
		return -EINVAL;
	case NNG_EMSGSIZE:
		return -EMSGSIZE;
	case NNG_EINTR:
		return -EINTR;
	default:
		return -EIO;
	}
}

static int nngipc_create(const struct ipc_params *p, void **chan, char *err)
{
	return msglib_create(NNGIPC_NAME, p, (struct msglib_chan **)chan, err);
}

static void nngipc_forget(void *chan)
{
	msglib_forget(chan);
}

static void nngipc_destroy(void *chan)
{
	msglib_destroy(chan);
}

static void nngipc_detach(void *end)
{
	struct nngipc_end *e = end;

	if (!e)
		return;
	if (e->open) {
		if (!e->m.is_recv) { /* end-of-stream: an empty message; not
				      * waiting for room (a receiver gone) */
			(void)nng_send(e->sock, "", 0, NNG_FLAG_NONBLOCK);
			/* nng has no linger: nng_close drops what is still
			 * queued, so give the pipes time to write it. */
			nng_msleep(NNGIPC_FLUSH_MS);
		}
		nng_close(e->sock);
		proc_put();
	}
	msglib_detach(&e->m);
	free(e);
}

static int nngipc_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct msglib_chan *c = chan;
	struct nngipc_end *e = calloc(1, sizeof(*e));
	char ep[IPC_PATH_MAX + 32];
	nng_duration timeo;
	int rv, ret;

	if (!e) {
		fdio_err(err, NNGIPC_NAME ": out of memory");
		return -ENOMEM;
	}
	if (getpid() == c->creator) {
		/* nng's threads and global state do not survive a fork, even
		 * after nng_fini(): a process that made channels (and forks the
		 * workers) must never start nng itself. */
		fdio_err(err, NNGIPC_NAME ": not in the process that made the channel (nng's state "
			 "does not survive its later forks): no in-process use");
		free(e);
		return -ENOTSUP;
	}
	ret = msglib_attach(c, NNGIPC_NAME, role, &e->m, err);
	if (ret) {
		msglib_detach(&e->m);
		free(e);
		return ret;
	}
	rv = nng_pair1_open(&e->sock);
	if (rv) {
		fdio_err(err, NNGIPC_NAME ": socket: %s", nng_strerror(rv));
		ret = nng_errno(rv);
		goto err;
	}
	e->open = 1;
	proc_get();
	timeo = e->m.spin ? NNG_DURATION_INFINITE : (nng_duration)e->m.slice_ms;
	rv = nng_socket_set_ms(e->sock, NNG_OPT_SENDTIMEO, timeo);
	if (!rv)
		rv = nng_socket_set_ms(e->sock, NNG_OPT_RECVTIMEO, timeo);
	if (!rv && role == IPC_SEND)
		rv = nng_socket_set_int(e->sock, NNG_OPT_SENDBUF, (int)c->depth);
	if (!rv && role == IPC_RECV)
		rv = nng_socket_set_int(e->sock, NNG_OPT_RECVBUF, (int)c->depth);
	if (!rv && role == IPC_RECV)
		rv = nng_socket_set_size(e->sock, NNG_OPT_RECVMAXSZ, c->max_msg + NNGIPC_HDR_ROOM);
	if (rv) {
		fdio_err(err, NNGIPC_NAME ": socket options (depth %u): %s", c->depth, nng_strerror(rv));
		ret = nng_errno(rv);
		goto err;
	}
	if (role == IPC_SEND) {
		rv = nng_socket_set_ms(e->sock, NNG_OPT_RECONNMINT, MSGLIB_RECONNECT_MS);
		if (!rv)
			rv = nng_pipe_notify(e->sock, NNG_PIPE_EV_ADD_POST, pipe_event, e);
		if (!rv)
			rv = nng_pipe_notify(e->sock, NNG_PIPE_EV_REM_POST, pipe_event, e);
		if (rv) {
			fdio_err(err, NNGIPC_NAME ": nng_pipe_notify: %s", nng_strerror(rv));
			ret = nng_errno(rv);
			goto err;
		}
	}
	if (role == IPC_RECV) {
		ret = msglib_endpoint(c, e->m.recv_idx, ep, sizeof(ep));
		rv = ret ? NNG_EINVAL : nng_listen(e->sock, ep, NULL, 0);
		if (rv) {
			fdio_err(err, NNGIPC_NAME ": listen %s: %s", ep, nng_strerror(rv));
			ret = nng_errno(rv);
			goto err;
		}
	} else {
		for (unsigned n = 0; n < c->receivers; n++) {
			ret = msglib_endpoint(c, n, ep, sizeof(ep));
			rv = ret ? NNG_EINVAL : nng_dial(e->sock, ep, NULL, NNG_FLAG_NONBLOCK);
			if (rv) {
				fdio_err(err, NNGIPC_NAME ": dial %s: %s", ep, nng_strerror(rv));
				ret = nng_errno(rv);
				goto err;
			}
		}
	}
	*end = e;
	return 0;
err:
	e->m.is_recv = 1; /* no end-of-stream from a half-made end */
	nngipc_detach(e);
	return ret;
}

static int nngipc_send(void *end, const void *buf, size_t len)
{
	struct nngipc_end *e = end;
	int rv, ret;

	if (len == 0)
		return -EINVAL;
	if (len > e->m.max_msg)
		return -EMSGSIZE;
	if (e->m.is_recv)
		return -EBADF;
	msglib_wait_reset(&e->m);
	/* Only to a connection that is up: what a socket queues before its
	 * first connection is lost if it closes first (nng has no linger). */
	while (!atomic_load(&e->pipes)) {
		if (fdio_peer_gone(e->m.peer_r))
			return -EPIPE;
		ret = fdio_spin_wait(&e->m.w.sp, e->m.timeout_ms);
		if (ret)
			return ret;
		nng_msleep(1);
	}
	for (;;) {
		rv = nng_send(e->sock, (void *)buf, len, e->m.spin ? NNG_FLAG_NONBLOCK : 0);
		if (rv == 0)
			return 0;
		if (rv == NNG_EINTR)
			continue;
		if (rv != NNG_EAGAIN && rv != NNG_ETIMEDOUT)
			return nng_errno(rv);
		ret = msglib_wait(&e->m);
		if (ret)
			return ret;
	}
}

static ssize_t nngipc_recv(void *end, void *buf, size_t cap)
{
	struct nngipc_end *e = end;
	nng_msg *msg;
	size_t n;
	int rv, ret;

	if (!e->m.is_recv)
		return -EBADF;
	if (e->m.eos)
		return -EPIPE;
	msglib_wait_reset(&e->m);
	for (;;) {
		rv = nng_recvmsg(e->sock, &msg, e->m.spin ? NNG_FLAG_NONBLOCK : 0);
		if (rv == 0) {
			n = nng_msg_len(msg);
			if (n > 0 && n <= cap)
				memcpy(buf, nng_msg_body(msg), n);
			nng_msg_free(msg);
			if (n == 0) {
				e->m.eos = 1;
				return -EPIPE;
			}
			return n > cap ? -EMSGSIZE : (ssize_t)n;
		}
		if (rv == NNG_EINTR)
			continue;
		if (rv != NNG_EAGAIN && rv != NNG_ETIMEDOUT)
			return nng_errno(rv);
		ret = msglib_wait(&e->m);
		if (ret)
			return ret;
	}
}

const struct ipc_ops ipc_nng_ipc_ops = {
	.name = NNGIPC_NAME,
	.summary = "nng 1.5 ipc:// pair1 sockets, nng's own thread pool",
	.quick = IPC_QUICK_SMALL,
	.caps = nngipc_caps,
	.create = nngipc_create,
	.attach = nngipc_attach,
	.send = nngipc_send,
	.recv = nngipc_recv,
	.detach = nngipc_detach,
	.forget = nngipc_forget,
	.destroy = nngipc_destroy,
};
