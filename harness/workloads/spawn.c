/* spawn.c - what a worker costs to start and to stop: Process.start(),
 * join() and terminate() in C.  Each way of starting a child is a subject
 * of the family "spawn" (fork, vfork, posix-spawn, fork-exec, clone-vfork,
 * pthread); the spawner first touches rss:BYTES of private memory (the
 * parent's size, which fork copies the page tables of; transparent huge
 * pages as the machine has them, named in the label).
 *
 * One iteration starts one child and reaps it.  Samples: the latency
 * histogram holds start to reaped (fork .. waitpid, or pthread_create ..
 * join) of children that leave at once; first_p50_ns is start to the
 * child's first statement (a CLOCK_MONOTONIC stamp it writes into a shared
 * page); terminate_p50_ns is kill(SIGTERM) to reaped for a child that is
 * running (every fourth iteration also starts one, outside the round's
 * elapsed time, in the rows where a running child can exist beside its
 * parent: not vfork and clone-vfork, whose parent is suspended until the
 * child leaves, nor pthread, which has no terminate).  A child that dies any other way, or never writes its stamp,
 * fails the case; no child outlives its spawner (PR_SET_PDEATHSIG).
 *
 * Why this file is long: six ways to start a child (each a subject of the
 * family this file defines) and the three samples each child gives. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "spawn_stamp.h"
#include "workload.h"

extern char **environ;

/* The clone-vfork child's stack (it only writes its stamp). */
#define CLONE_STACK_BYTES (64u * 1024u)
/* Bytes between the pages the spawner touches (one write per 4 KiB page). */
#define TOUCH_STRIDE 4096u
#define MIB (1024ull * 1024ull)
/* One child in this many iterations is also started to be terminated. */
#define TERMINATE_EVERY 4

struct spawner;

/* One way to start a child: a subject of the spawn family. */
struct spawn_method {
	const char *name;
	const char *summary;
	/* Why a running child cannot be terminated in this row (NULL: it can). */
	const char *no_terminate;
	bool execs; /* starts the helper program */
	/* Start a child that writes its stamp and leaves (wait false) or
	 * waits for SIGTERM (wait true).  0 or -errno. */
	int (*start)(struct spawner *sp, bool wait, pid_t *pid);
};

/* What the workers report beside their slot (shared memory). */
struct spawn_out {
	struct hist first, term;
	uint64_t rss_bytes; /* the spawner's resident set after touching */
};

struct spawn_shared {
	char helper[PATH_MAX]; /* the helper's path; "" when no row needs it */
	size_t len;            /* of this mapping */
	struct spawn_out out[];
};

/* A spawner's own state (w->priv). */
struct spawner {
	const struct spawn_method *m;
	int memfd;
	struct spawn_stamp *stamp;
	void *rss;
	size_t rss_len;
	void *stack;
	pid_t self;
	pthread_t tid;
	char fdarg[16], pidarg[24];
	char *argv_exit[5], *argv_wait[5];
};

static void stamp_now(struct spawn_stamp *st)
{
	__atomic_store_n(&st->first_ns, clk_now_ns(), __ATOMIC_RELEASE);
}

/* A forked child that is to be terminated: take SIGTERM back (the pool
 * ignores it), die with the spawner, say so, wait. */
static void __attribute__((noreturn)) child_wait(struct spawner *sp)
{
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sp->self)
		_exit(0);
	__atomic_store_n(&sp->stamp->ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
}

static int start_fork(struct spawner *sp, bool wait, pid_t *pid)
{
	pid_t p = fork();

	if (p < 0)
		return -errno;
	if (p == 0) {
		stamp_now(sp->stamp);
		if (wait)
			child_wait(sp);
		_exit(0);
	}
	*pid = p;
	return 0;
}

static int start_vfork(struct spawner *sp, bool wait, pid_t *pid)
{
	pid_t p;

	(void)wait; /* never: the parent is suspended until the child leaves */
	p = vfork();
	if (p < 0)
		return -errno;
	if (p == 0) {
		stamp_now(sp->stamp); /* a store to the shared page, then leave */
		_exit(0);
	}
	*pid = p;
	return 0;
}

static int clone_child(void *arg)
{
	stamp_now(((struct spawner *)arg)->stamp);
	return 0;
}

static int start_clone_vfork(struct spawner *sp, bool wait, pid_t *pid)
{
	pid_t p;

	(void)wait;
	p = clone(clone_child, (char *)sp->stack + CLONE_STACK_BYTES, CLONE_VM | CLONE_VFORK | SIGCHLD, sp);
	if (p < 0)
		return -errno;
	*pid = p;
	return 0;
}

