// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "accounts.h"
#include "output.h"

#ifndef ENOTSUPP
#define ENOTSUPP 524	/* the kernel's, not in libc's errno.h */
#endif

void pw_accounts_init(struct pw_accounts *a, size_t max_rows)
{
	memset(a, 0, sizeof(*a));
	a->max_rows = max_rows;
}

void pw_accounts_free(struct pw_accounts *a)
{
	free(a->rows);
	free(a->index);
	free(a->expired);
	free(a->expired_index);
	free(a->comms);
	free(a->comm_index);
	free(a->comm_floor);
	free(a->cother);
	free(a->comm_prev);
	free(a->wl_shown);
	memset(a, 0, sizeof(*a));
}

static size_t key_hash(const struct pw_proc_key *k, size_t cap)
{
	uint64_t h = (uint64_t)k->tgid * 0x9e3779b97f4a7c15ull ^
		     ((uint64_t)k->err << 16 | k->family) * 0xc2b2ae3d27d4eb4full;

	return (h ^ h >> 29) & (cap - 1);
}

static bool key_eq(const struct pw_proc_key *a, const struct pw_proc_key *b)
{
	return a->tgid == b->tgid && a->err == b->err && a->family == b->family;
}

static int reindex(struct pw_accounts *a, size_t cap)
{
	uint32_t *idx = calloc(cap, sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < a->n; i++) {
		size_t h = key_hash(&a->rows[i].key, cap);

		while (idx[h])
			h = (h + 1) & (cap - 1);
		idx[h] = i + 1;
	}
	free(a->index);
	a->index = idx;
	a->index_cap = cap;
	return 0;
}

static struct pw_row *find(const struct pw_accounts *a, const struct pw_proc_key *k)
{
	if (!a->index_cap)
		return NULL;
	for (size_t h = key_hash(k, a->index_cap); a->index[h]; h = (h + 1) & (a->index_cap - 1)) {
		struct pw_row *r = &a->rows[a->index[h] - 1];

		if (key_eq(&r->key, k))
			return r;
	}
	return NULL;
}

