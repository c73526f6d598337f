// SPDX-License-Identifier: GPL-2.0
/* The slow loop: see worker.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include "census.h"
#include "http.h"
#include "kmaps.h"
#include "mailbox.h"
#include "netns.h"
#include "metrics.h"
#include "portholder.h"
#include "pressure.h"
#include "textfit.h"
#include "worker.h"
#include "workload.h"
#include "util.h"
#include "portwatch.skel.h"

#define SYNC_NS		1000000000LL	/* fold exited processes' kernel entries */
#define SCAN_NS		10000000000LL	/* periodic census without --interval */


/* census.c calls on_census_stuck without an argument: the worker thread
 * names itself when it starts (main reads these only after the join), and
 * the fd that wakes the consumer is set before it starts. */
static pthread_t stuck_thread;
static bool stuck_running;
static int stuck;	/* atomic: the worker sets it, main reads it */
static int stuck_wake_fd = -1;

static void on_census_stuck(void)
{
	uint64_t one = 1;

	/* the consumer stuck (startup): census.c ends the process */
	if (!stuck_running || !pthread_equal(pthread_self(), stuck_thread))
		return;
	__atomic_store_n(&stuck, 1, __ATOMIC_RELAXED);
	pw_request_stop();
	if (write(stuck_wake_fd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so it is readable anyway */
	}
	/* possibly inside libmicrohttpd's callback: never return */
	for (;;)
		pause();
}

bool pw_worker_stuck(void)
{
	return __atomic_load_n(&stuck, __ATOMIC_RELAXED);
}

/* A memstream for the consumer to write to stdout: its blocks fitted to
 * the terminal as stdout's are (textfit.h). */
static FILE *out_open(char **buf, size_t *len)
{
	FILE *mem = open_memstream(buf, len);

	pw_textfit_relay(mem);
	return mem;
}

/* Queue what a memstream holds for the consumer to write. */
static void post(struct pw_worker *w, FILE *mem, char **buf, size_t *len)
{
	pw_textfit_relay(NULL);
	if (!fclose(mem) && *buf && *len)
		pw_mailbox_post(w->mb, *buf, *len);
	free(*buf);
}

/* flush: the bind requests' batch now, whenever the last one was. */
static void take_requests(struct pw_worker *w, bool flush)
{
	static struct pw_diag_req reqs[PW_MAILBOX_REQS];	/* the worker's copy */
	size_t n = pw_mailbox_take_requests(w->mb, reqs), len = 0;
	int64_t due = pw_holder_due_ns();
	char *buf = NULL;
	FILE *mem;

	if (!n && (!due || (!flush && pw_clock_ns(CLOCK_MONOTONIC) < due)))
		return;
	if (!(mem = out_open(&buf, &len)))
		return;
	/* a refused fixed port's holder (portholder.h): those requests out,
	 * looked up in batches */
	n = pw_holder_diagnose(reqs, n, mem, w->env->json, w->mono_to_real, w->src.wl, flush);
	pw_pressure_diagnose(w->pressure, reqs, n, mem, w->env->json, w->mono_to_real);
	post(w, mem, &buf, &len);
}

void pw_worker_last_requests(struct pw_worker *w)
{
	if (w->pressure && !pw_worker_stuck())
		take_requests(w, true);
}

static const struct pw_workload *metrics_workload(void *arg, uint64_t cgroup_id)
{
	struct pw_worker *w = arg;

	return pw_workloads_get(w->src.wl, cgroup_id, pw_clock_ns(CLOCK_MONOTONIC));
}

int pw_worker_render_metrics(void *arg, char **buf, size_t *len)
{
	struct pw_worker *w = arg;
	const struct pw_attach *at = w->src.at;
	struct pw_metrics_input in = {
		.acc = &w->src.km->acc,
		.memory = &w->metrics_mem,
		.now_ns = pw_clock_ns(CLOCK_MONOTONIC),
		.max_pids = w->env->max_pids,
		.scan_depth = w->env->scan_depth && at->mode != PW_MODE_TRACEPOINT,
		.range_size = -1,
		.version = PORTWATCH_VERSION,
		.libbpf_version = w->libbpf_version,
		.workload = w->src.wl ? metrics_workload : NULL,
		.workload_ctx = w,
	};
	struct pw_census_skips skips;
	struct pw_report r;
	FILE *f;

	pw_report_take(&r, &w->src, pw_mailbox_received(w->mb), false);
	pw_report_metrics_input(&in, &r);
	if (w->pressure) {
		const struct pw_sockgauge *sg = pw_pressure_sockets(w->pressure);

		in.ntop = pw_pressure_top(w->pressure, &in.top);
		in.nudp_top = pw_pressure_udp_top(w->pressure, &in.udp_top);
		in.top_on = pw_pressure_scanned(w->pressure);
		in.top_folded = pw_pressure_top_folded(w->pressure);
		in.udp_top_folded = pw_pressure_udp_top_folded(w->pressure);
		in.sockets_on = sg;
		if (sg)
			pw_sockgauge_rows(sg, &in.sock_rows, &in.nsock_rows, &in.sock_folded);
	}
	pw_kmaps_read_percpu(bpf_map__fd(at->skel->maps.scan_hist), 0,
			     PW_HIST_SLOTS * PW_SCAN_RESULTS, &in.scan_hist[0][0]);
	if (in.scan_depth)
		pw_kmaps_read_percpu(bpf_map__fd(at->skel->maps.ports_hist), 0, PW_HIST_SLOTS,
				     in.ports_hist);
	in.range_size = pw_privs_range_size(w->privs, &in.range_netns);
	pw_census_skips(&skips);
	in.census_netns_skipped = skips.netns;
	in.census_processes_skipped = skips.processes;

	f = open_memstream(buf, len);
	if (!f)
		return -errno;
	pw_metrics_render(f, &in);
	pw_report_free(&r);
	if (fclose(f))
		return -errno;
	return 0;
}

/* The next of the loop's deadlines (absolute, CLOCK_MONOTONIC ns). */
struct schedule {
	int64_t sync, scan, table;	/* table 0: no --interval */
	int64_t scan_every;
};

static int wait_ms(const struct pw_worker *w, const struct schedule *s, int64_t now)
{
	int64_t wait = s->sync - now, due;

	if (w->pressure && s->scan - now < wait)
		wait = s->scan - now;
	if (s->table && s->table - now < wait)
		wait = s->table - now;
	due = w->http ? pw_http_deadline(w->http) : 0;	/* a request's headers */
	if (due && due - now < wait)
		wait = due - now;
	due = w->pressure ? pw_holder_due_ns() : 0;	/* the bind requests' batch */
	if (due && due - now < wait)
		wait = due - now;
	if (wait < 0)
		wait = 0;
	return (int)((wait + 999999) / 1000000);
}

static void interval_table(struct pw_worker *w, FILE *out)
{
	struct pw_report r;

	pw_report_take(&r, &w->src, pw_mailbox_received(w->mb), true);
	pw_report_table(out, &r, "interval", w->env->json, w->env->quiet);
	pw_report_losses(stderr, &r, false);
	pw_report_free(&r);
}

/* What is due at now. */
static void run_due(struct pw_worker *w, struct schedule *s, int64_t now)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	if (now >= s->sync) {
		pw_kmaps_sync(w->src.km, true);
		s->sync = now + SYNC_NS;
	}
	if (w->pressure && now >= s->scan && (mem = out_open(&buf, &len))) {
		pw_pressure_scan(w->pressure, now, mem, w->env->json);
		post(w, mem, &buf, &len);
		s->scan = now + s->scan_every;
	}
	if (s->table && now >= s->table && (mem = out_open(&buf, &len))) {
		interval_table(w, mem);
		post(w, mem, &buf, &len);
		s->table += (int64_t)w->env->interval_s * 1000000000;
	}
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void *worker_main(void *arg)
{
	struct pw_worker *w = arg;
	int64_t now = pw_clock_ns(CLOCK_MONOTONIC), interval = (int64_t)w->env->interval_s * 1000000000;
	struct schedule s = {
		.sync = now + SYNC_NS,
		.scan_every = interval ? interval : SCAN_NS,
		.table = interval ? now + interval : 0,
	};
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	stuck_thread = pthread_self();
	stuck_running = true;
	s.scan = now + s.scan_every;
	if (epfd < 0 || epoll_add(epfd, pw_mailbox_worker_fd(w->mb)) ||
	    (w->http && epoll_add(epfd, pw_http_fd(w->http)))) {
		fprintf(stderr, "portwatch: cannot set up the worker's loop: %s; no diagnosis, "
			"warnings or /metrics from now on\n", strerror(errno));
		if (epfd >= 0)
			close(epfd);
		return NULL;
	}
	for (;;) {
		struct epoll_event out[4];

		epoll_wait(epfd, out, 4, wait_ms(w, &s, now));
		pw_mailbox_clear_wake(pw_mailbox_worker_fd(w->mb));
		if (pw_mailbox_worker_stopping(w->mb))
			break;
		if (w->pressure)
			take_requests(w, false);
		if (w->http)
			pw_http_run(w->http);
		now = pw_clock_ns(CLOCK_MONOTONIC);
		run_due(w, &s, now);
	}
	close(epfd);
	return NULL;
}

int pw_worker_start(struct pw_worker *w)
{
	sigset_t block, old;
	int err;

	/* the stop signals interrupt the consumer's epoll_wait, which checks
	 * for a stop: the worker never takes them */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	stuck_wake_fd = pw_mailbox_consumer_fd(w->mb);
	pw_census_on_stuck(on_census_stuck);
	err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, "portwatch: cannot start the worker thread: %s\n", strerror(err));
		return -err;
	}
	w->started = true;
	return 0;
}

void pw_worker_stop(struct pw_worker *w)
{
	if (!w->started)
		return;
	pw_mailbox_stop_worker(w->mb);
	if (!pw_worker_stuck())
		pthread_join(w->thread, NULL);
	w->started = false;
}
