/* topo.c - the hwloc topology, placement policies, strict binding, pair
 * classes, XML export and a one-screen summary of the machine (facts hwloc
 * does not give, from /proc/cpuinfo and the hypervisor, are in cpuinfo.c).
 *
 * The whole system is loaded (HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) so we
 * can tell "this machine" from "what this process may use"; the usable PUs
 * are hwloc's allowed cpuset (cgroup cpuset) intersected with the process's
 * sched_getaffinity() mask at topo_open() time.  hwloc's own environment
 * variables (HWLOC_XMLFILE, HWLOC_SYNTHETIC) load another machine's topology
 * instead: then placement works on it whole and binding is refused.
 *
 * Why this file is long: placement policies, strict binding and pair
 * classes all read one loaded hwloc topology and its allowed set.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hwloc.h>
#include <hwloc/export.h>

#include "cpuinfo.h"
#include "errline.h"
#include "topo.h"

/* A process that migrates on sched_setaffinity() is normally already on its
 * new CPU when the call returns; give the scheduler a few chances before
 * calling the binding a failure. */
#define BIND_VERIFY_YIELDS 8
/* First guess for the size of the affinity mask; doubled until the kernel
 * accepts it (machines with more CPUs than this exist). */
#define AFFINITY_FIRST_NCPUS 1024
/* Give up growing the affinity mask here (the kernel's NR_CPUS is 8192 at
 * most in practice). */
#define AFFINITY_MAX_NCPUS (1 << 16)

struct topo {
	hwloc_topology_t hw;
	hwloc_bitmap_t allowed;   /* hwloc allowed & sched_getaffinity */
	unsigned nallowed;
	int *cpus;                /* allowed PUs, OS indices, topology order */
	int *scatter;             /* the same PUs, most spread first */
	unsigned total_pus;       /* every PU hwloc saw, allowed or not */
	bool restricted;
};

static const char *const placement_names[PLACE_COUNT] = {
	[PLACE_NONE] = "none",
	[PLACE_COMPACT] = "compact",
	[PLACE_SCATTER] = "scatter",
	[PLACE_SMT] = "smt",
	[PLACE_CROSS_CACHE] = "cross-cache",
	[PLACE_CROSS_NUMA] = "cross-numa",
	[PLACE_CPUS] = "cpus",
};

const char *placement_name(enum placement_kind k)
{
	if ((unsigned)k >= PLACE_COUNT)
		return "unknown";
	return placement_names[k];
}

/* ---- parsing ------------------------------------------------------------ */

int placement_parse(const char *s, struct placement *out, char *err)
{
	if (!s || !*s) {
		err_line(err, TOPO_ERRLEN, "placement '': empty; accepted: none, compact, scatter, smt, cross-cache, cross-numa (or --cpus=LIST)");
		return -EINVAL;
	}
	for (unsigned k = 0; k < PLACE_COUNT; k++) {
		if (k == PLACE_CPUS || strcmp(s, placement_names[k]) != 0)
			continue;
		out->kind = (enum placement_kind)k;
		out->ncpus = 0;
		return 0;
	}
	if (strcmp(s, "cpus") == 0)
		err_line(err, TOPO_ERRLEN, "placement 'cpus': give the CPUs with --cpus=LIST (e.g. 0,1,4-7)");
	else
		err_line(err, TOPO_ERRLEN, "placement '%.64s' unknown; accepted: none, compact, scatter, smt, cross-cache, cross-numa (or --cpus=LIST)", s);
	return -EINVAL;
}

/* One decimal CPU number at *p, digits only, < TOPO_MAX_CPUS. */
static int parse_cpu_number(const char *list, const char **p, int *out, char *err)
{
	const char *s = *p;
	long v = 0;

	if (!isdigit((unsigned char)*s)) {
		if (*s == '\0' || *s == ',' || *s == '-')
			err_line(err, TOPO_ERRLEN, "--cpus '%.64s': missing CPU number at position %zu; expected a list like 0,1,4-7 (CPUs 0..%d)",
			       list, (size_t)(s - list) + 1, TOPO_MAX_CPUS - 1);
		else
			err_line(err, TOPO_ERRLEN, "--cpus '%.64s': unexpected '%c' at position %zu; expected digits, ',' and '-' as in 0,1,4-7 (CPUs 0..%d)",
			       list, isprint((unsigned char)*s) ? *s : '?',
			       (size_t)(s - list) + 1, TOPO_MAX_CPUS - 1);
		return -EINVAL;
	}
	while (isdigit((unsigned char)*s)) {
		v = v * 10 + (*s - '0');
		if (v >= TOPO_MAX_CPUS) {
			err_line(err, TOPO_ERRLEN, "--cpus '%.64s': CPU number at position %zu is too large; accepted CPUs are 0..%d",
			       list, (size_t)(*p - list) + 1, TOPO_MAX_CPUS - 1);
			return -EINVAL;
		}
		s++;
	}
	*out = (int)v;
	*p = s;
	return 0;
}

