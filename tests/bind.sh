# Issue 23: the operations other than a TCP connect() that fail for want of a
# local port, traced with --ops: bind(addr, 0) (EADDRINUSE) and UDP autobind
# (EAGAIN). Each test makes its own netns with the 10-port range of
# integration.sh, judges only its own cgroup's processes (--cgroup) and
# checks events, summary and metrics exactly against its clients' own counts.

# ops_need [udp]: SKIP where the kernel cannot give these hooks (decided
# from the kernel, not from portwatch): the syscall tracepoints in tracefs;
# for UDP autobind also bpf_task_pt_regs (5.15+)
ops_need() {
	local d found=
	for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -r "$d/events/syscalls/sys_exit_bind/id" ] && found=1
	done
	[ -n "$found" ] || skip "no syscall tracepoints in tracefs (CONFIG_FTRACE_SYSCALLS, tracefs mounted)"
	[ "${1:-}" = udp ] || return 0
	local maj min
	IFS=. read -r maj min _ <<<"$(uname -r)"
	[ "$maj" -gt 5 ] || { [ "$maj" -eq 5 ] && [ "$min" -ge 15 ]; } ||
		skip "kernel $(uname -r) has no bpf_task_pt_regs (5.15+)"
}

# op_events OP: the events of the test netns for OP
op_events() { ns_events | jq -c --arg op "$1" 'select(.op == $op)'; }

# summary_op PID OP: the summary's op_failures of OP for PID (0 if none)
summary_op() {
	summary | jq --argjson p "$1" --arg op "$2" \
		'[.processes[] | select(.pid == $p) | .op_failures[$op] // 0] | add // 0'
}

# check_bind_trigger ADDR: trigger's bind0 against ADDR, and the same with
# IP_BIND_ADDRESS_NO_PORT (whose binds take no port: none fails)
check_bind_trigger() {
	local addr=$1 fam pid want
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --ops bind --cgroup "$OWN_CG" -l "127.0.0.1:$METRICS_PORT"
	must in_ns "$TRIGGER" --addr "$addr" --port 18091 bind0 --count 14 > "$T/t"
	must in_ns "$TRIGGER" --addr "$addr" --port 18092 bind0 --no-port --count 13 > "$T/np"
	pid=$(truth '.[0].pid' "$T/t")
	want=$(truth 'map(select(.mode == "bind0/bind") | .errors.EADDRINUSE // 0) | add' "$T/t")
	check_eq "bind failures of the client (the scenario: 14 binds, 10 ports)" 4 "$want"
	check_eq "bind failures with IP_BIND_ADDRESS_NO_PORT (the scenario)" 0 \
		"$(truth 'map(select(.mode == "bind0/bind") | .errors.EADDRINUSE // 0) | add' "$T/np")"
	wait_count "$T/pw.out" '"op":"bind"' "$want" 10
	curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" > "$T/metrics"
	pw_stop
	fam=$(case $addr in *:*) echo inet6 ;; *) echo inet ;; esac)
	op_events bind > "$T/ev"
	check_eq "bind events" "$want" "$(wc -l < "$T/ev")"
	check_eq "bind events of the client's pid, EADDRINUSE, its address, port 0, the range" "$want" \
		"$(jq -c --argjson p "$pid" --arg a "$addr" --arg f "$fam" 'select(.pid == $p and .ret == -98
			and .errno == "EADDRINUSE" and .saddr == $a and .sport == 0 and .family == $f
			and .daddr == null and .port_range == [40000, 40009]
			and .remedy == "bind_address_no_port")' "$T/ev" | wc -l)"
	check_eq "events of the --no-port client" 0 \
		"$(ns_events | jq -c --argjson p "$(truth '.[0].pid' "$T/np")" 'select(.pid == $p and .op != "connect")' | wc -l)"
	check_eq "summary op_failures.bind of the client" "$want" "$(summary_op "$pid" bind)"
	# the client's connects (of the bound sockets) all succeeded: its
	# connect columns count none of the binds
	check_eq "summary connect failures of the client" 0 \
		"$(summary | jq --argjson p "$pid" '[.processes[] | select(.pid == $p) | .failures] | add // 0')"
	check_eq "metric: the client's bind failures, op label" "$want" \
		"$(sed -n "s/^portwatch_process_connect_failures_total{pid=\"$pid\",comm=\"trigger\",errno=\"EADDRINUSE\",op=\"bind\"} //p" "$T/metrics")"
	check_eq "metric: bind failures by comm, op label" "$want" \
		"$(sed -n "s/^portwatch_connect_failures_total{comm=\"trigger\",errno=\"EADDRINUSE\",family=\"$fam\",op=\"bind\"} //p" "$T/metrics")"
}

t_bind0_c_client() { ops_need; check_bind_trigger 127.0.0.1; }
t_bind0_c_client_ipv6() { ops_need; check_bind_trigger ::1; }

