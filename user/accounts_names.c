// SPDX-License-Identifier: GPL-2.0
/* The tracked command names: at most PW_COMM_SLOTS (+ the pinned one) whose
 * folded rows keep their own name. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "accounts.h"
#include "accounts_internal.h"
#include "output.h"
#include "util.h"

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
	uint64_t h = pw_fnv1a(PW_FNV1A_INIT, key, PW_COMM_LEN);

	return h ^ h >> 32;
}

struct comm_probe {
	const struct pw_comm *comms;
	const char *key;
};

/* A slot of the names' index: a name + 1, 0 = empty. */
static enum pw_htab_slot comm_classify(const void *slot, const void *key)
{
	uint32_t c = *(const uint32_t *)slot;
	const struct comm_probe *p = key;

	if (!c)
		return PW_HT_EMPTY;
	return !memcmp(p->comms[c - 1].name, p->key, PW_COMM_LEN) ? PW_HT_MATCH : PW_HT_TAKEN;
}

/* The name key's slot: its entry's (*found), or the empty one for it (the
 * index, 4 slots a name, is never full). */
static uint32_t *comm_slot(const struct pw_accounts *a, const char key[PW_COMM_LEN], bool *found)
{
	struct comm_probe p = { a->comms, key };

	return pw_htab_find(&a->comm_index, pw_comm_hash(key), comm_classify, &p, found);
}

struct pw_comm *pw_accounts_comm_find(const struct pw_accounts *a, const char *comm)
{
	char key[PW_COMM_LEN];
	uint32_t *slot;
	bool found;

	if (!a->comm_index.slots)
		return NULL;
	pw_comm_key(key, comm);
	slot = comm_slot(a, key, &found);
	return found ? &a->comms[*slot - 1] : NULL;
}

static int comms_alloc(struct pw_accounts *a)
{
	if (a->comm_index.slots)
		return 0;
	return pw_htab_init(&a->comm_index, COMM_INDEX_CAP, sizeof(uint32_t), 0) ? -ENOMEM : 0;
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
	uint32_t *slot;
	bool found;

	if (comms_alloc(a))
		return NULL;
	pw_comm_key(key, comm);
	pw_comm_key(other, PW_OTHER_COMM);
	slot = comm_slot(a, key, &found);
	if (found) {
		c = &a->comms[*slot - 1];
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
	*slot = ++a->ncomms;
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
	/* the names are distinct: each goes to the first empty slot */
	pw_htab_clear(&a->comm_index);
	for (size_t j = 0; j < a->ncomms; j++) {
		bool found;

		*(uint32_t *)pw_htab_find(&a->comm_index, pw_comm_hash(a->comms[j].name),
					  pw_rows_index_used, NULL, &found) = j + 1;
	}
	return 0;
}

void pw_accounts_comm_compact(struct pw_accounts *a)
{
	pw_accounts_fold_untracked(a);
}

