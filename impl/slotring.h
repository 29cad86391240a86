/*
 * slotring.h - a bounded ring of fixed-size slots that any number of
 * senders and receivers share (Vyukov's MPMC queue: one sequence word per
 * slot), with a pluggable kernel wake-up.  Written once for the mechanisms
 * whose bytes move through memory and whose waits go through a kernel
 * object of their own: eventfd (the ring in a memfd, eventfd tokens),
 * sysv-shm (a SysV segment, SysV semaphore tokens) and cma (slots in the
 * receiver's private memory written with process_vm_writev, eventfd tokens).
 *
 * Shared control (struct slotring_ctl): tail and head counters and two
 * waiter counts, each on its own cache line, then one {seq, len} per slot.
 * The payload of slot i is at data + i * stride, where data is the
 * receiver's view (shared memory, or its private buffer for cma).
 *
 *   send: claim slot tail (its seq == tail) with a CAS on tail, copy the
 *         payload (memcpy, or the end's put() hook), store len, release
 *         seq = tail + 1; then, if a receiver sleeps (recv_waiters > 0 after
 *         a full fence), post one ITEMS token.
 *   recv: claim slot head (its seq == head + 1) with a CAS on head, check
 *         len against max_msg (shared memory is never trusted), copy out,
 *         release seq = head + nslots; then post a SPACE token if a sender
 *         sleeps.
 *
 * Waits: spin loops on the ring with cpu_relax() and no system call,
 * looking at the peers' liveness pipe and the deadline every
 * FDIO_SPIN_CHECK tries.  Block registers as a waiter (seq_cst increment),
 * re-checks the ring, then takes one token from the kernel object
 * (counting tokens: a post that races with the re-check leaves a token
 * behind, which costs one spurious wake-up later, never a lost one).  The
 * kernel wait has no notion of a dead peer, so a blocking end runs a
 * peerwatch thread (peerwatch.h) whose on_gone is slotring_on_gone(): it
 * sets the end's gone flag and posts a token, and the end says -EPIPE after
 * one more try finds nothing.
 *
 * Cost of one message: spin, none; block, one post when the other side
 * sleeps plus one wait when this side must sleep (ping-pong: one of each per
 * side and message).
 */
#ifndef IPCLAB_SLOTRING_H
#define IPCLAB_SLOTRING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "atomics.h"
#include "fdio.h"

/* Largest message: 1 MiB, as shmring (the largest size of the full
 * profile), so the rows compare up to it. */
#define SLOTRING_MAX_MSG ((size_t)1 << 20)
/* Depth 0: as many slots as fit SLOTRING_DEFAULT_BYTES, between
 * SLOTRING_MIN_SLOTS and SLOTRING_DEFAULT_SLOTS. */
#define SLOTRING_DEFAULT_BYTES ((size_t)1 << 20)
#define SLOTRING_DEFAULT_SLOTS 64u
#define SLOTRING_MIN_SLOTS 2u
/* At most 1 GiB of slots per channel: refused above (never clamped). */
#define SLOTRING_MAX_BYTES ((uint64_t)1 << 30)

struct slotring_slot {
	_Atomic uint64_t seq;
	_Atomic uint32_t len;
	uint32_t pad;
};

struct slotring_ctl {
	_Alignas(IPC_CACHELINE) _Atomic uint64_t tail;
	_Alignas(IPC_CACHELINE) _Atomic uint64_t head;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t recv_waiters;
	_Alignas(IPC_CACHELINE) _Atomic uint32_t send_waiters;
	_Alignas(IPC_CACHELINE) struct slotring_slot slot[];
};

enum slotring_which { SLOTRING_ITEMS = 0, SLOTRING_SPACE = 1 };

/* The kernel object behind the block wait: counting tokens. */
struct slotring_wake_ops {
	/* Take one token, sleeping until there is one.  0, -EINTR (the caller
	 * retries), -ETIMEDOUT, or -errno. */
	int (*wait)(void *ctx, enum slotring_which which);
	/* Add one token. */
	void (*post)(void *ctx, enum slotring_which which);
};

/* Tokens in two eventfds (EFD_SEMAPHORE): wake_ctx is int efd[2], indexed
 * by enum slotring_which.  wait is a blocking read(), post a write(). */
extern const struct slotring_wake_ops slotring_eventfd_wake;

