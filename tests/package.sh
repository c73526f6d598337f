# Packaging tests (sourced by tests/run.sh; `tests/run.sh package` runs them):
# the man page, its agreement with --help, the bash completion, the systemd
# unit, `make install`, and the Debian package built from a fresh clone,
# installed and removed.

MAN_SRC=deploy/portwatch.8
COMPLETION_SRC=deploy/portwatch.bash-completion
UNIT_SRC=deploy/portwatch.service

# The options of `portwatch --help`, one a line, as "-p, --pid=PID" or
# "--census" (the short option, the long one, its argument as argp prints it).
help_options() {
	"$PW" --help | sed -nE 's/^ {2,}((-[^-]), )?(--[[:alnum:]][[:alnum:].-]*)((\[?=)[^ ]*)?.*/\2 \3\4/p' |
		sed 's/^ //; s/^\(-.\) /\1, /'
}

# The same from the man page: the line after each .TP of its OPTIONS section,
# without font escapes.
man_options() {
	awk '/^\.SH/ { s = ($2 == "OPTIONS") } s && p { print } { p = /^\.TP/ }' "$MAN_SRC" |
		sed 's/\\f[BIRP]//g; s/\\-/-/g'
}

# Lines of section $1 of the man page (escapes removed).
man_section() {
	awk -v sec="$1" '/^\.SH/ { s = ($0 ~ "^\\.SH \"?" sec "\"?$"); next } s' "$MAN_SRC" |
		sed 's/\\f[BIRP]//g; s/\\-/-/g; s/\\(aq/'"'"'/g'
}

# "-p, --pid=PID" as the .TP line of the man page: \fB\-p\fR, \fB\-\-pid\fR=\fIPID\fR
roff_entry() {
	local o=$1 arg= short=
	case $o in *=*) arg="=\\fI${o#*=}\\fR"; o=${o%%=*} ;; esac
	case $o in -?,\ *) short="\\fB\\-${o:1:1}\\fR, "; o=${o#*, } ;; esac
	o=${o//-/\\-}
	echo "$short\\fB$o\\fR$arg"
}

# The option list has one source, user/cli.c (argp): --help and the man page
# must list the same options with the same short letters and arguments. A new
# option fails here, by name, until deploy/portwatch.8 has its .TP entry.
t_package_man_options() {
	local h m long missing=0
	declare -A H M
	h=$(help_options) || { fail "$PW --help failed"; return; }
	m=$(man_options)
	[ "$(wc -l <<<"$h")" -ge 10 ] || fail "parsed only $(wc -l <<<"$h") options from --help: $h"
	while IFS= read -r o; do long=$(grep -o -- '--[^=[]*' <<<"$o"); H[$long]=$o; done <<<"$h"
	while IFS= read -r o; do long=$(grep -o -- '--[^=[]*' <<<"$o"); M[$long]=$o; done <<<"$m"
	for long in "${!H[@]}"; do
		if [ -z "${M[$long]+x}" ]; then
			fail "option $long is in --help ('${H[$long]}') but not in $MAN_SRC: add under" \
				".SH OPTIONS the lines '.TP', '$(roff_entry "${H[$long]}")' and its description"
			missing=1
		elif [ "${H[$long]}" != "${M[$long]}" ]; then
			fail "option $long: --help says '${H[$long]}', $MAN_SRC says '${M[$long]}'"
		fi
	done
	for long in "${!M[@]}"; do
		[ -n "${H[$long]+x}" ] ||
			fail "option $long is in $MAN_SRC ('${M[$long]}') but not in --help (user/cli.c)"
	done
	check_eq "options in --help and in $MAN_SRC" "${#H[@]}" "${#M[@]}"
	[ "$missing" = 0 ] && [ "$_failed" = 0 ] && echo "    ok: the same ${#H[@]} options, with the same letters and arguments"

	# EXAMPLES: every example of --help, as a line of the man page's
	local ex n=0
	while IFS= read -r ex; do
		n=$((n + 1))
		man_section EXAMPLES | grep -qxF -- "$ex" ||
			fail "--help example '$ex' is not in $MAN_SRC EXAMPLES"
	done < <("$PW" --help | sed -n '/^EXAMPLES:/,/^$/{/^  /s/^  //p}')
	[ "$n" -ge 1 ] || fail "no EXAMPLES found in --help"
	echo "    ok: $n examples of --help in the man page"

	# METRICS: every metric family of user/metrics*.c
	local names metric
	names=$(grep -oh 'portwatch_[a-z_]*[a-z]' user/metrics*.c | sort -u)
	for metric in $names; do
		# histogram series of a family listed under its own name
		case $metric in *_bucket | *_count | *_sum)
			grep -qx "${metric%_*}" <<<"$names" && continue ;;
		esac
		man_section METRICS | grep -qw -- "$metric" ||
			fail "metric $metric (user/metrics*.c) is not in $MAN_SRC METRICS"
	done
}

