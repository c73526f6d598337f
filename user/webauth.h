/* SPDX-License-Identifier: GPL-2.0 */
/* Basic auth for /metrics against --web.config.file's users: a cache of the
 * verified passwords and bcrypt time budgets per client address, so that
 * one guessing client cannot spend the time everyone else's check needs. */
#ifndef PW_WEBAUTH_H
#define PW_WEBAUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include "webconfig.h"

/* A client's address as the limits count it: IPv4 (also IPv4-mapped IPv6)
 * by its address, IPv6 by its /64 (one host, or one tenant, gets a /64). */
struct pw_addrkey {
	uint8_t b[16];
};

/* 0, or -EAFNOSUPPORT (not IPv4 or IPv6: *k is all zeroes). */
int pw_addrkey(const struct sockaddr *sa, socklen_t len, struct pw_addrkey *k);

enum pw_auth_result {
	PW_AUTH_OK,
	PW_AUTH_DENIED,		/* no such user, or a wrong password: 401 */
	PW_AUTH_BUSY,		/* bcrypt budget spent: 429, try again later */
};

struct pw_bucket {
	int64_t ns;		/* bcrypt time left to spend */
	int64_t last_ns;	/* when last refilled; -1: never */
};

struct pw_authsrc {
	struct pw_addrkey key;
	bool used;
	struct pw_bucket b;	/* its own budget; b.last_ns is also its age */
};

/*
 * Budgets (ns of bcrypt CPU time per second, and the most saved up): every check that
 * runs bcrypt spends from its source's bucket and from one of two pools,
 * strangers' or known sources' (those that authenticated before). Together
 * at most 100 ms a second: a tenth of the worker's time.
 */
#define PW_AUTH_SOURCE_PER_S	25000000LL	/* a source: 25 ms/s ... */
#define PW_AUTH_SOURCE_MAX	100000000LL	/* ... up to 100 ms */
#define PW_AUTH_STRANGERS_PER_S	75000000LL	/* all strangers: 75 ms/s ... */
#define PW_AUTH_STRANGERS_MAX	225000000LL	/* ... up to 225 ms */
#define PW_AUTH_KNOWN_PER_S	25000000LL	/* all known sources: 25 ms/s ... */
#define PW_AUTH_KNOWN_MAX	100000000LL	/* ... up to 100 ms */
#define PW_AUTH_SOURCES		256	/* strangers' buckets, least recent evicted */
#define PW_AUTH_KNOWN		64	/* known sources, evicted only by known ones */

struct pw_webauth {
	uint8_t key[32];	/* random HMAC key for the cache, per process */
	struct pw_bucket strangers, known;
	struct pw_authsrc src[PW_AUTH_SOURCES];
	struct pw_authsrc known_src[PW_AUTH_KNOWN];
	uint64_t bcrypt_runs;	/* for tests: how often bcrypt ran */
	void *crypt_data;	/* libcrypt's scratch space (about 32 KiB) */
};

int pw_webauth_init(struct pw_webauth *a);
void pw_webauth_free(struct pw_webauth *a);
/* now_ns: CLOCK_MONOTONIC. user or pass NULL: DENIED. src: the client's
 * address key (NULL: one shared unknown source). */
enum pw_auth_result pw_webauth_check(struct pw_webauth *a, struct pw_webconfig *cfg,
				     const struct pw_addrkey *src, const char *user,
				     const char *pass, int64_t now_ns);

#endif /* PW_WEBAUTH_H */
