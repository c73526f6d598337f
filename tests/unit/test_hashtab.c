// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/hashtab.c (the bounded open-addressing table), and the
 * shared helpers of user/util.h and user/dest.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "hashtab.h"
#include "util.h"
#include "dest.h"
#include "output.h"

/* An entry: key 0 = empty; `expired` makes it free for another key. */
struct ent {
	uint64_t key;
	bool expired;
	int val;
};

static enum pw_htab_slot classify(const void *slot, const void *key)
{
	const struct ent *e = slot;
	uint64_t k = *(const uint64_t *)key;

	if (!e->key)
		return PW_HT_EMPTY;
	if (e->key == k)
		return PW_HT_MATCH;
	return e->expired ? PW_HT_FREE : PW_HT_TAKEN;
}

/* Insert k with home slot h; the slot index, or -1 when no room. */
static long put(struct pw_htab *t, uint64_t h, uint64_t k, int val)
{
	bool found;
	struct ent *e = pw_htab_find(t, h, classify, &k, &found);

	if (!e)
		return -1;
	if (!found) {
		memset(e, 0, sizeof(*e));
		e->key = k;
	}
	e->val = val;
	return ((unsigned char *)e - t->slots) / sizeof(*e);
}

static struct ent *get(struct pw_htab *t, uint64_t h, uint64_t k)
{
	bool found;
	struct ent *e = pw_htab_find(t, h, classify, &k, &found);

	return found ? e : NULL;
}

static void test_init_rounds_and_bounds(void **state)
{
	struct pw_htab t;

	(void)state;
	assert_int_equal(pw_htab_init(&t, 100, sizeof(struct ent), 8), 0);
	assert_int_equal(pw_htab_slots(&t), 128);
	assert_int_equal(t.probes, 8);
	pw_htab_free(&t);
	assert_null(t.slots);
	assert_int_equal(pw_htab_init(&t, 64, sizeof(struct ent), 0), 0);
	assert_int_equal(pw_htab_slots(&t), 64);
	assert_int_equal(t.probes, 64);		/* 0: the whole table */
	pw_htab_free(&t);
	assert_int_equal(pw_htab_init(&t, 4, sizeof(struct ent), 1000), 0);
	assert_int_equal(t.probes, 4);		/* never more than the table */
	pw_htab_free(&t);
	assert_int_equal(pw_htab_init(&t, 0, 1, 0), 0);
	assert_int_equal(pw_htab_slots(&t), 1);
	pw_htab_free(&t);
	assert_int_equal(pw_htab_init(&t, 8, 0, 0), -EINVAL);
	assert_int_equal(pw_htab_init(&t, SIZE_MAX, 16, 0), -EINVAL);
	assert_int_equal(pw_htab_init(&t, (SIZE_MAX >> 4) + 2, 16, 0), -EINVAL);
	assert_null(t.slots);
}

static void test_insert_find_collide_wrap(void **state)
{
	struct pw_htab t;

	(void)state;
	assert_int_equal(pw_htab_init(&t, 8, sizeof(struct ent), 0), 0);
	/* three keys with the same home slot 6: 6, 7, then 0 (wrapped) */
	assert_int_equal(put(&t, 6, 11, 1), 6);
	assert_int_equal(put(&t, 6, 12, 2), 7);
	assert_int_equal(put(&t, 6 + 8, 13, 3), 0);	/* home taken modulo the size */
	assert_int_equal(put(&t, 6, 12, 22), 7);	/* the key again: its slot */
	assert_int_equal(get(&t, 6, 11)->val, 1);
	assert_int_equal(get(&t, 6, 12)->val, 22);
	assert_int_equal(get(&t, 6, 13)->val, 3);
	assert_null(get(&t, 6, 14));
	assert_null(get(&t, 1, 11));			/* another home: empty there */
	pw_htab_clear(&t);
	assert_null(get(&t, 6, 11));
	assert_int_equal(put(&t, 6, 13, 3), 6);
	pw_htab_free(&t);
}

