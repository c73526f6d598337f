// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/remedies.c: every rule switched on and off by its
 * inputs, the order, the texts' numbers, kernel version parsing and the
 * sysctl.conf scan for tcp_tw_recycle on a temporary tree. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "census.h"
#include "client.h"
#include "kernel.h"
#include "remedies.h"

static struct pw_remedy r[PW_MAX_REMEDIES];
static int nr;
static char ids[512];

/* A pressured non-loopback destination on 6.18.44 with nothing else wrong:
 * tw_reuse already 1, a wide range, no bind(). */
static struct pw_remedy_input base(void)
{
	struct pw_remedy_input in = {
		.kernel_major = 6, .kernel_minor = 18, .kernel_patch = 44,
		.tw_reuse = 1,
		.range_size = 64000, .range_full = 64512,
		.time_wait = 7,
	};
	return in;
}

/* The rule ids, space-separated, in order. */
static const char *run(const struct pw_remedy_input *in)
{
	ids[0] = '\0';
	nr = pw_remedies(in, r, PW_MAX_REMEDIES);
	for (int i = 0; i < nr; i++) {
		/* every text fit, none is empty */
		assert_true(strlen(r[i].text) > 0);
		assert_true(strlen(r[i].text) < sizeof(r[i].text) - 1);
		assert_null(strstr(r[i].text, "tcp_tw_recycle=1"));
		strcat(ids, i ? " " : "");
		strcat(ids, r[i].id);
	}
	return ids;
}

static const char *text(const char *id)
{
	for (int i = 0; i < nr; i++)
		if (!strcmp(r[i].id, id))
			return r[i].text;
	fail_msg("no rule %s", id);
	return NULL;
}

static void test_minimal(void **state)
{
	struct pw_remedy_input in = base();

	(void)state;
	assert_string_equal(run(&in), "reuse_connections ip_local_port_range_sockopt more_destinations");
	assert_string_equal(text("reuse_connections"),
		"Reuse connections (HTTP keep-alive, a connection pool) instead of one per request: "
		"each new one takes a local port and, closed first by the client, keeps it in "
		"TIME_WAIT for 60 s (7 now).");
	assert_string_equal(text("more_destinations"),
		"Last resort: one (source, destination address, port) tuple offers at most 64000 "
		"usable local ports here; spread connections over more destination addresses or "
		"ports, or add source addresses.");
}

static void test_everything(void **state)
{
	struct pw_remedy_input in = base();

	(void)state;
	in.tw_reuse = 0;
	in.range_full = 10;
	in.range_size = 8;
	in.bound_conflicts = 3;
	in.bind_owned = 1;
	in.sysctl_mentions_recycle = true;
	in.client = PW_CLIENT_LIBCURL;
	in.client_pid = 42;
	assert_string_equal(run(&in), "reuse_connections tw_reuse_1 wider_port_range bind_address_no_port "
			    "ip_local_port_range_sockopt tw_recycle_removed more_destinations");
	assert_int_equal(nr, 7);
	/* fewer slots: the first ones, in the same order */
	assert_int_equal(pw_remedies(&in, r, 2), 2);
	assert_string_equal(r[0].id, "reuse_connections");
	assert_string_equal(r[1].id, "tw_reuse_1");
	assert_int_equal(pw_remedies(&in, r, 0), 0);
}

/* Each client detected in the failing process names its own setting; a
 * process gone or with no known client gets the generic advice, said so. */
