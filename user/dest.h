/* SPDX-License-Identifier: GPL-2.0 */
/* A destination: family, address and port, as every table keyed by one
 * holds it. The address is 16 bytes, IPv4 in the first 4 (the rest zero),
 * the port in host order. No padding: 20 bytes. */
#ifndef PW_DEST_H
#define PW_DEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "util.h"

struct pw_dest {
	uint8_t addr[16];
	uint16_t family;	/* AF_INET / AF_INET6 */
	uint16_t port;
};

static inline void pw_dest_set(struct pw_dest *d, uint16_t family, const uint8_t addr[16],
			       uint16_t port)
{
	memcpy(d->addr, addr, sizeof(d->addr));
	d->family = family;
	d->port = port;
}

_Static_assert(sizeof(struct pw_dest) == 20, "struct pw_dest has no padding");

/* Every byte is a field's: one compare of the whole (inlined), not three. */
static inline bool pw_dest_eq(const struct pw_dest *a, const struct pw_dest *b)
{
	return !memcmp(a, b, sizeof(*a));
}

/* Mixed with seed (a netns, or 0): two words of address, not a byte loop,
 * as it runs for every failure event. */
static inline uint64_t pw_dest_hash(const struct pw_dest *d, uint64_t seed)
{
	uint64_t a0, a1, h;

	memcpy(&a0, d->addr, 8);
	memcpy(&a1, d->addr + 8, 8);
	h = (seed ^ ((uint64_t)d->family << 16 | d->port)) * PW_GOLDEN64;
	h = (h ^ a0) * 0xff51afd7ed558ccdull;
	h = (h ^ a1) * 0xc4ceb9fe1a85ec53ull;
	return h ^ h >> 29;
}

/* "a.b.c.d:port" or "[v6]:port"; empty when it does not fit in sz. */
void pw_dest_text(char *dst, size_t sz, const struct pw_dest *d);

#endif /* PW_DEST_H */
