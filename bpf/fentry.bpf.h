/* SPDX-License-Identifier: GPL-2.0 */
/* fentry/fexit mode: the fe_ and fx_ programs (BPF trampolines; BTF
 * pointers, plain loads). A part of bpf/portwatch.bpf.c. */
#ifndef PW_FENTRY_BPF_H
#define PW_FENTRY_BPF_H

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

#endif /* PW_FENTRY_BPF_H */
