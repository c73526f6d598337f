#!/usr/bin/env bash
# Records the seeds of fuzz_census (tests/fuzz/corpus/census/) in test
# network namespaces, as the census sees real sockets: listeners, a bound
# socket, TIME_WAIT and ESTABLISHED clients over IPv4 and IPv6, an exhausted
# range. Needs root, make test-bins and $OUTPUT/fuzz/record_diag
# (make .output/fuzz/record_diag). Rewrites the committed seeds: run it only
# to refresh them.
set -eu
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/portwatch-record.XXXXXX)
source tests/lib.sh
trap '_run_cleanups; rm -rf "$T"' EXIT
REC=$OUT/fuzz/record_diag
dest=tests/fuzz/corpus/census

# scenario NAME TW_REUSE: the census test's netns (tests/census.sh), recorded
scenario() {
	mk_netns 40000 40009
	in_ns sysctl -qw net.ipv4.tcp_tw_reuse="$2"
	in_ns "$HTTPD" 127.0.0.1 18101 > "$T/httpd1" 2>&1 &
	defer "kill $!"
	in_ns "$HTTPD" 127.0.0.1 40005 > "$T/httpd2" 2>&1 &
	defer "kill $!"
	wait_for "$T/httpd1" '^ready' 5
	wait_for "$T/httpd2" '^ready' 5
	in_ns "$TRIGGER" --port 18100 exhaust --count 5 > /dev/null
	in_ns "$TRIGGER" --addr ::1 --port 18102 exhaust --count 3 > /dev/null
	in_ns bash -c "exec 5<>/dev/tcp/127.0.0.1/18101 6<>/dev/tcp/127.0.0.1/18101
		'$REC' > '$dest/$1'"
}
scenario tw_estab_reuse0 0
_run_cleanups; _cleanups=()
scenario tw_estab_reuse2 2
_run_cleanups; _cleanups=()
# the whole range in TIME_WAIT towards one destination
mk_netns 40000 40009
in_ns "$TRIGGER" --port 18100 exhaust --count 12 > /dev/null || true
in_ns "$REC" > "$dest/exhausted"
_run_cleanups; _cleanups=()
# nothing but loopback
mk_netns 32768 60999
in_ns "$REC" > "$dest/empty"
ls -l "$dest"
