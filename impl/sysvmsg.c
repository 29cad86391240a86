/*
 * sysvmsg.c - "sysv-msg": a SysV message queue, one msgsnd per message.
 *
 * The queue is made with msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600)
 * and removed with IPC_RMID by destroy().  The kernel keeps boundaries and
 * gives each message to one receiver, so any number of senders and
 * receivers share a queue.  Every message is sent as type SVMSG_DATA; the
 * bytes pass through a per-end buffer that holds the mtype word in front
 * (the API wants it there): one memcpy of the payload on each side.
 *
 * One message costs one msgsnd(2) and one msgrcv(2) (spin: IPC_NOWAIT
 * calls in a loop; block: blocking calls).
 *
 * Limits read from the machine, never clamped: a message over
 * kernel.msgmax, or depth x size over kernel.msgmnb (the bytes one queue
 * holds; only root could set msg_qbytes above it, and every user is held to
 * it so results compare) is refused with the sysctl to raise.  depth 0: as
 * many messages as msgmnb holds.  kernel.msgmni queues per machine (ENOSPC).
 *
 * Dead peers: a SysV queue has no notion of its users and msgrcv()/msgsnd()
 * have no timeout, so the channel carries fdio's liveness pipes and every
 * blocking end runs a peerwatch thread (peerwatch.h).  When no sender is
 * left, a receiver's thread sends an in-band end-of-stream record (type
 * SVMSG_EOS, empty) into the queue: FIFO puts it after every data message,
 * and a receiver that takes it puts it back for the others and says -EPIPE.
 * This covers a clean detach and a SIGKILL alike.  When no receiver is
 * left, a sender's thread marks the end gone and drains the queue so a
 * sender blocked on a full queue returns; the next send says -EPIPE.
 * Spinning ends look at the pipes every FDIO_SPIN_CHECK tries.  Block does
 * not honour timeout_ms (no timed msgrcv); a live but stuck peer is the
 * harness watchdog's business, as for pipes.  A SIGKILL of the process that
 * made the channel (it runs destroy) leaves the queue: ipcs -q shows it,
 * `ipcrm -q ID` removes it.
 *
 * Export (ranks of an MPI job on one host): the line carries the queue's
 * id; an importer checks that the id names a queue it may use and takes
 * it.  The queue is removed by the destroy of the creator AND of every
 * importer (the first wins, the others find it gone), so a rank killed
 * mid-case leaves nothing: the surviving ranks' destroy removes it.  An
 * importer removes it only while it is still the queue it imported (same
 * change time, which only IPC_SET moves), never an id the kernel handed
 * out again.  Liveness pipes cannot cross unrelated processes: an imported
 * end has none, and a wait on a dead rank ends on the spin timeout or on
 * the rank's abort check (ipc_abort_requested: mpirun's SIGTERM), which a
 * blocking end's peerwatch thread looks at (peerwatch.h).  Left:
 * a creator SIGKILLed before any importer imported leaves its queue.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "names.h"
#include "peerwatch.h"

#define SVMSG_NAME "sysv-msg"
#define SVMSG_DATA 1L
#define SVMSG_EOS 2L

struct svmsg_chan {
	int qid;
	pid_t creator;
	enum ipc_wait wait;
	unsigned timeout_ms;
	size_t max_msg;
	struct fdio_alive alive;
	int imported;       /* made by svmsg_import: no liveness pipes */
	time_t ctime;       /* imported: the queue's msg_ctime at import */
};

struct svmsg_buf {
	long mtype;
	char mtext[];
};

struct svmsg_end {
	int qid;
	int is_recv;
	int spin;
	unsigned timeout_ms;
	size_t max_msg;
	struct svmsg_buf *buf;   /* mtype + max_msg bytes */
	struct svmsg_buf *drain; /* the watch thread's own buffer (sender) */
	atomic_int gone;
	int alive_w, peer_r;
	struct peerwatch *watch;
};

static int svmsg_read_limits(unsigned long *msgmax, unsigned long *msgmnb, char *err)
{
	int ret = fdio_read_ulong("/proc/sys/kernel/msgmax", msgmax);

	if (!ret)
		ret = fdio_read_ulong("/proc/sys/kernel/msgmnb", msgmnb);
	if (ret)
		fdio_err(err, SVMSG_NAME ": cannot read kernel.msgmax/msgmnb: %s", strerror(-ret));
	return ret;
}

