/* runner.c - build/ipclab's run loop: the order of the repetitions, one
 * call of a case per repetition (its processes and channels opened and
 * closed within the call), the progress line, and the stop at a signal with
 * every finished repetition kept.  Measurement code never prints: only the
 * progress line is printed here, between two repetitions. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "clock.h"
#include "gbench.h"
#include "histout.h"
#include "result.h"
#include "perfpipe.h"
#include "runner.h"
#include "sentinel.h"
#include "sig.h"

/* Warm-up before each timed round: a tenth of the round, at least this
 * many messages, at most that many. */
#define WARMUP_MIN 16
#define WARMUP_MAX 10000

static void fail(struct gb_state *st, struct suite_case *c, const char *why)
{
	gb_skip_with_error(st, why);
	/* A case that cannot run is not tried again by its later repetitions
	 * (they report the same reason), unless the reason is the user's
	 * interruption. */
	if (!sig_pending() && strncmp(why, "interrupted", 11) != 0) {
		c->skip = true;
		if (c->why != why)
			snprintf(c->why, sizeof(c->why), "%s", why);
	}
}

/* A TSC clock that disagrees with CLOCK_MONOTONIC by the end of a case
 * marks that case (counter clock_drift = 1; absent when the check passed
 * or the clock is CLOCK_MONOTONIC). */
static void mark_clock_drift(struct gb_state *st)
{
	struct clk_drift d;

	if (clk_check(&d) == 0 && d.drifted)
		gb_counter(st, "clock_drift", 1, GB_COUNTER_DEFAULT);
}

/* The case function: one call is one round of gb_max_iterations()
 * iterations.  The case is opened by the first call of a repetition and
 * stays open for the calls that size it (Google Benchmark's 1, 10, 100, ...
 * iterations); the runner closes it when the repetition is over
 * (close_case), so each repetition has processes and channels of its own. */
static void run_case(struct gb_state *st, void *arg)
{
	struct suite_case *c = arg;
	char why[SCENARIO_ERRLEN] = "";
	struct case_round *round;
	struct result res;
	uint64_t n, warm;
	int rc;

	if (sig_pending()) {
		gb_skip_with_error(st, "interrupted: not run");
		return;
	}
	if (c->skip) {
		gb_skip_with_error(st, c->why);
		return;
	}
	if (c->micro) {
		micro_run(st, c);
		mark_clock_drift(st);
		return;
	}
	if (c->spec.workload->pair_matrix) {
		matrix_run(st, c);
		return;
	}
	round = malloc(sizeof(*round));
	if (!round) {
		fail(st, c, "failed: out of memory");
		return;
	}
	if (!c->run) {
		rc = case_open(&c->run, &c->spec, why);
		if (rc < 0) { /* why starts with the outcome of rc (case_why) */
			c->run = NULL;
			fail(st, c, why);
			free(round);
			return;
		}
	}
	n = gb_max_iterations(st);
	warm = n / 10 < WARMUP_MIN ? WARMUP_MIN : n / 10 > WARMUP_MAX ? WARMUP_MAX : n / 10;
	rc = case_warmup(c->run, warm, why);
	if (rc == 0)
		rc = case_round(c->run, n, round, why);
	if (rc < 0) {
		fail(st, c, why);
		case_close(c->run, NULL); /* dead: its pool was killed */
		c->run = NULL;
	} else {
		while (gb_keep_running_batch(st, n))
			gb_set_iteration_time(st, (double)round->elapsed_ns / 1e9);
		result_from_round(&res, round, c->run);
		suite_report(st, &res);
		suite_keep_hist(c, &round->lat);
		mark_clock_drift(st);
	}
	free(round);
}

/* After a repetition: close its case.  A worker that died after its last
 * round (killed, crashed in teardown) fails the repetition too: a crash of
 * a child fails its case. */
