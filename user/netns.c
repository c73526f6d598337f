// SPDX-License-Identifier: GPL-2.0
/* Network namespaces for the census: enumeration (every netns with a
 * process, plus /run/netns), --netns resolution, and setns() into one and
 * back for the calling thread. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/nsfs.h>

#include "netns.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* What could not be read, for the life of portwatch (pw_census_skips()). */
static uint64_t skipped_netns, skipped_processes;

uint64_t pw_netns_skipped(void)
{
	return skipped_netns;
}

uint64_t pw_netns_processes_skipped(void)
{
	return skipped_processes;
}

/* A thread that could not get back into its own netns: see netns.h. */
static void (*stuck_hook)(void);

void pw_census_on_stuck(void (*fn)(void))
{
	stuck_hook = fn;
}

/* Enter the netns of nsfd (-1: stay) unless it is ours already; *orig is
 * an fd of the calling THREAD's own netns to come back with pw_netns_leave()
 * (setns() moves only the calling thread, and another thread of portwatch
 * may be elsewhere: /proc/self is the thread group leader's). *ino is the
 * netns inode. A refused setns() (CAP_SYS_ADMIN) is counted as a skipped
 * netns. */
int pw_netns_enter(int nsfd, int *orig, bool *entered, uint64_t *ino, char *err, size_t errsz)
{
	struct stat st, self;

	*entered = false;
	*orig = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*orig < 0 || fstat(*orig, &self)) {
		int e = errno;

		snprintf(err, errsz, "/proc/thread-self/ns/net: %s", strerror(e));
		return -e;
	}
	st = self;
	if (nsfd >= 0) {
		if (fstat(nsfd, &st)) {
			int e = errno;

			snprintf(err, errsz, "netns fd: %s", strerror(e));
			return -e;
		}
		/* our own netns needs no setns (nor CAP_SYS_ADMIN) */
		if (st.st_ino != self.st_ino || st.st_dev != self.st_dev) {
			if (setns(nsfd, CLONE_NEWNET)) {
				int e = errno;

				if (e == EPERM)
					skipped_netns++;
				snprintf(err, errsz, "setns into netns %llu: %s%s",
					 (unsigned long long)st.st_ino, strerror(e),
					 e == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
				return -e;
			}
			*entered = true;
		}
	}
	*ino = st.st_ino;
	return 0;
}

/* Back to the thread's own netns. Stuck in another one (a tenant's),
 * nothing this thread does after could be trusted: one line, then the
 * hook ends it (the process stops with exit status 1); without a hook the
 * process ends here. */
int pw_netns_leave(int orig, bool entered, char *err, size_t errsz)
{
	if (entered && setns(orig, CLONE_NEWNET)) {
		int e = errno;

		snprintf(err, errsz, "setns back to portwatch's netns: %s", strerror(e));
		fprintf(stderr, "portwatch: census: cannot return to portwatch's own network "
			"namespace after reading another (setns: %s): stopping\n", strerror(e));
		fflush(stderr);
		if (stuck_hook)
			stuck_hook();
		_exit(1);
	}
	return 0;
}

/* ---- which netns ---- */

static int add_ns(const char *path, int **fds, uint64_t **inos, int *n, int *cap)
{
	struct stat st;
	int fd;

	if (stat(path, &st)) {
		/* gone (fine), or another's netns without CAP_SYS_PTRACE */
		if (errno == EACCES || errno == EPERM)
			skipped_processes++;
		return 0;
	}
	if (!S_ISREG(st.st_mode))
		return 0;	/* nsfs files are regular: not a FIFO in /run/netns */
	for (int i = 0; i < *n; i++)
		if ((*inos)[i] == st.st_ino)
			return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0)
		return 0;	/* raced with an exit or an unmount */
	/* /run/netns may hold other files; only nsfs of type net counts. The
	 * pid may have been reused (or the name bound again) between the
	 * stat() and the open(): the netns is the one the fd holds */
	if (ioctl(fd, NS_GET_NSTYPE) != CLONE_NEWNET || fstat(fd, &st)) {
		close(fd);
		return 0;
	}
	for (int i = 0; i < *n; i++) {
		if ((*inos)[i] == st.st_ino) {
			close(fd);
			return 0;
		}
	}
	if (*n == *cap) {
		int c2 = *cap ? *cap * 2 : 16;
		int *nf = realloc(*fds, c2 * sizeof(**fds));
		uint64_t *ni;

		if (!nf) {
			close(fd);
			return -ENOMEM;
		}
		*fds = nf;
		ni = realloc(*inos, c2 * sizeof(**inos));
		if (!ni) {
			close(fd);
			return -ENOMEM;
		}
		*inos = ni;
		*cap = c2;
	}
	(*fds)[*n] = fd;
	(*inos)[*n] = st.st_ino;
	(*n)++;
	return 0;
}

