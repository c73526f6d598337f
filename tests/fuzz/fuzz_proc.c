// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the readers of /proc and kernel text.
 *  - ip_local_reserved_ports (pw_census_parse_ports): the count returned
 *    must be the number of bits set, every bit a port named in the text;
 *  - /proc/PID/fd links (pw_census_socket_inode): only "socket:[N]", N the
 *    32-bit inode, is taken, and it prints back the same;
 *  - the kernel release and version (pw_parse_kernel_version).
 * Input: one selector byte, then the text. */
#include <stdint.h>
#include "census.h"
#include "fuzz.h"

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
	switch (data[0] % 3) {
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
