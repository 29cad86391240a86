/*
 * mqueue.c - POSIX message queues.
 *
 * The kernel keeps boundaries and hands each message whole to one
 * receiver, so any number of senders and receivers share one queue.
 *
 * Limits are read at run time and never clamped: a message over
 * fs.mqueue.msgsize_max, a depth over fs.mqueue.msg_max, or a queue over
 * RLIMIT_MSGQUEUE is refused with the limit, its value and how to raise it.
 * (root may pass the sysctls, up to the kernel's hard limits; we hold every
 * user to the same sysctls so results compare across accounts.)  depth 0
 * means fs.mqueue.msg_max.
 *
 * The name comes from ipc_unique_name() and is created O_EXCL, mode 0600;
 * it stays until destroy.  mqd_t is a descriptor on Linux and survives
 * fork: children use the inherited one (attach dup()s it so each end owns
 * its own).  Spin: the queue is opened O_NONBLOCK and EAGAIN is polled.
 * Block: mq_timedsend/mq_timedreceive in slices of FDIO_ALIVE_SLICE_MS (or
 * timeout_ms when shorter; the same syscall as mq_send/mq_receive, plus
 * one vDSO clock read).  A queue has no notion of its users, so the channel
 * carries fdio's liveness pipes (fdio.h): a waiting receiver says -EPIPE
 * once no sender is left and nothing is queued, a sender waiting on a full
 * queue says -EPIPE once no receiver is left.
 *
 * Export (ranks of an MPI job on one host): the creator publishes the
 * queue's name; an importer opens it by name (no O_CREAT).  The name is
 * unlinked by the destroy of the creator and of every importer (the first
 * wins; names are unique per run), so a killed rank's queue is removed by
 * the rank that imported it.  Liveness pipes cannot cross processes that
 * way, so an imported end has none (a dead rank ends the whole MPI job
 * anyway; a blocking wait ends on the rank's abort check, fdio.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"

/* A full RLIMIT_MSGQUEUE is retried this often, this long apart (2 s in
 * all: a concurrent run's case holds its queues for about that long). */
#define MQ_FULL_RETRIES 100
#define MQ_FULL_RETRY_NS 20000000L

#define MQ_SYS_MSG_MAX "/proc/sys/fs/mqueue/msg_max"
#define MQ_SYS_MSGSIZE_MAX "/proc/sys/fs/mqueue/msgsize_max"
/*
 * Bytes the kernel charges to RLIMIT_MSGQUEUE per queued message besides
 * its payload: struct msg_msg (48) plus one posix_msg_tree_node (40) on
 * 64-bit (ipc/mqueue.c, mqueue_get_inode), rounded up.
 */
#define MQ_PER_MSG_OVERHEAD 96u

struct mq_chan {
	mqd_t mqd;          /* -1 once forgotten */
	pid_t creator;
	struct fdio_alive alive;
	enum ipc_wait wait;
	unsigned timeout_ms;
	size_t max_msg;     /* the queue's mq_msgsize */
	char name[IPC_NAME_MAX];
	int imported;       /* opened by name (its destroy unlinks it too) */
};

struct mq_end {
	mqd_t mqd;
	int spin;
	unsigned timeout_ms;
	size_t max_msg;
	char *bounce;       /* max_msg bytes, for recv with cap < max_msg */
	int alive_w, peer_r; /* liveness (fdio.h) */
};

struct mq_limits {
	unsigned long msg_max, msgsize_max;
	struct rlimit rl;
};

static int mq_read_limits(struct mq_limits *l, char *err)
{
	int ret;

	ret = fdio_read_ulong(MQ_SYS_MSG_MAX, &l->msg_max);
	if (!ret)
		ret = fdio_read_ulong(MQ_SYS_MSGSIZE_MAX, &l->msgsize_max);
	if (ret) {
		fdio_err(err, "mqueue: cannot read fs.mqueue limits: %s", strerror(-ret));
		return ret;
	}
	if (getrlimit(RLIMIT_MSGQUEUE, &l->rl)) {
		ret = -errno;
		fdio_err(err, "mqueue: getrlimit(RLIMIT_MSGQUEUE): %s", strerror(errno));
		return ret;
	}
	return 0;
}

