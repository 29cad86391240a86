/*
 * sockend.h - the ends of an exported socket channel (issue 17: ranks of
 * an MPI job re-open a channel from a line of text), shared by tcp and the
 * Unix sockets.
 *
 * The creator listens (or, for a datagram socket, binds) on an address it
 * publishes; its attach accepts ONE connection within the channel's
 * timeout and closes the listener, so no address stays bound once the
 * peer is in.  An importer's attach connects to the address.  Either way
 * the one connected socket becomes the end's descriptor (fdio.h), with the
 * channel's wait applied, and the send and receive paths do not change.
 */
#ifndef IPCLAB_SOCKEND_H
#define IPCLAB_SOCKEND_H

#include <sys/socket.h>

#include "fdio.h"

/* Room for an address as text: "a.b.c.d:port" or "@abstract-name". */
#define SOCKEND_WHERE_MAX 112

/*
 * A socket channel that may be exported.  Not exported (where[0] == 0):
 * fc holds a connected pair made by the mechanism, and every call below
 * is fdio's.  Exported: the creator holds a listener (lfd, stream and
 * seqpacket) or the bound receive socket (fc->fd[IPC_RECV], datagrams);
 * an importer holds only the address.
 */
struct sockend_chan {
	struct fdio_chan *fc;
	const char *name;        /* the mechanism, for error lines */
	int lfd;                 /* creator's listener until its attach, else -1 */
	int family, type;
	struct sockaddr_storage addr; /* exported: where an importer connects */
	socklen_t addrlen;
	char where[SOCKEND_WHERE_MAX]; /* addr as text; "" if not exported */
	unsigned depth;          /* params.depth, for sizing an end's buffers */
	/* Called on each descriptor an exported end accepts or connects,
	 * before it is installed: the mechanism's socket options and checks.
	 * 0 or -errno with err (the caller closes fd).  NULL: none. */
	int (*ready)(const struct sockend_chan *sc, int fd, enum ipc_role role, char *err);
};

/* The table members of a sockend_chan channel: attach accepts or connects
 * an exported end first; forget also closes the listener; destroy frees. */
int sockend_attach(void *chan, enum ipc_role role, void **end, char *err);
void sockend_forget(void *chan);
void sockend_destroy(void *chan);
/* A new channel (lfd -1, nothing exported) around fc, or NULL. */
struct sockend_chan *sockend_chan_new(const char *name, struct fdio_chan *fc);

/*
 * A listening socket of family/type bound to sa (backlog 1; a stream or
 * seqpacket type), into *lfd; the bound address back into sa and sl (the
 * port the kernel picked).  0 or -errno (nothing left open).
 */
int sockend_listen(int family, int type, struct sockaddr *sa, socklen_t *sl, int *lfd);

/*
 * Accept one connection on *lfd within timeout_ms (0: wait forever), then
 * close the listener (*lfd = -1) whatever happened.  The connected
 * descriptor (close-on-exec), or -ETIMEDOUT, or -errno.
 */
int sockend_accept_once(int *lfd, unsigned timeout_ms);

/* The environment variable that names this host's address for exported
 * network channels (tcp, udp): a host with several networks, or whose
 * name resolves to a loopback address. */
#define SOCKEND_HOST_ENV "IPCLAB_TCP_HOST"

/*
 * This host's IPv4 address for an exported network channel of mechanism
 * name, into host (INET_ADDRSTRLEN bytes): SOCKEND_HOST_ENV, else the
 * first IPv4 address the host name resolves to.  0 or -errno with err.
 */
int sockend_host_addr(const char *name, char *host, char *err);

/* Longest host name export texts carry (HOST_NAME_MAX on Linux). */
#define SOCKEND_HOSTNAME_MAX 64

/* This host's name (gethostname), as exports carry it, into host
 * (SOCKEND_HOSTNAME_MAX + 1 bytes).  0 or -errno with err. */
int sockend_host_name(const char *mech, char *host, char *err);

/*
 * For a channel reached on its creator's host only (a Unix socket, an
 * ipc:// endpoint): 0 if host (from an export text) is this host's name,
 * else -EHOSTUNREACH with a line saying so, or -errno with err.
 */
int sockend_same_host(const char *mech, const char *host, char *err);

/* A socket of family/type connected to sa: the descriptor, or -errno. */
int sockend_connect(int family, int type, const struct sockaddr *sa, socklen_t sl);

/*
 * Make fd (connected or bound) the role's descriptor of c and apply c's
 * wait to it (fdio_chan_apply_wait).  On error fd is closed.  0 or -errno
 * with err.
 */
int sockend_install(struct fdio_chan *c, enum ipc_role role, int fd, const char *name, char *err);

#endif
