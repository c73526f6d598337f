# Integration tests of /metrics on a shared network: --web.config.file (TLS
# and basic auth in the exporter-toolkit format) scraped by a real
# Prometheus, refused credentials and clients, the per-address connection
# limit against trickling clients, the idle timeout, request size limits,
# bad configuration files, and deploy/networkpolicy.yaml. Sourced by
# tests/run.sh after tests/lib.sh and tests/metrics.sh (METRICS_PORT).

WEB_PASS=s3cret-Pw

# web_port: every web test listens on ports of its own, METRICS_PORT and
# WEB_PROM_PORT, which tests/run.sh allocates for each test (tests/lib.sh's
# free_port: free now, distinct, below the ephemeral range)
web_port() {
	if [ -z "${METRICS_PORT:-}" ] || [ -z "${WEB_PROM_PORT:-}" ] || [ "$METRICS_PORT" = "$WEB_PROM_PORT" ]; then
		fail "setup: no ports of the test's own from tests/run.sh (METRICS_PORT '${METRICS_PORT:-}', WEB_PROM_PORT '${WEB_PROM_PORT:-}')"
		exit 1
	fi
}

# web_setup: a self-signed certificate for 127.0.0.1 and a web config with
# TLS and one user (prom / $WEB_PASS) in $T/web.yml; paths relative to it.
web_setup() {
	web_port
	command -v openssl >/dev/null || skip "openssl not installed (package openssl)"
	command -v htpasswd >/dev/null || skip "htpasswd not installed (package apache2-utils)"
	must openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$T/server.key" -out "$T/server.crt" -subj /CN=portwatch-test 2>/dev/null \
		-addext subjectAltName=IP:127.0.0.1
	WEB_HASH=$(htpasswd -nbBC 10 "" "$WEB_PASS" | tr -d ':\n')
	cat > "$T/web.yml" <<-YML
	tls_server_config:
	  cert_file: server.crt
	  key_file: server.key
	http_server_config:
	  headers:
	    X-Content-Type-Options: nosniff
	basic_auth_users:
	  prom: $WEB_HASH
	YML
}

# wscrape [CURL ARGS...]: GET https /metrics with the test's CA; body on
# stdout, then one last line with the status code.
wscrape() {
	curl -s --cacert "$T/server.crt" -w '\n%{http_code}' "$@" "https://127.0.0.1:$METRICS_PORT/metrics"
}

