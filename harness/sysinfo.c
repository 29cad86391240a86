/* sysinfo.c - facts about the machine and the build (see sysinfo.h). */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>

#include "sysinfo.h"

#ifndef IPCLAB_COMMIT
#define IPCLAB_COMMIT SYSINFO_UNAVAILABLE
#endif
#ifndef IPCLAB_COMPILER
#define IPCLAB_COMPILER SYSINFO_UNAVAILABLE
#endif
#ifndef IPCLAB_CFLAGS
#define IPCLAB_CFLAGS SYSINFO_UNAVAILABLE
#endif
#ifndef IPCLAB_BUILD_TYPE
#define IPCLAB_BUILD_TYPE SYSINFO_UNAVAILABLE
#endif
#ifndef IPCLAB_SANITIZER
#define IPCLAB_SANITIZER SYSINFO_UNAVAILABLE
#endif

#define VULN_DIR "/sys/devices/system/cpu/vulnerabilities"
#define VULN_MAX 64 /* 19 files on Linux 6.18; more are added over time */

static void set(char *dst, size_t len, const char *src)
{
	snprintf(dst, len, "%s", src && *src ? src : SYSINFO_UNAVAILABLE);
}

/* The first line of path, without its newline.  0 or -errno. */
static int read_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, (int)len, f))
		ret = ferror(f) ? -EIO : -ENODATA;
	fclose(f);
	if (ret == 0)
		buf[strcspn(buf, "\n")] = '\0';
	return ret;
}

/* Field dst from the first line of path, or "unavailable". */
static void read_field(char *dst, size_t len, const char *path)
{
	if (read_line(path, dst, len) != 0 || !*dst)
		set(dst, len, NULL);
}

/* The kernel's sentence about one vulnerability, in one word. */
static const char *vuln_state(const char *text)
{
	if (strncmp(text, "Vulnerable", 10) == 0)
		return "vulnerable";
	if (strncmp(text, "Not affected", 12) == 0)
		return "no";
	if (strstr(text, "Mitigation"))
		return "mitigated";
	return "unknown";
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void read_mitigations(char *dst, size_t len)
{
	DIR *d = opendir(VULN_DIR);
	struct dirent *e;
	char *names[VULN_MAX];
	unsigned n = 0;
	size_t used = 0;

	set(dst, len, NULL);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL && n < VULN_MAX) {
		if (e->d_name[0] == '.')
			continue;
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	qsort(names, n, sizeof(names[0]), cmp_names);
	for (unsigned i = 0; i < n; i++) {
		char path[sizeof(VULN_DIR) + 256 + 1], text[512];
		const char *state = "unknown";
		int k;

		snprintf(path, sizeof(path), "%s/%s", VULN_DIR, names[i]);
		if (read_line(path, text, sizeof(text)) == 0)
			state = vuln_state(text);
		if (used < len) {
			k = snprintf(dst + used, len - used, "%s%s=%s",
				     used ? "," : "", names[i], state);
			if (k > 0)
				used += (size_t)k;
		}
		free(names[i]);
	}
}

static void read_rlimit_msgqueue(char *dst, size_t len)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_MSGQUEUE, &rl) != 0)
		set(dst, len, NULL);
	else if (rl.rlim_cur == RLIM_INFINITY)
		set(dst, len, "unlimited");
	else
		snprintf(dst, len, "%llu", (unsigned long long)rl.rlim_cur);
}

