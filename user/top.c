// SPDX-License-Identifier: GPL-2.0
/* --top: the terminal, the keys and the loop; see top.h. The data is
 * top_model.c's, the drawing top_screen.c's. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include "consumer.h"
#include "kmaps.h"
#include "mailbox.h"
#include "textfit.h"
#include "top.h"
#include "util.h"
#include "portwatch.skel.h"

#ifdef PW_NO_TOP
int pw_top_check(const struct env *env)
{
	if (!env->top)
		return 0;
	fprintf(stderr, "portwatch: --top: this build has no terminal view (a static build): "
		"use the text mode, or the packaged program\n");
	return PW_EXIT_CANNOT_RUN;
}

int pw_top_main(const struct pw_top_src *src)
{
	(void)src;
	return PW_EXIT_CANNOT_RUN;
}
#else
#include <curses.h>
#include <term.h>
#include "netns.h"
#include "top_screen.h"

int pw_top_check(const struct env *env)
{
	const char *term = getenv("TERM");
	int err = 0;

	if (!env->top)
		return 0;
	if (!isatty(STDOUT_FILENO) || !isatty(STDIN_FILENO)) {
		fprintf(stderr, "portwatch: --top needs a terminal: %s is not one (without --top, "
			"portwatch writes lines)\n", isatty(STDOUT_FILENO) ? "stdin" : "stdout");
		return PW_EXIT_USAGE;
	}
	if (!term || !*term || !strcmp(term, "dumb")) {
		fprintf(stderr, "portwatch: --top needs a terminal: TERM is %s\n",
			term && *term ? "dumb" : "unset");
		return PW_EXIT_USAGE;
	}
	if (setupterm(NULL, STDOUT_FILENO, &err) != OK) {
		fprintf(stderr, "portwatch: --top: unknown terminal type '%s'\n", term);
		return PW_EXIT_USAGE;
	}
	del_curterm(cur_term);	/* only the question; newterm makes its own */
	cur_term = NULL;
	return 0;
}

/* A crash with the screen up: the terminal's modes and its normal screen
 * back (async-signal-safe: tcsetattr and write), then the signal again. */
static struct termios saved_tty;
static char restore_seq[128];
static size_t restore_len;

static void restore_tty(void)
{
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
	if (write(STDOUT_FILENO, restore_seq, restore_len) < 0) {
		/* nothing more to do */
	}
}

static void on_crash(int sig)
{
	restore_tty();
	signal(sig, SIG_DFL);
	raise(sig);
}

static void add_seq(const char *cap)
{
	const char *s = tigetstr(cap);
	size_t n;

	if (!s || s == (char *)-1)
		return;
	n = strlen(s);
	if (restore_len + n < sizeof(restore_seq)) {
		memcpy(restore_seq + restore_len, s, n);
		restore_len += n;
	}
}

static void crash_guard(void)
{
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGQUIT };
	struct sigaction sa = { .sa_handler = on_crash, .sa_flags = SA_RESETHAND };

	add_seq("sgr0");
	add_seq("cnorm");
	add_seq("rmcup");
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
	/* a census stuck outside portwatch's netns: netns.c ends the process
	 * (_exit) after the hook; the terminal back first, as after a crash */
	pw_census_on_stuck(restore_tty);
}

static SCREEN *screen;

static bool screen_up(struct pw_top_ui *ui)
{
	const char *nc = getenv("NO_COLOR");

	tcgetattr(STDIN_FILENO, &saved_tty);	/* before curses changes it */
	if (!(screen = newterm(NULL, stdout, stdin)))
		return false;
	crash_guard();	/* the restore strings are the terminal's: after newterm */
	set_escdelay(25);	/* Esc (the filter's) without a second's wait */
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	curs_set(0);
	ui->color = has_colors() && !(nc && *nc);
	if (ui->color)
		pw_top_colors();
	return true;
}

/* A key while the filter is typed. */
static void filter_key(struct pw_top_ui *ui, int ch)
{
	size_t n = strlen(ui->filter);

	if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
		ui->filtering = false;
	} else if (ch == 27) {	/* Esc: no filter */
		ui->filter[0] = 0;
		ui->filtering = false;
	} else if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
		if (n)
			ui->filter[n - 1] = 0;
	} else if (ch >= ' ' && ch < 127 && n + 1 < sizeof(ui->filter)) {
		ui->filter[n] = ch;
		ui->filter[n + 1] = 0;
	}
}

/* One key; false to quit. */
static bool key(struct pw_top_ui *ui, int ch)
{
	if (ui->filtering) {
		filter_key(ui, ch);
		return true;
	}
	if (ui->help && ch != KEY_RESIZE) {
		ui->help = false;
		return true;
	}
	switch (ch) {
	case 'q': case 'Q':
		return false;
	case 'v': case '\t':
		ui->view = (ui->view + 1) % PW_VIEWS;
		ui->sel = 0;
		ui->sel_set = false;
		break;
	case 's':
		ui->sort = (ui->sort + 1) % PW_TOP_SORTS;
		break;
	case '/':
		ui->filtering = true;
		ui->filter[0] = 0;
		break;
	case 'p':
		ui->paused = !ui->paused;
		break;
	case '?': case 'h':
		ui->help = true;
		break;
	case KEY_DOWN: case 'j':
		if (ui->sel + 1 < ui->nshown)
			ui->sel++;
		ui->sel_set = false;
		break;
	case KEY_UP: case 'k':
		if (ui->sel)
			ui->sel--;
		ui->sel_set = false;
		break;
	default:
		break;	/* KEY_RESIZE included: drawn again below */
	}
	return true;
}

