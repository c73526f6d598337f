// SPDX-License-Identifier: GPL-2.0
/* Sockets per workload and destination: see sockgauge.h.
 *
 * A scan keeps, per held socket with an inode, {inode, destination id,
 * state} (an entry of 16 bytes at most half full: about 32 bytes a socket,
 * for the scan only), and per destination the sockets without an inode
 * (TIME_WAIT); destinations are the census's rows, so at most
 * PW_CENSUS_MAX_DESTS per netns whatever a tenant makes. One /proc walk
 * after every netns gives each inode its first holder's workload. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hashtab.h"
#include "holders.h"
#include "metrics.h"
#include "sockgauge.h"
#include "sockgauge_internal.h"
#include "sysctl.h"
#include "util.h"
#include "workload.h"

/* workload ids of the fixed label sets */
enum { WL_NOPROC, WL_NONE, WL_FIRST };

/* ---- the scan ---- */

struct sock_ent {
	uint32_t ino;
	uint32_t dest_id;
	uint32_t wl;
	uint16_t netns;		/* index in the scan's netns */
	uint8_t state;		/* pw_sock_state_index */
	uint8_t claimed;
};

/* The sockets no process can hold (no inode: TIME_WAIT) of one netns
 * towards one destination: one entry however many sockets. */
struct noino {
	uint32_t dest_id;
	uint16_t netns;
	uint32_t n[PW_SOCK_STATES];
};

struct staged {
	uint32_t ino, dest_id;
	uint8_t state;
};

#define NS_UNSET	UINT32_MAX
#define NS_MIXED	(UINT32_MAX - 1)

/* A netns of the scan: the workload every process in it is of, if one. */
struct scan_ns {
	uint64_t ino;
	uint32_t wl;		/* NS_UNSET, NS_MIXED, or a workload id */
};

struct pw_sockgauge {
	const char *pods_dir;
	/* a scan's */
	struct pw_htab dix;		/* dest id (>= 1) index: slots of uint32_t */
	struct pw_dest *dests;		/* [0] unused: "(other)" */
	size_t nd, capd;
	/* per dest id: the netns index + 1 of its last noino entry, and where */
	uint32_t *ni_mark, *ni_slot;
	struct noino *noino;
	size_t nnoino, capnoino;
	size_t noino_commit;		/* entries of the netns done; past: the current one's */
	struct pw_htab socks;		/* struct sock_ent */
	size_t nsocks;
	struct staged *stage;		/* the current netns's */
	size_t nstage, capstage;
	struct scan_ns ns[PW_SOCK_MAX_NETNS];
	size_t nns;
	bool failed;			/* out of memory during the scan */
	struct pw_intern paths;		/* cgroup path -> workload id (val), netns vote (val2) */
	struct pw_intern labels;		/* a workload's labels -> workload id */
	/* the last scan's result */
	bool have;
	struct pw_sock_row *rows;
	size_t nrows, folded;
	char **row_labels;		/* the labels the rows point to */
	size_t nrow_labels;
};

struct pw_sockgauge *pw_sockgauge_new(const char *pods_dir)
{
	struct pw_sockgauge *g = calloc(1, sizeof(*g));

	if (g)
		g->pods_dir = pods_dir;
	return g;
}

static void free_result(struct pw_sockgauge *g)
{
	for (size_t i = 0; i < g->nrow_labels; i++)
		free(g->row_labels[i]);
	free(g->row_labels);
	free(g->rows);
	g->row_labels = NULL;
	g->rows = NULL;
	g->nrow_labels = g->nrows = 0;
}

static void scan_clear(struct pw_sockgauge *g)
{
	g->nd = 1;
	g->nsocks = 0;
	g->nstage = 0;
	g->nnoino = 0;
	g->noino_commit = 0;
	g->nns = 0;
	g->failed = false;
	if (g->dix.slots)
		pw_htab_clear(&g->dix);
	if (g->socks.slots)
		pw_htab_clear(&g->socks);
	pw_intern_clear(&g->paths);
	pw_intern_clear(&g->labels);
}

