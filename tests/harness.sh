# The harness's own test: tests/run.sh runs the deliberately broken tests of
# tests/harness_cases.sh (a hang, a hanging cleanup, skip after fail, exit 77
# without a reason) with short limits and must report each as it should.
# Sourced by tests/run.sh after tests/lib.sh.

t_harness_limits_and_skips() {
	[ -z "${PW_SAN_INNER:-}" ] || skip "the harness is the same in the sanitizer pass (run in the first pass)"
	local HC_DIR=$T/hc out=$T/inner p
	mkdir -p "$HC_DIR"
	HC_DIR=$HC_DIR PW_TEST_EXTRA=tests/harness_cases.sh PW_NO_UNIT=1 PW_SAN_INNER=1 \
		PW_TEST_TIMEOUT=3 PW_TEST_CLEANUP_GRACE=2 T= \
		tests/run.sh '^t_hcase_' > "$out" 2>&1
	check_eq "inner run exit code (it has failures)" 1 $?
	sed 's/^/      inner: /' "$out" | grep -E 'inner: (PASS|FAIL|SKIP|tests:)'
	check_eq "the hang: one FAIL naming it and the limit" 1 \
		"$(grep -c '^FAIL hcase_hang ([0-9]* s): timed out after 3 s, its processes killed$' "$out")"
	check_eq "the hang: its cleanup ran" yes "$([ -f "$HC_DIR/hang.cleaned" ] && echo yes || echo no)"
	for p in $(cat "$HC_DIR/hang.bgpid" 2>/dev/null); do
		check_eq "the hang: its background process $p (same session or setsid) is gone" gone \
			"$(kill -0 "$p" 2>/dev/null && echo alive || echo gone)"
	done
	check_eq "the hang: two background pids recorded" 2 "$(wc -l < "$HC_DIR/hang.bgpid" 2>/dev/null)"
	check_eq "the hanging cleanup: FAIL, cleanups overran and were run by the harness" 1 \
		"$(grep -c '^FAIL hcase_hang_cleanup ([0-9]* s): timed out after 3 s, its processes killed, its cleanups overran 2 s' "$out")"
	check_eq "the hanging cleanup: the cleanup after it ran" yes \
		"$([ -f "$HC_DIR/hang2.cleaned" ] && echo yes || echo no)"
	check_eq "skip after fail is a FAIL" 1 "$(grep -c '^FAIL hcase_skip_after_fail' "$out")"
	check_eq "exit 77 without a reason is a FAIL" 1 "$(grep -c '^FAIL hcase_exit77_no_reason' "$out")"
	check_eq "fail then return 0 is a FAIL" 1 "$(grep -c '^FAIL hcase_fail_then_pass' "$out")"
	check_eq "a FAIL line from a subshell is a FAIL" 1 "$(grep -c '^FAIL hcase_fail_in_subshell' "$out")"
	check_eq "a plain skip is a SKIP" 1 "$(grep -c '^SKIP hcase_plain_skip: a deliberate skip$' "$out")"
	check_eq "totals" "tests: 0 passed, 6 failed, 1 skipped" "$(grep '^tests: ' "$out")"
	check_eq "no cgroup of the inner run left" "" \
		"$(find "${PW_TEST_CG:-/nonexistent}" -mindepth 1 -maxdepth 1 -name 'pwtest.*' 2>/dev/null)"
}

