// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/btf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "kernel.h"
#include "caps.h"
#include "output.h"
#include "portwatch.skel.h"

int pw_btf_func_arity(const struct btf *btf, const char *name)
{
	const struct btf_type *t;
	int id;

	id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	if (id < 0)
		return -ENOENT;
	t = btf__type_by_id(btf, id);
	t = t ? btf__type_by_id(btf, t->type) : NULL;
	if (!t || !btf_is_func_proto(t))
		return -EINVAL;
	return btf_vlen(t);
}

static bool ksym_exists(const char *name)
{
	char line[256], sym[128];
	bool found = false;
	FILE *f = fopen("/proc/kallsyms", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%*s %*s %127s", sym) == 1 && !strcmp(sym, name))
			found = true;
	}
	fclose(f);
	return found;
}

/* Program name prefixes per mode (bpf/portwatch.bpf.c). */
static bool prog_in_mode(const char *name, int mode)
{
	switch (mode) {
	case PW_MODE_FENTRY:
		return !strncmp(name, "fe_", 3) || !strncmp(name, "fx_", 3);
	case PW_MODE_KPROBE:
		return !strncmp(name, "kp_", 3) || !strncmp(name, "krp_", 4);
	case PW_MODE_TRACEPOINT:
		return !strncmp(name, "tp_", 3);
	}
	return false;
}

/* Of the ops in want, those this kernel can trace: bind needs the syscall
 * tracepoints (libbpf finds their ids in tracefs), UDP autobind also
 * bpf_task_pt_regs (5.15+) for the descriptor at the exit. */
static unsigned int ops_traceable(unsigned int want)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	unsigned int ops = 0;
	char path[96];
	bool tp = false;

	want &= ~(1u << PW_OP_CONNECT);
	for (size_t i = 0; want && !tp && i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/syscalls/sys_exit_bind/id", dirs[i]);
		tp = !access(path, R_OK);
	}
	if (tp)
		ops |= want & PW_OPS_BIND;
	if (tp && (want & PW_OPS_UDP) &&
	    libbpf_probe_bpf_helper(BPF_PROG_TYPE_TRACEPOINT, BPF_FUNC_task_pt_regs, NULL) == 1)
		ops |= want & PW_OPS_UDP;
	return ops;
}

static bool prog_wanted(const char *name, int mode, const struct env *env,
			const struct pw_attach *at)
{
	/* the other ops' syscall tracepoints, the same in every mode */
	if (!strncmp(name, "sc_bind", 7))
		return at->ops_traced & PW_OPS_BIND;
	if (!strncmp(name, "sc_udp", 6))
		return at->ops_traced & PW_OPS_UDP;
	if (!prog_in_mode(name, mode))
		return false;
	if (strstr(name, "_check"))
		return env->scan_depth;
	if (!at->v6 && strstr(name, "v6_"))
		return false;
	if (!strcmp(name, "fx_hash_connect4"))
		return at->hash_arity == 4;
	if (!strcmp(name, "fx_hash_connect5"))
		return at->hash_arity == 5;
	return true;
}

/* What the kernel's BTF says, read once: libbpf parses the same BTF again
 * for every load, so ours is freed before the first (peak RSS). */
struct kfacts {
	int v4_connect;		/* arities, < 0 if absent */
	int v6_connect;
	int hash_connect;
	int check4;
	int check6;
	bool set_state_tp;
	int defer_bit;		/* INET_FLAGS_DEFER_CONNECT (6.6+), 64 if none */
};

/* The value of the enumerator `name` of any enum of the BTF (named or not:
 * CO-RE cannot relocate an anonymous enum's), or -ENOENT. */
int pw_btf_enum_value(const struct btf *btf, const char *name, long long *val)
{
	unsigned int n = btf__type_cnt(btf);

	for (unsigned int id = 1; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);

		if (btf_is_enum(t)) {
			const struct btf_enum *m = btf_enum(t);

			for (unsigned int i = 0; i < btf_vlen(t); i++, m++)
				if (!strcmp(btf__name_by_offset(btf, m->name_off), name)) {
					*val = m->val;
					return 0;
				}
		} else if (btf_is_enum64(t)) {
			const struct btf_enum64 *m = btf_enum64(t);

			for (unsigned int i = 0; i < btf_vlen(t); i++, m++)
				if (!strcmp(btf__name_by_offset(btf, m->name_off), name)) {
					*val = (long long)btf_enum64_value(m);
					return 0;
				}
		}
	}
	return -ENOENT;
}

