// SPDX-License-Identifier: GPL-2.0
/* The tracked command names: at most PW_COMM_SLOTS (+ the pinned one) whose
 * folded rows keep their own name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "accounts.h"
#include "accounts_internal.h"
#include "output.h"

/* ---- the names with series of their own ---- */

#define COMM_INDEX_CAP	(4 * PW_COMM_SLOTS)	/* a power of 2, at most half full */

void pw_comm_key(char out[PW_COMM_LEN], const char *comm)
{
	const unsigned char *s = (const unsigned char *)comm;
	size_t n = pw_comm_len(comm), i = 0, o = 0;

	memset(out, 0, PW_COMM_LEN);
	while (i < n) {
		size_t l = pw_utf8_seq_len(s + i, n - i);

		/* both print as U+FFFD in a label */
		if (!l || (l == 3 && !memcmp(s + i, "\xef\xbf\xbd", 3))) {
			out[o++] = (char)0xff;
			i += l ? l : 1;
		} else {
			memcpy(out + o, s + i, l);
			o += l;
			i += l;
		}
	}
}

uint64_t pw_comm_hash(const char key[PW_COMM_LEN])
{
	uint64_t h = 0xcbf29ce484222325ull;	/* FNV-1a */

	for (int i = 0; i < PW_COMM_LEN; i++)
		h = (h ^ (unsigned char)key[i]) * 0x100000001b3ull;
	return h ^ h >> 32;
}

static size_t comm_slot(const struct pw_accounts *a, const char key[PW_COMM_LEN])
{
	size_t h = pw_comm_hash(key) & (COMM_INDEX_CAP - 1);

	while (a->comm_index[h] && memcmp(a->comms[a->comm_index[h] - 1].name, key, PW_COMM_LEN))
		h = (h + 1) & (COMM_INDEX_CAP - 1);
	return h;
}

struct pw_comm *pw_accounts_comm_find(const struct pw_accounts *a, const char *comm)
{
	char key[PW_COMM_LEN];
	size_t h;

	if (!a->comm_index)
		return NULL;
	pw_comm_key(key, comm);
	h = comm_slot(a, key);
	return a->comm_index[h] ? &a->comms[a->comm_index[h] - 1] : NULL;
}

static int comms_alloc(struct pw_accounts *a)
{
	if (a->comm_index)
		return 0;
	a->comm_index = calloc(COMM_INDEX_CAP, sizeof(*a->comm_index));
	return a->comm_index ? 0 : -ENOMEM;
}

/* Room for one more tracked name (the table grows to PW_COMM_SLOTS + 1). */
static int comms_room(struct pw_accounts *a)
{
	size_t cap = a->comms_cap ? a->comms_cap * 2 : 64;
	struct pw_comm *nv;

	if (a->ncomms < a->comms_cap)
		return 0;
	if (cap > PW_COMM_SLOTS + 1)
		cap = PW_COMM_SLOTS + 1;
	nv = realloc(a->comms, cap * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	a->comms = nv;
	a->comms_cap = cap;
	return 0;
}

/* Track comm if a slot is free. `always`: the pid 0 rows' name
 * (unattributed), pinned in one place of its own beyond PW_COMM_SLOTS, so
 * that no crowd of names can push it into PW_OTHER_COMM. */
static struct pw_comm *track(struct pw_accounts *a, const char *comm, bool always)
{
	char key[PW_COMM_LEN], other[PW_COMM_LEN];
	struct pw_comm *c;
	size_t h;

	if (comms_alloc(a))
		return NULL;
	pw_comm_key(key, comm);
	pw_comm_key(other, PW_OTHER_COMM);
	h = comm_slot(a, key);
	if (a->comm_index[h]) {
		c = &a->comms[a->comm_index[h] - 1];
		c->pinned |= always;
		return c;
	}
	if (!memcmp(key, other, PW_COMM_LEN) || a->ncomms >= PW_COMM_SLOTS + (size_t)always ||
	    comms_room(a))
		return NULL;
	c = &a->comms[a->ncomms];
	memset(c, 0, sizeof(*c));
	memcpy(c->name, key, PW_COMM_LEN);
	c->pinned = always;
	a->comm_index[h] = ++a->ncomms;
	return c;
}

/* A name failing for the first time is tracked while there is room (its
 * series take all its failures); ENOMEM only when the table cannot be made. */
int pw_accounts_comm_admit(struct pw_accounts *a, const char *comm, bool always)
{
	if (comms_alloc(a))
		return -ENOMEM;
	track(a, comm, always);
	return 0;
}

struct pw_comm *pw_accounts_comm_adopt(struct pw_accounts *a, const char *comm)
{
	struct pw_comm *c = pw_accounts_comm_find(a, comm);

	return c ? c : track(a, comm, false);
}

int pw_accounts_comm_evict(struct pw_accounts *a, struct pw_comm *c)
{
	size_t i = c - a->comms;

	if (c->pinned)
		return -EINVAL;
	a->comms[i] = a->comms[--a->ncomms];
	memset(a->comm_index, 0, COMM_INDEX_CAP * sizeof(*a->comm_index));
	for (size_t j = 0; j < a->ncomms; j++)
		a->comm_index[comm_slot(a, a->comms[j].name)] = j + 1;
	return 0;
}

void pw_accounts_comm_compact(struct pw_accounts *a)
{
	pw_accounts_fold_untracked(a);
}

