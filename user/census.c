// SPDX-License-Identifier: GPL-2.0
/* Port-pressure census of a netns from NETLINK_SOCK_DIAG dumps.
 *
 * "Held towards a destination" = a non-listening socket whose local port lies
 * in the netns's ephemeral range and is not a listener's or a bound-only
 * socket's port (so the accepted side of a listener in the range is not a
 * client). Every such socket counts once: two sockets sharing a local port
 * towards one destination is impossible (the 4-tuple would clash) unless
 * their source addresses differ, and then each does use up one port of its
 * own (saddr, daddr, dport) tuple. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/inet_diag.h>

#include "census.h"
#include "census_dests.h"
#include "census_udp.h"
#include "holders.h"
#include "netns.h"
#include "sockdiag.h"
#include "sysctl.h"

/* Censuses whose holders had no room (said as holders not read), and the
 * netns callers left out; with the other modules' own, pw_census_skips(). */
static uint64_t holders_unstored, netns_left_out;

void pw_census_skips(struct pw_census_skips *out)
{
	out->netns = pw_netns_skipped() + netns_left_out;
	out->processes = pw_netns_processes_skipped();
	out->holders = pw_holders_skipped() + holders_unstored;
}

void pw_census_count_skipped_netns(uint64_t n)
{
	netns_left_out += n;
}

#define TW_LEN_MS	60000	/* TCP_TIMEWAIT_LEN */

static const char *const state_names[PW_TCP_STATES] = {
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECV", [4] = "FIN_WAIT1",
	[5] = "FIN_WAIT2", [6] = "TIME_WAIT", [7] = "CLOSE", [8] = "CLOSE_WAIT",
	[9] = "LAST_ACK", [10] = "LISTEN", [11] = "CLOSING", [12] = "NEW_SYN_RECV",
	[13] = "BOUND_INACTIVE",
};

const char *pw_tcp_state_name(unsigned int state)
{
	return state < PW_TCP_STATES ? state_names[state] : NULL;
}

bool pw_addr_is_loopback(unsigned int family, const uint8_t a[16])
{
	static const uint8_t v6_lo[16] = { [15] = 1 };
	static const uint8_t v4mapped[12] = { [10] = 0xff, [11] = 0xff };

	if (family == AF_INET)
		return a[0] == 127;
	if (family != AF_INET6)
		return false;
	if (!memcmp(a, v6_lo, 16))
		return true;
	return !memcmp(a, v4mapped, 12) && a[12] == 127;
}

struct census_ctx {
	const struct pw_census_filter *f;
	struct pw_ns_settings set;
	uint8_t owned[PW_NPORTS / 8];	/* ports of listeners / bound-only sockets */
	struct pw_census_ns *out;
	struct pw_dest_table dt;	/* out's rows */
	struct pw_inode_tab itab;	/* socket inode -> row, for holders */
	bool owners_pass;
	struct pw_udp_acc *udp;		/* the UDP part, after the TCP passes */
	int udp_err;			/* the UDP part failed: not taken (why) */
	char udp_why[128];
};

/* ---- one socket from a dump ---- */

