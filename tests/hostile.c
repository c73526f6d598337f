/*
 * hostile: what an unprivileged local user can do to blind portwatch
 * (tests/abuse.sh). Every mode reports what it did as one JSON line on
 * stdout, then sleeps until killed; its children die with it
 * (PR_SET_PDEATHSIG) and share its process group.
 *
 *   hostile crowd N BASE HOLD_LO HOLD_HI CLOSED
 *     holds ports HOLD_LO..HOLD_HI with bind() (the netns's whole range: every
 *     connect() without a bound port then fails with EADDRNOTAVAIL), then
 *     forks N processes that each try, and report:
 *       IPv4 and IPv6 from the bound ports BASE+2i / BASE+2i+1 to port CLOSED
 *         of the loopback (ECONNREFUSED: the SYN was sent),
 *       IPv4 and IPv6 without a bound port (EADDRNOTAVAIL: port selection),
 *       IPv4 and IPv6 to unrouted documentation addresses (ENETUNREACH),
 *     all at once (once all exist), then sleep: 4 (process, errno, family) keys each that the tracepoint
 *     mode sees, more in the fentry/kprobe modes.
 *   hostile crowd N BASE HOLD_LO HOLD_HI CLOSED REPEAT_MS
 *     the same, and then each process keeps repeating its two refused
 *     connects (new keys again after each swap of the per-process maps)
 *     every REPEAT_MS until the crowd's parent gets SIGUSR1; the parent then
 *     prints a second line with every repeated connect (all refused, or the
 *     count of the others).
 *   hostile flood PORT
 *     connects without a bound port to 127.0.0.1:PORT as fast as it can
 *     (meant for a netns whose range is held: each fails with EADDRNOTAVAIL,
 *     and each failure is an event) until SIGUSR1; then one line with the
 *     counts.
 *   hostile listen PORT
 *     a loopback listener with backlog 0 that never accepts: once one
 *     connection waits in its queue, every SYN to it is dropped (with
 *     tcp_syncookies=0), and the connects stay in SYN_SENT.
 *   hostile hold N PORT
 *     N non-blocking connects to 127.0.0.1:PORT, left in progress.
 *   hostile timewait N TOP PORT
 *     N connections to distinct 127.1.0.0+i:PORT and TOP to 127.0.0.1:PORT,
 *     each closed by the client first (TIME_WAIT), then one line and exit.
 *   hostile elfbomb SRC DST sections|dynsym N
 *     DST: a sparse copy of the executable SRC claiming N sections, or a
 *     .dynsym of N bytes (tests/elfbomb.h); it still runs as SRC does.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "hostile: %s: %s\n", what, strerror(errno));
	exit(1);
}

static unsigned long num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v > max) {
		fprintf(stderr, "hostile: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static socklen_t addr(struct sockaddr_storage *ss, int family, const char *ip, unsigned port)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)ss;

		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		inet_pton(AF_INET, ip, &a->sin_addr);
		return sizeof(*a);
	}
	struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

	a->sin6_family = AF_INET6;
	a->sin6_port = htons(port);
	inet_pton(AF_INET6, ip, &a->sin6_addr);
	return sizeof(*a);
}

/* One blocking connect: 0 or the errno it failed with. bind_port 0: none. */
static int try_connect(int family, const char *src, unsigned bind_port, const char *dst,
		       unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = socket(family, SOCK_STREAM, 0), err = 0;

	if (fd < 0)
		return errno;
	if (bind_port) {
		len = addr(&ss, family, src, bind_port);
		if (bind(fd, (struct sockaddr *)&ss, len)) {
			err = errno;
			close(fd);
			return -err;	/* a setup failure, not an outcome */
		}
	}
	len = addr(&ss, family, dst, port);
	if (connect(fd, (struct sockaddr *)&ss, len))
		err = errno;
	close(fd);
	return err;
}

__attribute__((noreturn)) static void sleep_forever(void)
{
	for (;;)
		pause();
}

/* The mode's one line, then sleep until killed. */
__attribute__((format(printf, 1, 2), noreturn))
static void report_and_sleep(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	fflush(stdout);
	sleep_forever();
}

static volatile sig_atomic_t stop;

static void on_usr1(int sig)
{
	(void)sig;
	stop = 1;
}

/* SIGUSR1 sets `stop`, and interrupts a blocking call (no SA_RESTART). */
static void catch_usr1(void)
{
	struct sigaction sa = { .sa_handler = on_usr1 };

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGUSR1, &sa, NULL))
		die("sigaction");
}

