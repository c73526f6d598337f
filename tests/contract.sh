# Promises of the interface that had no test (issue 26, item 7): -q writes no event lines
# (its diagnoses still live), exit 1 without BTF, --listen in a static build, the bounds of
# the test-only variables, the scan counters and histogram end to end.
# Sourced by tests/run.sh after tests/lib.sh and tests/integration.sh.

# -q: no event lines, but the diagnoses a run without -q gives for the
# scenario (the kernel writes one sampled failure per process and
# destination each 5 s, bpf/event.bpf.h): one pressure object for the
# destination and one live advice for the trigger (its pid and cgroup); the
# summary still exact (counts from the maps, never from the sampled events).
t_quiet_writes_no_event_lines() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -q --cgroup="$OWN_CG"
	must in_ns "$TRIGGER" --comm pwt-quiet --port 18120 exhaust --count 13 > "$T/t"
	pw_stop
	local pid
	pid=$(truth '.[0].pid' "$T/t")
	check_eq "failures (the scenario)" 3 "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")"
	check_eq "connect objects written with -q" 0 "$(grep -c '"type":"connect"' "$T/pw.out")"
	check_eq "pressure objects: one, the destination's, the trigger's pid" "[[$pid,18120]]" \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "pressure" and .pressure.netns == $ns) | [.pid, .pressure.dport]]' "$T/pw.out")"
	# the trigger ran in this shell's cgroup (sed's, in it too)
	check_eq "advice objects: one, the trigger's pid and cgroup" "[[$pid,\"$(sed -n 's/^0:://p' /proc/self/cgroup)\",18120]]" \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "advice" and .pressure.netns == $ns) | [.pid, .cgroup, .pressure.dport]]' "$T/pw.out")"
	check_eq "last line is the summary" summary "$(tail -n 1 "$T/pw.out" | jq -r .type)"
	check_eq "summary: the trigger's attempts, failures, EADDRNOTAVAIL" \
		"[$(truth_sum .attempts "$T/t"),3,3]" \
		"$(summary | jq -c ".processes[] | select(.pid == $pid) | [.attempts, .failures, .errors.EADDRNOTAVAIL]")"
	# the sampled events are not the stream's (PW_SAMPLED, bpf/portwatch.h)
	check_eq "summary: events received, lost, counted from events" "[0,0,0]" \
		"$(summary | jq -c '[.events_received, .events_lost, .counted_from_events]')"
}