t_package_man_render() {
	local out
	command -v groff >/dev/null || skip "groff is not installed (make test-deps)"
	out=$(groff -ww -man -z "$MAN_SRC" 2>&1)
	check_eq "groff -ww -man -z warnings" "" "$out"
	out=$(MANWIDTH=80 man --warnings -l "$MAN_SRC" 2>&1 >"$T/man.txt")
	check_eq "man --warnings -l: warnings" "" "$out"
	grep -q '^SYNOPSIS' "$T/man.txt" || fail "man -l rendered no SYNOPSIS"
	# every section the man page promises
	local sec
	for sec in NAME SYNOPSIS DESCRIPTION OPTIONS FIELDS "EXIT STATUS" "ATTACH MODES" \
		METRICS PRIVILEGES ENVIRONMENT FILES OVERHEAD EXAMPLES "SEE ALSO"; do
		grep -qx "$sec" "$T/man.txt" || fail "man page has no section $sec"
	done
	grep -q 'ss(8)' "$T/man.txt" && grep -q 'ip-sysctl' "$T/man.txt" ||
		fail "SEE ALSO names neither ss(8) nor ip-sysctl"
}

# complete WORD...: the completion's answer for the command line WORD...
# (the last word is the one completed), one per line in $T/comp.
complete_words() {
	(
		source /usr/share/bash-completion/bash_completion
		source "$COMPLETION_SRC"
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_LINE=${COMP_LINE// = /=}
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_portwatch "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}" 2>/dev/null
		printf '%s\n' "${COMPREPLY[@]}"
	) | sort -u > "$T/comp"
}

t_package_completion() {
	[ -f /usr/share/bash-completion/bash_completion ] ||
		skip "bash-completion is not installed (make test-deps)"
	local want got
	# every long option of --help, "=" where it takes a value
	complete_words "$PW" --
	want=$(help_options | sed -E 's/^-., //; s/(=|\[=).*/=/' | sort -u)
	check_eq "completion of -- (the options of --help)" "$want" "$(cat "$T/comp")"
	complete_words "$PW" --sc
	check_eq "completion of --sc" "--scan-depth" "$(cat "$T/comp")"
	# --mode: the modes --help names
	want=$("$PW" --help | sed -n 's/.*--mode=MODE *//p' | grep -oE '[a-z]+' | grep -vxE 'default|or' | sort)
	complete_words "$PW" --mode ''
	check_eq "completion of --mode" "$(printf '%s\n' auto fentry kprobe tracepoint)" "$(cat "$T/comp")"
	check_eq "modes in --help" "$want" "$(cat "$T/comp")"
	complete_words "$PW" -m k
	check_eq "completion of -m k" kprobe "$(cat "$T/comp")"
	complete_words "$PW" --mode = t
	check_eq "completion of --mode=t" tracepoint "$(cat "$T/comp")"
	# --netns: pids and /run/netns names; --pid: pids
	mk_netns 40000 40009
	sleep 60 &
	local spid=$!
	defer "kill $spid"
	complete_words "$PW" --netns ''
	grep -qx "$spid" "$T/comp" || fail "completion of --netns lacks pid $spid"
	grep -qx "/run/netns/$NS" "$T/comp" || fail "completion of --netns lacks /run/netns/$NS"
	complete_words "$PW" --netns /run/netns/pwt-$$
	check_eq "completion of --netns /run/netns/pwt-$$" "/run/netns/$NS" "$(cat "$T/comp")"
	complete_words "$PW" --pid "${spid:0:1}"
	grep -qx "$spid" "$T/comp" || fail "completion of --pid ${spid:0:1} lacks pid $spid"
	complete_words "$PW" --comm slee
	check_eq "completion of --comm slee" sleep "$(cat "$T/comp")"
	# an option whose value has no completion of its own: file names
	: > "$T/web.yml"
	complete_words "$PW" --web.config.file = "$T/we"
	check_eq "completion of --web.config.file=$T/we" "$T/web.yml" "$(cat "$T/comp")"
	# a value with nothing to offer
	complete_words "$PW" --max-pids ''
	check_eq "completion of --max-pids" "" "$(cat "$T/comp")"
}

# The SystemCallFilter= of the unit, expanded into system call names.
unit_syscalls() {
	local item
	expand() {
		local w
		for w in $(systemd-analyze syscall-filter "$1" | grep -v '^ *#' | tail -n +2); do
			case $w in @*) expand "$w" ;; *) echo "$w" ;; esac
		done
	}
	for item in $(sed -n 's/^SystemCallFilter=//p' "$UNIT_SRC"); do
		case $item in
		@*) expand "$item" ;;
		~*) fail "unit_syscalls: deny lists are not handled: $item" ;;
		*) echo "$item" ;;
		esac
	done | sort -u
}

