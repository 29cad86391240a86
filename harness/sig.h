/* sig.h - SIGINT/SIGTERM in the parent: the first signal is only recorded;
 * the harness polls sig_pending() at safe points, kills its pool, destroys
 * what it created, keeps finished results, and exits 128+signal.  A second
 * signal ends the process from the handler at once: every child killed and
 * reaped, every IPC name of ipc_names_sweep() and the temporary results
 * files (sig_set_tmpfile_at) removed, exit 128+first signal. */
#ifndef IPCLAB_SIG_H
#define IPCLAB_SIG_H

/* Install handlers for SIGINT and SIGTERM (SA_RESTART off), ignore SIGPIPE.
 * 0 or -errno. */
int sig_install(void);
/* 0 if none; else the first signal caught (SIGINT or SIGTERM). */
int sig_pending(void);
/* Exit status for the caught signal: 130 for SIGINT, 143 for SIGTERM. */
int sig_exit_status(void);
/* The run's results are written and nothing is left to remove: from now
 * on the first signal ends the process at once, from the handler, with
 * 128+signal (what is left, freeing memory, would otherwise end 0). */
void sig_finished(void);
/* The temporary files a second signal must remove, one per slot ("" or
 * NULL: none): the results file (sig_set_tmpfile), a histogram file and the
 * folder's describe.json being written. */
enum sig_tmp_slot { SIG_TMP_RESULTS = 0, SIG_TMP_HIST, SIG_TMP_DESCRIBE, SIG_TMP_SLOTS };
void sig_set_tmpfile_at(enum sig_tmp_slot slot, const char *path);
/* The temporary results file: sig_set_tmpfile_at(SIG_TMP_RESULTS, path). */
void sig_set_tmpfile(const char *path);
/* In a forked child: back to default dispositions, SIGINT/SIGTERM ignored
 * (the parent ends children with SIGKILL). */
void sig_child_reset(void);

#endif
