// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/accounts.c: userspace totals of the kernel's
 * per-(tgid, errno, family) counters, rows that outlive their kernel entry,
 * and the per-process table built from them. pw_accounts_sync (and the
 * folding of old rows into `expired` it does over max_rows) needs a BPF map:
 * mostly `base` and `expired` are filled by hand instead; test_sync_retire
 * runs it on a real hash map (root only). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <cmocka.h>

#include "accounts.h"
#include "accounts_fixture.h"

static struct pw_row *row(struct pw_accounts *a, uint32_t tgid, uint16_t err, uint16_t family)
{
	struct pw_row *found = NULL;

	for (size_t i = 0; i < a->n; i++) {
		struct pw_row *r = &a->rows[i];

		if (r->key.tgid == tgid && r->key.err == err && r->key.family == family) {
			if (found)
				fail_msg("row (%u, %u, %u) is there twice", tgid, err, family);
			found = r;
		}
	}
	if (!found)
		fail_msg("row (%u, %u, %u) not found", tgid, err, family);
	return found;
}

static struct pw_proc_val total(struct pw_accounts *a, uint32_t tgid, uint16_t err, uint16_t family)
{
	struct pw_proc_val t;

	pw_row_total(row(a, tgid, err, family), &t);
	return t;
}

static const struct pw_proc *proc(const struct pw_procs *p, uint32_t pid)
{
	const struct pw_proc *found = NULL;

	for (size_t i = 0; i < p->n; i++) {
		if (p->v[i].pid == pid) {
			if (found)
				fail_msg("pid %u is there twice", pid);
			found = &p->v[i];
		}
	}
	if (!found)
		fail_msg("pid %u not found", pid);
	return found;
}

static uint64_t proc_err(const struct pw_proc *pr, int err)
{
	for (unsigned int i = 0; i < pr->nerrs; i++)
		if (pr->errs[i].err == err)
			return pr->errs[i].count;
	fail_msg("pid %u has no errno %d", pr->pid, err);
	return 0;
}

/* ---- init, update, totals ---- */

static void test_init_free(void **state)
{
	struct pw_accounts a;

	(void)state;
	memset(&a, 0xa5, sizeof(a));
	pw_accounts_init(&a, 123);
	assert_int_equal(a.max_rows, 123);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.nexpired, 0);
	assert_null(a.rows);
	assert_null(a.index.slots);
	assert_null(a.expired);

	fx_update(&a, 1, 0, AF_INET, 1, 0, 0, "x");
	assert_non_null(a.rows);
	assert_non_null(a.index.slots);
	pw_accounts_free(&a);
	assert_null(a.rows);
	assert_null(a.index.slots);
	assert_null(a.expired);
	assert_int_equal(a.n, 0);
	assert_int_equal(a.cap, 0);
	assert_int_equal(pw_accounts_index_slots(&a), 0);
	/* freeing twice is harmless */
	pw_accounts_free(&a);
}

static void test_update_creates_rows(void **state)
{
	struct pw_accounts a;
	struct pw_proc_val t;
	struct pw_row *r;

	(void)state;
	pw_accounts_init(&a, 1000);
	/* keys differing in one field each: all distinct rows */
	fx_update(&a, 100, 0, AF_INET, 10, 10, 600000, "curl");
	fx_update(&a, 100, 99, AF_INET, 15, 15, 2130000, "curl");
	fx_update(&a, 100, 99, AF_INET6, 5, 4, 1000, "curl");
	fx_update(&a, 200, 99, AF_INET, 1, 1, 77, "wget");
	fx_update(&a, 100, 111, AF_INET, 2, 0, 0, "curl");
	assert_int_equal(a.n, 5);

	r = row(&a, 100, 99, AF_INET);
	assert_true(r->in_kernel);
	assert_int_equal(r->exited_ns, 0);
	assert_int_equal(r->base.count, 0);
	assert_int_equal(r->cur.count, 15);

	t = total(&a, 100, 0, AF_INET);
	assert_int_equal(t.count, 10);
	assert_int_equal(t.scans, 10);
	assert_int_equal(t.scan_ns, 600000);
	assert_string_equal(t.comm, "curl");
	t = total(&a, 100, 99, AF_INET);
	assert_int_equal(t.count, 15);
	assert_int_equal(t.scans, 15);
	assert_int_equal(t.scan_ns, 2130000);
	t = total(&a, 100, 99, AF_INET6);
	assert_int_equal(t.count, 5);
	assert_int_equal(t.scans, 4);
	assert_int_equal(t.scan_ns, 1000);
	t = total(&a, 200, 99, AF_INET);
	assert_int_equal(t.count, 1);
	assert_string_equal(t.comm, "wget");
	t = total(&a, 100, 111, AF_INET);
	assert_int_equal(t.count, 2);
	assert_int_equal(t.scans, 0);
	pw_accounts_free(&a);
}

