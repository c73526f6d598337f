# Integration tests of workload attribution (issue: who is failing): real
# cgroups made under the host's cgroup v2 hierarchy with the names the
# kubelet (systemd and cgroupfs drivers) and systemd give them, a fake pods
# folder (--pods-dir), real clients moved into them (curl, the trigger, a
# libcurl program not named curl, a Go program built here), and exact
# checks against what the clients saw. Sourced by tests/run.sh after
# tests/lib.sh and tests/integration.sh (curl_runs, start_httpd).

FETCHER=$OUT/tests/fetcher
# The pod uid and container ids, of this run (the pod cgroups must be made
# at the root, where pods are found: two runs on one host must not share
# them): the run's pid and a random number in their last digits
WL_RUN=$(printf '%012x' $(($$ * 32768 + RANDOM)))
WL_UID=6f1e2c3a-1b2c-4d5e-8f90-$WL_RUN
WL_UID_=${WL_UID//-/_}
WL_CID=0123456789abcdef0123456789abcdef0123456789abcdef0123$WL_RUN
WL_CID2=fedcba9876543210fedcba9876543210fedcba9876543210fedc$WL_RUN

# The cgroup v2 mount (on hybrid hosts /sys/fs/cgroup/unified). Sets CG_ROOT.
cg_root() {
	CG_ROOT=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break; if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
	[ -n "$CG_ROOT" ] && [ -w "$CG_ROOT/cgroup.procs" ] || skip "no writable cgroup v2 hierarchy in /proc/self/mountinfo"
}

# cg_own NAME: the REL (for cg_make, in_cg, --cgroup) of cgroup NAME under
# the test's own cgroup (tests/run.sh's PW_TEST_CG), at the root only
# without one: a test's cgroups go there unless what it tests needs the
# root (the kubelet's pod cgroups: pods are found from the root only)
cg_own() { echo "${PW_TEST_CG_REL:+${PW_TEST_CG_REL#/}/}$1"; }

# cg_make REL: mkdir each missing level of $CG_ROOT/REL; cleanup (deferred)
# moves any process left back to the test's cgroup and removes, deepest first, only
# the levels made here. Prints the absolute path.
cg_make() {
	local rel=$1 path=$CG_ROOT part
	local IFS=/
	for part in $rel; do
		[ -z "$part" ] && continue
		path=$path/$part
		if [ ! -d "$path" ]; then
			mkdir "$path" || { fail "setup: mkdir $path"; exit 1; }
			defer "cg_remove '$path'"
		fi
	done
}
cg_remove() {
	local p home=$CG_ROOT
	# back into the test's own cgroup, where tests/run.sh kills what is
	# left when the test ends (the root only without one)
	[ -n "${PW_TEST_CG:-}" ] && [ -d "$PW_TEST_CG/sh" ] && home=$PW_TEST_CG/sh
	for p in $(cat "$1/cgroup.procs" 2>/dev/null); do
		echo "$p" > "$home/cgroup.procs" 2>/dev/null
	done
	rmdir "$1"
}

# in_cg REL CMD...: run CMD in the test netns, inside cgroup REL, appending
# its pid to $T/pids.REL-basename (the ground truth of who ran where). The
# shell joins the cgroup first: `ip netns exec` mounts a sysfs of its own,
# without the cgroup mounts, and then execs CMD in the same process.
in_cg() {
	local cg=$CG_ROOT/$1
	shift
	sh -c 'echo $$ > "$1/cgroup.procs" && echo $$ >> "$2" && shift 2 && exec ip netns exec "$@"' \
		sh "$cg" "$T/pids.$(basename "$cg")" "$NS" "$@"
}

# curl_runs_cg REL N: N curl runs inside REL; counts in CG_OK / CG_7 / CG_OTHER
curl_runs_cg() {
	local i rc
	CG_OK=0 CG_7=0 CG_OTHER=0
	for i in $(seq "$2"); do
		in_cg "$1" curl -s -o /dev/null http://127.0.0.1:8080/
		rc=$?
		case $rc in
		0) CG_OK=$((CG_OK + 1)) ;;
		7) CG_7=$((CG_7 + 1)) ;;
		*) CG_OTHER=$((CG_OTHER + 1)) ;;
		esac
	done
}

# A pods folder as the kubelet lays it out: <ns>_<pod>_<uid>/<container>/
mk_pods() {
	mkdir -p "$T/logs/pods/$1_$2_$3/$4" "$T/logs/containers"
}

