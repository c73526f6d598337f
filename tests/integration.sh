# Integration tests on the host kernel. Each t_* function is one test, run by
# tests/run.sh in its own subshell with $T as its temp dir; each makes its own
# netns with a 10-port range (40000-40009) and tcp_tw_reuse=0 and checks
# portwatch's output exactly against what its own clients observed.

RANGE_LO=40000
RANGE_HI=40009

# (a) 25 sequential curl runs against a keep-alive server: 10 get a port,
# 15 find every port in TIME_WAIT and exit 7.
curl_runs() {
	local i rc
	CURL_OK=0 CURL_7=0 CURL_OTHER=0
	: > "$T/curl.pids"
	: > "$T/curl.exits"
	for i in $(seq 25); do
		# $$ is curl's pid after exec: the ground truth for per-pid counts
		in_ns sh -c "echo \$\$ >> $T/curl.pids; exec curl -s -o /dev/null http://127.0.0.1:8080/"
		rc=$?
		# "PID EXIT" of each run: which pid failed, as curl saw it
		echo "$(tail -n 1 "$T/curl.pids") $rc" >> "$T/curl.exits"
		case $rc in
		0) CURL_OK=$((CURL_OK + 1)) ;;
		7) CURL_7=$((CURL_7 + 1)); [ -n "${1:-}" ] && "$1" "$CURL_7" ;;
		*) CURL_OTHER=$((CURL_OTHER + 1)) ;;
		esac
	done
}

# check_curl_events MODE: the events of the test netns ($T/ev) are the curl
# runs that exited 7, one each, with every field as the scenario made it.
check_curl_events() {
	ns_events > "$T/ev"
	check_eq "events in the test netns" "$CURL_7" "$(wc -l < "$T/ev")"
	check_eq "events: curl, EADDRNOTAVAIL (-99), port_range_exhausted, inet 127.0.0.1:8080, range [40000,40009], tw_reuse 0, mode $1" \
		"$CURL_7" "$(jq -c "select(.comm == \"curl\" and .ret == -99 and .errno == \"EADDRNOTAVAIL\"
			and .cause == \"port_range_exhausted\" and .family == \"inet\"
			and .daddr == \"127.0.0.1\" and .dport == 8080 and .sport == 0
			and .port_range == [$RANGE_LO, $RANGE_HI] and .tw_reuse == 0
			and .mode == \"$1\" and (.scan_ns | . > 0))" "$T/ev" | wc -l)"
	check_eq "event pids are curl runs that exited 7 (distinct pids)" "$CURL_7" \
		"$(jq -r .pid "$T/ev" | sort -u | grep -cxFf "$T/curl.pids")"
}

# check_curl_diagnosis: the first failure to the test netns's destination is
# diagnosed by the worker thread: a {"type":"pressure"} line after that
# failure's event ($T/ev), naming its pid, 10/10 held.
check_curl_diagnosis() {
	# the first failure to a destination is diagnosed by the worker thread: a
	# {"type":"pressure"} line after that failure's event, naming its pid
	# (only the test netns's: a curl case elsewhere on the host has its own)
	local first_ev first_pr mine
	mine="select(.type == \"pressure\" and .pressure.netns == $NS_INO)"
	first_ev=$(grep -n '"type":"connect"' "$T/pw.out" | grep "\"netns\":$NS_INO," | head -n 1 | cut -d: -f1)
	first_pr=$(grep -n '"type":"pressure"' "$T/pw.out" | grep "\"netns\":$NS_INO," | head -n 1 | cut -d: -f1)
	check_eq "pressure object for the first failure (10/10 held, tw_reuse 0)" \
		"{\"netns\":$NS_INO,\"daddr\":\"127.0.0.1\",\"dport\":8080,\"held\":10,\"range_size\":10,\"usage\":1,\"tw_reuse\":0}" \
		"$(jq -c "$mine | .pressure | {netns, daddr, dport, held, range_size, usage, tw_reuse}" "$T/pw.out" | head -n 1)"
	check_eq "the pressure object comes after the first failure's event" 1 \
		"$([ -n "$first_ev" ] && [ -n "$first_pr" ] && [ "$first_pr" -gt "$first_ev" ] && echo 1 || echo 0)"
	check_eq "the pressure object names the first failure's pid" "$(head -n 1 "$T/ev" | jq .pid)" \
		"$(jq -c "$mine | .pid" "$T/pw.out" | head -n 1)"
	check_eq "pressure objects all 10/10" "$(jq -c "$mine" "$T/pw.out" | wc -l)" \
		"$(jq -c "$mine | select(.pressure.held == 10 and .pressure.range_size == 10)" "$T/pw.out" | wc -l)"
}