struct slotring_end {
	struct slotring_ctl *ctl;
	unsigned char *data;     /* slot payloads as this process sees them */
	uint64_t mask;           /* nslots - 1 (a power of two) */
	size_t stride;           /* bytes per slot payload */
	size_t max_msg;
	int is_recv;
	int spin;
	unsigned timeout_ms;
	int peer_r;              /* liveness pipe of the other role (fdio.h) */
	atomic_int gone;         /* set by slotring_on_gone */
	const struct slotring_wake_ops *wake;
	void *wake_ctx;
	/* Sender only: copy len bytes to the payload at off; NULL: memcpy into
	 * data.  0 or -errno (then the slot is published empty and the send
	 * fails with that error). */
	int (*put)(void *ctx, size_t off, const void *buf, size_t len);
	void *put_ctx;
};

/*
 * Geometry for params: slots (a power of two, >= depth, >= 2), stride and
 * the control block's size.  0, or -EINVAL/-EMSGSIZE with a line in err
 * starting with name (ring over SLOTRING_MAX_BYTES).
 */
int slotring_geometry(const char *name, size_t max_msg, unsigned depth,
		      uint64_t *nslots, size_t *stride, size_t *ctl_size, char *err);
/* Set up a fresh control block for nslots. */
void slotring_init(struct slotring_ctl *c, uint64_t nslots);

/* One whole message.  As ipc_ops send/recv (ipc.h). */
int slotring_send(struct slotring_end *e, const void *buf, size_t len);
ssize_t slotring_recv(struct slotring_end *e, void *buf, size_t cap);

/* peerwatch on_gone for an end: sets gone, wakes this role's sleepers;
 * 1 while some are still asleep. */
int slotring_on_gone(void *end);

/* ---- what the slot-ring mechanisms (eventfd, sysv-shm, cma) share ------ */

struct peerwatch;

/* Per end, besides the ring: this role's liveness pipe and the other
 * role's (fdio.h), and for a blocking end the peer-watch thread that
 * wakes it when the other role is gone (peerwatch.h). */
struct slotring_link {
	int alive_w, peer_r;
	struct peerwatch *watch;
};

/* Nothing held yet (call before anything can fail). */
void slotring_link_reset(struct slotring_link *l);
/*
 * Join role's liveness pipes (child: this process is not the one that
 * created the channel), set e->peer_r, and for a blocking end (e->spin 0)
 * start the peer-watch thread on e, which must stay where it is until
 * slotring_link_detach.  0, or -errno with a line in err starting with
 * name; what was taken is released by slotring_link_detach.
 */
int slotring_link_attach(struct slotring_link *l, struct slotring_end *e, struct fdio_alive *alive,
			 enum ipc_role role, int child, const char *name, char *err);
/* Stop the thread, close the pipes. */
void slotring_link_detach(struct slotring_link *l);

/*
 * The channel of eventfd and cma: a memfd holding hdr_size bytes of the
 * mechanism's own, the control block, and (slots_in_memfd) the slots;
 * two eventfds (EFD_SEMAPHORE, indexed by enum slotring_which) for block
 * waits; liveness pipes.
 */
struct slotring_memfd_chan {
	int memfd;          /* -1 once forgotten */
	int efd[2];
	size_t hdr_size;    /* control block at this offset */
	size_t ctl_size, map_size, stride, max_msg;
	uint64_t nslots;
	pid_t creator;
	enum ipc_wait wait;
	unsigned timeout_ms;
	struct fdio_alive alive;
};

/* Check p against caps, lay out and initialise the memfd, make the
 * eventfds and pipes.  0, or -errno with a line in err starting with name;
 * on error nothing is left. */
int slotring_memfd_create(const char *name, const struct ipc_caps *caps, const struct ipc_params *p, size_t hdr_size,
			  int slots_in_memfd, struct slotring_memfd_chan **chan, char *err);
/* As ipc_ops forget / destroy. */
void slotring_memfd_forget(void *chan);
void slotring_memfd_destroy(void *chan);
/* In an attaching process: map the whole memfd (*map, munmap map_size)
 * and duplicate the eventfds into efd.  0, or -errno with a line in err
 * starting with name (what was taken is left for the caller to release:
 * *map NULL and efd -1 where nothing was). */
int slotring_memfd_open(const struct slotring_memfd_chan *c, void **map, int efd[2],
			const char *name, char *err);

#endif
