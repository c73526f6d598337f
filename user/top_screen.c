// SPDX-License-Identifier: GPL-2.0
/* The --top view on the screen: see top_screen.h. Every line is cut to the
 * terminal's width before it is drawn: nothing wraps. */
#include <curses.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "census_print.h"
#include "top_screen.h"

#define PANEL_LINES	6	/* the census panel, its rule included */
#define NAME_MIN	20
#define NAME_MAX	46

enum { PAIR_HEAD = 1, PAIR_OK, PAIR_WARN, PAIR_BAD };

const char *const pw_top_view_names[PW_VIEWS] = { "destinations", "workloads", "processes" };
const char *const pw_top_sort_names[PW_TOP_SORTS] = { "failures/s", "total", "name" };

/* Table columns, left to right; drop: the first to go as the screen narrows
 * (the highest first), 0: never. */
enum col { C_RATE, C_TOTAL, C_ESTAB, C_SYN, C_TW, C_OTHER, C_NAME, C_TOP, C_REMEDY, NCOLS };
static const struct { const char *title; int width, drop; bool left; } cols[NCOLS] = {
	[C_RATE] = { "FAIL/S", 7, 0, false },
	[C_TOTAL] = { "TOTAL", 9, 0, false },
	[C_ESTAB] = { "ESTAB", 5, 6, false },
	[C_SYN] = { "SYN", 4, 8, false },
	[C_TW] = { "TW", 5, 5, false },
	[C_OTHER] = { "OTHER", 5, 7, false },
	[C_NAME] = { "", NAME_MIN, 0, true },
	[C_TOP] = { "", 14, 3, true },
	[C_REMEDY] = { "REMEDY", 20, 4, true },
};

void pw_top_colors(void)
{
	start_color();
	use_default_colors();
	init_pair(PAIR_HEAD, COLOR_CYAN, -1);
	init_pair(PAIR_OK, COLOR_GREEN, -1);
	init_pair(PAIR_WARN, COLOR_YELLOW, -1);
	init_pair(PAIR_BAD, COLOR_RED, -1);
}

/* n in at most 7 characters: 1234567, 12.3M, 1.2G. */
static void fmt_num(char *dst, size_t sz, double n)
{
	if (n < 9999999.5)
		snprintf(dst, sz, "%.0f", n);
	else if (n < 999.95e6)
		snprintf(dst, sz, "%.1fM", n / 1e6);
	else
		snprintf(dst, sz, "%.1fG", n / 1e9);
}

static void fmt_ns(char *dst, size_t sz, double ns)
{
	if (ns < 0)
		snprintf(dst, sz, "-");
	else if (ns < 1e3)
		snprintf(dst, sz, "%.0fns", ns);
	else if (ns < 1e6)
		snprintf(dst, sz, "%.0fus", ns / 1e3);
	else
		snprintf(dst, sz, "%.1fms", ns / 1e6);
}

/* One line at y, cut to the width; attr for all of it. Every byte that is
 * not printable ASCII (a process's name, a cgroup's path: anyone's) is
 * drawn as '?': one byte, one column, no control sequence reaches the
 * terminal and no line wraps. */
static void line_at(int y, const char *text, attr_t attr)
{
	char buf[1024];
	int n = 0;

	if (y < 0 || y >= LINES)
		return;
	for (; text[n] && n < COLS && n < (int)sizeof(buf) - 1; n++)
		buf[n] = text[n] >= ' ' && text[n] < 127 ? text[n] : '?';
	buf[n] = 0;
	move(y, 0);
	clrtoeol();
	attron(attr);
	mvaddnstr(y, 0, buf, COLS);
	attroff(attr);
}

