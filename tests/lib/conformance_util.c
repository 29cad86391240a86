/* conformance_util.c - private namespaces and leak snapshots for the
 * conformance suite (see conformance_util.h). */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conformance_util.h"

/* Under the private /dev/shm; names not starting with "ipclab" so the leak
 * checks do not count them. */
#define CONF_PRIV_MQ "/dev/shm/.conformance-mqueue"
#define CONF_PRIV_TMP "/dev/shm/.conformance-tmp"

static void env_in_place(struct conf_env *env, const char *why)
{
	env->isolated = false;
	env->mq_listable = mqueue_listable();
	snprintf(env->mqdir, sizeof(env->mqdir), "%s", env->mq_listable ? "/dev/mqueue" : "");
	snprintf(env->note, sizeof(env->note),
		 "running in place (%s): leak checks see the shared /dev/shm and $TMPDIR%s",
		 why, env->mq_listable ? "" :
		 "; /dev/mqueue is not mounted, so leaked message queues cannot be listed");
}

void conf_env_setup(struct conf_env *env)
{
	struct stat st;

	memset(env, 0, sizeof(*env));
	if (geteuid() != 0) {
		env_in_place(env, "not root");
		return;
	}
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC) < 0) {
		env_in_place(env, strerror(errno));
		return;
	}
	/* Nothing we mount may reach the machine's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		env_in_place(env, "cannot make mounts private");
		return;
	}
	if (mount("conformance-shm", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0) {
		env_in_place(env, "cannot mount a private /dev/shm");
		return;
	}
	env->isolated = true;
	/* Our own IPC namespace's queues: over /dev/mqueue where it exists
	 * (so leak_snapshot lists them), else in the private tmpfs. */
	if (stat("/dev/mqueue", &st) == 0 && S_ISDIR(st.st_mode) &&
	    mount("mqueue", "/dev/mqueue", "mqueue", 0, NULL) == 0)
		snprintf(env->mqdir, sizeof(env->mqdir), "/dev/mqueue");
	else if (mkdir(CONF_PRIV_MQ, 0700) == 0 &&
		 mount("mqueue", CONF_PRIV_MQ, "mqueue", 0, NULL) == 0)
		snprintf(env->mqdir, sizeof(env->mqdir), "%s", CONF_PRIV_MQ);
	env->mq_listable = env->mqdir[0] != '\0';
	if (mkdir(CONF_PRIV_TMP, 0700) == 0)
		setenv("TMPDIR", CONF_PRIV_TMP, 1);
	snprintf(env->note, sizeof(env->note),
		 "isolated: private mount+IPC namespace, tmpfs on /dev/shm, TMPDIR=%s, "
		 "message queues listed at %s%s",
		 getenv("TMPDIR"), env->mq_listable ? env->mqdir : "(nowhere)",
		 mqueue_listable() ? "" : " (/dev/mqueue is not mounted on this machine)");
}

void conf_snapshot(const struct conf_env *env, struct leak_snap *s)
{
	DIR *d;
	struct dirent *e;

	leak_snapshot(s);
	if (env->isolated) /* our own IPC namespace: every SysV id is ours */
		leak_snapshot_sysv(s);
	if (!env->mq_listable || strcmp(env->mqdir, "/dev/mqueue") == 0)
		return;
	d = opendir(env->mqdir);
	if (!d)
		return;
	while ((e = readdir(d)) != NULL && s->n < sizeof(s->names) / sizeof(s->names[0])) {
		if (strncmp(e->d_name, "ipclab", 6) != 0)
			continue;
		snprintf(s->names[s->n++], sizeof(s->names[0]), "%s/%.200s", env->mqdir, e->d_name);
	}
	closedir(d);
}

unsigned conf_leak_check(const struct conf_env *env, const struct leak_snap *before,
			 char *out, size_t len)
{
	struct leak_snap *now = malloc(sizeof(*now));
	unsigned n;

	if (!now)
		abort();
	conf_snapshot(env, now);
	n = leak_new(before, now, out, len);
	free(now);
	return n;
}
