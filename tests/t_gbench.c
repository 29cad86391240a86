/* t_gbench.c - the C API over Google Benchmark (bench/gbench.h).
 *
 * Google Benchmark keeps process-wide state (flags, registry, context), so
 * every run happens in a forked child whose stdout and stderr go to a log
 * file; the parent reads the JSON the child wrote (flattened to
 * "name<TAB>key<TAB>value" lines by python3's json module) and checks it.
 *
 * Why this file is long: every wrapper entry point is checked in a forked
 * child against the JSON it wrote, and those checks share one harness.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gbench.h"
#include "lib/testutil.h"

/* A child that has not finished by then is killed by SIGALRM (a whole run
 * takes well under a second; ASan builds are a few times slower). */
#define CHILD_TIMEOUT_S 60
/* The whole executable, as a last resort. */
#define TEST_TIMEOUT_S 300

/* The manual-time case claims MANUAL_ITER_S per iteration while it really
 * sleeps MANUAL_SLEEP_NS per batch of MANUAL_BATCH: the report must show
 * the claim, which no clock could produce by accident. */
#define MANUAL_ITER_S 0.001234
#define MANUAL_BATCH 3
#define MANUAL_SLEEP_NS 50000L

/* Doubles in the JSON are written with 17 significant digits; the values
 * we compare are a division or two away from ours. */
#define REL_EPS 1e-9

#define ERR_MSG "no such mechanism: carrier-pigeon"
#define LABEL "cpus:0,1 pair:same-package"
#define CTX_KEY "ipclab_test_key"
#define CTX_VAL "value with spaces, and \"quotes\""

#define N_CASES 6 /* registered by register_cases() */

/* What the cases in the child tell the parent (MAP_SHARED). */
struct shared {
	unsigned count_calls;   /* calls of the counting case */
	uint64_t count_iters;   /* loop turns in its last call */
	uint64_t count_max;     /* gb_max_iterations() in its last call */
	uint64_t count_done;    /* gb_iterations_done() after its last loop */
	long run_ret;           /* gb_run() */
	int init_ret;           /* gb_init() */
	int reps;               /* gb_repetitions() */
	int argc_after;         /* argc after gb_init() */
	char argv_after[8][64]; /* argv after gb_init() */
	char output[256];       /* gb_output() */
};

/* One JSON file flattened: lines "name\tkey\tvalue". */
struct jdoc {
	char *buf;
	unsigned n;
	char *name[4096], *key[4096], *val[4096];
};

struct fixture {
	char dir[256];
	char json[300], log[300];
	bool ran;
	int status; /* wait status of the main run */
	struct shared *sh;
	struct jdoc *doc;
	struct jdoc *scratch; /* a test's own document */
	struct leak_snap *before;
};

static void scratch_free(struct fixture *fx)
{
	if (fx->scratch)
		free(fx->scratch->buf);
	free(fx->scratch);
	fx->scratch = NULL;
}

/* ---- the cases, run in the child -------------------------------------- */

static void case_manual(struct gb_state *st, void *arg)
{
	struct timespec ts = { 0, MANUAL_SLEEP_NS };

	(void)arg;
	while (gb_keep_running_batch(st, MANUAL_BATCH)) {
		nanosleep(&ts, NULL);
		gb_set_iteration_time(st, MANUAL_BATCH * MANUAL_ITER_S);
	}
	gb_counter(st, "plain", 42.0, GB_COUNTER_DEFAULT);
	gb_counter(st, "rate", 1000.0, GB_COUNTER_RATE);
	gb_counter(st, "avg_iter", 1000.0, GB_COUNTER_AVG_ITERATIONS);
	gb_counter(st, "invariant", 2.0, GB_COUNTER_ITERATION_INVARIANT);
	gb_counter(st, "avg_threads", 6.0, GB_COUNTER_AVG_THREADS);
	gb_set_bytes_processed(st, 4096);
	gb_set_label(st, LABEL);
}

static void case_count(struct gb_state *st, void *arg)
{
	struct shared *sh = arg;
	uint64_t n = 0;

	sh->count_calls++;
	sh->count_max = gb_max_iterations(st);
	while (gb_keep_running(st))
		n++;
	sh->count_iters = n;
	sh->count_done = gb_iterations_done(st);
	gb_counter(st, "size", (double)gb_state_arg(st, 0), GB_COUNTER_DEFAULT);
	gb_counter(st, "pool", (double)gb_state_arg(st, 1), GB_COUNTER_DEFAULT);
	gb_counter(st, "reps", gb_repetitions(), GB_COUNTER_DEFAULT);
}

