/* t_sysinfo.c - machine and build facts (harness/sysinfo.h) against what
 * the test reads itself, through the shell's own tools (uname, cat, date). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "sysinfo.h"
#include "lib/testutil.h"

#define TEST_TIMEOUT_S 60
#define NKEYS 19 /* fields of struct sysinfo */
#define VULN_DIR "/sys/devices/system/cpu/vulnerabilities"

/* The first line printed by a shell command, or "unavailable" when the
 * command fails or prints nothing. */
static void sh_line(const char *cmd, char *out, size_t len)
{
	FILE *p;
	bool ok;

	fflush(NULL);
	p = popen(cmd, "r");
	assert_non_null(p);
	ok = fgets(out, (int)len, p) != NULL;
	if (pclose(p) != 0 || !ok) {
		snprintf(out, len, "%s", SYSINFO_UNAVAILABLE);
		return;
	}
	out[strcspn(out, "\n")] = '\0';
	if (!*out)
		snprintf(out, len, "%s", SYSINFO_UNAVAILABLE);
}

/* A sysfs/procfs file's first line through cat; "unavailable" if absent. */
static void cat_line(const char *path, char *out, size_t len)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "cat '%s' 2>/dev/null", path);
	sh_line(cmd, out, len);
}

static struct sysinfo *read_si(void)
{
	struct sysinfo *s = malloc(sizeof(*s));

	assert_non_null(s);
	memset(s, 0x5a, sizeof(*s)); /* no field may keep this */
	assert_int_equal(sysinfo_read(s), 0);
	return s;
}

static void t_uname(void **state)
{
	struct sysinfo *s = read_si();
	char want[SYSINFO_KERNEL_LEN];

	(void)state;
	sh_line("uname -srvm", want, sizeof(want));
	assert_string_equal(s->kernel, want);
	sh_line("uname -n", want, sizeof(want));
	assert_string_equal(s->hostname, want);
	free(s);
}

