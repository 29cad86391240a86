/* fleet.c - fleet mode (see fleet.h): the hosts agree on what to run, run
 * it in step, and rank 0 keeps every host's results in DIR/FOLDER/.  The
 * MPI calls are in fleetnet.c; this file never measures and never forks. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fleet.h"
#include "fleetnet.h"
#include "mpienv.h"
#include "outdir.h"
#include "sig.h"
#include "suite.h"

#define FLEET_LAUNCH "mpirun --map-by ppr:1:node -n HOSTS build/ipclab --fleet [selection] --out=DIR"
/* A folder name: a host name (at most HOST_NAME_MAX) and "-rankN". */
#define FLEET_FOLDER_MAX (HOST_NAME_MAX + 24)

/* What rank 0 keeps of one host. */
struct fleet_host {
	char host[HOST_NAME_MAX + 1];   /* as uname -n says, made safe */
	char folder[FLEET_FOLDER_MAX];  /* under DIR */
	char *head;                     /* its JSON report's opening (context) */
	char *body;                     /* its repetitions so far, joined */
	size_t blen, bcap;
	unsigned entries;
	bool whole;                     /* its own whole report arrived */
};

struct fleet {
	int rank, size;
	const char *dir;                /* rank 0 writes there */
	char host[HOST_NAME_MAX + 1];
	int memfd;                      /* this rank's file report */
	char report_path[64];
	unsigned total;                 /* repetitions each host runs */
	unsigned gathered;              /* repetitions gathered per host */
	bool lost;                      /* a collective failed: no more MPI */
	uint64_t step_ns;               /* in fleet_after_rep: gathering, writing, waiting */
	uint64_t open_ns;               /* in fleet_open and fleet_begin */
	struct fleet_host *hosts;       /* rank 0: size of them */
};

int fleet_check(const char *out, char *err)
{
	if (!mpienv_built()) {
		snprintf(err, SUITE_ERRLEN,
			 "--fleet needs ipclab built with Open MPI (this build has none: make deps installs "
			 "libopenmpi-dev, then make); launch: " FLEET_LAUNCH);
		return -EINVAL;
	}
	if (!mpienv_launched()) {
		snprintf(err, SUITE_ERRLEN, "--fleet runs one rank per host under mpirun; launch: " FLEET_LAUNCH);
		return -EINVAL;
	}
	if (!out || !*out) {
		snprintf(err, SUITE_ERRLEN, "--fleet needs --out=DIR (rank 0 writes every host's results there); launch: "
			 FLEET_LAUNCH);
		return -EINVAL;
	}
	return 0;
}

bool fleet_is_writer(const struct fleet *f)
{
	return f && f->rank == 0;
}

int fleet_hosts(const struct fleet *f)
{
	return f ? f->size : 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

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

/* FNV-1a over the selected case names (each ended by '\n'), in
 * registration order: equal on ranks that run the same cases. */
static uint64_t selection_digest(unsigned *count)
{
	size_t n = gb_select(NULL, 0);
	struct gb_bench **b = calloc(n ? n : 1, sizeof(*b));
	uint64_t h = 0xcbf29ce484222325ull;

	*count = (unsigned)n;
	if (!b)
		return 0;
	gb_select(b, n);
	for (size_t i = 0; i < n; i++) {
		for (const char *p = gb_name(b[i]); ; p++) {
			h ^= (unsigned char)(*p ? *p : '\n');
			h *= 0x100000001b3ull;
			if (!*p)
				break;
		}
	}
	free(b);
	return h ^ n;
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
static int write_manifest(const struct fleet *f, const char *state)
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
		f->total, f->gathered);
	for (int i = 0; i < f->size; i++) {
		const struct fleet_host *h = &f->hosts[i];

		fprintf(m, "    {\"rank\": %d, \"host\": ", i);
		json_string(m, h->host);
		fprintf(m, ", \"folder\": ");
		json_string(m, h->folder);
		fprintf(m, ", \"repetitions\": %u, \"whole\": %s}%s\n", h->entries, h->whole ? "true" : "false",
			i + 1 < f->size ? "," : "");
	}
	fprintf(m, "  ]\n}\n");
	if (fclose(m) != 0) {
		free(text);
		return -ENOMEM;
	}
	rc = write_whole(f->dir, "fleet.json", (const char *const[]){ text }, 1);
	free(text);
	return rc;
}

