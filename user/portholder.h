/* SPDX-License-Identifier: GPL-2.0 */
/* Who holds a fixed port whose bind() was refused (issue 23 item 2,
 * PW_OP_BIND_PORT events). The consumer asks, rate-limited per (netns,
 * protocol, port); the worker looks in that netns with sock_diag for the
 * sockets on the port, tells a listener from an outbound connection that
 * drew the port from ip_local_port_range, finds the holder's process
 * (/proc/PID/fd) and workload, and writes a diagnosis that follows the
 * event: a {"type":"port_holder"} object or a "  -> " line, with the
 * ip_local_reserved_ports value to set when the range is to blame. */
#ifndef PW_PORTHOLDER_H
#define PW_PORTHOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include <linux/inet_diag.h>
#include "portwatch.h"
#include "pressure.h"

#define PW_HOLDER_EVERY_NS	(5ull * 1000000000)	/* per (netns, protocol, port) */
#define PW_HOLDER_LIMIT_SLOTS	4096	/* ports remembered by the rate limit */
#define PW_HOLDER_PER_SEC	32	/* lookups a second (burst of as many) */
#define PW_SCOPE_PER_SEC	4	/* of which bind(addr, 0) ones (whole-netns dumps) */
#define PW_HOLDER_SOCKETS	8	/* sockets on the port kept per lookup */
#define PW_HOLDER_BATCH_NS	500000000	/* the worker looks up at most this often */
#define PW_HOLDER_BATCH		(2 * PW_HOLDER_PER_SEC)	/* requests kept for a batch */

/* ---- consumer side ---- */
struct pw_holder_asks;
struct pw_mailbox;
struct pw_holder_asks *pw_holder_asks_new(void);
void pw_holder_asks_free(struct pw_holder_asks *a);
/* A PW_OP_BIND_PORT event: ask the worker for its port's holder, at most
 * once per PW_HOLDER_EVERY_NS per (netns, protocol, port); what is not
 * asked is counted. */
void pw_holder_ask(struct pw_holder_asks *a, struct pw_mailbox *mb, const struct pw_event *e);
struct pw_holder_skips {
	uint64_t limited;	/* the same port within PW_HOLDER_EVERY_NS */
	uint64_t no_room;	/* no room in the rate limit table */
	uint64_t over_budget;	/* over PW_HOLDER_PER_SEC (asks), or PW_HOLDER_BATCH (worker) */
};
void pw_holder_asks_skips(const struct pw_holder_asks *a, struct pw_holder_skips *s);
/* At the end (after the join): one stderr line if any lookup was skipped. */
void pw_holder_skips_say(const struct pw_holder_asks *a);

/* ---- worker side ---- */
struct pw_workloads;
struct pw_workload;

/* One socket on the port, as sock_diag showed it. */
struct pw_port_sock {
	uint8_t family, state;
	uint16_t sport, dport;
	uint8_t saddr[16], daddr[16];
	uint32_t inode;		/* 0: no process (TIME_WAIT, orphans) */
};

enum pw_holder_verdict {
	PW_HOLDER_NONE = 0,	/* nothing holds the port now */
	PW_HOLDER_EPHEMERAL,	/* a non-listening socket, port in the range, not reserved */
	PW_HOLDER_LISTENER,	/* a listener (TCP LISTEN) */
	PW_HOLDER_BOUND,	/* another socket, port outside the range or reserved */
	PW_HOLDER_UNKNOWN,	/* the netns or its sockets could not be read */
};
const char *pw_holder_verdict_name(int v);

/* The sockets a dump found on the port, judged. Pure: no I/O. socks: the
 * first n kept (at most PW_HOLDER_SOCKETS); reserved: the netns's
 * ip_local_reserved_ports bitmap (NULL: none), whose ports are never
 * ephemeral; *pick: the index of the one to name (-1: none). */
int pw_holder_judge(const struct pw_port_sock *socks, size_t n, uint8_t proto, int lo, int hi,
		    const uint8_t *reserved, int *pick);
/* "a-b,c" of the reserved ports bitmap with port added, into buf; false
 * when it does not fit. Pure. */
bool pw_reserved_value(const uint8_t *bits, unsigned int port, char *buf, size_t sz);

/* Could a socket on (sf, sa) conflict with a bind to (rf, ra)? Either is
 * the wildcard, or the same address (v4-mapped IPv6 as IPv4). */
