/*
 * fdio.h - what the kernel-backed mechanisms (pipe, fifo, unix-*, tcp, and
 * in part mqueue) share: a channel made of two file descriptors, framing
 * for byte streams, the two wait strategies, and parameter checks.
 *
 * Channel: fd[IPC_SEND] and fd[IPC_RECV], made in create (before fork).
 * attach() moves the role's descriptor from the channel into the end, so
 * detach() closes the only copy this process holds.  In a process other than
 * the creator (a forked child), attach() also closes the other role's
 * inherited descriptor, so a dead peer shows as EOF/EPIPE.  In the creating
 * process both are kept (the in-process micro benchmarks attach both ends);
 * a creator that takes part in a case calls forget() after its attach.
 * forget() closes whatever descriptors the channel still holds; destroy()
 * does that too, removes the fifo file and private directory, and frees.
 *
 * Framing (byte streams): struct fdio_hdr then the payload, sent with one
 * writev/sendmsg, so a frame of at most PIPE_BUF bytes is one atomic pipe
 * write.  recv reads whatever is there (one readv: the rest of the current
 * payload straight into the caller's buffer, anything after it into the
 * end's receive buffer of FDIO_RX_BUF bytes) and frames from that, so a
 * ping-pong costs one read per message and a stream of small messages one
 * read per batch; a payload longer than the caller's buffer is read and
 * thrown away (-EMSGSIZE) so the stream stays in sync.  A stream has one
 * receiving process (max_shared_recv 0): the receive buffer is private.  A frame cut short (timeout or error in the middle) leaves
 * the stream unusable: the end then returns -EPROTO for good.
 *
 * Waits:
 *   IPC_WAIT_BLOCK  blocking syscalls on the hot path (no poll() first).
 *                   Sockets honour timeout_ms with SO_RCVTIMEO/SO_SNDTIMEO.
 *                   Pipes and fifos have no free timeout: a dead peer shows
 *                   as EOF/EPIPE (once every process closed the ends it does
 *                   not use), a live but stuck peer is the harness watchdog's
 *                   business.
 *   IPC_WAIT_SPIN   O_NONBLOCK descriptors and a busy loop on EAGAIN; the
 *                   deadline is read only every FDIO_SPIN_CHECK tries.
 *
 * Liveness (struct fdio_alive): a message queue or a datagram socketpair
 * cannot tell that every process of the other role is gone.  Such a channel
 * also owns two pipes nobody writes to: each process attached as role R
 * holds the write end of pipe R, so the read end of pipe R shows POLLHUP
 * once no process of role R is left.  Only a waiting side looks (a blocking
 * wait sleeps in slices of at most FDIO_ALIVE_SLICE_MS, a spinning one looks
 * every FDIO_SPIN_CHECK tries), so the hot path pays nothing, and -EPIPE
 * comes after one last non-waiting try found nothing queued.
 */
#ifndef IPCLAB_FDIO_H
#define IPCLAB_FDIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "errline.h"
#include "ipc.h"
#include "names.h"

/* "IPC1" in memory on little-endian: a frame that does not start with it
 * means the stream lost sync (-EPROTO). */
#define FDIO_MAGIC 0x31435049u

struct fdio_hdr {
	uint32_t magic;
	uint32_t len; /* payload bytes, 1 .. the channel's max_msg */
};

#define FDIO_HDR_LEN sizeof(struct fdio_hdr)

/*
 * Largest message on a framed byte stream.  The stream itself has no limit;
 * 16 MiB is far above any size the suite sweeps (its long profile stops at
 * a few MiB), keeps the length in the 32-bit header, and bounds what a
 * corrupt header could make a receiver wait for.
 */
#define FDIO_STREAM_MAX_MSG (16u << 20)

/* Busy-poll tries between two reads of the clock: one try is a syscall
 * (~0.2-1 us), so the deadline is checked every ~50-250 us. */