void pw_top_filter(struct pw_top_ui *ui, const struct pw_top_model *m)
{
	const struct pw_top_rows *rs = &m->rows[ui->view];
	size_t *shown = realloc(ui->shown, (rs->n ? rs->n : 1) * sizeof(*shown));

	ui->nshown = 0;
	if (!shown)
		return;
	ui->shown = shown;
	for (size_t i = 0; i < rs->n; i++) {
		const struct pw_top_row *r = &rs->v[i];

		if (!ui->filter[0] || strstr(r->name, ui->filter) || strstr(r->top, ui->filter)) {
			if (ui->sel_set && r->id == ui->sel_id)
				ui->sel = ui->nshown;	/* the row moved: the selection with it */
			ui->shown[ui->nshown++] = i;
		}
	}
	if (ui->sel >= ui->nshown)
		ui->sel = ui->nshown ? ui->nshown - 1 : 0;
	if (ui->nshown)
		ui->sel_id = rs->v[ui->shown[ui->sel]].id;
	ui->sel_set = ui->nshown > 0;	/* from now on it follows this row */
}

const struct pw_top_row *pw_top_selected(const struct pw_top_ui *ui,
					 const struct pw_top_model *m)
{
	if (ui->sel >= ui->nshown)
		return NULL;
	return &m->rows[ui->view].v[ui->shown[ui->sel]];
}

static void draw_header(const struct pw_top_ui *ui, const struct pw_top_model *m)
{
	char buf[512], a[16], b[16], bar[64];
	unsigned long up = m->uptime_s;
	int barw = 20, fill = 0;
	double use = 0;

	snprintf(buf, sizeof(buf), "portwatch %s  up %lu:%02lu:%02lu  %us  %s by %s%s",
		 m->mode ? m->mode : "-", up / 3600, up / 60 % 60, up % 60, ui->every_s,
		 pw_top_view_names[ui->view], pw_top_sort_names[ui->sort],
		 ui->paused ? "  PAUSED" : "");
	line_at(0, buf, A_BOLD);
	fmt_num(a, sizeof(a), m->rate);
	snprintf(buf, sizeof(buf), "failures %s/s  total %llu  events lost %llu  uncounted %llu"
		 "%s", a, (unsigned long long)m->total, (unsigned long long)m->events_lost,
		 (unsigned long long)m->not_counted, m->dests_full ? "  dests untracked" : "");
	if (m->dests_full)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), " %llu",
			 (unsigned long long)m->dests_full);
	if (m->rows_over)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "  rows not shown %llu",
			 (unsigned long long)m->rows_over);
	line_at(1, buf, A_NORMAL);
	if (m->range_known && m->range_size) {
		use = (double)m->range_held / m->range_size;
		fill = use >= 1 ? barw : (int)(use * barw + 0.5);
	}
	memset(bar, '#', fill);
	memset(bar + fill, '.', barw - fill);
	bar[barw] = 0;
	fmt_ns(a, sizeof(a), m->scan_p50_ns);
	fmt_ns(b, sizeof(b), m->scan_p99_ns);
	if (m->range_known)
		snprintf(buf, sizeof(buf), "range %d-%d [%s] %.0f%% (%u/%u)  scan p50 %s p99 %s",
			 m->range_lo, m->range_hi, bar, use * 100, m->range_held, m->range_size, a, b);
	else
		snprintf(buf, sizeof(buf), "range ? (%s)  scan p50 %s p99 %s", m->census_err, a, b);
	line_at(2, buf, A_NORMAL);
	if (ui->color && m->range_known && COLS > 40) {	/* the bar in its level's colour */
		int at = (int)strcspn(buf, "[") + 1;

		mvchgat(2, at, barw < COLS - at ? barw : 0, fill ? A_BOLD : A_NORMAL,
			use >= 0.8 ? PAIR_BAD : use >= 0.5 ? PAIR_WARN : PAIR_OK, NULL);
	}
}

