// SPDX-License-Identifier: GPL-2.0
/* Values as text (fmt.h): addresses as inet_ntop writes them, destinations,
 * times, durations. */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include "fmt.h"

static void sb_ipv4(struct sbuf *sb, const uint8_t a[4])
{
	for (int i = 0; i < 4; i++) {
		if (i)
			sb_putc(sb, '.');
		sb_u64(sb, a[i]);
	}
}

/* The text inet_ntop gives (RFC 5952 with glibc's choices: the first
 * longest run of two or more zero groups becomes "::"; ::ffff:a.b.c.d and
 * ::a.b.c.d keep the dotted IPv4 form). */
static void sb_ipv6(struct sbuf *sb, const uint8_t a[16])
{
	static const char hex[] = "0123456789abcdef";
	unsigned int w[8];
	int best = -1, best_len = 0, cur = -1, cur_len = 0;

	for (int i = 0; i < 8; i++) {
		w[i] = a[2 * i] << 8 | a[2 * i + 1];
		if (!w[i]) {
			if (cur < 0) {
				cur = i;
				cur_len = 0;
			}
			if (++cur_len > best_len) {
				best = cur;
				best_len = cur_len;
			}
		} else {
			cur = -1;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			sb_putc(sb, ':');
			i += best_len - 1;
			if (i == 7)
				sb_putc(sb, ':');
			continue;
		}
		if (i)
			sb_putc(sb, ':');
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && w[5] == 0xffff))) {
			sb_ipv4(sb, a + 12);
			return;
		}
		char d[4];
		int n = 0;

		for (int sh = 12; sh >= 0; sh -= 4)
			if (n || (w[i] >> sh) & 15 || !sh)
				d[n++] = hex[(w[i] >> sh) & 15];
		sb_put(sb, d, n);
	}
}

/* An address of `family` as text; nothing for another family. */
void sb_addr(struct sbuf *sb, unsigned int family, const uint8_t addr[16])
{
	if (family == AF_INET)
		sb_ipv4(sb, addr);
	else if (family == AF_INET6)
		sb_ipv6(sb, addr);
}

void pw_addr_text(char *dst, size_t sz, unsigned int family, const uint8_t addr[16])
{
	struct sbuf sb;

	sb_init(&sb, dst, sz);
	sb_addr(&sb, family, addr);
	if (sb.err && sz)
		dst[0] = '\0';
}

/* The second of realtime ns as "2026-11-24T21:50:00" (UTC) or "22:45:38"
 * (local), remade only when the second changes: events come in bursts
 * within one second. Per thread. */
static const char *second_text(uint64_t sec, bool local)
{
	static __thread struct {
		uint64_t sec;
		char text[32];
	} cache[2] = { { UINT64_MAX, "" }, { UINT64_MAX, "" } };

	if (sec != cache[local].sec) {
		time_t t = sec;
		struct tm tm;

		if (local)
			localtime_r(&t, &tm);
		else
			gmtime_r(&t, &tm);
		strftime(cache[local].text, sizeof(cache[local].text),
			 local ? "%H:%M:%S" : "%Y-%m-%dT%H:%M:%S", &tm);
		cache[local].sec = sec;
	}
	return cache[local].text;
}

void sb_time_rfc3339(struct sbuf *sb, uint64_t ns)
{
	sb_puts(sb, second_text(ns / 1000000000ull, false));
	sb_putc(sb, '.');
	sb_u64w(sb, ns % 1000000000ull, 9);
	sb_putc(sb, 'Z');
}

void sb_time_of_day_ms(struct sbuf *sb, uint64_t ns)
{
	sb_puts(sb, second_text(ns / 1000000000ull, true));
	sb_putc(sb, '.');
	sb_u64w(sb, ns % 1000000000ull / 1000000, 3);
}

void pw_time_rfc3339(char *dst, size_t sz, uint64_t ns)
{
	struct sbuf sb;

	sb_init(&sb, dst, sz);
	sb_time_rfc3339(&sb, ns);
}

/* ns / unit, rounded half up, with `decimals` (0 to 2) decimals, then suffix;
 * unit is a multiple of 100 */
static void sb_fixed(struct sbuf *sb, uint64_t ns, uint64_t unit, unsigned int decimals,
		     const char *suffix)
{
	uint64_t scale = decimals == 2 ? 100 : decimals == 1 ? 10 : 1;
	uint64_t step = unit / scale, q = ns / step + (ns % step >= step / 2);

	sb_u64(sb, q / scale);
	if (decimals) {
		sb_putc(sb, '.');
		sb_u64w(sb, q % scale, decimals);
	}
	sb_puts(sb, suffix);
}

void sb_duration(struct sbuf *sb, uint64_t ns)
{
	/* thresholds where rounding would print the next unit's first value */
	if (ns < 9950)
		sb_fixed(sb, ns, 1000, 1, "us");
	else if (ns < 999500)
		sb_fixed(sb, ns, 1000, 0, "us");
	else if (ns < 999995000)
		sb_fixed(sb, ns, 1000000, 2, "ms");
	else
		sb_fixed(sb, ns, 1000000000, 2, "s");
}

void pw_duration_text(char *dst, size_t sz, uint64_t ns)
{
	struct sbuf sb;

	sb_init(&sb, dst, sz);
	sb_duration(&sb, ns);
}

/* The destination as ADDR:PORT or [ADDR6]:PORT. */
void sb_dest(struct sbuf *sb, unsigned int family, const uint8_t addr[16], uint16_t port)
{
	if (family == AF_INET6)
		sb_putc(sb, '[');
	sb_addr(sb, family, addr);
	if (family == AF_INET6)
		sb_putc(sb, ']');
	sb_putc(sb, ':');
	sb_u64(sb, port);
}
