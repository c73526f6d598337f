/* SPDX-License-Identifier: GPL-2.0 */
/* What the bench's programs share (each is built alone from its .c). */
#ifndef PW_BENCH_H
#define PW_BENCH_H

#include <signal.h>
#include <stdint.h>
#include <time.h>

/* set by SIGINT and SIGTERM once catch_stop() ran */
static volatile sig_atomic_t stop;

static inline void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

static inline void catch_stop(void)
{
	struct sigaction sa = { .sa_handler = on_stop };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

static inline int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif
