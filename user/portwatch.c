// SPDX-License-Identifier: GPL-2.0
/* portwatch: parse -> set up -> attach -> run -> stop -> summary -> cleanup.
 *
 * Two threads, so that a failure storm is written as fast as it comes: the
 * consumer (this thread, consumer.c) drains the ring buffer and writes
 * events and nothing slow; the worker (worker.c) does the censuses, the
 * syncs of the kernel's maps (kmaps.c), the tables (report.c) and /metrics.
 * All they share is the mailbox (mailbox.c). Configuration (struct env,
 * struct pw_knobs) is parsed once and read-only after; the runtime objects
 * are in struct ctx. */
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "caps.h"
#include "census_once.h"
#include "cli.h"
#include "client.h"
#include "consumer.h"
#include "fifo_guard.h"
#include "http.h"
#include "kmaps.h"
#include "knobs.h"
#include "mailbox.h"
#include "memlock.h"
#include "advice.h"
#include "portholder.h"
#include "pressure.h"
#include "procs.h"
#include "report.h"
#include "top.h"
#include "worker.h"
#include "workload.h"
#include "util.h"
#include "portwatch.skel.h"

#define MAX_ROWS	65536	/* userspace (process, errno, family) rows kept */

struct ctx {
	struct pw_privs privs;
	struct pw_attach at;
	struct pw_kmaps km;
	struct pw_mailbox *mb;
	struct pw_workloads *wl;	/* the consumer's: events */
	struct pw_workloads *wl_worker;	/* the worker's, then the summary's */
	struct pw_consumer consumer;
	struct pw_worker worker;
	int64_t start;			/* CLOCK_MONOTONIC */
	double attach_ms;		/* what the attach took, for its line */
	int cgroup_fd;			/* --cgroup's directory, opened by set_up; 0 = none */
};


static void on_signal(int sig)
{
	(void)sig;
	pw_request_stop();
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

/* Everything that can refuse to run before anything is made: 0 to go on,
 * else the exit code (said on stderr). */
static int check(int argc, char **argv, struct env *env, struct pw_knobs *knobs)
{
	/* a closed 0, 1 or 2 would be taken by the next fd we open (epoll,
	 * BPF maps), and events written into it: /dev/null holds the place;
	 * a closed stdout is then a write error like any other */
	bool stdout_closed = fcntl(STDOUT_FILENO, F_GETFD) < 0;
	int ret;

	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			return PW_EXIT_CANNOT_RUN;
	}
	pw_parse_args(argc, argv, env, 0);
	if ((ret = pw_knobs_read(knobs)) || (ret = pw_top_check(env)))
		return ret;
	if (stdout_closed && !env->quiet && !env->census) {
		fprintf(stderr, "portwatch: stdout is closed: nowhere to write events "
			"(-q writes no event lines)\n");
		return PW_EXIT_CANNOT_RUN;
	}
	if (!pw_privs_can_load()) {
		fprintf(stderr, "portwatch: needs root (or CAP_BPF and CAP_PERFMON): run with sudo\n");
		return PW_EXIT_CANNOT_RUN;
	}
	if (access("/sys/kernel/btf/vmlinux", R_OK)) {
		fprintf(stderr, "portwatch: kernel has no BTF at /sys/kernel/btf/vmlinux "
			"(needs CONFIG_DEBUG_INFO_BTF=y)\n");
		return PW_EXIT_CANNOT_RUN;
	}
	return 0;
}

/* Signals, --cgroup, the workload resolvers, the mailbox and, before
 * anything is attached (a taken port leaves nothing attached), /metrics. */
