/* SPDX-License-Identifier: GPL-2.0 */
/* The environment variables that tune portwatch (deploy/portwatch.8,
 * ENVIRONMENT), read and checked in one place at startup:
 *  PORTWATCH_TEST_PROCS_OPEN   keys the per-process map takes for outcomes
 *                              other than EADDRNOTAVAIL (1..PW_PROCS_OPEN)
 *  PORTWATCH_TEST_WL_CACHE     cgroups each workload resolver caches
 *                              (1..PW_WL_CACHE)
 *  PORTWATCH_NO_FIFO_GUARD     set: no SCHED_FIFO around the map reads
 * and checked here, read where they are used (attach.c):
 *  PORTWATCH_KRETPROBE_MAXACTIVE, PORTWATCH_TEST_NCPU, PORTWATCH_TEST_BIND_CALLS.
 * The TEST_ ones lower bounds so that tests reach them quickly. */
#ifndef PW_KNOBS_H
#define PW_KNOBS_H

#include <stdbool.h>

/* Workload resolution (workload.c): cgroups cached per thread, and new
 * cgroup ids resolved per second per thread at most; past that an event's
 * workload fields are null (counted, said at the end). */
#define PW_WL_CACHE		4096
#define PW_WL_PER_SECOND	256

struct pw_knobs {
	unsigned long procs_open;
	unsigned long wl_cache;
	bool no_fifo_guard;
};

/* 0, or PW_EXIT_USAGE with one line on stderr for a bad value. */
int pw_knobs_read(struct pw_knobs *k);

#endif /* PW_KNOBS_H */
