// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "advice.h"
#include "census_print.h"
#include "client.h"
#include "dest.h"
#include "hashtab.h"
#include "netns.h"
#include "output.h"
#include "pressure.h"
#include "procs.h"
#include "remedies.h"
#include "sockgauge.h"
#include "textfit.h"

#define WARN_SLOTS	4096	/* destinations remembered for warnings */
#define SCAN_MAX_NETNS	256	/* netns per periodic census */
#define WARN_EVERY_NS	(60ull * 1000000000)
#define LIMIT_PROBES	32

/* ---- per-destination rate limit ----
 * Open addressing over a fixed table: an entry older than the period is
 * free again, so the table only fills with destinations seen within one
 * period. At most LIMIT_PROBES slots are searched, so a call costs the same
 * however many destinations there are; a destination that finds no room is
 * refused (-1, counted by the caller), never let through: the rate limit
 * holds for any number of destinations. */
struct limit_slot {
	uint64_t netns;
	uint64_t last_ns;	/* 0: never used */
	struct pw_dest dest;
};

struct pw_dest_limit {
	struct pw_htab slots;	/* struct limit_slot */
};

struct limit_key {
	uint64_t netns, now, every;
	struct pw_dest dest;
};

struct pw_dest_limit *pw_dest_limit_new(unsigned int slots)
{
	struct pw_dest_limit *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	if (pw_htab_init(&l->slots, slots > 64 ? slots : 64, sizeof(struct limit_slot),
			 LIMIT_PROBES)) {
		free(l);
		return NULL;
	}
	return l;
}

void pw_dest_limit_free(struct pw_dest_limit *l)
{
	if (l)
		pw_htab_free(&l->slots);
	free(l);
}

/* An entry older than the period is free again (keep looking for the key). */
static enum pw_htab_slot limit_classify(const void *slot, const void *key)
{
	const struct limit_slot *s = slot;
	const struct limit_key *k = key;

	if (!s->last_ns)
		return PW_HT_EMPTY;
	if (s->netns == k->netns && pw_dest_eq(&s->dest, &k->dest))
		return PW_HT_MATCH;
	return k->now - s->last_ns >= k->every ? PW_HT_FREE : PW_HT_TAKEN;
}

int pw_dest_limit_due(struct pw_dest_limit *l, uint64_t netns, uint16_t family,
		      const uint8_t daddr[16], uint16_t dport, uint64_t now, uint64_t every)
{
	struct limit_key k = { .netns = netns, .now = now, .every = every };
	struct limit_slot *s;
	bool found;

	pw_dest_set(&k.dest, family, daddr, dport);
	/* called for every failure event */
	s = pw_htab_find(&l->slots, pw_dest_hash(&k.dest, netns), limit_classify, &k, &found);
	if (!s)
		return -1;
	if (found) {
		if (now - s->last_ns < every)
			return 0;
		s->last_ns = now;
		return 1;
	}
	s->netns = netns;
	s->dest = k.dest;
	s->last_ns = now ? now : 1;
	return 1;
}

struct pw_pressure {
	unsigned int warn_at;
	struct pw_dest_limit *warned;
	struct pw_advice *advice;
	struct pw_pressure_top top[PW_TOP_DESTS];
	size_t ntop;
	struct pw_pressure_udp_top udp_top[PW_TOP_UDP_NETNS];
	size_t nudp_top;
	uint64_t top_seen, udp_top_seen;	/* candidates of the last scan */
	bool scanned;		/* a scan listed the netns: the tops mean something */
	bool udp_said, no_udp_said;	/* stderr: UDP not counted, once each */
	struct pw_sockgauge *sockets;	/* NULL: no per-workload socket gauge */
};

struct pw_pressure *pw_pressure_new(unsigned int warn_at_pct)
{
	struct pw_pressure *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->warn_at = warn_at_pct;
	p->warned = pw_dest_limit_new(WARN_SLOTS);
	p->advice = pw_advice_new(NULL);
	if (!p->warned || !p->advice) {
		pw_dest_limit_free(p->warned);
		pw_advice_free(p->advice);
		free(p);
		return NULL;
	}
	return p;
}

