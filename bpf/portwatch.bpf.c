// SPDX-License-Identifier: GPL-2.0
/* portwatch kernel side: follows each TCP connect() from entry to outcome,
 * counts outcomes per (process, errno) and streams failures to a ring buffer.
 * Three program sets, chosen by userspace with set_autoload():
 *   fe_/fx_  fentry/fexit        (needs BPF trampolines)
 *   kp_/krp_ kprobe/kretprobe    (needs CONFIG_KPROBES)
 *   tp_      tp_btf/inet_sock_set_state (no kprobes, no trampolines)
 * Every helper call and return is costly where return-thunk mitigations are
 * on (SRSO "safe RET" and the like): the hot paths keep them few (docs/performance.md
 * has what each step costs). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>
#include "portwatch.h"

char LICENSE[] SEC("license") = "GPL";

#define PW_AF_INET		2
#define PW_AF_INET6		10
#define PW_EADDRNOTAVAIL	99
#define PW_IPPROTO_TCP		6

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

/* --top: per-CPU counts of EADDRNOTAVAIL per (netns, cgroup, destination) */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, PW_DEST_FAILS_ENTRIES);
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
/* -q: nobody reads the events, so none are written (counts are kept). */
const volatile bool targ_events = true;
/* Wake the consumer only once this much is waiting; it polls anyway. */
const volatile __u64 targ_wakeup_bytes = 256 << 10;
/* How often a CPU asks the ring how much is waiting (a power of 2). */
#define PW_WAKE_QUERY_EVERY	64
/* Tracepoint mode keeps its per-socket state in sk_states, else in stash_sk. */
const volatile bool targ_sk_storage = false;
/* The bit of inet_sock.inet_flags that is INET_FLAGS_DEFER_CONNECT (6.6+),
 * found by userspace in the kernel's BTF (the enum has no name, so CO-RE
 * cannot relocate it); 64 if there is none. */
const volatile __u32 targ_defer_bit = 64;

/* struct local_ports was {seqlock_t lock; int range[2];} before 6.8. libbpf
 * does not match an int[2] with the u32 of vmlinux.h (6.18), so each layout
 * is read through its own flavor (checked on 6.1 and 6.12). */
struct local_ports___old {
	int range[2];
} __attribute__((preserve_access_index));

struct netns_ipv4___old {
	struct local_ports___old ip_local_ports;
} __attribute__((preserve_access_index));

/* inet_sock.local_port_range (IP_LOCAL_PORT_RANGE): {u16 lo, hi} in
 * 6.3-6.7 and 6.1.32+, u32 (hi << 16 | lo) from 6.8. */
struct inet_sock___u32 {
	__u32 local_port_range;
} __attribute__((preserve_access_index));

struct inet_sock___pair {
	struct {
		__u16 lo;
		__u16 hi;
	} local_port_range;
} __attribute__((preserve_access_index));

static __always_inline void bump(__u32 idx)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += 1;
}

static __always_inline void bump_by(__u32 idx, __u64 n)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &idx);

	if (c)
		*c += n;
}

/* The histogram slot of v: 0 for v <= 1, else 64 - clz(v - 1), so slot b
 * holds (2^(b-1), 2^b] and its Prometheus bucket is le = 2^b exactly. */
static __always_inline __u32 log2_slot(__u64 v)
{
	if (v <= 1)
		return 0;
	v -= 1;
	__u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) { v >>= 1; r += 1; }
	r += (__u32)v;
	return r < PW_HIST_SLOTS ? r : PW_HIST_SLOTS - 1;
}

static __always_inline void hist_add(void *map, __u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(map, &slot);

	if (c)
		*c += 1;
}

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} cgroup_filter SEC(".maps");

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

/* tp_btf and fentry/fexit programs get BTF pointers: their fields are plain
 * loads that the verifier checks. kprobes, and a socket kept in a map, need
 * bpf_probe_read_kernel(): a helper call per field, which return-thunk
 * mitigations make costly. `direct` is a constant at every inlined call. */
#define READ_SK(direct, p, field) ((direct) ? (p)->field : BPF_CORE_READ(p, field))

static __always_inline void copy_in6(__u8 *dst, const struct in6_addr *a)
{
	__u32 w[4] = {
		a->in6_u.u6_addr32[0], a->in6_u.u6_addr32[1],
		a->in6_u.u6_addr32[2], a->in6_u.u6_addr32[3],
	};

	__builtin_memcpy(dst, w, sizeof(w));
}

