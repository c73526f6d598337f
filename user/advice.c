// SPDX-License-Identifier: GPL-2.0
/* Live remedies: see advice.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "advice.h"
#include "census_print.h"
#include "client.h"
#include "escape.h"
#include "fmt.h"
#include "hashtab.h"
#include "output.h"
#include "remedies.h"
#include "sbuf.h"
#include "textfit.h"
#include "util.h"
#include "workload.h"

#define PROBES		32
#define SEC		1000000000ull

static uint64_t mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= h >> 31;
	h *= 0xbf58476d1ce4e5b9ull;
	return h ^ (h >> 29);
}

/* ---- the consumer's half ---- */

struct proc_slot {
	uint64_t cgroup, netns, last_ns;	/* last_ns 0: never used */
	struct pw_dest dest;
	uint32_t tgid;
};

/* A token bucket per cgroup, in tokens * SEC (refilled PW_ADVICE_PER_S a
 * second up to PW_ADVICE_BURST): a bucket refilled to full is the same as
 * none, so a slot idle that long is free again. */
struct cg_slot {
	uint64_t cgroup, last_ns;		/* last_ns 0: never used */
	uint64_t tokens;
};

struct pw_advice_limit {
	struct pw_htab procs;	/* struct proc_slot */
	struct pw_htab cgs;	/* struct cg_slot */
	uint64_t skipped;
};

struct proc_key {
	struct proc_slot k;
	uint64_t now;
};

struct cg_key {
	uint64_t cgroup, now;
};

#define CG_FULL_NS	((uint64_t)PW_ADVICE_BURST * SEC / PW_ADVICE_PER_S)

struct pw_advice_limit *pw_advice_limit_new(void)
{
	struct pw_advice_limit *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (pw_htab_init(&l->procs, PW_ADVICE_PROC_SLOTS, sizeof(struct proc_slot), PROBES)) {
		free(l);
		return NULL;
	}
	if (pw_htab_init(&l->cgs, PW_ADVICE_CG_SLOTS, sizeof(struct cg_slot), PROBES)) {
		pw_htab_free(&l->procs);
		free(l);
		return NULL;
	}
	return l;
}

void pw_advice_limit_free(struct pw_advice_limit *l)
{
	if (!l)
		return;
	pw_htab_free(&l->procs);
	pw_htab_free(&l->cgs);
	free(l);
}

uint64_t pw_advice_limit_skipped(const struct pw_advice_limit *l)
{
	return l ? l->skipped : 0;
}

static enum pw_htab_slot proc_classify(const void *slot, const void *key)
{
	const struct proc_slot *s = slot;
	const struct proc_key *k = key;

	if (!s->last_ns)
		return PW_HT_EMPTY;
	if (s->cgroup == k->k.cgroup && s->netns == k->k.netns && s->tgid == k->k.tgid &&
	    pw_dest_eq(&s->dest, &k->k.dest))
		return PW_HT_MATCH;
	return k->now - s->last_ns >= PW_DIAG_EVERY_NS ? PW_HT_FREE : PW_HT_TAKEN;
}

static enum pw_htab_slot cg_classify(const void *slot, const void *key)
{
	const struct cg_slot *s = slot;
	const struct cg_key *k = key;

	if (!s->last_ns)
		return PW_HT_EMPTY;
	if (s->cgroup == k->cgroup)
		return PW_HT_MATCH;
	return k->now - s->last_ns >= CG_FULL_NS ? PW_HT_FREE : PW_HT_TAKEN;
}

/* The cgroup's bucket, refilled to now; NULL: no room (skipped). */
static struct cg_slot *bucket(struct pw_advice_limit *l, uint64_t cgroup, uint64_t now)
{
	struct cg_key k = { .cgroup = cgroup, .now = now };
	struct cg_slot *s;
	bool found;

	s = pw_htab_find(&l->cgs, mix(0x6367, cgroup), cg_classify, &k, &found);
	if (!s)
		return NULL;
	if (!found) {
		s->cgroup = cgroup;
		s->tokens = (uint64_t)PW_ADVICE_BURST * SEC;
	} else if (now > s->last_ns) {
		uint64_t add = (now - s->last_ns) * PW_ADVICE_PER_S;

		s->tokens = add >= CG_FULL_NS * PW_ADVICE_PER_S - s->tokens
				    ? (uint64_t)PW_ADVICE_BURST * SEC : s->tokens + add;
	}
	s->last_ns = now ? now : 1;
	return s;
}

