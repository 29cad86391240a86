/*
 * peerwatch.h - a thread that tells a blocked end that its peers are gone.
 *
 * Some mechanisms block in a call that has no timeout and that a dead peer
 * never ends: read() of an eventfd, msgrcv()/msgsnd() of a SysV queue.  The
 * channel carries fdio's liveness pipes (fdio.h: the read end of pipe R
 * shows POLLHUP once no process of role R is left); a peerwatch is one
 * thread per attached end that sleeps in poll() on that pipe and, once the
 * peers are gone, calls the mechanism's on_gone() -- which sets a flag the
 * end reads and wakes the end's own blocked call (posts a token, sends an
 * end-of-stream record).  on_gone() is called again every
 * PEERWATCH_REPEAT_MS while it returns 1 (a wake-up may have been taken by
 * another process's waiter), until peerwatch_stop().
 *
 * The hot path pays nothing: the thread sleeps in the kernel until a peer
 * leaves or the end detaches.  Spinning ends do not need one (they look at
 * the pipe every FDIO_SPIN_CHECK tries).
 */
#ifndef IPCLAB_PEERWATCH_H
#define IPCLAB_PEERWATCH_H

/* How often on_gone() is repeated while it asks for it. */
#define PEERWATCH_REPEAT_MS 20
/* Where a process has an abort check (ipc.h, ipc_abort_check_set: an MPI
 * rank, whose SIGTERM may land on an MPI library thread and interrupt
 * nothing of ours), the thread also wakes this often and, once
 * ipc_abort_requested(), calls on_gone() as if the peers were gone: the
 * blocked end wakes and returns.  No check set: it sleeps until a peer
 * leaves, as before. */
#define PEERWATCH_ABORT_CHECK_MS 50

struct peerwatch;

/* on_gone(arg): 1 to be called again in PEERWATCH_REPEAT_MS, 0 when done. */
typedef int (*peerwatch_fn)(void *arg);

/*
 * Start watching peer_r (not taken over: the caller keeps and closes it
 * after peerwatch_stop; -1: no peers to watch, only the abort check).
 * 0 or -errno (no thread started).
 */
int peerwatch_start(struct peerwatch **out, int peer_r, peerwatch_fn on_gone, void *arg);

/* Stop and join the thread; NULL is fine. */
void peerwatch_stop(struct peerwatch *w);

#endif
