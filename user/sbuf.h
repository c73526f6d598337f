/* SPDX-License-Identifier: GPL-2.0 */
/* A bounded string builder: what every formatter appends to. No I/O. */
#ifndef PW_SBUF_H
#define PW_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* `err` sticks once anything did not fit. */
struct sbuf {
	char *buf;
	size_t cap;
	size_t len;
	bool err;
};

void sb_init(struct sbuf *sb, char *buf, size_t cap);
void sb_printf(struct sbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* printf-free appends for the per-event path; like sb_printf, a piece
 * that does not fit sets err and leaves the text before it terminated.
 * Inline: a formatted event is built from memcpy and digit loops only, and
 * as calls into sbuf.c these three cost the consumer 14% more
 * instructions per event (docs/performance.md). */
static inline void sb_put(struct sbuf *sb, const char *s, size_t n)
{
	if (sb->err)
		return;
	if (n >= sb->cap - sb->len) {
		sb->err = true;
		return;
	}
	memcpy(sb->buf + sb->len, s, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}
#define sb_lit(sb, s) sb_put(sb, s, sizeof(s) - 1)
static inline void sb_puts(struct sbuf *sb, const char *s)
{
	sb_put(sb, s, strlen(s));
}
static inline void sb_putc(struct sbuf *sb, char c)
{
	sb_put(sb, &c, 1);
}
void sb_u64(struct sbuf *sb, uint64_t v);
/* at least width digits, zero-padded */
void sb_u64w(struct sbuf *sb, uint64_t v, unsigned int width);
void sb_i64(struct sbuf *sb, int64_t v);
/* Spaces until the text since `from` is `width` long (then one at least is
 * the caller's: the columns are separated by a space). */
void sb_pad(struct sbuf *sb, size_t from, size_t width);

#endif /* PW_SBUF_H */
