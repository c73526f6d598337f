// SPDX-License-Identifier: GPL-2.0
/* The bounded string builder every formatter appends to (sbuf.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "sbuf.h"

void sb_init(struct sbuf *sb, char *buf, size_t cap)
{
	sb->buf = buf;
	sb->cap = cap;
	sb->len = 0;
	sb->err = cap == 0;
	if (cap)
		buf[0] = '\0';
}

void sb_printf(struct sbuf *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(sb->buf + sb->len, sb->cap - sb->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sb->cap - sb->len) {
		sb->err = true;
		sb->buf[sb->len] = '\0';
		return;
	}
	sb->len += n;
}

/* Decimal digits of v, at least `width` (up to 20) of them, zero-padded;
 * two digits per division. */
void sb_u64w(struct sbuf *sb, uint64_t v, unsigned int width)
{
	static const char pairs[201] =
		"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
		"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
		"8081828384858687888990919293949596979899";
	char d[24];
	int i = sizeof(d);

	while (v >= 100) {
		unsigned int r = v % 100;

		v /= 100;
		i -= 2;
		memcpy(d + i, pairs + 2 * r, 2);
	}
	if (v >= 10) {
		i -= 2;
		memcpy(d + i, pairs + 2 * v, 2);
	} else {
		d[--i] = '0' + v;
	}
	while ((int)sizeof(d) - i < (int)width && i > 0)
		d[--i] = '0';
	sb_put(sb, d + i, sizeof(d) - i);
}

void sb_u64(struct sbuf *sb, uint64_t v)
{
	sb_u64w(sb, v, 1);
}

void sb_i64(struct sbuf *sb, int64_t v)
{
	if (v < 0) {
		sb_putc(sb, '-');
		sb_u64(sb, -(uint64_t)v);
	} else {
		sb_u64(sb, v);
	}
}

void sb_pad(struct sbuf *sb, size_t from, size_t width)
{
	static const char spaces[] = "                                ";
	size_t have = sb->len - from;

	while (!sb->err && have < width) {
		size_t n = width - have < sizeof(spaces) - 1 ? width - have : sizeof(spaces) - 1;

		sb_put(sb, spaces, n);
		have += n;
	}
}
