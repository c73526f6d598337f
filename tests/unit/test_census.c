// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/census.c: state names, the loopback test, one live
 * census of our own netns with sockets this test opens, recorded dumps,
 * the bound on destinations and which rows it keeps, and the calling
 * thread's netns. */
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
#include "census_udp.h"
#include "util.h"
#include "../fuzz/census_input.h"

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

/* ---- a live census of our own netns ---- */

/* A listener on 127.0.0.1:<kernel's pick> (bind-owned, from the ephemeral
 * range) with two connected clients: the census towards it must show
 * exactly those two, held by us. */
static void test_take_own_netns(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct pw_census_filter f = { .one_dest = true, .dest.family = AF_INET, .holders = true };
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
	f.dest.port = ntohs(sin.sin_port);
	memcpy(f.dest.addr, &sin.sin_addr, 4);

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
		assert_int_equal(ns.dests[0].dest.family, AF_INET);
		assert_int_equal(ns.dests[0].dest.port, f.dest.port);
		assert_int_equal(ns.dests[0].held, 2);
		assert_int_equal(ns.dests[0].states[1], 2);
		assert_int_equal(ns.dests[0].nholders, 1);
		assert_int_equal(ns.dests[0].holders[0].pid, getpid());
		assert_int_equal(ns.dests[0].holders[0].sockets, 2);
		pw_census_free(&ns);
	}
	close(nsfd);

	/* a destination nobody talks to: one all-zero entry */
	f.dest.port ^= 1;
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
	struct pw_census_filter f = { .one_dest = true, .dest.family = AF_INET, .dest.port = 18101,
				      .dest.addr = { 127, 0, 0, 1 } };
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
	assert_int_equal(ns.dests[0].dest.port, 18100);
	assert_int_equal(ns.dests[0].held, 5);
	assert_int_equal(ns.dests[0].states[6], 5);
	assert_int_equal(ns.dests[0].reusable_time_wait, 0);	/* tw_reuse=0 */
	assert_int_equal(ns.dests[1].dest.port, 18102);
	assert_int_equal(ns.dests[1].dest.family, AF_INET6);
	assert_int_equal(ns.dests[1].held, 3);
	assert_int_equal(ns.dests[2].dest.port, 18101);
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

/* in's dumps: the owners' empty, the others' the n records of rec, then
 * NLMSG_DONE in rec[n]. */
