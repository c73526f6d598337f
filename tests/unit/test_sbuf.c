// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/sbuf.c: the bounded string builder (overflow, numbers). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "sbuf.h"
#include "sb_guard.h"

static void test_sb_overflow(void **state)
{
	unsigned char mem[24];
	char *buf = (char *)mem + 8;
	struct sbuf sb;

	(void)state;
	memset(mem, GUARD, sizeof(mem));
	sb_init(&sb, buf, 8);
	sb_printf(&sb, "%s", "abc");
	assert_false(sb.err);
	assert_int_equal(sb.len, 3);
	sb_printf(&sb, "%s", "defg");	/* 3 + 4 = 7: fits with the NUL */
	assert_false(sb.err);
	assert_int_equal(sb.len, 7);
	assert_string_equal(buf, "abcdefg");
	sb_printf(&sb, "x");		/* one too many */
	assert_true(sb.err);
	assert_int_equal(sb.len, 7);
	assert_string_equal(buf, "abcdefg");
	check_guards(mem, 8, 8);

	/* a failed append leaves the old content terminated; err sticks */
	memset(mem, GUARD, sizeof(mem));
	sb_init(&sb, buf, 8);
	sb_printf(&sb, "ab");
	sb_printf(&sb, "%s", "0123456789");
	assert_true(sb.err);
	assert_int_equal(sb.len, 2);
	assert_string_equal(buf, "ab");
	sb_printf(&sb, "c");
	assert_true(sb.err);
	assert_string_equal(buf, "ab");
	check_guards(mem, 8, 8);

	/* capacity 0: err at once, nothing written */
	memset(mem, GUARD, sizeof(mem));
	sb_init(&sb, buf, 0);
	assert_true(sb.err);
	sb_printf(&sb, "x");
	assert_int_equal(mem[8], GUARD);
	check_guards(mem, 8, 8);
}

static void test_sb_numbers(void **state)
{
	char b[64];
	struct sbuf sb;

	(void)state;
	sb_init(&sb, b, sizeof(b));
	sb_u64(&sb, 0);
	sb_putc(&sb, ' ');
	sb_u64(&sb, 18446744073709551615ull);
	sb_putc(&sb, ' ');
	sb_i64(&sb, -99);
	sb_putc(&sb, ' ');
	sb_i64(&sb, INT64_MIN);
	sb_putc(&sb, ' ');
	sb_u64w(&sb, 42, 9);
	sb_putc(&sb, ' ');
	sb_u64w(&sb, 1234, 3);
	assert_false(sb.err);
	assert_string_equal(b, "0 18446744073709551615 -99 -9223372036854775808 000000042 1234");
	/* a number that does not fit is not cut */
	sb_init(&sb, b, 4);
	sb_u64(&sb, 12345);
	assert_true(sb.err);
	assert_string_equal(b, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sb_overflow),
		cmocka_unit_test(test_sb_numbers),
	};

	return cmocka_run_group_tests_name("test_sbuf", tests, NULL, NULL);
}
