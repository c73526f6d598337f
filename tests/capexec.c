/*
 * capexec: run a command as root with only some capabilities, the way a
 * container runtime starts a process given `--cap-drop=ALL --cap-add=...`:
 * every other capability leaves the bounding set, and the permitted,
 * effective and inheritable sets hold exactly the ones named, so that the
 * command, executed as uid 0, gets those and no others. The kernel
 * matrix's deployment case uses it (tests/vm/scenarios.sh); busybox has no
 * way to drop from the bounding set.
 *   capexec CAP[,CAP...] COMMAND [ARG...]
 * CAP is a number or one of: bpf perfmon sys_resource sys_admin.
 * Exit: 2 on bad usage, 1 when a capability cannot be dropped or set,
 * otherwise the command's (exec).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>

static const struct { const char *name; int cap; } names[] = {
	{ "sys_admin", 21 }, { "sys_resource", 24 }, { "perfmon", 38 }, { "bpf", 39 },
};

static int cap_of(const char *s)
{
	char *end;
	long v;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(s, names[i].name))
			return names[i].cap;
	v = strtol(s, &end, 10);
	return *s && !*end && v >= 0 && v < 64 ? (int)v : -1;
}

int main(int argc, char **argv)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	unsigned long long keep = 0;
	char *list, *tok, *save;
	int last = 63;
	FILE *f;

	if (argc < 3) {
		fprintf(stderr, "usage: capexec CAP[,CAP...] COMMAND [ARG...]\n");
		return 2;
	}
	list = strdup(argv[1]);
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		int c = cap_of(tok);

		if (c < 0) {
			fprintf(stderr, "capexec: unknown capability '%s'\n", tok);
			return 2;
		}
		keep |= 1ULL << c;
	}
	f = fopen("/proc/sys/kernel/cap_last_cap", "r");
	if (f) {
		if (fscanf(f, "%d", &last) != 1)
			last = 63;
		fclose(f);
	}
	for (int c = 0; c <= last; c++) {
		if (!(keep & (1ULL << c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) && errno != EINVAL) {
			fprintf(stderr, "capexec: cannot drop capability %d: %s\n", c, strerror(errno));
			return 1;
		}
	}
	for (int i = 0; i < 2; i++)
		data[i].permitted = data[i].effective = data[i].inheritable = (unsigned int)(keep >> (32 * i));
	if (syscall(SYS_capset, &hdr, data)) {
		fprintf(stderr, "capexec: capset: %s\n", strerror(errno));
		return 1;
	}
	execvp(argv[2], argv + 2);
	fprintf(stderr, "capexec: %s: %s\n", argv[2], strerror(errno));
	return 1;
}
