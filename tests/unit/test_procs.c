// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/procs.c: folding (tgid, errno) counters into one row
 * per process, sorting, and the text and JSON forms. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "procs.h"

static void add(struct pw_procs *p, uint32_t tgid, uint32_t err, uint64_t count,
		uint64_t scans, uint64_t scan_ns, const char *comm)
{
	struct pw_proc_key k = { .tgid = tgid, .err = err };
	struct pw_proc_val v;

	memset(&v, 0, sizeof(v));
	v.count = count;
	v.scans = scans;
	v.scan_ns = scan_ns;
	/* may fill all 16 bytes, with no NUL */
	memcpy(v.comm, comm, strnlen(comm, sizeof(v.comm)));
	assert_int_equal(pw_procs_add(p, &k, &v), 0);
}

static const struct pw_proc *find(const struct pw_procs *p, uint32_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].pid == pid)
			return &p->v[i];
	fail_msg("pid %u not found", pid);
	return NULL;
}

/* Many processes, in any order, and rows added after a sort: one row per
 * pid (and per name for pid 0), every count where it belongs. */
static void test_add_crowd_after_sort(void **state)
{
	struct pw_procs p = { 0 };
	const struct pw_proc *a;

	(void)state;
	for (int pass = 0; pass < 2; pass++)
		for (uint32_t pid = 1; pid <= 20000; pid++)
			add(&p, pid * 7919 % 65536 + 1, 99, pass + 1, 0, 0, "crowd");
	add(&p, 0, 111, 3, 0, 0, "(unattributed)");
	add(&p, 0, 99, 4, 0, 0, "(exited)");
	assert_int_equal(p.n, 20002);
	pw_procs_sort(&p);
	add(&p, 7919 % 65536 + 1, 99, 10, 0, 0, "crowd");
	add(&p, 0, 111, 5, 0, 0, "(unattributed)");
	assert_int_equal(p.n, 20002);
	a = find(&p, 7919 % 65536 + 1);
	assert_int_equal(a->failures, 13);
	for (size_t i = 0; i < p.n; i++) {
		if (p.v[i].pid)
			continue;
		assert_int_equal(p.v[i].failures,
				 !strcmp(p.v[i].comm, "(exited)") ? 4 : 8);
	}
	pw_procs_free(&p);
}

static void test_add_fold(void **state)
{
	struct pw_procs p = { 0 };
	const struct pw_proc *a, *b;

	(void)state;
	add(&p, 100, 0, 10, 10, 600000, "curl");
	add(&p, 100, 99, 15, 15, 2130000, "curl");
	add(&p, 200, 0, 5, 0, 0, "wget");
	add(&p, 100, 111, 2, 0, 0, "curl");
	add(&p, 100, 99, 1, 1, 1000, "curl");
	assert_int_equal(p.n, 2);

	a = find(&p, 100);
	assert_string_equal(a->comm, "curl");
	assert_int_equal(a->attempts, 28);
	assert_int_equal(a->failures, 18);
	assert_int_equal(a->scans, 26);
	assert_int_equal(a->scan_ns, 2731000);
	assert_int_equal(a->nerrs, 2);
	assert_int_equal(a->errs[0].err, 99);
	assert_int_equal(a->errs[0].count, 16);
	assert_int_equal(a->errs[1].err, 111);
	assert_int_equal(a->errs[1].count, 2);
	assert_int_equal(a->other_errs, 0);

	b = find(&p, 200);
	assert_string_equal(b->comm, "wget");
	assert_int_equal(b->attempts, 5);
	assert_int_equal(b->failures, 0);
	assert_int_equal(b->scans, 0);
	assert_int_equal(b->scan_ns, 0);
	assert_int_equal(b->nerrs, 0);
	assert_int_equal(b->other_errs, 0);

	pw_procs_free(&p);
	assert_null(p.v);
	assert_int_equal(p.n, 0);
	assert_int_equal(p.cap, 0);
}

static void test_add_comm(void **state)
{
	struct pw_procs p = { 0 };

	(void)state;
	/* first comm seen is kept by later successes */
	add(&p, 1, 0, 1, 0, 0, "sh");
	add(&p, 1, 0, 1, 0, 0, "other");
	assert_string_equal(find(&p, 1)->comm, "sh");
	/* a failing entry names the process */
	add(&p, 1, 99, 1, 0, 0, "curl");
	assert_string_equal(find(&p, 1)->comm, "curl");
	add(&p, 1, 0, 1, 0, 0, "sh");
	assert_string_equal(find(&p, 1)->comm, "curl");

	/* a 16-byte comm with no NUL is kept whole */
	add(&p, 2, 99, 1, 0, 0, "0123456789abcdef");
	assert_memory_equal(find(&p, 2)->comm, "0123456789abcdef", PW_COMM_LEN);
	assert_int_equal(pw_comm_len(find(&p, 2)->comm), PW_COMM_LEN);
	pw_procs_free(&p);
}

