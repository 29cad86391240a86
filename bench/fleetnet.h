/* fleetnet.h - what fleet mode asks of MPI, and nothing else: agree on a
 * number, gather every rank's bytes at rank 0, and wait for every rank.
 * Each call is collective (every rank of MPI_COMM_WORLD makes it, in the
 * same order) and waits by polling (MPI_Test, then a nap): Open MPI's
 * blocking calls busy-poll, and a rank waiting for a slower host must not
 * eat a CPU that this host's next case needs.  A signal (sig.h) ends any
 * wait with -EINTR.  Built without MPI, every call returns -ENOSYS. */
#ifndef IPCLAB_FLEETNET_H
#define IPCLAB_FLEETNET_H

#include <stddef.h>
#include <stdint.h>

/* Every rank gets rank 0's *v.  0, -EINTR or -EIO. */
int fleetnet_bcast_u64(uint64_t *v);

/* Rank 0 gets every rank's 64-bit value into all[size] (others may pass
 * NULL).  0, -EINTR or -EIO. */
int fleetnet_gather_u64(uint64_t v, uint64_t *all);

/* Rank 0 gets every rank's len bytes of buf: *out is one malloc'd block
 * with rank i's bytes at offs[i], lens[i] long, each followed by a NUL
 * (offs and lens hold size entries; others may pass NULL for all three).
 * A rank may send 0 bytes; at most INT_MAX - 1 per rank.  0, -ENOMEM,
 * -E2BIG, -EINTR or -EIO.  A rank 0 out of memory returns at once without
 * taking part (the job cannot go on: its exit makes mpirun end the
 * others). */
int fleetnet_gather(const char *buf, size_t len, char **out, size_t *offs, size_t *lens);

/* Wait until every rank has come here.  0, -EINTR or -EIO. */
int fleetnet_barrier(void);

#endif
