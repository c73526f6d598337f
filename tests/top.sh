# portwatch --top in a real terminal: tmux (send-keys, capture-pane). Sourced
# by tests/run.sh after tests/lib.sh and tests/integration.sh (RANGE_LO/HI).

# top_tmux NAME CMD: a tmux server of the test's own (socket TOP_SOCK) with
# one 80x24 window running CMD under sh; killed when the test ends.
top_tmux() {
	command -v tmux > /dev/null || skip "tmux is not installed (make test-deps installs it)"
	TOP_SOCK=$T/tmux.$1
	defer "tmux -S $TOP_SOCK kill-server"
	must tmux -S "$TOP_SOCK" -f /dev/null new-session -d -x 80 -y 24 "$2"
	tmux -S "$TOP_SOCK" set-option -g remain-on-exit on > /dev/null
}
top_screen() { tmux -S "$TOP_SOCK" capture-pane -p "$@"; }
top_keys() { tmux -S "$TOP_SOCK" send-keys "$@"; }

# top_wait_screen REGEX SECONDS [WHAT]: until the screen shows REGEX (bounded)
top_wait_screen() {
	local lim=$(($2 * WAIT_SCALE))
	local end=$((SECONDS + lim))
	until top_screen | grep -qE -- "$1"; do
		if [ $SECONDS -ge $end ]; then
			fail "timed out after $lim s waiting for /$1/ on the screen${3:+ ($3)}"
			top_screen | sed 's/^/      screen: /'
			return 1
		fi
		sleep 0.05
	done
}

# The view's command under sh: the terminal's modes before and after, the
# exit code, then the pane stays (remain-on-exit) for the summary.
top_cmd() {
	echo "stty -g > $T/stty.before; $PW --top $* 2> $T/pw.err; echo \$? > $T/rc;" \
		"stty -g > $T/stty.after; exec sleep 600"
}

# The terminal as the view found it: same stty modes, the normal screen
# (not the alternate one), the cursor shown.
top_check_restored() {
	local end=$((SECONDS + $(waited 20)))
	until [ -s "$T/stty.after" ]; do
		[ $SECONDS -ge $end ] && { fail "the view did not end within 20 s"; return 1; }
		sleep 0.05
	done
	check_eq "stty modes after $1 = before" "$(cat "$T/stty.before")" "$(cat "$T/stty.after")"
	check_eq "alternate screen after $1" 0 \
		"$(tmux -S "$TOP_SOCK" display-message -p '#{alternate_on}')"
	check_eq "cursor shown after $1" 1 "$(tmux -S "$TOP_SOCK" display-message -p '#{cursor_flag}')"
}

# A destination row's TOTAL (the second column) on the screen.
top_row_total() { top_screen | awk -v d="$1" '$4 == d || $3 == d { print $2; exit }'; }

# A storm to three destinations from two cgroups of the test's own: the
# screen names the three, its totals equal what the clients counted, the
# sort and view keys work, 80x24 has no wrapped line, q restores the
# terminal and the summary on stdout counts every failure.
t_top_storm() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	local a=$OWN_CG/top-a b=$OWN_CG/top-b p1=$((21000 + RANDOM % 3000)) p2 p3 pid
	p2=$((p1 + 1)); p3=$((p1 + 2))
	must mkdir "$a" "$b"
	defer "rmdir $a $b"
	top_tmux storm "$(top_cmd --cgroup "$OWN_CG")"
	wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
	for d in "$a:pwt-topa:$p1" "$a:pwt-topa:$p2" "$b:pwt-topb:$p3"; do
		IFS=: read -r cg comm port <<<"$d"
		sh -c 'echo $$ > "$0/cgroup.procs" && exec ip netns exec "$@"' "$cg" "$NS" \
			"$TRIGGER" --comm "$comm" --port "$port" parallel --procs 2 --seconds 4 \
			> "$T/truth.$port" &
	done
	# during the storm: one screen names all three
	local end=$((SECONDS + $(waited 10))) screen
	until screen=$(top_screen) && grep -q "127\.0\.0\.1:$p1 " <<<"$screen" &&
		grep -q "127\.0\.0\.1:$p2 " <<<"$screen" && grep -q "127\.0\.0\.1:$p3 " <<<"$screen"; do
		[ $SECONDS -ge $end ] && { fail "no screen named the three destinations in 10 s"; break; }
		sleep 0.05
	done
	sed 's/^/      storm: /' <<<"$screen"
	wait
	local total=0 t
	for port in $p1 $p2 $p3; do
		t=$(truth_sum '.errors.EADDRNOTAVAIL' "$T/truth.$port")
		eval "truth_$port=$t"
		total=$((total + t))
	done
	# the next refresh after the clients ended shows the final counts
	top_wait_screen "total $total " 10 "the clients' $total failures" || exit 1
	# the census panel of the selected destination: its namespace, its range
	top_wait_screen "^127\.0\.0\.1:[0-9]+ \(netns $NS_INO\): 10/10 ports held" 10 \
		"the census panel" || exit 1
	top_keys p
	top_wait_screen "PAUSED" 5 || exit 1
	for port in $p1 $p2 $p3; do
		check_eq "the screen's total for 127.0.0.1:$port = the client's count" \
			"$(eval echo "\$truth_$port")" "$(top_row_total "127.0.0.1:$port")"
	done
	top_check_80x24
	top_check_sort "$p1" "$p2" "$p3"
	top_check_views
	top_keys q
	top_check_restored "q"
	check_eq "portwatch --top exit code after q" 0 "$(cat "$T/rc")"
	# the summary's FAILURES column (4th) over the clients' processes
	check_eq "the summary on stdout counts every failure" "$total" \
		"$(top_screen -J -S -100 | awk '$2 ~ /^pwt-top[ab]$/ { s += $4 } END { print s + 0 }')"
}

