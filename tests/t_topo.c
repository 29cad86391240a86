/* t_topo.c - hwloc topology, placement policies, strict binding, pair
 * classes, XML export and summary.  A policy this machine cannot satisfy is
 * reported as a skip with the policy's own reason.  No timing thresholds.
 *
 * Why this file is long: every placement policy against real and
 * synthetic topologies.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hwloc.h>

#include "topo.h"
#include "testutil.h"

/* The whole executable must finish well within this (seconds). */
#define TEST_ALARM_S 60
/* A forked child that binds and reports must be done within this. */
#define CHILD_ALARM_S 10
/* Largest pool tried per policy: a few times the PUs, so wrapping shows. */
#define POOL_FACTOR 3
/* Bound for the CPU lists built here (pools in tests are small). */
#define MAXP 64

static const char *const class_names[] = {
	"same-pu", "same-core", "shared-L2", "shared-L3",
	"same-package", "same-numa", "machine",
};

static int setup(void **state)
{
	char err[TOPO_ERRLEN] = "";
	struct topo *t;

	if (topo_open(&t, err) != 0) {
		print_error("topo_open: %s\n", err);
		return -1;
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	topo_close(*state);
	return 0;
}

/* Skip with the reason the library gave (it must give one). */
static void skip_because(const char *reason)
{
	assert_true(reason[0] != '\0');
	tap_skip("%s", reason);
}

static bool in_affinity(int cpu)
{
	cpu_set_t m;

	CPU_ZERO(&m);
	assert_int_equal(sched_getaffinity(0, sizeof(m), &m), 0);
	return cpu >= 0 && cpu < CPU_SETSIZE && CPU_ISSET(cpu, &m);
}

static void test_allowed(void **state)
{
	struct topo *t = *state;
	unsigned n = topo_allowed_count(t);
	cpu_set_t m;

	assert_true(n >= 1);
	CPU_ZERO(&m);
	assert_int_equal(sched_getaffinity(0, sizeof(m), &m), 0);
	assert_true(n <= (unsigned)CPU_COUNT(&m));
	for (unsigned i = 0; i < n; i++) {
		int c = topo_allowed_cpu(t, i);

		assert_true(in_affinity(c));
		assert_true(topo_cpu_allowed(t, c));
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(topo_allowed_cpu(t, j), c);
	}
	assert_int_equal(topo_allowed_cpu(t, n), -1);
	assert_false(topo_cpu_allowed(t, -1));
	assert_false(topo_cpu_allowed(t, TOPO_MAX_CPUS + 7));
}

static void test_names(void **state)
{
	struct placement pl;
	char err[TOPO_ERRLEN];
	static const char *const bad[] = { "", "cpus", "Compact", "foo", "none ", "cross_numa" };

	(void)state;
	for (unsigned k = 0; k < PLACE_COUNT; k++) {
		const char *name = placement_name((enum placement_kind)k);

		if (k == PLACE_CPUS) {
			assert_string_equal(name, "cpus");
			continue;
		}
		memset(&pl, 0xff, sizeof(pl));
		assert_int_equal(placement_parse(name, &pl, err), 0);
		assert_int_equal(pl.kind, k);
	}
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(placement_parse(bad[i], &pl, err), -EINVAL);
		assert_non_null(strstr(err, bad[i]));
		assert_non_null(strstr(err, "cpus"));
	}
	assert_null(strchr(err, '\n'));
}

/* Place nproc processes; check every CPU allowed and, when distinct is
 * asked and the pool fits, no CPU twice.  Returns topo_place's result. */
static int place_check(struct topo *t, enum placement_kind k, unsigned nproc,
		       bool distinct, char *err)
{
	struct placement pl = { .kind = k };
	int cpus[MAXP];
	bool over = true;
	int rc;

	assert_true(nproc <= MAXP);
	err[0] = '\0';
	rc = topo_place(t, &pl, nproc, cpus, &over, err);
	if (rc == -ENOTSUP) {
		assert_true(err[0] != '\0');
		return rc;
	}
	if (rc != 0)
		print_error("%s pool %u: %s\n", placement_name(k), nproc, err);
	assert_int_equal(rc, 0);
	assert_int_equal(over, nproc > topo_allowed_count(t));
	for (unsigned i = 0; i < nproc; i++) {
		assert_true(topo_cpu_allowed(t, cpus[i]));
		if (!distinct || nproc > topo_allowed_count(t))
			continue;
		for (unsigned j = 0; j < i; j++)
			assert_int_not_equal(cpus[i], cpus[j]);
	}
	return 0;
}

