#!/usr/bin/env bash
# make bench: what portwatch costs a connect()-heavy host, side by side with
# no tracer and with the bpftrace one-liner people reach for instead.
#
# Loops of bench/loadgen, each run in its own fresh netns (tcp_tw_reuse=0):
#   fail  10-port range held full; socket+connect+close, every connect fails
#         with EADDRNOTAVAIL (the hottest path)
#   ok    default range; socket+connect, the listener accepts and closes
#         first, read EOF, close (every connect succeeds)
#   rate  fail, reconnecting the same socket, paced to BENCH_RATE failures/s
#         over BENCH_RATE_THREADS threads: are all events written to a file?
#   storm BENCH_STORM_PROCS (8) processes failing at full speed, each to its
#         own destination; portwatch -j to a file: events received, lost,
#         and the consumer thread's CPU time per event
#   dests one process failing at full speed over BENCH_DESTS (1000)
#         destinations, each exhausted (a diagnosis for each): the same figures
#   soak  SOAK_SECONDS (60) of SOAK_RATE (1667) short-lived processes a second,
#         each named for itself and failing one connect, with the daemon form
#         (-q -l, filtered to the generator's cgroup) scraped every second:
#         counters monotonic, totals against the generator's, RSS, map
#         occupancy and /metrics size over time (bench/soakgen, bench/soakmon)
#   ops   what --ops=bind,udp costs: rounds with no tracer, portwatch -j and
#         portwatch -j --ops=bind,udp (best mode), in turn (the order rotates
#         each pair), each running five loads in fresh netns: bench/opsgen's
#         bind(127.0.0.1, 0) succeeding and failing (EADDRINUSE, the 10-port
#         range held by bound sockets), UDP autobind by sendto() succeeding
#         and failing (EAGAIN, the range held by autobound sockets), and the
#         ok loop's connects (loadgen ok); one more --ops round with
#         kernel.bpf_stats_enabled=1 gives the BPF time of the --ops programs
#         and of all programs per call of each load. Per-pid counts checked
#         exactly in every portwatch round (op_failures for bind and UDP)
# Per tracer case, pairs (no tracer, tracer) run back to back, A/B/A/B,
# BENCH_PAIRS times; overhead is taken per pair. Then one more run per case
# with kernel.bpf_stats_enabled=1 gives the BPF run time (stats cost time
# themselves, so the pairs run without them). The table goes to stdout and
# to $OUTPUT/bench/<run>/table.md, raw results to results.tsv beside it.
#
# Settings (environment or make variables):
#   BENCH_PAIRS=5 BENCH_SECONDS=2 BENCH_THREADS=1 BENCH_LOOPS="fail ok rate storm dests soak ops"
#   BENCH_OPS_SECONDS (BENCH_SECONDS / 2; 0.05 with BENCH_SMOKE=1) each ops load's length
#   BENCH_RATE=250000 BENCH_RATE_THREADS=2
#   BENCH_STORM_PROCS=8 BENCH_DESTS=1000 BENCH_STORM_RUNS=3
#   BENCH_CASES="pw-tracepoint bpftrace"   only these tracer cases
#   SOAK_SECONDS=60 SOAK_RATE=1667 SOAK_NAMES=0 (0: a name per process, else
#   N names in turn) SOAK_PORT=18190 (portwatch's /metrics on 127.0.0.1)
#   BENCH_SMOKE=1   one short pair per case, a 5 s soak: checks the harness, not numbers
#   PW=path         the portwatch binary to measure (default ./portwatch)
#   BENCH_BASE=path another portwatch to compare it with in the same run
#                   (e.g. one built from main): the storm and dests runs
#                   alternate base and PW (BENCH_STORM_RUNS each), the soak
#                   runs both daemons side by side on the same load (/metrics
#                   on SOAK_PORT and SOAK_PORT+1), and an A/B table gives
#                   their medians and the ratios PW/base. With
#                   BENCH_LOOPS="storm dests soak" that is all the run does.
# Exit 1 only when the harness breaks (a tool fails to start or to report),
# never because of a number.
set -u
export LC_ALL=C
cd "$(dirname "$0")/.."

OUT=${OUTPUT:-.output}
PW=${PW:-./portwatch}
LOADGEN=$OUT/bench/loadgen
SMOKE=${BENCH_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
	PAIRS=${BENCH_PAIRS:-1}
	SECS=${BENCH_SECONDS:-0.3}
else
	PAIRS=${BENCH_PAIRS:-5}
	SECS=${BENCH_SECONDS:-2}
fi
THREADS=${BENCH_THREADS:-1}
RATE=${BENCH_RATE:-250000}
RATE_THREADS=${BENCH_RATE_THREADS:-2}
LOOPS=${BENCH_LOOPS:-fail ok rate storm dests soak ops}
OPS_SECS=${BENCH_OPS_SECONDS:-$(awk -v s="$SECS" 'BEGIN {print s / 2}')}
[ "$SMOKE" = 1 ] && OPS_SECS=${BENCH_OPS_SECONDS:-0.05}
OPSGEN=$OUT/bench/opsgen
STORM_PROCS=${BENCH_STORM_PROCS:-8}
DESTS=${BENCH_DESTS:-1000}
STORM_RUNS=${BENCH_STORM_RUNS:-3}
[ "$SMOKE" = 1 ] && STORM_RUNS=${BENCH_STORM_RUNS:-1}
SOAK_SECS=${SOAK_SECONDS:-60}
[ "$SMOKE" = 1 ] && SOAK_SECS=${SOAK_SECONDS:-5}
SOAK_RATE=${SOAK_RATE:-1667}
SOAK_NAMES=${SOAK_NAMES:-0}
SOAK_PORT=${SOAK_PORT:-18190}
SOAK_DRAIN=10	# seconds the final totals may take to arrive
SOAKGEN=$OUT/bench/soakgen
SOAKMON=$OUT/bench/soakmon
ONLY=${BENCH_CASES:-}
BASE=${BENCH_BASE:-}
BPFTRACE_PROG='tracepoint:syscalls:sys_exit_connect /args->ret < 0/ { @[comm, pid, args->ret] = count(); }'
FAIL_RANGE="40000 40009"
PORT=18090

die() { echo "bench: $*" >&2; exit 1; }
note() { echo "bench: $*" >&2; }

[ "$(id -u)" -eq 0 ] || die "needs root (run: sudo make bench)"
[ -x "$PW" ] && [ -x "$LOADGEN" ] || die "build first: make bench builds $PW and $LOADGEN"
[ -z "$BASE" ] || [ -x "$BASE" ] || die "BENCH_BASE=$BASE: not an executable"
if [ -n "$BASE" ] && [[ ! " $LOOPS " =~ \ (storm|dests|soak)\  ]]; then
	die "BENCH_BASE compares in the storm, dests and soak loops: BENCH_LOOPS='$LOOPS' has none"
fi
for t in ip jq bpftool flock; do
	command -v $t >/dev/null || die "$t not found (make bench-deps installs it)"
done
for l in $LOOPS; do
	case $l in fail|ok|rate|storm|dests|soak|ops) ;; *) die "BENCH_LOOPS: unknown loop '$l' (fail, ok, rate, storm, dests, soak, ops)" ;; esac
