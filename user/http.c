// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "http.h"
#include "metrics.h"
#include "util.h"
#include "webauth.h"
#include "webconfig.h"

#ifdef PW_NO_METRICS
/* Static builds: Debian ships no static TLS libraries for libmicrohttpd. */
int pw_http_start(struct pw_http **out, const char *host, uint16_t port, const char *web_config,
		  pw_http_render_fn render, void *arg, char *err, size_t errsz)
{
	(void)out; (void)host; (void)port; (void)render; (void)arg;
	snprintf(err, errsz, "this static build has no metrics endpoint%s (build without STATIC=1)",
		 web_config ? " and no --web.config.file" : "");
	return -EOPNOTSUPP;
}
int pw_http_fd(const struct pw_http *h) { (void)h; return -1; }
bool pw_http_tls(const struct pw_http *h) { (void)h; return false; }
void pw_http_run(struct pw_http *h) { (void)h; }
int64_t pw_http_deadline(const struct pw_http *h) { (void)h; return 0; }
void pw_http_stop(struct pw_http *h) { (void)h; }
#else
#include <microhttpd.h>

/*
 * Limits against clients that hold connections (the defaults in the README):
 * a client address (an IPv6 /64) gets PER_IP connections, everyone together
 * MAX_CONNS; a request's line and headers (and before them the TLS
 * handshake) must arrive within HEADER_DEADLINE_S of the accept, or of the
 * end of the previous response on a kept-alive connection, however they
 * trickle (Go's ReadHeaderTimeout, which exporter-toolkit servers have),
 * else the connection is closed; a connection silent for TIMEOUT_S is
 * closed; a request's line and headers must fit in MEMORY_LIMIT (else 431
 * or 414). 64 clients from 8 addresses that trickle a byte a second hold
 * every slot for at most HEADER_DEADLINE_S.
 */
#define PER_IP		8
#define MAX_CONNS	64
#define HEADER_DEADLINE_S 5
#define TIMEOUT_S	10
#define MEMORY_LIMIT	(16 * 1024)
#define REALM		"portwatch"

/* A connection MHD has (from its STARTED to its CLOSED notification). */
struct conn {
	struct conn *prev, *next;
	struct pw_addrkey key;
	int fd;
	int64_t deadline_ns;	/* the headers are due; 0: none now */
};

struct pw_http {
	struct MHD_Daemon *d;
	int epoll_fd;
	pw_http_render_fn render;
	void *arg;
	struct pw_webconfig cfg;
	struct pw_webauth auth;
	char priorities[PW_WEBCONFIG_PRIORITIES_MAX];
	struct conn *conns;	/* at most MAX_CONNS */
};

static const char landing[] =
	"<html><head><title>portwatch</title></head><body>"
	"<h1>portwatch</h1><p>connect() EADDRNOTAVAIL tracer.</p>"
	"<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

