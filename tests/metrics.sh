# Integration tests of the /metrics endpoint (issue: Prometheus export):
# the exposition parses with promtool, label values are escaped, HTTP
# errors, listen errors, and a real Prometheus server scraping portwatch
# while the curl case runs. Sourced by tests/run.sh after tests/lib.sh.

METRICS_PORT=${METRICS_PORT:-19099}	# override when suites run side by side
PROM_PORT=${PROM_PORT:-19090}	# likewise

scrape() { curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT${1:-/metrics}"; }

t_metrics_exposition_and_escaping() {
	command -v promtool >/dev/null || skip "promtool not installed (package prometheus)"
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -q -l "127.0.0.1:$METRICS_PORT"
	# a name with a quote, a backslash, a newline and an invalid UTF-8 byte
	must in_ns "$TRIGGER" --comm-hex 6122625c630a64ff --port 18093 exhaust --count 13 > "$T/t"
	scrape > "$T/m"
	curl -s -o /dev/null -D "$T/h" "http://127.0.0.1:$METRICS_PORT/metrics"
	check_eq "Content-Type" "text/plain; version=0.0.4; charset=utf-8" \
		"$(grep -i '^content-type:' "$T/h" | cut -d' ' -f2- | tr -d '\r')"
	promtool check metrics < "$T/m" > "$T/promtool" 2>&1
	check_eq "promtool check metrics exit" 0 $?
	sed 's/^/      promtool: /' "$T/promtool"
	local pid want
	pid=$(truth '.[0].pid' "$T/t")
	want=$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")
	check_eq "failures (the scenario)" 3 "$want"
	check_eq "escaped comm in the comm series" 1 "$(grep -cF "portwatch_connect_failures_total{comm=\"a\\\"b\\\\c\\nd$(printf '\xef\xbf\xbd')\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} $want" "$T/m")"
	check_eq "escaped comm in the per-pid series" 1 "$(grep -cF "portwatch_process_connect_failures_total{pid=\"$pid\",comm=\"a\\\"b\\\\c\\nd$(printf '\xef\xbf\xbd')\",errno=\"EADDRNOTAVAIL\"} $want" "$T/m")"
	check_eq "build_info" 1 "$(grep -cE '^portwatch_build_info\{version="[0-9.]+",libbpf_version="[0-9.]+",mode="'"$(pw_mode)"'"\} 1$' "$T/m")"
	# skipped program runs of the mode's kinds (none before 5.12, and for
	# kprobe programs before 6.7: no series), and whether the mode is exact
	# under contention
	local mode kinds since maj min
	mode=$(pw_mode)
	case $mode in
	kprobe) kinds='kprobe|kretprobe_maxactive' since=607 ;;
	*) kinds=$mode since=512 ;;
	esac
	IFS=. read -r maj min _ <<<"$(uname -r)"
	if [ $((maj * 100 + min)) -ge "$since" ]; then
		check_eq "missed runs series of $mode" 1 "$(grep -cE "^portwatch_bpf_program_missed_runs_total\{kind=\"$mode\"\} [0-9]+$" "$T/m")"
	fi
	check_eq "no missed runs series of other kinds" 0 "$(grep -E '^portwatch_bpf_program_missed_runs_total\{' "$T/m" | grep -Evc "kind=\"($kinds)\"")"
	check_eq "exact_under_contention gauge" 1 "$(grep -cE '^portwatch_exact_under_contention\{preempt_model="[a-z]+"\} [01]$' "$T/m")"
	# the node's (pid 1's netns) when portwatch may enter it, else its own,
	# labelled with that netns
	local series='portwatch_local_port_range_size'
	if ! nsenter -t 1 -n true 2>/dev/null; then
		series="portwatch_local_port_range_size{netns=\"$(stat -L -c %i /proc/self/ns/net)\"}"
	fi
	check_eq "range size ($series)" "$(nsenter -t 1 -n true 2>/dev/null && nsenter -t 1 -n cat /proc/sys/net/ipv4/ip_local_port_range | awk '{print $2 - $1 + 1}' || awk '{print $2 - $1 + 1}' /proc/sys/net/ipv4/ip_local_port_range)" \
		"$(awk -v s="$series" '$1 == s {print $2}' "$T/m")"
	check_eq "status of /" 200 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/")"
	check_eq "status of /nope" 404 "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/nope")"
	check_eq "status of POST /metrics" 405 "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$METRICS_PORT/metrics")"
	check_eq "status of HEAD /metrics" 200 "$(curl -s -o /dev/null -I -w '%{http_code}' "http://127.0.0.1:$METRICS_PORT/metrics")"
	pw_stop
}

