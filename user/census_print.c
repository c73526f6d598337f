// SPDX-License-Identifier: GPL-2.0
/* A census as text (one table per netns) and NDJSON (one object per
 * destination), and the diagnosis of one destination as a line and as JSON. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "census_print.h"
#include "output.h"
#include "textfit.h"

/* 1.0, 0.625, 0.3333: JSON numbers that still read as fractions */
static void usage_text(char *buf, size_t sz, double u)
{
	size_t n;

	snprintf(buf, sz, "%.4f", u);
	n = strlen(buf);
	while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
}

static void states_json(struct sbuf *sb, const struct pw_census_dest *d)
{
	bool first = true;

	sb_printf(sb, "{");
	for (unsigned int s = 1; s < PW_TCP_STATES; s++) {
		if (!d->states[s])
			continue;
		sb_printf(sb, "%s\"%s\":%u", first ? "" : ",", pw_tcp_state_name(s),
			  d->states[s]);
		first = false;
	}
	sb_printf(sb, "}");
}

static void dest_head_json(struct sbuf *sb, const struct pw_census_ns *ns,
			   const struct pw_census_dest *d)
{
	char a[INET6_ADDRSTRLEN];

	pw_addr_text(a, sizeof(a), d->dest.family, d->dest.addr);
	sb_printf(sb, "\"netns\":%" PRIu64 ",\"daddr\":\"%s\",\"dport\":%u", ns->netns, a,
		  d->dest.port);
}

static void holders_json(struct sbuf *sb, const struct pw_holder *h, unsigned int n)
{
	sb_printf(sb, "[");
	for (unsigned int j = 0; j < n; j++) {
		sb_printf(sb, "%s{\"pid\":%u,\"comm\":", j ? "," : "", h[j].pid);
		sb_json_str(sb, h[j].comm, pw_comm_len(h[j].comm));
		sb_printf(sb, ",\"sockets\":%u}", h[j].sockets);
	}
	sb_printf(sb, "]");
}

/* The UDP part, one object per netns (census_udp.h). */
static void udp_json(FILE *f, const struct pw_census_ns *ns)
{
	const struct pw_census_udp *u = &ns->udp;
	char buf[4096], us[32];
	struct sbuf sb;

	if (!u->taken)
		return;
	sb_init(&sb, buf, sizeof(buf));
	usage_text(us, sizeof(us), u->usage);
	sb_printf(&sb, "{\"type\":\"census_udp\",\"netns\":%" PRIu64 ",\"port_range\":[%d,%d],"
		  "\"reserved\":%u,\"range_size\":%u,\"held\":%u,\"usage\":%s,"
		  "\"sockets_in_range\":%u,\"sockets\":%u,\"holders\":", ns->netns,
		  ns->range_lo, ns->range_hi, u->reserved, u->range_size, u->held, us,
		  u->sockets_in_range, u->sockets);
	holders_json(&sb, u->holders, u->nholders);
	sb_printf(&sb, "}");
	if (!sb.err)
		fprintf(f, "%s\n", buf);
}

void pw_census_print_json(FILE *f, const struct pw_census_ns *ns)
{
	/* 8 holders with fully escaped comms fit easily */
	char buf[4096], u[32];

	for (size_t i = 0; i < ns->ndests; i++) {
		const struct pw_census_dest *d = &ns->dests[i];
		struct sbuf sb;

		sb_init(&sb, buf, sizeof(buf));
		sb_printf(&sb, "{\"type\":\"census\",");
		dest_head_json(&sb, ns, d);
		sb_printf(&sb, ",\"states\":");
		states_json(&sb, d);
		usage_text(u, sizeof(u), d->usage);
		sb_printf(&sb, ",\"held\":%u,\"range_size\":%u,\"usage\":%s,\"reusable_time_wait\":%u,\"holders\":",
			  d->held, ns->range_size, u, d->reusable_time_wait);
		holders_json(&sb, d->holders, d->nholders);
		sb_printf(&sb, "}");
		if (!sb.err)
			fprintf(f, "%s\n", buf);
	}
	if (ns->other_dests_folded) {
		/* the destinations past the cap, together */
		struct sbuf sb;

		sb_init(&sb, buf, sizeof(buf));
		sb_printf(&sb, "{\"type\":\"census\",\"netns\":%" PRIu64 ",\"other\":true,"
			  "\"max_destinations\":%u,\"states\":", ns->netns, PW_CENSUS_MAX_DESTS);
		states_json(&sb, &ns->other);
		usage_text(u, sizeof(u), ns->other.usage);
		sb_printf(&sb, ",\"held\":%u,\"range_size\":%u,\"usage\":%s,\"reusable_time_wait\":%u}",
			  ns->other.held, ns->range_size, u, ns->other.reusable_time_wait);
		if (!sb.err)
			fprintf(f, "%s\n", buf);
	}
	udp_json(f, ns);
}

