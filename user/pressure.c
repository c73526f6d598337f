// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "output.h"
#include "pressure.h"

#define DIAG_SLOTS	256	/* destinations remembered for rate limiting */
#define DIAG_WAYS	8	/* set-associative: one set is searched per event */
#define SCAN_MAX_NETNS	256	/* netns per periodic census */
#define WARN_EVERY_NS	(60ull * 1000000000)

struct seen {
	uint64_t netns;
	uint16_t family;
	uint16_t dport;
	uint8_t daddr[16];
	uint64_t last_ns;
};

struct pw_pressure {
	unsigned int warn_at;
	struct seen diag[DIAG_SLOTS];
	struct seen warned[DIAG_SLOTS];
	struct pw_census_ns last;		/* of the last diagnosis */
	bool have_worst;
	struct pw_census_ns worst;		/* header only: dests == NULL */
	struct pw_census_dest worst_dest;
	struct pw_pressure_top top[PW_TOP_DESTS];
	size_t ntop;
};

struct pw_pressure *pw_pressure_new(unsigned int warn_at_pct)
{
	struct pw_pressure *p = calloc(1, sizeof(*p));

	if (p)
		p->warn_at = warn_at_pct;
	return p;
}

void pw_pressure_free(struct pw_pressure *p)
{
	if (!p)
		return;
	pw_census_free(&p->last);
	free(p);
}

/* Is it time again for this destination? Records now if so. Called for
 * every failure event, so only the destination's set of DIAG_WAYS slots is
 * searched; a full set forgets its stalest entry. */
static bool due(struct seen *tab, uint64_t netns, uint16_t family, const uint8_t *daddr,
		uint16_t dport, uint64_t now, uint64_t every)
{
	uint64_t h = netns * 0x9e3779b97f4a7c15ull ^ ((uint64_t)family << 16 | dport);
	struct seen *set, *oldest;

	for (int i = 0; i < 16; i++)
		h = (h ^ daddr[i]) * 0x100000001b3ull;
	set = &tab[(h >> 32) % (DIAG_SLOTS / DIAG_WAYS) * DIAG_WAYS];
	oldest = &set[0];
	for (int i = 0; i < DIAG_WAYS; i++) {
		struct seen *s = &set[i];

		if (s->last_ns && s->netns == netns && s->family == family && s->dport == dport &&
		    !memcmp(s->daddr, daddr, 16)) {
			if (now - s->last_ns < every)
				return false;
			s->last_ns = now;
			return true;
		}
		if (s->last_ns < oldest->last_ns)
			oldest = s;
	}
	oldest->netns = netns;
	oldest->family = family;
	oldest->dport = dport;
	memcpy(oldest->daddr, daddr, 16);
	oldest->last_ns = now;
	return true;
}

static bool fd_is_netns(int fd, uint64_t inode)
{
	struct stat st;

	return !fstat(fd, &st) && (uint64_t)st.st_ino == inode;
}

/* An fd of the netns with this inode: the failing process's if it is still
 * there, else any process's or /run/netns's. -1 if it is gone. */
static int open_netns(uint32_t pid, uint64_t inode)
{
	char path[64];
	uint64_t *inodes = NULL;
	int *fds = NULL, n, fd = -1;

	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 && fd_is_netns(fd, inode))
		return fd;
	if (fd >= 0)
		close(fd);
	fd = -1;
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

bool pw_pressure_diagnose(struct pw_pressure *p, const struct pw_event *e, uint64_t now_ns,
			  const struct pw_census_ns **ns, const struct pw_census_dest **d)
{
	struct pw_census_filter f = { .one_dest = true, .family = e->family, .dport = e->dport };
	char err[256];
	int fd;

	if (e->ret != -EADDRNOTAVAIL || !e->netns ||
	    !due(p->diag, e->netns, e->family, e->daddr, e->dport, now_ns, PW_DIAG_EVERY_NS))
		return false;
	fd = open_netns(e->pid, e->netns);
	if (fd < 0)
		return false;
	memcpy(f.daddr, e->daddr, 16);
	pw_census_free(&p->last);
	if (pw_census_take(fd, &f, &p->last, err, sizeof(err)) || !p->last.ndests) {
		close(fd);
		return false;
	}
	close(fd);
	*ns = &p->last;
	*d = &p->last.dests[0];
	if (!p->have_worst || (*d)->usage > p->worst_dest.usage) {
		p->worst = p->last;
		p->worst.dests = NULL;
		p->worst.ndests = 0;
		p->worst_dest = **d;
		p->have_worst = true;
	}
	return true;
}