/* pid 0 holds rows of no one process: one per name, never merged */
static void test_add_pid0_by_name(void **state)
{
	struct pw_procs p = { 0 };

	(void)state;
	add(&p, 0, 0, 7, 0, 0, "(unattributed)");
	add(&p, 0, 99, 3, 3, 30, "(exited)");
	add(&p, 0, 111, 2, 0, 0, "(unattributed)");
	add(&p, 0, 99, 1, 1, 10, "(exited)");
	assert_int_equal(p.n, 2);
	for (size_t i = 0; i < p.n; i++) {
		const struct pw_proc *pr = &p.v[i];

		assert_int_equal(pr->pid, 0);
		if (!strcmp(pr->comm, "(unattributed)")) {
			assert_int_equal(pr->attempts, 9);
			assert_int_equal(pr->failures, 2);
			assert_int_equal(pr->scans, 0);
		} else {
			assert_string_equal(pr->comm, "(exited)");
			assert_int_equal(pr->attempts, 4);
			assert_int_equal(pr->failures, 4);
			assert_int_equal(pr->scan_ns, 40);
		}
	}
	pw_procs_free(&p);
}

static void test_add_other_errs(void **state)
{
	struct pw_procs p = { 0 };
	const struct pw_proc *a;

	(void)state;
	for (uint32_t e = 1; e <= 10; e++)
		add(&p, 7, e, e, 0, 0, "x");
	add(&p, 7, 0, 100, 0, 0, "x");
	a = find(&p, 7);
	assert_int_equal(a->nerrs, PW_MAX_ERRS);
	for (int i = 0; i < PW_MAX_ERRS; i++) {
		assert_int_equal(a->errs[i].err, i + 1);
		assert_int_equal(a->errs[i].count, i + 1);
	}
	assert_int_equal(a->other_errs, 9 + 10);
	assert_int_equal(a->failures, 55);
	assert_int_equal(a->attempts, 155);

	/* a known errno still lands in its slot, a new one in other */
	add(&p, 7, 3, 4, 0, 0, "x");
	add(&p, 7, 11, 6, 0, 0, "x");
	a = find(&p, 7);
	assert_int_equal(a->nerrs, PW_MAX_ERRS);
	assert_int_equal(a->errs[2].count, 7);
	assert_int_equal(a->other_errs, 25);
	assert_int_equal(a->failures, 65);
	assert_int_equal(a->attempts, 165);
	pw_procs_free(&p);
}

static void test_add_many(void **state)
{
	struct pw_procs p = { 0 };

	(void)state;
	for (uint32_t pid = 1; pid <= 300; pid++)
		add(&p, pid, pid % 2 ? 99 : 0, pid, 0, 0, "x");
	for (uint32_t pid = 1; pid <= 300; pid++)
		add(&p, pid, 0, 1, 0, 0, "x");
	assert_int_equal(p.n, 300);
	assert_true(p.cap >= 300);
	for (uint32_t pid = 1; pid <= 300; pid++) {
		const struct pw_proc *a = find(&p, pid);

		assert_int_equal(a->attempts, pid + 1);
		assert_int_equal(a->failures, pid % 2 ? pid : 0);
	}
	pw_procs_free(&p);
}

static void test_sort(void **state)
{
	static const uint32_t order[] = { 1, 4, 3, 6, 2, 5 };
	struct pw_procs p = { 0 };

	(void)state;
	pw_procs_sort(&p);	/* empty: no-op */
	assert_int_equal(p.n, 0);

	add(&p, 5, 0, 10, 0, 0, "e");
	add(&p, 3, 99, 2, 0, 0, "c");
	add(&p, 3, 0, 3, 0, 0, "c");		/* 3: f2 a5 */
	add(&p, 4, 99, 2, 0, 0, "d");
	add(&p, 4, 0, 7, 0, 0, "d");		/* 4: f2 a9 */
	add(&p, 2, 0, 10, 0, 0, "b");		/* 2: f0 a10 */
	add(&p, 1, 111, 2, 0, 0, "a");
	add(&p, 1, 0, 7, 0, 0, "a");		/* 1: f2 a9 */
	add(&p, 6, 0, 11, 0, 0, "f");		/* 6: f0 a11 */
	pw_procs_sort(&p);
	assert_int_equal(p.n, 6);
	for (size_t i = 0; i < p.n; i++)
		assert_int_equal(p.v[i].pid, order[i]);
	pw_procs_free(&p);
}

static char out[1024];

static const char *proc_json(const struct pw_proc *pr)
{
	struct sbuf sb;

	sb_init(&sb, out, sizeof(out));
	assert_true(pw_proc_json(&sb, pr));
	assert_false(sb.err);
	return out;
}

static void test_proc_json(void **state)
{
	struct pw_procs p = { 0 };

	(void)state;
	add(&p, 4242, 0, 10, 10, 600000, "curl");
	add(&p, 4242, 99, 15, 15, 2130000, "curl");
	assert_string_equal(proc_json(find(&p, 4242)),
		"{\"pid\":4242,\"comm\":\"curl\",\"attempts\":25,\"failures\":15,"
		"\"errors\":{\"EADDRNOTAVAIL\":15},\"scans\":25,\"scan_ns_total\":2730000,"
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null}");

	add(&p, 7, 0, 5, 0, 0, "wget");
	assert_string_equal(proc_json(find(&p, 7)),
		"{\"pid\":7,\"comm\":\"wget\",\"attempts\":5,\"failures\":0,"
		"\"errors\":{},\"scans\":0,\"scan_ns_total\":0,"
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null}");
	pw_procs_free(&p);
}

