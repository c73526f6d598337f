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