/* Every pool size from 1 to POOL_FACTOR x the allowed PUs. */
static void policy_all_pools(struct topo *t, enum placement_kind k)
{
	char err[TOPO_ERRLEN];
	unsigned max = POOL_FACTOR * topo_allowed_count(t);

	for (unsigned n = 1; n <= max && n <= MAXP; n++) {
		if (place_check(t, k, n, true, err) == -ENOTSUP) {
			skip_because(err);
			return;
		}
	}
}

static void test_none(void **state)
{
	struct topo *t = *state;
	struct placement pl = { .kind = PLACE_NONE };
	unsigned n = topo_allowed_count(t);
	char err[TOPO_ERRLEN];
	int cpus[MAXP];
	bool over;

	for (unsigned p = 1; p <= POOL_FACTOR * n && p <= MAXP; p++) {
		over = !(p > n);
		assert_int_equal(topo_place(t, &pl, p, cpus, &over, err), 0);
		assert_int_equal(over, p > n);
		for (unsigned i = 0; i < p; i++)
			assert_int_equal(cpus[i], -1);
	}
	assert_int_equal(topo_place(t, &pl, 0, cpus, &over, err), -EINVAL);
}

static void test_compact(void **state)
{
	struct topo *t = *state;
	struct placement pl = { .kind = PLACE_COMPACT };
	int cpus[MAXP];
	bool over;
	char err[TOPO_ERRLEN];

	policy_all_pools(t, PLACE_COMPACT);
	/* Compact is the allowed list in topology order. */
	assert_int_equal(topo_place(t, &pl, topo_allowed_count(t), cpus, &over, err), 0);
	for (unsigned i = 0; i < topo_allowed_count(t); i++)
		assert_int_equal(cpus[i], topo_allowed_cpu(t, i));
}

static void test_scatter(void **state)
{
	struct topo *t = *state;
	struct placement pl = { .kind = PLACE_SCATTER };
	unsigned n = topo_allowed_count(t);
	int cpus[MAXP];
	bool over;
	char err[TOPO_ERRLEN];

	policy_all_pools(t, PLACE_SCATTER);
	/* A permutation of the allowed PUs, and the first two are never SMT
	 * siblings when two cores are available. */
	assert_true(n <= MAXP);
	assert_int_equal(topo_place(t, &pl, n, cpus, &over, err), 0);
	for (unsigned i = 0; i < n; i++)
		assert_true(topo_cpu_allowed(t, cpus[i]));
	if (n >= 2 && strcmp(topo_pair_class(t, cpus[0], cpus[1]), "same-core") == 0) {
		/* Only allowed if no two allowed PUs are on different cores. */
		for (unsigned i = 1; i < n; i++)
			assert_string_equal(topo_pair_class(t, cpus[0], cpus[i]), "same-core");
	}
}

static void test_smt(void **state)
{
	struct topo *t = *state;
	struct placement pl = { .kind = PLACE_SMT };
	int cpus[2];
	bool over;
	char err[TOPO_ERRLEN] = "";

	if (topo_place(t, &pl, 2, cpus, &over, err) == -ENOTSUP) {
		assert_non_null(strstr(err, "smt"));
		skip_because(err);
		return;
	}
	assert_string_equal(topo_pair_class(t, cpus[0], cpus[1]), "same-core");
	policy_all_pools(t, PLACE_SMT);
}

