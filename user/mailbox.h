/* SPDX-License-Identifier: GPL-2.0 */
/* The only state the consumer (main thread) and the worker share. The type
 * is opaque: every field is reached through a function below, which takes
 * the lock, so no caller can read a shared field unlocked. Each function
 * says which thread calls it. Three queues, each one way:
 *  - diagnosis requests, consumer -> worker (bounded; full: dropped, counted);
 *  - finished output (diagnoses, warnings, tables), worker -> consumer
 *    (bounded in bytes; over: dropped, counted): stdout keeps one writer;
 *  - counts of PW_UNCOUNTED events, consumer -> worker's accounts at the
 *    next sync (bounded in rows; over: counted in counts_dropped).
 * Plus the stop flags, two eventfds to wake each thread, and the events
 * received (and -q's sampled ones), which the consumer publishes for the
 * worker's interval table. */
#ifndef PW_MAILBOX_H
#define PW_MAILBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "accounts.h"
#include "pressure.h"

#define PW_MAILBOX_REQS		1024		/* diagnosis requests waiting */
#define PW_MAILBOX_OUT_MAX	(8 << 20)	/* bytes of output waiting */
#define PW_MAILBOX_COUNT_ROWS	65536		/* (process, errno, family) rows waiting */

struct pw_mailbox;

/* Output queued by the worker, in order; free each with free(). */
struct pw_out_msg {
	struct pw_out_msg *next;
	size_t len;
	char text[];
};

/* NULL with errno set when an eventfd or memory is missing. */
struct pw_mailbox *pw_mailbox_new(void);
/* Only once neither thread uses it. */
void pw_mailbox_free(struct pw_mailbox *mb);

/* The eventfds to poll: readable when the worker, or the consumer, has
 * something to take. Clear with pw_mailbox_clear_wake() after waking. */
int pw_mailbox_worker_fd(const struct pw_mailbox *mb);
int pw_mailbox_consumer_fd(const struct pw_mailbox *mb);
void pw_mailbox_clear_wake(int fd);

/* Consumer: ask the worker to end its loop (and wake it). Worker: asked? */
void pw_mailbox_stop_worker(struct pw_mailbox *mb);
bool pw_mailbox_worker_stopping(struct pw_mailbox *mb);

/* Consumer: queue a diagnosis request; false when the queue was full. */
bool pw_mailbox_ask(struct pw_mailbox *mb, const struct pw_diag_req *r);
/* Worker: move every waiting request into reqs (PW_MAILBOX_REQS of room). */
size_t pw_mailbox_take_requests(struct pw_mailbox *mb, struct pw_diag_req *reqs);

/* Worker: queue text for stdout (copied). False when dropped (over
 * PW_MAILBOX_OUT_MAX or no memory). */
bool pw_mailbox_post(struct pw_mailbox *mb, const char *text, size_t len);
/* Consumer: everything queued, oldest first (NULL: nothing). */
struct pw_out_msg *pw_mailbox_take_output(struct pw_mailbox *mb);

/* Consumer: the count a PW_UNCOUNTED event carries. */
void pw_mailbox_count(struct pw_mailbox *mb, const struct pw_proc_key *k,
		      const struct pw_proc_val *v, uint64_t now);
/* Worker: move the waiting counts into *to (initialized here; the caller
 * frees it). */
void pw_mailbox_take_counts(struct pw_mailbox *mb, struct pw_accounts *to);
/* Worker: outcomes of counts it took but could not add. */
void pw_mailbox_counts_lost(struct pw_mailbox *mb, uint64_t n);

/* Consumer: events taken from the ring buffer so far (it is their only
 * writer). Either thread: the last value published. */
void pw_mailbox_publish_received(struct pw_mailbox *mb, uint64_t received);
uint64_t pw_mailbox_received(const struct pw_mailbox *mb);
/* The same for -q's sampled failures (PW_SAMPLED events, not received). */
void pw_mailbox_publish_sampled(struct pw_mailbox *mb, uint64_t sampled);
uint64_t pw_mailbox_sampled(const struct pw_mailbox *mb);

/* What was lost on the way, for the stderr lines at the end and the
 * counts_dropped figure. Either thread. */
struct pw_mailbox_losses {
	uint64_t diag_dropped;		/* requests: queue full */
	uint64_t out_dropped;		/* outputs: queue over its bytes */
	uint64_t counts_dropped;	/* outcomes of PW_UNCOUNTED events not counted */
	int count_err;			/* why (a -errno), 0 if none */
};
void pw_mailbox_losses(struct pw_mailbox *mb, struct pw_mailbox_losses *l);

/* The process-wide stop: a signal, a stuck worker, an event that cannot be
 * written. Async-signal-safe (a lock-free atomic). */
void pw_request_stop(void);
bool pw_stop_requested(void);

#endif /* PW_MAILBOX_H */