t_web_tls_basic_auth_prometheus() {
	command -v prometheus >/dev/null || skip "prometheus not installed (package prometheus)"
	web_setup
	mk_netns $RANGE_LO $RANGE_HI
	pw_start -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/web.yml"
	wait_for "$T/pw.err" '^portwatch: metrics at ' 10 || exit 1	# just after the attach line
	check_eq "start line" 1 "$(grep -c "^portwatch: metrics at https://127.0.0.1:$METRICS_PORT/metrics$" "$T/pw.err")"
	must in_ns "$TRIGGER" --comm pwt-web --port 18097 exhaust --count 14 > "$T/t"
	local want
	want=$(truth_sum '.errors.EADDRNOTAVAIL' "$T/t")
	check_eq "failures (the scenario)" 4 "$want"

	# the right credentials: 200, the metrics, the configured header
	wscrape -u "prom:$WEB_PASS" -D "$T/h" > "$T/m"
	check_eq "status with the right password" 200 "$(tail -1 "$T/m")"
	check_eq "pwt-web failures in the scrape" 1 "$(grep -cx "portwatch_connect_failures_total{comm=\"pwt-web\",errno=\"EADDRNOTAVAIL\",family=\"inet\"} $want" "$T/m")"
	check_eq "X-Content-Type-Options from the config" nosniff \
		"$(grep -i '^x-content-type-options:' "$T/h" | cut -d' ' -f2 | tr -d '\r')"
	# wrong, missing or unknown credentials: 401 with a challenge, no metrics
	local who
	for who in "prom:wrong" "prom:" "nobody:$WEB_PASS" ""; do
		# a wrong password spends bcrypt budget: on a slow machine the
		# budget may be spent (429, Retry-After: 1); then ask again until
		# it refills (25 ms a second: under an emulator, where one hash
		# costs ~1 s of CPU, that takes ~40 s)
		local n=0 t0=$SECONDS end=$((SECONDS + $(waited 30)))
		while :; do
			wscrape ${who:+-u "$who"} -D "$T/h" > "$T/m"
			[ "$(tail -1 "$T/m")" = 429 ] && [ $SECONDS -lt $end ] || break
			sleep "$(grep -i '^retry-after:' "$T/h" | cut -d' ' -f2 | tr -d '\r')"
			n=$((n + 1))
		done
		[ $n = 0 ] || echo "    info: '$who': bcrypt budget spent, $n x 429, asked again for $((SECONDS - t0)) s"
		check_eq "status for credentials '$who'" 401 "$(tail -1 "$T/m")"
		check_eq "WWW-Authenticate for '$who'" 'Basic realm="portwatch"' \
			"$(grep -i '^www-authenticate:' "$T/h" | cut -d' ' -f2- | tr -d '\r')"
		check_eq "metric lines answered to '$who'" 0 "$(grep -c '^portwatch_' "$T/m")"
	done
	# a plain-HTTP client on the TLS port gets nothing
	curl -s --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics" -u "prom:$WEB_PASS" > "$T/m"
	local rc=$?
	check_eq "plain HTTP to the TLS port fails (curl exit not 0)" 1 "$([ $rc -ne 0 ] && echo 1)"
	check_eq "metric lines over plain HTTP" 0 "$(grep -c '^portwatch_' "$T/m")"
	# the default versions are the toolkit's TLS 1.2 and 1.3
	check_eq "status over TLS 1.2 (default min_version TLS12)" 200 \
		"$(wscrape -u "prom:$WEB_PASS" --tls-max 1.2 | tail -1)"
	# a TLS client that does not trust the certificate refuses it
	curl -s --max-time 5 -u "prom:$WEB_PASS" "https://127.0.0.1:$METRICS_PORT/metrics" > /dev/null
	check_eq "curl without the CA: exit 60 (certificate not trusted)" 60 $?

	# a real Prometheus: one job with the right password, one with a wrong one
	cat > "$T/prometheus.yml" <<-YML
	global:
	  scrape_interval: 1s
	scrape_configs:
	  - job_name: portwatch
	    scheme: https
	    tls_config: { ca_file: $T/server.crt }
	    basic_auth: { username: prom, password: $WEB_PASS }
	    static_configs: [ { targets: ['127.0.0.1:$METRICS_PORT'] } ]
	  - job_name: intruder
	    scheme: https
	    tls_config: { ca_file: $T/server.crt }
	    basic_auth: { username: prom, password: not-it }
	    static_configs: [ { targets: ['127.0.0.1:$METRICS_PORT'] } ]
	YML
	prom_start "$WEB_PROM_PORT"
	local end
	local q="portwatch_connect_failures_total{comm=\"pwt-web\",errno=\"EADDRNOTAVAIL\"}" v="" up=""
	end=$((SECONDS + $(waited 20)))
	while :; do
		v=$(wprom_query "$q" | jq -r '.data.result[0].value[1] // empty')
		up=$(wprom_query 'up{job="intruder"}' | jq -r '.data.result[0].value[1] // empty')
		[ "$v" = "$want" ] && [ -n "$up" ] && break
		[ $SECONDS -ge $end ] && break
		sleep 0.2
	done
	check_eq "Prometheus over TLS + basic auth: $q" "$want" "$v"
	check_eq "Prometheus: up{job=\"portwatch\"}" 1 "$(wprom_query 'up{job="portwatch"}' | jq -r '.data.result[0].value[1]')"
	check_eq "Prometheus: up{job=\"intruder\"} (wrong password)" 0 "$up"
	check_eq "Prometheus: the intruder's scrapes got 401" 1 \
		"$(wprom_targets | jq '[.data.activeTargets[] | select(.labels.job == "intruder") | .lastError | test("401")] | length')"
	pw_stop
}

# min_version: TLS13 refuses a TLS 1.2 client, which the default admits.
t_web_tls_min_version() {
	web_setup
	printf '  min_version: TLS13\n' > "$T/v.yml"
	sed '/key_file:/r '"$T/v.yml" "$T/web.yml" > "$T/web13.yml"
	check_eq "config has min_version" 1 "$(grep -c 'min_version: TLS13' "$T/web13.yml")"
	pw_start -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/web13.yml"
	check_eq "status over TLS 1.3" 200 "$(wscrape -u "prom:$WEB_PASS" --tlsv1.3 | tail -1)"
	wscrape -u "prom:$WEB_PASS" --tls-max 1.2 > "$T/m"
	check_eq "curl limited to TLS 1.2: handshake fails (exit 35)" 35 $?
	check_eq "metric lines over TLS 1.2" 0 "$(grep -c '^portwatch_' "$T/m")"
	pw_stop
}

# tls_try PORT ARGS...: an openssl s_client handshake; prints "ok CIPHER
# GROUP" or "refused".
tls_try() {
	local port=$1
	shift
	timeout "$(waited 10)" openssl s_client -connect "127.0.0.1:$port" -brief "$@" < /dev/null > "$T/s_client" 2>&1
	if grep -q '^CONNECTION ESTABLISHED' "$T/s_client"; then
		echo "ok $(sed -n 's/^Ciphersuite: //p' "$T/s_client") $(sed -n 's/^\(Server\|Peer\) Temp Key: \(ECDH, \)\{0,1\}\([^,]*\),.*/\3/p' "$T/s_client")"
	else
		echo refused
	fi
}

