/* cli.c - ipclab's command line: every flag validated before anything is
 * created; a bad value gets one line naming it and what is accepted. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliparse.h"
#include "matrix.h"
#include "suite.h"

/* Largest pool accepted: pairs fork 2 processes per pool member and the
 * pool holds at most POOL_MAX_WORKERS processes. */
#define SUITE_MAX_POOL 512
#define SUITE_MAX_TIMEOUT_S 3600
/* --cs and --outside: at most 10 ms of work per acquisition. */
#define SUITE_MAX_WORK_NS 10000000

void suite_usage(FILE *f, const char *argv0)
{
	const struct workload *wl;
	const struct family *fam;
	char pool1[256];

	suite_pool1_names(pool1, sizeof(pool1));

	fprintf(f,
		"usage: %s [selection] [--benchmark_* flags]\n"
		"\n"
		"Runs IPC mechanism x scenario x wait x placement x size x pool as\n"
		"Google Benchmark cases named SCENARIO/IMPL/WAIT/PLACEMENT/size:N/pool:N.\n"
		"Each selection flag takes a comma list; an absent flag takes the profile's list.\n"
		"\n"
		"  --impl=LIST       mechanisms:", argv0);
	family_for_each(fam) {
		const void *t;

		for (unsigned i = 0; (t = fam->member(i)) != NULL; i++)
			fprintf(f, " %s", fam->member_name(t));
	}
	fprintf(f, "\n  --scenario=LIST   ");
	wl_for_each(wl)
		if (!wl->listed_under)
			fprintf(f, "%s, ", wl->name);
	fprintf(f, "%s\n", SUITE_MICRO);
	fprintf(f, "  --size=LIST       message bytes, %d .. 1G, suffixes k (KiB) and M (MiB)\n"
		"  --pool=LIST       pool sizes 1 .. %d (%s)\n", SCENARIO_MIN_SIZE, SUITE_MAX_POOL, pool1);
	fprintf(f,
		"  --placement=LIST  none, compact, scatter, smt, cross-cache, cross-numa\n"
		"  --cpus=LIST       explicit CPUs, taskset syntax (0,1,4-7); placement 'cpus'\n"
		"  --wait=LIST       block, spin, hybrid\n"
		"  --workers=LIST    process (default: forked processes), thread (threads of one\n"
		"                    forked process, pinned the same way; names end /workers:thread),\n"
		"                    coroutine (coroutines of one thread: only subjects that yield),\n"
		"                    coroutine-ucontext (the same on glibc's swapcontext)\n"
		"                    mpi (ranks of mpirun -n K --bind-to none: rank i is worker i)\n"
		"  --profile=NAME    quick (default, < 10 min on 2 cores) or full (paper grade)\n"
		"  --verify=MODE     sample (default: length, sequence, tail word) or full (every byte)\n"
		"  --cs=LIST         lock workloads (contend): ns of work inside the lock (default 0)\n"
		"  --outside=LIST    lock workloads: ns of work between releases (default 0)\n"
		"  --KEY=LIST        a workload's own axis (below), names end /KEY:VALUE\n"
		"  --matrix-max-pairs=N  matrix: at most N ordered pairs of PUs, a seeded sample\n"
		"                    above (default 240: every pair up to 16 PUs)\n"
		"  --load=LIST       open loop for stream, pairs, fanout, fanin: fractions of the case's\n"
		"                    own saturation (0.1,0.5,0.9; names end /load:F), rates in msgs/s\n"
		"                    (20k, 1M: k = 1000; /rate:N), or closed (flat out, the default)\n"
		"  --timeout=SEC     a round in which no worker makes progress this long fails the\n"
		"                    case (up to 8x this while a worker or the watchdog gets no CPU:\n"
		"                    the machine, not a hang; one message waits at most 8x);\n"
		"                    default 10, 1 .. %d\n"
		"  --out=DIR         write DIR/bench.json (Google Benchmark JSON) and DIR/topology.xml\n"
		"  --list            print every case the selection makes, one name a line\n"
		"  --describe        print the families, subjects, workloads, axes and counters as JSON\n"
		"                    (also saved as describe.json next to bench.json)\n"
		"  --where           print the CPU of each process of each case, as JSON\n"
		"  --help            this text; --benchmark_* flags are Google Benchmark's:\n"
		"                    --benchmark_repetitions, --benchmark_min_time (seconds), ...\n",
		SUITE_MAX_TIMEOUT_S);
	fprintf(f, "\nWorkload axes:\n");
	wl_for_each(wl)
		for (const struct wl_axis *const *ax = wl->axes; ax && *ax; ax++) {
			char buf[32];

			fprintf(f, "  --%-8s %-8s %s (default %s)\n", (*ax)->key, wl->name, (*ax)->meaning,
				wl_axis_format(*ax, (*ax)->def, buf, sizeof(buf)));
		}
}

