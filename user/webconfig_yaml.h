/* SPDX-License-Identifier: GPL-2.0 */
/* Reading --web.config.file's YAML document (libyaml) into struct
 * pw_webconfig: the parser's state and the typed readers each section uses.
 * Every refusal writes one line into err ("line N: what: why") and returns
 * -EINVAL; allocation failures return -ENOMEM. Not in PW_NO_METRICS builds. */
#ifndef PW_WEBCONFIG_YAML_H
#define PW_WEBCONFIG_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>
#include "webconfig.h"

struct pw_yaml {
	yaml_document_t *doc;
	struct pw_webconfig *cfg;	/* what the sections fill in */
	char *err;
	size_t errsz;
};

/* One key of a mapping: key is k's text; v may be NULL. */
typedef int (*pw_yaml_pair_fn)(struct pw_yaml *p, const char *key, yaml_node_t *k,
			       yaml_node_t *v);

/* Refuse with "line N: " (n's line; n NULL: no line) and the message. -EINVAL. */
int pw_yaml_fail(struct pw_yaml *p, const yaml_node_t *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Absent, empty, ~ or null (in YAML's plain spellings): the key's default. */
bool pw_yaml_is_null(const yaml_node_t *n);
/* A scalar as a C string, valid as long as the document. */
int pw_yaml_scalar(struct pw_yaml *p, const yaml_node_t *n, const char *what, const char **out);
/* A scalar copied into *out, which must still be NULL (else: given twice). */
int pw_yaml_dup_scalar(struct pw_yaml *p, const yaml_node_t *n, const char *what, char **out);
int pw_yaml_bool(struct pw_yaml *p, const yaml_node_t *n, const char *what, bool *out);
/* cb for each key of mapping n (null: none); a key given twice is refused. */
int pw_yaml_mapping(struct pw_yaml *p, yaml_node_t *n, const char *what, pw_yaml_pair_fn cb);
/* A sequence of names, each one of count entries of table (stride bytes
 * apart, each starting with its name), as indexes into idx (*nidx of them):
 * unknown names refused, duplicates dropped, a second list refused; null
 * leaves *nidx 0 (the default). */
int pw_yaml_name_list(struct pw_yaml *p, yaml_node_t *n, const char *what, const void *table,
		      size_t stride, size_t count, uint8_t *idx, size_t *nidx);

#endif /* PW_WEBCONFIG_YAML_H */