# Python's socket.create_connection(..., source_address=(addr, 0)): binds
# before it connects; counts its own errors
t_bind0_python_create_connection() {
	ops_need
	command -v python3 > /dev/null || skip "no python3"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --ops bind --cgroup "$OWN_CG"
	cat > "$T/client.py" <<-'EOF'
	import errno, json, os, socket
	lsn = socket.socket()
	lsn.bind(("127.0.0.1", 18093))
	lsn.listen(128)
	held, errs, ok = [], {}, 0
	for _ in range(16):
	    try:
	        held.append(socket.create_connection(("127.0.0.1", 18093), timeout=5,
	                                             source_address=("127.0.0.1", 0)))
	        ok += 1
	    except OSError as e:
	        name = errno.errorcode.get(e.errno, str(e.errno))
	        errs[name] = errs.get(name, 0) + 1
	print(json.dumps({"pid": os.getpid(), "ok": ok, "errors": errs}))
	EOF
	must in_ns python3 "$T/client.py" > "$T/t"
	local pid want
	pid=$(jq .pid "$T/t")
	want=$(jq '.errors.EADDRINUSE // 0' "$T/t")
	check_eq "python's EADDRINUSE (the scenario: 16 connections, 10 ports)" 6 "$want"
	check_eq "python's other errors" '{"EADDRINUSE":6}' "$(jq -c .errors "$T/t")"
	wait_count "$T/pw.out" '"op":"bind"' "$want" 10
	pw_stop
	check_eq "bind events of python's pid" "$want" \
		"$(op_events bind | jq -c --argjson p "$pid" 'select(.pid == $p and .errno == "EADDRINUSE")' | wc -l)"
	check_eq "bind events" "$want" "$(op_events bind | wc -l)"
	check_eq "summary op_failures.bind of python" "$want" "$(summary_op "$pid" bind)"
}

# ctypes_client: run the Python body on stdin in the test netns, after a
# prelude giving it libc (ctypes: calls Python's socket module lacks) and
# tally(rc), which counts the errno of each failed call; the client's
# {"pid", "ok", "errors"} line goes to $T/t
ctypes_client() {
	{
		cat <<-'EOF'
		import ctypes as C, ctypes.util, errno, json, os, socket
		libc = C.CDLL(ctypes.util.find_library("c"), use_errno=True)
		held, errs, ok = [], {}, 0
		def tally(rc):
		    global ok
		    if rc >= 0:
		        ok += 1
		        return
		    e = C.get_errno()
		    name = errno.errorcode.get(e, str(e))
		    errs[name] = errs.get(name, 0) + 1
		EOF
		cat
		echo 'print(json.dumps({"pid": os.getpid(), "ok": ok, "errors": errs}))'
	} > "$T/client.py"
	must in_ns python3 "$T/client.py" > "$T/t"
}

# bind() of AF_UNSPEC with 0.0.0.0 and port 0 on AF_INET sockets: inet_bind
# takes it as AF_INET (a compatibility rule of every kernel); ctypes calls
# libc's bind() with the raw sockaddr. Counts its own errors.
t_bind0_unspec() {
	ops_need
	command -v python3 > /dev/null || skip "no python3"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --ops bind --cgroup "$OWN_CG"
	ctypes_client <<-'EOF'
	sa = bytes(16)	# family AF_UNSPEC, port 0, 0.0.0.0
	for _ in range(14):
	    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
	    held.append(s)
	    tally(libc.bind(s.fileno(), sa, len(sa)))
	EOF
	local pid want
	pid=$(jq .pid "$T/t")
	want=$(jq '.errors.EADDRINUSE // 0' "$T/t")
	check_eq "AF_UNSPEC binds failing (the scenario: 14 binds, 10 ports)" '{"EADDRINUSE":4}' \
		"$(jq -c .errors "$T/t")"
	wait_count "$T/pw.out" '"op":"bind"' "$want" 10
	pw_stop
	check_eq "bind events of the client, inet, 0.0.0.0, EADDRINUSE" "$want" \
		"$(op_events bind | jq -c --argjson p "$pid" 'select(.pid == $p and .errno == "EADDRINUSE"
			and .family == "inet" and .saddr == "0.0.0.0")' | wc -l)"
	check_eq "bind events" "$want" "$(op_events bind | wc -l)"
	check_eq "summary op_failures.bind of the client" "$want" "$(summary_op "$pid" bind)"
}

