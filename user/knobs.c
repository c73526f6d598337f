// SPDX-License-Identifier: GPL-2.0
/* The environment variables of knobs.h. */
#include <stdio.h>
#include <stdlib.h>
#include "attach.h"
#include "cli.h"
#include "knobs.h"

/* A bound a test may lower: unset or empty, the bound itself; else a
 * number from 1 to max, or false with one line. */
static bool test_knob(const char *name, unsigned long max, unsigned long *v)
{
	const char *s = getenv(name);

	*v = max;
	if (!s || !*s || !pw_parse_uint(s, 1, max, v))
		return true;
	fprintf(stderr, "portwatch: %s='%s': a number from 1 to %lu\n", name, s, max);
	return false;
}

int pw_knobs_read(struct pw_knobs *k)
{
	if (pw_kretprobe_maxactive() < 0) {
		fprintf(stderr, "portwatch: PORTWATCH_KRETPROBE_MAXACTIVE='%s': a number from 1 to 4096\n",
			getenv("PORTWATCH_KRETPROBE_MAXACTIVE"));
		return PW_EXIT_USAGE;
	}
	if (!test_knob("PORTWATCH_TEST_PROCS_OPEN", PW_PROCS_OPEN, &k->procs_open) ||
	    !test_knob("PORTWATCH_TEST_WL_CACHE", PW_WL_CACHE, &k->wl_cache))
		return PW_EXIT_USAGE;
	if (pw_stash_ncpu() <= 0) {
		fprintf(stderr, "portwatch: PORTWATCH_TEST_NCPU='%s': a number from 1 to 8192\n",
			getenv("PORTWATCH_TEST_NCPU") ?: "");
		return PW_EXIT_USAGE;
	}
	if (pw_bind_calls_max() <= 0) {
		fprintf(stderr, "portwatch: PORTWATCH_TEST_BIND_CALLS='%s': a number from 1 to %d\n",
			getenv("PORTWATCH_TEST_BIND_CALLS") ?: "", PW_BIND_CALLS);
		return PW_EXIT_USAGE;
	}
	k->no_fifo_guard = getenv("PORTWATCH_NO_FIFO_GUARD") != NULL;
	return 0;
}
