/*
 * trigger: make connect() fail with EADDRNOTAVAIL (and friends) on purpose
 * and print, as JSON lines on stdout, exactly what this process observed.
 * That output is the ground truth a portwatch test compares the tracer to.
 *
 * All stdout lines are emitted with one write(2) each and stdio is never
 * used for stdout, so forked workers cannot duplicate buffered output and
 * concurrent lines cannot interleave.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <linux/fib_rules.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <linux/tcp.h>	/* struct tcp_info with tcpi_segs_out */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include <linux/bpf.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define DEF_PORT 18080
#define DEF_LPORT 50000
/* Kernel errnos are always below 4096, so a flat table never overflows. */
#define MAXERR 4096
/* Reading the clock every iteration would cost more than a failing connect. */
#define CLOCK_EVERY 256

static const char usage_text[] =
	"usage: trigger [global options] MODE [mode options]\n"
	"global options:\n"
	"  --private LO-HI   new netns: lo up, ip_local_port_range=LO HI, tcp_tw_reuse\n"
	"                    (and tcp_fastopen=3 for tfo)\n"
	"  --tw-reuse N      tcp_tw_reuse for --private (default 0)\n"
	"  --comm NAME       prctl(PR_SET_NAME) raw bytes\n"
	"  --comm-hex HEX    same, name given as hex bytes\n"
	"  --cgroup-hop DIR  exhaust/once: before connect i (0, 1, ...) move the process\n"
	"                    into the cgroup DIR/i (write 0 to DIR/i/cgroup.procs)\n"
	"  --thread-name N   exhaust/once: run in a second thread named N (PR_SET_NAME),\n"
	"                    the process keeps its own name\n"
	"  --go FIFO         print {\"type\":\"waiting\"}, block opening FIFO, then start\n"
	"  --addr A          target address (default 127.0.0.1; IPv6 and ::ffff:a.b.c.d ok)\n"
	"  --port P          target port (default 18080)\n"
	"  --reserved-ports LIST  for --private: its ip_local_reserved_ports\n"
	"  --no-server       do not run the built-in listener on addr:port\n"
	"  --prohibit-sport LO-HI  in this netns (after --private), the IPv4 rule\n"
	"                    'sport LO-HI prohibit' at pref 100, the local table's\n"
	"                    moved to 200: a connect() that takes such a port fails\n"
	"                    on the route lookup (EACCES), nothing sent\n"
	"modes:\n"
	"  exhaust --count N                 N sequential connect+close\n"
	"  bound [--lport LP]                two sockets bound to addr:LP (default 50000)\n"
	"  parallel (--procs N | --threads N) [--seconds S]\n"
	"                                    fill the range, then hammer connect()\n"
	"  once [--count N] [--bind-port LP] connect+close N times (default 1)\n"
	"  tfo [--count N]                   TCP Fast Open: the listener takes TFO, one\n"
	"                                    connect+write+close gets a cookie, then N\n"
	"                                    TCP_FASTOPEN_CONNECT connects closed before\n"
	"                                    any write (record \"deferred\": closed in\n"
	"                                    SYN_SENT with no segment sent)\n"
	"  shortaddr                         connects whose address the kernel refuses\n"
	"                                    (too short, another family), then valid\n"
	"                                    ones; a record per case, mode shortaddr/CASE\n"
	"  bind0 --count N [--no-port]       N TCP sockets, each bind(addr, 0) (with\n"
	"                                    IP_BIND_ADDRESS_NO_PORT for --no-port) then\n"
	"                                    connect, all held open: records bind0/bind\n"
	"                                    (the binds) and bind0/connect (the connects\n"
	"                                    of the sockets whose bind succeeded)\n"
	"  bindport --count N [--listener] [--hold S]\n"
	"                                    a child of this process tries bind(addr, P)\n"
	"                                    N times, P held here by a connection to the\n"
	"                                    listener (a port of the range) or with\n"
	"                                    --listener by the listener (P = --port):\n"
	"                                    records bindport/bind (the child's) and\n"
	"                                    bindport/holder, \"port\": P (\"holder\":\n"
	"                                    the holder's pid, \"dport\": its destination)\n"
	"  bindscope --count N [--wild] [--hold S]  (IPv4) N binds of (addr, 0), each\n"
	"                                    connected to the listener, or of (0.0.0.0, 0)\n"
	"                                    listening with --wild, then 2 of (addr, 0)\n"
	"                                    and 1 of (127.0.0.2, 0), all held: records\n"
	"                                    bindscope/fill, /hold, /try, /other\n"
	"                                    --hold S: then keep the sockets open until\n"
	"                                    SIGTERM (exit 0) or S seconds\n"
	"  udp --count N [--udp-connect]     N unbound UDP sockets, each sendto(addr:port)\n"
	"                                    (connect() with --udp-connect), all held\n"
	"                                    open: the first use autobinds a port\n"
	"  bindhang --count N                N threads, each bind(addr:port) of its own\n"
	"                                    socket (EADDRINUSE: the built-in listener\n"
	"                                    holds it) held inside the syscall, after its\n"
	"                                    entry, by a userfaultfd page under the\n"
	"                                    address's last 4 bytes; once all N wait:\n"
	"                                    {\"type\":\"waiting\"} (needs --go FIFO), then\n"
	"                                    the pages are filled and the binds end.\n"
	"                                    Exit 77: no userfaultfd here\n"
	"  bpf-list                          every BPF program (id, name), map (id, name)\n"
	"                                    and link (id, prog_id) of the system, one\n"
	"                                    {\"type\":\"bpf\"} line each (no bpftool in a VM)\n";

struct tally {
	unsigned long long attempts, ok;
	unsigned long long deferred;	/* tfo: connects closed with nothing sent */
	/* connect()s (do_connect): CLOCK_MONOTONIC (bpf_ktime_get_ns's clock)
	 * before the first failing one, after the last failing one */
	unsigned long long fail_from_ns, fail_to_ns;
	unsigned long long err[MAXERR];
};

struct target {
	int family; /* socket family to use for client sockets */
	struct sockaddr_storage sa;
	socklen_t salen;
	int mapped; /* ::ffff:a.b.c.d: client is AF_INET6, listener AF_INET */
	struct in_addr v4;
	char text[INET6_ADDRSTRLEN];
	unsigned port;
};

static struct target tgt;
static const char *mode_name;

/* ---------- output ---------- */

struct buf {
	char *p;
	size_t cap, len;
};

