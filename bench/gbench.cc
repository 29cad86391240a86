// gbench.cc - the C API of gbench.h: Google Benchmark 1.7's flags, results
// and reporters, with a runner of our own.  The only C++ in ipclab.
//
// Why this file is long: it is the only C++ and the whole C API over Google
// Benchmark, including our own runner of repetitions and its reporters.
//
// Why not the library's runner (RunSpecifiedBenchmarks): in 1.7.1 it
//  - aborts the process (ComputeStats: run_iterations == run.iterations)
//    when one repetition of a case ends early, e.g. interrupted by Ctrl-C,
//    with another iteration count than its siblings, and every result is
//    lost with it;
//  - writes a case only after its last repetition and cannot be stopped
//    between two cases with the finished ones kept;
//  - interleaves repetitions (--benchmark_enable_random_interleaving) in an
//    order that cannot be seeded, so a run cannot be repeated.
// So this file runs one repetition of one case per gb_call(), in the order
// its caller chooses, keeps every finished repetition as the library's own
// BenchmarkReporter::Run, and hands them to the library's own reporters
// (console, JSON, CSV) with the library's own aggregates (ComputeStats, over
// repetitions of equal iteration count only).  The output is the library's
// format, byte for byte the way its reporters write it.
//
// Every extern "C" entry point catches every exception: none crosses into
// C.  Inside a case, an exception becomes a failed repetition (error_message
// "WHAT: what()"), and the run goes on.

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "gbench.h"

// Flags defined by the library (src/benchmark.cc) and exported by its shared
// object, but not declared in its public header.  Reading them is the only
// way to honour them exactly as the library parsed them (argv and the
// BENCHMARK_* environment).  Link errors, not silent drift, follow a version
// that renames them.
namespace benchmark {
extern int32_t FLAGS_benchmark_repetitions;
extern double FLAGS_benchmark_min_time;
extern std::string FLAGS_benchmark_out;
extern std::string FLAGS_benchmark_out_format;
extern std::string FLAGS_benchmark_filter;
extern std::string FLAGS_benchmark_format;
extern bool FLAGS_benchmark_report_aggregates_only;
extern bool FLAGS_benchmark_display_aggregates_only;
extern bool FLAGS_benchmark_enable_random_interleaving;
extern bool FLAGS_benchmark_list_tests;
// The aggregates of every case: the library's own statistics.
std::vector<BenchmarkReporter::Run> ComputeStats(const std::vector<BenchmarkReporter::Run> &reports);
double StatisticsMean(const std::vector<double> &v);
double StatisticsMedian(const std::vector<double> &v);
double StatisticsStdDev(const std::vector<double> &v);
double StatisticsCV(const std::vector<double> &v);
namespace internal {
ConsoleReporter::OutputOptions GetOutputOptions(bool force_no_color);
} // namespace internal
} // namespace benchmark

namespace {

using Run = benchmark::BenchmarkReporter::Run;

// As the library: no more iterations than this in one repetition.
const uint64_t kMaxIterations = 1000000000;

// The library's defaults for every case (Benchmark::Benchmark()).
const std::vector<benchmark::internal::Statistics> &default_statistics()
{
	static const std::vector<benchmark::internal::Statistics> s = {
		{ "mean", benchmark::StatisticsMean, benchmark::kTime },
		{ "median", benchmark::StatisticsMedian, benchmark::kTime },
		{ "stddev", benchmark::StatisticsStdDev, benchmark::kTime },
		{ "cv", benchmark::StatisticsCV, benchmark::kPercentage },
	};
	return s;
}

double now_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

} // namespace

struct gb_bench {
	std::string name;
	gb_fn fn;
	void *arg;
	std::vector<std::string> argnames;
	std::vector<int64_t> argvalues;
	bool manual_time = false;
	bool real_time = false;
	benchmark::TimeUnit unit = benchmark::kNanosecond;
	uint64_t fixed_iterations = 0; // gb_iterations
	uint64_t iterations = 0;       // sized by the first finished repetition
	int64_t family_index = -1;     // among the selected cases
	std::vector<Run> runs;         // finished repetitions, in run order
	std::string args_str() const
	{
		std::string s;

		for (size_t i = 0; i < argvalues.size(); i++) {
			if (i)
				s += "/";
			s += argnames[i] + ":" + std::to_string(argvalues[i]);
		}
		return s;
	}
};

