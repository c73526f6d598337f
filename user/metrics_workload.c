// SPDX-License-Identifier: GPL-2.0
/* The per-workload collector: portwatch_workload_connect_failures_total by
 * Kubernetes namespace, pod and container, or systemd unit. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "metrics_internal.h"
#include "util.h"

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
	uint32_t series;	/* pw_row_series(): op << 16 | errno */
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

char *pw_workload_labels(const struct pw_workload *w)
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

/* The workloads shown now, for the next render (at most max_pids hashes;
 * on ENOMEM the old set stays, which only weakens the hold). */
static void remember_shown(struct pw_metrics_memory *m, const struct pw_contender *c, size_t nc)
{
	size_t n = 0;
	uint64_t *v = malloc((nc ? nc : 1) * sizeof(*v));

	if (!v)
		return;
	for (size_t i = 0; i < nc; i++)
		if (c[i].show)
			v[n++] = pw_fnv1a_str(PW_FNV1A_INIT, c[i].labels);
	qsort(v, n, sizeof(*v), pw_cmp_u64);
	free(m->wl_shown);
	m->wl_shown = v;
	m->nwl_shown = n;
}

/* One workload (label set) at a time of v (sorted), the active ones
 * competing for max_pids series (the top failers, as per process): their
 * contenders into c, was_shown if shown at the last scrape; returns how many. */
static size_t workload_contenders(const struct wagg *v, size_t n, const struct pw_metrics_memory *m,
				  struct pw_contender *c)
{
	size_t nc = 0;

	for (size_t i = 0, j; i < n; i = j) {
		struct pw_contender *w = &c[nc];
		bool active = false;

		memset(w, 0, sizeof(*w));
		w->start = i;
		w->labels = v[i].labels;
		for (j = i; j < n && !strcmp(v[i].labels, v[j].labels); j++) {
			active |= v[j].active;
			w->fails += v[j].count;
			if (v[j].err == EADDRNOTAVAIL)
				w->eaddr += v[j].count;
		}
		w->end = j;
		nc += active;
	}
	for (size_t ci = 0; ci < nc; ci++) {
		uint64_t h = pw_fnv1a_str(PW_FNV1A_INIT, c[ci].labels);

		c[ci].was_shown = m->nwl_shown &&
				  bsearch(&h, m->wl_shown, m->nwl_shown, sizeof(h), pw_cmp_u64);
	}
	return nc;
}

/* A shown workload's series: one per op and errno. */
static void workload_series(FILE *f, const struct wagg *v, const struct pw_contender *w)
{
	char ebuf[16];

	for (size_t k = w->start, m; k < w->end; k = m) {
		uint64_t sum = 0;

		for (m = k; m < w->end && v[m].series == v[k].series; m++)
			sum += v[m].count;
		fprintf(f, "portwatch_workload_connect_failures_total{%s,errno=\"%s\"",
			v[k].labels, pw_errno_label(v[k].err, ebuf, sizeof(ebuf)));
		pw_prom_label_op(f, v[k].series >> 16);
		fprintf(f, "} %llu\n", (unsigned long long)sum);
	}
}

size_t pw_collect_workloads(FILE *f, const struct pw_metrics_input *in)
{
	const struct pw_accounts *a = in->acc;
	size_t n = 0, cap = a->n + a->nexpired, nc = 0, dropped = 0;
	struct pw_contender *c;
	struct wagg *v;

	pw_prom_header(f, "portwatch_workload_connect_failures_total", "counter",
		       "Failed connect() calls per workload (Kubernetes namespace, pod and container, or "
		       "systemd unit) and errno.");
	if (!in->workload || !cap || !(v = calloc(cap, sizeof(*v))))
		return 0;
	for (size_t i = 0; i < cap; i++) {
		struct pw_proc_val t;
		const struct pw_row *r = pw_failure_row(a, i, &t);

		if (!r)
			continue;
		if (!t.cgroup_id || !(v[n].labels = pw_workload_labels(in->workload(in->workload_ctx,
										   t.cgroup_id))))
			continue;
		v[n].err = r->key.err;
		v[n].series = pw_row_series(r);
		v[n].count = t.count;
		v[n].active = i < a->n && (!r->exited_ns || in->now_ns - r->exited_ns < PW_EXPIRE_NS);
		n++;
	}
	qsort(v, n, sizeof(*v), cmp_wagg);
	c = calloc(n ? n : 1, sizeof(*c));
	nc = c ? workload_contenders(v, n, in->memory, c) : 0;
	dropped = c ? pw_contenders_pick(c, nc, in->max_pids) : 0;
	remember_shown(in->memory, c, nc);
	for (size_t ci = 0; ci < nc; ci++)
		if (c[ci].show)
			workload_series(f, v, &c[ci]);
	free(c);
	for (size_t i = 0; i < n; i++)
		free(v[i].labels);
	free(v);
	return dropped;
}