int placement_parse_cpus(const char *list, struct placement *out, char *err)
{
	unsigned char seen[TOPO_MAX_CPUS];
	const char *p = list;
	unsigned n = 0;

	if (!list || !*list) {
		err_line(err, TOPO_ERRLEN, "--cpus '': empty; expected a list like 0,1,4-7 (CPUs 0..%d)", TOPO_MAX_CPUS - 1);
		return -EINVAL;
	}
	memset(seen, 0, sizeof(seen));
	for (;;) {
		int lo, hi;
		int rc = parse_cpu_number(list, &p, &lo, err);

		if (rc)
			return rc;
		hi = lo;
		if (*p == '-') {
			p++;
			rc = parse_cpu_number(list, &p, &hi, err);
			if (rc)
				return rc;
			if (hi < lo) {
				err_line(err, TOPO_ERRLEN, "--cpus '%.64s': range %d-%d is reversed; write it low-high", list, lo, hi);
				return -EINVAL;
			}
		}
		for (int c = lo; c <= hi; c++) {
			if (seen[c]) {
				err_line(err, TOPO_ERRLEN, "--cpus '%.64s': CPU %d appears twice; list each CPU once", list, c);
				return -EINVAL;
			}
			seen[c] = 1;
			out->cpus[n++] = c;
		}
		if (*p == '\0')
			break;
		if (*p != ',') {
			err_line(err, TOPO_ERRLEN, "--cpus '%.64s': unexpected '%c' at position %zu; expected digits, ',' and '-' as in 0,1,4-7 (CPUs 0..%d)",
			       list, isprint((unsigned char)*p) ? *p : '?',
			       (size_t)(p - list) + 1, TOPO_MAX_CPUS - 1);
			return -EINVAL;
		}
		p++;
	}
	out->kind = PLACE_CPUS;
	out->ncpus = n;
	return 0;
}

/* ---- loading ------------------------------------------------------------ */

/* This process's sched_getaffinity() mask as an hwloc bitmap. */
static int affinity_bitmap(hwloc_bitmap_t set)
{
	for (int ncpu = AFFINITY_FIRST_NCPUS; ncpu <= AFFINITY_MAX_NCPUS; ncpu *= 2) {
		cpu_set_t *mask = CPU_ALLOC(ncpu);
		size_t size = CPU_ALLOC_SIZE(ncpu);

		if (!mask)
			return -ENOMEM;
		CPU_ZERO_S(size, mask);
		if (sched_getaffinity(0, size, mask) == 0) {
			hwloc_bitmap_zero(set);
			for (int c = 0; c < ncpu; c++)
				if (CPU_ISSET_S(c, size, mask))
					hwloc_bitmap_set(set, (unsigned)c);
			CPU_FREE(mask);
			return 0;
		}
		CPU_FREE(mask);
		if (errno != EINVAL)
			return -errno;
	}
	return -EOVERFLOW;
}

static hwloc_obj_t pu_obj(const struct topo *t, int cpu)
{
	if (cpu < 0)
		return NULL;
	return hwloc_get_pu_obj_by_os_index(t->hw, (unsigned)cpu);
}

/* Rank of obj among the objects of its level that hold an allowed PU
 * (objects without allowed PUs are not counted). */
static unsigned allowed_rank(const struct topo *t, hwloc_obj_t obj)
{
	unsigned r = 0;

	if (!obj)
		return 0;
	for (hwloc_obj_t o = hwloc_get_obj_by_depth(t->hw, obj->depth, 0);
	     o && o != obj; o = o->next_cousin)
		if (hwloc_bitmap_intersects(o->cpuset, t->allowed))
			r++;
	return r;
}

