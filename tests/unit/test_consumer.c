// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/consumer.c, the event path: events in -> lines out,
 * counts and diagnosis requests to the mailbox (-q's sampled failures'
 * too), the batch bound, the fold,
 * the worker's output written in order, stdout's end, and the events whose
 * workload needs filesystem work written after the callback returns. The
 * ring buffer itself is libbpf's: events are given to the callback. */
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
#include <bpf/bpf.h>
#include <cmocka.h>

#include "advice.h"
#include "consumer.h"
#include "fold.h"
#include "mailbox.h"
#include "workload.h"

struct fx {
	struct env env;
	struct pw_mailbox *mb;
	struct pw_consumer c;
	char *out;
	size_t len;
	FILE *f;
};

static struct fx *fx_new(bool json)
{
	struct fx *x = calloc(1, sizeof(*x));

	assert_non_null(x);
	x->env.json = json;
	x->mb = pw_mailbox_new();
	assert_non_null(x->mb);
	x->f = open_memstream(&x->out, &x->len);
	assert_non_null(x->f);
	assert_int_equal(pw_consumer_init(&x->c, &x->env, x->mb, NULL, x->f), 0);
	return x;
}

static void fx_free(struct fx *x)
{
	pw_consumer_free(&x->c);
	pw_mailbox_free(x->mb);
	fclose(x->f);
	free(x->out);
	free(x);
}

/* What was written so far. */
static const char *fx_out(struct fx *x)
{
	fflush(x->f);
	return x->out ? x->out : "";
}

static size_t count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

static struct pw_event ev(uint32_t pid, int ret, uint64_t ts)
{
	struct pw_event e;

	memset(&e, 0, sizeof(e));
	e.pid = e.tid = pid;
	e.ret = ret;
	e.ts_ns = ts;
	e.family = AF_INET;
	e.netns = 4026531840ull;
	e.dport = 9000;
	memcpy(e.daddr, "\x7f\x00\x00\x01", 4);
	e.cause = PW_CAUSE_RANGE_EXHAUSTED;
	memcpy(e.comm, "gen", 3);
	return e;
}

static int feed(struct fx *x, struct pw_event e)
{
	return pw_consumer_event(&x->c, &e, sizeof(e));
}

/* One JSON line per event, each its own pid; the count published. */
static void test_json_lines(void **state)
{
	struct fx *x = fx_new(true);

	(void)state;
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(feed(x, ev(100 + i, -EADDRNOTAVAIL, 1000 + i)), 0);
	assert_int_equal(count(fx_out(x), "\n"), 5);
	for (uint32_t i = 0; i < 5; i++) {
		char pid[32];

		snprintf(pid, sizeof(pid), "\"pid\":%u,", 100 + i);
		assert_int_equal(count(fx_out(x), pid), 1);
	}
	assert_int_equal(x->c.received, 5);
	assert_int_equal(pw_mailbox_received(x->mb), 5);
	/* a short record is no event */
	assert_int_equal(pw_consumer_event(&x->c, x, 8), 0);
	assert_int_equal(x->c.received, 5);
	fx_free(x);
}

/* A PW_UNCOUNTED event is a count for the worker; a success is not written
 * without --all, a failure is. */
static void test_uncounted(void **state)
{
	struct fx *x = fx_new(true);
	struct pw_event ok = ev(7, 0, 10), fail = ev(7, -EADDRNOTAVAIL, 11);
	struct pw_accounts taken;
	uint64_t total = 0;

	(void)state;
	ok.flags = fail.flags = PW_UNCOUNTED;
	assert_int_equal(feed(x, ok), 0);
	assert_int_equal(feed(x, ok), 0);
	assert_int_equal(feed(x, fail), 0);
	assert_int_equal(count(fx_out(x), "\n"), 1);
	pw_mailbox_take_counts(x->mb, &taken);
	assert_int_equal(taken.n, 2);	/* (7, 0) and (7, EADDRNOTAVAIL) */
	for (size_t i = 0; i < taken.n; i++) {
		struct pw_proc_val t;

		pw_row_total(&taken.rows[i], &t);
		assert_int_equal(taken.rows[i].key.tgid, 7);
		total += t.count;
	}
	assert_int_equal(total, 3);
	pw_accounts_free(&taken);
	pw_mailbox_take_counts(x->mb, &taken);
	assert_int_equal(taken.n, 0);	/* taken once */
	pw_accounts_free(&taken);
	fx_free(x);
}