# The systemd cgroup driver with containerd: every event carries the pod
# (namespace, name, uid, QoS) and the container, exactly as many as curl's
# exit-7 runs; the summary rows of those runs too; and Prometheus' series.
t_workload_kubelet_systemd_json() {
	cg_root
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	local slice=kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$WL_UID_.slice
	local cg=$slice/cri-containerd-$WL_CID.scope port=${METRICS_PORT:-19099}
	cg_make "$cg"
	mk_pods shop web-7d9f "$WL_UID" app
	# the pod's cgroup (this run's pod uid and container id): another
	# run's curl on this host is not judged
	pw_start -j --cgroup="$cg" --pods-dir="$T/logs/pods" -l "127.0.0.1:$port"
	curl_runs_cg "$cg" 25
	check_eq "curl exit 0" 10 "$CG_OK"
	check_eq "curl exit 7" 15 "$CG_7"
	curl -s --max-time 5 "http://127.0.0.1:$port/metrics" > "$T/m"
	pw_stop

	ns_events > "$T/ev"
	check_eq "events in the test netns" "$CG_7" "$(wc -l < "$T/ev")"
	check_eq "events with the cgroup, pod, QoS, container and its id" "$CG_7" \
		"$(jq -c --arg cg "/$cg" --arg uid "$WL_UID" --arg cid "$WL_CID" 'select(.cgroup == $cg
			and .pod == {namespace: "shop", name: "web-7d9f", uid: $uid, qos: "burstable"}
			and .container == "app" and .container_id == $cid and .unit == null
			and .comm == "curl" and .thread == null)' "$T/ev" | wc -l)"
	check_eq "event pids are runs in the cgroup" "$CG_7" \
		"$(jq -r .pid "$T/ev" | sort -u | grep -cxFf "$T/pids.cri-containerd-$WL_CID.scope")"
	local pids
	pids=$(jq -Rn '[inputs | tonumber]' "$T/pids.cri-containerd-$WL_CID.scope")
	check_eq "summary rows of the runs, each with its pod and container" 25 \
		"$(summary | jq -c --argjson p "$pids" '.processes[] | select(.pid as $x | $p | index($x))
			| select(.pod.name == "web-7d9f" and .pod.namespace == "shop" and .container == "app")' | wc -l)"
	check_eq "workload series (pod, container) = curl's exit-7 runs" 1 \
		"$(grep -cxF "portwatch_workload_connect_failures_total{namespace=\"shop\",pod=\"web-7d9f\",container=\"app\",unit=\"\",errno=\"EADDRNOTAVAIL\"} $CG_7" "$T/m")"
	check_eq "remedies: the same rule ids as before" \
		'["reuse_connections","tw_reuse_2","wider_port_range","more_destinations"]' \
		"$(jq -c --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns) | [.remedies[].id | select(. != "ip_local_port_range_sockopt")]' "$T/pw.out")"
}

# The cgroupfs driver (QoS besteffort), a pod of two containers told apart
# by the /var/log/containers link; text mode: every failure line ends with
# namespace/pod/container.
t_workload_kubelet_cgroupfs_text() {
	cg_root
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	local cg=kubepods/besteffort/pod$WL_UID/$WL_CID2
	cg_make "$cg"
	mk_pods shop api-5c "$WL_UID" main
	mk_pods shop api-5c "$WL_UID" sidecar
	: > "$T/logs/containers/api-5c_shop_sidecar-$WL_CID2.log"
	pw_start --cgroup="$cg" --pods-dir="$T/logs/pods"
	wait_for "$T/pw.out" '^TIME ' 10 || exit 1	# written just after the attach line
	check_eq "text header ends with WORKLOAD" 1 "$(head -n 1 "$T/pw.out" | grep -c ' SCAN  *WORKLOAD$')"
	curl_runs_cg "$cg" 25
	wait_count "$T/pw.out" 'EADDRNOTAVAIL' "$CG_7" 5
	pw_stop
	check_eq "curl exit 7" 15 "$CG_7"
	check_eq "failure lines ending with shop/api-5c/sidecar" "$CG_7" \
		"$(grep -cE ' curl .*127\.0\.0\.1:8080 +EADDRNOTAVAIL +port_range_exhausted +40000-40009 +[0-9.]+[um]?s +shop/api-5c/sidecar$' "$T/pw.out")"
	check_eq "summary table rows of the runs with the workload" 25 \
		"$(awk '$2 == "curl" && $NF == "shop/api-5c/sidecar" {print $1}' "$T/pw.out" | sort -u | grep -cxFf "$T/pids.$WL_CID2")"
}

