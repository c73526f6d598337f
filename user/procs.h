/* SPDX-License-Identifier: GPL-2.0 */
/* The per-process table: kernel (tgid, errno) counters folded into one row
 * per process, printed as text or JSON. */
#ifndef PW_PROCS_H
#define PW_PROCS_H

#include <stdint.h>
#include <stdio.h>
#include "hashtab.h"
#include "output.h"
#include "workload.h"

#define PW_MAX_ERRS 8

struct pw_proc {
	uint32_t pid;
	char comm[PW_COMM_LEN];
	uint64_t attempts;
	uint64_t failures;
	uint64_t scans;
	uint64_t scan_ns;
	unsigned int nerrs;
	struct {
		int err;
		uint64_t count;
	} errs[PW_MAX_ERRS];
	uint64_t other_errs;	/* errnos beyond PW_MAX_ERRS distinct ones */
	uint64_t other_eana;	/* the EADDRNOTAVAIL among other_errs */
	/* failures of the other ops (--ops), each with its one errno; not in
	 * attempts, failures and errs, which are connect()'s */
	uint64_t op_fails[PW_OP_MAX];
	uint64_t cgroup_id;	/* of its counters (0: unknown) */
	const struct pw_workload *w;	/* set by the caller; NULL: unknown */
};

struct pw_procs {
	struct pw_proc *v;
	size_t n;
	size_t cap;
	struct pw_htab index;	/* pid -> row + 1, uint32_t (procs.c) */
};

/* Fold one kernel entry in. 0 or -ENOMEM. */
int pw_procs_add(struct pw_procs *p, const struct pw_proc_key *k, const struct pw_proc_val *v);
/* Most failures first, then most attempts, then pid. */
void pw_procs_sort(struct pw_procs *p);
void pw_procs_free(struct pw_procs *p);

void pw_procs_text(FILE *f, const struct pw_procs *p);
/* One process as a JSON object (summary "processes" entry). */
bool pw_proc_json(struct sbuf *sb, const struct pw_proc *pr);

#endif /* PW_PROCS_H */
