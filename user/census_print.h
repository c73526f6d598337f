/* SPDX-License-Identifier: GPL-2.0 */
/* A census as text and NDJSON (README: --census), and the one-line
 * diagnosis under a failure event. */
#ifndef PW_CENSUS_PRINT_H
#define PW_CENSUS_PRINT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "census.h"

/* Output: one text table per netns, or one NDJSON object per destination
 * ({"type":"census",...} as in the README). */
void pw_census_print_text(FILE *f, const struct pw_census_ns *ns);
void pw_census_print_json(FILE *f, const struct pw_census_ns *ns);
/* The one-line diagnosis under a failure event:
 * "127.0.0.1:8080 (netns 4026532260): 10/10 ports held, 10 TIME_WAIT, tw_reuse=0" */
void pw_census_diag_line(char *buf, size_t sz, const struct pw_census_ns *ns,
			 const struct pw_census_dest *d);
/* The same as a JSON object (no braces' trailing newline), for the event's
 * "pressure" field. */
void pw_census_diag_json(FILE *f, const struct pw_census_ns *ns, const struct pw_census_dest *d);
struct sbuf;
/* pw_census_diag_json into a string builder, for the event's JSON. */
bool pw_census_diag_sb(struct sbuf *sb, const struct pw_census_ns *ns,
		       const struct pw_census_dest *d);

#endif /* PW_CENSUS_PRINT_H */
