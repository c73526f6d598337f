// SPDX-License-Identifier: GPL-2.0
/* The census's destination table: exact up to PW_CENSUS_MAX_DESTS rows,
 * then a count-min sketch and a rising admission threshold (see
 * enum pw_census_pass). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "census_dests.h"
#include "util.h"

#define SKETCH_ROWS	4
#define SKETCH_COLS	65536	/* 4 x 65536 x 4 bytes = 1 MiB */

/* FNV-1a from a seed that is not the standard offset basis (a digit short
 * of PW_FNV1A_INIT): kept, as the sketch's columns, and so which
 * destinations get a row past the cap, depend on it. */
#define DEST_HASH_SEED	1469598103934665603ull

static uint64_t hash_bytes(const void *p, size_t n)
{
	return pw_fnv1a(DEST_HASH_SEED, p, n);
}

/* Index every entry of o into the empty table t of sz slots. */
static void dtab_index(uint32_t *t, size_t sz, const struct pw_census_ns *o)
{
	for (size_t i = 0; i < o->ndests; i++) {
		const struct pw_census_dest *d = &o->dests[i];
		struct pw_dkey k = { .family = d->family, .dport = d->dport };
		size_t j;

		memcpy(k.daddr, d->daddr, 16);
		for (j = hash_bytes(&k, sizeof(k)) & (sz - 1); t[j]; j = (j + 1) & (sz - 1))
			;
		t[j] = i + 1;
	}
}

static int dtab_grow(struct pw_dest_table *tb)
{
	size_t sz = tb->dtab_sz ? tb->dtab_sz * 2 : 64;
	uint32_t *t = calloc(sz, sizeof(*t));

	if (!t)
		return -ENOMEM;
	dtab_index(t, sz, tb->out);
	free(tb->dtab);
	tb->dtab = t;
	tb->dtab_sz = sz;
	return 0;
}

long pw_dests_get(struct pw_dest_table *tb, const struct pw_dkey *k)
{
	struct pw_census_ns *o = tb->out;
	struct pw_census_dest *d;
	size_t j;

	if ((o->ndests + 1) * 2 > tb->dtab_sz && dtab_grow(tb))
		return -ENOMEM;
	for (j = hash_bytes(k, sizeof(*k)) & (tb->dtab_sz - 1); tb->dtab[j];
	     j = (j + 1) & (tb->dtab_sz - 1)) {
		d = &o->dests[tb->dtab[j] - 1];
		if (d->family == k->family && d->dport == k->dport &&
		    !memcmp(d->daddr, k->daddr, 16))
			return tb->dtab[j] - 1;
	}
	if (o->ndests == tb->capd) {
		size_t cap = tb->capd ? tb->capd * 2 : 16;
		struct pw_census_dest *nd = realloc(o->dests, cap * sizeof(*nd));
		struct pw_dest_acc *na;

		if (!nd)
			return -ENOMEM;
		o->dests = nd;
		na = realloc(tb->acc, cap * sizeof(*na));
		if (!na)
			return -ENOMEM;
		tb->acc = na;
		tb->capd = cap;
	}
	d = &o->dests[o->ndests];
	memset(d, 0, sizeof(*d));
	d->family = k->family;
	d->dport = k->dport;
	memcpy(d->daddr, k->daddr, 16);
	memset(&tb->acc[o->ndests], 0, sizeof(tb->acc[0]));
	tb->dtab[j] = ++o->ndests;
	return o->ndests - 1;
}

long pw_dests_find(const struct pw_dest_table *tb, const struct pw_dkey *k)
{
	const struct pw_census_ns *o = tb->out;

	if (!tb->dtab_sz)
		return -1;
	for (size_t j = hash_bytes(k, sizeof(*k)) & (tb->dtab_sz - 1); tb->dtab[j];
	     j = (j + 1) & (tb->dtab_sz - 1)) {
		const struct pw_census_dest *d = &o->dests[tb->dtab[j] - 1];

		if (d->family == k->family && d->dport == k->dport &&
		    !memcmp(d->daddr, k->daddr, 16))
			return tb->dtab[j] - 1;
	}
	return -1;
}

static size_t sketch_col(const struct pw_dkey *k, unsigned int row)
{
	uint64_t h = hash_bytes(k, sizeof(*k)) ^ (PW_GOLDEN64 * (row + 1));

	h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
	return (h ^ (h >> 29)) & (SKETCH_COLS - 1);
}

