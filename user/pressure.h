/* SPDX-License-Identifier: GPL-2.0 */
/* Port pressure during a live run: a census of the destination behind a
 * failure (rate-limited), a bounded periodic census for early warnings and
 * the top-20 gauges, and the remedies at the end of a run that failed. */
#ifndef PW_PRESSURE_H
#define PW_PRESSURE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "census.h"
#include "dest.h"

#define PW_DIAG_EVERY_NS	(5ull * 1000000000)	/* per destination */
#define PW_TOP_DESTS		20

/* One (netns, destination): each netns's own figures, never another's. */
struct pw_pressure_top {
	uint64_t netns;
	struct pw_dest dest;
	uint32_t held;
	double usage;
};

/* UDP's own port space, per netns (census.h pw_census_udp): the most
 * used, for portwatch_udp_ephemeral_ports_in_use. */
#define PW_TOP_UDP_NETNS	20

struct pw_pressure_udp_top {
	uint64_t netns;
	uint32_t held;
	double usage;
};

struct pw_pressure;

struct pw_pressure *pw_pressure_new(unsigned int warn_at_pct);
void pw_pressure_free(struct pw_pressure *p);

/* A destination whose failure asks for a diagnosis, and the failure. */
#define PW_DIAG_PRESSURE	1	/* the diagnosis line or object */
#define PW_DIAG_ADVICE		2	/* live remedies, when due (advice.h) */
struct pw_diag_req {
	uint64_t netns;
	uint64_t ts_ns;		/* the failure's, CLOCK_MONOTONIC */
	uint64_t cgroup_id;	/* the failure's workload */
	uint32_t pid, tid;
	uint32_t bound_conflicts;	/* seen so far, for the remedies */
	unsigned int what;	/* PW_DIAG_* */
	struct pw_dest dest;
	char comm[PW_COMM_LEN];
	/* PW_OP_BIND_PORT: the holder of a refused fixed port (portholder.h;
	 * dest = the address and port asked for, proto the socket's) */
	uint8_t op;
	uint8_t proto;
};

/* The censuses behind a batch of requests (one dump per netns; the order of
 * reqs changes): a diagnosis line ("  -> ...") or a {"type":"pressure"}
 * object per PW_DIAG_PRESSURE request whose destination has sockets, and
 * for a PW_DIAG_ADVICE one the live remedies when due (advice.h), written
 * to out. */
void pw_pressure_diagnose(struct pw_pressure *p, struct pw_diag_req *reqs, size_t n,
			  FILE *out, bool json, int64_t mono_to_real);

/* Per-destination rate limit: at most once per `every` per (netns,
 * destination), for any number of destinations, in bounded memory and time.
 * 1: due (recorded), 0: not yet, -1: no room to remember it (not due). */
struct pw_dest_limit;
struct pw_dest_limit *pw_dest_limit_new(unsigned int slots);
void pw_dest_limit_free(struct pw_dest_limit *l);
int pw_dest_limit_due(struct pw_dest_limit *l, uint64_t netns, uint16_t family,
		      const uint8_t daddr[16], uint16_t dport, uint64_t now, uint64_t every);

/* The periodic census of every netns (at most a bounded number): a warning
 * line (text) or object (JSON) for each destination at or above warn_at, at
 * most once a minute each, and the top destinations for the gauges. */
void pw_pressure_scan(struct pw_pressure *p, uint64_t now_ns, FILE *out, bool json);
/* One netns's census into the scan under way (pw_pressure_scan calls it
 * for each; tests feed replayed ones): warnings, the tops, the UDP part's
 * "not counted" line on stderr (once). */
void pw_pressure_scan_ns(struct pw_pressure *p, const struct pw_census_ns *ns, uint64_t now_ns,
			 FILE *out, bool json);
/* Ranked by ports held, then usage, then netns and destination (a netns
 * with a 1-port range at usage 1.0 never outranks one holding more). */
/* Whether a periodic scan has listed the namespaces yet (before it, the
 * tops and their folded counts are unknown, not 0). */
bool pw_pressure_scanned(const struct pw_pressure *p);
size_t pw_pressure_top(const struct pw_pressure *p, const struct pw_pressure_top **top);
/* Of the last scan, the (netns, destination) pairs holding ports that are
 * not in the top (exact), and the netns holding UDP ports not in the UDP
 * top. */
uint64_t pw_pressure_top_folded(const struct pw_pressure *p);
uint64_t pw_pressure_udp_top_folded(const struct pw_pressure *p);
/* The network namespaces whose UDP sockets hold the most ports of their
 * range (then usage, then netns), at most PW_TOP_UDP_NETNS, only those
 * holding some (last scan; none unless pw_pressure_enable_sockets()). */
size_t pw_pressure_udp_top(const struct pw_pressure *p, const struct pw_pressure_udp_top **top);
/* The periodic census also counts sockets per workload and destination
 * (sockgauge.h) from now on; false without memory. */
bool pw_pressure_enable_sockets(struct pw_pressure *p, const char *pods_dir);
/* NULL unless enabled. */
struct pw_sockgauge;
const struct pw_sockgauge *pw_pressure_sockets(const struct pw_pressure *p);

/* At the end of a run with failures: the remedies of each distinct top
 * failer (pw_advice_summary). Prints nothing if none was diagnosed. */
void pw_pressure_remedies(struct pw_pressure *p, FILE *out, bool json);
/* The worker's workload resolver, for the advice's workload fields. */
struct pw_workloads;
void pw_pressure_set_workloads(struct pw_pressure *p, struct pw_workloads *wl);
/* Diagnoses not advised: the advice table had no room. */
uint64_t pw_pressure_advice_skipped(const struct pw_pressure *p);

/* Remedies for one census destination; client is an enum pw_client
 * (PW_CLIENT_NONE for the --census one-shot) of process client_pid. */
void pw_print_remedies(FILE *out, bool json, const struct pw_census_ns *ns,
		       const struct pw_census_dest *d, uint32_t bound_conflicts, int client,
		       uint32_t client_pid);

#endif /* PW_PRESSURE_H */
