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

/* A row's name and cgroup (its labels) are those of its first kernel entry
 * or event, for its life: base's once set, else cur's. A process that
 * renames itself or moves to another cgroup keeps them, so no per-comm or
 * per-workload series ever loses counts to another. */
struct pw_row {
	struct pw_proc_key key;
	struct pw_proc_val base;	/* from kernel entries already deleted */
	struct pw_proc_val cur;		/* the kernel entry as last read */
	uint64_t exited_ns;		/* CLOCK_MONOTONIC when seen gone, 0 = live */
	uint64_t event_ns;		/* newest PW_UNCOUNTED outcome added (ts_ns) */
	int cur_fd;			/* the map cur was read from (-1: by hand) */
	bool in_kernel;
	bool shown;			/* in the last per-pid series (metrics.c) */
	/* foreign pids only: retired for being idle, not seen gone */
	bool idle;
	uint64_t active_ns;		/* when cur last changed (foreign pids) */
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
	size_t kernel_entries;		/* in the map at the last sync */
	/* 0, or the most rows there may be: a key that would be one more is
	 * refused with -ENOSPC (the queue of event counts, portwatch.c) */
	size_t limit_rows;
	/* over max_rows, live processes whose counts are in the active map
	 * could not be folded: the caller should swap the maps, drain the old
	 * one and pw_accounts_shrink() (nothing is taken out of a map that
	 * programs still write to) */
	bool need_drain;
};

void pw_accounts_init(struct pw_accounts *a, size_t max_rows);
void pw_accounts_free(struct pw_accounts *a);

/* Fold one kernel entry in (its value is cumulative for that entry). */
int pw_accounts_update(struct pw_accounts *a, const struct pw_proc_key *k,
		       const struct pw_proc_val *v);
/* Add v (counts of outcomes no kernel entry holds: PW_UNCOUNTED events, the
 * newest at ts_ns, CLOCK_MONOTONIC) to k's row, created if new. A row of a
 * pid seen gone starts again (a reused pid) unless ts_ns is not after the
 * time it was seen gone: then they are the late events of the process that
 * exited, added to its counts. -ENOSPC: a new row over limit_rows. */
int pw_accounts_add(struct pw_accounts *a, const struct pw_proc_key *k,
		    const struct pw_proc_val *v, uint64_t ts_ns);
/* pw_accounts_add() every row of `from` (rows made by pw_accounts_add, with
 * their event_ns); the counts of rows it could not add are added to *lost.
 * 0 or the first -errno. */
int pw_accounts_merge(struct pw_accounts *a, const struct pw_accounts *from, uint64_t *lost);
/* Mark the rows of tgid exited at now; returns how many rows it marked. */
size_t pw_accounts_exited(struct pw_accounts *a, uint32_t tgid, uint64_t now);
/* Whether comm (PW_COMM_LEN bytes, NUL-padded or not) has failure series
 * of its own; false: it is counted under PW_OTHER_COMM. */
bool pw_accounts_comm_shown(const struct pw_accounts *a, const char *comm);
/* A row's total so far. */
void pw_row_total(const struct pw_row *r, struct pw_proc_val *out);

/* Read the kernel map; with `retire`, delete the entries of processes that
 * have exited (after reading them) and pw_accounts_shrink() when over
 * max_rows. 0 or -errno. */
int pw_accounts_sync(struct pw_accounts *a, int map_fd, uint64_t now, bool retire);

/* Over max_rows: fold old rows, first those of processes gone longest,
 * then, when live processes alone are over it, the rows of the live ones
 * with the fewest failures (a folded process that fails again counts from
 * 0 in a new row), down to 7/8 of max_rows. A live process with a row whose
 * counts are in a kernel map is not folded (need_drain is set instead).
 * Totals per name, and in all, stay monotonic. 0 or -errno. */
int pw_accounts_shrink(struct pw_accounts *a, uint64_t now);

/* Take every entry out of map_fd, a per-process map no program writes to
 * any more (swapped out of procs_active), into the rows' base: exact, live
 * processes included. Entry by entry: on an error (-errno) the entries not
 * yet taken are still in the map, whole, and the rows have not counted
 * them; calling it again finishes the work. */
int pw_accounts_drain(struct pw_accounts *a, int map_fd, uint64_t now);

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