static void test_clients(void **state)
{
	static const struct {
		enum pw_client c;
		const char *const must[4];
	} cases[] = {
		{ PW_CLIENT_LIBCURL, { "pid 4242) uses libcurl", "same easy handle", "CURLOPT_MAXCONNECTS",
				       "share handle" } },
		{ PW_CLIENT_GO, { "pid 4242) is a Go program", "http.Transport",
				  "MaxIdleConnsPerHost (default 2", "Close it" } },
		{ PW_CLIENT_JVM, { "pid 4242) is a JVM", "HttpClient", "http.keepAlive",
				   "http.maxConnections" } },
		{ PW_CLIENT_PYTHON, { "pid 4242) is CPython", "requests.Session", "pool_maxsize",
				      "PoolManager" } },
		{ PW_CLIENT_NODE, { "pid 4242) is Node.js", "http.Agent", "keepAlive: true",
				    "maxSockets" } },
		{ PW_CLIENT_GONE, { "pid 4242) exited before portwatch could see", "generic advice",
				    "TIME_WAIT for 60 s (7 now)", "Reuse connections" } },
		{ PW_CLIENT_UNKNOWN, { "No HTTP client portwatch knows", "(pid 4242)", "generic advice",
				       "Reuse connections" } },
	};
	const char *const names[] = { "libcurl", "Go program", "JVM", "CPython", "Node.js" };
	struct pw_remedy_input in = base();
	char generic[768];

	(void)state;
	run(&in);
	snprintf(generic, sizeof(generic), "%s", text("reuse_connections"));
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		assert_null(strstr(generic, names[i]));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in.client = cases[i].c;
		in.client_pid = 4242;
		/* the same rules, only the first text changes */
		assert_string_equal(run(&in), "reuse_connections ip_local_port_range_sockopt more_destinations");
		print_message("  %s\n", text("reuse_connections"));
		assert_int_equal(strncmp(text("reuse_connections"), generic, strlen(generic)), 0);
		for (size_t k = 0; k < 4; k++)
			assert_non_null(strstr(text("reuse_connections"), cases[i].must[k]));
		/* the text ends where it should: nothing cut */
		assert_int_equal(text("reuse_connections")[strlen(text("reuse_connections")) - 1], '.');
		/* a client's advice names no other client */
		for (size_t k = 0; cases[i].c >= PW_CLIENT_LIBCURL && k < sizeof(names) / sizeof(names[0]); k++)
			if ((int)cases[i].c != PW_CLIENT_LIBCURL + (int)k)
				assert_null(strstr(text("reuse_connections"), names[k]));
	}
	assert_string_equal(pw_client_name(PW_CLIENT_GO), "go");
	assert_null(pw_client_name(PW_CLIENT_GONE));
}

static void test_tw_reuse(void **state)
{
	struct pw_remedy_input in = base();

	(void)state;
	/* remote destination: 1 is the fix unless already set */
	in.tw_reuse = 0;
	run(&in);
	assert_string_equal(text("tw_reuse_1"),
		"Set net.ipv4.tcp_tw_reuse=1 in this netns: it is 0, which never reuses TIME_WAIT "
		"ports; with 1, connect() may take over a TIME_WAIT port older than 1 s (TCP "
		"timestamps needed; 7 in TIME_WAIT now).");
	in.tw_reuse = 2;
	run(&in);
	assert_non_null(strstr(text("tw_reuse_1"), "it is 2, which reuses TIME_WAIT ports only towards loopback"));
	in.tw_reuse = 1;
	assert_null(strstr(run(&in), "tw_reuse"));

	/* loopback: 2 (the default) already covers it */
	in.dest_loopback = true;
	in.tw_reuse = 2;
	assert_null(strstr(run(&in), "tw_reuse"));
	in.tw_reuse = 1;
	assert_null(strstr(run(&in), "tw_reuse"));
	in.tw_reuse = 0;
	assert_string_equal(run(&in),
		"reuse_connections tw_reuse_2 ip_local_port_range_sockopt more_destinations");
	assert_string_equal(text("tw_reuse_2"),
		"Set net.ipv4.tcp_tw_reuse=2 (the default: loopback only) or 1 in this netns: it is "
		"0, so TIME_WAIT ports towards this loopback destination are never reused, not even "
		"after 1 s (7 in TIME_WAIT now).");
}

static void test_wider_range(void **state)
{
	struct pw_remedy_input in = base();

	(void)state;
	/* the default 32768-60999 */
	in.range_full = 28232;
	in.range_size = 28230;
	run(&in);
	assert_string_equal(text("wider_port_range"),
		"Widen net.ipv4.ip_local_port_range: it has 28232 ports (28230 usable); \"1024 65535\" "
		"gives 64512. Then list the ports your servers listen on in "
		"net.ipv4.ip_local_reserved_ports, or clients may take them first.");
	/* up to half of 1024-65535 */
	in.range_full = 32256;
	assert_non_null(strstr(run(&in), "wider_port_range"));
	in.range_full = 32257;
	assert_null(strstr(run(&in), "wider_port_range"));
	in.range_full = 64512;
	assert_null(strstr(run(&in), "wider_port_range"));
	/* unknown range: say nothing */
	in.range_full = 0;
	assert_null(strstr(run(&in), "wider_port_range"));
	in.range_full = 1;
	assert_non_null(strstr(run(&in), "wider_port_range"));
}