static __always_inline void read_sk_saddr(__u8 *dst, __u16 family, struct sock *sk, bool direct)
{
	__u32 a;

	if (family == PW_AF_INET6) {
		if (direct)
			copy_in6(dst, &sk->__sk_common.skc_v6_rcv_saddr);
		else
			BPF_CORE_READ_INTO((__u8 (*)[16])dst, sk,
					   __sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8);
		return;
	}
	a = READ_SK(direct, sk, __sk_common.skc_rcv_saddr);
	__builtin_memcpy(dst, &a, sizeof(a));
}

/* tracepoint mode only: always direct */
static __always_inline void read_sk_daddr(__u8 *dst, __u16 family, struct sock *sk)
{
	__u32 a;

	if (family == PW_AF_INET6) {
		copy_in6(dst, &sk->__sk_common.skc_v6_daddr);
		return;
	}
	a = sk->__sk_common.skc_daddr;
	__builtin_memcpy(dst, &a, sizeof(a));
}

static __always_inline void read_range(struct sock *sk, struct net *net,
				       struct pw_event *e, bool direct)
{
	int lo, hi, slo = 0, shi = 0;

	struct netns_ipv4___old *o = (void *)&net->ipv4;

	if (bpf_core_field_exists(o->ip_local_ports.range)) {
		lo = READ_SK(direct, o, ip_local_ports.range[0]);
		hi = READ_SK(direct, o, ip_local_ports.range[1]);
	} else {
		/* 6.8+: packed as high << 16 | low */
		__u32 r = READ_SK(direct, net, ipv4.ip_local_ports.range);

		lo = r & 0xffff;
		hi = r >> 16;
	}

	/* A per-socket IP_LOCAL_PORT_RANGE narrows it, as in
	 * inet_sk_get_local_port_range(). */
	struct inet_sock___u32 *a = (void *)sk;
	struct inet_sock___pair *b = (void *)sk;

	if (bpf_core_field_exists(a->local_port_range)) {
		/* beyond struct sock: no direct load, whatever the mode */
		__u32 r = BPF_CORE_READ(a, local_port_range);

		slo = r & 0xffff;
		shi = r >> 16;
	} else if (bpf_core_field_exists(b->local_port_range)) {
		slo = BPF_CORE_READ(b, local_port_range.lo);
		shi = BPF_CORE_READ(b, local_port_range.hi);
	}
	if (slo || shi) {
		if (lo <= slo && slo <= hi)
			lo = slo;
		if (lo <= shi && shi <= hi)
			hi = shi;
	}
	e->range_lo = lo;
	e->range_hi = hi;
	e->flags |= PW_HAS_RANGE;
}

static __always_inline void read_net(struct sock *sk, struct pw_event *e, bool direct)
{
	struct net *net = READ_SK(direct, sk, __sk_common.skc_net.net);
	struct netns_ipv4 *ipv4;

	if (!net)
		return;
	e->netns = READ_SK(direct, net, ns.inum);
	read_range(sk, net, e, direct);
	/* int up to 5.12, u8 from 5.13: the bitfield reads take both sizes */
	ipv4 = &net->ipv4;
	if (direct)
		e->tw_reuse = BPF_CORE_READ_BITFIELD(ipv4, sysctl_tcp_tw_reuse);
	else
		e->tw_reuse = BPF_CORE_READ_BITFIELD_PROBED(ipv4, sysctl_tcp_tw_reuse);
	e->flags |= PW_HAS_TW_REUSE;
}

static __always_inline __u8 classify(struct stash *st, int ret)
{
	if (ret == 0)
		return PW_CAUSE_NONE;
	/* failed after port selection took a port (the route lookup with the
	 * chosen source port, ...): whatever the errno, not a port shortage */
	if (st->scan_ok)
		return PW_CAUSE_AFTER_PORT_SELECTION;
	if (ret != -PW_EADDRNOTAVAIL)
		return PW_CAUSE_OTHER;
	if (!st->scan_entered)
		return st->family == PW_AF_INET6 ? PW_CAUSE_NO_SOURCE : PW_CAUSE_OTHER;
	return st->bound ? PW_CAUSE_BOUND_CONFLICT : PW_CAUSE_RANGE_EXHAUSTED;
}

/* No filter: every TCP connect is traced, so an outcome without start state
 * had its state evicted (or began before the attach). */
static __always_inline bool unfiltered(void)
{
	return !targ_tgid && !targ_comm_set && !targ_cgroup_set && !targ_ndports;
}

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

/* An outcome other than EADDRNOTAVAIL with no key of its own: exact per
 * (errno, family), no process. An inlined per-CPU array lookup, no atomics. */
