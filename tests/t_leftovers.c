/*
 * t_leftovers.c - what a SIGKILLed ipclab process leaves, found and removed
 * by a later one (impl/leftovers.c, the SysV ledger of impl/names.c):
 *
 *   a SIGKILLed maker's queue, fifo directory and SysV ids are found and
 *     removed; a live maker's are not; its ledger goes with its last id
 *   a forked child keeps a ledger of its own and leaves the parent's alone
 *   names that only look like ours, and other users' objects, are never
 *     taken
 *
 * Runs in a private mount and IPC namespace where it can (conformance_util):
 * then every object it sees is its own.  Correctness only; no timing.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/prctl.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "conformance_util.h"
#include "ipc.h"
#include "leftovers.h"
#include "names.h"
#include "testutil.h"

extern const struct ipc_ops ipc_mqueue_ops;
extern const struct ipc_ops ipc_fifo_ops;
extern const struct ipc_ops ipc_sysv_msg_ops;
extern const struct ipc_ops ipc_sysv_shm_ops;

#define CHILD_ALARM_S 30
#define LIST 4096

static struct conf_env env;

/* The mechanisms whose objects outlive a SIGKILL of their maker. */
static const struct ipc_ops *const makers[] = {
	&ipc_mqueue_ops, &ipc_fifo_ops, &ipc_sysv_msg_ops, &ipc_sysv_shm_ops,
};
#define NMAKERS (sizeof(makers) / sizeof(makers[0]))

static void make_all(void *chans[NMAKERS])
{
	struct ipc_params p = { .max_msg = 64, .senders = 1, .receivers = 1,
				.wait = IPC_WAIT_BLOCK, .timeout_ms = 2000 };
	char err[IPC_ERRLEN];

	for (size_t i = 0; i < NMAKERS; i++)
		if (makers[i]->create(&p, &chans[i], err) < 0) {
			fprintf(stderr, "# %s: %s\n", makers[i]->name, err);
			_exit(1);
		}
}

/* A child that makes one channel of each and SIGKILLs itself: its pid
 * (not reaped). */
static pid_t dying_maker(void)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		void *chans[NMAKERS];

		alarm(CHILD_ALARM_S);
		make_all(chans);
		raise(SIGKILL);
		_exit(1);
	}
	return pid;
}

/* The same, reaped. */
static pid_t killed_maker(void)
{
	pid_t pid = dying_maker();
	int st;

	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	return pid;
}

/* "KIND-PID-" appears in list. */
static bool lists(const char *list, const char *kind, pid_t pid)
{
	char want[64];

	snprintf(want, sizeof(want), "ipclab-%s-%ld-", kind, (long)pid);
	return strstr(list, want) != NULL;
}

/* How many "sysv-WORD:id=" entries list holds; their ids into ids. */
static unsigned listed_ids(const char *list, const char *word, int *ids, unsigned cap)
{
	char want[32];
	const char *p = list;
	unsigned n = 0;

	snprintf(want, sizeof(want), "sysv-%s:id=", word);
	while ((p = strstr(p, want)) != NULL) {
		p += strlen(want);
		if (n < cap)
			ids[n] = atoi(p);
		n++;
	}
	return n;
}

