// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/client.c: which HTTP client a process runs, from
 * the libraries it maps and its executable's ELF contents, a reused pid,
 * and the bounds on a hostile executable. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <libgen.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "client.h"
#include "../elfbomb.h"

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* pw_client_detect_files: from the libraries mapped and the executable's
 * ELF contents, never from a name. */
static const char *maps_file(const char *lib)
{
	static char path[64];
	FILE *f;

	strcpy(path, "/tmp/pw-test-maps.XXXXXX");
	close(mkstemp(path));
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "55d0c0a00000-55d0c0a02000 r--p 00000000 08:01 1311 /usr/bin/app\n"
		   "7f3a1c000000-7f3a1c021000 rw-p 00000000 00:00 0 \n"
		   "7f3a1d000000-7f3a1d100000 r-xp 00010000 08:01 2222 %s\n"
		   "7ffd1a000000-7ffd1a021000 rw-p 00000000 00:00 0                          [stack]\n", lib);
	fclose(f);
	return path;
}

static void test_client_detect(void **state)
{
	static const struct {
		const char *lib;
		int want;
	} libs[] = {
		{ "/usr/lib/x86_64-linux-gnu/libcurl.so.4.8.0", PW_CLIENT_LIBCURL },
		{ "/usr/lib/x86_64-linux-gnu/libcurl-gnutls.so.4.8.0", PW_CLIENT_LIBCURL },
		{ "/usr/lib/jvm/java-17-openjdk-amd64/lib/server/libjvm.so", PW_CLIENT_JVM },
		{ "/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", PW_CLIENT_PYTHON },
		{ "/usr/lib/x86_64-linux-gnu/libnode.so.108", PW_CLIENT_NODE },
		{ "/usr/lib/x86_64-linux-gnu/libssl.so.3", PW_CLIENT_UNKNOWN },
		{ "/opt/curl/not-a-library", PW_CLIENT_UNKNOWN },
	};
	char named_curl[] = "/tmp/pw-test-exe.XXXXXX/curl", cmd[128];

	(void)state;
	for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++) {
		const char *m = maps_file(libs[i].lib);

		print_message("  %s\n", libs[i].lib);
		assert_int_equal(pw_client_detect_files("/proc/self/exe", m), libs[i].want);
		unlink(m);
	}
	/* a JVM that also maps libcurl is a JVM */
	{
		const char *m = maps_file("/usr/lib/jvm/x/lib/server/libjvm.so\n"
					  "7f0000000000-7f0000001000 r-xp 0 08:01 3 /usr/lib/libcurl.so.4");

		assert_int_equal(pw_client_detect_files("/proc/self/exe", m), PW_CLIENT_JVM);
		unlink(m);
	}
	assert_int_equal(pw_client_detect_files("/proc/self/exe", NULL), PW_CLIENT_UNKNOWN);
	assert_int_equal(pw_client_detect_files("/nonexistent/exe", NULL), PW_CLIENT_GONE);
	/* a name says nothing: /bin/true copied as "curl" is no client */
	named_curl[strlen(named_curl) - 5] = '\0';
	assert_non_null(mkdtemp(named_curl));
	strcat(named_curl, "/curl");
	snprintf(cmd, sizeof(cmd), "cp /bin/true %s", named_curl);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(pw_client_detect_files(named_curl, NULL), PW_CLIENT_UNKNOWN);
	unlink(named_curl);
	rmdir(dirname(named_curl));
	/* interpreters that export their symbols, where installed */
	if (!access("/usr/bin/python3", R_OK))
		assert_int_equal(pw_client_detect_files("/usr/bin/python3", NULL), PW_CLIENT_PYTHON);
	else
		print_message("  no /usr/bin/python3: its symbols not checked\n");
	if (!access("/usr/bin/node", R_OK))
		assert_int_equal(pw_client_detect_files("/usr/bin/node", NULL), PW_CLIENT_NODE);
	else
		print_message("  no /usr/bin/node: its symbols not checked\n");
	/* this process lives, and started before now */
	assert_int_equal(pw_client_detect(getpid(), mono_ns()), PW_CLIENT_UNKNOWN);
	assert_int_equal(pw_client_detect(getpid(), 0), PW_CLIENT_UNKNOWN);
}

/* A pid seen failing, then given to a process that started later, is
 * "gone": judged by the start time read through the one /proc/PID opened,
 * never by its name (the same comm here) */
static void test_client_detect_reused_pid(void **state)
{
	struct timespec ts = { 0, 30 * 1000 * 1000 };	/* past a 10 ms clock tick */
	uint64_t before;
	pid_t child;

	(void)state;
	before = mono_ns();
	nanosleep(&ts, NULL);
	child = fork();
	assert_true(child >= 0);
	if (!child) {
		pause();
		_exit(0);
	}
	assert_int_equal(pw_client_detect(child, before), PW_CLIENT_GONE);
	assert_int_equal(pw_client_detect(child, mono_ns()), PW_CLIENT_UNKNOWN);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	assert_int_equal(pw_client_detect(child, mono_ns()), PW_CLIENT_GONE);
}

static void test_proc_start_ticks(void **state)
{
	uint64_t t = 0;

	(void)state;
	assert_int_equal(pw_proc_start_ticks("1 (a) b) S 0 1 1 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 "
					     "1 0 4242 1000 10 18446744073709551615\n", &t), 0);
	assert_int_equal(t, 4242);
	assert_int_equal(pw_proc_start_ticks("1 (x) S 0 1", &t), -EINVAL);
	assert_int_equal(pw_proc_start_ticks("no paren", &t), -EINVAL);
}

