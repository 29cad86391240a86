/*
 * sysvshm.c - "sysv-shm": a slot ring (slotring.h) in a SysV shared-memory
 * segment, block waits in semtimedop() on a SysV semaphore set.
 *
 * The segment is made with shmget(IPC_PRIVATE, 0600), attached, and marked
 * IPC_RMID at once: Linux keeps it while any process has it attached
 * (children inherit the attachment; every end shmat()s its own, which Linux
 * allows on a segment marked for removal), so it can never be left behind,
 * not even after a SIGKILL.  The semaphore set (two semaphores: ITEMS and
 * SPACE tokens) cannot be used once removed, so it lives until destroy()
 * (IPC_RMID); an end that outlives it sees EIDRM.  A SIGKILL of the process
 * that created the channel (it runs destroy) leaves the set: ipcs -s shows
 * it and `ipcrm -s ID` removes it.
 *
 * Export (ranks of an MPI job on one host): the line carries both ids and
 * the ring's geometry.  An importer shmat()s the segment by id (allowed
 * while the creator holds its attachment, which lasts until its destroy),
 * checks its size and the set's against the line, and from then on holds
 * its own attachment.  The segment still goes with the last detach.  The
 * semaphore set is removed by the destroy of the creator AND of every
 * importer (the first one wins; the others find it gone), so a rank killed
 * mid-case leaves nothing: the surviving ranks' destroy removes it.  An
 * importer removes the set only while it is still the one it imported
 * (same creation time and size), never an id the kernel handed out again.
 * Liveness pipes cannot cross unrelated processes: an imported end has
 * none, and a wait on a dead rank ends on its timeout or on the rank's
 * abort check (ipc_abort_requested: mpirun's SIGTERM), which a blocking
 * end's peerwatch thread looks at (peerwatch.h).  Left: a creator
 * SIGKILLed before any importer imported leaves its set (as above).
 *
 * One message costs: spin, no system call; block, one semop(+1) by the
 * sender when a receiver sleeps and one semtimedop(-1) by a receiver that
 * has to sleep.  Block honours timeout_ms (semtimedop's timeout); a dead
 * peer is seen by a peerwatch thread (peerwatch.h).
 *
 * Limits read from the machine: the segment (ring) must fit kernel.shmmax
 * and kernel.shmall (pages); a set needs 2 semaphores (kernel.sem SEMMSL);
 * shmget/semget report ENOSPC when kernel.shmmni / SEMMNI / SEMMNS are used
 * up.  Messages up to SLOTRING_MAX_MSG (1 MiB).  A semaphore's value is at
 * most SEMVMX (32767): a post that finds it there (ERANGE) is dropped, as
 * a token is there already.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <time.h>
#include <unistd.h>

#include "fdio.h"
#include "names.h"
#include "slotring.h"

#define SVSHM_NAME "sysv-shm"
#define SVSHM_NSEMS 2

struct svshm_chan {
	int shmid, semid;
	void *map;          /* this process's attachment; NULL once forgotten */
	size_t ctl_size, seg_size, stride, max_msg;
	uint64_t nslots;
	pid_t creator;
	enum ipc_wait wait;
	unsigned timeout_ms;
	struct fdio_alive alive;
	int imported;       /* made by svshm_import: no liveness pipes */
	time_t sem_ctime;   /* imported: the set's, to know it at destroy */
};

struct svshm_end {
	struct slotring_end ring;
	void *map;
	int semid;
	struct timespec timeout;  /* semtimedop's, when timeout_ms */
	int timed;
	struct slotring_link link;
};

struct svshm_limits {
	unsigned long shmmax, shmall, semmsl;
	long page;
};

static int svshm_limits(struct svshm_limits *l, char *err)
{
	unsigned long sem[4];
	FILE *f;
	int ret;

	ret = fdio_read_ulong("/proc/sys/kernel/shmmax", &l->shmmax);
	if (!ret)
		ret = fdio_read_ulong("/proc/sys/kernel/shmall", &l->shmall);
	if (ret) {
		fdio_err(err, SVSHM_NAME ": cannot read kernel.shmmax/shmall: %s", strerror(-ret));
		return ret;
	}
	f = fopen("/proc/sys/kernel/sem", "re");
	if (!f || fscanf(f, "%lu %lu %lu %lu", &sem[0], &sem[1], &sem[2], &sem[3]) != 4) {
		if (f)
			fclose(f);
		fdio_err(err, SVSHM_NAME ": cannot read kernel.sem");
		return -EIO;
	}
	fclose(f);
	l->semmsl = sem[0];
	l->page = sysconf(_SC_PAGESIZE);
	return 0;
}