static void bput(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void bput(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->len >= b->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	b->len += (size_t)n;
	if (b->len >= b->cap)
		b->len = b->cap - 1;
}

static void emit(const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(STDOUT_FILENO, s, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		s += n;
		len -= (size_t)n;
	}
}

static const char *errname(int e, char *scratch, size_t n)
{
	switch (e) {
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case ECONNREFUSED: return "ECONNREFUSED";
	case EADDRINUSE: return "EADDRINUSE";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case EINVAL: return "EINVAL";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ECONNRESET: return "ECONNRESET";
	case EAGAIN: return "EAGAIN";
	case EINPROGRESS: return "EINPROGRESS";
	case EALREADY: return "EALREADY";
	case EISCONN: return "EISCONN";
	case EINTR: return "EINTR";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case ENETDOWN: return "ENETDOWN";
	case ENOBUFS: return "ENOBUFS";
	case ENOMEM: return "ENOMEM";
	case EBADF: return "EBADF";
	case ENOTSOCK: return "ENOTSOCK";
	case EMFILE: return "EMFILE";
	case ENFILE: return "ENFILE";
	}
	snprintf(scratch, n, "E%d", e);
	return scratch;
}

/*
 * comm is arbitrary bytes; bytes outside printable ASCII are written as
 * \u00XX so the line stays pure ASCII and each byte maps back 1:1
 * (decode, then encode as latin-1). comm_hex carries the same bytes
 * unambiguously.
 */
static void put_comm(struct buf *b)
{
	char comm[17] = { 0 };
	size_t i, n;

	if (prctl(PR_GET_NAME, comm, 0, 0, 0) != 0)
		comm[0] = 0;
	n = strnlen(comm, 16);
	bput(b, "\"comm\":\"");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)comm[i];

		if (c == '"' || c == '\\')
			bput(b, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			bput(b, "\\u%04x", c);
		else
			bput(b, "%c", c);
	}
	bput(b, "\",\"comm_hex\":\"");
	for (i = 0; i < n; i++)
		bput(b, "%02x", (unsigned char)comm[i]);
	bput(b, "\"");
}

/* Must run in the thread the record is about: comm and tid are per thread.
 * addr and port: the record's (the target's unless told otherwise: the
 * bind modes name the address and port they bound); extra: more fields
 * (",\"name\":value..."), or NULL. */
static void emit_record_at(const char *mode, const struct tally *t, const char *addr,
			   unsigned port, const char *extra)
{
	char line[8192], scratch[16];
	struct buf b = { line, sizeof(line), 0 };
	int first = 1;

	bput(&b, "{\"type\":\"record\",\"mode\":\"%s\",\"pid\":%d,\"tid\":%d,",
	     mode, (int)getpid(), (int)gettid());
	put_comm(&b);
	bput(&b, ",\"addr\":\"%s\",\"port\":%u,\"attempts\":%llu,\"ok\":%llu,\"errors\":{",
	     addr, port, t->attempts, t->ok);
	for (int e = 0; e < MAXERR; e++) {
		if (!t->err[e])
			continue;
		bput(&b, "%s\"%s\":%llu", first ? "" : ",",
		     errname(e, scratch, sizeof(scratch)), t->err[e]);
		first = 0;
	}
	bput(&b, "}");
	if (!strcmp(mode, "tfo"))
		bput(&b, ",\"deferred\":%llu", t->deferred);
	if (extra)
		bput(&b, "%s", extra);
	/* the span of this record's failed connect()s, which holds every
	 * outcome time the kernel gave them (-q's sampling bounds) */
	if (t->fail_to_ns)
		bput(&b, ",\"fail_span_ns\":%llu", t->fail_to_ns - t->fail_from_ns);
	bput(&b, "}\n");
	if (b.len == b.cap - 1)
		line[b.len - 1] = '\n';
	emit(line, b.len);
}

static void emit_record(const char *mode, const struct tally *t)
{
	emit_record_at(mode, t, tgt.text, tgt.port, NULL);
}

static void emit_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void emit_fmt(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n > 0)
		emit(line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

static void die(int code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dprintf(STDERR_FILENO, "trigger: %s\n", msg);
	_exit(code);
}

#define usage_err(...) die(2, __VA_ARGS__)
#define setup_fail(...) die(1, __VA_ARGS__)

static void tally_add(struct tally *t, int rc, int err)
{
	t->attempts++;
	if (rc == 0)
		t->ok++;
	else
		t->err[err > 0 && err < MAXERR ? err : 0]++;
}

/* ---------- setup ---------- */

static void write_sysctl(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(val);

	if (fd < 0)
		setup_fail("open %s: %s", path, strerror(errno));
	if (write(fd, val, len) != (ssize_t)len)
		setup_fail("write %s: %s", path, strerror(errno));
	close(fd);
}

static void private_netns(unsigned lo, unsigned hi, unsigned tw)
{
	struct ifreq ifr;
	char val[64];
	int s;

	if (unshare(CLONE_NEWNET) != 0)
		setup_fail("unshare(CLONE_NEWNET): %s", strerror(errno));
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		setup_fail("socket: %s", strerror(errno));
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, "lo");
	if (ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		setup_fail("SIOCGIFFLAGS lo: %s", strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		setup_fail("SIOCSIFFLAGS lo: %s", strerror(errno));
	close(s);
	/* /proc/sys/net resolves to the opener's netns, i.e. the new one. */
	snprintf(val, sizeof(val), "%u %u\n", lo, hi);
	write_sysctl("/proc/sys/net/ipv4/ip_local_port_range", val);
	snprintf(val, sizeof(val), "%u\n", tw);
	write_sysctl("/proc/sys/net/ipv4/tcp_tw_reuse", val);
	/* a late segment's RST must not end a TIME_WAIT early (RFC 1337): it
	 * would hand out an 11th port of 10 now and then under load */
	write_sysctl("/proc/sys/net/ipv4/tcp_rfc1337", "1\n");
	/* tfo: TCP Fast Open for clients and servers (the default, 1, is
	 * clients only: the listener would hand out no cookie) */
	if (!strcmp(mode_name, "tfo"))
		write_sysctl("/proc/sys/net/ipv4/tcp_fastopen", "3\n");
}

/* One IPv4 rule change by rtnetlink: RTM_NEWRULE or RTM_DELRULE of the rule
 * at pref with this action, table (0: none) and source ports (lo 0: any). */
static void nl_rule(int type, __u32 pref, __u8 action, __u8 table, unsigned lo, unsigned hi)
{
	struct {
		struct nlmsghdr nh;
		struct fib_rule_hdr frh;
		char attrs[64];
	} req;
	struct fib_rule_port_range range = { (__u16)lo, (__u16)hi };
	struct rtattr *rta;
	char ack[512];
	struct nlmsghdr *nh = (struct nlmsghdr *)ack;
	ssize_t n;
	int fd, err;

	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_type = (__u16)type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK |
			     (type == RTM_NEWRULE ? NLM_F_CREATE | NLM_F_EXCL : 0);
	req.nh.nlmsg_len = NLMSG_ALIGN(NLMSG_LENGTH(sizeof(req.frh)));
	req.frh.family = AF_INET;
	req.frh.action = action;
	req.frh.table = table;
	rta = (struct rtattr *)((char *)&req + req.nh.nlmsg_len);
	rta->rta_type = FRA_PRIORITY;
	rta->rta_len = RTA_LENGTH(sizeof(pref));
	memcpy(RTA_DATA(rta), &pref, sizeof(pref));
	req.nh.nlmsg_len += RTA_ALIGN(rta->rta_len);
	if (lo) {
		rta = (struct rtattr *)((char *)&req + req.nh.nlmsg_len);
		rta->rta_type = FRA_SPORT_RANGE;
		rta->rta_len = RTA_LENGTH(sizeof(range));
		memcpy(RTA_DATA(rta), &range, sizeof(range));
		req.nh.nlmsg_len += RTA_ALIGN(rta->rta_len);
	}
	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		setup_fail("netlink socket: %s", strerror(errno));
	if (send(fd, &req, req.nh.nlmsg_len, 0) != (ssize_t)req.nh.nlmsg_len)
		setup_fail("rtnetlink send: %s", strerror(errno));
	n = recv(fd, ack, sizeof(ack), 0);
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) || nh->nlmsg_type != NLMSG_ERROR)
		setup_fail("rtnetlink: no acknowledgement");
	err = ((struct nlmsgerr *)NLMSG_DATA(nh))->error;
	if (err)
		setup_fail("rtnetlink rule %s pref %u: %s", type == RTM_NEWRULE ? "add" : "del",
			   pref, strerror(-err));
	close(fd);
}

