// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "output.h"
#include "workload.h"

void sb_init(struct sbuf *sb, char *buf, size_t cap)
{
	sb->buf = buf;
	sb->cap = cap;
	sb->len = 0;
	sb->err = cap == 0;
	if (cap)
		buf[0] = '\0';
}

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->cap - sb->len) {
		sb->err = true;
		sb->buf[sb->len] = '\0';
		return;
	}
	sb->len += n;
}

/* The per-event path appends with these, not printf: a formatted event is
 * built from memcpy and digit loops only (docs/performance.md). */
void sb_put(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->err)
		return;
	if (n >= sb->cap - sb->len) {
		sb->err = true;
		return;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

#define sb_lit(sb, s) sb_put(sb, s, sizeof(s) - 1)

void sb_puts(struct sbuf *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}

void sb_putc(struct sbuf *sb, char c)
{
	sb_put(sb, &c, 1);
}

/* Decimal digits of v, at least `width` (up to 20) of them, zero-padded;
 * two digits per division. */
void sb_u64w(struct sbuf *sb, uint64_t v, unsigned int width)
{
	static const char pairs[201] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char d[24];
	int i = sizeof(d);

	while (v >= 100) {
		unsigned int r = v % 100;

		v /= 100;
		i -= 2;
		memcpy(d + i, pairs + 2 * r, 2);
	}
	if (v >= 10) {
		i -= 2;
		memcpy(d + i, pairs + 2 * v, 2);
	} else {
		d[--i] = '0' + v;
	}
	while ((int)sizeof(d) - i < (int)width && i > 0)
		d[--i] = '0';
	sb_put(sb, d + i, sizeof(d) - i);
}

void sb_u64(struct sbuf *sb, uint64_t v)
{
	sb_u64w(sb, v, 1);
}

void sb_i64(struct sbuf *sb, int64_t v)
{
	if (v < 0) {
		sb_putc(sb, '-');
		sb_u64(sb, -(uint64_t)v);
	} else {
		sb_u64(sb, v);
	}
}

/* Spaces until the text since `from` is `width` long (then one at least is
 * the caller's: the columns are separated by a space). */
static void sb_pad(struct sbuf *sb, size_t from, size_t width)
{
	static const char spaces[] = "                                ";
	size_t have = sb->len - from;

	while (!sb->err && have < width) {
		size_t n = width - have < sizeof(spaces) - 1 ? width - have : sizeof(spaces) - 1;

		sb_put(sb, spaces, n);
		have += n;
	}
}

/* The code point of the valid UTF-8 sequence at s in *cp; its length, 0 if
 * invalid (as pw_utf8_seq_len). */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned int *cp_out)
{
	size_t len;
	unsigned int cp;

	*cp_out = s[0];
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*cp_out = cp;
	return len;
}

size_t pw_utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned int cp;

	return utf8_decode(s, n, &cp);
}

bool pw_cp_is_control(unsigned int cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||	/* C0, DEL, C1 (0x9b: CSI) */
	       cp == 0x061c || cp == 0x200e || cp == 0x200f ||	/* ALM, LRM, RLM */
	       (cp >= 0x2028 && cp <= 0x202e) ||		/* LS, PS, LRE..RLO */
	       (cp >= 0x2066 && cp <= 0x2069) ||		/* LRI..PDI */
	       (cp >= 0x206a && cp <= 0x206f);			/* deprecated format controls */
}

size_t pw_text_seq_len(const unsigned char *s, size_t n)
{
	unsigned int cp;
	size_t l = utf8_decode(s, n, &cp);

	return l && !pw_cp_is_control(cp) ? l : 0;
}