static int host_write(const struct fleet *f, const struct fleet_host *h, const char *name,
		      const char *const *parts, int nparts)
{
	char dir[PATH_MAX];

	if (snprintf(dir, sizeof(dir), "%s/%s", f->dir, h->folder) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	return write_whole(dir, name, parts, nparts);
}

/* A host's bench.json from what was gathered: its opening, every
 * repetition so far, the reporter's ending: the library's own format. */
static int host_write_partial(const struct fleet *f, const struct fleet_host *h)
{
	return host_write(f, h, "bench.json",
			  (const char *const[]){ h->head ? h->head : "", h->body ? h->body : "", GB_JSON_TAIL }, 3);
}

/* Rank 0: name every host's folder (HOST, or HOST-rankN where ranks share
 * a host name), refuse a DIR that holds results, make the folders.  0 or
 * -errno with err. */
static int prepare_dir(struct fleet *f, const char *names, const size_t *offs, char *err)
{
	char path[PATH_MAX];
	struct stat sb;
	int rc;

	for (int i = 0; i < f->size; i++)
		safe_host(f->hosts[i].host, sizeof(f->hosts[i].host), names + offs[i]);
	for (int i = 0; i < f->size; i++) {
		struct fleet_host *h = &f->hosts[i];
		int same = 0;

		for (int j = 0; j < f->size; j++)
			same += strcmp(h->host, f->hosts[j].host) == 0;
		if (same > 1)
			snprintf(h->folder, sizeof(h->folder), "%s-rank%d", h->host, i);
		else
			snprintf(h->folder, sizeof(h->folder), "%s", h->host);
	}
	for (int i = -1; i < f->size; i++) {
		const char *what = i < 0 ? "fleet.json" : "bench.json";

		snprintf(path, sizeof(path), "%s%s%s/%s", f->dir, i < 0 ? "" : "/", i < 0 ? "" : f->hosts[i].folder,
			 what);
		if (stat(path, &sb) == 0 || (i < 0 && (snprintf(path, sizeof(path), "%s/bench.json", f->dir),
						       stat(path, &sb) == 0))) {
			snprintf(err, SUITE_ERRLEN,
				 "'%.300s' already exists: give --out a new folder (nothing was overwritten)", path);
			return -EINVAL;
		}
	}
	for (int i = 0; i < f->size; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", f->dir, f->hosts[i].folder) >= (int)sizeof(path)) {
			snprintf(err, SUITE_ERRLEN, "--out path is too long: %.300s", f->dir);
			return -EINVAL;
		}
		if ((rc = outdir_mkdirs(path, err)) < 0)
			return rc == -EACCES || rc == -EROFS || rc == -ENOTDIR ? -EINVAL : rc;
	}
	if ((rc = write_manifest(f, "starting")) < 0) {
		snprintf(err, SUITE_ERRLEN, "cannot write in '%.300s': %s", f->dir, strerror(-rc));
		return -EINVAL;
	}
	return 0;
}