/*
 * `ip rule add pref 100 sport LO-HI prohibit`, with the local table's rule
 * moved from pref 0 to 200 so that the new rule comes first (the VMs'
 * busybox ip has no sport selector): connect() to 127.0.0.1 then takes a
 * port and fails on the route lookup with it (EACCES) before any segment.
 */
static void prohibit_sport(unsigned lo, unsigned hi)
{
	nl_rule(RTM_DELRULE, 0, FR_ACT_TO_TBL, RT_TABLE_LOCAL, 0, 0);
	nl_rule(RTM_NEWRULE, 100, FR_ACT_PROHIBIT, 0, lo, hi);
	nl_rule(RTM_NEWRULE, 200, FR_ACT_TO_TBL, RT_TABLE_LOCAL, 0, 0);
}

static void parse_addr(const char *s, unsigned port)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&tgt.sa;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&tgt.sa;

	memset(&tgt, 0, sizeof(tgt));
	tgt.port = port;
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		tgt.family = AF_INET;
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		tgt.salen = sizeof(*a4);
		tgt.v4 = a4->sin_addr;
	} else if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		tgt.family = AF_INET6;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		tgt.salen = sizeof(*a6);
		if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
			tgt.mapped = 1;
			memcpy(&tgt.v4, &a6->sin6_addr.s6_addr[12], 4);
		}
	} else {
		usage_err("bad --addr '%s'", s);
	}
	/* Echo the canonical form so tests can match it to what a tracer prints. */
	inet_ntop(tgt.family, tgt.family == AF_INET ? (void *)&a4->sin_addr
						     : (void *)&a6->sin6_addr,
		  tgt.text, sizeof(tgt.text));
}

/* Copy of the target with another port, for binds and the listener. */
static struct sockaddr_storage with_port(unsigned port)
{
	struct sockaddr_storage ss = tgt.sa;

	if (tgt.family == AF_INET)
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
	return ss;
}

