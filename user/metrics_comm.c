// SPDX-License-Identifier: GPL-2.0
/* The per-comm collector: portwatch_connect_failures_total by command name,
 * the top failing names (PW_MAX_COMMS) and (other) for the rest. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "metrics_internal.h"
#include "util.h"

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

/* ---- the memory of the tracked names' series ---- */

static int cmp_state(const void *a, const void *b)
{
	return memcmp(((const struct pw_comm_state *)a)->key, ((const struct pw_comm_state *)b)->key,
		      PW_COMM_LEN);
}

/* The series of the tracked name key; NULL when it has none (yet). */
static struct pw_comm_state *state_of(const struct pw_comm_memory *m, const char *key)
{
	struct pw_comm_state probe;

	if (!m->nnames)
		return NULL;
	memcpy(probe.key, key, PW_COMM_LEN);
	return bsearch(&probe, m->names, m->nnames, sizeof(probe), cmp_state);
}

/* The floors are not a hash table but a lossy one of PW_COMM_FLOORS values
 * with no keys: a series shares its slot with every one that collides and
 * the slot keeps the largest value, so a name coming back never starts below
 * what it showed (pw_htab, keyed and bounded by probes, would refuse or
 * forget a series instead). */
static size_t floor_slot(const char *name, uint16_t err, uint16_t family)
{
	uint64_t h = pw_comm_hash(name) ^ ((uint64_t)err << 16 | family) * PW_GOLDEN64;

	return (h ^ h >> 29) & (PW_COMM_FLOORS - 1);
}

/* A name no longer tracked: its series' values go to the floors (a name
 * that comes back starts there) and to evicted_own. */
static void retire_state(struct pw_comm_memory *m, const struct pw_comm_state *st)
{
	if (!st || !st->nseries)
		return;
	if (!m->floors)
		m->floors = calloc(PW_COMM_FLOORS, sizeof(*m->floors));
	for (unsigned int k = 0; k < st->nseries; k++) {
		uint64_t *f = m->floors ? &m->floors[floor_slot(st->key, st->s[k].err,
								   st->s[k].family)] : NULL;

		if (f && st->s[k].own > *f)
			*f = st->s[k].own;
		m->evicted_own += st->s[k].own;
	}
}

/* The memory follows the tracked set: a state per tracked name (a new one
 * zeroed, marked adopted when this render adopted it), none for the names
 * no longer tracked. -ENOMEM: the memory stays as it was. */
static int follow_tracked(struct pw_comm_memory *m, const struct pw_accounts *a,
			  const char (*adopted)[PW_COMM_LEN], size_t nadopted)
{
	struct pw_comm_state *v = calloc(a->ncomms ? a->ncomms : 1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < a->ncomms; i++) {
		const struct pw_comm_state *old = state_of(m, a->comms[i].name);

		if (old)
			v[i] = *old;
		else
			memcpy(v[i].key, a->comms[i].name, PW_COMM_LEN);
		v[i].pinned = a->comms[i].pinned;
	}
	qsort(v, a->ncomms, sizeof(*v), cmp_state);
	free(m->names);
	m->names = v;
	m->nnames = a->ncomms;
	for (size_t k = 0; k < nadopted; k++) {
		struct pw_comm_state *st = state_of(m, adopted[k]);

		if (st)
			st->adopted = true;
	}
	return 0;
}

bool pw_metrics_comm_shown(const struct pw_metrics_memory *m, const char *comm)
{
	char key[PW_COMM_LEN];
	const struct pw_comm_state *st;

	pw_comm_key(key, comm);
	st = state_of(&m->comm, key);
	return st && st->shown;
}

/* ---- the competition for series ---- */

/* The tracked names that may give their place (not pinned, not shown), with
 * their scores, the least last. */
static struct name_score *evictable(const struct pw_accounts *a, const struct pw_comm_memory *m,
				    const struct name_score *ns, size_t n, size_t *nev)
{
	struct name_score *ev = calloc(a->ncomms ? a->ncomms : 1, sizeof(*ev));

	*nev = 0;
	if (!ev)
		return NULL;
	for (size_t i = 0; i < a->ncomms; i++) {
		const struct pw_comm *c = &a->comms[i];
		const struct pw_comm_state *st = state_of(m, c->name);
		const struct name_score *sc = score_of(ns, n, c->name);

		if (c->pinned || (st && st->shown))
			continue;
		memcpy(ev[*nev].key, c->name, PW_COMM_LEN);
		ev[*nev].eaddr = sc ? sc->eaddr : 0;
		ev[*nev].fails = sc ? sc->fails : 0;
		(*nev)++;
	}
	qsort(ev, *nev, sizeof(*ev), cmp_score);
	return ev;
}

