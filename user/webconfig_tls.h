/* SPDX-License-Identifier: GPL-2.0 */
/* tls_server_config of --web.config.file: its keys read with Go's names
 * (TLS versions, cipher suites, curves), the toolkit's rules checked, and
 * the certificate and key checked as a pair. Not in PW_NO_METRICS builds;
 * pw_webconfig_priorities (webconfig.h) is here too. */
#ifndef PW_WEBCONFIG_TLS_H
#define PW_WEBCONFIG_TLS_H

#include <stddef.h>
#include "webconfig.h"
#include "webconfig_yaml.h"

/* One key of tls_server_config (a pw_yaml_pair_fn). */
int pw_webtls_pair(struct pw_yaml *p, const char *key, yaml_node_t *k, yaml_node_t *v);
/* Once the whole document is read: cert and key given together, the
 * versions in order, and GnuTLS offering exactly the suites listed. Sets
 * cfg->tls. 0 or -EINVAL with p->err. */
int pw_webtls_check(struct pw_yaml *p);
/* The key must be the certificate's (both PEM, loaded): 0, or -EINVAL or
 * -ENOMEM with one line in err. */
int pw_webtls_check_keypair(const struct pw_webconfig *cfg, char *err, size_t errsz);

#endif /* PW_WEBCONFIG_TLS_H */
