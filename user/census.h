/* SPDX-License-Identifier: GPL-2.0 */
/* Port-pressure census: who holds the local ports towards each destination
 * of a network namespace, read with NETLINK_SOCK_DIAG inet_diag dumps (as
 * ss does), and what the range really offers. Also the remedy rules. */
#ifndef PW_CENSUS_H
#define PW_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>	/* portwatch.h needs __u8... */
#include "portwatch.h"

#define PW_TCP_STATES	14	/* index = kernel TCP state (1..13), 0 unused */
#define PW_MAX_HOLDERS	8

struct pw_holder {
	uint32_t pid;
	char comm[PW_COMM_LEN];
	uint32_t sockets;	/* live sockets towards the destination */
};

struct pw_census_dest {
	uint16_t family;	/* AF_INET / AF_INET6 */
	uint8_t daddr[16];
	uint16_t dport;
	uint32_t states[PW_TCP_STATES];	/* sockets by state (TIME_WAIT by substate 6) */
	uint32_t held;		/* local ports in the ephemeral range held towards it */
	uint32_t reusable_time_wait;	/* TIME_WAIT ones tcp_tw_reuse could reuse now */
	double usage;		/* held / range_size of the netns */
	unsigned int nholders;		/* at most PW_MAX_HOLDERS */
	/* most sockets first; outside the entry (in its census's
	 * holder_store), NULL without holders: a copy of the entry that
	 * outlives its census must not keep it */
	struct pw_holder *holders;
};

struct pw_census_ns {
	uint64_t netns;		/* inode */
	int range_lo, range_hi;	/* ip_local_port_range */
	int tw_reuse;		/* net.ipv4.tcp_tw_reuse */
	uint32_t reserved;	/* ip_local_reserved_ports inside the range */
	uint32_t bind_owned;	/* ports in the range owned by bind() or listeners */
	uint32_t range_size;	/* range - reserved - bind_owned */
	uint32_t sockets;	/* TCP sockets seen (all states) */
	size_t ndests;
	struct pw_census_dest *dests;	/* sorted by usage, highest first */
	/* Past PW_CENSUS_MAX_DESTS destinations, only those with the most
	 * sockets have a row; the sockets of all the others are counted here
	 * (family 0, no address, no holders): the rows plus this are exact. */
	struct pw_census_dest other;
	bool other_dests_folded;	/* the cap was met: "other" may hold some */
	struct pw_holder *holder_store;	/* the rows' holders */
};

/* Destinations with a row of their own, per netns (census memory bound). */
#define PW_CENSUS_MAX_DESTS	1024

struct pw_census_filter {
	bool one_dest;		/* only this destination */
	uint16_t family;
	uint8_t daddr[16];
	uint16_t dport;
	bool holders;		/* resolve holders via /proc/PID/fd (costly) */
};

/* Census of one netns: `nsfd` an open /proc/PID/ns/net or /run/netns/NAME
 * fd, or -1 for portwatch's own. Enters the netns with setns() and returns to
 * portwatch's own before it returns. 0 or -errno with a reason in err.
 * With f->one_dest, out has exactly one entry, that destination (all zeros
 * when nothing holds a port towards it), so a diagnosis line always exists;
 * out->sockets then counts listeners and sockets towards that dport only. */
int pw_census_take(int nsfd, const struct pw_census_filter *f, struct pw_census_ns *out,
		   char *err, size_t errsz);
void pw_census_free(struct pw_census_ns *ns);

/* What happens when a thread cannot setns() back into its own netns after
 * a census: census.c prints one line, then calls fn, which must not return
 * (it ends the thread and has the process stop with exit status 1); with no
 * fn, or if it returns, the process ends at once with _exit(1). */
void pw_census_on_stuck(void (*fn)(void));

/* Only the netns's inode, ip_local_port_range and tcp_tw_reuse (no dump):
 * out->netns, range_lo, range_hi, tw_reuse. nsfd as for pw_census_take. */
int pw_census_settings(int nsfd, struct pw_census_ns *out, char *err, size_t errsz);

/* What the census could not read so far (for the life of the process):
 * netns found but not entered (setns refused: CAP_SYS_ADMIN), processes
 * whose /proc/PID/ns/net could not be opened (CAP_SYS_PTRACE) so their netns
 * may be missing, processes whose /proc/PID/fd could not be read (holders). */
struct pw_census_skips {
	uint64_t netns;
	uint64_t processes;
	uint64_t holders;
};
void pw_census_skips(struct pw_census_skips *out);
/* Namespaces a caller left out (over its bound): counted as skipped too. */
void pw_census_count_skipped_netns(uint64_t n);

/* The pure part of pw_census_take, for tests and fuzzing: the census of
 * recorded NETLINK_SOCK_DIAG replies (4-byte aligned; each dump ending in
 * NLMSG_DONE) in a netns with that range and tcp_tw_reuse (timestamps on,
 * no reserved ports, no holders). owners: the dumps of listeners and bound
 * sockets; others: those of every other state. 0 or -errno. */
struct pw_census_replay_in {
	const struct pw_census_filter *filter;	/* or NULL */
	int lo, hi, tw_reuse;
	const void *owners;
	size_t owners_len;
	const void *others;
	size_t others_len;
};
int pw_census_replay(const struct pw_census_replay_in *in, struct pw_census_ns *out);

/* Every netns that has a process in it (/proc/PID/ns/net, /run/netns/NAME),
 * one fd each (O_RDONLY|O_CLOEXEC), deduplicated by inode. Returns how many,
 * or -errno; *fds is malloc()ed, the caller closes and frees. */
int pw_census_list_netns(int **fds, uint64_t **inodes);

