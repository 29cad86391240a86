/* peerwatch.c - the peer-liveness thread of peerwatch.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "ipc.h"
#include "peerwatch.h"

struct peerwatch {
	pthread_t thread;
	int peer_r;
	int stop_fd;        /* eventfd: written once by peerwatch_stop */
	peerwatch_fn on_gone;
	void *arg;
};

static void *watch_main(void *p)
{
	struct peerwatch *w = p;
	struct pollfd pf[2] = {
		{ .fd = w->stop_fd, .events = POLLIN },
		{ .fd = w->peer_r, .events = POLLIN },
	};
	int gone = 0, again = 1, aborts = ipc_abort_check_set();

	for (;;) {
		int n = poll(pf, gone ? 1 : 2, gone && again ? PEERWATCH_REPEAT_MS :
			     aborts && !gone ? PEERWATCH_ABORT_CHECK_MS : -1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || pf[0].revents)
			break; /* detach (or poll broke: nothing left to watch with) */
		if (!gone && ((pf[1].revents & (POLLHUP | POLLERR)) || (aborts && ipc_abort_requested())))
			gone = 1;
		if (gone && again)
			again = w->on_gone(w->arg);
	}
	return NULL;
}

int peerwatch_start(struct peerwatch **out, int peer_r, peerwatch_fn on_gone, void *arg)
{
	struct peerwatch *w = calloc(1, sizeof(*w));
	sigset_t all, old;
	int rc;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->peer_r = peer_r;
	w->on_gone = on_gone;
	w->arg = arg;
	w->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (w->stop_fd < 0) {
		rc = -errno;
		free(w);
		return rc;
	}
	/* The thread takes no signals: they stay with the thread that uses
	 * the end (the harness's handlers, EINTR where it expects them). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = -pthread_create(&w->thread, NULL, watch_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		close(w->stop_fd);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

void peerwatch_stop(struct peerwatch *w)
{
	uint64_t one = 1;

	if (!w)
		return;
	while (write(w->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(w->thread, NULL);
	close(w->stop_fd);
	free(w);
}
