// SPDX-License-Identifier: GPL-2.0
/* The snapshot behind the tables, the summary and /metrics: see report.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fifo_guard.h"
#include "kmaps.h"
#include "mailbox.h"
#include "metrics.h"
#include "output.h"
#include "report.h"
#include "textfit.h"
#include "util.h"
#include "workload.h"


bool pw_exact_under_contention(const struct pw_attach *at)
{
	if (pw_mode_skips_when_preempted(at))
		return false;
	return at->mode != PW_MODE_KPROBE || !at->preempt.preemptible || pw_fifo_guard_active();
}

/* The rows' workloads, each a copy: a later lookup may start the resolver's
 * cache over (more cgroups than it holds) and free what an earlier one
 * returned. NULL (rows without workloads) without a resolver or memory. */
static struct pw_workload *row_workloads(struct pw_workloads *ws, struct pw_procs *procs)
{
	struct pw_workload *wl;

	if (!ws || !procs->n || !(wl = calloc(procs->n, sizeof(*wl))))
		return NULL;
	for (size_t i = 0; i < procs->n; i++) {
		const struct pw_workload *w;

		if (!procs->v[i].cgroup_id)
			continue;
		w = pw_workloads_get(ws, procs->v[i].cgroup_id, pw_clock_ns(CLOCK_MONOTONIC));
		if (w && !pw_workload_copy(&wl[i], w))
			procs->v[i].w = &wl[i];
	}
	return wl;
}

static void read_counters(struct pw_report *r, const struct pw_kmaps *km)
{
	r->events_lost = pw_kmaps_counter(km, PW_CNT_EVENTS_LOST);
	r->counts_dropped = pw_kmaps_counter(km, PW_CNT_OUTCOMES_LOST);
	/* untraced (summary, metrics): connects and binds; said apart on stderr */
	r->untraced_binds = pw_kmaps_counter(km, PW_CNT_BINDS_UNTRACED);
	r->untraced = pw_kmaps_counter(km, PW_CNT_STASH_FULL) + r->untraced_binds;
	r->counted_from_events = pw_kmaps_counter(km, PW_CNT_VIA_EVENTS);
	r->unmatched = pw_kmaps_counter(km, PW_CNT_UNMATCHED);
	r->unattributed = pw_kmaps_counter(km, PW_CNT_UNATTRIBUTED);
	r->ports_sum = pw_kmaps_counter(km, PW_CNT_PORTS_CHECKED);
	r->samples_lost = pw_kmaps_counter(km, PW_CNT_SAMPLES_LOST);
}

static void take(struct pw_report *r, const struct pw_report_src *src, uint64_t received,
		 bool rows, bool sync)
{
	const struct pw_attach *at = src->at;
	struct pw_mailbox_losses losses = {};

	memset(r, 0, sizeof(*r));
	r->mode = pw_mode_name(at->mode);
	r->at_mode = at->mode;
	r->duration_s = (pw_clock_ns(CLOCK_MONOTONIC) - src->start) / 1e9;
	r->received = r->printed = received;
	read_counters(r, src->km);
	r->recursion_misses = pw_recursion_misses_detail(at, r->recursion_detail,
							 sizeof(r->recursion_detail));
	pw_kretprobe_misses(at, &r->krp);
	r->maxactive = at->maxactive;
	r->preempt_model = pw_preempt_name(at->preempt.model);
	r->skips_when_preempted = pw_mode_skips_when_preempted(at);
	r->exact_under_contention = pw_exact_under_contention(at);

	if (sync)
		pw_kmaps_sync(src->km, false);
	/* after the sync: its merge of the counts from events may add some */
	if (src->km->mb) {
		pw_mailbox_losses(src->km->mb, &losses);
		r->samples = pw_mailbox_sampled(src->km->mb);
	}
	r->counts_dropped += losses.counts_dropped;
	if (!rows)
		return;
	if (pw_accounts_procs(&src->km->acc, &r->procs))
		fprintf(stderr, "portwatch: out of memory for the per-process table\n");
	pw_procs_sort(&r->procs);
	r->workloads = row_workloads(src->wl, &r->procs);
}

