/* topo.h - where processes run: the hwloc topology, placement policies,
 * strict binding, and the class of each communicating pair.
 *
 * The topology is loaded once in the parent; children inherit the loaded
 * struct topo through fork and only bind with it.
 */
#ifndef IPCLAB_TOPO_H
#define IPCLAB_TOPO_H

#include <stdbool.h>
#include <stddef.h>

#define TOPO_ERRLEN 256
#define TOPO_MAX_CPUS 1024 /* CPU numbers accepted by --cpus: 0..1023 */

struct topo; /* opaque */

enum placement_kind {
	PLACE_NONE = 0,     /* no binding: the scheduler decides */
	PLACE_COMPACT,      /* fill PUs in topology order (siblings first) */
	PLACE_SCATTER,      /* spread over packages, then cores, then PUs */
	PLACE_SMT,          /* PUs of one core (needs SMT siblings) */
	PLACE_CROSS_CACHE,  /* no two processes share an L2 or L3 */
	PLACE_CROSS_NUMA,   /* processes on different NUMA nodes */
	PLACE_CPUS,         /* explicit list from --cpus (named "cpus") */
	PLACE_COUNT
};

struct placement {
	enum placement_kind kind;
	unsigned ncpus;             /* PLACE_CPUS only */
	int cpus[TOPO_MAX_CPUS];    /* PLACE_CPUS only: OS indices, in order */
};

/* "none", "compact", ... "cpus". */
const char *placement_name(enum placement_kind k);
/* Parse a policy name (not "cpus": that comes from --cpus).  0 or -EINVAL
 * with a line in err naming the value and the accepted names. */
int placement_parse(const char *s, struct placement *out, char *err);
/* Parse a taskset-style list "0,1,4-7" into out->cpus (kind PLACE_CPUS).
 * 0 or -EINVAL (malformed, empty, negative, reversed range, >= TOPO_MAX_CPUS,
 * duplicates) with a line in err. */
int placement_parse_cpus(const char *list, struct placement *out, char *err);

/* Load the topology (whole system, then restricted to what this process may
 * use: cgroup cpuset and affinity mask).  0 or -errno with err. */
int topo_open(struct topo **out, char *err);
void topo_close(struct topo *t);

/* The PUs this process may use, as OS indices in topology order. */
unsigned topo_allowed_count(const struct topo *t);
int topo_allowed_cpu(const struct topo *t, unsigned i);
bool topo_cpu_allowed(const struct topo *t, int cpu);
/* hwloc saw more PUs than this process may use (cgroup/affinity). */
bool topo_restricted(const struct topo *t);

/*
 * Choose one CPU per process for nproc processes under policy pl.
 * cpus[i] is an OS index, or -1 for PLACE_NONE.  A pool larger than the
 * allowed PUs wraps around and sets *oversubscribed.
 * Returns 0; -ENOTSUP when this machine cannot satisfy the policy (no SMT
 * siblings, one NUMA node, caches shared by all, ...) with the reason in err
 * (the case is skipped, not failed); -EINVAL for a CPU list naming a CPU this
 * process may not use (err names it and the allowed list).
 */
int topo_place(const struct topo *t, const struct placement *pl,
	       unsigned nproc, int *cpus, bool *oversubscribed, char *err);

/* Bind the calling process to cpu (strict), then verify with
 * sched_getcpu(); cpu -1 does nothing.  0 or -errno with err. */
int topo_bind_self(const struct topo *t, int cpu, char *err);
/* The same for the calling thread only (the thread pool backend). */
int topo_bind_thread(const struct topo *t, int cpu, char *err);

/* Class of a pair of CPUs from their closest common hwloc object:
 * "same-pu", "same-core", "shared-L2", "shared-L3", "same-package",
 * "same-numa", "machine"; "unbound" when either is -1. */
const char *topo_pair_class(const struct topo *t, int cpu_a, int cpu_b);

/* Export the whole topology as hwloc XML (written to a temporary name in the
 * same folder and renamed).  0 or -errno with err. */
int topo_export_xml(const struct topo *t, const char *path, char *err);
/* The same XML as text (fleet mode sends it to the rank that writes it):
 * malloc'd into *text (free it), its length in *len.  0 or -errno with
 * err (TOPO_ERRLEN). */
int topo_xml_text(const struct topo *t, char **text, size_t *len, char *err);

struct topo_summary {
	char cpu_model[128];
	unsigned packages, cores, pus, numa_nodes;
	unsigned allowed_pus;
	bool smt;                /* some core has more than one PU */
	char caches[256];        /* e.g. "L1d 32KiB x2, L2 512KiB x2, L3 32MiB x2" */
	char virtualized[64];    /* hypervisor name, "no", or "unknown" */
	bool restricted;         /* hwloc saw more than allowed */
};
void topo_summary(const struct topo *t, struct topo_summary *s);

#endif
