// SPDX-License-Identifier: GPL-2.0
/* loadgen: the connect() load of `make bench`, and its ground truth.
 *
 *   loadgen fail [--threads N] [--seconds S] [--port P] [--reuse] [--rate R]
 *	fills the netns's ephemeral range with held connections to a local
 *	listener, then each thread loops socket+connect+close: every connect
 *	fails with EADDRNOTAVAIL after checking the whole range. --reuse
 *	connects the same socket again instead (a failed connect leaves it in
 *	CLOSE): the highest failure rate one thread can make. --rate paces
 *	all threads together to R connects per second at most.
 *	--dests N spreads the failures over N destinations (127.1.x.y:P, one
 *	listener on every address): the range is filled towards each with
 *	connections the client closes first, so that each port is held in
 *	TIME_WAIT (no file descriptor per port), and each thread cycles
 *	through the destinations: every connect goes to another one.
 *   loadgen ok [--threads N] [--seconds S] [--port P]
 *	each thread loops socket+connect, waits for the listener's FIN (the
 *	listener accepts and closes at once), close: every connect succeeds
 *	and no client port is left in TIME_WAIT.
 *
 * Run it inside a private netns (bench/run.sh sets the range and
 * tcp_tw_reuse there). Prints one JSON object on stdout: what this process
 * did, counted exactly, and per connect the wall time of one iteration and
 * the CPU time of the calling thread (which a busy neighbour on the host
 * does not inflate). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64

struct worker {
	pthread_t th;
	int next;		/* --dests: the next destination */
	uint64_t attempts, ok, eaddrnotavail, other_err;
	int64_t wall_ns, cpu_ns;
	int err;		/* errno of a socket() that failed */
} __attribute__((aligned(64)));

static struct sockaddr_in dst;
static struct sockaddr_in *dsts;	/* --dests: every destination */
static int ndests = 1;
static bool loop_ok, reuse;
static double seconds = 2.0, rate;	/* connects/s over all threads; 0: flat out */
static int threads = 1;
static pthread_barrier_t go;
static int listen_fd = -1;

static int64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The ok loop's peer: accept and close at once, so the server closes first
 * and TIME_WAIT lands on its side, never on a client port. */
static void *acceptor(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (c >= 0)
			close(c);
		else if (errno != EINTR && errno != ECONNABORTED)
			usleep(1000);
	}
	return NULL;
}

/* --dests: accept each filling connection, wait for the client's FIN,
 * close: the client closed first, so TIME_WAIT holds its port. */
static void *drainer(void *arg)
{
	char buf[16];

	(void)arg;
	for (;;) {
		int c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				usleep(1000);
			continue;
		}
		while (read(c, buf, sizeof(buf)) > 0)
			;
		close(c);
	}
	return NULL;
}

static void start_listener(bool accepting)
{
	int one = 1;
	pthread_t th;

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listen_fd < 0)
		die("socket");
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in any = dst;

	if (ndests > 1)
		any.sin_addr.s_addr = htonl(INADDR_ANY);
	if (bind(listen_fd, (struct sockaddr *)&any, sizeof(any)))
		die("bind listener");
	if (listen(listen_fd, 4096))
		die("listen");
	if (accepting && pthread_create(&th, NULL, acceptor, NULL))
		die("pthread_create");
	if (!accepting && ndests > 1 && pthread_create(&th, NULL, drainer, NULL))
		die("pthread_create");
}

/* Hold one established connection per ephemeral port until none is left;
 * returns how many. The connect that finds none fails like the loop's. */
static uint64_t fill_range(const struct sockaddr_in *to)
{
	uint64_t held = 0;

	for (;;) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0)
			die("fill: socket");
		if (connect(s, (struct sockaddr *)to, sizeof(*to))) {
			int e = errno;

			close(s);
			if (e == EADDRNOTAVAIL)
				return held;
			errno = e;
			die("fill: connect");
		}
		if (ndests > 1)
			close(s);	/* TIME_WAIT holds the port */
		if (++held > 4096) {
			fprintf(stderr, "loadgen: fill: range larger than 4096 ports; "
				"set ip_local_port_range in the netns first\n");
			exit(1);
		}
	}
}

static void count(struct worker *w, int rc)
{
	w->attempts++;
	if (rc == 0)
		w->ok++;
	else if (errno == EADDRNOTAVAIL)
		w->eaddrnotavail++;
	else
		w->other_err++;
}

