/* SPDX-License-Identifier: GPL-2.0 */
/* The operations other than a TCP connect() that fail for want of a local
 * port (issue 23), in every mode the same way: no kernel function in their
 * path has a tracepoint, so these are the syscall exit tracepoints, attached
 * only on request (--ops: an enabled syscall tracepoint puts every syscall
 * of every task on the slow path).
 *   bind(fd, addr, len) == -EADDRINUSE with port 0 in addr (AF_INET,
 *     AF_INET6, or AF_UNSPEC with 0.0.0.0 on an AF_INET socket): the port
 *     selection of inet_csk_get_port (TCP) or udp_lib_get_port (UDP) found
 *     no port of the range free for that address (only a port selection
 *     makes a bind of port 0 fail with EADDRINUSE). bind() is rare: its
 *     entry keeps the descriptor and the address of a bind of port 0 for
 *     the exit, per thread (every kernel).
 *   bind(fd, addr, len) == -EADDRINUSE with a port P != 0 (PW_OP_BIND_PORT):
 *     another socket holds P (a listener, or an outbound connection that
 *     drew P from the ephemeral range); the entry keeps these binds too,
 *     with P and the socket's protocol, and userspace looks for the holder.
 *   connect/sendto/sendmsg/sendmmsg(fd, ...) == -EAGAIN on a UDP socket that still
 *     has no local port after the call: inet_autobind() found no port.
 *     Sends are frequent: nothing runs at their entry, and the exit, which
 *     does nothing more than compare the return value unless it is EAGAIN,
 *     reads the descriptor from the task's saved user registers
 *     (bpf_task_pt_regs, 5.15+: userspace loads these programs only where
 *     the helper exists).
 * Not seen: the same operations through io_uring, and with --dport (they
 * have no destination port to match, or it is not read). */
#ifndef PW_OPS_BPF_H
#define PW_OPS_BPF_H

#define PW_AF_UNSPEC		0
#define PW_EAGAIN		11
#define PW_EADDRINUSE		98
#define PW_IPPROTO_UDP		17

/* sockaddr_in and sockaddr_in6 agree on family and port offsets */
struct pw_sa_head {
	__u16 family;
	__u16 port;		/* network order */
};

/* A bind(fd, addr, 0) under way, from its entry to its exit, per thread
 * (key: pid_tgid). A plain hash, not an LRU: the kernel's common LRU
 * evicts before it is full (per-CPU free lists), which would drop an
 * in-flight bind's entry and miss its failure uncounted; here a full map
 * refuses the entry and the bind is counted untraced (PW_CNT_BINDS_UNTRACED).
 * Only binds the filters (-p, -c, --cgroup; --dport: none) keep have an
 * entry: another process's binds take no room from the selected ones.
 * Every exit deletes its entry, whatever the return value. An entry whose
 * exit is never seen (the exit program skipped, e.g. under BPF recursion
 * protection) is not deleted: the next bind of that thread id overwrites
 * it, so such leftovers are at most one per thread id ever used, and with
 * as many as max_entries further binds are counted in PW_CNT_BINDS_UNTRACED,
 * never lost silently. */
struct bind_call {
	__s64 fd;
	__u64 sk;		/* the socket behind fd at the entry: compared, never read */
	__u8 addr[16];
	__u16 family;		/* the socket's family */
	__u16 port;		/* host order; 0: a bind of port 0 */
	__u8 proto;		/* the socket's protocol (IPPROTO_TCP/UDP) */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);	/* the connect stash's base size */
	__type(key, __u64);
	__type(value, struct bind_call);
} bind_calls SEC(".maps");

/* The socket behind descriptor fd of the current task, or NULL. Probe
 * reads: the table may change under us (another thread's close or dup2),
 * so the socket must point back at the file found. */
static __always_inline struct sock *fd_sock(long fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *f = NULL;
	struct socket *sock;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
		return NULL;
	sock = BPF_CORE_READ(f, private_data);
	if (!sock || BPF_CORE_READ(sock, file) != f)
		return NULL;
	return BPF_CORE_READ(sock, sk);
}

