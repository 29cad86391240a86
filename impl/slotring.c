/* slotring.c - the shared slot ring of slotring.h. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"
#include "slotring.h"

#define SLOTRING_ALIGN 64u

int slotring_geometry(const char *name, size_t max_msg, unsigned depth,
		      uint64_t *nslots, size_t *stride, size_t *ctl_size, char *err)
{
	uint64_t n = SLOTRING_MIN_SLOTS, want;

	if (max_msg < 1 || max_msg > SLOTRING_MAX_MSG) {
		fdio_err(err, "%s: message size %zu out of range 1..%zu", name, max_msg,
			 SLOTRING_MAX_MSG);
		return max_msg < 1 ? -EINVAL : -EMSGSIZE;
	}
	*stride = (max_msg + SLOTRING_ALIGN - 1) / SLOTRING_ALIGN * SLOTRING_ALIGN;
	if (depth) {
		want = depth;
	} else {
		want = SLOTRING_DEFAULT_BYTES / *stride;
		if (want > SLOTRING_DEFAULT_SLOTS)
			want = SLOTRING_DEFAULT_SLOTS;
	}
	while (n < want)
		n <<= 1;
	if (n * *stride > SLOTRING_MAX_BYTES) {
		fdio_err(err, "%s: depth %u x %zu-byte slots is %llu bytes, over the %llu a "
			 "channel may take", name, depth, *stride,
			 (unsigned long long)(n * *stride), (unsigned long long)SLOTRING_MAX_BYTES);
		return -EINVAL;
	}
	*nslots = n;
	*ctl_size = sizeof(struct slotring_ctl) + n * sizeof(struct slotring_slot);
	return 0;
}

void slotring_init(struct slotring_ctl *c, uint64_t nslots)
{
	ipc_store_relaxed(&c->tail, 0);
	ipc_store_relaxed(&c->head, 0);
	ipc_store_relaxed(&c->recv_waiters, 0);
	ipc_store_relaxed(&c->send_waiters, 0);
	for (uint64_t i = 0; i < nslots; i++) {
		ipc_store_relaxed(&c->slot[i].seq, i);
		ipc_store_relaxed(&c->slot[i].len, 0);
	}
	ipc_fence_full();
}

/* After a publish or a release: wake one sleeper of the other side. */
static void wake_other(struct slotring_end *e, enum slotring_which which,
		       _Atomic uint32_t *waiters)
{
	if (e->spin)
		return; /* every end of a channel spins: nobody sleeps */
	ipc_fence_full(); /* publish before reading waiters (atomics.h) */
	if (ipc_load_relaxed(waiters))
		e->wake->post(e->wake_ctx, which);
}

/* 1 sent, 0 full, -errno (the slot was published empty). */
static int try_put(struct slotring_end *e, const void *buf, size_t len)
{
	struct slotring_ctl *c = e->ctl;
	uint64_t pos = ipc_load_relaxed(&c->tail);
	struct slotring_slot *s;
	int rc = 0;

	for (;;) {
		s = &c->slot[pos & e->mask];
		uint64_t seq = ipc_load_acquire(&s->seq);
		int64_t diff = (int64_t)(seq - pos);

		if (diff == 0) {
			if (ipc_cas(&c->tail, &pos, pos + 1))
				break;
		} else if (diff < 0) {
			return 0;
		} else {
			pos = ipc_load_relaxed(&c->tail);
		}
	}
	if (e->put)
		rc = e->put(e->put_ctx, (size_t)(pos & e->mask) * e->stride, buf, len);
	else
		memcpy(e->data + (size_t)(pos & e->mask) * e->stride, buf, len);
	ipc_store_relaxed(&s->len, rc ? 0u : (uint32_t)len);
	ipc_store_release(&s->seq, pos + 1);
	wake_other(e, SLOTRING_ITEMS, &c->recv_waiters);
	return rc ? rc : 1;
}

