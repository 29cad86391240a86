/*
 * vmsplice.c - a pipe fed with vmsplice(2): the kernel takes references to
 * the sender's pages instead of copying them; the receiver read()s the
 * frames (fdio's framed stream receive, fdio.h).
 *
 * Page reuse.  A page handed to vmsplice (without SPLICE_F_GIFT) belongs to
 * the pipe until the reader has consumed it; writing it earlier would
 * change bytes already "sent".  The caller owns its buffer again when send
 * returns, so each frame (header + payload) is first copied into a staging
 * ring of pages private to the sender, always starting on a page boundary,
 * and vmsplice'd from there: each page of a frame becomes exactly one pipe
 * buffer (vmsplice never merges into an earlier buffer).  A pipe holds at
 * most N buffers (N = its size / page size, read back with F_GETPIPE_SZ)
 * and releases them in order, so once N buffers have been pushed after the
 * last one that refers to a page, that page has been read.  The staging
 * ring has N + 2 x (pages of a largest frame) pages, so a page comes round
 * again only after more than N later buffers; the sender also counts the
 * buffers per page and refuses (-EPROTO) a reuse the count does not prove
 * safe, so the rule is checked, not assumed.
 *
 * One message costs a memcpy into the staging pages, one vmsplice(2)
 * (more only when the pipe is full mid-frame), and the receiver's read(2)s
 * of fdio_stream_recv; the pages are copied once, by the reader.
 *
 * One sender (the staging ring is per process, and a frame spanning pages
 * is not an atomic pipe write) and one receiver.  Limits: messages up to
 * VMSPLICE_MAX_MSG; the pipe is grown towards depth frames (at most
 * fs.pipe-max-size; a depth that does not fit is refused with it).  A dead
 * peer: EOF / EPIPE as for any pipe.  Spin: O_NONBLOCK and
 * SPLICE_F_NONBLOCK, EAGAIN polled.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fdio.h"

#define VMS_NAME "vmsplice"
/* Largest message: 1 MiB, the largest size of the full profile (and the
 * reference machines' fs.pipe-max-size). */
#define VMSPLICE_MAX_MSG ((size_t)1 << 20)
/* Frames in flight a pipe is grown for when depth is 0. */
#define VMSPLICE_DEFAULT_DEPTH 16u

struct vms_chan {
	struct fdio_chan *fc;
	size_t max_msg;
};

struct vms_end {
	struct fdio_end *fe;
	int is_recv;
	size_t page, frame_pages;  /* pages of a largest frame */
	size_t npages;             /* staging ring */
	unsigned char *stage;
	size_t next;               /* next page of the ring to use */
	uint64_t pushed;           /* pipe buffers vmsplice'd so far */
	uint64_t *last_buf;        /* per page: pushed count after its last buffer */
	uint64_t pipe_bufs;        /* N */
};

static int vms_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = VMSPLICE_MAX_MSG;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 0;
	return 0;
}

static size_t pages_for(size_t bytes, size_t page)
{
	return (bytes + page - 1) / page;
}

/* 0 or -errno; on error nothing is left. */
static int vms_create(const struct ipc_params *p, void **chan, char *err)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	unsigned long max_sz;
	struct ipc_caps caps;
	struct fdio_chan *c;
	struct vms_chan *v;
	unsigned depth = p->depth ? p->depth : VMSPLICE_DEFAULT_DEPTH;
	unsigned long long want;
	int fds[2], ret;

	vms_caps(&caps, NULL);
	ret = fdio_check_params(VMS_NAME, &caps, p, err);
	if (ret)
		return ret;
	ret = fdio_read_ulong("/proc/sys/fs/pipe-max-size", &max_sz);
	if (ret) {
		fdio_err(err, VMS_NAME ": cannot read fs.pipe-max-size: %s", strerror(-ret));
		return ret;
	}
	want = (unsigned long long)depth * pages_for(p->max_msg + FDIO_HDR_LEN, page) * page;
	if (p->depth && want > max_sz) {
		fdio_err(err, VMS_NAME ": depth %u x %zu-byte frames needs a %llu-byte pipe, over "
			 "fs.pipe-max-size = %lu; raise it with: sysctl -w fs.pipe-max-size=%llu",
			 p->depth, p->max_msg + FDIO_HDR_LEN, want, max_sz, want);
		return -EINVAL;
	}
	if (want > max_sz)
		want = max_sz; /* the default depth is a wish, not a request */
	ret = fdio_chan_new(p, 0, &c);
	if (ret) {
		fdio_err(err, VMS_NAME ": out of memory");
		return ret;
	}
	if (pipe2(fds, O_CLOEXEC)) {
		ret = -errno;
		fdio_err(err, VMS_NAME ": pipe2: %s", strerror(errno));
		goto err;
	}
	c->fd[IPC_RECV] = fds[0];
	c->fd[IPC_SEND] = fds[1];
	if (want > (unsigned long long)fcntl(fds[1], F_GETPIPE_SZ) &&
	    fcntl(fds[1], F_SETPIPE_SZ, (int)want) < 0 && p->depth) {
		ret = -errno;
		fdio_err(err, VMS_NAME ": F_SETPIPE_SZ %llu: %s", want, strerror(errno));
		goto err;
	}
	ret = fdio_chan_apply_wait(c, VMS_NAME, err);
	if (ret)
		goto err;
	v = calloc(1, sizeof(*v));
	if (!v) {
		ret = -ENOMEM;
		fdio_err(err, VMS_NAME ": out of memory");
		goto err;
	}
	v->fc = c;
	v->max_msg = p->max_msg;
	*chan = v;
	return 0;