static void read_kfacts(const struct btf *vmlinux, struct kfacts *k)
{
	k->v4_connect = pw_btf_func_arity(vmlinux, "tcp_v4_connect");
	k->v6_connect = pw_btf_func_arity(vmlinux, "tcp_v6_connect");
	k->hash_connect = pw_btf_func_arity(vmlinux, "__inet_hash_connect");
	k->check4 = pw_btf_func_arity(vmlinux, "__inet_check_established");
	k->check6 = pw_btf_func_arity(vmlinux, "__inet6_check_established");
	k->set_state_tp = btf__find_by_name_kind(vmlinux, "btf_trace_inet_sock_set_state",
						 BTF_KIND_TYPEDEF) >= 0;
	long long bit;

	k->defer_bit = !pw_btf_enum_value(vmlinux, "INET_FLAGS_DEFER_CONNECT", &bit) &&
		       bit >= 0 && bit < 64 ? (int)bit : 64;
}

/* What the kernel must offer before a mode is worth loading; 0 or -errno
 * with the reason in why. */
static int precheck(int mode, const struct env *env, const struct kfacts *k,
		    struct pw_attach *at, char *why, size_t sz)
{
	at->hash_arity = 0;
	at->v6 = true;
	switch (mode) {
	case PW_MODE_FENTRY:
		if (k->v4_connect < 0) {
			snprintf(why, sz, "tcp_v4_connect not in kernel BTF");
			return -ENOENT;
		}
		at->hash_arity = k->hash_connect;
		if (at->hash_arity != 4 && at->hash_arity != 5) {
			snprintf(why, sz, "__inet_hash_connect %s in kernel BTF",
				 at->hash_arity < 0 ? "not found" : "has an unknown arity");
			return -ENOENT;
		}
		at->v6 = k->v6_connect >= 0;
		if (env->scan_depth && (k->check4 < 0 || (at->v6 && k->check6 < 0))) {
			snprintf(why, sz, "__inet(6)_check_established not in kernel BTF (--scan-depth)");
			return -ENOENT;
		}
		return 0;
	case PW_MODE_KPROBE:
		if (access("/sys/bus/event_source/devices/kprobe/type", F_OK)) {
			snprintf(why, sz, "kernel has no kprobes (CONFIG_KPROBES)");
			return -EOPNOTSUPP;
		}
		if (!ksym_exists("tcp_v4_connect") || !ksym_exists("__inet_hash_connect")) {
			snprintf(why, sz, "tcp_v4_connect or __inet_hash_connect not in /proc/kallsyms");
			return -ENOENT;
		}
		at->v6 = ksym_exists("tcp_v6_connect");
		/* not needed by kretprobes (the return register does not move
		 * with the arity), but reported */
		at->hash_arity = k->hash_connect;
		return 0;
	case PW_MODE_TRACEPOINT:
		if (!k->set_state_tp) {
			snprintf(why, sz, "tracepoint sock:inet_sock_set_state not in kernel BTF");
			return -ENOENT;
		}
		return 0;
	}
	return -EINVAL;
}

int pw_stash_ncpu(void)
{
	const char *s = getenv("PORTWATCH_TEST_NCPU");
	unsigned long v;

	if (!s || !*s)
		return libbpf_num_possible_cpus();
	return pw_parse_uint(s, 1, 8192, &v) ? -EINVAL : (int)v;
}

int pw_bind_calls_max(void)
{
	const char *s = getenv("PORTWATCH_TEST_BIND_CALLS");
	unsigned long v;

	if (!s || !*s)
		return PW_BIND_CALLS;
	return pw_parse_uint(s, 1, PW_BIND_CALLS, &v) ? -EINVAL : (int)v;
}

long long pw_recursion_misses(const struct pw_attach *at)
{
	return pw_recursion_misses_detail(at, NULL, 0);
}

