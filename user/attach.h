/* SPDX-License-Identifier: GPL-2.0 */
/* Attach-mode probing: what the running kernel allows, which programs of the
 * skeleton to load for it, and the attach itself (fentry -> kprobe ->
 * tracepoint in auto mode). */
#ifndef PW_ATTACH_H
#define PW_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "cli.h"
#include "preempt.h"
#include "kretprobe.h"

struct btf;
struct portwatch_bpf;

struct pw_attach {
	struct portwatch_bpf *skel;
	int mode;		/* enum pw_mode chosen */
	int hash_arity;		/* __inet_hash_connect's arguments, 0 if unknown */
	bool v6;		/* tcp_v6_connect hooked (fentry/kprobe) */
	bool sk_storage;	/* tracepoint mode: socket storage, else a hash map */
	unsigned int ops;	/* --ops asked for (struct env) */
	unsigned int ops_traced;	/* of those, the ones this kernel can trace */
	int maxactive;		/* kretprobe instances per probe; 0: kernel default */
	int nkrp;
	struct pw_kretprobe krp[PW_MAX_KRETPROBES];
	struct pw_preempt preempt;	/* the running preemption model */
	int cgroup_fd;		/* --cgroup's directory, the caller's (0 = none): the filter */
	char why[640];		/* why this mode, or why none */
};

/* Can this mode's programs be skipped by the kernel (recursion misses)
 * when a task is preempted inside one? fentry on a preemptible kernel;
 * tracepoint there from 6.19 (tracepoint probes under SRCU-fast, not
 * preempt_disable) or on RT. */
bool pw_mode_skips_when_preempted(const struct pw_attach *at);

/* Entries of the per-connect LRU maps (stash, stash_sk) for ncpu possible
 * CPUs: the common LRU keeps up to 128 free nodes on each CPU's list (the
 * kernel's LOCAL_FREE_TARGET; from 6.16 min(128, entries / ncpu / 2)), so
 * ncpu * 128 of the entries can be free while others are evicted: room for
 * twice that, plus 16,384 in use. */
#define PW_STASH_BASE		16384
#define PW_LRU_LOCAL_FREE	128
#define PW_STASH_ENTRIES(ncpu)	(PW_STASH_BASE + 2u * PW_LRU_LOCAL_FREE * (unsigned)(ncpu))
/* -q's `sampled` LRU, for the same reason: PW_SAMPLE_ENTRIES keys in use
 * and twice every CPU's free nodes (a fixed size would evict keys long
 * before it is full on a many-CPU host, and an evicted key only writes one
 * more event, but BPF_F_NO_COMMON_LRU would split the entries per CPU: a
 * process's keys on one CPU's share, evicted sooner). */
#define PW_SAMPLED_ENTRIES(ncpu) \
	(PW_SAMPLE_ENTRIES + 2u * PW_LRU_LOCAL_FREE * (unsigned)(ncpu))
/* The CPU count that sizes those maps: the possible CPUs, or for tests
 * PORTWATCH_TEST_NCPU (1..8192); -EINVAL if that is set to anything else. */
int pw_stash_ncpu(void);
/* bind_calls' size (ops.bpf.h): PW_BIND_CALLS, or PORTWATCH_TEST_BIND_CALLS
 * (1..PW_BIND_CALLS); -EINVAL for a bad value. */
#define PW_BIND_CALLS	16384
int pw_bind_calls_max(void);

/* Number of parameters of the BTF function `name`, -ENOENT if absent. */
int pw_btf_func_arity(const struct btf *btf, const char *name);
int pw_btf_enum_value(const struct btf *btf, const char *name, long long *val);


/* Open, configure, load and attach per env->mode, the programs counting
 * only the cgroup of cgroup_fd when it is > 0 (--cgroup's directory, opened
 * and closed by the caller). On failure returns a negative errno with the
 * reason in at->why and nothing left attached. */
int pw_attach(const struct env *env, int cgroup_fd, struct pw_attach *at);

/* Program runs the kernel skipped because the program was already running
 * on that CPU (bpf_prog_info.recursion_misses, summed over portwatch's
 * programs): each may be a connect() outcome not counted. -1 before 5.12
 * (not reported) or when it cannot be read. */
long long pw_recursion_misses(const struct pw_attach *at);
/* The same with the programs that missed: "tcp_v4_connect_exit 3, ..." in
 * detail (sz bytes), "" if none. */
long long pw_recursion_misses_detail(const struct pw_attach *at, char *detail, size_t sz);

void pw_detach(struct pw_attach *at);

#endif /* PW_ATTACH_H */