#define FDIO_SPIN_CHECK 256u

/* Longest a blocking wait sleeps before it looks whether its peers are
 * still there: short enough that a dead peer is seen at once to a person,
 * long enough that an idle waiter costs nothing measurable. */
#define FDIO_ALIVE_SLICE_MS 100u

struct fdio_alive {
	int r[2]; /* [role]: POLLHUP once no process of that role holds w[role] */
	int w[2];
};

/* Receive buffer of a stream end: a pipe's default capacity, so one read
 * can empty a full default pipe. */
#define FDIO_RX_BUF (64u << 10)

struct fdio_chan {
	int fd[2];          /* [IPC_SEND], [IPC_RECV]; -1 once moved/closed */
	pid_t creator;      /* process that ran create */
	int sock;           /* descriptors are sockets: send with MSG_NOSIGNAL */
	enum ipc_wait wait;
	unsigned timeout_ms;
	size_t max_msg;
	char path[IPC_PATH_MAX]; /* fifo file to unlink, "" if none */
	char dir[IPC_PATH_MAX];  /* private directory to remove, "" if none */
	int use_alive;      /* record sockets: liveness pipes in alive */
	struct fdio_alive alive;
	int exported;       /* made for another MPI rank (params.exported) */
};

struct fdio_end {
	int fd;
	int sock;
	int spin;
	int broken;         /* a frame was cut short: stream out of sync */
	unsigned timeout_ms;
	size_t max_msg;
	int alive_w;        /* this end's membership of its role, -1: none */
	int peer_r;         /* the other role's liveness, -1: not tracked */
	unsigned slice_ms;  /* block: what one EAGAIN means was slept */
	unsigned char *rx;  /* stream receive end (first recv allocates):
			       bytes read ahead ... */
	size_t rx_cap, rx_head, rx_tail; /* ... rx[rx_head..rx_tail) */
};

/* Deadline bookkeeping of one busy-poll wait; zero it before the loop. */
struct fdio_spin {
	unsigned tries;
	uint64_t deadline_ns; /* 0: not started */
};

/* State of one wait with liveness; zero it before the loop. */
struct fdio_wait {
	struct fdio_spin sp;
	unsigned n;
};

/* All four descriptors -1. */
void fdio_alive_reset(struct fdio_alive *a);
/* Make both pipes (O_CLOEXEC).  0 or -errno. */
int fdio_alive_open(struct fdio_alive *a);
/*
 * For an end of role: *alive_w takes w[role] from a (moved), *peer_r gets a
 * dup of r[other].  In a process other than the creator (child), also
 * close w[other], which only the other role may hold.  0 or -errno.
 */
int fdio_alive_attach(struct fdio_alive *a, enum ipc_role role, int child,
		      int *alive_w, int *peer_r);
void fdio_alive_close(struct fdio_alive *a);
/* 1 if no process of the role behind peer_r is left, else 0. */
int fdio_peer_gone(int peer_r);
/*
 * After an EAGAIN/ETIMEDOUT of a send or receive with liveness: 0 to wait
 * again, 1 when the peers are gone (try once more without waiting, then
 * -EPIPE), -ETIMEDOUT when timeout_ms passed, -EINTR when
 * ipc_abort_requested() (ipc.h: an MPI rank told to stop).  Block mode: each call is one
 * slice of slice_ms slept in the kernel.
 */
int fdio_wait_step(struct fdio_wait *w, int spin, unsigned timeout_ms,
		   unsigned slice_ms, int peer_r);
/* The slice a blocking wait with liveness sleeps for. */
unsigned fdio_alive_slice(unsigned timeout_ms);

/* One line into err (IPC_ERRLEN bytes; err may be NULL). */
/* Error lines: the shared formatter (errline.h) under the name fdio's
 * mechanisms use. */
#define fdio_err ipc_err

/* Read one unsigned number from a /proc or /sys file.  0 or -errno. */
int fdio_read_ulong(const char *path, unsigned long *out);