# The TLS suites peers get: by default the toolkit's modern set (TLS 1.2
# ECDHE with AES-GCM or ChaCha20-Poly1305, TLS 1.3), so a CBC, SHA-1 or
# static-RSA suite is refused; cipher_suites and curve_preferences as
# configured (Go's names) are honoured, one suite and one curve here.
t_web_tls_cipher_suites() {
	web_setup
	pw_start -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/web.yml"
	local p=$METRICS_PORT
	check_eq "default: TLS 1.2 ECDHE AES-GCM" "ok ECDHE-ECDSA-AES128-GCM-SHA256 X25519" \
		"$(tls_try "$p" -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256)"
	check_eq "default: TLS 1.2 ECDHE ChaCha20-Poly1305" "ok ECDHE-ECDSA-CHACHA20-POLY1305 X25519" \
		"$(tls_try "$p" -tls1_2 -cipher ECDHE-ECDSA-CHACHA20-POLY1305)"
	check_eq "default: TLS 1.2 CBC with SHA-1 refused" refused \
		"$(tls_try "$p" -tls1_2 -cipher ECDHE-ECDSA-AES128-SHA)"
	check_eq "default: TLS 1.2 CBC with SHA-256 refused" refused \
		"$(tls_try "$p" -tls1_2 -cipher ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA256)"
	check_eq "default: TLS 1.3" "ok TLS_AES_128_GCM_SHA256 X25519" \
		"$(tls_try "$p" -tls1_3 -ciphersuites TLS_AES_128_GCM_SHA256)"
	pw_stop

	sed '/key_file:/r /dev/stdin' "$T/web.yml" > "$T/web-suites.yml" <<-YML
	  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]
	  curve_preferences: [CurveP384]
	YML
	check_eq "config lists the suite" 1 "$(grep -c 'cipher_suites: \[TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\]' "$T/web-suites.yml")"
	pw_start -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/web-suites.yml"
	check_eq "configured: the listed suite and curve" "ok ECDHE-ECDSA-AES256-GCM-SHA384 secp384r1" \
		"$(tls_try "$p" -tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384)"
	check_eq "configured: a default suite not listed is refused" refused \
		"$(tls_try "$p" -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305)"
	check_eq "configured: a curve not listed is refused" refused \
		"$(tls_try "$p" -tls1_2 -cipher ECDHE-ECDSA-AES256-GCM-SHA384 -curves X25519:P-256)"
	check_eq "configured: TLS 1.3 with the listed cipher and curve" "ok TLS_AES_256_GCM_SHA384 secp384r1" \
		"$(tls_try "$p" -tls1_3)"
	check_eq "configured: scrape over it" 200 "$(wscrape -u "prom:$WEB_PASS" --max-time 5 | tail -1)"
	pw_stop
}

wprom_query() {
	curl -s --max-time 5 "http://127.0.0.1:$WEB_PROM_PORT/api/v1/query" --data-urlencode "query=$1"
}
wprom_targets() { curl -s --max-time 5 "http://127.0.0.1:$WEB_PROM_PORT/api/v1/targets"; }

# guessers SRC SECS NAME: 4 clients on SRC sending wrong passwords for prom
# back to back, for SECS s or until $T/NAME.stop is removed; their answers
# in $T/NAME.1 .. NAME.4, one line each, "STATUS:RETRY-AFTER" (the header's
# value, empty without one), their pids in GUESSERS.
guessers() {
	local i
	GUESSERS=()
	: > "$T/$3.stop"
	for i in 1 2 3 4; do
		(
			end=$((SECONDS + $2))
			while [ $SECONDS -lt $end ] && [ -e "$T/$3.stop" ]; do
				curl -s -o /dev/null -w '%{http_code}:%header{retry-after}\n' --max-time 5 \
					--cacert "$T/server.crt" --interface "$1" -u "prom:guess$RANDOM" \
					"https://127.0.0.1:$METRICS_PORT/metrics"
			done
		) > "$T/$3.$i" &
		GUESSERS+=($!)
		defer "kill $!"
	done
}

# guesses_counted NAME: once the guessers end, their answers: each 401
# (bcrypt ran) without Retry-After, or 429 (budget spent) with
# "Retry-After: 1" (user/http.c, docs/metrics.md), never metrics; counts in
# N401, N429.
guesses_counted() {
	wait "${GUESSERS[@]}"
	cat "$T/$1".[1-4] > "$T/$1"
	local total
	total=$(wc -l < "$T/$1")
	N401=$(grep -cx '401:' "$T/$1")
	N429=$(grep -cx '429:1' "$T/$1")
	echo "    info: $1: $total requests, $N401 x 401 (bcrypt ran), $N429 x 429 (budget spent)"
	check_eq "$1: requests answered 401 (no Retry-After) or 429 (Retry-After: 1)" "$total" "$((N401 + N429))"
}

# A flood of wrong passwords (each would cost bcrypt) from another address
# while the known credentials keep scraping within a second: the flood is
# answered 401, or 429 once the bcrypt budget is spent.
t_web_password_flood() {
	web_setup
	pw_start -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/web.yml"
	check_eq "first scrape (pays bcrypt once)" 200 "$(wscrape -u "prom:$WEB_PASS" | tail -1)"
	local i
	guessers 127.0.0.3 4 flood
	# within 1 s, 3 s in a sanitizer pass
	local ok=0 slow=0 lim=$((WAIT_SCALE < 3 ? WAIT_SCALE : 3))
	for i in $(seq 6); do
		sleep 0.5
		if [ "$(wscrape -u "prom:$WEB_PASS" --max-time "$lim" | tail -1)" = 200 ]; then
			ok=$((ok + 1))
		else
			slow=$((slow + 1))
		fi
	done
	guesses_counted flood	# each stops after 4 s, its last curl after 5 more at most
	check_eq "scrapes answered within $lim s during the flood" 6 "$ok"
	check_eq "some flood requests hit the bcrypt budget (429)" 1 "$([ "$N429" -gt 0 ] && echo 1)"
	check_eq "the flood got no metrics (no 200)" 0 "$(grep -c '^200:' "$T/flood")"
	pw_stop
}

