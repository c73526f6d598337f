// SPDX-License-Identifier: GPL-2.0
/* One event as an NDJSON object (output.h). */
#include <string.h>
#include "output.h"
#include "workload.h"

static void sb_key_u64_or_null(struct sbuf *sb, const char *key, bool has, uint64_t v)
{
	sb_puts(sb, key);
	if (has)
		sb_u64(sb, v);
	else
		sb_put(sb, "null", 4);
}

/* ,"key":"value" or ,"key":null */
static void sb_key_name_or_null(struct sbuf *sb, const char *key, const char *v)
{
	sb_puts(sb, key);
	if (v) {
		sb_putc(sb, '"');
		sb_puts(sb, v);
		sb_putc(sb, '"');
	} else {
		sb_put(sb, "null", 4);
	}
}

/* ,"key":"value" with JSON escaping, or ,"key":null */
static void sb_key_str_or_null(struct sbuf *sb, const char *key, const char *v)
{
	sb_puts(sb, key);
	if (v)
		sb_json_str(sb, v, strlen(v));
	else
		sb_put(sb, "null", 4);
}

void sb_workload_json(struct sbuf *sb, const struct pw_workload *w)
{
	sb_key_str_or_null(sb, ",\"cgroup\":", w ? w->cgroup : NULL);
	sb_key_str_or_null(sb, ",\"unit\":", w ? w->unit : NULL);
	sb_key_str_or_null(sb, ",\"container_id\":", w ? w->container_id : NULL);
	if (w && w->pod_uid[0]) {
		sb_lit(sb, ",\"pod\":{");
		sb_key_str_or_null(sb, "\"namespace\":", w->pod_namespace);
		sb_key_str_or_null(sb, ",\"name\":", w->pod_name);
		sb_key_str_or_null(sb, ",\"uid\":", w->pod_uid);
		sb_key_str_or_null(sb, ",\"qos\":", pw_qos_name(w->qos));
		sb_putc(sb, '}');
	} else {
		sb_lit(sb, ",\"pod\":null");
	}
	sb_key_str_or_null(sb, ",\"container\":", w ? w->container : NULL);
}

static bool pw_event_json_open(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real)
{
	char ebuf[16];

	sb_lit(sb, "{\"type\":\"connect\",\"time\":\"");
	sb_time_rfc3339(sb, pw_event_realtime(e, mono_to_real));
	sb_lit(sb, "\",\"pid\":");
	sb_u64(sb, e->pid);
	sb_lit(sb, ",\"tid\":");
	sb_u64(sb, e->tid);
	sb_lit(sb, ",\"uid\":");
	sb_u64(sb, e->uid);
	sb_lit(sb, ",\"comm\":");
	sb_json_str(sb, e->comm, pw_comm_len(e->comm));
	sb_key_name_or_null(sb, ",\"family\":", pw_family_name(e->family));
	sb_lit(sb, ",\"saddr\":\"");
	sb_addr(sb, e->family, e->saddr);
	sb_lit(sb, "\",\"sport\":");
	sb_u64(sb, e->sport);
	if (e->flags & PW_NO_DEST) {
		/* an address the kernel did not take: nothing to show */
		sb_lit(sb, ",\"daddr\":null,\"dport\":null");
	} else {
		sb_lit(sb, ",\"daddr\":\"");
		sb_addr(sb, e->family, e->daddr);
		sb_lit(sb, "\",\"dport\":");
		sb_u64(sb, e->dport);
	}
	if (e->ret == -PW_ERR_UNKNOWN) {
		/* a failure, but the mode does not see its errno */
		sb_lit(sb, ",\"ret\":null,\"errno\":null");
	} else {
		sb_lit(sb, ",\"ret\":");
		sb_i64(sb, e->ret);
		sb_key_name_or_null(sb, ",\"errno\":", pw_ret_errno_name(e->ret, ebuf, sizeof(ebuf)));
	}
	sb_key_name_or_null(sb, ",\"cause\":", pw_cause_name(e->cause));
	sb_lit(sb, ",\"netns\":");
	sb_u64(sb, e->netns);
	sb_lit(sb, ",\"cgroup_id\":");
	sb_u64(sb, e->cgroup_id);
	if (e->flags & PW_HAS_RANGE) {
		sb_lit(sb, ",\"port_range\":[");
		sb_u64(sb, e->range_lo);
		sb_putc(sb, ',');
		sb_u64(sb, e->range_hi);
		sb_putc(sb, ']');
	} else {
		sb_lit(sb, ",\"port_range\":null");
	}
	sb_key_u64_or_null(sb, ",\"tw_reuse\":", e->flags & PW_HAS_TW_REUSE, e->tw_reuse);
	sb_key_u64_or_null(sb, ",\"scan_ns\":", e->flags & PW_HAS_SCAN_NS, e->scan_ns);
	sb_key_u64_or_null(sb, ",\"ports_checked\":", e->flags & PW_HAS_PORTS_CHECKED,
			   e->ports_checked);
	sb_key_name_or_null(sb, ",\"mode\":", pw_mode_name(e->mode));
	sb_key_name_or_null(sb, ",\"op\":", pw_op_name(e->op));
	/* the remedy a bind failure needs is the client's, known without a census */
	if (e->op == PW_OP_BIND)
		sb_lit(sb, ",\"remedy\":\"bind_address_no_port\"");
	return !sb->err;
}

bool pw_event_json(struct sbuf *sb, const struct pw_event *e, int64_t mono_to_real,
		   const struct pw_workload *w)
{
	size_t tl = pw_comm_len(e->thread);

	pw_event_json_open(sb, e, mono_to_real);
	sb_workload_json(sb, w);
	/* the thread's own name when it differs from the process's */
	sb_lit(sb, ",\"thread\":");
	if (tl && (tl != pw_comm_len(e->comm) || memcmp(e->thread, e->comm, tl)))
		sb_json_str(sb, e->thread, tl);
	else
		sb_lit(sb, "null");
	sb_putc(sb, '}');
	return !sb->err;
}
