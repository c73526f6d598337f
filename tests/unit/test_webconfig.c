// SPDX-License-Identifier: GPL-2.0
/* Unit tests for user/webconfig.c: the exporter-toolkit web configuration
 * parser (a pure function over a buffer) with its TLS cipher suites and
 * curves, and for user/webauth.c: the basic-auth check with its
 * verified-password cache, its bcrypt budgets per client address, and the
 * address keys (IPv6 by /64). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include "webauth.h"
#include "webconfig.h"

/* htpasswd -nbBC 4 "" s3cret */
#define HASH4 "$2y$04$sSeMX3lBPSXHkqcgqOWZrebCxCWwhj93cfXQAc0JF7Ydnozc/qCXm"

static char err[256];

static int parse(const char *yaml, struct pw_webconfig *cfg)
{
	err[0] = '\0';
	return pw_webconfig_parse(yaml, strlen(yaml), cfg, err, sizeof(err));
}

/* parse must fail with -EINVAL and a message containing `want` */
static void refused(const char *yaml, const char *want)
{
	struct pw_webconfig cfg;

	if (parse(yaml, &cfg) != -EINVAL)
		fail_msg("accepted: %s", yaml);
	if (!strstr(err, want))
		fail_msg("message '%s' lacks '%s' for: %s", err, want, yaml);
	if (strchr(err, '\n'))
		fail_msg("message has more than one line: %s", err);
	/* nothing is left to free: the struct is zeroed */
	assert_null(cfg.users);
	assert_null(cfg.cert_file);
}

static void test_full(void **state)
{
	struct pw_webconfig cfg;
	char prio[PW_WEBCONFIG_PRIORITIES_MAX];

	(void)state;
	assert_int_equal(parse("# comment\n"
			       "tls_server_config:\n"
			       "  cert_file: server.crt\n"
			       "  key_file: \"/etc/portwatch/server.key\"\n"
			       "  min_version: TLS13\n"
			       "  client_auth_type: NoClientCert\n"
			       "  prefer_server_cipher_suites: false\n"
			       "http_server_config:\n"
			       "  http2: true\n"
			       "  headers:\n"
			       "    X-Frame-Options: deny\n"
			       "    Strict-Transport-Security: max-age=31536000\n"
			       "    X-XSS-Protection: ''\n"
			       "basic_auth_users:\n"
			       "  alice: " HASH4 "\n"
			       "  'bob smith': '" HASH4 "'\n", &cfg), 0);
	assert_true(cfg.tls);
	assert_string_equal(cfg.cert_file, "server.crt");
	assert_string_equal(cfg.key_file, "/etc/portwatch/server.key");
	assert_null(cfg.cert_pem);
	assert_int_equal(cfg.min_version, 0x0304);
	assert_int_equal(cfg.max_version, 0);
	assert_int_equal(cfg.nusers, 2);
	assert_string_equal(cfg.users[0].name, "alice");
	assert_string_equal(cfg.users[1].name, "bob smith");
	assert_string_equal(cfg.users[1].hash, HASH4);
	assert_int_equal(cfg.nheaders, 2);	/* a blank header is unset */
	assert_string_equal(cfg.headers[0].name, "X-Frame-Options");
	assert_string_equal(cfg.headers[0].value, "deny");
	assert_string_equal(cfg.headers[1].value, "max-age=31536000");
	pw_webconfig_priorities(&cfg, prio, sizeof(prio));
	assert_string_equal(prio, "NORMAL:-VERS-ALL:+VERS-TLS1.3"
			    ":-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD"
			    ":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1"
			    ":-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1");
	pw_webconfig_free(&cfg);
	assert_null(cfg.users);
}

