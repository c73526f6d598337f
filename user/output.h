/* SPDX-License-Identifier: GPL-2.0 */
/* Decoding and formatting of events: errno and cause names, JSON escaping,
 * one text line or one NDJSON object per event. Pure functions: no I/O. */
#ifndef PW_OUTPUT_H
#define PW_OUTPUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>
#include "portwatch.h"

struct pw_workload;

/* A bounded string builder; `err` sticks once anything did not fit. */
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
 * that does not fit sets err and leaves the text before it terminated. */
void sb_put(struct sbuf *sb, const char *s, size_t n);
void sb_puts(struct sbuf *sb, const char *s);
void sb_putc(struct sbuf *sb, char c);
void sb_u64(struct sbuf *sb, uint64_t v);
/* at least width digits, zero-padded */
void sb_u64w(struct sbuf *sb, uint64_t v, unsigned int width);
void sb_i64(struct sbuf *sb, int64_t v);
/* an address as inet_ntop writes it; nothing for an unknown family */
void sb_addr(struct sbuf *sb, unsigned int family, const uint8_t addr[16]);
/* ADDR:PORT, [ADDR6]:PORT */
void sb_dest(struct sbuf *sb, unsigned int family, const uint8_t addr[16], uint16_t port);
/* comm made safe for a terminal (as pw_comm_text) */
void sb_comm_text(struct sbuf *sb, const char *comm);
/* Append a JSON string literal (with quotes) of n raw bytes: escapes quotes,
 * backslashes and control bytes, replaces invalid UTF-8 with \ufffd. */
void sb_json_str(struct sbuf *sb, const char *s, size_t n);

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), 0 if it is
 * invalid (overlong, surrogate, truncated, beyond U+10FFFF). */
size_t pw_utf8_seq_len(const unsigned char *s, size_t n);
/* A code point a terminal acts on instead of showing: C0, DEL, C1 (0x9b is
 * CSI), and the bidi and format controls that reorder or hide text (U+061C,
 * U+200E/200F, U+2028-202E, U+2066-206F). Text output prints each as one
 * '?'; JSON escapes it (\u009b). */
bool pw_cp_is_control(unsigned int cp);
/* pw_utf8_seq_len, but 0 also for a control (pw_cp_is_control): the length
 * of what text output may print as it is. */
size_t pw_text_seq_len(const unsigned char *s, size_t n);

/* "EADDRNOTAVAIL" for 99; NULL when unknown. */
const char *pw_errno_name(int err);
/* Like pw_errno_name, but "E<n>" for unknown ones, in buf. */
const char *pw_errno_label(int err, char *buf, size_t sz);
/* "port_range_exhausted", ...; NULL for PW_CAUSE_NONE. */
const char *pw_cause_name(unsigned int cause);
const char *pw_mode_name(unsigned int mode);
/* enum pw_op as in events and the op label: connect, bind, udp_connect,
 * udp_send; NULL for an unknown value. */
const char *pw_op_name(unsigned int op);
const char *pw_family_name(unsigned int family);

/* comm (up to PW_COMM_LEN bytes, NUL-terminated or not) made safe for a
 * terminal: each control (pw_cp_is_control) and each byte of invalid UTF-8
 * becomes '?'. */
void pw_comm_text(char *dst, size_t sz, const char *comm);
/* Length of comm up to its NUL, at most PW_COMM_LEN. */
size_t pw_comm_len(const char *comm);

/* "a.b.c.d" or an IPv6 text form; empty on a bad family. */
void pw_addr_text(char *dst, size_t sz, unsigned int family, const uint8_t addr[16]);

/* 2026-11-24T21:50:00.123456789Z */
void pw_time_rfc3339(char *dst, size_t sz, uint64_t realtime_ns);

/* Event time as realtime: events carry CLOCK_MONOTONIC ns. */
static inline uint64_t pw_event_realtime(const struct pw_event *e, int64_t mono_to_real)
{
	return e->ts_ns + mono_to_real;
}

/* One NDJSON object (no newline). w is the event's workload (its cgroup's),
 * NULL when unknown: its fields are then null. Returns false if it did not fit. */
bool pw_event_json(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real,
		   const struct pw_workload *w);
/* One text line under pw_event_header() (no newline); local time of day.
 * The last column is the workload (pw_workload_text). */
bool pw_event_text(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real,
		   const struct pw_workload *w);
/* The workload fields as JSON members, each after a comma:
 * ,"cgroup":..,"unit":..,"container_id":..,"pod":{..}|null,"container":.. */
void sb_workload_json(struct sbuf *sb, const struct pw_workload *w);
/* The compact text column: "ns/pod/container", "pod:<uid>/<cid 12>",
 * "docker:<cid 12>", "nginx.service", a cgroup path, "-" for the root or a
 * cgroup gone, "?" when unresolved (w NULL). Safe for a terminal. */
void sb_workload_text(struct sbuf *sb, const struct pw_workload *w);
/* n bytes made safe for a terminal (as pw_comm_text: controls, invalid UTF-8 -> '?') */
void sb_safe_text(struct sbuf *sb, const char *s, size_t n);
const char *pw_event_header(void);

/* "182us", "1.25ms", "3.90s" */
void pw_duration_text(char *dst, size_t sz, uint64_t ns);

#endif /* PW_OUTPUT_H */
