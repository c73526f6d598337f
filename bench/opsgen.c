// SPDX-License-Identifier: GPL-2.0
/* opsgen: the bind() and UDP autobind loads of `make bench` (loop ops), and
 * their ground truth: what `--ops=bind,udp` costs where it traces.
 *
 *   opsgen bind ok|fail [--seconds S] [--port P]
 *	loops socket(TCP)+bind(127.0.0.1, 0)+close. fail: the netns's
 *	ephemeral range is first taken by sockets bound to 127.0.0.1 (port
 *	0, until a bind fails with EADDRINUSE), so every bind of the loop
 *	fails with EADDRINUSE after the kernel checked the whole range.
 *   opsgen udp ok|fail [--seconds S] [--port P]
 *	loops socket(UDP)+sendto(127.0.0.1:P, 1 byte)+close: the send binds
 *	the socket to a port of the range (autobind). A receiver is bound to
 *	P and never read (its buffer full, datagrams are dropped). fail: the
 *	range is first taken by UDP sockets autobound by a send (until one
 *	fails with EAGAIN), so every send of the loop fails with EAGAIN.
 *
 * Run it inside a private netns (bench/run.sh sets the range there; P
 * outside it). One thread. Prints one JSON object on stdout: per call the
 * wall time of one iteration, the thread's CPU time per iteration, and the
 * wall time of the bind() or sendto() alone (a clock read either side), and
 * every failure of the process, the fill's included, counted exactly: what
 * portwatch's op_failures for this pid must equal. Exit 1 when the load is
 * not what it says (an ok call failed, a fail call did not fail as it
 * should, or anything else failed). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILL 4096

static bool is_udp, want_fail;
static struct sockaddr_in local, dst;	/* 127.0.0.1:0, 127.0.0.1:P */
static uint64_t bind_fails, udp_fails;	/* EADDRINUSE of bind(), EAGAIN of sendto() */

static int64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "opsgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The operation on a fresh socket s: 0 or -1 with errno. Each failure
 * portwatch would count is counted here too. */
static int op(int s)
{
	static const char byte = 'x';
	int rc;

	if (is_udp) {
		rc = sendto(s, &byte, 1, 0, (struct sockaddr *)&dst, sizeof(dst)) == 1 ? 0 : -1;
		if (rc && errno == EAGAIN)
			udp_fails++;
	} else {
		rc = bind(s, (struct sockaddr *)&local, sizeof(local));
		if (rc && errno == EADDRINUSE)
			bind_fails++;
	}
	return rc;
}

static int new_socket(void)
{
	int s = socket(AF_INET, (is_udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);

	if (s < 0)
		die("socket");
	return s;
}

/* Take every port of the range with a socket kept open, until the
 * operation fails as the loop's will; returns how many are held. */
static uint64_t fill_range(void)
{
	uint64_t held = 0;

	for (;;) {
		int s = new_socket();

		if (op(s)) {
			int e = errno;

			close(s);
			if (e == (is_udp ? EAGAIN : EADDRINUSE))
				return held;
			errno = e;
			die("fill");
		}
		if (++held > MAX_FILL) {
			fprintf(stderr, "opsgen: fill: range larger than %d ports; "
				"set ip_local_port_range in the netns first\n", MAX_FILL);
			exit(1);
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: opsgen bind|udp ok|fail [--seconds S] [--port P]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	uint64_t calls = 0, fill = 0;
	int64_t t0, c0, end, t, op_ns = 0;
	double seconds = 2.0;
	int port = 18090, rcv = -1, batch;

	if (argc < 3 || (strcmp(argv[1], "bind") && strcmp(argv[1], "udp")) ||
	    (strcmp(argv[2], "ok") && strcmp(argv[2], "fail")))
		usage();
	is_udp = !strcmp(argv[1], "udp");
	want_fail = !strcmp(argv[2], "fail");
	for (int i = 3; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--port"))
			port = atoi(argv[++i]);
		else
			usage();
	}
	if (!(seconds > 0) || port < 1 || port > 65535)
		usage();

	local.sin_family = dst.sin_family = AF_INET;
	local.sin_addr.s_addr = dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	dst.sin_port = htons(port);
	if (is_udp) {
		int small = 4096;

		rcv = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (rcv < 0)
			die("socket");
		setsockopt(rcv, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
		if (bind(rcv, (struct sockaddr *)&dst, sizeof(dst)))
			die("bind receiver");
	}
	if (want_fail)
		fill = fill_range();
	batch = is_udp && want_fail ? 1 : 64;

	t0 = clock_ns(CLOCK_MONOTONIC);
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	end = t0 + (int64_t)(seconds * 1e9);
	do {
		/* the clock is read every 64 iterations besides the op's own
		 * (every one where the op takes a millisecond: udp fail) */
		for (int i = 0; i < batch; i++) {
			int s = new_socket(), rc, e;
			int64_t a = clock_ns(CLOCK_MONOTONIC);

			rc = op(s);
			e = errno;
			op_ns += clock_ns(CLOCK_MONOTONIC) - a;
			calls++;
			if (want_fail ? !rc || e != (is_udp ? EAGAIN : EADDRINUSE) : rc != 0) {
				fprintf(stderr, "opsgen: %s %s: call %llu %s: %s\n", argv[1], argv[2],
					(unsigned long long)calls, rc ? "failed" : "succeeded",
					rc ? strerror(e) : "the range is not full");
				exit(1);
			}
			close(s);
		}
		t = clock_ns(CLOCK_MONOTONIC);
	} while (t < end);
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	t -= t0;

	/* the loop's figures, then every failure of the process (the fill's
	 * last call included): what portwatch's op_failures must equal */
	printf("{\"loop\":\"%s-%s\",\"pid\":%d,\"seconds\":%.3f,\"calls\":%llu,\"fill\":%llu,"
	       "\"ns_per_call\":%.1f,\"cpu_ns_per_call\":%.1f,\"op_ns_per_call\":%.1f,\"per_s\":%.0f,"
	       "\"process\":{\"connects\":0,\"bind_failures\":%llu,\"udp_send_failures\":%llu}}\n",
	       argv[1], argv[2], (int)getpid(), t / 1e9, (unsigned long long)calls,
	       (unsigned long long)fill, (double)t / calls, (double)c0 / calls,
	       (double)op_ns / calls, calls * 1e9 / t,
	       (unsigned long long)bind_fails, (unsigned long long)udp_fails);
	if (rcv >= 0)
		close(rcv);
	return 0;
}
