// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/escape.c: JSON string escaping, UTF-8 validation,
 * terminal-safe text. */
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

#include "escape.h"
#include "sb_guard.h"

static char out[1024];

/* sb_json_str of n raw bytes into `out`; asserts it fit. */
static const char *json_str(const char *s, size_t n)
{
	struct sbuf sb;

	sb_init(&sb, out, sizeof(out));
	sb_json_str(&sb, s, n);
	assert_false(sb.err);
	assert_int_equal(sb.len, strlen(out));
	return out;
}

#define JSON_LIT(lit) json_str(lit, sizeof(lit) - 1)

/* ---- sb_json_str ---- */

static void test_json_str_ascii(void **state)
{
	(void)state;
	assert_string_equal(JSON_LIT("curl"), "\"curl\"");
	assert_string_equal(JSON_LIT(""), "\"\"");
	assert_string_equal(JSON_LIT("a b/c~{}"), "\"a b/c~{}\"");
	/* only n bytes are taken, not up to the NUL */
	assert_string_equal(json_str("abcdef", 3), "\"abc\"");
}

static void test_json_str_quote_backslash(void **state)
{
	(void)state;
	assert_string_equal(JSON_LIT("a\"b"), "\"a\\\"b\"");
	assert_string_equal(JSON_LIT("a\\b"), "\"a\\\\b\"");
	assert_string_equal(JSON_LIT("\"\\\""), "\"\\\"\\\\\\\"\"");
}

static void test_json_str_control(void **state)
{
	(void)state;
	assert_string_equal(JSON_LIT("a\nb"), "\"a\\nb\"");
	assert_string_equal(JSON_LIT("\r"), "\"\\r\"");
	assert_string_equal(JSON_LIT("\t"), "\"\\t\"");
	assert_string_equal(JSON_LIT("\b\f"), "\"\\b\\f\"");
	assert_string_equal(JSON_LIT("\x01"), "\"\\u0001\"");
	assert_string_equal(JSON_LIT("\x1f"), "\"\\u001f\"");
	assert_string_equal(JSON_LIT("\x7f"), "\"\\u007f\"");
	assert_string_equal(JSON_LIT("x\x1b[0m"), "\"x\\u001b[0m\"");
	/* an embedded NUL within n is escaped, not a terminator */
	assert_string_equal(json_str("a\0b", 3), "\"a\\u0000b\"");
	/* 0x20 and 0x7e are printable */
	assert_string_equal(JSON_LIT(" ~"), "\" ~\"");
}