/* Room for one more row in *v (n used of *cap; doubles, from first). */
static int room_for_row(struct pw_row **v, size_t n, size_t *cap, size_t first)
{
	size_t c = *cap ? *cap * 2 : first;
	struct pw_row *nv;

	if (n < *cap)
		return 0;
	nv = realloc(*v, c * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = c;
	return 0;
}

static struct pw_row *add(struct pw_accounts *a, const struct pw_proc_key *k)
{
	size_t h;

	if (room_for_row(&a->rows, a->n, &a->cap, 256))
		return NULL;
	/* keep the index at most half full */
	if ((a->n + 1) * 2 > a->index_cap &&
	    reindex(a, a->index_cap ? a->index_cap * 2 : 512))
		return NULL;
	memset(&a->rows[a->n], 0, sizeof(a->rows[0]));
	a->rows[a->n].key = *k;
	for (h = key_hash(k, a->index_cap); a->index[h]; h = (h + 1) & (a->index_cap - 1))
		;
	a->index[h] = ++a->n;
	return &a->rows[a->n - 1];
}

/* ---- the names with series of their own ---- */

#define COMM_INDEX_CAP	(4 * PW_COMM_SLOTS)	/* a power of 2, at most half full */

void pw_comm_key(char out[PW_COMM_LEN], const char *comm)
{
	const unsigned char *s = (const unsigned char *)comm;
	size_t n = pw_comm_len(comm), i = 0, o = 0;

	memset(out, 0, PW_COMM_LEN);
	while (i < n) {
		size_t l = pw_utf8_seq_len(s + i, n - i);

		/* both print as U+FFFD in a label */
		if (!l || (l == 3 && !memcmp(s + i, "\xef\xbf\xbd", 3))) {
			out[o++] = (char)0xff;
			i += l ? l : 1;
		} else {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		}
	}
}

static uint64_t comm_hash(const char key[PW_COMM_LEN])
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (int i = 0; i < PW_COMM_LEN; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ull;
	return h ^ h >> 32;
}

static size_t comm_slot(const struct pw_accounts *a, const char key[PW_COMM_LEN])
{
	size_t h = comm_hash(key) & (COMM_INDEX_CAP - 1);

	while (a->comm_index[h] && memcmp(a->comms[a->comm_index[h] - 1].name, key, PW_COMM_LEN))
		h = (h + 1) & (COMM_INDEX_CAP - 1);
	return h;
}

struct pw_comm *pw_accounts_comm_find(const struct pw_accounts *a, const char *comm)
{
	char key[PW_COMM_LEN];
	size_t h;

	if (!a->comm_index)
		return NULL;
	pw_comm_key(key, comm);
	h = comm_slot(a, key);
	return a->comm_index[h] ? &a->comms[a->comm_index[h] - 1] : NULL;
}

bool pw_accounts_comm_shown(const struct pw_accounts *a, const char *comm)
{
	const struct pw_comm *c = pw_accounts_comm_find(a, comm);

	return c && c->shown;
}

static int comms_alloc(struct pw_accounts *a)
{
	if (a->comm_index)
		return 0;
	a->comm_index = calloc(COMM_INDEX_CAP, sizeof(*a->comm_index));
	a->comm_floor = calloc(PW_COMM_FLOORS, sizeof(*a->comm_floor));
	if (!a->comm_index || !a->comm_floor) {
		free(a->comm_index);
		free(a->comm_floor);
		a->comm_index = NULL;
		a->comm_floor = NULL;
		return -ENOMEM;
	}
	return 0;
}

/* Room for one more tracked name (the table grows to PW_COMM_SLOTS + 1). */
static int comms_room(struct pw_accounts *a)
{
	size_t cap = a->comms_cap ? a->comms_cap * 2 : 64;
	struct pw_comm *nv;

	if (a->ncomms < a->comms_cap)
		return 0;
	if (cap > PW_COMM_SLOTS + 1)
		cap = PW_COMM_SLOTS + 1;
	nv = realloc(a->comms, cap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	a->comms = nv;
	a->comms_cap = cap;
	return 0;
}

/* Track comm if a slot is free. `always`: the pid 0 rows' name
 * (unattributed), pinned in one place of its own beyond PW_COMM_SLOTS, so
 * that no crowd of names can push it into PW_OTHER_COMM. */
static struct pw_comm *track(struct pw_accounts *a, const char *comm, bool always)
{
	char key[PW_COMM_LEN], other[PW_COMM_LEN];
	struct pw_comm *c;
	size_t h;

	if (comms_alloc(a))
		return NULL;
	pw_comm_key(key, comm);
	pw_comm_key(other, PW_OTHER_COMM);
	h = comm_slot(a, key);
	if (a->comm_index[h]) {
		c = &a->comms[a->comm_index[h] - 1];
		c->pinned |= always;
		return c;
	}
	if (!memcmp(key, other, PW_COMM_LEN) || a->ncomms >= PW_COMM_SLOTS + (size_t)always ||
	    comms_room(a))
		return NULL;
	c = &a->comms[a->ncomms];
	memset(c, 0, sizeof(*c));
	memcpy(c->name, key, PW_COMM_LEN);
	c->pinned = always;
	a->comm_index[h] = ++a->ncomms;
	return c;
}

/* A name failing for the first time is tracked while there is room (its
 * series take all its failures); ENOMEM only when the table cannot be made. */
static int admit_comm(struct pw_accounts *a, const char *comm, bool always)
{
	if (comms_alloc(a))
		return -ENOMEM;
	track(a, comm, always);
	return 0;
}

struct pw_comm *pw_accounts_comm_adopt(struct pw_accounts *a, const char *comm)
{
	struct pw_comm *c = pw_accounts_comm_find(a, comm);

	if (c)
		return c;
	c = track(a, comm, false);
	if (c)
		c->adopted = true;
	return c;
}

static size_t floor_slot(const char *name, uint16_t err, uint16_t family)
{
	uint64_t h = comm_hash(name) ^ ((uint64_t)err << 16 | family) * 0x9e3779b97f4a7c15ull;

	return (h ^ h >> 29) & (PW_COMM_FLOORS - 1);
}

uint64_t pw_accounts_comm_floor(const struct pw_accounts *a, const char *name, uint16_t err,
				uint16_t family)
{
	return a->comm_floor ? a->comm_floor[floor_slot(name, err, family)] : 0;
}

static void expired_other(struct pw_accounts *a);

int pw_accounts_comm_evict(struct pw_accounts *a, struct pw_comm *c)
{
	size_t i = c - a->comms;

	if (c->pinned)
		return -EINVAL;
	for (unsigned int k = 0; k < c->nseries; k++) {
		uint64_t *f = &a->comm_floor[floor_slot(c->name, c->s[k].err, c->s[k].family)];

		if (c->s[k].own > *f)
			*f = c->s[k].own;
		a->comm_evicted_own += c->s[k].own;
	}
	a->comms[i] = a->comms[--a->ncomms];
	memset(a->comm_index, 0, COMM_INDEX_CAP * sizeof(*a->comm_index));
	for (size_t j = 0; j < a->ncomms; j++)
		a->comm_index[comm_slot(a, a->comms[j].name)] = j + 1;
	return 0;
}

void pw_accounts_comm_compact(struct pw_accounts *a)
{
	expired_other(a);
}

/* ---- rows folded away: per (name, errno, family, cgroup) ---- */

static size_t expired_hash(const struct pw_row *e, size_t cap)
{
	uint64_t h = comm_hash(e->base.comm) ^
		     ((uint64_t)e->key.err << 16 | e->key.family) * 0x9e3779b97f4a7c15ull ^
		     e->base.cgroup_id * 0xc2b2ae3d27d4eb4full;

	return (h ^ h >> 29) & (cap - 1);
}

static bool expired_eq(const struct pw_row *x, const struct pw_row *y)
{
	return x->key.err == y->key.err && x->key.family == y->key.family &&
	       x->base.cgroup_id == y->base.cgroup_id &&
	       !memcmp(x->base.comm, y->base.comm, PW_COMM_LEN);
}

static struct pw_row *expired_find(const struct pw_accounts *a, const struct pw_row *probe)
{
	size_t m = a->expired_index_cap - 1;

	if (!a->expired_index_cap)
		return NULL;
	for (size_t h = expired_hash(probe, a->expired_index_cap); a->expired_index[h]; h = (h + 1) & m)
		if (expired_eq(&a->expired[a->expired_index[h] - 1], probe))
			return &a->expired[a->expired_index[h] - 1];
	return NULL;
}

static struct pw_row *expired_add(struct pw_accounts *a, const struct pw_row *probe)
{
	size_t m, h;

	if (room_for_row(&a->expired, a->nexpired, &a->expired_cap, 16))
		return NULL;
	if ((a->nexpired + 1) * 2 > a->expired_index_cap) {
		size_t cap = a->expired_index_cap ? a->expired_index_cap * 2 : 64;
		uint32_t *idx = calloc(cap, sizeof(*idx));

		if (!idx)
			return NULL;
		for (size_t i = 0; i < a->nexpired; i++) {
			for (h = expired_hash(&a->expired[i], cap); idx[h]; h = (h + 1) & (cap - 1))
				;
			idx[h] = i + 1;
		}
		free(a->expired_index);
		a->expired_index = idx;
		a->expired_index_cap = cap;
	}
	m = a->expired_index_cap - 1;
	for (h = expired_hash(probe, a->expired_index_cap); a->expired_index[h]; h = (h + 1) & m)
		;
	a->expired[a->nexpired] = *probe;
	a->expired_index[h] = ++a->nexpired;
	return &a->expired[a->nexpired - 1];
}

static int fold_expired(struct pw_accounts *a, const struct pw_row *r);

/* The folded rows of names no longer tracked go to PW_OTHER_COMM's rows
 * (merged with those of the same errno, family and cgroup), in place: the
 * index is rebuilt, nothing allocated. */
static void expired_other(struct pw_accounts *a)
{
	char other[PW_COMM_LEN];
	size_t m = a->expired_index_cap - 1, n = 0;

	if (!a->nexpired)
		return;
	pw_comm_key(other, PW_OTHER_COMM);
	memset(a->expired_index, 0, a->expired_index_cap * sizeof(*a->expired_index));
	for (size_t i = 0; i < a->nexpired; i++) {
		struct pw_row *r = &a->expired[i];
		size_t h;

		if (r->key.err && memcmp(r->base.comm, other, PW_COMM_LEN) &&
		    !pw_accounts_comm_find(a, r->base.comm))
			memcpy(r->base.comm, other, PW_COMM_LEN);
		for (h = expired_hash(r, a->expired_index_cap); a->expired_index[h]; h = (h + 1) & m)
			if (expired_eq(&a->expired[a->expired_index[h] - 1], r))
				break;
		if (a->expired_index[h]) {
			struct pw_row *e = &a->expired[a->expired_index[h] - 1];

			e->base.count += r->base.count;
			e->base.scans += r->base.scans;
			e->base.scan_ns += r->base.scan_ns;
			r->in_kernel = true;	/* merged: taken out below */
		} else {
			a->expired_index[h] = i + 1;
		}
	}
	for (size_t i = 0; i < a->nexpired; i++)
		if (!a->expired[i].in_kernel)
			a->expired[n++] = a->expired[i];
	a->nexpired = n;
	memset(a->expired_index, 0, a->expired_index_cap * sizeof(*a->expired_index));
	for (size_t i = 0; i < n; i++) {
		size_t h;

		for (h = expired_hash(&a->expired[i], a->expired_index_cap); a->expired_index[h];
		     h = (h + 1) & m)
			;
		a->expired_index[h] = i + 1;
	}
}

/* The row of k for outcomes that v describes, the newest at ts_ns (0: not
 * known, a kernel entry): found or added, and started again from 0 if its
 * pid was reused since. */
static int live_row(struct pw_accounts *a, const struct pw_proc_key *k,
		    const struct pw_proc_val *v, uint64_t ts_ns, struct pw_row **out)
{
	struct pw_row *r = find(a, k);

	if (k->err && admit_comm(a, v->comm, !k->tgid))
		return -ENOMEM;
	if (!r) {
		if (a->limit_rows && a->n >= a->limit_rows)
			return -ENOSPC;
		r = add(a, k);
		if (!r)
			return -ENOMEM;
	}
	*out = r;
	if (!r->in_kernel && r->exited_ns && ts_ns && ts_ns <= r->exited_ns) {
		/* events reach us up to a poll late: these outcomes happened
		 * before the pid was seen gone (or retired), so they are the
		 * old process's; a new process would have been there then */
	} else if (!r->in_kernel && r->exited_ns && r->idle &&
	    !memcmp(r->base.comm, v->comm, PW_COMM_LEN)) {
		/* foreign pids: an idle row's process connects again */
		r->exited_ns = 0;
		r->idle = false;
	} else if (!r->in_kernel && r->exited_ns) {
		/* the pid was reused by a new process: the old one's counts go
		 * to `expired` under its own name, the new one starts at 0 */
		int err = fold_expired(a, r);

		if (err)
			return err;
		memset(&r->base, 0, sizeof(r->base));
		r->exited_ns = 0;
		r->idle = false;
	}
	return 0;
}

static int update_row(struct pw_accounts *a, const struct pw_proc_key *k,
		      const struct pw_proc_val *v, int map_fd)
{
	struct pw_row *r;
	int err = live_row(a, k, v, 0, &r);

	if (err)
		return err;
	r->cur = *v;
	r->cur_fd = map_fd;
	r->in_kernel = true;
	return 0;
}

int pw_accounts_update(struct pw_accounts *a, const struct pw_proc_key *k,
		       const struct pw_proc_val *v)
{
	return update_row(a, k, v, -1);
}

/* Add v's counts to r's base; its labels stay the row's (see struct pw_row),
 * v's only for a row that has none yet. */
static void base_add(struct pw_row *r, const struct pw_proc_val *v)
{
	if (!r->base.comm[0])
		memcpy(r->base.comm, r->cur.comm[0] ? r->cur.comm : v->comm, PW_COMM_LEN);
	if (!r->base.cgroup_id)
		r->base.cgroup_id = r->cur.cgroup_id ? r->cur.cgroup_id : v->cgroup_id;
	r->base.count += v->count;
	r->base.scans += v->scans;
	r->base.scan_ns += v->scan_ns;
}

/* r's kernel entry is gone; `last` was its last value: all of it in base. */
static void retire_cur(struct pw_row *r, const struct pw_proc_val *last)
{
	base_add(r, last);
	memset(&r->cur, 0, sizeof(r->cur));
	r->in_kernel = false;
}

int pw_accounts_add(struct pw_accounts *a, const struct pw_proc_key *k,
		    const struct pw_proc_val *v, uint64_t ts_ns)
{
	struct pw_row *r;
	int err = live_row(a, k, v, ts_ns, &r);

	if (err)
		return err;
	base_add(r, v);
	if (ts_ns > r->event_ns)
		r->event_ns = ts_ns;
	r->active_ns = 0;	/* foreign pids: active now (retire_idle) */
	return 0;
}

int pw_accounts_merge(struct pw_accounts *a, const struct pw_accounts *from, uint64_t *lost)
{
	int first = 0;

	for (size_t i = 0; i < from->n; i++) {
		const struct pw_row *r = &from->rows[i];
		int err = pw_accounts_add(a, &r->key, &r->base, r->event_ns);

		if (err) {
			*lost += r->base.count;
			if (!first)
				first = err;
		}
	}
	return first;
}

void pw_row_total(const struct pw_row *r, struct pw_proc_val *out)
{
	*out = r->cur;
	out->count += r->base.count;
	out->scans += r->base.scans;
	out->scan_ns += r->base.scan_ns;
	/* the first labels, for life */
	if (r->base.comm[0])
		memcpy(out->comm, r->base.comm, PW_COMM_LEN);
	if (r->base.cgroup_id)
		out->cgroup_id = r->base.cgroup_id;
}

size_t pw_accounts_exited(struct pw_accounts *a, uint32_t tgid, uint64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++) {
		if (a->rows[i].key.tgid == tgid && !a->rows[i].exited_ns) {
			a->rows[i].exited_ns = now;
			n++;
		}
	}
	return n;
}

static int fold_expired(struct pw_accounts *a, const struct pw_row *r)
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

/* BPF_MAP_LOOKUP_AND_DELETE_ELEM on a hash map (5.14+): the value and the
 * deletion in one step, so nothing the kernel adds after the read is lost.
 * Older kernels refuse it (ENOTSUPP, 524, or EINVAL): then a lookup and a
 * delete, where an increment in between is lost (the process has exited,
 * so only a connect() still in flight can land there). */
#ifndef ENOTSUPP
#define ENOTSUPP 524
#endif
static bool lookup_then_delete;

void pw_accounts_use_lookup_then_delete(bool on)
{
	lookup_then_delete = on;
}

bool pw_accounts_lookup_and_delete_works(void)
{
	return !lookup_then_delete;
}

/* Remove key from the map and return its last value in v: 0, or -errno
 * (-ENOENT: not there). */
static int take_entry(int map_fd, const struct pw_proc_key *key, struct pw_proc_val *v)
{
	if (!lookup_then_delete) {
		if (!bpf_map_lookup_and_delete_elem(map_fd, key, v))
			return 0;
		if (errno != ENOTSUPP && errno != EINVAL && errno != EOPNOTSUPP)
			return -errno;
		lookup_then_delete = true;
	}
	if (bpf_map_lookup_elem(map_fd, key, v))
		return -errno;
	return bpf_map_delete_elem(map_fd, key) && errno != ENOENT ? -errno : 0;
}

/* Foreign pids: a row whose kernel entry has not changed for PW_EXPIRE_NS
 * is taken out of the kernel map (atomically with its last value, so a
 * connect racing with it is not lost) and kept here as idle. */
static void retire_idle(struct pw_row *r, int map_fd, uint64_t now)
{
	struct pw_proc_val v;

	if (!r->key.tgid)
		return;		/* pid 0 rows are not a process: never retired */
	if (!r->in_kernel) {
		/* counts in base only (drained, or from events): retired
		 * once nothing was added for as long */
		if (r->exited_ns)
			return;
		if (!r->active_ns) {
			r->active_ns = now;
		} else if (now - r->active_ns >= PW_EXPIRE_NS) {
			r->idle = true;
			r->exited_ns = now;
			r->active_ns = 0;
		}
		return;
	}
	if (!r->active_ns || r->cur.count != r->seen_count) {
		r->active_ns = now;
		r->seen_count = r->cur.count;
		return;
	}
	if (now - r->active_ns < PW_EXPIRE_NS)
		return;
	if (take_entry(map_fd, &r->key, &v))
		return;
	retire_cur(r, &v);
	r->idle = true;
	r->exited_ns = now;
	r->active_ns = 0;
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
				err = fold_expired(a, r);
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
			err = fold_expired(a, &a->rows[v[k].i]);
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
	return reindex(a, a->index_cap) ?: err;
}

int pw_accounts_sync(struct pw_accounts *a, int map_fd, uint64_t now, bool retire)
{
	struct pw_proc_key key, next;
	struct pw_proc_val val;
	void *prev = NULL;
	int err;

	a->kernel_entries = 0;
	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(map_fd, &key, &val))
			continue;
		a->kernel_entries++;
		err = update_row(a, &key, &val, map_fd);
		if (err)
			return err;
	}
	if (errno != ENOENT)
		return -errno;
	if (!retire)
		return 0;

	for (size_t i = 0; i < a->n; i++) {
		struct pw_row *r = &a->rows[i];

		if (a->foreign_pids) {
			retire_idle(r, map_fd, now);
			continue;
		}
		/* each row asks for itself: no pass over every row per pid */
		if (!r->exited_ns && kill(r->key.tgid, 0) && errno == ESRCH)
			r->exited_ns = now;
		/* a pid reused since: its new entry starts from 0 again */
		if (r->exited_ns && r->in_kernel) {
			struct pw_proc_val last;
			int e = take_entry(map_fd, &r->key, &last);

			if (e == -ENOENT) {
				last = r->cur;	/* deleted by someone else: what we read */
			} else if (e) {
				continue;	/* still there: next time */
			}
			retire_cur(r, &last);
		}
	}
	return a->n > a->max_rows ? pw_accounts_shrink(a, now) : 0;
}

