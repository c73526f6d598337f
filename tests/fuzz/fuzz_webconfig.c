// SPDX-License-Identifier: GPL-2.0
/* libFuzzer target: the --web.config.file parser (pw_webconfig_parse, the
 * part that reads no file). Whatever the bytes: no crash, no leak (ASan),
 * a refusal always says why in one line, and an accepted configuration is
 * within its bounds (users, headers, TLS versions, cipher suites, curves)
 * with bcrypt hashes only, and its GnuTLS priority string fits and is one
 * GnuTLS takes. */
#include <gnutls/gnutls.h>
#include <stdint.h>
#include "webconfig.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_webconfig cfg;
	char err[512];
	int r;

	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	r = pw_webconfig_parse((const char *)data, size, &cfg, err, sizeof(err));
	if (r) {
		fz_assert(r == -EINVAL || r == -ENOMEM, "returned %d", r);
		fz_assert(err[0] && !strchr(err, '\n'), "refusal without one line: '%s'", err);
		return 0;
	}
	fz_assert(cfg.nusers <= PW_WEBCONFIG_MAX_USERS, "%zu users", cfg.nusers);
	fz_assert(cfg.nheaders <= PW_WEBCONFIG_MAX_HEADERS, "%zu headers", cfg.nheaders);
	for (size_t i = 0; i < cfg.nusers; i++) {
		const char *h = cfg.users[i].hash;

		fz_assert(cfg.users[i].name && h, "user %zu without name or hash", i);
		fz_assert(!strncmp(h, "$2a$", 4) || !strncmp(h, "$2b$", 4) || !strncmp(h, "$2y$", 4),
			  "accepted a hash that is not bcrypt: %s", h);
	}
	if (cfg.min_version && cfg.max_version)	/* 0: the default */
		fz_assert(cfg.min_version <= cfg.max_version, "min 0x%x > max 0x%x",
			  cfg.min_version, cfg.max_version);
	fz_assert(cfg.nsuites <= PW_WEBCONFIG_MAX_SUITES, "%zu cipher suites", cfg.nsuites);
	fz_assert(cfg.ngroups <= PW_WEBCONFIG_MAX_GROUPS, "%zu curves", cfg.ngroups);
	{
		char prio[PW_WEBCONFIG_PRIORITIES_MAX + 1];
		gnutls_priority_t p;
		const char *where = NULL;

		prio[PW_WEBCONFIG_PRIORITIES_MAX] = 'x';
		pw_webconfig_priorities(&cfg, prio, PW_WEBCONFIG_PRIORITIES_MAX);
		fz_assert(strlen(prio) < PW_WEBCONFIG_PRIORITIES_MAX - 1, "priorities cut: %s", prio);
		fz_assert(gnutls_priority_init(&p, prio, &where) == 0, "GnuTLS refuses %s at %s",
			  prio, where ? where : "?");
		gnutls_priority_deinit(p);
	}
	pw_webconfig_free(&cfg);
	return 0;
}
