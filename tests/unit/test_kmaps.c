// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/kmaps.c, the kernel's maps -> the accounts, on real
 * BPF maps shaped as the program's (root only; skipped otherwise): per-CPU
 * sums, the per-process sync and the room it gives programs for new keys,
 * the swap-and-drain of the double buffer, the unattributed counts and the
 * counts taken from events. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "kmaps_fixture.h"
#include "mailbox.h"

static void test_percpu_sums(void **state)
{
	struct kfx x;
	uint64_t lost, full, two[2];

	(void)state;
	kfx_init(&x, NULL, 100);
	lost = kfx_set_counter(&x, PW_CNT_EVENTS_LOST, 3);
	full = kfx_set_counter(&x, PW_CNT_OUTCOMES_LOST, 5);
	assert_int_equal(lost, 3ull * x.ncpu * (x.ncpu + 1) / 2);
	assert_int_equal(pw_kmaps_counter(&x.km, PW_CNT_EVENTS_LOST), lost);
	assert_int_equal(pw_kmaps_read_percpu(x.km.fds.counters, PW_CNT_EVENTS_LOST, 2, two), 0);
	assert_int_equal(two[0], lost);
	assert_int_equal(two[1], full);
	/* past the array: an error, not a made-up 0 */
	assert_true(pw_kmaps_read_percpu(x.km.fds.counters, PW_CNT_MAX, 1, two) < 0);
	kfx_free(&x);
}

/* Entries are read as cumulative values (never added twice), and the room
 * for new keys is what procs_open leaves above the entries, from the
 * inserts counted before the walk. */
static void test_sync_and_room(void **state)
{
	struct kfx x;
	uint32_t me = getpid();

	(void)state;
	kfx_init(&x, NULL, 100);
	kfx_put(x.km.fds.procs[0], me, 99, 5, "gen");
	kfx_put(x.km.fds.procs[0], me, 0, 2, "gen");
	kfx_put(x.km.fds.procs[0], me, 111, 1, "gen");
	x.inserts = 3;
	pw_kmaps_sync(&x.km, false);
	assert_int_equal(kfx_count(&x.km.acc, me, 99), 5);
	assert_int_equal(kfx_count(&x.km.acc, me, 0), 2);
	assert_int_equal(kfx_count(&x.km.acc, me, 111), 1);
	assert_int_equal(x.allow, 3 + (100 - 3));
	kfx_put(x.km.fds.procs[0], me, 99, 8, "gen");
	pw_kmaps_sync(&x.km, false);
	assert_int_equal(kfx_count(&x.km.acc, me, 99), 8);
	kfx_free(&x);
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);

	assert_int_equal(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
	return info.id;
}

/* At the watermark a retiring sync swaps the maps and drains the old one:
 * the counts stay, the old map is empty, the programs' map is the other,
 * the whole room is given again; later counts in the new map add up. */
static void test_swap_at_watermark(void **state)
{
	struct kfx x;
	uint32_t me = getpid();
	struct pw_proc_key k;
	__u32 zero = 0, active;
	uint64_t sum = 0;

	(void)state;
	kfx_init(&x, NULL, 100);
	for (uint16_t e = 1; e <= PW_KMAPS_WATERMARK; e++)
		kfx_put(x.km.fds.procs[0], me, e, 1, "gen");
	x.inserts = PW_KMAPS_WATERMARK;
	pw_kmaps_sync(&x.km, true);
	assert_int_equal(bpf_map_lookup_elem(x.km.fds.procs_active, &zero, &active), 0);
	assert_int_equal(active, map_id(x.km.fds.procs[1]));
	assert_int_not_equal(bpf_map_get_next_key(x.km.fds.procs[0], NULL, &k), 0);
	for (size_t i = 0; i < x.km.acc.n; i++) {
		struct pw_proc_val t;

		pw_row_total(&x.km.acc.rows[i], &t);
		sum += t.count;
	}
	assert_int_equal(sum, PW_KMAPS_WATERMARK);
	assert_int_equal(x.allow, PW_KMAPS_WATERMARK + 100);
	kfx_put(x.km.fds.procs[1], me, 1, 4, "gen");
	pw_kmaps_sync(&x.km, true);
	assert_int_equal(kfx_count(&x.km.acc, me, 1), 5);
	assert_int_equal(x.allow, PW_KMAPS_WATERMARK + 100 - 1);
	kfx_free(&x);
}

static void set_unattr(struct kfx *x, __u32 slot, uint64_t per_cpu)
{
	struct pw_unattr_val vals[x->ncpu];

	memset(vals, 0, sizeof(vals));
	for (int c = 0; c < x->ncpu; c++)
		vals[c].count = per_cpu;
	assert_int_equal(bpf_map_update_elem(x->km.fds.unattributed, &slot, vals, BPF_ANY), 0);
}

/* The unattributed slots become pid 0 rows, added once, read only when
 * PW_CNT_UNATTRIBUTED moved. */
static void test_unattributed_rows(void **state)
{
	struct kfx x;
	const __u32 slot = 111;	/* AF_INET, ECONNREFUSED */

	(void)state;
	kfx_init(&x, NULL, 100);
	set_unattr(&x, slot, 2);
	kfx_set_counter(&x, PW_CNT_UNATTRIBUTED, 2);
	pw_kmaps_sync(&x.km, false);
	assert_int_equal(kfx_count(&x.km.acc, 0, 111), 2ull * x.ncpu);
	assert_string_equal(x.km.acc.rows[0].cur.comm[0] ? x.km.acc.rows[0].cur.comm :
			    x.km.acc.rows[0].base.comm, PW_UNATTRIBUTED_COMM);
	pw_kmaps_sync(&x.km, false);
	assert_int_equal(kfx_count(&x.km.acc, 0, 111), 2ull * x.ncpu);
	set_unattr(&x, slot, 3);	/* the counter did not move: not read */
	pw_kmaps_sync(&x.km, false);
	assert_int_equal(kfx_count(&x.km.acc, 0, 111), 2ull * x.ncpu);
	kfx_set_counter(&x, PW_CNT_UNATTRIBUTED, 3);
	pw_kmaps_sync(&x.km, false);
	assert_int_equal(kfx_count(&x.km.acc, 0, 111), 3ull * x.ncpu);
	kfx_free(&x);
}

/* Counts of PW_UNCOUNTED events reach the accounts at the next sync, once. */
static void test_event_counts(void **state)
{
	struct pw_mailbox *mb = pw_mailbox_new();
	struct pw_proc_key k = { .tgid = 4242, .err = 99, .family = AF_INET };
	struct pw_proc_val v = fx_val(1, 0, 0, "gen");
	struct pw_mailbox_losses l;
	struct kfx x;

	(void)state;
	assert_non_null(mb);
	kfx_init(&x, mb, 100);
	pw_mailbox_count(mb, &k, &v, 1);
	pw_mailbox_count(mb, &k, &v, 2);
	pw_kmaps_sync(&x.km, false);
	assert_int_equal(kfx_count(&x.km.acc, 4242, 99), 2);
	pw_kmaps_sync(&x.km, false);
	assert_int_equal(kfx_count(&x.km.acc, 4242, 99), 2);
	pw_mailbox_losses(mb, &l);
	assert_int_equal(l.counts_dropped, 0);
	kfx_free(&x);
	pw_mailbox_free(mb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_percpu_sums),
		cmocka_unit_test(test_sync_and_room),
		cmocka_unit_test(test_swap_at_watermark),
		cmocka_unit_test(test_unattributed_rows),
		cmocka_unit_test(test_event_counts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
