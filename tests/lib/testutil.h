/* testutil.h - what every ipclab test needs: TAP through cmocka, and checks
 * for what a run may leave behind (IPC objects, private directories,
 * zombies). */
#ifndef IPCLAB_TESTUTIL_H
#define IPCLAB_TESTUTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* Names of ipclab objects now present: /dev/shm/ipclab-*, /dev/mqueue/ipclab-*
 * (when mounted) and $TMPDIR/ipclab-* directories. */
struct leak_snap {
	unsigned n;
	char names[512][320];
};

void leak_snapshot(struct leak_snap *s);
/* Add every SysV message queue, semaphore set and segment of this IPC
 * namespace ("sysv-msg:ID", from /proc/sysvipc).  They carry no name, so
 * only a test in a private IPC namespace can tell its own from the
 * machine's (conformance_util.h does). */
void leak_snapshot_sysv(struct leak_snap *s);
/* Entries in `now` that were not in `before`; their names, space separated,
 * into out.  Returns how many. */
unsigned leak_new(const struct leak_snap *before, const struct leak_snap *now,
		  char *out, size_t len);
/* Convenience: snapshot now and compare with before. */
unsigned leak_check(const struct leak_snap *before, char *out, size_t len);

/* Is /dev/mqueue mounted, so leaked queues can be listed? */
bool mqueue_listable(void);

/* Children of this process that are zombies now (from /proc). */
unsigned zombie_children(void);

/* Run cmocka tests with TAP output; one group per executable.  The group
 * runs in a forked child whose output is filtered so that a skipped test
 * reads "ok N - NAME # SKIP reason" (prove counts cmocka 1.1.5's own
 * "not ok N # SKIP" as a failure). */
int tap_run(const char *group, const struct CMUnitTest *tests, size_t n);

/* Skip the current test, with the reason (printf format) in the TAP line. */
#define TAP_SKIP_REASON "# SKIP reason: "
void tap_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
