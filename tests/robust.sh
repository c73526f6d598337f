# Robustness tests (sourced by tests/run.sh after tests/lib.sh and
# tests/integration.sh): signals, bad --netns and environment, two
# instances at once. Each t_robust_* makes its own netns.

# A trigger run's EADDRNOTAVAIL failures (its own ground truth).
failures_of() { truth_sum '.errors.EADDRNOTAVAIL' "$1"; }

# kprobe_events entries of portwatch process $1 (kprobe mode makes them,
# named portwatch/pw_<pidns>_<pid>_<start>_<prog>; other instances on this
# shared machine have their own pids).
krp_entries_of() {
	local d
	for d in /sys/kernel/tracing /sys/kernel/debug/tracing; do
		[ -r "$d/kprobe_events" ] && { grep -c ":portwatch/pw_[0-9]*_$1_" "$d/kprobe_events"; return; }
	done
	echo 0
}

# stop_with SIG PID WHAT: send SIG, wait, exit code must be 0.
stop_with() {
	kill -"$1" "$2"
	wait "$2"
	check_eq "$3 exit code after SIG$1" 0 $?
}

# SIGHUP stops like SIGINT/SIGTERM: exit 0, the events drained, the summary
# printed, no kprobe_events entry left.
t_robust_sighup() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --cgroup="$OWN_CG"
	must in_ns "$TRIGGER" --comm pwt-hup --port 18091 exhaust --count 13 > "$T/trig"
	check_eq "failures (the scenario)" 3 "$(failures_of "$T/trig")"
	stop_with HUP "$PW_PID" portwatch
	check_eq "events" 3 "$(ns_events | wc -l)"
	check_eq "summary objects" 1 "$(summary | wc -l)"
	check_eq "summary failures of the trigger" 3 \
		"$(summary | jq "[.processes[] | select(.comm == \"pwt-hup\") | .failures] | add")"
	check_eq "its kprobe_events entries after exit" 0 "$(krp_entries_of "$PW_PID")"
}

# --netns on what is not a namespace file: one line, exit 2, at once (a FIFO
# used to block in open() forever).
t_robust_netns_not_a_namespace() {
	local spec rc
	mkfifo "$T/fifo"
	mkdir "$T/dir"
	for spec in "$T/fifo" "$T/dir" /dev/null /dev/zero; do
		timeout 20 "$PW" --census --netns="$spec" > "$T/out" 2> "$T/err"
		rc=$?
		check_eq "--netns=$spec exit code" 2 "$rc"
		check_eq "--netns=$spec stderr" "portwatch: --netns=$spec: $spec is not a namespace file" \
			"$(cat "$T/err")"
		check_eq "--netns=$spec stdout" "" "$(cat "$T/out")"
	done
	# a FIFO among the named netns of /run/netns (in a private mount
	# namespace, so no other program sees it): the census of every netns
	# skips it instead of blocking
	command -v unshare >/dev/null || skip "unshare (util-linux) not installed"
	timeout 60 unshare --mount --propagation private sh -c '
		mkdir -p /run/netns && mount -t tmpfs pwt-netns /run/netns &&
		mkfifo /run/netns/pwt-fifo && exec "$1" --census -j' sh "$PW" > "$T/out" 2> "$T/err"
	rc=$?
	check_eq "--census with a FIFO in /run/netns: exit code" 0 "$rc"
	# (a process whose netns cannot be read is said on a "partial" line:
	# this sandbox's pid 1 is one; that line is not about the FIFO)
	check_eq "--census with a FIFO in /run/netns: stderr" "" \
		"$(grep -v '^portwatch: --census is partial: ' "$T/err")"
	check_eq "--census with a FIFO in /run/netns: no netns is refused (setns)" 0 \
		"$(grep -c 'is partial: [1-9][0-9]* network namespaces not entered' "$T/err")"
}

