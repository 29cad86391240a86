/* errline.h - the one formatter of error lines.  Functions that can fail
 * for a reason a user must read write one line into the caller's buffer
 * (redis anet.c's style); the top level prints it.  Used by impl/ and
 * harness/ alike, so every error line is made the same way. */
#ifndef IPCLAB_ERRLINE_H
#define IPCLAB_ERRLINE_H

#include <stddef.h>

/* Format one line into buf (len bytes, always terminated); buf may be NULL
 * (the caller does not want the reason). */
void err_line(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The same into a mechanism's err buffer (IPC_ERRLEN bytes, impl/ipc.h). */
void ipc_err(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
