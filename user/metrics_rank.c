// SPDX-License-Identifier: GPL-2.0
/* Which series a collector shows when there are more than its cap: the top
 * failers, a shown one held against newcomers (no flapping between scrapes). */
#include <stdlib.h>
#include <string.h>
#include "metrics_internal.h"

/* A shown one counts double: one not shown takes its place only once it
 * has failed more than twice as often, so the shown set does not flap. */
static uint64_t rank_count(uint64_t v, bool shown)
{
	return !shown ? v : v > UINT64_MAX / 2 ? UINT64_MAX : v * 2;
}

/* The top failers first: EADDRNOTAVAIL, then all failures, then the lower
 * pid or labels (stable). */
static int cmp_contender(const void *a, const void *b)
{
	const struct pw_contender *x = *(const struct pw_contender *const *)a;
	const struct pw_contender *y = *(const struct pw_contender *const *)b;
	uint64_t xe = rank_count(x->eaddr, x->was_shown), ye = rank_count(y->eaddr, y->was_shown);
	uint64_t xf = rank_count(x->fails, x->was_shown), yf = rank_count(y->fails, y->was_shown);

	if (xe != ye)
		return xe > ye ? -1 : 1;
	if (xf != yf)
		return xf > yf ? -1 : 1;
	if (x->labels)
		return strcmp(x->labels, y->labels);
	return (x->tgid > y->tgid) - (x->tgid < y->tgid);
}

/* Mark the max of the n contenders to show; returns how many are left out. */
size_t pw_contenders_pick(struct pw_contender *c, size_t n, size_t max)
{
	struct pw_contender **order;

	if (n <= max) {
		for (size_t i = 0; i < n; i++)
			c[i].show = true;
		return 0;
	}
	order = calloc(n, sizeof(*order));
	if (!order)
		return n;	/* none shown: every one counted as left out */
	for (size_t i = 0; i < n; i++)
		order[i] = &c[i];
	qsort(order, n, sizeof(*order), cmp_contender);
	for (size_t i = 0; i < max; i++)
		order[i]->show = true;
	free(order);
	return n - max;
}

int pw_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Row i of the rows then the folded rows, its total in t; NULL for a row
 * of successes. */
const struct pw_row *pw_failure_row(const struct pw_accounts *a, size_t i, struct pw_proc_val *t)
{
	const struct pw_row *r = i < a->n ? &a->rows[i] : &a->expired[i - a->n];

	if (!r->key.err)
		return NULL;
	pw_row_total(r, t);
	return r;
}
