/*
 * fifo.c - named pipes (mkfifo) in a private 0700 directory, framed.
 *
 * Same behaviour and limits as pipe.c.  create makes the directory
 * (ipc_private_dir), the fifo in it with mode 0600, and opens both ends
 * right away (read end O_NONBLOCK first, so opening needs no peer; then the
 * write end), so children inherit descriptors and never open by name.
 * destroy unlinks the fifo and removes the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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
	*chan = c;
	return 0;
err:
	fdio_destroy(c);
	return ret;
}

const struct ipc_ops ipc_fifo_ops =
	FDIO_OPS("fifo",
		 "named pipe in a private directory, length-framed byte stream",
		 fifo_caps, fifo_create, stream);