static __always_inline struct pt_regs *syscall_regs(void)
{
	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		return NULL;
	return (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
}

/* Count and stream one failure of op on a socket of family. sk: that
 * socket, for its netns and port range, or NULL when it is no longer known
 * (netns 0, no range). c: the bind asked for (its address, and for a fixed
 * port the port and protocol), else NULL (the socket's, none for an
 * unbound one). */
static __always_inline void op_failed(struct sock *sk, __u16 family, __u8 op, int ret,
				      const struct bind_call *c)
{
	struct pw_event e = {};
	bool counted;
	__u64 now;

	if (targ_ndports)
		return;
	if (!caller(&e.pid, &e.tid, e.comm, &e.uid, &e.cgroup_id, targ_events, true))
		return;
	counted = count(e.pid, PW_KEY_FAM_OP(family, op), e.comm, e.cgroup_id, ret,
			false, false, 0, 0);
	e.flags = PW_NO_DEST;
	now = bpf_ktime_get_ns();	/* the sample's time is the event's */
	if (!counted) {
		e.flags |= PW_UNCOUNTED;
	} else if (!targ_events) {
		/* -q: a bind's for its holder's diagnosis, keyed by the address
		 * and port it asked for */
		struct pw_sample_key k = {
			.tgid = e.pid, .family = family, .op = op,
		};

		if (!targ_sample || !c || !sk || (op != PW_OP_BIND && op != PW_OP_BIND_PORT))
			return;
		k.netns = sk_netns(sk, false);
		k.port = c->port;
		__builtin_memcpy(k.addr, c->addr, sizeof(k.addr));
		if (!sample_due(&k, now))
			return;
		e.flags |= PW_SAMPLED;
	}
	e.ts_ns = now;
	e.ret = ret;
	e.family = family;
	e.mode = targ_mode;
	e.op = op;
	e.cause = op == PW_OP_BIND_PORT ? PW_CAUSE_PORT_IN_USE : PW_CAUSE_RANGE_EXHAUSTED;
	if (c) {
		__builtin_memcpy(e.saddr, c->addr, sizeof(e.saddr));
		e.sport = c->port;
		e.proto = c->proto;
	}
	bpf_get_current_comm(e.thread, sizeof(e.thread));
	if (sk)
		read_net(sk, &e, false);
	send(&e);
}

SEC("tracepoint/syscalls/sys_enter_bind")
int sc_bind_enter(struct trace_event_raw_sys_enter *ctx)
{
	const void *ua = (const void *)ctx->args[1];
	struct bind_call c = { .fd = (__s64)ctx->args[0] };
	__u64 id = bpf_get_current_pid_tgid(), cgroup_id;
	char comm[PW_COMM_LEN];
	struct pw_sa_head h;
	struct sock *sk;
	__u32 pid, tid, uid;

	/* the filters, as at a connect's start: a bind the exit would not
	 * count takes no entry (--dport: binds are never reported); with no
	 * filter set, every bind is kept without looking at its caller */
	if (targ_ndports ||
	    (!unfiltered() && !caller(&pid, &tid, comm, &uid, &cgroup_id, false, true)))
		goto none;
	if (bpf_probe_read_user(&h, sizeof(h), ua))
		goto none;
	c.port = bpf_ntohs(h.port);
	/* AF_UNSPEC: inet_bind takes it as AF_INET on an AF_INET socket
	 * when the address is 0.0.0.0 (every kernel, 5.10 to 7.x) */
	if (h.family == PW_AF_INET || h.family == PW_AF_UNSPEC)
		bpf_probe_read_user(c.addr, 4, ua + offsetof(struct sockaddr_in, sin_addr));
	else if (h.family == PW_AF_INET6)
		bpf_probe_read_user(c.addr, 16, ua + offsetof(struct sockaddr_in6, sin6_addr));
	else
		goto none;
	/* the socket now: another thread may close fd and open another
	 * socket there before the exit */
	sk = fd_sock(c.fd);
	if (!sk)
		goto none;	/* not a socket: no port selection */
	c.sk = (__u64)sk;
	c.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	c.proto = BPF_CORE_READ(sk, sk_protocol);
	if (h.family == PW_AF_UNSPEC && (c.family != PW_AF_INET || *(__u32 *)c.addr))
		goto none;	/* EAFNOSUPPORT */
	if (bpf_map_update_elem(&bind_calls, &id, &c, BPF_ANY))
		bump(PW_CNT_BINDS_UNTRACED);
	return 0;
none:
	/* a leftover of this tid (its exit unseen) must not stand for this
	 * bind, which may fail with EADDRINUSE for a fixed port */
	bpf_map_delete_elem(&bind_calls, &id);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_bind")
int sc_bind_exit(struct trace_event_raw_sys_exit *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct bind_call *c = bpf_map_lookup_elem(&bind_calls, &id);
	struct sock *sk;

	if (!c)
		return 0;
	/* counted with what the entry saw; the socket's netns only if fd
	 * still holds that socket (else it may be gone: netns 0). A socket
	 * freed and another allocated at the same address in between passes
	 * this check: same slab, so the same protocol and family. */
	if (ctx->ret == -PW_EADDRINUSE) {
		sk = fd_sock(c->fd);
		op_failed((__u64)sk == c->sk ? sk : NULL, c->family,
			  c->port ? PW_OP_BIND_PORT : PW_OP_BIND, -PW_EADDRINUSE, c);
	}
	bpf_map_delete_elem(&bind_calls, &id);
	return 0;
}

static __always_inline void udp_exit(long ret, __u8 op)
{
	struct pt_regs *regs;
	struct sock *sk;

	if (ret != -PW_EAGAIN)
		return;
	regs = syscall_regs();
	if (!regs)
		return;
	sk = fd_sock(PT_REGS_PARM1_CORE_SYSCALL(regs));
	if (!sk || BPF_CORE_READ(sk, sk_protocol) != PW_IPPROTO_UDP ||
	    BPF_CORE_READ(sk, __sk_common.skc_num))
		return;
	op_failed(sk, BPF_CORE_READ(sk, __sk_common.skc_family), op, -PW_EAGAIN, NULL);
}

SEC("tracepoint/syscalls/sys_exit_connect")
int sc_udp_connect_exit(struct trace_event_raw_sys_exit *ctx)
{
	udp_exit(ctx->ret, PW_OP_UDP_CONNECT);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendto")
int sc_udp_sendto_exit(struct trace_event_raw_sys_exit *ctx)
{
	udp_exit(ctx->ret, PW_OP_UDP_SEND);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendmsg")
int sc_udp_sendmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	udp_exit(ctx->ret, PW_OP_UDP_SEND);
	return 0;
}

/* -EAGAIN only when the first message failed (after one, the count sent) */
SEC("tracepoint/syscalls/sys_exit_sendmmsg")
int sc_udp_sendmmsg_exit(struct trace_event_raw_sys_exit *ctx)
{
	udp_exit(ctx->ret, PW_OP_UDP_SEND);
	return 0;
}

#endif /* PW_OPS_BPF_H */