# --netns means nothing without --census: a usage error, not ignored (and
# never attached: no "attached in" line).
t_robust_netns_without_census() {
	local rc args
	for args in "--netns=/proc/self/ns/net" "-j --netns 1"; do
		timeout 20 "$PW" $args > "$T/out" 2> "$T/err"
		rc=$?
		check_eq "'$args' exit code" 2 "$rc"
		check_eq "'$args' first stderr line" \
			"portwatch: --netns needs --census (tracing covers every network namespace)" \
			"$(head -n 1 "$T/err")"
		check_eq "'$args' stdout" "" "$(cat "$T/out")"
		check_eq "'$args' attach lines" 0 "$(grep -c 'attached in' "$T/err")"
	done
}

# A bad PORTWATCH_KRETPROBE_MAXACTIVE is a usage error in every mode, not a
# silent 1024; the one line is all it prints (nothing attached).
t_robust_bad_kretprobe_maxactive() {
	local rc v
	for v in abc 0 4097 -1 " 5" 5x 99999999999999999999; do
		PORTWATCH_KRETPROBE_MAXACTIVE=$v timeout 20 "$PW" -d 1 > "$T/out" 2> "$T/err"
		rc=$?
		check_eq "'$v' exit code" 2 "$rc"
		check_eq "'$v' stderr" \
			"portwatch: PORTWATCH_KRETPROBE_MAXACTIVE='$v': a number from 1 to 4096" \
			"$(cat "$T/err")"
	done
	# in range: it runs
	PORTWATCH_KRETPROBE_MAXACTIVE=4096 timeout 60 "$PW" -d 1 -q > "$T/out" 2> "$T/err"
	check_eq "4096: exit code" 0 $?
}

# Two instances at once both count exactly; stopping one leaves the other
# exact.
t_robust_two_instances() {
	local b_pid
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --cgroup="$OWN_CG"
	"$PW" -j --cgroup="$OWN_CG" > "$T/b.out" 2> "$T/b.err" &
	b_pid=$!
	defer "kill -INT $b_pid; wait $b_pid"
	wait_for "$T/b.err" 'attached in' 20 || exit 1
	must in_ns "$TRIGGER" --comm pwt-two --port 18092 exhaust --count 17 > "$T/t1"
	check_eq "first run's failures (the scenario)" 7 "$(failures_of "$T/t1")"
	stop_with TERM "$b_pid" "second instance's"
	# the other ten ports are still in TIME_WAIT: every connect fails
	must in_ns "$TRIGGER" --comm pwt-two --port 18092 exhaust --count 4 > "$T/t2"
	check_eq "second run's failures (the scenario)" 4 "$(failures_of "$T/t2")"
	pw_stop
	check_eq "first instance: events of both runs" 11 "$(ns_events | wc -l)"
	check_eq "first instance: summary failures" 11 \
		"$(summary | jq '[.processes[] | select(.comm == "pwt-two") | .failures] | add')"
	check_eq "second instance: events of the first run" 7 \
		"$(jq -c --argjson ns "$NS_INO" 'select(.type == "connect" and .netns == $ns)' "$T/b.out" | wc -l)"
	check_eq "second instance: summary failures" 7 \
		"$(jq -c 'select(.type == "summary")' "$T/b.out" |
		   jq '[.processes[] | select(.comm == "pwt-two") | .failures] | add')"
}

# connect() with an address length or family the kernel refuses before it
# reads the address: never a destination made of uninitialised kernel bytes.
# In tracepoint mode (this host) those connects are not seen at all; the
# valid ones around them are, with their destination. fentry/kprobe: the
# kernel matrix (tests/vm, scenario shortaddr).
t_robust_short_addrlen() {
	local mode
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -a --cgroup="$OWN_CG"
	mode=$(sed -n 's/^portwatch: attached in \([a-z]*\) mode.*/\1/p' "$T/pw.err")
	must in_ns "$TRIGGER" --comm pwt-short --port 18095 shortaddr > "$T/trig"
	must in_ns "$TRIGGER" --comm pwt-short --addr ::1 --port 18096 shortaddr >> "$T/trig"
	check_eq "trigger records (5 IPv4 cases, 7 IPv6)" 12 "$(grep -c '"shortaddr/' "$T/trig")"
	check_eq "refused by the kernel (the scenario)" 9 \
		"$(jq -s '[.[] | select(.ok == 0 and ((.errors.EINVAL // 0) + (.errors.EAFNOSUPPORT // 0)) == 1)] | length' "$T/trig")"
	pw_stop
	check_shortaddr "$mode" "$T/trig" "$T/pw.out"
	check_eq "failure events with a destination (every failure here is a refused address)" 0 \
		"$(jq -c 'select(.type == "connect" and .comm == "pwt-short" and .errno != null and .daddr != null)' "$T/pw.out" | wc -l)"
}

