// SPDX-License-Identifier: GPL-2.0
#include <argp.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>
#include "cli.h"

const char *argp_program_version = "portwatch " PORTWATCH_VERSION;
const char *argp_program_bug_address = NULL;

static const char doc[] =
"portwatch: trace TCP connect() failing with EADDRNOTAVAIL (no free local "
"port), count it per process, and say why.\n"
"\n"
"Shows each failing connect() live, with the process, the destination, the "
"cause and what the port scan cost; prints a per-process summary at stop.\n"
"\n"
"EXAMPLES:\n"
"  portwatch                     # live failures, one line each\n"
"  portwatch --all               # every connect() outcome\n"
"  portwatch -j > events.ndjson  # NDJSON\n"
"  portwatch -i 5 -q             # per-process table every 5 s\n"
"  portwatch -p 4242 -P 80,443   # one process, two destination ports\n"
"  portwatch --top               # full-screen live view\n"
"\n"
"EXIT STATUS:\n"
"  0  normal stop: a signal, --duration, stdout's reader gone, a census done\n"
"  1  cannot run (privileges, BTF, attach, port in use, memlock), or failed\n"
"  2  usage error: an option, its value, or a PORTWATCH_* variable";

enum { OPT_MAX_PIDS = 256, OPT_CENSUS, OPT_NETNS, OPT_WARN_AT, OPT_NO_FOLD, OPT_WEB_CONFIG,
       OPT_CGROUP, OPT_PODS_DIR, OPT_USAGE, OPT_OPS, OPT_TOP };

static const struct argp_option options[] = {
	{ "all", 'a', NULL, 0, "Show every connect() outcome, not only failures", 0 },
	{ "pid", 'p', "PID", 0, "Only this process (tgid)", 0 },
	{ "comm", 'c', "NAME", 0,
	  "Only this process name (its main thread's comm, up to 15 bytes)", 0 },
	{ "cgroup", OPT_CGROUP, "PATH", 0,
	  "Only processes in this cgroup v2 and below (a path in the cgroup2 mount, or relative "
	  "to it); filtered in the kernel", 0 },
	{ "pods-dir", OPT_PODS_DIR, "DIR", 0,
	  "The kubelet's pod log folders, for pod and container names (default /var/log/pods)", 0 },
	{ "dport", 'P', "PORT[,PORT...]", 0, "Only these destination ports (up to 8)", 0 },
	{ "mode", 'm', "MODE", 0, "auto (default), fentry, kprobe or tracepoint", 0 },
	{ "json", 'j', NULL, 0, "NDJSON on stdout, one object per line", 0 },
	{ "interval", 'i', "SEC", 0, "Print the per-process table every SEC seconds", 0 },
	{ "duration", 'd', "SEC", 0, "Stop after SEC seconds", 0 },
	{ "quiet", 'q', NULL, 0, "No per-event lines", 0 },
	{ "no-fold", OPT_NO_FOLD, NULL, 0,
	  "Text: print every line (by default a line repeated more than 3 times within a second "
	  "is folded into one \"... N more\" line per second)", 0 },
	{ "scan-depth", 'S', NULL, 0, "Count the ports checked in each scan (costs per port)", 0 },
	{ "ops", OPT_OPS, "OP[,OP...]", 0,
	  "Also trace these operations failing for want of a local port: bind (bind(addr, 0)), "
	  "udp (UDP autobind); connect is always traced. Syscall tracepoints: they slow every "
	  "syscall down a little", 0 },
	{ "listen", 'l', "ADDR:PORT", 0, "Serve Prometheus metrics at http://ADDR:PORT/metrics", 0 },
	{ "web.config.file", OPT_WEB_CONFIG, "FILE", 0,
	  "TLS and basic auth for --listen (Prometheus exporter-toolkit format)", 0 },
	{ "max-pids", OPT_MAX_PIDS, "N", 0,
	  "Cap on per-process metric series (default 1024; overflow is counted)", 0 },
	{ "census", OPT_CENSUS, NULL, 0,
	  "Print who holds the local ports towards each destination, and remedies, then exit", 0 },
	{ "netns", OPT_NETNS, "PATH|PID", 0,
	  "Census of this network namespace only (default: every one)", 0 },
	{ "warn-at", OPT_WARN_AT, "PCT", 0,
	  "Warn when a destination uses this share of its port range (default 80)", 0 },
	{ "top", OPT_TOP, NULL, 0,
	  "Full-screen live view (a terminal): failures per destination, workload or process, "
	  "refreshed every -i SEC (default 1)", 0 },
	{ "verbose", 'v', NULL, 0, "libbpf debug output on stderr", 0 },
	/* argp's own help options (ARGP_NO_HELP) would show "-?, --help": the
	 * help is -h, as the man page and README say; -? still works. */
	{ "help", 'h', NULL, 0, "Give this help list", -1 },
	{ NULL, '?', NULL, OPTION_HIDDEN, NULL, -1 },
	{ "usage", OPT_USAGE, NULL, 0, "Give a short usage message", -1 },
	{ "version", 'V', NULL, 0, "Print program version", -1 },
	{},
};

