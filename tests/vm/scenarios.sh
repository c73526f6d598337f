#!/bin/sh
# The kernel-matrix scenarios, run inside each VM by tests/vm/init (busybox
# ash) and on the host by tests/vm/run.sh (tracepoint mode, as the
# reference). Runs portwatch and tests/trigger and prints what both said,
# raw, between markers; tests/vm/check.sh makes the assertions on the host.
#   scenarios.sh MODE...      MODE: kprobe fentry tracepoint auto, or caps
#                             (the deployment case, auto mode: sc_caps)
# Environment: PW (portwatch), TRIGGER, BB (a busybox, for nc), WORK (a
# scratch dir), CAPEXEC (tests/capexec, for caps). Output on stdout:
#   @@case MODE SCENARIO / @@file NAME / <lines> / ... / @@end
# Every wait is bounded; a hang is caught by the VM's timeout.
set -u
PW=${PW:-portwatch}
TRIGGER=${TRIGGER:-trigger}
BB=${BB:-busybox}
WORK=${WORK:?set WORK to a scratch dir}
mkdir -p "$WORK" || exit 1
# Each scenario gets a 10-port range in its own netns (trigger --private).
RANGE=40000-40009

emit() {	# emit NAME FILE: one file of the case
	echo "@@file $1"
	[ -f "$2" ] && awk 1 "$2"	# awk ends the last line
}

# wait_line FILE REGEX TENTHS: until a line matches, at most TENTHS/10 s
wait_line() {
	wait_lines "$1" "$2" 1 "$3"
}

# wait_lines FILE REGEX N TENTHS: until N lines of FILE match
wait_lines() {
	i=0
	while :; do
		# grep -c prints nothing for a file not there yet
		n=$(grep -cE -- "$2" "$1" 2>/dev/null)
		[ "${n:-0}" -ge "$3" ] && return 0
		i=$((i + 1))
		[ "$i" -gt "$4" ] && return 1
		sleep 0.1
	done
}

mode_args() { [ "$1" = auto ] && echo "" || echo "-m $1"; }

# pw_start MODE ARGS...: portwatch in the background, attached
pw_start() {
	m=$1
	shift
	# shellcheck disable=SC2046
	"$PW" $(mode_args "$m") "$@" > "$WORK/pw.out" 2> "$WORK/pw.err" &
	PW_PID=$!
	wait_line "$WORK/pw.err" 'attached in|^portwatch: (nothing|--mode)' 600
	grep -q 'attached in' "$WORK/pw.err"
}

pw_stop() {
	kill -INT "$PW_PID" 2>/dev/null
	wait "$PW_PID"
	echo "$?" > "$WORK/pw.rc"
}

