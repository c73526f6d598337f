/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's maps -> the accounts: per-CPU counter reads, the counts of
 * PW_UNCOUNTED events (from the mailbox), the pid 0 rows of `unattributed`,
 * the per-process map's sync and its double buffer (swap the active map for
 * the empty one, drain the old), and the room given to programs for new
 * keys. A pw_kmaps is the worker's while it runs, then main's (the summary). */
#ifndef PW_KMAPS_H
#define PW_KMAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "accounts.h"
#include "portwatch.h"

struct pw_mailbox;
struct portwatch_bpf;

/* A per-process map this full at a sync is swapped for the other and
 * drained (see procs_active in bpf/state.bpf.h): half of its 16,384 */
#define PW_KMAPS_WATERMARK	8192

/* The maps as fds (and the two globals as pointers), so that the unit tests
 * can give maps of their own. */
struct pw_kmap_fds {
	int counters;		/* PERCPU_ARRAY of PW_CNT_* */
	int procs[2];		/* the per-process maps */
	int procs_active;	/* ARRAY_OF_MAPS: the one programs write to */
	int unattributed;	/* PERCPU_ARRAY of pw_unattr_val, PW_UNATTR_SLOTS */
	__u64 *procs_inserts;	/* keys programs made so far */
	__u64 *procs_allow;	/* the bound on them we give */
};

/* What the sync keeps from one call to the next. */
struct pw_kmaps_state {
	bool alt;		/* procs[1] is the active map */
	/* the inactive map may still hold entries (a drain failed): it is
	 * drained before anything else, and never swapped in until empty */
	bool drain_pending;
	bool drain_failed;	/* said once */
	uint64_t unattr_counter;	/* PW_CNT_UNATTRIBUTED as last added */
	struct pw_unattr_val unattr_seen[PW_UNATTR_SLOTS];
	bool unattr_failed;	/* said once */
};

struct pw_kmaps {
	struct pw_kmap_fds fds;
	struct pw_accounts acc;
	struct pw_mailbox *mb;	/* counts from events */
	/* keys the per-process map takes for outcomes other than EADDRNOTAVAIL */
	size_t procs_open;
	struct pw_kmaps_state st;
};

/* Accounts of at most max_rows rows; no maps yet (fds -1). */
void pw_kmaps_init(struct pw_kmaps *km, size_t max_rows, bool foreign_pids);
/* After the attach: the skeleton's maps, and the room for new keys set to
 * procs_open (a lower room than the kernel's initial one, for the tests:
 * nothing could be inserted past it yet but keys made since the attach). */
void pw_kmaps_bind(struct pw_kmaps *km, struct portwatch_bpf *skel, struct pw_mailbox *mb,
		   size_t procs_open);
void pw_kmaps_free(struct pw_kmaps *km);

/* Sum over CPUs of n consecutive slots of a per-CPU array from first. */
int pw_kmaps_read_percpu(int map_fd, __u32 first, __u32 n, uint64_t *out);
/* One PW_CNT_* counter; 0 if it cannot be read. */
uint64_t pw_kmaps_counter(const struct pw_kmaps *km, __u32 idx);

/* Bring the accounts up to the kernel's counts. retire: rows of exited
 * processes are retired, and a per-process map past PW_KMAPS_WATERMARK (or
 * the accounts asking for a drain) is swapped and drained. Failures are
 * said on stderr (the drain's once). */
void pw_kmaps_sync(struct pw_kmaps *km, bool retire);

#endif /* PW_KMAPS_H */