void pw_pressure_free(struct pw_pressure *p)
{
	if (!p)
		return;
	pw_dest_limit_free(p->warned);
	pw_advice_free(p->advice);
	pw_sockgauge_free(p->sockets);
	free(p);
}

void pw_pressure_set_workloads(struct pw_pressure *p, struct pw_workloads *wl)
{
	pw_advice_set_workloads(p->advice, wl);
}

uint64_t pw_pressure_advice_skipped(const struct pw_pressure *p)
{
	return pw_advice_skipped(p->advice);
}

/* An fd of the netns with this inode: the failing process's if it is still
 * there, else any process's or /run/netns's. -1 if it is gone. */
static int open_netns(uint32_t pid, uint64_t inode, bool walk)
{
	uint64_t *inodes = NULL;
	int *fds = NULL, n, fd = pw_netns_open_pid(pid, inode);

	if (fd >= 0)
		return fd;
	if (!walk)
		return -1;
	n = pw_census_list_netns(&fds, &inodes);
	for (int i = 0; i < n; i++) {
		if (fd < 0 && inodes[i] == inode)
			fd = fds[i];
		else
			close(fds[i]);
	}
	free(fds);
	free(inodes);
	return fd;
}

static int req_by_netns(const void *a, const void *b)
{
	const struct pw_diag_req *x = a, *y = b;

	return x->netns < y->netns ? -1 : x->netns > y->netns;
}

static const struct pw_census_dest *find_dest(const struct pw_census_ns *ns,
					       const struct pw_diag_req *r)
{
	for (size_t i = 0; i < ns->ndests; i++) {
		const struct pw_census_dest *d = &ns->dests[i];

		if (pw_dest_eq(&d->dest, &r->dest))
			return d;
	}
	return NULL;
}

static void diag_out(FILE *out, bool json, int64_t mono_to_real, const struct pw_diag_req *r,
		     const struct pw_census_ns *ns, const struct pw_census_dest *d, int client)
{
	const char *cn = pw_client_name(client);

	char buf[1024];
	struct sbuf sb;

	sb_init(&sb, buf, sizeof(buf));
	if (json) {
		char t[48];

		pw_time_rfc3339(t, sizeof(t), r->ts_ns + mono_to_real);
		sb_printf(&sb, "{\"type\":\"pressure\",\"time\":\"%s\",\"pid\":%u,\"tid\":%u,\"comm\":",
			  t, r->pid, r->tid);
		sb_json_str(&sb, r->comm, pw_comm_len(r->comm));
		/* the HTTP client found in the failing process, if any */
		sb_printf(&sb, ",\"client\":%s%s%s", cn ? "\"" : "", cn ? cn : "null", cn ? "\"" : "");
		sb_printf(&sb, ",\"pressure\":");
		pw_census_diag_sb(&sb, ns, d);
		sb_printf(&sb, "}\n");
	} else {
		sb_printf(&sb, "  -> ");
		pw_census_diag_line(buf + sb.len, sizeof(buf) - sb.len, ns, d);
		sb.len += strlen(buf + sb.len);
		sb_printf(&sb, "\n");
	}
	if (sb.err)
		return;
	if (json)
		fputs(buf, out);
	else
		pw_text_write(out, buf, sb.len, PW_TEXT_FOLD);
}