int pw_advice_limit_ask(struct pw_advice_limit *l, uint64_t cgroup, uint64_t netns,
			const struct pw_dest *dest, uint32_t tgid, uint64_t now)
{
	struct proc_key k = { .k = { .cgroup = cgroup, .netns = netns, .dest = *dest, .tgid = tgid },
			      .now = now };
	struct proc_slot *s;
	struct cg_slot *b;
	bool found;
	uint64_t h;

	h = mix(mix(mix(pw_dest_hash(dest, netns), cgroup), tgid), 0x70);
	/* called for every EADDRNOTAVAIL event */
	s = pw_htab_find(&l->procs, h, proc_classify, &k, &found);
	if (found && now - s->last_ns < PW_DIAG_EVERY_NS)
		return 0;	/* asked within the period */
	/* a new ask: the cgroup's budget first, so a storm of one cgroup's
	 * keys stops at its budget, before it takes the table's room */
	b = bucket(l, cgroup, now);
	if (!b || b->tokens < SEC || !s) {
		l->skipped++;
		return -1;
	}
	b->tokens -= SEC;
	*s = k.k;
	s->last_ns = now ? now : 1;
	return 1;
}

bool pw_advice_limit_due(struct pw_advice_limit *l, uint64_t cgroup, uint64_t netns,
			 const struct pw_dest *dest, uint32_t tgid, uint64_t now)
{
	return pw_advice_limit_ask(l, cgroup, netns, dest, tgid, now) == 1;
}

/* ---- the worker's half ---- */

struct key_slot {
	uint64_t cgroup, netns, last_ns;	/* last advice; 0: never used */
	struct pw_dest dest;
	int client;
	uint64_t repeats;	/* diagnoses since the last advice, not advised */
};

struct key_key {
	struct key_slot k;
	uint64_t now;
};

/* A top failer, for the summary: the key, its last diagnosis. */
struct failer {
	uint64_t cgroup;
	int client;
	uint32_t pid;
	char comm[PW_COMM_LEN];
	uint32_t bound_conflicts;
	uint64_t diagnoses;
	uint64_t seq;			/* when it became a top failer */
	struct pw_census_ns ns;		/* header only: dests == NULL */
	struct pw_census_dest d;	/* holders == NULL */
};

struct pw_advice {
	struct pw_htab keys;	/* struct key_slot */
	struct pw_workloads *wl;
	uint64_t skipped;
	struct failer top[PW_ADVICE_SUMMARY];
	size_t ntop;
	uint64_t seq;
	uint64_t now;		/* the latest failure's time seen (CLOCK_MONOTONIC) */
};

struct pw_advice *pw_advice_new(struct pw_workloads *wl)
{
	struct pw_advice *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	if (pw_htab_init(&a->keys, PW_ADVICE_KEYS, sizeof(struct key_slot), PROBES)) {
		free(a);
		return NULL;
	}
	a->wl = wl;
	return a;
}

void pw_advice_free(struct pw_advice *a)
{
	if (!a)
		return;
	pw_htab_free(&a->keys);
	free(a);
}

void pw_advice_set_workloads(struct pw_advice *a, struct pw_workloads *wl)
{
	if (a)
		a->wl = wl;
}

uint64_t pw_advice_skipped(const struct pw_advice *a)
{
	return a ? a->skipped : 0;
}

static enum pw_htab_slot key_classify(const void *slot, const void *key)
{
	const struct key_slot *s = slot;
	const struct key_key *k = key;

	if (!s->last_ns)
		return PW_HT_EMPTY;
	if (s->cgroup == k->k.cgroup && s->netns == k->k.netns && s->client == k->k.client &&
	    pw_dest_eq(&s->dest, &k->k.dest))
		return PW_HT_MATCH;
	return k->now - s->last_ns >= PW_ADVICE_EVERY_NS ? PW_HT_FREE : PW_HT_TAKEN;
}

static struct key_slot *key_find(struct pw_advice *a, struct key_key *k, bool *found)
{
	uint64_t h = mix(mix(pw_dest_hash(&k->k.dest, k->k.netns), k->k.cgroup),
			 (uint64_t)k->k.client);

	return pw_htab_find(&a->keys, h, key_classify, k, found);
}

static bool same_place(const struct failer *f, uint64_t cgroup, const struct pw_census_ns *ns,
		       const struct pw_dest *dest)
{
	return f->cgroup == cgroup && f->ns.netns == ns->netns && pw_dest_eq(&f->d.dest, dest);
}

/* Keep the key among the top failers: the same key counted (its most
 * pressured diagnosis kept, of a process whose own client it is: own),
 * else a free place, else the least pressured one replaced if this one is
 * more. */
