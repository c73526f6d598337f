/* SPDX-License-Identifier: GPL-2.0 */
/* Userspace totals of the kernel's per-(process, errno, family) counters.
 * The kernel map is bounded, so the entries of processes that exited are
 * folded in here and deleted there; totals stay monotonic for the life of
 * portwatch, and the summary and /metrics both read them from here. */
#ifndef PW_ACCOUNTS_H
#define PW_ACCOUNTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <linux/types.h>
#include "portwatch.h"
#include "procs.h"

#define PW_EXPIRE_NS	(300ull * 1000000000)	/* exited series: 5 minutes */
#define PW_EXPIRED_CGROUPS 4096	/* folded rows kept apart per cgroup, at most */
/* Command names with failure series of their own, for the life of
 * portwatch: the first PW_MAX_COMMS names seen failing. Failures of every
 * later name are counted under PW_OTHER_COMM (sticky, so every series only
 * grows and their sum is every failure). */
#define PW_MAX_COMMS	1024
#define PW_OTHER_COMM	"(other)"

struct pw_row {
	struct pw_proc_key key;
	struct pw_proc_val base;	/* from kernel entries already deleted */
	struct pw_proc_val cur;		/* the kernel entry as last read */
	uint64_t exited_ns;		/* CLOCK_MONOTONIC when seen gone, 0 = live */
	bool in_kernel;
	bool shown;			/* in the last per-pid series (metrics.c) */
	/* foreign pids only: retired for being idle, not seen gone */
	bool idle;
	uint64_t active_ns;		/* when cur last changed */
	uint64_t seen_count;		/* cur.count then */
};

struct pw_accounts {
	struct pw_row *rows;
	size_t n, cap;
	uint32_t *index;		/* open addressing: row + 1, 0 = empty */
	size_t index_cap;
	size_t max_rows;		/* beyond it, exited rows fold into `expired` */
	struct pw_row *expired;		/* per (comm, err, family); key.tgid = 0,
					 * base.comm the name */
	size_t nexpired, expired_cap;
	uint32_t *expired_index;	/* open addressing: expired row + 1 */
	size_t expired_index_cap;
	/* the names with series of their own: open addressing, name + 1 */
	char (*comms)[PW_COMM_LEN];
	size_t ncomms;
	uint32_t *comm_index;
	/* the workloads the last per-workload series showed (metrics.c):
	 * hashes of their labels, sorted */
	uint64_t *wl_shown;
	size_t nwl_shown;
	/* live rows folded into `expired` because more than max_rows
	 * processes were alive (their kernel entries taken out too) */
	uint64_t live_folded;
	/* The kernel's pids are not ours (own pid namespace): kill(pid, 0)
	 * cannot tell a live process from an exited one, so rows are retired
	 * when idle for PW_EXPIRE_NS instead, and a retired row whose pid
	 * comes back with the same comm continues (the same process, or one
	 * that cannot be told from it). */
	bool foreign_pids;
};

void pw_accounts_init(struct pw_accounts *a, size_t max_rows);
void pw_accounts_free(struct pw_accounts *a);

/* Fold one kernel entry in (its value is cumulative for that entry). */
int pw_accounts_update(struct pw_accounts *a, const struct pw_proc_key *k,
		       const struct pw_proc_val *v);
/* Mark the rows of tgid exited at now; returns how many rows it marked. */
size_t pw_accounts_exited(struct pw_accounts *a, uint32_t tgid, uint64_t now);
/* Whether comm (PW_COMM_LEN bytes, NUL-padded or not) has failure series
 * of its own; false: it is counted under PW_OTHER_COMM. */
bool pw_accounts_comm_shown(const struct pw_accounts *a, const char *comm);
/* A row's total so far. */
void pw_row_total(const struct pw_row *r, struct pw_proc_val *out);

/* Read the kernel map; with `retire`, delete the entries of processes that
 * have exited (after reading them) and fold old rows when over max_rows:
 * first those of processes gone longest, then, when live processes alone
 * are over it, the rows of the live ones with the fewest failures (their
 * kernel entries taken out, so they count from 0 again), down to 7/8 of
 * max_rows. Totals per name, and in all, stay monotonic. 0 or -errno. */
int pw_accounts_sync(struct pw_accounts *a, int map_fd, uint64_t now, bool retire);

/* Retiring entries takes BPF_MAP_LOOKUP_AND_DELETE_ELEM (5.14+) until the
 * kernel refuses it, then a lookup and a delete. Tests force the fallback
 * with on = true, and ask which one is in use. */
void pw_accounts_use_lookup_then_delete(bool on);
bool pw_accounts_lookup_and_delete_works(void);

/* The per-process table: one row per tgid; rows folded away (over max_rows,
 * or a pid reused) all as one pid 0 row named "(exited)" (with those of live
 * processes folded when live ones alone were over max_rows). */
int pw_accounts_procs(const struct pw_accounts *a, struct pw_procs *p);

#endif /* PW_ACCOUNTS_H */
