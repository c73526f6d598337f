// SPDX-License-Identifier: GPL-2.0
/* soakmon: the soak's observer (make bench, loop "soak").
 *
 *   soakmon --pid PID --url URL --tsv FILE --samples FILE --expect FILE
 *           [--log FILE] [--drain S] [--timeout S] [--interval-ms MS]
 *
 * Once a second (on a fixed schedule) it scrapes URL the way Prometheus
 * does (libcurl, one handle, --timeout 10 s: Prometheus's default) and
 * checks each scrape against the one before it:
 *   - every series of a counter or histogram present in both never went
 *     down (a "series decrease");
 *   - the sum over a counter family's series never went down unless one of
 *     its series vanished in that scrape (a "sum decrease");
 *   - series that vanished are counted per family (the per-pid families are
 *     capped by design; a vanished per-comm series would be a lost count).
 * One line per scrape in --tsv; decreases, vanished series and failed
 * scrapes are named in --log. A thread of its own samples portwatch (PID)
 * once a second into --samples, so that a slow scrape delays no sample: its
 * RSS, peak RSS and CPU, and the entries of each of its hash maps (counted
 * with BPF_MAP_LOOKUP_BATCH through the map ids in /proc/PID/fdinfo).
 * When the --expect file appears ("ATTEMPTS FAILURES": what the load
 * generator made) it scrapes on until the totals equal it or --drain
 * seconds (10) pass, then prints one JSON object on stdout and exits.
 * Exit 1 only when it cannot work (no first scrape). */
#define _GNU_SOURCE
#include <bpf/bpf.h>
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

/* portwatch's families the soak reads by name (docs/metrics.md, "Metric table") */
#define M_ATTEMPTS	"portwatch_connect_attempts_total"
#define M_FAILURES	"portwatch_connect_failures_total"
#define M_PROC		"portwatch_process_connect_failures_total"
#define M_PROC_DROPPED	"portwatch_process_series_dropped"
#define M_DROPPED	"portwatch_counts_dropped_total"
#define M_UNTRACED	"portwatch_untraced_connects_total"
#define M_LOST		"portwatch_events_lost_total"

#define MAX_FAMILIES	128
#define MAX_MAPS	32

struct buf {
	char *p;
	size_t len, cap;
};

struct series {
	const char *key;	/* name{labels}, into the scrape's body */
	size_t klen;
	double v;
	int fam;		/* index in fams, -1 if none declared */
};

struct scrape {
	struct buf body;
	struct series *s;
	size_t n, cap;
	double sum[MAX_FAMILIES];	/* counters: over the series; histograms: of _count */
	unsigned int nser[MAX_FAMILIES];
};

enum ftype { F_OTHER, F_COUNTER, F_HISTOGRAM, F_GAUGE };

struct family {
	char name[128];
	enum ftype type;
	uint64_t vanished, series_dec, sum_dec;
	unsigned int max_series;
};

struct bmap {
	int fd;
	uint32_t id;
	char name[BPF_OBJ_NAME_LEN];
	uint32_t max_entries, key_size, value_size;
	bool percpu;
	long long max_seen, last;
	void *keys, *vals;
};

static struct family fams[MAX_FAMILIES];
static int nfams;
static struct bmap maps[MAX_MAPS];
static int nmaps;
static FILE *logf;
static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t add = size * n;

	if (b->len + add + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1 << 16;
		char *np;

		while (cap < b->len + add + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return 0;	/* libcurl fails the transfer */
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, add);
	b->len += add;
	b->p[b->len] = 0;
	return add;
}

static int family_of(const char *name, size_t len, bool declare, enum ftype type)
{
	for (int i = 0; i < nfams; i++)
		if (strlen(fams[i].name) == len && !memcmp(fams[i].name, name, len))
			return i;
	if (!declare || nfams == MAX_FAMILIES || len >= sizeof(fams[0].name))
		return -1;
	memcpy(fams[nfams].name, name, len);
	fams[nfams].name[len] = 0;
	fams[nfams].type = type;
	return nfams++;
}

/* The family a sample belongs to: its name, or for a histogram's
 * _bucket/_sum/_count the name without the suffix. */
