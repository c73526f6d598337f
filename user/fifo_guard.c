// SPDX-License-Identifier: GPL-2.0
/* SCHED_FIFO around the map syscalls: see fifo_guard.h. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include "attach.h"
#include "fifo_guard.h"

static bool fifo_guard;
static __thread int guard_depth;
static __thread bool guard_on;
static __thread int guard_policy;
static __thread struct sched_param guard_param;

bool pw_fifo_guard_active(void)
{
	return __atomic_load_n(&fifo_guard, __ATOMIC_RELAXED);
}

void pw_fifo_guard_begin(void)
{
	struct sched_param sp = { .sched_priority = 1 };
	int err;

	if (guard_depth++ || !pw_fifo_guard_active())
		return;
	if (pthread_getschedparam(pthread_self(), &guard_policy, &guard_param))
		return;
	err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
	if (!err) {
		guard_on = true;
		return;
	}
	if (__atomic_exchange_n(&fifo_guard, false, __ATOMIC_RELAXED))
		fprintf(stderr, "portwatch: cannot run the map reads at SCHED_FIFO 1 (%s): kprobe "
			"runs may be skipped while they are preempted (counted: recursion misses)\n",
			strerror(err));
}

void pw_fifo_guard_end(void)
{
	int err;

	if (--guard_depth || !guard_on)
		return;
	guard_on = false;
	err = pthread_setschedparam(pthread_self(), guard_policy, &guard_param);
	if (err) {
		/* never left at SCHED_FIFO: back to the default policy, or out */
		struct sched_param sp = { .sched_priority = 0 };

		if (pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp)) {
			fprintf(stderr, "portwatch: cannot leave SCHED_FIFO (%s)\n", strerror(err));
			_exit(1);
		}
	}
}

void pw_fifo_guard_setup(const struct pw_attach *at, bool refused)
{
	struct rlimit rl;

	if (at->mode != PW_MODE_KPROBE || !at->preempt.preemptible || refused)
		return;
	if (getrlimit(RLIMIT_RTPRIO, &rl))
		return;
	if (rl.rlim_cur < 1) {
		rl.rlim_cur = 1;
		if (rl.rlim_max < 1)
			rl.rlim_max = 1;
		if (setrlimit(RLIMIT_RTPRIO, &rl)) {
			fprintf(stderr, "portwatch: RLIMIT_RTPRIO: %s: the map reads run at normal "
				"priority, kprobe runs may be skipped while they are preempted "
				"(counted: recursion misses)\n", strerror(errno));
			return;
		}
	}
	__atomic_store_n(&fifo_guard, true, __ATOMIC_RELAXED);
}
