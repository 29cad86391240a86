/* abortcheck.c - the process's "stop waiting" check (ipc.h,
 * ipc_set_abort_check): set by an MPI rank so that a wait on a dead peer
 * ends when the rank is told to stop.  Per process by nature, so one
 * file-scope pointer. */
#include <stddef.h>
#include <unistd.h>

#include "ipc.h"

static int (*ipc_abort_check)(void);
/* The process that set it: a child it forks (rank 0's forked pool of a
 * --workers=process,mpi job) is not told to stop that way. */
static pid_t ipc_abort_owner;

void ipc_set_abort_check(int (*check)(void))
{
	ipc_abort_check = check;
	ipc_abort_owner = getpid();
}

int ipc_abort_requested(void)
{
	return ipc_abort_check ? ipc_abort_check() : 0;
}

int ipc_abort_check_set(void)
{
	return ipc_abort_check != NULL && getpid() == ipc_abort_owner;
}
