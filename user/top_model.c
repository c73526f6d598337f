// SPDX-License-Identifier: GPL-2.0
/* The --top view's data: see top_model.h. Everything comes from the kernel's
 * maps (the per-process accounts through pw_report_take, dest_fails) and
 * from the census; nothing from the events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "client.h"
#include "fifo_guard.h"
#include "kmaps.h"
#include "netns.h"
#include "remedies.h"
#include "top_model.h"
#include "workload.h"
#include "util.h"
#include "portwatch.skel.h"

#define EADDRNOTAVAIL_ERR	99
#define CLIENT_CACHE		64

void pw_top_model_init(struct pw_top_model *m, const struct pw_top_src *src)
{
	memset(m, 0, sizeof(*m));
	m->src = src;
	m->scan_p50_ns = m->scan_p99_ns = -1;
}

static void census_clear(struct pw_top_model *m)
{
	for (size_t i = 0; i < m->ncensus; i++)
		pw_census_free(&m->census[i]);
	m->ncensus = 0;
	if (m->sel_ok)
		pw_census_free(&m->sel);
	m->sel_ok = false;
}

/* The wanted destination alone, with its holders, in netns fd (-1: ours). */
static void census_selected(struct pw_top_model *m, int fd)
{
	struct pw_census_filter f = { .one_dest = true, .dest = m->want, .holders = true };
	char err[128];

	m->sel_ok = !pw_census_take(fd, &f, &m->sel, err, sizeof(err));
}

void pw_top_model_free(struct pw_top_model *m)
{
	for (int v = 0; v < PW_VIEWS; v++) {
		free(m->rows[v].v);
		free(m->rows[v].ix);
		free(m->prev[v].v);
		free(m->prev[v].ix);
	}
	census_clear(m);
}

static void rows_clear(struct pw_top_rows *rs)
{
	rs->n = 0;
	if (rs->ix)
		memset(rs->ix, 0, PW_TOP_IX * sizeof(*rs->ix));
}

static uint32_t *ix_slot(const struct pw_top_rows *rs, uint64_t id)
{
	size_t i = (id * PW_GOLDEN64) >> 51;	/* 13 bits: PW_TOP_IX */

	for (;; i = (i + 1) & (PW_TOP_IX - 1)) {
		uint32_t *s = &rs->ix[i];

		if (!*s || rs->v[*s - 1].id == id)
			return s;
	}
}

static struct pw_top_row *row_find(const struct pw_top_rows *rs, uint64_t id)
{
	uint32_t *s = rs->ix ? ix_slot(rs, id) : NULL;

	return s && *s ? &rs->v[*s - 1] : NULL;
}

/* The row of id, made (zeroed) when new; NULL past PW_TOP_MAX_ROWS
 * (counted) or without memory. The index holds at most half its slots. */
static struct pw_top_row *row_get(struct pw_top_model *m, struct pw_top_rows *rs, uint64_t id)
{
	struct pw_top_row *r = row_find(rs, id);

	if (r)
		return r;
	if (!rs->ix && !(rs->ix = calloc(PW_TOP_IX, sizeof(*rs->ix))))
		return NULL;
	if (rs->n == rs->cap) {
		size_t cap = rs->cap ? rs->cap * 2 : 64;
		struct pw_top_row *v;

		if (rs->cap >= PW_TOP_MAX_ROWS || !(v = realloc(rs->v, cap * sizeof(*v)))) {
			m->rows_over++;
			return NULL;
		}
		rs->v = v;
		rs->cap = cap;
	}
	r = &rs->v[rs->n];
	memset(r, 0, sizeof(*r));
	r->id = id;
	*ix_slot(rs, id) = ++rs->n;
	return r;
}

/* A workload's label: pod, unit, container or cgroup path. */
static void workload_label(char *dst, size_t sz, const struct pw_workload *w, uint64_t id)
{
	if (w && w->pod_name)
		snprintf(dst, sz, "%s/%s", w->pod_namespace ? w->pod_namespace : "?", w->pod_name);
	else if (w && w->unit)
		snprintf(dst, sz, "%s", w->unit);
	else if (w && w->container_id)
		snprintf(dst, sz, "%.12s", w->container_id);
	else if (w && w->cgroup)
		snprintf(dst, sz, "%s", w->cgroup);
	else
		snprintf(dst, sz, "cgroup %llu", (unsigned long long)id);
}

