// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/advice.c: the consumer's limit on asks for live
 * remedies (per process and destination, a budget per cgroup, bounded
 * tables) and the worker's keys (workload, client kind, netns,
 * destination): advice once per key, a gone process folded into its place's
 * key, the summary's distinct top failers, bounded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "advice.h"
#include "client.h"

#define SEC 1000000000ull

static struct pw_dest dst(uint16_t port)
{
	struct pw_dest d;

	pw_dest_set(&d, AF_INET, (const uint8_t *)"\x7f\x00\x00\x01\0\0\0\0\0\0\0\0\0\0\0\0", port);
	return d;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* One process, one destination: once per PW_DIAG_EVERY_NS; another
 * process or destination asks on its own. */
static void test_limit_per_process(void **state)
{
	struct pw_advice_limit *l = pw_advice_limit_new();
	struct pw_dest a = dst(80), b = dst(81);

	(void)state;
	assert_non_null(l);
	assert_true(pw_advice_limit_due(l, 7, 1, &a, 100, SEC));
	assert_false(pw_advice_limit_due(l, 7, 1, &a, 100, 2 * SEC));
	assert_true(pw_advice_limit_due(l, 7, 1, &a, 101, 2 * SEC));	/* other process */
	assert_true(pw_advice_limit_due(l, 7, 1, &b, 100, 2 * SEC));	/* other destination */
	assert_true(pw_advice_limit_due(l, 7, 2, &a, 100, 2 * SEC));	/* other netns */
	assert_true(pw_advice_limit_due(l, 7, 1, &a, 100, SEC + PW_DIAG_EVERY_NS));
	assert_int_equal(pw_advice_limit_skipped(l), 0);
	pw_advice_limit_free(l);
}

/* A cgroup's storm of new processes: PW_ADVICE_BURST asks, then
 * PW_ADVICE_PER_S a second, the rest skipped and counted; another cgroup
 * asks as if there were no storm. */
static void test_limit_budget_per_cgroup(void **state)
{
	struct pw_advice_limit *l = pw_advice_limit_new();
	struct pw_dest a = dst(80);
	unsigned int yes = 0;

	(void)state;
	for (uint32_t pid = 1; pid <= 100000; pid++)
		yes += pw_advice_limit_due(l, 7, 1, &a, pid, 10 * SEC);
	assert_int_equal(yes, PW_ADVICE_BURST);
	assert_int_equal(pw_advice_limit_skipped(l), 100000 - PW_ADVICE_BURST);
	assert_true(pw_advice_limit_due(l, 8, 1, &a, 1, 10 * SEC));
	/* one second on: PW_ADVICE_PER_S more for the storming cgroup */
	yes = 0;
	for (uint32_t pid = 200000; pid < 200100; pid++)
		yes += pw_advice_limit_due(l, 7, 1, &a, pid, 11 * SEC);
	assert_int_equal(yes, PW_ADVICE_PER_S);
	pw_advice_limit_free(l);
}

/* Many cgroups each within budget: the tables stay bounded, the asks that
 * find no room are skipped and counted, never let through. */
static void test_limit_bounded(void **state)
{
	struct pw_advice_limit *l = pw_advice_limit_new();
	struct pw_dest a = dst(80);
	uint64_t yes = 0, n = 200000;

	(void)state;
	for (uint64_t i = 0; i < n; i++)
		yes += pw_advice_limit_due(l, 1000 + i, 1, &a, 5, 10 * SEC);
	assert_true(yes <= PW_ADVICE_CG_SLOTS);
	assert_true(yes > 0);
	assert_int_equal(yes + pw_advice_limit_skipped(l), n);
	pw_advice_limit_free(l);
}

static char *buf;
static size_t len;

static uint64_t now_ns = 5 * SEC;

static void note(struct pw_advice *a, FILE *f, bool json, uint64_t cg, uint32_t pid,
		 const char *comm, uint16_t port, double usage, int client)
{
	struct pw_census_ns ns = { .netns = 4026532174, .range_lo = 40000, .range_hi = 40009,
				   .range_size = 10 };
	struct pw_census_dest d = { .dest = dst(port), .held = (uint32_t)(usage * 10),
				    .usage = usage };
	struct pw_diag_req r = { .netns = ns.netns, .ts_ns = now_ns, .cgroup_id = cg, .pid = pid,
				 .tid = pid, .dest = d.dest, .what = PW_DIAG_ADVICE };

	d.states[6] = d.held;
	memcpy(r.comm, comm, strnlen(comm, sizeof(r.comm) - 1));
	pw_advice_note(a, f, json, 0, &r, &ns, &d, client);
}

static const char *flush(FILE *f)
{
	fflush(f);
	return buf;
}

/* Each (workload, client kind, destination) is advised once within the
 * period: a second process of the same kind is a repeat; a gone process
 * where a client was seen is folded into that key; a new kind, workload or
 * destination is advised. */
static void test_advice_keys(void **state)
{
	struct pw_advice *a = pw_advice_new(NULL);
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	note(a, f, false, 7, 100, "curl", 8080, 1.0, PW_CLIENT_LIBCURL);
	assert_int_equal(count(flush(f), "REMEDIES for 127.0.0.1:8080 "), 1);
	assert_int_equal(count(buf, "    for pid 100 (curl), client libcurl, workload cgroup id 7\n"), 1);
	assert_int_equal(count(buf, "pid 100) uses libcurl"), 1);
	note(a, f, false, 7, 101, "fetcher", 8080, 1.0, PW_CLIENT_LIBCURL);	/* same key */
	note(a, f, false, 7, 102, "curl", 8080, 1.0, PW_CLIENT_GONE);	/* folded */
	assert_int_equal(count(flush(f), "REMEDIES for"), 1);
	note(a, f, false, 7, 103, "svc", 8080, 1.0, PW_CLIENT_GO);		/* its own kind */
	assert_int_equal(count(flush(f), "REMEDIES for"), 2);
	assert_int_equal(count(buf, "pid 103) is a Go program"), 1);
	note(a, f, false, 8, 104, "curl", 8080, 1.0, PW_CLIENT_LIBCURL);	/* another workload */
	note(a, f, false, 7, 105, "curl", 8081, 1.0, PW_CLIENT_LIBCURL);	/* another destination */
	note(a, f, false, 9, 106, "curl", 8080, 1.0, PW_CLIENT_GONE);	/* nothing seen there */
	assert_int_equal(count(flush(f), "REMEDIES for"), 5);
	assert_int_equal(count(buf, "client not seen (exited), workload cgroup id 9"), 1);
	assert_int_equal(pw_advice_skipped(a), 0);
	fclose(f);
	free(buf);
	buf = NULL;

	/* the summary: one block per distinct failer, the most pressured
	 * first; the repeats counted in its diagnoses */
	f = open_memstream(&buf, &len);
	pw_advice_summary(a, f, false);
	assert_int_equal(count(flush(f), "\nRemedies for 127.0.0.1:"), 5);
	assert_int_equal(count(buf, "  for pid 100 (curl), client libcurl, workload cgroup id 7; 3 diagnoses\n"), 1);
	fclose(f);
	free(buf);
	buf = NULL;
	pw_advice_free(a);
}

/* Again after the period, with the diagnoses in between; a failure older
 * than the latest (a batch is not in time order) does not turn the clock
 * back. */
static void test_advice_period(void **state)
{
	struct pw_advice *a = pw_advice_new(NULL);
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	now_ns = 100 * SEC;
	note(a, f, true, 7, 100, "svc", 8080, 1.0, PW_CLIENT_GO);
	now_ns = 100 * SEC + PW_ADVICE_EVERY_NS - 1;
	note(a, f, true, 7, 101, "svc", 8080, 1.0, PW_CLIENT_GO);
	note(a, f, true, 7, 102, "svc", 8080, 1.0, PW_CLIENT_GO);
	now_ns = 50 * SEC;	/* older: the clock stays */
	note(a, f, true, 7, 103, "svc", 8080, 1.0, PW_CLIENT_GO);
	assert_int_equal(count(flush(f), "{\"type\":\"advice\","), 1);
	assert_int_equal(count(buf, "\"pid\":100,\"tid\":100,"), 1);
	now_ns = 100 * SEC + PW_ADVICE_EVERY_NS;
	note(a, f, true, 7, 104, "svc", 8080, 1.0, PW_CLIENT_GO);
	assert_int_equal(count(flush(f), "{\"type\":\"advice\","), 2);
	assert_int_equal(count(buf, "\"pid\":104,\"tid\":104,\"comm\":\"svc\",\"client\":\"go\","), 1);
	assert_int_equal(count(buf, "\"repeats\":3,"), 1);
	fclose(f);
	free(buf);
	buf = NULL;
	now_ns = 5 * SEC;
	pw_advice_free(a);
}

/* The summary is bounded: PW_ADVICE_SUMMARY blocks, the most pressured;
 * the live objects are NDJSON of type advice, the summary's remedies. */
static void test_advice_summary_bounded(void **state)
{
	struct pw_advice *a = pw_advice_new(NULL);
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	for (int i = 0; i < 3 * PW_ADVICE_SUMMARY; i++)
		note(a, f, true, 7, 200 + i, "svc", (uint16_t)(9000 + i), (i % 10 + 1) / 10.0,
		     PW_CLIENT_UNKNOWN);
	assert_int_equal(count(flush(f), "{\"type\":\"advice\","), 3 * PW_ADVICE_SUMMARY);
	assert_int_equal(count(buf, "\"cgroup_id\":7,\"cgroup\":null,"), 3 * PW_ADVICE_SUMMARY);
	fclose(f);
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	pw_advice_summary(a, f, true);
	assert_int_equal(count(flush(f), "{\"type\":\"remedies\","), PW_ADVICE_SUMMARY);
	/* i % 10 == 9, 8, 7, 6: two of each */
	assert_int_equal(count(buf, "\"usage\":1.0,"), 2);
	assert_int_equal(count(buf, "\"usage\":0.9,"), 2);
	assert_int_equal(count(buf, "\"usage\":0.8,"), 2);
	assert_int_equal(count(buf, "\"usage\":0.7,"), 2);
	assert_int_equal(count(buf, "\"diagnoses\":1,"), PW_ADVICE_SUMMARY);
	assert_non_null(strstr(buf, "\"usage\":1.0,"));
	assert_true(strstr(buf, "\"usage\":1.0,") < strstr(buf, "\"usage\":0.8,"));
	fclose(f);
	free(buf);
	buf = NULL;
	pw_advice_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limit_per_process),
		cmocka_unit_test(test_limit_budget_per_cgroup),
		cmocka_unit_test(test_limit_bounded),
		cmocka_unit_test(test_advice_keys),
		cmocka_unit_test(test_advice_period),
		cmocka_unit_test(test_advice_summary_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
