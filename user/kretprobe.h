/* SPDX-License-Identifier: GPL-2.0 */
/* kprobe mode's kretprobes made through tracefs (kprobe_events), where
 * maxactive can be set and kprobe_profile reports the misses: naming them
 * after their maker, attaching, removing those a killed portwatch left. */
#ifndef PW_KRETPROBE_H
#define PW_KRETPROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pw_attach;
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

/* kretprobe maxactive when PORTWATCH_KRETPROBE_MAXACTIVE is not set. The
 * kernel default is max(10, 2 * CPUs); a connect that scans can sleep
 * (cond_resched per port), so more threads than that can be inside. */
#define PW_KRETPROBE_MAXACTIVE	1024
/* PORTWATCH_KRETPROBE_MAXACTIVE (1..4096) or the default; -EINVAL if it is
 * set to anything else. */
int pw_kretprobe_maxactive(void);

struct pw_krp_misses {
	long long total;	/* -1: not kprobe mode, or not measurable */
	long long outcomes;	/* of those, returns of tcp_v[46]_connect */
	char detail[160];	/* "tcp_v4_connect 3, __inet_hash_connect 1" */
};

/* kretprobe misses so far (kprobe_profile). A missed return of
 * tcp_v[46]_connect is a connect() outcome not counted. Valid until
 * pw_detach(), also after the skeleton's links are detached. */
void pw_kretprobe_misses(const struct pw_attach *at, struct pw_krp_misses *m);

/* Attach the loaded skeleton's kretprobes with maxactive (at->maxactive,
 * at->krp); without tracefs leave them to the skeleton (kernel default,
 * misses unknown). 0, or -errno with the reason in why. */
int pw_kretprobes_attach(struct portwatch_bpf *skel, struct pw_attach *at, char *why, size_t sz);
/* Remove at's own kretprobes from kprobe_events. */
void pw_kretprobes_remove(struct pw_attach *at);
/* Remove the kretprobes of portwatch processes that are gone (killed). */
void pw_kretprobes_remove_stale(void);

#endif /* PW_KRETPROBE_H */
