/* SPDX-License-Identifier: GPL-2.0 */
/* Text blocks fitted to the terminal (textfit.c): the REMEDIES and the
 * diagnosis blocks, the bind holder lines, the tables. On the terminal
 * stdout was fitted to (pw_text_fit_tty), each line is fitted to its
 * width: a table's row cut (as the event lines), a line of prose folded
 * at spaces with a hanging indent. Anywhere else (a pipe, a file) the
 * bytes go out as they are. */
#ifndef PW_TEXTFIT_H
#define PW_TEXTFIT_H

#include <stddef.h>
#include <stdio.h>

enum { PW_TEXT_FOLD, PW_TEXT_CUT };

/* The stream fitted to, from now on (a terminal's fd; -1: none). */
void pw_textfit_set_fd(int fd);
/* mem (NULL: none) holds, in this thread, text the consumer writes to
 * stdout as it is (the worker's blocks, through the mailbox): fitted as
 * stdout is. */
void pw_textfit_relay(FILE *mem);
/* The width to fit out to: the terminal's now (read at each call, so
 * current after a SIGWINCH, from any thread), 0 if out is neither it nor
 * this thread's relay. */
unsigned int pw_textfit_cols(FILE *out);
/* The length of s[0..n) cut to at most cols bytes, not inside a UTF-8
 * sequence. A byte counts as a column: never narrower than the screen. */
size_t pw_utf8_cut(const char *s, size_t n, size_t cols);
/* text (lines, each ending in '\n' but maybe the last) fitted to cols
 * (0: as is) into out. PW_TEXT_CUT: each line cut. PW_TEXT_FOLD: each
 * line broken at spaces, never inside a word or a "quoted span" (a
 * command stays whole), continued under the text after the line's
 * indent and its "- " or "-> " bullet (else 4 further in); a word longer
 * than the room goes alone on its line from column 0, and only a word
 * longer than cols is longer than cols. */
void pw_text_fit_block(FILE *out, const char *text, size_t len, unsigned int cols, int how);
/* text into out, fitted to pw_textfit_cols(out), in one piece (out
 * locked: the worker's blocks do not mix with the event lines). */
void pw_text_write(FILE *out, const char *text, size_t len, int how);

/* A block written with stdio calls: pw_text_begin returns the stream to
 * write it to (out itself when there is nothing to fit), pw_text_end
 * writes it fitted. */
struct pw_text_block {
	FILE *out, *f;
	char *buf;
	size_t len;
};
FILE *pw_text_begin(struct pw_text_block *b, FILE *out);
void pw_text_end(struct pw_text_block *b, int how);

#endif /* PW_TEXTFIT_H */