/* Names past PW_COMM_SLOTS that fail more than the tracked ones failing
 * least (and not shown) take their places; the names adopted go to
 * adopted (n of them at most), their count returned. */
static size_t adopt_top(struct pw_accounts *a, struct pw_comm_memory *m, struct name_score *ns,
			size_t n, char (*adopted)[PW_COMM_LEN])
{
	struct name_score **out = calloc(n ? n : 1, sizeof(*out));
	struct name_score *ev = NULL;
	size_t nout = 0, nev = 0, nadopted = 0, j;
	char other[PW_COMM_LEN];
	bool evicted = false;

	pw_comm_key(other, PW_OTHER_COMM);
	if (!out)
		goto done;
	for (size_t i = 0; i < n; i++)
		if (memcmp(ns[i].key, other, PW_COMM_LEN) && !pw_accounts_comm_find(a, ns[i].key))
			out[nout++] = &ns[i];
	if (!nout || !(ev = evictable(a, m, ns, n, &nev)))
		goto done;
	qsort(out, nout, sizeof(*out), cmp_score_ptr);
	/* the least first: the last of the descending order */
	j = nev;
	for (size_t i = 0; i < nout; i++) {
		if (!pw_accounts_comm_adopt(a, out[i]->key)) {
			/* full: in place of the least, if this one fails more */
			if (!j || !fails_more(out[i], &ev[j - 1]))
				break;
			retire_state(m, state_of(m, ev[--j].key));
			pw_accounts_comm_evict(a, pw_accounts_comm_find(a, ev[j].key));
			evicted = true;
			pw_accounts_comm_adopt(a, out[i]->key);
		}
		memcpy(adopted[nadopted++], out[i]->key, PW_COMM_LEN);
	}
	if (evicted)
		pw_accounts_comm_compact(a);
done:
	free(out);
	free(ev);
	return nadopted;
}

static uint64_t prev_count(const struct pw_comm_memory *m, const struct agg *g)
{
	const struct agg *p = m->prev ? bsearch(g, m->prev, m->nprev, sizeof(*g), cmp_agg) : NULL;

	return p ? p->count : 0;
}

static struct pw_comm_other *other_of(struct pw_comm_memory *m, uint16_t err, uint16_t family)
{
	struct pw_comm_other *o;

	for (size_t k = 0; k < m->nother; k++)
		if (m->other[k].err == err && m->other[k].family == family)
			return &m->other[k];
	if (m->nother == m->other_cap) {
		size_t cap = m->other_cap ? m->other_cap * 2 : 8;

		o = realloc(m->other, cap * sizeof(*o));
		if (!o)
			return NULL;
		m->other = o;
		m->other_cap = cap;
	}
	o = &m->other[m->nother++];
	memset(o, 0, sizeof(*o));
	o->err = err;
	o->family = family;
	return o;
}

/* The series of st for (err, family), made if there is room: it starts at
 * the floor, and for a name adopted now after the failures (other) had. */
static struct pw_comm_series *series_of(struct pw_comm_memory *m, struct pw_comm_state *st,
					const struct agg *g)
{
	struct pw_comm_series *s;

	for (unsigned int k = 0; k < st->nseries; k++)
		if (st->s[k].err == g->err && st->s[k].family == g->family)
			return &st->s[k];
	if (st->nseries >= PW_COMM_SERIES)
		return NULL;
	s = &st->s[st->nseries++];
	s->err = g->err;
	s->family = g->family;
	s->own = m->floors ? m->floors[floor_slot(st->key, s->err, s->family)] : 0;
	/* adopted now: what it failed by the last render was (other)'s */
	s->last = st->adopted ? prev_count(m, g) : 0;
	return s;
}

/* The series' values now (struct pw_comm_series): a shown name's grow by
 * its new failures, PW_OTHER_COMM's by every other new failure. */
static void comm_values(struct pw_comm_memory *m, const struct agg *g, size_t ng)
{
	for (size_t k = 0; k < m->nother; k++)
		m->other[k].total = m->other[k].shown = 0;
	for (size_t i = 0; i < ng; i++) {
		struct pw_comm_state *st = state_of(m, g[i].key);
		struct pw_comm_other *o = other_of(m, g[i].err, g[i].family);
		struct pw_comm_series *s;
		uint64_t d;

		if (!o)
			continue;	/* out of memory: all in the next render */
		o->total += g[i].count;
		if (!st || !(s = series_of(m, st, &g[i])))
			continue;
		d = g[i].count > s->last ? g[i].count - s->last : 0;
		s->last = g[i].count;
		if (st->shown) {
			s->own += d;
			o->shown += d;
		}
	}
	for (size_t k = 0; k < m->nother; k++) {
		struct pw_comm_other *o = &m->other[k];
		uint64_t fresh = o->total > o->last_total ? o->total - o->last_total : 0;

		o->value += fresh > o->shown ? fresh - o->shown : 0;
		if (o->total > o->last_total)
			o->last_total = o->total;
	}
	for (size_t i = 0; i < m->nnames; i++)
		m->names[i].adopted = false;
}