void pw_pressure_diagnose(struct pw_pressure *p, struct pw_diag_req *reqs, size_t n,
			  FILE *out, bool json, int64_t mono_to_real)
{
	qsort(reqs, n, sizeof(*reqs), req_by_netns);
	for (size_t i = 0, j; i < n; i = j) {
		struct pw_census_filter f = { 0 };
		struct pw_census_ns ns;
		char err[256];
		int fd = -1;

		for (j = i; j < n && reqs[j].netns == reqs[i].netns; j++)
			;
		/* one destination: a filtered dump; more: one dump of the netns */
		if (j - i == 1) {
			f.one_dest = true;
			f.dest = reqs[i].dest;
		}
		for (size_t k = i; k < j && fd < 0; k++)
			fd = open_netns(reqs[k].pid, reqs[k].netns, k == j - 1);
		if (fd < 0)
			continue;	/* the netns is gone */
		if (pw_census_take(fd, &f, &ns, err, sizeof(err))) {
			close(fd);
			continue;
		}
		close(fd);
		for (size_t k = i; k < j; k++) {
			const struct pw_census_dest *d = find_dest(&ns, &reqs[k]);

			int client;

			if (!d)
				continue;
			/* what the failing process runs, while it may still live */
			client = pw_client_detect(reqs[k].pid, reqs[k].ts_ns);
			if (reqs[k].what & PW_DIAG_PRESSURE)
				diag_out(out, json, mono_to_real, &reqs[k], &ns, d, client);
			if (reqs[k].what & PW_DIAG_ADVICE)
				pw_advice_note(p->advice, out, json, mono_to_real, &reqs[k], &ns, d,
					       client);
		}
		pw_census_free(&ns);
	}
}

/* The order of the tops: ports actually held first, then usage, then the
 * netns and destination (deterministic). By held, not by usage: a tenant's
 * netns with a 1-port range holding its port is at usage 1.0, and 20 of
 * them must not push a netns holding thousands out of the export. */
static int top_cmp(const struct pw_pressure_top *a, const struct pw_pressure_top *b)
{
	if (a->held != b->held)
		return a->held < b->held ? -1 : 1;
	if (a->usage != b->usage)
		return a->usage < b->usage ? -1 : 1;
	if (a->netns != b->netns)
		return a->netns < b->netns ? -1 : 1;
	if (a->dest.family != b->dest.family)
		return a->dest.family < b->dest.family ? -1 : 1;
	if (a->dest.port != b->dest.port)
		return a->dest.port < b->dest.port ? -1 : 1;
	return memcmp(a->dest.addr, b->dest.addr, sizeof(a->dest.addr));
}

/* Keep (netns, destination) among the PW_TOP_DESTS first by top_cmp: per
 * netns, so a tenant's netns towards the same address and port never
 * stands for another's figures. Full: the last gives way to one before it;
 * every candidate is counted (the rest: portwatch_ephemeral_port_pairs_folded). */
static void top_add(struct pw_pressure *p, uint64_t netns, const struct pw_census_dest *d)
{
	struct pw_pressure_top t = { .netns = netns, .dest = d->dest, .held = d->held,
				     .usage = d->usage };
	size_t i;

	p->top_seen++;
	if (p->ntop < PW_TOP_DESTS) {
		i = p->ntop++;
	} else {
		i = 0;
		for (size_t j = 1; j < p->ntop; j++)
			if (top_cmp(&p->top[j], &p->top[i]) < 0)
				i = j;
		if (top_cmp(&p->top[i], &t) >= 0)
			return;
	}
	p->top[i] = t;
}

static void warn(FILE *out, bool json, const struct pw_census_ns *ns,
		 const struct pw_census_dest *d, unsigned int warn_at)
{
	struct pw_text_block tb;
	char buf[1024];
	struct sbuf sb;

	if (json) {
		sb_init(&sb, buf, sizeof(buf));
		sb_printf(&sb, "{\"type\":\"warning\",\"warn_at\":%u,\"pressure\":", warn_at);
		pw_census_diag_sb(&sb, ns, d);
		sb_printf(&sb, "}");
		if (!sb.err)
			fprintf(out, "%s\n", buf);
		return;
	}
	pw_census_diag_line(buf, sizeof(buf), ns, d);
	out = pw_text_begin(&tb, out);
	fprintf(out, "WARNING port pressure %.0f%% >= %u%%: %s\n", d->usage * 100, warn_at, buf);
	pw_text_end(&tb, PW_TEXT_FOLD);
}