# A run killed with SIGKILL (a cancelled CI job: no trap, no cleanup) in the
# middle of a test that holds a netns, a cgroup with a process in it and a
# throwaway user (tests/harness_cases.sh, t_hsweep_hold): the next run
# starts by sweeping them (tests/run.sh, sweep_leftovers), says how many,
# and nothing of them is left.
t_harness_sweeps_killed_run() {
	[ -z "${PW_SAN_INNER:-}" ] || skip "the harness is the same in the sanitizer pass (run in the first pass)"
	own_cgroup
	local HC_DIR=$T/hs a ns cg user="" p
	mkdir -p "$HC_DIR"
	HC_DIR=$HC_DIR PW_TEST_EXTRA=tests/harness_cases.sh PW_NO_UNIT=1 PW_SAN_INNER=1 T= \
		setsid tests/run.sh '^t_hsweep_hold$' > "$T/inner1" 2>&1 &
	a=$!
	# (should the check fail: what the sweep did not take)
	defer "find '$OWN_CG/pwtest.$a' -depth -type d -exec rmdir {} + 2>/dev/null"
	for _ in $(seq 300); do
		[ -f "$HC_DIR/ready" ] && break
		kill -0 "$a" 2>/dev/null || break
		sleep 0.1
	done
	[ -f "$HC_DIR/ready" ] || { fail "setup: the inner run's test did not get ready"; cat "$T/inner1"; exit 1; }
	ns=$(cat "$HC_DIR/ns") cg=$(cat "$HC_DIR/cg")
	[ -f "$HC_DIR/user" ] && user=$(cat "$HC_DIR/user")
	defer "ip netns del $ns 2>/dev/null"
	[ -n "$user" ] && defer "userdel -f $user 2>/dev/null"
	# the kill: the run's session, and every process in its cgroups (the
	# test's own session and a process moved into a cgroup included)
	kill -KILL -- "-$a"
	for _ in $(seq 50); do
		p=$(find "$OWN_CG/pwtest.$a" -name cgroup.procs -exec cat {} + 2>/dev/null)
		[ -z "$p" ] && break
		# shellcheck disable=SC2086
		kill -KILL $p 2>/dev/null
		sleep 0.1
	done
	wait "$a" 2>/dev/null
	check_eq "left by the killed run: its netns" 1 "$(ip netns list | awk '{print $1}' | grep -cxF "$ns")"
	check_eq "left by the killed run: its test's cgroup" yes "$([ -d "$cg" ] && echo yes || echo no)"
	[ -n "$user" ] && check_eq "left by the killed run: its user" 1 "$(grep -c "^$user:" /etc/passwd)"
	HC_DIR=$HC_DIR PW_TEST_EXTRA=tests/harness_cases.sh PW_NO_UNIT=1 PW_SAN_INNER=1 T= \
		tests/run.sh '^t_hcase_plain_skip$' > "$T/inner2" 2>&1
	sed 's/^/      inner: /' "$T/inner2" | grep -E 'inner: (PASS|FAIL|SKIP|tests:| *swept)'
	check_eq "the next run says it swept (netns, cgroup, user$([ -z "$user" ] && echo ': none here'))" 1 \
		"$(grep -cE "^   swept [0-9]+ leftover\(s\) of an earlier killed run" "$T/inner2")"
	check_eq "swept: the netns" 0 "$(ip netns list | awk '{print $1}' | grep -cxF "$ns")"
	check_eq "swept: the run's cgroups" no "$([ -d "$OWN_CG/pwtest.$a" ] && echo yes || echo no)"
	[ -n "$user" ] && check_eq "swept: the user" 0 "$(grep -c "^$user:" /etc/passwd)"
	check_eq "the next run itself" "tests: 0 passed, 0 failed, 1 skipped" "$(grep '^tests: ' "$T/inner2")"
}

# Every test's own ports come from tests/lib.sh's free_port (free now, below
# the ephemeral range, none twice), and no suite file redefines it (bash
# takes the last definition sourced: tests/web.sh's once gave every test the
# kernel's pick, in the ephemeral range, ignoring the ports to avoid); the
# web tests listen on those ports.
t_harness_own_ports() {
	local where p lo hi
	where=$(shopt -s extdebug; declare -F free_port)
	check_eq "free_port is tests/lib.sh's" tests/lib.sh "${where##* }"
	read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
	for p in "$METRICS_PORT" "$PROM_PORT" "$WEB_PROM_PORT"; do
		check_eq "port $p: 20000..31999, below the ephemeral range $lo..$hi" 1 \
			"$([ "$p" -ge 20000 ] && [ "$p" -le 31999 ] && [ "$p" -lt "$lo" ] && echo 1)"
	done
	check_eq "the three ports distinct" 3 "$(printf '%s\n' "$METRICS_PORT" "$PROM_PORT" "$WEB_PROM_PORT" | sort -u | wc -l)"
	local m=$METRICS_PORT w=$WEB_PROM_PORT
	web_port
	check_eq "the web tests' ports are the harness's" "$m $w" "$METRICS_PORT $WEB_PROM_PORT"
}
