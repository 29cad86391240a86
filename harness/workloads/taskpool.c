/* taskpool.c - the Pool.map of C: worker 0 (the driver) owns n tasks and
 * hands them in chunks to k workers over a channel, and takes the results
 * back over another; each task is a calibrated CPU loop of task:US
 * microseconds (axis, default 10, as the Python driver's py-pool uses).
 * chunk:N tasks travel in one message of size bytes (axis, default 1;
 * chunk:auto is Python's own default, ceil(n / (4k)) for a map of n tasks).
 *
 * Channels: one task channel that the k workers share, or one per worker
 * (dealt round-robin) when the mechanism cannot share one among receivers
 * at this size; one result channel they share, or one per worker when it
 * cannot share one among senders (then the driver reads the results in the
 * order it dealt the chunks).  At most WINDOW_PER_WORKER chunks per worker
 * are in flight (fewer when the mechanism holds fewer messages or bytes),
 * and every channel is made that deep, so no send can wait forever.  A round ends with one stop message per worker.
 *
 * A sample is one task's submit to result: from the map call (the round's
 * start in the driver, stamped into each chunk) to the task's end in its
 * worker, so queueing in the map counts (as in the Python driver).  Besides
 * the usual counters: tasks_per_s; task_share, the workers' CPU time inside
 * the tasks over their time in the round (the CPU time is read per chunk:
 * CLOCK_THREAD_CPUTIME_ID is a system call here, as long as a 1 us task);
 * task_cpu_ns, the mean measured CPU time of one task; chunk_tasks, the
 * chunk size a round used.  The speed-up against pool 1 at the same chunk
 * size is read by the report from the pool-1 case of the same run (pool 1
 * is added to any selection without it). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "channel.h"
#include "clock.h"

/* Chunks in flight per worker (Python's Pool puts every task in its queue
 * at once; a deep window keeps the workers from waiting on the driver),
 * and the most bytes a result channel must hold (a unix-stream socket buffer
 * holds about 200 KiB here: a fuller window would deadlock). */
#define WINDOW_PER_WORKER 64u
#define WINDOW_MAX_BYTES (128u * 1024u)
/* Python's Pool.map: chunksize = ceil(n / (workers * 4)). */
#define PY_CHUNK_DIVISOR 4u
/* Calibration: loop passes per try, and tries (the fastest counts). */
#define CALIBRATE_PASSES 200000u
#define CALIBRATE_TRIES 5
#define MAX_TASK_US 100000u

/* One message: a chunk (driver to worker), its result (worker to driver),
 * or a stop (ntasks 0).  The rest of the size bytes is payload. */
struct tp_msg {
	uint64_t first;  /* first task index of the chunk */
	uint32_t ntasks; /* tasks in it; 0: stop */
	uint32_t worker; /* result: the worker that ran it */
	uint64_t t_map;  /* chunk: the map call's start (driver's clock) */
	uint64_t check;  /* result: sum of the task indices it ran */
};

/* What each worker reports beside its slot. */
struct tp_out {
	uint64_t task_cpu_ns; /* thread CPU time inside tasks, this round */
	uint64_t chunk;       /* driver: the chunk size this round used */
};

/* The case's state (case_run.fam), shared with the workers (inherited, or
 * the same memory for threads). */
struct tp_state {
	const struct ipc_ops *ops;
	struct ipc_caps caps;
	bool per_task, per_result; /* one channel per worker */
	unsigned ntask_ch, nres_ch;
	void *chans[2 * POOL_MAX_WORKERS]; /* tasks, then results */
	double loops_per_us;
	struct tp_out *out;        /* nprocs entries, MAP_SHARED */
	size_t out_len;
};

/* A worker's own state (w->priv). */
struct tp_worker {
	void **send, *recv;        /* driver: task ends; worker: result end */
	void **recv_res;           /* driver: result ends */
	void *task_end;            /* worker: its task channel end */
	uint8_t *buf;
	uint8_t *seen;             /* driver: chunks whose result arrived */
	size_t seen_len;
};

