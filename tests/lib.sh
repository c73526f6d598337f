# Helpers for tests/integration.sh: per-test temp dir, cleanup stack, private
# network namespaces, portwatch start/stop, bounded waits and assertions.
# Sourced by tests/run.sh; every test runs in its own subshell.

PW=${PW:-./portwatch}
OUT=${OUTPUT:-.output}
TRIGGER=$OUT/tests/trigger
HTTPD=$OUT/tests/httpd

_cleanups=()
# defer CMD: run CMD when the test's subshell exits, last registered first.
# Each is also written to $T/cleanups (NUL-separated) and, once run, its
# text to $T/cleanups.done: when tests/run.sh has to kill a test that
# overran its time limit, it runs those the test did not (see run_cleanups_left).
defer() {
	_cleanups+=("$1")
	[ -n "${T:-}" ] && printf '%s\0' "$1" >> "$T/cleanups"
}
_run_cleanups() {
	local i
	[ -n "${T:-}" ] && : > "$T/cleaning"
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[i]}" >/dev/null 2>&1
		[ -n "${T:-}" ] && printf '%s\0' "${_cleanups[i]}" >> "$T/cleanups.done"
	done
}

_failed=0
fail() { echo "    FAIL: $*"; _failed=1; }
# skip REASON: the test cannot run here (decided from the environment). A
# skip after a failure is that failure: it must not hide it.
skip() {
	if [ "$_failed" != 0 ]; then
		echo "    FAIL: skip after a failure (skip reason: $*)"
		exit 1
	fi
	echo "$*" > "$T/skip_reason"
	exit 77
}
# check_eq WHAT EXPECTED ACTUAL
check_eq() {
	if [ "$2" != "$3" ]; then
		fail "$1: expected $2, got $3"
	else
		echo "    ok: $1 = $3"
	fi
}
# A setup step that must work, else the test fails now.
must() { "$@" || { fail "setup: '$*' exited $?"; exit 1; }; }

# WAIT_SCALE: the factor on the bounded waits' limits (wait_for,
# wait_count, waited()): 1, 3 in the ASan pass (2-3x slower), 10 in the
# TSan pass (its portwatch 5-15x slower), or PW_WAIT_SCALE. A limit only
# bounds what a failure costs; a wait that is met ends at once.
case ${PW_SAN_INNER:-} in
asan) WAIT_SCALE=${PW_WAIT_SCALE:-3} ;;
tsan) WAIT_SCALE=${PW_WAIT_SCALE:-10} ;;
*) WAIT_SCALE=${PW_WAIT_SCALE:-1} ;;
esac
# waited SECONDS: SECONDS times WAIT_SCALE, for a test's own bounded loop
# (end=$((SECONDS + $(waited 10))))
waited() { echo $(($1 * WAIT_SCALE)); }

# wait_for FILE REGEX SECONDS: until a line of FILE matches (bounded:
# SECONDS x WAIT_SCALE).
wait_for() {
	local lim=$(($3 * WAIT_SCALE))
	local end=$((SECONDS + lim))
	until grep -qE -- "$2" "$1" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then
			fail "timed out after $lim s waiting for /$2/ in $(basename "$1")"
			return 1
		fi
		sleep 0.02
	done
}

# wait_count FILE REGEX N SECONDS: until N lines of FILE match (bounded,
# as wait_for).
wait_count() {
	local lim=$(($4 * WAIT_SCALE))
	local end=$((SECONDS + lim))
	until [ "$(grep -cE -- "$2" "$1" 2>/dev/null)" -ge "$3" ]; do
		if [ $SECONDS -ge $end ]; then
			fail "timed out after $lim s waiting for $3 lines /$2/ in $(basename "$1")"
			return 1
		fi
		sleep 0.02
	done
}

# mk_netns LO HI: a private netns with that ephemeral range and tcp_tw_reuse=0
# (and tcp_rfc1337=1: no RST ends a TIME_WAIT early, so 10 ports stay 10),
# deleted when the test ends. Sets NS and NS_INO.
mk_netns() {
	NS=pwt-$$-$RANDOM
	must ip netns add "$NS"
	defer "ip netns del $NS"
	must ip -n "$NS" link set lo up
	must ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="$1 $2" \
		net.ipv4.tcp_tw_reuse=0 net.ipv4.tcp_rfc1337=1
	NS_INO=$(stat -L -c %i "/run/netns/$NS")
}

# in_ns CMD...: run CMD inside the test's netns.
in_ns() { ip netns exec "$NS" "$@"; }

# pw_start ARGS...: start portwatch, output in $T/pw.out and $T/pw.err, and
# wait until it says it is attached. PW_MODE_ARGS (e.g. "-m tracepoint", set
# by a test about one mode that runs another test's body) come first.
pw_start() {
	# empty the files first: a second pw_start in one test would otherwise
	# find the previous instance's attach line before the new instance's
	# shell has truncated them (the 1,024-CPU abuse_lru case read no map)
	: > "$T/pw.out"
	: > "$T/pw.err"
	# shellcheck disable=SC2086
	"$PW" ${PW_MODE_ARGS:-} "$@" > "$T/pw.out" 2> "$T/pw.err" &
	PW_PID=$!
	defer "kill -INT $PW_PID; wait $PW_PID"
	# PW_ATTACH_WAIT: seconds to wait for the attach (10; more in a VM
	# under TCG, where fentry takes 10 s to attach)
	if ! wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}"; then
		sed 's/^/      pw: /' "$T/pw.err"
		exit 1
	fi
}

