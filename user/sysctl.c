// SPDX-License-Identifier: GPL-2.0
/* A netns's port settings from /proc/sys/net/ipv4: the ephemeral range,
 * the reserved ports, tcp_tw_reuse and what TIME_WAIT reuse needs. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sysctl.h"

int pw_census_parse_ports(const char *s, uint8_t bits[PW_NPORTS / 8])
{
	int n = 0;

	while (*s && *s != '\n') {
		char *end;
		unsigned long lo, hi;

		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		lo = strtoul(s, &end, 10);
		hi = lo;
		if (*end == '-') {
			if (!isdigit((unsigned char)end[1]))
				return -EINVAL;
			hi = strtoul(end + 1, &end, 10);
		}
		if (lo > hi || hi >= PW_NPORTS)
			return -EINVAL;
		for (unsigned long p = lo; p <= hi; p++) {
			if (!pw_port_test(bits, p)) {
				pw_port_set(bits, p);
				n++;
			}
		}
		if (*end == ',')
			end++;
		else if (*end && *end != '\n')
			return -EINVAL;
		s = end;
	}
	return n;
}

int pw_read_small(const char *path, char *buf, size_t sz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sz - 1);
	if (n < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[n] = '\0';
	return 0;
}

static int read_int(const char *path, int *v)
{
	char buf[64];
	int r = pw_read_small(path, buf, sizeof(buf));

	if (r)
		return r;
	return sscanf(buf, "%d", v) == 1 ? 0 : -EINVAL;
}

int pw_ns_settings_read(struct pw_ns_settings *s, char *err, size_t errsz)
{
	/* ip_local_reserved_ports can be long: one entry per range */
	static char buf[65536];
	int ts = 1, r;

	r = pw_read_small("/proc/sys/net/ipv4/ip_local_port_range", buf, sizeof(buf));
	if (r || sscanf(buf, "%d %d", &s->lo, &s->hi) != 2) {
		snprintf(err, errsz, "cannot read net.ipv4.ip_local_port_range: %s",
			 strerror(r ? -r : EINVAL));
		return r ? r : -EINVAL;
	}
	r = read_int("/proc/sys/net/ipv4/tcp_tw_reuse", &s->tw_reuse);
	if (r) {
		snprintf(err, errsz, "cannot read net.ipv4.tcp_tw_reuse: %s", strerror(-r));
		return r;
	}
	if (read_int("/proc/sys/net/ipv4/tcp_tw_reuse_delay", &s->tw_delay_ms))
		s->tw_delay_ms = 1000;
	if (read_int("/proc/sys/net/ipv4/tcp_timestamps", &ts))
		ts = 1;
	s->timestamps = ts != 0;
	/* a missing or odd reserved list only makes the range look bigger;
	 * reserved_ok says whether a value built on it may be set */
	s->reserved_ok = pw_reserved_read("/proc/sys/net/ipv4/ip_local_reserved_ports", buf,
					  sizeof(buf), s->reserved);
	return 0;
}

bool pw_reserved_read(const char *path, char *buf, size_t sz, uint8_t bits[PW_NPORTS / 8])
{
	memset(bits, 0, PW_NPORTS / 8);
	if (pw_read_small(path, buf, sz))
		return false;
	if (strlen(buf) >= sz - 1)
		return false;	/* the buffer is full: the list may go on */
	if (pw_census_parse_ports(buf, bits) < 0) {
		memset(bits, 0, PW_NPORTS / 8);
		return false;
	}
	return true;
}
