/* SPDX-License-Identifier: GPL-2.0 */
/* Remedy rules for local-port pressure, keyed by the running kernel and the
 * netns's settings. */
#ifndef PW_REMEDIES_H
#define PW_REMEDIES_H

#include <stdbool.h>
#include <stdint.h>
#include "census.h"
#include "client.h"

struct pw_remedy_input {
	int kernel_major, kernel_minor, kernel_patch;
	int tw_reuse;
	uint32_t range_size;		/* effective */
	uint32_t range_full;		/* hi - lo + 1 */
	bool dest_loopback;		/* the pressured destination is loopback */
	uint32_t time_wait;		/* TIME_WAIT sockets towards it */
	uint32_t bound_conflicts;	/* bound_port_conflict failures seen */
	uint32_t bind_owned;		/* bind()-owned ports in the range */
	bool sysctl_mentions_recycle;	/* /etc/sysctl.conf or /etc/sysctl.d name tcp_tw_recycle */
	enum pw_client client;		/* of the failing process diagnosed */
	uint32_t client_pid;		/* that process */
};

#define PW_MAX_REMEDIES 10

struct pw_remedy {
	const char *id;		/* stable key, e.g. "reuse_connections" */
	char text[768];		/* what to do and why it applies here */
};

/* Fills out[] with the rules that apply; returns how many. Never recommends
 * tcp_tw_recycle. Meant for a destination under pressure (failures seen or
 * usage over --warn-at): reuse_connections and more_destinations always
 * apply. Order: reuse_connections, tw_reuse_1 | tw_reuse_2,
 * wider_port_range, bind_address_no_port, ip_local_port_range_sockopt,
 * tw_recycle_removed, more_destinations. */
int pw_remedies(const struct pw_remedy_input *in, struct pw_remedy *out, int max);
/* Does /etc/sysctl.conf or a file in /etc/sysctl.d mention tcp_tw_recycle
 * (not commented out)? root is the filesystem root, "" for /. */
bool pw_sysctl_mentions_recycle(const char *root);
/* Fill the census-derived inputs of the remedy rules for destination d, plus
 * the running kernel and the sysctl.conf scan of "/"; the caller adds
 * bound_conflicts and the client. */
void pw_remedy_input_from_census(struct pw_remedy_input *in, const struct pw_census_ns *ns,
				 const struct pw_census_dest *d);

#endif /* PW_REMEDIES_H */
