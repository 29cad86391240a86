/* names.c - unique IPC names and private directories. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/random.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "names.h"

static atomic_uint name_seq;

/* The names handed out, for ipc_names_sweep().  A slot is written with its
 * first byte 0 and published by writing that byte last, so a signal
 * handler never reads half a name. */
static char tracked_names[IPC_NAMES_TRACKED][IPC_NAME_MAX];
static char tracked_dirs[IPC_NAMES_TRACKED][IPC_PATH_MAX];
static atomic_uint tracked_names_next, tracked_dirs_next;
/* Live SysV ids: pid << 34 | kind << 32 | id, 0 for a free slot.  The pid
 * of the process that tracked it: a forked child inherits the table, and
 * only its own ids decide when its ledger goes. */
static atomic_ullong tracked_sysv[IPC_SYSV_TRACKED];

static unsigned long long sysv_key(enum ipc_sysv_kind kind, int id)
{
	return (unsigned long long)getpid() << 34 | (unsigned long long)kind << 32 | (unsigned)id;
}

/* The SysV ledger (names.h): the file of this process, "" when none.  The
 * path is published like a tracked name (first byte last) for the sweep;
 * ledger_pid tells a forked child that the file is its parent's. */
static pthread_mutex_t ledger_lock = PTHREAD_MUTEX_INITIALIZER;
static char ledger_path[IPC_PATH_MAX];
static int ledger_fd = -1;
static pid_t ledger_pid;

static void track(char *slot, size_t cap, const char *s);

static const char *sysv_kind_word(enum ipc_sysv_kind kind)
{
	return kind == IPC_SYSV_MSG ? "msg" : kind == IPC_SYSV_SEM ? "sem" : "shm";
}

static void ledger_close(void)
{
	ledger_path[0] = '\0';
	if (ledger_fd >= 0)
		close(ledger_fd);
	ledger_fd = -1;
}

/* One line "KIND ID" for an id just made; the file is made on the first. */
static void ledger_add(enum ipc_sysv_kind kind, int id)
{
	char path[IPC_PATH_MAX], line[32];
	int n;

	pthread_mutex_lock(&ledger_lock);
	if (ledger_pid != getpid()) { /* none yet, or the parent's: not ours */
		ledger_close();
		ledger_pid = getpid();
	}
	if (ledger_fd < 0) {
		const char *tmp = getenv("TMPDIR");

		n = snprintf(path, sizeof(path), "%s/%s-%s-%ld-XXXXXX", tmp && *tmp ? tmp : "/tmp",
			     IPC_NAME_PREFIX, IPC_SYSV_LEDGER_KIND, (long)getpid());
		if (n > 0 && (size_t)n < sizeof(path))
			ledger_fd = mkostemp(path, O_APPEND | O_CLOEXEC);
		if (ledger_fd >= 0)
			track(ledger_path, sizeof(ledger_path), path);
	}
	n = snprintf(line, sizeof(line), "%s %d\n", sysv_kind_word(kind), id);
	if (ledger_fd >= 0 && write(ledger_fd, line, (size_t)n) != n) {
		/* A ledger that misses an id is worse than none: a later run
		 * would take what it lists for all. */
		unlink(ledger_path);
		ledger_close();
	}
	pthread_mutex_unlock(&ledger_lock);
}

/* The file goes when the table holds no id of this process any more. */
static void ledger_drop_if_empty(void)
{
	pthread_mutex_lock(&ledger_lock);
	if (ledger_pid == getpid() && ledger_fd >= 0) {
		unsigned long long me = (unsigned long long)getpid();
		unsigned i = 0;

		while (i < IPC_SYSV_TRACKED && atomic_load(&tracked_sysv[i]) >> 34 != me)
			i++;
		if (i == IPC_SYSV_TRACKED) {
			unlink(ledger_path);
			ledger_close();
		}
	}
	pthread_mutex_unlock(&ledger_lock);
}

void ipc_sysv_track(enum ipc_sysv_kind kind, int id)
{
	unsigned long long key = sysv_key(kind, id);

	if (id < 0)
		return;
	for (unsigned i = 0; i < IPC_SYSV_TRACKED; i++) {
		unsigned long long free_slot = 0;

		if (atomic_compare_exchange_strong(&tracked_sysv[i], &free_slot, key))
			break;
	}
	ledger_add(kind, id);
}