static void raise_nofile(void)
{
	struct rlimit rl;

	/* fill keeps both ends of every connection open in this process */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* ---------- built-in listener ---------- */

static int lsn_fd = -1, lsn_ep = -1;
static int lsn_fastopen;	/* tfo: the listener accepts TCP Fast Open */

/*
 * Never writes and only closes after the peer's FIN, so the client always
 * closes first and its port lands in FIN_WAIT2/TIME_WAIT, never freed by RST.
 */
static void *listener_main(void *arg)
{
	struct epoll_event evs[256];
	static char sink[16384];

	(void)arg;
	for (;;) {
		int n = epoll_wait(lsn_ep, evs, 256, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			dprintf(STDERR_FILENO, "trigger: epoll_wait: %s\n", strerror(errno));
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			int fd = evs[i].data.fd;

			if (fd == lsn_fd) {
				for (;;) {
					int c = accept4(lsn_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
					struct epoll_event ev = { .events = EPOLLIN };

					if (c < 0) {
						if (errno == EMFILE || errno == ENFILE) {
							/* avoid spinning on a level-triggered listener */
							dprintf(STDERR_FILENO, "trigger: accept: %s\n", strerror(errno));
							usleep(10000);
						}
						break;
					}
					ev.data.fd = c;
					if (epoll_ctl(lsn_ep, EPOLL_CTL_ADD, c, &ev) != 0)
						close(c);
				}
				continue;
			}
			for (;;) {
				ssize_t r = read(fd, sink, sizeof(sink));

				if (r > 0)
					continue;
				if (r < 0 && (errno == EAGAIN || errno == EINTR))
					break;
				epoll_ctl(lsn_ep, EPOLL_CTL_DEL, fd, NULL);
				close(fd);
				break;
			}
		}
	}
}

static void start_listener(void)
{
	struct sockaddr_storage ss;
	struct epoll_event ev = { .events = EPOLLIN };
	socklen_t len;
	pthread_t th;
	int one = 1, fam;

	if (tgt.mapped) {
		/* a v4-mapped connect lands in the IPv4 stack */
		struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;

		memset(&ss, 0, sizeof(ss));
		a4->sin_family = AF_INET;
		a4->sin_addr = tgt.v4;
		a4->sin_port = htons(tgt.port);
		fam = AF_INET;
		len = sizeof(*a4);
	} else {
		ss = with_port(tgt.port);
		fam = tgt.family;
		len = tgt.salen;
	}
	lsn_fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (lsn_fd < 0)
		setup_fail("listener socket: %s", strerror(errno));
	setsockopt(lsn_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lsn_fd, (struct sockaddr *)&ss, len) != 0)
		setup_fail("listener bind %s:%u: %s", tgt.text, tgt.port, strerror(errno));
	if (listen(lsn_fd, 4096) != 0)
		setup_fail("listen: %s", strerror(errno));
	if (lsn_fastopen) {
		int qlen = 64;

		if (setsockopt(lsn_fd, IPPROTO_TCP, TCP_FASTOPEN, &qlen, sizeof(qlen)) != 0)
			setup_fail("listener TCP_FASTOPEN: %s", strerror(errno));
	}
	lsn_ep = epoll_create1(EPOLL_CLOEXEC);
	if (lsn_ep < 0)
		setup_fail("epoll_create1: %s", strerror(errno));
	ev.data.fd = lsn_fd;
	if (epoll_ctl(lsn_ep, EPOLL_CTL_ADD, lsn_fd, &ev) != 0)
		setup_fail("epoll_ctl: %s", strerror(errno));
	if (pthread_create(&th, NULL, listener_main, NULL) != 0)
		setup_fail("pthread_create failed");
	pthread_detach(th);
}

/* ---------- client helpers ---------- */

static const char *go_fifo;

static void wait_go(void)
{
	int fd;

	if (!go_fifo)
		return;
	emit_fmt("{\"type\":\"waiting\",\"pid\":%d}\n", (int)getpid());
	do
		fd = open(go_fifo, O_RDONLY | O_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	if (fd < 0)
		setup_fail("open %s: %s", go_fifo, strerror(errno));
	close(fd);
}

static int new_sock(void)
{
	int s = socket(tgt.family, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		setup_fail("socket: %s", strerror(errno));
	return s;
}

static void bind_local(int s, unsigned lport)
{
	struct sockaddr_storage ss = with_port(lport);
	int one = 1;

	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(s, (struct sockaddr *)&ss, tgt.salen) != 0)
		setup_fail("bind %s:%u: %s", tgt.text, lport, strerror(errno));
}

static unsigned long long mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int do_connect(int s, struct tally *t)
{
	unsigned long long from = mono_ns();
	int rc;

	do
		rc = connect(s, (struct sockaddr *)&tgt.sa, tgt.salen);
	while (rc != 0 && errno == EINTR);
	tally_add(t, rc, rc ? errno : 0);
	if (rc) {
		int err = errno;

		if (!t->fail_to_ns)
			t->fail_from_ns = from;
		t->fail_to_ns = mono_ns();
		errno = err;
	}
	return rc;
}

/*
 * Close first, then wait for the server's FIN: this proves the server
 * accepted and closed, so our port sits in TIME_WAIT. Just closing could
 * leave the peer in the listener's accept queue, and if our listener then
 * exits the kernel resets it, freeing the port for later runs in the same
 * netns. The timeout guards against external servers that never close.
 */
static void client_close(int s)
{
	struct timeval tv = { .tv_sec = 5 };
	char junk[4096];
	ssize_t r;

	shutdown(s, SHUT_WR);
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	do
		r = read(s, junk, sizeof(junk));
	while (r > 0 || (r < 0 && errno == EINTR));
	close(s);
}

/*
 * RST instead of FIN: leaves no TIME_WAIT behind, so a rerun in the same
 * netns starts from the same state. Mass FIN teardown of held sockets also
 * races with the server's close and frees a random subset of ports anyway.
 */
static void abort_close(int s)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(s);
}

/* ---------- modes ---------- */

static const char *hop_dir;	/* --cgroup-hop */

static int run_sequential(unsigned long count, unsigned bind_port)
{
	struct tally *t = calloc(1, sizeof(*t));

	if (!t)
		setup_fail("out of memory");
	wait_go();
	for (unsigned long i = 0; i < count; i++) {
		int s;

		if (hop_dir) {
			char path[4096];

			snprintf(path, sizeof(path), "%s/%lu/cgroup.procs", hop_dir, i);
			write_sysctl(path, "0\n");
		}
		s = new_sock();
		if (bind_port)
			bind_local(s, bind_port);
		if (do_connect(s, t) == 0)
			client_close(s);
		else
			close(s);
	}
	emit_record(mode_name, t);
	free(t);
	return 0;
}

static void fastopen_connect_opt(int s)
{
	int one = 1;

	if (setsockopt(s, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, &one, sizeof(one)) != 0)
		setup_fail("TCP_FASTOPEN_CONNECT: %s", strerror(errno));
}

/*
 * TCP Fast Open with TCP_FASTOPEN_CONNECT: once the client holds a cookie
 * for the server (or the netns's tcp_fastopen has 0x4, no cookie needed),
 * connect() takes a port and returns 0 without sending anything: the SYN
 * waits for the first write. Closing before any write leaves SYN_SENT for
 * CLOSE with nothing sent. Whether that is what happened is checked per
 * connect with TCP_INFO (state SYN_SENT, no segment out) and counted as
 * "deferred". The netns's net.ipv4.tcp_fastopen must allow client and
 * server (3).
 */
static int run_tfo(unsigned long count)
{
	struct tally *cookie = calloc(1, sizeof(*cookie)), *t = calloc(1, sizeof(*t));
	int s;

	if (!cookie || !t)
		setup_fail("out of memory");
	wait_go();
	/* the cookie: a TFO SYN asks for one, the server's SYN-ACK carries it */
	s = new_sock();
	fastopen_connect_opt(s);
	if (do_connect(s, cookie) != 0)
		setup_fail("tfo: cookie connect failed: %s", strerror(errno));
	if (write(s, "x", 1) != 1)
		setup_fail("tfo: cookie write: %s", strerror(errno));
	client_close(s);
	emit_record("tfo_cookie", cookie);
	for (unsigned long i = 0; i < count; i++) {
		struct tcp_info ti;
		socklen_t len = sizeof(ti);

		s = new_sock();
		fastopen_connect_opt(s);
		if (do_connect(s, t) == 0 &&
		    getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
		    ti.tcpi_state == 2 /* TCP_SYN_SENT */ && ti.tcpi_segs_out == 0)
			t->deferred++;
		close(s);
	}
	emit_record("tfo", t);
	free(cookie);
	free(t);
	return 0;
}

static int run_bound(unsigned lport)
{
	struct tally *t = calloc(1, sizeof(*t));
	int s1, s2;

	if (!t)
		setup_fail("out of memory");
	wait_go();
	s1 = new_sock();
	bind_local(s1, lport);
	if (do_connect(s1, t) != 0) {
		int e = errno;

		emit_record("bound", t);
		setup_fail("bound: first connect failed: %s", strerror(e));
	}
	s2 = new_sock();
	bind_local(s2, lport);
	do_connect(s2, t);
	emit_record("bound", t);
	close(s2);
	abort_close(s1);
	free(t);
	return 0;
}

/* bind-before-connect: bind(addr, 0) takes a port from the range for the
 * socket alone (unless IP_BIND_ADDRESS_NO_PORT defers it to connect()),
 * so holding the sockets open exhausts the range for every later bind of
 * that address; the bind then fails with EADDRINUSE. */
static int run_bind0(unsigned long count, int no_port)
{
	struct tally *tb = calloc(1, sizeof(*tb)), *tc = calloc(1, sizeof(*tc));
	int *held = calloc(count, sizeof(int));
	unsigned long n = 0;

	if (!tb || !tc || !held)
		setup_fail("out of memory");
	wait_go();
	for (unsigned long i = 0; i < count; i++) {
		struct sockaddr_storage ss = with_port(0);
		int s = new_sock(), one = 1, rc;

		if (no_port && setsockopt(s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
					  sizeof(one)) != 0)
			setup_fail("IP_BIND_ADDRESS_NO_PORT: %s", strerror(errno));
		rc = bind(s, (struct sockaddr *)&ss, tgt.salen);
		tally_add(tb, rc, rc ? errno : 0);
		if (rc != 0) {
			close(s);
			continue;
		}
		do_connect(s, tc);
		held[n++] = s;
	}
	emit_record("bind0/bind", tb);
	emit_record("bind0/connect", tc);
	for (unsigned long i = 0; i < n; i++)
		abort_close(held[i]);
	free(held);
	free(tc);
	free(tb);
	return 0;
}

/* bindhang: binds held between their syscall entry and exit, so that a
 * tracer's per-thread record of binds under way can be looked at. The
 * address of thread i ends 4 bytes into a page registered with userfaultfd
 * (missing): a read of its first salen - 4 bytes (family, port, address)
 * works, the kernel's copy of the whole of it waits for the page. */
struct hang {
	pthread_t th;
	int sock, rc, err;
	const struct sockaddr *sa;
};

static void *hang_main(void *arg)
{
	struct hang *h = arg;

	h->rc = bind(h->sock, h->sa, tgt.salen);
	h->err = h->rc ? errno : 0;
	return NULL;
}

static int run_bindhang(unsigned long count)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct uffdio_api api = { .api = UFFD_API };
	struct uffdio_register reg = { .mode = UFFDIO_REGISTER_MODE_MISSING };
	struct sockaddr_storage ss = with_port(tgt.port);
	struct tally *t = calloc(1, sizeof(*t));
	struct hang *h = calloc(count, sizeof(*h));
	size_t split = tgt.salen - 4, seen = 0;
	char *region, *faulted;
	int uffd;

	if (!go_fifo)
		usage_err("bindhang needs --go FIFO");
	if (!t || !h || !(faulted = calloc(count, 1)))
		setup_fail("out of memory");
	uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
	if (uffd < 0 || ioctl(uffd, UFFDIO_API, &api)) {
		dprintf(STDERR_FILENO, "trigger: userfaultfd: %s\n", strerror(errno));
		_exit(77);
	}
	region = mmap(NULL, 2 * count * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		      -1, 0);
	if (region == MAP_FAILED)
		setup_fail("mmap: %s", strerror(errno));
	/* the even pages present, with the first salen - 4 bytes of the
	 * address at their end; the odd ones missing (the rest of it: zeros) */
	for (unsigned long i = 0; i < count; i++) {
		char *end = region + (2 * i + 1) * pg;

		memcpy(end - split, &ss, split);
		h[i].sa = (const struct sockaddr *)(end - split);
		h[i].sock = new_sock();
	}
	reg.range.start = (unsigned long)region;
	reg.range.len = 2 * count * pg;
	if (ioctl(uffd, UFFDIO_REGISTER, &reg))
		setup_fail("UFFDIO_REGISTER: %s", strerror(errno));
	for (unsigned long i = 0; i < count; i++)
		if (pthread_create(&h[i].th, NULL, hang_main, &h[i]))
			setup_fail("pthread_create failed");
	/* every thread waits in its bind: one fault per odd page */
	while (seen < count) {
		struct uffd_msg m;
		ssize_t n = read(uffd, &m, sizeof(m));
		unsigned long page;

		if (n < 0 && errno == EINTR)
			continue;
		if (n != sizeof(m))
			setup_fail("read userfaultfd: %s", n < 0 ? strerror(errno) : "short");
		if (m.event != UFFD_EVENT_PAGEFAULT)
			continue;
		page = (unsigned long)(m.arg.pagefault.address - (unsigned long)region) / pg;
		if (page % 2 != 1 || page / 2 >= count)
			setup_fail("fault outside the odd pages (page %lu)", page);
		if (!faulted[page / 2]) {
			faulted[page / 2] = 1;
			seen++;
		}
	}
	wait_go();
	for (unsigned long i = 0; i < count; i++) {
		struct uffdio_zeropage z = { .range = { (unsigned long)region + (2 * i + 1) * pg, pg } };

		if (ioctl(uffd, UFFDIO_ZEROPAGE, &z))
			setup_fail("UFFDIO_ZEROPAGE: %s", strerror(errno));
	}
	for (unsigned long i = 0; i < count; i++) {
		pthread_join(h[i].th, NULL);
		tally_add(t, h[i].rc, h[i].err);
		close(h[i].sock);
	}
	emit_record("bindhang", t);
	munmap(region, 2 * count * pg);
	close(uffd);
	free(faulted);
	free(h);
	free(t);
	return 0;
}