/* Peak RSS (ru_maxrss, KiB) growth while reading a hostile executable */
static long detect_rss_growth_kib(const char *exe, int *client)
{
	struct rusage a, b;

	getrusage(RUSAGE_SELF, &a);
	*client = pw_client_detect_files(exe, NULL);
	getrusage(RUSAGE_SELF, &b);
	return b.ru_maxrss - a.ru_maxrss;
}

/* A sparse copy of a real executable claiming 2,000,000 sections (a 128 MB
 * section table), and one whose .dynsym claims 264 MB: refused from the
 * header's counts before libelf reads them, reported unknown, counted, and
 * the peak RSS grows by less than 16 MiB (libelf without the bounds: ~531
 * MB and ~258 MB, measured). */
static void test_client_elf_bounds(void **state)
{
	static const struct {
		const char *kind;
		uint64_t n;
	} bombs[] = {
		{ "sections", 2000000 },
		{ "dynsym", 264000000 },	/* 11,000,000 symbols of 24 bytes */
	};
	/* each .dynsym within the bound, but one for every section (a real
	 * program has one): only the first is read (each one libelf loads
	 * stays until elf_end: ~30 x 4 MiB before) */
	uint64_t each = PW_ELF_MAX_DYNSYM - PW_ELF_MAX_DYNSYM % 24;
	char dir[] = "/tmp/pw-test-elf.XXXXXX", path[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bomb", dir);
	for (size_t i = 0; i < sizeof(bombs) / sizeof(bombs[0]); i++) {
		uint64_t refused = pw_client_elf_refused();
		long grew;
		int c;

		print_message("  %s %llu\n", bombs[i].kind, (unsigned long long)bombs[i].n);
		assert_int_equal(elfbomb_make("/proc/self/exe", path, bombs[i].kind, bombs[i].n), 0);
		grew = detect_rss_growth_kib(path, &c);
		print_message("  peak RSS grew %ld KiB\n", grew);
		assert_int_equal(c, PW_CLIENT_UNKNOWN);
		assert_int_equal(pw_client_elf_refused(), refused + 1);
		assert_true(grew < 16 * 1024);
		unlink(path);
	}
	{
		long grew;
		int c;

		print_message("  dynsyms %llu each\n", (unsigned long long)each);
		assert_int_equal(elfbomb_make("/proc/self/exe", path, "dynsyms", each), 0);
		grew = detect_rss_growth_kib(path, &c);
		print_message("  peak RSS grew %ld KiB\n", grew);
		assert_int_equal(c, PW_CLIENT_UNKNOWN);
		assert_true(grew < 16 * 1024);
		unlink(path);
	}
	rmdir(dir);
	/* real programs stay within the bounds: none refused */
	{
		uint64_t refused = pw_client_elf_refused();

		pw_client_detect_files("/proc/self/exe", NULL);
		if (!access("/usr/bin/node", R_OK))
			pw_client_detect_files("/usr/bin/node", NULL);
		if (!access("/usr/bin/python3", R_OK))
			pw_client_detect_files("/usr/bin/python3", NULL);
		assert_int_equal(pw_client_elf_refused(), refused);
	}
}

/* pw_elf_check: the header's counts against the bounds and the file */
static void test_elf_check(void **state)
{
	struct pw_elf_head h = {
		.shoff = 4096, .phoff = 64, .shnum = 30, .phnum = 13, .shstrndx = 29,
		.shentsize = 64, .phentsize = 56, .shdr_size = 64, .phdr_size = 56,
	};

	(void)state;
	assert_int_equal(pw_elf_check(&h, 4096 + 30 * 64), 0);
	assert_int_equal(pw_elf_check(&h, 4096 + 30 * 64 - 1), -EINVAL);
	assert_int_equal(pw_elf_check(&h, PW_ELF_MAX_FILE + 1), -EFBIG);
	h.shnum = PW_ELF_MAX_SECTIONS + 1;
	assert_int_equal(pw_elf_check(&h, 1ull << 29), -E2BIG);
	h.shnum = 30;
	h.shoff = UINT64_MAX - 100;	/* offset + size wraps */
	assert_int_equal(pw_elf_check(&h, 1ull << 29), -EINVAL);
	h.shoff = 4096;
	h.shstrndx = 30;
	assert_int_equal(pw_elf_check(&h, 1ull << 20), -EINVAL);
	h.shstrndx = 29;
	h.phentsize = 32;
	assert_int_equal(pw_elf_check(&h, 1ull << 20), -EINVAL);
	h.phentsize = 56;
	h.phnum = PW_ELF_MAX_PHDRS + 1;
	assert_int_equal(pw_elf_check(&h, 1ull << 20), -E2BIG);
	assert_int_equal(pw_elf_check_section(SHT_DYNSYM, 100, 24, 124, PW_ELF_MAX_DYNSYM), 0);
	assert_int_equal(pw_elf_check_section(SHT_DYNSYM, 100, 24, 123, PW_ELF_MAX_DYNSYM), -EINVAL);
	assert_int_equal(pw_elf_check_section(SHT_DYNSYM, 0, PW_ELF_MAX_DYNSYM + 1ull, 1ull << 30,
					      PW_ELF_MAX_DYNSYM), -E2BIG);
	assert_int_equal(pw_elf_check_section(SHT_NOBITS, 1ull << 40, 10, 100, 100), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_client_elf_bounds),	/* first: peak RSS */
		cmocka_unit_test(test_client_detect),
		cmocka_unit_test(test_client_detect_reused_pid),
		cmocka_unit_test(test_proc_start_ticks),
		cmocka_unit_test(test_elf_check),
	};

	return cmocka_run_group_tests_name("test_client", tests, NULL, NULL);
}