# A daemon with -q (-j, and text) gets its live remedies while it runs, not
# only at its stop (issue 24 item 4): a real curl fails in the test's netns
# and cgroup (the range filled by 10 curl runs, their ports in TIME_WAIT)
# and waits (its second URL is file://FIFO, whose open blocks) until both
# portwatches have written its advice; only then are they stopped.
t_quiet_daemon_live_remedy() {
	command -v curl >/dev/null || skip "curl not installed"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	# the text portwatch first (pw_start empties pw.out and pw.err)
	"$PW" ${PW_MODE_ARGS:-} -q --cgroup="$OWN_CG" > "$T/pwt.out" 2> "$T/pwt.err" &
	local tpid=$! cj pc
	defer "kill -INT $tpid; wait $tpid"
	wait_for "$T/pwt.err" 'attached in' 10 || exit 1
	pw_start -j -q --cgroup="$OWN_CG"
	local i ok=0
	for i in $(seq 10); do
		in_ns curl -s -o /dev/null http://127.0.0.1:8080/ && ok=$((ok + 1))
	done
	check_eq "range filled: curl runs ok" 10 "$ok"
	mkfifo "$T/c.go"
	# ip netns exec execs curl: $! is curl's pid
	ip netns exec "$NS" curl -s -o /dev/null http://127.0.0.1:8080/ "file://$T/c.go" > /dev/null &
	cj=$!
	defer "kill $cj 2>/dev/null; wait $cj"
	pc=$cj
	# while both run: the advice for this curl, in NDJSON and in text
	wait_for "$T/pw.out" "^\{\"type\":\"advice\",.*\"pid\":$pc,.*\"client\":\"libcurl\"" 15 || exit 1
	wait_for "$T/pwt.out" "for pid $pc \(curl\), client libcurl" 15 || exit 1
	check_eq "portwatch -j -q still running when its advice is out" 1 "$(kill -0 "$PW_PID" && echo 1)"
	check_eq "portwatch -q still running when its REMEDIES are out" 1 "$(kill -0 "$tpid" && echo 1)"
	timeout "$(waited 5)" sh -c ": > '$T/c.go'"
	wait $cj
	check_eq "curl: exit status (its last URL, the FIFO)" 0 $?
	pw_stop
	kill -INT $tpid
	wait $tpid
	check_eq "text portwatch exit" 0 $?
	check_eq "connect objects written with -q" 0 "$(grep -c '"type":"connect"' "$T/pw.out")"
	check_eq "advice objects of the netns: one, this curl's" "[$pc]" \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "advice" and .pressure.netns == $ns) | .pid]' "$T/pw.out")"
	check_eq "advice before the summary" 1 \
		"$(sed '/"type":"summary"/q' "$T/pw.out" | grep -c "^{\"type\":\"advice\",.*\"pid\":$pc,")"
	check_eq "text: one live REMEDIES block, before the summary" 1 \
		"$(sed '/per-process connect() outcomes (summary/q' "$T/pwt.out" | grep -c '^REMEDIES for 127\.0\.0\.1:8080 ')"
	check_eq "summary: curl's one EADDRNOTAVAIL, exact" "[[$pc,1]]" \
		"$(summary | jq -c '[.processes[] | select(.errors.EADDRNOTAVAIL) | [.pid, .errors.EADDRNOTAVAIL]]')"
}