/* Split a comma list in place into items; reject empty items. */
static int split(char *s, char **items, unsigned *n, const char *flag, char *err)
{
	*n = 0;
	if (!*s) {
		snprintf(err, SUITE_ERRLEN, "%s is empty: give a comma-separated list", flag);
		return -EINVAL;
	}
	for (char *p = s;;) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (!*p) {
			snprintf(err, SUITE_ERRLEN, "%s has an empty item: remove the extra comma", flag);
			return -EINVAL;
		}
		if (*n == SUITE_MAX_ITEMS) {
			snprintf(err, SUITE_ERRLEN, "%s lists more than %d items", flag, SUITE_MAX_ITEMS);
			return -EINVAL;
		}
		items[(*n)++] = p;
		if (!comma)
			break;
		p = comma + 1;
	}
	for (unsigned i = 0; i < *n; i++)
		for (unsigned j = 0; j < i; j++)
			if (strcmp(items[i], items[j]) == 0) {
				snprintf(err, SUITE_ERRLEN, "'%s' appears twice in %s", items[i], flag);
				return -EINVAL;
			}
	return 0;
}

/* Bytes with an optional k (KiB) or M (MiB) suffix. */
static int parse_size(const char *s, size_t *out)
{
	unsigned long long v = 0, mul = 1;
	const char *p = s;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (ULLONG_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned)(*p - '0');
	}
	if (*p == 'k' || *p == 'K')
		mul = 1024, p++;
	else if (*p == 'M')
		mul = 1024 * 1024, p++;
	if (*p)
		return -EINVAL;
	if (v > SIZE_MAX / mul)
		return -ERANGE;
	*out = (size_t)(v * mul);
	return 0;
}

/* Largest message any mechanism carries on this machine. */
static size_t largest_message(void)
{
	const struct ipc_ops *op;
	size_t best = 0;

	ipc_for_each(op) {
		struct ipc_caps c;
		char err[IPC_ERRLEN];

		if (op->caps(&c, err) == 0 && c.max_msg > best)
			best = c.max_msg;
	}
	return best;
}

static int set_once(bool *seen, const char *flag, char *err)
{
	if (*seen) {
		snprintf(err, SUITE_ERRLEN, "%s is given twice: give it once, with a comma list", flag);
		return -EINVAL;
	}
	*seen = true;
	return 0;
}

