# Integration tests of the deployment (issue: the fleet for real): the image
# of `make image` run by Debian's runc with deploy/daemonset.yaml's
# securityContext translated into the bundle's config, the curl case of
# tests/integration.sh in another netns (the "pod"), asserted exactly as on
# the host; the same with the capabilities the DaemonSet used to grant (the
# census must say what it cannot read); portwatch in a pid namespace of its
# own. Sourced by tests/run.sh after tests/lib.sh and tests/integration.sh.

# the version, as the Makefile reads it (debian/changelog)
IMAGE_VERSION=$(sed -n '1s/^portwatch (\([^ ]*\)) .*/\1/p' debian/changelog)
IMAGE_ARCHIVE=${IMAGE_ARCHIVE:-$OUT/portwatch-$IMAGE_VERSION.oci.tar}
DAEMONSET=deploy/daemonset.yaml

# image_bundle [CAPS]: an OCI bundle in $T/bundle from the image archive:
# rootfs by umoci, config.json from `runc spec`, edited to what the
# DaemonSet's pod spec asks for; CAPS (e.g. "BPF PERFMON") replaces its
# capabilities. Also makes the container's netns ($CNS) and its cleanup.
image_bundle() {
	# the sanitizer pass runs the suite again with the ASan build: the
	# image holds the release build, which the first pass ran already
	[ -z "${PW_SAN_INNER:-}" ] || skip "the image holds the release build, not the sanitizer build (run in the first pass)"
	command -v runc >/dev/null || skip "runc not installed (sudo make test-deps)"
	command -v umoci >/dev/null || skip "umoci not installed (sudo make test-deps)"
	python3 -c 'import yaml' 2>/dev/null || skip "python3-yaml not installed (sudo make test-deps)"
	[ -f "$IMAGE_ARCHIVE" ] || { fail "no image at $IMAGE_ARCHIVE: run make image"; exit 1; }
	local tag
	tag=$IMAGE_VERSION
	check_eq "the version is portwatch's (--version)" "portwatch $tag" "$("$PW" --version)"
	must mkdir -p "$T/oci" "$T/bundle"
	must tar -C "$T/oci" -xf "$IMAGE_ARCHIVE"
	must umoci raw unpack --image "$T/oci:$tag" "$T/bundle/rootfs"
	cmp -s "$T/bundle/rootfs/usr/sbin/portwatch" "$PW" ||
		{ fail "the image's portwatch is not $PW: run make image"; exit 1; }
	(cd "$T/bundle" && runc spec) || { fail "setup: runc spec"; exit 1; }

	CNS=pwc-$$-$RANDOM
	must ip netns add "$CNS"
	defer "ip netns del $CNS"
	must ip -n "$CNS" link set lo up
	CNS_INO=$(stat -L -c %i "/run/netns/$CNS")
	check_eq "the DaemonSet's image tag is the version" "portwatch:$tag" \
		"$(python3 -c 'import sys, yaml
for d in yaml.safe_load_all(open(sys.argv[1])):
    if d and d.get("kind") == "DaemonSet":
        print(d["spec"]["template"]["spec"]["containers"][0]["image"].rsplit("/", 1)[1])' "$DAEMONSET")"
	must python3 - "$DAEMONSET" "$T/bundle/config.json" "/run/netns/$CNS" "${1:-}" <<'EOF'
# The pod spec of the DaemonSet as a runtime config, the way a CRI runtime
# would make it: only what the pod spec says, nothing added.
import json, os, sys, yaml

ds_path, cfg_path, netns, caps_override = sys.argv[1:5]
docs = [d for d in yaml.safe_load_all(open(ds_path)) if d]
ds = next(d for d in docs if d.get("kind") == "DaemonSet")
pod = ds["spec"]["template"]["spec"]
ctr = pod["containers"][0]
sc = ctr["securityContext"]
cfg = json.load(open(cfg_path))
proc = cfg["process"]

proc["terminal"] = False
proc["args"] = ["/usr/sbin/portwatch"] + ctr.get("args", [])
proc.pop("rlimits", None)	# refused in this sandbox; the pod sets none
proc["user"] = {"uid": sc.get("runAsUser", 0), "gid": 0}
proc["noNewPrivileges"] = sc.get("allowPrivilegeEscalation", True) is False
assert sc["capabilities"]["drop"] == ["ALL"]
caps = caps_override.split() if caps_override else sc["capabilities"]["add"]
caps = ["CAP_" + c for c in caps]
# as containerd does for a non-root-less pod: no inheritable, no ambient
proc["capabilities"] = {"bounding": caps, "effective": caps, "permitted": caps}
cfg["root"]["readonly"] = bool(sc.get("readOnlyRootFilesystem"))

ns = [n for n in cfg["linux"]["namespaces"]
      if not (n["type"] == "pid" and pod.get("hostPID"))
      and n["type"] != "network"]
if pod.get("hostNetwork"):
    sys.exit("hostNetwork: the test expects a netns of the pod's own")
ns.append({"type": "network", "path": netns})
cfg["linux"]["namespaces"] = ns

vols = {v["name"]: v for v in pod.get("volumes", [])}
for m in ctr.get("volumeMounts", []):
    host = vols[m["name"]]["hostPath"]["path"]
    if vols[m["name"]]["hostPath"].get("type") == "DirectoryOrCreate" and not os.path.exists(host):
        # the kubelet would create it empty: an empty folder of the test's
        host = os.path.join(os.path.dirname(cfg_path), "hostpath" + host)
        os.makedirs(host)
    cfg["mounts"] = [x for x in cfg["mounts"] if x["destination"] != m["mountPath"]]
    opts = ["rbind", "nosuid", "nodev", "noexec"] + (["ro"] if m.get("readOnly") else [])
    cfg["mounts"].append({"destination": m["mountPath"], "type": "bind",
                          "source": host, "options": opts})

mem = ctr.get("resources", {}).get("limits", {}).get("memory")
if mem:
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
    n = int(mem[:-2]) * units[mem[-2:]]
    cfg["linux"].setdefault("resources", {})["memory"] = {"limit": n}
json.dump(cfg, open(cfg_path, "w"), indent=1)
EOF
}

