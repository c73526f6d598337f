# Deliberately broken tests for the harness's own test (tests/harness.sh,
# t_harness_limits_and_skips): tests/run.sh sources this file only when
# PW_TEST_EXTRA names it. Each leaves a mark in $HC_DIR that the outer test
# checks: which cleanups ran, which pids were started.

# a test that never ends; its background process must die too, its cleanup run
t_hcase_hang() {
	defer "touch $HC_DIR/hang.cleaned"
	sleep 1000 &
	echo $! > "$HC_DIR/hang.bgpid"
	setsid sleep 1000 &	# another session: only its cgroup finds it
	echo $! >> "$HC_DIR/hang.bgpid"
	sleep 1000
}

# a test whose cleanup hangs too: killed after the grace, the cleanup
# registered first (runs last) is then run by the harness
t_hcase_hang_cleanup() {
	defer "touch $HC_DIR/hang2.cleaned"
	defer "sleep 1000"
	sleep 1000
}

t_hcase_skip_after_fail() {
	fail "a deliberate failure"
	skip "a reason that must not hide it"
}

t_hcase_exit77_no_reason() {
	exit 77
}

t_hcase_fail_then_pass() {
	fail "a deliberate failure"
	return 0
}

t_hcase_plain_skip() {
	skip "a deliberate skip"
}

# a failure inside a command substitution: its _failed is lost, its line is not
t_hcase_fail_in_subshell() {
	local x
	x=$(fail "a deliberate failure in a subshell")
	echo "$x"
	return 0
}

# A test of a run that is killed (SIGKILL, no cleanup runs) while it holds a
# netns, a cgroup with a process in it and a throwaway user, all named as
# the suite names them (tests/harness.sh, t_harness_sweeps_killed_run):
# the next run must sweep them. Not a t_hcase_ (that test's run takes those).
t_hsweep_hold() {
	own_cgroup
	mk_netns 40000 40009
	mkdir "$OWN_CG/held" || exit 1
	sh -c 'echo $$ > "$1/cgroup.procs" && exec sleep 1000' sh "$OWN_CG/held" &
	echo "$NS" > "$HC_DIR/ns"
	echo "$OWN_CG/held" > "$HC_DIR/cg"
	if command -v useradd >/dev/null &&
	   useradd --system --no-create-home --shell /usr/sbin/nologin "pwab$$"; then
		echo "pwab$$" > "$HC_DIR/user"
	fi
	touch "$HC_DIR/ready"
	sleep 1000
}
