// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the periodic census's tops (user/pressure.c): what the
 * gauges portwatch_ephemeral_ports_in_use and
 * portwatch_udp_ephemeral_ports_in_use export, what they fold, and the
 * "UDP not counted" lines, from censuses made up here. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "census.h"
#include "pressure.h"

/* A netns's census: one destination (127.0.0.1:8080) holding `held` of
 * `range` ports over TCP, and its UDP part holding udp_held of the same. */
static void mk_ns(struct pw_census_ns *ns, struct pw_census_dest *d, uint64_t netns,
		  uint32_t range, uint32_t held, uint32_t udp_held)
{
	memset(ns, 0, sizeof(*ns));
	memset(d, 0, sizeof(*d));
	ns->netns = netns;
	ns->range_lo = 40000;
	ns->range_hi = 40000 + (int)range - 1;
	ns->range_size = range;
	d->dest.family = AF_INET;
	d->dest.port = 8080;
	d->dest.addr[0] = 127;
	d->dest.addr[3] = 1;
	d->held = held;
	d->usage = (double)held / range;
	ns->dests = d;
	ns->ndests = 1;
	ns->udp.taken = true;
	ns->udp.range_size = range;
	ns->udp.held = udp_held;
	ns->udp.usage = (double)udp_held / range;
}

/* 21 tenant netns with a 1-port range, each holding its port (usage 1.0,
 * TCP and UDP), and one netns holding 120 of 200 (0.6), fed in the given
 * order (big first or last): the big one is in both tops with its own
 * figures, and exactly 2 of the 22 are folded in each. Before: the tops
 * ranked by usage and kept 20 of the tenant's netns, the big one out, no
 * sign. */
static void tenant_vs_big(bool big_first)
{
	struct pw_pressure *p = pw_pressure_new(101);	/* no warnings */
	const struct pw_pressure_top *top;
	const struct pw_pressure_udp_top *utop;
	struct pw_census_dest d;
	struct pw_census_ns ns;
	size_t n, big = 0, bigu = 0;

	assert_non_null(p);
	for (int i = 0; i <= 21; i++) {
		bool is_big = big_first ? i == 0 : i == 21;

		if (is_big)
			mk_ns(&ns, &d, 9999, 200, 120, 120);
		else
			mk_ns(&ns, &d, 1000 + i, 1, 1, 1);
		pw_pressure_scan_ns(p, &ns, 1, stdout, true);
	}
	n = pw_pressure_top(p, &top);
	assert_int_equal(n, PW_TOP_DESTS);
	for (size_t i = 0; i < n; i++)
		if (top[i].netns == 9999) {
			big++;
			assert_int_equal(top[i].held, 120);
			assert_true(top[i].usage > 0.5999 && top[i].usage < 0.6001);
		}
	assert_int_equal(big, 1);
	assert_int_equal(pw_pressure_top_folded(p), 2);
	n = pw_pressure_udp_top(p, &utop);
	assert_int_equal(n, PW_TOP_UDP_NETNS);
	for (size_t i = 0; i < n; i++)
		if (utop[i].netns == 9999) {
			bigu++;
			assert_int_equal(utop[i].held, 120);
		}
	assert_int_equal(bigu, 1);
	assert_int_equal(pw_pressure_udp_top_folded(p), 2);
	pw_pressure_free(p);
}

static void test_top_by_held_big_last(void **state)
{
	(void)state;
	tenant_vs_big(false);
}

static void test_top_by_held_big_first(void **state)
{
	(void)state;
	tenant_vs_big(true);
}

/* Equal held and usage: the netns decides, whatever the order fed (the
 * same 20 of 25 kept both ways), and none folded under the cap. */
static void test_top_ties_deterministic(void **state)
{
	uint64_t kept[2][PW_TOP_DESTS];
	struct pw_census_dest d;
	struct pw_census_ns ns;

	(void)state;
	for (int pass = 0; pass < 2; pass++) {
		struct pw_pressure *p = pw_pressure_new(101);
		const struct pw_pressure_top *top;
		size_t n;

		assert_non_null(p);
		for (int i = 0; i < 25; i++) {
			mk_ns(&ns, &d, pass ? 2000 + i : 2024 - i, 100, 5, 0);
			pw_pressure_scan_ns(p, &ns, 1, stdout, true);
			if (i == 19)
				assert_int_equal(pw_pressure_top_folded(p), 0);
		}
		n = pw_pressure_top(p, &top);
		assert_int_equal(n, PW_TOP_DESTS);
		for (size_t i = 0; i < n; i++) {
			kept[pass][i] = top[i].netns;
			assert_true(top[i].netns >= 2005);	/* the 5 lowest gave way */
		}
		assert_int_equal(pw_pressure_top_folded(p), 5);
		assert_int_equal(pw_pressure_udp_top_folded(p), 0);	/* no UDP held */
		pw_pressure_free(p);
	}
	for (int i = 0; i < PW_TOP_DESTS; i++) {
		bool found = false;

		for (int j = 0; j < PW_TOP_DESTS; j++)
			found |= kept[0][i] == kept[1][j];
		assert_true(found);
	}
}

/* UDP not counted: said once per kind on stderr (no udp_diag; another
 * error with its reason), never a sample; the TCP part still counted. */
static void test_udp_not_taken_said_once(void **state)
{
	struct pw_pressure *p = pw_pressure_new(101);
	const struct pw_pressure_udp_top *utop;
	const struct pw_pressure_top *top;
	struct pw_census_dest d;
	struct pw_census_ns ns;
	char path[] = "/tmp/pw-test-pressure-XXXXXX", buf[1024] = "";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO), lines = 0;
	FILE *f;

	(void)state;
	assert_non_null(p);
	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	for (int i = 0; i < 6; i++) {
		mk_ns(&ns, &d, 3000 + i, 10, 4, 0);
		ns.udp.taken = false;
		ns.udp.err = i < 3 ? -ENOENT : -EPERM;
		snprintf(ns.udp.why, sizeof(ns.udp.why), "%s", strerror(-ns.udp.err));
		pw_pressure_scan_ns(p, &ns, 1, stdout, true);
	}
	fflush(stderr);
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	assert_non_null(f);
	rewind(f);
	while (fgets(buf + strlen(buf), (int)(sizeof(buf) - strlen(buf)), f))
		;
	fclose(f);
	unlink(path);
	for (char *c = buf; *c; c++)
		lines += *c == '\n';
	assert_int_equal(lines, 2);
	assert_non_null(strstr(buf, "portwatch: census: the kernel has no UDP sock_diag (udp_diag): "
				    "UDP sockets not counted"));
	assert_non_null(strstr(buf, "portwatch: census: UDP sockets not counted in netns 3003 "));
	assert_non_null(strstr(buf, strerror(EPERM)));
	assert_int_equal(pw_pressure_udp_top(p, &utop), 0);
	assert_int_equal(pw_pressure_udp_top_folded(p), 0);
	assert_int_equal(pw_pressure_top(p, &top), 6);
	pw_pressure_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_top_by_held_big_last),
		cmocka_unit_test(test_top_by_held_big_first),
		cmocka_unit_test(test_top_ties_deterministic),
		cmocka_unit_test(test_udp_not_taken_said_once),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
