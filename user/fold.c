// SPDX-License-Identifier: GPL-2.0
#include <stdlib.h>
#include <string.h>
#include "dest.h"
#include "fold.h"
#include "hashtab.h"
#include "names.h"
#include "output.h"

#define PROBES 32	/* slots searched for a key before it goes to "other" */

struct entry {
	/* key */
	uint32_t pid;
	int32_t ret;
	struct pw_dest dest;
	uint8_t cause;
	uint8_t op;		/* enum pw_op */
	uint8_t saddr[16];	/* a bind's address asked for, else zero */
	uint16_t sport;		/* a bind_port's port asked for, else zero */
	bool used;
	bool no_dest;		/* PW_NO_DEST: dest holds nothing */
	/* state */
	char comm[PW_COMM_LEN];
	uint32_t printed;	/* lines of the current burst */
	bool pending;		/* in the pending list */
	uint64_t last_ns;	/* last event of the key */
	uint64_t window_ns;	/* first folded event of the window */
	uint64_t folded;	/* in the window */
};

struct pw_fold {
	struct pw_htab slots;		/* struct entry */
	struct entry other;		/* keys that found no room */
	struct entry **pending;		/* entries with folded > 0 */
	size_t npending;
	uint64_t printed, folded;
};

struct pw_fold *pw_fold_new(unsigned int slots)
{
	struct pw_fold *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	if (pw_htab_init(&f->slots, slots > 64 ? slots : 64, sizeof(struct entry), PROBES)) {
		free(f);
		return NULL;
	}
	f->pending = calloc(pw_htab_slots(&f->slots) + 1, sizeof(*f->pending));
	if (!f->pending) {
		pw_fold_free(f);
		return NULL;
	}
	return f;
}

void pw_fold_free(struct pw_fold *f)
{
	if (!f)
		return;
	pw_htab_free(&f->slots);
	free(f->pending);
	free(f);
}

/* Only a bind's event carries the address it asked for (the text line's
 * DEST column shows it); for others saddr is no part of the key. */
static const uint8_t *key_saddr(const struct pw_event *e)
{
	static const uint8_t none[16];

	return e->op == PW_OP_BIND || e->op == PW_OP_BIND_PORT ? e->saddr : none;
}

/* A bind_port's port is part of its key (the text line's DEST shows it). */
static uint16_t key_sport(const struct pw_event *e)
{
	return e->op == PW_OP_BIND_PORT ? e->sport : 0;
}

static bool same_key(const struct entry *s, const struct pw_event *e)
{
	return s->pid == e->pid && s->ret == e->ret && s->dest.family == e->family &&
	       s->dest.port == e->dport && s->cause == e->cause && s->op == e->op &&
	       !memcmp(s->dest.addr, e->daddr, 16) && s->no_dest == !!(e->flags & PW_NO_DEST) &&
	       !memcmp(s->saddr, key_saddr(e), 16) && s->sport == key_sport(e);
}

static uint64_t hash(const struct pw_event *e)
{
	uint64_t h = (uint64_t)e->pid * PW_GOLDEN64 ^
		     ((uint64_t)e->dport << 32 | (uint32_t)e->ret) ^ (uint64_t)e->cause << 56 ^
		     (uint64_t)e->op << 48;

	h = pw_fnv1a(h, e->daddr, 16);
	h = pw_fnv1a(h, key_saddr(e), 16);
	h ^= (uint64_t)key_sport(e) * PW_GOLDEN64;
	return h ^ h >> 29;
}

/* A key's entry may be taken over when it is idle: nothing pending, quiet
 * for a window. */
static enum pw_htab_slot classify(const void *slot, const void *key)
{
	const struct entry *s = slot;
	const struct pw_event *e = key;

	if (!s->used)
		return PW_HT_EMPTY;
	if (same_key(s, e))
		return PW_HT_MATCH;
	if (!s->pending && (int64_t)(e->ts_ns - s->last_ns) >= (int64_t)PW_FOLD_WINDOW_NS)
		return PW_HT_FREE;
	return PW_HT_TAKEN;
}

/* The key's entry; a new one in an empty slot or in one whose key is idle;
 * NULL when none is in reach. */
static struct entry *lookup(struct pw_fold *f, const struct pw_event *e)
{
	bool found;
	struct entry *s = pw_htab_find(&f->slots, hash(e), classify, e, &found);

	if (s && !found) {
		memset(s, 0, sizeof(*s));
		s->used = true;
		s->pid = e->pid;
		s->ret = e->ret;
		pw_dest_set(&s->dest, e->family, e->daddr, e->dport);
		s->cause = e->cause;
		s->op = e->op;
		memcpy(s->saddr, key_saddr(e), 16);
		s->sport = key_sport(e);
		s->no_dest = !!(e->flags & PW_NO_DEST);
		memcpy(s->comm, e->comm, PW_COMM_LEN);
	}
	return s;
}

