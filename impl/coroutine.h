/* coroutine.h - stackful coroutines of one thread, with a context switch
 * of our own (glibc's swapcontext makes an rt_sigprocmask system call on
 * every switch; ours saves the callee-saved registers and the stack
 * pointer, nothing else).  A scheduler runs the coroutines of its thread
 * round-robin; a coroutine runs until it yields or waits.  When every
 * coroutine waits, the thread sleeps in futex(2) on one of their words, a
 * short slice at a time, so an idle pool costs no CPU.  glibc's ucontext
 * switch can be chosen instead (coro_set_switch), to measure beside ours.
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

/* The context switch a scheduler uses.  CORO_SWITCH_OWN saves the
 * callee-saved registers and the stack pointer (x86-64; elsewhere it is
 * ucontext); CORO_SWITCH_UCONTEXT is glibc's swapcontext, which also saves
 * and restores the signal mask with an rt_sigprocmask system call on every
 * switch (and the floating-point environment). */
enum coro_switch {
	CORO_SWITCH_OWN = 0,
	CORO_SWITCH_UCONTEXT,
	CORO_SWITCH_COUNT
};
/* "own" or "ucontext". */
const char *coro_switch_name(enum coro_switch sw);
/* What the switch does, one line (for labels and context). */
const char *coro_switch_summary(enum coro_switch sw);
/* Choose the switch of this thread's scheduler: before its first
 * coro_spawn().  0, -EBUSY (a scheduler already has coroutines) or
 * -EINVAL. */
int coro_set_switch(enum coro_switch sw);

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