static void test_killed_and_live(void **state)
{
	char list[LIST], again[LIST];
	int to_live[2], from_live[2], msgs[4], sems[4];
	pid_t dead, live;
	int n, st;
	char c;

	(void)state;
	assert_int_equal(pipe(to_live), 0);
	assert_int_equal(pipe(from_live), 0);
	fflush(NULL);
	live = fork();
	assert_true(live >= 0);
	if (live == 0) { /* makes its channels, waits for a byte, destroys them */
		void *chans[NMAKERS];

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		alarm(CHILD_ALARM_S);
		make_all(chans);
		if (write(from_live[1], "m", 1) != 1 || read(to_live[0], &c, 1) != 1)
			_exit(1);
		for (size_t i = 0; i < NMAKERS; i++)
			makers[i]->destroy(chans[i]);
		_exit(0);
	}
	assert_int_equal(read(from_live[0], &c, 1), 1);
	dead = killed_maker();

	list[0] = '\0';
	n = ipc_leftovers_scan(NULL, IPC_LEFT_STALE, list, sizeof(list));
	print_message("# stale: %s\n", list);
	if (env.mq_listable && strcmp(env.mqdir, "/dev/mqueue") == 0)
		assert_true(lists(list, "mq", dead));
	assert_true(lists(list, "fifo", dead));
	assert_true(lists(list, IPC_SYSV_LEDGER_KIND, dead));
	/* sysv-msg's queue; sysv-shm's semaphore set (its segment went with
	 * the last detach) */
	assert_int_equal(listed_ids(list, "msg", msgs, 4), 1);
	assert_int_equal(listed_ids(list, "sem", sems, 4), 1);
	assert_int_equal(listed_ids(list, "shm", NULL, 0), 0);
	assert_false(lists(list, "mq", live) || lists(list, "fifo", live) ||
		     lists(list, IPC_SYSV_LEDGER_KIND, live));

	/* Listing removed nothing; removing finds the same, then nothing. */
	again[0] = '\0';
	assert_int_equal(ipc_leftovers_scan(NULL, IPC_LEFT_STALE | IPC_LEFT_REMOVE, again,
					    sizeof(again)), n);
	assert_string_equal(again, list);
	again[0] = '\0';
	assert_int_equal(ipc_leftovers_scan(NULL, IPC_LEFT_STALE, again, sizeof(again)), 0);
	assert_int_equal(msgctl(msgs[0], IPC_STAT, &(struct msqid_ds){ 0 }), -1);
	assert_int_equal(semctl(sems[0], 0, IPC_STAT, &(struct semid_ds){ 0 }), -1);

	/* The live maker's objects are all there, ledger too, and its
	 * channels still work to the end: destroy takes the ledger. */
	list[0] = '\0';
	ipc_leftovers_scan(NULL, 0, list, sizeof(list));
	assert_true(lists(list, "fifo", live));
	assert_true(lists(list, IPC_SYSV_LEDGER_KIND, live));
	assert_int_equal(write(to_live[1], "d", 1), 1);
	assert_int_equal(waitpid(live, &st, 0), live);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	list[0] = '\0';
	assert_int_equal(ipc_leftovers_scan(NULL, 0, list, sizeof(list)), 0);
	for (int i = 0; i < 2; i++) {
		close(to_live[i]);
		close(from_live[i]);
	}
}

/* A maker killed but not reaped yet (a zombie, as an MPI rank is until
 * mpirun waits for it) is gone too. */
static void test_zombie_maker(void **state)
{
	char list[LIST] = "";
	siginfo_t si;
	pid_t pid;
	int st;

	(void)state;
	pid = dying_maker();
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	ipc_leftovers_scan(NULL, IPC_LEFT_STALE | IPC_LEFT_REMOVE, list, sizeof(list));
	print_message("# removed while a zombie: %s\n", list);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_true(lists(list, "fifo", pid));
	assert_true(lists(list, IPC_SYSV_LEDGER_KIND, pid));
	list[0] = '\0';
	ipc_leftovers_scan(NULL, 0, list, sizeof(list));
	assert_false(lists(list, "fifo", pid) || lists(list, IPC_SYSV_LEDGER_KIND, pid));
}

/* The ledger files of pid now present. */
static int ledgers_of(pid_t pid)
{
	char list[LIST] = "", want[64];
	const char *p = list;
	int n = 0;

	ipc_leftovers_scan(IPC_SYSV_LEDGER_KIND, 0, list, sizeof(list));
	snprintf(want, sizeof(want), "ipclab-%s-%ld-", IPC_SYSV_LEDGER_KIND, (long)pid);
	while ((p = strstr(p, want)) != NULL) {
		p++;
		n++;
	}
	return n;
}