/* Rank of the PU among the allowed PUs of its core. */
static unsigned pu_rank_in_core(const struct topo *t, hwloc_obj_t pu)
{
	hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t->hw, HWLOC_OBJ_CORE, pu);
	unsigned r = 0;
	int i;

	if (!core)
		return 0;
	hwloc_bitmap_foreach_begin(i, core->cpuset) {
		if ((unsigned)i == pu->os_index)
			break;
		if (hwloc_bitmap_isset(t->allowed, (unsigned)i))
			r++;
	} hwloc_bitmap_foreach_end();
	return r;
}

struct scatter_key {
	unsigned pu_rank, core_rank, pkg_rank, order;
	int cpu;
};

static int scatter_cmp(const void *a, const void *b)
{
	const struct scatter_key *x = a, *y = b;

	if (x->pu_rank != y->pu_rank)
		return x->pu_rank < y->pu_rank ? -1 : 1;
	if (x->core_rank != y->core_rank)
		return x->core_rank < y->core_rank ? -1 : 1;
	if (x->pkg_rank != y->pkg_rank)
		return x->pkg_rank < y->pkg_rank ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * Scatter order: round-robin over packages, then over the cores of each
 * package, then over the PUs of each core.  Sorting by (PU rank in its core,
 * core rank in its package, package rank) gives exactly that: the first PU of
 * the first core of every package, then the first PU of the second core of
 * every package, ..., and SMT siblings last.
 */
static int build_scatter(struct topo *t)
{
	struct scatter_key *k = calloc(t->nallowed, sizeof(*k));

	if (!k)
		return -ENOMEM;
	for (unsigned i = 0; i < t->nallowed; i++) {
		hwloc_obj_t pu = pu_obj(t, t->cpus[i]);
		hwloc_obj_t core = hwloc_get_ancestor_obj_by_type(t->hw, HWLOC_OBJ_CORE, pu);
		hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(t->hw, HWLOC_OBJ_PACKAGE, pu);
		unsigned core_rank = 0;

		/* Rank of the core among the allowed cores of its package. */
		if (core) {
			for (hwloc_obj_t o = hwloc_get_obj_by_depth(t->hw, core->depth, 0);
			     o && o != core; o = o->next_cousin)
				if (hwloc_bitmap_intersects(o->cpuset, t->allowed) &&
				    (!pkg || hwloc_bitmap_isincluded(o->cpuset, pkg->cpuset)))
					core_rank++;
		} else {
			core_rank = i; /* no Core objects: every PU is its own core */
		}
		k[i].pu_rank = pu_rank_in_core(t, pu);
		k[i].core_rank = core_rank;
		k[i].pkg_rank = allowed_rank(t, pkg);
		k[i].order = i;
		k[i].cpu = t->cpus[i];
	}
	qsort(k, t->nallowed, sizeof(*k), scatter_cmp);
	for (unsigned i = 0; i < t->nallowed; i++)
		t->scatter[i] = k[i].cpu;
	free(k);
	return 0;
}

int topo_open(struct topo **out, char *err)
{
	struct topo *t = calloc(1, sizeof(*t));
	hwloc_bitmap_t aff = NULL;
	int rc;

	*out = NULL;
	if (!t) {
		err_line(err, TOPO_ERRLEN, "topo: out of memory");
		return -ENOMEM;
	}
	if (hwloc_topology_init(&t->hw) < 0) {
		rc = -errno;
		err_line(err, TOPO_ERRLEN, "topo: hwloc_topology_init: %s", strerror(errno));
		free(t);
		return rc;
	}
	if (hwloc_topology_set_flags(t->hw, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED) < 0 ||
	    hwloc_topology_load(t->hw) < 0) {
		rc = errno ? -errno : -EIO;
		err_line(err, TOPO_ERRLEN, "topo: loading the hwloc topology: %s", strerror(-rc));
		goto err;
	}
	t->allowed = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(t->hw));
	aff = hwloc_bitmap_alloc();
	if (!t->allowed || !aff) {
		rc = -ENOMEM;
		err_line(err, TOPO_ERRLEN, "topo: out of memory");
		goto err;
	}
	rc = affinity_bitmap(aff);
	if (rc) {
		err_line(err, TOPO_ERRLEN, "topo: sched_getaffinity: %s", strerror(-rc));
		goto err;
	}
	/* The affinity mask describes this machine; a topology from
	 * HWLOC_XMLFILE or HWLOC_SYNTHETIC (another machine, or a test's
	 * made-up one) is taken whole. */
	if (hwloc_topology_is_thissystem(t->hw))
		hwloc_bitmap_and(t->allowed, t->allowed, aff);

	t->total_pus = (unsigned)hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_PU);
	t->cpus = calloc(t->total_pus ? t->total_pus : 1, sizeof(*t->cpus));
	t->scatter = calloc(t->total_pus ? t->total_pus : 1, sizeof(*t->scatter));
	if (!t->cpus || !t->scatter) {
		rc = -ENOMEM;
		err_line(err, TOPO_ERRLEN, "topo: out of memory");
		goto err;
	}
	/* PUs in logical (topology) order: siblings first, then cores. */
	for (unsigned i = 0; i < t->total_pus; i++) {
		hwloc_obj_t pu = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_PU, i);

		if (pu && hwloc_bitmap_isset(t->allowed, pu->os_index))
			t->cpus[t->nallowed++] = (int)pu->os_index;
	}
	if (t->nallowed == 0) {
		rc = -ENODEV;
		err_line(err, TOPO_ERRLEN, "topo: no PU of the topology is in this process's affinity mask");
		goto err;
	}
	/* Keep the allowed set to PUs hwloc knows, so counts and lists agree. */
	hwloc_bitmap_zero(t->allowed);
	for (unsigned i = 0; i < t->nallowed; i++)
		hwloc_bitmap_set(t->allowed, (unsigned)t->cpus[i]);
	t->restricted = t->nallowed < t->total_pus;
	rc = build_scatter(t);
	if (rc) {
		err_line(err, TOPO_ERRLEN, "topo: out of memory");
		goto err;
	}
	hwloc_bitmap_free(aff);
	*out = t;
	return 0;
