#!/usr/bin/env bash
# Runs every test suite: the unit tests (cmocka, TAP output), then the
# integration tests of tests/integration.sh on the host kernel, a short run
# of each libFuzzer target (tests/fuzz/run.sh), the sanitizer passes (the
# unit and integration tests again with the ASan+UBSan build of `make asan`,
# then with the ThreadSanitizer build of `make tsan`) and the kernel matrix.
# Ends with one line "tests: N passed, N failed, N skipped"; exit 1 if
# anything failed.
#   tests/run.sh [NAME_REGEX]   only the integration tests and fuzz targets
#                               whose name matches; no kernel matrix and no
#                               sanitizer passes (SAN_PASS=1 adds them)
# SAN_PASS=0|1 (default: 1 without NAME_REGEX), TSAN_PASS=0|1 (default:
# SAN_PASS's), FUZZ_SECONDS (default 15).
set -u
cd "$(dirname "$0")/.."
export OUTPUT=${OUTPUT:-.output}
filter=${1:-}
passed=0 failed=0 skipped=0
failed_names=()
# Set in a sanitizer pass (asan, tsan), which runs this script again: no
# fuzzing, no kernel matrix, no nested pass there. PW_UNIT_DIR: where the
# unit tests are built, if not in OUTPUT (the TSan pass).
inner=${PW_SAN_INNER:-}
ASAN_OUT=.output/asan

# Time limits: each unit binary PW_UNIT_TIMEOUT s (default 300), each
# integration test PW_TEST_TIMEOUT s (default 600) plus 30 s for its
# cleanups, each fuzz target FUZZ_SECONDS + 60 s (tests/fuzz/run.sh), each
# VM PW_VM_TIMEOUT s (tests/vm/run.sh). An overrun is one FAIL naming it.
UNIT_LIMIT=${PW_UNIT_TIMEOUT:-300}
TEST_LIMIT=${PW_TEST_TIMEOUT:-600}
CLEANUP_GRACE=${PW_TEST_CLEANUP_GRACE:-30}

echo "== unit tests"
[ -n "${PW_NO_UNIT:-}" ] && echo "   (not run: PW_NO_UNIT)"
for t in "${PW_UNIT_DIR:-$OUTPUT}"/tests/test_*; do
	[ -x "$t" ] && [ -z "${PW_NO_UNIT:-}" ] || continue
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 10 "$UNIT_LIMIT" "$t" 2>&1)
	rc=$?
	sed 's/^/  /' <<<"$out"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "FAIL $(basename "$t"): timed out after $UNIT_LIMIT s (killed)"
		failed=$((failed + 1))
		failed_names+=("$(basename "$t")(timeout)")
		continue
	fi
	p=$(grep -c '^ok ' <<<"$out")
	# cmocka's skip() (e.g. no BPF maps without root) is "not ok N # SKIP"
	s=$(grep -c '^not ok .*# SKIP' <<<"$out")
	f=$(( $(grep -c '^not ok ' <<<"$out") - s ))
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed or failed outside a test
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	[ "$f" -gt 0 ] && failed_names+=("$(basename "$t")")
done

echo "== integration tests (kernel $(uname -r))"
source tests/lib.sh
source tests/integration.sh
source tests/bind.sh
source tests/abuse.sh
source tests/metrics.sh
source tests/web.sh
source tests/census.sh
source tests/storm.sh
source tests/threads.sh
source tests/top.sh
source tests/robust.sh
source tests/package.sh
source tests/image.sh
source tests/workload.sh
source tests/tenant.sh
source tests/docs.sh
source tests/contract.sh
source tests/harness.sh
# PW_TEST_EXTRA=FILE: more tests (the harness's own cases, tests/harness_cases.sh)
[ -n "${PW_TEST_EXTRA:-}" ] && source "$PW_TEST_EXTRA"

