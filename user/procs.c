// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "procs.h"

static bool same_proc(const struct pw_proc *pr, uint32_t pid, const char *comm)
{
	return pr->pid == pid && (pid || !strncmp(pr->comm, comm, PW_COMM_LEN));
}

static uint64_t pid_hash(uint32_t pid)
{
	return (uint32_t)(pid * 0x9e3779b1u);
}

struct proc_key {
	const struct pw_procs *p;
	uint32_t pid;
	const char *comm;
};

/* A slot of the index: a row + 1, 0 = empty. */
static enum pw_htab_slot row_classify(const void *slot, const void *key)
{
	uint32_t row = *(const uint32_t *)slot;
	const struct proc_key *k = key;

	if (!row)
		return PW_HT_EMPTY;
	return k && same_proc(&k->p->v[row - 1], k->pid, k->comm) ? PW_HT_MATCH : PW_HT_TAKEN;
}

/* The index over v, at most half full; made again when it would be more,
 * or after a sort moved the rows. */
static int reindex(struct pw_procs *p, size_t cap)
{
	struct pw_htab ix;
	bool found;

	if (pw_htab_init(&ix, cap, sizeof(uint32_t), 0))
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		*(uint32_t *)pw_htab_find(&ix, pid_hash(p->v[i].pid), row_classify, NULL, &found) = i + 1;
	pw_htab_free(&p->index);
	p->index = ix;
	return 0;
}

/* pid 0 holds rows of no one process ("(exited)", "(unattributed)"): one
 * row per name. A hash probe: the table is built from up to 65,536 rows. */
static struct pw_proc *find_or_add(struct pw_procs *p, uint32_t pid, const char *comm)
{
	size_t icap = p->index.slots ? pw_htab_slots(&p->index) : 0, cap = icap ? icap : 128;
	struct proc_key k = { p, pid, comm };
	uint32_t *slot;
	bool found;

	if ((p->n + 1) * 2 > icap) {
		while ((p->n + 1) * 2 > cap)
			cap *= 2;
		if (reindex(p, cap))
			return NULL;
	}
	slot = pw_htab_find(&p->index, pid_hash(pid), row_classify, &k, &found);
	if (found)
		return &p->v[*slot - 1];
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct pw_proc *v = realloc(p->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		p->v = v;
		p->cap = cap;
	}
	memset(&p->v[p->n], 0, sizeof(p->v[0]));
	p->v[p->n].pid = pid;
	if (!pid)
		memcpy(p->v[p->n].comm, comm, PW_COMM_LEN);
	*slot = ++p->n;
	return &p->v[p->n - 1];
}

int pw_procs_add(struct pw_procs *p, const struct pw_proc_key *k, const struct pw_proc_val *v)
{
	struct pw_proc *pr = find_or_add(p, k->tgid, v->comm);
	unsigned int i;

	if (!pr)
		return -ENOMEM;
	if (!pr->comm[0] || k->err)
		memcpy(pr->comm, v->comm, PW_COMM_LEN);
	if (v->cgroup_id && (!pr->cgroup_id || k->err))
		pr->cgroup_id = v->cgroup_id;
	if (PW_KEY_OP(k->family) != PW_OP_CONNECT) {
		if (PW_KEY_OP(k->family) < PW_OP_MAX)
			pr->op_fails[PW_KEY_OP(k->family)] += v->count;
		return 0;
	}
	pr->attempts += v->count;
	pr->scans += v->scans;
	pr->scan_ns += v->scan_ns;
	if (!k->err)
		return 0;
	pr->failures += v->count;
	for (i = 0; i < pr->nerrs; i++) {
		if (pr->errs[i].err == (int)k->err) {
			pr->errs[i].count += v->count;
			return 0;
		}
	}
	if (i == PW_MAX_ERRS) {
		pr->other_errs += v->count;
		if (k->err == EADDRNOTAVAIL)
			pr->other_eana += v->count;
		return 0;
	}
	pr->errs[i].err = k->err;
	pr->errs[i].count = v->count;
	pr->nerrs++;
	return 0;
}

