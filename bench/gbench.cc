// gbench.cc - the C API of gbench.h over Google Benchmark 1.7 (Debian's
// libbenchmark-dev 1.7.1).  The only C++ in ipclab.
//
// Every extern "C" entry point catches every exception: none crosses into
// C.  Inside a case, an exception becomes SkipWithError(what()), so the case
// is reported failed with the reason and the run goes on.
//
// The library checks its own preconditions with BM_CHECK, which aborts the
// process (even in release builds).  The wrappers keep track of where a case
// is in its keep-running loop and turn misuse into a failed case instead.

#include <benchmark/benchmark.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "gbench.h"

// Flags defined by the library (src/benchmark.cc) and exported by its shared
// object, but not declared in its public header.  The only other way to know
// them would be to parse argv and the BENCHMARK_* environment a second time,
// differently from the library.  Link errors, not silent drift, follow a
// version that renames them.
namespace benchmark {
extern int32_t FLAGS_benchmark_repetitions;
extern std::string FLAGS_benchmark_out;
extern std::string FLAGS_benchmark_out_format;
extern std::string FLAGS_benchmark_filter;
} // namespace benchmark

struct gb_bench {
	benchmark::internal::Benchmark *b; // owned by the library
	gb_fn fn;
	void *arg;
	std::vector<std::string> argnames; // gb_arg, applied by gb_run
	std::vector<int64_t> argvalues;
	bool applied;
};

struct gb_state {
	benchmark::State *st;
	size_t nargs;
	bool started;  // the keep-running loop returned true once
	bool finished; // ... and then false
	bool paused;   // between gb_pause_timing and gb_resume_timing
};

namespace {

// Every case registered, so that gb_run can apply their arguments (the
// library has no way to amend or list a registered case) and gb_shutdown can
// free them.  The library's own registry is process-wide too.
std::vector<std::unique_ptr<gb_bench>> &registry()
{
	static std::vector<std::unique_ptr<gb_bench>> r;
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
	try {
		std::string m = std::string(what) + ": " + msg;

		if (!s->st->error_occurred())
			s->st->SkipWithError(m.c_str());
	} catch (...) {
		// Out of memory for the message: report without it.
		if (!s->st->error_occurred())
			s->st->SkipWithError(what);
	}
	s->paused = false;
}

// Inside a case: run body, turn any exception into a failed case.
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

void run_case(gb_bench *w, benchmark::State &st)
{
	gb_state s = { &st, w->argvalues.size(), false, false, false };

	try {
		w->fn(&s, w->arg);
	} catch (const std::exception &e) {
		skip(&s, "case", e.what());
	} catch (...) {
		skip(&s, "case", "unknown C++ exception");
	}
	// The library aborts the process when a case returns early without an
	// error; make it a failed case instead.
	if (!st.error_occurred() && !s.finished)
		skip(&s, "case", "returned before its keep-running loop ended");
}

bool in_loop(const gb_state *s)
{
	return s->started && !s->finished && !s->st->error_occurred();
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

		w->fn = fn;
		w->arg = arg;
		w->applied = false;
		registry().push_back(std::move(w));
		p->b = benchmark::RegisterBenchmark(name,
			[p](benchmark::State &st) { run_case(p, st); });
		return p;
	} catch (...) {
		return nullptr;
	}
}

void gb_use_manual_time(struct gb_bench *b)
{
	try {
		if (b)
			b->b->UseManualTime();
	} catch (...) {
	}
}

void gb_use_real_time(struct gb_bench *b)
{
	try {
		if (b)
			b->b->UseRealTime();
	} catch (...) {
	}
}

void gb_arg(struct gb_bench *b, const char *argname, int64_t value)
{
	try {
		if (!b || !argname || b->applied)
			return;
		b->argnames.push_back(argname);
		b->argvalues.push_back(value);
	} catch (...) {
	}
}

void gb_unit_ns(struct gb_bench *b)
{
	try {
		if (b)
			b->b->Unit(benchmark::kNanosecond);
	} catch (...) {
	}
}

