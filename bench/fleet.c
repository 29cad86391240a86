/* fleet.c - fleet mode (see fleet.h): the hosts agree on what to run, run
 * it in step, and rank 0 keeps every host's results in DIR/FOLDER/.  The
 * MPI calls are in fleetnet.c, rank 0's files in fleetdir.c; this file
 * never measures and never forks. */
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
#include "fleetdir.h"
#include "fleetnet.h"
#include "histout.h"
#include "mpienv.h"
#include "outdir.h"
#include "sig.h"
#include "suite.h"

#define FLEET_LAUNCH "mpirun --map-by ppr:1:node -n HOSTS build/ipclab --fleet [selection] --out=DIR"

struct fleet {
	int rank, size;
	char host[HOST_NAME_MAX + 1];
	int memfd;                      /* this rank's file report */
	char report_path[64];
	bool lost;                      /* a collective failed: no more MPI */
	struct fleet_dir fd;            /* rank 0: the fleet folder, a host per rank */
	uint64_t step_ns;               /* in fleet_after_rep: gathering, writing, waiting */
	uint64_t open_ns;               /* in fleet_open and fleet_begin */
	char *files;                    /* fleet_keep_file's files, for the next repetition's message */
	size_t flen, fcap;
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
	f->fd.dir = dir;
	if (mpienv_init(err, SUITE_ERRLEN) < 0) {
		free(f);
		return -EIO;
	}
	f->rank = mpienv_rank();
	f->size = mpienv_size();
	if (gethostname(f->host, sizeof(f->host) - 1) < 0)
		snprintf(f->host, sizeof(f->host), "host");
	digest = selection_digest(&count);
	f->fd.total = count * (unsigned)gb_repetitions();
	if (f->rank == 0) {
		f->fd.n = f->size;
		f->fd.hosts = calloc((size_t)f->size, sizeof(*f->fd.hosts));
		digests = calloc((size_t)f->size, sizeof(*digests));
		offs = calloc((size_t)f->size, sizeof(*offs));
		lens = calloc((size_t)f->size, sizeof(*lens));
		for (int i = 0; f->fd.hosts && i < f->size; i++)
			f->fd.hosts[i].json_fd = -1;
		if (!f->fd.hosts || !digests || !offs || !lens) {
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
		if (!verdict && (rc = fleetdir_prepare(&f->fd, names, offs, err)) < 0)
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
	snprintf(ctx, sizeof(ctx), "rank %d of %d on host %s; in step: an MPI barrier between two repetitions",
		 f->rank, f->size, f->host);
	gb_add_context("ipclab_fleet", ctx);
	/* One table on the terminal: rank 0's.  The others' results are in
	 * DIR; their progress and errors stay on stderr. */
	if (f->rank != 0) {
		int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

		fflush(stdout);
		if (null >= 0) {
			dup2(null, STDOUT_FILENO);
			close(null);
		}
	}
	rc = 0;
	goto out;
lost:
	f->lost = true;
	if (!err[0])
		snprintf(err, SUITE_ERRLEN, "--fleet: MPI failed while the hosts agreed on the run (%s)",
			 strerror(-rc));
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
		if (!offs || !lens) {
			f->lost = true; /* rank 0 cannot take part: mpirun ends the others */
			goto out;
		}
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
		struct fleet_host *h = &f->fd.hosts[i];

		if (!heads[i][0] || !xmls[i][0] || !descs[i][0]) {
			snprintf(err, SUITE_ERRLEN, "--fleet: rank %d (host %s) could not describe its run", i, h->host);
			rc = -EIO;
			break;
		}
		h->head = heads[i];
		heads[i] = NULL;
		if ((rc = fleetdir_write(&f->fd, h, "topology.xml", (const char *const[]){ xmls[i] }, 1)) < 0 ||
		    (rc = fleetdir_write(&f->fd, h, "describe.json", (const char *const[]){ descs[i] }, 1)) < 0 ||
		    (rc = fleetdir_write_partial(&f->fd, h)) < 0)
			snprintf(err, SUITE_ERRLEN, "--fleet: writing %s/%s: %s", f->fd.dir, h->folder, strerror(-rc));
	}
	if (rc == 0 && f->rank == 0 && (rc = fleetdir_manifest(&f->fd, "running")) < 0)
		snprintf(err, SUITE_ERRLEN, "--fleet: writing %s/fleet.json: %s", f->fd.dir, strerror(-rc));
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

/* A plain name of a file in a host's folder that a repetition may bring
 * (not the files rank 0 writes itself). */
static bool file_name_ok(const char *name)
{
	static const char *const own[] = { "bench.json", "topology.xml", "describe.json", "fleet.json" };

	if (!name[0] || name[0] == '.' || strchr(name, '/'))
		return false;
	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (strcmp(name, own[i]) == 0)
			return false;
	return true;
}

int fleet_keep_file(void *arg, const char *name, const char *text)
{
	struct fleet *f = arg;
	size_t nlen = strlen(name), tlen = strlen(text), need = f->flen + nlen + tlen + 2;

	if (!file_name_ok(name))
		return -EINVAL;
	if (need > f->fcap) {
		size_t cap = f->fcap ? f->fcap : 4096;
		char *nb;

		while (cap < need)
			cap *= 2;
		nb = realloc(f->files, cap);
		if (!nb)
			return -ENOMEM;
		f->files = nb;
		f->fcap = cap;
	}
	f->files[f->flen++] = '\0';
	memcpy(f->files + f->flen, name, nlen + 1);
	f->flen += nlen + 1;
	memcpy(f->files + f->flen, text, tlen);
	f->flen += tlen;
	return 0;
}

/* What a rank sends after a repetition: the JSON reporter's object, then
 * one record per file for the host's folder, each a NUL, its name in the
 * folder, a NUL and its text: the repetition's histogram (hist/NAME, when
 * it kept one) and what fleet_keep_file was given since the last message
 * (a matrix case's CSVs).  Malloc'd into *msg (NULL and 0: nothing to
 * send). */
static void rep_message(struct fleet *f, struct gb_bench *b, const struct hist *h, char **msg, size_t *len)
{
	char *entry = gb_json_last(b), name[256];
	const struct suite_case *c = gb_user(b);
	FILE *m;

	*msg = NULL;
	*len = 0;
	if (!entry || !(m = open_memstream(msg, len))) {
		free(entry);
		f->flen = 0;
		return;
	}
	fputs(entry, m);
	if (h && c && gb_runs_kept(b) > 0 &&
	    histout_file_name(c->name, gb_runs_kept(b) - 1, name, sizeof(name)) == 0) {
		fputc('\0', m);
		fprintf(m, "%s/%s", HISTOUT_SUBDIR, name);
		fputc('\0', m);
		hist_print_hgrm(h, m);
	}
	if (f->flen)
		fwrite(f->files, 1, f->flen, m);
	f->flen = 0;
	if (fclose(m) != 0) {
		free(*msg);
		*msg = NULL;
		*len = 0;
	}
	free(entry);
}

/* Rank 0: one host's message (rep_message) into its folder: the
 * repetition into its bench.json, each file record into its file. */
static int keep_message(struct fleet *f, struct fleet_host *h, const char *msg, size_t len)
{
	const char *end = msg + len, *p;
	size_t elen = strnlen(msg, len);
	int rc = fleetdir_add(&f->fd, h, msg, elen);

	/* Records: NUL, name, NUL, text up to the next NUL or the end (where
	 * fleetnet puts a NUL). */
	for (p = msg + elen; rc == 0 && p < end; ) {
		const char *name = p + 1, *text;
		size_t nlen = strnlen(name, (size_t)(end - name)), hlen = sizeof(HISTOUT_SUBDIR);
		char *copy;

		if (name + nlen >= end)
			return -EPROTO;
		text = name + nlen + 1;
		p = text + strnlen(text, (size_t)(end - text));
		copy = strndup(text, (size_t)(p - text));
		if (!copy)
			return -ENOMEM;
		if (strncmp(name, HISTOUT_SUBDIR "/", hlen) == 0)
			rc = fleetdir_write_hist(&f->fd, h, name + hlen, copy);
		else if (file_name_ok(name))
			rc = fleetdir_write(&f->fd, h, name, (const char *const[]){ copy }, 1);
		else
			rc = -EPROTO;
		free(copy);
	}
	return rc;
}

int fleet_after_rep(void *arg, struct gb_bench *b, const struct hist *h)
{
	struct fleet *f = arg;
	uint64_t t0 = now_ns();
	char *entry = NULL, *block = NULL;
	size_t *offs = NULL, *lens = NULL, elen = 0;
	int rc = -ENOMEM;

	if (f->lost)
		return -EIO;
	rep_message(f, b, h, &entry, &elen);
	if (f->rank == 0) {
		offs = calloc((size_t)f->size, sizeof(*offs));
		lens = calloc((size_t)f->size, sizeof(*lens));
		if (!offs || !lens)
			goto out; /* rank 0 stops; mpirun ends the others */
	}
	rc = fleetnet_gather(entry ? entry : "", elen, &block, offs, lens);
	if (rc < 0) {
		f->lost = true;
		goto out;
	}
	if (f->rank == 0) {
		f->fd.gathered++;
		for (int i = 0; i < f->size && rc == 0; i++)
			if (lens[i])
				rc = keep_message(f, &f->fd.hosts[i], block + offs[i], lens[i]);
		if (rc == 0)
			rc = fleetdir_manifest(&f->fd, "running");
		if (rc < 0)
			fprintf(stderr, "ipclab: --fleet: cannot write the gathered results in %s: %s\n", f->fd.dir,
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
		if (f->rank == 0 && f->fd.hosts) {
			if (own) {
				f->fd.hosts[0].whole = fleetdir_write(&f->fd, &f->fd.hosts[0], "bench.json",
							       (const char *const[]){ own }, 1) == 0;
			}
			fleetdir_manifest(&f->fd, sig_pending() ? "interrupted" : "a host was lost");
			fprintf(stderr, "ipclab: --fleet: the job ended early; every repetition gathered before is in %s\n",
				f->fd.dir);
		}
		free(own);
		if (sig_pending())
			return 0; /* the exit status is the signal's */
		snprintf(err, SUITE_ERRLEN, "--fleet: a host was lost (MPI failed); the job ends early");
		return -EIO;
	}
	if (f->rank == 0 && !(all = calloc((size_t)f->size, sizeof(*all)))) {
		rc = -ENOMEM;
		f->lost = true; /* rank 0 cannot take part: mpirun ends the others */
	}
	if (rc == 0)
		rc = gather_texts(f, own, all);
	for (int i = 0; rc == 0 && f->rank == 0 && i < f->size; i++) {
		struct fleet_host *h = &f->fd.hosts[i];

		if (!all[i][0])
			continue; /* its report is not whole: the gathered repetitions stay */
		rc = fleetdir_write(&f->fd, h, "bench.json", (const char *const[]){ all[i] }, 1);
		h->whole = rc == 0;
		got += h->whole;
	}
	if (f->rank == 0 && f->fd.hosts) {
		int mrc = fleetdir_manifest(&f->fd, got == f->size ? "complete"
					    : "complete, some hosts' reports were not whole");

		if (rc == 0)
			rc = mrc;
		if (rc < 0)
			snprintf(err, SUITE_ERRLEN, "--fleet: writing the results in %s: %s", f->fd.dir, strerror(-rc));
		else
			fprintf(stderr, "ipclab: fleet results of %d host(s) in %s (report: make report RESULTS=%s)\n",
				f->size, f->fd.dir, f->fd.dir);
	}
	if (rc < 0 && !err[0])
		snprintf(err, SUITE_ERRLEN, "--fleet: sending the results to rank 0: %s", strerror(-rc));
	/* What fleet mode itself cost this rank (the figure of the README). */
	fprintf(stderr, "ipclab: --fleet: rank %d: start-up (MPI_Init, agreeing, first files) %.2f s; "
		"gathering, writing and waiting for the other hosts after each of %u repetitions %.2f s",
		f->rank, (double)f->open_ns / 1e9, f->fd.total, (double)f->step_ns / 1e9);
	if (f->rank == 0)
		fprintf(stderr, "; %llu bytes written into the hosts' bench.json", (unsigned long long)f->fd.json_bytes);
	fputc('\n', stderr);
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
	fleetdir_free(&f->fd);
	if (f->memfd >= 0)
		close(f->memfd);
	free(f->files);
	free(f);
}
