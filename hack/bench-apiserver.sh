#!/usr/bin/env bash
# Benchmarks Skiff's API server and prints figures, never pass/fail:
# start -> /readyz on a fresh and on an existing data dir, idle RSS, and the
# client-go load figures of test/bench/loadgen. With KUBE_APISERVER_REF and
# ETCD_REF (binaries) it measures upstream kube-apiserver + etcd the same way
# and prints ratios skiff/reference; without them it compares against the
# reference figures recorded on this machine, labelled as recorded.
#
# Environment:
#   SKIFF_BINARY               skiff binary (default bin/skiff, built by hack/build.sh if absent)
#   SKIFF_BENCH_RUNS           start measurements per case (default 5)
#   SKIFF_BENCH_IDLE_SECONDS   idle time before reading RSS (default 60)
#   SKIFF_BENCH_READY_TIMEOUT  seconds to wait for /readyz (default 60)
#   SKIFF_BENCH_LOADGEN_ARGS   extra loadgen flags, e.g. "--objects 5000 --workers 32"
#   SKIFF_BENCH_POD_OBJECTS    pods in the pod phase (create/get/watch, and the LIST of them all; default 10000)
#   KUBE_APISERVER_REF, ETCD_REF  reference binaries (both or neither)
#
# Servers listen on 127.0.0.1 only, on random free ports, with data under a
# temporary directory; every process started here is stopped on exit.

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_name=bench-apiserver
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib-bench.sh"
cd "${SKIFF_ROOT}"

runs="${SKIFF_BENCH_RUNS:-5}"
idle_seconds="${SKIFF_BENCH_IDLE_SECONDS:-60}"
ready_timeout="${SKIFF_BENCH_READY_TIMEOUT:-60}"
read -r -a loadgen_args <<<"${SKIFF_BENCH_LOADGEN_ARGS:-}"

# Recorded on this machine (shared notes, apiserver.md "measured figures").
recorded_provenance="recorded in shared notes, upstream kube-apiserver v1.36 + etcd 3.6 on this machine"
recorded_start_s=3.35
recorded_idle_rss_mb=316

pids=()       # every server started here and not yet stopped
ports=()      # ports handed out, so that two servers never get the same one
work=""
summary=()    # lines of the final summary block

bench::log() { echo "bench-apiserver: $*"; }
bench::die() {
	echo "bench-apiserver: error: $*" >&2
	exit 1
}


# bench::rss_mb PID...: summed VmRSS of the PIDs' process trees, in MB.
bench::rss_mb() { bench::status_mb VmRSS "$@"; }

# bench::status_mb FIELD PID...: a /proc/PID/status field (VmRSS, RssAnon,
# RssFile) summed over the PIDs' process trees, in MB.
bench::status_mb() {
	local field="$1" total=0 pid key value
	shift
	for pid in $(bench::tree "$@"); do
		while read -r key value _; do
			if [ "${key}" = "${field}:" ]; then
				total=$((total + value))
				break
			fi
		done 2>/dev/null <"/proc/${pid}/status" || true
	done
	awk -v kb="${total}" 'BEGIN { printf "%.1f", kb / 1024 }'
}

# bench::free_port VAR: sets VAR to a random port below the ephemeral range
# that nothing listens on and that this script has not handed out yet.
bench::free_port() {
	local var="$1" port used attempt
	for attempt in $(seq 1 200); do
		port=$((20000 + RANDOM % 12000))
		for used in "${ports[@]}"; do
			if [ "${used}" = "${port}" ]; then continue 2; fi
		done
		if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
			ports+=("${port}")
			printf -v "${var}" '%s' "${port}"
			return 0
		fi
	done
	bench::die "no free port found after ${attempt} attempts"
}


