// SPDX-License-Identifier: GPL-2.0
/* Least privilege and namespaces: see caps.h and docs/kubernetes.md, "Least
 * privilege". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <cap-ng.h>
#include <bpf/bpf.h>
#include <linux/capability.h>

#include "caps.h"
#include "census.h"

bool pw_pids_are_own(uint64_t *pidns)
{
	struct stat st;

	if (stat("/proc/self/ns/pid", &st)) {
		if (pidns)
			*pidns = 0;
		return true;
	}
	if (pidns)
		*pidns = st.st_ino;
	return st.st_ino == PW_INIT_PIDNS_INO;
}

/* The node's filesystem root for its configuration files (/etc/sysctl.*):
 * pid 1's root when that is the node's init and not our own root. */
static char node_root[16];

const char *pw_node_root(void)
{
	return node_root;
}

static void find_node_root(bool pids_own)
{
	struct stat a, b;

	node_root[0] = '\0';
	if (pids_own && !stat("/proc/1/root/", &a) && !stat("/", &b) &&
	    (a.st_dev != b.st_dev || a.st_ino != b.st_ino))
		snprintf(node_root, sizeof(node_root), "/proc/1/root");
}

static uint64_t own_netns(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) ? 0 : st.st_ino;
}

bool pw_privs_can_load(void)
{
	if (geteuid() == 0)
		return true;
	if (capng_get_caps_process())
		return false;
	return capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN) ||
	       (capng_have_capability(CAPNG_EFFECTIVE, CAP_BPF) &&
		capng_have_capability(CAPNG_EFFECTIVE, CAP_PERFMON));
}

static void missing_caps(char *buf, size_t sz, bool admin, bool ptrace)
{
	snprintf(buf, sz, "%s%s%s", ptrace ? "" : "CAP_SYS_PTRACE",
		 !ptrace && !admin ? " and " : "", admin ? "" : "CAP_SYS_ADMIN");
}

void pw_privs_probe(struct pw_privs *p, bool census_only, FILE *err)
{
	bool admin = true, ptrace = true;
	char missing[64];

	memset(p, 0, sizeof(*p));
	p->node_fd = -1;
	p->pids_own = pw_pids_are_own(&p->pidns);
	if (!capng_get_caps_process()) {
		admin = capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_ADMIN);
		ptrace = capng_have_capability(CAPNG_EFFECTIVE, CAP_SYS_PTRACE);
	}
	p->census_netns = admin && ptrace;
	if (!p->census_netns) {
		missing_caps(missing, sizeof(missing), admin, ptrace);
		if (census_only)
			fprintf(err, "portwatch: --census of other network namespaces and their "
				"socket holders needs CAP_SYS_PTRACE (/proc/PID/ns/net, /proc/PID/fd) "
				"and CAP_SYS_ADMIN (setns); missing %s: what cannot be read is "
				"counted at the end; fix: run as root, or grant SYS_PTRACE and "
				"SYS_ADMIN\n", missing);
		else
			fprintf(err, "portwatch: census of other network namespaces (diagnosis, "
				"--warn-at warnings, pressure gauges) needs CAP_SYS_PTRACE "
				"(/proc/PID/ns/net) and CAP_SYS_ADMIN (setns); missing %s: only netns "
				"%llu and those it may open and enter are read, the rest is counted in "
				"portwatch_census_netns_skipped_total and "
				"portwatch_census_processes_skipped_total; fix: grant SYS_PTRACE and "
				"SYS_ADMIN (deploy/daemonset.yaml), or run as root\n",
				missing, (unsigned long long)own_netns());
	}
	if (!p->pids_own)
		fprintf(err, "portwatch: pid namespace %llu is not the host's: pids in events, "
			"the summary and metrics are the host's (the kernel's) and --pid takes a "
			"host pid; exits cannot be seen from here, so a process's counts stay "
			"under its pid until it has been idle 5 minutes, and the census sees "
			"only this namespace's processes; fix: hostPID: true (run in the host's "
			"pid namespace)\n", (unsigned long long)p->pidns);

	find_node_root(p->pids_own);
	/* pid 1 is the node's init only in the host's pid namespace */
	if (!p->pids_own) {
		snprintf(p->node_why, sizeof(p->node_why),
			 "pid 1 is not the node's init (own pid namespace)");
	} else {
		p->node_fd = open("/proc/1/ns/net", O_RDONLY | O_CLOEXEC);
		if (p->node_fd < 0)
			snprintf(p->node_why, sizeof(p->node_why), "/proc/1/ns/net: %s%s",
				 strerror(errno), errno != EACCES ? "" : ptrace ?
				 " (refused with CAP_SYS_PTRACE: a security module?)" :
				 " (needs CAP_SYS_PTRACE)");
	}
}

