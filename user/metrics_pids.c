// SPDX-License-Identifier: GPL-2.0
/* The per-process collector: portwatch_process_connect_failures_total, at
 * most --max-pids processes (the top failers). */
#include <errno.h>
#include <stdlib.h>
#include "metrics_internal.h"

static int cmp_row_pid(const void *a, const void *b)
{
	const struct pw_row *x = *(const struct pw_row *const *)a;
	const struct pw_row *y = *(const struct pw_row *const *)b;

	uint32_t xs = pw_row_series(x), ys = pw_row_series(y);

	if (x->key.tgid != y->key.tgid)
		return x->key.tgid < y->key.tgid ? -1 : 1;
	return (xs > ys) - (xs < ys);
}

/* One contender per process of v (sorted by pid), was_shown if one of its
 * rows was shown at the last scrape; returns how many. */
static size_t pid_contenders(const struct pw_row **v, size_t n, const struct pw_metrics_memory *m,
			     struct pw_contender *c)
{
	size_t nc = 0;

	for (size_t i = 0, j; i < n; i = j) {
		struct pw_contender *p = &c[nc++];

		p->start = i;
		p->tgid = v[i]->key.tgid;
		for (j = i; j < n && v[j]->key.tgid == v[i]->key.tgid; j++) {
			struct pw_proc_val t;

			pw_row_total(v[j], &t);
			p->fails += t.count;
			if (v[j]->key.err == EADDRNOTAVAIL)
				p->eaddr += t.count;
			p->was_shown |= m->nrows_shown && bsearch(&v[j]->id, m->rows_shown, m->nrows_shown,
								    sizeof(m->rows_shown[0]), pw_cmp_u64);
		}
		p->end = j;
	}
	return nc;
}

/* The series of process p if shown (one per op and errno, families summed); its
 * rows' ids into shown (*nshown). */
static void pid_series(FILE *f, const struct pw_row **v, const struct pw_contender *p,
		       uint64_t *shown, size_t *nshown)
{
	char ebuf[16];

	for (size_t j = p->start, k; j < p->end; j = k) {
		uint64_t sum = 0;
		struct pw_proc_val t;

		for (k = j; k < p->end && pw_row_series(v[k]) == pw_row_series(v[j]); k++) {
			pw_row_total(v[k], &t);
			sum += t.count;
			if (p->show)
				shown[(*nshown)++] = v[k]->id;
		}
		if (!p->show)
			continue;
		pw_row_total(v[j], &t);
		fprintf(f, "portwatch_process_connect_failures_total{pid=\"%u\",", v[j]->key.tgid);
		pw_prom_label_comm(f, t.comm);
		fprintf(f, ",errno=\"%s\"", pw_errno_label(v[j]->key.err, ebuf, sizeof(ebuf)));
		pw_prom_label_op(f, PW_KEY_OP(v[j]->key.family));
		fprintf(f, "} %llu\n", (unsigned long long)sum);
	}
}

/* Per-process series: processes alive or gone for less than 5 minutes, at
 * most max_pids of them: the top failers (pw_contenders_pick); the rest are
 * counted, not shown. Shown in pid order. */
size_t pw_collect_pids(FILE *f, const struct pw_metrics_input *in)
{
	const struct pw_accounts *a = in->acc;
	struct pw_metrics_memory *m = in->memory;
	const struct pw_row **v = calloc(a->n ? a->n : 1, sizeof(*v));
	struct pw_contender *c = calloc(a->n ? a->n : 1, sizeof(*c));
	uint64_t *shown = malloc((a->n ? a->n : 1) * sizeof(*shown));
	size_t n = 0, nc, nshown = 0, dropped;

	pw_prom_header(f, "portwatch_process_connect_failures_total", "counter",
		       "Failed connect() calls per process (live, or exited less than 5 minutes ago).");
	if (!v || !c || !shown) {
		free(v);
		free(c);
		free(shown);
		return 0;	/* the shown set stays as it was */
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct pw_row *r = &a->rows[i];

		if (r->key.err && (!r->exited_ns || in->now_ns - r->exited_ns < PW_EXPIRE_NS))
			v[n++] = r;
	}
	qsort(v, n, sizeof(*v), cmp_row_pid);
	nc = pid_contenders(v, n, m, c);
	/* pid 0 (the unattributed rows, not a process) is always shown, and
	 * takes no place of --max-pids; c is in pid order */
	if (nc && !c[0].tgid) {
		c[0].show = true;
		dropped = pw_contenders_pick(c + 1, nc - 1, in->max_pids);
	} else {
		dropped = pw_contenders_pick(c, nc, in->max_pids);
	}
	for (size_t ci = 0; ci < nc; ci++)
		pid_series(f, v, &c[ci], shown, &nshown);
	/* rows of processes shown now: held at the next scrape */
	qsort(shown, nshown, sizeof(*shown), pw_cmp_u64);
	free(m->rows_shown);
	m->rows_shown = shown;
	m->nrows_shown = nshown;
	free(v);
	free(c);
	return dropped;
}