# check_curl_summary: the summary's rows of the 25 curl pids, added up,
# are what curl saw.
check_curl_summary() {
	local s
	s=$(summary | jq -c --argjson p "$(jq -Rn '[inputs | tonumber]' "$T/curl.pids")" \
		'[.processes[] | select(.pid as $x | $p | index($x))]
		| {n: length, attempts: (map(.attempts) | add), failures: (map(.failures) | add),
		   eaddrnotavail: (map(.errors.EADDRNOTAVAIL // 0) | add), comms: (map(.comm) | unique)}')
	check_eq "summary: curl processes" 25 "$(jq .n <<<"$s")"
	check_eq "summary: attempts of the curl pids" 25 "$(jq .attempts <<<"$s")"
	check_eq "summary: failures of the curl pids" "$CURL_7" "$(jq .failures <<<"$s")"
	check_eq "summary: EADDRNOTAVAIL of the curl pids" "$CURL_7" "$(jq .eaddrnotavail <<<"$s")"
	check_eq "summary: comm" '["curl"]' "$(jq -c .comms <<<"$s")"
}

start_httpd() {
	# not through in_ns: $! must be the server itself (see census_httpd)
	ip netns exec "$NS" "$HTTPD" 127.0.0.1 8080 > "$T/httpd.out" 2>&1 &
	defer "kill $!; wait $!"
	wait_for "$T/httpd.out" '^ready' 5 || exit 1
}

t_curl_exhaustion_json() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	# the test's own cgroup: other EADDRNOTAVAIL on the host must not
	# change the counts or the remedies asserted
	pw_start -j --cgroup="$OWN_CG"
	curl_runs
	pw_stop

	check_eq "curl exit 0 (got a port)" 10 "$CURL_OK"
	check_eq "curl exit 7 (CURLE_COULDNT_CONNECT)" 15 "$CURL_7"
	check_eq "curl other exit codes" 0 "$CURL_OTHER"

	# the mode auto took: every field but .mode is the same in all
	check_curl_events "$(pw_mode)"
	check_eq "events with curl's uid and a cgroup id" "$CURL_7" \
		"$(jq -c --argjson uid "$(id -u)" 'select(.uid == $uid and .cgroup_id > 0)' "$T/ev" | wc -l)"
	check_eq "event time is RFC 3339 UTC with ns" "$CURL_7" \
		"$(jq -r .time "$T/ev" | grep -cE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{9}Z$')"

	check_curl_summary
	check_eq "summary: events_lost" 0 "$(summary | jq .events_lost)"
	check_eq "last line is the summary" summary "$(tail -n 1 "$T/pw.out" | jq -r .type)"
	check_curl_diagnosis
	check_eq "summary: events_received = events (no other connect in the test's cgroup)" \
		"$(jq -c 'select(.type == "connect")' "$T/pw.out" | wc -l)" "$(summary | jq .events_received)"
	check_eq "remedies object before the summary" remedies "$(tail -n 2 "$T/pw.out" | head -n 1 | jq -r .type)"
	check_eq "remedies objects: one (one failer: curl, in one workload, to one destination)" 1 \
		"$(jq -c --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns)' "$T/pw.out" | wc -l)"
	# live advice, once per (workload, client, destination): libcurl's; before
	# it, at most one for a curl that exited before the worker looked (client
	# null), never after one with its client
	check_eq "advice objects: libcurl's, after at most one of a curl gone" 1 \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "advice" and .pressure.netns == $ns) | .client]' "$T/pw.out" | grep -cxE '\[(null,)?"libcurl"\]|\[null\]')"
	# (ip_local_port_range_sockopt depends on the kernel: unit-tested)
	check_eq "remedy ids for a loopback TIME_WAIT pile-up with tw_reuse=0" \
		'["reuse_connections","tw_reuse_2","wider_port_range","more_destinations"]' \
		"$(jq -c --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns) | [.remedies[].id | select(. != "ip_local_port_range_sockopt")]' "$T/pw.out")"
}

# The same in text mode: each failure must reach the terminal while the
# run goes on, before the next curl starts.
t_curl_live_text() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	# the test's own cgroup: another run's curl on this host is not judged
	pw_start --cgroup="$OWN_CG"
	wait_for "$T/pw.out" '^TIME ' 10 || exit 1	# written just after the attach line
	check_eq "text header" 1 "$(head -n 1 "$T/pw.out" | grep -c '^TIME  *PID  *COMM  *FAM  *DESTINATION  *ERRNO  *CAUSE  *RANGE  *SCAN  *WORKLOAD$')"
	seen_live() {
		wait_count "$T/pw.out" ' curl .* 127\.0\.0\.1:8080 +EADDRNOTAVAIL +port_range_exhausted +40000-40009 ' "$1" 3
	}
	curl_runs seen_live
	pw_stop
	check_eq "curl exit 7" 15 "$CURL_7"
	check_eq "failure lines for curl" "$CURL_7" \
		"$(grep -cE ' curl .* 127\.0\.0\.1:8080 +EADDRNOTAVAIL +port_range_exhausted +40000-40009 ' "$T/pw.out")"
	check_eq "summary table lists the curl pids" 25 \
		"$(awk '$2 == "curl" {print $1}' "$T/pw.out" | sort -u | grep -cxFf "$T/curl.pids")"
	# the first failure is explained by a census of its netns and destination
	# (then at most every 5 s per destination), remedies at the end; a port
	# may still be in FIN_WAIT2 rather than TIME_WAIT when the census runs
	local diag="^  -> 127\.0\.0\.1:8080 \(netns $NS_INO\): 10/10 ports held, .*tw_reuse=0$"
	local first_fail first_diag
	first_fail=$(grep -n -m1 ' curl .*EADDRNOTAVAIL' "$T/pw.out" | cut -d: -f1)
	first_diag=$(grep -n -m1 '^  -> ' "$T/pw.out" | cut -d: -f1)
	check_eq "the first diagnosis line is about this netns' destination" 1 \
		"$(grep -m1 '^  -> ' "$T/pw.out" | grep -cE "$diag")"
	check_eq "a diagnosis line after the first failure" 1 \
		"$([ -n "$first_fail" ] && [ -n "$first_diag" ] && [ "$first_diag" -gt "$first_fail" ] && echo 1 || echo 0)"
	check_eq "every diagnosis line says 10/10 held" "$(grep -c '^  -> ' "$T/pw.out")" \
		"$(grep -cE "$diag" "$T/pw.out")"
	check_eq "remedies heading" 1 \
		"$(grep -cE "^Remedies for 127\.0\.0\.1:8080 \(netns $NS_INO\): 10/10 ports held, .*tw_reuse=0:$" "$T/pw.out")"
	# live remedies, once per (workload, client, destination), before the
	# summary: libcurl's, after at most one for a curl gone before the
	# worker looked (never after libcurl's)
	check_eq "live REMEDIES blocks: libcurl's, after at most one of a curl gone" 1 \
		"$(sed -n 's/^    for pid [0-9]* (curl), client \(.*\), workload .*/\1/p' "$T/pw.out" | xargs -d '\n' echo |
			grep -cxE '(not seen \(exited\) )?libcurl|not seen \(exited\)')"
	check_eq "every live REMEDIES block about this destination, before the summary" \
		"$(grep -c '^REMEDIES for ' "$T/pw.out")" \
		"$(sed '/per-process connect() outcomes (summary/q' "$T/pw.out" |
			grep -cE "^REMEDIES for 127\.0\.0\.1:8080 \(netns $NS_INO\): 10/10 ports held, .*tw_reuse=0:$")"
	# the client is detected in the failing process while it lives: curl
	# exits right after its failure, so either libcurl was seen in it or
	# the remedy says the process was gone (tests/workload.sh keeps its
	# clients alive to check the libcurl and Go advice exactly)
	check_eq "remedy: reuse connections, libcurl's setting or said to be generic (curl gone)" 1 \
		"$(grep -cE '^  - Reuse connections .*(\(pid [0-9]+\) uses libcurl|\(pid [0-9]+\) exited before portwatch could see)' "$T/pw.out")"
	check_eq "remedy: tcp_tw_reuse (it is 0 here)" 1 "$(grep -c '^  - Set net.ipv4.tcp_tw_reuse' "$T/pw.out")"
	check_eq "no remedy names tcp_tw_recycle" 0 "$(grep -c 'tw_recycle' "$T/pw.out")"
}

