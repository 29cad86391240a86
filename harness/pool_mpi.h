/* pool_mpi.h - the pool's MPI backend (--workers=mpi, issue 17): worker i
 * of a case is rank i of the MPI job; rank 0 runs worker 0 itself and
 * coordinates through MPI (the case sent to every worker rank, the
 * channel table gathered and sent back, a start barrier, each round's
 * slots gathered), always by polling (MPI_Test / MPI_Iprobe with a short
 * nap), never in a blocking MPI call that spins.
 *
 * Rank 0 reaches it through pool.c's hooks (cfg->backend == POOL_MPI);
 * every other rank serves cases with pool_mpi_serve() until rank 0's
 * pool_mpi_finish().  MPI must be initialised (mpienv_init) first.
 */
#ifndef IPCLAB_POOL_MPI_H
#define IPCLAB_POOL_MPI_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "pool.h"

struct pool_mpi;

/* Rank 0: open the case on ranks 1..n-1 (n = cfg->nworkers) and worker 0
 * here.  cmd is the command area (cfg->cmd_size bytes) the caller fills
 * before a round; slots hold n slots stride bytes apart, filled by each
 * round; ran_on[i] and pid[i] get what worker i reported.  0, or -errno
 * with reason (POOL_ERRLEN): -ENOTSUP (built without MPI, not an MPI job,
 * fewer ranks than workers), -ETIMEDOUT, -EINTR, or a worker's -errno.
 * On error no rank runs a role of the case any more. */
int pool_mpi_start(struct pool_mpi **out, const struct pool_cfg *cfg, void *cmd, void *slots,
		   size_t stride, int *ran_on, pid_t *pid, char *reason);
/* One round on every worker; the slots gathered.  0 or -errno (reason). */
int pool_mpi_round(struct pool_mpi *m, unsigned timeout_ms, char *reason);
/* Teardown everywhere; frees m.  0 or -errno (reason). */
int pool_mpi_stop(struct pool_mpi *m, unsigned timeout_ms, char *reason);
/* pool_sync() of an MPI worker: a barrier of the case's ranks. */
void pool_mpi_sync(struct pool_worker *w);

/* Every rank but 0: open the worker of the case in blob (len bytes) that
 * this rank runs, filling cfg (callbacks, arg, cpus, topo, sizes,
 * mpi_import) and this worker's lines of the channel table (text, cap
 * bytes); close it again.  0 or -errno with why (POOL_ERRLEN). */
struct pool_mpi_host {
	int (*open)(void *ctx, const void *blob, size_t len, unsigned worker, struct pool_cfg *cfg,
		    char *text, size_t cap, char *why);
	void (*close)(void *ctx, void *arg);
	void *ctx;
};
/* Serve rank 0's cases until it says quit: 0; -EINTR on a signal; -EIO
 * when the job is unusable (reason). */
int pool_mpi_serve(const struct pool_mpi_host *h, char *reason);

/* Rank 0, once at the end: tell every rank to leave.  true when the job
 * can be finalized; false when a rank stopped answering or a signal came
 * (then the caller exits without MPI_Finalize and mpirun ends the job). */
bool pool_mpi_finish(void);

#endif
