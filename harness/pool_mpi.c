/*
 * pool_mpi.c - the pool's MPI backend (see pool_mpi.h).
 *
 * Messages (MPI_COMM_WORLD, tags below the mpi mechanism's 1024):
 *   rank 0 -> worker rank   OPEN (the case), TABLE (every worker's lines of
 *                           the channel table), ROUND (the command), STOP,
 *                           QUIT
 *   worker rank -> rank 0   OPENED (its lines), READY (after setup), DONE
 *                           (its slot), STOPPED
 *   both ways               SYNC (pool_sync: every worker to rank 0, then
 *                           rank 0 to every worker)
 *   worker rank -> rank 0   BEAT, inside a round: its progress, at most one
 *                           per beat interval (pool_beat, from wl_tick)
 * Each is one packet: a header (op, rc, the reporting rank's CPU, pid,
 * host and error line) and a payload.  Every wait polls (MPI_Test or
 * MPI_Iprobe, spinning briefly, then naps that grow to PM_NAP_MAX_NS) and
 * watches sig_pending() and a deadline: Open MPI's blocking calls spin.
 *
 * A rank that stops answering (a deadline, a signal) leaves messages in
 * flight that no later case could tell from its own, so the job is then
 * "broken": later MPI cases fail at once with the reason, and
 * pool_mpi_finish() tells the caller not to finalize.
 *
 * A round's watchdog is the forked pool's stall rule (pool.c): the round
 * fails when no worker made progress for timeout_ms.  Worker ranks cannot
 * be read from rank 0, so each sends a heartbeat while it moves: wl_tick
 * calls pool_beat every POOL_BEAT_TICKS ticks, which reads the clock and,
 * once per beat interval (a few per timeout), posts a small MPI_Isend of
 * its progress and its time into the round (completed by MPI_Test at the
 * next beat, never waited for inside the round).  Rank 0 drains the beats
 * while it waits for the round's slots and places each at its round's
 * start plus that time; its own worker's ticks are noted the same way.
 *
 * State: the broken flag and the heartbeat are per process by nature (a
 * fact about the MPI job this process is part of; one worker per rank,
 * on the thread that calls MPI), so they are file scope.
 *
 * Why this file is long: the two sides of one protocol (rank 0's start,
 * round and stop; every other rank's serve loop) answer each other message
 * by message, and each half reads right only beside the other (the
 * heartbeat too: its sender and its reader share one message and one
 * rule); the backend's stand-ins for a build without MPI close the file.
 */
#include <errno.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "errline.h"
#include "mpienv.h"
#include "pool_mpi.h"
#include "sig.h"
#include "topo.h"

void (*pool_beat)(uint64_t progress);

#ifdef IPCLAB_HAVE_MPI
#include <mpi.h>

/* Tags of the control messages (the mpi mechanism's start at 1024). */
#define PM_TAG_CMD 11
#define PM_TAG_REPLY 12
#define PM_TAG_SYNC 13
#define PM_TAG_BEAT 14

/* Polling: spin this long, then nap, doubling up to the cap (an idle rank
 * between cases wakes 1000 times a second; a waiting one answers within
 * a millisecond). */
#define PM_SPIN_NS 100000ull
#define PM_NAP_MIN_NS 20000ull
#define PM_NAP_MAX_NS 1000000ull
/* pool_sync's barrier naps at most this long: the start of a timed round
 * is aligned within it. */
#define PM_SYNC_NAP_MAX_NS 20000ull
/* Heartbeats per round timeout: a moving worker rank beats this often, so
 * rank 0 knows of its progress within a fraction of the stall limit; the
 * limit rank 0 applies is the timeout plus PM_BEAT_SLACK intervals (the
 * beat a rank last sent may be up to one interval older than its last
 * progress, and a rank whose peer failed needs a moment to fail its own
 * round by the channel's timeout and say so). */
#define PM_BEATS_PER_TIMEOUT 8u
#define PM_BEAT_SLACK 2u
#define PM_BEAT_MIN_NS 1000000ull
#define PM_DEFAULT_TIMEOUT_MS 10000u
/* The channel table: every worker's export lines (about 100 bytes per
 * channel; a case has at most as many channels as workers, up to
 * POOL_MAX_WORKERS). */
#define PM_LINES_MAX (256 * 1024)
#define PM_HOSTLEN 64
#define NS_PER_MS 1000000ull

enum pm_op {
	PM_OPEN = 1, PM_TABLE, PM_ROUND, PM_STOP, PM_QUIT,
	PM_OPENED, PM_READY, PM_DONE, PM_STOPPED, PM_SYNC,
};