/* The pass ends after PW_CONSUMER_BATCH events, folded or not. */
static void test_batch_bound(void **state)
{
	struct fx *x = fx_new(true);
	int r = 0;

	(void)state;
	x->env.quiet = true;
	for (unsigned int i = 0; i < PW_CONSUMER_BATCH - 1; i++) {
		struct pw_event e = ev(1, 0, i);

		e.flags = PW_UNCOUNTED;
		assert_int_equal(feed(x, e), 0);
	}
	r = feed(x, ev(2, -EADDRNOTAVAIL, 5000));
	assert_true(r < 0);
	assert_int_equal(x->c.batch, PW_CONSUMER_BATCH);
	fx_free(x);
}

/* The first failure to a destination asks the worker once; another to
 * the same destination within PW_DIAG_EVERY_NS does not, another
 * destination does, and a success never does. */
static void test_diagnosis_asked(void **state)
{
	struct fx *x = fx_new(true);
	struct pw_diag_req reqs[PW_MAILBOX_REQS];
	struct pw_event other = ev(3, -EADDRNOTAVAIL, 30);

	(void)state;
	assert_true(pw_consumer_enable_diagnosis(&x->c));
	other.dport = 9001;
	feed(x, ev(3, -EADDRNOTAVAIL, 10));
	feed(x, ev(3, -EADDRNOTAVAIL, 20));
	feed(x, other);
	feed(x, ev(3, 0, 40));
	assert_int_equal(pw_mailbox_take_requests(x->mb, reqs), 2);
	assert_int_equal(reqs[0].dest.port, 9000);
	assert_int_equal(reqs[0].pid, 3);
	assert_int_equal(reqs[1].dest.port, 9001);
	assert_int_equal(pw_mailbox_take_requests(x->mb, reqs), 0);
	fx_free(x);
}

/* -q: a failure the kernel sampled (PW_SAMPLED) asks for its diagnosis
 * and remedies like a line's event would, writes nothing, and is neither
 * counted nor an event of the stream (received); one written for its count
 * (PW_UNCOUNTED) is counted once and asks too. Nothing is written. */
static void test_quiet_sampled(void **state)
{
	struct fx *x = fx_new(true);
	struct pw_diag_req reqs[PW_MAILBOX_REQS];
	struct pw_event s = ev(5, -EADDRNOTAVAIL, 10), u = ev(6, -EADDRNOTAVAIL, 20);
	struct pw_accounts taken;

	(void)state;
	x->env.quiet = true;
	assert_true(pw_consumer_enable_diagnosis(&x->c));
	s.flags = PW_SAMPLED;
	u.flags = PW_UNCOUNTED;
	u.dport = 9001;
	assert_int_equal(feed(x, s), 0);
	assert_int_equal(feed(x, u), 0);
	assert_string_equal(fx_out(x), "");
	assert_int_equal(x->c.received, 1);
	assert_int_equal(x->c.sampled, 1);
	assert_int_equal(pw_mailbox_received(x->mb), 1);
	assert_int_equal(pw_mailbox_take_requests(x->mb, reqs), 2);
	assert_int_equal(reqs[0].pid, 5);
	assert_int_equal(reqs[0].what, PW_DIAG_PRESSURE | PW_DIAG_ADVICE);
	assert_int_equal(reqs[1].pid, 6);
	assert_int_equal(reqs[1].dest.port, 9001);
	pw_mailbox_take_counts(x->mb, &taken);
	assert_int_equal(taken.n, 1);	/* the uncounted one only */
	assert_int_equal(taken.rows[0].key.tgid, 6);
	pw_accounts_free(&taken);
	fx_free(x);
}