# A guesser on one address (127.0.0.2) sending wrong passwords as fast as it
# can, from portwatch's start: it gets 429 once its own bcrypt budget is
# spent, and the right password from another address (127.0.0.1, Prometheus
# after a restart of portwatch: not cached yet) is checked, not 429.
t_web_guesser_other_address() {
	web_setup
	pw_start -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/web.yml"
	guessers 127.0.0.2 30 guess
	# the guesser has spent its budget: its next guesses are refused unchecked
	local end=$((SECONDS + $(waited 20)))
	until [ "$(cat "$T"/guess.[1-4] | grep -c '^429:')" -ge 3 ] || [ $SECONDS -ge $end ]; do
		sleep 0.1
	done
	check_eq "the guesser got 429 (its budget spent), at least 3 times" 1 \
		"$([ "$(cat "$T"/guess.[1-4] | grep -c '^429:')" -ge 3 ] && echo 1)"
	# while it goes on: the right password, first time (bcrypt), from 127.0.0.1
	wscrape -u "prom:$WEB_PASS" --max-time 5 -D "$T/h" > "$T/m"
	check_eq "right password from another address during the guessing (not 429)" 200 "$(tail -1 "$T/m")"
	check_eq "metric lines in that answer" 1 "$([ "$(grep -c '^portwatch_' "$T/m")" -gt 0 ] && echo 1)"
	rm -f "$T/guess.stop"
	guesses_counted guess
	pw_stop
}

# 64 clients from 8 addresses (8 each: within the per-address limit, and
# every one of the 64 slots) trickle a request head a byte a second: the
# 5 s header deadline closes them however they trickle, and a scrape from a
# ninth address, waiting for a slot, is answered within 1 s of that
# deadline (bounded wait, not a benchmark). Then every trickling
# connection has been closed by the server.
t_web_slow_headers_many_addresses() {
	command -v python3 >/dev/null || skip "python3 not installed"
	web_port
	write_trickle
	pw_start -q -l "127.0.0.1:$METRICS_PORT"
	local url="http://127.0.0.1:$METRICS_PORT/metrics" a
	check_eq "first scrape" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$url")"
	for a in 11 12 13 14 15 16 17 18; do
		python3 "$T/trickle.py" 127.0.0.1 "$METRICS_PORT" "127.0.0.$a" 8 12 http 1 > "$T/slow.$a" 2>&1 &
		defer "kill $!"
	done
	for a in 11 12 13 14 15 16 17 18; do
		wait_for "$T/slow.$a" '^\{' 20 || { cat "$T/slow.$a"; exit 1; }
	done
	# every connection is accepted (the listen queue is empty; the 64th
	# fills the server): their deadlines pass at the latest 5 s after now
	local end=$((SECONDS + $(waited 10))) queued
	until queued=$(ss -Hltn "sport = :$METRICS_PORT" | awk '{ print $2 }'); [ "$queued" = 0 ] ||
	      [ $SECONDS -ge $end ]; do
		sleep 0.05
	done
	# the margin past the deadline: 1 s, up to 4 s in a sanitizer pass
	# (still before the trickles end, 12 s on)
	local settled=$EPOCHREALTIME left margin=$((WAIT_SCALE < 4 ? WAIT_SCALE : 4))
	left=$(awk -v s="$settled" -v n="$EPOCHREALTIME" -v m="$margin" 'BEGIN { printf "%.1f", s + 5 + m - n }')
	curl -s -o /dev/null -w '%{http_code} %{time_total}\n' --max-time "$left" "$url" > "$T/ninth"
	echo "    info: the ninth address's scrape: $(cut -d' ' -f2 "$T/ninth") s of at most $left s (deadline + $margin s)"
	check_eq "trickling connections not yet accepted (listen queue) when the wait began" 0 "$queued"
	check_eq "trickling connections open (8 addresses x 8)" 64 \
		"$(for a in 11 12 13 14 15 16 17 18; do head -1 "$T/slow.$a" | jq .open; done | awk '{ n += $1 } END { print n }')"
	check_eq "a scrape from a ninth address, answered by $margin s past the deadline" 200 \
		"$(cut -d' ' -f1 "$T/ninth")"
	for a in 11 12 13 14 15 16 17 18; do
		wait_for "$T/slow.$a" '^done' 20 || exit 1
	done
	check_eq "trickling connections the server closed" 64 \
		"$(for a in 11 12 13 14 15 16 17 18; do sed -n 2p "$T/slow.$a" | jq .closed; done | awk '{ n += $1 } END { print n }')"
	pw_stop
}

