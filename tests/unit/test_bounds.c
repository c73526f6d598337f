// SPDX-License-Identifier: GPL-2.0
/* Unit tests of what userspace keeps bounded whatever local users do:
 * 100,000 distinct command names and 100,000 processes driven through the
 * accounts (pw_accounts_sync on a real BPF hash map, so root) and rendered
 * by metrics.c. Checked: the number of series and the exposition's bytes
 * stay bounded, and so does the heap; every failure fed is in the series
 * exactly once (their sum equals what was fed); every series only grows
 * from scrape to scrape and none disappears; the top failer keeps its
 * per-pid series while 10,000 lower pids fail less. Figures go to stderr
 * ("bounds: ..."). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <cmocka.h>

#include "metrics.h"
#include "accounts_fixture.h"

#define T0		(1000ull * 1000000000)	/* a CLOCK_MONOTONIC time */
#define SEC		1000000000ull
#define NPROCS		100000
#define MAX_ROWS	65536			/* portwatch.c's */
/* pids no process can have (over any pid_max, 2^22): kill() says ESRCH */
#define GONE_PID	0x40000000u
#define EADDRNOTAVAIL_	99
#define ECONNREFUSED_	111

static void put(int fd, uint32_t tgid, uint16_t err, uint64_t count, const char *comm)
{
	struct pw_proc_key k = { .tgid = tgid, .err = err, .family = AF_INET };
	struct pw_proc_val v = fx_val(count, count, count * 1000, comm);

	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
}

static size_t map_entries(int fd)
{
	struct pw_proc_key k, next;
	void *prev = NULL;
	size_t n = 0;

	while (!bpf_map_get_next_key(fd, prev, &next)) {
		k = next;
		prev = &k;
		n++;
	}
	return n;
}

/* ---- the exposition, parsed ---- */

struct series {
	char *labels;		/* the text between { and } */
	uint64_t value;
};

struct scrape {
	char *text;
	size_t len;
	size_t dropped;
	struct series *comm;	/* portwatch_connect_failures_total, sorted */
	size_t ncomm;
	size_t npid;		/* portwatch_process_connect_failures_total */
	uint64_t comm_sum, attempts;
};

static int cmp_series(const void *a, const void *b)
{
	return strcmp(((const struct series *)a)->labels, ((const struct series *)b)->labels);
}

static void scrape_free(struct scrape *s)
{
	for (size_t i = 0; i < s->ncomm; i++)
		free(s->comm[i].labels);
	free(s->comm);
	free(s->text);
	memset(s, 0, sizeof(*s));
}

/* What the collectors remember between scrapes: the test's own */
static struct pw_metrics_memory memory;

/* A test's accounts, and the metrics memory of them, new */
static void accounts_init(struct pw_accounts *a, size_t max_rows)
{
	pw_metrics_memory_free(&memory);
	pw_accounts_init(a, max_rows);
}

static void scrape(struct pw_accounts *a, uint64_t now, unsigned int max_pids, struct scrape *s)
{
	struct pw_metrics_input in = {
		.acc = a, .memory = &memory, .now_ns = now, .max_pids = max_pids, .range_size = -1,
		.version = "0.1.0", .libbpf_version = "v1.5", .mode = "tracepoint",
	};
	static const char comm_p[] = "portwatch_connect_failures_total{";
	static const char pid_p[] = "portwatch_process_connect_failures_total{";
	static const char att_p[] = "portwatch_connect_attempts_total{";
	size_t cap = 0;
	FILE *f;

	memset(s, 0, sizeof(*s));
	f = open_memstream(&s->text, &s->len);
	assert_non_null(f);
	s->dropped = pw_metrics_render(f, &in);
	assert_int_equal(fclose(f), 0);
	for (char *p = s->text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		char *close = strchr(p, '}');
		unsigned long long v;

		if (!strncmp(p, pid_p, sizeof(pid_p) - 1)) {
			s->npid++;
		} else if (!strncmp(p, att_p, sizeof(att_p) - 1)) {
			assert_non_null(close);
			assert_int_equal(sscanf(close + 1, " %llu", &v), 1);
			s->attempts += v;
		} else if (!strncmp(p, comm_p, sizeof(comm_p) - 1)) {
			assert_non_null(close);
			assert_int_equal(sscanf(close + 1, " %llu", &v), 1);
			if (s->ncomm == cap) {
				cap = cap ? cap * 2 : 256;
				s->comm = realloc(s->comm, cap * sizeof(*s->comm));
				assert_non_null(s->comm);
			}
			s->comm[s->ncomm].labels = strndup(p + sizeof(comm_p) - 1,
							   close - p - (sizeof(comm_p) - 1));
			s->comm[s->ncomm++].value = v;
			s->comm_sum += v;
		}
	}
	qsort(s->comm, s->ncomm, sizeof(*s->comm), cmp_series);
	for (size_t i = 1; i < s->ncomm; i++)
		if (!strcmp(s->comm[i - 1].labels, s->comm[i].labels))
			fail_msg("series {%s} is there twice", s->comm[i].labels);
}

