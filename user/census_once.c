// SPDX-License-Identifier: GPL-2.0
/* --census: see census_once.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "census.h"
#include "census_once.h"
#include "census_print.h"
#include "client.h"
#include "netns.h"
#include "output.h"
#include "pressure.h"

int pw_census_once(const struct env *env, const struct pw_privs *privs)
{
	struct pw_census_filter f = { .holders = true, .udp = true };
	struct pw_census_ns ns;
	uint64_t *inodes = NULL;
	int *fds = NULL, n, shown = 0, ret = PW_EXIT_OK;
	bool no_udp = false, udp_said = false;
	char err[256];

	if (env->netns) {
		int fd = pw_census_open_netns(env->netns, err, sizeof(err));

		if (fd < 0) {
			fprintf(stderr, "portwatch: --netns=%s: %s\n", env->netns, err);
			return PW_EXIT_USAGE;
		}
		fds = malloc(sizeof(*fds));
		if (!fds) {
			close(fd);
			return PW_EXIT_CANNOT_RUN;
		}
		fds[0] = fd;
		n = 1;
	} else {
		n = pw_census_list_netns(&fds, &inodes);
		if (n < 0) {
			fprintf(stderr, "portwatch: --census: cannot list network namespaces: %s\n",
				strerror(-n));
			return PW_EXIT_CANNOT_RUN;
		}
	}
	if (!env->json)
		pw_text_fit_tty(STDOUT_FILENO);	/* a narrow terminal: no line wraps */
	for (int i = 0; i < n; i++) {
		if (pw_census_take(fds[i], &f, &ns, err, sizeof(err))) {
			fprintf(stderr, "portwatch: --census: %s\n", err);
			ret = PW_EXIT_CANNOT_RUN;
		} else if (env->netns || ns.sockets || ns.udp.sockets) {
			/* every netns with TCP or UDP sockets, or the one asked for */
			no_udp |= ns.udp.err == -ENOENT;
			if (ns.udp.err && ns.udp.err != -ENOENT && !udp_said) {
				/* once: the first netns's reason (its TCP part is shown) */
				fprintf(stderr, "portwatch: --census: UDP sockets not counted in netns "
					"%llu: %s\n", (unsigned long long)ns.netns, ns.udp.why);
				udp_said = true;
			}
			if (env->json)
				pw_census_print_json(stdout, &ns);
			else
				pw_census_print_text(stdout, &ns);
			if (ns.ndests && ns.dests[0].held)
				pw_print_remedies(stdout, env->json, &ns, &ns.dests[0], 0,
						  PW_CLIENT_NONE, 0);
			shown++;
			pw_census_free(&ns);
		} else {
			pw_census_free(&ns);
		}
		close(fds[i]);
	}
	if (!shown && !env->json)
		printf("no network namespace has TCP or UDP sockets\n");
	if (no_udp)
		fprintf(stderr, "portwatch: --census: the kernel has no UDP sock_diag (udp_diag): "
			"UDP sockets not counted\n");
	free(fds);
	free(inodes);
	pw_privs_census_report(privs, stderr);
	return ret;
}
