// SPDX-License-Identifier: GPL-2.0
/* The census's UDP part: see census_udp.h.
 *
 * A UDP port of the range is "held" when any UDP socket of the netns has
 * it as its local port (bound or autobound, connected or not): autobind
 * (udp_lib_get_port) skips it. Sockets sharing a port (SO_REUSEADDR,
 * SO_REUSEPORT) hold it once. A reserved port (ip_local_reserved_ports) is
 * not in the range autobind draws from: neither counted nor offered.
 * Unbound UDP sockets are in no hash table, so in no dump: they hold
 * nothing. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "census_udp.h"

int pw_census_udp_on_socket(void *arg, const struct inet_diag_msg *m)
{
	struct pw_udp_acc *a = arg;
	unsigned int sport = ntohs(m->id.idiag_sport);

	a->sockets++;
	if ((int)sport < a->lo || (int)sport > a->hi)
		return 0;
	if (a->reserved && pw_port_test(a->reserved, sport))
		return 0;
	a->in_range++;
	pw_port_set(a->ports, sport);
	if (a->itab && m->idiag_inode)
		return pw_inode_tab_add(a->itab, m->idiag_inode, PW_CENSUS_UDP_ROW);
	return 0;
}

void pw_census_udp_finish(struct pw_udp_acc *a, struct pw_census_udp *out)
{
	uint32_t held = 0, reserved = 0, full;
	unsigned int n;

	memset(out, 0, sizeof(*out));
	out->taken = true;
	for (int p = a->lo; p <= a->hi && p >= 0 && p < PW_NPORTS; p++) {
		if (a->reserved && pw_port_test(a->reserved, p))
			reserved++;
		else if (pw_port_test(a->ports, p))
			held++;
	}
	full = a->hi >= a->lo ? a->hi - a->lo + 1 : 0;
	out->reserved = reserved;
	out->range_size = full > reserved ? full - reserved : 0;
	out->held = held;
	out->sockets = a->sockets;
	out->sockets_in_range = a->in_range;
	if (out->range_size)
		out->usage = (double)held / out->range_size;
	else
		out->usage = held ? 1.0 : 0.0;
	pw_holder_list_sort(&a->holders);
	n = a->holders.nh < PW_MAX_HOLDERS ? a->holders.nh : PW_MAX_HOLDERS;
	out->nholders = n;
	for (unsigned int j = 0; j < n; j++) {
		out->holders[j].pid = a->holders.h[j].pid;
		out->holders[j].sockets = a->holders.h[j].n;
		memcpy(out->holders[j].comm, a->holders.h[j].comm, PW_COMM_LEN);
	}
}

void pw_census_udp_acc_free(struct pw_udp_acc *a)
{
	free(a->holders.h);
	a->holders.h = NULL;
	a->holders.nh = a->holders.caph = 0;
}