void gb_unit_us(struct gb_bench *b)
{
	try {
		if (b)
			b->b->Unit(benchmark::kMicrosecond);
	} catch (...) {
	}
}

void gb_iterations(struct gb_bench *b, int64_t n)
{
	try {
		if (b && n > 0)
			b->b->Iterations(n);
	} catch (...) {
	}
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
		/* As Google Benchmark 1.7 reads --benchmark_filter: empty or
		 * "all" is everything, a leading '-' negates, the rest is an
		 * ECMAScript regex searched in the case's full name. */
		std::string spec = benchmark::FLAGS_benchmark_filter;
		bool negative = false;
		long count = 0;

		if (spec.empty() || spec == "all")
			spec = ".";
		if (spec[0] == '-') {
			spec.erase(0, 1);
			negative = true;
		}
		std::regex re(spec, std::regex::extended);
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

long gb_run(void)
{
	try {
		for (auto &w : registry()) {
			if (w->applied || w->argvalues.empty())
				continue;
			w->b->Args(w->argvalues);
			w->b->ArgNames(w->argnames);
			w->applied = true;
		}
		std::fflush(stdout);
		std::fflush(stderr);
		size_t n = benchmark::RunSpecifiedBenchmarks();
		std::fflush(stdout);
		return (long)n;
	} catch (...) {
		return -1;
	}
}

void gb_shutdown(void)
{
	try {
		benchmark::Shutdown();
		benchmark::ClearRegisteredBenchmarks();
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
		n = 1; // let the library end the loop
	} else if (s->paused) {
		skip(s, "gb_keep_running_batch", "timing is paused");
	}
	bool more = false;

	guarded(s, "gb_keep_running_batch", [&] {
		more = s->st->KeepRunningBatch((benchmark::IterationCount)n);
	});
	s->started = true;
	if (!more)
		s->finished = true;
	return more;
}

uint64_t gb_max_iterations(const struct gb_state *s)
{
	return (uint64_t)s->st->max_iterations;
}

uint64_t gb_iterations_done(const struct gb_state *s)
{
	return (uint64_t)s->st->iterations();
}

int64_t gb_state_arg(const struct gb_state *s, unsigned i)
{
	if (i >= s->nargs) {
		skip(const_cast<gb_state *>(s), "gb_state_arg",
		     "no argument at that index");
		return 0;
	}
	return s->st->range(i);
}

void gb_set_iteration_time(struct gb_state *s, double seconds)
{
	if (!std::isfinite(seconds) || seconds < 0) {
		skip(s, "gb_set_iteration_time", "not a time in seconds");
		return;
	}
	s->st->SetIterationTime(seconds);
}

void gb_pause_timing(struct gb_state *s)
{
	if (!in_loop(s) || s->paused) {
		skip(s, "gb_pause_timing", "not inside a running keep-running loop");
		return;
	}
	s->st->PauseTiming();
	s->paused = true;
}

void gb_resume_timing(struct gb_state *s)
{
	if (!in_loop(s) || !s->paused) {
		skip(s, "gb_resume_timing", "timing is not paused");
		return;
	}
	s->st->ResumeTiming();
	s->paused = false;
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
		s->st->counters[std::string(name)] =
			benchmark::Counter(value, counter_flags(flags));
	});
}

void gb_set_label(struct gb_state *s, const char *label)
{
	guarded(s, "gb_set_label", [&] { s->st->SetLabel(std::string(label)); });
}

void gb_set_bytes_processed(struct gb_state *s, int64_t bytes)
{
	guarded(s, "gb_set_bytes_processed", [&] { s->st->SetBytesProcessed(bytes); });
}

void gb_set_items_processed(struct gb_state *s, int64_t items)
{
	guarded(s, "gb_set_items_processed", [&] { s->st->SetItemsProcessed(items); });
}

void gb_skip_with_error(struct gb_state *s, const char *msg)
{
	if (s->st->error_occurred())
		return;
	try {
		s->st->SkipWithError(msg ? msg : "(no message)");
	} catch (...) {
	}
	s->paused = false;
}

bool gb_error_occurred(const struct gb_state *s)
{
	return s->st->error_occurred();
}

} // extern "C"
