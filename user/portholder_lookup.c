// SPDX-License-Identifier: GPL-2.0
/* The holder of a refused fixed port, the worker's side: the sock_diag
 * lookup in the netns, the holder's process and workload, the diagnosis
 * written (text or JSON) and the batches. See portholder.h. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/inet_diag.h>

#include "census.h"
#include "holders.h"
#include "netns.h"
#include "output.h"
#include "portholder.h"
#include "sockdiag.h"
#include "sysctl.h"
#include "textfit.h"
#include "util.h"
#include "workload.h"

/* ---- the lookup (worker) ---- */

static uint64_t over_budget;	/* the worker's */

uint64_t pw_holder_over_budget(void)
{
	return __atomic_load_n(&over_budget, __ATOMIC_RELAXED);
}

struct lookup {
	const struct pw_diag_req *r;
	int verdict;
	int lo, hi;		/* ip_local_port_range; lo > hi: unknown */
	uint32_t sockets;	/* on the port, of a compatible address */
	size_t n;
	struct pw_port_sock socks[PW_HOLDER_SOCKETS];
	int pick;
	bool reserved_ok;	/* the netns's list was read whole */
	bool have_reserved;
	char reserved[512];	/* the value to set */
	struct pw_holder_list holders;
	char err[160];
};

/* A v4-mapped IPv6 address as IPv4; the wildcard as such. */
static void norm_addr(unsigned int fam, const uint8_t *a, unsigned int *nf, const uint8_t **na)
{
	static const uint8_t mapped[12] = { [10] = 0xff, [11] = 0xff };

	*nf = fam;
	*na = a;
	if (fam == AF_INET6 && !memcmp(a, mapped, 12)) {
		*nf = AF_INET;
		*na = a + 12;
	}
}

bool pw_addr_any(unsigned int fam, const uint8_t *a)
{
	static const uint8_t zero[16];

	return !memcmp(a, zero, fam == AF_INET ? 4 : 16);
}

/* Could a socket on (sf, sa) conflict with a bind to (rf, ra)? Either is
 * the wildcard, or the same address. */
bool pw_addr_conflicts(unsigned int rf, const uint8_t *ra, unsigned int sf, const uint8_t *sa)
{
	return pw_addr_conflicts_v6only(rf, ra, sf, sa, false);
}

/* The same for a socket that may be IPV6_V6ONLY: one (an inet6 socket)
 * never takes the port for IPv4, so it conflicts with no bind to an IPv4
 * (or v4-mapped) address, [::] included. */
bool pw_addr_conflicts_v6only(unsigned int rf, const uint8_t *ra, unsigned int sf,
			      const uint8_t *sa, bool s_v6only)
{
	const uint8_t *x, *y;
	unsigned int xf, yf;

	norm_addr(rf, ra, &xf, &x);
	norm_addr(sf, sa, &yf, &y);
	if (s_v6only && sf == AF_INET6 && xf == AF_INET)
		return false;
	if (pw_addr_any(xf, x) || pw_addr_any(yf, y))
		return true;
	return xf == yf && !memcmp(x, y, xf == AF_INET ? 4 : 16);
}

static int on_sock(void *arg, const struct inet_diag_msg *m)
{
	struct lookup *l = arg;
	struct pw_port_sock s = {
		.family = m->idiag_family, .state = m->idiag_state,
		.sport = ntohs(m->id.idiag_sport), .dport = ntohs(m->id.idiag_dport),
		.inode = m->idiag_inode,
	};
	size_t alen = s.family == AF_INET ? 4 : 16;

	if (s.sport != l->r->dest.port)
		return 0;
	memcpy(s.saddr, m->id.idiag_src, alen);
	memcpy(s.daddr, m->id.idiag_dst, alen);
	/* a v6-only [::] holds the port for IPv6 alone (INET_DIAG_SKV6ONLY:
	 * inet6 listeners and bound sockets, the only ones on a wildcard) */
	if (!pw_addr_conflicts_v6only(l->r->dest.family, l->r->dest.addr, s.family, s.saddr,
				      s.family == AF_INET6 &&
				      pw_sockdiag_attr_u8(m, INET_DIAG_SKV6ONLY) == 1))
		return 0;
	l->sockets++;
	if (l->n < PW_HOLDER_SOCKETS)
		l->socks[l->n++] = s;
	else if (s.state == PW_ST_LISTEN && l->socks[0].state != PW_ST_LISTEN)
		l->socks[0] = s;	/* a listener is always kept */
	return 0;
}