void ipc_sysv_untrack(enum ipc_sysv_kind kind, int id)
{
	unsigned long long key = sysv_key(kind, id);

	if (id < 0)
		return;
	for (unsigned i = 0; i < IPC_SYSV_TRACKED; i++) {
		unsigned long long want = key;

		if (atomic_compare_exchange_strong(&tracked_sysv[i], &want, 0)) {
			ledger_drop_if_empty();
			return;
		}
	}
}

/* IPC_RMID on every tracked id, by raw system calls (async-signal-safe). */
static void sysv_sweep(void)
{
	for (unsigned i = 0; i < IPC_SYSV_TRACKED; i++) {
		unsigned long long key = atomic_load(&tracked_sysv[i]);
		int id = (int)(unsigned)(key & 0xffffffffu);

		switch ((enum ipc_sysv_kind)(key >> 32 & 3)) {
		case IPC_SYSV_MSG:
			syscall(SYS_msgctl, id, IPC_RMID, NULL);
			break;
		case IPC_SYSV_SEM:
			syscall(SYS_semctl, id, 0, IPC_RMID, 0);
			break;
		case IPC_SYSV_SHM:
			syscall(SYS_shmctl, id, IPC_RMID, NULL);
			break;
		}
	}
	if (ledger_pid == getpid() && ledger_path[0] == '/')
		unlink(ledger_path);
}

static void track(char *slot, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n >= cap)
		return;
	slot[0] = '\0';
	atomic_signal_fence(memory_order_seq_cst);
	memcpy(slot + 1, s + 1, n); /* with the terminating 0 */
	atomic_signal_fence(memory_order_seq_cst);
	slot[0] = s[0];
}

/* "/dev/shm" + name, without snprintf (async-signal-safe). */
static void shm_path(char *buf, size_t cap, const char *name)
{
	static const char dir[] = "/dev/shm";
	size_t d = sizeof(dir) - 1, n = strlen(name);

	if (d + n + 1 > cap) {
		buf[0] = '\0';
		return;
	}
	memcpy(buf, dir, d);
	memcpy(buf + d, name, n + 1);
}

void ipc_dir_remove(const char *dir)
{
	char buf[4096];
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	long n;

	if (fd < 0)
		return;
	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			/* struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name */
			unsigned short reclen;
			const char *name = buf + off + 19;

			memcpy(&reclen, buf + off + 16, sizeof(reclen));
			if (reclen == 0)
				break;
			if (!(name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'))))
				unlinkat(fd, name, 0);
			off += reclen;
		}
	}
	close(fd);
	rmdir(dir);
}

void ipc_names_sweep(void)
{
	char path[IPC_NAME_MAX + 16];

	for (unsigned i = 0; i < IPC_NAMES_TRACKED; i++) {
		const char *name = tracked_names[i];

		if (name[0] != '/')
			continue;
		shm_path(path, sizeof(path), name);
		if (path[0])
			unlink(path);
		syscall(SYS_mq_unlink, name + 1); /* what mq_unlink does */
	}
	for (unsigned i = 0; i < IPC_NAMES_TRACKED; i++)
		if (tracked_dirs[i][0] == '/')
			ipc_dir_remove(tracked_dirs[i]);
	sysv_sweep();
}

static uint32_t name_random(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	/* No entropy yet: mix time and pid; O_EXCL still prevents reuse. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16);
}

int ipc_unique_name(char *buf, size_t len, const char *kind)
{
	unsigned seq = atomic_fetch_add(&name_seq, 1);
	int n = snprintf(buf, len, "/%s-%s-%ld-%u-%08x", IPC_NAME_PREFIX, kind,
			 (long)getpid(), seq, name_random());

	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	track(tracked_names[atomic_fetch_add(&tracked_names_next, 1) % IPC_NAMES_TRACKED],
	      IPC_NAME_MAX, buf);
	return 0;
}

int ipc_private_dir(char *path, size_t len, const char *kind)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = snprintf(path, len, "%s/%s-%s-%ld-XXXXXX", tmp, IPC_NAME_PREFIX, kind, (long)getpid());
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (!mkdtemp(path)) /* mkdtemp creates it 0700 */
		return -errno;
	if (path[0] == '/')
		track(tracked_dirs[atomic_fetch_add(&tracked_dirs_next, 1) % IPC_NAMES_TRACKED],
		      IPC_PATH_MAX, path);
	return 0;
}