# curl --interface ADDR sets IP_BIND_ADDRESS_NO_PORT: its bind takes no
# port, so exhaustion fails its connect (EADDRNOTAVAIL), never its bind
t_bind_curl_interface_immune() {
	ops_need
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	pw_start -j --ops bind --cgroup "$OWN_CG"
	local i rc n7=0 nother=0
	for i in $(seq 14); do
		in_ns curl -s -o /dev/null --interface 127.0.0.1 http://127.0.0.1:8080/
		rc=$?
		case $rc in 0) ;; 7) n7=$((n7 + 1)) ;; *) nother=$((nother + 1)) ;; esac
	done
	check_eq "curl runs that could not connect (the scenario)" 4 "$n7"
	check_eq "curl runs with another error" 0 "$nother"
	wait_count "$T/pw.out" '"errno":"EADDRNOTAVAIL"' "$n7" 10
	pw_stop
	check_eq "bind events" 0 "$(op_events bind | wc -l)"
	check_eq "connect events, EADDRNOTAVAIL, of curl" "$n7" \
		"$(op_events connect | jq -c 'select(.comm == "curl" and .ret == -99)' | wc -l)"
}

# UDP sockets autobinding until the range is taken: sendto() and connect()
# of an unbound socket fail with EAGAIN
t_udp_autobind() {
	ops_need udp
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --ops udp --cgroup "$OWN_CG"
	must in_ns "$TRIGGER" --port 18094 udp --count 13 > "$T/s"
	must in_ns "$TRIGGER" --port 18094 udp --udp-connect --count 12 > "$T/c"
	local ps pc ws wc
	ps=$(truth '.[0].pid' "$T/s")
	pc=$(truth '.[0].pid' "$T/c")
	ws=$(truth_sum '.errors.EAGAIN // 0' "$T/s")
	wc=$(truth_sum '.errors.EAGAIN // 0' "$T/c")
	check_eq "sendto EAGAIN (the scenario)" 3 "$ws"
	check_eq "connect EAGAIN (the scenario)" 2 "$wc"
	wait_count "$T/pw.out" '"op":"udp_' $((ws + wc)) 10
	pw_stop
	check_eq "udp_send events of the sendto client, EAGAIN, unbound" "$ws" \
		"$(op_events udp_send | jq -c --argjson p "$ps" 'select(.pid == $p and .ret == -11 and .sport == 0)' | wc -l)"
	check_eq "udp_connect events of the connect client, EAGAIN" "$wc" \
		"$(op_events udp_connect | jq -c --argjson p "$pc" 'select(.pid == $p and .ret == -11)' | wc -l)"
	check_eq "other events" 0 "$(ns_events | jq -c 'select(.op != "udp_send" and .op != "udp_connect")' | wc -l)"
	check_eq "summary op_failures.udp_send" "$ws" "$(summary_op "$ps" udp_send)"
	check_eq "summary op_failures.udp_connect" "$wc" "$(summary_op "$pc" udp_connect)"
}

# sendmmsg() of unbound UDP sockets until the range is taken: the first
# message's autobind fails, so the call fails with EAGAIN; ctypes calls
# libc's sendmmsg(). Counts its own errors.
t_udp_autobind_sendmmsg() {
	ops_need udp
	command -v python3 > /dev/null || skip "no python3"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --ops udp --cgroup "$OWN_CG"
	ctypes_client <<-'EOF'
	class iovec(C.Structure):
	    _fields_ = [("base", C.c_void_p), ("len", C.c_size_t)]
	class msghdr(C.Structure):
	    _fields_ = [("name", C.c_void_p), ("namelen", C.c_uint), ("iov", C.c_void_p),
	                ("iovlen", C.c_size_t), ("control", C.c_void_p),
	                ("controllen", C.c_size_t), ("flags", C.c_int)]
	class mmsghdr(C.Structure):
	    _fields_ = [("hdr", msghdr), ("len", C.c_uint)]
	dst = C.create_string_buffer(socket.AF_INET.to_bytes(2, "little") +
	                             (18097).to_bytes(2, "big") + socket.inet_aton("127.0.0.1") + bytes(8), 16)
	data = C.create_string_buffer(b"x", 1)
	iov = iovec(C.cast(data, C.c_void_p), 1)
	for _ in range(13):
	    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	    held.append(s)
	    m = (mmsghdr * 2)()
	    for i in range(2):
	        m[i].hdr = msghdr(C.cast(dst, C.c_void_p), 16, C.cast(C.pointer(iov), C.c_void_p), 1, None, 0, 0)
	    tally(libc.sendmmsg(s.fileno(), m, 2, 0))
	EOF
	local pid want
	pid=$(jq .pid "$T/t")
	want=$(jq '.errors.EAGAIN // 0' "$T/t")
	check_eq "sendmmsg errors (the scenario: 13 sockets, 10 ports)" '{"EAGAIN":3}' \
		"$(jq -c .errors "$T/t")"
	wait_count "$T/pw.out" '"op":"udp_send"' "$want" 10
	pw_stop
	check_eq "udp_send events of the client, EAGAIN, unbound" "$want" \
		"$(op_events udp_send | jq -c --argjson p "$pid" 'select(.pid == $p and .ret == -11 and .sport == 0)' | wc -l)"
	check_eq "other events" 0 "$(ns_events | jq -c 'select(.op != "udp_send")' | wc -l)"
	check_eq "summary op_failures.udp_send" "$want" "$(summary_op "$pid" udp_send)"
}