/* The kernel's `sampled` map, shaped as bpf/state.bpf.h's (root only:
 * skipped otherwise, a failure as root). */
static int sampled_map(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "pw_test_sampled",
				sizeof(struct pw_sample_key), sizeof(struct pw_sample_val), 64, NULL);

	if (fd < 0) {
		if (geteuid() != 0)
			skip();
		fail_msg("bpf_map_create(BPF_MAP_TYPE_LRU_HASH) as root: %s", strerror(errno));
	}
	return fd;
}

/* A sampled event's key as the kernel wrote it (last_ns: the event's ts). */
static void sampled_put(int fd, const struct pw_event *e, uint64_t writes)
{
	struct pw_sample_key k;
	struct pw_sample_val v = { .last_ns = e->ts_ns, .writes = writes };

	pw_sample_key_of(e, &k);
	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_NOEXIST), 0);
}

static bool sampled_get(int fd, const struct pw_event *e, struct pw_sample_val *v)
{
	struct pw_sample_key k;

	pw_sample_key_of(e, &k);
	return !bpf_map_lookup_elem(fd, &k, v);
}

/* The key of a sampled event as the BPF side builds it: a connect's
 * destination, a bind's own address and port; the rest zero. */
static void test_sample_key_of(void **state)
{
	struct pw_event e = ev(5, -EADDRNOTAVAIL, 10);
	struct pw_sample_key k, want;

	(void)state;
	e.sport = 40000;
	memcpy(e.saddr, "\x0a\x00\x00\x01", 4);
	memset(&k, 0xff, sizeof(k));
	pw_sample_key_of(&e, &k);
	memset(&want, 0, sizeof(want));
	want.netns = e.netns;
	want.tgid = 5;
	want.family = AF_INET;
	want.op = PW_OP_CONNECT;
	want.port = 9000;
	memcpy(want.addr, "\x7f\x00\x00\x01", 4);
	assert_memory_equal(&k, &want, sizeof(k));
	e.op = PW_OP_BIND_PORT;
	pw_sample_key_of(&e, &k);
	want.op = PW_OP_BIND_PORT;
	want.port = 40000;
	memset(want.addr, 0, sizeof(want.addr));
	memcpy(want.addr, "\x0a\x00\x00\x01", 4);
	assert_memory_equal(&k, &want, sizeof(k));
}

/* -q: a sampled failure whose advice its cgroup's budget refused has its
 * key in the kernel's map made due again PW_SAMPLE_RETRY_NS after it (not
 * PW_SAMPLE_EVERY_NS), its writes kept; one refused for having been asked
 * within the period, one not sampled, or one whose key is gone, leave the
 * map as it is. */