void sb_json_str(struct sbuf *sb, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, plain;
	unsigned int cp;

	sb_putc(sb, '"');
	while (i < n && !sb->err) {
		size_t l;

		/* a run of printable ASCII goes in one copy */
		for (plain = i; plain < n && s[plain] >= 0x20 && s[plain] < 0x7f &&
		     s[plain] != '"' && s[plain] != '\\'; plain++)
			;
		if (plain > i) {
			sb_put(sb, str + i, plain - i);
			i = plain;
			continue;
		}
		l = utf8_decode(s + i, n - i, &cp);
		if (l == 0) {
			sb_put(sb, "\\ufffd", 6);
			i++;
			continue;
		}
		if (l > 1 && pw_cp_is_control(cp)) {
			/* the same string, but a terminal showing the line acts on none */
			char u[6] = { '\\', 'u', hex[cp >> 12], hex[cp >> 8 & 15], hex[cp >> 4 & 15],
				      hex[cp & 15] };

			sb_put(sb, u, sizeof(u));
			i += l;
			continue;
		}
		if (l > 1) {
			sb_put(sb, str + i, l);
			i += l;
			continue;
		}
		switch (s[i]) {
		case '"':  sb_put(sb, "\\\"", 2); break;
		case '\\': sb_put(sb, "\\\\", 2); break;
		case '\n': sb_put(sb, "\\n", 2); break;
		case '\r': sb_put(sb, "\\r", 2); break;
		case '\t': sb_put(sb, "\\t", 2); break;
		case '\b': sb_put(sb, "\\b", 2); break;
		case '\f': sb_put(sb, "\\f", 2); break;
		default: {
			/* control bytes and DEL */
			char u[6] = { '\\', 'u', '0', '0', hex[s[i] >> 4], hex[s[i] & 15] };

			sb_put(sb, u, 6);
		}
		}
		i++;
	}
	sb_putc(sb, '"');
}