# Without --ops nothing but connect() is traced (the syscall tracepoints stay
# off), and --ops with --dport is refused
t_ops_off_by_default() {
	ops_need
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --cgroup "$OWN_CG"
	must in_ns "$TRIGGER" --port 18095 bind0 --count 12 > "$T/t"
	must in_ns "$TRIGGER" --port 18095 udp --count 12 > "$T/u"
	check_eq "bind failures (the scenario)" 2 "$(truth_sum '.errors.EADDRINUSE // 0' "$T/t")"
	pw_stop
	check_eq "events" 0 "$(ns_events | wc -l)"
	"$PW" --ops bind -P 80 -d 1 > /dev/null 2> "$T/err"
	check_eq "--ops bind -P 80: exit code" 2 $?
	check_eq "--ops bind -P 80: what is wrong, first on stderr" \
		"portwatch: --ops bind/udp cannot be filtered by --dport (a bind has no destination)" \
		"$(head -n 1 "$T/err")"
	"$PW" --ops bindx -d 1 > /dev/null 2> "$T/err2"
	check_eq "--ops bindx: exit code" 2 $?
}

# bind_port_holder [ARGS...]: start the holder (a Python body on stdin, run
# in the test netns in the background with $T/done and ARGS as its
# arguments: it prints its record line to $T/h, then waits for $T/done,
# 120 s at most), wait for its record
bind_port_holder() {
	cat > "$T/holder.py"
	ip netns exec "$NS" python3 "$T/holder.py" "$T/done" "$@" > "$T/h" &
	defer "touch $T/done; kill $! 2>/dev/null; wait $!"
	wait_for "$T/h" '"pid"' 20 || exit 1
}

# ephemeral_holder PORT: a process of $NS holding one port of the range by
# a connection to its own listener on 127.0.0.1:PORT, until the test ends;
# its {"pid", "port"} line in $T/h
ephemeral_holder() {
	bind_port_holder "$1" <<-'EOF2'
	import json, os, socket, sys, time
	lsn = socket.socket()
	lsn.bind(("127.0.0.1", int(sys.argv[2])))
	lsn.listen(8)
	c = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5)
	a, _ = lsn.accept()
	print(json.dumps({"pid": os.getpid(), "port": c.getsockname()[1]}), flush=True)
	end = time.time() + 120
	while not os.path.exists(sys.argv[1]) and time.time() < end:
	    time.sleep(0.05)
	EOF2
}

# bind_port_server ADDR PORT N: a server trying N times to bind(ADDR,
# PORT) with no SO_REUSEADDR (a fresh socket each time); its
# {"pid", "ok", "errors"} line in $T/s
bind_port_server() {
	cat > "$T/server.py" <<-'EOF2'
	import errno, json, os, socket, sys, time
	addr, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
	errs, ok, held, span = {}, 0, [], [0, 0]
	for _ in range(n):
	    s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
	    t0 = time.monotonic_ns()
	    try:
	        s.bind((addr, port))
	        ok += 1
	        held.append(s)
	    except OSError as e:
	        # CLOCK_MONOTONIC (the kernel's event time): before the first
	        # failing bind, after the last
	        span = [span[0] if span[1] else t0, time.monotonic_ns()]
	        name = errno.errorcode.get(e.errno, str(e.errno))
	        errs[name] = errs.get(name, 0) + 1
	        s.close()
	print(json.dumps({"pid": os.getpid(), "ok": ok, "errors": errs,
	                  "fail_span_ns": span[1] - span[0]}))
	EOF2
	must in_ns python3 "$T/server.py" "$1" "$2" "$3" > "$T/s"
}

