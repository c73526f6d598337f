// SPDX-License-Identifier: GPL-2.0
/* The pure parts of the refused fixed port's diagnosis (portholder.c):
 * which socket on the port is to blame, and the ip_local_reserved_ports
 * value to set. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "census.h"
#include "mailbox.h"
#include "portholder.h"
#include "sysctl.h"
#include "workload.h"

static struct pw_port_sock sock(uint8_t state, uint16_t sport, uint32_t inode)
{
	struct pw_port_sock s = { .family = AF_INET, .state = state, .sport = sport,
				  .inode = inode };

	return s;
}

static void test_judge(void **state)
{
	struct pw_port_sock s[4] = { { 0 } };
	int pick;

	(void)state;
	assert_int_equal(pw_holder_judge(s, 0, IPPROTO_TCP, 40000, 40009, NULL, &pick), PW_HOLDER_NONE);
	assert_int_equal(pick, -1);
	/* an outbound connection in the range */
	s[0] = sock(PW_ST_ESTABLISHED, 40003, 11);
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_TCP, 40000, 40009, NULL, &pick),
			 PW_HOLDER_EPHEMERAL);
	assert_int_equal(pick, 0);
	/* the range's ends are in it */
	s[0] = sock(PW_ST_SYN_SENT, 40009, 11);
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_TCP, 40000, 40009, NULL, &pick),
			 PW_HOLDER_EPHEMERAL);
	/* outside the range: no range blame */
	s[0] = sock(PW_ST_ESTABLISHED, 40010, 11);
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_TCP, 40000, 40009, NULL, &pick), PW_HOLDER_BOUND);
	/* a listener wins over connections, in the range or not */
	s[0] = sock(PW_ST_ESTABLISHED, 40003, 11);
	s[1] = sock(PW_ST_TIME_WAIT, 40003, 0);
	s[2] = sock(PW_ST_LISTEN, 40003, 12);
	assert_int_equal(pw_holder_judge(s, 3, IPPROTO_TCP, 40000, 40009, NULL, &pick),
			 PW_HOLDER_LISTENER);
	assert_int_equal(pick, 2);
	/* one with a process is named before a TIME_WAIT one (no process) */
	s[0] = sock(PW_ST_TIME_WAIT, 40003, 0);
	s[1] = sock(PW_ST_ESTABLISHED, 40003, 13);
	assert_int_equal(pw_holder_judge(s, 2, IPPROTO_TCP, 40000, 40009, NULL, &pick),
			 PW_HOLDER_EPHEMERAL);
	assert_int_equal(pick, 1);
	/* TIME_WAIT alone: still the range's doing, no process */
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_TCP, 40000, 40009, NULL, &pick),
			 PW_HOLDER_EPHEMERAL);
	assert_int_equal(pick, 0);
	/* UDP has no listeners: state 10 means nothing there */
	s[0] = sock(PW_ST_LISTEN, 40003, 14);
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_UDP, 40000, 40009, NULL, &pick),
			 PW_HOLDER_EPHEMERAL);
	/* unknown range (lo > hi): never the range's */
	s[0] = sock(PW_ST_ESTABLISHED, 40003, 11);
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_TCP, 1, 0, NULL, &pick), PW_HOLDER_BOUND);
}

/* A port of ip_local_reserved_ports is never drawn by the kernel: a holder
 * there bound it explicitly; reserving it again would change nothing. */