# image_args ARGS...: replace the container's arguments (the DaemonSet's are
# "--quiet --listen=:10099"; the tests need the events too).
image_args() {
	must python3 - "$T/bundle/config.json" "$@" <<'EOF'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["process"]["args"] = ["/usr/sbin/portwatch"] + sys.argv[2:]
json.dump(cfg, open(sys.argv[1], "w"), indent=1)
EOF
}

# image_cgroup_mounts: the mount point of every cgroup hierarchy (cgroup v2,
# and each v1 controller's on a hybrid host)
image_cgroup_mounts() {
	awk '{ for (i = 7; i < NF; i++) if ($i == "-") break
		if ($(i + 1) == "cgroup" || $(i + 1) == "cgroup2") print $5 }' /proc/self/mountinfo
}

# image_cgroups_kept REL: per hierarchy, the deepest level of REL that
# exists now, before runc makes REL (in cgroup v2 the test's own cgroup,
# PW_TEST_CG_REL, made by tests/run.sh; in a v1 hierarchy the level above
# what runc will make, up to the mount root): what image_cgroups_remove
# must never remove
image_cgroups_kept() {
	local m d
	for m in $(image_cgroup_mounts); do
		d=$m$1
		while [ "$d" != "$m" ] && [ ! -e "$d" ]; do
			d=${d%/*}
		done
		echo "$d"
	done
}

# image_cgroups_remove REL KEPT...: cgroup REL in every hierarchy, any
# process left in it killed, then it and each empty level above it that the
# test made (runc, which creates the levels of cgroupsPath missing in each
# hierarchy, but whose delete removes only the container's own), deepest
# first, stopping at that hierarchy's KEPT (image_cgroups_kept, taken
# before runc ran): a level that was there before is never removed, be it
# the test's own cgroup or a host's (a hybrid host's v1 controllers hold
# systemd's empty levels). A hierarchy without a KEPT (none recorded)
# loses REL's own level only.
image_cgroups_remove() {
	local rel=$1 m d p k stop _
	shift
	for m in $(image_cgroup_mounts); do
		d=$m$rel
		for _ in $(seq 50); do
			p=$(cat "$d/cgroup.procs" 2>/dev/null)
			[ -z "$p" ] && break
			# shellcheck disable=SC2086
			kill -KILL $p 2>/dev/null
			sleep 0.1
		done
		# this hierarchy's KEPT: the deepest one of it that is d or above
		stop=
		for k in "$@"; do
			case $k in "$m" | "$m"/*) ;; *) continue ;; esac
			case $d/ in "$k"/*) [ ${#k} -gt ${#stop} ] && stop=$k ;; esac
		done
		[ -n "$stop" ] || stop=${d%/*}
		# (the container's own level may be gone already: runc delete)
		while [ ${#d} -gt ${#stop} ] && { [ ! -e "$d" ] || rmdir "$d" 2>/dev/null; }; do
			d=${d%/*}
		done
	done
}

# image_own_cgroup: the container's cgroup under the test's own
# (linux.cgroupsPath, absolute from the hierarchy's root: tests/run.sh kills
# and removes what is left there, and sweeps it after a killed run); its
# cleanup removes it in every hierarchy, also when runc could not, and the
# levels above it that runc made. Sets CTR.
image_own_cgroup() {
	local k kept=
	CTR=pwimg-$$-$RANDOM
	[ -n "${PW_TEST_CG_REL:-}" ] || return 0
	must python3 - "$T/bundle/config.json" "$PW_TEST_CG_REL/$CTR" <<'PYEOF'
import json, sys
cfg = json.load(open(sys.argv[1]))
cfg["linux"]["cgroupsPath"] = sys.argv[2]
json.dump(cfg, open(sys.argv[1], "w"), indent=1)
PYEOF
	for k in $(image_cgroups_kept "$PW_TEST_CG_REL/$CTR"); do
		kept+=" '$k'"
	done
	defer "image_cgroups_remove '$PW_TEST_CG_REL/$CTR'$kept"
}

# image_attached: wait for portwatch's attach line in the container
# (or for a line saying why not: not the pid namespace's, which says what
# "cannot be seen" from a namespace of its own)
image_attached() {
	local end=$((SECONDS + 20))
	until grep -q 'attached in' "$T/pw.err" ||
	      grep -vE "^portwatch: pid namespace [0-9]+ is not the host's" "$T/pw.err" |
	      grep -qE '^portwatch: .*(cannot|nothing attachable)'; do
		[ $SECONDS -ge $end ] && break
		sleep 0.02
	done
	if ! grep -q 'attached in' "$T/pw.err"; then
		fail "portwatch in the container did not attach within 20 s"
		sed 's/^/      container: /' "$T/pw.err"
		exit 1
	fi
	# the capabilities line is written before the attach line (the last line
	# of the start): found at once
	wait_for "$T/pw.err" '^portwatch: (capabilities after attach|cannot drop capabilities)' 10 || exit 1
}

image_cgroup_check() {
	[ -z "${PW_TEST_CG_REL:-}" ] || check_eq "the container's cgroup (v2) is under the test's own" \
		"$PW_TEST_CG_REL/$CTR" "$(awk -F: '$1 == "0" {print $3}' "/proc/$CTR_PID/cgroup")"
}

# image_start: run the bundle with runc (not detached: runc passes stdio
# through and exits with the container's status), wait for "attached in".
# Sets CTR (container id) and CTR_PID (portwatch's pid on the host).
image_start() {
	image_own_cgroup
	RUNC="runc --root $T/runc"
	$RUNC run --bundle "$T/bundle" "$CTR" > "$T/pw.out" 2> "$T/pw.err" &
	PW_PID=$!
	defer "$RUNC kill $CTR KILL; wait $PW_PID; $RUNC delete -f $CTR"
	image_attached
	CTR_PID=$($RUNC state "$CTR" | jq .pid)
	image_cgroup_check
}

# image_start_pidns: the same in a pid namespace of the test's own, which
# the container shares (the DaemonSet's hostPID) and whose every process
# the test knows: runc (its init) and the pod's httpd in the test netns
# (started there, not by start_httpd: ready when image_start_pidns returns). runc's pids there are not the host's, so no runc command runs
# from outside: SIGINT goes to portwatch's host pid (image_stop_pidns), and
# the cleanup kills the namespace's init (every process there dies with
# it) and removes the container's cgroups (image_own_cgroup); its state is
# in $T. Sets CTR, CTR_PID (host pid) and PIDNS_INO.
image_start_pidns() {
	local init inner p
	image_own_cgroup
	unshare --pid --fork --mount-proc bash -c '
		ip netns exec "$1" "$2" 127.0.0.1 8080 > "$3/httpd.out" 2>&1 &
		exec runc --root "$3/runc" run --bundle "$3/bundle" "$4"' \
		sh "$NS" "$HTTPD" "$T" "$CTR" > "$T/pw.out" 2> "$T/pw.err" &
	PW_PID=$!
	# unshare's child, while unshare lives (its pid cannot be another's)
	defer "kill -KILL \$(ps -o pid= --ppid $PW_PID) 2>/dev/null; wait $PW_PID"
	wait_for "$T/httpd.out" '^ready' 10 || exit 1
	image_attached
	init=$(ps -o pid= --ppid "$PW_PID" | tr -d ' ')
	PIDNS_INO=$(stat -L -c %i "/proc/$init/ns/pid")
	inner=$(jq .init_process_pid "$T/runc/$CTR/state.json")
	CTR_PID=
	for p in $(pidns_procs); do
		[ "$(awk '$1 == "NSpid:" {print $NF}' "/proc/$p/status")" = "$inner" ] && CTR_PID=$p
	done
	[ -n "$CTR_PID" ] || { fail "setup: no process of pid $inner in pid namespace $PIDNS_INO"; exit 1; }
	image_cgroup_check
}

# pidns_procs: the host pids of the processes in pid namespace PIDNS_INO
pidns_procs() {
	local p
	for p in /proc/[0-9]*; do
		[ "$(stat -L -c %i "$p/ns/pid" 2>/dev/null)" = "$PIDNS_INO" ] && echo "${p#/proc/}"
	done
}

image_stop_pidns() {
	kill -INT "$CTR_PID"
	wait "$PW_PID"
	PW_RC=$?
	check_eq "container exit code after SIGINT" 0 "$PW_RC"
}

# image_stop: SIGINT to portwatch in the container; runc's exit status is
# the container's.
image_stop() {
	$RUNC kill "$CTR" INT
	wait "$PW_PID"
	PW_RC=$?
	check_eq "container exit code after SIGINT" 0 "$PW_RC"
}

ctr_scrape() { ip netns exec "$CNS" curl -s --max-time 5 http://127.0.0.1:10099/metrics; }

# The deployment as written: deploy/daemonset.yaml's privileges, mounts and
# namespaces in runc; the curl case in a "pod" netns.
t_image_daemonset_runc() {
	own_cgroup
	image_bundle
	# the test's own cgroup (the curl runs' and httpd's): the host's cgroup
	# hierarchy is mounted at the same path in the container
	image_args -j --cgroup="$OWN_CG" -i 1 --warn-at=80 --listen=:10099
	mk_netns $RANGE_LO $RANGE_HI
	start_httpd
	image_start
	echo "    info: $(grep '^portwatch: netns' "$T/pw.err")"

	# least privilege: the census is not limited, and after attach only
	# the census's two capabilities remain, with no way to regain any
	check_eq "no missing-capability line" 0 "$(grep -c 'missing CAP_' "$T/pw.err")"
	check_eq "says what it keeps after attach" 1 "$(grep -cxF "portwatch: capabilities after attach: CAP_sys_admin (census: setns), CAP_sys_ptrace (census: other processes' /proc/PID/ns/net; clients: /proc/PID/maps, exe), CAP_dac_read_search (workloads: cgroup ids to paths); all others dropped" "$T/pw.err")"
	check_eq "CapEff of portwatch in the container (SYS_ADMIN | SYS_PTRACE | DAC_READ_SEARCH)" 0000000000280004 \
		"$(awk '$1 == "CapEff:" {print $2}' "/proc/$CTR_PID/status")"
	check_eq "CapPrm" 0000000000280004 "$(awk '$1 == "CapPrm:" {print $2}' "/proc/$CTR_PID/status")"
	# capabilities are per thread: the worker thread (census, /metrics)
	# must have been started after the drop
	check_eq "at least the consumer and the worker thread" yes \
		"$([ "$(ls "/proc/$CTR_PID/task" | wc -l)" -ge 2 ] && echo yes || echo no)"
	check_eq "CapEff of every thread ($(ls "/proc/$CTR_PID/task" | wc -l) threads)" 0000000000280004 \
		"$(cat /proc/"$CTR_PID"/task/*/status | awk '$1 == "CapEff:" {print $2}' | sort -u | xargs)"
	check_eq "CapInh, CapAmb" "0000000000000000 0000000000000000" \
		"$(awk '$1 == "CapInh:" || $1 == "CapAmb:" {print $2}' "/proc/$CTR_PID/status" | xargs)"
	check_eq "NoNewPrivs" 1 "$(awk '$1 == "NoNewPrivs:" {print $2}' "/proc/$CTR_PID/status")"
	check_eq "its own netns (the container's)" "$CNS_INO" "$(stat -L -c %i "/proc/$CTR_PID/ns/net")"
	check_eq "the host's pid namespace" "$(stat -L -c %i /proc/self/ns/pid)" \
		"$(stat -L -c %i "/proc/$CTR_PID/ns/pid")"
	# resources.limits.memory, as the runtime sets it (cgroup v1 or v2)
	local cg limit
	cg=$(awk -F: '$2 == "memory" {print $3}' "/proc/$CTR_PID/cgroup")
	if [ -n "$cg" ]; then
		limit=$(cat "/sys/fs/cgroup/memory$cg/memory.limit_in_bytes" 2>/dev/null)
	else
		cg=$(awk -F: '$1 == "0" {print $3}' "/proc/$CTR_PID/cgroup")
		limit=$(cat "/sys/fs/cgroup$cg/memory.max" 2>/dev/null)
	fi
	check_eq "memory limit of the container's cgroup (64Mi)" 67108864 "$limit"
	check_eq "root filesystem read-only" ro \
		"$(awk '$5 == "/" {print $6}' "/proc/$CTR_PID/mountinfo" | cut -d, -f1)"

	curl_runs
	# the periodic census (-i 1) warns about the pod's 10/10 once
	wait_for "$T/pw.out" "\"type\":\"warning\".*\"netns\":$NS_INO" 10
	ctr_scrape > "$T/m"
	image_stop

	check_eq "curl exit 0 (got a port)" 10 "$CURL_OK"
	check_eq "curl exit 7 (CURLE_COULDNT_CONNECT)" 15 "$CURL_7"
	local mode
	mode=$(summary | jq -r .mode)
	check_curl_events "$mode"
	check_curl_summary
	check_eq "summary: no (exited) row (live processes never reset)" 0 \
		"$(summary | jq '[.processes[] | select(.pid == 0)] | length')"
	check_eq "summary: events_lost" 0 "$(summary | jq .events_lost)"
	# the diagnosis: a census of the pod's netns from inside the container
	check_curl_diagnosis
	check_eq "warning for the pod's 127.0.0.1:8080, once (10/10, all TIME_WAIT)" 1 \
		"$(jq -c --argjson ns "$NS_INO" 'select(.type == "warning" and .pressure.netns == $ns
			and .pressure.dport == 8080 and .pressure.held == 10 and .pressure.range_size == 10
			and .pressure.states.TIME_WAIT == 10)' "$T/pw.out" | wc -l)"
	check_eq "remedy ids" '["reuse_connections","tw_reuse_2","wider_port_range","more_destinations"]' \
		"$(jq -c --argjson ns "$NS_INO" 'select(.type == "remedies" and .pressure.netns == $ns) | [.remedies[].id | select(. != "ip_local_port_range_sockopt")]' "$T/pw.out")"

	# /metrics, scraped through the container's netns: the per-pid series
	# of the curl pids are exactly curl's own record, one series with 1
	# failure for each run that exited 7 and none for the others (the comm
	# series has no netns: another curl case on this host may add to it)
	check_eq "scrape: per-pid series of the curl pids = the runs that exited 7, 1 failure each" \
		"$(awk '$2 == 7 {print $1 " 1"}' "$T/curl.exits" | sort -n | tr '\n' ' ')" \
		"$(sed -nE 's/^portwatch_process_connect_failures_total\{pid="([0-9]+)",comm="curl",errno="EADDRNOTAVAIL"\} ([0-9]+)$/\1 \2/p' "$T/m" \
			| awk 'NR == FNR { mine[$1] = 1; next } $1 in mine' "$T/curl.pids" - | sort -n | tr '\n' ' ')"
	# (the gauges are per netns: another netns's 127.0.0.1:8080 is a
	# series of its own)
	# (the 20 series rank by ports held: on a shared host, 20 pairs
	# holding 10 or more may outrank it, said as info)
	check_eq "scrape: gauge ports in use for the pod's 127.0.0.1:8080" 1 \
		"$(in_top_or_outranked "$T/m" "portwatch_ephemeral_ports_in_use{daddr=\"127.0.0.1\",dport=\"8080\",netns=\"$NS_INO\"} 10" 10)"
	check_eq "scrape: no netns skipped by the census" 1 \
		"$(grep -cx 'portwatch_census_netns_skipped_total 0' "$T/m")"
	echo "    info: $(grep '^portwatch_census_processes_skipped_total' "$T/m") (processes the host's root cannot ptrace either: $(for p in /proc/[0-9]*; do [ -L "$p/ns/net" ] && ! stat -L "$p/ns/net" >/dev/null 2>&1 && echo; done | wc -l))"
	check_eq "scrape: build_info" 1 "$(grep -cE "^portwatch_build_info\{version=\"[0-9.]+\",libbpf_version=\"[0-9.]+\",mode=\"$mode\"\} 1$" "$T/m")"
	# the node's range: pid 1's netns (hostPID), or the container's own,
	# labelled, where pid 1's cannot be entered (this sandbox's pid 1)
	local series="portwatch_local_port_range_size" want
	if nsenter -t 1 -n true 2>/dev/null; then
		want=$(nsenter -t 1 -n cat /proc/sys/net/ipv4/ip_local_port_range | awk '{print $2 - $1 + 1}')
	else
		series="portwatch_local_port_range_size{netns=\"$CNS_INO\"}"
		want=$(ip netns exec "$CNS" cat /proc/sys/net/ipv4/ip_local_port_range | awk '{print $2 - $1 + 1}')
	fi
	check_eq "scrape: $series" "$want" "$(awk -v s="$series" '$1 == s {print $2}' "$T/m")"
	if command -v promtool >/dev/null; then
		promtool check metrics < "$T/m" > /dev/null 2>&1
		check_eq "promtool check metrics" 0 $?
	fi
}