static void case_error(struct gb_state *st, void *arg)
{
	(void)arg;
	gb_skip_with_error(st, ERR_MSG);
	if (!gb_error_occurred(st))
		abort(); /* the parent sees the child die */
	while (gb_keep_running(st))
		abort(); /* must not run after an error */
}

static void case_early(struct gb_state *st, void *arg)
{
	(void)st;
	(void)arg;
	/* returns without running the loop and without an error */
}

static void case_exception(struct gb_state *st, void *arg)
{
	(void)arg;
	/* std::string from NULL throws std::logic_error inside the wrapper */
	gb_counter(st, NULL, 1.0, GB_COUNTER_DEFAULT);
	while (gb_keep_running(st))
		;
}

static void case_pause(struct gb_state *st, void *arg)
{
	(void)arg;
	while (gb_keep_running(st)) {
		gb_pause_timing(st);
		gb_resume_timing(st);
	}
}

static void register_cases(struct shared *sh)
{
	struct gb_bench *b;

	b = gb_register("gbench/manual", case_manual, NULL);
	gb_use_manual_time(b);
	gb_unit_ns(b);
	b = gb_register("gbench/count", case_count, sh);
	gb_arg(b, "size", 64);
	gb_arg(b, "pool", 2);
	gb_register("gbench/error", case_error, NULL);
	gb_register("gbench/early", case_early, NULL);
	gb_register("gbench/exception", case_exception, NULL);
	gb_register("gbench/pause", case_pause, NULL);
	gb_add_context(CTX_KEY, CTX_VAL);
}

/* ---- running a child --------------------------------------------------- */

enum child_mode { MODE_RUN, MODE_INIT_ONLY, MODE_SET_OUTPUT };

/* In the child: argv as given (copied: gb_init rearranges it). */
static int child_main(enum child_mode mode, const char *const *args, int nargs,
		      struct shared *sh, const char *out)
{
	static char copies[15][320];
	char *argv[16];
	int argc = 0;

	argv[argc++] = (char *)"t_gbench";
	for (int i = 0; i < nargs && argc < 15; i++) {
		snprintf(copies[i], sizeof(copies[i]), "%s", args[i]);
		argv[argc++] = copies[i];
	}
	argv[argc] = NULL;

	sh->init_ret = gb_init(&argc, argv);
	sh->argc_after = argc;
	for (int i = 0; i < argc && i < 8; i++)
		snprintf(sh->argv_after[i], sizeof(sh->argv_after[i]), "%s", argv[i]);
	if (sh->init_ret != 0 || mode == MODE_INIT_ONLY)
		return sh->init_ret == 0 ? 0 : 1;
	if (mode == MODE_SET_OUTPUT && gb_set_output(out, "json") != 0)
		return 4;
	snprintf(sh->output, sizeof(sh->output), "%s", gb_output());
	sh->reps = gb_repetitions();
	register_cases(sh);
	sh->run_ret = gb_run();
	gb_shutdown();
	return 0;
}

/* Fork, run child_main with stdout/stderr into log; the wait status. */
static int run_child(enum child_mode mode, const char *const *args, int nargs,
		     struct shared *sh, const char *log, const char *out)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		alarm(CHILD_TIMEOUT_S);
		if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(125);
		/* exit, not _exit: LeakSanitizer checks the wrapper at exit */
		exit(child_main(mode, args, nargs, sh, out));
	}
	while (waitpid(pid, &status, 0) < 0)
		assert_int_equal(errno, EINTR);
	return status;
}

/* Show a failed child's output as TAP comments. */
static void show_log(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "# %s", line);
	fclose(f);
}

