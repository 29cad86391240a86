/* mpirank.h - build/ipclab's part of --workers=mpi (see mpirank.c). */
#ifndef IPCLAB_MPIRANK_H
#define IPCLAB_MPIRANK_H

#include "suite.h"

struct topo;

/* After every flag was checked, before anything is created.  0: go on
 * (no --workers=mpi, or this is rank 0).  1: this process is done
 * (*status: 2 when not under mpirun or built without MPI, with one line;
 * a worker rank's exit status after serving). */
int mpirank_begin(const struct selection *sel, const struct topo *topo, int *status);
/* Rank 0 at the end: release the other ranks and finalize (no-op
 * without MPI). */
void mpirank_end(void);

#endif