# A systemd service and a second cgroup side by side; --cgroup keeps the
# service's subtree only, exactly: its runs' failures are the events and
# the summary has none of the others.
t_workload_unit_and_cgroup_filter() {
	cg_root
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	local unit=pwtest-$$-$RANDOM.service other slice
	# a slice and its service under the test's own cgroup: the unit is
	# named from the root down to the first .service
	slice=$(cg_own system.slice) other=$(cg_own pwtest-other-$$-$RANDOM)
	cg_make "$slice/$unit"
	cg_make "$other"
	pw_start -j --cgroup="$slice/$unit"
	local i rc a7=0 b7=0 a=0
	for i in $(seq 25); do
		if [ $((i % 2)) -eq 1 ]; then
			in_cg "$slice/$unit" curl -s -o /dev/null http://127.0.0.1:8080/
			rc=$?; a=$((a + 1)); [ $rc -eq 7 ] && a7=$((a7 + 1))
		else
			in_cg "$other" curl -s -o /dev/null http://127.0.0.1:8080/
			rc=$?; [ $rc -eq 7 ] && b7=$((b7 + 1))
		fi
	done
	pw_stop
	check_eq "failures of both (10 ports, 25 runs)" 15 "$((a7 + b7))"
	ns_events > "$T/ev"
	check_eq "events: only the service's runs that exited 7" "$a7" "$(wc -l < "$T/ev")"
	check_eq "events carry the unit and no pod" "$a7" \
		"$(jq -c --arg u "$slice/$unit" --arg cg "/$slice/$unit" \
			'select(.unit == $u and .cgroup == $cg and .pod == null and .container == null)' "$T/ev" | wc -l)"
	check_eq "event pids are the service's runs" "$a7" \
		"$(jq -r .pid "$T/ev" | sort -u | grep -cxFf "$T/pids.$unit")"
	check_eq "summary: the service's runs, all of them" "$a" \
		"$(summary | jq -r '.processes[].pid' | grep -cxFf "$T/pids.$unit")"
	check_eq "summary: none of the other cgroup's runs" 0 \
		"$(summary | jq -r '.processes[].pid' | grep -cxFf "$T/pids.${other##*/}")"
	check_eq "summary: only processes of the service (none from elsewhere on the host)" "$a" \
		"$(summary | jq '.processes | length')"
	# a path that is no cgroup: exit 2, one line, nothing attached
	"$PW" --cgroup=/nonexistent/x -d 1 > "$T/o" 2> "$T/e"
	check_eq "--cgroup=/nonexistent/x exit" 2 $?
	check_eq "one line on stderr" 1 "$(wc -l < "$T/e")"
	"$PW" --cgroup=/proc -d 1 > "$T/o" 2> "$T/e"
	check_eq "--cgroup=/proc (not cgroup2) exit" 2 $?
	check_eq "it says why" 1 "$(grep -c 'not a cgroup v2 directory' "$T/e")"
}

# A thread named with prctl(PR_SET_NAME) fails: the process's name in
# comm (and -c matches it), the thread's in thread.
t_workload_named_thread() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	# the test's own cgroup, and -c: it matches the process's name
	pw_start -j --cgroup="$OWN_CG" -c pwt-proc
	must in_ns "$TRIGGER" --comm pwt-proc --thread-name pool-worker-7 --port 18095 exhaust --count 13 > "$T/t"
	pw_stop
	local tid fails
	tid=$(truth '.[0].tid' "$T/t")
	fails=$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")
	check_eq "the trigger's thread failed" 3 "$fails"
	check_eq "the record is the thread's (not the process's)" 1 \
		"$(jq -c 'select(.type == "record" and .comm == "pool-worker-7" and .tid != .pid)' "$T/t" | wc -l)"
	ns_events > "$T/ev"
	check_eq "events: comm the process's, thread the thread's, tid the thread's" "$fails" \
		"$(jq -c --argjson tid "$tid" 'select(.comm == "pwt-proc" and .thread == "pool-worker-7" and .tid == $tid)' "$T/ev" | wc -l)"
	check_eq "summary row under the process's name" pwt-proc \
		"$(summary | jq -r --argjson p "$(truth '.[0].pid' "$T/t")" '.processes[] | select(.pid == $p) | .comm')"
}

# release FIFO: let a waiting client exit
release() { timeout "$(waited 5)" sh -c ": > '$1'"; }

# kept_client NAME OUT DONE CMD...: portwatch -j on the test's own cgroup
# (other failures on the host must not change the remedies asserted) while
# CMD, whose process is named NAME, runs in the netns and, once it printed
# DONE to OUT, stays alive until portwatch's diagnosis of its failure is out
# (the worker has looked at it); then CMD is let go and portwatch stopped.
# CMD's last argument must be its FIFO, $T/go. Sets CLIENT_PID.
kept_client() {
	local name=$1 out=$2 done=$3 cpid
	shift 3
	own_cgroup
	mkfifo "$T/go"
	pw_start -j --cgroup="$OWN_CG"
	ip netns exec "$NS" "$@" > "$out" &
	cpid=$!
	# (released only if still there: a FIFO nobody reads blocks the open)
	defer "kill -0 $cpid 2>/dev/null && release '$T/go'; kill $cpid; wait $cpid"
	wait_for "$out" "$done" 30 || exit 1
	CLIENT_PID=$(jq .pid "$out")
	# the diagnosis of its first failure names the client found in it
	wait_for "$T/pw.out" "\"type\":\"pressure\".*\"pid\":$CLIENT_PID," 10 || exit 1
	release "$T/go"
	wait $cpid
	pw_stop
	check_eq "events of the client, all under its name $name" \
		"$(ns_events | jq -c --argjson p "$CLIENT_PID" 'select(.pid == $p)' | wc -l)" \
		"$(ns_events | jq -c --argjson p "$CLIENT_PID" --arg n "$name" 'select(.pid == $p and .comm == $n)' | wc -l)"
}