static void test_judge_reserved(void **state)
{
	static uint8_t bits[PW_NPORTS / 8];
	struct pw_port_sock s[2] = { { 0 } };
	int pick;

	(void)state;
	memset(bits, 0, sizeof(bits));
	assert_true(pw_census_parse_ports("40005,8000-8010,9000", bits) > 0);
	s[0] = sock(PW_ST_ESTABLISHED, 40005, 11);
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_TCP, 40000, 40009, bits, &pick),
			 PW_HOLDER_BOUND);
	assert_int_equal(pick, 0);
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_UDP, 40000, 40009, bits, &pick),
			 PW_HOLDER_BOUND);
	/* its neighbours in the range are not reserved: ephemeral */
	s[0] = sock(PW_ST_ESTABLISHED, 40004, 11);
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_TCP, 40000, 40009, bits, &pick),
			 PW_HOLDER_EPHEMERAL);
	s[0] = sock(PW_ST_TIME_WAIT, 40006, 0);
	assert_int_equal(pw_holder_judge(s, 1, IPPROTO_TCP, 40000, 40009, bits, &pick),
			 PW_HOLDER_EPHEMERAL);
	/* a reserved one and an ephemeral one on the port: the ephemeral is named */
	s[0] = sock(PW_ST_ESTABLISHED, 40005, 11);
	s[1] = sock(PW_ST_ESTABLISHED, 40006, 12);
	assert_int_equal(pw_holder_judge(s, 2, IPPROTO_TCP, 40000, 40009, bits, &pick),
			 PW_HOLDER_EPHEMERAL);
	assert_int_equal(pick, 1);
}

static void test_reserved_value(void **state)
{
	static uint8_t bits[PW_NPORTS / 8];
	char buf[64];

	(void)state;
	memset(bits, 0, sizeof(bits));
	assert_true(pw_reserved_value(bits, 8080, buf, sizeof(buf)));
	assert_string_equal(buf, "8080");
	pw_port_set(bits, 18000);
	pw_port_set(bits, 18001);
	pw_port_set(bits, 18002);
	pw_port_set(bits, 40009);
	assert_true(pw_reserved_value(bits, 40008, buf, sizeof(buf)));
	assert_string_equal(buf, "18000-18002,40008-40009");
	/* joins two ranges; already reserved: the list unchanged */
	assert_true(pw_reserved_value(bits, 18003, buf, sizeof(buf)));
	assert_string_equal(buf, "18000-18003,40009");
	assert_true(pw_reserved_value(bits, 18001, buf, sizeof(buf)));
	assert_string_equal(buf, "18000-18002,40009");
	/* the ends of the port space */
	pw_port_set(bits, 65535);
	assert_true(pw_reserved_value(bits, 0, buf, sizeof(buf)));
	assert_string_equal(buf, "0,18000-18002,40009,65535");
	/* every other port (a hostile list): does not fit, said so, bounded */
	for (unsigned int p = 0; p < PW_NPORTS; p += 2)
		pw_port_set(bits, p);
	assert_false(pw_reserved_value(bits, 1, buf, sizeof(buf)));
}

static void test_bind_scope_judge(void **state)
{
	(void)state;
	/* some port free again by the lookup */
	assert_int_equal(pw_bind_scope_judge(false, 10, 9, 0), PW_SCOPE_RELEASED);
	assert_int_equal(pw_bind_scope_judge(true, 10, 9, 9), PW_SCOPE_RELEASED);
	/* taken for the address only: other addresses have ports */
	assert_int_equal(pw_bind_scope_judge(false, 10, 10, 0), PW_SCOPE_ADDRESS);
	assert_int_equal(pw_bind_scope_judge(false, 10, 10, 9), PW_SCOPE_ADDRESS);
	/* wildcard sockets on every port, or a wildcard bind: every address */
	assert_int_equal(pw_bind_scope_judge(false, 10, 10, 10), PW_SCOPE_RANGE);
	assert_int_equal(pw_bind_scope_judge(true, 10, 10, 0), PW_SCOPE_RANGE);
	/* an empty usable range (all reserved) */
	assert_int_equal(pw_bind_scope_judge(false, 0, 0, 0), PW_SCOPE_RANGE);
	assert_string_equal(pw_scope_verdict_name(PW_SCOPE_ADDRESS), "address_ports_taken");
	assert_string_equal(pw_scope_verdict_name(PW_SCOPE_RANGE), "range_exhausted");
	assert_string_equal(pw_scope_verdict_name(PW_SCOPE_UNKNOWN), "unknown");
}