/* Set or clear O_NONBLOCK.  0 or -errno. */
int fdio_set_nonblock(int fd, int on);

/* CLOCK_MONOTONIC in ns. */
uint64_t fdio_now_ns(void);

/* Call after each EAGAIN of a busy poll: 0 to try again, -ETIMEDOUT when
 * timeout_ms (0: never) has passed since the first call. */
int fdio_spin_wait(struct fdio_spin *s, unsigned timeout_ms);

/*
 * Check params against caps (a mechanism's own): max_msg in 1..caps max,
 * senders/receivers >= 1 and shareable at that size, depth within
 * caps->max_depth when that is not 0, wait supported.  0, or -EINVAL,
 * -EMSGSIZE, -ENOTSUP with a line in err that starts with name.
 */
int fdio_check_params(const char *name, const struct ipc_caps *caps,
		      const struct ipc_params *p, char *err);

/* A new channel with no descriptors yet.  0 or -ENOMEM. */
int fdio_chan_new(const struct ipc_params *p, int sock, struct fdio_chan **out);

/*
 * Apply the wait strategy to both descriptors: O_NONBLOCK for spin; for a
 * blocking socket with timeout_ms, SO_SNDTIMEO on the send end and
 * SO_RCVTIMEO on the receive end.  0 or -errno (err says which).
 */
int fdio_chan_apply_wait(struct fdio_chan *c, const char *name, char *err);

/*
 * Pipes and fifos: grow the pipe buffer towards the bytes in flight wanted
 * (depth, or 1 when 0, frames of max_msg), at most fs.pipe-max-size.  A hint
 * only (a stream carries any size): failure is ignored.
 */
void fdio_grow_pipe(int fd, const struct ipc_params *p);

/*
 * Unix stream sockets: grow SO_SNDBUF of snd and SO_RCVBUF of rcv to hold
 * depth (1 when 0) frames of max_msg, at most net.core.wmem_max/rmem_max,
 * so one message is one sendmsg and never waits for the reader midway.  A
 * hint, like fdio_grow_pipe: failure is ignored.
 */
void fdio_grow_stream_sock(int snd, int rcv, const struct ipc_params *p);

/* One line: how every descriptor mechanism sizes its kernel buffers, with
 * the limits read from this machine (for the results' context). */
void fdio_describe_buffers(char *buf, size_t len);

/* Caps of a framed pipe or fifo. */
void fdio_pipe_caps(struct ipc_caps *caps);

/* ipc_ops members shared by every fdio mechanism. */
int fdio_attach(void *chan, enum ipc_role role, void **end, char *err);
void fdio_detach(void *end);
void fdio_forget(void *chan);
void fdio_destroy(void *chan);

/* Framed byte streams (pipe, fifo, unix-stream, tcp). */
int fdio_stream_send(void *end, const void *buf, size_t len);
ssize_t fdio_stream_recv(void *end, void *buf, size_t cap);

/* Kernel-kept boundaries (unix-dgram, unix-seqpacket). */
int fdio_dgram_send(void *end, const void *buf, size_t len);
ssize_t fdio_dgram_recv(void *end, void *buf, size_t cap);

/*
 * The table of a descriptor-based mechanism: its own name, summary, caps and
 * create; everything else is fdio's.  FRAMING is stream (length-framed byte
 * stream) or dgram (one kernel record per message).
 */
#define FDIO_OPS(NAME, SUMMARY, CAPS, CREATE, FRAMING) {	\
	.name = (NAME),						\
	.summary = (SUMMARY),					\
	.caps = (CAPS),						\
	.create = (CREATE),					\
	.attach = fdio_attach,					\
	.send = fdio_##FRAMING##_send,				\
	.recv = fdio_##FRAMING##_recv,				\
	.detach = fdio_detach,					\
	.forget = fdio_forget,					\
	.destroy = fdio_destroy,				\
}

#endif