static int svshm_caps(struct ipc_caps *caps, char *err)
{
	struct svshm_limits l;
	int ret = svshm_limits(&l, err);

	memset(caps, 0, sizeof(*caps));
	if (ret)
		return ret;
	caps->max_msg = SLOTRING_MAX_MSG;
	/* The smallest ring (two slots and a page of control) must fit. */
	if (l.shmmax / SLOTRING_MIN_SLOTS < caps->max_msg + 4096)
		caps->max_msg = l.shmmax / SLOTRING_MIN_SLOTS > 4096 + 64 ?
			(l.shmmax / SLOTRING_MIN_SLOTS - 4096) / 64 * 64 : 0;
	caps->max_shared_send = caps->max_msg;
	caps->max_shared_recv = caps->max_msg;
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN);
	caps->keeps_boundaries = 1;
	return 0;
}

static void svshm_forget(void *chan)
{
	struct svshm_chan *c = chan;

	if (!c)
		return;
	if (c->map)
		shmdt(c->map);
	c->map = NULL;
	fdio_alive_close(&c->alive);
}

/* The set is still the one imported: its size and creation time (an id
 * the kernel reuses for a new set has a new one). */
static int svshm_same_set(const struct svshm_chan *c)
{
	struct semid_ds ds;

	if (semctl(c->semid, 0, IPC_STAT, &ds) < 0)
		return 0; /* gone already (another rank's destroy) */
	return ds.sem_nsems == SVSHM_NSEMS && ds.sem_ctime == c->sem_ctime;
}

static void svshm_destroy(void *chan)
{
	struct svshm_chan *c = chan;

	if (!c)
		return;
	svshm_forget(c);
	if (c->semid >= 0 && (!c->imported || svshm_same_set(c)))
		semctl(c->semid, 0, IPC_RMID);
	if (!c->imported)
		ipc_sysv_untrack(IPC_SYSV_SEM, c->semid);
	free(c);
}

/* 0 or -errno; on error nothing is left. */
static int svshm_create(const struct ipc_params *p, void **chan, char *err)
{
	struct svshm_limits l;
	struct ipc_caps caps;
	struct svshm_chan *c;
	unsigned short zero[SVSHM_NSEMS] = { 0 };
	int ret;

	ret = svshm_caps(&caps, err);
	if (!ret && p->max_msg > caps.max_msg) {
		fdio_err(err, SVSHM_NAME ": message size %zu needs a segment of two slots over "
			 "kernel.shmmax; raise it with: sysctl -w kernel.shmmax=%zu", p->max_msg,
			 2 * (p->max_msg + 4096));
		return -EMSGSIZE;
	}
	if (!ret)
		ret = fdio_check_params(SVSHM_NAME, &caps, p, err);
	if (!ret)
		ret = svshm_limits(&l, err);
	if (ret)
		return ret;
	if (l.semmsl < SVSHM_NSEMS) {
		fdio_err(err, SVSHM_NAME ": kernel.sem SEMMSL is %lu, a channel needs %d semaphores "
			 "in one set; raise it in /proc/sys/kernel/sem", l.semmsl, SVSHM_NSEMS);
		return -ENOTSUP;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		fdio_err(err, SVSHM_NAME ": out of memory");
		return -ENOMEM;
	}
	c->shmid = c->semid = -1;
	fdio_alive_reset(&c->alive);
	c->creator = getpid();
	c->wait = p->wait;
	c->timeout_ms = p->timeout_ms;
	c->max_msg = p->max_msg;
	ret = slotring_geometry(SVSHM_NAME, p->max_msg, p->depth, &c->nslots, &c->stride,
				&c->ctl_size, err);
	if (ret)
		goto err;
	c->ctl_size = (c->ctl_size + 4095) / 4096 * 4096;
	c->seg_size = c->ctl_size + (size_t)c->nslots * c->stride;
	if (c->seg_size > l.shmmax ||
	    (c->seg_size + (size_t)l.page - 1) / (size_t)l.page > l.shmall) {
		fdio_err(err, SVSHM_NAME ": a ring of %llu x %zu bytes needs a %zu-byte segment, over "
			 "kernel.shmmax = %lu or kernel.shmall = %lu pages",
			 (unsigned long long)c->nslots, c->stride, c->seg_size, l.shmmax, l.shmall);
		ret = -EINVAL;
		goto err;
	}
	c->shmid = shmget(IPC_PRIVATE, c->seg_size, IPC_CREAT | IPC_EXCL | 0600);
	ipc_sysv_track(IPC_SYSV_SHM, c->shmid);
	if (c->shmid < 0) {
		ret = -errno;
		fdio_err(err, SVSHM_NAME ": shmget %zu bytes: %s%s", c->seg_size, strerror(errno),
			 errno == ENOSPC ? " (kernel.shmmni or kernel.shmall used up)" : "");
		goto err;
	}
	c->map = shmat(c->shmid, NULL, 0);
	ret = c->map == (void *)-1 ? -errno : 0;
	shmctl(c->shmid, IPC_RMID, NULL); /* gone with the last detach */
	ipc_sysv_untrack(IPC_SYSV_SHM, c->shmid);
	if (ret) {
		c->map = NULL;
		fdio_err(err, SVSHM_NAME ": shmat: %s", strerror(-ret));
		goto err;
	}
	slotring_init(c->map, c->nslots);
	c->semid = semget(IPC_PRIVATE, SVSHM_NSEMS, IPC_CREAT | IPC_EXCL | 0600);
	ipc_sysv_track(IPC_SYSV_SEM, c->semid);
	if (c->semid < 0) {
		ret = -errno;
		fdio_err(err, SVSHM_NAME ": semget: %s%s", strerror(errno),
			 errno == ENOSPC ? " (kernel.sem SEMMNI or SEMMNS used up)" : "");
		goto err;
	}
	if (semctl(c->semid, 0, SETALL, zero) < 0) {
		ret = -errno;
		fdio_err(err, SVSHM_NAME ": semctl(SETALL): %s", strerror(errno));
		goto err;
	}
	ret = fdio_alive_open(&c->alive);
	if (ret) {
		fdio_err(err, SVSHM_NAME ": pipe: %s", strerror(-ret));
		goto err;
	}
	*chan = c;
	return 0;
err:
	svshm_destroy(c);
	return ret;
}

