/* sig.h - SIGINT/SIGTERM in the parent: handlers only record the signal;
 * the harness polls sig_pending() at safe points, kills its pool, destroys
 * what it created, keeps finished results, and exits 128+signal. */
#ifndef IPCLAB_SIG_H
#define IPCLAB_SIG_H

/* Install handlers for SIGINT and SIGTERM (SA_RESTART off), ignore SIGPIPE.
 * 0 or -errno. */
int sig_install(void);
/* 0 if none; else the first signal caught (SIGINT or SIGTERM). */
int sig_pending(void);
/* Exit status for the caught signal: 130 for SIGINT, 143 for SIGTERM. */
int sig_exit_status(void);
/* In a forked child: back to default dispositions, SIGINT/SIGTERM ignored
 * (the parent ends children with SIGKILL). */
void sig_child_reset(void);

#endif