static bool file_contains(const char *path, const char *needle)
{
	char buf[65536];
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

/* ---- reading the JSON ---------------------------------------------------- */

static const char flatten_py[] =
	"import json,sys\n"
	"d=json.load(open(sys.argv[1]))\n"
	"def s(v):\n"
	"  if isinstance(v,bool): return 'true' if v else 'false'\n"
	"  if isinstance(v,float): return repr(v)\n"
	"  if isinstance(v,str): return v.replace('\\t',' ').replace('\\n',' ')\n"
	"  return json.dumps(v)\n"
	"for k,v in d['context'].items(): print('context\\t%s\\t%s'%(k,s(v)))\n"
	"for b in d['benchmarks']:\n"
	"  n=b['name']\n"
	"  if b.get('run_type')=='iteration' and b.get('repetitions',1)>1:\n"
	"    n+='#%d'%b['repetition_index']\n"
	"  print('%s\\t(present)\\t1'%n)\n"
	"  for k,v in b.items(): print('%s\\t%s\\t%s'%(n,k,s(v)))\n";

static int jdoc_load(struct jdoc *d, const char *path)
{
	char cmd[600];
	size_t cap = 1 << 20, len = 0, k;
	FILE *p;
	char *line;

	snprintf(cmd, sizeof(cmd), "python3 -c \"$IPCLAB_FLATTEN\" '%s'", path);
	setenv("IPCLAB_FLATTEN", flatten_py, 1);
	d->n = 0;
	d->buf = malloc(cap);
	if (!d->buf)
		return -ENOMEM;
	fflush(NULL);
	p = popen(cmd, "r");
	if (!p)
		return -errno;
	while ((k = fread(d->buf + len, 1, cap - 1 - len, p)) > 0)
		len += k;
	d->buf[len] = '\0';
	if (pclose(p) != 0)
		return -EINVAL;
	for (line = strtok(d->buf, "\n"); line && d->n < 4096; line = strtok(NULL, "\n")) {
		char *t1 = strchr(line, '\t'), *t2 = t1 ? strchr(t1 + 1, '\t') : NULL;

		if (!t2)
			continue;
		*t1 = *t2 = '\0';
		d->name[d->n] = line;
		d->key[d->n] = t1 + 1;
		d->val[d->n] = t2 + 1;
		d->n++;
	}
	return d->n ? 0 : -ENODATA;
}

static const char *jget(const struct jdoc *d, const char *name, const char *key)
{
	for (unsigned i = 0; i < d->n; i++)
		if (strcmp(d->name[i], name) == 0 && strcmp(d->key[i], key) == 0)
			return d->val[i];
	return NULL;
}

static double jnum(const struct jdoc *d, const char *name, const char *key)
{
	const char *v = jget(d, name, key);

	if (!v)
		fail_msg("%s: no key \"%s\" in the JSON", name, key);
	return strtod(v, NULL);
}

static void assert_close(double got, double want, const char *what)
{
	if (!(fabs(got - want) <= REL_EPS * fabs(want)))
		fail_msg("%s: got %.17g, want %.17g", what, got, want);
}

static void assert_str(const struct jdoc *d, const char *name, const char *key,
		       const char *want)
{
	const char *v = jget(d, name, key);

	if (!v || strcmp(v, want) != 0)
		fail_msg("%s %s: got \"%s\", want \"%s\"", name, key,
			 v ? v : "(missing)", want);
}

/* ---- the main run, once, shared by the tests that read it ---------------- */

static void main_run(struct fixture *fx)
{
	char outflag[320];
	const char *args[] = { outflag, "--benchmark_out_format=json",
			       "--benchmark_min_time=0.01" };

	if (fx->ran)
		return;
	fx->ran = true;
	snprintf(outflag, sizeof(outflag), "--benchmark_out=%s", fx->json);
	memset(fx->sh, 0, sizeof(*fx->sh));
	fx->status = run_child(MODE_RUN, args, 3, fx->sh, fx->log, NULL);
	if (!WIFEXITED(fx->status) || WEXITSTATUS(fx->status) != 0) {
		show_log(fx->log);
		fail_msg("child status 0x%x, gb_init %d", fx->status, fx->sh->init_ret);
	}
	fx->doc = calloc(1, sizeof(*fx->doc));
	assert_non_null(fx->doc);
	assert_int_equal(jdoc_load(fx->doc, fx->json), 0);
}

static struct fixture *fx_of(void **state)
{
	struct fixture *fx = *state;

	main_run(fx);
	if (!fx->doc || !fx->doc->n)
		fail_msg("no JSON from the main run (see %s)", fx->log);
	return fx;
}

#define MANUAL "gbench/manual/manual_time"
#define COUNT "gbench/count/size:64/pool:2"

static void t_names(void **state)
{
	struct fixture *fx = fx_of(state);
	const char *names[] = { MANUAL, COUNT, "gbench/error", "gbench/early",
				"gbench/exception", "gbench/pause" };

	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!jget(fx->doc, names[i], "(present)"))
			fail_msg("case %s missing from the JSON", names[i]);
		assert_str(fx->doc, names[i], "run_name", names[i]);
	}
}