/* Every series of old is in new, with a value at least as large; only a
 * name's series may be gone (the name displaced from the top failers),
 * never (other)'s. */
static void monotonic(const struct scrape *old, const struct scrape *new)
{
	for (size_t i = 0; i < old->ncomm; i++) {
		const struct series *n = bsearch(&old->comm[i], new->comm, new->ncomm,
						 sizeof(*new->comm), cmp_series);

		if (!n && !strncmp(old->comm[i].labels, "comm=\"(other)\"", 15))
			fail_msg("series {%s} disappeared", old->comm[i].labels);
		if (n && n->value < old->comm[i].value)
			fail_msg("series {%s} went down from %llu to %llu", n->labels,
				 (unsigned long long)old->comm[i].value, (unsigned long long)n->value);
	}
}

/* Every series ever seen (hist, the newest value of each): a series back
 * after it was gone is not below the value it had. hist takes cur's. */
static void never_below(struct scrape *hist, const struct scrape *cur)
{
	for (size_t i = 0; i < cur->ncomm; i++) {
		struct series *h = hist->ncomm ? bsearch(&cur->comm[i], hist->comm, hist->ncomm,
							 sizeof(*hist->comm), cmp_series) : NULL;

		if (h) {
			if (cur->comm[i].value < h->value)
				fail_msg("series {%s} back at %llu, below %llu", h->labels,
					 (unsigned long long)cur->comm[i].value,
					 (unsigned long long)h->value);
			h->value = cur->comm[i].value;
			continue;
		}
		hist->comm = realloc(hist->comm, (hist->ncomm + 1) * sizeof(*hist->comm));
		assert_non_null(hist->comm);
		hist->comm[hist->ncomm].labels = strdup(cur->comm[i].labels);
		hist->comm[hist->ncomm++].value = cur->comm[i].value;
		qsort(hist->comm, hist->ncomm, sizeof(*hist->comm), cmp_series);
	}
}

/* The own values of tracked names not shown (their series gone), for
 * errno err (0: all), and those of names no longer tracked (err 0 only):
 * with the series, every failure. */
static uint64_t hidden_own(uint16_t err)
{
	const struct pw_comm_memory *m = &memory.comm;
	uint64_t sum = err ? 0 : m->evicted_own;

	for (size_t i = 0; i < m->nnames; i++)
		for (unsigned int k = 0; !m->names[i].shown && k < m->names[i].nseries; k++)
			if (!err || m->names[i].s[k].err == err)
				sum += m->names[i].s[k].own;
	return sum;
}

static uint64_t value_of(const struct scrape *s, const char *labels)
{
	struct series key = { .labels = (char *)labels };
	const struct series *f = bsearch(&key, s->comm, s->ncomm, sizeof(*s->comm), cmp_series);

	if (!f)
		fail_msg("no series {%s}", labels);
	return f->value;
}

static bool has_line(const struct scrape *s, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = s->text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && p[n] == '\n')
			return true;
	return false;
}

/* ASan's allocator (make asan) keeps its own count; mallinfo2 says 0 there */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

