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
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "client.h"

#define MAPS_MAX_LINES	65536	/* a process maps far fewer; bound the read */

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

static void read_maps(FILE *f, struct maps_seen *m)
{
	char line[4096 + 128];
	unsigned int n = 0;

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
}

/* ---- bounds on a hostile executable ----
 * The executable is any local user's file, read as root on every diagnosis:
 * before libelf sees it, its size and the header's own counts are checked
 * against the file and against bounds far above any real program's (node
 * 20: 41 sections, 14 program headers, a 0.5 MiB .dynsym, a 2.3 MiB .dynstr),
 * and the sections read (.dynsym, its strings, the section names) too. So a
 * detection reads at most PW_ELF_MAX_SECTIONS headers and
 * PW_ELF_MAX_DYNSYM + 2 * PW_ELF_MAX_STRTAB bytes of sections. */
static uint64_t elf_refused;

uint64_t pw_client_elf_refused(void)
{
	return __atomic_load_n(&elf_refused, __ATOMIC_RELAXED);
}

static bool within(uint64_t off, uint64_t len, uint64_t size)
{
	return off <= size && len <= size - off;
}

int pw_elf_check(const struct pw_elf_head *h, uint64_t file_size)
{
	if (file_size > PW_ELF_MAX_FILE)
		return -EFBIG;
	if (h->shnum > PW_ELF_MAX_SECTIONS || h->phnum > PW_ELF_MAX_PHDRS)
		return -E2BIG;
	if (h->shnum && (h->shentsize != h->shdr_size ||
			 !within(h->shoff, (uint64_t)h->shnum * h->shentsize, file_size)))
		return -EINVAL;
	if (h->phnum && (h->phentsize != h->phdr_size ||
			 !within(h->phoff, (uint64_t)h->phnum * h->phentsize, file_size)))
		return -EINVAL;
	if (h->shnum && h->shstrndx >= h->shnum)
		return -EINVAL;
	return 0;
}

int pw_elf_check_section(uint64_t type, uint64_t offset, uint64_t size, uint64_t file_size,
			 uint64_t max)
{
	if (size > max)
		return -E2BIG;
	/* SHT_NOBITS takes no room in the file; nothing is read of it */
	if (type != SHT_NOBITS && !within(offset, size, file_size))
		return -EINVAL;
	return 0;
}

/* The header of the ELF file fd, with the counts the extended numbering
 * keeps in section 0 (e_shnum 0, e_phnum PN_XNUM, e_shstrndx SHN_XINDEX)
 * resolved: 0, or -ENOEXEC when it is not a native ELF file (another byte
 * order is not read at all). */
static int elf_head(int fd, struct pw_elf_head *h)
{
	unsigned char id[EI_NIDENT];
	uint64_t sh0_size = 0, sh0_link = 0, sh0_info = 0;
	union {
		union { Elf64_Ehdr e64; Elf32_Ehdr e32; } e;
		union { Elf64_Shdr s64; Elf32_Shdr s32; } s;
	} u;
	bool is64;

	memset(h, 0, sizeof(*h));
	if (pread(fd, id, sizeof(id), 0) != (ssize_t)sizeof(id) || memcmp(id, ELFMAG, SELFMAG))
		return -ENOEXEC;
	if (id[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB))
		return -ENOEXEC;
	if (id[EI_CLASS] != ELFCLASS64 && id[EI_CLASS] != ELFCLASS32)
		return -ENOEXEC;
	is64 = id[EI_CLASS] == ELFCLASS64;
/* the same fields of either class */
#define HEAD_FROM(e, shdr, phdr)						\
	do {									\
		h->shoff = (e).e_shoff;						\
		h->phoff = (e).e_phoff;						\
		h->shnum = (e).e_shnum;						\
		h->phnum = (e).e_phnum;						\
		h->shentsize = (e).e_shentsize;					\
		h->phentsize = (e).e_phentsize;					\
		h->shstrndx = (e).e_shstrndx;					\
		h->shdr_size = sizeof(shdr);					\
		h->phdr_size = sizeof(phdr);					\
	} while (0)
#define SH0_FROM(s)								\
	do {									\
		sh0_size = (s).sh_size;						\
		sh0_link = (s).sh_link;						\
		sh0_info = (s).sh_info;						\
	} while (0)
	if (pread(fd, &u.e, is64 ? sizeof(u.e.e64) : sizeof(u.e.e32), 0) !=
	    (ssize_t)(is64 ? sizeof(u.e.e64) : sizeof(u.e.e32)))
		return -ENOEXEC;
	if (is64)
		HEAD_FROM(u.e.e64, Elf64_Shdr, Elf64_Phdr);
	else
		HEAD_FROM(u.e.e32, Elf32_Shdr, Elf32_Phdr);
	/* section 0 holds the real counts when they do not fit the header */
	if (h->shoff && (h->shnum == 0 || h->phnum == PN_XNUM || h->shstrndx == SHN_XINDEX)) {
		if (pread(fd, &u.s, is64 ? sizeof(u.s.s64) : sizeof(u.s.s32), h->shoff) !=
		    (ssize_t)(is64 ? sizeof(u.s.s64) : sizeof(u.s.s32)))
			return -ENOEXEC;
		if (is64)
			SH0_FROM(u.s.s64);
		else
			SH0_FROM(u.s.s32);
		if (h->shnum == 0)
			h->shnum = sh0_size;
		if (h->phnum == PN_XNUM)
			h->phnum = sh0_info;
		if (h->shstrndx == SHN_XINDEX)
			h->shstrndx = sh0_link;
	}
	return 0;
#undef HEAD_FROM
#undef SH0_FROM
}

