// SPDX-License-Identifier: GPL-2.0
/* Rows folded away (over max_rows, a pid reused): per (name, errno,
 * family, cgroup) in `expired`, so totals stay monotonic in bounded memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "accounts.h"
#include "accounts_internal.h"
#include "util.h"

/* ---- rows folded away: per (name, errno, family, cgroup) ---- */

static uint64_t expired_hash(const struct pw_row *e)
{
	uint64_t h = pw_comm_hash(e->base.comm) ^
		     ((uint64_t)e->key.err << 16 | e->key.family) * PW_GOLDEN64 ^
		     e->base.cgroup_id * 0xc2b2ae3d27d4eb4full;

	return h ^ h >> 29;
}

static bool expired_eq(const struct pw_row *x, const struct pw_row *y)
{
	return x->key.err == y->key.err && x->key.family == y->key.family &&
	       x->base.cgroup_id == y->base.cgroup_id &&
	       !memcmp(x->base.comm, y->base.comm, PW_COMM_LEN);
}

struct expired_key {
	const struct pw_row *rows;
	const struct pw_row *probe;
};

static enum pw_htab_slot expired_classify(const void *slot, const void *key)
{
	uint32_t row = *(const uint32_t *)slot;
	const struct expired_key *ek = key;

	if (!row)
		return PW_HT_EMPTY;
	return expired_eq(&ek->rows[row - 1], ek->probe) ? PW_HT_MATCH : PW_HT_TAKEN;
}

/* probe's slot in the index: its row's (*found) or the empty one for it. */
static uint32_t *expired_slot(const struct pw_accounts *a, const struct pw_row *probe, bool *found)
{
	struct expired_key ek = { a->expired, probe };

	return pw_htab_find(&a->expired_index, expired_hash(probe), expired_classify, &ek, found);
}

static struct pw_row *expired_find(const struct pw_accounts *a, const struct pw_row *probe)
{
	uint32_t *slot;
	bool found;

	if (!a->expired_index.slots)
		return NULL;
	slot = expired_slot(a, probe, &found);
	return found ? &a->expired[*slot - 1] : NULL;
}

static struct pw_row *expired_add(struct pw_accounts *a, const struct pw_row *probe)
{
	size_t slots = a->expired_index.slots ? pw_htab_slots(&a->expired_index) : 0;
	bool found;

	if (pw_rows_room(&a->expired, a->nexpired, &a->expired_cap, 16))
		return NULL;
	if ((a->nexpired + 1) * 2 > slots &&
	    pw_rows_index_make(&a->expired_index, slots ? slots * 2 : 64, a->expired, a->nexpired,
			       expired_hash))
		return NULL;
	a->expired[a->nexpired] = *probe;
	*(uint32_t *)pw_htab_find(&a->expired_index, expired_hash(probe), pw_rows_index_used, NULL,
				  &found) = ++a->nexpired;
	return &a->expired[a->nexpired - 1];
}


/* The folded rows of names no longer tracked go to PW_OTHER_COMM's rows
 * (merged with those of the same errno, family and cgroup), in place: the
 * index is rebuilt, nothing allocated. */
void pw_accounts_fold_untracked(struct pw_accounts *a)
{
	char other[PW_COMM_LEN];
	size_t n = 0;

	if (!a->nexpired)
		return;
	pw_comm_key(other, PW_OTHER_COMM);
	pw_htab_clear(&a->expired_index);
	for (size_t i = 0; i < a->nexpired; i++) {
		struct pw_row *r = &a->expired[i];
		uint32_t *slot;
		bool found;

		if (r->key.err && memcmp(r->base.comm, other, PW_COMM_LEN) &&
		    !pw_accounts_comm_find(a, r->base.comm))
			memcpy(r->base.comm, other, PW_COMM_LEN);
		slot = expired_slot(a, r, &found);
		if (found) {
			struct pw_row *e = &a->expired[*slot - 1];

			e->base.count += r->base.count;
			e->base.scans += r->base.scans;
			e->base.scan_ns += r->base.scan_ns;
			r->in_kernel = true;	/* merged: taken out below */
		} else {
			*slot = i + 1;
		}
	}
	for (size_t i = 0; i < a->nexpired; i++)
		if (!a->expired[i].in_kernel)
			a->expired[n++] = a->expired[i];
	a->nexpired = n;
	pw_rows_index_fill(&a->expired_index, a->expired, n, expired_hash);
}

