/* server.c - a connection per process, or a pool: N clients open
 * connections to one server over unix-stream or tcp (axis transport:NAME)
 * and make req:R echo requests of size bytes on each (axis, default 10).
 * Each server model is a subject of the family "server":
 *   fork-per-conn    accept, fork a child for the connection (what
 *                    socketserver.ForkingMixIn does), reap it;
 *   prefork          N children forked once, all accepting on the one
 *                    listening socket;
 *   thread-per-conn  accept, a thread for the connection;
 *   epoll            one thread, one epoll loop over non-blocking sockets.
 * Worker 0 is the server; 1..N are clients.  One iteration is one request
 * (send size bytes, receive their echo): the latency histogram holds the
 * request round trips; a client opens a new connection every R requests;
 * conn_p50_ns is a connection's life (connect, R requests, close);
 * connections_per_s; server_cpu_ns_per_req is the CPU time of the whole
 * server (its own thread, and every child or thread serving a
 * connection, each reading its own CPU clock) per request.  Every server
 * child dies with the server (PR_SET_PDEATHSIG) and is reaped in the
 * round: no zombie, even when a client dies mid-connection (the child sees
 * the connection end early, exits non-zero, and the case fails).
 *
 * Why this file is long: four server models (each its own accept and
 * serve loop, the epoll one a small state machine), their shared
 * listening socket and CPU accounting, and the client are one workload. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "futex.h"
#include "workload.h"

#define LISTEN_BACKLOG 1024
#define EPOLL_BATCH 64
/* A round's wait for the last connections (the watchdog is the limit). */
#define WAIT_SLICE_NS 50000000ull
#define MAX_REQ 1000000u
/* A request carries its sequence in its first 8 bytes, a tail word in its last 8. */
#define SERVER_MIN_SIZE 16

enum model { MODEL_FORK, MODEL_PREFORK, MODEL_THREAD, MODEL_EPOLL };
enum transport { TRANSPORT_UNIX = 0, TRANSPORT_TCP = 1 };

struct server_model {
	const char *name;
	const char *summary;
	enum model model;
};

static const struct server_model models[] = {
	{ "fork-per-conn", "accept, fork a child per connection (socketserver.ForkingMixIn), reap it", MODEL_FORK },
	{ "prefork", "N children forked once, each accepting on the one listening socket", MODEL_PREFORK },
	{ "thread-per-conn", "accept, a thread per connection (socketserver.ThreadingMixIn)", MODEL_THREAD },
	{ "epoll", "one thread, one epoll loop over non-blocking sockets", MODEL_EPOLL },
};
#define NMODELS (sizeof(models) / sizeof(models[0]))

static const void *server_member(unsigned i)
{
	return i < NMODELS ? &models[i] : NULL;
}

static const char *server_member_name(const void *t)
{
	return ((const struct server_model *)t)->name;
}

static const char *server_member_summary(const void *t)
{
	return ((const struct server_model *)t)->summary;
}

static unsigned server_member_waits(const void *t)
{
	(void)t;
	return IPC_WAIT_BIT(IPC_WAIT_BLOCK);
}

const struct family family_server = {
	.name = "server",
	.summary = "server models: fork per connection, pre-forked pool, thread per connection, epoll loop",
	.member = server_member,
	.member_name = server_member_name,
	.member_summary = server_member_summary,
	.member_waits = server_member_waits,
};

static const char *const transport_words[] = { "unix-stream", "tcp", NULL };
static const uint64_t transport_quick[] = { TRANSPORT_UNIX, WL_AXIS_END };
static const uint64_t transport_all[] = { TRANSPORT_UNIX, TRANSPORT_TCP, WL_AXIS_END };
static const struct wl_axis transport_axis = {
	.key = "transport",
	.meaning = "the connection: unix-stream (a socket file in a private folder) or tcp (127.0.0.1)",
	.def = TRANSPORT_UNIX,
	.max = TRANSPORT_TCP,
	.words = transport_words,
	.quick = transport_quick,
	.full = transport_all,
};
static const uint64_t req_quick[] = { 10, WL_AXIS_END };
static const uint64_t req_full[] = { 1, 10, 100, WL_AXIS_END };
static const struct wl_axis req_axis = {
	.key = "req",
	.meaning = "echo requests per connection",
	.def = 10,
	.max = MAX_REQ,
	.quick = req_quick,
	.full = req_full,
};
enum { AXIS_TRANSPORT = 0, AXIS_REQ = 1 };
static const struct wl_axis *const server_axes[] = { &transport_axis, &req_axis, NULL };

