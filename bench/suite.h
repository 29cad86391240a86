/* suite.h - build/ipclab: the command line, the case matrix, the run. */
#ifndef IPCLAB_SUITE_H
#define IPCLAB_SUITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ipc.h"
#include "topo.h"
#include "workload.h"

#define SUITE_MAX_ITEMS 64   /* items in one comma list */
#define SUITE_MAX_ARGS 256
#define SUITE_ERRLEN 512
#define SUITE_MAX_AXIS_FLAGS 8 /* distinct --KEY= flags of workload axes */

/* The micro benchmarks (in-process, bench/micro.c) are a scenario of their
 * own; registry workloads with listed_under == SUITE_MICRO come with them. */
#define SUITE_MICRO "micro"

enum profile { PROFILE_QUICK = 0, PROFILE_FULL };

/* What the command line asked for.  A list with n == 0 was not given: the
 * profile decides. */
struct selection {
	enum profile profile;
	struct subject impls[SUITE_MAX_ITEMS];  /* --impl: subjects of any family */
	unsigned nimpls;
	/* --scenario: registry workloads; NULL stands for the micro benchmarks */
	const struct workload *scenarios[SUITE_MAX_ITEMS];
	unsigned nscenarios;
	size_t sizes[SUITE_MAX_ITEMS];
	unsigned nsizes;
	unsigned pools[SUITE_MAX_ITEMS];
	unsigned npools;
	enum placement_kind placements[SUITE_MAX_ITEMS];
	unsigned nplacements;
	struct placement cpus;          /* --cpus; kind PLACE_CPUS when given */
	bool have_cpus;
	enum ipc_wait waits[SUITE_MAX_ITEMS];
	unsigned nwaits;
	enum pool_backend workers[POOL_BACKEND_COUNT]; /* --workers */
	unsigned nworkers;
	enum verify_mode verify;
	unsigned timeout_ms;            /* --timeout: channel timeout, watchdog floor */
	uint64_t cs_ns[SUITE_MAX_ITEMS];      /* --cs: lock workloads' critical section */
	unsigned ncs;
	uint64_t outside_ns[SUITE_MAX_ITEMS]; /* --outside: their work outside it */
	unsigned noutside;
	/* --KEY=LIST for the workloads' own axes (wl_axis.key). */
	struct axis_sel {
		const struct wl_axis *axis;
		uint64_t v[SUITE_MAX_ITEMS];
		unsigned n;
	} axes[SUITE_MAX_AXIS_FLAGS];
	unsigned naxes;
	struct load_spec loads[SUITE_MAX_ITEMS]; /* --load: open-loop workloads */
	unsigned nloads;
	unsigned matrix_max_pairs;      /* --matrix-max-pairs (0: default) */
	const char *out;                /* --out=DIR, or NULL */
	bool list, help, describe;
	bool where;                     /* --where: print each case's CPUs (where.c) */
	/* Google Benchmark's flags, passed through untouched. */
	char *gb_argv[SUITE_MAX_ARGS];
	int gb_argc;
	bool gb_has_out, gb_has_reps, gb_has_min_time;
};

/* Parse argv into sel.  0, or -EINVAL with one line in err naming the value
 * and what is accepted (the caller prints it and exits 2).  Needs the
 * topology to check --cpus against the CPUs this process may use. */
int suite_parse(int argc, char **argv, const struct topo *topo,
		struct selection *sel, char *err);
void suite_usage(FILE *f, const char *argv0);

/* One case of the matrix. */
struct suite_case {
	char name[160];
	bool micro;                 /* in-process micro benchmark (micro.c) */
	int micro_kind;             /* see micro.c */
	struct case_spec spec;      /* spec.placement points into the suite */
	struct case_run *run;       /* open while Google Benchmark runs it */
	bool announced, skip;
	char why[SCENARIO_ERRLEN];  /* skip reason, once known */
	unsigned index;             /* 1-based, for the progress line */
	void *owner;                /* the runner (main.c) */
	struct hist *kept_hist;     /* the runner's copy of the histogram a call
				       reported (hist/ export); NULL: none */
	const char *out_dir;        /* the results folder (matrix CSVs); NULL: none */
	struct matrix_case *matrix; /* matrixrun.c: a matrix case's pairs and kept
				       repetitions; NULL until its first call */
	/* Fleet mode (fleet.h): where a file of the results folder goes
	 * instead of out_dir (name: a plain file name there; text: the whole
	 * file).  0 or -errno.  NULL: into out_dir. */
	int (*keep_file)(void *arg, const char *name, const char *text);
	void *keep_file_arg;
};

struct suite {
	struct suite_case *cases;
	unsigned n;
	struct placement *placements; /* one per placement in the selection */
};

/* Expand the selection into cases (names in a stable order).  0, or -EINVAL
 * with err ("the selection makes no case").  Free with suite_free(). */
int suite_expand(const struct selection *sel, const struct topo *topo,
		 struct suite *out, char *err);
void suite_free(struct suite *s);
/* The values the profiles give the lock axes (cs:NS when cs, else
 * outside:NS); the first is the default, 0. */
const uint64_t *suite_lock_axis_values(bool cs, unsigned *n);
/* The loads the profiles give a load_axis workload besides closed loop
 * (at 64-byte messages). */
const struct load_spec *suite_load_values(unsigned *n);
/* "pingpong and stream run at pool 1 only", from the registry. */
void suite_pool1_names(char *buf, size_t len);

/* describe.c: the registries as JSON (--describe), and the same written
 * to DIR/describe.json (temporary name, then renamed).  0 or -errno with
 * one line in err. */
void suite_describe(FILE *f);
int suite_write_describe(const char *dir, char *err);
/* What each workload's latency sample is, one line for the context. */
void suite_latency_text(char *buf, size_t len);

/* where.c: each case's CPUs as JSON (--where).  0 or -EIO. */
int where_print(FILE *f, const struct suite *s);

struct gb_state;
struct gb_bench;
/* matrixrun.c: a pair_matrix case, one ping-pong per pair of PUs. */
void matrix_run(struct gb_state *st, struct suite_case *c);
/* The runner, after every repetition of any case (a no-op unless c is a
 * matrix case that ran): count the repetition's values when it is kept
 * without error, then rewrite the CSVs as medians over the kept
 * repetitions (a write error fails the repetition). */
void matrix_kept(struct suite_case *c, struct gb_bench *b);
/* Free a matrix case's state (suite_free). */
void matrix_forget(struct suite_case *c);

/* micro.c: in-process micro benchmarks. */
extern const char micro_summary[];

int micro_expand(const struct selection *sel, struct suite_case *cases, unsigned max);
struct gb_state;
void micro_run(struct gb_state *st, struct suite_case *c);
/* The counters every case carries (DESIGN.md) and the label, from a
 * harness result record. */
struct result;
void suite_report(struct gb_state *st, const struct result *res);

#endif