err:
	fdio_destroy(c);
	return ret;
}

static void vms_forget(void *chan)
{
	struct vms_chan *v = chan;

	if (v)
		fdio_forget(v->fc);
}

static void vms_destroy(void *chan)
{
	struct vms_chan *v = chan;

	if (!v)
		return;
	fdio_destroy(v->fc);
	free(v);
}

static void vms_detach(void *end)
{
	struct vms_end *e = end;

	if (!e)
		return;
	fdio_detach(e->fe);
	if (e->stage)
		munmap(e->stage, e->npages * e->page);
	free(e->last_buf);
	free(e);
}

static int vms_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct vms_chan *v = chan;
	struct vms_end *e = calloc(1, sizeof(*e));
	void *fe;
	int ret, sz;

	if (!e) {
		fdio_err(err, VMS_NAME ": out of memory");
		return -ENOMEM;
	}
	ret = fdio_attach(v->fc, role, &fe, err);
	if (ret) {
		free(e);
		return ret;
	}
	e->fe = fe;
	e->is_recv = role == IPC_RECV;
	if (!e->is_recv) {
		sz = fcntl(e->fe->fd, F_GETPIPE_SZ);
		e->page = (size_t)sysconf(_SC_PAGESIZE);
		if (sz <= 0) {
			ret = -errno;
			fdio_err(err, VMS_NAME ": F_GETPIPE_SZ: %s", strerror(errno));
			goto err;
		}
		e->pipe_bufs = (uint64_t)sz / e->page;
		e->frame_pages = pages_for(v->max_msg + FDIO_HDR_LEN, e->page);
		e->npages = e->pipe_bufs + 2 * e->frame_pages;
		e->last_buf = calloc(e->npages, sizeof(*e->last_buf));
		e->stage = mmap(NULL, e->npages * e->page, PROT_READ | PROT_WRITE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (e->stage == MAP_FAILED || !e->last_buf) {
			e->stage = e->stage == MAP_FAILED ? NULL : e->stage;
			ret = -ENOMEM;
			fdio_err(err, VMS_NAME ": %zu staging pages: out of memory", e->npages);
			goto err;
		}
	}
	*end = e;
	return 0;
err:
	vms_detach(e);
	return ret;
}

static int vms_send(void *end, const void *buf, size_t len)
{
	struct vms_end *e = end;
	struct fdio_spin sp = { 0 };
	struct fdio_hdr h = { .magic = FDIO_MAGIC, .len = (uint32_t)len };
	size_t frame = FDIO_HDR_LEN + len, np = pages_for(frame, e->page), first;
	unsigned char *p;
	struct iovec iov;
	int ret;

	if (len == 0)
		return -EINVAL;
	if (len > e->fe->max_msg)
		return -EMSGSIZE;
	if (e->is_recv)
		return -EBADF;
	if (e->next + np > e->npages)
		e->next = 0; /* the frame must be contiguous: wrap */
	first = e->next;
	for (size_t i = first; i < first + np; i++)
		if (e->last_buf[i] && e->pushed - e->last_buf[i] < e->pipe_bufs)
			return -EPROTO; /* the page may not have been read yet */
	p = e->stage + first * e->page;
	memcpy(p, &h, sizeof(h));
	memcpy(p + sizeof(h), buf, len);
	iov.iov_base = p;
	iov.iov_len = frame;
	while (iov.iov_len) {
		ssize_t n = vmsplice(e->fe->fd, &iov, 1, e->fe->spin ? SPLICE_F_NONBLOCK : 0);

		if (n > 0) {
			iov.iov_base = (char *)iov.iov_base + n;
			iov.iov_len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN && e->fe->spin &&
		    !(ret = fdio_spin_wait(&sp, e->fe->timeout_ms)))
			continue;
		if (n == 0 || errno != EAGAIN)
			ret = n == 0 ? -EIO : (errno == EPIPE ? -EPIPE : -errno);
		if (iov.iov_len != frame)
			e->fe->broken = 1;
		return ret;
	}
	e->pushed += np;
	for (size_t i = first; i < first + np; i++)
		e->last_buf[i] = e->pushed;
	e->next = first + np;
	return 0;
}

static ssize_t vms_recv(void *end, void *buf, size_t cap)
{
	struct vms_end *e = end;

	if (!e->is_recv)
		return -EBADF;
	return fdio_stream_recv(e->fe, buf, cap);
}

const struct ipc_ops ipc_vmsplice_ops = {
	.name = VMS_NAME,
	.summary = "pipe fed with vmsplice() from page-aligned staging, read() out",
	.quick = IPC_QUICK_SMALL,
	.caps = vms_caps,
	.create = vms_create,
	.attach = vms_attach,
	.send = vms_send,
	.recv = vms_recv,
	.detach = vms_detach,
	.forget = vms_forget,
	.destroy = vms_destroy,
	.no_export_why = "vmsplice(2) feeds a pipe, and this one is anonymous: only a process that inherits it holds it",
};