# Issue 23 item 2: a listener's fixed port taken by an outbound connection
# that drew it from the ephemeral range. The holder (a Python client, its
# pid and port as it recorded them) connects from an ephemeral port P; a
# server then binds 127.0.0.1:P three times (EADDRINUSE each). portwatch
# streams three bind_port events, and one port_holder diagnosis (one per
# port within 5 s: the other two are counted on stderr) naming the holder's
# pid, its destination and state, and the exact ip_local_reserved_ports
# value (the netns's list, here 18000-18002 and 40009, plus P), which the
# test then applies and reads back from the kernel.
t_bind_port_ephemeral_holder() {
	ops_need
	command -v python3 > /dev/null || skip "no python3"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	must in_ns sysctl -qw net.ipv4.ip_local_reserved_ports=18000-18002,40009
	pw_start -j --ops bind --cgroup "$OWN_CG"
	ephemeral_holder 18096
	local hpid port spid want expect
	hpid=$(jq .pid "$T/h")
	port=$(jq .port "$T/h")
	check_eq "the holder's port is in the range (the scenario)" 1 \
		"$(( port >= RANGE_LO && port <= RANGE_HI && port != 40009 ))"
	bind_port_server 127.0.0.1 "$port" 3
	spid=$(jq .pid "$T/s")
	want=$(jq '.errors.EADDRINUSE // 0' "$T/s")
	check_eq "the server's binds (the scenario)" '{"EADDRINUSE":3}' "$(jq -c .errors "$T/s")"
	wait_for "$T/pw.out" '"type":"port_holder"' 20
	wait_count "$T/pw.out" '"op":"bind_port"' "$want" 10
	pw_stop
	check_eq "bind_port events of the server: its pid, 127.0.0.1:P, EADDRINUSE, port_in_use" "$want" \
		"$(op_events bind_port | jq -c --argjson p "$spid" --argjson port "$port" 'select(.pid == $p
			and .saddr == "127.0.0.1" and .sport == $port and .errno == "EADDRINUSE"
			and .cause == "port_in_use" and .family == "inet")' | wc -l)"
	check_eq "other events" 0 "$(ns_events | jq -c 'select(.op != "bind_port")' | wc -l)"
	check_eq "summary op_failures.bind_port of the server" "$want" "$(summary_op "$spid" bind_port)"
	jq -c 'select(.type == "port_holder")' "$T/pw.out" > "$T/ph"
	check_eq "port_holder diagnoses (one per port within 5 s)" 1 "$(wc -l < "$T/ph")"
	expect=$(python3 -c '
import sys
ports = sorted({18000, 18001, 18002, 40009, int(sys.argv[1])})
out, i = [], 0
while i < len(ports):
    j = i
    while j + 1 < len(ports) and ports[j + 1] == ports[j] + 1:
        j += 1
    out.append(str(ports[i]) if i == j else "%d-%d" % (ports[i], ports[j]))
    i = j + 1
print(",".join(out))' "$port")
	check_eq "the diagnosis: the server, P, ephemeral, the holder's pid, destination, state, cgroup, the value" \
		"1" "$(jq -c --argjson p "$spid" --argjson port "$port" --argjson h "$hpid" \
			--arg v "$expect" --arg cg "$PW_TEST_CG_REL/sh" --argjson cgid "$(stat -c %i "$OWN_CG/sh")" \
			--argjson ns "$NS_INO" 'select(.pid == $p
			and .netns == $ns and .proto == "tcp" and .saddr == "127.0.0.1" and .sport == $port
			and .verdict == "ephemeral" and .port_range == [40000, 40009] and .sockets == 1
			and .holder.pid == $h and .holder.comm == "python3" and .holder.state == "ESTABLISHED"
			and .holder.saddr == "127.0.0.1" and .holder.sport == $port
			and .holder.daddr == "127.0.0.1" and .holder.dport == 18096
			and .holder.cgroup == $cg and .holder.cgroup_id == $cgid
			and .remedy == "ip_local_reserved_ports" and .reserved_ports == $v
			and .error == null)' "$T/ph" | wc -l)"
	check_eq "stderr: the two lookups the rate limit skipped" 1 \
		"$(grep -cxF 'portwatch: 2 bind diagnoses not taken (2: the same port or address within 5 s, 0: too many of them, 0: over 32 a second or 4 for port 0)' "$T/pw.err")"
	# the value applies as it is, and the kernel reads back the same list
	must in_ns sysctl -qw net.ipv4.ip_local_reserved_ports="$(jq -r .reserved_ports "$T/ph")"
	check_eq "the kernel's ip_local_reserved_ports after the remedy" "$expect" \
		"$(in_ns cat /proc/sys/net/ipv4/ip_local_reserved_ports)"
}

# check_bind_port_listener LADDR: a listener on (LADDR, 40005), a port
# inside the range; a server's bind(127.0.0.1, 40005) is refused. A port
# taken by another listener is told apart: no range blame, no
# reserved_ports remedy. Text mode: the diagnosis line follows the event.
check_bind_port_listener() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start --ops bind --cgroup "$OWN_CG"
	bind_port_holder "$1" <<-'EOF2'
	import json, os, socket, sys, time
	lsn = socket.socket(socket.AF_INET6 if ":" in sys.argv[2] else socket.AF_INET)
	if ":" in sys.argv[2]:
	    lsn.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)	# dual-stack
	lsn.bind((sys.argv[2], 40005))
	lsn.listen(8)
	print(json.dumps({"pid": os.getpid(), "port": lsn.getsockname()[1]}), flush=True)
	end = time.time() + 120
	while not os.path.exists(sys.argv[1]) and time.time() < end:
	    time.sleep(0.05)
	EOF2
	local hpid spid
	hpid=$(jq .pid "$T/h")
	bind_port_server 127.0.0.1 40005 1
	spid=$(jq .pid "$T/s")
	check_eq "the server's binds (the scenario)" '{"EADDRINUSE":1}' "$(jq -c .errors "$T/s")"
	wait_for "$T/pw.out" '^  -> bind_port ' 20
	pw_stop
	check_eq "the event line: the server's pid, bind_port 127.0.0.1:40005, port_in_use" 1 \
		"$(grep -cE "^[0-9:.]+ +$spid +python3 .*bind_port 127\.0\.0\.1:40005 .*EADDRINUSE .*port_in_use" "$T/pw.out")"
	check_eq "the diagnosis: a listener, the holder's pid, LISTEN, no remedy" 1 \
		"$(grep -cE "^  -> bind_port 127\.0\.0\.1:40005 \(tcp\): port taken by a listener, pid $hpid \(python3\) \[[^]]*\] LISTEN$" "$T/pw.out")"
	check_eq "no range blame, no reserved_ports remedy" 0 \
		"$(grep -cE 'ephemeral|reserved_ports' "$T/pw.out")"
}

