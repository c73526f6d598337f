/* SPDX-License-Identifier: GPL-2.0 */
/* Hostile executables for the tests of portwatch's ELF bounds (procs.c):
 * a copy of a real 64-bit executable that still runs (exec reads only the
 * program headers) but whose section headers claim what no program has.
 *   "sections": e_shnum 0 and section 0's sh_size = n (the extended
 *     numbering), the table a sparse hole after the end of the copy;
 *   "dynsym": its .dynsym grown to n bytes, a sparse hole at the end;
 *   "dynsyms": every section but the first and the section names made a
 *     .dynsym of n bytes (one sparse hole at the end, shared), each linked
 *     to the section names' string table.
 * The file stays small on disk (sparse). 0, or -1 with errno. */
#ifndef PW_TEST_ELFBOMB_H
#define PW_TEST_ELFBOMB_H
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int elfbomb_copy(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY | O_CLOEXEC), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, n) != n) {
			n = -1;
			break;
		}
	close(in);
	if (close(out) || n < 0)
		return -1;
	return 0;
}

static int elfbomb_make(const char *src, const char *dst, const char *kind, uint64_t n)
{
	Elf64_Ehdr e;
	struct stat st;
	uint64_t end;
	int fd, r = -1;

	if (elfbomb_copy(src, dst))
		return -1;
	fd = open(dst, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || pread(fd, &e, sizeof(e), 0) != (ssize_t)sizeof(e) ||
	    memcmp(e.e_ident, ELFMAG, SELFMAG) || e.e_ident[EI_CLASS] != ELFCLASS64) {
		errno = ENOEXEC;
		goto out;
	}
	end = ((uint64_t)st.st_size + 4095) & ~4095ull;
	if (!strcmp(kind, "sections")) {
		Elf64_Shdr s0 = { .sh_size = n };

		e.e_shoff = end;
		e.e_shnum = 0;
		e.e_shstrndx = SHN_UNDEF;
		e.e_shentsize = sizeof(Elf64_Shdr);
		if (pwrite(fd, &s0, sizeof(s0), end) != (ssize_t)sizeof(s0) ||
		    ftruncate(fd, end + n * sizeof(Elf64_Shdr)) ||
		    pwrite(fd, &e, sizeof(e), 0) != (ssize_t)sizeof(e))
			goto out;
		r = 0;
	} else if (!strcmp(kind, "dynsym")) {
		for (unsigned int i = 0; i < e.e_shnum; i++) {
			Elf64_Shdr sh;
			uint64_t at = e.e_shoff + (uint64_t)i * sizeof(sh);

			if (pread(fd, &sh, sizeof(sh), at) != (ssize_t)sizeof(sh))
				goto out;
			if (sh.sh_type != SHT_DYNSYM)
				continue;
			sh.sh_offset = end;
			sh.sh_size = n;
			if (pwrite(fd, &sh, sizeof(sh), at) != (ssize_t)sizeof(sh) ||
			    ftruncate(fd, end + n))
				goto out;
			r = 0;
			break;
		}
		if (r)
			errno = ENOENT;
	} else if (!strcmp(kind, "dynsyms")) {
		for (unsigned int i = 1; i < e.e_shnum; i++) {
			Elf64_Shdr sh;
			uint64_t at = e.e_shoff + (uint64_t)i * sizeof(sh);

			if (i == e.e_shstrndx)
				continue;
			if (pread(fd, &sh, sizeof(sh), at) != (ssize_t)sizeof(sh))
				goto out;
			sh.sh_type = SHT_DYNSYM;
			sh.sh_offset = end;
			sh.sh_size = n;
			sh.sh_entsize = sizeof(Elf64_Sym);
			sh.sh_link = e.e_shstrndx;
			if (pwrite(fd, &sh, sizeof(sh), at) != (ssize_t)sizeof(sh))
				goto out;
		}
		r = ftruncate(fd, end + n) ? -1 : 0;
	} else {
		errno = EINVAL;
	}
out:
	close(fd);
	return r;
}
#endif /* PW_TEST_ELFBOMB_H */