err:
	hwloc_bitmap_free(aff);
	topo_close(t);
	return rc;
}

void topo_close(struct topo *t)
{
	if (!t)
		return;
	hwloc_bitmap_free(t->allowed);
	free(t->cpus);
	free(t->scatter);
	hwloc_topology_destroy(t->hw);
	free(t);
}

unsigned topo_allowed_count(const struct topo *t)
{
	return t->nallowed;
}

int topo_allowed_cpu(const struct topo *t, unsigned i)
{
	return i < t->nallowed ? t->cpus[i] : -1;
}

bool topo_cpu_allowed(const struct topo *t, int cpu)
{
	return cpu >= 0 && hwloc_bitmap_isset(t->allowed, (unsigned)cpu);
}

bool topo_restricted(const struct topo *t)
{
	return t->restricted;
}

/* ---- placement ---------------------------------------------------------- */

static void allowed_list(const struct topo *t, char *buf, size_t len)
{
	if (hwloc_bitmap_list_snprintf(buf, len, t->allowed) < 0 && len)
		buf[0] = '\0';
}

/* Fill cpus[] from order[0..n) round-robin; oversubscribed when it wraps. */
static void deal(const int *order, unsigned n, unsigned nproc, int *cpus,
		 bool *oversubscribed)
{
	for (unsigned i = 0; i < nproc; i++)
		cpus[i] = order[i % n];
	*oversubscribed = nproc > n;
}

static int place_smt(const struct topo *t, unsigned nproc, int *cpus,
		     bool *oversubscribed, char *err)
{
	int *order = calloc(t->nallowed, sizeof(*order));
	unsigned n = 0;
	int ncores = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_CORE);

	if (!order) {
		err_line(err, TOPO_ERRLEN, "smt: out of memory");
		return -ENOMEM;
	}
	/* Allowed PUs of every core that has at least two of them, core by
	 * core, so processes 2i and 2i+1 are SMT siblings. */
	for (int c = 0; c < ncores; c++) {
		hwloc_obj_t core = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_CORE, (unsigned)c);
		unsigned start = n;

		for (unsigned i = 0; i < t->nallowed; i++)
			if (hwloc_bitmap_isset(core->cpuset, (unsigned)t->cpus[i]))
				order[n++] = t->cpus[i];
		if (n - start < 2)
			n = start;
	}
	if (n == 0) {
		bool machine_smt = false;

		free(order);
		for (int c = 0; c < ncores && !machine_smt; c++)
			machine_smt = hwloc_bitmap_weight(hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_CORE,
							(unsigned)c)->cpuset) > 1;
		if (machine_smt)
			err_line(err, TOPO_ERRLEN, "smt: no core has more than one PU available to this process");
		else
			err_line(err, TOPO_ERRLEN, "smt: no core has more than one PU on this machine");
		return -ENOTSUP;
	}
	deal(order, n, nproc, cpus, oversubscribed);
	free(order);
	return 0;
}

