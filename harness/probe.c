/* probe.c - the cache-line and wake-up probes of probe.h. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "probe.h"

#define CACHELINE 64
/* A probe whose peer has not answered one trip for this long gives up (a
 * stall limit, set again on every answer: on a crowded machine a trip waits
 * for both threads to be on a CPU at once, and many trips in a row can). */
#define PROBE_TIMEOUT_NS 1000000000ull
/* Spins between two looks at the clock (and a yield: on one CPU the peer
 * must get to run). */
#define SPIN_CHECK 4096u

struct line {
	_Alignas(CACHELINE) atomic_uint_fast64_t v;
	char pad[CACHELINE - sizeof(atomic_uint_fast64_t)];
};

struct probe {
	int cpu_a, cpu_b;
	unsigned trips;
	unsigned taken;        /* samples the timing thread took */
	uint64_t *samples;
	int rc;                /* of the timing thread */
	bool wake;             /* pipe probe, else cache line */
	struct line line;      /* cache line: odd = a's turn done, even = b's */
	atomic_bool stop;
	int ab[2], ba[2];      /* pipes a->b, b->a */
};

static int pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return -pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

/* Wait until the line holds want; false after the timeout or a stop. */
static bool wait_line(struct probe *p, uint64_t want, uint64_t deadline)
{
	for (unsigned k = 1;; k++) {
		if (atomic_load_explicit(&p->line.v, memory_order_acquire) == want)
			return true;
		if (k % SPIN_CHECK == 0) {
			if (atomic_load_explicit(&p->stop, memory_order_relaxed) || clk_now_ns() > deadline)
				return false;
			sched_yield();
		}
	}
}

static void *echo_thread(void *arg)
{
	struct probe *p = arg;
	uint64_t deadline = clk_now_ns() + PROBE_TIMEOUT_NS;
	char c;

	pin(p->cpu_b); /* unpinned if refused: still answers */
	for (uint64_t k = 0; k < p->trips; k++) {
		if (p->wake) {
			if (read(p->ab[0], &c, 1) != 1 || write(p->ba[1], &c, 1) != 1)
				return NULL;
		} else {
			if (!wait_line(p, 2 * k + 1, deadline))
				return NULL;
			atomic_store_explicit(&p->line.v, 2 * k + 2, memory_order_release);
			deadline = clk_now_ns() + PROBE_TIMEOUT_NS;
		}
	}
	return NULL;
}

static void *time_thread(void *arg)
{
	struct probe *p = arg;
	uint64_t budget_end = clk_now_ns() + PROBE_BUDGET_NS;
	char c = 'x';

	p->rc = pin(p->cpu_a);
	if (p->rc < 0)
		return NULL;
	for (uint64_t k = 0; k < p->trips; k++) {
		uint64_t t0 = clk_now_ns();

		if (p->wake) {
			if (write(p->ab[1], &c, 1) != 1 || read(p->ba[0], &c, 1) != 1) {
				p->rc = -EIO;
				return NULL;
			}
		} else {
			atomic_store_explicit(&p->line.v, 2 * k + 1, memory_order_release);
			if (!wait_line(p, 2 * k + 2, t0 + PROBE_TIMEOUT_NS)) {
				p->rc = -ETIMEDOUT;
				return NULL;
			}
		}
		p->samples[k] = clk_now_ns() - t0;
		p->taken = (unsigned)k + 1;
		/* Past the budget, stop once enough samples follow the warm-up
		 * (the first tenth of what was taken): the sentinel costs about
		 * the same on a busy machine, and still measures there. */
		if (p->samples[k] + t0 > budget_end && p->taken - p->taken / 10 >= PROBE_MIN_SAMPLES)
			break;
	}
	return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int run(struct probe *p, uint64_t *p50_ns)
{
	pthread_t ta, tb;
	sigset_t block, old;
	unsigned warm;
	int rc;

	if (p->trips < 2)
		return -EINVAL;
	p->samples = calloc(p->trips, sizeof(*p->samples));
	if (!p->samples)
		return -ENOMEM;
	/* The signals stay with the caller's thread. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = -pthread_create(&tb, NULL, echo_thread, p);
	if (rc == 0) {
		rc = -pthread_create(&ta, NULL, time_thread, p);
		if (rc == 0)
			pthread_join(ta, NULL);
		else
			p->rc = rc;
		/* Whatever became of the timing thread, the echo ends. */
		atomic_store(&p->stop, true);
		if (p->wake) {
			close(p->ab[1]); /* read() returns 0 */
			p->ab[1] = -1;
		}
		pthread_join(tb, NULL);
		rc = p->rc;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	warm = p->taken / 10;
	if (rc == 0 && p->taken - warm >= PROBE_MIN_SAMPLES) {
		qsort(p->samples + warm, p->taken - warm, sizeof(uint64_t), cmp_u64);
		*p50_ns = p->samples[warm + (p->taken - warm) / 2];
	} else if (rc == 0)
		rc = -ENODATA;
	free(p->samples);
	return rc;
}

int probe_cacheline(int cpu_a, int cpu_b, unsigned trips, uint64_t *p50_ns)
{
	struct probe *p = aligned_alloc(CACHELINE, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->cpu_a = cpu_a;
	p->cpu_b = cpu_b;
	p->trips = trips;
	atomic_init(&p->line.v, 0);
	atomic_init(&p->stop, false);
	rc = run(p, p50_ns);
	free(p);
	return rc;
}

int probe_wake(int cpu_a, int cpu_b, unsigned trips, uint64_t *p50_ns)
{
	struct probe *p = aligned_alloc(CACHELINE, sizeof(*p));
	int rc;

	if (!p)
		return -ENOMEM;
	memset(p, 0, sizeof(*p));
	p->cpu_a = cpu_a;
	p->cpu_b = cpu_b;
	p->trips = trips;
	p->wake = true;
	atomic_init(&p->stop, false);
	if (pipe2(p->ab, O_CLOEXEC) < 0) {
		free(p);
		return -errno;
	}
	if (pipe2(p->ba, O_CLOEXEC) < 0) {
		rc = -errno;
		close(p->ab[0]);
		close(p->ab[1]);
		free(p);
		return rc;
	}
	rc = run(p, p50_ns);
	close(p->ab[0]);
	if (p->ab[1] >= 0)
		close(p->ab[1]);
	close(p->ba[0]);
	close(p->ba[1]);
	free(p);
	return rc;
}
