/*
 * t_kernel_smoke.c - a quick self-check of the kernel-backed mechanisms
 * (pipe, fifo, mqueue, unix-*, tcp) across fork.  The full suite over the
 * registry is t_conformance.c; this one only proves each table works:
 *
 *   NAME: round trip across fork (block, spin), byte-exact sizes up to max
 *   NAME: size 0 and over max refused, nothing sent
 *   NAME: message longer than the receive buffer refused, next one intact
 *   NAME: create refuses what caps exclude, with a message
 *   NAME: two senders share the channel (where caps allow)
 *   NAME: SIGKILLed receiver / sender seen within the timeout (block, spin)
 *   NAME: a peer that detaches is seen by a blocked child (no stray ends)
 *   NAME: exported (issue 17): a process that did not inherit the channel
 *         re-opens it from the export text; bad text refused; a Unix
 *         socket exported on another host (host name) refused, saying so
 *
 * Every test ends with no new ipclab object and no zombie.  Other test
 * programs may run at the same time, so the leak check looks only at what
 * this process can have made: names carrying its pid (mqueue, shm) and
 * everything under a private $TMPDIR (fifo directories).
 *
 * Why this file is long: each mechanism's table is checked across fork and,
 * since issue 17, re-opened from its export text; the leak checks and the
 * fork helpers at its top serve both.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ipc.h"
#include "testutil.h"

extern const struct ipc_ops ipc_pipe_ops;
extern const struct ipc_ops ipc_fifo_ops;
extern const struct ipc_ops ipc_mqueue_ops;
extern const struct ipc_ops ipc_unix_stream_ops;
extern const struct ipc_ops ipc_unix_dgram_ops;
extern const struct ipc_ops ipc_unix_seqpacket_ops;
extern const struct ipc_ops ipc_tcp_ops;

static const struct ipc_ops *const tables[] = {
	&ipc_pipe_ops, &ipc_fifo_ops, &ipc_mqueue_ops, &ipc_unix_stream_ops,
	&ipc_unix_dgram_ops, &ipc_unix_seqpacket_ops, &ipc_tcp_ops,
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))

/* Whole-test and child watchdogs: far above what any test needs (< 2 s). */
#define TEST_ALARM_S 60
#define CHILD_ALARM_S 30
/* hangup(): a child that misses its peer's exit is killed by this. */
#define HANGUP_ALARM_S 10
/* Peer-death tests: a send/recv that makes no progress gives up after this. */
#define PEER_TIMEOUT_MS 300
/* Sends into a queue whose reader died before a full buffer must fail. */
#define PEER_SEND_BOUND 1000000
/* Messages per sender in the shared-sender test. */
#define SHARED_MSGS 500
#define SHARED_SIZE 64

struct fx {
	const struct ipc_ops *o;
	struct ipc_caps caps;
	struct leak_snap before;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->o = *state;
	if (f->o->caps(&f->caps, NULL)) {
		free(f);
		return -1;
	}
	leak_snapshot(&f->before);
	alarm(TEST_ALARM_S);
	*state = f;
	return 0;
}

/* Private $TMPDIR of this run (no ipclab prefix: others' leak checks
 * must not see it). */
static char tmpdir[256];

/* New ipclab objects made by this process. */
static unsigned my_leaks(const struct leak_snap *before, char *out, size_t len)
{
	struct leak_snap *now = malloc(sizeof(*now));
	char pid[32], all[4096], *save = NULL, *tok;
	unsigned n = 0;
	size_t used = 0;

	if (!now)
		abort();
	leak_snapshot(now);
	leak_new(before, now, all, sizeof(all));
	free(now);
	snprintf(pid, sizeof(pid), "-%ld-", (long)getpid());
	out[0] = '\0';
	for (tok = strtok_r(all, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strstr(tok, pid) && strncmp(tok, tmpdir, strlen(tmpdir)) != 0)
			continue;
		n++;
		if (used < len)
			used += (size_t)snprintf(out + used, len - used, "%s ", tok);
	}
	return n;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;
	char names[1024];
	unsigned leaked = my_leaks(&f->before, names, sizeof(names));
	unsigned zombies = zombie_children();

	alarm(0);
	*state = (void *)f->o;
	free(f);
	if (leaked)
		fprintf(stderr, "# leaked: %s\n", names);
	if (zombies)
		fprintf(stderr, "# %u zombie children\n", zombies);
	return leaked || zombies ? -1 : 0;
}