/* A crowd process after its first round: the two refused connects every
 * repeat_ms until SIGUSR1; then their count (refused, other) into done. */
__attribute__((noreturn))
static void repeat(unsigned i, unsigned base, unsigned closed, unsigned repeat_ms, int done)
{
	unsigned counts[2] = { 0, 0 };
	struct timespec ts = { repeat_ms / 1000, (repeat_ms % 1000) * 1000000L };
	sigset_t usr1;

	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	while (!stop) {
		int r4, r6;

		/* the stop signal waits for the pair: a connect it interrupted
		 * (EINTR) would still end in the kernel, refused, counted by
		 * portwatch but not here (seen once in the ASan pass) */
		sigprocmask(SIG_BLOCK, &usr1, NULL);
		r4 = try_connect(AF_INET, "127.0.0.1", base + 2 * i, "127.0.0.1", closed);
		r6 = try_connect(AF_INET6, "::1", base + 2 * i + 1, "::1", closed);
		sigprocmask(SIG_UNBLOCK, &usr1, NULL);
		counts[r4 == ECONNREFUSED ? 0 : 1]++;
		counts[r6 == ECONNREFUSED ? 0 : 1]++;
		if (!stop)
			nanosleep(&ts, NULL);
	}
	if (write(done, counts, sizeof(counts)) != sizeof(counts))
		_exit(1);
	sleep_forever();
}

static void crowd(unsigned n, unsigned base, unsigned lo, unsigned hi, unsigned closed,
		  unsigned repeat_ms)
{
	int ready[2], go[2], done[2];
	pid_t *kids = calloc(n ? n : 1, sizeof(*kids));
	unsigned ok = 0, bad = 0;
	char c;

	for (unsigned p = lo; p <= hi; p++) {
		struct sockaddr_storage ss;
		socklen_t len = addr(&ss, AF_INET, "0.0.0.0", p);
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len))
			die("holding the range");
	}
	/* all connect at once, once all exist: a burst of new keys */
	if (!kids || pipe(ready) || pipe(go) || pipe(done))
		die("pipe");
	if (repeat_ms)
		catch_usr1();
	for (unsigned i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid) {
			kids[i] = pid;
			continue;
		}
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() == 1)
			_exit(1);
		close(ready[0]);
		close(go[1]);
		if (read(go[0], &c, 1) < 0)	/* EOF: go */
			_exit(1);
		close(go[0]);
		int r[6] = {
			try_connect(AF_INET, "127.0.0.1", base + 2 * i, "127.0.0.1", closed),
			try_connect(AF_INET6, "::1", base + 2 * i + 1, "::1", closed),
			try_connect(AF_INET, NULL, 0, "127.0.0.1", closed),
			try_connect(AF_INET6, NULL, 0, "::1", closed),
			try_connect(AF_INET, NULL, 0, "192.0.2.1", 80),
			try_connect(AF_INET6, NULL, 0, "2001:db8::1", 80),
		};
		int want[6] = { ECONNREFUSED, ECONNREFUSED, EADDRNOTAVAIL, EADDRNOTAVAIL,
				ENETUNREACH, ENETUNREACH };

		c = !memcmp(r, want, sizeof(r)) ? 'y' : 'n';
		if (c == 'n')
			fprintf(stderr, "hostile: child %u got %d %d %d %d %d %d\n", i,
				r[0], r[1], r[2], r[3], r[4], r[5]);
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		close(ready[1]);
		if (repeat_ms)
			repeat(i, base, closed, repeat_ms, done[1]);
		sleep_forever();
	}
	close(done[1]);
	close(ready[1]);
	close(go[0]);
	close(go[1]);
	for (unsigned i = 0; i < n; i++) {
		if (read(ready[0], &c, 1) != 1)
			break;
		if (c == 'y')
			ok++;
		else
			bad++;
	}
	if (!repeat_ms)
		report_and_sleep("{\"mode\":\"crowd\",\"pid\":%d,\"processes\":%u,\"as_planned\":%u,\"other\":%u}\n",
				 (int)getpid(), n, ok, bad);
	printf("{\"mode\":\"crowd\",\"pid\":%d,\"processes\":%u,\"as_planned\":%u,\"other\":%u}\n",
	       (int)getpid(), n, ok, bad);
	fflush(stdout);
	while (!stop)
		pause();
	for (unsigned i = 0; i < n; i++)
		kill(kids[i], SIGUSR1);

	unsigned long long refused = 0, other = 0;
	unsigned got = 0, counts[2];

	while (got < n) {
		ssize_t r = read(done[0], counts, sizeof(counts));

		if (r < 0 && errno == EINTR)
			continue;
		if (r != sizeof(counts))
			break;
		refused += counts[0];
		other += counts[1];
		got++;
	}
	report_and_sleep("{\"mode\":\"crowd_done\",\"processes\":%u,\"repeated_refused\":%llu,"
			 "\"repeated_other\":%llu}\n", got, refused, other);
}