static enum MHD_Result reply(struct pw_http *h, struct MHD_Connection *c, unsigned int status,
			     const char *type, void *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	for (size_t i = 0; i < h->cfg.nheaders; i++)
		MHD_add_response_header(r, h->cfg.headers[i].name, h->cfg.headers[i].value);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	if (status == MHD_HTTP_TOO_MANY_REQUESTS)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	if (status == MHD_HTTP_UNAUTHORIZED)
		ret = MHD_queue_basic_auth_fail_response(c, REALM, r);
	else
		ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* Our record of c (NULL: none, its allocation failed). */
static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *i = MHD_get_connection_info(c,
						MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return i ? i->socket_context : NULL;
}

/* basic_auth_users: every path needs them, as in the toolkit; the client's
 * address picks the bcrypt budget. */
static enum pw_auth_result authorize(struct pw_http *h, struct MHD_Connection *c)
{
	struct conn *cn = conn_of(c);
	enum pw_auth_result res;
	char *user, *pass = NULL;

	if (!h->cfg.nusers)
		return PW_AUTH_OK;
	user = MHD_basic_auth_get_username_password(c, &pass);
	res = pw_webauth_check(&h->auth, &h->cfg, cn ? &cn->key : NULL, user, pass,
			       pw_clock_ns(CLOCK_MONOTONIC));
	if (pass) {
		explicit_bzero(pass, strlen(pass));
		MHD_free(pass);
	}
	if (user)
		MHD_free(user);
	return res;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **req)
{
	struct pw_http *h = cls;
	struct conn *cn = conn_of(c);
	char *buf;
	size_t len;

	(void)version; (void)upload_data; (void)upload_size; (void)req;
	if (cn)		/* the headers are in: answering is MHD's timeout's */
		cn->deadline_ns = 0;
	switch (authorize(h, c)) {
	case PW_AUTH_OK:
		break;
	case PW_AUTH_DENIED:
		return reply(h, c, MHD_HTTP_UNAUTHORIZED, "text/plain; charset=utf-8",
			     "unauthorized\n", 13, MHD_RESPMEM_PERSISTENT);
	case PW_AUTH_BUSY:
		return reply(h, c, MHD_HTTP_TOO_MANY_REQUESTS, "text/plain; charset=utf-8",
			     "too many password checks, try again in a second\n", 48,
			     MHD_RESPMEM_PERSISTENT);
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(h, c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
			     "method not allowed\n", 19, MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return reply(h, c, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)landing,
			     sizeof(landing) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(h, c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
			     "not found\n", 10, MHD_RESPMEM_PERSISTENT);
	if (h->render(h->arg, &buf, &len))
		return reply(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
			     "cannot render metrics\n", 22, MHD_RESPMEM_PERSISTENT);
	return reply(h, c, MHD_HTTP_OK, PW_METRICS_CONTENT_TYPE, buf, len, MHD_RESPMEM_MUST_FREE);
}

/* The per-address limit, counted by pw_addrkey (an IPv6 client's /64), at
 * accept; MHD's own counts whole IPv6 addresses. Called before MHD adds the
 * connection, which it then announces to on_connection. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct pw_http *h = cls;
	struct pw_addrkey k;
	unsigned int n = 0;

	pw_addrkey(addr, addrlen, &k);
	for (struct conn *cn = h->conns; cn; cn = cn->next)
		n += !memcmp(&cn->key, &k, sizeof(k));
	return n < PER_IP ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode toe)
{
	const union MHD_ConnectionInfo *addr, *fd;
	struct pw_http *h = cls;
	struct conn *cn = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		if (!cn)
			return;
		if (cn->prev)
			cn->prev->next = cn->next;
		else
			h->conns = cn->next;
		if (cn->next)
			cn->next->prev = cn->prev;
		free(cn);
		*socket_context = NULL;
		return;
	}
	addr = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	cn = calloc(1, sizeof(*cn));
	if (!cn || !addr || !fd) {
		/* untracked, it would escape the limits: refused */
		free(cn);
		if (fd)
			shutdown(fd->connect_fd, SHUT_RDWR);
		return;
	}
	pw_addrkey(addr->client_addr, sizeof(struct sockaddr_storage), &cn->key);
	cn->fd = fd->connect_fd;
	cn->deadline_ns = pw_clock_ns(CLOCK_MONOTONIC) + HEADER_DEADLINE_S * 1000000000LL;
	cn->next = h->conns;
	if (h->conns)
		h->conns->prev = cn;
	h->conns = cn;
	*socket_context = cn;
}

/* A response is sent: on a kept-alive connection the next request's headers
 * are due within the deadline again. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req,
			 enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = conn_of(c);

	(void)cls; (void)req; (void)toe;
	if (cn)
		cn->deadline_ns = pw_clock_ns(CLOCK_MONOTONIC) + HEADER_DEADLINE_S * 1000000000LL;
}

/* Connections past their header deadline: shut down, so that MHD reads
 * the end of the stream and closes them in this run. */
static void close_late(struct pw_http *h, int64_t now)
{
	for (struct conn *cn = h->conns; cn; cn = cn->next) {
		if (!cn->deadline_ns || now < cn->deadline_ns)
			continue;
		shutdown(cn->fd, SHUT_RDWR);
		cn->deadline_ns = 0;
	}
}

/* Our own listening socket, so that a bind error has its errno. */
static int listen_socket(const char *host, uint16_t port, char *err, size_t errsz)
{
	struct sockaddr_storage ss = {};
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t len;
	int fd, one = 1, zero = 0, e;

	if (!*host || inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;	/* empty host: [::], dual stack */
		in6->sin6_port = htons(port);
		len = sizeof(*in6);
	} else if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		len = sizeof(*in4);
	} else {
		snprintf(err, errsz, "--listen: '%s' is not an IP address", host);
		return -EINVAL;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 && !*host && errno == EAFNOSUPPORT) {
		/* no IPv6 on this host: every IPv4 address */
		memset(&ss, 0, sizeof(ss));
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		len = sizeof(*in4);
		fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	}
	if (fd < 0) {
		e = errno;
		snprintf(err, errsz, "--listen: socket: %s", strerror(e));
		return -e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6 && !*host)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 64)) {
		e = errno;
		snprintf(err, errsz, "--listen %s%s%s:%u: %s%s", strchr(host, ':') ? "[" : "", host,
			 strchr(host, ':') ? "]" : "", port, strerror(e),
			 e == EADDRINUSE ? " (another exporter on that port? pick another)" : "");
		close(fd);
		return -e;
	}
	return fd;
}