static struct ipc_params params(size_t max_msg, enum ipc_wait w)
{
	struct ipc_params p = {
		.max_msg = max_msg, .senders = 1, .receivers = 1, .wait = w,
	};
	return p;
}

static void fill(unsigned char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(i * 31u + seed * 7u + (i >> 8));
}

static int check(const unsigned char *b, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)(i * 31u + seed * 7u + (i >> 8)))
			return 0;
	return 1;
}

static int wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Child: receive from `in`, send the same bytes back on `out`, n times. */
static void __attribute__((noreturn)) echo_child(const struct ipc_ops *o, void *in, void *out,
						 unsigned n, size_t cap)
{
	void *r, *s;
	char *buf = malloc(cap);
	ssize_t len;

	alarm(CHILD_ALARM_S);
	if (!buf || o->attach(in, IPC_RECV, &r, NULL) || o->attach(out, IPC_SEND, &s, NULL))
		_exit(3);
	for (unsigned i = 0; i < n; i++) {
		len = o->recv(r, buf, cap);
		if (len <= 0)
			_exit(4);
		if (o->send(s, buf, (size_t)len))
			_exit(5);
	}
	o->detach(r);
	o->detach(s);
	free(buf);
	_exit(0);
}

static void roundtrip(void **state)
{
	struct fx *f = *state;
	const struct ipc_ops *o = f->o;
	const size_t want[] = { 1, 16, 64, 4095, 4096, 4097, 65536, f->caps.max_msg };
	size_t sizes[sizeof(want) / sizeof(want[0])], max = f->caps.max_msg;
	unsigned n = 0;

	for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (want[i] <= max)
			sizes[n++] = want[i];
	for (int w = IPC_WAIT_BLOCK; w <= IPC_WAIT_SPIN; w++) {
		struct ipc_params p = params(max, (enum ipc_wait)w);
		unsigned char *tx = malloc(max), *rx = malloc(max);
		void *ping, *pong, *s, *r;
		char err[IPC_ERRLEN] = "";
		pid_t pid;

		assert_non_null(tx);
		assert_non_null(rx);
		assert_int_equal(o->create(&p, &ping, err), 0);
		assert_int_equal(o->create(&p, &pong, err), 0);
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			echo_child(o, ping, pong, n, max);
		assert_int_equal(o->attach(ping, IPC_SEND, &s, err), 0);
		assert_int_equal(o->attach(pong, IPC_RECV, &r, err), 0);
		o->forget(ping);
		o->forget(pong);
		for (unsigned i = 0; i < n; i++) {
			fill(tx, sizes[i], i + 1);
			memset(rx, 0, sizes[i]);
			assert_int_equal(o->send(s, tx, sizes[i]), 0);
			assert_int_equal(o->recv(r, rx, max), (ssize_t)sizes[i]);
			assert_true(check(rx, sizes[i], i + 1));
		}
		o->detach(s);
		o->detach(r);
		assert_int_equal(wait_child(pid), 0);
		o->destroy(ping);
		o->destroy(pong);
		free(tx);
		free(rx);
	}
}

/* In one process: attach both ends of one channel. */
static void open_local(const struct ipc_ops *o, struct ipc_params *p, void **c, void **s, void **r)
{
	char err[IPC_ERRLEN] = "";

	assert_int_equal(o->create(p, c, err), 0);
	assert_int_equal(o->attach(*c, IPC_SEND, s, err), 0);
	assert_int_equal(o->attach(*c, IPC_RECV, r, err), 0);
}

static void close_local(const struct ipc_ops *o, void *c, void *s, void *r)
{
	o->detach(s);
	o->detach(r);
	o->destroy(c);
}