/* What the executable's ELF says: a Go build info (the ".go.buildinfo"
 * section, or its magic at the start of the first writable segment when
 * the section headers are stripped), or the symbols an interpreter exports
 * to its native extensions (CPython's Py_Initialize, Node's
 * node_module_register). fd: the executable, open for reading. */
static int exe_client_fd(int fd)
{
	static const char go_magic[] = "\xff Go buildinf:";
	int client = PW_CLIENT_UNKNOWN;
	struct pw_elf_head head;
	Elf_Scn *scn = NULL;
	size_t shstrndx, nph;
	struct stat st;
	uint64_t fsize;
	Elf *elf;

	if (fstat(fd, &st))
		return -1;
	/* not a regular file: nothing to read (and nothing to block on) */
	if (!S_ISREG(st.st_mode) || elf_head(fd, &head))
		return client;
	fsize = st.st_size;
	if (pw_elf_check(&head, fsize)) {
		__atomic_add_fetch(&elf_refused, 1, __ATOMIC_RELAXED);
		return client;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		return client;
	}
	if (!elf_getshdrstrndx(elf, &shstrndx)) {
		GElf_Shdr names;
		Elf_Scn *ns = elf_getscn(elf, shstrndx);

		/* elf_strptr reads the whole string table it looks in */
		if (!ns || !gelf_getshdr(ns, &names) ||
		    pw_elf_check_section(names.sh_type, names.sh_offset, names.sh_size, fsize,
					 PW_ELF_MAX_STRTAB)) {
			__atomic_add_fetch(&elf_refused, 1, __ATOMIC_RELAXED);
			elf_end(elf);
			return client;
		}
		/* a program has one .dynsym: only the first is read (libelf keeps
		 * each section it loads until elf_end, so a file claiming one per
		 * section would cost their sum) */
		bool dynsym_read = false;

		while (client == PW_CLIENT_UNKNOWN && (scn = elf_nextscn(elf, scn))) {
			GElf_Shdr sh, strs;
			const char *name;
			Elf_Scn *ss;

			if (!gelf_getshdr(scn, &sh))
				continue;
			name = elf_strptr(elf, shstrndx, sh.sh_name);
			if (name && !strcmp(name, ".go.buildinfo")) {
				client = PW_CLIENT_GO;
			} else if (sh.sh_type == SHT_DYNSYM && !dynsym_read) {
				Elf_Data *data;
				size_t count;

				dynsym_read = true;
				ss = elf_getscn(elf, sh.sh_link);
				if (pw_elf_check_section(sh.sh_type, sh.sh_offset, sh.sh_size, fsize,
							 PW_ELF_MAX_DYNSYM) ||
				    sh.sh_entsize != gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT) ||
				    !ss || !gelf_getshdr(ss, &strs) ||
				    pw_elf_check_section(strs.sh_type, strs.sh_offset, strs.sh_size,
							 fsize, PW_ELF_MAX_STRTAB)) {
					__atomic_add_fetch(&elf_refused, 1, __ATOMIC_RELAXED);
					break;
				}
				data = elf_getdata(scn, NULL);
				count = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
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
			char magic[sizeof(go_magic) - 1];

			if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_W))
				continue;
			if (pread(fd, magic, sizeof(magic), ph.p_offset) == (ssize_t)sizeof(magic) &&
			    !memcmp(magic, go_magic, sizeof(magic)))
				client = PW_CLIENT_GO;
			break;	/* only the first writable segment */
		}
	}
	elf_end(elf);
	return client;
}