int pw_accounts_drain(struct pw_accounts *a, int map_fd, uint64_t now)
{
	struct pw_proc_key *keys = NULL, *prev = NULL, next;
	size_t n = 0, cap = 0;
	int err = 0;

	/* the keys first: a hash map's next key after a deleted one is its
	 * first again, which would make the walk quadratic */
	while (bpf_map_get_next_key(map_fd, prev, &next) == 0) {
		if (n == cap) {
			size_t c = cap ? cap * 2 : 1024;
			struct pw_proc_key *k = realloc(keys, c * sizeof(*k));

			if (!k) {
				free(keys);
				return -ENOMEM;
			}
			keys = k;
			cap = c;
		}
		keys[n] = next;
		prev = &keys[n++];
	}
	if (errno != ENOENT)
		err = -errno;
	/* entry by entry: its row made, then the entry deleted, then its
	 * counts added (no program writes to the map: the value read is its
	 * last), so an error leaves every entry either all in base or all
	 * still in the map */
	for (size_t i = 0; i < n && !err; i++) {
		struct pw_proc_val v;
		struct pw_row *r;

		if (bpf_map_lookup_elem(map_fd, &keys[i], &v)) {
			if (errno != ENOENT)
				err = -errno;
			continue;
		}
		if ((err = live_row(a, &keys[i], &v, 0, &r)))
			break;
		if (bpf_map_delete_elem(map_fd, &keys[i]) && errno != ENOENT) {
			err = -errno;
			break;
		}
		if (a->foreign_pids) {
			/* still live: retired once idle (retire_idle), from
			 * when its count last changed */
			if (!r->active_ns || v.count != r->seen_count)
				r->active_ns = now;
			r->seen_count = 0;
		}
		if (r->in_kernel && r->cur_fd == map_fd) {
			/* v includes what cur showed */
			retire_cur(r, &v);
		} else {
			base_add(r, &v);	/* cur, if any, is another map's */
		}
	}
	free(keys);
	if (err)
		return err;
	/* rows read from this map whose entry someone else deleted: what was
	 * read is all there is */
	for (size_t i = 0; i < a->n; i++) {
		struct pw_row *r = &a->rows[i];

		if (r->in_kernel && r->cur_fd == map_fd) {
			struct pw_proc_val last = r->cur;

			retire_cur(r, &last);
		}
	}
	return 0;
}

int pw_accounts_procs(const struct pw_accounts *a, struct pw_procs *p)
{
	struct pw_proc_val t;
	int err;

	for (size_t i = 0; i < a->n; i++) {
		pw_row_total(&a->rows[i], &t);
		err = pw_procs_add(p, &a->rows[i].key, &t);
		if (err)
			return err;
	}
	/* one pid 0 row for every process folded away */
	for (size_t i = 0; i < a->nexpired; i++) {
		t = a->expired[i].base;
		memset(t.comm, 0, sizeof(t.comm));
		strcpy(t.comm, "(exited)");
		t.cgroup_id = 0;	/* of many processes */
		err = pw_procs_add(p, &a->expired[i].key, &t);
		if (err)
			return err;
	}
	return 0;
}
