// SPDX-License-Identifier: GPL-2.0
/* The event path: see consumer.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "accounts.h"
#include "advice.h"
#include "consumer.h"
#include "fold.h"
#include "mailbox.h"
#include "output.h"
#include "portholder.h"
#include "pressure.h"
#include "workload.h"
#include "util.h"

#define POLL_MS		100	/* bound on how late an event is shown (no wakeups) */
#define BATCH_CUT	(-ECANCELED)	/* pw_consumer_event: end this pass */

/* the kernel samples -q's failures as often as the diagnoses use them */
_Static_assert(PW_SAMPLE_EVERY_NS == PW_DIAG_EVERY_NS, "-q's sampling period");


static int epoll_add(int epfd, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int pw_consumer_init(struct pw_consumer *c, const struct env *env, struct pw_mailbox *mb,
		     struct pw_workloads *wl, FILE *out)
{
	memset(c, 0, sizeof(*c));
	c->env = env;
	c->mb = mb;
	c->wl = wl;
	c->out = out;
	c->epfd = -1;
	c->sampled_fd = -1;
	c->out_ok = true;
	if (!env->json && !env->quiet && !env->no_fold && !(c->fold = pw_fold_new(4096)))
		return -ENOMEM;
	return 0;
}

bool pw_consumer_enable_diagnosis(struct pw_consumer *c)
{
	c->diag_limit = pw_dest_limit_new(PW_DIAG_LIMIT_SLOTS);
	c->holder_asks = pw_holder_asks_new();	/* NULL: the holders not asked */
	c->advice_limit = pw_advice_limit_new();
	if (!c->diag_limit || !c->advice_limit) {
		pw_dest_limit_free(c->diag_limit);
		pw_advice_limit_free(c->advice_limit);
		c->diag_limit = NULL;
		c->advice_limit = NULL;
		return false;
	}
	return true;
}

int pw_consumer_listen(struct pw_consumer *c, int ring_fd)
{
	c->mono_to_real = pw_clock_ns(CLOCK_REALTIME) - pw_clock_ns(CLOCK_MONOTONIC);
	c->rb = ring_buffer__new(ring_fd, pw_consumer_event, c, NULL);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!c->rb || c->epfd < 0 ||
	    epoll_add(c->epfd, ring_buffer__epoll_fd(c->rb), EPOLLIN) ||
	    epoll_add(c->epfd, pw_mailbox_consumer_fd(c->mb), EPOLLIN))
		return -errno;
	/* a pipe or socket whose reader is gone reports EPOLLERR even when
	 * nothing is written (not every stdout can be watched: a file cannot) */
	epoll_add(c->epfd, fileno(c->out), 0);
	return 0;
}

void pw_consumer_free(struct pw_consumer *c)
{
	if (!c->env)
		return;	/* never set up */
	if (c->epfd >= 0)
		close(c->epfd);
	c->epfd = -1;
	ring_buffer__free(c->rb);
	c->rb = NULL;
	pw_dest_limit_free(c->diag_limit);
	c->diag_limit = NULL;
	pw_advice_limit_free(c->advice_limit);
	c->advice_limit = NULL;
	pw_holder_asks_free(c->holder_asks);
	c->holder_asks = NULL;
	pw_fold_free(c->fold);
	c->fold = NULL;
}

static void out_write(struct pw_consumer *c, const char *buf, size_t len)
{
	if (c->out_err)
		return;
	if (fwrite_unlocked(buf, 1, len, c->out) != len)
		c->out_err = errno ? errno : EIO;
}

/* -q: a sampled failure whose asks were refused for lack of room (its
 * cgroup's advice budget, the diagnoses' table), not because they were
 * made within PW_DIAG_EVERY_NS: its key in the kernel's `sampled` map
 * (rebuilt from the event as the kernel builds it) is made due again
 * PW_SAMPLE_RETRY_NS after this failure instead of PW_SAMPLE_EVERY_NS, so
 * keys that come late in a busy cgroup get their turn. At most a lookup
 * and an update per refused event, and at most one more event per key each
 * PW_SAMPLE_RETRY_NS (never one per failure), at most
 * PW_SAMPLE_RETRIES_PER_S in all. A key gone (evicted) is left gone: its
 * next failure is written. */