static const struct {
	int err;
	const char *name;
} errnos[] = {
	{ EPERM, "EPERM" },		{ ENOENT, "ENOENT" },
	{ EINTR, "EINTR" },		{ EBADF, "EBADF" },
	{ EAGAIN, "EAGAIN" },		{ ENOMEM, "ENOMEM" },
	{ EACCES, "EACCES" },		{ EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" },		{ EINVAL, "EINVAL" },
	{ ENFILE, "ENFILE" },		{ EMFILE, "EMFILE" },
	{ ENOSPC, "ENOSPC" },		{ EPIPE, "EPIPE" },
	{ ENOTSOCK, "ENOTSOCK" },	{ EDESTADDRREQ, "EDESTADDRREQ" },
	{ EPROTOTYPE, "EPROTOTYPE" },	{ ENOPROTOOPT, "ENOPROTOOPT" },
	{ EPROTONOSUPPORT, "EPROTONOSUPPORT" },
	{ EOPNOTSUPP, "EOPNOTSUPP" },	{ EAFNOSUPPORT, "EAFNOSUPPORT" },
	{ EADDRINUSE, "EADDRINUSE" },	{ EADDRNOTAVAIL, "EADDRNOTAVAIL" },
	{ ENETDOWN, "ENETDOWN" },	{ ENETUNREACH, "ENETUNREACH" },
	{ ENETRESET, "ENETRESET" },	{ ECONNABORTED, "ECONNABORTED" },
	{ ECONNRESET, "ECONNRESET" },	{ ENOBUFS, "ENOBUFS" },
	{ EISCONN, "EISCONN" },		{ ENOTCONN, "ENOTCONN" },
	{ ETIMEDOUT, "ETIMEDOUT" },	{ ECONNREFUSED, "ECONNREFUSED" },
	{ EHOSTDOWN, "EHOSTDOWN" },	{ EHOSTUNREACH, "EHOSTUNREACH" },
	{ EALREADY, "EALREADY" },	{ EINPROGRESS, "EINPROGRESS" },
	/* a failure whose errno the attach mode cannot see (tracepoint mode,
	 * after_port_selection): the key in the summary's errors and metrics */
	{ PW_ERR_UNKNOWN, "unknown" },
};

const char *pw_errno_name(int err)
{
	for (size_t i = 0; i < sizeof(errnos) / sizeof(errnos[0]); i++)
		if (errnos[i].err == err)
			return errnos[i].name;
	return NULL;
}

const char *pw_errno_label(int err, char *buf, size_t sz)
{
	const char *name = pw_errno_name(err);

	if (name)
		return name;
	snprintf(buf, sz, "E%d", err);
	return buf;
}

const char *pw_cause_name(unsigned int cause)
{
	switch (cause) {
	case PW_CAUSE_RANGE_EXHAUSTED: return "port_range_exhausted";
	case PW_CAUSE_BOUND_CONFLICT:  return "bound_port_conflict";
	case PW_CAUSE_NO_SOURCE:       return "no_source_address";
	case PW_CAUSE_OTHER:           return "other";
	case PW_CAUSE_AFTER_PORT_SELECTION: return "after_port_selection";
	default:                       return NULL;
	}
}

const char *pw_mode_name(unsigned int mode)
{
	switch (mode) {
	case PW_MODE_FENTRY:     return "fentry";
	case PW_MODE_KPROBE:     return "kprobe";
	case PW_MODE_TRACEPOINT: return "tracepoint";
	default:                 return "unknown";
	}
}

const char *pw_op_name(unsigned int op)
{
	switch (op) {
	case PW_OP_CONNECT:     return "connect";
	case PW_OP_BIND:        return "bind";
	case PW_OP_UDP_CONNECT: return "udp_connect";
	case PW_OP_UDP_SEND:    return "udp_send";
	default:                return NULL;
	}
}

const char *pw_family_name(unsigned int family)
{
	switch (family) {
	case AF_INET:  return "inet";
	case AF_INET6: return "inet6";
	default:       return "unknown";
	}
}

size_t pw_comm_len(const char *comm)
{
	size_t n = 0;

	while (n < PW_COMM_LEN && comm[n])
		n++;
	return n;
}

void pw_comm_text(char *dst, size_t sz, const char *comm)
{
	const unsigned char *s = (const unsigned char *)comm;
	size_t n = pw_comm_len(comm), i = 0, o = 0;

	if (!sz)
		return;
	while (i < n && o + 1 < sz) {
		size_t l = pw_text_seq_len(s + i, n - i), bad;

		if (l > 1 && o + l < sz) {
			memcpy(dst + o, s + i, l);
			o += l;
			i += l;
			continue;
		}
		dst[o++] = l == 1 ? (char)s[i] : '?';
		/* a control is one '?', an invalid byte one each */
		bad = l ? l : pw_utf8_seq_len(s + i, n - i);
		i += bad ? bad : 1;
	}
	dst[o] = '\0';
}

static void sb_ipv4(struct sbuf *sb, const uint8_t a[4])
{
	for (int i = 0; i < 4; i++) {
		if (i)
			sb_putc(sb, '.');
		sb_u64(sb, a[i]);
	}
}

/* The text inet_ntop gives (RFC 5952 with glibc's choices: the first
 * longest run of two or more zero groups becomes "::"; ::ffff:a.b.c.d and
 * ::a.b.c.d keep the dotted IPv4 form). */
static void sb_ipv6(struct sbuf *sb, const uint8_t a[16])
{
	static const char hex[] = "0123456789abcdef";
	unsigned int w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = a[2 * i] << 8 | a[2 * i + 1];
		if (!w[i]) {
			if (cur < 0) {
				cur = i;
				cur_len = 0;
			}
			if (++cur_len > best_len) {
				best = cur;
				best_len = cur_len;
			}
		} else {
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			sb_putc(sb, ':');
			i += best_len - 1;
			if (i == 7)
				sb_putc(sb, ':');
			continue;
		}
		if (i)
			sb_putc(sb, ':');
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
			sb_ipv4(sb, a + 12);
			return;
		}
		char d[4];
		int n = 0;

		for (int sh = 12; sh >= 0; sh -= 4)
			if (n || (w[i] >> sh) & 15 || !sh)
				d[n++] = hex[(w[i] >> sh) & 15];
		sb_put(sb, d, n);
	}
}

