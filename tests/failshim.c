// SPDX-License-Identifier: GPL-2.0
/* A fault injector for tests (LD_PRELOAD): once the file named by
 * PWT_EPOLL_FAIL_FILE exists, epoll_wait() in the process's main thread
 * fails with EIO, as a broken event loop would. tests/robust.sh uses it to
 * check that portwatch stops with exit status 1, one line on stderr, its
 * summary, and nothing left attached. Other threads are left alone. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/epoll.h>
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