t_bind_port_listener() {
	ops_need
	command -v python3 > /dev/null || skip "no python3"
	check_bind_port_listener 0.0.0.0
}

# The same with a dual-stack IPv6 listener on [::]:40005 (IPV6_V6ONLY
# off): it takes the port for IPv4 too, and is found among the inet6 sockets
t_bind_port_listener_dual_stack() {
	ops_need
	command -v python3 > /dev/null || skip "no python3"
	[ -e /proc/sys/net/ipv6 ] || skip "no IPv6 in this kernel"
	check_bind_port_listener ::
}

# An IPV6_V6ONLY listener on [::]:40005 holds the port for IPv6 alone: the
# holder binds 127.0.0.1:40005 after it (the kernel's own answer: no
# conflict) and listens there too. The server's bind(127.0.0.1, 40005) is
# refused by that IPv4 listener only: the diagnosis counts one socket on
# the port and names the IPv4 one (sock_diag's INET_DIAG_SKV6ONLY), not the
# v6-only [::] (before, both counted and either could be named).
t_bind_port_listener_v6only() {
	ops_need
	command -v python3 > /dev/null || skip "no python3"
	[ -e /proc/sys/net/ipv6 ] || skip "no IPv6 in this kernel"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --ops bind --cgroup "$OWN_CG"
	bind_port_holder <<-'EOF2'
	import json, os, socket, sys, time
	v6 = socket.socket(socket.AF_INET6)
	v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
	v6.bind(("::", 40005))
	v6.listen(8)
	v4 = socket.socket(socket.AF_INET)
	v4.bind(("127.0.0.1", 40005))	# succeeds: [::] is v6-only
	v4.listen(8)
	print(json.dumps({"pid": os.getpid(), "v6only": v6.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY)}), flush=True)
	end = time.time() + 120
	while not os.path.exists(sys.argv[1]) and time.time() < end:
	    time.sleep(0.05)
	EOF2
	local hpid spid
	hpid=$(jq .pid "$T/h")
	check_eq "the holder's [::] is v6-only and its IPv4 bind of the port succeeded (the scenario)" 1 "$(jq .v6only "$T/h")"
	check_eq "listeners on port 40005 in the netns, [::] and 127.0.0.1 (ss)" "2" \
		"$(in_ns ss -Htln 'sport = :40005' | wc -l)"
	bind_port_server 127.0.0.1 40005 1
	spid=$(jq .pid "$T/s")
	check_eq "the server's binds (the scenario)" '{"EADDRINUSE":1}' "$(jq -c .errors "$T/s")"
	wait_for "$T/pw.out" '"type":"port_holder"' 20
	pw_stop
	jq -c 'select(.type == "port_holder")' "$T/pw.out" > "$T/ph"
	check_eq "port_holder diagnoses" 1 "$(wc -l < "$T/ph")"
	check_eq "the diagnosis: one socket on the port, the IPv4 listener of the holder" 1 \
		"$(jq -c --argjson p "$spid" --argjson h "$hpid" 'select(.pid == $p and .sport == 40005
			and .sockets == 1 and .holder.pid == $h and .holder.state == "LISTEN"
			and .holder.saddr == "127.0.0.1" and .holder.sport == 40005)' "$T/ph" | wc -l)"
}

