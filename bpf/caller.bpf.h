/* SPDX-License-Identifier: GPL-2.0 */
/* Who connects and whether the filters (-p, -c, --cgroup, -P) keep it: the
 * caller's identity, read once at a connect()'s start. A part of
 * bpf/portwatch.bpf.c. */
#ifndef PW_CALLER_BPF_H
#define PW_CALLER_BPF_H

/* comm: the process's name. In the connecting task's context. */
static __always_inline bool task_wanted(__u32 tgid, char *comm)
{
	if (targ_tgid && targ_tgid != tgid)
		return false;
	if (targ_comm_set) {
		for (int i = 0; i < PW_COMM_LEN; i++) {
			if (comm[i] != targ_comm[i])
				return false;
			if (!comm[i])
				break;
		}
	}
	/* 1: under it; 0: not; <0: slot empty (cannot happen once loaded) */
	if (targ_cgroup_set && bpf_current_task_under_cgroup(&cgroup_filter, 0) != 1)
		return false;
	return true;
}

static __always_inline bool dport_wanted(__u16 dport)
{
	if (!targ_ndports)
		return true;
	for (int i = 0; i < PW_MAX_DPORTS; i++) {
		if (i >= targ_ndports)
			break;
		if (targ_dports[i] == dport)
			return true;
	}
	return false;
}

/* The caller's identity, false if the filters drop it; uid only if ids
 * (only events carry it); the cgroup always (the workload of the per-process
 * counters, and of a success seen later in softirq context). comm is the
 * process's name, its thread-group leader's, so that -c and the labels do
 * not depend on which thread connects (the thread's own goes into events
 * only: see thread_name). With task_btf (tracing programs, 5.11+)
 * one helper call gives the task and the rest are plain loads of the values
 * bpf_get_current_{pid_tgid,comm,uid_gid,cgroup_id}() return; else one
 * helper per item. */
static __always_inline bool caller(__u32 *pid, __u32 *tid, char *comm, __u32 *uid,
				   __u64 *cgroup_id, bool ids, bool task_btf)
{
	if (task_btf && bpf_core_enum_value_exists(enum bpf_func_id,
						   BPF_FUNC_get_current_task_btf)) {
		struct task_struct *t = bpf_get_current_task_btf();

		*pid = t->tgid;
		*tid = t->pid;
		__builtin_memcpy(comm, t->group_leader->comm, PW_COMM_LEN);
		if (!task_wanted(*pid, comm))
			return false;
		if (ids)
			*uid = t->cred->uid.val;
		*cgroup_id = t->cgroups->dfl_cgrp->kn->id;
		return true;
	}
	__u64 id = bpf_get_current_pid_tgid();

	*pid = id >> 32;
	*tid = (__u32)id;
	bpf_get_current_comm(comm, PW_COMM_LEN);
	/* the main thread's name is the process's: no reads for it */
	if (*pid != *tid) {
		struct task_struct *task = (struct task_struct *)bpf_get_current_task();

		BPF_CORE_READ_INTO((char (*)[PW_COMM_LEN])comm, task, group_leader, comm);
	}
	if (!task_wanted(*pid, comm))
		return false;
	if (ids)
		*uid = (__u32)bpf_get_current_uid_gid();
	*cgroup_id = bpf_get_current_cgroup_id();
	return true;
}

/* Fill the caller's identity; false if the filters drop it. uid and cgroup
 * only go into events: a failure's are taken from the caller's context (see
 * emit), a success's only with --all and maybe not. */
static __always_inline bool stash_task(struct stash *st, bool direct)
{
	if (!caller(&st->pid, &st->tid, st->comm, &st->uid, &st->cgroup_id,
		    targ_all && targ_events, direct))
		return false;
	st->t0 = bpf_ktime_get_ns();
	return true;
}

/* No filter: every TCP connect is traced, so an outcome without start state
 * had its state evicted (or began before the attach). */
static __always_inline bool unfiltered(void)
{
	return !targ_tgid && !targ_comm_set && !targ_cgroup_set && !targ_ndports;
}

#endif /* PW_CALLER_BPF_H */