static void test_update_replaces_cur(void **state)
{
	struct pw_accounts a;
	struct pw_proc_val t;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 42, 99, AF_INET, 5, 5, 500, "curl");
	fx_update(&a, 7, 99, AF_INET, 1, 1, 1, "other");
	/* the kernel value is cumulative: the second read replaces the first */
	fx_update(&a, 42, 99, AF_INET, 8, 6, 900, "curl2");
	assert_int_equal(a.n, 2);
	t = total(&a, 42, 99, AF_INET);
	assert_int_equal(t.count, 8);
	assert_int_equal(t.scans, 6);
	assert_int_equal(t.scan_ns, 900);
	assert_string_equal(t.comm, "curl2");
	/* the other row is untouched */
	t = total(&a, 7, 99, AF_INET);
	assert_int_equal(t.count, 1);
	assert_string_equal(t.comm, "other");

	/* same value again: same total, still one row */
	fx_update(&a, 42, 99, AF_INET, 8, 6, 900, "curl2");
	assert_int_equal(a.n, 2);
	assert_int_equal(total(&a, 42, 99, AF_INET).count, 8);
	pw_accounts_free(&a);
}

#define MANY_TGIDS 5000

/* Row i of a tgid in test_many_keys: (0, inet), (99, inet), (99, inet6). */
static const struct {
	uint16_t err, family;
} many_keys[3] = { { 0, AF_INET }, { 99, AF_INET }, { 99, AF_INET6 } };

static void test_many_keys(void **state)
{
	struct pw_accounts a;
	struct pw_procs p = { 0 };

	(void)state;
	pw_accounts_init(&a, 100000);
	/* tgids spread out, inserted in a scrambled order */
	for (uint32_t i = 0; i < MANY_TGIDS; i++) {
		uint32_t tgid = (i * 7919u) % MANY_TGIDS * 3 + 1;

		for (int e = 0; e < 3; e++)
			fx_update(&a, tgid, many_keys[e].err, many_keys[e].family, tgid + e, e, 0, "x");
	}
	assert_int_equal(a.n, 3 * MANY_TGIDS);
	/* the index grew and stays at most half full */
	assert_true(pw_accounts_index_slots(&a) >= 2 * a.n);
	assert_int_equal(pw_accounts_index_slots(&a) & (pw_accounts_index_slots(&a) - 1), 0);

	/* every key is found again: a new value replaces, no row is added */
	for (uint32_t i = 0; i < MANY_TGIDS; i++) {
		uint32_t tgid = i * 3 + 1;

		for (int e = 0; e < 3; e++)
			fx_update(&a, tgid, many_keys[e].err, many_keys[e].family,
			       1000 * tgid + e, 0, 0, "x");
	}
	assert_int_equal(a.n, 3 * MANY_TGIDS);
	for (size_t i = 0; i < a.n; i++) {
		const struct pw_row *r = &a.rows[i];
		struct pw_proc_val t;
		int e = r->key.err ? (r->key.family == AF_INET6 ? 2 : 1) : 0;

		assert_int_equal(r->key.family, many_keys[e].family);
		pw_row_total(r, &t);
		assert_int_equal(t.count, 1000 * r->key.tgid + e);
	}

	/* and the per-process table has one row per tgid with the sums */
	assert_int_equal(pw_accounts_procs(&a, &p), 0);
	assert_int_equal(p.n, MANY_TGIDS);
	for (size_t i = 0; i < p.n; i++) {
		const struct pw_proc *pr = &p.v[i];

		assert_int_equal(pr->pid % 3, 1);
		assert_int_equal(pr->attempts, 3000 * pr->pid + 3);
		assert_int_equal(pr->failures, 2000 * pr->pid + 3);
		assert_int_equal(pr->nerrs, 1);
		assert_int_equal(pr->errs[0].err, 99);
		assert_int_equal(pr->errs[0].count, 2000 * pr->pid + 3);
	}
	pw_procs_free(&p);
	pw_accounts_free(&a);
}

/* Keys that differ in one field only, many of each: no two share a row. */
static void test_close_keys(void **state)
{
	struct pw_accounts a;

	(void)state;
	pw_accounts_init(&a, 100000);
	for (int round = 0; round < 2; round++) {
		for (uint32_t tgid = 1; tgid <= 16; tgid++)
			for (uint16_t err = 0; err < 32; err++)
				for (uint16_t fam = 0; fam < 32; fam++)
					fx_update(&a, tgid, err, fam,
					       round * 1000000 + tgid * 10000 + err * 100 + fam,
					       0, 0, "x");
		assert_int_equal(a.n, 16 * 32 * 32);
	}
	for (size_t i = 0; i < a.n; i++) {
		const struct pw_row *r = &a.rows[i];
		struct pw_proc_val t;

		pw_row_total(r, &t);
		assert_int_equal(t.count, 1000000 + r->key.tgid * 10000 + r->key.err * 100 +
					  r->key.family);
	}
	pw_accounts_free(&a);
}

/* ---- exit, retired rows ---- */

