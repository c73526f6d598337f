/* SPDX-License-Identifier: GPL-2.0 */
/* Prometheus text exposition (format 0.0.4) of portwatch's counters:
 * renders what it is given into a FILE; what the collectors remember between
 * scrapes is in the caller's struct pw_metrics_memory. */
#ifndef PW_METRICS_H
#define PW_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "accounts.h"
#include "pressure.h"
#include "sockgauge.h"
#include "workload.h"

#define PW_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* kinds of portwatch_bpf_program_missed_runs_total */
enum {
	PW_MISS_FENTRY,		/* fentry/fexit: recursion misses */
	PW_MISS_KPROBE,		/* kprobe/kretprobe handlers: recursion misses (6.7+) */
	PW_MISS_KRETPROBE_MAXACTIVE,	/* kretprobe instances exhausted */
	PW_MISS_TRACEPOINT,	/* tp_btf: recursion misses */
	PW_MISS_KINDS,
};

/* Command names with failure series of their own (metrics_comm.c): the top
 * PW_MAX_COMMS failers at a time, by EADDRNOTAVAIL then all failures, a
 * shown name held until another fails more than twice as often (as for
 * --max-pids), among the names the accounts track (PW_COMM_SLOTS); a name
 * past those competes with its live rows and takes the place of the tracked
 * name that failed least once it fails more. Every failure not in a shown
 * name's series is counted under PW_OTHER_COMM; no series ever goes down
 * (see struct pw_comm_series). */
#define PW_MAX_COMMS	1024
#define PW_COMM_SERIES	8	/* (errno, family) series per name; more: PW_OTHER_COMM */
#define PW_COMM_FLOORS	4096	/* series values of names no longer tracked, hashed */

/* One (errno, family) series of a tracked name: `own` is its value, grown
 * by the name's new failures while it is shown (`last` is the name's total
 * at the last render); while it is not shown its new failures go to
 * PW_OTHER_COMM and `own` waits. A name shown again resumes at `own`; a
 * name no longer tracked leaves `own` in the floors, where a name that
 * comes back starts (never below a value it showed before). */
struct pw_comm_series {
	uint16_t err, family;
	uint64_t own, last;
};

/* The series of one name the accounts track. */
struct pw_comm_state {
	char key[PW_COMM_LEN];		/* pw_comm_key */
	bool pinned;			/* the accounts' pinned name: always shown */
	bool shown;
	bool adopted;			/* tracked at this render: its past is (other)'s */
	unsigned int nseries;
	struct pw_comm_series s[PW_COMM_SERIES];
};

/* A name's failures of one (errno, family), as a render added them up. */
struct pw_comm_total {
	char key[PW_COMM_LEN];		/* pw_comm_key */
	uint16_t err, family;
	uint64_t count;
};

/* PW_OTHER_COMM's series: value, and the total of all names at the last render. */
struct pw_comm_other {
	uint16_t err, family;
	uint64_t value, last_total;
	uint64_t total, shown;		/* a render's scratch */
};

/* What the per-comm collector remembers. */
struct pw_comm_memory {
	struct pw_comm_state *names;	/* one per tracked name, sorted by key */
	size_t nnames;
	uint64_t *floors;		/* PW_COMM_FLOORS, made at the first eviction */
	/* the values of the series of names no longer tracked, summed: with
	 * the shown series and the own values of the names not shown, every
	 * failure (PW_OTHER_COMM's included) */
	uint64_t evicted_own;
	struct pw_comm_other *other;	/* PW_OTHER_COMM's series */
	size_t nother, other_cap;
	/* the totals of the last render, sorted: a name tracked now takes its
	 * failures since then (before, they were (other)'s) */
	struct pw_comm_total *prev;
	size_t nprev;
};

/* What the collectors remember between scrapes: the series each showed, so
 * that a shown one is held (the shown set does not flap), and the per-comm
 * series' values. Zeroed by the caller, kept as long as the accounts it
 * renders, pw_metrics_memory_free()d. */
