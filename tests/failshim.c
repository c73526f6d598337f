// SPDX-License-Identifier: GPL-2.0
/* A fault injector for tests (LD_PRELOAD): once the file named by
 * PWT_EPOLL_FAIL_FILE exists, epoll_wait() in the process's main thread
 * fails with EIO, as a broken event loop would. tests/robust.sh uses it to
 * check that portwatch stops with exit status 1, one line on stderr, its
 * summary, and nothing left attached. Other threads are left alone.
 * Also capng_apply() and setns() failures (below), for tests/tenant.sh. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>

int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
	static int (*real)(int, struct epoll_event *, int, int);
	const char *file = getenv("PWT_EPOLL_FAIL_FILE");

	if (file && syscall(SYS_gettid) == getpid() && access(file, F_OK) == 0) {
		errno = EIO;
		return -1;
	}
	if (!real)
		real = (int (*)(int, struct epoll_event *, int, int))dlsym(RTLD_NEXT, "epoll_wait");
	return real(epfd, events, maxevents, timeout);
}

/* PWT_CAPNG_APPLY_FAIL set: capng_apply() (libcap-ng) fails, as it would
 * under a security module that refuses capset(). portwatch must then stop
 * (exit 1, one line), never run on with every capability. */
int capng_apply(int set)
{
	static int (*real)(int);

	if (getenv("PWT_CAPNG_APPLY_FAIL"))
		return -1;
	if (!real)
		real = (int (*)(int))dlsym(RTLD_NEXT, "capng_apply");
	return real(set);
}

/* PWT_SETNS_BACK_FAIL set: setns() back into the network namespace the
 * process started in fails with EPERM (entering any other one works), so
 * a thread that entered a tenant's netns is stuck there. */
static ino_t start_netns;

__attribute__((constructor)) static void remember_netns(void)
{
	struct stat st;

	if (!stat("/proc/self/ns/net", &st))
		start_netns = st.st_ino;
}

int setns(int fd, int nstype)
{
	static int (*real)(int, int);
	struct stat st;

	if (getenv("PWT_SETNS_BACK_FAIL") && start_netns && !fstat(fd, &st) &&
	    st.st_ino == start_netns) {
		errno = EPERM;
		return -1;
	}
	if (!real)
		real = (int (*)(int, int))dlsym(RTLD_NEXT, "setns");
	return real(fd, nstype);
}
