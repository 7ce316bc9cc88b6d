#!/usr/bin/env bash
# Benchmarks Skiff's kubelet and prints figures, never pass/fail, on a
# one-node `skiff up` cluster (control plane and kubelet on one node):
#   - the floor: raw containerd create -> running of N containers at once
#     (`ctr run -d`, no pod network, no API) on the node's own containerd;
#   - N busybox pods created at once through the API (scheduled as usual):
#     create request -> Running and -> Ready, p50/p99/max, as one watch
#     sees them (test/bench/podstartup), and the time to all Ready;
#   - kubelet memory (the kubelet alone, containerd, shims, pods: VmRSS,
#     RssAnon, RssFile, PSS) idle and with the N pods;
#   - deleting the pods: time until all are gone from the API.
# Issue 6's targets are printed beside: p99 < 1 s (upstream SLO 5 s),
# kubelet RSS < 50 MB.
#
# Needs root. The cluster is named benchkl on addresses of its own
# (SKIFF_BENCH_NODE_SUBNET etc.); `skiff down` runs on exit.
#
# Environment:
#   SKIFF_BINARY               skiff binary (default bin/skiff, built by hack/build.sh if absent)
#   SKIFF_BENCH_PODS           pods (and floor containers) at once (default 30)
#   SKIFF_BENCH_IDLE_SECONDS   idle time before reading memory (default 30)
#   SKIFF_BENCH_LOADED_SECONDS time with the pods Ready before reading memory (default 10)
#   SKIFF_BENCH_DIR            parent of the work dir (default /tmp; short: containerd's
#                              socket path must stay under 108 bytes)
#   SKIFF_BENCH_NODE_SUBNET, SKIFF_BENCH_POD_SUBNET, SKIFF_BENCH_SERVICE_SUBNET
#                              the cluster's subnets (default 172.31.237.0/24, 10.252.0.0/16, 10.102.0.0/16)
#   SKIFF_BENCH_KUBELET_V      kubelet log verbosity (--v; default: the kubelet's own); 2 logs
#                              each pod's start steps with their durations
#   SKIFF_BENCH_KEEP_LOGS      directory to copy the node's component logs into before
#                              the work dir is removed (default: none)

# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR
source "${SKIFF_ROOT}/hack/lib-bench.sh"
cd "${SKIFF_ROOT}"

bench_name=bench-kubelet
pods="${SKIFF_BENCH_PODS:-30}"
idle_seconds="${SKIFF_BENCH_IDLE_SECONDS:-30}"
loaded_seconds="${SKIFF_BENCH_LOADED_SECONDS:-10}"
cluster=benchkl
node="${cluster}-control-plane"
image=skiff.dev/busybox:static
floor_ns=bench-floor

# Issue 6's targets.
target_p99_ms=1000
upstream_slo_ms=5000
target_kubelet_mb=50

work=""
state=""
sock=""
summary=()
bench::sum() { summary+=("$(printf '%-50s %s' "$1" "$2")"); }

floor::cleanup() {
	[ -S "${sock}" ] || return 0
	local id
	for id in $(ctr -a "${sock}" -n "${floor_ns}" tasks ls -q 2>/dev/null); do
		ctr -a "${sock}" -n "${floor_ns}" tasks kill -s SIGKILL "${id}" >/dev/null 2>&1 || true
	done
	for id in $(ctr -a "${sock}" -n "${floor_ns}" containers ls -q 2>/dev/null); do
		local i
		for i in $(seq 1 100); do
			ctr -a "${sock}" -n "${floor_ns}" tasks rm -f "${id}" >/dev/null 2>&1 || true
			ctr -a "${sock}" -n "${floor_ns}" containers rm "${id}" >/dev/null 2>&1 && break
			sleep 0.1
		done
	done
}

