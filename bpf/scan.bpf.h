/* SPDX-License-Identifier: GPL-2.0 */
/* Port selection (__inet_hash_connect) inside a stashed connect(), fentry
 * and kprobe modes: whether it ran, its time and result, the bound port, and
 * for --scan-depth each port it checked. A part of bpf/portwatch.bpf.c. */
#ifndef PW_SCAN_BPF_H
#define PW_SCAN_BPF_H

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

#endif /* PW_SCAN_BPF_H */
