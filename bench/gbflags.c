/* gbflags.c - Google Benchmark's own flags (--benchmark_*), checked before
 * anything is created so a bad one gets one line and exit 2 like ours. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliparse.h"

/* Google Benchmark's own numbers, bounded so a typo cannot ask for a run of
 * years: a paper-grade run uses 10 to 30 repetitions of at most seconds. */
#define SUITE_MAX_REPETITIONS 1000
#define SUITE_MAX_GB_SECONDS 3600.0

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

int gb_flag_check(const char *a, char *err)
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
		snprintf(err, GB_FLAG_ERRLEN, "unknown Google Benchmark flag '%s'; accepted: --benchmark_ followed by %s",
			 cli_shown(a, show, sizeof(show)), names);
		return -EINVAL;
	}
	if (!v && f->kind != GB_BOOL) {
		snprintf(err, GB_FLAG_ERRLEN, "--benchmark_%s needs a value: --benchmark_%s=VALUE", f->name, f->name);
		return -EINVAL;
	}
	switch (f->kind) {
	case GB_BOOL:
	case GB_STRING:
		return 0;
	case GB_REPS:
		if (cli_parse_uint(v, SUITE_MAX_REPETITIONS, &reps) == 0 && reps >= 1)
			return 0;
		snprintf(err, GB_FLAG_ERRLEN, "repetitions '%s' in --benchmark_repetitions: accepted 1 .. %d",
			 cli_shown(v, show, sizeof(show)), SUITE_MAX_REPETITIONS);
		return -EINVAL;
	case GB_SECONDS:
	case GB_SECONDS0:
		if (parse_seconds(v, 0.0, f->kind == GB_SECONDS, SUITE_MAX_GB_SECONDS, &sec) == 0)
			return 0;
		snprintf(err, GB_FLAG_ERRLEN, "seconds '%s' in --benchmark_%s: accepted a plain number, %s and at most %.0f",
			 cli_shown(v, show, sizeof(show)), f->name, f->kind == GB_SECONDS ? "over 0" : "0",
			 SUITE_MAX_GB_SECONDS);
		return -EINVAL;
	case GB_UNIT:
		if (!strcmp(v, "ns") || !strcmp(v, "us") || !strcmp(v, "ms") || !strcmp(v, "s"))
			return 0;
		snprintf(err, GB_FLAG_ERRLEN, "unknown unit '%s' in --benchmark_time_unit; accepted: ns, us, ms, s",
			 cli_shown(v, show, sizeof(show)));
		return -EINVAL;
	case GB_PERF: {
		unsigned items = 1;

		for (const char *p = v; *p; p++)
			items += *p == ',';
		if (!*v || (items <= GB_MAX_PERF_COUNTERS && v[0] != ',' && v[strlen(v) - 1] != ',' && !strstr(v, ",,")))
			return 0;
		snprintf(err, GB_FLAG_ERRLEN, "--benchmark_perf_counters '%s': accepted at most %d counter names, comma-separated",
			 cli_shown(v, show, sizeof(show)), GB_MAX_PERF_COUNTERS);
		return -EINVAL;
	}
	case GB_KV:
		if (kv_list_ok(v))
			return 0;
		snprintf(err, GB_FLAG_ERRLEN, "--benchmark_context '%s': accepted KEY=VALUE,KEY2=VALUE2 with distinct keys",
			 cli_shown(v, show, sizeof(show)));
		return -EINVAL;
	}
	return 0;
}
