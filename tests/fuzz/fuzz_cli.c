// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: option parsing. The input is split at NUL bytes into
 * argv[1..] (at most 32 arguments) and parsed as tests/unit/test_cli.c
 * does (ARGP_SILENT: no exit, no error output). Whatever it accepts must be
 * in range. */
#include <argp.h>
#include <stdint.h>
#include "cli.h"
#include "fuzz.h"

#define MAX_ARGS 32

/* --help, --version and -h print to stdout (ARGP_NO_EXIT keeps them from
 * exiting): not into libFuzzer's output */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fz_assert(freopen("/dev/null", "w", stdout), "stdout to /dev/null");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[MAX_ARGS + 2];
	struct env env;
	int argc = 1, r;

	fz_assert(buf, "malloc");
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = "portwatch";
	for (size_t i = 0; i <= size && argc <= MAX_ARGS;) {
		argv[argc++] = buf + i;
		i += strlen(buf + i) + 1;
	}
	argv[argc] = NULL;
	memset(&env, 0, sizeof(env));
	r = pw_parse_args(argc, argv, &env, ARGP_SILENT);
	if (r == 0) {
		fz_assert(env.ndports <= PW_MAX_DPORTS, "ndports %u", env.ndports);
		for (unsigned int i = 0; i < env.ndports; i++)
			fz_assert(env.dports[i] >= 1, "dport 0");
		fz_assert(env.pid <= 4194304, "pid %u", env.pid);
		fz_assert(env.interval_s <= 86400 && env.duration_s <= 31536000, "times");
		fz_assert(env.max_pids >= 1 && env.max_pids <= 1000000, "max_pids");
		fz_assert(env.warn_at >= 1 && env.warn_at <= 100, "warn_at");
		fz_assert(!env.comm_set || (env.comm[0] && memchr(env.comm, 0, PW_COMM_LEN)),
			  "comm");
		fz_assert(!env.listen_set || (env.listen_port && memchr(env.listen_host, 0,
								sizeof(env.listen_host))),
			  "listen");
		fz_assert(env.mode == PW_REQ_AUTO || env.mode == PW_REQ_FENTRY ||
			  env.mode == PW_REQ_KPROBE || env.mode == PW_REQ_TRACEPOINT, "mode");
	}
	free(buf);
	return 0;
}
