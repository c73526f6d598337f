// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/metrics.c: label escaping and the Prometheus text
 * exposition (format 0.0.4) rendered from hand-built accounts. The whole
 * output is also checked against the exposition grammar by a small checker
 * here, and by `promtool check metrics` when it is installed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "metrics.h"
#include "accounts_fixture.h"

#ifndef PROMTOOL
#define PROMTOOL	"/usr/bin/promtool"
#endif
#define T0		(1000ull * 1000000000)	/* a CLOCK_MONOTONIC time */

/* ---- helpers ---- */

static const char *check_exposition(const char *t);

static char *label_out;
static size_t label_len;

/* pw_prom_label of n raw bytes, into label_out / label_len. */
static void label(const char *s, size_t n)
{
	FILE *f;

	free(label_out);
	label_out = NULL;
	f = open_memstream(&label_out, &label_len);
	assert_non_null(f);
	pw_prom_label(f, s, n);
	assert_int_equal(fclose(f), 0);
}

#define LABEL_IS(in, want) do {						\
	label(in, sizeof(in) - 1);					\
	assert_int_equal(label_len, sizeof(want) - 1);			\
	assert_memory_equal(label_out, want, sizeof(want) - 1);		\
} while (0)

/* What the collectors remember between renders: a test's own, from its
 * input_init() */
static struct pw_metrics_memory memory;

static void input_init(struct pw_metrics_input *in, struct pw_accounts *a)
{
	memset(in, 0, sizeof(*in));
	pw_metrics_memory_free(&memory);
	in->acc = a;
	in->memory = &memory;
	in->now_ns = T0;
	in->max_pids = 1024;
	in->range_size = -1;
	in->version = "0.1.0";
	in->libbpf_version = "v1.5";
	in->mode = "kprobe";
	for (int k = 0; k < PW_MISS_KINDS; k++)
		in->missed_runs[k] = -1;
}

static char *text;
static size_t text_len;

/* The whole exposition, into `text`; returns what pw_metrics_render did. */
static size_t render(const struct pw_metrics_input *in)
{
	size_t dropped;
	FILE *f;

	free(text);
	text = NULL;
	f = open_memstream(&text, &text_len);
	assert_non_null(f);
	dropped = pw_metrics_render(f, in);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(strlen(text), text_len);
	return dropped;
}

/* Where `line` is in `text` as a whole line, or NULL. */
static const char *find_line(const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, line, n) && p[n] == '\n')
			return p;
	return NULL;
}

/* The exposition as TAP comments, to see what a failed check saw. */
static void dump_text(void)
{
	for (const char *p = text; p && *p;) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		fprintf(stderr, "#   %.*s\n", len, p);
		p += len + (nl ? 1 : 0);
	}
}

static void has_line(const char *line)
{
	if (!find_line(line)) {
		dump_text();
		fail_msg("line not found: '%s'", line);
	}
}

/* The exposition is valid (see check_exposition). */
static void valid_text(void)
{
	const char *why = check_exposition(text);

	if (why) {
		dump_text();
		fail_msg("%s", why);
	}
}

/* How many lines start with `prefix`. */
static int lines_with(const char *prefix)
{
	size_t n = strlen(prefix);
	int count = 0;

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, prefix, n))
			count++;
	return count;
}

/* ---- the exposition grammar checker ---- */

static bool name_start(int c)
{
	return isalpha(c) || c == '_' || c == ':';
}

static bool name_char(int c)
{
	return isalnum(c) || c == '_' || c == ':';
}

/* A metric name at *p; its length, 0 if none. */
static size_t name_len(const char *p)
{
	size_t n = 0;

	if (!name_start((unsigned char)p[0]))
		return 0;
	while (name_char((unsigned char)p[n]))
		n++;
	return n;
}

static bool valid_value(const char *v)
{
	char *end;

	if (!strcmp(v, "+Inf") || !strcmp(v, "-Inf") || !strcmp(v, "NaN"))
		return true;
	if (!*v || isspace((unsigned char)*v))
		return false;
	for (const char *p = v; *p; p++)
		if (!strchr("0123456789.eE+-", *p))
			return false;
	strtod(v, &end);
	return !*end;
}

struct family {
	char name[128];
	char type[16];
	bool help, done;
};

#define MAX_FAMILIES 64
#define MAX_SERIES 4096

/* The family a sample name belongs to: histograms own _bucket/_sum/_count. */
static struct family *family_of(struct family *fam, int nfam, const char *name, size_t n)
{
	static const char *const suffixes[] = { "_bucket", "_sum", "_count" };

	for (int i = 0; i < nfam; i++) {
		size_t l = strlen(fam[i].name);

		if (l == n && !strncmp(fam[i].name, name, n))
			return &fam[i];
		if (strcmp(fam[i].type, "histogram") || l >= n || strncmp(fam[i].name, name, l))
			continue;
		for (int s = 0; s < 3; s++)
			if (n - l == strlen(suffixes[s]) && !strncmp(name + l, suffixes[s], n - l))
				return &fam[i];
	}
	return NULL;
}

/* NULL if `t` is a valid exposition, else what is wrong (static buffer).
 * Stricter than the format where portwatch needs no more: every line is
 * "# HELP name text", "# TYPE name type" or a sample `name{l="v",...} value`
 * / `name value`; each family has HELP and TYPE before its samples, once;
 * its samples are contiguous; no series twice. */
