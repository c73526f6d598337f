// SPDX-License-Identifier: GPL-2.0
/* Census holders: socket inode -> process, by reading the links of every
 * /proc/PID/fd (as ss -p does). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "holders.h"
#include "sysctl.h"

/* Not ours to read without CAP_SYS_PTRACE, for the life of portwatch. */
static uint64_t skipped;

uint64_t pw_holders_skipped(void)
{
	return skipped;
}

int pw_inode_tab_add(struct pw_inode_tab *it, uint32_t ino, uint32_t dest)
{
	size_t j;

	if ((it->n + 1) * 2 > it->sz) {
		size_t sz = it->sz ? it->sz * 2 : 256;
		__typeof__(it->t) t = calloc(sz, sizeof(*t));

		if (!t)
			return -ENOMEM;
		for (size_t i = 0; i < it->sz; i++) {
			if (!it->t[i].ino)
				continue;
			for (j = it->t[i].ino * 2654435761u & (sz - 1); t[j].ino; j = (j + 1) & (sz - 1))
				;
			t[j] = it->t[i];
		}
		free(it->t);
		it->t = t;
		it->sz = sz;
	}
	for (j = ino * 2654435761u & (it->sz - 1); it->t[j].ino; j = (j + 1) & (it->sz - 1))
		if (it->t[j].ino == ino)
			return 0;
	it->t[j].ino = ino;
	it->t[j].dest = dest;
	it->n++;
	return 0;
}

static long inode_tab_find(const struct pw_inode_tab *it, uint32_t ino)
{
	if (!it->sz)
		return -1;
	for (size_t j = ino * 2654435761u & (it->sz - 1); it->t[j].ino;
	     j = (j + 1) & (it->sz - 1))
		if (it->t[j].ino == ino)
			return it->t[j].dest;
	return -1;
}

static int holder_add(struct pw_holder_list *a, uint32_t pid, const char *comm)
{
	if (a->nh && a->h[a->nh - 1].pid == pid) {
		a->h[a->nh - 1].n++;
		return 0;
	}
	if (a->nh == a->caph) {
		size_t cap = a->caph ? a->caph * 2 : 4;
		struct pw_holder_acc *n = realloc(a->h, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		a->h = n;
		a->caph = cap;
	}
	a->h[a->nh].pid = pid;
	a->h[a->nh].n = 1;
	memcpy(a->h[a->nh].comm, comm, PW_COMM_LEN);
	a->nh++;
	return 0;
}

int pw_census_socket_inode(const char *link, uint32_t *ino)
{
	unsigned long v = 0;
	const char *p;

	if (strncmp(link, "socket:[", 8) || !isdigit((unsigned char)link[8]))
		return -EINVAL;
	for (p = link + 8; isdigit((unsigned char)*p); p++) {
		v = v * 10 + (*p - '0');
		if (v > UINT32_MAX)
			return -ERANGE;
	}
	if (p[0] != ']' || p[1])
		return -EINVAL;
	*ino = v;
	return 0;
}

static int scan_pid(const struct pw_inode_tab *t, uint32_t pid,
		    struct pw_holder_list *(*list)(void *arg, uint32_t dest), void *arg)
{
	char path[64], link[64], comm[PW_COMM_LEN] = "";
	bool have_comm = false;
	struct dirent *de;
	DIR *d;
	int r = 0;

	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	d = opendir(path);
	if (!d) {
		/* gone (fine), or not ours to read without CAP_SYS_PTRACE */
		if (errno == EACCES || errno == EPERM)
			skipped++;
		return 0;
	}
	while ((de = readdir(d))) {
		ssize_t n;
		uint32_t ino;
		long di;

		if (de->d_name[0] == '.')
			continue;
		n = readlinkat(dirfd(d), de->d_name, link, sizeof(link) - 1);
		if (n < 0)
			continue;
		link[n] = '\0';
		if (pw_census_socket_inode(link, &ino))
			continue;
		di = inode_tab_find(t, ino);
		if (di < 0)
			continue;
		if (!have_comm) {
			char cpath[64], buf[64];

			snprintf(cpath, sizeof(cpath), "/proc/%u/comm", pid);
			if (!pw_read_small(cpath, buf, sizeof(buf))) {
				buf[strcspn(buf, "\n")] = '\0';
				memcpy(comm, buf, strnlen(buf, PW_COMM_LEN - 1));
			}
			have_comm = true;
		}
		r = holder_add(list(arg, di), pid, comm);
		if (r)
			break;
	}
	closedir(d);
	return r;
}

int pw_holders_scan(const struct pw_inode_tab *t,
		    struct pw_holder_list *(*list)(void *arg, uint32_t dest), void *arg)
{
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!t->n)
		return 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while (!r && (de = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(de->d_name, &end, 10);

		if (!isdigit((unsigned char)de->d_name[0]) || *end)
			continue;
		r = scan_pid(t, pid, list, arg);
	}
	closedir(d);
	return r;
}

static int cmp_holder(const void *a, const void *b)
{
	const struct pw_holder_acc *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return x->pid < y->pid ? -1 : x->pid > y->pid;
}


void pw_holder_list_sort(struct pw_holder_list *l)
{
	if (l->nh > 1)	/* l->h is NULL without holders */
		qsort(l->h, l->nh, sizeof(*l->h), cmp_holder);
}

void pw_inode_tab_free(struct pw_inode_tab *t)
{
	free(t->t);
	t->t = NULL;
	t->sz = t->n = 0;
}
