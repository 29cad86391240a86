/* where.c - `ipclab --where`: the CPU of each process of each case of a
 * selection, as JSON on stdout, resolved by the harness's own placement
 * (topo_place), so that other drivers (bench/python) place their processes
 * exactly as ipclab would and never carry a topology code of their own.
 *
 *   {"ipclab_where": 1,
 *    "cases": [{"name": "fanout/pipe/block/compact/size:64/pool:2",
 *               "scenario": "fanout", "pool": 2, "placement": "compact",
 *               "procs": 3, "cpus": [0, 1, 0], "oversubscribed": true,
 *               "class": "shared-L3"},
 *              {"name": "...", ..., "skipped": "skipped: ..."}]}
 *
 * cpus[i] is the OS index of process i in the workload's role order
 * (process 0 is the pingpong initiator, the stream/fanout producer, the
 * fanin consumer), -1 for placement none.  "class" is the topology class of
 * the pair (process 0, process 1).  A placement this machine cannot satisfy
 * gives "skipped" with the harness's reason and no cpus.  Micro cases run
 * in one process and are not listed. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>

#include "suite.h"

/* A JSON string of characters that need no escape beyond these: case
 * names, placement names and topo's reasons are printable ASCII. */
static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
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

static void where_case(FILE *f, const struct suite_case *c)
{
	const struct case_spec *sp = &c->spec;
	unsigned nproc = sp->workload->procs(sp->pool);
	int cpus[TOPO_MAX_CPUS];
	bool over = false;
	char err[TOPO_ERRLEN] = "";
	int rc = -EINVAL;

	if (nproc <= TOPO_MAX_CPUS)
		rc = topo_place(sp->topo, sp->placement, nproc, cpus, &over, err);
	fputs("{\"name\": ", f);
	json_string(f, c->name);
	fputs(", \"scenario\": ", f);
	json_string(f, sp->workload->name);
	fprintf(f, ", \"pool\": %u, \"placement\": ", sp->pool);
	json_string(f, placement_name(sp->placement->kind));
	fprintf(f, ", \"procs\": %u", nproc);
	if (rc < 0) {
		char why[TOPO_ERRLEN + 16];

		snprintf(why, sizeof(why), "%s%s", rc == -ENOTSUP ? "skipped: " : "failed: ",
			 err[0] ? err : "no placement");
		fputs(", \"skipped\": ", f);
		json_string(f, why);
		fputc('}', f);
		return;
	}
	fputs(", \"cpus\": [", f);
	for (unsigned i = 0; i < nproc; i++)
		fprintf(f, "%s%d", i ? ", " : "", cpus[i]);
	fprintf(f, "], \"oversubscribed\": %s, \"class\": ", over ? "true" : "false");
	json_string(f, nproc >= 2 ? topo_pair_class(sp->topo, cpus[0], cpus[1]) : "unbound");
	fputc('}', f);
}

int where_print(FILE *f, const struct suite *s)
{
	bool first = true;

	fputs("{\"ipclab_where\": 1, \"cases\": [", f);
	for (unsigned i = 0; i < s->n; i++) {
		if (s->cases[i].micro)
			continue;
		fputs(first ? "\n " : ",\n ", f);
		first = false;
		where_case(f, &s->cases[i]);
	}
	fputs("\n]}\n", f);
	return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}
