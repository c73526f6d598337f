// SPDX-License-Identifier: GPL-2.0
/* portwatch: parse -> attach (open, configure, load) -> loop -> drain ->
 * summary -> cleanup. One thread, one epoll loop. */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "cli.h"
#include "output.h"
#include "procs.h"
#include "portwatch.skel.h"

#define POLL_MS 100	/* bound on how late an event is shown (no wakeups) */

static volatile sig_atomic_t exiting;

struct ctx {
	const struct env *env;
	int64_t mono_to_real;
	uint64_t events;
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
	struct ctx *c = arg;
	const struct pw_event *e = data;
	char buf[1024];
	struct sbuf sb;

	if (size < sizeof(*e))
		return 0;
	c->events++;
	if (c->env->quiet)
		return 0;
	sb_init(&sb, buf, sizeof(buf));
	if (c->env->json)
		pw_event_json(&sb, e, c->mono_to_real);
	else
		pw_event_text(&sb, e, c->mono_to_real);
	fputs(buf, stdout);
	fputc('\n', stdout);
	return 0;
}

static uint64_t read_counter(struct portwatch_bpf *skel, __u32 idx)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t sum = 0;

	if (ncpu <= 0)
		return 0;
	uint64_t vals[ncpu];

	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &idx, vals))
		return 0;
	for (int i = 0; i < ncpu; i++)
		sum += vals[i];
	return sum;
}

/* The per-process table: text under a time stamp, or one JSON object of
 * `type` ("interval" or "summary"). */
static void print_table(struct portwatch_bpf *skel, const struct env *env, int mode,
			const char *type, double duration_s)
{
	struct pw_procs procs = {};
	uint64_t lost = read_counter(skel, PW_CNT_EVENTS_LOST);
	uint64_t full = read_counter(skel, PW_CNT_STATS_FULL);
	uint64_t stash_full = read_counter(skel, PW_CNT_STASH_FULL);
	int err;

	err = pw_procs_read(bpf_map__fd(skel->maps.procs), &procs);
	if (err)
		fprintf(stderr, "portwatch: reading per-process counters: %s\n", strerror(-err));
	pw_procs_sort(&procs);

	if (env->json) {
		char buf[1024];
		struct sbuf sb;

		printf("{\"type\":\"%s\",\"mode\":\"%s\",\"duration_s\":%.3f,\"events_lost\":%llu,"
		       "\"counts_dropped\":%llu,\"untraced\":%llu,\"processes\":[",
		       type, pw_mode_name(mode), duration_s, (unsigned long long)lost,
		       (unsigned long long)full, (unsigned long long)stash_full);
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
		       t, type, duration_s, pw_mode_name(mode));
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
	pw_procs_free(&procs);
}

/* The tracer's own netns: what a user compares the events with. */
static void print_netns_info(void)
{
	char range[64] = "?", reuse[16] = "?";
	struct stat st;
	FILE *f;

	f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f) {
		unsigned int lo, hi;

		if (fscanf(f, "%u %u", &lo, &hi) == 2)
			snprintf(range, sizeof(range), "%u-%u", lo, hi);
		fclose(f);
	}
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

int main(int argc, char **argv)
{
	struct env env = { .mode = PW_REQ_AUTO };
	struct pw_attach at = {};
	struct ring_buffer *rb = NULL;
	struct ctx c = { .env = &env };
	struct sigaction sa = { .sa_handler = on_signal };
	struct epoll_event ev = { .events = EPOLLIN };
	int64_t start, next_table = 0, deadline = 0;
	int epfd = -1, ret = PW_EXIT_CANNOT_RUN, err;

	pw_parse_args(argc, argv, &env, 0);

	if (env.listen_set) {
		fprintf(stderr, "portwatch: --listen: the metrics endpoint is not built yet\n");
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
	libbpf_set_print(env.verbose ? libbpf_print_verbose : libbpf_print);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	start = now_ns(CLOCK_MONOTONIC);
	err = pw_attach(&env, &at);
	if (err) {
		if (env.mode == PW_REQ_AUTO)
			fprintf(stderr, "portwatch: nothing attachable: %s\n", at.why);
		else
			fprintf(stderr, "portwatch: %s (--mode=auto picks what this kernel allows)\n",
				at.why);
		return PW_EXIT_CANNOT_RUN;
	}
	fprintf(stderr, "portwatch: attached in %s mode in %.0f ms (%s)\n", pw_mode_name(at.mode),
		(now_ns(CLOCK_MONOTONIC) - start) / 1e6, at.why);
	if (env.scan_depth && at.mode == PW_MODE_TRACEPOINT)
		fprintf(stderr, "portwatch: --scan-depth: tracepoint mode cannot count ports; "
			"ports_checked stays null\n");
	print_netns_info();

	c.mono_to_real = now_ns(CLOCK_REALTIME) - now_ns(CLOCK_MONOTONIC);
	rb = ring_buffer__new(bpf_map__fd(at.skel->maps.events), handle_event, &c, NULL);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (!rb || epfd < 0 ||
	    epoll_ctl(epfd, EPOLL_CTL_ADD, ring_buffer__epoll_fd(rb), &ev)) {
		fprintf(stderr, "portwatch: cannot set up the event loop: %s\n", strerror(errno));
		goto cleanup;
	}

	/* stdout: line-buffered on a terminal, fully buffered into a pipe or
	 * file, flushed after each batch of events */
	if (isatty(STDOUT_FILENO))
		setvbuf(stdout, NULL, _IOLBF, 0);
	if (!env.json && !env.quiet) {
		puts(pw_event_header());
		fflush(stdout);
	}

	start = now_ns(CLOCK_MONOTONIC);
	if (env.interval_s)
		next_table = start + (int64_t)env.interval_s * 1000000000;
	if (env.duration_s)
		deadline = start + (int64_t)env.duration_s * 1000000000;

	while (!exiting) {
		int64_t now = now_ns(CLOCK_MONOTONIC), wait = POLL_MS * 1000000LL;
		struct epoll_event out;

		if (next_table && next_table - now < wait)
			wait = next_table - now;
		if (deadline && deadline - now < wait)
			wait = deadline - now;
		if (wait < 0)
			wait = 0;
		if (epoll_wait(epfd, &out, 1, (int)((wait + 999999) / 1000000)) < 0 && errno != EINTR) {
			fprintf(stderr, "portwatch: epoll_wait: %s\n", strerror(errno));
			break;
		}
		err = ring_buffer__consume(rb);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "portwatch: reading events: %s\n", strerror(-err));
			break;
		}
		fflush(stdout);
		now = now_ns(CLOCK_MONOTONIC);
		if (deadline && now >= deadline)
			break;
		if (next_table && now >= next_table) {
			print_table(at.skel, &env, at.mode, "interval", (now - start) / 1e9);
			next_table += (int64_t)env.interval_s * 1000000000;
		}
	}

	/* detach first so the drain and the counts below are final */
	portwatch_bpf__detach(at.skel);
	ring_buffer__consume(rb);
	fflush(stdout);
	print_table(at.skel, &env, at.mode, "summary", (now_ns(CLOCK_MONOTONIC) - start) / 1e9);
	ret = PW_EXIT_OK;

cleanup:
	if (epfd >= 0)
		close(epfd);
	ring_buffer__free(rb);
	pw_detach(&at);
	return ret;
}
