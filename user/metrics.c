// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include "metrics.h"

/* Scan-time buckets: le = 2^b ns for these b (1 us .. 4.3 s). */
#define SCAN_B_MIN	10
#define SCAN_B_MAX	32
/* ports_checked buckets: le = 2^b ports (1 .. 65536). */
#define PORTS_B_MAX	16

void pw_prom_label(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		size_t l = pw_utf8_seq_len(s + i, n - i);

		if (l == 0) {
			fputs("\xef\xbf\xbd", f);	/* U+FFFD */
			i++;
			continue;
		}
		if (l == 1 && (s[i] == '\\' || s[i] == '"'))
			fprintf(f, "\\%c", s[i]);
		else if (l == 1 && s[i] == '\n')
			fputs("\\n", f);
		else
			fwrite(s + i, 1, l, f);
		i += l;
	}
}

/* The label text of a comm, escaped, into buf. */
static void label_text(char *buf, size_t sz, const char *comm)
{
	FILE *f = fmemopen(buf, sz, "w");

	buf[0] = '\0';
	if (!f)
		return;
	pw_prom_label(f, comm, pw_comm_len(comm));
	fclose(f);
}

static void label_comm(FILE *f, const char *comm)
{
	fputs("comm=\"", f);
	pw_prom_label(f, comm, pw_comm_len(comm));
	fputc('"', f);
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A failure series of a process or workload: its op and errno (--ops) */
static uint32_t row_series(const struct pw_row *r)
{
	return (uint32_t)PW_KEY_OP(r->key.family) << 16 | r->key.err;
}

/* The op label of a series, none for connect (the series before --ops) */
static void label_op(FILE *f, unsigned int op)
{
	if (op != PW_OP_CONNECT)
		fprintf(f, ",op=\"%s\"", pw_op_name(op) ? pw_op_name(op) : "unknown");
}

static int cmp_row_pid(const void *a, const void *b)
{
	const struct pw_row *x = *(const struct pw_row *const *)a;
	const struct pw_row *y = *(const struct pw_row *const *)b;

	uint32_t xe = row_series(x), ye = row_series(y);

	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	return (xe > ye) - (xe < ye);
}

/* One process (or workload) competing for a series: its EADDRNOTAVAIL and
 * all its failures, and whether it was shown last time. */
struct contender {
	size_t start, end;		/* its entries, in the caller's array */
	uint64_t eaddr, fails;
	bool was_shown, show;
	uint32_t tgid;
	const char *labels;		/* workloads */
};

/* A shown one counts double: one not shown takes its place only once it
 * has failed more than twice as often, so the shown set does not flap. */
static uint64_t held(uint64_t v, bool shown)
{
	return !shown ? v : v > UINT64_MAX / 2 ? UINT64_MAX : v * 2;
}

/* The top failers first: EADDRNOTAVAIL, then all failures, then the lower
 * pid or labels (stable). */
static int cmp_contender(const void *a, const void *b)
{
	const struct contender *x = *(const struct contender *const *)a;
	const struct contender *y = *(const struct contender *const *)b;
	uint64_t xe = held(x->eaddr, x->was_shown), ye = held(y->eaddr, y->was_shown);
	uint64_t xf = held(x->fails, x->was_shown), yf = held(y->fails, y->was_shown);

	if (xe != ye)
		return xe > ye ? -1 : 1;
	if (xf != yf)
		return xf > yf ? -1 : 1;
	if (x->labels)
		return strcmp(x->labels, y->labels);
	return (x->tgid > y->tgid) - (x->tgid < y->tgid);
}

/* Mark the max of the n contenders to show; returns how many are left out. */
static size_t pick_shown(struct contender *c, size_t n, size_t max)
{
	struct contender **order;

	if (n <= max) {
		for (size_t i = 0; i < n; i++)
			c[i].show = true;
		return 0;
	}
	order = calloc(n, sizeof(*order));
	if (!order)
		return n;	/* none shown: every one counted as left out */
	for (size_t i = 0; i < n; i++)
		order[i] = &c[i];
	qsort(order, n, sizeof(*order), cmp_contender);
	for (size_t i = 0; i < max; i++)
		order[i]->show = true;
	free(order);
	return n - max;
}

/* ---- per-comm series: the top failing names (see PW_MAX_COMMS) ---- */

/* One (name, errno, family) total, from the rows and folded rows. */
#define agg pw_comm_total

static int cmp_agg(const void *a, const void *b)
{
	const struct agg *x = a, *y = b;
	int c = memcmp(x->key, y->key, PW_COMM_LEN);

	if (c)
		return c;
	if (x->err != y->err)
		return x->err < y->err ? -1 : 1;
	return (x->family > y->family) - (x->family < y->family);
}

/* Row i of the rows then the folded rows, its total in t; NULL for a row
 * of successes. */
static const struct pw_row *failure_row(const struct pw_accounts *a, size_t i, struct pw_proc_val *t)
{
	const struct pw_row *r = i < a->n ? &a->rows[i] : &a->expired[i - a->n];

	if (!r->key.err)
		return NULL;
	pw_row_total(r, t);
	return r;
}

/* The failure totals per (name, errno, family), sorted; NULL on ENOMEM. */
static struct agg *comm_totals(const struct pw_accounts *a, size_t *np)
{
	size_t n = 0, cap = a->n + a->nexpired;
	struct agg *v = calloc(cap ? cap : 1, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < cap; i++) {
		struct pw_proc_val t;
		const struct pw_row *r = failure_row(a, i, &t);

		if (!r)
			continue;
		pw_comm_key(v[n].key, t.comm);
		v[n].err = r->key.err;
		v[n].family = r->key.family;
		v[n].count = t.count;
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_agg);
	*np = 0;
	for (size_t i = 0; i < n; i++) {
		if (*np && !cmp_agg(&v[*np - 1], &v[i]))
			v[*np - 1].count += v[i].count;
		else
			v[(*np)++] = v[i];
	}
	return v;
}

/* One name's failures (its run of the sorted totals): its place in the
 * competition for series. */
struct name_score {
	char key[PW_COMM_LEN + 1];	/* NUL-terminated */
	uint64_t eaddr, fails;
};

/* Most failures first (EADDRNOTAVAIL, then all), then by name. */
static int score_order(const struct name_score *x, const struct name_score *y)
{
	if (x->eaddr != y->eaddr)
		return x->eaddr > y->eaddr ? -1 : 1;
	if (x->fails != y->fails)
		return x->fails > y->fails ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int cmp_score_ptr(const void *a, const void *b)
{
	return score_order(*(const struct name_score *const *)a, *(const struct name_score *const *)b);
}

static int cmp_score(const void *a, const void *b)
{
	return score_order(a, b);
}

static const struct name_score *score_of(const struct name_score *ns, size_t n, const char *key)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = memcmp(ns[mid].key, key, PW_COMM_LEN);

		if (!c)
			return &ns[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool fails_more(const struct name_score *x, const struct name_score *y)
{
	return x->eaddr != y->eaddr ? x->eaddr > y->eaddr : x->fails > y->fails;
}

/* Names past PW_COMM_SLOTS that fail more than the tracked ones failing
 * least (and not shown) take their places. */
static void adopt_top(struct pw_accounts *a, struct name_score *ns, size_t n)
{
	struct name_score **out = calloc(n ? n : 1, sizeof(*out));
	struct name_score *ev = calloc(a->ncomms ? a->ncomms : 1, sizeof(*ev));
	size_t nout = 0, nev = 0, j;
	char other[PW_COMM_LEN];
	bool evicted = false;

	pw_comm_key(other, PW_OTHER_COMM);
	if (!out || !ev)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (memcmp(ns[i].key, other, PW_COMM_LEN) && !pw_accounts_comm_find(a, ns[i].key))
			out[nout++] = &ns[i];
	if (!nout)
		goto done;
	qsort(out, nout, sizeof(*out), cmp_score_ptr);
	for (size_t i = 0; i < a->ncomms; i++) {
		const struct pw_comm *c = &a->comms[i];
		const struct name_score *sc = score_of(ns, n, c->name);

		if (c->pinned || c->shown)
			continue;
		memcpy(ev[nev].key, c->name, PW_COMM_LEN);
		ev[nev].eaddr = sc ? sc->eaddr : 0;
		ev[nev].fails = sc ? sc->fails : 0;
		nev++;
	}
	/* the least first: the last of the descending order */
	qsort(ev, nev, sizeof(*ev), cmp_score);
	j = nev;
	for (size_t i = 0; i < nout; i++) {
		if (!pw_accounts_comm_adopt(a, out[i]->key)) {
			/* full: in place of the least, if this one fails more */
			if (!j || !fails_more(out[i], &ev[j - 1]))
				break;
			pw_accounts_comm_evict(a, pw_accounts_comm_find(a, ev[--j].key));
			evicted = true;
			pw_accounts_comm_adopt(a, out[i]->key);
		}
	}
	if (evicted)
		pw_accounts_comm_compact(a);
done:
	free(out);
	free(ev);
}

static uint64_t prev_count(const struct pw_accounts *a, const struct agg *g)
{
	const struct agg *p = a->comm_prev ? bsearch(g, a->comm_prev, a->ncomm_prev, sizeof(*g), cmp_agg)
				: NULL;

	return p ? p->count : 0;
}

static struct pw_comm_other *other_of(struct pw_accounts *a, uint16_t err, uint16_t family)
{
	struct pw_comm_other *o;

	for (size_t k = 0; k < a->ncother; k++)
		if (a->cother[k].err == err && a->cother[k].family == family)
			return &a->cother[k];
	if (a->ncother == a->cother_cap) {
		size_t cap = a->cother_cap ? a->cother_cap * 2 : 8;

		o = realloc(a->cother, cap * sizeof(*o));
		if (!o)
			return NULL;
		a->cother = o;
		a->cother_cap = cap;
	}
	o = &a->cother[a->ncother++];
	memset(o, 0, sizeof(*o));
	o->err = err;
	o->family = family;
	return o;
}

/* The series' values now (struct pw_comm_series): a shown name's grow by
 * its new failures, PW_OTHER_COMM's by every other new failure. */
static void comm_values(struct pw_accounts *a, const struct agg *g, size_t ng)
{
	for (size_t k = 0; k < a->ncother; k++)
		a->cother[k].total = a->cother[k].shown = 0;
	for (size_t i = 0; i < ng; i++) {
		struct pw_comm *c = pw_accounts_comm_find(a, g[i].key);
		struct pw_comm_other *o = other_of(a, g[i].err, g[i].family);
		struct pw_comm_series *s = NULL;
		uint64_t d;

		if (!o)
			continue;	/* out of memory: all in the next render */
		o->total += g[i].count;
		for (unsigned int k = 0; c && k < c->nseries && !s; k++)
			if (c->s[k].err == g[i].err && c->s[k].family == g[i].family)
				s = &c->s[k];
		if (c && !s && c->nseries < PW_COMM_SERIES) {
			s = &c->s[c->nseries++];
			s->err = g[i].err;
			s->family = g[i].family;
			s->own = pw_accounts_comm_floor(a, c->name, s->err, s->family);
			/* adopted now: what it failed by the last render was (other)'s */
			s->last = c->adopted ? prev_count(a, &g[i]) : 0;
		}
		if (!s)
			continue;
		d = g[i].count > s->last ? g[i].count - s->last : 0;
		s->last = g[i].count;
		if (c->shown) {
			s->own += d;
			o->shown += d;
		}
	}
	for (size_t k = 0; k < a->ncother; k++) {
		struct pw_comm_other *o = &a->cother[k];
		uint64_t fresh = o->total > o->last_total ? o->total - o->last_total : 0;

		o->value += fresh > o->shown ? fresh - o->shown : 0;
		if (o->total > o->last_total)
			o->last_total = o->total;
	}
	for (size_t i = 0; i < a->ncomms; i++)
		a->comms[i].adopted = false;
}

/* Shown: the pinned name, and the PW_MAX_COMMS top failers, held (pick_shown). */
static void comm_pick(struct pw_accounts *a, const struct name_score *ns, size_t n)
{
	struct contender *c = calloc(a->ncomms ? a->ncomms : 1, sizeof(*c));
	char (*names)[PW_COMM_LEN + 1] = calloc(a->ncomms ? a->ncomms : 1, sizeof(*names));
	size_t nc = 0;

	if (!c || !names)
		goto done;	/* the shown set stays as it was */
	for (size_t i = 0; i < a->ncomms; i++) {
		const struct name_score *sc = score_of(ns, n, a->comms[i].name);

		if (a->comms[i].pinned) {
			a->comms[i].shown = true;
			continue;
		}
		memcpy(names[nc], a->comms[i].name, PW_COMM_LEN);
		c[nc].labels = names[nc];
		c[nc].tgid = i;
		c[nc].eaddr = sc ? sc->eaddr : 0;
		c[nc].fails = sc ? sc->fails : 0;
		c[nc].was_shown = a->comms[i].shown;
		nc++;
	}
	pick_shown(c, nc, PW_MAX_COMMS);
	for (size_t k = 0; k < nc; k++)
		a->comms[c[k].tgid].shown = c[k].show;
done:
	free(c);
	free(names);
}

struct comm_line {
	char label[3 * PW_COMM_LEN + 1];
	uint16_t err, family;
	uint64_t value;
};

static int cmp_line(const void *a, const void *b)
{
	const struct comm_line *x = a, *y = b;
	int c = strcmp(x->label, y->label);

	if (c)
		return c;
	if (x->err != y->err)
		return x->err < y->err ? -1 : 1;
	return (x->family > y->family) - (x->family < y->family);
}

static void failures_by_comm(FILE *f, struct pw_accounts *a)
{
	struct name_score *ns = NULL;
	struct comm_line *l = NULL;
	size_t ng = 0, n = 0, nl = 0;
	struct agg *g = comm_totals(a, &ng);
	char ebuf[16];

	header(f, "portwatch_connect_failures_total", "counter",
	       "Failed connect() calls by command name, errno and address family.");
	if (!g || !(ns = calloc(ng ? ng : 1, sizeof(*ns))))
		goto done;
	for (size_t i = 0; i < ng; i++) {
		if (!n || memcmp(ns[n - 1].key, g[i].key, PW_COMM_LEN))
			memcpy(ns[n++].key, g[i].key, PW_COMM_LEN);
		ns[n - 1].fails += g[i].count;
		if (g[i].err == 99)
			ns[n - 1].eaddr += g[i].count;
	}
	adopt_top(a, ns, n);
	comm_pick(a, ns, n);
	comm_values(a, g, ng);
	l = calloc(a->ncomms * PW_COMM_SERIES + a->ncother + 1, sizeof(*l));
	if (!l)
		goto done;
	for (size_t i = 0; i < a->ncomms; i++) {
		const struct pw_comm *c = &a->comms[i];

		for (unsigned int k = 0; c->shown && k < c->nseries; k++) {
			label_text(l[nl].label, sizeof(l[nl].label), c->name);
			l[nl].err = c->s[k].err;
			l[nl].family = c->s[k].family;
			l[nl++].value = c->s[k].own;
		}
	}
	for (size_t k = 0; k < a->ncother; k++) {
		if (!a->cother[k].value)
			continue;
		label_text(l[nl].label, sizeof(l[nl].label), PW_OTHER_COMM);
		l[nl].err = a->cother[k].err;
		l[nl].family = a->cother[k].family;
		l[nl++].value = a->cother[k].value;
	}
	qsort(l, nl, sizeof(*l), cmp_line);
	for (size_t i = 0; i < nl; i++) {
		fprintf(f, "portwatch_connect_failures_total{comm=\"%s\",errno=\"%s\",family=\"%s\"",
			l[i].label, pw_errno_label(l[i].err, ebuf, sizeof(ebuf)),
			pw_family_name(PW_KEY_FAMILY(l[i].family)));
		label_op(f, PW_KEY_OP(l[i].family));
		fprintf(f, "} %llu\n", (unsigned long long)l[i].value);
	}
done:
	if (g) {
		free(a->comm_prev);
		a->comm_prev = g;
		a->ncomm_prev = ng;
	}
	free(l);
	free(ns);
}

/* Per-process series: processes alive or gone for less than 5 minutes, at
 * most max_pids of them: the top failers (pick_shown); the rest are counted,
 * not shown. Shown in pid order. */
static size_t failures_by_pid(FILE *f, const struct pw_metrics_input *in)
{
	struct pw_accounts *a = in->acc;
	struct pw_row **v = calloc(a->n ? a->n : 1, sizeof(*v));
	struct contender *c = calloc(a->n ? a->n : 1, sizeof(*c));
	size_t n = 0, nc = 0, dropped = 0;
	char ebuf[16];

	header(f, "portwatch_process_connect_failures_total", "counter",
	       "Failed connect() calls per process (live, or exited less than 5 minutes ago).");
	if (!v || !c) {
		free(v);
		free(c);
		return 0;
	}
	for (size_t i = 0; i < a->n; i++) {
		struct pw_row *r = &a->rows[i];

		if (r->key.err && (!r->exited_ns || in->now_ns - r->exited_ns < PW_EXPIRE_NS))
			v[n++] = r;
		else
			r->shown = false;
	}
	qsort(v, n, sizeof(*v), cmp_row_pid);
	for (size_t i = 0, j; i < n; i = j) {
		struct contender *p = &c[nc++];

		p->start = i;
		p->tgid = v[i]->key.tgid;
		for (j = i; j < n && v[j]->key.tgid == v[i]->key.tgid; j++) {
			struct pw_proc_val t;

			pw_row_total(v[j], &t);
			p->fails += t.count;
			if (v[j]->key.err == 99)
				p->eaddr += t.count;
			p->was_shown |= v[j]->shown;
		}
		p->end = j;
	}
	/* pid 0 (the unattributed rows, not a process) is always shown, and
	 * takes no place of --max-pids; c is in pid order */
	if (nc && !c[0].tgid) {
		c[0].show = true;
		dropped = pick_shown(c + 1, nc - 1, in->max_pids);
	} else {
		dropped = pick_shown(c, nc, in->max_pids);
	}
	for (size_t ci = 0; ci < nc; ci++) {
		/* rows of one pid: one series per errno, families summed */
		for (size_t j = c[ci].start, k; j < c[ci].end; j = k) {
			uint64_t sum = 0;
			struct pw_proc_val t;

			for (k = j; k < c[ci].end && row_series(v[k]) == row_series(v[j]); k++) {
				pw_row_total(v[k], &t);
				sum += t.count;
				v[k]->shown = c[ci].show;
			}
			if (!c[ci].show)
				continue;
			pw_row_total(v[j], &t);
			fprintf(f, "portwatch_process_connect_failures_total{pid=\"%u\",", v[j]->key.tgid);
			label_comm(f, t.comm);
			fprintf(f, ",errno=\"%s\"",
				pw_errno_label(v[j]->key.err, ebuf, sizeof(ebuf)));
			label_op(f, PW_KEY_OP(v[j]->key.family));
			fprintf(f, "} %llu\n", (unsigned long long)sum);
		}
	}
	free(v);
	free(c);
	return dropped;
}

static const int families[] = { AF_INET, AF_INET6 };

/* Per-workload series: failures by (namespace, pod, container, unit,
 * errno), from every row and folded row of that workload (so they only
 * grow), shown while one of its processes lives or exited less than 5
 * minutes ago, at most max_pids of them (the top failers, held as the
 * per-pid ones are); the rest are counted. Rows whose
 * cgroup is in no pod, container or unit are not in it (they are in the
 * per-comm series), nor are rows whose cgroup is not resolved yet. */
struct wagg {
	char *labels;		/* namespace="..",pod="..",container="..",unit=".." */
	uint16_t err;
	uint32_t series;	/* row_series(): op << 16 | errno */
	bool active;
	uint64_t count;
};

static int cmp_wagg(const void *a, const void *b)
{
	const struct wagg *x = a, *y = b;
	int c = strcmp(x->labels, y->labels);

	return c ? c : (x->series > y->series) - (x->series < y->series);
}

static void label_str(FILE *f, const char *name, const char *v, size_t n, bool comma)
{
	fprintf(f, "%s%s=\"", comma ? "," : "", name);
	if (v)
		pw_prom_label(f, v, n);
	fputc('"', f);
}

/* The labels of a workload, malloc()ed; NULL when it is none. */
static char *workload_labels(const struct pw_workload *w)
{
	const char *ns = NULL, *pod = NULL, *ctr = NULL, *unit = NULL;
	size_t ctr_n = 0, len = 0;
	char *buf = NULL;
	FILE *f;

	if (!w)
		return NULL;
	if (w->pod_uid[0]) {
		ns = w->pod_namespace;
		pod = w->pod_name ? w->pod_name : w->pod_uid;
	}
	if (w->container) {
		ctr = w->container;
		ctr_n = strlen(ctr);
	} else if (w->container_id) {
		ctr = w->container_id;
		ctr_n = strnlen(ctr, 12);
	}
	if (!pod && !ctr)
		unit = w->unit;
	if (!pod && !ctr && !unit)
		return NULL;
	f = open_memstream(&buf, &len);
	if (!f)
		return NULL;
	label_str(f, "namespace", ns, ns ? strlen(ns) : 0, false);
	label_str(f, "pod", pod, pod ? strlen(pod) : 0, true);
	label_str(f, "container", ctr, ctr_n, true);
	label_str(f, "unit", unit, unit ? strlen(unit) : 0, true);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

static uint64_t labels_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	while (*s)
		h = (h ^ (unsigned char)*s++) * 0x100000001b3ull;
	return h;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* The workloads shown now, for the next render (at most max_pids hashes;
 * on ENOMEM the old set stays, which only weakens the hold). */
static void remember_shown(struct pw_accounts *a, const struct contender *c, size_t nc)
{
	size_t n = 0;
	uint64_t *v = malloc((nc ? nc : 1) * sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < nc; i++)
		if (c[i].show)
			v[n++] = labels_hash(c[i].labels);
	qsort(v, n, sizeof(*v), cmp_u64);
	free(a->wl_shown);
	a->wl_shown = v;
	a->nwl_shown = n;
}

static size_t failures_by_workload(FILE *f, const struct pw_metrics_input *in)
{
	struct pw_accounts *a = in->acc;
	size_t n = 0, cap = a->n + a->nexpired, nc = 0, dropped = 0;
	struct contender *c;
	struct wagg *v;
	char ebuf[16];

	header(f, "portwatch_workload_connect_failures_total", "counter",
	       "Failed connect() calls per workload (Kubernetes namespace, pod and container, or "
	       "systemd unit) and errno.");
	if (!in->workload || !cap || !(v = calloc(cap, sizeof(*v))))
		return 0;
	for (size_t i = 0; i < cap; i++) {
		struct pw_proc_val t;
		const struct pw_row *r = failure_row(a, i, &t);

		if (!r)
			continue;
		if (!t.cgroup_id || !(v[n].labels = workload_labels(in->workload(in->workload_ctx,
										   t.cgroup_id))))
			continue;
		v[n].err = r->key.err;
		v[n].series = row_series(r);
		v[n].count = t.count;
		v[n].active = i < a->n && (!r->exited_ns || in->now_ns - r->exited_ns < PW_EXPIRE_NS);
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_wagg);
	/* one workload (label set) at a time, the active ones competing for
	 * max_pids series (the top failers, as per process) */
	c = calloc(n ? n : 1, sizeof(*c));
	for (size_t i = 0, j; c && i < n; i = j) {
		struct contender *w = &c[nc];
		bool active = false;

		memset(w, 0, sizeof(*w));
		w->start = i;
		w->labels = v[i].labels;
		for (j = i; j < n && !strcmp(v[i].labels, v[j].labels); j++) {
			active |= v[j].active;
			w->fails += v[j].count;
			if (v[j].err == 99)
				w->eaddr += v[j].count;
		}
		w->end = j;
		nc += active;
	}
	for (size_t ci = 0; ci < nc; ci++) {
		uint64_t h = labels_hash(c[ci].labels);

		c[ci].was_shown = a->nwl_shown &&
				  bsearch(&h, a->wl_shown, a->nwl_shown, sizeof(h), cmp_u64);
	}
	dropped = c ? pick_shown(c, nc, in->max_pids) : 0;
	remember_shown(a, c, nc);
	for (size_t ci = 0; ci < nc; ci++) {
		if (!c[ci].show)
			continue;
		/* one series per errno */
		for (size_t k = c[ci].start, m; k < c[ci].end; k = m) {
			uint64_t sum = 0;

			for (m = k; m < c[ci].end && v[m].series == v[k].series; m++)
				sum += v[m].count;
			fprintf(f, "portwatch_workload_connect_failures_total{%s,errno=\"%s\"",
				v[k].labels, pw_errno_label(v[k].err, ebuf, sizeof(ebuf)));
			label_op(f, v[k].series >> 16);
			fprintf(f, "} %llu\n", (unsigned long long)sum);
		}
	}
	free(c);
	for (size_t i = 0; i < n; i++)
		free(v[i].labels);
	free(v);
	return dropped;
}

static void attempts_and_scans(FILE *f, const struct pw_accounts *a)
{
	uint64_t att[2] = {}, scans[2][PW_SCAN_RESULTS] = {};
	size_t total = a->n + a->nexpired;

	for (size_t i = 0; i < total; i++) {
		const struct pw_row *r = i < a->n ? &a->rows[i] : &a->expired[i - a->n];
		int fi = r->key.family == AF_INET6;
		struct pw_proc_val t;

		if (PW_KEY_OP(r->key.family) != PW_OP_CONNECT)
			continue;	/* not a connect() */

		pw_row_total(r, &t);
		att[fi] += t.count;
		if (r->key.err == 0)
			scans[fi][PW_SCAN_OK] += t.scans;
		else if (r->key.err == 99)
			scans[fi][PW_SCAN_EXHAUSTED] += t.scans;
	}
	header(f, "portwatch_connect_attempts_total", "counter",
	       "connect() calls traced, by address family.");
	for (int i = 0; i < 2; i++)
		fprintf(f, "portwatch_connect_attempts_total{family=\"%s\"} %llu\n",
			pw_family_name(families[i]), (unsigned long long)att[i]);
	header(f, "portwatch_port_scans_total", "counter",
	       "Ephemeral port selections, by address family and result.");
	for (int i = 0; i < 2; i++) {
		fprintf(f, "portwatch_port_scans_total{family=\"%s\",result=\"ok\"} %llu\n",
			pw_family_name(families[i]), (unsigned long long)scans[i][PW_SCAN_OK]);
		fprintf(f, "portwatch_port_scans_total{family=\"%s\",result=\"exhausted\"} %llu\n",
			pw_family_name(families[i]), (unsigned long long)scans[i][PW_SCAN_EXHAUSTED]);
	}
}

static void scan_duration(FILE *f, const struct pw_metrics_input *in)
{
	static const char *const results[PW_SCAN_RESULTS] = { "ok", "exhausted" };
	const struct pw_accounts *a = in->acc;
	uint64_t sum_ns[PW_SCAN_RESULTS] = {};
	size_t total = a->n + a->nexpired;

	for (size_t i = 0; i < total; i++) {
		const struct pw_row *r = i < a->n ? &a->rows[i] : &a->expired[i - a->n];
		struct pw_proc_val t;

		pw_row_total(r, &t);
		if (r->key.err == 0)
			sum_ns[PW_SCAN_OK] += t.scan_ns;
		else if (r->key.err == 99)
			sum_ns[PW_SCAN_EXHAUSTED] += t.scan_ns;
	}
	header(f, "portwatch_port_scan_duration_seconds", "histogram",
	       "Time in ephemeral port selection (timed scans only), by result.");
	for (int res = 0; res < PW_SCAN_RESULTS; res++) {
		uint64_t cum = 0;
		int b = 0;

		for (; b <= SCAN_B_MAX; b++) {
			cum += in->scan_hist[res][b];
			if (b >= SCAN_B_MIN)
				fprintf(f, "portwatch_port_scan_duration_seconds_bucket{result=\"%s\",le=\"%.10g\"} %llu\n",
					results[res], (double)(1ull << b) / 1e9, (unsigned long long)cum);
		}
		for (; b < PW_HIST_SLOTS; b++)
			cum += in->scan_hist[res][b];
		fprintf(f, "portwatch_port_scan_duration_seconds_bucket{result=\"%s\",le=\"+Inf\"} %llu\n",
			results[res], (unsigned long long)cum);
		fprintf(f, "portwatch_port_scan_duration_seconds_sum{result=\"%s\"} %.9f\n",
			results[res], sum_ns[res] / 1e9);
		fprintf(f, "portwatch_port_scan_duration_seconds_count{result=\"%s\"} %llu\n",
			results[res], (unsigned long long)cum);
	}
}

static void ports_checked(FILE *f, const struct pw_metrics_input *in)
{
	uint64_t cum = 0;
	int b = 0;

	header(f, "portwatch_ports_checked", "histogram",
	       "Ports checked per port selection (with --scan-depth).");
	for (; b <= PORTS_B_MAX; b++) {
		cum += in->ports_hist[b];
		fprintf(f, "portwatch_ports_checked_bucket{le=\"%llu\"} %llu\n",
			1ull << b, (unsigned long long)cum);
	}
	for (; b < PW_HIST_SLOTS; b++)
		cum += in->ports_hist[b];
	fprintf(f, "portwatch_ports_checked_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	fprintf(f, "portwatch_ports_checked_sum %llu\n", (unsigned long long)in->ports_sum);
	fprintf(f, "portwatch_ports_checked_count %llu\n", (unsigned long long)cum);
}

/* From the last periodic census: the most used destinations (at most 20,
 * so the series stay few). */
static void pressure_gauges(FILE *f, const struct pw_metrics_input *in)
{
	char addr[64];

	header(f, "portwatch_ephemeral_ports_in_use", "gauge",
	       "Local ports held towards a destination (top 20 by usage, last census).");
	for (size_t i = 0; i < in->ntop; i++) {
		pw_addr_text(addr, sizeof(addr), in->top[i].family, in->top[i].daddr);
		fprintf(f, "portwatch_ephemeral_ports_in_use{daddr=\"%s\",dport=\"%u\"} %u\n",
			addr, in->top[i].dport, in->top[i].held);
	}
	header(f, "portwatch_ephemeral_port_usage_ratio", "gauge",
	       "Share of the usable ephemeral range held towards a destination (top 20).");
	for (size_t i = 0; i < in->ntop; i++) {
		pw_addr_text(addr, sizeof(addr), in->top[i].family, in->top[i].daddr);
		fprintf(f, "portwatch_ephemeral_port_usage_ratio{daddr=\"%s\",dport=\"%u\"} %.6g\n",
			addr, in->top[i].dport, in->top[i].usage);
	}
}

static void counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	header(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

/* Runs of portwatch's programs the kernel skipped, per program kind; and
 * whether the attach mode can be skipped on this kernel at all. */
static void missed_runs(FILE *f, const struct pw_metrics_input *in)
{
	static const char *const kinds[PW_MISS_KINDS] = {
		[PW_MISS_FENTRY] = "fentry",
		[PW_MISS_KPROBE] = "kprobe",
		[PW_MISS_KRETPROBE_MAXACTIVE] = "kretprobe_maxactive",
		[PW_MISS_TRACEPOINT] = "tracepoint",
	};

	header(f, "portwatch_bpf_program_missed_runs_total", "counter",
	       "Runs of portwatch's BPF programs the kernel skipped, by program kind: the program "
	       "was already running on that CPU (a preempted fentry or tracepoint program, or for "
	       "kprobe another BPF program or a bpf() map syscall on that CPU), or no kretprobe "
	       "instance was free (maxactive). Each may be a connect() outcome not counted: the "
	       "true failure counts lie between the counted ones and the counted ones plus this. "
	       "0 means the counts are exact.");
	for (int k = 0; k < PW_MISS_KINDS; k++)
		if (in->missed_runs[k] >= 0)
			fprintf(f, "portwatch_bpf_program_missed_runs_total{kind=\"%s\"} %lld\n",
				kinds[k], in->missed_runs[k]);
	if (!in->preempt_model)
		return;
	header(f, "portwatch_exact_under_contention", "gauge",
	       "1 if the attach mode's programs cannot be skipped when a task is preempted inside "
	       "one on this kernel; 0 on a preemptible kernel (model label) in fentry or "
	       "tracepoint mode, where --mode=kprobe is exact, and in kprobe mode there when "
	       "portwatch's own map reads run without the SCHED_FIFO guard.");
	fprintf(f, "portwatch_exact_under_contention{preempt_model=\"%s\"} %d\n", in->preempt_model,
		in->exact_under_contention ? 1 : 0);
}

size_t pw_metrics_render(FILE *f, const struct pw_metrics_input *in)
{
	size_t dropped;

	attempts_and_scans(f, in->acc);
	failures_by_comm(f, in->acc);
	dropped = failures_by_pid(f, in);
	header(f, "portwatch_process_series_dropped", "gauge",
	       "Processes with failures left out of the per-process series (over --max-pids).");
	fprintf(f, "portwatch_process_series_dropped %zu\n", dropped);
	if (in->workload) {
		size_t wdropped = failures_by_workload(f, in);

		header(f, "portwatch_workload_series_dropped", "gauge",
		       "Workloads with failures left out of the per-workload series (over --max-pids).");
		fprintf(f, "portwatch_workload_series_dropped %zu\n", wdropped);
	}
	scan_duration(f, in);
	if (in->scan_depth)
		ports_checked(f, in);
	if (in->range_size >= 0) {
		header(f, "portwatch_local_port_range_size", "gauge",
		       "Ports in net.ipv4.ip_local_port_range of the node's network namespace "
		       "(labelled netns: portwatch's own, when the node's is not reachable).");
		if (in->range_netns)
			fprintf(f, "portwatch_local_port_range_size{netns=\"%llu\"} %ld\n",
				(unsigned long long)in->range_netns, in->range_size);
		else
			fprintf(f, "portwatch_local_port_range_size %ld\n", in->range_size);
	}
	pressure_gauges(f, in);
	counter(f, "portwatch_census_netns_skipped_total",
		"Network namespaces the census found but could not read (setns needs CAP_SYS_ADMIN) "
		"or left out (over 256).", in->census_netns_skipped);
	counter(f, "portwatch_census_processes_skipped_total",
		"Processes whose network namespace the census could not open (needs CAP_SYS_PTRACE).",
		in->census_processes_skipped);
	counter(f, "portwatch_events_lost_total",
		"Events dropped because the ring buffer was full (counts stay exact).", in->events_lost);
	counter(f, "portwatch_counts_dropped_total",
		"connect() outcomes not counted: the kernel per-process map was full and their "
		"events were lost (ring buffer full) or found the queue of event counts full.",
		in->counts_dropped);
	counter(f, "portwatch_untraced_connects_total",
		"connect() calls not traced: the kernel per-thread state map was full.", in->untraced);
	counter(f, "portwatch_counted_from_events_total",
		"connect() outcomes counted from their events: the kernel per-process map was full "
		"(counts stay exact).", in->counted_from_events);
	counter(f, "portwatch_unmatched_outcomes_total",
		"connect() outcomes whose start state was evicted by newer connects (or began "
		"before the attach): not counted.", in->unmatched);
	counter(f, "portwatch_unattributed_outcomes_total",
		"connect() outcomes other than EADDRNOTAVAIL counted without their process (no "
		"room kept for new per-process keys): in the pid 0 \"(unattributed)\" rows.",
		in->unattributed);
	missed_runs(f, in);
	header(f, "portwatch_build_info", "gauge", "portwatch build and attach mode.");
	fprintf(f, "portwatch_build_info{version=\"%s\",libbpf_version=\"%s\",mode=\"%s\"} 1\n",
		in->version, in->libbpf_version, in->mode);
	return dropped;
}