static void test_cross_cache(void **state)
{
	struct topo *t = *state;
	struct placement pl = { .kind = PLACE_CROSS_CACHE };
	int cpus[MAXP];
	bool over;
	char err[TOPO_ERRLEN] = "";
	int rc;

	/* One process shares nothing with anyone: always possible. */
	assert_int_equal(place_check(t, PLACE_CROSS_CACHE, 1, true, err), 0);
	for (unsigned n = 2; n <= topo_allowed_count(t) + 1 && n <= MAXP; n++) {
		rc = topo_place(t, &pl, n, cpus, &over, err);
		if (rc == -ENOTSUP) {
			/* The reason names the counts. */
			assert_non_null(strstr(err, "cross-cache"));
			assert_true(strpbrk(err, "0123456789") != NULL);
			skip_because(err);
			return;
		}
		assert_int_equal(rc, 0);
		assert_false(over);
		for (unsigned i = 0; i < n; i++) {
			assert_true(topo_cpu_allowed(t, cpus[i]));
			for (unsigned j = 0; j < i; j++) {
				const char *c = topo_pair_class(t, cpus[i], cpus[j]);

				assert_string_not_equal(c, "same-pu");
				assert_string_not_equal(c, "same-core");
				assert_string_not_equal(c, "shared-L2");
				assert_string_not_equal(c, "shared-L3");
			}
		}
	}
	/* More processes than allowed PUs cannot all have their own cache. */
	fail_msg("cross-cache placed %u processes on %u PUs", topo_allowed_count(t) + 1,
		 topo_allowed_count(t));
}

static void test_cross_numa(void **state)
{
	struct topo *t = *state;
	struct placement pl = { .kind = PLACE_CROSS_NUMA };
	int cpus[2];
	bool over;
	char err[TOPO_ERRLEN] = "";

	if (topo_place(t, &pl, 2, cpus, &over, err) == -ENOTSUP) {
		assert_non_null(strstr(err, "cross-numa"));
		skip_because(err);
		return;
	}
	assert_string_equal(topo_pair_class(t, cpus[0], cpus[1]), "machine");
	policy_all_pools(t, PLACE_CROSS_NUMA);
}

/* Pool > allowed PUs: wraps, every allowed PU used, marked. */
static void test_oversubscribed(void **state)
{
	static const enum placement_kind kinds[] = {
		PLACE_NONE, PLACE_COMPACT, PLACE_SCATTER, PLACE_SMT, PLACE_CROSS_NUMA,
	};
	struct topo *t = *state;
	unsigned n = topo_allowed_count(t);
	char err[TOPO_ERRLEN];
	int cpus[MAXP];

	assert_true(2 * n + 1 <= MAXP);
	for (unsigned k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct placement pl = { .kind = kinds[k] };
		bool over = false;
		int rc;

		rc = topo_place(t, &pl, n, cpus, &over, err);
		if (rc == -ENOTSUP)
			continue; /* covered (as a skip) by the policy's own test */
		assert_int_equal(rc, 0);
		assert_false(over);
		over = false;
		assert_int_equal(topo_place(t, &pl, 2 * n + 1, cpus, &over, err), 0);
		assert_true(over);
		if (kinds[k] == PLACE_NONE || kinds[k] == PLACE_SMT)
			continue;
		/* Every allowed PU is used when the pool wraps. */
		for (unsigned i = 0; i < n; i++) {
			bool used = false;

			for (unsigned j = 0; j < 2 * n + 1; j++)
				used |= cpus[j] == topo_allowed_cpu(t, i);
			assert_true(used);
		}
	}
}

/* A CPU number this process may not use (exists or not). */
static int disallowed_cpu(const struct topo *t)
{
	for (int c = 0; c < TOPO_MAX_CPUS; c++)
		if (!topo_cpu_allowed(t, c))
			return c;
	return -1;
}

