/* SPDX-License-Identifier: GPL-2.0 */
/* One event as a text line (output_text.c) or one NDJSON object
 * (output_json.c). Pure functions: no I/O. It includes the pieces the
 * formatters are built from, so a file that prints events needs this one
 * include: sbuf.h (the builder), escape.h (safe bytes), names.h (errno,
 * cause, mode names), fmt.h (addresses, times, durations). */
#ifndef PW_OUTPUT_H
#define PW_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/types.h>
#include "portwatch.h"
#include "sbuf.h"
#include "escape.h"
#include "names.h"
#include "fmt.h"

struct pw_workload;

/* Event time as realtime: events carry CLOCK_MONOTONIC ns. */
static inline uint64_t pw_event_realtime(const struct pw_event *e, int64_t mono_to_real)
{
	return e->ts_ns + mono_to_real;
}

/* One NDJSON object (no newline). w is the event's workload (its cgroup's),
 * NULL when unknown: its fields are then null. Returns false if it did not fit. */
bool pw_event_json(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real,
		   const struct pw_workload *w);
/* The workload fields as JSON members, each after a comma:
 * ,"cgroup":..,"unit":..,"container_id":..,"pod":{..}|null,"container":.. */
void sb_workload_json(struct sbuf *sb, const struct pw_workload *w);

/* One text line under pw_event_header() (no newline); local time of day.
 * The last column is the workload (sb_workload_text). */
bool pw_event_text(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real,
		   const struct pw_workload *w);
const char *pw_event_header(void);
/* Text lines (and the header) for a terminal of cols columns (0: no
 * bound): the workload shrinks, then RANGE, FAM, SCAN, ERRNO, TIME and
 * CAUSE go, in this order, and every line is cut at cols: none wraps. */
void pw_text_fit(unsigned int cols);
/* When fd is a terminal: fit to its width, and again after each SIGWINCH. */
void pw_text_fit_tty(int fd);
/* A line (its newline kept) cut as pw_event_text's are. */
void pw_text_cut(char *line);
/* The compact text column: "ns/pod/container", "pod:<uid>/<cid 12>",
 * "docker:<cid 12>", "nginx.service", a cgroup path, "-" for the root or a
 * cgroup gone, "?" when unresolved (w NULL). Safe for a terminal. */
void sb_workload_text(struct sbuf *sb, const struct pw_workload *w);

#endif /* PW_OUTPUT_H */