static void test_empty_and_null(void **state)
{
	struct pw_webconfig cfg;
	char prio[PW_WEBCONFIG_PRIORITIES_MAX];

	(void)state;
	/* an empty file: plain HTTP, nobody to authenticate */
	assert_int_equal(parse("", &cfg), 0);
	assert_false(cfg.tls);
	assert_int_equal(cfg.nusers, 0);
	pw_webconfig_free(&cfg);
	assert_int_equal(parse("---\n...\n", &cfg), 0);
	pw_webconfig_free(&cfg);
	assert_int_equal(parse("tls_server_config:\nbasic_auth_users: ~\n"
			       "http_server_config: {}\n", &cfg), 0);
	assert_false(cfg.tls);
	pw_webconfig_priorities(&cfg, prio, sizeof(prio));	/* the toolkit's TLS12..TLS13 */
	/* the toolkit's modern set: ECDHE with AES-GCM or ChaCha20-Poly1305 */
	assert_string_equal(prio, "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3"
			    ":-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:-MAC-ALL:+AEAD"
			    ":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1"
			    ":-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE");
	pw_webconfig_free(&cfg);
	/* inline PEM instead of files */
	assert_int_equal(parse("tls_server_config:\n  cert: \"-----BEGIN X\"\n  key: |\n"
			       "    -----BEGIN Y\n    line\n", &cfg), 0);
	assert_true(cfg.tls);
	assert_string_equal(cfg.cert_pem, "-----BEGIN X");
	assert_string_equal(cfg.key_pem, "-----BEGIN Y\nline\n");
	pw_webconfig_free(&cfg);
}

static void test_refused(void **state)
{
	(void)state;
	refused("tls_server_config: [", "line 2: YAML: did not find expected node content");
	refused("tls_server_config: {cert: a, key: |\n  b\n  }\n", "YAML:");
	refused("a: b\n  c: d\n", "YAML:");
	refused("- a\n- b\n", "the configuration: expected a mapping");
	refused("just a string", "expected a mapping");
	refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  ca_file: c\n",
		"line 4: unknown key 'ca_file' in tls_server_config");
	refused("tsl_server_config: {}\n", "line 1: unknown key 'tsl_server_config'");
	refused("rate_limit:\n  interval: 1s\n", "rate_limit is not supported");
	refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: ca\n",
		"client_ca_file is not supported");
	refused("tls_server_config:\n  client_auth_type: RequireAndVerifyClientCert\n",
		"only NoClientCert");
	refused("tls_server_config:\n  cert_file: a\n", "missing key_file");
	refused("tls_server_config:\n  key_file: a\n", "missing cert_file");
	refused("tls_server_config:\n  cert_file: a\n  cert: b\n  key_file: c\n",
		"cert and cert_file are exclusive");
	refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS14\n",
		"'TLS14' is not one of");
	refused("tls_server_config:\n  cert_file: a\n  key_file: b\n  min_version: TLS13\n"
		"  max_version: TLS12\n", "min_version is above max_version");
	refused("tls_server_config:\n  cert_file: [a]\n  key_file: b\n",
		"line 2: tls_server_config.cert_file: expected a string");
	refused("tls_server_config:\n  cert_file: \"a\\0b\"\n  key_file: b\n", "NUL byte");
	refused("basic_auth_users:\n  alice: " HASH4 "\n  alice: " HASH4 "\n",
		"line 3: basic_auth_users: key 'alice' given twice");
	refused("basic_auth_users:\n  alice: secret\n", "basic_auth_users.alice: not a bcrypt hash");
	refused("basic_auth_users:\n  alice: $1$abcdefgh$abcdefghijklmnopqrstuv\n", "not a bcrypt hash");
	refused("basic_auth_users:\n  alice: \"" HASH4 "x\"\n", "not a bcrypt hash");
	refused("basic_auth_users:\n  alice:\n", "no password hash");
	refused("basic_auth_users:\n  'a:b': " HASH4 "\n", "is not a user name");
	refused("basic_auth_users:\n  '': " HASH4 "\n", "is not a user name");
	refused("basic_auth_users: [alice]\n", "basic_auth_users: expected a mapping");
	refused("http_server_config:\n  headers:\n    Set-Cookie: a=b\n", "'Set-Cookie' cannot be configured");
	refused("http_server_config:\n  headers:\n    X-Frame-Options: allow\n", "deny or sameorigin");
	refused("http_server_config:\n  headers:\n    X-XSS-Protection: \"1\\r\\nX: y\"\n", "one line");
	refused("http_server_config:\n  http2: maybe\n", "expected true or false");
	refused("tls_server_config:\n  prefer_server_cipher_suites: [a]\n", "expected a string");
	refused("http_server_config:\n  http3: true\n", "unknown key 'http3' in http_server_config");
	refused("basic_auth_users: {}\n---\nbasic_auth_users: {}\n", "more than one YAML document");
	refused("? [a]\n: b\n", "keys must be strings");
}

