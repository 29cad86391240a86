/* fleetdir.c - fleet mode, rank 0's side: the fleet folder DIR (see
 * fleet.h): each host's folder name, the refusal of a folder that holds
 * results, DIR/fleet.json, and each host's files, every one written to a
 * temporary name and renamed, but for the repetitions added to a host's
 * bench.json (fleetdir_add: in place, before its ending). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fleetdir.h"
#include "gbench.h"
#include "histout.h"
#include "outdir.h"
#include "sig.h"
#include "suite.h"

/* A host name as a folder name: [A-Za-z0-9._-], anything else '_'. */
static void safe_host(char *out, size_t len, const char *in)
{
	size_t i = 0;

	for (; in[i] && i + 1 < len; i++) {
		char c = in[i];

		out[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			 c == '.' || c == '-' || c == '_' ? c : '_';
	}
	out[i] = '\0';
	if (!i || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
		snprintf(out, len, "host");
}

/* Write the parts as dir/name through a temporary name and a rename; a
 * second signal removes the temporary file (sig.h).  0 or -errno. */
static int write_whole(const char *dir, const char *name, const char *const *parts, int nparts)
{
	char tmp[PATH_MAX], path[PATH_MAX];
	int fd, rc = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path) ||
	    snprintf(tmp, sizeof(tmp), "%s/.%s.%ld.tmp", dir, name, (long)getpid()) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	sig_set_tmpfile(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		rc = -errno;
		sig_set_tmpfile(NULL);
		return rc;
	}
	for (int i = 0; i < nparts && !rc; i++) {
		size_t left = strlen(parts[i]);
		const char *p = parts[i];

		while (left) {
			ssize_t w = write(fd, p, left);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				rc = w < 0 ? -errno : -EIO;
				break;
			}
			p += w;
			left -= (size_t)w;
		}
	}
	if (close(fd) < 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	sig_set_tmpfile(NULL);
	return rc;
}

static void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", (unsigned char)*s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* DIR/fleet.json: the hosts, their folders and how far each got.  state:
 * "running", "complete", or why the job ended early. */
int fleetdir_manifest(const struct fleet_dir *d, const char *state)
{
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);
	int rc;

	if (!m)
		return -ENOMEM;
	fprintf(m, "{\n  \"ipclab_fleet\": 1,\n  \"state\": ");
	json_string(m, state);
	fprintf(m, ",\n  \"repetitions_per_host\": %u,\n  \"repetitions_gathered\": %u,\n  \"hosts\": [\n",
		d->total, d->gathered);
	for (int i = 0; i < d->n; i++) {
		const struct fleet_host *h = &d->hosts[i];

		fprintf(m, "    {\"rank\": %d, \"host\": ", i);
		json_string(m, h->host);
		fprintf(m, ", \"folder\": ");
		json_string(m, h->folder);
		fprintf(m, ", \"repetitions\": %u, \"whole\": %s}%s\n", h->entries, h->whole ? "true" : "false",
			i + 1 < d->n ? "," : "");
	}
	fprintf(m, "  ]\n}\n");
	if (fclose(m) != 0) {
		free(text);
		return -ENOMEM;
	}
	rc = write_whole(d->dir, "fleet.json", (const char *const[]){ text }, 1);
	free(text);
	return rc;
}

int fleetdir_write(struct fleet_dir *d, struct fleet_host *h, const char *name,
		   const char *const *parts, int nparts)
{
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s/%s", d->dir, h->folder) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (strcmp(name, "bench.json") == 0) {
		if (h->json_fd >= 0)
			close(h->json_fd); /* the file it named is being replaced */
		h->json_fd = -1;
		for (int i = 0; i < nparts; i++)
			d->json_bytes += strlen(parts[i]);
	}
	return write_whole(dir, name, parts, nparts);
}

/* Rank 0: add one gathered repetition to what it keeps of host h (its
 * body, joined by GB_JSON_SEP).  0 or -ENOMEM. */
static int fleetdir_append(struct fleet_host *h, const char *entry, size_t len)
{
	size_t need = h->blen + len + sizeof(GB_JSON_SEP);

	if (need > h->bcap) {
		size_t cap = h->bcap ? h->bcap : 1 << 16;
		char *nb;

		while (cap < need)
			cap *= 2;
		nb = realloc(h->body, cap);
		if (!nb)
			return -ENOMEM;
		h->body = nb;
		h->bcap = cap;
	}
	if (h->entries) {
		memcpy(h->body + h->blen, GB_JSON_SEP, sizeof(GB_JSON_SEP) - 1);
		h->blen += sizeof(GB_JSON_SEP) - 1;
	}
	memcpy(h->body + h->blen, entry, len);
	h->blen += len;
	h->body[h->blen] = '\0';
	h->entries++;
	return 0;
}

/* A host's bench.json from what was gathered: its opening, every
 * repetition so far, the reporter's ending: the library's own format.
 * Then opened again, for fleetdir_add to rewrite its ending in place. */
