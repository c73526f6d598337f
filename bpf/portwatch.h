/* SPDX-License-Identifier: GPL-2.0 */
/* The ABI shared by bpf/portwatch.bpf.c and user/: constants and the records
 * that cross the ring buffer and the maps. Fixed-width types only. */
#ifndef PORTWATCH_H
#define PORTWATCH_H

#define PW_COMM_LEN	16
#define PW_MAX_DPORTS	8

/* Attach modes, as set in targ_mode and reported in events. */
enum pw_mode {
	PW_MODE_FENTRY = 1,
	PW_MODE_KPROBE = 2,
	PW_MODE_TRACEPOINT = 3,
};

enum pw_cause {
	PW_CAUSE_NONE = 0,		/* success */
	PW_CAUSE_RANGE_EXHAUSTED = 1,	/* scan from inet_num == 0 found nothing */
	PW_CAUSE_BOUND_CONFLICT = 2,	/* pre-bound port, 4-tuple taken */
	PW_CAUSE_NO_SOURCE = 3,		/* IPv6: -EADDRNOTAVAIL before port selection */
	PW_CAUSE_OTHER = 4,		/* any other errno */
	/* tracepoint mode: port selection chose a port (the socket's tx hash was
	 * set), then connect() failed before its SYN was queued, e.g. the route
	 * lookup with the chosen source port; the errno is not seen there */
	PW_CAUSE_AFTER_PORT_SELECTION = 5,
	/* bind() of a fixed port (PW_OP_BIND_PORT) refused: another socket
	 * holds it (userspace diagnoses which) */
	PW_CAUSE_PORT_IN_USE = 6,
};

/* The operation that failed (issue 23), in events and per-process keys.
 * 0 is connect() on a TCP socket, what every older record means. */
enum pw_op {
	PW_OP_CONNECT = 0,	/* TCP connect() */
	PW_OP_BIND = 1,		/* bind(addr, 0) that found no free port */
	PW_OP_UDP_CONNECT = 2,	/* connect() of an unbound UDP socket: autobind */
	PW_OP_UDP_SEND = 3,	/* sendto()/sendmsg() of an unbound UDP socket: autobind */
	PW_OP_BIND_PORT = 4,	/* bind(addr, P), P != 0, refused: P is held (sport = P) */
	PW_OP_MAX,
};

/* The errno of a failure whose errno the mode cannot see (ret is its
 * negation; a kernel errno is below 4096). */
#define PW_ERR_UNKNOWN	0xffff

/* Which optional fields of struct pw_event hold a value. */
#define PW_HAS_SCAN_NS		(1u << 0)
#define PW_HAS_PORTS_CHECKED	(1u << 1)
#define PW_HAS_RANGE		(1u << 2)
#define PW_HAS_TW_REUSE		(1u << 3)
#define PW_HAS_SCAN		(1u << 4)	/* port selection was entered */
/* The connect's address was not one the kernel took (shorter than its
 * family's sockaddr, or another family): daddr and dport hold nothing. */
#define PW_NO_DEST		(1u << 5)
/* The per-process map had no room for this outcome: the event is its only
 * record, written even with -q, and the consumer adds it to the accounts
 * (so only a full ring buffer, counted in PW_CNT_EVENTS_LOST and then also
 * in PW_CNT_OUTCOMES_LOST, can lose the count). */
#define PW_UNCOUNTED		(1u << 6)
/* -q: a failure written for the live diagnoses and remedies only, the first
 * of its (process, op, family, destination, netns) in PW_SAMPLE_EVERY_NS
 * (see sample_due); its count is in the maps like any other outcome's.
 * Not an event of the stream: in neither events_received nor events_lost
 * (its loss is PW_CNT_SAMPLES_LOST). */
#define PW_SAMPLED		(1u << 7)