# check_bind_scope HOLD TRIES: issue 23 item 1's classification. A client
# holds the whole 10-port range with 10 binds of (HOLD, 0), then tries
# bind(ADDR, 0) for each ADDR of TRIES (comma-separated), keeping every
# socket until the test ends; its own record: per address, binds ok and
# failed. Each failing address gets one bind_ports diagnosis (5 s per
# address); results in $T/h, the diagnoses in $T/bp.
check_bind_scope() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --ops bind --cgroup "$OWN_CG"
	bind_port_holder "$1" "$2" <<-'EOF2'
	import errno, json, os, socket, sys, time
	res, held = {}, []
	def bind(a):
	    r = res.setdefault(a, {"ok": 0, "errors": {}})
	    s = socket.socket()
	    try:
	        s.bind((a, 0))
	        r["ok"] += 1
	        held.append(s)
	    except OSError as e:
	        name = errno.errorcode.get(e.errno, str(e.errno))
	        r["errors"][name] = r["errors"].get(name, 0) + 1
	for _ in range(10):
	    bind(sys.argv[2])
	for a in sys.argv[3].split(","):
	    bind(a)
	print(json.dumps({"pid": os.getpid(), "res": res}), flush=True)
	end = time.time() + 120
	while not os.path.exists(sys.argv[1]) and time.time() < end:
	    time.sleep(0.05)
	EOF2
	local pid fails addrs
	pid=$(jq .pid "$T/h")
	fails=$(jq '[.res[].errors.EADDRINUSE // 0] | add' "$T/h")
	addrs=$(jq '[.res[] | select(.errors.EADDRINUSE)] | length' "$T/h")
	check_eq "the holder's binds of $1 (the scenario: 10 ports)" 10 "$(jq --arg a "$1" '.res[$a].ok' "$T/h")"
	wait_count "$T/pw.out" '"type":"bind_ports"' "$addrs" 20
	wait_count "$T/pw.out" '"op":"bind"' "$fails" 10
	touch "$T/done"
	pw_stop
	check_eq "bind events of the client" "$fails" \
		"$(op_events bind | jq -c --argjson p "$pid" 'select(.pid == $p and .errno == "EADDRINUSE")' | wc -l)"
	check_eq "summary op_failures.bind of the client" "$fails" "$(summary_op "$pid" bind)"
	jq -c 'select(.type == "bind_ports")' "$T/pw.out" > "$T/bp"
	check_eq "bind_ports diagnoses: one per failing address" "$addrs" "$(wc -l < "$T/bp")"
	check_eq "stderr: the failures the rate limit left undiagnosed" 1 \
		"$(grep -cxF "portwatch: $((fails - addrs)) bind diagnoses not taken ($((fails - addrs)): the same port or address within 5 s, 0: too many of them, 0: over 32 a second or 4 for port 0)" "$T/pw.err")"
}

# bind_scope_of ADDR: the diagnosis of ADDR as "verdict range_size
# ports_taken ports_taken_all", checked to be the client's, in the netns
bind_scope_of() {
	jq -r --arg a "$1" --argjson p "$(jq .pid "$T/h")" --argjson ns "$NS_INO" \
		'select(.saddr == $a and .pid == $p and .netns == $ns and .proto == "tcp"
		and .port_range == [40000, 40009] and .error == null)
		| "\(.verdict) \(.range_size) \(.ports_taken) \(.ports_taken_all)"' "$T/bp"
}

# The range taken for one address only: 127.0.0.1's binds fail, and the
# client's own bind of 127.0.0.2 then gets a port (so other addresses have
# some): address_ports_taken, no wildcard socket
t_bind0_scope_address() {
	ops_need
	command -v python3 > /dev/null || skip "no python3"
	check_bind_scope 127.0.0.1 127.0.0.1,127.0.0.1,127.0.0.2
	check_eq "the client's binds of 127.0.0.1 after (the scenario)" '{"ok":10,"errors":{"EADDRINUSE":2}}' \
		"$(jq -c '.res["127.0.0.1"]' "$T/h")"
	check_eq "the client's bind of 127.0.0.2 (another address has ports)" '{"ok":1,"errors":{}}' \
		"$(jq -c '.res["127.0.0.2"]' "$T/h")"
	check_eq "127.0.0.1: every port taken for that address, none for all" \
		"address_ports_taken 10 10 0" "$(bind_scope_of 127.0.0.1)"
}

# The range taken by wildcard sockets: binds of every address fail
# (127.0.0.1 and 127.0.0.2, the client's own record): range_exhausted
t_bind0_scope_range() {
	ops_need
	command -v python3 > /dev/null || skip "no python3"
	check_bind_scope 0.0.0.0 127.0.0.1,127.0.0.1,127.0.0.2
	check_eq "the client's binds of 127.0.0.1 and 127.0.0.2 (the scenario)" \
		'{"ok":0,"errors":{"EADDRINUSE":2}} {"ok":0,"errors":{"EADDRINUSE":1}}' \
		"$(jq -c '.res["127.0.0.1"], .res["127.0.0.2"]' "$T/h" | tr '\n' ' ' | sed 's/ $//')"
	check_eq "127.0.0.1: the range exhausted for every address" \
		"range_exhausted 10 10 10" "$(bind_scope_of 127.0.0.1)"
	check_eq "127.0.0.2: the range exhausted for every address" \
		"range_exhausted 10 10 10" "$(bind_scope_of 127.0.0.2)"
}

