/* SPDX-License-Identifier: GPL-2.0 */
/* The census's table of destinations, bounded by PW_CENSUS_MAX_DESTS rows
 * per netns whatever the destinations a tenant makes (for census.c). */
#ifndef PW_CENSUS_DESTS_H
#define PW_CENSUS_DESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "census.h"
#include "hashtab.h"
#include "holders.h"

/* Census memory is bounded by PW_CENSUS_MAX_DESTS entries per netns, not by
 * the destinations a tenant makes. PASS_EXACT counts every destination;
 * past the cap it is given up and the dumps read twice more: PASS_SKETCH
 * counts sockets per destination in a count-min sketch (never under the
 * truth), PASS_ADMIT keeps the destinations whose estimate reaches a
 * threshold that only rises (raised and the entries under it folded into
 * "other" when the table is full). A destination's estimate is fixed during
 * PASS_ADMIT, so each is counted whole in its own row or whole in "other":
 * rows and totals are exact for that last dump. PASS_HOLDERS (--census)
 * maps the kept destinations' socket inodes to their rows. */
enum pw_census_pass { PASS_EXACT, PASS_SKETCH, PASS_ADMIT, PASS_HOLDERS };

struct pw_dest_acc {
	struct pw_holder_list holders;
	uint32_t est;		/* the sketch's count of it (PASS_ADMIT) */
};

struct pw_dest_table {
	struct pw_census_ns *out;	/* its dests, ndests and other */
	size_t capd;
	struct pw_dest_acc *acc;	/* parallel to out->dests */
	struct pw_htab index;		/* dest index + 1, 0 = empty; at most half full */
	enum pw_census_pass pass;
	size_t max_dests;
	bool overflow;			/* PASS_EXACT met more than max_dests */
	uint32_t *sketch;		/* SKETCH_ROWS x SKETCH_COLS */
	uint32_t admit_min;		/* PASS_ADMIT's threshold */
};

/* Index of the destination's entry, created if new; -ENOMEM. */
long pw_dests_get(struct pw_dest_table *t, const struct pw_dest *k);
/* Index of the destination's entry, or -1. */
long pw_dests_find(const struct pw_dest_table *t, const struct pw_dest *k);
/* The entry a socket towards k counts in: an index, or -ENOSPC for
 * "other" (PASS_EXACT past the cap: it sets overflow), or -ENOMEM. */
long pw_dests_admit(struct pw_dest_table *t, const struct pw_dest *k);
/* PASS_SKETCH: one socket towards k. */
void pw_dests_sketch_add(struct pw_dest_table *t, const struct pw_dest *k);
/* The sketch for PASS_SKETCH and PASS_ADMIT; 0 or -ENOMEM. */
int pw_dests_sketch_new(struct pw_dest_table *t);
/* Forget the entries and "other" (not the table's room), for the next pass. */
void pw_dests_reset(struct pw_dest_table *t);
void pw_dests_free(struct pw_dest_table *t);

#endif /* PW_CENSUS_DESTS_H */