static void test_bind_no_port(void **state)
{
	struct pw_remedy_input in = base();

	(void)state;
	assert_null(strstr(run(&in), "bind_address_no_port"));
	in.bound_conflicts = 2;
	run(&in);
	assert_string_equal(text("bind_address_no_port"),
		"Sockets bind() before connect() (2 bound-port conflicts, 0 ports of the range owned "
		"by bind() or listeners): set IP_BIND_ADDRESS_NO_PORT before bind(addr, 0) so "
		"connect() picks the port and shares it across destinations. Listeners in the range "
		"belong in ip_local_reserved_ports.");
	in.bound_conflicts = 0;
	in.bind_owned = 1;
	run(&in);
	assert_non_null(strstr(text("bind_address_no_port"), "(0 bound-port conflicts, 1 port of the range"));
}

static bool has_sockopt(int ma, int mi, int pa)
{
	struct pw_remedy_input in = base();

	in.kernel_major = ma;
	in.kernel_minor = mi;
	in.kernel_patch = pa;
	return strstr(run(&in), "ip_local_port_range_sockopt") != NULL;
}

static void test_port_range_sockopt(void **state)
{
	(void)state;
	assert_true(has_sockopt(6, 3, 0));
	assert_true(has_sockopt(6, 8, 12));
	assert_true(has_sockopt(6, 18, 44));
	assert_true(has_sockopt(7, 0, 0));
	assert_true(has_sockopt(6, 1, 32));
	assert_true(has_sockopt(6, 1, 158));
	assert_false(has_sockopt(6, 1, 31));
	assert_false(has_sockopt(6, 1, 0));
	assert_false(has_sockopt(6, 2, 16));
	assert_false(has_sockopt(6, 0, 40));
	assert_false(has_sockopt(5, 15, 200));
	assert_false(has_sockopt(5, 10, 0));
	assert_false(has_sockopt(0, 0, 0));	/* unknown kernel */
	has_sockopt(6, 1, 32);
	assert_string_equal(text("ip_local_port_range_sockopt"),
		"Linux 6.1.32 has IP_LOCAL_PORT_RANGE (6.3+, 6.1.32+): give each busy client its own "
		"slice of the range per socket (setsockopt, hi << 16 | lo), so one cannot starve the "
		"others; with IP_BIND_ADDRESS_NO_PORT ports stay shared across destinations.");
}

static void test_recycle(void **state)
{
	struct pw_remedy_input in = base();

	(void)state;
	assert_null(strstr(run(&in), "tw_recycle_removed"));
	in.sysctl_mentions_recycle = true;
	assert_string_equal(run(&in), "reuse_connections ip_local_port_range_sockopt "
			    "tw_recycle_removed more_destinations");
	assert_string_equal(text("tw_recycle_removed"),
		"Remove net.ipv4.tcp_tw_recycle from /etc/sysctl.conf or /etc/sysctl.d: it no longer "
		"exists since Linux 4.12 (it dropped SYNs from clients behind NAT), so the setting "
		"does nothing and sysctl --system reports an error.");
}

/* ---- kernel version ---- */

static void kv(const char *rel, const char *ver, int ma, int mi, int pa)
{
	int a = -1, b = -1, c = -1;

	assert_true(pw_parse_kernel_version(rel, ver, &a, &b, &c));
	assert_int_equal(a, ma);
	assert_int_equal(b, mi);
	assert_int_equal(c, pa);
}

static void test_kernel_version(void **state)
{
	int a, b, c;

	(void)state;
	kv("6.18.44-fc-v657", NULL, 6, 18, 44);
	kv("6.1.0-27-cloud-amd64", NULL, 6, 1, 0);
	kv("5.10.0", NULL, 5, 10, 0);
	kv("6.8", NULL, 6, 8, 0);
	kv("6.8-rc1", NULL, 6, 8, 0);
	kv("6.12.0+", NULL, 6, 12, 0);
	kv("4.19.0-26-amd64", "#1 SMP Debian 4.19.304-1 (2024-01-09)", 4, 19, 304);
	kv("6.1.0-27-cloud-amd64", "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)", 6, 1, 115);
	/* a Debian version for another series is not taken */
	kv("6.1.0-27-amd64", "#1 SMP Debian 6.12.9-1", 6, 1, 0);
	/* a real sublevel wins over the version string */
	kv("6.1.20-x", "#1 SMP Debian 6.1.115-1", 6, 1, 20);
	assert_false(pw_parse_kernel_version("", NULL, &a, &b, &c));
	assert_false(pw_parse_kernel_version("six", NULL, &a, &b, &c));
	assert_false(pw_parse_kernel_version("6", NULL, &a, &b, &c));
	assert_true(pw_kernel_version(&a, &b, &c));
	assert_true(a >= 3);
}