static __always_inline void count_unattributed(__u16 err, __u16 family, bool scan_entered,
					       bool scan_timed, __u64 scan_ns)
{
	__u32 idx = (family == PW_AF_INET6 ? PW_UNATTR_ERRS : 0) +
		    (err < PW_UNATTR_ERRS - 1 ? err : PW_UNATTR_ERRS - 1);
	struct pw_unattr_val *u = bpf_map_lookup_elem(&unattributed, &idx);

	if (!u)
		return;
	u->count += 1;
	if (scan_entered)
		u->scans += 1;
	if (scan_timed)
		u->scan_ns += scan_ns;
	bump(PW_CNT_UNATTRIBUTED);
}

/* One outcome of process tgid: one map lookup, atomics on its entry. False
 * if it was not counted: the caller then sends it as a PW_UNCOUNTED event,
 * and userspace counts it from there. Any local user can make many keys
 * within the second before userspace swaps the maps, so a key for an
 * outcome other than EADDRNOTAVAIL is made only while the map holds fewer
 * than PW_PROCS_OPEN (see procs_allow); past that, or with the map full,
 * such an outcome is counted in `unattributed` (exact per errno and family,
 * with no process; never the ring buffer). EADDRNOTAVAIL keys may use the
 * whole map; only an EADDRNOTAVAIL outcome that finds it full goes to the
 * ring buffer, and only a full ring buffer can lose it (PW_CNT_STATS_FULL). */
