/*
 * shmring.c - our own shared-memory ring: variable-size messages in a POSIX
 * shm object, SPSC fast path and an MPMC form, spin / futex / hybrid waits.
 *
 * Layout and record format: shmring.h.
 *
 * The shm object is unlinked right after it is mapped in create(): children
 * inherit the mapping through fork, and no name can leak even when every
 * process is SIGKILLed.  destroy() only unmaps.
 *
 * Export (ranks of an MPI job on one host, params.exported): the name must
 * outlive create until every rank that imports it has opened it, so an
 * exported channel keeps its name and export_chan publishes it with the
 * geometry.  An importer opens it (no O_CREAT), checks its size against
 * the geometry of the line (its trusted copy; the control area is never
 * trusted) and maps it.  The name goes at the earliest moment nobody needs
 * it: the attach that brings the attached count to senders + receivers
 * (every importer attaches after it imported, so all have opened it)
 * unlinks it, in whichever rank that is.  destroy() of the creator and of
 * every importer unlinks it too (ENOENT is fine; names are unique per run),
 * so a case that fails before everyone attached leaves nothing, nor does a
 * rank killed after the attach (the other ranks' destroy).  The creator's
 * name stays in ipc_names_sweep()'s table (names.h) for its second signal.
 * Left: a creator SIGKILLed between create and the last attach, with no
 * importer that opened the name yet, leaves it (nobody else knows it).
 *
 * MPMC: each side reserves with a CAS on its head, works on its own
 * reservation without any lock, then releases in order (waits until its tail
 * equals the start of its reservation, stores tail = end).  Chosen over a
 * lock because a reservation CAS never blocks a peer while it copies; the
 * in-order release is the price (a preempted peer delays the release of
 * later ones, so that wait yields the CPU once it has spun for a while).
 * Chosen over per-record commit flags because the consumer would have to
 * clear them, and because the same code serves fan-in and fan-out.
 *
 * Trust: the geometry (data size, max message) a process uses is its
 * private copy from create(); every index or length read from shared memory
 * is bounds-checked and a violation returns -EPROTO.
 *
 * Why this file is long: the ring is one data structure whose SPSC and MPMC
 * paths, three waits and bounds-checked reader share private helpers and
 * invariants; split across files they could no longer be read together.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomics.h"
#include "errline.h"
#include "futex.h"
#include "ipc.h"
#include "names.h"
#include "shmring.h"

/* Largest message: 1 MiB, the largest size of the full profile and the
 * pipe-max-size of the reference machine, so every mechanism can be compared
 * up to it.  A ring must hold two such records (see SHMRING_MIN_DEPTH). */
#define SHMRING_MAX_MSG ((size_t)1 << 20)
/* depth 0: room for this many largest messages (16 MiB of ring at 1 MiB). */
#define SHMRING_DEFAULT_DEPTH 8u
/* A largest record must always fit after a wrap skip, which needs a data
 * area of at least two records; a smaller depth is rounded up to this. */
#define SHMRING_MIN_DEPTH 2u
/* At least 64 KiB of data: small messages get hundreds of slots, so
 * producer and consumer work on different cache lines almost always. */
#define SHMRING_MIN_DATA ((uint64_t)64 << 10)
/* At most 1 GiB per channel: refuse rather than eat the tmpfs. */
#define SHMRING_MAX_DATA ((uint64_t)1 << 30)
/* A waiting side asks whether its peers are alive this often (time-based:
 * a few ms bounds how late a death is seen, and costs nothing measurable). */
#define SHMRING_PEER_CHECK_NS 5000000ull
/* Spins between two clock reads in a spin wait (~a microsecond of pause). */
#define SHMRING_SPINS_PER_CLOCK 64u
/* Hybrid: spin this long, then sleep.  About one cross-core futex wake-up
 * on the reference machine: spinning longer than a sleep would cost is
 * never worth it (the 2-competitive rule). */
#define SHMRING_HYBRID_SPIN_NS 20000ull
/* In-order release (MPMC): spin this long, then sleep briefly between
 * checks: the peer we wait for is probably preempted.  A sleep, not
 * sched_yield(): under CFS a yield from a spinning task rarely hands the CPU
 * to the preempted one, and with more processes than CPUs a convoy of
 * waiters then advances one scheduler tick at a time (seen: a 4-consumer
 * fanout on 2 CPUs slowed from ~1 us to ms per message).  The sleep takes
 * the waiter off the run queue so the holder runs. */
#define SHMRING_ORDER_SPIN_NS 50000ull
#define SHMRING_ORDER_SLEEP_NS 20000l
/* Spin wait: after this long without progress the other side is not
 * running (more processes than CPUs, or preempted), so further spinning
 * only delays it: nap SHMRING_ORDER_SLEEP_NS between polls.  Far above any
 * hand-off between running processes (~0.1-1 us), so spin stays spin. */
#define SHMRING_SPIN_NAP_AFTER_NS 200000ull