uint64_t pw_top_proc_failures(const struct pw_proc *p)
{
	uint64_t n = p->other_eana;

	for (unsigned int i = 0; i < p->nerrs; i++)
		if (p->errs[i].err == EADDRNOTAVAIL_ERR)
			n += p->errs[i].count;
	for (int op = PW_OP_CONNECT + 1; op < PW_OP_MAX; op++)
		n += p->op_fails[op];
	return n;
}

/* One row per process that failed, one per workload (cgroup) of those. */
static void proc_rows(struct pw_top_model *m, const struct pw_report *r)
{
	struct pw_top_rows *ps = &m->rows[PW_VIEW_PROCS], *ws = &m->rows[PW_VIEW_WORKLOADS];

	m->total = 0;
	for (size_t i = 0; i < r->procs.n; i++) {
		const struct pw_proc *p = &r->procs.v[i];
		uint64_t n = pw_top_proc_failures(p);
		struct pw_top_row *pr, *wr;

		m->total += n;
		if (!n || !(pr = row_get(m, ps, p->pid ? p->pid : pw_fnv1a_str(0, p->comm))))
			continue;
		snprintf(pr->name, sizeof(pr->name), "%u %.15s", p->pid, p->comm);
		workload_label(pr->top, sizeof(pr->top), p->w, p->cgroup_id);
		pr->total = n;
		pr->pid = p->pid;
		pr->cgroup_id = p->cgroup_id;
		if (!(wr = row_get(m, ws, p->cgroup_id)))
			continue;
		if (!wr->name[0]) {
			wr->cgroup_id = p->cgroup_id;
			workload_label(wr->name, sizeof(wr->name), p->w, p->cgroup_id);
		}
		if (n > wr->top_n || !wr->pid) {
			wr->top_n = n;
			wr->pid = p->pid;
			snprintf(wr->top, sizeof(wr->top), "%u %.15s", p->pid, p->comm);
		}
		wr->total += n;
	}
}

/* Each key's per-CPU counts summed: one row per (netns, destination), its
 * top workload the cgroup that failed most towards it. */
static void dest_rows(struct pw_top_model *m)
{
	int fd = bpf_map__fd(m->src->rs.at->skel->maps.dest_fails), ncpu = libbpf_num_possible_cpus();
	struct pw_top_rows *ds = &m->rows[PW_VIEW_DESTS];
	struct pw_dest_fail_key k, next, *prev = NULL;

	if (fd < 0 || ncpu <= 0)
		return;
	uint64_t vals[ncpu];

	/* map syscalls: at SCHED_FIFO in kprobe mode on a preemptible kernel,
	 * as the worker's reads (fifo_guard.h); the walk as one section, as
	 * the per-process sync */
	pw_fifo_guard_begin();
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		struct pw_top_row *r;
		struct pw_dest d;
		uint64_t n = 0;

		k = next;
		prev = &k;
		if (bpf_map_lookup_elem(fd, &k, vals))
			continue;	/* cannot happen: nothing deletes */
		for (int c = 0; c < ncpu; c++)
			n += vals[c];
		pw_dest_set(&d, k.family, k.daddr, k.dport);
		if (!(r = row_get(m, ds, pw_dest_hash(&d, k.netns))))
			continue;
		if (!r->name[0]) {
			r->dest = d;
			r->netns = k.netns;
			pw_dest_text(r->name, sizeof(r->name), &d);
		}
		r->total += n;
		if (n > r->top_n) {
			r->top_n = n;
			r->cgroup_id = k.cgroup_id;
		}
	}
	pw_fifo_guard_end();
}

