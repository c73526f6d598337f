// SPDX-License-Identifier: GPL-2.0
/* --web.config.file: the exporter-toolkit format, read with libyaml, bcrypt
 * through libcrypt, certificates checked and hashed with GnuTLS. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "webconfig.h"

#ifndef PW_NO_METRICS
#include <crypt.h>
#include <yaml.h>
#include <gnutls/gnutls.h>

struct parse {
	yaml_document_t *doc;
	struct pw_webconfig *cfg;
	char *err;
	size_t errsz;
};

static int fail(struct parse *p, const yaml_node_t *n, const char *fmt, ...)
{
	char msg[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n)
		snprintf(p->err, p->errsz, "line %zu: %s", n->start_mark.line + 1, msg);
	else
		snprintf(p->err, p->errsz, "%s", msg);
	return -EINVAL;
}

static bool is_null(const yaml_node_t *n)
{
	const char *v = NULL;

	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* A scalar as a C string (NUL bytes would cut it short: refused). */
static int scalar(struct parse *p, const yaml_node_t *n, const char *what, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(p, n, "%s: expected a string", what);
	if (memchr(n->data.scalar.value, 0, n->data.scalar.length))
		return fail(p, n, "%s: contains a NUL byte", what);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

static int dup_scalar(struct parse *p, const yaml_node_t *n, const char *what, char **out)
{
	const char *v = NULL;
	int err = scalar(p, n, what, &v);

	if (err)
		return err;
	if (*out)
		return fail(p, n, "%s: given twice", what);
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

static int boolean(struct parse *p, const yaml_node_t *n, const char *what, bool *out)
{
	const char *v = NULL;
	int err = scalar(p, n, what, &v);

	if (err)
		return err;
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
		*out = false;
	else
		return fail(p, n, "%s: expected true or false, not '%s'", what, v);
	return 0;
}

/* Walk a mapping: cb(key, value) for each pair; duplicate keys refused. */
typedef int (*pair_fn)(struct parse *p, const char *key, yaml_node_t *k, yaml_node_t *v);

static int mapping(struct parse *p, yaml_node_t *n, const char *what, pair_fn cb)
{
	yaml_node_pair_t *pair, *other;

	if (is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return fail(p, n, "%s: expected a mapping", what);
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		const char *key;
		int err;

		if (!k || k->type != YAML_SCALAR_NODE)
			return fail(p, k ? k : n, "%s: keys must be strings", what);
		err = scalar(p, k, what, &key);
		if (err)
			return err;
		for (other = n->data.mapping.pairs.start; other < pair; other++) {
			yaml_node_t *o = yaml_document_get_node(p->doc, other->key);

			if (o && o->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)o->data.scalar.value, key))
				return fail(p, k, "%s: key '%s' given twice", what, key);
		}
		err = cb(p, key, k, v);
		if (err)
			return err;
	}
	return 0;
}

static int tls_version(struct parse *p, yaml_node_t *n, const char *what, unsigned int *out)
{
	static const char *const names[] = { "TLS10", "TLS11", "TLS12", "TLS13" };
	const char *v = NULL;
	int err = scalar(p, n, what, &v);

	if (err)
		return err;
	for (unsigned int i = 0; i < 4; i++) {
		if (!strcmp(v, names[i])) {
			*out = 0x0301 + i;
			return 0;
		}
	}
	return fail(p, n, "%s: '%s' is not one of TLS10, TLS11, TLS12, TLS13", what, v);
}

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

/* A sequence of names from table (stride apart, the name first) into idx:
 * unknown names refused, duplicates dropped; an empty list is the default. */
static int name_list(struct parse *p, yaml_node_t *n, const char *what, const void *table,
		     size_t stride, size_t count, uint8_t *idx, size_t *nidx)
{
	yaml_node_item_t *it;

	if (is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return fail(p, n, "%s: expected a list", what);
	if (*nidx)
		return fail(p, n, "%s: given twice", what);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = yaml_document_get_node(p->doc, *it);
		const char *name = NULL;
		size_t i, j;
		int err;

		if (!v)
			return fail(p, n, "%s: expected a list of names", what);
		err = scalar(p, v, what, &name);
		if (err)
			return err;
		for (i = 0; i < count; i++)
			if (!strcmp(name, *(const char *const *)((const char *)table + i * stride)))
				break;
		if (i == count)
			return fail(p, v, "%s: unknown name '%s'", what, name);
		for (j = 0; j < *nidx && idx[j] != i; j++)
			;
		if (j == *nidx)
			idx[(*nidx)++] = i;	/* fits: no duplicates, count <= the array */
	}
	return 0;
}