int pw_parse_ops(const char *s, unsigned int *ops)
{
	unsigned int v = 0;

	while (*s) {
		size_t n = strcspn(s, ",");

		if (n == 7 && !strncmp(s, "connect", n))
			v |= 1u << PW_OP_CONNECT;
		else if (n == 4 && !strncmp(s, "bind", n))
			v |= PW_OPS_BIND;
		else if (n == 3 && !strncmp(s, "udp", n))
			v |= PW_OPS_UDP;
		else
			return -EINVAL;
		s += n;
		if (*s && !*++s)
			return -EINVAL;	/* a trailing comma */
	}
	if (!v)
		return -EINVAL;
	*ops = v;
	return 0;
}

int pw_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (!s || *s < '0' || *s > '9')	/* strtoul would take signs and spaces */
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int pw_parse_dports(const char *s, uint16_t *ports, unsigned int *n)
{
	char buf[256], *save = NULL, *tok;
	unsigned long v;
	unsigned int cnt = 0;
	int err;

	if (!s || !*s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, s);
	/* strtok_r would skip empty items: reject ",," and trailing commas */
	if (buf[0] == ',' || buf[strlen(buf) - 1] == ',' || strstr(buf, ",,"))
		return -EINVAL;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		err = pw_parse_uint(tok, 1, 65535, &v);
		if (err)
			return err;
		if (cnt == PW_MAX_DPORTS)
			return -E2BIG;
		ports[cnt++] = v;
	}
	*n = cnt;
	return 0;
}

int pw_parse_mode(const char *s, enum pw_mode_req *mode)
{
	static const struct { const char *name; enum pw_mode_req mode; } modes[] = {
		{ "auto", PW_REQ_AUTO }, { "fentry", PW_REQ_FENTRY },
		{ "kprobe", PW_REQ_KPROBE }, { "tracepoint", PW_REQ_TRACEPOINT },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (s && !strcmp(s, modes[i].name)) {
			*mode = modes[i].mode;
			return 0;
		}
	}
	return -EINVAL;
}

int pw_parse_listen(const char *s, char *host, size_t hostsz, uint16_t *port)
{
	const char *colon, *h = s;
	size_t hlen;
	unsigned long v;
	unsigned char tmp[16];
	int err;

	if (!s || !*s)
		return -EINVAL;
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':' || close == s + 1)
			return -EINVAL;
		h = s + 1;
		hlen = close - h;
		colon = close + 1;
		if (!memchr(h, ':', hlen))
			return -EINVAL;	/* brackets are for IPv6 only */
	} else {
		colon = strrchr(s, ':');
		if (!colon || memchr(s, ':', colon - s))
			return -EINVAL;	/* bare IPv6 needs brackets */
		hlen = colon - s;
	}
	if (hlen >= hostsz)
		return -EINVAL;
	err = pw_parse_uint(colon + 1, 1, 65535, &v);
	if (err)
		return -EINVAL;
	char buf[INET6_ADDRSTRLEN + 1];

	if (hlen >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, h, hlen);
	buf[hlen] = '\0';
	if (hlen && inet_pton(AF_INET, buf, tmp) != 1 && inet_pton(AF_INET6, buf, tmp) != 1)
		return -EINVAL;
	strcpy(host, buf);
	*port = v;
	return 0;
}

/* argp_error() exits unless ARGP_NO_EXIT; then the error must be returned. */
#define usage(state, ...) (argp_error(state, __VA_ARGS__), EINVAL)

