/* spawn_helper.c - the tiny static program the spawn workload starts by
 * posix_spawn and by fork + exec (workloads/spawn.c).  Its first statement
 * reads the clock; the time goes into the stamp page, a memfd inherited as
 * descriptor argv[1].  argv[2] "exit": leave at once; "wait": take SIGTERM
 * back to its default (the spawner ignores it), die with the parent
 * (argv[3]: its pid), say so, and wait for the signal.
 * Usage: ipclab-spawn-helper FD exit|wait PARENT_PID.  Exit 0, or 2 on a
 * bad argument, 3 when the stamp cannot be mapped. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "spawn_stamp.h"

int main(int argc, char **argv)
{
	struct timespec ts;
	struct spawn_stamp *st;
	char *end;
	long fd;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (argc != 4)
		return 2;
	fd = strtol(argv[1], &end, 10);
	if (*end || fd < 0)
		return 2;
	st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	if (st == MAP_FAILED)
		return 3;
	__atomic_store_n(&st->first_ns, (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec,
			 __ATOMIC_RELEASE);
	if (strcmp(argv[2], SPAWN_HELPER_WAIT) != 0)
		_exit(0);
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != (pid_t)strtol(argv[3], NULL, 10))
		_exit(0); /* the spawner is already gone */
	__atomic_store_n(&st->ready, 1, __ATOMIC_RELEASE);
	for (;;)
		pause();
}