static int tls_pair(struct parse *p, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct pw_webconfig *c = p->cfg;
	const char *s = NULL;
	bool b;
	int err;

	if (!strcmp(key, "cert_file"))
		return is_null(v) ? 0 : dup_scalar(p, v, "tls_server_config.cert_file", &c->cert_file);
	if (!strcmp(key, "key_file"))
		return is_null(v) ? 0 : dup_scalar(p, v, "tls_server_config.key_file", &c->key_file);
	if (!strcmp(key, "cert"))
		return is_null(v) ? 0 : dup_scalar(p, v, "tls_server_config.cert", &c->cert_pem);
	if (!strcmp(key, "key"))
		return is_null(v) ? 0 : dup_scalar(p, v, "tls_server_config.key", &c->key_pem);
	if (!strcmp(key, "min_version"))
		return tls_version(p, v, "tls_server_config.min_version", &c->min_version);
	if (!strcmp(key, "max_version"))
		return tls_version(p, v, "tls_server_config.max_version", &c->max_version);
	if (!strcmp(key, "prefer_server_cipher_suites")) {
		err = boolean(p, v, "tls_server_config.prefer_server_cipher_suites", &b);
		if (!err)	/* b is unset on error */
			c->client_order = !b;
		return err;
	}
	if (!strcmp(key, "client_auth_type")) {
		/* the toolkit's default; client certificates are not implemented */
		err = scalar(p, v, "tls_server_config.client_auth_type", &s);
		if (err || !strcmp(s, "NoClientCert"))
			return err;
		return fail(p, v, "tls_server_config.client_auth_type: only NoClientCert is "
			    "supported (no client certificates), not '%s'", s);
	}
	if (!strcmp(key, "cipher_suites"))
		return name_list(p, v, "tls_server_config.cipher_suites", suites, sizeof(suites[0]),
				 NSUITES, c->suites, &c->nsuites);
	if (!strcmp(key, "curve_preferences"))
		return name_list(p, v, "tls_server_config.curve_preferences", groups,
				 sizeof(groups[0]), NGROUPS, c->groups, &c->ngroups);
	if (!strcmp(key, "client_ca_file") || !strcmp(key, "client_ca") ||
	    !strcmp(key, "client_allowed_sans"))
		return fail(p, k, "tls_server_config.%s is not supported by portwatch", key);
	return fail(p, k, "unknown key '%s' in tls_server_config", key);
}

static int header_pair(struct parse *p, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	/* the toolkit's list: nothing else may be set */
	static const char *const allowed[] = {
		"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options",
		"X-XSS-Protection", "Strict-Transport-Security",
	};
	struct pw_webconfig *c = p->cfg;
	struct pw_webheader *h;
	const char *s = NULL;
	int err;

	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		if (strcmp(key, allowed[i]))
			continue;
		if (is_null(v))
			return 0;
		err = scalar(p, v, key, &s);
		if (err)
			return err;
		if (strpbrk(s, "\r\n"))
			return fail(p, v, "header %s: a value must be one line", key);
		if (!*s)
			return 0;	/* blank: unset, as in the toolkit */
		if (!strcmp(key, "X-Frame-Options") && strcasecmp(s, "deny") &&
		    strcasecmp(s, "sameorigin"))
			return fail(p, v, "header X-Frame-Options: deny or sameorigin, not '%s'", s);
		if (!strcmp(key, "X-Content-Type-Options") && strcasecmp(s, "nosniff"))
			return fail(p, v, "header X-Content-Type-Options: nosniff, not '%s'", s);
		if (c->nheaders == PW_WEBCONFIG_MAX_HEADERS)	/* duplicates are refused */
			return fail(p, k, "too many headers");
		h = &c->headers[c->nheaders];
		h->name = allowed[i];
		h->value = strdup(s);
		if (!h->value)
			return -ENOMEM;
		c->nheaders++;
		return 0;
	}
	return fail(p, k, "HTTP header '%s' cannot be configured (only %s, %s, %s, %s, %s)", key,
		    allowed[0], allowed[1], allowed[2], allowed[3], allowed[4]);
}

static int http_pair(struct parse *p, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	bool b;

	if (!strcmp(key, "http2"))	/* libmicrohttpd speaks HTTP/1.1 only */
		return boolean(p, v, "http_server_config.http2", &b);
	if (!strcmp(key, "headers"))
		return mapping(p, v, "http_server_config.headers", header_pair);
	return fail(p, k, "unknown key '%s' in http_server_config", key);
}