# trigger's ground truth, summed over its record lines
truth_sum() { truth "map($1) | add // 0" "$2"; }

# (b) -c, -p, -P keep only what they name. Each trigger uses its own
# destination port, so each has its own 10 ports to exhaust.
t_filter_comm() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	# the test's own cgroup (pwt-drop runs there too: only -c leaves it out)
	pw_start -j --cgroup="$OWN_CG" -c pwt-keep
	must in_ns "$TRIGGER" --comm pwt-keep --port 18081 exhaust --count 13 > "$T/keep"
	must in_ns "$TRIGGER" --comm pwt-drop --port 18082 exhaust --count 13 > "$T/drop"
	pw_stop
	local keep_pid drop_pid
	keep_pid=$(truth '.[0].pid' "$T/keep")
	drop_pid=$(truth '.[0].pid' "$T/drop")
	check_eq "failures of pwt-drop (the scenario)" 3 "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/drop")"
	ns_events > "$T/ev"
	check_eq "events" "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/keep")" "$(wc -l < "$T/ev")"
	check_eq "events not from pwt-keep" 0 "$(jq -c 'select(.comm != "pwt-keep")' "$T/ev" | wc -l)"
	check_eq "summary rows for pwt-keep's pid" 1 "$(summary | jq "[.processes[] | select(.pid == $keep_pid)] | length")"
	check_eq "summary failures of pwt-keep" 3 "$(summary | jq ".processes[] | select(.pid == $keep_pid) | .failures")"
	check_eq "summary rows for pwt-drop's pid" 0 "$(summary | jq "[.processes[] | select(.pid == $drop_pid)] | length")"
	check_eq "summary rows whose comm is not pwt-keep" 0 "$(summary | jq '[.processes[] | select(.comm != "pwt-keep")] | length')"
}

