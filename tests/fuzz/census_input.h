/* SPDX-License-Identifier: GPL-2.0 */
/* The input of fuzz_census (and what record_diag writes): this header, then
 * owners_len bytes of recorded sock_diag replies of the owners' dumps
 * (listeners, bound sockets), then those of the other states to the end. */
#ifndef PW_FUZZ_CENSUS_INPUT_H
#define PW_FUZZ_CENSUS_INPUT_H

#include <stdint.h>

#define FZ_ONE_DEST	1	/* flags: census of the one destination below */
#define FZ_UDP		2	/* flags: the others' replies are the UDP dump too */

struct fz_census_hdr {
	uint16_t lo, hi;		/* ip_local_port_range */
	uint8_t tw_reuse;
	uint8_t flags;
	uint16_t dport;			/* with FZ_ONE_DEST */
	uint16_t family;
	uint8_t pad[2];
	uint8_t daddr[16];
	uint32_t owners_len;
};

#endif /* PW_FUZZ_CENSUS_INPUT_H */