void pw_report_take(struct pw_report *r, const struct pw_report_src *src, uint64_t received,
		    bool rows)
{
	take(r, src, received, rows, true);
}

void pw_report_take_synced(struct pw_report *r, const struct pw_report_src *src,
			   uint64_t received, bool rows)
{
	take(r, src, received, rows, false);
}

void pw_report_free(struct pw_report *r)
{
	for (size_t i = 0; r->workloads && i < r->procs.n; i++)
		pw_workload_clear(&r->workloads[i]);
	free(r->workloads);
	r->workloads = NULL;
	pw_procs_free(&r->procs);
}

static void table_json(FILE *out, const struct pw_report *r, const char *type)
{
	static char buf[65536];	/* one process with its workload */
	char krp[24] = "null", rec[24] = "null";
	struct sbuf sb;

	if (r->krp.total >= 0)
		snprintf(krp, sizeof(krp), "%lld", r->krp.total);
	if (r->recursion_misses >= 0)
		snprintf(rec, sizeof(rec), "%lld", r->recursion_misses);
	fprintf(out, "{\"type\":\"%s\",\"mode\":\"%s\",\"duration_s\":%.3f,\"events_received\":%llu,"
		"\"events_lost\":%llu,\"samples\":%llu,\"samples_lost\":%llu,"
		"\"counts_dropped\":%llu,\"untraced\":%llu,"
		"\"kretprobe_misses\":%s,\"recursion_misses\":%s,\"counted_from_events\":%llu,"
		"\"unmatched_outcomes\":%llu,\"unattributed_outcomes\":%llu,"
		"\"preempt_model\":\"%s\",\"exact_under_contention\":%s,\"processes\":[",
		type, r->mode, r->duration_s, (unsigned long long)r->received,
		(unsigned long long)r->events_lost, (unsigned long long)r->samples,
		(unsigned long long)r->samples_lost, (unsigned long long)r->counts_dropped,
		(unsigned long long)r->untraced, krp, rec,
		(unsigned long long)r->counted_from_events, (unsigned long long)r->unmatched,
		(unsigned long long)r->unattributed, r->preempt_model,
		r->exact_under_contention ? "true" : "false");
	for (size_t i = 0; i < r->procs.n; i++) {
		sb_init(&sb, buf, sizeof(buf));
		pw_proc_json(&sb, &r->procs.v[i]);
		fprintf(out, "%s%s", i ? "," : "", buf);
	}
	fprintf(out, "]}\n");
}

static void table_text(FILE *out, const struct pw_report *r, const char *type, bool quiet)
{
	char t[32];
	time_t now = time(NULL);
	struct pw_text_block tb;
	FILE *f;
	struct tm tm;

	localtime_r(&now, &tm);
	strftime(t, sizeof(t), "%H:%M:%S", &tm);
	f = pw_text_begin(&tb, out);
	fprintf(f, "\n%s per-process connect() outcomes (%s, %.1f s, mode %s):\n",
		t, type, r->duration_s, r->mode);
	pw_text_end(&tb, PW_TEXT_FOLD);
	f = pw_text_begin(&tb, out);	/* the table's rows are cut, as the event lines */
	if (r->procs.n)
		pw_procs_text(f, &r->procs);
	else
		fprintf(f, "(no connect() seen)\n");
	pw_text_end(&tb, PW_TEXT_CUT);
	if (quiet)
		return;
	out = pw_text_begin(&tb, out);
	if (strcmp(type, "summary"))
		fprintf(out, "events: %llu received, %llu lost (ring buffer full)\n",
			(unsigned long long)r->received, (unsigned long long)r->events_lost);
	else
		fprintf(out, "events: %llu received = %llu lines printed + %llu folded "
			"into \"... more\" lines; %llu lost (ring buffer full)\n",
			(unsigned long long)r->received, (unsigned long long)r->printed,
			(unsigned long long)r->folded, (unsigned long long)r->events_lost);
	pw_text_end(&tb, PW_TEXT_FOLD);
}

