// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <bpf/libbpf.h>
#include "kretprobe.h"
#include "attach.h"
#include "caps.h"
#include "cli.h"
#include "portwatch.skel.h"

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

void pw_kretprobes_remove_stale(void)
{
	const char *dir = tracefs_dir();

	if (dir)
		remove_stale_kretprobes(dir);
}

int pw_kretprobes_attach(struct portwatch_bpf *skel, struct pw_attach *at, char *why, size_t sz)
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

void pw_kretprobes_remove(struct pw_attach *at)
{
	const char *dir = tracefs_dir();

	for (int i = 0; dir && i < at->nkrp; i++)
		krp_remove(dir, &at->krp[i]);
	at->nkrp = 0;
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