t_filter_pid() {
	mk_netns $RANGE_LO $RANGE_HI
	mkfifo "$T/go"
	# the target waits on the fifo, so portwatch -p can start first
	ip netns exec "$NS" "$TRIGGER" --go "$T/go" --port 18083 exhaust --count 14 > "$T/a" &
	local apid=$!
	defer "kill $apid"
	wait_for "$T/a" '"type":"waiting"' 5 || exit 1
	check_eq "target pid (ip netns exec execs)" "$apid" "$(jq -r 'select(.type == "waiting") | .pid' "$T/a")"
	pw_start -j -p "$apid"
	exec 3> "$T/go"
	must in_ns "$TRIGGER" --port 18084 exhaust --count 14 > "$T/b"
	wait "$apid"
	check_eq "target trigger exit" 0 $?
	exec 3>&-
	pw_stop
	ns_events > "$T/ev"
	check_eq "events" "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/a")" "$(wc -l < "$T/ev")"
	check_eq "target failures (the scenario)" 4 "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/a")"
	check_eq "events of other pids" 0 "$(jq -c "select(.pid != $apid)" "$T/ev" | wc -l)"
	check_eq "summary pids" "[$apid]" "$(summary | jq -c '[.processes[].pid]')"
	check_eq "summary attempts" 14 "$(summary | jq '.processes[0].attempts')"
}

t_filter_dport() {
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -P 18086,18087
	must in_ns "$TRIGGER" --port 18085 exhaust --count 13 > "$T/a"
	must in_ns "$TRIGGER" --port 18086 exhaust --count 15 > "$T/b"
	must in_ns "$TRIGGER" --port 18087 exhaust --count 11 > "$T/c"
	pw_stop
	ns_events > "$T/ev"
	local want
	want=$(( $(truth_sum '.errors.EADDRNOTAVAIL' "$T/b") + $(truth_sum '.errors.EADDRNOTAVAIL' "$T/c") ))
	check_eq "events (5 to :18086 + 1 to :18087)" 6 "$want"
	check_eq "events" "$want" "$(wc -l < "$T/ev")"
	check_eq "events to other ports" 0 "$(jq -c 'select(.dport != 18086 and .dport != 18087)' "$T/ev" | wc -l)"
	check_eq "summary rows for the :18085 client" 0 \
		"$(summary | jq "[.processes[] | select(.pid == $(truth '.[0].pid' "$T/a"))] | length")"
}

