/* SPDX-License-Identifier: GPL-2.0 */
/* Building struct pw_accounts by hand, for the accounts and metrics tests. */
#ifndef PW_ACCOUNTS_FIXTURE_H
#define PW_ACCOUNTS_FIXTURE_H

#include <stdlib.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "accounts.h"

static inline struct pw_proc_val fx_val(uint64_t count, uint64_t scans, uint64_t scan_ns,
					const char *comm)
{
	struct pw_proc_val v;

	memset(&v, 0, sizeof(v));
	v.count = count;
	v.scans = scans;
	v.scan_ns = scan_ns;
	memcpy(v.comm, comm, strnlen(comm, sizeof(v.comm)));
	return v;
}

/* A kernel entry as pw_accounts_sync would read it. */
static inline void fx_update(struct pw_accounts *a, uint32_t tgid, uint16_t err, uint16_t family,
			     uint64_t count, uint64_t scans, uint64_t scan_ns, const char *comm)
{
	struct pw_proc_key k = { .tgid = tgid, .err = err, .family = family };
	struct pw_proc_val v = fx_val(count, scans, scan_ns, comm);

	assert_int_equal(pw_accounts_update(a, &k, &v), 0);
}

/* An expired row as fold_expired (reached only from pw_accounts_sync) makes it. */
static inline void fx_add_expired(struct pw_accounts *a, uint16_t err, uint16_t family,
				  uint64_t count, uint64_t scans, uint64_t scan_ns, const char *comm)
{
	struct pw_row *e;

	if (a->nexpired == a->expired_cap) {
		a->expired_cap = a->expired_cap ? a->expired_cap * 2 : 4;
		a->expired = realloc(a->expired, a->expired_cap * sizeof(*a->expired));
		assert_non_null(a->expired);
	}
	e = &a->expired[a->nexpired++];
	memset(e, 0, sizeof(*e));
	e->key.err = err;
	e->key.family = family;
	e->base = fx_val(count, scans, scan_ns, comm);
}

/* A hash map shaped as the kernel's per-process map, for the tests that
 * sync with one; skipped when not root (no BPF maps without privileges),
 * a failure as root: root that cannot make a hash map is a broken setup. */
static inline int fx_map(unsigned int entries)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "pw_test_procs", sizeof(struct pw_proc_key),
				sizeof(struct pw_proc_val), entries, NULL);

	if (fd < 0) {
		if (geteuid() != 0)
			skip();
		fail_msg("bpf_map_create(BPF_MAP_TYPE_HASH, %u entries) as root: %s", entries,
			 strerror(errno));
	}
	return fd;
}

#endif /* PW_ACCOUNTS_FIXTURE_H */
