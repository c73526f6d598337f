// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "procs.h"

static bool same_proc(const struct pw_proc *pr, uint32_t pid, const char *comm)
{
	return pr->pid == pid && (pid || !strncmp(pr->comm, comm, PW_COMM_LEN));
}

static size_t pid_slot(uint32_t pid, size_t cap)
{
	return (size_t)(pid * 0x9e3779b1u) & (cap - 1);
}

/* The index over v (open addressing: row + 1, 0 = empty), at most half
 * full; made again when it would be more, or after a sort moved the rows. */
static int reindex(struct pw_procs *p, size_t cap)
{
	uint32_t *ix = calloc(cap, sizeof(*ix));

	if (!ix)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++) {
		size_t h = pid_slot(p->v[i].pid, cap);

		while (ix[h])
			h = (h + 1) & (cap - 1);
		ix[h] = i + 1;
	}
	free(p->index);
	p->index = ix;
	p->index_cap = cap;
	return 0;
}

/* pid 0 holds rows of no one process ("(exited)", "(unattributed)"): one
 * row per name. A hash probe: the table is built from up to 65,536 rows. */
static struct pw_proc *find_or_add(struct pw_procs *p, uint32_t pid, const char *comm)
{
	size_t h, cap = p->index_cap ? p->index_cap : 128;

	if ((p->n + 1) * 2 > p->index_cap) {
		while ((p->n + 1) * 2 > cap)
			cap *= 2;
		if (reindex(p, cap))
			return NULL;
	}
	for (h = pid_slot(pid, p->index_cap); p->index[h]; h = (h + 1) & (p->index_cap - 1))
		if (same_proc(&p->v[p->index[h] - 1], pid, comm))
			return &p->v[p->index[h] - 1];
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
	p->index[h] = ++p->n;
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
	/* rows moved: the next add indexes them again */
	free(p->index);
	p->index = NULL;
	p->index_cap = 0;
}

void pw_procs_free(struct pw_procs *p)
{
	free(p->v);
	free(p->index);
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
	sb_workload_json(sb, pr->w);
	sb_putc(sb, '}');
	return !sb->err;
}

/* ---- which HTTP client a process runs ---- */

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <unistd.h>
#include "census.h"

#define MAPS_MAX_LINES	65536	/* a process maps far fewer; bound the read */

const char *pw_client_name(enum pw_client c)
{
	switch (c) {
	case PW_CLIENT_LIBCURL: return "libcurl";
	case PW_CLIENT_GO: return "go";
	case PW_CLIENT_JVM: return "jvm";
	case PW_CLIENT_PYTHON: return "python";
	case PW_CLIENT_NODE: return "node";
	default: return NULL;
	}
}

/* "/usr/lib/x86_64-linux-gnu/libcurl-gnutls.so.4.8.0": does the file name
 * start with prefix and hold ".so"? */
static bool lib_is(const char *path, const char *prefix)
{
	const char *b = strrchr(path, '/');

	b = b ? b + 1 : path;
	return !strncmp(b, prefix, strlen(prefix)) && strstr(b, ".so");
}

struct maps_seen {
	bool curl, jvm, python, node;
};

static void read_maps(const char *maps, struct maps_seen *m)
{
	char line[4096 + 128];
	unsigned int n = 0;
	FILE *f = fopen(maps, "re");

	if (!f)
		return;
	while (n++ < MAPS_MAX_LINES && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		if (!path)
			continue;
		path[strcspn(path, "\n")] = '\0';
		m->curl |= lib_is(path, "libcurl");
		m->jvm |= lib_is(path, "libjvm");
		m->python |= lib_is(path, "libpython");
		m->node |= lib_is(path, "libnode");
	}
	fclose(f);
}

/* What the executable's ELF says: a Go build info (the ".go.buildinfo"
 * section, or its magic at the start of the first writable segment when
 * the section headers are stripped), or the symbols an interpreter exports
 * to its native extensions (CPython's Py_Initialize, Node's
 * node_module_register). */