static void tw_dumps(struct pw_census_replay_in *in, struct diag_rec *rec, size_t n)
{
	static const struct nlmsghdr done = { .nlmsg_len = sizeof(done) + 4,
					      .nlmsg_type = NLMSG_DONE, .nlmsg_seq = 7 };
	static struct {
		struct nlmsghdr h;
		uint32_t pad;
	} owners;

	memcpy(&rec[n], &done, sizeof(done));
	/* the DONE message's error field: 0 (read by the parser; the caller's
	 * array is not zeroed) */
	memset((char *)&rec[n] + sizeof(done), 0, 4);
	owners.h = done;
	in->owners = &owners;
	in->owners_len = sizeof(owners);
	in->others = rec;
	in->others_len = n * sizeof(*rec) + sizeof(done) + 4;
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
	struct pw_census_replay_in in = { .lo = 40000, .hi = 40009, .tw_reuse = 0 };
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
	tw_dumps(&in, rec, n);
	getrusage(RUSAGE_SELF, &a);
	assert_int_equal(pw_census_replay(&in, &ns), 0);
	getrusage(RUSAGE_SELF, &b);
	print_message("  %zu rows, peak RSS grew %ld KiB\n", ns.ndests, b.ru_maxrss - a.ru_maxrss);
	assert_true(ns.ndests <= PW_CENSUS_MAX_DESTS);
	assert_true(ns.ndests >= 1);
	inet_ntop(AF_INET, ns.dests[0].dest.addr, dst, sizeof(dst));
	assert_string_equal(dst, "127.0.0.1");
	assert_int_equal(ns.dests[0].dest.port, 8080);
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

/* Which destinations keep a row past PW_CENSUS_MAX_DESTS depends on the
 * count-min sketch's columns, so on the census's hash (census_dests.c's
 * FNV-1a and its seed): 60,000 destinations with 1 to 3 TIME_WAIT sockets
 * each, the rows kept pinned by their count and a digest of them (in
 * order: address, family, port, sockets). A change of the hash changes
 * them (with the standard FNV-1a offset basis: other rows), and with them
 * the output of every census past the cap: such a change is a visible one,
 * this test is updated with it on purpose. */
static void test_census_rows_past_cap_pinned(void **state)
{
	const size_t dests = 60000;
	size_t n = 0;
	struct diag_rec *rec = calloc(dests * 3 + 1, sizeof(*rec));
	struct pw_census_replay_in in = { .lo = 32768, .hi = 60999, .tw_reuse = 0 };
	struct pw_census_ns ns;
	uint64_t digest = PW_FNV1A_INIT, held;

	(void)state;
	assert_non_null(rec);
	for (size_t i = 0; i < dests; i++)
		for (size_t k = 0; k <= i % 3; k++, n++)
			tw_rec(&rec[n], 0x7f010000 + (uint32_t)i, 9000, 32768 + n % 28232);
	tw_dumps(&in, rec, n);
	assert_int_equal(pw_census_replay(&in, &ns), 0);
	assert_true(ns.other_dests_folded);
	held = ns.other.held;
	for (size_t i = 0; i < ns.ndests; i++) {
		digest = pw_fnv1a(digest, &ns.dests[i].dest, sizeof(ns.dests[i].dest));
		digest = pw_fnv1a(digest, &ns.dests[i].held, sizeof(ns.dests[i].held));
		held += ns.dests[i].held;
	}
	print_message("  %zu rows, digest %#llx\n", ns.ndests, (unsigned long long)digest);
	assert_int_equal(held, n);
	assert_int_equal(ns.ndests, 937);
	assert_int_equal(digest, 0x522a6e302f1436cdull);
	pw_census_free(&ns);
	free(rec);
}

/* ---- UDP: apart from TCP ---- */

static void udp_rec(struct diag_rec *r, int family, uint16_t sport, uint32_t ino)
{
	memset(r, 0, sizeof(*r));
	r->h.nlmsg_len = sizeof(*r);
	r->h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	r->h.nlmsg_seq = 7;
	r->m.idiag_family = family;
	r->m.idiag_state = 7;	/* TCP_CLOSE: unconnected */
	r->m.id.idiag_sport = htons(sport);
	r->m.idiag_inode = ino;
}

/* TCP: 10 TIME_WAIT towards 127.0.0.1:8080 on 40000-40009. UDP, on the
 * same ports: 40000 twice (SO_REUSEPORT: one port), 40001 (inet6), 40009,
 * 5000 (outside the range). The UDP part: 3 ports held, 4 sockets in the
 * range, 5 in all; the TCP figures exactly those without it. */
static void test_census_udp_apart(void **state)
{
	static const uint16_t ports[] = { 40000, 40000, 40001, 40009, 5000 };
	struct diag_rec tcp[11], udp[6];
	struct pw_census_replay_in in = { .lo = 40000, .hi = 40009 };
	struct pw_census_ns ns, alone;

	(void)state;
	for (int i = 0; i < 10; i++)
		tw_rec(&tcp[i], 0x7f000001, 8080, 40000 + i);
	tw_dumps(&in, tcp, 10);
	assert_int_equal(pw_census_replay(&in, &alone), 0);
	assert_false(alone.udp.taken);
	for (int i = 0; i < 5; i++)
		udp_rec(&udp[i], i == 2 ? AF_INET6 : AF_INET, ports[i], 100 + i);
	memcpy(&udp[5], &tcp[10], sizeof(udp[5]));	/* NLMSG_DONE */
	in.udp = udp;
	in.udp_len = 5 * sizeof(*udp) + sizeof(struct nlmsghdr) + 4;
	assert_int_equal(pw_census_replay(&in, &ns), 0);
	assert_true(ns.udp.taken);
	assert_int_equal(ns.udp.held, 3);
	assert_int_equal(ns.udp.sockets_in_range, 4);
	assert_int_equal(ns.udp.sockets, 5);
	assert_int_equal(ns.udp.range_size, 10);
	assert_int_equal(ns.udp.reserved, 0);
	assert_true(ns.udp.usage > 0.2999 && ns.udp.usage < 0.3001);
	assert_int_equal(ns.udp.nholders, 0);
	/* TCP: the same as without UDP */
	assert_int_equal(ns.sockets, alone.sockets);
	assert_int_equal(ns.range_size, alone.range_size);
	assert_int_equal(ns.range_size, 10);
	assert_int_equal(ns.ndests, 1);
	assert_int_equal(ns.dests[0].held, 10);
	assert_int_equal(ns.dests[0].held, alone.dests[0].held);
	assert_true(ns.dests[0].usage == alone.dests[0].usage);
	pw_census_free(&ns);
	pw_census_free(&alone);
}

/* A UDP dump that fails (the kernel's NLMSG_ERROR -EPERM after one
 * socket: refused, or cut short) leaves the UDP part not taken, with its
 * error and a reason, and the census whole: the TCP part exactly as
 * without UDP (before: the whole census failed with it). */
static void test_census_udp_failed_keeps_tcp(void **state)
{
	struct {
		struct diag_rec one;
		struct nlmsghdr h;
		struct nlmsgerr e;
	} udp;
	struct diag_rec tcp[11];
	struct pw_census_replay_in in = { .lo = 40000, .hi = 40009 };
	struct pw_census_ns ns;

	(void)state;
	for (int i = 0; i < 10; i++)
		tw_rec(&tcp[i], 0x7f000001, 8080, 40000 + i);
	tw_dumps(&in, tcp, 10);
	memset(&udp, 0, sizeof(udp));
	udp_rec(&udp.one, AF_INET, 40003, 100);
	udp.h.nlmsg_len = sizeof(udp.h) + sizeof(udp.e);
	udp.h.nlmsg_type = NLMSG_ERROR;
	udp.h.nlmsg_seq = 7;
	udp.e.error = -EPERM;
	in.udp = &udp;
	in.udp_len = sizeof(udp);
	assert_int_equal(pw_census_replay(&in, &ns), 0);
	assert_false(ns.udp.taken);
	assert_int_equal(ns.udp.err, -EPERM);
	assert_string_equal(ns.udp.why, strerror(EPERM));
	assert_int_equal(ns.udp.held, 0);
	assert_int_equal(ns.udp.sockets, 0);
	assert_int_equal(ns.range_size, 10);
	assert_int_equal(ns.ndests, 1);
	assert_int_equal(ns.dests[0].held, 10);
	pw_census_free(&ns);
}

/* The accumulator: a reserved port is neither counted nor offered; holders
 * map each in-range socket's inode to the UDP row, the others not at all;
 * 200,000 sockets on one port (SO_REUSEPORT) hold one port, the counts
 * exact, no memory per socket without holders. */
static void test_census_udp_acc(void **state)
{
	struct pw_udp_acc *a = calloc(1, sizeof(*a));
	uint8_t reserved[PW_NPORTS / 8] = { 0 };
	struct pw_inode_tab itab = { 0 };
	struct pw_census_udp out;
	struct diag_rec r;

	(void)state;
	assert_non_null(a);
	pw_port_set(reserved, 40009);
	a->lo = 40000;
	a->hi = 40009;
	a->reserved = reserved;
	a->itab = &itab;
	udp_rec(&r, AF_INET, 40009, 11);
	assert_int_equal(pw_census_udp_on_socket(a, &r.m), 0);
	udp_rec(&r, AF_INET, 40003, 12);
	assert_int_equal(pw_census_udp_on_socket(a, &r.m), 0);
	udp_rec(&r, AF_INET, 39999, 13);
	assert_int_equal(pw_census_udp_on_socket(a, &r.m), 0);
	assert_int_equal(itab.n, 1);
	a->itab = NULL;
	udp_rec(&r, AF_INET6, 40004, 0);
	for (int i = 0; i < 200000; i++)
		assert_int_equal(pw_census_udp_on_socket(a, &r.m), 0);
	pw_census_udp_finish(a, &out);
	assert_true(out.taken);
	assert_int_equal(out.reserved, 1);
	assert_int_equal(out.range_size, 9);
	assert_int_equal(out.held, 2);
	assert_int_equal(out.sockets, 200003);
	assert_int_equal(out.sockets_in_range, 200001);
	assert_int_equal(itab.n, 1);
	pw_inode_tab_free(&itab);
	pw_census_udp_acc_free(a);
	free(a);
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
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_take_own_netns),
		cmocka_unit_test(test_replay_recorded),
		cmocka_unit_test(test_census_thread_netns),
		cmocka_unit_test(test_census_rows_past_cap_pinned),
		cmocka_unit_test(test_census_udp_apart),
		cmocka_unit_test(test_census_udp_acc),
		cmocka_unit_test(test_census_udp_failed_keeps_tcp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
