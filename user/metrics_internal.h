/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the metrics files only: the exposition writer, the ranking of
 * series against a cap, and the collectors pw_metrics_render() calls. */
#ifndef PW_METRICS_INTERNAL_H
#define PW_METRICS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "metrics.h"

/* ---- the writer (metrics_writer.c) ---- */
void pw_prom_header(FILE *f, const char *name, const char *type, const char *help);
/* A counter family of one unlabelled sample. */
void pw_prom_counter(FILE *f, const char *name, const char *help, uint64_t v);
/* comm="<comm, escaped>" */
void pw_prom_label_comm(FILE *f, const char *comm);
/* ,op="<op>" for an op other than connect (--ops); nothing for connect, so
 * the series from before --ops keep their labels */
void pw_prom_label_op(FILE *f, unsigned int op);

/* A failure series of a process or workload: its op and errno, op << 16 | errno */
static inline uint32_t pw_row_series(const struct pw_row *r)
{
	return (uint32_t)PW_KEY_OP(r->key.family) << 16 | r->key.err;
}

/* ---- the ranking (metrics_rank.c) ---- */
/* One process (or workload) competing for a series: its EADDRNOTAVAIL and
 * all its failures, and whether it was shown last time. */
struct pw_contender {
	size_t start, end;		/* its entries, in the caller's array */
	uint64_t eaddr, fails;
	bool was_shown, show;
	uint32_t tgid;
	const char *labels;		/* workloads */
};

/* Mark the max of the n contenders to show; returns how many are left out. */
size_t pw_contenders_pick(struct pw_contender *c, size_t n, size_t max);
/* qsort()/bsearch() order of uint64_t */
int pw_cmp_u64(const void *a, const void *b);
/* Row i of the rows then the folded rows, its total in t; NULL for a row
 * of successes. */
const struct pw_row *pw_failure_row(const struct pw_accounts *a, size_t i, struct pw_proc_val *t);

/* ---- the collectors, each rendering its own families ---- */
/* portwatch_connect_attempts_total, portwatch_port_scans_total */
void pw_collect_attempts(FILE *f, const struct pw_accounts *a);
/* portwatch_port_scan_duration_seconds */
void pw_collect_scan_duration(FILE *f, const struct pw_metrics_input *in);
/* portwatch_ports_checked */
void pw_collect_ports_checked(FILE *f, const struct pw_metrics_input *in);
/* portwatch_connect_failures_total */
void pw_collect_comms(FILE *f, struct pw_accounts *a, struct pw_comm_memory *m);
/* portwatch_process_connect_failures_total; returns the processes left out */
size_t pw_collect_pids(FILE *f, const struct pw_metrics_input *in);
/* portwatch_workload_connect_failures_total; returns the workloads left out */
size_t pw_collect_workloads(FILE *f, const struct pw_metrics_input *in);
/* portwatch_workload_sockets, portwatch_workload_sockets_folded */
void pw_collect_sockets(FILE *f, const struct pw_metrics_input *in);

#endif /* PW_METRICS_INTERNAL_H */