# bench::stop PID: SIGTERM the process tree, SIGKILL what is left after
# 30 s, and reap it.
bench::stop() {
	local pid="$1" tree i
	mapfile -t tree < <(bench::tree "${pid}")
	kill -TERM "${tree[@]}" 2>/dev/null || true
	for i in $(seq 1 300); do
		kill -0 "${pid}" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "${pid}" 2>/dev/null; then
		bench::log "pid ${pid} still running after 30 s; killing it"
	fi
	kill -KILL "${tree[@]}" 2>/dev/null || true
	wait "${pid}" 2>/dev/null || true
	local kept=() p
	for p in "${pids[@]}"; do
		if [ "${p}" != "${pid}" ]; then kept+=("${p}"); fi
	done
	pids=("${kept[@]}")
}

bench::cleanup() {
	local pid
	for pid in "${pids[@]}"; do
		bench::stop "${pid}"
	done
	if [ -n "${work}" ]; then rm -rf "${work}"; fi
}

# bench::wait_ready PORT PID LOG: polls /readyz anonymously every 20 ms until
# it answers 200; fails, showing the last answer, if the process exits or
# the timeout passes.
bench::wait_ready() {
	local port="$1" pid="$2" log="$3" deadline code=000 body="${work}/readyz.body"
	deadline=$(($(bench::now_ms) + ready_timeout * 1000))
	while [ "$(bench::now_ms)" -lt "${deadline}" ]; do
		code="$(curl -ks --max-time 2 -o "${body}" -w '%{http_code}' "https://127.0.0.1:${port}/readyz")" || code=000
		if [ "${code}" = 200 ]; then
			return 0
		fi
		if ! kill -0 "${pid}" 2>/dev/null; then
			tail -n 20 "${log}" >&2 || true
			bench::die "server (pid ${pid}) exited before /readyz answered; its log is above"
		fi
		sleep 0.02
	done
	tail -n 5 "${log}" >&2 || true
	bench::die "/readyz on port ${port} not ready after ${ready_timeout} s; last answer HTTP ${code}: $(head -c 300 "${body}" 2>/dev/null | tr -s '\n ' ' ')"
}

# Started servers set these globals (a function run in $(...) could not
# keep its background process).
server_pid=""
etcd_pid=""
server_port=""

# skiff::start DATA_DIR LOG: starts `skiff apiserver` in the background.
skiff::start() {
	bench::free_port server_port
	"${skiff_bin}" apiserver --data-dir "$1" --bind-address 127.0.0.1 --secure-port "${server_port}" >"$2" 2>&1 &
	server_pid=$!
	pids+=("${server_pid}")
}

skiff::stop() { bench::stop "${server_pid}"; }

# ref::start DATA_DIR LOG_PREFIX: starts the reference etcd, then the
# reference kube-apiserver pointed at it, both in the background.
ref::start() {
	local dir="$1" log="$2" client_port peer_port
	bench::free_port client_port
	bench::free_port peer_port
	bench::free_port server_port
	mkdir -p "${dir}"
	"${ETCD_REF}" --name ref --data-dir "${dir}/etcd" --log-level error \
		--listen-client-urls "http://127.0.0.1:${client_port}" --advertise-client-urls "http://127.0.0.1:${client_port}" \
		--listen-peer-urls "http://127.0.0.1:${peer_port}" --initial-advertise-peer-urls "http://127.0.0.1:${peer_port}" \
		--initial-cluster "ref=http://127.0.0.1:${peer_port}" >"${log}.etcd" 2>&1 &
	etcd_pid=$!
	pids+=("${etcd_pid}")
	"${KUBE_APISERVER_REF}" --etcd-servers "http://127.0.0.1:${client_port}" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "${server_port}" \
		--cert-dir "${dir}/certs" \
		--service-account-issuer https://kubernetes.default.svc.cluster.local \
		--service-account-key-file "${work}/sa.pub" --service-account-signing-key-file "${work}/sa.key" \
		--service-cluster-ip-range 10.0.0.0/24 \
		--authorization-mode=RBAC --token-auth-file "${work}/ref-tokens.csv" >"${log}" 2>&1 &
	server_pid=$!
	pids+=("${server_pid}")
}

ref::stop() {
	bench::stop "${server_pid}"
	bench::stop "${etcd_pid}"
}

