/* sentinel.c - the probes around every repetition, on the case's CPUs. */
#include <stdio.h>

#include "probe.h"
#include "sentinel.h"

void sentinel_cpus(const struct suite_case *c, const struct topo *topo, int *a, int *b)
{
	int cpus[2] = { -1, -1 };
	char err[TOPO_ERRLEN];
	bool over = false;
	const struct workload *wl = c->spec.workload;
	unsigned procs = wl && wl->procs ? wl->procs(c->spec.pool) : 0;

	if (procs >= 2 && c->spec.placement &&
	    topo_place(topo, c->spec.placement, 2, cpus, &over, err) == 0 &&
	    cpus[0] >= 0 && cpus[1] >= 0 && cpus[0] != cpus[1]) {
		*a = cpus[0];
		*b = cpus[1];
		return;
	}
	*a = topo_allowed_cpu(topo, 0);
	*b = topo_allowed_count(topo) > 1 ? topo_allowed_cpu(topo, 1) : *a;
}

void sentinel_probe(int a, int b, struct sentinel *s)
{
	if (probe_cacheline(a, b, PROBE_LINE_TRIPS, &s->line_ns) < 0)
		s->line_ns = 0;
	if (probe_wake(a, b, PROBE_WAKE_TRIPS, &s->wake_ns) < 0)
		s->wake_ns = 0;
}

static bool moved(uint64_t x, uint64_t y)
{
	if (!x || !y)
		return false; /* a probe that failed says nothing */
	return (double)x > SENTINEL_DRIFT_FACTOR * (double)y || (double)y > SENTINEL_DRIFT_FACTOR * (double)x;
}

bool sentinel_drift(const struct sentinel *before, const struct sentinel *after)
{
	return moved(before->line_ns, after->line_ns) || moved(before->wake_ns, after->wake_ns);
}

const char *sentinel_description(void)
{
	static char buf[400];

	snprintf(buf, sizeof(buf),
		 "right before and after each repetition, on the case's first two CPUs: p50 of up to %u round trips of one "
		 "cache line (sentinel_line_*_ns) and of up to %u one-byte blocking pipe round trips between two threads "
		 "(sentinel_wake_*_ns), each probe at most %.0f ms; drift=1 when either moved by more than x%s",
		 PROBE_LINE_TRIPS - PROBE_LINE_TRIPS / 10, PROBE_WAKE_TRIPS - PROBE_WAKE_TRIPS / 10,
		 (double)PROBE_BUDGET_NS / 1e6, SENTINEL_DRIFT_FACTOR_TEXT);
	return buf;
}
