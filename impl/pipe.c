/*
 * pipe.c - anonymous pipes, framed (fdio.h).
 *
 * One pipe is one one-way channel.  A frame (header + payload) of at most
 * PIPE_BUF bytes is one atomic write, so several senders may share a pipe
 * for messages up to PIPE_BUF - FDIO_HDR_LEN; larger frames of two writers
 * could interleave.  Two receivers could split a frame: one receiver only.
 *
 * Pipe buffer: when the wanted in-flight bytes (depth, or one message when
 * depth is 0, times the frame size) exceed the default 64 KiB, create asks
 * F_SETPIPE_SZ for that much, at most fs.pipe-max-size (1 MiB on Debian),
 * so a large message moves in few wake-ups.  This sizes a buffer, not a
 * message: the stream carries any message up to FDIO_STREAM_MAX_MSG.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "fdio.h"

static int pipe_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	fdio_pipe_caps(caps);
	return 0;
}

/* 0 or -errno; on error nothing is left. */
static int pipe_create(const struct ipc_params *p, void **chan, char *err)
{
	struct ipc_caps caps;
	struct fdio_chan *c;
	int fds[2], ret;

	fdio_pipe_caps(&caps);
	ret = fdio_check_params("pipe", &caps, p, err);
	if (ret)
		return ret;
	ret = fdio_chan_new(p, 0, &c);
	if (ret) {
		fdio_err(err, "pipe: out of memory");
		return ret;
	}
	if (pipe2(fds, O_CLOEXEC)) {
		ret = -errno;
		fdio_err(err, "pipe: pipe2: %s", strerror(errno));
		goto err;
	}
	c->fd[IPC_RECV] = fds[0];
	c->fd[IPC_SEND] = fds[1];
	fdio_grow_pipe(fds[1], p);
	ret = fdio_chan_apply_wait(c, "pipe", err);
	if (ret)
		goto err;
	*chan = c;
	return 0;
err:
	fdio_destroy(c);
	return ret;
}

const struct ipc_ops ipc_pipe_ops =
	FDIO_OPS("pipe",
		 "anonymous pipe, length-framed byte stream",
		 pipe_caps, pipe_create, stream);
