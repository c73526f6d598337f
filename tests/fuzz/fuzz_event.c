// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: event formatting (pw_event_json, pw_event_text) on
 * arbitrary struct pw_event bytes, as a ring buffer could deliver them.
 * Input: the event (zero-padded if short), then 8 bytes of mono_to_real,
 * then a cgroup path (any bytes, cut at the first NUL and at PATH_MAX - 1)
 * parsed into the event's workload (pw_workload_parse), as the hierarchy
 * could name it. The JSON must be one valid object of type "connect"; the
 * text line one line without control bytes, valid UTF-8; both must fit
 * portwatch's line buffer (app->line in user/portwatch.c). */
#include <limits.h>
#include <stdint.h>
#include "fuzz.h"
#include "output.h"
#include "workload.h"

#define LINE_MAX_BYTES 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_event e;
	int64_t mono_to_real = 0;
	char *line = malloc(LINE_MAX_BYTES);
	struct json_object *o, *v;
	struct pw_workload w, *wp = NULL;
	char path[PATH_MAX];
	struct sbuf sb;

	fz_assert(line, "malloc");
	memset(&e, 0, sizeof(e));
	memcpy(&e, data, size < sizeof(e) ? size : sizeof(e));
	if (size >= sizeof(e) + sizeof(mono_to_real))
		memcpy(&mono_to_real, data + sizeof(e), sizeof(mono_to_real));
	if (size > sizeof(e) + sizeof(mono_to_real)) {
		size_t n = size - sizeof(e) - sizeof(mono_to_real);

		n = n < sizeof(path) - 1 ? n : sizeof(path) - 1;
		memcpy(path, data + sizeof(e) + sizeof(mono_to_real), n);
		path[n] = '\0';
		fz_assert(!pw_workload_parse(path, &w), "pw_workload_parse");
		wp = &w;
	}

	sb_init(&sb, line, LINE_MAX_BYTES);
	fz_assert(pw_event_json(&sb, &e, mono_to_real, wp), "JSON did not fit: %zu", sb.len);
	o = fz_json(line, sb.len);
	fz_assert(json_object_is_type(o, json_type_object), "not an object");
	fz_assert(!strcmp(fz_json_str(o, "type"), "connect"), "type");
	fz_json_str(o, "time");
	fz_json_str(o, "comm");
	fz_assert(json_object_object_get_ex(o, "pid", &v) && json_object_is_type(v, json_type_int) &&
		  (uint64_t)json_object_get_int64(v) == e.pid, "pid");
	/* a failure after port selection whose errno was not seen: ret null */
	if (e.ret == -PW_ERR_UNKNOWN)
		fz_assert(json_object_object_get_ex(o, "ret", &v) && !v, "ret not null");
	else
		fz_assert(json_object_object_get_ex(o, "ret", &v) &&
			  json_object_get_int64(v) == e.ret, "ret");
	/* no destination (PW_NO_DEST): daddr and dport null */
	if (e.flags & PW_NO_DEST)
		fz_assert(json_object_object_get_ex(o, "dport", &v) && !v &&
			  json_object_object_get_ex(o, "daddr", &v) && !v, "dport/daddr not null");
	else
		fz_assert(json_object_object_get_ex(o, "dport", &v) &&
			  json_object_get_int64(v) == e.dport, "dport");
	json_object_put(o);

	sb_init(&sb, line, LINE_MAX_BYTES);
	fz_assert(pw_event_text(&sb, &e, mono_to_real, wp), "text did not fit: %zu", sb.len);
	fz_assert(strlen(line) == sb.len, "NUL inside the text line");
	for (size_t i = 0; i < sb.len; i++)
		fz_assert((unsigned char)line[i] >= 0x20 && line[i] != 0x7f,
			  "control byte %#x at %zu: %s", (unsigned char)line[i], i, line);
	fz_assert(fz_utf8_valid(line, sb.len), "text not UTF-8: %s", line);
	if (wp)
		pw_workload_clear(wp);
	free(line);
	return 0;
}