# (c) 8 processes failing at full speed for 5 s: per-process counts exact;
# every failure is either an event received or counted as lost.
t_parallel_8_procs() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	# shellcheck disable=SC2086
	"$PW" ${PW_MODE_ARGS:-} -j --cgroup="$OWN_CG" 2> "$T/pw.err" > >(awk '/"type":"connect"/ { n++; next } { print }
		END { print n + 0 > "'"$T/nev"'" }' > "$T/pw.out") &
	PW_PID=$!
	defer "kill -INT $PW_PID; wait $PW_PID"
	wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
	must in_ns "$TRIGGER" --comm pwt-par parallel --procs 8 --seconds 5 > "$T/truth"
	pw_stop
	wait_for "$T/nev" '^[0-9]+$' 30 || exit 1

	check_eq "worker records" 8 "$(truth '[.[] | select(.mode == "parallel")] | length' "$T/truth")"
	local want got fails
	want=$(jq -sc '[.[] | select(.type == "record")] | group_by(.pid)
		| map({pid: .[0].pid, attempts: (map(.attempts) | add),
		       failures: (map(.errors.EADDRNOTAVAIL // 0) | add)}) | sort_by(.pid)' "$T/truth")
	got=$(summary | jq -c '[.processes[] | {pid, attempts, failures: .errors.EADDRNOTAVAIL}] | sort_by(.pid)')
	check_eq "per-process attempts and failures (9 pids: filler + 8 workers)" "$want" "$got"
	fails=$(jq '[.[].failures] | add' <<<"$want")
	# (a storm: > 100000 here, less in a sanitizer pass, whose portwatch takes more of the CPU)
	[ "$fails" -gt $((100000 / WAIT_SCALE)) ] || fail "workers failed only $fails times in 5 s (expected > $((100000 / WAIT_SCALE)))"
	echo "    info: $fails failures, $(cat "$T/nev") events received, $(summary | jq .events_lost) lost"
	check_eq "events received + events_lost" "$fails" \
		"$(( $(cat "$T/nev") + $(summary | jq .events_lost) ))"
}

# (d) --all also shows the successful connects, with the port they got.
t_all_outcomes() {
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -a
	# as another user: the events must carry its uid, for both outcomes
	must in_ns setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$TRIGGER" --port 18088 exhaust --count 12 > "$T/t"
	pw_stop
	ns_events > "$T/ev"
	check_eq "events" 12 "$(wc -l < "$T/ev")"
	check_eq "successes (ret 0, errno null, cause null)" "$(truth_sum .ok "$T/t")" \
		"$(jq -c 'select(.ret == 0 and .errno == null and .cause == null)' "$T/ev" | wc -l)"
	check_eq "distinct source ports of the successes, all in range" 10 \
		"$(jq -r "select(.ret == 0 and .sport >= $RANGE_LO and .sport <= $RANGE_HI) | .sport" "$T/ev" | sort -u | wc -l)"
	check_eq "failures" "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")" \
		"$(jq -c 'select(.ret == -99)' "$T/ev" | wc -l)"
	# identity is taken in the connecting task for both outcomes
	check_eq "events with the trigger's pid, uid and a cgroup id" 12 \
		"$(jq -c --argjson pid "$(truth '.[0].pid' "$T/t")" --argjson uid 65534 \
			'select(.pid == $pid and .uid == $uid and .cgroup_id > 0)' "$T/ev" | wc -l)"
}

t_bound_port_conflict() {
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j
	must in_ns "$TRIGGER" --port 18089 bound --lport 50000 > "$T/t"
	pw_stop
	ns_events > "$T/ev"
	check_eq "failures (the scenario)" 1 "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")"
	check_eq "events: bound_port_conflict from port 50000" 1 \
		"$(jq -c 'select(.cause == "bound_port_conflict" and .sport == 50000 and .ret == -99)' "$T/ev" | wc -l)"
	check_eq "events" 1 "$(wc -l < "$T/ev")"
}

t_ipv6_exhaustion() {
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j
	must in_ns "$TRIGGER" --addr ::1 --port 18090 exhaust --count 17 > "$T/t"
	pw_stop
	ns_events > "$T/ev"
	check_eq "failures (the scenario)" 7 "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")"
	check_eq "events: inet6 [::1]:18090, port_range_exhausted" 7 \
		"$(jq -c 'select(.family == "inet6" and .daddr == "::1" and .dport == 18090
			and .cause == "port_range_exhausted")' "$T/ev" | wc -l)"
	check_eq "events" 7 "$(wc -l < "$T/ev")"
}

# An IPv4-mapped connect goes tcp_v6_connect -> tcp_v4_connect: one outcome.
t_v4_mapped_counted_once() {
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -a
	must in_ns "$TRIGGER" --addr ::ffff:127.0.0.1 --port 18091 exhaust --count 12 > "$T/t"
	pw_stop
	ns_events > "$T/ev"
	check_eq "events (one per connect)" 12 "$(wc -l < "$T/ev")"
	local pid
	pid=$(truth '.[0].pid' "$T/t")
	check_eq "summary attempts" 12 "$(summary | jq ".processes[] | select(.pid == $pid) | .attempts")"
	check_eq "summary failures" 2 "$(summary | jq ".processes[] | select(.pid == $pid) | .failures")"
}

# Connects that leave SYN_SENT for CLOSE after their SYN was sent are not
# port-selection failures: one closed by its timeout (SYN still queued, no
# socket error) and one refused (queue purged, socket error set). connect()
# got a port for both: outcome 0 (the refusal comes later), never EADDRNOTAVAIL.
t_syn_sent_then_closed() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	# on-link through lo: the SYN goes out and nothing answers
	must ip -n "$NS" route add 10.9.9.0/24 dev lo
	pw_start -j -a --cgroup="$OWN_CG"
	local rc_timeout rc_refused
	in_ns sh -c "echo \$\$ > $T/pid1; exec curl -s --connect-timeout 0.3 http://10.9.9.9:80/"
	rc_timeout=$?
	in_ns sh -c "echo \$\$ > $T/pid2; exec curl -s http://127.0.0.1:18097/"
	rc_refused=$?
	pw_stop
	check_eq "curl timed out (the scenario)" 28 "$rc_timeout"
	check_eq "curl refused (the scenario)" 7 "$rc_refused"
	ns_events > "$T/ev"
	check_eq "events: the two connects, outcome 0, to 10.9.9.9:80 and 127.0.0.1:18097" \
		'[["10.9.9.9",80,0],["127.0.0.1",18097,0]]' \
		"$(jq -sc 'map([.daddr, .dport, .ret]) | sort' "$T/ev")"
	local pids
	pids=$(cat "$T/pid1" "$T/pid2" | jq -sc .)
	check_eq "summary: 1 attempt, 0 failures for each curl" '[[1,0],[1,0]]' \
		"$(summary | jq -c --argjson p "$pids" '[.processes[] | select(.pid as $x | $p | index($x)) | [.attempts, .failures]]')"
}

