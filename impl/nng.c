/*
 * nng.c - "nng-ipc": nng 1.5 (Debian's libnng-dev) over ipc://, built only
 * when CMake finds nng.  Topology, liveness and the end-of-stream handshake
 * are msglib's (msglib.h): one pair1 socket per end, the receiver listens,
 * the sender dials (non-blocking: nng retries every MSGLIB_RECONNECT_MS
 * until the listener is there, and queues what is sent meanwhile).
 *
 * nng keeps one process-wide state (its task-queue threads, a timer, a
 * resolver and a poller thread, started with the first socket: 13 threads
 * besides the caller's on this 2-CPU machine, counted in /proc/self/task;
 * nng 1.5 has no run-time knob for them); it
 * is made after fork by the first attach of a process and shut down with
 * nng_fini() by its last detach.  A process that used nng and forks later
 * breaks its children's nng even after nng_fini (they abort), so attach
 * refuses the process that made the channel (the one that forks the
 * workers): no in-process micro benchmark for nng-ipc, skipped with that
 * reason.  Waits are what nng offers: block is nng_send/nng_recvmsg
 * bounded by NNG_OPT_SENDTIMEO/NNG_OPT_RECVTIMEO slices (to look at the
 * peer's liveness between them); spin is NNG_FLAG_NONBLOCK in a loop.  No
 * spin-then-sleep wait: hybrid is refused and skipped with that reason.
 *
 * One message: nng_send copies it into a message that an aio hands to the
 * pipe's writer (task-queue threads do the write(2) on the Unix socket);
 * the receiving poller thread reads it and completes the waiting receive
 * (a condition variable: futex); nng_recvmsg hands over the message and we
 * copy it out.  Roughly the same thread hops as ZeroMQ.
 *
 * Not exported to other ranks (--workers=mpi): no export step, and the
 * table says why (no_export: the fork rule above), so those cases are
 * skipped with that reason; create refuses an exported channel.
 *
 * Limits: messages up to MSGLIB_MAX_MSG (NNG_OPT_RECVMAXSZ on receivers);
 * NNG_OPT_SENDBUF / NNG_OPT_RECVBUF = depth, which nng takes up to
 * NNGIPC_MAX_DEPTH (caps.max_depth: a larger one is refused at create).
 */
#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pair1/pair.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msglib.h"

#define NNGIPC_NAME "nng-ipc"
/* NNG_OPT_RECVMAXSZ bounds the transport's frame, which carries the
 * protocol's header (pair1: a 4-byte hop count) besides the message. */
#define NNGIPC_HDR_ROOM 64u
/* nng 1.5 refuses NNG_OPT_SENDBUF / NNG_OPT_RECVBUF above this. */
#define NNGIPC_MAX_DEPTH 8192u

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
	atomic_int conns; /* receiver: connections up (nng's pipe callbacks) */
};

/* nng calls this from its own threads as connections come and go. */
static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct nngipc_end *e = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&e->conns, 1);
	else if (ev == NNG_PIPE_EV_REM_POST)
		atomic_fetch_sub(&e->conns, 1);
}

static int nngipc_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	msglib_caps(caps, NNGIPC_MAX_DEPTH);
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

/* Why no other rank can re-open an nng-ipc channel (--workers=mpi). */
#define NNGIPC_NO_EXPORT "nng's state does not survive a later fork even after nng_fini (the children " \
	"abort), and rank 0, which runs worker 0 of every rank case, forks the workers of the same job's " \
	"--workers=process cases"

static int nngipc_create(const struct ipc_params *p, void **chan, char *err)
{
	if (p->exported) {
		fdio_err(err, NNGIPC_NAME ": no export step (%s)", NNGIPC_NO_EXPORT);
		return -ENOTSUP;
	}
	return msglib_create(NNGIPC_NAME, p, NNGIPC_MAX_DEPTH, (struct msglib_chan **)chan, err);
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
		if (!e->m.is_recv) {
			msglib_publish(&e->m);
			/* End of stream: an empty message, never waiting for
			 * room (a full queue: the receiver sees the published
			 * count instead). */
			(void)nng_send(e->sock, "", 0, NNG_FLAG_NONBLOCK);
			/* nng_close drops what is still queued: wait until the
			 * receiver took it all (msglib.h). */
			msglib_drain(&e->m);
			nng_close(e->sock);
			msglib_closed(&e->m);
		} else {
			/* nng 1.5.2's nng_close of the listening end sometimes
			 * hung past the harness's 2 s stop limit when it raced
			 * the teardown of the connection its sender was closing
			 * at that moment (fanout 4096 B pool 2: up to 10 of 10
			 * repetitions).  Close once that connection is gone.
			 * Not in a process whose threads are the workers
			 * (--workers=thread): there the wait made every case
			 * time out at close (why was not found in time; the
			 * race was not seen with threads). */
			if (!ipc_in_shared_process())
				msglib_recv_linger(&e->m, &e->conns);
			nng_close(e->sock);
		}
		proc_put();
	}
	msglib_detach(&e->m);
	free(e);
}

