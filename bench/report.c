/* report.c - the counters every case carries (DESIGN.md) and its label,
 * handed to Google Benchmark from a harness result record. */
#include "gbench.h"
#include "result.h"
#include "suite.h"

static void put_counter(const char *name, double value, void *st)
{
	gb_counter(st, name, value, GB_COUNTER_DEFAULT);
}

void suite_report(struct gb_state *st, const struct result *res)
{
	result_foreach(res, put_counter, st);
	if (res->label[0])
		gb_set_label(st, res->label);
}
