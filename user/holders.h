/* SPDX-License-Identifier: GPL-2.0 */
/* Census holders: which processes hold the sockets of a destination, from
 * the socket inodes of a dump and the links in /proc/PID/fd. */
#ifndef PW_HOLDERS_H
#define PW_HOLDERS_H

#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>	/* portwatch.h needs __u8... */
#include "portwatch.h"
#include "hashtab.h"

struct pw_holder_acc {
	uint32_t pid;
	uint32_t n;		/* sockets */
	char comm[PW_COMM_LEN];
};

/* The holders of one destination, in /proc order until sorted. */
struct pw_holder_list {
	struct pw_holder_acc *h;
	size_t nh, caph;
};
/* Most sockets first, then by pid. */
void pw_holder_list_sort(struct pw_holder_list *l);

/* socket inode -> destination index (slots of {inode, index}, inode 0
 * = empty), kept at most half full: as big as the dump's sockets. */
struct pw_inode_tab {
	struct pw_htab ix;
	size_t n;
};
/* Map ino to dest (a second add of ino keeps the first); 0 or -ENOMEM. */
int pw_inode_tab_add(struct pw_inode_tab *t, uint32_t ino, uint32_t dest);
void pw_inode_tab_free(struct pw_inode_tab *t);

/* Walk /proc: each fd of a process that is a socket in t adds that process
 * to list(arg, dest). 0 or -errno. */
int pw_holders_scan(const struct pw_inode_tab *t,
		    struct pw_holder_list *(*list)(void *arg, uint32_t dest), void *arg);

/* The inode of a /proc/PID/fd link "socket:[12345]"; -EINVAL if it is not
 * one, -ERANGE past 32 bits (socket inodes are 32-bit). */
int pw_census_socket_inode(const char *link, uint32_t *ino);

/* Processes whose /proc/PID/fd could not be read (pw_census_skips()). */
uint64_t pw_holders_skipped(void);

#endif /* PW_HOLDERS_H */