/* Every process's netns, listed once per batch (pw_holder_diagnose) and
 * shared by its lookups whose process is gone; the worker's. */
static struct {
	bool active, listed;
	int n;
	int *fds;
	uint64_t *inodes;
} nscache;
static uint64_t netns_listings;	/* the worker's: pw_census_list_netns calls */

static void nscache_end(void)
{
	for (int i = 0; i < nscache.n; i++)
		close(nscache.fds[i]);
	free(nscache.fds);
	free(nscache.inodes);
	memset(&nscache, 0, sizeof(nscache));
}

/* An fd of the netns with this inode: the refused process's if it is
 * still there, else any process's or /run/netns's; -1 if it is gone. */
static int open_netns(uint32_t pid, uint64_t inode)
{
	bool active = nscache.active;
	int fd = pw_netns_open_pid(pid, inode);

	if (fd >= 0)
		return fd;
	if (!nscache.listed) {
		nscache.n = pw_census_list_netns(&nscache.fds, &nscache.inodes);
		if (nscache.n < 0)
			nscache.n = 0;
		nscache.listed = true;
		__atomic_add_fetch(&netns_listings, 1, __ATOMIC_RELAXED);
	}
	for (int i = 0; i < nscache.n && fd < 0; i++)
		if (nscache.inodes[i] == inode)
			fd = fcntl(nscache.fds[i], F_DUPFD_CLOEXEC, 0);
	if (!active)
		nscache_end();	/* outside a batch: nothing kept */
	return fd;
}

uint64_t pw_holder_netns_listings(void)
{
	return __atomic_load_n(&netns_listings, __ATOMIC_RELAXED);
}

int pw_holder_enter(const struct pw_diag_req *r, struct pw_ns_settings *set, char *err,
		    size_t errsz)
{
	int nsfd = open_netns(r->pid, r->netns), orig = -1, sk = -1, e, e2;
	bool entered = false;
	uint64_t ino = 0;

	if (nsfd < 0) {
		snprintf(err, errsz, "the netns is gone");
		return -ENOENT;
	}
	e = pw_netns_enter(nsfd, &orig, &entered, &ino, err, errsz);
	if (!e && (sk = pw_sockdiag_open(err, errsz)) < 0)
		e = sk;
	if (!e)
		e = pw_ns_settings_read(set, err, errsz);
	e2 = pw_netns_leave(orig, entered, err, errsz);
	if (orig >= 0)
		close(orig);
	close(nsfd);
	if (e || e2) {
		if (sk >= 0)
			close(sk);
		return e ? e : e2;
	}
	return sk;
}

int pw_holder_dump(int sk, uint8_t proto, uint16_t sport,
		   int (*fn)(void *arg, const struct inet_diag_msg *m), void *arg,
		   char *err, size_t errsz)
{
	static const uint8_t fams[] = { AF_INET, AF_INET6 };
	int r = 0;

	for (int i = 0; i < 2 && !r; i++) {
		r = pw_sockdiag_dump_proto(sk, fams[i], proto, ~0u, sport, 0, fn, arg);
		if (r == -ENOENT && fams[i] == AF_INET6)
			r = 0;	/* no inet6 diag */
		if (r)
			snprintf(err, errsz, "sock_diag dump: %s", strerror(-r));
	}
	return r;
}