static void test_quiet_refused_sample_retried(void **state)
{
	struct fx *x = fx_new(true);
	struct pw_sample_val v;
	uint64_t t = 100 * 1000000000ull;
	struct pw_event e;
	int fd = sampled_map();

	(void)state;
	x->env.quiet = true;
	assert_true(pw_consumer_enable_diagnosis(&x->c));
	x->c.sampled_fd = fd;
	/* the cgroup's burst: PW_ADVICE_BURST processes advised at t */
	for (uint32_t i = 0; i < PW_ADVICE_BURST; i++) {
		e = ev(100 + i, -EADDRNOTAVAIL, t);
		e.flags = PW_SAMPLED;
		e.cgroup_id = 7;
		sampled_put(fd, &e, 1);
		assert_int_equal(feed(x, e), 0);
		assert_true(sampled_get(fd, &e, &v));
		assert_int_equal(v.last_ns, t);
	}
	assert_int_equal(x->c.sample_retries, 0);
	/* the next process of the cgroup: refused (budget), retried */
	e = ev(200, -EADDRNOTAVAIL, t);
	e.flags = PW_SAMPLED;
	e.cgroup_id = 7;
	sampled_put(fd, &e, 3);
	assert_int_equal(feed(x, e), 0);
	assert_int_equal(pw_advice_limit_skipped(x->c.advice_limit), 1);
	assert_true(sampled_get(fd, &e, &v));
	assert_int_equal(v.last_ns, t - PW_SAMPLE_EVERY_NS + PW_SAMPLE_RETRY_NS);
	assert_int_equal(v.writes, 3);
	assert_int_equal(x->c.sample_retries, 1);
	/* an advised process failing again within the period: not due, kept */
	e = ev(100, -EADDRNOTAVAIL, t + 1000);
	e.flags = PW_SAMPLED;
	e.cgroup_id = 7;
	assert_int_equal(feed(x, e), 0);
	assert_true(sampled_get(fd, &e, &v));
	assert_int_equal(v.last_ns, t);
	/* refused but not sampled (an event written for its count) */
	e = ev(201, -EADDRNOTAVAIL, t + 2000);
	e.flags = PW_UNCOUNTED;
	e.cgroup_id = 7;
	sampled_put(fd, &e, 1);
	assert_int_equal(feed(x, e), 0);
	assert_true(sampled_get(fd, &e, &v));
	assert_int_equal(v.last_ns, t + 2000);
	/* refused, its key gone: not made again */
	e = ev(202, -EADDRNOTAVAIL, t + 3000);
	e.flags = PW_SAMPLED;
	e.cgroup_id = 7;
	assert_int_equal(feed(x, e), 0);
	assert_false(sampled_get(fd, &e, &v));
	assert_int_equal(x->c.sample_retries, 1);
	assert_int_equal(x->c.sampled, PW_ADVICE_BURST + 3);
	close(fd);
	fx_free(x);
}

/* -q: the retries are bounded, PW_SAMPLE_RETRIES_PER_S a second in all (by
 * event time), the rest counted; a key whose sample the kernel wrote again
 * after the event (a later last_ns) is not moved back. */
static void test_quiet_sample_retries_bounded(void **state)
{
	struct fx *x = fx_new(true);
	struct pw_sample_val v;
	uint64_t t = 100 * 1000000000ull;
	uint32_t n = PW_ADVICE_BURST + PW_SAMPLE_RETRIES_PER_S + 20;
	struct pw_event e;
	int fd = bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "pw_test_sampled",
				sizeof(struct pw_sample_key), sizeof(struct pw_sample_val),
				1024, NULL);

	(void)state;
	if (fd < 0) {
		if (geteuid() != 0)
			skip();
		fail_msg("bpf_map_create(BPF_MAP_TYPE_LRU_HASH) as root: %s", strerror(errno));
	}
	x->env.quiet = true;
	assert_true(pw_consumer_enable_diagnosis(&x->c));
	x->c.sampled_fd = fd;
	/* one cgroup's processes: the burst advised, the rest refused */
	for (uint32_t i = 0; i < n; i++) {
		e = ev(1000 + i, -EADDRNOTAVAIL, t + i);
		e.flags = PW_SAMPLED;
		e.cgroup_id = 9;
		sampled_put(fd, &e, 1);
		assert_int_equal(feed(x, e), 0);
	}
	assert_int_equal(x->c.sample_retries, PW_SAMPLE_RETRIES_PER_S);
	assert_int_equal(x->c.sample_retries_skipped, 20);
	/* the last one was skipped: its key as the kernel left it */
	assert_true(sampled_get(fd, &e, &v));
	assert_int_equal(v.last_ns, t + n - 1);
	/* a second later (event time): a refused key whose map time is later
	 * than its event (the kernel wrote it again): left as it is */
	e = ev(5000, -EADDRNOTAVAIL, t + 1000000000ull + n);
	e.flags = PW_SAMPLED;
	e.cgroup_id = 9;
	{
		struct pw_sample_key k;
		struct pw_sample_val later = { .last_ns = e.ts_ns + 7, .writes = 2 };

		pw_sample_key_of(&e, &k);
		assert_int_equal(bpf_map_update_elem(fd, &k, &later, BPF_NOEXIST), 0);
	}
	assert_int_equal(feed(x, e), 0);
	assert_true(sampled_get(fd, &e, &v));
	assert_int_equal(v.last_ns, e.ts_ns + 7);
	assert_int_equal(x->c.sample_retries, PW_SAMPLE_RETRIES_PER_S);
	close(fd);
	fx_free(x);
}

