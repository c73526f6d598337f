// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/sockdiag.c: the parsing of hand-made reply datagrams
 * (end of dump, errors, other sequence numbers, short messages, a short
 * tail), replayed dumps, and one live dump of a listener this test opens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <cmocka.h>

#include "sockdiag.h"

/* A reply datagram under construction, long-aligned as recv() fills it. */
struct reply {
	long buf[4096];
	size_t n;
};

static void msg(struct reply *r, uint16_t type, uint32_t seq, const void *p, size_t len)
{
	struct nlmsghdr *h = (struct nlmsghdr *)((char *)r->buf + r->n);

	assert_true(r->n + NLMSG_SPACE(len) <= sizeof(r->buf));
	memset(h, 0, NLMSG_SPACE(len));
	h->nlmsg_len = NLMSG_LENGTH(len);
	h->nlmsg_type = type;
	h->nlmsg_seq = seq;
	memcpy(NLMSG_DATA(h), p, len);
	r->n += NLMSG_SPACE(len);
}

static void sock(struct reply *r, uint32_t seq, uint16_t sport)
{
	struct inet_diag_msg m = { .idiag_family = AF_INET, .idiag_state = 1 };

	m.id.idiag_sport = htons(sport);
	msg(r, SOCK_DIAG_BY_FAMILY, seq, &m, sizeof(m));
}

static void done(struct reply *r, uint32_t seq, int e)
{
	msg(r, NLMSG_DONE, seq, &e, sizeof(e));
}

/* What the callback saw: the source ports, in order. */
struct seen {
	uint16_t port[64];
	unsigned int n;
	int fail_at;		/* return -ENOMEM at this socket (1-based), 0 never */
};

/* A live dump: how many sockets have the source port *arg. */
struct hits {
	uint16_t port;
	unsigned int n;
};

static int on_live(void *arg, const struct inet_diag_msg *m)
{
	struct hits *h = arg;

	h->n += ntohs(m->id.idiag_sport) == h->port;
	return 0;
}

static int on_sock(void *arg, const struct inet_diag_msg *m)
{
	struct seen *s = arg;

	assert_true(s->n < 64);
	s->port[s->n++] = ntohs(m->id.idiag_sport);
	return s->fail_at && (int)s->n == s->fail_at ? -ENOMEM : 0;
}

/* The SKV6ONLY attribute of each socket as pw_sockdiag_attr_u8 reads it
 * within the callback. */
struct v6only_seen {
	int v[8];
	unsigned int n;
};

static int on_v6only(void *arg, const struct inet_diag_msg *m)
{
	struct v6only_seen *s = arg;

	assert_true(s->n < 8);
	s->v[s->n++] = pw_sockdiag_attr_u8(m, INET_DIAG_SKV6ONLY);
	return 0;
}

/* An inet6 socket with attributes: SHUTDOWN (u8 0), then attr (type,
 * u8 value) unless type is 0; alen: the attribute's own length field
 * (0: the right one). */
static void sock_attrs(struct reply *r, uint32_t seq, unsigned int type, uint8_t value,
		       uint16_t alen)
{
	struct {
		struct inet_diag_msg m;
		struct nlattr a1;
		uint8_t v1[4];
		struct nlattr a2;
		uint8_t v2[4];
	} b;

	memset(&b, 0, sizeof(b));
	b.m.idiag_family = AF_INET6;
	b.m.idiag_state = 10;
	b.a1.nla_len = NLA_HDRLEN + 1;
	b.a1.nla_type = INET_DIAG_SHUTDOWN;
	b.a2.nla_len = alen ? alen : NLA_HDRLEN + 1;
	b.a2.nla_type = type;
	b.v2[0] = value;
	msg(r, SOCK_DIAG_BY_FAMILY, seq, &b, type ? sizeof(b) : offsetof(typeof(b), a2));
}

static void test_attr_v6only(void **state)
{
	struct reply r = { .n = 0 };
	struct v6only_seen s = { .n = 0 };
	struct inet_diag_msg outside = { 0 };
	size_t used;

	(void)state;
	sock_attrs(&r, 3, INET_DIAG_SKV6ONLY, 1, 0);
	sock_attrs(&r, 3, INET_DIAG_SKV6ONLY, 0, 0);
	sock_attrs(&r, 3, 0, 0, 0);			/* none */
	sock_attrs(&r, 3, INET_DIAG_SKV6ONLY, 1, 200);	/* past the message */
	sock_attrs(&r, 3, INET_DIAG_SKV6ONLY, 1, 2);	/* shorter than its header */
	sock_attrs(&r, 3, INET_DIAG_SKV6ONLY, 1, NLA_HDRLEN);	/* no value */
	sock(&r, 3, 1);					/* no attributes at all */
	done(&r, 3, 0);
	assert_int_equal(pw_sockdiag_parse(r.buf, r.n, 3, on_v6only, &s, &used), 1);
	assert_int_equal(s.n, 7);
	assert_int_equal(s.v[0], 1);
	assert_int_equal(s.v[1], 0);
	assert_int_equal(s.v[2], -1);
	assert_int_equal(s.v[3], -1);
	assert_int_equal(s.v[4], -1);
	assert_int_equal(s.v[5], -1);
	assert_int_equal(s.v[6], -1);
	/* outside a callback, or another message: nothing */
	assert_int_equal(pw_sockdiag_attr_u8(&outside, INET_DIAG_SKV6ONLY), -1);
	assert_int_equal(pw_sockdiag_attr_u8(NULL, INET_DIAG_SKV6ONLY), -1);
}

