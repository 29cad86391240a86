/* main.c - build/ipclab: parse, expand, register every case with Google
 * Benchmark, run, and keep the results (also when interrupted). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "gbench.h"
#include "result.h"
#include "sig.h"
#include "suite.h"
#include "sysinfo.h"

#define EXIT_USAGE 2
#define QUICK_REPETITIONS "3"
#define FULL_REPETITIONS "10"
/* Seconds of measurement per repetition (Google Benchmark's min_time). */
#define QUICK_MIN_TIME "0.1"
#define FULL_MIN_TIME "0.5"
/* Warm-up before each timed round: a tenth of the round, at least this
 * many messages, at most that many. */
#define WARMUP_MIN 16
#define WARMUP_MAX 10000

struct runner {
	struct suite suite;
	struct topo *topo;
	struct suite_case *open;  /* the case whose pool is alive */
	uint64_t t_start;
	unsigned announced, failed, skipped;
	struct case_round *res;
};

static void close_open(struct runner *R)
{
	if (R->open && R->open->run) {
		case_close(R->open->run, NULL);
		R->open->run = NULL;
	}
	R->open = NULL;
}

static void progress(struct runner *R, const struct suite_case *c)
{
	uint64_t el = (clk_now_ns() - R->t_start) / 1000000000u;
	unsigned done = c->index - 1;

	fprintf(stderr, "[%u/%u] %s  elapsed %" PRIu64 "m%02" PRIu64 "s", c->index, R->suite.n, c->name, el / 60, el % 60);
	if (done) {
		uint64_t left = el * (R->suite.n - done) / done;

		fprintf(stderr, ", about %" PRIu64 "m%02" PRIu64 "s left", left / 60, left % 60);
	}
	fputc('\n', stderr);
}

static void fail_case(struct runner *R, struct gb_state *st, struct suite_case *c, const char *why)
{
	gb_skip_with_error(st, why);
	c->skip = true;
	if (c->why != why)
		snprintf(c->why, sizeof(c->why), "%s", why);
	if (strncmp(why, "skipped:", 8) == 0)
		R->skipped++;
	else
		R->failed++;
	close_open(R);
}

static void run_case(struct gb_state *st, void *arg)
{
	struct suite_case *c = arg;
	struct runner *R = c->owner;
	char why[SCENARIO_ERRLEN] = "";
	struct result res;
	uint64_t n, warm;
	int rc;

	if (!c->announced) {
		c->announced = true;
		if (R->open != c)
			close_open(R);
		progress(R, c);
	}
	if (sig_pending()) {
		gb_skip_with_error(st, "interrupted: not run");
		close_open(R);
		return;
	}
	if (c->skip) { /* a later repetition of a case that could not run */
		gb_skip_with_error(st, c->why);
		return;
	}
	if (c->micro) {
		micro_run(st, c);
		return;
	}
	if (!c->run) {
		rc = case_open(&c->run, &c->spec, why);
		if (rc < 0) {
			c->run = NULL;
			if (strncmp(why, "skipped:", 8) && strncmp(why, "failed:", 7) && strncmp(why, "interrupted", 11)) {
				char tmp[SCENARIO_ERRLEN];

				snprintf(tmp, sizeof(tmp), "failed: %s", why);
				snprintf(why, sizeof(why), "%s", tmp);
			}
			fail_case(R, st, c, why);
			return;
		}
		R->open = c;
	}
	n = gb_max_iterations(st);
	warm = n / 10 < WARMUP_MIN ? WARMUP_MIN : n / 10 > WARMUP_MAX ? WARMUP_MAX : n / 10;
	rc = case_warmup(c->run, warm, why);
	if (rc == 0)
		rc = case_round(c->run, n, R->res, why);
	if (rc < 0) {
		fail_case(R, st, c, why);
		return;
	}
	while (gb_keep_running_batch(st, n))
		gb_set_iteration_time(st, (double)R->res->elapsed_ns / 1e9);
	result_from_round(&res, R->res, c->run);
	suite_report(st, &res);
}

/* ---- results folder ---------------------------------------------------- */