static int sample_family(const char *name, size_t len, bool *is_count)
{
	static const char *const sfx[] = { "_bucket", "_sum", "_count" };
	int f = family_of(name, len, false, F_OTHER);

	*is_count = false;
	if (f >= 0)
		return f;
	for (unsigned int i = 0; i < 3; i++) {
		size_t sl = strlen(sfx[i]);

		if (len > sl && !memcmp(name + len - sl, sfx[i], sl)) {
			f = family_of(name, len - sl, false, F_OTHER);
			if (f >= 0 && fams[f].type == F_HISTOGRAM) {
				*is_count = i == 2;
				return f;
			}
		}
	}
	return -1;
}

static int cmp_series(const void *a, const void *b)
{
	const struct series *x = a, *y = b;
	size_t n = x->klen < y->klen ? x->klen : y->klen;
	int c = memcmp(x->key, y->key, n);

	return c ? c : (x->klen > y->klen) - (x->klen < y->klen);
}

/* Text format 0.0.4: "# TYPE name type" declares a family; a sample is
 * name[{labels}] value; label values may hold escaped quotes and braces.
 * Returns the number of lines that are not valid samples. */
static unsigned int parse(struct scrape *sc)
{
	char *p = sc->body.p, *end = p + sc->body.len;
	unsigned int bad = 0;

	sc->n = 0;
	memset(sc->sum, 0, sizeof(sc->sum));
	memset(sc->nser, 0, sizeof(sc->nser));
	while (p < end) {
		char *eol = memchr(p, '\n', (size_t)(end - p)), *q;

		if (!eol)
			eol = end;
		*eol = 0;
		if (*p == '#') {
			char name[128], type[32];

			if (sscanf(p, "# TYPE %127s %31s", name, type) == 2)
				family_of(name, strlen(name), true,
					  !strcmp(type, "counter") ? F_COUNTER :
					  !strcmp(type, "histogram") ? F_HISTOGRAM :
					  !strcmp(type, "gauge") ? F_GAUGE : F_OTHER);
			p = eol + 1;
			continue;
		}
		if (p == eol) {
			p = eol + 1;
			continue;
		}
		q = p;
		while (q < eol && *q != '{' && *q != ' ')
			q++;
		size_t nlen = (size_t)(q - p);

		if (*q == '{') {
			bool inq = false;

			for (q++; q < eol; q++) {
				if (inq && *q == '\\' && q + 1 < eol)
					q++;
				else if (*q == '"')
					inq = !inq;
				else if (!inq && *q == '}')
					break;
			}
			if (q == eol) {
				bad++;
				p = eol + 1;
				continue;
			}
			q++;
		}
		char *vend;
		double v = strtod(q, &vend);

		if (vend == q || nlen == 0) {
			bad++;
			p = eol + 1;
			continue;
		}
		if (sc->n == sc->cap) {
			size_t cap = sc->cap ? sc->cap * 2 : 1024;
			struct series *ns = realloc(sc->s, cap * sizeof(*ns));

			if (!ns) {
				fprintf(stderr, "soakmon: out of memory\n");
				exit(1);
			}
			sc->s = ns;
			sc->cap = cap;
		}
		bool is_count;
		int f = sample_family(p, nlen, &is_count);

		sc->s[sc->n++] = (struct series){ .key = p, .klen = (size_t)(q - p), .v = v, .fam = f };
		if (f >= 0) {
			if (fams[f].type == F_HISTOGRAM ? is_count : true)
				sc->sum[f] += v;
			if (fams[f].type != F_HISTOGRAM || is_count)
				sc->nser[f]++;
		}
		p = eol + 1;
	}
	qsort(sc->s, sc->n, sizeof(*sc->s), cmp_series);
	for (int f = 0; f < nfams; f++)
		if (sc->nser[f] > fams[f].max_series)
			fams[f].max_series = sc->nser[f];
	return bad;
}

static bool monotonic(int f)
{
	return f >= 0 && (fams[f].type == F_COUNTER || fams[f].type == F_HISTOGRAM);
}

