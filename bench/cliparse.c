/* cliparse.c - small pieces shared by the command-line checks: a user's
 * value quoted for an error line, and an unsigned decimal number. */
#include <errno.h>
#include <stdio.h>

#include "cliparse.h"

/* Quote a user value for an error line: printable ASCII only, bounded. */
const char *cli_shown(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 5 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x20 && c < 0x7f)
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", c);
	}
	if (*s && o + 4 < len)
		o += (size_t)snprintf(buf + o, len - o, "...");
	buf[o] = '\0';
	return buf;
}

int cli_parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max) /* stop before v can overflow */
			return -ERANGE;
	}
	*out = v;
	return 0;
}
