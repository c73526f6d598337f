#!/usr/bin/env bash
# Kernel matrix: boots Debian's kernels (tests/vm/kernels), x86-64 and arm64,
# in QEMU (TCG, no network) with a busybox initramfs of the kernel's
# architecture holding a static portwatch and trigger (cross-built for a
# foreign one), runs tests/vm/scenarios.sh in the kprobe, fentry, tracepoint
# and auto modes (the contention scenario, parallel, in every mode on every
# kernel; the others in the modes of the kernel's line) and checks the
# results here (tests/vm/check.sh), knowing the kernel's preemption model
# (the VM's init reports it). The same
# scenarios also run on the host in tracepoint mode, the reference.
# Prints one PASS/FAIL/SKIP line per kernel x mode x scenario and ends with
# "vmtest: N passed, N failed, N skipped" and the "Kernels verified" table.
#   tests/vm/run.sh           (root; make vmtest)
# Environment: PW_VM_KERNELS (kernel list file), PW_VM_TIMEOUT (s per boot),
# PW_VM_JOBS (VMs at a time; default: one per 2 CPUs, at least 2),
# PW_VM_ONLY (only the kernel lines matching this regex), PW_VM_MODES (only
# these modes, space-separated, of those the kernel's line runs; caps is a
# mode here), PW_VM_SCENARIOS (only these scenarios, space-separated; the
# kprobe misses scenario is "misses"; "cost", not run by default, measures
# BPF ns per successful and per failing connect, sequentially), PW_VM_KEEP=1 (keep
# the work folder), PW_VM_QEMU_ARGS (more QEMU arguments),
# PW_VM_MIRROR and PW_VM_SECURITY_MIRROR (Debian mirrors; default: the
# system's).
# In CI (CI=true) a kernel that cannot be fetched (archive unreachable, no
# longer offered, 404) is a FAIL, not a SKIP, and so is a matrix that boots
# no kernel or passes none: CI must not go green without it. Outside CI
# these are SKIPs with the reason. A check that exits non-zero (set -u, a
# syntax error) is a FAIL whatever its log says; the host's scenarios run
# under the same time limit as a VM.
set -u
cd "$(dirname "$0")/../.."
CACHE=tests/.cache
LIST=${PW_VM_KERNELS:-tests/vm/kernels}
BOOT_TIMEOUT=${PW_VM_TIMEOUT:-480}
VM_MODES="kprobe fentry tracepoint auto"
# More QEMU arguments. "-icount shift=0,sleep=on" would make the guest's
# clock count instructions, and the BPF cost ratios independent of the
# host's load (the 6.12 VM passed with it), but the 5.10 and 6.1 x86-64
# kernels did not boot with it in 7 minutes: not the default.
QEMU_ARGS=${PW_VM_QEMU_ARGS:-}
SCENARIOS=${PW_VM_SCENARIOS:-"core causes filters pid text parallel shortaddr unattr kill ops"}
OUT=${OUTPUT:-.output}
HOST_ARCH=$(uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
JOBS=${PW_VM_JOBS:-$(( $(nproc) / 2 > 2 ? $(nproc) / 2 : 2 ))}
passed=0 failed=0 skipped=0 booted=0 vm_passed=0
IN_CI=
[ "${CI:-}" = true ] && IN_CI=1
table=()
KNOTE=
PAR_MODES=	# modes of a kernel line that run the contention scenario only
start_all=$SECONDS

result() {	# result PASS|FAIL|SKIP NAME [REASON]
	echo "$1 $2${3:+: $3}"
	[ "$1" = FAIL ] && [ -n "${3:-}" ] && [ -n "${GITHUB_ACTIONS:-}" ] && echo "::error::$2: $3"
	case $1 in
	PASS) passed=$((passed + 1)) ;;
	FAIL) failed=$((failed + 1)) ;;
	SKIP) skipped=$((skipped + 1)) ;;
	esac
}