struct gb_state {
	uint64_t max_iterations;
	uint64_t done = 0;         // iterations handed out
	const std::vector<int64_t> *args;
	bool started = false;      // the keep-running loop returned true once
	bool finished = false;     // ... and then false
	bool paused = false;       // between gb_pause_timing and gb_resume_timing
	bool error = false;
	std::string error_message;
	std::string label;
	double manual_s = 0;       // gb_set_iteration_time, summed
	double real_s = 0, cpu_s = 0;
	double real_t0 = 0, cpu_t0 = 0;
	benchmark::UserCounters counters;
};

namespace {

struct reporting {
	std::unique_ptr<benchmark::BenchmarkReporter> display;
	std::unique_ptr<benchmark::BenchmarkReporter> file;
	std::ofstream out;
	bool open = false;
};

// Every case registered, in registration order.
std::vector<std::unique_ptr<gb_bench>> &registry()
{
	static std::vector<std::unique_ptr<gb_bench>> r;
	return r;
}

reporting &rep()
{
	static reporting r;
	return r;
}

const char *const kPrefixes[] = { "--benchmark_", "--v=" };

bool is_gb_flag(const char *a)
{
	for (const char *p : kPrefixes)
		if (std::strncmp(a, p, std::strlen(p)) == 0)
			return true;
	return false;
}

bool known_format(const std::string &f)
{
	return f == "console" || f == "json" || f == "csv";
}

// Values the library would answer with its usage text and exit(0): refuse
// them here so the caller can exit 2 with a reason.
bool bad_value(const char *prog, const char *a)
{
	static const char *const fmts[] = { "--benchmark_format=",
					    "--benchmark_out_format=" };

	for (const char *f : fmts) {
		size_t n = std::strlen(f);

		if (std::strncmp(a, f, n) == 0 && !known_format(a + n)) {
			std::fprintf(stderr, "%s: error: bad value '%s' for %.*s "
				     "(accepted: console, json, csv)\n",
				     prog, a + n, (int)(n - 1), f);
			return true;
		}
	}
	if (std::strcmp(a, "--benchmark_color=") == 0) {
		std::fprintf(stderr, "%s: error: empty value for --benchmark_color "
			     "(accepted: auto, true, false)\n", prog);
		return true;
	}
	return false;
}

void skip(gb_state *s, const char *what, const char *msg)
{
	if (s->error)
		return;
	try {
		s->error_message = std::string(what) + ": " + msg;
	} catch (...) {
		// Out of memory for the message: report without it.
	}
	s->error = true;
	s->paused = false;
}

// Inside a case: run body, turn any exception into a failed repetition.
template <class F> void guarded(gb_state *s, const char *what, F body)
{
	try {
		body();
	} catch (const std::exception &e) {
		skip(s, what, e.what());
	} catch (...) {
		skip(s, what, "unknown C++ exception");
	}
}

bool in_loop(const gb_state *s)
{
	return s->started && !s->finished && !s->error;
}

void stop_timers(gb_state *s)
{
	if (s->started && !s->finished && !s->paused) {
		s->real_s += now_s(CLOCK_MONOTONIC) - s->real_t0;
		s->cpu_s += now_s(CLOCK_THREAD_CPUTIME_ID) - s->cpu_t0;
	}
}

void start_timers(gb_state *s)
{
	s->real_t0 = now_s(CLOCK_MONOTONIC);
	s->cpu_t0 = now_s(CLOCK_THREAD_CPUTIME_ID);
}

// One call of the case function with max_iterations n: a Run (not kept).
Run call_once(gb_bench *b, uint64_t n, double *seconds)
{
	gb_state s;
	Run r;

	s.max_iterations = n;
	s.args = &b->argvalues;
	try {
		b->fn(&s, b->arg);
	} catch (const std::exception &e) {
		skip(&s, "case", e.what());
	} catch (...) {
		skip(&s, "case", "unknown C++ exception");
	}
	if (!s.error && !s.finished)
		skip(&s, "case", "returned before its keep-running loop ended");
	stop_timers(&s);
	s.finished = true;

	r.run_name.function_name = b->name;
	r.run_name.args = b->args_str();
	if (b->fixed_iterations)
		r.run_name.iterations = "iterations:" + std::to_string(b->fixed_iterations);
	if (b->manual_time)
		r.run_name.time_type = "manual_time";
	else if (b->real_time)
		r.run_name.time_type = "real_time";
	r.family_index = b->family_index;
	r.per_family_instance_index = 0;
	r.time_unit = b->unit;
	r.threads = 1;
	r.statistics = &default_statistics();
	r.report_label = s.label;
	r.error_occurred = s.error;
	r.error_message = s.error_message;
	r.iterations = s.error ? 0 : (benchmark::IterationCount)s.done;
	r.real_accumulated_time = b->manual_time ? s.manual_s : s.real_s;
	r.cpu_accumulated_time = s.cpu_s;
	*seconds = b->manual_time ? s.manual_s : b->real_time ? s.real_s : s.cpu_s;
	// As the library's internal::Finish: counters relative to this run.
	for (auto &kv : s.counters) {
		benchmark::Counter &c = kv.second;
		double v = c.value;

		if (c.flags & benchmark::Counter::kIsRate)
			v = *seconds > 0 ? v / *seconds : 0;
		if (c.flags & benchmark::Counter::kIsIterationInvariant)
			v *= (double)s.done;
		if (c.flags & benchmark::Counter::kAvgIterations)
			v = s.done ? v / (double)s.done : 0;
		if (c.flags & benchmark::Counter::kInvert)
			v = v != 0 ? 1.0 / v : 0;
		c.value = v;
	}
	r.counters = s.counters;
	return r;
}

// As the library's BenchmarkRunner::PredictNumberOfIterations.
uint64_t predict(double min_time, double seconds, uint64_t iters)
{
	double mult = min_time * 1.4 / std::max(seconds, 1e-9);
	bool significant = seconds / min_time > 0.1;
	double next;

	if (!significant)
		mult = 10.0;
	next = std::max(mult * (double)iters, (double)iters + 1.0);
	return next >= (double)kMaxIterations ? kMaxIterations : (uint64_t)std::llround(next);
}

double min_time()
{
	return benchmark::FLAGS_benchmark_min_time > 0 ? benchmark::FLAGS_benchmark_min_time : 0.5;
}

bool selected(const gb_bench *b, const std::regex &re, bool negative)
{
	std::string name = b->name;
	std::string a = b->args_str();

	if (!a.empty())
		name += "/" + a;
	if (b->fixed_iterations)
		name += "/iterations:" + std::to_string(b->fixed_iterations);
	if (b->manual_time)
		name += "/manual_time";
	else if (b->real_time)
		name += "/real_time";
	return std::regex_search(name, re) != negative;
}

// --benchmark_filter as the library reads it: empty or "all" is everything,
// a leading '-' negates, the rest is a regex searched in the full name.
std::regex filter_regex(bool *negative)
{
	std::string spec = benchmark::FLAGS_benchmark_filter;

	*negative = false;
	if (spec.empty() || spec == "all")
		spec = ".";
	if (spec[0] == '-') {
		spec.erase(0, 1);
		*negative = true;
	}
	return std::regex(spec, std::regex::extended);
}

std::unique_ptr<benchmark::BenchmarkReporter> make_reporter(const std::string &fmt,
							    benchmark::ConsoleReporter::OutputOptions oo)
{
	if (fmt == "json")
		return std::unique_ptr<benchmark::BenchmarkReporter>(new benchmark::JSONReporter());
	if (fmt == "csv") {
		// Deprecated in 1.7 but still the library's own --benchmark_format=csv.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
		return std::unique_ptr<benchmark::BenchmarkReporter>(new benchmark::CSVReporter());
#pragma GCC diagnostic pop
	}
	return std::unique_ptr<benchmark::BenchmarkReporter>(new benchmark::ConsoleReporter(oo));
}

// A case's reports as the library gives them: its runs (numbered in run
// order), then its aggregates over the runs that share the iteration count
// of the first finished one (the library's precondition; an interrupted or
// failed repetition never joins them).
void case_reports(const gb_bench *b, std::vector<Run> *runs, std::vector<Run> *aggs)
{
	int64_t reps = benchmark::FLAGS_benchmark_repetitions > 1 ? benchmark::FLAGS_benchmark_repetitions : 1;
	std::vector<Run> same;
	int64_t iters = -1;

	*runs = b->runs;
	for (size_t i = 0; i < runs->size(); i++) {
		Run &r = (*runs)[i];

		r.repetitions = reps;
		r.repetition_index = reps > 1 ? (int64_t)i : Run::no_repetition_index;
		if (r.error_occurred)
			continue;
		if (iters < 0)
			iters = r.iterations;
		if (r.iterations == iters)
			same.push_back(r);
	}
	aggs->clear();
	if (reps > 1 && same.size() >= 2)
		*aggs = benchmark::ComputeStats(same);
}

void report(benchmark::BenchmarkReporter *r, const std::vector<Run> &runs,
	    const std::vector<Run> &aggs, bool aggregates_only)
{
	if (!(aggregates_only && !aggs.empty()) && !runs.empty())
		r->ReportRuns(runs);
	if (!aggs.empty())
		r->ReportRuns(aggs);
}

} // namespace