#define TLS_HEAD "tls_server_config:\n  cert_file: a\n  key_file: b\n"

/* cipher_suites and curve_preferences: Go's names, in the priority string
 * in their order; what GnuTLS cannot offer exactly is refused. */
static void test_cipher_suites(void **state)
{
	struct pw_webconfig cfg;
	char prio[PW_WEBCONFIG_PRIORITIES_MAX];

	(void)state;
	assert_int_equal(parse(TLS_HEAD "  cipher_suites:\n"
			       "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
			       "    - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\n"
			       "    - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\n"
			       "  curve_preferences: [CurveP384, X25519]\n", &cfg), 0);
	assert_int_equal(cfg.nsuites, 2);	/* the duplicate dropped */
	assert_int_equal(cfg.ngroups, 2);
	pw_webconfig_priorities(&cfg, prio, sizeof(prio));
	assert_string_equal(prio, "NORMAL:-VERS-ALL:+VERS-TLS1.2:+VERS-TLS1.3"
			    ":-KX-ALL:+ECDHE-RSA:+ECDHE-ECDSA:-CIPHER-ALL:+AES-256-GCM:-MAC-ALL:+AEAD"
			    ":-GROUP-ALL:+GROUP-SECP384R1:+GROUP-X25519"
			    ":-SIGN-RSA-SHA1:-SIGN-ECDSA-SHA1:-SIGN-DSA-SHA1:%SERVER_PRECEDENCE");
	pw_webconfig_free(&cfg);
	/* CBC with SHA-1, TLS 1.2 only: as configured */
	assert_int_equal(parse(TLS_HEAD "  max_version: TLS12\n  cipher_suites:\n"
			       "    - TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\n", &cfg), 0);
	pw_webconfig_priorities(&cfg, prio, sizeof(prio));
	assert_non_null(strstr(prio, ":-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-CBC:-MAC-ALL:+SHA1:"));
	pw_webconfig_free(&cfg);
	/* empty lists: the defaults */
	assert_int_equal(parse(TLS_HEAD "  cipher_suites: []\n  curve_preferences: ~\n", &cfg), 0);
	assert_int_equal(cfg.nsuites, 0);
	pw_webconfig_free(&cfg);
	refused(TLS_HEAD "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA257]\n",
		"line 4: tls_server_config.cipher_suites: unknown name 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA257'");
	refused(TLS_HEAD "  cipher_suites: [ECDHE-RSA-AES128-GCM-SHA256]\n", "unknown name");	/* OpenSSL's */
	refused(TLS_HEAD "  cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\n", "expected a list");
	refused(TLS_HEAD "  cipher_suites: [[a]]\n", "expected a string");
	refused(TLS_HEAD "  curve_preferences: [P256]\n",
		"tls_server_config.curve_preferences: unknown name 'P256'");
	/* two kx and two ciphers would give four suites */
	refused(TLS_HEAD "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,"
		" TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n",
		"combines the key exchanges, ciphers and MACs listed: also "
		"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384 (list it, or drop one)");
	/* CBC only, and TLS 1.3 allowed: no cipher for it */
	refused(TLS_HEAD "  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA]\n",
		"TLS 1.3 needs an AES-GCM or ChaCha20-Poly1305 suite");
	/* TLS 1.3 names only, TLS 1.2 allowed */
	refused(TLS_HEAD "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "none for TLS 1.2");
	assert_int_equal(parse(TLS_HEAD "  min_version: TLS13\n"
			       "  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", &cfg), 0);
	pw_webconfig_free(&cfg);
}

static void test_too_many_users(void **state)
{
	char *yaml = malloc(100 * (PW_WEBCONFIG_MAX_USERS + 1) + 32), *p = yaml;
	struct pw_webconfig cfg;

	(void)state;
	assert_non_null(yaml);
	p += sprintf(p, "basic_auth_users:\n");
	for (int i = 0; i <= PW_WEBCONFIG_MAX_USERS; i++)
		p += sprintf(p, "  u%d: " HASH4 "\n", i);
	assert_int_equal(parse(yaml, &cfg), -EINVAL);
	assert_non_null(strstr(err, "more than 64 users"));
	/* one fewer is fine */
	*strrchr(yaml, 'u') = '\0';
	assert_int_equal(parse(yaml, &cfg), 0);
	assert_int_equal(cfg.nusers, PW_WEBCONFIG_MAX_USERS);
	pw_webconfig_free(&cfg);
	free(yaml);
}

/* Aliases share nodes: the walk does not expand them, and stays small. */
static void test_aliases(void **state)
{
	struct pw_webconfig cfg;

	(void)state;
	assert_int_equal(parse("x: &h " HASH4 "\n", &cfg), -EINVAL);	/* x: unknown */
	assert_int_equal(parse("basic_auth_users:\n  a: &h " HASH4 "\n  b: *h\n", &cfg), 0);
	assert_int_equal(cfg.nusers, 2);
	assert_string_equal(cfg.users[1].hash, HASH4);
	pw_webconfig_free(&cfg);
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* Loading: the file, then cert_file/key_file relative to its folder. */
static void test_load(void **state)
{
	char dir[] = "/tmp/pw-webconfig.XXXXXX", path[64], want[512];
	struct pw_webconfig cfg;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/none.yml", dir);
	assert_int_equal(pw_webconfig_load(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "--web.config.file: cannot read %s: No such file or directory", path);
	assert_string_equal(err, want);

	snprintf(path, sizeof(path), "%s/web.yml", dir);
	put(path, "tls_server_config:\n  cert_file: a.crt\n  key_file: /nonexistent/b.key\n");
	assert_int_equal(pw_webconfig_load(path, &cfg, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "--web.config.file=%s: cert_file %s/a.crt: No such file or directory",
		 path, dir);
	assert_string_equal(err, want);
	assert_null(cfg.cert_file);	/* freed */

	snprintf(want, sizeof(want), "%s/a.crt", dir);
	put(want, "not PEM\n");
	assert_int_equal(pw_webconfig_load(path, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "key_file /nonexistent/b.key: No such file"));

	put(path, "basic_auth_users:\n  alice: " HASH4 "\n");
	assert_int_equal(pw_webconfig_load(path, &cfg, err, sizeof(err)), 0);
	assert_int_equal(cfg.nusers, 1);
	assert_false(cfg.tls);
	pw_webconfig_free(&cfg);

	/* a folder is not a configuration */
	assert_int_equal(pw_webconfig_load(dir, &cfg, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(want);
	unlink(path);
	rmdir(dir);
}

static int64_t mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_auth_cache(void **state)
{
	struct pw_webconfig cfg;
	struct pw_webauth a;
	int64_t now = mono();

	(void)state;
	assert_int_equal(parse("basic_auth_users:\n  alice: " HASH4 "\n", &cfg), 0);
	assert_int_equal(pw_webauth_init(&a), 0);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, NULL, NULL, now), PW_AUTH_DENIED);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "bob", "s3cret", now), PW_AUTH_DENIED);
	assert_int_equal(a.bcrypt_runs, 0);	/* unknown user: no bcrypt */
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cret", now), PW_AUTH_OK);
	assert_int_equal(a.bcrypt_runs, 1);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cret", now), PW_AUTH_OK);
	assert_int_equal(a.bcrypt_runs, 1);	/* the cache answered */
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cre", now), PW_AUTH_DENIED);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cretx", now), PW_AUTH_DENIED);
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "", now), PW_AUTH_DENIED);
	assert_int_equal(a.bcrypt_runs, 4);	/* wrong passwords pay bcrypt */
	/* a wrong password does not evict the verified one */
	assert_int_equal(pw_webauth_check(&a, &cfg, NULL, "alice", "s3cret", now), PW_AUTH_OK);
	assert_int_equal(a.bcrypt_runs, 4);
	pw_webauth_free(&a);
	pw_webconfig_free(&cfg);
}

