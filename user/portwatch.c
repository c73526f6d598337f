// SPDX-License-Identifier: GPL-2.0
/* portwatch: parse -> listen -> attach (open, configure, load) -> loop ->
 * detach -> drain -> summary -> cleanup.
 *
 * Two threads, so that a failure storm is written as fast as it comes. The
 * consumer (the main thread) drains the ring buffer and writes events, and
 * nothing else: it never waits on a census, a /proc walk, the rendering of
 * /metrics or an HTTP client. The worker thread does all the slow work: the
 * diagnosis censuses, the periodic census and its warnings, folding the
 * counts of exited processes (the accounts), the interval tables, and the
 * /metrics endpoint (libmicrohttpd in external-epoll mode in the worker's
 * loop). They share two bounded queues and read-only state:
 *  - diagnosis requests, consumer -> worker. The consumer checks the
 *    per-destination rate limit first (pw_dest_limit: bounded memory, a
 *    bounded search, for any number of destinations), so only the first
 *    failure to a destination in PW_DIAG_EVERY_NS asks; the worker takes
 *    the whole queue at once and takes one census per netns. A full queue
 *    drops the request, counted.
 *  - finished output, worker -> consumer: diagnosis lines, warnings, tables.
 *    The consumer writes them between batches of events, so stdout has one
 *    writer and a diagnosis comes out after the failure that asked for it.
 * The accounts, the pressure state and the HTTP server belong to the worker
 * until it is joined; then the consumer prints the summary. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "accounts.h"
#include "attach.h"
#include "caps.h"
#include "cli.h"
#include "fold.h"
#include "http.h"
#include "memlock.h"
#include "metrics.h"
#include "output.h"
#include "pressure.h"
#include "procs.h"
#include "workload.h"
#include "portwatch.skel.h"

#define POLL_MS		100	/* bound on how late an event is shown (no wakeups) */
#define SYNC_NS		1000000000LL	/* fold exited processes' kernel entries */
#define MAX_ROWS	65536	/* userspace (process, errno, family) rows kept */
/* A per-process map this full at a sync is swapped for the other and drained
 * (see procs_active in bpf/portwatch.bpf.c): half of its 16,384 entries */
#define PROCS_WATERMARK	8192
/* Rows (process, errno, family) of PW_UNCOUNTED counts waiting for the
 * worker's next sync; outcomes of keys beyond are counted in counts_dropped */
#define PENDING_ROWS	65536
#define SCAN_NS		10000000000LL	/* periodic census without --interval */
#define BATCH		4096	/* events per ring-buffer pass: then the loop's other duties */
#define DIAG_QUEUE	1024	/* diagnosis requests waiting for the worker */
#define DIAG_LIMIT_SLOTS 16384	/* destinations remembered by the rate limit */
#define OUT_QUEUE_MAX	(8 << 20)	/* bytes of worker output waiting */
#define BATCH_CUT	(-ECANCELED)	/* handle_event: end this pass */
/* Workload resolution (workload.c): cgroups cached per thread, and new
 * cgroup ids resolved per second per thread at most; past that an event's
 * workload fields are null (counted, said at the end). */
#define WL_CACHE	4096	/* tests lower it: PORTWATCH_TEST_WL_CACHE */
#define WL_PER_SECOND	256

/* Worker output waiting for the consumer. */
struct out_msg {
	struct out_msg *next;
	size_t len;
	char text[];
};

static volatile sig_atomic_t exiting;

struct app {
	struct env env;
	struct pw_attach at;
	struct pw_accounts acc;		/* the worker's while it runs */
	struct pw_metrics_memory metrics_mem;	/* the worker's: what /metrics showed of acc */
	struct ring_buffer *rb;
	struct pw_http *http;		/* the worker's */
	struct pw_pressure *pressure;	/* the worker's while it runs */
	struct pw_privs privs;		/* the worker's while it runs */
	uint32_t bound_conflicts;	/* seen in events, for the remedies */
	struct pw_workloads *wl;	/* the consumer's: events */
	struct pw_workloads *wl_worker;	/* the worker's (then the summary's): tables, metrics */
	int64_t mono_to_real;
	int64_t start;
	char libbpf_version[16];

	/* the consumer's; the worker reads the counters (relaxed atomics) */
	struct pw_fold *fold;		/* text mode, unless --no-fold */
	struct pw_dest_limit *diag_limit;
	uint64_t received;		/* events taken from the ring buffer */
	uint64_t diag_skipped;		/* no room in the rate limit table */
	unsigned int batch;		/* events in this pass */
	int out_err;			/* errno of a failed write to stdout */
	bool out_closed;		/* stdout's reader is gone (EPOLLERR/HUP) */
	char line[65536];		/* an event with the longest cgroup path, escaped */

	/* shared, under lock */
	pthread_mutex_t lock;
	int wake_worker, wake_main;	/* eventfds */
	bool stop_worker;
	struct pw_diag_req reqs[DIAG_QUEUE];
	size_t nreqs;
	uint64_t diag_dropped;		/* queue full */
	struct out_msg *out_head, *out_tail;
	size_t out_bytes;
	uint64_t out_dropped;		/* worker output over OUT_QUEUE_MAX */
	/* PW_UNCOUNTED events' counts, from the consumer to the accounts at
	 * the next sync (at most a second): rows per (process, errno,
	 * family), at most PENDING_ROWS (a stalled worker) */
	struct pw_accounts pending;
	int pending_err;		/* adding to it failed: said at the end */
	uint64_t pending_dropped;	/* outcomes of those: in counts_dropped */
	/* the worker's while it runs: which per-process map is active */
	bool procs_alt;
	uint64_t procs_drains;		/* swaps and drains so far */
	/* the inactive map may still hold entries (a drain failed): it is
	 * drained before anything else, and never swapped in until empty */
	bool drain_pending;
	bool drain_failed;		/* said once */
	/* the worker's: `unattributed` as last added to the accounts */
	uint64_t unattr_counter;	/* PW_CNT_UNATTRIBUTED then */
	/* keys the per-process map takes for outcomes other than EADDRNOTAVAIL:
	 * PW_PROCS_OPEN, or PORTWATCH_TEST_PROCS_OPEN (tests) */
	size_t procs_open;
	struct pw_unattr_val unattr_seen[PW_UNATTR_SLOTS];
	bool unattr_failed;		/* said once */
};

static uint64_t load(const uint64_t *v)
{
	return __atomic_load_n(v, __ATOMIC_RELAXED);
}

static void bump(uint64_t *v, uint64_t n)
{
	__atomic_store_n(v, *v + n, __ATOMIC_RELAXED);	/* one writer */
}

static void wake(int efd)
{
	uint64_t one = 1;

	if (write(efd, &one, sizeof(one)) < 0) {
		/* EAGAIN: the counter is full, so it is readable anyway */
	}
}

static void unwake(int efd)
{
	uint64_t v;

	if (read(efd, &v, sizeof(v)) < 0) {
		/* EAGAIN: nothing was pending */
	}
}

