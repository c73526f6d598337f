/* SPDX-License-Identifier: GPL-2.0 */
/* The HTTP client a failing process runs, found from what it runs (its
 * mapped libraries, its executable's ELF contents: procs.c), never from
 * its name. */
#ifndef PW_CLIENT_H
#define PW_CLIENT_H

enum pw_client {
	PW_CLIENT_NONE = 0,	/* no failing process considered (--census) */
	PW_CLIENT_GONE,		/* it exited before portwatch could look */
	PW_CLIENT_UNKNOWN,	/* it lived; none of the clients below found */
	PW_CLIENT_LIBCURL,	/* libcurl mapped */
	PW_CLIENT_GO,		/* a Go binary (its build info) */
	PW_CLIENT_JVM,		/* libjvm.so mapped */
	PW_CLIENT_PYTHON,	/* CPython: libpython mapped, or its symbols in the executable */
	PW_CLIENT_NODE,		/* Node.js: libnode mapped, or node's symbols in the executable */
};
/* "libcurl", "go", "jvm", "python", "node"; NULL for the others. */
const char *pw_client_name(enum pw_client c);

#endif /* PW_CLIENT_H */