void pw_report_table(FILE *out, const struct pw_report *r, const char *type, bool json,
		     bool quiet)
{
	if (json)
		table_json(out, r, type);
	else
		table_text(out, r, type, quiet);
}

static void recursion_lines(FILE *err, const struct pw_report *r, bool summary)
{
	long long rec = r->recursion_misses;

	if (rec > 0)
		fprintf(err, "portwatch: %lld program runs skipped by the kernel (already running on "
			"that CPU: recursion misses; %s): up to %lld connect() outcomes not counted%s\n",
			rec, r->recursion_detail, rec,
			r->skips_when_preempted ?
				"; the kernel is preemptible: --mode=kprobe is exact here" :
			r->at_mode == PW_MODE_KPROBE ?
				"; a kprobe program is skipped while another BPF program or a bpf() "
				"map syscall runs on that CPU" : "");
	else if (summary && r->skips_when_preempted)
		fprintf(err, "portwatch: no program run skipped, but %s mode is not exact under "
			"contention on this preemptible kernel (%s): --mode=kprobe is exact here\n",
			r->mode, r->preempt_model);
	if (r->krp.total > 0)
		fprintf(err, "portwatch: %lld kretprobe misses (%s): %lld connect() outcomes not "
			"counted; maxactive %d is too low for this load\n", r->krp.total,
			r->krp.detail, r->krp.outcomes, r->maxactive);
}

void pw_report_losses(FILE *err, const struct pw_report *r, bool summary)
{
	if (r->events_lost)
		fprintf(err, "portwatch: %llu events lost (ring buffer full); counts above are exact\n",
			(unsigned long long)r->events_lost);
	if (r->counts_dropped)
		fprintf(err, "portwatch: %llu outcomes not counted: per-process map full and "
			"their events lost (ring buffer full) or over the queue's %d keys of counts "
			"from events\n", (unsigned long long)r->counts_dropped, PW_MAILBOX_COUNT_ROWS);
	if (r->counted_from_events)
		fprintf(err, "portwatch: %llu outcomes counted from their events: per-process "
			"map full\n", (unsigned long long)r->counted_from_events);
	if (r->unattributed)
		fprintf(err, "portwatch: %llu connect() outcomes other than EADDRNOTAVAIL counted "
			"without their process (no room kept for new per-process keys): the pid 0 "
			"\"%s\" rows\n", (unsigned long long)r->unattributed, PW_UNATTRIBUTED_COMM);
	if (r->unmatched)
		fprintf(err, "portwatch: %llu connect() outcomes without their start (its state "
			"evicted by newer connects, or begun before the attach): not counted\n",
			(unsigned long long)r->unmatched);
	if (r->untraced > r->untraced_binds)
		fprintf(err, "portwatch: %llu connects not traced: per-thread state map full\n",
			(unsigned long long)(r->untraced - r->untraced_binds));
	if (r->untraced_binds)
		fprintf(err, "portwatch: %llu binds not traced: per-thread bind map full\n",
			(unsigned long long)r->untraced_binds);
	recursion_lines(err, r, summary);
}

void pw_report_metrics_input(struct pw_metrics_input *in, const struct pw_report *r)
{
	in->events_lost = r->events_lost;
	in->samples_lost = r->samples_lost;
	in->counts_dropped = r->counts_dropped;
	in->untraced = r->untraced;
	in->counted_from_events = r->counted_from_events;
	in->unmatched = r->unmatched;
	in->unattributed = r->unattributed;
	in->ports_sum = r->ports_sum;
	in->mode = r->mode;
	for (int k = 0; k < PW_MISS_KINDS; k++)
		in->missed_runs[k] = -1;
	in->missed_runs[r->at_mode == PW_MODE_FENTRY ? PW_MISS_FENTRY :
			r->at_mode == PW_MODE_KPROBE ? PW_MISS_KPROBE : PW_MISS_TRACEPOINT] =
		r->recursion_misses;
	in->missed_runs[PW_MISS_KRETPROBE_MAXACTIVE] = r->krp.total;
	in->preempt_model = r->preempt_model;
	in->exact_under_contention = r->exact_under_contention;
}
