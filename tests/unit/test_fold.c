// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/fold.c (folding repeated text lines) and the
 * per-destination rate limit of user/pressure.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "fold.h"
#include "pressure.h"

#define SEC 1000000000ull

static void ev(struct pw_event *e, uint32_t pid, uint16_t dport, uint64_t ts)
{
	memset(e, 0, sizeof(*e));
	e->pid = e->tid = pid;
	e->family = AF_INET;
	memcpy(e->daddr, "\x7f\x00\x00\x01", 4);
	e->dport = dport;
	e->ret = -99;
	e->cause = PW_CAUSE_RANGE_EXHAUSTED;
	e->ts_ns = ts;
	memcpy(e->comm, "gen", 3);
}

static char *out;
static size_t outlen;

static FILE *mem(void)
{
	free(out);
	out = NULL;
	return open_memstream(&out, &outlen);
}

static void test_fold_burst(void **state)
{
	struct pw_fold *f = pw_fold_new(64);
	struct pw_event e;
	int printed = 0;
	FILE *m = mem();

	(void)state;
	assert_non_null(f);
	for (int i = 0; i < 10; i++) {
		ev(&e, 27174, 9000, 5 * SEC + i * 1000);
		printed += pw_fold_event(f, &e, m);
	}
	assert_int_equal(printed, PW_FOLD_AFTER);
	assert_int_equal(pw_fold_printed(f), 3);
	assert_int_equal(pw_fold_folded(f), 7);
	assert_int_equal(pw_fold_next_due(f), 5 * SEC + 3000 + SEC);
	pw_fold_flush(f, 5 * SEC + SEC / 2, false, m);	/* not yet */
	fflush(m);
	assert_int_equal(outlen, 0);
	pw_fold_flush(f, 6 * SEC + 3000, false, m);
	fclose(m);
	assert_string_equal(out, "  ... 7 more  gen[27174] -> 127.0.0.1:9000 port_range_exhausted (1.0 s)\n");
	assert_int_equal(pw_fold_next_due(f), 0);

	/* still hot: the next events fold at once, a new window */
	m = mem();
	ev(&e, 27174, 9000, 6 * SEC + 5000);
	assert_false(pw_fold_event(f, &e, m));
	/* quiet for more than a window: a new burst prints again; the old
	 * window comes out first */
	ev(&e, 27174, 9000, 8 * SEC);
	assert_true(pw_fold_event(f, &e, m));
	fclose(m);
	assert_string_equal(out, "  ... 1 more  gen[27174] -> 127.0.0.1:9000 port_range_exhausted (1.0 s)\n");
	assert_int_equal(pw_fold_printed(f) + pw_fold_folded(f), 12);
	pw_fold_free(f);
}

static void test_fold_keys_and_end(void **state)
{
	struct pw_fold *f = pw_fold_new(64);
	struct pw_event e;
	FILE *m = mem();

	(void)state;
	/* two destinations of one pid, and another pid: independent */
	for (int i = 0; i < 5; i++) {
		ev(&e, 1, 80, SEC + i);
		pw_fold_event(f, &e, m);
		ev(&e, 1, 443, SEC + i);
		pw_fold_event(f, &e, m);
		ev(&e, 2, 80, SEC + i);
		pw_fold_event(f, &e, m);
	}
	assert_int_equal(pw_fold_printed(f), 9);
	assert_int_equal(pw_fold_folded(f), 6);
	/* the end of the run: every pending window, with its real span */
	pw_fold_flush(f, 0, true, m);
	fclose(m);
	assert_non_null(strstr(out, "  ... 2 more  gen[1] -> 127.0.0.1:80 port_range_exhausted (0.0 s)\n"));
	assert_non_null(strstr(out, "  ... 2 more  gen[1] -> 127.0.0.1:443 "));
	assert_non_null(strstr(out, "  ... 2 more  gen[2] -> 127.0.0.1:80 "));
	pw_fold_free(f);
}

/* A connect whose address the kernel did not take (PW_NO_DEST): its own
 * key, shown as "-", never as the zeros of its daddr and dport. */
