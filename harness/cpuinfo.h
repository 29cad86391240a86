/* cpuinfo.h - CPU facts hwloc does not give (cpuinfo.c). */
#ifndef IPCLAB_CPUINFO_H
#define IPCLAB_CPUINFO_H

#include <stdbool.h>
#include <stddef.h>

/* The value of the first "key : value" line of /proc/cpuinfo.  true when
 * found (out holds it), false otherwise. */
bool cpuinfo_value(const char *key, char *out, size_t len);

/* The hypervisor this runs under ("kvm", "bhyve", ...), "yes (hypervisor
 * not named)", "no", or "unknown" (no x86 flags and no sysfs hint). */
void cpuinfo_virtualization(char *out, size_t len);

#endif
