// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/sysctl.c: the reserved-ports parser, and the port
 * settings of our own netns. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "sysctl.h"

static uint8_t bits[65536 / 8];

static bool bit(unsigned int p)
{
	return bits[p / 8] & (1u << (p % 8));
}

static int parse(const char *s)
{
	memset(bits, 0, sizeof(bits));
	return pw_census_parse_ports(s, bits);
}

/* ---- pw_census_parse_ports ---- */

static void test_ports_empty(void **state)
{
	(void)state;
	assert_int_equal(parse(""), 0);
	assert_int_equal(parse("\n"), 0);
	for (unsigned int p = 0; p < 65536; p++)
		assert_false(bit(p));
}

static void test_ports_list(void **state)
{
	(void)state;
	assert_int_equal(parse("8080,9000-9010\n"), 12);
	assert_true(bit(8080));
	assert_false(bit(8079));
	assert_false(bit(8081));
	assert_false(bit(8999));
	assert_true(bit(9000));
	assert_true(bit(9005));
	assert_true(bit(9010));
	assert_false(bit(9011));
	assert_int_equal(parse("40008"), 1);
	assert_true(bit(40008));
	assert_int_equal(parse("0,65535"), 2);
	assert_true(bit(0));
	assert_true(bit(65535));
	/* overlapping entries count once */
	assert_int_equal(parse("1-3,2-4,3"), 4);
	assert_int_equal(parse("7-7"), 1);
}

static void test_ports_bad(void **state)
{
	(void)state;
	assert_int_equal(parse("abc"), -EINVAL);
	assert_int_equal(parse("1-"), -EINVAL);
	assert_int_equal(parse("5-3"), -EINVAL);
	assert_int_equal(parse("65536"), -EINVAL);
	assert_int_equal(parse("1,,2"), -EINVAL);
	assert_int_equal(parse("1 2"), -EINVAL);
	assert_int_equal(parse("-5"), -EINVAL);
	assert_int_equal(parse("1-2-3"), -EINVAL);
}

/* ---- pw_read_small, pw_ns_settings_read ---- */

static void test_read_small(void **state)
{
	char buf[4];

	(void)state;
	/* at most sz - 1 bytes, NUL-terminated */
	assert_int_equal(pw_read_small("/proc/sys/net/ipv4/ip_local_port_range", buf,
				       sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 3);
	assert_int_equal(pw_read_small("/nonexistent", buf, sizeof(buf)), -ENOENT);
}

/* Our own netns's settings, as /proc/sys shows them to this test. */
static void test_settings_own_netns(void **state)
{
	static struct pw_ns_settings s;
	char err[256] = "", buf[256];
	int lo, hi, reuse;
	FILE *f;

	(void)state;
	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d %d", &lo, &hi), 2);
	fclose(f);
	f = fopen("/proc/sys/net/ipv4/tcp_tw_reuse", "r");
	assert_non_null(f);
	assert_int_equal(fscanf(f, "%d", &reuse), 1);
	fclose(f);
	assert_int_equal(pw_ns_settings_read(&s, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(s.lo, lo);
	assert_int_equal(s.hi, hi);
	assert_int_equal(s.tw_reuse, reuse);
	/* the reserved list as the parser reads it */
	f = fopen("/proc/sys/net/ipv4/ip_local_reserved_ports", "r");
	assert_non_null(f);
	if (fgets(buf, sizeof(buf), f) && strlen(buf) < sizeof(buf) - 1) {
		static uint8_t want[PW_NPORTS / 8];

		assert_true(pw_census_parse_ports(buf, want) >= 0);
		assert_memory_equal(s.reserved, want, sizeof(want));
	}
	fclose(f);
}

static void write_file(const char *path, const char *s, size_t n)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(s, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* A reserved list read whole and parsed is ok; a failed read, a bad list
 * or one that fills the buffer (cut: it may go on) is not, and a value
 * built on it would wipe the rest of the list. */
static void test_reserved_read(void **state)
{
	static uint8_t bits[PW_NPORTS / 8], want[PW_NPORTS / 8];
	static char buf[65536], big[70000];
	char path[] = "/tmp/pw_test_reservedXXXXXX";
	int fd = mkstemp(path);
	size_t n = 0;

	(void)state;
	assert_true(fd >= 0);
	close(fd);
	write_file(path, "8000-8010,9000\n", 15);
	assert_true(pw_reserved_read(path, buf, sizeof(buf), bits));
	memset(want, 0, sizeof(want));
	assert_int_equal(pw_census_parse_ports("8000-8010,9000", want), 12);
	assert_memory_equal(bits, want, sizeof(want));
	/* empty: ok, nothing reserved */
	write_file(path, "\n", 1);
	assert_true(pw_reserved_read(path, buf, sizeof(buf), bits));
	memset(want, 0, sizeof(want));
	assert_memory_equal(bits, want, sizeof(want));
	/* a bad list: not ok, nothing kept */
	write_file(path, "8000,x\n", 7);
	assert_false(pw_reserved_read(path, buf, sizeof(buf), bits));
	assert_memory_equal(bits, want, sizeof(want));
	/* a list longer than the buffer, valid where it is cut: not ok */
	for (unsigned int p = 1; n < sizeof(big) - 8; p += 2)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%u,", p);
	big[n - 1] = '\n';
	write_file(path, big, n);
	assert_false(pw_reserved_read(path, buf, sizeof(buf), bits));
	/* one that fits in a buffer of its size plus one: ok */
	assert_true(pw_reserved_read(path, big, sizeof(big), bits));
	unlink(path);
	/* unreadable: not ok */
	assert_false(pw_reserved_read("/nonexistent", buf, sizeof(buf), bits));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_empty),
		cmocka_unit_test(test_ports_list),
		cmocka_unit_test(test_ports_bad),
		cmocka_unit_test(test_read_small),
		cmocka_unit_test(test_settings_own_netns),
		cmocka_unit_test(test_reserved_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
