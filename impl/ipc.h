/*
 * ipc.h - the one interface every IPC mechanism implements.
 *
 * A channel is ONE-WAY: senders put whole messages in, receivers take whole
 * messages out.  A duplex link (ping-pong) is two channels, exactly as a
 * duplex pipe is two pipes.  Keeping channels one-way lets every scenario be
 * a small graph of channels, written once for every mechanism.
 *
 * Life cycle (the harness drives it; impl/ never knows the harness):
 *
 *   parent:  ops->create(&params, &chan, err)      before fork
 *   fork...
 *   child:   ops->attach(chan, IPC_SEND or IPC_RECV, &end, err)
 *            ops->send(end, buf, len) / ops->recv(end, buf, cap)
 *            ops->detach(end)
 *   child:   ops->forget(chan)   for every channel it inherited but does not
 *                                use (closes inherited descriptors so a dead
 *                                peer is seen as EOF/EPIPE, unmaps memory)
 *   parent:  ops->forget(chan)   after all forks, if it does not use it
 *   parent:  ops->destroy(chan)  removes every name the channel created
 *                                (shm, mqueue, fifo and socket files), also
 *                                after forget(), also after a child died.
 *
 * A process may also attach in the parent without forking (the in-process
 * micro benchmarks do: attach both ends in one process).
 *
 * Errors are negative errno values.  Functions that can fail for a reason a
 * user must read (limits, permissions) also write one line into err
 * (IPC_ERRLEN bytes, may be NULL).  No function prints.
 */
#ifndef IPCLAB_IPC_H
#define IPCLAB_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define IPC_ERRLEN 256

/* How a send or receive waits when it cannot make progress. */
enum ipc_wait {
	IPC_WAIT_BLOCK = 0,  /* sleep in the kernel (blocking syscall, futex) */
	IPC_WAIT_SPIN = 1,   /* busy-poll: non-blocking calls in a loop */
	IPC_WAIT_HYBRID = 2, /* spin briefly, then sleep */
	IPC_WAIT_COUNT
};
#define IPC_WAIT_BIT(w) (1u << (w))

enum ipc_role { IPC_SEND = 0, IPC_RECV = 1 };

/*
 * What a mechanism can do on THIS machine (read from the system's limits at
 * run time, never hard-coded where the system has a knob).
 */
struct ipc_caps {
	size_t max_msg;        /* largest message one channel carries */
	size_t max_shared_send; /* largest message when several senders share
				   one channel; 0: one sender only */
	size_t max_shared_recv; /* same for several receivers; 0: one only */
	unsigned max_depth;    /* most messages in flight; 0: no fixed limit */
	unsigned waits;        /* IPC_WAIT_BIT() of every supported wait */
	int keeps_boundaries;  /* 1: the kernel keeps message boundaries;
				  0: a byte stream framed by the mechanism */
};

struct ipc_params {
	size_t max_msg;      /* largest message that will be sent (>= 1) */
	unsigned depth;      /* messages in flight wanted; 0: mechanism default */
	unsigned senders;    /* sender processes that will attach (>= 1) */
	unsigned receivers;  /* receiver processes that will attach (>= 1) */
	enum ipc_wait wait;
	unsigned timeout_ms; /* a send/recv that makes no progress this long
				returns -ETIMEDOUT; 0: wait forever.  A peer that
				died is reported (-EPIPE) as soon as the
				mechanism can tell, at the latest after this. */
	/* Mechanisms whose ends are MPI ranks (ipc_ops.ranks_only): the rank
	 * of the sender and of the receiver; unused by every other one. */
	int send_rank, recv_rank;
	/* 1: the channel will be exported to processes that did not inherit
	 * it (another MPI rank, maybe on another host): a network mechanism
	 * (tcp) makes no connected pair here but listens on this host's
	 * address, published by export_chan.  0: every channel of a forked
	 * pool. */
	int exported;
};

enum ipc_quick { IPC_QUICK_ALL = 0, IPC_QUICK_SMALL = 1 };
/* The one size IPC_QUICK_SMALL keeps. */
#define IPC_QUICK_SMALL_SIZE 64

struct ipc_ops {
	const char *name;    /* as in case names: "pipe", "shmring", ... */
	const char *summary; /* one line for --list and the report */
	/* Its share of the quick profile (the full profile runs everything):
	 * IPC_QUICK_ALL (0, the default) every case the profile makes;
	 * IPC_QUICK_SMALL only pingpong and stream at 64 bytes, each wait,
	 * unless the command line names the scenarios or sizes itself. */
	unsigned quick;
	/* Waits by yielding to the other coroutines of its thread
	 * (coroutine.h): the only kind that runs under --workers=coroutine. */
	bool yields;

	/* Fill caps from this machine's limits.  0 or -errno. */
	int (*caps)(struct ipc_caps *caps, char *err);

