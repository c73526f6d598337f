#!/usr/bin/env bash
# Runs every test suite: the unit tests (cmocka, TAP output), then the
# integration tests of tests/integration.sh on the host kernel. Ends with one
# line "tests: N passed, N failed, N skipped"; exit 1 if anything failed.
#   tests/run.sh [NAME_REGEX]   only the integration tests whose name matches
set -u
cd "$(dirname "$0")/.."
export OUTPUT=${OUTPUT:-.output}
filter=${1:-}
passed=0 failed=0 skipped=0
failed_names=()

echo "== unit tests"
for t in "$OUTPUT"/tests/test_*; do
	[ -x "$t" ] || continue
	out=$(CMOCKA_MESSAGE_OUTPUT=TAP "$t" 2>&1)
	rc=$?
	sed 's/^/  /' <<<"$out"
	p=$(grep -c '^ok ' <<<"$out")
	f=$(grep -c '^not ok ' <<<"$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# crashed or failed outside a test
	fi
	passed=$((passed + p))
	failed=$((failed + f))
	[ "$f" -gt 0 ] && failed_names+=("$(basename "$t")")
done

echo "== integration tests (kernel $(uname -r))"
source tests/lib.sh
source tests/integration.sh
source tests/metrics.sh
source tests/web.sh
source tests/census.sh
source tests/storm.sh
source tests/package.sh
source tests/image.sh
source tests/workload.sh
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

# The kernel matrix (Debian's kernels in QEMU); its PASS/FAIL/SKIP lines
# count here. Not with a NAME_REGEX; `make vmtest` runs it alone.
if [ -z "$filter" ]; then
	echo "== kernel matrix (tests/vm/run.sh)"
	vm_log=$(mktemp /tmp/portwatch-vm-log.XXXXXX)
	tests/vm/run.sh | tee "$vm_log"
	vm_rc=${PIPESTATUS[0]}
	passed=$((passed + $(grep -c '^PASS ' "$vm_log")))
	skipped=$((skipped + $(grep -c '^SKIP ' "$vm_log")))
	vm_failed=$(grep -c '^FAIL ' "$vm_log")
	[ "$vm_rc" -ne 0 ] && [ "$vm_failed" -eq 0 ] && vm_failed=1
	failed=$((failed + vm_failed))
	[ "$vm_failed" -gt 0 ] && failed_names+=("kernel-matrix($vm_failed)")
	rm -f "$vm_log"
fi

[ ${#failed_names[@]} -gt 0 ] && echo "failed: ${failed_names[*]}"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
