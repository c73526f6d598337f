// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/output.c: JSON escaping, the bounded string builder,
 * names, time and duration text, one event as NDJSON and as a text line. */
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

#include "output.h"
#include "workload.h"

/* Realtime 1795989000.123456789 s = 2026-11-29T21:50:00.123456789Z. */
#define MONO_NS		5000123456789ull
#define MONO_TO_REAL	1795984000000000000ll
#define TIME_TEXT	"2026-11-29T21:50:00.123456789Z"

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

/* ---- sbuf ---- */

#define GUARD 0xa5

static void check_guards(const unsigned char *mem, size_t lo, size_t hi)
{
	for (size_t i = 0; i < lo; i++)
		assert_int_equal(mem[i], GUARD);
	for (size_t i = 0; i < hi; i++)
		assert_int_equal(mem[lo + 8 + i], GUARD);
}

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

/* ---- names ---- */

static void test_errno_names(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(pw_errno_name(99), "EADDRNOTAVAIL");
	assert_string_equal(pw_errno_name(111), "ECONNREFUSED");
	assert_string_equal(pw_errno_name(1), "EPERM");
	assert_string_equal(pw_errno_name(115), "EINPROGRESS");
	assert_null(pw_errno_name(0));
	assert_null(pw_errno_name(4242));
	assert_null(pw_errno_name(-99));

	assert_string_equal(pw_errno_label(99, buf, sizeof(buf)), "EADDRNOTAVAIL");
	assert_string_equal(pw_errno_label(4242, buf, sizeof(buf)), "E4242");
	assert_string_equal(buf, "E4242");
	assert_string_equal(pw_errno_label(0, buf, sizeof(buf)), "E0");
	/* a failure whose errno the mode does not see: the summary's key */
	assert_string_equal(pw_errno_label(PW_ERR_UNKNOWN, buf, sizeof(buf)), "unknown");
}

static void test_cause_mode_family_names(void **state)
{
	(void)state;
	assert_null(pw_cause_name(PW_CAUSE_NONE));
	assert_string_equal(pw_cause_name(PW_CAUSE_RANGE_EXHAUSTED), "port_range_exhausted");
	assert_string_equal(pw_cause_name(PW_CAUSE_BOUND_CONFLICT), "bound_port_conflict");
	assert_string_equal(pw_cause_name(PW_CAUSE_NO_SOURCE), "no_source_address");
	assert_string_equal(pw_cause_name(PW_CAUSE_OTHER), "other");
	assert_string_equal(pw_cause_name(PW_CAUSE_AFTER_PORT_SELECTION), "after_port_selection");
	assert_null(pw_cause_name(6));
	assert_null(pw_cause_name(255));

	assert_string_equal(pw_mode_name(PW_MODE_FENTRY), "fentry");
	assert_string_equal(pw_mode_name(PW_MODE_KPROBE), "kprobe");
	assert_string_equal(pw_mode_name(PW_MODE_TRACEPOINT), "tracepoint");
	assert_string_equal(pw_mode_name(0), "unknown");
	assert_string_equal(pw_mode_name(4), "unknown");

	assert_string_equal(pw_family_name(AF_INET), "inet");
	assert_string_equal(pw_family_name(AF_INET6), "inet6");
	assert_string_equal(pw_family_name(0), "unknown");
	assert_string_equal(pw_family_name(AF_UNIX), "unknown");
}

/* ---- time, duration, addresses, comm ---- */

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

/* ---- events ---- */