static size_t heap_in_use(void)
{
	struct mallinfo2 m;

	if (__sanitizer_get_current_allocated_bytes)
		return __sanitizer_get_current_allocated_bytes();
	m = mallinfo2();
	return m.uordblks + m.hblkhd;
}

/* ---- 100,000 short-lived processes, each with a name of its own ---- */

/* Failures of process i (EADDRNOTAVAIL and ECONNREFUSED) and successes. */
static uint64_t fails99(size_t i) { return 1 + i % 7; }
static uint64_t fails111(size_t i) { return i % 3; }
static uint64_t oks(size_t i) { return i % 5; }

static void test_many_names_exited(void **state)
{
	const size_t batch = 5000;	/* about 12,300 kernel entries */
	int fd = fx_map(16384);	/* the kernel's procs map */
	struct pw_accounts a;
	struct scrape prev = {}, cur = {}, hist = {};
	uint64_t fed_fails = 0, fed_attempts = 0, now = T0;
	size_t heap_mid = 0, bytes_mid = 0, max_bytes = 0, max_series = 0;
	char comm[PW_COMM_LEN + 1];

	(void)state;
	accounts_init(&a, MAX_ROWS);
	for (size_t b = 0; b < NPROCS / batch; b++) {
		for (size_t i = b * batch; i < (b + 1) * batch; i++) {
			uint32_t pid = GONE_PID + i;

			snprintf(comm, sizeof(comm), "n%06zu", i);
			put(fd, pid, EADDRNOTAVAIL_, fails99(i), comm);
			if (fails111(i))
				put(fd, pid, ECONNREFUSED_, fails111(i), comm);
			if (oks(i))
				put(fd, pid, 0, oks(i), comm);
			fed_fails += fails99(i) + fails111(i);
			fed_attempts += fails99(i) + fails111(i) + oks(i);
		}
		/* one second later the worker reads the map: every pid is gone,
		 * its entries are taken out and folded */
		now += SEC;
		assert_int_equal(pw_accounts_sync(&a, fd, now, true), 0);
		assert_int_equal(map_entries(fd), 0);
		assert_true(a.n <= MAX_ROWS);
		scrape(&a, now, 1024, &cur);
		/* every failure and attempt fed is in the series exactly once
		 * (or in the value a name not shown keeps for its return) */
		assert_int_equal(cur.comm_sum + hidden_own(0), fed_fails);
		assert_int_equal(cur.attempts, fed_attempts);
		/* bounded: PW_COMM_SLOTS names tracked, the top 1024 shown,
		 * then (other); two errnos, one family */
		assert_true(a.ncomms <= PW_COMM_SLOTS);
		assert_true(cur.ncomm <= 2 * (PW_MAX_COMMS + 1));
		assert_true(cur.npid <= 2 * 1024);
		if (b)
			monotonic(&prev, &cur);
		never_below(&hist, &cur);
		if (cur.len > max_bytes)
			max_bytes = cur.len;
		if (cur.ncomm > max_series)
			max_series = cur.ncomm;
		if (b == 9) {
			heap_mid = heap_in_use();
			assert_true(heap_mid > 0);	/* measured, not a vacuous bound */
			bytes_mid = cur.len;
		}
		scrape_free(&prev);
		prev = cur;
	}
	assert_int_equal(a.ncomms, PW_COMM_SLOTS);
	/* the top 1024 failers of the first batch's 2048 names (tracked as
	 * first seen failing) have series of their own, exact: no later name
	 * fails more than twice as often (1 to 7 times each); the rest are in
	 * (other) */
	{
		uint64_t own[2] = {}, all[2] = {};
		size_t names = 0;
		unsigned int i;
		char errno_name[32];

		for (size_t k = 0; k < prev.ncomm; k++) {
			const struct series *sr = &prev.comm[k];
			int e;

			if (sscanf(sr->labels, "comm=\"n%6u\",errno=\"%31[A-Z]\"", &i, errno_name) != 2)
				continue;
			assert_true(i < batch);
			e = !strcmp(errno_name, "ECONNREFUSED");
			assert_int_equal(sr->value, e ? fails111(i) : fails99(i));
			own[e] += sr->value;
			names += !e;	/* every name failed with EADDRNOTAVAIL */
		}
		assert_int_equal(names, PW_MAX_COMMS);
		for (size_t k = 0; k < NPROCS; k++) {
			all[0] += fails99(k);
			all[1] += fails111(k);
		}
		assert_int_equal(value_of(&prev, "comm=\"(other)\",errno=\"EADDRNOTAVAIL\",family=\"inet\""),
				 all[0] - own[0] - hidden_own(EADDRNOTAVAIL_));
		assert_int_equal(value_of(&prev, "comm=\"(other)\",errno=\"ECONNREFUSED\",family=\"inet\""),
				 all[1] - own[1] - hidden_own(ECONNREFUSED_));
	}
	/* bounded: the exposition and the heap no larger after 100,000 names
	 * than after 50,000 (a few KiB of slack for malloc's own rounding) */
	assert_true(max_bytes <= 512 * 1024);
	assert_true(prev.len <= bytes_mid + 4096);
	fprintf(stderr, "bounds: %d names, %d processes: %zu per-comm series, %zu per-pid series, "
		"exposition %zu bytes (max %zu; %zu at 50,000), rows %zu, folded rows %zu, heap %zu "
		"bytes (%zu at 50,000)\n", NPROCS, NPROCS, prev.ncomm, prev.npid, prev.len,
		max_bytes, bytes_mid, a.n, a.nexpired, heap_in_use(), heap_mid);
	assert_true(heap_in_use() <= heap_mid + 256 * 1024);
	assert_true(max_series <= 2 * (PW_MAX_COMMS + 1));
	scrape_free(&prev);
	scrape_free(&hist);
	pw_accounts_free(&a);
	close(fd);
}

