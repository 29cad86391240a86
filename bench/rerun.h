/* rerun.h - build/ipclab --rerun=DIR: the argument vector of an earlier
 * run, read from its results folder (context key ipclab_argv). */
#ifndef IPCLAB_RERUN_H
#define IPCLAB_RERUN_H

/* The argv to run for --rerun=dir: argv0, then the folder's ipclab_argv
 * without its own results flags (--out=, --benchmark_out=,
 * --benchmark_out_format=), plus --seed=N of its interleaved order when it
 * gave none, plus --out=NEW: the one flag given with --rerun among
 * given[1..ngiven) (default results/HOST/YYYYmmddTHHMMSSZ).  0, or -EINVAL
 * with one line in err (SUITE_ERRLEN): a missing folder, a folder that is
 * not an ipclab result, another flag next to --rerun.  Free with
 * rerun_free. */
int rerun_argv(const char *dir, const char *argv0, int ngiven, char **given, int *argc, char ***argv,
	       char *err);
void rerun_free(int argc, char **argv);

#endif