static int nngipc_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct msglib_chan *c = chan;
	struct nngipc_end *e;
	char ep[IPC_PATH_MAX + 16] = "";
	nng_duration timeo;
	int rv, ret;

	if (getpid() == c->creator) {
		/* nng's threads and global state do not survive a fork, even
		 * after nng_fini(): the process that made the channel (and
		 * forks the workers) must never start nng itself. */
		fdio_err(err, NNGIPC_NAME ": not in the process that made the channel (nng's state "
			 "does not survive that process's later forks): no in-process use");
		return -ENOTSUP;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fdio_err(err, NNGIPC_NAME ": out of memory");
		return -ENOMEM;
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
		msglib_detach(&e->m);
		free(e);
		return ret;
	}
	e->open = 1;
	proc_get();
	timeo = e->m.spin ? NNG_DURATION_INFINITE : (nng_duration)e->m.slice_ms;
	rv = nng_socket_set_ms(e->sock, NNG_OPT_SENDTIMEO, timeo);
	if (!rv)
		rv = nng_socket_set_ms(e->sock, NNG_OPT_RECVTIMEO, timeo);
	if (!rv)
		rv = nng_socket_set_int(e->sock, role == IPC_SEND ? NNG_OPT_SENDBUF : NNG_OPT_RECVBUF,
					(int)c->depth);
	if (!rv && role == IPC_RECV)
		rv = nng_socket_set_size(e->sock, NNG_OPT_RECVMAXSZ, c->max_msg + NNGIPC_HDR_ROOM);
	if (!rv && role == IPC_SEND)
		rv = nng_socket_set_ms(e->sock, NNG_OPT_RECONNMINT, MSGLIB_RECONNECT_MS);
	if (!rv && role == IPC_RECV)
		rv = nng_pipe_notify(e->sock, NNG_PIPE_EV_ADD_POST, pipe_event, e);
	if (!rv && role == IPC_RECV)
		rv = nng_pipe_notify(e->sock, NNG_PIPE_EV_REM_POST, pipe_event, e);
	if (rv) {
		fdio_err(err, NNGIPC_NAME ": socket options (depth %u): %s", c->depth, nng_strerror(rv));
		ret = nng_errno(rv);
		goto err;
	}
	ret = msglib_endpoint(c, ep, sizeof(ep));
	if (ret) {
		fdio_err(err, NNGIPC_NAME ": endpoint name too long");
		goto err;
	}
	if (role == IPC_RECV)
		rv = nng_listen(e->sock, ep, NULL, 0);
	else /* before the listener is there: nng retries and queues */
		rv = nng_dial(e->sock, ep, NULL, NNG_FLAG_NONBLOCK);
	if (rv) {
		fdio_err(err, NNGIPC_NAME ": %s %s: %s", role == IPC_RECV ? "listen" : "dial", ep,
			 nng_strerror(rv));
		ret = nng_errno(rv);
		goto err;
	}
	*end = e;
	return 0;
err:
	nng_close(e->sock); /* a half-made end: no end of stream, no waits */
	proc_put();
	msglib_detach(&e->m);
	free(e);
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
	for (;;) {
		rv = nng_send(e->sock, (void *)buf, len, e->m.spin ? NNG_FLAG_NONBLOCK : 0);
		if (rv == 0) {
			e->m.count++;
			return 0;
		}
		if (rv == NNG_EINTR)
			continue;
		if (rv != NNG_EAGAIN && rv != NNG_ETIMEDOUT)
			return nng_errno(rv);
		ret = msglib_wait(&e->m);
		if (ret)
			return ret < 0 ? ret : -EPIPE;
	}
}

static ssize_t nngipc_recv(void *end, void *buf, size_t cap)
{
	struct nngipc_end *e = end;
	nng_msg *msg;
	size_t n;
	int rv, ret, last = 0;

	if (!e->m.is_recv)
		return -EBADF;
	if (e->m.eos || msglib_sender_finished(&e->m)) {
		e->m.eos = 1;
		return -EPIPE;
	}
	msglib_wait_reset(&e->m);
	for (;;) {
		rv = nng_recvmsg(e->sock, &msg, e->m.spin || last ? NNG_FLAG_NONBLOCK : 0);
		if (rv == 0) {
			n = nng_msg_len(msg);
			if (n == 0) { /* the in-band end of stream */
				nng_msg_free(msg);
				e->m.eos = 1;
				return -EPIPE;
			}
			if (n <= cap)
				memcpy(buf, nng_msg_body(msg), n);
			nng_msg_free(msg);
			msglib_took(&e->m);
			return n > cap ? -EMSGSIZE : (ssize_t)n;
		}
		if (rv == NNG_EINTR)
			continue;
		if (rv != NNG_EAGAIN && rv != NNG_ETIMEDOUT)
			return nng_errno(rv);
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

const struct ipc_ops ipc_nng_ipc_ops = {
	.name = NNGIPC_NAME,
	.summary = "nng 1.5 ipc:// pair1 sockets; nng's own threads per process besides the caller's "
		   "(task queue, timer, resolver, poller: 13 on a 2-CPU machine; no run-time knob in 1.5)",
	.quick = IPC_QUICK_SMALL,
	.caps = nngipc_caps,
	.create = nngipc_create,
	.attach = nngipc_attach,
	.send = nngipc_send,
	.recv = nngipc_recv,
	.detach = nngipc_detach,
	.forget = nngipc_forget,
	.destroy = nngipc_destroy,
	.no_export_why = NNGIPC_NO_EXPORT,
};