static const char *check_exposition(const char *t)
{
	static char why[8192];
	static struct family fam[MAX_FAMILIES];
	static char *series[MAX_SERIES];
	struct family *cur = NULL;
	int nfam = 0, nseries = 0, lineno = 0;
	const char *ret = NULL;
	char line[4096];

#define BAD(...) do { snprintf(why, sizeof(why), __VA_ARGS__); ret = why; goto out; } while (0)
	memset(fam, 0, sizeof(fam));
	if (!*t)
		BAD("empty exposition");
	if (t[strlen(t) - 1] != '\n')
		BAD("no newline at the end");
	while (*t) {
		const char *nl = strchr(t, '\n');
		size_t len = nl - t, n;
		struct family *f;
		const char *p;

		lineno++;
		if (len >= sizeof(line))
			BAD("line %d too long", lineno);
		memcpy(line, t, len);
		line[len] = '\0';
		t = nl + 1;

		if (line[0] == '#') {
			bool help = !strncmp(line, "# HELP ", 7);

			if (!help && strncmp(line, "# TYPE ", 7))
				BAD("line %d: a comment that is neither HELP nor TYPE: %s", lineno, line);
			p = line + 7;
			n = name_len(p);
			if (!n || n >= sizeof(fam[0].name) || p[n] != ' ' || !p[n + 1])
				BAD("line %d: bad HELP/TYPE: %s", lineno, line);
			f = NULL;
			for (int i = 0; i < nfam; i++)
				if (strlen(fam[i].name) == n && !strncmp(fam[i].name, p, n))
					f = &fam[i];
			if (!f) {
				if (nfam == MAX_FAMILIES)
					BAD("too many families");
				f = &fam[nfam++];
				memcpy(f->name, p, n);
			}
			if (cur && cur != f)
				cur->done = true;
			if (f->done)
				BAD("line %d: family %s described again after its samples", lineno, f->name);
			if (help) {
				if (f->help)
					BAD("line %d: second HELP for %s", lineno, f->name);
				if (strchr(p + n + 1, '\\'))
					BAD("line %d: backslash in HELP", lineno);
				f->help = true;
			} else {
				const char *type = p + n + 1;

				if (f->type[0])
					BAD("line %d: second TYPE for %s", lineno, f->name);
				if (strcmp(type, "counter") && strcmp(type, "gauge") &&
				    strcmp(type, "histogram") && strcmp(type, "summary") &&
				    strcmp(type, "untyped"))
					BAD("line %d: bad type %s", lineno, type);
				strcpy(f->type, type);
			}
			cur = f;
			continue;
		}

		/* a sample */
		n = name_len(line);
		if (!n)
			BAD("line %d: no metric name: %s", lineno, line);
		f = family_of(fam, nfam, line, n);
		if (!f)
			BAD("line %d: sample before its HELP/TYPE: %s", lineno, line);
		if (!f->help || !f->type[0])
			BAD("line %d: family %s lacks HELP or TYPE", lineno, f->name);
		if (f->done)
			BAD("line %d: samples of %s not contiguous", lineno, f->name);
		if (cur && cur != f)
			cur->done = true;
		cur = f;
		p = line + n;
		if (*p == '{') {
			p++;
			for (;;) {
				size_t l = name_len(p);

				if (!l || p[l] != '=' || p[l + 1] != '"')
					BAD("line %d: bad label at '%s'", lineno, p);
				for (p += l + 2; *p != '"'; p++) {
					if (!*p)
						BAD("line %d: unterminated label value", lineno);
					if (*p == '\\') {
						p++;
						if (*p != '\\' && *p != '"' && *p != 'n')
							BAD("line %d: bad escape \\%c", lineno, *p);
					}
				}
				p++;
				if (*p == '}')
					break;
				if (*p != ',')
					BAD("line %d: expected , or } at '%s'", lineno, p);
				p++;
			}
			p++;
		}
		if (*p != ' ' || !valid_value(p + 1))
			BAD("line %d: bad value in: %s", lineno, line);
		/* the series: everything before the value */
		for (int i = 0; i < nseries; i++)
			if (strlen(series[i]) == (size_t)(p - line) && !strncmp(series[i], line, p - line))
				BAD("line %d: series twice: %s", lineno, line);
		if (nseries == MAX_SERIES)
			BAD("too many series");
		series[nseries++] = strndup(line, p - line);
	}
	for (int i = 0; i < nfam; i++)
		if (!fam[i].help || !fam[i].type[0])
			BAD("family %s lacks HELP or TYPE", fam[i].name);
out:
	for (int i = 0; i < nseries; i++)
		free(series[i]);
	return ret;
#undef BAD
}

/* A rich set of accounts: two families, several comms and pids, an exited
 * process, an expired row, odd comm bytes. */
static void fill_rich(struct pw_accounts *a)
{
	pw_accounts_init(a, 1000);
	fx_update(a, 42, 0, AF_INET, 10, 10, 600000, "curl");
	fx_update(a, 42, 99, AF_INET, 5, 5, 2000000, "curl");
	fx_update(a, 42, 99, AF_INET6, 1, 1, 3000, "curl");
	fx_update(a, 43, 99, AF_INET, 3, 3, 1000, "curl");
	fx_update(a, 44, 111, AF_INET, 2, 0, 0, "wget");
	fx_update(a, 45, 200, AF_INET6, 1, 0, 0, "a\"b\\c\nd\xff\x01");
	fx_update(a, 46, 99, AF_INET, 4, 4, 400, "0123456789abcdef");
	fx_update(a, 47, 99, AF_INET, 6, 6, 600, "gone");
	pw_accounts_exited(a, 47, T0 - PW_EXPIRE_NS);
	fx_add_expired(a, 99, AF_INET, 7, 7, 700, "curl");
}

static void fill_rich_input(struct pw_metrics_input *in, struct pw_accounts *a)
{
	input_init(in, a);
	in->scan_hist[PW_SCAN_OK][0] = 3;
	in->scan_hist[PW_SCAN_OK][15] = 7;
	in->scan_hist[PW_SCAN_EXHAUSTED][11] = 2;
	in->scan_hist[PW_SCAN_EXHAUSTED][40] = 1;
	in->scan_depth = true;
	in->ports_hist[0] = 1;
	in->ports_hist[4] = 5;
	in->ports_hist[63] = 1;
	in->ports_sum = 99;
	in->events_lost = 1;
	in->range_size = 10;
}

/* ---- pw_prom_label ---- */

static void test_label_plain(void **state)
{
	(void)state;
	LABEL_IS("curl", "curl");
	LABEL_IS("", "");
	LABEL_IS("a b/c~{}=,'", "a b/c~{}=,'");
	/* only n bytes are taken, not up to the NUL */
	label("abcdef", 3);
	assert_int_equal(label_len, 3);
	assert_memory_equal(label_out, "abc", 3);
}

static void test_label_escapes(void **state)
{
	(void)state;
	LABEL_IS("a\\b", "a\\\\b");
	LABEL_IS("a\"b", "a\\\"b");
	LABEL_IS("a\nb", "a\\nb");
	LABEL_IS("\\\"\n", "\\\\\\\"\\n");
	/* other control bytes are allowed raw in label values */
	LABEL_IS("a\x01" "b", "a\x01" "b");
	LABEL_IS("\t\r\x7f", "\t\r\x7f");
}

