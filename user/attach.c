// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include "attach.h"
#include "output.h"
#include "portwatch.skel.h"

#define CAP_PERFMON_BIT	38
#define CAP_BPF_BIT	39

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

static bool cap_has(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

bool pw_have_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	if (geteuid() == 0)
		return true;
	if (syscall(SYS_capget, &hdr, data))
		return false;
	return cap_has(data, CAP_SYS_ADMIN) ||
	       (cap_has(data, CAP_BPF_BIT) && cap_has(data, CAP_PERFMON_BIT));
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

static bool prog_wanted(const char *name, int mode, const struct env *env,
			const struct pw_attach *at)
{
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

/* What the kernel must offer before a mode is worth loading; 0 or -errno
 * with the reason in why. */
static int precheck(int mode, const struct env *env, const struct btf *vmlinux,
		    struct pw_attach *at, char *why, size_t sz)
{
	at->hash_arity = 0;
	at->v6 = true;
	switch (mode) {
	case PW_MODE_FENTRY:
		if (pw_btf_func_arity(vmlinux, "tcp_v4_connect") < 0) {
			snprintf(why, sz, "tcp_v4_connect not in kernel BTF");
			return -ENOENT;
		}
		at->hash_arity = pw_btf_func_arity(vmlinux, "__inet_hash_connect");
		if (at->hash_arity != 4 && at->hash_arity != 5) {
			snprintf(why, sz, "__inet_hash_connect %s in kernel BTF",
				 at->hash_arity < 0 ? "not found" : "has an unknown arity");
			return -ENOENT;
		}
		at->v6 = pw_btf_func_arity(vmlinux, "tcp_v6_connect") >= 0;
		if (env->scan_depth &&
		    (pw_btf_func_arity(vmlinux, "__inet_check_established") < 0 ||
		     (at->v6 && pw_btf_func_arity(vmlinux, "__inet6_check_established") < 0))) {
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
		return 0;
	case PW_MODE_TRACEPOINT:
		if (btf__find_by_name_kind(vmlinux, "btf_trace_inet_sock_set_state",
					   BTF_KIND_TYPEDEF) < 0) {
			snprintf(why, sz, "tracepoint sock:inet_sock_set_state not in kernel BTF");
			return -ENOENT;
		}
		return 0;
	}
	return -EINVAL;
}

static int try_mode(int mode, const struct env *env, const struct btf *vmlinux,
		    struct pw_attach *at, char *why, size_t sz)
{
	struct portwatch_bpf *skel;
	struct bpf_program *prog;
	int err;

	err = precheck(mode, env, vmlinux, at, why, sz);
	if (err)
		return err;

	skel = portwatch_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(why, sz, "cannot open BPF object: %s", strerror(errno));
		return err;
	}
	skel->rodata->targ_tgid = env->pid;
	skel->rodata->targ_comm_set = env->comm_set;
	memcpy((char *)skel->rodata->targ_comm, env->comm, PW_COMM_LEN);
	skel->rodata->targ_ndports = env->ndports;
	for (unsigned int i = 0; i < env->ndports; i++)
		skel->rodata->targ_dports[i] = env->dports[i];
	skel->rodata->targ_all = env->all;
	skel->rodata->targ_mode = mode;
	skel->rodata->targ_scan_depth = env->scan_depth && mode != PW_MODE_TRACEPOINT;

	/* the stash the mode does not use costs no memory */
	bpf_map__set_max_entries(mode == PW_MODE_TRACEPOINT ? skel->maps.stash
							    : skel->maps.stash_sk, 1);
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog_wanted(bpf_program__name(prog), mode, env, at));

	err = portwatch_bpf__load(skel);
	if (err) {
		snprintf(why, sz, "load %s: %s", err == -EPERM ? "refused" : "failed",
			 strerror(-err));
		goto fail;
	}
	err = portwatch_bpf__attach(skel);
	if (err) {
		snprintf(why, sz, "attach failed: %s", strerror(-err));
		goto fail;
	}
	at->skel = skel;
	at->mode = mode;
	return 0;
fail:
	portwatch_bpf__destroy(skel);
	return err;
}

int pw_attach(const struct env *env, struct pw_attach *at)
{
	static const int order[] = { PW_MODE_FENTRY, PW_MODE_KPROBE, PW_MODE_TRACEPOINT };
	char why[256];
	struct btf *vmlinux;
	size_t off = 0;
	int err = -ENOENT;

	memset(at, 0, sizeof(*at));
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux) {
		err = -errno;
		snprintf(at->why, sizeof(at->why),
			 "cannot read the kernel's BTF: %s (needs CONFIG_DEBUG_INFO_BTF=y)",
			 strerror(errno));
		return err;
	}

	if (env->mode != PW_REQ_AUTO) {
		err = try_mode(env->mode, env, vmlinux, at, why, sizeof(why));
		if (err)
			snprintf(at->why, sizeof(at->why), "--mode=%s: %s", pw_mode_name(env->mode), why);
		else
			snprintf(at->why, sizeof(at->why), "requested with --mode");
		btf__free(vmlinux);
		return err;
	}

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		err = try_mode(order[i], env, vmlinux, at, why, sizeof(why));
		if (!err) {
			if (!off)
				snprintf(at->why, sizeof(at->why), "first choice");
			break;
		}
		off += snprintf(at->why + off, sizeof(at->why) - off, "%s%s: %s",
				off ? "; " : "", pw_mode_name(order[i]), why);
		if (off >= sizeof(at->why))
			off = sizeof(at->why) - 1;
	}
	btf__free(vmlinux);
	return err;
}

void pw_detach(struct pw_attach *at)
{
	portwatch_bpf__destroy(at->skel);
	at->skel = NULL;
}
