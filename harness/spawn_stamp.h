/* spawn_stamp.h - the page a started child writes to (workloads/spawn.c
 * and the static helper it executes, helper/spawn_helper.c): the time of
 * the child's first instruction, and whether a child that is to be
 * terminated is ready (SIGTERM back at its default, dying with its
 * parent).  One writer (the child), one reader (the spawner). */
#ifndef IPCLAB_SPAWN_STAMP_H
#define IPCLAB_SPAWN_STAMP_H

#include <stdint.h>

/* What the child does after its stamp: leave at once (argv "exit"), or
 * wait to be terminated (argv "wait"). */
#define SPAWN_HELPER_EXIT "exit"
#define SPAWN_HELPER_WAIT "wait"
/* The helper's file name, next to ipclab (or the test programs' parent). */
#define SPAWN_HELPER_NAME "ipclab-spawn-helper"

struct spawn_stamp {
	uint64_t first_ns; /* CLOCK_MONOTONIC at the child's first statement */
	uint32_t ready;    /* 1: waiting to be terminated */
	uint32_t pad;
};

#endif
