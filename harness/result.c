/* result.c - counters of a finished measurement, computed in one place. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "result.h"
#include "workload.h"

void result_from_hist(struct result *res, const struct hist *lat,
		      uint64_t msgs, uint64_t bytes, double seconds)
{
	memset(res, 0, sizeof(*res));
	res->label = "";
	if (seconds > 0) {
		res->msgs_per_s = (double)msgs / seconds;
		res->bytes_per_s = (double)bytes / seconds;
	}
	res->samples = lat->count;
	if (!lat->count)
		return;
	res->p50_ns = hist_percentile(lat, 50);
	res->p90_ns = hist_percentile(lat, 90);
	res->p99_ns = hist_percentile(lat, 99);
	res->p999_ns = hist_percentile(lat, 99.9);
	res->p9999_ns = hist_percentile(lat, 99.99);
	res->min_ns = lat->min;
	res->max_ns = lat->max;
	res->mean_ns = hist_mean(lat);
}

void result_from_round(struct result *res, const struct case_round *round,
		       const struct case_run *run)
{
	result_from_hist(res, &round->lat, round->delivered, round->bytes,
			 (double)round->elapsed_ns / 1e9);
	res->oversubscribed = case_oversubscribed(run);
	res->procs = case_procs(run);
	res->per_worker_channels = case_per_worker_channels(run);
	res->hops = case_hops(run);
	res->label = case_label(run);
	res->nextra = round->nextra;
	memcpy(res->extra, round->extra, sizeof(res->extra[0]) * round->nextra);
}

const struct result_counter result_counters[] = {
	{ "msgs_per_s", "1/s", "messages (iterations for in-process cases) that arrived and were checked, per second" },
	{ "bytes_per_s", "B/s", "payload bytes that arrived and were checked, per second" },
	{ "p50_ns", "ns", "median latency sample (what a sample is: the workload's latency)" },
	{ "p90_ns", "ns", "90th percentile latency sample" },
	{ "p99_ns", "ns", "99th percentile latency sample" },
	{ "p999_ns", "ns", "99.9th percentile latency sample" },
	{ "p9999_ns", "ns", "99.99th percentile latency sample" },
	{ "max_ns", "ns", "largest latency sample" },
	{ "min_ns", "ns", "smallest latency sample" },
	{ "mean_ns", "ns", "mean latency sample (clock, hist, harness micro cases: mean cost of one operation)" },
	{ "samples", "count", "latency samples in the histogram" },
	{ "oversubscribed", "0/1", "1 when the case ran more workers than CPUs it may use" },
	{ "procs", "count", "workers of the case (0: in-process)" },
	{ "per_worker_channels", "0/1", "1 when fanout gave each consumer its own channel (the mechanism cannot share one)" },
	{ "hop_p50_ns", "ns", "median sample divided by the hops it spans (ring: one hop of the token); only on such cases" },
	{ "acquisitions_per_s", "1/s", "contend: lock acquisitions by the whole pool per second" },
	{ "fair_min_share", "fraction", "contend: smallest share of the acquisitions one worker got (1/N is fair)" },
	{ "fair_max_share", "fraction", "contend: largest share of the acquisitions one worker got (1/N is fair)" },
	{ "fair_jain", "0..1", "contend: Jain's fairness index of the acquisitions per worker (1: equal)" },
	{ "handoff_idle_ns", "ns", "contend: mean time the lock sat free while a worker already waiting had not yet got it" },
	{ "handoffs", "count", "contend: acquisitions by a worker that was waiting when the lock came free" },
	{ "tasks_per_s", "1/s", "taskpool: tasks run and checked per second (the whole map)" },
	{ "task_share", "fraction", "taskpool: the workers' CPU time inside tasks over their time in the round" },
	{ "task_cpu_ns", "ns", "taskpool: mean CPU time of one task, measured per chunk (thread CPU clock)" },
	{ "chunk_tasks", "count", "taskpool: tasks per chunk the round used (chunk:auto is ceil(n/(4k)))" },
	{ "conn_p50_ns", "ns", "server: median life of a connection (connect, its R requests, close)" },
	{ "connections_per_s", "1/s", "server: connections opened, served (R requests) and closed per second" },
	{ "server_cpu_ns_per_req", "ns", "server: CPU time of the server, its children and threads, per request" },
	{ "first_p50_ns", "ns", "spawn: median time from the start call to the child's first statement (its stamp)" },
	{ "first_p99_ns", "ns", "spawn: 99th percentile of start to the child's first statement" },
	{ "terminate_p50_ns", "ns", "spawn: median time from kill(SIGTERM) of a running child to reaped" },
	{ "terminate_p99_ns", "ns", "spawn: 99th percentile of SIGTERM to reaped" },
	{ "rss_bytes", "B", "spawn: resident bytes of the spawner when it starts children" },
	{ "offered_msgs_per_s", "1/s", "open loop (load:F, rate:N): messages per second the senders offered together" },
	{ "saturation_msgs_per_s", "1/s", "load:F: the case's own closed-loop throughput, measured right before, that F is a fraction of" },
	{ "sender_cpu_wait_share", "fraction", "open loop: the share of the senders' time in the round they were runnable but waiting for a CPU (schedstat run_delay: the machine's other work ahead of them); late sends with a high share are the machine's, not the mechanism's" },
	{ "late_sends", "count", "open loop: messages whose sender reached them after their due time (a send blocked or ran long); sent at once, never skipped" },
	{ "intended_p50_ns", "ns", "open loop: median of receipt minus intended send time (what a user waits, coordinated omission included); the same histogram as p50_ns" },
	{ "intended_p90_ns", "ns", "open loop: 90th percentile of receipt minus intended send time" },
	{ "intended_p99_ns", "ns", "open loop: 99th percentile of receipt minus intended send time" },
	{ "intended_p999_ns", "ns", "open loop: 99.9th percentile of receipt minus intended send time" },
	{ "intended_max_ns", "ns", "open loop: largest receipt minus intended send time" },
	{ "service_p50_ns", "ns", "open loop: median of receipt minus actual send time" },
	{ "service_p90_ns", "ns", "open loop: 90th percentile of receipt minus actual send time" },
	{ "service_p99_ns", "ns", "open loop: 99th percentile of receipt minus actual send time" },
	{ "service_p999_ns", "ns", "open loop: 99.9th percentile of receipt minus actual send time" },
	{ "service_max_ns", "ns", "open loop: largest receipt minus actual send time" },
	{ "pairs", "count", "matrix: ordered pairs of PUs measured (a seeded sample when fewer than pairs_total)" },
	{ "pairs_total", "count", "matrix: ordered pairs of distinct PUs the matrix spans" },
	{ NULL, NULL, NULL },
};

void result_foreach(const struct result *res,
		    void (*fn)(const char *name, double value, void *arg), void *arg)
{
	fn("msgs_per_s", res->msgs_per_s, arg);
	fn("bytes_per_s", res->bytes_per_s, arg);
	fn("p50_ns", (double)res->p50_ns, arg);
	fn("p90_ns", (double)res->p90_ns, arg);
	fn("p99_ns", (double)res->p99_ns, arg);
	fn("p999_ns", (double)res->p999_ns, arg);
	fn("p9999_ns", (double)res->p9999_ns, arg);
	fn("max_ns", (double)res->max_ns, arg);
	fn("min_ns", (double)res->min_ns, arg);
	fn("mean_ns", res->mean_ns, arg);
	fn("samples", (double)res->samples, arg);
	fn("oversubscribed", res->oversubscribed ? 1 : 0, arg);
	fn("procs", res->procs, arg);
	fn("per_worker_channels", res->per_worker_channels ? 1 : 0, arg);
	if (res->hops) /* only cases whose sample spans several hops (ring) */
		fn("hop_p50_ns", (double)res->p50_ns / res->hops, arg);
	for (unsigned i = 0; i < res->nextra; i++)
		fn(res->extra[i].name, res->extra[i].value, arg);
}

int result_json_whole(const char *path)
{
	FILE *f = fopen(path, "r");
	long depth = 0;
	bool in_str = false, esc = false, closed = false, bad = false;
	int ch;

	if (!f)
		return -errno;
	while (!bad && (ch = fgetc(f)) != EOF) {
		if (in_str) {
			if (esc)
				esc = false;
			else if (ch == '\\')
				esc = true;
			else if (ch == '"')
				in_str = false;
			continue;
		}
		if (closed && ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t')
			bad = true; /* something after the value */
		else if (ch == '"')
			in_str = true;
		else if (ch == '{' || ch == '[')
			depth++;
		else if (ch == '}' || ch == ']') {
			if (--depth < 0)
				bad = true;
			closed = depth == 0;
		}
	}
	bad |= ferror(f) != 0;
	fclose(f);
	return !bad && closed && !in_str;
}