static int svshm_wait(void *ctx, enum slotring_which which)
{
	struct svshm_end *e = ctx;
	struct sembuf op = { .sem_num = (unsigned short)which, .sem_op = -1, .sem_flg = 0 };

	if (semtimedop(e->semid, &op, 1, e->timed ? &e->timeout : NULL) == 0)
		return 0;
	if (errno == EAGAIN)
		return -ETIMEDOUT;
	if (errno == EIDRM || errno == EINVAL)
		return -EPIPE; /* the channel was destroyed under us */
	return -errno;
}

static void svshm_post(void *ctx, enum slotring_which which)
{
	struct svshm_end *e = ctx;
	struct sembuf op = { .sem_num = (unsigned short)which, .sem_op = 1, .sem_flg = 0 };

	while (semop(e->semid, &op, 1) < 0 && errno == EINTR)
		;
}

static const struct slotring_wake_ops svshm_wake = { .wait = svshm_wait, .post = svshm_post };

static void svshm_detach(void *end)
{
	struct svshm_end *e = end;

	if (!e)
		return;
	slotring_link_detach(&e->link);
	if (e->map)
		shmdt(e->map);
	free(e);
}

static int svshm_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct svshm_chan *c = chan;
	struct svshm_end *e;
	int ret;

	if (role != IPC_SEND && role != IPC_RECV) {
		fdio_err(err, SVSHM_NAME ": bad role %d", (int)role);
		return -EINVAL;
	}
	if (!c->map) {
		fdio_err(err, SVSHM_NAME ": attach after forget");
		return -EBADF;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		fdio_err(err, SVSHM_NAME ": out of memory");
		return -ENOMEM;
	}
	slotring_link_reset(&e->link);
	e->semid = c->semid;
	e->timed = c->timeout_ms != 0;
	e->timeout.tv_sec = c->timeout_ms / 1000;
	e->timeout.tv_nsec = (long)(c->timeout_ms % 1000) * 1000000L;
	e->map = shmat(c->shmid, NULL, 0);
	if (e->map == (void *)-1) {
		e->map = NULL;
		ret = -errno;
		fdio_err(err, SVSHM_NAME ": shmat: %s", strerror(errno));
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
		.wake = &svshm_wake,
		.wake_ctx = e,
	};
	ret = slotring_link_attach(&e->link, &e->ring, &c->alive, role, getpid() != c->creator,
				   SVSHM_NAME, err);
	if (ret)
		goto err;
	*end = e;
	return 0;
err:
	svshm_detach(e);
	return ret;
}

