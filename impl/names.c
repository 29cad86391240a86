/* names.c - unique IPC names and private directories. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "names.h"

static atomic_uint name_seq;

static uint32_t name_random(void)
{
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	/* No entropy yet: mix time and pid; O_EXCL still prevents reuse. */
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16);
}

int ipc_unique_name(char *buf, size_t len, const char *kind)
{
	unsigned seq = atomic_fetch_add(&name_seq, 1);
	int n = snprintf(buf, len, "/%s-%s-%ld-%u-%08x", IPC_NAME_PREFIX, kind,
			 (long)getpid(), seq, name_random());

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int ipc_private_dir(char *path, size_t len, const char *kind)
{
	const char *tmp = getenv("TMPDIR");
	int n;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	n = snprintf(path, len, "%s/%s-%s-XXXXXX", tmp, IPC_NAME_PREFIX, kind);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	if (!mkdtemp(path)) /* mkdtemp creates it 0700 */
		return -errno;
	return 0;
}