_Static_assert(PW_SAMPLE_RETRY_NS == 1000000000ull / PW_ADVICE_PER_S,
	       "a refused sample retried when the budget has earned one ask");

static void sample_retry(struct pw_consumer *c, const struct pw_event *e)
{
	struct pw_sample_key k;
	struct pw_sample_val v;

	if (c->sampled_fd < 0 || !(e->flags & PW_SAMPLED))
		return;
	/* at most PW_SAMPLE_RETRIES_PER_S a second in all (by event time): a
	 * tenant's many refused keys cannot keep this thread in bpf() */
	if ((int64_t)(e->ts_ns - c->retry_window_ns) >= 1000000000ll) {
		c->retry_window_ns = e->ts_ns;
		c->retries_in_window = 0;
	}
	if (c->retries_in_window >= PW_SAMPLE_RETRIES_PER_S) {
		c->sample_retries_skipped++;
		return;
	}
	c->retries_in_window++;
	pw_sample_key_of(e, &k);
	/* only this event's own sample: a later one the kernel wrote
	 * meanwhile is not moved back */
	if (bpf_map_lookup_elem(c->sampled_fd, &k, &v) || v.last_ns != e->ts_ns)
		return;
	/* the kernel compares signed: due once now - last_ns >= the period */
	v.last_ns = e->ts_ns - PW_SAMPLE_EVERY_NS + PW_SAMPLE_RETRY_NS;
	if (!bpf_map_update_elem(c->sampled_fd, &k, &v, BPF_EXIST))
		c->sample_retries++;
}

/* A diagnosis for the first failure to a destination (then every
 * PW_DIAG_EVERY_NS), and live remedies for the first failure of a process
 * of a workload to it (then every PW_DIAG_EVERY_NS, within its workload's
 * budget: advice.h), asked of the worker in one request. */
static void ask_diagnosis(struct pw_consumer *c, const struct pw_event *e)
{
	int due = pw_dest_limit_due(c->diag_limit, e->netns, e->family, e->daddr, e->dport,
				    e->ts_ns, PW_DIAG_EVERY_NS), advice;
	struct pw_diag_req r = {
		.netns = e->netns, .ts_ns = e->ts_ns, .pid = e->pid, .tid = e->tid,
		.cgroup_id = e->cgroup_id, .bound_conflicts = c->bound_conflicts,
	};

	if (due < 0)
		c->diag_skipped++;
	if (due == 1)
		r.what |= PW_DIAG_PRESSURE;
	pw_dest_set(&r.dest, e->family, e->daddr, e->dport);
	advice = pw_advice_limit_ask(c->advice_limit, e->cgroup_id, e->netns, &r.dest, e->pid,
				     e->ts_ns);
	if (advice == 1)
		r.what |= PW_DIAG_ADVICE;
	if (due < 0 || advice < 0)
		sample_retry(c, e);
	if (!r.what)
		return;
	memcpy(r.comm, e->comm, PW_COMM_LEN);
	pw_mailbox_ask(c->mb, &r);
}

/* The per-process map had no room: this event is the count. */
void pw_consumer_count_event(struct pw_mailbox *mb, const struct pw_event *e)
{
	struct pw_proc_key k = {
		.tgid = e->pid, .err = -e->ret, .family = PW_KEY_FAM_OP(e->family, e->op),
	};
	struct pw_proc_val v = {
		.count = 1, .scans = !!(e->flags & PW_HAS_SCAN),
		.scan_ns = e->flags & PW_HAS_SCAN_NS ? e->scan_ns : 0,
		.cgroup_id = e->cgroup_id,
	};

	memcpy(v.comm, e->comm, PW_COMM_LEN);
	pw_mailbox_count(mb, &k, &v, e->ts_ns);
}