long long pw_recursion_misses_detail(const struct pw_attach *at, char *detail, size_t sz)
{
	struct bpf_program *prog;
	long long total = 0;
	int maj, min, pat;
	size_t off = 0;

	if (sz)
		detail[0] = 0;

	/* bpf_prog_info.recursion_misses exists from 5.12; before, a 0 there
	 * would be a made-up answer */
	if (!at->skel || !pw_kernel_version(&maj, &min, &pat) || maj < 5 || (maj == 5 && min < 12))
		return -1;
	/* kprobe programs' skipped runs are counted there from 6.7 */
	if (at->mode == PW_MODE_KPROBE && (maj < 6 || (maj == 6 && min < 7)))
		return -1;
	bpf_object__for_each_program(prog, at->skel->obj) {
		struct bpf_prog_info info = {};
		__u32 len = sizeof(info);
		int fd = bpf_program__fd(prog);

		if (fd < 0 || !bpf_program__autoload(prog))
			continue;
		if (bpf_obj_get_info_by_fd(fd, &info, &len))
			return -1;
		total += info.recursion_misses;
		if (info.recursion_misses && off < sz)
			off += snprintf(detail + off, sz - off, "%s%s %llu", off ? ", " : "",
					bpf_program__name(prog),
					(unsigned long long)info.recursion_misses);
	}
	return total;
}


/* Tracepoint mode keeps its per-socket state in a hash map keyed by the
 * socket: measured cheaper than socket storage (5.11+), which allocates for
 * every new socket (docs/performance.md). PORTWATCH_STATE=sk_storage asks
 * for socket storage (for tests and measurements); a kernel that refuses it
 * gets the hash. */
static bool state_sk_storage_wanted(void)
{
	const char *s = getenv("PORTWATCH_STATE");

	return s && !strcmp(s, "sk_storage");
}

/* Between open and load: the filters and mode into rodata, the maps sized,
 * the mode's programs chosen. */
static void configure(struct portwatch_bpf *skel, int mode, const struct env *env,
		      const struct kfacts *k, const struct pw_attach *at)
{
	struct bpf_program *prog;

	skel->rodata->targ_cgroup_set = at->cgroup_fd > 0;
	skel->rodata->targ_tgid = env->pid;
	skel->rodata->targ_comm_set = env->comm_set;
	memcpy((char *)skel->rodata->targ_comm, env->comm, PW_COMM_LEN);
	skel->rodata->targ_ndports = env->ndports;
	for (unsigned int i = 0; i < env->ndports; i++)
		skel->rodata->targ_dports[i] = env->dports[i];
	skel->rodata->targ_all = env->all;
	/* --top reads the maps, never the events */
	skel->rodata->targ_events = !env->quiet && !env->top;
	/* -q: failures sampled for the live diagnoses and remedies */
	skel->rodata->targ_sample = env->quiet && !env->top;
	/* sized for this host's CPUs (PW_SAMPLED_ENTRIES) with -q, else unused */
	bpf_map__set_max_entries(skel->maps.sampled, skel->rodata->targ_sample ?
				 PW_SAMPLED_ENTRIES(pw_stash_ncpu()) : 1);
	skel->rodata->targ_dests = env->top;
	if (!env->top)	/* its room only for the view: no memory otherwise */
		bpf_map__set_max_entries(skel->maps.dest_fails, 1);
	skel->rodata->targ_mode = mode;
	skel->rodata->targ_scan_depth = env->scan_depth && mode != PW_MODE_TRACEPOINT;
	skel->rodata->targ_sk_storage = at->sk_storage;
	skel->rodata->targ_defer_bit = k->defer_bit;

	/* sized for this host's CPUs (see PW_STASH_ENTRIES); main checked
	 * pw_stash_ncpu() */
	bpf_map__set_max_entries(skel->maps.stash, PW_STASH_ENTRIES(pw_stash_ncpu()));
	bpf_map__set_max_entries(skel->maps.stash_sk, PW_STASH_ENTRIES(pw_stash_ncpu()));
	/* the stashes the mode does not use cost no memory */
	if (mode != PW_MODE_TRACEPOINT)
		bpf_map__set_max_entries(skel->maps.stash_sk, 1);
	if (mode == PW_MODE_TRACEPOINT)
		bpf_map__set_max_entries(skel->maps.stash, 1);
	if (at->sk_storage)
		bpf_map__set_max_entries(skel->maps.stash_sk, 1);
	/* bind()'s entry records (ops.bpf.h): only for --ops bind */
	if (!(at->ops_traced & PW_OPS_BIND))
		bpf_map__set_max_entries(skel->maps.bind_calls, 1);
	else	/* main checked pw_bind_calls_max() */
		bpf_map__set_max_entries(skel->maps.bind_calls, pw_bind_calls_max());
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog_wanted(bpf_program__name(prog), mode, env, at));
}