/* Text: a burst of one key prints PW_FOLD_AFTER lines, the rest folded;
 * printed + folded = events. */
static void test_fold_counts(void **state)
{
	struct fx *x = fx_new(false);
	uint64_t printed, folded;
	int ret = 0;

	(void)state;
	assert_non_null(x->c.fold);
	for (int i = 0; i < 10; i++)
		feed(x, ev(9, -EADDRNOTAVAIL, 1000 + i));
	assert_int_equal(count(fx_out(x), "\n"), PW_FOLD_AFTER);
	pw_consumer_finish(&x->c, &ret);
	assert_int_equal(ret, 0);
	pw_consumer_lines(&x->c, &printed, &folded);
	assert_int_equal(printed, PW_FOLD_AFTER);
	assert_int_equal(folded, 10 - PW_FOLD_AFTER);
	assert_int_equal(count(fx_out(x), "... 7 more"), 1);
	fx_free(x);
}

/* What the worker posts comes out in order; stdout's reader gone is an
 * end without an error line. */
static void test_worker_output_and_end(void **state)
{
	struct fx *x = fx_new(true);
	int ret = 0;

	(void)state;
	assert_true(pw_mailbox_post(x->mb, "one\n", 4));
	assert_true(pw_mailbox_post(x->mb, "two\n", 4));
	pw_consumer_write_output(&x->c);
	assert_string_equal(fx_out(x), "one\ntwo\n");
	assert_true(pw_consumer_flush(&x->c, &ret));
	x->c.out_closed = true;
	assert_false(pw_consumer_flush(&x->c, &ret));
	assert_int_equal(x->c.out_err, EPIPE);
	assert_int_equal(ret, 0);
	fx_free(x);
}

/* An event of a cgroup not cached yet: the callback writes nothing and cuts
 * the pass; resolved after it, the line has the cgroup. The next event of
 * that cgroup is written from the cache at once. */
static void test_workload_deferred(void **state)
{
	struct fx *x = fx_new(true);
	struct pw_workloads *ws = pw_workloads_new(NULL, 16, 256);

	(void)state;
	if (!ws) {
		fx_free(x);
		skip();	/* no cgroup v2 hierarchy here */
	}
	x->c.wl = ws;
	assert_true(feed(x, ev(5, -EADDRNOTAVAIL, 10)) < 0);	/* root cgroup: id 0 -> 1 */
	assert_true(x->c.deferred);
	assert_string_equal(fx_out(x), "");
	assert_int_equal(pw_consumer_write_deferred(&x->c), 1);
	assert_false(x->c.deferred);
	assert_int_equal(count(fx_out(x), "\"cgroup\":\"/\""), 1);
	assert_int_equal(feed(x, ev(5, -EADDRNOTAVAIL, 20)), 0);
	assert_int_equal(count(fx_out(x), "\"cgroup\":\"/\""), 2);
	assert_int_equal(x->c.received, 2);
	fx_free(x);
	pw_workloads_free(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_lines),
		cmocka_unit_test(test_uncounted),
		cmocka_unit_test(test_batch_bound),
		cmocka_unit_test(test_diagnosis_asked),
		cmocka_unit_test(test_quiet_sampled),
		cmocka_unit_test(test_sample_key_of),
		cmocka_unit_test(test_quiet_refused_sample_retried),
		cmocka_unit_test(test_quiet_sample_retries_bounded),
		cmocka_unit_test(test_fold_counts),
		cmocka_unit_test(test_worker_output_and_end),
		cmocka_unit_test(test_workload_deferred),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
