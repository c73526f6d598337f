// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/bpf.h>
#include "accounts.h"
#include "accounts_internal.h"
#include "output.h"
#include "util.h"

void pw_accounts_init(struct pw_accounts *a, size_t max_rows)
{
	memset(a, 0, sizeof(*a));
	a->max_rows = max_rows;
}

void pw_accounts_free(struct pw_accounts *a)
{
	free(a->rows);
	pw_htab_free(&a->index);
	free(a->expired);
	pw_htab_free(&a->expired_index);
	free(a->comms);
	pw_htab_free(&a->comm_index);
	memset(a, 0, sizeof(*a));
}

static uint64_t key_hash(const struct pw_proc_key *k)
{
	uint64_t h = (uint64_t)k->tgid * PW_GOLDEN64 ^
		     ((uint64_t)k->err << 16 | k->family) * 0xc2b2ae3d27d4eb4full;

	return h ^ h >> 29;
}

static uint64_t row_hash(const struct pw_row *r)
{
	return key_hash(&r->key);
}

static bool key_eq(const struct pw_proc_key *a, const struct pw_proc_key *b)
{
	return a->tgid == b->tgid && a->err == b->err && a->family == b->family;
}

struct row_key {
	const struct pw_row *rows;
	const struct pw_proc_key *k;
};

static enum pw_htab_slot row_classify(const void *slot, const void *key)
{
	uint32_t row = *(const uint32_t *)slot;
	const struct row_key *rk = key;

	if (!row)
		return PW_HT_EMPTY;
	return key_eq(&rk->rows[row - 1].key, rk->k) ? PW_HT_MATCH : PW_HT_TAKEN;
}

void pw_rows_index_fill(struct pw_htab *ix, const struct pw_row *rows, size_t n,
			uint64_t (*hash)(const struct pw_row *))
{
	bool found;

	pw_htab_clear(ix);
	for (size_t i = 0; i < n; i++)
		*(uint32_t *)pw_htab_find(ix, hash(&rows[i]), pw_rows_index_used, NULL, &found) = i + 1;
}

int pw_rows_index_make(struct pw_htab *ix, size_t cap, const struct pw_row *rows, size_t n,
		       uint64_t (*hash)(const struct pw_row *))
{
	struct pw_htab t;

	if (pw_htab_init(&t, cap, sizeof(uint32_t), 0))
		return -ENOMEM;
	pw_rows_index_fill(&t, rows, n, hash);
	pw_htab_free(ix);
	*ix = t;
	return 0;
}

int pw_accounts_reindex(struct pw_accounts *a, size_t cap)
{
	if (!cap) {
		pw_htab_free(&a->index);
		return 0;
	}
	return pw_rows_index_make(&a->index, cap, a->rows, a->n, row_hash);
}

static struct pw_row *find(const struct pw_accounts *a, const struct pw_proc_key *k)
{
	struct row_key rk = { a->rows, k };
	uint32_t *slot;
	bool found;

	if (!a->index.slots)
		return NULL;
	slot = pw_htab_find(&a->index, key_hash(k), row_classify, &rk, &found);
	return found ? &a->rows[*slot - 1] : NULL;
}

/* Room for one more row in *v (n used of *cap; doubles, from first). */
int pw_rows_room(struct pw_row **v, size_t n, size_t *cap, size_t first)
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
	size_t slots = pw_accounts_index_slots(a);
	bool found;

	if (pw_rows_room(&a->rows, a->n, &a->cap, 256))
		return NULL;
	/* keep the index at most half full */
	if ((a->n + 1) * 2 > slots && pw_accounts_reindex(a, slots ? slots * 2 : 512))
		return NULL;
	memset(&a->rows[a->n], 0, sizeof(a->rows[0]));
	a->rows[a->n].key = *k;
	a->rows[a->n].id = ++a->last_row_id;
	*(uint32_t *)pw_htab_find(&a->index, key_hash(k), pw_rows_index_used, NULL, &found) = ++a->n;
	return &a->rows[a->n - 1];
}

/* The row of k for outcomes that v describes, the newest at ts_ns (0: not
 * known, a kernel entry): found or added, and started again from 0 if its
 * pid was reused since. */
static int live_row(struct pw_accounts *a, const struct pw_proc_key *k,
		    const struct pw_proc_val *v, uint64_t ts_ns, struct pw_row **out)
{
	struct pw_row *r = find(a, k);

	if (k->err && pw_accounts_comm_admit(a, v->comm, !k->tgid))
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
		int err = pw_accounts_fold_row(a, r);

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

/* BPF_MAP_LOOKUP_AND_DELETE_ELEM on a hash map (5.14+): the value and the
 * deletion in one step, so nothing the kernel adds after the read is lost.
 * Older kernels refuse it (ENOTSUPP, 524, or EINVAL): then a lookup and a
 * delete, where an increment in between is lost (the process has exited,
 * so only a connect() still in flight can land there). */
#ifndef ENOTSUPP
#define ENOTSUPP 524	/* the kernel's, not in libc's errno.h */
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
