#!/usr/bin/env bash
# Kernel matrix: boots Debian's kernels (tests/vm/kernels) in QEMU (TCG, no
# network) with a busybox initramfs holding a static portwatch and trigger,
# runs tests/vm/scenarios.sh in the kprobe, fentry, tracepoint and auto modes
# and checks the results here (tests/vm/check.sh). The same scenarios also
# run on the host in tracepoint mode, the reference.
# Prints one PASS/FAIL/SKIP line per kernel x mode x scenario and ends with
# "vmtest: N passed, N failed, N skipped" and the "Kernels verified" table.
#   tests/vm/run.sh           (root; make vmtest)
# Environment: PW_VM_KERNELS (kernel list file), PW_VM_TIMEOUT (s per boot).
set -u
cd "$(dirname "$0")/../.."
CACHE=tests/.cache
LIST=${PW_VM_KERNELS:-tests/vm/kernels}
BOOT_TIMEOUT=${PW_VM_TIMEOUT:-300}
VM_MODES="kprobe fentry tracepoint auto"
SCENARIOS="core filters pid text parallel"
OUT=${OUTPUT:-.output}
STATIC=$OUT/static
passed=0 failed=0 skipped=0
table=()
start_all=$SECONDS

result() {	# result PASS|FAIL|SKIP NAME [REASON]
	echo "$1 $2${3:+: $3}"
	case $1 in
	PASS) passed=$((passed + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	esac
}

finish() {
	echo
	echo "Kernels verified ($(date -u +%Y-%m-%d), matrix $((SECONDS - start_all)) s):"
	echo
	echo "| kernel | modes | result |"
	echo "| --- | --- | --- |"
	printf '%s\n' "${table[@]}"
	echo
	echo "vmtest: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

W=$(mktemp -d /tmp/portwatch-vm.XXXXXX)
# PW_VM_KEEP=1 keeps the work folder (results, consoles) for a look
[ -n "${PW_VM_KEEP:-}" ] && echo "work folder: $W" || trap 'rm -rf "$W"' EXIT

for tool in qemu-system-x86_64 busybox cpio gzip jq apt-get apt-cache dpkg-deb; do
	if ! command -v $tool >/dev/null; then
		result FAIL "vm setup" "$tool not installed (make deps installs it)"
		finish
	fi
done
BUSYBOX=$(command -v busybox)
if ldd "$BUSYBOX" > /dev/null 2>&1; then
	result FAIL "vm setup" "$BUSYBOX is linked dynamically: the initramfs needs busybox-static"
	finish
fi
if [ "$(id -u)" -ne 0 ]; then
	result SKIP "vm matrix" "needs root (run: sudo make vmtest)"
	finish
fi

# --- static build for the initramfs (its own output folder) ---
if ! make -s STATIC=1 OUTPUT=$STATIC BIN=$STATIC/portwatch \
	$STATIC/portwatch $STATIC/tests/trigger > "$W/build.log" 2>&1; then
	cat "$W/build.log"
	result FAIL "vm setup" "static build failed"
	finish
fi

# --- the initramfs: busybox, portwatch, trigger, init, scenarios ---
R=$W/root
mkdir -p "$R"/{bin,dev,proc,sys,tmp}
cp "$BUSYBOX" "$R/bin/busybox"
cp $STATIC/portwatch $STATIC/tests/trigger "$R/bin/"
cp tests/vm/init "$R/init"
cp tests/vm/scenarios.sh "$R/scenarios.sh"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$W/initrd.gz" || {
	result FAIL "vm setup" "cannot build the initramfs"
	finish
}

# --- kernels: newest package per line, cached .deb, extracted vmlinuz ---
apt_updated=
# newest PACKAGE VERSION matching a regex that the archive offers
newest_pkg() {
	local p v best= bestv=
	for p in $(apt-cache search --names-only "$1" 2>/dev/null | awk '{print $1}'); do
		v=$(apt-cache policy "$p" | awk '/Candidate:/ {print $2}')
		[ -n "$v" ] && [ "$v" != "(none)" ] || continue
		if [ -z "$bestv" ] || dpkg --compare-versions "$v" gt "$bestv"; then
			best=$p bestv=$v
		fi
	done
	[ -n "$best" ] && echo "$best $bestv"
}

# fetch_kernel REGEX: sets KPKG, KVER, VMLINUZ; or SKIP_WHY / FAIL_WHY
fetch_kernel() {
	local found deb log
	SKIP_WHY= FAIL_WHY=
	found=$(newest_pkg "$1")
	if [ -z "$found" ] && [ -z "$apt_updated" ]; then
		apt_updated=1
		apt-get update -qq > "$W/apt-update.log" 2>&1
		found=$(newest_pkg "$1")
	fi
	if [ -z "$found" ]; then
		if grep -qiE 'could not resolve|failed to fetch|temporary failure|unable to connect|connection' \
			"$W/apt-update.log" 2>/dev/null; then
			SKIP_WHY="package archive unreachable: $(grep -iE 'fail|err' "$W/apt-update.log" | head -n 1)"
		else
			FAIL_WHY="no package matching $1 in the archive"
		fi
		return 1
	fi
	read -r KPKG KVER <<<"$found"
	mkdir -p "$CACHE"
	deb=$(ls "$CACHE/${KPKG}_${KVER//:/%3a}_"*.deb 2>/dev/null | head -n 1)
	if [ -z "$deb" ]; then
		log=$W/download.log
		if ! (cd "$CACHE" && apt-get download -q "$KPKG=$KVER") > "$log" 2>&1; then
			if grep -qiE 'could not resolve|failed to fetch|temporary failure|unable to connect|connection' "$log"; then
				SKIP_WHY="package archive unreachable: $(grep -iE 'fail|err' "$log" | head -n 1)"
			else
				FAIL_WHY="apt-get download $KPKG=$KVER: $(tail -n 1 "$log")"
			fi
			return 1
		fi
		deb=$(ls "$CACHE/${KPKG}_"*.deb | head -n 1)
	fi
	VMLINUZ=$CACHE/$(basename "$deb" .deb).vmlinuz
	if [ ! -s "$VMLINUZ" ]; then
		mkdir -p "$W/x"
		dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$W/x" --wildcards './boot/vmlinuz-*' &&
			mv "$W"/x/boot/vmlinuz-* "$VMLINUZ"
		rm -rf "$W/x"
		if [ ! -s "$VMLINUZ" ]; then
			FAIL_WHY="no vmlinuz in $deb"
			return 1
		fi
	fi
}

# split RESULTS DIR: @@case MODE SCEN / @@file NAME / lines / @@end
split_results() {
	awk -v dir="$2" '
		/^@@case / { c = dir "/" $2 "/" $3; system("mkdir -p " c); f = ""; next }
		/^@@file / { f = c "/" $2; printf "" > f; next }
		/^@@end/ { f = ""; next }
		/^@@/ { next }
		f != "" { print >> f }' "$1"
}

source tests/lib.sh
source tests/vm/check.sh

# check_cases KERNEL DIR WANT_AUTO ARITY MODES...: one line per mode x scenario
check_cases() {
	local kname=$1 dir=$2 want_auto=$3 arity=$4 m s scen ok_modes="" bad=0
	shift 4
	for m in "$@"; do
		scen=$SCENARIOS
		[ "$m" = kprobe ] && scen="$scen misses"
		local mode_ok=1
		for s in $scen; do
			D=$dir/$m/$s
			if [ ! -f "$D/pw.rc" ]; then
				result FAIL "$kname $m $s" "no results"
				mode_ok=0 bad=1
				continue
			fi
			MODE=$m WANT=$m ARITY=$arity
			[ "$m" = auto ] && WANT=$want_auto
			_failed=0
			( ck_"$s" ) > "$D/check.log" 2>&1
			if grep -q 'FAIL:' "$D/check.log"; then
				result FAIL "$kname $m $s"
				cat "$D/check.log"
				echo "      -- portwatch stderr:"
				sed 's/^/      /' "$D/pw.err"
				mode_ok=0 bad=1
			else
				result PASS "$kname $m $s"
				grep '    info:' "$D/check.log"
			fi
		done
		[ $mode_ok = 1 ] && ok_modes="$ok_modes${ok_modes:+, }$m"
		[ "$m" = auto ] && [ $mode_ok = 1 ] && ok_modes="${ok_modes%auto}auto (picks $want_auto)"
	done
	[ $bad = 0 ] && table+=("| $kname | $ok_modes | pass |") ||
		table+=("| $kname | ${ok_modes:-none} | FAIL |")
}

# --- the host, tracepoint mode: the reference counts ---
echo "== host $(uname -r): tracepoint"
HD=$W/host
t0=$SECONDS
PW=./portwatch TRIGGER=$OUT/tests/trigger BB=$BUSYBOX WORK=$W/host-work \
	sh tests/vm/scenarios.sh tracepoint > "$W/host.results" 2>&1
split_results "$W/host.results" "$HD"
check_cases "host $(uname -r)" "$HD" tracepoint "" tracepoint
echo "   ($((SECONDS - t0)) s)"

# --- each kernel in a VM ---
while read -r regex arity; do
	case $regex in ''|'#'*) continue ;; esac
	if ! fetch_kernel "$regex"; then
		if [ -n "$SKIP_WHY" ]; then
			result SKIP "vm $regex" "$SKIP_WHY"
			table+=("| $regex | - | SKIP ($SKIP_WHY) |")
		else
			result FAIL "vm $regex" "$FAIL_WHY"
			table+=("| $regex | - | FAIL ($FAIL_WHY) |")
		fi
		continue
	fi
	kname="$KPKG $KVER"
	echo "== $kname"
	t0=$SECONDS
	V=$W/vm-$KVER
	mkdir -p "$V"
	timeout -k 5 "$BOOT_TIMEOUT" qemu-system-x86_64 -accel tcg -cpu max -m 1024 -smp 2 \
		-nographic -no-reboot -nodefaults -net none \
		-serial "file:$V/console" -serial "file:$V/results" \
		-kernel "$VMLINUZ" -initrd "$W/initrd.gz" \
		-append "console=ttyS0 quiet panic=-1 pw.modes=${VM_MODES// /,}" \
		< /dev/null > "$V/qemu.log" 2>&1
	rc=$?
	tr -d '\r' < "$V/results" > "$V/results.txt" 2>/dev/null
	if [ $rc -ne 0 ] || ! grep -q '^@@done' "$V/results.txt"; then
		if [ $rc -eq 124 ]; then why="VM did not finish in $BOOT_TIMEOUT s"
		elif [ $rc -ne 0 ]; then why="qemu exited $rc"
		else why="VM stopped before the end of the scenarios"; fi
		result FAIL "vm $kname" "$why"
		echo "      -- qemu:"; sed 's/^/      /' "$V/qemu.log"
		echo "      -- console (last 60 lines):"; tr -d '\r' < "$V/console" | tail -n 60 | sed 's/^/      /'
		echo "      -- results (last 20 lines):"; tail -n 20 "$V/results.txt" | sed 's/^/      /'
	fi
	split_results "$V/results.txt" "$V/cases"
	check_cases "$kname" "$V/cases" fentry "$arity" $VM_MODES
	echo "   ($((SECONDS - t0)) s, kernel $(sed -n 's/^@@kernel //p' "$V/results.txt"))"
done < "$LIST"

finish