static void test_addr_conflicts(void **state)
{
	uint8_t a1[16] = { 127, 0, 0, 1 }, a2[16] = { 127, 0, 0, 2 }, any[16] = { 0 };
	uint8_t m1[16] = { [10] = 0xff, [11] = 0xff, [12] = 127, [15] = 1 };
	uint8_t v6[16] = { [15] = 1 };

	(void)state;
	assert_true(pw_addr_conflicts(AF_INET, a1, AF_INET, a1));
	assert_false(pw_addr_conflicts(AF_INET, a1, AF_INET, a2));
	assert_true(pw_addr_conflicts(AF_INET, a1, AF_INET, any));
	assert_true(pw_addr_conflicts(AF_INET, any, AF_INET, a2));
	/* v4-mapped IPv6 is its IPv4 address; :: is every address */
	assert_true(pw_addr_conflicts(AF_INET, a1, AF_INET6, m1));
	assert_false(pw_addr_conflicts(AF_INET, a2, AF_INET6, m1));
	assert_true(pw_addr_conflicts(AF_INET, a1, AF_INET6, any));
	assert_false(pw_addr_conflicts(AF_INET6, v6, AF_INET, a1));
	/* an IPV6_V6ONLY [::] holds the port for IPv6 alone: no IPv4 or
	 * v4-mapped bind conflicts with it, an IPv6 one does */
	assert_false(pw_addr_conflicts_v6only(AF_INET, a1, AF_INET6, any, true));
	assert_false(pw_addr_conflicts_v6only(AF_INET, any, AF_INET6, any, true));
	assert_false(pw_addr_conflicts_v6only(AF_INET6, m1, AF_INET6, any, true));
	assert_true(pw_addr_conflicts_v6only(AF_INET6, v6, AF_INET6, any, true));
	assert_true(pw_addr_conflicts_v6only(AF_INET6, any, AF_INET6, any, true));
	assert_true(pw_addr_conflicts_v6only(AF_INET, a1, AF_INET6, any, false));
	/* the flag is the inet6 socket's: an IPv4 socket has none */
	assert_true(pw_addr_conflicts_v6only(AF_INET, a1, AF_INET, any, true));
}

/* A holder's cgroup path of control characters (each escaped as \\u00XX,
 * six bytes) far over the old 5 KiB buffer: the diagnosis is written
 * whole; one still too long goes without its workload, counted. */