# client_checks OUT CLIENT TEXT: what an interpreter's client saw (10 ok, 3
# EADDRNOTAVAIL, nothing else), one event per failure, and the remedies for
# CLIENT whose reuse_connections text matches "pid PID) TEXT".
client_checks() {
	local pid=$CLIENT_PID
	check_eq "client: ok, EADDRNOTAVAIL, other" '[10,3,0]' "$(jq -c '[.ok, .eaddrnotavail, .other]' "$1")"
	check_eq "events of its failures" 3 \
		"$(ns_events | jq -c --argjson p "$pid" 'select(.pid == $p and .errno == "EADDRNOTAVAIL")' | wc -l)"
	check_eq "remedies: client $2" "$2" "$(jq -r --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns) | .client' "$T/pw.out")"
	check_eq "advice: live, one, its pid and client" "[[$pid,\"$2\"]]" \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "advice" and .pressure.netns == $ns) | [.pid, .client]]' "$T/pw.out")"
	check_eq "reuse_connections: $3" 1 \
		"$(jq -r --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns) | .remedies[] | select(.id == "reuse_connections") | .text' "$T/pw.out" \
			| grep -c "pid $pid) $3")"
}

# A libcurl program not named curl (one easy handle per request), kept alive
# until portwatch's diagnosis has looked at it: the remedies name libcurl's
# settings, for its pid.
t_workload_libcurl_client_remedy() {
	[ -x "$FETCHER" ] || skip "$FETCHER not built (libcurl4-openssl-dev missing: make test-deps tools)"
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	kept_client fetcher "$T/f" '"couldnt_connect"' "$FETCHER" http://127.0.0.1:8080/ 13 "$T/go"
	local pid=$CLIENT_PID
	check_eq "fetcher: ok, couldn't connect, other" '[10,3,0]' "$(jq -c '[.ok, .couldnt_connect, .other]' "$T/f")"
	check_eq "its process name is not curl" fetcher "$(ns_events | jq -r .comm | sort -u)"
	check_eq "events of its failures" 3 "$(ns_events | jq -c --argjson p "$pid" 'select(.pid == $p)' | wc -l)"
	check_eq "pressure object: client libcurl" libcurl \
		"$(jq -r --argjson p "$pid" 'select(.type == "pressure" and .pid == $p) | .client' "$T/pw.out" | head -n 1)"
	check_eq "remedies: client libcurl" libcurl "$(jq -r --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns) | .client' "$T/pw.out")"
	check_eq "advice: live, one, its pid and client" "[[$pid,\"libcurl\"]]" \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "advice" and .pressure.netns == $ns) | [.pid, .client]]' "$T/pw.out")"
	local text
	text=$(jq -r --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns) | .remedies[] | select(.id == "reuse_connections") | .text' "$T/pw.out")
	check_eq "reuse_connections names libcurl, the pid, the easy handle, CURLOPT_MAXCONNECTS" 1 \
		"$(grep -c "pid $pid) uses libcurl.*same easy handle.*share handle.*CURLOPT_MAXCONNECTS" <<<"$text")"
}

# A Go client (Debian's golang-go, built here offline, standard library
# only), a new http.Transport per request: the remedies name http.Transport
# and MaxIdleConnsPerHost.
# build_goclient: tests/goclient.go built offline into $T/gobuild/goclient
# (SKIP without Debian's go).
build_goclient() {
	local go
	go=$(command -v go || ls /usr/lib/go/bin/go 2>/dev/null)
	[ -n "$go" ] || skip "go not installed (package golang-go: make test-deps)"
	mkdir -p "$T/gobuild"
	cp tests/goclient.go "$T/gobuild/"
	(cd "$T/gobuild" && GOCACHE="$T/gocache" GOPATH="$T/gopath" GOFLAGS=-mod=mod GOPROXY=off \
		GOTOOLCHAIN=local GO111MODULE=off CGO_ENABLED=0 "$go" build -o goclient goclient.go) > "$T/gobuild.log" 2>&1
	check_eq "go build exit" 0 $?
	[ -x "$T/gobuild/goclient" ] || { sed 's/^/      go: /' "$T/gobuild.log"; exit 1; }
}
t_workload_go_client_remedy() {
	build_goclient
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	kept_client goclient "$T/g" '"eaddrnotavail"' "$T/gobuild/goclient" http://127.0.0.1:8080/ 13 "$T/go"
	local pid=$CLIENT_PID
	check_eq "goclient: ok, failed, EADDRNOTAVAIL" '[10,3,3]' "$(jq -c '[.ok, .failed, .eaddrnotavail]' "$T/g")"
	# Go's dialer tries a connect() that fails with EADDRNOTAVAIL twice
	# more before it gives up (net/tcpsock_posix.go, spuriousENOTAVAIL):
	# 3 connect() failures per failed request
	check_eq "events: 3 connect() failures per failed request" 9 \
		"$(ns_events | jq -c --argjson p "$pid" 'select(.pid == $p and .errno == "EADDRNOTAVAIL")' | wc -l)"
	check_eq "summary: the same failures" 9 \
		"$(summary | jq --argjson p "$pid" '[.processes[] | select(.pid == $p) | .errors.EADDRNOTAVAIL] | add')"
	check_eq "remedies: client go" go "$(jq -r --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns) | .client' "$T/pw.out")"
	check_eq "advice: live, one, its pid and client" "[[$pid,\"go\"]]" \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "advice" and .pressure.netns == $ns) | [.pid, .client]]' "$T/pw.out")"
	check_eq "reuse_connections names http.Transport and MaxIdleConnsPerHost (default 2)" 1 \
		"$(jq -r --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns) | .remedies[] | select(.id == "reuse_connections") | .text' "$T/pw.out" \
			| grep -c "pid $pid) is a Go program.*http.Transport.*MaxIdleConnsPerHost (default 2")"
}

