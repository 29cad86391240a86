/* suite.c - the case matrix of build/ipclab and the Google Benchmark case
 * function that runs any of them through the harness. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "channel.h"
#include "clock.h"
#include "gbench.h"
#include "sig.h"
#include "suite.h"

/* The profiles.  quick: every mechanism family at the sizes people ask
 * about, under 10 minutes on 2 cores; full: sizes 16 B .. 1 MiB by powers
 * of 4, pools up to twice the PUs, every placement, every wait. */
static const size_t quick_sizes_pair[] = { 64, 4096, 65536 };
static const size_t quick_sizes_pool[] = { 64 };
static const unsigned quick_pools[] = { 1, 2, 4 };
static const size_t full_sizes_pair[] = { 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576 };
static const size_t full_sizes_pool[] = { 64, 4096, 65536 };
/* Lock workloads (lock_axes): ns inside and outside the lock. */
static const uint64_t quick_cs[] = { 0 };
static const uint64_t full_cs[] = { 0, 100, 1000 };
static const uint64_t default_outside[] = { 0 };
/* Open-loop workloads (load_axis): closed loop, then these fractions of
 * the case's saturation, at 64-byte messages (quick: the workload's
 * quick_load_subjects only; full: every subject). */
static const struct load_spec profile_loads[] = { { .fraction = 0.1 }, { .fraction = 0.5 }, { .fraction = 0.9 } };
static const struct load_spec closed_loop[] = { { 0 } };
#define PROFILE_LOAD_SIZE 64
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

const uint64_t *suite_lock_axis_values(bool cs, unsigned *n)
{
	if (cs) {
		*n = NELEM(full_cs); /* quick_cs is a subset */
		return full_cs;
	}
	*n = NELEM(default_outside);
	return default_outside;
}

const struct load_spec *suite_load_values(unsigned *n)
{
	*n = sizeof(profile_loads) / sizeof(profile_loads[0]);
	return profile_loads;
}

static bool named_in(const char *const *list, const struct subject *s)
{
	for (; list && *list; list++)
		if (strcmp(*list, subject_name(s)) == 0)
			return true;
	return false;
}

/* The loads a case runs at: --load, else closed loop and (at the profile's
 * size, for the profile's subjects) the profile's fractions. */
static unsigned loads_for(const struct selection *sel, const struct workload *wl, const struct subject *sub,
			  size_t size, struct load_spec *out)
{
	unsigned n = 0;

	if (!wl->load_axis) {
		out[n++] = closed_loop[0];
		return n;
	}
	if (sel->nloads) {
		memcpy(out, sel->loads, sel->nloads * sizeof(*out));
		return sel->nloads;
	}
	out[n++] = closed_loop[0];
	/* Only where the profile chose the size (as quick_small_drops: a
	 * size named on the command line keeps its cases as they were). */
	if (!sel->nsizes && size == PROFILE_LOAD_SIZE &&
	    (sel->profile == PROFILE_FULL || named_in(wl->quick_load_subjects, sub)))
		for (unsigned k = 0; k < NELEM(profile_loads); k++)
			out[n++] = profile_loads[k];
	return n;
}

/* The cs:NS and outside:NS values a workload runs at (one 0 each when it
 * has no lock axes). */
static void lock_axes_for(const struct selection *sel, const struct workload *wl,
			  const uint64_t **cs, unsigned *ncs, const uint64_t **out, unsigned *nout)
{
	*cs = default_outside, *ncs = 1, *out = default_outside, *nout = 1;
	if (!wl->lock_axes)
		return;
	if (sel->ncs)
		*cs = sel->cs_ns, *ncs = sel->ncs;
	else if (sel->profile == PROFILE_FULL)
		*cs = full_cs, *ncs = NELEM(full_cs);
	else
		*cs = quick_cs, *ncs = NELEM(quick_cs);
	if (sel->noutside)
		*out = sel->outside_ns, *nout = sel->noutside;
}

/* The values each of a workload's own axes runs at: its flag's list, else
 * the profile's, else its default. */
struct axis_lists {
	const uint64_t *v[WL_MAX_AXES];
	unsigned n[WL_MAX_AXES];
	unsigned nax;
	size_t combos;              /* product of the n[] */
};

