// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/webauth.c: the basic-auth check with its
 * verified-password cache, its bcrypt budgets per client address, and the
 * address keys (IPv6 by /64). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include "util.h"
#include "webauth.h"
#include "webconfig.h"

/* htpasswd -nbBC 4 "" s3cret */
#define HASH4 "$2y$04$sSeMX3lBPSXHkqcgqOWZrebCxCWwhj93cfXQAc0JF7Ydnozc/qCXm"

static char err[256];

static int parse(const char *yaml, struct pw_webconfig *cfg)
{
	err[0] = '\0';
	return pw_webconfig_parse(yaml, strlen(yaml), cfg, err, sizeof(err));
}

static void test_auth_cache(void **state)
{
	struct pw_webconfig cfg;
	struct pw_webauth a;
	int64_t now = pw_clock_ns(CLOCK_MONOTONIC);

	(void)state;
	assert_int_equal(parse("basic_auth_users:\n  alice: " HASH4 "\n", &cfg), 0);
	assert_int_equal(pw_webauth_init(&a), 0);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, NULL, NULL, now), PW_AUTH_DENIED);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "bob", "s3cret", now), PW_AUTH_DENIED);
	assert_int_equal(a.bcrypt_runs, 0);	/* unknown user: no bcrypt */
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cret", now), PW_AUTH_OK);
	assert_int_equal(a.bcrypt_runs, 1);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cret", now), PW_AUTH_OK);
	assert_int_equal(a.bcrypt_runs, 1);	/* the cache answered */
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cre", now), PW_AUTH_DENIED);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cretx", now), PW_AUTH_DENIED);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "", now), PW_AUTH_DENIED);
	assert_int_equal(a.bcrypt_runs, 4);	/* wrong passwords pay bcrypt */
	/* a wrong password does not evict the verified one */
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cret", now), PW_AUTH_OK);
	assert_int_equal(a.bcrypt_runs, 4);
	pw_webauth_free(&a);
	pw_webconfig_free(&cfg);
}

static struct pw_addrkey key4(const char *ip)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct pw_addrkey k;

	assert_int_equal(inet_pton(AF_INET, ip, &in.sin_addr), 1);
	assert_int_equal(pw_addrkey((struct sockaddr *)&in, sizeof(in), &k), 0);
	return k;
}

static struct pw_addrkey key6(const char *ip)
{
	struct sockaddr_in6 in = { .sin6_family = AF_INET6 };
	struct pw_addrkey k;

	assert_int_equal(inet_pton(AF_INET6, ip, &in.sin6_addr), 1);
	assert_int_equal(pw_addrkey((struct sockaddr *)&in, sizeof(in), &k), 0);
	return k;
}

#define SAME(a, b) (!memcmp(&(a), &(b), sizeof(struct pw_addrkey)))

/* Limits count an IPv6 client by its /64, an IPv4 one by its address
 * whichever way the socket spells it. */
static void test_addrkey(void **state)
{
	struct pw_addrkey a = key6("2001:db8:1:2::1"), b = key6("2001:db8:1:2:ffff:1:2:3");
	struct pw_addrkey c = key6("2001:db8:1:3::1"), l1 = key6("::1"), l2 = key6("::2");
	struct pw_addrkey v4 = key4("127.0.0.2"), m4 = key6("::ffff:127.0.0.2");
	struct pw_addrkey v4b = key4("127.0.0.3"), m4b = key6("::ffff:127.0.0.3");
	struct sockaddr un = { .sa_family = AF_UNIX };
	struct pw_addrkey k;

	(void)state;
	assert_true(SAME(a, b));	/* one /64 */
	assert_false(SAME(a, c));	/* the next /64 */
	assert_true(SAME(l1, l2));	/* ::/64 */
	assert_true(SAME(v4, m4));	/* IPv4 and IPv4-mapped IPv6 */
	assert_false(SAME(v4, v4b));	/* IPv4: the whole address, not its /64 ... */
	assert_false(SAME(m4, m4b));	/* ... also when mapped */
	assert_false(SAME(v4, l1));
	assert_int_equal(pw_addrkey(&un, sizeof(un), &k), -EAFNOSUPPORT);
	assert_int_equal(pw_addrkey(NULL, 0, &k), -EAFNOSUPPORT);
	/* too short for its family */
	assert_int_equal(pw_addrkey((struct sockaddr *)&(struct sockaddr_in6){ .sin6_family = AF_INET6 },
				    sizeof(struct sockaddr_in), &k), -EAFNOSUPPORT);
}