static void test_proc_json_errors(void **state)
{
	struct pw_procs p = { 0 };
	struct pw_proc pr;
	struct sbuf sb;
	char small[32];

	(void)state;
	add(&p, 9, 111, 1, 0, 0, "a\"b\n\xff");
	add(&p, 9, 4242, 1, 0, 0, "a\"b\n\xff");
	assert_string_equal(proc_json(find(&p, 9)),
		"{\"pid\":9,\"comm\":\"a\\\"b\\n\\ufffd\",\"attempts\":2,\"failures\":2,"
		"\"errors\":{\"ECONNREFUSED\":1,\"E4242\":1},\"scans\":0,\"scan_ns_total\":0,"
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null}");

	/* only "other" */
	memset(&pr, 0, sizeof(pr));
	pr.pid = 3;
	memcpy(pr.comm, "x", 1);
	pr.attempts = 5;
	pr.failures = 5;
	pr.other_errs = 5;
	assert_string_equal(proc_json(&pr),
		"{\"pid\":3,\"comm\":\"x\",\"attempts\":5,\"failures\":5,"
		"\"errors\":{\"other\":5},\"scans\":0,\"scan_ns_total\":0,"
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null}");

	/* errors and "other" */
	pr.nerrs = 1;
	pr.errs[0].err = 99;
	pr.errs[0].count = 3;
	pr.other_errs = 2;
	assert_string_equal(proc_json(&pr),
		"{\"pid\":3,\"comm\":\"x\",\"attempts\":5,\"failures\":5,"
		"\"errors\":{\"EADDRNOTAVAIL\":3,\"other\":2},\"scans\":0,\"scan_ns_total\":0,"
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null}");

	/* too small a buffer: false */
	sb_init(&sb, small, sizeof(small));
	assert_false(pw_proc_json(&sb, &pr));
	assert_true(sb.err);
	assert_true(strlen(small) < sizeof(small));
	pw_procs_free(&p);
}

static char *procs_text(const struct pw_procs *p)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	pw_procs_text(f, p);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

#define HEADER "PID     COMM              ATTEMPTS  FAILURES     SCANS    SCAN_MS  ERRORS                   WORKLOAD\n"

static void test_procs_text(void **state)
{
	struct pw_procs p = { 0 };
	char *t;

	(void)state;
	t = procs_text(&p);
	assert_string_equal(t, HEADER);
	free(t);

	add(&p, 4242, 0, 10, 10, 600000, "curl");
	add(&p, 4242, 99, 15, 15, 2130000, "curl");
	add(&p, 9, 111, 1, 0, 0, "a\tb");
	add(&p, 9, 4242, 1, 0, 0, "a\tb");
	for (uint32_t e = 201; e <= 208; e++)	/* 6 more slots, then other */
		add(&p, 9, e, 1, 0, 0, "a\tb");
	add(&p, 7, 0, 5, 0, 0, "wget");
	pw_procs_sort(&p);
	t = procs_text(&p);
	/* pid 9: slots 111, 4242, 201..206, other = 207 + 208 */
	assert_string_equal(t, HEADER
		"4242    curl                    25        15        25      2.730  EADDRNOTAVAIL:15         ?\n"
		"9       a?b                     10        10         0      0.000  "
		"ECONNREFUSED:1,E4242:1,E201:1,E202:1,E203:1,E204:1,E205:1,E206:1,other:2 ?\n"
		"7       wget                     5         0         0      0.000  -                        ?\n");
	free(t);
	pw_procs_free(&p);
}

static void test_procs_text_other_only(void **state)
{
	struct pw_procs p = { 0 };
	char *t;

	(void)state;
	p.v = calloc(1, sizeof(*p.v));
	assert_non_null(p.v);
	p.n = p.cap = 1;
	p.v[0].pid = 9;
	memcpy(p.v[0].comm, "0123456789abcdef", PW_COMM_LEN);	/* no NUL */
	p.v[0].attempts = 4;
	p.v[0].failures = 4;
	p.v[0].scans = 1;
	p.v[0].scan_ns = 1234567;
	p.v[0].other_errs = 4;
	t = procs_text(&p);
	assert_string_equal(t, HEADER
		"9       0123456789abcdef         4         4         1      1.235  other:4                  ?\n");
	free(t);
	pw_procs_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_fold),
		cmocka_unit_test(test_add_comm),
		cmocka_unit_test(test_add_other_errs),
		cmocka_unit_test(test_add_pid0_by_name),
		cmocka_unit_test(test_add_many),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_proc_json),
		cmocka_unit_test(test_proc_json_errors),
		cmocka_unit_test(test_add_crowd_after_sort),
		cmocka_unit_test(test_procs_text),
		cmocka_unit_test(test_procs_text_other_only),
	};

	return cmocka_run_group_tests_name("test_procs", tests, NULL, NULL);
}