static int svmsg_caps(struct ipc_caps *caps, char *err)
{
	unsigned long msgmax, msgmnb;
	int ret;

	memset(caps, 0, sizeof(*caps));
	ret = svmsg_read_limits(&msgmax, &msgmnb, err);
	if (ret)
		return ret;
	caps->max_msg = msgmax < msgmnb ? msgmax : msgmnb;
	caps->max_shared_send = caps->max_msg;
	caps->max_shared_recv = caps->max_msg;
	caps->max_depth = 0; /* a byte budget (msgmnb), checked by create */
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
	return 0;
}

static void svmsg_forget(void *chan)
{
	struct svmsg_chan *c = chan;

	if (c)
		fdio_alive_close(&c->alive);
}

/* The queue is still the one imported (an id the kernel reuses for a new
 * queue has a new change time). */
static int svmsg_same_queue(const struct svmsg_chan *c)
{
	struct msqid_ds ds;

	if (msgctl(c->qid, IPC_STAT, &ds) < 0)
		return 0; /* gone already (another rank's destroy) */
	return ds.msg_ctime == c->ctime;
}

static void svmsg_destroy(void *chan)
{
	struct svmsg_chan *c = chan;

	if (!c)
		return;
	svmsg_forget(c);
	if (c->qid >= 0 && (!c->imported || svmsg_same_queue(c)))
		msgctl(c->qid, IPC_RMID, NULL);
	if (!c->imported)
		ipc_sysv_untrack(IPC_SYSV_MSG, c->qid);
	free(c);
}

/* 0 or -errno; on error nothing is left. */
static int svmsg_create(const struct ipc_params *p, void **chan, char *err)
{
	unsigned long msgmax, msgmnb;
	struct ipc_caps caps;
	struct svmsg_chan *c;
	int ret;

	ret = svmsg_read_limits(&msgmax, &msgmnb, err);
	if (ret)
		return ret;
	if (p->max_msg > msgmax) {
		fdio_err(err, SVMSG_NAME ": message size %zu exceeds kernel.msgmax = %lu; raise it "
			 "with: sysctl -w kernel.msgmax=%zu", p->max_msg, msgmax, p->max_msg);
		return -EMSGSIZE;
	}
	if (p->max_msg > msgmnb || (unsigned long long)p->depth * p->max_msg > msgmnb) {
		unsigned long long want = (unsigned long long)(p->depth ? p->depth : 1) * p->max_msg;

		fdio_err(err, SVMSG_NAME ": %u message(s) of %zu bytes exceed kernel.msgmnb = %lu "
			 "bytes per queue; raise it with: sysctl -w kernel.msgmnb=%llu",
			 p->depth ? p->depth : 1, p->max_msg, msgmnb, want);
		return p->max_msg > msgmnb ? -EMSGSIZE : -EINVAL;
	}
	ret = svmsg_caps(&caps, err);
	if (!ret)
		ret = fdio_check_params(SVMSG_NAME, &caps, p, err);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c) {
		fdio_err(err, SVMSG_NAME ": out of memory");
		return -ENOMEM;
	}
	c->creator = getpid();
	c->wait = p->wait;
	c->timeout_ms = p->timeout_ms;
	c->max_msg = p->max_msg;
	fdio_alive_reset(&c->alive);
	c->qid = msgget(IPC_PRIVATE, IPC_CREAT | IPC_EXCL | 0600);
	ipc_sysv_track(IPC_SYSV_MSG, c->qid);
	if (c->qid < 0) {
		ret = -errno;
		fdio_err(err, SVMSG_NAME ": msgget: %s%s", strerror(errno),
			 errno == ENOSPC ? " (kernel.msgmni queues in use)" : "");
		goto err;
	}
	if (p->depth) {
		struct msqid_ds ds;

		/* Exactly the bytes asked for (at most msgmnb, checked above). */
		if (msgctl(c->qid, IPC_STAT, &ds) == 0) {
			ds.msg_qbytes = (msglen_t)((unsigned long long)p->depth * p->max_msg);
			if (msgctl(c->qid, IPC_SET, &ds) < 0) {
				ret = -errno;
				fdio_err(err, SVMSG_NAME ": msgctl(IPC_SET msg_qbytes): %s", strerror(errno));
				goto err;
			}
		}
	}
	ret = fdio_alive_open(&c->alive);
	if (ret) {
		fdio_err(err, SVMSG_NAME ": pipe: %s", strerror(-ret));
		goto err;
	}
	*chan = c;
	return 0;