static void bad_sizes(void **state)
{
	struct fx *f = *state;
	const struct ipc_ops *o = f->o;
	struct ipc_params p = params(64, IPC_WAIT_SPIN);
	unsigned char buf[128];
	void *c, *s, *r;

	p.timeout_ms = PEER_TIMEOUT_MS;
	open_local(o, &p, &c, &s, &r);
	fill(buf, sizeof(buf), 9);
	assert_int_equal(o->send(s, buf, 0), -EINVAL);
	assert_int_equal(o->send(s, buf, 65), -EMSGSIZE);
	/* Nothing was queued: the receiver times out. */
	assert_int_equal(o->recv(r, buf, sizeof(buf)), -ETIMEDOUT);
	assert_int_equal(o->send(s, buf, 64), 0);
	assert_int_equal(o->recv(r, buf, sizeof(buf)), 64);
	assert_true(check(buf, 64, 9));
	close_local(o, c, s, r);
}

static void short_buffer(void **state)
{
	struct fx *f = *state;
	const struct ipc_ops *o = f->o;
	struct ipc_params p = params(4096, IPC_WAIT_BLOCK);
	unsigned char big[4096], small[100];
	void *c, *s, *r;

	open_local(o, &p, &c, &s, &r);
	fill(big, sizeof(big), 1);
	assert_int_equal(o->send(s, big, sizeof(big)), 0);
	fill(big, 50, 2);
	assert_int_equal(o->send(s, big, 50), 0);
	assert_int_equal(o->recv(r, small, sizeof(small)), -EMSGSIZE);
	assert_int_equal(o->recv(r, small, sizeof(small)), 50);
	assert_true(check(small, 50, 2));
	close_local(o, c, s, r);
}

static void refusals(void **state)
{
	struct fx *f = *state;
	const struct ipc_ops *o = f->o;
	struct ipc_params p = params(f->caps.max_msg + 1, IPC_WAIT_BLOCK);
	char err[IPC_ERRLEN] = "";
	void *c = NULL;

	assert_int_equal(o->create(&p, &c, err), -EMSGSIZE);
	assert_true(strncmp(err, o->name, strlen(o->name) < 4 ? strlen(o->name) : 4) == 0);
	p = params(0, IPC_WAIT_BLOCK);
	assert_int_equal(o->create(&p, &c, err), -EINVAL);
	p = params(64, IPC_WAIT_HYBRID);
	err[0] = '\0';
	assert_int_equal(o->create(&p, &c, err), -ENOTSUP);
	assert_true(err[0] != '\0');
	if (!f->caps.max_shared_recv) {
		p = params(64, IPC_WAIT_BLOCK);
		p.receivers = 2;
		err[0] = '\0';
		assert_int_equal(o->create(&p, &c, err), -ENOTSUP);
		assert_non_null(strstr(err, "receiver"));
	}
	if (f->caps.max_shared_send < f->caps.max_msg) {
		p = params(f->caps.max_shared_send + 1, IPC_WAIT_BLOCK);
		p.senders = 2;
		assert_int_equal(o->create(&p, &c, err), -ENOTSUP);
	}
	if (f->caps.max_depth) {
		p = params(64, IPC_WAIT_BLOCK);
		p.depth = f->caps.max_depth + 1;
		err[0] = '\0';
		assert_int_equal(o->create(&p, &c, err), -EINVAL);
		assert_non_null(strstr(err, "depth"));
	}
	if (o == &ipc_mqueue_ops) {
		p = params(f->caps.max_msg + 1, IPC_WAIT_BLOCK);
		assert_int_equal(o->create(&p, &c, err), -EMSGSIZE);
		char want[128];
		unsigned long lim = 0;
		FILE *fp = fopen("/proc/sys/fs/mqueue/msgsize_max", "r");

		assert_non_null(fp);
		assert_int_equal(fscanf(fp, "%lu", &lim), 1);
		fclose(fp);
		snprintf(want, sizeof(want), "fs.mqueue.msgsize_max = %lu", lim);
		assert_non_null(strstr(err, want));
		snprintf(want, sizeof(want), "sysctl -w fs.mqueue.msgsize_max=%zu", p.max_msg);
		assert_non_null(strstr(err, want));
	}
}