static void close_case(struct suite_case *c, struct gb_bench *b, bool kept)
{
	char why[SCENARIO_ERRLEN] = "", msg[SCENARIO_ERRLEN];

	if (!c->run)
		return;
	if (case_close(c->run, why) < 0 && kept && !sig_pending() && !gb_last_error(b)) {
		snprintf(msg, sizeof(msg), "failed: %s", why);
		gb_last_fail(b, msg);
		c->skip = true;
		snprintf(c->why, sizeof(c->why), "%s", msg);
	}
	c->run = NULL;
}

int runner_register(struct suite *suite)
{
	for (unsigned i = 0; i < suite->n; i++) {
		struct suite_case *c = &suite->cases[i];
		struct gb_bench *b = gb_register(c->name, run_case, c);

		if (!b)
			return -ENOMEM;
		gb_use_manual_time(b);
		gb_unit_ns(b);
	}
	return 0;
}

/* Is there a program called name on PATH? */
static bool on_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	for (const char *p = path ? path : ""; *p;) {
		const char *end = strchr(p, ':');
		size_t n = end ? (size_t)(end - p) : strlen(p);

		if (n && n + strlen(name) + 2 < sizeof(buf)) {
			snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name);
			if (access(buf, X_OK) == 0)
				return true;
		}
		p += n + (end != NULL);
	}
	return false;
}

void runner_context(const struct runner_cfg *cfg)
{
	char buf[600];

	if (cfg->sentinel) {
		gb_add_context("ipclab_sentinel", sentinel_description());
		gb_add_context("ipclab_drift_factor", SENTINEL_DRIFT_FACTOR_TEXT);
	}
	if (cfg->perf && on_path("perf")) {
		snprintf(buf, sizeof(buf),
			 "perf bench sched pipe -l %u and -l %u, started on the case's first CPU with its worker moved to the second, "
			 "right before and after each repetition of pingpong/pipe/block/*/size:64/pool:1; "
			 "one round trip = (total time of %u loops - total time of %u) / %u, which leaves out perf's "
			 "fork, exit and wait of its worker (inside its usecs/op)",
			 PERFPIPE_LOOPS_SHORT, PERFPIPE_LOOPS, PERFPIPE_LOOPS, PERFPIPE_LOOPS_SHORT,
			 PERFPIPE_LOOPS - PERFPIPE_LOOPS_SHORT);
		gb_add_context("ipclab_perf_pipe", buf);
	}
}

void runner_order_text(const struct runner_cfg *cfg, char *buf, size_t len)
{
	if (cfg->order == ORDER_SEQUENTIAL)
		snprintf(buf, len, "sequential");
	else
		snprintf(buf, len, "interleaved seed=%" PRIu64, cfg->seed);
}

/* splitmix64: the shuffle's generator (small, seeded, the same on every
 * machine). */