/* The worker could not return to portwatch's netns after a census (said
 * by census.c): it never works again (it waits here, possibly inside
 * libmicrohttpd's callback, so it is neither joined nor is the HTTP server
 * stopped), and the consumer detaches, prints the summary and stops with
 * exit status 1. If the consumer is the one stuck (startup, before the
 * worker), this returns and census.c ends the process. */
static pthread_t worker_thread;
static volatile int worker_running;
static volatile sig_atomic_t census_stuck;
static int stuck_wake_fd = -1;

static void on_census_stuck(void)
{
	if (!worker_running || !pthread_equal(pthread_self(), worker_thread))
		return;
	census_stuck = 1;
	exiting = 1;
	if (stuck_wake_fd >= 0)
		wake(stuck_wake_fd);
	for (;;)
		pause();
}

static void on_signal(int sig)
{
	(void)sig;
	exiting = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG || level == LIBBPF_INFO || level == LIBBPF_WARN)
		return 0;
	return vfprintf(stderr, fmt, args);
}

static int libbpf_print_verbose(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	return vfprintf(stderr, fmt, args);
}

static int64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Consumer: a diagnosis for the first failure to a destination (then every
 * PW_DIAG_EVERY_NS), asked of the worker. */
static void ask_diagnosis(struct app *app, const struct pw_event *e)
{
	int due = pw_dest_limit_due(app->diag_limit, e->netns, e->family, e->daddr, e->dport,
				    e->ts_ns, PW_DIAG_EVERY_NS);
	struct pw_diag_req *r;
	bool first;

	if (due < 0)
		bump(&app->diag_skipped, 1);
	if (due != 1)
		return;
	pthread_mutex_lock(&app->lock);
	if (app->nreqs == DIAG_QUEUE) {
		app->diag_dropped++;
		pthread_mutex_unlock(&app->lock);
		return;
	}
	r = &app->reqs[app->nreqs++];
	r->netns = e->netns;
	r->ts_ns = e->ts_ns;
	r->pid = e->pid;
	r->tid = e->tid;
	r->family = e->family;
	r->dport = e->dport;
	memcpy(r->daddr, e->daddr, 16);
	memcpy(r->comm, e->comm, PW_COMM_LEN);
	first = app->nreqs == 1;
	pthread_mutex_unlock(&app->lock);
	if (first)
		wake(app->wake_worker);	/* once per batch: the worker takes all */
}

static void out_write(struct app *app, const char *buf, size_t len)
{
	if (app->out_err)
		return;
	if (fwrite_unlocked(buf, 1, len, stdout) != len)
		app->out_err = errno ? errno : EIO;
}

static int handle_event(void *arg, void *data, size_t size)
{
	struct app *app = arg;
	const struct pw_event *e = data;
	struct sbuf sb;

	if (size < sizeof(*e))
		return 0;
	bump(&app->received, 1);
	if (e->flags & PW_UNCOUNTED) {
		/* the per-process map had no room: this event is the count */
		struct pw_proc_key k = { .tgid = e->pid, .err = -e->ret, .family = e->family };
		struct pw_proc_val v = {
			.count = 1, .scans = !!(e->flags & PW_HAS_SCAN),
			.scan_ns = e->flags & PW_HAS_SCAN_NS ? e->scan_ns : 0,
			.cgroup_id = e->cgroup_id,
		};
		int err;

		memcpy(v.comm, e->comm, PW_COMM_LEN);
		pthread_mutex_lock(&app->lock);
		err = pw_accounts_add(&app->pending, &k, &v, e->ts_ns);
		if (err) {
			app->pending_err = err;
			app->pending_dropped++;
		}
		pthread_mutex_unlock(&app->lock);
		/* written for its count only; still an event of this pass */
		if (app->env.quiet || (!e->ret && !app->env.all))
			return ++app->batch >= BATCH ? BATCH_CUT : 0;
	}
	if (e->cause == PW_CAUSE_BOUND_CONFLICT)
		app->bound_conflicts++;
	if (e->ret == -EADDRNOTAVAIL && e->netns && !(e->flags & PW_NO_DEST) && app->pressure)
		ask_diagnosis(app, e);
	if (!app->fold || pw_fold_event(app->fold, e, stdout)) {
		/* a hash probe; a new cgroup: a bounded resolution (workload.c) */
		const struct pw_workload *w = app->wl ? pw_workloads_get(app->wl, e->cgroup_id, e->ts_ns)
						      : NULL;

		sb_init(&sb, app->line, sizeof(app->line));
		if (app->env.json)
			pw_event_json(&sb, e, app->mono_to_real, w);
		else
			pw_event_text(&sb, e, app->mono_to_real, w);
		sb_putc(&sb, '\n');
		if (sb.err) {
			/* never a cut line (invalid JSON): say so, loudly */
			fprintf(stderr, "portwatch: an event did not fit in %zu bytes; stopping\n",
				sizeof(app->line));
			app->out_err = EOVERFLOW;
			exiting = 1;
			return BATCH_CUT;
		}
		out_write(app, app->line, sb.len);
	}
	/* a storm must not keep the loop from its other duties */
	return ++app->batch >= BATCH ? BATCH_CUT : 0;
}

/* kprobe mode on a preemptible kernel: a bpf() map syscall raises its CPU's
 * bpf_prog_active with only migration disabled, and while its task is
 * preempted there every kprobe program on that CPU is skipped (KERNEL.md
 * section 9; measured on 7.2: 177 skipped runs in 2 s of 8 processes
 * failing at full speed, portwatch's own once-a-second reads preempted by
 * them). The thread that makes map syscalls runs at SCHED_FIFO 1, which no
 * ordinary task preempts, for those syscalls only (read_percpu, the
 * per-process sync and drains: never the HTTP server, rendering or a
 * census), then goes back to the policy it had; RLIMIT_RTPRIO 1 (set
 * before the capabilities go) allows it. What remains (another tool's
 * syscalls, an RT task) is counted: recursion misses. Nested sections
 * count on the thread's depth; fifo_guard is set before the threads start
 * and only ever cleared (a refusal, said once). */
static bool fifo_guard;
static __thread int guard_depth;
static __thread bool guard_on;
static __thread int guard_policy;
static __thread struct sched_param guard_param;

static bool guard_active(void)
{
	return __atomic_load_n(&fifo_guard, __ATOMIC_RELAXED);
}

static void guard_begin(void)
{
	struct sched_param sp = { .sched_priority = 1 };
	int err;

	if (guard_depth++ || !guard_active())
		return;
	if (pthread_getschedparam(pthread_self(), &guard_policy, &guard_param))
		return;
	err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (!err) {
		guard_on = true;
		return;
	}
	if (__atomic_exchange_n(&fifo_guard, false, __ATOMIC_RELAXED))
		fprintf(stderr, "portwatch: cannot run the map reads at SCHED_FIFO 1 (%s): kprobe "
			"runs may be skipped while they are preempted (counted: recursion misses)\n",
			strerror(err));
}

static void guard_end(void)
{
	int err;

	if (--guard_depth || !guard_on)
		return;
	guard_on = false;
	err = pthread_setschedparam(pthread_self(), guard_policy, &guard_param);
	if (err) {
		/* never left at SCHED_FIFO: back to the default policy, or out */
		struct sched_param sp = { .sched_priority = 0 };

		if (pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp)) {
			fprintf(stderr, "portwatch: cannot leave SCHED_FIFO (%s)\n", strerror(err));
			_exit(1);
		}
	}
}

