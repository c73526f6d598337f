// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/netns.c: --netns resolution, the list of every netns,
 * entering our own netns. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "netns.h"

/* ---- --netns resolution ---- */

static void test_open_netns(void **state)
{
	char err[256], spec[32];
	struct stat a, b;
	int fd;

	(void)state;
	fd = pw_census_open_netns("/proc/self/ns/net", err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(stat("/proc/self/ns/net", &b), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);

	snprintf(spec, sizeof(spec), "%d", getpid());
	fd = pw_census_open_netns(spec, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &a), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	close(fd);

	assert_int_equal(pw_census_open_netns("/nonexistent", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent: No such file or directory");
	assert_int_equal(pw_census_open_netns("/etc/passwd", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/etc/passwd is not a namespace file");
	assert_int_equal(pw_census_open_netns("/proc/self/ns/uts", err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "/proc/self/ns/uts is not a network namespace");
	/* beyond PID_MAX_LIMIT (4194304): never a process */
	assert_int_equal(pw_census_open_netns("99999999", err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "no process with PID 99999999");
	assert_int_equal(pw_census_open_netns("", err, sizeof(err)), -EINVAL);
	assert_int_equal(pw_census_open_netns("/", err, sizeof(err)), -EINVAL);
}

static void test_list_netns(void **state)
{
	uint64_t *inos;
	struct stat self;
	int *fds, n;

	(void)state;
	n = pw_census_list_netns(&fds, &inos);
	assert_true(n >= 1);
	assert_int_equal(stat("/proc/self/ns/net", &self), 0);
	/* ours first */
	assert_int_equal(inos[0], self.st_ino);
	for (int i = 0; i < n; i++) {
		struct stat st;

		assert_int_equal(fstat(fds[i], &st), 0);
		assert_int_equal(st.st_ino, inos[i]);
		for (int j = 0; j < i; j++)
			assert_true(inos[j] != inos[i]);
		close(fds[i]);
	}
	free(fds);
	free(inos);
}

/* ---- entering a netns and back ---- */

/* Our own netns needs no setns: nothing entered, the inode ours. */
static void test_enter_own(void **state)
{
	struct stat self;
	char err[256] = "";
	uint64_t ino = 0;
	bool entered = true;
	int orig = -1, fd;

	(void)state;
	assert_int_equal(stat("/proc/thread-self/ns/net", &self), 0);
	assert_int_equal(pw_netns_enter(-1, &orig, &entered, &ino, err, sizeof(err)), 0);
	assert_false(entered);
	assert_int_equal(ino, self.st_ino);
	assert_true(orig >= 0);
	assert_int_equal(pw_netns_leave(orig, entered, err, sizeof(err)), 0);
	close(orig);

	fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	entered = true;
	assert_int_equal(pw_netns_enter(fd, &orig, &entered, &ino, err, sizeof(err)), 0);
	assert_false(entered);
	assert_int_equal(ino, self.st_ino);
	assert_int_equal(pw_netns_leave(orig, entered, err, sizeof(err)), 0);
	close(orig);
	close(fd);
	assert_string_equal(err, "");
}

static void test_enter_bad_fd(void **state)
{
	char err[256] = "";
	uint64_t ino = 0;
	bool entered = true;
	int orig = -1;

	(void)state;
	assert_int_equal(pw_netns_enter(987654, &orig, &entered, &ino, err, sizeof(err)), -EBADF);
	assert_false(entered);
	assert_string_equal(err, "netns fd: Bad file descriptor");
	if (orig >= 0)
		close(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_netns),
		cmocka_unit_test(test_list_netns),
		cmocka_unit_test(test_enter_own),
		cmocka_unit_test(test_enter_bad_fd),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
