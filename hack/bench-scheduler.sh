#!/usr/bin/env bash
# Benchmarks Skiff's scheduler and prints figures, never pass/fail: starts
# `skiff apiserver` on a temporary data dir, then runs test/bench/scheduler,
# which creates N fake Node objects (32 CPU / 256Gi / 110 pods each), runs
# the scheduler in its own process and creates unbound pods, and prints
# pods/s from the first to the last bind and the creation -> bound latency
# (p50/p90/p99) as seen by a watch.
#
# Environment:
#   SKIFF_BINARY                skiff binary (default bin/skiff, built by hack/build.sh if absent)
#   SKIFF_BENCH_NODES           Node objects (default 5000)
#   SKIFF_BENCH_PODS            pods (default 10000)
#   SKIFF_BENCH_PRECREATE       1: create every pod before the scheduler starts (pure
#                               scheduling throughput); default 0 (pods created while it runs)
#   SKIFF_BENCH_PROFILE_DIR     if set, writes there the driver's (scheduler's) CPU profile and
#                               an API-server CPU profile taken while pods are scheduled
#   SKIFF_BENCH_PROFILE_SECONDS length of the API-server profile (default 20)
#   SKIFF_BENCH_READY_TIMEOUT   seconds to wait for /readyz (default 60)
#   SKIFF_BENCH_DRIVER_ARGS     extra driver flags
#
# The server listens on 127.0.0.1 only, on a random free port, with its data
# under a temporary directory; everything started here is stopped on exit.

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "${SKIFF_ROOT}"

nodes="${SKIFF_BENCH_NODES:-5000}"
pods="${SKIFF_BENCH_PODS:-10000}"
precreate="${SKIFF_BENCH_PRECREATE:-0}"
profile_dir="${SKIFF_BENCH_PROFILE_DIR:-}"
ready_timeout="${SKIFF_BENCH_READY_TIMEOUT:-60}"
read -r -a driver_args <<<"${SKIFF_BENCH_DRIVER_ARGS:-}"

work=""
server_pid=""
bench::log() { echo "bench-scheduler: $*"; }
bench::die() {
	echo "bench-scheduler: error: $*" >&2
	exit 1
}
bench::cleanup() {
	if [ -n "${server_pid}" ] && kill -0 "${server_pid}" 2>/dev/null; then
		kill -TERM "${server_pid}" 2>/dev/null || true
		local i
		for i in $(seq 1 300); do
			kill -0 "${server_pid}" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "${server_pid}" 2>/dev/null || true
		wait "${server_pid}" 2>/dev/null || true
	fi
	if [ -n "${work}" ]; then rm -rf "${work}"; fi
}

bench::free_port() {
	local port attempt
	for attempt in $(seq 1 200); do
		port=$((20000 + RANDOM % 12000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
			echo "${port}"
			return 0
		fi
	done
	bench::die "no free port found after ${attempt} attempts"
}

main() {
	skiff_bin="${SKIFF_BINARY:-${SKIFF_ROOT}/bin/skiff}"
	if [ -z "${SKIFF_BINARY:-}" ] && [ ! -x "${skiff_bin}" ]; then
		hack/build.sh
	fi
	[ -x "${skiff_bin}" ] || bench::die "skiff binary ${skiff_bin} is not executable"
	work="$(mktemp -d "${TMPDIR:-/tmp}/skiff-bench-scheduler.XXXXXX")"
	trap bench::cleanup EXIT
	trap 'exit 130' INT TERM

	bench::log "building test/bench/scheduler"
	go build -o "${work}/driver" ./test/bench/scheduler
	local port
	port="$(bench::free_port)"
	bench::log "skiff binary: ${skiff_bin} ($("${skiff_bin}" version 2>/dev/null | head -n 1 || echo unknown version)); $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	"${skiff_bin}" apiserver --data-dir "${work}/data" --bind-address 127.0.0.1 --secure-port "${port}" >"${work}/apiserver.log" 2>&1 &
	server_pid=$!
	local deadline=$((SECONDS + ready_timeout))
	until [ "$(curl -ks --max-time 2 -o /dev/null -w '%{http_code}' "https://127.0.0.1:${port}/readyz")" = 200 ]; do
		if ! kill -0 "${server_pid}" 2>/dev/null; then
			tail -n 20 "${work}/apiserver.log" >&2
			bench::die "apiserver exited before /readyz answered"
		fi
		[ "${SECONDS}" -lt "${deadline}" ] || bench::die "apiserver not ready after ${ready_timeout} s"
		sleep 0.05
	done
	local kubeconfig="${work}/data/admin.kubeconfig"
	[ -f "${kubeconfig}" ] || bench::die "no admin kubeconfig at ${kubeconfig}"
	bench::log "apiserver ready on 127.0.0.1:${port}; ${nodes} nodes, ${pods} pods, precreate=${precreate}"

	local args=(--kubeconfig "${kubeconfig}" --nodes "${nodes}" --pods "${pods}")
	if [ "${precreate}" = 1 ]; then args+=(--precreate); fi
	if [ -n "${profile_dir}" ]; then
		mkdir -p "${profile_dir}"
		args+=(--cpuprofile "${profile_dir}/scheduler.cpu.pprof")
	fi
	"${work}/driver" "${args[@]}" "${driver_args[@]}" >"${work}/driver.out" 2>"${work}/driver.err" &
	local driver_pid=$! profile_pid=""
	if [ -n "${profile_dir}" ]; then
		# The API server's profile, taken once the scheduler runs.
		(
			until grep -q '^scheduler_sync_s' "${work}/driver.out" 2>/dev/null; do
				kill -0 "${driver_pid}" 2>/dev/null || exit 0
				sleep 0.2
			done
			"${skiff_bin}" kubectl --kubeconfig "${kubeconfig}" get --raw "/debug/pprof/profile?seconds=${SKIFF_BENCH_PROFILE_SECONDS:-20}" \
				>"${profile_dir}/apiserver.cpu.pprof" 2>"${profile_dir}/apiserver.pprof.err" || true
		) &
		profile_pid=$!
	fi
	if ! wait "${driver_pid}"; then
		cat "${work}/driver.out" "${work}/driver.err" >&2
		bench::die "driver failed"
	fi
	if [ -n "${profile_pid}" ]; then wait "${profile_pid}" || true; fi
	echo
	echo "=== summary (${nodes} nodes, ${pods} pods, $(nproc) CPUs) ==="
	while read -r name value; do
		printf '%-40s %s\n' "${name}" "${value}"
	done <"${work}/driver.out"
	if [ -n "${profile_dir}" ]; then
		echo "profiles in ${profile_dir} (go tool pprof -top <file>)"
	fi
}

main "$@"