static void axes_for(const struct selection *sel, const struct workload *wl, struct axis_lists *al)
{
	memset(al, 0, sizeof(*al));
	al->combos = 1;
	for (const struct wl_axis *const *ax = wl->axes; ax && *ax && al->nax < WL_MAX_AXES; ax++) {
		unsigned i = al->nax++;
		const uint64_t *prof = sel->profile == PROFILE_FULL ? (*ax)->full : (*ax)->quick;

		al->v[i] = &(*ax)->def, al->n[i] = 1;
		for (unsigned k = 0; k < sel->naxes; k++)
			if (sel->axes[k].axis == *ax)
				al->v[i] = sel->axes[k].v, al->n[i] = sel->axes[k].n;
		if (al->v[i] == &(*ax)->def && prof) {
			unsigned n = 0;

			while (prof[n] != WL_AXIS_END)
				n++;
			if (n)
				al->v[i] = prof, al->n[i] = n;
		}
		al->combos *= al->n[i];
	}
}

/* Combination c of the axis lists into spec->axis[]. */
static void axes_pick(const struct axis_lists *al, size_t c, struct case_spec *spec)
{
	for (unsigned i = al->nax; i-- > 0;) {
		spec->axis[i] = al->v[i][c % al->n[i]];
		c /= al->n[i];
	}
}

/* The pools a workload runs at: the selection's, with pool 1 first when
 * the workload reads its speed-up against it (pool1_baseline). */
static unsigned pools_for(const struct workload *wl, const unsigned *pools, unsigned npool, unsigned *out)
{
	unsigned n = 0;
	bool has1 = false;

	for (unsigned q = 0; q < npool; q++)
		has1 |= pools[q] == 1;
	if (wl->pool1_baseline && !has1)
		out[n++] = 1;
	for (unsigned q = 0; q < npool; q++)
		out[n++] = pools[q];
	return n;
}

/* Does the profile run this subject with this workload?  The quick profile
 * runs a workload's quick_subjects only, unless --impl names subjects. */
static bool in_profile(const struct selection *sel, const struct workload *wl, const struct subject *s)
{
	if (sel->nimpls || sel->profile == PROFILE_FULL || !wl->quick_subjects)
		return true;
	for (const char *const *q = wl->quick_subjects; *q; q++)
		if (strcmp(*q, subject_name(s)) == 0)
			return true;
	return false;
}

/* Does the workload run at this pool size?  Without a pool axis only at 1
 * (the one place this rule lives); in the quick profile, with --pool
 * absent, only up to its quick_max_pool. */
static bool pool_selected(const struct selection *sel, const struct workload *wl, unsigned pool)
{
	if (!wl->pool_axis)
		return pool == 1;
	if (sel->profile == PROFILE_QUICK && !sel->npools && wl->quick_max_pool)
		return pool <= wl->quick_max_pool;
	return true;
}

/* Cases a workload makes with nsizes sizes. */
static size_t workload_cases(const struct selection *sel, const struct workload *wl, size_t nsizes,
			     const unsigned *pools, unsigned npool)
{
	size_t np = 0;

	for (unsigned q = 0; q < npool; q++)
		np += pool_selected(sel, wl, pools[q]);
	return nsizes * np;
}

static void sizes_for(const struct selection *sel, const struct workload *wl,
		      const size_t **sizes, size_t *nsizes)
{
	bool full = sel->profile == PROFILE_FULL;

	if (sel->nsizes)
		*sizes = sel->sizes, *nsizes = sel->nsizes;
	else if (wl->sizes == WL_SIZES_FIXED)
		*sizes = &wl->fixed_size, *nsizes = 1;
	else if (wl->sizes == WL_SIZES_PAIR)
		*sizes = full ? full_sizes_pair : quick_sizes_pair,
		*nsizes = full ? NELEM(full_sizes_pair) : NELEM(quick_sizes_pair);
	else
		*sizes = full ? full_sizes_pool : quick_sizes_pool,
		*nsizes = full ? NELEM(full_sizes_pool) : NELEM(quick_sizes_pool);
}

void suite_latency_text(char *buf, size_t len)
{
	const struct workload *wl;
	size_t o = 0;

	buf[0] = '\0';
	wl_for_each(wl)
		if (o < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s%s: %s", o ? "; " : "",
					      wl->listed_under ? "micro/" : "", wl->name, wl_latency_name(wl->latency));
	if (o < len)
		snprintf(buf + o, len - o, "; %s: %s (one way is send timestamp to receipt)", SUITE_MICRO,
			 wl_latency_name(WL_LAT_OPERATION));
}

/* The name of a case: SCENARIO/SUBJECT/WAIT/PLACEMENT/size:N/pool:N, then
 * each further axis as /key:value, left out at its default (DESIGN.md). */
