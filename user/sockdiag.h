/* SPDX-License-Identifier: GPL-2.0 */
/* NETLINK_SOCK_DIAG transport: inet_diag dumps of TCP sockets (as ss
 * reads them), live from a socket or replayed from recorded replies. */
#ifndef PW_SOCKDIAG_H
#define PW_SOCKDIAG_H

#include <stddef.h>
#include <stdint.h>
#include <linux/inet_diag.h>

/* Called for each socket of a dump: 0 to go on, or -errno to stop it. */
typedef int (*pw_sockdiag_fn)(void *arg, const struct inet_diag_msg *m);

/* Within a pw_sockdiag_fn, for the message m it was handed: the u8
 * attribute type (INET_DIAG_*, e.g. INET_DIAG_SKV6ONLY, which the kernel
 * gives for inet6 sockets in LISTEN or CLOSE), or -1 if the message has
 * none (or m is not the message being handed over). */
int pw_sockdiag_attr_u8(const struct inet_diag_msg *m, unsigned int type);

/* A NETLINK_SOCK_DIAG socket of the caller's netns (it is bound to the
 * netns at creation); -errno with the reason in err. */
int pw_sockdiag_open(char *err, size_t errsz);

/* One dump of the TCP sockets of family in the states (a bit per kernel
 * state), towards dport if not 0. 0 or -errno. */
int pw_sockdiag_dump(int fd, uint8_t family, uint32_t states, uint16_t dport,
		     pw_sockdiag_fn fn, void *arg);
/* The same for protocol (IPPROTO_TCP or IPPROTO_UDP), from local port
 * sport if not 0 (the kernel filters; callers check again). */
int pw_sockdiag_dump_proto(int fd, uint8_t family, uint8_t protocol, uint32_t states,
			   uint16_t sport, uint16_t dport, pw_sockdiag_fn fn, void *arg);
/* pw_sockdiag_dump for inet then inet6 (no inet6 diag: nothing to see);
 * 0 or -errno with the reason in err. */
int pw_sockdiag_dump_tcp(int fd, uint32_t states, uint16_t dport, pw_sockdiag_fn fn,
			 void *arg, char *err, size_t errsz);

/* pw_sockdiag_dump_tcp for every UDP socket (IPPROTO_UDP, any state);
 * -ENOENT (no udp_diag in this kernel) with the reason in err. */
int pw_sockdiag_dump_udp(int fd, pw_sockdiag_fn fn, void *arg, char *err, size_t errsz);

/* The messages of one reply datagram (n bytes at buf, 4-byte aligned):
 * 1 at the end of the dump, 0 to go on, or -errno; *used = the bytes up to
 * and with the message that ended the dump. Pure: no I/O. */
int pw_sockdiag_parse(const void *buf, size_t n, uint32_t seq, pw_sockdiag_fn fn, void *arg,
		      size_t *used);
/* Every dump in buf (replies as recorded, each ending in NLMSG_DONE). */
int pw_sockdiag_replay(const void *buf, size_t n, pw_sockdiag_fn fn, void *arg);

#endif /* PW_SOCKDIAG_H */