static int try_mode(int mode, const struct env *env, const struct kfacts *k,
		    struct pw_attach *at, char *why, size_t sz)
{
	struct portwatch_bpf *skel;
	int err;

	err = precheck(mode, env, k, at, why, sz);
	if (err)
		return err;
	/* tracing programs may use socket storage from 5.11: if the load is
	 * refused, loaded again with the hash */
	at->sk_storage = mode == PW_MODE_TRACEPOINT && state_sk_storage_wanted();
	at->ops = env->ops;
	at->ops_traced = ops_traceable(env->ops);
again:
	skel = portwatch_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(why, sz, "cannot open BPF object: %s", strerror(errno));
		return err;
	}
	configure(skel, mode, env, k, at);

	err = portwatch_bpf__load(skel);
	if (err && at->sk_storage) {
		portwatch_bpf__destroy(skel);
		at->sk_storage = false;
		goto again;
	}
	if (err) {
		snprintf(why, sz, "load %s: %s", err == -EPERM ? "refused" : "failed",
			 strerror(-err));
		goto fail;
	}
	if (at->cgroup_fd > 0) {
		__u32 slot = 0, fd = at->cgroup_fd;

		if (bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_filter), &slot, &fd, BPF_ANY)) {
			err = -errno;
			snprintf(why, sz, "--cgroup: %s", strerror(errno));
			goto fail;
		}
	}
	if (mode == PW_MODE_KPROBE) {
		err = pw_kretprobes_attach(skel, at, why, sz);
		if (err)
			goto fail;
	}
	err = portwatch_bpf__attach(skel);
	if (err) {
		/* 524 is the kernel's own ENOTSUPP, which libc cannot name: e.g.
		 * fentry on arm64 before 6.4 (no ftrace direct calls) */
		snprintf(why, sz, "attach failed: %s", err == -524 ? "not supported by this kernel (ENOTSUPP)"
								  : strerror(-err));
		goto fail;
	}
	at->skel = skel;
	at->mode = mode;
	return 0;
fail:
	portwatch_bpf__destroy(skel);
	pw_kretprobes_remove(at);
	return err;
}

static bool mode_skips(const struct pw_preempt *p, int mode)
{
	int maj = 0, min = 0, pat;

	if (!p->preemptible || mode == PW_MODE_KPROBE)
		return false;
	if (mode == PW_MODE_FENTRY || p->model == PW_PREEMPT_RT)
		return true;
	/* tracepoints call their probes with preemption off up to 6.18 on
	 * non-RT kernels (measured: exact on 6.12 booted preempt=full), under
	 * SRCU-fast since (measured: skipped runs on 7.2) */
	return !pw_kernel_version(&maj, &min, &pat) || maj > 6 || (maj == 6 && min >= 19);
}

bool pw_mode_skips_when_preempted(const struct pw_attach *at)
{
	return mode_skips(&at->preempt, at->mode);
}

/* What the chosen mode depends on, after the reason it was chosen. */
static void note_attach(struct pw_attach *at)
{
	size_t off = strlen(at->why);

	if ((at->ops & PW_OPS_BIND) && off < sizeof(at->why))
		off += snprintf(at->why + off, sizeof(at->why) - off, at->ops_traced & PW_OPS_BIND
				? "; --ops bind: bind(addr, 0) failures at the syscall tracepoints "
				  "(io_uring's not seen)"
				: "; --ops bind: NOT traced (needs the syscall tracepoints in tracefs)");
	if ((at->ops & PW_OPS_UDP) && off < sizeof(at->why))
		off += snprintf(at->why + off, sizeof(at->why) - off, at->ops_traced & PW_OPS_UDP
				? "; --ops udp: UDP autobind failures at the syscall exit tracepoints "
				  "(io_uring's not seen)"
				: "; --ops udp: NOT traced (needs the syscall tracepoints in tracefs "
				  "and bpf_task_pt_regs, 5.15+)");
	if (pw_mode_skips_when_preempted(at) && off < sizeof(at->why))
		off += snprintf(at->why + off, sizeof(at->why) - off,
				"; NOT EXACT under contention: the kernel is preemptible (%s, from %s), "
				"a task preempted inside a %s program makes the kernel skip that "
				"program's runs on its CPU (recursion misses, counted and reported); "
				"--mode=kprobe is exact here", pw_preempt_name(at->preempt.model),
				at->preempt.source, pw_mode_name(at->mode));
	if (off >= sizeof(at->why))
		return;

	if (at->mode == PW_MODE_TRACEPOINT) {
		if (off < sizeof(at->why))
			snprintf(at->why + off, sizeof(at->why) - off, "; socket state in %s",
				 at->sk_storage ? "socket storage (PORTWATCH_STATE=sk_storage)" :
				 state_sk_storage_wanted() ? "a hash map (socket storage refused)" :
							     "a hash map");
		return;
	}
	if (at->hash_arity > 0 && off < sizeof(at->why))
		off += snprintf(at->why + off, sizeof(at->why) - off,
				"; __inet_hash_connect has %d arguments (BTF)", at->hash_arity);
	if (at->mode != PW_MODE_KPROBE || off >= sizeof(at->why))
		return;
	if (at->maxactive)
		snprintf(at->why + off, sizeof(at->why) - off,
			 "; kretprobe maxactive %d, misses counted", at->maxactive);
	else
		snprintf(at->why + off, sizeof(at->why) - off,
			 "; kretprobe maxactive kernel default, misses not measurable (no tracefs)");
}

