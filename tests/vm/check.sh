# Assertions on one case of the kernel matrix (tests/vm/scenarios.sh output,
# split by tests/vm/run.sh into $D/pw.out, pw.err, pw.rc, truth, setup, nev).
# Sourced after tests/lib.sh (check_eq, fail). Set by the caller:
#   D      the case's folder
#   MODE   the --mode asked for (auto: none)
#   WANT   the mode that must be taken (auto: fentry in the VMs)
#   ARITY  __inet_hash_connect's arguments on that kernel ("" on the host)

# rec PORT JQ: JQ over the trigger records of the run to PORT
rec() { jq -s "[.[] | select(.type == \"record\" and .port == $1)] | $2" "$D/truth"; }
# events of the trigger run to port P (the records carry the pid)
ev_of() {
	jq -c --argjson pids "$(rec "$1" 'map(.pid)')" \
		'select(.type == "connect" and (.pid as $p | $pids | index($p)))' "$D/pw.out"
}
summary() { jq -c 'select(.type == "summary")' "$D/pw.out"; }
# summary totals over the pids of the trigger run to port P
sum_of() {
	summary | jq --argjson pids "$(rec "$1" 'map(.pid)')" \
		"[.processes[] | select(.pid as \$p | \$pids | index(\$p))] | $2"
}
depth() { case $WANT in fentry|kprobe) echo "$1" ;; *) echo null ;; esac; }

common() {
	check_eq "setup errors" "" "$(cat "$D/setup" 2>/dev/null)"
	check_eq "portwatch exit code after SIGINT" 0 "$(cat "$D/pw.rc" 2>/dev/null)"
	check_eq "attach line names the mode" 1 "$(grep -c "^portwatch: attached in $WANT mode" "$D/pw.err")"
	if [ -n "$ARITY" ] && [ "$WANT" != tracepoint ]; then
		check_eq "__inet_hash_connect arity detected from BTF" 1 \
			"$(grep -c "__inet_hash_connect has $ARITY arguments (BTF)" "$D/pw.err")"
	fi
	check_eq "last line is the summary" summary "$(tail -n 1 "$D/pw.out" | jq -r .type)"
	# a few events in slow scenarios: none may be lost
	[ "${1:-}" = fast ] || check_eq "events_lost" 0 "$(summary | jq .events_lost)"
	check_eq "counts_dropped + untraced" 0 "$(summary | jq '.counts_dropped + .untraced')"
}

no_misses() {
	if [ "$WANT" = kprobe ]; then
		check_eq "attach line: kretprobe maxactive" 1 \
			"$(grep -c 'kretprobe maxactive 1024, misses counted' "$D/pw.err")"
		check_eq "kretprobe_misses" 0 "$(summary | jq .kretprobe_misses)"
	else
		check_eq "kretprobe_misses (not kprobe mode)" null "$(summary | jq .kretprobe_misses)"
	fi
}

# exact per-trigger counts: events (--all: one per connect) and summary
exact() {	# exact PORT WHAT
	local fails oks
	fails=$(rec "$1" 'map(.errors.EADDRNOTAVAIL // 0) | add')
	oks=$(rec "$1" 'map(.ok) | add')
	echo "    info: $2: trigger saw $oks ok, $fails EADDRNOTAVAIL"
	[ "$fails" -gt 0 ] || fail "$2: the scenario made no failure"
	check_eq "$2: failure events" "$fails" "$(ev_of "$1" | jq -c 'select(.ret == -99)' | wc -l)"
	check_eq "$2: success events" "$oks" "$(ev_of "$1" | jq -c 'select(.ret == 0)' | wc -l)"
	check_eq "$2: summary attempts" "$(rec "$1" 'map(.attempts) | add')" "$(sum_of "$1" 'map(.attempts) | add')"
	check_eq "$2: summary failures" "$fails" "$(sum_of "$1" 'map(.failures) | add')"
	check_eq "$2: summary EADDRNOTAVAIL" "$fails" "$(sum_of "$1" 'map(.errors.EADDRNOTAVAIL // 0) | add')"
}

ck_core() {
	common
	no_misses
	local pc
	# IPv4: every failure a full scan of the 10-port range: the loop takes
	# low's parity first, step 2, then the other parity (10 ports, 2 passes
	# of 5), and every port's bucket is connect()-only, so
	# __inet_check_established runs once per port (twice from 6.15, RCU
	# pre-pass and locked pass, counted once): ports_checked = 10.
	exact 18081 "IPv4"
	pc=$(depth 10)
	check_eq "IPv4 failures: inet 127.0.0.1:18081, port_range_exhausted, range [40000,40009], tw_reuse 0, ports_checked $pc, 0 < scan_ns < 1 s" \
		"$(rec 18081 'map(.errors.EADDRNOTAVAIL // 0) | add')" \
		"$(ev_of 18081 | jq -c "select(.ret == -99 and .errno == \"EADDRNOTAVAIL\" and .family == \"inet\"
			and .daddr == \"127.0.0.1\" and .dport == 18081 and .sport == 0
			and .cause == \"port_range_exhausted\" and .port_range == [40000, 40009]
			and .tw_reuse == 0 and .ports_checked == $pc and .mode == \"$WANT\"
			and .scan_ns > 0 and .scan_ns < 1000000000)" | wc -l)"
	check_eq "IPv4 successes: source port in the range" "$(rec 18081 'map(.ok) | add')" \
		"$(ev_of 18081 | jq -c 'select(.ret == 0 and .sport >= 40000 and .sport <= 40009)' | wc -l)"

	exact 18090 "IPv6"
	check_eq "IPv6 failures: inet6 ::1, port_range_exhausted, ports_checked $pc" \
		"$(rec 18090 'map(.errors.EADDRNOTAVAIL // 0) | add')" \
		"$(ev_of 18090 | jq -c "select(.ret == -99 and .family == \"inet6\" and .daddr == \"::1\"
			and .cause == \"port_range_exhausted\" and .ports_checked == $pc and .scan_ns > 0)" | wc -l)"

	# tcp_v6_connect calls tcp_v4_connect: still one outcome per connect
	exact 18091 "v4-mapped"
	check_eq "v4-mapped: events (one per connect)" "$(rec 18091 'map(.attempts) | add')" \
		"$(ev_of 18091 | wc -l)"

	# pre-bound port, 4-tuple ESTABLISHED: no scan, one check
	exact 18089 "bound port"
	check_eq "bound: bound_port_conflict from :50000, tw_reuse 2 (the netns's), ports_checked $(depth 1)" 1 \
		"$(ev_of 18089 | jq -c "select(.ret == -99 and .cause == \"bound_port_conflict\"
			and .sport == 50000 and .tw_reuse == 2 and .ports_checked == $(depth 1))" | wc -l)"

	# --scan-depth. The range 40000-40007 has 8 ports (low even, high
	# odd: no port lost to parity), scanned in two passes of step 2.
	# 40002 is reserved (skipped before any check); 40005 has a bind()
	# owner, a listener (its bucket has fastreuse >= 0: skipped, no
	# check). The 6 others are taken one by one and left in TIME_WAIT;
	# then each failing scan calls __inet_check_established for exactly
	# those 6 (on 6.15+ twice each, RCU and locked pass, counted once):
	# ports_checked = 6.
	exact 18092 "scan depth"
	pc=$(depth 6)
	check_eq "scan depth: failures with ports_checked $pc, range [40000,40007]" \
		"$(rec 18092 'map(.errors.EADDRNOTAVAIL // 0) | add')" \
		"$(ev_of 18092 | jq -c "select(.ret == -99 and .ports_checked == $pc and .port_range == [40000, 40007])" | wc -l)"
	check_eq "scan depth: ports taken (never 40002, 40005)" '[40000,40001,40003,40004,40006,40007]' \
		"$(ev_of 18092 | jq -sc '[.[] | select(.ret == 0) | .sport] | unique')"
}