/* Format and write one event's line. False when it does not fit. */
static bool write_line(struct pw_consumer *c, const struct pw_event *e,
		       const struct pw_workload *w)
{
	struct sbuf sb;

	sb_init(&sb, c->line, sizeof(c->line));
	if (c->env->json)
		pw_event_json(&sb, e, c->mono_to_real, w);
	else
		pw_event_text(&sb, e, c->mono_to_real, w);
	sb_putc(&sb, '\n');
	if (sb.err) {
		/* never a cut line (invalid JSON): say so, loudly */
		fprintf(stderr, "portwatch: an event did not fit in %zu bytes; stopping\n",
			sizeof(c->line));
		c->out_err = EOVERFLOW;
		pw_request_stop();
		return false;
	}
	out_write(c, c->line, sb.len);
	return true;
}

/* The next event of the pass, or the end of it: a storm must not keep the
 * loop from its other duties. */
static int next(struct pw_consumer *c)
{
	return ++c->batch >= PW_CONSUMER_BATCH ? BATCH_CUT : 0;
}

/* Decoding and writing only. An event of a cgroup the resolver has not
 * cached (its resolution reads the filesystem) is copied and the pass cut:
 * pw_consumer_pass resolves and writes it before the next event, so the
 * order of lines is kept and the callback never touches the filesystem. */
int pw_consumer_event(void *ctx, void *data, size_t size)
{
	struct pw_consumer *c = ctx;
	const struct pw_event *e = data;
	const struct pw_workload *w = NULL;

	if (size < sizeof(*e))
		return 0;
	/* -q's samples are not the stream's events (events_received) */
	if (e->flags & PW_SAMPLED)
		pw_mailbox_publish_sampled(c->mb, ++c->sampled);
	else
		pw_mailbox_publish_received(c->mb, ++c->received);
	if (e->flags & PW_UNCOUNTED) {
		pw_consumer_count_event(c->mb, e);
		/* written for its count only; still an event of this pass */
		if (!e->ret && !c->env->all)
			return next(c);
	}
	/* -q: a failure sampled by the kernel (PW_SAMPLED), or one written
	 * for its count, asks for the same diagnoses as a line would; its
	 * count is the maps' (or was just added), never taken again */
	if (e->cause == PW_CAUSE_BOUND_CONFLICT)
		c->bound_conflicts++;
	if (e->ret == -EADDRNOTAVAIL && e->netns && !(e->flags & PW_NO_DEST) && c->diag_limit)
		ask_diagnosis(c, e);
	if ((e->op == PW_OP_BIND_PORT || e->op == PW_OP_BIND) && e->netns && c->holder_asks)
		pw_holder_ask(c->holder_asks, c->mb, e);
	if (c->env->quiet)
		return next(c);
	if (c->fold && !pw_fold_event(c->fold, e, c->out))
		return next(c);
	if (c->wl && !(w = pw_workloads_cached(c->wl, e->cgroup_id, e->ts_ns))) {
		c->deferred = true;
		c->deferred_ev = *e;
		return BATCH_CUT;
	}
	if (!write_line(c, e, w))
		return BATCH_CUT;
	return next(c);
}

int pw_consumer_write_deferred(struct pw_consumer *c)
{
	const struct pw_event *e = &c->deferred_ev;

	c->deferred = false;
	if (!write_line(c, e, pw_workloads_get(c->wl, e->cgroup_id, e->ts_ns)))
		return 0;
	return next(c) ? 0 : 1;
}

int pw_consumer_pass(struct pw_consumer *c)
{
	int err;

	c->batch = 0;
	for (;;) {
		err = ring_buffer__consume(c->rb);
		if (c->deferred && pw_consumer_write_deferred(c))
			continue;
		if (err == BATCH_CUT)
			return !c->out_err;
		if (err < 0 && err != -EINTR)
			return err;
		return 0;
	}
}

