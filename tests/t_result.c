/* t_result.c - the counters of a finished measurement. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "result.h"
#include "testutil.h"

static void collect(const char *name, double value, void *arg)
{
	char *names = arg;

	(void)value;
	strcat(names, name);
	strcat(names, " ");
}

static void test_rates_and_percentiles(void **state)
{
	struct hist *h = malloc(sizeof(*h));
	struct result r;

	(void)state;
	assert_non_null(h);
	hist_init(h);
	for (uint64_t v = 1; v <= 1000; v++)
		hist_record(h, v); /* exact below 2048 */
	result_from_hist(&r, h, 4000, 4000 * 64, 2.0);
	assert_true(r.msgs_per_s == 2000.0);
	assert_true(r.bytes_per_s == 128000.0);
	assert_int_equal(r.p50_ns, 500);
	assert_int_equal(r.p90_ns, 900);
	assert_int_equal(r.p99_ns, 990);
	assert_int_equal(r.p999_ns, 999);
	assert_int_equal(r.min_ns, 1);
	assert_int_equal(r.max_ns, 1000);
	assert_int_equal(r.samples, 1000);
	assert_true(r.mean_ns > 500.4 && r.mean_ns < 500.6);
	assert_string_equal(r.label, "");
	free(h);
}

static void test_empty_and_no_time(void **state)
{
	struct hist *h = malloc(sizeof(*h));
	struct result r;

	(void)state;
	assert_non_null(h);
	hist_init(h);
	result_from_hist(&r, h, 10, 640, 0.0);
	assert_true(r.msgs_per_s == 0 && r.bytes_per_s == 0);
	assert_int_equal(r.samples, 0);
	assert_int_equal(r.max_ns, 0);
	assert_int_equal(r.min_ns, 0); /* not UINT64_MAX from the empty hist */
	free(h);
}

static void test_counter_names(void **state)
{
	struct result r;
	char names[512] = "";

	(void)state;
	memset(&r, 0, sizeof(r));
	result_foreach(&r, collect, names);
	/* The contract of DESIGN.md, in this order, then ours. */
	assert_string_equal(names, "msgs_per_s bytes_per_s p50_ns p90_ns p99_ns p999_ns p9999_ns "
			    "max_ns min_ns mean_ns samples oversubscribed procs per_worker_channels ");
	/* A sample spanning hops (ring) adds hop_p50_ns, and only then. */
	r.hops = 3;
	r.p50_ns = 300;
	names[0] = '\0';
	result_foreach(&r, collect, names);
	assert_non_null(strstr(names, " hop_p50_ns "));
}

/* Every counter a case can report is described (--describe), and every
 * description names a counter some case reports. */
static void count_name(const char *name, double v, void *arg)
{
	unsigned *seen = arg;
	bool known = false;

	(void)v;
	for (unsigned i = 0; result_counters[i].name; i++)
		if (strcmp(result_counters[i].name, name) == 0) {
			seen[i]++;
			known = true;
		}
	if (!known)
		seen[63]++;
}

static void test_counters_described(void **state)
{
	unsigned seen[64] = { 0 }, n = 0;
	struct result r;

	/* The workloads' own counters, one list per workload as each reports
	 * them (harness/workloads/NAME.c, case_round_counter), NULL-ended. */
	static const char *const workload_counters[][RESULT_EXTRA_MAX + 1] = {
		{ "tasks_per_s", "task_share", "task_cpu_ns", "chunk_tasks", NULL }, /* taskpool */
		{ "conn_p50_ns", "connections_per_s", "server_cpu_ns_per_req", NULL }, /* server */
		{ "acquisitions_per_s", "fair_min_share", "fair_max_share", /* contend */
		  "fair_jain", "handoff_idle_ns", "handoffs", NULL },
		{ "first_p50_ns", "first_p99_ns", "terminate_p50_ns", /* spawn */
		  "terminate_p99_ns", "rss_bytes", NULL },
		{ "offered_msgs_per_s", "saturation_msgs_per_s", "late_sends", /* open loop: harness/load.c */
		  "intended_p50_ns", "service_p50_ns", "intended_p90_ns", "service_p90_ns",
		  "intended_p99_ns", "service_p99_ns", "intended_p999_ns", "service_p999_ns",
		  "intended_max_ns", "service_max_ns", "sender_cpu_wait_share", NULL },
		{ "pairs", "pairs_total", NULL }, /* matrix: bench/matrixrun.c */
	};

	(void)state;
	for (unsigned g = 0; g < sizeof(workload_counters) / sizeof(workload_counters[0]); g++) {
		memset(&r, 0, sizeof(r));
		r.hops = 2;
		for (unsigned i = 0; workload_counters[g][i]; i++) {
			assert_true(r.nextra < RESULT_EXTRA_MAX); /* more would be dropped */
			r.extra[r.nextra++] = (struct result_extra){ .name = workload_counters[g][i], .value = 1 };
		}
		result_foreach(&r, count_name, seen);
	}
	for (; result_counters[n].name; n++) {
		assert_true(seen[n] >= 1);
		assert_true(result_counters[n].unit[0] && result_counters[n].meaning[0]);
	}
	assert_true(n < 63);
	assert_int_equal(seen[63], 0); /* nothing reported that is not described */
}

static int json_file(const char *text)
{
	char path[] = "/tmp/ipclab-result-test-XXXXXX";
	int fd = mkstemp(path), rc;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	rc = result_json_whole(path);
	unlink(path);
	return rc;
}

static void test_json_whole(void **state)
{
	(void)state;
	assert_int_equal(json_file("{\"a\": [1, {\"b\": 2}], \"c\": \"}\"}\n"), 1);
	assert_int_equal(json_file("{\"s\": \"quote \\\" and { brace\"}"), 1);
	/* Cut short right after an inner brace: ends in '}' but is not whole. */
	assert_int_equal(json_file("{\"benchmarks\": [{\"x\": 1}"), 0);
	assert_int_equal(json_file("{\"benchmarks\": [{\"x\": 1}]}\n}"), 0);
	assert_int_equal(json_file("{\"a\": \"unterminated}"), 0);
	assert_int_equal(json_file(""), 0);
	assert_int_equal(result_json_whole("/nonexistent/ipclab/bench.json"), -ENOENT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		{ "result: rates and percentiles from a histogram", test_rates_and_percentiles, NULL, NULL, NULL },
		{ "result: an empty histogram and no time give zeros", test_empty_and_no_time, NULL, NULL, NULL },
		{ "result: every counter of the contract, by name", test_counter_names, NULL, NULL, NULL },
		{ "result: every counter reported is described, with a unit", test_counters_described, NULL, NULL, NULL },
		{ "result: a results file cut short is not whole JSON", test_json_whole, NULL, NULL, NULL },
	};

	return tap_run("result", tests, sizeof(tests) / sizeof(tests[0]));
}
