/* coroutine.c - the coroutine scheduler of coroutine.h and its context
 * switches: our own (x86-64: callee-saved registers and the stack pointer;
 * other machines: ucontext) and glibc's ucontext (swapcontext, which also
 * switches the signal mask with a system call), chosen per scheduler. */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "coroutine.h"
#include "futex.h"

/* When every coroutine waits, the thread sleeps at most this long before
 * it looks at every waiter's word and deadline again. */
#define CORO_SLEEP_SLICE_NS 1000000u

/* A coroutine's (or the scheduler's) saved context, for either switch. */
struct coro_ctx {
	void *sp;      /* our own switch */
	ucontext_t uc; /* the ucontext switch */
};

#if defined(__x86_64__)
#define CORO_HAVE_OWN_SWITCH 1

/* coro_switch(from, to): save the callee-saved registers on the current
 * stack and its pointer in from->sp, load to->sp and return into it. */
void coro_switch(struct coro_ctx *from, struct coro_ctx *to);
void coro_trampoline(void);
__asm__(".text\n"
	".globl coro_switch\n"
	".type coro_switch,@function\n"
	"coro_switch:\n"
	"	pushq %rbp\n"
	"	pushq %rbx\n"
	"	pushq %r12\n"
	"	pushq %r13\n"
	"	pushq %r14\n"
	"	pushq %r15\n"
	"	movq %rsp, (%rdi)\n"
	"	movq (%rsi), %rsp\n"
	"	popq %r15\n"
	"	popq %r14\n"
	"	popq %r13\n"
	"	popq %r12\n"
	"	popq %rbx\n"
	"	popq %rbp\n"
	"	ret\n"
	".size coro_switch, .-coro_switch\n"
	".globl coro_trampoline\n"
	".type coro_trampoline,@function\n"
	"coro_trampoline:\n"
	"	call coro_entry\n"
	"	ud2\n"
	".size coro_trampoline, .-coro_trampoline\n");
#else
#define CORO_HAVE_OWN_SWITCH 0
#endif


struct coro {
	struct coro_ctx ctx;
	void (*fn)(void *);
	void *arg;
	void *stack;            /* the mapping, guard page included */
	size_t stack_len;
	bool done;
	const _Atomic uint32_t *wait_word; /* NULL: runnable */
	uint32_t wait_val;
	bool wait_equal;
	uint64_t wait_deadline;
	bool timed_out;         /* the scheduler woke it at its deadline */
};

/* The scheduler of this thread (a coroutine set belongs to one thread). */
struct coro_sched {
	bool uc;               /* switch with swapcontext */
	struct coro_ctx main;
	struct coro *all[CORO_MAX];
	unsigned n;
	struct coro *cur;
	bool running;
};
static __thread struct coro_sched *sched_of_thread;
/* The switch the thread's next scheduler gets (coro_set_switch). */
static __thread enum coro_switch switch_of_thread;

static const char *const switch_names[CORO_SWITCH_COUNT] = {
	[CORO_SWITCH_OWN] = "own",
	[CORO_SWITCH_UCONTEXT] = "ucontext",
};

const char *coro_switch_name(enum coro_switch sw)
{
	return (unsigned)sw < CORO_SWITCH_COUNT ? switch_names[sw] : "?";
}

const char *coro_switch_summary(enum coro_switch sw)
{
	if (sw == CORO_SWITCH_UCONTEXT)
		return "glibc swapcontext (saves the signal mask: an rt_sigprocmask system call per switch)";
	return CORO_HAVE_OWN_SWITCH ? "own (callee-saved registers and stack pointer, no system call)"
				    : "own is ucontext on this machine (no switch of our own for it)";
}

int coro_set_switch(enum coro_switch sw)
{
	if ((unsigned)sw >= CORO_SWITCH_COUNT)
		return -EINVAL;
	if (sched_of_thread && sched_of_thread->n)
		return -EBUSY;
	switch_of_thread = sw;
	if (sched_of_thread)
		sched_of_thread->uc = !CORO_HAVE_OWN_SWITCH || sw == CORO_SWITCH_UCONTEXT;
	return 0;
}

