// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the census's parsing of NETLINK_SOCK_DIAG inet_diag
 * replies (pw_census_replay, the pure part of pw_census_take), seeded with
 * dumps record_diag recorded in a test netns. Input: census_input.h. The
 * result must be consistent: every destination in range, usage in [0, 1]
 * unless the range is empty, sorted, and it must print as valid NDJSON (one
 * line per destination, also with 8 holders whose comm, from the input, any
 * local user could have chosen) and as text without control bytes. With
 * FZ_UDP the same replies are the UDP dump too: its part stays within its
 * range and prints as one census_udp object. */
#include <stdint.h>
#include <sys/socket.h>
#include "census.h"
#include "census_print.h"
#include "census_input.h"
#include "fuzz.h"
#include "output.h"

/* the replies in a 4-byte aligned copy, as recv() leaves them */
static void *aligned_copy(const uint8_t *p, size_t n)
{
	void *b = malloc(n ? n : 1);

	fz_assert(b, "malloc");
	memcpy(b, p, n);
	return b;
}

static void check_text(const struct pw_census_ns *ns)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fz_assert(f, "open_memstream");
	pw_census_print_text(f, ns);
	fz_assert(!fclose(f), "fclose");
	for (size_t i = 0; i < len; i++)
		fz_assert(out[i] == '\n' || ((unsigned char)out[i] >= 0x20 && out[i] != 0x7f),
			  "control byte %#x in the text", (unsigned char)out[i]);
	fz_assert(fz_utf8_valid(out, len), "text not UTF-8");
	free(out);
}

static void check_json(const struct pw_census_ns *ns)
{
	char *out = NULL;
	size_t len = 0, lines = 0;
	FILE *f = open_memstream(&out, &len);

	fz_assert(f, "open_memstream");
	pw_census_print_json(f, ns);
	fz_assert(!fclose(f), "fclose");
	for (char *p = out, *nl; p < out + len; p = nl + 1) {
		struct json_object *o;

		nl = memchr(p, '\n', out + len - p);
		fz_assert(nl, "unterminated line");
		o = fz_json(p, nl - p);
		if (!strcmp(fz_json_str(o, "type"), "census_udp")) {
			fz_assert(ns->udp.taken && nl + 1 == out + len, "census_udp not last");
			json_object_put(o);
			continue;
		}
		fz_assert(!strcmp(fz_json_str(o, "type"), "census"), "type");
		json_object_put(o);
		lines++;
	}
	fz_assert(lines == ns->ndests, "%zu lines for %zu destinations", lines, ns->ndests);
	free(out);
}

/* The UDP part: within its range, only when asked for (never with
 * one_dest) and its dump parsed, and its holders (hostile comms) print
 * inert. */