/* cpu's ancestor of the given type, or NULL. */
static hwloc_obj_t ancestor(const struct topo *t, int cpu, hwloc_obj_type_t type)
{
	return hwloc_get_ancestor_obj_by_type(t->hw, type, pu_obj(t, cpu));
}

static int place_cross_cache(const struct topo *t, unsigned nproc, int *cpus,
			     char *err)
{
	hwloc_obj_type_t type = HWLOC_OBJ_L3CACHE;
	const char *lvl = "L3";
	hwloc_obj_t *used;
	unsigned nused = 0, ndomains = 0;

	if (hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_L3CACHE) <= 0) {
		type = HWLOC_OBJ_L2CACHE;
		lvl = "L2";
		if (hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_L2CACHE) <= 0) {
			err_line(err, TOPO_ERRLEN, "cross-cache: hwloc reports no L2 or L3 cache on this machine");
			return -ENOTSUP;
		}
	}
	used = calloc(t->nallowed, sizeof(*used));
	if (!used) {
		err_line(err, TOPO_ERRLEN, "cross-cache: out of memory");
		return -ENOMEM;
	}
	/* Distinct cache domains holding an allowed PU. */
	for (unsigned i = 0; i < t->nallowed; i++) {
		hwloc_obj_t d = ancestor(t, t->scatter[i], type);
		bool dup = false;

		for (unsigned j = 0; j < ndomains && !dup; j++)
			dup = used[j] == d;
		if (!dup)
			used[ndomains++] = d;
	}
	if (nproc > ndomains) {
		free(used);
		err_line(err, TOPO_ERRLEN, "cross-cache: %u processes need %u separate %s caches; %s %u",
		       nproc, nproc, lvl,
		       t->restricted ? "the CPUs available to this process span" : "this machine has",
		       ndomains);
		return -ENOTSUP;
	}
	/* One PU per domain, in scatter order. */
	for (unsigned i = 0; i < t->nallowed && nused < nproc; i++) {
		hwloc_obj_t d = ancestor(t, t->scatter[i], type);
		bool dup = false;

		for (unsigned j = 0; j < nused && !dup; j++)
			dup = used[j] == d;
		if (dup)
			continue;
		used[nused] = d;
		cpus[nused++] = t->scatter[i];
	}
	free(used);
	return 0;
}


static int place_cross_numa(const struct topo *t, unsigned nproc, int *cpus,
			    bool *oversubscribed, char *err)
{
	int nnodes = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE);
	struct scatter_key *k;
	unsigned *seen, nn = 0;

	if (nnodes < 2) {
		err_line(err, TOPO_ERRLEN, "cross-numa: this machine has 1 NUMA node");
		return -ENOTSUP;
	}
	k = calloc(t->nallowed, sizeof(*k));
	seen = calloc((size_t)nnodes + 1, sizeof(*seen));
	if (!k || !seen) {
		free(k);
		free(seen);
		err_line(err, TOPO_ERRLEN, "cross-numa: out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < nnodes; i++) {
		hwloc_obj_t node = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, (unsigned)i);

		if (node && hwloc_bitmap_intersects(node->cpuset, t->allowed))
			nn++;
	}
	if (nn < 2) {
		free(k);
		free(seen);
		err_line(err, TOPO_ERRLEN, "cross-numa: the CPUs available to this process are all on one of this machine's %d NUMA nodes",
		       nnodes);
		return -ENOTSUP;
	}
	/* Key each PU (in scatter order) by (its rank inside its node, node):
	 * sorted, that deals the nodes round-robin, so consecutive processes
	 * are on different nodes. */
	for (unsigned i = 0; i < t->nallowed; i++) {
		int node = nnodes;

		for (int j = 0; j < nnodes; j++) {
			hwloc_obj_t o = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_NUMANODE, (unsigned)j);

			if (o && hwloc_bitmap_isset(o->cpuset, (unsigned)t->scatter[i])) {
				node = j;
				break;
			}
		}
		k[i].pu_rank = seen[node]++;
		k[i].pkg_rank = (unsigned)node;
		k[i].order = i;
		k[i].cpu = t->scatter[i];
	}
	qsort(k, t->nallowed, sizeof(*k), scatter_cmp);
	for (unsigned i = 0; i < nproc; i++)
		cpus[i] = k[i % t->nallowed].cpu;
	*oversubscribed = nproc > t->nallowed;
	free(k);
	free(seen);
	return 0;
}

