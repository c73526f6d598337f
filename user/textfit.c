// SPDX-License-Identifier: GPL-2.0
/* Text blocks fitted to the terminal (textfit.h): one cut and one fold
 * for every block writer. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "textfit.h"

static int fit_fd = -1;
static __thread FILE *relay;

void pw_textfit_set_fd(int fd)
{
	/* atomic: --top sets it with its threads running */
	__atomic_store_n(&fit_fd, fd, __ATOMIC_RELAXED);
}

void pw_textfit_relay(FILE *mem)
{
	relay = mem;
}

unsigned int pw_textfit_cols(FILE *out)
{
	int fd = __atomic_load_n(&fit_fd, __ATOMIC_RELAXED);
	struct winsize ws;

	if (fd < 0 || !out || (out != relay && fileno(out) != fd) || ioctl(fd, TIOCGWINSZ, &ws))
		return 0;
	return ws.ws_col;
}

size_t pw_utf8_cut(const char *s, size_t n, size_t cols)
{
	size_t cut = cols;

	if (n <= cols)
		return n;
	while (cut && ((unsigned char)s[cut] & 0xc0) == 0x80)
		cut--;
	return cut;
}

static void spaces(FILE *out, size_t n)
{
	while (n--)
		putc(' ', out);
}

/* The word at s (s[0] not a space): up to the next space; one with an
 * opening quote and no closing one runs on to the word the closing quote
 * is in ("1024 65535" stays whole), if that fits in room. */
static size_t word_len(const char *s, size_t n, size_t room)
{
	size_t w = 0, q, quotes = 0;

	for (; w < n && s[w] != ' '; w++)
		quotes += s[w] == '"';
	if (!(quotes & 1))
		return w;
	for (q = w; q < n && s[q] != '"'; q++)
		;
	if (q == n)
		return w;
	while (q < n && s[q] != ' ')
		q++;
	return q <= room ? q : w;
}

static void fold_line(FILE *out, const char *s, size_t n, size_t cols)
{
	size_t i = 0, lead = 0, body, hang, col;

	while (i < n && s[i] == ' ')
		i++;
	body = i;
	if (n - i >= 3 && !memcmp(s + i, "-> ", 3))
		body = i + 3;
	else if (n - i >= 2 && !memcmp(s + i, "- ", 2))
		body = i + 2;
	hang = body > i ? body : i + 4;
	if (hang > cols / 2) {
		/* at most half the line: the line's own indent shrinks with it */
		lead = hang - cols / 2 < i ? hang - cols / 2 : i;
		hang = cols / 2;
	}
	fwrite(s + lead, 1, body - lead, out);
	col = body - lead;
	for (i = body; i < n;) {
		size_t gap = i, w;

		while (i < n && s[i] == ' ')
			i++;
		if (i == n)
			break;	/* trailing spaces: nothing to show */
		gap = i - gap;
		w = word_len(s + i, n - i, cols - hang);
		if (col && col + gap + w > cols) {
			putc('\n', out);
			col = hang + w <= cols ? hang : 0;
			spaces(out, col);
			gap = 0;
		}
		spaces(out, gap);
		fwrite(s + i, 1, w, out);
		col += gap + w;
		i += w;
	}
}

void pw_text_fit_block(FILE *out, const char *text, size_t len, unsigned int cols, int how)
{
	const char *p = text, *end = text + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (!cols || n <= cols)
			fwrite(p, 1, n, out);
		else if (how == PW_TEXT_CUT)
			fwrite(p, 1, pw_utf8_cut(p, n, cols), out);
		else
			fold_line(out, p, n, cols);
		if (nl)
			putc('\n', out);
		p += n + !!nl;
	}
}

void pw_text_write(FILE *out, const char *text, size_t len, int how)
{
	unsigned int cols = pw_textfit_cols(out);

	if (!cols) {
		fwrite(text, 1, len, out);
		return;
	}
	flockfile(out);
	pw_text_fit_block(out, text, len, cols, how);
	funlockfile(out);
}

FILE *pw_text_begin(struct pw_text_block *b, FILE *out)
{
	b->out = out;
	b->buf = NULL;
	b->len = 0;
	b->f = pw_textfit_cols(out) ? open_memstream(&b->buf, &b->len) : NULL;
	return b->f ? b->f : out;
}

void pw_text_end(struct pw_text_block *b, int how)
{
	if (!b->f)
		return;
	if (!fclose(b->f))
		pw_text_write(b->out, b->buf, b->len, how);
	else if (b->buf)	/* no memory to fit it: the block as it is, never lost */
		fwrite(b->buf, 1, b->len, b->out);
	free(b->buf);
	b->f = NULL;
	b->buf = NULL;
}
