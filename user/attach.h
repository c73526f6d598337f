/* SPDX-License-Identifier: GPL-2.0 */
/* Attach-mode probing: what the running kernel allows, which programs of the
 * skeleton to load for it, and the attach itself (fentry -> kprobe ->
 * tracepoint in auto mode). */
#ifndef PW_ATTACH_H
#define PW_ATTACH_H

#include <stdbool.h>
#include "cli.h"

struct btf;
struct portwatch_bpf;

struct pw_attach {
	struct portwatch_bpf *skel;
	int mode;		/* enum pw_mode chosen */
	int hash_arity;		/* __inet_hash_connect's arguments, 0 if unknown */
	bool v6;		/* tcp_v6_connect hooked (fentry/kprobe) */
	char why[512];		/* why this mode, or why none */
};

/* Number of parameters of the BTF function `name`, -ENOENT if absent. */
int pw_btf_func_arity(const struct btf *btf, const char *name);

/* Does the process hold what loading BPF needs (root, or CAP_BPF with
 * CAP_PERFMON, or CAP_SYS_ADMIN)? */
bool pw_have_privileges(void);

/* Open, configure, load and attach per env->mode. On failure returns a
 * negative errno with the reason in at->why and nothing left attached. */
int pw_attach(const struct env *env, struct pw_attach *at);
void pw_detach(struct pw_attach *at);

#endif /* PW_ATTACH_H */
