/* slotring.c - the shared slot ring of slotring.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdio.h"
#include "peerwatch.h"
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
	/* A signal: try again, unless this process was told to stop (an
	 * MPI rank on mpirun's SIGTERM: an imported end has no liveness
	 * pipes, so a dead rank is seen no other way). */
	if (rc == -EINTR && !ipc_abort_requested())
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

/* ---- what the slot-ring mechanisms share ---------------------------------- */

void slotring_link_reset(struct slotring_link *l)
{
	l->alive_w = l->peer_r = -1;
	l->watch = NULL;
}

int slotring_link_attach(struct slotring_link *l, struct slotring_end *e, struct fdio_alive *alive,
			 enum ipc_role role, int child, const char *name, char *err)
{
	int ret = fdio_alive_attach(alive, role, child, &l->alive_w, &l->peer_r);

	if (ret) {
		fdio_err(err, "%s: dup: %s", name, strerror(-ret));
		return ret;
	}
	e->peer_r = l->peer_r;
	if (!e->spin) {
		ret = peerwatch_start(&l->watch, l->peer_r, slotring_on_gone, e);
		if (ret) {
			fdio_err(err, "%s: peer-watch thread: %s", name, strerror(-ret));
			return ret;
		}
	}
	return 0;
}

void slotring_link_detach(struct slotring_link *l)
{
	peerwatch_stop(l->watch);
	l->watch = NULL;
	if (l->alive_w >= 0)
		close(l->alive_w);
	if (l->peer_r >= 0)
		close(l->peer_r);
	l->alive_w = l->peer_r = -1;
}

void slotring_memfd_forget(void *chan)
{
	struct slotring_memfd_chan *c = chan;

	if (!c)
		return;
	if (c->memfd >= 0)
		close(c->memfd);
	c->memfd = -1;
	for (int i = 0; i < 2; i++) {
		if (c->efd[i] >= 0)
			close(c->efd[i]);
		c->efd[i] = -1;
	}
	fdio_alive_close(&c->alive);
}

void slotring_memfd_destroy(void *chan)
{
	slotring_memfd_forget(chan);
	free(chan);
}

int slotring_memfd_create(const char *name, const struct ipc_caps *caps, const struct ipc_params *p,
			  size_t hdr_size, int slots_in_memfd, struct slotring_memfd_chan **chan, char *err)
{
	struct slotring_memfd_chan *c;
	char memfd_name[64];
	size_t init_len;
	void *map;
	int ret = fdio_check_params(name, caps, p, err);

	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c) {
		fdio_err(err, "%s: out of memory", name);
		return -ENOMEM;
	}
	c->memfd = c->efd[0] = c->efd[1] = -1;
	fdio_alive_reset(&c->alive);
	c->creator = getpid();
	c->wait = p->wait;
	c->timeout_ms = p->timeout_ms;
	c->max_msg = p->max_msg;
	c->hdr_size = hdr_size;
	ret = slotring_geometry(name, p->max_msg, p->depth, &c->nslots, &c->stride, &c->ctl_size, err);
	if (ret)
		goto err;
	if (slots_in_memfd) /* the slots start on a page of their own */
		c->ctl_size = (hdr_size + c->ctl_size + 4095) / 4096 * 4096 - hdr_size;
	init_len = hdr_size + c->ctl_size;
	c->map_size = init_len + (slots_in_memfd ? (size_t)c->nslots * c->stride : 0);
	snprintf(memfd_name, sizeof(memfd_name), "ipclab-%s", name);
	c->memfd = memfd_create(memfd_name, MFD_CLOEXEC);
	if (c->memfd < 0 || ftruncate(c->memfd, (off_t)c->map_size)) {
		ret = -errno;
		fdio_err(err, "%s: memfd of %zu bytes: %s", name, c->map_size, strerror(errno));
		goto err;
	}
	map = mmap(NULL, init_len, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		fdio_err(err, "%s: mmap: %s", name, strerror(errno));
		goto err;
	}
	slotring_init((struct slotring_ctl *)((char *)map + hdr_size), c->nslots);
	munmap(map, init_len);
	for (int i = 0; i < 2; i++) {
		c->efd[i] = eventfd(0, EFD_SEMAPHORE | EFD_CLOEXEC);
		if (c->efd[i] < 0) {
			ret = -errno;
			fdio_err(err, "%s: eventfd: %s", name, strerror(errno));
			goto err;
		}
	}
	ret = fdio_alive_open(&c->alive);
	if (ret) {
		fdio_err(err, "%s: pipe: %s", name, strerror(-ret));
		goto err;
	}
	*chan = c;
	return 0;
err:
	slotring_memfd_destroy(c);
	return ret;
}

int slotring_memfd_open(const struct slotring_memfd_chan *c, void **map, int efd[2],
			const char *name, char *err)
{
	*map = NULL;
	efd[0] = efd[1] = -1;
	if (c->memfd < 0) {
		fdio_err(err, "%s: attach after forget", name);
		return -EBADF;
	}
	*map = mmap(NULL, c->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	if (*map == MAP_FAILED) {
		int e = errno;

		*map = NULL;
		fdio_err(err, "%s: mmap: %s", name, strerror(e));
		return -e;
	}
	for (int i = 0; i < 2; i++) {
		efd[i] = fcntl(c->efd[i], F_DUPFD_CLOEXEC, 0);
		if (efd[i] < 0) {
			int e = errno;

			fdio_err(err, "%s: dup: %s", name, strerror(e));
			return -e;
		}
	}
	return 0;
}