/* Which columns fit in the width, and the name's. */
static int fit_columns(bool on[NCOLS])
{
	int used = 0, name;

	for (int c = 0; c < NCOLS; c++) {
		on[c] = true;
		used += cols[c].width + (c ? 1 : 0);
	}
	for (int drop = 8; drop > 0 && used > COLS; drop--) {
		for (int c = 0; c < NCOLS; c++) {
			if (on[c] && cols[c].drop == drop) {
				on[c] = false;
				used -= cols[c].width + 1;
			}
		}
	}
	name = NAME_MIN + (COLS - used);
	if (name > NAME_MAX)
		name = NAME_MAX;
	return name < NAME_MIN ? NAME_MIN : name;
}

/* The cells of one row (title: the column titles instead). */
static void cells(char cell[NCOLS][96], const struct pw_top_row *r, enum pw_top_view v)
{
	static const char *names[PW_VIEWS] = { "DESTINATION", "WORKLOAD", "PID COMM" };
	static const char *tops[PW_VIEWS] = { "TOP WORKLOAD", "TOP PROCESS", "WORKLOAD" };

	if (!r) {
		for (int c = 0; c < NCOLS; c++)
			snprintf(cell[c], 96, "%s", cols[c].title);
		snprintf(cell[C_NAME], 96, "%s", names[v]);
		snprintf(cell[C_TOP], 96, "%s", tops[v]);
		return;
	}
	fmt_num(cell[C_RATE], 96, r->rate);
	fmt_num(cell[C_TOTAL], 96, r->total);
	for (int s = 0; s < PW_TOP_NSTATES; s++) {
		if (r->census)
			snprintf(cell[C_ESTAB + s], 96, "%u", r->states[s]);
		else
			snprintf(cell[C_ESTAB + s], 96, "-");
	}
	snprintf(cell[C_NAME], 96, "%s", r->name);
	snprintf(cell[C_TOP], 96, "%s", r->top);
	snprintf(cell[C_REMEDY], 96, "%s", r->remedy[0] ? r->remedy : "-");
}

/* A path longer than w keeps its end (the leaf names the workload). */
static void elide(char *cell, int w)
{
	size_t n = strlen(cell);

	if (cell[0] != '/' || (int)n <= w || w < 4)
		return;
	memmove(cell + 3, cell + n - (w - 3), w - 3 + 1);
	memcpy(cell, "...", 3);
}

static void draw_row(int y, const struct pw_top_row *r, enum pw_top_view v, attr_t attr)
{
	char cell[NCOLS][96], buf[1024];
	bool on[NCOLS];
	int name = fit_columns(on), len = 0;

	cells(cell, r, v);
	for (int c = 0; c < NCOLS && len < (int)sizeof(buf) - 100; c++) {
		int w = c == C_NAME ? name : cols[c].width;

		if (!on[c])
			continue;
		elide(cell[c], w);
		len += snprintf(buf + len, sizeof(buf) - len, "%s%*.*s", len ? " " : "",
				cols[c].left ? -w : w, w, cell[c]);
	}
	line_at(y, buf, attr);
}

const struct pw_top_row *pw_top_panel_dest(const struct pw_top_ui *ui,
					   const struct pw_top_model *m)
{
	const struct pw_top_row *r = pw_top_selected(ui, m), *best = NULL;
	const struct pw_top_rows *ds = &m->rows[PW_VIEW_DESTS];

	if (!r || ui->view == PW_VIEW_DESTS)
		return r;
	for (size_t i = 0; i < ds->n; i++)
		if (ds->v[i].cgroup_id == r->cgroup_id && (!best || ds->v[i].total > best->total))
			best = &ds->v[i];
	return best;
}

static void holders_line(char *buf, size_t sz, const struct pw_census_dest *d)
{
	size_t len = snprintf(buf, sz, "holders:");

	for (unsigned int i = 0; d && i < d->nholders && d->holders && len < sz; i++)
		len += snprintf(buf + len, sz - len, " %u %.15s (%u)", d->holders[i].pid,
				d->holders[i].comm, d->holders[i].sockets);
	if (!d || !d->nholders)
		snprintf(buf + len, sz - len, " none found");
}

