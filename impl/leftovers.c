/* leftovers.c - find and remove what a SIGKILLed ipclab process left
 * (leftovers.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leftovers.h"
#include "names.h"

struct scan {
	const char *kind;
	unsigned flags;
	char *out;
	size_t len, used;
	int found;
	uid_t me;
};

/* Digits followed by '-': their value, else 0. */
static long pid_word(const char *w)
{
	const char *q = w;
	long v = 0;

	while (*q >= '0' && *q <= '9' && q - w < 10)
		v = v * 10 + (*q++ - '0');
	return q > w && *q == '-' ? v : 0;
}

/* "ipclab-KIND-PID-REST": PID, or 0 when the name is not one of ours or
 * not of kind (NULL: any; a kind's words are never all digits, so the
 * first all-digit word followed by more is the pid). */
static long name_pid(const char *name, const char *kind)
{
	static const char prefix[] = IPC_NAME_PREFIX "-";
	const char *p = name + sizeof(prefix) - 1, *w;

	if (strncmp(name, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	if (kind) {
		size_t n = strlen(kind);

		return strncmp(p, kind, n) == 0 && p[n] == '-' ? pid_word(p + n + 1) : 0;
	}
	for (w = strchr(p, '-'); w; w = strchr(w + 1, '-')) {
		long pid = pid_word(w + 1);

		if (pid > 0)
			return pid;
	}
	return 0;
}

/* No such process, or a zombie (killed, not yet reaped by its parent:
 * an MPI rank until mpirun waits for it). */
static int pid_gone(long pid)
{
	char path[32], buf[256], *paren;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	if (kill((pid_t)pid, 0) != 0)
		return errno == ESRCH;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	paren = strrchr(buf, ')'); /* "PID (COMM) S ...": COMM may hold ')' */
	return paren && paren[1] == ' ' && paren[2] == 'Z';
}

static void say(struct scan *s, const char *what)
{
	int n;

	if (!s->out || s->used >= s->len)
		return;
	n = snprintf(s->out + s->used, s->len - s->used, "%s%s", s->used ? " " : "", what);
	if (n > 0)
		s->used += (size_t)n;
	if (s->used >= s->len)
		s->used = s->len - 1;
}

/* One id a stale ledger lists: found (and removed) while it exists and is
 * this user's. */
static void ledger_id(struct scan *s, const char *word, int id)
{
	int ours = 0, rm = s->flags & IPC_LEFT_REMOVE;
	char what[48];

	if (strcmp(word, "msg") == 0) {
		struct msqid_ds ds;

		ours = msgctl(id, IPC_STAT, &ds) == 0 && ds.msg_perm.cuid == s->me;
		if (ours && rm)
			msgctl(id, IPC_RMID, NULL);
	} else if (strcmp(word, "sem") == 0) {
		struct semid_ds ds;

		ours = semctl(id, 0, IPC_STAT, &ds) == 0 && ds.sem_perm.cuid == s->me;
		if (ours && rm)
			semctl(id, 0, IPC_RMID);
	} else if (strcmp(word, "shm") == 0) {
		struct shmid_ds ds;

		ours = shmctl(id, IPC_STAT, &ds) == 0 && ds.shm_perm.cuid == s->me;
		if (ours && rm)
			shmctl(id, IPC_RMID, NULL);
	}
	if (!ours)
		return; /* gone already, or never this user's */
	s->found++;
	snprintf(what, sizeof(what), "sysv-%s:id=%d", word, id);
	say(s, what);
}

/* The ids a stale ledger lists (at most a page of lines is read at once). */
static void ledger_ids(struct scan *s, int dirfd, const char *name)
{
	char buf[4096], word[8];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	size_t have = 0;
	ssize_t n;

	if (fd < 0)
		return;
	while ((n = read(fd, buf + have, sizeof(buf) - 1 - have)) > 0) {
		char *line = buf, *nl;

		have += (size_t)n;
		buf[have] = '\0';
		while ((nl = strchr(line, '\n')) != NULL) {
			int id;

			*nl = '\0';
			if (sscanf(line, "%7s %d", word, &id) == 2 && id >= 0)
				ledger_id(s, word, id);
			line = nl + 1;
		}
		have -= (size_t)(line - buf);
		memmove(buf, line, have);
		if (have == sizeof(buf) - 1)
			have = 0; /* not a ledger line: drop it */
	}
	close(fd);
}

/* dir's entries named "[strip]ipclab-KIND-PID-...". */
static int scan_dir(struct scan *s, const char *dir, const char *strip)
{
	size_t ns = strlen(strip);
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d)) != NULL) {
		const char *base = e->d_name;
		char path[IPC_PATH_MAX + 64];
		struct stat st;
		long pid;
		int ledger;

		if (ns && strncmp(base, strip, ns) == 0)
			base += ns;
		pid = name_pid(base, s->kind);
		if (pid <= 0 || fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    st.st_uid != s->me)
			continue;
		if ((s->flags & IPC_LEFT_STALE) && !pid_gone(pid))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		s->found++;
		say(s, path);
		ledger = S_ISREG(st.st_mode) && name_pid(base, IPC_SYSV_LEDGER_KIND) > 0;
		if (ledger && pid_gone(pid))
			ledger_ids(s, dirfd(d), e->d_name);
		if (!(s->flags & IPC_LEFT_REMOVE))
			continue;
		if (S_ISDIR(st.st_mode))
			ipc_dir_remove(path);
		else
			unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
	return 0;
}

int ipc_leftovers_scan(const char *kind, unsigned flags, char *out, size_t len)
{
	struct scan s = { .kind = kind, .flags = flags, .out = out, .len = len, .me = geteuid() };
	const char *tmp = getenv("TMPDIR");
	int rc[3];

	if (out && len)
		s.used = strnlen(out, len - 1);
	/* sem_open("/NAME") lives at /dev/shm/sem.NAME (glibc); shm_open's
	 * at /dev/shm/NAME; mq_open's at /dev/mqueue/NAME when mounted. */
	rc[0] = scan_dir(&s, "/dev/shm", "sem.");
	rc[1] = scan_dir(&s, "/dev/mqueue", "");
	rc[2] = scan_dir(&s, tmp && *tmp ? tmp : "/tmp", "");
	for (int i = 0; i < 3; i++)
		if (rc[i] < 0)
			return rc[i];
	return s.found;
}