err:
	svmsg_destroy(c);
	return ret;
}

/* Receiver's watch: no sender left, post the end-of-stream record. */
static int svmsg_post_eos(void *arg)
{
	struct svmsg_end *e = arg;
	struct svmsg_buf eos = { .mtype = SVMSG_EOS };

	atomic_store(&e->gone, 1);
	if (msgsnd(e->qid, &eos, 0, IPC_NOWAIT) == 0)
		return 0;
	return errno == EAGAIN || errno == EINTR; /* full: try again soon */
}

/* Sender's watch: no receiver left; keep the queue drained so a sender
 * blocked on a full queue returns (and then says -EPIPE). */
static int svmsg_drain(void *arg)
{
	struct svmsg_end *e = arg;

	atomic_store(&e->gone, 1);
	while (msgrcv(e->qid, e->drain, e->max_msg, 0, IPC_NOWAIT | MSG_NOERROR) >= 0)
		;
	return errno != EIDRM && errno != EINVAL;
}

static void svmsg_detach(void *end)
{
	struct svmsg_end *e = end;

	if (!e)
		return;
	peerwatch_stop(e->watch);
	if (e->alive_w >= 0)
		close(e->alive_w);
	if (e->peer_r >= 0)
		close(e->peer_r);
	free(e->buf);
	free(e->drain);
	free(e);
}

static int svmsg_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct svmsg_chan *c = chan;
	struct svmsg_end *e;
	int ret;

	if (role != IPC_SEND && role != IPC_RECV) {
		fdio_err(err, SVMSG_NAME ": bad role %d", (int)role);
		return -EINVAL;
	}
	if (c->alive.r[0] < 0 && !c->imported) {
		fdio_err(err, SVMSG_NAME ": attach after forget");
		return -EBADF;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fdio_err(err, SVMSG_NAME ": out of memory");
		return -ENOMEM;
	}
	e->alive_w = e->peer_r = -1;
	e->qid = c->qid;
	e->is_recv = role == IPC_RECV;
	e->spin = c->wait == IPC_WAIT_SPIN;
	e->timeout_ms = c->timeout_ms;
	e->max_msg = c->max_msg;
	e->buf = malloc(sizeof(*e->buf) + c->max_msg);
	e->drain = e->is_recv || e->spin ? NULL : malloc(sizeof(*e->drain) + c->max_msg);
	if (!e->buf || (!e->is_recv && !e->spin && !e->drain)) {
		ret = -ENOMEM;
		fdio_err(err, SVMSG_NAME ": out of memory");
		goto err;
	}
	ret = fdio_alive_attach(&c->alive, role, getpid() != c->creator, &e->alive_w, &e->peer_r);
	if (ret) {
		fdio_err(err, SVMSG_NAME ": dup: %s", strerror(-ret));
		goto err;
	}
	if (!e->spin) { /* imported (peer_r -1): the abort check only */
		ret = peerwatch_start(&e->watch, e->peer_r, e->is_recv ? svmsg_post_eos : svmsg_drain, e);
		if (ret) {
			fdio_err(err, SVMSG_NAME ": peer-watch thread: %s", strerror(-ret));
			goto err;
		}
	}
	*end = e;
	return 0;
err:
	svmsg_detach(e);
	return ret;
}

/* errno of a queue that was removed under us: the channel is gone. */
static int svmsg_errno(int e)
{
	return e == EIDRM || e == EINVAL ? -EPIPE : -e;
}

static int svmsg_send(void *end, const void *buf, size_t len)
{
	struct svmsg_end *e = end;
	struct fdio_wait w = { 0 };
	int ret, last = 0;

	if (len == 0)
		return -EINVAL;
	if (len > e->max_msg)
		return -EMSGSIZE;
	if (e->is_recv)
		return -EBADF;
	e->buf->mtype = SVMSG_DATA;
	memcpy(e->buf->mtext, buf, len);
	for (;;) {
		if (atomic_load_explicit(&e->gone, memory_order_relaxed))
			return -EPIPE;
		if (msgsnd(e->qid, e->buf, len, e->spin || last ? IPC_NOWAIT : 0) == 0)
			return 0;
		if (errno == EINTR && !e->spin && !ipc_abort_requested())
			continue;
		if (errno != EAGAIN)
			return svmsg_errno(errno);
		if (last)
			return -EPIPE;
		ret = fdio_wait_step(&w, 1, e->timeout_ms, 0, e->peer_r);
		if (ret < 0)
			return ret;
		last = ret;
	}
}