done
if [[ " $LOOPS " == *" ops "* ]]; then
	[ -x "$OPSGEN" ] || die "build first: make bench builds $OPSGEN"
	[[ "$OPS_SECS" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "BENCH_OPS_SECONDS: a number"
fi
if [[ " $LOOPS " == *" soak "* ]]; then
	[ -x "$SOAKGEN" ] && [ -x "$SOAKMON" ] || die "build first: make bench builds $SOAKGEN and $SOAKMON"
	command -v curl >/dev/null || die "curl not found (make bench-deps installs it)"
	[[ "$SOAK_SECS" =~ ^[0-9]+([.][0-9]+)?$ ]] && [[ "$SOAK_RATE" =~ ^[0-9]+([.][0-9]+)?$ ]] &&
		[[ "$SOAK_NAMES" =~ ^[0-9]+$ ]] && [[ "$SOAK_PORT" =~ ^[0-9]+$ ]] ||
		die "SOAK_SECONDS, SOAK_RATE, SOAK_NAMES, SOAK_PORT: numbers"
fi

RUN=$OUT/bench/$(date +%Y%m%d-%H%M%S)
mkdir -p "$RUN" || die "cannot create $RUN"
RES=$RUN/results.tsv

# ---- host state we change, and put back whatever happens ----
# One bench at a time on a host: they would share bpf_stats and the CPUs.
exec 9>/run/portwatch-bench.lock
flock -w 900 9 || die "another bench holds /run/portwatch-bench.lock"

# A bench killed with SIGKILL could not put bpf_stats back: it left the
# value to restore here, and the next bench restores it first.
STATS_SAVED=/run/portwatch-bench.bpf_stats
if [ -s "$STATS_SAVED" ]; then
	note "a previous bench died with kernel.bpf_stats_enabled on: restoring $(cat "$STATS_SAVED")"
	sysctl -qw kernel.bpf_stats_enabled="$(cat "$STATS_SAVED")" && rm -f "$STATS_SAVED"
fi
# and its netns (pwb-<pid>-N) whose bench is gone
for n in $(ip netns list 2>/dev/null | grep -o '^pwb-[0-9]*-[0-9]*'); do
	p=${n#pwb-}
	kill -0 "${p%-*}" 2>/dev/null || ip netns del "$n" 2>/dev/null
done
STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled 2>/dev/null || echo "")
TRACEFS_MOUNTED=0
PIDS=()
NETNS=()
CGROUPS=()
# cg_remove DIR: kill what is left in a cgroup of ours, then remove it
cg_remove() {
	local i
	[ -d "$1" ] || return 0
	for i in $(seq 50); do
		[ -s "$1/cgroup.procs" ] || break
		xargs -r kill -KILL < "$1/cgroup.procs" 2>/dev/null
		sleep 0.02
	done
	rmdir "$1" 2>/dev/null || note "could not remove cgroup $1"
}
cleanup() {
	local p n
	for p in "${PIDS[@]}"; do
		kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	PIDS=()
	for n in "${CGROUPS[@]}"; do
		cg_remove "$n"
	done
	CGROUPS=()
	for n in "${NETNS[@]}"; do
		[ -n "$n" ] && ip netns del "$n" 2>/dev/null
	done
	NETNS=()
	if [ -n "$STATS_OLD" ] && [ "$(sysctl -n kernel.bpf_stats_enabled)" != "$STATS_OLD" ]; then
		sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD" && rm -f "$STATS_SAVED"
	fi
	if [ "$TRACEFS_MOUNTED" = 1 ]; then
		umount /sys/kernel/tracing 2>/dev/null && TRACEFS_MOUNTED=0
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# stats VALUE: kernel.bpf_stats_enabled, never turned off if it was on before
stats() {
	[ -n "$STATS_OLD" ] || return 0
	[ "$STATS_OLD" = 1 ] && return 0
	[ "$1" = 1 ] && echo "$STATS_OLD" > "$STATS_SAVED"
	sysctl -qw kernel.bpf_stats_enabled="$1" || die "cannot set kernel.bpf_stats_enabled"
	[ "$1" = "$STATS_OLD" ] && rm -f "$STATS_SAVED"
	return 0
}
[ -n "$STATS_OLD" ] || note "kernel.bpf_stats_enabled not available: no BPF run time"
[ "$STATS_OLD" = 1 ] && note "kernel.bpf_stats_enabled was already 1: every run pays for it"

# microseconds since the epoch, without a fork
now_us() { local t=$EPOCHREALTIME; echo "${t/./}"; }

# wait_line FILE REGEX SECONDS PID: until a line matches, PID dies, or time runs out.
wait_line() {
	local end=$(( $(now_us) + $3 * 1000000 ))
	until grep -qE -- "$2" "$1" 2>/dev/null; do
		kill -0 "$4" 2>/dev/null || return 1
		[ "$(now_us)" -gt "$end" ] && return 1
		sleep 0.002
	done
}

forget() {
	local i
	for i in "${!PIDS[@]}"; do
		[ "${PIDS[i]}" = "$1" ] && unset 'PIDS[i]'
	done
	PIDS=("${PIDS[@]}")
}

# wait_exit PID SECONDS: wait for our child, SIGKILL it past the bound.
wait_exit() {
	local end=$((SECONDS + $2)) rc
	while kill -0 "$1" 2>/dev/null; do
		if [ $SECONDS -ge $end ]; then
			note "pid $1 did not stop within $2 s: killed"
			kill -KILL "$1" 2>/dev/null
			break
		fi
		sleep 0.01
	done
	wait "$1" 2>/dev/null
	rc=$?
	forget "$1"
	return $rc
}

# ns_new LOOP: a netns for one run, in NS (name) and NS_INO.
ns_new() {
	NS=pwb-$$-$RANDOM
	ip netns add "$NS" || die "ip netns add $NS failed"
	NETNS+=("$NS")
	ip -n "$NS" link set lo up || die "lo up in $NS failed"
	ip netns exec "$NS" sysctl -qw net.ipv4.tcp_tw_reuse=0 || die "sysctl in $NS failed"
	if [ "$1" != ok ]; then
		ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="$FAIL_RANGE" ||
			die "sysctl in $NS failed"
	fi
	NS_INO=$(stat -L -c %i "/run/netns/$NS")
}
ns_del() {
	local i
	ip netns del "$NS"
	for i in "${!NETNS[@]}"; do
		[ "${NETNS[i]}" = "$NS" ] && unset 'NETNS[i]'
	done
	NETNS=("${NETNS[@]}")
}

# BPF programs a process holds: "run_time_ns run_cnt" summed over them.
bpf_stats_of() {
	local ids id t=0 c=0 line
	# a program's fd and its link's fd both name it
	ids=$(cat /proc/"$1"/fdinfo/* 2>/dev/null | awk '/^prog_id:/ {print $2}' | sort -u)
	for id in $ids; do
		line=$(bpftool prog show id "$id" -j 2>/dev/null |
			jq -r '"\(.run_time_ns // 0) \(.run_cnt // 0)"') || continue
		t=$((t + ${line% *}))
		c=$((c + ${line#* }))
	done
	echo "$t $c"
}

vmhwm_kb() { awk '/^VmHWM:/ {print $2}' /proc/"$1"/status 2>/dev/null; }
# user + system CPU of a process, in clock ticks
cpu_ticks() { awk '{print $14 + $15}' /proc/"$1"/stat 2>/dev/null; }
TICK=$(getconf CLK_TCK)

# ---- which portwatch modes this kernel allows ----
MODES=()
declare -A MODE_WHY
for m in fentry kprobe tracepoint; do
	"$PW" -m "$m" -q > "$RUN/probe-$m.out" 2> "$RUN/probe-$m.err" &
	p=$!
	PIDS+=("$p")
	if wait_line "$RUN/probe-$m.err" 'attached in' 30 "$p"; then
		MODES+=("$m")
	else
		MODE_WHY[$m]=$(grep -m1 'portwatch:' "$RUN/probe-$m.err" | sed 's/^portwatch: //')
	fi
	kill -INT "$p" 2>/dev/null
	wait_exit "$p" 10
done
[ ${#MODES[@]} -gt 0 ] || die "portwatch attaches in no mode here: $(cat "$RUN"/probe-*.err)"
BEST=${MODES[0]}

# ---- bpftrace: installed, and its syscall tracepoints visible ----
BT_WHY=
if ! command -v bpftrace >/dev/null; then
	BT_WHY="bpftrace not installed (apt-get install bpftrace)"
elif [ ! -d /sys/kernel/tracing/events/syscalls ]; then
	if [ ! -d /sys/kernel/tracing/events ] &&
	   mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
		TRACEFS_MOUNTED=1
		note "mounted tracefs at /sys/kernel/tracing for bpftrace (unmounted at exit)"
	fi
	[ -d /sys/kernel/tracing/events/syscalls ] ||
		BT_WHY="no syscall tracepoints (tracefs or CONFIG_FTRACE_SYSCALLS missing)"
fi

# ---- --ops: its syscall tracepoints need tracefs (portwatch looks in both places) ----
if [[ " $LOOPS " == *" ops "* ]] && [ ! -d /sys/kernel/tracing/events/syscalls ] &&
   [ ! -d /sys/kernel/debug/tracing/events/syscalls ] && [ ! -d /sys/kernel/tracing/events ] &&
   mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null; then
	TRACEFS_MOUNTED=1
	note "mounted tracefs at /sys/kernel/tracing for --ops (unmounted at exit)"
fi

# ---- the cases: name|label|how (portwatch arguments, or "bpftrace") ----
CASES=()
for m in "${MODES[@]}"; do
	CASES+=("pw-$m|portwatch -j ($m)|-m $m -j")
done
if [ "$BEST" = tracepoint ]; then
	CASES+=("pw-S|portwatch -j -S ($BEST: -S has no effect)|-j -S")
else
	CASES+=("pw-S|portwatch -j -S ($BEST)|-j -S")
fi
CASES+=("bpftrace|bpftrace one-liner (sys_exit_connect)|bpftrace")
if [ -n "$ONLY" ]; then
	kept=()
	for c in "${CASES[@]}"; do
		[[ " $ONLY " == *" ${c%%|*} "* ]] && kept+=("$c")
	done
	[ ${#kept[@]} -gt 0 ] || die "BENCH_CASES='$ONLY' matches none of: $(printf '%s ' "${CASES[@]%%|*}")"
	CASES=("${kept[@]}")
fi

# cases_of LOOP: the rate loop is about portwatch's event stream, default options
cases_of() {
	local c
	case $1 in storm|dests) return ;; esac	# run_storm's
	for c in "${CASES[@]}"; do
		[ "$1" = rate ] && [[ "$c" != pw-[a-z]*"|"* || "$c" == pw-S"|"* ]] && continue
		echo "$c"
	done
}

loadgen_args() {
	case $1 in
	fail) echo "fail --threads $THREADS" ;;
	ok) echo "ok --threads $THREADS" ;;
	rate) echo "fail --reuse --threads $RATE_THREADS --rate $RATE" ;;
	esac
}

TRACER_PID=
TRACER_OUT=
ATTACH_MS=

# start_tracer HOW TAG: start it, wait until it is attached (bounded).
start_tracer() {
	local how=$1 tag=$2 t0
	TRACER_OUT=$RUN/$tag.out
	t0=$(now_us)
	if [ "$how" = bpftrace ]; then
		bpftrace -e "$BPFTRACE_PROG" > "$TRACER_OUT" 2> "$RUN/$tag.err" &
		TRACER_PID=$!
		PIDS+=("$TRACER_PID")
		wait_line "$TRACER_OUT" '^Attaching 1 probe' 30 "$TRACER_PID" || return 1
	else
		# shellcheck disable=SC2086
		"$PW" $how > "$TRACER_OUT" 2> "$RUN/$tag.err" &
		TRACER_PID=$!
		PIDS+=("$TRACER_PID")
		wait_line "$RUN/$tag.err" 'attached in' 30 "$TRACER_PID" || return 1
	fi
	ATTACH_MS=$(( ($(now_us) - t0) / 1000 ))
}

# stop_tracer HOW: SIGINT for portwatch, SIGTERM for bpftrace (a background
# job of a script starts with SIGINT ignored and bpftrace keeps it so).
# bpftrace 0.17 now and then prints its map and then hangs on exit: for it,
# the bound is how long its map may take to appear.
stop_tracer() {
	local sig=INT
	[ "$1" = bpftrace ] && sig=TERM
	kill -$sig "$TRACER_PID" 2>/dev/null
	if [ "$1" = bpftrace ]; then
		wait_line "$TRACER_OUT" '^@\[' 10 "$TRACER_PID"
		wait_exit "$TRACER_PID" 5
		return 0
	fi
	wait_exit "$TRACER_PID" 60
}

# run_one LOOP NAME HOW PAIR ROLE: one run (A: no tracer, B: tracer, S: tracer
# with BPF stats on); appends a line to $RES. Returns 2 if bpftrace would not start.
run_one() {
	local loop=$1 name=$2 how=$3 pair=$4 role=$5 tag lg rc c0=- c1=-
	local rss=- attach=- bpf="- -" events=- lost=- counts=- ports=- tcpu=-
	tag=$loop-$name-$pair-$role
	ns_new "$loop"
	if [ "$role" != A ]; then
		[ "$role" = S ] && stats 1
		if ! start_tracer "$how" "$tag"; then
			sed 's/^/  | /' "$RUN/$tag.err" >&2
			if [ "$how" = bpftrace ]; then
				BT_WHY="bpftrace did not attach: $(grep -m1 . "$RUN/$tag.err")"
				stop_tracer bpftrace
				ns_del
				stats 0
				return 2
			fi
			die "$name did not attach (log above)"
		fi
		attach=$ATTACH_MS
		c0=$(cpu_ticks "$TRACER_PID")
	fi
	# shellcheck disable=SC2046
	ip netns exec "$NS" "$LOADGEN" $(loadgen_args "$loop") --seconds "$SECS" \
		--port "$PORT" > "$RUN/$tag.load" 2> "$RUN/$tag.loaderr"
	rc=$?
	[ $rc -eq 0 ] || { cat "$RUN/$tag.loaderr" >&2; die "loadgen ($loop) exited $rc"; }
	lg=$(cat "$RUN/$tag.load")
	local lpid wall cpu per failures attempts secs
	read -r lpid wall cpu per failures attempts secs < <(jq -r \
		'"\(.pid) \(.ns_per_connect) \(.cpu_ns_per_connect) \(.per_s) \(.process.failures) \(.process.attempts) \(.seconds)"' \
		<<<"$lg") || die "loadgen printed no result: $lg"

	if [ "$role" != A ]; then
		c1=$(cpu_ticks "$TRACER_PID")
		tcpu=$(awk -v a="$c0" -v b="$c1" -v t="$TICK" -v s="$secs" 'BEGIN {printf "%.1f", (b - a) / t / s * 100}')
		rss=$(vmhwm_kb "$TRACER_PID")
		[ "$role" = S ] && bpf=$(bpf_stats_of "$TRACER_PID")
		stop_tracer "$how" || { rc=$?; [ "$how" = bpftrace ] || die "$name exited $rc (see $RUN/$tag.err)"; }
		[ "$role" = S ] && stats 0
		if [ "$how" = bpftrace ]; then
			# counted in the kernel, printed at exit: "@[comm, pid, ret]: n"
			local got
			got=$(grep -E "^@\[loadgen, $lpid, -[0-9]+\]: " "$TRACER_OUT" |
				awk '{s += $NF} END {print s + 0}')
			[ "$got" = "$failures" ] && counts=exact || counts="fail:$got/$failures"
		else
			local sum s_att s_fail
			sum=$(tail -n 1 "$TRACER_OUT")
			[ "$(jq -r .type <<<"$sum" 2>/dev/null)" = summary ] ||
				die "$name: no JSON summary as last line of $TRACER_OUT"
			lost=$(jq -r .events_lost <<<"$sum")
			read -r s_att s_fail < <(jq -r --argjson p "$lpid" \
				'[.processes[] | select(.pid == $p)] | "\(map(.attempts) | add // 0) \(map(.failures) | add // 0)"' \
				<<<"$sum")
			if [ "$s_att" = "$attempts" ] && [ "$s_fail" = "$failures" ]; then
				counts=exact
			else
				counts="att:$s_att/$attempts,fail:$s_fail/$failures"
			fi
			# connect events of this run's netns (other lines: remedies, summary)
			grep '^{"type":"connect",' "$TRACER_OUT" | grep "\"netns\":$NS_INO," > "$RUN/$tag.ev"
			events=$(wc -l < "$RUN/$tag.ev")
			ports=$(grep -o '"ports_checked":[0-9]*' "$RUN/$tag.ev" |
				awk -F: '{s += $2; n++} END {print n ? s / n : "-"}')
			rm -f "$RUN/$tag.ev"
		fi
		rm -f "$TRACER_OUT"	# hundreds of MB at full rate
	fi
	ns_del
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
		"$loop" "$name" "$pair" "$role" "$wall" "$cpu" "$per" "$failures" "$events" "$lost" \
		"$counts" "${rss:--}" "$attach" "$bpf" "$ports" "$tcpu" "$attempts" >> "$RES"
	printf '  %-4s %-13s %s%s %7.0f ns/connect (CPU %6.0f) %7.0f/s events %s lost %s counts %s\n' \
		"$loop" "$name" "$role" "$pair" "$wall" "$cpu" "$per" "$events" "$lost" "$counts" >&2
}

# CPU time of a process's main thread (portwatch's consumer) and of all its
# threads, in ns: the scheduler's run time (schedstat), exact, where the
# clock ticks of stat would quantize a 2 s storm's ~0.1 s to +-10%; ticks
# where the kernel has no schedstat
thread_ns() {
	if [ -r /proc/"$1"/task/"$1"/schedstat ]; then
		awk '{print $1}' /proc/"$1"/task/"$1"/schedstat 2>/dev/null
	else
		awk -v t="$TICK" '{print ($14 + $15) / t * 1e9}' /proc/"$1"/task/"$1"/stat 2>/dev/null
	fi
}
proc_ns() {
	if [ -r /proc/"$1"/task/"$1"/schedstat ]; then
		cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{s += $1} END {printf "%.0f\n", s}'
	else
		cpu_ticks "$1" | awk -v t="$TICK" '{print $1 / t * 1e9}'
	fi
}

# run_storm LOOP RUN [BINARY LABEL]: portwatch -j (best mode; BINARY, by
# default $PW, labelled new) to a file while the storm or dests load runs;
# appends a line to $STORM_RES.
run_storm() {
	local loop=$1 run=$2 tag lpids=() p c0 c1 t0 t1 i
	local PW=${3:-$PW} label=${4:-new}
	tag=$loop-$run-$label
	ns_new fail
	ip netns exec "$NS" sysctl -qw net.ipv4.tcp_rfc1337=1
	start_tracer "-m $BEST -j" "$tag" || die "portwatch did not attach (see $RUN/$tag.err)"
	c0=$(proc_ns "$TRACER_PID")
	t0=$(thread_ns "$TRACER_PID")
	if [ "$loop" = storm ]; then
		for ((i = 0; i < STORM_PROCS; i++)); do
			ip netns exec "$NS" "$LOADGEN" fail --threads 1 --seconds "$SECS" \
				--port $((PORT + i)) > "$RUN/$tag.load.$i" 2> "$RUN/$tag.loaderr.$i" &
			lpids+=($!)
		done
	else
		ip netns exec "$NS" "$LOADGEN" fail --threads 1 --seconds "$SECS" --dests "$DESTS" \
			--port "$PORT" > "$RUN/$tag.load.0" 2> "$RUN/$tag.loaderr.0" &
		lpids+=($!)
	fi
	PIDS+=("${lpids[@]}")
	for p in "${lpids[@]}"; do
		wait "$p" || { cat "$RUN/$tag".loaderr.* >&2; die "loadgen ($loop) failed"; }
		forget "$p"
	done
	c1=$(proc_ns "$TRACER_PID")
	t1=$(thread_ns "$TRACER_PID")
	local sum failures secs events lost counts=exact diags l got want t_stop
	t_stop=$(now_us)
	# an older portwatch could take longer than the bound to stop (it took
	# each diagnosis in the event loop): a row that says so, not a dead bench
	stop_tracer pw || counts="killed: no stop within 60 s"
	t_stop=$(( ($(now_us) - t_stop) / 1000 ))
	sum=$(tail -n 1 "$TRACER_OUT")
	if [ "$(jq -r .type <<<"$sum" 2>/dev/null)" = summary ]; then
		lost=$(jq -r .events_lost <<<"$sum")
	else
		[ "$counts" = exact ] && die "$loop: no JSON summary as last line"
		lost=-
		sum='{"processes":[]}'
	fi
	failures=0
	secs=0
	for l in "$RUN/$tag".load.*; do
		read -r p want secs < <(jq -r '"\(.pid) \(.process.failures) \(.seconds)"' "$l")
		failures=$((failures + want))
		got=$(jq -r --argjson p "$p" '[.processes[] | select(.pid == $p) | .failures] | add // 0' <<<"$sum")
		[ "$got" = "$want" ] || [ "$lost" = - ] || counts="fail:$got/$want"
	done
	events=$(grep '^{"type":"connect",' "$TRACER_OUT" | grep -c "\"netns\":$NS_INO,")
	diags=$(grep -c '"pressure":{' "$TRACER_OUT")
	rm -f "$TRACER_OUT" "$RUN/$tag".load.* "$RUN/$tag".loaderr.*
	ns_del
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$loop" "$run" "$failures" "$events" "$lost" \
		"$counts" "$secs" "$(awk -v a="$t0" -v b="$t1" -v e="$events" 'BEGIN {printf "%.3f", e ? (b - a) / e / 1000 : 0}')" \
		"$(awk -v a="$c0" -v b="$c1" -v e="$events" 'BEGIN {printf "%.3f", e ? (b - a) / e / 1000 : 0}')" \
		"$diags" "$t_stop" "$label" >> "$STORM_RES"
	printf '  %-5s run %s%s: %s failures, %s events, %s lost, counts %s, stop %s ms\n' "$loop" "$run" \
		"$([ -n "$BASE" ] && echo " ($label)")" "$failures" "$events" "$lost" "$counts" "$t_stop" >&2
}

# ---- ops: what --ops=bind,udp costs ----
OPS_LOADS="bind-ok bind-fail udp-ok udp-fail connect-ok"
OPS_WHY=
# ops_snap IDS: "ops_time ops_runs all_time all_runs" of the BPF programs
# IDS (a JSON array): the --ops programs are the syscall ones, sc_*
ops_snap() {
	bpftool prog show -j 2>/dev/null | jq -r --argjson ids "$1" '
		[.[] | select(.id as $i | $ids | index($i))] |
		"\(map(select(.name | startswith("sc_")) | .run_time_ns // 0) | add // 0) \(map(select(.name | startswith("sc_")) | .run_cnt // 0) | add // 0) \(map(.run_time_ns // 0) | add // 0) \(map(.run_cnt // 0) | add // 0)"'
}

# run_ops_round PAIR ROLE: one round, ROLE A (no tracer), C (portwatch -j,
# connect only), O (portwatch -j --ops=bind,udp) or S (O with BPF stats):
# every load of OPS_LOADS once, each in its own netns; a line per load to
# $OPS_RES. Returns 2 (and sets OPS_WHY) where --ops does not attach.
run_ops_round() {
	local pair=$1 role=$2 tag how="" load ids=[] lg rc
	local -A snap0 snap1
	tag=ops-$pair-$role
	case $role in
	C) how="-m $BEST -j" ;;
	O|S) how="-m $BEST -j --ops=bind,udp" ;;
	esac
	if [ -n "$how" ]; then
		[ "$role" = S ] && stats 1
		start_tracer "$how" "$tag" || die "portwatch $how did not attach (see $RUN/$tag.err)"
		if [ "$role" != C ] && grep -q -- '--ops [a-z]*: NOT traced' "$RUN/$tag.err"; then
			OPS_WHY=$(grep -o -- '--ops [a-z]*: NOT traced ([^)]*)' "$RUN/$tag.err" | head -n 1)
			stop_tracer pw
			stats 0
			return 2
		fi
		[ "$role" = S ] && ids=$(awk '/^prog_id:/ {print $2}' /proc/"$TRACER_PID"/fdinfo/* 2>/dev/null |
			sort -un | jq -sc .)
	fi
	for load in $OPS_LOADS; do
		ns_new "${load#*-}"	# ok: the default range; fail: FAIL_RANGE
		[ "$role" = S ] && snap0[$load]=$(ops_snap "$ids")
		if [ "$load" = connect-ok ]; then
			ip netns exec "$NS" "$LOADGEN" ok --threads "$THREADS" --seconds "$OPS_SECS" \
				--port "$PORT" > "$RUN/$tag.$load" 2> "$RUN/$tag.$load.err"
		else
			ip netns exec "$NS" "$OPSGEN" "${load%-*}" "${load#*-}" --seconds "$OPS_SECS" \
				--port "$PORT" > "$RUN/$tag.$load" 2> "$RUN/$tag.$load.err"
		fi
		rc=$?
		[ $rc -eq 0 ] || { cat "$RUN/$tag.$load.err" >&2; die "ops load $load exited $rc"; }
		[ "$role" = S ] && snap1[$load]=$(ops_snap "$ids")
		ns_del
	done
	local sum=- lost=-
	if [ -n "$how" ]; then
		stop_tracer pw || die "portwatch $how exited $? (see $RUN/$tag.err)"
		[ "$role" = S ] && stats 0
		sum=$(tail -n 1 "$TRACER_OUT")
		[ "$(jq -r .type <<<"$sum" 2>/dev/null)" = summary ] ||
			die "portwatch $how: no JSON summary as last line of $TRACER_OUT"
		lost=$(jq -r .events_lost <<<"$sum")
	fi
	# NDJSON events per pid, in one pass over the stream (with --ops at full
	# speed, hundreds of MB)
	local -A evs
	local n p
	if [ -n "$how" ]; then
		while read -r n p; do
			evs[$p]=$n
		done < <(grep -o '^{"type":"connect","time":"[^"]*","pid":[0-9]*,' "$TRACER_OUT" |
			sed 's/.*"pid":\([0-9]*\),$/\1/' | sort | uniq -c)
	fi
	for load in $OPS_LOADS; do
		local lpid wall cpu opns per calls att fail bindf udpf want got counts=- events=- bpfo="- -" bpfa="- -"
		local a0 b0 c0 d0 a1 b1 c1 d1
		lg=$(cat "$RUN/$tag.$load")
		if [ "$load" = connect-ok ]; then
			read -r lpid wall cpu per calls att fail < <(jq -r \
				'"\(.pid) \(.ns_per_connect) \(.cpu_ns_per_connect) \(.per_s) \(.attempts) \(.process.attempts) \(.process.failures)"' \
				<<<"$lg") || die "loadgen printed no result: $lg"
			opns=- bindf=0 udpf=0
		else
			read -r lpid wall cpu opns per calls bindf udpf < <(jq -r \
				'"\(.pid) \(.ns_per_call) \(.cpu_ns_per_call) \(.op_ns_per_call) \(.per_s) \(.calls) \(.process.bind_failures) \(.process.udp_send_failures)"' \
				<<<"$lg") || die "opsgen printed no result: $lg"
			att=0 fail=0
		fi
		if [ -n "$how" ]; then
			# what this portwatch must have counted for the pid: connect()
			# always, the ops only with --ops
			[ "$role" = C ] && want="$att $fail 0 0 0" || want="$att $fail $bindf $udpf 0"
			got=$(jq -r --argjson p "$lpid" '[.processes[] | select(.pid == $p)] |
				"\(map(.attempts) | add // 0) \(map(.failures) | add // 0) \(map(.op_failures.bind // 0) | add // 0) \(map(.op_failures.udp_send // 0) | add // 0) \(map(.op_failures.udp_connect // 0) | add // 0)"' <<<"$sum")
			[ "$got" = "$want" ] && counts=exact || counts="got:${got// /,}/want:${want// /,}"
			events=${evs[$lpid]:-0}
		fi
		if [ "$role" = S ]; then
			read -r a0 b0 c0 d0 <<<"${snap0[$load]}"
			read -r a1 b1 c1 d1 <<<"${snap1[$load]}"
			bpfo="$((a1 - a0)) $((b1 - b0))"
			bpfa="$((c1 - c0)) $((d1 - d0))"
		fi
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
			"$load" "$pair" "$role" "$wall" "$cpu" "$opns" "$per" "$calls" "$((fail + bindf + udpf))" \
			"$events" "$counts" "$bpfo" "$bpfa" "$lost" "$lpid" >> "$OPS_RES"
		printf '  ops  %-10s %s%s %7.0f ns/call (CPU %6.0f, call %s) %7.0f/s failures %s events %s counts %s\n' \
			"$load" "$role" "$pair" "$wall" "$cpu" "$opns" "$per" "$((fail + bindf + udpf))" "$events" "$counts" >&2
		rm -f "$RUN/$tag.$load" "$RUN/$tag.$load.err"
	done
	[ -n "$how" ] && rm -f "$TRACER_OUT"
	return 0
}

# run_ops: PAIRS x (A, C, O), the order rotating each pair so that none is
# always first, then one S round
run_ops() {
	local i k roles=(A C O)
	for ((i = 1; i <= PAIRS; i++)); do
		for ((k = 0; k < 3; k++)); do
			run_ops_round "$i" "${roles[(k + i - 1) % 3]}" || { note "ops not run: $OPS_WHY"; return 0; }
		done
	done
	[ -n "$STATS_OLD" ] && run_ops_round 1 S
	return 0
}

# soak_daemon TAG PORT [T0_US]: $PW's daemon form (run_soak's cgroup cg)
# serving /metrics on 127.0.0.1:PORT, and its soakmon writing $RUN/TAG.*,
# started half a second out of phase with a soakmon started at T0_US (its
# scrapes, once a second from its start, then fall between the other's);
# sets TRACER_PID, TRACER_OUT, SD_MON (the soakmon) and SD_T0 (its start)
soak_daemon() {
	local tag=$1 url=http://127.0.0.1:$2/metrics i w
	start_tracer "-m $BEST -q -l 127.0.0.1:$2 --cgroup=$cg" "$tag" ||
		die "portwatch (daemon form) did not start: $(grep -m1 . "$RUN/$tag.err") (port $2 in use?)"
	for ((i = 0; i < 400; i++)); do
		curl -sf -o /dev/null "$url" && break
		kill -0 "$TRACER_PID" 2>/dev/null || break
		sleep 0.05
	done
	[ $i -lt 400 ] && kill -0 "$TRACER_PID" 2>/dev/null ||
		die "portwatch does not serve $url (see $RUN/$tag.err)"
	if [ -n "${3:-}" ]; then
		w=$(( (500000 - ($(now_us) - $3) % 1000000 + 2000000) % 1000000 ))
		sleep "$(printf '0.%06d' "$w")"
	fi
	SD_T0=$(now_us)
	"$SOAKMON" --pid "$TRACER_PID" --url "$url" --tsv "$RUN/$tag.tsv" --samples "$RUN/$tag.samples.tsv" \
		--expect "$RUN/soak.expect" --log "$RUN/$tag.log" --drain "$SOAK_DRAIN" > "$RUN/$tag.json" 2> "$RUN/$tag.monerr" &
	SD_MON=$!
	PIDS+=("$SD_MON")
	wait_line "$RUN/$tag.tsv" $'^[0-9]+\tbase\t' 10 "$SD_MON" ||
		die "soakmon took no first sample: $(cat "$RUN/$tag.monerr")"
}

# run_soak: the daemon form (best mode, -q -l, --cgroup of the generator's
# own cgroup, so its totals are the generator's alone) under SOAK_RATE
# processes a second for SOAK_SECS; soakmon scrapes and samples every second
# and, once the generator's truth is in soak.expect, waits (at most
# SOAK_DRAIN s) for the totals to reach it. Sets SOAK_WHY when it cannot run.
SOAK_WHY=
run_soak() {
	local cgr cg d mon gen rc att fail t0
	cgr=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break; if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
	if [ -z "$cgr" ] || [ ! -w "$cgr/cgroup.procs" ]; then
		SOAK_WHY="no writable cgroup v2 hierarchy (the soak filters portwatch to its generator's cgroup)"
		note "soak not run: $SOAK_WHY"
		return 0
	fi
	# cgroups of benches that are gone
	for d in "$cgr"/pwsoak-*; do
		[ -d "$d" ] || continue
		kill -0 "${d##*pwsoak-}" 2>/dev/null || cg_remove "$d"
	done
	cg=pwsoak-$$
	mkdir "$cgr/$cg" || die "mkdir $cgr/$cg failed"
	CGROUPS+=("$cgr/$cg")
	ns_new fail
	rm -f "$RUN/soak.expect"
	# the base first (BENCH_BASE): both daemons see the whole load
	local b_pid b_out b_mon
	if [ -n "$BASE" ]; then
		PW=$BASE soak_daemon soak-base $((SOAK_PORT + 1))
		b_pid=$TRACER_PID b_out=$TRACER_OUT b_mon=$SD_MON
	fi
	soak_daemon soak "$SOAK_PORT" ${BASE:+"$SD_T0"}
	mon=$SD_MON
	note "soak: $SOAK_SECS s at $SOAK_RATE processes/s (names: ${SOAK_NAMES/#0/one per process})"
	( echo "$BASHPID" > "$cgr/$cg/cgroup.procs" &&
	  exec ip netns exec "$NS" "$SOAKGEN" --seconds "$SOAK_SECS" --rate "$SOAK_RATE" \
		--names "$SOAK_NAMES" --port "$PORT" ) > "$RUN/soak.load" 2> "$RUN/soak.loaderr" &
	gen=$!
	PIDS+=("$gen")
	wait "$gen"
	rc=$?
	forget "$gen"
	read -r att fail < <(jq -r '"\(.process.attempts) \(.process.failures)"' "$RUN/soak.load" 2>/dev/null)
	[ -n "$fail" ] || die "soakgen exited $rc without a result: $(cat "$RUN/soak.loaderr")"
	# children that died by a signal: their connect may or may not have happened
	[ $rc -eq 0 ] || note "soakgen exited $rc: $(cat "$RUN/soak.loaderr") (counts cannot be exact)"
	echo "$att $fail" > "$RUN/soak.expect.new" && mv "$RUN/soak.expect.new" "$RUN/soak.expect"
	wait_exit "$mon" $((SOAK_DRAIN + 60)) || die "soakmon failed: $(cat "$RUN/soak.monerr")"
	jq -e .scrapes "$RUN/soak.json" > /dev/null 2>&1 || die "soakmon printed no result: $(cat "$RUN/soak.monerr")"
	if [ -n "$BASE" ]; then
		wait_exit "$b_mon" $((SOAK_DRAIN + 60)) || die "soakmon (base) failed: $(cat "$RUN/soak-base.monerr")"
		jq -e .scrapes "$RUN/soak-base.json" > /dev/null 2>&1 ||
			die "soakmon (base) printed no result: $(cat "$RUN/soak-base.monerr")"
		SOAK_BASE_HWM=$(vmhwm_kb "$b_pid")
	fi
	SOAK_HWM=$(vmhwm_kb "$TRACER_PID")
	t0=$(now_us)
	stop_tracer pw || die "portwatch (daemon form) exited $? at SIGINT (see $RUN/soak.err)"
	SOAK_STOP_MS=$(( ($(now_us) - t0) / 1000 ))
	rm -f "$TRACER_OUT"	# its summary: a row per process
	if [ -n "$BASE" ]; then
		TRACER_PID=$b_pid TRACER_OUT=$b_out
		stop_tracer pw || die "the base portwatch (daemon form) exited $? at SIGINT (see $RUN/soak-base.err)"
		rm -f "$TRACER_OUT"
	fi
	ns_del
	cg_remove "$cgr/$cg"
	CGROUPS=()
}

# ---- machine ----
CPU=$(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)
MACHINE="$(nproc) x $CPU, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), kernel $(uname -r)"
[ -r /etc/debian_version ] && MACHINE="$MACHINE, Debian $(cat /etc/debian_version)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
BT_VER=$(bpftrace --version 2>/dev/null | awk '{print $2}')
PW_VER=$(git describe --always --dirty 2>/dev/null || echo '?')
[ "$PW" = ./portwatch ] || PW_VER="$PW_VER, binary $PW"

note "run: $RUN; modes: ${MODES[*]}; $PAIRS pairs x ${SECS}s; loadavg $LOAD0"
for m in fentry kprobe; do
	[ -n "${MODE_WHY[$m]:-}" ] && note "mode $m not available: ${MODE_WHY[$m]}"
done
[ -n "$BT_WHY" ] && note "$BT_WHY"

: > "$RES"
STORM_RES=$RUN/storm.tsv
: > "$STORM_RES"
OPS_RES=$RUN/ops.tsv
: > "$OPS_RES"
stats 0
for loop in $LOOPS; do
	case $loop in
	storm|dests)
		for ((i = 1; i <= STORM_RUNS; i++)); do
			if [ -z "$BASE" ]; then
				run_storm "$loop" "$i"
			elif [ $((i % 2)) = 1 ]; then	# A/B, then B/A: neither always first
				run_storm "$loop" "$i" "$BASE" base
				run_storm "$loop" "$i" "$PW" new
			else
				run_storm "$loop" "$i" "$PW" new
				run_storm "$loop" "$i" "$BASE" base
			fi
		done
		continue ;;
	soak) run_soak; continue ;;
	ops) run_ops; continue ;;
	esac
	mapfile -t LCASES < <(cases_of "$loop")
	for ((i = 1; i <= PAIRS; i++)); do
		for c in "${LCASES[@]}"; do
			IFS='|' read -r name label how <<<"$c"
			[ "$how" = bpftrace ] && [ -n "$BT_WHY" ] && continue
			run_one "$loop" "$name" "$how" "$i" A
			run_one "$loop" "$name" "$how" "$i" B
		done
	done
	for c in "${LCASES[@]}"; do
		IFS='|' read -r name label how <<<"$c"
		[ "$how" = bpftrace ] && [ -n "$BT_WHY" ] && continue
		[ -n "$STATS_OLD" ] && run_one "$loop" "$name" "$how" 1 S
	done
done
LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the table ----
# stat3: "min median max" of the numbers on stdin, "- - -" if none
stat3() { sort -g | awk '{a[NR] = $1} END {
	if (!NR) { print "- - -"; exit }
	m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
	print a[1], m, a[NR] }'; }
med() { stat3 | cut -d' ' -f2; }
col() { awk -F'\t' -v l="$1" -v n="$2" -v r="$3" -v c="$4" '$1 == l && $2 == n && $4 == r {print $c}' "$RES"; }
# ovh LOOP NAME COLUMN: per-pair overhead in %, one per line
ovh() {
	join -t$'\t' <(awk -F'\t' -v l="$1" -v n="$2" -v c="$3" '$1 == l && $2 == n && $4 == "A" {print $3 "\t" $c}' "$RES" | sort) \
		<(awk -F'\t' -v l="$1" -v n="$2" -v c="$3" '$1 == l && $2 == n && $4 == "B" {print $3 "\t" $c}' "$RES" | sort) |
		awk -F'\t' '{printf "%.2f\n", ($3 / $2 - 1) * 100}'
}
pct() { awk '$1 == "-" {print "-"; next} {printf "%+.1f%%", $1}'; }
# noise LOOP COLUMN: the same "overhead" between successive no-tracer runs
# (A/A): how much the host moves on its own
noise() {
	awk -F'\t' -v l="$1" -v c="$2" '$1 == l && $4 == "A" {
		if (n++) printf "%.2f\n", ($c / p - 1) * 100; p = $c }' "$RES"
}

# storm_col LOOP LABEL COLUMN: a column of the storm runs of that binary
storm_col() { awk -F'\t' -v l="$1" -v b="$2" -v c="$3" '$1 == l && $12 == b {print $c}' "$STORM_RES"; }

# The storm cases: one row per loop, sums and medians over the runs (of
# $PW: the base's are in the A/B table).
storm_table() {
	[ -s "$STORM_RES" ] || return 0
	echo
	echo "**failure storms, portwatch -j -m $BEST to a file, $STORM_RUNS run(s) of ${SECS} s each**"
	echo
	echo "| case | failures | events received | lost | lost share | failures/s | consumer CPU per event | process CPU per event | diagnoses | SIGINT to exit | counts |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
	local loop desc
	for loop in storm dests; do
		grep -q "^$loop	" "$STORM_RES" || continue
		case $loop in
		storm) desc="$STORM_PROCS processes at full speed, one destination each" ;;
		dests) desc="1 process at full speed over $DESTS destinations" ;;
		esac
		awk -F'\t' -v l="$loop" -v d="$desc" \
			-v mc="$(storm_col "$loop" new 8 | med)" \
			-v mp="$(storm_col "$loop" new 9 | med)" \
			-v ms="$(storm_col "$loop" new 11 | stat3)" '$1 == l && $12 == "new" {
			f += $3; e += $4; s += $7; n++; g += $10
			if ($5 == "-") nolost = 1; else x += $5
			if ($6 == "exact") ok++; else if ($6 ~ /^killed/) killed++ }
			END {
				split(ms, m, " ")
				printf "| %s | %d | %d | %s | %s | %.0f | %.2f us | %.2f us | %d | %d / %d / %d ms | exact %d/%d%s |\n",
					d, f, e, nolost ? "unknown" : x, nolost ? "-" : sprintf("%.2f%%", f ? x / f * 100 : 0),
					s ? f / s : 0, mc, mp, g, m[1], m[2], m[3], ok, n,
					killed ? sprintf(", %d killed after 60 s without a summary", killed) : "" }' "$STORM_RES"
	done
	cat <<-'EOF'

	Storms: events received are the run's NDJSON connect lines in the file; lost is the summary's
	events_lost (the kernel counts every event it could not write). Consumer CPU per event: the
	main thread's CPU time (schedstat) during the load over the events received (median over runs);
	process CPU adds the worker thread (diagnoses, accounts). Diagnoses: pressure objects written.
	SIGINT to exit: from the stop signal to the process's end (min / median / max), the final
	drain included.
	EOF
}

# ops_col LOAD ROLE COLUMN: a column of the ops rounds ("-" left out)
ops_col() { awk -F'\t' -v l="$1" -v r="$2" -v c="$3" '$1 == l && $3 == r && $c != "-" {print $c}' "$OPS_RES"; }
# ops_ratio LOAD ROLE BASE_ROLE COLUMN: per pair, ROLE's value over BASE_ROLE's
ops_ratio() {
	join -t$'\t' <(awk -F'\t' -v l="$1" -v r="$3" -v c="$4" '$1 == l && $3 == r && $c != "-" {print $2 "\t" $c}' "$OPS_RES" | sort) \
		<(awk -F'\t' -v l="$1" -v r="$2" -v c="$4" '$1 == l && $3 == r && $c != "-" {print $2 "\t" $c}' "$OPS_RES" | sort) |
		awk -F'\t' '$2 > 0 {printf "%.4f\n", $3 / $2}'
}
# ops_noise LOAD COLUMN: no tracer against no tracer of the pair before
# (A/A), per pair: how far the host moves a ratio on its own
ops_noise() {
	awk -F'\t' -v l="$1" -v c="$2" '$1 == l && $3 == "A" && $c != "-" {print $2 "\t" $c}' "$OPS_RES" |
		sort -n | awk -F'\t' '{ if (n++ && p > 0) printf "%.4f\n", $2 / p; p = $2 }'
}
# rfmt: "median (min-max)" of the ratios on stdin
rfmt() { stat3 | awk '$1 == "-" {print "-"; next} {printf "%.2f (%.2f-%.2f)", $2, $1, $3}'; }

# The ops rounds: a row per load, the three roles side by side.
ops_table() {
	[[ " $LOOPS " == *" ops "* ]] || return 0
	echo
	echo "**--ops=bind,udp: what its syscall tracepoints cost (portwatch -j -m $BEST without and with --ops=bind,udp, and no tracer; $PAIRS round(s) of each, the order rotating; ${OPS_SECS} s per load)**"
	echo
	if [ -n "$OPS_WHY" ]; then
		echo "not run: $OPS_WHY"
		return 0
	fi
	echo "| load | calls/s, no tracer | wall ns per iteration: none / portwatch / --ops | CPU ns per iteration: none / portwatch / --ops | the call alone, wall ns: none / portwatch / --ops | --ops / none: wall, CPU, call | --ops / portwatch: wall, CPU, call | noise, none / none of the pair before: wall, CPU, call | BPF, --ops programs: ns per call (runs per call) | BPF, all programs: ns per call | events / failures | counts |"
	echo "| --- | ---: | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	local load desc r c x bo ba cpu0 ev fl n nx
	for load in $OPS_LOADS; do
		case $load in
		bind-ok) desc="bind(127.0.0.1, 0) succeeding: socket, bind, close" ;;
		bind-fail) desc="bind(127.0.0.1, 0) failing, EADDRINUSE: 10-port range held by bound sockets" ;;
		udp-ok) desc="UDP autobind succeeding: socket, sendto, close" ;;
		udp-fail) desc="UDP autobind failing, EAGAIN: 10-port range held by autobound sockets" ;;
		connect-ok) desc="connect success loop (loadgen ok, $THREADS thread(s)): the call is not timed alone" ;;
		esac
		[ -n "$(ops_col "$load" A 4)" ] || continue
		local cells=()
		for c in 4 5 6; do
			x=
			for r in A C O; do
				x+=${x:+ / }$(ops_col "$load" "$r" "$c" | med | awk '$1 == "-" {print "-"; next} {printf "%.0f", $1}')
			done
			cells+=("$x")
		done
		for r in A C; do
			cells+=("wall $(ops_ratio "$load" O "$r" 4 | rfmt), CPU $(ops_ratio "$load" O "$r" 5 | rfmt), call $(ops_ratio "$load" O "$r" 6 | rfmt)")
		done
		cells+=("wall $(ops_noise "$load" 4 | rfmt), CPU $(ops_noise "$load" 5 | rfmt), call $(ops_noise "$load" 6 | rfmt)")
		cpu0=$(ops_col "$load" A 5 | med)
		bo=$(awk -F'\t' -v l="$load" -v b="$cpu0" '$1 == l && $3 == "S" { split($12, f, " "); if ($8 > 0)
			printf "%.0f (%.2f; %.1f%% of a no-tracer iteration'"'"'s CPU)", f[1] / $8, f[2] / $8, (b > 0 ? f[1] / $8 / b * 100 : 0) }' "$OPS_RES")
		ba=$(awk -F'\t' -v l="$load" '$1 == l && $3 == "S" { split($13, f, " "); if ($8 > 0) printf "%.0f", f[1] / $8 }' "$OPS_RES")
		ev=$(awk -F'\t' -v l="$load" '$1 == l && ($3 == "O" || $3 == "S") {s += $10} END {print s + 0}' "$OPS_RES")
		fl=$(awk -F'\t' -v l="$load" '$1 == l && ($3 == "O" || $3 == "S") {s += $9} END {print s + 0}' "$OPS_RES")
		n=$(awk -F'\t' -v l="$load" '$1 == l && $11 != "-"' "$OPS_RES" | wc -l)
		nx=$(awk -F'\t' -v l="$load" '$1 == l && $11 == "exact"' "$OPS_RES" | wc -l)
		printf '| %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | exact %s/%s |\n' "$desc" \
			"$(ops_col "$load" A 7 | med)" "${cells[@]}" "${bo:--}" "${ba:--}" "$ev" "$fl" "$nx" "$n"
	done
	echo
	echo "Events lost by the --ops rounds' portwatch (ring buffer full; counts stay exact): $(awk -F'\t' '$1 == "bind-ok" && ($3 == "O" || $3 == "S") {s += $14} END {print s + 0}' "$OPS_RES")."
	cat <<-'EOF'

	ops: each round runs the five loads one after the other, each in a fresh netns, under one
	tracer (none; portwatch -j; portwatch -j --ops=bind,udp). Iteration: one loop turn (socket,
	the call, close); CPU: the loop thread's own; the call alone: bind() or sendto() between two
	clock reads. Ratios: per pair of rounds, median (min-max) over the pairs; noise: the same
	ratio between the no-tracer rounds of successive pairs. BPF: one more --ops
	round with kernel.bpf_stats_enabled=1, the programs' run time during each load over the load's
	calls: the --ops programs (sys_enter/exit_bind, sys_exit_connect/sendto/sendmsg/sendmmsg: they
	run for every such syscall of every process on the host, so runs per call above the load's own
	are other processes') and all of portwatch's. events: NDJSON lines of the load's pid, over the
	--ops rounds, against the failures it counted itself; counts: rounds where portwatch's
	per-process numbers for that pid equal the load's own (connect attempts and failures, and with
	--ops op_failures bind and udp_send; none without).
	EOF
}

# The soak: one screen from soak.tsv (a sample a second), soak.json
# (soakmon's checks) and soak.load (the generator's truth).
soak_table() {
	[[ " $LOOPS " == *" soak "* ]] || return 0
	echo
	echo "**soak: short-lived failing processes for ${SOAK_SECS} s, daemon form (portwatch -m $BEST -q -l) scraped every second**"
	echo
	if [ -n "$SOAK_WHY" ]; then
		echo "not run: $SOAK_WHY"
		return 0
	fi
	local g m
	g=$(cat "$RUN/soak.load")
	m=$(cat "$RUN/soak.json")
	echo "| what | this run |"
	echo "| --- | --- |"
	jq -r --argjson m "$m" --arg target "$SOAK_RATE" '
		"| processes forked | \(.forks) in \(.seconds) s: \(.per_s | floor)/s, \(.per_s / ($target | tonumber) * 100 | floor)% of the \($target)/s asked\(if .fork_failed > 0 then " (\(.fork_failed) forks refused)" else "" end) |",
		"| process names | \(.names) distinct (pws-<hex>) |",
		"| what the children saw | EADDRNOTAVAIL \(.children.eaddrnotavail), connected \(.children.connected), other errors \(.children.other_errors), no socket \(.children.no_socket), killed \(.children.abnormal) |",
		"| generator total (its fill included) | attempts \(.process.attempts), failures \(.process.failures) |",
		"| portwatch totals at the end | attempts \($m.final.attempts), failures \($m.final.failures): \(if $m.exact then "exact, \($m.drain_ms | floor) ms after the last process was reaped" else "NOT EXACT after \($m.drain_ms | if . < 0 then "the \(10) s drain" else "\(.) ms" end)" end) |",
		"| counts_dropped, untraced, events lost | \($m.final.counts_dropped), \($m.final.untraced), \($m.final.events_lost) |",
		"| scrapes | \($m.scrapes) good, \($m.scrape_failures) failed (timeout \(10) s), \($m.late_ticks) ticks skipped behind a slow one, \($m.bad_lines) unparsable lines; decreases of a counter series or total: \($m.decreases)\(if $m.portwatch_exited then "; PORTWATCH EXITED during the soak" else "" end) |",
		"| counter series that vanished | \([$m.families | to_entries[] | select(.value.vanished > 0) | "\(.key) \(.value.vanished)"] | if length == 0 then "none" else join(", ") end) |"
	' <<<"$g"
	# soak.tsv: a line per scrape; soak.samples.tsv: a line per second
	awk -F'\t' -v hwm="${SOAK_HWM:-}" -v forks="$(jq .forks <<<"$g")" -v secs="$(jq .seconds <<<"$g")" \
		-v slowc="$(jq .slow_scrapes <<<"$m")" '
		function mib(k) { return sprintf("%.1f MiB", k / 1024) }
		function sz(b) { return b >= 1048576 ? sprintf("%.1f MiB", b / 1048576) : sprintf("%.1f KiB", b / 1024) }
		# median of a[1..m], sorted in place (insertion sort: a sample a second)
		function median(a, m,   i, j, x) {
			for (i = 2; i <= m; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
			return m ? a[int((m + 1) / 2)] : 0 }
		FNR == 1 { for (i = 1; i <= NF; i++) { c[FILENAME, $i] = i; hdr[FILENAME, i] = $i }; next }
		FILENAME ~ /soak\.tsv$/ {
			if ($c[FILENAME, "phase"] == "drain" && loadend == "") loadend = $c[FILENAME, "t"]
			if ($c[FILENAME, "ok"] != 1) next
			n++; by[n] = $c[FILENAME, "bytes"]; ms[n] = $c[FILENAME, "scrape_ms"]; ph[n] = $c[FILENAME, "phase"]
			se[n] = $c[FILENAME, "series"]; cs[n] = $c[FILENAME, "comm_series"]; ps[n] = $c[FILENAME, "pid_series"]
			next }
		{ ns++; t[ns] = $c[FILENAME, "t"]; rss[ns] = $c[FILENAME, "rss_kb"]; cpu[ns] = $c[FILENAME, "cpu_pct"]
		  for (i = 5; i <= NF; i++) { mp[i, ns] = $i; mname[i] = hdr[FILENAME, i] } }
		END {
			if (!ns || !n) { print "| samples | none |"; exit }
			if (loadend == "") loadend = t[ns]
			for (i = 1; i <= ns; i++) if (rss[i] > rmax) rmax = rss[i]
			for (i = 1; i <= n; i++) {
				if (by[i] > bmax) bmax = by[i]
				if (se[i] > smax) smax = se[i]
				if (cs[i] > csmax) csmax = cs[i]
				if (ps[i] > psmax) psmax = ps[i]
				if (ms[i] > msmax) msmax = ms[i]
			}
			# RSS slope over the last 30 s of load (least squares)
			# (the sample at 0 is from before the generator started)
			for (i = 1; i <= ns; i++) if (t[i] > 0 && t[i] <= loadend && t[i] >= loadend - 30) {
				if (!w) t1 = t[i]
				w++; sx += t[i]; sy += rss[i]; sxx += t[i] * t[i]; sxy += t[i] * rss[i] }
			if (w >= 2 && w * sxx - sx * sx > 0) slope = (w * sxy - sx * sy) / (w * sxx - sx * sx)
			rate = secs > 0 ? forks / secs : 0
			printf "| portwatch RSS (%d samples) | start %s, peak %s, end %s: end/start %.2f, peak/start %.2f; slope over the last %d s of load %+.0f KiB/s = %+.1f KiB per 1000 processes%s |\n",
				ns, mib(rss[1]), mib(rmax), mib(rss[ns]), rss[ns] / rss[1], rmax / rss[1], loadend - t1, slope,
				(rate > 0 ? slope / rate * 1000 : 0), (hwm != "" ? sprintf("; VmHWM (peak between samples too) %s, %.2f x start", mib(hwm), hwm / rss[1]) : "")
			m = 0; for (i = 1; i <= n; i++) if (ph[i] == "load") v[++m] = ms[i]
			printf "| /metrics | start %s, peak %s, end %s: end/start %.0f; scrape time median %.0f ms, max %.0f ms; %d scrapes slower than the 1 s interval |\n",
				sz(by[1]), sz(bmax), sz(by[n]), by[n] / by[1], median(v, m), msmax, slowc
			printf "| series in the exposition | start %s, peak %s, end %s (peak/end %.2f); per-comm failure series peak %s, end %s; per-pid peak %s, end %s |\n",
				se[1], smax, se[n], (se[n] ? smax / se[n] : 0), csmax, cs[n], psmax, ps[n]
			m = 0; for (i = 1; i <= ns; i++) if (t[i] > 0 && t[i] <= loadend) u[++m] = cpu[i]
			med = median(u, m)
			printf "| portwatch CPU during the load | median %.0f%%, max %.0f%% of one CPU |\n", med, (m ? u[m] : 0)
			for (k2 in mname) {
				mm = -1; for (i = 1; i <= ns; i++) if (mp[k2, i] > mm) mm = mp[k2, i]
				print mname[k2] "\t" mm "\t" mp[k2, ns] > mapsf
			}
		}' mapsf="$RUN/soak.maps" "$RUN/soak.tsv" "$RUN/soak.samples.tsv"
	local name peak end max
	while IFS=$'\t' read -r name peak end; do
		name=${name#map_}
		max=$(jq -r --arg n "$name" '.maps[$n].max_entries' <<<"$m")
		printf '| kernel map %s (%s entries) | peak %s (%.1f%%), end %s |\n' "$name" "$max" "$peak" \
			"$(awk -v p="$peak" -v x="$max" 'BEGIN {print (x > 0 ? p / x * 100 : 0)}')" "$end"
	done < <(sort "$RUN/soak.maps")
	echo "| SIGINT to exit | ${SOAK_STOP_MS:-?} ms |"
	cat <<-'EOF'

	Soak: the generator (bench/soakgen) forks processes at the rate asked (as fast as it can when
	behind), each names itself, fails one connect() with EADDRNOTAVAIL in the soak's netns (10-port
	range held full) and exits; its own counts are the truth. portwatch is filtered to the
	generator's cgroup, so its totals must equal the generator's exactly. bench/soakmon samples
	once a second: a scrape like Prometheus's (checked against the one before: no counter series
	or total may go down), portwatch's RSS and CPU, and each of its hash maps' entries (a batch
	walk). Slope: least squares over the samples of the load's last 30 s. Scrapes: soak.tsv, samples:
	soak.samples.tsv; failed scrapes, decreases and vanished series: soak.log, beside the table.
	EOF
}

table() {
	local loop desc c
	echo "Machine: $MACHINE; load average $LOAD0 at start, $LOAD1 at end."
	echo "portwatch $PW_VER; bpftrace ${BT_VER:-not installed}. $PAIRS pairs of ${SECS} s runs per case."
	local v repro=
	for v in BENCH_SMOKE BENCH_LOOPS BENCH_PAIRS BENCH_SECONDS BENCH_OPS_SECONDS BENCH_THREADS BENCH_CASES; do
		[ -n "${!v:-}" ] || continue
		[[ "${!v}" == *" "* ]] && repro+=" $v=\"${!v}\"" || repro+=" $v=${!v}"
	done
	echo "Reproduce: \`sudo make bench$repro\`."
	for loop in $LOOPS; do
		case $loop in
		storm|dests|soak|ops) continue ;;
		fail) desc="fast-fail loop, $THREADS thread(s): socket+connect+close, 10-port range held full, every connect fails with EADDRNOTAVAIL" ;;
		ok) desc="success loop, $THREADS thread(s): socket+connect, the listener accepts and closes, read EOF, close" ;;
		rate) desc="event stream: connect on one socket per thread, failing, paced to $RATE/s over $RATE_THREADS threads; events to a file" ;;
		esac
		echo
		echo "**$desc**"
		echo
		echo "| case | ns/connect | CPU ns/connect | overhead, CPU: min / median / max | overhead, wall: median | connects/s | events / failures | lost | counts | tracer CPU | peak RSS | start to attached | BPF ns/run | BPF ns/connect |"
		echo "| --- | ---: | ---: | --- | ---: | ---: | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"
		printf '| no tracer | %.0f | %.0f | %s | %s | %.0f | - | - | - | - | - | - | - | - |\n' \
			"$(awk -F'\t' -v l="$loop" '$1 == l && $4 == "A" {print $5}' "$RES" | med)" \
			"$(awk -F'\t' -v l="$loop" '$1 == l && $4 == "A" {print $6}' "$RES" | med)" \
			"$(noise "$loop" 6 | stat3 | awk '$1 == "-" {print "-"; next} {printf "noise: %+.1f%% / %+.1f%% / %+.1f%%", $1, $2, $3}')" \
			"$(noise "$loop" 5 | med | pct)" \
			"$(awk -F'\t' -v l="$loop" '$1 == l && $4 == "A" {print $7}' "$RES" | med)"
		while IFS= read -r c; do
			local name label how
			IFS='|' read -r name label how <<<"$c"
			if [ "$how" = bpftrace ] && [ -n "$BT_WHY" ]; then
				echo "| $label | not run: $BT_WHY | | | | | | | | | | | | |"
				continue
			fi
			[ -n "$(col "$loop" "$name" B 5)" ] || continue
			local o ow ev fl lost npairs nexact rss att bpfns bpfcon tc
			o=$(ovh "$loop" "$name" 6 | stat3 | awk '$1 == "-" {print "-"; next} {printf "%+.1f%% / %+.1f%% / %+.1f%%", $1, $2, $3}')
			ow=$(ovh "$loop" "$name" 5 | med | pct)
			fl=$(col "$loop" "$name" B 8 | awk '{s += $1} END {print s + 0}')
			ev=$(col "$loop" "$name" B 9 | awk '$1 == "-" {d = 1} {s += $1} END {print d ? "-" : s + 0}')
			lost=$(col "$loop" "$name" B 10 | awk '$1 == "-" {d = 1} {s += $1} END {print d ? "-" : s + 0}')
			npairs=$(col "$loop" "$name" B 11 | wc -l)
			nexact=$(col "$loop" "$name" B 11 | grep -cx exact)
			rss=$(col "$loop" "$name" B 12 | stat3 | awk '$3 == "-" {print "-"; next} {printf "%.1f MiB", $3 / 1024}')
			att=$(col "$loop" "$name" B 13 | med | awk '$1 == "-" {print "-"; next} {printf "%d ms", $1}')
			bpfns=$(col "$loop" "$name" S 14 | awk '{split($0, f, " "); if (f[2] > 0) printf "%.0f\n", f[1] / f[2]}')
			# all of the programs' time during the load, per connect of the load, and as a
			# share of a no-tracer connect's CPU time: the synchronous cost, without A/B noise
			bpfcon=$(awk -F'\t' -v l="$loop" -v n="$name" -v base="$(awk -F'\t' -v l="$loop" '$1 == l && $4 == "A" {print $6}' "$RES" | med)" \
				'$1 == l && $2 == n && $4 == "S" { split($14, f, " "); if ($17 > 0 && f[2] > 0)
					printf "%.0f (%.1f%%)\n", f[1] / $17, f[1] / $17 / base * 100 }' "$RES")
			tc=$(col "$loop" "$name" B 16 | med | awk '$1 == "-" {print "-"; next} {printf "%.0f%%", $1}')
			printf '| %s | %.0f | %.0f | %s | %s | %.0f | %s / %s | %s | exact %s/%s | %s | %s | %s | %s | %s |\n' \
				"$label" "$(col "$loop" "$name" B 5 | med)" "$(col "$loop" "$name" B 6 | med)" \
				"$o" "$ow" "$(col "$loop" "$name" B 7 | med)" "$ev" "$fl" "$lost" "$nexact" "$npairs" \
				"$tc" "$rss" "$att" "${bpfns:--}" "${bpfcon:--}"
		done < <(cases_of "$loop")
	done
	storm_table
	ops_table
	[[ " $LOOPS " =~ \ (fail|ok|rate)\  ]] || return 0
	cat <<-'EOF'

	ns/connect: wall time of one loop iteration of a thread; CPU ns/connect: that thread's CPU
	time per iteration, which a busy neighbour on the host inflates far less. Overhead: per pair,
	the tracer's run against the no-tracer run just before it (min / median / max over pairs);
	the no-tracer row's "noise" is the same figure between successive no-tracer runs.
	events: portwatch's NDJSON lines from the run's netns (failures only, default options), summed
	over the pairs, against the failures the load generator counted itself; lost: the summary's
	events_lost; counts: runs where the tracer's per-process numbers for the load generator's pid
	equal its own (portwatch: attempts and failures; bpftrace: its failure count). tracer CPU: the
	tracer process's user+system time during the load, in % of one CPU. Peak RSS: VmHWM at the end
	of the run (largest over runs). Start to attached: from launch to the tracer's ready line
	("attached in" on portwatch's stderr, "Attaching 1 probe" from bpftrace). BPF ns/run:
	run_time_ns / run_cnt of the tracer's programs over one extra run with kernel.bpf_stats_enabled=1
	(off again after it); the programs run for every matching event on the host, not only the bench's.
	BPF ns/connect: their whole run time in that run over the load generator's connects, and in %
	of a no-tracer connect's CPU time: the synchronous cost in the kernel, free of A/B noise.
	EOF
	if [ "$BEST" = tracepoint ]; then
		echo "--scan-depth: this kernel allows only tracepoint mode, where -S counts nothing and costs"
		echo "nothing (same programs as without it); its per-port cost needs fentry or kprobe mode."
	elif [[ " $LOOPS " == *" fail "* ]]; then
		awk -v d="$(col fail pw-S B 6 | med)" -v b="$(col fail "pw-$BEST" B 6 | med)" \
		    -v p="$(col fail pw-S B 15 | med)" -v m="$BEST" 'BEGIN { if (p > 0 && d != "-" && b != "-")
			printf "--scan-depth (%s mode): %+.0f ns of CPU per failing connect, %.1f ports checked each: %+.1f ns per port scanned.\n", m, d - b, p, (d - b) / p }'
	fi
}

# ---- the targets of issue 12, from the table's own runs ----
# bpf_per_connect LOOP NAME: the S run's BPF time of the case's programs per
# connect of the load generator, "-" without it
bpf_per_connect() {
	awk -F'\t' -v l="$1" -v n="$2" '$1 == l && $2 == n && $4 == "S" {
		split($14, f, " "); if ($17 > 0 && f[2] > 0) { printf "%.0f\n", f[1] / $17; exit } }' "$RES"
}
# verdict VALUE LIMIT UNIT: "met" if VALUE <= LIMIT, else by how much it is missed
verdict() {
	awk -v v="$1" -v m="$2" -v u="$3" 'BEGIN {
		if (v == "" || v == "-" || m == "" || m == "-") { print "not measured"; exit }
		if (v + 0 <= m + 0) print "met"; else printf "missed by %.*f%s\n", u == " ns" ? 0 : 1, v - m, u }'
}
targets() {
	local pw=pw-$BEST b_pw b_bt o base b_ok share lim
	[[ " $LOOPS " =~ \ (fail|ok)\  ]] || return 0
	echo
	echo "Targets (issue 12; $BEST mode, fast-fail and success loops above):"
	echo
	echo "| target | this run | status |"
	echo "| --- | --- | --- |"
	if [[ " $LOOPS " == *" fail "* ]]; then
		b_pw=$(bpf_per_connect fail "$pw")
		b_bt=$(bpf_per_connect fail bpftrace)
		echo "| BPF ns per failing connect <= bpftrace one-liner's | portwatch ${b_pw:--} ns, bpftrace ${b_bt:--} ns | $(verdict "${b_pw:--}" "${b_bt:--}" " ns") |"
		o=$(ovh fail "$pw" 6 | med)
		echo "| fast-fail loop CPU overhead, median <= 3% | $(pct <<<"$o") | $(verdict "$o" 3 " points") |"
	fi
	if [[ " $LOOPS " == *" ok "* ]]; then
		base=$(awk -F'\t' '$1 == "ok" && $4 == "A" {print $6}' "$RES" | med)
		b_ok=$(bpf_per_connect ok "$pw")
		share=$(awk -v b="${b_ok:--}" -v c="$base" 'BEGIN {if (b != "-" && c != "-" && c > 0) printf "%.2f", b / c * 100; else print "-"}')
		lim=$(awk -v c="$base" 'BEGIN {if (c != "-") printf "%.0f", c / 100; else print "-"}')
		echo "| success loop BPF ns per connection <= 1% of a no-tracer connection's CPU ($lim ns) | ${b_ok:--} ns = $share% of $(printf '%.0f' "$base") ns | $(verdict "$share" 1 " points") |"
	fi
}

# exactness: the one verdict of the bench (never its timings): every
# portwatch run's counts equal its load generator's own, the soak's totals
# reach the generator's and no counter series or total ever decreased. A
# miss is exit 1 (so CI's BENCH_SMOKE=1 run fails on it), one line each.
exactness() {
	local bad
	bad=$(awk -F'\t' '$2 ~ /^pw-/ && $11 != "-" && $11 != "exact" {
		printf "%s %s pair %s role %s: counts %s\n", $1, $2, $3, $4, $11 }' "$RES" 2>/dev/null)
	[ -f "$OPS_RES" ] && bad+=$(awk -F'\t' '$11 != "-" && $11 != "exact" {
		printf "\nops %s round %s%s (pid %s): counts %s", $1, $3, $2, $15, $11 }' "$OPS_RES")
	[ -f "$STORM_RES" ] && bad+=$(awk -F'\t' '$6 != "exact" {
		printf "\n%s run %s (%s): counts %s", $1, $2, $12, $6 }' "$STORM_RES")
	if [[ " $LOOPS " == *" soak "* ]] && [ -z "$SOAK_WHY" ]; then
		local tag
		for tag in soak ${BASE:+soak-base}; do
			if [ -s "$RUN/$tag.json" ]; then
				bad+=$(jq -r --arg t "$tag" 'select((.exact | not) or .decreases > 0 or .portwatch_exited)
					| "\n\($t): totals \(if .exact then "exact" else "NOT EXACT" end), \(.decreases) decreases of a counter\(if .portwatch_exited then ", portwatch exited" else "" end)"' \
					"$RUN/$tag.json")
			else
				bad+=$'\n'"$tag: no $tag.json (soakmon gave no verdict)"
			fi
		done
	fi
	bad=$(sed '/^$/d' <<<"$bad")
	if [ -n "$bad" ]; then
		sed 's/^/bench: NOT EXACT: /' <<<"$bad" >&2
		return 1
	fi
	note "counts exact in every portwatch run; no counter decreased"
}

# ---- BENCH_BASE: this portwatch against the base, from this run ----
# tsv_col FILE NAME [PHASE | T_MAX]: a named column of soakmon's tsv, good
# scrapes only and of PHASE (the scrape file), or samples at 0 < t <= T_MAX
tsv_col() {
	awk -F'\t' -v n="$2" -v ph="${3:-}" 'FNR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
		("ok" in c) && ($c["ok"] != 1 || (ph != "" && $c["phase"] != ph)) { next }
		!("ok" in c) && ph != "" && ($c["t"] <= 0 || $c["t"] > ph + 0) { next }
		{ print $c[n] }' "$1" 2>/dev/null
}
# ab_row WHAT UNIT BASE NEW: a table row with the ratio NEW/BASE; BASE and
# NEW are "min median max" (stat3) or one value
ab_row() {
	awk -v w="$1" -v u="$2" -v b="$3" -v n="$4" 'function fmt(x) { return sprintf(x >= 100 ? "%.0f" : "%.3f", x) }
	function cell(v,   a, k) { k = split(v, a, " ")
		return k == 3 ? sprintf("%s%s (%s-%s)", fmt(a[2]), u, fmt(a[1]), fmt(a[3])) : fmt(a[1]) u }
	function mid(v,   a, k) { k = split(v, a, " "); return k == 3 ? a[2] : a[1] }
	BEGIN {
		if (b == "" || b ~ /^-/ || n == "" || n ~ /^-/) { printf "| %s | %s | %s | - |\n", w, b, n; exit }
		printf "| %s | %s | %s | %s |\n", w, cell(b), cell(n), (mid(b) > 0 ? sprintf("%.3f", mid(n) / mid(b)) : "-") }'
}
ab_table() {
	[ -n "$BASE" ] || return 0
	local loop n
	echo
	echo "**A/B: this portwatch ($PW) against the base ($BASE), in this run**"
	echo
	echo "| figure | base: median (min-max) | new: median (min-max) | new/base (medians) |"
	echo "| --- | ---: | ---: | ---: |"
	for loop in storm dests; do
		n=$(storm_col "$loop" new 8 | wc -l)
		[ "$n" -gt 0 ] || continue
		ab_row "$loop: consumer CPU per event (median of $n runs each)" " us" \
			"$(storm_col "$loop" base 8 | stat3)" "$(storm_col "$loop" new 8 | stat3)"
		ab_row "$loop: process CPU per event (median of $n runs each)" " us" \
			"$(storm_col "$loop" base 9 | stat3)" "$(storm_col "$loop" new 9 | stat3)"
	done
	if [[ " $LOOPS " == *" soak "* ]] && [ -z "$SOAK_WHY" ]; then
		n=$(tsv_col "$RUN/soak.tsv" scrape_ms load | wc -l)
		ab_row "soak: /metrics scrape time (median of $n scrapes during the load, side by side)" " ms" \
			"$(tsv_col "$RUN/soak-base.tsv" scrape_ms load | stat3)" "$(tsv_col "$RUN/soak.tsv" scrape_ms load | stat3)"
		ab_row "soak: /metrics size (median)" " B" \
			"$(tsv_col "$RUN/soak-base.tsv" bytes load | stat3)" "$(tsv_col "$RUN/soak.tsv" bytes load | stat3)"
		local tend
		tend=$(tsv_col "$RUN/soak.tsv" t load | tail -n 1)
		ab_row "soak: daemon CPU during the load (median of the 1 s samples)" "%" \
			"$(tsv_col "$RUN/soak-base.samples.tsv" cpu_pct "${tend:-0}" | stat3)" \
			"$(tsv_col "$RUN/soak.samples.tsv" cpu_pct "${tend:-0}" | stat3)"
		ab_row "soak: peak RSS (VmHWM)" " KiB" "${SOAK_BASE_HWM:--}" "${SOAK_HWM:--}"
	fi
	cat <<-'EOF'

	A/B: the storm and dests runs alternate the two binaries (base first in odd runs, new first
	in even ones), each alone on the host with the same load; medians over the runs. The soak runs
	both daemons at once on the same load, filtered to the same cgroup, each scraped once a second
	by its own soakmon, half a second apart (a scrape never meets the other's): they see the same
	processes. A ratio is worth its overlap: min-max of the runs (storm, dests) or of the scrapes
	and samples (soak); base against itself (BENCH_BASE=the same binary) shows how far from 1
	noise alone takes it on this host.
	EOF
}

{ table; targets; soak_table; ab_table; } | tee "$RUN/table.md"
note "results: $RES"
exactness || exit 1
