// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/cli.c: value parsers and argp parsing into struct env. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <argp.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cli.h"

/* ---- pw_parse_uint ---- */

static void test_parse_uint_valid(void **state)
{
	unsigned long v = 0;

	(void)state;
	assert_int_equal(pw_parse_uint("1", 1, 10, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(pw_parse_uint("10", 1, 10, &v), 0);	/* max inclusive */
	assert_int_equal(v, 10);
	assert_int_equal(pw_parse_uint("0", 0, 10, &v), 0);	/* min inclusive */
	assert_int_equal(v, 0);
	assert_int_equal(pw_parse_uint("007", 1, 10, &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(pw_parse_uint("4194304", 1, 4194304, &v), 0);
	assert_int_equal(v, 4194304);
}

static void test_parse_uint_range(void **state)
{
	unsigned long v = 12345;

	(void)state;
	assert_int_equal(pw_parse_uint("0", 1, 10, &v), -ERANGE);
	assert_int_equal(pw_parse_uint("11", 1, 10, &v), -ERANGE);
	assert_int_equal(pw_parse_uint("4194305", 1, 4194304, &v), -ERANGE);
	assert_int_equal(pw_parse_uint("99999999999999999999", 0, ~0ul, &v), -ERANGE);
	assert_int_equal(pw_parse_uint("18446744073709551615", 0, ~0ul, &v), 0);
	assert_true(v == ~0ul);
	v = 12345;
	assert_int_equal(pw_parse_uint("18446744073709551616", 0, ~0ul, &v), -ERANGE);
	assert_int_equal(v, 12345);	/* untouched on error */
}

static void test_parse_uint_invalid(void **state)
{
	unsigned long v = 12345;

	(void)state;
	assert_int_equal(pw_parse_uint("-1", 0, 10, &v), -EINVAL);
	assert_int_equal(pw_parse_uint("+1", 0, 10, &v), -EINVAL);
	assert_int_equal(pw_parse_uint("", 0, 10, &v), -EINVAL);
	assert_int_equal(pw_parse_uint(NULL, 0, 10, &v), -EINVAL);
	assert_int_equal(pw_parse_uint("12x", 0, 100, &v), -EINVAL);
	assert_int_equal(pw_parse_uint(" 1", 0, 10, &v), -EINVAL);
	assert_int_equal(pw_parse_uint("\t5", 0, 10, &v), -EINVAL);
	assert_int_equal(pw_parse_uint("\n5", 0, 10, &v), -EINVAL);
	assert_int_equal(pw_parse_uint("1 ", 0, 10, &v), -EINVAL);
	assert_int_equal(pw_parse_uint("0x10", 0, 100, &v), -EINVAL);
	assert_int_equal(pw_parse_uint("1.5", 0, 10, &v), -EINVAL);
	assert_int_equal(pw_parse_uint("abc", 0, 10, &v), -EINVAL);
	assert_int_equal(v, 12345);
}

/* ---- pw_parse_dports ---- */

static void test_parse_dports_valid(void **state)
{
	uint16_t p[PW_MAX_DPORTS];
	unsigned int n = 99;

	(void)state;
	assert_int_equal(pw_parse_dports("80", p, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], 80);

	assert_int_equal(pw_parse_dports("80,443", p, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0], 80);
	assert_int_equal(p[1], 443);

	assert_int_equal(pw_parse_dports("1,2,3,4,5,6,7,65535", p, &n), 0);
	assert_int_equal(n, 8);
	for (unsigned int i = 0; i < 7; i++)
		assert_int_equal(p[i], i + 1);
	assert_int_equal(p[7], 65535);
}

static void test_parse_dports_invalid(void **state)
{
	uint16_t p[PW_MAX_DPORTS + 4];
	unsigned int n = 99;

	(void)state;
	assert_int_equal(pw_parse_dports("1,2,3,4,5,6,7,8,9", p, &n), -E2BIG);
	assert_int_equal(pw_parse_dports("0", p, &n), -ERANGE);
	assert_int_equal(pw_parse_dports("65536", p, &n), -ERANGE);
	assert_int_equal(pw_parse_dports("80,,443", p, &n), -EINVAL);
	assert_int_equal(pw_parse_dports("80,", p, &n), -EINVAL);
	assert_int_equal(pw_parse_dports(",80", p, &n), -EINVAL);
	assert_int_equal(pw_parse_dports(",", p, &n), -EINVAL);
	assert_int_equal(pw_parse_dports("abc", p, &n), -EINVAL);
	assert_int_equal(pw_parse_dports("80,abc", p, &n), -EINVAL);
	assert_int_equal(pw_parse_dports("80, 443", p, &n), -EINVAL);
	assert_int_equal(pw_parse_dports("-80", p, &n), -EINVAL);
	assert_int_equal(pw_parse_dports("", p, &n), -EINVAL);
	assert_int_equal(pw_parse_dports(NULL, p, &n), -EINVAL);
	assert_int_equal(n, 99);	/* count untouched on every error */
}

/* ---- pw_parse_mode ---- */

static void test_parse_mode(void **state)
{
	enum pw_mode_req m = (enum pw_mode_req)99;

	(void)state;
	assert_int_equal(pw_parse_mode("auto", &m), 0);
	assert_int_equal(m, PW_REQ_AUTO);
	assert_int_equal(pw_parse_mode("fentry", &m), 0);
	assert_int_equal(m, PW_REQ_FENTRY);
	assert_int_equal(m, PW_MODE_FENTRY);
	assert_int_equal(pw_parse_mode("kprobe", &m), 0);
	assert_int_equal(m, PW_REQ_KPROBE);
	assert_int_equal(m, PW_MODE_KPROBE);
	assert_int_equal(pw_parse_mode("tracepoint", &m), 0);
	assert_int_equal(m, PW_REQ_TRACEPOINT);
	assert_int_equal(m, PW_MODE_TRACEPOINT);

	assert_int_equal(pw_parse_mode("Auto", &m), -EINVAL);
	assert_int_equal(pw_parse_mode("", &m), -EINVAL);
	assert_int_equal(pw_parse_mode("kprobes", &m), -EINVAL);
	assert_int_equal(pw_parse_mode("fentry ", &m), -EINVAL);
	assert_int_equal(pw_parse_mode(NULL, &m), -EINVAL);
	assert_int_equal(m, PW_REQ_TRACEPOINT);	/* untouched on error */
}

/* ---- pw_parse_listen ---- */

static void test_parse_listen_valid(void **state)
{
	char host[64];
	uint16_t port = 0;

	(void)state;
	assert_int_equal(pw_parse_listen("127.0.0.1:10099", host, sizeof(host), &port), 0);
	assert_string_equal(host, "127.0.0.1");
	assert_int_equal(port, 10099);

	memset(host, 'x', sizeof(host));
	assert_int_equal(pw_parse_listen(":10099", host, sizeof(host), &port), 0);
	assert_string_equal(host, "");
	assert_int_equal(port, 10099);

	assert_int_equal(pw_parse_listen("[::1]:10099", host, sizeof(host), &port), 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 10099);

	assert_int_equal(pw_parse_listen("[2001:db8::1]:65535", host, sizeof(host), &port), 0);
	assert_string_equal(host, "2001:db8::1");
	assert_int_equal(port, 65535);

	assert_int_equal(pw_parse_listen("0.0.0.0:1", host, sizeof(host), &port), 0);
	assert_string_equal(host, "0.0.0.0");
	assert_int_equal(port, 1);
}

static void test_parse_listen_invalid(void **state)
{
	char host[64], small[4];
	uint16_t port = 4321;

	(void)state;
	assert_int_equal(pw_parse_listen("::1:10099", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("127.0.0.1", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("127.0.0.1:", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("127.0.0.1:0", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("127.0.0.1:65536", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("127.0.0.1:http", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("localhost:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("[::1]10099", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("[::1:10099", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("[::1]:", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("[nothost]:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("[]:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("[127.0.0.1]:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("1.2.3.4:\t80", host, sizeof(host), &port), -EINVAL);
	strcpy(host, "keep");
	assert_int_equal(pw_parse_listen("localhost:80", host, sizeof(host), &port), -EINVAL);
	assert_string_equal(host, "keep");	/* not overwritten on error */
	assert_int_equal(pw_parse_listen("256.0.0.1:80", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen("", host, sizeof(host), &port), -EINVAL);
	assert_int_equal(pw_parse_listen(NULL, host, sizeof(host), &port), -EINVAL);
	/* host longer than the buffer */
	assert_int_equal(pw_parse_listen("10.0.0.1:80", small, sizeof(small), &port), -EINVAL);
	assert_int_equal(port, 4321);	/* untouched on every error */
}

/* ---- pw_parse_args ---- */

#define MAX_ARGS 32

struct args {
	int argc;
	char *argv[MAX_ARGS + 1];
	char store[MAX_ARGS][128];
};

/* argv from a NULL-terminated list of literals, in writable buffers. */
static struct args *mkargs(struct args *a, ...)
{
	va_list ap;
	const char *s;

	memset(a, 0, sizeof(*a));
	strcpy(a->store[0], "portwatch");
	a->argv[a->argc] = a->store[a->argc];
	a->argc++;
	va_start(ap, a);
	while ((s = va_arg(ap, const char *)) != NULL) {
		assert_true(a->argc < MAX_ARGS);
		assert_true(strlen(s) < sizeof(a->store[0]));
		strcpy(a->store[a->argc], s);
		a->argv[a->argc] = a->store[a->argc];
		a->argc++;
	}
	va_end(ap);
	a->argv[a->argc] = NULL;
	return a;
}

/* static: env keeps pointers into argv (--netns) past the statement */
#define PARSE(env, ...) ({ \
	static struct args _a; \
	mkargs(&_a, ##__VA_ARGS__, (const char *)NULL); \
	memset((env), 0, sizeof(*(env))); \
	pw_parse_args(_a.argc, _a.argv, (env), ARGP_SILENT); })

static void test_args_defaults(void **state)
{
	struct env env, zero;

	(void)state;
	memset(&zero, 0, sizeof(zero));
	/* everything off but the documented defaults */
	zero.max_pids = PW_DEFAULT_MAX_PIDS;
	zero.warn_at = PW_DEFAULT_WARN_AT;
	assert_int_equal(PARSE(&env), 0);
	assert_memory_equal(&env, &zero, sizeof(env));
	assert_int_equal(env.max_pids, 1024);
	assert_int_equal(env.warn_at, 80);
	assert_false(env.census);
	assert_null(env.netns);
	assert_int_equal(env.mode, PW_REQ_AUTO);
	assert_false(env.all);
	assert_false(env.json);
	assert_false(env.comm_set);
	assert_false(env.listen_set);
	assert_int_equal(env.ndports, 0);
	assert_int_equal(env.pid, 0);
	assert_int_equal(env.interval_s, 0);
	assert_int_equal(env.duration_s, 0);
}

static void test_args_flags(void **state)
{
	struct env env;

	(void)state;
	assert_int_equal(PARSE(&env, "-a", "-j", "-q", "-S", "-v"), 0);
	assert_true(env.all);
	assert_true(env.json);
	assert_true(env.quiet);
	assert_true(env.scan_depth);
	assert_true(env.verbose);
	assert_int_equal(env.mode, PW_REQ_AUTO);
	assert_int_equal(env.pid, 0);
	assert_false(env.comm_set);
	assert_false(env.listen_set);

	/* grouped short options */
	assert_int_equal(PARSE(&env, "-ajqSv"), 0);
	assert_true(env.all && env.json && env.quiet && env.scan_depth && env.verbose);

	assert_int_equal(PARSE(&env, "--all", "--json", "--quiet", "--scan-depth", "--verbose"), 0);
	assert_true(env.all && env.json && env.quiet && env.scan_depth && env.verbose);
}

static void test_args_short_values(void **state)
{
	struct env env;

	(void)state;
	assert_int_equal(PARSE(&env, "-p", "42", "-c", "curl", "-P", "80,443", "-m", "tracepoint",
			       "-i", "5", "-d", "10", "-l", "127.0.0.1:9"), 0);
	assert_int_equal(env.pid, 42);
	assert_true(env.comm_set);
	assert_string_equal(env.comm, "curl");
	assert_int_equal(env.ndports, 2);
	assert_int_equal(env.dports[0], 80);
	assert_int_equal(env.dports[1], 443);
	assert_int_equal(env.mode, PW_REQ_TRACEPOINT);
	assert_int_equal(env.interval_s, 5);
	assert_int_equal(env.duration_s, 10);
	assert_true(env.listen_set);
	assert_string_equal(env.listen_host, "127.0.0.1");
	assert_int_equal(env.listen_port, 9);
	assert_false(env.all);
	assert_false(env.json);

	/* attached values */
	assert_int_equal(PARSE(&env, "-p42", "-ccurl", "-P8080"), 0);
	assert_int_equal(env.pid, 42);
	assert_string_equal(env.comm, "curl");
	assert_int_equal(env.ndports, 1);
	assert_int_equal(env.dports[0], 8080);
}

static void test_args_long_values(void **state)
{
	struct env env;
	char zero[PW_COMM_LEN] = { 0 };

	(void)state;
	assert_int_equal(PARSE(&env, "--pid=42", "--comm=curl", "--dport=8080", "--mode=kprobe"), 0);
	assert_int_equal(env.pid, 42);
	assert_true(env.comm_set);
	assert_string_equal(env.comm, "curl");
	/* comm is zero-padded: the kernel compares all 16 bytes */
	assert_memory_equal(env.comm + 4, zero, PW_COMM_LEN - 4);
	assert_int_equal(env.ndports, 1);
	assert_int_equal(env.dports[0], 8080);
	assert_int_equal(env.mode, PW_REQ_KPROBE);

	assert_int_equal(PARSE(&env, "--interval=86400", "--duration=31536000",
			       "--listen=[::1]:10099", "--mode=fentry", "--pid", "4194304"), 0);
	assert_int_equal(env.interval_s, 86400);
	assert_int_equal(env.duration_s, 31536000);
	assert_true(env.listen_set);
	assert_string_equal(env.listen_host, "::1");
	assert_int_equal(env.listen_port, 10099);
	assert_int_equal(env.mode, PW_REQ_FENTRY);
	assert_int_equal(env.pid, 4194304);

	/* a 15-byte comm is the longest allowed */
	assert_int_equal(PARSE(&env, "--comm=0123456789abcde"), 0);
	assert_string_equal(env.comm, "0123456789abcde");
	assert_int_equal(env.comm[PW_COMM_LEN - 1], 0);

	/* the last --dport wins */
	assert_int_equal(PARSE(&env, "-P", "1,2,3", "-P", "22"), 0);
	assert_int_equal(env.ndports, 1);
	assert_int_equal(env.dports[0], 22);

	/* census and metrics options */
	assert_int_equal(PARSE(&env, "--census", "--netns=/run/netns/x", "--warn-at=95",
			       "--max-pids=7"), 0);
	assert_true(env.census);
	assert_string_equal(env.netns, "/run/netns/x");
	assert_int_equal(env.warn_at, 95);
	assert_int_equal(env.max_pids, 7);
	/* --netns only for the census, in either order */
	assert_int_not_equal(PARSE(&env, "--netns=/run/netns/x"), 0);
	assert_int_not_equal(PARSE(&env, "-j", "--netns", "1"), 0);
	assert_int_equal(PARSE(&env, "--netns=/run/netns/y", "--census"), 0);
	assert_string_equal(env.netns, "/run/netns/y");
}

static void test_args_errors(void **state)
{
	struct env env;

	(void)state;
	assert_int_not_equal(PARSE(&env, "--pid=abc"), 0);
	assert_int_not_equal(PARSE(&env, "--pid=0"), 0);
	assert_int_not_equal(PARSE(&env, "--pid=4194305"), 0);
	assert_int_not_equal(PARSE(&env, "--pid=-1"), 0);
	assert_int_not_equal(PARSE(&env, "--comm=0123456789abcdef"), 0);	/* 16 bytes */
	assert_int_not_equal(PARSE(&env, "--comm="), 0);
	assert_int_not_equal(PARSE(&env, "--dport=0"), 0);
	assert_int_not_equal(PARSE(&env, "--dport=1,2,3,4,5,6,7,8,9"), 0);
	assert_int_not_equal(PARSE(&env, "--dport=80,"), 0);
	assert_int_not_equal(PARSE(&env, "--mode=bogus"), 0);
	assert_int_not_equal(PARSE(&env, "--mode=Auto"), 0);
	assert_int_not_equal(PARSE(&env, "--interval=0"), 0);
	assert_int_not_equal(PARSE(&env, "--interval=86401"), 0);
	assert_int_not_equal(PARSE(&env, "--duration=0"), 0);
	assert_int_not_equal(PARSE(&env, "--listen=::1:10099"), 0);
	assert_int_not_equal(PARSE(&env, "--listen=localhost:80"), 0);
	assert_int_not_equal(PARSE(&env, "--bogus"), 0);
	assert_int_not_equal(PARSE(&env, "-x"), 0);
	assert_int_not_equal(PARSE(&env, "foo"), 0);
	assert_int_not_equal(PARSE(&env, "-a", "foo"), 0);
	assert_int_not_equal(PARSE(&env, "-p"), 0);		/* missing value */
	assert_int_not_equal(PARSE(&env, "--all=1"), 0);	/* takes no value */
	assert_int_not_equal(PARSE(&env, "--warn-at=0"), 0);
	assert_int_not_equal(PARSE(&env, "--warn-at=101"), 0);
	assert_int_not_equal(PARSE(&env, "--max-pids=0"), 0);
	assert_int_not_equal(PARSE(&env, "--netns="), 0);
	/* --web.config.file configures --listen: alone it is a usage error */
	assert_int_not_equal(PARSE(&env, "--web.config.file=web.yml"), 0);
	assert_int_not_equal(PARSE(&env, "-l", ":10099", "--web.config.file="), 0);
	assert_int_equal(PARSE(&env, "--web.config.file", "web.yml", "-l", ":10099"), 0);
	assert_string_equal(env.web_config, "web.yml");
	assert_int_equal(PARSE(&env, "-l", ":10099"), 0);
	assert_null(env.web_config);

	/* an error after valid options still fails the whole parse */
	assert_int_not_equal(PARSE(&env, "-a", "-p", "42", "--mode=bogus"), 0);
	/* and a good parse afterwards is unaffected */
	assert_int_equal(PARSE(&env, "-p", "7"), 0);
	assert_int_equal(env.pid, 7);
}

/* --ops: names to bits, connect always allowed, anything else refused */
static void test_parse_ops(void **state)
{
	static const char *const bad[] = { "", ",", "bind,", ",bind", "bind,,udp", "BIND",
					   "binds", "udpx", "connect bind" };
	unsigned int ops = 77;

	(void)state;
	assert_int_equal(pw_parse_ops("bind", &ops), 0);
	assert_int_equal(ops, PW_OPS_BIND);
	assert_int_equal(pw_parse_ops("udp", &ops), 0);
	assert_int_equal(ops, PW_OPS_UDP);
	assert_int_equal(pw_parse_ops("connect,bind,udp", &ops), 0);
	assert_int_equal(ops, 1u << PW_OP_CONNECT | PW_OPS_BIND | PW_OPS_UDP);
	assert_int_equal(pw_parse_ops("connect", &ops), 0);
	assert_int_equal(ops, 1u << PW_OP_CONNECT);
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		ops = 77;
		assert_int_equal(pw_parse_ops(bad[k], &ops), -EINVAL);
		assert_int_equal(ops, 77);	/* untouched */
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_uint_valid),
		cmocka_unit_test(test_parse_ops),
		cmocka_unit_test(test_parse_uint_range),
		cmocka_unit_test(test_parse_uint_invalid),
		cmocka_unit_test(test_parse_dports_valid),
		cmocka_unit_test(test_parse_dports_invalid),
		cmocka_unit_test(test_parse_mode),
		cmocka_unit_test(test_parse_listen_valid),
		cmocka_unit_test(test_parse_listen_invalid),
		cmocka_unit_test(test_args_defaults),
		cmocka_unit_test(test_args_flags),
		cmocka_unit_test(test_args_short_values),
		cmocka_unit_test(test_args_long_values),
		cmocka_unit_test(test_args_errors),
	};

	return cmocka_run_group_tests_name("test_cli", tests, NULL, NULL);
}