/* ---- names cannot be squatted ---- */

static void sync_scrape(struct pw_accounts *a, int fd, uint64_t *now, struct scrape *s)
{
	*now += SEC;
	assert_int_equal(pw_accounts_sync(a, fd, *now, true), 0);
	scrape(a, *now, 1024, s);
}

#define COMM_LINE(name, v) "portwatch_connect_failures_total{comm=\"" name "\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} " #v

/* A local user makes 1,024 names fail first (once each): the culprit that
 * fails after them still gets its own series, exact. A name displaced
 * keeps its value for its return; its failures meanwhile go to (other). */
static void test_names_not_squatted(void **state)
{
	int fd = fx_map(16384);
	struct pw_accounts a;
	struct scrape s = {}, prev = {}, hist = {};
	uint64_t now = T0, fed = 0;
	char comm[PW_COMM_LEN + 1], line[160], gone[PW_COMM_LEN + 1] = "";
	uint32_t pid = GONE_PID;

	(void)state;
	accounts_init(&a, MAX_ROWS);
	for (unsigned int i = 0; i < PW_MAX_COMMS; i++) {
		snprintf(comm, sizeof(comm), "junk%04u", i);
		put(fd, pid++, EADDRNOTAVAIL_, 1, comm);
	}
	fed += PW_MAX_COMMS;
	sync_scrape(&a, fd, &now, &prev);
	assert_int_equal(prev.ncomm, PW_MAX_COMMS);	/* the junk, no (other) */
	never_below(&hist, &prev);

	put(fd, pid++, EADDRNOTAVAIL_, 5, "curl");
	fed += 5;
	sync_scrape(&a, fd, &now, &s);
	assert_true(has_line(&s, COMM_LINE("curl", 5)));
	assert_int_equal(s.ncomm, PW_MAX_COMMS);	/* one junk name displaced */
	assert_int_equal(s.comm_sum + hidden_own(0), fed);
	assert_int_equal(hidden_own(0), 1);
	monotonic(&prev, &s);
	never_below(&hist, &s);
	for (unsigned int i = 0; i < PW_MAX_COMMS && !gone[0]; i++) {
		snprintf(comm, sizeof(comm), "junk%04u", i);
		snprintf(line, sizeof(line), COMM_LINE("%s", 1), comm);
		if (!has_line(&s, line))
			strcpy(gone, comm);
	}
	assert_true(gone[0]);
	assert_false(pw_metrics_comm_shown(&memory, gone));
	scrape_free(&prev);
	prev = s;

	/* the displaced name fails once more (not more than twice as often
	 * as the least shown): (other)'s, its series stays gone */
	put(fd, pid++, EADDRNOTAVAIL_, 1, gone);
	fed += 1;
	sync_scrape(&a, fd, &now, &s);
	assert_int_equal(value_of(&s, "comm=\"(other)\",errno=\"EADDRNOTAVAIL\",family=\"inet\""), 1);
	assert_true(has_line(&s, COMM_LINE("curl", 5)));
	assert_int_equal(s.ncomm, PW_MAX_COMMS + 1);
	assert_int_equal(s.comm_sum + hidden_own(0), fed);
	monotonic(&prev, &s);
	never_below(&hist, &s);
	scrape_free(&prev);
	prev = s;

	/* and 10 more: more than twice the least shown, it is back, at the
	 * value it had (1) plus what it failed since it is shown again */
	put(fd, pid++, EADDRNOTAVAIL_, 10, gone);
	fed += 10;
	sync_scrape(&a, fd, &now, &s);
	snprintf(line, sizeof(line), COMM_LINE("%s", 11), gone);
	assert_true(has_line(&s, line));
	assert_int_equal(value_of(&s, "comm=\"(other)\",errno=\"EADDRNOTAVAIL\",family=\"inet\""), 1);
	assert_int_equal(s.comm_sum + hidden_own(0), fed);
	monotonic(&prev, &s);
	never_below(&hist, &s);
	scrape_free(&prev);
	prev = s;

	/* past PW_COMM_SLOTS names: a newcomer failing more than those that
	 * failed least takes a tracked place, shown, with its failures since
	 * the last scrape (before, it had none) */
	for (unsigned int i = 0; i < PW_COMM_SLOTS; i++) {
		snprintf(comm, sizeof(comm), "more%05u", i);
		put(fd, pid++, EADDRNOTAVAIL_, 1, comm);
	}
	fed += PW_COMM_SLOTS;
	sync_scrape(&a, fd, &now, &s);
	assert_int_equal(a.ncomms, PW_COMM_SLOTS);
	monotonic(&prev, &s);
	never_below(&hist, &s);
	scrape_free(&prev);
	prev = s;
	put(fd, pid++, EADDRNOTAVAIL_, 20, "wget");
	fed += 20;
	sync_scrape(&a, fd, &now, &s);
	assert_non_null(pw_accounts_comm_find(&a, "wget"));
	assert_true(pw_metrics_comm_shown(&memory, "wget"));
	assert_true(has_line(&s, COMM_LINE("wget", 20)));
	monotonic(&prev, &s);
	never_below(&hist, &s);
	scrape_free(&prev);
	prev = s;
	put(fd, pid++, EADDRNOTAVAIL_, 3, "wget");
	fed += 3;
	sync_scrape(&a, fd, &now, &s);
	assert_true(has_line(&s, COMM_LINE("wget", 23)));
	assert_true(has_line(&s, COMM_LINE("curl", 5)));
	assert_int_equal(s.comm_sum + hidden_own(0), fed);
	assert_true(a.ncomms <= PW_COMM_SLOTS);
	monotonic(&prev, &s);
	never_below(&hist, &s);
	scrape_free(&prev);
	scrape_free(&s);
	scrape_free(&hist);
	pw_accounts_free(&a);
	close(fd);
}

