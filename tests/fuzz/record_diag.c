// SPDX-License-Identifier: GPL-2.0
/* record_diag: records, in the netns it runs in, the NETLINK_SOCK_DIAG
 * dumps the census takes (listeners and bound sockets, then every other
 * state; inet then inet6, as user/census.c and sockdiag.c ask) with the
 * port range and tcp_tw_reuse, as one fuzz_census input (census_input.h)
 * on stdout.
 * tests/fuzz/record.sh runs it in a test netns to make the seeds. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include "census_input.h"

static char *out;
static size_t outlen;

static void add(const void *p, size_t n)
{
	out = realloc(out, outlen + n);
	if (!out)
		exit(1);
	memcpy(out + outlen, p, n);
	outlen += n;
}

/* one dump, every reply datagram appended as received, up to NLMSG_DONE */
static void dump(int fd, uint8_t family, uint32_t states)
{
	static unsigned int seq;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} q = {
		.nlh = { .nlmsg_len = sizeof(q), .nlmsg_type = SOCK_DIAG_BY_FAMILY,
			 .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP, .nlmsg_seq = ++seq },
		.r = { .sdiag_family = family, .sdiag_protocol = IPPROTO_TCP, .idiag_states = states },
	};
	struct sockaddr_nl k = { .nl_family = AF_NETLINK };
	long buf[32768 / sizeof(long)];

	if (sendto(fd, &q, sizeof(q), 0, (struct sockaddr *)&k, sizeof(k)) < 0) {
		perror("sendto");
		exit(1);
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;
		int done = 0;

		if (n <= 0) {
			perror("recv");
			exit(1);
		}
		add(buf, n);
		for (size_t left = n; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left))
			if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR)
				done = 1;
		if (done)
			return;
	}
}

static int read_ints(const char *path, int *a, int *b)
{
	FILE *f = fopen(path, "r");
	int n = f ? fscanf(f, "%d %d", a, b) : 0;

	if (f)
		fclose(f);
	return n;
}

int main(void)
{
	const uint32_t owners = 1u << 10 | 1u << 13;	/* LISTEN, BOUND_INACTIVE */
	const uint32_t others = ((1u << 14) - 1) & ~owners & ~1u;
	struct fz_census_hdr h = { 0 };
	int lo, hi, reuse, dummy, fd = socket(AF_NETLINK, SOCK_DGRAM, NETLINK_SOCK_DIAG);

	if (fd < 0 || read_ints("/proc/sys/net/ipv4/ip_local_port_range", &lo, &hi) != 2 ||
	    read_ints("/proc/sys/net/ipv4/tcp_tw_reuse", &reuse, &dummy) < 1) {
		fprintf(stderr, "record_diag: no sock_diag socket or sysctls: %s\n", strerror(errno));
		return 1;
	}
	dump(fd, AF_INET, owners);
	dump(fd, AF_INET6, owners);
	h.owners_len = outlen;
	dump(fd, AF_INET, others);
	dump(fd, AF_INET6, others);
	h.lo = lo;
	h.hi = hi;
	h.tw_reuse = reuse;
	if (fwrite(&h, sizeof(h), 1, stdout) != 1 || fwrite(out, 1, outlen, stdout) != outlen)
		return 1;
	return fflush(stdout) ? 1 : 0;
}
