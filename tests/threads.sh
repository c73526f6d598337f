# The consumer and the worker at work at once, for the TSan pass (make tsan:
# tests/run.sh runs every test again with that build, and any report is a
# FAIL); the checks hold in every pass. Sourced by tests/run.sh after
# tests/lib.sh and tests/integration.sh (RANGE_LO/HI, truth helpers).

# Text output with --interval during a storm while failing processes come
# and go: the consumer prints and folds event lines while the worker prints a
# table every second (and reads the fold's counters for it); the summary's
# counts are still exact: lines printed + folded = received, received +
# lost = the clients' failures.
t_threads_interval_text() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	# the test's own cgroup: a storm of another suite on the host must not
	# add to the counts
	local port=$((20000 + RANDOM % 10000))
	pw_start --cgroup="$OWN_CG" -i 1
	# a storm of 2 for 5 s keeps the consumer in long passes over the ring
	# buffer (folded lines) while short-lived shells connect to the same
	# destination, failing once each: every one a new key, a line printed
	# and counted in the fold, as the worker's tables read those counters
	in_ns "$TRIGGER" --comm pwt-thr --port "$port" parallel --procs 2 --seconds 5 > "$T/truth" &
	local storm=$!
	defer "kill $storm; wait $storm"
	# the shells start once the storm fails (its server is up, its range
	# full); "EADDRNOTAVAIL OTHER_FAILURES TRIES": their own count
	wait_for "$T/pw.out" " pwt-thr +ipv4 +127\.0\.0\.1:$port +EADDRNOTAVAIL " 30 || exit 1
	in_ns bash -c 'f=0 o=0 n=0 end=$((SECONDS + 3))
		while [ $SECONDS -lt $end ] && [ $n -lt 20000 ]; do
			e=$( { exec 3<>"/dev/tcp/127.0.0.1/$1"; } 2>&1 )
			case $e in
			"") ;;
			*"Cannot assign requested address"*) f=$((f + 1)) ;;
			*) o=$((o + 1)) ;;
			esac
			n=$((n + 1))
		done
		echo "$f $o $n"' - "$port" > "$T/shells"
	wait "$storm"
	check_eq "the storm's trigger exit code" 0 $?
	# a table a second: two at least since the start (the worker may be
	# late behind the storm's diagnoses)
	wait_count "$T/pw.out" 'per-process connect\(\) outcomes \(interval' 2 30 || exit 1
	pw_stop
	local fails received printed folded lost n
	local sf so sn
	read -r sf so sn < "$T/shells"
	fails=$(( $(truth_sum '.attempts - .ok' "$T/truth") + sf ))
	read -r received printed folded lost < <(sed -nE \
		's/^events: ([0-9]+) received = ([0-9]+) lines printed \+ ([0-9]+) folded into "\.\.\. more" lines; ([0-9]+) lost.*/\1 \2 \3 \4/p' "$T/pw.out")
	[ -n "$received" ] || { fail "no events line in the summary"; tail -n 20 "$T/pw.out" | sed 's/^/      /'; exit 1; }
	n=$(grep -c 'per-process connect() outcomes (interval' "$T/pw.out")
	echo "    info: a storm and $sn shells ($sf failed): $fails failures: $received received ($printed printed, $folded folded), $lost lost; $n interval tables"
	check_eq "interval tables report events received" "$n" \
		"$(grep -cE '^events: [0-9]+ received, [0-9]+ lost \(ring buffer full\)$' "$T/pw.out")"
	check_eq "failure lines printed = lines printed (summary)" "$printed" \
		"$(grep -cE " (pwt-thr|bash) +ipv4 +127\.0\.0\.1:$port +[A-Z]+ " "$T/pw.out")"
	check_eq "printed + folded = received" "$received" "$((printed + folded))"
	check_eq "received + lost = the clients' failures" "$fails" "$((received + lost))"
	[ "$sf" -gt 0 ] || fail "no shell's connect failed: $sn tried"
	check_eq "shells' connects failing otherwise (the storm's server is up)" 0 "$so"
}