static void test_label_utf8(void **state)
{
	(void)state;
	/* valid sequences of 2, 3 and 4 bytes are kept */
	LABEL_IS("caf\xc3\xa9", "caf\xc3\xa9");
	LABEL_IS("\xe2\x82\xac" "1", "\xe2\x82\xac" "1");
	LABEL_IS("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	/* an invalid byte becomes U+FFFD, each one */
	LABEL_IS("\xff", "\xef\xbf\xbd");
	LABEL_IS("a\xff\xfe" "b", "a\xef\xbf\xbd\xef\xbf\xbd" "b");
	/* truncated sequence: at the end, and before an ASCII byte */
	LABEL_IS("x\xc3", "x\xef\xbf\xbd");
	LABEL_IS("\xe2\x82" "\"", "\xef\xbf\xbd\xef\xbf\xbd\\\"");
	/* overlong and surrogate forms are invalid */
	LABEL_IS("\xc0\xaf", "\xef\xbf\xbd\xef\xbf\xbd");
	LABEL_IS("\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	/* a sequence cut by n */
	label("\xc3\xa9", 1);
	assert_int_equal(label_len, 3);
	assert_memory_equal(label_out, "\xef\xbf\xbd", 3);
}

/* ---- pw_metrics_render ---- */

static void test_render_attempts_and_failures(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 42, 0, AF_INET, 10, 10, 0, "curl");
	fx_update(&a, 42, 99, AF_INET, 5, 5, 0, "curl");
	fx_update(&a, 43, 99, AF_INET, 3, 3, 0, "curl");
	fx_update(&a, 44, 111, AF_INET, 2, 0, 0, "wget");
	input_init(&in, &a);
	assert_int_equal(render(&in), 0);

	has_line("# HELP portwatch_connect_attempts_total connect() calls traced, by address family.");
	has_line("# TYPE portwatch_connect_attempts_total counter");
	has_line("portwatch_connect_attempts_total{family=\"inet\"} 20");
	has_line("portwatch_connect_attempts_total{family=\"inet6\"} 0");

	has_line("# TYPE portwatch_connect_failures_total counter");
	/* summed over the pids of one comm */
	has_line("portwatch_connect_failures_total{comm=\"curl\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} 8");
	has_line("portwatch_connect_failures_total{comm=\"wget\",errno=\"ECONNREFUSED\",family=\"inet\"} 2");
	/* successes are no failures */
	assert_int_equal(lines_with("portwatch_connect_failures_total{"), 2);

	has_line("# TYPE portwatch_process_connect_failures_total counter");
	has_line("portwatch_process_connect_failures_total{pid=\"42\",comm=\"curl\",errno=\"EADDRNOTAVAIL\"} 5");
	has_line("portwatch_process_connect_failures_total{pid=\"43\",comm=\"curl\",errno=\"EADDRNOTAVAIL\"} 3");
	has_line("portwatch_process_connect_failures_total{pid=\"44\",comm=\"wget\",errno=\"ECONNREFUSED\"} 2");
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{"), 3);

	has_line("# TYPE portwatch_process_series_dropped gauge");
	has_line("portwatch_process_series_dropped 0");
	valid_text();
	pw_accounts_free(&a);
}

static void test_render_families_and_odd_comms(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 42, 99, AF_INET, 5, 5, 0, "curl");
	fx_update(&a, 42, 99, AF_INET6, 1, 1, 0, "curl");
	fx_update(&a, 42, 0, AF_INET6, 4, 4, 0, "curl");
	fx_update(&a, 9, 200, AF_INET6, 2, 0, 0, "a\"b\\c\nd\xff\x01");
	fx_update(&a, 10, 99, AF_INET, 1, 1, 0, "0123456789abcdef");
	input_init(&in, &a);
	assert_int_equal(render(&in), 0);

	has_line("portwatch_connect_attempts_total{family=\"inet\"} 6");
	has_line("portwatch_connect_attempts_total{family=\"inet6\"} 7");
	/* the comm aggregate keeps families apart ... */
	has_line("portwatch_connect_failures_total{comm=\"curl\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} 5");
	has_line("portwatch_connect_failures_total{comm=\"curl\",errno=\"EADDRNOTAVAIL\",family=\"inet6\"} 1");
	/* ... the per-pid series sums them */
	has_line("portwatch_process_connect_failures_total{pid=\"42\",comm=\"curl\",errno=\"EADDRNOTAVAIL\"} 6");
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{pid=\"42\","), 1);
	/* unknown errno, escaped comm, 16-byte comm without NUL */
	has_line("portwatch_connect_failures_total{comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\x01\",errno=\"E200\",family=\"inet6\"} 2");
	has_line("portwatch_process_connect_failures_total{pid=\"9\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\x01\",errno=\"E200\"} 2");
	has_line("portwatch_connect_failures_total{comm=\"0123456789abcdef\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} 1");
	has_line("portwatch_process_connect_failures_total{pid=\"10\",comm=\"0123456789abcdef\",errno=\"EADDRNOTAVAIL\"} 1");
	valid_text();
	pw_accounts_free(&a);
}

/* Names that differ only in invalid bytes show as the same label value:
 * they must be one series, not two with equal labels. */
static void test_render_merges_equal_labels(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 50, 99, AF_INET, 1, 1, 0, "x\xff");
	fx_update(&a, 51, 99, AF_INET, 2, 2, 0, "x\xfe");
	input_init(&in, &a);
	render(&in);
	has_line("portwatch_connect_failures_total{comm=\"x\xef\xbf\xbd\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} 3");
	assert_int_equal(lines_with("portwatch_connect_failures_total{"), 1);
	valid_text();
	pw_accounts_free(&a);
}

