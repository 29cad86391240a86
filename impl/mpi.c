/*
 * mpi.c - a channel over MPI point-to-point messages between two ranks
 * (issue 17).  Built only when CMake finds Open MPI (or another MPI).
 *
 * A channel is one (sender rank, receiver rank, tag) triple on
 * MPI_COMM_WORLD; it names nothing outside MPI, so nothing can be left
 * behind.  Its ends live in MPI ranks, never in forked children (a child
 * forked after MPI_Init cannot become an MPI peer): the table says so with
 * ranks_only, create() refuses a channel whose ranks are not two distinct
 * ranks of a running MPI job (-ENOTSUP, so a forked pool's case is skipped
 * with that line), and one rank creates a channel and export()s it as a
 * line of text that the other ranks import().
 *
 * Waits.  Open MPI's blocking calls busy-poll, so:
 *   spin    MPI_Isend or MPI_Irecv, then MPI_Test in a busy loop: what
 *           MPI_Send / MPI_Recv do inside, but a wait that can end (the
 *           channel's timeout, and ipc_abort_requested(): a rank told to
 *           stop while its peer is dead must not spin until SIGKILL);
 *   hybrid  the same, spinning for MPI_HYBRID_SPIN_NS and then sleeping
 *           MPI_HYBRID_NAP_NS between tests (a rank waiting this way uses
 *           little CPU);
 *   block   none: MPI has no call that sleeps in the kernel until a
 *           message arrives.
 *
 * Limits, stated rather than hidden:
 *   - one sender and one receiver per channel;
 *   - messages up to MPI_CHAN_MAX_MSG bytes (16 MiB; MPI counts are int);
 *   - a dead peer: Open MPI's default error handler (MPI_ERRORS_ARE_FATAL)
 *     and mpirun end the whole job, so send/recv never report -EPIPE for a
 *     killed peer (the dead-peer conformance checks are skipped for mpi);
 *   - a sender that detaches sends an empty message: the receiver's next
 *     recv returns -EPIPE (the clean end of stream);
 *   - timeout_ms: receives honour it (the receive is cancelled); sends
 *     wait for their peer without a limit; both end with -EINTR when
 *     ipc_abort_requested() (a pending send is then left to the job's end).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mpi.h>

#include "errline.h"
#include "ipc.h"

#define MPI_CHAN_NAME "mpi"
/* Largest message: MPI counts are int, so MPI itself stops below 2 GiB;
 * 16 MiB is the largest any other mechanism carries here, so --size
 * accepts what it did before mpi was built. */
#define MPI_CHAN_MAX_MSG ((size_t)16 << 20)
/* Channel tags start here (MPI guarantees tags up to 32767); tags below
 * are left to whoever drives the ranks (control, gathering). */
#define MPI_CHAN_TAG_BASE 1024
/* hybrid: test without sleeping this long, then nap between tests. */
#define MPI_HYBRID_SPIN_NS 20000
#define MPI_HYBRID_NAP_NS 20000

struct mpi_chan {
	int tag, send_rank, recv_rank;
	size_t max_msg;
	enum ipc_wait wait;
	unsigned timeout_ms;
};

struct mpi_end {
	struct mpi_chan c;
	enum ipc_role role;
};

static uint64_t mpi_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Is MPI up in this process?  Then *size = ranks in the job. */
static int mpi_running(int *size)
{
	int up = 0, down = 0;

	MPI_Initialized(&up);
	if (up)
		MPI_Finalized(&down);
	if (!up || down)
		return 0;
	MPI_Comm_size(MPI_COMM_WORLD, size);
	return 1;
}

static int mpi_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = MPI_CHAN_MAX_MSG;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_SPIN) | IPC_WAIT_BIT(IPC_WAIT_HYBRID);
	caps->keeps_boundaries = 1;
	return 0;
}

/* Check a channel's description against the job.  0 or -errno with err. */
static int mpi_check(const struct mpi_chan *c, unsigned senders, unsigned receivers, char *err)
{
	int size = 0;

	if (c->max_msg < 1 || c->max_msg > MPI_CHAN_MAX_MSG) {
		ipc_err(err, MPI_CHAN_NAME ": message size %zu out of range 1..%zu", c->max_msg,
			MPI_CHAN_MAX_MSG);
		return c->max_msg < 1 ? -EINVAL : -EMSGSIZE;
	}
	if (senders != 1 || receivers != 1) {
		ipc_err(err, MPI_CHAN_NAME ": one sender and one receiver per channel (asked for %u and %u)",
			senders, receivers);
		return -ENOTSUP;
	}
	if (c->wait != IPC_WAIT_SPIN && c->wait != IPC_WAIT_HYBRID) {
		ipc_err(err, MPI_CHAN_NAME ": wait '%s' not supported (MPI has no call that sleeps until a message arrives: spin and hybrid only)",
			ipc_wait_name(c->wait));
		return -ENOTSUP;
	}
	if (!mpi_running(&size)) {
		ipc_err(err, MPI_CHAN_NAME ": its ends are MPI ranks, not forked processes: the suite's pools cannot run it (build/mpi/mpi_ranks does, under mpirun -n 2)");
		return -ENOTSUP;
	}
	if (c->send_rank < 0 || c->recv_rank < 0 || c->send_rank >= size || c->recv_rank >= size ||
	    c->send_rank == c->recv_rank) {
		ipc_err(err, MPI_CHAN_NAME ": ends on ranks %d and %d: need two different ranks of 0..%d",
			c->send_rank, c->recv_rank, size - 1);
		return -ENOTSUP;
	}
	return 0;
}

