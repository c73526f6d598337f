// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/sockgauge.c: the ranking's bounds and exact
 * remainders, and a whole scan of 200,000 TIME_WAIT destinations through
 * the census's each_held hook (recorded dumps, no processes): bounded rows,
 * every socket counted once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/resource.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <cmocka.h>

#include "census.h"
#include "sockgauge.h"

/* the sanitizers' redzones, quarantine and shadow hold more (ASan: 4.4
 * MiB measured, against 1.3 without) */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PW_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define PW_SANITIZED 1
#endif
#endif
#ifdef PW_SANITIZED
#define RSS_BOUND_KIB	(16 * 1024)
#else
#define RSS_BOUND_KIB	(4 * 1024)
#endif

static uint64_t row_sum(const struct pw_sock_row *r, size_t n, const char *labels, int state)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		if (!labels || !strcmp(r[i].labels, labels))
			s += state < 0 ? (uint64_t)r[i].n[0] + r[i].n[1] + r[i].n[2] : r[i].n[state];
	return s;
}

/* Three workloads: A with 4 destinations (and some census "(other)"), B
 * with 1, C with 2; top 2 per workload, 4 rows in all: A's 2 biggest and
 * its "(other)" (the other 2 and the census's), then only 1 row is left
 * and B and C do not fit with it kept: both folded into pod="(other)". */
static void test_rank_bounds(void **state)
{
	const char *labels[] = { "a", "b", "c" };
	struct pw_dest dests[6] = { 0 };
	struct pw_sock_agg agg[] = {
		{ .wl = 0, .dest_id = 1, .n = { 5, 0, 1 } },	/* 6 */
		{ .wl = 0, .dest_id = 2, .n = { 1, 0, 0 } },	/* 1 */
		{ .wl = 0, .dest_id = 3, .n = { 0, 2, 7 } },	/* 9 */
		{ .wl = 0, .dest_id = 4, .n = { 2, 0, 0 } },	/* 2 */
		{ .wl = 0, .dest_id = 0, .n = { 3, 0, 0 } },	/* census "(other)" */
		{ .wl = 0, .dest_id = 1, .n = { 1, 0, 0 } },	/* A to 1 again: merged, 7 */
		{ .wl = 1, .dest_id = 5, .n = { 4, 0, 0 } },
		{ .wl = 2, .dest_id = 1, .n = { 1, 0, 0 } },
		{ .wl = 2, .dest_id = 2, .n = { 0, 0, 1 } },
	};
	struct pw_sock_row rows[4];
	size_t n, folded;

	(void)state;
	for (int i = 1; i < 6; i++) {
		dests[i].family = AF_INET;
		dests[i].port = 1000 + i;
		dests[i].addr[0] = 127;
		dests[i].addr[3] = i;
	}
	n = pw_sock_rank(agg, sizeof(agg) / sizeof(agg[0]), labels, dests, 2, 4, rows, &folded);
	assert_int_equal(n, 4);
	assert_int_equal(folded, 2);
	assert_string_equal(rows[0].labels, "a");
	assert_false(rows[0].other);
	assert_int_equal(rows[0].dest.port, 1003);
	assert_int_equal(rows[0].n[1], 2);
	assert_int_equal(rows[0].n[2], 7);
	assert_int_equal(rows[1].dest.port, 1001);
	assert_int_equal(rows[1].n[0], 6);
	assert_int_equal(rows[1].n[2], 1);
	assert_true(rows[2].other);
	assert_string_equal(rows[2].labels, "a");
	assert_int_equal(rows[2].n[0], 1 + 2 + 3);
	assert_true(rows[3].other);
	assert_string_equal(rows[3].labels, PW_SOCK_OTHER_LABELS);
	assert_int_equal(rows[3].n[0], 5);
	assert_int_equal(rows[3].n[2], 1);
	/* every socket in exactly one row, per state */
	assert_int_equal(row_sum(rows, n, NULL, 0), 5 + 1 + 2 + 3 + 1 + 4 + 1);
	assert_int_equal(row_sum(rows, n, NULL, 1), 2);
	assert_int_equal(row_sum(rows, n, NULL, 2), 1 + 7 + 1);
	assert_int_equal(row_sum(rows, n, "a", -1), 7 + 1 + 9 + 2 + 3);

	/* room for everything: no fold, each workload's rows */
	struct pw_sock_agg agg2[] = {
		{ .wl = 1, .dest_id = 5, .n = { 4, 0, 0 } },
		{ .wl = 2, .dest_id = 1, .n = { 1, 0, 0 } },
	};
	struct pw_sock_row rows2[PW_SOCK_MAX_ROWS];

	n = pw_sock_rank(agg2, 2, labels, dests, 10, PW_SOCK_MAX_ROWS, rows2, &folded);
	assert_int_equal(n, 2);
	assert_int_equal(folded, 0);
	assert_string_equal(rows2[0].labels, "b");
	assert_string_equal(rows2[1].labels, "c");
}

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