bench::cleanup() {
	local rc=$?
	floor::cleanup || true
	# Before skiff down, which removes the node's directory.
	if [ -n "${SKIFF_BENCH_KEEP_LOGS:-}" ] && [ -n "${work}" ]; then
		mkdir -p "${SKIFF_BENCH_KEEP_LOGS}"
		find "${state}" -name '*.log' -path '*/logs/*' -exec cp {} "${SKIFF_BENCH_KEEP_LOGS}/" \; 2>/dev/null || true
		cp "${work}"/*.out "${work}"/*.err "${SKIFF_BENCH_KEEP_LOGS}/" 2>/dev/null || true
	fi
	if [ -n "${state}" ] && [ -f "${state}/${cluster}/cluster.yaml" ]; then
		if ! "${skiff_bin}" down --name "${cluster}" --state-dir "${state}" >>"${work}/down.log" 2>&1; then
			echo "${bench_name}: skiff down failed; keeping ${work}:" >&2
			tail -n 20 "${work}/down.log" >&2 || true
			exit 1
		fi
	fi
	if [ -n "${work}" ]; then rm -rf "${work}"; fi
	exit "${rc}"
}

write_config() {
	cat >"$1" <<EOF
apiVersion: skiff.dev/v1alpha1
kind: Cluster
name: ${cluster}
nodes:
- role: control-plane
networking:
  nodeSubnet: ${SKIFF_BENCH_NODE_SUBNET:-172.31.237.0/24}
  podSubnet: ${SKIFF_BENCH_POD_SUBNET:-10.252.0.0/16}
  serviceSubnet: ${SKIFF_BENCH_SERVICE_SUBNET:-10.102.0.0/16}
EOF
	if [ -n "${SKIFF_BENCH_KUBELET_V:-}" ]; then
		printf 'kubeletExtraArgs:\n  v: "%s"\n' "${SKIFF_BENCH_KUBELET_V}" >>"$1"
	fi
}

# node::memory LABEL: classifies the cluster's processes and prints the
# memory table, adding the rows "kubelet + containerd" (kc) and the
# kubelet's whole part of the node (node: kubelet, containerd, shims, pods).
node::memory() {
	cluster::classify "${state}" "${cluster}"
	echo "  -- $1"
	cluster::mem_table
	bench::sum_row kc "kubelet + containerd" kubelet containerd
	bench::sum_row node "kubelet + containerd + shims + loggers + pods" kubelet containerd shim logger sandbox container
	bench::log "memory read"
}

# floor::run: N `ctr run -d` at once on the node's containerd, each timed
# from its start to its return (task started).
floor_ms=()
floor_all_s=""
floor::run() {
	ctr -a "${sock}" -n skiff images export "${work}/busybox.tar" "${image}" >/dev/null
	ctr -a "${sock}" -n "${floor_ns}" images import "${work}/busybox.tar" >/dev/null
	local i t0 pids=()
	t0="$(bench::now_ms)"
	for i in $(seq 1 "${pods}"); do
		(
			local s e
			s="$(bench::now_ms)"
			ctr -a "${sock}" -n "${floor_ns}" run -d --null-io --snapshotter overlayfs \
				--cgroup "/skiff-${cluster}/${node}/bench-floor/floor-${i}" \
				"${image}" "floor-${i}" /bin/sleep 86400 >"${work}/floor-${i}.out" 2>&1 || exit 1
			e="$(bench::now_ms)"
			echo $((e - s)) >"${work}/floor-${i}.ms"
		) &
		pids+=($!)
	done
	local failed=0 p
	for p in "${pids[@]}"; do wait "${p}" || failed=$((failed + 1)); done
	floor_all_s="$(bench::seconds $(($(bench::now_ms) - t0)))"
	[ "${failed}" = 0 ] || bench::die "${failed} of ${pods} ctr run failed: $(cat "${work}"/floor-*.out | sort | uniq -c | head -n 5)"
	floor_ms=()
	for i in $(seq 1 "${pods}"); do floor_ms+=("$(cat "${work}/floor-${i}.ms")"); done
	local running
	running="$(ctr -a "${sock}" -n "${floor_ns}" tasks ls | grep -c RUNNING || true)"
	bench::log "floor: ${running} of ${pods} ctr tasks RUNNING"
}

figure() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }

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
	command -v ctr >/dev/null || bench::die "ctr (containerd's CLI) is not installed: run hack/install-deps.sh"
	work="$(mktemp -d "${SKIFF_BENCH_DIR:-/tmp}/sbk.XXXXXX")"
	state="${work}/s"
	sock="${state}/${cluster}/nodes/${node}/kubelet/containerd/containerd.sock"
	trap bench::cleanup EXIT
	trap 'exit 130' INT TERM
	local config="${work}/cluster.yaml" kubeconfig="${work}/kubeconfig"
	write_config "${config}"

	bench::log "building test/bench/podstartup"
	go build -o "${work}/podstartup" ./test/bench/podstartup
	bench::log "skiff binary: ${skiff_bin} ($("${skiff_bin}" version 2>/dev/null | head -n 1 || echo unknown version))"
	bench::log "${pods} pods; $(nproc) CPUs, load average $(bench::loadavg)"
	local t0
	t0="$(bench::now_ms)"
	if ! "${skiff_bin}" up --config "${config}" --state-dir "${state}" --kubeconfig-out "${kubeconfig}" >"${work}/up.log" 2>&1; then
		cat "${work}/up.log" >&2
		bench::die "skiff up failed"
	fi
	bench::log "skiff up --nodes 1 in $(bench::seconds $(($(bench::now_ms) - t0))) s; idling ${idle_seconds} s"
	sleep "${idle_seconds}"
	node::memory "idle, no pods, after ${idle_seconds} s"
	local idle_kl_rss idle_kl_pss idle_kl_anon idle_klc_rss idle_klc_pss
	idle_kl_rss="$(bench::mb rss kubelet)" idle_kl_pss="$(bench::mb pss kubelet)" idle_kl_anon="$(bench::mb anon kubelet)"
	idle_klc_rss="$(bench::mb rss kc)" idle_klc_pss="$(bench::mb pss kc)"

	bench::log "floor: ${pods} x ctr run -d at once on the node's containerd (load $(bench::loadavg))"
	floor::run
	local floor_q
	floor_q="$(bench::quantiles "${floor_ms[@]}")"
	bench::log "floor: create -> running ${floor_q}; all ${pods} in ${floor_all_s} s"
	floor::cleanup

	bench::log "pods: ${pods} created at once (load $(bench::loadavg))"
	if ! "${work}/podstartup" create --kubeconfig "${kubeconfig}" --pods "${pods}" --image "${image}" >"${work}/create.out" 2>"${work}/create.err"; then
		cat "${work}/create.out" "${work}/create.err" >&2
		"${skiff_bin}" kubectl --kubeconfig "${kubeconfig}" get pods -A -o wide >&2 || true
		bench::die "podstartup create failed"
	fi
	sed 's/^/    /' "${work}/create.out"
	bench::log "pods Ready; holding ${loaded_seconds} s before reading memory"
	sleep "${loaded_seconds}"
	node::memory "with ${pods} pods Ready, after ${loaded_seconds} s"
	local load_kl_rss load_kl_pss load_kl_anon load_klc_rss load_klc_pss load_node_rss load_node_pss
	load_kl_rss="$(bench::mb rss kubelet)" load_kl_pss="$(bench::mb pss kubelet)" load_kl_anon="$(bench::mb anon kubelet)"
	load_klc_rss="$(bench::mb rss kc)" load_klc_pss="$(bench::mb pss kc)"
	load_node_rss="$(bench::mb rss node)" load_node_pss="$(bench::mb pss node)"
	local n_sandbox n_container n_shim n_logger
	n_sandbox="$(bench::mb n sandbox)" n_container="$(bench::mb n container)" n_shim="$(bench::mb n shim)" n_logger="$(bench::mb n logger)"

	bench::log "deleting the ${pods} pods (load $(bench::loadavg))"
	if ! "${work}/podstartup" delete --kubeconfig "${kubeconfig}" >"${work}/delete.out" 2>"${work}/delete.err"; then
		cat "${work}/delete.out" "${work}/delete.err" >&2
		bench::die "podstartup delete failed"
	fi
	sed 's/^/    /' "${work}/delete.out"

	local c="${work}/create.out" d="${work}/delete.out"
	bench::sum "floor: ctr run -d, create -> running" "${floor_q}; all ${pods} in ${floor_all_s} s"
	bench::sum "pods: create -> scheduled (watch sees nodeName)" "p50 $(figure "${c}" create_to_scheduled_p50_ms) ms, p99 $(figure "${c}" create_to_scheduled_p99_ms) ms"
	bench::sum "pods: create -> Running" "p50 $(figure "${c}" create_to_running_p50_ms) ms, p99 $(figure "${c}" create_to_running_p99_ms) ms, max $(figure "${c}" create_to_running_max_ms) ms"
	bench::sum "pods: create -> Ready" "p50 $(figure "${c}" create_to_ready_p50_ms) ms, p99 $(figure "${c}" create_to_ready_p99_ms) ms, max $(figure "${c}" create_to_ready_max_ms) ms   target p99 < ${target_p99_ms} ms (upstream SLO ${upstream_slo_ms} ms)"
	bench::sum "pods: all ${pods} Ready after the first create" "$(figure "${c}" all_ready_s) s (creates returned in $(figure "${c}" creates_returned_s) s)"
	bench::sum "pods: delete -> gone from the API" "p50 $(figure "${d}" delete_to_gone_p50_ms) ms, p99 $(figure "${d}" delete_to_gone_p99_ms) ms; all gone in $(figure "${d}" all_gone_s) s"
	bench::sum "kubelet alone, idle" "VmRSS ${idle_kl_rss} MB, PSS ${idle_kl_pss} MB, RssAnon ${idle_kl_anon} MB   target < ${target_kubelet_mb} MB"
	bench::sum "kubelet alone, ${pods} pods" "VmRSS ${load_kl_rss} MB, PSS ${load_kl_pss} MB, RssAnon ${load_kl_anon} MB   target < ${target_kubelet_mb} MB"
	bench::sum "kubelet + containerd, idle" "VmRSS ${idle_klc_rss} MB, PSS ${idle_klc_pss} MB"
	bench::sum "kubelet + containerd, ${pods} pods" "VmRSS ${load_klc_rss} MB, PSS ${load_klc_pss} MB"
	bench::sum "kubelet + containerd + shims + loggers + pods" "VmRSS ${load_node_rss} MB, PSS ${load_node_pss} MB with ${pods} pods (${n_shim} shims, ${n_logger} log drivers, ${n_sandbox} sandbox and ${n_container} container processes)"
	summary+=("ratios:")
	bench::sum "  create -> Running p50 / floor p50" "$(bench::ratio "$(figure "${c}" create_to_running_p50_ms)" "$(bench::quantiles "${floor_ms[@]}" | awk '{ print $2 }')")"
	bench::sum "  create -> Ready p99 / target" "$(bench::ratio "$(figure "${c}" create_to_ready_p99_ms)" "${target_p99_ms}")"
	bench::sum "  kubelet VmRSS with pods / target" "$(bench::ratio "${load_kl_rss}" "${target_kubelet_mb}")"
	bench::sum "  kubelet VmRSS with pods / idle" "$(bench::ratio "${load_kl_rss}" "${idle_kl_rss}")"
	summary+=("p99 is by nearest rank: with ${pods} samples, the slowest pod. Latencies start at each pod's create request.")
	summary+=("$(nproc) CPUs shared with other work; load average at the end $(bench::loadavg)")

	echo
	echo "=== summary ==="
	printf '%s\n' "${summary[@]}"
}

main "$@"
