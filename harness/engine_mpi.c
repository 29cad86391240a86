/* engine_mpi.c - a case across MPI ranks (--workers=mpi, issue 17): rank 0
 * describes the case to the other ranks (pool_mpi.c carries it), each rank
 * opens its own worker's side of it (the family's rank_create: a channel is
 * created by the rank that receives on it, and exported as one line of
 * text), and every rank imports the others' lines (rank_import) before its
 * setup.  Ranks run the same binary, so tables travel as registry indices.
 * Nothing here names a workload or a mechanism. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpienv.h"
#include "pool_mpi.h"
#include "workload.h"

/* The channel table a worker's rank may write (every line of its own). */
#define CASE_MPI_LINES 8192
#define CASE_WIRE_MAGIC 0x69706331u /* "ipc1" */

/* A case as bytes: the spec with its pointers as registry indices. */
struct case_wire {
	uint32_t magic;
	uint32_t workload, family, member; /* indices; member UINT32_MAX: none */
	uint32_t wait, verify, depth, timeout_ms, pool, matrix_max_pairs;
	uint64_t size, cs_ns, outside_ns;
	uint64_t axis[WL_MAX_AXES];
	struct load_spec load;
	struct placement placement;
};

static int rank_import(void *arg, unsigned worker, const char *table, char *err)
{
	struct case_run *r = arg;

	return r->spec.workload->engine->rank_import(r, worker, table, err);
}

static int case_encode(const struct case_spec *sp, struct case_wire *w)
{
	const struct workload *wl;
	const struct family *f;
	unsigned i = 0;

	memset(w, 0, sizeof(*w));
	w->magic = CASE_WIRE_MAGIC;
	w->workload = w->family = w->member = UINT32_MAX;
	wl_for_each(wl) {
		if (wl == sp->workload)
			w->workload = i;
		i++;
	}
	i = 0;
	family_for_each(f) {
		if (f == sp->subject.family)
			w->family = i;
		i++;
	}
	for (i = 0; sp->subject.family && sp->subject.family->member(i); i++)
		if (sp->subject.family->member(i) == sp->subject.table)
			w->member = i;
	if (w->workload == UINT32_MAX || !sp->placement)
		return -EINVAL;
	w->wait = sp->wait;
	w->verify = sp->verify;
	w->depth = sp->depth;
	w->timeout_ms = sp->timeout_ms;
	w->pool = sp->pool;
	w->matrix_max_pairs = sp->matrix_max_pairs;
	w->size = sp->size;
	w->cs_ns = sp->cs_ns;
	w->outside_ns = sp->outside_ns;
	memcpy(w->axis, sp->axis, sizeof(w->axis));
	w->load = sp->load;
	w->placement = *sp->placement;
	return 0;
}

/* The spec back (placement into *pl), or -EPROTO. */
static int case_decode(const void *blob, size_t len, const struct topo *topo, struct placement *pl,
		       struct case_spec *sp)
{
	const struct workload *wl;
	const struct family *f;
	struct case_wire w;
	unsigned i = 0;

	if (len != sizeof(w))
		return -EPROTO;
	memcpy(&w, blob, sizeof(w));
	if (w.magic != CASE_WIRE_MAGIC || w.wait >= IPC_WAIT_COUNT)
		return -EPROTO;
	memset(sp, 0, sizeof(*sp));
	wl_for_each(wl)
		if (i++ == w.workload)
			sp->workload = wl;
	i = 0;
	family_for_each(f)
		if (i++ == w.family)
			sp->subject.family = f;
	if (!sp->workload)
		return -EPROTO;
	if (sp->subject.family) {
		sp->subject.table = w.member == UINT32_MAX ? NULL : sp->subject.family->member(w.member);
		if (!sp->subject.table)
			return -EPROTO;
	}
	*pl = w.placement;
	sp->placement = pl;
	sp->topo = topo;
	sp->wait = (enum ipc_wait)w.wait;
	sp->verify = (enum verify_mode)w.verify;
	sp->depth = w.depth;
	sp->timeout_ms = w.timeout_ms;
	sp->pool = w.pool;
	sp->matrix_max_pairs = w.matrix_max_pairs;
	sp->size = (size_t)w.size;
	sp->cs_ns = w.cs_ns;
	sp->outside_ns = w.outside_ns;
	memcpy(sp->axis, w.axis, sizeof(sp->axis));
	sp->load = w.load;
	sp->workers = POOL_MPI;
	return 0;
}