static void top_add(struct pw_advice *a, const struct pw_diag_req *r,
		    const struct pw_census_ns *ns, const struct pw_census_dest *d, int client,
		    bool own)
{
	struct failer *f = NULL;
	size_t i;

	for (i = 0; i < a->ntop && !f; i++)
		if (a->top[i].client == client && same_place(&a->top[i], r->cgroup_id, ns, &d->dest))
			f = &a->top[i];
	if (f) {
		f->diagnoses++;
		if (!own || d->usage <= f->d.usage)
			return;
	} else if (!own) {
		return;
	} else if (a->ntop < PW_ADVICE_SUMMARY) {
		f = &a->top[a->ntop++];
		f->diagnoses = 1;
		f->seq = ++a->seq;
	} else {
		f = &a->top[0];
		for (i = 1; i < a->ntop; i++)
			if (a->top[i].d.usage < f->d.usage)
				f = &a->top[i];
		if (f->d.usage >= d->usage)
			return;
		f->diagnoses = 1;
		f->seq = ++a->seq;
	}
	f->cgroup = r->cgroup_id;
	f->client = client;
	f->pid = r->pid;
	memcpy(f->comm, r->comm, PW_COMM_LEN);
	f->bound_conflicts = r->bound_conflicts;
	f->ns = *ns;
	f->ns.dests = NULL;
	f->ns.ndests = 0;
	f->ns.holder_store = NULL;	/* freed with ns */
	f->d = *d;
	f->d.holders = NULL;		/* freed with ns */
	f->d.nholders = 0;
}

static const char *client_text(int client)
{
	const char *cn = pw_client_name(client);

	if (cn)
		return cn;
	return client == PW_CLIENT_GONE ? "not seen (exited)" : "none known";
}

/* One block: live ("advice", with the failure's time and repeats) or the
 * summary's ("remedies"). */
/* ,"remedies":[{"id":...,"text":...},...] */
static void remedies_json(struct sbuf *sb, const struct pw_remedy *rem, int n)
{
	sb_lit(sb, ",\"remedies\":[");
	for (int i = 0; i < n; i++) {
		sb_printf(sb, "%s{\"id\":\"%s\",\"text\":", i ? "," : "", rem[i].id);
		sb_json_str(sb, rem[i].text, strlen(rem[i].text));
		sb_putc(sb, '}');
	}
	sb_putc(sb, ']');
}

static void block(struct pw_advice *a, FILE *out, bool json, bool live, uint64_t real_ns,
		  uint32_t pid, uint32_t tid, const char *comm, uint64_t cgroup, int client,
		  uint64_t count, uint32_t bound_conflicts, const struct pw_census_ns *ns,
		  const struct pw_census_dest *d)
{
	static char buf[65536];
	const struct pw_workload *w = NULL;
	struct pw_remedy_input in;
	struct pw_remedy rem[PW_MAX_REMEDIES];
	const char *cn = pw_client_name(client);
	struct sbuf sb;
	int n;

	pw_remedy_input_from_census(&in, ns, d);
	in.bound_conflicts = bound_conflicts;
	in.client = client;
	in.client_pid = pid;
	n = pw_remedies(&in, rem, PW_MAX_REMEDIES);
	if (a->wl)
		w = pw_workloads_get(a->wl, cgroup, pw_clock_ns(CLOCK_MONOTONIC));
	sb_init(&sb, buf, sizeof(buf));
	if (json) {
		sb_printf(&sb, "{\"type\":\"%s\"", live ? "advice" : "remedies");
		if (live) {
			sb_lit(&sb, ",\"time\":\"");
			sb_time_rfc3339(&sb, real_ns);
			sb_putc(&sb, '"');
		}
		sb_lit(&sb, ",\"pid\":");
		sb_u64(&sb, pid);
		if (live) {
			sb_lit(&sb, ",\"tid\":");
			sb_u64(&sb, tid);
		}
		sb_lit(&sb, ",\"comm\":");
		sb_json_str(&sb, comm, pw_comm_len(comm));
		sb_printf(&sb, ",\"client\":%s%s%s", cn ? "\"" : "", cn ? cn : "null", cn ? "\"" : "");
		sb_lit(&sb, ",\"cgroup_id\":");
		sb_u64(&sb, cgroup);
		sb_workload_json(&sb, w);
		sb_puts(&sb, live ? ",\"repeats\":" : ",\"diagnoses\":");
		sb_u64(&sb, count);
		sb_lit(&sb, ",\"pressure\":");
		pw_census_diag_sb(&sb, ns, d);
		remedies_json(&sb, rem, n);
		sb_lit(&sb, "}\n");
	} else {
		char line[1024];

		pw_census_diag_line(line, sizeof(line), ns, d);
		if (live)
			sb_printf(&sb, "REMEDIES for %s:\n", line);
		else
			sb_printf(&sb, "\nRemedies for %s:\n", line);
		sb_printf(&sb, "%sfor pid %u (", live ? "    " : "  ", pid);
		sb_comm_text(&sb, comm);
		sb_printf(&sb, "), client %s, workload ", client_text(client));
		if (w)
			sb_workload_text(&sb, w);
		else
			sb_printf(&sb, "cgroup id %llu", (unsigned long long)cgroup);
		if (live && count)
			sb_printf(&sb, "; %llu more diagnos%s since its last advice\n",
				  (unsigned long long)count, count == 1 ? "is" : "es");
		else if (live)
			sb_putc(&sb, '\n');
		else
			sb_printf(&sb, "; %llu diagnos%s\n", (unsigned long long)count,
				  count == 1 ? "is" : "es");
		for (int i = 0; i < n; i++)
			sb_printf(&sb, "%s- %s\n", live ? "    " : "  ", rem[i].text);
	}
	if (!sb.err && json)
		fputs(buf, out);
	else if (!sb.err)
		pw_text_write(out, buf, sb.len, PW_TEXT_FOLD);
}