static void http_free(struct pw_http *h)
{
	pw_webauth_free(&h->auth);
	pw_webconfig_free(&h->cfg);
	free(h);
}

int pw_http_start(struct pw_http **out, const char *host, uint16_t port, const char *web_config,
		  pw_http_render_fn render, void *arg, char *err, size_t errsz)
{
	const union MHD_DaemonInfo *info;
	struct MHD_OptionItem opts[16];
	unsigned int flags = MHD_USE_EPOLL, n = 0;
	struct pw_http *h;
	int fd, ret;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	/* the whole configuration is checked before the port is taken */
	if (web_config) {
		ret = pw_webconfig_load(web_config, &h->cfg, err, errsz);
		if (ret) {
			free(h);
			return ret == -ENOMEM ? ret : -EINVAL;
		}
	}
	ret = pw_webauth_init(&h->auth);
	if (ret) {
		snprintf(err, errsz, "--web.config.file: %s", strerror(-ret));
		http_free(h);
		return ret;
	}
	fd = listen_socket(host, port, err, errsz);
	if (fd < 0) {
		http_free(h);
		return fd;
	}
	h->render = render;
	h->arg = arg;
#define OPT(o, v, p) (opts[n++] = (struct MHD_OptionItem){ (o), (intptr_t)(v), (p) })
	OPT(MHD_OPTION_LISTEN_SOCKET, fd, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, MAX_CONNS, NULL);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, h);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, h);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, TIMEOUT_S, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, MEMORY_LIMIT, NULL);
	if (h->cfg.tls) {
		flags |= MHD_USE_TLS;
		pw_webconfig_priorities(&h->cfg, h->priorities, sizeof(h->priorities));
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, h->cfg.cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, h->cfg.key_pem);
		OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, h->priorities);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	h->d = MHD_start_daemon(flags, 0, on_accept, h, on_request, h,
				MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	info = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		snprintf(err, errsz, "--listen: libmicrohttpd could not start%s",
			 h->cfg.tls ? " with TLS" : "");
		if (h->d)
			MHD_stop_daemon(h->d);
		else
			close(fd);
		http_free(h);
		return -EIO;
	}
	h->epoll_fd = info->epoll_fd;
	*out = h;
	return 0;
}

int pw_http_fd(const struct pw_http *h)
{
	return h->epoll_fd;
}

bool pw_http_tls(const struct pw_http *h)
{
	return h->cfg.tls;
}

/* In external epoll mode MHD keeps connections it could not finish with in
 * a ready list of its own (edge-triggered: the epoll fd does not wake us
 * again), and it reads a large request head 128 bytes a call once its first
 * buffer is full: run it again while it says it has work (timeout 0), for up
 * to 5 ms, so that a 20 kB request is answered now rather than one step per
 * wakeup of the loop (up to a second apart), and the loop's other work is not
 * kept waiting either. */
void pw_http_run(struct pw_http *h)
{
	int64_t end = pw_clock_ns(CLOCK_MONOTONIC) + 5000000;
	MHD_UNSIGNED_LONG_LONG t;

	close_late(h, end - 5000000);
	do
		MHD_run(h->d);
	while (MHD_get_timeout(h->d, &t) == MHD_YES && t == 0 && pw_clock_ns(CLOCK_MONOTONIC) < end);
}

int64_t pw_http_deadline(const struct pw_http *h)
{
	int64_t first = 0;

	for (const struct conn *cn = h->conns; cn; cn = cn->next)
		if (cn->deadline_ns && (!first || cn->deadline_ns < first))
			first = cn->deadline_ns;
	return first;
}

void pw_http_stop(struct pw_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);	/* closes the listening socket too */
	http_free(h);
}
#endif