# pw_sampled_dump: the `sampled` map of this test's portwatch (by the map
# ids of its fds: other instances have maps of that name), as bpftool
# formats it from its BTF: [{key: {tgid, port, ...}, value: {last_ns, writes}}]
pw_sampled_dump() {
	local id
	for id in $(awk '/^map_id:/ {print $2}' /proc/"$PW_PID"/fdinfo/* 2>/dev/null); do
		if [ "$(bpftool -j map show id "$id" 2>/dev/null | jq -r .name)" = sampled ]; then
			bpftool -j map dump id "$id" | jq -c '[.[].formatted]'
			return
		fi
	done
	echo "no map named sampled among portwatch's"
}

# -q under a storm: one process fails 3,000 times to one destination within
# seconds. The kernel writes one sampled event per (process, destination)
# each 5 s: the sampled events portwatch received (the summary's samples:
# the trigger's is the only failing key of the cgroup) are
# 1..floor(span/5 s)+1, span the trigger's own from before its first
# failing connect() to after its last (fail_span_ns), never one per
# failure; none lost; the kernel's count of writes for the key (the
# `sampled` map, read while portwatch runs) the same; no event of the
# stream (events_received 0); the counts (the maps') exact; one advice.
t_quiet_storm_sampled() {
	command -v bpftool >/dev/null || skip "bpftool not installed"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -q --cgroup="$OWN_CG"
	must in_ns "$TRIGGER" --comm pwt-qstorm --port 18121 exhaust --count 3010 > "$T/t"
	local pid fails dump
	pid=$(truth '.[0].pid' "$T/t")
	dump=$(pw_sampled_dump)
	pw_stop
	fails=$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")
	check_eq "failures (the scenario)" 3000 "$fails"
	check_eq "summary: the trigger's attempts, EADDRNOTAVAIL" "[$(truth_sum .attempts "$T/t"),$fails]" \
		"$(summary | jq -c ".processes[] | select(.pid == $pid) | [.attempts, .errors.EADDRNOTAVAIL]")"
	check_eq "summary: events received, lost, counted from events" "[0,0,0]" \
		"$(summary | jq -c '[.events_received, .events_lost, .counted_from_events]')"
	check_eq "sampled keys: the trigger's one destination" "[[$pid,18121,0,$NS_INO]]" \
		"$(jq -c --argjson p "$pid" '[.[] | select(.key.tgid == $p) | [.key.tgid, .key.port, .key.op, .key.netns]]' <<<"$dump")"
	local writes bound samples span
	span=$(jq -s '[.[] | select(.type == "record") | .fail_span_ns] | add' "$T/t")
	bound=$((span / 5000000000 + 1))
	samples=$(summary | jq .samples)
	echo "    info: $fails failures in $((span / 1000000)) ms, $samples sampled events received (bound $bound)"
	check_eq "sampled events received: 1..$bound" 1 \
		"$([ "$samples" -ge 1 ] && [ "$samples" -le "$bound" ] && echo 1)"
	check_eq "sampled events lost" 0 "$(summary | jq .samples_lost)"
	writes=$(jq --argjson p "$pid" '[.[] | select(.key.tgid == $p) | .value.writes] | add' <<<"$dump")
	check_eq "the kernel's writes for the key: the samples received" "$samples" "$writes"
	check_eq "advice: one, the trigger's" "[$pid]" \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "advice" and .pressure.netns == $ns) | .pid]' "$T/pw.out")"
}

# -q with --ops bind: a server's bind(127.0.0.1, P) refused three times
# (P held by a client's connection, drawn from the range: the scenario of
# t_bind_port_ephemeral_holder) gets its port_holder diagnosis while
# portwatch runs, from the event the kernel sampled for (server,
# bind_port, 127.0.0.1:P): the sampled events received (the summary's
# samples) 1..floor(span/5 s)+1, span the server's own from before its
# first refused bind to after its last, none lost, the kernel's writes for
# the key the same; no bind_port event object; the summary's count exact.
t_quiet_bind_port_holder() {
	ops_need
	command -v python3 > /dev/null || skip "no python3"
	command -v bpftool >/dev/null || skip "bpftool not installed"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -q --ops bind --cgroup "$OWN_CG"
	ephemeral_holder 18097
	local hpid port spid dump writes bound
	hpid=$(jq .pid "$T/h")
	port=$(jq .port "$T/h")
	bind_port_server 127.0.0.1 "$port" 3
	spid=$(jq .pid "$T/s")
	check_eq "the server's binds (the scenario)" '{"EADDRINUSE":3}' "$(jq -c .errors "$T/s")"
	wait_for "$T/pw.out" '"type":"port_holder"' 20 || exit 1
	dump=$(pw_sampled_dump)
	pw_stop
	check_eq "bind_port event objects written with -q" 0 "$(grep -c '"op":"bind_port"' "$T/pw.out")"
	check_eq "port_holder diagnoses: one, the server's, P, the holder's pid" "[[$spid,$port,$hpid]]" \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "port_holder" and .netns == $ns) | [.pid, .sport, .holder.pid]]' "$T/pw.out")"
	check_eq "summary op_failures.bind_port of the server" 3 "$(summary_op "$spid" bind_port)"
	check_eq "summary: events received, lost, counted from events" "[0,0,0]" \
		"$(summary | jq -c '[.events_received, .events_lost, .counted_from_events]')"
	check_eq "sampled keys of the server: bind_port (op 4), P" "[[4,$port]]" \
		"$(jq -c --argjson p "$spid" '[.[] | select(.key.tgid == $p) | [.key.op, .key.port]]' <<<"$dump")"
	local samples
	bound=$(($(jq .fail_span_ns "$T/s") / 5000000000 + 1))
	samples=$(summary | jq .samples)
	check_eq "sampled events received: 1..$bound" 1 \
		"$([ "$samples" -ge 1 ] && [ "$samples" -le "$bound" ] && echo 1)"
	check_eq "sampled events lost" 0 "$(summary | jq .samples_lost)"
	writes=$(jq --argjson p "$spid" '[.[] | select(.key.tgid == $p) | .value.writes] | add' <<<"$dump")
	check_eq "the kernel's writes for the server's key: the samples received" "$samples" "$writes"
}

# A kernel without BTF: exit 1, one line, nothing attached. The BTF is made
# absent for portwatch alone: a private mount namespace (unshare -m, private
# propagation: the host's mounts are untouched) with an empty tmpfs over
# /sys/kernel/btf, and over every other place libbpf looks for a vmlinux.
t_no_btf_exit_1() {
	command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
	command -v bpftool >/dev/null || skip "bpftool not installed"
	local before rc masks="" f
	for f in /boot/vmlinux-"$(uname -r)" /lib/modules/"$(uname -r)"/vmlinux-"$(uname -r)" \
		/lib/modules/"$(uname -r)"/build/vmlinux /usr/lib/modules/"$(uname -r)"/kernel/vmlinux \
		/usr/lib/debug/boot/vmlinux-"$(uname -r)" /usr/lib/debug/boot/vmlinux-"$(uname -r)".debug \
		/usr/lib/debug/lib/modules/"$(uname -r)"/vmlinux; do
		[ -e "$f" ] && masks="$masks mount --bind /dev/null '$f' &&"
	done
	before=$(bpf_prog_max_id)
	unshare -m --propagation private sh -c "mount -t tmpfs pwt-nobtf /sys/kernel/btf && $masks exec \"\$0\" -d 1" \
		"$PW" > "$T/out" 2> "$T/err"
	rc=$?
	check_eq "exit code without BTF" 1 "$rc"
	check_eq "stderr" "portwatch: kernel has no BTF at /sys/kernel/btf/vmlinux (needs CONFIG_DEBUG_INFO_BTF=y)" \
		"$(cat "$T/err")"
	check_eq "stdout" "" "$(cat "$T/out")"
	check_eq "portwatch programs left (new, held by no process)" "[]" "$(our_new_progs "$before")"
	check_eq "the host still has its BTF" 1 "$([ -r /sys/kernel/btf/vmlinux ] && echo 1)"
}

# The static build has no /metrics: --listen is exit 1 with one line
# (README: static builds), before anything is attached. The static binary
# is the kernel matrix's ($OUT/static, built here if missing: make keeps it).
t_static_listen_exit_1() {
	[ -z "${PW_SAN_INNER:-}" ] || skip "the static build is not a sanitizer build (run in the first pass)"
	local st=${OUTPUT:-.output}/static before rc
	make -s STATIC=1 OUTPUT="$st" BIN="$st/portwatch" "$st/portwatch" > "$T/build" 2>&1 ||
		{ fail "setup: static build: $(tail -n 3 "$T/build")"; exit 1; }
	check_eq "static build is static" 1 "$(file -L "$st/portwatch" | grep -c 'statically linked')"
	before=$(bpf_prog_max_id)
	"$st/portwatch" -q -l 127.0.0.1:"$METRICS_PORT" -d 1 > "$T/out" 2> "$T/err"
	rc=$?
	check_eq "--listen in the static build: exit code" 1 "$rc"
	check_eq "stderr: one line" "portwatch: this static build has no metrics endpoint (build without STATIC=1)" \
		"$(cat "$T/err")"
	check_eq "nothing listens on the port" "" "$(ss -Htln "sport = :$METRICS_PORT")"
	check_eq "portwatch programs left (new, held by no process)" "[]" "$(our_new_progs "$before")"
}

# The test-only variables: out of their bounds, exit 2 and one line naming
# the variable (never a silently clamped value); their bounds accepted.
# out_of_range VAR MAX VALUE...: each VALUE of VAR is exit 2 and one line
# naming VAR and its range 1..MAX
out_of_range() {
	local var=$1 max=$2 v rc
	shift 2
	for v in "$@"; do
		env "$var=$v" "$PW" -q -d 1 > "$T/o" 2> "$T/e"
		rc=$?
		check_eq "$var=$v exit" 2 "$rc"
		check_eq "$var=$v: one line naming it and the range" \
			"portwatch: $var='$v': a number from 1 to $max" "$(cat "$T/e")"
	done
}
t_test_variables_bounds() {
	local v
	out_of_range PORTWATCH_TEST_NCPU 8192 0 8193 -1 x 1x 99999999999999999999
	out_of_range PORTWATCH_TEST_PROCS_OPEN 12288 0 12289 -1 x 99999999999999999999
	out_of_range PORTWATCH_TEST_WL_CACHE 4096 0 4097 -1 x 1x 99999999999999999999
	out_of_range PORTWATCH_TEST_BIND_CALLS 16384 0 16385 -1 x 1x 99999999999999999999
	# the bounds themselves run (1 CPU; 1 and 12,288 keys; 1 and 4,096 cgroups)
	for v in "PORTWATCH_TEST_NCPU=1" "PORTWATCH_TEST_PROCS_OPEN=1" "PORTWATCH_TEST_PROCS_OPEN=12288" \
		"PORTWATCH_TEST_WL_CACHE=1" "PORTWATCH_TEST_WL_CACHE=4096" \
		"PORTWATCH_TEST_BIND_CALLS=1" "PORTWATCH_TEST_BIND_CALLS=16384"; do
		env "$v" "$PW" -q -d 1 > "$T/o" 2> "$T/e"
		check_eq "$v: exit code" 0 $?
		check_eq "$v: attached" 1 "$(grep -c '^portwatch: attached in' "$T/e")"
	done
}

# "attached in" is the last line of the start: the netns and capabilities
# lines, the metrics address and the text header (stdout) are written before
# it, so a test (or a supervisor) that waits for it finds them all. Both
# streams into one file: the order in it is the order of the writes.
t_startup_attached_last() {
	own_cgroup
	local cg=$OWN_CG/idle at n what
	mkdir "$cg" || { fail "setup: mkdir $cg"; exit 1; }
	defer "rmdir '$cg'"
	# shellcheck disable=SC2086
	"$PW" ${PW_MODE_ARGS:-} --cgroup="$cg" -l "127.0.0.1:$METRICS_PORT" > "$T/all" 2>&1 &
	PW_PID=$!
	defer "kill -INT $PW_PID; wait $PW_PID"
	wait_for "$T/all" '^portwatch: attached in' "${PW_ATTACH_WAIT:-10}" || { sed 's/^/      pw: /' "$T/all"; exit 1; }
	cp "$T/all" "$T/snap"
	at=$(grep -n '^portwatch: attached in' "$T/snap" | cut -d: -f1)
	check_eq "attach lines" 1 "$(wc -l <<<"$at")"
	for what in '^portwatch: netns [0-9]+[ :]' '^portwatch: capabilities after attach: ' \
		"^portwatch: metrics at http://127\\.0\\.0\\.1:$METRICS_PORT/metrics\$" '^TIME +PID +COMM '; do
		n=$(grep -nE -- "$what" "$T/snap" | cut -d: -f1)
		check_eq "/$what/: one line, before the attach line" "1 yes" \
			"$(grep -cE -- "$what" "$T/snap") $([ -n "$n" ] && [ "$(head -1 <<<"$n")" -lt "$at" ] && echo yes || echo no)"
	done
	pw_stop
}

# portwatch_port_scans_total and portwatch_port_scan_duration_seconds end to
# end against the trigger's own counts (the histogram per the mode auto
# took, read from its attach line): every connect of the trigger (in a
# cgroup of the test's: the scrapes' own connects are not counted) selects
# a port once, with success or with the range exhausted.
t_metrics_port_scans_end_to_end() {
	command -v curl >/dev/null || skip "curl not installed"
	own_cgroup
	local cg=$OWN_CG/trigger m end
	mkdir "$cg" || { fail "setup: mkdir $cg"; exit 1; }
	defer "rmdir '$cg'"
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -q -l "127.0.0.1:$METRICS_PORT" --cgroup="$cg"
	# in_cg_ns CMD...: CMD in the test netns and in the trigger's cgroup
	sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$cg" "$NS" \
		"$TRIGGER" --comm pwt-scan --port 18121 exhaust --count 13 > "$T/t4" || fail "setup: trigger v4"
	sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$cg" "$NS" \
		"$TRIGGER" --comm pwt-scan --addr ::1 --port 18122 exhaust --count 12 > "$T/t6" || fail "setup: trigger v6"
	local ok4 ex4 ok6 ex6
	ok4=$(truth_sum .ok "$T/t4") ex4=$(truth_sum '.errors.EADDRNOTAVAIL // 0' "$T/t4")
	ok6=$(truth_sum .ok "$T/t6") ex6=$(truth_sum '.errors.EADDRNOTAVAIL // 0' "$T/t6")
	check_eq "trigger v4: ok, EADDRNOTAVAIL (the scenario)" "10 3" "$ok4 $ex4"
	check_eq "trigger v6: ok, EADDRNOTAVAIL (the scenario)" "10 2" "$ok6 $ex6"
	# the counters are read from the kernel's map every second: wait for them
	end=$((SECONDS + $(waited 20)))
	while :; do
		curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" > "$T/m"
		m=$(awk '$1 == "portwatch_connect_attempts_total{family=\"inet\"}" || $1 == "portwatch_connect_attempts_total{family=\"inet6\"}" {s += $2} END {print s + 0}' "$T/m")
		[ "$m" -ge $((ok4 + ex4 + ok6 + ex6)) ] || [ $SECONDS -ge $end ] || { sleep 0.2; continue; }
		break
	done
	val() { awk -v k="$1" '$1 == k {print $2}' "$T/m"; }
	check_eq "port_scans_total inet ok" "$ok4" "$(val 'portwatch_port_scans_total{family="inet",result="ok"}')"
	check_eq "port_scans_total inet exhausted" "$ex4" "$(val 'portwatch_port_scans_total{family="inet",result="exhausted"}')"
	check_eq "port_scans_total inet6 ok" "$ok6" "$(val 'portwatch_port_scans_total{family="inet6",result="ok"}')"
	check_eq "port_scans_total inet6 exhausted" "$ex6" "$(val 'portwatch_port_scans_total{family="inet6",result="exhausted"}')"
	# the histogram has the timed scans: in tracepoint mode only the
	# EADDRNOTAVAIL failures' (README, metrics), every scan in the others
	local timed_ok=$((ok4 + ok6)) mode
	mode=$(pw_mode)
	[ "$mode" = tracepoint ] && timed_ok=0
	check_eq "scan histogram count, ok ($mode mode)" "$timed_ok" "$(val 'portwatch_port_scan_duration_seconds_count{result="ok"}')"
	check_eq "scan histogram count, exhausted" $((ex4 + ex6)) "$(val 'portwatch_port_scan_duration_seconds_count{result="exhausted"}')"
	check_eq "scan histogram +Inf bucket = count, ok" "$timed_ok" \
		"$(val 'portwatch_port_scan_duration_seconds_bucket{result="ok",le="+Inf"}')"
	check_eq "scan histogram +Inf bucket = count, exhausted" $((ex4 + ex6)) \
		"$(val 'portwatch_port_scan_duration_seconds_bucket{result="exhausted",le="+Inf"}')"
	# cumulative buckets never decrease
	check_eq "buckets cumulative (never decreasing)" 0 \
		"$(grep '^portwatch_port_scan_duration_seconds_bucket{result="exhausted"' "$T/m" | awk '{ if (NR > 1 && $2 < p) bad++; p = $2 } END {print bad + 0}')"
	pw_stop
}

# counts_dropped end to end: the outcomes with no room in the per-process map
# whose event was lost too. Only an EADDRNOTAVAIL outcome whose key does not
# fit the per-process map (PW_PROCS_ENTRIES, 16,384 keys) goes to the ring
# buffer for its count; an outcome of another errno is then counted
# unattributed, never lost (bpf/account.bpf.h, count()). So: portwatch -q
# is stopped (SIGSTOP: no sync swaps the map, nothing reads the ring
# buffer); in the test's netns, whose 10 ports a holder (not judged) keeps
# ESTABLISHED, 16,500 bash subshells each connect once to it (bash's
# /dev/tcp: EADDRNOTAVAIL, one key each) and fill the map; then one trigger
# fails 40,000 times (its key has no room: 40,000 uncounted events, more
# than the 4 MiB ring buffer holds, ~29,000). Continued, portwatch counts
# what the ring buffer kept. Exact against the clients' own records: their
# attempts = the summary's rows + counts_dropped (a run the kernel skipped,
# a recursion miss it reports, loses one more at most); with -q every event
# is an uncounted outcome's, so counts_dropped = events_lost and
# counted_from_events = events received + counts_dropped. The exit's stderr
# says each in one line.
t_counts_dropped_stderr_line() {
	own_cgroup
	local cg=$OWN_CG/crowd n=16500 hold s total rows dropped lost recv via rec missed
	mkdir "$cg" || { fail "setup: mkdir $cg"; exit 1; }
	defer "rmdir '$cg'"
	mk_netns $RANGE_LO $RANGE_HI
	mkfifo "$T/go"
	in_ns "$TRIGGER" --go "$T/go" --port 18131 parallel --procs 1 --seconds 0.001 > "$T/hold" &
	hold=$!
	defer "kill $hold"
	wait_for "$T/hold" '"type":"waiting"' 10 || exit 1
	pw_start -j -q --cgroup="$cg"
	kill -STOP "$PW_PID"
	defer "kill -CONT $PW_PID"	# runs before pw_start's kill -INT
	# in_cg_ns CMD...: CMD in the test netns and in the judged cgroup
	in_cg_ns() { sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$cg" "$NS" "$@"; }
	in_cg_ns bash -c 'for ((i = 0; i < $0; i++)); do (echo "$BASHPID" >&3; exec 3<> /dev/tcp/127.0.0.1/18131); done' \
		"$n" 2> "$T/crowd.err" 3> "$T/crowd.pids"
	# one key each only if no pid came round twice (pid_max, the host's load)
	local pids
	pids=$(sort -u "$T/crowd.pids" | wc -l)
	[ "$pids" -ge 16384 ] || skip "only $pids distinct pids among the $n subshells (pid_max $(cat /proc/sys/kernel/pid_max) came round): the per-process map is not full"
	in_cg_ns "$TRIGGER" --comm pwt-drop --port 18132 exhaust --count 40010 > "$T/t" ||
		{ fail "setup: trigger"; exit 1; }
	kill -CONT "$PW_PID"
	pw_stop
	: > "$T/go"	# open and close: the holder starts (no write, no SIGPIPE)
	wait "$hold"
	check_eq "bash subshells failed with EADDRNOTAVAIL (the scenario)" "$n" \
		"$(grep -c 'connect: Cannot assign requested address$' "$T/crowd.err")"
	check_eq "trigger: ok, EADDRNOTAVAIL (the scenario)" "10 40000" \
		"$(truth_sum .ok "$T/t") $(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")"
	total=$((n + $(truth_sum .attempts "$T/t")))
	s=$(summary)
	rows=$(jq '[.processes[].attempts] | add // 0' <<<"$s")
	dropped=$(jq .counts_dropped <<<"$s")
	lost=$(jq .events_lost <<<"$s")
	recv=$(jq .events_received <<<"$s")
	via=$(jq .counted_from_events <<<"$s")
	echo "    info: clients' attempts $total; summary rows $rows, counts_dropped $dropped, events received $recv, lost $lost, counted from events $via"
	check_eq "some outcomes dropped (the scenario: ring buffer overrun)" 1 "$([ "$dropped" -gt 0 ] && echo 1)"
	# a program run the kernel skipped (recursion misses, said at exit)
	# loses its outcome: "up to N not counted", N from any process's runs
	rec=$(jq '.recursion_misses // 0' <<<"$s")
	missed=$((total - rows - dropped))
	if [ "$rec" = 0 ]; then
		check_eq "clients' attempts = summary rows' attempts + counts_dropped" "$total" $((rows + dropped))
	else
		echo "    info: $rec recursion misses: $missed outcomes of the clients' not counted"
		check_eq "clients' attempts - rows - counts_dropped within 0..$rec (recursion misses)" 1 \
			"$([ "$missed" -ge 0 ] && [ "$missed" -le "$rec" ] && echo 1)"
	fi
	check_eq "counts_dropped = events_lost (-q: every event an uncounted outcome's)" "$lost" "$dropped"
	check_eq "counted_from_events = events received + counts_dropped" $((recv + dropped)) "$via"
	check_eq "stderr at exit: the counts_dropped line" 1 "$(grep -cFx "portwatch: $dropped outcomes not counted: per-process map full and their events lost (ring buffer full) or over the queue's 65536 keys of counts from events" "$T/pw.err")"
	check_eq "stderr at exit: the events_lost line" 1 "$(grep -cFx "portwatch: $lost events lost (ring buffer full); counts above are exact" "$T/pw.err")"
	check_eq "stderr at exit: the counted_from_events line" 1 "$(grep -cFx "portwatch: $via outcomes counted from their events: per-process map full" "$T/pw.err")"
}

# untraced end to end: a connect whose start state could not be stored.
# The stores of the default state (`stash_sk`, `stash`) are LRU hashes that
# evict instead of failing; socket storage (PORTWATCH_STATE=sk_storage)
# charges each socket's option memory (bpf_sk_storage_charge against
# net.core.optmem_max, a per-netns sysctl on recent kernels), so in the
# test's own netns with optmem_max=0 every new socket's state is refused:
# each connect that reaches SYN_SENT (all of the trigger's, its failures
# too) is untraced and nothing of it counted. Exact against the trigger's record: untraced = its
# attempts, no row, no event; the exit's stderr says it in one line.
t_untraced_stderr_line() {
	need_sk_storage
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	# a kernel whose optmem_max is the host's only has no such file in a
	# netns of its own (the root namespace's sysctls are never touched)
	in_ns test -w /proc/sys/net/core/optmem_max ||
		skip "net.core.optmem_max is not per network namespace on this kernel"
	must in_ns sysctl -qw net.core.optmem_max=0
	check_eq "optmem_max in the test netns" 0 "$(in_ns cat /proc/sys/net/core/optmem_max)"
	pw_start -j --cgroup="$OWN_CG"
	sk_storage_check
	must in_ns "$TRIGGER" --comm pwt-untraced --port 18133 exhaust --count 25 > "$T/t"
	pw_stop
	local n
	n=$(truth_sum .attempts "$T/t")
	check_eq "trigger: attempts, ok, EADDRNOTAVAIL (the scenario)" "25 10 15" \
		"$n $(truth_sum .ok "$T/t") $(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")"
	check_eq "summary: untraced = the trigger's connects" "$n" "$(summary | jq .untraced)"
	check_eq "summary: no row (nothing traced)" 0 "$(summary | jq '.processes | length')"
	check_eq "no connect event" 0 "$(grep -c '"type":"connect"' "$T/pw.out")"
	check_eq "stderr at exit: the untraced line" 1 \
		"$(grep -cFx "portwatch: $n connects not traced: per-thread state map full" "$T/pw.err")"
}
