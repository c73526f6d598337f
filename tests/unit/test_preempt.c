// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the preemption model parsers (user/preempt.c), which
 * decide whether auto mode takes kprobe (preemptible kernel) or fentry. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "preempt.h"

static void test_debugfs(void **state)
{
	(void)state;
	/* the kernel's sched/preempt: the running model in parentheses */
	assert_int_equal(pw_preempt_parse_debugfs("none (voluntary) full lazy\n"), PW_PREEMPT_VOLUNTARY);
	assert_int_equal(pw_preempt_parse_debugfs("none voluntary (full) lazy\n"), PW_PREEMPT_FULL);
	assert_int_equal(pw_preempt_parse_debugfs("(full) lazy\n"), PW_PREEMPT_FULL);
	assert_int_equal(pw_preempt_parse_debugfs("full (lazy)\n"), PW_PREEMPT_LAZY);
	assert_int_equal(pw_preempt_parse_debugfs("(none) voluntary full\n"), PW_PREEMPT_NONE);
	assert_int_equal(pw_preempt_parse_debugfs("none voluntary full\n"), PW_PREEMPT_UNKNOWN);
	assert_int_equal(pw_preempt_parse_debugfs("(bogus) full"), PW_PREEMPT_UNKNOWN);
	assert_int_equal(pw_preempt_parse_debugfs("(full"), PW_PREEMPT_UNKNOWN);
	assert_int_equal(pw_preempt_parse_debugfs(""), PW_PREEMPT_UNKNOWN);
}

static void test_cmdline(void **state)
{
	(void)state;
	assert_int_equal(pw_preempt_parse_cmdline("console=ttyS0 preempt=full quiet\n"), PW_PREEMPT_FULL);
	assert_int_equal(pw_preempt_parse_cmdline("preempt=none"), PW_PREEMPT_NONE);
	/* the last one wins, as for the kernel's own parser */
	assert_int_equal(pw_preempt_parse_cmdline("preempt=none preempt=lazy"), PW_PREEMPT_LAZY);
	/* another parameter ending in preempt= is not it */
	assert_int_equal(pw_preempt_parse_cmdline("foo.nopreempt=full"), PW_PREEMPT_UNKNOWN);
	assert_int_equal(pw_preempt_parse_cmdline("preempt=fullx"), PW_PREEMPT_UNKNOWN);
	assert_int_equal(pw_preempt_parse_cmdline("quiet"), PW_PREEMPT_UNKNOWN);
}

static void test_config(void **state)
{
	bool dyn = false;

	(void)state;
	assert_int_equal(pw_preempt_parse_config_line("CONFIG_PREEMPT_VOLUNTARY=y\n", &dyn), PW_PREEMPT_VOLUNTARY);
	assert_int_equal(pw_preempt_parse_config_line("CONFIG_PREEMPT=y\n", &dyn), PW_PREEMPT_FULL);
	assert_int_equal(pw_preempt_parse_config_line("CONFIG_PREEMPT_LAZY=y\n", &dyn), PW_PREEMPT_LAZY);
	assert_int_equal(pw_preempt_parse_config_line("CONFIG_PREEMPT_RT=y\n", &dyn), PW_PREEMPT_RT);
	assert_int_equal(pw_preempt_parse_config_line("CONFIG_PREEMPT_NONE=y\n", &dyn), PW_PREEMPT_NONE);
	/* not the preemption model */
	assert_int_equal(pw_preempt_parse_config_line("CONFIG_PREEMPT_RCU=y\n", &dyn), PW_PREEMPT_UNKNOWN);
	assert_int_equal(pw_preempt_parse_config_line("CONFIG_PREEMPT_COUNT=y\n", &dyn), PW_PREEMPT_UNKNOWN);
	assert_int_equal(pw_preempt_parse_config_line("# CONFIG_PREEMPT is not set\n", &dyn), PW_PREEMPT_UNKNOWN);
	assert_false(dyn);
	assert_int_equal(pw_preempt_parse_config_line("CONFIG_PREEMPT_DYNAMIC=y\n", &dyn), PW_PREEMPT_UNKNOWN);
	assert_true(dyn);
}

static void test_uname_version(void **state)
{
	(void)state;
	/* Debian's arm64 7.2 cloud kernel: CONFIG_PREEMPT=y, not dynamic */
	assert_int_equal(pw_preempt_parse_uname_version("#1 SMP PREEMPT Debian 7.2.13-1 (2026-10-28)"),
			 PW_PREEMPT_FULL);
	assert_int_equal(pw_preempt_parse_uname_version("#1 SMP PREEMPT_RT Debian"), PW_PREEMPT_RT);
	assert_int_equal(pw_preempt_parse_uname_version("#1 SMP PREEMPT_LAZY"), PW_PREEMPT_LAZY);
	/* chosen at boot: not from here */
	assert_int_equal(pw_preempt_parse_uname_version("#1 SMP PREEMPT_DYNAMIC Debian 6.12.118-1"),
			 PW_PREEMPT_UNKNOWN);
	/* no PREEMPT word: built none or voluntary */
	assert_int_equal(pw_preempt_parse_uname_version("#1 SMP Debian 5.10.223-1"), PW_PREEMPT_NONE_OR_VOLUNTARY);
	assert_int_equal(pw_preempt_parse_uname_version("#1 SMP PREEMPTX"), PW_PREEMPT_NONE_OR_VOLUNTARY);
	assert_int_equal(pw_preempt_parse_uname_version(""), PW_PREEMPT_UNKNOWN);
}

static void test_only_full_lazy(void **state)
{
	(void)state;
	assert_true(pw_preempt_only_full_lazy(7, "x86_64"));
	assert_true(pw_preempt_only_full_lazy(7, "aarch64"));
	assert_true(pw_preempt_only_full_lazy(8, "s390x"));
	assert_false(pw_preempt_only_full_lazy(6, "x86_64"));
	/* 32-bit arm, m68k... still offer none and voluntary */
	assert_false(pw_preempt_only_full_lazy(7, "armv7l"));
	assert_false(pw_preempt_only_full_lazy(7, "m68k"));
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(pw_preempt_name(PW_PREEMPT_LAZY), "lazy");
	assert_string_equal(pw_preempt_name(PW_PREEMPT_VOLUNTARY), "voluntary");
	assert_string_equal(pw_preempt_name(-1), "unknown");
	assert_string_equal(pw_preempt_name(PW_PREEMPT_NONE_OR_VOLUNTARY), "none_or_voluntary");
	assert_string_equal(pw_preempt_name(99), "unknown");
}

/* the running kernel: an answer and where it came from, whatever it is */
static void test_detect_running(void **state)
{
	struct pw_preempt p;

	(void)state;
	memset(&p, 0xff, sizeof(p));
	pw_preempt_detect(&p);
	assert_true(p.model >= PW_PREEMPT_UNKNOWN && p.model <= PW_PREEMPT_NONE_OR_VOLUNTARY);
	assert_true(p.source[0] != 0);
	assert_int_equal(p.preemptible, p.model != PW_PREEMPT_NONE && p.model != PW_PREEMPT_VOLUNTARY &&
					p.model != PW_PREEMPT_NONE_OR_VOLUNTARY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debugfs),
		cmocka_unit_test(test_cmdline),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_uname_version),
		cmocka_unit_test(test_only_full_lazy),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_detect_running),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
