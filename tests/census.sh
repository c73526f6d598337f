# Integration tests of `portwatch --census` (sourced by tests/run.sh after
# tests/lib.sh). Each test builds its own netns with the range 40000-40009
# and checks the census exactly against the sockets it made there.

# census_httpd PORT: the keep-alive test server on 127.0.0.1:PORT in $NS.
census_httpd() {
	# not through in_ns: a function in the background is a subshell, and $!
	# would be that shell, not the server (the kill below missed it)
	ip netns exec "$NS" "$HTTPD" 127.0.0.1 "$1" > "$T/httpd.$1" 2>&1 &
	defer "kill $!; wait $!"
	wait_for "$T/httpd.$1" '^ready' 5 || exit 1
}

# The scenario: tcp_tw_reuse=$1 (default 0), port 40008 reserved, a listener
# owning 40005, 5 connections to :18100 closed by the client (TIME_WAIT),
# 3 held open to :18101 by one bash (pid in HOLDER_PID).
census_scenario() {
	mk_netns 40000 40009
	must in_ns sysctl -qw net.ipv4.ip_local_reserved_ports=40008 net.ipv4.tcp_tw_reuse="${1:-0}"
	census_httpd 18101
	census_httpd 40005
	# trigger's own listener on :18100 closes only after our FIN, so the
	# client ends each connection and keeps the port in TIME_WAIT
	must in_ns "$TRIGGER" --port 18100 exhaust --count 5 > "$T/trigger.out"
	check_eq "setup: trigger connections" 5 \
		"$(jq -s '[.[] | select(.type == "record")][0].ok' "$T/trigger.out")"
	mkfifo "$T/hold"
	# bash opens the sockets itself and blocks in open() of the fifo: no
	# child inherits them, so it is their only holder
	in_ns bash -c "echo \$\$ > '$T/holder.pid'
		exec 5<>/dev/tcp/127.0.0.1/18101 6<>/dev/tcp/127.0.0.1/18101 7<>/dev/tcp/127.0.0.1/18101
		echo ready > '$T/holder.ready'
		read -r _ < '$T/hold'" &
	defer "kill \$(cat '$T/holder.pid'); wait $!"
	wait_for "$T/holder.ready" '^ready' 5 || exit 1
	HOLDER_PID=$(cat "$T/holder.pid")
}

# census ARGS...: portwatch --census ARGS, stdout in $T/census.out, exit code
# in CENSUS_RC.
census() {
	"$PW" --census "$@" > "$T/census.out" 2> "$T/census.err"
	CENSUS_RC=$?
}

# On a failed check, the census output goes to the test's log.
census_show_on_fail() {
	[ "$_failed" = 0 ] || sed 's/^/      census: /' "$T/census.out" "$T/census.err"
}

census_dest() {
	jq -c --argjson p "$1" 'select(.type == "census" and .dport == $p)' "$T/census.out"
}

t_census_counts_json() {
	census_scenario
	census --netns="/run/netns/$NS" -j
	check_eq "exit code" 0 "$CENSUS_RC"
	check_eq "destinations" 2 "$(jq -c 'select(.type == "census")' "$T/census.out" | wc -l)"
	check_eq "first (most pressure) dport" 18100 \
		"$(jq -s '[.[] | select(.type == "census")][0].dport' "$T/census.out")"
	check_eq "all in the test netns, range 10 - 1 reserved - 1 bind-owned" \
		"[$NS_INO,8]" "$(jq -c -s '[.[] | select(.type == "census") | [.netns, .range_size]] | unique | .[0]' "$T/census.out")"

	local tw est
	tw=$(census_dest 18100)
	check_eq ":18100 daddr" '"127.0.0.1"' "$(jq .daddr <<<"$tw")"
	check_eq ":18100 held" 5 "$(jq .held <<<"$tw")"
	check_eq ":18100 states" '{"TIME_WAIT":5}' "$(jq -c .states <<<"$tw")"
	check_eq ":18100 usage" 0.625 "$(jq .usage <<<"$tw")"
	check_eq ":18100 reusable_time_wait (tw_reuse=0)" 0 "$(jq .reusable_time_wait <<<"$tw")"
	check_eq ":18100 holders (TIME_WAIT has none)" '[]' "$(jq -c .holders <<<"$tw")"

	est=$(census_dest 18101)
	check_eq ":18101 held" 3 "$(jq .held <<<"$est")"
	check_eq ":18101 states" '{"ESTABLISHED":3}' "$(jq -c .states <<<"$est")"
	check_eq ":18101 usage" 0.375 "$(jq .usage <<<"$est")"
	check_eq ":18101 holders" "[{\"pid\":$HOLDER_PID,\"comm\":\"bash\",\"sockets\":3}]" \
		"$(jq -c .holders <<<"$est")"
	census_show_on_fail
}

t_census_counts_text() {
	census_scenario
	census --netns="/run/netns/$NS"
	check_eq "exit code" 0 "$CENSUS_RC"
	check_eq "netns header" 1 "$(grep -cxF "netns $NS_INO: ip_local_port_range 40000-40009 (8 usable: 1 reserved, 1 owned by bind/listeners), tcp_tw_reuse 0, 13 sockets" "$T/census.out")"
	check_eq "table header" 1 "$(grep -cE '^DEST +HELD +USAGE +ESTAB +SYN_SENT +TIME_WAIT +FIN_WAIT +CLOSE_WAIT +OTHER +REUSABLE_TW +HOLDERS$' "$T/census.out")"
	check_eq ":18100 row" 1 "$(grep -cE '^127\.0\.0\.1:18100 +5 +62\.5% +0 +0 +5 +0 +0 +0 +0 +-$' "$T/census.out")"
	check_eq ":18101 row" 1 "$(grep -cE "^127\.0\.0\.1:18101 +3 +37\.5% +3 +0 +0 +0 +0 +0 +0 +$HOLDER_PID/bash x3\$" "$T/census.out")"
	check_eq "rows by pressure" "18100 18101" \
		"$(grep -oE '^127\.0\.0\.1:[0-9]+' "$T/census.out" | cut -d: -f2 | xargs)"
	census_show_on_fail
}

