/* SPDX-License-Identifier: GPL-2.0 */
/* Command line: the options of DESIGN.md, parsed with argp into struct env. */
#ifndef PW_CLI_H
#define PW_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "portwatch.h"

enum pw_mode_req {
	PW_REQ_AUTO = 0,
	PW_REQ_FENTRY = PW_MODE_FENTRY,
	PW_REQ_KPROBE = PW_MODE_KPROBE,
	PW_REQ_TRACEPOINT = PW_MODE_TRACEPOINT,
};

/* Exit codes (DESIGN.md): 0 normal stop, 1 cannot run, 2 usage error. */
enum {
	PW_EXIT_OK = 0,
	PW_EXIT_CANNOT_RUN = 1,
	PW_EXIT_USAGE = 2,
};

struct env {
	bool all;
	bool json;
	bool quiet;
	bool no_fold;			/* text: every line, no "... more" */
	bool scan_depth;
	bool verbose;
	uint32_t pid;			/* 0 = any */
	bool comm_set;
	char comm[PW_COMM_LEN];
	unsigned int ndports;
	uint16_t dports[PW_MAX_DPORTS];
	enum pw_mode_req mode;
	unsigned int interval_s;	/* 0 = no periodic table */
	unsigned int duration_s;	/* 0 = until a signal */
	bool listen_set;
	char listen_host[64];		/* as given, without brackets */
	uint16_t listen_port;
	const char *web_config;		/* --web.config.file, NULL = plain HTTP */
	unsigned int max_pids;		/* per-pid metric series cap */
	bool census;			/* one-shot port-pressure census */
	const char *netns;		/* --netns=PATH|PID, NULL = every netns */
	unsigned int warn_at;		/* early warning threshold, percent */
	const char *cgroup;		/* --cgroup=PATH, NULL = every cgroup */
	const char *pods_dir;		/* --pods-dir=DIR, NULL = /var/log/pods */
	unsigned int ops;		/* --ops: 1u << enum pw_op; connect always */
	bool top;			/* --top: the full-screen view (top.c) */
};

/* --ops names: bind covers PW_OP_BIND, udp both UDP autobind ops */
#define PW_OPS_BIND	(1u << PW_OP_BIND | 1u << PW_OP_BIND_PORT)
#define PW_OPS_UDP	(1u << PW_OP_UDP_CONNECT | 1u << PW_OP_UDP_SEND)
int pw_parse_ops(const char *s, unsigned int *ops);

#define PW_DEFAULT_WARN_AT 80

#define PW_DEFAULT_MAX_PIDS 1024

/* Parse argv into env. flags are argp_parse()'s: 0 in the program (argp
 * prints and exits 2 on errors), ARGP_SILENT in tests. Returns 0 or an
 * errno value. */
int pw_parse_args(int argc, char **argv, struct env *env, unsigned int flags);

/* Value parsers, each 0 or -EINVAL/-ERANGE/-E2BIG. */
int pw_parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *out);
int pw_parse_dports(const char *s, uint16_t *ports, unsigned int *n);
int pw_parse_mode(const char *s, enum pw_mode_req *mode);
/* "ADDR:PORT", "[V6ADDR]:PORT" or ":PORT" (every address). */
int pw_parse_listen(const char *s, char *host, size_t hostsz, uint16_t *port);

#endif /* PW_CLI_H */