# ref::prepare: service-account keys, a static system:masters token and a
# kubeconfig using it, for the reference kube-apiserver.
ref_token=""
ref::prepare() {
	openssl genrsa -out "${work}/sa.key" 2048 2>/dev/null
	openssl rsa -in "${work}/sa.key" -pubout -out "${work}/sa.pub" 2>/dev/null
	ref_token="$(openssl rand -hex 16)"
	echo "${ref_token},bench-admin,bench-admin,\"system:masters\"" >"${work}/ref-tokens.csv"
}

ref::kubeconfig() {
	cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: ref
  cluster:
    server: https://127.0.0.1:${server_port}
    insecure-skip-tls-verify: true
users:
- name: bench-admin
  user:
    token: ${ref_token}
contexts:
- name: ref
  context:
    cluster: ref
    user: bench-admin
current-context: ref
EOF
}

# bench::starts TARGET CASE: measures start -> /readyz ${runs} times for
# TARGET (skiff or ref); CASE fresh uses a new data dir per run, restart
# reuses the data dir of the first fresh run. Sets start_mean and start_each.
start_mean=""
start_each=""
bench::starts() {
	local target="$1" case="$2" i dir t0 ms each=()
	for i in $(seq 1 "${runs}"); do
		if [ "${case}" = fresh ]; then dir="${work}/${target}-fresh-${i}"; else dir="${work}/${target}-fresh-1"; fi
		t0="$(bench::now_ms)"
		"${target}::start" "${dir}" "${work}/${target}-${case}-${i}.log"
		bench::wait_ready "${server_port}" "${server_pid}" "${work}/${target}-${case}-${i}.log"
		ms=$(($(bench::now_ms) - t0))
		"${target}::stop"
		each+=("$(bench::seconds "${ms}")")
		bench::log "${target} start->readyz ${case} run ${i}/${runs}: ${each[-1]} s"
	done
	start_mean="$(bench::mean "${each[@]}")"
	start_each="${each[*]}"
	bench::log "${target} start->readyz ${case}: mean ${start_mean} s (runs: ${start_each})"
}

# bench::idle_and_load TARGET: starts TARGET on a fresh data dir, reads the
# RSS after ${idle_seconds} s idle, runs loadgen, reads the RSS again. Sets
# idle_rss, loaded_rss and writes the loadgen figures to WORK/TARGET.loadgen.
idle_rss=""
idle_anon=""
idle_file=""
loaded_rss=""
pods_rss=""
bench::idle_and_load() {
	local target="$1" kubeconfig
	local dir="${work}/${target}-idle" log="${work}/${target}-idle.log"
	"${target}::start" "${dir}" "${log}"
	bench::wait_ready "${server_port}" "${server_pid}" "${log}"
	local tree_roots=("${server_pid}")
	if [ "${target}" = ref ]; then
		tree_roots+=("${etcd_pid}")
		kubeconfig="${work}/ref.kubeconfig"
		ref::kubeconfig "${kubeconfig}"
	else
		kubeconfig="${dir}/admin.kubeconfig"
	fi
	bench::log "${target} ready; idling ${idle_seconds} s before reading RSS"
	sleep "${idle_seconds}"
	idle_rss="$(bench::rss_mb "${tree_roots[@]}")"
	# Anonymous memory is the process's own; file-backed RSS is the binary's
	# pages in the page cache, shared by every process running it. Skiff's
	# server drops its mappings of the binary's read-only pages once, 10 s
	# after /readyz (internal/exepages): its RssFile is the part of the
	# binary it mapped again since, not a figure of freed memory.
	idle_anon="$(bench::status_mb RssAnon "${tree_roots[@]}")"
	idle_file="$(bench::status_mb RssFile "${tree_roots[@]}")"
	bench::log "${target} idle RSS after ${idle_seconds} s: ${idle_rss} MB (anonymous ${idle_anon} MB, file-backed ${idle_file} MB)"

	bench::log "${target} loadgen ${loadgen_args[*]}"
	if ! "${work}/loadgen" --kubeconfig "${kubeconfig}" "${loadgen_args[@]}" >"${work}/${target}.loadgen"; then
		cat "${work}/${target}.loadgen" >&2
		bench::die "loadgen against ${target} failed"
	fi
	sed 's/^/    /' "${work}/${target}.loadgen"
	loaded_rss="$(bench::rss_mb "${tree_roots[@]}")"
	bench::log "${target} RSS after loadgen: ${loaded_rss} MB"

	# Pods: the kind kubelets, schedulers and controllers load the server
	# with; the list phase lists all of them.
	local pod_args=(--kind pods --objects "${SKIFF_BENCH_POD_OBJECTS:-10000}" --lists 5 --duration 10m)
	bench::log "${target} loadgen ${pod_args[*]}"
	if ! "${work}/loadgen" --kubeconfig "${kubeconfig}" "${pod_args[@]}" >"${work}/${target}.pods.loadgen"; then
		cat "${work}/${target}.pods.loadgen" >&2
		bench::die "pod loadgen against ${target} failed"
	fi
	sed 's/^/    /' "${work}/${target}.pods.loadgen"
	pods_rss="$(bench::rss_mb "${tree_roots[@]}")"
	bench::log "${target} RSS after the pod loadgen: ${pods_rss} MB"
	"${target}::stop"
}

