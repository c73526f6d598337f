/* SPDX-License-Identifier: GPL-2.0 */
/* Sockets per workload and destination (portwatch_workload_sockets): the
 * periodic census's held sockets (local port in the ephemeral range, not a
 * listener's or a bound-only socket's), each attributed once to the first
 * process found holding it (socket inode -> /proc/PID/fd -> the process's
 * cgroup -> its workload), counted by destination and state (ESTABLISHED,
 * SYN_SENT, TIME_WAIT), and bounded: the top PW_SOCK_TOP_DESTS destinations
 * of each workload with a row of their own and the rest in an exact
 * "(other)" row, at most PW_SOCK_MAX_ROWS rows (3 series each) in all, the
 * workloads with the fewest sockets past that folded into one "(other)"
 * workload. A socket no process holds (TIME_WAIT always; a socket whose
 * process exited between the dump and the /proc walk or could not be read)
 * is the workload's every process of its netns is of (for a pod: the pod,
 * container ""), and where they are of several, or of none, the
 * "(no process)" workload's. One thread's (the worker's): no locks. */
#ifndef PW_SOCKGAUGE_H
#define PW_SOCKGAUGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "census.h"
#include "dest.h"

#define PW_SOCK_TOP_DESTS	10	/* destinations with a row, per workload */
#define PW_SOCK_MAX_ROWS	1000	/* rows (of 3 series) in all */
#define PW_SOCK_STATES		3	/* ESTABLISHED, SYN_SENT, TIME_WAIT */
#define PW_SOCK_MAX_NETNS	256	/* as the periodic census */

/* The labels of the workloads no process or no workload stands for. */
#define PW_SOCK_NOPROC_LABELS	"namespace=\"\",pod=\"(no process)\",container=\"\",unit=\"\""
#define PW_SOCK_OTHER_LABELS	"namespace=\"\",pod=\"(other)\",container=\"\",unit=\"\""
#define PW_SOCK_NONE_LABELS	"namespace=\"\",pod=\"\",container=\"\",unit=\"\""

/* One row: a workload's sockets towards a destination (other: the rest of
 * its destinations, daddr="(other)"), by state. */
struct pw_sock_row {
	const char *labels;	/* namespace="..",pod="..",container="..",unit=".." */
	bool other;
	struct pw_dest dest;
	uint32_t n[PW_SOCK_STATES];
};

/* A (workload, destination) count, the input of pw_sock_rank: dest_id
 * indexes dests, and 0 is "(other)" (the census's folded destinations). */
struct pw_sock_agg {
	uint32_t wl, dest_id;
	uint32_t n[PW_SOCK_STATES];
};

/* The bounded rows of the counts agg (any order; sorted here) of the
 * workloads labels[] towards dests[]: at most top destinations of each
 * workload, at most max_rows rows, remainders exact. rows has room for
 * max_rows. Returns how many rows; *folded the workloads folded into
 * "(other)". Pure. */
size_t pw_sock_rank(struct pw_sock_agg *agg, size_t n, const char *const *labels,
		    const struct pw_dest *dests, size_t top, size_t max_rows,
		    struct pw_sock_row *rows, size_t *folded);

/* Index of a state counted in the gauge (0..2), or -1. */
int pw_sock_state_index(unsigned int tcp_state);
const char *pw_sock_state_name(unsigned int index);

struct pw_sockgauge;

/* pods_dir NULL: /var/log/pods. NULL without memory. */
struct pw_sockgauge *pw_sockgauge_new(const char *pods_dir);
void pw_sockgauge_free(struct pw_sockgauge *g);
/* A scan: begin, then each netns's census with pw_sockgauge_filter(g, f)
 * (each_held set), each followed by pw_sockgauge_netns_done(g, ok, netns)
 * (ok: the census of netns, its inode, succeeded; else what it gave is
 * void), then end (the /proc
 * walk, the ranking; the rows of the last scan are replaced). */
void pw_sockgauge_begin(struct pw_sockgauge *g);
void pw_sockgauge_filter(struct pw_sockgauge *g, struct pw_census_filter *f);
void pw_sockgauge_netns_done(struct pw_sockgauge *g, bool ok, uint64_t netns);
void pw_sockgauge_end(struct pw_sockgauge *g);
/* The rows of the last scan that ended; false before any. */
bool pw_sockgauge_rows(const struct pw_sockgauge *g, const struct pw_sock_row **rows, size_t *n,
		       size_t *folded);

#endif /* PW_SOCKGAUGE_H */