/* --hold S: after the records, keep every socket open until SIGTERM or S
 * seconds (the caller waits for what it wants to see, then ends it: exit 0;
 * main installs the handler first, so an early SIGTERM only ends the hold) */
static double hold_s;
static volatile sig_atomic_t hold_end;

static void on_term(int sig)
{
	(void)sig;
	hold_end = 1;
}

static void hold(void)
{
	struct timespec t0, now;

	if (!(hold_s > 0))
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		usleep(20000);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (!hold_end && (double)(now.tv_sec - t0.tv_sec) +
		 (double)(now.tv_nsec - t0.tv_nsec) / 1e9 < hold_s);
}

/* n fresh TCP sockets, each bind(addr, port) (port 0: one of the range),
 * into t; with keep, the sockets bound are kept open (their fds appended to
 * held[*nheld]), else closed at once. No SO_REUSEADDR. */
static void bind_tries(const char *addr, unsigned port, unsigned long n, struct tally *t,
		       int *held, unsigned long *nheld)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct sockaddr_storage ss;

	if (tgt.family == AF_INET6 || !addr) {
		ss = with_port(port);
	} else {
		if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
			setup_fail("bad address %s", addr);
		memset(&ss, 0, sizeof(ss));
		memcpy(&ss, &sa, sizeof(sa));
	}
	for (unsigned long i = 0; i < n; i++) {
		int s = new_sock(), rc;

		rc = bind(s, (struct sockaddr *)&ss, tgt.salen);
		tally_add(t, rc, rc ? errno : 0);
		if (rc == 0 && held)
			held[(*nheld)++] = s;
		else
			close(s);
	}
}

/* A fixed-port bind refused because another socket holds the port. The
 * holder is this process: a connection to the built-in listener, whose
 * local port P came from the ephemeral range, or with listener the
 * built-in listener itself (P = --port). A child (its own pid, no fd of
 * the parent's left open: it holds nothing) tries bind(addr, P) N times;
 * records bindport/bind (the child's, port P, "holder": this pid) and
 * bindport/holder (this process's, port P, "dport": the connection's
 * destination port or null; attempts 1, ok 1), then --hold. */
static int run_bindport(unsigned long count, int listener)
{
	struct tally *t = calloc(1, sizeof(*t)), *th = calloc(1, sizeof(*th));
	struct sockaddr_storage ls;
	socklen_t len = sizeof(ls);
	unsigned port = tgt.port;
	char extra[64];
	int c = -1, st;
	pid_t child;

	if (!t || !th)
		setup_fail("out of memory");
	wait_go();
	if (!listener) {
		c = new_sock();
		if (do_connect(c, th) != 0)
			setup_fail("bindport: connect: %s", strerror(errno));
		if (getsockname(c, (struct sockaddr *)&ls, &len) != 0)
			setup_fail("getsockname: %s", strerror(errno));
		port = ntohs(ls.ss_family == AF_INET ? ((struct sockaddr_in *)&ls)->sin_port
						     : ((struct sockaddr_in6 *)&ls)->sin6_port);
	} else {
		tally_add(th, 0, 0);
	}
	child = fork();
	if (child < 0)
		setup_fail("fork: %s", strerror(errno));
	if (child == 0) {
		for (int fd = 3; fd < 4096; fd++)
			close(fd);
		snprintf(extra, sizeof(extra), ",\"holder\":%d", (int)getppid());
		bind_tries(NULL, port, count, t, NULL, NULL);
		emit_record_at("bindport/bind", t, tgt.text, port, extra);
		_exit(0);
	}
	if (waitpid(child, &st, 0) != child || !WIFEXITED(st) || WEXITSTATUS(st))
		setup_fail("bindport: the child failed");
	if (listener)
		snprintf(extra, sizeof(extra), ",\"dport\":null");
	else
		snprintf(extra, sizeof(extra), ",\"dport\":%u", tgt.port);
	emit_record_at("bindport/holder", th, tgt.text, port, extra);
	hold();
	if (c >= 0)
		abort_close(c);
	free(th);
	free(t);
	return 0;
}

/* Why a bind(addr, 0) found no port (IPv4): count binds of (0.0.0.0, 0),
 * each then listening, with wild, else of (addr, 0), each then connected
 * to the built-in listener (bind-before-connect), held open (10 fill a
 * 10-port range), then two binds of (addr, 0) and one of (127.0.0.2, 0)
 * (another address), all kept open. Listening or connected, not bound
 * only: sock_diag lists bound-only TCP sockets on recent kernels only
 * (not 5.10). Records bindscope/fill (the binds), bindscope/hold (the
 * listen() or connect() calls), bindscope/try (addr) and bindscope/other
 * (127.0.0.2), then --hold. */
