#!/bin/bash
# The --top view's CPU at a storm of BENCH_TOP_RATE (100,000) failures/s,
# against the plain text mode in the same run: both in an 80x24 tmux pane
# (a real terminal), A B A B, BENCH_TOP_ROUNDS (2) times each.
# bench/loadgen fails at the rate asked in a fresh netns (10-port range
# held full, tcp_tw_reuse=0); portwatch is filtered to that netns's load by
# its own cgroup. Figures: portwatch's CPU (utime + stime from
# /proc/PID/stat) per second of load, the failures loadgen made, and what
# each mode counted (the view's screen total, the text mode's summary).
# Run as root from the repository: bench/top.sh (after make and
# make .output/bench/loadgen). Exit 1 only when the harness breaks.
set -u
PW=${PW:-./portwatch}
OUT=${OUTPUT:-.output}
LOADGEN=$OUT/bench/loadgen
RATE=${BENCH_TOP_RATE:-100000}
SECS=${BENCH_TOP_SECONDS:-5}
ROUNDS=${BENCH_TOP_ROUNDS:-2}
TICK=$(getconf CLK_TCK)
RUN=$(mktemp -d /tmp/pw-bench-top.XXXXXX)
SOCK=$RUN/tmux.sock
NS=pwbt-$$
CG=

die() { echo "bench/top: $*" >&2; exit 1; }
cleanup() {
	tmux -S "$SOCK" kill-server 2> /dev/null
	ip netns del "$NS" 2> /dev/null
	if [ -n "$CG" ]; then
		for p in $(cat "$CG/cgroup.procs" 2> /dev/null); do kill -9 "$p" 2> /dev/null; done
		rmdir "$CG" 2> /dev/null
	fi
}
trap cleanup EXIT
[ "$(id -u)" = 0 ] || die "needs root"
command -v tmux > /dev/null || die "tmux missing (make test-deps)"
[ -x "$LOADGEN" ] || die "$LOADGEN missing: make $LOADGEN"
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CG2" ] || die "no cgroup v2 hierarchy"
CG=$CG2/pwbtop.$$
mkdir "$CG" || die "mkdir $CG"
ip netns add "$NS" && ip -n "$NS" link set lo up &&
	ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="40000 40009" \
		net.ipv4.tcp_tw_reuse=0 || die "netns $NS"

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# one MODE ("text" or "top"): portwatch in the pane, the load, its CPU.
one() {
	local mode=$1 args="" pid c0 c1 lg counted
	[ "$mode" = top ] && args=--top
	: > "$RUN/pw.err"
	tmux -S "$SOCK" -f /dev/null new-session -d -x 80 -y 24 \
		"exec $PW $args --cgroup ${CG#"$CG2"} 2> $RUN/pw.err" || die "tmux"
	tmux -S "$SOCK" set-option -g remain-on-exit on > /dev/null
	for _ in $(seq 300); do grep -q 'attached in' "$RUN/pw.err" && break; sleep 0.05; done
	grep -q 'attached in' "$RUN/pw.err" || die "$mode: not attached: $(cat "$RUN/pw.err")"
	pid=$(tmux -S "$SOCK" display-message -p '#{pane_pid}')
	c0=$(cpu_ticks "$pid")
	sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$CG" "$NS" \
		"$LOADGEN" fail --reuse --threads 2 --rate "$RATE" --seconds "$SECS" > "$RUN/lg.json" ||
		die "loadgen failed"
	sleep 1.5	# the view's next refresh; the text mode's last lines
	c1=$(cpu_ticks "$pid")
	if [ "$mode" = top ]; then
		counted=$(tmux -S "$SOCK" capture-pane -p | sed -nE 's/^failures .* total ([0-9]+) .*/\1/p')
		tmux -S "$SOCK" send-keys q
	else
		kill -INT "$pid"
	fi
	for _ in $(seq 200); do [ -d "/proc/$pid" ] || break; sleep 0.05; done
	[ "$mode" = text ] && counted=$(tmux -S "$SOCK" capture-pane -p -J -S -60 |
		awk '$2 == "loadgen" { s += $4 } END { print s + 0 }')
	tmux -S "$SOCK" kill-server
	lg=$(jq -r '"\(.process.eaddrnotavail) \(.per_s | floor)"' "$RUN/lg.json")
	printf '%s\t%s\t%s\t%s\t%s\n' "$mode" "$(( (c1 - c0) * 1000 / TICK ))" "$SECS" "$lg" "${counted:-?}"
}

echo "# portwatch CPU in an 80x24 tmux pane, loadgen at $RATE failures/s for $SECS s" \
	"($(nproc) CPUs, $(uname -r))"
printf 'mode\tcpu_ms\tseconds\tfailures\tper_s\tcounted\n'
for _ in $(seq "$ROUNDS"); do
	one text
	one top
done | tee "$RUN/results.tsv" | sed 's/ /\t/'
awk -F'\t' '{ split($4, a, " ") } $1 == "text" { t += $2 } $1 == "top" { v += $2 }
	END { if (t) printf "view / text mode CPU: %.2f\n", v / t }' "$RUN/results.tsv"
rm -rf "$RUN"
