/* msglib.c - shared parts of the messaging-library mechanisms (msglib.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "msglib.h"

void msglib_caps(struct ipc_caps *caps)
{
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = MSGLIB_MAX_MSG;
	caps->max_shared_send = 0; /* one pair per channel: msglib.h says why */
	caps->max_shared_recv = 0;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
}

int msglib_endpoint(const struct msglib_chan *c, unsigned n, char *buf, size_t len)
{
	int k = snprintf(buf, len, "ipc://%s/r%u", c->dir, n);

	return k < 0 || (size_t)k >= len ? -ENAMETOOLONG : 0;
}

void msglib_forget(struct msglib_chan *c)
{
	if (!c)
		return;
	fdio_alive_close(&c->alive);
	c->forgotten = 1;
}

void msglib_destroy(struct msglib_chan *c)
{
	char path[IPC_PATH_MAX + 16];

	if (!c)
		return;
	msglib_forget(c);
	if (c->dir[0]) {
		for (unsigned n = 0; n < c->receivers; n++) {
			snprintf(path, sizeof(path), "%s/r%u", c->dir, n);
			unlink(path);
		}
		rmdir(c->dir);
	}
	if (c->next_recv)
		munmap(c->next_recv, sizeof(*c->next_recv));
	free(c);
}

int msglib_create(const char *name, const struct ipc_params *p, struct msglib_chan **out,
		  char *err)
{
	struct ipc_caps caps;
	struct msglib_chan *c;
	char probe[IPC_PATH_MAX + 32];
	int ret;

	msglib_caps(&caps);
	ret = fdio_check_params(name, &caps, p, err);
	if (ret)
		return ret;
	c = calloc(1, sizeof(*c));
	if (!c) {
		fdio_err(err, "%s: out of memory", name);
		return -ENOMEM;
	}
	fdio_alive_reset(&c->alive);
	c->creator = getpid();
	c->wait = p->wait;
	c->timeout_ms = p->timeout_ms;
	c->senders = p->senders;
	c->receivers = p->receivers;
	c->depth = p->depth ? p->depth : MSGLIB_DEFAULT_DEPTH;
	c->max_msg = p->max_msg;
	c->next_recv = mmap(NULL, sizeof(*c->next_recv), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->next_recv == MAP_FAILED) {
		c->next_recv = NULL;
		ret = -errno;
		fdio_err(err, "%s: mmap: %s", name, strerror(errno));
		goto err;
	}
	atomic_store(c->next_recv, 0);
	ret = ipc_private_dir(c->dir, sizeof(c->dir), name);
	if (ret) {
		c->dir[0] = '\0';
		fdio_err(err, "%s: private directory: %s", name, strerror(-ret));
		goto err;
	}
	/* An ipc:// path must fit sockaddr_un (107 bytes). */
	if (msglib_endpoint(c, p->receivers, probe, sizeof(probe)) ||
	    strlen(probe) - strlen("ipc://") > 107) {
		ret = -ENAMETOOLONG;
		fdio_err(err, "%s: socket path %s is longer than a Unix socket address allows; "
			 "set TMPDIR to a shorter directory", name, probe);
		goto err;
	}
	ret = fdio_alive_open(&c->alive);
	if (ret) {
		fdio_err(err, "%s: pipe: %s", name, strerror(-ret));
		goto err;
	}
	*out = c;
	return 0;
err:
	msglib_destroy(c);
	return ret;
}

int msglib_attach(struct msglib_chan *c, const char *name, enum ipc_role role,
		  struct msglib_end *e, char *err)
{
	int ret;

	memset(e, 0, sizeof(*e));
	e->alive_w = e->peer_r = -1;
	if (role != IPC_SEND && role != IPC_RECV) {
		fdio_err(err, "%s: bad role %d", name, (int)role);
		return -EINVAL;
	}
	if (c->forgotten) {
		fdio_err(err, "%s: attach after forget", name);
		return -EBADF;
	}
	e->is_recv = role == IPC_RECV;
	e->spin = c->wait == IPC_WAIT_SPIN;
	e->timeout_ms = c->timeout_ms;
	e->slice_ms = fdio_alive_slice(c->timeout_ms);
	e->senders = c->senders;
	e->receivers = c->receivers;
	e->max_msg = c->max_msg;
	if (e->is_recv) {
		e->recv_idx = atomic_fetch_add(c->next_recv, 1);
		if (e->recv_idx >= c->receivers) {
			fdio_err(err, "%s: more receivers attach than the %u the channel was made for",
				 name, c->receivers);
			return -EINVAL;
		}
	}
	ret = fdio_alive_attach(&c->alive, role, getpid() != c->creator, &e->alive_w, &e->peer_r);
	if (ret)
		fdio_err(err, "%s: dup: %s", name, strerror(-ret));
	return ret;
}

void msglib_detach(struct msglib_end *e)
{
	if (e->alive_w >= 0)
		close(e->alive_w);
	if (e->peer_r >= 0)
		close(e->peer_r);
	e->alive_w = e->peer_r = -1;
}

void msglib_wait_reset(struct msglib_end *e)
{
	memset(&e->w, 0, sizeof(e->w));
	e->grace_end = 0;
}

int msglib_wait(struct msglib_end *e)
{
	int ret = fdio_wait_step(&e->w, e->spin, e->timeout_ms, e->slice_ms, e->peer_r);

	if (ret < 0)
		return ret;
	if (ret == 0)
		return 0;
	if (!e->is_recv)
		return -EPIPE;
	if (!e->grace_end) {
		e->grace_end = fdio_now_ns() + (uint64_t)MSGLIB_GRACE_MS * 1000000u;
		return 0;
	}
	return fdio_now_ns() >= e->grace_end ? -EPIPE : 0;
}