static void test_write_long_workload(void **state)
{
	static char cg[20000], unit[20000];
	struct pw_diag_req r = { .netns = 1, .pid = 7, .tid = 7, .op = PW_OP_BIND_PORT,
				 .proto = IPPROTO_TCP, .comm = "client" };
	struct pw_port_sock sk = sock(PW_ST_LISTEN, 40005, 11);
	struct pw_workload w = { .id = 99 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	r.dest.family = AF_INET;
	r.dest.port = 40005;
	cg[0] = '/';
	memset(cg + 1, 1, 4000);
	cg[4001] = '\0';
	w.cgroup = cg;
	assert_int_equal(pw_holder_too_long(), 0);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	pw_holder_write(f, true, &r, PW_HOLDER_LISTENER, &sk, 4242, "server", &w, 99);
	assert_int_equal(fclose(f), 0);
	assert_true(len > 4000 * 6);
	assert_non_null(strstr(buf, "\"pid\":4242"));
	assert_non_null(strstr(buf, "\"cgroup\":\"/\\u0001\\u0001"));
	assert_int_equal(buf[len - 1], '\n');
	assert_int_equal(pw_holder_too_long(), 0);
	free(buf);
	/* over 64 KiB with the workload: written without it, counted */
	memset(cg + 1, 1, sizeof(cg) - 2);
	cg[sizeof(cg) - 1] = '\0';
	memset(unit, 2, sizeof(unit) - 1);
	w.unit = unit;
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	pw_holder_write(f, true, &r, PW_HOLDER_LISTENER, &sk, 4242, "server", &w, 99);
	assert_int_equal(fclose(f), 0);
	assert_true(len > 0 && len < 4096);
	assert_int_equal(buf[len - 1], '\n');
	assert_non_null(strstr(buf, "\"pid\":4242"));
	assert_non_null(strstr(buf, "\"cgroup\":null"));
	assert_int_equal(pw_holder_too_long(), 1);
	free(buf);
	/* the text line shows the unit's name, one byte a character: fits whole */
	buf = NULL;
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	pw_holder_write(f, false, &r, PW_HOLDER_LISTENER, &sk, 4242, "server", &w, 99);
	assert_int_equal(fclose(f), 0);
	assert_true(len > sizeof(unit) - 1);
	assert_int_equal(buf[len - 1], '\n');
	assert_non_null(strstr(buf, "pid 4242"));
	assert_int_equal(pw_holder_too_long(), 1);
	free(buf);
}

static struct pw_event bind_ev(uint8_t op, uint16_t sport, uint64_t ts_ns)
{
	struct pw_event e = { .ts_ns = ts_ns, .pid = 7, .tid = 7, .netns = 4026531840ull,
			      .family = AF_INET, .proto = IPPROTO_TCP, .op = op,
			      .sport = sport, .saddr = { 127, 0, 0, 1 } };

	return e;
}

/* The budget is taken before the mailbox: a burst on 10,000 distinct ports
 * within a second puts 32 requests in the queue others share, not 1024. */
static void test_ask_budget(void **state)
{
	static struct pw_diag_req reqs[PW_MAILBOX_REQS];
	struct pw_holder_asks *a = pw_holder_asks_new();
	struct pw_mailbox *mb = pw_mailbox_new();
	struct pw_mailbox_losses lo;
	struct pw_holder_skips sk;
	const uint64_t t0 = 5000000000ull;
	struct pw_event e;

	(void)state;
	assert_non_null(a);
	assert_non_null(mb);
	for (unsigned int i = 0; i < 10000; i++) {
		e = bind_ev(PW_OP_BIND_PORT, (uint16_t)(20000 + i), t0 + i * 99000ull);
		pw_holder_ask(a, mb, &e);
	}
	assert_int_equal(pw_mailbox_take_requests(mb, reqs), PW_HOLDER_PER_SEC);
	pw_mailbox_losses(mb, &lo);
	assert_int_equal(lo.diag_dropped, 0);
	pw_holder_asks_skips(a, &sk);
	assert_int_equal(sk.over_budget, 10000 - PW_HOLDER_PER_SEC);
	assert_int_equal(sk.limited, 0);
	assert_int_equal(sk.no_room, 0);
	/* a port refused over budget was not asked: not rate-limited later */
	e = bind_ev(PW_OP_BIND_PORT, 20000 + PW_HOLDER_PER_SEC, t0 + 1000000000ull);
	pw_holder_ask(a, mb, &e);
	/* bind(addr, 0): 4 of the next second's budget */
	for (unsigned int i = 0; i < 100; i++) {
		uint8_t addr = (uint8_t)(i + 1);

		e = bind_ev(PW_OP_BIND, 0, t0 + 1000000000ull + i);
		e.saddr[3] = addr;
		pw_holder_ask(a, mb, &e);
	}
	assert_int_equal(pw_mailbox_take_requests(mb, reqs), 1 + PW_SCOPE_PER_SEC);
	assert_int_equal(reqs[0].dest.port, 20000 + PW_HOLDER_PER_SEC);
	pw_holder_asks_skips(a, &sk);
	assert_int_equal(sk.over_budget, 10000 - PW_HOLDER_PER_SEC + 100 - PW_SCOPE_PER_SEC);
	pw_holder_asks_free(a);
	pw_mailbox_free(mb);
}

/* One batch: every lookup whose process is gone shares one listing of the
 * netns; within PW_HOLDER_BATCH_NS of a batch the requests wait. */
static void test_diagnose_batch(void **state)
{
	static struct pw_diag_req reqs[8];
	uint64_t before = pw_holder_netns_listings();
	char *buf = NULL;
	size_t len = 0, lines = 0;
	FILE *f;

	(void)state;
	for (int i = 0; i < 5; i++) {
		/* no such pid, no such netns: "the netns is gone" */
		reqs[i] = (struct pw_diag_req){ .netns = 1, .pid = 0x7ffffff0u + i,
						 .op = PW_OP_BIND_PORT, .proto = IPPROTO_TCP };
		reqs[i].dest.family = AF_INET;
		reqs[i].dest.port = (uint16_t)(30000 + i);
	}
	reqs[5] = (struct pw_diag_req){ .op = PW_OP_CONNECT };
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(pw_holder_diagnose(reqs, 6, f, false, 0, NULL, false), 1);
	assert_int_equal(reqs[0].op, PW_OP_CONNECT);
	assert_int_equal(pw_holder_netns_listings(), before + 1);
	assert_int_equal(pw_holder_due_ns(), 0);
	/* the next within PW_HOLDER_BATCH_NS waits */
	reqs[0] = reqs[1];
	assert_int_equal(pw_holder_diagnose(reqs, 1, f, false, 0, NULL, false), 0);
	assert_true(pw_holder_due_ns() > 0);
	assert_int_equal(fflush(f), 0);
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 5);
	assert_non_null(strstr(buf, "holder not looked up: the netns is gone"));
	/* flushed: written, one more listing */
	assert_int_equal(pw_holder_diagnose(reqs, 0, f, false, 0, NULL, true), 0);
	assert_int_equal(pw_holder_due_ns(), 0);
	assert_int_equal(pw_holder_netns_listings(), before + 2);
	assert_int_equal(fclose(f), 0);
	lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += buf[i] == '\n';
	assert_int_equal(lines, 6);
	free(buf);
}