/* The remedy's text over the lines from y to y + n - 1, cut at the width. */
static void text_lines(int y, int n, const char *text)
{
	int w = COLS > 1 ? COLS : 1;
	size_t len = strlen(text);

	for (int i = 0; i < n; i++) {
		char buf[1024];
		size_t at = (size_t)i * w;

		if (at >= len) {
			line_at(y + i, "", A_NORMAL);
			continue;
		}
		snprintf(buf, sizeof(buf), "%.*s", w, text + at);
		line_at(y + i, buf, A_NORMAL);
	}
}

static void draw_panel(const struct pw_top_ui *ui, struct pw_top_model *m, int y)
{
	static struct pw_remedy rem[PW_MAX_REMEDIES];
	const struct pw_top_row *d = pw_top_panel_dest(ui, m);
	char buf[1024];
	int n = 0, pick = 0;

	snprintf(buf, sizeof(buf), "-- census: %s --", d ? d->name : "no destination selected");
	line_at(y, buf, A_BOLD);
	if (!d || !m->sel_ok || !m->sel.ndests || m->want_netns != d->netns ||
	    !pw_dest_eq(&m->want, &d->dest)) {
		line_at(y + 1, d ? "(census of this destination at the next refresh)" : "", A_NORMAL);
		text_lines(y + 2, PANEL_LINES - 2, "");
		return;
	}
	pw_census_diag_line(buf, sizeof(buf), &m->sel, &m->sel.dests[0]);
	line_at(y + 1, buf, A_NORMAL);
	holders_line(buf, sizeof(buf), &m->sel.dests[0]);
	line_at(y + 2, buf, A_NORMAL);
	n = pw_top_remedies(m, d, rem, PW_MAX_REMEDIES);
	while (pick < n && strcmp(rem[pick].id, d->remedy))
		pick++;
	if (pick == n)
		pick = 0;
	if (n)
		snprintf(buf, sizeof(buf), "remedy %s: %s", rem[pick].id, rem[pick].text);
	else
		snprintf(buf, sizeof(buf), "no remedy: no census of its namespace");
	text_lines(y + 3, PANEL_LINES - 3, buf);
}

static void draw_help(void)
{
	static const char *const help[] = {
		"portwatch top: keys",
		"  q          quit (the summary is printed on stdout)",
		"  v, Tab     view: destinations, workloads, processes",
		"  s          sort: failures/s, total, name",
		"  /          filter rows by a part of their name (Enter: apply, Esc: clear)",
		"  p          pause (the kernel keeps counting)",
		"  Up, Down   select a row (j, k too): its census below the table",
		"  ?          this help (any key closes it)",
		"Failures are connect() calls that failed with EADDRNOTAVAIL, counted in the",
		"kernel: the view never depends on the events.",
	};

	for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++)
		line_at(4 + (int)i, help[i], i ? A_NORMAL : A_BOLD);
}

void pw_top_draw(const struct pw_top_ui *ui, struct pw_top_model *m)
{
	int table = 4, panel = LINES - PANEL_LINES - 1, rows = panel - table - 1;
	size_t first = ui->sel >= (size_t)(rows > 0 ? rows : 1) ? ui->sel - rows + 1 : 0;
	char buf[256];

	erase();
	draw_header(ui, m);
	if (ui->help) {
		draw_help();
	} else {
		draw_row(table - 1, NULL, ui->view, A_REVERSE);
		for (int i = 0; i < rows && first + i < ui->nshown; i++)
			draw_row(table + i, &m->rows[ui->view].v[ui->shown[first + i]], ui->view,
				 first + i == ui->sel ? A_REVERSE : A_NORMAL);
		if (panel > table)
			draw_panel(ui, m, panel);
	}
	if (ui->filtering)
		snprintf(buf, sizeof(buf), "filter: %s_", ui->filter);
	else
		snprintf(buf, sizeof(buf), "q quit  v view  s sort  / filter%s%s  p pause  ? help",
			 ui->filter[0] ? " " : "", ui->filter);
	line_at(LINES - 1, buf, A_NORMAL);
	refresh();
}