# 80x24: 24 lines, none wider than 80 and none wrapped (-J joins wrapped ones)
top_check_80x24() {
	local plain joined
	plain=$(top_screen | wc -l)
	joined=$(top_screen -J | wc -l)
	check_eq "lines on the 80x24 screen" 24 "$plain"
	check_eq "lines once wrapped ones are joined (none wrapped)" 24 "$joined"
	check_eq "lines wider than 80" 0 "$(top_screen -J | awk 'length($0) > 80' | wc -l)"
}

# s: failures/s -> total -> name; by name the rows are in port order, by
# total in decreasing totals.
top_check_sort() {
	local rows
	top_keys s
	top_wait_screen "destinations by total" 5 || return
	rows=$(top_screen | awk '$4 ~ /^127\.0\.0\.1:/ { print $2 }')
	check_eq "by total: the totals in decreasing order" "$(sort -rn <<<"$rows")" "$rows"
	top_keys s
	top_wait_screen "destinations by name" 5 || return
	check_eq "by name: the destinations in order" \
		"$(printf '127.0.0.1:%s\n' "$1" "$2" "$3")" \
		"$(top_screen | awk '$4 ~ /^127\.0\.0\.1:/ { print $4 }')"
	top_keys s
	top_wait_screen "destinations by failures/s" 5
}

# v: destinations -> workloads (the two cgroups) -> processes (the clients)
top_check_views() {
	top_keys v
	top_wait_screen "workloads by" 5 || return
	top_screen | grep -q '/top-a ' || fail "the workloads view does not name top-a"
	top_screen | grep -q '/top-b ' || fail "the workloads view does not name top-b"
	top_keys v
	top_wait_screen "processes by" 5 || return
	top_screen | grep -qE '^ +[0-9]+ +[0-9]+ +[-0-9]+ [0-9]+ pwt-topb ' ||
		fail "the processes view does not show a pwt-topb process"
	top_keys v
	top_wait_screen "destinations by" 5
}

# SIGTERM and SIGINT stop the view like q (terminal restored, summary out,
# exit 0); a crash (SIGSEGV) restores the terminal before it dies.
t_top_signals() {
	own_cgroup
	local sig pid
	for sig in TERM INT SEGV; do
		rm -f "$T/stty.after" "$T/rc"
		: > "$T/pw.err"
		top_tmux "$sig" "$(top_cmd --cgroup "$OWN_CG")"
		wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
		top_wait_screen "^portwatch .* up " 10 || exit 1
		pid=$(pgrep -nx portwatch -P "$(tmux -S "$TOP_SOCK" display-message -p '#{pane_pid}')")
		[ -n "$pid" ] || { fail "no portwatch under the pane"; exit 1; }
		kill -"$sig" "$pid"
		top_check_restored "SIG$sig"
		if [ "$sig" = SEGV ]; then
			check_eq "exit code after SIGSEGV (the signal's)" 139 "$(cat "$T/rc")"
		else
			check_eq "exit code after SIG$sig" 0 "$(cat "$T/rc")"
			top_screen -J -S -50 | grep -q 'per-process connect() outcomes (summary' ||
				fail "no summary on stdout after SIG$sig"
		fi
		tmux -S "$TOP_SOCK" kill-server
	done
}

