/* SPDX-License-Identifier: GPL-2.0 */
/* The per-process table: kernel (tgid, errno) counters folded into one row
 * per process, printed as text or JSON. */
#ifndef PW_PROCS_H
#define PW_PROCS_H

#include <stdint.h>
#include <stdio.h>
#include "output.h"
#include "workload.h"

#define PW_MAX_ERRS 8

struct pw_proc {
	uint32_t pid;
	char comm[PW_COMM_LEN];
	uint64_t attempts;
	uint64_t failures;
	uint64_t scans;
	uint64_t scan_ns;
	unsigned int nerrs;
	struct {
		int err;
		uint64_t count;
	} errs[PW_MAX_ERRS];
	uint64_t other_errs;	/* errnos beyond PW_MAX_ERRS distinct ones */
	uint64_t cgroup_id;	/* of its counters (0: unknown) */
	const struct pw_workload *w;	/* set by the caller; NULL: unknown */
};

struct pw_procs {
	struct pw_proc *v;
	size_t n;
	size_t cap;
	uint32_t *index;	/* pid -> row + 1 (procs.c) */
	size_t index_cap;
};

/* Fold one kernel entry in. 0 or -ENOMEM. */
int pw_procs_add(struct pw_procs *p, const struct pw_proc_key *k, const struct pw_proc_val *v);
/* Most failures first, then most attempts, then pid. */
void pw_procs_sort(struct pw_procs *p);
void pw_procs_free(struct pw_procs *p);

void pw_procs_text(FILE *f, const struct pw_procs *p);
/* One process as a JSON object (summary "processes" entry). */
bool pw_proc_json(struct sbuf *sb, const struct pw_proc *pr);

/* The HTTP client process pid runs (client.h's enum pw_client), from
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

/* Bounds on an executable read for client detection (procs.c): far above
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
#endif /* PW_PROCS_H */
