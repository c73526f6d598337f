/* SPDX-License-Identifier: GPL-2.0 */
/* Untrusted bytes (comm, cgroup paths, pod names) made safe: UTF-8
 * validation, JSON string escaping, text a terminal only shows. No I/O. */
#ifndef PW_ESCAPE_H
#define PW_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "portwatch.h"
#include "sbuf.h"

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

/* Append a JSON string literal (with quotes) of n raw bytes: escapes quotes,
 * backslashes and control bytes, replaces invalid UTF-8 with \ufffd. */
void sb_json_str(struct sbuf *sb, const char *s, size_t n);

/* comm (up to PW_COMM_LEN bytes, NUL-terminated or not) made safe for a
 * terminal: each control (pw_cp_is_control) and each byte of invalid UTF-8
 * becomes '?'. */
void pw_comm_text(char *dst, size_t sz, const char *comm);
/* Length of comm up to its NUL, at most PW_COMM_LEN. */
size_t pw_comm_len(const char *comm);
/* comm made safe for a terminal (as pw_comm_text) */
void sb_comm_text(struct sbuf *sb, const char *comm);
/* n bytes made safe for a terminal (as pw_comm_text: controls, invalid UTF-8 -> '?') */
void sb_safe_text(struct sbuf *sb, const char *s, size_t n);

#endif /* PW_ESCAPE_H */
