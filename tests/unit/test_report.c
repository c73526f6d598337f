// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/report.c: one snapshot (taken on real BPF maps shaped
 * as the program's; root only, skipped otherwise) feeds the text and JSON
 * tables, the stderr lines about what was not counted, and the /metrics
 * input, with the same figures everywhere. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "kmaps_fixture.h"
#include "mailbox.h"
#include "metrics.h"
#include "report.h"

struct rfx {
	struct kfx k;
	struct pw_mailbox *mb;
	struct pw_attach at;
	struct pw_report r;
	uint64_t lost, full, via, samples_lost;
};

/* Two processes in the kernel's map (not synced yet), counters set, 4
 * event counts that could not be queued. */
static void rfx_take(struct rfx *x, bool rows)
{
	struct pw_report_src src;

	memset(x, 0, sizeof(*x));
	x->mb = pw_mailbox_new();
	assert_non_null(x->mb);
	kfx_init(&x->k, x->mb, 100);
	x->at.mode = PW_MODE_KPROBE;
	kfx_put(x->k.km.fds.procs[0], getpid(), EADDRNOTAVAIL, 5, "gen");
	kfx_put(x->k.km.fds.procs[0], 1, EADDRNOTAVAIL, 9, "init");
	x->lost = kfx_set_counter(&x->k, PW_CNT_EVENTS_LOST, 1);
	x->full = kfx_set_counter(&x->k, PW_CNT_OUTCOMES_LOST, 2);
	x->via = kfx_set_counter(&x->k, PW_CNT_VIA_EVENTS, 3);
	x->samples_lost = kfx_set_counter(&x->k, PW_CNT_SAMPLES_LOST, 5);
	pw_mailbox_counts_lost(x->mb, 4);
	pw_mailbox_publish_sampled(x->mb, 6);	/* -q's, as the consumer published it */
	src = (struct pw_report_src){ .km = &x->k.km, .at = &x->at, .start = 0 };
	pw_report_take(&x->r, &src, 7, rows);
}

static void rfx_free(struct rfx *x)
{
	pw_report_free(&x->r);
	kfx_free(&x->k);
	pw_mailbox_free(x->mb);
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* The snapshot syncs first: the rows are the map's, sorted by failures;
 * counts_dropped is the kernel's plus the mailbox's. */
static void test_snapshot(void **state)
{
	struct rfx x;

	(void)state;
	rfx_take(&x, true);
	assert_int_equal(x.r.received, 7);
	assert_int_equal(x.r.events_lost, x.lost);
	assert_int_equal(x.r.counts_dropped, x.full + 4);
	assert_int_equal(x.r.counted_from_events, x.via);
	assert_int_equal(x.r.samples, 6);
	assert_int_equal(x.r.samples_lost, x.samples_lost);
	assert_int_equal(x.r.unmatched, 0);
	assert_int_equal(x.r.recursion_misses, -1);	/* no programs */
	assert_int_equal(x.r.procs.n, 2);
	assert_int_equal(x.r.procs.v[0].pid, 1);
	assert_int_equal(x.r.procs.v[0].failures, 9);
	assert_int_equal(x.r.procs.v[1].pid, getpid());
	assert_int_equal(x.r.procs.v[1].failures, 5);
	assert_string_equal(x.r.mode, "kprobe");
	rfx_free(&x);
}

static char *table(const struct pw_report *r, const char *type, bool json, bool quiet)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	pw_report_table(f, r, type, json, quiet);
	fclose(f);
	return buf;
}

static void test_table_json(void **state)
{
	struct rfx x;
	char want[128], *t;

	(void)state;
	rfx_take(&x, true);
	t = table(&x.r, "summary", true, false);
	assert_int_equal(count(t, "\n"), 1);
	assert_int_equal(count(t, "{\"type\":\"summary\",\"mode\":\"kprobe\","), 1);
	snprintf(want, sizeof(want), "\"events_received\":7,\"events_lost\":%llu,\"samples\":6,"
		 "\"samples_lost\":%llu,\"counts_dropped\":%llu,", (unsigned long long)x.lost,
		 (unsigned long long)x.samples_lost, (unsigned long long)(x.full + 4));
	assert_int_equal(count(t, want), 1);
	assert_int_equal(count(t, "\"recursion_misses\":null"), 1);
	assert_int_equal(count(t, "\"pid\":"), 2);
	free(t);
	rfx_free(&x);
}

/* The summary's events line has the consumer's printed and folded lines;
 * the interval's has none; quiet, no events line. */
static void test_table_text(void **state)
{
	struct rfx x;
	char want[160], *t;

	(void)state;
	rfx_take(&x, true);
	x.r.printed = 5;
	x.r.folded = 2;
	t = table(&x.r, "summary", false, false);
	snprintf(want, sizeof(want), "events: 7 received = 5 lines printed + 2 folded into "
		 "\"... more\" lines; %llu lost (ring buffer full)\n", (unsigned long long)x.lost);
	assert_int_equal(count(t, want), 1);
	assert_int_equal(count(t, "(summary, "), 1);
	free(t);
	t = table(&x.r, "interval", false, false);
	snprintf(want, sizeof(want), "events: 7 received, %llu lost (ring buffer full)\n",
		 (unsigned long long)x.lost);
	assert_int_equal(count(t, want), 1);
	free(t);
	t = table(&x.r, "interval", false, true);
	assert_int_equal(count(t, "events:"), 0);
	assert_int_equal(count(t, " gen"), 1);
	free(t);
	rfx_free(&x);
}

/* One stderr line per kind of loss, with the snapshot's figure. */
static void test_losses(void **state)
{
	char *buf = NULL, want[128];
	size_t len = 0;
	FILE *f;
	struct rfx x;

	(void)state;
	rfx_take(&x, false);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	pw_report_losses(f, &x.r, true);
	fclose(f);
	assert_int_equal(count(buf, "\n"), 3);	/* lost, not counted, from events */
	snprintf(want, sizeof(want), "portwatch: %llu events lost", (unsigned long long)x.lost);
	assert_int_equal(count(buf, want), 1);
	snprintf(want, sizeof(want), "portwatch: %llu outcomes not counted",
		 (unsigned long long)(x.full + 4));
	assert_int_equal(count(buf, want), 1);
	free(buf);
	rfx_free(&x);
}

/* /metrics gets the snapshot's figures, the misses under the mode's kind. */
static void test_metrics_input(void **state)
{
	struct pw_metrics_input in;
	struct rfx x;

	(void)state;
	rfx_take(&x, false);
	assert_int_equal(x.r.procs.n, 0);	/* rows only for the tables */
	x.r.recursion_misses = 11;
	memset(&in, 0, sizeof(in));
	pw_report_metrics_input(&in, &x.r);
	assert_int_equal(in.events_lost, x.lost);
	assert_int_equal(in.samples_lost, x.samples_lost);
	assert_int_equal(in.counts_dropped, x.full + 4);
	assert_int_equal(in.counted_from_events, x.via);
	assert_int_equal(in.missed_runs[PW_MISS_KPROBE], 11);
	assert_int_equal(in.missed_runs[PW_MISS_FENTRY], -1);
	assert_int_equal(in.missed_runs[PW_MISS_TRACEPOINT], -1);
	assert_string_equal(in.mode, "kprobe");
	assert_true(in.exact_under_contention);	/* kprobe, not preemptible */
	rfx_free(&x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot),
		cmocka_unit_test(test_table_json),
		cmocka_unit_test(test_table_text),
		cmocka_unit_test(test_losses),
		cmocka_unit_test(test_metrics_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
