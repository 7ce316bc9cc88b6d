#!/usr/bin/env bash
# Shared by hack/bench-up.sh, hack/bench-kubelet.sh and hack/bench-apiserver.sh: timing, the
# processes of a `skiff up` cluster, and their memory (VmRSS, RssAnon,
# RssFile from /proc/PID/status, PSS from /proc/PID/smaps_rollup).
# Callers set bench_name (the prefix of messages) before using it.

bench::log() { echo "${bench_name} [+${SECONDS}s]: $*"; }
bench::die() {
	echo "${bench_name}: error: $*" >&2
	exit 1
}

# bench::now_ms: wall clock in ms, without a fork.
bench::now_ms() {
	local t="${EPOCHREALTIME/./}"
	echo $((t / 1000))
}
bench::seconds() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }
bench::mean() { awk 'BEGIN { s = 0; for (i = 1; i < ARGC; i++) s += ARGV[i]; printf "%.2f", s / (ARGC - 1) }' "$@"; }
bench::min() { awk 'BEGIN { m = ARGV[1]; for (i = 2; i < ARGC; i++) if (ARGV[i] < m) m = ARGV[i]; printf "%.2f", m }' "$@"; }
bench::max() { awk 'BEGIN { m = ARGV[1]; for (i = 2; i < ARGC; i++) if (ARGV[i] > m) m = ARGV[i]; printf "%.2f", m }' "$@"; }
bench::ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2f", a / b }'; }
bench::loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# bench::quantiles MS...: "p50 X ms, p99 Y ms, max Z ms" by nearest rank.
bench::quantiles() {
	printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "n/a"; exit }
		i50 = int(0.5 * NR); if (i50 < 0.5 * NR) i50++
		i99 = int(0.99 * NR); if (i99 < 0.99 * NR) i99++
		printf "p50 %.0f ms, p99 %.0f ms, max %.0f ms (%d samples)", v[i50], v[i99], v[NR], NR }'
}

# bench::tree PID...: the PIDs and all their descendants, from /proc.
bench::tree() {
	local -A kids=()
	local st pid key value
	for st in /proc/[0-9]*/status; do
		pid="${st#/proc/}"
		pid="${pid%/status}"
		while read -r key value; do
			if [ "${key}" = "PPid:" ]; then
				kids[${value}]+=" ${pid}"
				break
			fi
		done 2>/dev/null <"${st}" || true
	done
	local queue=("$@") child
	while [ "${#queue[@]}" -gt 0 ]; do
		pid="${queue[0]}"
		queue=("${queue[@]:1}")
		echo "${pid}"
		for child in ${kids[${pid}]:-}; do
			queue+=("${child}")
		done
	done
}

# bench::cgroup_procs DIR: every pid in the cgroup2 directory DIR and below.
# containerd's shims re-parent to PID 1, so they are found by cgroup, not
# by descent.
bench::cgroup_procs() {
	if [ -d "$1" ]; then
		find "$1" -name cgroup.procs -exec cat {} + 2>/dev/null || true
	fi
}

# bench::mem_kb PID...: "count vmrss rssanon rssfile pss" in kB, summed over
# the PIDs (not their trees) that still exist.
bench::mem_kb() {
	local pid key value n=0 rss=0 anon=0 file=0 pss=0
	for pid in "$@"; do
		[ -r "/proc/${pid}/status" ] || continue
		local got=0
		while read -r key value _; do
			case "${key}" in
			VmRSS:) rss=$((rss + value)) got=1 ;;
			RssAnon:) anon=$((anon + value)) ;;
			RssFile:) file=$((file + value)) ;;
			esac
		done 2>/dev/null <"/proc/${pid}/status" || true
		# Kernel threads have no VmRSS; they are not the cluster's.
		[ "${got}" = 1 ] || continue
		n=$((n + 1))
		while read -r key value _; do
			if [ "${key}" = "Pss:" ]; then
				pss=$((pss + value))
				break
			fi
		done 2>/dev/null <"/proc/${pid}/smaps_rollup" || true
	done
	echo "${n} ${rss} ${anon} ${file} ${pss}"
}

