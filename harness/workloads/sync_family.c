/* sync_family.c - the sync family (every impl/sync.h table is a subject)
 * and the engine that runs any sync workload: objects created before the
 * pool starts, attached in each worker, sealed once all attached, destroyed
 * at the end (also after a worker died). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "sync_family.h"

static const void *sync_member(unsigned i)
{
	for (unsigned k = 0; sync_registry[k]; k++)
		if (k == i)
			return sync_registry[k];
	return NULL;
}

static const char *sync_member_name(const void *t)
{
	return ((const struct sync_ops *)t)->name;
}

static const char *sync_member_summary(const void *t)
{
	return ((const struct sync_ops *)t)->summary;
}

static unsigned sync_member_waits(const void *t)
{
	return ((const struct sync_ops *)t)->caps.waits;
}

static bool sync_member_yields(const void *t)
{
	return ((const struct sync_ops *)t)->caps.flags & SYNC_YIELDS;
}

const struct family family_sync = {
	.name = "sync",
	.summary = "synchronization primitives: locks, semaphores, events, notifications, barriers",
	.member = sync_member,
	.member_name = sync_member_name,
	.member_summary = sync_member_summary,
	.member_waits = sync_member_waits,
	.member_yields = sync_member_yields,
};

static const struct sync_graph *graph_of(const struct case_run *r)
{
	return r->spec.workload->graph;
}

static int sync_prepare(struct case_run *r, char *why)
{
	const struct sync_graph *g = graph_of(r);
	const struct sync_ops *o = r->spec.subject.table;
	struct sync_case *sc;

	if (!(o->caps.ops & g->ops_any)) {
		snprintf(why, SCENARIO_ERRLEN, "skipped: %s needs %s; %s has none of them",
			 r->spec.workload->name, g->needs, o->name);
		return -ENOTSUP;
	}
	if ((unsigned)r->spec.wait >= IPC_WAIT_COUNT ||
	    !(o->caps.waits & IPC_WAIT_BIT(r->spec.wait))) {
		snprintf(why, SCENARIO_ERRLEN, "skipped: %s has no %s wait (it has%s%s)", o->name,
			 ipc_wait_name(r->spec.wait),
			 o->caps.waits & IPC_WAIT_BIT(IPC_WAIT_BLOCK) ? " block" : "",
			 o->caps.waits & IPC_WAIT_BIT(IPC_WAIT_SPIN) ? " spin" : "");
		return -ENOTSUP;
	}
	if (!(o->caps.flags & SYNC_PROCESS_SHARED) && !pool_backend_shares_memory(r->spec.workers)) {
		snprintf(why, SCENARIO_ERRLEN, "skipped: %s is thread-only (keyed to one address "
			 "space); run it with --workers=thread", o->name);
		return -ENOTSUP;
	}
	sc = calloc(1, sizeof(*sc));
	if (!sc)
		return -ENOMEM;
	sc->ops = o;
	sc->sh = mmap(NULL, sizeof(*sc->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		      -1, 0);
	if (sc->sh == MAP_FAILED) {
		free(sc);
		snprintf(why, SCENARIO_ERRLEN, "failed: mmap of the workers' shared state");
		return -ENOMEM;
	}
	r->fam = sc;
	return 0;
}

static int sync_create(struct case_run *r, char *why)
{
	const struct sync_graph *g = graph_of(r);
	struct sync_case *sc = r->fam;
	struct sync_params p = {
		.parties = r->nprocs,
		.wait = r->spec.wait,
		.workers = pool_backend_shares_memory(r->spec.workers) ? SYNC_WORKERS_THREAD
								       : SYNC_WORKERS_PROCESS,
		.initial = g->sem_initial,
	};

	for (unsigned i = 0; i < sync_graph_nobj(g, sc->ops); i++) {
		char err[SYNC_ERRLEN] = "";
		int rc = sc->ops->create(&p, &sc->obj[i], err);

		if (rc < 0) {
			sc->obj[i] = NULL;
			snprintf(why, SCENARIO_ERRLEN, "%s%s", rc == -ENOTSUP ? "skipped: " : "failed: ",
				 err);
			return rc;
		}
		sc->nobj++;
	}
	return 0;
}

/* Every worker attached: names nobody needs any more go now. */
static void sync_started(struct case_run *r)
{
	struct sync_case *sc = r->fam;

	for (unsigned i = 0; i < sc->nobj; i++)
		if (sc->ops->seal)
			sc->ops->seal(sc->obj[i]);
}

static void sync_destroy(struct case_run *r)
{
	struct sync_case *sc = r->fam;

	if (!sc)
		return;
	for (unsigned i = 0; i < sc->nobj; i++)
		sc->ops->destroy(sc->obj[i]);
	munmap(sc->sh, sizeof(*sc->sh));
	free(sc);
	r->fam = NULL;
}

static bool sync_talks(const struct case_run *r, unsigned from, unsigned to)
{
	(void)r;
	return from != to;
}

static int sync_setup(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	struct sync_case *sc = r->fam;
	struct sync_worker *me = calloc(1, sizeof(*me));

	if (!me) {
		snprintf(w->err, POOL_ERRLEN, "out of memory");
		return -ENOMEM;
	}
	w->priv = me;
	for (unsigned i = 0; i < sc->nobj; i++) {
		char err[SYNC_ERRLEN] = "";
		int rc = sc->ops->attach(sc->obj[i], &me->h[i], err);

		if (rc < 0) {
			me->h[i] = NULL;
			snprintf(w->err, POOL_ERRLEN, "attach %s: %s", sc->ops->name, err);
			return rc;
		}
	}
	return 0;
}

static void sync_teardown(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	struct sync_case *sc = r->fam;
	struct sync_worker *me = w->priv;

	if (!me)
		return;
	for (unsigned i = 0; i < sc->nobj; i++)
		if (me->h[i] && (me->held & (1u << i)))
			sc->ops->unlock(me->h[i]); /* a lock kept across rounds */
	for (unsigned i = 0; i < sc->nobj; i++)
		if (me->h[i])
			sc->ops->detach(me->h[i]);
	free(me);
	w->priv = NULL;
}

static int sync_round(struct pool_worker *w, const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct case_run *r = w->arg;

	return graph_of(r)->round(w, r->fam, w->priv, cmd, out);
}

static int sync_check_round(const struct case_run *r, uint64_t n, uint64_t sum, uint64_t sumsq,
			    char *why)
{
	const struct sync_graph *g = graph_of(r);

	(void)sum, (void)sumsq;
	return g->check ? g->check(r, r->fam, n, why) : 0;
}

static void sync_counters(const struct case_run *r, struct case_round *out)
{
	const struct sync_graph *g = graph_of(r);

	if (g->counters)
		g->counters(r, out);
}

const struct wl_engine sync_engine = {
	.prepare = sync_prepare,
	.create = sync_create,
	.started = sync_started,
	.destroy = sync_destroy,
	.talks = sync_talks,
	.setup = sync_setup,
	.round = sync_round,
	.teardown = sync_teardown,
	.check_round = sync_check_round,
	.counters = sync_counters,
};
