// SPDX-License-Identifier: GPL-2.0
/* bind(addr, 0) found no port (PW_OP_BIND): was the range exhausted for
 * every address, or only for the address asked for (other source
 * addresses still have ports)? From one sock_diag dump of the netns's
 * sockets of that protocol, the ports of the usable range (the range less
 * ip_local_reserved_ports, which port selection skips) that a socket takes
 * for that address (the same address, or either side the wildcard) and
 * those a wildcard socket takes for every address. See portholder.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/inet_diag.h>

#include "output.h"
#include "portholder.h"
#include "sysctl.h"
#include "textfit.h"

const char *pw_scope_verdict_name(int v)
{
	switch (v) {
	case PW_SCOPE_RANGE:    return "range_exhausted";
	case PW_SCOPE_ADDRESS:  return "address_ports_taken";
	case PW_SCOPE_RELEASED: return "released";
	default:                return "unknown";
	}
}

int pw_bind_scope_judge(bool wildcard, uint32_t range_size, uint32_t taken, uint32_t taken_all)
{
	if (taken < range_size)
		return PW_SCOPE_RELEASED;
	if (wildcard || taken_all >= range_size)
		return PW_SCOPE_RANGE;
	return PW_SCOPE_ADDRESS;
}

struct scope {
	const struct pw_diag_req *r;
	const struct pw_ns_settings *set;
	uint8_t taken[PW_NPORTS / 8];		/* for the address asked for */
	uint8_t taken_all[PW_NPORTS / 8];	/* by a wildcard socket */
	int verdict;
	uint32_t range_size, ntaken, ntaken_all;
	char err[160];
};

static int on_sock(void *arg, const struct inet_diag_msg *m)
{
	struct scope *s = arg;
	unsigned int port = ntohs(m->id.idiag_sport), fam = m->idiag_family;
	uint8_t a[16] = { 0 };

	if ((int)port < s->set->lo || (int)port > s->set->hi ||
	    pw_port_test(s->set->reserved, port))
		return 0;
	memcpy(a, m->id.idiag_src, fam == AF_INET ? 4 : 16);
	if (pw_addr_conflicts(s->r->dest.family, s->r->dest.addr, fam, a))
		pw_port_set(s->taken, port);
	if (pw_addr_any(fam, a))
		pw_port_set(s->taken_all, port);
	return 0;
}

static void look(struct scope *s, struct pw_ns_settings *set)
{
	int sk = pw_holder_enter(s->r, set, s->err, sizeof(s->err));

	s->verdict = PW_SCOPE_UNKNOWN;
	if (sk < 0)
		return;
	s->set = set;
	if (!pw_holder_dump(sk, s->r->proto, 0, on_sock, s, s->err, sizeof(s->err))) {
		for (int p = set->lo; p <= set->hi && p >= 0 && p < PW_NPORTS; p++) {
			if (pw_port_test(set->reserved, p))
				continue;
			s->range_size++;
			s->ntaken += pw_port_test(s->taken, p);
			s->ntaken_all += pw_port_test(s->taken_all, p);
		}
		s->verdict = pw_bind_scope_judge(pw_addr_any(s->r->dest.family, s->r->dest.addr),
						 s->range_size, s->ntaken, s->ntaken_all);
	}
	close(sk);
}

static void out_json(struct sbuf *sb, const struct scope *s, int64_t mono_to_real)
{
	const struct pw_diag_req *r = s->r;

	pw_bind_diag_head(sb, "bind_ports", r, mono_to_real);
	sb_printf(sb, "\",\"verdict\":\"%s\"", pw_scope_verdict_name(s->verdict));
	if (s->verdict != PW_SCOPE_UNKNOWN)
		sb_printf(sb, ",\"port_range\":[%d,%d],\"range_size\":%u,\"ports_taken\":%u,"
			  "\"ports_taken_all\":%u,\"error\":null}\n", s->set->lo, s->set->hi,
			  s->range_size, s->ntaken, s->ntaken_all);
	else {
		sb_lit(sb, ",\"port_range\":null,\"range_size\":null,\"ports_taken\":null,"
			   "\"ports_taken_all\":null,\"error\":");
		sb_json_str(sb, s->err, strlen(s->err));
		sb_lit(sb, "}\n");
	}
}

static void out_text(struct sbuf *sb, const struct scope *s)
{
	const struct pw_diag_req *r = s->r;

	sb_lit(sb, "  -> bind ");
	sb_addr(sb, r->dest.family, r->dest.addr);
	sb_printf(sb, " (%s): ", r->proto == IPPROTO_UDP ? "udp" : "tcp");
	switch (s->verdict) {
	case PW_SCOPE_RANGE:
		sb_printf(sb, "the range %d-%d is exhausted for every address (%u of %u usable "
			  "ports taken)\n", s->set->lo, s->set->hi, s->ntaken, s->range_size);
		break;
	case PW_SCOPE_ADDRESS:
		sb_printf(sb, "every port of the range %d-%d is taken for this address (%u "
			  "usable), %u still free for other addresses\n", s->set->lo, s->set->hi,
			  s->range_size, s->range_size - s->ntaken_all);
		break;
	case PW_SCOPE_RELEASED:
		sb_printf(sb, "ports free again (%u of %u usable taken now)\n", s->ntaken,
			  s->range_size);
		break;
	default:
		sb_printf(sb, "not looked up: %s\n", s->err);
		break;
	}
}

void pw_bind_scope_diagnose(const struct pw_diag_req *r, struct pw_ns_settings *set, FILE *out,
			    bool json, int64_t mono_to_real)
{
	struct scope *s = calloc(1, sizeof(*s));
	char buf[1024];
	struct sbuf sb;

	if (!s)
		return;
	s->r = r;
	look(s, set);
	sb_init(&sb, buf, sizeof(buf));
	if (json)
		out_json(&sb, s, mono_to_real);
	else
		out_text(&sb, s);
	if (!sb.err && json)
		fwrite(buf, 1, sb.len, out);
	else if (!sb.err)
		pw_text_write(out, buf, sb.len, PW_TEXT_FOLD);
	free(s);
}