#define NCOLS 9
static const char *const cols[NCOLS] = { "HELD", "USAGE", "ESTAB", "SYN_SENT", "TIME_WAIT",
					 "FIN_WAIT", "CLOSE_WAIT", "OTHER", "REUSABLE_TW" };

/* One row's cells, numbers already as text. */
static void row_cells(const struct pw_census_dest *d, char cell[NCOLS][16])
{
	const uint32_t *s = d->states;
	uint32_t v[NCOLS] = { 0 }, other = 0;

	for (unsigned int k = 1; k < PW_TCP_STATES; k++)
		other += s[k];
	other -= s[PW_ST_ESTABLISHED] + s[PW_ST_SYN_SENT] + s[PW_ST_TIME_WAIT] +
		 s[PW_ST_FIN_WAIT1] + s[PW_ST_FIN_WAIT2] + s[PW_ST_CLOSE_WAIT];
	v[0] = d->held;
	v[2] = s[PW_ST_ESTABLISHED];
	v[3] = s[PW_ST_SYN_SENT];
	v[4] = s[PW_ST_TIME_WAIT];
	v[5] = s[PW_ST_FIN_WAIT1] + s[PW_ST_FIN_WAIT2];
	v[6] = s[PW_ST_CLOSE_WAIT];
	v[7] = other;
	v[8] = d->reusable_time_wait;
	for (int c = 0; c < NCOLS; c++)
		snprintf(cell[c], 16, "%u", v[c]);
	snprintf(cell[1], 16, "%.1f%%", d->usage * 100);
}

static void holders_text(FILE *f, const struct pw_holder *h, unsigned int n)
{
	if (!n)
		fprintf(f, "-");
	for (unsigned int j = 0; j < n; j++) {
		char comm[4 * PW_COMM_LEN];

		pw_comm_text(comm, sizeof(comm), h[j].comm);
		fprintf(f, "%s%u/%s x%u", j ? ", " : "", h[j].pid, comm, h[j].sockets);
	}
}

/* "netns N udp: 5/9 ports of the range held (55.6%; 1 reserved), 5 of 6
 * UDP sockets in it, holders 123/dns x5" */
static void udp_text(FILE *f, const struct pw_census_ns *ns)
{
	const struct pw_census_udp *u = &ns->udp;

	if (!u->taken)
		return;
	fprintf(f, "netns %" PRIu64 " udp: %u/%u ports of the range held (%.1f%%; %u reserved), "
		"%u of %u UDP sockets in it, holders ", ns->netns, u->held, u->range_size,
		u->usage * 100, u->reserved, u->sockets_in_range, u->sockets);
	holders_text(f, u->holders, u->nholders);
	fprintf(f, "\n");
}

static void tcp_text(FILE *out, const struct pw_census_ns *ns);

void pw_census_print_text(FILE *out, const struct pw_census_ns *ns)
{
	struct pw_text_block tb;
	FILE *f;

	if (ns->ndests) {
		tcp_text(out, ns);
	} else {
		f = pw_text_begin(&tb, out);
		fprintf(f, "netns %" PRIu64 ": no connecting TCP sockets\n", ns->netns);
		pw_text_end(&tb, PW_TEXT_FOLD);
	}
	f = pw_text_begin(&tb, out);
	udp_text(f, ns);
	pw_text_end(&tb, PW_TEXT_FOLD);
}

