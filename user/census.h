/* SPDX-License-Identifier: GPL-2.0 */
/* Port-pressure census: who holds the local ports towards each destination
 * of a network namespace, read with NETLINK_SOCK_DIAG inet_diag dumps (as
 * ss does), and what the range really offers. The census's types and how to
 * take one; its output is census_print.h, the netns it reads netns.h. */
#ifndef PW_CENSUS_H
#define PW_CENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>	/* portwatch.h needs __u8... */
#include "portwatch.h"
#include "dest.h"

#define PW_TCP_STATES	14	/* index = kernel TCP state (1..13), 0 unused */
#define PW_MAX_HOLDERS	8

/* The kernel's TCP states the census tells apart (include/net/tcp_states.h). */
#define PW_ST_ESTABLISHED	1
#define PW_ST_SYN_SENT		2
#define PW_ST_FIN_WAIT1		4
#define PW_ST_FIN_WAIT2		5
#define PW_ST_TIME_WAIT		6
#define PW_ST_CLOSE_WAIT	8
#define PW_ST_LISTEN		10
#define PW_ST_BOUND_INACTIVE	13

struct pw_holder {
	uint32_t pid;
	char comm[PW_COMM_LEN];
	uint32_t sockets;	/* live sockets towards the destination */
};

struct pw_census_dest {
	struct pw_dest dest;	/* family 0, no address: "other" */
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

/* UDP sockets holding ports of the range (f->udp): UDP's port space is
 * apart from TCP's, so none of this is in the TCP figures. */
struct pw_census_udp {
	bool taken;		/* asked for and the kernel has UDP sock_diag */
	/* asked for and not taken: -errno (-ENOENT: no udp_diag in the
	 * kernel) and why; the TCP part is whole all the same. 0 otherwise. */
	int err;
	char why[128];
	uint32_t reserved;	/* ip_local_reserved_ports inside the range */
	uint32_t range_size;	/* range - reserved: what UDP autobind draws from */
	uint32_t held;		/* distinct ports of it some UDP socket has */
	double usage;		/* held / range_size */
	uint32_t sockets;	/* UDP sockets seen (bound: in the dump) */
	uint32_t sockets_in_range;	/* of those, on a port counted in held */
	unsigned int nholders;	/* at most PW_MAX_HOLDERS, most sockets first */
	struct pw_holder holders[PW_MAX_HOLDERS];	/* their sockets in the range */
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
	struct pw_census_udp udp;	/* with f->udp */
};

/* Destinations with a row of their own, per netns (census memory bound). */
#define PW_CENSUS_MAX_DESTS	1024

struct pw_census_filter {
	bool one_dest;		/* only this destination (an IPv4 address is its first 4 bytes) */
	struct pw_dest dest;
	bool holders;		/* resolve holders via /proc/PID/fd (costly) */
	bool udp;		/* a UDP dump too: out->udp (not with one_dest) */
	/* Each socket held towards a destination, once, all from one dump
	 * (the census's last): row its row's destination, NULL when it is
	 * counted in "other"; inode 0 for none (TIME_WAIT). Nonzero stops the
	 * census with it. each_held_reset: what each_held got so far is void
	 * (a pass given up). Both NULL: not called. */
	int (*each_held)(void *arg, const struct pw_dest *row, unsigned int state,
			 uint32_t inode);
	void (*each_held_reset)(void *arg);
	void *each_arg;
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
	const void *udp;	/* the UDP dump, or NULL: out->udp not taken (a bad
				 * one: not taken, out->udp.err set, TCP's kept) */
	size_t udp_len;
};
int pw_census_replay(const struct pw_census_replay_in *in, struct pw_census_ns *out);

/* "TIME_WAIT", "BOUND_INACTIVE", ... for a kernel TCP state; NULL if unknown. */
const char *pw_tcp_state_name(unsigned int state);
/* 127.0.0.0/8, ::1, ::ffff:127.x.y.z */
bool pw_addr_is_loopback(unsigned int family, const uint8_t addr[16]);

#endif /* PW_CENSUS_H */