# mem_kb holds the figures of every bench::mem_row by key: mem_kb[KEY.n],
# mem_kb[KEY.rss], mem_kb[KEY.anon], mem_kb[KEY.file], mem_kb[KEY.pss] (kB),
# so that summaries quote the same reading as the table.
declare -A mem_kb=()

# bench::mem_row KEY LABEL PID...: one aligned row of the memory table, in
# MB, recorded under KEY.
bench::mem_row() {
	local key="$1" label="$2" n rss anon file pss
	shift 2
	read -r n rss anon file pss <<<"$(bench::mem_kb "$@")"
	mem_kb[${key}.n]="${n}" mem_kb[${key}.rss]="${rss}" mem_kb[${key}.anon]="${anon}" mem_kb[${key}.file]="${file}" mem_kb[${key}.pss]="${pss}"
	awk -v l="${label}" -v n="${n}" -v r="${rss}" -v a="${anon}" -v f="${file}" -v p="${pss}" \
		'BEGIN { printf "  %-40s %5d %9.1f %9.1f %9.1f %9.1f\n", l, n, r / 1024, a / 1024, f / 1024, p / 1024 }'
}
bench::mem_header() {
	printf '  %-40s %5s %9s %9s %9s %9s\n' "processes (MB)" procs VmRSS RssAnon RssFile PSS
}

# bench::mb FIELD KEY...: the sum of a recorded figure (n, rss, anon, file,
# pss) over the KEYs of earlier bench::mem_row calls, in MB (n: a count).
bench::mb() {
	local field="$1" key total=0
	shift
	for key in "$@"; do total=$((total + ${mem_kb[${key}.${field}]:-0})); done
	if [ "${field}" = n ]; then
		echo "${total}"
	else
		awk -v kb="${total}" 'BEGIN { printf "%.1f", kb / 1024 }'
	fi
}

# bench::sum_row KEY LABEL KEY...: a row summing earlier rows, recorded under KEY.
bench::sum_row() {
	local key="$1" label="$2" f
	shift 2
	for f in n rss anon file pss; do
		local k total=0
		for k in "$@"; do total=$((total + ${mem_kb[${k}.${f}]:-0})); done
		mem_kb[${key}.${f}]="${total}"
	done
	awk -v l="${label}" -v n="${mem_kb[${key}.n]}" -v r="${mem_kb[${key}.rss]}" -v a="${mem_kb[${key}.anon]}" -v f="${mem_kb[${key}.file]}" -v p="${mem_kb[${key}.pss]}" \
		'BEGIN { printf "  %-40s %5d %9.1f %9.1f %9.1f %9.1f\n", l, n, r / 1024, a / 1024, f / 1024, p / 1024 }'
}