/* ---- 100,000 live processes (own pid namespace: rows stay live) ---- */

static void test_many_live_processes(void **state)
{
	int fd = fx_map(NPROCS + 16);
	const uint32_t base = 1000, culprit = base + NPROCS - 1;
	struct pw_accounts a;
	struct scrape s1 = {}, s2 = {};
	uint64_t fed = 0, fed_attempts = 0, now = T0 + SEC;
	char comm[PW_COMM_LEN + 1], line[160];
	size_t kept;

	(void)state;
	accounts_init(&a, MAX_ROWS);
	a.foreign_pids = true;	/* no kill() check: every row is of a live process */
	for (uint32_t i = 0; i < NPROCS - 1; i++) {
		snprintf(comm, sizeof(comm), "live%06u", i);
		/* the highest pids fail most; a third only succeed */
		if (i % 3) {
			put(fd, base + i, EADDRNOTAVAIL_, 1 + i / 8000, comm);
			fed += 1 + i / 8000;
			fed_attempts += 1 + i / 8000;
		} else {
			put(fd, base + i, 0, 3, comm);
			fed_attempts += 3;
		}
	}
	put(fd, culprit, EADDRNOTAVAIL_, 15, "curl");
	fed += 15;
	fed_attempts += 15;
	assert_int_equal(pw_accounts_sync(&a, fd, now, true), 0);
	/* over max_rows with live processes only, all in the map programs
	 * write to: nothing folded nor taken out of it, a drain asked for */
	assert_int_equal(a.n, NPROCS);
	assert_int_equal(map_entries(fd), NPROCS);
	assert_true(a.need_drain);
	/* the map swapped out and drained (portwatch.c), then folded to 7/8
	 * of max_rows, those with the fewest failures first */
	assert_int_equal(pw_accounts_drain(&a, fd, now), 0);
	assert_int_equal(map_entries(fd), 0);
	assert_int_equal(pw_accounts_shrink(&a, now), 0);
	assert_false(a.need_drain);
	kept = MAX_ROWS - MAX_ROWS / 8;
	assert_int_equal(a.n, kept);
	assert_int_equal(a.live_folded, NPROCS - kept);
	/* kept: failers only, none of those that failed once */
	for (size_t i = 0; i < a.n; i++) {
		assert_true(a.rows[i].key.err);
		assert_true(a.rows[i].key.tgid == culprit || (a.rows[i].key.tgid - base) / 8000 >= 1);
	}
	scrape(&a, now, 1024, &s1);
	assert_int_equal(s1.comm_sum, fed);
	assert_int_equal(s1.attempts, fed_attempts);
	assert_true(s1.npid <= 1024);
	snprintf(line, sizeof(line), "portwatch_process_connect_failures_total{pid=\"%u\","
		 "comm=\"curl\",errno=\"EADDRNOTAVAIL\"} 15", culprit);
	assert_true(has_line(&s1, line));

	/* folded processes connect again: their kernel entries count from 0 */
	for (uint32_t i = 1; i < 3000; i += 3) {
		snprintf(comm, sizeof(comm), "live%06u", i);
		put(fd, base + i, EADDRNOTAVAIL_, 2, comm);
		fed += 2;
		fed_attempts += 2;
	}
	now += SEC;
	assert_int_equal(pw_accounts_sync(&a, fd, now, true), 0);
	assert_true(a.n <= MAX_ROWS);
	scrape(&a, now, 1024, &s2);
	assert_int_equal(s2.comm_sum, fed);
	assert_int_equal(s2.attempts, fed_attempts);
	monotonic(&s1, &s2);
	assert_true(has_line(&s2, line));
	fprintf(stderr, "bounds: %d live processes: rows %zu (max_rows %d), %llu processes folded, "
		"kernel entries %zu, exposition %zu bytes, %zu per-comm series, %zu per-pid series\n",
		NPROCS, a.n, MAX_ROWS, (unsigned long long)a.live_folded, map_entries(fd), s2.len,
		s2.ncomm, s2.npid);
	scrape_free(&s1);
	scrape_free(&s2);
	pw_accounts_free(&a);
	close(fd);
}

