/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the accounts files only (accounts.c: the per-process table,
 * accounts_names.c: the tracked names, accounts_fold.c: rows folded away). */
#ifndef PW_ACCOUNTS_INTERNAL_H
#define PW_ACCOUNTS_INTERNAL_H

#include "accounts.h"

/* Room for one more row in *v (n used of *cap; doubles, from first). */
int pw_rows_room(struct pw_row **v, size_t n, size_t *cap, size_t first);
/* Rebuild the index of the rows with cap slots (0: none). 0 or -ENOMEM. */
int pw_accounts_reindex(struct pw_accounts *a, size_t cap);
/* An index of rows (`index`, `expired_index`): a slot holds a row + 1 as a
 * uint32_t, 0 = empty; probes reach the whole table, kept at most half
 * full, so a key always finds its row or an empty slot. */
/* ix emptied, then rows[0..n) put in it by hash (ix has room, nothing
 * allocated). */
void pw_rows_index_fill(struct pw_htab *ix, const struct pw_row *rows, size_t n,
			uint64_t (*hash)(const struct pw_row *));
/* ix made again with at least cap slots and filled so. 0 or -ENOMEM (ix
 * as it was). */
int pw_rows_index_make(struct pw_htab *ix, size_t cap, const struct pw_row *rows, size_t n,
		       uint64_t (*hash)(const struct pw_row *));
/* A slot of an index of uint32_t entries + 1 (the rows', the names'),
 * classified for inserting a key known not to be there: empty or taken. */
static inline enum pw_htab_slot pw_rows_index_used(const void *slot, const void *key)
{
	(void)key;
	return *(const uint32_t *)slot ? PW_HT_TAKEN : PW_HT_EMPTY;
}
/* A name failing for the first time is tracked while there is room;
 * -ENOMEM only when the table cannot be made. */
int pw_accounts_comm_admit(struct pw_accounts *a, const char *comm, bool always);
/* r's counts into `expired`, under its name if tracked, else PW_OTHER_COMM. */
int pw_accounts_fold_row(struct pw_accounts *a, const struct pw_row *r);
/* The folded rows of names no longer tracked go to PW_OTHER_COMM's. */
void pw_accounts_fold_untracked(struct pw_accounts *a);

#endif /* PW_ACCOUNTS_INTERNAL_H */
