/*
 * cma.c - cross-memory attach: the sender writes each message straight
 * into a buffer in the receiver's private memory with process_vm_writev(2);
 * a slot ring's control (slotring.h) in a shared memfd says which slots are
 * full, and eventfd tokens wake a sleeping side (as in eventfd.c).
 *
 * The receiver's attach allocates its slots (private, prefaulted) and
 * publishes its pid and their address in the shared header; a sender waits
 * for that (in slices, watching the receiver's liveness) before its first
 * message.  One sender and one receiver per channel: the slots belong to
 * one receiving process.
 *
 * One message costs one process_vm_writev(2) by the sender (the kernel
 * copies from the sender's buffer into the receiver's pages: one copy, as
 * shared memory's memcpy, plus the page pinning), plus, in block mode, one
 * eventfd write when the receiver sleeps and one read by a receiver that
 * must sleep; the receiver copies out of its own slot with memcpy.
 *
 * Limits: messages up to SLOTRING_MAX_MSG (1 MiB).  process_vm_writev
 * needs ptrace access to the receiver (PTRACE_MODE_ATTACH: the same user,
 * and with kernel.yama.ptrace_scope = 1 only an ancestor may write, so two
 * sibling workers get EPERM, which the send returns).  Dead peers: fdio's
 * liveness pipes, a peerwatch thread per
 * blocking end (peerwatch.h); a write into a receiver that is gone fails
 * with ESRCH (-EPIPE).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "slotring.h"

#define CMA_NAME "cma"
/* A sender looks whether the receiver has published its buffer this often
 * (only before its first message). */
#define CMA_READY_POLL_NS 100000L
#define CMA_HDR_SIZE 4096u

/* At the start of the shared memfd; the slot ring's control follows. */
struct cma_hdr {
	_Atomic uint32_t ready;   /* released after recv_pid and recv_base */
	int32_t recv_pid;
	uint64_t recv_base;
};


struct cma_end {
	struct slotring_end ring;
	struct cma_hdr *hdr;
	void *map;
	size_t map_size;
	void *slots;              /* receiver: its private slot memory */
	size_t slots_size;
	pid_t peer;               /* sender: the receiver, once ready */
	int efd[2];
	struct slotring_link link;
};

static int cma_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = SLOTRING_MAX_MSG;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
	return 0;
}

/* 0 or -errno; on error nothing is left.  The memfd holds the header and
 * the ring's control; the slots are the receiver's own memory. */
static int cma_create(const struct ipc_params *p, void **chan, char *err)
{
	struct slotring_memfd_chan *c = NULL;
	struct ipc_caps caps;
	int ret;

	cma_caps(&caps, NULL);
	ret = slotring_memfd_create(CMA_NAME, &caps, p, CMA_HDR_SIZE, 0, &c, err);
	if (ret == 0)
		*chan = c;
	return ret;
}

/* The sender's put hook: straight into the receiver's slot. */
static int cma_put(void *ctx, size_t off, const void *buf, size_t len)
{
	struct cma_end *e = ctx;
	struct iovec local = { (void *)buf, len };
	struct iovec remote = { (void *)(uintptr_t)(e->hdr->recv_base + off), len };
	ssize_t n = process_vm_writev(e->peer, &local, 1, &remote, 1, 0);

	if (n == (ssize_t)len)
		return 0;
	if (n >= 0)
		return -EIO; /* a partial write: the receiver's mapping changed */
	return errno == ESRCH ? -EPIPE : -errno;
}

static void cma_detach(void *end)
{
	struct cma_end *e = end;

	if (!e)
		return;
	slotring_link_detach(&e->link);
	if (e->map)
		munmap(e->map, e->map_size);
	if (e->slots)
		munmap(e->slots, e->slots_size);
	for (int i = 0; i < 2; i++)
		if (e->efd[i] >= 0)
			close(e->efd[i]);
	free(e);
}

