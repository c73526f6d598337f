/* SPDX-License-Identifier: GPL-2.0 */
/* A buffer between guard bytes, for the overflow tests of the string
 * builder and of what appends to it (include after cmocka.h). */
#ifndef PW_TEST_SB_GUARD_H
#define PW_TEST_SB_GUARD_H

#define GUARD 0xa5

static inline void check_guards(const unsigned char *mem, size_t lo, size_t hi)
{
	for (size_t i = 0; i < lo; i++)
		assert_int_equal(mem[i], GUARD);
	for (size_t i = 0; i < hi; i++)
		assert_int_equal(mem[lo + 8 + i], GUARD);
}

#endif /* PW_TEST_SB_GUARD_H */