static void case_name(struct suite_case *c, const char *scenario, const char *subject,
		      const char *placement)
{
	const struct case_spec *sp = &c->spec;
	int o = snprintf(c->name, sizeof(c->name), "%s/%s/%s/%s/size:%zu/pool:%u", scenario, subject,
			 ipc_wait_name(sp->wait), placement, sp->size, sp->pool);

	/* Open loop: load:F or rate:N, left out when closed. */
	if (o > 0 && (size_t)o < sizeof(c->name))
		o += load_name(&sp->load, c->name + o, sizeof(c->name) - (size_t)o);

	/* Lock workloads' axes, left out at 0. */
	if (sp->cs_ns && o > 0 && (size_t)o < sizeof(c->name))
		o += snprintf(c->name + o, sizeof(c->name) - (size_t)o, "/cs:%" PRIu64, sp->cs_ns);
	if (sp->outside_ns && o > 0 && (size_t)o < sizeof(c->name))
		o += snprintf(c->name + o, sizeof(c->name) - (size_t)o, "/outside:%" PRIu64, sp->outside_ns);
	/* The workload's own axes, each left out at its default. */
	for (unsigned i = 0; sp->workload->axes && i < WL_MAX_AXES && sp->workload->axes[i]; i++) {
		const struct wl_axis *ax = sp->workload->axes[i];
		char buf[32];

		if (sp->axis[i] != ax->def && o > 0 && (size_t)o < sizeof(c->name))
			o += snprintf(c->name + o, sizeof(c->name) - (size_t)o, "/%s:%s", ax->key,
				      wl_axis_format(ax, sp->axis[i], buf, sizeof(buf)));
	}
	if (sp->workers != POOL_PROCESS && o > 0 && (size_t)o < sizeof(c->name))
		snprintf(c->name + o, sizeof(c->name) - (size_t)o, "/workers:%s", pool_backend_name(sp->workers));
}

/* Workloads listed under a scenario of their own (the floor, under micro):
 * one case each, with no subject, at a fixed wait, on --cpus or else
 * compact. */
static const struct placement listed_compact = { .kind = PLACE_COMPACT };

static size_t listed_under(const struct selection *sel, const char *group, const struct topo *topo,
			   const enum pool_backend *workers, unsigned nworkers, struct suite_case *cases)
{
	const struct workload *wl;
	size_t n = 0;

	wl_for_each(wl)
	for (unsigned k = 0; k < nworkers; k++) {
		struct suite_case *c;

		if (!wl->listed_under || strcmp(wl->listed_under, group) != 0)
			continue;
		if (!cases) {
			n++;
			continue;
		}
		c = &cases[n++];
		memset(c, 0, sizeof(*c));
		c->spec = (struct case_spec){
			.workload = wl,
			.subject = { .family = wl->family },
			.wait = wl->fixed_wait,
			.size = wl->fixed_size,
			.pool = 1,
			.placement = sel->have_cpus ? &sel->cpus : &listed_compact,
			.topo = topo,
			.verify = sel->verify,
			.timeout_ms = sel->timeout_ms,
			.workers = workers[k],
		};
		case_name(c, group, wl->name, placement_name(c->spec.placement->kind));
	}
	return n;
}

/* The workloads that run at pool 1 only, as prose: "pingpong and stream". */
void suite_pool1_names(char *buf, size_t len)
{
	const struct workload *wl;
	unsigned k = 0, total = 0;
	size_t o = 0;

	buf[0] = '\0';
	wl_for_each(wl)
		total += !wl->pool_axis && !wl->listed_under;
	wl_for_each(wl)
		if (!wl->pool_axis && !wl->listed_under && o < len) {
			k++;
			o += (size_t)snprintf(buf + o, len - o, "%s%s", k == 1 ? "" : k == total ? " and " : ", ", wl->name);
		}
	if (o < len)
		snprintf(buf + o, len - o, " run%s at pool 1 only", total == 1 ? "s" : "");
}

/* Is this case outside a channel's small share of the quick profile
 * (ipc.h: IPC_QUICK_SMALL: the pool-1 workloads at one size)?  Only
 * defaults shrink: workloads or sizes named on the command line are kept. */
static bool quick_small_drops(const struct selection *sel, const struct subject *sub,
			      const struct workload *wl, size_t size)
{
	const struct ipc_ops *op = sub->family == &family_channel ? sub->table : NULL;

	if (!op || op->quick != IPC_QUICK_SMALL)
		return false;
	return (!sel->nscenarios && wl->pool_axis) ||
	       (!sel->nsizes && size != IPC_QUICK_SMALL_SIZE);
}