/* Live processes are folded whole, fewest failures first, down to 7/8 of
 * max_rows: 6 processes of 3 rows each over max_rows 16 (7/8: 14) lose the
 * two that failed least, all of their rows, and nothing else. */
static void test_live_fold_whole_processes(void **state)
{
	int fd = fx_map(64);
	struct pw_accounts a;
	struct scrape s = {};
	uint64_t fed = 0;
	static const uint16_t errs[3] = { EADDRNOTAVAIL_, ECONNREFUSED_, 113 };

	(void)state;
	accounts_init(&a, 16);
	a.foreign_pids = true;
	for (uint32_t p = 0; p < 6; p++) {
		for (int e = 0; e < 3; e++) {
			/* process p fails 10 * (6 - p) + e times per errno: pid 100
			 * fails most, pid 105 least */
			put(fd, 100 + p, errs[e], 10 * (6 - p) + e, "w");
			fed += 10 * (6 - p) + e;
		}
	}
	assert_int_equal(pw_accounts_sync(&a, fd, T0, true), 0);
	/* in the active map: kept until drained */
	assert_int_equal(a.n, 18);
	assert_int_equal(map_entries(fd), 18);
	assert_true(a.need_drain);
	assert_int_equal(pw_accounts_drain(&a, fd, T0), 0);
	assert_int_equal(pw_accounts_shrink(&a, T0), 0);
	assert_int_equal(a.n, 12);
	assert_int_equal(a.live_folded, 2);
	assert_int_equal(map_entries(fd), 0);
	for (size_t i = 0; i < a.n; i++)
		assert_true(a.rows[i].key.tgid <= 103);
	scrape(&a, T0, 1024, &s);
	assert_int_equal(s.comm_sum, fed);
	assert_int_equal(s.attempts, fed);
	scrape_free(&s);
	pw_accounts_free(&a);
	close(fd);
}

