/* SPDX-License-Identifier: GPL-2.0 */
/* Folding of repeated text lines in a failure storm. A key is (pid,
 * destination, errno, cause). The first PW_FOLD_AFTER events of a burst of a
 * key are printed; the rest are counted and come out as one line per key per
 * second:
 *   "  ... 52,384 more  gen[27174] -> 127.0.0.1:9000 port_range_exhausted (1.0 s)"
 * A key quiet for a second starts a new burst. The table is bounded: when a
 * key finds no room, its events fold into one "other" line. Lines printed
 * plus lines folded always equal the events seen. Single-threaded. */
#ifndef PW_FOLD_H
#define PW_FOLD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <linux/types.h>
#include "portwatch.h"

#define PW_FOLD_AFTER		3
#define PW_FOLD_WINDOW_NS	1000000000ull

struct pw_fold;

struct pw_fold *pw_fold_new(unsigned int slots);	/* rounded up to a power of 2 */
void pw_fold_free(struct pw_fold *f);

/* For each event, in order: true when its line is to be printed, false when
 * it was folded. A window of the key that is over is written to out first. */
bool pw_fold_event(struct pw_fold *f, const struct pw_event *e, FILE *out);
/* Write the "more" lines of windows over by now_ns (all of them with all). */
void pw_fold_flush(struct pw_fold *f, uint64_t now_ns, bool all, FILE *out);
/* When the next window is due (0: none pending). */
uint64_t pw_fold_next_due(const struct pw_fold *f);

uint64_t pw_fold_printed(const struct pw_fold *f);
uint64_t pw_fold_folded(const struct pw_fold *f);

/* "52,384" */
void pw_thousands(char *dst, size_t sz, uint64_t v);

#endif /* PW_FOLD_H */
