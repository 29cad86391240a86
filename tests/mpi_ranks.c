/*
 * mpi_ranks.c - the mpi mechanism between two MPI ranks (issue 17), run by
 * tests/mpi.t under `mpirun -n 2`.  Rank 0 creates every channel, exports
 * it as a line of text and broadcasts it; rank 1 imports it: the export /
 * import step of impl/ipc.h.  Only rank 0 prints (TAP).
 *
 *   mpi_ranks                 conformance: sizes byte-exact both ways,
 *                             order, end of stream, refusals (spin, hybrid)
 *   mpi_ranks --measure=N     conformance, then N timed round trips per
 *                             wait at 64 B and 64 KiB: one "# pingpong/mpi"
 *                             line each with p50_ns (a TAP comment)
 *   mpi_ranks --die-after=N   rank 1 kills itself (SIGKILL) after N
 *                             messages of a long exchange: the job must end
 *                             (mpirun's exit status says how)
 *
 * The dead-peer checks of the fork conformance suite do not apply: Open
 * MPI's default error handler ends the whole job when a peer dies, which is
 * what --die-after shows.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "clock.h"
#include "hist.h"
#include "ipc.h"

#define EXPORT_LEN 256
#define ORDER_MSGS 10000
#define LONG_EXCHANGE_MSGS 100000000ull
#define MEASURE_WARMUP 1000

struct rank_ctx {
	int rank;
	unsigned tests, failed;
	const struct ipc_ops *ops;
};

/* Rank 0's TAP line; rank 1's verdicts reach it through verdict(). */
static void tap(struct rank_ctx *x, int ok, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tap(struct rank_ctx *x, int ok, const char *fmt, ...)
{
	va_list ap;

	x->tests++;
	if (!ok)
		x->failed++;
	if (x->rank != 0)
		return;
	printf("%sok %u - mpi: ", ok ? "" : "not ", x->tests);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Both ranks' verdict on one check: ok only when both say ok. */
static int verdict(int mine)
{
	int all = 0;

	MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
	return all;
}

static void fill(unsigned char *b, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(seq * 131 + i * 7 + 1);
}

static int filled(const unsigned char *b, size_t n, uint64_t seq)
{
	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)(seq * 131 + i * 7 + 1))
			return 0;
	return 1;
}

/* The duplex link of a ping-pong: rank 0 creates 0->1 and 1->0 and
 * exports them; rank 1 imports them.  Each rank attaches its ends. */
struct link {
	void *chan[2]; /* [0]: 0->1, [1]: 1->0 */
	void *out, *in;
};

static int link_open(struct rank_ctx *x, struct link *l, enum ipc_wait wait, size_t max_msg, char *err)
{
	char text[2][EXPORT_LEN] = { "", "" };
	int rc = 0;

	memset(l, 0, sizeof(*l));
	if (x->rank == 0)
		for (int d = 0; d < 2 && !rc; d++) {
			struct ipc_params p = { .max_msg = max_msg, .senders = 1, .receivers = 1,
						.wait = wait, .timeout_ms = 20000,
						.send_rank = d, .recv_rank = 1 - d };

			rc = x->ops->create(&p, &l->chan[d], err);
			if (!rc)
				rc = x->ops->export_chan(l->chan[d], text[d], EXPORT_LEN, err);
		}
	MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD);
	if (rc)
		return rc;
	MPI_Bcast(text, sizeof(text), MPI_CHAR, 0, MPI_COMM_WORLD);
	if (x->rank != 0)
		for (int d = 0; d < 2 && !rc; d++)
			rc = x->ops->import_chan(text[d], &l->chan[d], err);
	if (!rc)
		rc = x->ops->attach(l->chan[x->rank], IPC_SEND, &l->out, err);
	if (!rc)
		rc = x->ops->attach(l->chan[1 - x->rank], IPC_RECV, &l->in, err);
	return verdict(rc == 0) ? 0 : (rc ? rc : -EPROTO);
}

static void link_close(struct rank_ctx *x, struct link *l)
{
	if (l->out)
		x->ops->detach(l->out);
	/* The peer's end-of-stream message: drained by the receiver. */
	if (l->in) {
		char c;

		(void)x->ops->recv(l->in, &c, 1);
		x->ops->detach(l->in);
	}
	for (int d = 0; d < 2; d++)
		if (l->chan[d])
			x->ops->destroy(l->chan[d]);
	memset(l, 0, sizeof(*l));
}

/* Rank 0 sends n messages of size bytes, rank 1 checks each and sends it
 * back, rank 0 checks the echo.  1 when every byte came back. */
