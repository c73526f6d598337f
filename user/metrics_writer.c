// SPDX-License-Identifier: GPL-2.0
/* The exposition text shared by the collectors: family headers, counters,
 * label values escaped. */
#include <stdio.h>
#include "metrics_internal.h"

void pw_prom_label(FILE *f, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		size_t l = pw_utf8_seq_len(s + i, n - i);

		if (l == 0) {
			fputs("\xef\xbf\xbd", f);	/* U+FFFD */
			i++;
			continue;
		}
		if (l == 1 && (s[i] == '\\' || s[i] == '"'))
			fprintf(f, "\\%c", s[i]);
		else if (l == 1 && s[i] == '\n')
			fputs("\\n", f);
		else
			fwrite(s + i, 1, l, f);
		i += l;
	}
}

void pw_prom_label_comm(FILE *f, const char *comm)
{
	fputs("comm=\"", f);
	pw_prom_label(f, comm, pw_comm_len(comm));
	fputc('"', f);
}

void pw_prom_header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void pw_prom_counter(FILE *f, const char *name, const char *help, uint64_t v)
{
	pw_prom_header(f, name, "counter", help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

void pw_prom_label_op(FILE *f, unsigned int op)
{
	if (op != PW_OP_CONNECT)
		fprintf(f, ",op=\"%s\"", pw_op_name(op) ? pw_op_name(op) : "unknown");
}