# write_sockpoll: $T/sockpoll.py, what holders.py and trickle.py share:
# poll(socks, closed, timeout) adds to the set closed each of socks the
# server has closed (end of stream or an error), waiting up to timeout s.
write_sockpoll() {
	cat > "$T/sockpoll.py" <<-'PY'
	import select
	def poll(socks, closed, timeout):
	    r, _, _ = select.select([s for s in socks if s not in closed], [], [], timeout)
	    for s in r:
	        try:
	            if not s.recv(1):
	                closed.add(s)
	        except OSError:
	            closed.add(s)
	PY
}

# holders.py PORT DIR: 64 connections from 8 addresses, 127.0.0.11 to .18,
# 8 each (the per-address limit), each sending the start of a request head
# and no more: they hold the server's 64 slots until their 5 s header
# deadline. Prints {"connected": N}; once DIR/release exists, how many the
# server had closed by then ({"closed_before_release": N}), then closes the
# first (a slot frees); the others stay open until DIR/stop exists (at most
# 30 s).
write_holders() {
	write_sockpoll
	cat > "$T/holders.py" <<-'PY'
	import json, os, socket, sys, time
	import sockpoll
	port, tdir = int(sys.argv[1]), sys.argv[2]
	socks = []
	for a in range(11, 19):
	    for k in range(8):
	        s = socket.socket()
	        s.bind(("127.0.0.%d" % a, 0))
	        s.connect(("127.0.0.1", port))
	        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
	        socks.append(s)
	print(json.dumps({"connected": len(socks)}), flush=True)
	closed = set()
	def poll(timeout):
	    sockpoll.poll(socks, closed, timeout)
	end = time.time() + 30
	while time.time() < end and not os.path.exists(tdir + "/release"):
	    poll(0.02)
	poll(0)
	print(json.dumps({"closed_before_release": len(closed)}), flush=True)
	socks[0].close()
	while time.time() < end and not os.path.exists(tdir + "/stop"):
	    time.sleep(0.05)
	PY
}

# listen_queue PORT: connections the kernel made that nobody accepted yet
listen_queue() { ss -Hltn "sport = :$1" | awk '{ print $2 }'; }

# The total connection limit (64, user/http.c MAX_CONNS): with the 64 slots
# held by clients from 8 addresses (8 each, within the per-address limit)
# that have not finished their request heads, a 65th client (curl from a
# ninth address) is not refused: its connection waits in the listen queue,
# unanswered; once one of the 64 closes, it is accepted and answered 200
# (docs/metrics.md: the limits table). The 64 hold their slots for 5 s
# (the header deadline): all of this must happen within that; if the host
# was too slow (the server closed a holder before the release), the case
# runs once more, then fails.
t_web_total_connection_limit() {
	command -v python3 >/dev/null || skip "python3 not installed"
	web_port
	write_holders
	pw_start -q -l "127.0.0.1:$METRICS_PORT"
	local try
	for try in 1 2; do
		total_limit_case "$try" && break
	done
	pw_stop
}

# total_limit_case TRY: one run of the case; 1 if the host was too slow
total_limit_case() {
	local url="http://127.0.0.1:$METRICS_PORT/" queued end c65 hp early
	rm -f "$T/release" "$T/stop" "$T/c65"
	python3 "$T/holders.py" "$METRICS_PORT" "$T" > "$T/holders" 2>&1 &
	hp=$!
	defer "kill $hp"
	wait_for "$T/holders" '^\{"connected"' 30 || { cat "$T/holders"; exit 1; }
	check_eq "holders connected (8 addresses x 8)" 64 "$(head -1 "$T/holders" | jq .connected)"
	# all 64 accepted: none left in the listen queue
	end=$((SECONDS + $(waited 5)))
	until queued=$(listen_queue "$METRICS_PORT"); [ "$queued" = 0 ] || [ $SECONDS -ge $end ]; do
		sleep 0.02
	done
	check_eq "holders accepted (listen queue empty)" 0 "$queued"
	curl -s -o /dev/null -w '%{http_code} %{num_connects}\n' --max-time 30 \
		--interface 127.0.0.19 "$url" > "$T/c65" 2> "$T/c65.err" &
	c65=$!
	defer "kill $c65"
	# its connection is made (by the kernel) and waits to be accepted
	end=$((SECONDS + $(waited 5)))
	until queued=$(listen_queue "$METRICS_PORT"); [ "$queued" = 1 ] || [ $SECONDS -ge $end ]; do
		sleep 0.02
	done
	local waiting=no
	kill -0 "$c65" 2>/dev/null && [ ! -s "$T/c65" ] && waiting=yes
	touch "$T/release"
	wait_for "$T/holders" '^\{"closed_before_release"' 10 || exit 1
	early=$(sed -n 2p "$T/holders" | jq .closed_before_release)
	wait "$c65"
	if [ "$early" != 0 ] && [ "$1" = 1 ]; then
		echo "    info: try $1: the server closed $early holder(s) at their deadline before the release (a slow host): once more"
		touch "$T/stop"
		wait "$hp"
		return 1
	fi
	check_eq "holders closed by the server before the release" 0 "$early"
	check_eq "the 65th connection in the listen queue while the 64 hold" 1 "$queued"
	check_eq "the 65th client unanswered meanwhile (curl still waiting)" yes "$waiting"
	check_eq "the 65th client, once a slot freed: status and connections" "200 1" "$(cat "$T/c65")"
	check_eq "listen queue after" 0 "$(listen_queue "$METRICS_PORT")"
	touch "$T/stop"
	wait "$hp"
	return 0
}