static void fill_failure(struct pw_event *e)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = MONO_NS;
	e->scan_ns = 3900000;
	e->netns = 4026532260ull;
	e->cgroup_id = 1234;
	e->pid = 4242;
	e->tid = 4243;
	e->uid = 1000;
	e->ret = -99;
	e->ports_checked = 28232;	/* no PW_HAS_PORTS_CHECKED: must be null */
	e->flags = PW_HAS_RANGE | PW_HAS_TW_REUSE | PW_HAS_SCAN_NS | PW_HAS_SCAN;
	e->family = AF_INET;
	e->sport = 0;
	e->dport = 8080;
	e->range_lo = 40000;
	e->range_hi = 40009;
	e->tw_reuse = 0;
	e->cause = PW_CAUSE_RANGE_EXHAUSTED;
	e->mode = PW_MODE_KPROBE;
	memcpy(e->daddr, "\x7f\x00\x00\x01", 4);
	memcpy(e->comm, "curl", 4);
}

static void fill_success6(struct pw_event *e)
{
	memset(e, 0, sizeof(*e));
	e->ts_ns = MONO_NS;
	e->scan_ns = 182000;
	e->netns = 4026531840ull;
	e->cgroup_id = 1;
	e->pid = 7;
	e->tid = 8;
	e->uid = 0;
	e->ret = 0;
	e->ports_checked = 3;
	e->flags = PW_HAS_TW_REUSE | PW_HAS_SCAN_NS | PW_HAS_PORTS_CHECKED | PW_HAS_SCAN;
	e->family = AF_INET6;
	e->sport = 40001;
	e->dport = 443;
	e->tw_reuse = 2;
	e->cause = PW_CAUSE_NONE;
	e->mode = PW_MODE_FENTRY;
	assert_int_equal(inet_pton(AF_INET6, "::1", e->saddr), 1);
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::10", e->daddr), 1);
	memcpy(e->comm, "wget", 4);
}

static const char *event_json(const struct pw_event *e)
{
	struct sbuf sb;

	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_json(&sb, e, MONO_TO_REAL, NULL));
	assert_false(sb.err);
	return out;
}

static void test_event_json_failure(void **state)
{
	struct pw_event e;

	(void)state;
	fill_failure(&e);
	assert_string_equal(event_json(&e),
		"{\"type\":\"connect\",\"time\":\"" TIME_TEXT "\",\"pid\":4242,\"tid\":4243,"
		"\"uid\":1000,\"comm\":\"curl\",\"family\":\"inet\",\"saddr\":\"0.0.0.0\","
		"\"sport\":0,\"daddr\":\"127.0.0.1\",\"dport\":8080,\"ret\":-99,"
		"\"errno\":\"EADDRNOTAVAIL\",\"cause\":\"port_range_exhausted\","
		"\"netns\":4026532260,\"cgroup_id\":1234,\"port_range\":[40000,40009],"
		"\"tw_reuse\":0,\"scan_ns\":3900000,\"ports_checked\":null,\"mode\":\"kprobe\",\"op\":\"connect\","
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null,\"thread\":null}");
}

static void test_event_json_success(void **state)
{
	struct pw_event e;

	(void)state;
	fill_success6(&e);
	assert_string_equal(event_json(&e),
		"{\"type\":\"connect\",\"time\":\"" TIME_TEXT "\",\"pid\":7,\"tid\":8,"
		"\"uid\":0,\"comm\":\"wget\",\"family\":\"inet6\",\"saddr\":\"::1\","
		"\"sport\":40001,\"daddr\":\"2001:db8::10\",\"dport\":443,\"ret\":0,"
		"\"errno\":null,\"cause\":null,"
		"\"netns\":4026531840,\"cgroup_id\":1,\"port_range\":null,"
		"\"tw_reuse\":2,\"scan_ns\":182000,\"ports_checked\":3,\"mode\":\"fentry\",\"op\":\"connect\","
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null,\"thread\":null}");
}