static error_t parse_opt(int key, char *arg, struct argp_state *state)
{
	struct env *env = state->input;
	unsigned long v;
	int err;

	switch (key) {
	case 'a':
		env->all = true;
		break;
	case 'p':
		if (pw_parse_uint(arg, 1, 4194304, &v))
			return usage(state, "invalid --pid '%s': a process id from 1 to 4194304", arg);
		env->pid = v;
		break;
	case 'c':
		if (!*arg || strlen(arg) >= PW_COMM_LEN) {
			return usage(state, "invalid --comm '%s': 1 to %d bytes (the kernel's comm)",
				     arg, PW_COMM_LEN - 1);
		}
		memset(env->comm, 0, sizeof(env->comm));
		strcpy(env->comm, arg);
		env->comm_set = true;
		break;
	case 'P':
		err = pw_parse_dports(arg, env->dports, &env->ndports);
		if (err == -E2BIG)
			return usage(state, "invalid --dport '%s': at most %d ports", arg, PW_MAX_DPORTS);
		if (err)
			return usage(state, "invalid --dport '%s': ports 1-65535, comma-separated", arg);
		break;
	case 'm':
		if (pw_parse_mode(arg, &env->mode))
			return usage(state, "invalid --mode '%s': auto, fentry, kprobe or tracepoint", arg);
		break;
	case 'j':
		env->json = true;
		break;
	case 'i':
		if (pw_parse_uint(arg, 1, 86400, &v))
			return usage(state, "invalid --interval '%s': seconds from 1 to 86400", arg);
		env->interval_s = v;
		break;
	case 'd':
		if (pw_parse_uint(arg, 1, 31536000, &v))
			return usage(state, "invalid --duration '%s': seconds from 1 to 31536000", arg);
		env->duration_s = v;
		break;
	case 'q':
		env->quiet = true;
		break;
	case 'S':
		env->scan_depth = true;
		break;
	case OPT_OPS:
		if (pw_parse_ops(arg, &env->ops))
			return usage(state, "invalid --ops '%s': connect, bind, udp, comma-separated",
				     arg);
		break;
	case 'l':
		if (pw_parse_listen(arg, env->listen_host, sizeof(env->listen_host),
				    &env->listen_port))
			return usage(state, "invalid --listen '%s': ADDR:PORT, [IPV6]:PORT or :PORT", arg);
		env->listen_set = true;
		break;
	case OPT_WEB_CONFIG:
		if (!*arg)
			return usage(state, "invalid --web.config.file '': a file name");
		env->web_config = arg;
		break;
	case OPT_MAX_PIDS:
		if (pw_parse_uint(arg, 1, 1000000, &v))
			return usage(state, "invalid --max-pids '%s': from 1 to 1000000", arg);
		env->max_pids = v;
		break;
	case OPT_NO_FOLD:
		env->no_fold = true;
		break;
	case OPT_CENSUS:
		env->census = true;
		break;
	case OPT_NETNS:
		if (!*arg)
			return usage(state, "invalid --netns '': a path like /run/netns/NAME or a pid");
		env->netns = arg;
		break;
	case OPT_CGROUP:
		if (!*arg)
			return usage(state, "invalid --cgroup '': a cgroup v2 path");
		env->cgroup = arg;
		break;
	case OPT_PODS_DIR:
		if (!*arg)
			return usage(state, "invalid --pods-dir '': a folder");
		env->pods_dir = arg;
		break;
	case OPT_WARN_AT:
		if (pw_parse_uint(arg, 1, 100, &v))
			return usage(state, "invalid --warn-at '%s': a percentage from 1 to 100", arg);
		env->warn_at = v;
		break;
	case OPT_TOP:
		env->top = true;
		break;
	case 'v':
		env->verbose = true;
		break;
	case 'h':
	case '?':
		argp_state_help(state, stdout, ARGP_HELP_STD_HELP);
		break;
	case OPT_USAGE:
		argp_state_help(state, stdout, ARGP_HELP_USAGE | ARGP_HELP_EXIT_OK);
		break;
	case 'V':
		printf("%s\n", argp_program_version);
		if (!(state->flags & ARGP_NO_EXIT))
			exit(0);
		break;
	case ARGP_KEY_ARG:
		return usage(state, "unexpected argument '%s'", arg);
	case ARGP_KEY_END:
		/* tracing covers every netns; only the census takes one */
		if (env->netns && !env->census)
			return usage(state, "--netns needs --census (tracing covers every network namespace)");
		if (env->web_config && !env->listen_set)
			return usage(state, "--web.config.file configures --listen: give both");
		if ((env->ops & ~(1u << PW_OP_CONNECT)) && env->ndports)
			return usage(state, "--ops bind/udp cannot be filtered by --dport "
				     "(a bind has no destination)");
		if (env->top && (env->json || env->census || env->listen_set))
			return usage(state, "--top is a terminal view: not with --json, --census or "
				     "--listen");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

int pw_parse_args(int argc, char **argv, struct env *env, unsigned int flags)
{
	static const struct argp argp = {
		.options = options,
		.parser = parse_opt,
		.doc = doc,
	};

	argp_err_exit_status = PW_EXIT_USAGE;
	if (!env->max_pids)
		env->max_pids = PW_DEFAULT_MAX_PIDS;
	if (!env->warn_at)
		env->warn_at = PW_DEFAULT_WARN_AT;
	return argp_parse(&argp, argc, argv, flags | ARGP_NO_HELP, NULL, env);
}