static int mkdirs(const char *path, char *err)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		snprintf(err, SUITE_ERRLEN, "--out path is too long (%zu bytes)", len);
		return -ENAMETOOLONG;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
				snprintf(err, SUITE_ERRLEN, "cannot create folder '%.300s': %s", buf, strerror(errno));
				return -errno;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Room bench.json needs, estimated generously from what Google Benchmark
 * 1.7 writes: the context (~4 KiB here) and ~1 KiB per run of a case; each
 * case has one run per repetition plus 4 aggregates when repeated. */
#define BENCH_JSON_CONTEXT_BYTES (16u << 10)
#define BENCH_JSON_RUN_BYTES 2048u
#define BENCH_JSON_AGGREGATES 4u

static off_t results_room(unsigned cases, int reps)
{
	unsigned runs = reps > 1 ? (unsigned)reps + BENCH_JSON_AGGREGATES : 1u;

	return (off_t)BENCH_JSON_CONTEXT_BYTES + (off_t)cases * runs * BENCH_JSON_RUN_BYTES;
}

/* Make the folder, refuse to overwrite a finished run, and prove we can
 * write there and have room for the results, all before measuring. */
static int prepare_out(const char *dir, off_t room, char *tmp, size_t tmplen, char *err)
{
	char path[4200];
	struct stat sb;
	int fd, rc;

	if ((rc = mkdirs(dir, err)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	if (stat(path, &sb) == 0) {
		snprintf(err, SUITE_ERRLEN, "'%.300s' already exists: give --out a new folder (nothing was overwritten)", path);
		return -EEXIST;
	}
	snprintf(tmp, tmplen, "%s/.bench.json.%ld.tmp", dir, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, SUITE_ERRLEN, "cannot write in '%.300s': %s", dir, strerror(errno));
		return -errno;
	}
	/* A full filesystem is found now, not after an hour of measuring.
	 * The blocks go back at once: Google Benchmark truncates the file. */
	rc = posix_fallocate(fd, 0, room);
	if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG) {
		snprintf(err, SUITE_ERRLEN, "no room in '%.300s' for the results (about %lld bytes): %s",
			 dir, (long long)room, strerror(rc));
		close(fd);
		unlink(tmp);
		tmp[0] = '\0';
		return -rc;
	}
	if (ftruncate(fd, 0) < 0) {
		rc = errno;
		snprintf(err, SUITE_ERRLEN, "cannot write in '%.300s': %s", dir, strerror(rc));
		close(fd);
		unlink(tmp);
		tmp[0] = '\0';
		return -rc;
	}
	close(fd);
	return 0;
}