/* Before the capabilities are dropped: may the worker use the guard? */
static void guard_setup(const struct pw_attach *at)
{
	struct rlimit rl;

	if (at->mode != PW_MODE_KPROBE || !at->preempt.preemptible || getenv("PORTWATCH_NO_FIFO_GUARD"))
		return;
	if (getrlimit(RLIMIT_RTPRIO, &rl))
		return;
	if (rl.rlim_cur < 1) {
		rl.rlim_cur = 1;
		if (rl.rlim_max < 1)
			rl.rlim_max = 1;
		if (setrlimit(RLIMIT_RTPRIO, &rl)) {
			fprintf(stderr, "portwatch: RLIMIT_RTPRIO: %s: the map reads run at normal "
				"priority, kprobe runs may be skipped while they are preempted "
				"(counted: recursion misses)\n", strerror(errno));
			return;
		}
	}
	__atomic_store_n(&fifo_guard, true, __ATOMIC_RELAXED);
}

/* Whether the counts are exact under contention: not in a mode the kernel
 * skips when preempted, nor in kprobe mode on a preemptible kernel whose map
 * reads run without the guard (refused, or PORTWATCH_NO_FIFO_GUARD). */
static bool exact_under_contention(const struct app *app)
{
	if (pw_mode_skips_when_preempted(&app->at))
		return false;
	return app->at.mode != PW_MODE_KPROBE || !app->at.preempt.preemptible || guard_active();
}

/* Sum over CPUs of `n` consecutive slots of a per-CPU array from `first`. */
static int read_percpu(const struct bpf_map *map, __u32 first, __u32 n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), err;

	if (ncpu <= 0)
		return -EINVAL;
	uint64_t vals[ncpu];

	for (__u32 i = 0; i < n; i++) {
		__u32 key = first + i;

		out[i] = 0;
		guard_begin();
		err = bpf_map_lookup_elem(bpf_map__fd(map), &key, vals) ? -errno : 0;
		guard_end();
		if (err)
			return err;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	return 0;
}

static uint64_t read_counter(struct app *app, __u32 idx)
{
	uint64_t v;

	return read_percpu(app->at.skel->maps.counters, idx, 1, &v) ? 0 : v;
}

static int procs_fd(struct app *app, bool alt)
{
	return bpf_map__fd(alt ? app->at.skel->maps.procs_alt : app->at.skel->maps.procs);
}

static void drain_error(struct app *app, int err)
{
	if (app->drain_failed)
		return;
	app->drain_failed = true;
	fprintf(stderr, "portwatch: draining the per-process map: %s; per-process counts stay "
		"as they are until it can be drained; outcomes with no room are counted "
		"unattributed or from their events\n", strerror(-err));
}

/* Drain the inactive per-process map (no program writes to it); true once
 * it is empty. Over max_rows, folds what the drain made foldable. */
static bool drain_inactive(struct app *app, uint64_t now)
{
	int err = pw_accounts_drain(&app->acc, procs_fd(app, !app->procs_alt), now);

	app->drain_pending = err != 0;
	if (err) {
		drain_error(app, err);
		return false;
	}
	/* need_drain: live rows were waiting for this drain to be folded (the
	 * shrink clears it, so a drain is not asked for again every second) */
	if ((app->acc.n > app->acc.max_rows || app->acc.need_drain) &&
	    (err = pw_accounts_shrink(&app->acc, now)))
		fprintf(stderr, "portwatch: folding per-process counts: %s\n", strerror(-err));
	return true;
}

/* Swap the active per-process map for the other, empty one, then take every
 * entry of the old one into the accounts. True if it swapped. */
static bool drain_procs(struct app *app, uint64_t now)
{
	int new = procs_fd(app, !app->procs_alt);
	struct pw_proc_key key;
	__u32 zero = 0;

	/* never a map with entries: they would be counted again */
	if (!bpf_map_get_next_key(new, NULL, &key) && !drain_inactive(app, now))
		return false;
	/* returns after an RCU grace period: no program writes to old now */
	if (bpf_map_update_elem(bpf_map__fd(app->at.skel->maps.procs_active), &zero, &new,
				BPF_ANY)) {
		drain_error(app, -errno);
		return false;
	}
	app->procs_alt = !app->procs_alt;
	app->procs_drains++;
	drain_inactive(app, now);
	return true;
}

static uint64_t pending_dropped(struct app *app)
{
	uint64_t n;

	pthread_mutex_lock(&app->lock);
	n = app->pending_dropped;
	pthread_mutex_unlock(&app->lock);
	return n;
}

/* Add what `unattributed` counted since the last time to the accounts: one
 * pid 0 row named PW_UNATTRIBUTED_COMM per (errno, family). Read only when
 * PW_CNT_UNATTRIBUTED moved (a program adds to its slot first). */
static void add_unattributed(struct app *app, uint64_t now)
{
	uint64_t total = read_counter(app, PW_CNT_UNATTRIBUTED);
	int ncpu = libbpf_num_possible_cpus(), fd;
	int err = 0;

	if (total == app->unattr_counter || ncpu <= 0)
		return;
	struct pw_unattr_val vals[ncpu];

	fd = bpf_map__fd(app->at.skel->maps.unattributed);
	for (__u32 slot = 0; slot < PW_UNATTR_SLOTS && !err; slot++) {
		struct pw_unattr_val sum = {}, *seen = &app->unattr_seen[slot];

		if (bpf_map_lookup_elem(fd, &slot, vals)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++) {
			sum.count += vals[c].count;
			sum.scans += vals[c].scans;
			sum.scan_ns += vals[c].scan_ns;
		}
		if (sum.count == seen->count)
			continue;

		__u16 e = slot % PW_UNATTR_ERRS;
		struct pw_proc_key k = {
			.tgid = 0,
			.err = e == PW_UNATTR_ERRS - 1 ? PW_ERR_UNKNOWN : e,
			.family = slot < PW_UNATTR_ERRS ? AF_INET : AF_INET6,
		};
		struct pw_proc_val v = {
			.count = sum.count - seen->count,
			.scans = sum.scans - seen->scans,
			.scan_ns = sum.scan_ns - seen->scan_ns,
		};

		strcpy(v.comm, PW_UNATTRIBUTED_COMM);
		err = pw_accounts_add(&app->acc, &k, &v, now);
		if (!err)
			*seen = sum;
	}
	if (!err)
		app->unattr_counter = total;
	else if (!app->unattr_failed) {
		app->unattr_failed = true;
		fprintf(stderr, "portwatch: reading the unattributed counts: %s\n", strerror(-err));
	}
}