static const uint64_t task_quick[] = { 10, WL_AXIS_END };
static const uint64_t task_full[] = { 0, 1, 10, 100, WL_AXIS_END };
static const struct wl_axis task_axis = {
	.key = "task",
	.meaning = "microseconds of calibrated CPU loop per task",
	.def = 10,
	.max = MAX_TASK_US,
	.quick = task_quick,
	.full = task_full,
};
static const uint64_t chunk_quick[] = { 1, 0, WL_AXIS_END };
static const uint64_t chunk_full[] = { 1, 4, 16, 64, 0, WL_AXIS_END };
static const struct wl_axis chunk_axis = {
	.key = "chunk",
	.meaning = "tasks per message; auto: Python's Pool.map default ceil(n/(4k))",
	.def = 1,
	.max = 1000000,
	.zero_word = "auto",
	.quick = chunk_quick,
	.full = chunk_full,
};
enum { AXIS_CHUNK = 0, AXIS_TASK = 1 };
static const struct wl_axis *const taskpool_axes[] = { &chunk_axis, &task_axis, NULL };

static unsigned taskpool_procs(unsigned pool)
{
	return pool + 1;
}

static uint64_t taskpool_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n; /* tasks run and checked */
}

/* The task: a dependent multiply-add chain the compiler cannot fold. */
static uint64_t spin_loop(uint64_t passes, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (uint64_t i = 0; i < passes; i++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		__asm__ volatile("" : "+r"(x));
	}
	return x;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Loop passes per microsecond on this machine (the fastest of a few tries,
 * so a preempted try does not count). */
static double calibrate(void)
{
	uint64_t best = UINT64_MAX;

	for (int t = 0; t < CALIBRATE_TRIES; t++) {
		uint64_t t0 = clk_now_ns(), d;

		spin_loop(CALIBRATE_PASSES, (uint64_t)t);
		d = clk_now_ns() - t0;
		if (d && d < best)
			best = d;
	}
	return (double)CALIBRATE_PASSES * 1000.0 / (double)best;
}

static void tp_destroy(struct case_run *r)
{
	struct tp_state *st = r->fam;

	if (!st)
		return;
	for (unsigned c = 0; c < st->ntask_ch + st->nres_ch; c++)
		if (st->chans[c])
			st->ops->destroy(st->chans[c]);
	if (st->out)
		munmap(st->out, st->out_len);
	free(st);
	r->fam = NULL;
}

static int tp_prepare(struct case_run *r, char *why)
{
	const struct case_spec *sp = &r->spec;
	struct tp_state *st = calloc(1, sizeof(*st));
	char err[IPC_ERRLEN] = "";
	unsigned k = sp->pool;
	int rc;

	if (!st)
		return -ENOMEM;
	r->fam = st;
	st->ops = sp->subject.table;
	if ((rc = st->ops->caps(&st->caps, err)) < 0) {
		case_why(why, rc, "%s: %s", st->ops->name, err[0] ? err : strerror(-rc));
		goto fail;
	}
	if (sp->size < sizeof(struct tp_msg)) {
		rc = case_why(why, -ENOTSUP, "size %zu is below taskpool's %zu-byte chunk header", sp->size,
			      sizeof(struct tp_msg));
		goto fail;
	}
	if (sp->size > st->caps.max_msg) {
		rc = case_why(why, -ENOTSUP, "size %zu exceeds %s's largest message on this machine (%zu bytes)",
			      sp->size, st->ops->name, st->caps.max_msg);
		goto fail;
	}
	if (!(st->caps.waits & IPC_WAIT_BIT(sp->wait))) {
		rc = case_why(why, -ENOTSUP, "%s has no %s wait", st->ops->name, ipc_wait_name(sp->wait));
		goto fail;
	}
	st->per_result = k > 1 && st->caps.max_shared_send < sp->size;
	st->per_task = st->per_result || (k > 1 && st->caps.max_shared_recv < sp->size);
	st->ntask_ch = st->per_task ? k : 1;
	st->nres_ch = st->per_result ? k : 1;
	if (st->per_task)
		snprintf(r->note, sizeof(r->note), " channels=per-worker%s", st->per_result ? "" : "-tasks");
	st->loops_per_us = calibrate();
	st->out_len = r->nprocs * sizeof(*st->out);
	st->out = mmap(NULL, st->out_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st->out == MAP_FAILED) {
		st->out = NULL;
		rc = case_why(why, -ENOMEM, "mmap of the taskpool results");
		goto fail;
	}
	return 0;
fail:
	tp_destroy(r);
	return rc;
}

/* The depth every channel is made with: the window that can sit in it
 * (at least 1). */
static unsigned tp_depth(const struct case_run *r, const struct tp_state *st)
{
	unsigned d = WINDOW_PER_WORKER * r->spec.pool, by_bytes = (unsigned)(WINDOW_MAX_BYTES / r->spec.size);

	if (st->caps.max_depth && d > st->caps.max_depth)
		d = st->caps.max_depth;
	if (d > by_bytes)
		d = by_bytes;
	return d ? d : 1;
}

/* The window of chunks in flight: never more than any channel holds. */
static unsigned tp_window(const struct case_run *r, const struct tp_state *st)
{
	return tp_depth(r, st);
}

static int tp_create(struct case_run *r, char *why)
{
	const struct case_spec *sp = &r->spec;
	struct tp_state *st = r->fam;
	unsigned k = sp->pool;
	char err[IPC_ERRLEN] = "";

	for (unsigned c = 0; c < st->ntask_ch + st->nres_ch; c++) {
		bool task = c < st->ntask_ch;
		struct ipc_params p = {
			.max_msg = sp->size,
			.depth = tp_depth(r, st),
			.senders = task ? 1 : (st->per_result ? 1 : k),
			.receivers = task ? (st->per_task ? 1 : k) : 1,
			.wait = sp->wait,
			.timeout_ms = sp->timeout_ms * POOL_STALL_STRETCH, /* see channel.c */
		};
		int rc = st->ops->create(&p, &st->chans[c], err);

		if (rc < 0) {
			st->chans[c] = NULL;
			if (rc == -EMSGSIZE || rc == -EINVAL)
				rc = -ENOTSUP; /* a limit of this machine */
			case_why(why, rc, "%s: %s", st->ops->name, err[0] ? err : strerror(-rc));
			tp_destroy(r);
			return rc;
		}
	}
	return 0;
}

static void tp_started(struct case_run *r)
{
	struct tp_state *st = r->fam;

	for (unsigned c = 0; c < st->ntask_ch + st->nres_ch; c++)
		st->ops->forget(st->chans[c]);
}

static bool tp_talks(const struct case_run *r, unsigned from, unsigned to)
{
	(void)r;
	return from != to && (from == 0 || to == 0);
}

/* The task channel worker i (1..k) takes from, and the result channel it
 * answers on (indices into chans). */
static unsigned task_ch_of(const struct tp_state *st, unsigned i)
{
	return st->per_task ? i - 1 : 0;
}

static unsigned res_ch_of(const struct tp_state *st, unsigned i)
{
	return st->ntask_ch + (st->per_result ? i - 1 : 0);
}

static int tp_setup(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	const struct tp_state *st = r->fam;
	const struct ipc_ops *o = st->ops;
	struct tp_worker *tw = calloc(1, sizeof(*tw));
	char err[IPC_ERRLEN] = "";
	int rc = 0;

	if (!tw || !(tw->buf = calloc(1, r->spec.size))) {
		free(tw);
		snprintf(w->err, POOL_ERRLEN, "taskpool: worker %u: out of memory", w->id);
		return -ENOMEM;
	}
	w->priv = tw;
	if (w->id == 0) {
		tw->send = calloc(st->ntask_ch, sizeof(void *));
		tw->recv_res = calloc(st->nres_ch, sizeof(void *));
		if (!tw->send || !tw->recv_res) {
			snprintf(w->err, POOL_ERRLEN, "taskpool: driver: out of memory");
			return -ENOMEM;
		}
		for (unsigned c = 0; c < st->ntask_ch && rc == 0; c++)
			rc = o->attach(st->chans[c], IPC_SEND, &tw->send[c], err);
		for (unsigned c = 0; c < st->nres_ch && rc == 0; c++)
			rc = o->attach(st->chans[st->ntask_ch + c], IPC_RECV, &tw->recv_res[c], err);
	} else {
		unsigned tc = task_ch_of(st, w->id), rcn = res_ch_of(st, w->id);

		for (unsigned c = 0; c < st->ntask_ch + st->nres_ch && rc == 0; c++) {
			if (c == tc)
				rc = o->attach(st->chans[c], IPC_RECV, &tw->task_end, err);
			else if (c == rcn)
				rc = o->attach(st->chans[c], IPC_SEND, &tw->recv, err);
			else if (!pool_backend_shares_memory(r->spec.workers))
				o->forget(st->chans[c]); /* threads: a peer uses it */
		}
	}
	if (rc < 0)
		snprintf(w->err, POOL_ERRLEN, "%s: worker %u: attach: %s", o->name, w->id,
			 err[0] ? err : strerror(-rc));
	return rc;
}

static void tp_teardown(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	const struct tp_state *st = r->fam;
	struct tp_worker *tw = w->priv;

	if (!tw)
		return;
	for (unsigned c = 0; tw->send && c < st->ntask_ch; c++)
		if (tw->send[c])
			st->ops->detach(tw->send[c]);
	for (unsigned c = 0; tw->recv_res && c < st->nres_ch; c++)
		if (tw->recv_res[c])
			st->ops->detach(tw->recv_res[c]);
	if (tw->task_end)
		st->ops->detach(tw->task_end);
	if (tw->recv)
		st->ops->detach(tw->recv);
	free(tw->send);
	free(tw->recv_res);
	free(tw->seen);
	free(tw->buf);
	free(tw);
	w->priv = NULL;
}

static uint64_t index_sum(uint64_t first, uint64_t nt)
{
	return first * nt + nt * (nt - 1) / 2;
}

/* The driver: deal the chunks, keep the window full, take every result
 * back exactly once, then stop the workers. */
static int drive(struct pool_worker *w, const struct wl_cmd *cmd, struct tp_worker *tw)
{
	const struct case_run *r = w->arg;
	const struct tp_state *st = r->fam;
	const struct ipc_ops *o = st->ops;
	unsigned k = r->spec.pool, window = tp_window(r, st);
	uint64_t n = cmd->n, chunk = r->spec.axis[AXIS_CHUNK], nchunks, sent = 0, got = 0;
	uint64_t t_map = clk_now_ns();
	struct tp_msg *m = (struct tp_msg *)tw->buf;
	size_t size = r->spec.size;
	const char *what;
	ssize_t len;
	int rc;

	if (chunk == 0) /* auto: Python's Pool.map default */
		chunk = (n + (uint64_t)k * PY_CHUNK_DIVISOR - 1) / ((uint64_t)k * PY_CHUNK_DIVISOR);
	if (chunk == 0)
		chunk = 1;
	st->out[0].chunk = chunk;
	nchunks = (n + chunk - 1) / chunk;
	if (tw->seen_len < nchunks) {
		free(tw->seen);
		if (!(tw->seen = malloc(nchunks))) {
			tw->seen_len = 0;
			snprintf(w->err, POOL_ERRLEN, "taskpool: driver: out of memory for %" PRIu64 " chunks", nchunks);
			return -ENOMEM;
		}
		tw->seen_len = nchunks;
	}
	memset(tw->seen, 0, nchunks);
	while (got < nchunks) {
		while (sent < nchunks && sent - got < window) {
			memset(m, 0, sizeof(*m));
			m->first = sent * chunk;
			m->ntasks = (uint32_t)(n - m->first < chunk ? n - m->first : chunk);
			m->t_map = t_map;
			what = "send a chunk";
			if ((rc = ipc_send(o, tw->send[st->per_task ? sent % k : 0], m, size)) < 0)
				goto fail;
			sent++;
		}
		what = "receive a result";
		len = ipc_recv(o, tw->recv_res[st->per_result ? got % k : 0], m, size);
		if (len < 0) {
			rc = (int)len;
			goto fail;
		}
		if ((size_t)len != size || m->first % chunk || m->first / chunk >= nchunks ||
		    tw->seen[m->first / chunk] || m->ntasks != (n - m->first < chunk ? n - m->first : chunk) ||
		    m->check != index_sum(m->first, m->ntasks)) {
			snprintf(w->err, POOL_ERRLEN, "taskpool/%s: a wrong or repeated result (first task %" PRIu64
				 ", %u tasks, %zd bytes)", o->name, m->first, m->ntasks, len);
			return -EPROTO;
		}
		tw->seen[m->first / chunk] = 1;
		got++;
		wl_tick(w->slot, got);
	}
	memset(m, 0, sizeof(*m)); /* one stop per worker */
	what = "send a stop";
	for (unsigned i = 0; i < k; i++)
		if ((rc = ipc_send(o, tw->send[st->per_task ? i : 0], m, size)) < 0)
			goto fail;
	return 0;
fail:
	snprintf(w->err, POOL_ERRLEN, "taskpool/%s: driver: %s: %s", o->name, what, strerror(-rc));
	return rc;
}

/* A worker: run the chunks it takes until a stop. */
static int work(struct pool_worker *w, struct tp_worker *tw, struct wl_slot *out)
{
	const struct case_run *r = w->arg;
	const struct tp_state *st = r->fam;
	const struct ipc_ops *o = st->ops;
	uint64_t passes = (uint64_t)(st->loops_per_us * (double)r->spec.axis[AXIS_TASK] + 0.5), sink = 0;
	struct tp_msg *m = (struct tp_msg *)tw->buf;
	struct tp_out *mine = &st->out[w->id];
	size_t size = r->spec.size;

	mine->task_cpu_ns = 0;
	for (;;) {
		ssize_t len = ipc_recv(o, tw->task_end, m, size);
		uint64_t cpu0, check = 0;
		int rc;

		if (len < 0) {
			snprintf(w->err, POOL_ERRLEN, "taskpool/%s: worker %u: receive a chunk: %s", o->name, w->id,
				 strerror((int)-len));
			return (int)len;
		}
		if ((size_t)len != size) {
			snprintf(w->err, POOL_ERRLEN, "taskpool/%s: worker %u: a chunk of %zd bytes, not %zu", o->name,
				 w->id, len, size);
			return -EPROTO;
		}
		if (m->ntasks == 0)
			break;
		cpu0 = thread_cpu_ns();
		for (uint32_t t = 0; t < m->ntasks; t++) {
			sink += spin_loop(passes, m->first + t);
			hist_record(&out->lat, clk_now_ns() - m->t_map);
			check += m->first + t;
		}
		mine->task_cpu_ns += thread_cpu_ns() - cpu0;
		out->received += m->ntasks;
		out->bytes += (uint64_t)m->ntasks * size;
		wl_tick(out, out->received);
		m->check = check;
		m->worker = w->id;
		if ((rc = ipc_send(o, tw->recv, m, size)) < 0) {
			snprintf(w->err, POOL_ERRLEN, "taskpool/%s: worker %u: send a result: %s", o->name, w->id,
				 strerror(-rc));
			return rc;
		}
	}
	out->sum = sink; /* keeps the loop's result alive; not checked */
	return 0;
}

static int tp_round(struct pool_worker *w, const struct wl_cmd *cmd, struct wl_slot *out)
{
	struct tp_worker *tw = w->priv;

	return w->id == 0 ? drive(w, cmd, tw) : work(w, tw, out);
}

static void tp_counters(const struct case_run *r, struct case_round *out)
{
	const struct tp_state *st = r->fam;
	double cpu = 0, wall = 0;

	for (unsigned i = 1; i < r->nprocs; i++) {
		const struct wl_slot *s = pool_slot(r->pool, i);

		cpu += (double)st->out[i].task_cpu_ns;
		wall += (double)(s->t_end - s->t_start);
	}
	case_round_counter(out, "tasks_per_s", out->elapsed_ns ? (double)out->n * 1e9 / (double)out->elapsed_ns : 0);
	case_round_counter(out, "task_share", wall > 0 ? cpu / wall : 0);
	case_round_counter(out, "task_cpu_ns", out->n ? cpu / (double)out->n : 0);
	case_round_counter(out, "chunk_tasks", (double)st->out[0].chunk);
}

static const struct wl_engine taskpool_engine = {
	.prepare = tp_prepare,
	.create = tp_create,
	.started = tp_started,
	.destroy = tp_destroy,
	.talks = tp_talks,
	.setup = tp_setup,
	.round = tp_round,
	.teardown = tp_teardown,
	.counters = tp_counters,
};

/* The quick profile's subset (make bench stays under 10 minutes). */
static const char *const quick[] = { "pipe", NULL };

const struct workload wl_taskpool = {
	.name = "taskpool",
	.summary = "Pool.map in C: a driver hands n CPU-loop tasks in chunks to N workers (axes chunk:N, task:US)",
	.family = &family_channel,
	.latency = WL_LAT_QUEUEING,
	.pool_axis = true,
	.procs_text = "N+1",
	.procs = taskpool_procs,
	.roles = "0: deals chunks and takes results back; 1..N: run each chunk's tasks, time each, answer",
	.delivered = taskpool_delivered,
	.sizes = WL_SIZES_POOL,
	.quick_max_pool = 2,
	.engine = &taskpool_engine,
	.quick_subjects = quick,
	.axes = taskpool_axes,
	.pool1_baseline = true,
};