# Counters survive the process: after the trigger exits and portwatch folds
# its kernel entries away (once a second), the scrape still has them.
t_metrics_monotonic_after_exit() {
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -q -l "127.0.0.1:$METRICS_PORT"
	must in_ns "$TRIGGER" --comm pwt-gone --port 18094 exhaust --count 14 > "$T/t"
	local pid
	pid=$(truth '.[0].pid' "$T/t")
	scrape > "$T/m1"
	# the kernel entry is deleted within ~1 s of the exit; wait until then
	local end=$((SECONDS + 5))
	until ! bpftool map dump name procs 2>/dev/null | grep -q "\"tgid\": $pid,"; do
		[ $SECONDS -ge $end ] && { fail "kernel entry of exited pid $pid still there after 5 s"; break; }
		sleep 0.1
	done
	scrape > "$T/m2"
	check_eq "comm series before the fold" 1 "$(grep -c '^portwatch_connect_failures_total{comm="pwt-gone",errno="EADDRNOTAVAIL",family="inet"} 4$' "$T/m1")"
	check_eq "comm series after the fold" 1 "$(grep -c '^portwatch_connect_failures_total{comm="pwt-gone",errno="EADDRNOTAVAIL",family="inet"} 4$' "$T/m2")"
	check_eq "per-pid series kept (exited < 5 min)" 1 "$(grep -c "^portwatch_process_connect_failures_total{pid=\"$pid\",comm=\"pwt-gone\",errno=\"EADDRNOTAVAIL\"} 4$" "$T/m2")"
	pw_stop
	check_eq "summary keeps the exited process" 4 "$(summary | jq ".processes[] | select(.pid == $pid) | .failures" 2>/dev/null)"
}

t_metrics_listen_errors() {
	local rc
	# a port already taken (by another portwatch): exit 1, one line
	pw_start -q -l "127.0.0.1:$METRICS_PORT"
	"$PW" -q -l "127.0.0.1:$METRICS_PORT" -d 1 > "$T/out" 2> "$T/err"
	rc=$?
	check_eq "exit code, port in use" 1 "$rc"
	check_eq "stderr lines" 1 "$(wc -l < "$T/err")"
	check_eq "says address in use" 1 "$(grep -c 'Address already in use' "$T/err")"
	echo "    info: $(cat "$T/err")"
	for a in "300.0.0.1:80" "127.0.0.1:99999" "localhost:80" "127.0.0.1"; do
		"$PW" -q -l "$a" -d 1 > "$T/out" 2> "$T/err"
		check_eq "exit code for --listen=$a" 2 $?
	done
	"$PW" --max-pids=0 > /dev/null 2>&1
	check_eq "exit code for --max-pids=0" 2 $?
}

# prom_query EXPR: the API's JSON answer.
prom_query() {
	curl -s --max-time 5 "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1"
}