static uint64_t next_random(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* The slots (indices into the selection), repetition by repetition.
 * Interleaved: every round runs each case once, in an order shuffled anew
 * for each round, so each case's repetitions spread over the whole run and
 * a slow period of the host lands on every case alike.  Sequential: all
 * repetitions of a case, then the next case. */
static void make_order(const struct runner_cfg *cfg, size_t n, unsigned *slots)
{
	uint64_t s = cfg->seed;
	size_t k = 0;

	if (cfg->order == ORDER_SEQUENTIAL) {
		for (size_t i = 0; i < n; i++)
			for (unsigned r = 0; r < cfg->repetitions; r++)
				slots[k++] = (unsigned)i;
		return;
	}
	for (unsigned r = 0; r < cfg->repetitions; r++) {
		unsigned *round = slots + k;

		for (size_t i = 0; i < n; i++)
			round[i] = (unsigned)i;
		for (size_t i = n; i > 1; i--) { /* Fisher-Yates */
			size_t j = (size_t)(next_random(&s) % i);
			unsigned t = round[i - 1];

			round[i - 1] = round[j];
			round[j] = t;
		}
		k += n;
	}
}

static void progress(uint64_t t0, size_t k, size_t total, const char *name, unsigned rep, unsigned reps)
{
	uint64_t el = (clk_now_ns() - t0) / 1000000000u;

	fprintf(stderr, "[%zu/%zu] %s", k + 1, total, name);
	if (reps > 1)
		fprintf(stderr, "  repetition %u/%u", rep + 1, reps);
	fprintf(stderr, "  elapsed %" PRIu64 "m%02" PRIu64 "s", el / 60, el % 60);
	if (k) {
		uint64_t left = el * (total - k) / k;

		fprintf(stderr, ", about %" PRIu64 "m%02" PRIu64 "s left", left / 60, left % 60);
	}
	fputc('\n', stderr);
}

static bool stop_now(void)
{
	return sig_pending() != 0;
}

/* The case perf's pipe baseline runs around (CONTRACTS.md): pipe, block,
 * 64 B ping-pong, pool 1, any placement. */
static bool perf_case(const char *name)
{
	const char *pre = "pingpong/pipe/block/", *post = "/size:64/pool:1";
	size_t n = strlen(name), lp = strlen(pre), ls = strlen(post);

	return n > lp + ls && strncmp(name, pre, lp) == 0 && strcmp(name + n - ls, post) == 0 &&
	       !memchr(name + lp, '/', n - lp - ls);
}

/* What runs right before a repetition, to be stored with it after. */
struct around {
	int cpu_a, cpu_b;
	struct sentinel before;
	uint64_t probe_ns;      /* time the probes took, before and after */
	double perf_before_ns;
	int perf_rc;
};

static void before_call(const struct runner_cfg *cfg, const struct suite_case *c, const struct topo *topo,
			struct around *a)
{
	memset(a, 0, sizeof(*a));
	a->perf_rc = -ENOENT;
	sentinel_cpus(c, topo, &a->cpu_a, &a->cpu_b);
	if (cfg->perf && perf_case(c->name))
		a->perf_rc = perfpipe_trip(a->cpu_a, a->cpu_b, &a->perf_before_ns);
	if (cfg->sentinel) {
		uint64_t t = clk_now_ns();

		sentinel_probe(a->cpu_a, a->cpu_b, &a->before);
		a->probe_ns = clk_now_ns() - t;
	}
}

/* After a repetition that finished: the probes again, and every counter.
 * Returns whether the sentinel saw the machine move. */
static bool after_call(const struct runner_cfg *cfg, const struct suite_case *c, struct gb_bench *b,
		       struct around *a)
{
	struct sentinel after = { 0 };
	bool drift = false;
	double perf_after_ns;

	if (cfg->sentinel) {
		uint64_t t = clk_now_ns();

		sentinel_probe(a->cpu_a, a->cpu_b, &after);
		a->probe_ns += clk_now_ns() - t;
		drift = sentinel_drift(&a->before, &after);
	}
	if (cfg->perf && perf_case(c->name) && a->perf_rc == 0 &&
	    perfpipe_trip(a->cpu_a, a->cpu_b, &perf_after_ns) == 0) {
		gb_last_counter(b, "perf_pipe_before_ns", a->perf_before_ns);
		gb_last_counter(b, "perf_pipe_after_ns", perf_after_ns);
	}
	if (!cfg->sentinel || gb_last_error(b))
		return false;
	/* A probe that failed (0: too few trips within its budget on a
	 * crowded machine) leaves its counter out, so that no 0 ns enters a
	 * median over repetitions. */
	if (a->before.line_ns)
		gb_last_counter(b, "sentinel_line_before_ns", (double)a->before.line_ns);
	if (after.line_ns)
		gb_last_counter(b, "sentinel_line_after_ns", (double)after.line_ns);
	if (a->before.wake_ns)
		gb_last_counter(b, "sentinel_wake_before_ns", (double)a->before.wake_ns);
	if (after.wake_ns)
		gb_last_counter(b, "sentinel_wake_after_ns", (double)after.wake_ns);
	gb_last_counter(b, "drift", drift ? 1.0 : 0.0);
	return drift;
}

/* After a kept repetition: its histogram into hist/ (between repetitions,
 * never while measuring).  A file that cannot be written is said once;
 * the run goes on. */
static void keep_hist_file(const struct runner_cfg *cfg, const struct suite_case *c, struct gb_bench *b,
			   bool *warned)
{
	char err[SUITE_ERRLEN];

	if (!cfg->hist_dir || !c->kept_hist || !c->kept_hist->count || gb_last_error(b))
		return;
	if (histout_write(cfg->hist_dir, c->name, gb_runs_kept(b) - 1, c->kept_hist, err) < 0 && !*warned) {
		fprintf(stderr, "ipclab: %s (histograms are not kept from here on)\n", err);
		*warned = true;
	}
}

int runner_run(const struct runner_cfg *cfg, struct suite *suite, const struct topo *topo,
	       struct runner_stats *stats)
{
	size_t n = gb_select(NULL, 0), total = n * cfg->repetitions;
	struct gb_bench **sel = calloc(n ? n : 1, sizeof(*sel));
	unsigned *slots = calloc(total ? total : 1, sizeof(*slots));
	bool *counted = calloc(n ? n : 1, sizeof(*counted));
	bool *drifted = calloc(n ? n : 1, sizeof(*drifted));
	struct hist *kept = cfg->hist_dir || cfg->after_rep ? malloc(sizeof(*kept)) : NULL;
	uint64_t t0 = clk_now_ns();
	bool hist_warned = false;
	int rc;

	memset(stats, 0, sizeof(*stats));
	if (!sel || !slots || !counted || !drifted || ((cfg->hist_dir || cfg->after_rep) && !kept)) {
		free(kept);
		free(sel);
		free(slots);
		free(counted);
		free(drifted);
		return -ENOMEM;
	}
	gb_select(sel, n);
	for (unsigned i = 0; i < suite->n; i++) {
		suite->cases[i].kept_hist = kept;
		suite->cases[i].out_dir = cfg->hist_dir;
	}
	stats->cases = (unsigned)n;
	make_order(cfg, n, slots);
	rc = gb_report_open();
	if (rc < 0)
		goto out;
	for (size_t k = 0; k < total && !sig_pending(); k++) {
		struct gb_bench *b = sel[slots[k]];
		struct suite_case *c = gb_user(b);
		struct around around;
		unsigned rep = gb_runs_kept(b);
		const char *err;
		int got;

		progress(t0, k, total, gb_name(b), rep, cfg->repetitions);
		before_call(cfg, c, topo, &around);
		if (kept)
			kept->count = 0; /* what this call reports, if anything */
		got = gb_call(b, stop_now);
		close_case(c, b, got != 0);
		if (got == 0)
			break; /* stopped while sizing: nothing kept */
		if (got == GB_CALL_FAILED && sig_pending()) {
			gb_drop_last(b); /* interrupted: left out, never reported */
			break;
		}
		if (after_call(cfg, c, b, &around) && !drifted[slots[k]]) {
			drifted[slots[k]] = true;
			stats->drifted++;
		}
		if (!hist_warned)
			keep_hist_file(cfg, c, b, &hist_warned);
		matrix_kept(c, b); /* a matrix case's CSVs: medians over its kept repetitions */
		stats->sentinel_ns += around.probe_ns;
		err = gb_last_error(b);
		if (err && !counted[slots[k]]) {
			counted[slots[k]] = true;
			if (strncmp(err, "skipped:", 8) == 0)
				stats->skipped++;
			else
				stats->failed++;
		}
		gb_report_show_last(b);
		if (cfg->after_rep && cfg->after_rep(cfg->after_rep_arg, b,
						     kept && kept->count && !gb_last_error(b) ? kept : NULL) < 0)
			break; /* fleet mode: the other hosts are gone */
	}
	for (size_t i = 0; i < n; i++)
		stats->ran += gb_runs_kept(sel[i]) > 0;
	stats->interrupted = sig_pending() != 0;
	stats->run_ns = clk_now_ns() - t0;
	rc = gb_report_close();
out:
	for (unsigned i = 0; i < suite->n; i++)
		suite->cases[i].kept_hist = NULL;
	free(kept);
	free(sel);
	free(slots);
	free(counted);
	free(drifted);
	return rc;
}