static int cma_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct slotring_memfd_chan *c = chan;
	struct cma_end *e;
	int ret;

	if (role != IPC_SEND && role != IPC_RECV) {
		fdio_err(err, CMA_NAME ": bad role %d", (int)role);
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fdio_err(err, CMA_NAME ": out of memory");
		return -ENOMEM;
	}
	slotring_link_reset(&e->link);
	e->map_size = c->map_size;
	ret = slotring_memfd_open(c, &e->map, e->efd, CMA_NAME, err);
	if (ret)
		goto err;
	e->hdr = e->map;
	if (role == IPC_RECV) {
		e->slots_size = (size_t)c->nslots * c->stride;
		e->slots = mmap(NULL, e->slots_size, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (e->slots == MAP_FAILED) {
			e->slots = NULL;
			ret = -errno;
			fdio_err(err, CMA_NAME ": mmap %zu bytes of slots: %s", e->slots_size,
				 strerror(errno));
			goto err;
		}
	}
	e->ring = (struct slotring_end){
		.ctl = (struct slotring_ctl *)((char *)e->map + CMA_HDR_SIZE),
		.data = e->slots,
		.mask = c->nslots - 1,
		.stride = c->stride,
		.max_msg = c->max_msg,
		.is_recv = role == IPC_RECV,
		.spin = c->wait == IPC_WAIT_SPIN,
		.timeout_ms = c->timeout_ms,
		.wake = &slotring_eventfd_wake,
		.wake_ctx = e->efd,
		.put = role == IPC_SEND ? cma_put : NULL,
		.put_ctx = e,
	};
	ret = slotring_link_attach(&e->link, &e->ring, &c->alive, role, getpid() != c->creator,
				   CMA_NAME, err);
	if (ret)
		goto err;
	if (role == IPC_RECV) {
		e->hdr->recv_pid = (int32_t)getpid();
		e->hdr->recv_base = (uint64_t)(uintptr_t)e->slots;
		atomic_store_explicit(&e->hdr->ready, 1, memory_order_release);
	}
	*end = e;
	return 0;
err:
	cma_detach(e);
	return ret;
}

/* Before a sender's first message: the receiver's pid and buffer.  0, or
 * -EPIPE (receiver gone), -ETIMEDOUT. */
static int cma_wait_ready(struct cma_end *e)
{
	const struct timespec nap = { 0, CMA_READY_POLL_NS };
	uint64_t deadline = e->ring.timeout_ms ?
		fdio_now_ns() + (uint64_t)e->ring.timeout_ms * 1000000u : 0;

	while (!atomic_load_explicit(&e->hdr->ready, memory_order_acquire)) {
		if (fdio_peer_gone(e->link.peer_r))
			return -EPIPE;
		if (deadline && fdio_now_ns() >= deadline)
			return -ETIMEDOUT;
		nanosleep(&nap, NULL);
	}
	e->peer = (pid_t)e->hdr->recv_pid;
	return 0;
}

static int cma_send(void *end, const void *buf, size_t len)
{
	struct cma_end *e = end;

	if (!e->peer && !e->ring.is_recv && len >= 1 && len <= e->ring.max_msg) {
		int ret = cma_wait_ready(e);

		if (ret)
			return ret;
	}
	return slotring_send(&e->ring, buf, len);
}

static ssize_t cma_recv(void *end, void *buf, size_t cap)
{
	return slotring_recv(&((struct cma_end *)end)->ring, buf, cap);
}

const struct ipc_ops ipc_cma_ops = {
	.name = CMA_NAME,
	.summary = "process_vm_writev into the receiver's private slots, eventfd wake-ups",
	.quick = IPC_QUICK_SMALL,
	.caps = cma_caps,
	.create = cma_create,
	.attach = cma_attach,
	.send = cma_send,
	.recv = cma_recv,
	.detach = cma_detach,
	.forget = slotring_memfd_forget,
	.destroy = slotring_memfd_destroy,
	.no_export_why = "its ring control and wake-ups are an unnamed memfd and eventfds, held only by inheritance; and process_vm_writev needs ptrace rights over the receiving rank, which Yama (ptrace_scope >= 1) denies a sibling rank",
};