# Live remedies per (workload, client kind, destination) (issue 24 item 4):
# under one portwatch -j and one text portwatch, a curl, a libcurl program
# (tests/fetcher) and a Go client (tests/goclient), each in a cgroup of its
# own, fail in turn to one destination (the range filled by 10 curl runs,
# its ports in TIME_WAIT); each is kept alive until portwatch has looked at
# it (curl: its second URL is file://FIFO, whose open blocks). While
# portwatch runs, each gets its own advice: exactly one "advice" object per
# client, with its pid, its cgroup and its client's reuse_connections text,
# and the text portwatch its "REMEDIES" block for it. At the end, one
# "remedies" object per client (three distinct failers).
adv_wait() {	# adv_wait PID CLIENT: its live advice, in both portwatches
	wait_for "$T/pw.out" "^\{\"type\":\"advice\",.*\"pid\":$1,.*\"client\":\"$2\"" 15 || return 1
	wait_for "$T/pwt.out" "^    for pid $1 \(.*\), client $2, workload " 15
}
t_workload_live_remedy_per_client() {
	[ -x "$FETCHER" ] || skip "$FETCHER not built (libcurl4-openssl-dev missing: make test-deps tools)"
	command -v curl >/dev/null || skip "curl not installed"
	build_goclient
	cg_root
	local base pc pf pg
	base=$(cg_own pwtest-adv-$$-$RANDOM)
	cg_make "$base/curl"
	cg_make "$base/fetcher"
	cg_make "$base/go"
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	# the text portwatch first (pw_start empties pw.out and pw.err)
	"$PW" --cgroup="$base" > "$T/pwt.out" 2> "$T/pwt.err" &
	local tpid=$!
	defer "kill -INT $tpid; wait $tpid"
	wait_for "$T/pwt.err" 'attached in' 10 || exit 1
	pw_start -j --cgroup="$base"
	curl_runs_cg "$base/curl" 10
	check_eq "range filled: curl runs ok" 10 "$CG_OK"
	mkfifo "$T/c.go" "$T/f.go" "$T/g.go"

	# curl: its first URL fails, then it waits in open(FIFO)
	in_cg "$base/curl" curl -s -o /dev/null http://127.0.0.1:8080/ "file://$T/c.go" > /dev/null &
	local cj=$!
	defer "kill $cj; wait $cj"
	wait_for "$T/pw.out" '"errno":"EADDRNOTAVAIL"' 15 || exit 1
	pc=$(tail -n 1 "$T/pids.curl")
	adv_wait "$pc" libcurl || exit 1
	release "$T/c.go"
	wait $cj
	check_eq "curl: exit status (its last URL, the FIFO)" 0 $?

	in_cg "$base/fetcher" "$FETCHER" http://127.0.0.1:8080/ 1 "$T/f.go" > "$T/f" &
	local fj=$!
	defer "kill $fj; wait $fj"
	wait_for "$T/f" '"couldnt_connect"' 15 || exit 1
	pf=$(jq .pid "$T/f")
	adv_wait "$pf" libcurl || exit 1
	release "$T/f.go"
	wait $fj

	in_cg "$base/go" "$T/gobuild/goclient" http://127.0.0.1:8080/ 1 "$T/g.go" > "$T/g" &
	local gj=$!
	defer "kill $gj; wait $gj"
	wait_for "$T/g" '"eaddrnotavail"' 30 || exit 1
	pg=$(jq .pid "$T/g")
	adv_wait "$pg" go || exit 1
	release "$T/g.go"
	wait $gj
	pw_stop
	kill -INT $tpid
	wait $tpid
	check_eq "text portwatch exit" 0 $?

	check_eq "fetcher: ok, couldn't connect, other" '[0,1,0]' "$(jq -c '[.ok, .couldnt_connect, .other]' "$T/f")"
	check_eq "goclient: ok, failed, EADDRNOTAVAIL" '[0,1,1]' "$(jq -c '[.ok, .failed, .eaddrnotavail]' "$T/g")"
	check_eq "events: curl 1, fetcher 1, goclient 3 (Go's dialer tries twice more)" '1 1 3' \
		"$(for p in "$pc" "$pf" "$pg"; do ns_events |
			jq -c --argjson p "$p" 'select(.pid == $p and .errno == "EADDRNOTAVAIL")' | wc -l; done | xargs)"
	local adv="select(.type == \"advice\" and .pressure.netns == $NS_INO)"
	check_eq "advice objects: one per client" 3 "$(jq -c "$adv" "$T/pw.out" | wc -l)"
	check_eq "advice: pid, client, cgroup of each" \
		"[[$pc,\"libcurl\",\"/$base/curl\"],[$pf,\"libcurl\",\"/$base/fetcher\"],[$pg,\"go\",\"/$base/go\"]]" \
		"$(jq -s -c "[.[] | $adv | [.pid, .client, .cgroup]]" "$T/pw.out")"
	check_eq "advice: each its own client's reuse_connections" '[1,1,1]' \
		"$(jq -s -c --arg c "pid $pc\\) uses libcurl.*same easy handle" --arg f "pid $pf\\) uses libcurl.*same easy handle" \
			--arg g "pid $pg\\) is a Go program.*MaxIdleConnsPerHost" \
			"[.[] | $adv | .remedies[] | select(.id == \"reuse_connections\") | .text] as \$t |
			 [\$c, \$f, \$g] | map(. as \$r | [\$t[] | select(test(\$r))] | length)" "$T/pw.out")"
	check_eq "advice: every one 10/10 held, the pressure seen" 3 \
		"$(jq -c "$adv | select(.pressure.held == 10 and .pressure.range_size == 10)" "$T/pw.out" | wc -l)"
	check_eq "advice objects all before the summary's remedies" 3 \
		"$(sed '/"type":"remedies"/q' "$T/pw.out" | jq -c "$adv" | wc -l)"
	check_eq "summary remedies: one per client" \
		"[[$pc,\"libcurl\"],[$pf,\"libcurl\"],[$pg,\"go\"]]" \
		"$(jq -s -c --argjson ns "$NS_INO" '[.[] | select(.type == "remedies" and .pressure.netns == $ns) | [.pid, .client]] | sort_by(.[0])' "$T/pw.out" |
			jq -c --argjson o "[$pc,$pf,$pg]" 'sort_by(.[0] as $p | $o | index($p))')"
	check_eq "text: one live REMEDIES block per client" 3 "$(grep -c '^REMEDIES for 127\.0\.0\.1:8080 ' "$T/pwt.out")"
	check_eq "text: each names its pid and client" '1 1 1' \
		"$(for x in "$pc libcurl" "$pf libcurl" "$pg go"; do set -- $x
			grep -cE "^    for pid $1 \([^)]*\), client $2, workload /$base/" "$T/pwt.out"; done | xargs)"
	check_eq "text: summary blocks, one per client" 3 "$(grep -c '^Remedies for 127\.0\.0\.1:8080 ' "$T/pwt.out")"
}

