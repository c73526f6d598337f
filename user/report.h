/* SPDX-License-Identifier: GPL-2.0 */
/* One snapshot of what portwatch counted (kernel counters, the per-process
 * rows and their workloads, misses) feeds the interval and summary tables,
 * the JSON summary, the stderr lines about what was not seen, and the
 * /metrics input. Taking it syncs the accounts first: a snapshot is of the
 * latest counts. Printing only formats what was taken. */
#ifndef PW_REPORT_H
#define PW_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "attach.h"
#include "procs.h"

struct pw_kmaps;
struct pw_workloads;
struct pw_workload;
struct pw_metrics_input;

/* Where a snapshot comes from: the worker's objects (main's after the join). */
struct pw_report_src {
	struct pw_kmaps *km;
	const struct pw_attach *at;
	struct pw_workloads *wl;	/* the rows' workloads; NULL: none */
	int64_t start;			/* CLOCK_MONOTONIC when tracing began */
};

struct pw_report {
	const char *mode;
	int at_mode;			/* enum pw_mode */
	double duration_s;
	uint64_t received;		/* events taken from the ring buffer */
	/* text summary: lines printed and folded (pw_fold), else received, 0 */
	uint64_t printed, folded;
	uint64_t events_lost, counts_dropped, untraced, counted_from_events;
	uint64_t unmatched, unattributed, ports_sum;
	uint64_t untraced_binds;	/* of untraced: --ops bind's (bind_calls full) */
	/* -q: sampled failures received (as the consumer published them) and
	 * lost (ring buffer full: PW_CNT_SAMPLES_LOST) */
	uint64_t samples, samples_lost;
	long long recursion_misses;	/* < 0: not measurable */
	char recursion_detail[256];
	struct pw_krp_misses krp;
	int maxactive;
	const char *preempt_model;
	bool skips_when_preempted;
	bool exact_under_contention;
	struct pw_procs procs;		/* with rows only */
	struct pw_workload *workloads;	/* copies, procs.v[i].w points into them */
};

/* Sync the accounts (pw_kmaps_sync, no retiring) and take the snapshot;
 * rows: the per-process rows too (the tables; /metrics reads the accounts).
 * received: as the consumer last published it. Free with pw_report_free. */
void pw_report_take(struct pw_report *r, const struct pw_report_src *src, uint64_t received,
		    bool rows);
/* The same, the caller having just synced (pw_kmaps_sync): no second walk. */
void pw_report_take_synced(struct pw_report *r, const struct pw_report_src *src,
			   uint64_t received, bool rows);
void pw_report_free(struct pw_report *r);

/* The table of `type` ("interval" or "summary"): text under a time stamp,
 * or one JSON object. quiet: no events line. */
void pw_report_table(FILE *out, const struct pw_report *r, const char *type, bool json,
		     bool quiet);
/* The stderr lines for what was not seen or not counted. */
void pw_report_losses(FILE *err, const struct pw_report *r, bool summary);
/* The counters, misses and mode of the /metrics input. */
void pw_report_metrics_input(struct pw_metrics_input *in, const struct pw_report *r);

/* Whether the counts are exact under contention: not in a mode the kernel
 * skips when preempted, nor in kprobe mode on a preemptible kernel whose map
 * reads run without the FIFO guard. */
bool pw_exact_under_contention(const struct pw_attach *at);

#endif /* PW_REPORT_H */
