/* msglib.c - shared parts of the messaging-library mechanisms (msglib.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "msglib.h"
#include "sockend.h"

/* The socket file's name inside the channel's directory. */
#define MSGLIB_SOCK_FILE "s"

void msglib_caps(struct ipc_caps *caps, unsigned max_depth)
{
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = MSGLIB_MAX_MSG;
	caps->max_shared_send = 0; /* one pair per channel: msglib.h says why */
	caps->max_shared_recv = 0;
	caps->max_depth = max_depth;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
}

int msglib_endpoint(const struct msglib_chan *c, char *buf, size_t len)
{
	int k = c->exported ? snprintf(buf, len, "%s", c->ep)
			    : snprintf(buf, len, "ipc://%s/" MSGLIB_SOCK_FILE, c->dir);

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
	char path[IPC_PATH_MAX + 8];

	if (!c)
		return;
	msglib_forget(c);
	if (c->dir[0]) {
		/* The library unlinks it on a clean close; a killed receiver
		 * leaves it. */
		snprintf(path, sizeof(path), "%s/" MSGLIB_SOCK_FILE, c->dir);
		unlink(path);
		rmdir(c->dir);
	}
	if (c->sh)
		munmap(c->sh, sizeof(*c->sh));
	free(c);
}

int msglib_create(const char *name, const struct ipc_params *p, unsigned max_depth,
		  struct msglib_chan **out, char *err)
{
	struct ipc_caps caps;
	struct msglib_chan *c;
	char ep[IPC_PATH_MAX + 16];
	int ret;

