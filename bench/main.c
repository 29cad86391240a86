/* main.c - build/ipclab: parse, expand, register every case, run them with
 * our runner (runner.c), and keep the results in the results folder
 * (outdir.c) with their context (context.c), also when interrupted. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "context.h"
#include "fleet.h"
#include "gbench.h"
#include "leftovers.h"
#include "mpirank.h"
#include "outdir.h"
#include "rerun.h"
#include "runner.h"
#include "sig.h"
#include "suite.h"
#include "sync.h"

#define EXIT_USAGE 2
#define QUICK_REPETITIONS "3"
#define FULL_REPETITIONS "10"
/* Seconds of measurement per repetition (Google Benchmark's min_time). */
#define QUICK_MIN_TIME "0.1"
#define FULL_MIN_TIME "0.5"

/* The flags of the runner itself (taken out of argv before the selection
 * is parsed). */
struct run_flags {
	struct runner_cfg cfg;
	bool have_seed;
	const char *rerun;      /* --rerun=DIR */
	bool fleet;             /* --fleet: one rank per host (fleet.h) */
};

static void run_flags_usage(FILE *f)
{
	fprintf(f,
		"  --order=ORDER     interleaved (default: each round runs every case once, in a\n"
		"                    seeded shuffled order) or sequential (all repetitions of a\n"
		"                    case, then the next)\n"
		"  --seed=N          the interleaved order's seed (default: random; recorded in the\n"
		"                    context as ipclab_order)\n"
		"  --rerun=DIR       run the cases of the ipclab results folder DIR again, with its\n"
		"                    flags (its ipclab_argv); only --out=NEW may be added\n"
		"  --no-sentinel     no probes around each repetition (see README, Sentinel)\n"
		"  --no-perf         no perf bench sched pipe around the pipe ping-pong case\n"
		"  --fleet           one rank per host under mpirun, each running this selection with\n"
		"                    its own pools, in step; rank 0 writes DIR/HOST/ for every host:\n"
		"                    mpirun --map-by ppr:1:node -n HOSTS build/ipclab --fleet ... --out=DIR\n");
}

/* Take --order=, --seed=, --rerun=, --no-sentinel, --no-perf and --fleet out of argv.  0, or
 * -EINVAL with one line in err. */
static int take_run_flags(int *argc, char **argv, struct run_flags *rf, char *err)
{
	int out = 1;

	for (int i = 1; i < *argc; i++) {
		const char *a = argv[i];

		if (strncmp(a, "--order=", 8) == 0) {
			if (strcmp(a + 8, "interleaved") == 0)
				rf->cfg.order = ORDER_INTERLEAVED;
			else if (strcmp(a + 8, "sequential") == 0)
				rf->cfg.order = ORDER_SEQUENTIAL;
			else {
				snprintf(err, SUITE_ERRLEN, "unknown order '%.100s' in --order; accepted: interleaved, sequential", a + 8);
				return -EINVAL;
			}
		} else if (strncmp(a, "--seed=", 7) == 0) {
			char *end;

			errno = 0;
			rf->cfg.seed = strtoull(a + 7, &end, 10);
			if (!a[7] || *end || errno || a[7] == '-') {
				snprintf(err, SUITE_ERRLEN, "seed '%.100s' in --seed: accepted 0 .. %" PRIu64, a + 7, UINT64_MAX);
				return -EINVAL;
			}
			rf->have_seed = true;
		} else if (strncmp(a, "--rerun=", 8) == 0) {
			if (!a[8]) {
				snprintf(err, SUITE_ERRLEN, "--rerun is empty: give an ipclab results folder");
				return -EINVAL;
			}
			rf->rerun = a + 8;
		} else if (strcmp(a, "--no-sentinel") == 0) {
			rf->cfg.sentinel = false;
		} else if (strcmp(a, "--no-perf") == 0) {
			rf->cfg.perf = false;
		} else if (strcmp(a, "--fleet") == 0) {
			rf->fleet = true;
		} else
			argv[out++] = argv[i];
	}
	argv[out] = NULL;
	*argc = out;
	return 0;
}

