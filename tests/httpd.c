/*
 * httpd: minimal HTTP/1.1 keep-alive server for portwatch tests.
 *
 * It never closes a connection first: it closes only after the client's
 * EOF, so the client's local port is the one that ends in TIME_WAIT. That
 * is what lets a test exhaust a small ephemeral range with plain curl.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* Requests with longer headers are not something a test sends; drop them. */
#define HDR_MAX 16384

static const char resp[] =
	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nok\n";
#define RESP_LEN (sizeof(resp) - 1)

struct conn {
	int fd;
	int eof;
	unsigned long long skip; /* body bytes still to discard */
	unsigned long owed;      /* responses not yet fully sent */
	size_t off;              /* bytes of the current response already sent */
	size_t hlen;
	char hdr[HDR_MAX];
};

static int ep;

static void on_signal(int sig)
{
	(void)sig;
	_exit(0);
}

static void conn_free(struct conn *c)
{
	epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c);
}

static unsigned long long content_length(const char *h, size_t n)
{
	static const char key[] = "content-length:";
	size_t klen = sizeof(key) - 1;

	for (size_t i = 0; i + klen < n; i++) {
		if ((i == 0 || h[i - 1] == '\n') && !strncasecmp(h + i, key, klen)) {
			unsigned long long v = 0;
			size_t j = i + klen;

			while (j < n && (h[j] == ' ' || h[j] == '\t'))
				j++;
			while (j < n && h[j] >= '0' && h[j] <= '9')
				v = v * 10 + (unsigned long long)(h[j++] - '0');
			return v;
		}
	}
	return 0;
}

/* Returns -1 if the connection must be dropped. */
static int consume(struct conn *c, const char *p, size_t n)
{
	while (n > 0) {
		if (c->skip) {
			size_t k = c->skip < n ? (size_t)c->skip : n;

			c->skip -= k;
			p += k;
			n -= k;
			continue;
		}
		/* stray CRLFs between requests are allowed and must not count */
		if (c->hlen == 0 && (*p == '\r' || *p == '\n')) {
			p++;
			n--;
			continue;
		}
		if (c->hlen == HDR_MAX)
			return -1;
		c->hdr[c->hlen++] = *p++;
		n--;
		if (c->hlen >= 4 && !memcmp(c->hdr + c->hlen - 4, "\r\n\r\n", 4)) {
			c->skip = content_length(c->hdr, c->hlen);
			c->owed++;
			c->hlen = 0;
		}
	}
	return 0;
}

/* Returns -1 on a dead socket. */
static int flush(struct conn *c)
{
	while (c->owed) {
		ssize_t w = send(c->fd, resp + c->off, RESP_LEN - c->off, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		c->off += (size_t)w;
		if (c->off == RESP_LEN) {
			c->off = 0;
			c->owed--;
		}
	}
	return 0;
}

static void rearm(struct conn *c)
{
	/* after EOF only pending output matters; EPOLLIN would spin on EOF */
	struct epoll_event ev = {
		.events = (c->eof ? 0 : EPOLLIN) | (c->owed ? EPOLLOUT : 0),
		.data.ptr = c,
	};

	epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void handle(struct conn *c)
{
	static char buf[65536];

	while (!c->eof) {
		ssize_t r = read(c->fd, buf, sizeof(buf));

		if (r > 0) {
			if (consume(c, buf, (size_t)r) != 0) {
				conn_free(c);
				return;
			}
			continue;
		}
		if (r == 0)
			c->eof = 1;
		else if (errno == EINTR)
			continue;
		else if (errno != EAGAIN) {
			conn_free(c);
			return;
		}
		break;
	}
	if (flush(c) != 0 || (c->eof && !c->owed)) {
		conn_free(c);
		return;
	}
	rearm(c);
}

static void usage(const char *msg)
{
	fprintf(stderr, "httpd: %s (usage: httpd ADDR PORT)\n", msg);
	exit(2);
}

int main(int argc, char **argv)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	struct epoll_event ev, evs[256];
	struct sigaction sa;
	struct rlimit rl;
	socklen_t len;
	unsigned long port;
	char *end;
	int lfd, one = 1, zero = 0;
	static int listen_tag; /* distinguishes the listener in epoll data.ptr */

	if (argc != 3)
		usage("need exactly two arguments");
	errno = 0;
	port = strtoul(argv[2], &end, 10);
	if (errno || end == argv[2] || *end || argv[2][0] == '-' || port < 1 || port > 65535)
		usage("bad PORT");
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, argv[1], &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((unsigned short)port);
		len = sizeof(*a4);
	} else if (inet_pton(AF_INET6, argv[1], &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((unsigned short)port);
		len = sizeof(*a6);
	} else {
		usage("bad ADDR (want an IPv4 or IPv6 literal)");
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	/* a test may hold many idle keep-alive connections */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		fprintf(stderr, "httpd: socket: %s\n", strerror(errno));
		return 1;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* so that a ::ffff:a.b.c.d ADDR can be bound */
	if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr))
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(lfd, (struct sockaddr *)&ss, len) != 0 || listen(lfd, 1024) != 0) {
		fprintf(stderr, "httpd: bind/listen %s port %lu: %s\n", argv[1], port,
			strerror(errno));
		return 1;
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0) {
		fprintf(stderr, "httpd: epoll_create1: %s\n", strerror(errno));
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &listen_tag;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0) {
		fprintf(stderr, "httpd: epoll_ctl: %s\n", strerror(errno));
		return 1;
	}

	fputs("ready\n", stdout);
	fflush(stdout);

	for (;;) {
		int n = epoll_wait(ep, evs, 256, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "httpd: epoll_wait: %s\n", strerror(errno));
			return 1;
		}
		for (int i = 0; i < n; i++) {
			if (evs[i].data.ptr != &listen_tag) {
				handle(evs[i].data.ptr);
				continue;
			}
			for (;;) {
				int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				struct conn *c;

				if (fd < 0) {
					if (errno == EMFILE || errno == ENFILE) {
						/* level-triggered listener would spin */
						fprintf(stderr, "httpd: accept: %s\n", strerror(errno));
						usleep(10000);
					}
					break;
				}
				c = calloc(1, sizeof(*c));
				if (!c) {
					close(fd);
					continue;
				}
				c->fd = fd;
				ev.events = EPOLLIN;
				ev.data.ptr = c;
				if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
					close(fd);
					free(c);
				}
			}
		}
	}
}