# The false causes tracepoint mode must tell from exhaustion; fentry and
# kprobe modes see connect()'s return: the reference.
ck_causes() {
	common
	no_misses
	local p f
	# TCP Fast Open: connect() took a port and returned 0, nothing sent;
	# closed before any write. Successes, each with its port.
	for p in 18095 18096; do
		f=$([ $p = 18095 ] && echo IPv4 || echo IPv6)
		check_eq "$f TFO: connects closed with nothing sent (the scenario)" 5 \
			"$(jq -s "[.[] | select(.type == \"record\" and .mode == \"tfo\" and .port == $p) | .deferred] | add" "$D/truth")"
		check_eq "$f TFO: events, all successes with a port of the range" 6 \
			"$(ev_of $p | jq -c 'select(.ret == 0 and .cause == null and .sport >= 40000 and .sport <= 40009)' | wc -l)"
		check_eq "$f TFO: events" 6 "$(ev_of $p | wc -l)"
		check_eq "$f TFO: summary attempts, failures" '[6,0]' "$(sum_of $p '[(map(.attempts) | add), (map(.failures) | add)]' | jq -c .)"
	done
	# the route lookup with the port taken fails: EACCES, not a shortage;
	# tracepoint mode does not see the errno
	local ret errno key
	if [ "$WANT" = tracepoint ]; then ret=null errno=null key=unknown
	else ret=-13 errno='"EACCES"' key=EACCES; fi
	check_eq "route: connects failed with EACCES (the scenario)" 5 "$(rec 18097 'map(.errors.EACCES // 0) | add')"
	check_eq "route: events after_port_selection, ret $ret, errno $errno, a port of the range" 5 \
		"$(ev_of 18097 | jq -c "select(.cause == \"after_port_selection\" and .ret == $ret and .errno == $errno
			and .sport >= 40000 and .sport <= 40009)" | wc -l)"
	check_eq "route: events" 5 "$(ev_of 18097 | wc -l)"
	check_eq "route: summary failures, errors" "[5,{\"$key\":5}]" \
		"$(sum_of 18097 '[(map(.failures) | add), .[0].errors]' | jq -c .)"
	check_eq "no EADDRNOTAVAIL at all" 0 "$(jq -c 'select(.type == "connect" and .ret == -99)' "$D/pw.out" | wc -l)"
}

# --ops bind,udp (scenarios.sh sc_ops): exact per trigger run against its
# own EADDRINUSE (bind, every kernel) and EAGAIN (UDP, where the kernel has
# bpf_task_pt_regs: 5.15+, decided from the kernel's version; before, the
# attach line says UDP is not traced and no such event comes)
# brec MODE JQ: JQ over the trigger's records of MODE (bindport/...,
# bindscope/...), in the order of the runs
brec() { jq -sc --arg m "$1" "[.[] | select(.type == \"record\" and .mode == \$m)] | $2" "$D/truth"; }
# of_type TYPE PID: portwatch's TYPE lines of PID
of_type() { jq -c --arg t "$1" --argjson p "$2" 'select(.type == $t and .pid == $p)' "$D/pw.out"; }
# reserved_value PORT...: the ports as the kernel prints a port list
# (sorted, runs of consecutive ports as LO-HI, comma-separated)
reserved_value() {
	printf '%s\n' "$@" | sort -nu | awk 'NR == 1 { lo = hi = $1; next }
		$1 == hi + 1 { hi = $1; next }
		{ out = out (out == "" ? "" : ",") (lo == hi ? lo : lo "-" hi); lo = hi = $1 }
		END { print out (out == "" ? "" : ",") (lo == hi ? lo : lo "-" hi) }'
}

# A fixed-port bind refused (scenarios.sh sc_ops, trigger bindport): the
# child's binds of 127.0.0.1:P, P held by its parent (the holder record):
# bind_port events exact against the child's EADDRINUSE, and one
# port_holder diagnosis (the 5-s limit per port) naming the parent.
# check_bind_port ephemeral|listener N: N binds refused (the scenario)
check_bind_port() {
	local kind=$1 n=$2 sel h hp port dport b bp
	[ "$kind" = ephemeral ] && sel='.dport != null' || sel='.dport == null'
	h=$(brec bindport/holder "map(select($sel))")
	check_eq "$kind: the holder's record (the scenario)" 1 "$(echo "$h" | jq length)"
	hp=$(echo "$h" | jq '.[0].pid')
	port=$(echo "$h" | jq '.[0].port')
	dport=$(echo "$h" | jq '.[0].dport')
	b=$(brec bindport/bind "map(select(.holder == $hp))")
	bp=$(echo "$b" | jq '.[0].pid')
	check_eq "$kind: the child's binds of 127.0.0.1:$port (the scenario)" "1 {\"EADDRINUSE\":$n}" \
		"$(echo "$b" | jq -c 'length, .[0].errors' | tr '\n' ' ' | sed 's/ $//')"
	if [ "$kind" = ephemeral ]; then
		check_eq "ephemeral: the holder's port is of the range, not reserved (the scenario)" 1 \
			"$(( port >= 40000 && port <= 40008 ))"
	else
		check_eq "listener: the port, of the range (the scenario)" 40005 "$port"
	fi
	check_eq "$kind: bind_port events of the child: 127.0.0.1:$port, EADDRINUSE, port_in_use" "$n" \
		"$(of_type connect "$bp" | jq -c --argjson port "$port" 'select(.op == "bind_port"
			and .ret == -98 and .errno == "EADDRINUSE" and .cause == "port_in_use"
			and .family == "inet" and .saddr == "127.0.0.1" and .sport == $port
			and .port_range == [40000, 40009] and (has("remedy") | not))' | wc -l)"
	check_eq "$kind: events of the child" "$n" "$(of_type connect "$bp" | wc -l)"
	check_eq "$kind: events of the holder" 0 "$(of_type connect "$hp" | wc -l)"
	check_eq "$kind: summary of the child: op_failures" "{\"bind_port\":$n}" \
		"$(summary | jq -c --argjson p "$bp" '.processes[] | select(.pid == $p) | .op_failures')"
	check_eq "$kind: port_holder diagnoses of the child (one per port within 5 s)" 1 \
		"$(of_type port_holder "$bp" | wc -l)"
	if [ "$kind" = ephemeral ]; then
		check_eq "ephemeral: the diagnosis: 127.0.0.1:$port, the netns's, the holder's pid, ESTABLISHED to 127.0.0.1:$dport, the reserved_ports value" 1 \
			"$(of_type port_holder "$bp" | jq -c --argjson port "$port" --argjson h "$hp" \
				--argjson dport "$dport" --arg v "$(reserved_value 18000 18001 18002 40009 "$port")" \
				--argjson ns "$(of_type connect "$bp" | jq -s '.[0].netns')" 'select(.netns == $ns
				and .family == "inet" and .proto == "tcp" and .saddr == "127.0.0.1" and .sport == $port
				and .verdict == "ephemeral" and .port_range == [40000, 40009] and .sockets == 1
				and .holder.pid == $h and .holder.comm == "trigger" and .holder.state == "ESTABLISHED"
				and .holder.saddr == "127.0.0.1" and .holder.sport == $port
				and .holder.daddr == "127.0.0.1" and .holder.dport == $dport
				and .remedy == "ip_local_reserved_ports" and .reserved_ports == $v
				and .error == null)' | wc -l)"
	else
		check_eq "listener: the diagnosis: 127.0.0.1:40005, a listener, the holder's pid, LISTEN, no destination, no range blame" 1 \
			"$(of_type port_holder "$bp" | jq -c --argjson h "$hp" 'select(.family == "inet"
				and .proto == "tcp" and .saddr == "127.0.0.1" and .sport == 40005
				and .verdict == "listener" and .port_range == [40000, 40009] and .sockets == 1
				and .holder.pid == $h and .holder.comm == "trigger" and .holder.state == "LISTEN"
				and .holder.saddr == "127.0.0.1" and .holder.sport == 40005
				and .holder.daddr == null and .holder.dport == null
				and .remedy == null and .reserved_ports == null and .error == null)' | wc -l)"
	fi
}