int pw_attach(const struct env *env, int cgroup_fd, struct pw_attach *at)
{
	/* fentry first: the cheapest. On a preemptible kernel kprobe first:
	 * its handlers run with preemption off, fentry and (7.x) tp_btf
	 * programs can be preempted and then skipped (KERNEL.md section 9) */
	static const int order_np[] = { PW_MODE_FENTRY, PW_MODE_KPROBE, PW_MODE_TRACEPOINT };
	static const int order_p[] = { PW_MODE_KPROBE, PW_MODE_FENTRY, PW_MODE_TRACEPOINT };
	/* preemptible, but tracepoint probes still run with preemption off */
	static const int order_ptp[] = { PW_MODE_KPROBE, PW_MODE_TRACEPOINT, PW_MODE_FENTRY };
	const int *order;
	char why[256];
	struct btf *vmlinux;
	struct kfacts k;
	size_t off = 0;
	int err = -ENOENT;

	memset(at, 0, sizeof(*at));
	at->cgroup_fd = cgroup_fd;
	pw_preempt_detect(&at->preempt);
	order = !at->preempt.preemptible ? order_np :
		mode_skips(&at->preempt, PW_MODE_TRACEPOINT) ? order_p : order_ptp;
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		err = -errno;
		snprintf(at->why, sizeof(at->why),
			 "cannot read the kernel's BTF: %s (needs CONFIG_DEBUG_INFO_BTF=y)",
			 strerror(errno));
		return err;
	}
	read_kfacts(vmlinux, &k);
	btf__free(vmlinux);
	/* a killed portwatch's kretprobes go at the next start, whatever
	 * mode it takes (pw_detach removes a stopping one's own) */
	pw_kretprobes_remove_stale();

	if (env->mode != PW_REQ_AUTO) {
		err = try_mode(env->mode, env, &k, at, why, sizeof(why));
		if (err)
			snprintf(at->why, sizeof(at->why), "--mode=%s: %s", pw_mode_name(env->mode), why);
		else
			snprintf(at->why, sizeof(at->why), "requested with --mode");
		if (!err)
			note_attach(at);
		return err;
	}

	if (at->preempt.preemptible)
		off = snprintf(at->why, sizeof(at->why), "kernel preemptible (%s, from %s): kprobe "
			       "first, its programs run with preemption off and are not skipped "
			       "under contention%s", pw_preempt_name(at->preempt.model), at->preempt.source,
			       order == order_ptp ? "; then tracepoint, also exact on this kernel" : "");
	for (size_t i = 0; i < sizeof(order_np) / sizeof(order_np[0]); i++) {
		err = try_mode(order[i], env, &k, at, why, sizeof(why));
		if (!err) {
			if (!off)
				snprintf(at->why, sizeof(at->why), "first choice");
			note_attach(at);
			break;
		}
		off += snprintf(at->why + off, sizeof(at->why) - off, "%s%s: %s",
				off ? "; " : "", pw_mode_name(order[i]), why);
		if (off >= sizeof(at->why))
			off = sizeof(at->why) - 1;
	}
	return err;
}

void pw_detach(struct pw_attach *at)
{
	portwatch_bpf__destroy(at->skel);
	at->skel = NULL;
	pw_kretprobes_remove(at);
}