static int on_socket(void *arg, const struct inet_diag_msg *m)
{
	struct census_ctx *c = arg;
	const struct pw_census_filter *f = c->f;
	unsigned int state = m->idiag_state;
	unsigned int sport = ntohs(m->id.idiag_sport);
	struct pw_dest k = { .family = m->idiag_family, .port = ntohs(m->id.idiag_dport) };
	size_t alen = k.family == AF_INET ? 4 : 16;
	uint8_t saddr[16] = { 0 };
	struct pw_census_dest *d;
	long i;

	c->out->sockets++;
	/* bound-only sockets come back as TCP_CLOSE, not BOUND_INACTIVE */
	if (c->owners_pass) {
		pw_port_set(c->owned, sport);
		return 0;
	}
	if ((int)sport < c->set.lo || (int)sport > c->set.hi || pw_port_test(c->owned, sport))
		return 0;
	memcpy(k.addr, m->id.idiag_dst, alen);
	memcpy(saddr, m->id.idiag_src, alen);
	if (f && f->one_dest &&
	    (k.family != f->dest.family || k.port != f->dest.port ||
	     memcmp(k.addr, f->dest.addr, alen)))
		return 0;
	if (c->dt.pass == PASS_SKETCH) {
		pw_dests_sketch_add(&c->dt, &k);
		return 0;
	}
	if (c->dt.pass == PASS_HOLDERS) {
		i = pw_dests_find(&c->dt, &k);
		if (f && f->each_held) {
			int r = f->each_held(f->each_arg, i >= 0 ? &k : NULL, state, m->idiag_inode);

			if (r)
				return r;
		}
		if (i >= 0 && m->idiag_inode && f->holders)
			return pw_inode_tab_add(&c->itab, m->idiag_inode, i);
		return 0;
	}
	i = pw_dests_admit(&c->dt, &k);
	if (i < 0 && i != -ENOSPC)
		return i;
	/* PASS_EXACT: every destination has its row, or the pass is given up */
	if (c->dt.pass == PASS_EXACT && f && f->each_held && i >= 0) {
		int r = f->each_held(f->each_arg, &k, state, m->idiag_inode);

		if (r)
			return r;
	}
	d = i >= 0 ? &c->out->dests[i] : &c->out->other;
	d->held++;
	if (state < PW_TCP_STATES)
		d->states[state]++;
	/* tcp_twsk_unique(): reuse needs timestamps, the TIME_WAIT substate (not
	 * FIN_WAIT2), an age past the delay, and for mode 2 a loopback peer or
	 * source. TW age from the remaining ms of its 60 s timer. */
	if (state == PW_ST_TIME_WAIT && c->set.timestamps &&
	    (c->set.tw_reuse == 1 ||
	     (c->set.tw_reuse == 2 && (pw_addr_is_loopback(k.family, k.addr) ||
				       pw_addr_is_loopback(k.family, saddr)))) &&
	    (int64_t)TW_LEN_MS - m->idiag_expires > c->set.tw_delay_ms)
		d->reusable_time_wait++;
	if (i >= 0 && c->dt.pass == PASS_EXACT && f && f->holders && m->idiag_inode)
		return pw_inode_tab_add(&c->itab, m->idiag_inode, i);
	return 0;
}

static int dump_all(int fd, struct census_ctx *c, char *err, size_t errsz)
{
	const uint32_t owners = 1u << PW_ST_LISTEN | 1u << PW_ST_BOUND_INACTIVE;
	const uint32_t others = ((1u << PW_TCP_STATES) - 1) & ~owners & ~1u;
	uint16_t dport = c->f && c->f->one_dest ? c->f->dest.port : 0;
	int r;

	/* owners first: the other pass needs their ports to tell accepted
	 * sockets from clients; listeners ignore a dport filter, so unfiltered */
	c->owners_pass = true;
	r = pw_sockdiag_dump_tcp(fd, owners, 0, on_socket, c, err, errsz);
	if (r)
		return r;
	c->owners_pass = false;
	return pw_sockdiag_dump_tcp(fd, others, dport, on_socket, c, err, errsz);
}

static int cmp_dest(const void *a, const void *b)
{
	const struct pw_census_dest *x = a, *y = b;
	int r;

	if (x->usage != y->usage)
		return x->usage > y->usage ? -1 : 1;
	if (x->held != y->held)
		return x->held > y->held ? -1 : 1;
	if (x->dest.family != y->dest.family)
		return x->dest.family < y->dest.family ? -1 : 1;
	r = memcmp(x->dest.addr, y->dest.addr, 16);
	if (r)
		return r;
	return (int)x->dest.port - (int)y->dest.port;
}

