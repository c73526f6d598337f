// SPDX-License-Identifier: GPL-2.0
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "output.h"

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

size_t pw_utf8_seq_len(const unsigned char *s, size_t n)
{
	size_t len;
	unsigned int cp;

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
	return len;
}

void sb_json_str(struct sbuf *sb, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	sb_printf(sb, "\"");
	while (i < n && !sb->err) {
		size_t l = pw_utf8_seq_len(s + i, n - i);

		if (l == 0) {
			sb_printf(sb, "\\ufffd");
			i++;
			continue;
		}
		if (l > 1) {
			sb_printf(sb, "%.*s", (int)l, (const char *)s + i);
			i += l;
			continue;
		}
		switch (s[i]) {
		case '"':  sb_printf(sb, "\\\""); break;
		case '\\': sb_printf(sb, "\\\\"); break;
		case '\n': sb_printf(sb, "\\n"); break;
		case '\r': sb_printf(sb, "\\r"); break;
		case '\t': sb_printf(sb, "\\t"); break;
		case '\b': sb_printf(sb, "\\b"); break;
		case '\f': sb_printf(sb, "\\f"); break;
		default:
			if (s[i] < 0x20 || s[i] == 0x7f)
				sb_printf(sb, "\\u%04x", s[i]);
			else
				sb_printf(sb, "%c", s[i]);
		}
		i++;
	}
	sb_printf(sb, "\"");
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
		size_t l = pw_utf8_seq_len(s + i, n - i);

		if (l > 1 && o + l < sz) {
			memcpy(dst + o, s + i, l);
			o += l;
			i += l;
			continue;
		}
		dst[o++] = (l == 1 && s[i] >= 0x20 && s[i] != 0x7f) ? (char)s[i] : '?';
		i += l > 1 ? l : 1;
	}
	dst[o] = '\0';
}

void pw_addr_text(char *dst, size_t sz, unsigned int family, const uint8_t addr[16])
{
	if ((family != AF_INET && family != AF_INET6) || !inet_ntop(family, addr, dst, sz)) {
		if (sz)
			dst[0] = '\0';
	}
}

