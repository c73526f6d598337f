// SPDX-License-Identifier: GPL-2.0
/* Sockets per workload and destination, the scan's interned strings (a
 * workload's labels, a cgroup path): see sockgauge_internal.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sockgauge_internal.h"
#include "util.h"

struct intern_ent {
	uint64_t h;
	uint32_t idx1;		/* index + 1; 0: empty */
	uint32_t val;
};

struct intern_key {
	const struct pw_intern *t;
	const char *s;
	uint64_t h;
};

static enum pw_htab_slot intern_classify(const void *slot, const void *key)
{
	const struct intern_ent *e = slot;
	const struct intern_key *k = key;

	if (!e->idx1)
		return PW_HT_EMPTY;
	return k && e->h == k->h && !strcmp(k->t->s[e->idx1 - 1], k->s) ? PW_HT_MATCH
									 : PW_HT_TAKEN;
}

static int intern_grow(struct pw_intern *t)
{
	size_t sz = t->ix.slots ? pw_htab_slots(&t->ix) * 2 : 64;
	struct pw_htab ix;
	bool found;

	if (pw_htab_init(&ix, sz, sizeof(struct intern_ent), 0))
		return -ENOMEM;
	for (size_t i = 0; t->ix.slots && i < pw_htab_slots(&t->ix); i++) {
		const struct intern_ent *e = pw_htab_at(&t->ix, i);

		if (e->idx1)
			*(struct intern_ent *)pw_htab_find(&ix, e->h, intern_classify, NULL,
							   &found) = *e;
	}
	pw_htab_free(&t->ix);
	t->ix = ix;
	return 0;
}

long pw_intern(struct pw_intern *t, const char *s, uint32_t val, bool *isnew)
{
	struct intern_key k = { t, s, pw_fnv1a_str(PW_FNV1A_INIT, s) };
	struct intern_ent *e;
	bool found;

	*isnew = false;
	if ((t->n + 1) * 2 > pw_htab_slots(&t->ix) && intern_grow(t))
		return -ENOMEM;
	e = pw_htab_find(&t->ix, k.h, intern_classify, &k, &found);
	if (found)
		return e->idx1 - 1;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **ns = realloc(t->s, cap * sizeof(*ns));
		uint32_t *nv;

		if (!ns)
			return -ENOMEM;
		t->s = ns;
		nv = realloc(t->val, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->val = nv;
		nv = realloc(t->val2, cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		t->val2 = nv;
		t->cap = cap;
	}
	t->s[t->n] = strdup(s);
	if (!t->s[t->n])
		return -ENOMEM;
	t->val[t->n] = val;
	t->val2[t->n] = val;
	e->h = k.h;
	e->idx1 = t->n + 1;
	*isnew = true;
	return t->n++;
}

void pw_intern_clear(struct pw_intern *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->s[i]);
	t->n = 0;
	if (t->ix.slots)
		pw_htab_clear(&t->ix);
}

void pw_intern_free(struct pw_intern *t)
{
	pw_intern_clear(t);
	free(t->s);
	free(t->val);
	free(t->val2);
	pw_htab_free(&t->ix);
}
