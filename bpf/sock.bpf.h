/* SPDX-License-Identifier: GPL-2.0 */
/* Reads from a socket: its addresses, the local port range it may use, its
 * netns and tcp_tw_reuse; the CO-RE flavors of the layouts that changed
 * across kernels. A part of bpf/portwatch.bpf.c. */
#ifndef PW_SOCK_BPF_H
#define PW_SOCK_BPF_H

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

#endif /* PW_SOCK_BPF_H */