# bpf_ids PID KIND: the ids of KIND (prog, map, link) that process PID holds
# (its fds' fdinfo: a link's fd names its program too)
bpf_ids() {
	cat /proc/"$1"/fdinfo/* 2>/dev/null | sed -n "s/^$2_id:[[:space:]]*//p" | sort -un | tr '\n' ' '
}

# bpf_alive KIND IDS...: those of the ids that still exist (bpftool)
bpf_alive() {
	local kind=$1 id
	shift
	for id in "$@"; do
		bpftool "$kind" show id "$id" > /dev/null 2>&1 && echo "$id"
	done | tr '\n' ' '
}

# After SIGKILL nothing of portwatch stays attached or defined: its BPF
# programs, maps and links (by the ids it held, so that other instances on
# this machine do not count) are gone once the kernel has released its fds;
# it pins nothing and makes no cgroup or netns (tracepoint and fentry mode:
# no tracefs entry either; kprobe mode's kprobe_events entries, one per
# kretprobe, stay until the next start removes them). The kernel frees them after an
# RCU grace period: a bounded wait.
t_robust_sigkill() {
	local progs maps links names left end rc
	command -v bpftool > /dev/null || skip "bpftool not installed"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j --cgroup="$OWN_CG"
	progs=$(bpf_ids "$PW_PID" prog) maps=$(bpf_ids "$PW_PID" map) links=$(bpf_ids "$PW_PID" link)
	names=$(for id in $progs; do bpftool prog show id "$id" -j | jq -r .name; done | sort -u | tr '\n' ' ')
	echo "    info: portwatch $PW_PID holds programs [$progs] ($names), maps [$maps], links [$links]"
	# those of the mode it attached in (tracepoint: tp_set_state; fentry:
	# fe_*/fx_*; kprobe: kp_*/krp_*)
	local mode re
	mode=$(pw_mode)
	case $mode in
	tracepoint) re='^tp_set_state$' ;;
	fentry) re='^f[ex]_[a-z0-9_]+$' ;;
	kprobe) re='^kr?p_[a-z0-9_]+$' ;;
	*) re='^$' ;;
	esac
	[ -n "$names" ] || fail "no program ids found in its fdinfo"
	check_eq "its programs are those of $mode mode" "" \
		"$(for n in $names; do grep -qE "$re" <<<"$n" || echo "$n"; done)"
	[ -n "$maps" ] || fail "no map ids found in its fdinfo"
	[ -n "$links" ] || fail "no link ids found in its fdinfo"
	# attached and counting: the scenario's failures come out as events
	must in_ns "$TRIGGER" --comm pwt-kill --port 18097 exhaust --count 12 > "$T/trig"
	check_eq "failures (the scenario)" 2 "$(failures_of "$T/trig")"
	wait_count "$T/pw.out" '"comm":"pwt-kill"' 2 20
	kill -KILL "$PW_PID"
	wait "$PW_PID"
	rc=$?
	check_eq "exit status after SIGKILL (128 + 9)" 137 "$rc"
	end=$((SECONDS + $(waited 20)))
	while :; do
		# shellcheck disable=SC2086
		left="$(bpf_alive prog $progs)$(bpf_alive map $maps)$(bpf_alive link $links)"
		[ -z "$left" ] || [ $SECONDS -ge $end ] && break
		sleep 0.1
	done
	# shellcheck disable=SC2086
	check_eq "programs left after SIGKILL" "" "$(bpf_alive prog $progs)"
	# shellcheck disable=SC2086
	check_eq "maps left after SIGKILL" "" "$(bpf_alive map $maps)"
	# shellcheck disable=SC2086
	check_eq "links left after SIGKILL" "" "$(bpf_alive link $links)"
	# kprobe mode's kretprobes are tracefs kprobe_events entries (for
	# maxactive): a SIGKILL leaves them, one per kretprobe program, and the
	# next start removes them; other modes make none
	local krp=0 killed=$PW_PID
	[ "$mode" = kprobe ] && krp=$(grep -c '^krp_' <<<"$(tr ' ' '\n' <<<"$names")")
	check_eq "kprobe_events entries of it after SIGKILL ($mode mode)" "$krp" "$(krp_entries_of "$killed")"
	# a new instance attaches and counts exactly (the killed one's output
	# moved away: pw_start must not find its "attached" line)
	mv "$T/pw.out" "$T/killed.out"
	mv "$T/pw.err" "$T/killed.err"
	pw_start -j --cgroup="$OWN_CG"
	check_eq "kprobe_events entries of the killed one once the next has started" 0 "$(krp_entries_of "$killed")"
	must in_ns "$TRIGGER" --comm pwt-kill --port 18097 exhaust --count 3 > "$T/trig2"
	check_eq "next run's failures (the scenario: the range still full)" 3 "$(failures_of "$T/trig2")"
	pw_stop
	check_eq "next instance: events" 3 "$(ns_events | wc -l)"
}

