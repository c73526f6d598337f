// SPDX-License-Identifier: GPL-2.0
/* Which HTTP client a process runs: from the libraries it maps and its
 * executable's ELF contents (read within bounds: any local user's file),
 * never from its name. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "client.h"
#include "util.h"

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

/* The symbols an interpreter exports to its native extensions (CPython's
 * Py_Initialize, Node's node_module_register) in the .dynsym section scn
 * (header sh): the client, PW_CLIENT_UNKNOWN, or -1 when the section or its
 * strings break the bounds (counted in elf_refused). */
static int dynsym_client(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, uint64_t fsize)
{
	Elf_Scn *ss = elf_getscn(elf, sh->sh_link);
	int client = PW_CLIENT_UNKNOWN;
	GElf_Shdr strs;
	Elf_Data *data;
	size_t count;

	if (pw_elf_check_section(sh->sh_type, sh->sh_offset, sh->sh_size, fsize,
				 PW_ELF_MAX_DYNSYM) ||
	    sh->sh_entsize != gelf_fsize(elf, ELF_T_SYM, 1, EV_CURRENT) ||
	    !ss || !gelf_getshdr(ss, &strs) ||
	    pw_elf_check_section(strs.sh_type, strs.sh_offset, strs.sh_size,
				 fsize, PW_ELF_MAX_STRTAB)) {
		__atomic_add_fetch(&elf_refused, 1, __ATOMIC_RELAXED);
		return -1;
	}
	data = elf_getdata(scn, NULL);
	count = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	for (size_t i = 0; data && i < count && client == PW_CLIENT_UNKNOWN; i++) {
		GElf_Sym sym;
		const char *sn;

		if (!gelf_getsym(data, i, &sym) || sym.st_shndx == SHN_UNDEF)
			continue;
		sn = elf_strptr(elf, sh->sh_link, sym.st_name);
		if (!sn)
			continue;
		if (!strcmp(sn, "Py_Initialize"))
			client = PW_CLIENT_PYTHON;
		else if (!strcmp(sn, "node_module_register"))
			client = PW_CLIENT_NODE;
	}
	return client;
}

/* What the section headers say: a ".go.buildinfo" section, or the first
 * .dynsym's symbols (dynsym_client). The client, PW_CLIENT_UNKNOWN, or -1
 * when the section names break the bounds (counted): read nothing more. */
static int sections_client(Elf *elf, uint64_t fsize)
{
	int client = PW_CLIENT_UNKNOWN, c;
	/* a program has one .dynsym: only the first is read (libelf keeps
	 * each section it loads until elf_end, so a file claiming one per
	 * section would cost their sum) */
	bool dynsym_read = false;
	Elf_Scn *scn = NULL, *ns;
	GElf_Shdr names;
	size_t shstrndx;

	if (elf_getshdrstrndx(elf, &shstrndx))
		return client;
	ns = elf_getscn(elf, shstrndx);
	/* elf_strptr reads the whole string table it looks in */
	if (!ns || !gelf_getshdr(ns, &names) ||
	    pw_elf_check_section(names.sh_type, names.sh_offset, names.sh_size, fsize,
				 PW_ELF_MAX_STRTAB)) {
		__atomic_add_fetch(&elf_refused, 1, __ATOMIC_RELAXED);
		return -1;
	}
	while (client == PW_CLIENT_UNKNOWN && (scn = elf_nextscn(elf, scn))) {
		const char *name;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".go.buildinfo")) {
			client = PW_CLIENT_GO;
		} else if (sh.sh_type == SHT_DYNSYM && !dynsym_read) {
			dynsym_read = true;
			c = dynsym_client(elf, scn, &sh, fsize);
			if (c < 0)
				break;
			client = c;
		}
	}
	return client;
}

/* A Go build info's magic at the start of the first writable segment (the
 * section headers stripped): PW_CLIENT_GO or PW_CLIENT_UNKNOWN. */
static int go_segment_client(Elf *elf, int fd)
{
	static const char go_magic[] = "\xff Go buildinf:";
	size_t nph;

	if (elf_getphdrnum(elf, &nph))
		return PW_CLIENT_UNKNOWN;
	for (size_t i = 0; i < nph; i++) {
		char magic[sizeof(go_magic) - 1];
		GElf_Phdr ph;

		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_W))
			continue;
		if (pread(fd, magic, sizeof(magic), ph.p_offset) == (ssize_t)sizeof(magic) &&
		    !memcmp(magic, go_magic, sizeof(magic)))
			return PW_CLIENT_GO;
		break;	/* only the first writable segment */
	}
	return PW_CLIENT_UNKNOWN;
}

/* What the executable's ELF says: a Go build info (the ".go.buildinfo"
 * section, or its magic at the start of the first writable segment when
 * the section headers are stripped), or the symbols an interpreter exports
 * to its native extensions. fd: the executable, open for reading. */
static int exe_client_fd(int fd)
{
	struct pw_elf_head head;
	struct stat st;
	uint64_t fsize;
	int client;
	Elf *elf;

	if (fstat(fd, &st))
		return -1;
	/* not a regular file: nothing to read (and nothing to block on) */
	if (!S_ISREG(st.st_mode) || elf_head(fd, &head))
		return PW_CLIENT_UNKNOWN;
	fsize = st.st_size;
	if (pw_elf_check(&head, fsize)) {
		__atomic_add_fetch(&elf_refused, 1, __ATOMIC_RELAXED);
		return PW_CLIENT_UNKNOWN;
	}
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		return PW_CLIENT_UNKNOWN;
	}
	client = sections_client(elf, fsize);
	if (client < 0)
		client = PW_CLIENT_UNKNOWN;
	else if (client == PW_CLIENT_UNKNOWN)
		client = go_segment_client(elf, fd);
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
	uint64_t started, seen_boot;
	int64_t mono, boot;
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
		if (start_boot_ns(dfd, &started)) {
			close(dfd);
			return PW_CLIENT_GONE;
		}
		mono = pw_clock_ns(CLOCK_MONOTONIC);
		boot = pw_clock_ns(CLOCK_BOOTTIME);
		seen_boot = seen_mono_ns + (uint64_t)(boot - mono);
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
