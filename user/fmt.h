/* SPDX-License-Identifier: GPL-2.0 */
/* Values as text: addresses, destinations, times, durations. No I/O. */
#ifndef PW_FMT_H
#define PW_FMT_H

#include <stddef.h>
#include <stdint.h>
#include "sbuf.h"

/* an address as inet_ntop writes it; nothing for an unknown family */
void sb_addr(struct sbuf *sb, unsigned int family, const uint8_t addr[16]);
/* ADDR:PORT, [ADDR6]:PORT */
void sb_dest(struct sbuf *sb, unsigned int family, const uint8_t addr[16], uint16_t port);
/* "a.b.c.d" or an IPv6 text form; empty on a bad family. */
void pw_addr_text(char *dst, size_t sz, unsigned int family, const uint8_t addr[16]);

/* realtime ns as 2026-11-24T21:50:00.123456789Z */
void sb_time_rfc3339(struct sbuf *sb, uint64_t realtime_ns);
void pw_time_rfc3339(char *dst, size_t sz, uint64_t realtime_ns);
/* realtime ns as the local time of day to the millisecond: 22:45:38.123 */
void sb_time_of_day_ms(struct sbuf *sb, uint64_t realtime_ns);

/* "182us", "1.25ms", "3.90s" */
void sb_duration(struct sbuf *sb, uint64_t ns);
void pw_duration_text(char *dst, size_t sz, uint64_t ns);

#endif /* PW_FMT_H */