/* Shared by the server, its children and the clients (MAP_SHARED). */
struct srv_shared {
	_Atomic uint32_t done;      /* connections served this round (futex) */
	_Atomic uint32_t failed;    /* connections that ended wrong */
	_Atomic uint64_t cpu_ns;    /* server CPU time this round */
	int lfd;                    /* the listening socket */
	bool parent_closed;
	struct sockaddr_storage addr;
	socklen_t alen;
	char dir[64];               /* unix: the private folder ("" none) */
	size_t len;                 /* of this mapping */
	struct hist conn[];         /* connection lives, per worker */
};

/* A worker's own state (w->priv). */
struct srv_worker {
	uint8_t *buf;
	pid_t *kids;                /* prefork: the children */
	unsigned nkids;
	int epfd;
};

static unsigned server_procs(unsigned pool)
{
	return pool + 1;
}

static uint64_t server_delivered(unsigned pool, uint64_t n)
{
	(void)pool;
	return n; /* requests echoed and checked by the clients */
}

/* Requests client i (0-based) makes of a round's n. */
static uint64_t client_share(uint64_t n, unsigned k, unsigned i)
{
	return n / k + (i < n % k);
}

/* Connections a round of n requests opens (R requests each, a client's
 * last one maybe fewer). */
static uint64_t round_connections(uint64_t n, unsigned k, uint64_t nreq)
{
	uint64_t c = 0;

	for (unsigned i = 0; i < k; i++)
		c += (client_share(n, k, i) + nreq - 1) / nreq;
	return c;
}

static uint64_t cpu_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void server_destroy(struct case_run *r)
{
	struct srv_shared *sh = r->fam;
	char path[128];

	if (!sh)
		return;
	if (sh->lfd >= 0 && !sh->parent_closed)
		close(sh->lfd);
	if (sh->dir[0]) {
		snprintf(path, sizeof(path), "%s/s", sh->dir);
		unlink(path);
		rmdir(sh->dir);
	}
	munmap(sh, sh->len);
	r->fam = NULL;
}

static int server_prepare(struct case_run *r, char *why)
{
	const struct server_model *m = r->spec.subject.table;
	size_t len = sizeof(struct srv_shared) + r->nprocs * sizeof(struct hist);
	struct srv_shared *sh;

	if (r->spec.wait != IPC_WAIT_BLOCK)
		return case_why(why, -ENOTSUP, "%s serves with blocking calls (epoll_wait, accept, read): block only",
				m->name);
	if (r->spec.axis[AXIS_REQ] == 0)
		return case_why(why, -ENOTSUP, "req:0: a connection makes at least one request");
	if (r->spec.size < SERVER_MIN_SIZE)
		return case_why(why, -ENOTSUP, "size %zu is below a request's %d bytes (sequence, tail word)",
				r->spec.size, SERVER_MIN_SIZE);
	sh = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return case_why(why, -ENOMEM, "mmap of the server state: %s", strerror(errno));
	sh->len = len;
	sh->lfd = -1;
	r->fam = sh;
	return 0;
}