int fleetdir_write_partial(struct fleet_dir *d, struct fleet_host *h)
{
	const char *parts[] = { h->head ? h->head : "", h->body ? h->body : "", GB_JSON_TAIL };
	char path[PATH_MAX];
	int rc = fleetdir_write(d, h, "bench.json", parts, 3);

	if (rc < 0)
		return rc;
	if (snprintf(path, sizeof(path), "%s/%s/bench.json", d->dir, h->folder) >= (int)sizeof(path))
		return 0; /* written whole; the next repetition rewrites it whole again */
	h->json_fd = open(path, O_WRONLY | O_CLOEXEC);
	h->json_len = strlen(parts[0]) + strlen(parts[1]) + strlen(parts[2]);
	return 0;
}

/* Write all of buf at off.  0 or -errno. */
static int pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
	while (len) {
		ssize_t w = pwrite(fd, buf, len, off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return w < 0 ? -errno : -EIO;
		buf += w;
		len -= (size_t)w;
		off += w;
	}
	return 0;
}

/*
 * The file ends with GB_JSON_TAIL; the repetition (and the separator before
 * it) goes where that ending was, with the ending after it, in one pwrite:
 * the file is whole before it and after it.  Only a SIGKILL or a crash of
 * the host inside that one write of a few KiB could leave it torn (SIGINT
 * and SIGTERM are only recorded, and a caught signal does not cut a write
 * to a regular file short); a temporary name and a rename would rewrite
 * the whole file after every repetition, O(n^2) bytes over a run.
 */
int fleetdir_add(struct fleet_dir *d, struct fleet_host *h, const char *entry, size_t len)
{
	const size_t tail = sizeof(GB_JSON_TAIL) - 1;
	size_t before = h->blen;
	char *buf;
	int rc = fleetdir_append(h, entry, len);

	if (rc < 0)
		return rc;
	if (h->json_fd < 0 || h->json_len < tail)
		return fleetdir_write_partial(d, h);
	/* What fleetdir_append added to the body, then the ending. */
	len = h->blen - before;
	buf = malloc(len + tail);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, h->body + before, len);
	memcpy(buf + len, GB_JSON_TAIL, tail);
	rc = pwrite_all(h->json_fd, buf, len + tail, (off_t)(h->json_len - tail));
	free(buf);
	d->json_bytes += len + tail;
	if (rc < 0)
		return fleetdir_write_partial(d, h); /* whole again, from memory */
	h->json_len += len;
	return 0;
}

/* Rank 0: name every host's folder (HOST, or HOST-rankN where ranks share
 * a host name), refuse a DIR that holds results, make the folders.  0 or
 * -errno with err. */
int fleetdir_prepare(struct fleet_dir *d, const char *names, const size_t *offs, char *err)
{
	char path[PATH_MAX];
	struct stat sb;
	int rc;

	for (int i = 0; i < d->n; i++)
		safe_host(d->hosts[i].host, sizeof(d->hosts[i].host), names + offs[i]);
	for (int i = 0; i < d->n; i++) {
		struct fleet_host *h = &d->hosts[i];
		int same = 0;

		for (int j = 0; j < d->n; j++)
			same += strcmp(h->host, d->hosts[j].host) == 0;
		if (same > 1)
			snprintf(h->folder, sizeof(h->folder), "%s-rank%d", h->host, i);
		else
			snprintf(h->folder, sizeof(h->folder), "%s", h->host);
	}
	for (int i = -1; i < d->n; i++) {
		const char *what = i < 0 ? "fleet.json" : "bench.json";

		snprintf(path, sizeof(path), "%s%s%s/%s", d->dir, i < 0 ? "" : "/", i < 0 ? "" : d->hosts[i].folder,
			 what);
		if (stat(path, &sb) == 0 || (i < 0 && (snprintf(path, sizeof(path), "%s/bench.json", d->dir),
						       stat(path, &sb) == 0))) {
			snprintf(err, SUITE_ERRLEN,
				 "'%.300s' already exists: give --out a new folder (nothing was overwritten)", path);
			return -EINVAL;
		}
	}
	for (int i = 0; i < d->n; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", d->dir, d->hosts[i].folder) >= (int)sizeof(path)) {
			snprintf(err, SUITE_ERRLEN, "--out path is too long: %.300s", d->dir);
			return -EINVAL;
		}
		if ((rc = outdir_mkdirs(path, err)) < 0)
			return rc == -EACCES || rc == -EROFS || rc == -ENOTDIR ? -EINVAL : rc;
	}
	if ((rc = fleetdir_manifest(d, "starting")) < 0) {
		snprintf(err, SUITE_ERRLEN, "cannot write in '%.300s': %s", d->dir, strerror(-rc));
		return -EINVAL;
	}
	return 0;
}

int fleetdir_write_hist(const struct fleet_dir *d, const struct fleet_host *h, const char *name, const char *text)
{
	char dir[PATH_MAX];

	if (!name[0] || name[0] == '.' || strchr(name, '/'))
		return -EINVAL;
	if (snprintf(dir, sizeof(dir), "%s/%s/%s", d->dir, h->folder, HISTOUT_SUBDIR) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	return write_whole(dir, name, (const char *const[]){ text }, 1);
}

void fleetdir_free(struct fleet_dir *d)
{
	for (int i = 0; d->hosts && i < d->n; i++) {
		if (d->hosts[i].json_fd >= 0)
			close(d->hosts[i].json_fd);
		free(d->hosts[i].head);
		free(d->hosts[i].body);
	}
	free(d->hosts);
	d->hosts = NULL;
}
