/* registry.c - the workload and family registries, built from the one list
 * in registry.h, and the look-ups over them. */
#include <errno.h>
#include <string.h>

#include "registry.h"
#include "workload.h"

#define DECLARE(sym) extern const struct workload sym;
WORKLOADS(DECLARE)
#undef DECLARE
#define DECLARE(sym) extern const struct family sym;
FAMILIES(DECLARE)
#undef DECLARE

#define ENTRY(sym) &sym,
const struct workload *const wl_registry[] = { WORKLOADS(ENTRY) NULL };
const struct family *const family_registry[] = { FAMILIES(ENTRY) NULL };
#undef ENTRY

const struct workload *wl_find(const char *name)
{
	const struct workload *wl;

	wl_for_each(wl)
		if (strcmp(wl->name, name) == 0)
			return wl;
	return NULL;
}

const struct family *family_find(const char *name)
{
	const struct family *f;

	family_for_each(f)
		if (strcmp(f->name, name) == 0)
			return f;
	return NULL;
}

int subject_find(const char *name, struct subject *out)
{
	const struct family *f;

	family_for_each(f) {
		const void *t;

		for (unsigned i = 0; (t = f->member(i)) != NULL; i++)
			if (strcmp(f->member_name(t), name) == 0) {
				out->family = f;
				out->table = t;
				return 0;
			}
	}
	return -ENOENT;
}

const char *subject_name(const struct subject *s)
{
	return s->family && s->table ? s->family->member_name(s->table) : "none";
}