static struct pw_addrkey key4(const char *ip)
{
	struct sockaddr_in in = { .sin_family = AF_INET };
	struct pw_addrkey k;

	assert_int_equal(inet_pton(AF_INET, ip, &in.sin_addr), 1);
	assert_int_equal(pw_addrkey((struct sockaddr *)&in, sizeof(in), &k), 0);
	return k;
}

static struct pw_addrkey key6(const char *ip)
{
	struct sockaddr_in6 in = { .sin6_family = AF_INET6 };
	struct pw_addrkey k;

	assert_int_equal(inet_pton(AF_INET6, ip, &in.sin6_addr), 1);
	assert_int_equal(pw_addrkey((struct sockaddr *)&in, sizeof(in), &k), 0);
	return k;
}

#define SAME(a, b) (!memcmp(&(a), &(b), sizeof(struct pw_addrkey)))

/* Limits count an IPv6 client by its /64, an IPv4 one by its address
 * whichever way the socket spells it. */
static void test_addrkey(void **state)
{
	struct pw_addrkey a = key6("2001:db8:1:2::1"), b = key6("2001:db8:1:2:ffff:1:2:3");
	struct pw_addrkey c = key6("2001:db8:1:3::1"), l1 = key6("::1"), l2 = key6("::2");
	struct pw_addrkey v4 = key4("127.0.0.2"), m4 = key6("::ffff:127.0.0.2");
	struct pw_addrkey v4b = key4("127.0.0.3"), m4b = key6("::ffff:127.0.0.3");
	struct sockaddr un = { .sa_family = AF_UNIX };
	struct pw_addrkey k;

	(void)state;
	assert_true(SAME(a, b));	/* one /64 */
	assert_false(SAME(a, c));	/* the next /64 */
	assert_true(SAME(l1, l2));	/* ::/64 */
	assert_true(SAME(v4, m4));	/* IPv4 and IPv4-mapped IPv6 */
	assert_false(SAME(v4, v4b));	/* IPv4: the whole address, not its /64 ... */
	assert_false(SAME(m4, m4b));	/* ... also when mapped */
	assert_false(SAME(v4, l1));
	assert_int_equal(pw_addrkey(&un, sizeof(un), &k), -EAFNOSUPPORT);
	assert_int_equal(pw_addrkey(NULL, 0, &k), -EAFNOSUPPORT);
	/* too short for its family */
	assert_int_equal(pw_addrkey((struct sockaddr *)&(struct sockaddr_in6){ .sin6_family = AF_INET6 },
				    sizeof(struct sockaddr_in), &k), -EAFNOSUPPORT);
}

