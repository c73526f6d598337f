// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the pure parts of --top (user/top_model.c: the scan time
 * percentile) and of the narrow text mode (user/output_text.c: which
 * columns a width keeps, the cut of a line). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "output.h"
#include "procs.h"
#include "top_model.h"

static void test_percentile_empty(void **state)
{
	uint64_t h[64] = {};

	(void)state;
	assert_true(pw_top_percentile(h, 64, 0.5) < 0);
}

/* slot b holds (2^(b-1), 2^b]: the upper bound of the slot that holds it */
static void test_percentile_slots(void **state)
{
	uint64_t h[64] = {};

	(void)state;
	h[0] = 1;	/* <= 1 ns */
	h[10] = 98;	/* (512, 1024] */
	h[20] = 1;	/* (2^19, 2^20] */
	assert_true(pw_top_percentile(h, 64, 0.01) == 1);
	assert_true(pw_top_percentile(h, 64, 0.50) == 1024);
	assert_true(pw_top_percentile(h, 64, 0.99) == 1024);
	assert_true(pw_top_percentile(h, 64, 1.00) == 1 << 20);
}

static void header_is(unsigned int cols, const char *want)
{
	char got[192];
	size_t n;

	pw_text_fit(cols);
	snprintf(got, sizeof(got), "%s", pw_event_header());
	for (n = strlen(got); n && got[n - 1] == ' '; n--)
		got[n - 1] = 0;
	assert_string_equal(got, want);
	if (cols)
		assert_true(strlen(pw_event_header()) <= cols);
}

/* The workload goes first, then RANGE, FAM, SCAN, ERRNO, TIME, CAUSE. */
static void test_fit_columns(void **state)
{
	(void)state;
	header_is(0, "TIME         PID     COMM             FAM   DESTINATION                  "
		  "ERRNO          CAUSE                 RANGE        SCAN           WORKLOAD");
	header_is(146, "TIME         PID     COMM             FAM   DESTINATION                  "
		  "ERRNO          CAUSE                 RANGE        SCAN           WORKLOAD");
	header_is(145, "TIME         PID     COMM             FAM   DESTINATION                  "
		  "ERRNO          CAUSE                 RANGE        SCAN");
	header_is(120, "TIME         PID     COMM             DESTINATION                  "
		  "ERRNO          CAUSE                 SCAN");
	header_is(100, "TIME         PID     COMM             DESTINATION                  CAUSE");
	header_is(80, "PID     COMM             DESTINATION                  CAUSE");
	header_is(60, "PID     COMM             DESTINATION");
	header_is(30, "PID     COMM             DESTI");
	pw_text_fit(0);
}

/* A cut line keeps its newline and never ends inside a UTF-8 sequence. */
static void test_cut_utf8(void **state)
{
	char line[64];

	(void)state;
	pw_text_fit(6);
	snprintf(line, sizeof(line), "abcd\xc3\xa9xyz\n");	/* é at bytes 4-5 */
	pw_text_cut(line);
	assert_string_equal(line, "abcd\xc3\xa9\n");
	pw_text_fit(5);
	snprintf(line, sizeof(line), "abcd\xc3\xa9xyz\n");
	pw_text_cut(line);
	assert_string_equal(line, "abcd\n");
	snprintf(line, sizeof(line), "abc\n");
	pw_text_cut(line);
	assert_string_equal(line, "abc\n");
	pw_text_fit(0);
}

static void add(struct pw_procs *ps, uint32_t err, uint32_t op, uint64_t count)
{
	struct pw_proc_key k = { .tgid = 7, .err = err, .family = PW_KEY_FAM_OP(2, op) };
	struct pw_proc_val v = { .count = count, .comm = "c" };

	assert_int_equal(pw_procs_add(ps, &k, &v), 0);
}

/* EADDRNOTAVAIL past the 8 errnos a row keeps, and the --ops failures
 * (bind's EADDRINUSE, UDP's EAGAIN): all failures of the view; the other
 * errnos and successes are not. */
static void test_proc_failures(void **state)
{
	struct pw_procs ps = { 0 };

	(void)state;
	add(&ps, 0, PW_OP_CONNECT, 1000);
	for (uint32_t e = 1; e <= PW_MAX_ERRS; e++)
		add(&ps, e, PW_OP_CONNECT, 10);	/* EPERM..ENOEXEC fill errs[] */
	add(&ps, EADDRNOTAVAIL, PW_OP_CONNECT, 3);
	add(&ps, 111, PW_OP_CONNECT, 5);	/* ECONNREFUSED: also past the 8 */
	add(&ps, EADDRINUSE, PW_OP_BIND, 4);
	add(&ps, EAGAIN, PW_OP_UDP_CONNECT, 2);
	add(&ps, EAGAIN, PW_OP_UDP_SEND, 1);
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.v[0].other_errs, 8);
	assert_int_equal(pw_top_proc_failures(&ps.v[0]), 3 + 4 + 2 + 1);
	pw_procs_free(&ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percentile_empty),
		cmocka_unit_test(test_percentile_slots),
		cmocka_unit_test(test_fit_columns),
		cmocka_unit_test(test_cut_utf8),
		cmocka_unit_test(test_proc_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
