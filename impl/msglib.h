/*
 * msglib.h - what the messaging-library mechanisms (zmq-ipc, nng-ipc)
 * share: the channel's private directory of ipc:// socket files, receiver
 * numbering, liveness and the end-of-stream rules.
 *
 * Topology: one sender, one receiver, a pair socket: the receiver binds
 * ipc://DIR/r0, the sender connects.  Several senders or receivers on one
 * channel are refused (caps 0): push/pull keeps one queue per connection,
 * not one FIFO shared by the receivers, so the suite's shared-channel
 * contract does not hold (measured: the end markers of a 4 x 4 channel
 * overtook data still queued on other connections, and fan-in lost the
 * tail); the harness's fan-out then gives every consumer its own channel,
 * and fan-in is skipped with that reason.  DIR is a private directory
 * (0700) made by create; destroy removes the socket file (the library
 * unlinks it on a clean close; a SIGKILL leaves it) and the directory.
 *
 * Library state is made after fork, by attach, in the process that uses the
 * end, and torn down by the last detach of that process (the harness
 * creates channels before fork and may run an in-process micro benchmark
 * before forking workers: nothing of a library may cross a fork).
 *
 * Neither library tells a peer that the other side died (they reconnect),
 * so: the channel carries fdio's liveness pipes; blocking ends wait in
 * receive/send timeouts of FDIO_ALIVE_SLICE_MS and look at them, spinning
 * ends look every FDIO_SPIN_CHECK tries.  A sender's detach sends one empty
 * message (end-of-stream); the receiver says -EPIPE on it (it comes after
 * the data on the same connection).  After a SIGKILL (no end-of-stream),
 * a receiver whose sender is gone keeps taking what is still in flight
 * (inside the library's I/O threads) for MSGLIB_GRACE_MS, then says -EPIPE.
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
/* Messages queued per connection when depth is 0 (both libraries' own
 * defaults are about this: ZeroMQ's HWM is 1000). */
#define MSGLIB_DEFAULT_DEPTH 1000u
/* After the peers are gone without an end-of-stream, how long a receiver
 * still takes messages in flight before -EPIPE (long: on a loaded 2-CPU
 * machine the library's I/O thread may not run for a few hundred ms). */
#define MSGLIB_GRACE_MS 1000u
/* A sender that connects before its receiver has bound (both start at
 * once) tries again after this long; the libraries' default is 100 ms. */
#define MSGLIB_RECONNECT_MS 10

/* How long a closing sender may still deliver what it queued while its
 * receiver is alive (ZeroMQ's linger; 0 once the receiver is gone).  Long:
 * on a loaded machine a receiver took over 1 s to drain a full queue, and
 * the messages still queued when the linger ends are lost.  The harness
 * ends its rounds with nothing queued, so it never waits. */
#define MSGLIB_LINGER_MS 10000

struct msglib_chan {
	char dir[IPC_PATH_MAX];
	struct fdio_alive alive;
	atomic_uint *next_recv;  /* shared: receiver numbers handed out */
	pid_t creator;
	enum ipc_wait wait;
	unsigned timeout_ms, senders, receivers, depth;
	size_t max_msg;
	int forgotten;
};

/* What an end of either library keeps besides its socket. */
struct msglib_end {
	int is_recv;
	int spin;
	unsigned timeout_ms, slice_ms;
	unsigned senders, receivers;
	unsigned recv_idx;        /* receiver: its endpoint number */
	size_t max_msg;
	int alive_w, peer_r;
	int eos;                  /* receiver: end-of-stream taken */
	struct fdio_wait w;       /* the current wait */
	uint64_t grace_end;
};

/* caps of either library. */
void msglib_caps(struct ipc_caps *caps);
/* Check params, make the directory, pipes and counter.  0 or -errno with
 * err (name first); on error nothing is left. */
int msglib_create(const char *name, const struct ipc_params *p, struct msglib_chan **out,
		  char *err);
void msglib_forget(struct msglib_chan *c);
void msglib_destroy(struct msglib_chan *c);
/* "ipc://DIR/rN".  0 or -ENAMETOOLONG. */
int msglib_endpoint(const struct msglib_chan *c, unsigned n, char *buf, size_t len);
/* Fill e for role (liveness, receiver number).  0 or -errno with err. */
int msglib_attach(struct msglib_chan *c, const char *name, enum ipc_role role,
		  struct msglib_end *e, char *err);
void msglib_detach(struct msglib_end *e);
/* Before a new send or receive. */
void msglib_wait_reset(struct msglib_end *e);
/*
 * After a try found nothing (EAGAIN, or a timeout slice of a blocking
 * call): 0 to try again, or -EPIPE / -ETIMEDOUT to return.  A sender says
 * -EPIPE at once when its receivers are gone; a receiver after the grace.
 */
int msglib_wait(struct msglib_end *e);

#endif
