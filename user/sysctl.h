/* SPDX-License-Identifier: GPL-2.0 */
/* The port settings of a netns, read from /proc/sys/net/ipv4 in the
 * calling thread's netns, and the port bitmaps they fill. */
#ifndef PW_SYSCTL_H
#define PW_SYSCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PW_NPORTS	65536

/* One bit per port: bits[port / 8] & 1 << port % 8. */
static inline bool pw_port_test(const uint8_t *b, unsigned int port)
{
	return b[port / 8] & (1u << (port % 8));
}

static inline void pw_port_set(uint8_t *b, unsigned int port)
{
	b[port / 8] |= 1u << (port % 8);
}

struct pw_ns_settings {
	int lo, hi, tw_reuse;
	int tw_delay_ms;	/* tcp_tw_reuse_delay (6.14+), else 1000 */
	bool timestamps;	/* TW reuse needs them */
	/* ip_local_reserved_ports read whole and parsed; false: reserved is
	 * empty or partial, no value to set may be built on it */
	bool reserved_ok;
	uint8_t reserved[PW_NPORTS / 8];
};

/* The settings of the calling thread's netns (its /proc/sys/net at the
 * time of the open). 0 or -errno with the reason in err. */
int pw_ns_settings_read(struct pw_ns_settings *s, char *err, size_t errsz);

/* Parse an ip_local_reserved_ports value ("8080,9000-9010", "" or "\n") into
 * a 65536-bit map (pw_port_test). Distinct ports, or -EINVAL. */
int pw_census_parse_ports(const char *s, uint8_t bits[PW_NPORTS / 8]);

/* An ip_local_reserved_ports file into bits (buf: sz bytes to read it
 * in): true when it was read whole and parsed; false on a failed read,
 * a list that fills buf (it may go on), or a bad one (bits then empty). */
bool pw_reserved_read(const char *path, char *buf, size_t sz, uint8_t bits[PW_NPORTS / 8]);

/* A small file (a /proc line) into buf, NUL-terminated, at most sz - 1
 * bytes. 0 or -errno. */
int pw_read_small(const char *path, char *buf, size_t sz);

#endif /* PW_SYSCTL_H */
