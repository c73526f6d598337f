/* SPDX-License-Identifier: GPL-2.0 */
/* Live remedies: advice per (workload, HTTP client kind, netns,
 * destination), when a key first fails and again at most once per
 * PW_ADVICE_EVERY_NS, in text and NDJSON; and the summary's blocks, one per
 * distinct top failer (at most PW_ADVICE_SUMMARY).
 *
 * Two halves. The consumer's (pw_advice_limit): which failures ask the
 * worker for advice: at most once per PW_DIAG_EVERY_NS per (cgroup, netns,
 * destination, process), and at most PW_ADVICE_BURST at once then
 * PW_ADVICE_PER_S a second per cgroup, so one workload's storm of distinct
 * keys (new processes, new destinations) cannot take the others' room; both
 * tables bounded, a failure that finds no room is skipped and counted. The
 * worker's (pw_advice): the client kind is known only once the worker has
 * looked at the process, so the worker keys by it and says each key's
 * advice at most once a period; a bounded table (no room: counted). */
#ifndef PW_ADVICE_H
#define PW_ADVICE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "census.h"
#include "pressure.h"

#define PW_ADVICE_EVERY_NS	(60ull * 1000000000)	/* per key, live */
#define PW_ADVICE_SUMMARY	8	/* blocks at the end of a run */
#define PW_ADVICE_KEYS		4096	/* keys the worker remembers */
#define PW_ADVICE_PER_S		2	/* asks a second per cgroup ... */
#define PW_ADVICE_BURST		8	/* ... after a burst of this many */
/* -q: a sampled failure refused for its cgroup's budget is sampled again
 * PW_SAMPLE_RETRY_NS later (bpf/portwatch.h), the time the budget takes to
 * earn one ask, not 5 s later */
#define PW_ADVICE_PROC_SLOTS	16384	/* (cgroup, netns, dest, process) remembered */
#define PW_ADVICE_CG_SLOTS	4096	/* cgroups remembered by the budget */

/* ---- the consumer's half ---- */
struct pw_advice_limit;
struct pw_advice_limit *pw_advice_limit_new(void);
void pw_advice_limit_free(struct pw_advice_limit *l);
/* A failure of process tgid in cgroup to (netns, dest) at now (ns): true
 * when it should ask for advice (recorded). False when not due, or when
 * skipped (its cgroup's budget spent, or no room: counted). */
bool pw_advice_limit_due(struct pw_advice_limit *l, uint64_t cgroup, uint64_t netns,
			 const struct pw_dest *dest, uint32_t tgid, uint64_t now);
/* The same, told apart: 1 to ask (recorded), 0 not due (asked within
 * PW_DIAG_EVERY_NS), -1 skipped (budget spent or no room: counted). */
int pw_advice_limit_ask(struct pw_advice_limit *l, uint64_t cgroup, uint64_t netns,
			const struct pw_dest *dest, uint32_t tgid, uint64_t now);
/* Asks skipped: budget spent, no room in a table. */
uint64_t pw_advice_limit_skipped(const struct pw_advice_limit *l);

/* ---- the worker's half ---- */
struct pw_advice;
struct pw_workloads;
/* wl: the worker's resolver (NULL: no workload names). */
struct pw_advice *pw_advice_new(struct pw_workloads *wl);
void pw_advice_free(struct pw_advice *a);
void pw_advice_set_workloads(struct pw_advice *a, struct pw_workloads *wl);
/* A diagnosed failure asking for advice: the live block ("REMEDIES ...")
 * or {"type":"advice"} object to out when its key is due. client: what the
 * worker found in r->pid (enum pw_client). */
void pw_advice_note(struct pw_advice *a, FILE *out, bool json, int64_t mono_to_real,
		    const struct pw_diag_req *r, const struct pw_census_ns *ns,
		    const struct pw_census_dest *d, int client);
/* The end of a run: one block (text) or {"type":"remedies"} object per
 * distinct top failer, most pressured first, at most PW_ADVICE_SUMMARY;
 * nothing if none was diagnosed. */
void pw_advice_summary(struct pw_advice *a, FILE *out, bool json);
/* Diagnoses the worker could not key (its table full), for the end. */
uint64_t pw_advice_skipped(const struct pw_advice *a);

#endif /* PW_ADVICE_H */
