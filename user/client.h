/* SPDX-License-Identifier: GPL-2.0 */
/* The HTTP client a failing process runs, found from what it runs (its
 * mapped libraries, its executable's ELF contents), never from its name. */
#ifndef PW_CLIENT_H
#define PW_CLIENT_H

#include <stdint.h>

enum pw_client {
	PW_CLIENT_NONE = 0,	/* no failing process considered (--census) */
	PW_CLIENT_GONE,		/* it exited before portwatch could look */
	PW_CLIENT_UNKNOWN,	/* it lived; none of the clients below found */
	PW_CLIENT_LIBCURL,	/* libcurl mapped */
	PW_CLIENT_GO,		/* a Go binary (its build info) */
	PW_CLIENT_JVM,		/* libjvm.so mapped */
	PW_CLIENT_PYTHON,	/* CPython: libpython mapped, or its symbols in the executable */
	PW_CLIENT_NODE,		/* Node.js: libnode mapped, or node's symbols in the executable */
};
/* "libcurl", "go", "jvm", "python", "node"; NULL for the others. */
const char *pw_client_name(enum pw_client c);


/* The HTTP client process pid runs (enum pw_client), from
 * /proc/PID/maps (libcurl, libjvm, libpython, libnode) and its executable's
 * ELF (a Go build info section or magic; CPython's or Node's exported
 * symbols). /proc/PID is opened once and every file read through it, so all
 * are one process's; seen_mono_ns (CLOCK_MONOTONIC, 0: no check), when the
 * process was seen under that pid: a process that started after it holds a
 * reused pid, and is "gone". Never keyed on a name. The executable is read
 * only within the bounds below (else: unknown, counted in
 * pw_client_elf_refused). For the worker thread only. */
int pw_client_detect(uint32_t pid, uint64_t seen_mono_ns);
/* The same on an executable and a maps file, for tests (maps may be NULL). */
int pw_client_detect_files(const char *exe, const char *maps);
/* Executables not read because they break the bounds, for the life of the
 * process. */
uint64_t pw_client_elf_refused(void);
/* /proc/PID/stat text -> its starttime field (clock ticks since boot). */
int pw_proc_start_ticks(const char *stat, uint64_t *ticks);

/* Bounds on an executable read for client detection: far above
 * any real program's (node 20: 99 MB, 41 sections, 14 program headers,
 * .dynsym 0.5 MiB, .dynstr 2.3 MiB). */
#define PW_ELF_MAX_FILE		(1ull << 30)	/* file size */
#define PW_ELF_MAX_SECTIONS	1024		/* section headers */
#define PW_ELF_MAX_PHDRS	256		/* program headers */
#define PW_ELF_MAX_DYNSYM	(4u << 20)	/* .dynsym bytes */
#define PW_ELF_MAX_STRTAB	(8u << 20)	/* a string table's bytes */

/* An ELF header's counts, extended numbering (section 0) resolved. */
struct pw_elf_head {
	uint64_t shoff, phoff;
	uint64_t shnum, phnum, shstrndx;
	unsigned int shentsize, phentsize;
	unsigned int shdr_size, phdr_size;	/* of this class's Shdr, Phdr */
};
/* 0 if libelf may read a file of that size with that header: counts
 * within the bounds, tables inside the file. -EFBIG, -E2BIG or -EINVAL. */
int pw_elf_check(const struct pw_elf_head *h, uint64_t file_size);
/* 0 if a section (type, offset, size) may be read: at most max bytes, and
 * inside the file. -E2BIG or -EINVAL. */
int pw_elf_check_section(uint64_t type, uint64_t offset, uint64_t size, uint64_t file_size,
			 uint64_t max);

#endif /* PW_CLIENT_H */
