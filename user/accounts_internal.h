/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the accounts files only (accounts.c: the per-process table,
 * accounts_names.c: the tracked names, accounts_fold.c: rows folded away). */
#ifndef PW_ACCOUNTS_INTERNAL_H
#define PW_ACCOUNTS_INTERNAL_H

#include "accounts.h"

/* Room for one more row in *v (n used of *cap; doubles, from first). */
int pw_rows_room(struct pw_row **v, size_t n, size_t *cap, size_t first);
/* Rebuild the index of the rows with cap slots. 0 or -ENOMEM. */
int pw_accounts_reindex(struct pw_accounts *a, size_t cap);
/* A name failing for the first time is tracked while there is room;
 * -ENOMEM only when the table cannot be made. */
int pw_accounts_comm_admit(struct pw_accounts *a, const char *comm, bool always);
/* r's counts into `expired`, under its name if tracked, else PW_OTHER_COMM. */
int pw_accounts_fold_row(struct pw_accounts *a, const struct pw_row *r);
/* The folded rows of names no longer tracked go to PW_OTHER_COMM's. */
void pw_accounts_fold_untracked(struct pw_accounts *a);

#endif /* PW_ACCOUNTS_INTERNAL_H */