static void test_exited(void **state)
{
	struct pw_accounts a;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 100, 0, AF_INET, 1, 0, 0, "a");
	fx_update(&a, 200, 99, AF_INET, 1, 0, 0, "b");
	fx_update(&a, 100, 99, AF_INET, 1, 0, 0, "a");
	fx_update(&a, 100, 99, AF_INET6, 1, 0, 0, "a");
	fx_update(&a, 1000, 99, AF_INET, 1, 0, 0, "c");

	assert_int_equal(pw_accounts_exited(&a, 100, 5000), 3);
	assert_int_equal(row(&a, 100, 0, AF_INET)->exited_ns, 5000);
	assert_int_equal(row(&a, 100, 99, AF_INET)->exited_ns, 5000);
	assert_int_equal(row(&a, 100, 99, AF_INET6)->exited_ns, 5000);
	assert_int_equal(row(&a, 200, 99, AF_INET)->exited_ns, 0);
	assert_int_equal(row(&a, 1000, 99, AF_INET)->exited_ns, 0);
	/* exiting does not touch the kernel state nor the counts */
	assert_true(row(&a, 100, 99, AF_INET)->in_kernel);
	assert_int_equal(total(&a, 100, 99, AF_INET).count, 1);

	/* already marked: nothing more, the first time is kept */
	assert_int_equal(pw_accounts_exited(&a, 100, 9000), 0);
	assert_int_equal(row(&a, 100, 0, AF_INET)->exited_ns, 5000);
	/* unknown tgid */
	assert_int_equal(pw_accounts_exited(&a, 300, 9000), 0);
	assert_int_equal(pw_accounts_exited(&a, 1000, 9000), 1);
	assert_int_equal(row(&a, 1000, 99, AF_INET)->exited_ns, 9000);
	assert_int_equal(row(&a, 200, 99, AF_INET)->exited_ns, 0);

	/* an update of the same kernel entry (still in the map) keeps it exited */
	fx_update(&a, 100, 99, AF_INET, 2, 0, 0, "a");
	assert_int_equal(row(&a, 100, 99, AF_INET)->exited_ns, 5000);
	pw_accounts_free(&a);
}

static void test_base_plus_cur(void **state)
{
	struct pw_accounts a;
	struct pw_proc_val t;
	struct pw_row *r;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 42, 99, AF_INET, 3, 2, 50, "curl");
	r = row(&a, 42, 99, AF_INET);
	r->base = fx_val(10, 4, 1000, "curl");
	pw_row_total(r, &t);
	assert_int_equal(t.count, 13);
	assert_int_equal(t.scans, 6);
	assert_int_equal(t.scan_ns, 1050);
	assert_string_equal(t.comm, "curl");

	/* a new kernel value replaces cur only */
	fx_update(&a, 42, 99, AF_INET, 7, 7, 70, "curl");
	t = total(&a, 42, 99, AF_INET);
	assert_int_equal(t.count, 17);
	assert_int_equal(t.scans, 11);
	assert_int_equal(t.scan_ns, 1070);
	assert_int_equal(r->base.count, 10);

	/* no kernel entry (cur zeroed): the base alone, with its comm */
	memset(&r->cur, 0, sizeof(r->cur));
	pw_row_total(r, &t);
	assert_int_equal(t.count, 10);
	assert_int_equal(t.scans, 4);
	assert_int_equal(t.scan_ns, 1000);
	assert_string_equal(t.comm, "curl");

	/* a 16-byte comm with no NUL is kept whole */
	r->base = fx_val(1, 0, 0, "0123456789abcdef");
	pw_row_total(r, &t);
	assert_memory_equal(t.comm, "0123456789abcdef", PW_COMM_LEN);
	pw_accounts_free(&a);
}

static void test_retired_row_reused(void **state)
{
	struct pw_accounts a;
	struct pw_proc_val t;
	struct pw_row *r;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 42, 99, AF_INET, 5, 5, 500, "curl");
	fx_update(&a, 43, 99, AF_INET, 1, 1, 1, "other");
	assert_int_equal(pw_accounts_exited(&a, 42, 1000), 1);
	/* what pw_accounts_sync does once the kernel entry is deleted */
	r = row(&a, 42, 99, AF_INET);
	pw_row_total(r, &t);
	r->base = t;
	memset(&r->cur, 0, sizeof(r->cur));
	r->in_kernel = false;
	assert_int_equal(total(&a, 42, 99, AF_INET).count, 5);

	/* the pid is reused by another process: a new kernel entry, counting
	 * from 0; the old process's counts move to `expired` under its name */
	fx_update(&a, 42, 99, AF_INET, 2, 1, 30, "wget");
	assert_int_equal(a.n, 2);
	r = row(&a, 42, 99, AF_INET);
	assert_int_equal(r->exited_ns, 0);
	assert_true(r->in_kernel);
	t = total(&a, 42, 99, AF_INET);
	assert_int_equal(t.count, 2);
	assert_int_equal(t.scans, 1);
	assert_int_equal(t.scan_ns, 30);
	assert_string_equal(t.comm, "wget");
	assert_int_equal(a.nexpired, 1);
	assert_int_equal(a.expired[0].key.tgid, 0);
	assert_int_equal(a.expired[0].key.err, 99);
	assert_int_equal(a.expired[0].base.count, 5);
	assert_int_equal(a.expired[0].base.scan_ns, 500);
	assert_string_equal(a.expired[0].base.comm, "curl");
	/* and it can exit again */
	assert_int_equal(pw_accounts_exited(&a, 42, 2000), 1);
	assert_int_equal(r->exited_ns, 2000);
	assert_int_equal(row(&a, 43, 99, AF_INET)->exited_ns, 0);
	pw_accounts_free(&a);
}

