/* SPDX-License-Identifier: GPL-2.0 */
/* --web.config.file: the Prometheus exporter-toolkit web configuration
 * (TLS certificate and key, basic-auth users with bcrypt hashes, response
 * headers), and the basic-auth check that /metrics runs on each request. */
#ifndef PW_WEBCONFIG_H
#define PW_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PW_WEBCONFIG_MAX_BYTES	(1 << 20)	/* the file and each PEM file */
#define PW_WEBCONFIG_MAX_USERS	64
#define PW_WEBCONFIG_MAX_HEADERS 8

struct pw_webuser {
	char *name;
	char *hash;		/* bcrypt: $2a$, $2b$ or $2y$ */
	bool cached;		/* a password was verified: its HMAC below */
	uint8_t mac[32];
};

struct pw_webheader {
	const char *name;	/* static: one of the toolkit's header names */
	char *value;
};

struct pw_webconfig {
	bool tls;		/* tls_server_config with a certificate */
	char *cert_file, *key_file;	/* as written (relative: to the config's folder) */
	char *cert_pem, *key_pem;	/* inline `cert`/`key`, or the files once loaded */
	unsigned int min_version, max_version;	/* 0x0301 (TLS10) .. 0x0304 (TLS13) */
	bool client_order;	/* prefer_server_cipher_suites: false */
	size_t nusers;
	struct pw_webuser *users;
	size_t nheaders;
	struct pw_webheader headers[PW_WEBCONFIG_MAX_HEADERS];
};

/* Parse a configuration from memory; no file is read (the fuzzable part).
 * 0, or -EINVAL (bad YAML, unknown or unsupported key, bad value) or
 * -ENOMEM, with one line for the user in err. On error *cfg holds nothing
 * to free. */
int pw_webconfig_parse(const char *buf, size_t len, struct pw_webconfig *cfg,
		       char *err, size_t errsz);
/* Read PATH, parse it, read cert_file/key_file (relative to PATH's folder)
 * and check that the key is that certificate's. 0 or -EINVAL with err. */
int pw_webconfig_load(const char *path, struct pw_webconfig *cfg, char *err, size_t errsz);
void pw_webconfig_free(struct pw_webconfig *cfg);
/* The GnuTLS priority string for min_version/max_version. */
void pw_webconfig_priorities(const struct pw_webconfig *cfg, char *buf, size_t bufsz);

/* Basic auth against cfg->users. bcrypt costs tens of milliseconds and runs
 * in portwatch's worker loop, so it is budgeted (see webconfig.c). */
enum pw_auth_result {
	PW_AUTH_OK,
	PW_AUTH_DENIED,		/* no such user, or a wrong password: 401 */
	PW_AUTH_BUSY,		/* bcrypt budget spent: 429, try again later */
};

struct pw_webauth {
	uint8_t key[32];	/* random HMAC key for the cache, per process */
	int64_t budget_ns;	/* bcrypt time left to spend */
	int64_t last_ns;	/* when the budget was last refilled */
	uint64_t bcrypt_runs;	/* for tests: how often bcrypt ran */
	void *crypt_data;	/* libcrypt's scratch space (about 32 KiB) */
};

#define PW_AUTH_BUDGET_PER_S	100000000LL	/* 100 ms of bcrypt a second ... */
#define PW_AUTH_BUDGET_MAX	300000000LL	/* ... saved up to 300 ms */

int pw_webauth_init(struct pw_webauth *a);
void pw_webauth_free(struct pw_webauth *a);
/* now_ns: CLOCK_MONOTONIC. user or pass NULL: DENIED. */
enum pw_auth_result pw_webauth_check(struct pw_webauth *a, struct pw_webconfig *cfg,
				     const char *user, const char *pass, int64_t now_ns);

#endif /* PW_WEBCONFIG_H */