static void t_sysfs(void **state)
{
	struct sysinfo *s = read_si();
	char want[SYSINFO_LEN];

	(void)state;
	cat_line("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		 want, sizeof(want));
	assert_string_equal(s->clocksource, want);
	cat_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor", want, sizeof(want));
	assert_string_equal(s->governor, want);
	cat_line("/sys/devices/system/cpu/smt/control", want, sizeof(want));
	assert_string_equal(s->smt_control, want);
	cat_line("/sys/devices/system/cpu/smt/active", want, sizeof(want));
	assert_string_equal(s->smt_active, want);
	free(s);
}

static void t_limits(void **state)
{
	struct sysinfo *s = read_si();
	char want[SYSINFO_LEN];
	struct rlimit rl;

	(void)state;
	cat_line("/proc/sys/fs/mqueue/msg_max", want, sizeof(want));
	assert_string_equal(s->mq_msg_max, want);
	cat_line("/proc/sys/fs/mqueue/msgsize_max", want, sizeof(want));
	assert_string_equal(s->mq_msgsize_max, want);
	cat_line("/proc/sys/fs/pipe-max-size", want, sizeof(want));
	assert_string_equal(s->pipe_max_size, want);
	/* the shell's ulimit -q reports KiB blocks; ask the kernel in bytes */
	assert_int_equal(getrlimit(RLIMIT_MSGQUEUE, &rl), 0);
	if (rl.rlim_cur == RLIM_INFINITY)
		snprintf(want, sizeof(want), "unlimited");
	else
		snprintf(want, sizeof(want), "%llu", (unsigned long long)rl.rlim_cur);
	assert_string_equal(s->rlimit_msgqueue, want);
	free(s);
}

static void t_boot_load(void **state)
{
	char want[SYSINFO_LEN], before[SYSINFO_LEN], after[SYSINFO_LEN];
	struct sysinfo *s;
	double up0, up1, up;

	(void)state;
	sh_line("cut -d' ' -f1-3 /proc/loadavg", before, sizeof(before));
	sh_line("cut -d' ' -f1 /proc/uptime", want, sizeof(want));
	up0 = strtod(want, NULL);
	s = read_si();
	sh_line("cut -d' ' -f1 /proc/uptime", want, sizeof(want));
	up1 = strtod(want, NULL);
	sh_line("cut -d' ' -f1-3 /proc/loadavg", after, sizeof(after));
	/* the load average may move between two reads: either one */
	if (strcmp(s->loadavg, before) != 0 && strcmp(s->loadavg, after) != 0)
		fail_msg("loadavg \"%s\", /proc/loadavg said \"%s\" then \"%s\"",
			 s->loadavg, before, after);
	up = strtod(s->uptime_s, NULL);
	/* whole seconds, rounded to nearest */
	assert_true(up >= up0 - 0.5 && up <= up1 + 0.5);
	sh_line("date -u -d @$(awk '/^btime/ {print $2}' /proc/stat) +%Y-%m-%dT%H:%M:%SZ",
		want, sizeof(want));
	assert_string_equal(s->boot_time, want);
	free(s);
}

/* The state word expected for the kernel's sentence. */
static const char *expect_state(const char *text)
{
	if (strncmp(text, "Vulnerable", 10) == 0)
		return "vulnerable";
	if (strncmp(text, "Not affected", 12) == 0)
		return "no";
	return strstr(text, "Mitigation") ? "mitigated" : "unknown";
}

static void t_mitigations(void **state)
{
	struct sysinfo *s = read_si();
	char line[1024], entry[sizeof(line) + 16];
	unsigned files = 0, entries = 1;
	FILE *p;

	(void)state;
	fflush(NULL);
	/* "name<TAB>text" per file, as grep prints them */
	p = popen("cd " VULN_DIR " 2>/dev/null && grep -H . * | sed 's/:/\\t/'", "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char *tab = strchr(line, '\t');

		if (!tab)
			continue;
		*tab = '\0';
		tab[1 + strcspn(tab + 1, "\n")] = '\0';
		snprintf(entry, sizeof(entry), "%s=%s", line, expect_state(tab + 1));
		files++;
		/* whole entry: bounded by start or ',' and by ',' or end */
		{
			const char *m = strstr(s->mitigations, entry);
			bool whole = false;

			while (m && !whole) {
				whole = (m == s->mitigations || m[-1] == ',') &&
					(m[strlen(entry)] == ',' || m[strlen(entry)] == '\0');
				if (!whole)
					m = strstr(m + 1, entry);
			}
			if (!whole)
				fail_msg("\"%s\" not in \"%s\"", entry, s->mitigations);
		}
	}
	pclose(p);
	if (files == 0) {
		assert_string_equal(s->mitigations, SYSINFO_UNAVAILABLE);
	} else {
		for (const char *c = s->mitigations; *c; c++)
			entries += *c == ',';
		assert_int_equal(entries, files);
	}
	free(s);
}

static void t_build(void **state)
{
	struct sysinfo *s = read_si();
	char want[SYSINFO_LEN];

	(void)state;
#if defined(__clang__)
	snprintf(want, sizeof(want), "Clang %d.%d.%d", __clang_major__,
		 __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
	snprintf(want, sizeof(want), "GNU %d.%d.%d", __GNUC__, __GNUC_MINOR__,
		 __GNUC_PATCHLEVEL__);
#endif
	assert_string_equal(s->compiler, want);
#if defined(__SANITIZE_ADDRESS__)
	assert_string_equal(s->sanitizer, "address,undefined");
#elif defined(__SANITIZE_THREAD__)
	assert_string_equal(s->sanitizer, "thread");
#else
	assert_string_equal(s->sanitizer, "none");
#endif
	assert_string_not_equal(s->commit, SYSINFO_UNAVAILABLE);
	assert_null(strchr(s->commit, ' '));
	assert_string_not_equal(s->build_type, SYSINFO_UNAVAILABLE);
	assert_string_not_equal(s->cflags, SYSINFO_UNAVAILABLE);
	free(s);
}

struct keys {
	unsigned n;
	char key[64][64];
	bool bad;
	char why[256];
};

static void collect(const char *key, const char *value, void *arg)
{
	struct keys *k = arg;

	if (k->bad)
		return;
	/* read_si() filled the struct with 0x5a ('Z'): a field never set
	 * still starts with it */
	if (strncmp(key, "ipclab_", 7) != 0 || !value || !*value ||
	    strncmp(value, "ZZZZZZZZ", 8) == 0 || k->n >= 64) {
		k->bad = true;
		snprintf(k->why, sizeof(k->why), "key \"%s\" value \"%s\"", key,
			 value ? value : "(null)");
		return;
	}
	for (unsigned i = 0; i < k->n; i++)
		if (strcmp(k->key[i], key) == 0) {
			k->bad = true;
			snprintf(k->why, sizeof(k->why), "key \"%s\" twice", key);
			return;
		}
	snprintf(k->key[k->n++], sizeof(k->key[0]), "%s", key);
}

static void t_keys(void **state)
{
	struct sysinfo *s = read_si();
	struct keys *k = calloc(1, sizeof(*k));

	(void)state;
	assert_non_null(k);
	sysinfo_foreach(s, collect, k);
	if (k->bad)
		fail_msg("%s", k->why);
	assert_int_equal(k->n, NKEYS);
	free(k);
	free(s);
}

static void t_null(void **state)
{
	(void)state;
	assert_int_equal(sysinfo_read(NULL), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ .name = "sysinfo: kernel and hostname are uname's", .test_func = t_uname },
		{ .name = "sysinfo: clocksource, governor, SMT as sysfs says", .test_func = t_sysfs },
		{ .name = "sysinfo: mqueue limits, RLIMIT_MSGQUEUE, pipe-max-size", .test_func = t_limits },
		{ .name = "sysinfo: boot time, uptime and load average", .test_func = t_boot_load },
		{ .name = "sysinfo: one name=state per vulnerability file", .test_func = t_mitigations },
		{ .name = "sysinfo: compiler and sanitizer match this build", .test_func = t_build },
		{ .name = "sysinfo: keys are ipclab_-prefixed, unique, with values", .test_func = t_keys },
		{ .name = "sysinfo: NULL is refused", .test_func = t_null },
	};

	alarm(TEST_TIMEOUT_S);
	return tap_run("sysinfo", tests, sizeof(tests) / sizeof(tests[0]));
}