/* What retire_idle does once the kernel entry is taken out. */
static void retire_idle_by_hand(struct pw_row *r, uint64_t now)
{
	struct pw_proc_val t;

	pw_row_total(r, &t);
	r->base = t;
	memset(&r->cur, 0, sizeof(r->cur));
	r->in_kernel = false;
	r->idle = true;
	r->exited_ns = now;
}

/* Foreign pids (own pid namespace): a row retired for being idle continues
 * when its pid comes back with the same comm; another comm is a reuse. */
static void test_idle_row_continues(void **state)
{
	struct pw_accounts a;
	struct pw_proc_val t;
	struct pw_row *r;

	(void)state;
	pw_accounts_init(&a, 1000);
	a.foreign_pids = true;
	fx_update(&a, 42, 99, AF_INET, 5, 5, 500, "curl");
	retire_idle_by_hand(row(&a, 42, 99, AF_INET), 1000);
	/* the same process fails again: a new kernel entry counting from 0 */
	fx_update(&a, 42, 99, AF_INET, 2, 2, 20, "curl");
	r = row(&a, 42, 99, AF_INET);
	assert_int_equal(r->exited_ns, 0);
	assert_false(r->idle);
	t = total(&a, 42, 99, AF_INET);
	assert_int_equal(t.count, 7);
	assert_int_equal(t.scan_ns, 520);
	assert_int_equal(a.nexpired, 0);
	/* retired again, then the pid is another program's */
	retire_idle_by_hand(r, 2000);
	fx_update(&a, 42, 99, AF_INET, 1, 1, 1, "wget");
	t = total(&a, 42, 99, AF_INET);
	assert_int_equal(t.count, 1);
	assert_string_equal(t.comm, "wget");
	assert_int_equal(a.nexpired, 1);
	assert_int_equal(a.expired[0].base.count, 7);
	pw_accounts_free(&a);
}

/* ---- the per-process table ---- */

static void test_procs_fold(void **state)
{
	struct pw_accounts a;
	struct pw_procs p = { 0 };
	const struct pw_proc *pr;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 100, 0, AF_INET, 10, 10, 600000, "curl");
	fx_update(&a, 100, 99, AF_INET, 15, 15, 2130000, "curl");
	fx_update(&a, 200, 0, AF_INET6, 7, 3, 30, "wget");
	fx_update(&a, 100, 99, AF_INET6, 5, 4, 1000, "curl");
	fx_update(&a, 100, 111, AF_INET, 2, 0, 0, "curl");
	/* a row with a retired part counts whole */
	row(&a, 100, 111, AF_INET)->base = fx_val(3, 1, 9, "curl");

	assert_int_equal(pw_accounts_procs(&a, &p), 0);
	assert_int_equal(p.n, 2);
	pr = proc(&p, 100);
	assert_string_equal(pr->comm, "curl");
	assert_int_equal(pr->attempts, 10 + 15 + 5 + 5);
	assert_int_equal(pr->failures, 15 + 5 + 5);
	assert_int_equal(pr->scans, 10 + 15 + 4 + 1);
	assert_int_equal(pr->scan_ns, 600000 + 2130000 + 1000 + 9);
	assert_int_equal(pr->nerrs, 2);
	assert_int_equal(proc_err(pr, 99), 20);
	assert_int_equal(proc_err(pr, 111), 5);
	assert_int_equal(pr->other_errs, 0);

	pr = proc(&p, 200);
	assert_string_equal(pr->comm, "wget");
	assert_int_equal(pr->attempts, 7);
	assert_int_equal(pr->failures, 0);
	assert_int_equal(pr->scans, 3);
	assert_int_equal(pr->scan_ns, 30);
	assert_int_equal(pr->nerrs, 0);
	pw_procs_free(&p);

	/* nothing at all: an empty table */
	pw_accounts_free(&a);
	pw_accounts_init(&a, 1000);
	assert_int_equal(pw_accounts_procs(&a, &p), 0);
	assert_int_equal(p.n, 0);
	pw_procs_free(&p);
	pw_accounts_free(&a);
}

