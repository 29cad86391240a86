/* workload.h - what a case is: a subject (a member of a family, such as one
 * channel mechanism) driven by a workload (pingpong, stream, ...), and the
 * engine that opens, runs and closes any such case.
 *
 * HOW TO ADD A WORKLOAD
 *   1. Write harness/workloads/NAME.c exporting one
 *        const struct workload wl_NAME = { .name = "NAME", ... };
 *      Fill every descriptive field (summary, family, latency, pool_axis,
 *      procs_text + procs(), roles, sizes) and point .engine at the engine of
 *      the family it drives (a channel workload uses &channel_engine and
 *      describes its channel graph in .graph, see workloads/channel.h).
 *   2. Add one line  X(wl_NAME)  to WORKLOADS() in workloads/registry.h.
 *   Nothing else names it: --scenario, --list, --help, the case matrix,
 *   --describe, the report and the tests walk the registry.
 *
 * HOW TO ADD A FAMILY (a new kind of subject, e.g. impl/sync.h)
 *   Write one const struct family (name, summary, how to walk its own
 *   registry of const tables) and its engine (struct wl_engine: the roles
 *   each worker runs, in a pool of processes or threads), then add one line
 *   X(family_NAME) to FAMILIES() in workloads/registry.h.  --impl finds a
 *   subject in every family; a case pairs a subject only with workloads of
 *   its own family.
 *
 * A case is opened once (what the pool shares created, workers started,
 * placed, attached and warmed up, all outside any timed region), then runs
 * timed rounds of n iterations, then is closed.
 */
#ifndef IPCLAB_WORKLOAD_H
#define IPCLAB_WORKLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hist.h"
#include "ipc.h"
#include "load.h"
#include "pool.h"
#include "result.h"
#include "topo.h"

#define SCENARIO_ERRLEN 512
#define SCENARIO_LABELLEN 512
/* Every message starts with a 16-byte header: sequence and sender (8 bytes)
 * and the send timestamp (8 bytes).  Smaller messages cannot be checked. */
#define SCENARIO_MIN_SIZE 16

/* How much of each message the receiver checks (it always receives, i.e.
 * copies, every byte). */
enum verify_mode {
	VERIFY_SAMPLE = 0, /* length, sequence, sender, and a tail word stamped
			      with the sequence: catches loss, duplication,
			      reordering and truncation at no measurable cost */
	VERIFY_FULL = 1,   /* additionally every payload byte (a pattern that
			      depends on the sequence; sender and receiver pay
			      for it inside the timed region) */
};

/* How a case ended.  The number travels as the -errno of case_open() and
 * case_round() (-ENOTSUP skipped, -EINTR interrupted, any other failed);
 * its message as why, which case_why() starts with the outcome's word
 * ("skipped: ", "failed: ", "interrupted: ": Google Benchmark's
 * error_message keeps them, scripts read them). */
