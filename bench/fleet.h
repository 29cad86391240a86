/* fleet.h - fleet mode (`mpirun --map-by ppr:1:node -n H build/ipclab
 * --fleet ... --out=DIR`): one rank per host runs the local suite with its
 * own forked pools, as a plain build/ipclab would; MPI only starts the
 * ranks, keeps the hosts in step (every host starts each repetition
 * together) and carries the results to rank 0.  Rank 0 writes
 *   DIR/fleet.json          the hosts, their folders, how far each got
 *   DIR/FOLDER/bench.json   each host's results (FOLDER: its host name, or
 *                           HOST-rankN when ranks share a host name)
 *   DIR/FOLDER/topology.xml, DIR/FOLDER/describe.json, DIR/FOLDER/hist/,
 *   and every other file a plain run of the selection writes into --out
 *   (a matrix case's CSVs), each when the repetition that made it is
 *   gathered
 * Every host's bench.json is a whole file after each gathered repetition,
 * holding every repetition gathered so far (only its ending is rewritten
 * in place, so the bytes written per repetition are the repetition's,
 * see fleetdir_add), so a job that ends early (mpirun ends every rank when
 * one dies) keeps them; at the end it is replaced (temporary name, rename)
 * by the host's own whole report, aggregates included. */
#ifndef IPCLAB_FLEET_H
#define IPCLAB_FLEET_H

#include <stdbool.h>
#include <stdint.h>

#include "gbench.h"
#include "hist.h"
#include "topo.h"

struct fleet;

/* Can --fleet run in this process?  0, or -EINVAL with one line in err
 * (SUITE_ERRLEN) saying how to launch it: built without MPI, not started
 * by mpirun, or no --out.  Never calls MPI. */
int fleet_check(const char *out, char *err);

/* After the cases are registered (gb_select gives the selection), before
 * anything is created: MPI_Init; the ranks agree on the selection (the
 * same case names everywhere) and on the interleaving seed (*seed: in this
 * rank's, out rank 0's); rank 0 makes DIR and every host's folder; this
 * rank's own file report goes to a private memory file.  The context gets
 * ipclab_fleet.  0; -EINVAL for bad input (exit 2: nothing created) or
 * another -errno (exit 1), with one line in err (SUITE_ERRLEN; "" on a
 * rank that has nothing to add to rank 0's line). */
int fleet_open(struct fleet **out, const char *dir, uint64_t *seed, char *err);

/* After the last gb_add_context: every host's context, topology and
 * description to rank 0, which writes them; then the hosts start
 * together.  0 or -errno with err. */
int fleet_begin(struct fleet *f, const struct topo *topo, char *err);

/* For runner_cfg.after_rep (arg: the fleet): this repetition of every
 * host (its JSON, and its histogram h as .hgrm text when there is one) to
 * rank 0, which rewrites each host's bench.json and writes the histogram
 * into its hist/ as a plain run would; then every host waits for the
 * others.  0, or -errno: the run must stop. */
int fleet_after_rep(void *arg, struct gb_bench *b, const struct hist *h);

/* For suite_case.keep_file (arg: the fleet): a file of this host's
 * results folder (a plain name there, e.g. a matrix case's CSV; its whole
 * text) travels to rank 0 with the next fleet_after_rep, which writes it
 * into DIR/FOLDER/ as a plain run writes it into --out.  0, -EINVAL (a
 * name that is not a plain file name, or one of the files rank 0 writes
 * itself) or -ENOMEM. */
int fleet_keep_file(void *arg, const char *name, const char *text);

/* After runner_run (run_rc: its return): every host's whole report to
 * rank 0, DIR/fleet.json final, MPI finalized.  After an interruption or a
 * lost host no MPI is used: rank 0 keeps what it gathered and writes its
 * own host's whole report.  0, or -errno with err (exit 1). */
int fleet_finish(struct fleet *f, int run_rc, char *err);

/* The ranks that took part (rank 0 only: how many host folders). */
int fleet_hosts(const struct fleet *f);
bool fleet_is_writer(const struct fleet *f);

/* Free f (NULL allowed).  MPI is finalized by fleet_finish only: a rank
 * whose peers are gone exits without it. */
void fleet_free(struct fleet *f);

#endif
