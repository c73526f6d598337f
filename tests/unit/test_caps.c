// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/caps.c: pw_privs_can_load against the kernel's own
 * account of the effective set (/proc/self/status CapEff), and, as root, in
 * a child that holds chosen capabilities under another uid. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cap-ng.h>
#include <linux/capability.h>
#include <cmocka.h>

#include "caps.h"

static uint64_t cap_eff(void)
{
	char line[256];
	unsigned long long v = 0;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

static bool expected(void)
{
	uint64_t e = cap_eff();

	return geteuid() == 0 || e & 1ull << CAP_SYS_ADMIN ||
	       ((e & 1ull << CAP_BPF) && (e & 1ull << CAP_PERFMON));
}

static void test_can_load_self(void **state)
{
	(void)state;
	assert_int_equal(pw_privs_can_load(), expected());
}

/* In a child as nobody holding exactly `caps`: pw_privs_can_load's answer,
 * checked against CapEff there; the exit status says it matched. */
static int child_with(const int *caps, int n)
{
	pid_t pid = fork();
	int st;

	if (!pid) {
		capng_clear(CAPNG_SELECT_BOTH);
		for (int i = 0; i < n; i++)
			capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, caps[i]);
		if (capng_change_id(65534, 65534, CAPNG_DROP_SUPP_GRP))
			_exit(3);
		if (geteuid() != 65534)
			_exit(4);
		_exit(pw_privs_can_load() == expected() ? (pw_privs_can_load() ? 0 : 1) : 2);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void test_can_load_caps(void **state)
{
	const int bpf_perfmon[] = { CAP_BPF, CAP_PERFMON }, bpf[] = { CAP_BPF },
		  admin[] = { CAP_SYS_ADMIN }, ptrace[] = { CAP_SYS_PTRACE };

	(void)state;
	if (geteuid() != 0 || capng_get_caps_process() ||
	    !capng_have_capability(CAPNG_EFFECTIVE, CAP_SETUID) ||
	    !capng_have_capability(CAPNG_EFFECTIVE, CAP_BPF))
		skip();		/* needs root with CAP_SETUID on a kernel with CAP_BPF */
	assert_int_equal(child_with(bpf_perfmon, 2), 0);
	assert_int_equal(child_with(admin, 1), 0);
	assert_int_equal(child_with(bpf, 1), 1);
	assert_int_equal(child_with(ptrace, 1), 1);
	assert_int_equal(child_with(NULL, 0), 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_can_load_self),
		cmocka_unit_test(test_can_load_caps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