# cluster::classify STATE NAME: sorts every process of cluster NAME under
# state root STATE into the global arrays below. A process belongs to the
# cluster when it descends from a daemon whose pid file is under
# STATE/NAME/nodes/*/run/ or lives in the cluster's cgroup2 tree
# (skiff-NAME). Pod processes are split into sandboxes and containers by
# the containerd container of their cgroup (label skiff.dev/kind).
cl_server=() cl_dns=() cl_kubelet=() cl_proxy=() cl_containerd=() cl_shim=() cl_logger=() cl_sandbox=() cl_container=() cl_other=()
cl_other_comms=""
cluster::classify() {
	local state="$1" name="$2" unified=/sys/fs/cgroup/unified
	cl_server=() cl_dns=() cl_kubelet=() cl_proxy=() cl_containerd=() cl_shim=() cl_logger=() cl_sandbox=() cl_container=() cl_other=()
	cl_other_comms=""
	local -A role=() sandbox=() seen=()
	local f pid roots=()
	for f in "${state}/${name}"/nodes/*/run/*.pid; do
		[ -f "${f}" ] || continue
		pid="$(cat "${f}")"
		[ -d "/proc/${pid}" ] || continue
		role[${pid}]="$(basename "${f}" .pid)"
		roots+=("${pid}")
	done
	# Sandbox containers of every node's containerd.
	local sock id
	for sock in "${state}/${name}"/nodes/*/kubelet/containerd/containerd.sock; do
		[ -S "${sock}" ] || continue
		while read -r id; do
			[ -n "${id}" ] && sandbox[${id}]=1
		done < <(ctr -a "${sock}" -n skiff containers ls -q 'labels."skiff.dev/kind"==sandbox' 2>/dev/null || true)
	done
	local cg comm others=() args=()
	for pid in $( (
		if [ "${#roots[@]}" -gt 0 ]; then bench::tree "${roots[@]}"; fi
		bench::cgroup_procs "${unified}/skiff-${name}"
	) | sort -un); do
		[ -z "${seen[${pid}]:-}" ] || continue
		seen[${pid}]=1
		[ -r "/proc/${pid}/comm" ] || continue
		comm="$(cat "/proc/${pid}/comm" 2>/dev/null)" || continue
		cg="$(sed -n 's/^0:://p' "/proc/${pid}/cgroup" 2>/dev/null)" || cg=""
		case "${role[${pid}]:-}" in
		server) cl_server+=("${pid}") && continue ;;
		dns) cl_dns+=("${pid}") && continue ;;
		kubelet) cl_kubelet+=("${pid}") && continue ;;
		proxy) cl_proxy+=("${pid}") && continue ;;
		esac
		case "${comm}" in
		containerd) cl_containerd+=("${pid}") && continue ;;
		containerd-shim*) cl_shim+=("${pid}") && continue ;;
		esac
		# The kubelet's CRI-format log driver, run by the shim as
		# `skiff-cri-logger skiff-cri-logger PATH` (or, without that
		# binary beside skiff, `skiff skiff-cri-logger PATH`), one per
		# container.
		args=()
		mapfile -d '' -t args 2>/dev/null <"/proc/${pid}/cmdline" || true
		if [ "${args[1]:-}" = skiff-cri-logger ]; then
			cl_logger+=("${pid}")
			continue
		fi
		if [[ "${cg}" == */kubepods/* ]]; then
			if [ -n "${sandbox[${cg##*/}]:-}" ]; then
				cl_sandbox+=("${pid}")
			else
				cl_container+=("${pid}")
			fi
			continue
		fi
		cl_other+=("${pid}")
		others+=("${comm}")
	done
	if [ "${#others[@]}" -gt 0 ]; then
		cl_other_comms="$(printf '%s\n' "${others[@]}" | sort | uniq -c | awk '{ printf "%s%s x%d", (NR > 1 ? ", " : ""), $2, $1 }')"
	fi
}

# cluster::mem_table: the memory table of the last cluster::classify, its
# rows recorded under the keys server, dns, kubelet, proxy, containerd, shim,
# logger, sandbox, container, other and total (see bench::mb).
cluster::mem_table() {
	bench::mem_header
	bench::mem_row server "skiff server (control plane)" "${cl_server[@]}"
	bench::mem_row dns "skiff dns" "${cl_dns[@]}"
	bench::mem_row kubelet "skiff kubelet" "${cl_kubelet[@]}"
	bench::mem_row proxy "skiff proxy" "${cl_proxy[@]}"
	bench::mem_row containerd "containerd" "${cl_containerd[@]}"
	bench::mem_row shim "containerd shims" "${cl_shim[@]}"
	bench::mem_row logger "container log drivers (skiff-cri-logger)" "${cl_logger[@]}"
	bench::mem_row sandbox "pod sandboxes" "${cl_sandbox[@]}"
	bench::mem_row container "pod containers" "${cl_container[@]}"
	bench::mem_row other "other${cl_other_comms:+ (${cl_other_comms})}" "${cl_other[@]}"
	bench::sum_row total "TOTAL" server dns kubelet proxy containerd shim logger sandbox container other
}
