// SPDX-License-Identifier: GPL-2.0
/* The holder of a refused fixed port, the consumer's side and the verdict:
 * the asks rate-limited per port and budgeted per second, their skips
 * said, and the judging of a lookup's sockets (pure). The worker's lookup:
 * portholder_lookup.c. See portholder.h. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "census.h"
#include "mailbox.h"
#include "portholder.h"
#include "sbuf.h"
#include "sysctl.h"

/* ---- consumer side ---- */

struct pw_holder_asks {
	struct pw_dest_limit *lim;	/* bind_port: (netns, family, proto, port) */
	struct pw_dest_limit *lim0;	/* bind: (netns, family, address, proto) */
	uint64_t limited, no_room, over_budget;
	/* the budget: PW_HOLDER_PER_SEC asks a second of event time, of
	 * which PW_SCOPE_PER_SEC bind(addr, 0) ones */
	uint64_t window_ns;	/* the second's start (an event's ts_ns), 0: none yet */
	int tokens, scope_tokens;
};

/* Is there budget left in e's second for an ask (scope: a bind(addr, 0)
 * one)? Refills at the first event a second after the window's start;
 * an event older than the window (another CPU's) counts in it. */
static bool budget_left(struct pw_holder_asks *a, uint64_t ts_ns, bool scope)
{
	if (!a->window_ns || (ts_ns > a->window_ns && ts_ns - a->window_ns >= 1000000000ull)) {
		a->window_ns = ts_ns ? ts_ns : 1;
		a->tokens = PW_HOLDER_PER_SEC;
		a->scope_tokens = PW_SCOPE_PER_SEC;
	}
	return a->tokens > 0 && (!scope || a->scope_tokens > 0);
}

struct pw_holder_asks *pw_holder_asks_new(void)
{
	struct pw_holder_asks *a = calloc(1, sizeof(*a));

	if (a && (!(a->lim = pw_dest_limit_new(PW_HOLDER_LIMIT_SLOTS)) ||
		  !(a->lim0 = pw_dest_limit_new(PW_HOLDER_LIMIT_SLOTS)))) {
		pw_holder_asks_free(a);
		a = NULL;
	}
	return a;
}

void pw_holder_asks_free(struct pw_holder_asks *a)
{
	if (a) {
		pw_dest_limit_free(a->lim);
		pw_dest_limit_free(a->lim0);
	}
	free(a);
}

void pw_holder_ask(struct pw_holder_asks *a, struct pw_mailbox *mb, const struct pw_event *e)
{
	/* bind_port: netns, family, protocol (in the address) and port;
	 * bind: netns, family, the address and protocol (as the port) */
	uint8_t key[16] = { e->proto };
	struct pw_diag_req r = {
		.netns = e->netns, .ts_ns = e->ts_ns, .pid = e->pid, .tid = e->tid,
		.op = e->op, .proto = e->proto,
	};
	int due;

	if (e->proto != IPPROTO_TCP && e->proto != IPPROTO_UDP)
		return;	/* SCTP, UDP-Lite...: the event only */
	/* the budget before the mailbox: a burst on many ports cannot fill
	 * the queue other diagnoses share (nor mark its ports as asked) */
	if (!budget_left(a, e->ts_ns, e->op == PW_OP_BIND)) {
		a->over_budget++;
		return;
	}
	due = e->op == PW_OP_BIND_PORT
		? pw_dest_limit_due(a->lim, e->netns, e->family, key, e->sport, e->ts_ns,
				    PW_HOLDER_EVERY_NS)
		: pw_dest_limit_due(a->lim0, e->netns, e->family, e->saddr, e->proto, e->ts_ns,
				    PW_HOLDER_EVERY_NS);

	if (due < 0)
		a->no_room++;
	else if (!due)
		a->limited++;
	if (due != 1)
		return;
	a->tokens--;
	a->scope_tokens -= e->op == PW_OP_BIND;
	pw_dest_set(&r.dest, e->family, e->saddr, e->sport);
	memcpy(r.comm, e->comm, PW_COMM_LEN);
	pw_mailbox_ask(mb, &r);	/* a full queue is counted there */
}