# Each test runs in a cgroup of its own, $RUN_CG/NAME (the test's shell in
# its leaf "sh"; a test's own cgroups go beside it, under PW_TEST_CG), so
# that every process it started, in whatever session or namespace, can be
# found and killed. Without a writable cgroup v2 hierarchy the test's
# process tree (by parent pid) is killed instead.
CG2=$(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break; if ($(i + 1) == "cgroup2") { print $5; exit } }' /proc/self/mountinfo)
[ -n "$CG2" ] && [ -w "$CG2/cgroup.procs" ] || CG2=
# (a run inside a test, as the harness's own test does, nests in its cgroup)
RUN_CG=${CG2:+${PW_TEST_CG:-$CG2}/pwtest.$$}

# cg_kill_tree DIR [SPARE_PID [STOP_FILE]]: SIGKILL every process in cgroup
# DIR and its descendants (but SPARE_PID), until none is left (at most ~5 s)
# or STOP_FILE exists
cg_kill_tree() {
	local i p
	for i in $(seq 50); do
		[ -n "${3:-}" ] && [ -e "$3" ] && return 0
		p=$(find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -vx "${2:-0}")
		[ -z "$p" ] && return 0
		# shellcheck disable=SC2086
		kill -KILL $p 2>/dev/null
		sleep 0.1
	done
	return 1
}
# cg_rm_tree DIR: remove the cgroup and its descendants, deepest first
cg_rm_tree() { find "$1" -depth -type d -exec rmdir {} + 2>/dev/null; }
# tree_pids PID: PID's descendants (the fallback without cgroups)
tree_pids() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do
		echo "$c"
		tree_pids "$c"
	done
}