static int place_list(const struct topo *t, const struct placement *pl,
		      unsigned nproc, int *cpus, bool *oversubscribed, char *err)
{
	char allowed[TOPO_ERRLEN / 2];

	if (pl->ncpus == 0 || pl->ncpus > TOPO_MAX_CPUS) {
		err_line(err, TOPO_ERRLEN, "cpus: the CPU list is empty; give --cpus=LIST (e.g. 0,1,4-7)");
		return -EINVAL;
	}
	for (unsigned i = 0; i < pl->ncpus; i++) {
		if (topo_cpu_allowed(t, pl->cpus[i]))
			continue;
		allowed_list(t, allowed, sizeof(allowed));
		err_line(err, TOPO_ERRLEN, "cpus: CPU %d is not available to this process (allowed: %s)",
		       pl->cpus[i], allowed);
		return -EINVAL;
	}
	/* Wrap a short list; a repeated CPU is oversubscription. */
	*oversubscribed = false;
	for (unsigned i = 0; i < nproc; i++) {
		cpus[i] = pl->cpus[i % pl->ncpus];
		for (unsigned j = 0; j < i && !*oversubscribed; j++)
			*oversubscribed = cpus[j] == cpus[i];
	}
	return 0;
}

int topo_place(const struct topo *t, const struct placement *pl,
	       unsigned nproc, int *cpus, bool *oversubscribed, char *err)
{
	bool over = false;
	int rc = 0;

	if (nproc == 0) {
		err_line(err, TOPO_ERRLEN, "placement: pool size 0; accepted: 1 or more processes");
		return -EINVAL;
	}
	switch (pl->kind) {
	case PLACE_NONE:
		for (unsigned i = 0; i < nproc; i++)
			cpus[i] = -1;
		over = nproc > t->nallowed;
		break;
	case PLACE_COMPACT:
		deal(t->cpus, t->nallowed, nproc, cpus, &over);
		break;
	case PLACE_SCATTER:
		deal(t->scatter, t->nallowed, nproc, cpus, &over);
		break;
	case PLACE_SMT:
		rc = place_smt(t, nproc, cpus, &over, err);
		break;
	case PLACE_CROSS_CACHE:
		rc = place_cross_cache(t, nproc, cpus, err);
		break;
	case PLACE_CROSS_NUMA:
		rc = place_cross_numa(t, nproc, cpus, &over, err);
		break;
	case PLACE_CPUS:
		rc = place_list(t, pl, nproc, cpus, &over, err);
		break;
	default:
		err_line(err, TOPO_ERRLEN, "placement: unknown policy %d", (int)pl->kind);
		return -EINVAL;
	}
	if (rc == 0 && oversubscribed)
		*oversubscribed = over;
	return rc;
}

/* ---- binding ------------------------------------------------------------ */

/* Bind the calling process (HWLOC_CPUBIND_PROCESS) or only the calling
 * thread (HWLOC_CPUBIND_THREAD) to cpu, strictly, and check it moved. */