static void test_auth_budget(void **state)
{
	struct pw_addrkey src = key4("127.0.0.1");
	struct pw_webconfig cfg;
	struct pw_webauth a;
	int64_t now = mono();
	uint64_t runs;

	(void)state;
	assert_int_equal(parse("basic_auth_users:\n  alice: " HASH4 "\n", &cfg), 0);
	assert_int_equal(pw_webauth_init(&a), 0);
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "s3cret", now), PW_AUTH_OK);
	/* spend the source's budget with wrong passwords, at one instant */
	a.known_src[0].b.ns = 1;
	assert_true(SAME(a.known_src[0].key, src));
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "wrong", now), PW_AUTH_DENIED);
	runs = a.bcrypt_runs;
	assert_true(a.known_src[0].b.ns <= 0);
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "wrong", now), PW_AUTH_BUSY);
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "other", now), PW_AUTH_BUSY);
	assert_int_equal(a.bcrypt_runs, runs);	/* no bcrypt while busy */
	/* the verified password still gets in */
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "s3cret", now), PW_AUTH_OK);
	/* a second later 25 ms are back, at most 100 ms after ten */
	assert_int_equal(pw_webauth_check(&a, &cfg, &src, "alice", "wrong", now + 1000000000), PW_AUTH_DENIED);
	assert_int_equal(a.bcrypt_runs, runs + 1);
	pw_webauth_check(&a, &cfg, &src, "alice", "wrong", now + 11000000000LL);
	assert_true(a.known_src[0].b.ns < PW_AUTH_SOURCE_MAX);	/* full, less one cost-4 bcrypt */
	assert_true(a.known_src[0].b.ns > PW_AUTH_SOURCE_MAX - 50000000);
	pw_webauth_free(&a);
	pw_webconfig_free(&cfg);
}