# With tcp_tw_reuse=1 every TIME_WAIT older than 1 s can be taken over.
t_census_reusable_time_wait() {
	census_scenario 1
	sleep 1.2
	census --netns="/run/netns/$NS" -j
	check_eq "exit code" 0 "$CENSUS_RC"
	check_eq ":18100 reusable_time_wait (tw_reuse=1, > 1 s old)" 5 \
		"$(census_dest 18100 | jq .reusable_time_wait)"
	check_eq ":18101 reusable_time_wait" 0 "$(census_dest 18101 | jq .reusable_time_wait)"
}

# --netns=PID: the netns of that process.
t_census_netns_pid() {
	census_scenario
	census --netns="$HOLDER_PID" -j
	check_eq "exit code" 0 "$CENSUS_RC"
	check_eq "destinations in the holder's netns" "$NS_INO $NS_INO" \
		"$(jq -r 'select(.type == "census") | .netns' "$T/census.out" | xargs)"
}

# Without --netns every netns with TCP sockets is counted, the test's too.
t_census_all_netns() {
	census_scenario
	census -j
	check_eq "exit code" 0 "$CENSUS_RC"
	check_eq "the test netns's destinations" "18100 18101" \
		"$(jq -r --argjson ns "$NS_INO" 'select(.type == "census" and .netns == $ns) | .dport' "$T/census.out" | xargs)"
}

t_census_empty_netns() {
	mk_netns 40000 40009
	census --netns="/run/netns/$NS"
	check_eq "exit code" 0 "$CENSUS_RC"
	check_eq "says so" 1 "$(grep -cxF "netns $NS_INO: no connecting TCP sockets" "$T/census.out")"
	census --netns="/run/netns/$NS" -j
	check_eq "exit code (-j)" 0 "$CENSUS_RC"
	check_eq "no census objects (-j)" 0 "$(jq -c 'select(.type == "census")' "$T/census.out" | wc -l)"
}

t_census_bad_netns() {
	local spec
	# a missing path, a regular file, another kind of namespace, a PID above
	# PID_MAX_LIMIT (never a process)
	for spec in /nonexistent /etc/passwd /proc/self/ns/uts 99999999; do
		census --netns="$spec"
		check_eq "--netns=$spec exit code" 2 "$CENSUS_RC"
		check_eq "--netns=$spec: a reason on stderr naming it" yes \
			"$(grep -qF -- "$spec" "$T/census.err" && echo yes || echo no)"
		check_eq "--netns=$spec: nothing on stdout" 0 "$(wc -c < "$T/census.out")"
	done
}

# With only CAP_BPF and CAP_PERFMON (what the DaemonSet used to grant), the
# census cannot open other processes' netns nor enter any: it must say so
# at start and at the end, with counts, never list its own netns silently.
t_census_without_caps() {
	census_scenario
	setpriv --bounding-set=-all,+bpf,+perfmon "$PW" --census -j > "$T/census.out" 2> "$T/census.err"
	CENSUS_RC=$?
	check_eq "start line: feature, missing capabilities, fix" 1 \
		"$(grep -cE '^portwatch: --census of other network namespaces and their socket holders needs CAP_SYS_PTRACE .* missing CAP_SYS_PTRACE and CAP_SYS_ADMIN: .* fix: run as root, or grant SYS_PTRACE and SYS_ADMIN$' "$T/census.err")"
	# /run/netns/NAME opens without ptrace; entering it needs CAP_SYS_ADMIN
	check_eq "the test netns: setns refused, said" 1 \
		"$(grep -cF "setns into netns $NS_INO: Operation not permitted (needs CAP_SYS_ADMIN)" "$T/census.err")"
	check_eq "the test netns is not in the output" 0 \
		"$(jq -c --argjson ns "$NS_INO" 'select(.netns == $ns)' "$T/census.out" | wc -l)"
	check_eq "end line names the fix" 1 \
		"$(grep -c '^portwatch: --census is partial: .*fix: run as root, or grant SYS_ADMIN and SYS_PTRACE$' "$T/census.err")"
	check_eq "exit code (a netns could not be entered)" 1 "$CENSUS_RC"
	census_show_on_fail
	census_caps_counted
}

# The same census where every process and netns it can find is the test's:
# in new pid, mount and network namespaces (unshare) whose /proc holds the
# test's shell and two sleeps, and whose /run/netns the test's netns only.
# The end line's counts, exact: 1 netns not entered (the test's; its own
# needs no setns), the shell's and sleeps' netns not opened (the truth: the
# shell's count of /proc's pids before the census), no socket to attribute
# (its own netns has none).
census_caps_counted() {
	command -v unshare >/dev/null || skip "unshare not installed (package util-linux)"
	touch "$T/nsfile"
	unshare --mount --propagation private --pid --fork --mount-proc --net bash -c '
		T=$1 NS=$2 PW=$3
		mount --bind "/run/netns/$NS" "$T/nsfile" || exit 10
		mount -t tmpfs tmpfs /run/netns || exit 11
		touch "/run/netns/$NS" && mount --bind "$T/nsfile" "/run/netns/$NS" || exit 12
		sleep 60 & s1=$!
		sleep 60 & s2=$!
		procs=(/proc/[0-9]*)
		echo "${#procs[@]}" > "$T/procs.truth"
		setpriv --bounding-set=-all,+bpf,+perfmon "$PW" --census -j > "$T/census.out" 2> "$T/census.err"
		echo $? > "$T/census.rc"
		kill $s1 $s2' sh "$T" "$NS" "$PW"
	local rc=$?
	check_eq "private namespaces: setup exit code" 0 "$rc"
	[ "$rc" = 0 ] || exit 1
	local truth
	truth=$(cat "$T/procs.truth")
	check_eq "private namespaces: processes before the census (the shell, 2 sleeps)" 3 "$truth"
	check_eq "private namespaces: exit code" 1 "$(cat "$T/census.rc")"
	check_eq "private namespaces: end line, exact counts" \
		"portwatch: --census is partial: 1 network namespaces not entered (setns), $truth processes whose network namespace could not be opened, 0 whose sockets could not be attributed (/proc/PID/fd); fix: run as root, or grant SYS_ADMIN and SYS_PTRACE" \
		"$(grep '^portwatch: --census is partial: ' "$T/census.err")"
	check_eq "private namespaces: the test netns's setns refused, said" 1 \
		"$(grep -cF "setns into netns $NS_INO: Operation not permitted (needs CAP_SYS_ADMIN)" "$T/census.err")"
	check_eq "private namespaces: no census object (nothing entered has sockets)" 0 \
		"$(jq -c 'select(.type == "census")' "$T/census.out" | wc -l)"
	census_show_on_fail
}