static void finish(struct census_ctx *c)
{
	struct pw_census_ns *o = c->out;
	size_t nh = 0;
	uint32_t full = o->range_hi >= o->range_lo ? o->range_hi - o->range_lo + 1 : 0;

	for (int p = o->range_lo; p <= o->range_hi && p >= 0 && p < PW_NPORTS; p++) {
		if (pw_port_test(c->set.reserved, p))
			o->reserved++;
		else if (pw_port_test(c->owned, p))
			o->bind_owned++;	/* a reserved port is counted once, as reserved */
	}
	o->range_size = full > o->reserved + o->bind_owned ? full - o->reserved - o->bind_owned : 0;
	for (size_t i = 0; i < o->ndests; i++)
		nh += c->dt.acc[i].holders.nh < PW_MAX_HOLDERS ? c->dt.acc[i].holders.nh
							       : PW_MAX_HOLDERS;
	if (nh) {
		o->holder_store = calloc(nh, sizeof(*o->holder_store));
		if (!o->holder_store)
			holders_unstored++;	/* said as holders not read */
	}
	nh = 0;
	for (size_t i = 0; i < o->ndests; i++) {
		struct pw_census_dest *d = &o->dests[i];
		struct pw_holder_list *a = &c->dt.acc[i].holders;

		if (o->range_size)
			d->usage = (double)d->held / o->range_size;
		else
			d->usage = d->held ? 1.0 : 0.0;
		pw_holder_list_sort(a);
		d->nholders = a->nh < PW_MAX_HOLDERS ? a->nh : PW_MAX_HOLDERS;
		d->holders = NULL;
		if (!o->holder_store)
			d->nholders = 0;
		if (d->nholders) {
			d->holders = o->holder_store + nh;
			nh += d->nholders;
		}
		for (unsigned int j = 0; j < d->nholders; j++) {
			d->holders[j].pid = a->h[j].pid;
			d->holders[j].sockets = a->h[j].n;
			memcpy(d->holders[j].comm, a->h[j].comm, PW_COMM_LEN);
		}
	}
	if (o->ndests > 1)
		qsort(o->dests, o->ndests, sizeof(*o->dests), cmp_dest);
	if (o->range_size)
		o->other.usage = (double)o->other.held / o->range_size;
	if (c->udp_err) {
		o->udp.err = c->udp_err;
		snprintf(o->udp.why, sizeof(o->udp.why), "%s", c->udp_why);
	} else if (c->udp) {
		pw_census_udp_finish(c->udp, &o->udp);
	}
}

static struct census_ctx *ctx_new(const struct pw_census_filter *f, struct pw_census_ns *out)
{
	struct census_ctx *c = calloc(1, sizeof(*c));

	if (c) {
		c->f = f;
		c->out = out;
		c->dt.out = out;
	}
	return c;
}

/* The UDP part's accumulator, once the settings are known (udp: the
 * census has one); -ENOMEM. */
static int udp_start(struct census_ctx *c, bool udp)
{
	if (!udp || (c->f && c->f->one_dest))
		return 0;
	c->udp = calloc(1, sizeof(*c->udp));
	if (!c->udp)
		return -ENOMEM;
	c->udp->lo = c->set.lo;
	c->udp->hi = c->set.hi;
	c->udp->reserved = c->set.reserved;
	if (c->f && c->f->holders)
		c->udp->itab = &c->itab;
	return 0;
}

/* The UDP part could not be counted (r: -errno, why): not taken, said in
 * out->udp.err and why; the TCP part stays whole. The accumulator stays
 * (the inode table may name its row for the holder scan). */
static void udp_failed(struct census_ctx *c, int r, const char *why)
{
	c->udp_err = r;
	snprintf(c->udp_why, sizeof(c->udp_why), "%s", why && *why ? why : strerror(-r));
}

/* The UDP dump, after the TCP passes (none of it is theirs to count): any
 * failure (no UDP sock_diag in the kernel, udp_diag; a dump refused or cut)
 * leaves out->udp not taken and the census whole. */
static void take_udp(struct census_ctx *c, int sk, char *err, size_t errsz)
{
	char why[128] = "";
	int r = udp_start(c, c->f && c->f->udp);

	if (r) {
		udp_failed(c, r, "out of memory");
		return;
	}
	if (!c->udp)
		return;
	r = pw_sockdiag_dump_udp(sk, pw_census_udp_on_socket, c->udp, why, sizeof(why));
	if (r)
		udp_failed(c, r, why);
	if (errsz)
		err[0] = '\0';
}

