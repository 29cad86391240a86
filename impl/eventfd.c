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
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fdio.h"
#include "slotring.h"

#define EVFD_NAME "eventfd"

struct evfd_end {
	struct slotring_end ring;  /* first: slotring_on_gone gets the end */
	void *map;
	size_t map_size;
	int efd[2];                /* [SLOTRING_ITEMS], [SLOTRING_SPACE] */
	struct slotring_link link;
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

/* 0 or -errno; on error nothing is left. */
static int evfd_create(const struct ipc_params *p, void **chan, char *err)
{
	struct slotring_memfd_chan *c = NULL;
	struct ipc_caps caps;
	int ret;

	evfd_caps(&caps, NULL);
	ret = slotring_memfd_create(EVFD_NAME, &caps, p, 0, 1, &c, err);
	if (ret == 0)
		*chan = c;
	return ret;
}

static void evfd_detach(void *end)
{
	struct evfd_end *e = end;

	if (!e)
		return;
	slotring_link_detach(&e->link);
	if (e->map)
		munmap(e->map, e->map_size);
	for (int i = 0; i < 2; i++)
		if (e->efd[i] >= 0)
			close(e->efd[i]);
	free(e);
}

static int evfd_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct slotring_memfd_chan *c = chan;
	struct evfd_end *e;
	int ret;

	if (role != IPC_SEND && role != IPC_RECV) {
		fdio_err(err, EVFD_NAME ": bad role %d", (int)role);
		return -EINVAL;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fdio_err(err, EVFD_NAME ": out of memory");
		return -ENOMEM;
	}
	slotring_link_reset(&e->link);
	e->map_size = c->map_size;
	ret = slotring_memfd_open(c, &e->map, e->efd, EVFD_NAME, err);
	if (ret)
		goto err;
	e->ring = (struct slotring_end){
		.ctl = e->map,
		.data = (unsigned char *)e->map + c->ctl_size,
		.mask = c->nslots - 1,
		.stride = c->stride,
		.max_msg = c->max_msg,
		.is_recv = role == IPC_RECV,
		.spin = c->wait == IPC_WAIT_SPIN,
		.timeout_ms = c->timeout_ms,
		.wake = &slotring_eventfd_wake,
		.wake_ctx = e->efd,
	};
	ret = slotring_link_attach(&e->link, &e->ring, &c->alive, role, getpid() != c->creator,
				   EVFD_NAME, err);
	if (ret)
		goto err;
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
	.forget = slotring_memfd_forget,
	.destroy = slotring_memfd_destroy,
	.no_export_why = "its wake-ups are eventfds, which have no name: only a process that inherits them holds them; pidfd_getfd would need ptrace rights over the rank that made them",
};
