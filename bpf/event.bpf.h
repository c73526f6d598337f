/* SPDX-License-Identifier: GPL-2.0 */
/* Outcome records: send() writes one to the ring buffer with the wakeup
 * policy (every mode); classify(), emit() and finish() turn a stashed
 * connect() (fentry and kprobe modes) into its count and its event. A part
 * of bpf/portwatch.bpf.c. */
#ifndef PW_EVENT_BPF_H
#define PW_EVENT_BPF_H

/* How often a CPU asks the ring how much is waiting (a power of 2). */
#define PW_WAKE_QUERY_EVERY	64

/* Write an event built on the stack with one helper call (reserve, copy and
 * commit). Wakeups: the consumer is woken for every event while
 * targ_wakeup_bytes or more wait (it is behind; the wakeups' cost also slows
 * the producers down to its pace), else it finds the events at its next poll.
 * Whether it is behind costs a query, a cache miss on the consumer's
 * position: each CPU asks every PW_WAKE_QUERY_EVERY events, and for every
 * event while the last answer was "behind", so falling behind is noticed at
 * most that many events per CPU late (8 KiB of a 4 MiB ring). The per-CPU
 * array lookup is inlined by the verifier. False when the ring buffer had
 * no room: a lost PW_SAMPLED event's key in `sampled` is made due again
 * PW_SAMPLE_RETRY_NS after it, not PW_SAMPLE_EVERY_NS (a tenant filling the
 * ring buffer must not silence another's diagnoses; nor is a full ring
 * buffer tried on every failure). */
static __always_inline bool send(struct pw_event *e)
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
	if (!bpf_ringbuf_output(&events, e, sizeof(*e), flags))
		return true;
	if (e->flags & PW_SAMPLED) {
		struct pw_sample_key k;
		struct pw_sample_val *v;

		bump(PW_CNT_SAMPLES_LOST);	/* not the stream's */
		pw_sample_key_of(e, &k);
		v = bpf_map_lookup_elem(&sampled, &k);
		/* due again PW_SAMPLE_RETRY_NS after this failure, not
		 * PW_SAMPLE_EVERY_NS: a lost event does not silence its key,
		 * and a full ring buffer is not tried on every failure (no
		 * delete and insert either); unless another CPU wrote a later
		 * sample of it meanwhile */
		if (v && v->last_ns == e->ts_ns)
			v->last_ns = e->ts_ns - PW_SAMPLE_EVERY_NS + PW_SAMPLE_RETRY_NS;
		return false;
	}
	bump(PW_CNT_EVENTS_LOST);
	if (e->flags & PW_UNCOUNTED)
		bump(PW_CNT_OUTCOMES_LOST);	/* its only record */
	return false;
}

/* -q: whether this failure's event is to be written: the first of its key
 * k in PW_SAMPLE_EVERY_NS. now: the outcome's time, which the event then
 * carries as its ts_ns (one clock reading for both). One lookup, and an
 * update when due; only the failures the consumer diagnoses pay it. Two CPUs
 * failing on the same key at once may both find it due (the time is
 * compared and stored without a compare-and-swap, 5.12+): one more event,
 * never a lost count (the counts are the maps'). The compare is signed:
 * another CPU may have stored a later time than this now. */
static __always_inline bool sample_due(struct pw_sample_key *k, __u64 now)
{
	struct pw_sample_val *v = bpf_map_lookup_elem(&sampled, k), nv = { .writes = 1 };

	if (v) {
		if ((__s64)(now - v->last_ns) < (__s64)PW_SAMPLE_EVERY_NS)
			return false;
		v->last_ns = now;
		__sync_fetch_and_add(&v->writes, 1);	/* BPF_ATOMIC add: 5.10+ */
		return true;
	}
	nv.last_ns = now;
	/* EEXIST: another CPU wrote this key's event just now. Any other
	 * error (no memory, a busy LRU lock): the key is not kept, but the
	 * event is written (the next failure asks again) */
	return bpf_map_update_elem(&sampled, k, &nv, BPF_NOEXIST) != -PW_EEXIST;
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

/* flags: PW_UNCOUNTED, PW_SAMPLED or 0; now: the outcome's time */
static __always_inline void emit(struct stash *st, struct sock *sk, int ret,
				 __u8 cause, __u32 flags, __u64 now, bool direct)
{
	struct pw_event ev = {}, *e = &ev;

	e->ts_ns = now;
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
	e->flags = flags;
	if (st->scan_entered)
		e->flags |= PW_HAS_SCAN;
	if (st->scan_timed)
		e->flags |= PW_HAS_SCAN_NS;
	if (targ_scan_depth && st->scan_entered)
		e->flags |= PW_HAS_PORTS_CHECKED;
	if (st->no_dest)
		e->flags |= PW_NO_DEST;
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
	/* EEXIST: another CPU made the key; it has a slot for this CPU */
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

	if ((targ_events && (ret || targ_all)) || !counted) {
		emit(st, sk, ret, cause, counted ? 0 : PW_UNCOUNTED, bpf_ktime_get_ns(), direct);
	} else if (targ_sample && ret == -PW_EADDRNOTAVAIL && !st->no_dest) {
		struct pw_sample_key k = {
			.tgid = st->pid, .family = st->family, .port = st->dport,
			.op = PW_OP_CONNECT,
		};

		k.netns = sk_netns(sk, direct);
		__u64 now = bpf_ktime_get_ns();

		__builtin_memcpy(k.addr, st->daddr, sizeof(k.addr));
		if (sample_due(&k, now))
			emit(st, sk, ret, cause, PW_SAMPLED, now, direct);
	}
}

#endif /* PW_EVENT_BPF_H */