/*
 * Coalesced wake-ups (block and hybrid senders).  A receiver that has
 * caught up goes to sleep at once; where a FUTEX_WAKE costs microseconds
 * (a VM: ~1 us per system call plus the cross-CPU IPI) a sender then pays
 * one wake per message and a block stream runs at a tenth of spin.
 *
 * So a receiver that finds the sender ahead of it goes to sleep briefly:
 * if it took at least SHMRING_STREAM_MIN messages since it last slept (the
 * sender published more than one message per wake-up: it streams), its
 * first sleep in a receive call is a short one, at most
 * SHMRING_COALESCE_NS, and says so in the flag it raises
 * (SHMRING_ARMED_SHORT instead of SHMRING_ARMED).  A sender that finds a
 * short sleeper may leave it up to SHMRING_WAKE_BATCH messages (or a
 * quarter of the ring) before it wakes it.  The decision costs the sender
 * nothing it did not already do (it reads the flag to know whether to
 * wake) and no clock read on either side.  Nothing is stranded: a deferred
 * message is published while the receiver is in a sleep that ends by
 * itself within SHMRING_COALESCE_NS, and a receiver that found nothing
 * after it raises the plain flag (Dekker again) before it sleeps longer,
 * which every later publish answers with a wake.  A sender about to wait
 * for space wakes first; detach wakes everyone.  A ping-pong never defers:
 * its receiver takes one message per sleep, so it never sleeps short.
 */
#define SHMRING_STREAM_MIN 2u
#define SHMRING_WAKE_BATCH 256u
#define SHMRING_COALESCE_NS 50000ull
#define SHMRING_ARMED 1u
#define SHMRING_ARMED_SHORT 2u

#define NS_PER_MS 1000000ull

struct shmring_chan {
	void *base;              /* NULL after forget */
	size_t map_len;
	struct shmring_ctl *ctl;
	unsigned char *data;
	uint64_t size;           /* data bytes, power of two (trusted copy) */
	uint64_t max_msg;        /* trusted copy */
	struct ipc_params p;
	bool mpmc;
	/* Exported (creator) or imported: the shm name until someone
	 * unlinked it ("" once this process did, and in a forked pool). */
	char name[IPC_NAME_MAX];
};

struct shmring_end {
	struct shmring_ctl *ctl;
	unsigned char *data;
	uint64_t size, mask, max_msg;
	bool mpmc;
	enum ipc_role role;
	enum ipc_wait wait;
	unsigned timeout_ms;
	unsigned expect[2];      /* senders, receivers that will attach */
	unsigned slot;           /* our slot in ctl->pids[role] */
	int32_t pid;
	/* SPSC only: our own index (authoritative) and the other side's,
	 * cached so the shared line is read only when it must be. */
	uint64_t pos;
	uint64_t other;
	/* Block and hybrid: coalesced wake-ups (SHMRING_WAKE_BATCH). */
	unsigned deferred;       /* sender: messages published without a wake */
	uint64_t deferred_bytes;
	unsigned taken;          /* receiver: messages taken since it slept */
};