/* A tenant's 200,000 TIME_WAIT destinations of one socket each, and 10 to
 * the real one: the scan's peak RSS grows by less than 4 MiB (nothing per
 * socket); the census keeps at most
 * PW_CENSUS_MAX_DESTS rows, the
 * gauge of the "(no process)" workload (a netns without processes) has
 * the real one's row first, at most 9 more of the census's rows, and one
 * "(other)" row: they sum to every socket. */
static void test_scan_200k_destinations(void **state)
{
	const size_t junk = 200000, n = junk + 10;
	static const struct nlmsghdr done = { .nlmsg_len = sizeof(done) + 4,
					      .nlmsg_type = NLMSG_DONE, .nlmsg_seq = 7 };
	static struct {
		struct nlmsghdr h;
		uint32_t pad;
	} owners;
	struct diag_rec *rec = calloc(n + 1, sizeof(*rec));
	struct pw_census_replay_in in = { .lo = 40000, .hi = 40009 };
	struct pw_census_filter f = { 0 };
	struct pw_sockgauge *g = pw_sockgauge_new(NULL);
	const struct pw_sock_row *rows;
	struct pw_census_ns ns;
	size_t nr, folded, census_rows;
	struct rusage a, b;

	(void)state;
	assert_non_null(rec);
	assert_non_null(g);
	for (size_t i = 0; i < junk; i++)
		tw_rec(&rec[i], 0x7f010000 + (uint32_t)i, 9000, 40000 + i % 10);
	for (size_t i = 0; i < 10; i++)
		tw_rec(&rec[junk + i], 0x7f000001, 8080, 40000 + i);
	memcpy(&rec[n], &done, sizeof(done));
	owners.h = done;
	in.owners = &owners;
	in.owners_len = sizeof(owners);
	in.others = rec;
	in.others_len = n * sizeof(*rec) + sizeof(done) + 4;
	in.filter = &f;
	assert_false(pw_sockgauge_rows(g, &rows, &nr, &folded));
	getrusage(RUSAGE_SELF, &a);
	pw_sockgauge_begin(g);
	pw_sockgauge_filter(g, &f);
	assert_int_equal(pw_census_replay(&in, &ns), 0);
	assert_true(ns.other_dests_folded);
	census_rows = ns.ndests;
	assert_true(census_rows >= 1 && census_rows <= PW_CENSUS_MAX_DESTS);
	pw_sockgauge_netns_done(g, true, 1);	/* no process is in netns 1 */
	pw_census_free(&ns);
	pw_sockgauge_end(g);
	getrusage(RUSAGE_SELF, &b);
	print_message("  %zu census rows, peak RSS grew %ld KiB\n", census_rows,
		      b.ru_maxrss - a.ru_maxrss);
	/* the census's sketch (1 MiB) and rows, and the gauge's TIME_WAIT
	 * sockets one entry per destination row, not per socket (20 bytes a
	 * socket would be 4 MB) */
	assert_true(b.ru_maxrss - a.ru_maxrss < RSS_BOUND_KIB);
	assert_true(pw_sockgauge_rows(g, &rows, &nr, &folded));
	/* the census's rows (its top destinations), at most 10, and "(other)" */
	assert_int_equal(nr, (census_rows < PW_SOCK_TOP_DESTS ? census_rows : PW_SOCK_TOP_DESTS) + 1);
	assert_int_equal(folded, 0);
	assert_string_equal(rows[0].labels, PW_SOCK_NOPROC_LABELS);
	assert_int_equal(rows[0].dest.port, 8080);
	assert_int_equal(rows[0].n[2], 10);
	assert_true(rows[nr - 1].other);
	assert_int_equal(row_sum(rows, nr, PW_SOCK_NOPROC_LABELS, 2), n);
	assert_int_equal(row_sum(rows, nr, NULL, -1), n);

	/* a census that failed gives nothing: the next scan is empty */
	pw_sockgauge_begin(g);
	pw_sockgauge_filter(g, &f);
	assert_int_equal(pw_census_replay(&in, &ns), 0);
	pw_census_free(&ns);
	pw_sockgauge_netns_done(g, false, 1);
	pw_sockgauge_end(g);
	assert_true(pw_sockgauge_rows(g, &rows, &nr, &folded));
	assert_int_equal(nr, 0);
	pw_sockgauge_free(g);
	free(rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan_200k_destinations),	/* first: peak RSS */
		cmocka_unit_test(test_rank_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