static void top_add(struct pw_pressure *p, const struct pw_census_dest *d)
{
	size_t i;

	/* the same destination in several netns: one series, the highest */
	for (i = 0; i < p->ntop; i++) {
		struct pw_pressure_top *t = &p->top[i];

		if (t->family == d->family && t->dport == d->dport && !memcmp(t->daddr, d->daddr, 16)) {
			if (d->usage > t->usage) {
				t->usage = d->usage;
				t->held = d->held;
			}
			return;
		}
	}
	if (p->ntop < PW_TOP_DESTS) {
		i = p->ntop++;
	} else {
		i = 0;
		for (size_t j = 1; j < p->ntop; j++)
			if (p->top[j].usage < p->top[i].usage)
				i = j;
		if (p->top[i].usage >= d->usage)
			return;
	}
	p->top[i].family = d->family;
	memcpy(p->top[i].daddr, d->daddr, 16);
	p->top[i].dport = d->dport;
	p->top[i].held = d->held;
	p->top[i].usage = d->usage;
}

static void warn(FILE *out, bool json, const struct pw_census_ns *ns,
		 const struct pw_census_dest *d, unsigned int warn_at)
{
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
	fprintf(out, "WARNING port pressure %.0f%% >= %u%%: %s\n", d->usage * 100, warn_at, buf);
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
	p->ntop = 0;
	for (int i = 0; i < n; i++) {
		if (i < SCAN_MAX_NETNS && !pw_census_take(fds[i], &f, &ns, err, sizeof(err))) {
			for (size_t j = 0; j < ns.ndests; j++) {
				const struct pw_census_dest *d = &ns.dests[j];

				if (!d->held)
					continue;
				top_add(p, d);
				if (d->usage * 100 >= p->warn_at &&
				    due(p->warned, ns.netns, d->family, d->daddr, d->dport, now_ns,
					WARN_EVERY_NS))
					warn(out, json, &ns, d, p->warn_at);
			}
			pw_census_free(&ns);
		}
		close(fds[i]);
	}
	free(fds);
	free(inodes);
	fflush(out);
}

size_t pw_pressure_top(const struct pw_pressure *p, const struct pw_pressure_top **top)
{
	*top = p->top;
	return p->ntop;
}

void pw_print_remedies(FILE *out, bool json, const struct pw_census_ns *ns,
		       const struct pw_census_dest *d, uint32_t bound_conflicts, bool is_curl)
{
	struct pw_remedy_input in;
	struct pw_remedy r[PW_MAX_REMEDIES];
	char line[1024];
	int n;

	pw_remedy_input_from_census(&in, ns, d);
	in.bound_conflicts = bound_conflicts;
	in.is_curl = is_curl;
	n = pw_remedies(&in, r, PW_MAX_REMEDIES);
	if (json) {
		char buf[8192];
		struct sbuf sb;

		sb_init(&sb, buf, sizeof(buf));
		sb_printf(&sb, "{\"type\":\"remedies\",\"pressure\":");
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
	fprintf(out, "\nRemedies for %s:\n", line);
	for (int i = 0; i < n; i++)
		fprintf(out, "  - %s\n", r[i].text);
}

void pw_pressure_remedies(struct pw_pressure *p, FILE *out, bool json,
			  uint32_t bound_conflicts, bool is_curl)
{
	if (p->have_worst)
		pw_print_remedies(out, json, &p->worst, &p->worst_dest, bound_conflicts, is_curl);
}