static void test_event_json_no_flags(void **state)
{
	struct pw_event e;

	(void)state;
	fill_failure(&e);
	e.flags = 0;
	e.ret = -111;
	e.cause = PW_CAUSE_OTHER;
	e.mode = PW_MODE_TRACEPOINT;
	e.tw_reuse = 1;
	e.range_lo = 1;
	e.range_hi = 2;
	assert_string_equal(event_json(&e),
		"{\"type\":\"connect\",\"time\":\"" TIME_TEXT "\",\"pid\":4242,\"tid\":4243,"
		"\"uid\":1000,\"comm\":\"curl\",\"family\":\"inet\",\"saddr\":\"0.0.0.0\","
		"\"sport\":0,\"daddr\":\"127.0.0.1\",\"dport\":8080,\"ret\":-111,"
		"\"errno\":\"ECONNREFUSED\",\"cause\":\"other\","
		"\"netns\":4026532260,\"cgroup_id\":1234,\"port_range\":null,"
		"\"tw_reuse\":null,\"scan_ns\":null,\"ports_checked\":null,\"mode\":\"tracepoint\",\"op\":\"connect\","
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null,\"thread\":null}");
}

/* Tracepoint mode, a failure after port selection took a port: the errno
 * is not seen, so ret and errno are null, never a made-up value. */
static void test_event_json_after_port_selection(void **state)
{
	struct pw_event e;

	(void)state;
	fill_failure(&e);
	e.flags = PW_HAS_RANGE | PW_HAS_TW_REUSE | PW_HAS_SCAN;
	e.ret = -PW_ERR_UNKNOWN;
	e.cause = PW_CAUSE_AFTER_PORT_SELECTION;
	e.mode = PW_MODE_TRACEPOINT;
	e.sport = 40003;
	assert_string_equal(event_json(&e),
		"{\"type\":\"connect\",\"time\":\"" TIME_TEXT "\",\"pid\":4242,\"tid\":4243,"
		"\"uid\":1000,\"comm\":\"curl\",\"family\":\"inet\",\"saddr\":\"0.0.0.0\","
		"\"sport\":40003,\"daddr\":\"127.0.0.1\",\"dport\":8080,\"ret\":null,"
		"\"errno\":null,\"cause\":\"after_port_selection\","
		"\"netns\":4026532260,\"cgroup_id\":1234,\"port_range\":[40000,40009],"
		"\"tw_reuse\":0,\"scan_ns\":null,\"ports_checked\":null,\"mode\":\"tracepoint\",\"op\":\"connect\","
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null,\"thread\":null}");
}

static void test_event_json_unknown_errno_and_bad_comm(void **state)
{
	struct pw_event e;

	(void)state;
	fill_failure(&e);
	e.ret = -4242;
	e.cause = PW_CAUSE_OTHER;
	e.flags = PW_HAS_PORTS_CHECKED;
	e.ports_checked = 0;
	memset(e.comm, 0, sizeof(e.comm));
	memcpy(e.comm, "a\"b\\c\n\xff" "z", 8);
	assert_string_equal(event_json(&e),
		"{\"type\":\"connect\",\"time\":\"" TIME_TEXT "\",\"pid\":4242,\"tid\":4243,"
		"\"uid\":1000,\"comm\":\"a\\\"b\\\\c\\n\\ufffdz\",\"family\":\"inet\","
		"\"saddr\":\"0.0.0.0\",\"sport\":0,\"daddr\":\"127.0.0.1\",\"dport\":8080,"
		"\"ret\":-4242,\"errno\":\"E4242\",\"cause\":\"other\","
		"\"netns\":4026532260,\"cgroup_id\":1234,\"port_range\":null,"
		"\"tw_reuse\":null,\"scan_ns\":null,\"ports_checked\":0,\"mode\":\"kprobe\",\"op\":\"connect\","
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null,\"thread\":null}");

	/* a 16-byte comm with no NUL is taken whole, nothing read past it */
	memcpy(e.comm, "0123456789abcdef", PW_COMM_LEN);
	assert_non_null(strstr(event_json(&e), ",\"comm\":\"0123456789abcdef\",\"family\":"));
}

