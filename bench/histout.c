/* histout.c - .hgrm files of every kept repetition (histout.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "histout.h"
#include "sig.h"

int histout_file_name(const char *case_name, unsigned rep, char *out, size_t len)
{
	size_t n = strlen(case_name);
	int w;

	if (n + 1 > len)
		return -ENAMETOOLONG;
	for (size_t i = 0; i <= n; i++)
		out[i] = case_name[i] == '/' ? '_' : case_name[i] == ':' ? '=' : case_name[i];
	w = snprintf(out + n, len - n, ".rep%u.hgrm", rep);
	return w < 0 || (size_t)w >= len - n ? -ENAMETOOLONG : 0;
}

int histout_write(const char *dir, const char *case_name, unsigned rep, const struct hist *h, char *err)
{
	char sub[4096], name[256], path[4400], tmp[4450];
	FILE *f;
	int fd, rc;

	if (snprintf(sub, sizeof(sub), "%s/%s", dir, HISTOUT_SUBDIR) >= (int)sizeof(sub) ||
	    histout_file_name(case_name, rep, name, sizeof(name)) < 0) {
		snprintf(err, SUITE_ERRLEN, "histogram file name for '%.200s' is too long", case_name);
		return -ENAMETOOLONG;
	}
	if (mkdir(sub, 0755) < 0 && errno != EEXIST) {
		rc = -errno;
		snprintf(err, SUITE_ERRLEN, "cannot create folder '%.300s': %s", sub, strerror(-rc));
		return rc;
	}
	snprintf(path, sizeof(path), "%s/%s", sub, name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", sub, name, (long)getpid());
	/* Named before it exists: a second signal from here on removes it. */
	sig_set_tmpfile_at(SIG_TMP_HIST, tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		rc = -errno;
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		snprintf(err, SUITE_ERRLEN, "cannot write '%.300s': %s", tmp, strerror(-rc));
		sig_set_tmpfile_at(SIG_TMP_HIST, NULL);
		return rc;
	}
	rc = hist_print_hgrm(h, f);
	if (fflush(f) != 0 && rc == 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0) {
		unlink(tmp);
		snprintf(err, SUITE_ERRLEN, "cannot write '%.300s': %s", path, strerror(-rc));
	}
	sig_set_tmpfile_at(SIG_TMP_HIST, NULL);
	return rc;
}

void suite_keep_hist(struct suite_case *c, const struct hist *h)
{
	if (c->kept_hist)
		*c->kept_hist = *h;
}
