/* SPDX-License-Identifier: GPL-2.0 */
/* fentry and kprobe modes, keyed by thread: a connect()'s entry into the
 * stash and its outcome from it. Both program sets inline these; `direct`
 * (a constant at every call) says whether the socket is a BTF pointer. A
 * part of bpf/portwatch.bpf.c. */
#ifndef PW_CONNECT_BPF_H
#define PW_CONNECT_BPF_H

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

#endif /* PW_CONNECT_BPF_H */
