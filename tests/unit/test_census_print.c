// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/census_print.c: the diagnosis line and JSON, the
 * NDJSON and text output of a hand-built census. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "census_print.h"
#include "output.h"

#define NETNS 4026532260ull

/* ---- hand-built census ---- */

static struct pw_census_dest dest4(const char *a, uint16_t port)
{
	struct pw_census_dest d;

	memset(&d, 0, sizeof(d));
	d.dest.family = AF_INET;
	d.dest.port = port;
	assert_int_equal(inet_pton(AF_INET, a, d.dest.addr), 1);
	return d;
}

static struct pw_census_dest dest6(const char *a, uint16_t port)
{
	struct pw_census_dest d;

	memset(&d, 0, sizeof(d));
	d.dest.family = AF_INET6;
	d.dest.port = port;
	assert_int_equal(inet_pton(AF_INET6, a, d.dest.addr), 1);
	return d;
}

static struct pw_census_ns ns_of(struct pw_census_dest *d, size_t n)
{
	struct pw_census_ns ns;

	memset(&ns, 0, sizeof(ns));
	ns.netns = NETNS;
	ns.range_lo = 40000;
	ns.range_hi = 40009;
	ns.reserved = 1;
	ns.bind_owned = 1;
	ns.range_size = 8;
	ns.sockets = 13;
	ns.ndests = n;
	ns.dests = d;
	return ns;
}

/* What a FILE * writer printed. */
static char *capture(void (*fn)(FILE *, const struct pw_census_ns *), const struct pw_census_ns *ns)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, ns);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void test_diag_line_v4(void **state)
{
	struct pw_census_dest d = dest4("127.0.0.1", 8080);
	struct pw_census_ns ns = ns_of(&d, 1);
	char line[256];

	(void)state;
	ns.range_size = 10;
	d.held = 10;
	d.states[6] = 10;
	d.usage = 1.0;
	pw_census_diag_line(line, sizeof(line), &ns, &d);
	assert_string_equal(line,
		"127.0.0.1:8080 (netns 4026532260): 10/10 ports held, 10 TIME_WAIT, tw_reuse=0");
}

static void test_diag_line_v6_states(void **state)
{
	struct pw_census_dest d = dest6("::1", 443);
	struct pw_census_ns ns = ns_of(&d, 1);
	char line[256];

	(void)state;
	ns.tw_reuse = 2;
	d.held = 8;
	d.states[6] = 4;
	d.states[1] = 3;
	d.states[5] = 1;
	d.reusable_time_wait = 2;
	pw_census_diag_line(line, sizeof(line), &ns, &d);
	assert_string_equal(line, "[::1]:443 (netns 4026532260): 8/8 ports held, 4 TIME_WAIT, "
			    "2 reusable, 3 ESTABLISHED, 1 FIN_WAIT2, tw_reuse=2");

	/* nothing held: still one line, with 0 TIME_WAIT */
	memset(d.states, 0, sizeof(d.states));
	d.held = 0;
	d.reusable_time_wait = 0;
	pw_census_diag_line(line, sizeof(line), &ns, &d);
	assert_string_equal(line, "[::1]:443 (netns 4026532260): 0/8 ports held, 0 TIME_WAIT, tw_reuse=2");

	/* a short buffer is cut, still terminated */
	pw_census_diag_line(line, 12, &ns, &d);
	assert_true(strlen(line) < 12);
}

static void test_diag_json(void **state)
{
	struct pw_census_dest d = dest4("127.0.0.1", 8080);
	struct pw_census_ns ns = ns_of(&d, 1);
	char buf[512], *mem = NULL;
	size_t len = 0;
	struct sbuf sb;
	FILE *f;

	(void)state;
	ns.range_size = 10;
	d.held = 10;
	d.states[6] = 10;
	d.usage = 1.0;
	sb_init(&sb, buf, sizeof(buf));
	assert_true(pw_census_diag_sb(&sb, &ns, &d));
	assert_string_equal(buf,
		"{\"netns\":4026532260,\"daddr\":\"127.0.0.1\",\"dport\":8080,\"held\":10,"
		"\"range_size\":10,\"usage\":1.0,\"states\":{\"TIME_WAIT\":10},"
		"\"reusable_time_wait\":0,\"tw_reuse\":0}");

	f = open_memstream(&mem, &len);
	assert_non_null(f);
	pw_census_diag_json(f, &ns, &d);
	fclose(f);
	assert_string_equal(mem, buf);
	free(mem);

	/* no room: reported, not half-written by the FILE variant */
	sb_init(&sb, buf, 20);
	assert_false(pw_census_diag_sb(&sb, &ns, &d));
}

