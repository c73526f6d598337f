// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/census.c: the reserved-ports parser, state names,
 * loopback test, the diagnosis line and JSON, the NDJSON and text output of
 * a hand-built census, --netns resolution, and one live census of our own
 * netns with sockets this test opens. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <cmocka.h>

#include "census.h"
#include "census_print.h"
#include "netns.h"
#include "sysctl.h"
#include "../fuzz/census_input.h"
#include "output.h"

#define NETNS 4026532260ull

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

/* ---- names, loopback ---- */

static void test_state_names(void **state)
{
	(void)state;
	assert_null(pw_tcp_state_name(0));
	assert_string_equal(pw_tcp_state_name(1), "ESTABLISHED");
	assert_string_equal(pw_tcp_state_name(2), "SYN_SENT");
	assert_string_equal(pw_tcp_state_name(5), "FIN_WAIT2");
	assert_string_equal(pw_tcp_state_name(6), "TIME_WAIT");
	assert_string_equal(pw_tcp_state_name(8), "CLOSE_WAIT");
	assert_string_equal(pw_tcp_state_name(10), "LISTEN");
	assert_string_equal(pw_tcp_state_name(12), "NEW_SYN_RECV");
	assert_string_equal(pw_tcp_state_name(13), "BOUND_INACTIVE");
	assert_null(pw_tcp_state_name(14));
}

static bool loopback(int family, const char *text)
{
	uint8_t a[16] = { 0 };

	assert_int_equal(inet_pton(family, text, a), 1);
	return pw_addr_is_loopback(family, a);
}

static void test_loopback(void **state)
{
	uint8_t zero[16] = { 0 };

	(void)state;
	assert_true(loopback(AF_INET, "127.0.0.1"));
	assert_true(loopback(AF_INET, "127.255.0.9"));
	assert_false(loopback(AF_INET, "128.0.0.1"));
	assert_false(loopback(AF_INET, "10.0.0.1"));
	assert_true(loopback(AF_INET6, "::1"));
	assert_true(loopback(AF_INET6, "::ffff:127.0.0.1"));
	assert_true(loopback(AF_INET6, "::ffff:127.1.2.3"));
	assert_false(loopback(AF_INET6, "::ffff:10.0.0.1"));
	assert_false(loopback(AF_INET6, "::2"));
	assert_false(loopback(AF_INET6, "2001:db8::1"));
	assert_false(pw_addr_is_loopback(AF_INET6, zero));
	assert_false(pw_addr_is_loopback(AF_UNIX, zero));
}

/* ---- hand-built census ---- */

static struct pw_census_dest dest4(const char *a, uint16_t port)
{
	struct pw_census_dest d;

	memset(&d, 0, sizeof(d));
	d.family = AF_INET;
	d.dport = port;
	assert_int_equal(inet_pton(AF_INET, a, d.daddr), 1);
	return d;
}

static struct pw_census_dest dest6(const char *a, uint16_t port)
{
	struct pw_census_dest d;

