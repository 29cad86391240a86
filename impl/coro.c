/*
 * coro.c - a ring of message slots in shared memory whose waits yield:
 * under --workers=coroutine the waiting end lets the other coroutines of
 * its thread run (coroutine.h), so a hand-off costs two user-space context
 * switches and no system call.  Outside a coroutine it still works, as a
 * ring whose waits spin with sched_yield().
 *
 * One sender and one receiver per channel.  The ring is a MAP_SHARED
 * anonymous mapping made before fork (no name anywhere: nothing to leak).
 * Indices are free-running 32-bit counters (the futex word size the
 * scheduler sleeps on): tail written by the sender, head by the receiver,
 * each on its own cache line; a receiver never trusts a length read from
 * the ring without a bounds check.
 *
 * Waits: block and spin are the same, a yield (there is no one to wake:
 * the peer is a coroutine of the same thread, or spins itself outside
 * one).  A detached peer is seen at once (-EPIPE); a peer that stops
 * answering after timeout_ms (-ETIMEDOUT).
 *
 * Limits: messages up to CORO_MAX_MSG; depth up to CORO_MAX_DEPTH.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "atomics.h"
#include "coroutine.h"
#include "ipc.h"

#define CORO_NAME "coro"
#define CORO_MAX_MSG (1024u * 1024u)
#define CORO_MAX_DEPTH 4096u
#define CORO_DEFAULT_DEPTH 64u
#define GONE_SENDER 1u
#define GONE_RECEIVER 2u
/* Waits read the clock (for timeout_ms) once per this many yields. */
#define CLOCK_EVERY 64u

struct coro_ring {
	_Alignas(IPC_CACHELINE) _Atomic uint32_t tail; /* sender: next slot to fill */
	_Alignas(IPC_CACHELINE) _Atomic uint32_t head; /* receiver: next slot to read */
	_Alignas(IPC_CACHELINE) _Atomic uint32_t gone; /* GONE_SENDER | GONE_RECEIVER: detached */
	uint32_t depth;
	uint32_t slot_bytes;    /* per slot: a length word, then the message */
	uint32_t max_msg;
	size_t map_len;
	unsigned timeout_ms;
	unsigned char slots[];
};

struct coro_end {
	struct coro_ring *ring;
	enum ipc_role role;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wait until *word != val: yield (to the other coroutines, or
 * sched_yield()) until it moves, the peer detached (-EPIPE) or timeout_ms
 * passed (-ETIMEDOUT).  0 when it moved. */
static int wait_moved(struct coro_ring *r, const _Atomic uint32_t *word, uint32_t val, uint32_t peer_gone)
{
	uint64_t deadline = 0;

	for (unsigned k = 1; atomic_load_explicit(word, memory_order_acquire) == val; k++) {
		if (atomic_load_explicit(&r->gone, memory_order_acquire) & peer_gone)
			return atomic_load_explicit(word, memory_order_acquire) == val ? -EPIPE : 0;
		if (r->timeout_ms && k % CLOCK_EVERY == 0) {
			uint64_t now = now_ns();

			if (!deadline)
				deadline = now + (uint64_t)r->timeout_ms * 1000000u;
			else if (now >= deadline)
				return -ETIMEDOUT;
		}
		coro_yield();
	}
	return 0;
}

static int coro_caps(struct ipc_caps *c, char *err)
{
	(void)err;
	memset(c, 0, sizeof(*c));
	c->max_msg = CORO_MAX_MSG;
	c->max_depth = CORO_MAX_DEPTH;
	c->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN); /* both yield */
	c->keeps_boundaries = 1;
	return 0;
}