/* Save the running context in from, continue in to. */
static void ctx_switch(const struct coro_sched *s, struct coro_ctx *from, struct coro_ctx *to)
{
#if CORO_HAVE_OWN_SWITCH
	if (!s->uc) {
		coro_switch(from, to);
		return;
	}
#endif
	(void)s;
	swapcontext(&from->uc, &to->uc);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void coro_entry(void);
void coro_entry(void)
{
	struct coro_sched *s = sched_of_thread;
	struct coro *c = s->cur;

	c->fn(c->arg);
	c->done = true;
	ctx_switch(s, &c->ctx, &s->main); /* never comes back */
	abort();
}

static void uc_entry(void)
{
	coro_entry();
}

/* A ucontext coroutine starts in uc_entry on its own stack (getcontext
 * returns twice: in a function of its own, so that no caller's variable
 * lives across it).  0 or -1 (errno). */
static __attribute__((noinline)) int uc_init(struct coro *const c, const size_t guard)
{
	if (getcontext(&c->ctx.uc) < 0)
		return -1;
	c->ctx.uc.uc_stack.ss_sp = (char *)c->stack + guard;
	c->ctx.uc.uc_stack.ss_size = CORO_STACK_BYTES;
	c->ctx.uc.uc_link = NULL;
	makecontext(&c->ctx.uc, uc_entry, 0);
	return 0;
}

int coro_spawn(void (*fn)(void *), void *arg)
{
	struct coro_sched *s = sched_of_thread;
	long page = sysconf(_SC_PAGESIZE);
	struct coro *c;

	if (!s) {
		if (!(s = calloc(1, sizeof(*s))))
			return -ENOMEM;
		s->uc = !CORO_HAVE_OWN_SWITCH || switch_of_thread == CORO_SWITCH_UCONTEXT;
		sched_of_thread = s;
	}
	if (s->n == CORO_MAX)
		return -EAGAIN;
	if (!(c = calloc(1, sizeof(*c))))
		return -ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->stack_len = CORO_STACK_BYTES + (size_t)page;
	c->stack = mmap(NULL, c->stack_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (c->stack == MAP_FAILED) {
		free(c);
		return -ENOMEM;
	}
	mprotect(c->stack, (size_t)page, PROT_NONE); /* an overflow faults */
#if CORO_HAVE_OWN_SWITCH
	if (!s->uc) {
		/* After coro_switch's six pops and its ret into the trampoline,
		 * the stack pointer is 16-byte aligned (the ABI at a call). */
		uintptr_t top = ((uintptr_t)c->stack + c->stack_len - 16) & ~(uintptr_t)15;
		void **sp = (void **)top;

		*--sp = (void *)coro_trampoline;
		for (int i = 0; i < 6; i++)
			*--sp = NULL;
		c->ctx.sp = sp;
		s->all[s->n++] = c;
		return 0;
	}
#endif
	if (uc_init(c, (size_t)page) < 0) {
		int e = errno;

		munmap(c->stack, c->stack_len);
		free(c);
		return -e;
	}
	s->all[s->n++] = c;
	return 0;
}

bool coro_active(void)
{
	return sched_of_thread && sched_of_thread->running && sched_of_thread->cur;
}

static void to_scheduler(struct coro_sched *s)
{
	ctx_switch(s, &s->cur->ctx, &s->main);
}

void coro_yield(void)
{
	if (!coro_active()) {
		sched_yield();
		return;
	}
	to_scheduler(sched_of_thread);
}

static bool wait_met(const struct coro *c)
{
	return (atomic_load(c->wait_word) == c->wait_val) == c->wait_equal;
}

int coro_wait_until(const _Atomic uint32_t *word, uint32_t val, bool equal, uint64_t deadline_ns)
{
	if (!coro_active()) {
		while ((atomic_load(word) == val) != equal) {
			if (deadline_ns && now_ns() >= deadline_ns)
				return -ETIMEDOUT;
			sched_yield();
		}
		return 0;
	}
	struct coro *c = sched_of_thread->cur;

	/* No clock read here: the scheduler looks at deadlines only when
	 * every coroutine waits, and says so in timed_out. */
	while ((atomic_load(word) == val) != equal) {
		c->wait_word = word;
		c->wait_val = val;
		c->wait_equal = equal;
		c->wait_deadline = deadline_ns;
		c->timed_out = false;
		to_scheduler(sched_of_thread);
		if (c->timed_out) {
			c->wait_word = NULL;
			return -ETIMEDOUT;
		}
	}
	c->wait_word = NULL;
	return 0;
}

/* Every coroutine waits: wake those past their deadline (true if any). */
static bool expire(struct coro_sched *s)
{
	uint64_t now = now_ns();
	bool any = false;

	for (unsigned i = 0; i < s->n; i++) {
		struct coro *c = s->all[i];

		if (!c->done && c->wait_word && c->wait_deadline && now >= c->wait_deadline) {
			c->timed_out = true;
			c->wait_word = NULL;
			any = true;
		}
	}
	return any;
}

void coro_run(void)
{
	struct coro_sched *s = sched_of_thread;

	if (!s)
		return;
	s->running = true;
	for (;;) {
		unsigned live = 0, ran = 0;
		const struct coro *sleeper = NULL;

		for (unsigned i = 0; i < s->n; i++) {
			struct coro *c = s->all[i];

			if (c->done)
				continue;
			live++;
			if (c->wait_word && !wait_met(c)) {
				sleeper = sleeper ? sleeper : c;
				continue;
			}
			s->cur = c;
			ran++;
			ctx_switch(s, &s->main, &c->ctx);
			s->cur = NULL;
		}
		if (!live)
			break;
		if (!ran && sleeper && !expire(s)) { /* everyone waits: sleep on one word */
			uint32_t v = atomic_load(sleeper->wait_word);

			if ((v == sleeper->wait_val) != sleeper->wait_equal)
				futex_wait((_Atomic uint32_t *)sleeper->wait_word, v, CORO_SLEEP_SLICE_NS);
		}
	}
	s->running = false;
	for (unsigned i = 0; i < s->n; i++) {
		munmap(s->all[i]->stack, s->all[i]->stack_len);
		free(s->all[i]);
	}
	free(s);
	sched_of_thread = NULL;
}