static __always_inline bool count(__u32 tgid, __u16 family, const char *comm, __u64 cgroup_id,
				  int ret,
				  bool scan_entered, bool scan_timed, __u64 scan_ns,
				  __u32 ports_checked)
{
	struct pw_proc_key k = {
		.tgid = tgid, .err = ret < 0 ? -ret : 0, .family = family,
	};
	struct pw_proc_val *v = NULL;
	bool counted = true;
	__u32 zero = 0;
	void *map = bpf_map_lookup_elem(&procs_active, &zero);

	if (!map)
		goto full;	/* cannot happen: the slot is never emptied */
	v = bpf_map_lookup_elem(map, &k);
	if (!v) {
		struct pw_proc_val nv = {};

		if (k.err != PW_EADDRNOTAVAIL && procs_inserts >= procs_allow)
			goto unattributed;
		__builtin_memcpy(nv.comm, comm, sizeof(nv.comm));
		nv.cgroup_id = cgroup_id;
		/* EEXIST means another CPU created it first: fine */
		if (!bpf_map_update_elem(map, &k, &nv, BPF_NOEXIST))
			__sync_fetch_and_add(&procs_inserts, 1);
		v = bpf_map_lookup_elem(map, &k);
		if (!v) {
			if (k.err != PW_EADDRNOTAVAIL)
				goto unattributed;
full:
			bump(PW_CNT_VIA_EVENTS);
			counted = false;
			goto hists;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	if (scan_entered)
		__sync_fetch_and_add(&v->scans, 1);
	if (scan_timed)
		__sync_fetch_and_add(&v->scan_ns, scan_ns);
	goto hists;
unattributed:
	count_unattributed(k.err, family, scan_entered, scan_timed, scan_ns);
hists:
	if (scan_timed && (ret == 0 || ret == -PW_EADDRNOTAVAIL))
		hist_add(&scan_hist, log2_slot(scan_ns) +
			 (ret ? PW_SCAN_EXHAUSTED : PW_SCAN_OK) * PW_HIST_SLOTS);
	if (targ_scan_depth && scan_entered) {
		hist_add(&ports_hist, log2_slot(ports_checked));
		bump_by(PW_CNT_PORTS_CHECKED, ports_checked);
	}
	return counted;
}

/* Write an event built on the stack with one helper call (reserve, copy and
 * commit). Wakeups: the consumer is woken for every event while
 * targ_wakeup_bytes or more wait (it is behind; the wakeups' cost also slows
 * the producers down to its pace), else it finds the events at its next poll.
 * Whether it is behind costs a query, a cache miss on the consumer's
 * position: each CPU asks every PW_WAKE_QUERY_EVERY events, and for every
 * event while the last answer was "behind", so falling behind is noticed at
 * most that many events per CPU late (8 KiB of a 4 MiB ring). The per-CPU
 * array lookup is inlined by the verifier. */
static __always_inline void send(struct pw_event *e)
{
	__u32 zero = 0;
	struct wake_state *w = bpf_map_lookup_elem(&wake, &zero);
	__u64 flags = BPF_RB_NO_WAKEUP;

	if (!w || w->behind || !(w->events++ & (PW_WAKE_QUERY_EVERY - 1))) {
		bool behind = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= targ_wakeup_bytes;

		if (w)
			w->behind = behind;
		if (behind)
			flags = BPF_RB_FORCE_WAKEUP;
	}
	if (bpf_ringbuf_output(&events, e, sizeof(*e), flags)) {
		bump(PW_CNT_EVENTS_LOST);
		if (e->flags & PW_UNCOUNTED)
			bump(PW_CNT_STATS_FULL);	/* its only record */
	}
}

static __always_inline void emit(struct stash *st, struct sock *sk, int ret,
				 __u8 cause, bool uncounted, bool direct)
{
	struct pw_event ev = {}, *e = &ev;

	e->ts_ns = bpf_ktime_get_ns();
	e->scan_ns = st->scan_ns;
	e->netns = 0;
	e->cgroup_id = st->cgroup_id;
	if (targ_all) {
		e->uid = st->uid;
	} else {
		/* a failure: still in the connecting task */
		e->uid = (__u32)bpf_get_current_uid_gid();
	}
	e->pid = st->pid;
	e->tid = st->tid;
	e->ret = ret;
	e->ports_checked = st->ports_checked;
	e->flags = 0;
	if (st->scan_entered)
		e->flags |= PW_HAS_SCAN;
	if (st->scan_timed)
		e->flags |= PW_HAS_SCAN_NS;
	if (targ_scan_depth && st->scan_entered)
		e->flags |= PW_HAS_PORTS_CHECKED;
	if (st->no_dest)
		e->flags |= PW_NO_DEST;
	if (uncounted)
		e->flags |= PW_UNCOUNTED;
	e->family = st->family;
	e->sport = st->sport;
	e->dport = st->dport;
	e->range_lo = 0;
	e->range_hi = 0;
	e->tw_reuse = 0;
	e->cause = cause;
	e->mode = targ_mode;
	__builtin_memcpy(e->saddr, st->saddr, sizeof(e->saddr));
	__builtin_memcpy(e->daddr, st->daddr, sizeof(e->daddr));
	__builtin_memcpy(e->comm, st->comm, sizeof(e->comm));
	/* fexit / kretprobe: still in the connecting thread */
	bpf_get_current_comm(e->thread, sizeof(e->thread));
	read_net(sk, e, direct);
	send(e);
}

/* --top: one more EADDRNOTAVAIL towards (netns, cgroup, destination). */
static __always_inline void count_dest(struct pw_dest_fail_key *k)
{
	__u64 one = 1, *v = bpf_map_lookup_elem(&dest_fails, k);

	if (v) {
		*v += 1;	/* per-CPU */
		return;
	}
	/* EEXIST: made by this CPU's own earlier run cannot happen (it
	 * would have been found); another CPU's key has a slot for this CPU */
	if (!bpf_map_update_elem(&dest_fails, k, &one, BPF_NOEXIST))
		return;
	v = bpf_map_lookup_elem(&dest_fails, k);
	if (v)
		*v += 1;
	else
		bump(PW_CNT_DESTS_FULL);
}

static __always_inline __u64 sk_netns(struct sock *sk, bool direct)
{
	struct net *net = READ_SK(direct, sk, __sk_common.skc_net.net);

	return net ? READ_SK(direct, net, ns.inum) : 0;
}

/* The outcome of one traced connect(): count it, stream it if wanted. */
static __always_inline void finish(struct stash *st, struct sock *sk, int ret, bool direct)
{
	__u8 cause = classify(st, ret);

	bool counted = count(st->pid, st->family, st->comm, st->cgroup_id, ret, st->scan_entered,
			     st->scan_timed, st->scan_ns, st->ports_checked);

	if (targ_dests && ret == -PW_EADDRNOTAVAIL) {
		struct pw_dest_fail_key k = {
			.cgroup_id = st->cgroup_id, .family = st->family, .dport = st->dport,
		};

		k.netns = sk_netns(sk, direct);
		__builtin_memcpy(k.daddr, st->daddr, sizeof(k.daddr));
		count_dest(&k);
	}

	if ((targ_events && (ret || targ_all)) || !counted)
		emit(st, sk, ret, cause, !counted, direct);
}

/* ---- fentry and kprobe modes: keyed by thread ---- */

/* A v4-mapped connect is tcp_v6_connect() calling tcp_v4_connect() on the
 * same AF_INET6 socket: the inner call is neither started nor finished, so it
 * counts once. Telling it by the socket's family, not by a nesting depth,
 * keeps a stash entry left behind by a missed kretprobe from turning the
 * thread's next connect into a "nested" one: any outer entry replaces it. */
static __always_inline bool v4_call_nested(struct sock *sk, bool direct)
{
	return READ_SK(direct, sk, __sk_common.skc_family) == PW_AF_INET6;
}

/* The shortest address tcp_v4_connect and tcp_v6_connect take
 * (sizeof(struct sockaddr_in), SIN6_LEN_RFC2133: no sin6_scope_id). */
#define PW_SIN_LEN	16
#define PW_SIN6_LEN	24

/* want_family, min_len: what the hooked function takes. A shorter address
 * (its tail is uninitialised kernel stack: connect() copies only addr_len
 * bytes), or another family, fails (EINVAL, EAFNOSUPPORT) before the kernel
 * reads it: no destination then, and the socket's family. */
static __always_inline void connect_enter(struct sock *sk, struct sockaddr *uaddr, int addr_len,
					  __u16 want_family, int min_len, bool direct)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct stash st = {};
	__u16 port;

	if (!stash_task(&st, direct))
		return;
	st.sk_family = READ_SK(direct, sk, __sk_common.skc_family);
	if (addr_len >= min_len)
		st.family = BPF_CORE_READ(uaddr, sa_family);
	if (st.family != want_family) {
		st.no_dest = 1;
		st.family = st.sk_family;
	} else {
		bpf_probe_read_kernel(&port, sizeof(port), (void *)uaddr + 2);
		st.dport = bpf_ntohs(port);
	}
	if (!dport_wanted(st.dport))
		return;
	st.sk = (__u64)sk;
	st.last_lport = ~0u;
	if (!st.no_dest && st.family == PW_AF_INET6)
		bpf_probe_read_kernel(&st.daddr, 16,
				      &((struct sockaddr_in6 *)uaddr)->sin6_addr);
	else if (!st.no_dest)
		bpf_probe_read_kernel(&st.daddr, 4,
				      &((struct sockaddr_in *)uaddr)->sin_addr);
	if (bpf_map_update_elem(&stash, &id, &st, BPF_ANY))
		bump(PW_CNT_STASH_FULL);
}

/* v4_exit: the return of tcp_v4_connect, which in a v4-mapped connect is
 * the inner call (the stash then holds the outer AF_INET6 socket). */
static __always_inline void connect_exit(struct sock *btf_sk, int ret, bool v4_exit,
					 bool direct)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct stash *st;
	struct sock *sk;

	st = bpf_map_lookup_elem(&stash, &id);
	if (!st) {
		/* fexit knows the socket (a kretprobe does not): the inner
		 * call of a v4-mapped connect is not an outcome */
		if (direct && unfiltered() &&
		    !(v4_exit && btf_sk->__sk_common.skc_family == PW_AF_INET6))
			bump(PW_CNT_UNMATCHED);
		return;
	}
	if (v4_exit && st->sk_family == PW_AF_INET6)
		return;
	/* fexit has the socket as a BTF pointer; a kretprobe only the stash's */
	sk = direct ? btf_sk : (struct sock *)st->sk;
	if (ret == 0) {
		/* the chosen port and source are only known now */
		st->sport = READ_SK(direct, sk, __sk_common.skc_num);
		read_sk_saddr(st->saddr, st->family, sk, direct);
	} else if (st->scan_ok) {
		/* the port it took, released on failure; inet_sport keeps it
		 * (inet_sock lies beyond struct sock: a probe read) */
		st->sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	}
	finish(st, sk, ret, direct);
	bpf_map_delete_elem(&stash, &id);
}