static void __attribute__((noreturn)) send_child(const struct ipc_ops *o, void *c, unsigned id)
{
	unsigned char buf[SHARED_SIZE];
	void *s;

	alarm(CHILD_ALARM_S);
	if (o->attach(c, IPC_SEND, &s, NULL))
		_exit(3);
	for (unsigned i = 0; i < SHARED_MSGS; i++) {
		memset(buf, (int)id, sizeof(buf));
		memcpy(buf + 1, &i, sizeof(i));
		if (o->send(s, buf, sizeof(buf)))
			_exit(4);
	}
	o->detach(s);
	_exit(0);
}

static void shared_senders(void **state)
{
	struct fx *f = *state;
	const struct ipc_ops *o = f->o;
	struct ipc_params p = params(SHARED_SIZE, IPC_WAIT_BLOCK);
	unsigned next[2] = { 0, 0 };
	unsigned char buf[SHARED_SIZE];
	char err[IPC_ERRLEN] = "";
	pid_t pid[2];
	void *c, *r;

	if (f->caps.max_shared_send < SHARED_SIZE) {
		p.senders = 2;
		assert_int_equal(o->create(&p, &c, err), -ENOTSUP);
		return;
	}
	p.senders = 2;
	assert_int_equal(o->create(&p, &c, err), 0);
	fflush(NULL);
	for (unsigned k = 0; k < 2; k++) {
		pid[k] = fork();
		assert_true(pid[k] >= 0);
		if (pid[k] == 0)
			send_child(o, c, k + 1);
	}
	assert_int_equal(o->attach(c, IPC_RECV, &r, err), 0);
	o->forget(c);
	for (unsigned i = 0; i < 2 * SHARED_MSGS; i++) {
		unsigned id, seq;

		assert_int_equal(o->recv(r, buf, sizeof(buf)), SHARED_SIZE);
		id = buf[0];
		assert_true(id == 1 || id == 2);
		memcpy(&seq, buf + 1, sizeof(seq));
		assert_int_equal(seq, next[id - 1]);
		next[id - 1]++;
		for (unsigned j = 1 + sizeof(seq); j < SHARED_SIZE; j++)
			assert_int_equal(buf[j], id);
	}
	o->detach(r);
	assert_int_equal(wait_child(pid[0]), 0);
	assert_int_equal(wait_child(pid[1]), 0);
	o->destroy(c);
}

/* Child holding one end until killed; for a sender, one message first. */
static void __attribute__((noreturn)) idle_child(const struct ipc_ops *o, void *c, enum ipc_role role)
{
	unsigned char buf[64];
	void *e;

	alarm(CHILD_ALARM_S);
	if (o->attach(c, role, &e, NULL))
		_exit(3);
	fill(buf, sizeof(buf), 5);
	if (role == IPC_SEND && o->send(e, buf, sizeof(buf)))
		_exit(4);
	for (;;)
		pause();
}

static void peer_death(void **state)
{
	struct fx *f = *state;
	const struct ipc_ops *o = f->o;

	for (int w = IPC_WAIT_BLOCK; w <= IPC_WAIT_SPIN; w++) {
		for (int role = IPC_SEND; role <= IPC_RECV; role++) {
			struct ipc_params p = params(64, (enum ipc_wait)w);
			unsigned char buf[64];
			char err[IPC_ERRLEN] = "";
			void *c, *e;
			pid_t pid;
			long n = 0;
			int ret;

			p.timeout_ms = PEER_TIMEOUT_MS;
			assert_int_equal(o->create(&p, &c, err), 0);
			fflush(NULL);
			pid = fork();
			assert_true(pid >= 0);
			if (pid == 0)
				idle_child(o, c, role == IPC_SEND ? IPC_RECV : IPC_SEND);
			assert_int_equal(o->attach(c, (enum ipc_role)role, &e, err), 0);
			o->forget(c);
			if (role == IPC_RECV) /* the child is attached once this arrives */
				assert_int_equal(o->recv(e, buf, sizeof(buf)), 64);
			kill(pid, SIGKILL);
			assert_int_equal(wait_child(pid), 128 + SIGKILL);
			fill(buf, sizeof(buf), 6);
			if (role == IPC_SEND) {
				while ((ret = o->send(e, buf, sizeof(buf))) == 0 && ++n < PEER_SEND_BOUND)
					;
			} else {
				ret = (int)o->recv(e, buf, sizeof(buf));
			}
			assert_true(ret == -EPIPE || ret == -ETIMEDOUT);
			o->detach(e);
			o->destroy(c);
		}
	}
}

