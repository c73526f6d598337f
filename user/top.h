/* SPDX-License-Identifier: GPL-2.0 */
/* --top: the full-screen live view (ncursesw). Built from the kernel's maps
 * through the report snapshot and the per-destination map dest_fails, never
 * from the events, so that a storm cannot put it behind. The static build
 * (STATIC=1, PW_NO_TOP) has no view and refuses --top. */
#ifndef PW_TOP_H
#define PW_TOP_H

#include "caps.h"
#include "cli.h"
#include "report.h"

struct pw_top_src {
	struct pw_report_src rs;	/* the accounts, the attach, workloads, start */
	struct pw_privs *privs;
	const struct env *env;
};

/* Before anything is attached: 0 when --top can run here, else the exit
 * code, said in one line on stderr (not a terminal, TERM unset or dumb or
 * unknown: 2; a build without the view: 1). */
int pw_top_check(const struct env *env);
/* The view until q, a stop signal or --duration; then the terminal back as
 * it was, the programs detached and the summary on stdout. The exit code. */
int pw_top_main(const struct pw_top_src *src);

#endif /* PW_TOP_H */
