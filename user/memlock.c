// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/resource.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>
#include "memlock.h"

/* Kernels before 5.11 charge BPF maps and programs to the loading user's
 * locked memory, checked against RLIMIT_MEMLOCK, instead of the memory
 * cgroup; past the limit a map or program load fails with EPERM, which
 * reads like a missing capability. libbpf (1.0 and later) raises the limit
 * to infinity before its first load on such kernels; above the hard limit
 * that takes CAP_SYS_RESOURCE. bpf_ktime_get_coarse_ns came in the same
 * release as memory cgroup accounting: a program calling it loads only
 * where BPF memory is charged to the cgroup (libbpf's own test). */
bool pw_memlock_short(char *why, size_t sz)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_ktime_get_coarse_ns },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct rlimit rl;
	int fd;

	if (getrlimit(RLIMIT_MEMLOCK, &rl) || rl.rlim_cur == RLIM_INFINITY)
		return false;
	fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, NULL, "GPL", insns, 2, NULL);
	if (fd >= 0) {
		close(fd);
		return false;
	}
	/* the verifier's "invalid func": no such helper, no cgroup accounting */
	if (errno != EINVAL)
		return false;
	snprintf(why, sz, "this kernel (before 5.11) charges BPF maps to RLIMIT_MEMLOCK, %llu KiB here: "
		 "grant CAP_SYS_RESOURCE (portwatch then raises it) or raise it (ulimit -l unlimited, "
		 "systemd LimitMEMLOCK=infinity, --ulimit memlock=-1)", (unsigned long long)rl.rlim_cur / 1024);
	return true;
}