static int coro_create(const struct ipc_params *p, void **chan, char *err)
{
	unsigned depth = p->depth ? p->depth : CORO_DEFAULT_DEPTH;
	size_t slot, len;
	struct coro_ring *r;

	if (p->max_msg < 1 || p->max_msg > CORO_MAX_MSG || depth > CORO_MAX_DEPTH) {
		if (err)
			snprintf(err, IPC_ERRLEN, CORO_NAME ": messages 1 .. %u bytes, depth up to %u", CORO_MAX_MSG,
				 CORO_MAX_DEPTH);
		return -EINVAL;
	}
	if (p->senders > 1 || p->receivers > 1) {
		if (err)
			snprintf(err, IPC_ERRLEN, CORO_NAME ": one sender and one receiver per channel");
		return -EINVAL;
	}
	if (p->wait != IPC_WAIT_BLOCK && p->wait != IPC_WAIT_SPIN) {
		if (err)
			snprintf(err, IPC_ERRLEN, CORO_NAME ": block and spin (both yield), no hybrid");
		return -EINVAL;
	}
	slot = (sizeof(uint32_t) + p->max_msg + 7) / 8 * 8;
	len = sizeof(*r) + slot * depth;
	r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (r == MAP_FAILED) {
		if (err)
			snprintf(err, IPC_ERRLEN, CORO_NAME ": mmap of %zu bytes failed", len);
		return -ENOMEM;
	}
	r->depth = depth;
	r->slot_bytes = (uint32_t)slot;
	r->max_msg = (uint32_t)p->max_msg;
	r->map_len = len;
	r->timeout_ms = p->timeout_ms;
	*chan = r;
	return 0;
}

static int coro_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct coro_end *e = malloc(sizeof(*e));

	(void)err;
	if (!e)
		return -ENOMEM;
	e->ring = chan;
	e->role = role;
	*end = e;
	return 0;
}

static int coro_send(void *end, const void *buf, size_t len)
{
	struct coro_ring *r = ((struct coro_end *)end)->ring;
	uint32_t t = atomic_load_explicit(&r->tail, memory_order_relaxed);
	unsigned char *slot;
	int rc;

	if (len == 0)
		return -EINVAL;
	if (len > r->max_msg)
		return -EMSGSIZE;
	if (atomic_load_explicit(&r->gone, memory_order_acquire) & GONE_RECEIVER)
		return -EPIPE;
	/* Full: wait for the receiver to move head past t - depth. */
	if (t - atomic_load_explicit(&r->head, memory_order_acquire) >= r->depth &&
	    (rc = wait_moved(r, &r->head, t - r->depth, GONE_RECEIVER)) < 0)
		return rc;
	slot = r->slots + (size_t)(t % r->depth) * r->slot_bytes;
	memcpy(slot, &(uint32_t){ (uint32_t)len }, sizeof(uint32_t));
	memcpy(slot + sizeof(uint32_t), buf, len);
	atomic_store_explicit(&r->tail, t + 1, memory_order_release);
	return 0;
}

static ssize_t coro_recv(void *end, void *buf, size_t cap)
{
	struct coro_ring *r = ((struct coro_end *)end)->ring;
	uint32_t h = atomic_load_explicit(&r->head, memory_order_relaxed), len;
	const unsigned char *slot;
	int rc;

	/* Empty: wait for the sender to move tail past h (what a sender left
	 * before it detached is still read). */
	if (atomic_load_explicit(&r->tail, memory_order_acquire) == h &&
	    (rc = wait_moved(r, &r->tail, h, GONE_SENDER)) < 0)
		return rc;
	atomic_thread_fence(memory_order_acquire);
	slot = r->slots + (size_t)(h % r->depth) * r->slot_bytes;
	memcpy(&len, slot, sizeof(len));
	if (len == 0 || len > r->max_msg)
		return -EPROTO; /* never trust a length read from shared memory */
	if (len > cap)
		return -EMSGSIZE;
	memcpy(buf, slot + sizeof(uint32_t), len);
	atomic_store_explicit(&r->head, h + 1, memory_order_release);
	return (ssize_t)len;
}

static void coro_detach(void *end)
{
	struct coro_end *e = end;

	atomic_fetch_or_explicit(&e->ring->gone, e->role == IPC_SEND ? GONE_SENDER : GONE_RECEIVER,
				 memory_order_release);
	free(e);
}

static void coro_forget(void *chan)
{
	(void)chan; /* the mapping is the channel; destroy unmaps it */
}

static void coro_destroy(void *chan)
{
	struct coro_ring *r = chan;

	munmap(r, r->map_len);
}

const struct ipc_ops ipc_coro_ops = {
	.name = CORO_NAME,
	.summary = "a slot ring in shared memory whose waits yield to the other coroutines of the thread",
	.quick = IPC_QUICK_SMALL,
	.caps = coro_caps,
	.create = coro_create,
	.attach = coro_attach,
	.send = coro_send,
	.recv = coro_recv,
	.detach = coro_detach,
	.forget = coro_forget,
	.destroy = coro_destroy,
	.yields = true,
};