static int start_posix_spawn(struct spawner *sp, bool wait, pid_t *pid)
{
	return -posix_spawn(pid, sp->argv_exit[0], NULL, NULL, wait ? sp->argv_wait : sp->argv_exit, environ);
}

static int start_fork_exec(struct spawner *sp, bool wait, pid_t *pid)
{
	pid_t p = fork();

	if (p < 0)
		return -errno;
	if (p == 0) {
		execve(sp->argv_exit[0], wait ? sp->argv_wait : sp->argv_exit, environ);
		_exit(127);
	}
	*pid = p;
	return 0;
}

static void *thread_child(void *arg)
{
	stamp_now(((struct spawner *)arg)->stamp);
	return NULL;
}

static int start_pthread(struct spawner *sp, bool wait, pid_t *pid)
{
	(void)wait;
	*pid = 0;
	return -pthread_create(&sp->tid, NULL, thread_child, sp);
}

static const struct spawn_method methods[] = {
	{ "fork", "fork() + _exit() + waitpid(): copies the parent's page tables", NULL, false, start_fork },
	{ "vfork", "vfork() + _exit() + waitpid(): the parent waits, nothing copied",
	  "the parent is suspended until a vfork child leaves", false, start_vfork },
	{ "posix-spawn", "posix_spawn() of a tiny static program (glibc: clone(CLONE_VM|CLONE_VFORK) + exec)",
	  NULL, true, start_posix_spawn },
	{ "fork-exec", "fork() + execve() of the same tiny static program", NULL, true, start_fork_exec },
	{ "clone-vfork", "clone(CLONE_VM|CLONE_VFORK) of a function on a small stack",
	  "the parent is suspended until a CLONE_VFORK child leaves", false, start_clone_vfork },
	{ "pthread", "pthread_create() + pthread_join() (a thread, not a process)",
	  "a thread cannot be terminated from outside", false, start_pthread },
};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

static const void *spawn_member(unsigned i)
{
	return i < NMETHODS ? &methods[i] : NULL;
}

static const char *spawn_member_name(const void *t)
{
	return ((const struct spawn_method *)t)->name;
}

static const char *spawn_member_summary(const void *t)
{
	return ((const struct spawn_method *)t)->summary;
}

static unsigned spawn_member_waits(const void *t)
{
	(void)t;
	return IPC_WAIT_BIT(IPC_WAIT_BLOCK); /* waitpid and join block */
}

/* The ways to start a worker (workload spawn). */
const struct family family_spawn = {
	.name = "spawn",
	.summary = "ways to start a worker: fork, vfork, posix_spawn, fork + exec, clone, pthread_create",
	.member = spawn_member,
	.member_name = spawn_member_name,
	.member_summary = spawn_member_summary,
	.member_waits = spawn_member_waits,
};

/* The axis rss:BYTES (workload spawn's axes[0]).  Quick: 64 MiB is enough
 * to see fork grow with the page tables it copies while posix_spawn stays
 * flat; 256 MiB cost 30 of the subset's 52 s (touching the pages again
 * each repetition), 64 MiB a quarter of that.  The full profile has
 * every quick value (--describe lists the full profile's). */
static const uint64_t rss_quick[] = { 0, 64 * MIB, WL_AXIS_END };
static const uint64_t rss_full[] = { 0, 16 * MIB, 64 * MIB, 256 * MIB, 1024 * MIB, WL_AXIS_END };
static const struct wl_axis rss_axis = {
	.key = "rss",
	.meaning = "bytes of private memory the spawner touches before it starts children",
	.def = 0,
	.max = 64 * 1024 * MIB,
	.bytes = true,
	.quick = rss_quick,
	.full = rss_full,
};
static const struct wl_axis *const spawn_axes[] = { &rss_axis, NULL };

static unsigned spawn_procs(unsigned pool)
{
	(void)pool;
	return 1;
}

static uint64_t spawn_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n; /* children started and reaped */
}

/* The helper next to the running program, or in its parent folder (the
 * test programs live in build/tests/).  0 or -ENOENT. */
static int find_helper(char *out, size_t len)
{
	char exe[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0)
		return -ENOENT;
	exe[n] = '\0';
	for (int up = 0; up < 2; up++) {
		if (!(slash = strrchr(exe, '/')))
			return -ENOENT;
		*slash = '\0';
		if ((size_t)snprintf(out, len, "%s/%s", exe, SPAWN_HELPER_NAME) < len && access(out, X_OK) == 0)
			return 0;
	}
	return -ENOENT;
}

