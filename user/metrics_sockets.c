// SPDX-License-Identifier: GPL-2.0
/* The per-workload sockets collector: portwatch_workload_sockets by
 * workload, destination and state, from the last periodic census
 * (sockgauge.h: bounded there). */
#include "fmt.h"
#include "metrics_internal.h"

void pw_collect_sockets(FILE *f, const struct pw_metrics_input *in)
{
	char addr[64];

	if (!in->sockets_on)
		return;
	pw_prom_header(f, "portwatch_workload_sockets", "gauge",
		       "Sockets holding a local port of the ephemeral range per workload (Kubernetes "
		       "namespace, pod and container, or systemd unit), destination and state, from "
		       "the last periodic census: the top 10 destinations of each workload, the rest in "
		       "daddr=\"(other)\"; a socket no process holds (TIME_WAIT) is the workload's "
		       "every process of its netns is of, else pod=\"(no process)\".");
	for (size_t i = 0; i < in->nsock_rows; i++) {
		const struct pw_sock_row *r = &in->sock_rows[i];

		if (r->other)
			snprintf(addr, sizeof(addr), "(other)");
		else
			pw_addr_text(addr, sizeof(addr), r->dest.family, r->dest.addr);
		for (unsigned int s = 0; s < PW_SOCK_STATES; s++) {
			fprintf(f, "portwatch_workload_sockets{%s,daddr=\"%s\",dport=\"", r->labels,
				addr);
			if (!r->other)
				fprintf(f, "%u", r->dest.port);
			fprintf(f, "\",state=\"%s\"} %u\n", pw_sock_state_name(s), r->n[s]);
		}
	}
	pw_prom_header(f, "portwatch_workload_sockets_folded", "gauge",
		       "Workloads whose sockets portwatch_workload_sockets folded into "
		       "pod=\"(other)\" (over 1000 rows), at the last periodic census.");
	fprintf(f, "portwatch_workload_sockets_folded %zu\n", in->sock_folded);
}
