// SPDX-License-Identifier: GPL-2.0
/* The smallest program of each attach type portwatch's modes use, on the
 * same kernel functions: tests/modeprobe loads and attaches one of them to
 * ask the kernel (not portwatch) whether a mode can work on this host. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

SEC("fentry/tcp_v4_connect")
int BPF_PROG(probe_fentry, struct sock *sk)
{
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(probe_kprobe, struct sock *sk)
{
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(probe_tracepoint, struct sock *sk, int oldstate, int newstate)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
