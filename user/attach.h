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

struct btf;
struct portwatch_bpf;

#define PW_MAX_KRETPROBES	4

/* kprobe_events names of portwatch's kretprobes: in a group of their own,
 * "r<maxactive>:portwatch/pw_<pidns>_<pid>_<start>_<prog> <func>", after
 * the pid namespace (inode), pid and start time (/proc/<pid>/stat field 22)
 * of the process that made them: no other tool's entry matches, and a
 * reused pid is told apart by its start time. */
#define PW_KRP_GROUP		"portwatch"
#define PW_KRP_EVENT_MAX	64	/* the kernel's MAX_EVENT_NAME_LEN */

struct pw_krp_owner {
	uint64_t pidns;
	int pid;
	unsigned long long start;
};

/* /proc/<pid>/stat's start time (clock ticks after boot); -errno. */
int pw_proc_start_time(int pid, unsigned long long *start);
/* The event name of prog's kretprobe made by o; -ENAMETOOLONG. */
int pw_krp_event_name(char *buf, size_t sz, const struct pw_krp_owner *o, const char *prog);
/* A kprobe_events line: true if it is a kretprobe of portwatch's group
 * named as above, with its maker in o and its event name in event. */
bool pw_krp_parse(const char *line, struct pw_krp_owner *o, char *event, size_t sz);
/* 1: o's process lives; 0: it is gone (or its pid was reused); < 0: cannot
 * tell (a pid namespace other than own_pidns seen from one that is not the
 * initial one, init_view false). */
int pw_krp_owner_alive(const struct pw_krp_owner *o, uint64_t own_pidns, bool init_view);

/* A kretprobe made through tracefs (kprobe_events), where maxactive can be
 * set and kprobe_profile reports the misses. */
struct pw_kretprobe {
	const char *func;	/* kernel function */
	char event[PW_KRP_EVENT_MAX];	/* event name in PW_KRP_GROUP; "" if none */
};

struct pw_attach {
	struct portwatch_bpf *skel;
	int mode;		/* enum pw_mode chosen */
	int hash_arity;		/* __inet_hash_connect's arguments, 0 if unknown */
	bool v6;		/* tcp_v6_connect hooked (fentry/kprobe) */
	bool sk_storage;	/* tracepoint mode: socket storage, else a hash map */
	bool task_regs;		/* --ops bind/udp traced: the syscall exit tracepoints
				 * and bpf_task_pt_regs (5.15+) are there */
	unsigned int ops;	/* --ops asked for (struct env) */
	int maxactive;		/* kretprobe instances per probe; 0: kernel default */
	int nkrp;
	struct pw_kretprobe krp[PW_MAX_KRETPROBES];
	struct pw_preempt preempt;	/* the running preemption model */
	char why[640];		/* why this mode, or why none */
};

/* Can this mode's programs be skipped by the kernel (recursion misses)
 * when a task is preempted inside one? fentry on a preemptible kernel;
 * tracepoint there from 6.19 (tracepoint probes under SRCU-fast, not
 * preempt_disable) or on RT. */
bool pw_mode_skips_when_preempted(const struct pw_attach *at);

/* kretprobe maxactive when PORTWATCH_KRETPROBE_MAXACTIVE is not set. The
 * kernel default is max(10, 2 * CPUs); a connect that scans can sleep
 * (cond_resched per port), so more threads than that can be inside. */
#define PW_KRETPROBE_MAXACTIVE	1024
/* PORTWATCH_KRETPROBE_MAXACTIVE (1..4096) or the default; -EINVAL if it is
 * set to anything else. */
int pw_kretprobe_maxactive(void);

/* Entries of the per-connect LRU maps (stash, stash_sk) for ncpu possible
 * CPUs: the common LRU keeps up to 128 free nodes on each CPU's list (the
 * kernel's LOCAL_FREE_TARGET; from 6.16 min(128, entries / ncpu / 2)), so
 * ncpu * 128 of the entries can be free while others are evicted: room for
 * twice that, plus 16,384 in use. */
#define PW_STASH_BASE		16384
#define PW_LRU_LOCAL_FREE	128
#define PW_STASH_ENTRIES(ncpu)	(PW_STASH_BASE + 2u * PW_LRU_LOCAL_FREE * (unsigned)(ncpu))
/* The CPU count that sizes those maps: the possible CPUs, or for tests
 * PORTWATCH_TEST_NCPU (1..8192); -EINVAL if that is set to anything else. */
int pw_stash_ncpu(void);

struct pw_krp_misses {
	long long total;	/* -1: not kprobe mode, or not measurable */
	long long outcomes;	/* of those, returns of tcp_v[46]_connect */
	char detail[160];	/* "tcp_v4_connect 3, __inet_hash_connect 1" */
};

/* Number of parameters of the BTF function `name`, -ENOENT if absent. */
int pw_btf_func_arity(const struct btf *btf, const char *name);
int pw_btf_enum_value(const struct btf *btf, const char *name, long long *val);

/* Does the process hold what loading BPF needs (root, or CAP_BPF with
 * CAP_PERFMON, or CAP_SYS_ADMIN)? */
bool pw_have_privileges(void);

/* Open, configure, load and attach per env->mode. On failure returns a
 * negative errno with the reason in at->why and nothing left attached. */
int pw_attach(const struct env *env, struct pw_attach *at);

/* kretprobe misses so far (kprobe_profile). A missed return of
 * tcp_v[46]_connect is a connect() outcome not counted. Valid until
 * pw_detach(), also after the skeleton's links are detached. */
void pw_kretprobe_misses(const struct pw_attach *at, struct pw_krp_misses *m);

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