	memset(&d, 0, sizeof(d));
	d.family = AF_INET6;
	d.dport = port;
	assert_int_equal(inet_pton(AF_INET6, a, d.daddr), 1);
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

/* ---- --netns resolution ---- */

static void test_open_netns(void **state)
{
	char err[256], spec[32];
	struct stat a, b;
	int fd;

	(void)state;
	fd = pw_census_open_netns("/proc/self/ns/net", err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat("/proc/self/ns/net", &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);

	snprintf(spec, sizeof(spec), "%d", getpid());
	fd = pw_census_open_netns(spec, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);

	assert_int_equal(pw_census_open_netns("/nonexistent", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent: No such file or directory");
	assert_int_equal(pw_census_open_netns("/etc/passwd", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/etc/passwd is not a namespace file");
	assert_int_equal(pw_census_open_netns("/proc/self/ns/uts", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/proc/self/ns/uts is not a network namespace");
	/* beyond PID_MAX_LIMIT (4194304): never a process */
	assert_int_equal(pw_census_open_netns("99999999", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no process with PID 99999999");
	assert_int_equal(pw_census_open_netns("", err, sizeof(err)), -EINVAL);
	assert_int_equal(pw_census_open_netns("/", err, sizeof(err)), -EINVAL);
}

static void test_list_netns(void **state)
{
	uint64_t *inos;
	struct stat self;
	int *fds, n;

	(void)state;
	n = pw_census_list_netns(&fds, &inos);
	assert_true(n >= 1);
	assert_int_equal(stat("/proc/self/ns/net", &self), 0);
	/* ours first */
	assert_int_equal(inos[0], self.st_ino);
	for (int i = 0; i < n; i++) {
		struct stat st;

		assert_int_equal(fstat(fds[i], &st), 0);
		assert_int_equal(st.st_ino, inos[i]);
		for (int j = 0; j < i; j++)
			assert_true(inos[j] != inos[i]);
		close(fds[i]);
	}
	free(fds);
	free(inos);
}

/* ---- a live census of our own netns ---- */

/* A listener on 127.0.0.1:<kernel's pick> (bind-owned, from the ephemeral
 * range) with two connected clients: the census towards it must show
 * exactly those two, held by us. */
static void test_take_own_netns(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pw_census_filter f = { .one_dest = true, .family = AF_INET, .holders = true };
	socklen_t sl = sizeof(sin);
	struct pw_census_ns ns;
	struct stat self;
	char err[256], own[64] = "";
	int lsn, c1, c2, lo, hi, nsfd;
	FILE *rf;

	(void)state;
	lsn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lsn >= 0);
	assert_int_equal(bind(lsn, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lsn, 8), 0);
	assert_int_equal(getsockname(lsn, (struct sockaddr *)&sin, &sl), 0);
	c1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	c2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(c1, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(connect(c2, (struct sockaddr *)&sin, sizeof(sin)), 0);
	f.dport = ntohs(sin.sin_port);
	memcpy(f.daddr, &sin.sin_addr, 4);

	rf = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	assert_non_null(rf);
	assert_int_equal(fscanf(rf, "%d %d", &lo, &hi), 2);
	fclose(rf);
	assert_int_equal(stat("/proc/self/ns/net", &self), 0);
	assert_int_equal(readlink("/proc/self/ns/net", own, sizeof(own) - 1) > 0, 1);

	/* -1 and an fd of our own netns (no setns needed) give the same */
	nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	for (int pass = 0; pass < 2; pass++) {
		int r = pw_census_take(pass ? nsfd : -1, &f, &ns, err, sizeof(err));

		assert_int_equal(r, 0);
		assert_int_equal(ns.netns, self.st_ino);
		assert_int_equal(ns.range_lo, lo);
		assert_int_equal(ns.range_hi, hi);
		assert_true(ns.bind_owned >= 1);
		/* listener and 2 clients; the accepted ones fail the dport filter */
		assert_true(ns.sockets >= 3);
		assert_int_equal(ns.ndests, 1);
		assert_int_equal(ns.dests[0].family, AF_INET);
		assert_int_equal(ns.dests[0].dport, f.dport);
		assert_int_equal(ns.dests[0].held, 2);
		assert_int_equal(ns.dests[0].states[1], 2);
		assert_int_equal(ns.dests[0].nholders, 1);
		assert_int_equal(ns.dests[0].holders[0].pid, getpid());
		assert_int_equal(ns.dests[0].holders[0].sockets, 2);
		pw_census_free(&ns);
	}
	close(nsfd);

	/* a destination nobody talks to: one all-zero entry */
	f.dport ^= 1;
	assert_int_equal(pw_census_take(-1, &f, &ns, err, sizeof(err)), 0);
	assert_int_equal(ns.ndests, 1);
	assert_int_equal(ns.dests[0].held, 0);
	assert_int_equal(ns.dests[0].nholders, 0);
	pw_census_free(&ns);

	/* a bad fd: error, and we are still where we were */
	assert_true(pw_census_take(9999, &f, &ns, err, sizeof(err)) < 0);
	assert_string_equal(err, "netns fd: Bad file descriptor");
	{
		char now[64] = "";

		assert_true(readlink("/proc/self/ns/net", now, sizeof(now) - 1) > 0);
		assert_string_equal(now, own);
	}
	close(c1);
	close(c2);
	close(lsn);
}

/* ---- pw_census_replay on dumps recorded by tests/fuzz/record.sh ---- */

/* A seed of fuzz_census (census_input.h), into out (the header's fields). */
static void *load_seed(const char *name, struct pw_census_replay_in *in)
{
	char path[256];
	FILE *f;
	long n;
	char *buf;
	struct fz_census_hdr h;

	snprintf(path, sizeof(path), "tests/fuzz/corpus/census/%s", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc(n);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, n, f), n);
	fclose(f);
	assert_true(n >= (long)sizeof(h));
	memcpy(&h, buf, sizeof(h));
	in->lo = h.lo;
	in->hi = h.hi;
	in->tw_reuse = h.tw_reuse;
	/* past the 32-byte header: still 4-byte aligned */
	in->owners = buf + sizeof(h);
	in->owners_len = h.owners_len;
	in->others = buf + sizeof(h) + h.owners_len;
	in->others_len = n - sizeof(h) - h.owners_len;
	return buf;
}

static void test_replay_recorded(void **state)
{
	struct pw_census_replay_in in = { 0 };
	struct pw_census_filter f = { .one_dest = true, .family = AF_INET, .dport = 18101,
				      .daddr = { 127, 0, 0, 1 } };
	struct pw_census_ns ns;
	void *buf = load_seed("tw_estab_reuse0", &in);

	(void)state;
	/* the scenario: listeners on 40005 and 18101, 5 TIME_WAIT towards
	 * 127.0.0.1:18100, 3 towards [::1]:18102, 2 ESTABLISHED to :18101 */
	assert_int_equal(pw_census_replay(&in, &ns), 0);
	assert_int_equal(ns.range_lo, 40000);
	assert_int_equal(ns.range_hi, 40009);
	assert_int_equal(ns.bind_owned, 1);
	assert_int_equal(ns.range_size, 9);
	assert_int_equal(ns.ndests, 3);
	assert_int_equal(ns.dests[0].dport, 18100);
	assert_int_equal(ns.dests[0].held, 5);
	assert_int_equal(ns.dests[0].states[6], 5);
	assert_int_equal(ns.dests[0].reusable_time_wait, 0);	/* tw_reuse=0 */
	assert_int_equal(ns.dests[1].dport, 18102);
	assert_int_equal(ns.dests[1].family, AF_INET6);
	assert_int_equal(ns.dests[1].held, 3);
	assert_int_equal(ns.dests[2].dport, 18101);
	assert_int_equal(ns.dests[2].held, 2);
	assert_int_equal(ns.dests[2].states[1], 2);
	pw_census_free(&ns);

	/* one destination only */
	in.filter = &f;
	assert_int_equal(pw_census_replay(&in, &ns), 0);
	assert_int_equal(ns.ndests, 1);
	assert_int_equal(ns.dests[0].held, 2);
	pw_census_free(&ns);

	/* cut anywhere: never more than the whole, never a crash */
	in.filter = NULL;
	for (size_t cut = 0; cut < in.others_len; cut += 4) {
		size_t all = in.others_len;

		in.others_len = cut;
		assert_int_equal(pw_census_replay(&in, &ns), 0);
		assert_true(ns.ndests <= 3);
		pw_census_free(&ns);
		in.others_len = all;
	}
	free(buf);
}

/* ---- bounded by design: 200,000 TIME_WAIT destinations ---- */

struct diag_rec {
	struct nlmsghdr h;
	struct inet_diag_msg m;
};

static void tw_rec(struct diag_rec *r, uint32_t daddr, uint16_t dport, uint16_t sport)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = sizeof(*r);
	r->h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	r->h.nlmsg_seq = 7;
	r->m.idiag_family = AF_INET;
	r->m.idiag_state = 6;	/* TIME_WAIT */
	r->m.id.idiag_sport = htons(sport);
	r->m.id.idiag_dport = htons(dport);
	r->m.id.idiag_src[0] = htonl(0x7f000001);
	r->m.id.idiag_dst[0] = htonl(daddr);
	r->m.idiag_expires = 50000;
}

/* A tenant's 200,000 TIME_WAIT sockets to distinct 127.x.y.z:9000, and
 * the 10 of the destination that really holds the range (127.0.0.1:8080,
 * 10/10), last in the dump: at most PW_CENSUS_MAX_DESTS rows, the first
 * the real one with its exact counts, the rest in "other", the totals
 * exact; the census's peak RSS grows by less than 8 MiB (before: a row
 * per destination, ~70 MB). */
static void test_census_bounded_destinations(void **state)
{
	const size_t junk = 200000, n = junk + 10;
	struct diag_rec *rec = calloc(n + 1, sizeof(*rec));
	struct nlmsghdr done = { .nlmsg_len = sizeof(done) + 4, .nlmsg_type = NLMSG_DONE,
				 .nlmsg_seq = 7 };
	struct pw_census_replay_in in = { .lo = 40000, .hi = 40009, .tw_reuse = 0 };
	char owners[sizeof(done) + 4] = { 0 };
	struct pw_census_ns ns;
	struct rusage a, b;
	uint64_t held, tw;
	char dst[INET_ADDRSTRLEN];

	(void)state;
	assert_non_null(rec);
	for (size_t i = 0; i < junk; i++)
		tw_rec(&rec[i], 0x7f010000 + (uint32_t)i, 9000, 40000 + i % 10);
	for (size_t i = 0; i < 10; i++)
		tw_rec(&rec[junk + i], 0x7f000001, 8080, 40000 + i);
	memcpy(&rec[n], &done, sizeof(done));
	memcpy(owners, &done, sizeof(done));
	in.owners = owners;
	in.owners_len = sizeof(owners);
	in.others = rec;
	in.others_len = n * sizeof(*rec) + sizeof(done) + 4;
	getrusage(RUSAGE_SELF, &a);
	assert_int_equal(pw_census_replay(&in, &ns), 0);
	getrusage(RUSAGE_SELF, &b);
	print_message("  %zu rows, peak RSS grew %ld KiB\n", ns.ndests, b.ru_maxrss - a.ru_maxrss);
	assert_true(ns.ndests <= PW_CENSUS_MAX_DESTS);
	assert_true(ns.ndests >= 1);
	inet_ntop(AF_INET, ns.dests[0].daddr, dst, sizeof(dst));
	assert_string_equal(dst, "127.0.0.1");
	assert_int_equal(ns.dests[0].dport, 8080);
	assert_int_equal(ns.dests[0].held, 10);
	assert_int_equal(ns.dests[0].states[6], 10);
	assert_true(ns.other_dests_folded);
	held = ns.other.held;
	tw = ns.other.states[6];
	for (size_t i = 0; i < ns.ndests; i++) {
		held += ns.dests[i].held;
		tw += ns.dests[i].states[6];
	}
	assert_int_equal(held, n);
	assert_int_equal(tw, n);
	assert_int_equal(ns.sockets, n);
	assert_true(b.ru_maxrss - a.ru_maxrss < 8 * 1024);
	pw_census_free(&ns);
	free(rec);
}

/* ---- the calling thread's netns, not the thread group leader's ---- */

struct thread_ns {
	int err;		/* unshare's errno: 0, or why the test cannot run */
	uint64_t own, seen, after;
};

static void *in_own_netns(void *arg)
{
	struct thread_ns *t = arg;
	struct pw_census_ns ns;
	struct stat st;
	char err[256];
	int leader;

	/* this thread only: the process (and its leader) stay where they are */
	if (unshare(CLONE_NEWNET)) {
		t->err = errno;
		return NULL;
	}
	if (stat("/proc/thread-self/ns/net", &st))
		return NULL;
	t->own = st.st_ino;
	if (!pw_census_settings(-1, &ns, err, sizeof(err)))
		t->seen = ns.netns;
	/* a census of the leader's netns, then back to this thread's own */
	leader = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (leader >= 0) {
		pw_census_settings(leader, &ns, err, sizeof(err));
		close(leader);
	}
	if (!stat("/proc/thread-self/ns/net", &st))
		t->after = st.st_ino;
	return NULL;
}

static void test_census_thread_netns(void **state)
{
	struct thread_ns t = { 0 };
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, in_own_netns, &t), 0);
	pthread_join(th, NULL);
	if (t.err == EPERM) {
		print_message("  no CAP_SYS_ADMIN: cannot give a thread its own netns\n");
		skip();
	}
	assert_int_equal(t.err, 0);
	assert_true(t.own != 0);
	assert_int_equal(t.seen, t.own);	/* its own, not the leader's */
	assert_int_equal(t.after, t.own);	/* back in its own */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_census_bounded_destinations),	/* first: peak RSS */
		cmocka_unit_test(test_ports_empty),
		cmocka_unit_test(test_ports_list),
		cmocka_unit_test(test_ports_bad),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_diag_line_v4),
		cmocka_unit_test(test_diag_line_v6_states),
		cmocka_unit_test(test_diag_json),
		cmocka_unit_test(test_print_json),
		cmocka_unit_test(test_print_json_v6_usage),
		cmocka_unit_test(test_print_text),
		cmocka_unit_test(test_print_text_v6_width),
		cmocka_unit_test(test_print_empty),
		cmocka_unit_test(test_open_netns),
		cmocka_unit_test(test_list_netns),
		cmocka_unit_test(test_take_own_netns),
		cmocka_unit_test(test_replay_recorded),
		cmocka_unit_test(test_census_thread_netns),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