/* One wait (one send or recv call that cannot progress at once). */
struct shmring_wait {
	bool started;
	bool sleeping;           /* hybrid: spin phase over */
	bool slept;              /* a futex sleep happened in this wait */
	uint64_t start_ns;
	uint64_t next_check_ns;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t rec_size(uint64_t len)
{
	return SHMRING_ALIGN + ((len + SHMRING_ALIGN - 1) & ~(uint64_t)(SHMRING_ALIGN - 1));
}

static inline _Atomic uint64_t *hdr_at(const struct shmring_end *e, uint64_t off)
{
	return (_Atomic uint64_t *)(void *)(e->data + off);
}

static bool pid_alive(int32_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return false;
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return false;
	/* kill() succeeds on a zombie: look at its state. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno != ENOENT;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return true;
	return p[2] != 'Z' && p[2] != 'X';
}

/* Every expected process of `side` attached once and none is alive now. */
static bool side_gone(const struct shmring_end *e, int side)
{
	if (ipc_load_acquire(&e->ctl->attached_ever[side]) < e->expect[side])
		return false;
	for (unsigned i = 0; i < SHMRING_MAX_PEERS; i++)
		if (pid_alive(ipc_load_relaxed(&e->ctl->pids[side][i])))
			return false;
	return true;
}

/* Some process of `side` other than us died without detaching. */
static bool side_lost_one(const struct shmring_end *e, int side)
{
	for (unsigned i = 0; i < SHMRING_MAX_PEERS; i++) {
		int32_t pid = ipc_load_relaxed(&e->ctl->pids[side][i]);

		if (pid > 0 && pid != e->pid && !pid_alive(pid))
			return true;
	}
	return false;
}

/* Time limits and peer death, checked while waiting.  0 or -errno. */
static int wait_check(const struct shmring_end *e, struct shmring_wait *w, uint64_t now)
{
	int other = e->role == IPC_SEND ? SHMRING_SIDE_RECV : SHMRING_SIDE_SEND;

	if (e->timeout_ms && now - w->start_ns >= e->timeout_ms * NS_PER_MS)
		return -ETIMEDOUT;
	if (now >= w->next_check_ns) {
		w->next_check_ns = now + SHMRING_PEER_CHECK_NS;
		if (side_gone(e, other))
			return -EPIPE;
		if (ipc_abort_requested()) /* an MPI rank told to stop */
			return -EINTR;
	}
	return 0;
}

static void wait_start(struct shmring_wait *w)
{
	w->started = true;
	w->sleeping = false;
	w->start_ns = now_ns();
	w->next_check_ns = w->start_ns + SHMRING_PEER_CHECK_NS;
}

/*
 * Wait once until *idx differs from seen (the other side moved), or a
 * bounded time passed.  The caller re-checks its condition afterwards.
 * 0, -ETIMEDOUT, or -EPIPE (every peer of the other side is gone).
 */
static int wait_once(struct shmring_end *e, struct shmring_wait *w,
		     _Atomic uint64_t *idx, uint64_t seen)
{
	_Atomic uint32_t *seq, *armed;
	uint64_t now, slice;
	bool short_sleep;
	uint32_t s;

	if (!w->started)
		wait_start(w);
	if (e->wait == IPC_WAIT_SPIN || (e->wait == IPC_WAIT_HYBRID && !w->sleeping)) {
		for (unsigned i = 0; i < SHMRING_SPINS_PER_CLOCK; i++) {
			cpu_relax();
			if (ipc_load_acquire(idx) != seen)
				return 0;
		}
		now = now_ns();
		if (e->wait == IPC_WAIT_HYBRID && now - w->start_ns >= SHMRING_HYBRID_SPIN_NS)
			w->sleeping = true;
		else if (now - w->start_ns >= SHMRING_SPIN_NAP_AFTER_NS) {
			struct timespec nap = { 0, SHMRING_ORDER_SLEEP_NS };

			nanosleep(&nap, NULL);
		}
		return wait_check(e, w, now);
	}

	if (e->role == IPC_RECV) {
		seq = &e->ctl->data_seq;
		armed = &e->ctl->data_armed;
	} else {
		seq = &e->ctl->space_seq;
		armed = &e->ctl->space_armed;
	}
	/* A receiver's first sleep is short while the sender streams (we took
	 * several messages since our last sleep), and says so: the sender may
	 * then defer our wake-up (SHMRING_WAKE_BATCH).  Otherwise (a
	 * ping-pong) it sleeps as long as it takes. */
	short_sleep = e->role == IPC_RECV && !w->slept && e->taken >= SHMRING_STREAM_MIN;
	slice = short_sleep ? SHMRING_COALESCE_NS : SHMRING_PEER_CHECK_NS;
	w->slept = true;
	e->taken = 0;
	if (e->timeout_ms) {
		uint64_t end = w->start_ns + e->timeout_ms * NS_PER_MS;

		now = now_ns();
		if (now >= end)
			return -ETIMEDOUT;
		if (end - now < slice)
			slice = end - now;
	}
	s = ipc_load_acquire(seq);
	/* Dekker with wake_other(): the other side publishes, fences, then
	 * reads the flag; we raise the flag (a seq_cst RMW), then re-check.
	 * Either it sees the flag or we see its index move. */
	ipc_exchange(armed, short_sleep ? SHMRING_ARMED_SHORT : SHMRING_ARMED);
	if (ipc_load_acquire(idx) == seen)
		(void)futex_wait(seq, s, slice);
	/* The flag is left as it is: another sleeper of our side may have
	 * raised it too.  A waker that finds it raised after we left pays
	 * one FUTEX_WAKE for nobody, once. */
	return wait_check(e, w, now_ns());
}

/*
 * After moving our index: wake the sleepers of the other side, if any.
 *
 * One FUTEX_WAKE per sleep, not per message: the flag is taken down by the
 * waker that wakes (an exchange, so of several wakers only one calls the
 * kernel).  A count of sleepers that each sleeper decrements itself, as
 * before, stays up from the wake until the sleeper has run again (a cross-
 * CPU wake-up, microseconds), and every message published meanwhile paid a
 * FUTEX_WAKE for a sleeper already woken: measured 55k wakes against 8.8k
 * sleeps in a 64 B block stream.  All sleepers are woken (they share the
 * flag); each re-checks and the losers raise it again.
 */
static inline void wake_other(const struct shmring_end *e)
{
	_Atomic uint32_t *seq, *armed;

	if (e->wait == IPC_WAIT_SPIN)
		return;
	if (e->role == IPC_SEND) {
		seq = &e->ctl->data_seq;
		armed = &e->ctl->data_armed;
	} else {
		seq = &e->ctl->space_seq;
		armed = &e->ctl->space_armed;
	}
	ipc_fence_full();
	if (ipc_load_relaxed(armed) == 0 || ipc_exchange(armed, 0) == 0)
		return;
	ipc_fetch_add(seq, 1);
	(void)futex_wake(seq, INT_MAX);
}

/* A sender about to wait, or leaving: wake what it deferred. */
static void wake_deferred(struct shmring_end *e)
{
	if (e->deferred) {
		e->deferred = 0;
		e->deferred_bytes = 0;
		wake_other(e);
	}
}

/*
 * After a send published bytes: wake the receivers now, or defer while
 * a short sleeper waits for a batch (SHMRING_WAKE_BATCH).  Nothing in spin;
 * in block and hybrid the fence and the flag read any wake decision needs.
 */
static void wake_receivers(struct shmring_end *e, uint64_t bytes)
{
	uint32_t armed;

	if (e->wait == IPC_WAIT_SPIN)
		return;
	ipc_fence_full(); /* Dekker: our publish before reading the flag */
	armed = ipc_load_relaxed(&e->ctl->data_armed);
	if (armed == 0) {
		e->deferred = 0; /* nobody asleep: nothing owed */
		e->deferred_bytes = 0;
		return;
	}
	if (armed == SHMRING_ARMED_SHORT &&
	    e->deferred + 1 < SHMRING_WAKE_BATCH &&
	    e->deferred_bytes + bytes < e->size / 4) {
		e->deferred++;
		e->deferred_bytes += bytes;
		return;
	}
	e->deferred = 0;
	e->deferred_bytes = 0;
	wake_other(e);
}

/*
 * MPMC in-order release: wait until *tail reaches our reservation start.
 * 0, -EPROTO (tail beyond us or absurdly far behind), -ETIMEDOUT, -EPIPE
 * (a process of our side died, so its reservation will never be released).
 */
static int wait_turn(const struct shmring_end *e, _Atomic uint64_t *tail, uint64_t start)
{
	struct shmring_wait w = { 0 };
	unsigned spins = 0;

	for (;;) {
		uint64_t t = ipc_load_acquire(tail);
		uint64_t now;

		if (t == start)
			return 0;
		if (start - t > e->size) /* also catches t > start */
			return -EPROTO;
		cpu_relax();
		if (++spins % SHMRING_SPINS_PER_CLOCK)
			continue;
		if (!w.started)
			wait_start(&w);
		now = now_ns();
		if (now - w.start_ns >= SHMRING_ORDER_SPIN_NS) {
			struct timespec nap = { 0, SHMRING_ORDER_SLEEP_NS };

			nanosleep(&nap, NULL);
		}
		if (e->timeout_ms && now - w.start_ns >= e->timeout_ms * NS_PER_MS)
			return -ETIMEDOUT;
		if (now >= w.next_check_ns) {
			w.next_check_ns = now + SHMRING_PEER_CHECK_NS;
			if (side_lost_one(e, (int)e->role))
				return -EPIPE;
		}
	}
}

/*
 * Parse the record at index pos, with avail published bytes from pos.
 * On success: *len payload bytes at data offset *payload, *total bytes
 * consumed (wrap skip included).  -EPROTO when anything is out of bounds.
 */
static int parse_record(const struct shmring_end *e, uint64_t pos, uint64_t avail,
			uint32_t *len, uint64_t *payload, uint64_t *total)
{
	uint64_t off = pos & e->mask, skip = 0, h, rec;
	uint32_t l;

	if (avail < SHMRING_ALIGN)
		return -EPROTO;
	h = ipc_load_relaxed(hdr_at(e, off));
	l = (uint32_t)h;
	if ((uint32_t)(h >> 32) != shmring_chk(l, pos))
		return -EPROTO;
	if (l == SHMRING_WRAP) {
		if (off == 0)
			return -EPROTO;
		skip = e->size - off;
		if (avail < skip + SHMRING_ALIGN)
			return -EPROTO;
		off = 0;
		h = ipc_load_relaxed(hdr_at(e, 0));
		l = (uint32_t)h;
		if ((uint32_t)(h >> 32) != shmring_chk(l, pos + skip) || l == SHMRING_WRAP)
			return -EPROTO;
	}
	if (l == 0 || l > e->max_msg)
		return -EPROTO;
	rec = rec_size(l);
	if (off + rec > e->size || skip + rec > avail)
		return -EPROTO;
	*len = l;
	*payload = off + SHMRING_ALIGN;
	*total = skip + rec;
	return 0;
}

/* Bytes a record of rec bytes takes at index pos (wrap skip included). */
static inline uint64_t need_at(const struct shmring_end *e, uint64_t pos, uint64_t rec)
{
	uint64_t off = pos & e->mask;

	return off + rec > e->size ? rec + (e->size - off) : rec;
}

/* Write a record (and its wrap marker) reserved at pos; need from need_at. */
static inline void put_record(const struct shmring_end *e, uint64_t pos, uint64_t rec,
			      uint64_t need, const void *buf, uint32_t len)
{
	uint64_t off = pos & e->mask;

	if (need != rec) {
		ipc_store_relaxed(hdr_at(e, off), shmring_hdr(SHMRING_WRAP, pos));
		pos += e->size - off;
		off = 0;
	}
	memcpy(e->data + off + SHMRING_ALIGN, buf, len);
	ipc_store_relaxed(hdr_at(e, off), shmring_hdr(len, pos));
}

static int send_spsc(struct shmring_end *e, const void *buf, uint32_t len)
{
	struct shmring_ctl *c = e->ctl;
	uint64_t pos = e->pos, rec = rec_size(len), need = need_at(e, pos, rec);
	struct shmring_wait w = { 0 };

	while (pos + need - e->other > e->size) {
		uint64_t ct = ipc_load_acquire(&c->cons_tail);
		int r;

		if (pos - ct > e->size || (ct & (SHMRING_ALIGN - 1)))
			return -EPROTO;
		e->other = ct;
		if (pos + need - ct <= e->size)
			break;
		wake_deferred(e);
		r = wait_once(e, &w, &c->cons_tail, ct);
		if (r < 0)
			return r;
	}
	put_record(e, pos, rec, need, buf, len);
	e->pos = pos + need;
	ipc_store_release(&c->prod_tail, e->pos);
	wake_receivers(e, need);
	return 0;
}

static int send_mpmc(struct shmring_end *e, const void *buf, uint32_t len)
{
	struct shmring_ctl *c = e->ctl;
	uint64_t rec = rec_size(len), h, need;
	struct shmring_wait w = { 0 };
	int r;

	for (;;) {
		uint64_t ct;

		h = ipc_load_acquire(&c->prod_head);
		ct = ipc_load_acquire(&c->cons_tail);
		if (h - ct > e->size || ((h | ct) & (SHMRING_ALIGN - 1))) {
			/* Only corrupt if prod_head did not move meanwhile. */
			ipc_fence_acquire();
			if (ipc_load_acquire(&c->prod_head) == h)
				return -EPROTO;
			continue;
		}
		need = need_at(e, h, rec);
		if (h + need - ct > e->size) {
			wake_deferred(e);
			r = wait_once(e, &w, &c->cons_tail, ct);
			if (r < 0)
				return r;
			continue;
		}
		if (ipc_cas(&c->prod_head, &h, h + need))
			break;
	}
	put_record(e, h, rec, need, buf, len);
	r = wait_turn(e, &c->prod_tail, h);
	if (r < 0)
		return r;
	ipc_store_release(&c->prod_tail, h + need);
	wake_receivers(e, need);
	return 0;
}

static ssize_t recv_spsc(struct shmring_end *e, void *buf, size_t cap)
{
	struct shmring_ctl *c = e->ctl;
	uint64_t pos = e->pos, payload, total;
	struct shmring_wait w = { 0 };
	uint32_t len;
	int r;

	while (e->other == pos) {
		uint64_t pt = ipc_load_acquire(&c->prod_tail);

		if (pt != pos) {
			if (pt - pos > e->size || (pt & (SHMRING_ALIGN - 1)))
				return -EPROTO;
			e->other = pt;
			break;
		}
		r = wait_once(e, &w, &c->prod_tail, pt);
		if (r == -EPIPE) {
			/* Senders gone: whatever they published is still ours. */
			if (ipc_load_acquire(&c->prod_tail) == pos)
				return -EPIPE;
			continue;
		}
		if (r < 0)
			return r;
	}
	r = parse_record(e, pos, e->other - pos, &len, &payload, &total);
	if (r < 0)
		return r;
	if (len > cap)
		return -EMSGSIZE;
	memcpy(buf, e->data + payload, len);
	e->pos = pos + total;
	ipc_store_release(&c->cons_tail, e->pos);
	wake_other(e);
	e->taken++;
	return (ssize_t)len;
}

static ssize_t recv_mpmc(struct shmring_end *e, void *buf, size_t cap)
{
	struct shmring_ctl *c = e->ctl;
	struct shmring_wait w = { 0 };
	uint64_t h, payload, total;
	uint32_t len;
	int r;

	for (;;) {
		uint64_t pt;

		h = ipc_load_acquire(&c->cons_head);
		pt = ipc_load_acquire(&c->prod_tail);
		if (pt == h) {
			r = wait_once(e, &w, &c->prod_tail, pt);
			if (r == -EPIPE) {
				if (ipc_load_acquire(&c->prod_tail) ==
				    ipc_load_acquire(&c->cons_head))
					return -EPIPE;
				continue;
			}
			if (r < 0)
				return r;
			continue;
		}
		r = 0;
		if (pt - h > e->size || ((h | pt) & (SHMRING_ALIGN - 1)))
			r = -EPROTO;
		else
			r = parse_record(e, h, pt - h, &len, &payload, &total);
		if (r == 0 && len > cap)
			r = -EMSGSIZE;
		if (r < 0) {
			/* What we read may be stale: only an error if no other
			 * receiver moved cons_head meanwhile. */
			ipc_fence_acquire();
			if (ipc_load_acquire(&c->cons_head) == h)
				return r;
			continue;
		}
		if (ipc_cas(&c->cons_head, &h, h + total))
			break;
	}
	memcpy(buf, e->data + payload, len);
	r = wait_turn(e, &c->cons_tail, h);
	if (r < 0)
		return r;
	ipc_store_release(&c->cons_tail, h + total);
	wake_other(e);
	e->taken++;
	return (ssize_t)len;
}

static int shmring_send(void *end, const void *buf, size_t len)
{
	struct shmring_end *e = end;

	if (!e || e->role != IPC_SEND || (!buf && len))
		return -EINVAL;
	if (len == 0)
		return -EINVAL;
	if (len > e->max_msg)
		return -EMSGSIZE;
	return e->mpmc ? send_mpmc(e, buf, (uint32_t)len) : send_spsc(e, buf, (uint32_t)len);
}

static ssize_t shmring_recv(void *end, void *buf, size_t cap)
{
	struct shmring_end *e = end;

	if (!e || e->role != IPC_RECV || (!buf && cap))
		return -EINVAL;
	return e->mpmc ? recv_mpmc(e, buf, cap) : recv_spsc(e, buf, cap);
}

static int shmring_caps(struct ipc_caps *caps, char *err)
{
	(void)err;
	memset(caps, 0, sizeof(*caps));
	caps->max_msg = SHMRING_MAX_MSG;
	caps->max_shared_send = SHMRING_MAX_MSG;
	caps->max_shared_recv = SHMRING_MAX_MSG;
	caps->max_depth = 0; /* bounded by ring bytes (SHMRING_MAX_DATA), not a count */
	caps->waits = IPC_WAIT_BIT(IPC_WAIT_BLOCK) | IPC_WAIT_BIT(IPC_WAIT_SPIN) |
		      IPC_WAIT_BIT(IPC_WAIT_HYBRID);
	caps->keeps_boundaries = 1; /* records: boundaries kept by the ring */
	return 0;
}

#define set_err ipc_err /* the shared error-line formatter (errline.h) */

static int shmring_create(const struct ipc_params *p, void **chanp, char *err)
{
	struct shmring_chan *ch;
	char name[IPC_NAME_MAX];
	uint64_t rec, want, size;
	unsigned depth;
	size_t total;
	void *base;
	int fd, r;

	if (!p || !chanp) {
		set_err(err, "shmring: no parameters");
		return -EINVAL;
	}
	if (p->max_msg == 0) {
		set_err(err, "shmring: max_msg 0: must be 1..%zu bytes", SHMRING_MAX_MSG);
		return -EINVAL;
	}
	if (p->max_msg > SHMRING_MAX_MSG) {
		set_err(err, "shmring: max_msg %zu over the limit of %zu bytes",
			p->max_msg, SHMRING_MAX_MSG);
		return -EMSGSIZE;
	}
	if (p->senders < 1 || p->senders > SHMRING_MAX_PEERS ||
	    p->receivers < 1 || p->receivers > SHMRING_MAX_PEERS) {
		set_err(err, "shmring: %u senders, %u receivers: each must be 1..%u",
			p->senders, p->receivers, SHMRING_MAX_PEERS);
		return -EINVAL;
	}
	if ((unsigned)p->wait >= IPC_WAIT_COUNT) {
		set_err(err, "shmring: unknown wait strategy %d", (int)p->wait);
		return -EINVAL;
	}
	rec = rec_size(p->max_msg);
	depth = p->depth ? p->depth : SHMRING_DEFAULT_DEPTH;
	if (depth < SHMRING_MIN_DEPTH)
		depth = SHMRING_MIN_DEPTH;
	want = (uint64_t)depth * rec;
	if (want > SHMRING_MAX_DATA) {
		set_err(err, "shmring: depth %u x %llu-byte records needs %llu bytes, over the %llu-byte ring limit",
			depth, (unsigned long long)rec, (unsigned long long)want,
			(unsigned long long)SHMRING_MAX_DATA);
		return -EINVAL;
	}
	for (size = SHMRING_MIN_DATA; size < want; size <<= 1)
		;
	total = SHMRING_DATA_OFFSET + (size_t)size;

	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		set_err(err, "shmring: out of memory");
		return -ENOMEM;
	}
	r = ipc_unique_name(name, sizeof(name), "shmring");
	if (r < 0) {
		set_err(err, "shmring: shm name too long");
		goto err_free;
	}
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		r = -errno;
		set_err(err, "shmring: shm_open %s: %s", name, strerror(-r));
		goto err_free;
	}
	if (ftruncate(fd, (off_t)total) != 0) {
		r = -errno;
		set_err(err, "shmring: ftruncate %s to %zu bytes: %s", name, total, strerror(-r));
		goto err_unlink;
	}
	base = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		r = -errno;
		set_err(err, "shmring: mmap %zu bytes: %s", total, strerror(-r));
		goto err_unlink;
	}
	/* Children inherit the mapping through fork: no name needed after
	 * this, so nothing can leak even if every process is killed.  An
	 * exported channel keeps it until every importer opened it. */
	close(fd);
	if (p->exported)
		memcpy(ch->name, name, sizeof(ch->name));
	else
		shm_unlink(name);

	ch->base = base;
	ch->map_len = total;
	ch->ctl = base;
	ch->data = (unsigned char *)base + SHMRING_DATA_OFFSET;
	ch->size = size;
	ch->max_msg = p->max_msg;
	ch->p = *p;
	ch->mpmc = p->senders > 1 || p->receivers > 1;
	/* ftruncate zero-filled everything: indices 0, no pids. */
	ch->ctl->magic = SHMRING_MAGIC;
	ch->ctl->version = SHMRING_VERSION;
	ch->ctl->mpmc = ch->mpmc;
	ch->ctl->data_size = size;
	ch->ctl->max_msg = p->max_msg;
	*chanp = ch;
	return 0;

