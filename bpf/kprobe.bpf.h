/* SPDX-License-Identifier: GPL-2.0 */
/* kprobe mode: the kp_ and krp_ programs (CONFIG_KPROBES; probe reads). A
 * part of bpf/portwatch.bpf.c. */
#ifndef PW_KPROBE_BPF_H
#define PW_KPROBE_BPF_H

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

#endif /* PW_KPROBE_BPF_H */
