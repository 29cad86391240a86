/*
 * eventfd.c - a slot ring in shared memory (slotring.h) whose block waits
 * sleep in read() of an eventfd.
 *
 * The ring lives in a memfd (no name anywhere, nothing to leak: it is gone
 * with the last descriptor and mapping); every end maps it for itself, so
 * forget() in a process unmaps only the channel's own view.  Two eventfds
 * in EFD_SEMAPHORE mode hold the tokens: ITEMS (a receiver sleeps in
 * read(), a sender write()s one after a publish when a receiver sleeps) and
 * SPACE (the same for senders on a full ring).  Any number of senders and
 * receivers share a channel.
 *
 * One message costs: spin, no system call (the eventfds are not used: a
 * spinning end never sleeps, so nothing needs waking); block, one write(2)
 * of 8 bytes by the sender when the receiver sleeps and one read(2) by a
 * receiver that has to sleep (ping-pong: one of each per message and side).
 *
 * Limits: messages up to SLOTRING_MAX_MSG (1 MiB); ring bytes up to
 * SLOTRING_MAX_BYTES; memory (mmap fails: reported).  A blocking read() has
 * no timeout: a dead peer is seen by a peerwatch thread (peerwatch.h) on
 * fdio's liveness pipes, a live but stuck peer is the harness watchdog's
 * business (as for pipes); spin honours timeout_ms.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdio.h"
#include "peerwatch.h"
#include "slotring.h"

#define EVFD_NAME "eventfd"

struct evfd_chan {
	int memfd;          /* -1 once forgotten */
	int efd[2];         /* [SLOTRING_ITEMS], [SLOTRING_SPACE] */
	size_t ctl_size, map_size, stride, max_msg;
	uint64_t nslots;
	pid_t creator;
	enum ipc_wait wait;
	unsigned timeout_ms;
	struct fdio_alive alive;
};

struct evfd_end {
	struct slotring_end ring;  /* first: slotring_on_gone gets the end */
	void *map;
	size_t map_size;
	int efd[2];
	int alive_w, peer_r;
	struct peerwatch *watch;
};

static int evfd_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = SLOTRING_MAX_MSG;
	caps->max_shared_send = SLOTRING_MAX_MSG;
	caps->max_shared_recv = SLOTRING_MAX_MSG;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
	return 0;
}