/* A guesser spends its own budget: another address, a stranger as well,
 * still gets its password checked; many guessers spend the strangers' pool,
 * not the one of sources that authenticated before; the tables stay bounded
 * whatever the number of addresses. */
static void test_auth_per_source(void **state)
{
	struct pw_addrkey guesser = key4("127.0.0.2"), prom = key4("127.0.0.1");
	struct pw_addrkey known = key6("2001:db8::1"), k;
	struct pw_webconfig cfg;
	struct pw_webauth a;
	int64_t now = mono();
	char ip[64];
	size_t n;

	(void)state;
	assert_int_equal(parse("basic_auth_users:\n  alice: " HASH4 "\n  bob: " HASH4 "\n", &cfg), 0);
	assert_int_equal(pw_webauth_init(&a), 0);
	/* the guesser's bucket, full at first, runs out: 429 for it */
	for (n = 0; n < 100000 && pw_webauth_check(&a, &cfg, &guesser, "alice", "guess", now) !=
				  PW_AUTH_BUSY; n++)
		;
	assert_true(n >= 1 && n < 100000);
	assert_true(a.strangers.ns > 0);	/* one source spent at most its own 100 ms */
	/* Prometheus, a stranger (portwatch just started), is checked: not 429 */
	assert_int_equal(pw_webauth_check(&a, &cfg, &prom, "alice", "s3cret", now), PW_AUTH_OK);
	/* a source that authenticated (here as bob), then guessers on 1,000
	 * more addresses (more than the table holds) spending the strangers'
	 * pool */
	assert_int_equal(pw_webauth_check(&a, &cfg, &known, "bob", "s3cret", now), PW_AUTH_OK);
	for (int i = 0; i < 1000 || (a.strangers.ns > 0 && i < 100000); i++) {
		snprintf(ip, sizeof(ip), "2001:db8:%x:%x::1", i >> 16, i & 0xffff);
		k = key6(ip);
		pw_webauth_check(&a, &cfg, &k, "alice", "guess", now);
	}
	assert_true(a.strangers.ns <= 0);
	k = key4("127.0.0.9");
	assert_int_equal(pw_webauth_check(&a, &cfg, &k, "alice", "s3cret2", now), PW_AUTH_BUSY);
	/* the known source still gets a new password checked (bob's cache is
	 * for another password: this one needs bcrypt) */
	uint64_t runs = a.bcrypt_runs;
	assert_int_equal(pw_webauth_check(&a, &cfg, &known, "bob", "not-bobs", now), PW_AUTH_DENIED);
	assert_int_equal(a.bcrypt_runs, runs + 1);
	/* bounded: 256 strangers, the known sources kept */
	n = 0;
	for (size_t i = 0; i < PW_AUTH_SOURCES; i++)
		n += a.src[i].used;
	assert_int_equal(n, PW_AUTH_SOURCES);
	n = 0;
	for (size_t i = 0; i < PW_AUTH_KNOWN; i++)
		n += a.known_src[i].used && (SAME(a.known_src[i].key, prom) ||
					     SAME(a.known_src[i].key, known));
	assert_int_equal(n, 2);
	pw_webauth_free(&a);
	pw_webconfig_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_empty_and_null),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_cipher_suites),
		cmocka_unit_test(test_too_many_users),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_auth_cache),
		cmocka_unit_test(test_addrkey),
		cmocka_unit_test(test_auth_budget),
		cmocka_unit_test(test_auth_per_source),
	};

	return cmocka_run_group_tests_name("test_webconfig", tests, NULL, NULL);
}