/* The holders of row dest, for pw_holders_scan(). */
static struct pw_holder_list *holder_list(void *arg, uint32_t dest)
{
	struct census_ctx *c = arg;

	if (dest == PW_CENSUS_UDP_ROW)
		return &c->udp->holders;
	return &c->dt.acc[dest].holders;
}

static void ctx_free(struct census_ctx *c)
{
	pw_dests_free(&c->dt);
	pw_inode_tab_free(&c->itab);
	if (c->udp)
		pw_census_udp_acc_free(c->udp);
	free(c->udp);
}

/* Forget what a pass counted (not the tables' room), for the next pass. */
static void ctx_reset(struct census_ctx *c)
{
	pw_dests_reset(&c->dt);
	if (c->f && c->f->each_held_reset)
		c->f->each_held_reset(c->f->each_arg);
	c->out->sockets = 0;
	pw_inode_tab_free(&c->itab);
	memset(c->owned, 0, sizeof(c->owned));
}

/* The passes of a census (see enum pw_census_pass): dumps(c, arg) reads every
 * dump once (owners first). One pass unless the destinations overflow. */
static int census_passes(struct census_ctx *c, int (*dumps)(struct census_ctx *, void *),
			 void *arg)
{
	uint32_t sockets;
	int r;

	c->dt.max_dests = PW_CENSUS_MAX_DESTS;
	c->dt.pass = PASS_EXACT;
	r = dumps(c, arg);
	if (r || !c->dt.overflow)
		return r;
	ctx_reset(c);
	if (pw_dests_sketch_new(&c->dt))
		return -ENOMEM;
	c->dt.pass = PASS_SKETCH;
	r = dumps(c, arg);
	if (r)
		return r;
	ctx_reset(c);
	c->dt.pass = PASS_ADMIT;
	c->dt.admit_min = 1;	/* a destination new since the sketch: "other" */
	r = dumps(c, arg);
	c->out->other_dests_folded = true;
	if (r || !(c->f && (c->f->holders || c->f->each_held)))
		return r;
	sockets = c->out->sockets;
	c->dt.pass = PASS_HOLDERS;
	r = dumps(c, arg);
	c->out->sockets = sockets;
	return r;
}

struct live_dumps {
	int sk;
	char *err;
	size_t errsz;
};

static int live_dumps(struct census_ctx *c, void *arg)
{
	struct live_dumps *l = arg;

	return dump_all(l->sk, c, l->err, l->errsz);
}

int pw_census_settings(int nsfd, struct pw_census_ns *out, char *err, size_t errsz)
{
	struct pw_ns_settings *set = malloc(sizeof(*set));
	int orig = -1, r, r2;
	bool entered = false;
	uint64_t ino = 0;

	memset(out, 0, sizeof(*out));
	if (!set) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	r = pw_netns_enter(nsfd, &orig, &entered, &ino, err, errsz);
	if (!r)
		r = pw_ns_settings_read(set, err, errsz);
	r2 = pw_netns_leave(orig, entered, err, errsz);
	if (orig >= 0)
		close(orig);
	if (!r && !r2) {
		out->netns = ino;
		out->range_lo = set->lo;
		out->range_hi = set->hi;
		out->tw_reuse = set->tw_reuse;
	}
	free(set);
	return r2 ? r2 : r;
}

/* Free the context; on an error r, the census too. Returns r. */
static int ctx_end(struct census_ctx *c, int r)
{
	struct pw_census_ns *out = c->out;

	ctx_free(c);
	free(c);
	if (r)
		pw_census_free(out);
	return r;
}

/* Inside the netns of nsfd: its inode, its settings and a sock_diag
 * socket of it (*sk), then back. /proc/sys/net and a new netlink socket
 * both take the netns of the caller at open time: nothing else needs to
 * happen inside. */