	/*
	 * Create a channel (names unique to it, created O_EXCL, mode 0600).
	 * Refuses params it cannot honour (size or depth over a limit, more
	 * senders/receivers than it supports, unsupported wait) with -EINVAL,
	 * -EMSGSIZE or -ENOTSUP and a line in err naming the limit; never
	 * clamps.  0 or -errno; on error nothing is left behind.
	 */
	int (*create)(const struct ipc_params *p, void **chan, char *err);

	/* In the process that will use it (usually a child after fork). */
	int (*attach)(void *chan, enum ipc_role role, void **end, char *err);

	/*
	 * Send one whole message of len bytes (1 <= len <= params.max_msg).
	 * 0, or -EINVAL (len 0), -EMSGSIZE (too long: nothing sent),
	 * -EPIPE (no receiver left), -ETIMEDOUT, -EPROTO, other -errno.
	 */
	int (*send)(void *end, const void *buf, size_t len);

	/*
	 * Receive one whole message into buf (cap bytes).  Returns its length
	 * (> 0), or -EMSGSIZE (longer than cap), -EPIPE (no sender left and
	 * nothing queued), -ETIMEDOUT, -EPROTO (corrupt channel state, e.g. a
	 * shared-memory index or length out of bounds), other -errno.
	 */
	ssize_t (*recv)(void *end, void *buf, size_t cap);

	void (*detach)(void *end);
	void (*forget)(void *chan);
	void (*destroy)(void *chan);

	/* 1: the channel's ends are MPI ranks (params.send_rank/recv_rank),
	 * never forked children: create() refuses with -ENOTSUP outside an
	 * MPI job, and the fork conformance suite skips the table (the MPI
	 * one, tests/mpi.t, runs it).  0: every other mechanism. */
	unsigned ranks_only;
	/* Export / import: a process that did not inherit the channel (another
	 * MPI rank) re-opens it from one line of text.  export writes that
	 * line (NUL-terminated, at most cap bytes); import makes a channel
	 * from it, to attach as usual and destroy after.  0 or -errno with a
	 * line in err.  NULL: the channel cannot leave its process tree. */
	int (*export_chan)(void *chan, char *text, size_t cap, char *err);
	int (*import_chan)(const char *text, void **chan, char *err);
	/* An imported channel's destroy releases only what import made; the
	 * names belong to the creator, whose destroy removes them. */
	/* No export step (export_chan NULL): why not, for the reason of a
	 * case skipped under MPI ranks, when it is more than "an inherited
	 * descriptor or an anonymous mapping"; NULL: that generic reason. */
	const char *no_export_why;
	/* 1: an exported channel has one receiving process, its creator (it
	 * holds the socket), even where caps allow several; ranks then get a
	 * channel each where a fan-out would share one.  0: as caps say. */
	unsigned char export_one_receiver;
	/* 1: likewise one sending process (its listener accepts one
	 * connection): such cases are skipped under ranks, with the reason. */
	unsigned char export_one_sender;
};

/* Small wrappers so callers read like prose. */
static inline int ipc_send(const struct ipc_ops *o, void *end, const void *b, size_t n)
{
	return o->send(end, b, n);
}

static inline ssize_t ipc_recv(const struct ipc_ops *o, void *end, void *b, size_t cap)
{
	return o->recv(end, b, cap);
}

/* registry.c */
extern const struct ipc_ops *const ipc_registry[]; /* NULL-terminated */
#define ipc_for_each(op) \
	for (const struct ipc_ops *const *op##_it = ipc_registry; ((op) = *op##_it) != NULL; op##_it++)

const struct ipc_ops *ipc_find(const char *name);

/*
 * A forked child that attaches one end of a channel closes the other end it
 * inherited (so a dead peer is seen as EOF/EPIPE).  A process whose threads
 * attach several ends of one channel (the thread pool backend) calls
 * ipc_set_shared_process() once, before any attach: attach then leaves the
 * ends it does not take to the threads that will, and an end that several
 * threads attach is a descriptor of each one's own.  Mechanisms ask
 * ipc_attach_closes_other_ends(pid that created the channel).
 */
void ipc_set_shared_process(void);
int ipc_in_shared_process(void);
int ipc_attach_closes_other_ends(pid_t creator);
/*
 * A process whose waits must end when it is told to stop (an MPI rank: a
 * peer that died never answers, and mpirun kills the job a second after
 * its SIGTERM) sets a check once; mechanisms that can wait without a
 * system call to interrupt (mpi) call ipc_abort_requested() while they
 * wait and return -EINTR when it is non-zero.  No check set: 0.
 */
void ipc_set_abort_check(int (*check)(void));
int ipc_abort_requested(void);
/* 1 once a check is set (in the process that set it, not in a child it
 * forked).  A signal to an MPI rank may land on one of the
 * MPI library's own threads, so a system call blocked in the rank's main
 * thread is not interrupted: a mechanism that blocks without a time limit
 * (peerwatch.h) then also looks at the check every so often. */
int ipc_abort_check_set(void);
const char *ipc_wait_name(enum ipc_wait w);          /* "block", "spin", "hybrid" */
int ipc_wait_parse(const char *s, enum ipc_wait *out); /* 0 or -EINVAL */

#endif
