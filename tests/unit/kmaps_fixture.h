/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel maps kmaps.c reads, made by hand (root only: skipped
 * otherwise, a failure as root), for the kmaps and report tests. */
#ifndef PW_KMAPS_FIXTURE_H
#define PW_KMAPS_FIXTURE_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include "accounts_fixture.h"
#include "kmaps.h"

struct kfx {
	struct pw_kmaps km;
	__u64 inserts, allow;
	int ncpu;
};

static inline int kfx_percpu(const char *name, __u32 value_size, __u32 entries)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, name, sizeof(__u32), value_size,
				entries, NULL);

	if (fd < 0)
		fail_msg("bpf_map_create(%s): %s", name, strerror(errno));
	return fd;
}

/* Maps shaped as bpf/portwatch.bpf.c's, procs[0] active. */
static inline void kfx_init(struct kfx *x, struct pw_mailbox *mb, size_t procs_open)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts);
	__u32 zero = 0;
	int inner;

	memset(x, 0, sizeof(*x));
	pw_kmaps_init(&x->km, 65536, false);
	x->km.fds.procs[0] = fx_map(16384);	/* skips when not root */
	x->km.fds.procs[1] = fx_map(16384);
	x->km.fds.counters = kfx_percpu("pw_test_cnt", sizeof(__u64), PW_CNT_MAX);
	x->km.fds.unattributed = kfx_percpu("pw_test_unattr", sizeof(struct pw_unattr_val),
					    PW_UNATTR_SLOTS);
	inner = x->km.fds.procs[0];
	opts.inner_map_fd = inner;
	x->km.fds.procs_active = bpf_map_create(BPF_MAP_TYPE_ARRAY_OF_MAPS, "pw_test_active",
						sizeof(__u32), sizeof(__u32), 1, &opts);
	if (x->km.fds.procs_active < 0)
		fail_msg("bpf_map_create(ARRAY_OF_MAPS): %s", strerror(errno));
	assert_int_equal(bpf_map_update_elem(x->km.fds.procs_active, &zero, &inner, BPF_ANY), 0);
	x->km.fds.procs_inserts = &x->inserts;
	x->km.fds.procs_allow = &x->allow;
	x->km.mb = mb;
	x->km.procs_open = procs_open;
	x->ncpu = libbpf_num_possible_cpus();
	assert_true(x->ncpu > 0);
}

static inline void kfx_free(struct kfx *x)
{
	close(x->km.fds.procs[0]);
	close(x->km.fds.procs[1]);
	close(x->km.fds.counters);
	close(x->km.fds.unattributed);
	close(x->km.fds.procs_active);
	pw_kmaps_free(&x->km);
}

/* Counter idx: CPU c holds per_cpu * (c + 1). */
static inline uint64_t kfx_set_counter(struct kfx *x, __u32 idx, uint64_t per_cpu)
{
	uint64_t vals[x->ncpu], sum = 0;

	for (int c = 0; c < x->ncpu; c++)
		sum += vals[c] = per_cpu * (c + 1);
	assert_int_equal(bpf_map_update_elem(x->km.fds.counters, &idx, vals, BPF_ANY), 0);
	return sum;
}

static inline void kfx_put(int fd, uint32_t tgid, uint16_t err, uint64_t count, const char *comm)
{
	struct pw_proc_key k = { .tgid = tgid, .err = err, .family = AF_INET };
	struct pw_proc_val v = fx_val(count, 0, 0, comm);

	assert_int_equal(bpf_map_update_elem(fd, &k, &v, BPF_ANY), 0);
}

/* The summed count of the accounts' row (tgid, err, AF_INET); 0 if none. */
static inline uint64_t kfx_count(const struct pw_accounts *a, uint32_t tgid, uint16_t err)
{
	for (size_t i = 0; i < a->n; i++) {
		struct pw_proc_val t;

		if (a->rows[i].key.tgid != tgid || a->rows[i].key.err != err ||
		    a->rows[i].key.family != AF_INET)
			continue;
		pw_row_total(&a->rows[i], &t);
		return t.count;
	}
	return 0;
}

#endif /* PW_KMAPS_FIXTURE_H */
