/* SPDX-License-Identifier: GPL-2.0 */
#ifndef PW_MEMLOCK_H
#define PW_MEMLOCK_H

#include <stdbool.h>
#include <stddef.h>

/* After a load refused with EPERM: was it RLIMIT_MEMLOCK? True, with the
 * one line to print in why, when this kernel charges BPF memory to
 * RLIMIT_MEMLOCK (before 5.11) and the limit is still below infinity, i.e.
 * libbpf could not raise it (that takes CAP_SYS_RESOURCE above the hard
 * limit). False when the kernel uses memory cgroups, the limit is
 * infinity, or it cannot be told. */
bool pw_memlock_short(char *why, size_t sz);

#endif