/* The listening socket, before the workers start (they inherit it). */
static int server_create(struct case_run *r, char *why)
{
	struct srv_shared *sh = r->fam;
	int one = 1, rc;

	if (r->spec.axis[AXIS_TRANSPORT] == TRANSPORT_TCP) {
		struct sockaddr_in *in = (struct sockaddr_in *)&sh->addr;

		sh->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sh->lfd < 0)
			goto fail;
		setsockopt(sh->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		in->sin_family = AF_INET;
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		in->sin_port = 0; /* any free port */
		sh->alen = sizeof(*in);
		if (bind(sh->lfd, (struct sockaddr *)in, sh->alen) < 0 ||
		    getsockname(sh->lfd, (struct sockaddr *)in, &sh->alen) < 0)
			goto fail;
	} else {
		struct sockaddr_un *un = (struct sockaddr_un *)&sh->addr;
		const char *tmp = getenv("TMPDIR");

		snprintf(sh->dir, sizeof(sh->dir), "%s/ipclab-srv-XXXXXX",
			 tmp && *tmp && strlen(tmp) < sizeof(sh->dir) - 20 ? tmp : "/tmp");
		if (!mkdtemp(sh->dir)) { /* mode 0700: the socket is ours alone */
			sh->dir[0] = '\0';
			goto fail;
		}
		un->sun_family = AF_UNIX;
		snprintf(un->sun_path, sizeof(un->sun_path), "%s/s", sh->dir);
		sh->alen = sizeof(*un);
		sh->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (sh->lfd < 0 || bind(sh->lfd, (struct sockaddr *)un, sh->alen) < 0)
			goto fail;
	}
	if (listen(sh->lfd, LISTEN_BACKLOG) < 0)
		goto fail;
	return 0;
fail:
	rc = -errno;
	case_why(why, rc, "server: listening socket: %s", strerror(errno));
	server_destroy(r);
	return rc;
}

static void server_started(struct case_run *r)
{
	struct srv_shared *sh = r->fam;

	close(sh->lfd); /* the server holds it; a dead server is seen at once */
	sh->parent_closed = true;
}

static bool server_talks(const struct case_run *r, unsigned from, unsigned to)
{
	(void)r;
	return from != to && (from == 0 || to == 0);
}

/* Read exactly len bytes.  len, 0 at a clean end before the first byte,
 * or -errno (-EPIPE: the end came mid-request). */
static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t k = read(fd, buf + got, len - got);

		if (k > 0)
			got += (size_t)k;
		else if (k == 0 || (k < 0 && errno == ECONNRESET && got == 0))
			return got == 0 ? 0 : -EPIPE;
		else if (errno != EINTR)
			return -errno;
	}
	return (ssize_t)got;
}