/* Shown: the pinned name, and the PW_MAX_COMMS top failers, held
 * (pw_contenders_pick). */
static void comm_pick(struct pw_comm_memory *m, const struct name_score *ns, size_t n)
{
	struct pw_contender *c = calloc(m->nnames ? m->nnames : 1, sizeof(*c));
	char (*names)[PW_COMM_LEN + 1] = calloc(m->nnames ? m->nnames : 1, sizeof(*names));
	size_t nc = 0;

	if (!c || !names)
		goto done;	/* the shown set stays as it was */
	for (size_t i = 0; i < m->nnames; i++) {
		struct pw_comm_state *st = &m->names[i];
		const struct name_score *sc = score_of(ns, n, st->key);

		if (st->pinned) {
			st->shown = true;
			continue;
		}
		memcpy(names[nc], st->key, PW_COMM_LEN);
		c[nc].labels = names[nc];
		c[nc].tgid = i;
		c[nc].eaddr = sc ? sc->eaddr : 0;
		c[nc].fails = sc ? sc->fails : 0;
		c[nc].was_shown = st->shown;
		nc++;
	}
	pw_contenders_pick(c, nc, PW_MAX_COMMS);
	for (size_t k = 0; k < nc; k++)
		m->names[c[k].tgid].shown = c[k].show;
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

/* The shown names' series and (other)'s, in label order. */
static void comm_lines(FILE *f, const struct pw_comm_memory *m)
{
	struct comm_line *l = calloc(m->nnames * PW_COMM_SERIES + m->nother + 1, sizeof(*l));
	size_t nl = 0;
	char ebuf[16];

	if (!l)
		return;
	for (size_t i = 0; i < m->nnames; i++) {
		const struct pw_comm_state *st = &m->names[i];

		for (unsigned int k = 0; st->shown && k < st->nseries; k++) {
			label_text(l[nl].label, sizeof(l[nl].label), st->key);
			l[nl].err = st->s[k].err;
			l[nl].family = st->s[k].family;
			l[nl++].value = st->s[k].own;
		}
	}
	for (size_t k = 0; k < m->nother; k++) {
		if (!m->other[k].value)
			continue;
		label_text(l[nl].label, sizeof(l[nl].label), PW_OTHER_COMM);
		l[nl].err = m->other[k].err;
		l[nl].family = m->other[k].family;
		l[nl++].value = m->other[k].value;
	}
	qsort(l, nl, sizeof(*l), cmp_line);
	for (size_t i = 0; i < nl; i++) {
		/* family: the key's, with the op in its high byte */
		fprintf(f, "portwatch_connect_failures_total{comm=\"%s\",errno=\"%s\",family=\"%s\"",
			l[i].label, pw_errno_label(l[i].err, ebuf, sizeof(ebuf)),
			pw_family_name(PW_KEY_FAMILY(l[i].family)));
		pw_prom_label_op(f, PW_KEY_OP(l[i].family));
		fprintf(f, "} %llu\n", (unsigned long long)l[i].value);
	}
	free(l);
}

void pw_collect_comms(FILE *f, struct pw_accounts *a, struct pw_comm_memory *m)
{
	struct name_score *ns = NULL;
	char (*adopted)[PW_COMM_LEN] = NULL;
	size_t ng = 0, n = 0, nadopted;
	struct agg *g = comm_totals(a, &ng);

	pw_prom_header(f, "portwatch_connect_failures_total", "counter",
		       "Failed connect() calls by command name, errno and address family.");
	if (!g || !(ns = calloc(ng ? ng : 1, sizeof(*ns))) ||
	    !(adopted = calloc(ng ? ng : 1, sizeof(*adopted))))
		goto done;
	for (size_t i = 0; i < ng; i++) {
		if (!n || memcmp(ns[n - 1].key, g[i].key, PW_COMM_LEN))
			memcpy(ns[n++].key, g[i].key, PW_COMM_LEN);
		ns[n - 1].fails += g[i].count;
		if (g[i].err == EADDRNOTAVAIL)
			ns[n - 1].eaddr += g[i].count;
	}
	nadopted = adopt_top(a, m, ns, n, adopted);
	if (follow_tracked(m, a, adopted, nadopted))
		goto done;
	comm_pick(m, ns, n);
	comm_values(m, g, ng);
	comm_lines(f, m);
done:
	if (g) {
		free(m->prev);
		m->prev = g;
		m->nprev = ng;
	}
	free(adopted);
	free(ns);
}
