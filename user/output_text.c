// SPDX-License-Identifier: GPL-2.0
/* One event as a text line under a header (output.h): the columns, their
 * widths, the workload column. */
#include <string.h>
#include <sys/socket.h>
#include "output.h"
#include "workload.h"

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
	sb_time_of_day_ms(sb, rt);
	NEXT_COLUMN();
	sb_u64(sb, e->pid);
	NEXT_COLUMN();
	sb_comm_text(sb, e->comm);
	NEXT_COLUMN();
	sb_puts(sb, e->family == AF_INET6 ? "ipv6" : "ipv4");
	NEXT_COLUMN();
	if (e->flags & PW_NO_DEST)
		sb_putc(sb, '-');
	else
		sb_dest(sb, e->family, e->daddr, e->dport);
	NEXT_COLUMN();
	sb_puts(sb, e->ret ? pw_ret_errno_name(e->ret, ebuf, sizeof(ebuf)) : "-");
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
