/* mpirank.c - build/ipclab under mpirun with --workers=mpi (issue 17):
 * every rank parses the same flags; rank 0 runs the suite and writes the
 * results, every other rank serves rank 0's cases (engine_mpi.c) and
 * writes nothing. */
#include <stdbool.h>
#include <stdio.h>

#include "ipc.h"
#include "mpienv.h"
#include "mpirank.h"
#include "pool_mpi.h"
#include "sig.h"
#include "workload.h"

#define EXIT_USAGE 2

static bool wants_mpi(const struct selection *sel)
{
	for (unsigned i = 0; i < sel->nworkers; i++)
		if (sel->workers[i] == POOL_MPI)
			return true;
	return false;
}

/* Rank 0 of a --workers=mpi job: mpirank_end() has ranks to finish (a
 * fleet job also runs under MPI, and finishes its own). */
static bool coordinating;

int mpirank_begin(const struct selection *sel, const struct topo *topo, int *status)
{
	char err[SCENARIO_ERRLEN] = "";
	int rc;

	if (!wants_mpi(sel))
		return 0;
	if (!mpienv_built()) {
		fprintf(stderr, "ipclab: --workers=mpi: ipclab was built without MPI (install libopenmpi-dev and openmpi-bin: make deps, then make)\n");
		*status = EXIT_USAGE;
		return 1;
	}
	if (!mpienv_launched()) {
		fprintf(stderr, "ipclab: --workers=mpi runs under mpirun, one rank per worker: mpirun -n 2 --bind-to none build/ipclab --workers=mpi ...\n");
		*status = EXIT_USAGE;
		return 1;
	}
	if (mpienv_init(err, sizeof(err)) < 0) {
		fprintf(stderr, "ipclab: --workers=mpi: %s\n", err);
		*status = 1;
		return 1;
	}
	/* A wait on a dead peer ends when mpirun's SIGTERM comes. */
	ipc_set_abort_check(sig_pending);
	if (mpienv_rank() == 0) {
		coordinating = true;
		return 0;
	}
	rc = case_mpi_serve(topo, err);
	if (rc < 0 && !sig_pending())
		fprintf(stderr, "ipclab: %s\n", err);
	*status = sig_pending() ? sig_exit_status() : rc < 0 ? 1 : 0;
	if (rc == 0)
		mpienv_finalize();
	return 1;
}

void mpirank_end(void)
{
	if (!coordinating || mpienv_rank() != 0 || mpienv_size() < 1)
		return;
	/* Rank 0: the other ranks leave; after a rank stopped answering (or
	 * a signal) the job cannot finalize: exiting ends it (mpirun). */
	if (pool_mpi_finish())
		mpienv_finalize();
}
