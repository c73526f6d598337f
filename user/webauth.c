// SPDX-License-Identifier: GPL-2.0
/*
 * Basic auth. bcrypt is slow on purpose (about 70 ms at cost 10, twice that
 * on a loaded host) and /metrics runs in portwatch's worker thread, whose
 * loop also takes the diagnoses, the periodic census and the per-process
 * folding: a flood of requests with wrong passwords must not turn into a
 * flood of bcrypt runs that holds all of that up, nor let one client lock
 * the others out. So:
 * - the last password that verified for each user is kept as an HMAC-SHA256
 *   under a random per-process key (never the password itself) and compared
 *   in constant time: Prometheus's scrapes, with the same credentials every
 *   time, cost one bcrypt in portwatch's lifetime;
 * - unknown users are refused without bcrypt (the user names are not the
 *   secret);
 * - every other check (a new or a wrong password) spends from its source
 *   address's bucket (25 ms a second, up to 100 ms) and from a shared pool:
 *   strangers' (75 ms a second, up to 225 ms) or, for sources that
 *   authenticated before, known sources' (25 ms a second, up to 100 ms).
 *   When either is spent the answer is 429 without bcrypt. Costs are CPU
 *   time. One guessing address spends at most a third of the strangers'
 *   pool, so others still get their check (as long as one hash costs less
 *   than the pool holds: about 100 ms at cost 10, 200 ms at cost 11); many
 *   guessing addresses can spend the strangers' pool, not the known
 *   sources'. bcrypt takes at most a tenth of the worker's CPU, in bursts of
 *   at most 325 ms plus one hash, whatever the clients send.
 * The tables are fixed: 256 strangers (the least recently seen is evicted:
 * a new source starts with a full bucket, but the pool still bounds them
 * all) and 64 known sources (evicted only by other known sources).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <sys/random.h>
#include "util.h"
#include "webauth.h"

#ifndef PW_NO_METRICS
#include <crypt.h>
#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>

int pw_addrkey(const struct sockaddr *sa, socklen_t len, struct pw_addrkey *k)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)sa;

	memset(k, 0, sizeof(*k));
	if (sa && sa->sa_family == AF_INET && len >= sizeof(*in4)) {
		/* as ::ffff:a.b.c.d, so that both spellings of one client agree */
		k->b[10] = k->b[11] = 0xff;
		memcpy(&k->b[12], &in4->sin_addr, 4);
		return 0;
	}
	if (!sa || sa->sa_family != AF_INET6 || len < sizeof(*in6))
		return -EAFNOSUPPORT;
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
		memcpy(k->b, &in6->sin6_addr, 16);
	else
		memcpy(k->b, &in6->sin6_addr, 8);
	return 0;
}

static void bucket_fill(struct pw_bucket *b, int64_t max)
{
	b->ns = max;
	b->last_ns = -1;
}

static void refill(struct pw_bucket *b, int64_t now, int64_t per_s, int64_t max)
{
	int64_t d = now - b->last_ns;

	if (b->last_ns >= 0 && d > 0) {
		b->ns += d / 1000000000 * per_s + d % 1000000000 * per_s / 1000000000;
		if (b->ns > max)
			b->ns = max;
	}
	if (b->last_ns < 0 || d > 0)
		b->last_ns = now;
}

int pw_webauth_init(struct pw_webauth *a)
{
	memset(a, 0, sizeof(*a));
	if (getrandom(a->key, sizeof(a->key), 0) != sizeof(a->key))
		return -errno;
	a->crypt_data = calloc(1, sizeof(struct crypt_data));
	if (!a->crypt_data)
		return -ENOMEM;
	bucket_fill(&a->strangers, PW_AUTH_STRANGERS_MAX);
	bucket_fill(&a->known, PW_AUTH_KNOWN_MAX);
	return 0;
}

void pw_webauth_free(struct pw_webauth *a)
{
	if (a->crypt_data)
		explicit_bzero(a->crypt_data, sizeof(struct crypt_data));
	free(a->crypt_data);
	explicit_bzero(a->key, sizeof(a->key));
	a->crypt_data = NULL;
}

static struct pw_authsrc *find(struct pw_authsrc *t, size_t n, const struct pw_addrkey *k)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].used && !memcmp(&t[i].key, k, sizeof(*k)))
			return &t[i];
	return NULL;
}

