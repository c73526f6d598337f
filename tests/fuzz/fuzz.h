/* SPDX-License-Identifier: GPL-2.0 */
/* Shared by the libFuzzer targets (tests/fuzz/fuzz_*.c): checks that abort,
 * so libFuzzer records the input as a crash with its reproducer. */
#ifndef PW_FUZZ_H
#define PW_FUZZ_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <iconv.h>
#include <json-c/json.h>

#define fz_assert(cond, ...)							\
	do {									\
		if (!(cond)) {							\
			fprintf(stderr, "fuzz check failed at %s:%d: %s: ",	\
				__FILE__, __LINE__, #cond);			\
			fprintf(stderr, __VA_ARGS__);				\
			fputc('\n', stderr);					\
			abort();						\
		}								\
	} while (0)

/* Parse exactly n bytes as one JSON value with json-c (strict, UTF-8
 * checked); abort if it is not one. The caller puts the result. */
static inline struct json_object *fz_json(const char *s, size_t n)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;

	fz_assert(tok, "json_tokener_new");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	fz_assert(n < 1u << 30 && !memchr(s, '\n', n), "one line: %.*s", (int)n, s);
	o = json_tokener_parse_ex(tok, s, (int)n);
	fz_assert(o && json_tokener_get_error(tok) == json_tokener_success &&
		  json_tokener_get_parse_end(tok) == n,
		  "invalid JSON (%s): %.*s", json_tokener_error_desc(json_tokener_get_error(tok)),
		  (int)n, s);
	json_tokener_free(tok);
	return o;
}

/* The string member key of object o. */
static inline const char *fz_json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	fz_assert(json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string),
		  "no string \"%s\" in %s", key, json_object_to_json_string(o));
	return json_object_get_string(v);
}

/* Is s[0..n) valid UTF-8? glibc's iconv decides, not portwatch's
 * pw_utf8_seq_len (what is under test). */
static inline int fz_utf8_valid(const char *s, size_t n)
{
	static iconv_t cd = (iconv_t)-1;
	char out[256], *in = (char *)s, *o;
	size_t left = n, oleft;

	if (cd == (iconv_t)-1)
		cd = iconv_open("UTF-32LE", "UTF-8");
	fz_assert(cd != (iconv_t)-1, "iconv_open");
	iconv(cd, NULL, NULL, NULL, NULL);
	while (left) {
		o = out;
		oleft = sizeof(out);
		if (iconv(cd, &in, &left, &o, &oleft) == (size_t)-1 && errno != E2BIG)
			return 0;
	}
	return 1;
}

#endif /* PW_FUZZ_H */