# The unit's capabilities as setpriv wants them: +bpf,+perfmon,...
unit_caps() {
	sed -n 's/^CapabilityBoundingSet=//p' "$UNIT_SRC" | tr ' ' '\n' |
		sed -n 's/^CAP_\(.*\)/+\L\1/p' | paste -sd,
}

# The unit, as far as it can be checked without systemd as PID 1: it parses
# (systemd-analyze verify after installing it: t_package_deb), its exposure
# score is docs/systemd.md's, and portwatch works with exactly its capability
# bounding set and no_new_privs, using only system calls its filter allows.
t_package_unit() {
	command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed (make test-deps)"
	command -v strace >/dev/null || skip "strace is not installed (make test-deps)"
	local score readme caps port=${METRICS_PORT:-19099} unit=$PWD/$UNIT_SRC
	score=$(systemd-analyze security --offline=true "$unit" 2>&1 |
		sed -n 's/.*Overall exposure level for portwatch.service: \([0-9.]*\).*/\1/p')
	[ -n "$score" ] || fail "systemd-analyze security gave no exposure level"
	readme=$(sed -n 's/.*`systemd-analyze security` exposure level is \([0-9.]*\).*/\1/p' docs/systemd.md)
	check_eq "exposure level (systemd-analyze security) as in docs/systemd.md" "$readme" "$score"

	# verify before installing: the unit with this checkout's portwatch
	# (t_package_deb verifies the installed one, man page included)
	local pw_abs
	pw_abs=$(readlink -f "$PW")
	sed "s|^ExecStart=/usr/sbin/portwatch|ExecStart=$pw_abs|" "$UNIT_SRC" > "$T/portwatch.service"
	check_eq "systemd-analyze verify --man=no (ExecStart=$pw_abs)" "" \
		"$(systemd-analyze verify --man=no "$T/portwatch.service" 2>&1)"

	caps=$(unit_caps)
	check_eq "unit's capability bounding set" "+bpf,+perfmon,+sys_admin,+sys_ptrace,+sys_resource,+dac_read_search" "$caps"
	local argv
	argv=$(sed -n 's/^ExecStart=[^ ]*portwatch //p' "$UNIT_SRC" | sed "s/127.0.0.1:10099/127.0.0.1:$port/")
	[ -n "$argv" ] || fail "no ExecStart= in $UNIT_SRC"
	# LeakSanitizer cannot run under ptrace: in the sanitizer pass (an ASan
	# build as $PW) the runs under strace keep ASan and UBSan, not it
	local ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	export ASAN_OPTIONS
	# the daemon form with the unit's privileges, under strace (which ignores
	# SIGINT in a background job: portwatch, its child, gets it)
	strace -f -qq -o "$T/trace.daemon" setpriv --bounding-set=-all,"$caps" --no-new-privs \
		"$PW" $argv > "$T/pw.out" 2> "$T/pw.err" &
	local strace_pid=$!
	defer "kill $strace_pid; wait $strace_pid"
	wait_for "$T/pw.err" 'attached in' 20 || { sed 's/^/      pw: /' "$T/pw.err"; return; }
	PW_PID=$(ps -o pid= --ppid "$strace_pid" | tr -d ' ')
	[ -n "$PW_PID" ] || { fail "no portwatch under strace $strace_pid"; return; }
	defer "kill -INT $PW_PID"
	curl -sf --max-time 10 "http://127.0.0.1:$port/metrics" > "$T/metrics" ||
		fail "no /metrics on port $port"
	grep -q '^portwatch_build_info{' "$T/metrics" || fail "/metrics has no portwatch_build_info"
	kill -INT "$PW_PID"
	wait "$strace_pid"
	check_eq "portwatch exit code after SIGINT (under strace)" 0 $?

	# the census of another netns (setns, /proc/PID/ns/net) with the same:
	# 5 ports in TIME_WAIT towards :18100 there
	mk_netns 40000 40009
	must in_ns "$TRIGGER" --port 18100 exhaust --count 5 > "$T/trigger.out"
	ip netns exec "$NS" sleep 60 &
	local spid=$!
	defer "kill $spid"
	until [ "$(stat -Lc %i /proc/$spid/ns/net 2>/dev/null)" = "$NS_INO" ]; do
		kill -0 "$spid" 2>/dev/null || { fail "sleep in $NS exited"; return; }
		sleep 0.02
	done
	strace -f -qq -o "$T/trace.census" setpriv --bounding-set=-all,"$caps" --no-new-privs \
		"$PW" --census -j --netns="$spid" > "$T/census.out" 2> "$T/census.err"
	check_eq "census of netns $NS_INO (pid $spid) with the unit's capabilities: exit" 0 $?
	check_eq "census: TIME_WAIT ports towards :18100 in netns $NS_INO" 5 \
		"$(jq -s --argjson ns "$NS_INO" '[.[] | select(.type == "census" and .netns == $ns and
			.dport == 18100)][0].states.TIME_WAIT' "$T/census.out")"
	grep -q . "$T/census.err" && fail "census wrote on stderr: $(cat "$T/census.err")"
	# each of the two census capabilities is needed: without it, no census
	local c
	for c in +sys_admin +sys_ptrace; do
		setpriv --bounding-set=-all,"$(sed "s/$c,\{0,1\}//; s/,$//" <<<"$caps")" --no-new-privs \
			"$PW" --census -j --netns="$spid" > "$T/census.out" 2> "$T/census.err"
		local rc=$?
		[ "$rc" -ne 0 ] && echo "    ok: without ${c#+} the census exits $rc: $(head -1 "$T/census.err")" ||
			fail "without ${c#+} the census still worked: the unit may not need it"
	done
	# every system call made is in the unit's filter
	unit_syscalls > "$T/allowed"
	[ "$(wc -l < "$T/allowed")" -gt 100 ] || fail "expanded only $(wc -l < "$T/allowed") system calls"
	local used denied
	used=$(sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' "$T/trace.daemon" "$T/trace.census" | sort -u)
	[ "$(wc -l <<<"$used")" -gt 20 ] || fail "strace saw only: $used"
	# setpriv before its execve of portwatch is systemd's part in the unit:
	# from that execve on, every line is portwatch's or its threads' and
	# children's (setpriv does not fork)
	used=$(for f in "$T/trace.daemon" "$T/trace.census"; do
		awk 'go || /execve\(".*portwatch"/ { go = 1; print }' "$f"
	done |
		sed -nE 's/^[0-9]+ +([a-z0-9_]+)\(.*/\1/p' | sort -u)
	denied=$(comm -23 <(echo "$used") "$T/allowed")
	check_eq "system calls of portwatch outside the unit's SystemCallFilter" "" "$denied"
	echo "    info: portwatch made $(wc -l <<<"$used") distinct system calls under strace;" \
		"the mount and namespace sandboxing needs systemd as PID 1 (here: $(ps -o comm= -p 1))"
}