struct pw_event {
	__u64 ts_ns;		/* bpf_ktime_get_ns() at the outcome */
	__u64 scan_ns;		/* time spent in port selection */
	__u64 netns;		/* netns inode of the socket */
	__u64 cgroup_id;
	__u32 pid;		/* tgid */
	__u32 tid;
	__u32 uid;
	__s32 ret;		/* 0 or -errno */
	__u32 ports_checked;	/* distinct ports checked (--scan-depth) */
	__u32 flags;		/* PW_HAS_* */
	__u16 family;		/* AF_INET / AF_INET6 */
	__u16 sport;		/* host order */
	__u16 dport;		/* host order */
	__u16 range_lo;
	__u16 range_hi;
	__u8 tw_reuse;
	__u8 cause;		/* enum pw_cause */
	__u8 mode;		/* enum pw_mode */
	__u8 op;		/* enum pw_op */
	__u8 proto;		/* binds: the socket's IPPROTO_TCP/UDP, else 0 */
	__u8 pad;
	__u8 saddr[16];		/* IPv4 in the first 4 bytes */
	__u8 daddr[16];
	char comm[PW_COMM_LEN];	/* the process's name (thread-group leader's) */
	/* for the per-workload series (a row keeps the first one seen) */
	char thread[PW_COMM_LEN];	/* the connecting thread's own name */
};

/* Per-process counters: one entry per (tgid, errno, family, op), errno 0 = success, so
 * every traced outcome updates exactly one entry. */
struct pw_proc_key {
	__u32 tgid;
	__u16 err;		/* positive errno, 0 for success */
	__u16 family;		/* AF_INET / AF_INET6 in the low byte, enum pw_op in the
				 * high one (0 for connect: older keys unchanged), so
				 * whatever groups by family keeps the ops apart */
};

#define PW_KEY_FAMILY(f)	((f) & 0xff)
#define PW_KEY_OP(f)		((f) >> 8)
#define PW_KEY_FAM_OP(fam, op)	((__u16)((fam) | (op) << 8))

struct pw_proc_val {
	__u64 count;		/* connect() outcomes with this errno */
	__u64 scans;		/* of those, port selections entered */
	__u64 scan_ns;		/* their total time in port selection */
	char comm[PW_COMM_LEN];	/* last seen (the process's name) */
	/* for the per-workload series (a row keeps the first one seen) */
	__u64 cgroup_id;	/* cgroup v2 id the process connected from, first seen */
};

/* Global counters, indexes into the per-CPU array `counters`. */
enum pw_counter {
	PW_CNT_EVENTS_LOST = 0,	/* ring buffer full */
	PW_CNT_OUTCOMES_LOST,	/* outcome lost: no room in the per-process map and
				 * its PW_UNCOUNTED event lost (ring buffer full) */
	PW_CNT_STASH_FULL,	/* per-thread stash full: connect not traced (binds:
				 * PW_CNT_BINDS_UNTRACED) */
	PW_CNT_PORTS_CHECKED,	/* sum of ports_checked over scans (--scan-depth) */
	/* added at the end (fair under abuse): */
	PW_CNT_VIA_EVENTS,	/* outcomes with no room in the per-process map,
				 * sent as PW_UNCOUNTED events to be counted */
	PW_CNT_UNMATCHED,	/* outcomes whose start state was gone (evicted
				 * from the LRU by newer connects, or begun before
				 * the attach); only without filters. A connect
				 * whose state could not be stored is counted in
				 * PW_CNT_STASH_FULL at its start and here too at
				 * its outcome (no state is left to tell the two
				 * apart; README says so) */
	/* added at the end (kernel-side defence): */
	PW_CNT_UNATTRIBUTED,	/* outcomes other than EADDRNOTAVAIL counted in
				 * `unattributed` (no room kept for new keys) */
	/* added at the end (--top): */
	PW_CNT_DESTS_FULL,	/* EADDRNOTAVAIL outcomes not in `dest_fails` (full) */
	/* added at the end (-q's sampled failures): */
	PW_CNT_SAMPLES_LOST,	/* PW_SAMPLED events lost (ring buffer full); not in
				 * PW_CNT_EVENTS_LOST, whose events are the stream's */
	/* added at the end (--ops bind): */
	PW_CNT_BINDS_UNTRACED,	/* binds not traced: `bind_calls` full at their entry */
	PW_CNT_MAX,
};