/* Tags of the channels this process created (one creating rank exports
 * them all, so they are unique in the job).  Per process by nature. */
static int mpi_next_tag = MPI_CHAN_TAG_BASE;

static int mpi_create(const struct ipc_params *p, void **chan, char *err)
{
	struct mpi_chan *c, want = {
		.send_rank = p->send_rank, .recv_rank = p->recv_rank, .max_msg = p->max_msg,
		.wait = p->wait, .timeout_ms = p->timeout_ms,
	};
	int rc = mpi_check(&want, p->senders, p->receivers, err);
	int *tag_ub = NULL, flag = 0;

	if (rc)
		return rc;
	MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &tag_ub, &flag);
	if (flag && tag_ub && mpi_next_tag > *tag_ub) {
		ipc_err(err, MPI_CHAN_NAME ": out of tags (MPI_TAG_UB %d)", *tag_ub);
		return -ENOSPC;
	}
	c = malloc(sizeof(*c));
	if (!c) {
		ipc_err(err, MPI_CHAN_NAME ": out of memory");
		return -ENOMEM;
	}
	*c = want;
	c->tag = mpi_next_tag++;
	*chan = c;
	return 0;
}

static int mpi_export(void *chan, char *text, size_t cap, char *err)
{
	const struct mpi_chan *c = chan;
	int n = snprintf(text, cap, "tag=%d send=%d recv=%d max=%zu wait=%s timeout=%u", c->tag,
			 c->send_rank, c->recv_rank, c->max_msg, ipc_wait_name(c->wait), c->timeout_ms);

	if (n < 0 || (size_t)n >= cap) {
		ipc_err(err, MPI_CHAN_NAME ": export needs %d bytes, have %zu", n, cap);
		return -ENOSPC;
	}
	return 0;
}

static int mpi_import(const char *text, void **chan, char *err)
{
	struct mpi_chan *c, got = { 0 };
	char wait[16];
	int rc;

	if (sscanf(text, "tag=%d send=%d recv=%d max=%zu wait=%15s timeout=%u", &got.tag,
		   &got.send_rank, &got.recv_rank, &got.max_msg, wait, &got.timeout_ms) != 6 ||
	    ipc_wait_parse(wait, &got.wait) || got.tag < MPI_CHAN_TAG_BASE) {
		ipc_err(err, MPI_CHAN_NAME ": cannot import '%.80s' (want tag=N send=RANK recv=RANK max=BYTES wait=W timeout=MS)",
			text);
		return -EINVAL;
	}
	rc = mpi_check(&got, 1, 1, err);
	if (rc)
		return rc;
	c = malloc(sizeof(*c));
	if (!c) {
		ipc_err(err, MPI_CHAN_NAME ": out of memory");
		return -ENOMEM;
	}
	*c = got;
	*chan = c;
	return 0;
}

static int mpi_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	const struct mpi_chan *c = chan;
	struct mpi_end *e;
	int me = -1;

	if (role != IPC_SEND && role != IPC_RECV) {
		ipc_err(err, MPI_CHAN_NAME ": bad role %d", (int)role);
		return -EINVAL;
	}
	MPI_Comm_rank(MPI_COMM_WORLD, &me);
	if (me != (role == IPC_SEND ? c->send_rank : c->recv_rank)) {
		ipc_err(err, MPI_CHAN_NAME ": rank %d attaches as %s, but the channel's %s is rank %d", me,
			role == IPC_SEND ? "sender" : "receiver", role == IPC_SEND ? "sender" : "receiver",
			role == IPC_SEND ? c->send_rank : c->recv_rank);
		return -EINVAL;
	}
	e = malloc(sizeof(*e));
	if (!e) {
		ipc_err(err, MPI_CHAN_NAME ": out of memory");
		return -ENOMEM;
	}
	e->c = *c;
	e->role = role;
	*end = e;
	return 0;
}

/* Tests between two looks at the clock and the abort check in a spin wait
 * (an MPI_Test costs tens of ns; the clock and the check cost about as
 * much, so a spin looks at them rarely). */
#define MPI_SPIN_TESTS 64

/* Test until req completes: busy (spin), or spinning first and then
 * napping (hybrid).  0; -ETIMEDOUT after timeout_ms (0: none) or -EINTR
 * when ipc_abort_requested(), with req still pending. */
