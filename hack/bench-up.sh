#!/usr/bin/env bash
# Benchmarks `skiff up` and prints figures, never pass/fail: the wall time
# of `skiff up --nodes N` (it returns once every node is Ready and cluster
# DNS answers) over several runs on a fresh state dir each, with `skiff
# down` between, then the memory of the whole idle cluster: VmRSS, RssAnon,
# RssFile and PSS of every process (daemons from the pid files under
# <state>/<cluster>/nodes/*/run, their descendants, and everything in the
# cluster's cgroup: containerd, shims, pods), by kind of process. In the
# same run it measures a bare `skiff server` (the control plane alone, on
# loopback) the same way and prints the ratios, with issue 8's targets.
#
# VmRSS counts a page once per process mapping it; PSS divides shared pages
# among the processes sharing them (one skiff binary runs as every daemon),
# so the PSS sum is the honest total. PSS also shares pages with processes
# outside the cluster (another containerd on the host), so it is a lower
# bound when such processes run.
#
# Needs root (network namespaces, cgroups, BPF). The cluster is named
# benchup on addresses of its own (SKIFF_BENCH_NODE_SUBNET etc.), so it
# never meets a user's cluster; `skiff down` runs on exit.
#
# Environment:
#   SKIFF_BINARY               skiff binary (default bin/skiff, built by hack/build.sh if absent)
#   SKIFF_BENCH_NODES          nodes, one of them the control plane (default 3)
#   SKIFF_BENCH_RUNS           `skiff up` runs (default 3)
#   SKIFF_BENCH_IDLE_SECONDS   idle time before reading memory (default 30)
#   SKIFF_BENCH_READY_TIMEOUT  seconds for the bare server's /readyz (default 60)
#   SKIFF_BENCH_DIR            parent of the work dir (default /tmp; short: containerd's
#                              socket path must stay under 108 bytes)
#   SKIFF_BENCH_NODE_SUBNET, SKIFF_BENCH_POD_SUBNET, SKIFF_BENCH_SERVICE_SUBNET
#                              the cluster's subnets (default 172.31.236.0/24, 10.251.0.0/16, 10.101.0.0/16)

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
source "${SKIFF_ROOT}/hack/lib-bench.sh"
cd "${SKIFF_ROOT}"

bench_name=bench-up
nodes="${SKIFF_BENCH_NODES:-3}"
runs="${SKIFF_BENCH_RUNS:-3}"
idle_seconds="${SKIFF_BENCH_IDLE_SECONDS:-30}"
ready_timeout="${SKIFF_BENCH_READY_TIMEOUT:-60}"
cluster=benchup

# Issue 8's targets and reference figures.
target_up_s=10
target_rss_mb=400
reference="kind: 12-17 s to one Ready node (more per node, with Docker); kind's control-plane container idle ~1.26 GiB; k3s server idle 300-565 MB"

work=""
state=""
server_pid=""
summary=()
bench::sum() { summary+=("$(printf '%-48s %s' "$1" "$2")"); }

skiff::down() {
	if [ -n "${state}" ] && [ -f "${state}/${cluster}/cluster.yaml" ]; then
		"${skiff_bin}" down --name "${cluster}" --state-dir "${state}" >>"${work}/down.log" 2>&1
	fi
}

