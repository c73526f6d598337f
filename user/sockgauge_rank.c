// SPDX-License-Identifier: GPL-2.0
/* Sockets per workload and destination, the bounded part: the states the
 * gauge counts and the ranking of a scan's (workload, destination) counts
 * into at most PW_SOCK_MAX_ROWS rows (pw_sock_rank). Pure. See
 * sockgauge.h. */
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "sockgauge.h"

static const unsigned int state_of[PW_SOCK_STATES] = {
	PW_ST_ESTABLISHED, PW_ST_SYN_SENT, PW_ST_TIME_WAIT,
};

int pw_sock_state_index(unsigned int s)
{
	for (int i = 0; i < PW_SOCK_STATES; i++)
		if (state_of[i] == s)
			return i;
	return -1;
}

const char *pw_sock_state_name(unsigned int i)
{
	return i < PW_SOCK_STATES ? pw_tcp_state_name(state_of[i]) : NULL;
}

/* ---- the ranking (pure) ---- */

struct wl_span {
	uint32_t wl;
	size_t start, end;	/* its entries in agg */
	uint64_t total;
};

static const char *const *rank_labels;
static const struct pw_dest *rank_dests;

static uint64_t agg_total(const struct pw_sock_agg *a)
{
	return (uint64_t)a->n[0] + a->n[1] + a->n[2];
}

/* By workload, then most sockets first, then destination (stable). */
static int cmp_agg(const void *x, const void *y)
{
	const struct pw_sock_agg *a = x, *b = y;
	uint64_t ta = agg_total(a), tb = agg_total(b);
	int c;

	if (a->wl != b->wl)
		return a->wl < b->wl ? -1 : 1;
	if (ta != tb)
		return ta > tb ? -1 : 1;
	if (a->dest_id == b->dest_id)
		return 0;
	if (!a->dest_id || !b->dest_id)	/* "(other)" last */
		return a->dest_id ? -1 : 1;
	c = (int)rank_dests[a->dest_id].family - (int)rank_dests[b->dest_id].family;
	if (c)
		return c;
	c = memcmp(rank_dests[a->dest_id].addr, rank_dests[b->dest_id].addr, 16);
	if (c)
		return c;
	return (int)rank_dests[a->dest_id].port - (int)rank_dests[b->dest_id].port;
}

/* By workload, then destination id: equal ones side by side. */
static int cmp_key(const void *x, const void *y)
{
	const struct pw_sock_agg *a = x, *b = y;

	if (a->wl != b->wl)
		return a->wl < b->wl ? -1 : 1;
	return (a->dest_id > b->dest_id) - (a->dest_id < b->dest_id);
}

/* Most sockets first, then labels. */
static int cmp_span(const void *x, const void *y)
{
	const struct wl_span *a = x, *b = y;

	if (a->total != b->total)
		return a->total > b->total ? -1 : 1;
	return strcmp(rank_labels[a->wl], rank_labels[b->wl]);
}

static void add_n(uint32_t *to, const uint32_t *n)
{
	for (int s = 0; s < PW_SOCK_STATES; s++)
		to[s] += n[s];
}

/* The rows of one workload (at most top + 1). */
static size_t span_rows(const struct pw_sock_agg *agg, const struct wl_span *w, size_t top)
{
	size_t named = 0;
	bool rest = false;

	for (size_t i = w->start; i < w->end; i++) {
		if (agg[i].dest_id && named < top)
			named++;
		else
			rest = true;
	}
	return named + rest;
}

size_t pw_sock_rank(struct pw_sock_agg *agg, size_t n, const char *const *labels,
		    const struct pw_dest *dests, size_t top, size_t max_rows,
		    struct pw_sock_row *rows, size_t *folded)
{
	struct wl_span *sp;
	size_t nsp = 0, nr = 0, m = 0;
	uint32_t other[PW_SOCK_STATES] = { 0 };
	bool full = false, have_other = false;

	*folded = 0;
	if (!n || !max_rows)
		return 0;
	rank_labels = labels;
	rank_dests = dests;
	/* merge equal (workload, destination) entries */
	qsort(agg, n, sizeof(*agg), cmp_key);
	for (size_t i = 0; i < n; i++) {
		if (m && agg[m - 1].wl == agg[i].wl && agg[m - 1].dest_id == agg[i].dest_id)
			add_n(agg[m - 1].n, agg[i].n);
		else
			agg[m++] = agg[i];
	}
	n = m;
	qsort(agg, n, sizeof(*agg), cmp_agg);	/* merged totals: order again */
	sp = calloc(n, sizeof(*sp));
	if (!sp)
		return 0;
	for (size_t i = 0, j; i < n; i = j) {
		sp[nsp].wl = agg[i].wl;
		sp[nsp].start = i;
		for (j = i; j < n && agg[j].wl == agg[i].wl; j++)
			sp[nsp].total += agg_total(&agg[j]);
		sp[nsp++].end = j;
	}
	qsort(sp, nsp, sizeof(*sp), cmp_span);
	for (size_t w = 0; w < nsp; w++) {
		size_t need = span_rows(agg, &sp[w], top), named = 0;
		uint32_t rest[PW_SOCK_STATES] = { 0 };
		bool have_rest = false;

		/* one row kept for the folded workloads if any is folded */
		if (full || nr + need + (w + 1 < nsp) > max_rows) {
			full = true;
			(*folded)++;
			for (size_t i = sp[w].start; i < sp[w].end; i++)
				add_n(other, agg[i].n);
			have_other = true;
			continue;
		}
		for (size_t i = sp[w].start; i < sp[w].end; i++) {
			const struct pw_sock_agg *a = &agg[i];

			if (a->dest_id && named < top) {
				named++;
				rows[nr] = (struct pw_sock_row){ .labels = labels[a->wl],
								 .dest = dests[a->dest_id] };
				memcpy(rows[nr++].n, a->n, sizeof(a->n));
				continue;
			}
			add_n(rest, a->n);
			have_rest = true;
		}
		/* its "(other)" after its named rows */
		if (have_rest) {
			rows[nr] = (struct pw_sock_row){ .labels = labels[sp[w].wl], .other = true };
			memcpy(rows[nr++].n, rest, sizeof(rest));
		}
	}
	if (have_other && nr < max_rows) {
		rows[nr] = (struct pw_sock_row){ .labels = PW_SOCK_OTHER_LABELS, .other = true };
		memcpy(rows[nr++].n, other, sizeof(other));
	}
	free(sp);
	return nr;
}