# The event loop stopping on an error (epoll_wait failing in the main
# thread, injected by tests/failshim.so once a file exists): exit status 1,
# one line on stderr saying what, the events so far and the summary still
# written, and nothing left attached.
t_robust_loop_error() {
	local shim=$OUT/tests/failshim.so progs rc end left
	[ -f "$shim" ] || skip "$shim not built (make tools)"
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	# only portwatch gets the shim (not this shell's sleeps and greps)
	printf '#!/bin/sh\nPWT_EPOLL_FAIL_FILE=%s LD_PRELOAD=%s exec %s "$@"\n' \
		"$T/fail" "$(realpath "$shim")" "$(realpath "$PW")" > "$T/pw-shim"
	chmod +x "$T/pw-shim"
	PW=$T/pw-shim pw_start -j --cgroup="$OWN_CG"
	progs=$(bpf_ids "$PW_PID" prog)
	must in_ns "$TRIGGER" --comm pwt-loop --port 18098 exhaust --count 13 > "$T/trig"
	check_eq "failures (the scenario)" 3 "$(failures_of "$T/trig")"
	wait_count "$T/pw.out" '"comm":"pwt-loop"' 3 20
	touch "$T/fail"
	end=$((SECONDS + $(waited 20)))
	while kill -0 "$PW_PID" 2> /dev/null && [ $SECONDS -lt $end ]; do sleep 0.05; done
	wait "$PW_PID"
	rc=$?
	check_eq "exit status after the loop's error" 1 "$rc"
	check_eq "stderr: the error's line" 1 \
		"$(grep -c '^portwatch: epoll_wait: Input/output error$' "$T/pw.err")"
	check_eq "events" 3 "$(ns_events | wc -l)"
	check_eq "summary failures" 3 \
		"$(summary | jq '[.processes[] | select(.comm == "pwt-loop") | .failures] | add')"
	check_eq "last line is the summary" summary "$(tail -n 1 "$T/pw.out" | jq -r .type)"
	if command -v bpftool > /dev/null; then
		end=$((SECONDS + $(waited 20)))
		# shellcheck disable=SC2086
		until left=$(bpf_alive prog $progs); [ -z "$left" ] || [ $SECONDS -ge $end ]; do sleep 0.1; done
		check_eq "programs left" "" "$left"
	fi
}