# What the DaemonSet used to grant (BPF, PERFMON): tracing works, the census
# of other netns cannot; that must be said at start and counted, never a
# silently partial answer. The container runs in a pid namespace of the
# test's own (image_start_pidns): portwatch's census finds there exactly
# the test's processes, each holding capabilities portwatch has not (it
# cannot open their /proc/PID/ns/net), itself aside. No periodic census
# (-i 86400): the first census is the first failure's diagnosis, which
# looks through every process for the pod's netns (the failing curl is not
# in that pid namespace); the curl runs wait there for the first one to be
# counted: portwatch_census_processes_skipped_total = those processes.
t_image_census_without_caps() {
	own_cgroup
	image_bundle "BPF PERFMON"
	# (the host's cgroup hierarchy is mounted at the same path in the
	# container: only the test's processes are traced, so only its curl
	# runs ask for a diagnosis)
	image_args -j --cgroup="$OWN_CG" -i 86400 --warn-at=80 --listen=:10099
	mk_netns $RANGE_LO $RANGE_HI
	image_start_pidns
	check_eq "one line naming the feature, the missing capabilities and the fix" 1 \
		"$(grep -cE '^portwatch: census of other network namespaces .* missing CAP_SYS_PTRACE and CAP_SYS_ADMIN: only netns [0-9]+ .* portwatch_census_netns_skipped_total .* fix: grant SYS_PTRACE and SYS_ADMIN' "$T/pw.err")"
	check_eq "no capability left after attach" 1 \
		"$(grep -cxF 'portwatch: capabilities after attach: none (all dropped)' "$T/pw.err")"
	check_eq "CapEff" 0000000000000000 "$(awk '$1 == "CapEff:" {print $2}' "/proc/$CTR_PID/status")"
	check_eq "CapPrm" 0000000000000000 "$(awk '$1 == "CapPrm:" {print $2}' "/proc/$CTR_PID/status")"
	# the truth: the namespace's processes but portwatch, by name, and the
	# capabilities each holds that portwatch has not
	local p others
	for p in $(pidns_procs); do
		[ "$p" = "$CTR_PID" ] && continue
		echo "$(cat "/proc/$p/comm") $(awk '$1 == "CapPrm:" {print $2}' "/proc/$p/status")"
	done | sort > "$T/others"
	others=$(wc -l < "$T/others")
	check_eq "the pid namespace's other processes: the pod's httpd, runc (its init)" "httpd runc" \
		"$(awk '{print $1}' "$T/others" | xargs)"
	check_eq "each holds capabilities (portwatch holds none)" 0 \
		"$(awk '$2 ~ /^0+$/' "$T/others" | wc -l)"
	local first=""
	# curl_runs' callback after the first exit 7: its diagnosis's census
	# counted (bounded), nothing else has looked through /proc yet
	first_census() {
		[ "$1" = 1 ] || return 0
		local end=$((SECONDS + 20)) v
		until v=$(ctr_scrape | awk '$1 == "portwatch_census_processes_skipped_total" {print $2}') &&
		      [ -n "$v" ] && [ "$v" != 0 ]; do
			[ $SECONDS -ge $end ] && break
			sleep 0.1
		done
		first=$v
	}
	curl_runs first_census
	check_eq "the same processes after the runs" "$(cat "$T/others")" \
		"$(for p in $(pidns_procs); do [ "$p" = "$CTR_PID" ] && continue
			echo "$(cat "/proc/$p/comm") $(awk '$1 == "CapPrm:" {print $2}' "/proc/$p/status")"; done | sort)"
	ctr_scrape > "$T/m"
	image_stop_pidns
	check_eq "curl exit 7" 15 "$CURL_7"
	check_eq "processes skipped by the first census: the pid namespace's others (portwatch_census_processes_skipped_total)" \
		"$others" "$first"
	ns_events > "$T/ev"
	check_eq "events in the pod's netns (tracing needs no census)" "$CURL_7" "$(wc -l < "$T/ev")"
	check_eq "no diagnosis of the pod's netns (it cannot be opened)" 0 \
		"$(jq -c --argjson ns "$NS_INO" 'select(.type == "pressure" and .pressure.netns == $ns)' "$T/pw.out" | wc -l)"
	check_eq "no warning about the pod's netns" 0 \
		"$(jq -c --argjson ns "$NS_INO" 'select(.type == "warning" and .pressure.netns == $ns)' "$T/pw.out" | wc -l)"
	echo "    info: $(grep '^portwatch_census_processes_skipped_total' "$T/m") at the end (one census per diagnosis)"
}