static void test_fold_no_dest(void **state)
{
	struct pw_fold *f = pw_fold_new(64);
	struct pw_event e;
	FILE *m = mem();

	(void)state;
	for (int i = 0; i < 5; i++) {
		ev(&e, 3, 0, SEC + i);
		memset(e.daddr, 0, sizeof(e.daddr));
		e.ret = -22;
		e.cause = PW_CAUSE_OTHER;
		e.flags = PW_NO_DEST;
		pw_fold_event(f, &e, m);
		/* a real 0.0.0.0:0 is another key */
		e.flags = 0;
		pw_fold_event(f, &e, m);
	}
	pw_fold_flush(f, 0, true, m);
	fclose(m);
	assert_non_null(strstr(out, "  ... 2 more  gen[3] -> - other (0.0 s)\n"));
	assert_non_null(strstr(out, "  ... 2 more  gen[3] -> 0.0.0.0:0 other (0.0 s)\n"));
	pw_fold_free(f);
}

/* The other ops (--ops): one pid's udp_connect and udp_send failures, and
 * its binds of two addresses, are keys of their own, each line naming its
 * op (and a bind's address) as the text line's DEST does. */
static void test_fold_ops(void **state)
{
	static const uint8_t ops[] = { PW_OP_UDP_CONNECT, PW_OP_UDP_SEND, PW_OP_BIND, PW_OP_BIND };
	struct pw_fold *f = pw_fold_new(64);
	struct pw_event e;
	FILE *m = mem();

	(void)state;
	for (int i = 0; i < 5; i++) {
		for (unsigned int k = 0; k < sizeof(ops); k++) {
			ev(&e, 4, 0, SEC + i);
			memset(e.daddr, 0, sizeof(e.daddr));
			e.op = ops[k];
			e.flags = PW_NO_DEST;
			e.ret = ops[k] == PW_OP_BIND ? -98 : -11;
			if (k == 3)
				memcpy(e.saddr, "\x7f\x00\x00\x01", 4);
			pw_fold_event(f, &e, m);
		}
	}
	pw_fold_flush(f, 0, true, m);
	fclose(m);
	assert_int_equal(pw_fold_folded(f), 8);
	assert_non_null(strstr(out, "  ... 2 more  gen[4] -> udp_connect port_range_exhausted (0.0 s)\n"));
	assert_non_null(strstr(out, "  ... 2 more  gen[4] -> udp_send port_range_exhausted (0.0 s)\n"));
	assert_non_null(strstr(out, "  ... 2 more  gen[4] -> bind 0.0.0.0 port_range_exhausted (0.0 s)\n"));
	assert_non_null(strstr(out, "  ... 2 more  gen[4] -> bind 127.0.0.1 port_range_exhausted (0.0 s)\n"));
	pw_fold_free(f);
}

/* bind_port failures of one pid and address on two ports: a key each,
 * each line naming its ADDR:PORT as the text line's DEST does. */
static void test_fold_bind_port(void **state)
{
	struct pw_fold *f = pw_fold_new(64);
	struct pw_event e;
	FILE *m = mem();

	(void)state;
	for (int i = 0; i < 5; i++) {
		for (int k = 0; k < 2; k++) {
			ev(&e, 5, 0, SEC + i);
			memset(e.daddr, 0, sizeof(e.daddr));
			e.op = PW_OP_BIND_PORT;
			e.flags = PW_NO_DEST;
			e.ret = -98;
			e.cause = PW_CAUSE_OTHER;
			memcpy(e.saddr, "\x7f\x00\x00\x01", 4);
			e.sport = k ? 8081 : 8080;
			pw_fold_event(f, &e, m);
		}
	}
	pw_fold_flush(f, 0, true, m);
	fclose(m);
	assert_int_equal(pw_fold_printed(f), 6);
	assert_int_equal(pw_fold_folded(f), 4);
	assert_non_null(strstr(out, "  ... 2 more  gen[5] -> bind_port 127.0.0.1:8080 other (0.0 s)\n"));
	assert_non_null(strstr(out, "  ... 2 more  gen[5] -> bind_port 127.0.0.1:8081 other (0.0 s)\n"));
	pw_fold_free(f);
}

/* More keys than slots: the rest fold into one "other" line; the
 * accounting stays exact whatever comes. */