# bench::figure FILE NAME: one figure from a loadgen output.
bench::figure() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }

# bench::sum LABEL VALUE: adds an aligned line to the summary block.
bench::sum() { summary+=("$(printf '%-46s %s' "$1" "$2")"); }

main() {
	# "1" when exactly one of the two is set.
	if [ "${KUBE_APISERVER_REF:+1}${ETCD_REF:+1}" = 1 ]; then
		bench::die "set both KUBE_APISERVER_REF and ETCD_REF, or neither"
	fi
	skiff_bin="${SKIFF_BINARY:-${SKIFF_ROOT}/bin/skiff}"
	if [ -z "${SKIFF_BINARY:-}" ] && [ ! -x "${skiff_bin}" ]; then
		hack/build.sh
	fi
	[ -x "${skiff_bin}" ] || bench::die "skiff binary ${skiff_bin} is not executable"

	work="$(mktemp -d "${TMPDIR:-/tmp}/skiff-bench.XXXXXX")"
	trap bench::cleanup EXIT
	trap 'exit 130' INT TERM

	bench::log "building test/bench/loadgen"
	go build -o "${work}/loadgen" ./test/bench/loadgen
	bench::log "skiff binary: ${skiff_bin} ($("${skiff_bin}" version 2>/dev/null | head -n 1 || echo unknown version))"
	bench::log "${runs} runs per start case; idle ${idle_seconds} s before RSS; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"

	bench::starts skiff fresh
	local skiff_fresh="${start_mean}" skiff_fresh_each="${start_each}"
	bench::starts skiff restart
	local skiff_restart="${start_mean}" skiff_restart_each="${start_each}"
	bench::idle_and_load skiff
	local skiff_idle="${idle_rss}" skiff_idle_anon="${idle_anon}" skiff_idle_file="${idle_file}" skiff_loaded="${loaded_rss}" skiff_pods_rss="${pods_rss}"

	bench::sum "skiff start->readyz fresh (mean)" "${skiff_fresh} s (runs: ${skiff_fresh_each})"
	bench::sum "skiff start->readyz restart (mean)" "${skiff_restart} s (runs: ${skiff_restart_each})"
	bench::sum "skiff idle RSS after ${idle_seconds} s" "${skiff_idle} MB (RssAnon ${skiff_idle_anon} MB + RssFile ${skiff_idle_file} MB)"
	bench::sum "skiff idle RssAnon after ${idle_seconds} s" "${skiff_idle_anon} MB"
	bench::sum "skiff idle RssFile after ${idle_seconds} s" "${skiff_idle_file} MB"
	bench::sum "skiff RSS after loadgen" "${skiff_loaded} MB"
	local name value
	while read -r name value; do
		bench::sum "skiff ${name}" "${value}"
	done <"${work}/skiff.loadgen"
	bench::sum "skiff RSS after the pod loadgen" "${skiff_pods_rss} MB"
	while read -r name value; do
		bench::sum "skiff pods ${name}" "${value}"
	done <"${work}/skiff.pods.loadgen"

	if [ -n "${KUBE_APISERVER_REF:-}" ]; then
		ref::prepare
		bench::log "reference: ${KUBE_APISERVER_REF} ($("${KUBE_APISERVER_REF}" --version 2>/dev/null || echo unknown version)) + ${ETCD_REF} ($("${ETCD_REF}" --version 2>/dev/null | head -n 1 || echo unknown version))"
		bench::starts ref fresh
		local ref_fresh="${start_mean}" ref_fresh_each="${start_each}"
		bench::starts ref restart
		local ref_restart="${start_mean}" ref_restart_each="${start_each}"
		bench::idle_and_load ref
		local ref_idle="${idle_rss}" ref_idle_anon="${idle_anon}" ref_idle_file="${idle_file}" ref_loaded="${loaded_rss}"
		summary+=("reference, measured in this run: ${KUBE_APISERVER_REF} + ${ETCD_REF}")
		bench::sum "reference start->readyz fresh (mean)" "${ref_fresh} s (runs: ${ref_fresh_each})"
		bench::sum "reference start->readyz restart (mean)" "${ref_restart} s (runs: ${ref_restart_each})"
		bench::sum "reference idle RSS after ${idle_seconds} s" "${ref_idle} MB (kube-apiserver + etcd; RssAnon ${ref_idle_anon} MB + RssFile ${ref_idle_file} MB)"
		bench::sum "reference RSS after loadgen" "${ref_loaded} MB"
		while read -r name value; do
			case "${name}" in
			*_per_s | *_ms) bench::sum "reference ${name}" "${value}" ;;
			esac
		done <"${work}/ref.loadgen"
		summary+=("ratios skiff/reference (measured):")
		bench::sum "  start->readyz fresh" "$(bench::ratio "${skiff_fresh}" "${ref_fresh}")"
		bench::sum "  start->readyz restart" "$(bench::ratio "${skiff_restart}" "${ref_restart}")"
		bench::sum "  idle RSS" "$(bench::ratio "${skiff_idle}" "${ref_idle}")"
		bench::sum "  idle RssAnon" "$(bench::ratio "${skiff_idle_anon}" "${ref_idle_anon}")"
		bench::sum "  idle RssFile" "$(bench::ratio "${skiff_idle_file}" "${ref_idle_file}")"
		bench::sum "  RSS after loadgen" "$(bench::ratio "${skiff_loaded}" "${ref_loaded}")"
		while read -r name value; do
			case "${name}" in
			*_per_s | *_ms) bench::sum "  ${name}" "$(bench::ratio "${value}" "$(bench::figure "${work}/ref.loadgen" "${name}")")" ;;
			esac
		done <"${work}/skiff.loadgen"
	else
		summary+=("reference (${recorded_provenance}): start->readyz ${recorded_start_s} s, idle RSS ${recorded_idle_rss_mb} MB")
		summary+=("ratios skiff/reference (against the RECORDED figures above, not measured in this run):")
		bench::sum "  start->readyz fresh" "$(bench::ratio "${skiff_fresh}" "${recorded_start_s}")"
		bench::sum "  idle RSS (total)" "$(bench::ratio "${skiff_idle}" "${recorded_idle_rss_mb}")"
		bench::sum "  idle RssAnon / reference total" "$(bench::ratio "${skiff_idle_anon}" "${recorded_idle_rss_mb}") (the recorded reference has no anon/file split)"
		summary+=("(set KUBE_APISERVER_REF and ETCD_REF to measure the reference in this run)")
	fi

	echo
	echo "=== summary ==="
	printf '%s\n' "${summary[@]}"
}

main "$@"