enum case_outcome {
	CASE_OK = 0,
	CASE_SKIPPED,
	CASE_FAILED,
	CASE_INTERRUPTED,
	CASE_OUTCOME_COUNT
};
enum case_outcome case_outcome_of(int rc);
const char *case_outcome_name(enum case_outcome o); /* "ok", "skipped", ... */
/* why = "<outcome of rc>: <message>" (SCENARIO_ERRLEN bytes); returns rc. */
int case_why(char *why, int rc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* What one latency sample of a workload is. */
enum wl_latency {
	WL_LAT_ROUND_TRIP = 0, /* there and back between two processes */
	WL_LAT_ONE_WAY,        /* send timestamp to receipt, at a stated load */
	WL_LAT_QUEUEING,       /* one way, flat out: includes time queued */
	WL_LAT_OPERATION,      /* one operation in one process */
	WL_LAT_LAP,            /* one full lap of a token around N processes */
	WL_LAT_COUNT
};
const char *wl_latency_name(enum wl_latency l); /* "round trip", ... */

/* The message sizes a profile gives a workload when --size is absent. */
enum wl_sizes {
	WL_SIZES_PAIR = 0, /* quick 64, 4k, 64k; full 16 B .. 1 MiB */
	WL_SIZES_POOL,     /* quick 64; full 64, 4k, 64k */
	WL_SIZES_FIXED,    /* always .fixed_size */
};

/* A family: one kind of const table (a channel's ipc_ops, a sync
 * primitive's ops, ...) with its own registry. */
struct family {
	const char *name;
	const char *summary;
	/* Walk the family's registry: the i-th table, NULL after the last. */
	const void *(*member)(unsigned i);
	const char *(*member_name)(const void *table);
	const char *(*member_summary)(const void *table);
	/* IPC_WAIT_BIT() of every wait the member supports here (0: none
	 * known).  May be NULL for a family without waits. */
	unsigned (*member_waits)(const void *table);
	/* Does the member wait by yielding to the other coroutines of its
	 * thread?  NULL: no member does.  Under --workers=coroutine a case
	 * with more than one worker needs it (a blocking wait would stop the
	 * only thread). */
	bool (*member_yields)(const void *table);
};

/* A subject: one member of one family. */
struct subject {
	const struct family *family;
	const void *table; /* e.g. const struct ipc_ops * for "channel" */
};
const char *subject_name(const struct subject *s);

struct case_run;
struct case_spec;

/* A workload's own axis: a segment /key:value after pool:N in the case
 * name (left out at its default), a flag --key=LIST, and the values each
 * profile gives it.  Values are unsigned integers; 0 may be spelled by a
 * word ("auto").  A case's value: case_spec.axis[i] for wl->axes[i]. */
#define WL_MAX_AXES 4
#define WL_AXIS_END UINT64_MAX /* ends a profile's value list */
struct wl_axis {
	const char *key;          /* "task": /task:10, --task=10,100 */
	const char *meaning;      /* one line for --help and --describe */
	uint64_t def;             /* the default, left out of the name */
	uint64_t max;             /* the largest value accepted */
	bool bytes;               /* values take k, M and G suffixes (binary) */
	const char *zero_word;    /* 0 is spelled so in names and flags; NULL: "0" */
	/* Words instead of numbers: value i is spelled words[i] (NULL-ended;
	 * max is then the last index).  NULL: numbers. */
	const char *const *words;
	const uint64_t *quick;    /* the profiles' values, WL_AXIS_END-terminated */
	const uint64_t *full;
};
/* "auto", or the number. */
const char *wl_axis_format(const struct wl_axis *a, uint64_t v, char *buf, size_t len);
/* Parse one value of the axis (word, digits, suffix).  0 or -EINVAL/-ERANGE. */
int wl_axis_parse(const struct wl_axis *a, const char *s, uint64_t *out);
/* The first axis of any workload with this key (keylen bytes), or NULL. */
const struct wl_axis *wl_axis_find(const char *key, size_t keylen);

/* What a worker reports after a round (its pool slot); the engine resets
 * it, starts everyone together and stamps t_start/t_end. */
struct wl_slot {
	uint64_t progress;        /* operations handled so far (relaxed atomic) */
	uint64_t t_start, t_end;
	uint64_t received, bytes; /* checked messages / payload bytes */
	uint64_t sum, sumsq;      /* of received sequence numbers, mod 2^64 */
	struct hist lat;          /* samples; empty for roles that time nothing */
	/* Open-loop rounds (load.h); reset by the engine's round. */
	uint64_t late;            /* sender: messages sent after their due time */
	struct hist lat_service;  /* receiver: receipt minus actual send */
	/* Open loop, sender: its time in the round, and how much of it it was
	 * runnable but waiting for a CPU (load_thread_sched); both 0 when the
	 * scheduler's statistics cannot be read. */
	uint64_t send_ns, send_cpu_wait_ns;
};

/* Tell the parent's watchdog this worker is moving (one relaxed store to its
 * own slot line; an MPI worker's rank also sends a heartbeat now and then,
 * see pool_beat). */
static inline void wl_tick(struct wl_slot *out, uint64_t v)
{
	__atomic_store_n(&out->progress, v, __ATOMIC_RELAXED);
	if (__builtin_expect(v % POOL_BEAT_TICKS == 0, 0) && pool_beat)
		pool_beat(v);
}

/* The command of one round, as workers see it (pool_worker.cmd). */
struct wl_cmd {
	uint64_t n;        /* iterations this round, for the whole pool */
	uint32_t verify;   /* enum verify_mode */
	uint32_t pad;
	/* Open loop (load.h): messages per second the senders offer together,
	 * and the schedule's time 0; load_rate 0 is closed loop. */
	double load_rate;
	uint64_t load_origin_ns;
};

/*
 * A family's engine: what a case of that family does in the parent and in
 * each worker.  The generic engine (engine.c) places, starts the pool,
 * releases rounds, merges slots, checks counts and closes; these hooks do
 * the family's part.  Worker hooks get w->arg == the struct case_run.
 */
struct wl_engine {
	/* Parent, first: check the subject x workload pair and decide roles
	 * (nothing outside this process made yet).  0; -ENOTSUP when the case
	 * cannot run here (why "skipped: ..."); other -errno (why says so). */
	int (*prepare)(struct case_run *r, char *why);
	/* Parent, after placement: create what the workers share (channels,
	 * shared memory).  Same returns as prepare. */
	int (*create)(struct case_run *r, char *why);
	/* Parent, after every worker started: drop what the parent holds. */
	void (*started)(struct case_run *r);
	/* Parent: remove everything prepare and create made (also after a
	 * worker died, also after either failed half-way). */
	void (*destroy)(struct case_run *r);
	/* Does worker 'from' send to worker 'to'?  (The label's CPU classes.) */
	bool (*talks)(const struct case_run *r, unsigned from, unsigned to);
	/* Worker: attach what it uses, forget the rest (0 or -errno, w->err). */
	int (*setup)(struct pool_worker *w);
	/* Worker: one round of cmd->n iterations into out (0 or -errno, w->err). */
	int (*round)(struct pool_worker *w, const struct wl_cmd *cmd, struct wl_slot *out);
	void (*teardown)(struct pool_worker *w);
	/* Parent, after a round whose counts add up: any further check over
	 * the merged slots (NULL: none).  0 or -EPROTO with why. */
	int (*check_round)(const struct case_run *r, uint64_t n, uint64_t sum, uint64_t sumsq, char *why);
	/* Parent, after a round, before check_round: the workload's own
	 * counters into out (case_round_counter; NULL: none). */
	void (*counters)(const struct case_run *r, struct case_round *out);
	/* --workers=mpi (engine_mpi.c): worker w's rank creates what it owns
	 * (a channel is created where it is received) and writes one line per
	 * such object into text (cap bytes), which every rank imports with
	 * rank_import (the lines of all workers) before its setup.  NULL: the
	 * family cannot cross ranks (the case is skipped).  Same returns as
	 * create; import: 0 or -errno with a line in err (POOL_ERRLEN). */
	int (*rank_create)(struct case_run *r, unsigned worker, char *text, size_t cap, char *why);
	int (*rank_import)(struct case_run *r, unsigned worker, const char *table, char *err);
};

struct workload {
	const char *name;          /* first segment of case names, --scenario */
	const char *summary;       /* one line for --help, --describe, report */
	const struct family *family;
	enum wl_latency latency;   /* what one latency sample is */
	bool pool_axis;            /* false: runs at pool 1 only */
	const char *procs_text;    /* processes for pool N: "2", "2N", "N+1" */
	unsigned (*procs)(unsigned pool);
	const char *roles;         /* the role of each process, one line */
	/* Optional: hops one latency sample spans (a ring's lap); the case
	 * then also reports hop_p50_ns, the median sample over its hops. */
	unsigned (*hops)(unsigned pool);
	/* Messages a round of n iterations delivers and checks. */
	uint64_t (*delivered)(unsigned pool, uint64_t n);
	enum wl_sizes sizes;
	size_t fixed_size;         /* WL_SIZES_FIXED */
	/* The quick profile's share: pools above this are left to the full
	 * profile (0: every quick pool).  Keeps a new workload's quick subset
	 * small (README, "Time budget"). */
	unsigned quick_max_pool;
	/* NULL: listed under its own name with every subject of its family.
	 * Otherwise the scenario it is listed under, with no subject of its
	 * own ("micro": micro/NAME/WAIT/PLACEMENT/size:N/pool:1, wait
	 * fixed_wait, on --cpus or else compact). */
	const char *listed_under;
	enum ipc_wait fixed_wait;
	const struct wl_engine *engine;
	const void *graph;         /* the engine's part of this workload */
	/* Lock workloads: the axes cs:NS and outside:NS (case_spec.cs_ns,
	 * outside_ns; --cs, --outside), each left out of the name at 0. */
	bool lock_axes;
	/* NULL-terminated subject names the quick profile runs when --impl is
	 * absent (NULL: every subject of the family). */
	const char *const *quick_subjects;
	/* The workload's own axes (NULL-terminated, at most WL_MAX_AXES). */
	const struct wl_axis *const *axes;
	/* Pool 1 is added to any selection of pools without it (the workload
	 * reads its speed-up against pool 1 of the same run). */
	bool pool1_baseline;
	/* Iterations a correctness test runs per round (0: the test's own
	 * choice); a workload whose iteration costs milliseconds says fewer. */
	unsigned tiny_round;
	/* Open-loop load (load.h): the axes load:F and rate:N (case_spec.load,
	 * --load), left out of the name when closed loop. */
	bool load_axis;
	/* NULL-terminated subjects the quick profile runs at load (64 B,
	 * loads 0.1, 0.5, 0.9) when --impl and --load are absent (NULL: none). */
	const char *const *quick_load_subjects;
	/* A core-to-core matrix (workloads/matrix.h): a case runs this
	 * workload once per ordered pair of PUs, each on its pair. */
	bool pair_matrix;
};

/* The registries (workloads/registry.c), NULL-terminated, in list order. */
extern const struct workload *const wl_registry[];
extern const struct family *const family_registry[];
#define wl_for_each(wl) \
	for (const struct workload *const *wl##_it = wl_registry; ((wl) = *wl##_it) != NULL; wl##_it++)
#define family_for_each(f) \
	for (const struct family *const *f##_it = family_registry; ((f) = *f##_it) != NULL; f##_it++)
const struct workload *wl_find(const char *name);
const struct family *family_find(const char *name);
/* A subject by name in any family.  0, or -ENOENT. */
int subject_find(const char *name, struct subject *out);
/* Does the workload run with its pool size given (an axis) or at 1? */
unsigned wl_pool(const struct workload *wl, unsigned pool);

struct case_spec {
	const struct workload *workload;
	struct subject subject;        /* family == workload->family, or none */
	enum ipc_wait wait;
	size_t size;                   /* bytes per message, header included */
	unsigned pool;                 /* 1 when the workload has no pool axis */
	const struct placement *placement;
	const struct topo *topo;
	enum verify_mode verify;
	unsigned depth;                /* channel depth; 0: mechanism default */
	unsigned timeout_ms;           /* channel timeout and watchdog floor */
	enum pool_backend workers;     /* where the workers run */
	uint64_t cs_ns, outside_ns;    /* lock_axes: work inside / outside */
	uint64_t axis[WL_MAX_AXES];    /* the value of workload->axes[i] */
	struct load_spec load;         /* load_axis: open loop; 0: closed */
	unsigned matrix_max_pairs;     /* pair_matrix: --matrix-max-pairs (0: default) */
};

/* What one round measured (merged over the pool). */
struct case_round {
	uint64_t n;                /* iterations: messages, round trips, laps */
	uint64_t delivered;        /* messages received and checked */
	uint64_t bytes;            /* payload bytes received and checked */
	uint64_t elapsed_ns;       /* first worker start .. last worker end */
	struct result_extra extra[RESULT_EXTRA_MAX]; /* the workload's own */
	unsigned nextra;
	struct hist lat;           /* per-iteration samples, ns */
};

/* Add one of the workload's own counters to a round (wl_engine.counters);
 * beyond RESULT_EXTRA_MAX they are dropped. */
static inline void case_round_counter(struct case_round *out, const char *name, double value)
{
	if (out->nextra < RESULT_EXTRA_MAX)
		out->extra[out->nextra++] = (struct result_extra){ name, value };
}

/* An open case.  Engines read and fill it; callers use the functions. */
struct case_run {
	struct case_spec spec;
	unsigned nprocs;
	int *cpus;
	bool oversubscribed, dead;
	struct pool *pool;
	void *fam;                     /* the family engine's state */
	char note[64];                 /* label suffix, e.g. " fanout=..." */
	bool per_worker;               /* fanout over one channel per consumer */
	char label[SCENARIO_LABELLEN];
	/* Open loop (load.c): the measured saturation (msgs/s, load:F),
	 * the rate offered, and whether a saturation round is running. */
	double load_saturation, load_rate;
	bool load_measuring;
};

/*
 * Open a case: check it, place, create what the pool shares, start and
 * attach the workers.  Returns 0; -ENOTSUP when the case cannot run on this
 * subject or machine (why: "skipped: ..."); another -errno when it failed
 * (why says so).  On error nothing is left behind.
 */
int case_open(struct case_run **out, const struct case_spec *spec, char *why);

/* One timed round of n iterations.  0, or -errno with why; after an error
 * the case is dead (its pool killed) and only case_close() may follow.
 * -EINTR when the user interrupted (sig_pending()). */
int case_round(struct case_run *r, uint64_t n, struct case_round *out, char *why);

/* A warm-up round whose results are dropped. */
int case_warmup(struct case_run *r, uint64_t n, char *why);

/* The label: "cpus=0,1 class=same-package" (+ " fanout=per-worker"). */
const char *case_label(const struct case_run *r);
bool case_oversubscribed(const struct case_run *r);
bool case_per_worker_channels(const struct case_run *r);
unsigned case_procs(const struct case_run *r);
/* Hops one sample spans (0: the workload does not say). */
unsigned case_hops(const struct case_run *r);

/* Stop the workers, reap them, destroy what the case made.  0 or -errno
 * with why (why may be NULL) when a worker had to be killed. */
int case_close(struct case_run *r, char *why);

/* The pool's callbacks for r's workers (setup, round, teardown, arg, slot
 * and command sizes, progress): what case_open gives pool_start, and what
 * an MPI rank runs (engine_mpi.c). */
void case_pool_callbacks(struct case_run *r, struct pool_cfg *cfg);

/* --workers=mpi (engine_mpi.c).  Rank 0, in case_open: create worker 0's
 * objects and describe the case for the other ranks (cfg->mpi_*; free
 * with case_mpi_free).  0, -ENOTSUP with why when the case cannot cross
 * ranks, or -errno. */
int case_mpi_describe(struct case_run *r, struct pool_cfg *cfg, char *why);
void case_mpi_free(struct pool_cfg *cfg);
/* Every other rank: serve rank 0's cases until it says quit (topo: this
 * host's).  0, or -errno with why. */
int case_mpi_serve(const struct topo *topo, char *why);

#endif