# Not a terminal: stdout a pipe, TERM unset or dumb: exit 2 and one line;
# --json is refused with --top.
t_top_not_a_terminal() {
	local out rc
	out=$("$PW" --top 2>&1 > "$T/out" < /dev/null)
	rc=$?
	check_eq "exit code, stdout a file" 2 "$rc"
	check_eq "lines on stderr, stdout a file" 1 "$(grep -c . <<<"$out")"
	grep -q 'needs a terminal' <<<"$out" || fail "stderr does not say why: $out"
	"$PW" --top 2> "$T/err" | cat > /dev/null
	check_eq "exit code, stdout a pipe" 2 "${PIPESTATUS[0]}"
	for term in unset dumb; do
		if [ "$term" = unset ]; then
			script -qec "env -u TERM $PW --top; echo rc=\$?" "$T/tty.$term" > /dev/null < /dev/null
		else
			script -qec "env TERM=dumb $PW --top; echo rc=\$?" "$T/tty.$term" > /dev/null < /dev/null
		fi
		grep -q 'rc=2' "$T/tty.$term" || fail "TERM $term: exit code not 2: $(tr -d '\r' < "$T/tty.$term")"
		grep -q "TERM is $term" "$T/tty.$term" || fail "TERM $term: not said"
	done
	"$PW" --top --json > /dev/null 2> "$T/err"
	check_eq "exit code of --top --json" 2 "$?"
	grep -q -- '--top is a terminal view' "$T/err" || fail "--top --json: $(cat "$T/err")"
}

# The plain text mode in a terminal narrower than its line (issue 24 item
# 5): at 80 columns the header is PID COMM DESTINATION CAUSE, no event or
# "... more" line is over 80 columns, and they still count every failure;
# at 200 columns every column is there.
t_text_narrow_tty() {
	own_cgroup
	command -v tmux > /dev/null || skip "tmux is not installed (make test-deps installs it)"
	mk_netns $RANGE_LO $RANGE_HI
	local port=$((21000 + RANDOM % 3000)) width fails printed more
	for width in 80 200; do
		: > "$T/pw.err"
		TOP_SOCK=$T/tmux.txt$width
		defer "tmux -S $TOP_SOCK kill-server"
		must tmux -S "$TOP_SOCK" -f /dev/null new-session -d -x "$width" -y 50 \
			"exec $PW --cgroup $OWN_CG -c pwt-narrow -P $port 2> $T/pw.err"
		wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
		must in_ns "$TRIGGER" --comm pwt-narrow --port "$port" exhaust --count 30 > "$T/truth"
		fails=$(truth_sum '.errors.EADDRNOTAVAIL' "$T/truth")
		# the fold's line comes within its 1 s window
		top_wait_screen "\.\.\. [0-9]+ more  pwt-narrow" 10 || exit 1
		top_screen -J > "$T/screen.$width"
		if [ "$width" = 80 ]; then
			check_eq "the header at 80 columns" "PID     COMM             DESTINATION                  CAUSE" \
				"$(head -n 1 "$T/screen.$width" | sed 's/ *$//')"
			check_eq "event and '... more' lines over 80 columns" 0 \
				"$(grep -E '^[0-9:.]* *[0-9]+ +pwt-narrow |^  \.\.\. [0-9,]+ more  pwt-narrow' "$T/screen.$width" |
					awk 'length($0) > 80' | wc -l)"
		else
			check_eq "the header at 200 columns" \
				"TIME PID COMM FAM DESTINATION ERRNO CAUSE RANGE SCAN WORKLOAD" \
				"$(head -n 1 "$T/screen.$width" | tr -s ' ' | sed 's/ *$//')"
		fi
		printed=$(grep -cE "^[0-9:.]* *[0-9]+ +pwt-narrow +.*127\.0\.0\.1:$port " "$T/screen.$width")
		more=$(sed -nE 's/^  \.\.\. ([0-9,]+) more  pwt-narrow.*/\1/p' "$T/screen.$width" | tr -d , |
			awk '{ s += $1 } END { print s + 0 }')
		check_eq "lines + '... more' at $width columns = the client's failures" "$fails" \
			"$((printed + more))"
		tmux -S "$TOP_SOCK" kill-server
		mk_netns $RANGE_LO $RANGE_HI
	done
}

