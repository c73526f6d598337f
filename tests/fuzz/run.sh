#!/usr/bin/env bash
# Short libFuzzer runs of every target built in $OUTPUT/fuzz (make fuzz-bins):
# FUZZ_SECONDS each (default 15), starting from the committed seeds in
# tests/fuzz/corpus/NAME; what they find stays in $OUTPUT/fuzz/corpus/NAME,
# the committed seeds are never rewritten. One PASS/FAIL/SKIP line per
# target (named fuzz_NAME), as tests/run.sh counts them; a crash, leak or
# failed check is a FAIL with the reproducer's path and the command that
# replays it. Exit 1 if any failed.
#   tests/fuzz/run.sh [NAME_REGEX]
set -u
cd "$(dirname "$0")/../.."
OUTPUT=${OUTPUT:-.output}
secs=${FUZZ_SECONDS:-15}
filter=${1:-}
rc=0
for src in tests/fuzz/fuzz_*.c; do
	name=$(basename "$src" .c)
	[ -n "$filter" ] && ! grep -qE -- "$filter" <<<"$name" && continue
	bin=$OUTPUT/fuzz/$name
	if [ ! -x "$bin" ] || [ "$bin" -ot "$src" ]; then
		echo "SKIP $name: $bin not built or older than $src (make fuzz-bins)"
		continue
	fi
	seeds=tests/fuzz/corpus/${name#fuzz_}
	work=$OUTPUT/fuzz/corpus/${name#fuzz_}
	art=$OUTPUT/fuzz/artifacts/$name-
	mkdir -p "$work" "$(dirname "$art")"
	log=$OUTPUT/fuzz/$name.log
	start=$SECONDS
	# -rss_limit_mb: a parser must not need more than 1 GB on any input
	# a time limit of the run's own (libFuzzer's -timeout is per input):
	# FUZZ_SECONDS + 60 s, then it is killed and FAILs
	ASAN_OPTIONS=detect_leaks=1:halt_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		timeout -k 10 $((secs + 60)) "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=1024 -max_len=8192 \
		-artifact_prefix="$art" -print_final_stats=1 "$work" "$seeds" > "$log" 2>&1
	r=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	if [ "$r" -eq 124 ] || [ "$r" -eq 137 ]; then
		rc=1
		echo "FAIL $name: did not end within $((secs + 60)) s (killed); log $log"
	elif [ "$r" -eq 0 ]; then
		echo "PASS $name ($((SECONDS - start)) s, ${runs:-?} runs, seeds $(ls "$seeds" | wc -l))"
	else
		rc=1
		repro=$(sed -n "s/.*Test unit written to //p" "$log" | tail -1)
		echo "FAIL $name (exit $r): reproducer ${repro:-none written}; replay: $bin ${repro:-}; log $log"
		grep -m1 -B2 -A20 -E 'ERROR|runtime error|fuzz check failed' "$log" | sed 's/^/      /'
	fi
done
exit $rc