static void t_run_count(void **state)
{
	struct fixture *fx = fx_of(state);

	assert_int_equal(fx->sh->init_ret, 0);
	assert_int_equal(fx->sh->run_ret, N_CASES);
	assert_string_equal(fx->sh->output, fx->json);
}

static void t_manual_time(void **state)
{
	struct fixture *fx = fx_of(state);
	double iters = jnum(fx->doc, MANUAL, "iterations");

	assert_str(fx->doc, MANUAL, "time_unit", "ns");
	assert_close(jnum(fx->doc, MANUAL, "real_time"), MANUAL_ITER_S * 1e9,
		     "real_time per iteration");
	assert_true(iters >= MANUAL_BATCH);
	assert_close(fmod(iters, MANUAL_BATCH), 0.0, "iterations % batch");
	assert_null(jget(fx->doc, MANUAL, "error_occurred"));
}

static void t_counters(void **state)
{
	struct fixture *fx = fx_of(state);
	double iters = jnum(fx->doc, MANUAL, "iterations");
	double secs = iters * MANUAL_ITER_S; /* total manual time */

	assert_close(jnum(fx->doc, MANUAL, "plain"), 42.0, "plain");
	assert_close(jnum(fx->doc, MANUAL, "rate"), 1000.0 / secs, "rate");
	assert_close(jnum(fx->doc, MANUAL, "avg_iter"), 1000.0 / iters, "avg_iter");
	assert_close(jnum(fx->doc, MANUAL, "invariant"), 2.0 * iters, "invariant");
	assert_close(jnum(fx->doc, MANUAL, "avg_threads"), 6.0, "avg_threads (1 thread)");
	assert_close(jnum(fx->doc, MANUAL, "bytes_per_second"), 4096.0 / secs,
		     "bytes_per_second");
}

static void t_label_context(void **state)
{
	struct fixture *fx = fx_of(state);

	assert_str(fx->doc, MANUAL, "label", LABEL);
	assert_str(fx->doc, "context", CTX_KEY, CTX_VAL);
	assert_non_null(jget(fx->doc, "context", "library_build_type"));
	assert_non_null(jget(fx->doc, "context", "executable"));
}

static void t_args(void **state)
{
	struct fixture *fx = fx_of(state);

	assert_close(jnum(fx->doc, COUNT, "size"), 64.0, "gb_state_arg(0)");
	assert_close(jnum(fx->doc, COUNT, "pool"), 2.0, "gb_state_arg(1)");
	assert_close(jnum(fx->doc, COUNT, "reps"), 1.0, "gb_repetitions()");
}

static void t_iterations(void **state)
{
	struct fixture *fx = fx_of(state);
	double iters = jnum(fx->doc, COUNT, "iterations");

	assert_true(fx->sh->count_calls >= 1);
	assert_true(fx->sh->count_iters >= 1);
	assert_close(iters, (double)fx->sh->count_iters, "iterations vs loop turns");
	assert_int_equal(fx->sh->count_iters, fx->sh->count_max);
	assert_int_equal(fx->sh->count_done, fx->sh->count_iters);
}

static void t_error(void **state)
{
	struct fixture *fx = fx_of(state);

	assert_str(fx->doc, "gbench/error", "error_occurred", "true");
	assert_str(fx->doc, "gbench/error", "error_message", ERR_MSG);
	/* 1.7 writes error_occurred only for a failed case */
	assert_null(jget(fx->doc, "gbench/pause", "error_occurred"));
	assert_null(jget(fx->doc, "gbench/pause", "error_message"));
	assert_true(jnum(fx->doc, "gbench/pause", "iterations") >= 1);
}

static void t_early(void **state)
{
	struct fixture *fx = fx_of(state);

	assert_str(fx->doc, "gbench/early", "error_occurred", "true");
	assert_str(fx->doc, "gbench/early", "error_message",
		   "case: returned before its keep-running loop ended");
}

