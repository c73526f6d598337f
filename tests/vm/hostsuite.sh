#!/usr/bin/env bash
# The host suite's mode-independent tests inside a VM of the kernel matrix,
# in a mode of your choice: proof that they pass whatever mode auto takes
# (issue 26, item 1), on a Debian kernel where fentry and kprobes work.
# The VM's root file system is this host's own userland, copied into an
# initramfs (every binary the chosen tests use, with the libraries ldd
# names), with portwatch, its test tools and tests/*.sh; it boots a kernel
# the matrix fetched (tests/.cache/apt/*.vmlinuz) and runs
#   PW_MODE_ARGS="-m MODE" tests/run.sh REGEX
# (auto: no -m, the kernel's own choice). Not part of make test (a VM under
# TCG runs the tests ~10x slower): a developer's check.
#   tests/vm/hostsuite.sh VMLINUZ MODE [REGEX]        (root; after make tools)
# Exit: the inner run's (0 = every chosen test passed), 2 on setup errors.
# PW_VM_ACCEL: QEMU's accelerator (default tcg; kvm where /dev/kvm runs a
# stock kernel, ~10x faster: not on our machines, whose /dev/kvm is kvm-pvm
# and stops a Debian kernel with "KVM internal error").
# PW_HOSTSUITE_EXTRA: more of this host copied in, space-separated: a
# command name (with its libraries), or an absolute path (a binary with its
# libraries, or a directory copied whole, e.g. a Python standard library or
# /usr/share/terminfo), for the tests that need them.
# PW_VM_MEM: the VM's memory in MiB (default 2048).
set -u
cd "$(dirname "$0")/../.."
VMLINUZ=${1:?usage: tests/vm/hostsuite.sh VMLINUZ MODE [REGEX]}
MODE=${2:?mode: auto, fentry, kprobe or tracepoint}
# the default: 13 mode-independent tests, then 9 whose checks differ by
# mode (route_failure_not_exhaustion, robust_short_addrlen: fentry and
# kprobe see what tracepoint cannot) or that filter in the kernel (pid,
# port, cgroup) or resolve cgroups there; those 9 add ~4 min a mode under
# TCG (measured on 6.1: 215 s of tests in fentry mode, 296 s in kprobe)
REGEX=${3:-'^t_(curl_exhaustion_json|curl_live_text|quiet_writes_no_event_lines|quiet_storm_sampled|metrics_port_scans_end_to_end|robust_sigkill|ipv6_exhaustion|bound_port_conflict|all_outcomes|v4_mapped_counted_once|filter_comm|metrics_exposition_and_escaping|mode_kprobe_unavailable|mode_fentry_unavailable|route_failure_not_exhaustion|robust_short_addrlen|syn_sent_then_closed|fastopen_deferred_not_exhaustion|filter_pid|filter_dport|workload_unit_and_cgroup_filter|census_counts_json|workload_kubelet_systemd_json)$'}
OUT=${OUTPUT:-.output}
TIMEOUT=${PW_VM_TIMEOUT:-1800}
W=$(mktemp -d /tmp/portwatch-hostsuite.XXXXXX)
trap 'rm -rf "$W"' EXIT
R=$W/root
mkdir -p "$R"/{bin,dev,proc,sys,tmp,run,etc,work} || exit 2

# the commands the tests and the harness use, with their libraries
CMDS="bash sh jq grep curl wc comm cat id ip head sed sleep tail bpftool awk mawk gawk uname timeout
	sort file unshare tr mount umount mkdir rm find basename setpriv seq mktemp cut cp tee mv
	sysctl ss rmdir env chmod touch stat ps ls dirname kill xargs nproc readlink printf true
	false date tput setsid nsenter script od promtool mkfifo perl tmux echo uniq cmp column diff expr fold
	md5sum paste pgrep pkill prlimit realpath setarch stty sync test tty yes which join expand strace"
