// SPDX-License-Identifier: GPL-2.0
/* Remedy rules for local-port pressure, keyed by the kernel version and the
 * netns's settings. Each text carries the numbers that made it apply. */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "caps.h"
#include "census.h"
#include "kernel.h"
#include "remedies.h"

/* The widest range a client can have: below 1024 needs privileges. */
#define WIDE_LO		1024
#define WIDE_HI		65535
#define WIDE_SIZE	(WIDE_HI - WIDE_LO + 1)

static struct pw_remedy *next(struct pw_remedy *out, int max, int *n, const char *id)
{
	if (*n >= max)
		return NULL;
	out[*n].id = id;
	out[*n].text[0] = '\0';
	return &out[(*n)++];
}

#define ADD(id, ...)							\
	do {								\
		struct pw_remedy *r_ = next(out, max, &n, id);		\
		if (r_)							\
			snprintf(r_->text, sizeof(r_->text), __VA_ARGS__); \
	} while (0)

static bool has_port_range_sockopt(const struct pw_remedy_input *in)
{
	int maj = in->kernel_major, min = in->kernel_minor;

	/* 6.3, backported to 6.1.32 */
	return maj > 6 || (maj == 6 && min >= 3) || (maj == 6 && min == 1 && in->kernel_patch >= 32);
}

/* The first remedy, with the setting of the client the failing process
 * runs (detected from what it runs, see pw_client_detect). */
static void reuse_connections(const struct pw_remedy_input *in, struct pw_remedy *out, int max,
			      int *np)
{
	static const char base[] =
		"Reuse connections (HTTP keep-alive, a connection pool) instead of one per "
		"request: each new one takes a local port and, closed first by the client, "
		"keeps it in TIME_WAIT for 60 s (%u now).";
	const char *how = NULL;
	int n = *np;

	switch (in->client) {
	case PW_CLIENT_LIBCURL:
		how = " The failing process (pid %u) uses libcurl: keep using the same easy handle "
		      "for the next request (curl_easy_perform keeps its connection open), or share "
		      "connections between handles with a multi handle or a share handle "
		      "(CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT); leave CURLOPT_FORBID_REUSE and "
		      "CURLOPT_FRESH_CONNECT off, and raise CURLOPT_MAXCONNECTS (the cache of idle "
		      "connections, 5 by default) if it talks to more hosts than that.";
		break;
	case PW_CLIENT_GO:
		how = " The failing process (pid %u) is a Go program: use one http.Client (one "
		      "http.Transport) for every request, not one per request; read each response "
		      "body to EOF and Close it so the connection goes back to the pool; and raise "
		      "http.Transport.MaxIdleConnsPerHost (default 2: with more concurrent requests "
		      "to one host, the extra connections are closed after each use and each leaves "
		      "a port in TIME_WAIT).";
		break;
	case PW_CLIENT_JVM:
		how = " The failing process (pid %u) is a JVM: reuse one java.net.http.HttpClient "
		      "(or one OkHttp client, or one Apache HttpClient with a "
		      "PoolingHttpClientConnectionManager: setDefaultMaxPerRoute, default 2) instead "
		      "of a client per request; for HttpURLConnection keep -Dhttp.keepAlive=true (the "
		      "default), raise -Dhttp.maxConnections (default 5) and read each response to "
		      "the end.";
		break;
	case PW_CLIENT_PYTHON:
		how = " The failing process (pid %u) is CPython: make requests through one "
		      "requests.Session (or one urllib3.PoolManager, one httpx.Client) instead of "
		      "requests.get() per call, and size its pool to the concurrency "
		      "(HTTPAdapter(pool_maxsize=...), default 10 per host).";
		break;
	case PW_CLIENT_NODE:
		how = " The failing process (pid %u) is Node.js: give requests an http.Agent with "
		      "keepAlive: true (the default only since Node 19) and reuse it, or undici's "
		      "Agent behind fetch(); bound it with maxSockets and keep maxFreeSockets at or "
		      "above the usual concurrency.";
		break;
	case PW_CLIENT_GONE:
		how = " The failing process (pid %u) exited before portwatch could see which HTTP "
		      "client it runs: this is the generic advice.";
		break;
	case PW_CLIENT_UNKNOWN:
		how = " No HTTP client portwatch knows (libcurl, Go, a JVM, CPython, Node.js) was "
		      "found in the failing process (pid %u): this is the generic advice.";
		break;
	default:
		break;
	}
	if (how) {
		char fmt[sizeof(base) + 640];

		snprintf(fmt, sizeof(fmt), "%s%s", base, how);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		ADD("reuse_connections", fmt, in->time_wait, in->client_pid);
#pragma GCC diagnostic pop
	} else {
		ADD("reuse_connections", base, in->time_wait);
	}
	*np = n;
}