static int write_full(int fd, const uint8_t *buf, size_t len)
{
	size_t put = 0;

	while (put < len) {
		ssize_t k = send(fd, buf + put, len - put, MSG_NOSIGNAL);

		if (k > 0)
			put += (size_t)k;
		else if (k < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

/* Serve one connection with blocking calls: echo whole requests until the
 * client closes.  Requests served, or -errno. */
static long serve(int fd, uint8_t *buf, size_t size)
{
	long served = 0;

	for (;;) {
		ssize_t k = read_full(fd, buf, size);

		if (k == 0)
			return served;
		if (k < 0)
			return (long)k;
		if (write_full(fd, buf, size) < 0)
			return -EPIPE;
		served++;
	}
}

static void served_one(struct srv_shared *sh, bool ok)
{
	if (!ok)
		atomic_fetch_add(&sh->failed, 1);
	atomic_fetch_add(&sh->done, 1);
	futex_wake(&sh->done, 1);
}

/* Wait until n connections were served (the watchdog ends a hang);
 * prefork: a child that died fails the round. */
static int wait_served(struct pool_worker *w, struct srv_shared *sh, uint64_t n, struct srv_worker *sw)
{
	for (;;) {
		uint32_t d = atomic_load(&sh->done);

		if (d >= n)
			return 0;
		for (unsigned i = 0; i < sw->nkids; i++) {
			int st;

			if (waitpid(sw->kids[i], &st, WNOHANG) == sw->kids[i]) {
				sw->kids[i] = -1;
				snprintf(w->err, POOL_ERRLEN, "server: prefork child %u ended (status 0x%x)", i,
					 (unsigned)st);
				return -ECHILD;
			}
		}
		futex_wait(&sh->done, d, WAIT_SLICE_NS);
	}
}

/* A pre-forked child: accept and serve until the listening socket is shut. */
static void __attribute__((noreturn)) prefork_child(struct srv_shared *sh, size_t size, pid_t server)
{
	uint8_t *buf = malloc(size);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != server || !buf)
		_exit(1);
	for (;;) {
		int fd = accept4(sh->lfd, NULL, NULL, SOCK_CLOEXEC);
		uint64_t c0;
		long k;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			_exit(errno == EINVAL ? 0 : 1); /* shut down: the case ends */
		}
		c0 = cpu_of(CLOCK_THREAD_CPUTIME_ID);
		k = serve(fd, buf, size);
		close(fd);
		atomic_fetch_add(&sh->cpu_ns, cpu_of(CLOCK_THREAD_CPUTIME_ID) - c0);
		served_one(sh, k >= 0);
	}
}

struct conn_thread {
	struct srv_shared *sh;
	int fd;
	size_t size;
};

static void *conn_thread(void *arg)
{
	struct conn_thread *ct = arg;
	uint8_t *buf = malloc(ct->size);
	long k = buf ? serve(ct->fd, buf, ct->size) : -ENOMEM;

	close(ct->fd);
	atomic_fetch_add(&ct->sh->cpu_ns, cpu_of(CLOCK_THREAD_CPUTIME_ID));
	served_one(ct->sh, k >= 0);
	free(buf);
	free(ct);
	return NULL;
}

static int server_setup(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	const struct server_model *m = r->spec.subject.table;
	struct srv_shared *sh = r->fam;
	struct srv_worker *sw = calloc(1, sizeof(*sw));

	if (!sw || !(sw->buf = malloc(r->spec.size))) {
		free(sw);
		snprintf(w->err, POOL_ERRLEN, "server: worker %u: out of memory", w->id);
		return -ENOMEM;
	}
	sw->epfd = -1;
	w->priv = sw;
	if (w->id != 0) {
		if (!pool_backend_shares_memory(r->spec.workers))
			close(sh->lfd); /* a client: the listening socket is the server's */
		return 0;
	}
	if (m->model == MODEL_PREFORK) {
		pid_t self = getpid();

		if (!(sw->kids = calloc(r->spec.pool, sizeof(pid_t)))) {
			snprintf(w->err, POOL_ERRLEN, "server: out of memory");
			return -ENOMEM;
		}
		for (; sw->nkids < r->spec.pool; sw->nkids++) {
			pid_t p = fork();

			if (p < 0) {
				snprintf(w->err, POOL_ERRLEN, "server: fork of a prefork child: %s", strerror(errno));
				return -errno;
			}
			if (p == 0)
				prefork_child(sh, r->spec.size, self);
			sw->kids[sw->nkids] = p;
		}
	}
	if (m->model == MODEL_EPOLL) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL }; /* NULL: the listener */

		if (fcntl(sh->lfd, F_SETFL, fcntl(sh->lfd, F_GETFL) | O_NONBLOCK) < 0 ||
		    (sw->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
		    epoll_ctl(sw->epfd, EPOLL_CTL_ADD, sh->lfd, &ev) < 0) {
			snprintf(w->err, POOL_ERRLEN, "server: epoll: %s", strerror(errno));
			return -errno;
		}
	}
	return 0;
}

static void server_teardown(struct pool_worker *w)
{
	const struct case_run *r = w->arg;
	struct srv_shared *sh = r->fam;
	struct srv_worker *sw = w->priv;

	if (!sw)
		return;
	if (sw->nkids)
		shutdown(sh->lfd, SHUT_RDWR); /* every prefork child's accept returns */
	for (unsigned i = 0; i < sw->nkids; i++)
		if (sw->kids[i] > 0) {
			int st;

			kill(sw->kids[i], SIGKILL); /* one may be serving still */
			while (waitpid(sw->kids[i], &st, 0) < 0 && errno == EINTR)
				;
		}
	if (sw->epfd >= 0)
		close(sw->epfd);
	free(sw->kids);
	free(sw->buf);
	free(sw);
	w->priv = NULL;
}

