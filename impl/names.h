/* names.h - names of IPC objects, unique to the run and to the channel.
 *
 * Every name starts with IPC_NAME_PREFIX so a leak check (or a person
 * looking at /dev/shm, /dev/mqueue or /tmp) can tell ipclab's objects apart,
 * followed by KIND and the pid of the process that made it, so a check can
 * tell its own run's objects from those of other runs on the machine.
 */
#ifndef IPCLAB_NAMES_H
#define IPCLAB_NAMES_H

#include <stddef.h>

#define IPC_NAME_PREFIX "ipclab"
#define IPC_NAME_MAX 96
#define IPC_PATH_MAX 256

/* "/ipclab-KIND-PID-SEQ-RANDOM" for shm_open/mq_open (create it O_EXCL).
 * 0 or -ENAMETOOLONG. */
int ipc_unique_name(char *buf, size_t len, const char *kind);

/* A fresh private directory "$TMPDIR/ipclab-KIND-PID-XXXXXX", mode 0700, for
 * socket and fifo files.  0 or -errno. */
int ipc_private_dir(char *path, size_t len, const char *kind);

/* Every name and private directory this process handed out is also kept in
 * a fixed table (the most recent IPC_NAMES_TRACKED of each), so that an
 * emergency exit can remove them.  Remove every object those names may
 * still denote (shared memory, message queue, the directory and the files
 * in it) without taking a lock or allocating: async-signal-safe, for a
 * signal handler that ends the process at once.  Names already destroyed
 * are skipped (ENOENT). */
#define IPC_NAMES_TRACKED 4096
void ipc_names_sweep(void);

/* SysV objects have no name: their ids are tracked instead, from right
 * after the msgget/semget/shmget that made one to right after the IPC_RMID
 * that removes it, and ipc_names_sweep() removes every id still tracked
 * (a second Ctrl-C).  Only the maker tracks an id; a process that imported
 * it does not.  The kernel gives a removed id out again only after its
 * sequence wraps, and an id is untracked once removed, so the sweep never
 * reaches another object.  At most IPC_SYSV_TRACKED at once; more go
 * untracked.
 *
 * A SIGKILL runs no sweep, and a SysV id has no name to carry its maker's
 * pid, so every id tracked is also written to the process's ledger, a file
 * "$TMPDIR/ipclab-sysv-PID-XXXXXX" of "msg ID", "sem ID" or "shm ID" lines,
 * made with the first id and removed when no tracked id is left (and by
 * the sweep).  A ledger whose maker is gone lists what a SIGKILL left:
 * ipc_leftovers_scan (leftovers.h) removes those ids and the file. */
enum ipc_sysv_kind { IPC_SYSV_MSG = 1, IPC_SYSV_SEM, IPC_SYSV_SHM };
#define IPC_SYSV_TRACKED 1024
#define IPC_SYSV_LEDGER_KIND "sysv"
void ipc_sysv_track(enum ipc_sysv_kind kind, int id);
void ipc_sysv_untrack(enum ipc_sysv_kind kind, int id);

/* Remove the files in dir (one level: the sockets and fifos of a private
 * directory), then dir.  Async-signal-safe. */
void ipc_dir_remove(const char *dir);

#endif
