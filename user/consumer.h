/* SPDX-License-Identifier: GPL-2.0 */
/* The consumer (the main thread): ring buffer -> fold -> format -> stdout,
 * and nothing slow. It writes what the worker queued between passes, so
 * stdout has one writer and a diagnosis follows the failure that asked for
 * it. Everything in struct pw_consumer is the consumer's own: the worker
 * sees only what goes through the mailbox. */
#ifndef PW_CONSUMER_H
#define PW_CONSUMER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "cli.h"
#include "portwatch.h"

#define PW_CONSUMER_BATCH	4096	/* events per pass: then the loop's other duties */
#define PW_DIAG_LIMIT_SLOTS	16384	/* destinations remembered by the rate limit */

struct pw_advice_limit;
struct pw_mailbox;
struct pw_workloads;
struct ring_buffer;

/* -q: sampled keys made due sooner, at most this many a second in all */
#define PW_SAMPLE_RETRIES_PER_S	64

struct pw_consumer {
	/* set up before the worker starts, then read-only */
	const struct env *env;
	struct pw_mailbox *mb;
	FILE *out;			/* stdout */
	int64_t mono_to_real;
	struct ring_buffer *rb;
	int epfd;
	struct pw_fold *fold;		/* text mode, unless --no-fold */
	struct pw_dest_limit *diag_limit;	/* NULL: no diagnosis asked */
	struct pw_advice_limit *advice_limit;	/* with diag_limit: live remedies */
	struct pw_holder_asks *holder_asks;	/* NULL: no port holder asked */
	struct pw_workloads *wl;	/* this thread's resolver; NULL: no workloads */

	uint64_t received;		/* published to the mailbox */
	uint64_t sampled;		/* -q: PW_SAMPLED events (not in received) */
	int sampled_fd;			/* -q: the kernel's `sampled` map; -1: none */
	uint64_t sample_retries;	/* sampled keys made due sooner (refused asks) */
	uint64_t sample_retries_skipped;	/* over PW_SAMPLE_RETRIES_PER_S */
	uint64_t retry_window_ns;	/* the retries' one-second window (event time) */
	uint32_t retries_in_window;
	uint64_t diag_skipped;		/* no room in the rate limit table */
	uint32_t bound_conflicts;	/* seen in events, for the remedies */
	unsigned int batch;		/* events in this pass */
	/* an event whose workload needs filesystem work, written after the
	 * callback returns (see pw_consumer_pass) */
	bool deferred;
	struct pw_event deferred_ev;
	int out_err;			/* errno of a failed write */
	bool out_closed;		/* stdout's reader is gone (EPOLLERR/HUP) */
	bool out_ok;			/* stdout can take more */
	char line[65536];		/* an event with the longest cgroup path, escaped */
};

/* Everything but the ring buffer: tests feed pw_consumer_event directly.
 * wl may be NULL. -errno when the fold cannot be made. */
int pw_consumer_init(struct pw_consumer *c, const struct env *env, struct pw_mailbox *mb,
		     struct pw_workloads *wl, FILE *out);
/* Ask the worker for diagnoses (it has a pressure state); false without
 * memory for the rate limit (then none is asked). */
bool pw_consumer_enable_diagnosis(struct pw_consumer *c);
/* The ring buffer and the loop's epoll (the ring, the mailbox, stdout);
 * -errno. */
int pw_consumer_listen(struct pw_consumer *c, int ring_fd);
void pw_consumer_free(struct pw_consumer *c);

/* A PW_UNCOUNTED event's outcome into the mailbox's counts (the worker's
 * sync merges them into the accounts); also --top's, which writes no line. */
void pw_consumer_count_event(struct pw_mailbox *mb, const struct pw_event *e);
/* The ring buffer callback: one event. */
int pw_consumer_event(void *ctx, void *data, size_t size);
/* After the callback cut the pass on a deferred event: its workload
 * resolved (within the resolver's budget of new cgroups per second: past
 * it the fields are null, counted), then its line. 1 to go on with the
 * pass, 0 to end it. */
int pw_consumer_write_deferred(struct pw_consumer *c);
/* One pass (at most PW_CONSUMER_BATCH events): 1 if it stopped at the
 * limit with more waiting, 0, or -errno. */
int pw_consumer_pass(struct pw_consumer *c);
/* Write what the worker queued. */
void pw_consumer_write_output(struct pw_consumer *c);
/* Flush; false when stdout can take no more (a gone reader is a normal
 * end; a failed write is said, and *ret becomes PW_EXIT_CANNOT_RUN). */
bool pw_consumer_flush(struct pw_consumer *c, int *ret);

/* The loop, until a stop is asked, the deadline (CLOCK_MONOTONIC ns, 0:
 * none) or stdout ends. The exit code so far. */
int pw_consumer_run(struct pw_consumer *c, int64_t deadline);
/* After the tracing stopped: the events left in the ring buffer. */
void pw_consumer_drain(struct pw_consumer *c);
/* The worker's last output and the last folded lines, flushed. */
void pw_consumer_finish(struct pw_consumer *c, int *ret);
/* For the summary: lines printed and folded ("... more"). */
void pw_consumer_lines(const struct pw_consumer *c, uint64_t *printed, uint64_t *folded);

#endif /* PW_CONSUMER_H */