static void test_procs_expired(void **state)
{
	struct pw_accounts a;
	struct pw_procs p = { 0 };
	const struct pw_proc *pr;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 42, 99, AF_INET, 3, 3, 300, "curl");
	fx_add_expired(&a, 99, AF_INET, 4, 4, 400, "curl");
	fx_add_expired(&a, 0, AF_INET6, 3, 2, 20, "wget");
	fx_add_expired(&a, 111, AF_INET, 1, 0, 0, "nc");
	fx_add_expired(&a, 99, AF_INET6, 2, 2, 2, "wget");

	assert_int_equal(pw_accounts_procs(&a, &p), 0);
	assert_int_equal(p.n, 2);
	pr = proc(&p, 42);
	assert_string_equal(pr->comm, "curl");
	assert_int_equal(pr->attempts, 3);
	assert_int_equal(pr->failures, 3);

	/* every folded-away process in one pid 0 row */
	pr = proc(&p, 0);
	assert_memory_equal(pr->comm, "(exited)\0\0\0\0\0\0\0\0", PW_COMM_LEN);
	assert_int_equal(pr->attempts, 4 + 3 + 1 + 2);
	assert_int_equal(pr->failures, 4 + 1 + 2);
	assert_int_equal(pr->scans, 4 + 2 + 2);
	assert_int_equal(pr->scan_ns, 400 + 20 + 2);
	assert_int_equal(pr->nerrs, 2);
	assert_int_equal(proc_err(pr, 99), 6);
	assert_int_equal(proc_err(pr, 111), 1);
	/* the accounts themselves are not changed */
	assert_string_equal(a.expired[0].base.comm, "curl");
	assert_int_equal(a.expired[0].key.tgid, 0);
	pw_procs_free(&p);
	pw_accounts_free(&a);
	assert_null(a.expired);
	assert_int_equal(a.nexpired, 0);
}

/* ---- pw_accounts_sync on a real BPF hash map ---- */

static void put(int fd, uint32_t tgid, uint64_t count, const char *comm)
{
	struct pw_proc_key k = { .tgid = tgid, .err = 99, .family = AF_INET };
	struct pw_proc_val v = fx_val(count, count, count * 1000, comm);

	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
}

static bool in_map(int fd, uint32_t tgid)
{
	struct pw_proc_key k = { .tgid = tgid, .err = 99, .family = AF_INET };
	struct pw_proc_val v;

	return bpf_map_lookup_elem(fd, &k, &v) == 0;
}

/* a pid that has exited and been reaped */
static uint32_t dead_pid(void)
{
	pid_t p = fork();

	assert_true(p >= 0);
	if (!p)
		_exit(0);
	assert_int_equal(waitpid(p, NULL, 0), p);
	return p;
}

static void sync_retire(bool fallback)
{
	struct pw_accounts a;
	uint32_t gone = dead_pid(), live = getpid();
	int fd = fx_map(64);

	pw_accounts_use_lookup_then_delete(fallback);
	pw_accounts_init(&a, 1000);
	put(fd, gone, 5, "gone");
	put(fd, live, 3, "live");
	assert_int_equal(pw_accounts_sync(&a, fd, 1, false), 0);
	assert_int_equal(total(&a, gone, 99, AF_INET).count, 5);
	/* the exited process's entry grew after that read (a connect() that was
	 * in flight): its last value is what gets folded in */
	put(fd, gone, 8, "gone");
	assert_int_equal(pw_accounts_sync(&a, fd, 2, true), 0);
	assert_false(in_map(fd, gone));
	assert_true(in_map(fd, live));
	assert_int_equal(total(&a, gone, 99, AF_INET).count, 8);
	assert_int_equal(total(&a, gone, 99, AF_INET).scans, 8);
	assert_false(row(&a, gone, 99, AF_INET)->in_kernel);
	assert_int_equal(row(&a, gone, 99, AF_INET)->base.count, 8);
	assert_int_equal(row(&a, gone, 99, AF_INET)->cur.count, 0);
	assert_int_equal(total(&a, live, 99, AF_INET).count, 3);
	assert_true(row(&a, live, 99, AF_INET)->in_kernel);
	/* once more: nothing changes, nothing counted twice */
	assert_int_equal(pw_accounts_sync(&a, fd, 3, true), 0);
	assert_int_equal(total(&a, gone, 99, AF_INET).count, 8);
	assert_int_equal(total(&a, live, 99, AF_INET).count, 3);
	pw_accounts_free(&a);
	close(fd);
}

static void test_sync_retire_lookup_and_delete(void **state)
{
	struct utsname u;
	int ma = 0, mi = 0;

	(void)state;
	sync_retire(false);
	/* the atomic path stays in use where the kernel has it (5.14+) */
	assert_int_equal(uname(&u), 0);
	assert_int_equal(sscanf(u.release, "%d.%d", &ma, &mi), 2);
	assert_int_equal(pw_accounts_lookup_and_delete_works(), ma > 5 || (ma == 5 && mi >= 14));
}

static void test_sync_retire_fallback(void **state)
{
	(void)state;
	/* what 5.10 to 5.13 take */
	sync_retire(true);
	assert_false(pw_accounts_lookup_and_delete_works());
	pw_accounts_use_lookup_then_delete(false);
}

/* Outcomes counted from PW_UNCOUNTED events: added to base, merged by key,
 * alongside what the kernel entry holds. */
