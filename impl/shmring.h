/*
 * shmring.h - layout of the shmring shared area.
 *
 * Exposed ONLY so tests can corrupt it on purpose and the fault campaign can
 * write random bytes over it.  Nothing outside impl/shmring.c may rely on it
 * to exchange messages: use ipc_shmring_ops.
 *
 * The area is one POSIX shm object:  [struct shmring_ctl][data area]
 * The data area is a power of two bytes holding 8-byte aligned records:
 *
 *   header (8 bytes, shmring_hdr())  then len bytes, padded to 8
 *
 * A record never wraps: when it does not fit before the end, the producer
 * writes a wrap marker (len == SHMRING_WRAP) and the record starts at offset
 * 0 of the next lap.  Indices are free-running 64-bit byte counts; the
 * offset of index i is i & (data_size - 1).
 *
 * SPSC (1 sender, 1 receiver): only prod_tail and cons_tail move.
 * MPMC: a side first reserves [head, head+n) with a CAS on its head, works
 * on its reservation, then waits until its tail reaches its reservation
 * start and releases by storing tail = head+n (in order, as DPDK rte_ring).
 *
 * Everything read from here is bounds-checked by the reader: the geometry a
 * process trusts is its private copy taken at create, never this header.
 */
#ifndef IPCLAB_SHMRING_H
#define IPCLAB_SHMRING_H

#include <stdalign.h>
#include <stddef.h>
#include <stdint.h>

#include "atomics.h"

#define SHMRING_MAGIC 0x676e69726d687369ull /* "ishmring" little endian */
#define SHMRING_VERSION 1u
/* Attached processes per side: enough for any pool the harness forks
 * (its limit is 1024 workers); a slot is a 4-byte pid, scanned only while
 * waiting. */
#define SHMRING_MAX_PEERS 1024u
#define SHMRING_WRAP 0xffffffffu   /* hdr.len of a wrap marker */
#define SHMRING_ALIGN 8u           /* record alignment (header size) */

/*
 * A record header is one 64-bit word, stored and loaded atomically:
 * bits 0-31 the payload length (or SHMRING_WRAP), bits 32-63 a check word
 * tying the length to the index the header sits at, so stale or random
 * bytes are recognised as corrupt.
 */
#define SHMRING_CHK_SALT 0x5a17c0deu

static inline uint32_t shmring_chk(uint32_t len, uint64_t index)
{
	return len ^ (uint32_t)(index >> 3) ^ SHMRING_CHK_SALT;
}

static inline uint64_t shmring_hdr(uint32_t len, uint64_t index)
{
	return (uint64_t)len | (uint64_t)shmring_chk(len, index) << 32;
}

enum { SHMRING_SIDE_SEND = 0, SHMRING_SIDE_RECV = 1 };

struct shmring_ctl {
	/* Written once by create; informational (never trusted). */
	alignas(IPC_CACHELINE) uint64_t magic;
	uint32_t version;
	uint32_t mpmc;          /* 0: SPSC, 1: MPMC */
	uint64_t data_size;     /* bytes in the data area, power of two */
	uint64_t max_msg;

	/* Producer side. */
	alignas(IPC_CACHELINE) _Atomic uint64_t prod_head; /* MPMC reservations */
	_Atomic uint64_t prod_tail;                        /* published up to */

	/* Consumer side. */
	alignas(IPC_CACHELINE) _Atomic uint64_t cons_head; /* MPMC claims */
	_Atomic uint64_t cons_tail;                        /* freed up to */

	/* Futex words: consumers sleep on data_seq, producers on space_seq.
	 * A sleeper raises its side's armed flag before its last re-check; a
	 * side that moved its index takes the other's flag down (exchange)
	 * and, only if it was up, bumps the seq and calls FUTEX_WAKE.  Wakes
	 * of a streaming sender are coalesced (shmring.c, SHMRING_WAKE_BATCH). */
	alignas(IPC_CACHELINE) _Atomic uint32_t data_seq;
	_Atomic uint32_t data_armed;
	alignas(IPC_CACHELINE) _Atomic uint32_t space_seq;
	_Atomic uint32_t space_armed;

	/* Who is attached: pids per side (0: free slot), and how many
	 * attaches each side has seen (peer death is only declared once all
	 * expected peers of a side have attached). */
	alignas(IPC_CACHELINE) _Atomic uint32_t attached_ever[2];
	_Atomic int32_t pids[2][SHMRING_MAX_PEERS];
};

/* Where the data area starts, from the base of the mapping. */
#define SHMRING_DATA_OFFSET \
	((sizeof(struct shmring_ctl) + 4095u) & ~(size_t)4095u)

/*
 * The whole shared mapping of a channel returned by create: base and length
 * (control area + data area).  0, or -EINVAL when chan is NULL or was
 * forgotten (unmapped).
 */
int shmring_debug_area(void *chan, void **base, size_t *len);

#endif
