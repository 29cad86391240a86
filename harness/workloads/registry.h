/* registry.h - every workload and every family, one line each.
 *
 * Adding a workload: write harness/workloads/NAME.c exporting
 * `const struct workload wl_NAME` (see workload.h, "HOW TO ADD A
 * WORKLOAD"), then add X(wl_NAME) below, where it should sort in --list.
 * Adding a family: X(family_NAME) in FAMILIES.
 */
#ifndef IPCLAB_WORKLOAD_REGISTRY_H
#define IPCLAB_WORKLOAD_REGISTRY_H

#define FAMILIES(X) \
	X(family_channel) \
	X(family_yardstick) \
	X(family_sync) \
	X(family_spawn) \
	X(family_server)

#define WORKLOADS(X) \
	X(wl_pingpong) \
	X(wl_stream) \
	X(wl_pairs) \
	X(wl_fanout) \
	X(wl_fanin) \
	X(wl_matrix) \
	X(wl_ring) \
	X(wl_cacheline) \
	X(wl_copyfloor) \
	X(wl_handoff) \
	X(wl_contend) \
	X(wl_barrier) \
	X(wl_counter) \
	X(wl_spawn) \
	X(wl_taskpool) \
	X(wl_server)

#endif