static __always_inline void scan_enter(struct sock *sk, bool direct)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct stash *st;

	st = bpf_map_lookup_elem(&stash, &id);
	if (!st || st->sk != (__u64)sk)
		return;
	st->scan_entered = 1;
	st->sport = READ_SK(direct, sk, __sk_common.skc_num);
	st->bound = st->sport != 0;
	read_sk_saddr(st->saddr, st->family, sk, direct);
	st->scan_t0 = bpf_ktime_get_ns();
}

static __always_inline void scan_exit(int ret)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct stash *st;

	st = bpf_map_lookup_elem(&stash, &id);
	if (!st || !st->scan_entered || st->scan_timed)
		return;
	st->scan_ns = bpf_ktime_get_ns() - st->scan_t0;
	st->scan_timed = 1;
	st->scan_ok = ret == 0;
}

/* Distinct ports: from 6.15 the RCU pre-pass and the locked pass check the
 * same port back to back. */
static __always_inline void port_checked(struct sock *sk, __u16 lport)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct stash *st;

	st = bpf_map_lookup_elem(&stash, &id);
	if (!st || st->sk != (__u64)sk || st->last_lport == lport)
		return;
	st->last_lport = lport;
	st->ports_checked++;
}

SEC("fentry/tcp_v4_connect")
int BPF_PROG(fe_v4_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len)
{
	if (!v4_call_nested(sk, true))
		connect_enter(sk, uaddr, addr_len, PW_AF_INET, PW_SIN_LEN, true);
	return 0;
}