static void test_cpus_policy(void **state)
{
	struct topo *t = *state;
	unsigned n = topo_allowed_count(t);
	struct placement *pl = calloc(1, sizeof(*pl));
	char err[TOPO_ERRLEN], want[32];
	int cpus[MAXP], bad = disallowed_cpu(t);
	bool over;

	assert_non_null(pl);
	/* The allowed list reversed: kept in that order, distinct, not over. */
	pl->kind = PLACE_CPUS;
	pl->ncpus = n;
	for (unsigned i = 0; i < n; i++)
		pl->cpus[i] = topo_allowed_cpu(t, n - 1 - i);
	over = true;
	assert_int_equal(topo_place(t, pl, n, cpus, &over, err), 0);
	assert_false(over);
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(cpus[i], pl->cpus[i]);
	/* A one-CPU list for a pool of three wraps and is oversubscribed. */
	pl->ncpus = 1;
	over = false;
	assert_int_equal(topo_place(t, pl, 3, cpus, &over, err), 0);
	assert_true(over);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(cpus[i], pl->cpus[0]);
	/* Pool of one from a longer list: not oversubscribed. */
	pl->ncpus = n;
	over = true;
	assert_int_equal(topo_place(t, pl, 1, cpus, &over, err), 0);
	assert_false(over);
	/* A disallowed CPU: -EINVAL naming it and the allowed list. */
	assert_true(bad >= 0);
	pl->cpus[0] = bad;
	err[0] = '\0';
	assert_int_equal(topo_place(t, pl, 1, cpus, &over, err), -EINVAL);
	snprintf(want, sizeof(want), "CPU %d ", bad);
	assert_non_null(strstr(err, want));
	assert_non_null(strstr(err, "allowed"));
	/* Empty list. */
	pl->ncpus = 0;
	assert_int_equal(topo_place(t, pl, 1, cpus, &over, err), -EINVAL);
	free(pl);
}

static void test_parse_accepts(void **state)
{
	static const struct {
		const char *in;
		unsigned n;
		int cpus[8];
	} ok[] = {
		{ "0", 1, { 0 } },
		{ "1", 1, { 1 } },
		{ "0,1", 2, { 0, 1 } },
		{ "1,0", 2, { 1, 0 } },
		{ "0-3", 4, { 0, 1, 2, 3 } },
		{ "0,1,4-7", 6, { 0, 1, 4, 5, 6, 7 } },
		{ "5-5", 1, { 5 } },
		{ "7,2-3", 3, { 7, 2, 3 } },
		{ "1023", 1, { 1023 } },
		{ "1020-1023", 4, { 1020, 1021, 1022, 1023 } },
		{ "007", 1, { 7 } },
		{ "3,0-1,8", 4, { 3, 0, 1, 8 } },
		{ "2-4,0", 4, { 2, 3, 4, 0 } },
	};
	struct placement *pl = calloc(1, sizeof(*pl));
	char err[TOPO_ERRLEN];

	(void)state;
	assert_non_null(pl);
	for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		err[0] = '\0';
		if (placement_parse_cpus(ok[i].in, pl, err) != 0)
			fail_msg("'%s' rejected: %s", ok[i].in, err);
		assert_int_equal(pl->kind, PLACE_CPUS);
		assert_int_equal(pl->ncpus, ok[i].n);
		for (unsigned j = 0; j < ok[i].n; j++)
			assert_int_equal(pl->cpus[j], ok[i].cpus[j]);
	}
	/* The whole range is one list of TOPO_MAX_CPUS entries. */
	assert_int_equal(placement_parse_cpus("0-1023", pl, err), 0);
	assert_int_equal(pl->ncpus, TOPO_MAX_CPUS);
	assert_int_equal(pl->cpus[TOPO_MAX_CPUS - 1], TOPO_MAX_CPUS - 1);
	free(pl);
}

static void test_parse_rejects(void **state)
{
	static const char *const bad[] = {
		"", ",", "0,", ",0", "0,,1", "1-", "-1", "3-1", "0, 1", " 0",
		"0 ", "a", "0x1", "1.5", "+1", "1024", "0-1024",
		"99999999999999999999", "1,1", "0-2,2", "1-3,2-4", "0-1-2",
		"0:2", "1;2",
	};
	struct placement *pl = calloc(1, sizeof(*pl));
	char err[TOPO_ERRLEN];

	(void)state;
	assert_non_null(pl);
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (placement_parse_cpus(bad[i], pl, err) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		/* One line naming the value and what is accepted. */
		assert_non_null(strstr(err, "--cpus"));
		if (strlen(bad[i]) <= 64)
			assert_non_null(strstr(err, bad[i]));
		assert_true(strstr(err, "0,1,4-7") || strstr(err, "once") ||
			    strstr(err, "low-high") || strstr(err, "0..1023"));
		assert_null(strchr(err, '\n'));
	}
	assert_int_equal(placement_parse_cpus(NULL, pl, err), -EINVAL);
	free(pl);
}