static int pingpong_exact(struct rank_ctx *x, struct link *l, size_t size, unsigned n, unsigned char *buf)
{
	int ok = 1;

	for (unsigned k = 0; k < n && ok; k++) {
		ssize_t got;

		if (x->rank == 0) {
			fill(buf, size, k);
			ok = x->ops->send(l->out, buf, size) == 0;
			memset(buf, 0, size);
			got = ok ? x->ops->recv(l->in, buf, size) : -1;
			ok = got == (ssize_t)size && filled(buf, size, k);
		} else {
			got = x->ops->recv(l->in, buf, size);
			ok = got == (ssize_t)size && filled(buf, size, k);
			ok = ok && x->ops->send(l->out, buf, size) == 0;
		}
	}
	return ok;
}

static void check_sizes(struct rank_ctx *x, enum ipc_wait wait, unsigned char *buf)
{
	static const size_t sizes[] = { 1, 16, 64, 4096, 65536, 1 << 20 };
	const char *wn = ipc_wait_name(wait);

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char err[IPC_ERRLEN] = "";
		struct link l;
		int rc = link_open(x, &l, wait, sizes[i], err), ok = 0;

		if (!rc)
			ok = pingpong_exact(x, &l, sizes[i], 8, buf);
		link_close(x, &l);
		tap(x, verdict(!rc && ok), "size %zu byte-exact both ways between rank 0 and rank 1, exported and imported (%s)%s%s",
		    sizes[i], wn, rc ? ": " : "", err);
	}
}

static void check_order(struct rank_ctx *x, enum ipc_wait wait, unsigned char *buf)
{
	char err[IPC_ERRLEN] = "";
	struct link l;
	int rc = link_open(x, &l, wait, 16, err), ok = !rc;

	/* One way, rank 0 to rank 1, each message carrying its sequence. */
	for (uint64_t k = 0; ok && k < ORDER_MSGS; k++) {
		if (x->rank == 0) {
			memcpy(buf, &k, sizeof(k));
			ok = x->ops->send(l.out, buf, 16) == 0;
		} else {
			uint64_t seq = ~0ull;

			ok = x->ops->recv(l.in, buf, 16) == 16;
			memcpy(&seq, buf, sizeof(seq));
			ok = ok && seq == k;
		}
	}
	link_close(x, &l);
	tap(x, verdict(ok), "%d messages in order, none lost or duplicated (%s)", ORDER_MSGS,
	    ipc_wait_name(wait));
}

/* After the sender detached, the receiver's recv says -EPIPE. */
static void check_eof(struct rank_ctx *x, enum ipc_wait wait, unsigned char *buf)
{
	char err[IPC_ERRLEN] = "";
	struct link l;
	int rc = link_open(x, &l, wait, 64, err), ok = !rc;

	if (ok && x->rank == 0) {
		ok = x->ops->send(l.out, buf, 64) == 0;
		x->ops->detach(l.out);
		l.out = NULL;
	} else if (ok) {
		ok = x->ops->recv(l.in, buf, 64) == 64 && x->ops->recv(l.in, buf, 64) == -EPIPE;
		x->ops->detach(l.in);
		l.in = NULL;
	}
	link_close(x, &l);
	tap(x, verdict(ok), "recv says -EPIPE after the sender detached (%s)", ipc_wait_name(wait));
}

static void check_refusals(struct rank_ctx *x)
{
	struct ipc_params p = { .max_msg = 64, .senders = 1, .receivers = 1, .wait = IPC_WAIT_SPIN,
				.send_rank = 0, .recv_rank = 1 };
	char err[IPC_ERRLEN] = "";
	void *c = NULL;
	int rc;

	p.wait = IPC_WAIT_BLOCK;
	rc = x->ops->create(&p, &c, err);
	tap(x, verdict(rc == -ENOTSUP && strncmp(err, "mpi: ", 5) == 0), "block wait refused (-ENOTSUP, one line: %s)", err);
	p.wait = IPC_WAIT_SPIN;
	p.recv_rank = 0;
	rc = x->ops->create(&p, &c, err);
	tap(x, verdict(rc == -ENOTSUP), "both ends on one rank refused (%s)", err);
	p.recv_rank = 2;
	rc = x->ops->create(&p, &c, err);
	tap(x, verdict(rc == -ENOTSUP), "an end on a rank outside the job refused (%s)", err);
	p.recv_rank = 1;
	p.senders = 2;
	rc = x->ops->create(&p, &c, err);
	tap(x, verdict(rc == -ENOTSUP), "two senders on one channel refused (%s)", err);
	p.senders = 1;
	p.max_msg = ((size_t)16 << 20) + 1;
	rc = x->ops->create(&p, &c, err);
	tap(x, verdict(rc == -EMSGSIZE), "a size over caps.max_msg refused (%s)", err);
	rc = x->ops->import_chan("tag=7 nonsense", &c, err);
	tap(x, verdict(rc == -EINVAL), "a malformed export refused on import (%s)", err);
}

