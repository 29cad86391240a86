/* sysinfo.h - facts about the machine and the build, for the context of
 * every result.  Each is read from the system (uname, /proc, /sys,
 * getrlimit) or fixed by CMake at build time; none is guessed.  What cannot
 * be read is "unavailable" (SYSINFO_UNAVAILABLE).
 *
 * Note: <sys/sysinfo.h> (sysinfo(2)) also defines a struct sysinfo; do not
 * include both in one file.
 */
#ifndef IPCLAB_SYSINFO_H
#define IPCLAB_SYSINFO_H

#ifdef _SYS_SYSINFO_H
#error "harness/sysinfo.h and <sys/sysinfo.h> both define struct sysinfo"
#endif

#define SYSINFO_UNAVAILABLE "unavailable"
#define SYSINFO_LEN 256       /* one value: uname's version string is ~100 */
#define SYSINFO_KERNEL_LEN 264 /* uname's four fields, 65 bytes each, + 3 spaces */
#define SYSINFO_LIST_LEN 2048 /* mitigations: 19 x ~30 chars on 6.18, room to grow */

struct sysinfo {
	char kernel[SYSINFO_KERNEL_LEN];   /* uname -srvm */
	char hostname[SYSINFO_LEN];        /* uname -n */
	char clocksource[SYSINFO_LEN];     /* clocksource0/current_clocksource */
	char governor[SYSINFO_LEN];        /* cpu0 scaling_governor */
	char smt_control[SYSINFO_LEN];     /* smt/control: on, off, notsupported.. */
	char smt_active[SYSINFO_LEN];      /* smt/active: 0 or 1 */
	/* "name=state,..." sorted by name, state one of no (not affected),
	 * mitigated, vulnerable, unknown (the kernel's first words) */
	char mitigations[SYSINFO_LIST_LEN];
	char mq_msg_max[SYSINFO_LEN];      /* /proc/sys/fs/mqueue/msg_max */
	char mq_msgsize_max[SYSINFO_LEN];  /* /proc/sys/fs/mqueue/msgsize_max */
	char rlimit_msgqueue[SYSINFO_LEN]; /* soft RLIMIT_MSGQUEUE, bytes or "unlimited" */
	char pipe_max_size[SYSINFO_LEN];   /* /proc/sys/fs/pipe-max-size, bytes */
	char boot_time[SYSINFO_LEN];       /* btime of /proc/stat, UTC ISO 8601 */
	char uptime_s[SYSINFO_LEN];        /* /proc/uptime, whole seconds */
	char loadavg[SYSINFO_LEN];         /* /proc/loadavg: "1 5 15" minutes */
	char commit[SYSINFO_LEN];          /* git describe at configure time */
	char compiler[SYSINFO_LEN];        /* "GNU 12.2.0" */
	char cflags[SYSINFO_LEN];          /* CMAKE_C_FLAGS + the build type's */
	char build_type[SYSINFO_LEN];      /* CMAKE_BUILD_TYPE */
	char sanitizer[SYSINFO_LEN];       /* "none", "address,undefined", "thread" */
};

/* Fill s.  0, or -EINVAL for NULL, or -errno when uname() fails (every
 * field is still set, to a value or "unavailable"). */
int sysinfo_read(struct sysinfo *s);

/* Call fn once per field with its key ("ipclab_kernel", ...: every key
 * starts with "ipclab_" and is unique) and its value, in a fixed order. */
void sysinfo_foreach(const struct sysinfo *s,
		     void (*fn)(const char *key, const char *value, void *arg),
		     void *arg);

#endif
