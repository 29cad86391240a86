/*
 * msglib.h - what the messaging-library mechanisms (zmq-ipc, nng-ipc)
 * share: the channel's private directory for the ipc:// socket file,
 * liveness, and the end-of-stream handshake.
 *
 * Topology: one sender, one receiver, one pair socket each: the receiver
 * binds ipc://DIR/s, the sender connects.  Several senders or receivers on
 * one channel are refused (caps 0): PUSH/PULL keeps one queue per
 * connection, so it is not one FIFO shared by the receivers (PUSH deals
 * round-robin and skips a full queue, so N messages in a row need not
 * reach N receivers: the harness's one stop message per consumer and the
 * conformance suite's end markers cannot be promised), nor one order
 * across senders (PULL fair-queues: a message sent after another sender's
 * returned may come first).  The harness's fan-out then gives each
 * consumer its own channel, dealt round-robin as PUSH would, and fan-in is
 * skipped with that reason.  DIR is a private directory (0700, tracked by
 * names.c so an emergency exit removes it); destroy removes the socket file
 * and the directory.
 *
 * Library state is made after fork, by attach, in the process that uses the
 * end, and ended by the last detach of that process.
 *
 * End of stream.  Neither library says that a peer went away (they
 * reconnect), and closing a socket while messages are still queued on
 * either side loses them (ZeroMQ PAIR lost the last 300-1000 messages of
 * the conformance suite's 100 000 in about 1 of 3 loaded runs even with a
 * 10 s linger; nng has no linger at all).  So a channel carries, besides
 * fdio's liveness pipes, one shared page in which the receiver counts the
 * data messages it took and the sender, when it detaches, publishes how
 * many it sent.  The sender's detach then sends an in-band end-of-stream
 * (an empty message: data is never empty) and waits, before it closes its
 * socket, until the receiver has taken every data message, has detached,
 * or is gone (liveness); never for a fixed time.  So nothing is queued
 * when the connection closes, and the linger is 0.  The receiver says
 * -EPIPE on the end-of-stream message, or as soon as the published count
 * is all taken (when the end-of-stream message could not be queued: a full
 * queue), or, after a SIGKILL of the sender (no count), once the liveness
 * pipe says it is gone and one last try found nothing.
 *
 * Exported (ipc_params.exported: ranks of an MPI job, issue 17): the
 * endpoint is an address in Linux's abstract namespace,
 * "ipc://@ipclab-NAME-PID-SEQ-RANDOM" (no directory, no file: nothing is
 * left behind, even by a SIGKILL), published with the host name; an
 * importer on another host is refused with that reason (ipc:// is reached
 * on one host only; these mechanisms are the ipc:// rows, a tcp://
 * transport would be another mechanism).  Neither the shared page nor the
 * liveness pipes cross ranks: each end keeps a page of its own, so the
 * sender's detach cannot see what the receiver took and does not drain
 * (a rank's rounds end only once the receiver took each round's
 * messages, so nothing is queued at a case's end); it sends the
 * end-of-stream message and closes with a linger of MSGLIB_EXPORT_LINGER_MS
 * so that message still leaves.  A dead rank ends the whole job (mpirun).
 */
#ifndef IPCLAB_MSGLIB_H
#define IPCLAB_MSGLIB_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "fdio.h"

/* Largest message: 1 MiB, the largest size of the full profile (neither
 * library has a limit of its own; the receivers enforce this one). */
#define MSGLIB_MAX_MSG ((size_t)1 << 20)
/* Messages queued per connection when depth is 0 (ZeroMQ's default HWM). */
#define MSGLIB_DEFAULT_DEPTH 1000u
/* A sender that connects before its receiver has bound (both start at
 * once) tries again after this long; the libraries' default is 100 ms. */
#define MSGLIB_RECONNECT_MS 10
/* The drain of a sender's detach looks at the receiver's count this often
 * (a poll on the receiver's liveness pipe, so its death ends it at once). */
#define MSGLIB_DRAIN_POLL_MS 1
/* An exported sender's linger: how long its close may wait to deliver the
 * end-of-stream message (it cannot see the receiver, see above). */
#define MSGLIB_EXPORT_LINGER_MS 1000

/* The page the two ends share (MAP_SHARED, made by create before fork).
 * taken is written by the receiver only, the rest by the sender only (once,
 * in detach) but for recv_gone: each on its own cache line. */
