#!/usr/bin/env bash
# Runs every test suite: the unit tests (cmocka, TAP output), then the
# integration tests of tests/integration.sh on the host kernel, a short run
# of each libFuzzer target (tests/fuzz/run.sh), the sanitizer pass (the unit
# and integration tests again with the ASan+UBSan build of `make asan`) and
# the kernel matrix. Ends with one line "tests: N passed, N failed, N
# skipped"; exit 1 if anything failed.
#   tests/run.sh [NAME_REGEX]   only the integration tests and fuzz targets
#                               whose name matches; no kernel matrix and no
#                               sanitizer pass (SAN_PASS=1 adds it)
# SAN_PASS=0|1 (default: 1 without NAME_REGEX), FUZZ_SECONDS (default 15).
set -u
cd "$(dirname "$0")/.."
export OUTPUT=${OUTPUT:-.output}
filter=${1:-}
passed=0 failed=0 skipped=0
failed_names=()
# Set in the sanitizer pass, which runs this script again: no fuzzing, no
# kernel matrix, no nested pass there.
inner=${PW_SAN_INNER:-}
ASAN_OUT=.output/asan

echo "== unit tests"
for t in "$OUTPUT"/tests/test_*; do
	[ -x "$t" ] || continue
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
	rc=$?
	sed 's/^/  /' <<<"$out"
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
source tests/abuse.sh
source tests/metrics.sh
source tests/web.sh
source tests/census.sh
source tests/storm.sh
source tests/robust.sh
source tests/package.sh
source tests/image.sh
source tests/workload.sh
source tests/tenant.sh
source tests/docs.sh
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
	(
		# a stop signal ends the test through its cleanups (bash runs
		# no EXIT trap when a signal it does not trap kills it)
		trap 'exit 129' HUP
		trap 'exit 130' INT
		trap 'exit 143' TERM
		trap _run_cleanups EXIT
		"$name"
		exit $_failed
	) > "$T/log" 2>&1
	rc=$?
	case $rc in
	0)
		echo "PASS ${name#t_} ($((SECONDS - start)) s)"
		grep '    info:' "$T/log"
		passed=$((passed + 1)) ;;
	77)
		echo "SKIP ${name#t_}: $(cat "$T/skip_reason" 2>/dev/null)"
		skipped=$((skipped + 1)) ;;
	*)
		echo "FAIL ${name#t_} ($((SECONDS - start)) s)"
		cat "$T/log"
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

# Sanitizer pass: the unit and integration tests again with portwatch, the
# unit tests and the tools of `make asan`; any ASan/UBSan/LeakSanitizer
# report (written to files, not to the tests' stderr) is a failure.
if [ -z "$inner" ] && [ "${SAN_PASS:-$([ -z "$filter" ] && echo 1 || echo 0)}" = 1 ]; then
	echo "== sanitizer pass (ASan+UBSan build in $ASAN_OUT)"
	if [ ! -x "$ASAN_OUT/portwatch" ]; then
		echo "SKIP sanitizer_pass: $ASAN_OUT/portwatch not built (make asan)"
		skipped=$((skipped + 1))
	else
		san_dir=$(mktemp -d /tmp/portwatch-san.XXXXXX)
		chmod 1777 "$san_dir"	# also for the test that runs portwatch as nobody
		san_log=$san_dir/run.log
		PW_SAN_INNER=1 PW="$ASAN_OUT/portwatch" OUTPUT=$ASAN_OUT \
			ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$san_dir/asan" \
			UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$san_dir/ubsan" \
			tests/run.sh "$filter" 2>&1 | sed -e 's/^\(PASS\|FAIL\|SKIP\) /\1 asan:/' | tee "$san_log"
		san_rc=${PIPESTATUS[0]}
		tail=$(grep '^tests: ' "$san_log" | tail -1)
		read -r p f s <<<"$(sed -E 's/tests: ([0-9]+) passed, ([0-9]+) failed, ([0-9]+) skipped/\1 \2 \3/' <<<"$tail")"
		[ "$san_rc" -ne 0 ] && [ "${f:-0}" -eq 0 ] && f=1
		passed=$((passed + ${p:-0}))
		skipped=$((skipped + ${s:-0}))
		failed=$((failed + ${f:-1}))
		[ "${f:-1}" -gt 0 ] && failed_names+=("sanitizer-pass(${f:-1})")
		reports=$(ls "$san_dir" | grep -E '^(asan|ubsan)\.' || true)
		if [ -n "$reports" ]; then
			echo "FAIL sanitizer_reports: $(wc -l <<<"$reports") report file(s)"
			for r in $reports; do
				echo "    $san_dir/$r:"
				sed 's/^/      /' "$san_dir/$r" | head -40
			done
			failed=$((failed + 1))
			failed_names+=("sanitizer-reports")
		else
			echo "PASS sanitizer_reports: no ASan/UBSan/LeakSanitizer report"
			passed=$((passed + 1))
			rm -rf "$san_dir"
		fi
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