static int run_bindscope(unsigned long count, int wild)
{
	struct tally *tf = calloc(1, sizeof(*tf)), *tt = calloc(1, sizeof(*tt));
	struct tally *to = calloc(1, sizeof(*to)), *th = calloc(1, sizeof(*th));
	int *held = calloc(count + 3, sizeof(int));
	unsigned long n = 0;

	if (!tf || !tt || !to || !th || !held)
		setup_fail("out of memory");
	wait_go();
	bind_tries(wild ? "0.0.0.0" : NULL, 0, count, tf, held, &n);
	for (unsigned long i = 0; i < n; i++) {
		if (!wild) {
			do_connect(held[i], th);
		} else {
			int rc = listen(held[i], 8);

			tally_add(th, rc, rc ? errno : 0);
		}
	}
	bind_tries(NULL, 0, 2, tt, held, &n);
	bind_tries("127.0.0.2", 0, 1, to, held, &n);
	emit_record_at("bindscope/fill", tf, wild ? "0.0.0.0" : tgt.text, 0, NULL);
	emit_record_at("bindscope/hold", th, wild ? "0.0.0.0" : tgt.text, 0, NULL);
	emit_record_at("bindscope/try", tt, tgt.text, 0, NULL);
	emit_record_at("bindscope/other", to, "127.0.0.2", 0, NULL);
	hold();
	for (unsigned long i = 0; i < n; i++)
		abort_close(held[i]);
	free(held);
	free(th);
	free(to);
	free(tt);
	free(tf);
	return 0;
}

/* UDP autobind: the first sendto() (or connect()) of an unbound UDP socket
 * takes a port from the range; with every port held by the others, it fails
 * with EAGAIN. */
static int run_udp(unsigned long count, int use_connect)
{
	struct tally *t = calloc(1, sizeof(*t));
	int *held = calloc(count, sizeof(int));

	if (!t || !held)
		setup_fail("out of memory");
	wait_go();
	for (unsigned long i = 0; i < count; i++) {
		int s = socket(tgt.family, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc;

		if (s < 0)
			setup_fail("socket: %s", strerror(errno));
		if (use_connect)
			rc = connect(s, (struct sockaddr *)&tgt.sa, tgt.salen);
		else
			rc = sendto(s, "x", 1, 0, (struct sockaddr *)&tgt.sa, tgt.salen) == 1 ? 0 : -1;
		tally_add(t, rc, rc ? errno : 0);
		held[i] = s;
	}
	emit_record(use_connect ? "udp/connect" : "udp/sendto", t);
	for (unsigned long i = 0; i < count; i++)
		close(held[i]);
	free(held);
	free(t);
	return 0;
}

/* connect() with an address length or family the kernel refuses before it
 * reads the address (tcp_v4_connect: shorter than sockaddr_in, or not
 * AF_INET; tcp_v6_connect: shorter than SIN6_LEN_RFC2133 (24), or not
 * AF_INET6), then with valid ones; one record per case, so that a tracer's
 * events can be matched to each. */
struct short_case {
	const char *name;
	int family;		/* written into the address */
	socklen_t len;
};

static int run_shortaddr(void)
{
	static const struct short_case v4[] = {
		{ "len2", AF_INET, 2 },
		{ "len8", AF_INET, 8 },
		{ "len15", AF_INET, 15 },
		{ "inet6_family", AF_INET6, sizeof(struct sockaddr_in6) },
		{ "valid", AF_INET, sizeof(struct sockaddr_in) },
	};
	static const struct short_case v6[] = {
		{ "len2", AF_INET6, 2 },
		{ "len16", AF_INET6, 16 },
		{ "len23", AF_INET6, 23 },
		{ "inet_len16", AF_INET, 16 },
		{ "inet_family", AF_INET, sizeof(struct sockaddr_in6) },
		{ "valid_len24", AF_INET6, 24 },
		{ "valid", AF_INET6, sizeof(struct sockaddr_in6) },
	};
	const struct short_case *c = tgt.family == AF_INET ? v4 : v6;
	size_t n = tgt.family == AF_INET ? sizeof(v4) / sizeof(v4[0]) : sizeof(v6) / sizeof(v6[0]);
	char name[64];

	wait_go();
	for (size_t i = 0; i < n; i++) {
		struct sockaddr_storage ss = tgt.sa;
		struct tally t = { 0 };
		int s = new_sock(), rc;

		ss.ss_family = (sa_family_t)c[i].family;
		do
			rc = connect(s, (struct sockaddr *)&ss, c[i].len);
		while (rc != 0 && errno == EINTR);
		tally_add(&t, rc, rc ? errno : 0);
		if (rc == 0)
			client_close(s);
		else
			close(s);
		snprintf(name, sizeof(name), "shortaddr/%s", c[i].name);
		emit_record(name, &t);
	}
	return 0;
}

/* ---------- bpf-list: what the kernel holds, without bpftool ---------- */

static int sys_bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

/* kind: 0 prog, 1 map, 2 link */
static void bpf_list_kind(int kind)
{
	static const int next_cmd[] = { BPF_PROG_GET_NEXT_ID, BPF_MAP_GET_NEXT_ID, BPF_LINK_GET_NEXT_ID };
	static const int fd_cmd[] = { BPF_PROG_GET_FD_BY_ID, BPF_MAP_GET_FD_BY_ID, BPF_LINK_GET_FD_BY_ID };
	static const char *const names[] = { "prog", "map", "link" };
	__u32 id = 0;

	for (;;) {
		union bpf_attr a;
		union {
			struct bpf_prog_info p;
			struct bpf_map_info m;
			struct bpf_link_info l;
		} info;
		int fd;

		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (sys_bpf(next_cmd[kind], &a))
			break;	/* ENOENT: the last; EINVAL: a kernel without links */
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		if (kind == 0)
			a.prog_id = id;
		else if (kind == 1)
			a.map_id = id;
		else
			a.link_id = id;
		fd = sys_bpf(fd_cmd[kind], &a);
		if (fd < 0)
			continue;	/* gone meanwhile */
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = fd;
		a.info.info_len = sizeof(info);
		a.info.info = (__u64)(unsigned long)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0) {
			if (kind == 2)
				emit_fmt("{\"type\":\"bpf\",\"kind\":\"link\",\"id\":%u,\"prog_id\":%u}\n",
					 id, info.l.prog_id);
			else
				emit_fmt("{\"type\":\"bpf\",\"kind\":\"%s\",\"id\":%u,\"name\":\"%.16s\"}\n",
					 names[kind], id, kind ? info.m.name : info.p.name);
		}
		close(fd);
	}
}

struct worker {
	double seconds;
	int failed;
	struct tally t;
};

static pthread_barrier_t start_barrier;
static int use_barrier;

static void worker_loop(struct worker *w)
{
	struct timespec now, end;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)w->seconds;
	end.tv_nsec += (long)((w->seconds - (double)(time_t)w->seconds) * 1e9);
	if (end.tv_nsec >= 1000000000L) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000L;
	}
	for (;;) {
		for (int i = 0; i < CLOCK_EVERY; i++) {
			int s = socket(tgt.family, SOCK_STREAM | SOCK_CLOEXEC, 0);

			if (s < 0) {
				dprintf(STDERR_FILENO, "trigger: worker socket: %s\n", strerror(errno));
				w->failed = 1;
				return;
			}
			do_connect(s, &w->t);
			close(s);
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
			return;
	}
}

static void *thread_worker(void *arg)
{
	struct worker *w = arg;

	if (use_barrier)
		pthread_barrier_wait(&start_barrier);
	worker_loop(w);
	emit_record("parallel", &w->t);
	return NULL;
}