void pw_sockgauge_free(struct pw_sockgauge *g)
{
	if (!g)
		return;
	scan_clear(g);
	free_result(g);
	pw_htab_free(&g->dix);
	pw_htab_free(&g->socks);
	free(g->dests);
	free(g->noino);
	free(g->ni_mark);
	free(g->ni_slot);
	free(g->stage);
	pw_intern_free(&g->paths);
	pw_intern_free(&g->labels);
	free(g);
}

static uint64_t dest_hash(const struct pw_dest *d)
{
	uint64_t h = pw_fnv1a(PW_FNV1A_INIT, &d->family, sizeof(d->family));

	h = pw_fnv1a(h, &d->port, sizeof(d->port));
	return pw_fnv1a(h, d->addr, sizeof(d->addr));
}

struct dkey {
	const struct pw_sockgauge *g;
	const struct pw_dest *d;
};

static enum pw_htab_slot dest_classify(const void *slot, const void *key)
{
	uint32_t id = *(const uint32_t *)slot;
	const struct dkey *k = key;

	if (!id)
		return PW_HT_EMPTY;
	return k && pw_dest_eq(&k->g->dests[id], k->d) ? PW_HT_MATCH : PW_HT_TAKEN;
}

static int dest_index_grow(struct pw_sockgauge *g)
{
	size_t sz = g->dix.slots ? pw_htab_slots(&g->dix) * 2 : 256;
	struct pw_htab ix;
	bool found;

	if (pw_htab_init(&ix, sz, sizeof(uint32_t), 0))
		return -ENOMEM;
	for (size_t i = 1; i < g->nd; i++)
		*(uint32_t *)pw_htab_find(&ix, dest_hash(&g->dests[i]), dest_classify, NULL,
					  &found) = i;
	pw_htab_free(&g->dix);
	g->dix = ix;
	return 0;
}

