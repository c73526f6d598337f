/* SPDX-License-Identifier: GPL-2.0 */
/* The running kernel's preemption model, from what the kernel says.
 *
 * On a preemptible kernel (full, lazy, rt) a trampoline program (fentry,
 * fexit) and, on 7.x, a tp_btf program run with only migration disabled: a
 * task preempted inside one keeps the program's per-CPU recursion counter
 * raised, and the kernel skips every run of that program on that CPU until
 * it resumes (bpf_prog_info.recursion_misses). kprobe handlers run with
 * preemption off (KERNEL.md section 9). auto mode prefers kprobe there. */
#ifndef PW_PREEMPT_H
#define PW_PREEMPT_H

#include <stdbool.h>
#include <stddef.h>

enum pw_preempt_model {
	PW_PREEMPT_UNKNOWN,
	PW_PREEMPT_NONE,
	PW_PREEMPT_VOLUNTARY,
	PW_PREEMPT_FULL,
	PW_PREEMPT_LAZY,
	PW_PREEMPT_RT,
	PW_PREEMPT_NONE_OR_VOLUNTARY,	/* built without PREEMPT* (uname -v) */
};

struct pw_preempt {
	int model;		/* enum pw_preempt_model */
	bool preemptible;	/* full, lazy, rt, or unknown */
	char source[160];	/* where the model was read */
};

const char *pw_preempt_name(int model);
/* The text of /sys/kernel/debug/sched/preempt: the running model is the
 * one in parentheses ("none voluntary (full) lazy"). UNKNOWN if none. */
int pw_preempt_parse_debugfs(const char *text);
/* A kernel command line's last preempt= (none, voluntary, full, lazy). */
int pw_preempt_parse_cmdline(const char *cmdline);
/* One line of a kernel config: the model it selects (CONFIG_PREEMPT_RT=y,
 * CONFIG_PREEMPT_LAZY=y, CONFIG_PREEMPT=y, CONFIG_PREEMPT_VOLUNTARY=y,
 * CONFIG_PREEMPT_NONE=y), else UNKNOWN. CONFIG_PREEMPT_DYNAMIC=y sets
 * *dynamic. */
int pw_preempt_parse_config_line(const char *line, bool *dynamic);
/* uname -v ("#1 SMP PREEMPT Debian ..."): the model a kernel built without
 * PREEMPT_DYNAMIC names there (PREEMPT_RT, PREEMPT_LAZY, PREEMPT: full or
 * lazy, both preemptible); UNKNOWN for PREEMPT_DYNAMIC (chosen at boot);
 * NONE_OR_VOLUNTARY when no PREEMPT word is there (built so). */
int pw_preempt_parse_uname_version(const char *version);
/* Kernels from 7.0 on x86-64, arm64, powerpc, riscv, s390 and loongarch
 * offer only full and lazy ("sched: Further restrict the preemption
 * modes"): true there. machine as uname -m. */
bool pw_preempt_only_full_lazy(int major, const char *machine);
/* The running model: debugfs sched/preempt when readable, else uname -v,
 * else the 7.0 rule, else preempt= on /proc/cmdline (PREEMPT_DYNAMIC kernels), else the
 * kernel config (/boot/config-<release>, /proc/config.gz); unknown counts
 * as preemptible. */
void pw_preempt_detect(struct pw_preempt *p);

#endif /* PW_PREEMPT_H */
