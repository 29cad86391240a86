/* histout.h - every case's latency histogram into hist/ of the results
 * folder, one .hgrm file (HdrHistogram's percentile-distribution text) per
 * kept repetition, written between repetitions, never while measuring. */
#ifndef IPCLAB_HISTOUT_H
#define IPCLAB_HISTOUT_H

#include <stddef.h>

#include "hist.h"
#include "suite.h"

#define HISTOUT_SUBDIR "hist"

/* The file name of a case's repetition rep (0-based, Google Benchmark's
 * repetition_index): the case name with '/' as '_' and ':' as '=', then
 * ".rep<rep>.hgrm" (names hold only [A-Za-z0-9/:-], so the mapping is
 * undone by the scripts).  0, or -ENAMETOOLONG. */
int histout_file_name(const char *case_name, unsigned rep, char *out, size_t len);

/* Write h as dir/hist/<histout_file_name> through a temporary name and a
 * rename (a crash never leaves half a file); makes dir/hist when missing.
 * 0, or -errno with one line in err (SUITE_ERRLEN). */
int histout_write(const char *dir, const char *case_name, unsigned rep, const struct hist *h, char *err);

/* Keep a copy of the histogram a case's call reported, where the runner
 * asked for one (c->kept_hist; nothing when NULL). */
void suite_keep_hist(struct suite_case *c, const struct hist *h);

#endif