# ---- portwatch_workload_sockets (the periodic census per workload) ----

# sock_client REL SPEC...: a Python client in the test netns, inside
# cgroup REL, holding connections as SPEC says until the test ends:
# "ADDR:E:T" E held ESTABLISHED to ADDR:18210 and T closed by it first
# (TIME_WAIT: its own listener on 0.0.0.0:18210 closes after the client's
# FIN), "syn:ADDR:N" one connection to its listener of backlog 0 on
# ADDR:18211 that fills the accept queue, then N left in SYN_SENT (the
# listener drops their SYNs). Both listeners are its own, outside the
# range. Waits until it says ready.
sock_client() {
	local rel=$1
	shift
	cat > "$T/sockclient.py" <<-'PY'
	import os, socket, sys, threading, time
	srv = socket.socket()
	srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
	srv.bind(("0.0.0.0", 18210))
	srv.listen(4096)
	syn = socket.socket()
	syn.bind(("0.0.0.0", 18211))
	syn.listen(0)
	def serve(c):
	    while c.recv(4096):
	        pass
	    c.close()
	def acceptor():
	    while True:
	        c, _ = srv.accept()
	        threading.Thread(target=serve, args=(c,), daemon=True).start()
	threading.Thread(target=acceptor, daemon=True).start()
	held = []
	for spec in sys.argv[1:]:
	    f = spec.split(":")
	    if f[0] == "syn":
	        held.append(socket.create_connection((f[1], 18211), timeout=10))
	        # its accept queue full (the listener's rx_queue in /proc/net/tcp)
	        # before the next SYNs: else one could still be answered
	        end = time.monotonic() + 10
	        while not any(l.split()[1].endswith(":%04X" % 18211) and l.split()[3] == "0A"
	                      and l.split()[4].endswith(":00000001")
	                      for l in open("/proc/net/tcp").readlines()[1:]):
	            if time.monotonic() > end:
	                sys.exit("the backlog-0 listener's accept queue never filled")
	            time.sleep(0.01)
	        for i in range(int(f[2])):
	            s = socket.socket()
	            s.setblocking(False)
	            try:
	                s.connect((f[1], 18211))
	            except BlockingIOError:
	                pass
	            held.append(s)
	        continue
	    est, tw = int(f[1]), int(f[2])
	    for i in range(est + tw):
	        s = socket.create_connection((f[0], 18210), timeout=10)
	        if i < est:
	            held.append(s)
	        else:
	            s.close()
	print("ready", os.getpid(), flush=True)
	threading.Event().wait()
	PY
	in_cg "$rel" python3 "$T/sockclient.py" "$@" > "$T/sockclient.out" 2>&1 &
	defer "kill $!; wait $!"
	wait_for "$T/sockclient.out" '^ready' 20 || { cat "$T/sockclient.out"; exit 1; }
}

# ss_sockets [HI]: the test netns's sockets with a local port in its range
# 40000-HI (40099; ss's own count), one "ADDR PORT STATE" line each, sorted
ss_sockets() {
	in_ns ss -Htan "sport >= :40000 and sport <= :${1:-40099}" | awk '{
		st = $1; sub(/^ESTAB$/, "ESTABLISHED", st); gsub(/-/, "_", st)
		n = split($5, p, ":"); port = p[n]; addr = substr($5, 1, length($5) - length(port) - 1)
		print addr, port, st }' | sort
}

# ss_counts [HI]: ss_sockets as "ADDR PORT STATE COUNT" lines, sorted
ss_counts() { ss_sockets "$@" | uniq -c | awk '{ print $2, $3, $4, $1 }' | sort; }

# gauge_counts FILE PREFIX [UNIT]: the portwatch_workload_sockets samples of FILE
# towards addresses starting with PREFIX, and the "(other)" rows of those
# with UNIT in their labels, as "LABELS ADDR PORT STATE VALUE" (LABELS:
# the workload's four, as exposed; PORT "-" for "(other)"), zeros left
# out, sorted
gauge_counts() {
	sed -e 's/,dport="",/,dport="-",/' -n -e 's/^portwatch_workload_sockets{\(namespace="[^"]*",pod="[^"]*",container="[^"]*",unit="[^"]*"\),daddr="\([^"]*\)",dport="\([^"]*\)",state="\([A-Z_]*\)"} \([0-9]*\)$/\1|\2|\3|\4|\5/p' "$1" |
		awk -F'|' -v p="$2" -v u="${3:-}" 'index($2, p) == 1 || (u != "" && index($1, u) && $2 == "(other)") {
			if ($5 != 0) print $1, $2, $3, $4, $5 }' | sort
}