/* Google Benchmark wrote tmp; keep it only if it is whole JSON. */
static int finish_out(const char *dir, const char *tmp, const struct topo *topo, char *err)
{
	char path[4200];
	int fd, whole = result_json_whole(tmp);

	if (whole < 0) {
		snprintf(err, SUITE_ERRLEN, "results file '%.300s' vanished: %s", tmp, strerror(-whole));
		return -EIO;
	}
	if (!whole) {
		snprintf(err, SUITE_ERRLEN, "results in '%.300s' are incomplete (disk full or write error); removed, nothing half-written kept", dir);
		unlink(tmp);
		return -EIO;
	}
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	if (rename(tmp, path) < 0) {
		snprintf(err, SUITE_ERRLEN, "cannot rename '%.200s' to '%.200s': %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/topology.xml", dir);
	char terr[TOPO_ERRLEN] = "";
	if (topo_export_xml(topo, path, terr) < 0) {
		snprintf(err, SUITE_ERRLEN, "topology.xml: %s", terr);
		return -EIO;
	}
	return 0;
}

/* ---- context ----------------------------------------------------------- */

static void add_ctx(const char *key, const char *value, void *arg)
{
	(void)arg;
	gb_add_context(key, value);
}

static void add_ctx_u(const char *key, unsigned long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", v);
	gb_add_context(key, buf);
}

static void add_context(const struct selection *sel, const struct topo *topo, int argc, char **argv,
			const char *reps, const char *min_time)
{
	struct clk_info ci;
	struct topo_summary ts;
	struct sysinfo si;
	char buf[2048];
	size_t o = 0;

	for (int i = 0; i < argc && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "", argv[i]);
	gb_add_context("ipclab_command", buf);
	gb_add_context("ipclab_profile", sel->profile == PROFILE_FULL ? "full" : "quick");
	gb_add_context("ipclab_repetitions", reps);
	gb_add_context("ipclab_min_time_s", min_time);
	gb_add_context("ipclab_verify", sel->verify == VERIFY_FULL ? "full: every payload byte" :
			"sample: length, sequence, sender and tail word of every message");
	add_ctx_u("ipclab_timeout_ms", sel->timeout_ms);
	gb_add_context("ipclab_warmup", "one untimed round before every timed round: a tenth of its messages, 16 .. 10000");
	gb_add_context("ipclab_latency", "pingpong: round trip; stream, pairs, fanout, fanin: one way (send timestamp to receipt); micro: one operation");
	gb_add_context("ipclab_time", "manual: Google Benchmark's time is ours (CLOCK_MONOTONIC around each timed round), per message (per round trip for pingpong)");

	if (clk_calibrate(&ci) == 0) {
		gb_add_context("ipclab_clock", ci.name);
		snprintf(buf, sizeof(buf), "%.1f", ci.read_cost_ns);
		gb_add_context("ipclab_clock_read_ns", buf);
		add_ctx_u("ipclab_clock_resolution_ns", (unsigned long)ci.resolution_ns);
	}
	topo_summary(topo, &ts);
	gb_add_context("ipclab_cpu_model", ts.cpu_model);
	add_ctx_u("ipclab_packages", ts.packages);
	add_ctx_u("ipclab_cores", ts.cores);
	add_ctx_u("ipclab_pus", ts.pus);
	add_ctx_u("ipclab_allowed_pus", ts.allowed_pus);
	add_ctx_u("ipclab_numa_nodes", ts.numa_nodes);
	gb_add_context("ipclab_caches", ts.caches);
	gb_add_context("ipclab_smt", ts.smt ? "yes" : "no");
	gb_add_context("ipclab_virtualized", ts.virtualized);
	gb_add_context("ipclab_topology_restricted", ts.restricted ? "yes: hwloc saw more PUs than this process may use" : "no");
	if (sysinfo_read(&si) == 0)
		sysinfo_foreach(&si, add_ctx, NULL);
}

int main(int argc, char **argv)
{
	struct selection *sel = calloc(1, sizeof(*sel));
	struct runner R = { 0 };
	char err[SUITE_ERRLEN] = "", terr[TOPO_ERRLEN] = "", tmp[4200] = "";
	char *gargv[SUITE_MAX_ARGS];
	int gargc, status = 0;
	bool out_created = false;
	long ran = 0;
	const char *reps, *min_time;
	char reps_flag[64], min_flag[64];

	if (!sel) {
		fprintf(stderr, "ipclab: out of memory\n");
		return 1;
	}
	/* First of all: a SIGINT/SIGTERM during setup must not kill us before
	 * we can remove what we made (the results folder's temporary file). */
	if (sig_install() < 0) {
		fprintf(stderr, "ipclab: cannot install signal handlers: %s\n", strerror(errno));
		free(sel);
		return 1;
	}
	if (topo_open(&R.topo, terr) < 0) {
		fprintf(stderr, "ipclab: hwloc: %s\n", terr);
		return 1;
	}
	if (suite_parse(argc, argv, R.topo, sel, err) < 0) {
		fprintf(stderr, "ipclab: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (sel->help) {
		suite_usage(stdout, argv[0]);
		goto out;
	}
	if (suite_expand(sel, R.topo, &R.suite, err) < 0) {
		fprintf(stderr, "ipclab: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (sel->list) {
		for (unsigned i = 0; i < R.suite.n; i++)
			printf("%s\n", R.suite.cases[i].name);
		goto out;
	}

	/* Google Benchmark's flags: the user's, then our defaults. */
	memcpy(gargv, sel->gb_argv, (size_t)sel->gb_argc * sizeof(char *));
	gargc = sel->gb_argc;
	reps = sel->profile == PROFILE_FULL ? FULL_REPETITIONS : QUICK_REPETITIONS;
	min_time = sel->profile == PROFILE_FULL ? FULL_MIN_TIME : QUICK_MIN_TIME;
	if (!sel->gb_has_reps) {
		snprintf(reps_flag, sizeof(reps_flag), "--benchmark_repetitions=%s", reps);
		gargv[gargc++] = reps_flag;
	} else
		reps = "as given by --benchmark_repetitions";
	if (!sel->gb_has_min_time) {
		snprintf(min_flag, sizeof(min_flag), "--benchmark_min_time=%s", min_time);
		gargv[gargc++] = min_flag;
	} else
		min_time = "as given by --benchmark_min_time";
	gargv[gargc] = NULL;
	if (gb_init(&gargc, gargv) < 0) {
		/* Google Benchmark printed which flag it did not take. */
		status = EXIT_USAGE;
		goto out;
	}
	/* The filter must select something, before anything is created. */
	{
		const char **names = malloc(R.suite.n * sizeof(*names));
		char ferr[256] = "";
		long sel_n;

		if (!names) {
			fprintf(stderr, "ipclab: out of memory\n");
			status = 1;
			goto out;
		}
		for (unsigned i = 0; i < R.suite.n; i++)
			names[i] = R.suite.cases[i].name;
		sel_n = gb_filter_count(names, R.suite.n, "/manual_time", ferr, sizeof(ferr));
		free(names);
		if (sel_n <= 0) {
			if (sel_n < 0)
				fprintf(stderr, "ipclab: --benchmark_filter is not a valid regular expression (%s); accepted: an extended regex, '-REGEX' to exclude, or 'all'\n", ferr);
			else
				fprintf(stderr, "ipclab: --benchmark_filter selects none of the %u cases; see --list for their names\n",
					R.suite.n);
			status = EXIT_USAGE;
			goto out;
		}
	}
	/* Every flag is valid: only now create the results folder. */
	if (sel->out) {
		struct stat sb;

		out_created = stat(sel->out, &sb) < 0;
		if (prepare_out(sel->out, results_room(R.suite.n, gb_repetitions()), tmp, sizeof(tmp), err) < 0 ||
		    gb_set_output(tmp, "json") < 0) {
			fprintf(stderr, "ipclab: %s\n", err[0] ? err : "cannot set the results file");
			status = EXIT_USAGE;
			goto out;
		}
	}

	add_context(sel, R.topo, argc, argv, reps, min_time);
	R.res = malloc(sizeof(*R.res));
	if (!R.res) {
		fprintf(stderr, "ipclab: out of memory\n");
		status = 1;
		goto out;
	}
	for (unsigned i = 0; i < R.suite.n; i++) {
		struct suite_case *c = &R.suite.cases[i];
		struct gb_bench *b;

		c->owner = &R;
		b = gb_register(c->name, run_case, c);
		if (!b) {
			fprintf(stderr, "ipclab: cannot register case %s\n", c->name);
			status = 1;
			goto out;
		}
		gb_use_manual_time(b);
		gb_unit_ns(b);
	}
	if (sig_pending()) /* interrupted before measuring: no bench.json */
		goto out;
	R.t_start = clk_now_ns();
	ran = gb_run();
	close_open(&R);
	if (ran == 0 && !sig_pending()) {
		/* Google Benchmark said why (no match, or a bad regex). */
		fprintf(stderr, "ipclab: --benchmark_filter selects none of the %u cases; see --list for their names\n",
			R.suite.n);
		status = EXIT_USAGE;
		goto out;
	}
	if (sel->out) {
		if (finish_out(sel->out, tmp, R.topo, err) < 0) {
			fprintf(stderr, "ipclab: %s\n", err);
			status = 1;
		} else
			fprintf(stderr, "ipclab: results in %s\n", sel->out);
		tmp[0] = '\0';
	}
	fprintf(stderr, "ipclab: %ld of %u cases run, %u skipped, %u failed%s\n", ran, R.suite.n,
		R.skipped, R.failed, sig_pending() ? ", interrupted" : "");
	if (sig_pending())
		status = sig_exit_status();
out:
	if (tmp[0])
		unlink(tmp);
	if (status == EXIT_USAGE && out_created)
		rmdir(sel->out); /* ours and empty: bad input leaves nothing */
	if (sig_pending())
		status = sig_exit_status();
	gb_shutdown();
	free(R.res);
	suite_free(&R.suite);
	topo_close(R.topo);
	free(sel);
	return status;
}