SEC("fexit/tcp_v4_connect")
int BPF_PROG(fx_v4_connect, struct sock *sk, struct sockaddr *uaddr, int len, int ret)
{
	connect_exit(sk, ret, true, true);
	return 0;
}

SEC("fentry/tcp_v6_connect")
int BPF_PROG(fe_v6_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len)
{
	connect_enter(sk, uaddr, addr_len, PW_AF_INET6, PW_SIN6_LEN, true);
	return 0;
}

SEC("fexit/tcp_v6_connect")
int BPF_PROG(fx_v6_connect, struct sock *sk, struct sockaddr *uaddr, int len, int ret)
{
	connect_exit(sk, ret, false, true);
	return 0;
}

SEC("fentry/__inet_hash_connect")
int BPF_PROG(fe_hash_connect, void *death_row, struct sock *sk)
{
	scan_enter(sk, true);
	return 0;
}

/* __inet_hash_connect has 4 arguments up to 6.14 and 5 from 6.15 (u32
 * hash_port0); the return value's slot follows them, so userspace loads the
 * one matching the arity it counts in BTF. */
SEC("fexit/__inet_hash_connect")
int BPF_PROG(fx_hash_connect4, void *dr, struct sock *sk, __u64 off, void *check, int ret)
{
	scan_exit(ret);
	return 0;
}

SEC("fexit/__inet_hash_connect")
int BPF_PROG(fx_hash_connect5, void *dr, struct sock *sk, __u64 off, __u32 h, void *check,
	     int ret)
{
	scan_exit(ret);
	return 0;
}

/* lport is the third argument at every arity (4 up to 6.14, 6 from 6.15). */
SEC("fentry/__inet_check_established")
int BPF_PROG(fe_check4, void *dr, struct sock *sk, __u16 lport)
{
	port_checked(sk, lport);
	return 0;
}