# The text mode's blocks in a narrow terminal (issue 24 item 5): in a 60-
# and an 80-column pane, the live pressure line ("  -> "), the live
# REMEDIES block and the exit summary with its table and Remedies block
# have no line over the width (but a single word longer than it, the one
# exception), no line wrapped, and each remedy, its folded lines joined
# again, is whole: its command text ("1024 65535", the sysctl names) in one
# piece.
narrow_items() {	# the "- " and "-> " items of a pane, their folded lines joined
	awk 'function out() { if (item != "") print item; item = "" }
	{
		match($0, /^ */); ind = RLENGTH; rest = substr($0, ind + 1)
		if (rest ~ /^(- |-> )/) { out(); body = ind + (rest ~ /^- / ? 2 : 3); item = $0; next }
		if (item != "" && ind == body && rest != "") { item = item " " rest; next }
		out()
	} END { out() }' "$1"
}
t_text_narrow_blocks() {
	own_cgroup
	command -v tmux > /dev/null || skip "tmux is not installed (make test-deps installs it)"
	local width port fails over npress
	for width in 60 80; do
		mk_netns $RANGE_LO $RANGE_HI
		port=$((21000 + RANDOM % 3000))
		: > "$T/pw.err"
		rm -f "$T/rc" "$T/pwpid"
		TOP_SOCK=$T/tmux.blk$width
		defer "tmux -S $TOP_SOCK kill-server"
		# stopped by SIGINT from kill, not C-c: the terminal's own "^C" echo
		# would start the next line 2 columns in
		must tmux -S "$TOP_SOCK" -f /dev/null new-session -d -x "$width" -y 50 \
			"sh -c 'echo \$\$ > $T/pwpid; exec $PW --cgroup $OWN_CG -P $port 2> $T/pw.err'; echo \$? > $T/rc; exec sleep 600"
		tmux -S "$TOP_SOCK" set-option -g history-limit 5000 > /dev/null
		wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
		must in_ns "$TRIGGER" --comm pwt-narrowb --port "$port" exhaust --count 30 > "$T/truth"
		fails=$(truth_sum '.errors.EADDRNOTAVAIL' "$T/truth")
		check_eq "the client's failures (10 ports)" 20 "$fails"
		# the live block: its last remedy is "Last resort"
		top_wait_screen "^    - Last resort" 20 "the live REMEDIES block" || exit 1
		kill -INT "$(cat "$T/pwpid")"
		local end=$((SECONDS + $(waited 20)))
		until [ -s "$T/rc" ]; do
			[ $SECONDS -ge $end ] && { fail "portwatch did not stop within 20 s"; exit 1; }
			sleep 0.05
		done
		check_eq "exit code at $width columns" 0 "$(cat "$T/rc")"
		top_screen -J -S - > "$T/blk.$width"
		top_screen -S - > "$T/raw.$width"
		# one pressure line per 5 s: one, or more on a machine that stalls
		npress=$(grep -cE "^  -> 127\.0\.0\.1:$port \(netns $NS_INO\): 10/10 ports held" "$T/blk.$width")
		[ "$npress" -ge 1 ] || fail "$width columns: no live pressure line"
		check_eq "$width columns: one live REMEDIES block" 1 \
			"$(grep -c "^REMEDIES for 127\.0\.0\.1:$port " "$T/blk.$width")"
		check_eq "$width columns: the summary's table, its FAILURES the client's" "$fails" \
			"$(awk '$2 == "pwt-narrowb" { s += $4 } END { print s + 0 }' "$T/blk.$width")"
		check_eq "$width columns: one summary Remedies block" 1 \
			"$(grep -c "^Remedies for 127\.0\.0\.1:$port " "$T/blk.$width")"
		# over the width: only a line that is one word (none here)
		over=$(awk -v w="$width" 'length($0) > w' "$T/blk.$width")
		check_eq "$width columns: lines over the width" "" "$over"
		check_eq "$width columns: wrapped lines (capture -J joins them)" \
			"$(grep -c '' "$T/raw.$width")" "$(grep -c '' "$T/blk.$width")"
		# every remedy whole, live and in the summary, once joined
		narrow_items "$T/blk.$width" > "$T/items.$width"
		check_eq "$width columns: the widen remedy whole, live and in the summary" 2 \
			"$(grep -cF -- '- Widen net.ipv4.ip_local_port_range: it has 10 ports (10 usable); "1024 65535" gives 64512. Then list the ports your servers listen on in net.ipv4.ip_local_reserved_ports, or clients may take them first.' "$T/items.$width")"
		check_eq "$width columns: the tw_reuse remedy whole, live and in the summary" 2 \
			"$(grep -cE -- '- Set net\.ipv4\.tcp_tw_reuse=2 \(the default: loopback only\) or 1 in this netns: it is 0, so TIME_WAIT ports towards this loopback destination are never reused, not even after 1 s \([0-9]+ in TIME_WAIT now\)\.$' "$T/items.$width")"
		check_eq "$width columns: the last-resort remedy whole, live and in the summary" 2 \
			"$(grep -cF -- '- Last resort: one (source, destination address, port) tuple offers at most 10 usable local ports here; spread connections over more destination addresses or ports, or add source addresses.' "$T/items.$width")"
		check_eq "$width columns: the commands on one line each" '2 2 2 2' \
			"$(for c in '"1024 65535"' net.ipv4.ip_local_port_range: net.ipv4.ip_local_reserved_ports, \
				net.ipv4.tcp_tw_reuse=2; do grep -cF -- "$c" "$T/blk.$width"; done | xargs)"
		check_eq "$width columns: the pressure lines whole" "$npress" \
			"$(grep -cE "^  -> 127\.0\.0\.1:$port \(netns $NS_INO\): 10/10 ports held, [0-9]+ TIME_WAIT, tw_reuse=0\$" "$T/items.$width")"
		tmux -S "$TOP_SOCK" kill-server
	done
}