static void test_probe_bound_full(void **state)
{
	struct pw_htab t;

	(void)state;
	assert_int_equal(pw_htab_init(&t, 16, sizeof(struct ent), 4), 0);
	for (uint64_t k = 1; k <= 4; k++)
		assert_int_equal(put(&t, 2, k, (int)k), 1 + k);
	/* 4 slots searched, all taken: no room, though 12 slots are empty */
	assert_int_equal(put(&t, 2, 5, 5), -1);
	assert_null(get(&t, 2, 5));
	assert_int_equal(put(&t, 3, 5, 5), 6);		/* from slot 3: 6 is in reach */
	/* every key still found */
	for (uint64_t k = 1; k <= 4; k++)
		assert_int_equal(get(&t, 2, k)->val, (int)k);
	pw_htab_free(&t);

	/* the whole table searched: full means no room */
	assert_int_equal(pw_htab_init(&t, 4, sizeof(struct ent), 0), 0);
	for (uint64_t k = 1; k <= 4; k++)
		assert_true(put(&t, k, k, 0) >= 0);
	assert_int_equal(put(&t, 0, 9, 0), -1);
	for (uint64_t k = 1; k <= 4; k++)
		assert_non_null(get(&t, 0, k));
	pw_htab_free(&t);
}

static void test_free_slots_reused(void **state)
{
	struct pw_htab t;
	struct ent *e;

	(void)state;
	assert_int_equal(pw_htab_init(&t, 16, sizeof(struct ent), 4), 0);
	for (uint64_t k = 1; k <= 3; k++)
		put(&t, 0, k, (int)k);			/* slots 0, 1, 2 */
	get(&t, 0, 1)->expired = true;
	get(&t, 0, 2)->expired = true;
	/* a free slot does not end the search: key 3 beyond it is found */
	e = get(&t, 0, 3);
	assert_non_null(e);
	assert_int_equal(e->val, 3);
	/* a new key takes the first free slot, not the empty one after */
	assert_int_equal(put(&t, 0, 7, 7), 0);
	assert_int_equal(put(&t, 0, 8, 8), 1);
	assert_int_equal(put(&t, 0, 9, 9), 3);		/* none free: the empty slot 3 */
	assert_int_equal(put(&t, 0, 10, 10), -1);	/* 4 probes, all taken */
	pw_htab_free(&t);
}

static void test_util_and_dest(void **state)
{
	const char s[] = "a";
	struct pw_dest a, b;
	uint8_t v4[16] = { 127, 0, 0, 1 };
	char text[64];

	(void)state;
	/* FNV-1a's published vectors (64-bit): "" and "a" */
	assert_true(pw_fnv1a(PW_FNV1A_INIT, "", 0) == 0xcbf29ce484222325ull);
	assert_true(pw_fnv1a(PW_FNV1A_INIT, s, 1) == 0xaf63dc4c8601ec8cull);
	assert_true(pw_fnv1a_str(PW_FNV1A_INIT, s) == 0xaf63dc4c8601ec8cull);
	assert_true(pw_clock_ns(CLOCK_MONOTONIC) > 0);

	pw_dest_set(&a, AF_INET, v4, 80);
	pw_dest_set(&b, AF_INET, v4, 80);
	assert_true(pw_dest_eq(&a, &b));
	assert_true(pw_dest_hash(&a, 1) == pw_dest_hash(&b, 1));
	b.port = 81;
	assert_false(pw_dest_eq(&a, &b));
	b.port = 80;
	b.family = AF_INET6;
	assert_false(pw_dest_eq(&a, &b));
	b.family = AF_INET;
	b.addr[15] = 1;
	assert_false(pw_dest_eq(&a, &b));
	assert_true(pw_dest_hash(&a, 1) != pw_dest_hash(&b, 1));
	assert_true(pw_dest_hash(&a, 1) != pw_dest_hash(&a, 2));	/* the seed counts */

	pw_dest_text(text, sizeof(text), &a);
	assert_string_equal(text, "127.0.0.1:80");
	memset(v4, 0, sizeof(v4));
	v4[15] = 1;
	pw_dest_set(&b, AF_INET6, v4, 443);
	pw_dest_text(text, sizeof(text), &b);
	assert_string_equal(text, "[::1]:443");
	pw_dest_text(text, 5, &b);		/* too small: empty, never cut */
	assert_string_equal(text, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_rounds_and_bounds),
		cmocka_unit_test(test_insert_find_collide_wrap),
		cmocka_unit_test(test_probe_bound_full),
		cmocka_unit_test(test_free_slots_reused),
		cmocka_unit_test(test_util_and_dest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
