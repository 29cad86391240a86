/* cliparse.h - the command line's small parsers (cliparse.c) and the check
 * of Google Benchmark's flags (gbflags.c). */
#ifndef IPCLAB_CLIPARSE_H
#define IPCLAB_CLIPARSE_H

#include <stddef.h>

#define GB_FLAG_ERRLEN 512 /* == SUITE_ERRLEN */

/* s quoted for an error line in buf: printable ASCII only, bounded. */
const char *cli_shown(const char *s, char *buf, size_t len);
/* A plain unsigned decimal number up to max.  0, -EINVAL or -ERANGE. */
int cli_parse_uint(const char *s, unsigned long max, unsigned long *out);
/* One --benchmark_NAME[=VALUE] argument: a flag Google Benchmark 1.7 knows,
 * with a value it accepts.  0, or -EINVAL with one line in err
 * (GB_FLAG_ERRLEN bytes). */
int gb_flag_check(const char *arg, char *err);

#endif
