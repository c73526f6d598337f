// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "procs.h"

static struct pw_proc *find_or_add(struct pw_procs *p, uint32_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i].pid == pid)
			return &p->v[i];
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
	return &p->v[p->n++];
}

int pw_procs_add(struct pw_procs *p, const struct pw_proc_key *k, const struct pw_proc_val *v)
{
	struct pw_proc *pr = find_or_add(p, k->tgid);
	unsigned int i;

	if (!pr)
		return -ENOMEM;
	if (!pr->comm[0] || k->err)
		memcpy(pr->comm, v->comm, PW_COMM_LEN);
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
		return 0;
	}
	pr->errs[i].err = k->err;
	pr->errs[i].count = v->count;
	pr->nerrs++;
	return 0;
}

static int cmp_proc(const void *a, const void *b)
{
	const struct pw_proc *x = a, *y = b;

	if (x->failures != y->failures)
		return x->failures < y->failures ? 1 : -1;
	if (x->attempts != y->attempts)
		return x->attempts < y->attempts ? 1 : -1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}

void pw_procs_sort(struct pw_procs *p)
{
	if (p->n)
		qsort(p->v, p->n, sizeof(p->v[0]), cmp_proc);
}

void pw_procs_free(struct pw_procs *p)
{
	free(p->v);
	memset(p, 0, sizeof(*p));
}

#define ROW_FMT "%-7s %-16s %9s %9s %9s %10s  %s\n"

void pw_procs_text(FILE *f, const struct pw_procs *p)
{
	char pid[16], comm[4 * PW_COMM_LEN], att[24], fail[24], scans[24], ms[24];
	char errs[256], ebuf[16];

	fprintf(f, ROW_FMT, "PID", "COMM", "ATTEMPTS", "FAILURES", "SCANS", "SCAN_MS", "ERRORS");
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
		if (!sb.len)
			sb_printf(&sb, "-");
		fprintf(f, ROW_FMT, pid, comm, att, fail, scans, ms, errs);
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
	sb_printf(sb, "},\"scans\":%llu,\"scan_ns_total\":%llu}",
		  (unsigned long long)pr->scans, (unsigned long long)pr->scan_ns);
	return !sb->err;
}
