/* registry.c - the workload and family registries, built from the one list
 * in registry.h, and the look-ups over them. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
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

const char *wl_axis_format(const struct wl_axis *a, uint64_t v, char *buf, size_t len)
{
	if (a->words && v <= a->max)
		return a->words[v];
	if (v == 0 && a->zero_word)
		return a->zero_word;
	snprintf(buf, len, "%" PRIu64, v);
	return buf;
}

int wl_axis_parse(const struct wl_axis *a, const char *s, uint64_t *out)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	for (uint64_t i = 0; a->words && a->words[i]; i++)
		if (strcmp(s, a->words[i]) == 0) {
			*out = i;
			return 0;
		}
	if (a->words)
		return -EINVAL;
	if (a->zero_word && strcmp(s, a->zero_word) == 0) {
		*out = 0;
		return 0;
	}
	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (a->bytes && (*p == 'k' || *p == 'K'))
		mul = 1ull << 10, p++;
	else if (a->bytes && *p == 'M')
		mul = 1ull << 20, p++;
	else if (a->bytes && *p == 'G')
		mul = 1ull << 30, p++;
	if (*p)
		return -EINVAL;
	if (v > a->max / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}

const struct wl_axis *wl_axis_find(const char *key, size_t keylen)
{
	const struct workload *wl;

	wl_for_each(wl)
		for (const struct wl_axis *const *a = wl->axes; a && *a; a++)
			if (strlen((*a)->key) == keylen && strncmp((*a)->key, key, keylen) == 0)
				return *a;
	return NULL;
}
