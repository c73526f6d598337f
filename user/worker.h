/* SPDX-License-Identifier: GPL-2.0 */
/* The worker thread: all the slow work beside the event path. The
 * diagnosis censuses the consumer asks for, the periodic census and its
 * warnings, the once-a-second sync of the kernel's maps into the accounts,
 * the interval tables, and /metrics (libmicrohttpd in external-epoll mode
 * in this loop). Its output goes to the consumer through the mailbox. */
#ifndef PW_WORKER_H
#define PW_WORKER_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include "caps.h"
#include "cli.h"
#include "metrics.h"
#include "report.h"

struct pw_mailbox;
struct pw_http;
struct pw_pressure;

/* Every field is set before the thread starts; then the objects are the
 * thread's until pw_worker_stop joins it, and main's (the summary) after. */
struct pw_worker {
	const struct env *env;
	struct pw_mailbox *mb;
	struct pw_http *http;		/* NULL: no --listen */
	struct pw_pressure *pressure;	/* NULL: no diagnosis or warnings */
	struct pw_privs *privs;
	struct pw_report_src src;	/* the accounts, the attach, workloads */
	struct pw_metrics_memory metrics_mem;	/* what /metrics showed of src's accounts */
	int64_t mono_to_real;
	char libbpf_version[16];
	pthread_t thread;
	bool started;
};

/* The /metrics callback (pw_http_start's, arg: the worker). */
int pw_worker_render_metrics(void *arg, char **buf, size_t *len);
/* Start the thread (stop signals blocked in it); -errno, said on stderr. */
int pw_worker_start(struct pw_worker *w);
/* Ask the thread to end and join it; not when it is stuck. */
void pw_worker_stop(struct pw_worker *w);
/* After the join: diagnose what the consumer asked last. */
void pw_worker_last_requests(struct pw_worker *w);
/* The worker could not return to portwatch's netns after a census (said
 * by netns.c): it never works again, is never joined, and the process
 * ends with exit status 1 after the summary. */
bool pw_worker_stuck(void);

#endif /* PW_WORKER_H */
