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

/* ---- kprobe_events names (issue 15: only portwatch's own, of processes
 * that are gone, are ever removed) ---- */

static void test_krp_name_round_trip(void **state)
{
	struct pw_krp_owner o = { .pidns = 4026531836ull, .pid = 4194304,
				  .start = 123456789012ull }, got;
	char name[PW_KRP_EVENT_MAX], line[256], ev[PW_KRP_EVENT_MAX];

	(void)state;
	assert_int_equal(pw_krp_event_name(name, sizeof(name), &o, "krp_hash_connect"), 0);
	assert_string_equal(name, "pw_4026531836_4194304_123456789012_krp_hash_connect");
	/* as the kernel lists it, with maxactive and without */
	snprintf(line, sizeof(line), "r1024:portwatch/%s __inet_hash_connect\n", name);
	assert_true(pw_krp_parse(line, &got, ev, sizeof(ev)));
	assert_string_equal(ev, name);
	assert_true(got.pidns == o.pidns && got.pid == o.pid && got.start == o.start);
	snprintf(line, sizeof(line), "r:portwatch/%s __inet_hash_connect", name);
	assert_true(pw_krp_parse(line, &got, ev, sizeof(ev)));
	assert_string_equal(ev, name);
	/* longest start time: still fits the kernel's 64 */
	o.start = ~0ull;
	assert_int_equal(pw_krp_event_name(name, sizeof(name), &o, "krp_hash_connect"), 0);
	assert_true(strlen(name) < PW_KRP_EVENT_MAX);
}

/* Another tool's entries, and anything not exactly portwatch's form, are
 * never taken for portwatch's. */
static void test_krp_look_alikes(void **state)
{
	static const char *const lines[] = {
		/* the old form, which any tool could use */
		"r1024:kprobes/pw_123_krp_v4_connect tcp_v4_connect",
		/* portwatch's form in another group */
		"r:kprobes/pw_4026531836_123_456_krp_v4_connect tcp_v4_connect",
		"r:portwatch2/pw_4026531836_123_456_krp_v4_connect tcp_v4_connect",
		"r:portwatc/pw_4026531836_123_456_krp_v4_connect tcp_v4_connect",
		/* a kprobe, not a kretprobe */
		"p:portwatch/pw_4026531836_123_456_krp_v4_connect tcp_v4_connect",
		/* malformed names in the group */
		"r:portwatch/pw_4026531836_123_krp_v4_connect tcp_v4_connect",
		"r:portwatch/pwx_4026531836_123_456_krp_v4_connect tcp_v4_connect",
		"r:portwatch/pw_4026531836_123_456_kp_v4_connect tcp_v4_connect",
		"r:portwatch/pw_4026531836_0_456_krp_v4_connect tcp_v4_connect",
		"r:portwatch/pw_4026531836_99999999999_456_krp_v4_connect tcp_v4_connect",
		"r:portwatch/pw_4026531836_123_456_krp_v4-connect tcp_v4_connect",
		"r:portwatch/pw_4026531836_-123_456_krp_v4_connect tcp_v4_connect",
		"r:portwatch/pw_99999999999999999999999_123_456_krp_v4 tcp_v4_connect",
		"r1024x:portwatch/pw_4026531836_123_456_krp_v4_connect tcp_v4_connect",
		"",
		"r",
	};
	struct pw_krp_owner o;
	char ev[PW_KRP_EVENT_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (pw_krp_parse(lines[i], &o, ev, sizeof(ev)))
			fail_msg("taken for portwatch's: '%s'", lines[i]);
	}
	/* an event name that would not fit the buffer is not taken either */
	assert_false(pw_krp_parse("r:portwatch/pw_1_2_3_krp_v4_connect f", &o, ev, 8));
}

/* The start time survives a comm with spaces and parentheses. */
static void test_proc_start_time(void **state)
{
	unsigned long long a = 0, b = 0;
	char old[17] = "";

	(void)state;
	assert_int_equal(pw_proc_start_time(getpid(), &a), 0);
	assert_true(a > 0);
	prctl(PR_GET_NAME, old, 0, 0, 0);
	prctl(PR_SET_NAME, "x) 1 2 (y) z", 0, 0, 0);
	assert_int_equal(pw_proc_start_time(getpid(), &b), 0);
	prctl(PR_SET_NAME, old, 0, 0, 0);
	assert_true(a == b);
	assert_int_equal(pw_proc_start_time(0x7ffffff0, &b), -ENOENT);
}

static void test_krp_owner_alive(void **state)
{
	struct pw_krp_owner me = { .pid = getpid() }, o;
	struct stat st;
	pid_t child;
	int status;

	(void)state;
	assert_int_equal(stat("/proc/self/ns/pid", &st), 0);
	me.pidns = st.st_ino;
	assert_int_equal(pw_proc_start_time(me.pid, &me.start), 0);
	/* this process: alive */
	assert_int_equal(pw_krp_owner_alive(&me, me.pidns, true), 1);
	/* its pid with another start time: a reused pid, the maker is gone */
	o = me;
	o.start = me.start + 1;
	assert_int_equal(pw_krp_owner_alive(&o, me.pidns, true), 0);
	/* a process that exited */
	child = fork();
	assert_true(child >= 0);
	if (!child)
		_exit(0);
	assert_int_equal(waitpid(child, &status, 0), child);
	o.pid = child;
	assert_int_equal(pw_krp_owner_alive(&o, me.pidns, true), 0);
	/* another pid namespace: seen from the initial one, this process
	 * under a made-up namespace is nobody; from any other, unknown */
	o = me;
	o.pidns = me.pidns + 1;
	assert_true(pw_krp_owner_alive(&o, me.pidns, false) < 0);
	if (st.st_ino == 0xEFFFFFFCu)
		assert_int_equal(pw_krp_owner_alive(&o, me.pidns, true), 0);
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
		cmocka_unit_test(test_krp_name_round_trip),
		cmocka_unit_test(test_krp_look_alikes),
		cmocka_unit_test(test_proc_start_time),
		cmocka_unit_test(test_krp_owner_alive),
	};

	return cmocka_run_group_tests_name("test_attach", tests, NULL, NULL);
}