/* Child of hangup(): attach role, then send or receive until an error;
 * exit 0 if it is what a vanished peer must give. */
static void __attribute__((noreturn)) hangup_child(const struct ipc_ops *o, void *c,
						   enum ipc_role role)
{
	unsigned char buf[64];
	void *e;
	long ret;

	alarm(HANGUP_ALARM_S);
	if (o->attach(c, role, &e, NULL))
		_exit(3);
	fill(buf, sizeof(buf), 3);
	if (role == IPC_SEND) {
		while ((ret = o->send(e, buf, sizeof(buf))) == 0)
			;
	} else {
		ret = o->recv(e, buf, sizeof(buf));
	}
	if (ret == -EPIPE)
		_exit(0);
	_exit(5);
}

/*
 * The parent detaches its end at once; the blocked child must see -EPIPE.
 * With pipes this holds only if the child's attach closed the other role's
 * inherited descriptor, and the parent's forget() closed its own; mqueue
 * and unix-dgram need their liveness pipes (fdio.h).
 */
static void hangup(void **state)
{
	struct fx *f = *state;
	const struct ipc_ops *o = f->o;
	for (int role = IPC_SEND; role <= IPC_RECV; role++) {
		struct ipc_params p = params(64, IPC_WAIT_BLOCK);
		char err[IPC_ERRLEN] = "";
		void *c, *e;
		pid_t pid;

		p.timeout_ms = PEER_TIMEOUT_MS;
		assert_int_equal(o->create(&p, &c, err), 0);
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			hangup_child(o, c, role == IPC_SEND ? IPC_RECV : IPC_SEND);
		assert_int_equal(o->attach(c, (enum ipc_role)role, &e, err), 0);
		o->forget(c);
		o->detach(e);
		assert_int_equal(wait_child(pid), 0);
		o->destroy(c);
	}
}

/* The exported-channel test: a message each way would need two channels;
 * one message from the importer to the creator shows the path works. */
#define EXPORT_TIMEOUT_MS 10000
#define EXPORT_TEXT_LEN 256

static void __attribute__((noreturn)) import_child(const struct ipc_ops *o, const char *text)
{
	unsigned char msg[SHARED_SIZE];
	char err[IPC_ERRLEN] = "";
	void *c = NULL, *e = NULL;
	int rc;

	alarm(CHILD_ALARM_S);
	fill(msg, sizeof(msg), 7);
	rc = o->import_chan(text, &c, err);
	if (rc == 0)
		rc = o->attach(c, IPC_SEND, &e, err);
	if (rc == 0)
		rc = o->send(e, msg, sizeof(msg));
	if (rc)
		fprintf(stderr, "# %s: importer: %d %s\n", o->name, rc, err);
	if (e)
		o->detach(e);
	if (c)
		o->destroy(c);
	_exit(rc ? 1 : 0);
}

/* text with its "host=VALUE" replaced by host=other (into out). */
static void other_host(const char *text, const char *other, char *out, size_t len)
{
	const char *sp = strchr(text, ' ');

	snprintf(out, len, "host=%s%s", other, sp ? sp : "");
}