/* The UDP tops' order: as top_cmp (held, usage, netns). */
static int udp_top_cmp(const struct pw_pressure_udp_top *a, const struct pw_pressure_udp_top *b)
{
	if (a->held != b->held)
		return a->held < b->held ? -1 : 1;
	if (a->usage != b->usage)
		return a->usage < b->usage ? -1 : 1;
	return a->netns < b->netns ? -1 : a->netns > b->netns;
}

/* A netns's UDP part into the top (the last by udp_top_cmp gives way);
 * every candidate counted (the rest: portwatch_udp_ephemeral_netns_folded). */
static void udp_top_add(struct pw_pressure *p, const struct pw_census_ns *ns)
{
	struct pw_pressure_udp_top t = { .netns = ns->netns, .held = ns->udp.held,
					 .usage = ns->udp.usage };
	size_t i;

	if (!ns->udp.taken || !ns->udp.held)
		return;
	p->udp_top_seen++;
	if (p->nudp_top < PW_TOP_UDP_NETNS) {
		i = p->nudp_top++;
	} else {
		i = 0;
		for (size_t j = 1; j < p->nudp_top; j++)
			if (udp_top_cmp(&p->udp_top[j], &p->udp_top[i]) < 0)
				i = j;
		if (udp_top_cmp(&p->udp_top[i], &t) >= 0)
			return;
	}
	p->udp_top[i] = t;
}

/* A netns whose UDP part was asked for and not taken: said once on stderr
 * per kind (no udp_diag in the kernel; any other reason), never a 0. */
static void udp_not_taken(struct pw_pressure *p, const struct pw_census_ns *ns)
{
	if (!ns->udp.err)
		return;
	if (ns->udp.err == -ENOENT) {
		if (!p->no_udp_said)
			fprintf(stderr, "portwatch: census: the kernel has no UDP sock_diag (udp_diag): "
				"UDP sockets not counted (the UDP port gauges have no "
				"samples)\n");
		p->no_udp_said = true;
		return;
	}
	if (!p->udp_said)
		fprintf(stderr, "portwatch: census: UDP sockets not counted in netns %llu (its UDP "
			"port gauge samples left out; said once): %s\n",
			(unsigned long long)ns->netns, ns->udp.why);
	p->udp_said = true;
}

void pw_pressure_scan_ns(struct pw_pressure *p, const struct pw_census_ns *ns, uint64_t now_ns,
			 FILE *out, bool json)
{
	udp_not_taken(p, ns);
	udp_top_add(p, ns);
	for (size_t j = 0; j < ns->ndests; j++) {
		const struct pw_census_dest *d = &ns->dests[j];

		if (!d->held)
			continue;
		top_add(p, ns->netns, d);
		if (d->usage * 100 >= p->warn_at &&
		    pw_dest_limit_due(p->warned, ns->netns, d->dest.family, d->dest.addr,
				      d->dest.port, now_ns, WARN_EVERY_NS) == 1)
			warn(out, json, ns, d, p->warn_at);
	}
}

