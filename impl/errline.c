/* errline.c - the one formatter of error lines (errline.h). */
#include <stdarg.h>
#include <stdio.h>

#include "errline.h"
#include "ipc.h"

static void err_vline(char *buf, size_t len, const char *fmt, va_list ap)
{
	if (!buf || !len)
		return;
	vsnprintf(buf, len, fmt, ap);
}

void err_line(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vline(buf, len, fmt, ap);
	va_end(ap);
}

void ipc_err(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	err_vline(err, IPC_ERRLEN, fmt, ap);
	va_end(ap);
}
