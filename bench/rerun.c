/* rerun.c - the argv of an earlier run, from its bench.json's context. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>

#include "rerun.h"
#include "suite.h"

/* Largest bench.json read (a full-profile run is a few MiB). */
#define RERUN_MAX_JSON (256u << 20)

/* One UTF-8 encoded code point (< 0x110000) into out; its length. */
static size_t put_utf8(unsigned long cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* The JSON string starting at *p (at its opening quote) into a malloc'd
 * buffer; *p moves past the closing quote.  \u00XX below 0x100 is one byte
 * (context_argv_json writes bytes of a non-UTF-8 argument so).  NULL when
 * malformed. */
static char *json_string(const char **p)
{
	const char *s = *p;
	size_t cap = strlen(s) + 1, n = 0;
	char *out;

	if (*s != '"')
		return NULL;
	out = malloc(cap);
	if (!out)
		return NULL;
	for (s++; *s && *s != '"'; s++) {
		if (*s != '\\') {
			out[n++] = *s;
			continue;
		}
		s++;
		switch (*s) {
		case '"': case '\\': case '/': out[n++] = *s; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case 'n': out[n++] = '\n'; break;
		case 'r': out[n++] = '\r'; break;
		case 't': out[n++] = '\t'; break;
		case 'u': {
			char hex[5] = { 0 };
			unsigned long cp;
			char *end;

			memcpy(hex, s + 1, 4);
			cp = strtoul(hex, &end, 16);
			if (strlen(hex) != 4 || *end) {
				free(out);
				return NULL;
			}
			s += 4;
			if (cp < 0x100)
				out[n++] = (char)cp;
			else if (cp >= 0xd800 && cp < 0xdc00 && s[1] == '\\' && s[2] == 'u') {
				unsigned long lo;

				memcpy(hex, s + 3, 4);
				lo = strtoul(hex, &end, 16);
				if (*end || lo < 0xdc00 || lo > 0xdfff) {
					free(out);
					return NULL;
				}
				s += 6;
				n += put_utf8(0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00), out + n);
			} else
				n += put_utf8(cp, out + n);
			break;
		}
		default:
			free(out);
			return NULL;
		}
	}
	if (*s != '"') {
		free(out);
		return NULL;
	}
	out[n] = '\0';
	*p = s + 1;
	return out;
}

static const char *skip_ws(const char *s)
{
	while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
		s++;
	return s;
}

/* The value of "key" in the "context" object of a bench.json text, or NULL. */
static char *context_value(const char *json, const char *key)
{
	const char *ctx = strstr(json, "\"context\"");
	char pat[128];
	const char *p;

	if (!ctx)
		return NULL;
	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(ctx, pat);
	if (!p)
		return NULL;
	p = skip_ws(p + strlen(pat));
	if (*p != ':')
		return NULL;
	p = skip_ws(p + 1);
	return json_string(&p);
}

static char *read_file(const char *path, char *err, const char *dir)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;
	long len;

	if (!f) {
		snprintf(err, SUITE_ERRLEN, "--rerun=%.300s: not an ipclab results folder (no bench.json: %s)", dir,
			 strerror(errno));
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || (unsigned long)len > RERUN_MAX_JSON ||
	    fseek(f, 0, SEEK_SET) < 0 || !(buf = malloc((size_t)len + 1))) {
		snprintf(err, SUITE_ERRLEN, "--rerun=%.300s: cannot read its bench.json", dir);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (size_t)len, f);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

void rerun_free(int argc, char **argv)
{
	if (!argv)
		return;
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

static bool results_flag(const char *a)
{
	return strncmp(a, "--out=", 6) == 0 || strncmp(a, "--benchmark_out=", 16) == 0 ||
	       strncmp(a, "--benchmark_out_format=", 23) == 0;
}

int rerun_argv(const char *dir, const char *argv0, int ngiven, char **given, int *argc, char ***argv,
	       char *err)
{
	char path[4200], *json, *arr, *order, **v = NULL;
	const char *new_out = NULL, *p;
	struct stat sb;
	int n = 0, cap;
	bool seed = false;

	*argc = 0;
	*argv = NULL;
	for (int i = 1; i < ngiven; i++) {
		if (strncmp(given[i], "--out=", 6) == 0 && given[i][6])
			new_out = given[i] + 6;
		else {
			snprintf(err, SUITE_ERRLEN, "'%.200s' next to --rerun: accepted only --out=NEW (the rest comes from the folder)",
				 given[i]);
			return -EINVAL;
		}
	}
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, SUITE_ERRLEN, "--rerun=%.300s: no such folder", dir);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	json = read_file(path, err, dir);
	if (!json)
		return -EINVAL;
	arr = context_value(json, "ipclab_argv");
	order = context_value(json, "ipclab_order");
	free(json);
	if (!arr) {
		snprintf(err, SUITE_ERRLEN, "--rerun=%.300s: not an ipclab result it can repeat (its bench.json has no context key ipclab_argv)",
			 dir);
		free(order);
		return -EINVAL;
	}
	cap = (int)strlen(arr) + 4;
	v = calloc((size_t)cap, sizeof(*v));
	if (!v)
		goto bad;
	v[n++] = strdup(argv0);
	p = skip_ws(arr);
	if (*p++ != '[')
		goto bad;
	p = skip_ws(p);
	for (bool first = true; *p != ']'; first = false) {
		char *s;

		if (!first) {
			if (*p++ != ',')
				goto bad;
			p = skip_ws(p);
		}
		s = json_string(&p);
		if (!s)
			goto bad;
		p = skip_ws(p);
		if (first) { /* the program name it ran as */
			free(s);
			continue;
		}
		if (results_flag(s) || strncmp(s, "--rerun=", 8) == 0) {
			free(s);
			continue;
		}
		seed |= strncmp(s, "--seed=", 7) == 0;
		if (n + 3 >= cap) {
			free(s);
			goto bad;
		}
		v[n++] = s;
	}
	if (*skip_ws(p + 1))
		goto bad;
	if (!seed && order && strncmp(order, "interleaved seed=", 17) == 0) {
		char flag[64];

		snprintf(flag, sizeof(flag), "--seed=%s", order + 17);
		v[n++] = strdup(flag);
	}
	if (new_out) {
		snprintf(path, sizeof(path), "--out=%s", new_out);
	} else {
		struct utsname u;
		time_t t = time(NULL);
		struct tm tm;
		char stamp[32];

		uname(&u);
		gmtime_r(&t, &tm);
		strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(path, sizeof(path), "--out=results/%s/%s", u.nodename, stamp);
	}
	v[n++] = strdup(path);
	for (int i = 0; i < n; i++)
		if (!v[i])
			goto bad;
	free(arr);
	free(order);
	*argc = n;
	*argv = v;
	return 0;
bad:
	snprintf(err, SUITE_ERRLEN, "--rerun=%.300s: its ipclab_argv is not a JSON array of strings", dir);
	rerun_free(n, v);
	free(arr);
	free(order);
	return -EINVAL;
}