/* A destination's top workload's label and top process. */
static void dest_tops(struct pw_top_model *m)
{
	struct pw_top_rows *ds = &m->rows[PW_VIEW_DESTS];

	for (size_t i = 0; i < ds->n; i++) {
		struct pw_top_row *r = &ds->v[i];
		const struct pw_top_row *w = row_find(&m->rows[PW_VIEW_WORKLOADS], r->cgroup_id);
		const struct pw_workload *wl = NULL;

		if (w) {
			snprintf(r->top, sizeof(r->top), "%.47s", w->name);
			r->pid = w->pid;
			continue;
		}
		if (m->src->rs.wl)
			wl = pw_workloads_get(m->src->rs.wl, r->cgroup_id, pw_clock_ns(CLOCK_MONOTONIC));
		workload_label(r->top, sizeof(r->top), wl, r->cgroup_id);
	}
}

const struct pw_census_dest *pw_top_census_of(const struct pw_top_model *m,
					      const struct pw_top_row *r,
					      const struct pw_census_ns **ns)
{
	*ns = NULL;
	if (!r->dest.family)
		return NULL;
	for (size_t i = 0; i < m->ncensus; i++) {
		const struct pw_census_ns *c = &m->census[i];

		if (c->netns != r->netns)
			continue;
		*ns = c;
		for (size_t j = 0; j < c->ndests; j++) {
			const struct pw_census_dest *d = &c->dests[j];

			if (pw_dest_eq(&d->dest, &r->dest))
				return d;
		}
		return NULL;
	}
	return NULL;
}

static bool census_has(const struct pw_top_model *m, uint64_t netns)
{
	for (size_t i = 0; i < m->ncensus; i++)
		if (m->census[i].netns == netns)
			return true;
	return false;
}

/* The census of portwatch's own netns (the node's range), then of each
 * namespace the destination rows name, up to PW_TOP_MAX_NETNS. */
static bool census_due(const struct pw_top_model *m, int64_t now)
{
	return !m->census_ns || now - m->census_ns >= PW_TOP_CENSUS_NS ||
	       m->census_ndests != m->rows[PW_VIEW_DESTS].n || m->census_netns != m->want_netns ||
	       !pw_dest_eq(&m->census_want, &m->want);
}

static void take_census(struct pw_top_model *m)
{
	const struct pw_top_rows *ds = &m->rows[PW_VIEW_DESTS];
	int64_t now = pw_clock_ns(CLOCK_MONOTONIC);
	uint64_t *inodes = NULL;
	int *fds = NULL, nfds;

	if (!census_due(m, now))
		return;
	m->census_ns = now;
	m->census_ndests = ds->n;
	m->census_netns = m->want_netns;
	m->census_want = m->want;
	census_clear(m);
	m->census_err[0] = 0;
	if (pw_census_take(-1, NULL, &m->census[0], m->census_err, sizeof(m->census_err)))
		return;
	m->ncensus = 1;
	if (m->want.family && m->want_netns == m->census[0].netns)
		census_selected(m, -1);
	nfds = pw_census_list_netns(&fds, &inodes);
	for (size_t i = 0; i < ds->n && nfds > 0; i++) {
		uint64_t ns = ds->v[i].netns;

		if (census_has(m, ns))
			continue;
		if (m->ncensus == PW_TOP_MAX_NETNS) {
			m->census_skipped++;
			continue;
		}
		for (int j = 0; j < nfds; j++) {
			if (inodes[j] == ns && !pw_census_take(fds[j], NULL, &m->census[m->ncensus],
							       m->census_err,
							       sizeof(m->census_err)))
				m->ncensus++;
		}
	}
	for (int j = 0; j < nfds; j++) {
		if (m->want.family && !m->sel_ok && inodes[j] == m->want_netns)
			census_selected(m, fds[j]);
		close(fds[j]);
	}
	free(fds);
	free(inodes);
}

static int client_of(struct pw_top_model *m, uint32_t pid)
{
	unsigned int n = m->nclients < CLIENT_CACHE ? m->nclients : CLIENT_CACHE;
	int c;

	for (unsigned int i = 0; i < n; i++)
		if (m->clients[i].pid == pid)
			return m->clients[i].client;
	c = pid ? pw_client_detect(pid, 0) : PW_CLIENT_NONE;
	m->clients[m->nclients % CLIENT_CACHE].pid = pid;
	m->clients[m->nclients++ % CLIENT_CACHE].client = c;
	return c;
}