# trickle.py ADDR PORT SRC N SECONDS tls|http [EVERY]: N connections from
# SRC that each send one byte every EVERY s (default 2) of a real TLS
# ClientHello or of an HTTP request head; prints one JSON line once the
# server has settled ({"open": ..., "closed": ...}), another at the end,
# then "done".
write_trickle() {
	write_sockpoll
	cat > "$T/trickle.py" <<-'PY'
	import json, socket, ssl, sys, time
	import sockpoll
	addr, port, src, n, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
	every = float(sys.argv[7]) if len(sys.argv) > 7 else 2
	if sys.argv[6] == "tls":
	    # the first bytes a TLS client sends: its ClientHello, from Python's ssl
	    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
	    tls = ssl.create_default_context().wrap_bio(inc, out, server_hostname="portwatch-test")
	    try:
	        tls.do_handshake()
	    except ssl.SSLWantReadError:
	        pass
	    req = out.read()
	else:
	    req = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 4096
	socks = []
	for i in range(n):
	    s = socket.socket()
	    s.bind((src, 0))
	    s.connect((addr, port))
	    socks.append(s)
	closed = set()
	def poll(timeout):
	    sockpoll.poll(socks, closed, timeout)
	sent = 0
	def trickle():
	    global sent
	    for s in socks:
	        if s not in closed:
	            try:
	                s.send(req[sent:sent + 1])
	            except OSError:
	                closed.add(s)
	    sent += 1
	trickle()
	# the server refuses the excess at accept: wait until nothing changes for 1 s (at most 10 s)
	end = time.time() + 10
	last, since = -1, time.time()
	while time.time() < end:
	    poll(0.1)
	    if len(closed) != last:
	        last, since = len(closed), time.time()
	    elif time.time() - since >= 1:
	        break
	print(json.dumps({"open": n - len(closed), "closed": len(closed)}), flush=True)
	end = time.time() + secs
	next_byte = time.time() + every
	while time.time() < end:
	    poll(0.1)
	    if time.time() >= next_byte:
	        trickle()
	        next_byte += every
	print(json.dumps({"open": n - len(closed), "closed": len(closed), "sent": sent}), flush=True)
	print("done", flush=True)
	PY
}

# 64 clients on one address trickle bytes (never finishing a request) for
# 14 s: they hold their address's 8 connections, not the server; scrapes
# from another address answer within a second all along, and the trickling
# address gets no 9th connection. The TLS handshake, request line and headers
# must be in within 5 s of the accept however they trickle (a total deadline,
# not an idle timeout that each byte renews), so after 14 s none is left.
trickle_case() {	# tls|plain
	local scheme=http auth=() payload=http
	write_trickle
	if [ "$1" = tls ]; then
		web_setup
		pw_start -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/web.yml"
		scheme=https auth=(--cacert "$T/server.crt" -u "prom:$WEB_PASS") payload=tls
	else
		web_port
		pw_start -q -l "127.0.0.1:$METRICS_PORT"
	fi
	local url="$scheme://127.0.0.1:$METRICS_PORT/metrics"
	check_eq "first scrape" 200 "$(curl -s -o /dev/null -w '%{http_code}' "${auth[@]}" "$url")"
	python3 "$T/trickle.py" 127.0.0.1 "$METRICS_PORT" 127.0.0.2 64 14 $payload > "$T/trickle" 2>&1 &
	defer "kill $!"
	wait_for "$T/trickle" '^\{' 15 || { cat "$T/trickle"; exit 1; }
	check_eq "trickling connections the server keeps (per-address limit)" 8 "$(head -1 "$T/trickle" | jq .open)"
	check_eq "trickling connections refused" 56 "$(head -1 "$T/trickle" | jq .closed)"
	curl -s -o /dev/null --max-time 2 --interface 127.0.0.2 "${auth[@]}" "$url"
	check_eq "a 9th connection from the trickling address is refused (curl exit not 0)" 1 "$([ $? -ne 0 ] && echo 1)"
	# within 1 s, 3 s in a sanitizer pass (still short of the 5 s deadline
	# that would free a blocked server)
	local ok=0 i lim=$((WAIT_SCALE < 3 ? WAIT_SCALE : 3))
	for i in $(seq 8); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time "$lim" "${auth[@]}" "$url")" = 200 ] && ok=$((ok + 1))
		sleep 1
	done
	check_eq "scrapes answered within $lim s while 64 clients trickle" 8 "$ok"
	wait_for "$T/trickle" '^done' 20 || exit 1
	check_eq "trickling connections left after 14 s (5 s header deadline)" 0 "$(sed -n 2p "$T/trickle" | jq .open)"
	pw_stop
}