static void sync_accounts(struct app *app, bool retire)
{
	struct pw_accounts pending;
	uint64_t lost = 0, now;
	/* before the walk: keys made after this are counted twice at most */
	uint64_t inserts = __atomic_load_n(&app->at.skel->bss->procs_inserts, __ATOMIC_ACQUIRE);
	size_t entries;
	int err;

	pthread_mutex_lock(&app->lock);
	pending = app->pending;
	pw_accounts_init(&app->pending, 0);
	app->pending.limit_rows = PENDING_ROWS;
	pthread_mutex_unlock(&app->lock);
	err = pw_accounts_merge(&app->acc, &pending, &lost);
	pw_accounts_free(&pending);
	if (err) {
		fprintf(stderr, "portwatch: adding counts from events: %s\n", strerror(-err));
		pthread_mutex_lock(&app->lock);
		app->pending_dropped += lost;
		pthread_mutex_unlock(&app->lock);
	}
	now = now_ns(CLOCK_MONOTONIC);
	guard_begin();	/* the map syscalls: see guard_begin */
	add_unattributed(app, now);
	/* rows whose counts are still in the inactive map must not take the
	 * active map's values for theirs: nothing is read until it is drained
	 * (the last room given for new keys stays a true bound meanwhile) */
	if (app->drain_pending && !drain_inactive(app, now)) {
		guard_end();
		return;
	}
	err = pw_accounts_sync(&app->acc, procs_fd(app, app->procs_alt), now, retire);
	if (err) {
		/* the last room given stays a true bound: keys only come in */
		guard_end();
		fprintf(stderr, "portwatch: reading per-process counters: %s\n", strerror(-err));
		return;
	}
	/* the room for keys of outcomes other than EADDRNOTAVAIL (procs_allow in
	 * bpf/portwatch.bpf.c): the new map after a swap was empty */
	entries = app->acc.kernel_entries;
	if (retire && (entries >= PROCS_WATERMARK || app->acc.need_drain) && drain_procs(app, now))
		entries = 0;
	guard_end();
	__atomic_store_n(&app->at.skel->data->procs_allow,
			 inserts + (entries < app->procs_open ? app->procs_open - entries : 0),
			 __ATOMIC_RELEASE);
}

/* The rows' workloads, each a copy: a later lookup may start the resolver's
 * cache over (more cgroups than it holds) and free what an earlier one
 * returned. NULL (rows without workloads) without a resolver or memory. */
static struct pw_workload *table_workloads(struct app *app, struct pw_procs *procs)
{
	struct pw_workload *wl;

	if (!app->wl_worker || !procs->n || !(wl = calloc(procs->n, sizeof(*wl))))
		return NULL;
	for (size_t i = 0; i < procs->n; i++) {
		const struct pw_workload *w;

		if (!procs->v[i].cgroup_id)
			continue;
		w = pw_workloads_get(app->wl_worker, procs->v[i].cgroup_id, now_ns(CLOCK_MONOTONIC));
		if (w && !pw_workload_copy(&wl[i], w))
			procs->v[i].w = &wl[i];
	}
	return wl;
}

/* The per-process table: text under a time stamp, or one JSON object of
 * `type` ("interval" or "summary"), written to out. */
static void print_table(struct app *app, const char *type, FILE *out)
{
	const struct env *env = &app->env;
	const char *mode = pw_mode_name(app->at.mode);
	double duration_s = (now_ns(CLOCK_MONOTONIC) - app->start) / 1e9;
	struct pw_procs procs = {};
	struct pw_workload *wl;
	uint64_t lost = read_counter(app, PW_CNT_EVENTS_LOST);
	uint64_t full = read_counter(app, PW_CNT_OUTCOMES_LOST);
	uint64_t stash_full = read_counter(app, PW_CNT_STASH_FULL);
	uint64_t via_events = read_counter(app, PW_CNT_VIA_EVENTS);
	uint64_t unmatched = read_counter(app, PW_CNT_UNMATCHED);
	uint64_t unattributed = read_counter(app, PW_CNT_UNATTRIBUTED);
	uint64_t received = load(&app->received);
	struct pw_krp_misses krp;
	char krp_json[24] = "null", rec_json[24] = "null", rec_detail[256];
	long long rec = pw_recursion_misses_detail(&app->at, rec_detail, sizeof(rec_detail));
	bool summary = !strcmp(type, "summary");

	pw_kretprobe_misses(&app->at, &krp);
	if (krp.total >= 0)
		snprintf(krp_json, sizeof(krp_json), "%lld", krp.total);
	if (rec >= 0)
		snprintf(rec_json, sizeof(rec_json), "%lld", rec);
	sync_accounts(app, false);
	full += pending_dropped(app);	/* after the merge: it may add some */
	if (pw_accounts_procs(&app->acc, &procs))
		fprintf(stderr, "portwatch: out of memory for the per-process table\n");
	pw_procs_sort(&procs);
	wl = table_workloads(app, &procs);

	if (env->json) {
		static char buf[65536];	/* one process with its workload */
		struct sbuf sb;

		fprintf(out, "{\"type\":\"%s\",\"mode\":\"%s\",\"duration_s\":%.3f,\"events_received\":%llu,"
			"\"events_lost\":%llu,\"counts_dropped\":%llu,\"untraced\":%llu,"
			"\"kretprobe_misses\":%s,\"recursion_misses\":%s,\"counted_from_events\":%llu,"
			"\"unmatched_outcomes\":%llu,\"unattributed_outcomes\":%llu,"
			"\"preempt_model\":\"%s\",\"exact_under_contention\":%s,\"processes\":[",
			type, mode, duration_s, (unsigned long long)received, (unsigned long long)lost,
			(unsigned long long)full, (unsigned long long)stash_full, krp_json, rec_json,
			(unsigned long long)via_events, (unsigned long long)unmatched,
			(unsigned long long)unattributed, pw_preempt_name(app->at.preempt.model),
			exact_under_contention(app) ? "true" : "false");
		for (size_t i = 0; i < procs.n; i++) {
			sb_init(&sb, buf, sizeof(buf));
			pw_proc_json(&sb, &procs.v[i]);
			fprintf(out, "%s%s", i ? "," : "", buf);
		}
		fprintf(out, "]}\n");
	} else {
		char t[32];
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(t, sizeof(t), "%H:%M:%S", &tm);
		fprintf(out, "\n%s per-process connect() outcomes (%s, %.1f s, mode %s):\n",
			t, type, duration_s, mode);
		if (procs.n)
			pw_procs_text(out, &procs);
		else
			fprintf(out, "(no connect() seen)\n");
		if (!env->quiet) {
			/* the fold's counters are the consumer's: final only in the summary */
			uint64_t printed = app->fold ? pw_fold_printed(app->fold) : received;

			if (strcmp(type, "summary"))
				fprintf(out, "events: %llu received, %llu lost (ring buffer full)\n",
					(unsigned long long)received, (unsigned long long)lost);
			else
				fprintf(out, "events: %llu received = %llu lines printed + %llu folded "
					"into \"... more\" lines; %llu lost (ring buffer full)\n",
					(unsigned long long)received, (unsigned long long)printed,
					(unsigned long long)(app->fold ? pw_fold_folded(app->fold) : 0),
					(unsigned long long)lost);
		}
	}
	if (lost)
		fprintf(stderr, "portwatch: %llu events lost (ring buffer full); counts above are exact\n",
			(unsigned long long)lost);
	if (full)
		fprintf(stderr, "portwatch: %llu outcomes not counted: per-process map full and "
			"their events lost (ring buffer full) or over the queue's %d keys of counts "
			"from events\n", (unsigned long long)full, PENDING_ROWS);
	if (via_events)
		fprintf(stderr, "portwatch: %llu outcomes counted from their events: per-process "
			"map full\n", (unsigned long long)via_events);
	if (unattributed)
		fprintf(stderr, "portwatch: %llu connect() outcomes other than EADDRNOTAVAIL counted "
			"without their process (no room kept for new per-process keys): the pid 0 "
			"\"%s\" rows\n", (unsigned long long)unattributed, PW_UNATTRIBUTED_COMM);
	if (unmatched)
		fprintf(stderr, "portwatch: %llu connect() outcomes without their start (its state "
			"evicted by newer connects, or begun before the attach): not counted\n",
			(unsigned long long)unmatched);
	if (stash_full)
		fprintf(stderr, "portwatch: %llu connects not traced: per-thread state map full\n",
			(unsigned long long)stash_full);
	if (rec > 0)
		fprintf(stderr, "portwatch: %lld program runs skipped by the kernel (already running on "
			"that CPU: recursion misses; %s): up to %lld connect() outcomes not counted%s\n",
			rec, rec_detail, rec,
			pw_mode_skips_when_preempted(&app->at) ?
				"; the kernel is preemptible: --mode=kprobe is exact here" :
			app->at.mode == PW_MODE_KPROBE ?
				"; a kprobe program is skipped while another BPF program or a bpf() "
				"map syscall runs on that CPU" : "");
	else if (summary && pw_mode_skips_when_preempted(&app->at))
		fprintf(stderr, "portwatch: no program run skipped, but %s mode is not exact under "
			"contention on this preemptible kernel (%s): --mode=kprobe is exact here\n",
			mode, pw_preempt_name(app->at.preempt.model));
	if (krp.total > 0)
		fprintf(stderr, "portwatch: %lld kretprobe misses (%s): %lld connect() outcomes not "
			"counted; maxactive %d is too low for this load\n", krp.total, krp.detail,
			krp.outcomes, app->at.maxactive);
	for (size_t i = 0; wl && i < procs.n; i++)
		pw_workload_clear(&wl[i]);
	free(wl);
	pw_procs_free(&procs);
}