int pw_top_remedies(struct pw_top_model *m, const struct pw_top_row *r, struct pw_remedy *out,
		    int max)
{
	const struct pw_census_ns *ns;
	const struct pw_census_dest *d = pw_top_census_of(m, r, &ns);
	struct pw_remedy_input in;

	if (!ns)
		return 0;
	pw_remedy_input_from_census(&in, ns, d);
	in.client = client_of(m, r->pid);
	in.client_pid = r->pid;
	return pw_remedies(&in, out, max);
}

/* Sockets by state and the remedy's short name: the first rule particular
 * to the destination, else the first. */
static void dest_census(struct pw_top_model *m)
{
	static struct pw_remedy rem[PW_MAX_REMEDIES];
	struct pw_top_rows *ds = &m->rows[PW_VIEW_DESTS];

	for (size_t i = 0; i < ds->n; i++) {
		struct pw_top_row *r = &ds->v[i];
		const struct pw_census_ns *ns;
		const struct pw_census_dest *d = pw_top_census_of(m, r, &ns);
		int n, pick = 0;

		if (!ns)
			continue;
		r->census = true;
		for (unsigned int s = 1; d && s < PW_TCP_STATES; s++) {
			int k = s == PW_ST_ESTABLISHED ? PW_TOP_ESTAB : s == PW_ST_SYN_SENT ?
				PW_TOP_SYN : s == PW_ST_TIME_WAIT ? PW_TOP_TW : PW_TOP_OTHER;

			r->states[k] += d->states[s];
		}
		n = pw_top_remedies(m, r, rem, PW_MAX_REMEDIES);
		while (pick < n && (!strcmp(rem[pick].id, "reuse_connections") ||
				    !strcmp(rem[pick].id, "more_destinations")))
			pick++;
		if (pick == n)
			pick = 0;
		if (n)
			snprintf(r->remedy, sizeof(r->remedy), "%s", rem[pick].id);
	}
}

/* A workload's remedy is its top destination's; a process's, its
 * workload's. */
static void other_remedies(struct pw_top_model *m)
{
	struct pw_top_rows *ds = &m->rows[PW_VIEW_DESTS], *ps = &m->rows[PW_VIEW_PROCS];

	for (size_t i = 0; i < ds->n; i++) {
		struct pw_top_row *w = row_find(&m->rows[PW_VIEW_WORKLOADS], ds->v[i].cgroup_id);

		if (w && ds->v[i].total > w->dest_n) {
			w->dest_n = ds->v[i].total;
			memcpy(w->remedy, ds->v[i].remedy, sizeof(w->remedy));
		}
	}
	for (size_t i = 0; i < ps->n; i++) {
		const struct pw_top_row *w = row_find(&m->rows[PW_VIEW_WORKLOADS], ps->v[i].cgroup_id);

		if (w)
			memcpy(ps->v[i].remedy, w->remedy, sizeof(ps->v[i].remedy));
	}
}

double pw_top_percentile(const uint64_t *hist, size_t slots, double p)
{
	uint64_t total = 0, want, seen = 0;

	for (size_t i = 0; i < slots; i++)
		total += hist[i];
	if (!total)
		return -1;
	want = (uint64_t)(p * total + 0.999999);
	if (!want)
		want = 1;
	for (size_t i = 0; i < slots; i++) {
		seen += hist[i];
		if (seen >= want)
			return i ? (double)(1ull << (i < 63 ? i : 63)) : 1;
	}
	return -1;
}

