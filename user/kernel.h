/* SPDX-License-Identifier: GPL-2.0 */
/* The running kernel's version, for the features and remedies that depend
 * on it. */
#ifndef PW_KERNEL_H
#define PW_KERNEL_H

#include <stdbool.h>

/* The running kernel's version from uname(2); false if unparsable. */
bool pw_kernel_version(int *major, int *minor, int *patch);
/* "6.18.44-fc-v657" -> 6 18 44. Debian's "6.1.0-27-cloud-amd64" hides the
 * real sublevel: when version (uname -v, may be NULL) has "Debian 6.1.115",
 * that one is taken. */
bool pw_parse_kernel_version(const char *release, const char *version,
			     int *major, int *minor, int *patch);

#endif /* PW_KERNEL_H */