static void test_auth_budget(void **state)
{
	struct pw_addrkey src = key4("127.0.0.1");
	struct pw_webconfig cfg;
	struct pw_webauth a;
	int64_t now = pw_clock_ns(CLOCK_MONOTONIC);
	uint64_t runs;

	(void)state;
	assert_int_equal(parse("basic_auth_users:\n  alice: " HASH4 "\n", &cfg), 0);
	assert_int_equal(pw_webauth_init(&a), 0);
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "s3cret", now), PW_AUTH_OK);
	/* spend the source's budget with wrong passwords, at one instant */
	a.known_src[0].b.ns = 1;
	assert_true(SAME(a.known_src[0].key, src));
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "wrong", now), PW_AUTH_DENIED);
	runs = a.bcrypt_runs;
	assert_true(a.known_src[0].b.ns <= 0);
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "wrong", now), PW_AUTH_BUSY);
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "other", now), PW_AUTH_BUSY);
	assert_int_equal(a.bcrypt_runs, runs);	/* no bcrypt while busy */
	/* the verified password still gets in */
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "s3cret", now), PW_AUTH_OK);
	/* a second later 25 ms are back, at most 100 ms after ten */
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "wrong", now + 1000000000), PW_AUTH_DENIED);
	assert_int_equal(a.bcrypt_runs, runs + 1);
	pw_webauth_check(&a, &cfg, &src, "alice", "wrong", now + 11000000000LL);
	assert_true(a.known_src[0].b.ns < PW_AUTH_SOURCE_MAX);	/* full, less one cost-4 bcrypt */
	assert_true(a.known_src[0].b.ns > PW_AUTH_SOURCE_MAX - 50000000);
	pw_webauth_free(&a);
	pw_webconfig_free(&cfg);
}

/* A guesser spends its own budget: another address, a stranger as well,
 * still gets its password checked; many guessers spend the strangers' pool,
 * not the one of sources that authenticated before; the tables stay bounded
 * whatever the number of addresses. */
static void test_auth_per_source(void **state)
{
	struct pw_addrkey guesser = key4("127.0.0.2"), prom = key4("127.0.0.1");
	struct pw_addrkey known = key6("2001:db8::1"), k;
	struct pw_webconfig cfg;
	struct pw_webauth a;
	int64_t now = pw_clock_ns(CLOCK_MONOTONIC);
	char ip[64];
	size_t n;

	(void)state;
	assert_int_equal(parse("basic_auth_users:\n  alice: " HASH4 "\n  bob: " HASH4 "\n", &cfg), 0);
	assert_int_equal(pw_webauth_init(&a), 0);
	/* the guesser's bucket, full at first, runs out: 429 for it */
	for (n = 0; n < 100000 && pw_webauth_check(&a, &cfg, &guesser, "alice", "guess", now) !=
				  PW_AUTH_BUSY; n++)
		;
	assert_true(n >= 1 && n < 100000);
	assert_true(a.strangers.ns > 0);	/* one source spent at most its own 100 ms */
	/* Prometheus, a stranger (portwatch just started), is checked: not 429 */
	assert_int_equal(pw_webauth_check(&a, &cfg, &prom, "alice", "s3cret", now), PW_AUTH_OK);
	/* a source that authenticated (here as bob), then guessers on 1,000
	 * more addresses (more than the table holds) spending the strangers'
	 * pool */
	assert_int_equal(pw_webauth_check(&a, &cfg, &known, "bob", "s3cret", now), PW_AUTH_OK);
	for (int i = 0; i < 1000 || (a.strangers.ns > 0 && i < 100000); i++) {
		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
		k = key6(ip);
		pw_webauth_check(&a, &cfg, &k, "alice", "guess", now);
	}
	assert_true(a.strangers.ns <= 0);
	k = key4("127.0.0.9");
	assert_int_equal(pw_webauth_check(&a, &cfg, &k, "alice", "s3cret2", now), PW_AUTH_BUSY);
	/* the known source still gets a new password checked (bob's cache is
	 * for another password: this one needs bcrypt) */
	uint64_t runs = a.bcrypt_runs;
	assert_int_equal(pw_webauth_check(&a, &cfg, &known, "bob", "not-bobs", now), PW_AUTH_DENIED);
	assert_int_equal(a.bcrypt_runs, runs + 1);
	/* bounded: 256 strangers, the known sources kept */
	n = 0;
	for (size_t i = 0; i < PW_AUTH_SOURCES; i++)
		n += a.src[i].used;
	assert_int_equal(n, PW_AUTH_SOURCES);
	n = 0;
	for (size_t i = 0; i < PW_AUTH_KNOWN; i++)
		n += a.known_src[i].used && (SAME(a.known_src[i].key, prom) ||
					     SAME(a.known_src[i].key, known));
	assert_int_equal(n, 2);
	pw_webauth_free(&a);
	pw_webconfig_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_cache),
		cmocka_unit_test(test_addrkey),
		cmocka_unit_test(test_auth_budget),
		cmocka_unit_test(test_auth_per_source),
	};

	return cmocka_run_group_tests_name("test_webauth", tests, NULL, NULL);
}