static void test_parse_dump(void **state)
{
	struct reply r = { .n = 0 };
	struct seen s = { .n = 0 };
	size_t used = 0;

	(void)state;
	sock(&r, 5, 40001);
	sock(&r, 4, 40002);	/* another request's: not ours */
	sock(&r, 5, 40003);
	done(&r, 5, 0);
	sock(&r, 5, 40004);	/* past the end of the dump */
	assert_int_equal(pw_sockdiag_parse(r.buf, r.n, 5, on_sock, &s, &used), 1);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.port[0], 40001);
	assert_int_equal(s.port[1], 40003);
	assert_int_equal(used, r.n - NLMSG_SPACE(sizeof(struct inet_diag_msg)));
}

static void test_parse_no_end(void **state)
{
	struct reply r = { .n = 0 };
	struct seen s = { .n = 0 };
	size_t used = 0;

	(void)state;
	sock(&r, 1, 1);
	sock(&r, 1, 2);
	assert_int_equal(pw_sockdiag_parse(r.buf, r.n, 1, on_sock, &s, &used), 0);
	assert_int_equal(s.n, 2);
	assert_int_equal(used, r.n);
	/* a tail shorter than its own length is left alone */
	s.n = 0;
	assert_int_equal(pw_sockdiag_parse(r.buf, r.n - 4, 1, on_sock, &s, &used), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(used, NLMSG_SPACE(sizeof(struct inet_diag_msg)));
	/* a message too short for an inet_diag_msg is skipped */
	r.n = 0;
	s.n = 0;
	msg(&r, SOCK_DIAG_BY_FAMILY, 1, "abcd", 4);
	done(&r, 1, 0);
	assert_int_equal(pw_sockdiag_parse(r.buf, r.n, 1, on_sock, &s, &used), 1);
	assert_int_equal(s.n, 0);
}

static void test_parse_errors(void **state)
{
	struct reply r = { .n = 0 };
	struct seen s = { .n = 0 };
	struct nlmsgerr e = { .error = -EPERM };
	size_t used;

	(void)state;
	msg(&r, NLMSG_ERROR, 2, &e, sizeof(e));
	assert_int_equal(pw_sockdiag_parse(r.buf, r.n, 2, on_sock, &s, &used), -EPERM);
	/* an error message without its body */
	r.n = 0;
	msg(&r, NLMSG_ERROR, 2, "", 0);
	assert_int_equal(pw_sockdiag_parse(r.buf, r.n, 2, on_sock, &s, &used), -EIO);
	/* the dump ended by an error (NLMSG_DONE with a negative errno) */
	r.n = 0;
	done(&r, 2, -ENOBUFS);
	assert_int_equal(pw_sockdiag_parse(r.buf, r.n, 2, on_sock, &s, &used), -ENOBUFS);
	/* the callback's error stops the parse */
	r.n = 0;
	sock(&r, 2, 1);
	sock(&r, 2, 2);
	sock(&r, 2, 3);
	done(&r, 2, 0);
	s.fail_at = 2;
	assert_int_equal(pw_sockdiag_parse(r.buf, r.n, 2, on_sock, &s, &used), -ENOMEM);
	assert_int_equal(s.n, 2);
}

static void test_replay(void **state)
{
	struct reply r = { .n = 0 };
	struct seen s = { .n = 0 };

	(void)state;
	sock(&r, 1, 10);
	done(&r, 1, 0);
	sock(&r, 2, 20);
	sock(&r, 2, 21);
	done(&r, 2, 0);
	sock(&r, 3, 30);	/* no NLMSG_DONE: the replay ends after it */
	done(&r, 4, 0);
	sock(&r, 4, 40);
	assert_int_equal(pw_sockdiag_replay(r.buf, r.n, on_sock, &s), 0);
	assert_int_equal(s.n, 4);
	assert_int_equal(s.port[0], 10);
	assert_int_equal(s.port[1], 20);
	assert_int_equal(s.port[2], 21);
	assert_int_equal(s.port[3], 30);
}

/* A listener this test opens, in a live dump of the listeners of our netns. */
static void test_live_listener(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sin);
	struct hits h = { 0 };
	char err[256] = "";
	int lsn, sk;

	(void)state;
	lsn = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(lsn >= 0);
	assert_int_equal(bind(lsn, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(lsn, 1), 0);
	assert_int_equal(getsockname(lsn, (struct sockaddr *)&sin, &sl), 0);
	sk = pw_sockdiag_open(err, sizeof(err));
	assert_true(sk >= 0);
	h.port = ntohs(sin.sin_port);
	/* the listeners of our netns (LISTEN only): ours exactly once */
	assert_int_equal(pw_sockdiag_dump(sk, AF_INET, 1u << 10, 0, on_live, &h), 0);
	assert_int_equal(h.n, 1);
	h.n = 0;
	assert_int_equal(pw_sockdiag_dump_tcp(sk, 1u << 10, 0, on_live, &h, err, sizeof(err)), 0);
	assert_int_equal(h.n, 1);
	assert_string_equal(err, "");
	close(sk);
	close(lsn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_dump),
		cmocka_unit_test(test_attr_v6only),
		cmocka_unit_test(test_parse_no_end),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_live_listener),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