# The attach mode portwatch took (from its attach line).
# TCP Fast Open with TCP_FASTOPEN_CONNECT: once the client holds the
# server's cookie, connect() takes a port and returns 0 with nothing sent;
# closed before any write, the socket goes SYN_SENT -> CLOSE with no
# segment, no socket error and nothing queued, as a failed port selection
# does. Each such connect is a success (outcome 0, with the port it took),
# never EADDRNOTAVAIL; IPv4 and IPv6. trigger checks each close with
# TCP_INFO (SYN_SENT, no segment out: "deferred").
t_fastopen_deferred_not_exhaustion() {
	mk_netns $RANGE_LO $RANGE_HI
	must in_ns sysctl -qw net.ipv4.tcp_fastopen=3
	pw_start -j -a
	must in_ns "$TRIGGER" --port 18110 tfo --count 5 > "$T/t4"
	must in_ns "$TRIGGER" --addr ::1 --port 18111 tfo --count 5 > "$T/t6"
	pw_stop
	local f pid
	for f in t4 t6; do
		pid=$(truth '.[0].pid' "$T/$f")
		check_eq "$f: connects closed with nothing sent (the scenario)" 5 \
			"$(jq -s '[.[] | select(.mode == "tfo") | .deferred] | add' "$T/$f")"
		check_eq "$f: connects that returned 0 (cookie + 5)" 6 "$(truth_sum .ok "$T/$f")"
		ns_events | jq -c --argjson p "$pid" 'select(.pid == $p)' > "$T/ev"
		check_eq "$f: events, all outcome 0 (ret 0, errno and cause null)" 6 \
			"$(jq -c 'select(.ret == 0 and .errno == null and .cause == null)' "$T/ev" | wc -l)"
		check_eq "$f: events" 6 "$(wc -l < "$T/ev")"
		check_eq "$f: each with the port it took, in the range" 6 \
			"$(jq -c "select(.sport >= $RANGE_LO and .sport <= $RANGE_HI)" "$T/ev" | wc -l)"
		check_eq "$f: summary attempts, failures" '[6,0]' \
			"$(summary | jq -c ".processes[] | select(.pid == $pid) | [.attempts, .failures]")"
	done
}

# A route lookup that fails after port selection took a port: the rule
# `sport 40000-40009 prohibit` (the review's) refuses the lookup that
# connect() repeats with the port it took (IPv4; the first lookup, with
# source port 0, passes), so connect() fails with EACCES and nothing is
# sent. Not a port shortage: cause after_port_selection, with the port;
# tracepoint mode does not see the errno (ret and errno null, "unknown" in
# the summary), fentry/kprobe give EACCES. Then the same netns's range is
# exhausted for real: still exact.
t_route_failure_not_exhaustion() {
	mk_netns $RANGE_LO $RANGE_HI
	must ip -n "$NS" rule add sport $RANGE_LO-$RANGE_HI prohibit
	must ip -n "$NS" route add 10.9.9.0/24 dev lo
	pw_start -j
	must in_ns "$TRIGGER" --addr 10.9.9.9 --no-server --port 80 once --count 5 > "$T/r"
	must in_ns "$TRIGGER" --port 18112 exhaust --count 13 > "$T/x"
	pw_stop
	local pid mode ret errno key
	pid=$(truth '.[0].pid' "$T/r")
	mode=$(pw_mode)
	check_eq "connects failed with EACCES (the scenario)" 5 "$(truth_sum '.errors.EACCES // 0' "$T/r")"
	if [ "$mode" = tracepoint ]; then
		ret=null errno=null key=unknown
	else
		ret=-13 errno='"EACCES"' key=EACCES
	fi
	ns_events | jq -c --argjson p "$pid" 'select(.pid == $p)' > "$T/ev"
	check_eq "events: after_port_selection from a port of the range, ret $ret, errno $errno ($mode mode)" 5 \
		"$(jq -c "select(.cause == \"after_port_selection\" and .ret == $ret and .errno == $errno
			and .sport >= $RANGE_LO and .sport <= $RANGE_HI and .daddr == \"10.9.9.9\")" "$T/ev" | wc -l)"
	check_eq "events" 5 "$(wc -l < "$T/ev")"
	check_eq "summary: attempts, failures, errors" "[5,5,{\"$key\":5}]" \
		"$(summary | jq -c ".processes[] | select(.pid == $pid) | [.attempts, .failures, .errors]")"
	# the real exhaustion after it, in the same netns
	pid=$(truth '.[0].pid' "$T/x")
	check_eq "exhaustion: failures (the scenario)" 3 "$(truth_sum '.errors.EADDRNOTAVAIL // 0' "$T/x")"
	check_eq "exhaustion: events port_range_exhausted" 3 \
		"$(ns_events | jq -c --argjson p "$pid" 'select(.pid == $p and .ret == -99 and .cause == "port_range_exhausted")' | wc -l)"
	check_eq "exhaustion: summary attempts, failures, errors" '[13,3,{"EADDRNOTAVAIL":3}]' \
		"$(summary | jq -c ".processes[] | select(.pid == $pid) | [.attempts, .failures, .errors]")"
	check_eq "EADDRNOTAVAIL events in the netns: only the exhaustion's" 3 \
		"$(ns_events | jq -c 'select(.errno == "EADDRNOTAVAIL")' | wc -l)"
}

