/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the sockgauge files only: the scan's interned strings (a
 * workload's labels, a cgroup path), each with two values, in a table
 * doubled to stay at most half full (sockgauge_intern.c). */
#ifndef PW_SOCKGAUGE_INTERNAL_H
#define PW_SOCKGAUGE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hashtab.h"

struct pw_intern {
	struct pw_htab ix;
	char **s;
	uint32_t *val, *val2;
	size_t n, cap;
};

/* The index of s (a copy made if new, with value val); *isnew; -ENOMEM. */
long pw_intern(struct pw_intern *t, const char *s, uint32_t val, bool *isnew);
void pw_intern_clear(struct pw_intern *t);
void pw_intern_free(struct pw_intern *t);

#endif /* PW_SOCKGAUGE_INTERNAL_H */