copy_with_libs() {
	local f=$1 l
	[ -e "$R$f" ] && return 0
	mkdir -p "$R$(dirname "$f")"
	cp -L "$f" "$R$f" || return 1
	for l in $(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+'); do
		[ -e "$R$l" ] || { mkdir -p "$R$(dirname "$l")"; cp -L "$l" "$R$l"; }
	done
}
for c in $CMDS; do
	# the file, also for bash's builtins (nsenter ... true execs /usr/bin/true)
	p=$(type -P "$c") || continue
	copy_with_libs "$p" || exit 2
done
# a command by its real file, with the name a link to it: a runtime that
# finds its home from its own path (java, go) then finds it in a directory
# copied whole (/usr/lib/jvm/..., /usr/lib/go-1.19)
copy_cmd() {
	local p=$1 real
	real=$(readlink -f "$p")
	[ "$real" = "$p" ] && { copy_with_libs "$p"; return; }
	copy_with_libs "$real" || return 1
	[ -e "$R$p" ] || { mkdir -p "$R$(dirname "$p")" && ln -s "$real" "$R$p"; }
}
# a directory copied whole, with the libraries its ELF files need (a
# Python's C extensions, a JVM's libjvm.so)
copy_dir() {
	local d=$1 f l
	mkdir -p "$R$(dirname "$d")" && cp -a "$d" "$R$(dirname "$d")/" || return 1
	find "$d" -type f \( -name '*.so' -o -name '*.so.*' -o -perm -u+x \) -size +1k 2>/dev/null |
		while read -r f; do
			head -c 4 "$f" 2>/dev/null | grep -q ELF || continue
			for l in $(ldd "$f" 2>/dev/null | grep -oE '/[^ ]+'); do
				[ -e "$R$l" ] || { mkdir -p "$R$(dirname "$l")"; cp -L "$l" "$R$l"; }
			done
		done
}
for c in ${PW_HOSTSUITE_EXTRA:-}; do
	case $c in
	/*) if [ -d "$c" ]; then copy_dir "$c" || exit 2
	    else copy_cmd "$c" || exit 2; fi ;;
	*) p=$(type -P "$c") || { echo "hostsuite: no command $c here" >&2; exit 2; }
	   copy_cmd "$p" || exit 2 ;;
	esac
done
# scripts' interpreters by their usual paths (#!/bin/sh: the robust tests'
# shims), where /bin is not /usr/bin's link
copy_with_libs /bin/sh && copy_with_libs /bin/bash || exit 2
# curl's and libbpf's helpers loaded at run time; magic for file(1)
for f in /usr/share/misc/magic.mgc /usr/lib/file/magic.mgc /etc/ssl/certs/ca-certificates.crt; do
	[ -e "$f" ] && { mkdir -p "$R$(dirname "$f")"; cp -L "$f" "$R$f"; }
done
# the worktree's pieces: portwatch, test tools, tests
mkdir -p "$R/work/$OUT/tests" "$R/work/tests/vm" "$R/work/tests/fuzz"
cp portwatch "$R/work/" || exit 2
for t in trigger httpd modeprobe modeprobe.bpf.o hostile failshim.so fetcher; do
	[ -e "$OUT/tests/$t" ] && { cp "$OUT/tests/$t" "$R/work/$OUT/tests/"; copy_with_libs "$OUT/tests/$t" > /dev/null 2>&1; }
done
copy_with_libs "$PWD/portwatch" > /dev/null 2>&1
cp tests/*.sh tests/goclient.go "$R/work/tests/" && printf '#!/bin/sh\nexit 0\n' > "$R/work/tests/fuzz/run.sh" && chmod +x "$R/work/tests/fuzz/run.sh"
mkdir -p "$R/work/debian" && cp debian/changelog "$R/work/debian/" 2>/dev/null
# the Prometheus rules and scrape config promtool checks
cp -r deploy "$R/work/" || exit 2
printf 'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$R/etc/group"
cp "$(command -v busybox)" "$R/bin/busybox" || exit 2
# the kernel's socket-diagnosis modules (the census asks sock_diag; cloud
# kernels build it as modules), from the package the matrix cached
DEB=$(dirname "$VMLINUZ")/archives/$(basename "$VMLINUZ" .vmlinuz).deb
MODS=""
if [ -f "$DEB" ]; then
	for m in inet_diag tcp_diag udp_diag; do
		f=$(dpkg-deb -c "$DEB" | awk '{print $NF}' | grep -m 1 "/net/ipv4/$m\.ko")
		[ -n "$f" ] || continue
		dpkg-deb --fsys-tarfile "$DEB" | tar -x -O "$f" > "$R/$m.ko.raw" || continue
		case $f in
		*.xz) xz -dc < "$R/$m.ko.raw" > "$R/$m.ko" ;;
		*.zst) zstd -dc < "$R/$m.ko.raw" > "$R/$m.ko" ;;
		*) mv "$R/$m.ko.raw" "$R/$m.ko" ;;
		esac
		rm -f "$R/$m.ko.raw"
		MODS="$MODS /$m.ko"
	done
fi
cat > "$R/init" <<INIT
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sys /sys
/bin/busybox mount -t devtmpfs dev /dev
# bash's process substitution opens /dev/fd/N
/bin/busybox ln -sf /proc/self/fd /dev/fd
/bin/busybox ln -sf /proc/self/fd/0 /dev/stdin
/bin/busybox ln -sf /proc/self/fd/1 /dev/stdout
/bin/busybox ln -sf /proc/self/fd/2 /dev/stderr
# script(1) and tmux open pseudo-terminals
/bin/busybox mkdir -p /dev/pts
/bin/busybox mount -t devpts -o ptmxmode=0666 devpts /dev/pts
/bin/busybox ln -sf pts/ptmx /dev/ptmx
/bin/busybox mount -t tmpfs tmp /tmp
/bin/busybox mount -t tmpfs run /run
/bin/busybox mount -t bpf bpf /sys/fs/bpf
/bin/busybox mount -t tracefs tracefs /sys/kernel/tracing
/bin/busybox mount -t debugfs debugfs /sys/kernel/debug
/bin/busybox mount -t cgroup2 cgroup2 /sys/fs/cgroup
for m in $MODS; do /bin/busybox insmod \$m; done
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
/bin/busybox ip link set lo up 2>/dev/null || ip link set lo up
cd /work
echo "hostsuite: kernel \$(uname -r), mode $MODE"
PW_ATTACH_WAIT=40 PW_WAIT_SCALE=3 PW_MODE_ARGS="$([ "$MODE" = auto ] || echo "-m $MODE")" PW_NO_UNIT=1 PW_SAN_INNER=1 \
	bash tests/run.sh '$REGEX' > /dev/ttyS1 2>&1
echo "@@rc \$?" > /dev/ttyS1
/bin/busybox sync
/bin/busybox poweroff -f
INIT
chmod 755 "$R/init"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$W/initrd.gz" || exit 2
echo "hostsuite: initramfs $(du -h "$W/initrd.gz" | cut -f1), booting $(basename "$VMLINUZ") in $MODE mode (${PW_VM_ACCEL:-tcg})" >&2
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel "${PW_VM_ACCEL:-tcg}" -cpu max -m "${PW_VM_MEM:-2048}" -smp 2 -nographic -no-reboot -nodefaults \
	-net none -serial "file:$W/console" -serial "file:$W/results" -kernel "$VMLINUZ" -initrd "$W/initrd.gz" \
	-append "console=ttyS0 quiet panic=-1" < /dev/null > "$W/qemu.log" 2>&1
qrc=$?
tr -d '\r' < "$W/results"
rc=$(sed -n 's/^@@rc //p' "$W/results" | tr -d '\r')
if [ -z "$rc" ]; then
	echo "hostsuite: the VM did not finish (qemu exit $qrc); console:" >&2
	tr -d '\r' < "$W/console" | tail -n 30 >&2
	exit 2
fi
exit "$rc"
