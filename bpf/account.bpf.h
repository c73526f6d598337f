/* SPDX-License-Identifier: GPL-2.0 */
/* Counting outcomes: the global counters, the log2 histograms, and count():
 * one outcome per (process, errno, family), else unattributed, else for the
 * ring buffer to carry. A part of bpf/portwatch.bpf.c. */
#ifndef PW_ACCOUNT_BPF_H
#define PW_ACCOUNT_BPF_H

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

/* An outcome other than EADDRNOTAVAIL with no key of its own: exact per
 * (errno, family), no process. An inlined per-CPU array lookup, no atomics. */
static __always_inline void count_unattributed(__u16 err, __u16 family, bool scan_entered,
					       bool scan_timed, __u64 scan_ns)
{
	__u32 idx = (PW_KEY_FAMILY(family) == PW_AF_INET6 ? PW_UNATTR_ERRS : 0) +
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
 * ring buffer, and only a full ring buffer can lose it (PW_CNT_OUTCOMES_LOST). */
static __always_inline bool count(__u32 tgid, __u16 family, const char *comm, __u64 cgroup_id,
				  int ret,
				  bool scan_entered, bool scan_timed, __u64 scan_ns,
				  __u32 ports_checked)
{
	struct pw_proc_key k = {
		.tgid = tgid, .err = ret < 0 ? -ret : 0, .family = family,
	};
	/* the failure watched for: a connect's EADDRNOTAVAIL, or any other
	 * op's (only its watched failure is counted: ops.bpf.h) */
	bool watched = k.err == PW_EADDRNOTAVAIL || PW_KEY_OP(family) != PW_OP_CONNECT;
	struct pw_proc_val *v = NULL;
	bool counted = true;
	__u32 zero = 0;
	void *map = bpf_map_lookup_elem(&procs_active, &zero);

	if (!map)
		goto full;	/* cannot happen: the slot is never emptied */
	v = bpf_map_lookup_elem(map, &k);
	if (!v) {
		struct pw_proc_val nv = {};

		if (!watched && procs_inserts >= procs_allow)
			goto unattributed;
		__builtin_memcpy(nv.comm, comm, sizeof(nv.comm));
		nv.cgroup_id = cgroup_id;
		/* EEXIST means another CPU created it first: fine */
		if (!bpf_map_update_elem(map, &k, &nv, BPF_NOEXIST))
			__sync_fetch_and_add(&procs_inserts, 1);
		v = bpf_map_lookup_elem(map, &k);
		if (!v) {
			if (!watched)
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

#endif /* PW_ACCOUNT_BPF_H */