void pw_advice_note(struct pw_advice *a, FILE *out, bool json, int64_t mono_to_real,
		    const struct pw_diag_req *r, const struct pw_census_ns *ns,
		    const struct pw_census_dest *d, int client)
{
	struct key_key k = { .k = { .cgroup = r->cgroup_id, .netns = ns->netns, .dest = d->dest,
				    .client = client },
			     .now = r->ts_ns > a->now ? r->ts_ns : a->now };
	struct key_slot *s = NULL;
	uint64_t repeats;
	bool found = false;

	if (!a)
		return;
	/* the failures' clock, never back (a batch's requests are not in
	 * time order) */
	a->now = k.now;
	/* a process gone says nothing of its client: a key of the same place
	 * with a client seen within the period stands for it */
	if (client == PW_CLIENT_GONE) {
		for (int c = PW_CLIENT_UNKNOWN; c <= PW_CLIENT_NODE && !found; c++) {
			k.k.client = c;
			s = key_find(a, &k, &found);
			if (found && k.now - s->last_ns >= PW_ADVICE_EVERY_NS)
				found = false;
		}
		if (found) {
			s->repeats++;
			top_add(a, r, ns, d, s->client, false);
			return;
		}
		k.k.client = client;
	}
	s = key_find(a, &k, &found);
	if (!s) {
		a->skipped++;	/* no room: not advised, but counted for the summary */
		top_add(a, r, ns, d, client, true);
		return;
	}
	if (found && k.now - s->last_ns < PW_ADVICE_EVERY_NS) {
		s->repeats++;
		top_add(a, r, ns, d, client, true);
		return;
	}
	repeats = found ? s->repeats : 0;
	*s = k.k;
	s->last_ns = k.now ? k.now : 1;
	s->repeats = 0;
	top_add(a, r, ns, d, client, true);
	block(a, out, json, true, r->ts_ns + mono_to_real, r->pid, r->tid, r->comm, r->cgroup_id,
	      client, repeats, r->bound_conflicts, ns, d);
}

static int by_usage(const void *x, const void *y)
{
	const struct failer *a = x, *b = y;

	if (a->d.usage != b->d.usage)
		return a->d.usage > b->d.usage ? -1 : 1;
	if (a->diagnoses != b->diagnoses)
		return a->diagnoses > b->diagnoses ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void pw_advice_summary(struct pw_advice *a, FILE *out, bool json)
{
	if (!a)
		return;
	qsort(a->top, a->ntop, sizeof(a->top[0]), by_usage);
	for (size_t i = 0; i < a->ntop; i++) {
		const struct failer *f = &a->top[i];
		bool seen = false;

		/* a gone process's key, where one with its client was seen */
		for (size_t j = 0; j < a->ntop && f->client == PW_CLIENT_GONE; j++)
			seen |= j != i && a->top[j].client != PW_CLIENT_GONE &&
				same_place(&a->top[j], f->cgroup, &f->ns, &f->d.dest);
		if (seen)
			continue;
		block(a, out, json, false, 0, f->pid, 0, f->comm, f->cgroup, f->client, f->diagnoses,
		      f->bound_conflicts, &f->ns, &f->d);
	}
}