void pw_pressure_scan(struct pw_pressure *p, uint64_t now_ns, FILE *out, bool json)
{
	struct pw_census_filter f = { 0 };
	struct pw_census_ns ns;
	uint64_t *inodes = NULL;
	int *fds = NULL, n;
	char err[256];

	n = pw_census_list_netns(&fds, &inodes);
	if (n > SCAN_MAX_NETNS)
		pw_census_count_skipped_netns(n - SCAN_MAX_NETNS);
	if (n >= 0) {	/* else the last scan's tops stay (as the sockets' rows) */
		p->scanned = true;
		p->ntop = 0;
		p->nudp_top = 0;
		p->top_seen = 0;
		p->udp_top_seen = 0;
	}
	if (p->sockets) {
		f.udp = true;	/* the UDP gauges: with --listen only, as the sockets' */
		pw_sockgauge_begin(p->sockets);
		pw_sockgauge_filter(p->sockets, &f);
	}
	for (int i = 0; i < n; i++) {
		bool ok = i < SCAN_MAX_NETNS && !pw_census_take(fds[i], &f, &ns, err, sizeof(err));

		if (p->sockets && i < SCAN_MAX_NETNS)
			pw_sockgauge_netns_done(p->sockets, ok, ok ? ns.netns : 0);
		if (ok) {
			pw_pressure_scan_ns(p, &ns, now_ns, out, json);
			pw_census_free(&ns);
		}
		close(fds[i]);
	}
	if (p->sockets && n >= 0)	/* else the last scan's rows stay */
		pw_sockgauge_end(p->sockets);
	free(fds);
	free(inodes);
	fflush(out);
}

bool pw_pressure_enable_sockets(struct pw_pressure *p, const char *pods_dir)
{
	if (!p->sockets)
		p->sockets = pw_sockgauge_new(pods_dir);
	return p->sockets;
}

const struct pw_sockgauge *pw_pressure_sockets(const struct pw_pressure *p)
{
	return p->sockets;
}

size_t pw_pressure_udp_top(const struct pw_pressure *p, const struct pw_pressure_udp_top **top)
{
	*top = p->udp_top;
	return p->nudp_top;
}

size_t pw_pressure_top(const struct pw_pressure *p, const struct pw_pressure_top **top)
{
	*top = p->top;
	return p->ntop;
}

bool pw_pressure_scanned(const struct pw_pressure *p)
{
	return p->scanned;
}

uint64_t pw_pressure_top_folded(const struct pw_pressure *p)
{
	return p->top_seen - p->ntop;
}

uint64_t pw_pressure_udp_top_folded(const struct pw_pressure *p)
{
	return p->udp_top_seen - p->nudp_top;
}

void pw_print_remedies(FILE *out, bool json, const struct pw_census_ns *ns,
		       const struct pw_census_dest *d, uint32_t bound_conflicts, int client,
		       uint32_t client_pid)
{
	struct pw_remedy_input in;
	struct pw_remedy r[PW_MAX_REMEDIES];
	struct pw_text_block tb;
	char line[1024];
	int n;

	pw_remedy_input_from_census(&in, ns, d);
	in.bound_conflicts = bound_conflicts;
	in.client = client;
	in.client_pid = client_pid;
	n = pw_remedies(&in, r, PW_MAX_REMEDIES);
	if (json) {
		char buf[16384];
		struct sbuf sb;

		sb_init(&sb, buf, sizeof(buf));
		const char *cn = pw_client_name(client);

		sb_printf(&sb, "{\"type\":\"remedies\",\"client\":%s%s%s,\"pressure\":",
			  cn ? "\"" : "", cn ? cn : "null", cn ? "\"" : "");
		pw_census_diag_sb(&sb, ns, d);
		sb_printf(&sb, ",\"remedies\":[");
		for (int i = 0; i < n; i++) {
			sb_printf(&sb, "%s{\"id\":\"%s\",\"text\":", i ? "," : "", r[i].id);
			sb_json_str(&sb, r[i].text, strlen(r[i].text));
			sb_printf(&sb, "}");
		}
		sb_printf(&sb, "]}");
		if (!sb.err)
			fprintf(out, "%s\n", buf);
		return;
	}
	pw_census_diag_line(line, sizeof(line), ns, d);
	out = pw_text_begin(&tb, out);
	fprintf(out, "\nRemedies for %s:\n", line);
	for (int i = 0; i < n; i++)
		fprintf(out, "  - %s\n", r[i].text);
	pw_text_end(&tb, PW_TEXT_FOLD);
}

void pw_pressure_remedies(struct pw_pressure *p, FILE *out, bool json)
{
	pw_advice_summary(p->advice, out, json);
}