struct pm_hdr {
	uint32_t op;
	int32_t rc;
	int32_t ran_on;
	int32_t pid;
	uint64_t len;           /* payload bytes after the header */
	uint64_t round;         /* ROUND: the round's number (its beats carry it) */
	uint64_t beat_ns;       /* ROUND: the heartbeat interval */
	char host[PM_HOSTLEN];
	char err[POOL_ERRLEN];
};

static struct {
	int broken;
	char why[POOL_ERRLEN];
} pm_job;

/* A heartbeat: a worker rank is moving in round `round`, elapsed_ns after
 * it began it, with this much progress. */
struct pm_beat_msg {
	uint64_t round, elapsed_ns, progress;
};

/* This process's heartbeat while its worker runs a round (pool_beat). */
static struct {
	bool send;              /* a worker rank: send beats; rank 0: only note */
	uint64_t round, start_ns, every_ns, next_ns;
	uint64_t last_ns;       /* the last tick noted (0: none yet) */
	struct pm_beat_msg msg; /* the beat in flight (req) */
	MPI_Request req;
} pm_hb = { .req = MPI_REQUEST_NULL };

/* What rank 0 knows of a round's progress while it gathers the slots. */
struct pm_stall {
	uint64_t round, t0_ns;  /* the round, and when rank 0 began it */
	uint64_t last_ns;       /* the latest progress any worker reported */
	uint64_t limit_ns;      /* stalled: no progress for this long */
	unsigned timeout_ms;    /* what the user gave (for the reason) */
};

struct pool_mpi {
	struct pool_cfg cfg;
	unsigned n;
	struct pool_worker w0;  /* worker 0, run by rank 0 itself */
	char w0_err[POOL_ERRLEN];
	bool w0_setup;
	unsigned char *slots;
	size_t stride;
	cpu_set_t saved_affinity;
	bool affinity_saved;
	char (*host)[PM_HOSTLEN]; /* each worker's host */
	bool *open;             /* worker rank holds the case (until STOPPED) */
	uint64_t round, beat_ns; /* the round running, and its heartbeat interval */
};

static void pm_break(const char *why)
{
	if (!pm_job.broken)
		snprintf(pm_job.why, sizeof(pm_job.why), "%s", why);
	pm_job.broken = 1;
}

/* One idle step of a poll that began at t0: 0 to test again (after a nap
 * once it has spun PM_SPIN_NS; *nap doubles up to nap_max), -EINTR on a
 * signal, -ETIMEDOUT past deadline_ns (0: none). */
static int pm_idle(uint64_t t0, uint64_t *nap, uint64_t nap_max, uint64_t deadline_ns)
{
	uint64_t now;

	if (sig_pending())
		return -EINTR;
	now = clk_now_ns();
	if (deadline_ns && now >= deadline_ns)
		return -ETIMEDOUT;
	if (now - t0 >= PM_SPIN_NS) {
		struct timespec ts = { 0, (long)*nap };

		nanosleep(&ts, NULL);
		*nap = *nap * 2 > nap_max ? nap_max : *nap * 2;
	}
	return 0;
}

/* Test req until done: 0, -ETIMEDOUT (deadline_ns, 0: none), -EINTR. */
static int pm_wait(MPI_Request *req, uint64_t deadline_ns, uint64_t nap_max)
{
	uint64_t t0 = clk_now_ns(), nap = PM_NAP_MIN_NS;
	int done = 0, rc;

	for (;;) {
		MPI_Test(req, &done, MPI_STATUS_IGNORE);
		if (done)
			return 0;
		rc = pm_idle(t0, &nap, nap_max, deadline_ns);
		if (rc)
			return rc;
	}
}

/* pool_beat while a round runs: called every POOL_BEAT_TICKS ticks; at
 * most once per interval it notes the time and, on a worker rank, posts
 * the beat (the one before must have left: MPI_Test, never a wait). */
static void pm_beat(uint64_t progress)
{
	uint64_t now = clk_now_ns();
	int done = 1;

	if (now < pm_hb.next_ns)
		return;
	pm_hb.next_ns = now + pm_hb.every_ns;
	pm_hb.last_ns = now;
	if (!pm_hb.send)
		return;
	if (pm_hb.req != MPI_REQUEST_NULL)
		MPI_Test(&pm_hb.req, &done, MPI_STATUS_IGNORE);
	if (!done)
		return;
	pm_hb.msg = (struct pm_beat_msg){ .round = pm_hb.round, .elapsed_ns = now - pm_hb.start_ns,
					  .progress = progress };
	MPI_Isend(&pm_hb.msg, (int)sizeof(pm_hb.msg), MPI_BYTE, 0, PM_TAG_BEAT, MPI_COMM_WORLD, &pm_hb.req);
}

