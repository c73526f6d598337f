// SPDX-License-Identifier: GPL-2.0
/* --web.config.file: the exporter-toolkit format read with libyaml (the
 * document, http_server_config, basic_auth_users with bcrypt hashes checked
 * by libcrypt), then the PEM files it names; tls_server_config is
 * webconfig_tls.c's, the typed readers webconfig_yaml.c's. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include "webconfig.h"

#ifndef PW_NO_METRICS
#include <crypt.h>
#include "webconfig_tls.h"
#include "webconfig_yaml.h"

static int header_pair(struct pw_yaml *p, const char *key, yaml_node_t *k, yaml_node_t *v)
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
		if (pw_yaml_is_null(v))
			return 0;
		err = pw_yaml_scalar(p, v, key, &s);
		if (err)
			return err;
		if (strpbrk(s, "\r\n"))
			return pw_yaml_fail(p, v, "header %s: a value must be one line", key);
		if (!*s)
			return 0;	/* blank: unset, as in the toolkit */
		if (!strcmp(key, "X-Frame-Options") && strcasecmp(s, "deny") &&
		    strcasecmp(s, "sameorigin"))
			return pw_yaml_fail(p, v, "header X-Frame-Options: deny or sameorigin, "
					    "not '%s'", s);
		if (!strcmp(key, "X-Content-Type-Options") && strcasecmp(s, "nosniff"))
			return pw_yaml_fail(p, v, "header X-Content-Type-Options: nosniff, "
					    "not '%s'", s);
		if (c->nheaders == PW_WEBCONFIG_MAX_HEADERS)	/* duplicates are refused */
			return pw_yaml_fail(p, k, "too many headers");
		h = &c->headers[c->nheaders];
		h->name = allowed[i];
		h->value = strdup(s);
		if (!h->value)
			return -ENOMEM;
		c->nheaders++;
		return 0;
	}
	return pw_yaml_fail(p, k, "HTTP header '%s' cannot be configured "
			    "(only %s, %s, %s, %s, %s)", key, allowed[0], allowed[1], allowed[2],
			    allowed[3], allowed[4]);
}

static int http_pair(struct pw_yaml *p, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	bool b;

	if (!strcmp(key, "http2"))	/* libmicrohttpd speaks HTTP/1.1 only */
		return pw_yaml_bool(p, v, "http_server_config.http2", &b);
	if (!strcmp(key, "headers"))
		return pw_yaml_mapping(p, v, "http_server_config.headers", header_pair);
	return pw_yaml_fail(p, k, "unknown key '%s' in http_server_config", key);
}

static int user_pair(struct pw_yaml *p, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	struct pw_webconfig *c = p->cfg;
	struct pw_webuser *u;
	const char *hash = NULL;
	int err;

	if (!*key || strchr(key, ':') || strlen(key) > 255 || strpbrk(key, "\r\n"))
		return pw_yaml_fail(p, k, "basic_auth_users: '%s' is not a user name "
				    "(1 to 255 bytes, no ':')", key);
	if (c->nusers == PW_WEBCONFIG_MAX_USERS)
		return pw_yaml_fail(p, k, "basic_auth_users: more than %d users",
				    PW_WEBCONFIG_MAX_USERS);
	if (pw_yaml_is_null(v))
		return pw_yaml_fail(p, k, "basic_auth_users.%s: no password hash", key);
	err = pw_yaml_scalar(p, v, "basic_auth_users", &hash);
	if (err)
		return err;
	/* bcrypt only, as the toolkit; crypt_checksalt() knows its syntax */
	if ((strncmp(hash, "$2a$", 4) && strncmp(hash, "$2b$", 4) && strncmp(hash, "$2y$", 4)) ||
	    strlen(hash) != 60 || crypt_checksalt(hash) != CRYPT_SALT_OK)
		return pw_yaml_fail(p, v, "basic_auth_users.%s: not a bcrypt hash "
				    "($2y$10$ and 53 more characters, e.g. from htpasswd -nBC 10)",
				    key);
	u = &c->users[c->nusers];
	memset(u, 0, sizeof(*u));
	u->name = strdup(key);
	u->hash = strdup(hash);
	c->nusers++;
	return u->name && u->hash ? 0 : -ENOMEM;
}

static int toplevel_pair(struct pw_yaml *p, const char *key, yaml_node_t *k, yaml_node_t *v)
{
	if (!strcmp(key, "tls_server_config"))
		return pw_yaml_mapping(p, v, "tls_server_config", pw_webtls_pair);
	if (!strcmp(key, "http_server_config"))
		return pw_yaml_mapping(p, v, "http_server_config", http_pair);
	if (!strcmp(key, "basic_auth_users"))
		return pw_yaml_mapping(p, v, "basic_auth_users", user_pair);
	if (!strcmp(key, "rate_limit"))
		return pw_yaml_fail(p, k, "rate_limit is not supported by portwatch (it limits "
				    "connections per client itself: see the README)");
	return pw_yaml_fail(p, k, "unknown key '%s' (tls_server_config, http_server_config, "
			    "basic_auth_users)", key);
}

static int parse_document(const char *buf, size_t len, struct pw_webconfig *cfg, char *err,
			  size_t errsz)
{
	struct pw_yaml p = { .cfg = cfg, .err = err, .errsz = errsz };
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
	ret = root ? pw_yaml_mapping(&p, root, "the configuration", toplevel_pair) : 0;
	if (!ret && root) {
		if (!yaml_parser_load(&parser, &next)) {
			ret = pw_yaml_fail(&p, NULL, "line %zu: YAML: %s",
					   parser.problem_mark.line + 1,
					   parser.problem ? parser.problem : "cannot parse");
		} else {
			if (yaml_document_get_root_node(&next))
				ret = pw_yaml_fail(&p, NULL, "more than one YAML document");
			yaml_document_delete(&next);
		}
	}
	if (!ret)
		ret = pw_webtls_check(&p);
	if (ret == -ENOMEM)
		snprintf(err, errsz, "out of memory");
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (ret)
		pw_webconfig_free(cfg);
	return ret;
}

/* The message quotes what the file says: a multi-line scalar must not make
 * it more than one line (control bytes become '?'). */
int pw_webconfig_parse(const char *buf, size_t len, struct pw_webconfig *cfg,
		       char *err, size_t errsz)
{
	int r = parse_document(buf, len, cfg, err, errsz);

	if (r && errsz) {
		err[errsz - 1] = '\0';
		for (char *c = err; *c; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				*c = '?';
	}
	return r;
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
		ret = pw_webtls_check_keypair(cfg, msg, sizeof(msg));
	if (ret) {
		pw_webconfig_free(cfg);
		snprintf(err, errsz, "--web.config.file=%s: %s", path, msg);
	}
	return ret;
}
#endif /* PW_NO_METRICS */
