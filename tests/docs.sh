# Agreement of the documentation with the code (sourced by tests/run.sh after
# tests/package.sh, whose help_options, man_options and man_section it uses;
# `tests/run.sh docs` runs these alone). Each test fails, naming both sides,
# when --help, the man page, README.md and docs/ disagree with each other or
# with what the code prints: options, exit codes, metrics, NDJSON fields, text
# columns, environment variables, capabilities, remedy ids, references to
# sections, the PromQL examples.

DOCS_README=README.md
DOCS_MAN=deploy/portwatch.8
DOCS_OUTPUT=docs/output.md
DOCS_METRICS=docs/metrics.md
DOCS_REMEDIES=docs/remedies.md

# md_cells FILE HEADING: the first cells of the table rows under the markdown
# heading HEADING (any level, up to the next heading), one a line, without backticks; a cell naming several (`PID`, `COMM`)
# gives one line each.
md_cells() {
	python3 - "$1" "$2" <<'EOF'
import re, sys
path, want = sys.argv[1], sys.argv[2]
level = None
fence = False
for line in open(path):
    if line.startswith('```'):
        fence = not fence
    m = None if fence else re.match(r'^(#+) (.*?)\s*$', line)
    if m:
        if level is not None:
            break
        if level is None and m.group(2) == want:
            level = len(m.group(1))
        continue
    if level is None or not line.startswith('| `'):
        continue
    cell = re.split(r'(?<!\\)\|', line)[1]
    for name in re.findall(r'`([^`]+)`', cell):
        print(name.replace('\\|', '|'))
EOF
}

# set_diff WHAT A B NAME_A NAME_B: fail for each line of A not in B and each
# of B not in A (A and B are newline-separated lists).
set_diff() {
	local what=$1 a=$2 b=$3 x
	while IFS= read -r x; do
		[ -z "$x" ] && continue
		grep -qxF -- "$x" <<<"$b" || fail "$what: '$x' is in $4 but not in $5"
	done <<<"$a"
	while IFS= read -r x; do
		[ -z "$x" ] && continue
		grep -qxF -- "$x" <<<"$a" || fail "$what: '$x' is in $5 but not in $4"
	done <<<"$b"
}

# --help, the man page's OPTIONS and the README's option table list the same
# options, with the same letters and arguments.
t_docs_options() {
	local h m r
	h=$(help_options | sort) || { fail "$PW --help failed"; return; }
	m=$(man_options | sort)
	r=$(md_cells "$DOCS_README" Options | sort)
	[ "$(wc -l <<<"$h")" -ge 20 ] || fail "parsed only $(wc -l <<<"$h") options from --help"
	set_diff options "$h" "$m" "--help" "$DOCS_MAN OPTIONS"
	set_diff options "$h" "$r" "--help" "$DOCS_README Options"
	[ "$_failed" = 0 ] && echo "    ok: the same $(wc -l <<<"$h") options in --help, $DOCS_MAN and $DOCS_README"
}