static uint64_t all_failures(const struct pw_proc *pr)
{
	uint64_t n = pr->failures;

	for (int op = PW_OP_CONNECT + 1; op < PW_OP_MAX; op++)
		n += pr->op_fails[op];
	return n;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct pw_proc *x = a, *y = b;

	if (all_failures(x) != all_failures(y))
		return all_failures(x) < all_failures(y) ? 1 : -1;
	if (x->attempts != y->attempts)
		return x->attempts < y->attempts ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void pw_procs_sort(struct pw_procs *p)
{
	if (p->n)
		qsort(p->v, p->n, sizeof(p->v[0]), cmp_proc);
	/* rows moved: the next add indexes them again */
	pw_htab_free(&p->index);
}

void pw_procs_free(struct pw_procs *p)
{
	free(p->v);
	pw_htab_free(&p->index);
	memset(p, 0, sizeof(*p));
}

#define ROW_FMT "%-7s %-16s %9s %9s %9s %10s  %-24s %s\n"

void pw_procs_text(FILE *f, const struct pw_procs *p)
{
	char pid[16], comm[4 * PW_COMM_LEN], att[24], fail[24], scans[24], ms[24];
	char errs[256], ebuf[16], wl[8192];

	fprintf(f, ROW_FMT, "PID", "COMM", "ATTEMPTS", "FAILURES", "SCANS", "SCAN_MS", "ERRORS",
		"WORKLOAD");
	for (size_t i = 0; i < p->n; i++) {
		const struct pw_proc *pr = &p->v[i];
		struct sbuf sb;

		snprintf(pid, sizeof(pid), "%u", pr->pid);
		pw_comm_text(comm, sizeof(comm), pr->comm);
		snprintf(att, sizeof(att), "%llu", (unsigned long long)pr->attempts);
		snprintf(fail, sizeof(fail), "%llu", (unsigned long long)pr->failures);
		snprintf(scans, sizeof(scans), "%llu", (unsigned long long)pr->scans);
		snprintf(ms, sizeof(ms), "%.3f", pr->scan_ns / 1e6);
		sb_init(&sb, errs, sizeof(errs));
		for (unsigned int j = 0; j < pr->nerrs; j++)
			sb_printf(&sb, "%s%s:%llu", j ? "," : "",
				  pw_errno_label(pr->errs[j].err, ebuf, sizeof(ebuf)),
				  (unsigned long long)pr->errs[j].count);
		if (pr->other_errs)
			sb_printf(&sb, "%sother:%llu", pr->nerrs ? "," : "",
				  (unsigned long long)pr->other_errs);
		for (int op = PW_OP_CONNECT + 1; op < PW_OP_MAX; op++)
			if (pr->op_fails[op])
				sb_printf(&sb, "%s%s:%llu", sb.len ? "," : "", pw_op_name(op),
					  (unsigned long long)pr->op_fails[op]);
		if (!sb.len)
			sb_printf(&sb, "-");
		sb_init(&sb, wl, sizeof(wl));
		sb_workload_text(&sb, pr->w);
		fprintf(f, ROW_FMT, pid, comm, att, fail, scans, ms, errs, sb.err ? "?" : wl);
	}
}

bool pw_proc_json(struct sbuf *sb, const struct pw_proc *pr)
{
	char ebuf[16];

	sb_printf(sb, "{\"pid\":%u,\"comm\":", pr->pid);
	sb_json_str(sb, pr->comm, pw_comm_len(pr->comm));
	sb_printf(sb, ",\"attempts\":%llu,\"failures\":%llu,\"errors\":{",
		  (unsigned long long)pr->attempts, (unsigned long long)pr->failures);
	for (unsigned int j = 0; j < pr->nerrs; j++)
		sb_printf(sb, "%s\"%s\":%llu", j ? "," : "",
			  pw_errno_label(pr->errs[j].err, ebuf, sizeof(ebuf)),
			  (unsigned long long)pr->errs[j].count);
	if (pr->other_errs)
		sb_printf(sb, "%s\"other\":%llu", pr->nerrs ? "," : "",
			  (unsigned long long)pr->other_errs);
	sb_printf(sb, "},\"scans\":%llu,\"scan_ns_total\":%llu",
		  (unsigned long long)pr->scans, (unsigned long long)pr->scan_ns);
	/* the other ops' failures, only where there are some (--ops) */
	for (int op = PW_OP_CONNECT + 1, n = 0; op < PW_OP_MAX; op++)
		if (pr->op_fails[op])
			sb_printf(sb, "%s\"%s\":%llu", n++ ? "," : ",\"op_failures\":{",
				  pw_op_name(op), (unsigned long long)pr->op_fails[op]);
	if (all_failures(pr) != pr->failures)
		sb_putc(sb, '}');
	sb_workload_json(sb, pr->w);
	sb_putc(sb, '}');
	return !sb->err;
}