/* cur against prev; returns decreases (series and sums) and series vanished */
static void compare(const struct scrape *prev, const struct scrape *cur, double t,
		    uint64_t *dec, uint64_t *vanished)
{
	unsigned int gone[MAX_FAMILIES] = { 0 };
	size_t i = 0, j = 0;

	*dec = *vanished = 0;
	while (i < prev->n) {
		int c = j < cur->n ? cmp_series(&prev->s[i], &cur->s[j]) : -1;

		if (c > 0) {
			j++;
			continue;
		}
		const struct series *a = &prev->s[i];

		if (c < 0) {
			if (monotonic(a->fam)) {
				gone[a->fam]++;
				fams[a->fam].vanished++;
				(*vanished)++;
				if (fams[a->fam].vanished <= 5 && logf)
					fprintf(logf, "t=%.0f vanished: %.*s (was %.17g)\n", t,
						(int)a->klen, a->key, a->v);
			}
			i++;
			continue;
		}
		if (monotonic(a->fam) && cur->s[j].v < a->v) {
			fams[a->fam].series_dec++;
			(*dec)++;
			if (logf)
				fprintf(logf, "t=%.0f SERIES DECREASE: %.*s %.17g -> %.17g\n", t,
					(int)a->klen, a->key, a->v, cur->s[j].v);
		}
		i++;
		j++;
	}
	for (int f = 0; f < nfams; f++) {
		if (fams[f].type != F_COUNTER || gone[f] || cur->sum[f] >= prev->sum[f])
			continue;
		fams[f].sum_dec++;
		(*dec)++;
		if (logf)
			fprintf(logf, "t=%.0f SUM DECREASE: %s %.17g -> %.17g with no series gone\n",
				t, fams[f].name, prev->sum[f], cur->sum[f]);
	}
	if (logf)
		fflush(logf);
}

static double fam_sum(const struct scrape *sc, const char *name)
{
	int f = family_of(name, strlen(name), false, F_OTHER);

	return f >= 0 ? sc->sum[f] : -1;
}

static long long fam_series(const struct scrape *sc, const char *name)
{
	int f = family_of(name, strlen(name), false, F_OTHER);

	return f >= 0 ? (long long)sc->nser[f] : -1;
}

/* a gauge with no labels: its one value */
static double gauge(const struct scrape *sc, const char *name)
{
	int f = family_of(name, strlen(name), false, F_OTHER);

	return f >= 0 && sc->nser[f] ? sc->sum[f] : -1;
}

/* The hash maps portwatch holds, through the map ids of its fds. */
static void open_maps(int pid)
{
	char path[64], line[256];
	struct dirent *d;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo", pid);
	dir = opendir(path);
	if (!dir)
		return;
	while ((d = readdir(dir)) && nmaps < MAX_MAPS) {
		char fpath[sizeof(path) + sizeof(d->d_name) + 1];
		unsigned int id = 0;
		FILE *f;

		snprintf(fpath, sizeof(fpath), "%s/%s", path, d->d_name);
		f = fopen(fpath, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "map_id: %u", &id) == 1)
				break;
		fclose(f);
		if (!id)
			continue;
		bool dup = false;
		struct bpf_map_info info = { 0 };
		uint32_t ilen = sizeof(info);
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &ilen)) {
			close(fd);
			continue;
		}
		for (int i = 0; i < nmaps; i++)
			dup |= maps[i].id == info.id;
		if (dup || (info.type != BPF_MAP_TYPE_HASH && info.type != BPF_MAP_TYPE_LRU_HASH &&
			    info.type != BPF_MAP_TYPE_PERCPU_HASH &&
			    info.type != BPF_MAP_TYPE_LRU_PERCPU_HASH)) {
			close(fd);
			continue;
		}
		struct bmap *m = &maps[nmaps];
		int ncpu = sysconf(_SC_NPROCESSORS_CONF);

		m->fd = fd;
		m->id = info.id;
		snprintf(m->name, sizeof(m->name), "%s", info.name);
		m->max_entries = info.max_entries;
		m->key_size = info.key_size;
		m->percpu = info.type == BPF_MAP_TYPE_PERCPU_HASH ||
			    info.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
		m->value_size = m->percpu ? ((info.value_size + 7) & ~7u) * (uint32_t)ncpu :
			       info.value_size;
		m->keys = malloc((size_t)m->key_size * m->max_entries);
		m->vals = malloc((size_t)m->value_size * m->max_entries);
		if (!m->keys || !m->vals) {
			fprintf(stderr, "soakmon: out of memory\n");
			exit(1);
		}
		m->max_seen = -1;
		nmaps++;
	}
	closedir(dir);
}

