// SPDX-License-Identifier: GPL-2.0
/* portwatch: parse -> listen -> attach (open, configure, load) -> loop ->
 * detach -> drain -> summary -> cleanup. One thread, one epoll loop. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "accounts.h"
#include "attach.h"
#include "cli.h"
#include "http.h"
#include "memlock.h"
#include "metrics.h"
#include "output.h"
#include "pressure.h"
#include "procs.h"
#include "portwatch.skel.h"

#define POLL_MS		100	/* bound on how late an event is shown (no wakeups) */
#define SYNC_NS		1000000000LL	/* fold exited processes' kernel entries */
#define MAX_ROWS	65536	/* userspace (process, errno, family) rows kept */
#define SCAN_NS		10000000000LL	/* periodic census without --interval */

static volatile sig_atomic_t exiting;

struct app {
	struct env env;
	struct pw_attach at;
	struct pw_accounts acc;
	struct ring_buffer *rb;
	struct pw_http *http;
	struct pw_pressure *pressure;
	uint32_t bound_conflicts;	/* seen in events, for the remedies */
	bool curl_failed;
	int64_t mono_to_real;
	int64_t start;
	char libbpf_version[16];
};

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

static int handle_event(void *arg, void *data, size_t size)
{
	struct app *app = arg;
	const struct pw_event *e = data;
	char buf[1024];
	struct sbuf sb;

	const struct pw_census_ns *ns = NULL;
	const struct pw_census_dest *d = NULL;
	bool diag = false;

	if (size < sizeof(*e))
		return 0;
	if (e->cause == PW_CAUSE_BOUND_CONFLICT)
		app->bound_conflicts++;
	if (e->ret && !strncmp(e->comm, "curl", PW_COMM_LEN))
		app->curl_failed = true;
	if (app->env.quiet)
		return 0;
	/* the first failure to a destination (then every 5 s) says why */
	if (e->ret == -EADDRNOTAVAIL && app->pressure)
		diag = pw_pressure_diagnose(app->pressure, e, now_ns(CLOCK_MONOTONIC), &ns, &d);
	sb_init(&sb, buf, sizeof(buf));
	if (app->env.json) {
		pw_event_json_open(&sb, e, app->mono_to_real);
		if (diag) {
			sb_printf(&sb, ",\"pressure\":");
			pw_census_diag_sb(&sb, ns, d);
		}
		sb_printf(&sb, "}");
	} else {
		pw_event_text(&sb, e, app->mono_to_real);
		if (diag) {
			char line[512];

			pw_census_diag_line(line, sizeof(line), ns, d);
			sb_printf(&sb, "\n  -> %s", line);
		}
	}
	fputs(buf, stdout);
	fputc('\n', stdout);
	return 0;
}

