// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/output_json.c and user/output_text.c: one event as
 * NDJSON and as a text line, the workload fields and column. */
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
#include "sb_guard.h"

/* Realtime 1795989000.123456789 s = 2026-11-29T21:50:00.123456789Z. */
#define MONO_NS		5000123456789ull
#define MONO_TO_REAL	1795984000000000000ll
#define TIME_TEXT	"2026-11-29T21:50:00.123456789Z"

static char out[1024];

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
	};

	return cmocka_run_group_tests_name("test_output", tests, group_setup, NULL);
}