/* --KEY=LIST of a workload's own axis into sel->axes. */
static int parse_axis(struct selection *sel, const struct wl_axis *ax, char *v, char *err)
{
	char flag[40], show[96], maxbuf[32], *items[SUITE_MAX_ITEMS];
	struct axis_sel *as;
	unsigned n;
	int rc;

	snprintf(flag, sizeof(flag), "--%s", ax->key);
	for (unsigned i = 0; i < sel->naxes; i++)
		if (sel->axes[i].axis == ax) {
			snprintf(err, SUITE_ERRLEN, "%s is given twice: give it once, with a comma list", flag);
			return -EINVAL;
		}
	if (sel->naxes == SUITE_MAX_AXIS_FLAGS) {
		snprintf(err, SUITE_ERRLEN, "%s: more than %d workload axis flags", flag, SUITE_MAX_AXIS_FLAGS);
		return -EINVAL;
	}
	if ((rc = split(v, items, &n, flag, err)) < 0)
		return rc;
	as = &sel->axes[sel->naxes];
	as->axis = ax;
	as->n = 0;
	for (unsigned k = 0; k < n; k++) {
		if (wl_axis_parse(ax, items[k], &as->v[as->n]) < 0 && ax->words) {
			char words[160] = "";
			size_t o = 0;

			for (unsigned j = 0; ax->words[j] && o < sizeof(words); j++)
				o += (size_t)snprintf(words + o, sizeof(words) - o, "%s%s", j ? ", " : "", ax->words[j]);
			snprintf(err, SUITE_ERRLEN, "'%s' in %s: accepted %s (%s)", cli_shown(items[k], show, sizeof(show)),
				 flag, words, ax->meaning);
			return -EINVAL;
		} else if (wl_axis_parse(ax, items[k], &as->v[as->n]) < 0) {
			snprintf(err, SUITE_ERRLEN, "'%s' in %s: accepted %s%s .. %s%s (%s)",
				 cli_shown(items[k], show, sizeof(show)), flag,
				 ax->zero_word ? ax->zero_word : "", ax->zero_word ? " or 1" : "0",
				 wl_axis_format(ax, ax->max, maxbuf, sizeof(maxbuf)),
				 ax->bytes ? ", suffixes k, M, G" : "", ax->meaning);
			return -EINVAL;
		}
		for (unsigned j = 0; j < as->n; j++)
			if (as->v[j] == as->v[as->n]) {
				snprintf(err, SUITE_ERRLEN, "'%s' appears twice in %s", items[k], flag);
				return -EINVAL;
			}
		as->n++;
	}
	sel->naxes++;
	return 0;
}

int suite_parse(int argc, char **argv, const struct topo *topo,
		struct selection *sel, char *err)
{
	enum { F_IMPL, F_SCEN, F_SIZE, F_POOL, F_PLACE, F_CPUS, F_WAIT, F_PROF, F_OUT, F_VERIFY, F_TIMEOUT,
	       F_WORKERS, F_CS, F_OUTSIDE, F_LOAD, F_MATRIX_MAX, F_N };
	static const char *const flags[F_N] = {
		"--impl=", "--scenario=", "--size=", "--pool=", "--placement=", "--cpus=",
		"--wait=", "--profile=", "--out=", "--verify=", "--timeout=", "--workers=", "--cs=", "--outside=",
		"--load=", "--matrix-max-pairs=",
	};
	bool seen[F_N] = { false };
	char *items[SUITE_MAX_ITEMS];
	char show[96];
	unsigned n;
	int rc;

	memset(sel, 0, sizeof(*sel));
	sel->timeout_ms = 10000;
	sel->verify = VERIFY_SAMPLE;
	sel->gb_argv[sel->gb_argc++] = argv[0];

	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		int f;