# One exit-status list: --help's, the man page's and the README's, word for
# word, with exactly the codes of user/cli.h.
t_docs_exit_status() {
	local h m r c
	h=$("$PW" --help | sed -nE '/^EXIT STATUS:/,/^$/s/^  ([0-9]+)  (.*)/\1 \2/p')
	m=$(man_section "EXIT STATUS" | awk '/^\.TP/ { t = 1; next } t == 1 && /^\.B / { c = $2; t = 2; next }
		t == 2 { print c, $0; t = 0 }')
	r=$(python3 -c '
import re, sys
s = open(sys.argv[1]).read().split("\n")
on = False
for l in s:
    if l.startswith("### Exit status"): on = True
    elif on and l.startswith("#"): break
    elif on:
        m = re.match(r"^\| `(\d+)` \| (.*) \|$", l)
        if m: print(m.group(1), m.group(2))
' "$DOCS_README")
	c=$(sed -nE 's/^\s*PW_EXIT_[A-Z_]+ = ([0-9]+),?/\1/p' user/cli.h)
	[ -n "$h" ] || fail "no EXIT STATUS list in --help"
	check_eq "exit status: $DOCS_MAN = --help" "$h" "$m"
	check_eq "exit status: $DOCS_README = --help" "$h" "$r"
	check_eq "exit codes: --help = user/cli.h PW_EXIT_*" "$c" "$(cut -d' ' -f1 <<<"$h")"
}

# code_metrics: the metric families user/*.c can emit.
code_metrics() {
	local all
	all=$(grep -oh '"portwatch_[a-z_]*[a-z]' user/*.c | tr -d '"' | sort -u)
	while IFS= read -r n; do
		case $n in *_bucket | *_count | *_sum)
			grep -qx "${n%_*}" <<<"$all" && continue ;;
		esac
		echo "$n"
	done <<<"$all"
}

# The metric table of docs/metrics.md and the man page's METRICS list exactly
# the metrics the code can emit; the README names only real ones.
t_docs_metrics() {
	local c d m r
	c=$(code_metrics)
	d=$(md_cells "$DOCS_METRICS" "Metric table" | grep '^portwatch_' | sort -u)
	m=$(man_section METRICS | grep -o 'portwatch_[a-z_]*[a-z]' | sort -u)
	r=$(md_cells "$DOCS_README" Prometheus | grep '^portwatch_' | sort -u)
	[ "$(wc -l <<<"$c")" -ge 20 ] || fail "found only $(wc -l <<<"$c") metrics in user/*.c"
	set_diff metrics "$c" "$d" "user/*.c" "$DOCS_METRICS metric table"
	set_diff metrics "$c" "$m" "user/*.c" "$DOCS_MAN METRICS"
	local x
	while IFS= read -r x; do
		grep -qxF -- "$x" <<<"$c" || fail "metric $x in $DOCS_README is not one the code emits"
	done <<<"$r"
	[ "$_failed" = 0 ] && echo "    ok: $(wc -l <<<"$c") metrics in the code, the metric table and the man page"
}

# doc_fields TYPE: the NDJSON fields docs/output.md documents for objects of
# TYPE (its table under the heading "### `TYPE`" or "### `A` and `B`").
doc_fields() {
	local h
	h=$(grep -E '^### `' "$DOCS_OUTPUT" | grep -F "\`$1\`" | head -1 | sed 's/^### //')
	[ -n "$h" ] && md_cells "$DOCS_OUTPUT" "$h" | grep -v '^[A-Z_]*$'
}

# json_paths FILE: "TYPE PATH" for every field of every object in FILE, arrays
# as NAME[], the keys of errors and states (errno names, TCP states) left out.
json_paths() {
	grep '^{' "$1" | jq -r '.type as $t | paths | map(if type == "number" then "[]" else . end)
		| join(".") | gsub("\\.\\[\\]"; "[]") | "\($t) \(.)"' |
		grep -vE '(errors|states)\.[^.]+$' | grep -vE '\[\]$' | sort -u
}

# Every NDJSON field the code prints is documented under its object's type in
# docs/output.md, and every documented field is one the code prints: a real
# run (failures, successes, diagnosis, live advice, warning, intervals, remedies, summary,
# census) for the paths, user/*.c for the fields that run cannot show.
t_docs_ndjson_fields() {
	command -v jq >/dev/null || skip "jq not installed (make test-deps)"
	local DOCS_PORT
	DOCS_PORT=$(free_port) || { fail "setup: no free port"; exit 1; }
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -j -a -i 1 -P "$DOCS_PORT"
	must in_ns "$TRIGGER" --port "$DOCS_PORT" exhaust --count 13 > "$T/truth"
	wait_for "$T/pw.out" '"type":"pressure"' 10 || exit 1
	wait_for "$T/pw.out" '"type":"warning"' 15 || exit 1
	wait_for "$T/pw.out" '"type":"interval"' 10 || exit 1
	pw_stop
	"$PW" --census -j --netns="/run/netns/$NS" > "$T/census.out" 2>&1
	check_eq "census exit" 0 $?
	cat "$T/pw.out" "$T/census.out" > "$T/all"
	local types t live doc path static leaf
	types=$(grep '^{' "$T/all" | jq -r .type | sort -u)
	check_eq "object types seen" "advice census census_udp connect interval pressure remedies summary warning" "$(echo $types)"
	json_paths "$T/all" > "$T/paths"
	for t in $types; do
		doc=$(doc_fields "$t")
		[ -n "$doc" ] || { fail "$DOCS_OUTPUT has no table for objects of type $t"; continue; }
		live=$(awk -v t="$t" '$1 == t { print $2 }' "$T/paths")
		while IFS= read -r path; do
			grep -qxF -- "$path" <<<"$doc" ||
				fail "NDJSON $t field '$path' (printed by $PW) is not in $DOCS_OUTPUT under its type"
		done <<<"$live"
	done
	# documented fields are real: each field name (last part of a path) is
	# a key the code writes, and a documented type is one the code prints
	static=$(grep -oh '\\"[a-z_]*\\":' user/*.c | tr -d '\\":' | sort -u)
	for t in $(grep -oE '^### `[a-z]+`( and `[a-z]+`)?' "$DOCS_OUTPUT" | grep -oE '`[a-z]+`' | tr -d '`'); do
		grep -qE "\\\\\"type\\\\\":\\\\\"($t|%s)\\\\\"" user/*.c || grep -qF "\"$t\"" user/*.c ||
			fail "$DOCS_OUTPUT documents objects of type '$t', which user/*.c never prints"
		while IFS= read -r path; do
			leaf=${path##*.}; leaf=${leaf%[]}
			grep -qxF -- "$leaf" <<<"$static" ||
				fail "$DOCS_OUTPUT documents $t field '$path': user/*.c prints no key '$leaf'"
		done < <(doc_fields "$t")
	done
	# and every key the code writes is documented somewhere (fields the run
	# cannot show: pod.*, holders[].*, ...)
	local alldoc
	# (and of the types the run cannot show: every heading's, port_holder...)
	alldoc=$(for t in $types $(grep -oE '^### `[a-z_]+`' "$DOCS_OUTPUT" | tr -d '#` '); do
		doc_fields "$t"; done | sed 's/.*\.//; s/\[\]$//' | sort -u)
	while IFS= read -r leaf; do
		grep -qxF -- "$leaf" <<<"$alldoc" ||
			fail "user/*.c prints an NDJSON key '$leaf' that $DOCS_OUTPUT documents nowhere"
	done <<<"$static"
	# the man page's FIELDS names every documented field
	local man
	man=$(man_section FIELDS | sed -n '/^\.TP/{n;s/^\.B //p}')
	for t in $types; do
		while IFS= read -r path; do
			grep -qxF -- "$path" <<<"$man" || fail "NDJSON $t field '$path' is not in $DOCS_MAN FIELDS"
		done < <(doc_fields "$t")
	done
	[ "$_failed" = 0 ] && echo "    ok: $(wc -l < "$T/paths") fields of $(wc -w <<<"$types") object types documented"
}

# The man page's FIELDS is what tests/man-fields.py makes of docs/output.md
# (after editing docs/output.md: tests/man-fields.py --write).
t_docs_man_fields() {
	local out
	out=$(tests/man-fields.py --check 2>&1)
	check_eq "tests/man-fields.py --check (exit $?)" "" "$out"
}

# Every column of the text event line, summary table and census table that
# portwatch prints is in docs/output.md and the man page's FIELDS; the README's
# legend has every column of the event line and summary table.
t_docs_text_columns() {
	local DOCS_PORT
	DOCS_PORT=$(free_port) || { fail "setup: no free port"; exit 1; }
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -P "$DOCS_PORT"
	must in_ns "$TRIGGER" --port "$DOCS_PORT" exhaust --count 13 > "$T/truth"
	wait_count "$T/pw.out" 'EADDRNOTAVAIL' 3 10 || exit 1
	pw_stop
	"$PW" --census --netns="/run/netns/$NS" > "$T/census.out" 2>&1
	local ev sum cen readme man doc c
	ev=$(grep -m1 '^TIME ' "$T/pw.out")
	sum=$(grep -m1 '^PID .*ATTEMPTS' "$T/pw.out")
	cen=$(grep -m1 '^DEST ' "$T/census.out")
	[ -n "$ev" ] && [ -n "$sum" ] && [ -n "$cen" ] ||
		{ fail "headers not found: '$ev' '$sum' '$cen'"; return; }
	readme=$(md_cells "$DOCS_README" "Reading the output")
	man=$(man_section FIELDS | sed -n '/^\.TP/{n;s/^\.B //p}')
	doc=$( (md_cells "$DOCS_OUTPUT" "Text columns"; md_cells "$DOCS_OUTPUT" "Summary table";
		md_cells "$DOCS_OUTPUT" '`census`') | grep '^[A-Z_]*$')
	for c in $ev $sum; do
		grep -qxF "$c" <<<"$readme" || fail "text column $c is not in $DOCS_README \"Reading the output\""
	done
	for c in $ev $sum $cen; do
		grep -qxF "$c" <<<"$doc" || fail "text column $c is not in $DOCS_OUTPUT"
		grep -qxF "$c" <<<"$man" || fail "text column $c is not in $DOCS_MAN FIELDS"
	done
	# and no documented column that portwatch does not print
	for c in $(md_cells "$DOCS_OUTPUT" "Text columns" | grep '^[A-Z_]*$'); do
		grep -qw -- "$c" <<<"$ev" || fail "$DOCS_OUTPUT Text columns: $c is not a column of '$ev'"
	done
	for c in $(md_cells "$DOCS_OUTPUT" "Summary table" | grep '^[A-Z_]*$'); do
		grep -qw -- "$c" <<<"$sum" || fail "$DOCS_OUTPUT Summary table: $c is not a column of '$sum'"
	done
	[ "$_failed" = 0 ] && echo "    ok: $(echo $ev $sum $cen | wc -w) columns documented"
}

# code_env: the PORTWATCH_* variables user/*.c reads: getenv("PORTWATCH_...")
# and calls of the helpers that hand their argument to getenv
# (test_knob("PORTWATCH_TEST_...", ...)). A line "ERROR ..." for a getenv of
# a variable inside a function that no call with a "PORTWATCH_..." literal
# names: then the test cannot see which variables the code reads.
code_env() {
	python3 - user/*.c <<'EOF'
import re, sys
names, helpers, called = set(), {}, set()
for path in sys.argv[1:]:
    func = None
    for n, line in enumerate(open(path, errors='replace'), 1):
        m = re.match(r'^[A-Za-z_][\w \*]*?\b(\w+)\(', line)
        if m and not re.match(r'^(if|for|while|return|switch)\b', line):
            func = m.group(1)
        if re.search(r'\bgetenv\(\s*[A-Za-z_]\w*\s*\)', line):
            helpers.setdefault(func, []).append(f'{path}:{n}')
        for m in re.finditer(r'\b(\w+)\(\s*"(PORTWATCH_[A-Z_]+)"', line):
            called.add(m.group(1))
            names.add(m.group(2))
for func, where in helpers.items():
    if func not in called:
        print(f'ERROR getenv of a variable in {func}() ({", ".join(where)}): '
              f'no call of {func} with a "PORTWATCH_..." literal found')
print('\n'.join(sorted(names)))
EOF
}

# Every PORTWATCH_* variable the code reads (with getenv, or through a
# helper such as test_knob) is in the man page's ENVIRONMENT, and the man
# page lists no other.
t_docs_environment() {
	local all c m e
	all=$(code_env)
	e=$(grep '^ERROR ' <<<"$all")
	c=$(grep '^PORTWATCH_' <<<"$all")
	while IFS= read -r l; do [ -n "$l" ] && fail "${l#ERROR }"; done <<<"$e"
	m=$(man_section ENVIRONMENT | sed -n '/^\.TP/{n;s/^\.B //p}' | sort -u)
	[ -n "$c" ] || fail "no getenv(\"PORTWATCH_...\") found in user/*.c"
	set_diff "environment" "$c" "$m" "user/*.c (getenv, test_knob)" "$DOCS_MAN ENVIRONMENT"
	[ "$_failed" = 0 ] && echo "    ok: $(echo $c)"
}

# The systemd unit's capabilities are those the man page's PRIVILEGES lists,
# the README counts and docs/systemd.md names.
t_docs_capabilities() {
	local u m n words
	u=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT_SRC" | tr ' ' '\n' | sort -u)
	m=$(man_section PRIVILEGES | awk '/^\.PP/ { exit } { print }' | grep -oE 'CAP_[A-Z_]+' | sort -u)
	set_diff capabilities "$u" "$m" "$UNIT_SRC" "$DOCS_MAN PRIVILEGES"
	n=$(wc -l <<<"$u")
	words=(zero one two three four five six seven eight nine ten)
	grep -q "limited to ${words[$n]}" "$DOCS_README" ||
		fail "$DOCS_README does not say the unit is limited to ${words[$n]} capabilities"
	for c in $u; do
		grep -qw -- "$c" docs/systemd.md || fail "$c ($UNIT_SRC) is not in docs/systemd.md"
	done
	[ "$_failed" = 0 ] && echo "    ok: $n capabilities: $(echo $u)"
}

# Every remedy id the code can give is in the README's "Fixing it" and in
# docs/remedies.md "Remedy ids", and both list no other.
t_docs_remedy_ids() {
	local c r d
	c=$(grep -oE 'ADD\("[a-z0-9_]+"' user/remedies.c | grep -oE '"[a-z0-9_]+"' | tr -d '"' | sort -u)
	r=$(md_cells "$DOCS_README" "Fixing it" | sort -u)
	d=$(md_cells "$DOCS_REMEDIES" "Remedy ids" | grep -E '^[a-z0-9_]+$' | sort -u)
	[ "$(wc -l <<<"$c")" -ge 5 ] || fail "found only $(wc -l <<<"$c") remedy ids in user/remedies.c"
	set_diff "remedy ids" "$c" "$r" user/remedies.c "$DOCS_README \"Fixing it\""
	set_diff "remedy ids" "$c" "$d" user/remedies.c "$DOCS_REMEDIES \"Remedy ids\""
	[ "$_failed" = 0 ] && echo "    ok: $(echo $c)"
}

# References resolve: markdown links between local files (and their
# #anchors, as GitHub makes them from headings), `README "Section"` and
# `docs/FILE.md, "Section"` in any tracked file, docs/*.md paths named anywhere,
# the man page's /usr/share/doc/portwatch/... paths (installed by debian/), its
# .BR references to its own sections, and the rules' runbook_url anchors.
t_docs_references() {
	git rev-parse --git-dir >/dev/null 2>&1 || skip "not a git checkout: no list of tracked files"
	git ls-files > "$T/files"
	python3 - "$T/files" "$DOCS_MAN" > "$T/refs" <<'EOF'
import os, re, sys
files = [f for f in open(sys.argv[1]).read().split('\n') if f and os.path.isfile(f)]
man = sys.argv[2]
def slug(h):
    h = re.sub(r'[`*]', '', h.strip()).lower()
    h = re.sub(r'[^\w\- ]', '', h)
    return h.replace(' ', '-')
heads = {}
def headings(path):
    if path not in heads:
        hs, fence = set(), False
        for line in open(path, errors='replace'):
            if line.startswith('```'): fence = not fence
            m = None if fence else re.match(r'^#+ (.*?)\s*$', line)
            if m: hs.add(m.group(1).strip('`'))
        heads[path] = hs
    return heads[path]
def has_anchor(path, a):
    return a in {slug(h) for h in headings(path)}
def has_section(path, name):
    return name.lower() in {h.lower() for h in headings(path)}
bad = []
for f in files:
    if f.startswith(('tests/fuzz/corpus/', 'vmlinux/')) or f == 'tests/docs.sh': continue
    try: text = open(f, errors='replace').read()
    except Exception: continue
    d = os.path.dirname(f)
    if f.endswith('.md'):
        for m in re.finditer(r'\]\(([^)\s]+)\)', text):
            t = m.group(1)
            if re.match(r'^[a-z]+:', t): continue
            p, _, a = t.partition('#')
            tgt = os.path.normpath(os.path.join(d, p)) if p else f
            if not os.path.exists(tgt): bad.append(f'{f}: link to {t}: no file {tgt}')
            elif a and tgt.endswith('.md') and not has_anchor(tgt, a):
                bad.append(f'{f}: link to {t}: {tgt} has no heading with anchor #{a}')
    for m in re.finditer(r'\b(README(?:\.md)?|docs/[a-z-]+\.md)(?:\'s)?[:,]? "([^"\n]+)"', text):
        p = 'README.md' if m.group(1).startswith('README') else m.group(1)
        name = m.group(2)
        if not os.path.exists(p): bad.append(f'{f}: {m.group(0)}: no file {p}'); continue
        if not has_section(p, name): bad.append(f'{f}: {m.group(0)}: {p} has no section "{name}"')
    for m in re.finditer(r'(?<![\w/])docs/[a-z-]+\.(?:md|txt)\b', text):
        if not os.path.exists(m.group(0)): bad.append(f'{f}: names {m.group(0)}, which does not exist')
    for m in re.finditer(r'runbook_url: *https?://[^/\s]+/(docs/[a-z-]+\.md)(?:#([\w-]+))?', text):
        p, a = m.group(1), m.group(2)
        if not os.path.exists(p): bad.append(f'{f}: runbook_url {p}: no such file')
        elif a and not has_anchor(p, a): bad.append(f'{f}: runbook_url {p}#{a}: no such heading')
# the man page: installed paths and its own sections
mt = open(man).read()
inst = {'README.md.gz': 'README.md', 'CHANGELOG.md.gz': 'CHANGELOG.md'}
docs_list = open('debian/portwatch.docs').read().split()
ex_list = open('debian/portwatch.examples').read().split()
for m in re.finditer(r'/usr/share/doc/portwatch/([\w./-]*)', mt.replace('\\-', '-')):
    p = m.group(1).rstrip('.')
    if p in ('', 'docs/'): ok = 'docs' in docs_list
    elif p.startswith('docs/'): ok = 'docs' in docs_list and os.path.exists(p)
    elif p.startswith('examples/'):
        ok = any(os.path.basename(e) == os.path.basename(p) for e in ex_list)
    else: ok = inst.get(p) in docs_list
    if not ok: bad.append(f'{man}: names /usr/share/doc/portwatch/{p}, which the package does not install')
sections = set(re.findall(r'^\.SH "?([^"\n]+?)"?$', mt, re.M))
for m in re.finditer(r'^\.BR? "?([A-Z][A-Z ]+[A-Z])"?( ?[.,;)]?)$', mt, re.M):
    if m.group(1) not in sections and not re.match(r'^(CAP_|PORTWATCH_|EADDR|TIME|PID|COMM|FAM|DEST|ERRNO|CAUSE|RANGE|SCAN|WORKLOAD|ATTEMPTS|FAILURES|ERRORS|HELD|USAGE|ESTAB|SYN|FIN|CLOSE|OTHER|REUSABLE|HOLDERS|BTF|WARNING|RLIMIT|CONFIG|TCP|IP_)', m.group(1)):
        bad.append(f'{man}: refers to section {m.group(1)}, which it does not have')
print('\n'.join(bad))
EOF
	local n
	n=$(grep -c . "$T/refs")
	while IFS= read -r l; do [ -n "$l" ] && fail "$l"; done < "$T/refs"
	check_eq "references that do not resolve" 0 "$n"
}

# The PromQL of README.md and docs/metrics.md (```promql blocks, one query
# per paragraph) parses and type-checks: each becomes a recording rule that
# `promtool check rules` reads.
t_docs_promql() {
	command -v promtool >/dev/null || skip "promtool not installed (package prometheus: make test-deps)"
	python3 - "$DOCS_README" "$DOCS_METRICS" > "$T/rules.yml" <<'EOF'
import json, re, sys
n = 0
print('groups:\n  - name: docs\n    rules:')
for f in sys.argv[1:]:
    for block in re.findall(r'```promql\n(.*?)```', open(f).read(), re.S):
        for q in re.split(r'\n\s*\n', block):
            q = '\n'.join(l for l in q.split('\n') if not l.strip().startswith('#')).strip()
            if not q: continue
            n += 1
            print(f'      - record: docs:example_{n}\n        expr: {json.dumps(q)}')
sys.stderr.write(f'{n}\n')
EOF
	local n
	n=$(grep -c 'record:' "$T/rules.yml")
	[ "$n" -ge 8 ] || fail "found only $n PromQL examples in $DOCS_README and $DOCS_METRICS"
	promtool check rules "$T/rules.yml" > "$T/out" 2>&1
	check_eq "promtool check rules on the $n PromQL examples (exit)" 0 $?
	sed 's/^/      /' "$T/out"
}

# The README fits in one read, in the issue's order; `make -n run` installs no
# package that only the tests need.
t_docs_readme_and_run_deps() {
	local lines order test_only deps p
	lines=$(wc -l < "$DOCS_README")
	[ "$lines" -le 350 ] || fail "$DOCS_README has $lines lines (at most 350)"
	order=$(grep '^## ' "$DOCS_README" | sed 's/^## //' | tr '\n' '|')
	check_eq "README sections in order" "Requirements|Install|Try it in 60 seconds|Reading the output|Fixing it|Options|Kubernetes|systemd|Prometheus|Overhead|Limitations|Where the rest is|" "$order"
	deps=$(make --no-print-directory -s -f Makefile -f - docs-print-deps <<<'docs-print-deps: ; @echo $(DEPS)')
	test_only=$(make --no-print-directory -s -f Makefile -f - docs-print-deps <<<'docs-print-deps: ; @echo $(TEST_DEPS)')
	[ -n "$deps" ] && [ -n "$test_only" ] || { fail "could not read DEPS and TEST_DEPS from the Makefile"; return; }
	make -n run > "$T/run.n" 2>&1 || { fail "make -n run failed: $(tail -2 "$T/run.n")"; return; }
	# DEPS (building and running) and TEST_DEPS are disjoint, and make -n run
	# names no package of TEST_DEPS
	for p in $test_only; do
		grep -qxF "$p" <<<"$(tr ' ' '\n' <<<"$deps")" &&
			fail "package $p is in both DEPS and TEST_DEPS: make run would install it"
		grep -qw -- "$p" "$T/run.n" && fail "make -n run names the test-only package $p"
	done
	[ "$_failed" = 0 ] && echo "    ok: $lines lines; make -n run names none of the $(wc -w <<<"$test_only") test packages"
}