t_prometheus_scrapes_curl_case() {
	command -v prometheus >/dev/null || skip "prometheus not installed (package prometheus)"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	# the test's own cgroup: another run's curl on this host is not counted
	pw_start -j -q -l "127.0.0.1:$METRICS_PORT" --cgroup="$OWN_CG"
	cat > "$T/prometheus.yml" <<-YML
	global:
	  scrape_interval: 1s
	  evaluation_interval: 1s
	scrape_configs:
	  - job_name: portwatch
	    static_configs:
	      - targets: ['127.0.0.1:$METRICS_PORT']
	YML
	prom_start "$PROM_PORT"
	local end

	curl_runs
	check_eq "curl exit 7" 15 "$CURL_7"
	# wait for a scrape that saw all of them (bounded), then compare exactly
	local q='sum(portwatch_connect_failures_total{comm="curl",errno="EADDRNOTAVAIL"})' v=""
	end=$((SECONDS + 20))
	while :; do
		v=$(prom_query "$q" | jq -r '.data.result[0].value[1] // empty')
		[ "$v" = "$CURL_7" ] && break
		[ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	check_eq "Prometheus: $q" "$CURL_7" "$v"
	check_eq "Prometheus: up{job=\"portwatch\"}" 1 "$(prom_query 'up{job="portwatch"}' | jq -r '.data.result[0].value[1]')"
	prom_query 'portwatch_process_connect_failures_total{comm="curl",errno="EADDRNOTAVAIL"}' \
		| jq -c '[.data.result[] | {pid: (.metric.pid | tonumber), failures: (.value[1] | tonumber)}] | sort_by(.pid)' > "$T/perpid"
	pw_stop
	# against curl's own record: one series per run that exited 7, one
	# failure each (one address, one connect)
	check_eq "per-pid series in Prometheus = the curl runs that exited 7, 1 failure each" \
		"$(awk '$2 == 7 {print $1}' "$T/curl.exits" | jq -Rnc '[inputs | tonumber | {pid: ., failures: 1}] | sort_by(.pid)')" \
		"$(cat "$T/perpid")"
	check_eq "per-pid series count" "$CURL_7" "$(jq length "$T/perpid")"
}

t_deploy_rules_and_config() {
	command -v promtool >/dev/null || skip "promtool not installed (package prometheus)"
	promtool check rules deploy/portwatch-rules.yml > "$T/out" 2>&1
	check_eq "promtool check rules deploy/portwatch-rules.yml" 0 $?
	sed 's/^/      /' "$T/out"
	promtool check config deploy/prometheus-scrape.yml > "$T/out" 2>&1
	check_eq "promtool check config deploy/prometheus-scrape.yml" 0 $?
	sed 's/^/      /' "$T/out"
	promtool test rules deploy/portwatch-rules.test.yml > "$T/out" 2>&1
	check_eq "promtool test rules (alert fires after 5 min of failures)" 0 $?
	sed 's/^/      /' "$T/out"
}

# Early warning: a periodic census (every --interval) flags destinations at
# or above --warn-at before anything fails, and feeds the top-20 gauges.
t_pressure_warning_and_gauges() {
	mk_netns $RANGE_LO $RANGE_HI
	must in_ns "$TRIGGER" --port 18095 exhaust --count 9 > "$T/a"	# 9/10 held
	must in_ns "$TRIGGER" --port 18096 exhaust --count 7 > "$T/b"	# 7/10 held
	check_eq "failures (none: the range is not full yet)" 0 \
		"$(( $(truth_sum '.errors.EADDRNOTAVAIL' "$T/a") + $(truth_sum '.errors.EADDRNOTAVAIL' "$T/b") ))"
	pw_start -j -q -i 1 --warn-at=80 -l "127.0.0.1:$METRICS_PORT"
	wait_for "$T/pw.out" '"type":"warning"' 10 || exit 1
	scrape > "$T/m"
	pw_stop
	check_eq "warnings for :18095 (90% >= 80%), once" 1 \
		"$(jq -c --argjson ns "$NS_INO" 'select(.type == "warning" and .pressure.netns == $ns
			and .pressure.dport == 18095 and .pressure.held == 9 and .pressure.range_size == 10
			and .pressure.states.TIME_WAIT == 9)' "$T/pw.out" | wc -l)"
	check_eq "warnings for :18096 (70% < 80%)" 0 \
		"$(jq -c 'select(.type == "warning" and .pressure.dport == 18096)' "$T/pw.out" | wc -l)"
	check_eq "gauge ports in use, :18095" 1 \
		"$(grep -cx 'portwatch_ephemeral_ports_in_use{daddr="127.0.0.1",dport="18095"} 9' "$T/m")"
	check_eq "gauge usage ratio, :18096" 1 \
		"$(grep -cx 'portwatch_ephemeral_port_usage_ratio{daddr="127.0.0.1",dport="18096"} 0.7' "$T/m")"
	check_eq "gauge series at most 20" 1 \
		"$([ "$(grep -c '^portwatch_ephemeral_port_usage_ratio{' "$T/m")" -le 20 ] && echo 1)"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$T/m" > /dev/null 2>&1
		check_eq "promtool check metrics" 0 $?
	fi
}