/* Inside the netns: its settings and a sock_diag socket; back; the dump. */
static void look_up(struct lookup *l, struct pw_ns_settings *set)
{
	int sk, r;

	l->verdict = PW_HOLDER_UNKNOWN;
	l->lo = 1;
	l->hi = 0;
	l->pick = -1;
	sk = pw_holder_enter(l->r, set, l->err, sizeof(l->err));
	if (sk >= 0) {
		l->lo = set->lo;
		l->hi = set->hi;
		r = pw_holder_dump(sk, l->r->proto, l->r->dest.port, on_sock, l, l->err,
				   sizeof(l->err));
		if (!r) {
			l->verdict = pw_holder_judge(l->socks, l->n, l->r->proto, l->lo, l->hi,
						     set->reserved, &l->pick);
			l->reserved_ok = set->reserved_ok;
			/* a value built on a list not read whole would wipe the rest */
			if (l->verdict == PW_HOLDER_EPHEMERAL && set->reserved_ok)
				l->have_reserved = pw_reserved_value(set->reserved, l->r->dest.port,
								     l->reserved,
								     sizeof(l->reserved));
		}
	}
	if (sk >= 0)
		close(sk);
}

static struct pw_holder_list *holder_list(void *arg, uint32_t i)
{
	struct lookup *ls = arg;

	return &ls[i].holders;
}

bool pw_holder_cgroup_path(const char *file, char *out, size_t sz)
{
	char line[4096 + 8];
	int zeros = 0;
	bool have = false;
	FILE *f = fopen(file, "re");

	if (!f)
		return false;
	for (bool start = true; fgets(line, sizeof(line), f); ) {
		size_t n = strcspn(line, "\n");
		bool whole = line[n] == '\n', at_start = start;

		start = whole;	/* a long line comes in pieces */
		if (!at_start || strncmp(line, "0::", 3))
			continue;
		/* cgroup names may hold a newline, printed as is: a second
		 * "0::" line is a name's (as sockgauge.c's pid_workload) */
		if (++zeros > 1)
			break;
		line[n] = '\0';
		have = whole && line[3] == '/' && n - 3 < sz;
		if (have)
			memcpy(out, line + 3, n - 3 + 1);
	}
	fclose(f);
	return have && zeros == 1;
}

/* The cgroup id of pid (its cgroup2 directory's inode), 0 if unknown. */
static uint64_t pid_cgroup_id(uint32_t pid)
{
	static char root[256];
	static bool have_root, looked;
	char path[64], cg[4096 + 8], full[4096 + 300];
	struct stat st;

	if (!looked) {
		have_root = pw_cgroup2_mount("/proc/self/mountinfo", root, sizeof(root));
		looked = true;
	}
	if (!have_root)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/cgroup", pid);
	if (!pw_holder_cgroup_path(path, cg, sizeof(cg)))
		return 0;
	snprintf(full, sizeof(full), "%s%s", root, cg);
	return !stat(full, &st) ? (uint64_t)st.st_ino : 0;
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : proto == IPPROTO_TCP ? "tcp" : "?";
}

