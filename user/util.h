/* SPDX-License-Identifier: GPL-2.0 */
/* The helpers every module shares: FNV-1a, a multiplicative mix, the clock. */
#ifndef PW_UTIL_H
#define PW_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define PW_FNV1A_INIT	0xcbf29ce484222325ull	/* the 64-bit offset basis */
#define PW_FNV1A_PRIME	0x100000001b3ull
#define PW_GOLDEN64	0x9e3779b97f4a7c15ull	/* 2^64 / phi: Fibonacci hashing */

/* FNV-1a over n bytes, from h (PW_FNV1A_INIT, or a seed mixed in before). */
static inline uint64_t pw_fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	while (n--)
		h = (h ^ *b++) * PW_FNV1A_PRIME;
	return h;
}

/* FNV-1a over a string up to its NUL. */
static inline uint64_t pw_fnv1a_str(uint64_t h, const char *s)
{
	while (*s)
		h = (h ^ (unsigned char)*s++) * PW_FNV1A_PRIME;
	return h;
}

/* clk's time in ns (CLOCK_MONOTONIC, CLOCK_BOOTTIME, CLOCK_THREAD_CPUTIME_ID) */
static inline int64_t pw_clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

#endif /* PW_UTIL_H */