/* An address of `family` as text; nothing for another family. */
void sb_addr(struct sbuf *sb, unsigned int family, const uint8_t addr[16])
{
	if (family == AF_INET)
		sb_ipv4(sb, addr);
	else if (family == AF_INET6)
		sb_ipv6(sb, addr);
}

void pw_addr_text(char *dst, size_t sz, unsigned int family, const uint8_t addr[16])
{
	struct sbuf sb;

	sb_init(&sb, dst, sz);
	sb_addr(&sb, family, addr);
	if (sb.err && sz)
		dst[0] = '\0';
}

/* The second of realtime ns as "2026-11-24T21:50:00" (UTC) or "22:45:38"
 * (local), remade only when the second changes: events come in bursts
 * within one second. Per thread. */
static const char *second_text(uint64_t sec, bool local)
{
	static __thread struct {
		uint64_t sec;
		char text[32];
	} cache[2] = { { UINT64_MAX, "" }, { UINT64_MAX, "" } };

	if (sec != cache[local].sec) {
		time_t t = sec;
		struct tm tm;

		if (local)
			localtime_r(&t, &tm);
		else
			gmtime_r(&t, &tm);
		strftime(cache[local].text, sizeof(cache[local].text),
			 local ? "%H:%M:%S" : "%Y-%m-%dT%H:%M:%S", &tm);
		cache[local].sec = sec;
	}
	return cache[local].text;
}

static void sb_time_rfc3339(struct sbuf *sb, uint64_t ns)
{
	sb_puts(sb, second_text(ns / 1000000000ull, false));
	sb_putc(sb, '.');
	sb_u64w(sb, ns % 1000000000ull, 9);
	sb_putc(sb, 'Z');
}

void pw_time_rfc3339(char *dst, size_t sz, uint64_t ns)
{
	struct sbuf sb;

	sb_init(&sb, dst, sz);
	sb_time_rfc3339(&sb, ns);
}

/* ns / unit, rounded half up, with `decimals` (0 to 2) decimals, then suffix;
 * unit is a multiple of 100 */
static void sb_fixed(struct sbuf *sb, uint64_t ns, uint64_t unit, unsigned int decimals,
		     const char *suffix)
{
	uint64_t scale = decimals == 2 ? 100 : decimals == 1 ? 10 : 1;
	uint64_t step = unit / scale, q = ns / step + (ns % step >= step / 2);

	sb_u64(sb, q / scale);
	if (decimals) {
		sb_putc(sb, '.');
		sb_u64w(sb, q % scale, decimals);
	}
	sb_puts(sb, suffix);
}

static void sb_duration(struct sbuf *sb, uint64_t ns)
{
	/* thresholds where rounding would print the next unit's first value */
	if (ns < 9950)
		sb_fixed(sb, ns, 1000, 1, "us");
	else if (ns < 999500)
		sb_fixed(sb, ns, 1000, 0, "us");
	else if (ns < 999995000)
		sb_fixed(sb, ns, 1000000, 2, "ms");
	else
		sb_fixed(sb, ns, 1000000000, 2, "s");
}

void pw_duration_text(char *dst, size_t sz, uint64_t ns)
{
	struct sbuf sb;

	sb_init(&sb, dst, sz);
	sb_duration(&sb, ns);
}

static void sb_key_u64_or_null(struct sbuf *sb, const char *key, bool has, uint64_t v)
{
	sb_puts(sb, key);
	if (has)
		sb_u64(sb, v);
	else
		sb_put(sb, "null", 4);
}

/* ,"key":"value" or ,"key":null */
static void sb_key_name_or_null(struct sbuf *sb, const char *key, const char *v)
{
	sb_puts(sb, key);
	if (v) {
		sb_putc(sb, '"');
		sb_puts(sb, v);
		sb_putc(sb, '"');
	} else {
		sb_put(sb, "null", 4);
	}
}

