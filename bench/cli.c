/* cli.c - ipclab's command line: every flag validated before anything is
 * created; a bad value gets one line naming it and what is accepted. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suite.h"

/* Largest pool accepted: pairs fork 2 processes per pool member and the
 * pool holds at most POOL_MAX_WORKERS processes. */
#define SUITE_MAX_POOL 512
#define SUITE_MAX_TIMEOUT_S 3600
/* Google Benchmark's own numbers, bounded so a typo cannot ask for a run of
 * years: a paper-grade run uses 10 to 30 repetitions of at most seconds. */
#define SUITE_MAX_REPETITIONS 1000
#define SUITE_MAX_GB_SECONDS 3600.0

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
		"                    forked process, pinned the same way; names end /workers:thread)\n"
		"  --profile=NAME    quick (default, < 10 min on 2 cores) or full (paper grade)\n"
		"  --verify=MODE     sample (default: length, sequence, tail word) or full (every byte)\n"
		"  --timeout=SEC     a send/receive that makes no progress this long fails the case\n"
		"                    (also the floor of each round's watchdog); default 10, 1 .. %d\n"
		"  --out=DIR         write DIR/bench.json (Google Benchmark JSON) and DIR/topology.xml\n"
		"  --list            print every case the selection makes, one name a line\n"
		"  --describe        print the families, subjects, workloads, axes and counters as JSON\n"
		"                    (also saved as describe.json next to bench.json)\n"
		"  --help            this text; --benchmark_* flags are Google Benchmark's:\n"
		"                    --benchmark_repetitions, --benchmark_min_time (seconds), ...\n",
		SUITE_MAX_TIMEOUT_S);
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

/* Quote a user value for an error line: printable ASCII only, bounded. */
static const char *shown(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
	}
	if (*s && o + 4 < len)
		o += (size_t)snprintf(buf + o, len - o, "...");
	buf[o] = '\0';
	return buf;
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

static int parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max) /* stop before v can overflow */
			return -ERANGE;
	}
	*out = v;
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

/* Seconds: a plain finite decimal number in [min, max] (min excluded when
 * open).  0 or -EINVAL. */
