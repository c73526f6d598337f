// SPDX-License-Identifier: GPL-2.0
/* Untrusted bytes made safe (escape.h): UTF-8 validation, JSON string
 * escaping, terminal-safe text. */
#include <string.h>
#include "escape.h"

/* The code point of the valid UTF-8 sequence at s in *cp; its length, 0 if
 * invalid (as pw_utf8_seq_len). */
static size_t utf8_decode(const unsigned char *s, size_t n, unsigned int *cp_out)
{
	size_t len;
	unsigned int cp;

	*cp_out = s[0];
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	*cp_out = cp;
	return len;
}

size_t pw_utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned int cp;

	return utf8_decode(s, n, &cp);
}

bool pw_cp_is_control(unsigned int cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||	/* C0, DEL, C1 (0x9b: CSI) */
	       cp == 0x061c || cp == 0x200e || cp == 0x200f ||	/* ALM, LRM, RLM */
	       (cp >= 0x2028 && cp <= 0x202e) ||		/* LS, PS, LRE..RLO */
	       (cp >= 0x2066 && cp <= 0x2069) ||		/* LRI..PDI */
	       (cp >= 0x206a && cp <= 0x206f);			/* deprecated format controls */
}

size_t pw_text_seq_len(const unsigned char *s, size_t n)
{
	unsigned int cp;
	size_t l = utf8_decode(s, n, &cp);

	return l && !pw_cp_is_control(cp) ? l : 0;
}

void sb_json_str(struct sbuf *sb, const char *str, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0, plain;
	unsigned int cp;

	sb_putc(sb, '"');
	while (i < n && !sb->err) {
		size_t l;

		/* a run of printable ASCII goes in one copy */
		for (plain = i; plain < n && s[plain] >= 0x20 && s[plain] < 0x7f &&
		     s[plain] != '"' && s[plain] != '\\'; plain++)
			;
		if (plain > i) {
			sb_put(sb, str + i, plain - i);
			i = plain;
			continue;
		}
		l = utf8_decode(s + i, n - i, &cp);
		if (l == 0) {
			sb_put(sb, "\\ufffd", 6);
			i++;
			continue;
		}
		if (l > 1 && pw_cp_is_control(cp)) {
			/* the same string, but a terminal showing the line acts on none */
			char u[6] = { '\\', 'u', hex[cp >> 12], hex[cp >> 8 & 15], hex[cp >> 4 & 15],
				      hex[cp & 15] };

			sb_put(sb, u, sizeof(u));
			i += l;
			continue;
		}
		if (l > 1) {
			sb_put(sb, str + i, l);
			i += l;
			continue;
		}
		switch (s[i]) {
		case '"':  sb_put(sb, "\\\"", 2); break;
		case '\\': sb_put(sb, "\\\\", 2); break;
		case '\n': sb_put(sb, "\\n", 2); break;
		case '\r': sb_put(sb, "\\r", 2); break;
		case '\t': sb_put(sb, "\\t", 2); break;
		case '\b': sb_put(sb, "\\b", 2); break;
		case '\f': sb_put(sb, "\\f", 2); break;
		default: {
			/* control bytes and DEL */
			char u[6] = { '\\', 'u', '0', '0', hex[s[i] >> 4], hex[s[i] & 15] };

			sb_put(sb, u, 6);
		}
		}
		i++;
	}
	sb_putc(sb, '"');
}

size_t pw_comm_len(const char *comm)
{
	size_t n = 0;

	while (n < PW_COMM_LEN && comm[n])
		n++;
	return n;
}

void pw_comm_text(char *dst, size_t sz, const char *comm)
{
	const unsigned char *s = (const unsigned char *)comm;
	size_t n = pw_comm_len(comm), i = 0, o = 0;

	if (!sz)
		return;
	while (i < n && o + 1 < sz) {
		size_t l = pw_text_seq_len(s + i, n - i), bad;

		if (l > 1 && o + l < sz) {
			memcpy(dst + o, s + i, l);
			o += l;
			i += l;
			continue;
		}
		dst[o++] = l == 1 ? (char)s[i] : '?';
		/* a control is one '?', an invalid byte one each */
		bad = l ? l : pw_utf8_seq_len(s + i, n - i);
		i += bad ? bad : 1;
	}
	dst[o] = '\0';
}

/* Safe comm for a terminal, appended. */
void sb_comm_text(struct sbuf *sb, const char *comm)
{
	char c[4 * PW_COMM_LEN];

	pw_comm_text(c, sizeof(c), comm);
	sb_puts(sb, c);
}

void sb_safe_text(struct sbuf *sb, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n && !sb->err) {
		size_t l = pw_text_seq_len(s + i, n - i), bad;

		if (l > 1) {
			sb_put(sb, str + i, l);
			i += l;
			continue;
		}
		sb_putc(sb, l == 1 ? (char)s[i] : '?');
		bad = l ? l : pw_utf8_seq_len(s + i, n - i);
		i += bad ? bad : 1;
	}
}
