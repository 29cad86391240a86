/* describe.c - `ipclab --describe`: the registries (families, subjects,
 * workloads, axes, waits, placements, counters, with their meaning) as one
 * JSON document in the schema of the project's contracts, and the same
 * document saved as describe.json in every result folder, so a folder is
 * read the way it was written.  Built from the registries; nothing here
 * names a workload or a mechanism. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "result.h"
#include "sig.h"
#include "suite.h"

#define DESCRIBE_VERSION 1

/* One JSON string, escaped. */
static void jstr(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* "key": "value" with a separator before all but the first. */
static void jkv(FILE *f, const char *sep, const char *key, const char *value)
{
	fputs(sep, f);
	jstr(f, key);
	fputs(": ", f);
	jstr(f, value);
}

static void describe_subjects(FILE *f)
{
	const struct family *fam;
	const char *sep = "";

	fputs("  \"subjects\": [", f);
	family_for_each(fam) {
		const void *t;

		for (unsigned i = 0; (t = fam->member(i)) != NULL; i++) {
			unsigned waits = fam->member_waits ? fam->member_waits(t) : 0;
			const char *wsep = "";

			fprintf(f, "%s\n    {", sep);
			jkv(f, "", "name", fam->member_name(t));
			jkv(f, ", ", "family", fam->name);
			jkv(f, ", ", "summary", fam->member_summary(t));
			fputs(", \"waits\": [", f);
			for (unsigned w = 0; w < IPC_WAIT_COUNT; w++)
				if (waits & IPC_WAIT_BIT(w)) {
					fputs(wsep, f);
					jstr(f, ipc_wait_name((enum ipc_wait)w));
					wsep = ", ";
				}
			fputs("]}", f);
			sep = ",";
		}
	}
	fputs("\n  ],\n", f);
}

static void describe_workload(FILE *f, const char *sep, const char *name, const char *family,
			      const char *summary, const char *latency, bool pool_axis, const char *procs)
{
	fprintf(f, "%s\n    {", sep);
	jkv(f, "", "name", name);
	jkv(f, ", ", "family", family);
	jkv(f, ", ", "summary", summary);
	jkv(f, ", ", "latency", latency);
	fprintf(f, ", \"pool_axis\": %s", pool_axis ? "true" : "false");
	jkv(f, ", ", "procs", procs);
	fputc('}', f);
}

void suite_describe(FILE *f)
{
	const struct family *fam;
	const struct workload *wl;
	const char *sep = "";

	fprintf(f, "{\n  \"ipclab_describe\": %d,\n  \"families\": [", DESCRIBE_VERSION);
	family_for_each(fam) {
		fprintf(f, "%s\n    {", sep);
		jkv(f, "", "name", fam->name);
		jkv(f, ", ", "summary", fam->summary);
		fputc('}', f);
		sep = ",";
	}
	fputs("\n  ],\n", f);
	describe_subjects(f);

	fputs("  \"workloads\": [", f);
	sep = "";
	wl_for_each(wl) {
		describe_workload(f, sep, wl->name, wl->family->name, wl->summary, wl_latency_name(wl->latency),
				  wl->pool_axis, wl->procs_text);
		sep = ",";
	}
	/* The in-process micro benchmarks are a scenario without a pool, of
	 * the family of the workloads listed with them (the floor's). */
	fam = NULL;
	wl_for_each(wl)
		if (wl->listed_under && strcmp(wl->listed_under, SUITE_MICRO) == 0)
			fam = wl->family;
	describe_workload(f, sep, SUITE_MICRO, fam ? fam->name : "yardstick", micro_summary,
			  wl_latency_name(WL_LAT_OPERATION), false, "1");
	fputs("\n  ],\n", f);

	fputs("  \"axes\": [\n    {\"name\": \"workers\", \"default\": ", f);
	jstr(f, pool_backend_name(POOL_PROCESS));
	fputs(", \"values\": [", f);
	for (unsigned b = 0; b < POOL_BACKEND_COUNT; b++) {
		fputs(b ? ", " : "", f);
		jstr(f, pool_backend_name((enum pool_backend)b));
	}
	fputs("]}", f);
	/* Lock workloads (contend): ns inside and outside the lock; any value
	 * may be given (--cs, --outside), the profiles use these. */
	for (int cs = 1; cs >= 0; cs--) {
		unsigned n;
		const uint64_t *v = suite_lock_axis_values(cs, &n);

		fprintf(f, ",\n    {\"name\": \"%s\", \"default\": \"0\", \"values\": [", cs ? "cs" : "outside");
		for (unsigned i = 0; i < n; i++)
			fprintf(f, "%s\"%" PRIu64 "\"", i ? ", " : "", v[i]);
		fputs("]}", f);
	}
	/* The workloads' own axes (wl_axis): the full profile's values, in
	 * order; any value in range may be given by --KEY=. */
	wl_for_each(wl)
		for (const struct wl_axis *const *ax = wl->axes; ax && *ax; ax++) {
			const uint64_t *v = (*ax)->full ? (*ax)->full : &(*ax)->def;
			char buf[32];

			fputs(",\n    {", f);
			jkv(f, "", "name", (*ax)->key);
			jkv(f, ", ", "default", wl_axis_format(*ax, (*ax)->def, buf, sizeof(buf)));
			fputs(", \"values\": [", f);
			for (unsigned i = 0; (v != &(*ax)->def || i == 0) && v[i] != WL_AXIS_END; i++) {
				fputs(i ? ", " : "", f);
				jstr(f, wl_axis_format(*ax, v[i], buf, sizeof(buf)));
			}
			fputs("]}", f);
		}
	/* Open-loop workloads: load:F (the profiles' fractions) and rate:N
	 * (any rate given with --load); closed loop is the default. */
	{
		unsigned n;
		const struct load_spec *v = suite_load_values(&n);
		char seg[64];

		fputs(",\n    {\"name\": \"load\", \"default\": \"closed\", \"values\": [\"closed\"", f);
		for (unsigned i = 0; i < n; i++) {
			load_name(&v[i], seg, sizeof(seg));
			fprintf(f, ", \"%s\"", strchr(seg, ':') + 1);
		}
		fputs("]},\n    {\"name\": \"rate\", \"default\": \"closed\", \"values\": [\"closed\"]}", f);
	}
	fputs("\n  ],\n  \"waits\": [", f);
	for (unsigned w = 0; w < IPC_WAIT_COUNT; w++) {
		fputs(w ? ", " : "", f);
		jstr(f, ipc_wait_name((enum ipc_wait)w));
	}
	fputs("],\n  \"placements\": [", f);
	for (unsigned p = 0; p < PLACE_COUNT; p++) {
		fputs(p ? ", " : "", f);
		jstr(f, placement_name((enum placement_kind)p));
	}
	fputs("],\n  \"counters\": [", f);
	for (unsigned i = 0; result_counters[i].name; i++) {
		fprintf(f, "%s\n    {", i ? "," : "");
		jkv(f, "", "name", result_counters[i].name);
		jkv(f, ", ", "unit", result_counters[i].unit);
		jkv(f, ", ", "meaning", result_counters[i].meaning);
		fputc('}', f);
	}
	fputs("\n  ]\n}\n", f);
}

int suite_write_describe(const char *dir, char *err)
{
	char tmp[4200], path[4200];
	FILE *f;
	int fd, bad;

	snprintf(tmp, sizeof(tmp), "%s/.describe.json.%ld.tmp", dir, (long)getpid());
	snprintf(path, sizeof(path), "%s/describe.json", dir);
	/* Named before it exists: a second signal while it is written
	 * removes it (interrupt.t saw .describe.json.PID.tmp left). */
	sig_set_tmpfile_at(SIG_TMP_DESCRIBE, tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		int e = errno;

		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		sig_set_tmpfile_at(SIG_TMP_DESCRIBE, NULL);
		snprintf(err, SUITE_ERRLEN, "describe.json: cannot write in '%.300s': %s", dir, strerror(e));
		return -e;
	}
	suite_describe(f);
	bad = fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0;
	bad |= fclose(f) != 0;
	if (bad || rename(tmp, path) < 0) {
		int e = errno ? errno : EIO;

		unlink(tmp);
		sig_set_tmpfile_at(SIG_TMP_DESCRIBE, NULL);
		snprintf(err, SUITE_ERRLEN, "describe.json in '%.300s': %s", dir, strerror(e));
		return -e;
	}
	sig_set_tmpfile_at(SIG_TMP_DESCRIBE, NULL);
	return 0;
}
