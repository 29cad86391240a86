/* cpuinfo.c - facts about the CPU that hwloc does not give: a key of
 * /proc/cpuinfo, and whether (and under which hypervisor) we run virtualized
 * (cpuid leaf 0x40000000, /sys/hypervisor, DMI). */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "cpuinfo.h"

/* Value of the first "key<spaces>: value" line in /proc/cpuinfo, or false. */
bool cpuinfo_value(const char *key, char *out, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[4096];
	size_t klen = strlen(key);
	bool found = false;

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char *p = line + klen;

		if (strncmp(line, key, klen) != 0 || (*p != ' ' && *p != '\t' && *p != ':'))
			continue;
		p = strchr(p, ':');
		if (!p)
			continue;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		p[strcspn(p, "\n")] = '\0';
		snprintf(out, len, "%s", p);
		found = true;
	}
	fclose(f);
	return found;
}

/* First line of a small file, trailing blanks removed; false if unreadable
 * or empty. */
static bool read_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return false;
	if (!fgets(out, (int)len, f))
		out[0] = '\0';
	fclose(f);
	n = strlen(out);
	while (n && isspace((unsigned char)out[n - 1]))
		out[--n] = '\0';
	return n > 0;
}

/* Hypervisor name from CPUID leaf 0x40000000 (x86 only), or false. */
static bool cpuid_hypervisor(char *out, size_t len)
{
#if defined(__x86_64__) || defined(__i386__)
	static const struct { const char *sig, *name; } known[] = {
		{ "KVMKVMKVM", "KVM" },
		{ "Microsoft Hv", "Hyper-V" },
		{ "VMwareVMware", "VMware" },
		{ "XenVMMXenVMM", "Xen" },
		{ "TCGTCGTCGTCG", "QEMU (TCG)" },
		{ "bhyve bhyve ", "bhyve" },
		{ "VBoxVBoxVBox", "VirtualBox" },
		{ "ACRNACRNACRN", "ACRN" },
		{ " lrpepyh  vr", "Parallels" },
	};
	unsigned a, b, c, d;
	char sig[13];

	/* Leaf 1 ECX bit 31: running under a hypervisor. */
	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 31)))
		return false;
	__cpuid(0x40000000, a, b, c, d);
	memcpy(sig, &b, 4);
	memcpy(sig + 4, &c, 4);
	memcpy(sig + 8, &d, 4);
	sig[12] = '\0';
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(sig, known[i].sig) == 0) {
			snprintf(out, len, "%s", known[i].name);
			return true;
		}
	}
	for (int i = 0; i < 12; i++)
		if (!isprint((unsigned char)sig[i]))
			sig[i] = '\0';
	if (!sig[0])
		return false;
	snprintf(out, len, "%s", sig);
	return true;
#else
	(void)out;
	(void)len;
	return false;
#endif
}

/* DMI vendors that are virtual machines, and the name we give them. */
static bool dmi_hypervisor(char *out, size_t len)
{
	static const struct { const char *prefix, *name; } known[] = {
		{ "QEMU", "QEMU" },
		{ "VMware", "VMware" },
		{ "Microsoft Corporation", "Hyper-V" },
		{ "Xen", "Xen" },
		{ "innotek", "VirtualBox" },
		{ "Amazon EC2", "Amazon EC2" },
		{ "Google", "Google Compute Engine" },
		{ "Parallels", "Parallels" },
	};
	char v[128];

	if (!read_line("/sys/class/dmi/id/sys_vendor", v, sizeof(v)))
		return false;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strncmp(v, known[i].prefix, strlen(known[i].prefix)) == 0) {
			snprintf(out, len, "%s", known[i].name);
			return true;
		}
	}
	return false;
}

void cpuinfo_virtualization(char *out, size_t len)
{
	char flags[4096], name[64];
	bool flag;

	if (!cpuinfo_value("flags", flags, sizeof(flags))) {
		/* Not x86 (or no /proc): only the sysfs hints remain. */
		if (read_line("/sys/hypervisor/type", name, sizeof(name)) ||
		    dmi_hypervisor(name, sizeof(name)))
			snprintf(out, len, "%s", name);
		else
			snprintf(out, len, "unknown");
		return;
	}
	flag = strstr(flags, " hypervisor") != NULL || strncmp(flags, "hypervisor", 10) == 0;
	if (cpuid_hypervisor(name, sizeof(name)) ||
	    read_line("/sys/hypervisor/type", name, sizeof(name)) ||
	    dmi_hypervisor(name, sizeof(name)))
		snprintf(out, len, "%s", name);
	else if (flag)
		snprintf(out, len, "yes (hypervisor not named)");
	else
		snprintf(out, len, "no");
}