# The gauge against ss in the test netns, exactly per destination and state:
# a Python client in a systemd-unit cgroup holds 3 and 1 connections to two
# destinations and leaves 2 and 4 in TIME_WAIT there, and 2 in SYN_SENT to
# a third (and 1 established that fills that listener's queue). Every
# process of the netns is the unit's (the client is its own server), so its
# TIME_WAIT sockets, which no process holds, are the unit's too. The
# destinations are 127.X.Y.1-3 of this run: no other run's sockets.
t_census_workload_sockets() {
	command -v python3 >/dev/null || skip "python3 not installed"
	cg_root
	mk_netns 40000 40099
	local net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)) unit=pwtest-$$-$RANDOM.service slice
	slice=$(cg_own system.slice)
	cg_make "$slice/$unit"
	# portwatch first: the TIME_WAIT sockets' 60 s start after its attach
	pw_start -q -i 1 -l "127.0.0.1:$METRICS_PORT"
	sock_client "$slice/$unit" "$net.1:3:2" "$net.2:1:4" "syn:$net.3:2"
	local want="$net.1 18210 ESTABLISHED 3
$net.1 18210 TIME_WAIT 2
$net.2 18210 ESTABLISHED 1
$net.2 18210 TIME_WAIT 4
$net.3 18211 ESTABLISHED 1
$net.3 18211 SYN_SENT 2"
	# the client's FINs settle at once on loopback; bounded anyway
	local end=$((SECONDS + $(waited 20)))
	until [ "$(ss_counts)" = "$want" ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
	check_eq "setup: ss in the test netns (what the client made)" "$want" "$(ss_counts)"
	local labels="namespace=\"\",pod=\"\",container=\"\",unit=\"$slice/$unit\"" truth got=
	truth=$(ss_counts | sed "s|^|$labels |")
	# a census every second (-i 1): wait for one that has them (bounded)
	end=$((SECONDS + $(waited 30)))
	while :; do
		scrape > "$T/m"
		got=$(gauge_counts "$T/m" "$net.")
		[ "$got" = "$truth" ] || [ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	check_eq "portwatch_workload_sockets = ss, per destination and state, all the unit's" "$truth" "$got"
	check_eq "ss again (nothing moved meanwhile)" "$want" "$(ss_counts)"
	check_eq "every state of a destination shown (zeros too): 3 destinations x 3 states" 9 \
		"$(grep -c "^portwatch_workload_sockets{$labels,daddr=\"$net\.[123]\"" "$T/m")"
	check_eq "folded workloads gauge" 1 "$(grep -cx 'portwatch_workload_sockets_folded [0-9]*' "$T/m")"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$T/m" > /dev/null 2>&1
		check_eq "promtool check metrics" 0 $?
	fi
	pw_stop
}

# The bound: 13 destinations, the k-th with k connections held (and the
# first two each one more in TIME_WAIT): the 10 with the most sockets have
# rows of their own, the other 3 are in daddr="(other)" exactly (1+2+3
# established, 2 in TIME_WAIT), and the unit's rows sum to ss's counts.
t_census_workload_sockets_bound() {
	command -v python3 >/dev/null || skip "python3 not installed"
	cg_root
	mk_netns 40000 40099
	local net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)) unit=pwtest-$$-$RANDOM.service slice
	local k spec=() want=
	slice=$(cg_own system.slice)
	cg_make "$slice/$unit"
	for k in $(seq 13); do
		spec+=("$net.$((k + 10)):$k:$([ "$k" -le 2 ] && echo 1 || echo 0)")
	done
	pw_start -q -i 1 -l "127.0.0.1:$METRICS_PORT"
	sock_client "$slice/$unit" "${spec[@]}"
	local labels="namespace=\"\",pod=\"\",container=\"\",unit=\"$slice/$unit\""
	for k in $(seq 4 13); do
		want+="$labels $net.$((k + 10)) 18210 ESTABLISHED $k"$'\n'
	done
	want+="$labels (other) - ESTABLISHED 6"$'\n'"$labels (other) - TIME_WAIT 2"
	want=$(sort <<< "$want")
	local end=$((SECONDS + $(waited 20)))
	until [ "$(ss_sockets | wc -l)" = 93 ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
	check_eq "setup: ss in the test netns: 91 established and 2 TIME_WAIT" \
		"$(printf '%s\n' "91 ESTABLISHED" "2 TIME_WAIT")" \
		"$(ss_sockets | awk '{ print $3 }' | sort | uniq -c | awk '{ print $1, $2 }')"
	local got=
	end=$((SECONDS + $(waited 30)))
	while :; do
		scrape > "$T/m"
		got=$(gauge_counts "$T/m" "$net." "unit=\"$slice/$unit\"")
		[ "$got" = "$want" ] || [ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	check_eq "top 10 destinations and an exact (other)" "$want" "$got"
	check_eq "the unit's rows: 11 (10 + (other)), 3 states each" 33 \
		"$(grep -c "^portwatch_workload_sockets{$labels," "$T/m")"
	check_eq "the unit's sum = ss's count (93)" 93 \
		"$(grep "^portwatch_workload_sockets{$labels," "$T/m" | awk '{ s += $NF } END { print s }')"
	pw_stop
}

# A real Prometheus scraping portwatch_workload_sockets: its answer for the
# unit's sockets per destination and state equals ss's in the test netns.
t_prometheus_scrapes_workload_sockets() {
	command -v prometheus >/dev/null || skip "prometheus not installed (package prometheus)"
	command -v python3 >/dev/null || skip "python3 not installed"
	cg_root
	mk_netns 40000 40099
	local net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)) unit=pwtest-$$-$RANDOM.service slice
	slice=$(cg_own system.slice)
	cg_make "$slice/$unit"
	pw_start -q -i 1 -l "127.0.0.1:$METRICS_PORT"
	cat > "$T/prometheus.yml" <<-YML
	global:
	  scrape_interval: 1s
	scrape_configs:
	  - job_name: portwatch
	    static_configs:
	      - targets: ['127.0.0.1:$METRICS_PORT']
	YML
	prom_start "$PROM_PORT"
	# established only: the comparison waits on Prometheus, and a TIME_WAIT
	# socket lasts 60 s
	sock_client "$slice/$unit" "$net.1:2:0" "$net.2:4:0"
	local want="$net.1 18210 ESTABLISHED 2
$net.2 18210 ESTABLISHED 4"
	local end=$((SECONDS + $(waited 20)))
	until [ "$(ss_counts)" = "$want" ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
	check_eq "setup: ss in the test netns (what the client made)" "$want" "$(ss_counts)"
	local q="sum by (daddr, dport, state) (portwatch_workload_sockets{unit=\"$slice/$unit\"}) > 0" got=
	end=$((SECONDS + $(waited 30)))
	while :; do
		got=$(curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$q" |
			jq -r '.data.result[]? | "\(.metric.daddr) \(.metric.dport) \(.metric.state) \(.value[1])"' | sort)
		[ "$got" = "$want" ] || [ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	check_eq "Prometheus: $q = ss" "$want" "$got"
	check_eq "ss again (nothing moved meanwhile)" "$want" "$(ss_counts)"
	pw_stop
}

# noproc_outranked FILE N: whether the scrape FILE shows a destination of N
# sockets rightly left out of pod="(no process)"'s named rows: its 10 named
# rows each of N sockets or more (most sockets first, ties by address), and
# N TIME_WAIT or more in its "(other)"; or, the workload folded whole, in
# pod="(other)" (portwatch_workload_sockets_folded > 0). Prints "yes" or
# what does not hold.
noproc_outranked() {
	local lab='namespace="",pod="(no process)",container="",unit=""' rows
	rows=$(grep -F "portwatch_workload_sockets{$lab," "$1")
	if [ -z "$rows" ]; then
		awk -v n="$2" '
			/^portwatch_workload_sockets_folded / { f = $2 }
			index($0, "portwatch_workload_sockets{namespace=\"\",pod=\"(other)\",") == 1 &&
				/state="TIME_WAIT"/ { tw = $NF }
			END { if (f > 0 && tw >= n) print "yes"
				else print "no (no process) rows, folded " f + 0 ", pod=(other) TIME_WAIT " tw + 0 }' "$1"
		return
	fi
	awk -v n="$2" '{
		d = $0; sub(/.*,daddr="/, "", d); sub(/",state=.*/, "", d)
		if (d ~ /^\(other\)"/) { if ($0 ~ /state="TIME_WAIT"/) tw = $NF; next }
		s[d] += $NF }
		END { k = 0; low = 0
			for (d in s) { k++; if (s[d] < n) low++ }
			if (k == 10 && !low && tw >= n) print "yes"
			else print k " named rows, " low " under " n ", (other) TIME_WAIT " tw + 0 }' <<< "$rows"
}

# A netns of two workloads: the client's unit and a process in the test's
# own (plain) cgroup. TIME_WAIT sockets, which no process holds, cannot be
# told to be either's: they are pod="(no process)"; the held ones stay the
# unit's. Exact against ss.
# pod="(no process)" gathers the unheld sockets of every such netns host-wide
# (the host's own is always mixed), ranked: its top 10 destinations have rows,
# the rest is in its "(other)". Whether this run's destination (200 TIME_WAIT)
# is among the 10 depends on the rest of the host, which no test controls; so
# what is asserted holds whatever the host has:
# - always exactly: the unit (this run's alone) has its 2 held sockets and
#   nothing else (no "(other)", no TIME_WAIT), and this run's destination
#   (127.X.Y.1: only this netns connects there) has rows under no other
#   workload than it and pod="(no process)";
# - pod="(no process)"'s row for it, if it has one: exactly 200 TIME_WAIT;
# - if it has none (a host with 10 destinations of 200 unheld sockets or
#   more), the same scrape must show why: 10 named rows of 200 or more and
#   200 TIME_WAIT or more in its "(other)" (or the workload folded whole).
t_census_workload_sockets_mixed_netns() {
	command -v python3 >/dev/null || skip "python3 not installed"
	cg_root
	mk_netns 40000 40999
	local net=127.$((RANDOM % 200 + 20)).$((RANDOM % 250 + 1)) unit=pwtest-$$-$RANDOM.service slice
	slice=$(cg_own system.slice)
	cg_make "$slice/$unit"
	# a second workload in the netns: "no workload" (the test's cgroup)
	ip netns exec "$NS" sleep 600 &
	defer "kill $!; wait $!"
	pw_start -q -i 1 -l "127.0.0.1:$METRICS_PORT"
	sock_client "$slice/$unit" "$net.1:2:200"
	local want="$net.1 18210 ESTABLISHED 2
$net.1 18210 TIME_WAIT 200"
	local end=$((SECONDS + $(waited 20)))
	until [ "$(ss_counts 40999)" = "$want" ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
	check_eq "setup: ss in the test netns (what the client made)" "$want" "$(ss_counts 40999)"
	local held="namespace=\"\",pod=\"\",container=\"\",unit=\"$slice/$unit\" $net.1 18210 ESTABLISHED 2"
	local truth="$held
namespace=\"\",pod=\"(no process)\",container=\"\",unit=\"\" $net.1 18210 TIME_WAIT 200" got="" outranked=""
	# a census every second (-i 1); "outranked" is taken only from one that
	# began after the sockets were all there (3 census periods later)
	local settled=$((SECONDS + $(waited 3)))
	end=$((SECONDS + $(waited 30)))
	while :; do
		scrape > "$T/m"
		got=$(gauge_counts "$T/m" "$net." "unit=\"$slice/$unit\"")
		[ "$got" = "$truth" ] && break
		if [ "$got" = "$held" ] && [ $SECONDS -ge "$settled" ] &&
		   [ "$(noproc_outranked "$T/m" 200)" = yes ]; then
			outranked=1
			break
		fi
		[ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	if [ -n "$outranked" ]; then
		echo "    info: $net.1:18210 outranked in pod=\"(no process)\" by this host's other sockets"
		check_eq "held sockets the unit's, none else; the destination under no other workload" "$held" "$got"
		check_eq "pod=\"(no process)\": 10 rows of 200+ sockets, 200+ TIME_WAIT in its (other)" yes \
			"$(noproc_outranked "$T/m" 200)"
	else
		check_eq "held sockets the unit's, TIME_WAIT (no process)" "$truth" "$got"
	fi
	check_eq "ss again (nothing moved meanwhile)" "$want" "$(ss_counts 40999)"
	pw_stop
}

# census_udp_client N PORTS NAME [MORE]: a python3 in $NS autobinding N UDP
# sockets (connect to 127.0.0.1:9), with MORE also one IPv6 socket (connect
# to [::1]:9) and a SO_REUSEPORT pair (one autobound by bind to port 0, the
# other bound to its port), then binding one to each port of PORTS (comma
# separated, may be empty), all open until killed; "{pid, ports}" of what
# it got in $T/NAME.json (ports: one per socket autobound or of the pair:
# the pair's port twice).
census_udp_client() {
	# not through in_ns (see census_httpd): $! is the python3 itself
	ip netns exec "$NS" python3 - "$1" "$2" "$T/$3.json" "$T/udp.hold" "${4:-}" <<'PY' &
import json, os, socket, sys
n, extra, out, hold, more = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
socks, auto = [], []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", 9))     # autobind from ip_local_port_range
    socks.append(s)
    auto.append(s.getsockname()[1])
if more:
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.connect(("::1", 9))
    socks.append(s)
    auto.append(s.getsockname()[1])
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    a.bind(("127.0.0.1", 0))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    b.bind(("127.0.0.1", a.getsockname()[1]))
    socks += [a, b]
    auto += [a.getsockname()[1], b.getsockname()[1]]
for p in filter(None, extra.split(",")):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", int(p)))
    socks.append(s)
with open(out + ".tmp", "w") as f:
    json.dump({"pid": os.getpid(), "ports": auto}, f)
os.rename(out + ".tmp", out)
open(hold).read()                   # blocks in open() until killed
PY
	defer "kill $!; wait $!"
	wait_for "$T/$3.json" 'ports' 10 || exit 1
	check_eq "setup: $3 is the process started" "$!" "$(jq .pid "$T/$3.json")"
}

census_tcp_objects() {
	jq -c 'select(.type == "census")' "$T/census.out" | sort
}

# UDP's port space is apart from TCP's: in the scenario's netns (range
# 40000-40009, 40008 reserved; TCP holding 8 ports and a listener on
# 40005), two processes autobind 4 + 2 UDP sockets, the first also an IPv6
# one and a SO_REUSEPORT pair on one port (7 or 8 ports, more than TCP
# leaves: only UDP's own space has them), and bind 2 outside the range
# (5000) or on the reserved port (40008): the census counts exactly the
# ports (7 or 8) and the 9 sockets on them as UDP holders, per process, as
# the clients recorded them, and the TCP objects do not change.
t_census_udp_holders() {
	command -v python3 > /dev/null || skip "no python3"
	[ -e /proc/net/if_inet6 ] || skip "no IPv6 in this kernel"
	census_scenario
	mkfifo "$T/udp.hold"
	census --netns="/run/netns/$NS" -j
	check_eq "before: exit code" 0 "$CENSUS_RC"
	census_tcp_objects > "$T/tcp.before"
	check_eq "before: UDP held" 0 \
		"$(jq -s '[.[] | select(.type == "census_udp")] | map(.held) | add' "$T/census.out")"
	census_udp_client 4 5000 udp1 more
	census_udp_client 2 40008 udp2

	local p1 p2 ports u n1 n2
	p1=$(jq .pid "$T/udp1.json")
	p2=$(jq .pid "$T/udp2.json")
	n1=$(jq '.ports | length' "$T/udp1.json")
	n2=$(jq '.ports | length' "$T/udp2.json")
	ports=$(jq -s '[.[].ports[]] | unique | length' "$T/udp1.json" "$T/udp2.json")
	check_eq "setup: the clients' sockets (4 + IPv6 + a pair, 2)" "7 2" "$n1 $n2"
	check_eq "setup: the pair on one port" 1 \
		"$(jq '.ports[5:7] | unique | length' "$T/udp1.json")"
	# the IPv6 socket (connected: [::1]) and the pair (127.0.0.1) may share
	# a port (the addresses do not conflict): 7 or 8 ports, the census
	# counts it once either way
	check_eq "setup: the IPv4 autobound ports, distinct" 6 \
		"$(jq -s '[.[0].ports[0:4][], .[1].ports[]] | unique | length' "$T/udp1.json" "$T/udp2.json")"
	check_eq "setup: all in the range, none reserved" 9 \
		"$(jq -s '[.[].ports[] | select(. >= 40000 and . <= 40009 and . != 40008)] | length' \
			"$T/udp1.json" "$T/udp2.json")"
	census --netns="/run/netns/$NS" -j
	check_eq "exit code" 0 "$CENSUS_RC"
	check_eq "census_udp objects" 1 "$(jq -c 'select(.type == "census_udp")' "$T/census.out" | wc -l)"
	u=$(jq -c 'select(.type == "census_udp")' "$T/census.out")
	check_eq "netns, range, reserved, range_size" "[$NS_INO,[40000,40009],1,9]" \
		"$(jq -c '[.netns, .port_range, .reserved, .range_size]' <<<"$u")"
	check_eq "held: the clients' ports" "$ports" "$(jq .held <<<"$u")"
	check_eq "usage" "$(awk -v h="$ports" 'BEGIN { printf "%.4f", h / 9 }')" "$(jq .usage <<<"$u")"
	check_eq "sockets in the range (not 5000, not the reserved 40008)" $((n1 + n2)) \
		"$(jq .sockets_in_range <<<"$u")"
	check_eq "UDP sockets in all" $((n1 + n2 + 2)) "$(jq .sockets <<<"$u")"
	check_eq "holders: each client, its in-range sockets" \
		"[{\"pid\":$p1,\"comm\":\"python3\",\"sockets\":$n1},{\"pid\":$p2,\"comm\":\"python3\",\"sockets\":$n2}]" \
		"$(jq -c .holders <<<"$u")"
	census_tcp_objects > "$T/tcp.after"
	check_eq "TCP objects unchanged by the UDP sockets" "" \
		"$(diff "$T/tcp.before" "$T/tcp.after")"
	check_eq "TCP: 2 destinations, range_size 8" "[[8],2]" \
		"$(jq -c -s '[map(.range_size) | unique, length]' "$T/tcp.after")"

	census --netns="/run/netns/$NS"
	check_eq "text: exit code" 0 "$CENSUS_RC"
	check_eq "text: the UDP line" \
		"netns $NS_INO udp: $ports/9 ports of the range held ($(awk -v h="$ports" 'BEGIN { printf "%.1f", h * 100 / 9 }')%; 1 reserved), 9 of 11 UDP sockets in it, holders $p1/python3 x7, $p2/python3 x2" \
		"$(grep "^netns $NS_INO udp: " "$T/census.out")"
	census_show_on_fail
}

# The periodic census (-i 1, --listen) exports the UDP part per netns under
# names of its own, never in the TCP gauges: 4 UDP sockets autobound in the
# test netns (40000-40009, 40008 reserved: 9 usable), one bound outside the
# range (5000), and 5 TCP TIME_WAIT towards one destination: UDP 4/9, the
# destination 5/9 (not 9/9).
t_census_udp_gauges() {
	command -v python3 > /dev/null || skip "no python3"
	local port end ino
	port=$(free_port) || { fail "setup: no free port"; exit 1; }
	mk_netns 40000 40009
	must in_ns sysctl -qw net.ipv4.ip_local_reserved_ports=40008
	mkfifo "$T/udp.hold"
	census_udp_client 4 5000 udp1
	must in_ns "$TRIGGER" --port "$port" exhaust --count 5 > "$T/trigger.out"
	check_eq "setup: trigger connections" 5 \
		"$(jq -s '[.[] | select(.type == "record")][0].ok' "$T/trigger.out")"
	pw_start -q -i 1 -l "127.0.0.1:$METRICS_PORT"
	ino=$NS_INO
	# a census every second (-i 1): wait for one that has the netns (bounded)
	end=$((SECONDS + $(waited 30)))
	until scrape > "$T/m"; grep -q "^portwatch_udp_ephemeral_ports_in_use{netns=\"$ino\"}" "$T/m" ||
		[ $SECONDS -ge $end ]; do
		sleep 0.2
	done
	pw_stop
	local held
	held=$(jq '.ports | unique | length' "$T/udp1.json")
	check_eq "setup: the client's ports, distinct, in the range, not reserved" 4 \
		"$(jq '[.ports | unique[] | select(. >= 40000 and . <= 40009 and . != 40008)] | length' "$T/udp1.json")"
	check_eq "UDP ports in use, the test netns (the client's)" 1 \
		"$(grep -cx "portwatch_udp_ephemeral_ports_in_use{netns=\"$ino\"} $held" "$T/m")"
	check_eq "UDP usage ratio, the test netns" 1 \
		"$(grep -cx "portwatch_udp_ephemeral_port_usage_ratio{netns=\"$ino\"} $(awk -v h="$held" 'BEGIN { printf "%.6g", h / 9 }')" "$T/m")"
	check_eq "TCP ports in use towards :$port (UDP not added)" 1 \
		"$(grep -cx "portwatch_ephemeral_ports_in_use{daddr=\"127.0.0.1\",dport=\"$port\",netns=\"$ino\"} 5" "$T/m")"
	check_eq "TCP usage ratio towards :$port" 1 \
		"$(grep -cx "portwatch_ephemeral_port_usage_ratio{daddr=\"127.0.0.1\",dport=\"$port\",netns=\"$ino\"} 0.555556" "$T/m")"
	check_eq "UDP series at most 20" 1 \
		"$([ "$(grep -c '^portwatch_udp_ephemeral_port_usage_ratio{' "$T/m")" -le 20 ] && echo 1)"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$T/m" > /dev/null 2>&1
		check_eq "promtool check metrics" 0 $?
	fi
	[ "$_failed" = 0 ] || grep -E '^portwatch_(udp_)?ephemeral' "$T/m" | sed 's/^/      m: /'
}

# hold_in_netns NAME SPEC...: one python3 holding sockets in several netns
# (setns per netns; the sockets stay in theirs), each SPEC "PATH:N": in
# that netns, a listener on 127.0.0.1:8080 (outside the ranges), N TCP
# connections to it (accepted) and N UDP sockets autobound (connect to
# 127.0.0.1:9), all open until killed; per netns what it got in
# $T/NAME.json: {"pid", "ns": {PATH: {"tcp": [ports], "udp": [ports]}}}.
hold_in_netns() {
	local name=$1
	shift
	python3 - "$T/$name.json" "$T/hold.fifo" "$@" <<'PY' &
import ctypes, json, os, socket, sys
out, hold, specs = sys.argv[1], sys.argv[2], sys.argv[3:]
libc = ctypes.CDLL(None, use_errno=True)
keep, got = [], {}
for spec in specs:
    path, n = spec.rsplit(":", 1)
    fd = os.open(path, os.O_RDONLY)
    if libc.setns(fd, 0x40000000) != 0:     # CLONE_NEWNET
        sys.exit("setns %s: %s" % (path, os.strerror(ctypes.get_errno())))
    os.close(fd)
    ls = socket.socket()
    ls.bind(("127.0.0.1", 8080))
    ls.listen(512)
    keep.append(ls)
    tcp, udp = [], []
    for _ in range(int(n)):
        c = socket.create_connection(("127.0.0.1", 8080))
        a, _ = ls.accept()
        keep += [c, a]
        tcp.append(c.getsockname()[1])
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.connect(("127.0.0.1", 9))         # autobind from the range
        keep.append(u)
        udp.append(u.getsockname()[1])
    got[path] = {"tcp": tcp, "udp": udp}
with open(out + ".tmp", "w") as f:
    json.dump({"pid": os.getpid(), "ns": got}, f)
os.rename(out + ".tmp", out)
open(hold).read()                   # blocks in open() until killed
PY
	defer "kill $!; wait $!"
	wait_for "$T/$name.json" '"ns"' 30 || exit 1
}

# A tenant with user namespaces can make netns with a 1-port range, each
# holding its port (usage 1.0). 21 of them must not hide a netns that
# really holds ports (120 of 200, 0.6): the tops rank by ports held, and
# say how many pairs / netns they left out. Exactly (the tops' exact counts
# from made-up censuses): tests/unit/test_pressure.c. Here, whatever else
# the host holds: the big netns exported with its own figures, TCP and UDP
# (unless 20 series hold 120 or more: then it is outranked, said), 20
# series each, and every one of the tenant's netns either exported or
# counted in the folded gauge.
t_census_top_by_held() {
	command -v python3 > /dev/null || skip "no python3"
	mkfifo "$T/hold.fifo"
	local tiny=() specs=() i big
	for i in $(seq 21); do
		mk_netns 40000 40000
		tiny+=("$NS_INO")
		specs+=("/run/netns/$NS:1")
	done
	mk_netns 40000 40199
	big=$NS_INO
	specs+=("/run/netns/$NS:120")
	hold_in_netns held "${specs[@]}"
	check_eq "setup: each tiny netns got its one port, TCP and UDP" 21 \
		"$(jq '[.ns[] | select(.tcp == [40000] and .udp == [40000])] | length' "$T/held.json")"
	check_eq "setup: the big netns, 120 distinct ports of its range each (TCP, UDP)" "[120,120]" \
		"$(jq -c --arg p "/run/netns/$NS" '.ns[$p] | [(.tcp, .udp) | map(select(. >= 40000 and . <= 40199)) | unique | length]' "$T/held.json")"
	pw_start -q -i 1 -l "127.0.0.1:$METRICS_PORT"
	# a census every second (-i 1): wait for one that has the big netns,
	# or 20 series all of 120 ports or more (bounded)
	local end=$((SECONDS + $(waited 30))) tcp udp
	tcp="portwatch_ephemeral_ports_in_use{daddr=\"127.0.0.1\",dport=\"8080\",netns=\"$big\"}"
	udp="portwatch_udp_ephemeral_ports_in_use{netns=\"$big\"}"
	until scrape > "$T/m"; { grep -qF "$tcp" "$T/m" && grep -qF "$udp" "$T/m"; } ||
		[ $SECONDS -ge $end ]; do
		sleep 0.2
	done
	pw_stop
	local fam f in_top n lab
	for fam in ephemeral udp_ephemeral; do
		n=$(grep -c "^portwatch_${fam}_ports_in_use{" "$T/m")
		check_eq "$fam: 20 series (22 netns of this test alone hold ports)" 20 "$n"
		if [ "$fam" = ephemeral ]; then
			f=$(awk '/^portwatch_ephemeral_port_pairs_folded / { print $2 }' "$T/m")
			lab='daddr="127.0.0.1",dport="8080",netns='
		else
			f=$(awk '/^portwatch_udp_ephemeral_netns_folded / { print $2 }' "$T/m")
			lab='netns='
		fi
		in_top=0
		for i in "${tiny[@]}"; do
			grep -qxF "portwatch_${fam}_ports_in_use{$lab\"$i\"} 1" "$T/m" && in_top=$((in_top + 1))
		done
		# the tenant's netns not exported are among the folded (the
		# host's other netns may add to it, never take from it)
		check_eq "$fam: folded ($f) >= the tenant's netns not exported (21 - $in_top)" 1 \
			"$([ -n "$f" ] && [ "$f" -ge $((21 - in_top)) ] && [ "$f" -ge 2 ] && echo 1)"
		if ! grep -q "^portwatch_${fam}_ports_in_use{.*netns=\"$big\"} 120$" "$T/m"; then
			# outranked only if every exported series holds 120 or more
			if [ "$(grep "^portwatch_${fam}_ports_in_use{" "$T/m" | awk '$NF < 120' | wc -l)" = 0 ]; then
				echo "    info: $fam: the big netns outranked by 20 series of 120+ ports on this host"
			else
				fail "$fam: the big netns (120 ports held) not exported, series holding fewer are"
			fi
		fi
	done
	# a destination is per netns: the tiny netns's ports are towards 127.0.0.1:8080 too
	check_eq "TCP: the big netns's ratio" 1 \
		"$(grep -cxF "portwatch_ephemeral_port_usage_ratio{daddr=\"127.0.0.1\",dport=\"8080\",netns=\"$big\"} 0.6" "$T/m")"
	check_eq "UDP: the big netns's ratio" 1 \
		"$(grep -cxF "portwatch_udp_ephemeral_port_usage_ratio{netns=\"$big\"} 0.6" "$T/m")"
	[ "$_failed" = 0 ] || grep -E '^portwatch_(udp_)?ephemeral' "$T/m" | sed 's/^/      m: /'
}