/* Room for twice the destinations; -ENOMEM. */
static int grow_dests(struct pw_sockgauge *g)
{
	size_t cap = g->capd ? g->capd * 2 : 16;
	struct pw_dest *nd = realloc(g->dests, cap * sizeof(*nd));
	uint32_t *m;

	if (!nd)
		return -ENOMEM;
	g->dests = nd;
	m = realloc(g->ni_mark, cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	g->ni_mark = m;
	m = realloc(g->ni_slot, cap * sizeof(*m));
	if (!m)
		return -ENOMEM;
	g->ni_slot = m;
	g->capd = cap;
	return 0;
}

/* The id of destination d (>= 1), made if new; 0 without memory. */
static uint32_t dest_id(struct pw_sockgauge *g, const struct pw_dest *d)
{
	struct dkey k = { g, d };
	uint32_t *slot;
	bool found;

	if ((g->nd + 1) * 2 > pw_htab_slots(&g->dix) && dest_index_grow(g))
		return 0;
	slot = pw_htab_find(&g->dix, dest_hash(d), dest_classify, &k, &found);
	if (found)
		return *slot;
	if (g->nd == g->capd && grow_dests(g))
		return 0;
	g->dests[g->nd] = *d;
	g->ni_mark[g->nd] = 0;
	*slot = g->nd;
	return g->nd++;
}

/* Room for one more of an array (*p, *cap, element size); false without. */
static bool room(void **p, size_t n, size_t *cap, size_t esz)
{
	size_t c = *cap ? *cap * 2 : 256;
	void *np;

	if (n < *cap)
		return true;
	np = realloc(*p, c * esz);
	if (!np)
		return false;
	*p = np;
	*cap = c;
	return true;
}

/* One more socket without an inode of the current netns towards id. */
static bool add_noino(struct pw_sockgauge *g, uint32_t id, int si)
{
	uint32_t cur = g->nns, i = g->ni_slot[id];

	if (g->ni_mark[id] != cur + 1 || i < g->noino_commit || i >= g->nnoino ||
	    g->noino[i].dest_id != id) {
		if (!room((void **)&g->noino, g->nnoino, &g->capnoino, sizeof(*g->noino)))
			return false;
		i = g->nnoino++;
		g->noino[i] = (struct noino){ .dest_id = id, .netns = cur };
		g->ni_mark[id] = cur + 1;
		g->ni_slot[id] = i;
	}
	g->noino[i].n[si]++;
	return true;
}

static int each_held(void *arg, const struct pw_dest *row, unsigned int state, uint32_t ino)
{
	struct pw_sockgauge *g = arg;
	int si = pw_sock_state_index(state);
	uint32_t id = 0;

	if (si < 0 || g->failed || g->nns == PW_SOCK_MAX_NETNS)
		return 0;
	if (row && !(id = dest_id(g, row))) {
		g->failed = true;
		return 0;
	}
	if (!ino) {
		if (!add_noino(g, id, si))
			g->failed = true;
		return 0;
	}
	if (!room((void **)&g->stage, g->nstage, &g->capstage, sizeof(*g->stage))) {
		g->failed = true;
		return 0;
	}
	g->stage[g->nstage++] = (struct staged){ ino, id, (uint8_t)si };
	return 0;
}

/* A pass given up: what the current netns gave so far is void. */
static void each_held_reset(void *arg)
{
	struct pw_sockgauge *g = arg;

	g->nstage = 0;
	g->nnoino = g->noino_commit;
}

void pw_sockgauge_begin(struct pw_sockgauge *g)
{
	scan_clear(g);
	if (!g->dests && grow_dests(g))
		g->failed = true;
	else
		g->ni_mark[0] = 0;
}

void pw_sockgauge_filter(struct pw_sockgauge *g, struct pw_census_filter *f)
{
	f->each_held = each_held;
	f->each_held_reset = each_held_reset;
	f->each_arg = g;
	g->nstage = 0;
}

static uint64_t ino_hash(uint32_t ino)
{
	return (uint32_t)(ino * 2654435761u);
}

static enum pw_htab_slot sock_classify(const void *slot, const void *key)
{
	const struct sock_ent *e = slot;

	if (!e->ino)
		return PW_HT_EMPTY;
	return key && e->ino == *(const uint32_t *)key ? PW_HT_MATCH : PW_HT_TAKEN;
}

static int socks_grow(struct pw_sockgauge *g)
{
	size_t sz = g->socks.slots ? pw_htab_slots(&g->socks) * 2 : 1024;
	struct pw_htab ix;
	bool found;

	if (pw_htab_init(&ix, sz, sizeof(struct sock_ent), 0))
		return -ENOMEM;
	for (size_t i = 0; g->socks.slots && i < pw_htab_slots(&g->socks); i++) {
		const struct sock_ent *e = pw_htab_at(&g->socks, i);

		if (e->ino)
			*(struct sock_ent *)pw_htab_find(&ix, ino_hash(e->ino), sock_classify, NULL,
							 &found) = *e;
	}
	pw_htab_free(&g->socks);
	g->socks = ix;
	return 0;
}

void pw_sockgauge_netns_done(struct pw_sockgauge *g, bool ok, uint64_t netns)
{
	uint16_t ni = g->nns;

	if (!ok || g->failed || g->nns == PW_SOCK_MAX_NETNS) {
		g->nstage = 0;
		g->nnoino = g->noino_commit;
		return;
	}
	g->ns[g->nns++] = (struct scan_ns){ .ino = netns, .wl = NS_UNSET };
	g->noino_commit = g->nnoino;
	for (size_t i = 0; i < g->nstage; i++) {
		const struct staged *s = &g->stage[i];
		struct sock_ent *e;
		bool found;

		if ((g->nsocks + 1) * 2 > pw_htab_slots(&g->socks) && socks_grow(g)) {
			g->failed = true;
			break;
		}
		e = pw_htab_find(&g->socks, ino_hash(s->ino), sock_classify, &s->ino, &found);
		if (found)
			continue;	/* one socket, once */
		*e = (struct sock_ent){ .ino = s->ino, .dest_id = s->dest_id, .netns = ni,
					.state = s->state };
		g->nsocks++;
	}
	g->nstage = 0;
}

/* The labels of w into the labels table: its id, WL_NONE when it is in
 * no workload; -ENOMEM. */
static long labels_id(struct pw_sockgauge *g, const struct pw_workload *w)
{
	char *labels = pw_workload_labels(w);
	bool isnew;
	long li;

	if (!labels)
		return WL_NONE;	/* in no workload (or out of memory: said as none) */
	li = pw_intern(&g->labels, labels, 0, &isnew);
	free(labels);
	return li < 0 ? li : WL_FIRST + li;
}

/* The workload id of a process (*vote: what it says of its netns: its pod
 * without a container, or its workload), from its cgroup path; WL_NONE when
 * it is in no workload or its cgroup cannot be read. -ENOMEM. */
static long pid_workload(struct pw_sockgauge *g, uint32_t pid, uint32_t *vote)
{
	char path[64], buf[4096], *line, *save = NULL, *cg = NULL;
	struct pw_workload w = { 0 };
	long pi, wl, v;
	bool isnew;

	*vote = WL_NONE;
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	if (pw_read_small(path, buf, sizeof(buf)))
		return WL_NONE;
	/* cgroup names may hold a newline, printed as is: a second "0::"
	 * line is a name's, whose owner could name any workload with it */
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "0::", 3))
			continue;
		if (cg)
			return WL_NONE;
		cg = line + 3;
	}
	if (!cg || cg[0] != '/')
		return WL_NONE;
	pi = pw_intern(&g->paths, cg, WL_NONE, &isnew);
	if (pi < 0)
		return pi;
	if (!isnew) {
		*vote = g->paths.val2[pi];
		return g->paths.val[pi];
	}
	if (pw_workload_parse(cg, &w))
		return -ENOMEM;
	pw_workload_pod_names(g->pods_dir, &w);
	wl = labels_id(g, &w);
	v = wl;
	if (wl >= WL_FIRST && w.pod_uid[0]) {
		/* every container of a pod shares its netns */
		free(w.container);
		w.container = NULL;
		free(w.container_id);
		w.container_id = NULL;
		v = labels_id(g, &w);
	}
	pw_workload_clear(&w);
	if (wl < 0 || v < 0)
		return -ENOMEM;
	g->paths.val[pi] = wl;
	g->paths.val2[pi] = v;
	*vote = v;
	return wl;
}