/* One iteration; false when socket() fails. *sock is the --reuse socket. */
static bool one_connect(struct worker *w, int *sock)
{
	char buf[64];
	int s = *sock >= 0 ? *sock : socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int rc;

	if (s < 0) {
		w->err = errno;
		return false;
	}
	if (ndests > 1) {
		rc = connect(s, (struct sockaddr *)&dsts[w->next], sizeof(dst));
		if (++w->next == ndests)
			w->next = 0;
	} else {
		rc = connect(s, (struct sockaddr *)&dst, sizeof(dst));
	}
	count(w, rc);
	if (rc == 0 && loop_ok) {
		/* the listener's FIN: it accepted and closed */
		for (;;) {
			ssize_t r = read(s, buf, sizeof(buf));

			if (r == 0 || (r < 0 && errno != EINTR))
				break;
		}
	}
	if (reuse && rc && errno == EADDRNOTAVAIL) {
		*sock = s;	/* back in CLOSE: connect it again */
		return true;
	}
	close(s);
	*sock = -1;
	return true;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	/* the clock is read every `batch` iterations: cheaper than a connect */
	int batch = loop_ok ? 16 : 256, sock = -1;
	double ns_per = rate > 0 ? 1e9 * threads / rate : 0;
	int64_t t0, c0, end, t;
	bool ok = true;

	pthread_barrier_wait(&go);
	t0 = clock_ns(CLOCK_MONOTONIC);
	c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
	end = t0 + (int64_t)(seconds * 1e9);
	do {
		for (int i = 0; i < batch && ok; i++)
			ok = one_connect(w, &sock);
		t = clock_ns(CLOCK_MONOTONIC);
		if (ns_per) {
			/* ahead of the pace: sleep until this batch is due */
			int64_t due = t0 + (int64_t)(w->attempts * ns_per);

			if (due > t && due < end) {
				struct timespec ts = { .tv_sec = due / 1000000000,
						       .tv_nsec = due % 1000000000 };

				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
				t = clock_ns(CLOCK_MONOTONIC);
			}
		}
	} while (t < end && ok);
	w->wall_ns = t - t0;
	w->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
	if (sock >= 0)
		close(sock);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: loadgen fail|ok [--threads N] [--seconds S] [--port P] "
		"[--reuse] [--rate R] [--dests N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static struct worker w[MAX_THREADS];
	uint64_t fill = 0, attempts = 0, ok = 0, ena = 0, other = 0, fill_fail;
	int64_t wall_sum = 0, cpu_sum = 0, t0, wall;
	int port = 18090, err = 0;

	if (argc < 2 || (strcmp(argv[1], "fail") && strcmp(argv[1], "ok")))
		usage();
	loop_ok = !strcmp(argv[1], "ok");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--reuse") && !loop_ok)
			reuse = true;
		else if (i + 1 >= argc)
			usage();
		else if (!strcmp(argv[i], "--threads"))
			threads = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--seconds"))
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--port"))
			port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--rate"))
			rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "--dests") && !loop_ok)
			ndests = atoi(argv[++i]);
		else
			usage();
	}
	if (threads < 1 || threads > MAX_THREADS || !(seconds > 0) || port < 1 || port > 65535 ||
	    rate < 0 || ndests < 1 || ndests > 60000)
		usage();

	dst.sin_family = AF_INET;
	dst.sin_port = htons(port);
	dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ndests > 1) {
		dsts = calloc(ndests, sizeof(*dsts));
		if (!dsts)
			die("calloc");
		for (int d = 0; d < ndests; d++) {
			dsts[d] = dst;
			dsts[d].sin_addr.s_addr = htonl(0x7f010000u + 1 + d);	/* 127.1.x.y */
		}
	}
	/* each destination's fill ends with a failing connect */
	fill_fail = loop_ok ? 0 : ndests;
	start_listener(loop_ok);
	if (!loop_ok) {
		for (int d = 0; d < ndests; d++)
			fill += fill_range(ndests > 1 ? &dsts[d] : &dst);
	}
	for (int i = 0; i < threads; i++)
		w[i].next = (int)((long)i * ndests / threads);

	if (pthread_barrier_init(&go, NULL, threads + 1))
		die("pthread_barrier_init");
	for (int i = 0; i < threads; i++)
		if (pthread_create(&w[i].th, NULL, worker_main, &w[i]))
			die("pthread_create");
	pthread_barrier_wait(&go);
	t0 = clock_ns(CLOCK_MONOTONIC);
	for (int i = 0; i < threads; i++) {
		pthread_join(w[i].th, NULL);
		attempts += w[i].attempts;
		ok += w[i].ok;
		ena += w[i].eaddrnotavail;
		other += w[i].other_err;
		wall_sum += w[i].wall_ns;
		cpu_sum += w[i].cpu_ns;
		if (w[i].err)
			err = w[i].err;
	}
	wall = clock_ns(CLOCK_MONOTONIC) - t0;

	/* The loop's figures, then every connect() of the process, the fill's
	 * included: what a tracer's per-process counts must equal. */
	printf("{\"loop\":\"%s%s\",\"pid\":%d,\"threads\":%d,\"seconds\":%.3f,"
	       "\"attempts\":%llu,\"ok\":%llu,\"eaddrnotavail\":%llu,\"other_errors\":%llu,"
	       "\"ns_per_connect\":%.1f,\"cpu_ns_per_connect\":%.1f,\"per_s\":%.0f,"
	       "\"process\":{\"attempts\":%llu,\"failures\":%llu,\"eaddrnotavail\":%llu}}\n",
	       argv[1], reuse ? "-reuse" : "", (int)getpid(), threads, wall / 1e9,
	       (unsigned long long)attempts, (unsigned long long)ok, (unsigned long long)ena,
	       (unsigned long long)other,
	       attempts ? (double)wall_sum / attempts : 0.0,
	       attempts ? (double)cpu_sum / attempts : 0.0,
	       wall ? attempts * 1e9 / wall : 0.0,
	       (unsigned long long)(fill + fill_fail + attempts),
	       (unsigned long long)(fill_fail + ena + other),
	       (unsigned long long)(fill_fail + ena));
	if (err) {
		fprintf(stderr, "loadgen: socket() failed in a worker: %s\n", strerror(err));
		return 1;
	}
	return 0;
}