# run_cleanups_left T: the deferred cleanups a killed test did not run,
# last registered first, each with a time limit. Those that signal a pid
# (kill, pkill) are left out: every process of the test is dead by then,
# and its pids may belong to someone else already.
run_cleanups_left() {
	local -a all=() done=()
	local c d i skipit
	[ -f "$1/cleanups" ] || return 0
	mapfile -d '' all < "$1/cleanups"
	[ -f "$1/cleanups.done" ] && mapfile -d '' done < "$1/cleanups.done"
	for ((i = ${#all[@]} - 1; i >= 0; i--)); do
		c=${all[i]} skipit=
		for d in "${done[@]}"; do [ "$d" = "$c" ] && skipit=1 && break; done
		[ -n "$skipit" ] && continue
		case $c in kill\ *|pkill\ *) continue ;; esac
		echo "    cleanup after the kill: $c"
		( eval "$c" ) >/dev/null 2>&1 &
		local cp=$! n=0
		while kill -0 "$cp" 2>/dev/null && [ $n -lt $((CLEANUP_GRACE * 10)) ]; do sleep 0.1; n=$((n + 1)); done
		kill -KILL "$cp" 2>/dev/null
		wait "$cp" 2>/dev/null
	done
}

# sweep_leftovers: what an earlier run of the suite that was killed (SIGKILL:
# no cleanup ran) left behind, found by the suite's own name prefixes and
# the pid of the run that made it, removed only when that run is gone:
# cgroups pwtest.PID (and pwabuse-PID-*) in cgroup v2 and, on a hybrid
# host, in each v1 controller's hierarchy (an image test's container:
# runc makes its cgroupsPath in every one), the kubelet-shaped pod cgroups
# of tests/workload.sh (pod uid 6f1e2c3a-1b2c-4d5e-8f90-HEX, HEX the run's
# pid * 32768 + a random number; the levels above, kubepods*, are left:
# they may be a real node's), network namespaces pwt-PID-*, pwc-PID-*,
# pwa-c-PID-*, pwa-f-PID-* and throwaway users pwabPID.
run_alive() { [ -d "/proc/$1" ] && grep -q 'run.sh' "/proc/$1/cmdline" 2>/dev/null; }
sweep_leftovers() {
	local d pid ns u m hex n=0
	# (and where this run makes its own: a run inside a test's cgroup)
	for m in $(awk '{ for (i = 7; i < NF; i++) if ($i == "-") break
		if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5 }' /proc/self/mountinfo) \
		${PW_TEST_CG:+"$PW_TEST_CG"}; do
		[ -w "$m" ] || continue
		for d in "$m"/pwtest.* "$m"/pwabuse-*; do
			[ -d "$d" ] || continue
			pid=${d##*/}; pid=${pid#pwtest.}; pid=${pid#pwabuse-}; pid=${pid%%-*}
			run_alive "$pid" && continue
			cg_kill_tree "$d"
			cg_rm_tree "$d"
			n=$((n + 1))
		done
	done
	if [ -n "$CG2" ]; then
		while IFS= read -r d; do
			hex=${d##*[-_]}; hex=${hex%.slice}
			[[ $hex =~ ^[0-9a-f]{12}$ ]] || continue
			run_alive $((16#$hex / 32768)) && continue
			cg_kill_tree "$d"
			cg_rm_tree "$d"
			n=$((n + 1))
		done < <(find "$CG2" -maxdepth 4 -type d \( -name 'pod6f1e2c3a-1b2c-4d5e-8f90-*' \
			-o -name 'kubepods-*pod6f1e2c3a_1b2c_4d5e_8f90_*.slice' \) -prune 2>/dev/null)
	fi
	for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^(pwt|pwc|pwa-c|pwa-f)-[0-9]+-'); do
		pid=$(sed -E 's/^(pwt|pwc|pwa-c|pwa-f)-([0-9]+)-.*/\2/' <<<"$ns")
		run_alive "$pid" && continue
		ip netns del "$ns" 2>/dev/null && n=$((n + 1))
	done
	for u in $(awk -F: '$1 ~ /^pwab[0-9]+$/ {print $1}' /etc/passwd); do
		run_alive "${u#pwab}" && continue
		pkill -KILL -U "$u" 2>/dev/null
		userdel -f "$u" 2>/dev/null && n=$((n + 1))
	done
	[ "$n" -gt 0 ] && echo "   swept $n leftover(s) of an earlier killed run (cgroups, netns, users)"
}

if [ "$(id -u)" -eq 0 ]; then
	sweep_leftovers
	if [ -n "$RUN_CG" ]; then
		mkdir -p "$RUN_CG" || RUN_CG=
	fi
fi
# the run's own cgroup goes when the run ends (killed tests included)
trap '[ -n "$RUN_CG" ] && { cg_kill_tree "$RUN_CG"; cg_rm_tree "$RUN_CG"; }' EXIT

for name in $(declare -F | awk '{print $3}' | grep '^t_'); do
	[ -n "$filter" ] && ! grep -qE -- "$filter" <<<"$name" && continue
	T=$(mktemp -d /tmp/portwatch-test.XXXXXX)
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP ${name#t_}: needs root (run: sudo make test)"
		skipped=$((skipped + 1))
		rm -rf "$T"
		continue
	fi
	start=$SECONDS
	TCG=
	if [ -n "$RUN_CG" ]; then
		TCG=$RUN_CG/${name#t_}
		mkdir -p "$TCG/sh" || TCG=
	fi
	(
		# into the test's cgroup first: every process it starts is found
		[ -n "$TCG" ] && echo "$BASHPID" > "$TCG/sh/cgroup.procs"
		export PW_TEST_CG=$TCG PW_TEST_CG_REL=${TCG#"$CG2"}
		# ports of its own, free now (no fixed ports: another run on
		# this host may be using any)
		METRICS_PORT=$(free_port)
		PROM_PORT=$(free_port "$METRICS_PORT")
		WEB_PROM_PORT=$(free_port "$METRICS_PORT" "$PROM_PORT")
		export METRICS_PORT PROM_PORT WEB_PROM_PORT
		# a stop signal ends the test through its cleanups (bash runs
		# no EXIT trap when a signal it does not trap kills it)
		trap 'exit 129' HUP
		trap 'exit 130' INT
		trap 'exit 143' TERM
		trap _run_cleanups EXIT
		"$name"
		exit $_failed
	) > "$T/log" 2>&1 &
	tpid=$!
	# the watchdog: past the limit, the test's shell gets SIGTERM (its
	# trap runs the cleanups) and every other process of the test SIGKILL
	# (a shell waits for its foreground command before it runs a trap);
	# if the cleanups do not end within CLEANUP_GRACE s, all is killed
	# and the cleanups not run yet are run here
	(
		n=0
		while [ $n -lt "$TEST_LIMIT" ]; do
			sleep 1
			kill -0 "$tpid" 2>/dev/null || exit 0
			n=$((n + 1))
		done
		echo "$TEST_LIMIT" > "$T/timed_out"
		kill -TERM "$tpid" 2>/dev/null
		if [ -n "$TCG" ]; then
			# until its cleanups start (they may start processes)
			cg_kill_tree "$TCG" "$tpid" "$T/cleaning"
		else
			# shellcheck disable=SC2046
			kill -KILL $(tree_pids "$tpid") 2>/dev/null
		fi
		n=0
		while kill -0 "$tpid" 2>/dev/null && [ $n -lt $((CLEANUP_GRACE * 10)) ]; do
			sleep 0.1
			n=$((n + 1))
		done
		if kill -0 "$tpid" 2>/dev/null; then
			echo "cleanups" > "$T/cleanup_overran"
			if [ -n "$TCG" ]; then
				cg_kill_tree "$TCG"
			else
				# shellcheck disable=SC2046
				kill -KILL "$tpid" $(tree_pids "$tpid") 2>/dev/null
			fi
		fi
	) &
	wdpid=$!
	wait "$tpid"
	rc=$?
	kill "$wdpid" 2>/dev/null
	wait "$wdpid" 2>/dev/null
	if [ -f "$T/timed_out" ]; then
		[ -f "$T/cleanup_overran" ] && run_cleanups_left "$T" >> "$T/log" 2>&1
		rc=124
	fi
	# whatever the test left running in its cgroup is killed now
	if [ -n "$TCG" ]; then
		left=$(find "$TCG" -name cgroup.procs -exec cat {} + 2>/dev/null | wc -l)
		[ "$left" -gt 0 ] && cg_kill_tree "$TCG"
		cg_rm_tree "$TCG"
	fi
	# a FAIL line is a failure whatever the exit code (a fail in a
	# subshell of the test does not reach its _failed)
	[ "$rc" = 0 ] && grep -q '^    FAIL: ' "$T/log" && rc=1
	case $rc in
	0)
		echo "PASS ${name#t_} ($((SECONDS - start)) s)"
		grep '    info:' "$T/log"
		passed=$((passed + 1)) ;;
	77)
		if [ -s "$T/skip_reason" ] && ! grep -q '^    FAIL: ' "$T/log"; then
			echo "SKIP ${name#t_}: $(cat "$T/skip_reason")"
			skipped=$((skipped + 1))
		else
			echo "FAIL ${name#t_} ($((SECONDS - start)) s): exit 77 after a failure, or without a skip reason"
			cat "$T/log"
			failed=$((failed + 1))
			failed_names+=("${name#t_}")
		fi ;;
	*)
		if [ "$rc" = 124 ]; then
			echo "FAIL ${name#t_} ($((SECONDS - start)) s): timed out after $TEST_LIMIT s, its processes killed$([ -f "$T/cleanup_overran" ] && echo ", its cleanups overran $CLEANUP_GRACE s: killed, the rest run here")"
		elif grep -q '^    FAIL: ' "$T/log"; then
			echo "FAIL ${name#t_} ($((SECONDS - start)) s)"
		else
			# no check failed: the test ended early (a signal, exit)
			echo "FAIL ${name#t_} ($((SECONDS - start)) s): exited $rc with no FAIL line$([ "$rc" -gt 128 ] && echo " (signal $((rc - 128)))")"
		fi
		cat "$T/log"
		# portwatch's own words, when the test kept them
		[ -s "$T/pw.err" ] && tail -n 20 "$T/pw.err" | sed 's/^/      pw.err: /'
		failed=$((failed + 1))
		failed_names+=("${name#t_}") ;;
	esac
	rm -rf "$T"
done

# count_lines LOG RC NAME: add a suite's PASS/FAIL/SKIP lines to the totals
# (a non-zero RC with no FAIL line counts as one failure).
count_lines() {
	local f
	passed=$((passed + $(grep -c '^PASS ' "$1")))
	skipped=$((skipped + $(grep -c '^SKIP ' "$1")))
	f=$(grep -c '^FAIL ' "$1")
	[ "$2" -ne 0 ] && [ "$f" -eq 0 ] && f=1
	failed=$((failed + f))
	[ "$f" -gt 0 ] && failed_names+=("$3($f)")
}

# libFuzzer targets: a short run each (make fuzz-bins builds them).
if [ -z "$inner" ]; then
	echo "== fuzz targets (tests/fuzz/run.sh, ${FUZZ_SECONDS:-15} s each)"
	fz_log=$(mktemp /tmp/portwatch-fuzz-log.XXXXXX)
	tests/fuzz/run.sh "$filter" | tee "$fz_log"
	count_lines "$fz_log" "${PIPESTATUS[0]}" fuzz
	rm -f "$fz_log"
fi

# san_pass NAME OUT TITLE [ENV=VALUE...]: the unit and integration tests
# again (this script, PW_SAN_INNER=NAME) with portwatch, the unit tests and
# the tools built in OUT, ENV naming where the sanitizer writes its reports
# ($san_dir, made here); its PASS/FAIL/SKIP lines count here, prefixed
# NAME:, and any report file in $san_dir is one more FAIL. SAN_WRAP (an
# array) runs the inner script under a command (setarch -R).
san_pass() {
	local name=$1 out=$2 title=$3 san_log san_rc tail p f s reports r start=$SECONDS
	shift 3
	echo "== $name pass ($title build in $out)"
	if [ ! -x "$out/portwatch" ]; then
		echo "SKIP ${name}_pass: $out/portwatch not built (make $name)"
		skipped=$((skipped + 1))
		rm -rf "$san_dir"
		return
	fi
	san_log=$san_dir/run.log
	env PW_SAN_INNER="$name" PW="$out/portwatch" OUTPUT="$out" "$@" "${SAN_WRAP[@]}" \
		tests/run.sh "$filter" 2>&1 | sed -e "s/^\(PASS\|FAIL\|SKIP\) /\1 $name:/" | tee "$san_log"
	san_rc=${PIPESTATUS[0]}
	tail=$(grep '^tests: ' "$san_log" | tail -1)
	read -r p f s <<<"$(sed -E 's/tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/' <<<"$tail")"
	[ "$san_rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
	passed=$((passed + ${p:-0}))
	skipped=$((skipped + ${s:-0}))
	failed=$((failed + ${f:-1}))
	[ "${f:-1}" -gt 0 ] && failed_names+=("$name-pass(${f:-1})")
	reports=$(ls "$san_dir" | grep -vx 'run.log' || true)
	if [ -n "$reports" ]; then
		echo "FAIL ${name}_reports: $(wc -l <<<"$reports") report file(s)"
		for r in $reports; do
			echo "    $san_dir/$r:"
			sed 's/^/      /' "$san_dir/$r" | head -"${SAN_REPORT_LINES:-40}"
		done
		failed=$((failed + 1))
		failed_names+=("$name-reports")
	else
		echo "PASS ${name}_reports: no $title report"
		passed=$((passed + 1))
		rm -rf "$san_dir"
	fi
	echo "   ($name pass: $((SECONDS - start)) s)"
}
# san_dir: a fresh folder for a pass's reports
new_san_dir() {
	san_dir=$(mktemp -d /tmp/portwatch-san.XXXXXX)
	chmod 1777 "$san_dir"	# also for the test that runs portwatch as nobody
}

# The ASan+UBSan pass: portwatch, the unit tests and the tools of `make
# asan`; halt_on_error, LeakSanitizer on.
SAN_WRAP=()
if [ -z "$inner" ] && [ "${SAN_PASS:-$([ -z "$filter" ] && echo 1 || echo 0)}" = 1 ]; then
	new_san_dir
	san_pass asan "$ASAN_OUT" "ASan+UBSan+LeakSanitizer" \
		ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$san_dir/asan" \
		UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$san_dir/ubsan"
fi

# The TSan pass: the same with `make tsan`'s portwatch and unit tests; the
# test tools (trigger, httpd, hostile, fetcher: the load and the truth) are
# the release build's (PW_UNIT_DIR: the unit tests' build, OUTPUT the
# tools'): TSan's runtime adds ~60 ms to the start of each process (50
# runs of the trigger: 3.8 s against 0.8 s), and tests start thousands
# (metrics_bounded_many_names: 3,000 within TIME_WAIT's 60 s); portwatch's
# threads are what is under test.
# Every race is reported (halt_on_error=0: one run shows them all) to a
# file, and any file is a FAIL. TSan's memory layout (LLVM 14) assumes at most 28 bits of mmap
# randomization: on a kernel that uses more (vm.mmap_rnd_bits), the pass
# runs with randomization off (setarch -R, inherited by every process of
# the tests) and says so; a TSan that still cannot map its shadow is a FAIL.
TSAN_OUT=.output/tsan
if [ -z "$inner" ] && [ "${TSAN_PASS:-${SAN_PASS:-$([ -z "$filter" ] && echo 1 || echo 0)}}" = 1 ]; then
	new_san_dir
	SAN_WRAP=()
	rnd=$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo unknown)
	if [ "$rnd" != 28 ] && [ "$rnd" != unknown ] && [ "$rnd" -gt 28 ]; then
		echo "   vm.mmap_rnd_bits is $rnd (> 28): the TSan pass runs under setarch -R"
		SAN_WRAP=(setarch "$(uname -m)" -R)
	fi
	probe=$(ls "$TSAN_OUT"/tests/test_* 2>/dev/null | head -1)
	if [ -n "$probe" ] && ! out=$("${SAN_WRAP[@]}" "$probe" 2>&1) &&
		grep -q 'ThreadSanitizer: unexpected memory mapping' <<<"$out"; then
		echo "FAIL tsan_runtime: $(grep -m1 ThreadSanitizer <<<"$out") (vm.mmap_rnd_bits $rnd${SAN_WRAP:+, under setarch -R})"
		failed=$((failed + 1))
		failed_names+=("tsan-runtime")
	else
		san_pass tsan "$TSAN_OUT" "ThreadSanitizer" OUTPUT="$OUTPUT" PW_UNIT_DIR="$TSAN_OUT" \
			TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:log_path=$san_dir/tsan"
	fi
fi

# The kernel matrix (Debian's kernels in QEMU); its PASS/FAIL/SKIP lines
# count here. Not with a NAME_REGEX; `make vmtest` runs it alone.
if [ -z "$filter" ] && [ -z "$inner" ]; then
	echo "== kernel matrix (tests/vm/run.sh)"
	vm_log=$(mktemp /tmp/portwatch-vm-log.XXXXXX)
	tests/vm/run.sh | tee "$vm_log"
	count_lines "$vm_log" "${PIPESTATUS[0]}" kernel-matrix
	rm -f "$vm_log"
fi

[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
