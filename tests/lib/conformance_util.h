/* conformance_util.h - the conformance suite's view of what a run leaves
 * behind.
 *
 * When the suite runs as root it moves into a private mount and IPC
 * namespace: a fresh tmpfs on /dev/shm, its own mqueue file system (so
 * queues can be listed even where /dev/mqueue is not mounted) and a private
 * TMPDIR.  Leak checks then see exactly what the mechanisms under test
 * created, never what another run on the same machine is doing, and
 * whatever a failed test leaves dies with the process.  Without root the
 * suite runs in place and says what it cannot see.
 */
#ifndef IPCLAB_CONFORMANCE_UTIL_H
#define IPCLAB_CONFORMANCE_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "testutil.h"

#define CONF_ENV_PATH 64
#define CONF_ENV_NOTE 400

struct conf_env {
	bool isolated;              /* private namespaces, /dev/shm, TMPDIR */
	bool mq_listable;           /* message queues can be listed */
	char mqdir[CONF_ENV_PATH];  /* where they are listed; "" nowhere */
	char note[CONF_ENV_NOTE];   /* one line for a TAP diagnostic */
};

/* Isolate if possible (see above) and describe what leak checks can see.
 * Call once, before any fork.  Never fails: the note says what happened. */
void conf_env_setup(struct conf_env *env);

/* leak_snapshot() plus the private mqueue directory when it is not
 * /dev/mqueue. */
void conf_snapshot(const struct conf_env *env, struct leak_snap *s);

/* Entries new since before, names into out; how many. */
unsigned conf_leak_check(const struct conf_env *env, const struct leak_snap *before,
			 char *out, size_t len);

#endif