static void test_render_pid_cap(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	/* out of pid order; pid 5 never failed and does not count */
	fx_update(&a, 30, 99, AF_INET, 3, 3, 0, "c");
	fx_update(&a, 5, 0, AF_INET, 100, 0, 0, "ok");
	fx_update(&a, 10, 99, AF_INET, 1, 1, 0, "a");
	fx_update(&a, 20, 99, AF_INET, 2, 2, 0, "b");
	fx_update(&a, 10, 111, AF_INET, 4, 0, 0, "a");
	input_init(&in, &a);
	in.max_pids = 2;
	assert_int_equal(render(&in), 1);

	/* the top failers by EADDRNOTAVAIL (pid 10 failed more in all, but
	 * mostly refused), whatever their pids */
	has_line("portwatch_process_connect_failures_total{pid=\"20\",comm=\"b\",errno=\"EADDRNOTAVAIL\"} 2");
	has_line("portwatch_process_connect_failures_total{pid=\"30\",comm=\"c\",errno=\"EADDRNOTAVAIL\"} 3");
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{pid=\"10\""), 0);
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{pid=\"5\""), 0);
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{"), 2);
	has_line("portwatch_process_series_dropped 1");
	/* the dropped pid still counts by comm */
	has_line("portwatch_connect_failures_total{comm=\"a\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} 1");
	has_line("portwatch_connect_failures_total{comm=\"a\",errno=\"ECONNREFUSED\",family=\"inet\"} 4");

	/* room for all: nothing dropped */
	in.max_pids = 3;
	assert_int_equal(render(&in), 0);
	has_line("portwatch_process_connect_failures_total{pid=\"10\",comm=\"a\",errno=\"EADDRNOTAVAIL\"} 1");
	has_line("portwatch_process_connect_failures_total{pid=\"10\",comm=\"a\",errno=\"ECONNREFUSED\"} 4");
	has_line("portwatch_process_series_dropped 0");

	in.max_pids = 1;
	assert_int_equal(render(&in), 2);
	has_line("portwatch_process_series_dropped 2");
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{"), 1);
	has_line("portwatch_process_connect_failures_total{pid=\"30\",comm=\"c\",errno=\"EADDRNOTAVAIL\"} 3");

	/* stable: a newcomer takes the shown one's place only once it has
	 * failed more than twice as often (6 is not more than 2 x 3) */
	fx_update(&a, 40, 99, AF_INET, 6, 6, 0, "d");
	assert_int_equal(render(&in), 3);
	has_line("portwatch_process_connect_failures_total{pid=\"30\",comm=\"c\",errno=\"EADDRNOTAVAIL\"} 3");
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{pid=\"40\""), 0);
	fx_update(&a, 40, 99, AF_INET, 7, 7, 0, "d");
	assert_int_equal(render(&in), 3);
	has_line("portwatch_process_connect_failures_total{pid=\"40\",comm=\"d\",errno=\"EADDRNOTAVAIL\"} 7");
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{"), 1);
	/* and the same again next scrape */
	assert_int_equal(render(&in), 3);
	has_line("portwatch_process_connect_failures_total{pid=\"40\",comm=\"d\",errno=\"EADDRNOTAVAIL\"} 7");
	valid_text();
	pw_accounts_free(&a);
}

/* Rendering reads the accounts and leaves them as they were (issue 22):
 * what the collectors remember is in their memory. With room for every name
 * no name is adopted or evicted, so rows, folded rows and names stay
 * byte-identical over scrapes that show and hide processes. */
static void test_render_leaves_accounts_alone(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;
	struct pw_row *rows, *expired;
	struct pw_comm *comms;
	size_t n, nexpired, ncomms;

	(void)state;
	fill_rich(&a);
	fx_update(&a, 50, 99, AF_INET, 9, 9, 0, "big");
	assert_int_equal(pw_accounts_exited(&a, 44, T0), 1);
	n = a.n;
	nexpired = a.nexpired;
	ncomms = a.ncomms;
	rows = malloc(n * sizeof(*rows));
	expired = malloc((nexpired ? nexpired : 1) * sizeof(*expired));
	comms = malloc((ncomms ? ncomms : 1) * sizeof(*comms));
	assert_non_null(rows);
	assert_non_null(expired);
	assert_non_null(comms);
	memcpy(rows, a.rows, n * sizeof(*rows));
	memcpy(expired, a.expired, nexpired * sizeof(*expired));
	memcpy(comms, a.comms, ncomms * sizeof(*comms));
	input_init(&in, &a);
	for (unsigned int max = 1; max <= 3; max++) {
		in.max_pids = max;
		assert_true(render(&in) > 0);	/* some processes left out */
		assert_int_equal(a.n, n);
		assert_int_equal(a.nexpired, nexpired);
		assert_int_equal(a.ncomms, ncomms);
		assert_memory_equal(a.rows, rows, n * sizeof(*rows));
		assert_memory_equal(a.expired, expired, nexpired * sizeof(*expired));
		assert_memory_equal(a.comms, comms, ncomms * sizeof(*comms));
	}
	free(rows);
	free(expired);
	free(comms);
	pw_accounts_free(&a);
}

/* The pid 0 (unattributed) rows are not a process: their per-pid series is
 * always shown and takes no place of --max-pids, and their name has a
 * per-comm series even after 1,024 other names took every place. */
static void test_render_unattributed_kept(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;
	char comm[PW_COMM_LEN];

	(void)state;
	pw_accounts_init(&a, 4096);
	for (uint32_t pid = 100; pid < 100 + PW_MAX_COMMS + 50; pid++) {
		snprintf(comm, sizeof(comm), "n%u", pid);
		fx_update(&a, pid, 99, AF_INET, 3, 3, 0, comm);
	}
	fx_update(&a, 0, 111, AF_INET, 5, 0, 0, PW_UNATTRIBUTED_COMM);
	input_init(&in, &a);
	in.max_pids = 2;
	/* 1,074 processes, 2 shown; pid 0 shown besides */
	assert_int_equal(render(&in), PW_MAX_COMMS + 50 - 2);
	has_line("portwatch_process_connect_failures_total{pid=\"0\",comm=\"(unattributed)\",errno=\"ECONNREFUSED\"} 5");
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{"), 3);
	has_line("portwatch_connect_failures_total{comm=\"(unattributed)\",errno=\"ECONNREFUSED\",family=\"inet\"} 5");
	has_line("portwatch_connect_failures_total{comm=\"(other)\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} 150");
	valid_text();
	pw_accounts_free(&a);
}

static void test_render_exited_expiry(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 42, 99, AF_INET, 5, 5, 0, "curl");
	fx_update(&a, 43, 99, AF_INET, 3, 3, 0, "curl");
	fx_add_expired(&a, 99, AF_INET, 7, 7, 0, "curl");
	assert_int_equal(pw_accounts_exited(&a, 42, T0), 1);
	input_init(&in, &a);
	in.max_pids = 1;

	/* exited just under 5 minutes ago: still shown */
	in.now_ns = T0 + PW_EXPIRE_NS - 1;
	assert_int_equal(render(&in), 1);
	has_line("portwatch_process_connect_failures_total{pid=\"42\",comm=\"curl\",errno=\"EADDRNOTAVAIL\"} 5");
	has_line("portwatch_process_series_dropped 1");

	/* exactly 5 minutes: gone, and not counted as dropped either */
	in.now_ns = T0 + PW_EXPIRE_NS;
	assert_int_equal(render(&in), 0);
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{pid=\"42\""), 0);
	has_line("portwatch_process_connect_failures_total{pid=\"43\",comm=\"curl\",errno=\"EADDRNOTAVAIL\"} 3");
	has_line("portwatch_process_series_dropped 0");
	/* the comm aggregate and attempts keep everything, expired rows too */
	has_line("portwatch_connect_failures_total{comm=\"curl\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} 15");
	has_line("portwatch_connect_attempts_total{family=\"inet\"} 15");
	/* expired rows never have a per-pid series */
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{pid=\"0\""), 0);
	valid_text();
	pw_accounts_free(&a);
}