void pw_consumer_write_output(struct pw_consumer *c)
{
	struct pw_out_msg *m = pw_mailbox_take_output(c->mb);

	while (m) {
		struct pw_out_msg *next = m->next;

		out_write(c, m->text, m->len);
		free(m);
		m = next;
	}
}

bool pw_consumer_flush(struct pw_consumer *c, int *ret)
{
	if (!c->out_err && c->out_closed)
		c->out_err = EPIPE;
	if (!c->out_err && fflush(c->out))
		c->out_err = errno ? errno : EIO;
	if (!c->out_err)
		return true;
	/* EPIPE: its reader is gone, a normal end (`portwatch -j | head`);
	 * EOVERFLOW: said when it happened */
	if (c->out_err != EPIPE && c->out_err != EOVERFLOW) {
		fprintf(stderr, "portwatch: writing to stdout: %s\n", strerror(c->out_err));
		*ret = PW_EXIT_CANNOT_RUN;
	} else if (c->out_err == EOVERFLOW) {
		*ret = PW_EXIT_CANNOT_RUN;
	}
	return false;
}

/* How long the loop may sleep: the next fold window, the deadline, or not
 * at all when the last pass left events waiting. */
static int wait_ms(const struct pw_consumer *c, int64_t deadline, bool more)
{
	int64_t now = pw_clock_ns(CLOCK_MONOTONIC), wait = POLL_MS * 1000000LL;

	if (c->fold && pw_fold_next_due(c->fold)) {
		int64_t due = pw_fold_next_due(c->fold) - now;

		if (due < wait)
			wait = due;
	}
	if (deadline && deadline - now < wait)
		wait = deadline - now;
	if (wait < 0 || more)
		wait = 0;
	return (int)((wait + 999999) / 1000000);
}

int pw_consumer_run(struct pw_consumer *c, int64_t deadline)
{
	int ret = PW_EXIT_OK, n, got;
	bool more = false;

	while (!pw_stop_requested()) {
		struct epoll_event out[4];

		n = epoll_wait(c->epfd, out, 4, wait_ms(c, deadline, more));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "portwatch: epoll_wait: %s\n", strerror(errno));
			return PW_EXIT_CANNOT_RUN;
		}
		for (int i = 0; i < n; i++) {
			if (out[i].data.fd == fileno(c->out))
				c->out_closed = true;
			else if (out[i].data.fd == pw_mailbox_consumer_fd(c->mb))
				pw_mailbox_clear_wake(out[i].data.fd);
		}
		got = pw_consumer_pass(c);
		if (got < 0) {
			fprintf(stderr, "portwatch: reading events: %s\n", strerror(-got));
			return PW_EXIT_CANNOT_RUN;
		}
		more = got > 0;
		pw_consumer_write_output(c);
		if (c->fold)
			pw_fold_flush(c->fold, pw_clock_ns(CLOCK_MONOTONIC), false, c->out);
		if (!(c->out_ok = pw_consumer_flush(c, &ret)))
			break;
		if (deadline && pw_clock_ns(CLOCK_MONOTONIC) >= deadline)
			break;
	}
	return ret;
}

void pw_consumer_drain(struct pw_consumer *c)
{
	if (c->out_ok)
		while (pw_consumer_pass(c) > 0)
			;
}

void pw_consumer_finish(struct pw_consumer *c, int *ret)
{
	if (!c->out_ok)
		return;
	pw_consumer_write_output(c);
	if (c->fold)
		pw_fold_flush(c->fold, 0, true, c->out);
	c->out_ok = pw_consumer_flush(c, ret);
}

void pw_consumer_lines(const struct pw_consumer *c, uint64_t *printed, uint64_t *folded)
{
	*printed = c->fold ? pw_fold_printed(c->fold) : c->received;
	*folded = c->fold ? pw_fold_folded(c->fold) : 0;
}
