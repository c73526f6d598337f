// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: JSON string escaping (sb_json_str), Prometheus label
 * escaping (pw_prom_label) and the terminal-safe text (sb_comm_text,
 * sb_safe_text: no control code point, C1 and bidi included) on arbitrary
 * bytes. Input: one byte of buffer capacity, then the string. */
#include <stdint.h>
#include "fuzz.h"
#include "metrics.h"
#include "output.h"

/* Text a terminal only shows: valid UTF-8 without a control code point
 * (C0, DEL, C1, bidi and format controls: pw_cp_is_control). */
static void fz_no_control(const char *what, const char *buf, size_t len)
{
	for (size_t i = 0, l; i < len; i += l) {
		l = pw_text_seq_len((const unsigned char *)buf + i, len - i);
		fz_assert(l, "%s: a control or invalid UTF-8 at %zu", what, i);
	}
}

/* Escaped JSON of s into an exactly-sized heap buffer of cap bytes (ASan sees
 * any write past it): either it fits whole or err is set. */
static void json_in_small_buffer(const char *s, size_t n, size_t cap, const char *whole,
				 size_t whole_len)
{
	char *buf = malloc(cap);
	struct sbuf sb;

	fz_assert(buf, "malloc");
	sb_init(&sb, buf, cap);
	sb_json_str(&sb, s, n);
	fz_assert(sb.len < cap && buf[sb.len] == '\0', "unterminated at len %zu cap %zu", sb.len,
		  cap);
	if (!sb.err)
		fz_assert(sb.len == whole_len && !memcmp(buf, whole, whole_len),
			  "fits in %zu but differs", cap);
	else
		fz_assert(whole_len >= cap - 1, "err with room: %zu of %zu", whole_len, cap);
	free(buf);
}

static void check_json(const char *s, size_t n, size_t cap)
{
	size_t bufsz = n * 6 + 3;	/* \u00XX per byte, quotes, NUL */
	char *buf = malloc(bufsz);
	struct json_object *o;
	struct sbuf sb;

	fz_assert(buf, "malloc");
	sb_init(&sb, buf, bufsz);
	sb_json_str(&sb, s, n);
	fz_assert(!sb.err, "%zu bytes did not fit in %zu", n, bufsz);
	for (size_t i = 0; i < sb.len; i++)
		fz_assert((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f, "raw control byte %#x",
			  (unsigned char)buf[i]);
	fz_no_control("JSON", buf, sb.len);	/* C1, bidi: escaped too */
	o = fz_json(buf, sb.len);
	fz_assert(json_object_is_type(o, json_type_string), "not a string: %s", buf);
	/* valid input comes back byte for byte */
	if (fz_utf8_valid(s, n))
		fz_assert((size_t)json_object_get_string_len(o) == n &&
			  !memcmp(json_object_get_string(o), s, n), "round trip of %zu bytes", n);
	else
		fz_assert(fz_utf8_valid(json_object_get_string(o), json_object_get_string_len(o)),
			  "decoded string not UTF-8");
	json_object_put(o);
	if (cap)
		json_in_small_buffer(s, n, cap, buf, sb.len);
	free(buf);
}

static void check_label(const char *s, size_t n)
{
	char *out = NULL, *un;
	size_t len = 0, k = 0;
	FILE *f = open_memstream(&out, &len);

	fz_assert(f, "open_memstream");
	pw_prom_label(f, s, n);
	fz_assert(!fclose(f), "fclose");
	fz_assert(fz_utf8_valid(out, len), "label not UTF-8");
	un = malloc(len + 1);
	fz_assert(un, "malloc");
	/* the exposition format: only \\, \" and \n are escapes; no raw " or
	 * newline may end the label early */
	for (size_t i = 0; i < len; i++) {
		fz_assert(out[i] != '"' && out[i] != '\n', "raw %#x at %zu", out[i], i);
		if (out[i] == '\\') {
			fz_assert(i + 1 < len && strchr("\\\"n", out[i + 1]) && out[i + 1],
				  "bad escape at %zu", i);
			i++;
			un[k++] = out[i] == 'n' ? '\n' : out[i];
		} else {
			un[k++] = out[i];
		}
	}
	if (fz_utf8_valid(s, n))
		fz_assert(k == n && !memcmp(un, s, n), "label round trip");
	free(un);
	free(out);
}

static void check_comm(const char *s, size_t n)
{
	char comm[PW_COMM_LEN] = { 0 }, buf[PW_COMM_LEN * 4 + 1];
	struct sbuf sb;

	memcpy(comm, s, n < sizeof(comm) ? n : sizeof(comm));
	sb_init(&sb, buf, sizeof(buf));
	sb_comm_text(&sb, comm);
	fz_assert(!sb.err, "comm did not fit");
	for (size_t i = 0; i < sb.len; i++)
		fz_assert((unsigned char)buf[i] >= 0x20 && buf[i] != 0x7f, "control byte in comm");
	fz_assert(fz_utf8_valid(buf, sb.len), "comm text not UTF-8");
	fz_no_control("comm text", buf, sb.len);
}

static void check_safe_text(const char *s, size_t n)
{
	char *buf = malloc(n * 4 + 1);
	struct sbuf sb;

	fz_assert(buf, "malloc");
	sb_init(&sb, buf, n * 4 + 1);
	sb_safe_text(&sb, s, n);
	fz_assert(!sb.err, "%zu bytes did not fit", n);
	fz_no_control("safe text", buf, sb.len);
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s;
	size_t cap;

	if (!size)
		return 0;
	cap = data[0];
	s = (const char *)data + 1;
	check_json(s, size - 1, cap);
	check_label(s, size - 1);
	check_comm(s, size - 1);
	check_safe_text(s, size - 1);
	return 0;
}