# The per-thread record of binds under way (bind_calls, lowered to 4
# entries: PORTWATCH_TEST_BIND_CALLS) keeps only binds the filters keep:
# with --cgroup, another cgroup's binds take none of it, and a full one
# refuses binds of the judged cgroup in their own counter and stderr line,
# not the connects'. trigger bindhang holds each bind inside the syscall
# (after its entry, before its exit) until released, so the map's entries
# are looked at while the binds are under way: 4 binds of the test's own
# cgroup (not judged) first, then 6 of the judged one, each refused
# (EADDRINUSE: the trigger's listener holds the port).
# hang_wait NAME: until trigger bindhang (output $T/NAME, exit code to
# $T/NAME.rc) says its binds wait; SKIP if it found no userfaultfd (77)
hang_wait() {
	local end=$((SECONDS + $(waited 20)))
	until grep -q '"type":"waiting"' "$T/$1"; do
		if [ -s "$T/$1.rc" ]; then
			[ "$(cat "$T/$1.rc")" = 77 ] && skip "no userfaultfd here: $(cat "$T/$1.err")"
			fail "setup: trigger bindhang exited $(cat "$T/$1.rc"): $(cat "$T/$1.err")"
			exit 1
		fi
		[ $SECONDS -ge $end ] && { fail "setup: trigger bindhang not waiting after $(waited 20) s"; exit 1; }
		sleep 0.02
	done
	# (not once it has exited: its pid may be another's by then)
	defer "[ -s '$T/$1.rc' ] || kill $(jq -r 'select(.type == "waiting") | .pid' "$T/$1")"
}

t_ops_bind_calls_filtered() {
	ops_need
	command -v bpftool >/dev/null || skip "bpftool not installed (the map's entries are read with it)"
	own_cgroup
	local cg=$OWN_CG/judged in out
	mkdir "$cg" || { fail "setup: mkdir $cg"; exit 1; }
	defer "rmdir '$cg'"
	mk_netns $RANGE_LO $RANGE_HI
	mkfifo "$T/go.out" "$T/go.in"
	PORTWATCH_TEST_BIND_CALLS=4 pw_start -j --ops bind --cgroup="$cg"
	check_eq "bind_calls entries/max_entries, before the binds" 0/4 "$(abuse_map_entries bind_calls)"
	{ in_ns "$TRIGGER" --go "$T/go.out" --port 18136 bindhang --count 4 > "$T/out" 2> "$T/out.err"
	  echo $? > "$T/out.rc"; } &
	out=$!
	hang_wait out
	check_eq "bind_calls, 4 binds of another cgroup under way" 0/4 "$(abuse_map_entries bind_calls)"
	{ sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$cg" "$NS" \
		"$TRIGGER" --go "$T/go.in" --port 18137 bindhang --count 6 > "$T/in" 2> "$T/in.err"
	  echo $? > "$T/in.rc"; } &
	in=$!
	hang_wait in
	check_eq "bind_calls, and 6 binds of the judged cgroup under way" 4/4 "$(abuse_map_entries bind_calls)"
	# open and close: each trigger releases its binds (bounded: a trigger
	# that died after "waiting" has no reader on its fifo)
	timeout "$(waited 20)" sh -c ': > "$0"' "$T/go.out"
	timeout "$(waited 20)" sh -c ': > "$0"' "$T/go.in"
	wait "$out" "$in"
	check_eq "triggers' exit codes" "0 0" "$(cat "$T/out.rc") $(cat "$T/in.rc")"
	wait_count "$T/pw.out" '"op":"bind_port"' 4 10
	check_eq "bind_calls after the binds" 0/4 "$(abuse_map_entries bind_calls)"
	pw_stop
	local pin pout
	pin=$(truth '.[0].pid' "$T/in")
	pout=$(truth '.[0].pid' "$T/out")
	check_eq "binds refused, judged and other (the scenario)" "6 4" \
		"$(truth_sum '.errors.EADDRINUSE' "$T/in") $(truth_sum '.errors.EADDRINUSE' "$T/out")"
	# 4 traced (the map's room), 2 refused by the full map: untraced
	check_eq "bind_port events of the judged trigger" 4 \
		"$(ns_events | jq -c --argjson p "$pin" 'select(.pid == $p and .op == "bind_port")' | wc -l)"
	check_eq "summary op_failures.bind_port of the judged trigger" 4 "$(summary_op "$pin" bind_port)"
	check_eq "events and rows of the other cgroup's trigger" "0 0" \
		"$(ns_events | jq -c --argjson p "$pout" 'select(.pid == $p)' | wc -l) $(summary | jq --argjson p "$pout" '[.processes[] | select(.pid == $p)] | length')"
	check_eq "summary: untraced = the binds the full map refused" 2 "$(summary | jq .untraced)"
	check_eq "stderr at exit: the binds line" 1 \
		"$(grep -cFx "portwatch: 2 binds not traced: per-thread bind map full" "$T/pw.err")"
	check_eq "stderr at exit: no connects line" 0 "$(grep -c 'connects not traced' "$T/pw.err")"
}
