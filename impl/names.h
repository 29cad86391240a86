/* names.h - names of IPC objects, unique to the run and to the channel.
 *
 * Every name starts with IPC_NAME_PREFIX so a leak check (or a person
 * looking at /dev/shm, /dev/mqueue or /tmp) can tell ipclab's objects apart.
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

/* A fresh private directory "$TMPDIR/ipclab-KIND-XXXXXX", mode 0700, for
 * socket and fifo files.  0 or -errno. */
int ipc_private_dir(char *path, size_t len, const char *kind);

#endif
