// SPDX-License-Identifier: GPL-2.0
/* tls_server_config: Go's names mapped to a GnuTLS priority string, and the
 * checks that GnuTLS will offer what the file says (see webconfig_tls.h). */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "webconfig.h"

#ifndef PW_NO_METRICS
#include <gnutls/gnutls.h>
#include "webconfig_tls.h"

/*
 * cipher_suites and curve_preferences take Go's names, as the toolkit does.
 * GnuTLS has no list of suites, only lists of key exchanges, ciphers and MACs
 * whose product it offers: the product is checked against the list (see
 * check_suites). kx NULL: a TLS 1.3 suite (Go always offers those; here they
 * add their cipher, as the TLS 1.2 suites do, since GnuTLS has one cipher
 * list for both).
 */
static const struct suite {
	const char *name, *kx, *cipher, *mac;
} suites[] = {
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA", "AES-128-GCM", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA", "AES-128-GCM", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA", "AES-256-GCM", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA", "AES-256-GCM", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA", "CHACHA20-POLY1305", "AEAD" },
	{ "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA", "CHACHA20-POLY1305", "AEAD" },
	{ "TLS_AES_128_GCM_SHA256", NULL, "AES-128-GCM", "AEAD" },
	{ "TLS_AES_256_GCM_SHA384", NULL, "AES-256-GCM", "AEAD" },
	{ "TLS_CHACHA20_POLY1305_SHA256", NULL, "CHACHA20-POLY1305", "AEAD" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA", "AES-128-CBC", "SHA1" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA", "AES-128-CBC", "SHA1" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA", "AES-256-CBC", "SHA1" },
	{ "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA", "AES-256-CBC", "SHA1" },
	{ "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA", "AES-128-CBC", "SHA256" },
	{ "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA", "AES-128-CBC", "SHA256" },
	{ "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA", "3DES-CBC", "SHA1" },
	{ "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA", "ARCFOUR-128", "SHA1" },
	{ "TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA", "ARCFOUR-128", "SHA1" },
	{ "TLS_RSA_WITH_AES_128_GCM_SHA256", "RSA", "AES-128-GCM", "AEAD" },
	{ "TLS_RSA_WITH_AES_256_GCM_SHA384", "RSA", "AES-256-GCM", "AEAD" },
	{ "TLS_RSA_WITH_AES_128_CBC_SHA", "RSA", "AES-128-CBC", "SHA1" },
	{ "TLS_RSA_WITH_AES_256_CBC_SHA", "RSA", "AES-256-CBC", "SHA1" },
	{ "TLS_RSA_WITH_AES_128_CBC_SHA256", "RSA", "AES-128-CBC", "SHA256" },
	{ "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "RSA", "3DES-CBC", "SHA1" },
	{ "TLS_RSA_WITH_RC4_128_SHA", "RSA", "ARCFOUR-128", "SHA1" },
};
#define NSUITES (sizeof(suites) / sizeof(suites[0]))
_Static_assert(NSUITES <= PW_WEBCONFIG_MAX_SUITES, "cipher_suites must fit");

/* without cipher_suites: the toolkit's modern set, these in this order */
static const uint8_t default_suites[] = { 0, 1, 2, 3, 4, 5 };

static const struct group {
	const char *name, *gnutls;
} groups[] = {
	{ "X25519", "GROUP-X25519" },
	{ "CurveP256", "GROUP-SECP256R1" },
	{ "CurveP384", "GROUP-SECP384R1" },
	{ "CurveP521", "GROUP-SECP521R1" },
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))
_Static_assert(NGROUPS <= PW_WEBCONFIG_MAX_GROUPS, "curve_preferences must fit");
static const uint8_t default_groups[] = { 0, 1, 2, 3 };

/* TLS versions by their protocol numbers: TLS 1.x is TLS_1_0 + x */
#define TLS_1_0	0x0301
#define TLS_1_2	0x0303
#define TLS_1_3	0x0304

/* min_version and max_version, unset ones at the toolkit's defaults */
static void version_range(const struct pw_webconfig *c, unsigned int *lo, unsigned int *hi)
{
	*lo = c->min_version ? c->min_version : TLS_1_2;
	*hi = c->max_version ? c->max_version : TLS_1_3;
}

static int tls_version(struct pw_yaml *p, yaml_node_t *n, const char *what, unsigned int *out)
{
	static const char *const names[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
	const char *v = NULL;
	int err = pw_yaml_scalar(p, n, what, &v);

	if (err)
		return err;
	for (unsigned int i = 0; i < 4; i++) {
		if (!strcmp(v, names[i])) {
			*out = TLS_1_0 + i;
			return 0;
		}
	}
	return pw_yaml_fail(p, n, "%s: '%s' is not one of TLS10, TLS11, TLS12, TLS13", what, v);
}

/* cert_file, key_file, cert and key: null leaves them unset */
static int optional_string(struct pw_yaml *p, yaml_node_t *v, const char *what, char **out)
{
	return pw_yaml_is_null(v) ? 0 : pw_yaml_dup_scalar(p, v, what, out);
}

int pw_webtls_pair(struct pw_yaml *p, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct pw_webconfig *c = p->cfg;
	const char *s = NULL;
	bool b;
	int err;

	if (!strcmp(key, "cert_file"))
		return optional_string(p, v, "tls_server_config.cert_file", &c->cert_file);
	if (!strcmp(key, "key_file"))
		return optional_string(p, v, "tls_server_config.key_file", &c->key_file);
	if (!strcmp(key, "cert"))
		return optional_string(p, v, "tls_server_config.cert", &c->cert_pem);
	if (!strcmp(key, "key"))
		return optional_string(p, v, "tls_server_config.key", &c->key_pem);
	if (!strcmp(key, "min_version"))
		return tls_version(p, v, "tls_server_config.min_version", &c->min_version);
	if (!strcmp(key, "max_version"))
		return tls_version(p, v, "tls_server_config.max_version", &c->max_version);
	if (!strcmp(key, "prefer_server_cipher_suites")) {
		err = pw_yaml_bool(p, v, "tls_server_config.prefer_server_cipher_suites", &b);
		if (!err)	/* b is unset on error */
			c->client_order = !b;
		return err;
	}
	if (!strcmp(key, "client_auth_type")) {
		/* the toolkit's default; client certificates are not implemented */
		err = pw_yaml_scalar(p, v, "tls_server_config.client_auth_type", &s);
		if (err || !strcmp(s, "NoClientCert"))
			return err;
		return pw_yaml_fail(p, v, "tls_server_config.client_auth_type: only NoClientCert "
				    "is supported (no client certificates), not '%s'", s);
	}
	if (!strcmp(key, "cipher_suites"))
		return pw_yaml_name_list(p, v, "tls_server_config.cipher_suites", suites,
					 sizeof(suites[0]), NSUITES, c->suites, &c->nsuites);
	if (!strcmp(key, "curve_preferences"))
		return pw_yaml_name_list(p, v, "tls_server_config.curve_preferences", groups,
					 sizeof(groups[0]), NGROUPS, c->groups, &c->ngroups);
	if (!strcmp(key, "client_ca_file") || !strcmp(key, "client_ca") ||
	    !strcmp(key, "client_allowed_sans"))
		return pw_yaml_fail(p, k, "tls_server_config.%s is not supported by portwatch",
				    key);
	return pw_yaml_fail(p, k, "unknown key '%s' in tls_server_config", key);
}

static bool same_suite(const struct suite *s, gnutls_kx_algorithm_t kx,
		       gnutls_cipher_algorithm_t cipher, gnutls_mac_algorithm_t mac)
{
	const char *k = gnutls_kx_get_name(kx), *c = gnutls_cipher_get_name(cipher);
	const char *m = gnutls_mac_get_name(mac);

	return s->kx && k && c && m && !strcmp(s->kx, k) && !strcmp(s->cipher, c) &&
	       !strcmp(s->mac, m);
}

/* What GnuTLS will offer is what cipher_suites says: its product of key
 * exchanges, ciphers and MACs must not add a suite, and each TLS version
 * allowed must keep one. */
static int check_suites(struct pw_yaml *p)
{
	struct pw_webconfig *c = p->cfg;
	unsigned int lo, hi;
	char prio[PW_WEBCONFIG_PRIORITIES_MAX], extra[80] = "";
	gnutls_priority_t pr;
	const char *where = NULL;
	size_t n12 = 0, n13 = 0;
	int r;

	version_range(c, &lo, &hi);
	pw_webconfig_priorities(c, prio, sizeof(prio));
	r = gnutls_priority_init(&pr, prio, &where);
	if (r < 0)
		return pw_yaml_fail(p, NULL, "tls_server_config: GnuTLS refuses these cipher "
				    "suites and curves: %s", gnutls_strerror(r));
	for (unsigned int i = 0; !extra[0]; i++) {
		gnutls_kx_algorithm_t kx;
		gnutls_cipher_algorithm_t cipher;
		gnutls_mac_algorithm_t mac;
		gnutls_protocol_t min;
		unsigned char id[2];
		const char *name;
		unsigned int idx;
		size_t k = 0;

		r = gnutls_priority_get_cipher_suite_index(pr, i, &idx);
		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		name = r < 0 ? NULL : gnutls_cipher_suite_info(idx, id, &kx, &cipher, &mac, &min);
		if (!name)
			continue;
		if (kx == GNUTLS_KX_UNKNOWN) {	/* TLS 1.3: no key exchange in the suite */
			n13++;
			continue;
		}
		n12++;
		while (c->nsuites && k < c->nsuites && !same_suite(&suites[c->suites[k]], kx, cipher, mac))
			k++;
		if (!c->nsuites || k < c->nsuites)
			continue;
		for (k = 0; k < NSUITES && !same_suite(&suites[k], kx, cipher, mac); k++)
			;
		snprintf(extra, sizeof(extra), "%s", k < NSUITES ? suites[k].name : name);
	}
	gnutls_priority_deinit(pr);
	if (extra[0])
		return pw_yaml_fail(p, NULL, "tls_server_config.cipher_suites: GnuTLS combines "
				    "the key exchanges, ciphers and MACs listed: also %s (list "
				    "it, or drop one)", extra);
	if (lo <= TLS_1_2 && !n12)
		return pw_yaml_fail(p, NULL, "tls_server_config.cipher_suites: none for TLS 1.2 or "
				    "below (set min_version: TLS13, or list one)");
	if (hi >= TLS_1_3 && !n13)
		return pw_yaml_fail(p, NULL, "tls_server_config.cipher_suites: TLS 1.3 needs an "
				    "AES-GCM or ChaCha20-Poly1305 suite in the list (GnuTLS has "
				    "one list of ciphers for TLS 1.2 and 1.3), or set "
				    "max_version: TLS12");
	return 0;
}

/* The toolkit's rules for the TLS part once every key is read. */
int pw_webtls_check(struct pw_yaml *p)
{
	struct pw_webconfig *c = p->cfg;

	if (c->cert_file && c->cert_pem)
		return pw_yaml_fail(p, NULL, "tls_server_config: cert and cert_file are exclusive");
	if (c->key_file && c->key_pem)
		return pw_yaml_fail(p, NULL, "tls_server_config: key and key_file are exclusive");
	c->tls = c->cert_file || c->cert_pem || c->key_file || c->key_pem;
	if (c->tls && !c->cert_file && !c->cert_pem)
		return pw_yaml_fail(p, NULL, "tls_server_config: missing cert_file (or cert)");
	if (c->tls && !c->key_file && !c->key_pem)
		return pw_yaml_fail(p, NULL, "tls_server_config: missing key_file (or key)");
	if (c->min_version && c->max_version && c->min_version > c->max_version)
		return pw_yaml_fail(p, NULL, "tls_server_config: min_version is above max_version");
	return check_suites(p);
}

static void prio_add(char *buf, size_t bufsz, size_t *n, const char *a, const char *b)
{
	if (*n < bufsz)
		*n += snprintf(buf + *n, bufsz - *n, "%s%s", a, b);
}

/* ":+X" for field X (at offset off in struct suite) of each listed suite,
 * the first time it comes. */
static void prio_add_field(char *buf, size_t bufsz, size_t *n, const char *minus,
			   const uint8_t *si, size_t ns, size_t off)
{
#define FIELD(k) (*(const char *const *)((const char *)&suites[si[k]] + off))
	prio_add(buf, bufsz, n, minus, "");
	for (size_t k = 0; k < ns; k++) {
		size_t j = 0;

		while (j < k && (!FIELD(k) || !FIELD(j) || strcmp(FIELD(j), FIELD(k))))
			j++;
		if (FIELD(k) && j == k)
			prio_add(buf, bufsz, n, ":+", FIELD(k));
	}
#undef FIELD
}

void pw_webconfig_priorities(const struct pw_webconfig *cfg, char *buf, size_t bufsz)
{
	const uint8_t *si = cfg->nsuites ? cfg->suites : default_suites;
	size_t ns = cfg->nsuites ? cfg->nsuites : sizeof(default_suites);
	const uint8_t *gi = cfg->ngroups ? cfg->groups : default_groups;
	size_t ng = cfg->ngroups ? cfg->ngroups : sizeof(default_groups);
	unsigned int lo, hi;
	size_t n = 0;
	char v[16];

	if (!bufsz)
		return;
	version_range(cfg, &lo, &hi);
	buf[0] = '\0';
	prio_add(buf, bufsz, &n, "NORMAL:-VERS-ALL", "");
	for (unsigned int x = lo; x <= hi; x++) {
		snprintf(v, sizeof(v), "%u", x - TLS_1_0);
		prio_add(buf, bufsz, &n, ":+VERS-TLS1.", v);
	}
	prio_add_field(buf, bufsz, &n, ":-KX-ALL", si, ns, offsetof(struct suite, kx));
	prio_add_field(buf, bufsz, &n, ":-CIPHER-ALL", si, ns, offsetof(struct suite, cipher));
	prio_add_field(buf, bufsz, &n, ":-MAC-ALL", si, ns, offsetof(struct suite, mac));
	prio_add(buf, bufsz, &n, ":-GROUP-ALL", "");
	for (size_t k = 0; k < ng; k++)
		prio_add(buf, bufsz, &n, ":+", groups[gi[k]].gnutls);
	/* no SHA-1 in handshake signatures either */
	prio_add(buf, bufsz, &n, ":-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1", "");
	if (!cfg->client_order)
		prio_add(buf, bufsz, &n, ":%SERVER_PRECEDENCE", "");
}

/* GnuTLS says now whether the key is the certificate's, rather than
 * libmicrohttpd failing to start without a reason. */
int pw_webtls_check_keypair(const struct pw_webconfig *cfg, char *err, size_t errsz)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cert = { (unsigned char *)cfg->cert_pem, strlen(cfg->cert_pem) };
	gnutls_datum_t key = { (unsigned char *)cfg->key_pem, strlen(cfg->key_pem) };
	int r;

	if (gnutls_certificate_allocate_credentials(&cred) < 0) {
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	r = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
	gnutls_certificate_free_credentials(cred);
	if (r < 0) {
		snprintf(err, errsz, "tls_server_config: the certificate and key are not usable: %s",
			 gnutls_strerror(r));
		return -EINVAL;
	}
	return 0;
}
#endif /* PW_NO_METRICS */