extern "C" {

int gb_init(int *argc, char **argv)
{
	try {
		if (!argc || !argv || *argc < 1)
			return -1;
		const char *prog = argv[0];
		std::vector<char *> sub{ argv[0] };

		for (int i = 1; i < *argc; i++)
			if (is_gb_flag(argv[i]))
				sub.push_back(argv[i]);
		for (size_t i = 1; i < sub.size(); i++)
			if (bad_value(prog, sub[i]))
				return -1;

		int subc = (int)sub.size();
		benchmark::Initialize(&subc, sub.data());

		// Drop from argv what the library consumed: the entries of
		// sub[1..subc) are what it did not recognize.
		int out = 1;
		int left = 1;
		for (int i = 1; i < *argc; i++) {
			bool keep = !is_gb_flag(argv[i]);

			if (!keep && left < subc && sub[left] == argv[i]) {
				keep = true;
				left++;
			}
			if (keep)
				argv[out++] = argv[i];
		}
		for (int i = out; i < *argc; i++)
			argv[i] = nullptr;
		*argc = out;

		if (benchmark::ReportUnrecognizedArguments(subc, sub.data()))
			return -1;
		return 0;
	} catch (...) {
		return -1;
	}
}

void gb_print_flags_help(void)
{
	try {
		benchmark::PrintDefaultHelp();
	} catch (...) {
	}
}

struct gb_bench *gb_register(const char *name, gb_fn fn, void *arg)
{
	try {
		if (!name || !*name || !fn)
			return nullptr;
		std::unique_ptr<gb_bench> w(new gb_bench());
		gb_bench *p = w.get();

		w->name = name;
		w->fn = fn;
		w->arg = arg;
		registry().push_back(std::move(w));
		return p;
	} catch (...) {
		return nullptr;
	}
}

void gb_use_manual_time(struct gb_bench *b)
{
	if (b)
		b->manual_time = true;
}

void gb_use_real_time(struct gb_bench *b)
{
	if (b)
		b->real_time = true;
}

void gb_arg(struct gb_bench *b, const char *argname, int64_t value)
{
	try {
		if (!b || !argname)
			return;
		b->argnames.push_back(argname);
		b->argvalues.push_back(value);
	} catch (...) {
	}
}

void gb_unit_ns(struct gb_bench *b)
{
	if (b)
		b->unit = benchmark::kNanosecond;
}

void gb_unit_us(struct gb_bench *b)
{
	if (b)
		b->unit = benchmark::kMicrosecond;
}

void gb_iterations(struct gb_bench *b, int64_t n)
{
	if (b && n > 0)
		b->fixed_iterations = (uint64_t)n;
}

void gb_add_context(const char *key, const char *value)
{
	try {
		if (key && value)
			benchmark::AddCustomContext(key, value);
	} catch (...) {
	}
}

int gb_repetitions(void)
{
	return benchmark::FLAGS_benchmark_repetitions > 0 ?
		       (int)benchmark::FLAGS_benchmark_repetitions : 1;
}

bool gb_random_interleaving(void)
{
	return benchmark::FLAGS_benchmark_enable_random_interleaving;
}

bool gb_list_tests(void)
{
	return benchmark::FLAGS_benchmark_list_tests;
}

int gb_set_output(const char *path, const char *format)
{
	try {
		if (!path || !*path || !format || !known_format(format))
			return -EINVAL;
		benchmark::FLAGS_benchmark_out = path;
		benchmark::FLAGS_benchmark_out_format = format;
		return 0;
	} catch (...) {
		return -ENOMEM;
	}
}

long gb_filter_count(const char *const *names, size_t n, const char *suffix,
		     char *err, size_t errlen)
{
	try {
		bool negative;
		std::regex re = filter_regex(&negative);
		long count = 0;

		for (size_t i = 0; i < n; i++) {
			std::string name = std::string(names[i]) + (suffix ? suffix : "");

			if (std::regex_search(name, re) != negative)
				count++;
		}
		return count;
	} catch (const std::exception &e) {
		if (err && errlen)
			std::snprintf(err, errlen, "%s", e.what());
		return -1;
	} catch (...) {
		if (err && errlen)
			std::snprintf(err, errlen, "unknown error");
		return -1;
	}
}

const char *gb_output(void)
{
	return benchmark::FLAGS_benchmark_out.c_str();
}

size_t gb_select(struct gb_bench **out, size_t max)
{
	try {
		bool negative;
		std::regex re = filter_regex(&negative);
		size_t n = 0;
		int64_t family = 0;

		for (auto &w : registry()) {
			w->family_index = -1;
			if (!selected(w.get(), re, negative))
				continue;
			w->family_index = family++;
			if (out && n < max)
				out[n] = w.get();
			n++;
		}
		return n;
	} catch (...) {
		return 0;
	}
}

const char *gb_name(const struct gb_bench *b)
{
	return b->name.c_str();
}

void *gb_user(const struct gb_bench *b)
{
	return b->arg;
}

int gb_call(struct gb_bench *b, bool (*stop)(void))
{
	try {
		double secs = 0, mt = min_time();
		uint64_t n = b->fixed_iterations ? b->fixed_iterations : b->iterations ? b->iterations : 1;
		Run r;

		for (;;) {
			r = call_once(b, n, &secs);
			if (r.error_occurred || b->fixed_iterations || b->iterations)
				break;
			// The first finished repetition sizes the case, as the
			// library's runner does for its first repetition.
			if (n >= kMaxIterations || secs >= mt) {
				b->iterations = n;
				break;
			}
			if (stop && stop())
				return 0;
			n = predict(mt, secs, n);
		}
		b->runs.push_back(r);
		return r.error_occurred ? GB_CALL_FAILED : GB_CALL_OK;
	} catch (...) {
		return 0; // out of memory: nothing kept
	}
}

const char *gb_last_error(const struct gb_bench *b)
{
	if (b->runs.empty() || !b->runs.back().error_occurred)
		return nullptr;
	return b->runs.back().error_message.c_str();
}

void gb_last_fail(struct gb_bench *b, const char *msg)
{
	try {
		if (b->runs.empty())
			return;
		Run &r = b->runs.back();

		r.error_occurred = true;
		r.error_message = msg ? msg : "(no message)";
		r.iterations = 0;
		r.real_accumulated_time = r.cpu_accumulated_time = 0;
		r.counters.clear();
		r.report_label.clear();
	} catch (...) {
	}
}

void gb_drop_last(struct gb_bench *b)
{
	if (!b->runs.empty())
		b->runs.pop_back();
}

void gb_last_counter(struct gb_bench *b, const char *name, double value)
{
	try {
		if (!b->runs.empty() && name)
			b->runs.back().counters[name] = benchmark::Counter(value);
	} catch (...) {
	}
}

unsigned gb_runs_kept(const struct gb_bench *b)
{
	return (unsigned)b->runs.size();
}

int gb_report_open(void)
{
	try {
		reporting &R = rep();
		benchmark::ConsoleReporter::OutputOptions oo =
			benchmark::internal::GetOutputOptions(false);
		std::string fmt = benchmark::FLAGS_benchmark_format;
		size_t width = 10;
		bool reps = gb_repetitions() > 1;

		for (auto &w : registry()) {
			if (w->family_index < 0)
				continue;
			Run r;

			r.run_name.function_name = w->name;
			r.run_name.args = w->args_str();
			if (w->manual_time)
				r.run_name.time_type = "manual_time";
			width = std::max(width, r.run_name.str().size() + (reps ? 7 : 0));
		}
		if (!known_format(fmt))
			fmt = "console";
		R.display = make_reporter(fmt, fmt == "console" ? oo :
					  benchmark::ConsoleReporter::OO_None);
		benchmark::BenchmarkReporter::Context ctx;

		ctx.name_field_width = width;
		std::fflush(stdout);
		std::fflush(stderr);
		R.display->ReportContext(ctx);
		if (!benchmark::FLAGS_benchmark_out.empty()) {
			R.out.open(benchmark::FLAGS_benchmark_out, std::ios::out | std::ios::trunc);
			if (!R.out.is_open())
				return -EIO;
			R.file = make_reporter(benchmark::FLAGS_benchmark_out_format,
					       benchmark::ConsoleReporter::OO_None);
			R.file->SetOutputStream(&R.out);
			R.file->SetErrorStream(&R.out);
			R.file->ReportContext(ctx);
		}
		std::cout.flush();
		R.open = true;
		return 0;
	} catch (...) {
		return -ENOMEM;
	}
}

void gb_report_show_last(const struct gb_bench *b)
{
	try {
		reporting &R = rep();

		if (!R.open || b->runs.empty() || benchmark::FLAGS_benchmark_display_aggregates_only ||
		    benchmark::FLAGS_benchmark_report_aggregates_only)
			return;
		std::vector<Run> one(1, b->runs.back());
		int64_t reps = gb_repetitions();

		one[0].repetitions = reps;
		one[0].repetition_index = reps > 1 ? (int64_t)b->runs.size() - 1 : Run::no_repetition_index;
		R.display->ReportRuns(one);
		std::cout.flush();
	} catch (...) {
	}
}

int gb_report_close(void)
{
	try {
		reporting &R = rep();
		bool disp_aggs = benchmark::FLAGS_benchmark_display_aggregates_only ||
				 benchmark::FLAGS_benchmark_report_aggregates_only;
		int rc = 0;

		if (!R.open)
			return -EINVAL;
		for (auto &w : registry()) {
			std::vector<Run> runs, aggs;

			if (w->family_index < 0 || w->runs.empty())
				continue;
			case_reports(w.get(), &runs, &aggs);
			// The display showed each run as it finished.
			if (disp_aggs)
				report(R.display.get(), runs, aggs, true);
			else if (!aggs.empty())
				R.display->ReportRuns(aggs);
			if (R.file)
				report(R.file.get(), runs, aggs, benchmark::FLAGS_benchmark_report_aggregates_only);
		}
		R.display->Finalize();
		std::cout.flush();
		if (R.file) {
			R.file->Finalize();
			R.out.flush();
			if (!R.out.good())
				rc = -EIO;
			R.out.close();
			if (R.out.fail())
				rc = -EIO;
		}
		R.file.reset();
		R.display.reset();
		R.open = false;
		return rc;
	} catch (...) {
		return -EIO;
	}
}

long gb_run(void)
{
	try {
		size_t n = gb_select(nullptr, 0);
		std::vector<gb_bench *> sel(n);
		long ran = 0;

		gb_select(sel.data(), n);
		if (gb_report_open() < 0)
			return -1;
		for (gb_bench *b : sel) {
			for (int r = 0; r < gb_repetitions(); r++) {
				if (gb_call(b, nullptr) > 0)
					gb_report_show_last(b);
			}
			ran++;
		}
		if (gb_report_close() < 0)
			return -1;
		return ran;
	} catch (...) {
		return -1;
	}
}

// A copy of the text in malloc'd memory, for C.
static char *c_text(const std::string &s)
{
	char *t = static_cast<char *>(std::malloc(s.size() + 1));

	if (t)
		std::memcpy(t, s.c_str(), s.size() + 1);
	return t;
}

char *gb_json_head(void)
{
	try {
		std::ostringstream os;
		benchmark::JSONReporter r;
		benchmark::BenchmarkReporter::Context ctx;

		r.SetOutputStream(&os);
		r.SetErrorStream(&os);
		r.ReportContext(ctx);
		return c_text(os.str());
	} catch (...) {
		return nullptr;
	}
}

char *gb_json_last(const struct gb_bench *b)
{
	try {
		if (!b || b->runs.empty())
			return nullptr;
		std::ostringstream os;
		benchmark::JSONReporter r;
		std::vector<Run> one(1, b->runs.back());
		int64_t reps = gb_repetitions();

		// Numbered as the file report numbers it (case_reports).
		one[0].repetitions = reps;
		one[0].repetition_index = reps > 1 ? (int64_t)b->runs.size() - 1 : Run::no_repetition_index;
		r.SetOutputStream(&os);
		r.SetErrorStream(&os);
		r.ReportRuns(one);
		return c_text(os.str());
	} catch (...) {
		return nullptr;
	}
}

void gb_shutdown(void)
{
	try {
		rep().file.reset();
		rep().display.reset();
		benchmark::Shutdown();
		registry().clear();
	} catch (...) {
	}
}

bool gb_keep_running(struct gb_state *st)
{
	return gb_keep_running_batch(st, 1);
}

bool gb_keep_running_batch(struct gb_state *s, uint64_t n)
{
	if (s->finished)
		return false;
	if (n == 0 || n > (uint64_t)INT64_MAX) {
		skip(s, "gb_keep_running_batch", "batch size out of range");
	} else if (s->paused) {
		skip(s, "gb_keep_running_batch", "timing is paused");
	}
	if (s->error || (s->started && s->done >= s->max_iterations)) {
		stop_timers(s);
		s->finished = true;
		return false;
	}
	if (!s->started) {
		s->started = true;
		start_timers(s);
	}
	s->done += n;
	return true;
}

uint64_t gb_max_iterations(const struct gb_state *s)
{
	return s->max_iterations;
}

uint64_t gb_iterations_done(const struct gb_state *s)
{
	return s->done;
}

int64_t gb_state_arg(const struct gb_state *s, unsigned i)
{
	if (i >= s->args->size()) {
		skip(const_cast<gb_state *>(s), "gb_state_arg", "no argument at that index");
		return 0;
	}
	return (*s->args)[i];
}

void gb_set_iteration_time(struct gb_state *s, double seconds)
{
	if (!std::isfinite(seconds) || seconds < 0) {
		skip(s, "gb_set_iteration_time", "not a time in seconds");
		return;
	}
	s->manual_s += seconds;
}

void gb_pause_timing(struct gb_state *s)
{
	if (!in_loop(s) || s->paused) {
		skip(s, "gb_pause_timing", "not inside a running keep-running loop");
		return;
	}
	stop_timers(s);
	s->paused = true;
}

void gb_resume_timing(struct gb_state *s)
{
	if (!in_loop(s) || !s->paused) {
		skip(s, "gb_resume_timing", "timing is not paused");
		return;
	}
	s->paused = false;
	start_timers(s);
}

static benchmark::Counter::Flags counter_flags(int flags)
{
	int f = benchmark::Counter::kDefaults;

	if (flags & GB_COUNTER_RATE)
		f |= benchmark::Counter::kIsRate;
	if (flags & GB_COUNTER_AVG_THREADS)
		f |= benchmark::Counter::kAvgThreads;
	if (flags & GB_COUNTER_AVG_ITERATIONS)
		f |= benchmark::Counter::kAvgIterations;
	if (flags & GB_COUNTER_ITERATION_INVARIANT)
		f |= benchmark::Counter::kIsIterationInvariant;
	return static_cast<benchmark::Counter::Flags>(f);
}

void gb_counter(struct gb_state *s, const char *name, double value, int flags)
{
	const int known = GB_COUNTER_RATE | GB_COUNTER_AVG_THREADS |
			  GB_COUNTER_AVG_ITERATIONS | GB_COUNTER_ITERATION_INVARIANT;

	if (flags & ~known) {
		skip(s, "gb_counter", "unknown counter flags");
		return;
	}
	// A NULL name throws std::logic_error from std::string: reported
	// through guarded(), like any exception inside a case.
	guarded(s, "gb_counter", [&] {
		s->counters[std::string(name)] = benchmark::Counter(value, counter_flags(flags));
	});
}

void gb_set_label(struct gb_state *s, const char *label)
{
	guarded(s, "gb_set_label", [&] { s->label = std::string(label); });
}

void gb_set_bytes_processed(struct gb_state *s, int64_t bytes)
{
	guarded(s, "gb_set_bytes_processed", [&] {
		s->counters["bytes_per_second"] = benchmark::Counter(
			(double)bytes, benchmark::Counter::kIsRate, benchmark::Counter::kIs1024);
	});
}

void gb_set_items_processed(struct gb_state *s, int64_t items)
{
	guarded(s, "gb_set_items_processed", [&] {
		s->counters["items_per_second"] = benchmark::Counter((double)items, benchmark::Counter::kIsRate);
	});
}

void gb_skip_with_error(struct gb_state *s, const char *msg)
{
	if (s->error)
		return;
	try {
		s->error_message = msg ? msg : "(no message)";
	} catch (...) {
	}
	s->error = true;
	s->paused = false;
}

bool gb_error_occurred(const struct gb_state *s)
{
	return s->error;
}

} // extern "C"