err_unlink:
	close(fd);
	shm_unlink(name);
err_free:
	free(ch);
	return r;
}

static int shmring_attach(void *chan, enum ipc_role role, void **endp, char *err)
{
	struct shmring_chan *ch = chan;
	struct shmring_ctl *c;
	struct shmring_end *e;
	int32_t pid = (int32_t)getpid();
	unsigned slot;

	if (!ch || !ch->base || !endp || (role != IPC_SEND && role != IPC_RECV)) {
		set_err(err, "shmring: attach: no channel, or it was forgotten");
		return -EINVAL;
	}
	c = ch->ctl;
	if (c->magic != SHMRING_MAGIC) {
		set_err(err, "shmring: attach: control area is corrupt (bad magic)");
		return -EPROTO;
	}
	for (slot = 0; slot < SHMRING_MAX_PEERS; slot++) {
		int32_t zero = 0;

		if (ipc_cas(&c->pids[role][slot], &zero, pid))
			break;
	}
	if (slot == SHMRING_MAX_PEERS) {
		set_err(err, "shmring: attach: more than %u processes on one side", SHMRING_MAX_PEERS);
		return -EUSERS;
	}
	if (!ch->mpmc) {
		for (unsigned i = 0; i < SHMRING_MAX_PEERS; i++) {
			if (i != slot && pid_alive(ipc_load_relaxed(&c->pids[role][i]))) {
				ipc_store_release(&c->pids[role][slot], 0);
				set_err(err, "shmring: attach: channel made for one %s, and one is attached",
					role == IPC_SEND ? "sender" : "receiver");
				return -EBUSY;
			}
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		ipc_store_release(&c->pids[role][slot], 0);
		set_err(err, "shmring: out of memory");
		return -ENOMEM;
	}
	e->ctl = c;
	e->data = ch->data;
	e->size = ch->size;
	e->mask = ch->size - 1;
	e->max_msg = ch->max_msg;
	e->mpmc = ch->mpmc;
	e->role = role;
	e->wait = ch->p.wait;
	e->timeout_ms = ch->p.timeout_ms;
	e->expect[SHMRING_SIDE_SEND] = ch->p.senders;
	e->expect[SHMRING_SIDE_RECV] = ch->p.receivers;
	e->slot = slot;
	e->pid = pid;
	if (role == IPC_SEND) {
		e->pos = ipc_load_acquire(&c->prod_tail);
		e->other = ipc_load_acquire(&c->cons_tail);
		if (e->pos - e->other > e->size)
			e->other = e->pos - e->size; /* send will see the corruption */
	} else {
		e->pos = ipc_load_acquire(&c->cons_tail);
		e->other = e->pos; /* read prod_tail on first recv */
	}
	ipc_fetch_add(&c->attached_ever[role], 1);
	/* Exported: the last of senders + receivers to attach removes the
	 * name (each importer opened it before it attached). */
	if (ch->name[0] && (uint64_t)ipc_load_acquire(&c->attached_ever[0]) + ipc_load_acquire(&c->attached_ever[1]) >=
			   (uint64_t)ch->p.senders + ch->p.receivers) {
		shm_unlink(ch->name);
		ch->name[0] = '\0';
	}
	*endp = e;
	return 0;
}

static void shmring_detach(void *end)
{
	struct shmring_end *e = end;
	int32_t pid;

	if (!e)
		return;
	pid = e->pid;
	/* Leave the slot only if it still holds us (it may be corrupt). */
	ipc_cas(&e->ctl->pids[e->role][e->slot], &pid, 0);
	/* A sleeping peer re-checks at once and sees we left. */
	if (e->wait != IPC_WAIT_SPIN) {
		ipc_fetch_add(&e->ctl->data_seq, 1);
		futex_wake(&e->ctl->data_seq, INT_MAX);
		ipc_fetch_add(&e->ctl->space_seq, 1);
		futex_wake(&e->ctl->space_seq, INT_MAX);
	}
	free(e);
}

static void shmring_forget(void *chan)
{
	struct shmring_chan *ch = chan;

	if (!ch || !ch->base)
		return;
	munmap(ch->base, ch->map_len);
	ch->base = NULL;
	ch->ctl = NULL;
	ch->data = NULL;
}

static void shmring_destroy(void *chan)
{
	struct shmring_chan *ch = chan;

	/* The name was unlinked in create, or (exported) by the last attach:
	 * unmapping is all that is left, unless that attach never came. */
	shmring_forget(ch);
	if (ch && ch->name[0])
		shm_unlink(ch->name);
	free(ch);
}

/* The creator's name and geometry as one line. */
static int shmring_export(void *chan, char *text, size_t cap, char *err)
{
	const struct shmring_chan *ch = chan;
	int n;

	if (!ch || !ch->base || !ch->name[0]) {
		set_err(err, "shmring: only a channel created to be exported (and not yet opened by all) can be exported");
		return -EINVAL;
	}
	n = snprintf(text, cap, "max=%llu data=%llu senders=%u receivers=%u wait=%s timeout=%u name=%s",
		     (unsigned long long)ch->max_msg, (unsigned long long)ch->size, ch->p.senders, ch->p.receivers,
		     ipc_wait_name(ch->p.wait), ch->p.timeout_ms, ch->name);
	if (n < 0 || (size_t)n >= cap) {
		set_err(err, "shmring: export needs %d bytes, have %zu", n, cap);
		return -ENOSPC;
	}
	return 0;
}

/* The geometry of an export line, checked as create checks params. */
static int shmring_import_geometry(const struct shmring_chan *ch)
{
	if (ch->max_msg == 0 || ch->max_msg > SHMRING_MAX_MSG)
		return -EINVAL;
	if (ch->size < SHMRING_MIN_DATA || ch->size > SHMRING_MAX_DATA || (ch->size & (ch->size - 1)))
		return -EINVAL;
	if (ch->size < SHMRING_MIN_DEPTH * rec_size(ch->max_msg))
		return -EINVAL;
	if (ch->p.senders < 1 || ch->p.senders > SHMRING_MAX_PEERS ||
	    ch->p.receivers < 1 || ch->p.receivers > SHMRING_MAX_PEERS)
		return -EINVAL;
	return 0;
}

/* Open the creator's shm object by name (its host only) and map it. */
static int shmring_import(const char *text, void **chanp, char *err)
{
	struct shmring_chan *ch = calloc(1, sizeof(*ch));
	unsigned long long max = 0, data = 0;
	char wait[16];
	struct stat st;
	void *base;
	int off = 0, fd, r;

	if (!ch) {
		set_err(err, "shmring: out of memory");
		return -ENOMEM;
	}
	r = sscanf(text, "max=%llu data=%llu senders=%u receivers=%u wait=%15s timeout=%u name=%n", &max, &data,
		   &ch->p.senders, &ch->p.receivers, wait, &ch->p.timeout_ms, &off);
	ch->max_msg = max;
	ch->size = data;
	if (r != 6 || off <= 0 || text[off] != '/' || strlen(text + off) >= sizeof(ch->name) ||
	    ipc_wait_parse(wait, &ch->p.wait) || shmring_import_geometry(ch)) {
		set_err(err, "shmring: cannot import '%.80s' (want max=BYTES data=POW2 senders=N receivers=N wait=W timeout=MS name=/NAME)",
			text);
		free(ch);
		return -EINVAL;
	}
	memcpy(ch->name, text + off, strlen(text + off) + 1);
	ch->p.max_msg = (size_t)max;
	ch->p.exported = 1;
	ch->mpmc = ch->p.senders > 1 || ch->p.receivers > 1;
	ch->map_len = SHMRING_DATA_OFFSET + (size_t)ch->size;
	fd = shm_open(ch->name, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		set_err(err, "shmring: shm_open %s: %s (a ring is reached on its creator's host only)", ch->name,
			strerror(errno));
		free(ch);
		return r;
	}
	if (fstat(fd, &st) != 0)
		st.st_size = -1;
	if (st.st_size < 0 || (size_t)st.st_size != ch->map_len) {
		set_err(err, "shmring: %s is %lld bytes, the export line says %zu", ch->name,
			(long long)st.st_size, ch->map_len);
		close(fd);
		free(ch);
		return -EPROTO;
	}
	base = mmap(NULL, ch->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	r = base == MAP_FAILED ? -errno : 0;
	close(fd);
	if (r) {
		set_err(err, "shmring: mmap %zu bytes of %s: %s", ch->map_len, ch->name, strerror(-r));
		free(ch);
		return r;
	}
	ch->base = base;
	ch->ctl = base;
	ch->data = (unsigned char *)base + SHMRING_DATA_OFFSET;
	*chanp = ch;
	return 0;
}

int shmring_debug_area(void *chan, void **base, size_t *len)
{
	struct shmring_chan *ch = chan;

	if (!ch || !ch->base || !base || !len)
		return -EINVAL;
	*base = ch->base;
	*len = ch->map_len;
	return 0;
}

const struct ipc_ops ipc_shmring_ops = {
	.name = "shmring",
	.summary = "shared-memory ring (SPSC fast path, MPMC form; spin, futex, hybrid)",
	.caps = shmring_caps,
	.create = shmring_create,
	.attach = shmring_attach,
	.send = shmring_send,
	.recv = shmring_recv,
	.detach = shmring_detach,
	.forget = shmring_forget,
	.destroy = shmring_destroy,
	.export_chan = shmring_export,
	.import_chan = shmring_import,
};