static void holder_json(struct sbuf *sb, const struct lookup *l, const struct pw_workload *w,
			uint64_t cg)
{
	const struct pw_port_sock *s = &l->socks[l->pick];
	const struct pw_holder_acc *h = l->holders.nh ? &l->holders.h[0] : NULL;
	const char *st = l->r->proto == IPPROTO_TCP ? pw_tcp_state_name(s->state)
		: s->state == PW_ST_ESTABLISHED ? "connected" : "unconnected";
	bool dest = l->r->proto == IPPROTO_TCP ? s->state != PW_ST_LISTEN : s->dport != 0;

	sb_lit(sb, ",\"holder\":{\"pid\":");
	if (h)
		sb_u64(sb, h->pid);
	else
		sb_lit(sb, "null");
	sb_lit(sb, ",\"comm\":");
	if (h)
		sb_json_str(sb, h->comm, pw_comm_len(h->comm));
	else
		sb_lit(sb, "null");
	sb_lit(sb, ",\"state\":");
	if (st) {
		sb_putc(sb, '"');
		sb_puts(sb, st);
		sb_putc(sb, '"');
	} else {
		sb_lit(sb, "null");
	}
	sb_lit(sb, ",\"saddr\":\"");
	sb_addr(sb, s->family, s->saddr);
	sb_lit(sb, "\",\"sport\":");
	sb_u64(sb, s->sport);
	if (dest) {
		sb_lit(sb, ",\"daddr\":\"");
		sb_addr(sb, s->family, s->daddr);
		sb_lit(sb, "\",\"dport\":");
		sb_u64(sb, s->dport);
	} else {
		sb_lit(sb, ",\"daddr\":null,\"dport\":null");
	}
	sb_lit(sb, ",\"cgroup_id\":");
	if (cg)
		sb_u64(sb, cg);
	else
		sb_lit(sb, "null");
	sb_workload_json(sb, w);
	sb_putc(sb, '}');
}

/* The fields every bind diagnosis object opens with (port_holder,
 * bind_ports), up to the asked address's opening quote closed. */
void pw_bind_diag_head(struct sbuf *sb, const char *type, const struct pw_diag_req *r,
		       int64_t mono_to_real)
{
	char t[48];

	pw_time_rfc3339(t, sizeof(t), r->ts_ns + mono_to_real);
	sb_printf(sb, "{\"type\":\"%s\",\"time\":\"%s\",\"pid\":%u,\"tid\":%u,\"comm\":",
		  type, t, r->pid, r->tid);
	sb_json_str(sb, r->comm, pw_comm_len(r->comm));
	sb_printf(sb, ",\"netns\":%llu,\"family\":\"%s\",\"proto\":\"%s\",\"saddr\":\"",
		  (unsigned long long)r->netns, pw_family_name(r->dest.family),
		  proto_name(r->proto));
	sb_addr(sb, r->dest.family, r->dest.addr);
}

static void out_json(struct sbuf *sb, const struct lookup *l, int64_t mono_to_real,
		     const struct pw_workload *w, uint64_t cg)
{
	const struct pw_diag_req *r = l->r;

	pw_bind_diag_head(sb, "port_holder", r, mono_to_real);
	sb_printf(sb, "\",\"sport\":%u,\"verdict\":\"%s\"", r->dest.port,
		  pw_holder_verdict_name(l->verdict));
	if (l->lo <= l->hi)
		sb_printf(sb, ",\"port_range\":[%d,%d]", l->lo, l->hi);
	else
		sb_lit(sb, ",\"port_range\":null");
	sb_printf(sb, ",\"sockets\":%u", l->sockets);
	if (l->pick >= 0)
		holder_json(sb, l, w, cg);
	else
		sb_lit(sb, ",\"holder\":null");
	if (l->verdict == PW_HOLDER_EPHEMERAL) {
		sb_lit(sb, ",\"remedy\":\"ip_local_reserved_ports\",\"reserved_ports\":");
		if (l->have_reserved)
			sb_json_str(sb, l->reserved, strlen(l->reserved));
		else
			sb_lit(sb, "null");
	} else {
		sb_lit(sb, ",\"remedy\":null,\"reserved_ports\":null");
	}
	sb_lit(sb, ",\"error\":");
	if (l->verdict == PW_HOLDER_UNKNOWN)
		sb_json_str(sb, l->err, strlen(l->err));
	else
		sb_lit(sb, "null");
	sb_lit(sb, "}\n");
}