int suite_expand(const struct selection *sel, const struct topo *topo,
		 struct suite *out, char *err)
{
	struct subject impls[SUITE_MAX_ITEMS];
	const struct workload *scen[SUITE_MAX_ITEMS], *wl;
	const struct family *fam;
	enum ipc_wait waits[SUITE_MAX_ITEMS];
	enum placement_kind places[SUITE_MAX_ITEMS + 1];
	unsigned pools[SUITE_MAX_ITEMS];
	enum pool_backend workers[POOL_BACKEND_COUNT] = { POOL_PROCESS };
	unsigned ni = 0, ns = 0, nw = 0, np = 0, npool = 0, nk = 1;
	bool full = sel->profile == PROFILE_FULL;
	size_t cap = 0, n = 0;
	bool any_load = false;
	struct suite_case *cases;
	struct placement *pls;

	memset(out, 0, sizeof(*out));
	/* Each dimension: the command line's list, else the profile's. */
	if (sel->nimpls)
		memcpy(impls, sel->impls, sel->nimpls * sizeof(*impls)), ni = sel->nimpls;
	else
		family_for_each(fam) {
			const void *t;

			for (unsigned i = 0; (t = fam->member(i)) != NULL && ni < SUITE_MAX_ITEMS; i++)
				impls[ni++] = (struct subject){ .family = fam, .table = t };
		}
	if (sel->nscenarios)
		memcpy(scen, sel->scenarios, sel->nscenarios * sizeof(*scen)), ns = sel->nscenarios;
	else {
		wl_for_each(wl)
			if (!wl->listed_under)
				scen[ns++] = wl;
		scen[ns++] = NULL; /* micro */
	}
	if (sel->nwaits)
		memcpy(waits, sel->waits, sel->nwaits * sizeof(*waits)), nw = sel->nwaits;
	else {
		waits[nw++] = IPC_WAIT_BLOCK;
		waits[nw++] = IPC_WAIT_SPIN;
		if (full)
			waits[nw++] = IPC_WAIT_HYBRID;
	}
	if (sel->nplacements)
		memcpy(places, sel->placements, sel->nplacements * sizeof(*places)), np = sel->nplacements;
	else if (!sel->have_cpus) {
		if (full)
			for (int k = PLACE_NONE; k < PLACE_CPUS; k++)
				places[np++] = (enum placement_kind)k;
		else
			places[np++] = PLACE_COMPACT;
	}
	if (sel->have_cpus)
		places[np++] = PLACE_CPUS;
	if (sel->npools)
		memcpy(pools, sel->pools, sel->npools * sizeof(*pools)), npool = sel->npools;
	else if (full)
		for (unsigned p = 1; p <= 2 * topo_allowed_count(topo) && npool < SUITE_MAX_ITEMS; p++)
			pools[npool++] = p;
	else
		for (unsigned k = 0; k < NELEM(quick_pools); k++)
			pools[npool++] = quick_pools[k];

	if (sel->nworkers)
		memcpy(workers, sel->workers, sel->nworkers * sizeof(*workers)), nk = sel->nworkers;

	/* Count first, then fill. */
	for (unsigned s = 0; s < ns; s++) {
		const size_t *sizes;
		size_t nsizes, nsub = 0;
		const uint64_t *csv, *outv;
		unsigned ncs, nout;

		if (!scen[s]) {
			cap += (size_t)micro_expand(sel, NULL, 0) + listed_under(sel, SUITE_MICRO, topo, workers, nk, NULL);
			continue;
		}
		for (unsigned i = 0; i < ni; i++)
			nsub += impls[i].family == scen[s]->family && in_profile(sel, scen[s], &impls[i]);
		struct axis_lists al;
		unsigned wpools[SUITE_MAX_ITEMS + 1], nwp = pools_for(scen[s], pools, npool, wpools);

		sizes_for(sel, scen[s], &sizes, &nsizes);
		lock_axes_for(sel, scen[s], &csv, &ncs, &outv, &nout);
		axes_for(sel, scen[s], &al);
		cap += nsub * nw * np * nk * workload_cases(sel, scen[s], nsizes, wpools, nwp) * ncs * nout * al.combos *
		       (scen[s]->load_axis ? (sel->nloads ? sel->nloads : 1 + NELEM(profile_loads)) : 1);
		any_load |= scen[s]->load_axis;
	}
	if (sel->nloads && !any_load) {
		const struct workload *lw;
		char names[256] = "";
		size_t o = 0;

		wl_for_each(lw)
			if (lw->load_axis && o < sizeof(names))
				o += (size_t)snprintf(names + o, sizeof(names) - o, "%s%s", o ? ", " : "", lw->name);
		snprintf(err, SUITE_ERRLEN, "--load applies to the workloads where one side sends (%s); none is selected", names);
		return -EINVAL;
	}
	if (cap == 0) {
		char why[256];

		suite_pool1_names(why, sizeof(why));
		snprintf(err, SUITE_ERRLEN, "the selection makes no case (%s: add 1 to --pool; a subject meets only the workloads of its family)", why);
		return -EINVAL;
	}
	cases = calloc(cap, sizeof(*cases));
	pls = calloc(np, sizeof(*pls));
	if (!cases || !pls) {
		free(cases);
		free(pls);
		snprintf(err, SUITE_ERRLEN, "out of memory for %zu cases", cap);
		return -ENOMEM;
	}
	for (unsigned p = 0; p < np; p++) {
		if (places[p] == PLACE_CPUS)
			pls[p] = sel->cpus;
		else
			pls[p].kind = places[p];
	}