static int run_parallel(unsigned nprocs, unsigned nthreads, double seconds)
{
	struct tally *fill = calloc(1, sizeof(*fill));
	int *held = NULL;
	size_t nheld = 0, cap = 0;
	unsigned n = nprocs ? nprocs : nthreads;
	struct worker *w = calloc(n, sizeof(*w));
	int bad = 0;

	if (!fill || !w)
		setup_fail("out of memory");
	/* Keep every connection ESTABLISHED so no port can come back. */
	for (;;) {
		int s = socket(tgt.family, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (s < 0) {
			int e = errno;

			emit_record("fill", fill);
			setup_fail("fill: socket: %s (after %zu held)", strerror(e), nheld);
		}
		if (do_connect(s, fill) != 0) {
			int e = errno;

			close(s);
			if (e == EADDRNOTAVAIL)
				break;
			emit_record("fill", fill);
			setup_fail("fill: connect: %s", strerror(e));
		}
		if (nheld == cap) {
			cap = cap ? cap * 2 : 64;
			held = realloc(held, cap * sizeof(*held));
			if (!held)
				setup_fail("out of memory");
		}
		held[nheld++] = s;
	}
	emit_record("fill", fill);
	wait_go();

	for (unsigned i = 0; i < n; i++)
		w[i].seconds = seconds;

	if (nprocs) {
		pid_t *pids = calloc(n, sizeof(*pids));

		if (!pids)
			setup_fail("out of memory");
		for (unsigned i = 0; i < n; i++) {
			pids[i] = fork();
			if (pids[i] < 0)
				setup_fail("fork: %s", strerror(errno));
			if (pids[i] == 0) {
				/* drop listener/fill fds so they cannot outlive the parent */
				close_range(3, ~0U, 0);
				worker_loop(&w[i]);
				emit_record("parallel", &w[i].t);
				_exit(w[i].failed);
			}
		}
		for (unsigned i = 0; i < n; i++) {
			int st;

			while (waitpid(pids[i], &st, 0) < 0) {
				if (errno != EINTR) {
					st = -1;
					break;
				}
			}
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
				dprintf(STDERR_FILENO, "trigger: worker %d failed (status %d)\n",
					(int)pids[i], st);
				bad = 1;
			}
		}
		free(pids);
	} else {
		pthread_t *th = calloc(n, sizeof(*th));
		struct tally *sum = calloc(1, sizeof(*sum));

		if (!th || !sum)
			setup_fail("out of memory");
		use_barrier = pthread_barrier_init(&start_barrier, NULL, n) == 0;
		for (unsigned i = 0; i < n; i++)
			if (pthread_create(&th[i], NULL, thread_worker, &w[i]) != 0)
				setup_fail("pthread_create failed");
		for (unsigned i = 0; i < n; i++) {
			pthread_join(th[i], NULL);
			bad |= w[i].failed;
			sum->attempts += w[i].t.attempts;
			sum->ok += w[i].t.ok;
			for (int e = 0; e < MAXERR; e++)
				sum->err[e] += w[i].t.err[e];
		}
		emit_record("parallel_total", sum);
		free(sum);
		free(th);
	}
	emit_fmt("{\"type\":\"done\",\"mode\":\"parallel\",\"pid\":%d,\"workers\":%u}\n",
		 (int)getpid(), n);
	for (size_t i = 0; i < nheld; i++)
		abort_close(held[i]);
	free(held);
	free(w);
	free(fill);
	return bad ? 1 : 0;
}

/* ---------- argument parsing ---------- */

/* Accepts both "--opt VALUE" and "--opt=VALUE". */
static const char *optval(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != 0)
		return NULL;
	if (*i + 1 >= argc)
		usage_err("%s needs a value", name);
	return argv[++*i];
}

static unsigned long parse_num(const char *s, const char *what,
			       unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		usage_err("bad %s '%s' (want %lu..%lu)", what, s, min, max);
	return v;
}