static void test_fold_table_full(void **state)
{
	struct pw_fold *f = pw_fold_new(64);
	struct pw_event e;
	uint64_t n = 0;
	unsigned int seed = 7;
	FILE *m = mem();

	(void)state;
	for (uint32_t pid = 1; pid <= 5000; pid++, n++) {
		ev(&e, pid, 80, SEC + pid);
		pw_fold_event(f, &e, m);
	}
	assert_true(pw_fold_folded(f) > 0);
	for (int i = 0; i < 100000; i++, n++) {
		ev(&e, rand_r(&seed) % 300, 80 + rand_r(&seed) % 3, 2 * SEC + (uint64_t)i * 30000);
		pw_fold_event(f, &e, m);
		if (i % 1000 == 0)
			pw_fold_flush(f, e.ts_ns, false, m);
	}
	pw_fold_flush(f, 0, true, m);
	fclose(m);
	assert_int_equal(pw_fold_printed(f) + pw_fold_folded(f), n);
	assert_non_null(strstr(out, " more  of other processes and destinations (fold table full)"));
	/* the sum of the "more" lines is what was folded */
	uint64_t sum = 0;
	for (char *p = out; (p = strstr(p, "  ... ")); ) {
		char num[32];
		size_t k = 0;

		for (p += 6; *p && *p != ' '; p++)
			if (*p != ',' && k < sizeof(num) - 1)
				num[k++] = *p;
		num[k] = '\0';
		sum += strtoull(num, NULL, 10);
	}
	assert_int_equal(sum, pw_fold_folded(f));
	pw_fold_free(f);
}

static void test_thousands(void **state)
{
	char b[32];

	(void)state;
	pw_thousands(b, sizeof(b), 0);
	assert_string_equal(b, "0");
	pw_thousands(b, sizeof(b), 999);
	assert_string_equal(b, "999");
	pw_thousands(b, sizeof(b), 1000);
	assert_string_equal(b, "1,000");
	pw_thousands(b, sizeof(b), 52384);
	assert_string_equal(b, "52,384");
	pw_thousands(b, sizeof(b), 18446744073709551615ull);
	assert_string_equal(b, "18,446,744,073,709,551,615");
	pw_thousands(b, 4, 52384);
	assert_string_equal(b, "52,");
}

/* The rate limit holds for any number of destinations: never twice within
 * the period, whatever the table's size; due again after it. */
static void test_dest_limit(void **state)
{
	struct pw_dest_limit *l = pw_dest_limit_new(1024);
	uint8_t a[16] = { 127, 0, 0, 1 };
	unsigned int admitted = 0, refused = 0;

	(void)state;
	assert_non_null(l);
	assert_int_equal(pw_dest_limit_due(l, 1, AF_INET, a, 80, SEC, 5 * SEC), 1);
	assert_int_equal(pw_dest_limit_due(l, 1, AF_INET, a, 80, 2 * SEC, 5 * SEC), 0);
	assert_int_equal(pw_dest_limit_due(l, 2, AF_INET, a, 80, 2 * SEC, 5 * SEC), 1);	/* other netns */
	assert_int_equal(pw_dest_limit_due(l, 1, AF_INET, a, 80, 6 * SEC, 5 * SEC), 1);
	/* 100,000 destinations within one period, each twice */
	for (int round = 0; round < 2; round++) {
		for (uint32_t d = 0; d < 100000; d++) {
			int r;

			memcpy(a + 4, &d, 4);
			r = pw_dest_limit_due(l, 9, AF_INET6, a, 443, 10 * SEC + round, 5 * SEC);
			if (round == 0)
				r == 1 ? admitted++ : refused++;
			else
				assert_true(r != 1 || 0);
		}
	}
	assert_true(admitted >= 1000);		/* the table's worth */
	assert_int_equal(admitted + refused, 100000);
	/* after the period the table is free again */
	memset(a + 4, 0, 4);
	assert_int_equal(pw_dest_limit_due(l, 9, AF_INET6, a, 443, 16 * SEC, 5 * SEC), 1);
	pw_dest_limit_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fold_burst),
		cmocka_unit_test(test_fold_keys_and_end),
		cmocka_unit_test(test_fold_table_full),
		cmocka_unit_test(test_fold_no_dest),
		cmocka_unit_test(test_fold_ops),
		cmocka_unit_test(test_fold_bind_port),
		cmocka_unit_test(test_thousands),
		cmocka_unit_test(test_dest_limit),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free(out);
	return rc;
}
