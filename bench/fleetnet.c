/* fleetnet.c - fleet mode's few MPI calls (see fleetnet.h): non-blocking
 * collectives completed by polling with naps. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fleetnet.h"
#include "mpienv.h"
#include "sig.h"

#ifdef IPCLAB_HAVE_MPI
#include <mpi.h>

/* Polling: MPI_Test drives the collective; between two tests the rank
 * sleeps this long.  Waits here are between cases (a slower host, a
 * gather), so 200 us costs nothing measured and keeps the waiting rank's
 * CPU use near zero. */
#define FLEETNET_NAP_NS 200000L

static int wait_request(MPI_Request *req)
{
	const struct timespec nap = { 0, FLEETNET_NAP_NS };
	int done = 0;

	for (;;) {
		if (MPI_Test(req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS)
			return -EIO;
		if (done)
			return 0;
		/* The job is ending (mpirun forwards SIGTERM, Ctrl-C): the
		 * request is left to MPI's own teardown. */
		if (sig_pending())
			return -EINTR;
		nanosleep(&nap, NULL);
	}
}

int fleetnet_bcast_u64(uint64_t *v)
{
	MPI_Request req;

	if (MPI_Ibcast(v, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &req) != MPI_SUCCESS)
		return -EIO;
	return wait_request(&req);
}

int fleetnet_gather_u64(uint64_t v, uint64_t *all)
{
	MPI_Request req;

	if (MPI_Igather(&v, 1, MPI_UINT64_T, all, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD, &req) != MPI_SUCCESS)
		return -EIO;
	return wait_request(&req);
}

int fleetnet_gather(const char *buf, size_t len, char **out, size_t *offs, size_t *lens)
{
	int rank = mpienv_rank(), size = mpienv_size(), rc;
	uint64_t *all = NULL;
	int *counts = NULL, *displs = NULL;
	char *block = NULL;
	MPI_Request req;
	size_t total = 0;

	/* Everyone takes part in the length gather even when its own length
	 * is refused, so no rank is left waiting: a refused length goes as
	 * UINT64_MAX and every rank then returns -E2BIG. */
	if (rank == 0) {
		all = calloc((size_t)size, sizeof(*all));
		counts = calloc((size_t)size, sizeof(*counts));
		displs = calloc((size_t)size, sizeof(*displs));
		if (!all || !counts || !displs) {
			/* Rank 0 cannot take part: the job cannot go on. */
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = fleetnet_gather_u64(len < (size_t)INT_MAX ? (uint64_t)len : UINT64_MAX, all);
	if (rc < 0)
		goto out;
	if (rank == 0) {
		for (int i = 0; i < size; i++) {
			if (all[i] >= (uint64_t)INT_MAX || total > (size_t)INT_MAX - all[i] - 1) {
				rc = -E2BIG;
				break;
			}
			counts[i] = (int)all[i];
			displs[i] = (int)total;
			total += all[i] + 1; /* room for a NUL after each */
		}
		if (rc == 0 && !(block = malloc(total ? total : 1)))
			rc = -ENOMEM;
	}
	/* Rank 0's verdict, so that every rank skips the data alike. */
	{
		uint64_t verdict = (uint64_t)-rc;

		if (fleetnet_bcast_u64(&verdict) < 0) {
			rc = -EIO;
			goto out;
		}
		rc = -(int)verdict;
		if (rc < 0)
			goto out;
	}
	if (MPI_Igatherv(buf, (int)len, MPI_CHAR, block, counts, displs, MPI_CHAR, 0, MPI_COMM_WORLD,
			 &req) != MPI_SUCCESS) {
		rc = -EIO;
		goto out;
	}
	rc = wait_request(&req);
	if (rc < 0 || rank != 0)
		goto out;
	for (int i = 0; i < size; i++) {
		block[displs[i] + counts[i]] = '\0';
		offs[i] = (size_t)displs[i];
		lens[i] = (size_t)counts[i];
	}
	*out = block;
	block = NULL;
out:
	free(block);
	free(all);
	free(counts);
	free(displs);
	return rc;
}

int fleetnet_barrier(void)
{
	MPI_Request req;

	if (MPI_Ibarrier(MPI_COMM_WORLD, &req) != MPI_SUCCESS)
		return -EIO;
	return wait_request(&req);
}

#else /* built without MPI: fleet mode refuses to start before any call */

int fleetnet_bcast_u64(uint64_t *v)
{
	(void)v;
	return -ENOSYS;
}

int fleetnet_gather_u64(uint64_t v, uint64_t *all)
{
	(void)v;
	(void)all;
	return -ENOSYS;
}

int fleetnet_gather(const char *buf, size_t len, char **out, size_t *offs, size_t *lens)
{
	(void)buf;
	(void)len;
	(void)out;
	(void)offs;
	(void)lens;
	return -ENOSYS;
}

int fleetnet_barrier(void)
{
	return -ENOSYS;
}
#endif