static void test_json_str_utf8_valid(void **state)
{
	(void)state;
	assert_string_equal(JSON_LIT("\xc3\xa9"), "\"\xc3\xa9\"");		/* é */
	assert_string_equal(JSON_LIT("caf\xc3\xa9!"), "\"caf\xc3\xa9!\"");
	assert_string_equal(JSON_LIT("\xe2\x82\xac"), "\"\xe2\x82\xac\"");	/* € */
	assert_string_equal(JSON_LIT("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\""); /* 😀 */
	assert_string_equal(JSON_LIT("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\""); /* U+10FFFF */
	assert_string_equal(JSON_LIT("\xc2\xa0"), "\"\xc2\xa0\"");		/* U+00A0 */
	/* U+0080, a C1 control: the same string, escaped (test_text_controls) */
	assert_string_equal(JSON_LIT("\xc2\x80"), "\"\\u0080\"");
}

static void test_json_str_utf8_invalid(void **state)
{
	(void)state;
	assert_string_equal(JSON_LIT("\xff"), "\"\\ufffd\"");
	assert_string_equal(JSON_LIT("a\xff" "b"), "\"a\\ufffdb\"");
	/* truncated sequences at the end */
	assert_string_equal(JSON_LIT("ab\xc3"), "\"ab\\ufffd\"");
	assert_string_equal(JSON_LIT("\xe2\x82"), "\"\\ufffd\\ufffd\"");
	/* lead byte followed by a non-continuation byte */
	assert_string_equal(JSON_LIT("\xc3" "A"), "\"\\ufffdA\"");
	/* overlong forms */
	assert_string_equal(JSON_LIT("\xc0\xaf"), "\"\\ufffd\\ufffd\"");
	assert_string_equal(JSON_LIT("\xe0\x80\xaf"), "\"\\ufffd\\ufffd\\ufffd\"");
	assert_string_equal(JSON_LIT("\xf0\x80\x80\xaf"),
			    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* UTF-16 surrogate */
	assert_string_equal(JSON_LIT("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");
	/* beyond U+10FFFF */
	assert_string_equal(JSON_LIT("\xf4\x90\x80\x80"),
			    "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
	/* lone continuation byte */
	assert_string_equal(JSON_LIT("\x80"), "\"\\ufffd\"");
}

static void test_json_str_comm_16_no_nul(void **state)
{
	char comm[PW_COMM_LEN];

	(void)state;
	memcpy(comm, "0123456789abcdef", PW_COMM_LEN);	/* no NUL */
	assert_int_equal(pw_comm_len(comm), 16);
	assert_string_equal(json_str(comm, pw_comm_len(comm)), "\"0123456789abcdef\"");

	memset(comm, 0, sizeof(comm));
	memcpy(comm, "curl", 4);
	assert_int_equal(pw_comm_len(comm), 4);
	memset(comm, 0, sizeof(comm));
	assert_int_equal(pw_comm_len(comm), 0);
}

static void test_sb_json_str_overflow(void **state)
{
	unsigned char mem[24];
	char *buf = (char *)mem + 8;
	struct sbuf sb;

	(void)state;
	memset(mem, GUARD, sizeof(mem));
	sb_init(&sb, buf, 8);
	sb_json_str(&sb, "abcdefghijklmnop", 16);
	assert_true(sb.err);
	assert_true(sb.len < 8);
	assert_int_equal(strlen(buf), sb.len);
	check_guards(mem, 8, 8);

	/* an escape that does not fit is not cut in half */
	memset(mem, GUARD, sizeof(mem));
	sb_init(&sb, buf, 8);
	sb_json_str(&sb, "ab\x01", 3);
	assert_true(sb.err);
	assert_string_equal(buf, "\"ab");
	check_guards(mem, 8, 8);

	/* exactly fitting: "abcde" + quotes = 7 bytes + NUL */
	memset(mem, GUARD, sizeof(mem));
	sb_init(&sb, buf, 8);
	sb_json_str(&sb, "abcde", 5);
	assert_false(sb.err);
	assert_string_equal(buf, "\"abcde\"");
	check_guards(mem, 8, 8);

	/* one more byte and the closing quote does not fit */
	memset(mem, GUARD, sizeof(mem));
	sb_init(&sb, buf, 8);
	sb_json_str(&sb, "abcdef", 6);
	assert_true(sb.err);
	check_guards(mem, 8, 8);
}

/* ---- terminal-safe text ---- */

static void test_comm_text(void **state)
{
	char comm[PW_COMM_LEN], d[4 * PW_COMM_LEN];

	(void)state;
	memset(comm, 0, sizeof(comm));
	memcpy(comm, "curl", 4);
	pw_comm_text(d, sizeof(d), comm);
	assert_string_equal(d, "curl");

	memcpy(comm, "0123456789abcdef", PW_COMM_LEN);	/* no NUL */
	pw_comm_text(d, sizeof(d), comm);
	assert_string_equal(d, "0123456789abcdef");

	memset(comm, 0, sizeof(comm));
	memcpy(comm, "a\tb\x01" "c\x7f" "d\ne", 9);
	pw_comm_text(d, sizeof(d), comm);
	assert_string_equal(d, "a?b?c?d?e");

	memset(comm, 0, sizeof(comm));
	memcpy(comm, "x\xff" "y\xc3", 4);	/* bad byte, truncated at the end */
	pw_comm_text(d, sizeof(d), comm);
	assert_string_equal(d, "x?y?");

	memset(comm, 0, sizeof(comm));
	memcpy(comm, "caf\xc3\xa9 \xf0\x9f\x98\x80", 10);
	pw_comm_text(d, sizeof(d), comm);
	assert_string_equal(d, "caf\xc3\xa9 \xf0\x9f\x98\x80");

	memset(comm, 0, sizeof(comm));
	memcpy(comm, "\xed\xa0\x80", 3);	/* surrogate: one '?' per byte */
	pw_comm_text(d, sizeof(d), comm);
	assert_string_equal(d, "???");

	/* output bounded by sz */
	memset(comm, 0, sizeof(comm));
	memcpy(comm, "curl", 4);
	memset(d, 'x', sizeof(d));
	pw_comm_text(d, 4, comm);
	assert_string_equal(d, "cur");
	assert_int_equal(d[4], 'x');
	pw_comm_text(d, 1, comm);
	assert_string_equal(d, "");
}

/* C1 controls (0xc2 0x9b is CSI: ESC [ in one code point) and the bidi and
 * format controls: one '?' each in text, \uXXXX in JSON (the same string). */
static void test_text_controls(void **state)
{
	static const struct { const char *in, *text, *json; } cases[] = {
		{ "a\xc2\x9b" "31mb", "a?31mb", "\"a\\u009b31mb\"" },
		{ "\xc2\x80\xc2\x9f", "??", "\"\\u0080\\u009f\"" },
		{ "x\xe2\x80\xaey", "x?y", "\"x\\u202ey\"" },	/* RLO */
		{ "\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9", "???", "\"\\u202a\\u2066\\u2069\"" },
		{ "\xe2\x80\x8e\xe2\x80\x8f\xd8\x9c", "???", "\"\\u200e\\u200f\\u061c\"" },
		{ "\xe2\x80\xa8\xe2\x80\xa9", "??", "\"\\u2028\\u2029\"" },
		{ "\xe2\x81\xaf", "?", "\"\\u206f\"" },
		/* printable neighbours stay as they are */
		{ "\xc2\xa0\xc2\xa9\xe2\x80\x90\xe2\x81\xb0", "\xc2\xa0\xc2\xa9\xe2\x80\x90\xe2\x81\xb0",
		  "\"\xc2\xa0\xc2\xa9\xe2\x80\x90\xe2\x81\xb0\"" },
	};
	char comm[PW_COMM_LEN], d[4 * PW_COMM_LEN], buf[256];
	struct sbuf sb;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = strlen(cases[i].in);

		memset(comm, 0, sizeof(comm));
		memcpy(comm, cases[i].in, n);
		pw_comm_text(d, sizeof(d), comm);
		assert_string_equal(d, cases[i].text);
		sb_init(&sb, buf, sizeof(buf));
		sb_safe_text(&sb, cases[i].in, n);
		assert_false(sb.err);
		assert_string_equal(buf, cases[i].text);
		sb_init(&sb, buf, sizeof(buf));
		sb_json_str(&sb, cases[i].in, n);
		assert_false(sb.err);
		assert_string_equal(buf, cases[i].json);
	}
	for (unsigned int cp = 0x80; cp <= 0x9f; cp++)
		assert_true(pw_cp_is_control(cp));
	assert_false(pw_cp_is_control(0xa0));
	assert_false(pw_cp_is_control(0x2065));
	assert_false(pw_cp_is_control(0x2070));
	assert_false(pw_cp_is_control(0x20));
	assert_true(pw_cp_is_control(0x1b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_str_ascii),
		cmocka_unit_test(test_json_str_quote_backslash),
		cmocka_unit_test(test_json_str_control),
		cmocka_unit_test(test_json_str_utf8_valid),
		cmocka_unit_test(test_json_str_utf8_invalid),
		cmocka_unit_test(test_json_str_comm_16_no_nul),
		cmocka_unit_test(test_sb_json_str_overflow),
		cmocka_unit_test(test_comm_text),
		cmocka_unit_test(test_text_controls),
	};

	return cmocka_run_group_tests_name("test_escape", tests, NULL, NULL);
}