/* Workloads for cgroup ids 10 (a pod, named), 11 (a pod without names),
 * 12 (a unit), 13 (nothing: the root), 14 (not resolved yet). */
static const struct pw_workload *stub_workload(void *ctx, uint64_t id)
{
	static struct pw_workload w[4];
	static bool init;

	(void)ctx;
	if (!init) {
		assert_int_equal(pw_workload_parse("/kubepods/burstable/pod6f1e2c3a-1b2c-4d5e-8f90-a1b2c3d4e5f6/"
						   "0123456789abcdef0123456789abcdef", &w[0]), 0);
		w[0].pod_namespace = strdup("shop");
		w[0].pod_name = strdup("web");
		w[0].container = strdup("app\"x");
		assert_int_equal(pw_workload_parse("/kubepods/pod11111111-2222-3333-4444-555555555555/"
						   "abcdefabcdefabcdef", &w[1]), 0);
		assert_int_equal(pw_workload_parse("/system.slice/nginx.service", &w[2]), 0);
		assert_int_equal(pw_workload_parse("/", &w[3]), 0);
		init = true;
	}
	return id >= 10 && id <= 13 ? &w[id - 10] : NULL;
}

static void set_cgroup(struct pw_accounts *a, uint32_t tgid, uint64_t id)
{
	for (size_t i = 0; i < a->n; i++)
		if (a->rows[i].key.tgid == tgid)
			a->rows[i].cur.cgroup_id = id;
}

static void test_render_workloads(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 42, 99, AF_INET, 5, 5, 0, "java");
	fx_update(&a, 43, 99, AF_INET6, 3, 3, 0, "java");	/* same pod: summed */
	fx_update(&a, 43, 111, AF_INET, 2, 0, 0, "java");
	fx_update(&a, 43, 0, AF_INET, 9, 0, 0, "java");		/* successes: none */
	fx_update(&a, 44, 99, AF_INET, 4, 4, 0, "curl");
	fx_update(&a, 45, 99, AF_INET, 6, 6, 0, "nginx");
	fx_update(&a, 46, 99, AF_INET, 8, 8, 0, "bash");
	fx_update(&a, 47, 99, AF_INET, 1, 1, 0, "new");
	set_cgroup(&a, 42, 10);
	set_cgroup(&a, 43, 10);
	set_cgroup(&a, 44, 11);
	set_cgroup(&a, 45, 12);
	set_cgroup(&a, 46, 13);
	set_cgroup(&a, 47, 14);
	input_init(&in, &a);
	render(&in);
	/* no resolver: the family's header, no series */
	assert_int_equal(lines_with("portwatch_workload_connect_failures_total{"), 0);
	assert_int_equal(lines_with("portwatch_workload_series_dropped"), 0);

	in.workload = stub_workload;
	render(&in);
	has_line("portwatch_workload_connect_failures_total{namespace=\"shop\",pod=\"web\","
		 "container=\"app\\\"x\",unit=\"\",errno=\"EADDRNOTAVAIL\"} 8");
	has_line("portwatch_workload_connect_failures_total{namespace=\"shop\",pod=\"web\","
		 "container=\"app\\\"x\",unit=\"\",errno=\"ECONNREFUSED\"} 2");
	has_line("portwatch_workload_connect_failures_total{namespace=\"\",pod=\"11111111-2222-3333-4444-555555555555\","
		 "container=\"abcdefabcdef\",unit=\"\",errno=\"EADDRNOTAVAIL\"} 4");
	has_line("portwatch_workload_connect_failures_total{namespace=\"\",pod=\"\",container=\"\","
		 "unit=\"system.slice/nginx.service\",errno=\"EADDRNOTAVAIL\"} 6");
	/* the root cgroup and an unresolved one: no workload series */
	assert_int_equal(lines_with("portwatch_workload_connect_failures_total{"), 4);
	has_line("portwatch_workload_series_dropped 0");
	valid_text();

	/* a cap of 2 workloads: the 2 with the most EADDRNOTAVAIL shown (web
	 * 8, nginx 6; not the pod 4), 1 counted */
	in.max_pids = 2;
	render(&in);
	has_line("portwatch_workload_series_dropped 1");
	assert_int_equal(lines_with("portwatch_workload_connect_failures_total{"), 3);
	assert_int_equal(lines_with("portwatch_workload_connect_failures_total{namespace=\"shop\",pod=\"web\""), 2);
	has_line("portwatch_workload_connect_failures_total{namespace=\"\",pod=\"\",container=\"\","
		 "unit=\"system.slice/nginx.service\",errno=\"EADDRNOTAVAIL\"} 6");
	assert_int_equal(lines_with("portwatch_workload_connect_failures_total{namespace=\"\",pod=\"1111"), 0);
	/* held: the pod (now 11) does not take nginx's place (6, held as 12)
	 * until it has failed more than twice as often */
	fx_update(&a, 44, 99, AF_INET, 11, 11, 0, "curl");
	set_cgroup(&a, 44, 11);
	render(&in);
	assert_int_equal(lines_with("portwatch_workload_connect_failures_total{namespace=\"\",pod=\"1111"), 0);
	has_line("portwatch_workload_series_dropped 1");
	fx_update(&a, 44, 99, AF_INET, 13, 13, 0, "curl");
	set_cgroup(&a, 44, 11);
	render(&in);
	has_line("portwatch_workload_connect_failures_total{namespace=\"\",pod=\"11111111-2222-3333-4444-555555555555\","
		 "container=\"abcdefabcdef\",unit=\"\",errno=\"EADDRNOTAVAIL\"} 13");
	assert_int_equal(lines_with("portwatch_workload_connect_failures_total{namespace=\"\",pod=\"\""), 0);
	has_line("portwatch_workload_series_dropped 1");

	/* all of a workload's processes gone 5 minutes: no series; still
	 * counted in full while one lives */
	in.max_pids = 1024;
	assert_int_equal(pw_accounts_exited(&a, 42, T0), 1);
	in.now_ns = T0 + PW_EXPIRE_NS;
	render(&in);
	has_line("portwatch_workload_connect_failures_total{namespace=\"shop\",pod=\"web\","
		 "container=\"app\\\"x\",unit=\"\",errno=\"EADDRNOTAVAIL\"} 8");
	assert_int_equal(pw_accounts_exited(&a, 45, T0), 1);
	render(&in);
	assert_int_equal(lines_with("unit=\"system.slice/nginx.service\""), 0);
	pw_accounts_free(&a);
}