/* fork per connection: the server reaps every child in the round. */
static int run_fork(struct pool_worker *w, struct srv_shared *sh, uint64_t n, size_t size, bool threads)
{
	pid_t self = getpid();
	uint64_t live = 0;
	int st;

	for (uint64_t c = 0; c < n; c++) {
		int fd = accept4(sh->lfd, NULL, NULL, SOCK_CLOEXEC);
		pid_t p;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED) {
				c--;
				continue;
			}
			snprintf(w->err, POOL_ERRLEN, "server: accept: %s", strerror(errno));
			return -errno;
		}
		p = fork();
		if (p == 0) {
			uint8_t *buf = malloc(size);
			long k;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != self || !buf)
				_exit(1);
			/* Clients that are threads of this process: drop the
			 * copies of their ends, or a closing client is never
			 * seen (its end stays open here). */
			if (threads && ((fd > 3 && close_range(3, (unsigned)fd - 1, 0) < 0) ||
					close_range((unsigned)fd + 1, ~0u, 0) < 0))
				_exit(1);
			k = serve(fd, buf, size);
			atomic_fetch_add(&sh->cpu_ns, cpu_of(CLOCK_PROCESS_CPUTIME_ID));
			_exit(k < 0 ? 1 : 0);
		}
		close(fd);
		if (p < 0) {
			snprintf(w->err, POOL_ERRLEN, "server: fork: %s", strerror(errno));
			return -errno;
		}
		live++;
		/* Reap whoever finished (no zombie piles up). */
		for (pid_t q; live && (q = waitpid(-1, &st, WNOHANG)) > 0; live--)
			served_one(sh, WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	for (; live; live--) {
		while (waitpid(-1, &st, 0) < 0)
			if (errno != EINTR) {
				snprintf(w->err, POOL_ERRLEN, "server: waitpid: %s", strerror(errno));
				return -errno;
			}
		served_one(sh, WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	return 0;
}

static int run_thread(struct pool_worker *w, struct srv_shared *sh, uint64_t n, size_t size,
		      struct srv_worker *sw)
{
	pthread_attr_t attr;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (uint64_t c = 0; c < n; c++) {
		struct conn_thread *ct = malloc(sizeof(*ct));
		pthread_t t;
		int fd = accept4(sh->lfd, NULL, NULL, SOCK_CLOEXEC), e;

		if (fd < 0 || !ct) {
			int err = fd < 0 ? errno : ENOMEM;

			free(ct);
			if (fd >= 0)
				close(fd);
			if (err == EINTR || err == ECONNABORTED) {
				c--;
				continue;
			}
			pthread_attr_destroy(&attr);
			snprintf(w->err, POOL_ERRLEN, "server: accept: %s", strerror(err));
			return -err;
		}
		*ct = (struct conn_thread){ sh, fd, size };
		if ((e = pthread_create(&t, &attr, conn_thread, ct)) != 0) {
			close(fd);
			free(ct);
			pthread_attr_destroy(&attr);
			snprintf(w->err, POOL_ERRLEN, "server: pthread_create: %s", strerror(e));
			return -e;
		}
	}
	pthread_attr_destroy(&attr);
	return wait_served(w, sh, n, sw);
}

/* One connection of the epoll loop: a request being read, then echoed. */
struct ep_conn {
	int fd;
	size_t pos;     /* bytes read (reading) or written (writing) */
	bool writing;
	uint8_t buf[];
};

static void ep_close(int epfd, struct ep_conn *c, struct srv_shared *sh, bool ok)
{
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
	served_one(sh, ok);
}

/* Advance one connection as far as it goes without waiting. */
static void ep_step(int epfd, struct ep_conn *c, struct srv_shared *sh, size_t size)
{
	for (;;) {
		ssize_t k;

		if (!c->writing) {
			k = read(c->fd, c->buf + c->pos, size - c->pos);
			if (k == 0 || (k < 0 && errno == ECONNRESET)) {
				ep_close(epfd, c, sh, c->pos == 0); /* clean only between requests */
				return;
			}
			if (k < 0) {
				if (errno != EAGAIN && errno != EINTR)
					ep_close(epfd, c, sh, false);
				return;
			}
			if ((c->pos += (size_t)k) == size)
				c->writing = true, c->pos = 0;
		} else {
			k = send(c->fd, c->buf + c->pos, size - c->pos, MSG_NOSIGNAL);
			if (k < 0) {
				if (errno == EAGAIN) {
					struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };

					epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
				} else if (errno != EINTR) {
					ep_close(epfd, c, sh, false);
				}
				return;
			}
			if ((c->pos += (size_t)k) == size) {
				struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };

				c->writing = false, c->pos = 0;
				epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
			}
		}
	}
}

