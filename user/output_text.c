// SPDX-License-Identifier: GPL-2.0
/* One event as a text line under a header (output.h): the columns, their
 * widths, the workload column. */
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "output.h"
#include "textfit.h"
#include "workload.h"

/* Column widths of the text lines (the last column has none). */
static const unsigned char text_widths[] = { 12, 7, 16, 5, 28, 14, 21, 12, 14 };
enum { C_TIME, C_PID, C_COMM, C_FAM, C_DEST, C_ERRNO, C_CAUSE, C_RANGE, C_SCAN, C_WORKLOAD,
       NCOLS };
#define WORKLOAD_MIN	8	/* narrower than this, the workload column goes */

/* Which columns a line has and how wide it may be (pw_text_fit): every
 * column and no bound unless stdout is a terminal narrower than the line. */
static struct {
	bool off[NCOLS];
	unsigned int cols;	/* 0: no bound */
	unsigned int gen;	/* changes with the plan: the header is made again */
} plan;
static volatile sig_atomic_t resized;
static int tty_fd = -1;

static unsigned int plan_width(void)
{
	unsigned int w = plan.off[C_WORKLOAD] ? 0 : WORKLOAD_MIN;

	for (int i = 0; i < C_WORKLOAD; i++)
		w += plan.off[i] ? 0 : text_widths[i] + 1;
	return w;
}

void pw_text_fit(unsigned int cols)
{
	/* as the terminal narrows: the workload shrinks (the cut), then
	 * these go, in this order; PID, COMM and DESTINATION stay */
	static const int drop[] = { C_WORKLOAD, C_RANGE, C_FAM, C_SCAN, C_ERRNO, C_TIME, C_CAUSE };

	memset(plan.off, 0, sizeof(plan.off));
	plan.cols = cols;
	for (size_t i = 0; cols && i < sizeof(drop) / sizeof(drop[0]) && plan_width() > cols; i++)
		plan.off[drop[i]] = true;
	plan.gen++;
}

static void on_winch(int sig)
{
	(void)sig;
	resized = 1;
}

static unsigned int tty_cols(int fd)
{
	struct winsize ws;

	return !ioctl(fd, TIOCGWINSZ, &ws) ? ws.ws_col : 0;
}

void pw_text_fit_tty(int fd)
{
	struct sigaction sa = { .sa_handler = on_winch, .sa_flags = SA_RESTART };

	if (!isatty(fd))
		return;
	tty_fd = fd;
	pw_textfit_set_fd(fd);	/* the blocks too (textfit.h) */
	sigaction(SIGWINCH, &sa, NULL);
	pw_text_fit(tty_cols(fd));
}

/* A line of text (from start, without its newline) cut to the plan's
 * width, not inside a UTF-8 sequence: it never wraps. */
static void fit_line(struct sbuf *sb, size_t start)
{
	if (plan.cols)
		sb->len = start + pw_utf8_cut(sb->buf + start, sb->len - start, plan.cols);
}

/* After a SIGWINCH: the plan for the new width, before a line is made. */
static void refit(void)
{
	if (resized) {
		resized = 0;
		pw_text_fit(tty_cols(tty_fd));
	}
}

void pw_text_cut(char *line)
{
	size_t len = strlen(line), nl = len && line[len - 1] == '\n';
	struct sbuf sb = { .buf = line, .len = len - nl, .cap = len + 1 };

	refit();
	fit_line(&sb, 0);
	if (sb.len + nl < len) {
		if (nl)
			line[sb.len++] = '\n';
		line[sb.len] = 0;
	}
}

const char *pw_event_header(void)
{
	static const char *const names[] = { "TIME", "PID", "COMM", "FAM", "DESTINATION",
					     "ERRNO", "CAUSE", "RANGE", "SCAN", "WORKLOAD" };
	static char hdr[192];
	static unsigned int gen;
	struct sbuf sb;

	if (!hdr[0] || gen != plan.gen) {
		gen = plan.gen;
		sb_init(&sb, hdr, sizeof(hdr));
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			size_t from = sb.len;

			if (plan.off[i])
				continue;
			sb_puts(&sb, names[i]);
			if (i < sizeof(text_widths)) {
				sb_pad(&sb, from, text_widths[i]);
				sb_putc(&sb, ' ');
			}
		}
		fit_line(&sb, 0);
		hdr[sb.len] = 0;
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

static void text_range_scan(struct sbuf *sb, const struct pw_event *e, int col)
{
	if (col == C_RANGE && (e->flags & PW_HAS_RANGE)) {
		sb_u64(sb, e->range_lo);
		sb_putc(sb, '-');
		sb_u64(sb, e->range_hi);
	} else if (col == C_SCAN && (e->flags & PW_HAS_SCAN_NS)) {
		sb_duration(sb, e->scan_ns);
		if (e->flags & PW_HAS_PORTS_CHECKED) {
			sb_putc(sb, ' ');
			sb_u64(sb, e->ports_checked);
			sb_lit(sb, " ports");
		}
	} else {
		sb_putc(sb, '-');
	}
}

/* Column col of the line. */
static void text_column(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real, int col)
{
	const char *cause;
	char ebuf[16];

	switch (col) {
	case C_TIME:
		sb_time_of_day_ms(sb, pw_event_realtime(e, mono_to_real));
		break;
	case C_PID:
		sb_u64(sb, e->pid);
		break;
	case C_COMM:
		sb_comm_text(sb, e->comm);
		break;
	case C_FAM:
		sb_puts(sb, e->family == AF_INET6 ? "ipv6" : "ipv4");
		break;
	case C_DEST:
		if (e->op != PW_OP_CONNECT) {
			/* no destination: the op, and for a bind the address asked for */
			sb_puts(sb, pw_op_name(e->op) ? pw_op_name(e->op) : "?");
			if (e->op == PW_OP_BIND) {
				sb_putc(sb, ' ');
				sb_addr(sb, e->family, e->saddr);
			} else if (e->op == PW_OP_BIND_PORT) {
				sb_putc(sb, ' ');
				sb_dest(sb, e->family, e->saddr, e->sport);
			}
		} else if (e->flags & PW_NO_DEST) {
			sb_putc(sb, '-');
		} else {
			sb_dest(sb, e->family, e->daddr, e->dport);
		}
		break;
	case C_ERRNO:
		sb_puts(sb, e->ret ? pw_ret_errno_name(e->ret, ebuf, sizeof(ebuf)) : "-");
		break;
	case C_CAUSE:
		cause = pw_cause_name(e->cause);
		sb_puts(sb, cause ? cause : "ok");
		break;
	default:
		text_range_scan(sb, e, col);
	}
}

bool pw_event_text(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real,
		   const struct pw_workload *w)
{
	size_t start = sb->len;

	refit();
	for (int i = 0; i < C_WORKLOAD; i++) {
		size_t col = sb->len;

		if (plan.off[i])
			continue;
		text_column(sb, e, mono_to_real, i);
		sb_pad(sb, col, text_widths[i]);
		sb_putc(sb, ' ');
	}
	if (!plan.off[C_WORKLOAD])
		sb_workload_text(sb, w);
	fit_line(sb, start);
	return !sb->err;
}