/* Order: a runtime that brings its own HTTP stack (JVM, Go, Node) first;
 * then libcurl, also inside Python (pycurl) where it is what makes the
 * connections; then CPython. exe_fd: the executable (-1: gone); maps: its
 * maps (NULL: none). */
static int detect(int exe_fd, FILE *maps)
{
	struct maps_seen m = { 0 };
	int c;

	if (maps)
		read_maps(maps, &m);
	if (m.jvm)
		return PW_CLIENT_JVM;
	c = exe_fd >= 0 ? exe_client_fd(exe_fd) : -1;
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

int pw_client_detect_files(const char *exe, const char *maps)
{
	int fd = open(exe, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY), c;
	FILE *f = maps ? fopen(maps, "re") : NULL;

	c = detect(fd, f);
	if (f)
		fclose(f);
	if (fd >= 0)
		close(fd);
	return c;
}

int pw_proc_start_ticks(const char *stat, uint64_t *ticks)
{
	const char *p = strrchr(stat, ')');	/* comm may hold ')' and spaces */
	unsigned long long v;
	int field = 2;
	char *end;

	if (!p)
		return -EINVAL;
	/* field 22 (starttime): fields after comm (field 2) are separated by
	 * one space each */
	for (p++; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field != 22 || !(*p >= '0' && *p <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtoull(p, &end, 10);
	if (errno || (*end && *end != ' ' && *end != '\n'))
		return -EINVAL;
	*ticks = v;
	return 0;
}

/* When the process of the proc dir started, CLOCK_BOOTTIME ns (rounded
 * down to its clock tick): 0 or -errno. */
static int start_boot_ns(int dirfd, uint64_t *ns)
{
	char buf[1024];
	int fd = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
	long hz = sysconf(_SC_CLK_TCK);
	uint64_t ticks;
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0 || hz <= 0)
		return -EIO;
	buf[n] = '\0';
	if (pw_proc_start_ticks(buf, &ticks))
		return -EINVAL;
	*ns = ticks * (1000000000ull / hz);
	return 0;
}

int pw_client_detect(uint32_t pid, uint64_t seen_mono_ns)
{
	char dir[32];
	struct timespec mono, boot;
	uint64_t started, seen_boot;
	int dfd, efd, mfd, c;
	FILE *maps;

	/* /proc/PID once: every file below is the same process's (an openat
	 * in the directory of a process that exited fails, whoever has its
	 * pid now) */
	snprintf(dir, sizeof(dir), "/proc/%u", pid);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return PW_CLIENT_GONE;
	/* and that process is the one seen failing, not a later one given
	 * the pid: it started before the failure */
	if (seen_mono_ns) {
		if (start_boot_ns(dfd, &started) || clock_gettime(CLOCK_MONOTONIC, &mono) ||
		    clock_gettime(CLOCK_BOOTTIME, &boot)) {
			close(dfd);
			return PW_CLIENT_GONE;
		}
		seen_boot = seen_mono_ns + ((uint64_t)boot.tv_sec * 1000000000ull + boot.tv_nsec) -
			    ((uint64_t)mono.tv_sec * 1000000000ull + mono.tv_nsec);
		if (started > seen_boot) {
			close(dfd);
			return PW_CLIENT_GONE;
		}
	}
	mfd = openat(dfd, "maps", O_RDONLY | O_CLOEXEC);
	maps = mfd >= 0 ? fdopen(mfd, "re") : NULL;
	if (!maps) {
		if (mfd >= 0)
			close(mfd);
		close(dfd);
		return PW_CLIENT_GONE;
	}
	efd = openat(dfd, "exe", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	c = detect(efd, maps);
	fclose(maps);
	if (efd >= 0)
		close(efd);
	close(dfd);
	return c;
}