int pw_remedies(const struct pw_remedy_input *in, struct pw_remedy *out, int max)
{
	int n = 0;

	reuse_connections(in, out, max, &n);

	if (in->tw_reuse != 1 && !in->dest_loopback)
		ADD("tw_reuse_1",
		    "Set net.ipv4.tcp_tw_reuse=1 in this netns: it is %d, which %s; with 1, "
		    "connect() may take over a TIME_WAIT port older than 1 s (TCP timestamps "
		    "needed; %u in TIME_WAIT now).", in->tw_reuse,
		    in->tw_reuse == 2 ? "reuses TIME_WAIT ports only towards loopback"
				      : "never reuses TIME_WAIT ports", in->time_wait);
	else if (in->tw_reuse == 0 && in->dest_loopback)
		ADD("tw_reuse_2",
		    "Set net.ipv4.tcp_tw_reuse=2 (the default: loopback only) or 1 in this netns: "
		    "it is 0, so TIME_WAIT ports towards this loopback destination are never "
		    "reused, not even after 1 s (%u in TIME_WAIT now).", in->time_wait);

	/* Only when 1024-65535 would at least double the range: the default
	 * 32768-60999 (28232 ports) qualifies, an already wide one does not. */
	if (in->range_full && in->range_full * 2 <= WIDE_SIZE)
		ADD("wider_port_range",
		    "Widen net.ipv4.ip_local_port_range: it has %u ports (%u usable); \"%d %d\" "
		    "gives %d. Then list the ports your servers listen on in "
		    "net.ipv4.ip_local_reserved_ports, or clients may take them first.",
		    in->range_full, in->range_size, WIDE_LO, WIDE_HI, WIDE_SIZE);

	if (in->bound_conflicts || in->bind_owned)
		ADD("bind_address_no_port",
		    "Sockets bind() before connect() (%u bound-port conflicts, %u port%s of the "
		    "range owned by bind() or listeners): set IP_BIND_ADDRESS_NO_PORT before "
		    "bind(addr, 0) so connect() picks the port and shares it across destinations. "
		    "Listeners in the range belong in ip_local_reserved_ports.",
		    in->bound_conflicts, in->bind_owned, in->bind_owned == 1 ? "" : "s");

	if (has_port_range_sockopt(in))
		ADD("ip_local_port_range_sockopt",
		    "Linux %d.%d.%d has IP_LOCAL_PORT_RANGE (6.3+, 6.1.32+): give each busy client "
		    "its own slice of the range per socket (setsockopt, hi << 16 | lo), so one "
		    "cannot starve the others; with IP_BIND_ADDRESS_NO_PORT ports stay shared "
		    "across destinations.", in->kernel_major, in->kernel_minor, in->kernel_patch);

	if (in->sysctl_mentions_recycle)
		ADD("tw_recycle_removed",
		    "Remove net.ipv4.tcp_tw_recycle from /etc/sysctl.conf or /etc/sysctl.d: it no "
		    "longer exists since Linux 4.12 (it dropped SYNs from clients behind NAT), so "
		    "the setting does nothing and sysctl --system reports an error.");

	ADD("more_destinations",
	    "Last resort: one (source, destination address, port) tuple offers at most %u usable "
	    "local ports here; spread connections over more destination addresses or ports, or "
	    "add source addresses.", in->range_size);
	return n;
}

static bool file_mentions_recycle(const char *path)
{
	char line[4096];
	bool hit = false;
	FILE *f = fopen(path, "re");

	if (!f)
		return false;
	while (!hit && fgets(line, sizeof(line), f)) {
		const char *p = line + strspn(line, " \t");

		/* sysctl.conf(5): '#' and ';' start comments */
		if (*p == '#' || *p == ';')
			continue;
		hit = strstr(p, "tcp_tw_recycle") != NULL;
	}
	fclose(f);
	return hit;
}

bool pw_sysctl_mentions_recycle(const char *root)
{
	char path[PATH_MAX];
	struct dirent *de;
	bool hit;
	DIR *d;

	if (!root)
		root = "";
	snprintf(path, sizeof(path), "%s/etc/sysctl.conf", root);
	hit = file_mentions_recycle(path);
	snprintf(path, sizeof(path), "%s/etc/sysctl.d", root);
	d = opendir(path);
	if (!d)
		return hit;
	while (!hit && (de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (l < 5 || strcmp(de->d_name + l - 5, ".conf"))
			continue;
		if (snprintf(path, sizeof(path), "%s/etc/sysctl.d/%s", root, de->d_name) >=
		    (int)sizeof(path))
			continue;
		hit = file_mentions_recycle(path);
	}
	closedir(d);
	return hit;
}

void pw_remedy_input_from_census(struct pw_remedy_input *in, const struct pw_census_ns *ns,
				 const struct pw_census_dest *d)
{
	memset(in, 0, sizeof(*in));
	if (!pw_kernel_version(&in->kernel_major, &in->kernel_minor, &in->kernel_patch))
		in->kernel_major = in->kernel_minor = in->kernel_patch = 0;
	in->tw_reuse = ns->tw_reuse;
	in->range_size = ns->range_size;
	in->range_full = ns->range_hi >= ns->range_lo ? ns->range_hi - ns->range_lo + 1 : 0;
	in->bind_owned = ns->bind_owned;
	in->sysctl_mentions_recycle = pw_sysctl_mentions_recycle(pw_node_root());
	if (d) {
		in->dest_loopback = pw_addr_is_loopback(d->dest.family, d->dest.addr);
		in->time_wait = d->states[6];
	}
}
