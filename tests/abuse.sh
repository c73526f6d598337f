# Fair and bounded under abuse (issue 15, item 1): an unprivileged local
# user tries to blind portwatch while the curl case runs; curl's failures
# must still be counted and shown exactly, and memory stay bounded. Sourced
# by tests/run.sh after tests/lib.sh and tests/integration.sh (curl_runs,
# start_httpd, check_curl_*). `tests/run.sh abuse` runs it.
#
# The hostile user (a throwaway system user, deleted at the end) runs:
# - a crowd of ABUSE_CROWD processes that each fail connects in several ways
#   and then sleep (tests/hostile.c crowd): 4 (process, errno, family) keys
#   each in tracepoint mode (a refused connect counts as one whose port
#   selection succeeded), so 4,500 of them need 18,000 keys: more than the
#   16,384 of the kernel's per-process map (the fentry/kprobe modes see
#   ENETUNREACH too: 2,000 would do there);
# - ABUSE_HOLD non-blocking connects held in SYN_SENT (a listener with a
#   full accept queue, tcp_syncookies=0 in that netns only), spread over
#   processes of at most 4,250 sockets (RLIMIT_NOFILE's hard limit here is
#   20,000): more than the 16,384 entries of the per-socket state.
# Everything stays inside the test's own network namespaces.

ABUSE_CROWD=${ABUSE_CROWD:-4500}
ABUSE_HOLD=${ABUSE_HOLD:-17000}
ABUSE_PER_PROC=4250
HOSTILE=$OUT/tests/hostile

