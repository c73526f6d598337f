/* SPDX-License-Identifier: GPL-2.0 */
/* The census's UDP part: the UDP sockets of a netns holding ports of its
 * ephemeral range (UDP autobind draws from the same ip_local_port_range
 * but from UDP's own port space, apart from TCP's), counted from one
 * NETLINK_SOCK_DIAG dump of IPPROTO_UDP. Memory: a 65536-bit port map and
 * one holder entry per holding process, whatever the sockets. */
#ifndef PW_CENSUS_UDP_H
#define PW_CENSUS_UDP_H

#include <stdint.h>
#include <linux/inet_diag.h>
#include "census.h"
#include "holders.h"
#include "sysctl.h"

/* The UDP row's index in the census's socket inode table (the TCP rows
 * are below PW_CENSUS_MAX_DESTS). */
#define PW_CENSUS_UDP_ROW	0x7fffffffu

struct pw_udp_acc {
	int lo, hi;			/* ip_local_port_range */
	const uint8_t *reserved;	/* ip_local_reserved_ports (bitmap), or NULL */
	struct pw_inode_tab *itab;	/* for holders: inode -> PW_CENSUS_UDP_ROW; or NULL */
	uint32_t sockets, in_range;
	uint8_t ports[PW_NPORTS / 8];	/* ports of the range held */
	struct pw_holder_list holders;
};

/* A pw_sockdiag_fn: one UDP socket of the dump (arg: a pw_udp_acc). */
int pw_census_udp_on_socket(void *arg, const struct inet_diag_msg *m);
/* What a has counted into out (holders: the PW_MAX_HOLDERS with the most
 * sockets); out->taken set. */
void pw_census_udp_finish(struct pw_udp_acc *a, struct pw_census_udp *out);
void pw_census_udp_acc_free(struct pw_udp_acc *a);

#endif /* PW_CENSUS_UDP_H */