# Bounded under a crowd of names: 3,000 short-lived processes, each with a
# name of its own (prctl) failing twice with EADDRNOTAVAIL, then the curl
# case in one libcurl process (tests/fetcher: 25 requests, 15 find no port).
# At most 1,024 names have series of their own at a time (the top failers,
# held: a name takes a place only by failing more than twice as often, so
# none of these, all failing twice, displaces another), every other one
# counts in comm="(other)"; the per-pid series keep the top failers, so the
# client is there with its exact count, and the exposition and portwatch's
# memory are no larger after 3,000 names than after 1,500.
t_metrics_bounded_many_names() {
	local fetcher=${FETCHER:-$OUT/tests/fetcher}
	[ -x "$fetcher" ] || skip "$fetcher not built (libcurl4-openssl-dev missing: make test-deps tools)"
	command -v promtool >/dev/null || skip "promtool not installed (package prometheus)"
	local crowd tag=$$ n=3000 half=1500
	mk_netns $RANGE_LO $RANGE_HI
	crowd=$NS
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	pw_start -q -l "127.0.0.1:$METRICS_PORT"
	# the crowd's netns: its 10 ports in TIME_WAIT (60 s), so every later
	# connect() there fails with EADDRNOTAVAIL, no listener needed
	must ip netns exec "$crowd" "$TRIGGER" --port 18095 exhaust --count 10 > "$T/fill"
	check_eq "crowd netns filled (10 ok)" 10 "$(jq .ok "$T/fill")"
	run_crowd() {
		ip netns exec "$crowd" sh -c "for i in \$(seq $1 $2); do
			$TRIGGER --no-server --comm b$tag-\$i --port 18095 exhaust --count 2 || exit 1
		done" >> "$T/crowd"
	}
	must run_crowd 1 $half
	# counts are in the kernel map when a process exits; a scrape reads it
	scrape > "$T/m1"
	local rss1 rss2
	rss1=$(awk '/^VmRSS:/ {print $2}' "/proc/$PW_PID/status")
	must run_crowd $((half + 1)) $n
	ip netns exec "$NS" "$fetcher" http://127.0.0.1:8080/ 25 > "$T/f"
	scrape > "$T/m2"
	rss2=$(awk '/^VmRSS:/ {print $2}' "/proc/$PW_PID/status")
	# each crowd process's own count is the truth (twice, unless its ports
	# left TIME_WAIT meanwhile: 60 s, reached by slow builds such as ASan's)
	jq -r '"\(.comm) \(.errors.EADDRNOTAVAIL // 0)"' "$T/crowd" | sort > "$T/crowd.truth"
	local fed
	fed=$(awk '{s += $2} END {print s}' "$T/crowd.truth")
	check_eq "crowd: processes" $n "$(wc -l < "$T/crowd.truth")"
	check_eq "crowd: distinct names" $n "$(cut -d' ' -f1 "$T/crowd.truth" | sort -u | wc -l)"
	check_eq "crowd: most failed (EADDRNOTAVAIL)" 1 "$([ "$fed" -ge $n ] && echo 1)"
	check_eq "client: ok, couldn't connect, other" '[10,15,0]' \
		"$(jq -c '[.ok, .couldnt_connect, .other]' "$T/f")"
	local cpid
	cpid=$(jq .pid "$T/f")
	# the client, a top failer, keeps its per-pid series with the exact count
	check_eq "per-pid series of the client" 1 \
		"$(grep -cx "portwatch_process_connect_failures_total{pid=\"$cpid\",comm=\"fetcher\",errno=\"EADDRNOTAVAIL\"} 15" "$T/m2")"
	# per-comm: at most 1,024 names and (other); the crowd's names that
	# have series are exact; the rest of the crowd, and the client unless
	# its name had a series already (another test's fetcher), in (other)
	local names mine other client_own
	names=$(grep '^portwatch_connect_failures_total{' "$T/m2" | sed 's/",errno=.*//' | sort -u | wc -l)
	check_eq "per-comm names at most 1024 + (other)" 1 "$([ "$names" -le 1025 ] && echo 1)"
	grep -E "^portwatch_connect_failures_total\{comm=\"b$tag-[0-9]+\",errno=\"EADDRNOTAVAIL\",family=\"inet\"\} " "$T/m2" \
		| sed -E 's/^[^"]*"([^"]*)".*\} ([0-9]+)$/\1 \2/' | sort > "$T/crowd.series"
	mine=$(wc -l < "$T/crowd.series")
	check_eq "crowd names with a series of their own: 1 to 1024" 1 \
		"$([ "$mine" -ge 1 ] && [ "$mine" -le 1024 ] && echo 1)"
	check_eq "each exactly what that process saw" "$mine" \
		"$(join "$T/crowd.series" "$T/crowd.truth" | awk '$2 == $3' | wc -l)"
	check_eq "no crowd name (failing as often as those shown) gains a series in m2" 0 \
		"$(comm -13 <(grep -o "comm=\"b$tag-[0-9]*\"" "$T/m1" | sort -u) \
			<(grep -o "comm=\"b$tag-[0-9]*\"" "$T/m2" | sort -u) | wc -l)"
	other=$(awk -F' ' '$1 == "portwatch_connect_failures_total{comm=\"(other)\",errno=\"EADDRNOTAVAIL\",family=\"inet\"}" {print $2}' "$T/m2")
	client_own=$(grep -c '^portwatch_connect_failures_total{comm="fetcher",errno="EADDRNOTAVAIL",family="inet"} ' "$T/m2")
	# a name displaced (by the client, or other tests' traffic) keeps what
	# its series showed (m1) for its return: not (other)'s
	local gone
	gone=$(grep -E "^portwatch_connect_failures_total\{comm=\"b$tag-[0-9]+\",errno=\"EADDRNOTAVAIL\",family=\"inet\"\} " "$T/m1" \
		| sed -E 's/^[^"]*"([^"]*)".*\} ([0-9]+)$/\1 \2/' | sort | join -v1 - "$T/crowd.series" \
		| awk '{s += $2} END {print s + 0}')
	local want=$((fed - $(awk '{s += $2} END {print s + 0}' "$T/crowd.series") - gone + (client_own ? 0 : 15)))
	check_eq "(other) holds the rest of the crowd and the client (>= $want)" 1 \
		"$([ "${other:-0}" -ge "$want" ] && echo 1)"
	check_eq "per-pid series at most --max-pids (1024) processes" 1 \
		"$([ "$(grep '^portwatch_process_connect_failures_total{' "$T/m2" | sed 's/,comm=.*//' | sort -u | wc -l)" -le 1024 ] && echo 1)"
	local b1 b2
	b1=$(wc -c < "$T/m1")
	b2=$(wc -c < "$T/m2")
	echo "    info: $names per-comm names, $(grep -c '^portwatch_connect_failures_total{' "$T/m2") per-comm series," \
		"$(grep -c '^portwatch_process_connect_failures_total{' "$T/m2") per-pid series;" \
		"exposition $b1 bytes after $half names, $b2 after $n; RSS $rss1 KiB, then $rss2 KiB;" \
		"kernel maps full (the whole host's traffic): $(grep -E '^portwatch_(counts_dropped|untraced_connects)_total ' "$T/m2" | tr '\n' ' ')"
	# other tests' traffic may add a few series: 16 KiB of slack; RSS: the
	# exited rows (kept up to 65,536) and malloc's arenas, 4 MiB
	check_eq "exposition after $n names <= after $half + 16 KiB" 1 "$([ "$b2" -le $((b1 + 16384)) ] && echo 1)"
	if [ -n "${PW_SAN_INNER:-}" ]; then
		echo "    info: RSS not compared under ASan (its quarantine keeps freed memory)"
	else
		check_eq "RSS after $n names <= after $half + 4 MiB" 1 "$([ "$rss2" -le $((rss1 + 4096)) ] && echo 1)"
	fi
	promtool check metrics < "$T/m2" > /dev/null 2>&1
	check_eq "promtool check metrics" 0 $?
	pw_stop
}

