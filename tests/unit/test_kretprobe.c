// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/kretprobe.c: the names portwatch gives its
 * kprobe_events entries, and telling whether their maker is gone. */
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

#include "kretprobe.h"

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
		cmocka_unit_test(test_krp_name_round_trip),
		cmocka_unit_test(test_krp_look_alikes),
		cmocka_unit_test(test_proc_start_time),
		cmocka_unit_test(test_krp_owner_alive),
	};

	return cmocka_run_group_tests_name("test_kretprobe", tests, NULL, NULL);
}
