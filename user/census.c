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
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/nsfs.h>
#include <linux/sock_diag.h>

#include "census.h"
#include "output.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* What the census could not read, for the life of portwatch: never a
 * silently partial answer (pw_census_skips()). */
static struct pw_census_skips skips;

void pw_census_skips(struct pw_census_skips *out)
{
	*out = skips;
}

void pw_census_count_skipped_netns(uint64_t n)
{
	skips.netns += n;
}

#define ST_ESTABLISHED		1
#define ST_SYN_SENT		2
#define ST_FIN_WAIT1		4
#define ST_FIN_WAIT2		5
#define ST_TIME_WAIT		6
#define ST_CLOSE_WAIT		8
#define ST_LISTEN		10
#define ST_BOUND_INACTIVE	13

#define TW_LEN_MS	60000	/* TCP_TIMEWAIT_LEN */
#define NPORTS		65536

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

static inline bool bit_test(const uint8_t *b, unsigned int i)
{
	return b[i / 8] & (1u << (i % 8));
}

static inline void bit_set(uint8_t *b, unsigned int i)
{
	b[i / 8] |= 1u << (i % 8);
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

int pw_census_parse_ports(const char *s, uint8_t bits[NPORTS / 8])
{
	int n = 0;

	while (*s && *s != '\n') {
		char *end;
		unsigned long lo, hi;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		lo = strtoul(s, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -EINVAL;
			hi = strtoul(end + 1, &end, 10);
		}
		if (lo > hi || hi >= NPORTS)
			return -EINVAL;
		for (unsigned long p = lo; p <= hi; p++) {
			if (!bit_test(bits, p)) {
				bit_set(bits, p);
				n++;
			}
		}
		if (*end == ',')
			end++;
		else if (*end && *end != '\n')
			return -EINVAL;
		s = end;
	}
	return n;
}

/* ---- reading inside the target netns ---- */

static int read_small(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

static int read_int(const char *path, int *v)
{
	char buf[64];
	int r = read_small(path, buf, sizeof(buf));

	if (r)
		return r;
	return sscanf(buf, "%d", v) == 1 ? 0 : -EINVAL;
}

struct ns_settings {
	int lo, hi, tw_reuse;
	int tw_delay_ms;	/* tcp_tw_reuse_delay (6.14+), else 1000 */
	bool timestamps;	/* TW reuse needs them */
	uint8_t reserved[NPORTS / 8];
};

static int read_settings(struct ns_settings *s, char *err, size_t errsz)
{
	/* ip_local_reserved_ports can be long: one entry per range */
	static char buf[65536];
	int ts = 1, r;

	r = read_small("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof(buf));
	if (r || sscanf(buf, "%d %d", &s->lo, &s->hi) != 2) {
		snprintf(err, errsz, "cannot read net.ipv4.ip_local_port_range: %s",
			 strerror(r ? -r : EINVAL));
		return r ? r : -EINVAL;
	}
	r = read_int("/proc/sys/net/ipv4/tcp_tw_reuse", &s->tw_reuse);
	if (r) {
		snprintf(err, errsz, "cannot read net.ipv4.tcp_tw_reuse: %s", strerror(-r));
		return r;
	}
	if (read_int("/proc/sys/net/ipv4/tcp_tw_reuse_delay", &s->tw_delay_ms))
		s->tw_delay_ms = 1000;
	if (read_int("/proc/sys/net/ipv4/tcp_timestamps", &ts))
		ts = 1;
	s->timestamps = ts != 0;
	memset(s->reserved, 0, sizeof(s->reserved));
	/* a missing or odd reserved list only makes the range look bigger */
	if (!read_small("/proc/sys/net/ipv4/ip_local_reserved_ports", buf, sizeof(buf)) &&
	    pw_census_parse_ports(buf, s->reserved) < 0)
		memset(s->reserved, 0, sizeof(s->reserved));
	return 0;
}

/* ---- tables ---- */

struct dkey {
	uint16_t family;
	uint16_t dport;
	uint8_t daddr[16];
};

struct holder_acc {
	uint32_t pid;
	uint32_t n;
	char comm[PW_COMM_LEN];
};

struct dacc {
	struct holder_acc *h;
	size_t nh, caph;
	uint32_t est;		/* the sketch's count of it (PASS_ADMIT) */
};

/* Census memory is bounded by PW_CENSUS_MAX_DESTS entries per netns, not by
 * the destinations a tenant makes. PASS_EXACT counts every destination;
 * past the cap it is given up and the dumps read twice more: PASS_SKETCH
 * counts sockets per destination in a count-min sketch (never under the
 * truth), PASS_ADMIT keeps the destinations whose estimate reaches a
 * threshold that only rises (raised and the entries under it folded into
 * "other" when the table is full). A destination's estimate is fixed during
 * PASS_ADMIT, so each is counted whole in its own row or whole in "other":
 * rows and totals are exact for that last dump. PASS_HOLDERS (--census)
 * maps the kept destinations' socket inodes to their rows. */
enum census_pass { PASS_EXACT, PASS_SKETCH, PASS_ADMIT, PASS_HOLDERS };
#define SKETCH_ROWS	4
#define SKETCH_COLS	65536	/* 4 x 65536 x 4 bytes = 1 MiB */

struct census_ctx {
	const struct pw_census_filter *f;
	struct ns_settings set;
	uint8_t owned[NPORTS / 8];	/* ports of listeners / bound-only sockets */
	struct pw_census_ns *out;
	size_t capd;
	struct dacc *acc;		/* parallel to out->dests */
	/* open addressing: dest index + 1, 0 = empty */
	uint32_t *dtab;
	size_t dtab_sz;
	/* socket inode -> dest index, for holders */
	struct { uint32_t ino, dest; } *itab;
	size_t itab_sz, itab_n;
	bool owners_pass;
	enum census_pass pass;
	size_t max_dests;
	bool overflow;			/* PASS_EXACT met more than max_dests */
	uint32_t *sketch;		/* SKETCH_ROWS x SKETCH_COLS */
	uint32_t admit_min;		/* PASS_ADMIT's threshold */
};

static uint64_t hash_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = 1469598103934665603ull;

	while (n--)
		h = (h ^ *b++) * 1099511628211ull;
	return h;
}

static int dtab_grow(struct census_ctx *c)
{
	size_t sz = c->dtab_sz ? c->dtab_sz * 2 : 64;
	uint32_t *t = calloc(sz, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t i = 0; i < c->out->ndests; i++) {
		const struct pw_census_dest *d = &c->out->dests[i];
		struct dkey k = { .family = d->family, .dport = d->dport };
		size_t j;

		memcpy(k.daddr, d->daddr, 16);
		for (j = hash_bytes(&k, sizeof(k)) & (sz - 1); t[j]; j = (j + 1) & (sz - 1))
			;
		t[j] = i + 1;
	}
	free(c->dtab);
	c->dtab = t;
	c->dtab_sz = sz;
	return 0;
}

/* Index of the destination's entry, created if new; -ENOMEM. */
static long dest_get(struct census_ctx *c, const struct dkey *k)
{
	struct pw_census_ns *o = c->out;
	struct pw_census_dest *d;
	size_t j;

	if ((o->ndests + 1) * 2 > c->dtab_sz && dtab_grow(c))
		return -ENOMEM;
	for (j = hash_bytes(k, sizeof(*k)) & (c->dtab_sz - 1); c->dtab[j];
	     j = (j + 1) & (c->dtab_sz - 1)) {
		d = &o->dests[c->dtab[j] - 1];
		if (d->family == k->family && d->dport == k->dport &&
		    !memcmp(d->daddr, k->daddr, 16))
			return c->dtab[j] - 1;
	}
	if (o->ndests == c->capd) {
		size_t cap = c->capd ? c->capd * 2 : 16;
		struct pw_census_dest *nd = realloc(o->dests, cap * sizeof(*nd));
		struct dacc *na;

		if (!nd)
			return -ENOMEM;
		o->dests = nd;
		na = realloc(c->acc, cap * sizeof(*na));
		if (!na)
			return -ENOMEM;
		c->acc = na;
		c->capd = cap;
	}
	d = &o->dests[o->ndests];
	memset(d, 0, sizeof(*d));
	d->family = k->family;
	d->dport = k->dport;
	memcpy(d->daddr, k->daddr, 16);
	memset(&c->acc[o->ndests], 0, sizeof(c->acc[0]));
	c->dtab[j] = ++o->ndests;
	return o->ndests - 1;
}

/* Index of the destination's entry, or -1. */
static long dest_find(const struct census_ctx *c, const struct dkey *k)
{
	const struct pw_census_ns *o = c->out;

	if (!c->dtab_sz)
		return -1;
	for (size_t j = hash_bytes(k, sizeof(*k)) & (c->dtab_sz - 1); c->dtab[j];
	     j = (j + 1) & (c->dtab_sz - 1)) {
		const struct pw_census_dest *d = &o->dests[c->dtab[j] - 1];

		if (d->family == k->family && d->dport == k->dport &&
		    !memcmp(d->daddr, k->daddr, 16))
			return c->dtab[j] - 1;
	}
	return -1;
}

static size_t sketch_col(const struct dkey *k, unsigned int row)
{
	uint64_t h = hash_bytes(k, sizeof(*k)) ^ (0x9e3779b97f4a7c15ull * (row + 1));

	h = (h ^ (h >> 31)) * 0xbf58476d1ce4e5b9ull;
	return (h ^ (h >> 29)) & (SKETCH_COLS - 1);
}

static uint32_t sketch_est(const struct census_ctx *c, const struct dkey *k);

/* Conservative update: only the counters at the estimate go up, so the
 * estimates stay close to the truth (never under it) with 200,000
 * destinations of one socket each. */
static void sketch_add(struct census_ctx *c, const struct dkey *k)
{
	uint32_t e = sketch_est(c, k);

	if (e == UINT32_MAX)
		return;
	for (unsigned int r = 0; r < SKETCH_ROWS; r++) {
		uint32_t *v = &c->sketch[r * SKETCH_COLS + sketch_col(k, r)];

		if (*v < e + 1)
			*v = e + 1;
	}
}

static uint32_t sketch_est(const struct census_ctx *c, const struct dkey *k)
{
	uint32_t e = UINT32_MAX;

	for (unsigned int r = 0; r < SKETCH_ROWS; r++) {
		uint32_t v = c->sketch[r * SKETCH_COLS + sketch_col(k, r)];

		if (v < e)
			e = v;
	}
	return e;
}

static void fold_into(struct pw_census_dest *to, const struct pw_census_dest *d)
{
	to->held += d->held;
	to->reusable_time_wait += d->reusable_time_wait;
	for (unsigned int s = 0; s < PW_TCP_STATES; s++)
		to->states[s] += d->states[s];
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* PASS_ADMIT with a full table: raise the threshold to the entries' median
 * estimate (at least past the smallest), fold the entries under it into
 * "other" and index the rest again. */
static int raise_threshold(struct census_ctx *c)
{
	struct pw_census_ns *o = c->out;
	uint32_t *e = malloc(o->ndests * sizeof(*e)), t;
	size_t n = 0;

	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < o->ndests; i++)
		e[i] = c->acc[i].est;
	qsort(e, o->ndests, sizeof(*e), cmp_u32);
	t = e[o->ndests / 2] > e[0] ? e[o->ndests / 2] : e[0] + 1;
	free(e);
	c->admit_min = t;
	for (size_t i = 0; i < o->ndests; i++) {
		if (c->acc[i].est < t) {
			fold_into(&o->other, &o->dests[i]);
			free(c->acc[i].h);
			continue;
		}
		o->dests[n] = o->dests[i];
		c->acc[n++] = c->acc[i];
	}
	o->ndests = n;
	memset(c->dtab, 0, c->dtab_sz * sizeof(*c->dtab));
	for (size_t i = 0; i < n; i++) {
		const struct pw_census_dest *d = &o->dests[i];
		struct dkey k = { .family = d->family, .dport = d->dport };
		size_t j;

		memcpy(k.daddr, d->daddr, 16);
		for (j = hash_bytes(&k, sizeof(k)) & (c->dtab_sz - 1); c->dtab[j];
		     j = (j + 1) & (c->dtab_sz - 1))
			;
		c->dtab[j] = i + 1;
	}
	return 0;
}

/* The entry a socket towards k counts in: an index, or -ENOSPC for
 * "other" (PASS_EXACT past the cap: it sets overflow), or -ENOMEM. */
static long dest_admit(struct census_ctx *c, const struct dkey *k)
{
	long i = dest_find(c, k);
	uint32_t e = 0;

	if (i >= 0)
		return i;
	if (c->pass == PASS_ADMIT) {
		e = sketch_est(c, k);
		if (e < c->admit_min)
			return -ENOSPC;
		if (c->out->ndests >= c->max_dests) {
			if (raise_threshold(c))
				return -ENOMEM;
			if (e < c->admit_min)
				return -ENOSPC;
		}
	} else if (c->out->ndests >= c->max_dests) {
		c->overflow = true;
		return -ENOSPC;
	}
	i = dest_get(c, k);
	if (i >= 0)
		c->acc[i].est = e;
	return i;
}

static int itab_add(struct census_ctx *c, uint32_t ino, uint32_t dest)
{
	size_t j;

	if ((c->itab_n + 1) * 2 > c->itab_sz) {
		size_t sz = c->itab_sz ? c->itab_sz * 2 : 256;
		__typeof__(c->itab) t = calloc(sz, sizeof(*t));

		if (!t)
			return -ENOMEM;
		for (size_t i = 0; i < c->itab_sz; i++) {
			if (!c->itab[i].ino)
				continue;
			for (j = c->itab[i].ino * 2654435761u & (sz - 1); t[j].ino; j = (j + 1) & (sz - 1))
				;
			t[j] = c->itab[i];
		}
		free(c->itab);
		c->itab = t;
		c->itab_sz = sz;
	}
	for (j = ino * 2654435761u & (c->itab_sz - 1); c->itab[j].ino; j = (j + 1) & (c->itab_sz - 1))
		if (c->itab[j].ino == ino)
			return 0;
	c->itab[j].ino = ino;
	c->itab[j].dest = dest;
	c->itab_n++;
	return 0;
}

static long itab_find(const struct census_ctx *c, uint32_t ino)
{
	if (!c->itab_sz)
		return -1;
	for (size_t j = ino * 2654435761u & (c->itab_sz - 1); c->itab[j].ino;
	     j = (j + 1) & (c->itab_sz - 1))
		if (c->itab[j].ino == ino)
			return c->itab[j].dest;
	return -1;
}

/* ---- one socket from a dump ---- */

static int on_socket(struct census_ctx *c, const struct inet_diag_msg *m)
{
	const struct pw_census_filter *f = c->f;
	unsigned int state = m->idiag_state;
	unsigned int sport = ntohs(m->id.idiag_sport);
	struct dkey k = { .family = m->idiag_family, .dport = ntohs(m->id.idiag_dport) };
	uint8_t saddr[16] = { 0 };
	struct pw_census_dest *d;
	long i;

	c->out->sockets++;
	/* bound-only sockets come back as TCP_CLOSE, not BOUND_INACTIVE */
	if (c->owners_pass) {
		bit_set(c->owned, sport);
		return 0;
	}
	if ((int)sport < c->set.lo || (int)sport > c->set.hi || bit_test(c->owned, sport))
		return 0;
	memcpy(k.daddr, m->id.idiag_dst, k.family == AF_INET ? 4 : 16);
	memcpy(saddr, m->id.idiag_src, k.family == AF_INET ? 4 : 16);
	if (f && f->one_dest &&
	    (k.family != f->family || k.dport != f->dport ||
	     memcmp(k.daddr, f->daddr, k.family == AF_INET ? 4 : 16)))
		return 0;
	if (c->pass == PASS_SKETCH) {
		sketch_add(c, &k);
		return 0;
	}
	if (c->pass == PASS_HOLDERS) {
		i = dest_find(c, &k);
		if (i >= 0 && m->idiag_inode)
			return itab_add(c, m->idiag_inode, i);
		return 0;
	}
	i = dest_admit(c, &k);
	if (i < 0 && i != -ENOSPC)
		return i;
	d = i >= 0 ? &c->out->dests[i] : &c->out->other;
	d->held++;
	if (state < PW_TCP_STATES)
		d->states[state]++;
	/* tcp_twsk_unique(): reuse needs timestamps, the TIME_WAIT substate (not
	 * FIN_WAIT2), an age past the delay, and for mode 2 a loopback peer or
	 * source. TW age from the remaining ms of its 60 s timer. */
	if (state == ST_TIME_WAIT && c->set.timestamps &&
	    (c->set.tw_reuse == 1 ||
	     (c->set.tw_reuse == 2 && (pw_addr_is_loopback(k.family, k.daddr) ||
				       pw_addr_is_loopback(k.family, saddr)))) &&
	    (int64_t)TW_LEN_MS - m->idiag_expires > c->set.tw_delay_ms)
		d->reusable_time_wait++;
	if (i >= 0 && c->pass == PASS_EXACT && f && f->holders && m->idiag_inode)
		return itab_add(c, m->idiag_inode, i);
	return 0;
}

/* ---- netlink ---- */

/* 1 at the end of the dump, 0 to go on, or -errno. */
static int on_message(struct census_ctx *c, const struct nlmsghdr *h, uint32_t seq)
{
	if (h->nlmsg_seq != seq)
		return 0;
	if (h->nlmsg_type == NLMSG_DONE) {
		int e = 0;

		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
			memcpy(&e, NLMSG_DATA(h), sizeof(e));
		return e < 0 ? e : 1;
	}
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			return -EIO;
		return e->error < 0 ? e->error : -EIO;
	}
	if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
	    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
		return on_socket(c, NLMSG_DATA(h));
	return 0;
}

/* The messages of one reply datagram (n bytes at buf, 4-byte aligned):
 * 1 at the end of the dump, 0 to go on, or -errno; *used = the bytes up to
 * and with the message that ended the dump. Pure: no I/O. */
static int parse_reply(struct census_ctx *c, const void *buf, size_t n, uint32_t seq,
		       size_t *used)
{
	const struct nlmsghdr *h = buf;
	size_t left = n, step;
	int r = 0;

	/* bounds checked by hand: NLMSG_NEXT can step past a short tail */
	while (left >= sizeof(*h) && h->nlmsg_len >= sizeof(*h) && h->nlmsg_len <= left) {
		r = on_message(c, h, seq);
		step = NLMSG_ALIGN(h->nlmsg_len);
		if (step > left)
			step = left;
		left -= step;
		if (r)
			break;
		h = (const struct nlmsghdr *)((const char *)h + step);
	}
	*used = n - left;
	return r;
}

static int dump(int fd, struct census_ctx *c, uint8_t family, uint32_t states, uint16_t dport)
{
	static unsigned int seq;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} q = {
		.nlh = {
			.nlmsg_len = sizeof(q),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = ++seq,
		},
		.r = {
			.sdiag_family = family,
			.sdiag_protocol = IPPROTO_TCP,
			.idiag_states = states,
			.id.idiag_dport = htons(dport),
		},
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	/* long-aligned for the nlmsghdr casts */
	long buf[32768 / sizeof(long)];

	if (sendto(fd, &q, sizeof(q), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		size_t used;
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		r = parse_reply(c, buf, n, q.nlh.nlmsg_seq, &used);
		if (r)
			return r < 0 ? r : 0;
	}
}

static int dump_all(int fd, struct census_ctx *c, char *err, size_t errsz)
{
	static const uint8_t fams[] = { AF_INET, AF_INET6 };
	const uint32_t owners = 1u << ST_LISTEN | 1u << ST_BOUND_INACTIVE;
	const uint32_t others = ((1u << PW_TCP_STATES) - 1) & ~owners & ~1u;
	uint16_t dport = c->f && c->f->one_dest ? c->f->dport : 0;
	int pass, i, r;

	/* owners first: the other pass needs their ports to tell accepted
	 * sockets from clients; listeners ignore a dport filter, so unfiltered */
	for (pass = 0; pass < 2; pass++) {
		c->owners_pass = pass == 0;
		for (i = 0; i < 2; i++) {
			r = dump(fd, c, fams[i], pass ? others : owners, pass ? dport : 0);
			/* no inet6 diag (IPv6 disabled or not built): nothing to see */
			if (r == -ENOENT && fams[i] == AF_INET6)
				continue;
			if (r) {
				snprintf(err, errsz, "sock_diag dump (%s): %s",
					 fams[i] == AF_INET ? "inet" : "inet6", strerror(-r));
				return r;
			}
		}
	}
	return 0;
}

/* ---- holders: socket inode -> /proc/PID/fd ---- */

static int holder_add(struct dacc *a, uint32_t pid, const char *comm)
{
	if (a->nh && a->h[a->nh - 1].pid == pid) {
		a->h[a->nh - 1].n++;
		return 0;
	}
	if (a->nh == a->caph) {
		size_t cap = a->caph ? a->caph * 2 : 4;
		struct holder_acc *n = realloc(a->h, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		a->h = n;
		a->caph = cap;
	}
	a->h[a->nh].pid = pid;
	a->h[a->nh].n = 1;
	memcpy(a->h[a->nh].comm, comm, PW_COMM_LEN);
	a->nh++;
	return 0;
}

int pw_census_socket_inode(const char *link, uint32_t *ino)
{
	unsigned long v = 0;
	const char *p;

	if (strncmp(link, "socket:[", 8) || !isdigit((unsigned char)link[8]))
		return -EINVAL;
	for (p = link + 8; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	if (p[0] != ']' || p[1])
		return -EINVAL;
	*ino = v;
	return 0;
}

static int scan_pid(struct census_ctx *c, uint32_t pid)
{
	char path[64], link[64], comm[PW_COMM_LEN] = "";
	bool have_comm = false;
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	d = opendir(path);
	if (!d) {
		/* gone (fine), or not ours to read without CAP_SYS_PTRACE */
		if (errno == EACCES || errno == EPERM)
			skips.holders++;
		return 0;
	}
	while ((de = readdir(d))) {
		ssize_t n;
		uint32_t ino;
		long di;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (pw_census_socket_inode(link, &ino))
			continue;
		di = itab_find(c, ino);
		if (di < 0)
			continue;
		if (!have_comm) {
			char cpath[64], buf[64];

			snprintf(cpath, sizeof(cpath), "/proc/%u/comm", pid);
			if (!read_small(cpath, buf, sizeof(buf))) {
				buf[strcspn(buf, "\n")] = '\0';
				memcpy(comm, buf, strnlen(buf, PW_COMM_LEN - 1));
			}
			have_comm = true;
		}
		r = holder_add(&c->acc[di], pid, comm);
		if (r)
			break;
	}
	closedir(d);
	return r;
}

static int scan_holders(struct census_ctx *c)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!c->itab_n)
		return 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while (!r && (de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (!isdigit((unsigned char)de->d_name[0]) || *end)
			continue;
		r = scan_pid(c, pid);
	}
	closedir(d);
	return r;
}

static int cmp_holder(const void *a, const void *b)
{
	const struct holder_acc *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

static int cmp_dest(const void *a, const void *b)
{
	const struct pw_census_dest *x = a, *y = b;
	int r;

	if (x->usage != y->usage)
		return x->usage > y->usage ? -1 : 1;
	if (x->held != y->held)
		return x->held > y->held ? -1 : 1;
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	r = memcmp(x->daddr, y->daddr, 16);
	if (r)
		return r;
	return (int)x->dport - (int)y->dport;
}

static void finish(struct census_ctx *c)
{
	struct pw_census_ns *o = c->out;
	size_t nh = 0;
	uint32_t full = o->range_hi >= o->range_lo ? o->range_hi - o->range_lo + 1 : 0;

	for (int p = o->range_lo; p <= o->range_hi && p >= 0 && p < NPORTS; p++) {
		if (bit_test(c->set.reserved, p))
			o->reserved++;
		else if (bit_test(c->owned, p))
			o->bind_owned++;	/* a reserved port is counted once, as reserved */
	}
	o->range_size = full > o->reserved + o->bind_owned ? full - o->reserved - o->bind_owned : 0;
	for (size_t i = 0; i < o->ndests; i++)
		nh += c->acc[i].nh < PW_MAX_HOLDERS ? c->acc[i].nh : PW_MAX_HOLDERS;
	if (nh) {
		o->holder_store = calloc(nh, sizeof(*o->holder_store));
		if (!o->holder_store)
			skips.holders++;	/* said as holders not read */
	}
	nh = 0;
	for (size_t i = 0; i < o->ndests; i++) {
		struct pw_census_dest *d = &o->dests[i];
		struct dacc *a = &c->acc[i];

		if (o->range_size)
			d->usage = (double)d->held / o->range_size;
		else
			d->usage = d->held ? 1.0 : 0.0;
		if (a->nh > 1)	/* a->h is NULL without holders */
			qsort(a->h, a->nh, sizeof(*a->h), cmp_holder);
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
}

static void ctx_free(struct census_ctx *c)
{
	if (c->acc)
		for (size_t i = 0; i < c->out->ndests; i++)
			free(c->acc[i].h);
	free(c->acc);
	free(c->dtab);
	free(c->itab);
	free(c->sketch);
}

/* Forget what a pass counted (not the tables' room), for the next pass. */
static void ctx_reset(struct census_ctx *c)
{
	struct pw_census_ns *o = c->out;

	if (c->acc)
		for (size_t i = 0; i < o->ndests; i++)
			free(c->acc[i].h);
	o->ndests = 0;
	o->sockets = 0;
	memset(&o->other, 0, sizeof(o->other));
	if (c->dtab)
		memset(c->dtab, 0, c->dtab_sz * sizeof(*c->dtab));
	free(c->itab);
	c->itab = NULL;
	c->itab_sz = c->itab_n = 0;
	memset(c->owned, 0, sizeof(c->owned));
}

/* The passes of a census (see enum census_pass): dumps(c, arg) reads every
 * dump once (owners first). One pass unless the destinations overflow. */
static int census_passes(struct census_ctx *c, int (*dumps)(struct census_ctx *, void *),
			 void *arg)
{
	uint32_t sockets;
	int r;

	c->max_dests = PW_CENSUS_MAX_DESTS;
	c->pass = PASS_EXACT;
	r = dumps(c, arg);
	if (r || !c->overflow)
		return r;
	ctx_reset(c);
	c->sketch = calloc((size_t)SKETCH_ROWS * SKETCH_COLS, sizeof(*c->sketch));
	if (!c->sketch)
		return -ENOMEM;
	c->pass = PASS_SKETCH;
	r = dumps(c, arg);
	if (r)
		return r;
	ctx_reset(c);
	c->pass = PASS_ADMIT;
	c->admit_min = 1;	/* a destination new since the sketch: "other" */
	r = dumps(c, arg);
	c->out->other_dests_folded = true;
	if (r || !(c->f && c->f->holders))
		return r;
	sockets = c->out->sockets;
	c->pass = PASS_HOLDERS;
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

/* A thread that could not get back into its own netns: see census.h. */
static void (*stuck_hook)(void);

void pw_census_on_stuck(void (*fn)(void))
{
	stuck_hook = fn;
}

/* Enter the netns of nsfd (-1: stay) unless it is ours already; *orig is
 * an fd of the calling THREAD's own netns to come back with leave_ns()
 * (setns() moves only the calling thread, and another thread of portwatch
 * may be elsewhere: /proc/self is the thread group leader's). *ino is the
 * netns inode. A refused setns() (CAP_SYS_ADMIN) is counted as a skipped
 * netns. */
static int enter_ns(int nsfd, int *orig, bool *entered, uint64_t *ino, char *err, size_t errsz)
{
	struct stat st, self;

	*entered = false;
	*orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*orig < 0 || fstat(*orig, &self)) {
		int e = errno;

		snprintf(err, errsz, "/proc/thread-self/ns/net: %s", strerror(e));
		return -e;
	}
	st = self;
	if (nsfd >= 0) {
		if (fstat(nsfd, &st)) {
			int e = errno;

			snprintf(err, errsz, "netns fd: %s", strerror(e));
			return -e;
		}
		/* our own netns needs no setns (nor CAP_SYS_ADMIN) */
		if (st.st_ino != self.st_ino || st.st_dev != self.st_dev) {
			if (setns(nsfd, CLONE_NEWNET)) {
				int e = errno;

				if (e == EPERM)
					skips.netns++;
				snprintf(err, errsz, "setns into netns %llu: %s%s",
					 (unsigned long long)st.st_ino, strerror(e),
					 e == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
				return -e;
			}
			*entered = true;
		}
	}
	*ino = st.st_ino;
	return 0;
}

/* Back to the thread's own netns. Stuck in another one (a tenant's),
 * nothing this thread does after could be trusted: one line, then the
 * hook ends it (the process stops with exit status 1); without a hook the
 * process ends here. */
static int leave_ns(int orig, bool entered, char *err, size_t errsz)
{
	if (entered && setns(orig, CLONE_NEWNET)) {
		int e = errno;

		snprintf(err, errsz, "setns back to portwatch's netns: %s", strerror(e));
		fprintf(stderr, "portwatch: census: cannot return to portwatch's own network "
			"namespace after reading another (setns: %s): stopping\n", strerror(e));
		fflush(stderr);
		if (stuck_hook)
			stuck_hook();
		_exit(1);
	}
	return 0;
}

int pw_census_settings(int nsfd, struct pw_census_ns *out, char *err, size_t errsz)
{
	struct ns_settings *set = malloc(sizeof(*set));
	int orig = -1, r, r2;
	bool entered = false;
	uint64_t ino = 0;

	memset(out, 0, sizeof(*out));
	if (!set) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	r = enter_ns(nsfd, &orig, &entered, &ino, err, errsz);
	if (!r)
		r = read_settings(set, err, errsz);
	r2 = leave_ns(orig, entered, err, errsz);
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

int pw_census_take(int nsfd, const struct pw_census_filter *f, struct pw_census_ns *out,
		   char *err, size_t errsz)
{
	struct census_ctx *c;
	int orig = -1, sk = -1, r = 0, r2;
	bool entered = false;
	uint64_t ino = 0;

	memset(out, 0, sizeof(*out));
	if (errsz)
		err[0] = '\0';
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	c->f = f;
	c->out = out;

	r = enter_ns(nsfd, &orig, &entered, &ino, err, errsz);
	if (r)
		goto out;
	out->netns = ino;

	/* /proc/sys/net and a new netlink socket both take the netns of the
	 * caller at open time: nothing else needs to happen inside */
	sk = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (sk < 0) {
		r = -errno;
		snprintf(err, errsz, "NETLINK_SOCK_DIAG socket: %s", strerror(errno));
	} else {
		r = read_settings(&c->set, err, errsz);
	}
	r2 = leave_ns(orig, entered, err, errsz);
	if (r2)
		r = r2;
	if (r)
		goto out;

	out->range_lo = c->set.lo;
	out->range_hi = c->set.hi;
	out->tw_reuse = c->set.tw_reuse;
	{
		struct live_dumps l = { .sk = sk, .err = err, .errsz = errsz };

		r = census_passes(c, live_dumps, &l);
		if (r == -ENOMEM)
			snprintf(err, errsz, "out of memory");
	}
	if (r)
		goto out;
	if (f && f->one_dest && !out->ndests) {
		struct dkey k = { .family = f->family, .dport = f->dport };

		memcpy(k.daddr, f->daddr, f->family == AF_INET ? 4 : 16);
		if (dest_get(c, &k) < 0) {
			r = -ENOMEM;
			snprintf(err, errsz, "out of memory");
			goto out;
		}
	}
	if (f && f->holders) {
		r = scan_holders(c);
		if (r) {
			snprintf(err, errsz, "scanning /proc for socket holders: %s", strerror(-r));
			goto out;
		}
	}
	finish(c);
out:
	if (sk >= 0)
		close(sk);
	if (orig >= 0)
		close(orig);
	return ctx_end(c, r);
}

/* Every dump in buf (replies as recorded, each ending in NLMSG_DONE). */
static int replay_dumps(struct census_ctx *c, const void *buf, size_t n)
{
	const char *p = buf;
	size_t used;
	int r;

	while (n >= sizeof(struct nlmsghdr)) {
		r = parse_reply(c, p, n, ((const struct nlmsghdr *)p)->nlmsg_seq, &used);
		if (r < 0)
			return r;
		if (!r || !used)
			break;	/* no NLMSG_DONE: the rest is not a message */
		p += used;
		n -= used;
	}
	return 0;
}

static int replay_all(struct census_ctx *c, void *arg)
{
	const struct pw_census_replay_in *in = arg;
	int r;

	c->owners_pass = true;
	r = replay_dumps(c, in->owners, in->owners_len);
	c->owners_pass = false;
	if (!r)
		r = replay_dumps(c, in->others, in->others_len);
	return r;
}

int pw_census_replay(const struct pw_census_replay_in *in, struct pw_census_ns *out)
{
	struct census_ctx *c = calloc(1, sizeof(*c));
	int r;

	memset(out, 0, sizeof(*out));
	if (!c)
		return -ENOMEM;
	c->f = in->filter;
	c->out = out;
	c->set.lo = in->lo;
	c->set.hi = in->hi;
	c->set.tw_reuse = in->tw_reuse;
	c->set.tw_delay_ms = 1000;
	c->set.timestamps = true;
	out->range_lo = in->lo;
	out->range_hi = in->hi;
	out->tw_reuse = in->tw_reuse;
	r = census_passes(c, replay_all, (void *)in);
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

/* ---- which netns ---- */

static int add_ns(const char *path, int **fds, uint64_t **inos, int *n, int *cap)
{
	struct stat st;
	int fd;

	if (stat(path, &st)) {
		/* gone (fine), or another's netns without CAP_SYS_PTRACE */
		if (errno == EACCES || errno == EPERM)
			skips.processes++;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return 0;	/* nsfs files are regular: not a FIFO in /run/netns */
	for (int i = 0; i < *n; i++)
		if ((*inos)[i] == st.st_ino)
			return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 0;	/* raced with an exit or an unmount */
	/* /run/netns may hold other files; only nsfs of type net counts. The
	 * pid may have been reused (or the name bound again) between the
	 * stat() and the open(): the netns is the one the fd holds */
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET || fstat(fd, &st)) {
		close(fd);
		return 0;
	}
	for (int i = 0; i < *n; i++) {
		if ((*inos)[i] == st.st_ino) {
			close(fd);
			return 0;
		}
	}
	if (*n == *cap) {
		int c2 = *cap ? *cap * 2 : 16;
		int *nf = realloc(*fds, c2 * sizeof(**fds));
		uint64_t *ni;

		if (!nf) {
			close(fd);
			return -ENOMEM;
		}
		*fds = nf;
		ni = realloc(*inos, c2 * sizeof(**inos));
		if (!ni) {
			close(fd);
			return -ENOMEM;
		}
		*inos = ni;
		*cap = c2;
	}
	(*fds)[*n] = fd;
	(*inos)[*n] = st.st_ino;
	(*n)++;
	return 0;
}

int pw_census_list_netns(int **fds, uint64_t **inodes)
{
	static const char *const dirs[] = { "/proc", "/run/netns" };
	int n = 0, cap = 0, r = 0;

	*fds = NULL;
	*inodes = NULL;
	/* ours first, so a lone-netns host lists just that one */
	r = add_ns("/proc/self/ns/net", fds, inodes, &n, &cap);
	for (size_t k = 0; !r && k < 2; k++) {
		DIR *d = opendir(dirs[k]);
		struct dirent *de;

		if (!d)
			continue;	/* no /run/netns without ip netns */
		while (!r && (de = readdir(d))) {
			char path[PATH_MAX];

			if (de->d_name[0] == '.')
				continue;
			if (k == 0) {
				if (!isdigit((unsigned char)de->d_name[0]))
					continue;
				snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
			} else {
				snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
			}
			r = add_ns(path, fds, inodes, &n, &cap);
		}
		closedir(d);
	}
	if (r) {
		for (int i = 0; i < n; i++)
			close((*fds)[i]);
		free(*fds);
		free(*inodes);
		*fds = NULL;
		*inodes = NULL;
		return r;
	}
	return n;
}

int pw_census_open_netns(const char *spec, char *err, size_t errsz)
{
	char path[PATH_MAX];
	bool is_pid = *spec != '\0';
	struct statfs sfs;
	struct stat st;
	int fd, type, e;

	for (const char *p = spec; *p; p++)
		if (!isdigit((unsigned char)*p))
			is_pid = false;
	if (!*spec) {
		snprintf(err, errsz, "empty (a path or a PID)");
		return -EINVAL;
	}
	if (is_pid)
		snprintf(path, sizeof(path), "/proc/%s/ns/net", spec);
	else
		snprintf(path, sizeof(path), "%s", spec);
	/* namespace files are regular files of nsfs: never open anything else
	 * (a FIFO would block, a device could act on the open); O_NONBLOCK in
	 * case it is swapped for one in between, and fstatfs below decides */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s is not a namespace file", path);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		if (is_pid && e == ENOENT)
			snprintf(err, errsz, "no process with PID %s", spec);
		else
			snprintf(err, errsz, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != NSFS_MAGIC) {
		snprintf(err, errsz, "%s is not a namespace file", path);
		close(fd);
		return -EINVAL;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		if (type < 0)
			snprintf(err, errsz, "%s: cannot tell the namespace type: %s", path,
				 strerror(errno));
		else
			snprintf(err, errsz, "%s is not a network namespace", path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/* ---- output ---- */

static void dest_text(char *buf, size_t sz, const struct pw_census_dest *d)
{
	char a[INET6_ADDRSTRLEN];

	pw_addr_text(a, sizeof(a), d->family, d->daddr);
	snprintf(buf, sz, d->family == AF_INET6 ? "[%s]:%u" : "%s:%u", a, d->dport);
}

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
		sb_printf(sb, "%s\"%s\":%u", first ? "" : ",", state_names[s], d->states[s]);
		first = false;
	}
	sb_printf(sb, "}");
}

static void dest_head_json(struct sbuf *sb, const struct pw_census_ns *ns,
			   const struct pw_census_dest *d)
{
	char a[INET6_ADDRSTRLEN];

	pw_addr_text(a, sizeof(a), d->family, d->daddr);
	sb_printf(sb, "\"netns\":%" PRIu64 ",\"daddr\":\"%s\",\"dport\":%u", ns->netns, a, d->dport);
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
		sb_printf(&sb, ",\"held\":%u,\"range_size\":%u,\"usage\":%s,\"reusable_time_wait\":%u,\"holders\":[",
			  d->held, ns->range_size, u, d->reusable_time_wait);
		for (unsigned int j = 0; j < d->nholders; j++) {
			sb_printf(&sb, "%s{\"pid\":%u,\"comm\":", j ? "," : "", d->holders[j].pid);
			sb_json_str(&sb, d->holders[j].comm, pw_comm_len(d->holders[j].comm));
			sb_printf(&sb, ",\"sockets\":%u}", d->holders[j].sockets);
		}
		sb_printf(&sb, "]}");
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
	other -= s[ST_ESTABLISHED] + s[ST_SYN_SENT] + s[ST_TIME_WAIT] +
		 s[ST_FIN_WAIT1] + s[ST_FIN_WAIT2] + s[ST_CLOSE_WAIT];
	v[0] = d->held;
	v[2] = s[ST_ESTABLISHED];
	v[3] = s[ST_SYN_SENT];
	v[4] = s[ST_TIME_WAIT];
	v[5] = s[ST_FIN_WAIT1] + s[ST_FIN_WAIT2];
	v[6] = s[ST_CLOSE_WAIT];
	v[7] = other;
	v[8] = d->reusable_time_wait;
	for (int c = 0; c < NCOLS; c++)
		snprintf(cell[c], 16, "%u", v[c]);
	snprintf(cell[1], 16, "%.1f%%", d->usage * 100);
}

void pw_census_print_text(FILE *f, const struct pw_census_ns *ns)
{
	char dt[INET6_ADDRSTRLEN + 16], cell[NCOLS][16];
	int w = 4, cw[NCOLS];

	if (!ns->ndests) {
		fprintf(f, "netns %" PRIu64 ": no connecting TCP sockets\n", ns->netns);
		return;
	}
	fprintf(f, "netns %" PRIu64 ": ip_local_port_range %d-%d (%u usable: %u reserved, "
		"%u owned by bind/listeners), tcp_tw_reuse %d, %u sockets\n",
		ns->netns, ns->range_lo, ns->range_hi, ns->range_size, ns->reserved,
		ns->bind_owned, ns->tw_reuse, ns->sockets);
	for (int c = 0; c < NCOLS; c++)
		cw[c] = strlen(cols[c]);
	for (size_t i = 0; i < ns->ndests; i++) {
		dest_text(dt, sizeof(dt), &ns->dests[i]);
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

		dest_text(dt, sizeof(dt), d);
		row_cells(d, cell);
		fprintf(f, "%-*s", w, dt);
		for (int c = 0; c < NCOLS; c++)
			fprintf(f, "  %*s", cw[c], cell[c]);
		fprintf(f, "  ");
		if (!d->nholders)
			fprintf(f, "-");
		for (unsigned int j = 0; j < d->nholders; j++) {
			char comm[4 * PW_COMM_LEN];

			pw_comm_text(comm, sizeof(comm), d->holders[j].comm);
			fprintf(f, "%s%u/%s x%u", j ? ", " : "", d->holders[j].pid, comm,
				d->holders[j].sockets);
		}
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
}

void pw_census_diag_line(char *buf, size_t sz, const struct pw_census_ns *ns,
			 const struct pw_census_dest *d)
{
	char dt[INET6_ADDRSTRLEN + 16];
	struct sbuf sb;

	dest_text(dt, sizeof(dt), d);
	sb_init(&sb, buf, sz);
	sb_printf(&sb, "%s (netns %" PRIu64 "): %u/%u ports held, %u TIME_WAIT", dt, ns->netns,
		  d->held, ns->range_size, d->states[ST_TIME_WAIT]);
	if (d->reusable_time_wait)
		sb_printf(&sb, ", %u reusable", d->reusable_time_wait);
	for (unsigned int s = 1; s < PW_TCP_STATES; s++)
		if (s != ST_TIME_WAIT && d->states[s])
			sb_printf(&sb, ", %u %s", d->states[s], state_names[s]);
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