/* ---- the top failer among 10,000 lower pids ---- */

static void test_top_failer_shown(void **state)
{
	struct pw_accounts a;
	struct scrape s = {};
	char line[160];

	(void)state;
	/* all at once: 10,000 lower pids with 14 failures each, the culprit
	 * with 15 */
	accounts_init(&a, MAX_ROWS);
	for (uint32_t i = 0; i < 10000; i++)
		fx_update(&a, 100 + i, EADDRNOTAVAIL_, AF_INET, 14, 14, 0, "crowd");
	fx_update(&a, 50000, EADDRNOTAVAIL_, AF_INET, 15, 15, 0, "curl");
	scrape(&a, T0, 1024, &s);
	assert_true(has_line(&s, "portwatch_process_connect_failures_total{pid=\"50000\","
				 "comm=\"curl\",errno=\"EADDRNOTAVAIL\"} 15"));
	assert_int_equal(s.npid, 1024);
	assert_int_equal(s.dropped, 10001 - 1024);
	assert_true(has_line(&s, "portwatch_process_series_dropped 8977"));
	scrape_free(&s);
	pw_accounts_free(&a);

	/* the crowd first (shown, scraped), the culprit later failing more
	 * than twice as often as any of them */
	accounts_init(&a, MAX_ROWS);
	for (uint32_t i = 0; i < 10000; i++)
		fx_update(&a, 100 + i, EADDRNOTAVAIL_, AF_INET, 1 + i % 7, 1 + i % 7, 0, "crowd");
	scrape(&a, T0, 1024, &s);
	assert_int_equal(s.npid, 1024);
	scrape_free(&s);
	fx_update(&a, 50000, EADDRNOTAVAIL_, AF_INET, 15, 15, 0, "curl");
	scrape(&a, T0, 1024, &s);
	assert_true(has_line(&s, "portwatch_process_connect_failures_total{pid=\"50000\","
				 "comm=\"curl\",errno=\"EADDRNOTAVAIL\"} 15"));
	assert_int_equal(s.npid, 1024);
	/* refused connects do not push out an exhausted process */
	scrape_free(&s);
	for (uint32_t i = 0; i < 2000; i++)
		fx_update(&a, 20000 + i, ECONNREFUSED_, AF_INET, 1000, 0, 0, "refused");
	scrape(&a, T0, 1024, &s);
	snprintf(line, sizeof(line), "portwatch_process_connect_failures_total{pid=\"50000\","
		 "comm=\"curl\",errno=\"EADDRNOTAVAIL\"} 15");
	assert_true(has_line(&s, line));
	assert_int_equal(s.dropped, 12001 - 1024);
	scrape_free(&s);
	pw_accounts_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_many_names_exited),
		cmocka_unit_test(test_many_live_processes),
		cmocka_unit_test(test_live_fold_whole_processes),
		cmocka_unit_test(test_top_failer_shown),
		cmocka_unit_test(test_names_not_squatted),
	};

	return cmocka_run_group_tests_name("test_bounds", tests, NULL, NULL);
}