/* k's entry, or a new one in a free slot or the least recently seen one's,
 * starting with a full bucket. */
static struct pw_authsrc *take(struct pw_authsrc *t, size_t n, const struct pw_addrkey *k)
{
	struct pw_authsrc *s = find(t, n, k), *old = &t[0];

	if (s)
		return s;
	for (size_t i = 0; i < n; i++) {
		if (!t[i].used) {
			old = &t[i];
			break;
		}
		if (t[i].b.last_ns < old->b.last_ns)
			old = &t[i];
	}
	old->used = true;
	old->key = *k;
	bucket_fill(&old->b, PW_AUTH_SOURCE_MAX);
	return old;
}

/* A source that authenticated: known from now on, its bucket kept. */
static void known(struct pw_webauth *a, const struct pw_addrkey *k, int64_t now)
{
	struct pw_authsrc *s = find(a->src, PW_AUTH_SOURCES, k), *n;

	n = take(a->known_src, PW_AUTH_KNOWN, k);
	if (s) {
		n->b = s->b;
		s->used = false;
	}
	refill(&n->b, now, PW_AUTH_SOURCE_PER_S, PW_AUTH_SOURCE_MAX);
}

static bool equal_ct(const void *a, const void *b, size_t n)
{
	const volatile uint8_t *x = a, *y = b;
	uint8_t d = 0;

	for (size_t i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return !d;
}

enum pw_auth_result pw_webauth_check(struct pw_webauth *a, struct pw_webconfig *cfg,
				     const struct pw_addrkey *src, const char *user,
				     const char *pass, int64_t now_ns)
{
	static const struct pw_addrkey unknown;
	struct pw_webuser *u = NULL;
	struct pw_authsrc *s;
	struct pw_bucket *pool;
	uint8_t mac[32];
	const char *out;
	int64_t t0, cost;
	bool ok;

	if (!user || !pass)
		return PW_AUTH_DENIED;
	if (!src)
		src = &unknown;
	for (size_t i = 0; i < cfg->nusers && !u; i++)
		if (!strcmp(cfg->users[i].name, user))
			u = &cfg->users[i];
	if (!u)
		return PW_AUTH_DENIED;
	if (gnutls_hmac_fast(GNUTLS_MAC_SHA256, a->key, sizeof(a->key), pass, strlen(pass), mac))
		return PW_AUTH_DENIED;
	if (u->cached && equal_ct(mac, u->mac, sizeof(mac))) {
		known(a, src, now_ns);
		return PW_AUTH_OK;
	}

	s = find(a->known_src, PW_AUTH_KNOWN, src);
	if (s) {
		pool = &a->known;
		refill(pool, now_ns, PW_AUTH_KNOWN_PER_S, PW_AUTH_KNOWN_MAX);
	} else {
		s = take(a->src, PW_AUTH_SOURCES, src);
		pool = &a->strangers;
		refill(pool, now_ns, PW_AUTH_STRANGERS_PER_S, PW_AUTH_STRANGERS_MAX);
	}
	refill(&s->b, now_ns, PW_AUTH_SOURCE_PER_S, PW_AUTH_SOURCE_MAX);
	if (s->b.ns <= 0 || pool->ns <= 0)
		return PW_AUTH_BUSY;
	/* bcrypt's cost is the CPU time this thread spent in it: on a busy
	 * host the wall time of one hash can exceed a whole pool, and one
	 * client would then lock out the others for what other processes did */
	t0 = pw_clock_ns(CLOCK_THREAD_CPUTIME_ID);
	out = crypt_rn(pass, u->hash, a->crypt_data, sizeof(struct crypt_data));
	cost = pw_clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
	s->b.ns -= cost;
	pool->ns -= cost;
	a->bcrypt_runs++;
	ok = out && strlen(out) == strlen(u->hash) && equal_ct(out, u->hash, strlen(u->hash));
	if (!ok)
		return PW_AUTH_DENIED;
	memcpy(u->mac, mac, sizeof(mac));
	u->cached = true;
	known(a, src, now_ns);
	return PW_AUTH_OK;
}
#endif /* PW_NO_METRICS */
