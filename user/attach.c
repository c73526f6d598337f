// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/perf_event.h>
#include <bpf/btf.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include "attach.h"
#include "kernel.h"
#include "caps.h"
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

/* ---- kretprobes through tracefs ----
 * libbpf 1.1 cannot set a kretprobe's maxactive, and the perf kprobe PMU it
 * uses takes none (kernel default max(10, 2 * CPUs)), nor does it report the
 * misses before 6.7 (bpf_link_info). A kprobe_events definition
 * "r<maxactive>:kprobes/<event> <func>" does both on every kernel from 4.x
 * to 6.18: the misses are in kprobe_profile. */

static const char *tracefs_dir(void)
{
	static const char *const dirs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
	char path[64];

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/kprobe_events", dirs[i]);
		if (!access(path, W_OK))
			return dirs[i];
	}
	return NULL;
}

static int append_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, len) != (ssize_t)len)
		err = errno ? -errno : -EIO;
	close(fd);
	return err;
}

static void krp_remove(const char *dir, struct pw_kretprobe *k)
{
	char path[128], cmd[96];

	if (!k->event[0])
		return;
	snprintf(path, sizeof(path), "%s/kprobe_events", dir);
	snprintf(cmd, sizeof(cmd), "-:%s/%s\n", PW_KRP_GROUP, k->event);
	append_file(path, cmd);
	k->event[0] = '\0';
}

/* Field 22 of /proc/<pid>/stat (after the comm, which may hold spaces and
 * parentheses: parsed from the last ')'). */
int pw_proc_start_time(int pid, unsigned long long *start)
{
	char path[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -ENOENT;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	/* state is field 3: 19 more fields to the start time */
	if (!p || sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d "
			 "%*d %*d %*d %*d %llu", start) != 1)
		return -EINVAL;
	return 0;
}

int pw_krp_event_name(char *buf, size_t sz, const struct pw_krp_owner *o, const char *prog)
{
	int n = snprintf(buf, sz, "pw_%llu_%d_%llu_%s", (unsigned long long)o->pidns, o->pid,
			 o->start, prog);

	return n > 0 && (size_t)n < sz && (size_t)n < PW_KRP_EVENT_MAX ? 0 : -ENAMETOOLONG;
}