static int bind_to(const struct topo *t, int cpu, int scope, char *err)
{
	char allowed[TOPO_ERRLEN / 2];
	hwloc_bitmap_t set;
	int now = -1;

	if (cpu == -1)
		return 0;
	if (!hwloc_topology_is_thissystem(t->hw)) {
		err_line(err, TOPO_ERRLEN, "bind: the loaded topology is not this machine's (HWLOC_XMLFILE or HWLOC_SYNTHETIC set?); cannot bind to CPU %d", cpu);
		return -EINVAL;
	}
	if (!topo_cpu_allowed(t, cpu)) {
		allowed_list(t, allowed, sizeof(allowed));
		err_line(err, TOPO_ERRLEN, "bind: CPU %d is not available to this process (allowed: %s)", cpu, allowed);
		return -EINVAL;
	}
	set = hwloc_bitmap_alloc();
	if (!set) {
		err_line(err, TOPO_ERRLEN, "bind: out of memory");
		return -ENOMEM;
	}
	hwloc_bitmap_only(set, (unsigned)cpu);
	if (hwloc_set_cpubind(t->hw, set, scope | HWLOC_CPUBIND_STRICT) < 0) {
		int e = errno ? errno : EINVAL;

		hwloc_bitmap_free(set);
		err_line(err, TOPO_ERRLEN, "bind: binding to CPU %d failed: %s", cpu, strerror(e));
		return -e;
	}
	hwloc_bitmap_free(set);
	for (int i = 0; i <= BIND_VERIFY_YIELDS; i++) {
		now = sched_getcpu();
		if (now == cpu)
			return 0;
		if (now < 0) {
			int e = errno;

			err_line(err, TOPO_ERRLEN, "bind: sched_getcpu: %s", strerror(e));
			return -e;
		}
		sched_yield();
	}
	err_line(err, TOPO_ERRLEN, "bind: bound to CPU %d but still running on CPU %d", cpu, now);
	return -EAGAIN;
}

int topo_bind_self(const struct topo *t, int cpu, char *err)
{
	return bind_to(t, cpu, HWLOC_CPUBIND_PROCESS, err);
}

int topo_bind_thread(const struct topo *t, int cpu, char *err)
{
	return bind_to(t, cpu, HWLOC_CPUBIND_THREAD, err);
}

/* ---- pair classes ------------------------------------------------------- */

const char *topo_pair_class(const struct topo *t, int cpu_a, int cpu_b)
{
	hwloc_obj_t a, b, o;

	if (cpu_a < 0 || cpu_b < 0)
		return "unbound";
	a = pu_obj(t, cpu_a);
	b = pu_obj(t, cpu_b);
	if (!a || !b)
		return "unknown";
	if (a == b)
		return "same-pu";
	/* Walk up from the closest common ancestor; the first level that
	 * names a class decides.  NUMA nodes hang off the CPU tree as memory
	 * children in hwloc 2, so an ancestor with one attached means both
	 * PUs are in that node. */
	for (o = hwloc_get_common_ancestor_obj(t->hw, a, b); o; o = o->parent) {
		switch (o->type) {
		case HWLOC_OBJ_CORE:
		case HWLOC_OBJ_L1CACHE:
		case HWLOC_OBJ_L1ICACHE:
			return "same-core";
		case HWLOC_OBJ_L2CACHE:
		case HWLOC_OBJ_L2ICACHE:
			return "shared-L2";
		case HWLOC_OBJ_L3CACHE:
		case HWLOC_OBJ_L3ICACHE:
			return "shared-L3";
		case HWLOC_OBJ_PACKAGE:
			return "same-package";
		default:
			break;
		}
		if (o->memory_arity > 0)
			return "same-numa";
	}
	return "machine";
}

/* ---- XML ---------------------------------------------------------------- */

int topo_export_xml(const struct topo *t, const char *path, char *err)
{
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);

	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		err_line(err, TOPO_ERRLEN, "topology xml: path too long: %.128s", path);
		return -ENAMETOOLONG;
	}
	errno = 0;
	if (hwloc_topology_export_xml(t->hw, tmp, 0) < 0) {
		int e = errno ? errno : EIO;

		unlink(tmp);
		err_line(err, TOPO_ERRLEN, "topology xml: writing %.128s: %s", tmp, strerror(e));
		return -e;
	}
	if (rename(tmp, path) < 0) {
		int e = errno;

		unlink(tmp);
		err_line(err, TOPO_ERRLEN, "topology xml: renaming to %.128s: %s", path, strerror(e));
		return -e;
	}
	return 0;
}

int topo_xml_text(const struct topo *t, char **text, size_t *len, char *err)
{
	char *buf = NULL;
	int n = 0;

	*text = NULL;
	*len = 0;
	errno = 0;
	if (hwloc_topology_export_xmlbuffer(t->hw, &buf, &n, 0) < 0 || n < 1) {
		int e = errno ? errno : EIO;

		err_line(err, TOPO_ERRLEN, "topology xml: %s", strerror(e));
		return -e;
	}
	*text = malloc((size_t)n);
	if (!*text) {
		hwloc_free_xmlbuffer(t->hw, buf);
		err_line(err, TOPO_ERRLEN, "topology xml: out of memory");
		return -ENOMEM;
	}
	/* n counts the closing NUL. */
	memcpy(*text, buf, (size_t)n);
	*len = (size_t)n - 1;
	hwloc_free_xmlbuffer(t->hw, buf);
	return 0;
}