/* A copy of argv, strings included: parsing splits comma lists in place,
 * and the context must get the argv exactly as given.  NULL when out of
 * memory.  Free with rerun_free(argc, copy). */
static char **copy_argv(int argc, char **argv)
{
	char **c = calloc((size_t)argc + 1, sizeof(*c));

	for (int i = 0; c && i < argc; i++) {
		c[i] = strdup(argv[i]);
		if (!c[i]) {
			rerun_free(i, c);
			return NULL;
		}
	}
	return c;
}

static uint64_t random_seed(void)
{
	uint64_t s;
	struct timespec ts;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) == (ssize_t)sizeof(s))
		return s % 1000000000u; /* short enough to retype */
	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_nsec ^ (uint64_t)getpid()) % 1000000000u;
}

/* Objects a SIGKILLed process left (its maker gone: named objects, the
 * SysV ids its ledger lists, leftovers.h; then the sync primitives' keyed
 * SysV sets): removed, and said so.  At the start, an earlier run's (also
 * in the context); at the end, those of a process of this run that was
 * killed (an MPI rank: the others removed its SysV ids, not its ledger). */
static void stale_remove(bool at_start)
{
	char stale[1024] = "", sync_stale[512];
	int nstale = ipc_leftovers_scan(NULL, IPC_LEFT_STALE | IPC_LEFT_REMOVE, stale, sizeof(stale));
	int nsync = sync_stale_scan(1, sync_stale, sizeof(sync_stale));

	nstale = nstale > 0 ? nstale : 0;
	if (nsync > 0) {
		size_t used = strlen(stale);

		snprintf(stale + used, sizeof(stale) - used, "%s%s", used ? " " : "", sync_stale);
		nstale += nsync;
	}
	if (nstale <= 0)
		return;
	fprintf(stderr, "ipclab: removed %d object(s) left by %s that was killed: %s\n", nstale,
		at_start ? "an earlier run" : "a process", stale);
	if (at_start)
		gb_add_context("ipclab_stale_removed", stale);
}

