// SPDX-License-Identifier: GPL-2.0
/* The per-comm collector: portwatch_connect_failures_total by command name,
 * the top failing names (PW_MAX_COMMS) and (other) for the rest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "metrics_internal.h"

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

/* The failure totals per (name, errno, family), sorted; NULL on ENOMEM. */
static struct agg *comm_totals(const struct pw_accounts *a, size_t *np)
{
	size_t n = 0, cap = a->n + a->nexpired;
	struct agg *v = calloc(cap ? cap : 1, sizeof(*v));

	if (!v)
		return NULL;
	for (size_t i = 0; i < cap; i++) {
		struct pw_proc_val t;
		const struct pw_row *r = pw_failure_row(a, i, &t);

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
	struct pw_contender *c = calloc(a->ncomms ? a->ncomms : 1, sizeof(*c));
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
	pw_contenders_pick(c, nc, PW_MAX_COMMS);
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

void pw_collect_comms(FILE *f, struct pw_accounts *a)
{
	struct name_score *ns = NULL;
	struct comm_line *l = NULL;
	size_t ng = 0, n = 0, nl = 0;
	struct agg *g = comm_totals(a, &ng);
	char ebuf[16];

	pw_prom_header(f, "portwatch_connect_failures_total", "counter",
		       "Failed connect() calls by command name, errno and address family.");
	if (!g || !(ns = calloc(ng ? ng : 1, sizeof(*ns))))
		goto done;
	for (size_t i = 0; i < ng; i++) {
		if (!n || memcmp(ns[n - 1].key, g[i].key, PW_COMM_LEN))
			memcpy(ns[n++].key, g[i].key, PW_COMM_LEN);
		ns[n - 1].fails += g[i].count;
		if (g[i].err == EADDRNOTAVAIL)
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
	for (size_t i = 0; i < nl; i++)
		fprintf(f, "portwatch_connect_failures_total{comm=\"%s\",errno=\"%s\",family=\"%s\"} %llu\n",
			l[i].label, pw_errno_label(l[i].err, ebuf, sizeof(ebuf)),
			pw_family_name(l[i].family), (unsigned long long)l[i].value);
done:
	if (g) {
		free(a->comm_prev);
		a->comm_prev = g;
		a->ncomm_prev = ng;
	}
	free(l);
	free(ns);
}