		if (strncmp(a, "--benchmark_", 12) == 0) {
			size_t nlen = strcspn(a, "=");

			if ((rc = gb_flag_check(a, err)) < 0)
				return rc;
			for (int j = 1; j < sel->gb_argc; j++)
				if (strncmp(sel->gb_argv[j], a, nlen) == 0 &&
				    (sel->gb_argv[j][nlen] == '=' || sel->gb_argv[j][nlen] == '\0')) {
					snprintf(err, SUITE_ERRLEN, "%.*s is given twice: give it once", (int)nlen, a);
					return -EINVAL;
				}
			if (sel->gb_argc >= SUITE_MAX_ARGS - 8) {
				snprintf(err, SUITE_ERRLEN, "too many --benchmark_ flags (at most %d)", SUITE_MAX_ARGS - 8);
				return -EINVAL;
			}
			sel->gb_argv[sel->gb_argc++] = a;
			if (strncmp(a, "--benchmark_out=", 16) == 0)
				sel->gb_has_out = true;
			if (strncmp(a, "--benchmark_repetitions=", 24) == 0)
				sel->gb_has_reps = true;
			if (strncmp(a, "--benchmark_min_time=", 21) == 0)
				sel->gb_has_min_time = true;
			continue;
		}
		if (strcmp(a, "--list") == 0) {
			sel->list = true;
			continue;
		}
		if (strcmp(a, "--describe") == 0) {
			sel->describe = true;
			continue;
		}
		if (strcmp(a, "--where") == 0) {
			sel->where = true;
			continue;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			sel->help = true;
			continue;
		}
		for (f = 0; f < F_N; f++)
			if (strncmp(a, flags[f], strlen(flags[f])) == 0)
				break;
		if (f == F_N && strncmp(a, "--", 2) == 0 && strchr(a, '=')) {
			/* A workload's own axis: --task=, --chunk=, --rss=, ... */
			const struct wl_axis *ax = wl_axis_find(a + 2, strcspn(a + 2, "="));

			if (ax) {
				if ((rc = parse_axis(sel, ax, strchr(a, '=') + 1, err)) < 0)
					return rc;
				continue;
			}
		}
		if (f == F_N) {
			snprintf(err, SUITE_ERRLEN, "unknown argument '%s'; see --help for the accepted flags",
				 cli_shown(a, show, sizeof(show)));
			return -EINVAL;
		}
		char flag[24];
		snprintf(flag, sizeof(flag), "%.*s", (int)strlen(flags[f]) - 1, flags[f]);
		if ((rc = set_once(&seen[f], flag, err)) < 0)
			return rc;
		char *v = a + strlen(flags[f]);