t_web_trickling_clients_tls() {
	command -v python3 >/dev/null || skip "python3 not installed"
	trickle_case tls
}

t_web_trickling_clients_http() {
	command -v python3 >/dev/null || skip "python3 not installed"
	trickle_case plain
}

# A client that connects and sends nothing is closed at the 5 s header
# deadline (bounded wait: 20 s).
t_web_idle_timeout() {
	command -v python3 >/dev/null || skip "python3 not installed"
	web_port
	pw_start -q -l "127.0.0.1:$METRICS_PORT"
	python3 - "$METRICS_PORT" > "$T/idle" <<-'PY'
	import socket, sys, time
	s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
	s.settimeout(20)
	t0 = time.monotonic()
	try:
	    data = s.recv(1)
	except socket.timeout:
	    data = None
	print("closed" if data == b"" else "open", round(time.monotonic() - t0))
	PY
	check_eq "a silent connection is closed by the server" closed "$(cut -d' ' -f1 "$T/idle")"
	local secs
	secs=$(cut -d' ' -f2 "$T/idle")
	echo "    info: closed after $secs s"
	check_eq "closed at the 5 s header deadline, not before (4-8 s)" 1 "$([ "$secs" -ge 4 ] && [ "$secs" -le 8 ] && echo 1)"
	pw_stop
}

# The per-address connection limit counts an IPv6 client by its /64 (a host
# or a tenant has a whole /64): 9 connections from 9 addresses of one /64
# get 8 answers, the 9th is closed at accept, and a client of another /64
# is answered. In a netns of its own, portwatch listening there.
t_web_ipv6_slash64_limit() {
	command -v python3 >/dev/null || skip "python3 not installed"
	web_port
	mk_netns 32768 60999
	in_ns ip -6 addr add 2001:db8::1/64 dev lo nodad 2>/dev/null ||
		skip "no IPv6 in a new netns (ipv6.disable=1?)"
	local i
	for i in 100 101 102 103 104 105 106 107 108; do
		must in_ns ip -6 addr add "2001:db8::$i/64" dev lo nodad
	done
	must in_ns ip -6 addr add 2001:db8:0:1::1/64 dev lo nodad
	ip netns exec "$NS" "$PW" -q -l "[2001:db8::1]:$METRICS_PORT" > "$T/pw.out" 2> "$T/pw.err" &	# ip execs: $! is portwatch
	PW_PID=$!
	defer "kill -INT $PW_PID; wait $PW_PID"
	wait_for "$T/pw.err" 'attached in' 10 || { sed 's/^/      pw: /' "$T/pw.err"; exit 1; }
	in_ns python3 - "$METRICS_PORT" > "$T/v6" 2>&1 <<-'PY'
	import socket, sys
	port = int(sys.argv[1])
	srcs = ["2001:db8::%d" % (100 + i) for i in range(9)] + ["2001:db8:0:1::1"]
	socks = []
	for src in srcs:	# all connected first: the server sees them together
	    s = socket.socket(socket.AF_INET6)
	    s.bind((src, 0))
	    s.connect(("2001:db8::1", port))
	    socks.append(s)
	for s in socks:
	    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	for src, s in zip(srcs, socks):
	    s.settimeout(10)
	    try:
	        head = s.recv(12)
	    except OSError:
	        head = b""
	    print(src, "answered" if head.startswith(b"HTTP/1.1 200") else "refused")
	PY
	sed 's/^/      /' "$T/v6"
	check_eq "connections from one /64 answered (per-address limit)" 8 "$(grep -c '^2001:db8::1[0-9][0-9] answered$' "$T/v6")"
	check_eq "connections from one /64 refused" 1 "$(grep -c '^2001:db8::1[0-9][0-9] refused$' "$T/v6")"
	check_eq "a client of another /64 answered" "2001:db8:0:1::1 answered" "$(grep '^2001:db8:0:1::1 ' "$T/v6")"
	pw_stop
}

# Request line and headers beyond 16 KiB are refused, and the server goes on.
t_web_oversized_request() {
	web_port
	pw_start -q -l "127.0.0.1:$METRICS_PORT"
	local big
	big=$(head -c 20000 /dev/zero | tr '\0' a)
	curl -s -o "$T/b" -w '%{http_code}' --max-time 5 -H "X-Big: $big" \
		"http://127.0.0.1:$METRICS_PORT/metrics" > "$T/code"
	check_eq "status for 20 kB of headers" 431 "$(cat "$T/code")"
	check_eq "metric lines in that answer" 0 "$(grep -c '^portwatch_' "$T/b")"
	check_eq "status for a 20 kB URL" 414 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
		"http://127.0.0.1:$METRICS_PORT/metrics?$big")"
	check_eq "status for 8 kB of headers (within the limit)" 200 "$(curl -s -o /dev/null -w '%{http_code}' \
		--max-time 5 -H "X-Big: ${big:0:8000}" "http://127.0.0.1:$METRICS_PORT/metrics")"
	pw_stop
}

