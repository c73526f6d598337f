/* SPDX-License-Identifier: GPL-2.0 */
/* The data of the --top view (top_model.c): rows of destinations, workloads
 * or processes with their failures (EADDRNOTAVAIL) per second and in all,
 * the census of their namespaces, the header's figures. No terminal here. */
#ifndef PW_TOP_MODEL_H
#define PW_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "census.h"
#include "dest.h"
#include "remedies.h"
#include "top.h"

enum pw_top_view { PW_VIEW_DESTS, PW_VIEW_WORKLOADS, PW_VIEW_PROCS, PW_VIEWS };
enum pw_top_sort { PW_TOP_BY_RATE, PW_TOP_BY_TOTAL, PW_TOP_BY_NAME, PW_TOP_SORTS };

/* Sockets by state towards a destination (census), summed for the others. */
enum { PW_TOP_ESTAB, PW_TOP_SYN, PW_TOP_TW, PW_TOP_OTHER, PW_TOP_NSTATES };

#define PW_TOP_MAX_ROWS		4096	/* per view; beyond: counted in `rows_over` */
#define PW_TOP_MAX_NETNS	16	/* namespaces censused per refresh */
/* The census walks /proc (namespaces, holders' fds): at most this often
 * while nothing on the screen asks for a new one. */
#define PW_TOP_CENSUS_NS	5000000000LL

struct pw_top_row {
	uint64_t id;			/* identity across refreshes (hash) */
	char name[80];			/* destination, workload or "pid comm" */
	char top[48];			/* its top workload, destination or workload */
	char remedy[32];		/* a remedy's short name, "" when none */
	uint64_t total;
	double rate;			/* failures/s over the last refresh */
	bool census;			/* states below are known */
	uint32_t states[PW_TOP_NSTATES];
	/* for the census panel */
	uint64_t netns;
	struct pw_dest dest;		/* family 0: none */
	uint64_t cgroup_id;		/* its (top) workload's */
	uint32_t pid;			/* its (top) process */
	uint64_t top_n;			/* scratch: the top's failures */
	uint64_t dest_n;		/* scratch (workloads): their top destination's */
};

#define PW_TOP_IX	(2 * PW_TOP_MAX_ROWS)	/* index slots, a power of 2 */

struct pw_top_rows {
	struct pw_top_row *v;
	size_t n, cap;
	uint32_t *ix;		/* open addressing by id: row + 1, 0 = empty */
};

struct pw_top_model {
	const struct pw_top_src *src;
	struct pw_top_rows rows[PW_VIEWS];
	struct pw_top_rows prev[PW_VIEWS];	/* the last refresh's, by id */
	int64_t last_ns;			/* when the rows were taken */
	/* the header */
	const char *mode;
	double uptime_s;
	uint64_t total, prev_total;
	double rate;
	uint64_t events_lost, not_counted, dests_full, rows_over;
	int range_lo, range_hi;			/* the node's (portwatch's netns) */
	uint32_t range_size, range_held;
	bool range_known;
	uint64_t scan_hist[64], scan_prev[64];	/* both results, summed */
	double scan_p50_ns, scan_p99_ns;	/* < 0: no scan in the interval */
	/* the census of the namespaces the rows name, by inode */
	struct pw_census_ns census[PW_TOP_MAX_NETNS];
	size_t ncensus;
	uint64_t census_skipped;		/* namespaces past the bound */
	/* the selected row's destination, censused with its holders */
	uint64_t want_netns;
	struct pw_dest want;			/* family 0: none */
	struct pw_census_ns sel;
	bool sel_ok;
	/* when the census was taken, for which selection and how many
	 * destinations: taken again after PW_TOP_CENSUS_NS or when those change */
	int64_t census_ns;
	uint64_t census_netns;
	struct pw_dest census_want;
	size_t census_ndests;
	char census_err[128];			/* the last census's failure, "" */
	struct { uint32_t pid; int client; } clients[64];	/* detected, by pid */
	unsigned int nclients;
};

void pw_top_model_init(struct pw_top_model *m, const struct pw_top_src *src);
void pw_top_model_free(struct pw_top_model *m);
/* Take the maps, the census and the rates now. 0 or -errno. */
int pw_top_model_refresh(struct pw_top_model *m);
/* Sort a view's rows by key (then by name). */
void pw_top_model_sort(struct pw_top_model *m, enum pw_top_view v, enum pw_top_sort by);
/* The census entry of a row's destination (NULL: none), and its netns's. */
const struct pw_census_dest *pw_top_census_of(const struct pw_top_model *m,
					      const struct pw_top_row *r,
					      const struct pw_census_ns **ns);
/* The remedies for a row's destination (its census and its top process's
 * client); how many, 0 without a census of it. */
int pw_top_remedies(struct pw_top_model *m, const struct pw_top_row *r, struct pw_remedy *out,
		    int max);
/* Percentile p (0..1) of a log2 histogram (PW_HIST_SLOTS): the upper bound
 * of the slot that holds it; -1 when empty. */
double pw_top_percentile(const uint64_t *hist, size_t slots, double p);
/* A process's failures as the view counts them: connect()'s EADDRNOTAVAIL
 * (in errs[] or, past PW_MAX_ERRS errnos, in other_errs) and, with --ops,
 * the bind and UDP failures (docs/top.md). */
struct pw_proc;
uint64_t pw_top_proc_failures(const struct pw_proc *p);

#endif /* PW_TOP_MODEL_H */