void pw_thousands(char *dst, size_t sz, uint64_t v)
{
	char d[32];
	int n = 0, o = 0;

	do {
		if (n && n % 3 == 0)
			d[o++] = ',';
		d[o++] = '0' + v % 10;
		v /= 10;
		n++;
	} while (v);
	if (!sz)
		return;
	for (n = 0; n < o && (size_t)n + 1 < sz; n++)
		dst[n] = d[o - 1 - n];
	dst[n] = '\0';
}

static void emit(struct pw_fold *f, struct entry *s, uint64_t end_ns, FILE *out)
{
	char num[32], buf[256];
	struct sbuf sb;
	uint64_t span = (int64_t)(end_ns - s->window_ns) > 0 ? end_ns - s->window_ns : 0;

	pw_thousands(num, sizeof(num), s->folded);
	sb_init(&sb, buf, sizeof(buf));
	sb_puts(&sb, "  ... ");
	sb_puts(&sb, num);
	sb_puts(&sb, " more  ");
	if (s == &f->other) {
		sb_puts(&sb, "of other processes and destinations (fold table full)");
	} else {
		const char *cause = pw_cause_name(s->cause);
		char ebuf[16];

		sb_comm_text(&sb, s->comm);
		sb_putc(&sb, '[');
		sb_u64(&sb, s->pid);
		sb_puts(&sb, "] -> ");
		if (s->op != PW_OP_CONNECT) {
			/* as the text line's DEST: the op, a bind's address */
			sb_puts(&sb, pw_op_name(s->op) ? pw_op_name(s->op) : "?");
			if (s->op == PW_OP_BIND) {
				sb_putc(&sb, ' ');
				sb_addr(&sb, s->dest.family, s->saddr);
			} else if (s->op == PW_OP_BIND_PORT) {
				sb_putc(&sb, ' ');
				sb_dest(&sb, s->dest.family, s->saddr, s->sport);
			}
		} else if (s->no_dest) {
			sb_putc(&sb, '-');
		} else {
			sb_dest(&sb, s->dest.family, s->dest.addr, s->dest.port);
		}
		sb_putc(&sb, ' ');
		sb_puts(&sb, cause ? cause : s->ret ? pw_errno_label(-s->ret, ebuf, sizeof(ebuf)) : "ok");
	}
	/* the window: a second, less when the run ends first */
	sb_printf(&sb, " (%.1f s)\n", (span > PW_FOLD_WINDOW_NS ? PW_FOLD_WINDOW_NS : span) / 1e9);
	pw_text_cut(buf);	/* a terminal's width */
	fputs(buf, out);
	s->folded = 0;
	s->window_ns = 0;
}

static void unpend(struct pw_fold *f, size_t i)
{
	f->pending[i]->pending = false;
	f->pending[i] = f->pending[--f->npending];
}

bool pw_fold_event(struct pw_fold *f, const struct pw_event *e, FILE *out)
{
	struct entry *s = lookup(f, e);

	if (!s) {
		s = &f->other;
		if (!s->used) {
			s->used = true;
			s->last_ns = e->ts_ns;
		}
	}
	if (s->pending && (int64_t)(e->ts_ns - s->window_ns) >= (int64_t)PW_FOLD_WINDOW_NS) {
		/* its window is over: out first, then this event */
		for (size_t i = 0; i < f->npending; i++) {
			if (f->pending[i] == s) {
				emit(f, s, e->ts_ns, out);
				unpend(f, i);
				break;
			}
		}
	}
	if ((int64_t)(e->ts_ns - s->last_ns) >= (int64_t)PW_FOLD_WINDOW_NS)
		s->printed = 0;		/* quiet for a window: a new burst */
	if ((int64_t)(e->ts_ns - s->last_ns) > 0)
		s->last_ns = e->ts_ns;
	if (s->printed < PW_FOLD_AFTER) {
		s->printed++;
		f->printed++;
		return true;
	}
	if (!s->folded++) {
		s->window_ns = e->ts_ns;
		s->pending = true;
		f->pending[f->npending++] = s;
	}
	f->folded++;
	return false;
}

void pw_fold_flush(struct pw_fold *f, uint64_t now_ns, bool all, FILE *out)
{
	for (size_t i = 0; i < f->npending;) {
		struct entry *s = f->pending[i];

		if (all || (int64_t)(now_ns - s->window_ns) >= (int64_t)PW_FOLD_WINDOW_NS) {
			emit(f, s, all ? s->last_ns : now_ns, out);
			unpend(f, i);
		} else {
			i++;
		}
	}
}

uint64_t pw_fold_next_due(const struct pw_fold *f)
{
	uint64_t due = 0;

	for (size_t i = 0; i < f->npending; i++) {
		uint64_t d = f->pending[i]->window_ns + PW_FOLD_WINDOW_NS;

		if (!due || d < due)
			due = d;
	}
	return due;
}

uint64_t pw_fold_printed(const struct pw_fold *f)
{
	return f->printed;
}

uint64_t pw_fold_folded(const struct pw_fold *f)
{
	return f->folded;
}