SEC("fentry/__inet6_check_established")
int BPF_PROG(fe_check6, void *dr, struct sock *sk, __u16 lport)
{
	port_checked(sk, lport);
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(kp_v4_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len)
{
	if (!v4_call_nested(sk, false))
		connect_enter(sk, uaddr, addr_len, PW_AF_INET, PW_SIN_LEN, false);
	return 0;
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(krp_v4_connect, int ret)
{
	connect_exit(NULL, ret, true, false);
	return 0;
}

SEC("kprobe/tcp_v6_connect")
int BPF_KPROBE(kp_v6_connect, struct sock *sk, struct sockaddr *uaddr, int addr_len)
{
	connect_enter(sk, uaddr, addr_len, PW_AF_INET6, PW_SIN6_LEN, false);
	return 0;
}

SEC("kretprobe/tcp_v6_connect")
int BPF_KRETPROBE(krp_v6_connect, int ret)
{
	connect_exit(NULL, ret, false, false);
	return 0;
}

SEC("kprobe/__inet_hash_connect")
int BPF_KPROBE(kp_hash_connect, void *death_row, struct sock *sk)
{
	scan_enter(sk, false);
	return 0;
}

/* The return register does not depend on the arity. */
SEC("kretprobe/__inet_hash_connect")
int BPF_KRETPROBE(krp_hash_connect, int ret)
{
	scan_exit(ret);
	return 0;
}

SEC("kprobe/__inet_check_established")
int BPF_KPROBE(kp_check4, void *dr, struct sock *sk, __u16 lport)
{
	port_checked(sk, lport);
	return 0;
}

SEC("kprobe/__inet6_check_established")
int BPF_KPROBE(kp_check6, void *dr, struct sock *sk, __u16 lport)
{
	port_checked(sk, lport);
	return 0;
}

/* ---- tracepoint mode: keyed by socket ----
 * CLOSE->SYN_SENT: connect() is about to select a port (process context).
 * SYN_SENT->CLOSE with no socket error and nothing queued since the start:
 * port selection failed. Past port selection, tcp_connect() queues the SYN
 * (sk_wmem_queued) before sending it, and it stays queued while the socket
 * is in SYN_SENT unless a reset, a timeout or an abort purges the queue, all
 * of which set sk_err before the socket leaves SYN_SENT; a close() or a
 * disconnect of a connecting socket leaves SYN_SENT with its SYN still
 * queued (tests: syn_sent_then_closed). Any other exit from
 * SYN_SENT means the port was taken and the SYN sent: connect() returned 0.
 * No helper runs before a state change is known to be one of these two. */

static __always_inline bool sk_state_put(struct sock *sk, const struct sk_state *s)
{
	__u64 key = (__u64)sk;

	if (targ_sk_storage) {
		struct sk_state *d = bpf_sk_storage_get(&sk_states, sk, 0,
							BPF_SK_STORAGE_GET_F_CREATE);

		if (!d)
			return false;
		*d = *s;
		return true;
	}
	return !bpf_map_update_elem(&stash_sk, &key, s, BPF_ANY);
}

static __always_inline struct sk_state *sk_state_find(struct sock *sk)
{
	__u64 key = (__u64)sk;

	if (targ_sk_storage)
		return bpf_sk_storage_get(&sk_states, sk, 0, 0);
	return bpf_map_lookup_elem(&stash_sk, &key);
}

/* Storage lives as long as its socket: an outcome only clears the flag. */
static __always_inline void sk_state_done(struct sock *sk, struct sk_state *s)
{
	__u64 key = (__u64)sk;

	if (targ_sk_storage)
		s->active = 0;
	else
		bpf_map_delete_elem(&stash_sk, &key);
}

/* inet_sock.defer_connect up to 6.5 (a bitfield), a bit of inet_flags from 6.6 */
struct inet_sock___defer {
	__u8 defer_connect:1;
} __attribute__((preserve_access_index));

/* TCP Fast Open deferred this connect: TCP_FASTOPEN_CONNECT with a cookie
 * (or no cookie needed) makes connect() take a port and return 0 with
 * nothing sent; the SYN waits for the first write. Set only after the port
 * was taken (tcp_fastopen_defer_connect(), after the route with the new
 * source port); cleared by a disconnect and once the first write connects.
 * inet_sock lies beyond struct sock: a probe read, on the rare path only. */
static __always_inline bool tfo_deferred(struct sock *sk)
{
	struct inet_sock___defer *o = (void *)sk;
	struct inet_sock *inet = (void *)sk;

	if (bpf_core_field_exists(o->defer_connect))
		return BPF_CORE_READ_BITFIELD_PROBED(o, defer_connect);
	if (bpf_core_field_exists(inet->inet_flags) && targ_defer_bit < 64)
		return (BPF_CORE_READ(inet, inet_flags) >> targ_defer_bit) & 1;
	return false;
}

/* What port selection changes when it takes a port, and nothing else on
 * the way from CLOSE->SYN_SENT to SYN_SENT->CLOSE: the socket's hash in the
 * established table (set when it is inserted there with the port; the
 * unhash at CLOSE leaves it) and its transmit hash (sk_set_txhash() right
 * after port selection in tcp_v4_connect and tcp_v6_connect: a new random
 * non-zero value; on a 7.2 kernel an IPv6 connect's did not change). Both
 * are in struct sock: plain loads. Either one alone could repeat across
 * connects of the same socket (the same 4-tuple again; a transmit hash set
 * before SYN_SENT), both together practically never. */
static __always_inline __u32 port_taken_mark(struct sock *sk)
{
	return sk->__sk_common.skc_hash ^ sk->sk_txhash;
}

static __always_inline void tp_start(struct sock *sk)
{
	struct sk_state s = {};

	/* uid and cgroup for any event: a success ends in softirq context */
	if (!caller(&s.pid, &s.tid, s.comm, &s.uid, &s.cgroup_id, targ_events, true))
		return;
	if (!dport_wanted(bpf_ntohs(sk->__sk_common.skc_dport)))
		return;
	s.sport = sk->__sk_common.skc_num;
	s.wmem = sk->sk_wmem_queued;
	s.taken = port_taken_mark(sk);
	s.active = 1;
	s.t0 = bpf_ktime_get_ns();
	if (!sk_state_put(sk, &s))
		bump(PW_CNT_STASH_FULL);
}

/* now: the outcome's time if taken (a failure), else 0 */
static __always_inline void tp_emit(struct sk_state *s, struct sock *sk, int ret, __u8 cause,
				    __u64 now, bool uncounted)
{
	struct pw_event e = {};

	e.ts_ns = now ? now : bpf_ktime_get_ns();
	e.cgroup_id = s->cgroup_id;
	e.pid = s->pid;
	e.tid = s->tid;
	e.uid = s->uid;
	e.ret = ret;
	e.flags = PW_HAS_SCAN | (uncounted ? PW_UNCOUNTED : 0);
	e.family = sk->__sk_common.skc_family;
	e.dport = bpf_ntohs(sk->__sk_common.skc_dport);
	e.mode = targ_mode;
	e.cause = cause;
	if (ret && cause != PW_CAUSE_AFTER_PORT_SELECTION) {
		e.scan_ns = now - s->t0;
		e.flags |= PW_HAS_SCAN_NS;
		e.sport = s->sport;
	} else {
		/* the port it got; one released on the way to CLOSE (a failure
		 * after port selection, whose time to CLOSE is more than port
		 * selection: no scan_ns; a refused, timed out or Fast Open
		 * deferred connect) stays in inet_sport */
		e.sport = sk->__sk_common.skc_num;
		if (!e.sport)
			e.sport = bpf_ntohs(BPF_CORE_READ((struct inet_sock *)sk, inet_sport));
	}
	read_sk_saddr(e.saddr, e.family, sk, true);
	read_sk_daddr(e.daddr, e.family, sk);
	__builtin_memcpy(e.comm, s->comm, sizeof(e.comm));
	/* a failure is seen in the connecting thread; a success in softirq
	 * context, whose thread is not the connecting one: null */
	if (ret)
		bpf_get_current_comm(e.thread, sizeof(e.thread));
	read_net(sk, &e, true);
	send(&e);
}

/* SYN_SENT->CLOSE with nothing queued and no socket error: nothing was sent.
 * An unchanged port_taken_mark() means port selection took no port:
 * -EADDRNOTAVAIL. A changed one means connect() got past it and then either
 * returned 0 with the SYN deferred by TCP Fast Open (closed before the first
 * write: a success, as connect() said), or failed before queueing the SYN,
 * with an errno this tracepoint does not see: the route lookup with the
 * chosen source port (IPv4), or a memory allocation. */
static __always_inline bool tp_nothing_sent(struct sock *sk, struct sk_state *s, int *ret,
					    __u8 *cause)
{
	if (port_taken_mark(sk) == s->taken) {
		*ret = -PW_EADDRNOTAVAIL;
		*cause = s->sport ? PW_CAUSE_BOUND_CONFLICT : PW_CAUSE_RANGE_EXHAUSTED;
		return true;
	}
	if (tfo_deferred(sk))
		return false;
	*ret = -PW_ERR_UNKNOWN;
	*cause = PW_CAUSE_AFTER_PORT_SELECTION;
	return true;
}

static __always_inline void tp_end(struct sock *sk, int newstate)
{
	struct sk_state *s = sk_state_find(sk);
	__u8 cause = PW_CAUSE_NONE;
	__u64 now = 0;
	int ret = 0;

	if (!s || !s->active) {
		if (!s && unfiltered() && !targ_sk_storage)
			bump(PW_CNT_UNMATCHED);
		return;
	}
	if (newstate == TCP_CLOSE && sk->sk_err == 0 && sk->sk_wmem_queued == s->wmem &&
	    tp_nothing_sent(sk, s, &ret, &cause))
		now = bpf_ktime_get_ns();
	/* scan time: from the start to a failed port selection only */
	bool counted = count(s->pid, sk->__sk_common.skc_family, s->comm, s->cgroup_id, ret, true,
			     ret == -PW_EADDRNOTAVAIL, ret ? now - s->t0 : 0, 0);

	if (targ_dests && ret == -PW_EADDRNOTAVAIL) {
		struct pw_dest_fail_key k = {
			.cgroup_id = s->cgroup_id, .family = sk->__sk_common.skc_family,
			.dport = bpf_ntohs(sk->__sk_common.skc_dport),
		};

		k.netns = sk_netns(sk, true);
		read_sk_daddr(k.daddr, k.family, sk);
		count_dest(&k);
	}
	if ((targ_events && (ret || targ_all)) || !counted)
		tp_emit(s, sk, ret, cause, now, !counted);
	sk_state_done(sk, s);
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tp_set_state, struct sock *sk, int oldstate, int newstate)
{
	if (oldstate == TCP_CLOSE) {
		if (newstate != TCP_SYN_SENT)
			return 0;
	} else if (oldstate != TCP_SYN_SENT) {
		return 0;
	}
	if (sk->sk_protocol != PW_IPPROTO_TCP)
		return 0;
	if (oldstate == TCP_CLOSE)
		tp_start(sk);
	else
		tp_end(sk, newstate);
	return 0;
}
