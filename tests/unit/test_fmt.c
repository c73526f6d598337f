// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/fmt.c: time, duration and address text, and the
 * printf-free writers against libc. */
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

#include "fmt.h"

/* Realtime 1795989000.123456789 s = 2026-11-29T21:50:00.123456789Z. */
#define TIME_TEXT	"2026-11-29T21:50:00.123456789Z"

static void test_time_rfc3339(void **state)
{
	char t[48];

	(void)state;
	pw_time_rfc3339(t, sizeof(t), 1795989000123456789ull);
	assert_string_equal(t, TIME_TEXT);
	pw_time_rfc3339(t, sizeof(t), 0);
	assert_string_equal(t, "1970-01-01T00:00:00.000000000Z");
	pw_time_rfc3339(t, sizeof(t), 951782400000000001ull);	/* leap day 2000 */
	assert_string_equal(t, "2000-02-29T00:00:00.000000001Z");
	pw_time_rfc3339(t, sizeof(t), 1704067199999999999ull);
	assert_string_equal(t, "2023-12-31T23:59:59.999999999Z");
}

static void test_duration_text(void **state)
{
	char d[24];

	(void)state;
	pw_duration_text(d, sizeof(d), 0);
	assert_string_equal(d, "0.0us");
	pw_duration_text(d, sizeof(d), 7000);
	assert_string_equal(d, "7.0us");
	pw_duration_text(d, sizeof(d), 9900);
	assert_string_equal(d, "9.9us");
	pw_duration_text(d, sizeof(d), 9999);	/* rounds into the next unit */
	assert_string_equal(d, "10us");
	pw_duration_text(d, sizeof(d), 10000);
	assert_string_equal(d, "10us");
	pw_duration_text(d, sizeof(d), 182000);
	assert_string_equal(d, "182us");
	pw_duration_text(d, sizeof(d), 999499);
	assert_string_equal(d, "999us");
	pw_duration_text(d, sizeof(d), 999999);
	assert_string_equal(d, "1.00ms");
	pw_duration_text(d, sizeof(d), 1000000);
	assert_string_equal(d, "1.00ms");
	pw_duration_text(d, sizeof(d), 1250000);
	assert_string_equal(d, "1.25ms");
	pw_duration_text(d, sizeof(d), 3900000);
	assert_string_equal(d, "3.90ms");
	pw_duration_text(d, sizeof(d), 999000000);
	assert_string_equal(d, "999.00ms");
	pw_duration_text(d, sizeof(d), 999999999);
	assert_string_equal(d, "1.00s");
	pw_duration_text(d, sizeof(d), 1000000000);
	assert_string_equal(d, "1.00s");
	pw_duration_text(d, sizeof(d), 3900000000ull);
	assert_string_equal(d, "3.90s");
}

static void test_addr_text(void **state)
{
	uint8_t a[16] = { 0 };
	char s[INET6_ADDRSTRLEN];

	(void)state;
	memcpy(a, "\xc0\x00\x02\x01", 4);
	pw_addr_text(s, sizeof(s), AF_INET, a);
	assert_string_equal(s, "192.0.2.1");
	pw_addr_text(s, sizeof(s), 0, a);	/* unknown family: nothing made up */
	assert_string_equal(s, "");
	memset(a, 0, sizeof(a));
	pw_addr_text(s, sizeof(s), AF_INET, a);
	assert_string_equal(s, "0.0.0.0");

	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", a), 1);
	pw_addr_text(s, sizeof(s), AF_INET6, a);
	assert_string_equal(s, "2001:db8::1");
	assert_int_equal(inet_pton(AF_INET6, "::1", a), 1);
	pw_addr_text(s, sizeof(s), AF_INET6, a);
	assert_string_equal(s, "::1");
	assert_int_equal(inet_pton(AF_INET6, "::ffff:10.1.2.3", a), 1);
	pw_addr_text(s, sizeof(s), AF_INET6, a);
	assert_string_equal(s, "::ffff:10.1.2.3");

	/* too small a buffer: empty, not truncated garbage */
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", a), 1);
	memset(s, 'x', sizeof(s));
	pw_addr_text(s, 5, AF_INET6, a);
	assert_string_equal(s, "");
}

/* ---- the printf-free writer against libc ---- */

/* sb_addr writes what inet_ntop writes, for every shape of zero runs (all
 * 256 patterns of zero/non-zero groups, with several non-zero values) and
 * random addresses, v4-mapped and v4-compatible ones included. */
static void test_addr_matches_inet_ntop(void **state)
{
	char want[INET6_ADDRSTRLEN], got[64];
	uint8_t a[16];
	struct sbuf sb;
	unsigned int seed = 42;

	(void)state;
	for (int round = 0; round < 4096 + 20000; round++) {
		if (round < 4096) {
			int pattern = round % 256;
			unsigned int v = round / 256 == 0 ? 1 : round / 256 == 1 ? 0xffff :
					 (unsigned int)(round * 2654435761u) & 0xffff;

			for (int g = 0; g < 8; g++) {
				unsigned int w = pattern >> g & 1 ? (v ? v : 1) : 0;

				a[2 * g] = w >> 8;
				a[2 * g + 1] = w & 0xff;
			}
		} else {
			for (int i = 0; i < 16; i++)
				a[i] = rand_r(&seed) & (i % 3 ? 0xff : 0x0f);
			if (round % 5 == 0)
				memset(a, 0, 10 + (round % 3));
			if (round % 7 == 0) {
				memset(a, 0, 10);
				a[10] = a[11] = 0xff;
			}
		}
		inet_ntop(AF_INET6, a, want, sizeof(want));
		sb_init(&sb, got, sizeof(got));
		sb_addr(&sb, AF_INET6, a);
		assert_false(sb.err);
		assert_string_equal(got, want);
		inet_ntop(AF_INET, a, want, sizeof(want));
		sb_init(&sb, got, sizeof(got));
		sb_addr(&sb, AF_INET, a);
		assert_string_equal(got, want);
	}
}

/* The duration text at every rounding edge, as printf's "%.Nf" gives it
 * (away from exact halves, where the two may round differently). */
static void test_duration_matches_printf(void **state)
{
	char want[32], got[32];
	uint64_t ns;

	(void)state;
	for (ns = 0; ns < 20000000000ull; ns = ns * 11 / 10 + 7) {
		uint64_t step = ns < 9950 ? 100 : ns < 999500 ? 1000 : ns < 999995000 ? 10000 : 10000000;

		if (ns % step == step / 2)
			continue;	/* an exact half: libc rounds the binary double */
		if (ns < 9950)
			snprintf(want, sizeof(want), "%.1fus", ns / 1e3);
		else if (ns < 999500)
			snprintf(want, sizeof(want), "%.0fus", ns / 1e3);
		else if (ns < 999995000)
			snprintf(want, sizeof(want), "%.2fms", ns / 1e6);
		else
			snprintf(want, sizeof(want), "%.2fs", ns / 1e9);
		pw_duration_text(got, sizeof(got), ns);
		assert_string_equal(got, want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_rfc3339),
		cmocka_unit_test(test_duration_text),
		cmocka_unit_test(test_addr_text),
		cmocka_unit_test(test_addr_matches_inet_ntop),
		cmocka_unit_test(test_duration_matches_printf),
	};

	return cmocka_run_group_tests_name("test_fmt", tests, NULL, NULL);
}