static void out_text(struct sbuf *sb, const struct lookup *l, const struct pw_workload *w)
{
	const struct pw_diag_req *r = l->r;
	const struct pw_port_sock *s = l->pick >= 0 ? &l->socks[l->pick] : NULL;
	const struct pw_holder_acc *h = l->holders.nh ? &l->holders.h[0] : NULL;

	sb_lit(sb, "  -> bind_port ");
	sb_dest(sb, r->dest.family, r->dest.addr, r->dest.port);
	sb_printf(sb, " (%s): ", proto_name(r->proto));
	switch (l->verdict) {
	case PW_HOLDER_UNKNOWN:
		sb_lit(sb, "holder not looked up: ");
		sb_puts(sb, l->err);
		sb_putc(sb, '\n');
		return;
	case PW_HOLDER_NONE:
		sb_lit(sb, "nothing holds the port now (released since)\n");
		return;
	case PW_HOLDER_LISTENER:
		sb_lit(sb, "port taken by a listener");
		break;
	case PW_HOLDER_EPHEMERAL:
		sb_printf(sb, "held by a socket whose port came from the ephemeral range %d-%d",
			  l->lo, l->hi);
		break;
	default:
		sb_printf(sb, "held by another socket (outside the ephemeral range %d-%d)",
			  l->lo, l->hi);
		break;
	}
	if (h) {
		sb_printf(sb, ", pid %u (", h->pid);
		sb_comm_text(sb, h->comm);
		sb_lit(sb, ") [");
		sb_workload_text(sb, w);
		sb_putc(sb, ']');
	} else {
		sb_lit(sb, ", no process");
	}
	sb_putc(sb, ' ');
	sb_puts(sb, r->proto == IPPROTO_TCP && pw_tcp_state_name(s->state)
		? pw_tcp_state_name(s->state) : "");
	if (s->state != PW_ST_LISTEN && s->dport) {
		sb_lit(sb, " to ");
		sb_dest(sb, s->family, s->daddr, s->dport);
	}
	if (l->verdict == PW_HOLDER_EPHEMERAL) {
		sb_lit(sb, "; reserve it: sysctl -w net.ipv4.ip_local_reserved_ports=");
		if (l->have_reserved)
			sb_puts(sb, l->reserved);
		else if (l->reserved_ok)
			sb_printf(sb, "<the current list>,%u", r->dest.port);
		else
			sb_printf(sb, "<the current list>,%u (the current list could not be read)",
				  r->dest.port);
	}
	sb_putc(sb, '\n');
}

static uint64_t too_long;	/* the worker's: written without the workload */

/* One diagnosis into out. The worker is the only writer (the diagnose
 * path, or the last requests after the join): one static buffer, as long
 * as an event's line. One with the longest escaped workload strings that
 * still does not fit goes without its workload, counted, never dropped. */
static void write_one(FILE *out, const struct lookup *l, bool json, int64_t mono_to_real,
		      const struct pw_workload *w, uint64_t cg)
{
	static char buf[65536];
	struct sbuf sb;

	for (int pass = 0; pass < 2; pass++) {
		sb_init(&sb, buf, sizeof(buf));
		if (json)
			out_json(&sb, l, mono_to_real, w, cg);
		else
			out_text(&sb, l, w);
		if (!sb.err) {
			if (json)
				fwrite(buf, 1, sb.len, out);
			else
				pw_text_write(out, buf, sb.len, PW_TEXT_FOLD);
			return;
		}
		if (!w)
			break;
		__atomic_add_fetch(&too_long, 1, __ATOMIC_RELAXED);
		w = NULL;
	}
}

static void out_one(FILE *out, const struct lookup *l, bool json, int64_t mono_to_real,
		    struct pw_workloads *wl)
{
	const struct pw_holder_acc *h = l->holders.nh ? &l->holders.h[0] : NULL;
	const struct pw_workload *w = NULL;
	uint64_t cg = h ? pid_cgroup_id(h->pid) : 0;

	if (wl && cg)
		w = pw_workloads_get(wl, cg, pw_clock_ns(CLOCK_MONOTONIC));
	write_one(out, l, json, mono_to_real, w, cg);
}