static void flood(unsigned port)
{
	unsigned long long planned = 0, other = 0;

	catch_usr1();
	while (!stop) {
		if (try_connect(AF_INET, NULL, 0, "127.0.0.1", port) == EADDRNOTAVAIL)
			planned++;
		else
			other++;
	}
	report_and_sleep("{\"mode\":\"flood\",\"pid\":%d,\"eaddrnotavail\":%llu,\"other\":%llu}\n",
			 (int)getpid(), planned, other);
}

static void listen_mode(unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, AF_INET, "127.0.0.1", port);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 0))
		die("listen");
	report_and_sleep("{\"mode\":\"listen\",\"pid\":%d,\"port\":%u}\n", (int)getpid(), port);
}

static void hold(unsigned n, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = addr(&ss, AF_INET, "127.0.0.1", port);
	unsigned inprogress = 0, other = 0;

	for (unsigned i = 0; i < n; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

		if (fd < 0)
			die("socket");
		if (connect(fd, (struct sockaddr *)&ss, len) && errno == EINPROGRESS)
			inprogress++;
		else
			other++;
	}
	report_and_sleep("{\"mode\":\"hold\",\"pid\":%d,\"connects\":%u,\"in_progress\":%u,\"other\":%u}\n",
			 (int)getpid(), n, inprogress, other);
}

#include "elfbomb.h"

/* N connections to distinct destinations 127.1.0.0 + i : PORT, then TOP
 * to 127.0.0.1:PORT, each ended by the client first (its FIN, then the
 * server's): every client side stays in TIME_WAIT, holding its local port
 * towards its destination. One listener on 0.0.0.0:PORT takes them all.
 * Prints what it made, then exits (TIME_WAIT outlives it: 60 s). */
static void timewait(unsigned long n, unsigned long top, unsigned int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	unsigned long made = 0, failed = 0;
	struct timespec t0, t1;
	int one = 1, l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 128))
		die("listener");
	for (unsigned long i = 0; i < n + top; i++) {
		struct sockaddr_in d = a;
		int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s;

		if (c < 0)
			die("socket");
		d.sin_addr.s_addr = htonl(i < n ? 0x7f010000 + i : 0x7f000001);
		if (connect(c, (struct sockaddr *)&d, sizeof(d))) {
			failed++;
			close(c);
			continue;
		}
		s = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		close(c);
		if (s >= 0)
			close(s);
		made++;
	}
	close(l);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("{\"mode\":\"timewait\",\"made\":%lu,\"failed\":%lu,\"seconds\":%.1f}\n", made,
	       failed, (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9);
	exit(0);
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "timewait"))
		timewait(num(argv[2], 1000000), num(argv[3], 65535), num(argv[4], 65535));
	if (argc == 6 && !strcmp(argv[1], "elfbomb")) {
		if (elfbomb_make(argv[2], argv[3], argv[4], strtoull(argv[5], NULL, 10))) {
			fprintf(stderr, "hostile elfbomb: %s: %s\n", argv[3], strerror(errno));
			return 1;
		}
		return 0;
	}
	if (argc == 7 && !strcmp(argv[1], "crowd"))
		crowd(num(argv[2], 30000), num(argv[3], 65535), num(argv[4], 65535),
		      num(argv[5], 65535), num(argv[6], 65535), 0);
	if (argc == 8 && !strcmp(argv[1], "crowd"))
		crowd(num(argv[2], 30000), num(argv[3], 65535), num(argv[4], 65535),
		      num(argv[5], 65535), num(argv[6], 65535), num(argv[7], 60000) ?: 1);
	if (argc == 3 && !strcmp(argv[1], "flood"))
		flood(num(argv[2], 65535));
	if (argc == 3 && !strcmp(argv[1], "listen"))
		listen_mode(num(argv[2], 65535));
	if (argc == 4 && !strcmp(argv[1], "hold"))
		hold(num(argv[2], 1000000), num(argv[3], 65535));
	fprintf(stderr, "usage: hostile crowd N BASE HOLD_LO HOLD_HI CLOSED [REPEAT_MS] | flood PORT | "
		"listen PORT | hold N PORT | elfbomb SRC DST sections|dynsym N | timewait N TOP PORT\n");
	return 2;
}