finish() {
	# CI: a matrix that fetched, booted or passed no kernel is a failure
	# (every other way there is a FAIL line already: in CI a kernel not
	# fetched is one)
	if [ -n "$IN_CI" ] && [ "$failed" -eq 0 ]; then
		if [ ${#lines[@]} -eq 0 ]; then
			result FAIL "kernel matrix" "CI: no kernel line selected (${PW_VM_ONLY:+PW_VM_ONLY=$PW_VM_ONLY, }list $LIST)"
		elif [ "$booted" -eq 0 ]; then
			result FAIL "kernel matrix" "CI: no kernel was booted (${first_why:-none prepared})"
		elif [ "$vm_passed" -eq 0 ]; then
			result FAIL "kernel matrix" "CI: no kernel passed"
		fi
	fi
	echo
	echo "Kernels verified ($(date -u +%Y-%m-%d), matrix $((SECONDS - start_all)) s):"
	echo
	echo "| kernel | arch | arity (BTF) | auto | modes | BPF ns/connect vs tracepoint | CAP_BPF+CAP_PERFMON, ulimit -l 64 | result |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	printf '%s\n' "${table[@]}"
	echo
	echo "vmtest: $passed passed, $failed failed, $skipped skipped"
	[ "$failed" -eq 0 ]
	exit
}

W=$(mktemp -d /tmp/portwatch-vm.XXXXXX)
# PW_VM_KEEP=1 keeps the work folder (results, consoles) for a look
[ -n "${PW_VM_KEEP:-}" ] && echo "work folder: $W" || trap 'rm -rf "$W"' EXIT

for tool in busybox cpio gzip jq apt-get apt-cache dpkg-deb; do
	if ! command -v $tool >/dev/null; then
		result FAIL "vm setup" "$tool not installed (make vm-deps installs it)"
		finish
	fi
done
BUSYBOX=$(command -v busybox)
if ldd "$BUSYBOX" > /dev/null 2>&1; then
	result FAIL "vm setup" "$BUSYBOX is linked dynamically: the initramfs needs busybox-static"
	finish
fi
lines=() first_why=
if [ "$(id -u)" -ne 0 ]; then
	result "$([ -n "$IN_CI" ] && echo FAIL || echo SKIP)" "vm matrix" "needs root (run: sudo make vmtest)"
	finish
fi

# apt's words for an archive it could not reach (not a bare "connection":
# that also matches a failure of another kind)
UNREACHABLE='could not resolve|failed to fetch|temporary failure resolving|unable to connect|could not connect|connection (refused|timed out|failed)'
deb_arch() { case $1 in x86) echo amd64 ;; *) echo "$1" ;; esac; }
qemu_of() { case $1 in x86) echo qemu-system-x86_64 ;; *) echo qemu-system-aarch64 ;; esac; }
arch_label() { case $1 in x86) echo x86-64 ;; *) echo "$1" ;; esac; }

