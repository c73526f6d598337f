// SPDX-License-Identifier: GPL-2.0
/* BPF maps -> accounts: see kmaps.h. Every map syscall runs inside the FIFO
 * guard (fifo_guard.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "fifo_guard.h"
#include "kmaps.h"
#include "mailbox.h"
#include "util.h"
#include "portwatch.skel.h"


void pw_kmaps_init(struct pw_kmaps *km, size_t max_rows, bool foreign_pids)
{
	memset(km, 0, sizeof(*km));
	km->fds.counters = km->fds.procs[0] = km->fds.procs[1] = -1;
	km->fds.procs_active = km->fds.unattributed = -1;
	pw_accounts_init(&km->acc, max_rows);
	km->acc.foreign_pids = foreign_pids;
}

void pw_kmaps_bind(struct pw_kmaps *km, struct portwatch_bpf *skel, struct pw_mailbox *mb,
		   size_t procs_open)
{
	km->fds = (struct pw_kmap_fds){
		.counters = bpf_map__fd(skel->maps.counters),
		.procs = { bpf_map__fd(skel->maps.procs), bpf_map__fd(skel->maps.procs_alt) },
		.procs_active = bpf_map__fd(skel->maps.procs_active),
		.unattributed = bpf_map__fd(skel->maps.unattributed),
		.procs_inserts = &skel->bss->procs_inserts,
		.procs_allow = &skel->data->procs_allow,
	};
	km->mb = mb;
	km->procs_open = procs_open;
	__atomic_store_n(km->fds.procs_allow, procs_open, __ATOMIC_RELEASE);
}

void pw_kmaps_free(struct pw_kmaps *km)
{
	pw_accounts_free(&km->acc);
}

int pw_kmaps_read_percpu(int map_fd, __u32 first, __u32 n, uint64_t *out)
{
	int ncpu = libbpf_num_possible_cpus(), err;

	if (ncpu <= 0)
		return -EINVAL;
	uint64_t vals[ncpu];

	for (__u32 i = 0; i < n; i++) {
		__u32 key = first + i;

		out[i] = 0;
		pw_fifo_guard_begin();
		err = bpf_map_lookup_elem(map_fd, &key, vals) ? -errno : 0;
		pw_fifo_guard_end();
		if (err)
			return err;
		for (int c = 0; c < ncpu; c++)
			out[i] += vals[c];
	}
	return 0;
}

uint64_t pw_kmaps_counter(const struct pw_kmaps *km, __u32 idx)
{
	uint64_t v;

	return pw_kmaps_read_percpu(km->fds.counters, idx, 1, &v) ? 0 : v;
}

static void drain_error(struct pw_kmaps *km, int err)
{
	if (km->st.drain_failed)
		return;
	km->st.drain_failed = true;
	fprintf(stderr, "portwatch: draining the per-process map: %s; per-process counts stay "
		"as they are until it can be drained; outcomes with no room are counted "
		"unattributed or from their events\n", strerror(-err));
}

/* Drain the inactive per-process map (no program writes to it); true once
 * it is empty. Over max_rows, folds what the drain made foldable. */
static bool drain_inactive(struct pw_kmaps *km, uint64_t now)
{
	int err = pw_accounts_drain(&km->acc, km->fds.procs[!km->st.alt], now);

	km->st.drain_pending = err != 0;
	if (err) {
		drain_error(km, err);
		return false;
	}
	/* need_drain: live rows were waiting for this drain to be folded (the
	 * shrink clears it, so a drain is not asked for again every second) */
	if ((km->acc.n > km->acc.max_rows || km->acc.need_drain) &&
	    (err = pw_accounts_shrink(&km->acc, now)))
		fprintf(stderr, "portwatch: folding per-process counts: %s\n", strerror(-err));
	return true;
}

/* Swap the active per-process map for the other, empty one, then take every
 * entry of the old one into the accounts. True if it swapped. */
static bool swap_and_drain(struct pw_kmaps *km, uint64_t now)
{
	int new = km->fds.procs[!km->st.alt];
	struct pw_proc_key key;
	__u32 zero = 0;

	/* never a map with entries: they would be counted again */
	if (!bpf_map_get_next_key(new, NULL, &key) && !drain_inactive(km, now))
		return false;
	/* returns after an RCU grace period: no program writes to old now */
	if (bpf_map_update_elem(km->fds.procs_active, &zero, &new, BPF_ANY)) {
		drain_error(km, -errno);
		return false;
	}
	km->st.alt = !km->st.alt;
	drain_inactive(km, now);
	return true;
}

/* The row (pid 0, PW_UNATTRIBUTED_COMM) of an `unattributed` slot. */
static struct pw_proc_key unattr_key(__u32 slot)
{
	__u16 e = slot % PW_UNATTR_ERRS;