/* 1 taken (*got: length or -EMSGSIZE/-EPROTO), 0 empty. */
static int try_take(struct slotring_end *e, void *buf, size_t cap, ssize_t *got)
{
	struct slotring_ctl *c = e->ctl;
	uint64_t pos = ipc_load_relaxed(&c->head);
	struct slotring_slot *s;
	uint32_t len;

	for (;;) {
		s = &c->slot[pos & e->mask];
		uint64_t seq = ipc_load_acquire(&s->seq);
		int64_t diff = (int64_t)(seq - (pos + 1));

		if (diff == 0) {
			if (ipc_cas(&c->head, &pos, pos + 1))
				break;
		} else if (diff < 0) {
			return 0;
		} else {
			pos = ipc_load_relaxed(&c->head);
		}
	}
	len = ipc_load_relaxed(&s->len);
	if (len == 0 || len > e->max_msg)
		*got = -EPROTO; /* empty (a failed put) or corrupt */
	else if (len > cap)
		*got = -EMSGSIZE; /* taken and dropped: the next one lines up */
	else
		memcpy(buf, e->data + (size_t)(pos & e->mask) * e->stride, len), *got = len;
	ipc_store_release(&s->seq, pos + e->mask + 1);
	wake_other(e, SLOTRING_SPACE, &c->send_waiters);
	return 1;
}

/* Would the next try find something?  (Block: the re-check after
 * registering as a waiter.) */
static int ready(const struct slotring_end *e, enum slotring_which which)
{
	struct slotring_ctl *c = e->ctl;
	uint64_t pos = which == SLOTRING_ITEMS ? ipc_load_acquire(&c->head) : ipc_load_acquire(&c->tail);
	uint64_t seq = ipc_load_acquire(&c->slot[pos & e->mask].seq);

	return seq == (which == SLOTRING_ITEMS ? pos + 1 : pos);
}

/* After a try found nothing: 0 to try again, 1 when the peers are gone
 * (one more try, then -EPIPE), or -ETIMEDOUT / -errno. */
static int wait_turn(struct slotring_end *e, enum slotring_which which,
		     _Atomic uint32_t *waiters, struct fdio_wait *w)
{
	int rc;

	if (e->spin) {
		cpu_relax();
		return fdio_wait_step(w, 1, e->timeout_ms, 0, e->peer_r);
	}
	if (atomic_load(&e->gone))
		return 1;
	ipc_fetch_add(waiters, 1);
	if (ready(e, which) || atomic_load(&e->gone))
		rc = 0;
	else
		rc = e->wake->wait(e->wake_ctx, which);
	ipc_fetch_sub(waiters, 1);
	if (rc == -EINTR)
		rc = 0;
	if (rc < 0)
		return rc;
	return atomic_load(&e->gone) ? 1 : 0;
}

int slotring_send(struct slotring_end *e, const void *buf, size_t len)
{
	struct fdio_wait w = { 0 };
	int rc, last = 0;

	if (len == 0)
		return -EINVAL;
	if (len > e->max_msg)
		return -EMSGSIZE;
	if (e->is_recv)
		return -EBADF;
	for (;;) {
		rc = try_put(e, buf, len);
		if (rc)
			return rc < 0 ? rc : 0;
		if (last)
			return -EPIPE;
		rc = wait_turn(e, SLOTRING_SPACE, &e->ctl->send_waiters, &w);
		if (rc < 0)
			return rc;
		last = rc;
	}
}

ssize_t slotring_recv(struct slotring_end *e, void *buf, size_t cap)
{
	struct fdio_wait w = { 0 };
	ssize_t got;
	int rc, last = 0;

	if (!e->is_recv)
		return -EBADF;
	for (;;) {
		if (try_take(e, buf, cap, &got))
			return got;
		if (last)
			return -EPIPE;
		rc = wait_turn(e, SLOTRING_ITEMS, &e->ctl->recv_waiters, &w);
		if (rc < 0)
			return rc;
		last = rc;
	}
}

int slotring_on_gone(void *end)
{
	struct slotring_end *e = end;
	enum slotring_which which = e->is_recv ? SLOTRING_ITEMS : SLOTRING_SPACE;
	_Atomic uint32_t *waiters = e->is_recv ? &e->ctl->recv_waiters : &e->ctl->send_waiters;

	atomic_store(&e->gone, 1);
	ipc_fence_full();
	if (!ipc_load_relaxed(waiters))
		return 0;
	e->wake->post(e->wake_ctx, which);
	return 1;
}

static int efd_wait(void *ctx, enum slotring_which which)
{
	int *efd = ctx;
	uint64_t v;

	if (read(efd[which], &v, sizeof(v)) == (ssize_t)sizeof(v))
		return 0;
	return -errno;
}

static void efd_post(void *ctx, enum slotring_which which)
{
	int *efd = ctx;
	uint64_t one = 1;

	while (write(efd[which], &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

const struct slotring_wake_ops slotring_eventfd_wake = { .wait = efd_wait, .post = efd_post };
