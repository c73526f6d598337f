# Integration tests of the /metrics endpoint (issue: Prometheus export):
# the exposition parses with promtool, label values are escaped, HTTP
# errors, listen errors, and a real Prometheus server scraping portwatch
# while the curl case runs. Sourced by tests/run.sh after tests/lib.sh.

METRICS_PORT=${METRICS_PORT:-19099}	# override when suites run side by side
PROM_PORT=${PROM_PORT:-19090}	# likewise

scrape() { curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT${1:-/metrics}"; }

# in_top_or_outranked FILE LINE HELD: 1 if the scrape in FILE has LINE (a
# portwatch_ephemeral_* sample of a pair holding HELD ports), or if the
# pair was left out honestly: its series is absent, the 20 exported pairs
# each hold HELD ports or more (the top ranks by ports held; the host's other netns, e.g. TIME_WAIT
# from other runs' scrapes, may hold more) and some pair was folded (said
# as info). 0 otherwise.
in_top_or_outranked() {
	if grep -qxF "$2" "$1"; then
		echo 1
	elif grep -qF "${2% *} " "$1"; then
		echo 0	# the pair's series is there, with another value: wrong
	elif [ "$(grep -c '^portwatch_ephemeral_ports_in_use{' "$1")" = 20 ] &&
	     [ "$(grep '^portwatch_ephemeral_ports_in_use{' "$1" | awk -v h="$3" '$NF < h' | wc -l)" = 0 ] &&
	     [ "$(awk '/^portwatch_ephemeral_port_pairs_folded / { print $2 }' "$1")" -ge 1 ]; then
		echo "    info: outranked by 20 pairs holding $3 ports or more on this host: $2" >&2
		echo 1
	else
		echo 0
	fi
}

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

# pw_procs_maps: the ids of this portwatch's per-process count maps (procs
# and procs_alt, by the map ids of its own fds: other instances on the host
# have maps of those names)
pw_procs_maps() {
	local id
	awk '/^map_id:/ {print $2}' /proc/"$PW_PID"/fdinfo/* 2>/dev/null | sort -un | while read -r id; do
		case $(bpftool -j map show id "$id" 2>/dev/null | jq -r .name) in
		procs|procs_alt) echo "$id" ;;
		esac
	done
}
# procs_has PID IDS...: one of the maps IDS has an entry of PID (or cannot
# be read: a wait for the entry to go then times out, never passes)
procs_has() {
	local pid=$1 id d
	shift
	for id in "$@"; do
		d=$(bpftool -j map dump id "$id" 2>/dev/null) || return 0
		# (an empty map dumps as null; an entry without its BTF form, as if there)
		jq -e --argjson p "$pid" '(. // []) | any(.[]; .formatted == null or .formatted.key.tgid == $p)' \
			<<<"$d" > /dev/null && return 0
	done
	return 1
}

# Counters survive the process: after the trigger exits and portwatch folds
# its kernel entries away (once a second), the scrape still has them.
t_metrics_monotonic_after_exit() {
	command -v bpftool > /dev/null || skip "bpftool not installed"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -q -l "127.0.0.1:$METRICS_PORT" --cgroup="$OWN_CG"
	local maps
	maps=$(pw_procs_maps)
	check_eq "its procs and procs_alt maps (fdinfo)" 2 "$(wc -w <<<"$maps")"
	must in_ns "$TRIGGER" --comm pwt-gone --port 18094 exhaust --count 14 > "$T/t"
	local pid
	pid=$(truth '.[0].pid' "$T/t")
	scrape > "$T/m1"
	# the kernel entry is deleted within ~1 s of the exit; wait until then
	local end=$((SECONDS + $(waited 5)))
	# shellcheck disable=SC2086
	until ! procs_has "$pid" $maps; do
		[ $SECONDS -ge $end ] && { fail "kernel entry of exited pid $pid still there after $(waited 5) s"; break; }
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
	end=$((SECONDS + $(waited 20)))
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
		"$(in_top_or_outranked "$T/m" "portwatch_ephemeral_ports_in_use{daddr=\"127.0.0.1\",dport=\"18095\",netns=\"$NS_INO\"} 9" 9)"
	check_eq "gauge usage ratio, :18096" 1 \
		"$(in_top_or_outranked "$T/m" "portwatch_ephemeral_port_usage_ratio{daddr=\"127.0.0.1\",dport=\"18096\",netns=\"$NS_INO\"} 0.7" 7)"
	check_eq "gauge series at most 20" 1 \
		"$([ "$(grep -c '^portwatch_ephemeral_port_usage_ratio{' "$T/m")" -le 20 ] && echo 1)"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$T/m" > /dev/null 2>&1
		check_eq "promtool check metrics" 0 $?
	fi
}

# The gauges are per (netns, destination): the same address and port in
# three netns, two at the same usage with different counts, are three series,
# each with its own netns's figures as `ss` counts them there (one merged
# series kept the first netns's count on equal usage: a tenant's netns could
# stand for another's).
t_pressure_gauges_per_netns() {
	local a b c ns ino held want got n
	# high usages: on a shared host other runs' pairs near 1.0 compete for
	# the 20 series, lower ones could be pushed out
	mk_netns 40000 40009; a=$NS		# 10 ports, 9 held: 0.9
	must in_ns "$TRIGGER" --port 18097 exhaust --count 9 > /dev/null
	mk_netns 40000 40019; b=$NS		# 20 ports, 18 held: 0.9
	must in_ns "$TRIGGER" --port 18097 exhaust --count 18 > /dev/null
	mk_netns 40000 40009; c=$NS		# 10 ports, 8 held: 0.8
	must in_ns "$TRIGGER" --port 18097 exhaust --count 8 > /dev/null
	pw_start -j -q -i 1 --warn-at=95 -l "127.0.0.1:$METRICS_PORT"
	# a scrape after a periodic census that saw all three
	local end=$((SECONDS + $(waited 15)))
	# (or one whose 20 series all hold 8 ports or more: the tops rank by
	# ports held, and the host's other netns may hold more than ours)
	until scrape > "$T/m" 2>/dev/null &&
		{ [ "$(grep -c '^portwatch_ephemeral_ports_in_use{daddr="127.0.0.1",dport="18097",' "$T/m")" -ge 3 ] ||
		  [ "$(in_top_or_outranked "$T/m" "(none)" 8 2>/dev/null)" = 1 ]; }; do
		[ $SECONDS -ge $end ] && { fail "no scrape with the three netns's series in $(waited 15) s"; break; }
		sleep 0.2
	done
	pw_stop
	for ns in "$a" "$b" "$c"; do
		ino=$(stat -L -c %i "/run/netns/$ns")
		# the ss count: client sockets towards 127.0.0.1:18097 in the netns
		held=$(ip netns exec "$ns" ss -Htan state all dst 127.0.0.1:18097 | wc -l)
		n=$(ip netns exec "$ns" cat /proc/sys/net/ipv4/ip_local_port_range | awk '{print $2 - $1 + 1}')
		if ! grep -q "^portwatch_ephemeral_ports_in_use{daddr=\"127.0.0.1\",dport=\"18097\",netns=\"$ino\"} " "$T/m"; then
			check_eq "netns $ns ($held held) not exported: outranked" 1 \
				"$(in_top_or_outranked "$T/m" "(netns $ino)" "$held")"
			continue
		fi
		check_eq "gauge ports in use, netns $ns = its ss count" "$held" \
			"$(sed -nE "s/^portwatch_ephemeral_ports_in_use\{daddr=\"127.0.0.1\",dport=\"18097\",netns=\"$ino\"\} ([0-9]+)$/\1/p" "$T/m")"
		want=$(awk -v h="$held" -v n="$n" 'BEGIN {printf "%.6g", h / n}')
		got=$(sed -nE "s/^portwatch_ephemeral_port_usage_ratio\{daddr=\"127.0.0.1\",dport=\"18097\",netns=\"$ino\"\} (.+)$/\1/p" "$T/m")
		check_eq "gauge usage ratio, netns $ns = its ss count / its range" "$want" "$got"
	done
	check_eq "ss counts (9, 18, 8: what the trigger runs made)" "9 18 8" \
		"$(for ns in "$a" "$b" "$c"; do ip netns exec "$ns" ss -Htan state all dst 127.0.0.1:18097 | wc -l; done | tr '\n' ' ' | sed 's/ $//')"
}

# hold_port PORT: a connection from $NS to 127.0.0.1:PORT held open (by one
# bash, until the test ends): with a one-port range, every other connect()
# there to that destination fails with EADDRNOTAVAIL
hold_port() {
	mkfifo "$T/hold"
	in_ns bash -c "echo \$\$ > '$T/holder.pid'
		exec 5<>/dev/tcp/127.0.0.1/$1
		echo ready > '$T/holder.ready'
		read -r _ < '$T/hold'" &
	defer "kill \$(cat '$T/holder.pid'); wait $!"
	wait_for "$T/holder.ready" '^ready' 5 || exit 1
}

# Bounded under a crowd of names: 3,000 short-lived processes, each with a
# name of its own (prctl) failing twice with EADDRNOTAVAIL (their netns has
# one port, held by a connection to the destination they try: they always
# fail, however long the run takes), then the curl case in one libcurl
# process (tests/fetcher: 25 requests, 15 find no port). Only the test's
# own cgroup is watched (--cgroup), so the per-comm series follow from what
# its processes did alone, exactly: at most 1,024 names have series of their
# own (the top failers, held: a name takes a place only by failing more than
# twice as often as a shown one, user/metrics.c), every other failure counts
# in comm="(other)". After the first 1,500 names (all failing 2: ties go by
# name) the series are the 1,024 first names in byte order, 2 each, and
# (other) the 476 others' 952 failures; after all 3,000 and the client
# (15 > 2 x 2) the client takes the place of the last of those 1,024 (its
# series keeps its 2, not shown), the 1,500 new names, failing 2 < 2 x 2,
# none, so (other) grows by their 3,000. The per-pid series keep the top
# failers, so the client is there with its exact count, and the exposition
# and portwatch's memory are no larger after 3,000 names than after 1,500.
t_metrics_bounded_many_names() {
	local fetcher=${FETCHER:-$OUT/tests/fetcher}
	[ -x "$fetcher" ] || skip "$fetcher not built (libcurl4-openssl-dev missing: make test-deps tools)"
	command -v promtool >/dev/null || skip "promtool not installed (package prometheus)"
	own_cgroup
	local crowd tag=$$ n=3000 half=1500 shown=1024
	# the crowd's netns: its one port held by a connection to :18095, so
	# every connect() there to :18095 fails with EADDRNOTAVAIL
	mk_netns 40000 40000
	crowd=$NS
	ip netns exec "$crowd" "$HTTPD" 127.0.0.1 18095 > "$T/httpd.crowd" 2>&1 &
	defer "kill $!; wait $!"
	wait_for "$T/httpd.crowd" '^ready' 5 || exit 1
	hold_port 18095
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	pw_start -q -l "127.0.0.1:$METRICS_PORT" --cgroup="$OWN_CG"
	run_crowd() {
		ip netns exec "$crowd" sh -c "for i in \$(seq $1 $2); do
			$TRIGGER --no-server --comm b$tag-\$i --port 18095 exhaust --count 2 || exit 1
		done" >> "$T/crowd"
	}
	local crowd_start=$SECONDS
	must run_crowd 1 $half
	# counts are in the kernel map when a process exits; a scrape reads it
	scrape > "$T/m1"
	local rss1 rss2
	rss1=$(awk '/^VmRSS:/ {print $2}' "/proc/$PW_PID/status")
	must run_crowd $((half + 1)) $n
	ip netns exec "$NS" "$fetcher" http://127.0.0.1:8080/ 25 > "$T/f"
	scrape > "$T/m2"
	rss2=$(awk '/^VmRSS:/ {print $2}' "/proc/$PW_PID/status")
	# each crowd process's own record is the truth
	jq -r '"\(.comm) \(.errors.EADDRNOTAVAIL // 0) \(.ok) \(.attempts)"' "$T/crowd" | LC_ALL=C sort > "$T/crowd.truth"
	check_eq "crowd: processes" $n "$(wc -l < "$T/crowd.truth")"
	check_eq "crowd: distinct names" $n "$(cut -d' ' -f1 "$T/crowd.truth" | sort -u | wc -l)"
	check_eq "crowd: processes whose 2 connects both failed EADDRNOTAVAIL" $n \
		"$(awk '$2 == 2 && $3 == 0 && $4 == 2' "$T/crowd.truth" | wc -l)"
	check_eq "client: ok, couldn't connect, other" '[10,15,0]' \
		"$(jq -c '[.ok, .couldnt_connect, .other]' "$T/f")"
	local cpid
	cpid=$(jq .pid "$T/f")
	# the client, a top failer, keeps its per-pid series with the exact count
	check_eq "per-pid series of the client" 1 \
		"$(grep -cx "portwatch_process_connect_failures_total{pid=\"$cpid\",comm=\"fetcher\",errno=\"EADDRNOTAVAIL\"} 15" "$T/m2")"
	# the expected per-comm series, from the crowd's records: the first
	# half's names in byte order (strcmp), the first 1,024 shown
	local want1 want2
	seq 1 $half | sed "s/^/b$tag-/" | LC_ALL=C sort | head -n $shown > "$T/shown1"
	want1=$( { sed 's/.*/portwatch_connect_failures_total{comm="&",errno="EADDRNOTAVAIL",family="inet"} 2/' "$T/shown1"
		echo "portwatch_connect_failures_total{comm=\"(other)\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} $(( (half - shown) * 2 ))"
		} | LC_ALL=C sort)
	want2=$( { head -n $((shown - 1)) "$T/shown1" |
			sed 's/.*/portwatch_connect_failures_total{comm="&",errno="EADDRNOTAVAIL",family="inet"} 2/'
		echo 'portwatch_connect_failures_total{comm="fetcher",errno="EADDRNOTAVAIL",family="inet"} 15'
		echo "portwatch_connect_failures_total{comm=\"(other)\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} $(( (half - shown) * 2 + (n - half) * 2 ))"
		} | LC_ALL=C sort)
	check_eq "m1: every per-comm series (the 1,024 first names, 2 each; (other) 952)" \
		"$(md5sum <<<"$want1")" "$(grep '^portwatch_connect_failures_total{' "$T/m1" | LC_ALL=C sort | md5sum)"
	check_eq "m2: every per-comm series (the client in place of the last shown; (other) 3952)" \
		"$(md5sum <<<"$want2")" "$(grep '^portwatch_connect_failures_total{' "$T/m2" | LC_ALL=C sort | md5sum)"
	if [ "$_failed" != 0 ]; then
		diff <(echo "$want2") <(grep '^portwatch_connect_failures_total{' "$T/m2" | LC_ALL=C sort) | head -20 | sed 's/^/      /'
	fi
	# per pid, the same competition (--max-pids 1,024; ties by pid): the
	# first half's 1,024 lowest pids, then the client in place of the
	# highest of them; the rest counted as dropped. Exact while each pid
	# was one process's (the crowd's records; pid_max may be 32,768 on a
	# busy host, where pids come round again) and the run took less than
	# the 5 minutes after which an exited process's rows leave the per-pid
	# series (the test's own clock; slow sanitizer builds may not)
	local reused1 reused
	reused1=$(jq -r .pid "$T/crowd" | head -n $half | sort | uniq -d | wc -l)
	reused=$( { jq -r .pid "$T/crowd"; echo "$cpid"; } | sort | uniq -d | wc -l)
	jq -r '"\(.pid) \(.comm)"' "$T/crowd" | head -n $half | sort -n | head -n $shown |
		sed 's/^\([0-9]*\) \(.*\)$/portwatch_process_connect_failures_total{pid="\1",comm="\2",errno="EADDRNOTAVAIL"} 2/' \
		> "$T/pid1"
	if [ "$reused1" = 0 ]; then
		check_eq "m1: every per-pid series (the first half's 1,024 lowest pids, 2 each)" \
			"$(LC_ALL=C sort "$T/pid1" | md5sum)" \
			"$(grep '^portwatch_process_connect_failures_total{' "$T/m1" | LC_ALL=C sort | md5sum)"
		check_eq "m1: processes left out of the per-pid series" "portwatch_process_series_dropped $((half - shown))" \
			"$(grep '^portwatch_process_series_dropped ' "$T/m1")"
	else
		echo "    info: $reused1 pids of the first 1,500 crowd processes were used twice (pid_max $(cat /proc/sys/kernel/pid_max)): per-pid series in m1 not compared exactly"
	fi
	if [ "$reused" = 0 ] && [ $((SECONDS - crowd_start)) -lt 290 ]; then
		check_eq "m2: every per-pid series (the client in place of the highest pid)" \
			"$( { head -n $((shown - 1)) "$T/pid1"
			      echo "portwatch_process_connect_failures_total{pid=\"$cpid\",comm=\"fetcher\",errno=\"EADDRNOTAVAIL\"} 15"
			    } | LC_ALL=C sort | md5sum)" \
			"$(grep '^portwatch_process_connect_failures_total{' "$T/m2" | LC_ALL=C sort | md5sum)"
		check_eq "m2: processes left out of the per-pid series" \
			"portwatch_process_series_dropped $((n + 1 - shown))" "$(grep '^portwatch_process_series_dropped ' "$T/m2")"
	else
		echo "    info: $reused pids used by two of the test's processes (pid_max $(cat /proc/sys/kernel/pid_max)), the run took $((SECONDS - crowd_start)) s (exited rows leave after 5 minutes): per-pid series in m2 not compared exactly"
		check_eq "per-pid series at most --max-pids (1024) processes" 1 \
			"$([ "$(grep '^portwatch_process_connect_failures_total{' "$T/m2" | sed 's/,comm=.*//' | sort -u | wc -l)" -le 1024 ] && echo 1)"
	fi
	local b1 b2
	b1=$(wc -c < "$T/m1")
	b2=$(wc -c < "$T/m2")
	echo "    info: $(grep -c '^portwatch_connect_failures_total{' "$T/m2") per-comm series," \
		"$(grep -c '^portwatch_process_connect_failures_total{' "$T/m2") per-pid series;" \
		"exposition $b1 bytes after $half names, $b2 after $n; RSS $rss1 KiB, then $rss2 KiB;" \
		"kernel maps full: $(grep -E '^portwatch_(counts_dropped|untraced_connects)_total ' "$T/m2" | tr '\n' ' ')"
	# the client's series (per comm, per pid, per errno): 16 KiB of slack;
	# RSS: the exited rows (kept up to 65,536) and malloc's arenas, 4 MiB
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
	local cg port=$METRICS_PORT	# free (tests/run.sh)
	cg=$(cg_own pwtest-squat-$$-$RANDOM)
	local junk='^portwatch_connect_failures_total\{comm="junk[0-9]{4}",errno="EADDRNOTAVAIL",family="inet"\} 1$'
	cg_make "$cg"
	mk_netns 40000 40000
	start_httpd
	hold_port 8080
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