static void test_event_json_overflow(void **state)
{
	unsigned char mem[8 + 64 + 8];
	struct pw_event e;
	struct sbuf sb;

	(void)state;
	fill_failure(&e);
	memset(mem, GUARD, sizeof(mem));
	sb_init(&sb, (char *)mem + 8, 64);
	assert_false(pw_event_json(&sb, &e, MONO_TO_REAL, NULL));
	assert_true(sb.err);
	assert_true(sb.len < 64);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(mem[i], GUARD);
		assert_int_equal(mem[8 + 64 + i], GUARD);
	}
}

#define NCOLS 10

/* Column starts of a text line: after each run of separating spaces. */
static void column_starts(const char *line, size_t *starts)
{
	size_t col = 0, i = 0;

	while (col < NCOLS && line[i]) {
		starts[col++] = i;
		while (line[i] && line[i] != ' ')
			i++;
		while (line[i] == ' ')
			i++;
	}
	assert_int_equal(col, NCOLS);
}

/* The row pw_event_text must produce: each field at its header column.
 * Checks that every field but the last fits before the next column. */
static const char *expected_row(const char *const f[NCOLS])
{
	static char row[512];
	size_t hs[NCOLS], len = 0;

	column_starts(pw_event_header(), hs);
	for (size_t i = 0; i < NCOLS; i++) {
		size_t fl = strlen(f[i]);

		assert_int_equal(len, hs[i]);
		memcpy(row + len, f[i], fl);
		len += fl;
		if (i + 1 < NCOLS) {
			assert_true(len < hs[i + 1]);	/* at least one space */
			memset(row + len, ' ', hs[i + 1] - len);
			len = hs[i + 1];
		}
	}
	row[len] = '\0';
	return row;
}

static const char *event_text(const struct pw_event *e)
{
	struct sbuf sb;

	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_text(&sb, e, MONO_TO_REAL, NULL));
	assert_false(sb.err);
	return out;
}

/* A connect whose address the kernel did not take (shorter than the
 * family's sockaddr, or another family): no destination, null, whatever
 * bytes daddr and dport hold. */
static void test_event_no_dest(void **state)
{
	static const char *const f[NCOLS] = {
		"21:50:00.123", "4242", "curl", "ipv4", "-",
		"EINVAL", "other", "40000-40009", "-", "?",
	};
	struct pw_event e;

	(void)state;
	fill_failure(&e);
	e.ret = -22;
	e.cause = PW_CAUSE_OTHER;
	e.flags = PW_HAS_RANGE | PW_HAS_TW_REUSE | PW_NO_DEST;
	memcpy(e.daddr, "\xde\xad\xbe\xef", 4);
	assert_string_equal(event_json(&e),
		"{\"type\":\"connect\",\"time\":\"" TIME_TEXT "\",\"pid\":4242,\"tid\":4243,"
		"\"uid\":1000,\"comm\":\"curl\",\"family\":\"inet\",\"saddr\":\"0.0.0.0\","
		"\"sport\":0,\"daddr\":null,\"dport\":null,\"ret\":-22,"
		"\"errno\":\"EINVAL\",\"cause\":\"other\","
		"\"netns\":4026532260,\"cgroup_id\":1234,\"port_range\":[40000,40009],"
		"\"tw_reuse\":0,\"scan_ns\":null,\"ports_checked\":null,\"mode\":\"kprobe\",\"op\":\"connect\","
		"\"cgroup\":null,\"unit\":null,\"container_id\":null,\"pod\":null,\"container\":null,\"thread\":null}");
	assert_string_equal(event_text(&e), expected_row(f));
}

static void test_event_header(void **state)
{
	static const size_t first[] = { 0, 13, 21, 38, 44 };
	size_t hs[NCOLS];

	(void)state;
	assert_string_equal(pw_event_header(),
		"TIME         PID     COMM             FAM   DESTINATION                  "
		"ERRNO          CAUSE                 RANGE        SCAN           WORKLOAD");
	column_starts(pw_event_header(), hs);
	for (size_t i = 0; i < sizeof(first) / sizeof(first[0]); i++)
		assert_int_equal(hs[i], first[i]);
	/* stable across calls */
	assert_ptr_equal(pw_event_header(), pw_event_header());
}