static int mpi_wait(MPI_Request *req, MPI_Status *st, enum ipc_wait wait, unsigned timeout_ms)
{
	const struct timespec nap = { 0, MPI_HYBRID_NAP_NS };
	uint64_t t0 = mpi_now_ns(), now;
	int done = 0;

	for (;;) {
		for (unsigned i = 0; i < MPI_SPIN_TESTS; i++) {
			MPI_Test(req, &done, st);
			if (done)
				return 0;
			if (wait == IPC_WAIT_HYBRID)
				break;
		}
		if (ipc_abort_requested())
			return -EINTR;
		now = mpi_now_ns();
		if (timeout_ms && now - t0 >= (uint64_t)timeout_ms * 1000000u)
			return -ETIMEDOUT;
		if (wait == IPC_WAIT_HYBRID && now - t0 >= MPI_HYBRID_SPIN_NS)
			nanosleep(&nap, NULL);
	}
}

static int mpi_send(void *end, const void *buf, size_t len)
{
	struct mpi_end *e = end;
	MPI_Request req;

	if (e->role != IPC_SEND)
		return -EBADF;
	if (len == 0)
		return -EINVAL;
	if (len > e->c.max_msg)
		return -EMSGSIZE;
	MPI_Isend(buf, (int)len, MPI_BYTE, e->c.recv_rank, e->c.tag, MPI_COMM_WORLD, &req);
	return mpi_wait(&req, MPI_STATUS_IGNORE, e->c.wait, 0);
}

/* A message longer than cap (a caller that passes less than max_msg):
 * take it whole, drop it, -EMSGSIZE. */
static ssize_t mpi_recv_checked(struct mpi_end *e, void *buf, size_t cap)
{
	const struct timespec nap = { 0, MPI_HYBRID_NAP_NS };
	uint64_t t0 = mpi_now_ns();
	MPI_Message msg;
	MPI_Status st;
	int flag = 0, count = 0;
	void *spill;

	for (;;) {
		MPI_Improbe(e->c.send_rank, e->c.tag, MPI_COMM_WORLD, &flag, &msg, &st);
		if (flag)
			break;
		if (ipc_abort_requested())
			return -EINTR;
		if (e->c.timeout_ms && mpi_now_ns() - t0 >= (uint64_t)e->c.timeout_ms * 1000000u)
			return -ETIMEDOUT;
		if (e->c.wait == IPC_WAIT_HYBRID)
			nanosleep(&nap, NULL);
	}
	MPI_Get_count(&st, MPI_BYTE, &count);
	if ((size_t)count <= cap) {
		MPI_Mrecv(buf, (int)cap, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
		return count > 0 ? count : -EPIPE;
	}
	spill = malloc((size_t)count);
	if (!spill)
		return -ENOMEM; /* the message stays matched: the channel is unusable */
	MPI_Mrecv(spill, count, MPI_BYTE, &msg, MPI_STATUS_IGNORE);
	free(spill);
	return -EMSGSIZE;
}

static ssize_t mpi_recv(void *end, void *buf, size_t cap)
{
	struct mpi_end *e = end;
	MPI_Request req;
	MPI_Status st;
	int count = 0, rc;

	if (e->role != IPC_RECV)
		return -EBADF;
	if (cap < e->c.max_msg)
		return mpi_recv_checked(e, buf, cap);
	MPI_Irecv(buf, (int)e->c.max_msg, MPI_BYTE, e->c.send_rank, e->c.tag, MPI_COMM_WORLD, &req);
	rc = mpi_wait(&req, &st, e->c.wait, e->c.timeout_ms);
	if (rc) {
		MPI_Cancel(&req);
		MPI_Wait(&req, MPI_STATUS_IGNORE);
		return rc;
	}
	MPI_Get_count(&st, MPI_BYTE, &count);
	return count > 0 ? count : -EPIPE; /* empty: the sender detached */
}

static void mpi_detach(void *end)
{
	struct mpi_end *e = end;
	char none = 0;

	if (!e)
		return;
	if (e->role == IPC_SEND) /* the end of the stream: an empty message */
		MPI_Send(&none, 0, MPI_BYTE, e->c.recv_rank, e->c.tag, MPI_COMM_WORLD);
	free(e);
}

static void mpi_forget(void *chan)
{
	(void)chan; /* nothing held: no descriptor, no mapping */
}

static void mpi_destroy(void *chan)
{
	free(chan);
}

const struct ipc_ops ipc_mpi_ops = {
	.name = MPI_CHAN_NAME,
	.summary = "MPI point-to-point between two ranks (MPI_Isend/MPI_Irecv completed by MPI_Test; ranks only)",
	.quick = IPC_QUICK_SMALL,
	.caps = mpi_caps,
	.create = mpi_create,
	.attach = mpi_attach,
	.send = mpi_send,
	.recv = mpi_recv,
	.detach = mpi_detach,
	.forget = mpi_forget,
	.destroy = mpi_destroy,
	.ranks_only = 1,
	.export_chan = mpi_export,
	.import_chan = mpi_import,
};