int pw_census_list_netns(int **fds, uint64_t **inodes)
{
	static const char *const dirs[] = { "/proc", "/run/netns" };
	int n = 0, cap = 0, r = 0;

	*fds = NULL;
	*inodes = NULL;
	/* ours first, so a lone-netns host lists just that one */
	r = add_ns("/proc/self/ns/net", fds, inodes, &n, &cap);
	for (size_t k = 0; !r && k < 2; k++) {
		DIR *d = opendir(dirs[k]);
		struct dirent *de;

		if (!d)
			continue;	/* no /run/netns without ip netns */
		while (!r && (de = readdir(d))) {
			char path[PATH_MAX];

			if (de->d_name[0] == '.')
				continue;
			if (k == 0) {
				if (!isdigit((unsigned char)de->d_name[0]))
					continue;
				snprintf(path, sizeof(path), "/proc/%s/ns/net", de->d_name);
			} else {
				snprintf(path, sizeof(path), "/run/netns/%s", de->d_name);
			}
			r = add_ns(path, fds, inodes, &n, &cap);
		}
		closedir(d);
	}
	if (r) {
		for (int i = 0; i < n; i++)
			close((*fds)[i]);
		free(*fds);
		free(*inodes);
		*fds = NULL;
		*inodes = NULL;
		return r;
	}
	return n;
}

int pw_netns_open_pid(uint32_t pid, uint64_t inode)
{
	char path[64];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "/proc/%u/ns/net", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) || (uint64_t)st.st_ino != inode) {
		close(fd);
		return -1;
	}
	return fd;
}

int pw_census_open_netns(const char *spec, char *err, size_t errsz)
{
	char path[PATH_MAX];
	bool is_pid = *spec != '\0';
	struct statfs sfs;
	struct stat st;
	int fd, type, e;

	for (const char *p = spec; *p; p++)
		if (!isdigit((unsigned char)*p))
			is_pid = false;
	if (!*spec) {
		snprintf(err, errsz, "empty (a path or a PID)");
		return -EINVAL;
	}
	if (is_pid)
		snprintf(path, sizeof(path), "/proc/%s/ns/net", spec);
	else
		snprintf(path, sizeof(path), "%s", spec);
	/* namespace files are regular files of nsfs: never open anything else
	 * (a FIFO would block, a device could act on the open); O_NONBLOCK in
	 * case it is swapped for one in between, and fstatfs below decides */
	if (!stat(path, &st) && !S_ISREG(st.st_mode)) {
		snprintf(err, errsz, "%s is not a namespace file", path);
		return -EINVAL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		if (is_pid && e == ENOENT)
			snprintf(err, errsz, "no process with PID %s", spec);
		else
			snprintf(err, errsz, "%s: %s", path, strerror(e));
		return -e;
	}
	if (fstatfs(fd, &sfs) || sfs.f_type != NSFS_MAGIC) {
		snprintf(err, errsz, "%s is not a namespace file", path);
		close(fd);
		return -EINVAL;
	}
	type = ioctl(fd, NS_GET_NSTYPE);
	if (type != CLONE_NEWNET) {
		if (type < 0)
			snprintf(err, errsz, "%s: cannot tell the namespace type: %s", path,
				 strerror(errno));
		else
			snprintf(err, errsz, "%s is not a network namespace", path);
		close(fd);
		return -EINVAL;
	}
	return fd;
}
