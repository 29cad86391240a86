/*
 * fifo.c - named pipes (mkfifo) in a private 0700 directory, framed.
 *
 * Same behaviour and limits as pipe.c.  create makes the directory
 * (ipc_private_dir), the fifo in it with mode 0600, and opens both ends
 * right away (read end O_NONBLOCK first, so opening needs no peer; then the
 * write end), so children inherit descriptors and never open by name.
 * destroy unlinks the fifo and removes the directory.
 *
 * Export (ranks of an MPI job on one host): the creator (the receiving
 * rank) publishes the fifo's path; an importer opens it for writing (the
 * creator's read end is open, so that needs no wait).  The creator drops
 * its own write end when its receiver attaches (no round reads before every
 * rank opened its side), so a reader sees EOF (-EPIPE) when the importing
 * writer dies: a blocking read() would otherwise wait for a signal that
 * may land on an Open MPI thread, and the rank be SIGKILLed before its
 * destroy.  The fifo and its directory are removed by the destroy of the
 * creator and of every importer (the first wins), so a killed rank's are
 * removed by the rank that imported them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fdio.h"

#define FIFO_FILE "fifo"

static int fifo_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	fdio_pipe_caps(caps);
	return 0;
}

/* 0 or -errno; on error nothing is left. */
static int fifo_create(const struct ipc_params *p, void **chan, char *err)
{
	struct ipc_caps caps;
	struct fdio_chan *c;
	int n, ret;

	fdio_pipe_caps(&caps);
	ret = fdio_check_params("fifo", &caps, p, err);
	if (ret)
		return ret;
	ret = fdio_chan_new(p, 0, &c);
	if (ret) {
		fdio_err(err, "fifo: out of memory");
		return ret;
	}
	ret = ipc_private_dir(c->dir, sizeof(c->dir), "fifo");
	if (ret) {
		c->dir[0] = '\0';
		fdio_err(err, "fifo: private directory: %s", strerror(-ret));
		goto err;
	}
	n = snprintf(c->path, sizeof(c->path), "%s/%s", c->dir, FIFO_FILE);
	if (n < 0 || (size_t)n >= sizeof(c->path)) {
		c->path[0] = '\0';
		ret = -ENAMETOOLONG;
		fdio_err(err, "fifo: path too long under %s", c->dir);
		goto err;
	}
	if (mkfifo(c->path, 0600)) {
		ret = -errno;
		fdio_err(err, "fifo: mkfifo %s: %s", c->path, strerror(errno));
		c->path[0] = '\0';
		goto err;
	}
	c->fd[IPC_RECV] = open(c->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->fd[IPC_RECV] < 0) {
		ret = -errno;
		fdio_err(err, "fifo: open %s for reading: %s", c->path, strerror(errno));
		goto err;
	}
	c->fd[IPC_SEND] = open(c->path, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->fd[IPC_SEND] < 0) {
		ret = -errno;
		fdio_err(err, "fifo: open %s for writing: %s", c->path, strerror(errno));
		goto err;
	}
	fdio_grow_pipe(c->fd[IPC_SEND], p);
	ret = fdio_chan_apply_wait(c, "fifo", err);
	if (ret)
		goto err;
	c->exported = p->exported;
	*chan = c;
	return 0;
err:
	fdio_destroy(c);
	return ret;
}

/* fdio's attach; the creator of an exported fifo then drops its own write
 * end (see the top). */
static int fifo_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct fdio_chan *c = chan;
	int ret = fdio_attach(chan, role, end, err);

	if (!ret && role == IPC_RECV && c->exported && c->fd[IPC_SEND] >= 0) {
		close(c->fd[IPC_SEND]);
		c->fd[IPC_SEND] = -1;
	}
	return ret;
}

static int fifo_export(void *chan, char *text, size_t cap, char *err)
{
	const struct fdio_chan *c = chan;
	int n;

	if (!c->path[0] || c->fd[IPC_RECV] < 0) {
		fdio_err(err, "fifo: only its creator, holding the read end, can export it");
		return -EINVAL;
	}
	n = snprintf(text, cap, "max=%zu wait=%s timeout=%u path=%s", c->max_msg, ipc_wait_name(c->wait),
		     c->timeout_ms, c->path);
	if (n < 0 || (size_t)n >= cap) {
		fdio_err(err, "fifo: export needs %d bytes, have %zu", n, cap);
		return -ENOSPC;
	}
	return 0;
}

/* The write end, opened by path (the creator's host only). */
static int fifo_import(const char *text, void **chan, char *err)
{
	struct ipc_params p = { .senders = 1, .receivers = 1 };
	struct fdio_chan *c;
	const char *dir_end, *base;
	char wait[16];
	int off = 0, ret;

	if (sscanf(text, "max=%zu wait=%15s timeout=%u path=%n", &p.max_msg, wait, &p.timeout_ms, &off) != 3 ||
	    off <= 0 || text[off] != '/' || ipc_wait_parse(wait, &p.wait)) {
		fdio_err(err, "fifo: cannot import '%.80s' (want max=BYTES wait=W timeout=MS path=/PATH)", text);
		return -EINVAL;
	}
	ret = fdio_chan_new(&p, 0, &c);
	if (ret) {
		fdio_err(err, "fifo: out of memory");
		return ret;
	}
	/* Removed by our destroy too, when it is a fifo of ipclab's own
	 * private directory ("/.../ipclab-fifo-.../fifo"). */
	dir_end = strrchr(text + off, '/');
	base = dir_end ? memrchr(text + off, '/', (size_t)(dir_end - (text + off))) : NULL;
	if (dir_end && base && strcmp(dir_end + 1, FIFO_FILE) == 0 &&
	    strncmp(base + 1, IPC_NAME_PREFIX "-fifo-", sizeof(IPC_NAME_PREFIX "-fifo-") - 1) == 0 &&
	    strlen(text + off) < sizeof(c->path)) {
		snprintf(c->path, sizeof(c->path), "%s", text + off);
		snprintf(c->dir, sizeof(c->dir), "%.*s", (int)(dir_end - (text + off)), text + off);
	}
	c->fd[IPC_SEND] = open(text + off, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
	if (c->fd[IPC_SEND] < 0) {
		ret = -errno;
		fdio_err(err, "fifo: open %.120s for writing: %s (a fifo is reached on its creator's host only)",
			 text + off, strerror(errno));
		fdio_destroy(c);
		return ret;
	}
	fdio_grow_pipe(c->fd[IPC_SEND], &p);
	c->fd[IPC_RECV] = c->fd[IPC_SEND]; /* fdio sets both ends' waits */
	ret = fdio_chan_apply_wait(c, "fifo", err);
	c->fd[IPC_RECV] = -1;
	if (ret) {
		fdio_destroy(c);
		return ret;
	}
	*chan = c;
	return 0;
}

const struct ipc_ops ipc_fifo_ops = {
	.name = "fifo",
	.summary = "named pipe in a private directory, length-framed byte stream",
	.caps = fifo_caps,
	.create = fifo_create,
	.attach = fifo_attach,
	.send = fdio_stream_send,
	.recv = fdio_stream_recv,
	.detach = fdio_detach,
	.forget = fdio_forget,
	.destroy = fdio_destroy,
	.export_chan = fifo_export,
	.import_chan = fifo_import,
};
