/* SPDX-License-Identifier: GPL-2.0 */
/* The /metrics endpoint: libmicrohttpd in external-epoll mode, driven from
 * portwatch's worker thread's loop. */
#ifndef PW_HTTP_H
#define PW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pw_http;

/* Render the exposition into a malloc()ed buffer; 0 or -errno. */
typedef int (*pw_http_render_fn)(void *arg, char **buf, size_t *len);

/* Listen on host:port (empty host: every address), with TLS and basic auth
 * as web_config (--web.config.file; NULL: plain HTTP, no auth) says. 0, or
 * -errno with one line for the user in err: -EINVAL for what the user wrote
 * (an address, the web configuration or the files it names). */
int pw_http_start(struct pw_http **out, const char *host, uint16_t port, const char *web_config,
		  pw_http_render_fn render, void *arg, char *err, size_t errsz);
/* Served over TLS? */
bool pw_http_tls(const struct pw_http *h);
/* The fd to watch for EPOLLIN; MHD has work when it is readable. */
int pw_http_fd(const struct pw_http *h);
/* When a connection's request headers are due (CLOCK_MONOTONIC ns; 0:
 * none): call pw_http_run then, to close it if they are not in. */
int64_t pw_http_deadline(const struct pw_http *h);
/* Let MHD serve what is pending. */
void pw_http_run(struct pw_http *h);
void pw_http_stop(struct pw_http *h);

#endif /* PW_HTTP_H */
