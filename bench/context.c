/* context.c - the results' context: command, exact argv, resolved
 * selection, order, machine, clock, kernel. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "context.h"
#include "fdio.h"
#include "gbench.h"
#include "sysinfo.h"

/* A growing string. */
struct sbuf {
	char *s;
	size_t len, cap;
	bool oom;
};

static void sb_put(struct sbuf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_put(b, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (1..4), 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;

	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static bool valid_utf8(const char *a)
{
	for (const unsigned char *p = (const unsigned char *)a; *p;) {
		size_t n = *p < 0x80 ? 1 : utf8_len(p);

		if (!n)
			return false;
		p += n;
	}
	return true;
}

char *context_argv_json(int argc, char **argv)
{
	struct sbuf b = { 0 };

	sb_str(&b, "[");
	for (int i = 0; i < argc; i++) {
		bool utf8 = valid_utf8(argv[i]);

		sb_str(&b, i ? ",\"" : "\"");
		for (const unsigned char *p = (const unsigned char *)argv[i]; *p; p++) {
			char esc[8];

			if (*p == '"' || *p == '\\') {
				esc[0] = '\\';
				esc[1] = (char)*p;
				sb_put(&b, esc, 2);
			} else if (*p < 0x20 || *p == 0x7f || (*p >= 0x80 && !utf8)) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				sb_str(&b, esc);
			} else
				sb_put(&b, (const char *)p, 1);
		}
		sb_str(&b, "\"");
	}
	sb_str(&b, "]");
	if (b.oom) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

/* Append name to a comma list unless it is there already. */
static void list_add(struct sbuf *b, const char *name)
{
	const char *p = b->s ? b->s : "";
	size_t n = strlen(name);

	while ((p = strstr(p, name))) {
		bool start = p == b->s || p[-1] == ',';

		if (start && (p[n] == ',' || p[n] == '\0'))
			return;
		p += n;
	}
	if (b->len)
		sb_str(b, ",");
	sb_str(b, name);
}

/* The selection as it resolved (profile defaults filled in): each axis's
 * values over the cases, and how many cases. */
static void add_selection(const struct suite *suite)
{
	struct sbuf ax[6] = { 0 }, out = { 0 };
	static const char *const names[6] = { "scenario", "impl", "wait", "placement", "size", "pool" };
	unsigned micro = 0;
	char num[32];

	for (unsigned i = 0; i < suite->n; i++) {
		const struct suite_case *c = &suite->cases[i];

		if (c->micro) {
			micro++;
			continue;
		}
		if (c->spec.workload)
			list_add(&ax[0], c->spec.workload->name);
		if (c->spec.subject.table)
			list_add(&ax[1], subject_name(&c->spec.subject));
		list_add(&ax[2], ipc_wait_name(c->spec.wait));
		list_add(&ax[3], placement_name(c->spec.placement->kind));
		snprintf(num, sizeof(num), "%zu", c->spec.size);
		list_add(&ax[4], num);
		snprintf(num, sizeof(num), "%u", c->spec.pool);
		list_add(&ax[5], num);
	}
	snprintf(num, sizeof(num), "cases=%u", suite->n);
	sb_str(&out, num);
	if (micro) {
		snprintf(num, sizeof(num), " micro=%u", micro);
		sb_str(&out, num);
	}
	for (unsigned k = 0; k < 6; k++) {
		if (ax[k].len) {
			sb_str(&out, " ");
			sb_str(&out, names[k]);
			sb_str(&out, "=");
			sb_str(&out, ax[k].s);
		}
		free(ax[k].s);
	}
	if (!out.oom && out.s)
		gb_add_context("ipclab_selection", out.s);
	free(out.s);
}

static void add_ctx(const char *key, const char *value, void *arg)
{
	(void)arg;
	gb_add_context(key, value);
}

static void add_ctx_u(const char *key, unsigned long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lu", v);
	gb_add_context(key, buf);
}

void context_add(const struct selection *sel, const struct suite *suite, const struct topo *topo,
		 const struct context_run *run)
{
	int argc = run->argc;
	char **argv = run->argv;
	const char *reps = run->reps, *min_time = run->min_time;
	struct clk_info ci;
	struct topo_summary ts;
	struct sysinfo si;
	char buf[2048];
	size_t o = 0;

	for (int i = 0; i < argc && o < sizeof(buf); i++)
		o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "", argv[i]);
	gb_add_context("ipclab_command", buf);
	{
		char *js = context_argv_json(argc, argv);

		if (js)
			gb_add_context("ipclab_argv", js);
		free(js);
	}
	add_selection(suite);
	gb_add_context("ipclab_order", run->order);
	gb_add_context("ipclab_profile", sel->profile == PROFILE_FULL ? "full" : "quick");
	gb_add_context("ipclab_repetitions", reps);
	gb_add_context("ipclab_min_time_s", min_time);
	gb_add_context("ipclab_verify", sel->verify == VERIFY_FULL ? "full: every payload byte" :
			"sample: length, sequence, sender and tail word of every message");
	add_ctx_u("ipclab_timeout_ms", sel->timeout_ms);
	gb_add_context("ipclab_warmup", "one untimed round before every timed round: a tenth of its messages, 16 .. 10000");
	suite_latency_text(buf, sizeof(buf));
	gb_add_context("ipclab_latency", buf);
	gb_add_context("ipclab_workers", "process: one forked process per worker (default; left out of names); "
		       "thread: threads of one forked process (names end /workers:thread, labels say workers=thread); "
		       "coroutine: coroutines of one thread of one forked process, on our own context switch (/workers:coroutine); "
		       "coroutine-ucontext: the same on glibc's swapcontext, an rt_sigprocmask system call per switch (/workers:coroutine-ucontext); "
		       "mpi: rank i of the mpirun job is worker i, rank 0 coordinates (names end /workers:mpi)");
	gb_add_context("ipclab_time", "manual: Google Benchmark's time is ours (the harness clock, ipclab_clock, around each timed round), per message (per round trip for pingpong)");

	if (clk_calibrate(&ci) == 0) {
		gb_add_context("ipclab_clock", ci.name);
		gb_add_context("ipclab_clock_choice", clk_describe());
		snprintf(buf, sizeof(buf), "%.1f", ci.read_cost_ns);
		gb_add_context("ipclab_clock_read_ns", buf);
		add_ctx_u("ipclab_clock_resolution_ns", (unsigned long)ci.resolution_ns);
	}
	fdio_describe_buffers(buf, sizeof(buf));
	gb_add_context("ipclab_kernel_buffers", buf);
	topo_summary(topo, &ts);
	gb_add_context("ipclab_cpu_model", ts.cpu_model);
	add_ctx_u("ipclab_packages", ts.packages);
	add_ctx_u("ipclab_cores", ts.cores);
	add_ctx_u("ipclab_pus", ts.pus);
	add_ctx_u("ipclab_allowed_pus", ts.allowed_pus);
	add_ctx_u("ipclab_numa_nodes", ts.numa_nodes);
	gb_add_context("ipclab_caches", ts.caches);
	gb_add_context("ipclab_smt", ts.smt ? "yes" : "no");
	gb_add_context("ipclab_virtualized", ts.virtualized);
	gb_add_context("ipclab_topology_restricted", ts.restricted ? "yes: hwloc saw more PUs than this process may use" : "no");
	if (sysinfo_read(&si) == 0)
		sysinfo_foreach(&si, add_ctx, NULL);
}