/* The per-process maps' size, and how many keys an outcome other than
 * EADDRNOTAVAIL may fill: the rest is kept for EADDRNOTAVAIL keys (at most
 * 2 per process, one per family). Beyond it, such an outcome whose key is
 * not there is counted per (errno, family) in `unattributed`, without its
 * process, and never written to the ring buffer for its count. */
#define PW_PROCS_ENTRIES	16384
#define PW_PROCS_OPEN		12288

/* `unattributed`: a per-CPU array indexed by family * PW_UNATTR_ERRS + errno;
 * errno PW_UNATTR_ERRS - 1 holds every errno from there up (PW_ERR_UNKNOWN
 * included: shown as unknown). Family slot 0: AF_INET, 1: AF_INET6. */
#define PW_UNATTR_ERRS		256
#define PW_UNATTR_SLOTS		(2 * PW_UNATTR_ERRS)

/* The name of the pid 0 rows that show `unattributed` (userspace). */
#define PW_UNATTRIBUTED_COMM	"(unattributed)"

struct pw_unattr_val {
	__u64 count;
	__u64 scans;
	__u64 scan_ns;
};

/* log2 histograms, per-CPU arrays indexed by slot: v <= 1 goes to slot 0,
 * any other v to slot 64 - clz(v - 1), so slot b holds (2^(b-1), 2^b]. */
#define PW_HIST_SLOTS		64
/* scan time in ns: slot + PW_HIST_SLOTS * result */
enum pw_scan_result {
	PW_SCAN_OK = 0,
	PW_SCAN_EXHAUSTED = 1,	/* -EADDRNOTAVAIL */
	PW_SCAN_RESULTS,
};

/* --top: EADDRNOTAVAIL failures per (netns, cgroup, destination), counted
 * in the kernel so that the view never depends on the events. Bounded:
 * an outcome whose key finds the map full is counted in PW_CNT_DESTS_FULL. */
#define PW_DEST_FAILS_ENTRIES	8192

/* -q: when a failure of each key last had its event written (sample_due).
 * The period is userspace's PW_DIAG_EVERY_NS (user/pressure.h), so a
 * sampled event reaches the diagnoses as often as they can use one. */
#define PW_SAMPLE_EVERY_NS	(5ull * 1000000000)
/* a sampled failure whose event was lost, or whose diagnoses were refused
 * for lack of room: its key is due again this long after it */
#define PW_SAMPLE_RETRY_NS	(500000000ull)
#define PW_SAMPLE_ENTRIES	8192

struct pw_sample_key {
	__u64 netns;		/* inode of the socket's netns, 0 if unknown */
	__u32 tgid;
	__u16 family;
	__u16 port;		/* dport; a bind's own port */
	__u8 op;		/* enum pw_op */
	__u8 pad[7];
	__u8 addr[16];		/* daddr; a bind's own address */
};

/* The key of a PW_SAMPLED event (the fields it was made from, copied into
 * the event as they were): the kernel rebuilds it when the event is lost,
 * userspace when the event's asks are refused (both reset the key, so
 * that a later failure of it is written again). */
static __inline __attribute__((always_inline)) void
pw_sample_key_of(const struct pw_event *e, struct pw_sample_key *k)
{
	__builtin_memset(k, 0, sizeof(*k));
	k->netns = e->netns;
	k->tgid = e->pid;
	k->family = e->family;
	k->op = e->op;
	if (e->op == PW_OP_CONNECT) {
		k->port = e->dport;
		__builtin_memcpy(k->addr, e->daddr, sizeof(k->addr));
	} else {
		k->port = e->sport;	/* a bind's own address and port */
		__builtin_memcpy(k->addr, e->saddr, sizeof(k->addr));
	}
}

struct pw_sample_val {
	__u64 last_ns;		/* bpf_ktime_get_ns() of the last event written */
	__u64 writes;		/* events written for the key (atomic add) */
};

struct pw_dest_fail_key {
	__u64 netns;		/* inode of the socket's netns */
	__u64 cgroup_id;	/* the connecting task's, first seen */
	__u16 family;
	__u16 dport;		/* host order */
	__u32 pad;
	__u8 daddr[16];		/* IPv4 in the first 4 bytes */
};

#endif /* PORTWATCH_H */