struct report {
	int rc, before, after;
	char err[TOPO_ERRLEN];
};

/* Fork a child that runs fn and sends back a struct report. */
static void run_child(struct topo *t, int cpu, void (*fn)(struct topo *, int, struct report *),
		      struct report *r)
{
	int fd[2], status;
	ssize_t got;
	pid_t pid;

	assert_int_equal(pipe(fd), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct report mine;

		alarm(CHILD_ALARM_S);
		close(fd[0]);
		memset(&mine, 0, sizeof(mine));
		fn(t, cpu, &mine);
		_exit(write(fd[1], &mine, sizeof(mine)) == sizeof(mine) ? 0 : 1);
	}
	close(fd[1]);
	memset(r, 0, sizeof(*r));
	do
		got = read(fd[0], r, sizeof(*r));
	while (got < 0 && errno == EINTR);
	close(fd[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(got, sizeof(*r));
}

static void child_bind(struct topo *t, int cpu, struct report *r)
{
	cpu_set_t m;

	r->rc = topo_bind_self(t, cpu, r->err);
	r->before = sched_getcpu();
	/* Still there after giving the scheduler chances to move us, and
	 * the kernel's mask is exactly that CPU. */
	for (int i = 0; i < 100; i++)
		sched_yield();
	r->after = sched_getcpu();
	CPU_ZERO(&m);
	if (sched_getaffinity(0, sizeof(m), &m) != 0 || CPU_COUNT(&m) != 1 ||
	    !CPU_ISSET(cpu, &m))
		r->after = -2;
}

static void test_bind_real(void **state)
{
	struct topo *t = *state;
	struct report r;

	for (unsigned i = 0; i < topo_allowed_count(t); i++) {
		int cpu = topo_allowed_cpu(t, i);

		run_child(t, cpu, child_bind, &r);
		if (r.rc != 0)
			fail_msg("bind to %d: %s", cpu, r.err);
		assert_int_equal(r.before, cpu);
		assert_int_equal(r.after, cpu);
	}
	/* -1 binds nothing and succeeds. */
	assert_int_equal(topo_bind_self(t, -1, NULL), 0);
	assert_int_equal(zombie_children(), 0);
}

/* Child: narrow the affinity to one CPU, load the topology again there,
 * and try to bind to a CPU that is now outside the mask. */
static void child_bind_disallowed(struct topo *parent, int target, struct report *r)
{
	char err[TOPO_ERRLEN];
	struct topo *t;
	cpu_set_t m;

	CPU_ZERO(&m);
	CPU_SET(topo_allowed_cpu(parent, 0), &m);
	if (sched_setaffinity(0, sizeof(m), &m) != 0 || topo_open(&t, err) != 0) {
		r->rc = 1000;
		return;
	}
	r->before = topo_restricted(t) ? (int)topo_allowed_count(t) : -1;
	r->rc = topo_bind_self(t, target, r->err);
	r->after = sched_getcpu();
	topo_close(t);
}

static void test_bind_disallowed(void **state)
{
	struct topo *t = *state;
	int home = topo_allowed_cpu(t, 0);
	int target = topo_allowed_count(t) >= 2 ? topo_allowed_cpu(t, 1) : disallowed_cpu(t);
	char want[32];
	struct report r;

	run_child(t, target, child_bind_disallowed, &r);
	assert_int_not_equal(r.rc, 1000);
	assert_int_equal(r.rc, -EINVAL);
	snprintf(want, sizeof(want), "CPU %d ", target);
	assert_non_null(strstr(r.err, want));
	assert_non_null(strstr(r.err, "allowed"));
	assert_int_equal(r.after, home);
	if (topo_allowed_count(t) >= 2)
		assert_int_equal(r.before, 1); /* restricted, one PU left */
	/* In this process: a CPU that exists nowhere. */
	r.err[0] = '\0';
	assert_int_equal(topo_bind_self(t, disallowed_cpu(t), r.err), -EINVAL);
	assert_true(r.err[0] != '\0');
	assert_int_equal(zombie_children(), 0);
}

static bool known_class(const char *c)
{
	for (unsigned i = 0; i < sizeof(class_names) / sizeof(class_names[0]); i++)
		if (strcmp(c, class_names[i]) == 0)
			return true;
	return false;
}

static void test_pair_classes(void **state)
{
	struct topo *t = *state;
	unsigned n = topo_allowed_count(t);

	for (unsigned i = 0; i < n; i++) {
		int a = topo_allowed_cpu(t, i);

		assert_string_equal(topo_pair_class(t, a, a), "same-pu");
		assert_string_equal(topo_pair_class(t, a, -1), "unbound");
		assert_string_equal(topo_pair_class(t, -1, a), "unbound");
		for (unsigned j = 0; j < n; j++) {
			int b = topo_allowed_cpu(t, j);
			const char *ab = topo_pair_class(t, a, b);

			assert_true(known_class(ab));
			assert_string_equal(ab, topo_pair_class(t, b, a));
			if (a != b)
				assert_string_not_equal(ab, "same-pu");
			if (i < j)
				print_message("# pair (%d,%d): %s\n", a, b, ab);
		}
	}
}

/* The XML test's private folder: named after the pid so the teardown can
 * remove it even when an assertion left the test half way. */
static void xml_dir(char *dir, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/ipclab-topo-%ld", tmp && *tmp ? tmp : "/tmp", (long)getpid());
}

static int teardown_xml(void **state)
{
	static const char *const files[] = { "topology.xml", "topology.xml.tmp" };
	char dir[256], path[300];

	xml_dir(dir, sizeof(dir));
	for (unsigned i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		unlink(path);
	}
	rmdir(dir);
	return teardown(state);
}

static void test_xml(void **state)
{
	struct topo *t = *state;
	struct leak_snap *before = malloc(sizeof(*before));
	char dir[256], path[300], err[TOPO_ERRLEN], leaks[512];
	struct topo_summary s;
	hwloc_topology_t back;
	struct stat st;

	assert_non_null(before);
	leak_snapshot(before);
	xml_dir(dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(path, sizeof(path), "%s/topology.xml", dir);
	if (topo_export_xml(t, path, err) != 0)
		fail_msg("export: %s", err);
	topo_summary(t, &s);

	assert_int_equal(hwloc_topology_init(&back), 0);
	assert_int_equal(hwloc_topology_set_flags(back, HWLOC_TOPOLOGY_FLAG_INCLUDE_DISALLOWED), 0);
	assert_int_equal(hwloc_topology_set_xml(back, path), 0);
	assert_int_equal(hwloc_topology_load(back), 0);
	assert_int_equal(hwloc_get_nbobjs_by_type(back, HWLOC_OBJ_PU), (int)s.pus);
	assert_int_equal(hwloc_get_nbobjs_by_type(back, HWLOC_OBJ_CORE), (int)s.cores);
	hwloc_topology_destroy(back);

	/* No temporary left beside it. */
	snprintf(path, sizeof(path), "%s/topology.xml.tmp", dir);
	assert_int_not_equal(stat(path, &st), 0);
	/* Into a folder that does not exist: an error, nothing created. */
	snprintf(path, sizeof(path), "%s/missing/topology.xml", dir);
	err[0] = '\0';
	assert_true(topo_export_xml(t, path, err) < 0);
	assert_true(err[0] != '\0');

	snprintf(path, sizeof(path), "%s/topology.xml", dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
	assert_int_equal(leak_check(before, leaks, sizeof(leaks)), 0);
	free(before);
}

static void test_summary(void **state)
{
	struct topo *t = *state;
	struct placement pl = { .kind = PLACE_SMT };
	struct topo_summary s;
	char err[TOPO_ERRLEN];
	int cpus[2];
	bool over;

	memset(&s, 0xa5, sizeof(s));
	topo_summary(t, &s);
	print_message("# cpu: %.128s; %u package(s), %u core(s), %u PU(s), %u NUMA node(s); allowed %u; smt %s\n",
		      s.cpu_model, s.packages, s.cores, s.pus, s.numa_nodes,
		      s.allowed_pus, s.smt ? "yes" : "no");
	print_message("# caches: %.256s; virtualized: %.64s; restricted: %s\n",
		      s.caches, s.virtualized, s.restricted ? "yes" : "no");
	assert_non_null(memchr(s.cpu_model, '\0', sizeof(s.cpu_model)));
	assert_non_null(memchr(s.caches, '\0', sizeof(s.caches)));
	assert_non_null(memchr(s.virtualized, '\0', sizeof(s.virtualized)));
	assert_true(s.cpu_model[0] != '\0');
	assert_true(s.caches[0] != '\0');
	assert_true(s.virtualized[0] != '\0');
	assert_true(s.packages >= 1);
	assert_true(s.cores >= s.packages);
	assert_true(s.pus >= s.cores);
	assert_true(s.numa_nodes >= 1);
	assert_int_equal(s.allowed_pus, topo_allowed_count(t));
	assert_true(s.allowed_pus <= s.pus);
	assert_int_equal(s.restricted, topo_restricted(t));
	assert_int_equal(s.restricted, s.allowed_pus < s.pus);
	assert_int_equal(s.smt, s.pus > s.cores);
	/* The smt policy agrees with the summary on an unrestricted run. */
	if (!s.restricted)
		assert_int_equal(topo_place(t, &pl, 2, cpus, &over, err) == 0, s.smt);
}

/* Load a made-up machine through hwloc's HWLOC_SYNTHETIC; the real
 * topology in *state is untouched. */
static struct topo *open_synthetic(const char *desc)
{
	char err[TOPO_ERRLEN] = "";
	struct topo *t = NULL;
	int rc;

	assert_int_equal(setenv("HWLOC_SYNTHETIC", desc, 1), 0);
	rc = topo_open(&t, err);
	unsetenv("HWLOC_SYNTHETIC");
	if (rc != 0)
		fail_msg("synthetic '%s': %s", desc, err);
	return t;
}

static void place_expect(struct topo *t, enum placement_kind k, unsigned n,
			 const int *want)
{
	struct placement pl = { .kind = k };
	char err[TOPO_ERRLEN] = "";
	int cpus[MAXP];
	bool over = true;

	if (topo_place(t, &pl, n, cpus, &over, err) != 0)
		fail_msg("%s pool %u: %s", placement_name(k), n, err);
	assert_false(over);
	for (unsigned i = 0; i < n; i++)
		if (cpus[i] != want[i])
			fail_msg("%s pool %u: process %u on CPU %d, expected %d",
				 placement_name(k), n, i, cpus[i], want[i]);
}

/* 2 packages, each with its NUMA node and 2 L3s of 2 cores of 2 PUs:
 * every policy has something to do, and most pair classes show up; two
 * smaller machines bring shared-L2, same-numa and sub-NUMA clusters.  PU P#n
 * is the n-th PU in topology order. */
static void test_synthetic(void **state)
{
	static const int compact[] = { 0, 1, 2, 3 };
	static const int scatter[] = { 0, 8, 2, 10, 4, 12, 6, 14, 1, 9, 3 };
	static const int smt[] = { 0, 1, 2, 3, 4, 5 };
	static const int cross_cache[] = { 0, 8, 4, 12 };
	static const int cross_numa[] = { 0, 8, 2, 10, 4 };
	static const int snc_scatter[] = { 0, 1, 2, 3 };
	static const int snc_cross_numa[] = { 0, 2, 1, 3 };
	struct topo *t = open_synthetic("pack:2 [numa] l3:2 core:2 pu:2");
	struct placement pl = { .kind = PLACE_CROSS_CACHE };
	struct topo_summary s;
	char err[TOPO_ERRLEN] = "";
	int cpus[MAXP];
	bool over;

	(void)state;
	assert_int_equal(topo_allowed_count(t), 16);
	assert_false(topo_restricted(t));
	place_expect(t, PLACE_COMPACT, 4, compact);
	place_expect(t, PLACE_SCATTER, 11, scatter);
	place_expect(t, PLACE_SMT, 6, smt);
	place_expect(t, PLACE_CROSS_CACHE, 4, cross_cache);
	place_expect(t, PLACE_CROSS_NUMA, 5, cross_numa);
	/* Five processes cannot each have one of four L3s; the reason says so. */
	assert_int_equal(topo_place(t, &pl, 5, cpus, &over, err), -ENOTSUP);
	assert_non_null(strstr(err, "5 processes"));
	assert_non_null(strstr(err, " 4"));

	assert_string_equal(topo_pair_class(t, 0, 1), "same-core");
	assert_string_equal(topo_pair_class(t, 0, 2), "shared-L3");
	assert_string_equal(topo_pair_class(t, 0, 4), "same-package");
	assert_string_equal(topo_pair_class(t, 0, 8), "machine");
	assert_string_equal(topo_pair_class(t, 15, 0), "machine");

	topo_summary(t, &s);
	assert_int_equal(s.packages, 2);
	assert_int_equal(s.cores, 8);
	assert_int_equal(s.pus, 16);
	assert_int_equal(s.numa_nodes, 2);
	assert_true(s.smt);
	assert_non_null(strstr(s.caches, "L3 16MiB x4"));
	/* Not this machine: binding is refused, not faked. */
	err[0] = '\0';
	assert_int_equal(topo_bind_self(t, 0, err), -EINVAL);
	assert_true(err[0] != '\0');
	topo_close(t);

	/* One NUMA node for two packages (attached to the machine), one L2
	 * per pair of cores: same-numa and shared-L2 appear. */
	t = open_synthetic("[numa] pack:2 l2:2 core:2 pu:1");
	assert_string_equal(topo_pair_class(t, 0, 1), "shared-L2");
	assert_string_equal(topo_pair_class(t, 0, 2), "same-package");
	assert_string_equal(topo_pair_class(t, 0, 4), "same-numa");
	err[0] = '\0';
	pl.kind = PLACE_SMT;
	assert_int_equal(topo_place(t, &pl, 2, cpus, &over, err), -ENOTSUP);
	assert_string_equal(err, "smt: no core has more than one PU on this machine");
	pl.kind = PLACE_CROSS_NUMA;
	assert_int_equal(topo_place(t, &pl, 2, cpus, &over, err), -ENOTSUP);
	assert_string_equal(err, "cross-numa: this machine has 1 NUMA node");
	topo_close(t);

	/* Two NUMA nodes inside one package (sub-NUMA clustering): scatter
	 * goes core by core, cross-numa alternates the nodes. */
	t = open_synthetic("pack:1 group:2 [numa] core:2 pu:1");
	place_expect(t, PLACE_SCATTER, 4, snc_scatter);
	place_expect(t, PLACE_CROSS_NUMA, 4, snc_cross_numa);
	assert_string_equal(topo_pair_class(t, 0, 1), "same-numa");
	assert_string_equal(topo_pair_class(t, 0, 2), "same-package");
	topo_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name, fn) { "topo: " name, fn, setup, teardown, NULL }
		T("allowed PUs are this process's affinity, in topology order", test_allowed),
		T("policy names parse strictly", test_names),
		T("none leaves every process unbound", test_none),
		T("compact gives allowed PUs in topology order", test_compact),
		T("scatter gives distinct allowed PUs, cores before siblings", test_scatter),
		T("smt puts a pair on SMT siblings of one core", test_smt),
		T("cross-cache gives PUs that share no L2 or L3", test_cross_cache),
		T("cross-numa puts a pair on different NUMA nodes", test_cross_numa),
		T("pool larger than the allowed PUs wraps and is oversubscribed", test_oversubscribed),
		T("cpus policy keeps the list, wraps, refuses a disallowed CPU", test_cpus_policy),
		T("cpu-list parser accepts taskset syntax", test_parse_accepts),
		T("cpu-list parser rejects malformed lists", test_parse_rejects),
		T("binding is real: each child runs on its CPU", test_bind_real),
		T("binding to a disallowed CPU fails cleanly", test_bind_disallowed),
		T("pair classes are known names, symmetric, same-pu on the diagonal", test_pair_classes),
		{ "topo: XML export loads back with the same PUs", test_xml, setup, teardown_xml, NULL },
		T("summary fields are filled", test_summary),
		T("policies and pair classes on synthetic machines", test_synthetic),
#undef T
	};

	/* The filter waits at most this long for its child, which has its
	 * own alarm of TEST_ALARM_S. */
	alarm(TEST_ALARM_S + 5);
	return tap_run("topo", tests, sizeof(tests) / sizeof(tests[0]));
}