/* The machine's transparent huge page mode: the bracketed word. */
static void thp_mode(char *buf, size_t len)
{
	char line[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
	char *a, *b;

	snprintf(buf, len, "unknown");
	if (!f)
		return;
	if (fgets(line, sizeof(line), f) && (a = strchr(line, '[')) && (b = strchr(a, ']'))) {
		*b = '\0';
		snprintf(buf, len, "%s", a + 1);
	}
	fclose(f);
}

static int spawn_prepare(struct case_run *r, char *why)
{
	const struct spawn_method *m = r->spec.subject.table;
	struct spawn_shared *sh;
	size_t len = sizeof(*sh) + r->nprocs * sizeof(sh->out[0]);
	char thp[32];

	if (r->spec.wait != IPC_WAIT_BLOCK)
		return case_why(why, -ENOTSUP, "%s waits in waitpid or join: block only", m->name);
#ifdef __SANITIZE_ADDRESS__
	/* A vfork child runs on its parent's stack, here a coroutine's own
	 * stack that AddressSanitizer was never told about (no fiber
	 * annotations): the child smashed it (t_scenario under ASan). */
	if (m->start == start_vfork && pool_backend_is_coroutine(r->spec.workers))
		return case_why(why, -ENOTSUP, "vfork from a coroutine's stack is not supported in an AddressSanitizer build");
#endif
	sh = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return case_why(why, -ENOMEM, "mmap of the spawn results: %s", strerror(errno));
	sh->len = len;
	r->fam = sh;
	if (m->execs && find_helper(sh->helper, sizeof(sh->helper)) < 0)
		return case_why(why, -ENOTSUP, "the helper %s is not built next to this program (make builds it)",
				SPAWN_HELPER_NAME);
	thp_mode(thp, sizeof(thp));
	snprintf(r->note, sizeof(r->note), " thp=%s%s", thp, m->no_terminate ? " terminate=n/a" : "");
	return 0;
}

static void spawn_destroy(struct case_run *r)
{
	struct spawn_shared *sh = r->fam;

	munmap(sh, sh->len);
	r->fam = NULL;
}

static bool spawn_talks(const struct case_run *r, unsigned from, unsigned to)
{
	(void)r, (void)from, (void)to;
	return false; /* the spawner talks to its own children only */
}

/* Resident bytes of this process (/proc/self/statm), 0 if unknown. */
static uint64_t resident_bytes(void)
{
	unsigned long size = 0, res = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static void spawner_free(struct spawner *sp)
{
	if (!sp)
		return;
	if (sp->stamp)
		munmap(sp->stamp, sizeof(*sp->stamp));
	if (sp->memfd >= 0)
		close(sp->memfd);
	if (sp->rss)
		munmap(sp->rss, sp->rss_len);
	if (sp->stack)
		munmap(sp->stack, CLONE_STACK_BYTES);
	free(sp);
}

static int spawn_setup(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	struct spawn_shared *sh = r->fam;
	struct spawner *sp = calloc(1, sizeof(*sp));
	const char *what;
	int rc;

	if (!sp) {
		snprintf(w->err, POOL_ERRLEN, "spawn: out of memory");
		return -ENOMEM;
	}
	sp->m = r->spec.subject.table;
	sp->self = getpid();
	/* The stamp page: a memfd, so that an executed helper maps it too
	 * (inherited across exec: no close-on-exec). */
	what = "memfd_create";
	if ((sp->memfd = memfd_create("ipclab-spawn-stamp", 0)) < 0)
		goto fail;
	what = "ftruncate of the stamp";
	if (ftruncate(sp->memfd, (off_t)sizeof(*sp->stamp)) < 0)
		goto fail;
	what = "mmap of the stamp";
	sp->stamp = mmap(NULL, sizeof(*sp->stamp), PROT_READ | PROT_WRITE, MAP_SHARED, sp->memfd, 0);
	if (sp->stamp == MAP_FAILED) {
		sp->stamp = NULL;
		goto fail;
	}
	what = "mmap of the clone stack";
	sp->stack = mmap(NULL, CLONE_STACK_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK,
			 -1, 0);
	if (sp->stack == MAP_FAILED) {
		sp->stack = NULL;
		goto fail;
	}
	snprintf(sp->fdarg, sizeof(sp->fdarg), "%d", sp->memfd);
	snprintf(sp->pidarg, sizeof(sp->pidarg), "%ld", (long)sp->self);
	sp->argv_exit[0] = sp->argv_wait[0] = sh->helper;
	sp->argv_exit[1] = sp->argv_wait[1] = sp->fdarg;
	sp->argv_exit[2] = (char *)SPAWN_HELPER_EXIT;
	sp->argv_wait[2] = (char *)SPAWN_HELPER_WAIT;
	sp->argv_exit[3] = sp->argv_wait[3] = sp->pidarg;
	/* The parent's size: private pages, each written once. */
	sp->rss_len = (size_t)r->spec.axis[0];
	if (sp->rss_len) {
		what = "mmap of the rss";
		sp->rss = mmap(NULL, sp->rss_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (sp->rss == MAP_FAILED) {
			sp->rss = NULL;
			goto fail;
		}
		for (size_t o = 0; o < sp->rss_len; o += TOUCH_STRIDE)
			((volatile char *)sp->rss)[o] = 1;
	}
	sh->out[w->id].rss_bytes = resident_bytes();
	w->priv = sp;
	return 0;
fail:
	rc = -errno;
	snprintf(w->err, POOL_ERRLEN, "spawn: %s: %s", what, strerror(errno));
	spawner_free(sp);
	return rc;
}

static void spawn_teardown(struct pool_worker *w)
{
	spawner_free(w->priv);
	w->priv = NULL;
}

/* "exited with status 3", "killed by signal 9 (Killed)". */
static void status_text(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exited with status %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st), strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "status 0x%x", (unsigned)st);
}

/* Reap the child (or join the thread).  0 or -errno; *st its status. */
static int reap(struct spawner *sp, pid_t pid, int *st)
{
	*st = 0;
	if (pid == 0)
		return -pthread_join(sp->tid, NULL);
	while (waitpid(pid, st, __WALL) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

/* Start a child that leaves at once; time start .. reaped. */
static int one_exit(struct pool_worker *w, struct spawner *sp, struct wl_slot *out, struct spawn_out *so)
{
	uint64_t t0, t1, first;
	pid_t pid = 0;
	char text[96];
	int st, rc;

	__atomic_store_n(&sp->stamp->first_ns, 0, __ATOMIC_RELAXED);
	t0 = clk_now_ns();
	if ((rc = sp->m->start(sp, false, &pid)) < 0) {
		snprintf(w->err, POOL_ERRLEN, "spawn/%s: start: %s", sp->m->name, strerror(-rc));
		return rc;
	}
	if ((rc = reap(sp, pid, &st)) < 0) {
		snprintf(w->err, POOL_ERRLEN, "spawn/%s: reap: %s", sp->m->name, strerror(-rc));
		return rc;
	}
	t1 = clk_now_ns();
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		status_text(st, text, sizeof(text));
		snprintf(w->err, POOL_ERRLEN, "spawn/%s: the child %s", sp->m->name, text);
		return -ECHILD;
	}
	first = __atomic_load_n(&sp->stamp->first_ns, __ATOMIC_ACQUIRE);
	if (first < t0) {
		snprintf(w->err, POOL_ERRLEN, "spawn/%s: the child left without writing its stamp", sp->m->name);
		return -EPROTO;
	}
	hist_record(&out->lat, t1 - t0);
	hist_record(&so->first, first - t0);
	return 0;
}

/* Start a child that waits; once it is ready, time SIGTERM .. reaped. */
static int one_terminate(struct pool_worker *w, struct spawner *sp, struct spawn_out *so)
{
	const struct case_run *r = w->arg;
	uint64_t t0, t2, t3, first, deadline;
	pid_t pid = 0;
	char text[96];
	int st, rc;

	__atomic_store_n(&sp->stamp->first_ns, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&sp->stamp->ready, 0, __ATOMIC_RELAXED);
	t0 = clk_now_ns();
	if ((rc = sp->m->start(sp, true, &pid)) < 0) {
		snprintf(w->err, POOL_ERRLEN, "spawn/%s: start: %s", sp->m->name, strerror(-rc));
		return rc;
	}
	deadline = t0 + (uint64_t)r->spec.timeout_ms * 1000000u;
	while (!__atomic_load_n(&sp->stamp->ready, __ATOMIC_ACQUIRE)) {
		pid_t done = waitpid(pid, &st, WNOHANG | __WALL);

		if (done == pid) {
			status_text(st, text, sizeof(text));
			snprintf(w->err, POOL_ERRLEN, "spawn/%s: the child %s before it was ready", sp->m->name, text);
			return -ECHILD;
		}
		if (clk_now_ns() > deadline) {
			kill(pid, SIGKILL);
			reap(sp, pid, &st);
			snprintf(w->err, POOL_ERRLEN, "spawn/%s: the child was not ready within %u ms", sp->m->name,
				 r->spec.timeout_ms);
			return -ETIMEDOUT;
		}
		sched_yield(); /* the child may share our CPU */
	}
	first = __atomic_load_n(&sp->stamp->first_ns, __ATOMIC_ACQUIRE);
	t2 = clk_now_ns();
	if (kill(pid, SIGTERM) < 0) {
		rc = -errno;
		kill(pid, SIGKILL);
		reap(sp, pid, &st);
		snprintf(w->err, POOL_ERRLEN, "spawn/%s: kill: %s", sp->m->name, strerror(-rc));
		return rc;
	}
	if ((rc = reap(sp, pid, &st)) < 0) {
		snprintf(w->err, POOL_ERRLEN, "spawn/%s: reap: %s", sp->m->name, strerror(-rc));
		return rc;
	}
	t3 = clk_now_ns();
	if (!WIFSIGNALED(st) || WTERMSIG(st) != SIGTERM) {
		status_text(st, text, sizeof(text));
		snprintf(w->err, POOL_ERRLEN, "spawn/%s: the terminated child %s, not by SIGTERM", sp->m->name, text);
		return -ECHILD;
	}
	if (first < t0) {
		snprintf(w->err, POOL_ERRLEN, "spawn/%s: the child was ready without its stamp", sp->m->name);
		return -EPROTO;
	}
	hist_record(&so->first, first - t0);
	hist_record(&so->term, t3 - t2);
	return 0;
}

static int spawn_round(struct pool_worker *w, const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct case_run *r = w->arg;
	struct spawn_out *so = &((struct spawn_shared *)r->fam)->out[w->id];
	struct spawner *sp = w->priv;
	int rc;

	hist_init(&so->first);
	hist_init(&so->term);
	for (uint64_t k = 0; k < cmd->n; k++) {
		if ((rc = one_exit(w, sp, out, so)) < 0)
			return rc;
		/* Every TERMINATE_EVERY-th iteration of a row that can have a
		 * running child also terminates one; its time is taken out of
		 * the round's elapsed time (the slot's start moves by it). */
		if (!sp->m->no_terminate && k % TERMINATE_EVERY == TERMINATE_EVERY - 1) {
			uint64_t t0 = clk_now_ns();

			if ((rc = one_terminate(w, sp, so)) < 0)
				return rc;
			out->t_start += clk_now_ns() - t0;
		}
		out->received++;
		wl_tick(out, out->received);
	}
	return 0;
}

static void spawn_counters(const struct case_run *r, struct case_round *out)
{
	const struct spawn_shared *sh = r->fam;
	const struct spawn_method *m = r->spec.subject.table;
	struct hist *first = malloc(sizeof(*first)), *term = malloc(sizeof(*term));
	double rss = 0;

	if (first && term) {
		hist_init(first);
		hist_init(term);
		for (unsigned i = 0; i < r->nprocs; i++) {
			hist_merge(first, &sh->out[i].first);
			hist_merge(term, &sh->out[i].term);
			rss += (double)sh->out[i].rss_bytes;
		}
		case_round_counter(out, "first_p50_ns", (double)hist_percentile(first, 50));
		case_round_counter(out, "first_p99_ns", (double)hist_percentile(first, 99));
		if (!m->no_terminate) {
			case_round_counter(out, "terminate_p50_ns", (double)hist_percentile(term, 50));
			case_round_counter(out, "terminate_p99_ns", (double)hist_percentile(term, 99));
		}
		case_round_counter(out, "rss_bytes", rss);
	}
	free(first);
	free(term);
}

static const struct wl_engine spawn_engine = {
	.prepare = spawn_prepare,
	.destroy = spawn_destroy,
	.talks = spawn_talks,
	.setup = spawn_setup,
	.round = spawn_round,
	.teardown = spawn_teardown,
	.counters = spawn_counters,
};

/* The quick profile's subset (make bench stays under 10 minutes). */
static const char *const quick[] = { "fork", "posix-spawn", NULL };

const struct workload wl_spawn = {
	.name = "spawn",
	.summary = "start a child and reap it (fork, vfork, posix_spawn, exec, clone, thread; axis rss:BYTES)",
	.family = &family_spawn,
	.latency = WL_LAT_OPERATION,
	.pool_axis = false,
	.procs_text = "1 (and its children)",
	.procs = spawn_procs,
	.roles = "0: touches rss bytes, then starts and reaps one child per iteration",
	.delivered = spawn_delivered,
	.sizes = WL_SIZES_FIXED,
	.fixed_size = 0,
	.engine = &spawn_engine,
	.quick_subjects = quick,
	.axes = spawn_axes,
	.tiny_round = 6, /* a fork-exec at 1 GiB costs tens of ms */
};