struct msglib_shared {
	_Alignas(64) atomic_ullong taken; /* data messages the receiver took */
	_Alignas(64) atomic_ullong sent;  /* data messages sent: final once done */
	atomic_uint sender_done;          /* the sender detached; sent is final */
	atomic_uint sender_closed;        /* ... and closed its socket */
	_Alignas(64) atomic_uint recv_gone; /* the receiver detached */
};

struct msglib_chan {
	char dir[IPC_PATH_MAX];
	struct fdio_alive alive;
	struct msglib_shared *sh;
	pid_t creator;
	enum ipc_wait wait;
	unsigned timeout_ms, depth;
	size_t max_msg;
	int forgotten;
	int exported;       /* 1: made for export (abstract ep), 2: imported */
	char ep[IPC_NAME_MAX + 16]; /* exported: the endpoint, "ipc://@..." */
};

/* What an end of either library keeps besides its socket. */
struct msglib_end {
	struct msglib_shared *sh;
	int is_recv;
	int spin;
	unsigned timeout_ms, slice_ms;
	size_t max_msg;
	int alive_w, peer_r;
	int eos;            /* receiver: the end of the stream was seen */
	uint64_t count;     /* data messages sent (sender) or taken (receiver) */
	struct fdio_wait w; /* the current wait */
	int exported;       /* its channel crosses ranks: no shared page, no liveness */
};

/* caps of either library; max_depth is the library's (0: none). */
void msglib_caps(struct ipc_caps *caps, unsigned max_depth);
/* Check params, make the directory, pipes and shared page.  0 or -errno
 * with err (name first); on error nothing is left. */
int msglib_create(const char *name, const struct ipc_params *p, unsigned max_depth,
		  struct msglib_chan **out, char *err);
void msglib_forget(struct msglib_chan *c);
void msglib_destroy(struct msglib_chan *c);
/* Export: "host=H ep=ipc://@NAME max=... depth=... wait=... timeout=...".
 * Import: a channel for it, on the creator's host only.  0 or -errno with
 * err. */
int msglib_export(const struct msglib_chan *c, const char *name, char *text, size_t cap, char *err);
int msglib_import(const char *name, const char *text, struct msglib_chan **out, char *err);
/* "ipc://DIR/s" (exported: its abstract endpoint).  0 or -ENAMETOOLONG. */
int msglib_endpoint(const struct msglib_chan *c, char *buf, size_t len);
/* Fill e for role (liveness, shared page).  0 or -errno with err. */
int msglib_attach(struct msglib_chan *c, const char *name, enum ipc_role role,
		  struct msglib_end *e, char *err);
/* Receiver: its detach tells a draining sender; both: close the pipes. */
void msglib_detach(struct msglib_end *e);
/* Before a new send or receive. */
void msglib_wait_reset(struct msglib_end *e);
/*
 * After a try found nothing (EAGAIN, or a timeout slice of a blocking
 * call): 0 to try again, 1 to try once more without waiting and then say
 * -EPIPE (the peer is gone), or -EPIPE / -ETIMEDOUT to return at once.
 */
int msglib_wait(struct msglib_end *e);
/* Receiver: a data message was taken. */
static inline void msglib_took(struct msglib_end *e)
{
	atomic_store_explicit(&e->sh->taken, ++e->count, memory_order_release);
}
/* Receiver: the sender detached and every message it sent was taken. */
int msglib_sender_finished(const struct msglib_end *e);
/* Sender, in detach: publish the count (before the end-of-stream message
 * is sent, so a receiver that takes it may rely on it). */
void msglib_publish(struct msglib_end *e);
/* Sender, in detach, after the end-of-stream message: wait until the
 * receiver took every message, detached or is gone; or, with a timeout,
 * until it made no progress for that long. */
void msglib_drain(struct msglib_end *e);
/* Sender, in detach, once its socket is closed. */
void msglib_closed(struct msglib_end *e);
/* Receiver, in detach, before it closes its socket (nng): tell a draining
 * sender (recv_gone), then wait until the sender closed its socket and
 * *conns (the library's count of this end's connections, NULL: none
 * kept) is 0, or the sender is gone, or (with a timeout) that long passed. */
void msglib_recv_linger(struct msglib_end *e, const atomic_int *conns);

#endif