static const struct pw_workload *metrics_workload(void *arg, uint64_t cgroup_id)
{
	struct app *app = arg;

	return pw_workloads_get(app->wl_worker, cgroup_id, now_ns(CLOCK_MONOTONIC));
}

static int render_metrics(void *arg, char **buf, size_t *len)
{
	struct app *app = arg;
	struct portwatch_bpf *skel = app->at.skel;
	struct pw_metrics_input in = {
		.acc = &app->acc,
		.memory = &app->metrics_mem,
		.now_ns = now_ns(CLOCK_MONOTONIC),
		.max_pids = app->env.max_pids,
		.scan_depth = app->env.scan_depth && app->at.mode != PW_MODE_TRACEPOINT,
		.events_lost = read_counter(app, PW_CNT_EVENTS_LOST),
		.counts_dropped = read_counter(app, PW_CNT_OUTCOMES_LOST),
		.untraced = read_counter(app, PW_CNT_STASH_FULL),
		.counted_from_events = read_counter(app, PW_CNT_VIA_EVENTS),
		.unmatched = read_counter(app, PW_CNT_UNMATCHED),
		.unattributed = read_counter(app, PW_CNT_UNATTRIBUTED),
		.ports_sum = read_counter(app, PW_CNT_PORTS_CHECKED),
		.range_size = -1,
		.version = PORTWATCH_VERSION,
		.libbpf_version = app->libbpf_version,
		.mode = pw_mode_name(app->at.mode),
		.workload = app->wl_worker ? metrics_workload : NULL,
		.workload_ctx = app,
	};
	struct pw_census_skips skips;
	struct pw_krp_misses krp;
	long long rec = pw_recursion_misses(&app->at);
	FILE *f;

	for (int k = 0; k < PW_MISS_KINDS; k++)
		in.missed_runs[k] = -1;
	in.missed_runs[app->at.mode == PW_MODE_FENTRY ? PW_MISS_FENTRY :
		       app->at.mode == PW_MODE_KPROBE ? PW_MISS_KPROBE : PW_MISS_TRACEPOINT] = rec;
	pw_kretprobe_misses(&app->at, &krp);
	in.missed_runs[PW_MISS_KRETPROBE_MAXACTIVE] = krp.total;
	in.preempt_model = pw_preempt_name(app->at.preempt.model);
	in.exact_under_contention = exact_under_contention(app);
	if (app->pressure)
		in.ntop = pw_pressure_top(app->pressure, &in.top);
	sync_accounts(app, false);
	in.counts_dropped += pending_dropped(app);	/* after the merge: it may add some */
	read_percpu(skel->maps.scan_hist, 0, PW_HIST_SLOTS * PW_SCAN_RESULTS, &in.scan_hist[0][0]);
	if (in.scan_depth)
		read_percpu(skel->maps.ports_hist, 0, PW_HIST_SLOTS, in.ports_hist);
	in.range_size = pw_privs_range_size(&app->privs, &in.range_netns);
	pw_census_skips(&skips);
	in.census_netns_skipped = skips.netns;
	in.census_processes_skipped = skips.processes;

	f = open_memstream(buf, len);
	if (!f)
		return -errno;
	pw_metrics_render(f, &in);
	if (fclose(f))
		return -errno;
	return 0;
}

/* --census: one shot, no BPF. Exit code as main's. */
static int run_census(const struct env *env, const struct pw_privs *privs)
{
	struct pw_census_filter f = { .holders = true };
	struct pw_census_ns ns;
	uint64_t *inodes = NULL;
	int *fds = NULL, n, shown = 0, ret = PW_EXIT_OK;
	char err[256];

	if (env->netns) {
		int fd = pw_census_open_netns(env->netns, err, sizeof(err));

		if (fd < 0) {
			fprintf(stderr, "portwatch: --netns=%s: %s\n", env->netns, err);
			return PW_EXIT_USAGE;
		}
		fds = malloc(sizeof(*fds));
		if (!fds) {
			close(fd);
			return PW_EXIT_CANNOT_RUN;
		}
		fds[0] = fd;
		n = 1;
	} else {
		n = pw_census_list_netns(&fds, &inodes);
		if (n < 0) {
			fprintf(stderr, "portwatch: --census: cannot list network namespaces: %s\n",
				strerror(-n));
			return PW_EXIT_CANNOT_RUN;
		}
	}
	for (int i = 0; i < n; i++) {
		if (pw_census_take(fds[i], &f, &ns, err, sizeof(err))) {
			fprintf(stderr, "portwatch: --census: %s\n", err);
			ret = PW_EXIT_CANNOT_RUN;
		} else if (env->netns || ns.sockets) {
			/* every netns with TCP sockets, or the one asked for */
			if (env->json)
				pw_census_print_json(stdout, &ns);
			else
				pw_census_print_text(stdout, &ns);
			if (ns.ndests && ns.dests[0].held)
				pw_print_remedies(stdout, env->json, &ns, &ns.dests[0], 0,
						  PW_CLIENT_NONE, 0);
			shown++;
			pw_census_free(&ns);
		} else {
			pw_census_free(&ns);
		}
		close(fds[i]);
	}
	if (!shown && !env->json)
		printf("no network namespace has TCP sockets\n");
	free(fds);
	free(inodes);
	pw_privs_census_report(privs, stderr);
	return ret;
}

