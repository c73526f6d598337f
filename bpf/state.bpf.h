/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel side's state: per-connect stash entries, every map (in the
 * order the skeleton lists them), the per-process map's room bound in
 * .bss/.data, and the const volatile configuration userspace sets before
 * the load. A part of bpf/portwatch.bpf.c's one compilation unit. */
#ifndef PW_STATE_BPF_H
#define PW_STATE_BPF_H

/* Entry state of one connect(), from entry to outcome, in fentry/kprobe
 * modes: keyed by pid_tgid (tracepoint mode has struct sk_state). */
struct stash {
	__u64 sk;
	__u64 t0;
	__u64 scan_t0;
	__u64 scan_ns;
	__u64 cgroup_id;
	__u32 pid;
	__u32 tid;
	__u32 uid;
	__u32 ports_checked;
	__u32 last_lport;
	__u16 family;
	__u16 dport;
	__u16 sport;
	__u16 sk_family;	/* the socket's; AF_INET6 for a v4-mapped connect */
	__u8 scan_entered;
	__u8 scan_timed;
	__u8 bound;
	__u8 scan_ok;		/* port selection returned 0: it took a port */
	__u8 no_dest;		/* the address was not one the kernel took: none read */
	__u8 saddr[16];
	__u8 daddr[16];
	char comm[PW_COMM_LEN];
};

/* An LRU: an entry lives from a connect()'s entry to its return, so one older
 * than that (a missed kretprobe) is stale, and a new connect may evict it; a
 * plain hash left full by stale entries would stop all tracing. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);	/* resized before the load: see stash_sk */
	__type(key, __u64);
	__type(value, struct stash);
} stash SEC(".maps");

/* Tracepoint mode: what the outcome of a connect() needs from its start,
 * the smallest state that carries it. The addresses, ports and family are
 * read from the socket at the outcome (a failing connect() resets them only
 * after its SYN_SENT->CLOSE); the identity is taken at the start because a
 * success ends in softirq context. */
struct sk_state {
	__u64 t0;		/* bpf_ktime_get_ns() at CLOSE->SYN_SENT */
	__u64 cgroup_id;	/* only if events are written */
	__u32 pid;
	__u32 tid;
	__u32 uid;		/* only if events are written */
	__s32 wmem;		/* sk_wmem_queued at the start */
	__u16 sport;		/* bound port at the start, 0 if none */
	__u8 active;		/* between the start and the outcome */
	__u8 pad;
	__u32 taken;		/* port_taken_mark() at the start */
	char comm[PW_COMM_LEN];
};

/* Per-socket state in the socket's own storage (tracing programs may use it
 * from 5.11), only with PORTWATCH_STATE=sk_storage: no key hashing and no
 * delete, but an allocation for every new socket, which costs more than the
 * hash's update, lookup and delete together (docs/performance.md). */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct sk_state);
} sk_states SEC(".maps");

/* The default, keyed by socket address: preallocated, no allocation per
 * connect. Every socket that enters SYN_SENT leaves it (to CLOSE at the latest)
 * before it is freed, so nothing leaks; but any local user can hold sockets in
 * SYN_SENT for minutes (SYNs to a peer that drops them), and with a plain hash
 * 16,384 of them left no room for anyone else's connect. An LRU: a new
 * connect evicts an entry used long ago. Only an outcome seen within the
 * connect() syscall can be a port-selection failure (SYN_SENT->CLOSE before
 * the SYN is queued). The kernel's common LRU is approximate: every CPU keeps
 * up to 128 free entries of its own (LOCAL_FREE_TARGET; from 6.16 at most
 * max_entries / CPUs / 2) and evicts in batches when it has none, so with
 * 16,384 entries and 128 CPUs recent entries would go long before the map is
 * full. Userspace sizes this map and `stash` before the load at 16,384 + 256
 * per possible CPU (PW_STASH_ENTRIES): an entry is then evicted only after
 * about 16,384 newer connects, far more than can start during one connect().
 * What an eviction loses is that socket's later outcome (a success: the SYN
 * was queued), counted in PW_CNT_UNMATCHED when no filter is set. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);	/* resized before the load */
	__type(key, __u64);
	__type(value, struct sk_state);
} stash_sk SEC(".maps");

/* The wakeup policy's per-CPU state (see send()). */
struct wake_state {
	__u32 events;		/* written on this CPU */
	__u32 behind;		/* the last query found the consumer behind */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct wake_state);
} wake SEC(".maps");

