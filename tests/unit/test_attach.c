// SPDX-License-Identifier: GPL-2.0
/* Unit tests for pw_btf_func_arity() (user/attach.c), which picks the fexit
 * program for __inet_hash_connect: 4 arguments up to 6.14, 5 from 6.15
 * (u32 hash_port0). Checked against BTF built here with each kernel's
 * prototype, and against the running kernel's own BTF. The 6.1 and 6.12
 * kernels of the VM matrix are checked there (tests/vm: portwatch reports
 * the arity it found). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <bpf/btf.h>

#include "attach.h"

/* int NAME(struct inet_timewait_death_row *, struct sock *, u64 port_offset,
 *          [u32 hash_port0,] int (*check_established)(...)) */
static struct btf *hash_connect_btf(int arity)
{
	struct btf *btf = btf__new_empty();
	int i32, u32, u64, dr, sk, pdr, psk, cb, pcb, proto;

	assert_non_null(btf);
	i32 = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	u32 = btf__add_int(btf, "unsigned int", 4, 0);
	u64 = btf__add_int(btf, "long long unsigned int", 8, 0);
	dr = btf__add_struct(btf, "inet_timewait_death_row", 0);
	sk = btf__add_struct(btf, "sock", 0);
	pdr = btf__add_ptr(btf, dr);
	psk = btf__add_ptr(btf, sk);
	cb = btf__add_func_proto(btf, i32);
	btf__add_func_param(btf, NULL, pdr);
	btf__add_func_param(btf, NULL, psk);
	pcb = btf__add_ptr(btf, cb);

	proto = btf__add_func_proto(btf, i32);
	assert_true(proto > 0);
	btf__add_func_param(btf, "death_row", pdr);
	btf__add_func_param(btf, "sk", psk);
	btf__add_func_param(btf, "port_offset", u64);
	if (arity == 5)
		btf__add_func_param(btf, "hash_port0", u32);
	btf__add_func_param(btf, "check_established", pcb);
	assert_true(btf__add_func(btf, "__inet_hash_connect", BTF_FUNC_GLOBAL, proto) > 0);
	/* a struct of the same name must not be taken for the function */
	btf__add_struct(btf, "tcp_v4_connect", 0);
	return btf;
}

static void test_arity_up_to_6_14(void **state)
{
	struct btf *btf = hash_connect_btf(4);

	(void)state;
	assert_int_equal(pw_btf_func_arity(btf, "__inet_hash_connect"), 4);
	btf__free(btf);
}

static void test_arity_from_6_15(void **state)
{
	struct btf *btf = hash_connect_btf(5);

	(void)state;
	assert_int_equal(pw_btf_func_arity(btf, "__inet_hash_connect"), 5);
	btf__free(btf);
}

static void test_arity_absent(void **state)
{
	struct btf *btf = hash_connect_btf(4);

	(void)state;
	assert_int_equal(pw_btf_func_arity(btf, "no_such_function"), -ENOENT);
	assert_int_equal(pw_btf_func_arity(btf, "tcp_v4_connect"), -ENOENT);
	btf__free(btf);
}

/* 6.15 and later: 5 arguments; before: 4. The version picks the
 * expectation only; portwatch itself never looks at it. */
static int kernel_at_least(int major, int minor)
{
	struct utsname u;
	int ma = 0, mi = 0;

	if (uname(&u) || sscanf(u.release, "%d.%d", &ma, &mi) != 2)
		return -1;
	return ma > major || (ma == major && mi >= minor);
}

static void test_arity_running_kernel(void **state)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int new = kernel_at_least(6, 15);

	(void)state;
	if (!btf || new < 0) {
		btf__free(btf);
		skip();
	}
	print_message("kernel BTF: __inet_hash_connect has %d arguments\n",
		      pw_btf_func_arity(btf, "__inet_hash_connect"));
	assert_int_equal(pw_btf_func_arity(btf, "__inet_hash_connect"), new ? 5 : 4);
	/* and its callback: rcu_lookup and hash from 6.15 */
	assert_int_equal(pw_btf_func_arity(btf, "__inet_check_established"), new ? 6 : 4);
	/* the stable ones */
	assert_int_equal(pw_btf_func_arity(btf, "tcp_v4_connect"), 3);
	assert_int_equal(pw_btf_func_arity(btf, "inet_hash_connect"), 2);
	btf__free(btf);
}

/* pw_btf_enum_value(): an enumerator of a named or an anonymous enum (the
 * kernel's inet_flags bits, 6.6+, are anonymous), 32 or 64 bits wide. */
static void test_enum_value(void **state)
{
	struct btf *btf = btf__new_empty();
	long long v = -1;

	(void)state;
	assert_non_null(btf);
	assert_true(btf__add_enum(btf, "named", 4) > 0);
	btf__add_enum_value(btf, "NAMED_A", 3);
	assert_true(btf__add_enum(btf, NULL, 4) > 0);
	btf__add_enum_value(btf, "INET_FLAGS_PKTINFO", 0);
	btf__add_enum_value(btf, "INET_FLAGS_DEFER_CONNECT", 19);
	assert_true(btf__add_enum64(btf, "wide", 8, false) > 0);
	btf__add_enum64_value(btf, "WIDE_BIG", 1ull << 40);
	assert_int_equal(pw_btf_enum_value(btf, "INET_FLAGS_DEFER_CONNECT", &v), 0);
	assert_int_equal(v, 19);
	assert_int_equal(pw_btf_enum_value(btf, "NAMED_A", &v), 0);
	assert_int_equal(v, 3);
	assert_int_equal(pw_btf_enum_value(btf, "WIDE_BIG", &v), 0);
	assert_true(v == 1ll << 40);
	assert_int_equal(pw_btf_enum_value(btf, "INET_FLAGS", &v), -ENOENT);
	assert_int_equal(pw_btf_enum_value(btf, "named", &v), -ENOENT);
	btf__free(btf);
}

/* The running kernel: INET_FLAGS_DEFER_CONNECT exists from 6.6 (19 up to
 * 6.18 at least), not before (a bitfield of inet_sock then). */
static void test_enum_running_kernel(void **state)
{
	struct btf *btf = btf__load_vmlinux_btf();
	int new = kernel_at_least(6, 6);
	long long v = -1;

	(void)state;
	if (!btf || new < 0) {
		btf__free(btf);
		skip();
	}
	assert_int_equal(pw_btf_enum_value(btf, "INET_FLAGS_DEFER_CONNECT", &v), new ? 0 : -ENOENT);
	if (new)
		assert_true(v >= 0 && v < 64);
	btf__free(btf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arity_up_to_6_14),
		cmocka_unit_test(test_arity_from_6_15),
		cmocka_unit_test(test_arity_absent),
		cmocka_unit_test(test_arity_running_kernel),
		cmocka_unit_test(test_enum_value),
		cmocka_unit_test(test_enum_running_kernel),
	};

	return cmocka_run_group_tests_name("test_attach", tests, NULL, NULL);
}
