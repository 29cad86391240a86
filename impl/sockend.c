/* sockend.c - the ends of an exported socket channel (see sockend.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockend.h"

int sockend_listen(int family, int type, struct sockaddr *sa, socklen_t *sl, int *lfd)
{
	int fd = socket(family, type | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	if (bind(fd, sa, *sl) || listen(fd, 1) || getsockname(fd, sa, sl)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*lfd = fd;
	return 0;
}

int sockend_accept_once(int *lfd, unsigned timeout_ms)
{
	struct pollfd pf = { .fd = *lfd, .events = POLLIN };
	int ret;

	ret = poll(&pf, 1, timeout_ms ? (int)timeout_ms : -1); /* a signal ends it: -EINTR */
	if (ret == 0)
		ret = -ETIMEDOUT;
	else if (ret < 0)
		ret = -errno;
	else if ((ret = accept4(*lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		ret = -errno;
	close(*lfd);
	*lfd = -1;
	return ret;
}

int sockend_connect(int family, int type, const struct sockaddr *sa, socklen_t sl)
{
	int fd = socket(family, type | SOCK_CLOEXEC, 0), ret;

	if (fd < 0)
		return -errno;
	if (connect(fd, sa, sl)) {
		ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

int sockend_install(struct fdio_chan *c, enum ipc_role role, int fd, const char *name, char *err)
{
	int other = role == IPC_SEND ? IPC_RECV : IPC_SEND, ret;

	/* fdio sets both ends' waits: let both name this one socket. */
	c->fd[role] = c->fd[other] = fd;
	ret = fdio_chan_apply_wait(c, name, err);
	c->fd[other] = -1;
	if (ret) {
		close(fd);
		c->fd[role] = -1;
	}
	return ret;
}

int sockend_host_addr(const char *mech, char *host, char *err)
{
	const char *env = getenv(SOCKEND_HOST_ENV);
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai = NULL;
	struct in_addr a;
	char name[256];
	int rc;

	if (env && *env) {
		if (inet_pton(AF_INET, env, &a) != 1) {
			fdio_err(err, "%s: %s='%.60s' is not an IPv4 address (accepted: a.b.c.d of this host)",
				 mech, SOCKEND_HOST_ENV, env);
			return -EINVAL;
		}
		snprintf(host, INET_ADDRSTRLEN, "%s", env);
		return 0;
	}
	if (gethostname(name, sizeof(name)) != 0) {
		rc = -errno;
		fdio_err(err, "%s: gethostname: %s (set %s=IP)", mech, strerror(-rc), SOCKEND_HOST_ENV);
		return rc;
	}
	name[sizeof(name) - 1] = '\0';
	rc = getaddrinfo(name, NULL, &hints, &ai);
	if (rc != 0 || !ai) {
		fdio_err(err, "%s: host name '%.60s' has no IPv4 address (%s): set %s=IP", mech, name,
			 gai_strerror(rc), SOCKEND_HOST_ENV);
		return -EADDRNOTAVAIL;
	}
	inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, host, INET_ADDRSTRLEN);
	freeaddrinfo(ai);
	return 0;
}

struct sockend_chan *sockend_chan_new(const char *name, struct fdio_chan *fc)
{
	struct sockend_chan *sc = calloc(1, sizeof(*sc));

	if (!sc)
		return NULL;
	sc->fc = fc;
	sc->name = name;
	sc->lfd = -1;
	return sc;
}

/* An exported channel's end: accept (a creator with a listener) or
 * connect (an importer), the mechanism's ready(), then install. */
static int sockend_open_end(struct sockend_chan *sc, enum ipc_role role, char *err)
{
	const char *what = sc->lfd >= 0 ? "accept" : "connect";
	int fd, ret;

	if (sc->lfd >= 0) {
		fd = sockend_accept_once(&sc->lfd, sc->fc->timeout_ms);
		if (fd == -ETIMEDOUT) {
			fdio_err(err, "%s: no peer connected to %s in %u ms", sc->name, sc->where,
				 sc->fc->timeout_ms);
			return fd;
		}
	} else
		fd = sockend_connect(sc->family, sc->type, (const struct sockaddr *)&sc->addr, sc->addrlen);
	if (fd < 0) {
		fdio_err(err, "%s: %s %s: %s", sc->name, what, sc->where, strerror(-fd));
		return fd;
	}
	if (sc->ready && (ret = sc->ready(sc, fd, role, err)) < 0) {
		close(fd);
		return ret;
	}
	return sockend_install(sc->fc, role, fd, sc->name, err);
}

int sockend_attach(void *chan, enum ipc_role role, void **end, char *err)
{
	struct sockend_chan *sc = chan;
	int ret;

	if (sc->where[0] && (role == IPC_SEND || role == IPC_RECV) && sc->fc->fd[role] < 0) {
		ret = sockend_open_end(sc, role, err);
		if (ret)
			return ret;
	}
	return fdio_attach(sc->fc, role, end, err);
}

void sockend_forget(void *chan)
{
	struct sockend_chan *sc = chan;

	fdio_forget(sc->fc);
	if (sc->lfd >= 0)
		close(sc->lfd);
	sc->lfd = -1;
}

void sockend_destroy(void *chan)
{
	struct sockend_chan *sc = chan;

	if (!sc)
		return;
	if (sc->lfd >= 0)
		close(sc->lfd);
	fdio_destroy(sc->fc);
	free(sc);
}

int sockend_host_name(const char *mech, char *host, char *err)
{
	int ret;

	if (gethostname(host, SOCKEND_HOSTNAME_MAX + 1) != 0) {
		ret = -errno;
		fdio_err(err, "%s: gethostname: %s", mech, strerror(-ret));
		return ret;
	}
	host[SOCKEND_HOSTNAME_MAX] = '\0';
	return 0;
}

int sockend_same_host(const char *mech, const char *host, char *err)
{
	char here[SOCKEND_HOSTNAME_MAX + 1];
	int ret = sockend_host_name(mech, here, err);

	if (ret)
		return ret;
	if (strcmp(host, here) != 0) {
		fdio_err(err, "%s: the channel is on host '%s', this rank runs on '%s': %s is reached on its "
			 "creator's host only (tcp or udp cross hosts)", mech, host, here, mech);
		return -EHOSTUNREACH;
	}
	return 0;
}