static int epoll_add(int epfd, int fd, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

/* ---- the worker ---- */

/* Queue what a memstream holds for the consumer to write. */
static void push_output(struct app *app, FILE *mem, char **buf, size_t *len)
{
	struct out_msg *m;

	if (fclose(mem) || !*buf || !*len) {
		free(*buf);
		return;
	}
	m = malloc(sizeof(*m) + *len);
	if (m) {
		m->next = NULL;
		m->len = *len;
		memcpy(m->text, *buf, *len);
	}
	free(*buf);
	pthread_mutex_lock(&app->lock);
	if (!m || app->out_bytes + m->len > OUT_QUEUE_MAX) {
		app->out_dropped++;
		free(m);
		m = NULL;
	} else {
		if (app->out_tail)
			app->out_tail->next = m;
		else
			app->out_head = m;
		app->out_tail = m;
		app->out_bytes += m->len;
	}
	pthread_mutex_unlock(&app->lock);
	if (m)
		wake(app->wake_main);
}

static void take_requests(struct app *app)
{
	static struct pw_diag_req reqs[DIAG_QUEUE];	/* the worker's copy */
	size_t n;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;

	pthread_mutex_lock(&app->lock);
	n = app->nreqs;
	memcpy(reqs, app->reqs, n * sizeof(reqs[0]));
	app->nreqs = 0;
	pthread_mutex_unlock(&app->lock);
	if (!n || !(mem = open_memstream(&buf, &len)))
		return;
	pw_pressure_diagnose(app->pressure, reqs, n, mem, app->env.json, app->mono_to_real);
	push_output(app, mem, &buf, &len);
}

static void *worker_main(void *arg)
{
	struct app *app = arg;
	const struct env *env = &app->env;
	int64_t now = now_ns(CLOCK_MONOTONIC), next_table = 0, next_sync = now + SYNC_NS;
	int64_t every = env->interval_s ? (int64_t)env->interval_s * 1000000000 : SCAN_NS;
	int64_t next_scan = now + every;
	int epfd = epoll_create1(EPOLL_CLOEXEC);

	if (env->interval_s)
		next_table = now + (int64_t)env->interval_s * 1000000000;
	if (epfd < 0 || epoll_add(epfd, app->wake_worker, EPOLLIN) ||
	    (app->http && epoll_add(epfd, pw_http_fd(app->http), EPOLLIN))) {
		fprintf(stderr, "portwatch: cannot set up the worker's loop: %s; no diagnosis, "
			"warnings or /metrics from now on\n", strerror(errno));
		if (epfd >= 0)
			close(epfd);
		return NULL;
	}
	for (;;) {
		struct epoll_event out[4];
		int64_t wait = next_sync - now, due;
		bool stop;
		char *buf = NULL;
		size_t len = 0;
		FILE *mem;

		if (app->pressure && next_scan - now < wait)
			wait = next_scan - now;
		if (next_table && next_table - now < wait)
			wait = next_table - now;
		due = app->http ? pw_http_deadline(app->http) : 0;	/* a request's headers */
		if (due && due - now < wait)
			wait = due - now;
		if (wait < 0)
			wait = 0;
		epoll_wait(epfd, out, 4, (int)((wait + 999999) / 1000000));
		unwake(app->wake_worker);
		pthread_mutex_lock(&app->lock);
		stop = app->stop_worker;
		pthread_mutex_unlock(&app->lock);
		if (stop)
			break;
		if (app->pressure)
			take_requests(app);
		if (app->http) {
			pw_http_run(app->http);
		}
		now = now_ns(CLOCK_MONOTONIC);
		if (now >= next_sync) {
			sync_accounts(app, true);
			next_sync = now + SYNC_NS;
		}
		if (app->pressure && now >= next_scan && (mem = open_memstream(&buf, &len))) {
			pw_pressure_scan(app->pressure, now, mem, env->json);
			push_output(app, mem, &buf, &len);
			next_scan = now + every;
		}
		if (next_table && now >= next_table && (mem = open_memstream(&buf, &len))) {
			print_table(app, "interval", mem);
			push_output(app, mem, &buf, &len);
			next_table += (int64_t)env->interval_s * 1000000000;
		}
	}
	close(epfd);
	return NULL;
}

/* ---- the consumer ---- */

/* Write what the worker queued. */
static void drain_output(struct app *app)
{
	struct out_msg *m;

	pthread_mutex_lock(&app->lock);
	m = app->out_head;
	app->out_head = app->out_tail = NULL;
	app->out_bytes = 0;
	pthread_mutex_unlock(&app->lock);
	while (m) {
		struct out_msg *next = m->next;

		out_write(app, m->text, m->len);
		free(m);
		m = next;
	}
}

/* Flush stdout. False when it can take no more: its reader is gone (EPIPE,
 * a normal end: `portwatch -j | head`) or a write failed (ENOSPC, EIO...:
 * one line, exit 1). */
static bool out_flush(struct app *app, int *ret)
{
	if (!app->out_err && app->out_closed)
		app->out_err = EPIPE;
	if (!app->out_err && fflush(stdout))
		app->out_err = errno ? errno : EIO;
	if (!app->out_err)
		return true;
	if (app->out_err != EPIPE && app->out_err != EOVERFLOW) {
		fprintf(stderr, "portwatch: writing to stdout: %s\n", strerror(app->out_err));
		*ret = PW_EXIT_CANNOT_RUN;
	} else if (app->out_err == EOVERFLOW) {
		*ret = PW_EXIT_CANNOT_RUN;
	}
	return false;
}

/* One pass over the ring buffer (at most BATCH events); true if it stopped
 * at the batch limit with more waiting. -errno on a failure. */
static int consume(struct app *app)
{
	int err;

	app->batch = 0;
	err = ring_buffer__consume(app->rb);
	if (err == BATCH_CUT)
		return !app->out_err;
	if (err < 0 && err != -EINTR)
		return err;
	return 0;
}

/* A tests' knob (PORTWATCH_TEST_*) lowering a bound: unset or empty, the
 * bound itself; else a number from 1 to max, or false with one line. */
static bool test_knob(const char *name, unsigned long max, unsigned long *v)
{
	const char *s = getenv(name);

	*v = max;
	if (!s || !*s || !pw_parse_uint(s, 1, max, v))
		return true;
	fprintf(stderr, "portwatch: %s='%s': a number from 1 to %lu\n", name, s, max);
	return false;
}

int main(int argc, char **argv)
{
	static struct app app = { .env = { .mode = PW_REQ_AUTO }, .wake_worker = -1,
				  .wake_main = -1, .lock = PTHREAD_MUTEX_INITIALIZER };
	struct env *env = &app.env;
	/* SA_RESTART: a stop signal must not fail a write to a full pipe
	 * (EINTR) and lose the summary; epoll_wait still returns EINTR, and
	 * the loop sees `exiting` */
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	int64_t deadline = 0;
	int epfd = -1, ret = PW_EXIT_CANNOT_RUN, err;
	pthread_t worker;
	bool worker_started = false, more = false, out_ok = true;
	char why[256];

	/* a closed 0, 1 or 2 would be taken by the next fd we open (epoll,
	 * BPF maps), and events written into it: /dev/null holds the place;
	 * a closed stdout is then a write error like any other */
	bool stdout_closed = fcntl(STDOUT_FILENO, F_GETFD) < 0;

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			return PW_EXIT_CANNOT_RUN;
	}
	pw_parse_args(argc, argv, env, 0);
	if (pw_kretprobe_maxactive() < 0) {
		fprintf(stderr, "portwatch: PORTWATCH_KRETPROBE_MAXACTIVE='%s': a number from 1 to 4096\n",
			getenv("PORTWATCH_KRETPROBE_MAXACTIVE"));
		return PW_EXIT_USAGE;
	}
	unsigned long open_v, wl_cache;

	if (!test_knob("PORTWATCH_TEST_PROCS_OPEN", PW_PROCS_OPEN, &open_v) ||
	    !test_knob("PORTWATCH_TEST_WL_CACHE", WL_CACHE, &wl_cache))
		return PW_EXIT_USAGE;
	app.procs_open = open_v;
	if (pw_stash_ncpu() <= 0) {
		fprintf(stderr, "portwatch: PORTWATCH_TEST_NCPU='%s': a number from 1 to 8192\n",
			getenv("PORTWATCH_TEST_NCPU") ?: "");
		return PW_EXIT_USAGE;
	}
	if (stdout_closed && !env->quiet && !env->census) {
		fprintf(stderr, "portwatch: stdout is closed: nowhere to write events (-q writes none)\n");
		return PW_EXIT_CANNOT_RUN;
	}

	if (!pw_have_privileges()) {
		fprintf(stderr, "portwatch: needs root (or CAP_BPF and CAP_PERFMON): run with sudo\n");
		return PW_EXIT_CANNOT_RUN;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "portwatch: kernel has no BTF at /sys/kernel/btf/vmlinux "
			"(needs CONFIG_DEBUG_INFO_BTF=y)\n");
		return PW_EXIT_CANNOT_RUN;
	}
	pw_privs_probe(&app.privs, env->census, stderr);
	if (env->census)
		return run_census(env, &app.privs);
	libbpf_set_print(env->verbose ? libbpf_print_verbose : libbpf_print);
	snprintf(app.libbpf_version, sizeof(app.libbpf_version), "%u.%u",
		 libbpf_major_version(), libbpf_minor_version());
	pw_accounts_init(&app.acc, MAX_ROWS);
	app.acc.foreign_pids = !app.privs.pids_own;
	app.pending.limit_rows = PENDING_ROWS;

	/* a hangup (the terminal or a supervisor going away) stops like these */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* a closed stdout shows as EPIPE (and EPOLLERR), not as a signal */
	signal(SIGPIPE, SIG_IGN);

	if (env->cgroup) {
		env->cgroup_fd = pw_cgroup_open(env->cgroup, why, sizeof(why));
		if (env->cgroup_fd < 0) {
			fprintf(stderr, "portwatch: --cgroup=%s: %s\n", env->cgroup, why);
			return PW_EXIT_USAGE;
		}
	}
	/* without a cgroup2 hierarchy, workloads stay null: said once */
	app.wl = pw_workloads_new(env->pods_dir, wl_cache, WL_PER_SECOND);
	app.wl_worker = pw_workloads_new(env->pods_dir, wl_cache, WL_PER_SECOND);

	/* listen before attaching: a taken port leaves nothing attached */
	if (env->listen_set) {
		err = pw_http_start(&app.http, env->listen_host, env->listen_port, env->web_config,
				    render_metrics, &app, why, sizeof(why));
		if (err) {
			fprintf(stderr, "portwatch: %s\n", why);
			return err == -EINVAL ? PW_EXIT_USAGE : PW_EXIT_CANNOT_RUN;
		}
	}

	app.start = now_ns(CLOCK_MONOTONIC);
	err = pw_attach(env, &app.at);
	if (err) {
		if (err == -EPERM && pw_memlock_short(why, sizeof(why)))
			fprintf(stderr, "portwatch: %s\n", why);
		else if (env->mode == PW_REQ_AUTO)
			fprintf(stderr, "portwatch: nothing attachable: %s\n", app.at.why);
		else
			fprintf(stderr, "portwatch: %s (--mode=auto picks what this kernel allows)\n",
				app.at.why);
		goto cleanup;
	}
	/* a lower room than the kernel's initial one (tests): nothing could
	 * have been inserted past it yet but the keys made since the attach */
	__atomic_store_n(&app.at.skel->data->procs_allow, app.procs_open, __ATOMIC_RELEASE);
	/* libbpf's parses of the kernel BTF are freed: give the heap back */
	malloc_trim(0);
	fprintf(stderr, "portwatch: attached in %s mode in %.0f ms (%s)\n",
		pw_mode_name(app.at.mode), (now_ns(CLOCK_MONOTONIC) - app.start) / 1e6, app.at.why);
	if (env->scan_depth && app.at.mode == PW_MODE_TRACEPOINT)
		fprintf(stderr, "portwatch: --scan-depth: tracepoint mode cannot count ports; "
			"ports_checked stays null\n");
	pw_privs_print_net(&app.privs, stderr);
	if (!app.wl || !app.wl_worker)
		fprintf(stderr, "portwatch: no cgroup v2 hierarchy mounted: workload fields stay null\n");
	if (app.http)
		fprintf(stderr, "portwatch: metrics at http%s://%s%s%s:%u/metrics\n",
			pw_http_tls(app.http) ? "s" : "", strchr(env->listen_host, ':') ? "[" : "",
			env->listen_host[0] ? env->listen_host : "0.0.0.0",
			strchr(env->listen_host, ':') ? "]" : "", env->listen_port);
	guard_setup(&app.at);
	/* fail closed: never run on with capabilities it meant to drop */
	if (pw_privs_drop(&app.privs, app.at.nkrp > 0, bpf_map__fd(app.at.skel->maps.procs),
			  stderr))
		goto cleanup;

	app.pressure = pw_pressure_new(env->warn_at);
	app.diag_limit = pw_dest_limit_new(DIAG_LIMIT_SLOTS);
	if (!app.diag_limit) {
		pw_pressure_free(app.pressure);
		app.pressure = NULL;	/* no diagnosis without its rate limit */
	}
	if (!env->json && !env->quiet && !env->no_fold)
		app.fold = pw_fold_new(4096);
	app.mono_to_real = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
	app.rb = ring_buffer__new(bpf_map__fd(app.at.skel->maps.events), handle_event, &app, NULL);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	app.wake_worker = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	app.wake_main = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!app.rb || epfd < 0 || app.wake_worker < 0 || app.wake_main < 0 ||
	    epoll_add(epfd, ring_buffer__epoll_fd(app.rb), EPOLLIN) ||
	    epoll_add(epfd, app.wake_main, EPOLLIN) ||
	    (!env->json && !env->quiet && !env->no_fold && !app.fold)) {
		fprintf(stderr, "portwatch: cannot set up the event loop: %s\n", strerror(errno));
		goto cleanup;
	}
	/* a pipe or socket whose reader is gone reports EPOLLERR even when
	 * nothing is written (not every stdout can be watched: a file cannot) */
	epoll_add(epfd, STDOUT_FILENO, 0);

	/* stdout: fully buffered, flushed after each pass over the ring buffer */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!env->json && !env->quiet) {
		puts(pw_event_header());
		fflush(stdout);
	}

	app.start = now_ns(CLOCK_MONOTONIC);
	if (env->duration_s)
		deadline = app.start + (int64_t)env->duration_s * 1000000000;
	/* the worker starts with SIGINT, SIGTERM and SIGHUP blocked: they
	 * interrupt the consumer's epoll_wait, which checks `exiting` */
	sigset_t block, old;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	stuck_wake_fd = app.wake_main;
	pw_census_on_stuck(on_census_stuck);
	err = pthread_create(&worker, NULL, worker_main, &app);
	if (!err) {
		worker_thread = worker;
		worker_running = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		fprintf(stderr, "portwatch: cannot start the worker thread: %s\n", strerror(err));
		goto cleanup;
	}
	worker_started = true;

	ret = PW_EXIT_OK;
	while (!exiting) {
		int64_t now = now_ns(CLOCK_MONOTONIC), wait = POLL_MS * 1000000LL;
		struct epoll_event out[4];
		int n, got;

		if (app.fold && pw_fold_next_due(app.fold)) {
			int64_t due = pw_fold_next_due(app.fold) - now;

			if (due < wait)
				wait = due;
		}
		if (deadline && deadline - now < wait)
			wait = deadline - now;
		if (wait < 0 || more)
			wait = 0;
		n = epoll_wait(epfd, out, 4, (int)((wait + 999999) / 1000000));
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "portwatch: epoll_wait: %s\n", strerror(errno));
			ret = PW_EXIT_CANNOT_RUN;
			break;
		}
		for (int i = 0; i < n; i++) {
			if (out[i].data.fd == STDOUT_FILENO)
				app.out_closed = true;
			else if (out[i].data.fd == app.wake_main)
				unwake(app.wake_main);
		}
		got = consume(&app);
		if (got < 0) {
			fprintf(stderr, "portwatch: reading events: %s\n", strerror(-got));
			ret = PW_EXIT_CANNOT_RUN;
			break;
		}
		more = got > 0;
		drain_output(&app);
		now = now_ns(CLOCK_MONOTONIC);
		if (app.fold)
			pw_fold_flush(app.fold, now, false, stdout);
		if (!(out_ok = out_flush(&app, &ret)))
			break;
		if (deadline && now >= deadline)
			break;
	}

	if (census_stuck)
		ret = PW_EXIT_CANNOT_RUN;	/* said by census.c */
	/* detach first so the drain and the counts below are final; a program
	 * preempted mid-run (after counting, before its event) may still be
	 * inside: an RCU grace period waits it out */
	portwatch_bpf__detach(app.at.skel);
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	pthread_mutex_lock(&app.lock);
	app.stop_worker = true;
	pthread_mutex_unlock(&app.lock);
	wake(app.wake_worker);
	if (!census_stuck)
		pthread_join(worker, NULL);
	worker_started = false;
	/* from here on the accounts, pressure and http are the consumer's */
	if (out_ok) {
		while ((err = consume(&app)) > 0)
			;
		if (app.pressure && !census_stuck)
			take_requests(&app);
		drain_output(&app);
		if (app.fold)
			pw_fold_flush(app.fold, 0, true, stdout);
		out_ok = out_flush(&app, &ret);
	}
	if (out_ok) {
		/* the summary stays the last JSON line; in text, remedies follow it */
		if (env->json && app.pressure)
			pw_pressure_remedies(app.pressure, stdout, true, app.bound_conflicts);
		print_table(&app, "summary", stdout);
		if (!env->json && app.pressure)
			pw_pressure_remedies(app.pressure, stdout, false, app.bound_conflicts);
		out_flush(&app, &ret);
	} else {
		sync_accounts(&app, false);	/* the final counts, for nobody but metrics */
	}
	if (app.diag_dropped || app.diag_skipped)
		fprintf(stderr, "portwatch: %llu diagnoses not taken (%llu: too many at once, "
			"%llu: too many destinations within %llu s)\n",
			(unsigned long long)(app.diag_dropped + app.diag_skipped),
			(unsigned long long)app.diag_dropped, (unsigned long long)app.diag_skipped,
			PW_DIAG_EVERY_NS / 1000000000);
	if (pw_client_elf_refused())
		fprintf(stderr, "portwatch: client detection: %llu executables not read (past the "
			"bounds on their ELF headers and sections): their processes reported as "
			"unknown client\n", (unsigned long long)pw_client_elf_refused());
	if (app.wl) {
		struct pw_workloads_stats st;

		pw_workloads_stats(app.wl, &st);
		if (st.over_budget || st.restarts)
			fprintf(stderr, "portwatch: workloads: %llu events without theirs (over %d new "
				"cgroups a second), cache restarted %llu times (%lu cgroups)\n",
				(unsigned long long)st.over_budget, WL_PER_SECOND,
				(unsigned long long)st.restarts, wl_cache);
	}
	if (app.pending_err)
		fprintf(stderr, "portwatch: counting failures from their events: %s: some are "
			"missing from the per-process counts\n", strerror(-app.pending_err));
	if (app.out_dropped)
		fprintf(stderr, "portwatch: %llu diagnosis, warning or table outputs dropped "
			"(stdout too slow)\n", (unsigned long long)app.out_dropped);

cleanup:
	if (worker_started) {
		pthread_mutex_lock(&app.lock);
		app.stop_worker = true;
		pthread_mutex_unlock(&app.lock);
		wake(app.wake_worker);
		pthread_join(worker, NULL);
	}
	if (epfd >= 0)
		close(epfd);
	if (app.wake_worker >= 0)
		close(app.wake_worker);
	if (app.wake_main >= 0)
		close(app.wake_main);
	if (!census_stuck) {
		/* else the stuck worker may be inside them: the exit frees all */
		pw_http_stop(app.http);
		pw_pressure_free(app.pressure);
	}
	pw_dest_limit_free(app.diag_limit);
	pw_fold_free(app.fold);
	ring_buffer__free(app.rb);
	pw_detach(&app.at);
	pw_accounts_free(&app.acc);
	pw_metrics_memory_free(&app.metrics_mem);
	pw_accounts_free(&app.pending);
	pw_workloads_free(app.wl);
	pw_workloads_free(app.wl_worker);
	if (env->cgroup_fd > 0)
		close(env->cgroup_fd);
	while (app.out_head) {
		struct out_msg *m = app.out_head;

		app.out_head = m->next;
		free(m);
	}
	pw_privs_free(&app.privs);
	return ret;
}