static int exe_client(const char *exe)
{
	static const char go_magic[] = "\xff Go buildinf:";
	int fd = open(exe, O_RDONLY | O_CLOEXEC), client = PW_CLIENT_UNKNOWN;
	Elf_Scn *scn = NULL;
	size_t shstrndx, nph;
	Elf *elf;

	if (fd < 0)
		return -1;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return client;
	}
	if (!elf_getshdrstrndx(elf, &shstrndx)) {
		while (client == PW_CLIENT_UNKNOWN && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh;
			const char *name;

			if (!gelf_getshdr(scn, &sh))
				continue;
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			if (name && !strcmp(name, ".go.buildinfo")) {
				client = PW_CLIENT_GO;
			} else if (sh.sh_type == SHT_DYNSYM) {
				Elf_Data *data = elf_getdata(scn, NULL);
				size_t count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;

				for (size_t i = 0; data && i < count && client == PW_CLIENT_UNKNOWN; i++) {
					GElf_Sym sym;
					const char *sn;

					if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
						continue;
					sn = elf_strptr(elf, sh.sh_link, sym.st_name);
					if (!sn)
						continue;
					if (!strcmp(sn, "Py_Initialize"))
						client = PW_CLIENT_PYTHON;
					else if (!strcmp(sn, "node_module_register"))
						client = PW_CLIENT_NODE;
				}
			}
		}
	}
	if (client == PW_CLIENT_UNKNOWN && !elf_getphdrnum(elf, &nph)) {
		for (size_t i = 0; i < nph; i++) {
			GElf_Phdr ph;
			char head[sizeof(go_magic) - 1];

			if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_W))
				continue;
			if (pread(fd, head, sizeof(head), ph.p_offset) == (ssize_t)sizeof(head) &&
			    !memcmp(head, go_magic, sizeof(head)))
				client = PW_CLIENT_GO;
			break;	/* only the first writable segment */
		}
	}
	elf_end(elf);
	close(fd);
	return client;
}

/* Order: a runtime that brings its own HTTP stack (JVM, Go, Node) first;
 * then libcurl, also inside Python (pycurl) where it is what makes the
 * connections; then CPython. */
int pw_client_detect_files(const char *exe, const char *maps)
{
	struct maps_seen m = { 0 };
	int c;

	if (maps)
		read_maps(maps, &m);
	if (m.jvm)
		return PW_CLIENT_JVM;
	c = exe_client(exe);
	if (c < 0)
		return PW_CLIENT_GONE;
	if (c == PW_CLIENT_GO || c == PW_CLIENT_NODE || m.node)
		return c == PW_CLIENT_GO ? PW_CLIENT_GO : PW_CLIENT_NODE;
	if (m.curl)
		return PW_CLIENT_LIBCURL;
	if (m.python || c == PW_CLIENT_PYTHON)
		return PW_CLIENT_PYTHON;
	return PW_CLIENT_UNKNOWN;
}

int pw_client_detect(uint32_t pid, const char *comm)
{
	char exe[64], maps[64], name[PW_COMM_LEN + 2] = "";
	int c;
	FILE *f;

	snprintf(exe, sizeof(exe), "/proc/%u/exe", pid);
	snprintf(maps, sizeof(maps), "/proc/%u/maps", pid);
	if (access(maps, R_OK))
		return PW_CLIENT_GONE;
	c = pw_client_detect_files(exe, maps);
	/* still the same process? (its pid may be someone else's by now) */
	snprintf(maps, sizeof(maps), "/proc/%u/comm", pid);
	if (comm && (f = fopen(maps, "re"))) {
		if (!fgets(name, sizeof(name), f))
			name[0] = '\0';
		fclose(f);
		name[strcspn(name, "\n")] = '\0';
		if (strncmp(name, comm, PW_COMM_LEN - 1))
			return PW_CLIENT_GONE;
	} else if (comm) {
		return PW_CLIENT_GONE;
	}
	return c;
}
