/* SPDX-License-Identifier: GPL-2.0 */
/* tracepoint mode: tp_set_state on tp_btf/inet_sock_set_state, keyed by
 * socket, for kernels with neither kprobes nor trampolines. A part of
 * bpf/portwatch.bpf.c. */
#ifndef PW_TRACEPOINT_BPF_H
#define PW_TRACEPOINT_BPF_H

/* CLOSE->SYN_SENT: connect() is about to select a port (process context).
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

/* now: the outcome's time if taken (a failure), else 0; flags:
 * PW_UNCOUNTED, PW_SAMPLED or 0 */
static __always_inline void tp_emit(struct sk_state *s, struct sock *sk, int ret, __u8 cause,
				    __u64 now, __u32 flags)
{
	struct pw_event e = {};

	e.ts_ns = now ? now : bpf_ktime_get_ns();
	e.cgroup_id = s->cgroup_id;
	e.pid = s->pid;
	e.tid = s->tid;
	e.uid = s->uid;
	e.ret = ret;
	e.flags = PW_HAS_SCAN | flags;
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
	if ((targ_events && (ret || targ_all)) || !counted) {
		tp_emit(s, sk, ret, cause, now, counted ? 0 : PW_UNCOUNTED);
	} else if (targ_sample && ret == -PW_EADDRNOTAVAIL) {
		struct pw_sample_key k = {
			.tgid = s->pid, .family = sk->__sk_common.skc_family,
			.port = bpf_ntohs(sk->__sk_common.skc_dport), .op = PW_OP_CONNECT,
		};

		k.netns = sk_netns(sk, true);
		read_sk_daddr(k.addr, k.family, sk);
		if (sample_due(&k, now))
			tp_emit(s, sk, ret, cause, now, PW_SAMPLED);
	}
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

#endif /* PW_TRACEPOINT_BPF_H */
