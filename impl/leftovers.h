/* leftovers.h - the IPC objects of an ipclab process that was SIGKILLed.
 *
 * A process that ends normally, or on a signal it handles, removes what it
 * made; a SIGKILL gives it no chance.  What it made still says who made it:
 * every name is "ipclab-KIND-PID-..." (names.h), in /dev/shm ("sem." in
 * front for a named semaphore), in /dev/mqueue (when mounted) or in $TMPDIR
 * (private directories, lock files), and its SysV ids are listed in its
 * ledger ($TMPDIR/ipclab-sysv-PID-XXXXXX, names.h).  An object is stale when
 * its maker (PID) no longer exists and it belongs to this user; ipclab
 * removes the stale ones when it starts (bench/main.c), and says which.
 *
 * Objects made by processes that still run are never touched.  A ledger's
 * ids are removed only while they belong to this user; the kernel hands a
 * removed id out again only after its sequence wraps.
 */
#ifndef IPCLAB_LEFTOVERS_H
#define IPCLAB_LEFTOVERS_H

#include <stddef.h>

#define IPC_LEFT_STALE 1u  /* only objects whose maker is gone */
#define IPC_LEFT_REMOVE 2u /* and remove each one found */

/*
 * Find ipclab's objects of KIND (NULL: every kind; the ledgers are kind
 * IPC_SYSV_LEDGER_KIND, and with it each SysV id a stale ledger lists).
 * Appends what it found to out (space separated, cut at len; out must hold
 * a string).  Returns how many were found, or -errno when a place could not
 * be read (the others are still scanned).
 */
int ipc_leftovers_scan(const char *kind, unsigned flags, char *out, size_t len);

#endif