static int set_up(struct ctx *ctx, struct env *env, const struct pw_knobs *knobs)
{
	/* SA_RESTART: a stop signal must not fail a write to a full pipe
	 * (EINTR) and lose the summary; epoll_wait still returns EINTR, and
	 * the loop sees the stop */
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESTART };
	char why[256];
	int err;

	libbpf_set_print(env->verbose ? libbpf_print_verbose : libbpf_print);
	pw_kmaps_init(&ctx->km, MAX_ROWS, !ctx->privs.pids_own);
	/* a hangup (the terminal or a supervisor going away) stops like these */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* a closed stdout shows as EPIPE (and EPOLLERR), not as a signal */
	signal(SIGPIPE, SIG_IGN);
	if (env->cgroup) {
		ctx->cgroup_fd = pw_cgroup_open(env->cgroup, why, sizeof(why));
		if (ctx->cgroup_fd < 0) {
			fprintf(stderr, "portwatch: --cgroup=%s: %s\n", env->cgroup, why);
			return PW_EXIT_USAGE;
		}
	}
	/* without a cgroup2 hierarchy, workloads stay null: said once */
	ctx->wl = pw_workloads_new(env->pods_dir, knobs->wl_cache, PW_WL_PER_SECOND);
	ctx->wl_worker = pw_workloads_new(env->pods_dir, knobs->wl_cache, PW_WL_PER_SECOND);
	ctx->worker.env = env;
	if (!(ctx->mb = pw_mailbox_new())) {
		fprintf(stderr, "portwatch: cannot set up the event loop: %s\n", strerror(errno));
		return PW_EXIT_CANNOT_RUN;
	}
	if (!env->listen_set)
		return 0;
	err = pw_http_start(&ctx->worker.http, env->listen_host, env->listen_port, env->web_config,
			    pw_worker_render_metrics, &ctx->worker, why, sizeof(why));
	if (err)
		fprintf(stderr, "portwatch: %s\n", why);
	return !err ? 0 : err == -EINVAL ? PW_EXIT_USAGE : PW_EXIT_CANNOT_RUN;
}

/* What the attach found, said at once (the "attached in" line is said
 * last: say_attached). */
static void say_setup(struct ctx *ctx, const struct env *env)
{
	const struct pw_http *http = ctx->worker.http;

	if (env->scan_depth && ctx->at.mode == PW_MODE_TRACEPOINT)
		fprintf(stderr, "portwatch: --scan-depth: tracepoint mode cannot count ports; "
			"ports_checked stays null\n");
	pw_privs_print_net(&ctx->privs, stderr);
	if (!ctx->wl || !ctx->wl_worker)
		fprintf(stderr, "portwatch: no cgroup v2 hierarchy mounted: workload fields stay null\n");
	if (http)
		fprintf(stderr, "portwatch: metrics at http%s://%s%s%s:%u/metrics\n",
			pw_http_tls(http) ? "s" : "", strchr(env->listen_host, ':') ? "[" : "",
			env->listen_host[0] ? env->listen_host : "0.0.0.0",
			strchr(env->listen_host, ':') ? "]" : "", env->listen_port);
}

/* The last line of the start: every other startup line (stderr) and the
 * text header (stdout, flushed) are written before it, so whoever waits
 * for it finds them all. */
static void say_attached(const struct ctx *ctx)
{
	fprintf(stderr, "portwatch: attached in %s mode in %.0f ms (%s)\n",
		pw_mode_name(ctx->at.mode), ctx->attach_ms, ctx->at.why);
}

/* Open, configure, load, attach; then drop the capabilities. */
static int attach(struct ctx *ctx, const struct env *env, const struct pw_knobs *knobs)
{
	char why[256];
	int err;

	ctx->start = pw_clock_ns(CLOCK_MONOTONIC);
	err = pw_attach(env, ctx->cgroup_fd, &ctx->at);
	if (err) {
		if (err == -EPERM && pw_memlock_short(why, sizeof(why)))
			fprintf(stderr, "portwatch: %s\n", why);
		else if (env->mode == PW_REQ_AUTO)
			fprintf(stderr, "portwatch: nothing attachable: %s\n", ctx->at.why);
		else
			fprintf(stderr, "portwatch: %s (--mode=auto picks what this kernel allows)\n",
				ctx->at.why);
		return PW_EXIT_CANNOT_RUN;
	}
	pw_kmaps_bind(&ctx->km, ctx->at.skel, ctx->mb, knobs->procs_open);
	/* libbpf's parses of the kernel BTF are freed: give the heap back */
	malloc_trim(0);
	ctx->attach_ms = (pw_clock_ns(CLOCK_MONOTONIC) - ctx->start) / 1e6;
	say_setup(ctx, env);
	pw_fifo_guard_setup(&ctx->at, knobs->no_fifo_guard);
	/* fail closed: never run on with capabilities it meant to drop */
	if (pw_privs_drop(&ctx->privs, ctx->at.nkrp > 0, bpf_map__fd(ctx->at.skel->maps.procs),
			  stderr))
		return PW_EXIT_CANNOT_RUN;
	return 0;
}