static void test_event_text_failure(void **state)
{
	static const char *const f[NCOLS] = {
		"21:50:00.123", "4242", "curl", "ipv4", "127.0.0.1:8080",
		"EADDRNOTAVAIL", "port_range_exhausted", "40000-40009", "3.90ms", "?",
	};
	size_t hs[NCOLS], rs[NCOLS];
	struct pw_event e;

	(void)state;
	fill_failure(&e);
	assert_string_equal(event_text(&e), expected_row(f));
	/* the first columns, spelled out */
	assert_int_equal(strncmp(out, "21:50:00.123 4242    curl             ipv4  127.0.0.1:8080 ",
				 59), 0);
	column_starts(pw_event_header(), hs);
	column_starts(out, rs);
	for (size_t i = 0; i < NCOLS; i++)
		assert_int_equal(rs[i], hs[i]);
}

static void test_event_text_after_port_selection(void **state)
{
	static const char *const f[NCOLS] = {
		"21:50:00.123", "4242", "curl", "ipv4", "127.0.0.1:8080",
		"unknown", "after_port_selection", "40000-40009", "-", "?",
	};
	struct pw_event e;

	(void)state;
	fill_failure(&e);
	e.flags &= ~PW_HAS_SCAN_NS;
	e.ret = -PW_ERR_UNKNOWN;
	e.cause = PW_CAUSE_AFTER_PORT_SELECTION;
	assert_string_equal(event_text(&e), expected_row(f));
}

static void test_event_text_success6(void **state)
{
	static const char *const f[NCOLS] = {
		"21:50:00.123", "7", "wget", "ipv6", "[::1]:443",
		"-", "ok", "-", "182us 3 ports", "?",
	};
	struct pw_event e;

	(void)state;
	fill_success6(&e);
	assert_int_equal(inet_pton(AF_INET6, "::1", e.daddr), 1);
	assert_string_equal(event_text(&e), expected_row(f));
}

static void test_event_text_comm_sanitized(void **state)
{
	static const char *const f[NCOLS] = {
		"21:50:00.123", "1", "a?b?c?d", "ipv4", "10.0.0.1:80",
		"ECONNREFUSED", "other", "-", "-", "?",
	};
	struct pw_event e;

	(void)state;
	fill_failure(&e);
	e.pid = 1;
	e.ret = -111;
	e.cause = PW_CAUSE_OTHER;
	e.flags = 0;
	memcpy(e.daddr, "\x0a\x00\x00\x01", 4);
	e.dport = 80;
	memset(e.comm, 0, sizeof(e.comm));
	memcpy(e.comm, "a\tb\x01" "c\xff" "d", 7);
	assert_string_equal(event_text(&e), expected_row(f));
	assert_null(strchr(out, '\t'));
	assert_null(strchr(out, '\x01'));
}

