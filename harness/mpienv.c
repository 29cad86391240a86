/*
 * mpienv.c - MPI's environment, once per process (see mpienv.h).
 *
 * The state below is per process by nature (MPI is initialised at most
 * once per process), so it is file scope.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "mpienv.h"

#ifdef IPCLAB_HAVE_MPI
#include <mpi.h>
#endif

static struct {
	int inited;	/* mpienv_init succeeded */
	int finalized;	/* mpienv_finalize ran */
	int rank, size, local_rank;
} mpienv = { 0, 0, 0, 1, 0 };

static void mpienv_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void mpienv_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int mpienv_built(void)
{
#ifdef IPCLAB_HAVE_MPI
	return 1;
#else
	return 0;
#endif
}

int mpienv_launched(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") != NULL || getenv("PMIX_RANK") != NULL;
}

#ifdef IPCLAB_HAVE_MPI
int mpienv_init(char *err, size_t errlen)
{
	int provided = 0, up = 0, rc;
	MPI_Comm local;

	if (mpienv.inited && !mpienv.finalized)
		return 0;
	if (mpienv.finalized) {
		mpienv_err(err, errlen, "MPI was finalized already in this process");
		return -1;
	}
	if (!mpienv_launched()) {
		mpienv_err(err, errlen, "not started by mpirun (launch with: mpirun -n K --bind-to none ...)");
		return -1;
	}
	MPI_Initialized(&up);
	if (!up) {
		rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
		if (rc != MPI_SUCCESS) {
			mpienv_err(err, errlen, "MPI_Init_thread failed (error %d)", rc);
			return -1;
		}
		if (provided < MPI_THREAD_FUNNELED) {
			MPI_Finalize();
			mpienv.finalized = 1;
			mpienv_err(err, errlen, "MPI gives thread level %d, below MPI_THREAD_FUNNELED",
				   provided);
			return -1;
		}
	}
	MPI_Comm_rank(MPI_COMM_WORLD, &mpienv.rank);
	MPI_Comm_size(MPI_COMM_WORLD, &mpienv.size);
	if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, mpienv.rank, MPI_INFO_NULL,
				&local) == MPI_SUCCESS) {
		MPI_Comm_rank(local, &mpienv.local_rank);
		MPI_Comm_free(&local);
	} else {
		mpienv.local_rank = 0;
	}
	mpienv.inited = 1;
	return 0;
}

void mpienv_finalize(void)
{
	int down = 0;

	if (!mpienv.inited || mpienv.finalized)
		return;
	MPI_Finalized(&down);
	if (!down)
		MPI_Finalize();
	mpienv.finalized = 1;
}
#else
int mpienv_init(char *err, size_t errlen)
{
	mpienv_err(err, errlen, "ipclab was built without MPI (install libopenmpi-dev and openmpi-bin: make deps, then rebuild)");
	return -1;
}

void mpienv_finalize(void)
{
}
#endif

int mpienv_rank(void)
{
	return mpienv.inited ? mpienv.rank : 0;
}

int mpienv_size(void)
{
	return mpienv.inited ? mpienv.size : 1;
}

int mpienv_local_rank(void)
{
	return mpienv.inited ? mpienv.local_rank : 0;
}