# Tracepoint mode keeps its per-socket state in a hash map by default, in
# socket storage with PORTWATCH_STATE=sk_storage (5.11+): that path must be as
# exact, for failures (parallel) and for successes (--all, ended in softirq
# or not). The tests say -m tracepoint; whether the kernel allows socket
# storage in a tracing program is asked of the kernel (need_sk_storage), and
# where it does, portwatch must have used it.
need_sk_storage() {
	need_mode tracepoint
	# bpf_sk_storage_get for tracing programs (tp_btf among them) came in
	# 5.11 with this helper
	grep -qw bpf_sk_storage_get_tracing /proc/kallsyms ||
		skip "this kernel has no socket storage for tracing programs (no bpf_sk_storage_get_tracing in /proc/kallsyms: before 5.11)"
	export PORTWATCH_STATE=sk_storage PW_MODE_ARGS="-m tracepoint"
}
sk_storage_check() {
	check_eq "attached with socket storage" 1 \
		"$(grep -c 'attached in tracepoint mode .*socket state in socket storage (PORTWATCH_STATE=sk_storage)' "$T/pw.err")"
}
t_sk_storage_parallel_8_procs() {
	need_sk_storage
	t_parallel_8_procs
	sk_storage_check
}
t_sk_storage_all_outcomes() {
	need_sk_storage
	t_all_outcomes
	sk_storage_check
}
t_sk_storage_v4_mapped() {
	need_sk_storage
	t_v4_mapped_counted_once
	sk_storage_check
}

# --interval prints the table while running; --duration stops with exit 0.
t_interval_and_duration() {
	mk_netns $RANGE_LO $RANGE_HI
	"$PW" -q -i 1 -d 3 > "$T/pw.out" 2> "$T/pw.err" &
	PW_PID=$!
	defer "kill -INT $PW_PID; wait $PW_PID"
	wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
	must in_ns "$TRIGGER" --comm pwt-int --port 18092 exhaust --count 13 > "$T/t"
	wait "$PW_PID"
	check_eq "exit code after --duration" 0 $?
	local n
	n=$(grep -c 'per-process connect() outcomes (interval' "$T/pw.out")
	[ "$n" -ge 2 ] || fail "interval tables: expected >= 2 in 3 s, got $n"
	check_eq "summary tables" 1 "$(grep -c 'per-process connect() outcomes (summary' "$T/pw.out")"
	check_eq "summary row for the trigger" 1 \
		"$(awk '/\(summary/ { s = 1 } s && $2 == "pwt-int" && $3 == 13 && $4 == 3' "$T/pw.out" | wc -l)"
	check_eq "no event lines with -q" 0 "$(grep -c 'EADDRNOTAVAIL  *port_range' "$T/pw.out")"
}

# (e) usage errors exit 2 with a message
t_bad_options() {
	local args rc
	for args in "--pid=abc" "--pid=0" "--dport=0" "--dport=1,2,3,4,5,6,7,8,9" "--dport=80," \
		"--mode=bogus" "--interval=0" "--duration=-1" "--comm=0123456789abcdef" \
		"--listen=127.0.0.1" "--listen=::1:80" "--bogus" "extra-arg" "-p"; do
		"$PW" $args > "$T/out" 2> "$T/err"
		rc=$?
		check_eq "exit code for '$args'" 2 "$rc"
		check_eq "stderr names portwatch for '$args'" 1 "$(head -n 1 "$T/err" | grep -cE '^(.*/)?portwatch: ')"
		check_eq "stdout for '$args'" "" "$(cat "$T/out")"
	done
	"$PW" --help > "$T/out" 2>&1
	check_eq "--help exit" 0 $?
	"$PW" --version > "$T/out" 2>&1
	check_eq "--version exit" 0 $?
	check_eq "--version output" 1 "$(grep -c '^portwatch [0-9]' "$T/out")"
}

# our_new_progs MAX_ID: portwatch's programs (by name) created after
# MAX_ID that no process holds any more: what an instance that exited
# would have left attached. Programs of other instances on this host are
# held by them (their fds), and older ones are not this test's.
bpf_prog_max_id() { bpftool -j prog show 2>/dev/null | jq '[.[].id] | max // 0'; }
our_new_progs() {
	local held
	held=$(cat /proc/[0-9]*/fdinfo/* 2>/dev/null | sed -n 's/^prog_id:[[:space:]]*//p' | sort -un | jq -Rsc 'split("\n") | map(select(. != "") | tonumber)')
	bpftool -j prog show 2>/dev/null | jq -c --argjson max "$1" --argjson held "$held" \
		'[.[] | select(.id > $max and (.name | test("^(tp_set_state|fe_|fx_|kp_|krp_)"))
		  and (.id as $i | $held | index($i) | not)) | {id, name}]'
}

# A mode the kernel does not allow (asked of the kernel: tests/modeprobe):
# one line on stderr, exit 1, nothing attached.
mode_unavailable() {
	local mode=$1 rc before why
	command -v bpftool >/dev/null || skip "bpftool not installed"
	why=$("$OUT/tests/modeprobe" "$mode" 2>&1)
	case $? in
	0) skip "this kernel loads and attaches $mode programs (tests/modeprobe): --mode=$mode works here" ;;
	1) echo "    info: kernel: $why" ;;
	*) fail "setup: $OUT/tests/modeprobe $mode: $why (make tools)"; exit 1 ;;
	esac
	before=$(bpf_prog_max_id)
	"$PW" --mode="$mode" -d 1 > "$T/out" 2> "$T/err"
	rc=$?
	check_eq "exit code" 1 "$rc"
	check_eq "stderr lines" 1 "$(wc -l < "$T/err")"
	check_eq "the line names the mode" 1 "$(grep -c -- "--mode=$mode" "$T/err")"
	echo "    info: $(cat "$T/err")"
	check_eq "portwatch programs left after exit (new since the start, held by no process)" "[]" \
		"$(our_new_progs "$before")"
}
t_mode_kprobe_unavailable() { mode_unavailable kprobe; }
t_mode_fentry_unavailable() { mode_unavailable fentry; }