/* ---- summary ------------------------------------------------------------ */

static void format_size(char *out, size_t len, unsigned long long bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	while (u + 1 < sizeof(unit) / sizeof(unit[0]) && bytes >= 1024 && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	snprintf(out, len, "%llu%s", bytes, unit[u]);
}

/* "L1d 48KiB x2, L2 1MiB x2, L3 32MiB x1": each data/unified level once per
 * distinct size. */
static void caches_summary(const struct topo *t, char *out, size_t len)
{
	static const struct { hwloc_obj_type_t type; const char *name; } lv[] = {
		{ HWLOC_OBJ_L1CACHE, "L1d" },
		{ HWLOC_OBJ_L2CACHE, "L2" },
		{ HWLOC_OBJ_L3CACHE, "L3" },
		{ HWLOC_OBJ_L4CACHE, "L4" },
		{ HWLOC_OBJ_L5CACHE, "L5" },
	};
	size_t used = 0;

	out[0] = '\0';
	for (size_t l = 0; l < sizeof(lv) / sizeof(lv[0]); l++) {
		int n = hwloc_get_nbobjs_by_type(t->hw, lv[l].type);

		for (int i = 0; i < n; i++) {
			hwloc_obj_t o = hwloc_get_obj_by_type(t->hw, lv[l].type, (unsigned)i);
			unsigned long long size = o->attr->cache.size;
			unsigned count = 0;
			bool earlier = false;
			char sz[32];
			int k;

			for (int j = 0; j < i && !earlier; j++)
				earlier = hwloc_get_obj_by_type(t->hw, lv[l].type, (unsigned)j)->attr->cache.size == size;
			if (earlier)
				continue;
			for (int j = 0; j < n; j++)
				count += hwloc_get_obj_by_type(t->hw, lv[l].type, (unsigned)j)->attr->cache.size == size;
			format_size(sz, sizeof(sz), size);
			k = snprintf(out + used, len - used, "%s%s %s x%u",
				     used ? ", " : "", lv[l].name, sz, count);
			if (k < 0 || (size_t)k >= len - used)
				return; /* truncated: keep what fits */
			used += (size_t)k;
		}
	}
	if (!used)
		snprintf(out, len, "none reported");
}

void topo_summary(const struct topo *t, struct topo_summary *s)
{
	hwloc_obj_t pkg = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_PACKAGE, 0);
	const char *model = pkg ? hwloc_obj_get_info_by_name(pkg, "CPUModel") : NULL;
	int ncores;

	memset(s, 0, sizeof(*s));
	if (!model)
		model = hwloc_obj_get_info_by_name(hwloc_get_root_obj(t->hw), "CPUModel");
	if (model && *model)
		snprintf(s->cpu_model, sizeof(s->cpu_model), "%s", model);
	else if (!cpuinfo_value("model name", s->cpu_model, sizeof(s->cpu_model)) &&
		 !cpuinfo_value("Model", s->cpu_model, sizeof(s->cpu_model)))
		snprintf(s->cpu_model, sizeof(s->cpu_model), "unknown");

	ncores = hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_CORE);
	s->packages = (unsigned)hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_PACKAGE);
	s->pus = t->total_pus;
	s->cores = ncores > 0 ? (unsigned)ncores : s->pus;
	s->numa_nodes = (unsigned)hwloc_get_nbobjs_by_type(t->hw, HWLOC_OBJ_NUMANODE);
	s->allowed_pus = t->nallowed;
	for (int i = 0; i < ncores && !s->smt; i++) {
		hwloc_obj_t core = hwloc_get_obj_by_type(t->hw, HWLOC_OBJ_CORE, (unsigned)i);

		s->smt = hwloc_bitmap_weight(core->cpuset) > 1;
	}
	caches_summary(t, s->caches, sizeof(s->caches));
	cpuinfo_virtualization(s->virtualized, sizeof(s->virtualized));
	s->restricted = t->restricted;
}