static void pm_beat_begin(uint64_t round, uint64_t every_ns, bool send)
{
	pm_hb.send = send;
	pm_hb.round = round;
	pm_hb.start_ns = clk_now_ns();
	pm_hb.every_ns = every_ns ? every_ns : PM_BEAT_MIN_NS;
	pm_hb.next_ns = pm_hb.start_ns + pm_hb.every_ns;
	pm_hb.last_ns = 0;
	pool_beat = pm_beat;
}

/* The round is over: no more beats; the last one leaves before the slot
 * does (polled).  0, or -EINTR on a signal. */
static int pm_beat_end(void)
{
	pool_beat = NULL;
	if (pm_hb.req == MPI_REQUEST_NULL)
		return 0;
	return pm_wait(&pm_hb.req, 0, PM_NAP_MAX_NS);
}

/* Rank 0: take every beat that arrived; those of st's round move its last
 * progress (NULL st: only drop them, e.g. a round's late beats). */
static void pm_beats_drain(struct pm_stall *st)
{
	for (;;) {
		struct pm_beat_msg b;
		MPI_Status ps;
		int flag = 0, count = 0;

		MPI_Iprobe(MPI_ANY_SOURCE, PM_TAG_BEAT, MPI_COMM_WORLD, &flag, &ps);
		if (!flag)
			return;
		MPI_Get_count(&ps, MPI_BYTE, &count);
		if (count != (int)sizeof(b)) { /* not a beat of this build: taken and dropped */
			unsigned char *junk = malloc(count > 0 ? (size_t)count : 1);

			if (!junk)
				return;
			MPI_Recv(junk, count, MPI_BYTE, ps.MPI_SOURCE, PM_TAG_BEAT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
			free(junk);
			continue;
		}
		MPI_Recv(&b, (int)sizeof(b), MPI_BYTE, ps.MPI_SOURCE, PM_TAG_BEAT, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
		if (st && b.round == st->round) {
			/* The worker began the round after rank 0 did: this
			 * places its progress no later than it was. */
			uint64_t at = st->t0_ns + b.elapsed_ns, now = clk_now_ns();

			if (at > now)
				at = now;
			if (at > st->last_ns)
				st->last_ns = at;
		}
	}
}

/* Send one packet (header + payload) and wait until it left. */
static int pm_send(int dest, int tag, struct pm_hdr *h, const void *payload, size_t len,
		   uint64_t deadline_ns)
{
	unsigned char *buf = malloc(sizeof(*h) + len);
	MPI_Request req;
	int rc;

	if (!buf)
		return -ENOMEM;
	h->len = len;
	memcpy(buf, h, sizeof(*h));
	if (len)
		memcpy(buf + sizeof(*h), payload, len);
	MPI_Isend(buf, (int)(sizeof(*h) + len), MPI_BYTE, dest, tag, MPI_COMM_WORLD, &req);
	rc = pm_wait(&req, deadline_ns, PM_NAP_MAX_NS);
	if (rc == 0)
		free(buf); /* else the send is still pending: the buffer stays */
	return rc;
}

/* Receive one packet from src: header into h, payload into *payload
 * (malloc'ed, NUL-terminated, caller frees; may be NULL when not wanted).
 * 0, -ETIMEDOUT, -EINTR, -EPROTO (short packet), -ENOMEM. */
static int pm_recv_stall(int src, int tag, struct pm_hdr *h, unsigned char **payload,
			 uint64_t deadline_ns, uint64_t nap_max, struct pm_stall *stall)
{
	uint64_t t0 = clk_now_ns(), nap = PM_NAP_MIN_NS;
	MPI_Status st;
	int flag = 0, count = 0, rc;
	unsigned char *buf;

	if (payload)
		*payload = NULL;
	for (;;) {
		MPI_Iprobe(src, tag, MPI_COMM_WORLD, &flag, &st);
		if (flag)
			break;
		if (stall) { /* the deadline moves with the workers' progress */
			pm_beats_drain(stall);
			deadline_ns = stall->last_ns + stall->limit_ns;
		}
		rc = pm_idle(t0, &nap, nap_max, deadline_ns);
		if (rc)
			return rc;
	}
	MPI_Get_count(&st, MPI_BYTE, &count);
	buf = malloc((size_t)count + 1);
	if (!buf)
		return -ENOMEM;
	MPI_Recv(buf, count, MPI_BYTE, src, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
	if ((size_t)count < sizeof(*h)) {
		free(buf);
		return -EPROTO;
	}
	memcpy(h, buf, sizeof(*h));
	h->err[sizeof(h->err) - 1] = '\0';
	h->host[sizeof(h->host) - 1] = '\0';
	if (h->len != (size_t)count - sizeof(*h)) {
		free(buf);
		return -EPROTO;
	}
	buf[count] = '\0';
	if (payload) {
		memmove(buf, buf + sizeof(*h), h->len + 1);
		*payload = buf;
	} else
		free(buf);
	return 0;
}

/* pm_recv_stall with a fixed deadline. */
static int pm_recv(int src, int tag, struct pm_hdr *h, unsigned char **payload,
		   uint64_t deadline_ns, uint64_t nap_max)
{
	return pm_recv_stall(src, tag, h, payload, deadline_ns, nap_max, NULL);
}

static void pm_hdr_init(struct pm_hdr *h, enum pm_op op)
{
	memset(h, 0, sizeof(*h));
	h->op = op;
	h->pid = (int32_t)getpid();
	h->ran_on = sched_getcpu();
	if (gethostname(h->host, sizeof(h->host)) != 0)
		snprintf(h->host, sizeof(h->host), "?");
	h->host[sizeof(h->host) - 1] = '\0';
}

static uint64_t pm_deadline(unsigned ms)
{
	return clk_now_ns() + (uint64_t)(ms ? ms : PM_DEFAULT_TIMEOUT_MS) * NS_PER_MS;
}

static const char *pm_why(int rc)
{
	return rc == -EINTR ? "interrupted by a signal" : rc == -ETIMEDOUT ? "no answer in time" :
	       strerror(-rc);
}

/* ---- rank 0 --------------------------------------------------------------- */

/* Rank r failed to answer (rc): the job is broken from now on. */
static int pm_lost(struct pool_mpi *m, unsigned r, const char *step, int rc, char *reason)
{
	char why[POOL_ERRLEN];

	snprintf(why, sizeof(why), "worker %u (rank %u on %s) at %s: %s", r, r,
		 m->host[r][0] ? m->host[r] : "?", step, pm_why(rc));
	if (rc != -EINTR)
		pm_break(why);
	err_line(reason, POOL_ERRLEN, "%s", why);
	return rc;
}

/* Stop every rank that still holds the case, and worker 0.  Returns the
 * first failure (reason set when it is the first error). */
static int pm_stop_all(struct pool_mpi *m, unsigned timeout_ms, char *reason, bool quiet)
{
	uint64_t deadline = pm_deadline(timeout_ms);
	struct pm_hdr h;
	int rc = 0, r2;

	for (unsigned r = 1; r < m->n && !pm_job.broken; r++) {
		if (!m->open[r])
			continue;
		pm_hdr_init(&h, PM_STOP);
		r2 = pm_send((int)r, PM_TAG_CMD, &h, NULL, 0, deadline);
		if (r2) {
			if (!rc)
				rc = pm_lost(m, r, "stop", r2, quiet ? (char[POOL_ERRLEN]){ 0 } : reason);
			break;
		}
	}
	if (m->w0_setup && m->cfg.teardown)
		m->cfg.teardown(&m->w0);
	m->w0_setup = false;
	for (unsigned r = 1; r < m->n && !pm_job.broken; r++) {
		if (!m->open[r])
			continue;
		/* A READY (or DONE) not gathered yet comes first: skip it. */
		do
			r2 = pm_recv((int)r, PM_TAG_REPLY, &h, NULL, deadline, PM_NAP_MAX_NS);
		while (!r2 && h.op != PM_STOPPED);
		if (r2) {
			if (!rc)
				rc = pm_lost(m, r, "stop", r2, quiet ? (char[POOL_ERRLEN]){ 0 } : reason);
			break;
		}
		m->open[r] = false;
		if (h.rc && !rc && !quiet) {
			rc = h.rc;
			err_line(reason, POOL_ERRLEN, "worker %u (rank %u on %s): %s", r, r, h.host, h.err);
		}
	}
	if (!pm_job.broken)
		pm_beats_drain(NULL); /* every rank stopped: its last beats came first */
	if (m->affinity_saved)
		sched_setaffinity(0, sizeof(m->saved_affinity), &m->saved_affinity);
	m->affinity_saved = false;
	return rc;
}

static void pm_free(struct pool_mpi *m)
{
	if (!m)
		return;
	free(m->host);
	free(m->open);
	free(m);
}

/* Rank r stalled (stall's rule, see the top of this file): the job is
 * broken from now on. */
static int pm_stalled(struct pool_mpi *m, unsigned r, const struct pm_stall *st, char *reason)
{
	char why[POOL_ERRLEN];
	uint64_t quiet = clk_now_ns() - st->last_ns;

	snprintf(why, sizeof(why), "worker %u (rank %u on %s): watchdog: round made no progress for %u ms "
		 "(no worker reported any for %llu ms; worker %u has not finished)", r, r,
		 m->host[r][0] ? m->host[r] : "?", st->timeout_ms, (unsigned long long)(quiet / NS_PER_MS), r);
	pm_break(why);
	err_line(reason, POOL_ERRLEN, "%s", why);
	return -ETIMEDOUT;
}

/* Gather one reply of op from every worker rank; the first failure is
 * returned with reason; replies with rc != 0 too.  With stall, the wait
 * for each ends when no worker made progress for its limit (heartbeats),
 * not at deadline. */
static int pm_gather_stall(struct pool_mpi *m, enum pm_op op, const char *step, uint64_t deadline,
			   char *table, size_t *used, int *ran_on, pid_t *pid, char *reason,
			   struct pm_stall *stall)
{
	int first = 0;

	for (unsigned r = 1; r < m->n; r++) {
		unsigned char *pl = NULL;
		struct pm_hdr h;
		int rc = pm_recv_stall((int)r, PM_TAG_REPLY, &h, &pl, deadline, PM_NAP_MAX_NS, stall);

		if (rc == -ETIMEDOUT && stall)
			return first ? first : pm_stalled(m, r, stall, reason);
		if (rc)
			return first ? first : pm_lost(m, r, step, rc, reason);
		snprintf(m->host[r], PM_HOSTLEN, "%s", h.host);
		if (h.op != op) {
			free(pl);
			pm_break("a worker rank answered out of turn");
			err_line(reason, POOL_ERRLEN, "worker %u (rank %u on %s) answered %u at %s, expected %u",
				 r, r, h.host, h.op, step, op);
			return -EPROTO;
		}
		if (op == PM_OPENED && !h.rc)
			m->open[r] = true;
		if (ran_on)
			ran_on[r] = h.ran_on;
		if (pid)
			pid[r] = h.pid;
		if (h.rc && !first) {
			first = h.rc < 0 ? h.rc : -EIO;
			err_line(reason, POOL_ERRLEN, "worker %u (rank %u on %s): %s", r, r, h.host, h.err);
		}
		if (op == PM_DONE && !h.rc && pl) {
			if (h.len != m->cfg.slot_size) {
				free(pl);
				err_line(reason, POOL_ERRLEN, "worker %u (rank %u): slot of %zu bytes, expected %zu",
					 r, r, (size_t)h.len, m->cfg.slot_size);
				return -EPROTO;
			}
			memcpy(m->slots + (size_t)r * m->stride, pl, m->cfg.slot_size);
		}
		if (table && pl && !h.rc) {
			size_t n = strlen((char *)pl);

			if (*used + n + 1 >= PM_LINES_MAX) {
				free(pl);
				err_line(reason, POOL_ERRLEN, "the channel table is over %d bytes", PM_LINES_MAX);
				return first ? first : -ENOSPC;
			}
			memcpy(table + *used, pl, n + 1);
			*used += n;
		}
		free(pl);
	}
	return first;
}

static int pm_gather(struct pool_mpi *m, enum pm_op op, const char *step, uint64_t deadline,
		     char *table, size_t *used, int *ran_on, pid_t *pid, char *reason)
{
	return pm_gather_stall(m, op, step, deadline, table, used, ran_on, pid, reason, NULL);
}

/* Send op (payload) to every worker rank. */
static int pm_scatter(struct pool_mpi *m, enum pm_op op, const void *payload, size_t len,
		      uint64_t deadline, const char *step, char *reason)
{
	for (unsigned r = 1; r < m->n; r++) {
		struct pm_hdr h;
		int rc;

		pm_hdr_init(&h, op);
		h.round = m->round;
		h.beat_ns = m->beat_ns;
		rc = pm_send((int)r, PM_TAG_CMD, &h, payload, len, deadline);
		if (rc)
			return pm_lost(m, r, step, rc, reason);
	}
	return 0;
}

int pool_mpi_start(struct pool_mpi **out, const struct pool_cfg *cfg, void *cmd, void *slots,
		   size_t stride, int *ran_on, pid_t *pid, char *reason)
{
	unsigned n = cfg->nworkers;
	struct pool_mpi *m;
	uint64_t deadline;
	char *table = NULL, berr[TOPO_ERRLEN] = "";
	size_t used = 0;
	int rc;

	*out = NULL;
	if (mpienv_size() < 2 && n > 1) {
		err_line(reason, POOL_ERRLEN, "--workers=mpi: not an MPI job of several ranks (run under mpirun -n %u)", n);
		return -ENOTSUP;
	}
	if ((unsigned)mpienv_size() < n) {
		err_line(reason, POOL_ERRLEN, "needs %u ranks (one per worker), the job has %d: mpirun -n %u", n,
			 mpienv_size(), n);
		return -ENOTSUP;
	}
	if (mpienv_rank() != 0) {
		err_line(reason, POOL_ERRLEN, "--workers=mpi: only rank 0 opens cases");
		return -EINVAL;
	}
	if (pm_job.broken) {
		err_line(reason, POOL_ERRLEN, "the MPI job is unusable since an earlier case: %s", pm_job.why);
		return -EIO;
	}
	m = calloc(1, sizeof(*m));
	table = malloc(PM_LINES_MAX);
	if (!m || !table || !(m->host = calloc(n, sizeof(*m->host))) || !(m->open = calloc(n, sizeof(*m->open)))) {
		pm_free(m);
		free(table);
		err_line(reason, POOL_ERRLEN, "pool: out of memory");
		return -ENOMEM;
	}
	m->cfg = *cfg;
	m->n = n;
	m->slots = slots;
	m->stride = stride;
	m->w0 = (struct pool_worker){
		.id = 0, .n = n, .cpu = cfg->cpus ? cfg->cpus[0] : -1, .arg = cfg->arg, .cmd = cmd,
		.slot = slots, .err = m->w0_err, .backend = POOL_MPI,
	};
	gethostname(m->host[0], PM_HOSTLEN - 1);
	deadline = pm_deadline(cfg->start_timeout_ms);

	/* 1. The case to every worker rank; each creates the channels it
	 *    owns and answers with their lines. */
	rc = pm_scatter(m, PM_OPEN, cfg->mpi_case, cfg->mpi_case_len, deadline, "open", reason);
	snprintf(table, PM_LINES_MAX, "%s", cfg->mpi_lines ? cfg->mpi_lines : "");
	used = strlen(table);
	if (!rc)
		rc = pm_gather(m, PM_OPENED, "open", deadline, table, &used, NULL, NULL, reason);
	/* 2. The whole table to everyone; each imports and sets up. */
	if (!rc)
		rc = pm_scatter(m, PM_TABLE, table, used + 1, deadline, "table", reason);
	if (!rc && m->w0.cpu >= 0) {
		m->affinity_saved = sched_getaffinity(0, sizeof(m->saved_affinity), &m->saved_affinity) == 0;
		rc = topo_bind_self(cfg->topo, m->w0.cpu, berr);
		if (rc)
			err_line(reason, POOL_ERRLEN, "worker 0 (rank 0): %s", berr);
	}
	if (!rc && cfg->mpi_import && (rc = cfg->mpi_import(cfg->arg, 0, table, m->w0_err)) < 0)
		err_line(reason, POOL_ERRLEN, "worker 0 (rank 0): %s", m->w0_err);
	if (!rc && cfg->setup) {
		rc = cfg->setup(&m->w0);
		if (rc)
			err_line(reason, POOL_ERRLEN, "worker 0 (rank 0): %s", m->w0_err[0] ? m->w0_err : strerror(-rc));
		else
			m->w0_setup = true;
	} else if (!rc)
		m->w0_setup = true;
	ran_on[0] = sched_getcpu();
	pid[0] = getpid();
	if (!rc)
		rc = pm_gather(m, PM_READY, "setup", deadline, NULL, NULL, ran_on, pid, reason);
	free(table);
	if (rc) {
		pm_stop_all(m, cfg->start_timeout_ms, reason, true);
		pm_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int pool_mpi_round(struct pool_mpi *m, unsigned timeout_ms, char *reason)
{
	uint64_t limit = (uint64_t)(timeout_ms ? timeout_ms : PM_DEFAULT_TIMEOUT_MS) * NS_PER_MS;
	struct pm_stall st = { .round = ++m->round, .t0_ns = clk_now_ns(),
			       .timeout_ms = timeout_ms ? timeout_ms : PM_DEFAULT_TIMEOUT_MS };
	char gerr[POOL_ERRLEN] = "";
	int rc, r2;

	m->beat_ns = limit / PM_BEATS_PER_TIMEOUT > PM_BEAT_MIN_NS ? limit / PM_BEATS_PER_TIMEOUT : PM_BEAT_MIN_NS;
	st.last_ns = st.t0_ns;
	st.limit_ns = limit + PM_BEAT_SLACK * m->beat_ns;
	rc = pm_scatter(m, PM_ROUND, m->w0.cmd, m->cfg.cmd_size, pm_deadline(timeout_ms), "round", reason);
	if (rc)
		return rc;
	m->w0_err[0] = '\0';
	pm_beat_begin(m->round, m->beat_ns, false); /* worker 0's ticks, noted */
	rc = m->cfg.round(&m->w0);
	pm_beat_end();
	/* Worker 0's progress: its last tick noted, or its end when it
	 * finished (a failed round ended without progress). */
	if (pm_hb.last_ns > st.last_ns)
		st.last_ns = pm_hb.last_ns;
	if (!rc)
		st.last_ns = clk_now_ns();
	if (rc) {
		if (!m->w0_err[0])
			snprintf(m->w0_err, POOL_ERRLEN, "%s", strerror(rc < 0 ? -rc : EIO));
		err_line(reason, POOL_ERRLEN, "worker 0 (rank 0 on %s): %s", m->host[0], m->w0_err);
		rc = rc > 0 ? -rc : rc;
	}
	/* The other ranks' slots, also after worker 0 failed (they may have
	 * finished, or be stuck waiting for it: they fail by the channel's
	 * timeout, or else the job is lost), while their heartbeats say they
	 * move: the forked pool's stall rule. */
	r2 = pm_gather_stall(m, PM_DONE, "round", 0, NULL, NULL, NULL, NULL, rc ? gerr : reason, &st);
	if (rc && r2 == -ETIMEDOUT && gerr[0]) {
		size_t o = strlen(reason);

		snprintf(reason + o, POOL_ERRLEN - o, "; then %s", gerr);
	}
	return rc ? rc : r2;
}

int pool_mpi_stop(struct pool_mpi *m, unsigned timeout_ms, char *reason)
{
	int rc;

	if (!m)
		return 0;
	rc = pm_stop_all(m, timeout_ms, reason, false);
	pm_free(m);
	return rc;
}

void pool_mpi_sync(struct pool_worker *w)
{
	struct pm_hdr h;

	if (w->n < 2)
		return;
	if (w->id == 0) {
		for (unsigned r = 1; r < w->n; r++)
			if (pm_recv((int)r, PM_TAG_SYNC, &h, NULL, 0, PM_SYNC_NAP_MAX_NS))
				return;
		for (unsigned r = 1; r < w->n; r++) {
			pm_hdr_init(&h, PM_SYNC);
			if (pm_send((int)r, PM_TAG_SYNC, &h, NULL, 0, 0))
				return;
		}
		return;
	}
	pm_hdr_init(&h, PM_SYNC);
	if (pm_send(0, PM_TAG_SYNC, &h, NULL, 0, 0) == 0)
		pm_recv(0, PM_TAG_SYNC, &h, NULL, 0, PM_SYNC_NAP_MAX_NS);
}

bool pool_mpi_finish(void)
{
	uint64_t deadline = pm_deadline(PM_DEFAULT_TIMEOUT_MS);
	struct pm_hdr h;

	if (pm_job.broken || sig_pending() || mpienv_rank() != 0)
		return false;
	for (int r = 1; r < mpienv_size(); r++) {
		pm_hdr_init(&h, PM_QUIT);
		if (pm_send(r, PM_TAG_CMD, &h, NULL, 0, deadline))
			return false;
	}
	return true;
}

/* ---- every other rank ------------------------------------------------------- */

/* Answer rank 0 (rc, error line, payload). */
static int pm_reply(enum pm_op op, int rc, const char *err, const void *payload, size_t len)
{
	struct pm_hdr h;

	pm_hdr_init(&h, op);
	h.rc = rc;
	if (err)
		snprintf(h.err, sizeof(h.err), "%s", err);
	return pm_send(0, PM_TAG_REPLY, &h, payload, len, 0);
}

/* One case on this rank, from OPEN to STOPPED.  0, or -errno when the
 * job cannot go on (a send failed, a signal, a protocol error). */
static int pm_serve_case(const struct pool_mpi_host *hst, const void *blob, size_t len, char *reason)
{
	unsigned worker = (unsigned)mpienv_rank();
	struct pool_cfg cfg = { 0 };
	struct pool_worker w = { 0 };
	char err[POOL_ERRLEN] = "", berr[TOPO_ERRLEN] = "";
	char *lines = calloc(1, PM_LINES_MAX);
	unsigned char *pl = NULL, *cmd = NULL, *slot = NULL;
	cpu_set_t saved;
	bool saved_ok = false, set_up = false, opened;
	struct pm_hdr h;
	int rc, jrc = 0;

	if (!lines)
		return -ENOMEM;
	rc = hst->open(hst->ctx, blob, len, worker, &cfg, lines, PM_LINES_MAX, err);
	opened = rc == 0;
	jrc = pm_reply(PM_OPENED, rc, err, lines, strlen(lines) + 1);
	free(lines);
	if (jrc || !opened)
		return jrc;
	/* TABLE, or STOP when another worker could not open. */
	jrc = pm_recv(0, PM_TAG_CMD, &h, &pl, 0, PM_NAP_MAX_NS);
	if (jrc)
		goto out;
	if (h.op == PM_TABLE) {
		cmd = calloc(1, cfg.cmd_size ? cfg.cmd_size : 1);
		slot = calloc(1, cfg.slot_size ? cfg.slot_size : 1);
		w = (struct pool_worker){ .id = worker, .n = cfg.nworkers, .cpu = -1, .arg = cfg.arg,
					  .cmd = cmd, .slot = slot, .err = err, .backend = POOL_MPI };
		err[0] = '\0';
		rc = !cmd || !slot ? -ENOMEM : 0;
		if (!rc && cfg.cpus && cfg.nworkers) {
			w.cpu = cfg.cpus[(unsigned)mpienv_local_rank() % cfg.nworkers];
			if (w.cpu >= 0) {
				saved_ok = sched_getaffinity(0, sizeof(saved), &saved) == 0;
				rc = topo_bind_self(cfg.topo, w.cpu, berr);
				if (rc)
					snprintf(err, sizeof(err), "%s", berr);
			}
		}
		if (!rc && cfg.mpi_import)
			rc = cfg.mpi_import(cfg.arg, worker, (const char *)pl, err);
		if (!rc && cfg.setup)
			rc = cfg.setup(&w);
		set_up = rc == 0;
		free(pl);
		pl = NULL;
		jrc = pm_reply(PM_READY, rc, err, NULL, 0);
		/* Rounds until STOP. */
		while (!jrc) {
			jrc = pm_recv(0, PM_TAG_CMD, &h, &pl, 0, PM_NAP_MAX_NS);
			if (jrc || h.op != PM_ROUND)
				break;
			if (h.len != cfg.cmd_size) {
				jrc = -EPROTO;
				break;
			}
			memcpy(cmd, pl, cfg.cmd_size);
			free(pl);
			pl = NULL;
			err[0] = '\0';
			pm_beat_begin(h.round, h.beat_ns, true); /* rank 0 hears of its progress */
			rc = set_up ? cfg.round(&w) : -EIO;
			jrc = pm_beat_end();
			if (rc && !err[0])
				snprintf(err, sizeof(err), "%s", strerror(rc < 0 ? -rc : EIO));
			if (!jrc)
				jrc = pm_reply(PM_DONE, rc > 0 ? -rc : rc, err, slot, cfg.slot_size);
		}
	}
	if (!jrc && h.op != PM_STOP)
		jrc = -EPROTO;
	if (set_up && cfg.teardown)
		cfg.teardown(&w);
	if (saved_ok)
		sched_setaffinity(0, sizeof(saved), &saved);
	hst->close(hst->ctx, cfg.arg);
	cfg.arg = NULL;
	if (!jrc)
		jrc = pm_reply(PM_STOPPED, 0, NULL, NULL, 0);
out:
	if (cfg.arg)
		hst->close(hst->ctx, cfg.arg);
	free(pl);
	free(cmd);
	free(slot);
	if (jrc && reason[0] == '\0')
		err_line(reason, POOL_ERRLEN, "rank %d: case protocol: %s", mpienv_rank(), pm_why(jrc));
	return jrc;
}

int pool_mpi_serve(const struct pool_mpi_host *hst, char *reason)
{
	reason[0] = '\0';
	for (;;) {
		unsigned char *pl = NULL;
		struct pm_hdr h;
		int rc = pm_recv(0, PM_TAG_CMD, &h, &pl, 0, PM_NAP_MAX_NS);

		if (rc) {
			err_line(reason, POOL_ERRLEN, "rank %d: waiting for rank 0: %s", mpienv_rank(), pm_why(rc));
			return rc;
		}
		if (h.op == PM_QUIT) {
			free(pl);
			return 0;
		}
		if (h.op != PM_OPEN) {
			free(pl);
			err_line(reason, POOL_ERRLEN, "rank %d: unexpected command %u from rank 0", mpienv_rank(), h.op);
			return -EIO;
		}
		rc = pm_serve_case(hst, pl, h.len, reason);
		free(pl);
		if (rc)
			return rc;
	}
}

#else /* built without MPI: the backend exists and says so */

int pool_mpi_start(struct pool_mpi **out, const struct pool_cfg *cfg, void *cmd, void *slots,
		   size_t stride, int *ran_on, pid_t *pid, char *reason)
{
	(void)cfg, (void)cmd, (void)slots, (void)stride, (void)ran_on, (void)pid;
	*out = NULL;
	err_line(reason, POOL_ERRLEN, "--workers=mpi: ipclab was built without MPI");
	return -ENOTSUP;
}

int pool_mpi_round(struct pool_mpi *m, unsigned timeout_ms, char *reason)
{
	(void)m, (void)timeout_ms;
	err_line(reason, POOL_ERRLEN, "--workers=mpi: ipclab was built without MPI");
	return -ENOTSUP;
}

int pool_mpi_stop(struct pool_mpi *m, unsigned timeout_ms, char *reason)
{
	(void)m, (void)timeout_ms, (void)reason;
	return 0;
}

void pool_mpi_sync(struct pool_worker *w)
{
	(void)w;
}

int pool_mpi_serve(const struct pool_mpi_host *h, char *reason)
{
	(void)h;
	err_line(reason, POOL_ERRLEN, "--workers=mpi: ipclab was built without MPI");
	return -EIO;
}

bool pool_mpi_finish(void)
{
	return false;
}
#endif