/* Sum over CPUs of `n` consecutive slots of a per-CPU array from `first`. */
static int read_percpu(const struct bpf_map *map, __u32 first, __u32 n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus();

	if (ncpu <= 0)
		return -EINVAL;
	uint64_t vals[ncpu];

	for (__u32 i = 0; i < n; i++) {
		__u32 key = first + i;

		out[i] = 0;
		if (bpf_map_lookup_elem(bpf_map__fd(map), &key, vals))
			return -errno;
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

static void sync_accounts(struct app *app, bool retire)
{
	int err = pw_accounts_sync(&app->acc, bpf_map__fd(app->at.skel->maps.procs),
				   now_ns(CLOCK_MONOTONIC), retire);

	if (err)
		fprintf(stderr, "portwatch: reading per-process counters: %s\n", strerror(-err));
}

/* The per-process table: text under a time stamp, or one JSON object of
 * `type` ("interval" or "summary"). */
static void print_table(struct app *app, const char *type)
{
	const struct env *env = &app->env;
	const char *mode = pw_mode_name(app->at.mode);
	double duration_s = (now_ns(CLOCK_MONOTONIC) - app->start) / 1e9;
	struct pw_procs procs = {};
	uint64_t lost = read_counter(app, PW_CNT_EVENTS_LOST);
	uint64_t full = read_counter(app, PW_CNT_STATS_FULL);
	uint64_t stash_full = read_counter(app, PW_CNT_STASH_FULL);
	struct pw_krp_misses krp;
	char krp_json[24] = "null";

	pw_kretprobe_misses(&app->at, &krp);
	if (krp.total >= 0)
		snprintf(krp_json, sizeof(krp_json), "%lld", krp.total);
	sync_accounts(app, false);
	if (pw_accounts_procs(&app->acc, &procs))
		fprintf(stderr, "portwatch: out of memory for the per-process table\n");
	pw_procs_sort(&procs);

	if (env->json) {
		char buf[1024];
		struct sbuf sb;

		printf("{\"type\":\"%s\",\"mode\":\"%s\",\"duration_s\":%.3f,\"events_lost\":%llu,"
		       "\"counts_dropped\":%llu,\"untraced\":%llu,\"kretprobe_misses\":%s,\"processes\":[",
		       type, mode, duration_s, (unsigned long long)lost,
		       (unsigned long long)full, (unsigned long long)stash_full, krp_json);
		for (size_t i = 0; i < procs.n; i++) {
			sb_init(&sb, buf, sizeof(buf));
			pw_proc_json(&sb, &procs.v[i]);
			printf("%s%s", i ? "," : "", buf);
		}
		printf("]}\n");
	} else {
		char t[32];
		time_t now = time(NULL);
		struct tm tm;

		localtime_r(&now, &tm);
		strftime(t, sizeof(t), "%H:%M:%S", &tm);
		printf("\n%s per-process connect() outcomes (%s, %.1f s, mode %s):\n",
		       t, type, duration_s, mode);
		if (procs.n)
			pw_procs_text(stdout, &procs);
		else
			printf("(no connect() seen)\n");
	}
	fflush(stdout);
	if (lost)
		fprintf(stderr, "portwatch: %llu events lost (ring buffer full); counts above are exact\n",
			(unsigned long long)lost);
	if (full)
		fprintf(stderr, "portwatch: %llu outcomes not counted: per-process map full\n",
			(unsigned long long)full);
	if (stash_full)
		fprintf(stderr, "portwatch: %llu connects not traced: per-thread state map full\n",
			(unsigned long long)stash_full);
	if (krp.total > 0)
		fprintf(stderr, "portwatch: %lld kretprobe misses (%s): %lld connect() outcomes not "
			"counted; maxactive %d is too low for this load\n", krp.total, krp.detail,
			krp.outcomes, app->at.maxactive);
	pw_procs_free(&procs);
}

static int read_range(unsigned int *lo, unsigned int *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	int n;

	if (!f)
		return -errno;
	n = fscanf(f, "%u %u", lo, hi);
	fclose(f);
	return n == 2 ? 0 : -EINVAL;
}

/* The tracer's own netns: what a user compares the events with. */
static void print_netns_info(void)
{
	char range[64] = "?", reuse[16] = "?";
	unsigned int lo, hi;
	struct stat st;
	FILE *f;

	if (!read_range(&lo, &hi))
		snprintf(range, sizeof(range), "%u-%u", lo, hi);
	f = fopen("/proc/sys/net/ipv4/tcp_tw_reuse", "r");
	if (f) {
		if (!fgets(reuse, sizeof(reuse), f))
			strcpy(reuse, "?");
		reuse[strcspn(reuse, "\n")] = '\0';
		fclose(f);
	}
	fprintf(stderr, "portwatch: netns %llu: ip_local_port_range %s, tcp_tw_reuse %s\n",
		stat("/proc/self/ns/net", &st) ? 0ULL : (unsigned long long)st.st_ino, range, reuse);
}

static int render_metrics(void *arg, char **buf, size_t *len)
{
	struct app *app = arg;
	struct portwatch_bpf *skel = app->at.skel;
	struct pw_metrics_input in = {
		.acc = &app->acc,
		.now_ns = now_ns(CLOCK_MONOTONIC),
		.max_pids = app->env.max_pids,
		.scan_depth = app->env.scan_depth && app->at.mode != PW_MODE_TRACEPOINT,
		.events_lost = read_counter(app, PW_CNT_EVENTS_LOST),
		.counts_dropped = read_counter(app, PW_CNT_STATS_FULL),
		.untraced = read_counter(app, PW_CNT_STASH_FULL),
		.ports_sum = read_counter(app, PW_CNT_PORTS_CHECKED),
		.range_size = -1,
		.version = PORTWATCH_VERSION,
		.libbpf_version = app->libbpf_version,
		.mode = pw_mode_name(app->at.mode),
	};
	unsigned int lo, hi;
	FILE *f;

	if (app->pressure)
		in.ntop = pw_pressure_top(app->pressure, &in.top);
	sync_accounts(app, false);
	read_percpu(skel->maps.scan_hist, 0, PW_HIST_SLOTS * PW_SCAN_RESULTS, &in.scan_hist[0][0]);
	if (in.scan_depth)
		read_percpu(skel->maps.ports_hist, 0, PW_HIST_SLOTS, in.ports_hist);
	if (!read_range(&lo, &hi) && hi >= lo)
		in.range_size = hi - lo + 1;

	f = open_memstream(buf, len);
	if (!f)
		return -errno;
	pw_metrics_render(f, &in);
	if (fclose(f))
		return -errno;
	return 0;
}

/* --census: one shot, no BPF. Exit code as main's. */
static int run_census(const struct env *env)
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
				pw_print_remedies(stdout, env->json, &ns, &ns.dests[0], 0, false);
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
	return ret;
}

static int epoll_add(int epfd, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = fd };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int main(int argc, char **argv)
{
	static struct app app = { .env = { .mode = PW_REQ_AUTO } };
	struct env *env = &app.env;
	struct sigaction sa = { .sa_handler = on_signal };
	int64_t next_table = 0, next_sync, next_scan, deadline = 0;
	int epfd = -1, ret = PW_EXIT_CANNOT_RUN, err;
	char why[256];

	pw_parse_args(argc, argv, env, 0);

	if (!pw_have_privileges()) {
		fprintf(stderr, "portwatch: needs root (or CAP_BPF and CAP_PERFMON): run with sudo\n");
		return PW_EXIT_CANNOT_RUN;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "portwatch: kernel has no BTF at /sys/kernel/btf/vmlinux "
			"(needs CONFIG_DEBUG_INFO_BTF=y)\n");
		return PW_EXIT_CANNOT_RUN;
	}
	if (env->census)
		return run_census(env);
	libbpf_set_print(env->verbose ? libbpf_print_verbose : libbpf_print);
	snprintf(app.libbpf_version, sizeof(app.libbpf_version), "%u.%u",
		 libbpf_major_version(), libbpf_minor_version());
	pw_accounts_init(&app.acc, MAX_ROWS);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* listen before attaching: a taken port leaves nothing attached */
	if (env->listen_set) {
		err = pw_http_start(&app.http, env->listen_host, env->listen_port,
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
	/* libbpf's parses of the kernel BTF are freed: give the heap back */
	malloc_trim(0);
	fprintf(stderr, "portwatch: attached in %s mode in %.0f ms (%s)\n",
		pw_mode_name(app.at.mode), (now_ns(CLOCK_MONOTONIC) - app.start) / 1e6, app.at.why);
	if (env->scan_depth && app.at.mode == PW_MODE_TRACEPOINT)
		fprintf(stderr, "portwatch: --scan-depth: tracepoint mode cannot count ports; "
			"ports_checked stays null\n");
	print_netns_info();
	if (app.http)
		fprintf(stderr, "portwatch: metrics at http://%s%s%s:%u/metrics\n",
			strchr(env->listen_host, ':') ? "[" : "",
			env->listen_host[0] ? env->listen_host : "0.0.0.0",
			strchr(env->listen_host, ':') ? "]" : "", env->listen_port);

	app.pressure = pw_pressure_new(env->warn_at);
	app.mono_to_real = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
	app.rb = ring_buffer__new(bpf_map__fd(app.at.skel->maps.events), handle_event, &app, NULL);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!app.rb || epfd < 0 || epoll_add(epfd, ring_buffer__epoll_fd(app.rb)) ||
	    (app.http && epoll_add(epfd, pw_http_fd(app.http)))) {
		fprintf(stderr, "portwatch: cannot set up the event loop: %s\n", strerror(errno));
		goto cleanup;
	}

	/* stdout: line-buffered on a terminal, fully buffered into a pipe or
	 * file, flushed after each batch of events */
	if (isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (!env->json && !env->quiet) {
		puts(pw_event_header());
		fflush(stdout);
	}

	app.start = now_ns(CLOCK_MONOTONIC);
	next_sync = app.start + SYNC_NS;
	next_scan = app.start + (env->interval_s ? (int64_t)env->interval_s * 1000000000 : SCAN_NS);
	if (env->interval_s)
		next_table = app.start + (int64_t)env->interval_s * 1000000000;
	if (env->duration_s)
		deadline = app.start + (int64_t)env->duration_s * 1000000000;

	while (!exiting) {
		int64_t now = now_ns(CLOCK_MONOTONIC), wait = POLL_MS * 1000000LL;
		struct epoll_event out[4];

		if (next_table && next_table - now < wait)
			wait = next_table - now;
		if (deadline && deadline - now < wait)
			wait = deadline - now;
		if (wait < 0)
			wait = 0;
		if (epoll_wait(epfd, out, 4, (int)((wait + 999999) / 1000000)) < 0 && errno != EINTR) {
			fprintf(stderr, "portwatch: epoll_wait: %s\n", strerror(errno));
			break;
		}
		err = ring_buffer__consume(app.rb);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "portwatch: reading events: %s\n", strerror(-err));
			break;
		}
		fflush(stdout);
		if (app.http)
			pw_http_run(app.http);
		now = now_ns(CLOCK_MONOTONIC);
		if (deadline && now >= deadline)
			break;
		if (now >= next_sync) {
			sync_accounts(&app, true);
			next_sync = now + SYNC_NS;
		}
		if (now >= next_scan && app.pressure) {
			pw_pressure_scan(app.pressure, now, stdout, env->json);
			next_scan = now + (env->interval_s ? (int64_t)env->interval_s * 1000000000 : SCAN_NS);
		}
		if (next_table && now >= next_table) {
			print_table(&app, "interval");
			next_table += (int64_t)env->interval_s * 1000000000;
		}
	}

	/* detach first so the drain and the counts below are final; a program
	 * preempted mid-run (after counting, before its event) may still be
	 * inside: an RCU grace period waits it out */
	portwatch_bpf__detach(app.at.skel);
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	ring_buffer__consume(app.rb);
	fflush(stdout);
	/* the summary stays the last JSON line; in text, remedies follow it */
	if (env->json && app.pressure)
		pw_pressure_remedies(app.pressure, stdout, true, app.bound_conflicts, app.curl_failed);
	print_table(&app, "summary");
	if (!env->json && app.pressure)
		pw_pressure_remedies(app.pressure, stdout, false, app.bound_conflicts, app.curl_failed);
	fflush(stdout);
	ret = PW_EXIT_OK;

cleanup:
	if (epfd >= 0)
		close(epfd);
	pw_http_stop(app.http);
	pw_pressure_free(app.pressure);
	ring_buffer__free(app.rb);
	pw_detach(&app.at);
	pw_accounts_free(&app.acc);
	return ret;
}