# --- per architecture: static build, busybox, initramfs ---
declare -A initrds=() initrd_fail=() initrd_skip=()
# initrd_for ARCH: sets INITRD (built once per architecture), or SKIP_WHY /
# FAIL_WHY. A foreign architecture is cross-built (make deps ARCH=... adds
# the dpkg architecture and installs Debian's cross compiler and libraries)
# and gets busybox-static of its own architecture from the archive.
initrd_for() {
	local arch=$1 da st bb deb log=$W/build-$1.log R=$W/root-$1
	SKIP_WHY=${initrd_skip[$arch]:-} FAIL_WHY=${initrd_fail[$arch]:-} INITRD=${initrds[$arch]:-}
	[ -n "$INITRD" ] && return 0
	[ -z "$SKIP_WHY$FAIL_WHY" ] || return 1
	da=$(deb_arch "$arch")
	if [ "$arch" = "$HOST_ARCH" ]; then
		st=$OUT/static bb=$BUSYBOX
	else
		st=$OUT/$arch bb=$W/busybox-$arch
		if ! make -s deps ARCH="$arch" > "$log" 2>&1; then
			if grep -qiE "$UNREACHABLE" "$log"; then
				SKIP_WHY="package archive unreachable: $(grep -iE 'fail|err' "$log" | head -n 1)"
			else
				FAIL_WHY="make deps ARCH=$arch: $(tail -n 1 "$log")"
			fi
		else
			mkdir -p "$CACHE"
			deb=$(ls "$CACHE"/busybox-static_*_"$da".deb 2>/dev/null | head -n 1)
			if [ -z "$deb" ] && ! (cd "$CACHE" && apt-get download -q "busybox-static:$da") >> "$log" 2>&1; then
				FAIL_WHY="apt-get download busybox-static:$da: $(tail -n 1 "$log")"
				grep -qiE "$UNREACHABLE" "$log" && SKIP_WHY="package archive unreachable" FAIL_WHY=
			else
				deb=$(ls "$CACHE"/busybox-static_*_"$da".deb | head -n 1)
				dpkg-deb --fsys-tarfile "$deb" | tar -x -O ./bin/busybox > "$bb" 2>> "$log" ||
					FAIL_WHY="no /bin/busybox in $deb"
			fi
		fi
	fi
	if [ -z "$SKIP_WHY$FAIL_WHY" ] && ! make -s ARCH="$arch" STATIC=1 OUTPUT="$st" BIN="$st/portwatch" \
		"$st/portwatch" "$st/tests/trigger" "$st/tests/capexec" >> "$log" 2>&1; then
		cat "$log"
		FAIL_WHY="static build for $arch failed"
	fi
	if [ -z "$SKIP_WHY$FAIL_WHY" ]; then
		mkdir -p "$R"/{bin,dev,proc,sys,tmp}
		cp "$bb" "$R/bin/busybox" && chmod 755 "$R/bin/busybox"
		cp "$st/portwatch" "$st/tests/trigger" "$st/tests/capexec" "$R/bin/"
		cp tests/vm/init "$R/init"
		cp tests/vm/scenarios.sh "$R/scenarios.sh"
		(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$W/initrd-$arch.gz" ||
			FAIL_WHY="cannot build the $arch initramfs"
	fi
	initrd_skip[$arch]=$SKIP_WHY initrd_fail[$arch]=$FAIL_WHY
	[ -z "$SKIP_WHY$FAIL_WHY" ] || return 1
	INITRD=$W/initrd-$arch.gz
	initrds[$arch]=$INITRD
}

# --- kernels: newest package per line, cached .deb, extracted vmlinuz ---
# The kernels come from Debian's bullseye, bookworm, trixie and sid through
# the matrix's own apt configuration under $CACHE/apt (APT_CONFIG: its own
# sources, lists and archives, none of the system's apt.conf.d); the
# system's sources and `make deps` never see these suites. The mirrors and
# the Acquire settings (proxy, Check-Valid-Until) are the system's own.
A=$PWD/$CACHE/apt
vapt() { APT_CONFIG=$A/apt.conf "$@"; }
apt_setup() {
	local uris deb sec k s host_da
	mkdir -p "$A"/{lists/partial,archives/partial,cache,parts,sources.d,prefs.d} || return 1
	[ -f "$A/status" ] || : > "$A/status"
	uris=$(apt-get indextargets --format '$(REPO_URI)' 2>/dev/null | sort -u)
	deb=${PW_VM_MIRROR:-$(grep -m 1 '/debian/$' <<<"$uris")}
	sec=${PW_VM_SECURITY_MIRROR:-$(grep -m 1 '/debian-security/$' <<<"$uris")}
	deb=${deb:-http://deb.debian.org/debian/} sec=${sec:-http://deb.debian.org/debian-security/}
	k="[signed-by=/usr/share/keyrings/debian-archive-keyring.gpg]"
	{
		for s in bullseye bookworm trixie; do
			echo "deb $k $deb $s main"
			echo "deb $k $sec $s-security main"
		done
		echo "deb $k $deb sid main"
	} > "$A/sources.list.new"
	host_da=$(dpkg --print-architecture)
	cat > "$A/apt.conf.new" <<-EOF
	Dir::Etc::main "/dev/null";
	Dir::Etc::parts "$A/parts";
	Dir::Etc::sourcelist "$A/sources.list";
	Dir::Etc::sourceparts "$A/sources.d";
	Dir::Etc::preferences "/dev/null";
	Dir::Etc::preferencesparts "$A/prefs.d";
	Dir::State "$A";
	Dir::State::lists "$A/lists";
	Dir::State::status "$A/status";
	Dir::Cache "$A/cache";
	Dir::Cache::archives "$A/archives";
	APT::Architecture "$host_da";
	APT::Architectures { "amd64"; "arm64"; };
	Acquire::Languages "none";
	EOF
	apt-config dump 2>/dev/null | grep -E '^Acquire::(Check-Valid-Until|Check-Date|GzipIndexes|Retries|https?::Proxy|https?::Timeout) ' \
		> "$A/parts/50system"
	# new sources (or a day old lists): update before the first look-up
	if ! cmp -s "$A/sources.list.new" "$A/sources.list" || ! cmp -s "$A/apt.conf.new" "$A/apt.conf"; then
		mv "$A/sources.list.new" "$A/sources.list" && mv "$A/apt.conf.new" "$A/apt.conf"
		rm -f "$A/updated"
	fi
	rm -f "$A/sources.list.new" "$A/apt.conf.new"
	[ -n "$(find "$A/updated" -mmin -1440 2>/dev/null)" ] || apt_update
}
apt_updated= pkgnames=
apt_update() {
	apt_updated=1 pkgnames=
	rm -f "$A/gone"
	if vapt apt-get update -qq > "$W/apt-update.log" 2>&1 && ! grep -q '^[WE]:' "$W/apt-update.log"; then
		touch "$A/updated"
	else
		rm -f "$A/updated"
	fi
}
# archive_why LOG: SKIP_WHY when the archive could not be reached, or FAIL_WHY
archive_why() {
	if grep -qiE "$UNREACHABLE" "$1" 2>/dev/null; then
		SKIP_WHY="package archive unreachable: $(grep -iE 'fail|err' "$1" | head -n 1)"
	else
		FAIL_WHY="$2"
	fi
}

# candidates REGEX DEB_ARCH: "PACKAGE VERSION" lines of the packages matching
# a regex that the archive lists for that architecture, newest first; one
# apt-cache call for all of them (each takes a second or two)
candidates() {
	local names
	[ -n "$pkgnames" ] || pkgnames=$(vapt apt-cache pkgnames 2>/dev/null)
	names=$(grep -E -- "$1" <<<"$pkgnames" | sort -u | sed "s/\$/:$2/")
	[ -n "$names" ] || return 1
	# shellcheck disable=SC2086
	vapt apt-cache policy $names 2>/dev/null | awk '
		/^[^ ]/ { p = $1; sub(/:$/, "", p); sub(/:[a-z0-9]+$/, "", p) }
		/^  Candidate:/ && $2 != "(none)" { print p, $2 }' | sort_versions
}
# sort_versions: "PACKAGE VERSION" lines, highest VERSION first (dpkg's order)
sort_versions() {
	local -a l=()
	local x i j
	while read -r x; do l+=("$x"); done
	for ((i = 1; i < ${#l[@]}; i++)); do
		x=${l[i]} j=$i
		while [ "$j" -gt 0 ] && dpkg --compare-versions "${x#* }" gt "${l[j - 1]#* }"; do
			l[j]=${l[j - 1]} j=$((j - 1))
		done
		l[j]=$x
	done
	[ ${#l[@]} -gt 0 ] && printf '%s\n' "${l[@]}"
}

# fetch_kernel REGEX DEB_ARCH: sets KPKG, KVER, VMLINUZ; or SKIP_WHY / FAIL_WHY.
# The newest package the archive serves: one it lists but answers 404 for
# (e.g. bullseye-security's pool on a partial mirror) is passed over, and a
# kernel it no longer offers at all is a SKIP with that reason. The image is
# /boot/vmlinuz-<v> in linux-image-<v>-*-unsigned packages, and
# /usr/lib/modules/<v>/vmlinuz[.unsigned] in sid's linux-binary-* ones (where
# linux-image-<v>-cloud-amd64 is an empty dependency package).
fetch_kernel() {
	local found deb log member gone=""
	SKIP_WHY= FAIL_WHY= KPKG= NOTE=
	if ! apt_setup; then
		FAIL_WHY="cannot write the matrix's apt configuration in $A"
		return 1
	fi
	found=$(candidates "$1" "$2")
	if [ -z "$found" ] && [ -z "$apt_updated" ]; then
		apt_update
		found=$(candidates "$1" "$2")
	fi
	if [ -z "$found" ]; then
		if [ -f "$A/updated" ]; then
			SKIP_WHY="the archive (bullseye, bookworm, trixie, sid) offers no package matching $1 for $2 any more"
		else
			archive_why "$W/apt-update.log" "apt-get update failed: $(grep -m 1 '^[WE]:' "$W/apt-update.log")"
		fi
		return 1
	fi
	while read -r KPKG KVER; do
		deb=$(ls "$A/archives/${KPKG}_${KVER//:/%3a}_"*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] && break
		# answered 404 since the last apt-get update
		if grep -qxF "$KPKG $KVER" "$A/gone" 2>/dev/null; then
			gone="$gone${gone:+, }$KPKG $KVER"
			continue
		fi
		log=$W/download-$KPKG.log
		(cd "$A/archives" && vapt apt-get download -q "$KPKG:$2=$KVER") > "$log" 2>&1 &&
			deb=$(ls "$A/archives/${KPKG}_${KVER//:/%3a}_"*.deb 2>/dev/null | head -n 1)
		[ -n "$deb" ] && break
		if grep -q ' 404 ' "$log"; then
			echo "$KPKG $KVER" >> "$A/gone"
			gone="$gone${gone:+, }$KPKG $KVER"
			continue
		fi
		archive_why "$log" "apt-get download $KPKG:$2=$KVER: $(grep -m 1 '^E:' "$log")"
		return 1
	done <<<"$found"
	if [ -n "$gone" ]; then
		NOTE="newest served: $(wc -l <<<"${gone//, /$'\n'}") newer listed but not served (404)"
		echo "   $KPKG: $NOTE (${gone})" >&2
	fi
	if [ -z "$deb" ]; then
		SKIP_WHY="the archive lists but no longer serves (404) any package matching $1: $gone"
		return 1
	fi
	VMLINUZ=$A/$(basename "$deb" .deb).vmlinuz
	if [ ! -s "$VMLINUZ" ]; then
		member=$(dpkg-deb -c "$deb" | awk '{ print $NF }' |
			grep -m 1 -E '^\./(boot/vmlinuz-|usr/lib/modules/[^/]+/vmlinuz)')
		if [ -z "$member" ] || ! dpkg-deb --fsys-tarfile "$deb" | tar -x -O "$member" > "$VMLINUZ.tmp" ||
			[ ! -s "$VMLINUZ.tmp" ]; then
			rm -f "$VMLINUZ.tmp"
			FAIL_WHY="no kernel image (boot/vmlinuz-* or usr/lib/modules/*/vmlinuz*) in $deb"
			return 1
		fi
		mv "$VMLINUZ.tmp" "$VMLINUZ"
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

# check_cases KERNEL ARCH DIR WANT_AUTO ARITY BPFMEM MODES...: one line per
# mode x scenario, one row of the table. A kernel whose auto mode must pick
# kprobe cannot attach fentry: that is a SKIP with the reason from auto's
# attach line. The pseudo-mode caps is the deployment case (sc_caps).
check_cases() {
	local kname=$1 arch=$2 dir=$3 want_auto=$4 arity=$5 bpfmem=$6 m s scen ok_modes="" bad=0 notes=""
	local found_arity="-" costs="" deploy="-" tp_ns="" ns
	shift 6
	for m in "$@"; do
		scen=${SCENARIOS/misses/}
		[ "$m" = kprobe ] && { [ -z "${PW_VM_SCENARIOS:-}" ] || grep -qw misses <<<"$PW_VM_SCENARIOS"; } &&
			scen="$scen misses"
		[ "$m" = caps ] && scen="limit soft sysres"
		# modes the kernel's line does not run: the contention scenario only
		grep -qw -- "$m" <<<"${PAR_MODES:-}" && scen=parallel
		local mode_ok=1
		for s in $scen; do
			D=$dir/$m/$s
			if [ ! -f "$D/pw.rc" ]; then
				result FAIL "$kname $m $s" "no results"
				mode_ok=0 bad=1
				continue
			fi
			MODE=$m WANT=$m ARITY=$arity BPFMEM=$bpfmem CASE=$s AUTO_LINE=$want_auto
			[ "$m" = auto ] || [ "$m" = caps ] && WANT=${want_auto%%:*}
			_failed=0
			if [ "$m" = caps ]; then
				( set -u; ck_caps; exit $_failed ) > "$D/check.log" 2>&1
			else
				( set -u; ck_"$s"; exit $_failed ) > "$D/check.log" 2>&1
			fi
			local crc=$?
			if [ "$crc" -ne 0 ] || grep -q 'FAIL:' "$D/check.log"; then
				result FAIL "$kname $m $s" "$([ "$crc" -ne 0 ] && ! grep -q 'FAIL:' "$D/check.log" && echo "the check exited $crc without a FAIL line")"
				cat "$D/check.log"
				echo "      -- portwatch stderr:"
				sed 's/^/      /' "$D/pw.err"
				mode_ok=0 bad=1
			else
				result PASS "$kname $m $s"
				grep '    info:' "$D/check.log"
			fi
		done
		if [ "$m" = caps ]; then
			if [ $mode_ok = 0 ]; then deploy="FAIL"
			elif [ "$bpfmem" = rlimit ]; then
				deploy="ulimit -l 64: exits 1 naming RLIMIT_MEMLOCK and CAP_SYS_RESOURCE; works with CAP_SYS_RESOURCE or a soft limit (raised)"
			else deploy="works (limit not needed)"; fi
			[ "$want_auto" = kprobe ] && [ "$(cat "$dir/caps/soft/paranoid" 2>/dev/null)" -gt 2 ] 2>/dev/null &&
				deploy="$deploy; auto takes tracepoint: kprobe needs CAP_SYS_ADMIN at perf_event_paranoid $(cat "$dir/caps/soft/paranoid")"
			continue
		fi
		[ $mode_ok = 1 ] && ok_modes="$ok_modes${ok_modes:+, }$m"
		# BPF run time per connect of the parallel scenario (bpf_stats; in
		# the VMs only: on the host another job may have switched it on)
		[ "$arch" = "$HOST_ARCH" ] && [ -z "$bpfmem" ] && continue
		[ -s "$dir/$m/parallel/bpfstats" ] &&
			echo "    info: $m parallel: bpf_stats $(awk '{ print $2 " runs of " $3 " programs, " ($4 == "-" ? "recursion misses not reported (before 5.12)" : $4 " recursion misses (runs skipped)") }' "$dir/$m/parallel/bpfstats")"
		# sequential costs (sc_cost): per successful and per failing connect
		if [ -s "$dir/$m/cost/bpfstats.ok" ] && [ -s "$dir/$m/cost/bpfstats" ]; then
			local t1 t2
			read -r t1 _ < "$dir/$m/cost/bpfstats.ok"
			read -r t2 _ < "$dir/$m/cost/bpfstats"
			echo "    info: $m cost: BPF programs $((t1 / 1000)) ns per successful connect, $(((t2 - t1) / 1010)) ns per failing connect (sequential; TCG: only ratios between modes mean anything)"
		fi
		ns=$(bpf_ns_per_connect "$dir/$m/parallel")
		if [ -n "$ns" ]; then
			echo "    info: $m: BPF programs $ns ns per connect (TCG: only the ratio to tracepoint means anything)"
			[ "$m" = tracepoint ] && tp_ns=$ns
			costs="$costs $m=$ns"
		fi
	done
	found_arity=$(sed -n 's/.*__inet_hash_connect has \([0-9]*\) arguments (BTF).*/\1/p' \
		"$dir/auto/core/pw.err" 2>/dev/null | head -n 1)
	if [ "$want_auto" = kprobe ]; then	# kprobe:preempt can attach fentry
		local why
		why=$(sed -n 's/^portwatch: attached in kprobe mode.*(fentry: \([^;]*\)[;)].*/\1/p' "$dir/auto/core/pw.err" 2>/dev/null)
		if [ -n "$why" ]; then
			result SKIP "$kname fentry" "this kernel cannot attach fentry ($why)"
			notes="; fentry: SKIP ($why)"
		else
			result FAIL "$kname fentry" "auto mode did not say why fentry was not taken"
			bad=1
		fi
	fi
	local ratios="-" c
	if [ -n "$tp_ns" ] && [ "$tp_ns" != 0 ]; then
		ratios=""
		for c in $costs; do
			[ "${c%%=*}" = tracepoint ] && continue
			ratios="$ratios${ratios:+, }${c%%=*} $(awk -v a="${c#*=}" -v b="$tp_ns" 'BEGIN { printf "%.2f", a / b }')"
		done
		ratios=${ratios:-"-"}
	fi
	local row="| $kname${KNOTE:+ ($KNOTE)} | $(arch_label "$arch") | ${found_arity:--} | ${want_auto/:preempt/ (preemptible)} | ${ok_modes:-none}$notes | $ratios | $deploy"
	[ $bad = 0 ] && table+=("$row | pass |") || table+=("$row | FAIL |")
}

# initrd_with_mods INITRD VMLINUZ DIR DEB_ARCH: sets INITRD to
# DIR/initrd.gz, the architecture's initramfs and, appended (the kernel
# unpacks concatenated archives), /mods: the kernel's own socket-diagnosis
# modules that its package builds as modules (inet_diag, tcp_diag: cloud
# kernels do), which portwatch's sock_diag lookups need (census,
# port_holder, bind_ports), listed in load order in /mods/order for
# tests/vm/init. A kernel that has them built in gets none. sid's
# linux-binary-unsigned-V holds the image alone: its modules come from
# linux-modules-V of the same version (fetched once, cached).
initrd_with_mods() {
	local deb m f list mp R=$3/mods-root
	deb=$(dirname "$2")/archives/$(basename "$2" .vmlinuz).deb
	rm -rf "$R" && mkdir -p "$R/mods" && : > "$R/mods/order"
	list=$(dpkg-deb -c "$deb" | awk '{ print $NF }') || return 1
	if ! grep -q '/kernel/net/' <<<"$list" && [[ $KPKG == linux-binary-unsigned-* ]]; then
		mp=linux-modules-${KPKG#linux-binary-unsigned-}
		deb=$(ls "$A/archives/${mp}_${KVER//:/%3a}_"*.deb 2>/dev/null | head -n 1)
		if [ -z "$deb" ]; then
			(cd "$A/archives" && vapt apt-get download -q "$mp:$4=$KVER") > "$3/download-$mp.log" 2>&1
			deb=$(ls "$A/archives/${mp}_${KVER//:/%3a}_"*.deb 2>/dev/null | head -n 1)
		fi
		[ -n "$deb" ] || return 1
		list=$(dpkg-deb -c "$deb" | awk '{ print $NF }') || return 1
	fi
	for m in inet_diag tcp_diag; do
		f=$(grep -E "/net/ipv4/$m\.ko(\.xz|\.zst)?\$" <<<"$list" | head -n 1)
		[ -n "$f" ] || continue
		dpkg-deb --fsys-tarfile "$deb" | tar -x -O "$f" > "$R/mods/$m.raw" || return 1
		case $f in
		*.xz) xz -dc < "$R/mods/$m.raw" > "$R/mods/$m.ko" ;;
		*.zst) zstd -dc < "$R/mods/$m.raw" > "$R/mods/$m.ko" ;;
		*) mv "$R/mods/$m.raw" "$R/mods/$m.ko" ;;
		esac || return 1
		rm -f "$R/mods/$m.raw"
		echo "/mods/$m.ko" >> "$R/mods/order"
	done
	{ cat "$1" && (cd "$R" && find mods | cpio -o -H newc --quiet | gzip -1); } > "$3/initrd.gz" || return 1
	INITRD=$3/initrd.gz
}

# bpf_ns_per_connect DIR: BPF run time (bpf_stats, summed over portwatch's
# programs) per connect() of the trigger, or nothing without bpf_stats
bpf_ns_per_connect() {
	local t c n att
	[ -s "$1/bpfstats" ] || return 0
	read -r t c n _ < "$1/bpfstats"
	att=$(jq -s '[.[] | select(.type == "record") | .attempts] | add // 0' "$1/truth" 2>/dev/null)
	[ "${att:-0}" -gt 0 ] && [ "${t:-0}" -gt 0 ] || return 0
	echo $((t / att))
}

# boot_vm ARCH VMLINUZ INITRD DIR MODES [CMDLINE]: one VM, in the background; DIR gets
# its console, results, qemu.log, exit code (rc) and seconds taken (secs)
boot_vm() {
	local arch=$1 dir=$4 t0=$SECONDS app
	local -a qemu
	case $arch in
	x86)	qemu=("$(qemu_of x86)" -accel tcg -cpu max
			-serial "file:$dir/console" -serial "file:$dir/results")
		app="console=ttyS0" ;;
	arm64)	# virt has one PL011 UART, the console: the results go to a
		# PCI 16550 (ttyS0). -cpu max's architected pointer
		# authentication is slow under TCG; pauth-impdef is QEMU's own.
		qemu=("$(qemu_of arm64)" -M virt -cpu max,pauth-impdef=on
			-serial "file:$dir/console"
			-chardev "file,id=results,path=$dir/results" -device pci-serial,chardev=results)
		app="console=ttyAMA0 pw.out=ttyS0" ;;
	esac
	# shellcheck disable=SC2086
	timeout -k 5 "$BOOT_TIMEOUT" "${qemu[@]}" $QEMU_ARGS -m 1024 -smp 2 -nographic -no-reboot -nodefaults \
		-net none -kernel "$2" -initrd "$3" \
		-append "$app quiet panic=-1${6:+ $6} pw.modes=${5// /,}${PW_VM_SCENARIOS:+ pw.scen=${PW_VM_SCENARIOS// /,}}" \
		< /dev/null > "$dir/qemu.log" 2>&1
	local rc=$?
	echo $((SECONDS - t0)) > "$dir/secs"
	echo $rc > "$dir/rc.tmp" && mv "$dir/rc.tmp" "$dir/rc"
}

# --- the VMs, in the background: each prepared (initramfs of its
# architecture, kernel) and booted in list order, $JOBS at a time (TCG keeps
# about one core busy per VM). VM i's folder gets "prep" (OK, SKIP or FAIL)
# and, when it is done, "rc"; the checks below follow in list order. ---
US=$'\x1f'	# field separator of lines and prep files: regexes hold '|'
while read -r arch regex arity auto bpfmem modes cmdline; do
	case $arch in ''|'#'*) continue ;; esac
	[ "${cmdline:--}" = - ] && cmdline=
	# PW_VM_ONLY=REGEX: only the lines matching it ("x86.*5\.10", "arm64",
	# "preempt=full")
	[ -z "${PW_VM_ONLY:-}" ] || grep -qE -- "$PW_VM_ONLY" <<<"$arch $regex${cmdline:+ $cmdline}" || continue
	lines+=("$arch$US$regex$US$arity$US$auto$US$bpfmem$US${modes:-all}$US$cmdline")
done < "$LIST"

launch_vms() {
	local i=0 l arch regex arity auto bpfmem V modes cmdline
	for l in "${lines[@]}"; do
		i=$((i + 1)) V=$W/vm-$i
		mkdir -p "$V"
		IFS=$US read -r arch regex arity auto bpfmem modes cmdline <<<"$l"
		if ! initrd_for "$arch" || ! fetch_kernel "$regex" "$(deb_arch "$arch")" ||
			! command -v "$(qemu_of "$arch")" > /dev/null; then
			[ -n "$SKIP_WHY$FAIL_WHY" ] || FAIL_WHY="$(qemu_of "$arch") not installed (make vm-deps installs it)"
			if [ -n "$SKIP_WHY" ]; then
				echo "SKIP$US$regex$US$US$SKIP_WHY" > "$V/prep"
			else
				echo "FAIL$US$regex$US$US$FAIL_WHY" > "$V/prep"
			fi
			continue
		fi
		if ! initrd_with_mods "$INITRD" "$VMLINUZ" "$V" "$(deb_arch "$arch")"; then
			echo "FAIL$US$regex$US$US""cannot add the socket-diagnosis modules of $KPKG to the initramfs" > "$V/prep"
			continue
		fi
		[ "$modes" = all ] && modes=$VM_MODES || modes=${modes//,/ }
		# the contention scenario runs in every mode the kernel can attach
		local par="" x
		for x in $VM_MODES; do
			grep -qw -- "$x" <<<"$modes" || par="$par${par:+ }$x"
		done
		if [ "$auto" = kprobe ]; then modes=${modes/fentry /} par=${par/fentry/}; fi
		modes="$modes caps"
		if [ -n "${PW_VM_MODES:-}" ]; then
			local want=""
			for x in $modes; do
				grep -qw -- "$x" <<<"$PW_VM_MODES" && want="$want${want:+ }$x"
			done
			modes=$want want=""
			for x in $par; do
				grep -qw -- "$x" <<<"$PW_VM_MODES" && want="$want${want:+ }$x"
			done
			par=$want
		fi
		# the parallel-only modes, unless the scenarios asked leave it out
		[ -z "${PW_VM_SCENARIOS:-}" ] || grep -qw parallel <<<"$PW_VM_SCENARIOS" || par=
		par=$(echo $par)
		while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
		echo "   booting $KPKG $KVER${cmdline:+ $cmdline} ($(arch_label "$arch"): $modes${par:+; parallel only: $par})"
		boot_vm "$arch" "$VMLINUZ" "$INITRD" "$V" "$modes" "$cmdline${par:+ pw.par=${par// /,}}" &
		echo "OK$US$KPKG $KVER${cmdline:+ $cmdline}$US$modes$US$NOTE$US$par" > "$V/prep"
	done
	wait
}
echo "== ${#lines[@]} VMs, $JOBS at a time"
launch_vms &
launcher=$!

# --- meanwhile the host, tracepoint mode: the reference counts ---
echo "== host $(uname -r): tracepoint"
HD=$W/host
t0=$SECONDS
PW=./portwatch TRIGGER=$OUT/tests/trigger BB=$BUSYBOX WORK=$W/host-work PW_SCENARIOS=${PW_VM_SCENARIOS:-} \
	timeout -k 10 "$BOOT_TIMEOUT" sh tests/vm/scenarios.sh tracepoint > "$W/host.results" 2>&1
hrc=$?
[ "$hrc" -ne 0 ] && result FAIL "host scenarios" "$([ "$hrc" = 124 ] && echo "did not end in $BOOT_TIMEOUT s (killed)" || echo "exited $hrc")"
split_results "$W/host.results" "$HD"
PREEMPT=$(sed -n 's/.*(\([a-z]*\)).*/\1/p' /sys/kernel/debug/sched/preempt 2>/dev/null)
KREL=$(uname -r)
check_cases "host $(uname -r)" "$HOST_ARCH" "$HD" tracepoint "" "" tracepoint
echo "   ($((SECONDS - t0)) s)"

# wait_file FILE: until it exists or the launcher is gone
wait_file() {
	until [ -f "$1" ]; do
		kill -0 "$launcher" 2>/dev/null || { sleep 1; [ -f "$1" ]; return; }
		sleep 1
	done
}

i=0
for l in "${lines[@]}"; do
	i=$((i + 1)) V=$W/vm-$i
	IFS=$US read -r arch regex arity auto bpfmem _ <<<"$l"
	if ! wait_file "$V/prep"; then
		result FAIL "vm $regex" "not prepared (the launcher stopped)"
		table+=("| ${regex//|/\\|} | $(arch_label "$arch") | - | - | - | - | - | FAIL (not prepared) |")
		continue
	fi
	IFS=$US read -r st kname modes why PAR_MODES < "$V/prep"
	if [ "$st" != OK ]; then
		first_why=${first_why:-$why}
		# CI: a kernel the matrix could not fetch is a failure
		[ "$st" = SKIP ] && [ -n "$IN_CI" ] && st=FAIL why="CI: $why"
		result "$st" "vm $regex" "$why"
		table+=("| ${regex//|/\\|} | $(arch_label "$arch") | - | - | - | - | - | $st (${why//|/\\|}) |")
		continue
	fi
	wait_file "$V/rc"
	booted=$((booted + 1))
	echo "== $kname ($(arch_label "$arch"))${why:+: $why}"
	KNOTE=$why
	rc=$(cat "$V/rc" 2>/dev/null || echo "none")
	tr -d '\r' < "$V/results" > "$V/results.txt" 2>/dev/null
	if [ "$rc" != 0 ] || ! grep -q '^@@done' "$V/results.txt"; then
		if [ "$rc" = 124 ]; then why="VM did not finish in $BOOT_TIMEOUT s"
		elif [ "$rc" != 0 ]; then why="qemu exited $rc"
		else why="VM stopped before the end of the scenarios"; fi
		result FAIL "vm $kname" "$why"
		echo "      -- qemu:"; sed 's/^/      /' "$V/qemu.log"
		echo "      -- console (last 60 lines):"; tr -d '\r' < "$V/console" | tail -n 60 | sed 's/^/      /'
		echo "      -- results (last 20 lines):"; tail -n 20 "$V/results.txt" | sed 's/^/      /'
	fi
	split_results "$V/results.txt" "$V/cases"
	# the running preemption model as the kernel gave it (init: sched/preempt)
	PREEMPT=$(sed -n 's/^@@preempt [^(]*(\([a-z_]*\)).*/\1/p' "$V/results.txt")
	KREL=$(sed -n 's/^@@kernel //p' "$V/results.txt")
	echo "   preemption model: ${PREEMPT:-unknown} ($(sed -n 's/^@@preempt //p' "$V/results.txt"))"
	# shellcheck disable=SC2086
	f0=$failed
	check_cases "$kname" "$arch" "$V/cases" "$auto" "$arity" "$bpfmem" $modes $PAR_MODES
	PAR_MODES=
	[ "$failed" -eq "$f0" ] && [ "$rc" = 0 ] && vm_passed=$((vm_passed + 1))
	echo "   ($(cat "$V/secs") s in the VM, kernel $(sed -n 's/^@@kernel //p' "$V/results.txt"))"
done
wait "$launcher"

finish