static void tcp_text(FILE *out, const struct pw_census_ns *ns)
{
	char dt[INET6_ADDRSTRLEN + 16], cell[NCOLS][16];
	int w = 4, cw[NCOLS];
	struct pw_text_block tb;
	FILE *f = pw_text_begin(&tb, out);

	fprintf(f, "netns %" PRIu64 ": ip_local_port_range %d-%d (%u usable: %u reserved, "
		"%u owned by bind/listeners), tcp_tw_reuse %d, %u sockets\n",
		ns->netns, ns->range_lo, ns->range_hi, ns->range_size, ns->reserved,
		ns->bind_owned, ns->tw_reuse, ns->sockets);
	pw_text_end(&tb, PW_TEXT_FOLD);
	f = pw_text_begin(&tb, out);	/* the table's rows are cut, as the event lines */
	for (int c = 0; c < NCOLS; c++)
		cw[c] = strlen(cols[c]);
	for (size_t i = 0; i < ns->ndests; i++) {
		pw_dest_text(dt, sizeof(dt), &ns->dests[i].dest);
		if ((int)strlen(dt) > w)
			w = strlen(dt);
		row_cells(&ns->dests[i], cell);
		for (int c = 0; c < NCOLS; c++)
			if ((int)strlen(cell[c]) > cw[c])
				cw[c] = strlen(cell[c]);
	}
	fprintf(f, "%-*s", w, "DEST");
	for (int c = 0; c < NCOLS; c++)
		fprintf(f, "  %*s", cw[c], cols[c]);
	fprintf(f, "  HOLDERS\n");
	for (size_t i = 0; i < ns->ndests; i++) {
		const struct pw_census_dest *d = &ns->dests[i];

		pw_dest_text(dt, sizeof(dt), &d->dest);
		row_cells(d, cell);
		fprintf(f, "%-*s", w, dt);
		for (int c = 0; c < NCOLS; c++)
			fprintf(f, "  %*s", cw[c], cell[c]);
		fprintf(f, "  ");
		holders_text(f, d->holders, d->nholders);
		fprintf(f, "\n");
	}
	if (ns->other_dests_folded) {
		row_cells(&ns->other, cell);
		fprintf(f, "%-*s", w, "(other)");
		for (int c = 0; c < NCOLS; c++)
			fprintf(f, "  %*s", cw[c], cell[c]);
		fprintf(f, "  (destinations past the %u with the most sockets)\n",
			PW_CENSUS_MAX_DESTS);
	}
	pw_text_end(&tb, PW_TEXT_CUT);
}

void pw_census_diag_line(char *buf, size_t sz, const struct pw_census_ns *ns,
			 const struct pw_census_dest *d)
{
	char dt[INET6_ADDRSTRLEN + 16];
	struct sbuf sb;

	pw_dest_text(dt, sizeof(dt), &d->dest);
	sb_init(&sb, buf, sz);
	sb_printf(&sb, "%s (netns %" PRIu64 "): %u/%u ports held, %u TIME_WAIT", dt, ns->netns,
		  d->held, ns->range_size, d->states[PW_ST_TIME_WAIT]);
	if (d->reusable_time_wait)
		sb_printf(&sb, ", %u reusable", d->reusable_time_wait);
	for (unsigned int s = 1; s < PW_TCP_STATES; s++)
		if (s != PW_ST_TIME_WAIT && d->states[s])
			sb_printf(&sb, ", %u %s", d->states[s], pw_tcp_state_name(s));
	sb_printf(&sb, ", tw_reuse=%d", ns->tw_reuse);
}

bool pw_census_diag_sb(struct sbuf *sb, const struct pw_census_ns *ns,
		       const struct pw_census_dest *d)
{
	char u[32];

	usage_text(u, sizeof(u), d->usage);
	sb_printf(sb, "{");
	dest_head_json(sb, ns, d);
	sb_printf(sb, ",\"held\":%u,\"range_size\":%u,\"usage\":%s,\"states\":",
		  d->held, ns->range_size, u);
	states_json(sb, d);
	sb_printf(sb, ",\"reusable_time_wait\":%u,\"tw_reuse\":%d}", d->reusable_time_wait,
		  ns->tw_reuse);
	return !sb->err;
}

void pw_census_diag_json(FILE *f, const struct pw_census_ns *ns, const struct pw_census_dest *d)
{
	char buf[1024];
	struct sbuf sb;

	sb_init(&sb, buf, sizeof(buf));
	if (pw_census_diag_sb(&sb, ns, d))
		fputs(buf, f);
}