# Colour only when the terminal has it and NO_COLOR is unset or empty: the
# range bar is green (SGR 32) in tmux, and no colour is drawn with NO_COLOR=1.
t_top_no_color() {
	own_cgroup
	local nc sgr
	for nc in "" 1; do
		: > "$T/pw.err"
		rm -f "$T/stty.after"
		top_tmux "nc$nc" "export NO_COLOR=$nc; $(top_cmd --cgroup "$OWN_CG")"
		wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
		top_wait_screen "^range [0-9]+-[0-9]+ \[" 10 || exit 1
		sgr=$(top_screen -e | grep -c $'^range .*\e\\[[0-9;]*3[1-3]m')
		if [ -z "$nc" ]; then
			check_eq "range lines drawn in colour (NO_COLOR unset)" 1 "$sgr"
		else
			check_eq "range lines drawn in colour (NO_COLOR=1)" 0 "$sgr"
		fi
		top_keys q
		top_check_restored q
		tmux -S "$TOP_SOCK" kill-server
	done
}

# A process name with control bytes (ESC [ 2 J, ^A) is drawn as '?': no
# sequence reaches the terminal, the 80x24 screen keeps 24 unwrapped lines.
t_top_hostile_comm() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	local port=$((21000 + RANDOM % 3000))
	top_tmux hostile "$(top_cmd --cgroup "$OWN_CG")"
	wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
	must in_ns "$TRIGGER" --comm-hex 1b5b324a0161 --port "$port" exhaust --count 12 > "$T/truth"
	top_keys v v
	top_wait_screen "processes by" 5 || exit 1
	top_wait_screen " [0-9]+ \?\[2J\?a " 10 "the name drawn with '?'" || exit 1
	top_check_80x24
	top_keys q
	top_check_restored q
}

# -i sets the refresh (shown in the header), -d ends the view like q.
t_top_interval_duration() {
	own_cgroup
	top_tmux dur "$(top_cmd -i 2 -d 3 --cgroup "$OWN_CG")"
	wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
	top_wait_screen "^portwatch .* up [0-9:]+  2s  destinations" 10 "-i 2 in the header" || exit 1
	top_check_restored "-d 3"
	check_eq "exit code after -d" 0 "$(cat "$T/rc")"
	top_screen -J -S -50 | grep -q 'per-process connect() outcomes (summary' ||
		fail "no summary on stdout after -d"
}

# SIGWINCH: the view is drawn again at the new size, columns dropped to fit
# (at 60 columns REMEDY and the socket states go), no line wider.
t_top_resize() {
	own_cgroup
	top_tmux resize "$(top_cmd --cgroup "$OWN_CG")"
	wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || exit 1
	top_wait_screen "FAIL/S .* REMEDY" 10 "the 80-column table" || exit 1
	must tmux -S "$TOP_SOCK" resize-window -x 60 -y 20
	top_wait_screen "^ FAIL/S +TOTAL DESTINATION +TOP WORKLOAD *$" 10 "the 60-column table" || exit 1
	check_eq "lines at 60x20" 20 "$(top_screen -J | wc -l)"
	check_eq "lines wider than 60" 0 "$(top_screen -J | awk 'length($0) > 60' | wc -l)"
	top_keys q
	top_check_restored q
}