# abuse_map_entries NAME: "entries/max_entries" of portwatch's map NAME (its
# own, by the map ids of its fds: other instances have maps of that name)
abuse_map_entries() {
	local id
	for id in $(awk '/^map_id:/ {print $2}' /proc/"$PW_PID"/fdinfo/* 2>/dev/null); do
		if [ "$(bpftool -j map show id "$id" 2>/dev/null | jq -r .name)" = "$1" ]; then
			echo "$(bpftool -j map dump id "$id" 2>/dev/null | jq length)/$(bpftool -j map show id "$id" | jq .max_entries)"
			return
		fi
	done
	echo "?"
}

# abuse_curl_series: the sum of the curl pids' per-pid EADDRNOTAVAIL series
# in a scrape ($T/m)
abuse_curl_series() {
	local pid v m=0
	scrape > "$T/m"
	for pid in $(cat "$T/curl.pids"); do
		v=$(awk -v p="portwatch_process_connect_failures_total{pid=\"$pid\",comm=\"curl\",errno=\"EADDRNOTAVAIL\"}" \
			'$1 == p {print $2}' "$T/m")
		m=$((m + ${v:-0}))
	done
	echo "$m"
}

abuse_rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$PW_PID/status"; }

# abuse_netns NAME LO HI: a netns of the test's (deleted at the end)
abuse_netns() {
	must ip netns add "$1"
	defer "ip netns del $1"
	must ip -n "$1" link set lo up
	must ip netns exec "$1" sysctl -qw net.ipv4.ip_local_port_range="$2 $3"
}

# as_hostile NETNS: HC, the command prefix that runs a command as the
# hostile user in NETNS (every step execs: $! of "${HC[@]}" CMD & is CMD),
# RLIMIT_NOFILE raised for the holders
as_hostile() {
	HC=(ip netns exec "$1" prlimit --nofile=$((ABUSE_PER_PROC + 64))
	    setpriv --reuid="$HUSER" --regid="$HGID" --clear-groups --inh-caps=-all
	    --bounding-set=-all --no-new-privs)
}

t_abuse_crowd_and_syn_flood_curl() {
	command -v setpriv >/dev/null || skip "setpriv not installed (util-linux)"
	command -v useradd >/dev/null || skip "useradd not installed (passwd)"
	command -v bpftool >/dev/null || skip "bpftool not installed"
	local crowd_ns=pwa-c-$$-$RANDOM flood_ns=pwa-f-$$-$RANDOM i n left

	HUSER=pwab$$
	must useradd --system --no-create-home --user-group --shell /usr/sbin/nologin "$HUSER"
	# last registered runs first: the user goes after its processes
	defer "userdel -f $HUSER"
	HGID=$(id -g "$HUSER")
	# every process of the throwaway user (this test's only): the crowd's
	# children also die with their parent (PR_SET_PDEATHSIG)
	defer "pkill -KILL -U $(id -u "$HUSER"); sleep 0.2; pkill -KILL -U $(id -u "$HUSER")"

	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	abuse_netns "$crowd_ns" 40000 40001
	abuse_netns "$flood_ns" 1024 65535
	must ip netns exec "$flood_ns" sysctl -qw net.ipv4.tcp_syncookies=0 \
		net.ipv4.tcp_syn_retries=8

	# no filter (the unmatched counter needs none); every per-pid series (each
	# crowd process fails twice, each curl run once: the top failers shown by
	# default would rightly be the crowd's)
	pw_start -j -l "127.0.0.1:$METRICS_PORT" --max-pids 1000000
	local rss0
	rss0=$(abuse_rss_kib)

	# the crowd: fails, then sleeps
	as_hostile "$crowd_ns"
	"${HC[@]}" "$HOSTILE" crowd "$ABUSE_CROWD" 20000 40000 40001 9 \
		> "$T/crowd.out" 2> "$T/crowd.err" &
	defer "kill -KILL $!"
	wait_for "$T/crowd.out" '"mode":"crowd"' 180 || { head -5 "$T/crowd.err"; exit 1; }
	check_eq "crowd processes whose connects went as planned" "$ABUSE_CROWD" \
		"$(jq .as_planned "$T/crowd.out")"

	# the flood: a listener with a full accept queue, then held connects
	as_hostile "$flood_ns"
	"${HC[@]}" "$HOSTILE" listen 8009 > "$T/listen.out" 2>&1 &
	defer "kill -KILL $!"
	wait_for "$T/listen.out" '"mode":"listen"' 10 || { cat "$T/listen.out"; exit 1; }
	left=$ABUSE_HOLD i=0
	while [ "$left" -gt 0 ]; do
		n=$((left < ABUSE_PER_PROC ? left : ABUSE_PER_PROC))
		"${HC[@]}" "$HOSTILE" hold "$n" 8009 > "$T/hold.$i.out" 2>&1 &
		defer "kill -KILL $!"
		left=$((left - n)) i=$((i + 1))
	done
	for ((n = 0; n < i; n++)); do
		wait_for "$T/hold.$n.out" '"mode":"hold"' 60 || exit 1
	done
	check_eq "held connects in progress" "$ABUSE_HOLD" \
		"$(cat "$T"/hold.*.out | jq -s 'map(.in_progress) | add')"
	local syn_sent
	syn_sent=$(ip netns exec "$flood_ns" ss -Htn state syn-sent | wc -l)
	echo "    info: sockets in SYN_SENT in the flood netns: $syn_sent"
	[ "$syn_sent" -ge 16384 ] || fail "only $syn_sent sockets in SYN_SENT (want >= 16384)"

	# the curl case, while all of that holds
	curl_runs
	check_eq "curl exit 7 (CURLE_COULDNT_CONNECT)" 15 "$CURL_7"
	check_eq "curl exit 0 (got a port)" 10 "$CURL_OK"

	# /metrics: each curl run's failures in its per-pid series (the last
	# failures' events may still wait in the ring buffer: scrape until all
	# are there, 10 s at most, and then once more: never more than curl saw)
	local end=$((SECONDS + 10))
	until [ "$(abuse_curl_series)" -ge "$CURL_7" ] || [ $SECONDS -ge $end ]; do
		sleep 0.2
	done
	check_eq "/metrics: EADDRNOTAVAIL in the curl pids' series" "$CURL_7" "$(abuse_curl_series)"

	echo "    info: portwatch RSS: $rss0 KiB at start, $(abuse_rss_kib) KiB under abuse"
	echo "    info: map entries: procs $(abuse_map_entries procs)," \
		"procs_alt $(abuse_map_entries procs_alt), stash_sk $(abuse_map_entries stash_sk)"
	grep -E '^portwatch_(counts_dropped|untraced_connects|counted_from_events|unmatched_outcomes|events_lost)_total ' \
		"$T/m" | sed 's/^/    info: \/metrics: /'
	pw_stop

	check_curl_events tracepoint
	check_curl_summary
	local s
	s=$(summary)
	echo "    info: summary: $(jq -c '{events_received, events_lost, counts_dropped, untraced,
		counted_from_events, unmatched_outcomes}' <<<"$s")"
	# the crowd's failures (2 EADDRNOTAVAIL each in tracepoint mode) are
	# exact too, whether the map or the events counted them
	check_eq "summary: the crowd's EADDRNOTAVAIL" $((2 * ABUSE_CROWD)) \
		"$(jq '[.processes[] | select(.comm == "hostile")
			| .errors.EADDRNOTAVAIL // 0] | add' <<<"$s")"
	# and every outcome of the hostile user: 4 per crowd process, and the
	# held connects that completed (the one the listener's queue took)
	check_eq "summary: the hostile processes' outcomes" \
		$((4 * ABUSE_CROWD + ABUSE_HOLD - syn_sent)) \
		"$(jq '[.processes[] | select(.comm == "hostile") | .attempts] | add' <<<"$s")"
	check_eq "summary: events lost" 0 "$(jq .events_lost <<<"$s")"
	check_eq "summary: counts dropped" 0 "$(jq .counts_dropped <<<"$s")"
}

# The same with the per-connect state in socket storage (no map to fill:
# each socket holds its own), where the kernel allows it.
t_abuse_sk_storage_crowd_and_syn_flood_curl() {
	export PORTWATCH_STATE=sk_storage
	t_abuse_crowd_and_syn_flood_curl
	sk_storage_check
}