	msglib_caps(&caps, max_depth);
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
	c->depth = p->depth ? p->depth : MSGLIB_DEFAULT_DEPTH;
	c->max_msg = p->max_msg;
	c->sh = mmap(NULL, sizeof(*c->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->sh == MAP_FAILED) {
		c->sh = NULL;
		ret = -errno;
		fdio_err(err, "%s: mmap: %s", name, strerror(errno));
		goto err;
	}
	if (p->exported) {
		/* An abstract address: "/ipclab-..." with '@' for the '/'. */
		char uniq[IPC_NAME_MAX];

		ret = ipc_unique_name(uniq, sizeof(uniq), name);
		if (ret) {
			fdio_err(err, "%s: name: %s", name, strerror(-ret));
			goto err;
		}
		snprintf(c->ep, sizeof(c->ep), "ipc://@%s", uniq + 1);
		c->exported = 1;
		*out = c;
		return 0;
	}
	ret = ipc_private_dir(c->dir, sizeof(c->dir), name);
	if (ret) {
		c->dir[0] = '\0';
		fdio_err(err, "%s: private directory: %s", name, strerror(-ret));
		goto err;
	}
	/* An ipc:// path must fit a Unix socket address. */
	if (msglib_endpoint(c, ep, sizeof(ep)) ||
	    strlen(ep) - strlen("ipc://") >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		ret = -ENAMETOOLONG;
		fdio_err(err, "%s: socket path %s is longer than a Unix socket address allows; "
			 "set TMPDIR to a shorter directory", name, ep);
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
	e->sh = c->sh;
	e->is_recv = role == IPC_RECV;
	e->spin = c->wait == IPC_WAIT_SPIN;
	e->timeout_ms = c->timeout_ms;
	e->slice_ms = fdio_alive_slice(c->timeout_ms);
	e->max_msg = c->max_msg;
	e->exported = c->exported;
	if (c->exported)
		return 0; /* no liveness pipes cross ranks */
	ret = fdio_alive_attach(&c->alive, role, ipc_attach_closes_other_ends(c->creator),
				&e->alive_w, &e->peer_r);
	if (ret)
		fdio_err(err, "%s: dup: %s", name, strerror(-ret));
	return ret;
}

void msglib_detach(struct msglib_end *e)
{
	if (e->is_recv && e->sh)
		atomic_store_explicit(&e->sh->recv_gone, 1, memory_order_release);
	if (e->alive_w >= 0)
		close(e->alive_w);
	if (e->peer_r >= 0)
		close(e->peer_r);
	e->alive_w = e->peer_r = -1;
}

void msglib_wait_reset(struct msglib_end *e)
{
	memset(&e->w, 0, sizeof(e->w));
}

int msglib_wait(struct msglib_end *e)
{
	if (!e->is_recv && atomic_load_explicit(&e->sh->recv_gone, memory_order_acquire))
		return -EPIPE;
	return fdio_wait_step(&e->w, e->spin, e->timeout_ms, e->slice_ms, e->peer_r);
}

int msglib_sender_finished(const struct msglib_end *e)
{
	return atomic_load_explicit(&e->sh->sender_done, memory_order_acquire) &&
	       e->count >= atomic_load_explicit(&e->sh->sent, memory_order_relaxed);
}

void msglib_publish(struct msglib_end *e)
{
	atomic_store_explicit(&e->sh->sent, e->count, memory_order_relaxed);
	atomic_store_explicit(&e->sh->sender_done, 1, memory_order_release);
}

void msglib_drain(struct msglib_end *e)
{
	uint64_t last = UINT64_MAX, since = 0;

	if (e->exported)
		return; /* the receiver's count is in another rank (msglib.h) */
	for (;;) {
		struct pollfd pf = { .fd = e->peer_r, .events = POLLIN };
		uint64_t taken = atomic_load_explicit(&e->sh->taken, memory_order_acquire);

		if (taken >= e->count || atomic_load_explicit(&e->sh->recv_gone, memory_order_acquire))
			return;
		if (taken != last) {
			last = taken;
			since = fdio_now_ns();
		} else if (e->timeout_ms && fdio_now_ns() - since >= (uint64_t)e->timeout_ms * 1000000u) {
			return; /* a receiver that stopped taking: its messages are lost */
		}
		/* POLLHUP at once when the receiver is gone. */
		if (e->peer_r >= 0 && poll(&pf, 1, MSGLIB_DRAIN_POLL_MS) == 1 && (pf.revents & POLLHUP))
			return;
		if (e->peer_r < 0)
			poll(NULL, 0, MSGLIB_DRAIN_POLL_MS);
	}
}

void msglib_closed(struct msglib_end *e)
{
	atomic_store_explicit(&e->sh->sender_closed, 1, memory_order_release);
}

void msglib_recv_linger(struct msglib_end *e, const atomic_int *conns)
{
	uint64_t start = fdio_now_ns();

	atomic_store_explicit(&e->sh->recv_gone, 1, memory_order_release);
	while (!atomic_load_explicit(&e->sh->sender_closed, memory_order_acquire) ||
	       (conns && atomic_load(conns) > 0)) {
		struct pollfd pf = { .fd = e->peer_r, .events = POLLIN };

		if (e->timeout_ms && fdio_now_ns() - start >= (uint64_t)e->timeout_ms * 1000000u)
			return;
		if (e->peer_r < 0)
			return; /* no liveness to watch: do not wait blind */
		if (poll(&pf, 1, MSGLIB_DRAIN_POLL_MS) == 1 && (pf.revents & POLLHUP) &&
		    !(conns && atomic_load(conns) > 0))
			return;
	}
}

int msglib_export(const struct msglib_chan *c, const char *name, char *text, size_t cap, char *err)
{
	char host[SOCKEND_HOSTNAME_MAX + 1];
	int n, ret;

	if (c->exported != 1) {
		fdio_err(err, "%s: only a channel created for export can be exported", name);
		return -EINVAL;
	}
	ret = sockend_host_name(name, host, err);
	if (ret)
		return ret;
	n = snprintf(text, cap, "host=%s ep=%s max=%zu depth=%u wait=%s timeout=%u", host, c->ep, c->max_msg,
		     c->depth, ipc_wait_name(c->wait), c->timeout_ms);
	if (n < 0 || (size_t)n >= cap) {
		fdio_err(err, "%s: export needs %d bytes, have %zu", name, n, cap);
		return -ENOSPC;
	}
	return 0;
}

int msglib_import(const char *name, const char *text, struct msglib_chan **out, char *err)
{
	char host[SOCKEND_HOSTNAME_MAX + 1], ep[IPC_NAME_MAX + 16], wait[16];
	struct msglib_chan *c = calloc(1, sizeof(*c));
	int ret;

	if (!c) {
		fdio_err(err, "%s: out of memory", name);
		return -ENOMEM;
	}
	fdio_alive_reset(&c->alive);
	if (sscanf(text, "host=%64s ep=%95s max=%zu depth=%u wait=%15s timeout=%u", host, ep, &c->max_msg,
		   &c->depth, wait, &c->timeout_ms) != 6 || strncmp(ep, "ipc://@", 7) != 0 || !ep[7] ||
	    !c->max_msg || c->max_msg > MSGLIB_MAX_MSG || !c->depth || ipc_wait_parse(wait, &c->wait)) {
		fdio_err(err, "%s: cannot import '%.80s' (want host=NAME ep=ipc://@NAME max=BYTES depth=N wait=W "
			 "timeout=MS)", name, text);
		free(c);
		return -EINVAL;
	}
	ret = sockend_same_host(name, host, err);
	if (ret) {
		free(c);
		return ret;
	}
	snprintf(c->ep, sizeof(c->ep), "%s", ep);
	c->exported = 2;
	c->creator = getpid();
	c->sh = mmap(NULL, sizeof(*c->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (c->sh == MAP_FAILED) {
		ret = -errno;
		fdio_err(err, "%s: mmap: %s", name, strerror(errno));
		free(c);
		return ret;
	}
	*out = c;
	return 0;
}