static void test_render_port_scans(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 1, 0, AF_INET, 8, 7, 0, "a");
	fx_update(&a, 1, 99, AF_INET, 4, 4, 0, "a");
	fx_update(&a, 2, 99, AF_INET, 1, 1, 0, "b");
	fx_update(&a, 2, 111, AF_INET, 9, 9, 0, "b");	/* neither ok nor exhausted */
	fx_update(&a, 3, 0, AF_INET6, 2, 2, 0, "c");
	fx_update(&a, 3, 99, AF_INET6, 3, 1, 0, "c");
	fx_add_expired(&a, 0, AF_INET, 20, 20, 0, "d");
	input_init(&in, &a);
	render(&in);

	has_line("# TYPE portwatch_port_scans_total counter");
	has_line("portwatch_port_scans_total{family=\"inet\",result=\"ok\"} 27");
	has_line("portwatch_port_scans_total{family=\"inet\",result=\"exhausted\"} 5");
	has_line("portwatch_port_scans_total{family=\"inet6\",result=\"ok\"} 2");
	has_line("portwatch_port_scans_total{family=\"inet6\",result=\"exhausted\"} 1");
	assert_int_equal(lines_with("portwatch_port_scans_total{"), 4);
	valid_text();
	pw_accounts_free(&a);
}

/* le labels of the scan time buckets: 2^b ns for b = 10..32, in seconds */
static const char *const scan_le[] = {
	"1.024e-06", "2.048e-06", "4.096e-06", "8.192e-06", "1.6384e-05",
	"3.2768e-05", "6.5536e-05", "0.000131072", "0.000262144", "0.000524288",
	"0.001048576", "0.002097152", "0.004194304", "0.008388608", "0.016777216",
	"0.033554432", "0.067108864", "0.134217728", "0.268435456", "0.536870912",
	"1.073741824", "2.147483648", "4.294967296",
};

static void test_render_scan_histogram(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;
	char want[256];

	(void)state;
	pw_accounts_init(&a, 1000);
	fx_update(&a, 1, 99, AF_INET, 3, 3, 1500000000, "a");
	fx_update(&a, 2, 99, AF_INET6, 2, 2, 250, "b");
	fx_update(&a, 2, 111, AF_INET, 2, 2, 777777, "b");	/* in neither sum */
	fx_update(&a, 1, 0, AF_INET, 4, 4, 2000, "a");
	fx_add_expired(&a, 0, AF_INET, 1, 1, 1000, "c");
	input_init(&in, &a);
	/* exhausted: 3 in [1024, 2048) ns, 2 far beyond the last bucket */
	in.scan_hist[PW_SCAN_EXHAUSTED][11] = 3;
	in.scan_hist[PW_SCAN_EXHAUSTED][40] = 2;
	/* ok: 0 ns goes into the first bucket */
	in.scan_hist[PW_SCAN_OK][0] = 4;
	in.scan_hist[PW_SCAN_OK][12] = 1;
	render(&in);

	has_line("# TYPE portwatch_port_scan_duration_seconds histogram");
	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"exhausted\",le=\"1.024e-06\"} 0");
	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"exhausted\",le=\"2.048e-06\"} 3");
	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"exhausted\",le=\"4.294967296\"} 3");
	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"exhausted\",le=\"+Inf\"} 5");
	has_line("portwatch_port_scan_duration_seconds_count{result=\"exhausted\"} 5");
	has_line("portwatch_port_scan_duration_seconds_sum{result=\"exhausted\"} 1.500000250");

	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"ok\",le=\"1.024e-06\"} 4");
	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"ok\",le=\"2.048e-06\"} 4");
	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"ok\",le=\"4.096e-06\"} 5");
	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"ok\",le=\"4.294967296\"} 5");
	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"ok\",le=\"+Inf\"} 5");
	has_line("portwatch_port_scan_duration_seconds_count{result=\"ok\"} 5");
	has_line("portwatch_port_scan_duration_seconds_sum{result=\"ok\"} 0.000003000");

	/* every finite bucket, in order, cumulative */
	assert_int_equal(lines_with("portwatch_port_scan_duration_seconds_bucket{"), 2 * (23 + 1));
	for (int r = 0; r < 2; r++) {
		const char *res = r ? "exhausted" : "ok";
		const char *prev = NULL;

		for (size_t i = 0; i < sizeof(scan_le) / sizeof(scan_le[0]); i++) {
			const char *p;
			unsigned long long v = i < 1 ? (r ? 0 : 4) : i < 2 ? (r ? 3 : 4) : (r ? 3 : 5);

			snprintf(want, sizeof(want),
				 "portwatch_port_scan_duration_seconds_bucket{result=\"%s\",le=\"%s\"} %llu",
				 res, scan_le[i], v);
			has_line(want);
			p = find_line(want);
			assert_true(!prev || p > prev);
			prev = p;
		}
	}
	valid_text();
	pw_accounts_free(&a);
}