# A local user who makes cgroups quickly cannot make the event path resolve
# without end: one process connects 600 times, each time from a new cgroup
# (trigger --cgroup-hop; 10 connects succeed, 590 fail). portwatch resolves
# at most 256 new cgroups per second on the event path: the events it
# resolved each name their own cgroup, the others have null workload fields,
# and stderr says exactly how many; nothing is lost, the run ends normally.
t_workload_new_cgroups_bounded() {
	cg_root
	# under the test's own cgroup when tests/run.sh made one
	local base n=600 i
	base=$(cg_own hop-$$-$RANDOM)
	cg_make "$base"
	for i in $(seq 0 $((n - 1))); do
		mkdir "$CG_ROOT/$base/$i" || { fail "setup: mkdir"; exit 1; }
		defer "cg_remove '$CG_ROOT/$base/$i'"
	done
	pw_start -j --cgroup="$base"
	must "$TRIGGER" --private $RANGE_LO-$RANGE_HI --cgroup-hop "$CG_ROOT/$base" exhaust --count $n > "$T/t"
	pw_stop
	local pid fails
	pid=$(truth '.[0].pid' "$T/t")
	fails=$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")
	check_eq "trigger failures" $((n - 10)) "$fails"
	jq -c --argjson p "$pid" 'select(.type == "connect" and .pid == $p)' "$T/pw.out" > "$T/ev"
	check_eq "events: every failure" "$fails" "$(wc -l < "$T/ev")"
	check_eq "events lost" 0 "$(summary | jq .events_lost)"
	local resolved unresolved said span
	resolved=$(jq -c 'select(.cgroup != null)' "$T/ev" | wc -l)
	unresolved=$(jq -c 'select(.cgroup == null and .unit == null and .pod == null and .container_id == null)' "$T/ev" | wc -l)
	check_eq "events: resolved + null = all" "$fails" "$((resolved + unresolved))"
	check_eq "resolved events name their own cgroup, each a different one" "$resolved" \
		"$(jq -r 'select(.cgroup != null) | .cgroup' "$T/ev" | grep -xE "/$base/[0-9]+" | sort -u | wc -l)"
	said=$(sed -n 's/^portwatch: workloads: \([0-9]*\) events without theirs.*/\1/p' "$T/pw.err")
	check_eq "stderr: the events left without their workload" "$unresolved" "${said:-0}"
	# the budget is 256 new cgroups per second of the events' kernel time
	# (windows of whole seconds of CLOCK_MONOTONIC; the event time is that
	# plus one offset, unknown here): exact when some window phase makes
	# every window resolve min(256, its events), every event a new cgroup.
	# The phases to try: each event's own (a window starts at an event).
	span=$(jq -rs '[.[].time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601] | (max - min)' "$T/ev")
	jq -r '"\(.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601) \(.time | capture("\\.(?<f>[0-9]{9})Z$").f) \(if .cgroup != null then 1 else 0 end)"' \
		"$T/ev" > "$T/times"
	check_eq "resolved = min(256, new cgroups) in every 1 s window of some phase ($resolved in a span of ${span}s)" 1 \
		"$(awk 'NR == 1 { s0 = $1 } { t[NR] = ($1 - s0) * 1e9 + $2; r[NR] = $3; n = NR }
			END {
				for (c = 1; c <= n; c++) {
					o = t[c] % 1e9; ok = 1
					delete all; delete res
					for (i = 1; i <= n; i++) { w = int((t[i] - o + 1e9) / 1e9); all[w]++; res[w] += r[i] }
					for (w in all) if (res[w] != (all[w] < 256 ? all[w] : 256)) { ok = 0; break }
					if (ok) { print 1; exit }
				}
				print 0 }' "$T/times")"
	echo "    info: $resolved of $fails events resolved, $unresolved over the budget, span ${span}s"
}