t_package_make_install() {
	local d=$T/root f
	must make -s install DESTDIR="$d" prefix=/usr >"$T/install.log" 2>&1
	for f in usr/sbin/portwatch usr/share/man/man8/portwatch.8 \
		usr/share/bash-completion/completions/portwatch; do
		[ -f "$d/$f" ] || fail "make install: no $f"
	done
	cmp -s "$MAN_SRC" "$d/usr/share/man/man8/portwatch.8" || fail "installed man page differs"
	must make -s uninstall DESTDIR="$d" prefix=/usr >>"$T/install.log" 2>&1
	check_eq "files left after make uninstall" "" "$(find "$d" -type f)"
}

# dpkg, waiting (bounded) for another dpkg or apt to release its lock.
dpkg_wait() {
	local end=$((SECONDS + 300)) out rc
	while :; do
		out=$(dpkg "$@" 2>&1)
		rc=$?
		[ $rc -eq 0 ] || ! grep -q 'lock' <<<"$out" || [ $SECONDS -ge $end ] && break
		sleep 1
	done
	echo "$out"
	return $rc
}

# The package, from a fresh clone of HEAD: it builds, lintian finds no error,
# dpkg -i installs what the README says, dpkg -r removes it. The package is
# purged when the test ends, whatever happened.
t_package_deb() {
	command -v dpkg-buildpackage >/dev/null && command -v dh >/dev/null ||
		skip "dpkg-dev or debhelper is not installed (make test-deps)"
	command -v lintian >/dev/null || skip "lintian is not installed (make test-deps)"
	if dpkg-query -W -f='${Status}' portwatch 2>/dev/null | grep -q 'installed'; then
		skip "a portwatch package is installed on this machine: not replacing it"
	fi
	git rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout: no fresh clone to build"
	local src=$T/src version deb out
	must git clone -q "$PWD" "$src"
	echo "    info: package built from a fresh clone of HEAD $(git -C "$src" rev-parse --short HEAD)"
	version=$(cd "$src" && dpkg-parsechangelog -S Version)
	(cd "$src" && env -u MAKEFLAGS -u MAKELEVEL -u OUTPUT -u BIN make -s deb) > "$T/deb.log" 2>&1 ||
		{ fail "make deb in a fresh clone failed"; tail -n 30 "$T/deb.log"; return; }
	deb=$src/.output/deb/portwatch_${version}_$(dpkg --print-architecture).deb
	[ -f "$deb" ] || { fail "make deb made no $deb"; ls "$src/.output/deb"; return; }

	lintian --pedantic -I "${deb%.deb}.changes" > "$T/lintian" 2>&1
	check_eq "lintian errors" "" "$(grep '^E: ' "$T/lintian")"
	sed -n 's/^\([WIP]\): /    info: lintian \1: /p' "$T/lintian"
	echo "    info: lintian --pedantic -I: $(grep -c '^[EWIP]: ' "$T/lintian") tags" \
		"($(grep -c '^portwatch: ' debian/portwatch.lintian-overrides) overridden in debian/portwatch.lintian-overrides)"

	defer "dpkg_wait --purge portwatch"
	out=$(dpkg_wait -i "$deb") || { fail "dpkg -i: $out"; return; }
	check_eq "installed portwatch --version" "portwatch $version" "$(/usr/sbin/portwatch --version)"
	check_eq "man -w portwatch" /usr/share/man/man8/portwatch.8.gz "$(man -w portwatch 2>&1)"
	MANWIDTH=80 man portwatch > "$T/man.txt" 2>&1
	grep -qE '^ *portwatch +- +trace +TCP' "$T/man.txt" || fail "man portwatch: $(head -3 "$T/man.txt")"
	cmp -s "$UNIT_SRC" /lib/systemd/system/portwatch.service ||
		fail "/lib/systemd/system/portwatch.service is not $UNIT_SRC"
	[ -e /etc/systemd/system/multi-user.target.wants/portwatch.service ] &&
		fail "the package enabled portwatch.service"
	out=$(cd / && systemd-analyze verify /lib/systemd/system/portwatch.service 2>&1)
	check_eq "systemd-analyze verify of the installed unit (rc $?)" "" "$out"
	[ -f /usr/share/bash-completion/completions/portwatch ] || fail "no bash completion installed"
	[ -f /usr/share/doc/portwatch/README.md.gz ] || fail "no README in /usr/share/doc/portwatch"
	[ -f /usr/share/doc/portwatch/examples/portwatch-rules.yml ] || fail "no example rules"
	[ -f /usr/share/doc/portwatch/examples/examples.txt ] || fail "no examples.txt (docs/examples.txt)"
	[ -f /usr/share/doc/portwatch/docs/remedies.md ] || fail "no docs/ (the alerts' runbook, the man page's FIELDS)"
	check_eq "Depends has libbpf (shlibs)" 1 \
		"$(dpkg-query -W -f='${Depends}' portwatch | grep -c 'libbpf1')"

	out=$(dpkg_wait -r portwatch) || fail "dpkg -r: $out"
	local f
	for f in /usr/sbin/portwatch /usr/share/man/man8/portwatch.8.gz /lib/systemd/system/portwatch.service \
		/usr/share/bash-completion/completions/portwatch; do
		[ -e "$f" ] && fail "$f still there after dpkg -r"
	done
	out=$(dpkg_wait --purge portwatch) || fail "dpkg --purge: $out"
	check_eq "package state after dpkg --purge" "" \
		"$(dpkg-query -W -f='${Status}' portwatch 2>/dev/null | grep -v 'not-installed')"
}