static void read_boot_time(char *dst, size_t len)
{
	FILE *f = fopen("/proc/stat", "re");
	char line[256];
	long long btime = -1;

	set(dst, len, NULL);
	if (!f)
		return;
	while (btime < 0 && fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %lld", &btime) != 1)
			btime = -1;
	fclose(f);
	if (btime >= 0) {
		time_t t = (time_t)btime;
		struct tm tm;

		if (gmtime_r(&t, &tm))
			strftime(dst, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
}

static void read_uptime(char *dst, size_t len)
{
	char line[128];
	double up;

	if (read_line("/proc/uptime", line, sizeof(line)) == 0 &&
	    sscanf(line, "%lf", &up) == 1)
		snprintf(dst, len, "%.0f", up);
	else
		set(dst, len, NULL);
}

static void read_loadavg(char *dst, size_t len)
{
	char line[128], a[32], b[32], c[32];

	if (read_line("/proc/loadavg", line, sizeof(line)) == 0 &&
	    sscanf(line, "%31s %31s %31s", a, b, c) == 3)
		snprintf(dst, len, "%s %s %s", a, b, c);
	else
		set(dst, len, NULL);
}

int sysinfo_read(struct sysinfo *s)
{
	struct utsname u;
	int ret = 0;

	if (!s)
		return -EINVAL;
	if (uname(&u) == 0) {
		snprintf(s->kernel, sizeof(s->kernel), "%s %s %s %s",
			 u.sysname, u.release, u.version, u.machine);
		set(s->hostname, sizeof(s->hostname), u.nodename);
	} else {
		ret = -errno;
		set(s->kernel, sizeof(s->kernel), NULL);
		set(s->hostname, sizeof(s->hostname), NULL);
	}
	read_field(s->clocksource, sizeof(s->clocksource),
		   "/sys/devices/system/clocksource/clocksource0/current_clocksource");
	read_field(s->governor, sizeof(s->governor),
		   "/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor");
	read_field(s->smt_control, sizeof(s->smt_control),
		   "/sys/devices/system/cpu/smt/control");
	read_field(s->smt_active, sizeof(s->smt_active),
		   "/sys/devices/system/cpu/smt/active");
	read_mitigations(s->mitigations, sizeof(s->mitigations));
	read_field(s->mq_msg_max, sizeof(s->mq_msg_max), "/proc/sys/fs/mqueue/msg_max");
	read_field(s->mq_msgsize_max, sizeof(s->mq_msgsize_max),
		   "/proc/sys/fs/mqueue/msgsize_max");
	read_rlimit_msgqueue(s->rlimit_msgqueue, sizeof(s->rlimit_msgqueue));
	read_field(s->pipe_max_size, sizeof(s->pipe_max_size), "/proc/sys/fs/pipe-max-size");
	read_boot_time(s->boot_time, sizeof(s->boot_time));
	read_uptime(s->uptime_s, sizeof(s->uptime_s));
	read_loadavg(s->loadavg, sizeof(s->loadavg));
	set(s->commit, sizeof(s->commit), IPCLAB_COMMIT);
	set(s->compiler, sizeof(s->compiler), IPCLAB_COMPILER);
	/* CMake joins an often empty CMAKE_C_FLAGS and the build type's */
	set(s->cflags, sizeof(s->cflags), IPCLAB_CFLAGS + strspn(IPCLAB_CFLAGS, " "));
	set(s->build_type, sizeof(s->build_type), IPCLAB_BUILD_TYPE);
	set(s->sanitizer, sizeof(s->sanitizer), IPCLAB_SANITIZER);
	return ret;
}

#define FIELD(key, member) { "ipclab_" key, offsetof(struct sysinfo, member) }

static const struct {
	const char *key;
	size_t off;
} fields[] = {
	FIELD("kernel", kernel),
	FIELD("hostname", hostname),
	FIELD("clocksource", clocksource),
	FIELD("cpufreq_governor", governor),
	FIELD("smt_control", smt_control),
	FIELD("smt_active", smt_active),
	FIELD("cpu_mitigations", mitigations),
	FIELD("mqueue_msg_max", mq_msg_max),
	FIELD("mqueue_msgsize_max", mq_msgsize_max),
	FIELD("rlimit_msgqueue", rlimit_msgqueue),
	FIELD("pipe_max_size", pipe_max_size),
	FIELD("boot_time", boot_time),
	FIELD("uptime_s", uptime_s),
	FIELD("loadavg", loadavg),
	FIELD("commit", commit),
	FIELD("compiler", compiler),
	FIELD("cflags", cflags),
	FIELD("build_type", build_type),
	FIELD("sanitizer", sanitizer),
};

void sysinfo_foreach(const struct sysinfo *s,
		     void (*fn)(const char *key, const char *value, void *arg),
		     void *arg)
{
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		fn(fields[i].key, (const char *)s + fields[i].off, arg);
}