# A local user with a delegated cgroup subtree (here the test's own cgroup,
# standing for user@UID.service) names cgroups in it as the kubelet names a
# victim pod's, with both drivers' shapes; a pods folder has the victim. Its
# failures are charged to no pod (the events, the summary, the text column
# and the per-workload series): pods are found from the root only.
t_workload_pod_not_impersonated() {
	cg_root
	mk_netns $RANGE_LO $RANGE_HI
	local base port=${METRICS_PORT:-19099} i
	base=$(cg_own pwtest-deleg-$$-$RANDOM)
	local cgfs=$base/kubepods/burstable/pod$WL_UID/$WL_CID
	local sysd=$base/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod$WL_UID_.slice/cri-containerd-$WL_CID2.scope
	cg_make "$cgfs"
	cg_make "$sysd"
	mk_pods shop victim "$WL_UID" app
	pw_start -j --cgroup="$base" --pods-dir="$T/logs/pods" -l "127.0.0.1:$port"
	for i in 1 2; do
		in_cg "$([ $i = 1 ] && echo "$cgfs" || echo "$sysd")" "$TRIGGER" --port $((18110 + i)) \
			exhaust --count 13 > "$T/t$i" || { fail "setup: trigger $i exited $?"; exit 1; }
		check_eq "trigger $i failures" 3 "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t$i")"
	done
	curl -s --max-time 5 "http://127.0.0.1:$port/metrics" > "$T/m"
	pw_stop
	ns_events > "$T/ev"
	check_eq "events of both" 6 "$(wc -l < "$T/ev")"
	check_eq "events in the cgroupfs-shaped subtree: its cgroup, no pod" 3 \
		"$(jq -c --arg cg "/$cgfs" 'select(.cgroup == $cg and .pod == null and .container == null)' "$T/ev" | wc -l)"
	check_eq "events in the systemd-shaped subtree: its cgroup, no pod" 3 \
		"$(jq -c --arg cg "/$sysd" 'select(.cgroup == $cg and .pod == null and .container == null)' "$T/ev" | wc -l)"
	check_eq "summary rows of the triggers, none charged to a pod" 2 \
		"$(summary | jq -c --argjson p "[$(truth '.[0].pid' "$T/t1"),$(truth '.[0].pid' "$T/t2")]" \
			'.processes[] | select(.pid as $x | $p | index($x)) | select(.pod == null)' | wc -l)"
	check_eq "no per-workload series of the victim pod" 0 "$(grep -c 'pod="victim"' "$T/m")"
}

# The summary table's rows keep their workloads while resolving later rows
# starts the cache over: the cache lowered to 2 cgroups
# (PORTWATCH_TEST_WL_CACHE), 6 processes each failing in a cgroup of its
# own. Each row names its own cgroup (under ASan, in the sanitizer pass, a
# row holding a freed entry aborts the run).
t_workload_table_outlives_cache() {
	cg_root
	local base n=6 i pid
	base=$(cg_own pwtest-wlc-$$-$RANDOM)
	cg_make "$base"
	for i in $(seq $n); do
		cg_make "$base/c$i"
	done
	PORTWATCH_TEST_WL_CACHE=0 "$PW" -q -d 1 > "$T/o" 2> "$T/e"
	check_eq "PORTWATCH_TEST_WL_CACHE=0 exit" 2 $?
	check_eq "PORTWATCH_TEST_WL_CACHE=0 says why" 1 "$(grep -c 'PORTWATCH_TEST_WL_CACHE' "$T/e")"
	PORTWATCH_TEST_WL_CACHE=2 pw_start -j --cgroup="$base"
	for i in $(seq $n); do
		sh -c 'echo $$ > "$1/cgroup.procs" && exec "$2" --private $3 exhaust --count 12' \
			sh "$CG_ROOT/$base/c$i" "$TRIGGER" $RANGE_LO-$RANGE_HI > "$T/t$i" ||
			{ fail "setup: trigger in c$i exited $?"; exit 1; }
		check_eq "trigger in c$i: failures" 2 "$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t$i")"
	done
	pw_stop
	for i in $(seq $n); do
		pid=$(truth '.[0].pid' "$T/t$i")
		check_eq "summary row of c$i's process names its cgroup" "/$base/c$i" \
			"$(summary | jq -r --argjson p "$pid" '.processes[] | select(.pid == $p) | .cgroup')"
	done
	check_eq "summary: the $n processes" $n "$(summary | jq '.processes | length')"
	check_eq "stderr: the cache started over" 1 \
		"$(grep -cE 'cache restarted [1-9][0-9]* times \(2 cgroups\)' "$T/pw.err")"
}

