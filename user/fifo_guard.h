/* SPDX-License-Identifier: GPL-2.0 */
/* kprobe mode on a preemptible kernel: a bpf() map syscall raises its CPU's
 * bpf_prog_active with only migration disabled, and while its task is
 * preempted there every kprobe program on that CPU is skipped (KERNEL.md
 * section 9; measured on 7.2: 177 skipped runs in 2 s of 8 processes
 * failing at full speed, portwatch's own once-a-second reads preempted by
 * them). The thread that makes map syscalls runs at SCHED_FIFO 1, which no
 * ordinary task preempts, for those syscalls only (the counter reads, the
 * per-process sync and drains: never the HTTP server, rendering or a
 * census), then goes back to the policy it had; RLIMIT_RTPRIO 1 (set before
 * the capabilities go) allows it. What remains (another tool's syscalls, an
 * RT task) is counted: recursion misses. */
#ifndef PW_FIFO_GUARD_H
#define PW_FIFO_GUARD_H

#include <stdbool.h>

struct pw_attach;

/* Before the capabilities are dropped and before the threads start: enable
 * the guard if the attach needs it and `refused` (PORTWATCH_NO_FIFO_GUARD)
 * is false. */
void pw_fifo_guard_setup(const struct pw_attach *at, bool refused);
/* Whether map syscalls run guarded: set by the setup, only ever cleared
 * after (a refusal of SCHED_FIFO, said once). */
bool pw_fifo_guard_active(void);
/* Around map syscalls; nested sections count on the thread's depth. */
void pw_fifo_guard_begin(void);
void pw_fifo_guard_end(void);

#endif /* PW_FIFO_GUARD_H */