# free_port [PORT...]: a TCP port nothing uses now on this host (none of
# PORT...), below the default ephemeral range. tests/run.sh gives each test
# its own METRICS_PORT, PROM_PORT and WEB_PROM_PORT this way: no fixed ports.
free_port() {
	local p i
	for i in $(seq 200); do
		p=$((20000 + RANDOM % 12000))
		case " $* " in *" $p "*) continue ;; esac
		if [ -z "$(ss -Htan "sport = :$p" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# pw_mode: the mode portwatch said it attached in (its attach line)
pw_mode() { sed -n 's/^portwatch: attached in \([a-z]*\) mode.*/\1/p' "$T/pw.err"; }

# need_mode MODE: SKIP unless this kernel loads and attaches the smallest
# program of MODE's kind on the function portwatch uses (tests/modeprobe:
# the kernel's answer, not portwatch's), for the tests that say -m MODE
need_mode() {
	local why rc
	why=$("$OUT/tests/modeprobe" "$1" 2>&1)
	rc=$?
	case $rc in
	0) ;;
	1) skip "--mode=$1 cannot work on this kernel: $why" ;;
	*) fail "setup: $OUT/tests/modeprobe $1 exited $rc: $why (make tools)"; exit 1 ;;
	esac
}

# own_cgroup: OWN_CG, the test's own cgroup (tests/run.sh makes one per
# test, its shell and every process it starts inside), for --cgroup: only
# this test's processes are judged, whatever else runs on the host
own_cgroup() {
	[ -n "${PW_TEST_CG:-}" ] && [ -d "$PW_TEST_CG" ] ||
		skip "no cgroup of the test's own (tests/run.sh makes one as root on a cgroup v2 hierarchy)"
	OWN_CG=$PW_TEST_CG
}

# pw_stop: SIGINT, then its exit code in PW_RC (must be 0).
pw_stop() {
	kill -INT "$PW_PID"
	wait "$PW_PID"
	PW_RC=$?
	check_eq "portwatch exit code after SIGINT" 0 "$PW_RC"
}

# prom_start PORT: a real Prometheus with $T/prometheus.yml on 127.0.0.1:PORT,
# stopped when the test ends; returns once it is ready (at most 30 s).
prom_start() {
	prometheus --config.file="$T/prometheus.yml" --storage.tsdb.path="$T/data" \
		--web.listen-address="127.0.0.1:$1" > "$T/prom.log" 2>&1 &
	defer "kill $!; wait $!"
	local end=$((SECONDS + 30))
	until [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/-/ready")" = 200 ]; do
		[ $SECONDS -ge $end ] && { fail "prometheus not ready after 30 s"; tail -5 "$T/prom.log"; exit 1; }
		sleep 0.2
	done
}

# Events of the test's netns, one JSON object per line.
ns_events() {
	jq -c --argjson ns "$NS_INO" 'select(.type == "connect" and .netns == $ns)' "$T/pw.out"
}

summary() { jq -c 'select(.type == "summary")' "$T/pw.out"; }

# Ground truth from trigger's record lines: total over records of FIELD.
truth() { jq -s "[.[] | select(.type == \"record\" and .mode != \"parallel_total\")] | $1" "$2"; }

# check_shortaddr MODE TRUTH PWOUT: the events and summary of `trigger
# shortaddr` runs (records "shortaddr/CASE" in TRUTH, portwatch -j -a output
# in PWOUT). A connect whose address the kernel refused (too short, another
# family) has no destination (daddr and dport null) and the socket's family,
# in fentry/kprobe modes; tracepoint mode never sees it (it fails before
# SYN_SENT), only the valid ones, with their real destination. Exact per
# trigger pid: the events as a multiset, the summary's attempts and errors.
check_shortaddr() {
	local mode=$1 truth=$2 out=$3 pid fam want got
	for pid in $(jq -s '[.[] | select(.type == "record" and (.mode | startswith("shortaddr/"))) | .pid] | unique | .[]' "$truth"); do
		fam=$(jq -rs --argjson p "$pid" '[.[] | select(.type == "record" and .pid == $p)][0].addr
			| if test(":") then "inet6" else "inet" end' "$truth")
		want=$(jq -cs --argjson p "$pid" --arg m "$mode" --arg fam "$fam" '
			[.[] | select(.type == "record" and .pid == $p)
			 | select($m != "tracepoint" or .ok == 1)
			 | if .ok == 1 then {errno: null, family: $fam, daddr: .addr, dport: .port}
			   else {errno: (.errors | keys[0]), family: $fam, daddr: null, dport: null} end]
			| sort_by(tostring)' "$truth")
		got=$(jq -cs --argjson p "$pid" '[.[] | select(.type == "connect" and .pid == $p)
			| {errno, family, daddr, dport}] | sort_by(tostring)' "$out")
		check_eq "shortaddr pid $pid ($fam, $mode): events (errno, family, destination)" "$want" "$got"
		want=$(jq -cs --argjson p "$pid" --arg m "$mode" '
			[.[] | select(.type == "record" and .pid == $p) | select($m != "tracepoint" or .ok == 1)]
			| {attempts: length, errors: (map(.errors | to_entries[]) | group_by(.key)
			   | map({key: .[0].key, value: (map(.value) | add)}) | from_entries)}' "$truth")
		got=$(jq -cs --argjson p "$pid" '[.[] | select(.type == "summary") | .processes[]
			| select(.pid == $p)] | {attempts: (map(.attempts) | add // 0),
			  errors: (map(.errors | to_entries[]) | group_by(.key)
			   | map({key: .[0].key, value: (map(.value) | add)}) | from_entries)}' "$out")
		check_eq "shortaddr pid $pid ($fam, $mode): summary attempts and errors" "$want" "$got"
	done
}