void pw_time_rfc3339(char *dst, size_t sz, uint64_t ns)
{
	time_t sec = ns / 1000000000ull;
	struct tm tm;
	char date[32];

	gmtime_r(&sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(dst, sz, "%s.%09lluZ", date, (unsigned long long)(ns % 1000000000ull));
}

void pw_duration_text(char *dst, size_t sz, uint64_t ns)
{
	/* thresholds where rounding would print the next unit's first value */
	if (ns < 9950)
		snprintf(dst, sz, "%.1fus", ns / 1e3);
	else if (ns < 999500)
		snprintf(dst, sz, "%lluus", (unsigned long long)((ns + 500) / 1000));
	else if (ns < 999995000)
		snprintf(dst, sz, "%.2fms", ns / 1e6);
	else
		snprintf(dst, sz, "%.2fs", ns / 1e9);
}

static void sb_json_null_or_u64(struct sbuf *sb, const char *key, bool has, uint64_t v)
{
	if (has)
		sb_printf(sb, ",\"%s\":%llu", key, (unsigned long long)v);
	else
		sb_printf(sb, ",\"%s\":null", key);
}

bool pw_event_json(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real)
{
	pw_event_json_open(sb, e, mono_to_real);
	sb_printf(sb, "}");
	return !sb->err;
}

bool pw_event_json_open(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real)
{
	char t[48], saddr[INET6_ADDRSTRLEN], daddr[INET6_ADDRSTRLEN], ebuf[16];
	const char *cause = pw_cause_name(e->cause);

	pw_time_rfc3339(t, sizeof(t), pw_event_realtime(e, mono_to_real));
	pw_addr_text(saddr, sizeof(saddr), e->family, e->saddr);
	pw_addr_text(daddr, sizeof(daddr), e->family, e->daddr);

	sb_printf(sb, "{\"type\":\"connect\",\"time\":\"%s\",\"pid\":%u,\"tid\":%u,\"uid\":%u,\"comm\":",
		  t, e->pid, e->tid, e->uid);
	sb_json_str(sb, e->comm, pw_comm_len(e->comm));
	sb_printf(sb, ",\"family\":\"%s\",\"saddr\":\"%s\",\"sport\":%u,\"daddr\":\"%s\",\"dport\":%u,\"ret\":%d",
		  pw_family_name(e->family), saddr, e->sport, daddr, e->dport, e->ret);
	if (e->ret)
		sb_printf(sb, ",\"errno\":\"%s\"", pw_errno_label(-e->ret, ebuf, sizeof(ebuf)));
	else
		sb_printf(sb, ",\"errno\":null");
	if (cause)
		sb_printf(sb, ",\"cause\":\"%s\"", cause);
	else
		sb_printf(sb, ",\"cause\":null");
	sb_printf(sb, ",\"netns\":%llu,\"cgroup_id\":%llu",
		  (unsigned long long)e->netns, (unsigned long long)e->cgroup_id);
	if (e->flags & PW_HAS_RANGE)
		sb_printf(sb, ",\"port_range\":[%u,%u]", e->range_lo, e->range_hi);
	else
		sb_printf(sb, ",\"port_range\":null");
	sb_json_null_or_u64(sb, "tw_reuse", e->flags & PW_HAS_TW_REUSE, e->tw_reuse);
	sb_json_null_or_u64(sb, "scan_ns", e->flags & PW_HAS_SCAN_NS, e->scan_ns);
	sb_json_null_or_u64(sb, "ports_checked", e->flags & PW_HAS_PORTS_CHECKED,
			    e->ports_checked);
	sb_printf(sb, ",\"mode\":\"%s\"", pw_mode_name(e->mode));
	return !sb->err;
}

#define TEXT_FMT "%-12s %-7s %-16s %-5s %-28s %-14s %-21s %-12s %s"

const char *pw_event_header(void)
{
	static char hdr[160];

	if (!hdr[0])
		snprintf(hdr, sizeof(hdr), TEXT_FMT, "TIME", "PID", "COMM", "FAM",
			 "DESTINATION", "ERRNO", "CAUSE", "RANGE", "SCAN");
	return hdr;
}

bool pw_event_text(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real)
{
	char t[32], ms[8], pid[16], comm[4 * PW_COMM_LEN], addr[INET6_ADDRSTRLEN];
	char dest[INET6_ADDRSTRLEN + 10], range[16] = "-", scan[48] = "-", dur[24], ebuf[16];
	const char *cause = pw_cause_name(e->cause);
	uint64_t rt = pw_event_realtime(e, mono_to_real);
	time_t sec = rt / 1000000000ull;
	struct tm tm;

	localtime_r(&sec, &tm);
	strftime(t, sizeof(t), "%H:%M:%S", &tm);
	snprintf(ms, sizeof(ms), ".%03u", (unsigned int)(rt % 1000000000ull / 1000000));
	strncat(t, ms, sizeof(t) - strlen(t) - 1);
	snprintf(pid, sizeof(pid), "%u", e->pid);
	pw_comm_text(comm, sizeof(comm), e->comm);
	pw_addr_text(addr, sizeof(addr), e->family, e->daddr);
	if (e->family == AF_INET6)
		snprintf(dest, sizeof(dest), "[%s]:%u", addr, e->dport);
	else
		snprintf(dest, sizeof(dest), "%s:%u", addr, e->dport);
	if (e->flags & PW_HAS_RANGE)
		snprintf(range, sizeof(range), "%u-%u", e->range_lo, e->range_hi);
	if (e->flags & PW_HAS_SCAN_NS) {
		pw_duration_text(dur, sizeof(dur), e->scan_ns);
		if (e->flags & PW_HAS_PORTS_CHECKED)
			snprintf(scan, sizeof(scan), "%s %u ports", dur, e->ports_checked);
		else
			snprintf(scan, sizeof(scan), "%s", dur);
	}
	sb_printf(sb, TEXT_FMT, t, pid, comm, e->family == AF_INET6 ? "ipv6" : "ipv4",
		  dest, e->ret ? pw_errno_label(-e->ret, ebuf, sizeof(ebuf)) : "-",
		  cause ? cause : "ok", range, scan);
	return !sb->err;
}