/* Bytes a queue of depth messages of size bytes is charged. */
static unsigned long long mq_queue_bytes(unsigned long depth, unsigned long size)
{
	return (unsigned long long)depth * (size + MQ_PER_MSG_OVERHEAD);
}

static int mq_caps(struct ipc_caps *caps, char *err)
{
	struct mq_limits l;
	int ret;

	memset(caps, 0, sizeof(*caps));
	ret = mq_read_limits(&l, err);
	if (ret)
		return ret;
	caps->max_msg = l.msgsize_max;
	/* One message of that size must also fit the per-user budget. */
	if (l.rl.rlim_cur != RLIM_INFINITY && mq_queue_bytes(1, caps->max_msg) > l.rl.rlim_cur)
		caps->max_msg = l.rl.rlim_cur > MQ_PER_MSG_OVERHEAD ?
			l.rl.rlim_cur - MQ_PER_MSG_OVERHEAD : 0;
	caps->max_shared_send = caps->max_msg;
	caps->max_shared_recv = caps->max_msg;
	caps->max_depth = (unsigned)l.msg_max;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
	return 0;
}

/* 0 or -errno; on error nothing is left. */
static int mq_create(const struct ipc_params *p, void **chan, char *err)
{
	struct mq_limits l;
	struct ipc_caps caps;
	struct mq_attr attr = { 0 };
	struct mq_chan *c;
	unsigned long depth;
	unsigned long long bytes;
	int ret;

	ret = mq_read_limits(&l, err);
	if (ret)
		return ret;
	if (p->max_msg > l.msgsize_max) {
		fdio_err(err, "mqueue: message size %zu exceeds fs.mqueue.msgsize_max = %lu; "
			 "raise it with: sysctl -w fs.mqueue.msgsize_max=%zu",
			 p->max_msg, l.msgsize_max, p->max_msg);
		return -EMSGSIZE;
	}
	if (p->depth > l.msg_max) {
		fdio_err(err, "mqueue: depth %u exceeds fs.mqueue.msg_max = %lu; "
			 "raise it with: sysctl -w fs.mqueue.msg_max=%u",
			 p->depth, l.msg_max, p->depth);
		return -EINVAL;
	}
	depth = p->depth ? p->depth : l.msg_max;
	bytes = mq_queue_bytes(depth, p->max_msg);
	if (l.rl.rlim_cur != RLIM_INFINITY && bytes > l.rl.rlim_cur) {
		fdio_err(err, "mqueue: a queue of %lu x %zu bytes needs ~%llu bytes, over "
			 "RLIMIT_MSGQUEUE = %llu; raise it with: ulimit -q %llu",
			 depth, p->max_msg, bytes, (unsigned long long)l.rl.rlim_cur, bytes);
		return -ENOMEM;
	}
	ret = mq_caps(&caps, err);
	if (!ret)
		ret = fdio_check_params("mqueue", &caps, p, err);
	if (ret)
		return ret;

	c = calloc(1, sizeof(*c));
	if (!c) {
		fdio_err(err, "mqueue: out of memory");
		return -ENOMEM;
	}
	c->wait = p->wait;
	c->timeout_ms = p->timeout_ms;
	c->max_msg = p->max_msg;
	c->creator = getpid();
	fdio_alive_reset(&c->alive);
	ret = fdio_alive_open(&c->alive);
	if (ret) {
		fdio_err(err, "mqueue: pipe: %s", strerror(-ret));
		goto err;
	}
	ret = ipc_unique_name(c->name, sizeof(c->name), "mq");
	if (ret) {
		fdio_err(err, "mqueue: queue name: %s", strerror(-ret));
		goto err;
	}
	attr.mq_maxmsg = (long)depth;
	attr.mq_msgsize = (long)p->max_msg;
	/* RLIMIT_MSGQUEUE counts every queue of this user, other runs' too
	 * (concurrent runs, tests next to a benchmark): when it is full, wait
	 * a little for their short-lived queues to go before failing. */
	for (unsigned tries = 0;; tries++) {
		c->mqd = mq_open(c->name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC |
				 (p->wait == IPC_WAIT_SPIN ? O_NONBLOCK : 0), 0600, &attr);
		if (c->mqd != (mqd_t)-1 || errno != EMFILE || tries >= MQ_FULL_RETRIES)
			break;
		nanosleep(&(struct timespec){ 0, MQ_FULL_RETRY_NS }, NULL);
	}
	if (c->mqd == (mqd_t)-1) {
		ret = -errno;
		if (errno == EMFILE)
			fdio_err(err, "mqueue: mq_open %s: %s (this user's queues together "
				 "exceed RLIMIT_MSGQUEUE = %llu bytes, or no descriptor left; "
				 "raise it with: ulimit -q)", c->name, strerror(errno),
				 (unsigned long long)l.rl.rlim_cur);
		else
			fdio_err(err, "mqueue: mq_open %s: %s", c->name, strerror(errno));
		goto err;
	}
	*chan = c;
	return 0;
err:
	fdio_alive_close(&c->alive);
	free(c);
	return ret;
}

