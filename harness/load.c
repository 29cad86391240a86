/* load.c - open-loop load (load.h): the --load values, the saturation a
 * fraction refers to, the schedule of a round and its counters. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "atomics.h"
#include "clock.h"
#include "load.h"
#include "workload.h"

/* Saturation: closed-loop rounds from this many messages, doubling until
 * one lasts at least LOAD_SAT_MIN_NS (or reaches LOAD_SAT_MAX_MSGS). */
#define LOAD_SAT_FIRST 1000u
#define LOAD_SAT_MIN_NS 50000000u
#define LOAD_SAT_MAX_MSGS (1u << 24)
/* A round's schedule starts this long after the parent releases it, so
 * that every worker is awake and waiting at time 0 (a worker woken later
 * finds its first messages past due: they count late). */
#define LOAD_LEAD_NS 2000000u
/* Pacing: a wait longer than LOAD_SLEEP_MIN_NS sleeps (timer slack 1 ns,
 * PR_SET_TIMERSLACK; the default 50 us would overshoot) until
 * LOAD_SPIN_TAIL_NS before the due time, and spins on the clock from
 * there (a wake-up here takes tens of us). */
#define LOAD_SLEEP_MIN_NS 200000u
#define LOAD_SPIN_TAIL_NS 100000u
#define LOAD_TIMER_SLACK_NS 1ul

int load_parse(const char *s, struct load_spec *out)
{
	static const struct { char c; double mult; } units[] = { { 'k', 1e3 }, { 'M', 1e6 }, { 'G', 1e9 } };
	double v, mult = 1;
	char *end;
	size_t n = strlen(s);

	memset(out, 0, sizeof(*out));
	if (strcmp(s, "closed") == 0)
		return 0;
	if (n == 0 || !((s[0] >= '0' && s[0] <= '9') || s[0] == '.'))
		return -EINVAL; /* no sign, no space, no "inf"/"nan" */
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -EINVAL;
	if (*end) {
		unsigned u;

		for (u = 0; u < sizeof(units) / sizeof(units[0]); u++)
			if (end[0] == units[u].c && end[1] == '\0')
				break;
		if (u == sizeof(units) / sizeof(units[0]))
			return -EINVAL;
		mult = units[u].mult;
	} else if (strchr(s, '.') || strchr(s, 'e') || strchr(s, 'E')) {
		/* a fraction of saturation */
		if (!(v > 0) || v > LOAD_MAX_FRACTION)
			return -EINVAL;
		out->fraction = v;
		return 0;
	}
	v *= mult;
	if (!(v >= 1) || v > (double)LOAD_MAX_RATE || v != floor(v))
		return -EINVAL; /* a whole number of messages per second */
	out->rate = (uint64_t)v;
	return 0;
}

int load_name(const struct load_spec *l, char *buf, size_t len)
{
	if (l->fraction > 0)
		return snprintf(buf, len, "/load:%g", l->fraction);
	if (l->rate > 0)
		return snprintf(buf, len, "/rate:%" PRIu64, l->rate);
	if (len)
		buf[0] = '\0';
	return 0;
}

void load_pacing_begin(void)
{
	prctl(PR_SET_TIMERSLACK, LOAD_TIMER_SLACK_NS, 0, 0, 0); /* best effort */
}

bool load_wait(const struct load_sched *s, uint64_t k)
{
	uint64_t due = load_due(s, k, s->phase_ns), now = clk_now_ns();

	if (now >= due)
		return true;
	if (due - now > LOAD_SLEEP_MIN_NS) {
		/* Long waits sleep (a spinning sender would lose its CPU
		 * share to the receiver on a busy machine), waking
		 * LOAD_SPIN_TAIL_NS early; the clock then paces. */
		uint64_t ns = due - now - LOAD_SPIN_TAIL_NS;
		struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u), .tv_nsec = (long)(ns % 1000000000u) };

		nanosleep(&ts, NULL); /* EINTR: the spin below finishes the wait */
	}
	while (clk_now_ns() < due)
		cpu_relax();
	return false;
}