/* Digits only, at least one, as a number; the rest of s after them in *end. */
static bool take_u64(const char *s, unsigned long long *v, const char **end)
{
	unsigned long long x = 0;
	const char *p = s;

	for (; *p >= '0' && *p <= '9'; p++) {
		if (x > (~0ull - 9) / 10)
			return false;
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	*v = x;
	*end = p;
	return p != s;
}

bool pw_krp_parse(const char *line, struct pw_krp_owner *o, char *event, size_t sz)
{
	static const char group[] = PW_KRP_GROUP "/pw_";
	unsigned long long ns, pid, start;
	const char *p = line, *ev;
	size_t len;

	/* "r[MAXACTIVE]:portwatch/EVENT FUNC": only kretprobes of our group */
	if (*p++ != 'r')
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ':' || strncmp(p, group, sizeof(group) - 1))
		return false;
	ev = p + sizeof(PW_KRP_GROUP);	/* after the '/' */
	p += sizeof(group) - 1;
	if (!take_u64(p, &ns, &p) || *p++ != '_' || !take_u64(p, &pid, &p) || *p++ != '_' ||
	    !take_u64(p, &start, &p) || strncmp(p, "_krp_", 5) || pid == 0 || pid > 0x7fffffff)
		return false;
	for (p += 5; (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'; p++)
		;
	if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\0')
		return false;
	len = (size_t)(p - ev);
	if (len >= sz || len >= PW_KRP_EVENT_MAX)
		return false;
	memcpy(event, ev, len);
	event[len] = '\0';
	o->pidns = ns;
	o->pid = (int)pid;
	o->start = start;
	return true;
}

/* The pid's pid namespace (inode) and its pid there (the last of NSpid),
 * 0 if unknown. */
static int pid_in_ns(int pid, uint64_t *pidns)
{
	char path[64], line[256];
	struct stat st;
	int local = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", pid);
	if (stat(path, &st))
		return 0;
	*pidns = st.st_ino;
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		char *p, *end;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (p = line + 6; ; p = end) {
			long v = strtol(p, &end, 10);

			if (end == p)
				break;
			local = (int)v;
		}
		break;
	}
	fclose(f);
	return local;
}

/* 1: the process that made kretprobes named after o lives; 0: it is gone;
 * < 0: cannot tell (then nothing is removed). own_pidns: ours; init_view:
 * ours is the initial pid namespace, where every process is visible. */
int pw_krp_owner_alive(const struct pw_krp_owner *o, uint64_t own_pidns, bool init_view)
{
	unsigned long long start;
	struct dirent *d;
	int err, alive = 0;
	DIR *dir;

	if (o->pidns == own_pidns) {
		err = pw_proc_start_time(o->pid, &start);
		if (err == -ENOENT || err == -ESRCH)
			return 0;
		if (err)
			return err;
		return start == o->start;	/* else the pid was reused */
	}
	/* another pid namespace's: from the initial one, every process is
	 * ours to see; from any other, its processes may be hidden */
	if (!init_view)
		return -EPERM;
	dir = opendir("/proc");
	if (!dir)
		return -errno;
	while (!alive && (d = readdir(dir))) {
		uint64_t ns = 0;
		int pid = atoi(d->d_name);

		if (pid <= 0 || pid_in_ns(pid, &ns) != o->pid || ns != o->pidns)
			continue;
		if (!pw_proc_start_time(pid, &start) && start == o->start)
			alive = 1;
	}
	closedir(dir);
	return alive;
}

static int own_krp_owner(struct pw_krp_owner *o)
{
	uint64_t ns = 0;

	pw_pids_are_own(&ns);
	o->pidns = ns;
	o->pid = (int)getpid();
	return pw_proc_start_time(o->pid, &o->start);
}

/* PORTWATCH_KRETPROBE_MAXACTIVE (1..4096, the kernel's limit) lets a test
 * provoke misses; -EINVAL when set to anything else (main says so). */
int pw_kretprobe_maxactive(void)
{
	const char *s = getenv("PORTWATCH_KRETPROBE_MAXACTIVE");
	unsigned long v;

	if (!s || !*s)
		return PW_KRETPROBE_MAXACTIVE;	/* unset or empty: the default */
	return pw_parse_uint(s, 1, 4096, &v) ? -EINVAL : (int)v;
}

int pw_stash_ncpu(void)
{
	const char *s = getenv("PORTWATCH_TEST_NCPU");
	unsigned long v;

	if (!s || !*s)
		return libbpf_num_possible_cpus();
	return pw_parse_uint(s, 1, 8192, &v) ? -EINVAL : (int)v;
}

static struct bpf_link *krp_attach(const char *dir, struct bpf_program *prog, int maxactive,
				   struct pw_kretprobe *k, int *err)
{
	struct perf_event_attr attr = { .size = sizeof(attr), .type = PERF_TYPE_TRACEPOINT };
	char path[192], cmd[192], id[32] = "";
	struct bpf_link *link;
	struct pw_krp_owner me;
	int fd, pfd;
	ssize_t n;

	*err = own_krp_owner(&me);
	if (!*err)
		*err = pw_krp_event_name(k->event, sizeof(k->event), &me, bpf_program__name(prog));
	if (*err) {
		k->event[0] = '\0';
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/kprobe_events", dir);
	snprintf(cmd, sizeof(cmd), "r%d:%s/%s %s\n", maxactive, PW_KRP_GROUP, k->event, k->func);
	*err = append_file(path, cmd);
	if (*err) {
		k->event[0] = '\0';
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/events/%s/%s/id", dir, PW_KRP_GROUP, k->event);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, id, sizeof(id) - 1);
	*err = n > 0 ? 0 : -errno;
	if (fd >= 0)
		close(fd);
	if (*err)
		goto remove;
	attr.config = strtoull(id, NULL, 10);
	pfd = syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0) {
		*err = -errno;
		goto remove;
	}
	link = bpf_program__attach_perf_event(prog, pfd);	/* owns pfd */
	if (!link) {
		*err = -errno;
		close(pfd);
		goto remove;
	}
	return link;
remove:
	krp_remove(dir, k);
	return NULL;
}

/* Kretprobes left by a portwatch that was killed (SIGKILL, crash) stay in
 * kprobe_events: remove portwatch's own (group portwatch, named after the
 * pid namespace, pid and start time of their maker) whose process is gone.
 * Another tool's entries never match; a reused pid has another start time;
 * and the kernel refuses (EBUSY) to remove a probe a live perf event still
 * uses, whatever its name says. */
static void remove_stale_kretprobes(const char *dir)
{
	char path[64], line[256];
	struct pw_kretprobe k;
	struct pw_krp_owner me, o;
	bool init_view;
	FILE *f;

	if (own_krp_owner(&me))
		return;
	init_view = pw_pids_are_own(NULL);
	snprintf(path, sizeof(path), "%s/kprobe_events", dir);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (!pw_krp_parse(line, &o, k.event, sizeof(k.event)))
			continue;
		/* ours (same start time) is alive too: kept */
		if (pw_krp_owner_alive(&o, me.pidns, init_view) != 0)
			continue;
		krp_remove(dir, &k);
	}
	fclose(f);
}

/* Attach the kretprobes of the loaded skeleton with maxactive; without
 * tracefs leave them to the skeleton (kernel default, misses unknown). */
static int attach_kretprobes(struct portwatch_bpf *skel, struct pw_attach *at, char *why, size_t sz)
{
	struct {
		struct bpf_program *prog;
		struct bpf_link **link;
	} krp[] = {
		{ skel->progs.krp_v4_connect, &skel->links.krp_v4_connect },
		{ skel->progs.krp_v6_connect, &skel->links.krp_v6_connect },
		{ skel->progs.krp_hash_connect, &skel->links.krp_hash_connect },
	};
	const char *dir = tracefs_dir();
	int err;

	at->nkrp = 0;
	at->maxactive = 0;
	if (!dir)
		return 0;
	at->maxactive = pw_kretprobe_maxactive();
	if (at->maxactive < 0)	/* main() refuses to start with it */
		at->maxactive = PW_KRETPROBE_MAXACTIVE;
	for (size_t i = 0; i < sizeof(krp) / sizeof(krp[0]); i++) {
		struct pw_kretprobe *k = &at->krp[at->nkrp];

		if (!bpf_program__autoload(krp[i].prog))
			continue;
		/* the function is the section name's tail: "kretprobe/<func>" */
		k->func = strchr(bpf_program__section_name(krp[i].prog), '/') + 1;
		*krp[i].link = krp_attach(dir, krp[i].prog, at->maxactive, k, &err);
		if (!*krp[i].link) {
			snprintf(why, sz, "kretprobe on %s through %s/kprobe_events: %s",
				 k->func, dir, strerror(-err));
			return err;
		}
		bpf_program__set_autoattach(krp[i].prog, false);
		at->nkrp++;
	}
	return 0;
}

static void remove_kretprobes(struct pw_attach *at)
{
	const char *dir = tracefs_dir();

	for (int i = 0; dir && i < at->nkrp; i++)
		krp_remove(dir, &at->krp[i]);
	at->nkrp = 0;
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

void pw_kretprobe_misses(const struct pw_attach *at, struct pw_krp_misses *m)
{
	char path[64], line[256], name[128];
	unsigned long long hits, missed;
	const char *dir = tracefs_dir();
	size_t off = 0;
	FILE *f;

	memset(m, 0, sizeof(*m));
	m->total = -1;
	if (at->mode != PW_MODE_KPROBE || !at->nkrp || !dir)
		return;
	snprintf(path, sizeof(path), "%s/kprobe_profile", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	m->total = 0;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, " %127s %llu %llu", name, &hits, &missed) != 3)
			continue;
		for (int i = 0; i < at->nkrp; i++) {
			const struct pw_kretprobe *k = &at->krp[i];

			if (strcmp(name, k->event))
				continue;
			m->total += missed;
			if (!strncmp(k->func, "tcp_", 4))
				m->outcomes += missed;
			if (off < sizeof(m->detail))
				off += snprintf(m->detail + off, sizeof(m->detail) - off, "%s%s %llu",
						off ? ", " : "", k->func, missed);
		}
	}
	fclose(f);
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

static int try_mode(int mode, const struct env *env, const struct kfacts *k,
		    struct pw_attach *at, char *why, size_t sz)
{
	struct portwatch_bpf *skel;
	struct bpf_program *prog;
	int err;

	err = precheck(mode, env, k, at, why, sz);
	if (err)
		return err;
	/* tracing programs may use socket storage from 5.11: if the load is
	 * refused, loaded again with the hash */
	at->sk_storage = mode == PW_MODE_TRACEPOINT && state_sk_storage_wanted();
again:
	skel = portwatch_bpf__open();
	if (!skel) {
		err = -errno;
		snprintf(why, sz, "cannot open BPF object: %s", strerror(errno));
		return err;
	}
	skel->rodata->targ_cgroup_set = env->cgroup_fd > 0;
	skel->rodata->targ_tgid = env->pid;
	skel->rodata->targ_comm_set = env->comm_set;
	memcpy((char *)skel->rodata->targ_comm, env->comm, PW_COMM_LEN);
	skel->rodata->targ_ndports = env->ndports;
	for (unsigned int i = 0; i < env->ndports; i++)
		skel->rodata->targ_dports[i] = env->dports[i];
	skel->rodata->targ_all = env->all;
	/* --top reads the maps, never the events */
	skel->rodata->targ_events = !env->quiet && !env->top;
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
	bpf_object__for_each_program(prog, skel->obj)
		bpf_program__set_autoload(prog, prog_wanted(bpf_program__name(prog), mode, env, at));

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
	if (env->cgroup_fd > 0) {
		__u32 slot = 0, fd = env->cgroup_fd;

		if (bpf_map_update_elem(bpf_map__fd(skel->maps.cgroup_filter), &slot, &fd, BPF_ANY)) {
			err = -errno;
			snprintf(why, sz, "--cgroup: %s", strerror(errno));
			goto fail;
		}
	}
	if (mode == PW_MODE_KPROBE) {
		err = attach_kretprobes(skel, at, why, sz);
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
	remove_kretprobes(at);
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

int pw_attach(const struct env *env, struct pw_attach *at)
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
	if (tracefs_dir())
		remove_stale_kretprobes(tracefs_dir());

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
	remove_kretprobes(at);
}