/* LO-HI, ports, LO <= HI */
static void parse_range(const char *arg, const char *opt, unsigned *lo, unsigned *hi)
{
	char v[64], what[64], *dash;

	snprintf(v, sizeof(v), "%s", arg);
	dash = strchr(v, '-');
	if (!dash)
		usage_err("%s wants LO-HI, got '%s'", opt, arg);
	*dash = 0;
	snprintf(what, sizeof(what), "%s LO", opt);
	*lo = (unsigned)parse_num(v, what, 1, 65535);
	snprintf(what, sizeof(what), "%s HI", opt);
	*hi = (unsigned)parse_num(dash + 1, what, 1, 65535);
	if (*lo > *hi)
		usage_err("%s: LO > HI", opt);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* --thread-name: the connects come from a thread with a name of its own. */
static const char *thread_name;

struct named_run {
	const char *name;
	unsigned long count;
	unsigned bind_port;
	int rc;
};

static void *named_main(void *arg)
{
	struct named_run *r = arg;

	if (prctl(PR_SET_NAME, r->name, 0, 0, 0) != 0)
		setup_fail("PR_SET_NAME: %s", strerror(errno));
	r->rc = run_sequential(r->count, r->bind_port);
	return NULL;
}

int main(int argc, char **argv)
{
	const char *addr = "127.0.0.1", *comm = NULL, *reserved = NULL, *v;
	char combuf[64];
	unsigned port = DEF_PORT, lo = 0, hi = 0, tw = 0, lport = DEF_LPORT, bind_port = 0;
	unsigned procs = 0, threads = 0, plo = 0, phi = 0;
	unsigned long count = 0;
	int priv = 0, tw_set = 0, no_server = 0, have_count = 0, have_lport = 0;
	int have_seconds = 0, no_port = 0, udp_connect = 0, listener = 0, wild = 0;
	double seconds = 1.0;

	if (argc == 2 && !strcmp(argv[1], "bpf-list")) {
		for (int k = 0; k < 3; k++)
			bpf_list_kind(k);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			emit(usage_text, strlen(usage_text));
			return 0;
		} else if ((v = optval(argc, argv, &i, "--private"))) {
			parse_range(v, "--private", &lo, &hi);
			priv = 1;
		} else if ((v = optval(argc, argv, &i, "--tw-reuse"))) {
			tw = (unsigned)parse_num(v, "--tw-reuse", 0, 2);
			tw_set = 1;
		} else if ((v = optval(argc, argv, &i, "--comm-hex"))) {
			size_t n = strlen(v);

			if (n % 2 || n / 2 >= sizeof(combuf) || n == 0)
				usage_err("bad --comm-hex '%s'", v);
			for (size_t k = 0; k < n / 2; k++) {
				int h = hexval(v[2 * k]), l = hexval(v[2 * k + 1]);

				if (h < 0 || l < 0)
					usage_err("bad --comm-hex '%s'", v);
				combuf[k] = (char)(h << 4 | l);
			}
			combuf[n / 2] = 0;
			comm = combuf;
		} else if ((v = optval(argc, argv, &i, "--cgroup-hop"))) {
			hop_dir = v;
		} else if ((v = optval(argc, argv, &i, "--thread-name"))) {
			thread_name = v;
		} else if ((v = optval(argc, argv, &i, "--comm"))) {
			comm = v;
		} else if ((v = optval(argc, argv, &i, "--go"))) {
			go_fifo = v;
		} else if ((v = optval(argc, argv, &i, "--addr"))) {
			addr = v;
		} else if ((v = optval(argc, argv, &i, "--port"))) {
			port = (unsigned)parse_num(v, "--port", 1, 65535);
		} else if ((v = optval(argc, argv, &i, "--reserved-ports"))) {
			reserved = v;
		} else if ((v = optval(argc, argv, &i, "--prohibit-sport"))) {
			parse_range(v, "--prohibit-sport", &plo, &phi);
		} else if (!strcmp(a, "--no-port")) {
			no_port = 1;
		} else if (!strcmp(a, "--listener")) {
			listener = 1;
		} else if (!strcmp(a, "--wild")) {
			wild = 1;
		} else if ((v = optval(argc, argv, &i, "--hold"))) {
			char *end;

			hold_s = strtod(v, &end);
			if (end == v || *end || !(hold_s > 0 && hold_s <= 3600))
				usage_err("bad --hold '%s'", v);
		} else if (!strcmp(a, "--udp-connect")) {
			udp_connect = 1;
		} else if (!strcmp(a, "--no-server")) {
			no_server = 1;
		} else if ((v = optval(argc, argv, &i, "--count"))) {
			count = parse_num(v, "--count", 1, ~0UL);
			have_count = 1;
		} else if ((v = optval(argc, argv, &i, "--lport"))) {
			lport = (unsigned)parse_num(v, "--lport", 1, 65535);
			have_lport = 1;
		} else if ((v = optval(argc, argv, &i, "--bind-port"))) {
			bind_port = (unsigned)parse_num(v, "--bind-port", 1, 65535);
		} else if ((v = optval(argc, argv, &i, "--procs"))) {
			procs = (unsigned)parse_num(v, "--procs", 1, 4096);
		} else if ((v = optval(argc, argv, &i, "--threads"))) {
			threads = (unsigned)parse_num(v, "--threads", 1, 4096);
		} else if ((v = optval(argc, argv, &i, "--seconds"))) {
			char *end;

			seconds = strtod(v, &end);
			if (end == v || *end || !(seconds > 0 && seconds <= 86400))
				usage_err("bad --seconds '%s'", v);
			have_seconds = 1;
		} else if (a[0] == '-') {
			usage_err("unknown option '%s'", a);
		} else if (!mode_name) {
			mode_name = a;
		} else {
			usage_err("unexpected argument '%s'", a);
		}
	}

	if (!mode_name)
		usage_err("no MODE given (exhaust, bound, parallel, once, tfo)");
	if (tw_set && !priv)
		usage_err("--tw-reuse only works with --private");
	if (reserved && !priv)
		usage_err("--reserved-ports only works with --private");
	if (strcmp(mode_name, "exhaust") && strcmp(mode_name, "bound") &&
	    strcmp(mode_name, "parallel") && strcmp(mode_name, "once") &&
	    strcmp(mode_name, "tfo") && strcmp(mode_name, "shortaddr") &&
	    strcmp(mode_name, "bind0") && strcmp(mode_name, "udp") &&
	    strcmp(mode_name, "bindhang") && strcmp(mode_name, "bindport") &&
	    strcmp(mode_name, "bindscope"))
		usage_err("unknown MODE '%s'", mode_name);
	if ((!strcmp(mode_name, "exhaust") || !strcmp(mode_name, "bind0") ||
	     !strcmp(mode_name, "udp") || !strcmp(mode_name, "bindhang") ||
	     !strcmp(mode_name, "bindport") || !strcmp(mode_name, "bindscope")) && !have_count)
		usage_err("%s needs --count N", mode_name);
	if (have_count && strcmp(mode_name, "exhaust") && strcmp(mode_name, "once") &&
	    strcmp(mode_name, "tfo") && strcmp(mode_name, "bind0") && strcmp(mode_name, "udp") &&
	    strcmp(mode_name, "bindhang") && strcmp(mode_name, "bindport") &&
	    strcmp(mode_name, "bindscope"))
		usage_err("--count is for exhaust/once/tfo/bind0/udp/bindhang/bindport/bindscope");
	if (listener && strcmp(mode_name, "bindport"))
		usage_err("--listener is for bindport");
	if (wild && strcmp(mode_name, "bindscope"))
		usage_err("--wild is for bindscope");
	if (hold_s > 0 && strcmp(mode_name, "bindport") && strcmp(mode_name, "bindscope"))
		usage_err("--hold is for bindport/bindscope");
	if (listener && no_server)
		usage_err("--listener needs the built-in listener (no --no-server)");
	if (no_port && strcmp(mode_name, "bind0"))
		usage_err("--no-port is for bind0");
	if (udp_connect && strcmp(mode_name, "udp"))
		usage_err("--udp-connect is for udp");
	if (have_lport && strcmp(mode_name, "bound"))
		usage_err("--lport is for bound");
	if (bind_port && strcmp(mode_name, "once"))
		usage_err("--bind-port is for once");
	if ((procs || threads || have_seconds) && strcmp(mode_name, "parallel"))
		usage_err("--procs/--threads/--seconds are for parallel");
	if (!strcmp(mode_name, "parallel") && !!procs == !!threads)
		usage_err("parallel needs exactly one of --procs N / --threads N");

	parse_addr(addr, port);

	if (comm && prctl(PR_SET_NAME, comm, 0, 0, 0) != 0)
		setup_fail("PR_SET_NAME: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	if (priv)
		private_netns(lo, hi, tw);
	if (reserved) {
		char val[512];

		snprintf(val, sizeof(val), "%s\n", reserved);
		write_sysctl("/proc/sys/net/ipv4/ip_local_reserved_ports", val);
	}
	if (hold_s > 0)
		signal(SIGTERM, on_term);	/* before the listener thread */
	if (plo)
		prohibit_sport(plo, phi);
	lsn_fastopen = !strcmp(mode_name, "tfo");
	if (!strcmp(mode_name, "bindscope") && tgt.family != AF_INET)
		usage_err("bindscope is IPv4 only");
	if (!no_server && strcmp(mode_name, "udp"))
		start_listener();

	if (hop_dir && strcmp(mode_name, "exhaust") && strcmp(mode_name, "once"))
		usage_err("--cgroup-hop is for exhaust/once");
	if (thread_name && strcmp(mode_name, "exhaust") && strcmp(mode_name, "once"))
		usage_err("--thread-name is for exhaust/once");
	if (thread_name) {
		pthread_t th;
		struct named_run r = { thread_name, have_count ? count : 1,
				       !strcmp(mode_name, "once") ? bind_port : 0, 0 };

		if (pthread_create(&th, NULL, named_main, &r) || pthread_join(th, NULL))
			setup_fail("pthread_create failed");
		return r.rc;
	}
	if (!strcmp(mode_name, "exhaust"))
		return run_sequential(count, 0);
	if (!strcmp(mode_name, "once"))
		return run_sequential(have_count ? count : 1, bind_port);
	if (!strcmp(mode_name, "bound"))
		return run_bound(lport);
	if (!strcmp(mode_name, "tfo"))
		return run_tfo(have_count ? count : 1);
	if (!strcmp(mode_name, "shortaddr"))
		return run_shortaddr();
	if (!strcmp(mode_name, "bind0"))
		return run_bind0(count, no_port);
	if (!strcmp(mode_name, "udp"))
		return run_udp(count, udp_connect);
	if (!strcmp(mode_name, "bindhang"))
		return run_bindhang(count);
	if (!strcmp(mode_name, "bindport"))
		return run_bindport(count, listener);
	if (!strcmp(mode_name, "bindscope"))
		return run_bindscope(count, wild);
	return run_parallel(procs, threads, seconds);
}
