/*
 * atomics.h - the only place with memory-ordering helpers.
 *
 * Shared-memory code (shmring) uses these and nothing else, so every
 * acquire/release pairing can be read in one place and audited.  They are
 * thin macros over C11 <stdatomic.h>; they work on any _Atomic object.
 *
 * Pairing used by the ring:
 *   a writer fills the data, then ipc_store_release()s the index;
 *   a reader ipc_load_acquire()s the index, then reads the data.
 * A sleeper/waker pair (futex) needs a full fence on both sides (Dekker):
 *   waker: publish; ipc_fence_full(); read the sleepers' flag
 *   sleeper: raise the flag (seq_cst RMW); re-check; futex_wait.
 */
#ifndef IPCLAB_ATOMICS_H
#define IPCLAB_ATOMICS_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * One cache line on every x86-64 and most arm64 parts we run on.  Shared
 * indices written by different sides live on different lines of this size
 * so that a store by one side does not invalidate the other side's line
 * (false sharing).
 */
#define IPC_CACHELINE 64

#define ipc_load_acquire(p)	atomic_load_explicit((p), memory_order_acquire)
#define ipc_load_relaxed(p)	atomic_load_explicit((p), memory_order_relaxed)
#define ipc_store_release(p, v)	atomic_store_explicit((p), (v), memory_order_release)
#define ipc_store_relaxed(p, v)	atomic_store_explicit((p), (v), memory_order_relaxed)

/* Compare-and-swap, strong, acq_rel on success, acquire on failure: on
 * failure *expected holds the value seen. */
#define ipc_cas(p, expected, desired)					\
	atomic_compare_exchange_strong_explicit((p), (expected), (desired),	\
		memory_order_acq_rel, memory_order_acquire)

#define ipc_fetch_add(p, v)	atomic_fetch_add_explicit((p), (v), memory_order_seq_cst)
#define ipc_fetch_sub(p, v)	atomic_fetch_sub_explicit((p), (v), memory_order_seq_cst)
/* Swap in v, return the old value (seq_cst: also a full barrier). */
#define ipc_exchange(p, v)	atomic_exchange_explicit((p), (v), memory_order_seq_cst)

/*
 * GCC refuses atomic_thread_fence under -fsanitize=thread (-Werror=tsan:
 * TSan does not model fences).  There the fences become compiler barriers
 * plus, on x86, mfence, so the TSan build still compiles and runs; TSan
 * itself cannot see them, so it may report the fence-ordered pairs.
 */
#if defined(__SANITIZE_THREAD__)
#define IPC_NO_C11_FENCE 1
#else
#define IPC_NO_C11_FENCE 0
#endif

/* Full barrier (store-load ordering): the waker/sleeper handshake. */
static inline void ipc_fence_full(void)
{
#if IPC_NO_C11_FENCE && (defined(__x86_64__) || defined(__i386__))
	__asm__ __volatile__("mfence" ::: "memory");
#elif IPC_NO_C11_FENCE
	__sync_synchronize();
#else
	atomic_thread_fence(memory_order_seq_cst);
#endif
}

/* Order earlier loads before later loads (seqlock-style re-check). */
static inline void ipc_fence_acquire(void)
{
#if IPC_NO_C11_FENCE
	__asm__ __volatile__("" ::: "memory"); /* x86 keeps load order */
#else
	atomic_thread_fence(memory_order_acquire);
#endif
}

/* Tell the CPU we are in a spin-wait loop: on x86 the pause instruction
 * (saves power, frees the sibling hyper-thread, avoids the memory-order
 * machine clear when the awaited line changes). */
static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	atomic_signal_fence(memory_order_seq_cst);
#endif
}

#endif