# Names cannot be squatted: a user makes 1,024 names fail first (once
# each: the netns has one port, held by a connection to the test server,
# so every connect there fails), scraped; the culprit failing after them
# has its own per-comm series, exact (one junk name gives up its place: it
# failed less than half as often; its series is gone, (other) gets only
# what it fails from then on). Selected by a cgroup under the test's own;
# cg_root, cg_own and cg_make are tests/workload.sh's.
t_metrics_names_not_squatted() {
	cg_root
	local cg port=$((20000 + RANDOM % 10000))
	cg=$(cg_own pwtest-squat-$$-$RANDOM)
	local junk='^portwatch_connect_failures_total\{comm="junk[0-9]{4}",errno="EADDRNOTAVAIL",family="inet"\} 1$'
	cg_make "$cg"
	mk_netns 40000 40000
	start_httpd
	mkfifo "$T/hold"
	in_ns bash -c "echo \$\$ > '$T/holder.pid'
		exec 5<>/dev/tcp/127.0.0.1/8080
		echo ready > '$T/holder.ready'
		read -r _ < '$T/hold'" &
	defer "kill \$(cat '$T/holder.pid'); wait $!"
	wait_for "$T/holder.ready" '^ready' 5 || exit 1
	pw_start -q --cgroup="$cg" -l "127.0.0.1:$port"
	must in_cg "$cg" bash -c 'for i in $(seq 1000 2023); do
		"$1" --no-server --comm "junk$i" --port 8080 once || exit 1; done' sh "$TRIGGER" > "$T/junk"
	check_eq "junk names, one failure each" 1024 "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/junk")"
	check_eq "junk names, distinct" 1024 "$(jq -r .comm "$T/junk" | sort -u | wc -l)"
	curl -s --max-time 5 "http://127.0.0.1:$port/metrics" > "$T/m1"
	check_eq "first scrape: a series per junk name" 1024 "$(grep -cE "$junk" "$T/m1")"
	must in_cg "$cg" "$TRIGGER" --no-server --comm pwt-culprit --port 8080 once --count 5 > "$T/t1"
	check_eq "culprit failures" 5 "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t1")"
	curl -s --max-time 5 "http://127.0.0.1:$port/metrics" > "$T/m2"
	pw_stop
	check_eq "the culprit's own series" 1 \
		"$(grep -cxF 'portwatch_connect_failures_total{comm="pwt-culprit",errno="EADDRNOTAVAIL",family="inet"} 5' "$T/m2")"
	check_eq "junk series shown (one gave up its place)" 1023 "$(grep -cE "$junk" "$T/m2")"
	check_eq "nothing in (other)" 0 "$(grep -c 'comm="(other)"' "$T/m1" "$T/m2" | awk -F: '{ s += $2 } END { print s }')"
}