/* The destination whose holders the next refresh takes: the panel's. */
static void want(struct pw_top_model *m, const struct pw_top_ui *ui)
{
	const struct pw_top_row *best = pw_top_panel_dest(ui, m);

	memset(&m->want, 0, sizeof(m->want));
	if (best) {
		m->want = best->dest;
		m->want_netns = best->netns;
	}
}

static void take(struct pw_top_model *m, struct pw_top_ui *ui)
{
	want(m, ui);
	pw_top_model_refresh(m);
	pw_top_model_sort(m, ui->view, ui->sort);
}

/* The ring buffer's events: only the PW_UNCOUNTED ones matter here (the
 * kernel sends no other with --top), counted through the mailbox as the
 * consumer counts them; the sync merges them into the accounts. */
static int count_only(void *ctx, void *data, size_t size)
{
	const struct pw_event *e = data;

	if (size >= sizeof(*e) && (e->flags & PW_UNCOUNTED))
		pw_consumer_count_event(ctx, e);
	return 0;
}

/* Every second, whatever the pause or -i: the ring buffer drained and the
 * per-process map synced with exited processes retired (its swap at the
 * watermark), as the worker does; a refresh due now does both itself. */
static void tick(struct pw_top_model *m, struct pw_top_ui *ui, struct ring_buffer *rb,
		 bool refresh)
{
	ring_buffer__consume(rb);
	if (refresh)
		take(m, ui);
	else
		pw_kmaps_sync(m->src->rs.km, true);
}

/* Keys and refreshes until q, a stop signal or the deadline (0: none). */
static void loop(struct pw_top_model *m, struct pw_top_ui *ui, struct ring_buffer *rb,
		 int64_t deadline)
{
	int64_t next = pw_clock_ns(CLOCK_MONOTONIC), next_tick = next;
	struct pollfd pfd[2] = {
		{ .fd = STDIN_FILENO, .events = POLLIN },
		{ .fd = ring_buffer__epoll_fd(rb), .events = POLLIN },
	};
	bool redraw = true;

	while (!pw_stop_requested()) {
		int64_t now = pw_clock_ns(CLOCK_MONOTONIC), wake;
		int ch;

		if (deadline && now >= deadline)
			break;
		if (now >= next_tick) {
			bool refresh = now >= next && !ui->paused;

			tick(m, ui, rb, refresh);
			if (now >= next)
				next = now + (int64_t)ui->every_s * 1000000000;
			next_tick = now + 1000000000;
			redraw = redraw || refresh;
		}
		if (redraw) {
			pw_top_model_sort(m, ui->view, ui->sort);
			pw_top_filter(ui, m);
			pw_top_draw(ui, m);
			redraw = false;
		}
		wake = next < next_tick ? next : next_tick;
		/* a signal (stop, SIGWINCH) ends the wait: poll is never restarted */
		poll(pfd, 2, wake > now ? (int)((wake - now + 999999) / 1000000) : 0);
		if (pfd[1].revents)
			ring_buffer__consume(rb);
		while ((ch = getch()) != ERR) {
			redraw = true;	/* KEY_RESIZE included */
			if (!key(ui, ch))
				return;
		}
	}
}

/* Detach and wait out a program still inside (as main's stop does), then
 * the whole run's table, as the text mode's summary. */
static void summary(const struct pw_top_src *src, struct ring_buffer *rb)
{
	struct pw_report r;

	portwatch_bpf__detach(src->rs.at->skel);
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	ring_buffer__consume(rb);	/* the last PW_UNCOUNTED events, counted */
	pw_report_take(&r, &src->rs, 0, true);
	pw_textfit_set_fd(STDOUT_FILENO);	/* the terminal's width (textfit.h) */
	pw_report_table(stdout, &r, "summary", false, true);
	pw_report_losses(stderr, &r, true);
	pw_report_free(&r);
	fflush(stdout);
}

int pw_top_main(const struct pw_top_src *src)
{
	const struct env *env = src->env;
	struct pw_top_ui ui = { .every_s = env->interval_s ? env->interval_s : 1 };
	struct pw_top_model m;
	int64_t deadline = env->duration_s ?
		src->rs.start + (int64_t)env->duration_s * 1000000000 : 0;
	struct ring_buffer *rb;

	/* outcomes the per-process map had no room for come as events */
	rb = ring_buffer__new(bpf_map__fd(src->rs.at->skel->maps.events), count_only,
			      src->rs.km->mb, NULL);
	if (!rb) {
		fprintf(stderr, "portwatch: --top: cannot read the ring buffer: %s\n",
			strerror(errno));
		return PW_EXIT_CANNOT_RUN;
	}
	pw_top_model_init(&m, src);
	if (!screen_up(&ui)) {
		fprintf(stderr, "portwatch: --top: cannot set up the terminal\n");
		ring_buffer__free(rb);
		return PW_EXIT_CANNOT_RUN;
	}
	loop(&m, &ui, rb, deadline);
	endwin();
	delscreen(screen);
	free(ui.shown);
	pw_top_model_free(&m);
	summary(src, rb);
	ring_buffer__free(rb);
	return PW_EXIT_OK;
}
#endif /* PW_NO_TOP */