static ssize_t svmsg_recv(void *end, void *buf, size_t cap)
{
	struct svmsg_end *e = end;
	struct fdio_wait w = { 0 };
	ssize_t n;
	int ret, last = 0;

	if (!e->is_recv)
		return -EBADF;
	for (;;) {
		n = msgrcv(e->qid, e->buf, e->max_msg, 0, e->spin || last ? IPC_NOWAIT : 0);
		if (n >= 0)
			break;
		if (errno == EINTR && !e->spin && !ipc_abort_requested())
			continue;
		if (errno != ENOMSG)
			return svmsg_errno(errno);
		if (last)
			return -EPIPE;
		ret = fdio_wait_step(&w, 1, e->timeout_ms, 0, e->peer_r);
		if (ret < 0)
			return ret;
		last = ret;
	}
	if (e->buf->mtype == SVMSG_EOS) {
		/* Put it back: every other receiver must see it too. */
		(void)msgsnd(e->qid, e->buf, 0, IPC_NOWAIT);
		return -EPIPE;
	}
	if (e->buf->mtype != SVMSG_DATA || n == 0)
		return -EPROTO;
	if ((size_t)n > cap)
		return -EMSGSIZE;
	memcpy(buf, e->buf->mtext, (size_t)n);
	return n;
}

static int svmsg_export(void *chan, char *text, size_t cap, char *err)
{
	const struct svmsg_chan *c = chan;
	int n;

	if (c->imported || c->qid < 0 || c->alive.r[0] < 0) {
		fdio_err(err, SVMSG_NAME ": only its creator, before forget, can export it");
		return -EINVAL;
	}
	n = snprintf(text, cap, "max=%zu wait=%s timeout=%u qid=%d", c->max_msg, ipc_wait_name(c->wait),
		     c->timeout_ms, c->qid);
	if (n < 0 || (size_t)n >= cap) {
		fdio_err(err, SVMSG_NAME ": export needs %d bytes, have %zu", n, cap);
		return -ENOSPC;
	}
	return 0;
}

/* The creator's queue, by id (its host only). */
static int svmsg_import(const char *text, void **chan, char *err)
{
	struct svmsg_chan *c = calloc(1, sizeof(*c));
	unsigned long msgmax, msgmnb;
	struct msqid_ds ds;
	char wait[16];
	int ret;

	if (!c) {
		fdio_err(err, SVMSG_NAME ": out of memory");
		return -ENOMEM;
	}
	c->imported = 1;
	c->creator = getpid();
	fdio_alive_reset(&c->alive);
	if (sscanf(text, "max=%zu wait=%15s timeout=%u qid=%d", &c->max_msg, wait, &c->timeout_ms, &c->qid) != 4 ||
	    c->qid < 0 || ipc_wait_parse(wait, &c->wait) || c->wait == IPC_WAIT_HYBRID || c->max_msg < 1 ||
	    svmsg_read_limits(&msgmax, &msgmnb, NULL) || c->max_msg > msgmax || c->max_msg > msgmnb) {
		fdio_err(err, SVMSG_NAME ": cannot import '%.80s' (want max=BYTES up to kernel.msgmax wait=block|spin timeout=MS qid=ID)",
			 text);
		free(c);
		return -EINVAL;
	}
	if (msgctl(c->qid, IPC_STAT, &ds) < 0) {
		ret = -errno;
		fdio_err(err, SVMSG_NAME ": queue %d: %s (a queue is reached on its creator's host only)", c->qid,
			 strerror(errno));
		free(c);
		return ret;
	}
	c->ctime = ds.msg_ctime;
	*chan = c;
	return 0;
}

const struct ipc_ops ipc_sysv_msg_ops = {
	.name = SVMSG_NAME,
	.summary = "SysV message queue, one msgsnd per message",
	.quick = IPC_QUICK_SMALL,
	.caps = svmsg_caps,
	.create = svmsg_create,
	.attach = svmsg_attach,
	.send = svmsg_send,
	.recv = svmsg_recv,
	.detach = svmsg_detach,
	.forget = svmsg_forget,
	.destroy = svmsg_destroy,
	.export_chan = svmsg_export,
	.import_chan = svmsg_import,
};
