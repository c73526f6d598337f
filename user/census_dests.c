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
 * of PW_FNV1A_INIT), over family, port and address in that order: kept, as
 * the sketch's columns, and so which destinations get a row past the cap,
 * depend on it. */
#define DEST_HASH_SEED	1469598103934665603ull

static uint64_t dest_hash(const struct pw_dest *k)
{
	uint64_t h = pw_fnv1a(DEST_HASH_SEED, &k->family, sizeof(k->family));

	h = pw_fnv1a(h, &k->port, sizeof(k->port));
	return pw_fnv1a(h, k->addr, sizeof(k->addr));
}

struct dest_key {
	const struct pw_census_dest *dests;
	const struct pw_dest *d;
};

/* A slot of the index: a dest index + 1, 0 = empty. */
static enum pw_htab_slot dest_classify(const void *slot, const void *key)
{
	uint32_t i = *(const uint32_t *)slot;
	const struct dest_key *k = key;

	if (!i)
		return PW_HT_EMPTY;
	return k && pw_dest_eq(&k->dests[i - 1].dest, k->d) ? PW_HT_MATCH : PW_HT_TAKEN;
}

/* Index every entry of o into the empty table ix. */
static void index_all(struct pw_htab *ix, const struct pw_census_ns *o)
{
	bool found;

	for (size_t i = 0; i < o->ndests; i++)
		*(uint32_t *)pw_htab_find(ix, dest_hash(&o->dests[i].dest), dest_classify, NULL,
					  &found) = i + 1;
}

static int index_grow(struct pw_dest_table *tb)
{
	size_t sz = tb->index.slots ? pw_htab_slots(&tb->index) * 2 : 64;
	struct pw_htab ix;

	if (pw_htab_init(&ix, sz, sizeof(uint32_t), 0))
		return -ENOMEM;
	index_all(&ix, tb->out);
	pw_htab_free(&tb->index);
	tb->index = ix;
	return 0;
}

/* A new entry for k at the end of out->dests; its index or -ENOMEM. */
static long append(struct pw_dest_table *tb, const struct pw_dest *k)
{
	struct pw_census_ns *o = tb->out;

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
	memset(&o->dests[o->ndests], 0, sizeof(o->dests[0]));
	o->dests[o->ndests].dest = *k;
	memset(&tb->acc[o->ndests], 0, sizeof(tb->acc[0]));
	return o->ndests++;
}

long pw_dests_get(struct pw_dest_table *tb, const struct pw_dest *k)
{
	struct dest_key key = { tb->out->dests, k };
	uint32_t *slot;
	bool found;
	long i;

	if ((tb->out->ndests + 1) * 2 > pw_htab_slots(&tb->index) && index_grow(tb))
		return -ENOMEM;
	slot = pw_htab_find(&tb->index, dest_hash(k), dest_classify, &key, &found);
	if (found)
		return *slot - 1;
	i = append(tb, k);
	if (i >= 0)
		*slot = i + 1;
	return i;
}

long pw_dests_find(const struct pw_dest_table *tb, const struct pw_dest *k)
{
	struct dest_key key = { tb->out->dests, k };
	uint32_t *slot;
	bool found;

	if (!tb->index.slots)
		return -1;
	slot = pw_htab_find(&tb->index, dest_hash(k), dest_classify, &key, &found);
	return found ? (long)*slot - 1 : -1;
}

/* Row row's column for a destination of hash h (dest_hash). */
static size_t sketch_col(uint64_t h, unsigned int row)
{
	h ^= PW_GOLDEN64 * (row + 1);

	h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
	return (h ^ (h >> 29)) & (SKETCH_COLS - 1);
}

static uint32_t sketch_est(const struct pw_dest_table *tb, uint64_t h);

/* Conservative update: only the counters at the estimate go up, so the
 * estimates stay close to the truth (never under it) with 200,000
 * destinations of one socket each. */
void pw_dests_sketch_add(struct pw_dest_table *tb, const struct pw_dest *k)
{
	uint64_t h = dest_hash(k);
	uint32_t e = sketch_est(tb, h);

	if (e == UINT32_MAX)
		return;
	for (unsigned int r = 0; r < SKETCH_ROWS; r++) {
		uint32_t *v = &tb->sketch[r * SKETCH_COLS + sketch_col(h, r)];

		if (*v < e + 1)
			*v = e + 1;
	}
}

static uint32_t sketch_est(const struct pw_dest_table *tb, uint64_t h)
{
	uint32_t e = UINT32_MAX;

	for (unsigned int r = 0; r < SKETCH_ROWS; r++) {
		uint32_t v = tb->sketch[r * SKETCH_COLS + sketch_col(h, r)];

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
	pw_htab_clear(&tb->index);
	index_all(&tb->index, o);
	return 0;
}

long pw_dests_admit(struct pw_dest_table *tb, const struct pw_dest *k)
{
	long i = pw_dests_find(tb, k);
	uint32_t e = 0;

	if (i >= 0)
		return i;
	if (tb->pass == PASS_ADMIT) {
		e = sketch_est(tb, dest_hash(k));
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
	pw_htab_clear(&tb->index);
}

void pw_dests_free(struct pw_dest_table *tb)
{
	if (tb->acc)
		for (size_t i = 0; i < tb->out->ndests; i++)
			free(tb->acc[i].holders.h);
	free(tb->acc);
	pw_htab_free(&tb->index);
	free(tb->sketch);
}
