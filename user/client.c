// SPDX-License-Identifier: GPL-2.0
/* Names of the HTTP clients portwatch tells apart (detection: procs.c). */
#include <stddef.h>

#include "client.h"

const char *pw_client_name(enum pw_client c)
{
	switch (c) {
	case PW_CLIENT_LIBCURL: return "libcurl";
	case PW_CLIENT_GO: return "go";
	case PW_CLIENT_JVM: return "jvm";
	case PW_CLIENT_PYTHON: return "python";
	case PW_CLIENT_NODE: return "node";
	default: return NULL;
	}
}

