/* context.h - what build/ipclab writes into the results' context: the
 * command (exact argv too), the resolved selection, the order, the
 * machine, the clock and the kernel. */
#ifndef IPCLAB_CONTEXT_H
#define IPCLAB_CONTEXT_H

#include <stddef.h>

#include "suite.h"
#include "topo.h"

struct context_run {
	int argc;
	char **argv;            /* exactly as main() got it */
	const char *reps;       /* repetitions, as text */
	const char *min_time;   /* seconds, as text */
	const char *order;      /* runner_order_text() */
};

/* Add every ipclab_* key (gb_add_context).  Call before the run. */
void context_add(const struct selection *sel, const struct suite *suite, const struct topo *topo,
		 const struct context_run *run);

/* argv as a JSON array of strings, exact (every byte kept: control bytes
 * and bytes of an argument that is not UTF-8 as \u00XX).  A malloc'd
 * string, or NULL when out of memory. */
char *context_argv_json(int argc, char **argv);

#endif