void pw_privs_free(struct pw_privs *p)
{
	if (p->node_fd >= 0)
		close(p->node_fd);
	p->node_fd = -1;
}

/* Kept after attach, and why. Everything else goes: CAP_BPF and
 * CAP_PERFMON (programs are loaded and attached; the maps, the ring buffer
 * and the links are used through the fds already open, which needs no
 * capability, except on kernels before 6.5: see bpf_needs_cap()),
 * CAP_SYS_RESOURCE (memlock was raised before loading), and
 * whatever else a root process holds. The census enters every network
 * namespace again at each scan (CAP_SYS_ADMIN: setns has no narrower
 * capability) and opens other processes' /proc/PID/ns/net (CAP_SYS_PTRACE);
 * the census runs beside the event loop, so privilege separation (a census
 * helper holding these two while the main process keeps none) is the next
 * step, not taken: the parsers of HTTP and netlink then run with these two.
 * (Capabilities are per thread, but dropping them in the consumer thread
 * alone would be no boundary: the threads share their memory.)
 * The HTTP client of a failing process is read from its /proc/PID/maps and
 * exe (CAP_SYS_PTRACE, as the census's /proc/PID/ns/net), and cgroup ids
 * become paths with open_by_handle_at (CAP_DAC_READ_SEARCH).
 * kprobe_events, written again at exit to remove portwatch's kretprobes, is
 * root's file: uid 0 needs no capability for it, another uid needs
 * CAP_DAC_OVERRIDE, kept only then. */
static const struct {
	unsigned int cap;
	const char *why;
} keep[] = {
	{ CAP_SYS_ADMIN, "census: setns" },
	{ CAP_SYS_PTRACE, "census: other processes' /proc/PID/ns/net; clients: /proc/PID/maps, exe" },
	{ CAP_DAC_OVERRIDE, "removing kretprobes from kprobe_events at exit" },
	{ CAP_BPF, "reading the maps: this kernel's bpf() wants it for every command" },
	/* without it, a bounded walk of the hierarchy, 2 a second (workload.c) */
	{ CAP_DAC_READ_SEARCH, "workloads: cgroup ids to paths" },
};

/* Set the effective set to the permitted one (on) or to nothing (off). */
static int effective(bool on)
{
	if (capng_get_caps_process())
		return -1;
	for (unsigned int c = 0; c <= CAP_LAST_CAP; c++) {
		if (!on)
			capng_update(CAPNG_DROP, CAPNG_EFFECTIVE, c);
		else if (capng_have_capability(CAPNG_PERMITTED, c))
			capng_update(CAPNG_ADD, CAPNG_EFFECTIVE, c);
	}
	return capng_apply(CAPNG_SELECT_CAPS);
}

/* Before 6.5 (kernel.unprivileged_bpf_disabled set, Debian's default)
 * every bpf() command, a map lookup too, wants CAP_BPF or CAP_SYS_ADMIN;
 * from 6.5 on only creating maps and loading programs do. Tried for real:
 * with no effective capability (the permitted set stays, so this is
 * undone), can a map be read? */
static bool bpf_needs_cap(int map_fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	bool needs;

	if (map_fd < 0 || effective(false))
		return true;
	memset(&info, 0, sizeof(info));
	needs = bpf_obj_get_info_by_fd(map_fd, &info, &len) && errno == EPERM;
	if (effective(true))
		return true;
	return needs;
}