/* The consumer's loop set up, the header written, the worker started. */
static int start(struct ctx *ctx, const struct env *env)
{
	struct pw_consumer *c = &ctx->consumer;
	struct pw_worker *w = &ctx->worker;
	int err;

	w->pressure = pw_pressure_new(env->warn_at);
	err = pw_consumer_init(c, env, ctx->mb, ctx->wl, stdout);
	if (w->pressure && !pw_consumer_enable_diagnosis(c)) {
		pw_pressure_free(w->pressure);
		w->pressure = NULL;	/* no diagnosis without its rate limit */
	}
	/* --listen: the periodic census also counts sockets per workload */
	if (w->pressure && env->listen_set && !pw_pressure_enable_sockets(w->pressure, env->pods_dir))
		fprintf(stderr, "portwatch: out of memory: no portwatch_workload_sockets\n");
	if (env->quiet && !env->top)	/* -q's sampled failures, refused asks retried */
		c->sampled_fd = bpf_map__fd(ctx->at.skel->maps.sampled);
	if (err || (err = pw_consumer_listen(c, bpf_map__fd(ctx->at.skel->maps.events)))) {
		fprintf(stderr, "portwatch: cannot set up the event loop: %s\n", strerror(-err));
		return PW_EXIT_CANNOT_RUN;
	}
	/* stdout: fully buffered, flushed after each pass over the ring buffer */
	setvbuf(stdout, NULL, _IOFBF, 1 << 16);
	if (!env->json)
		pw_text_fit_tty(STDOUT_FILENO);	/* a narrow terminal: no line wraps */
	if (!env->json && !env->quiet) {
		puts(pw_event_header());
		fflush(stdout);
	}
	ctx->start = pw_clock_ns(CLOCK_MONOTONIC);
	w->mb = ctx->mb;
	w->privs = &ctx->privs;
	w->mono_to_real = c->mono_to_real;
	w->src = (struct pw_report_src){ &ctx->km, &ctx->at, ctx->wl_worker, ctx->start };
	if (w->pressure)
		pw_pressure_set_workloads(w->pressure, ctx->wl_worker);
	snprintf(w->libbpf_version, sizeof(w->libbpf_version), "%u.%u",
		 libbpf_major_version(), libbpf_minor_version());
	if (pw_worker_start(w))
		return PW_EXIT_CANNOT_RUN;
	say_attached(ctx);
	return 0;
}

/* Detach first so the drain and the counts after are final; a program
 * preempted mid-run (after counting, before its event) may still be
 * inside: an RCU grace period waits it out. Then the worker's objects are
 * this thread's. */
static void stop(struct ctx *ctx, int *ret)
{
	if (pw_worker_stuck())
		*ret = PW_EXIT_CANNOT_RUN;	/* said by netns.c */
	portwatch_bpf__detach(ctx->at.skel);
	syscall(__NR_membarrier, MEMBARRIER_CMD_GLOBAL, 0, 0);
	pw_worker_stop(&ctx->worker);
	pw_consumer_drain(&ctx->consumer);
	if (ctx->consumer.out_ok)
		pw_worker_last_requests(&ctx->worker);
	pw_consumer_finish(&ctx->consumer, ret);
}

/* The table of the whole run, with the remedies (the JSON summary stays
 * the last line; in text the remedies follow it). */
static void print_summary(struct ctx *ctx, const struct env *env, int *ret)
{
	struct pw_pressure *pressure = ctx->worker.pressure;
	struct pw_report r;

	if (!ctx->consumer.out_ok) {
		pw_kmaps_sync(&ctx->km, false);	/* the final counts, for nobody but metrics */
		return;
	}
	if (env->json && pressure)
		pw_pressure_remedies(pressure, stdout, true);
	pw_report_take(&r, &ctx->worker.src, ctx->consumer.received, true);
	pw_consumer_lines(&ctx->consumer, &r.printed, &r.folded);
	pw_report_table(stdout, &r, "summary", env->json, env->quiet);
	pw_report_losses(stderr, &r, true);
	pw_report_free(&r);
	if (!env->json && pressure)
		pw_pressure_remedies(pressure, stdout, false);
	pw_consumer_flush(&ctx->consumer, ret);
}