		switch (f) {
		case F_IMPL:
			if ((rc = split(v, items, &n, flag, err)) < 0)
				return rc;
			for (unsigned k = 0; k < n; k++) {
				if (subject_find(items[k], &sel->impls[sel->nimpls]) < 0) {
					const struct family *fam;
					char names[256] = "";
					size_t o = 0;

					family_for_each(fam) {
						const void *t;

						for (unsigned m = 0; (t = fam->member(m)) != NULL; m++)
							o += (size_t)snprintf(names + o, o < sizeof(names) ? sizeof(names) - o : 0,
									      "%s%s", o ? ", " : "", fam->member_name(t));
					}
					snprintf(err, SUITE_ERRLEN, "unknown mechanism '%s' in --impl; accepted: %s",
						 cli_shown(items[k], show, sizeof(show)), names);
					return -EINVAL;
				}
				sel->nimpls++;
			}
			break;
		case F_SCEN:
			if ((rc = split(v, items, &n, flag, err)) < 0)
				return rc;
			for (unsigned k = 0; k < n; k++) {
				const struct workload *wl = wl_find(items[k]);

				if (strcmp(items[k], SUITE_MICRO) == 0)
					wl = NULL;
				else if (!wl || wl->listed_under) {
					char names[256] = "";
					size_t o = 0;

					wl_for_each(wl)
						if (!wl->listed_under && o < sizeof(names))
							o += (size_t)snprintf(names + o, sizeof(names) - o, "%s, ", wl->name);
					snprintf(err, SUITE_ERRLEN, "unknown scenario '%s' in --scenario; accepted: %s%s",
						 cli_shown(items[k], show, sizeof(show)), names, SUITE_MICRO);
					return -EINVAL;
				}
				sel->scenarios[sel->nscenarios++] = wl;
			}
			break;
		case F_SIZE: {
			size_t largest = largest_message();

			if ((rc = split(v, items, &n, flag, err)) < 0)
				return rc;
			for (unsigned k = 0; k < n; k++) {
				size_t sz = 0;

				rc = parse_size(items[k], &sz);
				if (rc < 0 || sz < SCENARIO_MIN_SIZE || sz > largest) {
					snprintf(err, SUITE_ERRLEN, "size '%s' in --size: accepted %d .. %zu bytes (the largest message any mechanism carries here), with an optional k or M suffix",
						 cli_shown(items[k], show, sizeof(show)), SCENARIO_MIN_SIZE, largest);
					return -EINVAL;
				}
				for (unsigned j = 0; j < sel->nsizes; j++)
					if (sel->sizes[j] == sz) {
						snprintf(err, SUITE_ERRLEN, "size %zu appears twice in --size", sz);
						return -EINVAL;
					}
				sel->sizes[sel->nsizes++] = sz;
			}
			break;
		}
		case F_POOL:
			if ((rc = split(v, items, &n, flag, err)) < 0)
				return rc;
			for (unsigned k = 0; k < n; k++) {
				unsigned long p = 0;

				rc = cli_parse_uint(items[k], SUITE_MAX_POOL, &p);
				if (rc < 0 || p < 1 || p > SUITE_MAX_POOL) {
					snprintf(err, SUITE_ERRLEN, "pool '%s' in --pool: accepted 1 .. %d",
						 cli_shown(items[k], show, sizeof(show)), SUITE_MAX_POOL);
					return -EINVAL;
				}
				sel->pools[sel->npools++] = (unsigned)p;
			}
			break;
		case F_PLACE:
			if ((rc = split(v, items, &n, flag, err)) < 0)
				return rc;
			for (unsigned k = 0; k < n; k++) {
				struct placement pl;
				char perr[TOPO_ERRLEN];

				if (strcmp(items[k], "cpus") == 0 ||
				    placement_parse(items[k], &pl, perr) < 0) {
					snprintf(err, SUITE_ERRLEN, "unknown placement '%s' in --placement; accepted: none, compact, scatter, smt, cross-cache, cross-numa (explicit CPUs: --cpus=LIST)",
						 cli_shown(items[k], show, sizeof(show)));
					return -EINVAL;
				}
				sel->placements[sel->nplacements++] = pl.kind;
			}
			break;
		case F_CPUS: {
			char perr[TOPO_ERRLEN];

			if (placement_parse_cpus(v, &sel->cpus, perr) < 0) {
				snprintf(err, SUITE_ERRLEN, "--cpus: %s", perr);
				return -EINVAL;
			}
			for (unsigned k = 0; k < sel->cpus.ncpus; k++)
				if (!topo_cpu_allowed(topo, sel->cpus.cpus[k])) {
					char allowed[128] = "";
					size_t o = 0;

					for (unsigned j = 0; j < topo_allowed_count(topo) && o < sizeof(allowed); j++)
						o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s%d",
								      j ? "," : "", topo_allowed_cpu(topo, j));
					snprintf(err, SUITE_ERRLEN, "CPU %d in --cpus is not one this process may use; allowed: %s",
						 sel->cpus.cpus[k], allowed);
					return -EINVAL;
				}
			sel->have_cpus = true;
			break;
		}
		case F_WAIT:
			if ((rc = split(v, items, &n, flag, err)) < 0)
				return rc;
			for (unsigned k = 0; k < n; k++) {
				enum ipc_wait w;

				if (ipc_wait_parse(items[k], &w) < 0) {
					snprintf(err, SUITE_ERRLEN, "unknown wait '%s' in --wait; accepted: block, spin, hybrid",
						 cli_shown(items[k], show, sizeof(show)));
					return -EINVAL;
				}
				sel->waits[sel->nwaits++] = w;
			}
			break;
		case F_WORKERS:
			if ((rc = split(v, items, &n, flag, err)) < 0)
				return rc;
			for (unsigned k = 0; k < n; k++) {
				enum pool_backend b;

				if (pool_backend_parse(items[k], &b) < 0 || k >= POOL_BACKEND_COUNT) {
					snprintf(err, SUITE_ERRLEN, "unknown worker backend '%s' in --workers; accepted: process, thread, coroutine, coroutine-ucontext, mpi",
						 cli_shown(items[k], show, sizeof(show)));
					return -EINVAL;
				}
				sel->workers[sel->nworkers++] = b;
			}
			break;
		case F_PROF:
			if (strcmp(v, "quick") == 0)
				sel->profile = PROFILE_QUICK;
			else if (strcmp(v, "full") == 0)
				sel->profile = PROFILE_FULL;
			else {
				snprintf(err, SUITE_ERRLEN, "unknown profile '%s' in --profile; accepted: quick, full",
					 cli_shown(v, show, sizeof(show)));
				return -EINVAL;
			}
			break;
		case F_OUT:
			if (!*v) {
				snprintf(err, SUITE_ERRLEN, "--out is empty: give a folder for bench.json and topology.xml");
				return -EINVAL;
			}
			sel->out = v;
			break;
		case F_VERIFY:
			if (strcmp(v, "sample") == 0)
				sel->verify = VERIFY_SAMPLE;
			else if (strcmp(v, "full") == 0)
				sel->verify = VERIFY_FULL;
			else {
				snprintf(err, SUITE_ERRLEN, "unknown verify mode '%s' in --verify; accepted: sample, full",
					 cli_shown(v, show, sizeof(show)));
				return -EINVAL;
			}
			break;
		case F_TIMEOUT: {
			unsigned long s = 0;

			rc = cli_parse_uint(v, SUITE_MAX_TIMEOUT_S, &s);
			if (rc < 0 || s < 1 || s > SUITE_MAX_TIMEOUT_S) {
				snprintf(err, SUITE_ERRLEN, "timeout '%s' in --timeout: accepted 1 .. %d seconds",
					 cli_shown(v, show, sizeof(show)), SUITE_MAX_TIMEOUT_S);
				return -EINVAL;
			}
			sel->timeout_ms = (unsigned)s * 1000u;
			break;
		}
		case F_MATRIX_MAX: {
			unsigned long m = 0;

			rc = cli_parse_uint(v, MATRIX_MAX_PAIRS, &m);
			if (rc < 0 || m < 1) {
				snprintf(err, SUITE_ERRLEN, "'%s' in --matrix-max-pairs: accepted 1 .. %u ordered pairs of PUs",
					 cli_shown(v, show, sizeof(show)), MATRIX_MAX_PAIRS);
				return -EINVAL;
			}
			sel->matrix_max_pairs = (unsigned)m;
			break;
		}
		case F_LOAD:
			if ((rc = split(v, items, &n, flag, err)) < 0)
				return rc;
			for (unsigned k = 0; k < n; k++) {
				struct load_spec l;

				if (load_parse(items[k], &l) < 0) {
					snprintf(err, SUITE_ERRLEN, "load '%s' in --load: accepted a fraction of the case's saturation throughput with a decimal point, in (0, 1] (0.1, 0.5, 1.0), a whole rate in messages per second up to 1G with an optional k, M or G (1000s: 20000, 20k, 1M), or closed",
						 cli_shown(items[k], show, sizeof(show)));
					return -EINVAL;
				}
				for (unsigned j = 0; j < sel->nloads; j++)
					if (sel->loads[j].fraction == l.fraction && sel->loads[j].rate == l.rate) {
						snprintf(err, SUITE_ERRLEN, "load '%s' appears twice in --load",
							 cli_shown(items[k], show, sizeof(show)));
						return -EINVAL;
					}
				sel->loads[sel->nloads++] = l;
			}
			break;
		case F_CS:
		case F_OUTSIDE: {
			uint64_t *list = f == F_CS ? sel->cs_ns : sel->outside_ns;
			unsigned *nl = f == F_CS ? &sel->ncs : &sel->noutside;

			if ((rc = split(v, items, &n, flag, err)) < 0)
				return rc;
			for (unsigned k = 0; k < n; k++) {
				unsigned long ns = 0;

				rc = cli_parse_uint(items[k], SUITE_MAX_WORK_NS, &ns);
				if (rc < 0) {
					snprintf(err, SUITE_ERRLEN, "'%s' in %s: accepted 0 .. %d nanoseconds",
						 cli_shown(items[k], show, sizeof(show)), flag, SUITE_MAX_WORK_NS);
					return -EINVAL;
				}
				for (unsigned j = 0; j < *nl; j++)
					if (list[j] == ns) {
						snprintf(err, SUITE_ERRLEN, "%lu appears twice in %s", ns, flag);
						return -EINVAL;
					}
				list[(*nl)++] = ns;
			}
			break;
		}
		}
	}
	if (sel->out && sel->gb_has_out) {
		snprintf(err, SUITE_ERRLEN, "--out and --benchmark_out both given: --out writes DIR/bench.json itself; give one");
		return -EINVAL;
	}
	return 0;
}