static void test_render_ports_checked(void **state)
{
	static const char *const le[] = {
		"1", "2", "4", "8", "16", "32", "64", "128", "256", "512", "1024",
		"2048", "4096", "8192", "16384", "32768", "65536",
	};
	struct pw_accounts a;
	struct pw_metrics_input in;
	char want[128];
	const char *prev = NULL;

	(void)state;
	pw_accounts_init(&a, 1000);
	input_init(&in, &a);
	/* values in slot 0 (0 ports) and far above 65536 only: slots that
	 * mean the same whether le is read as 2^b or 2^b - 1 */
	in.ports_hist[0] = 2;
	in.ports_hist[20] = 3;
	in.ports_hist[63] = 1;
	in.ports_sum = 12345;

	/* without --scan-depth: no such family at all */
	render(&in);
	assert_null(strstr(text, "portwatch_ports_checked"));

	in.scan_depth = true;
	render(&in);
	has_line("# HELP portwatch_ports_checked Ports checked per port selection (with --scan-depth).");
	has_line("# TYPE portwatch_ports_checked histogram");
	for (size_t i = 0; i < sizeof(le) / sizeof(le[0]); i++) {
		const char *p;

		snprintf(want, sizeof(want), "portwatch_ports_checked_bucket{le=\"%s\"} 2", le[i]);
		has_line(want);
		p = find_line(want);
		assert_true(!prev || p > prev);
		prev = p;
	}
	assert_int_equal(lines_with("portwatch_ports_checked_bucket{"), 17 + 1);
	has_line("portwatch_ports_checked_bucket{le=\"+Inf\"} 6");
	has_line("portwatch_ports_checked_sum 12345");
	has_line("portwatch_ports_checked_count 6");
	valid_text();
	pw_accounts_free(&a);
}

static void test_render_range_size(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	input_init(&in, &a);
	in.range_size = -1;
	render(&in);
	assert_null(strstr(text, "portwatch_local_port_range_size"));

	in.range_size = 0;
	render(&in);
	has_line("# TYPE portwatch_local_port_range_size gauge");
	has_line("portwatch_local_port_range_size 0");

	in.range_size = 28232;
	render(&in);
	has_line("portwatch_local_port_range_size 28232");
	assert_int_equal(lines_with("portwatch_local_port_range_size "), 1);
	valid_text();

	/* the node's netns not reachable: the one read is named */
	in.range_netns = 4026532260ull;
	render(&in);
	has_line("portwatch_local_port_range_size{netns=\"4026532260\"} 28232");
	assert_int_equal(lines_with("portwatch_local_port_range_size"), 1);
	valid_text();

	/* what the census could not read is counted, never silent */
	in.census_netns_skipped = 3;
	in.census_processes_skipped = 77;
	render(&in);
	has_line("# TYPE portwatch_census_netns_skipped_total counter");
	has_line("portwatch_census_netns_skipped_total 3");
	has_line("portwatch_census_processes_skipped_total 77");
	valid_text();
	pw_accounts_free(&a);
}

static void test_render_counters_build_info(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	input_init(&in, &a);
	in.events_lost = 7;
	in.samples_lost = 11;
	in.counts_dropped = 8;
	in.untraced = 18446744073709551615ull;
	in.counted_from_events = 9;
	in.unmatched = 10;
	in.mode = "fentry";
	render(&in);
	has_line("# TYPE portwatch_counted_from_events_total counter");
	has_line("portwatch_counted_from_events_total 9");
	has_line("# TYPE portwatch_unmatched_outcomes_total counter");
	has_line("portwatch_unmatched_outcomes_total 10");
	has_line("# TYPE portwatch_events_lost_total counter");
	has_line("portwatch_events_lost_total 7");
	has_line("# TYPE portwatch_sampled_events_lost_total counter");
	has_line("portwatch_sampled_events_lost_total 11");
	has_line("# TYPE portwatch_counts_dropped_total counter");
	has_line("portwatch_counts_dropped_total 8");
	has_line("# TYPE portwatch_untraced_connects_total counter");
	has_line("portwatch_untraced_connects_total 18446744073709551615");
	has_line("# HELP portwatch_build_info portwatch build and attach mode.");
	has_line("# TYPE portwatch_build_info gauge");
	has_line("portwatch_build_info{version=\"0.1.0\",libbpf_version=\"v1.5\",mode=\"fentry\"} 1");

	/* no accounts at all: every family still has its HELP and TYPE, and
	 * zero samples where they are fixed */
	has_line("portwatch_connect_attempts_total{family=\"inet\"} 0");
	has_line("portwatch_connect_attempts_total{family=\"inet6\"} 0");
	has_line("# TYPE portwatch_connect_failures_total counter");
	assert_int_equal(lines_with("portwatch_connect_failures_total{"), 0);
	has_line("portwatch_process_series_dropped 0");
	has_line("portwatch_port_scan_duration_seconds_bucket{result=\"ok\",le=\"+Inf\"} 0");
	has_line("portwatch_port_scan_duration_seconds_sum{result=\"ok\"} 0.000000000");
	valid_text();
	pw_accounts_free(&a);
}

/* Skipped program runs: one series per measurable kind of the attached
 * mode, with HELP saying what they mean for the counts; and whether the
 * mode is exact under contention on this kernel. */
static void test_render_missed_runs(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	pw_accounts_init(&a, 1000);
	input_init(&in, &a);
	/* nothing measurable: the family is there, no series, no gauge */
	render(&in);
	has_line("# TYPE portwatch_bpf_program_missed_runs_total counter");
	assert_int_equal(lines_with("portwatch_bpf_program_missed_runs_total{"), 0);
	assert_int_equal(lines_with("portwatch_exact_under_contention"), 0);
	valid_text();

	/* kprobe mode: its recursion misses and the kretprobes' maxactive */
	in.missed_runs[PW_MISS_KPROBE] = 3;
	in.missed_runs[PW_MISS_KRETPROBE_MAXACTIVE] = 0;
	in.preempt_model = "lazy";
	in.exact_under_contention = true;
	render(&in);
	has_line("portwatch_bpf_program_missed_runs_total{kind=\"kprobe\"} 3");
	has_line("portwatch_bpf_program_missed_runs_total{kind=\"kretprobe_maxactive\"} 0");
	assert_int_equal(lines_with("portwatch_bpf_program_missed_runs_total{"), 2);
	assert_non_null(strstr(text, "# HELP portwatch_bpf_program_missed_runs_total Runs of portwatch's "
				     "BPF programs the kernel skipped"));
	assert_non_null(strstr(text, "the true failure counts lie between the counted ones and the "
				     "counted ones plus this"));
	has_line("# TYPE portwatch_exact_under_contention gauge");
	has_line("portwatch_exact_under_contention{preempt_model=\"lazy\"} 1");
	valid_text();

	/* fentry on a preemptible kernel: not exact, and its misses */
	input_init(&in, &a);
	in.mode = "fentry";
	in.missed_runs[PW_MISS_FENTRY] = 5629;
	in.preempt_model = "full";
	in.exact_under_contention = false;
	render(&in);
	has_line("portwatch_bpf_program_missed_runs_total{kind=\"fentry\"} 5629");
	assert_int_equal(lines_with("portwatch_bpf_program_missed_runs_total{"), 1);
	has_line("portwatch_exact_under_contention{preempt_model=\"full\"} 0");
	valid_text();
	pw_accounts_free(&a);
}