void pw_holder_asks_skips(const struct pw_holder_asks *a, struct pw_holder_skips *s)
{
	s->limited = a ? a->limited : 0;
	s->no_room = a ? a->no_room : 0;
	s->over_budget = (a ? a->over_budget : 0) + pw_holder_over_budget();
}

void pw_holder_skips_say(const struct pw_holder_asks *a)
{
	struct pw_holder_skips s;

	pw_holder_asks_skips(a, &s);
	if (s.limited || s.no_room || s.over_budget)
		fprintf(stderr, "portwatch: %llu bind diagnoses not taken (%llu: the same port "
			"or address within %llu s, %llu: too many of them, %llu: over %d a second or "
			"%d for port 0)\n",
			(unsigned long long)(s.limited + s.no_room + s.over_budget),
			(unsigned long long)s.limited, PW_HOLDER_EVERY_NS / 1000000000,
			(unsigned long long)s.no_room, (unsigned long long)s.over_budget,
			PW_HOLDER_PER_SEC, PW_SCOPE_PER_SEC);
	if (pw_holder_too_long())
		fprintf(stderr, "portwatch: %llu bind diagnoses written without their workload "
			"(longer than 64 KiB with it)\n",
			(unsigned long long)pw_holder_too_long());
}

/* ---- judging (pure) ---- */

const char *pw_holder_verdict_name(int v)
{
	switch (v) {
	case PW_HOLDER_NONE:      return "none";
	case PW_HOLDER_EPHEMERAL: return "ephemeral";
	case PW_HOLDER_LISTENER:  return "listener";
	case PW_HOLDER_BOUND:     return "bound";
	default:                  return "unknown";
	}
}

/* The first socket satisfying want, one with a process first. The kernel
 * never draws a port of ip_local_reserved_ports: one there was bound
 * explicitly, not ephemeral. */
static int pick_first(const struct pw_port_sock *s, size_t n, int lo, int hi,
		      const uint8_t *reserved, int want)
{
	int any = -1;

	for (size_t i = 0; i < n; i++) {
		bool in = s[i].sport >= lo && s[i].sport <= hi &&
			!(reserved && pw_port_test(reserved, s[i].sport));
		bool ok = want == PW_HOLDER_LISTENER ? s[i].state == PW_ST_LISTEN
			: want == PW_HOLDER_EPHEMERAL ? in : true;

		if (!ok)
			continue;
		if (s[i].inode)
			return (int)i;
		if (any < 0)
			any = (int)i;
	}
	return any;
}

int pw_holder_judge(const struct pw_port_sock *socks, size_t n, uint8_t proto, int lo, int hi,
		    const uint8_t *reserved, int *pick)
{
	static const int order[] = { PW_HOLDER_LISTENER, PW_HOLDER_EPHEMERAL, PW_HOLDER_BOUND };

	*pick = -1;
	for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
		if (order[k] == PW_HOLDER_LISTENER && proto != IPPROTO_TCP)
			continue;	/* UDP has no listeners */
		if ((*pick = pick_first(socks, n, lo, hi, reserved, order[k])) >= 0)
			return order[k];
	}
	return PW_HOLDER_NONE;
}

bool pw_reserved_value(const uint8_t *bits, unsigned int port, char *buf, size_t sz)
{
	struct sbuf sb;

	sb_init(&sb, buf, sz);
	for (unsigned int p = 0; p < PW_NPORTS && !sb.err; p++) {
		unsigned int q = p;

		if (!(pw_port_test(bits, p) || p == port))
			continue;
		while (q + 1 < PW_NPORTS && (pw_port_test(bits, q + 1) || q + 1 == port))
			q++;
		sb_printf(&sb, "%s%u", sb.len ? "," : "", p);
		if (q > p)
			sb_printf(&sb, "-%u", q);
		p = q;
	}
	sb_putc(&sb, '\0');
	return !sb.err;
}