static void test_add_and_merge(void **state)
{
	struct pw_accounts a, pending;
	struct pw_proc_key k = { .tgid = 4242, .err = 99, .family = AF_INET };
	struct pw_proc_val one = fx_val(1, 1, 500, "curl");
	uint64_t lost = 0;

	(void)state;
	pw_accounts_init(&a, 1000);
	pw_accounts_init(&pending, 0);
	fx_update(&a, 4242, 99, AF_INET, 3, 3, 3000, "curl");

	for (int i = 0; i < 4; i++)
		assert_int_equal(pw_accounts_add(&pending, &k, &one, 100 + i), 0);
	assert_int_equal(pending.n, 1);
	assert_int_equal(pending.rows[0].event_ns, 103);
	assert_int_equal(pw_accounts_merge(&a, &pending, &lost), 0);
	assert_int_equal(lost, 0);
	assert_int_equal(total(&a, 4242, 99, AF_INET).count, 7);
	assert_int_equal(total(&a, 4242, 99, AF_INET).scan_ns, 5000);
	/* a row only events made: its name and cgroup from them */
	k.tgid = 4343;
	one.cgroup_id = 77;
	assert_int_equal(pw_accounts_add(&a, &k, &one, 200), 0);
	assert_int_equal(total(&a, 4343, 99, AF_INET).count, 1);
	assert_string_equal(total(&a, 4343, 99, AF_INET).comm, "curl");
	assert_int_equal(total(&a, 4343, 99, AF_INET).cgroup_id, 77);
	assert_false(row(&a, 4343, 99, AF_INET)->in_kernel);
	pw_accounts_free(&pending);
	pw_accounts_free(&a);
}

/* A swapped-out map drained: every entry, live processes included, into
 * base; the next entry of the same key (in the other map) adds to it. */
static void test_drain(void **state)
{
	struct pw_accounts a;
	uint32_t live = getpid();
	int fd = fx_map(4096);

	(void)state;
	pw_accounts_init(&a, 100000);
	put(fd, live, 3, "live");
	assert_int_equal(pw_accounts_sync(&a, fd, 1, false), 0);
	assert_int_equal(a.kernel_entries, 1);
	/* more after the read, then 3000 other keys (the walk stays linear) */
	put(fd, live, 5, "live");
	for (uint32_t p = 1000000; p < 1003000; p++)
		put(fd, p, 1, "crowd");
	assert_int_equal(pw_accounts_drain(&a, fd, 2), 0);
	assert_false(in_map(fd, live));
	assert_false(in_map(fd, 1000000));
	assert_int_equal(total(&a, live, 99, AF_INET).count, 5);
	assert_int_equal(row(&a, live, 99, AF_INET)->base.count, 5);
	assert_false(row(&a, live, 99, AF_INET)->in_kernel);
	assert_int_equal(total(&a, 1002999, 99, AF_INET).count, 1);
	assert_int_equal(a.n, 3001);
	/* the process goes on in the (other) map: counts add up, not restart */
	put(fd, live, 2, "live");
	assert_int_equal(pw_accounts_sync(&a, fd, 3, false), 0);
	assert_int_equal(a.kernel_entries, 1);
	assert_int_equal(total(&a, live, 99, AF_INET).count, 7);
	pw_accounts_free(&a);
	close(fd);
}

/* ---- review findings of the abuse work (each failed before its fix) ---- */

static size_t entries_in(int fd)
{
	struct pw_proc_key k, *prev = NULL;
	size_t n = 0;

	while (bpf_map_get_next_key(fd, prev, &k) == 0) {
		n++;
		prev = &k;
	}
	return n;
}

/* A PW_UNCOUNTED event of a process reaches the accounts after the sync
 * that saw the process gone: it is that process's, added to its counts (no
 * fold into "(exited)", no per-pid counter reset); an event after the time
 * it was seen gone is a new process with the pid. */
static void test_late_event_of_exited(void **state)
{
	struct pw_accounts a, pending;
	uint32_t gone = dead_pid();
	struct pw_proc_key k = { .tgid = gone, .err = 99, .family = AF_INET };
	struct pw_proc_val one = fx_val(1, 1, 10, "curl");
	uint64_t lost = 0;
	int fd = fx_map(64);

	(void)state;
	pw_accounts_init(&a, 1000);
	put(fd, gone, 14, "curl");
	assert_int_equal(pw_accounts_sync(&a, fd, 5000, true), 0);
	assert_int_equal(row(&a, gone, 99, AF_INET)->exited_ns, 5000);
	assert_false(row(&a, gone, 99, AF_INET)->in_kernel);
	/* its 15th failure, at 4990, queued after that sync */
	pw_accounts_init(&pending, 0);
	assert_int_equal(pw_accounts_add(&pending, &k, &one, 4990), 0);
	assert_int_equal(pw_accounts_merge(&a, &pending, &lost), 0);
	pw_accounts_free(&pending);
	assert_int_equal(total(&a, gone, 99, AF_INET).count, 15);
	assert_int_equal(a.nexpired, 0);
	assert_int_equal(row(&a, gone, 99, AF_INET)->exited_ns, 5000);
	/* at 5000 exactly: still before the pid was found free */
	assert_int_equal(pw_accounts_add(&a, &k, &one, 5000), 0);
	assert_int_equal(total(&a, gone, 99, AF_INET).count, 16);
	assert_int_equal(a.nexpired, 0);
	/* later: the pid is another process's, the old counts fold */
	assert_int_equal(pw_accounts_add(&a, &k, &one, 5001), 0);
	assert_int_equal(total(&a, gone, 99, AF_INET).count, 1);
	assert_int_equal(row(&a, gone, 99, AF_INET)->exited_ns, 0);
	assert_int_equal(a.nexpired, 1);
	assert_int_equal(a.expired[0].base.count, 16);
	assert_int_equal(lost, 0);
	pw_accounts_free(&a);
	close(fd);
}