static void evfd_forget(void *chan)
{
	struct evfd_chan *c = chan;

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

static void evfd_destroy(void *chan)
{
	evfd_forget(chan);
	free(chan);
}

/* 0 or -errno; on error nothing is left. */
static int evfd_create(const struct ipc_params *p, void **chan, char *err)
{
	struct ipc_caps caps;
	struct evfd_chan *c;
	void *map;
	int ret;

	evfd_caps(&caps, NULL);
	ret = fdio_check_params(EVFD_NAME, &caps, p, err);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c) {
		fdio_err(err, EVFD_NAME ": out of memory");
		return -ENOMEM;
	}
	c->memfd = c->efd[0] = c->efd[1] = -1;
	fdio_alive_reset(&c->alive);
	c->creator = getpid();
	c->wait = p->wait;
	c->timeout_ms = p->timeout_ms;
	c->max_msg = p->max_msg;
	ret = slotring_geometry(EVFD_NAME, p->max_msg, p->depth, &c->nslots, &c->stride,
				&c->ctl_size, err);
	if (ret)
		goto err;
	c->ctl_size = (c->ctl_size + 4095) / 4096 * 4096;
	c->map_size = c->ctl_size + (size_t)c->nslots * c->stride;
	c->memfd = memfd_create("ipclab-eventfd", MFD_CLOEXEC);
	if (c->memfd < 0 || ftruncate(c->memfd, (off_t)c->map_size)) {
		ret = -errno;
		fdio_err(err, EVFD_NAME ": memfd of %zu bytes: %s", c->map_size, strerror(errno));
		goto err;
	}
	map = mmap(NULL, c->ctl_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	if (map == MAP_FAILED) {
		ret = -errno;
		fdio_err(err, EVFD_NAME ": mmap: %s", strerror(errno));
		goto err;
	}
	slotring_init(map, c->nslots);
	munmap(map, c->ctl_size);
	for (int i = 0; i < 2; i++) {
		c->efd[i] = eventfd(0, EFD_SEMAPHORE | EFD_CLOEXEC);
		if (c->efd[i] < 0) {
			ret = -errno;
			fdio_err(err, EVFD_NAME ": eventfd: %s", strerror(errno));
			goto err;
		}
	}
	ret = fdio_alive_open(&c->alive);
	if (ret) {
		fdio_err(err, EVFD_NAME ": pipe: %s", strerror(-ret));
		goto err;
	}
	*chan = c;
	return 0;
err:
	evfd_destroy(c);
	return ret;
}

static void evfd_detach(void *end)
{
	struct evfd_end *e = end;

	if (!e)
		return;
	peerwatch_stop(e->watch);
	if (e->map)
		munmap(e->map, e->map_size);
	for (int i = 0; i < 2; i++)
		if (e->efd[i] >= 0)
			close(e->efd[i]);
	if (e->alive_w >= 0)
		close(e->alive_w);
	if (e->peer_r >= 0)
		close(e->peer_r);
	free(e);
}

static int evfd_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct evfd_chan *c = chan;
	struct evfd_end *e;
	int ret;

	if (role != IPC_SEND && role != IPC_RECV) {
		fdio_err(err, EVFD_NAME ": bad role %d", (int)role);
		return -EINVAL;
	}
	if (c->memfd < 0) {
		fdio_err(err, EVFD_NAME ": attach after forget");
		return -EBADF;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fdio_err(err, EVFD_NAME ": out of memory");
		return -ENOMEM;
	}
	e->efd[0] = e->efd[1] = e->alive_w = e->peer_r = -1;
	e->map_size = c->map_size;
	e->map = mmap(NULL, c->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, c->memfd, 0);
	if (e->map == MAP_FAILED) {
		e->map = NULL;
		ret = -errno;
		fdio_err(err, EVFD_NAME ": mmap: %s", strerror(errno));
		goto err;
	}
	for (int i = 0; i < 2; i++) {
		e->efd[i] = fcntl(c->efd[i], F_DUPFD_CLOEXEC, 0);
		if (e->efd[i] < 0) {
			ret = -errno;
			fdio_err(err, EVFD_NAME ": dup: %s", strerror(errno));
			goto err;
		}
	}
	ret = fdio_alive_attach(&c->alive, role, getpid() != c->creator, &e->alive_w, &e->peer_r);
	if (ret) {
		fdio_err(err, EVFD_NAME ": dup: %s", strerror(-ret));
		goto err;
	}
	e->ring = (struct slotring_end){
		.ctl = e->map,
		.data = (unsigned char *)e->map + c->ctl_size,
		.mask = c->nslots - 1,
		.stride = c->stride,
		.max_msg = c->max_msg,
		.is_recv = role == IPC_RECV,
		.spin = c->wait == IPC_WAIT_SPIN,
		.timeout_ms = c->timeout_ms,
		.peer_r = e->peer_r,
		.wake = &slotring_eventfd_wake,
		.wake_ctx = e->efd,
	};
	if (!e->ring.spin) {
		ret = peerwatch_start(&e->watch, e->peer_r, slotring_on_gone, &e->ring);
		if (ret) {
			fdio_err(err, EVFD_NAME ": peer-watch thread: %s", strerror(-ret));
			goto err;
		}
	}
	*end = e;
	return 0;
err:
	evfd_detach(e);
	return ret;
}

static int evfd_send(void *end, const void *buf, size_t len)
{
	return slotring_send(&((struct evfd_end *)end)->ring, buf, len);
}

static ssize_t evfd_recv(void *end, void *buf, size_t cap)
{
	return slotring_recv(&((struct evfd_end *)end)->ring, buf, cap);
}

const struct ipc_ops ipc_eventfd_ops = {
	.name = EVFD_NAME,
	.summary = "slot ring in shared memory, block waits sleep in read() of an eventfd",
	.quick = IPC_QUICK_SMALL,
	.caps = evfd_caps,
	.create = evfd_create,
	.attach = evfd_attach,
	.send = evfd_send,
	.recv = evfd_recv,
	.detach = evfd_detach,
	.forget = evfd_forget,
	.destroy = evfd_destroy,
};