/* The netns index of a process, or -1 if it is none of the scan's. */
static long pid_netns(const struct pw_sockgauge *g, uint32_t pid)
{
	char path[64], link[64];
	unsigned long long ino;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return -1;
	link[n] = '\0';
	if (sscanf(link, "net:[%llu]", &ino) != 1)
		return -1;
	for (size_t i = 0; i < g->nns; i++)
		if (g->ns[i].ino == ino)
			return i;
	return -1;
}

/* One process: the sockets of it not claimed yet are its workload's, and
 * it votes for its netns's workload. */
static int walk_pid(struct pw_sockgauge *g, uint32_t pid)
{
	char path[64], link[64];
	struct dirent *de;
	long wl = -1, ni = pid_netns(g, pid);
	uint32_t vote;
	DIR *d;

	if (ni >= 0) {
		struct scan_ns *s = &g->ns[ni];

		wl = pid_workload(g, pid, &vote);
		if (wl < 0)
			return wl;
		if (s->wl == NS_UNSET)
			s->wl = vote;
		else if (s->wl != vote)
			s->wl = NS_MIXED;
	}
	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	d = opendir(path);
	if (!d)
		return 0;	/* gone, or not readable: its sockets are unheld */
	while ((de = readdir(d))) {
		struct sock_ent *e;
		uint32_t ino;
		bool found;
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (pw_census_socket_inode(link, &ino) || !ino)
			continue;
		e = pw_htab_find(&g->socks, ino_hash(ino), sock_classify, &ino, &found);
		if (!found || e->claimed)
			continue;
		if (wl < 0 && (wl = pid_workload(g, pid, &vote)) < 0)
			break;
		e->claimed = 1;
		e->wl = wl;
	}
	closedir(d);
	return wl < -1 ? (int)wl : 0;
}