/* A row keeps the name (and cgroup) of its first entry: after a drain, the
 * process renamed (or exec'd, or moved) makes a new entry, whose name must
 * not take the drained counts to another per-comm series. */
static void test_first_labels_for_life(void **state)
{
	struct pw_accounts a;
	struct pw_proc_key k = { .tgid = getpid(), .err = 99, .family = AF_INET };
	struct pw_proc_val v = fx_val(3, 3, 3000, "curl");
	int fd = fx_map(64);

	(void)state;
	pw_accounts_init(&a, 1000);
	v.cgroup_id = 11;
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	assert_int_equal(pw_accounts_sync(&a, fd, 1, false), 0);
	assert_int_equal(pw_accounts_drain(&a, fd, 2), 0);
	v = fx_val(2, 2, 2000, "renamed");
	v.cgroup_id = 22;
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
	assert_int_equal(pw_accounts_sync(&a, fd, 3, false), 0);
	assert_int_equal(total(&a, k.tgid, 99, AF_INET).count, 5);
	assert_string_equal(total(&a, k.tgid, 99, AF_INET).comm, "curl");
	assert_int_equal(total(&a, k.tgid, 99, AF_INET).cgroup_id, 11);
	/* an event under yet another name adds to the row, under its name */
	v = fx_val(1, 0, 0, "third");
	assert_int_equal(pw_accounts_add(&a, &k, &v, 10), 0);
	assert_int_equal(total(&a, k.tgid, 99, AF_INET).count, 6);
	assert_string_equal(total(&a, k.tgid, 99, AF_INET).comm, "curl");
	/* a row with a kernel entry only: an event takes the entry's name */
	fx_update(&a, 77, 99, AF_INET, 4, 0, 0, "wget");
	k.tgid = 77;
	assert_int_equal(pw_accounts_add(&a, &k, &v, 10), 0);
	assert_int_equal(total(&a, 77, 99, AF_INET).count, 5);
	assert_string_equal(total(&a, 77, 99, AF_INET).comm, "wget");
	pw_accounts_free(&a);
	close(fd);
}

/* Sum of every row's count, and of every entry's in the map. */
static uint64_t rows_sum(const struct pw_accounts *a)
{
	struct pw_proc_val t;
	uint64_t n = 0;

	for (size_t i = 0; i < a->n; i++) {
		pw_row_total(&a->rows[i], &t);
		n += t.count;
	}
	return n;
}

static uint64_t map_sum(int fd)
{
	struct pw_proc_key k, *prev = NULL;
	struct pw_proc_val v;
	uint64_t n = 0;

	while (bpf_map_get_next_key(fd, prev, &k) == 0) {
		assert_int_equal(bpf_map_lookup_elem(fd, &k, &v), 0);
		n += v.count;
		prev = &k;
	}
	return n;
}

/* A drain that fails part way (here: no room for another row) leaves each
 * entry either all counted or all still in the map; the next drain
 * finishes, exact. */
static void test_drain_partial_failure(void **state)
{
	struct pw_accounts a;
	uint64_t fed = 0;
	int fd = fx_map(256);

	(void)state;
	pw_accounts_init(&a, 100000);
	for (uint32_t p = 2000000; p < 2000100; p++) {
		put(fd, p, p % 7 + 1, "crowd");
		fed += p % 7 + 1;
	}
	a.limit_rows = 40;
	assert_int_equal(pw_accounts_drain(&a, fd, 1), -ENOSPC);
	assert_int_equal(a.n, 40);
	assert_int_equal(entries_in(fd), 60);
	assert_int_equal(rows_sum(&a) + map_sum(fd), fed);
	a.limit_rows = 0;
	assert_int_equal(pw_accounts_drain(&a, fd, 2), 0);
	assert_int_equal(a.n, 100);
	assert_int_equal(entries_in(fd), 0);
	assert_int_equal(rows_sum(&a), fed);
	pw_accounts_free(&a);
	close(fd);
}

/* Rows read from the active map while another map is drained (the one
 * swapped out, or one that was not empty): each map's counts once. */
static void test_drain_other_map(void **state)
{
	struct pw_accounts a;
	uint32_t live = getpid();
	int active = fx_map(64), other = fx_map(64);

	(void)state;
	pw_accounts_init(&a, 1000);
	put(active, live, 3, "live");
	assert_int_equal(pw_accounts_sync(&a, active, 1, false), 0);
	put(other, live, 4, "live");
	assert_int_equal(pw_accounts_drain(&a, other, 2), 0);
	assert_int_equal(total(&a, live, 99, AF_INET).count, 7);
	assert_true(row(&a, live, 99, AF_INET)->in_kernel);	/* still active's */
	put(active, live, 5, "live");
	assert_int_equal(pw_accounts_sync(&a, active, 3, false), 0);
	assert_int_equal(total(&a, live, 99, AF_INET).count, 9);
	assert_int_equal(pw_accounts_drain(&a, active, 4), 0);
	assert_int_equal(total(&a, live, 99, AF_INET).count, 9);
	assert_false(row(&a, live, 99, AF_INET)->in_kernel);
	pw_accounts_free(&a);
	close(active);
	close(other);
}