void pw_holder_write(FILE *out, bool json, const struct pw_diag_req *r, int verdict,
		     const struct pw_port_sock *s, uint32_t pid, const char *comm,
		     const struct pw_workload *w, uint64_t cg)
{
	static struct lookup l;
	struct pw_holder_acc h = { .pid = pid, .n = 1 };

	memset(&l, 0, sizeof(l));
	l.r = r;
	l.verdict = verdict;
	l.lo = 40000;
	l.hi = 40009;
	l.sockets = 1;
	l.n = 1;
	l.socks[0] = *s;
	l.pick = 0;
	l.reserved_ok = true;
	memcpy(h.comm, comm, strnlen(comm, PW_COMM_LEN));
	l.holders.h = &h;
	l.holders.nh = 1;
	write_one(out, &l, json, 0, w, cg);
}

uint64_t pw_holder_too_long(void)
{
	return __atomic_load_n(&too_long, __ATOMIC_RELAXED);
}

/* Bind requests waiting for the next batch (the worker's): at most
 * PW_HOLDER_BATCH, one batch every PW_HOLDER_BATCH_NS. */
static struct pw_diag_req pending[PW_HOLDER_BATCH];
static size_t npending;
static int64_t last_batch_ns;

int64_t pw_holder_due_ns(void)
{
	return npending ? last_batch_ns + PW_HOLDER_BATCH_NS : 0;
}

size_t pw_holder_diagnose(struct pw_diag_req *reqs, size_t n, FILE *out, bool json,
			  int64_t mono_to_real, struct pw_workloads *wl, bool flush)
{
	struct lookup *ls = NULL;
	struct pw_ns_settings *set = NULL;
	struct pw_inode_tab itab = { 0 };
	struct pw_diag_req *mine[PW_HOLDER_BATCH];
	size_t left = 0, nl = 0, nb = 0;
	int64_t now;

	for (size_t i = 0; i < n; i++) {
		if (reqs[i].op != PW_OP_BIND_PORT && reqs[i].op != PW_OP_BIND)
			reqs[left++] = reqs[i];
		else if (npending < PW_HOLDER_BATCH)
			pending[npending++] = reqs[i];
		else
			__atomic_add_fetch(&over_budget, 1, __ATOMIC_RELAXED);
	}
	now = pw_clock_ns(CLOCK_MONOTONIC);
	if (!npending || (!flush && last_batch_ns && now - last_batch_ns < PW_HOLDER_BATCH_NS))
		return left;
	last_batch_ns = now;
	/* the batch: bind(addr, 0) ones at the end of mine */
	for (size_t i = 0; i < npending; i++)
		mine[pending[i].op == PW_OP_BIND ? PW_HOLDER_BATCH - ++nb : nl++] = &pending[i];
	ls = calloc(nl ? nl : 1, sizeof(*ls));
	set = malloc(sizeof(*set));
	if (!ls || !set) {
		__atomic_add_fetch(&over_budget, nl + nb, __ATOMIC_RELAXED);
		goto out;
	}
	nscache.active = true;	/* one netns listing for the batch */
	/* bind(addr, 0): the range's ports for that address (bindscope.c) */
	for (size_t i = 0; i < nb; i++)
		pw_bind_scope_diagnose(mine[PW_HOLDER_BATCH - 1 - i], set, out, json,
				       mono_to_real);
	for (size_t i = 0; i < nl; i++) {
		ls[i].r = mine[i];
		look_up(&ls[i], set);
		if (ls[i].pick >= 0 && ls[i].socks[ls[i].pick].inode)
			pw_inode_tab_add(&itab, ls[i].socks[ls[i].pick].inode, i);
	}
	nscache_end();
	/* one walk of /proc for every holder of the batch */
	if (itab.n)
		pw_holders_scan(&itab, holder_list, ls);
	for (size_t i = 0; i < nl; i++) {
		pw_holder_list_sort(&ls[i].holders);
		out_one(out, &ls[i], json, mono_to_real, wl);
		free(ls[i].holders.h);
	}
out:
	npending = 0;
	pw_inode_tab_free(&itab);
	free(set);
	free(ls);
	return left;
}