/* The scenario of tests/census.sh, by hand. */
static void scenario(struct pw_census_dest d[2])
{
	static struct pw_holder h[2];

	d[0] = dest4("127.0.0.1", 18100);
	d[0].held = 5;
	d[0].states[6] = 5;
	d[0].usage = 5.0 / 8;
	d[1] = dest4("127.0.0.1", 18101);
	d[1].held = 3;
	d[1].states[1] = 3;
	d[1].usage = 3.0 / 8;
	d[1].nholders = 2;
	d[1].holders = h;
	d[1].holders[0].pid = 4242;
	strcpy(d[1].holders[0].comm, "bash");
	d[1].holders[0].sockets = 2;
	d[1].holders[1].pid = 77;
	memcpy(d[1].holders[1].comm, "a\"b\\c\n\x01", 8);
	d[1].holders[1].sockets = 1;
}

static void test_print_json(void **state)
{
	struct pw_census_dest d[2];
	struct pw_census_ns ns;
	char *out;

	(void)state;
	scenario(d);
	ns = ns_of(d, 2);
	out = capture(pw_census_print_json, &ns);
	assert_string_equal(out,
		"{\"type\":\"census\",\"netns\":4026532260,\"daddr\":\"127.0.0.1\",\"dport\":18100,"
		"\"states\":{\"TIME_WAIT\":5},\"held\":5,\"range_size\":8,\"usage\":0.625,"
		"\"reusable_time_wait\":0,\"holders\":[]}\n"
		"{\"type\":\"census\",\"netns\":4026532260,\"daddr\":\"127.0.0.1\",\"dport\":18101,"
		"\"states\":{\"ESTABLISHED\":3},\"held\":3,\"range_size\":8,\"usage\":0.375,"
		"\"reusable_time_wait\":0,\"holders\":[{\"pid\":4242,\"comm\":\"bash\",\"sockets\":2},"
		"{\"pid\":77,\"comm\":\"a\\\"b\\\\c\\n\\u0001\",\"sockets\":1}]}\n");
	free(out);
}

static void test_print_json_v6_usage(void **state)
{
	struct pw_census_dest d = dest6("::ffff:127.0.0.1", 80);
	struct pw_census_ns ns = ns_of(&d, 1);
	char *out;

	(void)state;
	ns.range_size = 3;
	d.held = 1;
	d.states[2] = 1;
	d.usage = 1.0 / 3;
	out = capture(pw_census_print_json, &ns);
	assert_string_equal(out,
		"{\"type\":\"census\",\"netns\":4026532260,\"daddr\":\"::ffff:127.0.0.1\",\"dport\":80,"
		"\"states\":{\"SYN_SENT\":1},\"held\":1,\"range_size\":3,\"usage\":0.3333,"
		"\"reusable_time_wait\":0,\"holders\":[]}\n");
	free(out);
	d.usage = 0;
	out = capture(pw_census_print_json, &ns);
	assert_non_null(strstr(out, "\"usage\":0.0,"));
	free(out);
}

