/* gbench.h - a small C API over Google Benchmark (1.7): its flags, its
 * result format, reporters and aggregates, with a runner of our own (see
 * bench/gbench.cc for why).  bench/gbench.cc is its only implementation and
 * the only C++ in ipclab.  No C++ exception crosses into C: every entry
 * point catches and reports.
 *
 * Usage:
 *   gb_init(&argc, argv);                         // consumes --benchmark_*
 *   struct gb_bench *b = gb_register("pingpong/pipe/...", fn, arg);
 *   gb_use_manual_time(b);
 *   gb_add_context("ipclab_kernel", "6.1.0");
 *   gb_run();                                     // runs the selection
 *   gb_shutdown();
 *
 *   static void fn(struct gb_state *st, void *arg) {
 *       uint64_t n = gb_max_iterations(st);
 *       ... do n operations outside Google Benchmark's loop ...
 *       while (gb_keep_running_batch(st, n))
 *           gb_set_iteration_time(st, seconds_for_all_n);
 *       gb_counter(st, "p50_ns", 812.0, GB_COUNTER_DEFAULT);
 *   }
 */
#ifndef IPCLAB_GBENCH_H
#define IPCLAB_GBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct gb_state; /* a running case (wraps benchmark::State) */
struct gb_bench; /* a registered case (wraps benchmark::internal::Benchmark) */

typedef void (*gb_fn)(struct gb_state *st, void *arg);

/* Counter flags, as benchmark::Counter::Flags. */
enum {
	GB_COUNTER_DEFAULT = 0,
	GB_COUNTER_RATE = 1 << 0,               /* divided by time */
	GB_COUNTER_AVG_THREADS = 1 << 1,
	GB_COUNTER_AVG_ITERATIONS = 1 << 3,     /* divided by iterations */
	GB_COUNTER_ITERATION_INVARIANT = 1 << 2 /* multiplied by iterations */
};

/* Parse and remove Google Benchmark's flags (--benchmark_*, --v=) from
 * argv; every other entry (--help included: the library would exit on it)
 * stays, in order, for the caller.  Returns 0, or -1 when an unrecognized
 * --benchmark_ flag or a bad --benchmark_format/--benchmark_out_format/
 * --benchmark_color value remains (one line printed on stderr).  Call once,
 * first. */
int gb_init(int *argc, char **argv);
/* The library's own help text for its flags. */
void gb_print_flags_help(void);

/* Register a case; the name is used as given.  NULL on failure. */
struct gb_bench *gb_register(const char *name, gb_fn fn, void *arg);
void gb_use_manual_time(struct gb_bench *b);
void gb_use_real_time(struct gb_bench *b);
/* Arguments appear in the name as /NAME:VALUE in order; state gets them. */
void gb_arg(struct gb_bench *b, const char *argname, int64_t value);
void gb_unit_ns(struct gb_bench *b);
void gb_unit_us(struct gb_bench *b);
/* Google Benchmark's per-case iteration count: fix it (testing only; it
 * enters the case name, so suites set it by flag instead). */
void gb_iterations(struct gb_bench *b, int64_t n);

/* Add a key/value pair to the context of every report (kept: the first
 * value given for a key).  Call before gb_run, never after gb_shutdown. */
void gb_add_context(const char *key, const char *value);

/* The number of repetitions of each case (--benchmark_repetitions, 1 when
 * not given).  After gb_init. */
int gb_repetitions(void);
/* Write the file report to path in format "json", "csv" or "console", as
 * --benchmark_out=path --benchmark_out_format=format would (overrides them).
 * After gb_init, before gb_run.  0, or -EINVAL for an empty path or an
 * unknown format.  The library truncates the file when gb_run starts; write
 * to a temporary name and rename after gb_run. */
int gb_set_output(const char *path, const char *format);
/* How many of the n names (each followed by suffix, e.g. "/manual_time",
 * as Google Benchmark names the case) --benchmark_filter selects, read the
 * way the library reads it.  After gb_init.  -1 with a message in err when
 * the filter is not a valid regular expression. */
long gb_filter_count(const char *const *names, size_t n, const char *suffix,
		     char *err, size_t errlen);
/* The file report's path in effect ("" when there is none). */
const char *gb_output(void);

