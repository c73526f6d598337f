// SPDX-License-Identifier: GPL-2.0
/* Unit tests for the exporter-toolkit web configuration: the parser (a pure
 * function over a buffer: user/webconfig.c, webconfig_yaml.c) with its TLS
 * cipher suites and curves (user/webconfig_tls.c), and loading a file with
 * the PEM files it names. The basic-auth check is test_webauth's. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

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
	};

	return cmocka_run_group_tests_name("test_webconfig", tests, NULL, NULL);
}