int main(int argc, char **argv)
{
	struct selection *sel = calloc(1, sizeof(*sel));
	struct suite suite = { 0 };
	struct topo *topo = NULL;
	struct run_flags rf = { .cfg = { .order = ORDER_INTERLEAVED, .sentinel = true, .perf = true } };
	struct runner_stats stats = { 0 };
	struct fleet *fleet = NULL;
	char err[SUITE_ERRLEN] = "", terr[TOPO_ERRLEN] = "", tmp[4200] = "", order[64];
	char *gargv[SUITE_MAX_ARGS], **args = NULL, **rargv = NULL, **exact = NULL;
	int gargc, nargs = argc, rargc = 0, status = 0, run_rc;
	bool out_created = false;
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
	/* The exact argv goes into the context; parsing works on a copy. */
	args = calloc((size_t)argc + 1, sizeof(*args));
	if (!args) {
		fprintf(stderr, "ipclab: out of memory\n");
		free(sel);
		return 1;
	}
	memcpy(args, argv, (size_t)argc * sizeof(*args));
	if (take_run_flags(&nargs, args, &rf, err) < 0) {
		fprintf(stderr, "ipclab: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (rf.rerun) {
		/* The folder's own argv, with --out replaced; parsed as if typed. */
		if (rerun_argv(rf.rerun, argv[0], nargs, args, &rargc, &rargv, err) < 0) {
			fprintf(stderr, "ipclab: %s\n", err);
			status = EXIT_USAGE;
			goto out;
		}
		argc = rargc;
		argv = rargv;
		free(args);
		args = calloc((size_t)argc + 1, sizeof(*args));
		if (!args) {
			fprintf(stderr, "ipclab: out of memory\n");
			status = 1;
			goto out;
		}
		memcpy(args, argv, (size_t)argc * sizeof(*args));
		nargs = argc;
		rf = (struct run_flags){ .cfg = { .order = ORDER_INTERLEAVED, .sentinel = true, .perf = true } };
		if (take_run_flags(&nargs, args, &rf, err) < 0 || rf.rerun) {
			fprintf(stderr, "ipclab: --rerun=%s: its ipclab_argv is not a run ipclab can repeat (%s)\n",
				rargv[0], err[0] ? err : "it is a --rerun itself");
			status = EXIT_USAGE;
			goto out;
		}
	}
	exact = copy_argv(argc, argv);
	if (!exact) {
		fprintf(stderr, "ipclab: out of memory\n");
		status = 1;
		goto out;
	}
	if (!rf.have_seed)
		rf.cfg.seed = random_seed();
	if (topo_open(&topo, terr) < 0) {
		fprintf(stderr, "ipclab: hwloc: %s\n", terr);
		status = 1;
		goto out;
	}
	if (suite_parse(nargs, args, topo, sel, err) < 0) {
		fprintf(stderr, "ipclab: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (sel->help) {
		suite_usage(stdout, argv[0]);
		run_flags_usage(stdout);
		goto out;
	}
	if (sel->describe) {
		suite_describe(stdout);
		goto out;
	}
	if (rf.fleet) /* fleet: one rank per host, each with its own forked pools */
		for (unsigned i = 0; i < sel->nworkers; i++)
			if (sel->workers[i] == POOL_MPI) {
				fprintf(stderr, "ipclab: --fleet with --workers=mpi: fleet mode runs one rank per host, each with "
					"forked, thread or coroutine workers; accepted: --workers=process,thread,coroutine,coroutine-ucontext\n");
				status = EXIT_USAGE;
				goto out;
			}
	if (rf.fleet && fleet_check(sel->out, err) < 0) {
		fprintf(stderr, "ipclab: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (suite_expand(sel, topo, &suite, err) < 0) {
		fprintf(stderr, "ipclab: %s\n", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (sel->where) {
		status = where_print(stdout, &suite) < 0 ? 1 : 0;
		goto out;
	}
	if (sel->list) {
		for (unsigned i = 0; i < suite.n; i++)
			printf("%s\n", suite.cases[i].name);
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
	if (gb_random_interleaving() && !rf.have_seed)
		rf.cfg.order = ORDER_INTERLEAVED;
	rf.cfg.repetitions = (unsigned)gb_repetitions();
	/* The filter must select something, before anything is created. */
	{
		const char **names = malloc(suite.n * sizeof(*names));
		char ferr[256] = "";
		long sel_n;

		if (!names) {
			fprintf(stderr, "ipclab: out of memory\n");
			status = 1;
			goto out;
		}
		for (unsigned i = 0; i < suite.n; i++)
			names[i] = suite.cases[i].name;
		sel_n = gb_filter_count(names, suite.n, "/manual_time", ferr, sizeof(ferr));
		free(names);
		if (sel_n <= 0) {
			if (sel_n < 0)
				fprintf(stderr, "ipclab: --benchmark_filter is not a valid regular expression (%s); accepted: an extended regex, '-REGEX' to exclude, or 'all'\n", ferr);
			else
				fprintf(stderr, "ipclab: --benchmark_filter selects none of the %u cases; see --list for their names\n",
					suite.n);
			status = EXIT_USAGE;
			goto out;
		}
	}
	if (runner_register(&suite) < 0) {
		fprintf(stderr, "ipclab: out of memory registering the cases\n");
		status = 1;
		goto out;
	}
	if (gb_list_tests()) {
		size_t n = gb_select(NULL, 0);
		struct gb_bench **b = calloc(n ? n : 1, sizeof(*b));

		if (!b) {
			status = 1;
			goto out;
		}
		gb_select(b, n);
		for (size_t i = 0; i < n; i++)
			printf("%s/manual_time\n", gb_name(b[i]));
		free(b);
		goto out;
	}
	/* --workers=mpi: rank 0 goes on, every other rank serves its cases. */
	if (mpirank_begin(sel, topo, &status))
		goto out;
	/* Every flag is valid: only now create the results folder (fleet
	 * mode: rank 0 makes it, once the hosts agree). */
	if (rf.fleet) {
		int frc = fleet_open(&fleet, sel->out, &rf.cfg.seed, err);

		if (frc < 0) {
			if (err[0])
				fprintf(stderr, "ipclab: %s\n", err);
			status = frc == -EINVAL ? EXIT_USAGE : 1;
			goto out;
		}
		rf.cfg.after_rep = fleet_after_rep;
		rf.cfg.after_rep_arg = fleet;
		for (unsigned i = 0; i < suite.n; i++) { /* a matrix case's CSVs go with its repetition */
			suite.cases[i].keep_file = fleet_keep_file;
			suite.cases[i].keep_file_arg = fleet;
		}
	} else if (sel->out) {
		struct stat sb;

		out_created = stat(sel->out, &sb) < 0;
		if (outdir_prepare(sel->out, outdir_room(suite.n, gb_repetitions()), tmp, sizeof(tmp), err) < 0 ||
		    gb_set_output(tmp, "json") < 0) {
			fprintf(stderr, "ipclab: %s\n", err[0] ? err : "cannot set the results file");
			status = EXIT_USAGE;
			goto out;
		}
		sig_set_tmpfile(tmp);
	}

	/* every kept repetition's .hgrm in its hist/ (not gathered in fleet mode) */
	rf.cfg.hist_dir = fleet ? NULL : sel->out;
	runner_order_text(&rf.cfg, order, sizeof(order));
	clk_init(NULL); /* the clock every process will stamp with (before any fork) */
	context_add(sel, &suite, topo, &(struct context_run){ .argc = argc, .argv = exact, .reps = reps,
							     .min_time = min_time, .order = order });
	runner_context(&rf.cfg);
	stale_remove(true);
	if (rf.rerun)
		gb_add_context("ipclab_rerun_of", rf.rerun);
	if (fleet && fleet_begin(fleet, topo, err) < 0) {
		if (err[0])
			fprintf(stderr, "ipclab: %s\n", err);
		status = 1;
		goto out;
	}
	/* From here on a signal still ends with a whole bench.json: the
	 * runner stops at once and reports what finished (maybe nothing). */
	run_rc = runner_run(&rf.cfg, &suite, topo, &stats);
	if (fleet) {
		if (fleet_finish(fleet, run_rc, err) < 0) {
			fprintf(stderr, "ipclab: %s\n", err);
			status = 1;
		}
	} else if (run_rc < 0 && sel->out) {
		fprintf(stderr, "ipclab: results in '%s' could not be written whole; removed\n", sel->out);
		status = 1;
	} else if (sel->out) {
		if (outdir_finish(sel->out, tmp, topo, err) < 0 ||
		    suite_write_describe(sel->out, err) < 0) {
			fprintf(stderr, "ipclab: %s\n", err);
			status = 1;
		} else
			fprintf(stderr, "ipclab: results in %s\n", sel->out);
	}
	sig_set_tmpfile(NULL);
	if (sel->out && !status)
		tmp[0] = '\0';
	stale_remove(false);
	fprintf(stderr, "ipclab: %u of %u cases run, %u skipped, %u failed%s%s\n", stats.ran, stats.cases,
		stats.skipped, stats.failed, stats.drifted ? ", drift on some" : "",
		sig_pending() ? ", interrupted" : "");
	if (rf.cfg.sentinel && stats.run_ns)
		fprintf(stderr, "ipclab: sentinel probes took %.1f s of the run's %.1f s (%.1f%%)\n",
			stats.sentinel_ns / 1e9, stats.run_ns / 1e9,
			100.0 * (double)stats.sentinel_ns / (double)stats.run_ns);
out:
	if (tmp[0])
		unlink(tmp);
	if (status == EXIT_USAGE && out_created)
		rmdir(sel->out); /* ours and empty: bad input leaves nothing */
	if (sig_pending())
		status = sig_exit_status();
	mpirank_end();
	/* Only memory is freed below: a signal that lands there ends the run
	 * at once with its status, instead of after the last look at it
	 * (faults.t: SIGINT into the last case's exit ended 0, under load). */
	sig_finished();
	if (sig_pending())
		status = sig_exit_status();
	gb_shutdown();
	fleet_free(fleet);
	suite_free(&suite);
	topo_close(topo);
	free(args);
	if (exact)
		rerun_free(argc, exact);
	rerun_free(rargc, rargv);
	free(sel);
	return status;
}