	return (struct pw_proc_key){
		.tgid = 0,
		.err = e == PW_UNATTR_ERRS - 1 ? PW_ERR_UNKNOWN : e,
		.family = slot < PW_UNATTR_ERRS ? AF_INET : AF_INET6,
	};
}

/* Add what `unattributed` counted since the last time to the accounts: one
 * pid 0 row per (errno, family). Read only when PW_CNT_UNATTRIBUTED moved
 * (a program adds to its slot first). */
static void add_unattributed(struct pw_kmaps *km, uint64_t now)
{
	uint64_t total = pw_kmaps_counter(km, PW_CNT_UNATTRIBUTED);
	int ncpu = libbpf_num_possible_cpus();
	int err = 0;

	if (total == km->st.unattr_counter || ncpu <= 0)
		return;
	struct pw_unattr_val vals[ncpu];

	for (__u32 slot = 0; slot < PW_UNATTR_SLOTS && !err; slot++) {
		struct pw_unattr_val sum = {}, *seen = &km->st.unattr_seen[slot];

		if (bpf_map_lookup_elem(km->fds.unattributed, &slot, vals)) {
			err = -errno;
			break;
		}
		for (int c = 0; c < ncpu; c++) {
			sum.count += vals[c].count;
			sum.scans += vals[c].scans;
			sum.scan_ns += vals[c].scan_ns;
		}
		if (sum.count == seen->count)
			continue;

		struct pw_proc_key k = unattr_key(slot);
		struct pw_proc_val v = {
			.count = sum.count - seen->count,
			.scans = sum.scans - seen->scans,
			.scan_ns = sum.scan_ns - seen->scan_ns,
		};

		strcpy(v.comm, PW_UNATTRIBUTED_COMM);
		err = pw_accounts_add(&km->acc, &k, &v, now);
		if (!err)
			*seen = sum;
	}
	if (!err)
		km->st.unattr_counter = total;
	else if (!km->st.unattr_failed) {
		km->st.unattr_failed = true;
		fprintf(stderr, "portwatch: reading the unattributed counts: %s\n", strerror(-err));
	}
}

/* The counts the consumer took from PW_UNCOUNTED events. */
static void add_event_counts(struct pw_kmaps *km)
{
	struct pw_accounts counts;
	uint64_t lost = 0;
	int err;

	if (!km->mb)
		return;
	pw_mailbox_take_counts(km->mb, &counts);
	err = pw_accounts_merge(&km->acc, &counts, &lost);
	pw_accounts_free(&counts);
	if (err) {
		fprintf(stderr, "portwatch: adding counts from events: %s\n", strerror(-err));
		pw_mailbox_counts_lost(km->mb, lost);
	}
}

/* The per-process map's part of the sync, guarded; the entries it holds
 * after, or -1 when it was not read. */
static long sync_procs(struct pw_kmaps *km, uint64_t now, bool retire)
{
	size_t entries;
	int err;

	add_unattributed(km, now);
	/* rows whose counts are still in the inactive map must not take the
	 * active map's values for theirs: nothing is read until it is drained
	 * (the last room given for new keys stays a true bound meanwhile) */
	if (km->st.drain_pending && !drain_inactive(km, now))
		return -1;
	err = pw_accounts_sync(&km->acc, km->fds.procs[km->st.alt], now, retire);
	if (err) {
		/* the last room given stays a true bound: keys only come in */
		fprintf(stderr, "portwatch: reading per-process counters: %s\n", strerror(-err));
		return -1;
	}
	entries = km->acc.kernel_entries;
	if (retire && (entries >= PW_KMAPS_WATERMARK || km->acc.need_drain) &&
	    swap_and_drain(km, now))
		entries = 0;	/* the new map was empty */
	return (long)entries;
}

void pw_kmaps_sync(struct pw_kmaps *km, bool retire)
{
	/* before the walk: keys made after this are counted twice at most */
	uint64_t inserts = __atomic_load_n(km->fds.procs_inserts, __ATOMIC_ACQUIRE);
	long entries;

	add_event_counts(km);
	pw_fifo_guard_begin();
	entries = sync_procs(km, pw_clock_ns(CLOCK_MONOTONIC), retire);
	pw_fifo_guard_end();
	if (entries < 0)
		return;
	/* the room for keys of outcomes other than EADDRNOTAVAIL (procs_allow
	 * in bpf/state.bpf.h) */
	__atomic_store_n(km->fds.procs_allow,
			 inserts + ((size_t)entries < km->procs_open ? km->procs_open - entries : 0),
			 __ATOMIC_RELEASE);
}