# bind(addr, 0) failing (trigger bindscope): 10 binds of FILL fill the
# range and are held (0.0.0.0: listening; 127.0.0.1: connected, as
# bind-before-connect clients), then 2 binds of 127.0.0.1 and 1 of
# 127.0.0.2; one
# bind_ports diagnosis per failing address (the 5-s limit per address),
# its verdict and counts. check_bind_scope FILL "TRY OTHER" VERDICT
# "RANGE_SIZE PORTS_TAKEN PORTS_TAKEN_ALL"
check_bind_scope() {
	local fill=$1 errs=$2 verdict=$3 counts=$4 f pid fails a
	f=$(brec bindscope/fill "map(select(.addr == \"$fill\"))")
	pid=$(echo "$f" | jq '.[0].pid')
	check_eq "$verdict: the fill, 10 binds of $fill, listening or connected, held (the scenario)" "1 10 10" \
		"$(echo "$f" | jq -c 'length, .[0].ok' | tr '\n' ' ')$(brec bindscope/hold "map(select(.pid == $pid) | .ok) | add")"
	check_eq "$verdict: EADDRINUSE of 127.0.0.1, 127.0.0.2 (the scenario)" "$errs" \
		"$(brec bindscope/try "map(select(.pid == $pid) | .errors.EADDRINUSE // 0) | add") $(brec bindscope/other "map(select(.pid == $pid) | .errors.EADDRINUSE // 0) | add")"
	fails=$(( ${errs% *} + ${errs#* } ))
	check_eq "$verdict: bind events of the client, EADDRINUSE, port 0" "$fails" \
		"$(of_type connect "$pid" | jq -c 'select(.op == "bind" and .ret == -98 and .sport == 0
			and .family == "inet" and .port_range == [40000, 40009])' | wc -l)"
	check_eq "$verdict: events of the client" "$fails" "$(of_type connect "$pid" | wc -l)"
	check_eq "$verdict: summary op_failures of the client" "{\"bind\":$fails}" \
		"$(summary | jq -c --argjson p "$pid" '.processes[] | select(.pid == $p) | .op_failures')"
	for a in 127.0.0.1 127.0.0.2; do
		[ "$a" = 127.0.0.2 ] && [ "${errs#* }" = 0 ] && continue
		check_eq "$verdict: the diagnosis of $a: $verdict $counts" "$verdict $counts" \
			"$(of_type bind_ports "$pid" | jq -r --arg a "$a" 'select(.saddr == $a and .family == "inet"
				and .proto == "tcp" and .port_range == [40000, 40009] and .error == null)
				| "\(.verdict) \(.range_size) \(.ports_taken) \(.ports_taken_all)"')"
	done
	check_eq "$verdict: bind_ports diagnoses of the client (one per failing address)" \
		"$([ "${errs#* }" = 0 ] && echo 1 || echo 2)" "$(of_type bind_ports "$pid" | wc -l)"
}

ck_ops() {
	common
	no_misses
	local maj min want_b4 want_b6 want_s want_c
	IFS=. read -r maj min _ < "$D/kernel"
	# why a diagnosis was not looked up (no sock_diag: the VM's modules)
	jq -r 'select((.type == "port_holder" or .type == "bind_ports") and .error != null)
		| "    info: \(.type) of pid \(.pid) \(.saddr): \(.error)"' "$D/pw.out"
	# bind_ports: the range taken by wildcard binds, or by binds of
	# 127.0.0.1 only (127.0.0.2 still gets a port)
	check_bind_scope 0.0.0.0 "2 1" range_exhausted "10 10 10"
	check_bind_scope 127.0.0.1 "2 0" address_ports_taken "10 10 0"
	check_eq "address_ports_taken: the bind of 127.0.0.2 got a port (the scenario)" 1 \
		"$(brec bindscope/other 'map(select(.ok == 1)) | length')"
	# a fixed port held by an outbound connection, and by a listener
	check_bind_port ephemeral 3
	check_bind_port listener 2
	want_b4=$(rec 18101 'map(select(.mode == "bind0/bind") | .errors.EADDRINUSE // 0) | add')
	want_b6=$(rec 18102 'map(select(.mode == "bind0/bind") | .errors.EADDRINUSE // 0) | add')
	want_s=$(rec 18104 'map(.errors.EAGAIN // 0) | add')
	want_c=$(rec 18105 'map(.errors.EAGAIN // 0) | add')
	check_eq "the scenario: bind failures IPv4, IPv6; with IP_BIND_ADDRESS_NO_PORT; UDP sendto, connect EAGAIN" \
		"4 3 0 3 2" "$want_b4 $want_b6 $(rec 18103 'map(select(.mode == "bind0/bind") | .errors.EADDRINUSE // 0) | add') $want_s $want_c"
	check_eq "attach line: --ops bind traced" 1 "$(grep -c -- '--ops bind: bind(addr, 0) failures at the syscall tracepoints' "$D/pw.err")"
	check_eq "bind IPv4: events (inet 127.0.0.1, port 0, EADDRINUSE, range, remedy)" "$want_b4" \
		"$(ev_of 18101 | jq -c 'select(.op == "bind" and .ret == -98 and .family == "inet"
			and .saddr == "127.0.0.1" and .sport == 0 and .port_range == [40000, 40009]
			and .remedy == "bind_address_no_port")' | wc -l)"
	check_eq "bind IPv6: events (inet6 ::1)" "$want_b6" \
		"$(ev_of 18102 | jq -c 'select(.op == "bind" and .ret == -98 and .family == "inet6" and .saddr == "::1")' | wc -l)"
	check_eq "IP_BIND_ADDRESS_NO_PORT: events of other ops" 0 \
		"$(ev_of 18103 | jq -c 'select(.op != "connect")' | wc -l)"
	check_eq "summary op_failures.bind" "$want_b4 $want_b6" \
		"$(sum_of 18101 'map(.op_failures.bind // 0) | add') $(sum_of 18102 'map(.op_failures.bind // 0) | add')"
	if [ "$maj" -lt 5 ] || { [ "$maj" -eq 5 ] && [ "$min" -lt 15 ]; }; then
		echo "    info: kernel $maj.$min: no bpf_task_pt_regs, --ops udp not traced"
		check_eq "attach line: --ops udp not traced" 1 "$(grep -c -- '--ops udp: NOT traced' "$D/pw.err")"
		check_eq "udp events" 0 "$(jq -c 'select(.type == "connect" and (.op | startswith("udp")))' "$D/pw.out" | wc -l)"
		return
	fi
	check_eq "attach line: --ops udp traced" 1 "$(grep -c -- '--ops udp: UDP autobind failures at the syscall exit' "$D/pw.err")"
	check_eq "UDP sendto: udp_send events, EAGAIN" "$want_s" \
		"$(ev_of 18104 | jq -c 'select(.op == "udp_send" and .ret == -11)' | wc -l)"
	check_eq "UDP connect: udp_connect events, EAGAIN" "$want_c" \
		"$(ev_of 18105 | jq -c 'select(.op == "udp_connect" and .ret == -11)' | wc -l)"
	check_eq "summary op_failures: udp_send, udp_connect" "$want_s $want_c" \
		"$(sum_of 18104 'map(.op_failures.udp_send // 0) | add') $(sum_of 18105 'map(.op_failures.udp_connect // 0) | add')"
}

ck_filters() {
	common
	no_misses
	local keep fails
	keep=$(rec 18086 '.[0].pid')
	fails=$(rec 18086 'map(.errors.EADDRNOTAVAIL // 0) | add')
	echo "    info: pwvm-keep to :18086: $fails failures of 15"
	[ "$fails" -gt 0 ] || fail "the scenario made no failure"
	check_eq "events: all pwvm-keep to :18086" "$fails" \
		"$(jq -c "select(.type == \"connect\" and .pid == $keep and .comm == \"pwvm-keep\" and .dport == 18086)" "$D/pw.out" | wc -l)"
	check_eq "events" "$fails" "$(jq -c 'select(.type == "connect")' "$D/pw.out" | wc -l)"
	check_eq "summary: only pwvm-keep to :18086" "[{\"pid\":$keep,\"attempts\":15,\"failures\":$fails}]" \
		"$(summary | jq -c '[.processes[] | {pid, attempts, failures}]')"
}

ck_pid() {
	common
	no_misses
	local tp fails
	tp=$(jq -s '.[] | select(.type == "target") | .pid' "$D/truth")
	fails=$(rec 18083 'map(.errors.EADDRNOTAVAIL // 0) | add')
	echo "    info: target: $fails failures of 14"
	[ "$fails" -gt 0 ] || fail "the scenario made no failure"
	check_eq "target's record pid" "$tp" "$(rec 18083 '.[0].pid')"
	check_eq "events: all of the target pid" "$fails" \
		"$(jq -c "select(.type == \"connect\" and .pid == $tp)" "$D/pw.out" | wc -l)"
	check_eq "events" "$fails" "$(jq -c 'select(.type == "connect")' "$D/pw.out" | wc -l)"
	check_eq "summary: the target only" "[{\"pid\":$tp,\"attempts\":14}]" \
		"$(summary | jq -c '[.processes[] | {pid, attempts}]')"
}

truth_by_pid() {
	jq -sc '[.[] | select(.type == "record")] | group_by(.pid)
		| map({pid: .[0].pid, attempts: (map(.attempts) | add),
		       failures: (map(.errors.EADDRNOTAVAIL // 0) | add)}) | sort_by(.pid)' "$D/truth"
}

ck_parallel() {
	common fast
	no_misses
	local want fails rec got_att want_att preemptible="" loud=0
	want=$(truth_by_pid)
	check_eq "worker records" 8 "$(jq -s '[.[] | select(.type == "record" and .mode == "parallel")] | length' "$D/truth")"
	rec=$(summary | jq '.recursion_misses // 0')
	got_att=$(summary | jq '[.processes[].attempts] | add // 0')
	want_att=$(jq '[.[].attempts] | add' <<<"$want")
	fails=$(jq '[.[].failures] | add' <<<"$want")
	echo "    info: $MODE: counted $got_att / truth $want_att connects ($fails failures), $rec recursion misses, preemption model ${PREEMPT:-unknown}"
	grep '^portwatch: [0-9]* program runs skipped' "$D/pw.err" | sed 's/^/    info: /'
	# the running preemption model, as the kernel said it (sched/preempt):
	# on a preemptible one, fentry and tracepoint programs can be skipped
	# when preempted, and portwatch must say so; kprobe cannot
	case ${PREEMPT:-} in
	full|lazy|rt) preemptible=1 ;;
	none|voluntary|none_or_voluntary) preemptible=0 ;;
	esac
	if [ -n "$preemptible" ]; then
		# tracepoint: from 6.19 (probes under SRCU-fast) or on RT only
		local kmaj=${KREL%%.*} kmin=${KREL#*.}
		kmin=${kmin%%.*}
		[ "$preemptible" = 1 ] && { [ "$WANT" = fentry ] || { [ "$WANT" = tracepoint ] &&
			{ [ "$PREEMPT" = rt ] || [ "$kmaj" -gt 6 ] || { [ "$kmaj" = 6 ] && [ "$kmin" -ge 19 ]; }; }; }; } &&
			loud=1
		check_eq "attach line: not exact under contention, --mode=kprobe is" $loud \
			"$(grep -c '^portwatch: attached in .*NOT EXACT under contention.*--mode=kprobe is exact here' "$D/pw.err")"
		check_eq "summary: exact_under_contention" "$([ $loud = 1 ] && echo false || echo true)" \
			"$(summary | jq .exact_under_contention)"
		check_eq "summary: preempt_model" "$PREEMPT" "$(summary | jq -r .preempt_model)"
		check_eq "stderr at the end names the exact mode" $loud \
			"$(grep -c '^portwatch: .*--mode=kprobe is exact here$' "$D/pw.err")"
		[ "$MODE" = auto ] && [ "$preemptible" = 1 ] &&
			check_eq "auto says why it took kprobe" 1 "$(grep -c '^portwatch: attached in kprobe mode .*(kernel preemptible (' "$D/pw.err")"
	fi
	if [ "$rec" -gt 0 ] 2>/dev/null && [ "$MODE" != auto ]; then
		# the kernel skipped program runs; each can be an outcome not
		# counted. Not silent: said on stderr and in the summary, and the
		# truth is within the bracket. auto must be exact: no bracket
		check_eq "recursion misses said on stderr" 1 \
			"$(grep -c "^portwatch: $rec program runs skipped by the kernel" "$D/pw.err")"
		check_eq "counted <= connects <= counted + recursion misses" 1 \
			"$([ "$got_att" -le "$want_att" ] && [ "$want_att" -le $((got_att + rec)) ] && echo 1 || echo 0)"
		local got_fails
		got_fails=$(summary | jq '[.processes[].errors.EADDRNOTAVAIL // 0] | add // 0')
		check_eq "counted <= failures <= counted + recursion misses" 1 \
			"$([ "$got_fails" -le "$fails" ] && [ "$fails" -le $((got_fails + rec)) ] && echo 1 || echo 0)"
		echo "    info: $fails failures in 2 s ($got_fails counted), $(cat "$D/nev") events"
		return
	fi
	check_eq "recursion misses" 0 "$rec"
	check_eq "per-process attempts and failures (filler + 8 workers)" "$want" \
		"$(summary | jq -c '[.processes[] | {pid, attempts, failures: (.errors.EADDRNOTAVAIL // 0)}] | sort_by(.pid)')"
	echo "    info: $fails failures in 2 s, $(cat "$D/nev") events"
	check_eq "events received + events_lost" "$fails" "$(( $(cat "$D/nev") + $(summary | jq .events_lost) ))"
}

# sc_cost: 1,000 successful connects, then 10 and 1,000 failing ones, all
# counted exactly; the BPF cost per connect of each is an info line (run.sh)
ck_cost() {
	common fast
	no_misses
	check_eq "recursion misses" 0 "$(summary | jq '.recursion_misses // 0')"
	check_eq "per-process attempts and failures" "$(truth_by_pid)" \
		"$(summary | jq -c '[.processes[] | select(.comm == "pwvm-cost") | {pid, attempts, failures: (.errors.EADDRNOTAVAIL // 0)}] | sort_by(.pid)')"
	check_eq "failures" 1000 "$(jq -s '[.[] | select(.type == "record") | .errors.EADDRNOTAVAIL // 0] | add' "$D/truth")"
}

# kprobe mode with maxactive 1 and 8 processes: kretprobes miss, and
# portwatch must say so (attach line, stderr at the end, JSON summary).
ck_misses() {
	check_eq "setup errors" "" "$(cat "$D/setup" 2>/dev/null)"
	check_eq "portwatch exit code after SIGINT" 0 "$(cat "$D/pw.rc" 2>/dev/null)"
	check_eq "attach line: maxactive 1" 1 "$(grep -c 'kretprobe maxactive 1, misses counted' "$D/pw.err")"
	local misses lost truth got
	misses=$(summary | jq .kretprobe_misses)
	lost=$(sed -n 's/.*: \([0-9]*\) connect() outcomes not counted.*/\1/p' "$D/pw.err")
	truth=$(jq -s '[.[] | select(.type == "record") | .attempts] | add' "$D/truth")
	got=$(summary | jq '[.processes[] | select(.comm == "pwvm-par") | .attempts] | add')
	echo "    info: $truth connects, $got counted, $misses kretprobe misses, ${lost:-?} of them returns of tcp_v4_connect"
	[ "$misses" -gt 0 ] 2>/dev/null || fail "kretprobe_misses: expected > 0, got $misses"
	[ -n "$lost" ] || fail "no 'kretprobe misses' line on stderr"
	[ "$got" -lt "$truth" ] || fail "counted $got of $truth connects: the misses lost nothing?"
	[ $((got + ${lost:-0})) -le "$truth" ] || fail "counted $got + missed returns $lost > $truth connects"
	echo "    info: outcomes lost without a counted miss: $((truth - got - ${lost:-0}))"
}

# text mode: the failure lines as they come, then interval and summary tables
ck_text() {
	check_eq "setup errors" "" "$(cat "$D/setup" 2>/dev/null)"
	check_eq "portwatch exit code after SIGINT" 0 "$(cat "$D/pw.rc" 2>/dev/null)"
	check_eq "attach line names the mode" 1 "$(grep -c "^portwatch: attached in $WANT mode" "$D/pw.err")"
	local pid fails att row
	pid=$(rec 18093 '.[0].pid')
	fails=$(rec 18093 'map(.errors.EADDRNOTAVAIL // 0) | add')
	att=$(rec 18093 'map(.attempts) | add')
	check_eq "header" 1 "$(head -n 1 "$D/pw.out" | grep -c '^TIME  *PID  *COMM  *FAM  *DESTINATION  *ERRNO  *CAUSE  *RANGE  *SCAN  *WORKLOAD$')"
	check_eq "failure lines" "$fails" "$(grep -cE "^[0-9:.]+ +$pid +pwvm-txt +ipv4 +127\.0\.0\.1:18093 +EADDRNOTAVAIL +port_range_exhausted +40000-40009 +[0-9.]+(ns|us|ms|s) +[^ ]+$" "$D/pw.out")"
	row="$pid pwvm-txt $att $fails $att EADDRNOTAVAIL:$fails"
	check_eq "last interval table: the trigger's row (PID COMM ATTEMPTS FAILURES SCANS ERRORS)" "$row" \
		"$(awk '/outcomes \(interval/ { t = "" } $1 == '"$pid"' { t = $1 " " $2 " " $3 " " $4 " " $5 " " $7 }
			/outcomes \(summary/ { exit } END { print t }' "$D/pw.out")"
	check_eq "summary table: the trigger's row" "$row" \
		"$(awk '/outcomes \(summary/ { s = 1 } s && $1 == '"$pid"' { print $1, $2, $3, $4, $5, $7 }' "$D/pw.out")"
}

# The deployment case (scenarios.sh sc_caps), auto mode, CASE limit, soft or
# sysres; BPFMEM rlimit or memcg (tests/vm/kernels). Only CAP_BPF and
# CAP_PERFMON (and CAP_SYS_RESOURCE in sysres) under a 64 KiB memlock limit:
# where the kernel charges BPF memory to RLIMIT_MEMLOCK and the hard limit
# is 64 KiB, portwatch exits 1 with one line naming the limit, the
# capability and the fixes; everywhere else it runs, with exact counts, and
# on rlimit kernels it has raised the limit (libbpf) to unlimited.
ck_caps() {
	check_eq "setup errors" "" "$(cat "$D/setup" 2>/dev/null)"
	if [ "$CASE" = limit ] && [ "$BPFMEM" = rlimit ]; then
		echo "    info: $(cat "$D/pw.err")"
		check_eq "portwatch exit code" 1 "$(cat "$D/pw.rc")"
		# besides the line of the census, which without CAP_SYS_PTRACE and
		# CAP_SYS_ADMIN reads only the namespaces it may (docs/kubernetes.md, "Least
		# privilege"), said before attaching
		check_eq "stderr: one line besides the census's missing-capability line" 1 \
			"$(grep -vc '^portwatch: census of other network namespaces .* needs CAP_SYS_PTRACE' "$D/pw.err")"
		check_eq "the line names RLIMIT_MEMLOCK (64 KiB), CAP_SYS_RESOURCE, ulimit -l, LimitMEMLOCK, --ulimit" 1 \
			"$(grep -c '^portwatch: this kernel (before 5.11) charges BPF maps to RLIMIT_MEMLOCK, 64 KiB here: grant CAP_SYS_RESOURCE (portwatch then raises it) or raise it (ulimit -l unlimited, systemd LimitMEMLOCK=infinity, --ulimit memlock=-1)$' "$D/pw.err")"
		check_eq "nothing on stdout" 0 "$(wc -c < "$D/pw.out")"
		return
	fi
	# Debian's and Ubuntu's kernels add a perf_event_paranoid level 3 (their
	# default) at which perf_event_open takes CAP_SYS_ADMIN, CAP_PERFMON is
	# not enough: kprobe mode cannot attach and auto takes tracepoint, or
	# on a preemptible kernel (AUTO kprobe:preempt: kprobe first) from 6.19,
	# where tracepoint programs can be skipped too, fentry
	if [ "$WANT" = kprobe ] && [ "$(cat "$D/paranoid")" -gt 2 ]; then
		WANT=tracepoint
		local kmaj=${KREL%%.*} kmin=${KREL#*.}
		kmin=${kmin%%.*}
		[ "${AUTO_LINE:-}" = kprobe:preempt ] && { [ "$kmaj" -gt 6 ] || { [ "$kmaj" = 6 ] && [ "$kmin" -ge 19 ]; }; } &&
			WANT=fentry
		check_eq "auto: kprobe refused (perf_event_paranoid $(cat "$D/paranoid"): perf_event_open needs CAP_SYS_ADMIN)" 1 \
			"$(grep -c "^portwatch: attached in $WANT mode .*kprobe: [^;]*Permission denied" "$D/pw.err")"
	fi
	common
	local eff=000000c000000000 lim
	[ "$CASE" = sysres ] && eff=000000c001000000
	# the bounding set is what it was started with (it cannot drop from it
	# without CAP_SETPCAP); after attach it keeps a subset (docs/kubernetes.md, "Least
	# privilege": CAP_BPF before 6.5)
	check_eq "capabilities: bounding set (CAP_BPF, CAP_PERFMON$([ "$CASE" = sysres ] && echo ", CAP_SYS_RESOURCE"))" \
		$eff "$(sed -n 's/^CapBnd:[[:space:]]*//p' "$D/caps")"
	local got
	got=$(sed -n 's/^CapEff:[[:space:]]*//p' "$D/caps")
	echo "    info: effective capabilities after attach: $got"
	check_eq "capabilities: effective after attach, none beyond those granted" 0 \
		"$(( 0x${got:-ffffffffffffffff} & ~0x$eff ))"
	case $BPFMEM/$CASE in
	rlimit/*) lim="unlimited unlimited" ;;	# raised by libbpf
	*/soft) lim="65536 unlimited" ;;
	*) lim="65536 65536" ;;
	esac
	check_eq "locked-memory limit (soft hard) while attached" "$lim" \
		"$(awk '/^Max locked memory/ { print $4, $5 }' "$D/caps")"
	exact 18094 "deployment ($CASE)"
}

# connects with an address the kernel refuses (scenarios.sh sc_shortaddr):
# no destination in fentry/kprobe, not seen in tracepoint (check_shortaddr,
# tests/lib.sh); the valid ones exact
ck_shortaddr() {
	common
	no_misses
	check_eq "trigger records (5 IPv4 cases, 7 IPv6)" 12 "$(grep -c '"shortaddr/' "$D/truth")"
	check_shortaddr "$WANT" "$D/truth" "$D/pw.out"
	check_eq "failure events with a destination (every failure here is a refused address)" 0 \
		"$(jq -c 'select(.type == "connect" and .errno != null and .daddr != null)' "$D/pw.out" | wc -l)"
}

# the room for keys of outcomes other than EADDRNOTAVAIL lowered to 1
# (scenarios.sh sc_unattr): every EADDRNOTAVAIL still per pid, exact; every
# outcome the mode sees counted, per pid or in the (unattributed) row
ck_unattr() {
	common fast
	no_misses
	local seen
	# tracepoint mode sees successes and EADDRNOTAVAIL only
	if [ "$WANT" = tracepoint ]; then
		seen='map(.ok + (.errors.EADDRNOTAVAIL // 0)) | add'
	else
		seen='map(.attempts) | add'
	fi
	check_eq "EADDRNOTAVAIL per pid (all of them)" \
		"$(rec 18097 '[.[] | select(.errors.EADDRNOTAVAIL) | {pid, n: .errors.EADDRNOTAVAIL}] | sort_by(.pid)')" \
		"$(summary | jq -c '[.processes[] | select(.errors.EADDRNOTAVAIL) | {pid, n: .errors.EADDRNOTAVAIL}] | sort_by(.pid)' | jq .)"
	check_eq "outcomes the mode sees, per pid or unattributed" "$(rec 18097 "$seen")" \
		"$(summary | jq '[.processes[].attempts] | add')"
	check_eq "unattributed rows = unattributed_outcomes" "$(summary | jq .unattributed_outcomes)" \
		"$(summary | jq '[.processes[] | select(.pid == 0 and .comm == "(unattributed)") | .attempts] | add // 0')"
	[ "$(summary | jq .unattributed_outcomes)" -gt 0 ] || fail "nothing unattributed past a room of 1 key"
	check_eq "no outcome counted from events (EADDRNOTAVAIL had room)" 0 "$(summary | jq .counted_from_events)"
}

# The programs of each mode (bpf/portwatch.bpf.c), as the kernel names them
# (15 characters at most)
mode_progs() {
	case $1 in
	fentry) echo "fe_|fx_" ;;
	kprobe) echo "kp_|krp_" ;;
	*) echo "tp_" ;;
	esac
}

# SIGKILL (scenarios.sh sc_kill): nothing of the killed portwatch (A) stays
# attached or defined; in kprobe mode its kprobe_events entries stay until
# the next portwatch (B) starts, which removes them and only portwatch's own
# of gone processes.
ck_kill() {
	local a ns live lstart held id k left
	common
	check_eq "A: attach line names the mode" 1 "$(grep -c "^portwatch: attached in $WANT mode" "$D/a.err")"
	check_eq "A: exit status after SIGKILL (128 + 9)" 137 "$(cat "$D/kill.rc")"
	check_eq "B: its events (the second run's 3 failures)" "$(rec 18097 '.[-1].errors.EADDRNOTAVAIL // 0')" \
		"$(jq -c 'select(.type == "connect" and .comm == "pwvm-kill")' "$D/pw.out" | wc -l)"
	check_eq "A: its events before the kill (the scenario's 2 failures)" 2 \
		"$(jq -c 'select(.type == "connect" and .comm == "pwvm-kill")' "$D/a.out" | wc -l)"
	a=$(jq .a "$D/ids") ns=$(jq .pidns "$D/ids") live=$(jq .live "$D/ids") lstart=$(jq .live_start "$D/ids")
	held=$(tr '\n' ' ' < "$D/held")
	echo "    info: A (pid $a) held: $held"
	check_eq "A held programs" 1 "$(grep -c '^prog ' "$D/held" | awk '{ print ($1 > 0) }')"
	check_eq "A held maps" 1 "$(grep -c '^map ' "$D/held" | awk '{ print ($1 > 0) }')"
	# its programs are portwatch's of this mode, by name
	check_eq "A's programs: all named as $WANT mode's ($(mode_progs "$WANT"))" "" \
		"$(while read -r k id; do [ "$k" = prog ] || continue
			jq -r --argjson id "$id" 'select(.kind == "prog" and .id == $id) | .name' "$D/bpf_before"
		done < "$D/held" | grep -vE "^($(mode_progs "$WANT"))")"
	check_eq "A's programs listed by the kernel while it ran" "$(grep -c '^prog ' "$D/held")" \
		"$(while read -r k id; do [ "$k" = prog ] || continue
			jq -c --argjson id "$id" 'select(.kind == "prog" and .id == $id)' "$D/bpf_before"
		done < "$D/held" | wc -l)"
	left=$(while read -r k id; do
		jq -r --arg k "$k" --argjson id "$id" 'select(.kind == $k and .id == $id) | "\(.kind) \(.id)"' "$D/bpf_after"
	done < "$D/held" | tr '\n' ' ')
	check_eq "A's programs, maps and links left after SIGKILL" "" "$left"
	[ -n "$BPFMEM" ] && check_eq "the BPF filesystem after SIGKILL (listed, nothing pinned)" listed "$(cat "$D/bpffs_killed")"
	check_eq "links left whose program was A's" "" \
		"$(while read -r k id; do [ "$k" = prog ] || continue
			jq -r --argjson id "$id" 'select(.kind == "link" and .prog_id == $id) | .id' "$D/bpf_after"
		done < "$D/held" | tr '\n' ' ')"
	if [ "$WANT" != kprobe ]; then
		check_eq "kprobe_events entries of portwatch at any step" 0 \
			"$(cat "$D"/krp_* 2>/dev/null | grep -c ':portwatch/pw_')"
		return
	fi
	# kprobe mode: the kernel keeps a definition until it is removed
	local mine="portwatch/pw_${ns}_${a}_"
	check_eq "A's kprobe_events entries while it ran (v4, v6, __inet_hash_connect)" 3 \
		"$(grep -c "^r[0-9]*:$mine[0-9]*_krp_" "$D/krp_running")"
	check_eq "A's entries after SIGKILL (left by the kernel)" 3 "$(grep -c "^r[0-9]*:$mine" "$D/krp_killed")"
	if [ "$MODE" != kprobe ]; then
		# auto took kprobe mode: the scenario made no look-alikes and ran
		# no C (it only does for --mode=kprobe); B removes A's entries
		check_eq "A's entries once B started" 0 "$(grep -c ":$mine" "$D/krp_next")"
		check_eq "B's own entries while it ran" 3 \
			"$(grep -v ":$mine" "$D/krp_next" | grep -c '^r[0-9]*:portwatch/pw_')"
		check_eq "entries of portwatch after B stopped" 0 \
			"$(grep -c ':portwatch/pw_' "$D/krp_after")"
		return
	fi
	check_eq "C (tracepoint mode, started after the kill): exit status" 0 "$(cat "$D/c.rc")"
	check_eq "A's entries once C started (removed by C, in tracepoint mode)" 0 \
		"$(grep -c ":$mine" "$D/krp_after_c")"
	check_eq "reused pid's entry once C started (removed by C)" 0 \
		"$(grep -c ":portwatch/pw_${ns}_1_1_" "$D/krp_after_c")"
	check_eq "A's entries once B started" 0 "$(grep -c ":$mine" "$D/krp_next")"
	check_eq "B's own entries while it ran" 3 \
		"$(grep -v ":$mine\|pw_${ns}_${live}_\|pw_${ns}_1_1_" "$D/krp_next" | grep -c '^r[0-9]*:portwatch/pw_')"
	check_eq "entries of portwatch after B stopped (only the live maker's look-alike)" \
		"portwatch/pw_${ns}_${live}_${lstart}_krp_v4_connect" \
		"$(sed -n 's/^r[0-9]*:\(portwatch\/pw_[^ ]*\) .*/\1/p' "$D/krp_after" | tr '\n' ' ' | sed 's/ $//')"
	local e
	for e in "kprobes/pw_99999_krp_v4_connect" "othertool/pw_${ns}_99999_1_krp_v4_connect" \
		"portwatch/pwx_${ns}_99999_1_krp_v4_connect" "portwatch/pw_${ns}_${live}_${lstart}_krp_v4_connect"; do
		check_eq "look-alike or live maker's entry $e: made, kept by C, kept by B" "1 1 1" \
			"$(grep -c ":$e " "$D/krp_start") $(grep -c ":$e " "$D/krp_after_c") $(grep -c ":$e " "$D/krp_after")"
	done
	check_eq "reused pid's entry (pid 1, another start time): made, gone while B ran" "1 0" \
		"$(grep -c ":portwatch/pw_${ns}_1_1_krp_v4_connect " "$D/krp_start") $(grep -c ":portwatch/pw_${ns}_1_1_" "$D/krp_next")"
}