bench::cleanup() {
	local rc=$?
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
	if ! skiff::down; then
		echo "${bench_name}: skiff down failed; its output:" >&2
		tail -n 20 "${work}/down.log" >&2 || true
		echo "${bench_name}: keeping ${work}" >&2
		exit 1
	fi
	if [ -n "${work}" ]; then rm -rf "${work}"; fi
	exit "${rc}"
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

write_config() {
	{
		cat <<EOF
apiVersion: skiff.dev/v1alpha1
kind: Cluster
name: ${cluster}
nodes:
- role: control-plane
EOF
		local i
		for i in $(seq 2 "${nodes}"); do echo "- role: worker"; done
		cat <<EOF
networking:
  nodeSubnet: ${SKIFF_BENCH_NODE_SUBNET:-172.31.236.0/24}
  podSubnet: ${SKIFF_BENCH_POD_SUBNET:-10.251.0.0/16}
  serviceSubnet: ${SKIFF_BENCH_SERVICE_SUBNET:-10.101.0.0/16}
EOF
	} >"$1"
}

main() {
	if [ "$(id -u)" != 0 ]; then
		echo "${bench_name}: needs root (skiff up makes network namespaces, cgroups and BPF programs)" >&2
		exit 1
	fi
	skiff_bin="${SKIFF_BINARY:-${SKIFF_ROOT}/bin/skiff}"
	if [ -z "${SKIFF_BINARY:-}" ] && [ ! -x "${skiff_bin}" ]; then
		hack/build.sh
	fi
	[ -x "${skiff_bin}" ] || bench::die "skiff binary ${skiff_bin} is not executable"
	work="$(mktemp -d "${SKIFF_BENCH_DIR:-/tmp}/sbu.XXXXXX")"
	state="${work}/s"
	trap bench::cleanup EXIT
	trap 'exit 130' INT TERM
	local config="${work}/cluster.yaml" kubeconfig="${work}/kubeconfig"
	write_config "${config}"
	bench::log "skiff binary: ${skiff_bin} ($("${skiff_bin}" version 2>/dev/null | head -n 1 || echo unknown version))"
	bench::log "${nodes} nodes, ${runs} runs, idle ${idle_seconds} s before memory; $(nproc) CPUs, load average $(bench::loadavg)"

	local i t0 ms ups=() downs=()
	for i in $(seq 1 "${runs}"); do
		t0="$(bench::now_ms)"
		if ! "${skiff_bin}" up --config "${config}" --state-dir "${state}" --kubeconfig-out "${kubeconfig}" >"${work}/up-${i}.log" 2>&1; then
			cat "${work}/up-${i}.log" >&2
			bench::die "skiff up run ${i} failed"
		fi
		ms=$(($(bench::now_ms) - t0))
		ups+=("$(bench::seconds "${ms}")")
		bench::log "run ${i}/${runs}: skiff up --nodes ${nodes} -> Ready + DNS in ${ups[-1]} s ($(grep -o 'ready in [0-9.]*s' "${work}/up-${i}.log" || true); load $(bench::loadavg))"
		if [ "${i}" -lt "${runs}" ]; then
			t0="$(bench::now_ms)"
			skiff::down || bench::die "skiff down after run ${i} failed: $(tail -n 5 "${work}/down.log")"
			ms=$(($(bench::now_ms) - t0))
			downs+=("$(bench::seconds "${ms}")")
			bench::log "run ${i}/${runs}: skiff down in ${downs[-1]} s"
		fi
	done
	"${skiff_bin}" kubectl --kubeconfig "${kubeconfig}" get nodes -o wide | sed 's/^/    /'

	bench::log "cluster up; idling ${idle_seconds} s before reading memory"
	sleep "${idle_seconds}"
	cluster::classify "${state}" "${cluster}"
	cluster::mem_table >"${work}/idle.table"
	cat "${work}/idle.table"
	local cl_n cl_rss cl_pss cl_anon cp_rss cp_pss
	cl_n="$(bench::mb n total)"
	cl_rss="$(bench::mb rss total)"
	cl_pss="$(bench::mb pss total)"
	cl_anon="$(bench::mb anon total)"
	cp_rss="$(bench::mb rss server)"
	cp_pss="$(bench::mb pss server)"

	t0="$(bench::now_ms)"
	skiff::down || bench::die "skiff down failed: $(tail -n 5 "${work}/down.log")"
	ms=$(($(bench::now_ms) - t0))
	downs+=("$(bench::seconds "${ms}")")
	bench::log "skiff down in ${downs[-1]} s"

	# The bare control plane, alone, on loopback.
	local port log="${work}/server.log"
	port="$(bench::free_port)"
	"${skiff_bin}" server --data-dir "${work}/server" --bind-address 127.0.0.1 --secure-port "${port}" >"${log}" 2>&1 &
	server_pid=$!
	t0="$(bench::now_ms)"
	local deadline=$((SECONDS + ready_timeout))
	until [ "$(curl -ks --max-time 2 -o /dev/null -w '%{http_code}' "https://127.0.0.1:${port}/readyz")" = 200 ]; do
		if ! kill -0 "${server_pid}" 2>/dev/null; then
			tail -n 20 "${log}" >&2
			bench::die "skiff server exited before /readyz answered"
		fi
		[ "${SECONDS}" -lt "${deadline}" ] || bench::die "skiff server not ready after ${ready_timeout} s"
		sleep 0.02
	done
	local server_ready
	server_ready="$(bench::seconds $(($(bench::now_ms) - t0)))"
	bench::log "bare skiff server ready in ${server_ready} s; idling ${idle_seconds} s"
	sleep "${idle_seconds}"
	local bare=()
	mapfile -t bare < <(bench::tree "${server_pid}")
	bench::mem_header
	bench::mem_row bare "bare skiff server" "${bare[@]}"
	local bare_rss bare_pss bare_anon
	bare_rss="$(bench::mb rss bare)"
	bare_pss="$(bench::mb pss bare)"
	bare_anon="$(bench::mb anon bare)"

	bench::sum "skiff up --nodes ${nodes} -> Ready + DNS (mean)" "$(bench::mean "${ups[@]}") s (min $(bench::min "${ups[@]}"), max $(bench::max "${ups[@]}"); runs: ${ups[*]})   target < ${target_up_s} s"
	bench::sum "skiff down (mean)" "$(bench::mean "${downs[@]}") s (runs: ${downs[*]})"
	bench::sum "cluster idle VmRSS sum (${cl_n} processes)" "${cl_rss} MB   target < ${target_rss_mb} MB"
	bench::sum "cluster idle PSS sum" "${cl_pss} MB   target < ${target_rss_mb} MB"
	bench::sum "cluster idle RssAnon sum" "${cl_anon} MB"
	bench::sum "  of which skiff server (control plane)" "VmRSS ${cp_rss} MB, PSS ${cp_pss} MB"
	bench::sum "bare skiff server start -> /readyz" "${server_ready} s"
	bench::sum "bare skiff server idle VmRSS" "${bare_rss} MB (RssAnon ${bare_anon} MB, PSS ${bare_pss} MB)"
	summary+=("ratios:")
	bench::sum "  cluster VmRSS / bare server VmRSS" "$(bench::ratio "${cl_rss}" "${bare_rss}")"
	bench::sum "  cluster PSS / bare server PSS" "$(bench::ratio "${cl_pss}" "${bare_pss}")"
	bench::sum "  cluster VmRSS / target" "$(bench::ratio "${cl_rss}" "${target_rss_mb}")"
	bench::sum "  mean skiff up / target" "$(bench::ratio "$(bench::mean "${ups[@]}")" "${target_up_s}")"
	bench::sum "  cluster's server / bare server (VmRSS)" "$(bench::ratio "${cp_rss}" "${bare_rss}")"
	summary+=("reference (issue 8, not measured here): ${reference}")
	summary+=("$(nproc) CPUs shared with other work; load average at the end $(bench::loadavg)")

	echo
	echo "=== summary ==="
	printf '%s\n' "${summary[@]}"
	echo
	echo "idle cluster memory by process kind (after ${idle_seconds} s):"
	cat "${work}/idle.table"
}

main "$@"