/* The queue of event counts holds limit_rows keys: outcomes of existing
 * keys still add up, a new key is refused (-ENOSPC, the caller counts
 * it), and a merge that cannot add a row says how many outcomes it lost. */
static void test_limit_rows(void **state)
{
	struct pw_accounts pending, a;
	struct pw_proc_key k = { .tgid = 1, .err = 99, .family = AF_INET };
	struct pw_proc_val one = fx_val(1, 0, 0, "x");
	uint64_t lost = 0;

	(void)state;
	pw_accounts_init(&pending, 0);
	pending.limit_rows = 2;
	assert_int_equal(pw_accounts_add(&pending, &k, &one, 1), 0);
	k.tgid = 2;
	assert_int_equal(pw_accounts_add(&pending, &k, &one, 1), 0);
	assert_int_equal(pw_accounts_add(&pending, &k, &one, 1), 0);
	k.tgid = 3;
	assert_int_equal(pw_accounts_add(&pending, &k, &one, 1), -ENOSPC);
	k.tgid = 1;
	assert_int_equal(pw_accounts_add(&pending, &k, &one, 1), 0);
	assert_int_equal(pending.n, 2);
	assert_int_equal(rows_sum(&pending), 4);

	pw_accounts_init(&a, 1000);
	a.limit_rows = 1;
	assert_int_equal(pw_accounts_merge(&a, &pending, &lost), -ENOSPC);
	assert_int_equal(a.n, 1);
	assert_int_equal(rows_sum(&a) + lost, 4);
	assert_int_equal(lost, 2);
	pw_accounts_free(&a);
	pw_accounts_free(&pending);
}

/* Foreign pids: a drain does not make live processes' rows exited; a row
 * is retired once nothing was added for PW_EXPIRE_NS. */
static void test_foreign_drain_keeps_live(void **state)
{
	struct pw_accounts a;
	const uint64_t t0 = 1000000000, min = 60000000000ull;
	int fd = fx_map(64);
	struct pw_row *r;

	(void)state;
	pw_accounts_init(&a, 1000);
	a.foreign_pids = true;
	put(fd, 4242, 3, "live");
	put(fd, 4343, 1, "quiet");
	assert_int_equal(pw_accounts_sync(&a, fd, t0, true), 0);
	assert_int_equal(pw_accounts_drain(&a, fd, t0 + 1), 0);
	r = row(&a, 4242, 99, AF_INET);
	assert_int_equal(r->exited_ns, 0);
	assert_false(r->idle);
	/* 4242 goes on failing (a new entry each minute), 4343 not */
	for (uint64_t t = t0 + min; t < t0 + 2 * PW_EXPIRE_NS; t += min) {
		put(fd, 4242, (t - t0) / min, "live");
		assert_int_equal(pw_accounts_sync(&a, fd, t, true), 0);
		assert_int_equal(row(&a, 4242, 99, AF_INET)->exited_ns, 0);
		if (t - t0 < PW_EXPIRE_NS)
			assert_int_equal(row(&a, 4343, 99, AF_INET)->exited_ns, 0);
	}
	/* unchanged since the first sync saw it (t0), drain included:
	 * retired at the first sync 5 minutes after that */
	r = row(&a, 4343, 99, AF_INET);
	assert_true(r->idle);
	assert_int_equal(r->exited_ns, t0 + 5 * min);
	assert_int_equal(total(&a, 4343, 99, AF_INET).count, 1);
	assert_int_equal(total(&a, 4242, 99, AF_INET).count, 3 + 9);
	assert_int_equal(a.nexpired, 0);
	pw_accounts_free(&a);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_free),
		cmocka_unit_test(test_update_creates_rows),
		cmocka_unit_test(test_update_replaces_cur),
		cmocka_unit_test(test_many_keys),
		cmocka_unit_test(test_close_keys),
		cmocka_unit_test(test_exited),
		cmocka_unit_test(test_base_plus_cur),
		cmocka_unit_test(test_retired_row_reused),
		cmocka_unit_test(test_idle_row_continues),
		cmocka_unit_test(test_procs_fold),
		cmocka_unit_test(test_procs_expired),
		cmocka_unit_test(test_sync_retire_lookup_and_delete),
		cmocka_unit_test(test_sync_retire_fallback),
		cmocka_unit_test(test_add_and_merge),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_late_event_of_exited),
		cmocka_unit_test(test_first_labels_for_life),
		cmocka_unit_test(test_drain_partial_failure),
		cmocka_unit_test(test_drain_other_map),
		cmocka_unit_test(test_limit_rows),
		cmocka_unit_test(test_foreign_drain_keeps_live),
	};

	return cmocka_run_group_tests_name("test_accounts", tests, NULL, NULL);
}