/* Scan time over the interval: both results' slots, minus the last read. */
static void scan_times(struct pw_top_model *m)
{
	static uint64_t raw[PW_HIST_SLOTS * PW_SCAN_RESULTS];
	uint64_t delta[PW_HIST_SLOTS];
	int fd = bpf_map__fd(m->src->rs.at->skel->maps.scan_hist);

	if (pw_kmaps_read_percpu(fd, 0, PW_HIST_SLOTS * PW_SCAN_RESULTS, raw))
		return;
	for (int i = 0; i < PW_HIST_SLOTS; i++) {
		uint64_t now = raw[i] + raw[PW_HIST_SLOTS + i];

		delta[i] = now - m->scan_prev[i];
		m->scan_prev[i] = now;
	}
	m->scan_p50_ns = pw_top_percentile(delta, PW_HIST_SLOTS, 0.50);
	m->scan_p99_ns = pw_top_percentile(delta, PW_HIST_SLOTS, 0.99);
}

/* Each row's rate from its total at the last refresh (dt seconds ago). */
static void rates(struct pw_top_model *m, double dt)
{
	for (int v = 0; v < PW_VIEWS; v++) {
		for (size_t i = 0; i < m->rows[v].n; i++) {
			struct pw_top_row *r = &m->rows[v].v[i];
			const struct pw_top_row *p = row_find(&m->prev[v], r->id);
			uint64_t before = p && p->total <= r->total ? p->total : 0;

			r->rate = dt > 0 ? (r->total - before) / dt : 0;
		}
	}
	m->rate = dt > 0 && m->total >= m->prev_total ? (m->total - m->prev_total) / dt : 0;
}

static void header(struct pw_top_model *m, const struct pw_report *r)
{
	const struct pw_census_ns *own = m->ncensus ? &m->census[0] : NULL;

	m->mode = r->mode;
	m->uptime_s = r->duration_s;
	m->events_lost = r->events_lost;
	m->not_counted = r->counts_dropped;
	m->dests_full = pw_kmaps_counter(m->src->rs.km, PW_CNT_DESTS_FULL);
	m->range_known = own != NULL;
	if (!own)
		return;
	m->range_lo = own->range_lo;
	m->range_hi = own->range_hi;
	m->range_size = own->range_size;
	m->range_held = 0;
	for (size_t i = 0; i < own->ndests; i++)
		m->range_held += own->dests[i].held;
	m->range_held += own->other.held;
}

int pw_top_model_refresh(struct pw_top_model *m)
{
	int64_t now = pw_clock_ns(CLOCK_MONOTONIC);
	double dt = ((m->last_ns ? now - m->last_ns : now - m->src->rs.start)) / 1e9;
	struct pw_report r;
	for (int v = 0; v < PW_VIEWS; v++) {
		struct pw_top_rows t = m->prev[v];

		m->prev[v] = m->rows[v];
		m->rows[v] = t;
		rows_clear(&m->rows[v]);
	}
	m->prev_total = m->total;
	m->rows_over = 0;
	pw_kmaps_sync(m->src->rs.km, true);	/* exited processes retired, as the worker does */
	pw_report_take_synced(&r, &m->src->rs, 0, true);
	proc_rows(m, &r);
	dest_rows(m);
	dest_tops(m);
	take_census(m);
	dest_census(m);
	other_remedies(m);
	header(m, &r);
	pw_report_free(&r);
	scan_times(m);
	rates(m, dt);
	m->last_ns = now;
	return 0;
}

static enum pw_top_sort sort_by;

static int cmp_rows(const void *a, const void *b)
{
	const struct pw_top_row *x = a, *y = b;

	if (sort_by == PW_TOP_BY_RATE && x->rate != y->rate)
		return x->rate < y->rate ? 1 : -1;
	if (sort_by != PW_TOP_BY_NAME && x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

void pw_top_model_sort(struct pw_top_model *m, enum pw_top_view v, enum pw_top_sort by)
{
	struct pw_top_rows *rs = &m->rows[v];

	sort_by = by;
	if (rs->n > 1)
		qsort(rs->v, rs->n, sizeof(rs->v[0]), cmp_rows);
	if (rs->ix) {	/* the rows moved: index them again */
		memset(rs->ix, 0, PW_TOP_IX * sizeof(*rs->ix));
		for (size_t i = 0; i < rs->n; i++)
			*ix_slot(rs, rs->v[i].id) = i + 1;
	}
}
