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

struct inode_ent {
	uint32_t ino, dest;
};

static uint64_t inode_hash(uint32_t ino)
{
	return (uint32_t)(ino * 2654435761u);
}

static enum pw_htab_slot inode_classify(const void *slot, const void *key)
{
	const struct inode_ent *e = slot;

	if (!e->ino)
		return PW_HT_EMPTY;
	return key && e->ino == *(const uint32_t *)key ? PW_HT_MATCH : PW_HT_TAKEN;
}

static int inode_tab_grow(struct pw_inode_tab *it)
{
	size_t sz = it->ix.slots ? pw_htab_slots(&it->ix) * 2 : 256;
	struct pw_htab ix;
	bool found;

	if (pw_htab_init(&ix, sz, sizeof(struct inode_ent), 0))
		return -ENOMEM;
	for (size_t i = 0; it->ix.slots && i < pw_htab_slots(&it->ix); i++) {
		const struct inode_ent *e = pw_htab_at(&it->ix, i);

		if (e->ino)
			*(struct inode_ent *)pw_htab_find(&ix, inode_hash(e->ino), inode_classify,
							  NULL, &found) = *e;
	}
	pw_htab_free(&it->ix);
	it->ix = ix;
	return 0;
}

int pw_inode_tab_add(struct pw_inode_tab *it, uint32_t ino, uint32_t dest)
{
	struct inode_ent *e;
	bool found;

	if ((it->n + 1) * 2 > pw_htab_slots(&it->ix) && inode_tab_grow(it))
		return -ENOMEM;
	e = pw_htab_find(&it->ix, inode_hash(ino), inode_classify, &ino, &found);
	if (found)
		return 0;
	e->ino = ino;
	e->dest = dest;
	it->n++;
	return 0;
}

static long inode_tab_find(const struct pw_inode_tab *it, uint32_t ino)
{
	const struct inode_ent *e;
	bool found;

	if (!it->ix.slots)
		return -1;
	e = pw_htab_find(&it->ix, inode_hash(ino), inode_classify, &ino, &found);
	return found ? (long)e->dest : -1;
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

/* One process's sockets of t, each once: a socket it holds through
 * several descriptors (dup(), SCM_RIGHTS, inherited and kept) is one
 * socket. The inodes already counted are in seen: at most the distinct
 * sockets of t this process holds, freed on return. */
static int scan_pid(const struct pw_inode_tab *t, uint32_t pid,
		    struct pw_holder_list *(*list)(void *arg, uint32_t dest), void *arg)
{
	char path[64], link[64], comm[PW_COMM_LEN] = "";
	struct pw_inode_tab seen = { 0 };
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
		if (di < 0 || inode_tab_find(&seen, ino) >= 0)
			continue;
		r = pw_inode_tab_add(&seen, ino, 0);
		if (r)
			break;
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
	pw_inode_tab_free(&seen);
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
	pw_htab_free(&t->ix);
	t->n = 0;
}
