// SPDX-License-Identifier: GPL-2.0
/* The typed YAML readers of --web.config.file (see webconfig_yaml.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "webconfig.h"

#ifndef PW_NO_METRICS
#include "webconfig_yaml.h"

int pw_yaml_fail(struct pw_yaml *p, const yaml_node_t *n, const char *fmt, ...)
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

bool pw_yaml_is_null(const yaml_node_t *n)
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
int pw_yaml_scalar(struct pw_yaml *p, const yaml_node_t *n, const char *what, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return pw_yaml_fail(p, n, "%s: expected a string", what);
	if (memchr(n->data.scalar.value, 0, n->data.scalar.length))
		return pw_yaml_fail(p, n, "%s: contains a NUL byte", what);
	*out = (const char *)n->data.scalar.value;
	return 0;
}

int pw_yaml_dup_scalar(struct pw_yaml *p, const yaml_node_t *n, const char *what, char **out)
{
	const char *v = NULL;
	int err = pw_yaml_scalar(p, n, what, &v);

	if (err)
		return err;
	if (*out)
		return pw_yaml_fail(p, n, "%s: given twice", what);
	*out = strdup(v);
	return *out ? 0 : -ENOMEM;
}

int pw_yaml_bool(struct pw_yaml *p, const yaml_node_t *n, const char *what, bool *out)
{
	const char *v = NULL;
	int err = pw_yaml_scalar(p, n, what, &v);

	if (err)
		return err;
	if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE"))
		*out = false;
	else
		return pw_yaml_fail(p, n, "%s: expected true or false, not '%s'", what, v);
	return 0;
}

int pw_yaml_mapping(struct pw_yaml *p, yaml_node_t *n, const char *what, pw_yaml_pair_fn cb)
{
	yaml_node_pair_t *pair, *other;

	if (pw_yaml_is_null(n))
		return 0;
	if (n->type != YAML_MAPPING_NODE)
		return pw_yaml_fail(p, n, "%s: expected a mapping", what);
	for (pair = n->data.mapping.pairs.start; pair < n->data.mapping.pairs.top; pair++) {
		yaml_node_t *k = yaml_document_get_node(p->doc, pair->key);
		yaml_node_t *v = yaml_document_get_node(p->doc, pair->value);
		const char *key;
		int err;

		if (!k || k->type != YAML_SCALAR_NODE)
			return pw_yaml_fail(p, k ? k : n, "%s: keys must be strings", what);
		err = pw_yaml_scalar(p, k, what, &key);
		if (err)
			return err;
		for (other = n->data.mapping.pairs.start; other < pair; other++) {
			yaml_node_t *o = yaml_document_get_node(p->doc, other->key);

			if (o && o->type == YAML_SCALAR_NODE &&
			    !strcmp((const char *)o->data.scalar.value, key))
				return pw_yaml_fail(p, k, "%s: key '%s' given twice", what, key);
		}
		err = cb(p, key, k, v);
		if (err)
			return err;
	}
	return 0;
}

int pw_yaml_name_list(struct pw_yaml *p, yaml_node_t *n, const char *what, const void *table,
		      size_t stride, size_t count, uint8_t *idx, size_t *nidx)
{
	yaml_node_item_t *it;

	if (pw_yaml_is_null(n))
		return 0;
	if (n->type != YAML_SEQUENCE_NODE)
		return pw_yaml_fail(p, n, "%s: expected a list", what);
	if (*nidx)
		return pw_yaml_fail(p, n, "%s: given twice", what);
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *v = yaml_document_get_node(p->doc, *it);
		const char *name = NULL;
		size_t i, j;
		int err;

		if (!v)
			return pw_yaml_fail(p, n, "%s: expected a list of names", what);
		err = pw_yaml_scalar(p, v, what, &name);
		if (err)
			return err;
		for (i = 0; i < count; i++)
			if (!strcmp(name, *(const char *const *)((const char *)table + i * stride)))
				break;
		if (i == count)
			return pw_yaml_fail(p, v, "%s: unknown name '%s'", what, name);
		for (j = 0; j < *nidx && idx[j] != i; j++)
			;
		if (j == *nidx)
			idx[(*nidx)++] = i;	/* fits: no duplicates, count <= the array */
	}
	return 0;
}
#endif /* PW_NO_METRICS */