static int take_inside(struct census_ctx *c, int nsfd, int *sk, char *err, size_t errsz)
{
	int orig = -1, r, r2;
	bool entered = false;
	uint64_t ino = 0;

	r = pw_netns_enter(nsfd, &orig, &entered, &ino, err, errsz);
	if (r)
		goto out;
	c->out->netns = ino;
	*sk = pw_sockdiag_open(err, errsz);
	if (*sk < 0)
		r = *sk;
	else
		r = pw_ns_settings_read(&c->set, err, errsz);
	r2 = pw_netns_leave(orig, entered, err, errsz);
	if (r2)
		r = r2;
out:
	if (orig >= 0)
		close(orig);
	return r;
}

/* After the dumps: the one destination asked for has its row even without
 * sockets, and the rows their holders. */
static int take_rows(struct census_ctx *c, char *err, size_t errsz)
{
	const struct pw_census_filter *f = c->f;
	int r;

	if (f && f->one_dest && !c->out->ndests) {
		struct pw_dest k = { .family = f->dest.family, .port = f->dest.port };

		memcpy(k.addr, f->dest.addr, k.family == AF_INET ? 4 : 16);
		if (pw_dests_get(&c->dt, &k) < 0) {
			snprintf(err, errsz, "out of memory");
			return -ENOMEM;
		}
	}
	if (f && f->holders) {
		r = pw_holders_scan(&c->itab, holder_list, c);
		if (r) {
			snprintf(err, errsz, "scanning /proc for socket holders: %s", strerror(-r));
			return r;
		}
	}
	return 0;
}

int pw_census_take(int nsfd, const struct pw_census_filter *f, struct pw_census_ns *out,
		   char *err, size_t errsz)
{
	struct census_ctx *c;
	int sk = -1, r;

	memset(out, 0, sizeof(*out));
	if (errsz)
		err[0] = '\0';
	c = ctx_new(f, out);
	if (!c) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	r = take_inside(c, nsfd, &sk, err, errsz);
	if (!r) {
		struct live_dumps l = { .sk = sk, .err = err, .errsz = errsz };

		out->range_lo = c->set.lo;
		out->range_hi = c->set.hi;
		out->tw_reuse = c->set.tw_reuse;
		r = census_passes(c, live_dumps, &l);
		if (!r)
			take_udp(c, sk, err, errsz);
		if (r == -ENOMEM)
			snprintf(err, errsz, "out of memory");
	}
	if (!r)
		r = take_rows(c, err, errsz);
	if (!r)
		finish(c);
	if (sk >= 0)
		close(sk);
	return ctx_end(c, r);
}

static int replay_all(struct census_ctx *c, void *arg)
{
	const struct pw_census_replay_in *in = arg;
	int r;

	c->owners_pass = true;
	r = pw_sockdiag_replay(in->owners, in->owners_len, on_socket, c);
	c->owners_pass = false;
	if (!r)
		r = pw_sockdiag_replay(in->others, in->others_len, on_socket, c);
	return r;
}

int pw_census_replay(const struct pw_census_replay_in *in, struct pw_census_ns *out)
{
	struct census_ctx *c;
	int r;

	memset(out, 0, sizeof(*out));
	c = ctx_new(in->filter, out);
	if (!c)
		return -ENOMEM;
	c->set.lo = in->lo;
	c->set.hi = in->hi;
	c->set.tw_reuse = in->tw_reuse;
	c->set.tw_delay_ms = 1000;
	c->set.timestamps = true;
	out->range_lo = in->lo;
	out->range_hi = in->hi;
	out->tw_reuse = in->tw_reuse;
	r = census_passes(c, replay_all, (void *)in);
	if (!r && in->udp) {
		int u = udp_start(c, true);

		if (!u && c->udp)	/* none with one_dest */
			u = pw_sockdiag_replay(in->udp, in->udp_len, pw_census_udp_on_socket, c->udp);
		if (u)
			udp_failed(c, u, NULL);
	}
	if (!r)
		finish(c);
	return ctx_end(c, r);
}

void pw_census_free(struct pw_census_ns *ns)
{
	free(ns->holder_store);
	ns->holder_store = NULL;
	free(ns->dests);
	ns->dests = NULL;
	ns->ndests = 0;
}

