/* SPDX-License-Identifier: GPL-2.0 */
/* --census: one census of every network namespace with TCP sockets (or the
 * --netns one), printed; no BPF. */
#ifndef PW_CENSUS_ONCE_H
#define PW_CENSUS_ONCE_H

#include "caps.h"
#include "cli.h"

/* The exit code (PW_EXIT_*). */
int pw_census_once(const struct env *env, const struct pw_privs *privs);

#endif /* PW_CENSUS_ONCE_H */
