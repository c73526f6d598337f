// SPDX-License-Identifier: GPL-2.0
/* soakgen: the soak's load (make bench, loop "soak"), and its ground truth.
 *
 *   soakgen [--seconds S] [--rate R] [--names N] [--inflight M] [--port P]
 *	fills the netns's ephemeral range with connections to a local
 *	listener (held by this process), then forks R short-lived processes a
 *	second for S seconds. Each child names itself (prctl PR_SET_NAME,
 *	"pws-<hex>": with --names 0 every process a name of its own, else N
 *	names in turn), makes one connect() to the listener, which fails with
 *	EADDRNOTAVAIL, and exits with a status saying what it saw. At most M
 *	children are alive at once; behind the pace, it forks as fast as it can.
 *
 * Run it in a private netns with a tiny ip_local_port_range (bench/run.sh).
 * Prints one JSON object on stdout: the forks, what the children reported
 * through their exit status, and every connect() this process and its
 * children made: what a tracer's totals must equal. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

/* a child's exit status: what its connect() did */
enum { C_EADDRNOTAVAIL = 0, C_CONNECTED = 10, C_OTHER_ERR = 11, C_NO_SOCKET = 12 };

struct tally {
	uint64_t eaddrnotavail, connected, other_err, no_socket, abnormal;
};

static void die(const char *what)
{
	fprintf(stderr, "soakgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void usage(void)
{
	fprintf(stderr, "usage: soakgen [--seconds S] [--rate R] [--names N] "
		"[--inflight M] [--port P]\n");
	exit(2);
}

static __attribute__((noreturn)) void child(const struct sockaddr_in *to, uint32_t name)
{
	char comm[16];
	int s;

	snprintf(comm, sizeof(comm), "pws-%x", name);
	prctl(PR_SET_NAME, comm, 0, 0, 0);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		_exit(C_NO_SOCKET);
	if (connect(s, (const struct sockaddr *)to, sizeof(*to)) == 0)
		_exit(C_CONNECTED);
	_exit(errno == EADDRNOTAVAIL ? C_EADDRNOTAVAIL : C_OTHER_ERR);
}

static void account(struct tally *t, int status)
{
	if (!WIFEXITED(status)) {
		t->abnormal++;
		return;
	}
	switch (WEXITSTATUS(status)) {
	case C_EADDRNOTAVAIL: t->eaddrnotavail++; break;
	case C_CONNECTED: t->connected++; break;
	case C_OTHER_ERR: t->other_err++; break;
	case C_NO_SOCKET: t->no_socket++; break;
	default: t->abnormal++;
	}
}

/* Reap what has exited; with block, wait for one first. Returns how many. */
static unsigned int reap(struct tally *t, int block)
{
	unsigned int n = 0;
	int status;
	pid_t p;

	while ((p = waitpid(-1, &status, block && !n ? 0 : WNOHANG)) > 0) {
		account(t, status);
		n++;
	}
	if (p < 0 && errno != ECHILD && errno != EINTR)
		die("waitpid");
	return n;
}

int main(int argc, char **argv)
{
	double seconds = 60, rate = 1667;
	uint64_t names = 0, forks = 0, fork_failed = 0, fill = 0, fill_fail = 0;
	unsigned int inflight = 0, max_inflight = 256;
	struct sockaddr_in dst = { .sin_family = AF_INET };
	struct tally t = { 0 };
	int port = 18090, lfd, one = 1;
	int64_t t0, end, now, wall;

	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--rate"))
			rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "--names"))
			names = strtoull(argv[++i], NULL, 10);
		else if (!strcmp(argv[i], "--inflight"))
			max_inflight = (unsigned int)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--port"))
			port = atoi(argv[++i]);
		else
			usage();
	}
	if (!(seconds > 0) || !(rate > 0) || max_inflight < 1 || max_inflight > 65536 ||
	    port < 1 || port > 65535)
		usage();

	catch_stop();

	dst.sin_port = htons(port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&dst, sizeof(dst)))
		die("bind listener");
	if (listen(lfd, 4096))
		die("listen");
	/* Hold every ephemeral port; the connect that finds none fails like
	 * the children's. Never accepted: the backlog holds them. */
	for (;;) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0)
			die("fill: socket");
		if (connect(s, (struct sockaddr *)&dst, sizeof(dst)) == 0) {
			if (++fill > 4096) {
				fprintf(stderr, "soakgen: range larger than 4096 ports; "
					"set ip_local_port_range in the netns first\n");
				return 1;
			}
			continue;
		}
		if (errno != EADDRNOTAVAIL)
			die("fill: connect");
		close(s);
		fill_fail = 1;
		break;
	}

	t0 = now_ns();
	end = t0 + (int64_t)(seconds * 1e9);
	while (!stop && (now = now_ns()) < end) {
		uint64_t due = (uint64_t)((now - t0) * rate / 1e9) + 1;

		if (forks >= due) {
			/* ahead of the pace: reap, then sleep until the next one is due */
			inflight -= reap(&t, 0);
			int64_t at = t0 + (int64_t)(forks * 1e9 / rate);
			struct timespec ts = { .tv_sec = at / 1000000000, .tv_nsec = at % 1000000000 };

			if (at > now)
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			continue;
		}
		if (inflight >= max_inflight) {
			inflight -= reap(&t, 1);
			continue;
		}
		pid_t p = fork();

		if (p == 0)
			child(&dst, (uint32_t)(names ? forks % names : forks));
		if (p < 0) {
			fork_failed++;
			if (errno != EAGAIN && errno != ENOMEM)
				die("fork");
			inflight -= reap(&t, inflight > 0);
			continue;
		}
		forks++;
		inflight++;
		if ((forks & 15) == 0)
			inflight -= reap(&t, 0);
	}
	wall = now_ns() - t0;
	while (inflight)
		inflight -= reap(&t, 1);

	uint64_t children = t.eaddrnotavail + t.connected + t.other_err;

	printf("{\"pid\":%d,\"seconds\":%.3f,\"rate\":%.0f,\"forks\":%llu,\"per_s\":%.1f,"
	       "\"fork_failed\":%llu,\"names\":%llu,\"fill\":%llu,"
	       "\"children\":{\"eaddrnotavail\":%llu,\"connected\":%llu,\"other_errors\":%llu,"
	       "\"no_socket\":%llu,\"abnormal\":%llu},"
	       "\"process\":{\"attempts\":%llu,\"failures\":%llu,\"eaddrnotavail\":%llu}}\n",
	       (int)getpid(), wall / 1e9, rate, (unsigned long long)forks,
	       wall ? forks * 1e9 / wall : 0.0, (unsigned long long)fork_failed,
	       (unsigned long long)(names && names < forks ? names : forks),
	       (unsigned long long)fill,
	       (unsigned long long)t.eaddrnotavail, (unsigned long long)t.connected,
	       (unsigned long long)t.other_err, (unsigned long long)t.no_socket,
	       (unsigned long long)t.abnormal,
	       /* every connect() made: the fill's, its last (failing) one, the children's */
	       (unsigned long long)(fill + fill_fail + children),
	       (unsigned long long)(fill_fail + t.eaddrnotavail + t.other_err),
	       (unsigned long long)(fill_fail + t.eaddrnotavail));
	return t.abnormal || t.no_socket ? 1 : 0;
}
