/* SPDX-License-Identifier: GPL-2.0 */
/* One open-addressing hash table for every bounded table in portwatch. The
 * caller owns the bound: the number of slots (rounded up to a power of 2)
 * and how many slots one key may search (linear probing from its home slot).
 * A key that finds no room within its probes is the caller's to count or
 * fold, never a reason to grow: the tables face other users' input. The
 * slots hold the caller's entries (fixed size, zeroed at start); what an
 * entry means, empty, the key's, or another key's that may be replaced, the
 * caller says in a classify function, which pw_htab_find inlines. */
#ifndef PW_HASHTAB_H
#define PW_HASHTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pw_htab {
	unsigned char *slots;	/* (mask + 1) * esz bytes, calloc'd */
	size_t esz;
	size_t mask;
	size_t probes;		/* slots searched per key, at most mask + 1 */
};

/* What a slot is to the key searched. */
enum pw_htab_slot {
	PW_HT_EMPTY,	/* never used since the clear: the key is not further on */
	PW_HT_MATCH,	/* the key's */
	PW_HT_FREE,	/* another key's that may be replaced (expired, idle) */
	PW_HT_TAKEN,	/* another key's */
};

/* At least min_slots slots (a power of 2, 1 at least) of esz bytes, zeroed;
 * a key searches `probes` of them (0 or more than the table: all of them).
 * 0, -EINVAL (esz 0, or a size that overflows) or -ENOMEM. */
int pw_htab_init(struct pw_htab *t, size_t min_slots, size_t esz, size_t probes);
void pw_htab_free(struct pw_htab *t);
/* Every slot zeroed (empty again when zero means empty to the caller). */
void pw_htab_clear(struct pw_htab *t);

static inline size_t pw_htab_slots(const struct pw_htab *t)
{
	return t->mask + 1;
}

/* Slot i (modulo the table size). */
static inline void *pw_htab_at(const struct pw_htab *t, size_t i)
{
	return t->slots + (i & t->mask) * t->esz;
}

/* The search for `key` from home slot `h`, at most t->probes slots in order,
 * stopping at the first empty one. Returns the key's slot (*found = true);
 * else the first empty or free slot seen (*found = false: the caller fills
 * it in); else NULL: no room within reach. */
static inline void *pw_htab_find(const struct pw_htab *t, uint64_t h,
				 enum pw_htab_slot (*classify)(const void *slot, const void *key),
				 const void *key, bool *found)
{
	void *room = NULL;

	*found = false;
	for (size_t i = 0; i < t->probes; i++) {
		void *s = pw_htab_at(t, h + i);

		switch (classify(s, key)) {
		case PW_HT_EMPTY:
			return room ? room : s;
		case PW_HT_MATCH:
			*found = true;
			return s;
		case PW_HT_FREE:
			if (!room)
				room = s;
			break;
		case PW_HT_TAKEN:
			break;
		}
	}
	return room;
}

#endif /* PW_HASHTAB_H */