static int user_pair(struct parse *p, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct pw_webconfig *c = p->cfg;
	struct pw_webuser *u;
	const char *hash = NULL;
	int err;

	if (!*key || strchr(key, ':') || strlen(key) > 255 || strpbrk(key, "\r\n"))
		return fail(p, k, "basic_auth_users: '%s' is not a user name (1 to 255 bytes, no ':')",
			    key);
	if (c->nusers == PW_WEBCONFIG_MAX_USERS)
		return fail(p, k, "basic_auth_users: more than %d users", PW_WEBCONFIG_MAX_USERS);
	if (is_null(v))
		return fail(p, k, "basic_auth_users.%s: no password hash", key);
	err = scalar(p, v, "basic_auth_users", &hash);
	if (err)
		return err;
	/* bcrypt only, as the toolkit; crypt_checksalt() knows its syntax */
	if ((strncmp(hash, "$2a$", 4) && strncmp(hash, "$2b$", 4) && strncmp(hash, "$2y$", 4)) ||
	    strlen(hash) != 60 || crypt_checksalt(hash) != CRYPT_SALT_OK)
		return fail(p, v, "basic_auth_users.%s: not a bcrypt hash ($2y$10$ and 53 more "
			    "characters, e.g. from htpasswd -nBC 10)", key);
	u = &c->users[c->nusers];
	memset(u, 0, sizeof(*u));
	u->name = strdup(key);
	u->hash = strdup(hash);
	c->nusers++;
	return u->name && u->hash ? 0 : -ENOMEM;
}

