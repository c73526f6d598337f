// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hashtab.h"

int pw_htab_init(struct pw_htab *t, size_t min_slots, size_t esz, size_t probes)
{
	size_t n = 1;

	memset(t, 0, sizeof(*t));
	if (!esz)
		return -EINVAL;
	while (n < min_slots) {
		if (n > SIZE_MAX / 2 / esz)
			return -EINVAL;
		n <<= 1;
	}
	if (n > SIZE_MAX / esz)
		return -EINVAL;
	/* calloc: the pages of a large table are touched only as it fills */
	t->slots = calloc(n, esz);
	if (!t->slots)
		return -ENOMEM;
	t->esz = esz;
	t->mask = n - 1;
	t->probes = probes && probes < n ? probes : n;
	return 0;
}

void pw_htab_free(struct pw_htab *t)
{
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

void pw_htab_clear(struct pw_htab *t)
{
	if (t->slots)
		memset(t->slots, 0, pw_htab_slots(t) * t->esz);
}
