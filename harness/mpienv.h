/*
 * mpienv.h - the one place that talks to MPI's environment (issue 17):
 * whether ipclab was built with MPI, whether mpirun started this process,
 * MPI_Init/MPI_Finalize once, this rank, the job's size and the rank
 * within this host.  Used by --workers=mpi and by fleet mode.
 *
 * Built without MPI, every function exists: mpienv_built() is 0,
 * mpienv_init() fails with "not built" in err, rank/size/local rank are 0/1/0.
 */
#ifndef IPCLAB_MPIENV_H
#define IPCLAB_MPIENV_H

#include <stddef.h>

/* 1 when ipclab was built with MPI, else 0. */
int mpienv_built(void);

/* 1 when this process was started by mpirun (OMPI_COMM_WORLD_SIZE or
 * PMIX_RANK in the environment); never calls MPI. */
int mpienv_launched(void);

/* MPI_Init_thread (MPI_THREAD_FUNNELED) once per process; a second call
 * after success returns 0 at once.  0, or -1 with a one-line reason in err
 * (not built, not launched by mpirun, MPI refused, finalized already). */
int mpienv_init(char *err, size_t errlen);

/* This rank in MPI_COMM_WORLD, and the number of ranks (0 and 1 before a
 * successful mpienv_init; kept after mpienv_finalize). */
int mpienv_rank(void);
int mpienv_size(void);

/* This rank's index among the ranks on its own host
 * (MPI_Comm_split_type with MPI_COMM_TYPE_SHARED); 0 before init, kept
 * after mpienv_finalize. */
int mpienv_local_rank(void);

/* MPI_Finalize once, if mpienv_init succeeded; safe to call always. */
void mpienv_finalize(void);

#endif