/* Per-process counters, in one of two maps: the one `procs_active` holds
 * takes the outcomes. When the active map is half full, userspace swaps in
 * the other (the update of `procs_active` returns only after an RCU grace
 * period, so no program still writes into the old one: every map-in-map
 * update waits for running programs) and then reads and deletes every entry
 * of the old map: exact, live processes included, and any local user's
 * crowd of keys costs the others nothing. Only keys made within one sync
 * (a second) can fill a map; then see count(). */
struct procs_map {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, PW_PROCS_ENTRIES);
	__type(key, struct pw_proc_key);
	__type(value, struct pw_proc_val);
};

struct procs_map procs SEC(".maps"), procs_alt SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, __u32);
	__array(values, struct procs_map);
} procs_active SEC(".maps") = {
	.values = { &procs },
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* Scan time per result, and ports checked per scan (log2 slots). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_HIST_SLOTS * PW_SCAN_RESULTS);
	__type(key, __u32);
	__type(value, __u64);
} scan_hist SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_HIST_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} ports_hist SEC(".maps");

/* --cgroup: the cgroup userspace puts in slot 0 (see task_wanted) */
struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

/* --top: per-CPU counts of EADDRNOTAVAIL per (netns, cgroup, destination) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PW_DEST_FAILS_ENTRIES);	/* 1 unless --top (userspace) */
	__type(key, struct pw_dest_fail_key);
	__type(value, __u64);
} dest_fails SEC(".maps");

const volatile __u32 targ_tgid = 0;
const volatile bool targ_comm_set = false;
const volatile char targ_comm[PW_COMM_LEN] = {};
/* --cgroup=PATH: slot 0 holds that cgroup (v2); only tasks in it or below */
const volatile bool targ_cgroup_set = false;
const volatile __u32 targ_ndports = 0;
const volatile __u16 targ_dports[PW_MAX_DPORTS] = {};
const volatile bool targ_all = false;
/* --top: count failures per destination in dest_fails */
const volatile bool targ_dests = false;
const volatile __u8 targ_mode = 0;
const volatile bool targ_scan_depth = false;
/* Every outcome's event is written (what the lines show); not with -q or
 * --top, whose counts come from the maps. */
const volatile bool targ_events = true;
/* -q: a failure's event only if sample_due() (the live diagnoses and
 * remedies need one per process and destination each PW_SAMPLE_EVERY_NS). */
const volatile bool targ_sample = false;
/* Wake the consumer only once this much is waiting; it polls anyway. */
const volatile __u64 targ_wakeup_bytes = 256 << 10;
/* Tracepoint mode keeps its per-socket state in sk_states, else in stash_sk. */
const volatile bool targ_sk_storage = false;
/* The bit of inet_sock.inet_flags that is INET_FLAGS_DEFER_CONNECT (6.6+),
 * found by userspace in the kernel's BTF (the enum has no name, so CO-RE
 * cannot relocate it); 64 if there is none. */
const volatile __u32 targ_defer_bit = 64;

/* The per-process map's room for keys of outcomes other than EADDRNOTAVAIL:
 * procs_inserts counts every key a program made (atomically, on a new key
 * only); userspace sets procs_allow at each sync to procs_inserts as it was
 * before the sync, plus the room left below PW_PROCS_OPEN by the entries it
 * found (after a swap, PW_PROCS_OPEN: the new map was empty). A bound that
 * was right stays right (keys only come in between syncs), so a late
 * update only keeps more room free. Both plain loads on the hot path's rare
 * branch (a new key). In .bss/.data: userspace reads and writes them through
 * the skeleton's mapping. */
volatile __u64 procs_inserts;
volatile __u64 procs_allow = PW_PROCS_OPEN;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, PW_UNATTR_SLOTS);
	__type(key, __u32);
	__type(value, struct pw_unattr_val);
} unattributed SEC(".maps");

/* -q: when the last event of a failure's key was written (sample_due). An
 * LRU: a key not seen for a while may go, which at worst writes one more
 * event. The common LRU (its entries shared by the CPUs), sized by
 * userspace for the CPU count (PW_SAMPLED_ENTRIES, user/attach.h); 1 entry
 * unless -q. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, PW_SAMPLE_ENTRIES);
	__type(key, struct pw_sample_key);
	__type(value, struct pw_sample_val);
} sampled SEC(".maps");

#endif /* PW_STATE_BPF_H */