/* What the run could not do, said once at the end. */
static void print_shortfalls(struct ctx *ctx, const struct pw_knobs *knobs)
{
	struct pw_mailbox_losses l;
	uint64_t skipped = ctx->consumer.diag_skipped;
	uint64_t advice = pw_advice_limit_skipped(ctx->consumer.advice_limit) +
			  (ctx->worker.pressure ? pw_pressure_advice_skipped(ctx->worker.pressure) : 0);

	pw_mailbox_losses(ctx->mb, &l);
	if (l.diag_dropped || skipped)
		fprintf(stderr, "portwatch: %llu diagnoses not taken (%llu: too many at once, "
			"%llu: too many destinations within %llu s)\n",
			(unsigned long long)(l.diag_dropped + skipped),
			(unsigned long long)l.diag_dropped, (unsigned long long)skipped,
			PW_DIAG_EVERY_NS / 1000000000);
	if (advice)
		fprintf(stderr, "portwatch: live remedies: %llu failures not advised (over their "
			"workload's %d asks at once then %d a second, or no room in their tables)\n",
			(unsigned long long)advice, PW_ADVICE_BURST, PW_ADVICE_PER_S);
	pw_holder_skips_say(ctx->consumer.holder_asks);
	if (pw_kmaps_counter(&ctx->km, PW_CNT_SAMPLES_LOST))
		fprintf(stderr, "portwatch: -q: %llu sampled failures' events lost (ring buffer "
			"full; %llu received): their diagnoses waited for the next failure of the "
			"same process and destination\n",
			(unsigned long long)pw_kmaps_counter(&ctx->km, PW_CNT_SAMPLES_LOST),
			(unsigned long long)ctx->consumer.sampled);
	if (pw_client_elf_refused())
		fprintf(stderr, "portwatch: client detection: %llu executables not read (past the "
			"bounds on their ELF headers and sections): their processes reported as "
			"unknown client\n", (unsigned long long)pw_client_elf_refused());
	if (ctx->wl) {
		struct pw_workloads_stats st;

		pw_workloads_stats(ctx->wl, &st);
		if (st.over_budget || st.restarts)
			fprintf(stderr, "portwatch: workloads: %llu events without theirs (over %d new "
				"cgroups a second), cache restarted %llu times (%lu cgroups)\n",
				(unsigned long long)st.over_budget, PW_WL_PER_SECOND,
				(unsigned long long)st.restarts, knobs->wl_cache);
	}
	if (l.count_err)
		fprintf(stderr, "portwatch: counting failures from their events: %s: some are "
			"missing from the per-process counts\n", strerror(-l.count_err));
	if (l.out_dropped)
		fprintf(stderr, "portwatch: %llu diagnosis, warning or table outputs dropped "
			"(stdout too slow)\n", (unsigned long long)l.out_dropped);
}

/* One path, in reverse order; a stuck worker may be inside the HTTP
 * server, the pressure state or the mailbox: the exit frees those. */
static void clean_up(struct ctx *ctx)
{
	pw_worker_stop(&ctx->worker);
	pw_consumer_free(&ctx->consumer);
	if (!pw_worker_stuck()) {
		pw_http_stop(ctx->worker.http);
		pw_pressure_free(ctx->worker.pressure);
		pw_metrics_memory_free(&ctx->worker.metrics_mem);
		pw_mailbox_free(ctx->mb);
	}
	pw_detach(&ctx->at);
	pw_kmaps_free(&ctx->km);
	pw_workloads_free(ctx->wl);
	pw_workloads_free(ctx->wl_worker);
	if (ctx->cgroup_fd > 0)
		close(ctx->cgroup_fd);
	pw_privs_free(&ctx->privs);
}

int main(int argc, char **argv)
{
	static struct env env = { .mode = PW_REQ_AUTO };
	static struct pw_knobs knobs;
	static struct ctx ctx;
	int ret;

	if ((ret = check(argc, argv, &env, &knobs)))
		return ret;
	pw_privs_probe(&ctx.privs, env.census, stderr);
	if (env.census)
		return pw_census_once(&env, &ctx.privs);

	ret = set_up(&ctx, &env, &knobs);
	if (!ret)
		ret = attach(&ctx, &env, &knobs);
	if (!ret && env.top) {
		say_attached(&ctx);
		ctx.start = pw_clock_ns(CLOCK_MONOTONIC);
		ret = pw_top_main(&(struct pw_top_src){
			{ &ctx.km, &ctx.at, ctx.wl_worker, ctx.start }, &ctx.privs, &env });
	} else if (!ret) {
		ret = start(&ctx, &env);
	}
	if (!ret && !env.top) {
		ret = pw_consumer_run(&ctx.consumer, env.duration_s ?
				      ctx.start + (int64_t)env.duration_s * 1000000000 : 0);
		stop(&ctx, &ret);
		print_summary(&ctx, &env, &ret);
		print_shortfalls(&ctx, &knobs);
	}
	clean_up(&ctx);
	return ret;
}
