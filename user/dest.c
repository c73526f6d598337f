// SPDX-License-Identifier: GPL-2.0
#include "dest.h"
#include "output.h"

void pw_dest_text(char *dst, size_t sz, const struct pw_dest *d)
{
	struct sbuf sb;

	sb_init(&sb, dst, sz);
	sb_dest(&sb, d->family, d->addr, d->port);
	if (sb.err && sz)
		dst[0] = '\0';
}