# CPython (urllib, a new connection per request) and Node.js (a new
# http.Agent without keep-alive per request): found from the executable's
# exported symbols (or libpython / libnode mapped), never from the name;
# their remedies name requests.Session and http.Agent keepAlive.
t_workload_python_client_remedy() {
	command -v python3 >/dev/null || skip "python3 not installed (package python3: make test-deps)"
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	cat > "$T/client.py" <<'PY'
import errno, json, os, sys, urllib.request, urllib.error
ok = eaddr = other = 0
for _ in range(int(sys.argv[2])):
    try:
        with urllib.request.urlopen(sys.argv[1]) as r:
            r.read()
        ok += 1
    except urllib.error.URLError as e:
        if getattr(e.reason, "errno", None) == errno.EADDRNOTAVAIL:
            eaddr += 1
        else:
            other += 1
print(json.dumps({"pid": os.getpid(), "ok": ok, "eaddrnotavail": eaddr, "other": other}), flush=True)
open(sys.argv[3]).close()
PY
	kept_client python3 "$T/p" '"eaddrnotavail"' python3 "$T/client.py" http://127.0.0.1:8080/ 13 "$T/go"
	client_checks "$T/p" python "is CPython.*requests.Session.*pool_maxsize"
}

t_workload_node_client_remedy() {
	command -v node >/dev/null || skip "node not installed (package nodejs: make test-deps)"
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	cat > "$T/client.js" <<'JS'
const http = require('http'), fs = require('fs');
const [url, n, fifo] = process.argv.slice(2);
let ok = 0, eaddr = 0, other = 0;
function one(i) {
	if (i === +n) {
		console.log(JSON.stringify({pid: process.pid, ok, eaddrnotavail: eaddr, other}));
		fs.closeSync(fs.openSync(fifo, 'r'));
		return;
	}
	http.get(url, {agent: new http.Agent({keepAlive: false})}, (res) => {
		res.resume();
		res.on('end', () => { ok++; one(i + 1); });
	}).on('error', (e) => {
		if (e.code === 'EADDRNOTAVAIL') eaddr++; else other++;
		one(i + 1);
	});
}
one(0);
JS
	kept_client node "$T/n" '"eaddrnotavail"' node "$T/client.js" http://127.0.0.1:8080/ 13 "$T/go"
	client_checks "$T/n" node "is Node.js.*http.Agent with keepAlive: true"
}

# A JVM (HttpURLConnection with http.keepAlive=false: the client closes
# each connection): found from libjvm.so mapped; its events carry the
# process's name (java), whatever the connecting thread is called.
t_workload_jvm_client_remedy() {
	command -v java >/dev/null && java --list-modules 2>/dev/null | grep -q '^jdk.compiler' ||
		skip "no JDK to run a single-file Java program (package openjdk-17-jdk-headless)"
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	cat > "$T/Client.java" <<'JAVA'
import java.io.*;
import java.net.*;

public class Client {
	public static void main(String[] a) throws Exception {
		System.setProperty("http.keepAlive", "false");
		int ok = 0, eaddr = 0, other = 0;
		for (int i = 0; i < Integer.parseInt(a[1]); i++) {
			try {
				HttpURLConnection c = (HttpURLConnection) new URL(a[0]).openConnection();
				try (InputStream in = c.getInputStream()) { in.readAllBytes(); }
				ok++;
			} catch (BindException e) {
				eaddr++;	/* "Cannot assign requested address" */
			} catch (IOException e) {
				other++;
			}
		}
		System.out.println("{\"pid\":" + ProcessHandle.current().pid() + ",\"ok\":" + ok +
				   ",\"eaddrnotavail\":" + eaddr + ",\"other\":" + other + "}");
		System.out.flush();
		new FileInputStream(a[2]).close();
	}
}
JAVA
	kept_client java "$T/j" '"eaddrnotavail"' java -Xshare:auto -XX:TieredStopAtLevel=1 "$T/Client.java" \
		http://127.0.0.1:8080/ 13 "$T/go"
	client_checks "$T/j" jvm "is a JVM.*HttpClient.*http.keepAlive.*http.maxConnections"
	check_eq "its events under the process's name" 3 \
		"$(ns_events | jq -c --argjson p "$CLIENT_PID" 'select(.pid == $p and .comm == "java")' | wc -l)"
	echo "    info: the JVM's connecting thread: $(ns_events | jq -c '[.tid != .pid, .thread]' | sort -u | tr '\n' ' ')"
}
