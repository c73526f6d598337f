// SPDX-License-Identifier: GPL-2.0
/* NETLINK_SOCK_DIAG inet_diag dumps: the request, the reply datagrams and
 * their messages, each socket handed to the caller's function. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "sockdiag.h"

int pw_sockdiag_open(char *err, size_t errsz)
{
	int sk = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	if (sk < 0) {
		int e = errno;

		snprintf(err, errsz, "NETLINK_SOCK_DIAG socket: %s", strerror(e));
		return -e;
	}
	return sk;
}

/* The message being handed to the caller's function, for
 * pw_sockdiag_attr_u8: its start and length (attributes included). */
static __thread struct {
	const struct inet_diag_msg *m;
	size_t len;
} cur;

int pw_sockdiag_attr_u8(const struct inet_diag_msg *m, unsigned int type)
{
	size_t off = NLA_ALIGN(sizeof(*m));

	if (!m || m != cur.m)
		return -1;
	/* bounds checked by hand: every attribute within the message */
	while (cur.len >= off && cur.len - off >= NLA_HDRLEN) {
		const struct nlattr *a = (const void *)((const char *)m + off);

		if (a->nla_len < NLA_HDRLEN || a->nla_len > cur.len - off)
			return -1;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a->nla_len >= NLA_HDRLEN + 1 ? *((const uint8_t *)a + NLA_HDRLEN) : -1;
		off += NLA_ALIGN(a->nla_len);
	}
	return -1;
}

/* 1 at the end of the dump, 0 to go on, or -errno. */
static int on_message(const struct nlmsghdr *h, uint32_t seq, pw_sockdiag_fn fn, void *arg)
{
	if (h->nlmsg_seq != seq)
		return 0;
	if (h->nlmsg_type == NLMSG_DONE) {
		int e = 0;

		if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)))
			memcpy(&e, NLMSG_DATA(h), sizeof(e));
		return e < 0 ? e : 1;
	}
	if (h->nlmsg_type == NLMSG_ERROR) {
		const struct nlmsgerr *e = NLMSG_DATA(h);

		if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
			return -EIO;
		return e->error < 0 ? e->error : -EIO;
	}
	if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
	    h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
		int r;

		cur.m = NLMSG_DATA(h);
		cur.len = h->nlmsg_len - NLMSG_HDRLEN;
		r = fn(arg, cur.m);
		cur.m = NULL;
		return r;
	}
	return 0;
}

int pw_sockdiag_parse(const void *buf, size_t n, uint32_t seq, pw_sockdiag_fn fn, void *arg,
		      size_t *used)
{
	const struct nlmsghdr *h = buf;
	size_t left = n, step;
	int r = 0;

	/* bounds checked by hand: NLMSG_NEXT can step past a short tail */
	while (left >= sizeof(*h) && h->nlmsg_len >= sizeof(*h) && h->nlmsg_len <= left) {
		r = on_message(h, seq, fn, arg);
		step = NLMSG_ALIGN(h->nlmsg_len);
		if (step > left)
			step = left;
		left -= step;
		if (r)
			break;
		h = (const struct nlmsghdr *)((const char *)h + step);
	}
	*used = n - left;
	return r;
}

int pw_sockdiag_dump(int fd, uint8_t family, uint32_t states, uint16_t dport,
		     pw_sockdiag_fn fn, void *arg)
{
	return pw_sockdiag_dump_proto(fd, family, IPPROTO_TCP, states, 0, dport, fn, arg);
}

int pw_sockdiag_dump_proto(int fd, uint8_t family, uint8_t protocol, uint32_t states,
			   uint16_t sport, uint16_t dport, pw_sockdiag_fn fn, void *arg)
{
	static unsigned int seq;
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} q = {
		.nlh = {
			.nlmsg_len = sizeof(q),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
			.nlmsg_seq = ++seq,
		},
		.r = {
			.sdiag_family = family,
			.sdiag_protocol = protocol,
			.idiag_states = states,
			.id.idiag_sport = htons(sport),
			.id.idiag_dport = htons(dport),
		},
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	/* long-aligned for the nlmsghdr casts */
	long buf[32768 / sizeof(long)];

	if (sendto(fd, &q, sizeof(q), 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		size_t used;
		int r;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;
		r = pw_sockdiag_parse(buf, n, q.nlh.nlmsg_seq, fn, arg, &used);
		if (r)
			return r < 0 ? r : 0;
	}
}

static int dump_inet(int fd, uint8_t protocol, uint32_t states, uint16_t dport,
		     pw_sockdiag_fn fn, void *arg, char *err, size_t errsz)
{
	static const uint8_t fams[] = { AF_INET, AF_INET6 };

	for (int i = 0; i < 2; i++) {
		int r = pw_sockdiag_dump_proto(fd, fams[i], protocol, states, 0, dport, fn, arg);

		/* no inet6 diag (IPv6 disabled or not built): nothing to see */
		if (r == -ENOENT && fams[i] == AF_INET6)
			continue;
		if (r) {
			snprintf(err, errsz, "sock_diag dump (%s%s): %s",
				 protocol == IPPROTO_UDP ? "udp, " : "",
				 fams[i] == AF_INET ? "inet" : "inet6", strerror(-r));
			return r;
		}
	}
	return 0;
}

int pw_sockdiag_dump_tcp(int fd, uint32_t states, uint16_t dport, pw_sockdiag_fn fn,
			 void *arg, char *err, size_t errsz)
{
	return dump_inet(fd, IPPROTO_TCP, states, dport, fn, arg, err, errsz);
}

int pw_sockdiag_dump_udp(int fd, pw_sockdiag_fn fn, void *arg, char *err, size_t errsz)
{
	/* every state: a connected UDP socket is TCP_ESTABLISHED, others TCP_CLOSE */
	return dump_inet(fd, IPPROTO_UDP, ~0u, 0, fn, arg, err, errsz);
}

int pw_sockdiag_replay(const void *buf, size_t n, pw_sockdiag_fn fn, void *arg)
{
	const char *p = buf;
	size_t used;
	int r;

	while (n >= sizeof(struct nlmsghdr)) {
		r = pw_sockdiag_parse(p, n, ((const struct nlmsghdr *)p)->nlmsg_seq, fn, arg, &used);
		if (r < 0)
			return r;
		if (!r || !used)
			break;	/* no NLMSG_DONE: the rest is not a message */
		p += used;
		n -= used;
	}
	return 0;
}