/* The errno name of a return value; INT_MIN (no errno, but it is what an
 * event can carry) has no negation. */
static const char *errno_text(int ret, char *buf, size_t sz)
{
	return ret ? pw_errno_label(ret == INT_MIN ? INT_MIN : -ret, buf, sz) : NULL;
}

/* ,"key":"value" with JSON escaping, or ,"key":null */
static void sb_key_str_or_null(struct sbuf *sb, const char *key, const char *v)
{
	sb_puts(sb, key);
	if (v)
		sb_json_str(sb, v, strlen(v));
	else
		sb_put(sb, "null", 4);
}

void sb_workload_json(struct sbuf *sb, const struct pw_workload *w)
{
	sb_key_str_or_null(sb, ",\"cgroup\":", w ? w->cgroup : NULL);
	sb_key_str_or_null(sb, ",\"unit\":", w ? w->unit : NULL);
	sb_key_str_or_null(sb, ",\"container_id\":", w ? w->container_id : NULL);
	if (w && w->pod_uid[0]) {
		sb_lit(sb, ",\"pod\":{");
		sb_key_str_or_null(sb, "\"namespace\":", w->pod_namespace);
		sb_key_str_or_null(sb, ",\"name\":", w->pod_name);
		sb_key_str_or_null(sb, ",\"uid\":", w->pod_uid);
		sb_key_str_or_null(sb, ",\"qos\":", pw_qos_name(w->qos));
		sb_putc(sb, '}');
	} else {
		sb_lit(sb, ",\"pod\":null");
	}
	sb_key_str_or_null(sb, ",\"container\":", w ? w->container : NULL);
}

static bool pw_event_json_open(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real);

bool pw_event_json(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real,
		   const struct pw_workload *w)
{
	size_t tl = pw_comm_len(e->thread);

	pw_event_json_open(sb, e, mono_to_real);
	sb_workload_json(sb, w);
	/* the thread's own name when it differs from the process's */
	sb_lit(sb, ",\"thread\":");
	if (tl && (tl != pw_comm_len(e->comm) || memcmp(e->thread, e->comm, tl)))
		sb_json_str(sb, e->thread, tl);
	else
		sb_lit(sb, "null");
	sb_putc(sb, '}');
	return !sb->err;
}