/* Timed round trips; rank 0 prints p50 as a TAP comment. */
static void measure(struct rank_ctx *x, enum ipc_wait wait, size_t size, unsigned n, unsigned char *buf)
{
	char err[IPC_ERRLEN] = "";
	struct hist *h = calloc(1, sizeof(*h));
	struct link l;
	int rc = link_open(x, &l, wait, size, err), ok = !rc && h;

	if (h)
		hist_init(h);
	for (unsigned k = 0; ok && k < MEASURE_WARMUP + n; k++) {
		if (x->rank == 0) {
			uint64_t t0 = clk_now_ns();

			ok = x->ops->send(l.out, buf, size) == 0 && x->ops->recv(l.in, buf, size) == (ssize_t)size;
			if (k >= MEASURE_WARMUP)
				hist_record(h, clk_now_ns() - t0);
		} else {
			ok = x->ops->recv(l.in, buf, size) == (ssize_t)size && x->ops->send(l.out, buf, size) == 0;
		}
	}
	link_close(x, &l);
	ok = verdict(ok);
	if (x->rank == 0 && ok)
		printf("# pingpong/mpi/%s size:%zu round trips=%u p50_ns=%llu p99_ns=%llu\n", ipc_wait_name(wait), size, n,
		       (unsigned long long)hist_percentile(h, 50.0), (unsigned long long)hist_percentile(h, 99.0));
	tap(x, ok, "%u timed round trips at %zu bytes (%s)%s%s", n, size, ipc_wait_name(wait), rc ? ": " : "", err);
	free(h);
}

/* Rank 1 dies by SIGKILL in the middle of a long exchange. */
static void die_mid_case(struct rank_ctx *x, unsigned long long after, unsigned char *buf)
{
	char err[IPC_ERRLEN] = "";
	struct link l;

	if (link_open(x, &l, IPC_WAIT_SPIN, 64, err))
		return;
	if (x->rank == 0)
		printf("# rank 1 dies after %llu messages\n", after), fflush(stdout);
	for (unsigned long long k = 0; k < LONG_EXCHANGE_MSGS; k++) {
		if (x->rank == 1 && k == after)
			raise(SIGKILL);
		if (x->rank == 0) {
			if (x->ops->send(l.out, buf, 64) || x->ops->recv(l.in, buf, 64) != 64)
				break;
		} else if (x->ops->recv(l.in, buf, 64) != 64 || x->ops->send(l.out, buf, 64)) {
			break;
		}
	}
	link_close(x, &l);
}

int main(int argc, char **argv)
{
	struct rank_ctx x = { 0 };
	unsigned long long die_after = 0;
	unsigned measure_n = 0;
	unsigned char *buf;
	int die = 0, size = 0;

	for (int i = 1; i < argc; i++) {
		if (sscanf(argv[i], "--measure=%u", &measure_n) == 1 && measure_n > 0)
			continue;
		if (sscanf(argv[i], "--die-after=%llu", &die_after) == 1) {
			die = 1;
			continue;
		}
		fprintf(stderr, "mpi_ranks: unknown argument '%s' (accepted: --measure=N with N >= 1, --die-after=N)\n", argv[i]);
		return 2;
	}
	MPI_Init(&argc, &argv);
	MPI_Comm_rank(MPI_COMM_WORLD, &x.rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	x.ops = ipc_find("mpi");
	if (size != 2 || !x.ops || !x.ops->export_chan) {
		if (x.rank == 0)
			fprintf(stderr, "mpi_ranks: run under mpirun -n 2 (have %d ranks)\n", size);
		MPI_Finalize();
		return 2;
	}
	buf = calloc(1, (size_t)1 << 20);
	if (!buf)
		MPI_Abort(MPI_COMM_WORLD, 1);
	if (die) {
		die_mid_case(&x, die_after, buf);
	} else {
		for (enum ipc_wait w = IPC_WAIT_SPIN; w <= IPC_WAIT_HYBRID; w++) {
			check_sizes(&x, w, buf);
			check_order(&x, w, buf);
			check_eof(&x, w, buf);
		}
		check_refusals(&x);
		if (measure_n)
			for (enum ipc_wait w = IPC_WAIT_SPIN; w <= IPC_WAIT_HYBRID; w++) {
				measure(&x, w, 64, measure_n, buf);
				measure(&x, w, 65536, measure_n, buf);
			}
		if (x.rank == 0)
			printf("1..%u\n", x.tests);
	}
	free(buf);
	MPI_Finalize();
	return x.failed ? 1 : 0;
}