int load_thread_sched(uint64_t *run_ns, uint64_t *wait_ns)
{
	unsigned long long run, wait;
	FILE *f = fopen("/proc/thread-self/schedstat", "re");
	int n;

	if (!f)
		return -errno;
	/* "<on cpu ns> <runnable, waiting ns> <timeslices>" */
	n = fscanf(f, "%llu %llu", &run, &wait);
	fclose(f);
	if (n != 2)
		return -EPROTO;
	*run_ns = run;
	*wait_ns = wait;
	return 0;
}

/* The case's saturation throughput, closed loop, with its own workers. */
static int measure_saturation(struct case_run *r, char *why)
{
	struct case_round *tmp = malloc(sizeof(*tmp));
	uint64_t m = LOAD_SAT_FIRST;
	int rc = 0;

	if (!tmp)
		return case_why(why, -ENOMEM, "out of memory measuring the saturation");
	r->load_measuring = true;
	for (;;) {
		rc = case_round(r, m, tmp, why);
		if (rc < 0)
			break;
		if (tmp->elapsed_ns >= LOAD_SAT_MIN_NS || m >= LOAD_SAT_MAX_MSGS) {
			r->load_saturation = (double)tmp->delivered * 1e9 / (double)tmp->elapsed_ns;
			break;
		}
		m *= 2;
	}
	r->load_measuring = false;
	free(tmp);
	return rc;
}

int load_arm(struct case_run *r, struct wl_cmd *cmd, char *why)
{
	const struct load_spec *l = &r->spec.load;
	int rc;

	cmd->load_rate = 0;
	cmd->load_origin_ns = 0;
	if (!load_open(l) || r->load_measuring)
		return 0;
	if (l->fraction > 0 && r->load_saturation <= 0) {
		rc = measure_saturation(r, why);
		if (rc < 0)
			return rc;
	}
	r->load_rate = l->fraction > 0 ? l->fraction * r->load_saturation : (double)l->rate;
	cmd->load_rate = r->load_rate;
	cmd->load_origin_ns = clk_now_ns() + LOAD_LEAD_NS;
	return 0;
}

void load_counters(const struct case_run *r, struct case_round *out)
{
	static const struct { const char *intended, *service; double p; } pct[] = {
		{ "intended_p50_ns", "service_p50_ns", 50 },
		{ "intended_p90_ns", "service_p90_ns", 90 },
		{ "intended_p99_ns", "service_p99_ns", 99 },
		{ "intended_p999_ns", "service_p999_ns", 99.9 },
	};
	struct hist *service;
	uint64_t late = 0, send_ns = 0, wait_ns = 0;

	if (!load_open(&r->spec.load) || r->load_measuring)
		return;
	service = malloc(sizeof(*service));
	if (!service)
		return;
	hist_init(service);
	for (unsigned i = 0; i < r->nprocs; i++) {
		const struct wl_slot *s = pool_slot(r->pool, i);

		late += s->late;
		send_ns += s->send_ns;
		wait_ns += s->send_cpu_wait_ns;
		hist_merge(service, &s->lat_service);
	}
	case_round_counter(out, "offered_msgs_per_s", r->load_rate);
	if (r->spec.load.fraction > 0)
		case_round_counter(out, "saturation_msgs_per_s", r->load_saturation);
	case_round_counter(out, "late_sends", (double)late);
	if (send_ns) /* the senders' share of the round spent waiting for a CPU */
		case_round_counter(out, "sender_cpu_wait_share", (double)wait_ns / (double)send_ns);
	for (unsigned k = 0; k < sizeof(pct) / sizeof(pct[0]); k++) {
		case_round_counter(out, pct[k].intended, (double)hist_percentile(&out->lat, pct[k].p));
		case_round_counter(out, pct[k].service, (double)hist_percentile(service, pct[k].p));
	}
	case_round_counter(out, "intended_max_ns", (double)(out->lat.count ? out->lat.max : 0));
	case_round_counter(out, "service_max_ns", (double)(service->count ? service->max : 0));
	free(service);
}