static bool pw_event_json_open(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real)
{
	char ebuf[16];

	sb_lit(sb, "{\"type\":\"connect\",\"time\":\"");
	sb_time_rfc3339(sb, pw_event_realtime(e, mono_to_real));
	sb_lit(sb, "\",\"pid\":");
	sb_u64(sb, e->pid);
	sb_lit(sb, ",\"tid\":");
	sb_u64(sb, e->tid);
	sb_lit(sb, ",\"uid\":");
	sb_u64(sb, e->uid);
	sb_lit(sb, ",\"comm\":");
	sb_json_str(sb, e->comm, pw_comm_len(e->comm));
	sb_key_name_or_null(sb, ",\"family\":", pw_family_name(e->family));
	sb_lit(sb, ",\"saddr\":\"");
	sb_addr(sb, e->family, e->saddr);
	sb_lit(sb, "\",\"sport\":");
	sb_u64(sb, e->sport);
	if (e->flags & PW_NO_DEST) {
		/* an address the kernel did not take: nothing to show */
		sb_lit(sb, ",\"daddr\":null,\"dport\":null");
	} else {
		sb_lit(sb, ",\"daddr\":\"");
		sb_addr(sb, e->family, e->daddr);
		sb_lit(sb, "\",\"dport\":");
		sb_u64(sb, e->dport);
	}
	if (e->ret == -PW_ERR_UNKNOWN) {
		/* a failure, but the mode does not see its errno */
		sb_lit(sb, ",\"ret\":null,\"errno\":null");
	} else {
		sb_lit(sb, ",\"ret\":");
		sb_i64(sb, e->ret);
		sb_key_name_or_null(sb, ",\"errno\":", errno_text(e->ret, ebuf, sizeof(ebuf)));
	}
	sb_key_name_or_null(sb, ",\"cause\":", pw_cause_name(e->cause));
	sb_lit(sb, ",\"netns\":");
	sb_u64(sb, e->netns);
	sb_lit(sb, ",\"cgroup_id\":");
	sb_u64(sb, e->cgroup_id);
	if (e->flags & PW_HAS_RANGE) {
		sb_lit(sb, ",\"port_range\":[");
		sb_u64(sb, e->range_lo);
		sb_putc(sb, ',');
		sb_u64(sb, e->range_hi);
		sb_putc(sb, ']');
	} else {
		sb_lit(sb, ",\"port_range\":null");
	}
	sb_key_u64_or_null(sb, ",\"tw_reuse\":", e->flags & PW_HAS_TW_REUSE, e->tw_reuse);
	sb_key_u64_or_null(sb, ",\"scan_ns\":", e->flags & PW_HAS_SCAN_NS, e->scan_ns);
	sb_key_u64_or_null(sb, ",\"ports_checked\":", e->flags & PW_HAS_PORTS_CHECKED,
			   e->ports_checked);
	sb_key_name_or_null(sb, ",\"mode\":", pw_mode_name(e->mode));
	sb_key_name_or_null(sb, ",\"op\":", pw_op_name(e->op));
	/* the remedy a bind failure needs is the client's, known without a census */
	if (e->op == PW_OP_BIND)
		sb_lit(sb, ",\"remedy\":\"bind_address_no_port\"");
	return !sb->err;
}

/* Column widths of the text lines (the last column has none). */
static const unsigned char text_widths[] = { 12, 7, 16, 5, 28, 14, 21, 12, 14 };

const char *pw_event_header(void)
{
	static const char *const names[] = { "TIME", "PID", "COMM", "FAM", "DESTINATION",
					     "ERRNO", "CAUSE", "RANGE", "SCAN", "WORKLOAD" };
	static char hdr[192];
	struct sbuf sb;

	if (!hdr[0]) {
		sb_init(&sb, hdr, sizeof(hdr));
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t from = sb.len;

			sb_puts(&sb, names[i]);
			if (i < sizeof(text_widths)) {
				sb_pad(&sb, from, text_widths[i]);
				sb_putc(&sb, ' ');
			}
		}
	}
	return hdr;
}

/* The destination as ADDR:PORT or [ADDR6]:PORT. */
void sb_dest(struct sbuf *sb, unsigned int family, const uint8_t addr[16], uint16_t port)
{
	if (family == AF_INET6)
		sb_putc(sb, '[');
	sb_addr(sb, family, addr);
	if (family == AF_INET6)
		sb_putc(sb, ']');
	sb_putc(sb, ':');
	sb_u64(sb, port);
}

/* Safe comm for a terminal, appended. */
void sb_comm_text(struct sbuf *sb, const char *comm)
{
	char c[4 * PW_COMM_LEN];

	pw_comm_text(c, sizeof(c), comm);
	sb_puts(sb, c);
}

void sb_safe_text(struct sbuf *sb, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n && !sb->err) {
		size_t l = pw_text_seq_len(s + i, n - i), bad;

		if (l > 1) {
			sb_put(sb, str + i, l);
			i += l;
			continue;
		}
		sb_putc(sb, l == 1 ? (char)s[i] : '?');
		bad = l ? l : pw_utf8_seq_len(s + i, n - i);
		i += bad ? bad : 1;
	}
}

static void sb_safe_str(struct sbuf *sb, const char *s)
{
	sb_safe_text(sb, s, strlen(s));
}

