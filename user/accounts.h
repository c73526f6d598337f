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
#include "hashtab.h"
#include "procs.h"

#define PW_EXPIRE_NS	(300ull * 1000000000)	/* exited series: 5 minutes */
#define PW_EXPIRED_CGROUPS 4096	/* folded rows kept apart per cgroup, at most */
/* Command names tracked: their folded counts kept under their own name, up
 * to PW_COMM_SLOTS (and the pinned one); every other failure folds under
 * PW_OTHER_COMM. Which names are tracked follows the per-comm series
 * (metrics_comm.c): a name failing more takes the place of one failing
 * least (pw_accounts_comm_adopt, _evict, _compact). */
#define PW_COMM_SLOTS	2048
#define PW_OTHER_COMM	"(other)"

struct pw_comm {
	char name[PW_COMM_LEN];		/* as pw_comm_key() makes it */
	bool pinned;			/* the pid 0 rows' name: never evicted */
};

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
	uint64_t id;			/* unique for the accounts' life (kept when the pid
					 * is reused): what others remember a row by */
	/* foreign pids only: retired for being idle, not seen gone */
	bool idle;
	uint64_t active_ns;		/* when cur last changed (foreign pids) */
	uint64_t seen_count;		/* cur.count then */
};

struct pw_accounts {
	struct pw_row *rows;
	size_t n, cap;
	struct pw_htab index;		/* row + 1 (uint32_t), 0 = empty; at most half full */
	size_t max_rows;		/* beyond it, exited rows fold into `expired` */
	struct pw_row *expired;		/* per (comm, err, family); key.tgid = 0,
					 * base.comm the name */
	size_t nexpired, expired_cap;
	struct pw_htab expired_index;	/* expired row + 1, 0 = empty; at most half full */
	/* the tracked names (PW_COMM_SLOTS, + 1 pinned) */
	struct pw_comm *comms;
	size_t ncomms, comms_cap;
	struct pw_htab comm_index;	/* name + 1, 0 = empty; made at the first name */
	uint64_t last_row_id;		/* pw_row.id of the newest row */
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
/* The slots of the rows' index: 0 before the first row, then a power of 2
 * at least twice the rows. */
static inline size_t pw_accounts_index_slots(const struct pw_accounts *a)
{
	return a->index.slots ? pw_htab_slots(&a->index) : 0;
}
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
/* Whether comm (PW_COMM_LEN bytes, NUL-padded or not) is tracked (its
 * folded counts kept under its name), and the entry. */
struct pw_comm *pw_accounts_comm_find(const struct pw_accounts *a, const char *comm);
/* comm as a name key: its bytes up to the first NUL, zero-padded, each
 * invalid UTF-8 byte and each U+FFFD as one 0xff (so names that print as
 * the same label are one name). */
void pw_comm_key(char out[PW_COMM_LEN], const char *comm);
/* FNV-1a of a name key (pw_comm_key). */
uint64_t pw_comm_hash(const char key[PW_COMM_LEN]);
/* Track comm (metrics_comm.c, on a render): NULL when no slot is free. The
 * table may move: pointers from pw_accounts_comm_find are stale after. */
struct pw_comm *pw_accounts_comm_adopt(struct pw_accounts *a, const char *comm);
/* Stop tracking c (its folded rows stay under its name until
 * pw_accounts_comm_compact). The last entry moves into c's place. 0, or
 * -EINVAL for the pinned name. */
int pw_accounts_comm_evict(struct pw_accounts *a, struct pw_comm *c);
/* After evictions: the folded rows of names no longer tracked go to
 * PW_OTHER_COMM's (merged; in place, nothing allocated). */
void pw_accounts_comm_compact(struct pw_accounts *a);
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