bool pw_addr_conflicts(unsigned int rf, const uint8_t *ra, unsigned int sf, const uint8_t *sa);
/* The same for a socket that may be IPV6_V6ONLY (s_v6only: an inet6
 * socket with the option set, which holds the port for IPv6 alone): it
 * conflicts with no bind to an IPv4 or v4-mapped address. */
bool pw_addr_conflicts_v6only(unsigned int rf, const uint8_t *ra, unsigned int sf,
			      const uint8_t *sa, bool s_v6only);
bool pw_addr_any(unsigned int fam, const uint8_t *a);
struct pw_ns_settings;
/* Into r's netns: its settings into *set and a sock_diag socket of it
 * (returned, >= 0), then back; -errno with the reason in err. */
int pw_holder_enter(const struct pw_diag_req *r, struct pw_ns_settings *set, char *err,
		    size_t errsz);
/* Dump the sockets of proto (both families, every state) on local port
 * sport (0: all) to fn; 0 or -errno with the reason in err. */
int pw_holder_dump(int sk, uint8_t proto, uint16_t sport,
		   int (*fn)(void *arg, const struct inet_diag_msg *m), void *arg,
		   char *err, size_t errsz);

/* ---- bind(addr, 0) (PW_OP_BIND): bindscope.c ---- */
enum pw_scope_verdict {
	PW_SCOPE_UNKNOWN = 0,	/* not looked up */
	PW_SCOPE_RANGE,		/* no port of the range free for any address */
	PW_SCOPE_ADDRESS,	/* every port taken for this address; others have some */
	PW_SCOPE_RELEASED,	/* ports free again by the lookup */
};
const char *pw_scope_verdict_name(int v);
/* Pure: the verdict from the usable ports of the range (range_size), those
 * a socket takes for the address asked for (taken), and those a wildcard
 * socket takes for every address (taken_all); wildcard: the bind asked
 * for the wildcard address. */
int pw_bind_scope_judge(bool wildcard, uint32_t range_size, uint32_t taken, uint32_t taken_all);
/* One PW_OP_BIND request: look in its netns and write the diagnosis. */
void pw_bind_scope_diagnose(const struct pw_diag_req *r, struct pw_ns_settings *set, FILE *out,
			    bool json, int64_t mono_to_real);

/* Take the PW_OP_BIND_PORT and PW_OP_BIND requests out of reqs (the others keep their
 * order, in front; returns how many are left) into the next batch (over
 * PW_HOLDER_BATCH: counted over budget). At most every PW_HOLDER_BATCH_NS,
 * or now with flush, the batch: its holders looked up (one netns listing,
 * one /proc fd walk) and one diagnosis each written to out. wl: the
 * worker's resolver, or NULL. */
size_t pw_holder_diagnose(struct pw_diag_req *reqs, size_t n, FILE *out, bool json,
			  int64_t mono_to_real, struct pw_workloads *wl, bool flush);
/* When the waiting batch is due (CLOCK_MONOTONIC ns), 0: none waits. */
int64_t pw_holder_due_ns(void);
/* pw_census_list_netns calls of the lookups so far. */
uint64_t pw_holder_netns_listings(void);
/* One diagnosis of r naming holder pid (comm) of socket s, verdict v,
 * workload w, as the worker writes it (range 40000-40009): the tests' way
 * in to the formatting. */
/* The fields every bind diagnosis object opens with: type, time, pid, tid,
 * comm, netns, family, proto, and saddr's value unclosed. */
struct sbuf;
void pw_bind_diag_head(struct sbuf *sb, const char *type, const struct pw_diag_req *r,
		       int64_t mono_to_real);
void pw_holder_write(FILE *out, bool json, const struct pw_diag_req *r, int verdict,
		     const struct pw_port_sock *s, uint32_t pid, const char *comm,
		     const struct pw_workload *w, uint64_t cg);
/* The cgroup2 path of a /proc/PID/cgroup file into out: its one "0::/"
 * line; false when there is none, it does not fit, or there is a second
 * "0::" line (a cgroup name's newline could forge it: as sockgauge). */
bool pw_holder_cgroup_path(const char *file, char *out, size_t sz);
/* Diagnoses written without their workload: longer than 64 KiB with it. */
uint64_t pw_holder_too_long(void);
/* Lookups skipped over PW_HOLDER_PER_SEC so far (the worker's, read after
 * the join). */
uint64_t pw_holder_over_budget(void);

#endif /* PW_PORTHOLDER_H */