struct pw_metrics_memory {
	uint64_t *rows_shown;		/* pw_row.id of the rows the per-pid series showed, sorted */
	size_t nrows_shown;
	uint64_t *wl_shown;		/* hashes of the labels of the workloads shown, sorted */
	size_t nwl_shown;
	struct pw_comm_memory comm;
};

/* Whether comm's failures are in series of their own now. */
bool pw_metrics_comm_shown(const struct pw_metrics_memory *m, const char *comm);

void pw_metrics_memory_free(struct pw_metrics_memory *m);

struct pw_metrics_input {
	/* not const: the per-comm series choose which names the accounts
	 * track (pw_accounts_comm_adopt) */
	struct pw_accounts *acc;
	struct pw_metrics_memory *memory;
	uint64_t now_ns;		/* CLOCK_MONOTONIC, for series expiry */
	unsigned int max_pids;		/* per-pid series cap */
	uint64_t scan_hist[PW_SCAN_RESULTS][PW_HIST_SLOTS];
	bool scan_depth;		/* ports_checked is counted */
	uint64_t ports_hist[PW_HIST_SLOTS];
	uint64_t ports_sum;
	uint64_t events_lost;
	uint64_t samples_lost;		/* -q: PW_CNT_SAMPLES_LOST */
	uint64_t counts_dropped;
	uint64_t untraced;
	uint64_t counted_from_events;	/* PW_CNT_VIA_EVENTS */
	uint64_t unmatched;		/* PW_CNT_UNMATCHED */
	uint64_t unattributed;		/* PW_CNT_UNATTRIBUTED */
	/* runs of the attached mode's programs the kernel skipped, per kind
	 * (PW_MISS_*); < 0: not this mode's kind, or not measurable (before
	 * 5.12; kretprobe maxactive without tracefs): no series */
	long long missed_runs[PW_MISS_KINDS];
	const char *preempt_model;	/* pw_preempt_name(); NULL: no series */
	bool exact_under_contention;	/* !pw_mode_skips_when_preempted() */
	long range_size;		/* < 0: unknown */
	uint64_t range_netns;		/* 0: the node's netns; else the netns read
					 * (the node's was not reachable): a label */
	uint64_t census_netns_skipped;	/* pw_census_skips() */
	uint64_t census_processes_skipped;
	const char *version;
	const char *libbpf_version;
	const char *mode;
	const struct pw_pressure_top *top;	/* most used destinations */
	size_t ntop;
	const struct pw_pressure_udp_top *udp_top;	/* most used netns, UDP */
	size_t nudp_top;
	/* the periodic census runs (pressure): the folded counts below have
	 * a sample (the UDP one with sockets_on too) */
	bool top_on;
	uint64_t top_folded;		/* pairs holding ports not in top */
	uint64_t udp_top_folded;	/* netns holding UDP ports not in udp_top */
	/* the workload of a cgroup id (NULL: unknown now); no workload
	 * series without it. At most max_pids workload series. */
	const struct pw_workload *(*workload)(void *ctx, uint64_t cgroup_id);
	void *workload_ctx;
	/* portwatch_workload_sockets: the last periodic census's rows
	 * (sockgauge.h), none before the first; without sockets_on no family */
	bool sockets_on;
	const struct pw_sock_row *sock_rows;
	size_t nsock_rows;
	size_t sock_folded;		/* workloads folded into "(other)" */
};

/* The labels of a workload, namespace="..",pod="..",container="..",unit=".."
 * (escaped), malloc()ed; NULL when it is none (no pod, container or unit)
 * or out of memory. */
char *pw_workload_labels(const struct pw_workload *w);

/* A label value: \\, \" and \n escaped, invalid UTF-8 as U+FFFD. */
void pw_prom_label(FILE *f, const char *s, size_t n);

/* The whole exposition. Returns how many processes the per-pid series
 * left out (over max_pids: the top failers are shown, see metrics_pids.c);
 * they are also exported as a gauge. */
size_t pw_metrics_render(FILE *f, const struct pw_metrics_input *in);

#endif /* PW_METRICS_H */