begin() {
	rm -f "$WORK"/*
	echo "@@case $1 $2"
}

end() {
	emit pw.err "$WORK/pw.err"
	emit pw.rc "$WORK/pw.rc"
	emit truth "$WORK/truth"
	emit setup "$WORK/setup"
	echo "@@end"
}

# trig ARGS...: run trigger, append its JSON lines to the ground truth and
# note a non-zero exit in setup
trig() {
	"$TRIGGER" "$@" >> "$WORK/truth" 2>> "$WORK/setup" ||
		echo "trigger $* exited $?" >> "$WORK/setup"
}

# Failures, successes, both address families, a v4-mapped connect, a bound
# port whose 4-tuple is taken, and the --scan-depth scan, in one run with
# --all and --scan-depth. Checked per trigger pid.
sc_core() {
	begin "$1" core
	# -c: on the host other programs connect too
	if pw_start "$1" -j -a -S -c trigger; then
		trig --private $RANGE --port 18081 exhaust --count 25
		trig --private $RANGE --port 18090 --addr ::1 exhaust --count 17
		trig --private $RANGE --port 18091 --addr ::ffff:127.0.0.1 exhaust --count 12
		trig --private $RANGE --port 18089 --tw-reuse 2 bound --lport 50000
		scan_depth
		pw_stop
	fi
	emit pw.out "$WORK/pw.out"
	end
}

# A netns whose scan is not "every port of the range": 8 ports
# 40000-40007, 40002 reserved, 40005 held by a listener (bind()), every
# other port in TIME_WAIT towards 127.0.0.1:18092. See check.sh.
scan_depth() {
	"$BB" unshare -n sh -c '
		ip link set lo up || exit 1
		echo "40000 40007" > /proc/sys/net/ipv4/ip_local_port_range || exit 1
		echo 40002 > /proc/sys/net/ipv4/ip_local_reserved_ports || exit 1
		echo 0 > /proc/sys/net/ipv4/tcp_tw_reuse || exit 1
		# a RST must not end a TIME_WAIT early: on a slow (TCG) machine a
		# late duplicate ACK draws one from the listener now and then
		# (RFC 1337 assassination), which frees a port
		echo 1 > /proc/sys/net/ipv4/tcp_rfc1337 || exit 1
		"$0" nc -l -p 40005 < /dev/null > /dev/null 2>&1 &
		nc=$!
		i=0
		until grep -q ":9C45 0*:0000 0A" /proc/net/tcp /proc/net/tcp6; do
			i=$((i + 1)); [ $i -gt 100 ] && { kill $nc; echo "nc did not listen" >&2; exit 1; }
			sleep 0.1
		done
		"$1" --port 18092 exhaust --count 9; rc=$?
		kill $nc
		exit $rc' "$BB" "$TRIGGER" >> "$WORK/truth" 2>> "$WORK/setup" ||
		echo "scan-depth netns setup exited $?" >> "$WORK/setup"
}

# Nothing sent, yet no port shortage: connects closed before their first
# write after TCP Fast Open deferred their SYN (connect() returned 0), IPv4
# and IPv6, and IPv4 connects whose route lookup with the port they took
# fails (a 'sport 40000-40009 prohibit' rule: EACCES). See check.sh.
sc_causes() {
	begin "$1" causes
	if pw_start "$1" -j -a -c trigger; then
		trig --private $RANGE --port 18095 tfo --count 5
		trig --private $RANGE --port 18096 --addr ::1 tfo --count 5
		trig --private $RANGE --prohibit-sport $RANGE --port 18097 once --count 5
		pw_stop
	fi
	emit pw.out "$WORK/pw.out"
	end
}

# trig_held REGEX N ARGS...: trigger ARGS --hold in the background (its
# sockets stay open) until N lines of pw.out match REGEX, where "PID" in
# REGEX stands for the pid that fails (the pid of the record whose "holder"
# is the trigger's, else the trigger's own); at most 60 s, then SIGTERM
trig_held() {
	# names of their own: wait_lines sets i and n (sh has no locals)
	th_re=$1 th_n=$2
	shift 2
	"$TRIGGER" "$@" --hold 300 >> "$WORK/truth" 2>> "$WORK/setup" &
	th_tp=$!
	# the trigger's last record: bindport/holder or bindscope/other
	if wait_line "$WORK/truth" "\"mode\":\"bind(port/holder|scope/other)\",\"pid\":$th_tp," 600; then
		th_fp=$(sed -n "s/.*\"pid\":\([0-9]*\),.*\"holder\":$th_tp}\$/\1/p" "$WORK/truth")
		th_re=$(echo "$th_re" | sed "s/PID/${th_fp:-$th_tp}/")
		wait_lines "$WORK/pw.out" "$th_re" "$th_n" 600
	fi
	kill -TERM "$th_tp"
	wait "$th_tp" || echo "trigger $* exited $?" >> "$WORK/setup"
}

# --ops bind,udp (issue 23): bind(addr, 0) failing for want of a port, IPv4
# and IPv6, the same with IP_BIND_ADDRESS_NO_PORT (no bind fails), and UDP
# autobind by sendto and by connect failing with EAGAIN. The kernel's
# version goes along: the hooks need bpf_task_pt_regs (5.15+). First, with
# the sockets held until portwatch's diagnosis is out (trig_held): a
# bind(addr, 0) failing with the range taken by wildcard binds
# (bind_ports: range_exhausted), by binds of that address only
# (address_ports_taken), and a fixed-port bind refused because an outbound
# connection holds the port (port_holder: ephemeral) or a listener
# (listener). The bind_ports ones first: at most 4 of those diagnoses a
# second, and the bind0 runs make some too. See check.sh.
sc_ops() {
	begin "$1" ops
	uname -r > "$WORK/kernel"
	if pw_start "$1" -j --ops bind,udp -c trigger; then
		trig_held '"type":"bind_ports","time":"[^"]*","pid":PID,' 2 \
			--private $RANGE --port 18106 bindscope --wild --count 10
		trig_held '"type":"bind_ports","time":"[^"]*","pid":PID,' 1 \
			--private $RANGE --port 18107 bindscope --count 10
		trig_held '"type":"port_holder","time":"[^"]*","pid":PID,' 1 \
			--private $RANGE --reserved-ports 18000-18002,40009 --port 18108 bindport --count 3
		trig_held '"type":"port_holder","time":"[^"]*","pid":PID,' 1 \
			--private $RANGE --port 40005 bindport --listener --count 2
		trig --private $RANGE --port 18101 bind0 --count 14
		trig --private $RANGE --port 18102 --addr ::1 bind0 --count 13
		trig --private $RANGE --port 18103 bind0 --no-port --count 12
		trig --private $RANGE --port 18104 udp --count 13
		trig --private $RANGE --port 18105 udp --udp-connect --count 12
		pw_stop
	fi
	emit pw.out "$WORK/pw.out"
	emit kernel "$WORK/kernel"
	end
}

# -c and -P are filtered in the kernel: only pwvm-keep to :18086/:18087.
sc_filters() {
	begin "$1" filters
	if pw_start "$1" -j -c pwvm-keep -P 18086,18087; then
		trig --private $RANGE --comm pwvm-keep --port 18086 exhaust --count 15
		trig --private $RANGE --comm pwvm-keep --port 18085 exhaust --count 13
		trig --private $RANGE --comm pwvm-drop --port 18087 exhaust --count 11
		pw_stop
	fi
	emit pw.out "$WORK/pw.out"
	end
}

# -p: the target waits on a fifo so that portwatch starts first.
sc_pid() {
	begin "$1" pid
	mkfifo "$WORK/go"
	"$TRIGGER" --private $RANGE --go "$WORK/go" --port 18083 exhaust --count 14 \
		> "$WORK/target" 2>> "$WORK/setup" &
	tp=$!
	if wait_line "$WORK/target" '"type":"waiting"' 100 && pw_start "$1" -j -p "$tp"; then
		trig --private $RANGE --port 18084 exhaust --count 14
		# open and close without writing: the target closes its end at once
		: > "$WORK/go"
		wait "$tp" || echo "target trigger exited $?" >> "$WORK/setup"
		pw_stop
	else
		kill "$tp"
		echo "target did not wait or portwatch did not attach" >> "$WORK/setup"
	fi
	echo "{\"type\":\"target\",\"pid\":$tp}" >> "$WORK/truth"
	cat "$WORK/target" >> "$WORK/truth"
	emit pw.out "$WORK/pw.out"
	end
}

# Text mode with --interval: failure lines, interval tables, the summary.
sc_text() {
	begin "$1" text
	if pw_start "$1" -c pwvm-txt -i 1; then
		trig --private $RANGE --comm pwvm-txt --port 18093 exhaust --count 13
		# two interval tables after the failures, at most 30 s (a table
		# whose header came after the trigger's exit may have read the
		# counts just before it: the second one read them after)
		n=$(grep -c 'outcomes (interval' "$WORK/pw.out")
		i=0
		while [ "$(grep -c 'outcomes (interval' "$WORK/pw.out")" -le $((n + 1)) ] && [ $i -lt 300 ]; do
			i=$((i + 1))
			sleep 0.1
		done
		pw_stop
	fi
	emit pw.out "$WORK/pw.out"
	end
}

# The run time of portwatch's BPF programs so far, summed over its program
# fds (their fdinfo: run_time_ns and run_cnt, counted while
# kernel.bpf_stats_enabled is 1, which the VM's init sets; never on the host):
# file bpfstats, "RUN_TIME_NS RUN_CNT PROGRAMS RECURSION_MISSES" (runs the
# kernel skipped because the program was already running on that CPU; "-"
# before 5.12, whose fdinfo does not say).
bpf_stats() {
	[ "$(cat /proc/sys/kernel/bpf_stats_enabled 2>/dev/null)" = 1 ] || return 0
	for f in /proc/"$PW_PID"/fdinfo/*; do
		awk '/^prog_type:/ { p = 1 } /^run_time_ns:/ { t = $2 } /^run_cnt:/ { c = $2 }
			/^recursion_misses:/ { m = $2 }
			END { if (p) print t + 0, c + 0, (m == "" ? "-" : m) }' "$f" 2>/dev/null
	done | awk '{ t += $1; c += $2; if ($3 == "-") nm = 1; else m += $3; n++ }
		END { print t + 0, c + 0, n + 0, (nm ? "-" : m + 0) }' > "$WORK/bpfstats"
}

# nev (the number of connect events) and pw.out without them: tens of
# thousands of lines are counted here, not sent
emit_counted_events() {
	echo "@@file nev"
	grep -c '"type":"connect"' "$WORK/pw.out"
	echo "@@file pw.out"
	grep -v '"type":"connect"' "$WORK/pw.out"
}

# 8 processes failing at full speed: exact per-process counts. Events are
# counted here, not sent (tens of thousands of lines).
sc_parallel() {
	begin "$1" "${2:-parallel}"
	if pw_start "$1" -j -c pwvm-par; then
		trig --private $RANGE --comm pwvm-par parallel --procs 8 --seconds 2
		bpf_stats
		pw_stop
	fi
	emit_counted_events
	emit bpfstats "$WORK/bpfstats"
	end
}

# The cost per connect, sequential (no contention: on a preemptible kernel
# the run time of a preempted program includes the time it waited): 1,000
# successful connect+close to a loopback listener, bpf_stats, then 1,000
# failing ones (10-port range, 1,010 connects), bpf_stats again. Not in the
# default list: PW_VM_SCENARIOS=cost. check.sh ck_cost, run.sh prints BPF ns
# per successful and per failing connect.
sc_cost() {
	begin "$1" cost
	if pw_start "$1" -j -c pwvm-cost; then
		trig --private 30000-59999 --comm pwvm-cost --port 18098 once --count 1000
		bpf_stats
		mv "$WORK/bpfstats" "$WORK/bpfstats.ok"
		trig --private 40000-40009 --comm pwvm-cost --port 18099 exhaust --count 1010
		bpf_stats
		pw_stop
	fi
	emit_counted_events
	emit bpfstats.ok "$WORK/bpfstats.ok"
	emit bpfstats "$WORK/bpfstats"
	end
}

# connect() with an address the kernel refuses before reading it (too short,
# another family), and valid ones: never a destination made of kernel stack
# bytes (fentry/kprobe: daddr null; tracepoint: not seen). check_shortaddr.
sc_shortaddr() {
	begin "$1" shortaddr
	if pw_start "$1" -j -a -c pwvm-short; then
		trig --private $RANGE --comm pwvm-short --port 18095 shortaddr
		trig --private $RANGE --comm pwvm-short --addr ::1 --port 18096 shortaddr
		pw_stop
	fi
	emit pw.out "$WORK/pw.out"
	end
}

# Keys of outcomes other than EADDRNOTAVAIL past the room (lowered to 1 by
# PORTWATCH_TEST_PROCS_OPEN): refused addresses (fentry/kprobe see them
# without any network), successes, and an exhaustion whose EADDRNOTAVAIL
# keep their key. check.sh ck_unattr.
sc_unattr() {
	begin "$1" unattr
	export PORTWATCH_TEST_PROCS_OPEN=1
	if pw_start "$1" -j -q -c pwvm-unattr; then
		trig --private $RANGE --comm pwvm-unattr --port 18097 shortaddr
		trig --private $RANGE --comm pwvm-unattr --port 18097 exhaust --count 13
		trig --private $RANGE --comm pwvm-unattr --addr ::1 --port 18097 exhaust --count 12
		pw_stop
	fi
	unset PORTWATCH_TEST_PROCS_OPEN
	emit pw.out "$WORK/pw.out"
	end
}

KPE=/sys/kernel/tracing/kprobe_events
# kpe CMD: a kprobe_events definition, or a note in setup
kpe() { echo "$1" >> $KPE 2>> "$WORK/setup" || echo "kprobe_events: '$1' refused" >> "$WORK/setup"; }
start_of() { awk '{ sub(/.*\) /, ""); print $20 }' "/proc/$1/stat"; }

# SIGKILL: nothing of portwatch stays attached or defined. A (killed): the
# BPF programs, maps and links it held (fdinfo ids), then the system's list
# (trigger bpf-list) after the kill, until they are gone (at most 60 s).
# kprobe mode: its kprobe_events entries stay (the kernel keeps a definition
# until it is removed) and the next portwatch removes them, in any mode (C:
# tracepoint mode, then B: kprobe mode), and only
# portwatch's own whose maker is gone: look-alikes of other tools survive, a
# reused pid's entry (pid 1, another start time) goes, a live maker's stays.
# Files: a.err, held, bpf_before, bpf_after, kill.rc, krp_* (kprobe_events
# at each step), ids (pidns, A's pid, the live maker's pid and start).
sc_kill() {
	begin "$1" kill
	ns=$(stat -L -c %i /proc/self/ns/pid)
	sleep 600 &
	live=$!
	made=
	if [ "$1" = kprobe ]; then
		made="kprobes/pw_99999_krp_v4_connect othertool/pw_${ns}_99999_1_krp_v4_connect
			portwatch/pwx_${ns}_99999_1_krp_v4_connect portwatch/pw_${ns}_1_1_krp_v4_connect
			portwatch/pw_${ns}_${live}_$(start_of $live)_krp_v4_connect"
		for e in $made; do
			case $e in
			portwatch/pwx_*) kpe "p:$e tcp_v4_connect" ;;
			*) kpe "r:$e tcp_v4_connect" ;;
			esac
		done
	fi
	cat $KPE > "$WORK/krp_start" 2>/dev/null
	if pw_start "$1" -j -c pwvm-kill; then
		a=$PW_PID
		echo "{\"pidns\":$ns,\"a\":$a,\"live\":$live,\"live_start\":$(start_of $live)}" > "$WORK/ids"
		for k in prog map link; do
			cat /proc/$a/fdinfo/* 2>/dev/null | sed -n "s/^${k}_id:[[:space:]]*//p" | sort -un |
				sed "s/^/$k /"
		done > "$WORK/held"
		"$TRIGGER" bpf-list > "$WORK/bpf_before"
		cat $KPE > "$WORK/krp_running" 2>/dev/null
		trig --private $RANGE --comm pwvm-kill --port 18097 exhaust --count 12
		# every failure the trigger saw streamed before the kill (the
		# first line alone left the second one in flight: seen on 6.1)
		wait_lines "$WORK/pw.out" '"type":"connect".*"comm":"pwvm-kill"' \
			"$(grep '"port":18097,' "$WORK/truth" | tail -n 1 |
				sed -n 's/.*"EADDRNOTAVAIL":\([0-9]*\).*/\1/p')" 600
		kill -KILL "$a"
		wait "$a"
		echo $? > "$WORK/kill.rc"
		# moved away: pw_start must not find A's "attached" line
		mv "$WORK/pw.out" "$WORK/a.out"
		mv "$WORK/pw.err" "$WORK/a.err"
		i=0
		while :; do
			"$TRIGGER" bpf-list > "$WORK/bpf_after"
			gone=1
			while read -r k id; do
				grep -q "\"kind\":\"$k\",\"id\":$id[,}]" "$WORK/bpf_after" && gone=0
			done < "$WORK/held"
			[ $gone = 1 ] || [ $i -ge 600 ] && break
			i=$((i + 1))
			sleep 0.1
		done
		cat $KPE > "$WORK/krp_killed" 2>/dev/null
		# pins in the BPF filesystem (portwatch makes none): only in a VM,
		# where nothing else runs
		[ -n "${PW_IN_VM:-}" ] && { echo listed; ls -A /sys/fs/bpf; } > "$WORK/bpffs_killed"
		if [ "$1" = kprobe ]; then
			# a start in another mode removes them too (C: tracepoint, 1 s)
			"$PW" -m tracepoint -q -d 1 > /dev/null 2> "$WORK/c.err"
			echo $? > "$WORK/c.rc"
			cat $KPE > "$WORK/krp_after_c" 2>/dev/null
		fi
		if pw_start "$1" -j -c pwvm-kill; then
			cat $KPE > "$WORK/krp_next" 2>/dev/null
			trig --private $RANGE --comm pwvm-kill --port 18097 exhaust --count 13
			pw_stop
			cat $KPE > "$WORK/krp_after" 2>/dev/null
		fi
	fi
	kill $live
	# the look-alikes made here go (another tool's are its own business)
	for e in $made; do
		grep -q "[:]$e " $KPE 2>/dev/null && echo "-:$e" >> $KPE
	done
	emit pw.out "$WORK/pw.out"
	for f in a.out a.err held bpf_before bpf_after kill.rc krp_start krp_running krp_killed krp_next krp_after ids bpffs_killed c.err c.rc krp_after_c; do
		emit "$f" "$WORK/$f"
	done
	end
}