static void test_print_text(void **state)
{
	struct pw_census_dest d[2];
	struct pw_census_ns ns;
	char *out;

	(void)state;
	scenario(d);
	d[0].states[8] = 1;	/* CLOSE_WAIT */
	d[0].states[9] = 2;	/* LAST_ACK: OTHER */
	d[0].states[4] = 1;	/* FIN_WAIT1 */
	d[0].states[5] = 1;	/* FIN_WAIT2 */
	d[0].reusable_time_wait = 4;
	ns = ns_of(d, 2);
	out = capture(pw_census_print_text, &ns);
	assert_string_equal(out,
		"netns 4026532260: ip_local_port_range 40000-40009 (8 usable: 1 reserved, "
		"1 owned by bind/listeners), tcp_tw_reuse 0, 13 sockets\n"
		"DEST             HELD  USAGE  ESTAB  SYN_SENT  TIME_WAIT  FIN_WAIT  CLOSE_WAIT  OTHER  REUSABLE_TW  HOLDERS\n"
		"127.0.0.1:18100     5  62.5%      0         0          5         2           1      2            4  -\n"
		"127.0.0.1:18101     3  37.5%      3         0          0         0           0      0            0  4242/bash x2, 77/a\"b\\c?? x1\n");
	free(out);
}

static void test_print_text_v6_width(void **state)
{
	struct pw_census_dest d = dest6("2001:db8::1", 443);
	struct pw_census_ns ns = ns_of(&d, 1);
	char *out, *second;

	(void)state;
	d.held = 8;
	d.usage = 1.0;
	out = capture(pw_census_print_text, &ns);
	second = strchr(out, '\n') + 1;
	assert_memory_equal(second, "DEST               HELD", 23);
	assert_non_null(strstr(out, "\n[2001:db8::1]:443     8  100.0%"));
	free(out);
}

static void test_print_empty(void **state)
{
	struct pw_census_ns ns = ns_of(NULL, 0);
	char *out;

	(void)state;
	out = capture(pw_census_print_text, &ns);
	assert_string_equal(out, "netns 4026532260: no connecting TCP sockets\n");
	free(out);
	out = capture(pw_census_print_json, &ns);
	assert_string_equal(out, "");
	free(out);
}

/* The UDP part: a line after the TCP table (or its "no connecting TCP
 * sockets"), one census_udp object after the census objects; nothing when
 * not taken. */
static void test_print_udp(void **state)
{
	struct pw_census_ns ns = ns_of(NULL, 0);
	char *out;

	(void)state;
	ns.udp = (struct pw_census_udp){ .taken = true, .reserved = 1, .range_size = 9,
					 .held = 3, .usage = 3.0 / 9, .sockets = 5,
					 .sockets_in_range = 4, .nholders = 2 };
	ns.udp.holders[0] = (struct pw_holder){ .pid = 42, .comm = "dns\x1b]", .sockets = 3 };
	ns.udp.holders[1] = (struct pw_holder){ .pid = 7, .comm = "ntp", .sockets = 1 };
	out = capture(pw_census_print_text, &ns);
	assert_string_equal(out, "netns 4026532260: no connecting TCP sockets\n"
			    "netns 4026532260 udp: 3/9 ports of the range held (33.3%; 1 reserved), "
			    "4 of 5 UDP sockets in it, holders 42/dns?] x3, 7/ntp x1\n");
	free(out);
	out = capture(pw_census_print_json, &ns);
	assert_string_equal(out, "{\"type\":\"census_udp\",\"netns\":4026532260,"
			    "\"port_range\":[40000,40009],\"reserved\":1,\"range_size\":9,"
			    "\"held\":3,\"usage\":0.3333,\"sockets_in_range\":4,\"sockets\":5,"
			    "\"holders\":[{\"pid\":42,\"comm\":\"dns\\u001b]\",\"sockets\":3},"
			    "{\"pid\":7,\"comm\":\"ntp\",\"sockets\":1}]}\n");
	free(out);
	ns.udp.nholders = 0;
	out = capture(pw_census_print_text, &ns);
	assert_non_null(strstr(out, "UDP sockets in it, holders -\n"));
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_diag_line_v4),
		cmocka_unit_test(test_diag_line_v6_states),
		cmocka_unit_test(test_diag_json),
		cmocka_unit_test(test_print_json),
		cmocka_unit_test(test_print_json_v6_usage),
		cmocka_unit_test(test_print_text),
		cmocka_unit_test(test_print_text_v6_width),
		cmocka_unit_test(test_print_empty),
		cmocka_unit_test(test_print_udp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