static void test_fork_ledger(void **state)
{
	struct ipc_params p = { .max_msg = 64, .senders = 1, .receivers = 1,
				.wait = IPC_WAIT_BLOCK, .timeout_ms = 2000 };
	char err[IPC_ERRLEN];
	void *chan;
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(ledgers_of(getpid()), 0);
	assert_int_equal(ipc_sysv_msg_ops.create(&p, &chan, err), 0);
	assert_int_equal(ledgers_of(getpid()), 1);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		/* A child's own id goes to a ledger of its own; its last id
		 * removes that one, never the parent's. */
		void *mine;

		alarm(CHILD_ALARM_S);
		if (ipc_sysv_msg_ops.create(&p, &mine, err) < 0)
			_exit(1);
		if (ledgers_of(getpid()) != 1 || ledgers_of(getppid()) != 1)
			_exit(2);
		ipc_sysv_msg_ops.destroy(mine);
		_exit(ledgers_of(getpid()) != 0 || ledgers_of(getppid()) != 1 ? 3 : 0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(ledgers_of(getpid()), 1);
	ipc_sysv_msg_ops.destroy(chan);
	assert_int_equal(ledgers_of(getpid()), 0);
}

/* A pid that existed and is gone. */
static pid_t dead_pid(void)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return pid;
}

static void test_not_ours(void **state)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char names[6][128], path[PATH_MAX + 160], list[LIST] = "";
	pid_t gone = dead_pid();
	struct stat st;
	int n = 0;

	(void)state;
	/* Not of the form ipclab-KIND-PID-...: a temporary file whose
	 * random part is all digits, the measure lock, no kind, another
	 * prefix; and one of the right form but another user's. */
	snprintf(names[n++], 128, "ipclab-mpi-test-%ld", (long)gone);
	snprintf(names[n++], 128, "ipclab-measure.lock");
	snprintf(names[n++], 128, "ipclab-%ld-0-x", (long)gone);
	snprintf(names[n++], 128, "ipclabx-mq-%ld-0-x", (long)gone);
	snprintf(names[n++], 128, "ipclab-mq-x%ld-0-x", (long)gone);
	snprintf(names[n++], 128, "ipclab-mq-%ld-0-other-user", (long)gone);
	for (int i = 0; i < n; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", tmp, names[i]);
		fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
		assert_true(fd >= 0);
		close(fd);
	}
	if (geteuid() == 0)
		assert_int_equal(chown(path, 65534, 65534), 0);
	else
		unlink(path); /* cannot make another user's file */
	n -= geteuid() != 0;
	ipc_leftovers_scan(NULL, IPC_LEFT_STALE | IPC_LEFT_REMOVE, list, sizeof(list));
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", tmp, names[i]);
		if (strstr(list, path))
			fail_msg("taken for a leftover: %s", path);
		assert_int_equal(stat(path, &st), 0);
		unlink(path);
	}
}

int main(void)
{
#define TEST(name, fn) { name, fn, NULL, NULL, NULL }
	const struct CMUnitTest tests[] = {
		TEST("leftovers: a SIGKILLed maker's queue, fifo directory, SysV ids and ledger are found and removed; a live maker's are not, and its ledger goes with its last id", test_killed_and_live),
		TEST("leftovers: a maker killed but not yet reaped (a zombie) is gone: its objects are removed", test_zombie_maker),
		TEST("leftovers: a forked child keeps a SysV ledger of its own and leaves the parent's alone", test_fork_ledger),
		TEST("leftovers: names that only look like ipclab's, and another user's objects, are never taken", test_not_ours),
	};

	conf_env_setup(&env);
	printf("# %s\n", env.note);
	return tap_run("leftovers", tests, sizeof(tests) / sizeof(tests[0]));
}
