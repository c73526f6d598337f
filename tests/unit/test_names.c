// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/names.c: errno, cause, mode and family names. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "names.h"

static void test_errno_names(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(pw_errno_name(99), "EADDRNOTAVAIL");
	assert_string_equal(pw_errno_name(111), "ECONNREFUSED");
	assert_string_equal(pw_errno_name(1), "EPERM");
	assert_string_equal(pw_errno_name(115), "EINPROGRESS");
	assert_null(pw_errno_name(0));
	assert_null(pw_errno_name(4242));
	assert_null(pw_errno_name(-99));

	assert_string_equal(pw_errno_label(99, buf, sizeof(buf)), "EADDRNOTAVAIL");
	assert_string_equal(pw_errno_label(4242, buf, sizeof(buf)), "E4242");
	assert_string_equal(buf, "E4242");
	assert_string_equal(pw_errno_label(0, buf, sizeof(buf)), "E0");
	/* a failure whose errno the mode does not see: the summary's key */
	assert_string_equal(pw_errno_label(PW_ERR_UNKNOWN, buf, sizeof(buf)), "unknown");
}

static void test_cause_mode_family_names(void **state)
{
	(void)state;
	assert_null(pw_cause_name(PW_CAUSE_NONE));
	assert_string_equal(pw_cause_name(PW_CAUSE_RANGE_EXHAUSTED), "port_range_exhausted");
	assert_string_equal(pw_cause_name(PW_CAUSE_BOUND_CONFLICT), "bound_port_conflict");
	assert_string_equal(pw_cause_name(PW_CAUSE_NO_SOURCE), "no_source_address");
	assert_string_equal(pw_cause_name(PW_CAUSE_OTHER), "other");
	assert_string_equal(pw_cause_name(PW_CAUSE_AFTER_PORT_SELECTION), "after_port_selection");
	assert_string_equal(pw_cause_name(PW_CAUSE_PORT_IN_USE), "port_in_use");
	assert_null(pw_cause_name(7));
	assert_null(pw_cause_name(255));

	assert_string_equal(pw_mode_name(PW_MODE_FENTRY), "fentry");
	assert_string_equal(pw_mode_name(PW_MODE_KPROBE), "kprobe");
	assert_string_equal(pw_mode_name(PW_MODE_TRACEPOINT), "tracepoint");
	assert_string_equal(pw_mode_name(0), "unknown");
	assert_string_equal(pw_mode_name(4), "unknown");

	assert_string_equal(pw_family_name(AF_INET), "inet");
	assert_string_equal(pw_family_name(AF_INET6), "inet6");
	assert_string_equal(pw_family_name(0), "unknown");
	assert_string_equal(pw_family_name(AF_UNIX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_names),
		cmocka_unit_test(test_cause_mode_family_names),
	};

	return cmocka_run_group_tests_name("test_names", tests, NULL, NULL);
}