static int svshm_export(void *chan, char *text, size_t cap, char *err)
{
	const struct svshm_chan *c = chan;
	int n;

	if (c->imported || !c->map || c->semid < 0) {
		fdio_err(err, SVSHM_NAME ": only its creator, before forget, can export it");
		return -EINVAL;
	}
	n = snprintf(text, cap, "max=%zu slots=%llu stride=%zu ctl=%zu wait=%s timeout=%u shmid=%d semid=%d",
		     c->max_msg, (unsigned long long)c->nslots, c->stride, c->ctl_size, ipc_wait_name(c->wait),
		     c->timeout_ms, c->shmid, c->semid);
	if (n < 0 || (size_t)n >= cap) {
		fdio_err(err, SVSHM_NAME ": export needs %d bytes, have %zu", n, cap);
		return -ENOSPC;
	}
	return 0;
}

/* The line's geometry as create would have made it for its max_msg. */
static int svshm_import_geometry(struct svshm_chan *c, unsigned long long slots, char *err)
{
	uint64_t nslots;
	size_t stride, ctl;

	if (c->max_msg < 1 || c->max_msg > SLOTRING_MAX_MSG || slots > UINT32_MAX ||
	    slotring_geometry(SVSHM_NAME, c->max_msg, (unsigned)slots, &nslots, &stride, &ctl, err) < 0 ||
	    nslots != slots || stride != c->stride || (ctl + 4095) / 4096 * 4096 != c->ctl_size)
		return -EINVAL;
	c->nslots = nslots;
	c->seg_size = c->ctl_size + (size_t)nslots * stride;
	return 0;
}

/* Attach the creator's segment and take its set, by id (its host only). */
static int svshm_import(const char *text, void **chan, char *err)
{
	struct svshm_chan *c = calloc(1, sizeof(*c));
	unsigned long long slots = 0;
	struct shmid_ds sds;
	struct semid_ds ds;
	char wait[16];
	int ret;

	if (!c) {
		fdio_err(err, SVSHM_NAME ": out of memory");
		return -ENOMEM;
	}
	c->shmid = c->semid = -1;
	c->imported = 1;
	c->creator = getpid();
	fdio_alive_reset(&c->alive);
	if (sscanf(text, "max=%zu slots=%llu stride=%zu ctl=%zu wait=%15s timeout=%u shmid=%d semid=%d", &c->max_msg,
		   &slots, &c->stride, &c->ctl_size, wait, &c->timeout_ms, &c->shmid, &c->semid) != 8 ||
	    c->shmid < 0 || c->semid < 0 || ipc_wait_parse(wait, &c->wait) || c->wait == IPC_WAIT_HYBRID ||
	    svshm_import_geometry(c, slots, NULL) < 0) {
		fdio_err(err, SVSHM_NAME ": cannot import '%.80s' (want max=BYTES slots=N stride=BYTES ctl=BYTES wait=W timeout=MS shmid=ID semid=ID)",
			 text);
		c->semid = -1; /* not ours to remove */
		svshm_destroy(c);
		return -EINVAL;
	}
	ret = 0;
	if (shmctl(c->shmid, IPC_STAT, &sds) < 0 || semctl(c->semid, 0, IPC_STAT, &ds) < 0)
		ret = -errno;
	else if (sds.shm_segsz != c->seg_size || ds.sem_nsems != SVSHM_NSEMS)
		ret = -EPROTO;
	if (ret) {
		fdio_err(err, SVSHM_NAME ": shmid %d / semid %d: %s (the ids are reached on their creator's host only)",
			 c->shmid, c->semid, ret == -EPROTO ? "not the sizes the export line says" : strerror(-ret));
		c->semid = -1;
		svshm_destroy(c);
		return ret;
	}
	c->sem_ctime = ds.sem_ctime;
	c->map = shmat(c->shmid, NULL, 0);
	if (c->map == (void *)-1) {
		ret = -errno;
		c->map = NULL;
		fdio_err(err, SVSHM_NAME ": shmat %d: %s", c->shmid, strerror(-ret));
		c->semid = -1;
		svshm_destroy(c);
		return ret;
	}
	*chan = c;
	return 0;
}

static int svshm_send(void *end, const void *buf, size_t len)
{
	return slotring_send(&((struct svshm_end *)end)->ring, buf, len);
}

static ssize_t svshm_recv(void *end, void *buf, size_t cap)
{
	return slotring_recv(&((struct svshm_end *)end)->ring, buf, cap);
}

const struct ipc_ops ipc_sysv_shm_ops = {
	.name = SVSHM_NAME,
	.summary = "slot ring in a SysV shared-memory segment, block waits in semtimedop()",
	.quick = IPC_QUICK_SMALL,
	.caps = svshm_caps,
	.create = svshm_create,
	.attach = svshm_attach,
	.send = svshm_send,
	.recv = svshm_recv,
	.detach = svshm_detach,
	.forget = svshm_forget,
	.destroy = svshm_destroy,
	.export_chan = svshm_export,
	.import_chan = svshm_import,
};