static bool cg_of(const char *text, char *out, size_t sz)
{
	char path[] = "/tmp/pw_test_cgroupXXXXXX";
	int fd = mkstemp(path);
	bool r;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	r = pw_holder_cgroup_path(path, out, sz);
	unlink(path);
	return r;
}

/* The holder's cgroup: the one "0::/" line; a second "0::" line (a cgroup
 * name with a newline) means none, as sockgauge decides. */
static void test_cgroup_path(void **state)
{
	char out[4096 + 8];

	(void)state;
	assert_true(cg_of("0::/system.slice/a.service\n", out, sizeof(out)));
	assert_string_equal(out, "/system.slice/a.service");
	assert_true(cg_of("1:name=systemd:/x\n0::/b\n", out, sizeof(out)));
	assert_string_equal(out, "/b");
	assert_false(cg_of("0::/evil\n0::/kubepods.slice/victim\n", out, sizeof(out)));
	assert_false(cg_of("0::/a\n0::x\n", out, sizeof(out)));
	assert_false(cg_of("1:cpu:/a\n", out, sizeof(out)));
	assert_false(cg_of("0::/a\n", out, 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_judge),
		cmocka_unit_test(test_judge_reserved),
		cmocka_unit_test(test_bind_scope_judge),
		cmocka_unit_test(test_addr_conflicts),
		cmocka_unit_test(test_reserved_value),
		cmocka_unit_test(test_write_long_workload),
		cmocka_unit_test(test_ask_budget),
		cmocka_unit_test(test_diagnose_batch),
		cmocka_unit_test(test_cgroup_path),
	};

	return cmocka_run_group_tests_name("test_portholder", tests, NULL, NULL);
}