static void check_udp(struct pw_census_ns *ns, const struct pw_census_replay_in *in,
		      const uint8_t *comm)
{
	struct pw_census_udp *u = &ns->udp;

	bool asked = in->udp && !(in->filter && in->filter->one_dest);

	/* a UDP dump that does not parse: not taken, said why, TCP's kept */
	fz_assert(u->err <= 0 && (!u->err || (asked && u->why[0])), "udp err %d", u->err);
	fz_assert(u->taken == (asked && !u->err), "udp taken");
	if (!u->taken)
		return;
	fz_assert(u->held <= u->range_size && u->held <= u->sockets_in_range &&
		  u->sockets_in_range <= u->sockets, "udp counts");
	fz_assert(u->reserved == 0 && u->nholders == 0, "udp: no reserved ports, no holders");
	fz_assert(u->usage >= 0 && u->usage <= 1.0, "udp usage %f", u->usage);
	u->nholders = PW_MAX_HOLDERS;
	for (unsigned int j = 0; j < PW_MAX_HOLDERS; j++) {
		u->holders[j].pid = 4194304 - j;
		u->holders[j].sockets = UINT32_MAX - j;
		memcpy(u->holders[j].comm, comm, PW_COMM_LEN);
		u->holders[j].comm[PW_COMM_LEN - 1] = '\0';
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_census_hdr h;
	struct pw_census_filter f = { 0 };
	struct pw_census_replay_in in = { 0 };
	struct pw_census_ns ns;
	void *owners, *others;
	size_t olen;
	uint64_t held = 0;
	char line[512];

	if (size < sizeof(h))
		return 0;
	memcpy(&h, data, sizeof(h));
	data += sizeof(h);
	size -= sizeof(h);
	olen = h.owners_len < size ? h.owners_len : size;
	owners = aligned_copy(data, olen);
	others = aligned_copy(data + olen, size - olen);
	if (h.flags & FZ_ONE_DEST) {
		f.one_dest = true;
		f.dest.family = h.family;
		f.dest.port = h.dport;
		memcpy(f.dest.addr, h.daddr, 16);
		in.filter = &f;
	}
	in.lo = h.lo;
	in.hi = h.hi;
	in.tw_reuse = h.tw_reuse % 3;
	in.owners = owners;
	in.owners_len = olen;
	in.others = others;
	in.others_len = size - olen;
	if (h.flags & FZ_UDP) {
		in.udp = others;
		in.udp_len = size - olen;
	}
	if (pw_census_replay(&in, &ns) == 0) {
		check_udp(&ns, &in, h.daddr);
		for (size_t i = 0; i < ns.ndests; i++) {
			const struct pw_census_dest *d = &ns.dests[i];
			uint64_t by_state = 0;

			for (int s = 0; s < PW_TCP_STATES; s++)
				by_state += d->states[s];
			fz_assert(by_state <= d->held, "states %llu > held %u",
				  (unsigned long long)by_state, d->held);
			fz_assert(d->reusable_time_wait <= d->states[6], "reusable > TIME_WAIT");
			fz_assert(d->usage >= 0 && (d->usage <= 1.0 || d->held > ns.range_size),
				  "usage %f", d->usage);
			fz_assert(!f.one_dest || (d->dest.family == f.dest.family &&
						  d->dest.port == f.dest.port),
				  "destination outside the filter");
			if (i)
				fz_assert(ns.dests[i - 1].usage >= d->usage, "not sorted");
			held += d->held;
			pw_census_diag_line(line, sizeof(line), &ns, d);
		}
		/* every socket in one row or in "other", once */
		held += ns.other.held;
		fz_assert(held <= ns.sockets, "held %llu > sockets %u",
			  (unsigned long long)held, ns.sockets);
		fz_assert(ns.ndests <= PW_CENSUS_MAX_DESTS, "%zu rows", ns.ndests);
		fz_assert(!f.one_dest || ns.ndests <= 1, "one_dest gave %zu", ns.ndests);
		fz_assert(ns.reserved == 0 && ns.range_size + ns.bind_owned ==
			  (ns.range_hi >= ns.range_lo ? (uint32_t)(ns.range_hi - ns.range_lo + 1) : 0u) ||
			  ns.range_size == 0, "range arithmetic");
		check_json(&ns);
		/* the most holders a destination shows, each with a hostile comm
		 * (a C string, as holders.c reads it from /proc/PID/comm) */
		free(ns.holder_store);
		ns.holder_store = ns.ndests ? calloc(ns.ndests * PW_MAX_HOLDERS,
						     sizeof(*ns.holder_store)) : NULL;
		fz_assert(!ns.ndests || ns.holder_store, "calloc");
		for (size_t i = 0; i < ns.ndests; i++) {
			struct pw_census_dest *d = &ns.dests[i];

			d->nholders = PW_MAX_HOLDERS;
			d->holders = ns.holder_store + i * PW_MAX_HOLDERS;
			for (unsigned int j = 0; j < PW_MAX_HOLDERS; j++) {
				d->holders[j].pid = 4194304 - j;
				d->holders[j].sockets = UINT32_MAX - j;
				memcpy(d->holders[j].comm, h.daddr, PW_COMM_LEN);
				d->holders[j].comm[PW_COMM_LEN - 1] = '\0';
			}
		}
		check_json(&ns);
		check_text(&ns);
		pw_census_free(&ns);
	}
	free(owners);
	free(others);
	return 0;
}