static int mq_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct mq_chan *c = chan;
	struct mq_end *e;
	int ret;

	if (role != IPC_SEND && role != IPC_RECV) {
		fdio_err(err, "mqueue: bad role %d", (int)role);
		return -EINVAL;
	}
	if (c->mqd == (mqd_t)-1) {
		fdio_err(err, "mqueue: attach after forget");
		return -EBADF;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fdio_err(err, "mqueue: out of memory");
		return -ENOMEM;
	}
	e->spin = c->wait == IPC_WAIT_SPIN;
	e->timeout_ms = c->timeout_ms;
	e->max_msg = c->max_msg;
	e->alive_w = -1;
	e->peer_r = -1;
	e->mqd = fcntl(c->mqd, F_DUPFD_CLOEXEC, 0);
	if (e->mqd < 0) {
		ret = -errno;
		fdio_err(err, "mqueue: dup: %s", strerror(errno));
		goto err;
	}
	if (role == IPC_RECV) {
		e->bounce = malloc(c->max_msg);
		if (!e->bounce) {
			ret = -ENOMEM;
			fdio_err(err, "mqueue: out of memory");
			goto err;
		}
	}
	ret = fdio_alive_attach(&c->alive, role, ipc_attach_closes_other_ends(c->creator), &e->alive_w, &e->peer_r);
	if (ret) {
		fdio_err(err, "mqueue: dup: %s", strerror(-ret));
		goto err;
	}
	*end = e;
	return 0;
err:
	if (e->mqd >= 0)
		close(e->mqd);
	free(e->bounce);
	free(e);
	return ret;
}

/* Absolute CLOCK_REALTIME deadline ms from now (mq_timed*). */
static struct timespec mq_deadline(unsigned ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* A deadline already past: one try that does not wait. */
static const struct timespec mq_now_or_never = { 0, 0 };

static int mq_send_one(void *end, const void *buf, size_t len)
{
	struct mq_end *e = end;
	struct fdio_wait w = { 0 };
	unsigned slice = fdio_alive_slice(e->timeout_ms);
	struct timespec ts;
	int ret, r, last = 0;

	if (len == 0)
		return -EINVAL;
	if (len > e->max_msg)
		return -EMSGSIZE;
	for (;;) {
		if (last)
			r = mq_timedsend(e->mqd, buf, len, 0, &mq_now_or_never);
		else if (e->spin)
			r = mq_send(e->mqd, buf, len, 0);
		else
			r = (ts = mq_deadline(slice), mq_timedsend(e->mqd, buf, len, 0, &ts));
		if (r == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != ETIMEDOUT)
			return -errno;
		if (last)
			return -EPIPE;
		ret = fdio_wait_step(&w, e->spin, e->timeout_ms, slice, e->peer_r);
		if (ret < 0)
			return ret;
		last = ret;
	}
}

static ssize_t mq_recv_one(void *end, void *buf, size_t cap)
{
	struct mq_end *e = end;
	struct fdio_wait w = { 0 };
	unsigned slice = fdio_alive_slice(e->timeout_ms);
	struct timespec ts;
	/* mq_receive wants room for mq_msgsize: bounce when cap is smaller. */
	char *dst = cap >= e->max_msg ? buf : e->bounce;
	ssize_t n;
	int ret, last = 0;

	if (!dst)
		return -EBADF; /* a send end */
	for (;;) {
		if (last)
			n = mq_timedreceive(e->mqd, dst, e->max_msg, NULL, &mq_now_or_never);
		else if (e->spin)
			n = mq_receive(e->mqd, dst, e->max_msg, NULL);
		else
			n = (ts = mq_deadline(slice),
			     mq_timedreceive(e->mqd, dst, e->max_msg, NULL, &ts));
		if (n > 0)
			break;
		if (n == 0)
			return -EPROTO; /* we never send an empty message */
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != ETIMEDOUT)
			return -errno;
		if (last)
			return -EPIPE;
		ret = fdio_wait_step(&w, e->spin, e->timeout_ms, slice, e->peer_r);
		if (ret < 0)
			return ret;
		last = ret;
	}
	if (dst != buf) {
		if ((size_t)n > cap)
			return -EMSGSIZE;
		memcpy(buf, dst, (size_t)n);
	}
	return n;
}