# Its own pid namespace (a plain container without hostPID): portwatch says
# once that the pids are the host's and keeps a long-lived process's counts
# whole (it cannot see the process; it used to reset them every second).
t_image_own_pidns() {
	own_cgroup
	mk_netns $RANGE_LO $RANGE_HI
	unshare --pid --fork --mount-proc "$PW" -j --cgroup="$OWN_CG" > "$T/pw.out" 2> "$T/pw.err" &
	local ushare=$!
	defer "kill $ushare; wait $ushare"
	wait_for "$T/pw.err" 'attached in' "${PW_ATTACH_WAIT:-10}" || { sed 's/^/      pw: /' "$T/pw.err"; exit 1; }
	check_eq "says once that the pids are the host's" 1 \
		"$(grep -cE "^portwatch: pid namespace [0-9]+ is not the host's: pids in events, the summary and metrics are the host's" "$T/pw.err")"
	# a worker failing for 3 s: 3 of portwatch's 1 s bookkeeping rounds
	must in_ns "$TRIGGER" --comm pwt-pidns parallel --procs 1 --seconds 3 > "$T/truth"
	kill -INT "$(pgrep -P "$ushare")"
	wait "$ushare"
	check_eq "exit code after SIGINT" 0 $?
	local want got
	want=$(jq -sc '[.[] | select(.type == "record")] | group_by(.pid)
		| map({pid: .[0].pid, attempts: (map(.attempts) | add),
		       failures: (map(.errors.EADDRNOTAVAIL // 0) | add)}) | sort_by(.pid)' "$T/truth")
	got=$(summary | jq -c '[.processes[] | {pid, attempts, failures: .errors.EADDRNOTAVAIL}] | sort_by(.pid)')
	check_eq "per-process attempts and failures (host pids, never reset)" "$want" "$got"
	check_eq "no (exited) row" 0 "$(summary | jq '[.processes[] | select(.pid == 0)] | length')"
	echo "    info: $(jq '[.[].failures] | add' <<<"$want") failures over 3 s"
}