int pw_accounts_fold_row(struct pw_accounts *a, const struct pw_row *r)
{
	struct pw_proc_val t;
	struct pw_row probe, *e;

	pw_row_total(r, &t);
	memset(&probe, 0, sizeof(probe));
	probe.key = r->key;
	probe.key.tgid = 0;
	/* failures under their name if it is tracked, else (and every
	 * success) under PW_OTHER_COMM: as many names as tracked */
	if (r->key.err && pw_accounts_comm_find(a, t.comm))
		pw_comm_key(probe.base.comm, t.comm);
	else
		pw_comm_key(probe.base.comm, PW_OTHER_COMM);
	/* kept per cgroup too (the per-workload counters stay monotonic), up
	 * to PW_EXPIRED_CGROUPS rows; beyond, new ones per name only */
	probe.base.cgroup_id = t.cgroup_id;
	e = expired_find(a, &probe);
	if (!e && a->nexpired >= PW_EXPIRED_CGROUPS && probe.base.cgroup_id) {
		probe.base.cgroup_id = 0;
		e = expired_find(a, &probe);
	}
	if (!e && !(e = expired_add(a, &probe)))
		return -ENOMEM;
	e->base.count += t.count;
	e->base.scans += t.scans;
	e->base.scan_ns += t.scan_ns;
	return 0;
}

/* Over max_rows: fold the rows of processes gone longest into `expired`. */
static int fold_exited(struct pw_accounts *a, uint64_t now)
{
	uint64_t age = PW_EXPIRE_NS;
	size_t kept;
	int err;

	while (a->n > a->max_rows) {
		kept = 0;
		for (size_t i = 0; i < a->n; i++) {
			struct pw_row *r = &a->rows[i];

			if (r->exited_ns && !r->in_kernel && now - r->exited_ns >= age) {
				err = pw_accounts_fold_row(a, r);
				if (err)
					return err;
				continue;
			}
			a->rows[kept++] = *r;
		}
		a->n = kept;
		if (!age)
			break;	/* only live processes left */
		age /= 4;
		if (age < 1000000000)
			age = 0;
	}
	return 0;
}

/* A row's place in the order live rows are folded in: its process's
 * failures (fewest first), then its pid. */
struct fold_rank {
	size_t i;
	uint32_t tgid;
	uint64_t failures;
};

static int cmp_rank_tgid(const void *x, const void *y)
{
	const struct fold_rank *p = x, *q = y;

	return (p->tgid > q->tgid) - (p->tgid < q->tgid);
}

static int cmp_rank_fold(const void *x, const void *y)
{
	const struct fold_rank *p = x, *q = y;

	if (p->failures != q->failures)
		return p->failures < q->failures ? -1 : 1;
	return cmp_rank_tgid(x, y);
}

/* Still over max_rows with live processes only: fold whole processes, those
 * with the fewest failures first (successes only: none), down to 7/8 of
 * max_rows, so this runs seldom. A process with a row in a kernel map is
 * kept (need_drain: nothing is read-then-deleted from a map programs write
 * to, which would lose their increments in between on kernels without
 * lookup-and-delete); once drained it can be folded. The process counts
 * from 0 in a new row if it connects again. The top failers keep theirs. */
static int fold_live(struct pw_accounts *a)
{
	size_t target = a->max_rows - a->max_rows / 8, n = a->n, kept = 0, left = n;
	struct fold_rank *v = calloc(n ? n : 1, sizeof(*v));
	bool *gone = calloc(n ? n : 1, sizeof(*gone));
	bool skipped = false;
	int err = 0;

	a->need_drain = false;
	if (!v || !gone) {
		err = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].i = i;
		v[i].tgid = a->rows[i].key.tgid;
	}
	qsort(v, n, sizeof(*v), cmp_rank_tgid);
	for (size_t i = 0, j; i < n; i = j) {
		uint64_t sum = 0;
		struct pw_proc_val t;

		for (j = i; j < n && v[j].tgid == v[i].tgid; j++) {
			if (!a->rows[v[j].i].key.err)
				continue;
			pw_row_total(&a->rows[v[j].i], &t);
			sum += t.count;
		}
		for (size_t k = i; k < j; k++)
			v[k].failures = sum;
	}
	qsort(v, n, sizeof(*v), cmp_rank_fold);
	/* a process at a time (its rows are next to each other) */
	for (size_t i = 0, j; i < n && left > target && !err; i = j) {
		bool in_kernel = false;

		for (j = i; j < n && v[j].tgid == v[i].tgid; j++)
			in_kernel |= a->rows[v[j].i].in_kernel;
		/* pid 0 rows are not a process: (unattributed) stays whole */
		if (in_kernel || !v[i].tgid) {
			skipped |= in_kernel;
			continue;
		}
		for (size_t k = i; k < j && !err; k++) {
			err = pw_accounts_fold_row(a, &a->rows[v[k].i]);
			if (!err) {
				gone[v[k].i] = true;
				left--;
			}
		}
		if (!err)
			a->live_folded++;
	}
	/* a drain helps only if the target was not reached without them */
	a->need_drain = skipped && left > target;
	for (size_t i = 0; i < n; i++)
		if (!gone[i])
			a->rows[kept++] = a->rows[i];
	a->n = kept;
out:
	free(v);
	free(gone);
	return err;
}

int pw_accounts_shrink(struct pw_accounts *a, uint64_t now)
{
	int err = fold_exited(a, now);

	a->need_drain = false;
	if (!err && a->n > a->max_rows)
		err = fold_live(a);
	/* the index is rebuilt even after an error: rows have moved */
	return pw_accounts_reindex(a, pw_accounts_index_slots(a)) ?: err;
}

