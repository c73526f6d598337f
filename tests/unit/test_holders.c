// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/holders.c: the /proc/PID/fd link parser, the inode
 * table, the order of holders, and a /proc walk that must find this test
 * holding the sockets it opens. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "holders.h"

static void test_socket_inode(void **state)
{
	uint32_t ino = 0;

	(void)state;
	assert_int_equal(pw_census_socket_inode("socket:[12345]", &ino), 0);
	assert_int_equal(ino, 12345);
	assert_int_equal(pw_census_socket_inode("socket:[4294967295]", &ino), 0);
	assert_int_equal(ino, 4294967295u);
	assert_int_equal(pw_census_socket_inode("socket:[4294967296]", &ino), -ERANGE);
	assert_int_equal(pw_census_socket_inode("socket:[]", &ino), -EINVAL);
	assert_int_equal(pw_census_socket_inode("socket:[12", &ino), -EINVAL);
	assert_int_equal(pw_census_socket_inode("socket:[12]x", &ino), -EINVAL);
	assert_int_equal(pw_census_socket_inode("pipe:[12]", &ino), -EINVAL);
	assert_int_equal(pw_census_socket_inode("/dev/null", &ino), -EINVAL);
}

static void test_holder_sort(void **state)
{
	struct pw_holder_acc h[] = {
		{ .pid = 30, .n = 1 }, { .pid = 20, .n = 5 }, { .pid = 10, .n = 1 }, { .pid = 40, .n = 5 },
	};
	struct pw_holder_list l = { .h = h, .nh = 4, .caph = 4 };
	struct pw_holder_list none = { 0 };

	(void)state;
	pw_holder_list_sort(&l);
	/* most sockets first, then by pid */
	assert_int_equal(h[0].pid, 20);
	assert_int_equal(h[1].pid, 40);
	assert_int_equal(h[2].pid, 10);
	assert_int_equal(h[3].pid, 30);
	pw_holder_list_sort(&none);
	assert_null(none.h);
}

/* The walk finds each socket's holder through the table (lists[dest]). */
static struct pw_holder_list lists[3];

static struct pw_holder_list *list_of(void *arg, uint32_t dest)
{
	assert_ptr_equal(arg, lists);
	assert_true(dest < 3);
	return &lists[dest];
}

static uint32_t inode_of(int fd)
{
	struct stat st;

	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

/* Three sockets of this process: two towards row 0, one towards row 1,
 * plus 1,000 inodes nobody holds (the table grows past its first size);
 * row 2 is never named. Each row must list exactly us, with our comm and
 * the number of its sockets we hold. */
static void test_scan_own_sockets(void **state)
{
	struct pw_inode_tab t = { 0 };
	char comm[64] = "";
	int sk[3];
	FILE *f;

	(void)state;
	for (int i = 0; i < 3; i++) {
		sk[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(sk[i] >= 0);
	}
	assert_int_equal(pw_inode_tab_add(&t, inode_of(sk[0]), 0), 0);
	assert_int_equal(pw_inode_tab_add(&t, inode_of(sk[1]), 0), 0);
	assert_int_equal(pw_inode_tab_add(&t, inode_of(sk[2]), 1), 0);
	/* a second add keeps the first row */
	assert_int_equal(pw_inode_tab_add(&t, inode_of(sk[2]), 2), 0);
	for (uint32_t i = 0; i < 1000; i++)
		assert_int_equal(pw_inode_tab_add(&t, 0xf0000000u + i, 2), 0);
	assert_int_equal(t.n, 1003);
	assert_int_equal(pw_holders_scan(&t, list_of, lists), 0);

	f = fopen("/proc/self/comm", "r");
	assert_non_null(f);
	assert_non_null(fgets(comm, sizeof(comm), f));
	fclose(f);
	comm[strcspn(comm, "\n")] = '\0';
	assert_int_equal(lists[0].nh, 1);
	assert_int_equal(lists[0].h[0].pid, getpid());
	assert_int_equal(lists[0].h[0].n, 2);
	assert_string_equal(lists[0].h[0].comm, comm);
	assert_int_equal(lists[1].nh, 1);
	assert_int_equal(lists[1].h[0].pid, getpid());
	assert_int_equal(lists[1].h[0].n, 1);
	assert_int_equal(lists[2].nh, 0);
	for (int i = 0; i < 3; i++) {
		free(lists[i].h);
		close(sk[i]);
	}
	pw_inode_tab_free(&t);
	assert_null(t.ix.slots);
	assert_int_equal(t.n, 0);
}

/* A socket held through several descriptors (dup(), as a fork or
 * SCM_RIGHTS leaves them) is one socket of its holder: 1 socket through 3
 * descriptors and 2 others through one each count 1 and 2, not 3 and 2
 * (before: one per descriptor). */
static void test_scan_dup_counts_sockets(void **state)
{
	struct pw_inode_tab t = { 0 };
	int sk[3], d1, d2;

	(void)state;
	for (int i = 0; i < 3; i++) {
		sk[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_true(sk[i] >= 0);
	}
	d1 = dup(sk[0]);
	d2 = dup(sk[0]);
	assert_true(d1 >= 0 && d2 >= 0);
	assert_int_equal(pw_inode_tab_add(&t, inode_of(sk[0]), 0), 0);
	assert_int_equal(pw_inode_tab_add(&t, inode_of(sk[1]), 1), 0);
	assert_int_equal(pw_inode_tab_add(&t, inode_of(sk[2]), 1), 0);
	memset(lists, 0, sizeof(lists));
	assert_int_equal(pw_holders_scan(&t, list_of, lists), 0);
	assert_int_equal(lists[0].nh, 1);
	assert_int_equal(lists[0].h[0].pid, getpid());
	assert_int_equal(lists[0].h[0].n, 1);
	assert_int_equal(lists[1].nh, 1);
	assert_int_equal(lists[1].h[0].n, 2);
	assert_int_equal(lists[2].nh, 0);
	for (int i = 0; i < 3; i++) {
		free(lists[i].h);
		close(sk[i]);
	}
	memset(lists, 0, sizeof(lists));
	close(d1);
	close(d2);
	pw_inode_tab_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_socket_inode),
		cmocka_unit_test(test_holder_sort),
		cmocka_unit_test(test_scan_own_sockets),
		cmocka_unit_test(test_scan_dup_counts_sockets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