int case_mpi_describe(struct case_run *r, struct pool_cfg *cfg, char *why)
{
	const struct wl_engine *e = r->spec.workload->engine;
	struct case_wire *w;
	char *lines;
	int rc;

	cfg->mpi_case = NULL;
	cfg->mpi_lines = NULL;
	if (!e->rank_create || !e->rank_import)
		return case_why(why, -ENOTSUP, "%s cases cannot cross MPI ranks (what their workers share lives in one machine's memory)",
				r->spec.workload->family ? r->spec.workload->family->name : r->spec.workload->name);
	if (!mpienv_launched() || (unsigned)mpienv_size() < r->nprocs)
		return case_why(why, -ENOTSUP, "needs %u ranks (one per worker), the MPI job has %d: mpirun -n %u",
				r->nprocs, mpienv_size(), r->nprocs);
	w = malloc(sizeof(*w));
	lines = calloc(1, CASE_MPI_LINES);
	cfg->mpi_case = w;
	cfg->mpi_lines = lines;
	if (!w || !lines)
		return case_why(why, -ENOMEM, "out of memory");
	if (case_encode(&r->spec, w) < 0)
		return case_why(why, -EINVAL, "this case cannot be described to other ranks");
	cfg->mpi_case_len = sizeof(*w);
	cfg->mpi_import = rank_import;
	rc = e->rank_create(r, 0, lines, CASE_MPI_LINES, why);
	return rc;
}

void case_mpi_free(struct pool_cfg *cfg)
{
	free((void *)cfg->mpi_case);
	free((void *)cfg->mpi_lines);
	cfg->mpi_case = NULL;
	cfg->mpi_lines = NULL;
}

static void rank_close(void *ctx, void *arg)
{
	struct case_run *r = arg;
	const struct placement *pl;

	(void)ctx;
	if (!r)
		return;
	pl = r->spec.placement;
	case_close(r, NULL); /* no pool here: destroys what the rank made */
	free((void *)pl);
}

static int rank_open(void *ctx, const void *blob, size_t len, unsigned worker, struct pool_cfg *cfg,
		     char *text, size_t cap, char *why)
{
	const struct topo *topo = ctx;
	struct placement *pl = malloc(sizeof(*pl));
	struct case_run *r = calloc(1, sizeof(*r));
	char err[TOPO_ERRLEN] = "", cwhy[SCENARIO_ERRLEN] = "";
	int rc;

	why[0] = '\0';
	if (!pl || !r) {
		free(pl);
		free(r);
		snprintf(why, POOL_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	rc = case_decode(blob, len, topo, pl, &r->spec);
	if (rc < 0) {
		free(pl);
		free(r);
		snprintf(why, POOL_ERRLEN, "a case this build cannot read (is every rank the same ipclab binary?)");
		return rc;
	}
	r->nprocs = r->spec.workload->procs(r->spec.pool);
	r->cpus = calloc(r->nprocs, sizeof(*r->cpus));
	if (!r->cpus) {
		rank_close(ctx, r);
		snprintf(why, POOL_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	rc = r->spec.workload->engine->prepare(r, cwhy);
	/* Placement on this host, for the ranks of this host (local rank). */
	if (rc >= 0 && (rc = topo_place(topo, pl, r->nprocs, r->cpus, &r->oversubscribed, err)) < 0)
		snprintf(cwhy, sizeof(cwhy), "%s", err);
	if (rc >= 0)
		rc = r->spec.workload->engine->rank_create(r, worker, text, cap, cwhy);
	if (rc < 0) {
		/* Rank 0 says "failed: worker N (rank N on HOST): ..." itself. */
		size_t o = strlen(case_outcome_name(case_outcome_of(rc)));

		snprintf(why, POOL_ERRLEN, "%s", strncmp(cwhy, case_outcome_name(case_outcome_of(rc)), o) == 0 &&
			 cwhy[o] == ':' ? cwhy + o + 2 : cwhy);
		rank_close(ctx, r);
		return rc;
	}
	*cfg = (struct pool_cfg){ .nworkers = r->nprocs, .cpus = r->cpus, .topo = topo,
				  .backend = POOL_MPI, .mpi_import = rank_import };
	case_pool_callbacks(r, cfg);
	return 0;
}

int case_mpi_serve(const struct topo *topo, char *why)
{
	struct pool_mpi_host h = { .open = rank_open, .close = rank_close, .ctx = (void *)topo };

	return pool_mpi_serve(&h, why);
}
