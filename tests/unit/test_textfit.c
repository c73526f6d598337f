// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/textfit.c: the blocks fitted to a narrow terminal
 * (prose folded at spaces, rows cut), UTF-8 and escaped text kept whole. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "textfit.h"

static char *out;

/* text fitted to cols, as a string (out). */
static const char *fit(const char *text, unsigned int cols, int how)
{
	size_t len;
	FILE *m;

	free(out);
	out = NULL;
	m = open_memstream(&out, &len);
	assert_non_null(m);
	pw_text_fit_block(m, text, strlen(text), cols, how);
	assert_int_equal(fclose(m), 0);
	return out;
}

static const char *const remedy =
	"    - Widen net.ipv4.ip_local_port_range: it has 28232 ports (28232 usable); "
	"\"1024 65535\" gives 64512. Then list the ports your servers listen on in "
	"net.ipv4.ip_local_reserved_ports, or clients may take them first.\n";

static void test_no_width_no_change(void **state)
{
	(void)state;
	assert_string_equal(fit(remedy, 0, PW_TEXT_FOLD), remedy);
	assert_string_equal(fit(remedy, 0, PW_TEXT_CUT), remedy);
	assert_string_equal(fit("short\n  - line\n", 20, PW_TEXT_FOLD), "short\n  - line\n");
	assert_string_equal(fit("no newline", 10, PW_TEXT_CUT), "no newline");
}

static void test_fold_hanging_indent(void **state)
{
	(void)state;
	assert_string_equal(fit("    - aaa bbb ccc ddd eee\n", 16, PW_TEXT_FOLD),
			    "    - aaa bbb\n      ccc ddd\n      eee\n");
	assert_string_equal(fit("  -> held by a socket x\n", 15, PW_TEXT_FOLD),
			    "  -> held by a\n     socket x\n");
	/* no bullet: 4 further in than the line */
	assert_string_equal(fit("REMEDIES for 10.0.0.1:80 (netns 1):\n", 20, PW_TEXT_FOLD),
			    "REMEDIES for\n    10.0.0.1:80\n    (netns 1):\n");
	/* several lines, each on its own; spaces before a break go */
	assert_string_equal(fit("ab cd  ef\nx\n", 5, PW_TEXT_FOLD), "ab cd\n  ef\nx\n");
	/* the indent is at most half the line */
	assert_string_equal(fit("        - ab cd\n", 10, PW_TEXT_FOLD), "   - ab cd\n");
}

/* Every line at most cols wide but a word longer than that alone on its
 * line from column 0, no word broken: the lines joined again are the
 * text. */
static void test_fold_property(void **state)
{
	(void)state;
	for (unsigned int cols = 20; cols <= 200; cols++) {
		char *copy = strdup(fit(remedy, cols, PW_TEXT_FOLD)), *line, *save = NULL;
		char joined[1024] = "";

		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
			assert_true(strlen(line) <= cols || !strchr(line, ' '));
			if (joined[0]) {
				while (*line == ' ')
					line++;
				strcat(joined, " ");
			}
			strcat(joined, line);
		}
		strcat(joined, "\n");
		assert_string_equal(joined, remedy);
		/* a command's quoted value never split */
		assert_non_null(strstr(out, "\"1024 65535\""));
		assert_non_null(strstr(out, "net.ipv4.ip_local_reserved_ports,"));
		free(copy);
	}
}

static void test_fold_long_word(void **state)
{
	(void)state;
	/* longer than the room after the indent: alone, from column 0 */
	assert_string_equal(fit("    - run /usr/sbin/sysctl now\n", 16, PW_TEXT_FOLD),
			    "    - run\n/usr/sbin/sysctl\n      now\n");
	/* longer than the line: alone, whole (the one exception) */
	assert_string_equal(fit("  - a /very/long/path/to/a/file b\n", 12, PW_TEXT_FOLD),
			    "  - a\n/very/long/path/to/a/file\n    b\n");
	/* an unclosed quote does not glue the rest of the line */
	assert_string_equal(fit("say \"ab cd ef\n", 8, PW_TEXT_FOLD), "say \"ab\n    cd\n    ef\n");
	/* a quoted span longer than the room is folded as words */
	assert_string_equal(fit("x \"aaa bbb ccc\" y\n", 9, PW_TEXT_FOLD),
			    "x \"aaa\n    bbb\n    ccc\"\n    y\n");
}

/* Escaped text (a hostile comm: \x1b as "\\x1b", "?" for a control, a
 * "\\u202e") and UTF-8 words are never broken: the fold breaks at spaces
 * only. */
static void test_fold_escapes_utf8(void **state)
{
	const char *t = "  - pid 7 (e\\x1b[2J?\\u202e) h\xc3\xa9h\xc3\xa9 "
			"\xe6\x97\xa5\xe6\x9c\xac ok\n";

	(void)state;
	assert_string_equal(fit(t, 24, PW_TEXT_FOLD),
			    "  - pid 7\n    (e\\x1b[2J?\\u202e)\n"
			    "    h\xc3\xa9h\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac ok\n");
	/* at 12 columns the escaped comm is longer than the room: column 0 */
	assert_string_equal(fit(t, 12, PW_TEXT_FOLD),
			    "  - pid 7\n(e\\x1b[2J?\\u202e)\n    h\xc3\xa9h\xc3\xa9\n"
			    "    \xe6\x97\xa5\xe6\x9c\xac\n    ok\n");
}

static void test_cut_utf8(void **state)
{
	(void)state;
	/* a row cut at cols bytes, never inside a UTF-8 sequence */
	assert_string_equal(fit("12345 h\xc3\xa9llo\nab\n", 7, PW_TEXT_CUT), "12345 h\nab\n");
	assert_string_equal(fit("12345 h\xc3\xa9llo\nab\n", 8, PW_TEXT_CUT), "12345 h\nab\n");
	assert_string_equal(fit("12345 h\xc3\xa9llo\nab\n", 9, PW_TEXT_CUT),
			    "12345 h\xc3\xa9\nab\n");
	assert_string_equal(fit("\xe6\x97\xa5\xe6\x9c\xac\n", 5, PW_TEXT_CUT), "\xe6\x97\xa5\n");
	assert_int_equal(pw_utf8_cut("\xe6\x97\xa5", 3, 2), 0);
	assert_int_equal(pw_utf8_cut("abc", 3, 5), 3);
}

/* A stream that is not the terminal: the bytes as they are. */
static void test_not_a_terminal(void **state)
{
	struct pw_text_block tb;
	size_t len;
	FILE *m, *f;

	(void)state;
	pw_textfit_set_fd(1);
	free(out);
	out = NULL;
	m = open_memstream(&out, &len);
	assert_non_null(m);
	assert_int_equal(pw_textfit_cols(m), 0);
	pw_text_write(m, remedy, strlen(remedy), PW_TEXT_FOLD);
	f = pw_text_begin(&tb, m);
	assert_ptr_equal(f, m);
	fputs("x\n", f);
	pw_text_end(&tb, PW_TEXT_CUT);
	assert_int_equal(fclose(m), 0);
	assert_int_equal(len, strlen(remedy) + 2);
	assert_memory_equal(out, remedy, strlen(remedy));
	pw_textfit_set_fd(-1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_width_no_change),
		cmocka_unit_test(test_fold_hanging_indent),
		cmocka_unit_test(test_fold_property),
		cmocka_unit_test(test_fold_long_word),
		cmocka_unit_test(test_fold_escapes_utf8),
		cmocka_unit_test(test_cut_utf8),
		cmocka_unit_test(test_not_a_terminal),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);

	free(out);
	return rc;
}