static void exported(void **state)
{
	struct fx *f = *state;
	const struct ipc_ops *o = f->o;

	if (!o->export_chan) {
		skip(); /* no export step: skipped under ranks, with the reason */
		return;
	}
	for (int w = IPC_WAIT_BLOCK; w <= IPC_WAIT_SPIN; w++) {
		struct ipc_params p = params(SHARED_SIZE, (enum ipc_wait)w);
		unsigned char want[SHARED_SIZE], got[SHARED_SIZE];
		char err[IPC_ERRLEN] = "", text[EXPORT_TEXT_LEN], elsewhere[EXPORT_TEXT_LEN];
		void *c, *e, *ic = NULL;
		ssize_t n;
		pid_t pid;
		int rc;

		if (!(f->caps.waits & IPC_WAIT_BIT(w)))
			continue;
		p.exported = 1;
		p.timeout_ms = EXPORT_TIMEOUT_MS;
		assert_int_equal(o->create(&p, &c, err), 0);
		assert_int_equal(o->export_chan(c, text, sizeof(text), err), 0);
		/* Refusals first: nothing is made. */
		err[0] = '\0';
		rc = o->import_chan("nonsense", &ic, err);
		if (rc != -EINVAL || strncmp(err, o->name, strlen(o->name)) != 0)
			fail_msg("import of 'nonsense': %d '%s', want -EINVAL and a line naming %s", rc, err, o->name);
		if (strncmp(o->name, "unix-", 5) == 0) {
			other_host(text, "no-such-host.invalid", elsewhere, sizeof(elsewhere));
			err[0] = '\0';
			rc = o->import_chan(elsewhere, &ic, err);
			if (rc != -EHOSTUNREACH || !strstr(err, "creator's host only"))
				fail_msg("import on another host ('%s'): %d '%s', want -EHOSTUNREACH saying why",
					 elsewhere, rc, err);
		}
		fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			import_child(o, text);
		/* No forget before the importer is in: a fifo's creator keeps
		 * its write end until destroy, so its reader never sees an end
		 * of file before the importing writer opened it (fifo.c). */
		rc = o->attach(c, IPC_RECV, &e, err);
		if (rc)
			fail_msg("%s: creator's attach: %d %s", text, rc, err);
		fill(want, sizeof(want), 7);
		n = o->recv(e, got, sizeof(got));
		assert_int_equal(n, sizeof(got));
		assert_memory_equal(got, want, sizeof(want));
		assert_int_equal(wait_child(pid), 0);
		o->detach(e);
		o->destroy(c);
	}
}

#define NKINDS 8
static const struct {
	const char *what;
	void (*fn)(void **state);
} kinds[NKINDS] = {
	{ "round trip across fork (block, spin), byte-exact sizes up to max", roundtrip },
	{ "size 0 and over max refused, nothing sent", bad_sizes },
	{ "message longer than the receive buffer refused, next one intact", short_buffer },
	{ "create refuses what caps exclude, with a message", refusals },
	{ "two senders share the channel where caps allow (else refused)", shared_senders },
	{ "SIGKILLed peer seen within the timeout (block, spin)", peer_death },
	{ "a peer that detaches is seen by a blocked child (no stray ends)", hangup },
	{ "exported: re-opened by a process that did not inherit it (block, spin); bad text, another host refused", exported },
};

int main(void)
{
	static char names[NTABLES * NKINDS][160];
	struct CMUnitTest t[NTABLES * NKINDS];
	size_t n = 0;

	const char *tmp = getenv("TMPDIR");
	int ret;

	signal(SIGPIPE, SIG_IGN);
	snprintf(tmpdir, sizeof(tmpdir), "%s/kernel-smoke-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(tmpdir) || setenv("TMPDIR", tmpdir, 1)) {
		perror("kernel_smoke: private TMPDIR");
		return 1;
	}
	for (size_t i = 0; i < NTABLES; i++)
		for (size_t k = 0; k < NKINDS; k++, n++) {
			snprintf(names[n], sizeof(names[n]), "%s: %s", tables[i]->name, kinds[k].what);
			t[n] = (struct CMUnitTest){
				.name = names[n],
				.test_func = kinds[k].fn,
				.setup_func = fx_setup,
				.teardown_func = fx_teardown,
				.initial_state = (void *)tables[i],
			};
		}
	ret = tap_run("kernel_smoke", t, n);
	if (rmdir(tmpdir))
		fprintf(stderr, "# %s not empty: %s\n", tmpdir, strerror(errno));
	return ret;
}