/* The checker itself must reject what it is there to reject. */
static void test_checker(void **state)
{
	static const char *const bad[] = {
		"",
		"a 1",
		"# HELP a x\n# TYPE a counter\na 1",			/* no final newline */
		"a 1\n",						/* no HELP/TYPE */
		"# TYPE a counter\na 1\n",				/* no HELP */
		"# HELP a x\n# TYPE a counter\na{l=\"x} 1\n",
		"# HELP a x\n# TYPE a counter\na{l=\"\\t\"} 1\n",
		"# HELP a x\n# TYPE a counter\na{l=x} 1\n",
		"# HELP a x\n# TYPE a counter\na{l=\"x\"}  1\n",
		"# HELP a x\n# TYPE a counter\na{l=\"x\"} one\n",
		"# HELP a x\n# TYPE a counter\na{l=\"x\"}\n",
		"# HELP a x\n# TYPE a counter\na{l=\"x\"} 1\na{l=\"x\"} 2\n",
		"# HELP a x\n# TYPE a counter\na 1\n# HELP b x\n# TYPE b gauge\nb 1\na 2\n",
		"# HELP a x\n# TYPE a counter\n# HELP a y\na 1\n",
		"# HELP a x\n# TYPE a countr\na 1\n",
		"# HELP a x\n# TYPE a counter\na_bucket{le=\"1\"} 1\n",
		"# a comment\n",
		"# HELP 1a x\n# TYPE 1a counter\n1a 1\n",
	};
	const char *good =
		"# HELP a x\n# TYPE a counter\na{l=\"x\\\\\\\"\\n\x01\xef\xbf\xbd\"} 1\na{l=\"y\"} 2e+06\n"
		"# HELP h y\n# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 0.5\nh_count 1\n"
		"# HELP g z\n# TYPE g gauge\ng -1\n";

	(void)state;
	assert_null(check_exposition(good));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!check_exposition(bad[i]))
			fail_msg("accepted bad exposition %zu:\n%s", i, bad[i]);
}

static void test_render_grammar(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;

	(void)state;
	fill_rich(&a);
	fill_rich_input(&in, &a);
	render(&in);
	valid_text();
	/* every family of the contract is there */
	has_line("# TYPE portwatch_connect_attempts_total counter");
	has_line("# TYPE portwatch_connect_failures_total counter");
	has_line("# TYPE portwatch_process_connect_failures_total counter");
	has_line("# TYPE portwatch_port_scans_total counter");
	has_line("# TYPE portwatch_port_scan_duration_seconds histogram");
	has_line("# TYPE portwatch_ports_checked histogram");
	has_line("# TYPE portwatch_local_port_range_size gauge");
	has_line("# TYPE portwatch_events_lost_total counter");
	has_line("# TYPE portwatch_build_info gauge");
	/* the exited process: no per-pid series, still in the aggregate */
	assert_int_equal(lines_with("portwatch_process_connect_failures_total{pid=\"47\""), 0);
	has_line("portwatch_connect_failures_total{comm=\"gone\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} 6");
	has_line("portwatch_connect_failures_total{comm=\"curl\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} 15");
	pw_accounts_free(&a);
}

/* promtool check metrics on `content`: its exit status. What it says goes
 * to stderr, or nowhere when `quiet`. */
static int promtool(const char *content, bool quiet)
{
	char path[] = "/tmp/test_metrics.XXXXXX", cmd[256];
	int fd, rc;
	FILE *f;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	snprintf(cmd, sizeof(cmd), PROMTOOL " check metrics < %s %s", path,
		 quiet ? ">/dev/null 2>&1" : "1>&2");
	rc = system(cmd);
	unlink(path);
	assert_true(rc != -1 && WIFEXITED(rc));
	return WEXITSTATUS(rc);
}

static void test_promtool(void **state)
{
	struct pw_accounts a;
	struct pw_metrics_input in;
	int rc;

	(void)state;
	/* installed by someone else, maybe after this was built */
	if (access(PROMTOOL, X_OK)) {
		print_message("no " PROMTOOL ": promtool check skipped\n");
		skip();
	}
	/* it does reject what is broken */
	assert_int_not_equal(promtool("# HELP a x\n# TYPE a counter\na{l=\"x} 1\n", true), 0);

	fill_rich(&a);
	fill_rich_input(&in, &a);
	render(&in);
	pw_accounts_free(&a);
	rc = promtool(text, false);
	if (rc) {
		dump_text();
		fail_msg("promtool check metrics exited with %d", rc);
	}
}

static int group_teardown(void **state)
{
	(void)state;
	free(text);
	free(label_out);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_label_plain),
		cmocka_unit_test(test_label_escapes),
		cmocka_unit_test(test_label_utf8),
		cmocka_unit_test(test_render_attempts_and_failures),
		cmocka_unit_test(test_render_families_and_odd_comms),
		cmocka_unit_test(test_render_merges_equal_labels),
		cmocka_unit_test(test_render_pid_cap),
		cmocka_unit_test(test_render_leaves_accounts_alone),
		cmocka_unit_test(test_render_unattributed_kept),
		cmocka_unit_test(test_render_exited_expiry),
		cmocka_unit_test(test_render_workloads),
		cmocka_unit_test(test_render_port_scans),
		cmocka_unit_test(test_render_scan_histogram),
		cmocka_unit_test(test_render_ports_checked),
		cmocka_unit_test(test_render_range_size),
		cmocka_unit_test(test_render_counters_build_info),
		cmocka_unit_test(test_render_missed_runs),
		cmocka_unit_test(test_checker),
		cmocka_unit_test(test_render_grammar),
		cmocka_unit_test(test_promtool),
	};

	return cmocka_run_group_tests_name("test_metrics", tests, NULL, group_teardown);
}
