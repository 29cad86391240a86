/* outdir.c - the results folder: made, proven writable and roomy before
 * measuring; bench.json renamed into place only when whole. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "outdir.h"
#include "result.h"
#include "suite.h"

int outdir_mkdirs(const char *path, char *err)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		snprintf(err, SUITE_ERRLEN, "--out path is too long (%zu bytes)", len);
		return -ENAMETOOLONG;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;

			*p = '\0';
			if (mkdir(buf, 0755) < 0 && errno != EEXIST) {
				snprintf(err, SUITE_ERRLEN, "cannot create folder '%.300s': %s", buf, strerror(errno));
				return -errno;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

/* Room bench.json needs, estimated generously from what Google Benchmark
 * 1.7 writes: the context (~4 KiB here) and ~1 KiB per run of a case; each
 * case has one run per repetition plus 4 aggregates when repeated. */
#define BENCH_JSON_CONTEXT_BYTES (16u << 10)
#define BENCH_JSON_RUN_BYTES 2048u
#define BENCH_JSON_AGGREGATES 4u

off_t outdir_room(unsigned cases, int reps)
{
	unsigned runs = reps > 1 ? (unsigned)reps + BENCH_JSON_AGGREGATES : 1u;

	return (off_t)BENCH_JSON_CONTEXT_BYTES + (off_t)cases * runs * BENCH_JSON_RUN_BYTES;
}

/* Make the folder, refuse to overwrite a finished run, and prove we can
 * write there and have room for the results, all before measuring. */
int outdir_prepare(const char *dir, off_t room, char *tmp, size_t tmplen, char *err)
{
	char path[4200];
	struct stat sb;
	int fd, rc;

	if ((rc = outdir_mkdirs(dir, err)) < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	if (stat(path, &sb) == 0) {
		snprintf(err, SUITE_ERRLEN, "'%.300s' already exists: give --out a new folder (nothing was overwritten)", path);
		return -EEXIST;
	}
	snprintf(tmp, tmplen, "%s/.bench.json.%ld.tmp", dir, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, SUITE_ERRLEN, "cannot write in '%.300s': %s", dir, strerror(errno));
		return -errno;
	}
	/* A full filesystem is found now, not after an hour of measuring.
	 * The blocks go back at once: Google Benchmark truncates the file. */
	rc = posix_fallocate(fd, 0, room);
	if (rc == ENOSPC || rc == EDQUOT || rc == EFBIG) {
		snprintf(err, SUITE_ERRLEN, "no room in '%.300s' for the results (about %lld bytes): %s",
			 dir, (long long)room, strerror(rc));
		close(fd);
		unlink(tmp);
		tmp[0] = '\0';
		return -rc;
	}
	if (ftruncate(fd, 0) < 0) {
		rc = errno;
		snprintf(err, SUITE_ERRLEN, "cannot write in '%.300s': %s", dir, strerror(rc));
		close(fd);
		unlink(tmp);
		tmp[0] = '\0';
		return -rc;
	}
	close(fd);
	return 0;
}

/* Google Benchmark wrote tmp; keep it only if it is whole JSON. */
int outdir_finish(const char *dir, const char *tmp, const struct topo *topo, char *err)
{
	char path[4200];
	int fd, whole = result_json_whole(tmp);

	if (whole < 0) {
		snprintf(err, SUITE_ERRLEN, "results file '%.300s' vanished: %s", tmp, strerror(-whole));
		return -EIO;
	}
	if (!whole) {
		snprintf(err, SUITE_ERRLEN, "results in '%.300s' are incomplete (disk full or write error); removed, nothing half-written kept", dir);
		unlink(tmp);
		return -EIO;
	}
	fd = open(tmp, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/bench.json", dir);
	if (rename(tmp, path) < 0) {
		snprintf(err, SUITE_ERRLEN, "cannot rename '%.200s' to '%.200s': %s", tmp, path, strerror(errno));
		unlink(tmp);
		return -errno;
	}
	snprintf(path, sizeof(path), "%s/topology.xml", dir);
	char terr[TOPO_ERRLEN] = "";
	if (topo_export_xml(topo, path, terr) < 0) {
		snprintf(err, SUITE_ERRLEN, "topology.xml: %s", terr);
		return -EIO;
	}
	return 0;
}