/* Run every registered case that the --benchmark_filter selects, each
 * repetition in turn (gb_select, gb_report_open, gb_call per repetition,
 * gb_report_close).  Returns the number of cases run, or -1 on an internal
 * error. */
long gb_run(void);

/* --- a runner of the caller's own, one repetition at a time --- */
/* --benchmark_enable_random_interleaving and --benchmark_list_tests. */
bool gb_random_interleaving(void);
bool gb_list_tests(void);
/* The cases --benchmark_filter selects, in registration order: up to max
 * into out (out may be NULL); returns how many there are.  Call once before
 * gb_report_open. */
size_t gb_select(struct gb_bench **out, size_t max);
const char *gb_name(const struct gb_bench *b);
/* The arg given to gb_register. */
void *gb_user(const struct gb_bench *b);
/* One repetition of case b: the first that finishes sizes the case to
 * --benchmark_min_time (as the library does: 1, 10, ... iterations, each a
 * call of the case function; stop() is asked between two such calls), the
 * others run that many iterations.  The repetition is kept (in run order)
 * unless stopped: GB_CALL_OK, GB_CALL_FAILED (kept with its error), or 0
 * when nothing was kept. */
enum { GB_CALL_OK = 1, GB_CALL_FAILED = 2 };
int gb_call(struct gb_bench *b, bool (*stop)(void));
/* The error message of b's last kept repetition, NULL when it finished. */
const char *gb_last_error(const struct gb_bench *b);
/* Mark b's last kept repetition failed with msg (something found after it
 * finished, e.g. a worker that died at teardown); its counters go. */
void gb_last_fail(struct gb_bench *b, const char *msg);
/* Forget b's last kept repetition (it was interrupted: never reported). */
void gb_drop_last(struct gb_bench *b);
/* Add a plain counter to b's last kept repetition. */
void gb_last_counter(struct gb_bench *b, const char *name, double value);
unsigned gb_runs_kept(const struct gb_bench *b);
/* Start the reports: the display (--benchmark_format) and, when
 * --benchmark_out is set, the file, each with the context.  0 or -errno. */
int gb_report_open(void);
/* Show b's last kept repetition on the display, as it finishes. */
void gb_report_show_last(const struct gb_bench *b);
/* Every selected case's kept repetitions and their aggregates (over the
 * repetitions that finished with the first one's iteration count) into the
 * file, the aggregates onto the display, in registration order; close both.
 * 0, or -EIO when the file could not be written whole. */
int gb_report_close(void);
void gb_shutdown(void);

/* --- the JSON file report in pieces, for a gatherer (fleet mode) ---
 * gb_json_head() is what the JSON reporter writes first (the context and
 * the opening of "benchmarks"), gb_json_last(b) is b's last kept repetition
 * as that reporter writes it (one object, no comma), GB_JSON_TAIL what it
 * ends with: head + entries joined by ",\n" + tail is a whole file in the
 * library's format.  Malloc'd text (free it); NULL when out of memory, or
 * for gb_json_last when b kept nothing.  After gb_add_context's last call. */
#define GB_JSON_TAIL "\n  ]\n}\n"
#define GB_JSON_SEP ",\n"
char *gb_json_head(void);
char *gb_json_last(const struct gb_bench *b);

/* --- inside a case function --- */
bool gb_keep_running(struct gb_state *st);
bool gb_keep_running_batch(struct gb_state *st, uint64_t n);
uint64_t gb_max_iterations(const struct gb_state *st);
uint64_t gb_iterations_done(const struct gb_state *st);
int64_t gb_state_arg(const struct gb_state *st, unsigned i);
void gb_set_iteration_time(struct gb_state *st, double seconds);
void gb_pause_timing(struct gb_state *st);
void gb_resume_timing(struct gb_state *st);
void gb_counter(struct gb_state *st, const char *name, double value, int flags);
void gb_set_label(struct gb_state *st, const char *label);
void gb_set_bytes_processed(struct gb_state *st, int64_t bytes);
void gb_set_items_processed(struct gb_state *st, int64_t items);
/* Mark the case failed (Google Benchmark's SkipWithError: the message goes
 * into the output as error_message).  The case function must return without
 * entering (or after leaving) the keep-running loop. */
void gb_skip_with_error(struct gb_state *st, const char *msg);
bool gb_error_occurred(const struct gb_state *st);

#ifdef __cplusplus
}
#endif

#endif