static int top_pair(struct parse *p, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	if (!strcmp(key, "tls_server_config"))
		return mapping(p, v, "tls_server_config", tls_pair);
	if (!strcmp(key, "http_server_config"))
		return mapping(p, v, "http_server_config", http_pair);
	if (!strcmp(key, "basic_auth_users"))
		return mapping(p, v, "basic_auth_users", user_pair);
	if (!strcmp(key, "rate_limit"))
		return fail(p, k, "rate_limit is not supported by portwatch (it limits "
			    "connections per client itself: see the README)");
	return fail(p, k, "unknown key '%s' (tls_server_config, http_server_config, "
		    "basic_auth_users)", key);
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
static int check_suites(struct parse *p)
{
	struct pw_webconfig *c = p->cfg;
	unsigned int lo = c->min_version ? c->min_version : 0x0303;
	unsigned int hi = c->max_version ? c->max_version : 0x0304;
	char prio[PW_WEBCONFIG_PRIORITIES_MAX], extra[80] = "";
	gnutls_priority_t pr;
	const char *where = NULL;
	size_t n12 = 0, n13 = 0;
	int r;

	pw_webconfig_priorities(c, prio, sizeof(prio));
	r = gnutls_priority_init(&pr, prio, &where);
	if (r < 0)
		return fail(p, NULL, "tls_server_config: GnuTLS refuses these cipher suites "
			    "and curves: %s", gnutls_strerror(r));
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
		return fail(p, NULL, "tls_server_config.cipher_suites: GnuTLS combines the key "
			    "exchanges, ciphers and MACs listed: also %s (list it, or drop one)",
			    extra);
	if (lo <= 0x0303 && !n12)
		return fail(p, NULL, "tls_server_config.cipher_suites: none for TLS 1.2 or "
			    "below (set min_version: TLS13, or list one)");
	if (hi >= 0x0304 && !n13)
		return fail(p, NULL, "tls_server_config.cipher_suites: TLS 1.3 needs an AES-GCM "
			    "or ChaCha20-Poly1305 suite in the list (GnuTLS has one list of "
			    "ciphers for TLS 1.2 and 1.3), or set max_version: TLS12");
	return 0;
}

/* The toolkit's rules for the TLS part once every key is read. */
static int check_tls(struct parse *p)
{
	struct pw_webconfig *c = p->cfg;

	if (c->cert_file && c->cert_pem)
		return fail(p, NULL, "tls_server_config: cert and cert_file are exclusive");
	if (c->key_file && c->key_pem)
		return fail(p, NULL, "tls_server_config: key and key_file are exclusive");
	c->tls = c->cert_file || c->cert_pem || c->key_file || c->key_pem;
	if (c->tls && !c->cert_file && !c->cert_pem)
		return fail(p, NULL, "tls_server_config: missing cert_file (or cert)");
	if (c->tls && !c->key_file && !c->key_pem)
		return fail(p, NULL, "tls_server_config: missing key_file (or key)");
	if (c->min_version && c->max_version && c->min_version > c->max_version)
		return fail(p, NULL, "tls_server_config: min_version is above max_version");
	return check_suites(p);
}

static int parse(const char *buf, size_t len, struct pw_webconfig *cfg, char *err, size_t errsz);

/* The message quotes what the file says: a multi-line scalar must not make
 * it more than one line (control bytes become '?'). */
int pw_webconfig_parse(const char *buf, size_t len, struct pw_webconfig *cfg,
		       char *err, size_t errsz)
{
	int r = parse(buf, len, cfg, err, errsz);

	if (r && errsz) {
		err[errsz - 1] = '\0';
		for (char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	return r;
}

static int parse(const char *buf, size_t len, struct pw_webconfig *cfg, char *err, size_t errsz)
{
	struct parse p = { .cfg = cfg, .err = err, .errsz = errsz };
	yaml_parser_t parser;
	yaml_document_t doc, next;
	yaml_node_t *root;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (len > PW_WEBCONFIG_MAX_BYTES) {
		snprintf(err, errsz, "larger than %d bytes", PW_WEBCONFIG_MAX_BYTES);
		return -EINVAL;
	}
	cfg->users = calloc(PW_WEBCONFIG_MAX_USERS, sizeof(*cfg->users));
	if (!cfg->users || !yaml_parser_initialize(&parser)) {
		free(cfg->users);
		cfg->users = NULL;
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(err, errsz, "line %zu: YAML: %s%s%s", parser.problem_mark.line + 1,
			 parser.problem ? parser.problem : "cannot parse",
			 parser.context ? " " : "", parser.context ? parser.context : "");
		yaml_parser_delete(&parser);
		pw_webconfig_free(cfg);
		return -EINVAL;
	}
	p.doc = &doc;
	root = yaml_document_get_root_node(&doc);
	/* an empty file is a valid configuration: plain HTTP, no users */
	ret = root ? mapping(&p, root, "the configuration", top_pair) : 0;
	if (!ret && root) {
		if (!yaml_parser_load(&parser, &next)) {
			ret = fail(&p, NULL, "line %zu: YAML: %s", parser.problem_mark.line + 1,
				   parser.problem ? parser.problem : "cannot parse");
		} else {
			if (yaml_document_get_root_node(&next))
				ret = fail(&p, NULL, "more than one YAML document");
			yaml_document_delete(&next);
		}
	}
	if (!ret)
		ret = check_tls(&p);
	if (ret == -ENOMEM)
		snprintf(err, errsz, "out of memory");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret)
		pw_webconfig_free(cfg);
	return ret;
}

void pw_webconfig_free(struct pw_webconfig *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; cfg->users && i < cfg->nusers; i++) {
		free(cfg->users[i].name);
		free(cfg->users[i].hash);
	}
	for (size_t i = 0; i < cfg->nheaders; i++)
		free(cfg->headers[i].value);
	free(cfg->users);
	free(cfg->cert_file);
	free(cfg->key_file);
	if (cfg->key_pem)
		explicit_bzero(cfg->key_pem, strlen(cfg->key_pem));
	free(cfg->cert_pem);
	free(cfg->key_pem);
	memset(cfg, 0, sizeof(*cfg));
}

static void add(char *buf, size_t bufsz, size_t *n, const char *a, const char *b)
{
	if (*n < bufsz)
		*n += snprintf(buf + *n, bufsz - *n, "%s%s", a, b);
}

/* ":+X" for field X (at offset off in struct suite) of each listed suite,
 * the first time it comes. */
static void add_field(char *buf, size_t bufsz, size_t *n, const char *minus,
		      const uint8_t *si, size_t ns, size_t off)
{
#define FIELD(k) (*(const char *const *)((const char *)&suites[si[k]] + off))
	add(buf, bufsz, n, minus, "");
	for (size_t k = 0; k < ns; k++) {
		size_t j = 0;

		while (j < k && (!FIELD(k) || !FIELD(j) || strcmp(FIELD(j), FIELD(k))))
			j++;
		if (FIELD(k) && j == k)
			add(buf, bufsz, n, ":+", FIELD(k));
	}
#undef FIELD
}

void pw_webconfig_priorities(const struct pw_webconfig *cfg, char *buf, size_t bufsz)
{
	/* the toolkit's defaults: TLS 1.2 to 1.3 */
	unsigned int lo = cfg->min_version ? cfg->min_version : 0x0303;
	unsigned int hi = cfg->max_version ? cfg->max_version : 0x0304;
	const uint8_t *si = cfg->nsuites ? cfg->suites : default_suites;
	size_t ns = cfg->nsuites ? cfg->nsuites : sizeof(default_suites);
	const uint8_t *gi = cfg->ngroups ? cfg->groups : default_groups;
	size_t ng = cfg->ngroups ? cfg->ngroups : sizeof(default_groups);
	size_t n = 0;
	char v[16];

	if (!bufsz)
		return;
	buf[0] = '\0';
	add(buf, bufsz, &n, "NORMAL:-VERS-ALL", "");
	for (unsigned int x = lo; x <= hi; x++) {
		snprintf(v, sizeof(v), "%u", x - 0x0301);
		add(buf, bufsz, &n, ":+VERS-TLS1.", v);
	}
	add_field(buf, bufsz, &n, ":-KX-ALL", si, ns, offsetof(struct suite, kx));
	add_field(buf, bufsz, &n, ":-CIPHER-ALL", si, ns, offsetof(struct suite, cipher));
	add_field(buf, bufsz, &n, ":-MAC-ALL", si, ns, offsetof(struct suite, mac));
	add(buf, bufsz, &n, ":-GROUP-ALL", "");
	for (size_t k = 0; k < ng; k++)
		add(buf, bufsz, &n, ":+", groups[gi[k]].gnutls);
	/* no SHA-1 in handshake signatures either */
	add(buf, bufsz, &n, ":-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1", "");
	if (!cfg->client_order)
		add(buf, bufsz, &n, ":%SERVER_PRECEDENCE", "");
}

/* A whole small file, NUL-terminated; one line in err on failure. */
static int read_file(const char *path, const char *what, char **out, size_t *len,
		     char *err, size_t errsz)
{
	struct stat st;
	ssize_t n;
	char *buf;
	int fd, e;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		e = errno;
		snprintf(err, errsz, "%s %s: %s", what, path, strerror(e));
		return -EINVAL;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > PW_WEBCONFIG_MAX_BYTES) {
		snprintf(err, errsz, "%s %s: not a regular file of at most %d bytes", what, path,
			 PW_WEBCONFIG_MAX_BYTES);
		close(fd);
		return -EINVAL;
	}
	buf = malloc(st.st_size + 1);
	if (!buf) {
		close(fd);
		snprintf(err, errsz, "out of memory");
		return -ENOMEM;
	}
	n = read(fd, buf, st.st_size + 1);
	e = errno;
	close(fd);
	if (n < 0 || n > st.st_size) {
		snprintf(err, errsz, "%s %s: %s", what, path, n < 0 ? strerror(e) : "changed while read");
		free(buf);
		return -EINVAL;
	}
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
}

