/* SPDX-License-Identifier: GPL-2.0 */
/* --web.config.file: the Prometheus exporter-toolkit web configuration
 * (TLS certificate and key, basic-auth users with bcrypt hashes, response
 * headers), read and checked before the port is taken; webauth.h checks a
 * request's credentials against it. */
#ifndef PW_WEBCONFIG_H
#define PW_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PW_WEBCONFIG_MAX_BYTES	(1 << 20)	/* the file and each PEM file */
#define PW_WEBCONFIG_MAX_USERS	64
#define PW_WEBCONFIG_MAX_HEADERS 8
#define PW_WEBCONFIG_MAX_SUITES	32	/* cipher_suites (duplicates dropped) */
#define PW_WEBCONFIG_MAX_GROUPS	8	/* curve_preferences (duplicates dropped) */
#define PW_WEBCONFIG_PRIORITIES_MAX 512

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
	size_t nsuites, ngroups;	/* 0: the defaults */
	uint8_t suites[PW_WEBCONFIG_MAX_SUITES];	/* cipher_suites: webconfig_tls.c indexes */
	uint8_t groups[PW_WEBCONFIG_MAX_GROUPS];	/* curve_preferences, likewise */
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
/* The GnuTLS priority string (at most PW_WEBCONFIG_PRIORITIES_MAX bytes):
 * min_version/max_version, cipher_suites (default: the toolkit's modern set,
 * ECDHE with AES-GCM or ChaCha20-Poly1305, and TLS 1.3's), curve_preferences
 * (default X25519, P-256, P-384, P-521), prefer_server_cipher_suites. */
void pw_webconfig_priorities(const struct pw_webconfig *cfg, char *buf, size_t bufsz);

#endif /* PW_WEBCONFIG_H */