# The deployment case (docs/kubernetes.md, "Privileges and locked memory"): portwatch as root with only
# CAP_BPF and CAP_PERFMON (tests/capexec drops the rest, bounding set too,
# as a container runtime does) under a 64 KiB RLIMIT_MEMLOCK, a container's
# default, in auto mode:
#   limit   ulimit -l 64 (soft and hard)
#   soft    ulimit -S -l 64 (the hard limit unlimited)
#   sysres  ulimit -l 64, and CAP_SYS_RESOURCE too
# Files: caps (its /proc status Cap* lines and locked-memory limit once
# attached), pw.rc (also when it exits by itself), paranoid
# (kernel.perf_event_paranoid: Debian's level 3, its default, makes
# perf_event_open, hence kprobe mode, need CAP_SYS_ADMIN).
sc_caps() {
	for c in limit soft sysres; do
		begin caps "$c"
		cat /proc/sys/kernel/perf_event_paranoid > "$WORK/paranoid"
		caps=bpf,perfmon hard=64
		case $c in
		soft) hard=unlimited ;;
		sysres) caps=$caps,sys_resource ;;
		esac
		# the kernel's own default before 5.16 is 64 KiB, soft and hard
		(ulimit -H -l unlimited && ulimit -S -l 64 && ulimit -H -l $hard &&
			exec "$CAPEXEC" $caps "$PW" -j -a -c pwvm-cap) \
			> "$WORK/pw.out" 2> "$WORK/pw.err" &
		PW_PID=$!
		i=0
		# until attached or exited (a zombie until waited for), at most 60 s
		while ! grep -q 'attached in' "$WORK/pw.err" && [ $i -lt 600 ] && [ -e /proc/$PW_PID ] &&
			! grep -q '^State:[[:space:]]*Z' /proc/$PW_PID/status 2>/dev/null; do
			i=$((i + 1))
			sleep 0.1
		done
		if grep -q 'attached in' "$WORK/pw.err"; then
			grep '^Cap' /proc/$PW_PID/status > "$WORK/caps"
			grep '^Max locked memory' /proc/$PW_PID/limits >> "$WORK/caps"
			trig --private $RANGE --comm pwvm-cap --port 18094 exhaust --count 12
			pw_stop
		else
			kill "$PW_PID" 2>/dev/null
			wait "$PW_PID"
			echo "$?" > "$WORK/pw.rc"
		fi
		emit pw.out "$WORK/pw.out"
		emit caps "$WORK/caps"
		emit paranoid "$WORK/paranoid"
		end
	done
}

for mode in "$@"; do
	if [ "$mode" = caps ]; then
		sc_caps
		continue
	fi
	# PW_SCENARIOS: a subset (tests/vm/run.sh PW_VM_SCENARIOS)
	for s in ${PW_SCENARIOS:-core causes filters pid text parallel shortaddr unattr kill ops}; do
		case $s in
		core|causes|filters|pid|text|parallel|shortaddr|unattr|kill|cost|ops) "sc_$s" "$mode" ;;
		esac
	done
	if [ "$mode" = kprobe ] && { [ -z "${PW_SCENARIOS:-}" ] || echo " $PW_SCENARIOS " | grep -q " misses "; }; then
		# too few kretprobe instances on purpose: the misses must show
		export PORTWATCH_KRETPROBE_MAXACTIVE=1
		sc_parallel "$mode" misses
		unset PORTWATCH_KRETPROBE_MAXACTIVE
	fi
done