	for (unsigned s = 0; s < ns; s++) {
		const size_t *sizes;
		size_t nsizes;

		if (!scen[s]) {
			n += (size_t)micro_expand(sel, cases + n, (unsigned)(cap - n));
			n += listed_under(sel, SUITE_MICRO, topo, workers, nk, cases + n);
			continue;
		}
		const uint64_t *csv, *outv;
		unsigned ncs, nout;
		struct load_spec loads[SUITE_MAX_ITEMS + NELEM(profile_loads) + 1];

		struct axis_lists al;
		unsigned wpools[SUITE_MAX_ITEMS + 1], nwp;

		wl = scen[s];
		nwp = pools_for(wl, pools, npool, wpools);
		sizes_for(sel, wl, &sizes, &nsizes);
		lock_axes_for(sel, wl, &csv, &ncs, &outv, &nout);
		axes_for(sel, wl, &al);
		for (unsigned i = 0; i < ni; i++) {
			if (impls[i].family != wl->family)
				continue; /* a subject meets the workloads of its own family */
			if (!in_profile(sel, wl, &impls[i]))
				continue;
			for (unsigned w = 0; w < nw; w++)
				for (unsigned p = 0; p < np; p++)
					for (size_t z = 0; z < nsizes; z++)
						for (unsigned q = 0; q < nwp; q++)
						for (unsigned k = 0; k < nk; k++)
						for (size_t a = 0; a < ncs * nout * al.combos; a++)
						for (unsigned l = 0, nl = loads_for(sel, wl, &impls[i], sizes[z], loads); l < nl; l++) {
							struct suite_case *c;
							size_t lock = a / al.combos;

							if (!pool_selected(sel, wl, wpools[q]))
								continue; /* pool 1 only, or the quick subset */
							if (wl->pair_matrix && p > 0)
								continue; /* it places every pair itself */
							if (!full && quick_small_drops(sel, &impls[i], wl, sizes[z]))
								continue;
							c = &cases[n++];
							c->spec = (struct case_spec){
								.workload = wl,
								.subject = impls[i],
								.wait = waits[w],
								.size = sizes[z],
								.pool = wpools[q],
								.placement = &pls[p],
								.topo = topo,
								.verify = sel->verify,
								.timeout_ms = sel->timeout_ms,
								.workers = workers[k],
								.cs_ns = csv[lock / nout],
								.outside_ns = outv[lock % nout],
								.load = loads[l],
								.matrix_max_pairs = sel->matrix_max_pairs,
							};
							axes_pick(&al, a % al.combos, &c->spec);
							case_name(c, wl->name, subject_name(&impls[i]),
								  wl->pair_matrix && places[p] != PLACE_CPUS ? placement_name(PLACE_NONE)
													   : placement_name(places[p]));
						}
		}
	}
	if (n == 0) {
		free(cases);
		free(pls);
		snprintf(err, SUITE_ERRLEN, "the selection makes no case (the quick profile runs some mechanisms only at the pool-1 workloads and size %d: name --scenario or --size)",
			 IPC_QUICK_SMALL_SIZE);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		cases[i].index = (unsigned)i + 1;
		cases[i].spec.topo = topo;
	}
	out->cases = cases;
	out->n = (unsigned)n;
	out->placements = pls;
	return 0;
}

void suite_free(struct suite *s)
{
	for (unsigned i = 0; s->cases && i < s->n; i++)
		matrix_forget(&s->cases[i]);
	free(s->cases);
	free(s->placements);
	memset(s, 0, sizeof(*s));
}