static void mq_detach(void *end)
{
	struct mq_end *e = end;

	if (!e)
		return;
	close(e->mqd);
	if (e->alive_w >= 0)
		close(e->alive_w);
	if (e->peer_r >= 0)
		close(e->peer_r);
	free(e->bounce);
	free(e);
}

static void mq_forget(void *chan)
{
	struct mq_chan *c = chan;

	if (!c)
		return;
	if (c->mqd != (mqd_t)-1) {
		mq_close(c->mqd);
		c->mqd = (mqd_t)-1;
	}
	fdio_alive_close(&c->alive);
}

static void mq_destroy(void *chan)
{
	struct mq_chan *c = chan;

	if (!c)
		return;
	mq_forget(c);
	mq_unlink(c->name); /* imported too: see the top */
	free(c);
}

static int mq_export(void *chan, char *text, size_t cap, char *err)
{
	const struct mq_chan *c = chan;
	int n;

	if (c->imported || c->mqd == (mqd_t)-1) {
		fdio_err(err, "mqueue: only its creator, before forget, can export it");
		return -EINVAL;
	}
	n = snprintf(text, cap, "max=%zu wait=%s timeout=%u name=%s", c->max_msg, ipc_wait_name(c->wait),
		     c->timeout_ms, c->name);
	if (n < 0 || (size_t)n >= cap) {
		fdio_err(err, "mqueue: export needs %d bytes, have %zu", n, cap);
		return -ENOSPC;
	}
	return 0;
}

/* The queue, opened by name (the creator's host only). */
static int mq_import(const char *text, void **chan, char *err)
{
	struct mq_chan *c = calloc(1, sizeof(*c));
	char wait[16];
	int off = 0, ret;

	if (!c) {
		fdio_err(err, "mqueue: out of memory");
		return -ENOMEM;
	}
	fdio_alive_reset(&c->alive);
	c->imported = 1;
	c->creator = getpid();
	if (sscanf(text, "max=%zu wait=%15s timeout=%u name=%n", &c->max_msg, wait, &c->timeout_ms, &off) != 3 ||
	    off <= 0 || text[off] != '/' || strlen(text + off) >= sizeof(c->name) ||
	    ipc_wait_parse(wait, &c->wait)) {
		fdio_err(err, "mqueue: cannot import '%.80s' (want max=BYTES wait=W timeout=MS name=/NAME)", text);
		free(c);
		return -EINVAL;
	}
	memcpy(c->name, text + off, strlen(text + off) + 1);
	c->mqd = mq_open(c->name, O_RDWR | O_CLOEXEC | (c->wait == IPC_WAIT_SPIN ? O_NONBLOCK : 0));
	if (c->mqd == (mqd_t)-1) {
		ret = -errno;
		fdio_err(err, "mqueue: mq_open %s: %s (a queue is reached on its creator's host only)", c->name,
			 strerror(errno));
		free(c);
		return ret;
	}
	*chan = c;
	return 0;
}

const struct ipc_ops ipc_mqueue_ops = {
	.name = "mqueue",
	.summary = "POSIX message queue, one message per mq_send",
	.caps = mq_caps,
	.create = mq_create,
	.attach = mq_attach,
	.send = mq_send_one,
	.recv = mq_recv_one,
	.detach = mq_detach,
	.forget = mq_forget,
	.destroy = mq_destroy,
	.export_chan = mq_export,
	.import_chan = mq_import,
};
