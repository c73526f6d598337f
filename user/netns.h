/* SPDX-License-Identifier: GPL-2.0 */
/* Network namespaces: which ones exist, --netns resolution, and entering
 * one and coming back (for the census). */
#ifndef PW_NETNS_H
#define PW_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every netns that has a process in it (/proc/PID/ns/net, /run/netns/NAME),
 * one fd each (O_RDONLY|O_CLOEXEC), deduplicated by inode. Returns how many,
 * or -errno; *fds is malloc()ed, the caller closes and frees. */
int pw_census_list_netns(int **fds, uint64_t **inodes);

/* An fd of process pid's netns if it is still the one with this inode (the
 * pid not gone, nor reused in another netns); -1 otherwise. */
int pw_netns_open_pid(uint32_t pid, uint64_t inode);

/* Resolve --netns=PATH|PID to an open fd; -errno if it is not a netns, with
 * the reason in err (no "--netns=" prefix: the caller adds its own). */
int pw_census_open_netns(const char *spec, char *err, size_t errsz);

/* Enter the netns of nsfd (-1: stay) unless it is ours already; *orig is
 * an fd of the calling THREAD's own netns to come back with
 * pw_netns_leave() (the caller closes it when >= 0). *ino is the netns
 * inode. 0 or -errno with the reason in err. */
int pw_netns_enter(int nsfd, int *orig, bool *entered, uint64_t *ino, char *err, size_t errsz);
/* Back to the thread's own netns; does not return when that fails (see
 * pw_census_on_stuck). */
int pw_netns_leave(int orig, bool entered, char *err, size_t errsz);

/* What happens when a thread cannot setns() back into its own netns after
 * a census: netns.c prints one line, then calls fn, which must not return
 * (it ends the thread and has the process stop with exit status 1); with no
 * fn, or if it returns, the process ends at once with _exit(1). */
void pw_census_on_stuck(void (*fn)(void));

/* For pw_census_skips(): netns found but not entered (setns: EPERM), and
 * processes whose /proc/PID/ns/net could not be looked at. */
uint64_t pw_netns_skipped(void);
uint64_t pw_netns_processes_skipped(void);

#endif /* PW_NETNS_H */