static uint32_t sketch_est(const struct pw_dest_table *tb, const struct pw_dkey *k);

/* Conservative update: only the counters at the estimate go up, so the
 * estimates stay close to the truth (never under it) with 200,000
 * destinations of one socket each. */
void pw_dests_sketch_add(struct pw_dest_table *tb, const struct pw_dkey *k)
{
	uint32_t e = sketch_est(tb, k);

	if (e == UINT32_MAX)
		return;
	for (unsigned int r = 0; r < SKETCH_ROWS; r++) {
		uint32_t *v = &tb->sketch[r * SKETCH_COLS + sketch_col(k, r)];

		if (*v < e + 1)
			*v = e + 1;
	}
}

static uint32_t sketch_est(const struct pw_dest_table *tb, const struct pw_dkey *k)
{
	uint32_t e = UINT32_MAX;

	for (unsigned int r = 0; r < SKETCH_ROWS; r++) {
		uint32_t v = tb->sketch[r * SKETCH_COLS + sketch_col(k, r)];

		if (v < e)
			e = v;
	}
	return e;
}

static void fold_into(struct pw_census_dest *to, const struct pw_census_dest *d)
{
	to->held += d->held;
	to->reusable_time_wait += d->reusable_time_wait;
	for (unsigned int s = 0; s < PW_TCP_STATES; s++)
		to->states[s] += d->states[s];
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* PASS_ADMIT with a full table: raise the threshold to the entries' median
 * estimate (at least past the smallest), fold the entries under it into
 * "other" and index the rest again. */
static int raise_threshold(struct pw_dest_table *tb)
{
	struct pw_census_ns *o = tb->out;
	uint32_t *e = malloc(o->ndests * sizeof(*e)), t;
	size_t n = 0;

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < o->ndests; i++)
		e[i] = tb->acc[i].est;
	qsort(e, o->ndests, sizeof(*e), cmp_u32);
	t = e[o->ndests / 2] > e[0] ? e[o->ndests / 2] : e[0] + 1;
	free(e);
	tb->admit_min = t;
	for (size_t i = 0; i < o->ndests; i++) {
		if (tb->acc[i].est < t) {
			fold_into(&o->other, &o->dests[i]);
			free(tb->acc[i].holders.h);
			continue;
		}
		o->dests[n] = o->dests[i];
		tb->acc[n++] = tb->acc[i];
	}
	o->ndests = n;
	memset(tb->dtab, 0, tb->dtab_sz * sizeof(*tb->dtab));
	dtab_index(tb->dtab, tb->dtab_sz, o);
	return 0;
}

long pw_dests_admit(struct pw_dest_table *tb, const struct pw_dkey *k)
{
	long i = pw_dests_find(tb, k);
	uint32_t e = 0;

	if (i >= 0)
		return i;
	if (tb->pass == PASS_ADMIT) {
		e = sketch_est(tb, k);
		if (e < tb->admit_min)
			return -ENOSPC;
		if (tb->out->ndests >= tb->max_dests) {
			if (raise_threshold(tb))
				return -ENOMEM;
			if (e < tb->admit_min)
				return -ENOSPC;
		}
	} else if (tb->out->ndests >= tb->max_dests) {
		tb->overflow = true;
		return -ENOSPC;
	}
	i = pw_dests_get(tb, k);
	if (i >= 0)
		tb->acc[i].est = e;
	return i;
}

int pw_dests_sketch_new(struct pw_dest_table *tb)
{
	tb->sketch = calloc((size_t)SKETCH_ROWS * SKETCH_COLS, sizeof(*tb->sketch));
	return tb->sketch ? 0 : -ENOMEM;
}

void pw_dests_reset(struct pw_dest_table *tb)
{
	struct pw_census_ns *o = tb->out;

	if (tb->acc)
		for (size_t i = 0; i < o->ndests; i++)
			free(tb->acc[i].holders.h);
	o->ndests = 0;
	memset(&o->other, 0, sizeof(o->other));
	if (tb->dtab)
		memset(tb->dtab, 0, tb->dtab_sz * sizeof(*tb->dtab));
}

void pw_dests_free(struct pw_dest_table *tb)
{
	if (tb->acc)
		for (size_t i = 0; i < tb->out->ndests; i++)
			free(tb->acc[i].holders.h);
	free(tb->acc);
	free(tb->dtab);
	free(tb->sketch);
}
