/* SPDX-License-Identifier: GPL-2.0 */
/* Drawing the --top view (top_screen.c) with ncursesw: the header, the table
 * (columns dropped by priority to fit the width), the census panel of the
 * selected row, the key line or the filter prompt, the help. */
#ifndef PW_TOP_SCREEN_H
#define PW_TOP_SCREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "top_model.h"

struct pw_top_ui {
	enum pw_top_view view;
	enum pw_top_sort sort;
	bool paused, help, color;
	bool filtering;			/* typing the filter */
	char filter[64];		/* rows whose name or top contain it */
	size_t sel;			/* among the rows shown */
	uint64_t sel_id;		/* the selected row's id: it follows the row */
	bool sel_set;			/* follow sel_id (not after a key moved it) */
	unsigned int every_s;
	/* the rows that pass the filter, as indexes (top_screen.c) */
	size_t *shown;
	size_t nshown;
};

/* Which rows pass the filter; the selection kept inside them. */
void pw_top_filter(struct pw_top_ui *ui, const struct pw_top_model *m);
/* The selected row, NULL when none is shown. */
const struct pw_top_row *pw_top_selected(const struct pw_top_ui *ui,
					 const struct pw_top_model *m);
/* The destination row the panel is about: the selected row's own in the
 * destinations view, else the one its workload fails most towards. */
const struct pw_top_row *pw_top_panel_dest(const struct pw_top_ui *ui,
					   const struct pw_top_model *m);
void pw_top_draw(const struct pw_top_ui *ui, struct pw_top_model *m);
/* The color pairs, when ui->color. */
void pw_top_colors(void);

extern const char *const pw_top_view_names[PW_VIEWS];
extern const char *const pw_top_sort_names[PW_TOP_SORTS];

#endif /* PW_TOP_SCREEN_H */
