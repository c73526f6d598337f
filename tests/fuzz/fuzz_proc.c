// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the readers of /proc and kernel text.
 *  - ip_local_reserved_ports (pw_census_parse_ports): the count returned
 *    must be the number of bits set, every bit a port named in the text;
 *  - /proc/PID/fd links (pw_census_socket_inode): only "socket:[N]", N the
 *    32-bit inode, is taken, and it prints back the same;
 *  - the kernel release and version (pw_parse_kernel_version);
 *  - an executable for client detection (pw_client_detect_files on a
 *    memfd): the bounds checked before libelf (procs.c) and libelf on what
 *    passes them; a valid client always comes back, and what the header
 *    check accepts has its tables inside the file (pw_elf_check on the
 *    input's leading bytes taken as a header's counts).
 * Input: one selector byte, then the text (or the file). */
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>
#include "client.h"
#include "holders.h"
#include "kernel.h"
#include "sysctl.h"
#include "procs.h"
#include "fuzz.h"

static void executable(const uint8_t *data, size_t size)
{
	int fd = memfd_create("fuzz-exe", MFD_CLOEXEC), c;
	struct pw_elf_head h;
	uint64_t v[6] = { 0 };
	char path[64];

	fz_assert(fd >= 0, "memfd_create");
	fz_assert(write(fd, data, size) == (ssize_t)size, "write");
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	c = pw_client_detect_files(path, NULL);
	fz_assert(c == PW_CLIENT_UNKNOWN || c == PW_CLIENT_GO || c == PW_CLIENT_PYTHON ||
		  c == PW_CLIENT_NODE, "client %d", c);
	close(fd);
	/* the header check alone, counts from the input */
	memcpy(v, data, size < sizeof(v) ? size : sizeof(v));
	h = (struct pw_elf_head){
		.shoff = v[0], .phoff = v[1], .shnum = v[2] & 0xffffffff, .phnum = v[2] >> 32,
		.shstrndx = v[3] & 0xffffffff, .shentsize = (v[3] >> 32) & 0xff,
		.phentsize = (v[3] >> 40) & 0xff, .shdr_size = 64, .phdr_size = 56,
	};
	if (!pw_elf_check(&h, v[4] & ((1ull << 31) - 1))) {
		uint64_t fsz = v[4] & ((1ull << 31) - 1);

		fz_assert(h.shnum <= PW_ELF_MAX_SECTIONS && h.phnum <= PW_ELF_MAX_PHDRS, "counts");
		fz_assert(!h.shnum || (h.shoff <= fsz && h.shnum * 64 <= fsz - h.shoff), "shdrs");
		fz_assert(!h.phnum || (h.phoff <= fsz && h.phnum * 56 <= fsz - h.phoff), "phdrs");
	}
}

static void reserved_ports(const char *s)
{
	static uint8_t bits[65536 / 8];
	int n, set = 0;

	memset(bits, 0, sizeof(bits));
	n = pw_census_parse_ports(s, bits);
	for (size_t i = 0; i < sizeof(bits); i++)
		set += __builtin_popcount(bits[i]);
	if (n < 0)
		return;
	fz_assert(n == set, "returned %d, %d bits set", n, set);
	fz_assert(n == 0 || strpbrk(s, "0123456789"), "ports from no digits");
}

static void socket_link(const char *s)
{
	char back[32];
	uint32_t ino;

	if (pw_census_socket_inode(s, &ino))
		return;
	snprintf(back, sizeof(back), "socket:[%u]", ino);
	/* leading zeros are the only other spelling it takes */
	if (strncmp(s + 8, "0", 1) || !strcmp(s, "socket:[0]"))
		fz_assert(!strcmp(back, s), "took %s as %s", s, back);
}

static void kernel_version(const char *s)
{
	const char *version = strchr(s, '\t');
	int ma = -1, mi = -1, pa = -1;
	char release[256];
	size_t n = version ? (size_t)(version - s) : strlen(s);

	if (n >= sizeof(release))
		return;
	memcpy(release, s, n);
	release[n] = '\0';
	if (pw_parse_kernel_version(release, version ? version + 1 : NULL, &ma, &mi, &pa))
		fz_assert(ma >= 0 && mi >= 0 && pa >= 0, "%d.%d.%d from %s", ma, mi, pa, s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s;

	if (!size)
		return 0;
	s = malloc(size);
	fz_assert(s, "malloc");
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 4 == 3) {
		free(s);
		executable(data + 1, size - 1);
		return 0;
	}
	switch (data[0] % 4) {
	case 0:
		reserved_ports(s);
		break;
	case 1:
		socket_link(s);
		break;
	default:
		kernel_version(s);
		break;
	}
	free(s);
	return 0;
}
