/* coroutine.h - stackful coroutines of one thread, with a context switch
 * of our own (glibc's swapcontext makes an rt_sigprocmask system call on
 * every switch; ours saves the callee-saved registers and the stack
 * pointer, nothing else).  A scheduler runs the coroutines of its thread
 * round-robin; a coroutine runs until it yields or waits.  When every
 * coroutine waits, the thread sleeps in futex(2) on one of their words, a
 * short slice at a time, so an idle pool costs no CPU.
 *
 * Outside a running scheduler every call still works: coro_yield() is
 * sched_yield(), and coro_wait_until() spins with sched_yield().
 */
#ifndef IPCLAB_COROUTINE_H
#define IPCLAB_COROUTINE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CORO_MAX 1024
#define CORO_STACK_BYTES (1024u * 1024u) /* mapped lazily, one guard page below */

/* Add fn(arg) to this thread's scheduler (before or during coro_run()).
 * 0, -EAGAIN (CORO_MAX reached) or -ENOMEM. */
int coro_spawn(void (*fn)(void *), void *arg);
/* Run every coroutine until all have returned; then free them. */
void coro_run(void);
/* Is the caller a coroutine of a running scheduler? */
bool coro_active(void);
/* Let the other coroutines run (outside one: sched_yield()). */
void coro_yield(void);
/* Wait until (*word == val) == equal, or until deadline_ns on the
 * CLOCK_MONOTONIC clock (0: none).  0 or -ETIMEDOUT. */
int coro_wait_until(const _Atomic uint32_t *word, uint32_t val, bool equal, uint64_t deadline_ns);

#endif
