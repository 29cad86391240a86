/* outdir.h - the results folder of build/ipclab: made and proven writable
 * (with room for the results) before anything is measured; bench.json
 * written to a temporary name and renamed into place only when whole. */
#ifndef IPCLAB_OUTDIR_H
#define IPCLAB_OUTDIR_H

#include <stddef.h>
#include <sys/types.h>

#include "topo.h"

/* mkdir -p path (mode 0755).  0 or -errno with one line in err
 * (SUITE_ERRLEN). */
int outdir_mkdirs(const char *path, char *err);

/* Room bench.json needs for cases with reps repetitions (generous). */
off_t outdir_room(unsigned cases, int reps);

/* Make dir (and its parents), refuse one holding a bench.json already,
 * create the temporary results file tmp (".bench.json.PID.tmp", empty) and
 * prove there is room.  0, or -errno with one line in err (SUITE_ERRLEN);
 * on error tmp is "" and nothing of ours is left in dir. */
int outdir_prepare(const char *dir, off_t room, char *tmp, size_t tmplen, char *err);

/* The reporter wrote tmp: keep it as dir/bench.json only if it is whole
 * JSON (else remove it), then write dir/topology.xml.  0 or -errno with
 * err. */
int outdir_finish(const char *dir, const char *tmp, const struct topo *topo, char *err);

#endif