/* cert_file/key_file: relative paths are relative to the config's folder,
 * as in the toolkit. */
static int read_pem(const char *cfgpath, const char *file, const char *what, char **out,
		    char *err, size_t errsz)
{
	const char *slash = strrchr(cfgpath, '/');
	char path[4096];

	if (file[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", file);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - cfgpath), cfgpath, file);
	return read_file(path, what, out, NULL, err, errsz);
}

/* The key must be the certificate's: GnuTLS says so now, rather than
 * libmicrohttpd failing to start without a reason. */
static int check_pair(const struct pw_webconfig *cfg, char *err, size_t errsz)
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

int pw_webconfig_load(const char *path, struct pw_webconfig *cfg, char *err, size_t errsz)
{
	char msg[256], *buf;
	size_t len;
	int ret;

	ret = read_file(path, "cannot read", &buf, &len, msg, sizeof(msg));
	if (ret) {
		memset(cfg, 0, sizeof(*cfg));
		snprintf(err, errsz, "--web.config.file: %s", msg);
		return ret;
	}
	ret = pw_webconfig_parse(buf, len, cfg, msg, sizeof(msg));
	free(buf);
	if (!ret && cfg->cert_file)
		ret = read_pem(path, cfg->cert_file, "cert_file", &cfg->cert_pem, msg, sizeof(msg));
	if (!ret && cfg->key_file)
		ret = read_pem(path, cfg->key_file, "key_file", &cfg->key_pem, msg, sizeof(msg));
	if (!ret && cfg->tls)
		ret = check_pair(cfg, msg, sizeof(msg));
	if (ret) {
		pw_webconfig_free(cfg);
		snprintf(err, errsz, "--web.config.file=%s: %s", path, msg);
	}
	return ret;
}
#endif /* PW_NO_METRICS */