int fleet_open(struct fleet **out, const char *dir, uint64_t *seed, char *err)
{
	struct fleet *f = calloc(1, sizeof(*f));
	uint64_t digest, *digests = NULL, verdict = 0;
	char *names = NULL, ctx[HOST_NAME_MAX + 96];
	size_t *offs = NULL, *lens = NULL;
	unsigned count;
	int rc;

	*out = NULL;
	err[0] = '\0';
	if (!f) {
		snprintf(err, SUITE_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	f->open_ns = now_ns(); /* its start, until out: */
	f->memfd = -1;
	f->dir = dir;
	if (mpienv_init(err, SUITE_ERRLEN) < 0) {
		free(f);
		return -EIO;
	}
	f->rank = mpienv_rank();
	f->size = mpienv_size();
	if (gethostname(f->host, sizeof(f->host) - 1) < 0)
		snprintf(f->host, sizeof(f->host), "host");
	digest = selection_digest(&count);
	f->total = count * (unsigned)gb_repetitions();
	if (f->rank == 0) {
		f->hosts = calloc((size_t)f->size, sizeof(*f->hosts));
		digests = calloc((size_t)f->size, sizeof(*digests));
		offs = calloc((size_t)f->size, sizeof(*offs));
		lens = calloc((size_t)f->size, sizeof(*lens));
		if (!f->hosts || !digests || !offs || !lens) {
			rc = -ENOMEM;
			snprintf(err, SUITE_ERRLEN, "out of memory");
			goto lost; /* rank 0 cannot take part: mpirun ends the others */
		}
	}
	/* Every rank makes the same collectives in the same order, whatever
	 * rank 0 then decides. */
	if ((rc = fleetnet_gather_u64(digest, digests)) < 0 ||
	    (rc = fleetnet_gather(f->host, strlen(f->host), &names, offs, lens)) < 0)
		goto lost;
	if (f->rank == 0) {
		for (int i = 1; i < f->size && !verdict; i++) {
			if (digests[i] != digests[0]) {
				snprintf(err, SUITE_ERRLEN,
					 "--fleet: rank %d (host %.100s) selects other cases than rank 0 (host %.100s, %u cases): "
					 "every host must run the same ipclab build with the same flags",
					 i, names + offs[i], names, count);
				verdict = EINVAL;
			}
		}
		if (!verdict && (rc = prepare_dir(f, names, offs, err)) < 0)
			verdict = (uint64_t)-rc;
	}
	if ((rc = fleetnet_bcast_u64(&verdict)) < 0)
		goto lost;
	if (verdict) {
		rc = -(int)verdict; /* every rank knows: all stop alike */
		goto out;
	}
	if ((rc = fleetnet_bcast_u64(seed)) < 0)
		goto lost;
	/* This rank's own report (the library's file reporter) goes to memory:
	 * rank 0 writes the files, and a killed rank leaves nothing behind. */
	f->memfd = memfd_create("ipclab-fleet-report", MFD_CLOEXEC);
	if (f->memfd < 0) {
		rc = -errno;
		snprintf(err, SUITE_ERRLEN, "--fleet: memfd_create: %s", strerror(-rc));
		f->lost = true; /* this rank stops; mpirun ends the others */
		goto out;
	}
	snprintf(f->report_path, sizeof(f->report_path), "/proc/self/fd/%d", f->memfd);
	if (gb_set_output(f->report_path, "json") < 0) {
		rc = -ENOMEM;
		snprintf(err, SUITE_ERRLEN, "--fleet: cannot set the results file");
		f->lost = true;
		goto out;
	}
	snprintf(ctx, sizeof(ctx), "rank %d of %d on host %s; in step: one MPI barrier before each repetition",
		 f->rank, f->size, f->host);
	gb_add_context("ipclab_fleet", ctx);
	rc = 0;
	goto out;
lost:
	f->lost = true;
	snprintf(err, SUITE_ERRLEN, "--fleet: MPI failed while the hosts agreed on the run (%s)", strerror(-rc));
out:
	free(digests);
	free(names);
	free(offs);
	free(lens);
	f->open_ns = now_ns() - f->open_ns;
	*out = f;
	return rc;
}

/* Gather one text from every rank; rank 0 gets copies in texts[size]
 * (malloc'd, each NUL-ended).  0 or -errno. */
static int gather_texts(struct fleet *f, const char *text, char **texts)
{
	char *block = NULL;
	size_t *offs = NULL, *lens = NULL;
	int rc = -ENOMEM;

	if (f->rank == 0) {
		offs = calloc((size_t)f->size, sizeof(*offs));
		lens = calloc((size_t)f->size, sizeof(*lens));
		if (!offs || !lens)
			goto out;
	}
	rc = fleetnet_gather(text ? text : "", text ? strlen(text) : 0, &block, offs, lens);
	if (rc < 0) {
		f->lost = true;
		goto out;
	}
	for (int i = 0; f->rank == 0 && i < f->size; i++) {
		texts[i] = strndup(block + offs[i], lens[i]);
		if (!texts[i])
			rc = -ENOMEM;
	}
out:
	free(block);
	free(offs);
	free(lens);
	return rc;
}

static void free_texts(char **texts, int n)
{
	for (int i = 0; texts && i < n; i++)
		free(texts[i]);
	free(texts);
}

int fleet_begin(struct fleet *f, const struct topo *topo, char *err)
{
	uint64_t t0 = now_ns();
	char *head = gb_json_head(), *xml = NULL, *desc = NULL, terr[TOPO_ERRLEN] = "";
	char **heads = NULL, **xmls = NULL, **descs = NULL;
	size_t xlen = 0, dlen = 0;
	FILE *m = open_memstream(&desc, &dlen);
	int rc = 0;

	if (m) {
		suite_describe(m);
		if (fclose(m) != 0) {
			free(desc);
			desc = NULL;
		}
	}
	if (topo_xml_text(topo, &xml, &xlen, terr) < 0 || !head || !desc) {
		/* Sent empty: rank 0 says which host lacks what. */
		snprintf(err, SUITE_ERRLEN, "--fleet: %s", terr[0] ? terr : "out of memory");
	}
	if (f->rank == 0) {
		heads = calloc((size_t)f->size, sizeof(*heads));
		xmls = calloc((size_t)f->size, sizeof(*xmls));
		descs = calloc((size_t)f->size, sizeof(*descs));
		if (!heads || !xmls || !descs) {
			rc = -ENOMEM;
			f->lost = true; /* rank 0 cannot take part: mpirun ends the others */
		}
	}
	if (rc == 0 && (rc = gather_texts(f, head, heads)) == 0 && (rc = gather_texts(f, xml, xmls)) == 0)
		rc = gather_texts(f, desc, descs);
	for (int i = 0; rc == 0 && f->rank == 0 && i < f->size; i++) {
		struct fleet_host *h = &f->hosts[i];

		if (!heads[i][0] || !xmls[i][0] || !descs[i][0]) {
			snprintf(err, SUITE_ERRLEN, "--fleet: rank %d (host %s) could not describe its run", i, h->host);
			rc = -EIO;
			break;
		}
		h->head = heads[i];
		heads[i] = NULL;
		if ((rc = host_write(f, h, "topology.xml", (const char *const[]){ xmls[i] }, 1)) < 0 ||
		    (rc = host_write(f, h, "describe.json", (const char *const[]){ descs[i] }, 1)) < 0 ||
		    (rc = host_write_partial(f, h)) < 0)
			snprintf(err, SUITE_ERRLEN, "--fleet: writing %s/%s: %s", f->dir, h->folder, strerror(-rc));
	}
	if (rc == 0 && f->rank == 0 && (rc = write_manifest(f, "running")) < 0)
		snprintf(err, SUITE_ERRLEN, "--fleet: writing %s/fleet.json: %s", f->dir, strerror(-rc));
	/* Rank 0's verdict, then everyone starts together. */
	if (!f->lost) {
		uint64_t verdict = (uint64_t)-rc;

		if (fleetnet_bcast_u64(&verdict) < 0 || (!verdict && fleetnet_barrier() < 0)) {
			f->lost = true;
			verdict = EIO;
		}
		rc = -(int)verdict;
	}
	f->open_ns += now_ns() - t0;
	free_texts(heads, f->size);
	free_texts(xmls, f->size);
	free_texts(descs, f->size);
	free(head);
	free(xml);
	free(desc);
	return rc;
}

/* Rank 0: add one gathered repetition to host h. */
static int host_append(struct fleet_host *h, const char *entry, size_t len)
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

int fleet_after_rep(void *arg, struct gb_bench *b)
{
	struct fleet *f = arg;
	uint64_t t0 = now_ns();
	char *entry = gb_json_last(b), *block = NULL;
	size_t *offs = NULL, *lens = NULL;
	int rc = -ENOMEM;

	if (f->lost) {
		free(entry);
		return -EIO;
	}
	if (f->rank == 0) {
		offs = calloc((size_t)f->size, sizeof(*offs));
		lens = calloc((size_t)f->size, sizeof(*lens));
		if (!offs || !lens)
			goto out; /* rank 0 stops; mpirun ends the others */
	}
	rc = fleetnet_gather(entry ? entry : "", entry ? strlen(entry) : 0, &block, offs, lens);
	if (rc < 0) {
		f->lost = true;
		goto out;
	}
	if (f->rank == 0) {
		f->gathered++;
		for (int i = 0; i < f->size && rc == 0; i++) {
			if (!lens[i])
				continue;
			rc = host_append(&f->hosts[i], block + offs[i], lens[i]);
			if (rc == 0)
				rc = host_write_partial(f, &f->hosts[i]);
		}
		if (rc == 0)
			rc = write_manifest(f, "running");
		if (rc < 0)
			fprintf(stderr, "ipclab: --fleet: cannot write the gathered results in %s: %s\n", f->dir,
				strerror(-rc));
	}
	/* Everyone starts the next repetition together.  A rank 0 that could
	 * not write stops here; mpirun then ends the others. */
	if (rc == 0 && (rc = fleetnet_barrier()) < 0)
		f->lost = true;
out:
	if (rc < 0)
		f->lost = true;
	free(entry);
	free(block);
	free(offs);
	free(lens);
	f->step_ns += now_ns() - t0;
	return rc;
}

/* This rank's whole file report (written by gb_report_close into the
 * memory file), malloc'd; NULL when there is none or it is not whole. */
static char *own_report(const struct fleet *f)
{
	struct stat sb;
	char *text;
	size_t got = 0;

	if (f->memfd < 0 || fstat(f->memfd, &sb) < 0 || sb.st_size <= 0)
		return NULL;
	text = malloc((size_t)sb.st_size + 1);
	while (text && got < (size_t)sb.st_size) {
		ssize_t r = pread(f->memfd, text + got, (size_t)sb.st_size - got, (off_t)got);

		if (r <= 0) {
			free(text);
			return NULL;
		}
		got += (size_t)r;
	}
	if (text)
		text[got] = '\0';
	/* Whole: the reporter's ending was written. */
	if (text && (got < sizeof(GB_JSON_TAIL) - 1 || strcmp(text + got - (sizeof(GB_JSON_TAIL) - 1), GB_JSON_TAIL))) {
		free(text);
		return NULL;
	}
	return text;
}

int fleet_finish(struct fleet *f, int run_rc, char *err)
{
	char *own = run_rc == 0 ? own_report(f) : NULL, **all = NULL;
	int rc = 0, got = 0;

	err[0] = '\0';
	if (f->lost || sig_pending()) {
		/* The job is ending: no more MPI.  Rank 0 keeps every repetition
		 * gathered so far, and its own host's whole report. */
		if (f->rank == 0 && f->hosts) {
			if (own) {
				f->hosts[0].whole = host_write(f, &f->hosts[0], "bench.json",
							       (const char *const[]){ own }, 1) == 0;
			}
			write_manifest(f, sig_pending() ? "interrupted" : "a host was lost");
			fprintf(stderr, "ipclab: --fleet: the job ended early; every repetition gathered before is in %s\n",
				f->dir);
		}
		free(own);
		if (sig_pending())
			return 0; /* the exit status is the signal's */
		snprintf(err, SUITE_ERRLEN, "--fleet: a host was lost (MPI failed); the job ends early");
		return -EIO;
	}
	if (f->rank == 0 && !(all = calloc((size_t)f->size, sizeof(*all))))
		rc = -ENOMEM;
	if (rc == 0)
		rc = gather_texts(f, own, all);
	for (int i = 0; rc == 0 && f->rank == 0 && i < f->size; i++) {
		struct fleet_host *h = &f->hosts[i];

		if (!all[i][0])
			continue; /* its report is not whole: the gathered repetitions stay */
		rc = host_write(f, h, "bench.json", (const char *const[]){ all[i] }, 1);
		h->whole = rc == 0;
		got += h->whole;
	}
	if (f->rank == 0 && f->hosts) {
		int mrc = write_manifest(f, got == f->size ? "complete" : "complete, some hosts' reports were not whole");

		if (rc == 0)
			rc = mrc;
		if (rc < 0)
			snprintf(err, SUITE_ERRLEN, "--fleet: writing the results in %s: %s", f->dir, strerror(-rc));
		else
			fprintf(stderr, "ipclab: fleet results of %d host(s) in %s (report: make report RESULTS=%s)\n",
				f->size, f->dir, f->dir);
	}
	/* What fleet mode itself cost this rank (the figure of the README). */
	fprintf(stderr, "ipclab: --fleet: rank %d: start-up (MPI_Init, agreeing, first files) %.2f s; "
		"gathering, writing and waiting for the other hosts after each of %u repetitions %.2f s\n",
		f->rank, (double)f->open_ns / 1e9, f->total, (double)f->step_ns / 1e9);
	if (!f->lost && fleetnet_barrier() == 0)
		mpienv_finalize();
	free_texts(all, f->rank == 0 ? f->size : 0);
	free(own);
	return rc;
}

void fleet_free(struct fleet *f)
{
	if (!f)
		return;
	/* All ranks in step (bad input everyone agreed on, or the end): leave
	 * MPI cleanly.  Peers gone or a signal: exit without, mpirun ends the
	 * job (MPI_Finalize could wait for a dead peer). */
	if (!f->lost && !sig_pending())
		mpienv_finalize();
	for (int i = 0; f->hosts && i < f->size; i++) {
		free(f->hosts[i].head);
		free(f->hosts[i].body);
	}
	free(f->hosts);
	if (f->memfd >= 0)
		close(f->memfd);
	free(f);
}