int pw_privs_drop(const struct pw_privs *p, bool tracefs_probes, int map_fd, FILE *err)
{
	bool held[sizeof(keep) / sizeof(keep[0])], bounds, bpf_cap = bpf_needs_cap(map_fd);
	char kept[384] = "";
	size_t len = 0;

	(void)p;
	if (capng_get_caps_process()) {
		/* never run on with every capability: stop (exit 1) */
		fprintf(err, "portwatch: cannot read capabilities to drop them (%s): stopping\n",
			strerror(errno));
		return -1;
	}
	bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		held[i] = capng_have_capability(CAPNG_EFFECTIVE, keep[i].cap);
		if (keep[i].cap == CAP_DAC_OVERRIDE && (!tracefs_probes || geteuid() == 0))
			held[i] = false;
		/* CAP_SYS_ADMIN, when kept, does for bpf() what CAP_BPF does */
		if (keep[i].cap == CAP_BPF && (!bpf_cap || held[0]))
			held[i] = false;
	}
	capng_clear(CAPNG_SELECT_BOTH);
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		if (!held[i])
			continue;
		capng_update(CAPNG_ADD, CAPNG_EFFECTIVE | CAPNG_PERMITTED, keep[i].cap);
		len += snprintf(kept + len, sizeof(kept) - len, "%sCAP_%s (%s)", len ? ", " : "",
				capng_capability_to_name(keep[i].cap), keep[i].why);
		if (len >= sizeof(kept))
			len = sizeof(kept) - 1;
	}
	/* the bounding set too when we may (CAP_SETPCAP), so nothing can
	 * come back through an exec either */
	if (capng_apply(bounds ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS)) {
		fprintf(err, "portwatch: cannot drop capabilities after attach (capng_apply "
			"failed): stopping rather than running with all of them\n");
		return -1;
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	fprintf(err, "portwatch: capabilities after attach: %s%s\n", len ? kept : "none",
		len ? "; all others dropped" : " (all dropped)");
	return 0;
}

/* The node's settings when reachable, else ours. A node netns that cannot
 * be entered is said once (and counted as a skipped netns) and given up. */
static int node_settings(struct pw_privs *p, struct pw_census_ns *ns, bool *node)
{
	char why[128];

	*node = false;
	if (p->node_fd >= 0) {
		if (!pw_census_settings(p->node_fd, ns, why, sizeof(why))) {
			*node = true;
			return 0;
		}
		snprintf(p->node_why, sizeof(p->node_why), "%s", why);
		close(p->node_fd);
		p->node_fd = -1;
	}
	return pw_census_settings(-1, ns, why, sizeof(why));
}

void pw_privs_print_net(struct pw_privs *p, FILE *err)
{
	struct pw_census_ns ns;
	char whose[256] = "";
	bool node;

	if (node_settings(p, &ns, &node)) {
		fprintf(err, "portwatch: netns %llu: ip_local_port_range ?, tcp_tw_reuse ?\n",
			(unsigned long long)own_netns());
		return;
	}
	if (node && ns.netns != own_netns())
		snprintf(whose, sizeof(whose), " (the node's: pid 1's; portwatch's own is %llu)",
			 (unsigned long long)own_netns());
	else if (!node)
		snprintf(whose, sizeof(whose), " (portwatch's own; the node's is not readable: %s)",
			 p->node_why);
	fprintf(err, "portwatch: netns %llu%s: ip_local_port_range %d-%d, tcp_tw_reuse %d\n",
		(unsigned long long)ns.netns, whose, ns.range_lo, ns.range_hi, ns.tw_reuse);
}

long pw_privs_range_size(struct pw_privs *p, uint64_t *label_netns)
{
	struct pw_census_ns ns;
	bool node;

	*label_netns = 0;
	if (node_settings(p, &ns, &node) || ns.range_hi < ns.range_lo)
		return -1;
	if (!node && p->node_why[0])
		*label_netns = ns.netns;
	return ns.range_hi - ns.range_lo + 1;
}

void pw_privs_census_report(const struct pw_privs *p, FILE *err)
{
	struct pw_census_skips s;

	pw_census_skips(&s);
	if (!s.netns && !s.processes && !s.holders)
		return;
	fprintf(err, "portwatch: --census is partial: %llu network namespaces not entered "
		"(setns), %llu processes whose network namespace could not be opened, %llu "
		"whose sockets could not be attributed (/proc/PID/fd); %s\n",
		(unsigned long long)s.netns, (unsigned long long)s.processes,
		(unsigned long long)s.holders, p->census_netns ?
		"refused although portwatch holds CAP_SYS_ADMIN and CAP_SYS_PTRACE (a security "
		"module, or processes of another user namespace)" :
		"fix: run as root, or grant SYS_ADMIN and SYS_PTRACE");
}