static void t_exception(void **state)
{
	struct fixture *fx = fx_of(state);
	const char *m = jget(fx->doc, "gbench/exception", "error_message");

	assert_str(fx->doc, "gbench/exception", "error_occurred", "true");
	assert_non_null(m);
	/* "gb_counter: " + what() of std::logic_error */
	if (strncmp(m, "gb_counter: ", 12) != 0 || strlen(m) <= 12)
		fail_msg("error_message \"%s\" is not the exception's", m);
}

static void t_unknown_flag(void **state)
{
	struct fixture *fx = *state;
	const char *args[] = { "--impl=pipe", "--benchmark_xyz=1" };
	int st;

	memset(fx->sh, 0, sizeof(*fx->sh));
	st = run_child(MODE_INIT_ONLY, args, 2, fx->sh, fx->log, NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(fx->sh->init_ret, -1);
	assert_true(file_contains(fx->log, "--benchmark_xyz=1"));
	assert_false(file_contains(fx->log, "unrecognized command-line flag: --impl"));
}

static void t_bad_format(void **state)
{
	struct fixture *fx = *state;
	const char *args[] = { "--benchmark_out_format=xml" };
	int st;

	memset(fx->sh, 0, sizeof(*fx->sh));
	st = run_child(MODE_INIT_ONLY, args, 1, fx->sh, fx->log, NULL);
	/* the library alone would print its usage and exit 0 */
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	assert_int_equal(fx->sh->init_ret, -1);
	assert_true(file_contains(fx->log, "'xml'"));
}

static void t_keeps_args(void **state)
{
	struct fixture *fx = *state;
	const char *args[] = { "--impl=pipe", "--benchmark_min_time=0.01", "--help",
			       "--benchmark_repetitions=2", "--size=64" };
	int st;

	memset(fx->sh, 0, sizeof(*fx->sh));
	st = run_child(MODE_INIT_ONLY, args, 5, fx->sh, fx->log, NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(fx->sh->init_ret, 0);
	assert_int_equal(fx->sh->argc_after, 4);
	assert_string_equal(fx->sh->argv_after[1], "--impl=pipe");
	assert_string_equal(fx->sh->argv_after[2], "--help");
	assert_string_equal(fx->sh->argv_after[3], "--size=64");
}

static void t_repetitions(void **state)
{
	struct fixture *fx = *state;
	char out[300], outflag[320];
	const char *args[] = { outflag, "--benchmark_min_time=0.01",
			       "--benchmark_repetitions=3",
			       "--benchmark_filter=manual|count" };
	const char *aggs[] = { "mean", "median", "stddev", "cv" };
	struct jdoc *d = calloc(1, sizeof(*d));
	char name[128];
	int st;

	assert_non_null(d);
	scratch_free(fx);
	fx->scratch = d; /* freed by the next test or main, even on failure */
	snprintf(out, sizeof(out), "%s/reps.json", fx->dir);
	snprintf(outflag, sizeof(outflag), "--benchmark_out=%s", out);
	memset(fx->sh, 0, sizeof(*fx->sh));
	st = run_child(MODE_RUN, args, 4, fx->sh, fx->log, NULL);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(fx->sh->reps, 3);
	assert_int_equal(fx->sh->run_ret, 2);
	assert_int_equal(jdoc_load(d, out), 0);
	for (int r = 0; r < 3; r++) {
		snprintf(name, sizeof(name), "%s#%d", MANUAL, r);
		assert_str(d, name, "run_type", "iteration");
		assert_close(jnum(d, name, "real_time"), MANUAL_ITER_S * 1e9, name);
	}
	for (unsigned i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "%s_%s", MANUAL, aggs[i]);
		assert_str(d, name, "run_type", "aggregate");
		assert_str(d, name, "aggregate_name", aggs[i]);
		assert_str(d, name, "run_name", MANUAL);
	}
	snprintf(name, sizeof(name), "%s_mean", MANUAL);
	assert_close(jnum(d, name, "real_time"), MANUAL_ITER_S * 1e9, "mean");
	snprintf(name, sizeof(name), "%s_median", COUNT);
	assert_close(jnum(d, name, "reps"), 3.0, "gb_repetitions() in a case");
	assert_null(jget(d, "gbench/error", "(present)"));
	unlink(out);
}

static void t_set_output(void **state)
{
	struct fixture *fx = *state;
	char out[300];
	const char *args[] = { "--benchmark_min_time=0.01",
			       "--benchmark_filter=gbench/error" };
	struct jdoc *d = calloc(1, sizeof(*d));
	int st;

	assert_non_null(d);
	scratch_free(fx);
	fx->scratch = d;
	snprintf(out, sizeof(out), "%s/set.json", fx->dir);
	memset(fx->sh, 0, sizeof(*fx->sh));
	st = run_child(MODE_SET_OUTPUT, args, 2, fx->sh, fx->log, out);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(fx->sh->run_ret, 1);
	assert_string_equal(fx->sh->output, out);
	assert_int_equal(jdoc_load(d, out), 0);
	assert_str(d, "gbench/error", "error_message", ERR_MSG);
	assert_null(jget(d, MANUAL, "(present)"));
	unlink(out);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void t_nothing_left(void **state)
{
	struct fixture *fx = *state;
	char left[1024];

	assert_int_equal(nftw(fx->dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS), 0);
	assert_int_equal(access(fx->dir, F_OK), -1);
	/* Other suites running at the same time on this shared machine create
	 * ipclab-* objects too: only ours (ipclab-gbench-*) count here.
	 * Google Benchmark creates no IPC object of its own. */
	if (leak_check(fx->before, left, sizeof(left)) && strstr(left, "ipclab-gbench"))
		fail_msg("left behind: %s", left);
	assert_int_equal(zombie_children(), 0);
}

/* A cmocka test with a readable name and the fixture as its state. */
#define TEST(n, f) { .name = (n), .test_func = (f), .initial_state = &fx }

int main(void)
{
	static struct fixture fx;
	const char *tmp = getenv("TMPDIR");
	int rc;

	alarm(TEST_TIMEOUT_S);
	fx.before = malloc(sizeof(*fx.before));
	fx.sh = mmap(NULL, sizeof(*fx.sh), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!fx.before || fx.sh == MAP_FAILED)
		return 1;
	leak_snapshot(fx.before);
	/* With our pid, as every ipclab name: leak checks count only ours. */
	snprintf(fx.dir, sizeof(fx.dir), "%s/ipclab-gbench-%ld-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp", (long)getpid());
	if (!mkdtemp(fx.dir))
		return 1;
	snprintf(fx.json, sizeof(fx.json), "%s/bench.json", fx.dir);
	snprintf(fx.log, sizeof(fx.log), "%s/child.log", fx.dir);

	const struct CMUnitTest tests[] = {
		TEST("gbench: every registered case is in the JSON by its exact name", t_names),
		TEST("gbench: gb_run returns the number of cases run", t_run_count),
		TEST("gbench: manual time is reported as set, not as measured", t_manual_time),
		TEST("gbench: counters follow their flags (rate, avg iterations, invariant, avg threads)", t_counters),
		TEST("gbench: label and custom context are in the JSON", t_label_context),
		TEST("gbench: arguments reach the case state; gb_repetitions is 1 by default", t_args),
		TEST("gbench: iterations counted in the case match the report", t_iterations),
		TEST("gbench: skip with error reports error_occurred and the message", t_error),
		TEST("gbench: a case returning before its loop fails with a reason, no abort", t_early),
		TEST("gbench: an exception inside a case becomes an error with its what()", t_exception),
		TEST("gbench: an unknown --benchmark_ flag makes gb_init return -1", t_unknown_flag),
		TEST("gbench: a bad --benchmark_out_format makes gb_init return -1, no exit", t_bad_format),
		TEST("gbench: gb_init keeps other arguments (--help too) in order", t_keeps_args),
		TEST("gbench: --benchmark_repetitions=3 gives runs and mean/median/stddev/cv", t_repetitions),
		TEST("gbench: gb_set_output writes the JSON file without the flag", t_set_output),
		TEST("gbench: nothing left behind, no zombies", t_nothing_left),
	};
	rc = tap_run("gbench", tests, sizeof(tests) / sizeof(tests[0]));
	scratch_free(&fx);
	if (fx.doc)
		free(fx.doc->buf);
	free(fx.doc);
	free(fx.before);
	munmap(fx.sh, sizeof(*fx.sh));
	return rc;
}
