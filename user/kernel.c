// SPDX-License-Identifier: GPL-2.0
/* The running kernel's version (uname), with Debian's real sublevel. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/utsname.h>

#include "kernel.h"

bool pw_parse_kernel_version(const char *release, const char *version,
			     int *major, int *minor, int *patch)
{
	int ma, mi, pa = 0, used = 0;
	const char *deb;

	if (sscanf(release, "%d.%d%n", &ma, &mi, &used) != 2 || ma < 0 || mi < 0)
		return false;
	/* "6.1.-5": no sublevel, not a negative one */
	if (release[used] != '.' || !isdigit((unsigned char)release[used + 1]) ||
	    sscanf(release + used + 1, "%d", &pa) != 1 || pa < 0)
		pa = 0;
	/* Debian keeps the ABI "X.Y.0" in the release, the real sublevel in
	 * the version: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.115-1 (2024-11-01)" */
	if (pa == 0 && version && (deb = strstr(version, "Debian "))) {
		int dma, dmi, dpa;

		if (sscanf(deb + 7, "%d.%d.%d", &dma, &dmi, &dpa) == 3 && dma == ma && dmi == mi &&
		    dpa >= 0)
			pa = dpa;
	}
	*major = ma;
	*minor = mi;
	*patch = pa;
	return true;
}

bool pw_kernel_version(int *major, int *minor, int *patch)
{
	struct utsname u;

	if (uname(&u))
		return false;
	return pw_parse_kernel_version(u.release, u.version, major, minor, patch);
}