t_not_root() {
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not installed"
	setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all "$PW" > "$T/out" 2> "$T/err"
	check_eq "exit code as nobody" 1 $?
	check_eq "stderr" "portwatch: needs root (or CAP_BPF and CAP_PERFMON): run with sudo" "$(cat "$T/err")"
}

# No terminal control from a tenant's name: a process named with a C1 CSI
# (0xc2 0x9b), U+202E (RLO), U+2066 (LRI) and U+061C (ALM) fails connects
# (the events, their diagnosis, the summary table, the remedies) and holds a
# connection (the census): the text output shows the name as "a?2J?b??"
# and holds none of those code points; the census' NDJSON gives the name
# back exactly (escaped). cg_root, cg_own and cg_make are tests/workload.sh's.
CTL_NAME_HEX=61c29b324ae280ae62e281a6d89c
CTL_NAME_TEXT='a?2J?b??'
# lines holding a C1 control or a bidi/format control (pw_cp_is_control)
ctl_lines() {
	perl -ne '$n++ if /\xc2[\x80-\x9f]|\xe2\x80[\x8e\x8f\xa8-\xae]|\xe2\x81[\xa6-\xaf]|\xd8\x9c/;
		END { print $n + 0 }' "$1"
}
t_text_no_terminal_controls() {
	cg_root
	local cg pid fails
	cg=$(cg_own pwtest-ctl-$$-$RANDOM)
	cg_make "$cg"
	mk_netns $RANGE_LO $RANGE_HI
	pw_start --cgroup="$cg"
	in_cg "$cg" "$TRIGGER" --comm-hex $CTL_NAME_HEX --port 18095 exhaust --count 13 > "$T/t" ||
		{ fail "setup: trigger exited $?"; exit 1; }
	pid=$(truth '.[0].pid' "$T/t")
	fails=$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")
	check_eq "trigger failures" 3 "$fails"
	wait_count "$T/pw.out" 'EADDRNOTAVAIL' 1 5
	pw_stop
	check_eq "failure lines with the name escaped" "$fails" \
		"$(grep -F " $pid " "$T/pw.out" | grep -F " $CTL_NAME_TEXT " | grep -c 'EADDRNOTAVAIL')"
	check_eq "summary row with the name escaped" 1 \
		"$(awk -v p="$pid" -v c="$CTL_NAME_TEXT" '$1 == p && $2 == c' "$T/pw.out" | wc -l)"
	check_eq "remedies printed" 1 "$(grep -c '^Remedies for ' "$T/pw.out")"
	check_eq "live remedies printed (one process, one destination)" 1 "$(grep -c '^REMEDIES for ' "$T/pw.out")"
	check_eq "live remedies name the process escaped" 1 \
		"$(grep -cF "    for pid $pid ($CTL_NAME_TEXT), client " "$T/pw.out")"
	check_eq "text lines holding a C1, bidi or format control" 0 "$(ctl_lines "$T/pw.out")"
	check_eq "stderr lines holding one" 0 "$(ctl_lines "$T/pw.err")"

	# the census: a holder of that name (bash renames itself)
	census_httpd 18101
	mkfifo "$T/hold"
	in_ns bash -c "echo \$\$ > '$T/holder.pid'
		printf '$(sed 's/../\\x&/g' <<<"$CTL_NAME_HEX")' > /proc/\$\$/comm
		exec 5<>/dev/tcp/127.0.0.1/18101
		echo ready > '$T/holder.ready'
		read -r _ < '$T/hold'" &
	defer "kill \$(cat '$T/holder.pid'); wait $!"
	wait_for "$T/holder.ready" '^ready' 5 || exit 1
	"$PW" --census --netns="/run/netns/$NS" > "$T/census.out" 2> "$T/census.err"
	check_eq "census exit" 0 $?
	check_eq "census holder with the name escaped" 1 \
		"$(grep -cF "$(cat "$T/holder.pid")/$CTL_NAME_TEXT x1" "$T/census.out")"
	check_eq "census lines holding a control" 0 "$(ctl_lines "$T/census.out")"
	"$PW" --census -j --netns="/run/netns/$NS" > "$T/census.json" 2> "$T/census.err"
	check_eq "census -j: every line JSON" "$(wc -l < "$T/census.json")" \
		"$(jq -c . "$T/census.json" | wc -l)"
	check_eq "census -j: the holder's name, exactly (hex)" $CTL_NAME_HEX \
		"$(jq -j 'select(.type == "census" and .dport == 18101) | .holders[0].comm' "$T/census.json" |
			od -An -tx1 | tr -d ' \n')"
	check_eq "census -j lines holding a raw control" 0 "$(ctl_lines "$T/census.json")"
}