void sb_workload_text(struct sbuf *sb, const struct pw_workload *w)
{
	const char *u;

	if (!w) {
		sb_putc(sb, '?');
	} else if (w->pod_uid[0] && w->pod_name) {
		sb_safe_str(sb, w->pod_namespace);
		sb_putc(sb, '/');
		sb_safe_str(sb, w->pod_name);
		if (w->container) {
			sb_putc(sb, '/');
			sb_safe_str(sb, w->container);
		} else if (w->container_id) {
			sb_putc(sb, '/');
			sb_safe_text(sb, w->container_id, strnlen(w->container_id, 12));
		}
	} else if (w->pod_uid[0]) {
		sb_lit(sb, "pod:");
		sb_puts(sb, w->pod_uid);
		if (w->container_id) {
			sb_putc(sb, '/');
			sb_safe_text(sb, w->container_id, strnlen(w->container_id, 12));
		}
	} else if (w->container_id) {
		sb_puts(sb, w->runtime ? w->runtime : "container");
		sb_putc(sb, ':');
		sb_safe_text(sb, w->container_id, strnlen(w->container_id, 12));
	} else if (w->unit) {
		u = strrchr(w->unit, '/');
		sb_safe_str(sb, u ? u + 1 : w->unit);
	} else if (w->cgroup && strcmp(w->cgroup, "/")) {
		sb_safe_str(sb, w->cgroup);
	} else {
		sb_putc(sb, '-');
	}
}

bool pw_event_text(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real,
		   const struct pw_workload *w)
{
	uint64_t rt = pw_event_realtime(e, mono_to_real);
	const char *cause = pw_cause_name(e->cause);
	char ebuf[16];
	size_t col = sb->len;
	int i = 0;

#define NEXT_COLUMN() do { sb_pad(sb, col, text_widths[i++]); sb_putc(sb, ' '); col = sb->len; } while (0)
	sb_puts(sb, second_text(rt / 1000000000ull, true));
	sb_putc(sb, '.');
	sb_u64w(sb, rt % 1000000000ull / 1000000, 3);
	NEXT_COLUMN();
	sb_u64(sb, e->pid);
	NEXT_COLUMN();
	sb_comm_text(sb, e->comm);
	NEXT_COLUMN();
	sb_puts(sb, e->family == AF_INET6 ? "ipv6" : "ipv4");
	NEXT_COLUMN();
	if (e->op != PW_OP_CONNECT) {
		/* no destination: the op, and for a bind the address asked for */
		sb_puts(sb, pw_op_name(e->op) ? pw_op_name(e->op) : "?");
		if (e->op == PW_OP_BIND) {
			sb_putc(sb, ' ');
			sb_addr(sb, e->family, e->saddr);
		}
	} else if (e->flags & PW_NO_DEST) {
		sb_putc(sb, '-');
	} else {
		sb_dest(sb, e->family, e->daddr, e->dport);
	}
	NEXT_COLUMN();
	sb_puts(sb, e->ret ? errno_text(e->ret, ebuf, sizeof(ebuf)) : "-");
	NEXT_COLUMN();
	sb_puts(sb, cause ? cause : "ok");
	NEXT_COLUMN();
	if (e->flags & PW_HAS_RANGE) {
		sb_u64(sb, e->range_lo);
		sb_putc(sb, '-');
		sb_u64(sb, e->range_hi);
	} else {
		sb_putc(sb, '-');
	}
	NEXT_COLUMN();
#undef NEXT_COLUMN
	if (e->flags & PW_HAS_SCAN_NS) {
		sb_duration(sb, e->scan_ns);
		if (e->flags & PW_HAS_PORTS_CHECKED) {
			sb_putc(sb, ' ');
			sb_u64(sb, e->ports_checked);
			sb_lit(sb, " ports");
		}
	} else {
		sb_putc(sb, '-');
	}
	sb_pad(sb, col, text_widths[i]);
	sb_putc(sb, ' ');
	sb_workload_text(sb, w);
	return !sb->err;
}
