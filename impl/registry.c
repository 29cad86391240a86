/* registry.c - every mechanism's table.  Adding a mechanism: one file in
 * impl/ and one line here. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipc.h"

extern const struct ipc_ops ipc_pipe_ops;
extern const struct ipc_ops ipc_fifo_ops;
extern const struct ipc_ops ipc_mqueue_ops;
extern const struct ipc_ops ipc_shmring_ops;
extern const struct ipc_ops ipc_unix_stream_ops;
extern const struct ipc_ops ipc_unix_dgram_ops;
extern const struct ipc_ops ipc_unix_seqpacket_ops;
extern const struct ipc_ops ipc_tcp_ops;
extern const struct ipc_ops ipc_eventfd_ops;
extern const struct ipc_ops ipc_sysv_shm_ops;
extern const struct ipc_ops ipc_sysv_msg_ops;
extern const struct ipc_ops ipc_udp_ops;
extern const struct ipc_ops ipc_cma_ops;
extern const struct ipc_ops ipc_vmsplice_ops;
extern const struct ipc_ops ipc_coro_ops;
extern const struct ipc_ops ipc_io_uring_ops;
extern const struct ipc_ops ipc_mpi_ops;
extern const struct ipc_ops ipc_zmq_ipc_ops;
extern const struct ipc_ops ipc_nng_ipc_ops;

const struct ipc_ops *const ipc_registry[] = {
	/* IPC_REGISTRY_BEGIN (one line per mechanism, in report order) */
	&ipc_pipe_ops,
	&ipc_fifo_ops,
	&ipc_mqueue_ops,
	&ipc_shmring_ops,
	&ipc_unix_stream_ops,
	&ipc_unix_dgram_ops,
	&ipc_unix_seqpacket_ops,
	&ipc_tcp_ops,
	&ipc_eventfd_ops,
	&ipc_sysv_shm_ops,
	&ipc_sysv_msg_ops,
	&ipc_udp_ops,
	&ipc_cma_ops,
	&ipc_vmsplice_ops,
	&ipc_coro_ops,
#ifdef IPCLAB_HAVE_IOURING
	&ipc_io_uring_ops,
#endif
#ifdef IPCLAB_HAVE_MPI
	&ipc_mpi_ops,
#endif
#ifdef IPCLAB_HAVE_ZMQ
	&ipc_zmq_ipc_ops,
#endif
#ifdef IPCLAB_HAVE_NNG
	&ipc_nng_ipc_ops,
#endif
	/* IPC_REGISTRY_END */
	NULL,
};

const struct ipc_ops *ipc_find(const char *name)
{
	const struct ipc_ops *op;

	ipc_for_each(op)
		if (strcmp(op->name, name) == 0)
			return op;
	return NULL;
}

static const char *const wait_names[IPC_WAIT_COUNT] = {
	[IPC_WAIT_BLOCK] = "block",
	[IPC_WAIT_SPIN] = "spin",
	[IPC_WAIT_HYBRID] = "hybrid",
};

const char *ipc_wait_name(enum ipc_wait w)
{
	return (unsigned)w < IPC_WAIT_COUNT ? wait_names[w] : "?";
}

int ipc_wait_parse(const char *s, enum ipc_wait *out)
{
	for (unsigned i = 0; i < IPC_WAIT_COUNT; i++)
		if (strcmp(s, wait_names[i]) == 0) {
			*out = (enum ipc_wait)i;
			return 0;
		}
	return -EINVAL;
}

/* Per process by nature (it is a fact about this process's threads), so a
 * file-scope flag: set once in the thread host before its threads start. */
static int shared_process;

void ipc_set_shared_process(void)
{
	shared_process = 1;
}

int ipc_in_shared_process(void)
{
	return shared_process;
}

int ipc_attach_closes_other_ends(pid_t creator)
{
	return !shared_process && getpid() != creator;
}
