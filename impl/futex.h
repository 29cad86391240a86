/*
 * futex.h - tiny wrappers over futex(2) WAIT and WAKE.
 *
 * Shared (not FUTEX_PRIVATE_FLAG) on purpose: the futex word lives in memory
 * shared by several processes, and a private futex is keyed by the address
 * space, so a wake from another process would never find the sleeper.
 */
#ifndef IPCLAB_FUTEX_H
#define IPCLAB_FUTEX_H

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * Sleep while *word == expected, at most timeout_ns (0: no limit).
 * 0 when woken (possibly spuriously), -EAGAIN when *word != expected already,
 * -ETIMEDOUT, -EINTR; the caller re-checks its condition in every case.
 */
static inline int futex_wait(_Atomic uint32_t *word, uint32_t expected, uint64_t timeout_ns)
{
	struct timespec ts, *tp = NULL;

	if (timeout_ns) {
		ts.tv_sec = (time_t)(timeout_ns / 1000000000u);
		ts.tv_nsec = (long)(timeout_ns % 1000000000u);
		tp = &ts;
	}
	if (syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT, expected, tp, NULL, 0) == 0)
		return 0;
	return -errno;
}

/* Wake up to n sleepers on word (INT_MAX: all).  Number woken or -errno. */
static inline int futex_wake(_Atomic uint32_t *word, int n)
{
	long r = syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE, n, NULL, NULL, 0);

	return r < 0 ? -errno : (int)r;
}

#endif