static int walk_proc(struct pw_sockgauge *g)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!g->nsocks && !g->nnoino)
		return 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while (!r && (de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (!isdigit((unsigned char)de->d_name[0]) || *end)
			continue;
		r = walk_pid(g, pid);
	}
	closedir(d);
	return r;
}

/* The workload of a socket no process was found holding in netns ni: the
 * one every process of that netns is of, else "(no process)". */
static uint32_t unheld_wl(const struct pw_sockgauge *g, uint16_t ni)
{
	uint32_t wl = g->ns[ni].wl;

	return wl == NS_UNSET || wl == NS_MIXED || wl == WL_NONE ? WL_NOPROC : wl;
}

/* Every counted socket as a (workload, destination) entry. */
static struct pw_sock_agg *collect(struct pw_sockgauge *g, size_t *n)
{
	size_t cap = g->nsocks + g->nnoino, k = 0;
	struct pw_sock_agg *a = calloc(cap ? cap : 1, sizeof(*a));

	if (!a)
		return NULL;
	for (size_t i = 0; g->nsocks && i < pw_htab_slots(&g->socks); i++) {
		const struct sock_ent *e = pw_htab_at(&g->socks, i);

		if (!e->ino)
			continue;
		a[k] = (struct pw_sock_agg){ .wl = e->claimed ? e->wl : unheld_wl(g, e->netns),
					     .dest_id = e->dest_id };
		a[k++].n[e->state] = 1;
	}
	for (size_t i = 0; i < g->nnoino; i++) {
		a[k] = (struct pw_sock_agg){ .wl = unheld_wl(g, g->noino[i].netns),
					     .dest_id = g->noino[i].dest_id };
		memcpy(a[k++].n, g->noino[i].n, sizeof(g->noino[i].n));
	}
	*n = k;
	return a;
}

void pw_sockgauge_end(struct pw_sockgauge *g)
{
	struct pw_sock_row *rows = NULL;
	struct pw_sock_agg *agg = NULL;
	const char **labels = NULL;
	size_t n = 0, nl;

	if (g->failed || walk_proc(g) || !(agg = collect(g, &n)))
		goto out;
	nl = WL_FIRST + g->labels.n;
	labels = calloc(nl, sizeof(*labels));
	rows = calloc(PW_SOCK_MAX_ROWS, sizeof(*rows));
	if (!labels || !rows)
		goto out;
	labels[WL_NOPROC] = PW_SOCK_NOPROC_LABELS;
	labels[WL_NONE] = PW_SOCK_NONE_LABELS;
	for (size_t i = 0; i < g->labels.n; i++)
		labels[WL_FIRST + i] = g->labels.s[i];
	free_result(g);
	g->nrows = pw_sock_rank(agg, n, labels, g->dests, PW_SOCK_TOP_DESTS, PW_SOCK_MAX_ROWS,
				rows, &g->folded);
	/* the rows point into the scan's labels: they keep them */
	g->row_labels = g->labels.s;
	g->nrow_labels = g->labels.n;
	free(g->labels.val);
	free(g->labels.val2);
	pw_htab_free(&g->labels.ix);
	memset(&g->labels, 0, sizeof(g->labels));
	g->rows = rows;
	rows = NULL;
	g->have = true;
out:
	/* a scan that failed keeps the last one's rows */
	free(rows);
	free(labels);
	free(agg);
	scan_clear(g);
}

bool pw_sockgauge_rows(const struct pw_sockgauge *g, const struct pw_sock_row **rows, size_t *n,
		       size_t *folded)
{
	*rows = g->rows;
	*n = g->nrows;
	*folded = g->folded;
	return g->have;
}