static int parse_seconds(const char *s, double min, bool open, double max, double *out)
{
	char *end;
	double v;

	if (*s < '0' || *s > '9') /* no sign, space, "nan" or "inf" */
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (*end || errno || !isfinite(v) || v < min || (open && v == min) || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * Google Benchmark 1.7's flags.  The library answers a bad value with
 * several lines, its usage text and exit 0, or (min_time nan or inf) a run
 * that never ends; an unknown flag gets one line per flag.  Check them here,
 * with --list too, so a bad one gets one line and exit 2 like ours.
 * Formats and colors are checked by gb_init (bench/gbench.cc).
 */
enum gb_kind { GB_BOOL, GB_STRING, GB_REPS, GB_SECONDS, GB_SECONDS0, GB_UNIT, GB_KV, GB_PERF };
/* Google Benchmark 1.7 aborts (BM_CHECK) on more perf counters than its
 * PerfCounterValues::kMaxCounters. */
#define GB_MAX_PERF_COUNTERS 3

static const struct gb_flag {
	const char *name;
	enum gb_kind kind;
} gb_flags[] = {
	{ "list_tests", GB_BOOL },
	{ "filter", GB_STRING },
	{ "min_time", GB_SECONDS },
	{ "min_warmup_time", GB_SECONDS0 },
	{ "repetitions", GB_REPS },
	{ "enable_random_interleaving", GB_BOOL },
	{ "report_aggregates_only", GB_BOOL },
	{ "display_aggregates_only", GB_BOOL },
	{ "format", GB_STRING },
	{ "out", GB_STRING },
	{ "out_format", GB_STRING },
	{ "color", GB_STRING },
	{ "counters_tabular", GB_BOOL },
	{ "perf_counters", GB_PERF },
	{ "context", GB_KV },
	{ "time_unit", GB_UNIT },
};

/* "k=v,k2=v2": every item one '=' after a non-empty key, keys distinct. */
static bool kv_list_ok(const char *v)
{
	const char *item = v;

	if (!*v)
		return true;
	for (;;) {
		size_t len = strcspn(item, ","), klen = strcspn(item, "=,");

		if (klen == 0 || klen == len || memchr(item + klen + 1, '=', len - klen - 1))
			return false;
		for (const char *o = v; o < item; o += strcspn(o, ",") + 1)
			if (strcspn(o, "=") == klen && strncmp(o, item, klen) == 0)
				return false;
		if (!item[len])
			return true;
		item += len + 1;
	}
}

static int check_gb_flag(const char *a, char *err)
{
	const char *name = a + strlen("--benchmark_"), *eq = strchr(name, '=');
	size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
	const char *v = eq ? eq + 1 : NULL;
	const struct gb_flag *f = NULL;
	char show[96];
	unsigned long reps;
	double sec;

	for (size_t i = 0; i < sizeof(gb_flags) / sizeof(gb_flags[0]); i++)
		if (strlen(gb_flags[i].name) == nlen && strncmp(gb_flags[i].name, name, nlen) == 0)
			f = &gb_flags[i];
	if (!f) {
		char names[400] = "";
		size_t o = 0;

		for (size_t i = 0; i < sizeof(gb_flags) / sizeof(gb_flags[0]) && o < sizeof(names); i++)
			o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", i ? ", " : "", gb_flags[i].name);
		snprintf(err, SUITE_ERRLEN, "unknown Google Benchmark flag '%s'; accepted: --benchmark_ followed by %s",
			 shown(a, show, sizeof(show)), names);
		return -EINVAL;
	}
	if (!v && f->kind != GB_BOOL) {
		snprintf(err, SUITE_ERRLEN, "--benchmark_%s needs a value: --benchmark_%s=VALUE", f->name, f->name);
		return -EINVAL;
	}
	switch (f->kind) {
	case GB_BOOL:
	case GB_STRING:
		return 0;
	case GB_REPS:
		if (parse_uint(v, SUITE_MAX_REPETITIONS, &reps) == 0 && reps >= 1)
			return 0;
		snprintf(err, SUITE_ERRLEN, "repetitions '%s' in --benchmark_repetitions: accepted 1 .. %d",
			 shown(v, show, sizeof(show)), SUITE_MAX_REPETITIONS);
		return -EINVAL;
	case GB_SECONDS:
	case GB_SECONDS0:
		if (parse_seconds(v, 0.0, f->kind == GB_SECONDS, SUITE_MAX_GB_SECONDS, &sec) == 0)
			return 0;
		snprintf(err, SUITE_ERRLEN, "seconds '%s' in --benchmark_%s: accepted a plain number, %s and at most %.0f",
			 shown(v, show, sizeof(show)), f->name, f->kind == GB_SECONDS ? "over 0" : "0",
			 SUITE_MAX_GB_SECONDS);
		return -EINVAL;
	case GB_UNIT:
		if (!strcmp(v, "ns") || !strcmp(v, "us") || !strcmp(v, "ms") || !strcmp(v, "s"))
			return 0;
		snprintf(err, SUITE_ERRLEN, "unknown unit '%s' in --benchmark_time_unit; accepted: ns, us, ms, s",
			 shown(v, show, sizeof(show)));
		return -EINVAL;
	case GB_PERF: {
		unsigned items = 1;

		for (const char *p = v; *p; p++)
			items += *p == ',';
		if (!*v || (items <= GB_MAX_PERF_COUNTERS && v[0] != ',' && v[strlen(v) - 1] != ',' && !strstr(v, ",,")))
			return 0;
		snprintf(err, SUITE_ERRLEN, "--benchmark_perf_counters '%s': accepted at most %d counter names, comma-separated",
			 shown(v, show, sizeof(show)), GB_MAX_PERF_COUNTERS);
		return -EINVAL;
	}
	case GB_KV:
		if (kv_list_ok(v))
			return 0;
		snprintf(err, SUITE_ERRLEN, "--benchmark_context '%s': accepted KEY=VALUE,KEY2=VALUE2 with distinct keys",
			 shown(v, show, sizeof(show)));
		return -EINVAL;
	}
	return 0;
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

int suite_parse(int argc, char **argv, const struct topo *topo,
		struct selection *sel, char *err)
{
	enum { F_IMPL, F_SCEN, F_SIZE, F_POOL, F_PLACE, F_CPUS, F_WAIT, F_PROF, F_OUT, F_VERIFY, F_TIMEOUT,
	       F_WORKERS, F_N };
	static const char *const flags[F_N] = {
		"--impl=", "--scenario=", "--size=", "--pool=", "--placement=", "--cpus=",
		"--wait=", "--profile=", "--out=", "--verify=", "--timeout=", "--workers=",
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

			if ((rc = check_gb_flag(a, err)) < 0)
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
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			sel->help = true;
			continue;
		}
		for (f = 0; f < F_N; f++)
			if (strncmp(a, flags[f], strlen(flags[f])) == 0)
				break;
		if (f == F_N) {
			snprintf(err, SUITE_ERRLEN, "unknown argument '%s'; see --help for the accepted flags",
				 shown(a, show, sizeof(show)));
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
						 shown(items[k], show, sizeof(show)), names);
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
						 shown(items[k], show, sizeof(show)), names, SUITE_MICRO);
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
						 shown(items[k], show, sizeof(show)), SCENARIO_MIN_SIZE, largest);
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

				rc = parse_uint(items[k], SUITE_MAX_POOL, &p);
				if (rc < 0 || p < 1 || p > SUITE_MAX_POOL) {
					snprintf(err, SUITE_ERRLEN, "pool '%s' in --pool: accepted 1 .. %d",
						 shown(items[k], show, sizeof(show)), SUITE_MAX_POOL);
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
						 shown(items[k], show, sizeof(show)));
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
						 shown(items[k], show, sizeof(show)));
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
					snprintf(err, SUITE_ERRLEN, "unknown worker backend '%s' in --workers; accepted: process, thread",
						 shown(items[k], show, sizeof(show)));
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
					 shown(v, show, sizeof(show)));
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
					 shown(v, show, sizeof(show)));
				return -EINVAL;
			}
			break;
		case F_TIMEOUT: {
			unsigned long s = 0;

			rc = parse_uint(v, SUITE_MAX_TIMEOUT_S, &s);
			if (rc < 0 || s < 1 || s > SUITE_MAX_TIMEOUT_S) {
				snprintf(err, SUITE_ERRLEN, "timeout '%s' in --timeout: accepted 1 .. %d seconds",
					 shown(v, show, sizeof(show)), SUITE_MAX_TIMEOUT_S);
				return -EINVAL;
			}
			sel->timeout_ms = (unsigned)s * 1000u;
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