# Bad web configurations: exit 2, one line on stderr naming the problem,
# nothing attached.
t_web_bad_config() {
	web_setup
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-keyout "$T/other.key" -out "$T/other.crt" -subj /CN=other 2>/dev/null
	echo "not a certificate" > "$T/junk.pem"
	local c=0 name yml want rc
	while IFS='|' read -r name want yml; do
		c=$((c + 1))
		printf '%b' "$yml" > "$T/bad$c.yml"
		"$PW" -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/bad$c.yml" -d 1 > "$T/out" 2> "$T/err"
		rc=$?
		check_eq "$name: exit code" 2 "$rc"
		check_eq "$name: stderr lines" 1 "$(wc -l < "$T/err")"
		check_eq "$name: says '$want'" 1 "$(grep -c -- "$want" "$T/err")"
		check_eq "$name: nothing attached" 0 "$(grep -c 'attached in' "$T/err")"
		echo "    info: $(cat "$T/err")"
	done <<-EOF
	bad YAML|line 2: YAML:|tls_server_config: [\n
	unknown key|unknown key 'ca_file' in tls_server_config|tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  ca_file: server.crt\n
	misspelt section|unknown key 'basic_auth_user'|basic_auth_user:\n  prom: $WEB_HASH\n
	unsupported client certificates|client_ca_file is not supported|tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: server.crt\n
	missing key_file|missing key_file|tls_server_config:\n  cert_file: server.crt\n
	cert_file not found|cert_file $T/nope.crt: No such file|tls_server_config:\n  cert_file: nope.crt\n  key_file: server.key\n
	cert_file not PEM|not usable|tls_server_config:\n  cert_file: junk.pem\n  key_file: server.key\n
	key of another certificate|not usable|tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n
	a plain password|not a bcrypt hash|basic_auth_users:\n  prom: $WEB_PASS\n
	unknown cipher suite|cipher_suites: unknown name 'TLS_ECDHE_RSA_WITH_AES_128_GCM'|tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM]\n
	unknown curve|curve_preferences: unknown name 'P-256'|tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [P-256]\n
	suites GnuTLS cannot offer alone|also TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384|tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n
	EOF
	"$PW" -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/none.yml" -d 1 > "$T/out" 2> "$T/err"
	check_eq "missing file: exit code" 2 $?
	check_eq "missing file: one line saying so" 1 "$(grep -c "cannot read $T/none.yml: No such file" "$T/err")"
	check_eq "missing file: stderr lines" 1 "$(wc -l < "$T/err")"
	"$PW" -q --web.config.file="$T/web.yml" -d 1 > "$T/out" 2> "$T/err"
	check_eq "--web.config.file without --listen: exit code" 2 $?
	check_eq "--web.config.file without --listen: says so" 1 "$(grep -c 'give both' "$T/err")"
	# an empty file is valid (as in the toolkit): plain HTTP, no users
	: > "$T/empty.yml"
	pw_start -q -l "127.0.0.1:$METRICS_PORT" --web.config.file="$T/empty.yml"
	check_eq "empty web config: plain HTTP answers" 200 \
		"$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$METRICS_PORT/metrics")"
	pw_stop
}

# deploy/networkpolicy.yaml: valid YAML, admits only the monitoring
# namespace, to the DaemonSet's metrics port.
t_web_networkpolicy() {
	python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml not installed (package python3-yaml)"
	python3 - deploy/networkpolicy.yaml deploy/daemonset.yaml > "$T/np" 2>&1 <<-'PY'
	import sys, yaml
	np = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
	ds = [d for d in yaml.safe_load_all(open(sys.argv[2])) if d and d["kind"] == "DaemonSet"][0]
	port = [p for c in ds["spec"]["template"]["spec"]["containers"] for p in c.get("ports", []) if p["name"] == "metrics"][0]
	p = np[0]
	print("kind", p["kind"])
	print("namespace", p["metadata"]["namespace"] == ds["metadata"]["namespace"])
	print("pods", p["spec"]["podSelector"]["matchLabels"] == ds["spec"]["selector"]["matchLabels"])
	print("types", ",".join(p["spec"]["policyTypes"]))
	rules = p["spec"]["ingress"]
	print("rules", len(rules))
	print("from", yaml.safe_dump(rules[0]["from"], default_flow_style=True).strip())
	print("ports", [(q["protocol"], q["port"]) for q in rules[0]["ports"]] == [("TCP", port["containerPort"])])
	PY
	sed 's/^/      /' "$T/np"
	check_eq "kind" "kind NetworkPolicy" "$(grep '^kind' "$T/np")"
	check_eq "in the DaemonSet's namespace" "namespace True" "$(grep '^namespace' "$T/np")"
	check_eq "selects the DaemonSet's pods" "pods True" "$(grep '^pods' "$T/np")"
	check_eq "policy types" "types Ingress" "$(grep '^types' "$T/np")"
	check_eq "one ingress rule" "rules 1" "$(grep '^rules' "$T/np")"
	check_eq "from the monitoring namespace only" \
		"from [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}}]" \
		"$(grep '^from' "$T/np")"
	check_eq "to the DaemonSet's metrics port" "ports True" "$(grep '^ports' "$T/np")"
}