/* ---- sysctl.conf scan ---- */

static char root[64];

static void put(const char *rel, const char *content)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

static void rm_tree(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
}

static void test_sysctl_recycle(void **state)
{
	char dir[128];

	(void)state;
	strcpy(root, "/tmp/pw-remedies-XXXXXX");
	assert_non_null(mkdtemp(root));
	/* no /etc at all */
	assert_false(pw_sysctl_mentions_recycle(root));
	snprintf(dir, sizeof(dir), "%s/etc", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	put("etc/sysctl.conf", "# net.ipv4.tcp_tw_recycle = 1\n  ; net.ipv4.tcp_tw_recycle=1\n"
	    "net.ipv4.tcp_tw_reuse = 1\n");
	assert_false(pw_sysctl_mentions_recycle(root));
	put("etc/sysctl.conf", "net.ipv4.tcp_fin_timeout = 30\n\tnet.ipv4.tcp_tw_recycle = 1\n");
	assert_true(pw_sysctl_mentions_recycle(root));
	put("etc/sysctl.conf", "\n");

	snprintf(dir, sizeof(dir), "%s/etc/sysctl.d", root);
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_false(pw_sysctl_mentions_recycle(root));
	/* only *.conf files count, as for sysctl --system */
	put("etc/sysctl.d/99-old.conf.bak", "net.ipv4.tcp_tw_recycle=1\n");
	put("etc/sysctl.d/README", "net.ipv4.tcp_tw_recycle=1\n");
	assert_false(pw_sysctl_mentions_recycle(root));
	put("etc/sysctl.d/10-net.conf", "# tuned\nnet/ipv4/tcp_tw_recycle=0\n");
	assert_true(pw_sysctl_mentions_recycle(root));
	put("etc/sysctl.d/10-net.conf", "#net.ipv4.tcp_tw_recycle=0\n");
	assert_false(pw_sysctl_mentions_recycle(root));
	/* "-" prefix: ignore errors, still set */
	put("etc/sysctl.d/20-x.conf", "-net.ipv4.tcp_tw_recycle = 1\n");
	assert_true(pw_sysctl_mentions_recycle(root));
	rm_tree();
}

/* ---- inputs from a census ---- */

static void test_input_from_census(void **state)
{
	struct pw_census_dest d;
	struct pw_census_ns ns;
	struct pw_remedy_input in;
	int a, b, c;

	(void)state;
	memset(&d, 0, sizeof(d));
	memset(&ns, 0, sizeof(ns));
	d.dest.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "::ffff:127.0.0.1", d.dest.addr), 1);
	d.states[6] = 5;
	d.states[1] = 3;
	ns.range_lo = 40000;
	ns.range_hi = 40009;
	ns.range_size = 8;
	ns.bind_owned = 1;
	ns.tw_reuse = 2;
	pw_remedy_input_from_census(&in, &ns, &d);
	assert_true(pw_kernel_version(&a, &b, &c));
	assert_int_equal(in.kernel_major, a);
	assert_int_equal(in.kernel_minor, b);
	assert_int_equal(in.kernel_patch, c);
	assert_int_equal(in.tw_reuse, 2);
	assert_int_equal(in.range_size, 8);
	assert_int_equal(in.range_full, 10);
	assert_true(in.dest_loopback);
	assert_int_equal(in.time_wait, 5);
	assert_int_equal(in.bind_owned, 1);
	assert_int_equal(in.bound_conflicts, 0);
	assert_int_equal(in.client, PW_CLIENT_NONE);
	assert_int_equal(in.sysctl_mentions_recycle, pw_sysctl_mentions_recycle(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_everything),
		cmocka_unit_test(test_clients),
		cmocka_unit_test(test_tw_reuse),
		cmocka_unit_test(test_wider_range),
		cmocka_unit_test(test_bind_no_port),
		cmocka_unit_test(test_port_range_sockopt),
		cmocka_unit_test(test_recycle),
		cmocka_unit_test(test_kernel_version),
		cmocka_unit_test(test_sysctl_recycle),
		cmocka_unit_test(test_input_from_census),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
