/* SPDX-License-Identifier: GPL-2.0 */
/* What portwatch may do and see from where it runs (a container, a pid or
 * network namespace of its own): the capabilities each feature needs (the
 * docs/kubernetes.md, "Least privilege"), said once at start when one is
 * missing; the capabilities kept after attach; whether the kernel's pids are
 * this process's; and the node's network namespace. */
#ifndef PW_CAPS_H
#define PW_CAPS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct pw_privs {
	bool census_netns;	/* may open other processes' netns and enter them */
	bool pids_own;		/* the kernel's pids (tgids in events) are ours */
	uint64_t pidns;		/* our pid namespace's inode */
	int node_fd;		/* /proc/1/ns/net of the host pid ns, or -1 */
	char node_why[160];	/* why the node's netns cannot be read */
};

/* The init pid namespace's inode (PROC_PID_INIT_INO, fixed since 3.8): the
 * pids BPF reports (bpf_get_current_pid_tgid) are the init namespace's. */
#define PW_INIT_PIDNS_INO	0xEFFFFFFCu

/* Are the kernel's pids this process's own (are we in the init pid
 * namespace)? *pidns (may be NULL) gets our pid namespace's inode. An
 * unreadable /proc/self/ns/pid counts as own (the behaviour before). */
bool pw_pids_are_own(uint64_t *pidns);

/* Does the process hold what loading BPF needs (root, or CAP_BPF with
 * CAP_PERFMON, or CAP_SYS_ADMIN)? Read with libcap-ng, as every other
 * capability here. */
bool pw_privs_can_load(void);

/* Probe at start, before attaching (tracing) or before --census: one line
 * on `err` for each feature a missing capability or namespace limits, with
 * the capability and the fix. */
void pw_privs_probe(struct pw_privs *p, bool census_only, FILE *err);
void pw_privs_free(struct pw_privs *p);

/* After attach: keep only the capabilities the running loop still uses
 * (see caps.c), drop the rest from the effective, permitted, inheritable,
 * ambient and (with CAP_SETPCAP) bounding sets; one line saying what was
 * kept. `tracefs_probes`: kretprobes were defined in kprobe_events and must
 * be removed at exit; `map_fd`: a map of the loaded programs, to find out
 * whether reading it still needs a capability on this kernel. 0, or -1 when
 * they could not be read or dropped (one line said why): the caller stops
 * with exit status 1, it never runs on with every capability. */
int pw_privs_drop(const struct pw_privs *p, bool tracefs_probes, int map_fd, FILE *err);

/* The node's ip_local_port_range and tcp_tw_reuse (pid 1's netns when we
 * share the host's pid namespace and may enter it), else portwatch's own:
 * the start-up line. */
void pw_privs_print_net(struct pw_privs *p, FILE *err);
/* The size of that range; *label_netns is 0 when it is the node's (or the
 * node's is ours), else the inode of the netns it was read from. -1 if
 * unreadable. */
long pw_privs_range_size(struct pw_privs *p, uint64_t *label_netns);

/* The node's root directory for its /etc ("/proc/1/root" when pid 1 is the
 * node's init with another root than ours, as in a hostPID container), else
 * "" (ours). Set by pw_privs_probe(). */
const char *pw_node_root(void);

/* --census: when something could not be read, one line saying what and
 * how to fix it (the census printed stays valid for what it shows). */
void pw_privs_census_report(const struct pw_privs *p, FILE *err);

#endif /* PW_CAPS_H */