/* Resolve --netns=PATH|PID to an open fd; -errno if it is not a netns, with
 * the reason in err (no "--netns=" prefix: the caller adds its own). */
int pw_census_open_netns(const char *spec, char *err, size_t errsz);

/* Output: one text table per netns, or one NDJSON object per destination
 * ({"type":"census",...} as in the README). */
void pw_census_print_text(FILE *f, const struct pw_census_ns *ns);
void pw_census_print_json(FILE *f, const struct pw_census_ns *ns);
/* The one-line diagnosis under a failure event:
 * "127.0.0.1:8080 (netns 4026532260): 10/10 ports held, 10 TIME_WAIT, tw_reuse=0" */
void pw_census_diag_line(char *buf, size_t sz, const struct pw_census_ns *ns,
			 const struct pw_census_dest *d);
/* The same as a JSON object (no braces' trailing newline), for the event's
 * "pressure" field. */
void pw_census_diag_json(FILE *f, const struct pw_census_ns *ns, const struct pw_census_dest *d);

/* The HTTP client a failing process runs, found from what it runs (its
 * mapped libraries, its executable's ELF contents: procs.c), never from
 * its name. */
enum pw_client {
	PW_CLIENT_NONE = 0,	/* no failing process considered (--census) */
	PW_CLIENT_GONE,		/* it exited before portwatch could look */
	PW_CLIENT_UNKNOWN,	/* it lived; none of the clients below found */
	PW_CLIENT_LIBCURL,	/* libcurl mapped */
	PW_CLIENT_GO,		/* a Go binary (its build info) */
	PW_CLIENT_JVM,		/* libjvm.so mapped */
	PW_CLIENT_PYTHON,	/* CPython: libpython mapped, or its symbols in the executable */
	PW_CLIENT_NODE,		/* Node.js: libnode mapped, or node's symbols in the executable */
};
/* "libcurl", "go", "jvm", "python", "node"; NULL for the others. */
const char *pw_client_name(enum pw_client c);

/* Remedy rules, keyed by the running kernel and the netns's settings. */
struct pw_remedy_input {
	int kernel_major, kernel_minor, kernel_patch;
	int tw_reuse;
	uint32_t range_size;		/* effective */
	uint32_t range_full;		/* hi - lo + 1 */
	bool dest_loopback;		/* the pressured destination is loopback */
	uint32_t time_wait;		/* TIME_WAIT sockets towards it */
	uint32_t bound_conflicts;	/* bound_port_conflict failures seen */
	uint32_t bind_owned;		/* bind()-owned ports in the range */
	bool sysctl_mentions_recycle;	/* /etc/sysctl.conf or /etc/sysctl.d name tcp_tw_recycle */
	enum pw_client client;		/* of the failing process diagnosed */
	uint32_t client_pid;		/* that process */
};

#define PW_MAX_REMEDIES 10

struct pw_remedy {
	const char *id;		/* stable key, e.g. "reuse_connections" */
	char text[768];		/* what to do and why it applies here */
};

/* Fills out[] with the rules that apply; returns how many. Never recommends
 * tcp_tw_recycle. Meant for a destination under pressure (failures seen or
 * usage over --warn-at): reuse_connections and more_destinations always
 * apply. Order: reuse_connections, tw_reuse_1 | tw_reuse_2,
 * wider_port_range, bind_address_no_port, ip_local_port_range_sockopt,
 * tw_recycle_removed, more_destinations. */
int pw_remedies(const struct pw_remedy_input *in, struct pw_remedy *out, int max);
/* The running kernel's version from uname(2); false if unparsable. */
bool pw_kernel_version(int *major, int *minor, int *patch);
/* Does /etc/sysctl.conf or a file in /etc/sysctl.d mention tcp_tw_recycle
 * (not commented out)? root is the filesystem root, "" for /. */
bool pw_sysctl_mentions_recycle(const char *root);

/* Additions (census.c / remedies.c) */
struct sbuf;
/* pw_census_diag_json into a string builder, for the event's JSON. */
bool pw_census_diag_sb(struct sbuf *sb, const struct pw_census_ns *ns,
		       const struct pw_census_dest *d);
/* "TIME_WAIT", "BOUND_INACTIVE", ... for a kernel TCP state; NULL if unknown. */
const char *pw_tcp_state_name(unsigned int state);
/* 127.0.0.0/8, ::1, ::ffff:127.x.y.z */
bool pw_addr_is_loopback(unsigned int family, const uint8_t addr[16]);
/* Parse an ip_local_reserved_ports value ("8080,9000-9010", "" or "\n") into
 * a 65536-bit map (bits[port / 8] & 1 << port % 8). Distinct ports, or -EINVAL. */
int pw_census_parse_ports(const char *s, uint8_t bits[65536 / 8]);
/* The inode of a /proc/PID/fd link "socket:[12345]"; -EINVAL if it is not
 * one, -ERANGE past 32 bits (socket inodes are 32-bit). */
int pw_census_socket_inode(const char *link, uint32_t *ino);
/* Fill the census-derived inputs of the remedy rules for destination d, plus
 * the running kernel and the sysctl.conf scan of "/"; the caller adds
 * bound_conflicts and the client. */
void pw_remedy_input_from_census(struct pw_remedy_input *in, const struct pw_census_ns *ns,
				 const struct pw_census_dest *d);
/* "6.18.44-fc-v657" -> 6 18 44. Debian's "6.1.0-27-cloud-amd64" hides the
 * real sublevel: when version (uname -v, may be NULL) has "Debian 6.1.115",
 * that one is taken. */
bool pw_parse_kernel_version(const char *release, const char *version,
			     int *major, int *minor, int *patch);

#endif /* PW_CENSUS_H */