static int run_epoll(struct pool_worker *w, struct srv_shared *sh, uint64_t n, size_t size, struct srv_worker *sw)
{
	struct epoll_event evs[EPOLL_BATCH];

	while (atomic_load(&sh->done) < n) {
		int k = epoll_wait(sw->epfd, evs, EPOLL_BATCH, -1);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			snprintf(w->err, POOL_ERRLEN, "server: epoll_wait: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < k; i++) {
			if (evs[i].data.ptr == NULL) {
				int fd;

				while ((fd = accept4(sh->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
					struct ep_conn *c = malloc(sizeof(*c) + size);
					struct epoll_event ev = { .events = EPOLLIN };

					if (!c) {
						close(fd);
						served_one(sh, false);
						continue;
					}
					c->fd = fd, c->pos = 0, c->writing = false;
					ev.data.ptr = c;
					epoll_ctl(sw->epfd, EPOLL_CTL_ADD, fd, &ev);
					ep_step(sw->epfd, c, sh, size);
				}
				continue;
			}
			ep_step(sw->epfd, evs[i].data.ptr, sh, size);
		}
	}
	return 0;
}

static int client_fail(struct pool_worker *w, int fd, const char *what, int err)
{
	if (fd >= 0)
		close(fd);
	snprintf(w->err, POOL_ERRLEN, "server: client %u: %s: %s", w->id, what, strerror(err));
	return -err;
}

/* A client: its share of the n requests, a new connection every R. */
static int client(struct pool_worker *w, const struct wl_cmd *cmd, struct wl_slot *out, struct srv_worker *sw)
{
	const struct case_run *r = w->arg;
	struct srv_shared *sh = r->fam;
	struct hist *conn = &sh->conn[w->id];
	uint64_t share = client_share(cmd->n, r->spec.pool, w->id - 1), nreq = r->spec.axis[AXIS_REQ];
	size_t size = r->spec.size;
	bool tcp = r->spec.axis[AXIS_TRANSPORT] == TRANSPORT_TCP;
	int rc;

	hist_init(conn);
	for (uint64_t done = 0, c = 0; done < share; c++) {
		uint64_t t0 = clk_now_ns(), todo = share - done < nreq ? share - done : nreq;
		int fd = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

		if (fd < 0)
			return client_fail(w, -1, "socket", errno);
		while (connect(fd, (const struct sockaddr *)&sh->addr, sh->alen) < 0)
			if (errno != EINTR)
				return client_fail(w, fd, "connect", errno);
		if (tcp)
			setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (uint64_t q = 0; q < todo; q++) {
			uint64_t seq = (c << 20) ^ q ^ ((uint64_t)w->id << 56), t1;
			ssize_t got;

			memset(sw->buf, (int)(q & 0xff), size);
			memcpy(sw->buf, &seq, sizeof(seq));
			memcpy(sw->buf + size - sizeof(seq), &seq, sizeof(seq));
			t1 = clk_now_ns();
			if ((rc = write_full(fd, sw->buf, size)) < 0)
				return client_fail(w, fd, "send a request", -rc);
			memset(sw->buf, 0, size);
			if ((got = read_full(fd, sw->buf, size)) <= 0)
				return client_fail(w, fd, "receive the echo", got == 0 ? EPIPE : (int)-got);
			hist_record(&out->lat, clk_now_ns() - t1);
			if (memcmp(sw->buf, &seq, sizeof(seq)) != 0 ||
			    memcmp(sw->buf + size - sizeof(seq), &seq, sizeof(seq)) != 0)
				return client_fail(w, fd, "an echo that is not its request", EPROTO);
			out->bytes += size;
			out->received++;
			wl_tick(out, out->received);
		}
		if (tcp) { /* end with a reset: no TIME_WAIT piles up over a run */
			struct linger lg = { .l_onoff = 1, .l_linger = 0 };

			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		}
		close(fd);
		hist_record(conn, clk_now_ns() - t0);
		done += todo;
	}
	return 0;
}

static int server_round(struct pool_worker *w, const struct wl_cmd *cmd, struct wl_slot *out)
{
	const struct case_run *r = w->arg;
	const struct server_model *m = r->spec.subject.table;
	struct srv_shared *sh = r->fam;
	struct srv_worker *sw = w->priv;
	uint64_t c0, conns;
	int rc = 0;

	if (w->id != 0)
		return client(w, cmd, out, sw);
	conns = round_connections(cmd->n, r->spec.pool, r->spec.axis[AXIS_REQ]);
	c0 = cpu_of(CLOCK_THREAD_CPUTIME_ID);
	switch (m->model) {
	case MODEL_FORK:
		rc = run_fork(w, sh, conns, r->spec.size, pool_backend_shares_memory(r->spec.workers));
		break;
	case MODEL_PREFORK:
		rc = wait_served(w, sh, conns, sw);
		break;
	case MODEL_THREAD:
		rc = run_thread(w, sh, conns, r->spec.size, sw);
		break;
	case MODEL_EPOLL:
		rc = run_epoll(w, sh, conns, r->spec.size, sw);
		break;
	}
	atomic_fetch_add(&sh->cpu_ns, cpu_of(CLOCK_THREAD_CPUTIME_ID) - c0);
	if (rc == 0 && atomic_load(&sh->failed)) {
		snprintf(w->err, POOL_ERRLEN, "server: %u connection%s ended in the middle of a request",
			 atomic_load(&sh->failed), atomic_load(&sh->failed) == 1 ? "" : "s");
		return -EPIPE;
	}
	return rc;
}

/* After a round (every worker idle): the counters, then a fresh start. */
static void server_counters(const struct case_run *r, struct case_round *out)
{
	struct srv_shared *sh = r->fam;
	struct hist *conn = malloc(sizeof(*conn));
	double conns = (double)round_connections(out->n, r->spec.pool, r->spec.axis[AXIS_REQ]);

	if (conn) {
		hist_init(conn);
		for (unsigned i = 1; i < r->nprocs; i++)
			hist_merge(conn, &sh->conn[i]);
		case_round_counter(out, "conn_p50_ns", (double)hist_percentile(conn, 50));
		free(conn);
	}
	case_round_counter(out, "connections_per_s", out->elapsed_ns ? conns * 1e9 / (double)out->elapsed_ns : 0);
	case_round_counter(out, "server_cpu_ns_per_req", out->n ? (double)atomic_load(&sh->cpu_ns) / (double)out->n : 0);
	atomic_store(&sh->done, 0);
	atomic_store(&sh->failed, 0);
	atomic_store(&sh->cpu_ns, 0);
}

static const struct wl_engine server_engine = {
	.prepare = server_prepare,
	.create = server_create,
	.started = server_started,
	.destroy = server_destroy,
	.talks = server_talks,
	.setup = server_setup,
	.round = server_round,
	.teardown = server_teardown,
	.counters = server_counters,
};

/* The quick profile's subset (make bench stays under 10 minutes). */
static const char *const quick[] = { "fork-per-conn", "prefork", NULL };

const struct workload wl_server = {
	.name = "server",
	.summary = "N clients connect to one server, R echo requests each (axes transport:NAME, req:R)",
	.family = &family_server,
	.latency = WL_LAT_OPERATION,
	.pool_axis = true,
	.procs_text = "N+1 (and the server's children)",
	.procs = server_procs,
	.roles = "0: the server (its model's children or threads serve); 1..N: clients, one connection per iteration",
	.delivered = server_delivered,
	.sizes = WL_SIZES_POOL,
	.quick_max_pool = 1,
	.engine = &server_engine,
	.quick_subjects = quick,
	.axes = server_axes,
	.tiny_round = 200,
};