/* Entries in the map now: a batch walk (bucket by bucket, so entries deleted
 * meanwhile are not counted twice); -1 if the kernel refuses it. */
static long long map_count(struct bmap *m)
{
	uint64_t in[8], out[8];	/* the batch token: a bucket index for hash maps */
	void *inp = NULL;
	long long total = 0;

	for (;;) {
		uint32_t n = m->max_entries;
		int err = bpf_map_lookup_batch(m->fd, inp, out, m->keys, m->vals, &n, NULL);

		if (err && errno != ENOENT)
			return -1;
		total += n;
		if (err)
			break;
		memcpy(in, out, sizeof(in));
		inp = in;
	}
	return total;
}

static bool proc_status(int pid, long *rss, long *hwm)
{
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	*rss = *hwm = -1;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %ld", rss);
		sscanf(line, "VmHWM: %ld", hwm);
	}
	fclose(f);
	return *rss >= 0;
}

static long long cpu_ticks(int pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	p = strrchr(buf, ')');	/* comm may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

static bool read_expect(const char *path, double *att, double *fail)
{
	FILE *f = fopen(path, "r");
	bool ok;

	if (!f)
		return false;
	ok = fscanf(f, "%lf %lf", att, fail) == 2;
	fclose(f);
	return ok;
}

/* Once an interval, on a schedule of its own (a slow scrape delays no
 * sample): portwatch's RSS, peak RSS, CPU and its maps' entries. */
struct sampler {
	int pid;
	FILE *f;
	int64_t t0, interval_ns;
	long tck;
	long long ticks0, ticks_last;
	bool done, pw_gone;	/* __atomic */
};

static void *sampler_main(void *arg)
{
	struct sampler *sm = arg;
	int64_t next = sm->t0, t_prev = 0;

	fprintf(sm->f, "t\trss_kb\thwm_kb\tcpu_pct");
	for (int i = 0; i < nmaps; i++)
		fprintf(sm->f, "\tmap_%s", maps[i].name);
	fputc('\n', sm->f);
	/* done is read after the sample: the last one follows the last scrape */
	for (;;) {
		int64_t a = now_ns();
		long long ticks = cpu_ticks(sm->pid);
		long rss, hwm;

		if (!proc_status(sm->pid, &rss, &hwm) || ticks < 0) {
			__atomic_store_n(&sm->pw_gone, true, __ATOMIC_RELAXED);
			break;
		}
		if (sm->ticks0 < 0)
			sm->ticks0 = ticks;
		fprintf(sm->f, "%.0f\t%ld\t%ld\t%.1f", (double)(next - sm->t0) / 1e9, rss, hwm,
			sm->ticks_last >= 0 && a > t_prev ?
				(double)(ticks - sm->ticks_last) * 100 / sm->tck / ((a - t_prev) / 1e9) : 0.0);
		sm->ticks_last = ticks;
		t_prev = a;
		for (int i = 0; i < nmaps; i++) {
			maps[i].last = map_count(&maps[i]);
			if (maps[i].last > maps[i].max_seen)
				maps[i].max_seen = maps[i].last;
			fprintf(sm->f, "\t%lld", maps[i].last);
		}
		fputc('\n', sm->f);
		fflush(sm->f);
		if (__atomic_load_n(&sm->done, __ATOMIC_RELAXED))
			break;
		next += sm->interval_ns;
		while (next < now_ns())
			next += sm->interval_ns;
		struct timespec ts = { .tv_sec = next / 1000000000, .tv_nsec = next % 1000000000 };

		while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: soakmon --pid PID --url URL --tsv FILE --samples FILE "
		"--expect FILE [--log FILE] [--drain S] [--timeout S] [--interval-ms MS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const char *url = NULL, *tsv_path = NULL, *expect_path = NULL, *log_path = NULL;
	const char *samples_path = NULL;
	int pid = 0, interval_ms = 1000;
	double drain = 10, exp_att = -1, exp_fail = -1;
	struct scrape sc[2] = { 0 };
	uint64_t scrapes = 0, failed = 0, late = 0, slow = 0, bad_lines = 0, decreases = 0;
	int64_t t0, next, drain_from = 0, drain_ns = -1;
	struct sampler sm = { .ticks0 = -1, .ticks_last = -1 };
	pthread_t sampler_th;
	bool reached = false;
	double timeout = 10;
	char err[CURL_ERROR_SIZE];
	FILE *tsv;
	CURL *h;
	int cur = 0;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--pid"))
			pid = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--url"))
			url = argv[++i];
		else if (!strcmp(argv[i], "--tsv"))
			tsv_path = argv[++i];
		else if (!strcmp(argv[i], "--expect"))
			expect_path = argv[++i];
		else if (!strcmp(argv[i], "--log"))
			log_path = argv[++i];
		else if (!strcmp(argv[i], "--drain"))
			drain = atof(argv[++i]);
		else if (!strcmp(argv[i], "--interval-ms"))
			interval_ms = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--samples"))
			samples_path = argv[++i];
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atof(argv[++i]);
		else
			usage();
	}
	if (pid <= 0 || !url || !tsv_path || !samples_path || !expect_path || interval_ms < 10 ||
	    !(drain >= 0) || !(timeout > 0))
		usage();
	tsv = fopen(tsv_path, "w");
	sm.f = fopen(samples_path, "w");
	if (!tsv || !sm.f) {
		fprintf(stderr, "soakmon: %s: %s\n", tsv ? samples_path : tsv_path, strerror(errno));
		return 1;
	}
	sm.pid = pid;
	sm.tck = sysconf(_SC_CLK_TCK);
	if (log_path && !(logf = fopen(log_path, "w"))) {
		fprintf(stderr, "soakmon: %s: %s\n", log_path, strerror(errno));
		return 1;
	}
	catch_stop();
	open_maps(pid);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) || !(h = curl_easy_init())) {
		fprintf(stderr, "soakmon: libcurl init failed\n");
		return 1;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);

	fprintf(tsv, "t\tphase\tok\tbytes\tscrape_ms\tseries\tattempts\tfailures"
		"\tcomm_series\tpid_series\tpid_dropped\tcounts_dropped\tuntraced\tlost\tdecreases\tvanished\n");
	fflush(tsv);

	t0 = next = now_ns();
	sm.t0 = t0;
	sm.interval_ns = (int64_t)interval_ms * 1000000;
	if (pthread_create(&sampler_th, NULL, sampler_main, &sm)) {
		fprintf(stderr, "soakmon: pthread_create failed\n");
		return 1;
	}
	while (!stop && !__atomic_load_n(&sm.pw_gone, __ATOMIC_RELAXED)) {
		struct scrape *s = &sc[cur], *prev = &sc[!cur];
		double t = (double)(next - t0) / 1e9, att, fail;
		const char *phase = !scrapes ? "base" : drain_from ? "drain" : "load";
		int64_t a, b;
		long code = 0;
		CURLcode rc;

		s->body.len = 0;
		curl_easy_setopt(h, CURLOPT_WRITEDATA, &s->body);
		a = now_ns();
		rc = curl_easy_perform(h);
		b = now_ns();
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
		if (b - a > (int64_t)interval_ms * 1000000)
			slow++;
		if (rc != CURLE_OK || code != 200) {
			failed++;
			if (logf)
				fprintf(logf, "t=%.0f scrape failed: %s (HTTP %ld)\n", t,
					rc != CURLE_OK ? err : "status", code);
			if (!scrapes) {
				fprintf(stderr, "soakmon: first scrape of %s failed: %s (HTTP %ld)\n",
					url, rc != CURLE_OK ? err : "status", code);
				return 1;
			}
			fprintf(tsv, "%.0f\t%s\t0\t%zu\t%.1f\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\t-\n",
				t, phase, s->body.len, (b - a) / 1e6);
			fflush(tsv);
		} else {
			uint64_t dec = 0, van = 0;

			bad_lines += parse(s);
			if (scrapes)
				compare(prev, s, t, &dec, &van);
			decreases += dec;
			scrapes++;
			fprintf(tsv, "%.0f\t%s\t1\t%zu\t%.1f\t%zu\t%.0f\t%.0f\t%lld\t%lld"
				"\t%.0f\t%.0f\t%.0f\t%.0f\t%llu\t%llu\n",
				t, phase, s->body.len, (b - a) / 1e6, s->n,
				fam_sum(s, M_ATTEMPTS), fam_sum(s, M_FAILURES),
				fam_series(s, M_FAILURES), fam_series(s, M_PROC),
				gauge(s, M_PROC_DROPPED), fam_sum(s, M_DROPPED), fam_sum(s, M_UNTRACED),
				fam_sum(s, M_LOST), (unsigned long long)dec, (unsigned long long)van);
			fflush(tsv);
			cur = !cur;
			if (drain_from && fam_sum(s, M_ATTEMPTS) == exp_att &&
			    fam_sum(s, M_FAILURES) == exp_fail) {
				reached = true;
				drain_ns = b - drain_from;
				break;
			}
		}
		if (!drain_from && read_expect(expect_path, &att, &fail)) {
			exp_att = att;
			exp_fail = fail;
			/* the next scrape at once: the totals may be there already */
			next = drain_from = now_ns();
			continue;
		}
		if (drain_from && now_ns() - drain_from > (int64_t)(drain * 1e9))
			break;
		next += (int64_t)interval_ms * 1000000;
		if (next < now_ns()) {
			/* this scrape took longer than the interval: skip, never bunch up */
			while (next < now_ns())
				next += (int64_t)interval_ms * 1000000;
			late++;
		}
		struct timespec ts = { .tv_sec = next / 1000000000, .tv_nsec = next % 1000000000 };

		while (!stop && clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
			;
	}
	__atomic_store_n(&sm.done, true, __ATOMIC_RELAXED);
	pthread_join(sampler_th, NULL);
	/* the last good scrape */
	const struct scrape *last = &sc[!cur];

	printf("{\"scrapes\":%llu,\"scrape_failures\":%llu,\"late_ticks\":%llu,\"bad_lines\":%llu,"
	       "\"slow_scrapes\":%llu,\"decreases\":%llu,\"portwatch_exited\":%s,\"expect\":{\"attempts\":%.0f,\"failures\":%.0f},"
	       "\"final\":{\"attempts\":%.0f,\"failures\":%.0f,\"counts_dropped\":%.0f,\"untraced\":%.0f,"
	       "\"events_lost\":%.0f},\"exact\":%s,\"drain_ms\":%.0f,\"cpu_s\":%.2f,\"families\":{",
	       (unsigned long long)scrapes, (unsigned long long)failed, (unsigned long long)late,
	       (unsigned long long)bad_lines, (unsigned long long)slow, (unsigned long long)decreases,
	       sm.pw_gone ? "true" : "false",
	       exp_att, exp_fail, fam_sum(last, M_ATTEMPTS), fam_sum(last, M_FAILURES),
	       fam_sum(last, M_DROPPED), fam_sum(last, M_UNTRACED), fam_sum(last, M_LOST),
	       reached ? "true" : "false", drain_ns >= 0 ? drain_ns / 1e6 : -1.0,
	       sm.ticks_last >= 0 && sm.ticks0 >= 0 ? (double)(sm.ticks_last - sm.ticks0) / sm.tck : -1.0);
	for (int f = 0; f < nfams; f++)
		printf("%s\"%s\":{\"type\":\"%s\",\"max_series\":%u,\"final_series\":%u,"
		       "\"vanished\":%llu,\"series_decreases\":%llu,\"sum_decreases\":%llu}",
		       f ? "," : "", fams[f].name,
		       fams[f].type == F_COUNTER ? "counter" : fams[f].type == F_HISTOGRAM ? "histogram" :
		       fams[f].type == F_GAUGE ? "gauge" : "other",
		       fams[f].max_series, last->nser[f], (unsigned long long)fams[f].vanished,
		       (unsigned long long)fams[f].series_dec, (unsigned long long)fams[f].sum_dec);
	printf("},\"maps\":{");
	for (int i = 0; i < nmaps; i++)
		printf("%s\"%s\":{\"max_entries\":%u,\"max_seen\":%lld,\"last\":%lld}", i ? "," : "",
		       maps[i].name, maps[i].max_entries, maps[i].max_seen, maps[i].last);
	printf("}}\n");
	curl_easy_cleanup(h);
	curl_global_cleanup();
	return 0;
}