static int group_setup(void **state)
{
	(void)state;
	if (setenv("TZ", "UTC", 1))
		return -1;
	tzset();
	return 0;
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

/* The workload fields and the thread's own name, in JSON and in the text
 * column; escaping of names that came from the filesystem. */
static void test_event_workload(void **state)
{
	struct pw_workload w;
	struct pw_event e;
	struct sbuf sb;

	(void)state;
	fill_failure(&e);
	memcpy(e.thread, "http-nio-8080-e", 16);
	assert_int_equal(pw_workload_parse("/kubepods/burstable/pod6f1e2c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6/"
					   "0123456789abcdef0123456789abcdef", &w), 0);
	w.pod_namespace = strdup("shop");
	w.pod_name = strdup("web\"1");
	w.container = strdup("app");
	assert_non_null(strstr(event_json(&e), ",\"cgroup_id\":1234,"));
	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_json(&sb, &e, MONO_TO_REAL, &w));
	assert_non_null(strstr(out,
		",\"cgroup\":\"/kubepods/burstable/pod6f1e2c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6/"
		"0123456789abcdef0123456789abcdef\",\"unit\":null,"
		"\"container_id\":\"0123456789abcdef0123456789abcdef\","
		"\"pod\":{\"namespace\":\"shop\",\"name\":\"web\\\"1\","
		"\"uid\":\"6f1e2c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6\",\"qos\":\"burstable\"},"
		"\"container\":\"app\",\"thread\":\"http-nio-8080-e\"}"));
	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_text(&sb, &e, MONO_TO_REAL, &w));
	assert_non_null(strstr(out, " shop/web\"1/app"));
	/* the same name: no thread; no names: the uid and the id's first 12 */
	memcpy(e.thread, e.comm, 16);
	free(w.pod_name);
	w.pod_name = NULL;
	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_json(&sb, &e, MONO_TO_REAL, &w));
	assert_non_null(strstr(out, ",\"thread\":null}"));
	assert_non_null(strstr(out, "\"pod\":{\"namespace\":\"shop\",\"name\":null,"));
	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_text(&sb, &e, MONO_TO_REAL, &w));
	assert_non_null(strstr(out, " pod:6f1e2c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6/0123456789ab"));
	pw_workload_clear(&w);
	/* a unit: its name; a control byte in a cgroup name: '?' */
	assert_int_equal(pw_workload_parse("/system.slice/nginx.service", &w), 0);
	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_text(&sb, &e, MONO_TO_REAL, &w));
	assert_int_equal(strcmp(out + strlen(out) - 14, " nginx.service"), 0);
	pw_workload_clear(&w);
	assert_int_equal(pw_workload_parse("/a\tb", &w), 0);
	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_text(&sb, &e, MONO_TO_REAL, &w));
	assert_int_equal(strcmp(out + strlen(out) - 5, " /a?b"), 0);
	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_json(&sb, &e, MONO_TO_REAL, &w));
	assert_non_null(strstr(out, ",\"cgroup\":\"/a\\tb\","));
	pw_workload_clear(&w);
	/* the root cgroup, and a cgroup gone: "-" */
	assert_int_equal(pw_workload_parse("/", &w), 0);
	sb_init(&sb, out, sizeof(out));
	assert_true(pw_event_text(&sb, &e, MONO_TO_REAL, &w));
	assert_int_equal(strcmp(out + strlen(out) - 2, " -"), 0);
	pw_workload_clear(&w);
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
		cmocka_unit_test(test_sb_overflow),
		cmocka_unit_test(test_sb_json_str_overflow),
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_cause_mode_family_names),
		cmocka_unit_test(test_time_rfc3339),
		cmocka_unit_test(test_duration_text),
		cmocka_unit_test(test_addr_text),
		cmocka_unit_test(test_comm_text),
		cmocka_unit_test(test_text_controls),
		cmocka_unit_test(test_event_json_failure),
		cmocka_unit_test(test_event_json_success),
		cmocka_unit_test(test_event_json_no_flags),
		cmocka_unit_test(test_event_json_after_port_selection),
		cmocka_unit_test(test_event_no_dest),
		cmocka_unit_test(test_event_json_unknown_errno_and_bad_comm),
		cmocka_unit_test(test_event_json_overflow),
		cmocka_unit_test(test_event_workload),
		cmocka_unit_test(test_event_header),
		cmocka_unit_test(test_event_text_failure),
		cmocka_unit_test(test_event_text_after_port_selection),
		cmocka_unit_test(test_event_text_success6),
		cmocka_unit_test(test_event_text_comm_sanitized),
		cmocka_unit_test(test_addr_matches_inet_ntop),
		cmocka_unit_test(test_sb_numbers),
		cmocka_unit_test(test_duration_matches_printf),
	};

	return cmocka_run_group_tests_name("test_output", tests, group_setup, NULL);
}
