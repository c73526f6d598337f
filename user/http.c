// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "http.h"
#include "metrics.h"

#ifdef PW_NO_METRICS
/* Static builds: Debian ships no static TLS libraries for libmicrohttpd. */
int pw_http_start(struct pw_http **out, const char *host, uint16_t port,
		  pw_http_render_fn render, void *arg, char *err, size_t errsz)
{
	(void)out; (void)host; (void)port; (void)render; (void)arg;
	snprintf(err, errsz, "this static build has no metrics endpoint (build without STATIC=1)");
	return -EOPNOTSUPP;
}
int pw_http_fd(const struct pw_http *h) { (void)h; return -1; }
void pw_http_run(struct pw_http *h) { (void)h; }
void pw_http_stop(struct pw_http *h) { (void)h; }
#else
#include <microhttpd.h>

struct pw_http {
	struct MHD_Daemon *d;
	int epoll_fd;
	pw_http_render_fn render;
	void *arg;
};

static const char landing[] =
	"<html><head><title>portwatch</title></head><body>"
	"<h1>portwatch</h1><p>connect() EADDRNOTAVAIL tracer.</p>"
	"<p><a href=\"/metrics\">Metrics</a></p></body></html>\n";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *type, void *body, size_t len,
			     enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **req)
{
	struct pw_http *h = cls;
	char *buf;
	size_t len;

	(void)version; (void)upload_data; (void)upload_size; (void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain; charset=utf-8",
			     "method not allowed\n", 19, MHD_RESPMEM_PERSISTENT);
	if (!strcmp(url, "/"))
		return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", (void *)landing,
			     sizeof(landing) - 1, MHD_RESPMEM_PERSISTENT);
	if (strcmp(url, "/metrics"))
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain; charset=utf-8",
			     "not found\n", 10, MHD_RESPMEM_PERSISTENT);
	if (h->render(h->arg, &buf, &len))
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8",
			     "cannot render metrics\n", 22, MHD_RESPMEM_PERSISTENT);
	return reply(c, MHD_HTTP_OK, PW_METRICS_CONTENT_TYPE, buf, len, MHD_RESPMEM_MUST_FREE);
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

int pw_http_start(struct pw_http **out, const char *host, uint16_t port,
		  pw_http_render_fn render, void *arg, char *err, size_t errsz)
{
	const union MHD_DaemonInfo *info;
	struct pw_http *h;
	int fd;

	fd = listen_socket(host, port, err, errsz);
	if (fd < 0)
		return fd;
	h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	h->render = render;
	h->arg = arg;
	h->d = MHD_start_daemon(MHD_USE_EPOLL, 0, NULL, NULL, on_request, h,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)64,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
				MHD_OPTION_END);
	info = h->d ? MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_EPOLL_FD) : NULL;
	if (!info) {
		snprintf(err, errsz, "--listen: libmicrohttpd could not start");
		if (h->d)
			MHD_stop_daemon(h->d);
		else
			close(fd);
		free(h);
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

void pw_http_run(struct pw_http *h)
{
	MHD_run(h->d);
}

void pw_http_stop(struct pw_http *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->d);	/* closes the listening socket too */
	free(h);
}
#endif
